//! sockframe echo firmware for QEMU's lm3s6965evb: smoltcp over the Stellaris Ethernet MAC,
//! a pool of TCP sockets on port 7, each running the echo of `service.rs` (framed by default,
//! plain with the `plain-echo` feature), and a byte echo on UART0 (`uart.rs`).

#![no_std]
#![no_main]

mod eth;
mod log;
mod service;
mod stack;
mod time;
mod uart;

use core::mem::MaybeUninit;

use cortex_m::interrupt;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{self as semihosting, hprintln};
use log::{Line, line};
use service::Session;
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::phy::{Device, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::Duration;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, IpCidr, Ipv4Address,
};

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
const PORT: u16 = 7;
/// smoltcp has no accept backlog: one listening socket per concurrent client.
const POOL: usize = 4;
/// Socket buffers (both services alike, so the benchmark compares only the framing). The
/// receive buffer is the TCP window; the send buffer bounds the echo in flight and must
/// hold the framed echo's decoder buffer.
const RX_BUF: usize = 4096;
const TX_BUF: usize = 3072;
/// Abort a connection whose peer has sent nothing for this long. This frees the slot of a
/// peer that vanished or never closes after its error frame; smoltcp applies it to idle
/// connections too, so a client silent for 10 s is reset.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// The stats line (`cargo xtask size` reads its stack peak) is printed at most this often,
/// and only when a value changed.
const STATS_EVERY_MS: u64 = 1_000;

static mut TCP_RX: [[u8; RX_BUF]; POOL] = [[0; RX_BUF]; POOL];
static mut TCP_TX: [[u8; TX_BUF]; POOL] = [[0; TX_BUF]; POOL];
// `SocketStorage::EMPTY` is not all-zero bits: a plain initialiser would put 1.3 KiB into
// .data (flash + RAM); filled at run time instead.
static mut SOCKETS: MaybeUninit<[SocketStorage<'static>; POOL]> = MaybeUninit::uninit();
static mut ETH_RX: [u8; eth::BUF_LEN] = [0; eth::BUF_LEN];
static mut ETH_TX: [u8; eth::BUF_LEN] = [0; eth::BUF_LEN];
// The sessions (the framed echo's decoder buffers) count as static RAM, not stack; each is
// initialised in place (a whole pool built by value would pass through the stack).
static mut UART_LINK: MaybeUninit<service::UartLink> = MaybeUninit::uninit();
static mut SESSIONS: [MaybeUninit<Session>; POOL] = [const { MaybeUninit::uninit() }; POOL];

#[entry]
fn main() -> ! {
    stack::paint();
    let cp = cortex_m::Peripherals::take().unwrap();

    // SAFETY: `main` runs once and these statics are borrowed nowhere else.
    let (tcp_rx, tcp_tx, storage, eth_rx, eth_tx, sessions) = unsafe {
        (
            take(&raw mut TCP_RX),
            take(&raw mut TCP_TX),
            take(&raw mut SOCKETS).write([SocketStorage::EMPTY; POOL]),
            take(&raw mut ETH_RX),
            take(&raw mut ETH_TX),
            take(&raw mut SESSIONS).each_mut(),
        )
    };

    time::init(cp.SYST);
    let mut eth = eth::Eth::new(MAC, eth_rx, eth_tx);
    let mut uart = uart::Uart::new();
    // SAFETY: `main` runs once and this static is borrowed nowhere else.
    let uart_link = unsafe { take(&raw mut UART_LINK) }.write(service::UartLink::new());

    let mut config = Config::new(EthernetAddress(MAC).into());
    // No entropy source on this board; a fixed seed only makes ISNs repeat across boots.
    config.random_seed = 0x5eed_f4a3_e000_0007;
    let mut iface = Interface::new(config, &mut eth, time::now());
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IP.into(), 24));
    });
    let _ = iface.routes_mut().add_default_ipv4_route(GATEWAY);

    let mut sockets = SocketSet::new(&mut storage[..]);
    let mut bufs = tcp_rx.iter_mut().zip(tcp_tx.iter_mut());
    let mut pool = sessions.map(|session| {
        let (rx, tx) = bufs.next().expect("POOL buffers");
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut rx[..]),
            tcp::SocketBuffer::new(&mut tx[..]),
        );
        socket.set_timeout(Some(TCP_TIMEOUT));
        let _ = socket.listen(PORT);
        (sockets.add(socket), session.write(Session::new()))
    });

    // Slirp learns our MAC only from a frame we send: until then an incoming SYN waits on
    // slirp's own ARP for ~0.5-1 s. One ARP request for the gateway makes the first
    // connection fast (and fills our neighbour cache as a bonus).
    send_arp_request(&mut eth, GATEWAY);
    // A literal: formatting the address would cost 0.7 KiB of flash.
    line("sockframe-qemu: listening on 10.0.2.15:7");

    let mut last_stats = (0, eth::Stats::default(), uart::Stats::default(), 0);
    let mut next_stats = STATS_EVERY_MS;
    loop {
        let now_ms = time::millis();
        let now = smoltcp::time::Instant::from_millis(now_ms as i64);
        let mut busy = iface.poll(now, &mut eth, &mut sockets)
            == smoltcp::iface::PollResult::SocketStateChanged;
        for (handle, session) in pool.iter_mut() {
            let socket = sockets.get_mut::<tcp::Socket>(*handle);
            if !socket.is_open() {
                // Connection over (or never started): serve the next client.
                session.reset();
                let _ = socket.listen(PORT);
            }
            busy |= session.poll_socket(socket);
        }
        busy |= uart_link.poll(&mut uart);
        if busy {
            continue; // send what the service queued before sleeping
        }

        let ms = time::millis();
        if ms >= next_stats {
            next_stats = ms + STATS_EVERY_MS;
            let stats = (
                stack::peak_bytes(),
                eth.stats(),
                uart.stats(),
                uart_link.skipped(),
            );
            if stats != last_stats {
                last_stats = stats;
                Line::new()
                    .text("stats: stack peak ")
                    .num(stats.0 as u32)
                    .text(" of ")
                    .num(stack::size_bytes() as u32)
                    .text(" B, eth errors rx ")
                    .num(stats.1.rx_errors)
                    .text(" oversize ")
                    .num(stats.1.rx_oversize)
                    .text(" tx ")
                    .num(stats.1.tx_errors)
                    .text(", uart overruns ")
                    .num(stats.2.overruns)
                    .text(" ring drops ")
                    .num(stats.2.ring_drops)
                    .text(" skipped ")
                    .num(stats.3)
                    .print();
            }
        }
        let deadline = match iface.poll_delay(now, &sockets) {
            // micros / 1024 rounds the delay down (an early wake-up only polls again)
            // without a 64-bit division routine.
            Some(d) => next_stats.min(now_ms + (d.micros() >> 10)),
            None => next_stats,
        };
        sleep_until(deadline);
    }
}

