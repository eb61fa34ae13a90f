//! The async client on real loopback sockets: against the library's echo server, and
//! against scripted servers (built on the codec) that hold, reorder, drop or fail replies.

mod common;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sockframe::{Kind, Limits};
use sockframe_std::ServerConfig;
use sockframe_std::async_client::{AsyncClient, AsyncClientConfig, AsyncClientError};
use sockframe_std::codec::{BytesFrame, FrameCodec, FrameHead};
use sockframe_std::services::Echo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::codec::Framed;

/// What an echo answers: the frame back, a PING as a PONG.
fn echoed(mut f: BytesFrame) -> BytesFrame {
    if f.head.kind == Kind::PING {
        f.head.kind = Kind::PONG;
    }
    f
}

/// A scripted server on a free loopback port: `script` gets the one connection, framed.
async fn scripted<F, Fut>(script: F) -> SocketAddr
where
    F: FnOnce(Framed<tokio::net::TcpStream, FrameCodec>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        script(Framed::new(stream, FrameCodec::new())).await;
    });
    addr
}

fn payload_for(task: u32, n: u32) -> Bytes {
    Bytes::from(format!("task {task} request {n}"))
}

/// Fires `per_task` requests from each of `tasks` tasks at once; every reply must be the
/// echo of its own request.
async fn fire(client: &AsyncClient, tasks: u32, per_task: u32) {
    let mut handles = Vec::new();
    for t in 0..tasks {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            let requests = (0..per_task).map(|n| {
                let client = client.clone();
                async move {
                    let sent = payload_for(t, n);
                    let reply = client.request(BytesFrame::data(0, sent.clone())).await?;
                    assert_eq!(reply.payload, sent, "reply matched to the wrong request");
                    Ok::<_, AsyncClientError>(())
                }
            });
            futures_util::future::try_join_all(requests).await
        }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn ten_thousand_in_flight_answered_in_reverse_each_matched() {
    const TOTAL: usize = 10_000;
    let (seen_tx, seen_rx) = oneshot::channel();
    let addr = scripted(move |mut framed| async move {
        // Hold every reply until all 10,000 requests are in, then answer newest first.
        let mut requests = Vec::new();
        while requests.len() < TOTAL {
            requests.push(framed.next().await.unwrap().unwrap());
        }
        let ids: std::collections::HashSet<u32> = requests.iter().map(|f| f.head.id).collect();
        let _ = seen_tx.send(ids.len());
        for f in requests.into_iter().rev() {
            framed.feed(echoed(f)).await.unwrap();
        }
        SinkExt::<BytesFrame>::flush(&mut framed).await.unwrap();
        while framed.next().await.is_some() {}
    })
    .await;
    let client = AsyncClient::connect(addr).await.unwrap();
    let probe = client.clone();
    let fired = tokio::spawn(async move { fire(&client, 100, 100).await });
    // All 10,000 were in flight at once, each with its own id.
    assert_eq!(seen_rx.await.unwrap(), TOTAL);
    fired.await.unwrap();
    assert_eq!(probe.in_flight(), 0);
    assert_eq!(probe.discarded(), 0);
}

#[tokio::test]
async fn ten_thousand_from_a_hundred_tasks_through_the_echo_server() {
    let server = common::echo();
    let client = AsyncClient::connect(server.local_addr()).await.unwrap();
    fire(&client, 100, 100).await;
    assert_eq!(client.in_flight(), 0);
    // The connection is still good.
    client.ping().await.unwrap();
}

/// The connection is as good as before: a request gets its reply.
async fn still_usable(client: &AsyncClient) {
    let again = client
        .request(BytesFrame::data(0, &b"again"[..]))
        .await
        .unwrap();
    assert_eq!(&again.payload[..], b"again");
}

/// Holds the replies to frames named `slow` until a frame named `release` arrives, then
/// sends them (late) before the release's own reply.
async fn holding_server() -> SocketAddr {
    scripted(|mut framed| async move {
        let mut held = Vec::new();
        while let Some(Ok(f)) = framed.next().await {
            match f.head.name() {
                Some("slow") => held.push(f),
                Some("release") => {
                    for h in held.drain(..) {
                        framed.feed(echoed(h)).await.unwrap();
                    }
                    framed.send(echoed(f)).await.unwrap();
                }
                _ => framed.send(echoed(f)).await.unwrap(),
            }
        }
    })
    .await
}

/// Asks the [`holding_server`] for the replies it holds; returns once they came.
async fn release_held(client: &AsyncClient) {
    let release = client
        .request(BytesFrame::data(0, &b"go"[..]).with_name("release"))
        .await
        .unwrap();
    assert_eq!(&release.payload[..], b"go");
}

#[tokio::test]
async fn timed_out_and_cancelled_requests_their_late_replies_discarded() {
    let client = AsyncClient::connect(holding_server().await).await.unwrap();
    let slow = || BytesFrame::data(0, &b"late"[..]).with_name("slow");

    let asked = std::time::Instant::now();
    let timed_out = client
        .request_timeout(slow(), Some(Duration::from_millis(50)))
        .await;
    // Never early (the sweeper's clock only counts whole ticks).
    assert!(
        asked.elapsed() >= Duration::from_millis(50),
        "{:?}",
        asked.elapsed()
    );
    assert!(
        matches!(timed_out, Err(AsyncClientError::Timeout(d)) if d == Duration::from_millis(50)),
        "{timed_out:?}"
    );
    // Cancelled: the future is dropped once its request is surely on the wire (a later
    // request on the same connection has been answered).
    let cancelled = {
        let client = client.clone();
        tokio::spawn(async move { client.request_timeout(slow(), None).await })
    };
    while client.in_flight() < 1 {
        tokio::task::yield_now().await;
    }
    client.ping().await.unwrap();
    cancelled.abort();
    assert!(cancelled.await.unwrap_err().is_cancelled());
    assert_eq!(client.in_flight(), 0);
    assert_eq!(client.discarded(), 0);

    // Now both late replies arrive, before the release's reply: both are discarded.
    release_held(&client).await;
    assert_eq!(client.discarded(), 2);
    still_usable(&client).await;
}

#[tokio::test]
async fn a_short_timeout_behind_a_long_one_still_times_out() {
    // The sweeper looks at the table only once the earliest deadline may have come: a
    // request with a short timeout registered after one with a long timeout moves it up.
    let client = AsyncClient::connect(holding_server().await).await.unwrap();
    let slow = || BytesFrame::data(0, &b"late"[..]).with_name("slow");
    let long = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .request_timeout(slow(), Some(Duration::from_secs(60)))
                .await
        })
    };
    while client.in_flight() < 1 {
        tokio::task::yield_now().await;
    }
    for ms in [50, 30, 80] {
        let after = Duration::from_millis(ms);
        let asked = std::time::Instant::now();
        let timed_out = client.request_timeout(slow(), Some(after)).await;
        let waited = asked.elapsed();
        assert!(
            matches!(timed_out, Err(AsyncClientError::Timeout(d)) if d == after),
            "{timed_out:?}"
        );
        // Between its timeout and a few ticks later (not the long request's 60 s).
        assert!(
            waited >= after && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    }
    assert_eq!(client.in_flight(), 1);
    release_held(&client).await;
    // The long request gets its (late but in time) reply; the three timed out are dropped.
    assert_eq!(&long.await.unwrap().unwrap().payload[..], b"late");
    assert_eq!((client.in_flight(), client.discarded()), (0, 3));
}

