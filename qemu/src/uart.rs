//! UART0 of the lm3s6965 as QEMU models it: a PL011 ("luminary" variant) at 0x4000_C000,
//! NVIC interrupt 5 (QEMU's hw/arm/stellaris.c: `pl011_luminary_create(0x4000c000 + i *
//! 0x1000, ...)`, `uart_irq[] = {5, 6, 33, 34}`), exposed as an embedded-io 0.7 byte port.
//!
//! Receive is interrupt-driven: the handler moves bytes from the hardware FIFO into a
//! [`RX_RING`]-byte `heapless::spsc::Queue` while the main loop is busy with the network.
//! When the ring is full the handler leaves the rest in the FIFO and masks the receive
//! interrupt until the main loop has read from the ring: the port holds input back instead of
//! dropping it (QEMU stops delivering while the FIFO is full; a real line without flow control
//! would overrun, which the OE flag counts). Transmit is poll-driven from a [`TX_RING`]-byte
//! queue: [`Uart::write`] queues and pushes what the FIFO takes, [`Uart::poll`] pushes the
//! rest. Losses are counted, never hidden: the PL011 overrun flag (OE, a byte the hardware
//! FIFO had no room for) and bytes dropped because the ring was full ([`Stats`]; with the
//! hold-back above it stays 0).

use core::cell::RefCell;
use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

use cortex_m::interrupt::{self, Mutex};
use heapless::spsc::Queue;

/// NVIC interrupt number of UART0.
pub const IRQ: u16 = 5;
/// Receive ring: what arrives while the main loop is busy elsewhere (a TCP poll). Input
/// beyond it waits in the port (receive interrupt masked), so it need not hold a whole burst:
/// 512 B are 44 ms at 115,200 baud. (It was 2 KiB, sized to hold a burst, before the
/// hold-back; both firmwares have the same ring.)
pub const RX_RING: usize = 512;
/// Transmit ring: the echo reads only as much as fits here (backpressure).
pub const TX_RING: usize = 512;

const BASE: usize = 0x4000_C000;
const DR: usize = 0x00;
const FR: usize = 0x18;
const LCRH: usize = 0x2C;
const CR: usize = 0x30;
const IMSC: usize = 0x38;
const ICR: usize = 0x44;
/// DR bit 11: overrun error, set on the byte read after the FIFO overflowed.
const DR_OE: u32 = 1 << 11;
/// FR bit 4: receive FIFO empty; bit 5: transmit FIFO full.
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
/// LCRH: 8 data bits (WLEN = 3), FIFOs enabled.
const LCRH_8N1_FIFO: u32 = (3 << 5) | (1 << 4);
/// CR: UART, transmit and receive enabled.
const CR_ENABLE: u32 = 1 | (1 << 8) | (1 << 9);
/// IMSC: receive, receive timeout and overrun interrupts.
const IM_RX: u32 = (1 << 4) | (1 << 6) | (1 << 10);
/// ICR: every interrupt cause.
const ICR_ALL: u32 = 0x7FF;

fn rd(off: usize) -> u32 {
    // SAFETY: an aligned UART0 register of the lm3s6965.
    unsafe { read_volatile((BASE + off) as *const u32) }
}

fn wr(off: usize, v: u32) {
    // SAFETY: an aligned UART0 register of the lm3s6965.
    unsafe { write_volatile((BASE + off) as *mut u32, v) }
}

/// Loss counters since boot.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes the PL011 reported as overrun (its FIFO was full: the interrupt came too late).
    pub overruns: u32,
    /// Bytes received but dropped because the receive ring was full.
    pub ring_drops: u32,
}

/// What the interrupt handler shares with the main loop. A critical section around each
/// access (single core: interrupts masked) is all the locking needed.
struct Shared {
    rx: Queue<u8, RX_RING>,
    stats: Stats,
}

static SHARED: Mutex<RefCell<Shared>> = Mutex::new(RefCell::new(Shared {
    rx: Queue::new(),
    stats: Stats {
        overruns: 0,
        ring_drops: 0,
    },
}));

/// UART0 as a byte port. Only one exists ([`Uart::new`] is called once, from `main`).
pub struct Uart {
    tx: Queue<u8, TX_RING>,
}

impl Uart {
    /// Sets UART0 up (8N1, FIFOs on; QEMU ignores the baud rate) and unmasks its receive
    /// interrupts in the UART and the NVIC.
    pub fn new() -> Self {
        wr(CR, 0);
        wr(LCRH, LCRH_8N1_FIFO);
        wr(ICR, ICR_ALL);
        wr(IMSC, IM_RX);
        wr(CR, CR_ENABLE);
        // SAFETY: the handler only touches `SHARED` inside critical sections.
        unsafe { cortex_m::peripheral::NVIC::unmask(UartIrq) };
        Uart { tx: Queue::new() }
    }

