//! RAM per connection and the error frame's scratch space.

use sockframe::{DecodeError, ERROR_MESSAGE_MAX, encode_error_frame};
use sockframe_smoltcp::{Connection, ERROR_FRAME_MAX, EchoService};
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

#[test]
fn the_longest_error_frame_fits_its_scratch() {
    struct Long;
    impl core::fmt::Display for Long {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str(&"é".repeat(ERROR_MESSAGE_MAX))
        }
    }
    let longest_code = DecodeError::TooMuchMetadata { count: 0, limit: 0 }.code();
    let mut out = [0u8; ERROR_FRAME_MAX];
    let n = encode_error_frame(u32::MAX, longest_code, &Long, &mut out).expect("fits");
    assert!(n <= ERROR_FRAME_MAX);
}
