//! Stack painting, to measure peak stack use.
//!
//! At start-up everything between the end of the static data (`__sheap`, cortex-m-rt's
//! symbol; nothing uses a heap here) and the current stack pointer is filled with a pattern.
//! [`peak_bytes`] later finds the lowest word that no longer holds it.

use core::ptr::{read_volatile, write_volatile};

const PAINT: u32 = 0xDEAD_C0DE;

unsafe extern "C" {
    static __sheap: u32; // end of .bss/.uninit = lowest address the stack may reach
    static _stack_start: u32; // initial stack pointer (top of RAM)
}

fn bottom() -> *mut u32 {
    (&raw const __sheap).cast_mut()
}

fn top() -> usize {
    (&raw const _stack_start) as usize
}

/// Paints the free stack. Call first thing in `main`, before any interrupt is enabled.
#[inline(never)]
pub fn paint() {
    // Leave a little room below the current SP for this function's own use.
    let limit = cortex_m::register::msp::read() as usize - 64;
    let mut p = bottom();
    while (p as usize) < limit {
        // SAFETY: between the end of the statics and below the live stack: unused RAM.
        unsafe { write_volatile(p, PAINT) };
        p = p.wrapping_add(1);
    }
}

/// Peak stack use in bytes since [`paint`] (from the top of RAM to the lowest touched word).
pub fn peak_bytes() -> usize {
    let mut p = bottom();
    // SAFETY: reads RAM between the statics and the top of the stack.
    while (p as usize) < top() && unsafe { read_volatile(p) } == PAINT {
        p = p.wrapping_add(1);
    }
    top() - p as usize
}

/// Size of the stack region (top of RAM down to the end of the statics).
pub fn size_bytes() -> usize {
    top() - bottom() as usize
}