#[tokio::test]
async fn borrowed_requests_with_plain_and_long_heads_through_the_echo_server() {
    let server = common::echo();
    let client = AsyncClient::connect(server.local_addr()).await.unwrap();
    let mut buf = Vec::new();
    for n in 0..100u32 {
        buf.clear();
        buf.extend_from_slice(format!("borrowed request {n}").as_bytes());
        let reply = client
            .request_with(&sockframe::Header::data(0, &buf), &buf)
            .await
            .unwrap();
        assert_eq!(
            (reply.head.kind, &reply.payload[..]),
            (Kind::DATA, &buf[..])
        );
        assert!(reply.head.id != 0 && reply.head.name().is_none());
    }
    // A head far longer than the small array plain heads are written into: a long name
    // and metadata; its `len` (wrong on purpose) is replaced by the payload's.
    let name = "n".repeat(300);
    let pairs = [("key", "value"), ("other", "thing")];
    let mut header = sockframe::Header::new(Kind::DATA, 7, 999).with_meta(&pairs);
    header.name = Some(&name);
    let reply = client.request_with(&header, b"payload").await.unwrap();
    assert_eq!(&reply.payload[..], b"payload");
    assert_eq!(reply.head.name(), Some(name.as_str()));
    assert_eq!(
        (reply.head.meta("key"), reply.head.meta("other")),
        (Some("value"), Some("thing"))
    );
    assert_eq!(reply.payload.len(), 7);
    // A header the encoder refuses is the caller's error; the connection is fine.
    let many = [("k", "v"); sockframe::MAX_META + 1];
    let refused = client
        .request_with(
            &sockframe::Header::new(Kind::DATA, 0, 0).with_meta(&many),
            b"",
        )
        .await;
    assert!(
        matches!(refused, Err(AsyncClientError::Encode(_))),
        "{refused:?}"
    );
    assert_eq!(client.in_flight(), 0);
    still_usable(&client).await;
}

