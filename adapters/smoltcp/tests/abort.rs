//! Cut input inside a frame the echo already forwarded (spec, section 6.1): a frame with a
//! trailer is completed with filler and aborted before the ERROR frame; a frame without one
//! is cut by a close with no ERROR frame (which its reader would take for payload). And an
//! aborted frame from the peer comes back aborted, the connection going on.

mod common;

use common::peer::decode_all;
use common::world::{ServerConfig, World};
use common::{echo_until_fin, error_frame, expected_error, frame};
use sockframe::{
    DecodeError, Header, Kind, encode_abort, encode_decode_abort, encode_end, encode_head,
};

const N: usize = 1024;

fn head(header: &Header<'_>, len: u64) -> Vec<u8> {
    let mut out = vec![0u8; 600];
    let n = encode_head(header, len, &mut out).unwrap();
    out.truncate(n);
    out
}

fn abort_frame(id: u32, err: &DecodeError) -> Vec<u8> {
    let mut out = vec![0u8; 1024];
    let n = encode_decode_abort(id, err, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn a_cut_frame_with_a_trailer_is_completed_with_filler_and_aborted() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    // Small (fits the buffer, streamed for its trailer) and large (10x the buffer).
    for (len, have) in [(5u64, 2usize), (10_000, 3_000)] {
        let h = Header::new(Kind::DATA, 6, len).with_trailer();
        let sent = [head(&h, len), vec![0xAB; have]].concat();
        let err = expected_error::<N>(&sent);
        assert_eq!(err.code(), "truncated");
        let want = [
            sent.clone(),
            vec![0; len as usize - have],
            abort_frame(6, &err),
            error_frame(&err),
        ]
        .concat();
        let back = echo_until_fin(&mut world, sent, 300);
        assert!(
            back == want,
            "{len} B frame cut after {have}: {} B back, {} expected",
            back.len(),
            want.len()
        );
        // What the client's decoder makes of it: the frame aborted, then the error.
        let frames = decode_all(&back);
        assert_eq!(
            frames,
            [
                (Kind::ABORT, 6, b"truncated".to_vec()),
                (Kind::ERROR, 0, b"truncated".to_vec())
            ]
        );
    }
}

#[test]
fn a_cut_frame_without_a_trailer_ends_without_an_error_frame() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    let h = Header::new(Kind::DATA, 6, 10_000);
    let sent = [head(&h, 10_000), vec![0xAB; 3_000]].concat();
    // The head and the bytes that came, nothing after them: the reader sees `truncated`.
    assert!(echo_until_fin(&mut world, sent.clone(), 300) == sent);
}

#[test]
fn a_wrong_trailer_aborts_the_forwarded_frame() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    let h = Header::new(Kind::DATA, 6, 3).with_trailer();
    let mut end = [0u8; 64];
    let n = encode_end(7, &mut end).unwrap(); // the END of another frame
    let sent = [head(&h, 3), b"abc".to_vec(), end[..n].to_vec()].concat();
    let err = expected_error::<N>(&sent);
    assert_eq!(err.code(), "bad-trailer");
    let want = [
        sent[..sent.len() - n].to_vec(),
        abort_frame(6, &err),
        error_frame(&err),
    ]
    .concat();
    assert_eq!(echo_until_fin(&mut world, sent, 300), want);
}

#[test]
fn an_aborted_frame_comes_back_aborted_and_the_connection_goes_on() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    let h = Header::new(Kind::DATA, 6, 2000).with_trailer();
    let mut abort = [0u8; 300];
    let n = encode_abort(6, "cancelled", &"cancelled by the sender", &mut abort).unwrap();
    let after = frame(&Header::data(7, b"next"), b"next");
    let sent = [head(&h, 2000), vec![0; 2000], abort[..n].to_vec(), after].concat();
    let back = echo_until_fin(&mut world, sent.clone(), 300);
    assert!(back == sent, "{} B back of {}", back.len(), sent.len());
    assert_eq!(
        decode_all(&back),
        [
            (Kind::ABORT, 6, b"cancelled".to_vec()),
            (Kind::DATA, 7, b"next".to_vec())
        ]
    );
}
