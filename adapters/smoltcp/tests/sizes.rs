//! RAM per connection. (The error frames' scratch space is the core's `ERROR_FRAME_MAX`,
//! which the core's tests check.)

use sockframe_smoltcp::{Connection, EchoService};
use std::mem::size_of;

#[test]
fn a_connection_costs_its_buffer_plus_a_little() {
    let overhead = size_of::<Connection<1024>>() - 1024;
    println!(
        "Connection<1024>: {} B, EchoService<4, 1024>: {} B (host, {}-bit)",
        size_of::<Connection<1024>>(),
        size_of::<EchoService<4, 1024>>(),
        usize::BITS
    );
    // Decoder bookkeeping and the phase; a 64-bit host's words are twice a board's.
    assert!(overhead <= 192, "overhead {overhead} B");
    assert_eq!(
        size_of::<EchoService<4, 1024>>(),
        4 * size_of::<(smoltcp::iface::SocketHandle, Connection<1024>)>() + 8
    );
}
