//! Millisecond clock from SysTick, for smoltcp's `Instant`.
//!
//! The DWT cycle counter reads 0 under QEMU, so SysTick it is: the core runs at 12.5 MHz out
//! of reset (no PLL set up), so a reload of 12_499 gives one interrupt per millisecond.

use core::cell::Cell;

use cortex_m::interrupt::{self, Mutex};
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use smoltcp::time::Instant;

const CORE_HZ: u32 = 12_500_000;

static MILLIS: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Milliseconds since `init`.
pub fn millis() -> u64 {
    interrupt::free(|cs| MILLIS.borrow(cs).get())
}

pub fn now() -> Instant {
    Instant::from_millis(millis() as i64)
}

#[exception]
fn SysTick() {
    interrupt::free(|cs| {
        let m = MILLIS.borrow(cs);
        m.set(m.get() + 1);
    });
}
