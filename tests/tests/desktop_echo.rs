//! The desktop echo against every conformance case of the spec (sections 8.11 and 8.19),
//! over a real socket to the `sockframe serve` binary: the bytes it sends back before its
//! error frame are the case's `reply` byte for byte (frames forwarded byte-exact, PONGs,
//! limits, filler and ABORT for a cut frame with a trailer), then the ERROR frame with the
//! case's code and metadata, then the end of the stream.
//!
//! Detection points (the byte at which each error comes) are checked by the peer
//! conformance test; here every case is sent in one piece.

use sockframe::{Decoder, Event, Kind};
use sockframe_tests::desktop::Desktop;
use sockframe_tests::spec::{self, End};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Everything the peer sends after `case.send`, until it closes (or, for a case without an
/// error that keeps the connection open, until the reply is in).
fn exchange(desktop: &Desktop, case: &spec::Case) -> Vec<u8> {
    let mut s = TcpStream::connect(desktop.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&case.send).unwrap();
    if case.end == End::Eof {
        s.shutdown(Shutdown::Write).unwrap();
    }
    let mut got = Vec::new();
    if case.error.is_none() && case.end == End::Open {
        got.resize(case.reply.len(), 0);
        s.read_exact(&mut got)
            .unwrap_or_else(|e| panic!("case `{}`: {e}", case.name));
        return got;
    }
    s.read_to_end(&mut got)
        .unwrap_or_else(|e| panic!("case `{}`: {e}", case.name));
    got
}

#[test]
fn desktop_echo_answers_every_conformance_case() {
    let desktop = Desktop::start(&[]).expect("desktop server");
    let cases = spec::cases(&spec::text()).expect("the spec's cases");
    assert!(cases.len() >= 30);
    for case in &cases {
        let got = exchange(&desktop, case);
        let what = format!("case `{}`", case.name);
        assert!(
            got.starts_with(&case.reply),
            "{what}: reply\n got {got:02x?}\nwant {:02x?}",
            case.reply
        );
        let rest = &got[case.reply.len()..];
        let Some(error) = &case.error else {
            assert!(rest.is_empty(), "{what}: more than the reply: {rest:02x?}");
            continue;
        };
        let mut dec = Decoder::new(vec![0u8; 1024]);
        dec.feed(rest);
        let Ok(Some(Event::Frame(f))) = dec.next_event() else {
            panic!("{what}: no error frame after the reply: {rest:02x?}")
        };
        assert_eq!((f.header.kind, f.header.id), (Kind::ERROR, 0), "{what}");
        let meta: Vec<(String, String)> = f
            .header
            .meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(meta[0], ("code".to_string(), error.code.clone()), "{what}");
        assert_eq!(meta[1..], error.meta[..], "{what}");
        if error.code != "bad-magic" {
            // bad-magic's message shows the bytes that arrived together.
            let message = String::from_utf8_lossy(f.payload);
            assert_eq!(Some(message.as_ref()), error.message.as_deref(), "{what}");
        }
        assert!(
            dec.next_event().unwrap().is_none(),
            "{what}: after the error"
        );
        dec.finish().unwrap();
    }
}
