//! Driver for the lm3s6965's Ethernet MAC as QEMU models it (hw/net/stellaris_enet.c),
//! implementing [`smoltcp::phy::Device`].
//!
//! Operation is polled: the main loop calls `Interface::poll`, which pulls frames out of the
//! RX FIFO and pushes frames into the TX FIFO. The Ethernet interrupt (IRQ 42) only serves to
//! wake the core from WFI; its handler records and acknowledges the interrupt status.
//!
//! Errors (RX error, RX FIFO overrun, TX error, impossible frame lengths) reset the FIFO
//! concerned and are counted; nothing read from the FIFO can make this code panic.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// NVIC interrupt number of the Ethernet controller.
pub const IRQ: u16 = 42;

/// Largest frame handed to/taken from smoltcp: 1500 B MTU + 14 B Ethernet header (no FCS).
pub const MAX_FRAME: usize = 1514;
/// Frame buffer size: a frame is copied in whole FIFO words starting at byte 2, and the last
/// word may hold up to 3 bytes of FCS/padding beyond the frame (see `receive`).
pub const BUF_LEN: usize = 1536;

const BASE: usize = 0x4004_8000;
// Register offsets (32-bit word access only).
const RIS: usize = 0x00; // read: raw interrupt status; write: IACK (1 clears)
const IM: usize = 0x04;
const RCTL: usize = 0x08;
const TCTL: usize = 0x0C;
const DATA: usize = 0x10; // FIFO window, both directions
const IA0: usize = 0x14;
const IA1: usize = 0x18;
const THR: usize = 0x1C;
const NP: usize = 0x34;
const TR: usize = 0x38;

// Interrupt bits (RIS / IACK / IM).
const INT_RX: u32 = 1 << 0;
const INT_TXER: u32 = 1 << 1;
const INT_FOV: u32 = 1 << 3;
const INT_RXER: u32 = 1 << 4;
const INT_ALL: u32 = 0x7f;

const RCTL_RXEN: u32 = 1 << 0;
const RCTL_BADCRC: u32 = 1 << 3;
const RCTL_RSTFIFO: u32 = 1 << 4;

const TCTL_TXEN: u32 = 1 << 0;
const TCTL_PADEN: u32 = 1 << 1;
const TCTL_CRC: u32 = 1 << 2;
const TCTL_DUPLEX: u32 = 1 << 3;

const TR_NEWTX: u32 = 1 << 0;

/// Interrupt status bits seen by the interrupt handler and not yet handled by the driver.
static EVENTS: AtomicU32 = AtomicU32::new(0);

fn rd(off: usize) -> u32 {
    // SAFETY: a register of the Ethernet MAC, always mapped on this chip.
    unsafe { read_volatile((BASE + off) as *const u32) }
}

fn wr(off: usize, val: u32) {
    // SAFETY: as for `rd`.
    unsafe { write_volatile((BASE + off) as *mut u32, val) }
}

/// Called from the interrupt handler for [`IRQ`]: records and acknowledges everything, so the
/// (level) interrupt line drops and the main loop wakes up from WFI.
pub fn on_interrupt() {
    let ris = rd(RIS);
    EVENTS.fetch_or(ris, Ordering::Relaxed);
    // Note: acknowledging TXER also empties the TX FIFO, which is the recovery we want anyway.
    wr(RIS, ris);
}

/// True if the driver has work: frames waiting or error events not yet handled.
/// Cheap enough to call right before WFI (with interrupts masked).
pub fn has_work() -> bool {
    EVENTS.load(Ordering::Relaxed) & !INT_RX != 0 || rd(NP) != 0
}

/// Error counters.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// RX errors, RX FIFO overruns and impossible frame lengths (each resets the RX FIFO).
    pub rx_errors: u32,
    /// Frames dropped because they exceed [`MAX_FRAME`].
    pub rx_oversize: u32,
    /// TX errors (the TX FIFO is emptied).
    pub tx_errors: u32,
}

pub struct Eth {
    rx: &'static mut [u8; BUF_LEN],
    tx: &'static mut [u8; BUF_LEN],
    stats: Stats,
}