#[tokio::test]
async fn connection_dropped_mid_flight_every_waiter_errors() {
    const N: usize = 50;
    let addr = scripted(|mut framed| async move {
        for _ in 0..N {
            framed.next().await.unwrap().unwrap();
        }
        // Gone without a word, with 50 requests unanswered.
    })
    .await;
    let client = AsyncClient::connect(addr).await.unwrap();
    let results = futures_util::future::join_all(
        (0..N).map(|i| client.request(BytesFrame::data(0, i.to_string()))),
    )
    .await;
    for r in &results {
        match r {
            Err(AsyncClientError::ConnectionLost(why)) => {
                assert!(
                    why.contains("closed the connection with 50 requests in flight")
                        || why.contains("failed"),
                    "{why}"
                );
            }
            other => panic!("expected ConnectionLost, got {other:?}"),
        }
    }
    // New requests fail at once with the same reason.
    let after = client.request(BytesFrame::data(0, &b"x"[..])).await;
    assert!(
        matches!(after, Err(AsyncClientError::ConnectionLost(_))),
        "{after:?}"
    );
}

#[tokio::test]
async fn error_frames_are_typed_per_request_and_per_connection() {
    let addr = scripted(|mut framed| async move {
        while let Some(Ok(f)) = framed.next().await {
            if f.head.name() == Some("missing") {
                let message = format!("no key {:?} (0 of 3 keys match)", f.text());
                let reply = sockframe_std::codec::ErrorReply::new(f.head.id, "not-found", &message);
                framed.send(reply).await.unwrap();
            } else if f.head.name() == Some("bye") {
                let reply = sockframe_std::codec::ErrorReply::new(
                    0,
                    "shutdown",
                    &"server shutting down, 1 request unanswered",
                );
                framed.send(reply).await.unwrap();
                return;
            } else {
                framed.send(echoed(f)).await.unwrap();
            }
        }
    })
    .await;
    let client = AsyncClient::connect(addr).await.unwrap();
    let missing = client
        .request(BytesFrame::data(0, &b"k1"[..]).with_name("missing"))
        .await;
    match missing {
        Err(AsyncClientError::Remote { id, code, message }) => {
            assert_ne!(id, 0);
            assert_eq!(code, "not-found");
            assert_eq!(message, "no key \"k1\" (0 of 3 keys match)");
        }
        other => panic!("{other:?}"),
    }
    // A per-request error leaves the connection usable.
    client.ping().await.unwrap();
    let bye = client
        .request(BytesFrame::data(0, &b""[..]).with_name("bye"))
        .await;
    assert_eq!(bye.as_ref().err().and_then(|e| e.code()), Some("shutdown"));
    let after = client.request(BytesFrame::data(0, &b""[..])).await;
    assert_eq!(
        after.as_ref().err().and_then(|e| e.code()),
        Some("shutdown")
    );
}