/// Turns a `static mut` (as `&raw mut`) into its one `&'static mut`.
///
/// # Safety
/// Call at most once per static, and never touch the static otherwise.
unsafe fn take<T>(p: *mut T) -> &'static mut T {
    // SAFETY: upheld by the caller.
    unsafe { &mut *p }
}

/// Sleeps (WFI) until the Ethernet controller has work or `deadline` (ms) has come.
/// SysTick wakes the core every millisecond to check the deadline.
fn sleep_until(deadline: u64) {
    loop {
        // With interrupts masked, a wake-up event arriving between the check and WFI still
        // ends the WFI (the interrupt stays pending), so no event is slept through.
        let work = interrupt::free(|_| {
            let work = eth::has_work() || uart::has_work();
            if !work {
                cortex_m::asm::wfi();
            }
            work
        });
        if work || time::millis() >= deadline {
            return;
        }
    }
}

/// Sends one broadcast ARP request for `target` straight through the driver.
fn send_arp_request(eth: &mut eth::Eth, target: Ipv4Address) {
    let mac = EthernetAddress(MAC);
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: IP,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let header = EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    };
    let Some(token) = eth.transmit(time::now()) else {
        return;
    };
    token.consume(header.buffer_len() + arp.buffer_len(), |buf| {
        let mut frame = EthernetFrame::new_unchecked(buf);
        header.emit(&mut frame);
        arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    });
}

/// Says that the firmware panicked, then ends QEMU with a failure status. Where and why are
/// printed only by debug builds (`cargo build`): in the release image the messages and
/// source locations of every panic site would cost about 6 KiB of flash.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if cfg!(debug_assertions) {
        hprintln!("panic: {}", info);
    } else {
        line("panic (a debug build says where)");
    }
    semihosting::debug::exit(semihosting::debug::EXIT_FAILURE);
    loop {}
}

/// Device interrupts all land here (no PAC crate, so no per-IRQ vector names): the Ethernet
/// interrupt only wakes the core; nothing else is unmasked.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == eth::IRQ as i16 {
        eth::on_interrupt();
    } else if irqn == uart::IRQ as i16 {
        uart::on_interrupt();
    }
}