impl Eth {
    /// Resets and enables the controller with the given MAC address, polled, with the
    /// interrupt enabled in the NVIC for wake-up.
    pub fn new(
        mac: [u8; 6],
        rx: &'static mut [u8; BUF_LEN],
        tx: &'static mut [u8; BUF_LEN],
    ) -> Self {
        // Real silicon needs the MAC and PHY clocks (SYSCTL RCGC2 bits 28, 30); QEMU ignores it.
        const RCGC2: *mut u32 = 0x400F_E108 as *mut u32;
        // SAFETY: system control register, always mapped.
        unsafe { write_volatile(RCGC2, read_volatile(RCGC2) | (1 << 28) | (1 << 30)) };

        wr(IM, 0); // resets to all-enabled
        wr(RCTL, 0); // while RXEN is 0, incoming frames are dropped
        wr(RCTL, RCTL_RSTFIFO);
        wr(IA0, u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]));
        wr(IA1, u32::from(mac[4]) | (u32::from(mac[5]) << 8));
        // THR resets to 0x3f = "send only on TR"; keep that so a frame never leaves half-written.
        wr(THR, 0x3f);
        wr(TCTL, TCTL_TXEN | TCTL_PADEN | TCTL_CRC | TCTL_DUPLEX);
        wr(RIS, INT_ALL);
        EVENTS.store(0, Ordering::Relaxed);
        wr(RCTL, RCTL_RXEN | RCTL_BADCRC);
        wr(IM, INT_RX | INT_TXER | INT_FOV | INT_RXER);
        // SAFETY: the handler (`on_interrupt`) shares only an atomic with this code.
        unsafe { cortex_m::peripheral::NVIC::unmask(EthIrq) };
        Eth {
            rx,
            tx,
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn reset_rx_fifo(&mut self) {
        self.stats.rx_errors = self.stats.rx_errors.wrapping_add(1);
        wr(RCTL, RCTL_BADCRC); // stop reception while the FIFO is flushed
        wr(RCTL, RCTL_BADCRC | RCTL_RSTFIFO);
        wr(RCTL, RCTL_RXEN | RCTL_BADCRC);
    }

    /// Handles error events recorded by the interrupt handler (or still pending in RIS).
    fn check_errors(&mut self) {
        let ris = rd(RIS);
        if ris != 0 {
            wr(RIS, ris);
        }
        let ev = EVENTS.swap(0, Ordering::Relaxed) | ris;
        if ev & (INT_RXER | INT_FOV) != 0 {
            self.reset_rx_fifo();
        }
        if ev & INT_TXER != 0 {
            // The IACK above (or in the handler) already emptied the TX FIFO.
            self.stats.tx_errors = self.stats.tx_errors.wrapping_add(1);
        }
    }

    /// Reads the next frame from the RX FIFO into `self.rx`; returns its length.
    fn read_frame(&mut self) -> Option<usize> {
        loop {
            if rd(NP) == 0 {
                return None;
            }
            // First word: bits 15:0 = FIFO byte count of this frame (2 length bytes + frame +
            // 4 FCS bytes), bits 31:16 = frame bytes 0 and 1. The frame leaves the FIFO once
            // ceil(count / 4) words have been read.
            let first = rd(DATA);
            let count = (first & 0xffff) as usize;
            // Shorter than a header or longer than the 2 KiB FIFO: the FIFO is out of step.
            if !(2 + 14 + 4..=2048).contains(&count) {
                self.reset_rx_fifo();
                return None;
            }
            let len = count - 6;
            let words = count.div_ceil(4) - 1; // words still to read
            if len > MAX_FRAME {
                for _ in 0..words {
                    rd(DATA);
                }
                self.stats.rx_oversize = self.stats.rx_oversize.wrapping_add(1);
                continue;
            }
            self.rx[..2].copy_from_slice(&first.to_le_bytes()[2..]);
            // len <= 1514 so words <= 380 whole words fit in rx[2..] (383 chunks).
            let mut left = words;
            for chunk in self.rx[2..].chunks_exact_mut(4).take(words) {
                chunk.copy_from_slice(&rd(DATA).to_le_bytes());
                left -= 1;
            }
            for _ in 0..left {
                rd(DATA); // unreachable by the bound above; keeps the FIFO in step regardless
            }
            return Some(len);
        }
    }
}

/// The Ethernet interrupt as an NVIC interrupt number (there is no PAC crate here).
#[derive(Clone, Copy)]
struct EthIrq;

// SAFETY: 42 is the lm3s6965's Ethernet interrupt.
unsafe impl cortex_m::interrupt::InterruptNumber for EthIrq {
    fn number(self) -> u16 {
        IRQ
    }
}

pub struct RxToken<'a>(&'a [u8]);

pub struct TxToken<'a>(&'a mut [u8; BUF_LEN]);

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MAX_FRAME);
        let buf = &mut self.0[..len];
        let r = f(buf);
        if len < 14 {
            return r; // not a frame; smoltcp never asks for this
        }
        // Real hardware: wait for the previous frame to leave (QEMU sends synchronously,
        // TR always reads 0).
        while rd(TR) & TR_NEWTX != 0 {}
        // First word: bits 15:0 = frame length minus the 14-byte header, bits 31:16 = bytes 0, 1.
        wr(
            DATA,
            (len - 14) as u32 | (u32::from(buf[0]) << 16) | (u32::from(buf[1]) << 24),
        );
        for chunk in buf[2..].chunks(4) {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            wr(DATA, u32::from_le_bytes(w));
        }
        wr(TR, TR_NEWTX);
        r
    }
}

impl Device for Eth {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        self.check_errors();
        let len = self.read_frame()?;
        Some((RxToken(&self.rx[..len]), TxToken(self.tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        caps
    }
}