    /// Pushes queued transmit bytes into the hardware FIFO while it has room. Returns true
    /// if it moved any.
    pub fn poll(&mut self) -> bool {
        let mut moved = false;
        while rd(FR) & FR_TXFF == 0 {
            let Some(b) = self.tx.dequeue() else { break };
            wr(DR, b as u32);
            moved = true;
        }
        moved
    }

    /// Loss counters since boot.
    pub fn stats(&self) -> Stats {
        interrupt::free(|cs| SHARED.borrow(cs).borrow().stats)
    }

    /// Free room in the transmit ring.
    pub fn tx_room(&self) -> usize {
        self.tx.capacity() - self.tx.len()
    }
}

/// Whether received bytes wait in the ring (for the main loop's sleep).
pub fn has_work() -> bool {
    interrupt::free(|cs| !SHARED.borrow(cs).borrow().rx.is_empty())
}

/// Called from the interrupt handler for [`IRQ`]: empties the hardware FIFO into the ring,
/// counting overruns, then clears the interrupt. If the ring fills first, the rest stays in
/// the FIFO and the receive interrupt is masked (not cleared: it fires again once
/// [`Uart::read`] unmasks it).
pub fn on_interrupt() {
    interrupt::free(|cs| {
        let mut shared = SHARED.borrow(cs).borrow_mut();
        while rd(FR) & FR_RXFE == 0 {
            if shared.rx.is_full() {
                wr(IMSC, 0);
                return;
            }
            let d = rd(DR);
            if d & DR_OE != 0 {
                shared.stats.overruns = shared.stats.overruns.wrapping_add(1);
            }
            if shared.rx.enqueue(d as u8).is_err() {
                shared.stats.ring_drops = shared.stats.ring_drops.wrapping_add(1);
            }
        }
        wr(ICR, ICR_ALL);
    });
}

impl embedded_io::ErrorType for Uart {
    type Error = Infallible;
}

impl embedded_io::ReadReady for Uart {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(has_work())
    }
}

impl embedded_io::Read for Uart {
    /// Blocks (WFI) until at least one byte has arrived, then returns what is in the ring.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = interrupt::free(|cs| {
                let rx = &mut SHARED.borrow(cs).borrow_mut().rx;
                let mut n = 0;
                while n < buf.len() {
                    let Some(b) = rx.dequeue() else { break };
                    buf[n] = b;
                    n += 1;
                }
                if n > 0 {
                    // Room again: take what the FIFO held back (see `on_interrupt`).
                    wr(IMSC, IM_RX);
                }
                if n == 0 {
                    // Masked interrupts still end WFI: no byte is slept through.
                    cortex_m::asm::wfi();
                }
                n
            });
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

impl embedded_io::WriteReady for Uart {
    fn write_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.tx_room() > 0)
    }
}

impl embedded_io::Write for Uart {
    /// Queues as much of `buf` as the ring takes (at least one byte: waits for the FIFO if
    /// the ring is full) and pushes it towards the hardware.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.tx_room() == 0 {
            self.poll();
        }
        let mut n = 0;
        for &b in buf {
            if self.tx.enqueue(b).is_err() {
                break;
            }
            n += 1;
        }
        self.poll();
        Ok(n)
    }

    /// Waits until every queued byte is in the hardware FIFO.
    fn flush(&mut self) -> Result<(), Infallible> {
        while !self.tx.is_empty() {
            self.poll();
        }
        Ok(())
    }
}

/// UART0's interrupt as an NVIC interrupt number (there is no PAC crate here).
#[derive(Clone, Copy)]
struct UartIrq;

// SAFETY: 5 is the lm3s6965's UART0 interrupt.
unsafe impl cortex_m::interrupt::InterruptNumber for UartIrq {
    fn number(self) -> u16 {
        IRQ
    }
}

/// The plain byte echo on the UART: moves received bytes to the transmit ring, only as many
/// as fit (the rest wait in the receive ring). Returns true if it moved any.
#[cfg(any(feature = "plain-echo", feature = "plain-uart"))]
pub fn echo_bytes(uart: &mut Uart) -> bool {
    use embedded_io::{Read as _, Write as _};
    let mut moved = uart.poll();
    let mut chunk = [0u8; 256];
    while has_work() && uart.tx_room() > 0 {
        let want = uart.tx_room().min(chunk.len());
        let Ok(n) = uart.read(&mut chunk[..want]);
        let Ok(_) = uart.write(&chunk[..n]);
        moved = true;
    }
    moved
}