#[tokio::test]
async fn the_real_server_refusal_names_the_limit() {
    let cfg = ServerConfig {
        limits: Limits {
            max_header: 512,
            max_payload: 1024,
        },
        ..common::loopback()
    };
    let server = common::start(cfg, Echo);
    let client = AsyncClient::connect(server.local_addr()).await.unwrap();
    let refused = client.request(BytesFrame::data(0, vec![7u8; 2000])).await;
    match refused {
        Err(AsyncClientError::Remote { id, code, message }) => {
            assert_eq!((id, code.as_str()), (0, "payload-too-large"));
            assert_eq!(message, "payload is 2000 bytes, limit 1024");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn ping_checks_health() {
    let server = common::echo();
    let client = AsyncClient::connect(server.local_addr()).await.unwrap();
    let rtt = client.ping().await.unwrap();
    assert!(rtt < Duration::from_secs(30));
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[tokio::test]
async fn streamed_bodies_both_ways_through_the_echo_server() {
    let server = common::echo();
    let client = AsyncClient::connect(server.local_addr()).await.unwrap();
    let body = pattern(3 * 1024 * 1024 + 17);

    // Up: an AsyncRead sent as fragments, with progress; the echoed fragments come back
    // collected into one frame.
    let mut progress = Vec::new();
    let head = FrameHead::new(Kind(70), 0).with_name("upload");
    let reply = client
        .request_from_reader(head, &body[..], |sent| progress.push(sent))
        .await
        .unwrap();
    assert_eq!(reply.payload.len(), body.len());
    assert!(reply.payload == body, "streamed upload came back different");
    assert_eq!(
        (reply.head.kind, reply.head.name()),
        (Kind(70), Some("upload"))
    );
    assert!(!reply.head.more());
    assert_eq!(progress.last(), Some(&(body.len() as u64)));
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(progress.len(), body.len() / (64 * 1024) + 1);

    // Down: one 3 MiB frame, larger than both sides' buffers, streamed into an AsyncWrite.
    let mut sink = Vec::new();
    let (_, got) = client
        .request_into(BytesFrame::data(0, body.clone()).with_crc(), &mut sink)
        .await
        .unwrap();
    assert_eq!(got, body.len() as u64);
    assert!(sink == body, "streamed download differs");
    // A reply over max_reply is refused when collected whole, and the connection survives.
    let small = AsyncClientConfig {
        max_reply: 1000,
        ..AsyncClientConfig::default()
    };
    let stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let limited = AsyncClient::with_config(stream, small);
    let over = limited.request(BytesFrame::data(0, vec![1u8; 5000])).await;
    assert!(
        matches!(
            over,
            Err(AsyncClientError::ReplyTooLarge {
                got: 5000,
                limit: 1000
            })
        ),
        "{:?}",
        over.map(|f| f.head)
    );
    limited.ping().await.unwrap();
    assert_eq!(limited.discarded(), 0);
}

#[tokio::test]
async fn a_dropped_client_closes_its_connection() {
    let (done_tx, done_rx) = oneshot::channel();
    let addr = scripted(|mut framed| async move {
        while let Some(Ok(f)) = framed.next().await {
            framed.send(echoed(f)).await.unwrap();
        }
        let _ = done_tx.send(());
    })
    .await;
    let client = Arc::new(AsyncClient::connect(addr).await.unwrap());
    client.ping().await.unwrap();
    drop(client);
    tokio::time::timeout(Duration::from_secs(10), done_rx)
        .await
        .expect("the server saw the connection close")
        .unwrap();
}

#[tokio::test]
async fn ids_wrap_past_the_top_skipping_0_and_an_id_still_in_flight() {
    let stream = tokio::net::TcpStream::connect(holding_server().await)
        .await
        .unwrap();
    let first = u32::MAX - 3;
    let client = AsyncClient::with_stream_first_id(stream, AsyncClientConfig::default(), first);
    // Held by the server (in flight) while the ids go round.
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            let f = BytesFrame::data(0, &b"held"[..]).with_name("slow");
            client.request(f).await
        })
    };
    while client.in_flight() < 1 {
        tokio::task::yield_now().await;
    }
    let mut ids = Vec::new();
    for n in 0..40u32 {
        let sent = Bytes::from(format!("across the wrap {n}"));
        let reply = client
            .request(BytesFrame::data(0, sent.clone()))
            .await
            .unwrap();
        assert_eq!(reply.payload, sent, "reply matched to the wrong request");
        ids.push(reply.head.id);
    }
    assert_eq!(&ids[..5], &[u32::MAX - 2, u32::MAX - 1, u32::MAX, 1, 2]);
    // Never 0, never the id still in flight, none twice in a row.
    assert!(!ids.contains(&0) && !ids.contains(&first), "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] != w[1]));
    release_held(&client).await;
    let held = slow.await.unwrap().unwrap();
    assert_eq!((held.head.id, &held.payload[..]), (first, &b"held"[..]));
    assert_eq!((client.in_flight(), client.discarded()), (0, 0));
}

#[tokio::test]
async fn a_request_dropped_after_its_reply_came_in_frees_its_id() {
    let client = AsyncClient::connect(holding_server().await).await.unwrap();
    let mut pending = Box::pin(client.request(BytesFrame::data(0, &b"early"[..])));
    // Sent, then its reply handed out (a later request's reply came after it)...
    assert!(
        futures_util::FutureExt::now_or_never(pending.as_mut()).is_none(),
        "no reply before the request is even sent"
    );
    client.ping().await.unwrap();
    assert_eq!(client.in_flight(), 1);
    // ...but never taken: dropping the request frees its slot; nothing was discarded.
    drop(pending);
    assert_eq!((client.in_flight(), client.discarded()), (0, 0));
    still_usable(&client).await;
}

#[tokio::test]
async fn a_thousand_and_twenty_four_in_flight_twice_through_the_echo_server() {
    let server = common::echo();
    let client = AsyncClient::connect(server.local_addr()).await.unwrap();
    for round in 0..2u32 {
        // Sizes from 0 to 4 KiB, so replies end at every offset of the reads.
        let requests = (0..1024u32).map(|n| {
            let sent = Bytes::from(pattern((n as usize * 37) % 4097 + round as usize));
            let request = client.request(BytesFrame::data(0, sent.clone()));
            async move {
                let reply = request.await.unwrap();
                assert!(reply.payload == sent, "request {n}: wrong reply");
            }
        });
        futures_util::future::join_all(requests).await;
        assert_eq!(client.in_flight(), 0);
    }
    assert_eq!(client.discarded(), 0);
}

#[tokio::test]
async fn a_reply_larger_than_the_socket_buffers_beside_small_ones() {
    let server = common::echo();
    let client = AsyncClient::connect(server.local_addr()).await.unwrap();
    // 16 MiB each way: far over the socket buffers, so the client writes while it reads.
    let big = Bytes::from(pattern(16 << 20));
    let large = {
        let (client, big) = (client.clone(), big.clone());
        tokio::spawn(async move { client.request(BytesFrame::data(0, big)).await })
    };
    fire(&client, 10, 50).await;
    let reply = large.await.unwrap().unwrap();
    assert_eq!(reply.payload.len(), big.len());
    assert!(reply.payload == big, "the 16 MiB reply differs");
    assert_eq!((client.in_flight(), client.discarded()), (0, 0));
}

#[tokio::test]
async fn replies_cut_across_reads_arrive_whole() {
    // Three replies written in pieces that end mid-head and mid-payload: each read holds
    // the end of one reply and the start of the next.
    let payloads: Vec<Bytes> = [10usize, 40_000, 3]
        .iter()
        .map(|&n| Bytes::from(pattern(n)))
        .collect();
    let expected = payloads.clone();
    let addr = scripted(move |mut framed| async move {
        let mut wire = bytes::BytesMut::new();
        let mut codec = FrameCodec::new();
        for p in &payloads {
            let request = framed.next().await.unwrap().unwrap();
            let reply = BytesFrame::data(request.head.id, p.clone());
            tokio_util::codec::Encoder::encode(&mut codec, reply, &mut wire).unwrap();
        }
        let stream = framed.get_mut();
        for piece in [&wire[..7], &wire[7..30], &wire[30..20_000], &wire[20_000..]] {
            tokio::io::AsyncWriteExt::write_all(stream, piece)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while framed.next().await.is_some() {}
    })
    .await;
    let client = AsyncClient::connect(addr).await.unwrap();
    let replies = futures_util::future::join_all(
        (0..3).map(|_| client.request(BytesFrame::data(0, &b"?"[..]))),
    )
    .await;
    for (reply, want) in replies.into_iter().zip(&expected) {
        assert!(
            reply.unwrap().payload == want,
            "a reply cut across reads differs"
        );
    }
}

#[test]
fn requests_from_two_threads_each_with_its_own_runtime() {
    // The client's tasks run on one runtime; its calls take no runtime of their own, so a
    // second thread (another runtime) shares the connection: the lock and the wake-ups
    // cross threads.
    let server = common::echo();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt
        .block_on(AsyncClient::connect(server.local_addr()))
        .unwrap();
    let other = {
        let client = client.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(fire(&client, 20, 100));
        })
    };
    rt.block_on(async {
        fire(&client, 20, 100).await;
        // Keep the client's own tasks running until the other thread has its replies.
        while !other.is_finished() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    other.join().unwrap();
    assert_eq!((client.in_flight(), client.discarded()), (0, 0));
}

/// Every call's future may move between threads (`tokio::spawn` on a multi-thread runtime):
/// checked when this file compiles.
#[allow(dead_code)]
fn calls_are_send(client: &AsyncClient) {
    fn send<T: Send>(_: T) {}
    send(client.request(BytesFrame::data(0, &b""[..])));
    send(client.request_timeout(BytesFrame::data(0, &b""[..]), None));
    send(client.request_with(&sockframe::Header::data(0, b""), b""));
    send(client.ping());
    send(client.request_into(BytesFrame::data(0, &b""[..]), tokio::io::sink()));
    send(client.request_from_reader(FrameHead::new(Kind::DATA, 0), tokio::io::empty(), |_| {}));
}
