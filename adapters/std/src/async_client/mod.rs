//! An async (tokio) client: one connection, many requests in flight, replies matched by id.
//!
//! ```text
//!  task A: request(id 1) --.                        .--> reply id 2 -> task B
//!  task B: request(id 2) ---+--> writer task ==TCP==> server ==TCP==> reader task
//!  task C: request(id 3) --'   (one write per burst)   (any order)  '--> reply id 1 -> task A
//! ```
//!
//! The client gives every request a fresh id (never 0, never one still in flight), appends
//! its frame to an outbox that a writer task writes in one go per burst, and a reader task
//! (the core's [`Decoder`], read into straight from the socket) hands each reply to the
//! request with its id. Handles are `Clone` and every call takes `&self`: share one
//! connection between tasks.
//!
//! What a request costs: the requests in flight sit in a table of slots indexed by id
//! (reused, no allocation per request); registering a request and appending its frame take
//! one lock, taking its reply one more; the reader hands out every reply of a read under
//! one lock and wakes their callers after it; a reply's payload is a slice of the read it
//! came in (no copy per reply). A caller is woken once, by its reply.
//!
//! - A request gives up after its timeout ([`AsyncClientError::Timeout`]); dropping its
//!   future cancels it. Either way its late reply is discarded (counted by
//!   [`AsyncClient::discarded`]) and the connection stays usable.
//! - An error frame for a request is [`AsyncClientError::Remote`] with its `code` and
//!   message; when the connection ends or fails, every request in flight gets the same
//!   error ([`AsyncClientError::ConnectionLost`], or `Remote` with id 0 when the server said
//!   why: `busy`, `shutdown`...).
//! - Bodies stream both ways: [`AsyncClient::request_from_reader`] sends an
//!   [`AsyncRead`] as fragments (flag MORE, wire-format section 5) with progress, and
//!   [`AsyncClient::request_into`] writes a reply of any size into an [`AsyncWrite`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sockframe_std::async_client::AsyncClient;
//! use sockframe_std::codec::BytesFrame;
//!
//! let client = AsyncClient::connect("127.0.0.1:9000").await?;
//! let mut tasks = Vec::new();
//! for i in 0..100u32 {
//!     let client = client.clone();
//!     tasks.push(tokio::spawn(async move {
//!         let reply = client.request(BytesFrame::data(0, i.to_string())).await?;
//!         Ok::<_, sockframe_std::async_client::AsyncClientError>(reply.text())
//!     }));
//! }
//! for (i, task) in tasks.into_iter().enumerate() {
//!     assert_eq!(task.await??, i.to_string()); // the echo service sends each back
//! }
//! # Ok(()) }
//! ```

mod error;
mod shared;
mod slots;
mod tasks;
#[cfg(feature = "tls")]
mod tls;

pub use error::AsyncClientError;

use crate::codec::{BytesFrame, FrameHead};
use bytes::{Bytes, BytesMut};
use shared::{Piece, Shared, Timeout};
use sockframe::{Decoder, EncodeError, Flags, Header, Kind, Limits};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// How an [`AsyncClient`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncClientConfig {
    /// How long a request waits for its reply (for a streamed reply: for each next piece);
    /// `None` waits forever. Whole replies are timed by one sweeper per client that looks
    /// every 10 ms, so a request gives up between its timeout and 20 ms later.
    pub timeout: Option<Duration>,
    /// Receive buffer: replies up to this size (with their head) arrive in one piece.
    pub buffer: usize,
    /// What the client accepts from the server.
    pub limits: Limits,
    /// Largest reply [`AsyncClient::request`] collects in memory; larger ones fail with
    /// [`AsyncClientError::ReplyTooLarge`] (use [`AsyncClient::request_into`]).
    pub max_reply: u64,
    /// Size of the fragments a streamed request body is cut into.
    pub fragment: usize,
}

impl Default for AsyncClientConfig {
    /// 30 s timeout, 64 KiB buffer, headers up to 4 KiB, any payload size (large ones
    /// stream), replies collected up to 64 MiB, 64 KiB fragments.
    fn default() -> Self {
        AsyncClientConfig {
            timeout: Some(Duration::from_secs(30)),
            buffer: 64 * 1024,
            limits: Limits {
                max_header: 4096,
                max_payload: u64::MAX,
            },
            max_reply: 64 << 20,
            fragment: 64 * 1024,
        }
    }
}

/// A multiplexing sockframe client over one TCP connection. Cheap to clone (the clones
/// share the connection); the connection closes when the last clone drops.
#[derive(Clone)]
pub struct AsyncClient {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    config: AsyncClientConfig,
    /// `config.timeout` in the sweeper's ticks.
    timeout: Option<Timeout>,
    tasks: [AbortHandle; 3],
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shared.fail_all(AsyncClientError::ConnectionLost(
            "the client was dropped".into(),
        ));
    }
}

impl std::fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncClient")
            .field("in_flight", &self.in_flight())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl AsyncClient {
    /// Connects with TCP_NODELAY and the default [`AsyncClientConfig`]. Call it inside a
    /// tokio runtime: it spawns the client's reader and writer tasks.
    pub async fn connect(addr: impl ToSocketAddrs) -> std::io::Result<AsyncClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(AsyncClient::with_config(
            stream,
            AsyncClientConfig::default(),
        ))
    }

    /// A client over an existing connection (inside a tokio runtime).
    pub fn with_config(stream: TcpStream, config: AsyncClientConfig) -> AsyncClient {
        let (r, w) = stream.into_split();
        AsyncClient::with_halves(r, w, config)
    }

    /// A client over any byte stream (a TLS stream, an in-memory pipe), inside a tokio
    /// runtime. Its two halves are used by two tasks, through `tokio::io::split`.
    pub fn with_stream<S>(stream: S, config: AsyncClientConfig) -> AsyncClient
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (r, w) = tokio::io::split(stream);
        AsyncClient::with_halves(r, w, config)
    }

    fn with_halves<R, W>(r: R, w: W, config: AsyncClientConfig) -> AsyncClient
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        AsyncClient::with_first_id(r, w, config, 1)
    }

    /// [`with_stream`](Self::with_stream) whose first request gets id `first_id`: lets a
    /// test see the ids wrap past `u32::MAX` without sending four billion requests. Not
    /// for applications.
    #[doc(hidden)]
    pub fn with_stream_first_id<S>(
        stream: S,
        config: AsyncClientConfig,
        first_id: u32,
    ) -> AsyncClient
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (r, w) = tokio::io::split(stream);
        AsyncClient::with_first_id(r, w, config, first_id)
    }

    fn with_first_id<R, W>(r: R, w: W, config: AsyncClientConfig, first_id: u32) -> AsyncClient
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Shared::new(config.max_reply, first_id);
        let dec = Decoder::with_limits(vec![0u8; config.buffer], config.limits);
        let reader = tokio::spawn(tasks::read_loop(shared.clone(), r, dec));
        let writer = tokio::spawn(tasks::write_loop(shared.clone(), w));
        let sweeper = tokio::spawn(tasks::sweep_loop(shared.clone()));
        AsyncClient {
            inner: Arc::new(Inner {
                shared,
                config,
                timeout: config.timeout.map(Timeout::new),
                tasks: [
                    reader.abort_handle(),
                    writer.abort_handle(),
                    sweeper.abort_handle(),
                ],
            }),
        }
    }

    /// Requests whose outcome (reply, error frame, timeout) has not been taken yet: each holds
    /// its id until its future takes the outcome or is dropped, so a reply that has arrived
    /// counts until its caller is polled.
    pub fn in_flight(&self) -> usize {
        self.inner.shared.in_flight()
    }

    /// Reply frames discarded because no request waited for them any more (timed out or
    /// cancelled), since the client was made.
    pub fn discarded(&self) -> u64 {
        self.inner.shared.discarded.load(Ordering::Relaxed)
    }

    /// Sends `frame` (its id is replaced by a fresh one) and waits for the reply, within the
    /// configured timeout. A reply in fragments (MORE) or streamed comes back as one frame.
    ///
    /// A reply that arrived in one piece shares its memory with the other replies of the
    /// same read from the socket (no copy per reply): to keep a small part of one for long,
    /// copy it out ([`Bytes::copy_from_slice`]).
    pub fn request(
        &self,
        frame: BytesFrame,
    ) -> impl Future<Output = Result<BytesFrame, AsyncClientError>> + Send + '_ {
        // Not an `async fn` awaiting the other: one future, the frame moved into it once.
        self.request_timeout(frame, self.inner.config.timeout)
    }

    /// [`request`](Self::request) with its own timeout (`None`: wait forever).
    pub fn request_timeout(
        &self,
        frame: BytesFrame,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<BytesFrame, AsyncClientError>> + Send + '_ {
        let mut frame = frame;
        self.call(timeout, move |id, buf| {
            frame.head.id = id;
            frame.put(buf)
        })
    }

    /// Sends a frame of `header` (its id replaced by a fresh one, its `len` by the
    /// payload's) carrying `payload`, both borrowed, and waits for the reply within the
    /// configured timeout: [`request`](Self::request) for a caller whose payload is in a
    /// buffer of its own, as the blocking [`Client::request_with`](crate::Client::request_with)
    /// takes it. Both are copied into the outbox on the future's first poll; no [`Bytes`]
    /// is made.
    ///
    /// ```no_run
    /// # async fn demo(client: sockframe_std::async_client::AsyncClient) -> Result<(), sockframe_std::async_client::AsyncClientError> {
    /// use sockframe::Header;
    ///
    /// let mut buf = Vec::new();
    /// for n in 0..10u32 {
    ///     buf.clear();
    ///     buf.extend_from_slice(&n.to_le_bytes()); // serialize into a buffer, reused
    ///     let reply = client.request_with(&Header::data(0, &buf), &buf).await?;
    ///     assert_eq!(reply.payload, buf); // the echo service sends it back
    /// }
    /// # Ok(()) }
    /// ```
    pub fn request_with<'a>(
        &'a self,
        header: &Header<'a>,
        payload: &'a [u8],
    ) -> impl Future<Output = Result<BytesFrame, AsyncClientError>> + Send + 'a {
        let mut header = *header;
        self.call(self.inner.config.timeout, move |id, buf| {
            header.id = id;
            put_header(&header, payload, buf)
        })
    }

    /// The future of a request whose frame `put` appends, given its id.
    fn call<P>(&self, timeout: Option<Duration>, put: P) -> Call<'_, P>
    where
        P: FnMut(u32, &mut BytesMut) -> Result<(), EncodeError>,
    {
        let shared = &self.inner.shared;
        let deadline = match timeout == self.inner.config.timeout {
            true => shared.deadline_in(self.inner.timeout),
            false => shared.deadline(timeout),
        };
        Call {
            shared,
            put: Some(put),
            deadline,
            state: CallState::Submit,
        }
    }

    /// A health check: sends [`Kind::PING`] and waits for the [`Kind::PONG`] with the same
    /// id and payload; returns the round-trip time.
    pub async fn ping(&self) -> Result<Duration, AsyncClientError> {
        let started = Instant::now();
        let token = Bytes::from(format!("{:?}", started).into_bytes());
        let reply = self
            .request(BytesFrame::new(Kind::PING, 0, token.clone()))
            .await?;
        if reply.head.kind != Kind::PONG || reply.payload != token {
            return Err(AsyncClientError::Unexpected(format!(
                "kind {} with {} bytes in answer to a ping",
                reply.head.kind.0,
                reply.payload.len()
            )));
        }
        Ok(started.elapsed())
    }

    /// Sends a message whose body is read from `body`, as fragments of `head`'s kind, name
    /// and metadata (every fragment but the last has flag MORE; wire-format section 5), and
    /// waits for the reply. `progress` is called with the body bytes sent so far.
    pub async fn request_from_reader(
        &self,
        head: FrameHead,
        mut body: impl AsyncRead + Unpin,
        mut progress: impl FnMut(u64),
    ) -> Result<BytesFrame, AsyncClientError> {
        // The clock starts once the body is sent.
        let shared = &self.inner.shared;
        let ticket = shared
            .submit(|w, waker| w.whole(waker, None), |_, _| Ok(()))
            .await?;
        let mut head = head;
        head.id = ticket.id;
        let mut piece = vec![0u8; self.inner.config.fragment.max(1)];
        let mut sent = 0u64;
        loop {
            let n = fill(&mut body, &mut piece)
                .await
                .map_err(|e| AsyncClientError::Body(Arc::new(e)))?;
            let last = n < piece.len();
            if last {
                head.flags.0 &= !Flags::MORE.0;
            } else {
                head.flags.0 |= Flags::MORE.0;
            }
            let data = &piece[..n];
            shared
                .send(|buf| {
                    head.put(data.len() as u64, buf)?;
                    buf.extend_from_slice(data);
                    Ok(())
                })
                .await?;
            sent += n as u64;
            progress(sent);
            if last {
                break;
            }
        }
        let timeout = self.inner.config.timeout;
        shared.arm(ticket.id, timeout);
        let mut ticket = ticket;
        ticket.after = timeout.unwrap_or_default();
        ticket.reply().await
    }

    /// Sends `frame` and writes the reply's payload into `sink` as it arrives, in constant
    /// memory whatever its size (a streamed frame, or fragments). Returns the reply's head
    /// and the number of payload bytes written. The timeout applies to each piece. The connection is
    /// one byte stream: while `sink` is slow, replies to other requests wait behind this one.
    pub async fn request_into(
        &self,
        mut frame: BytesFrame,
        mut sink: impl AsyncWrite + Unpin,
    ) -> Result<(FrameHead, u64), AsyncClientError> {
        let (tx, mut rx) = mpsc::channel::<shared::Delivery<Piece>>(8);
        let ticket = self
            .inner
            .shared
            .submit(
                |w, _| w.stream(tx.clone()),
                |id, buf| {
                    frame.head.id = id;
                    frame.put(buf)
                },
            )
            .await?;
        // The slot holds the only sender: its end (last piece, error) closes the channel.
        drop(tx);
        let timeout = self.inner.config.timeout;
        let mut first: Option<FrameHead> = None;
        let mut written = 0u64;
        loop {
            let next = match timeout {
                Some(t) => tokio::time::timeout(t, rx.recv())
                    .await
                    .map_err(|_| AsyncClientError::Timeout(t))?,
                None => rx.recv().await,
            };
            let piece = match next {
                Some(piece) => piece?,
                None => return Err(self.inner.shared.closed_error()),
            };
            if first.is_none() {
                first = piece.head;
            }
            sink.write_all(&piece.data)
                .await
                .map_err(|e| AsyncClientError::Body(Arc::new(e)))?;
            written += piece.data.len() as u64;
            if piece.last {
                break;
            }
        }
        sink.flush()
            .await
            .map_err(|e| AsyncClientError::Body(Arc::new(e)))?;
        drop(ticket);
        let mut head = first.unwrap_or_else(|| FrameHead::new(Kind::DATA, frame.head.id));
        head.flags.0 &= !Flags::MORE.0;
        Ok((head, written))
    }
}

/// The future of every whole request ([`AsyncClient::request`], `request_timeout`,
/// `request_with`), written out (rather than an `async fn` over `submit` and the reply): the
/// hot path of the client. `P` appends the request's frame for its id.
struct Call<'a, P> {
    shared: &'a Shared,
    /// Appends the request, until it is in the outbox.
    put: Option<P>,
    deadline: Option<shared::Deadline>,
    state: CallState<'a>,
}

enum CallState<'a> {
    /// Register and append the request.
    Submit,
    /// Waiting for room in the outbox (the writer is far behind).
    Room(Pin<Box<dyn Future<Output = ()> + Send + 'a>>),
    /// Sent: waiting for the reply.
    Wait(shared::Ticket<'a>),
}

/// `put` is only called, never pinned.
impl<P> Unpin for Call<'_, P> {}

impl<P> Future for Call<'_, P>
where
    P: FnMut(u32, &mut BytesMut) -> Result<(), EncodeError>,
{
    type Output = Result<BytesFrame, AsyncClientError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                CallState::Wait(ticket) => return ticket.poll_reply(cx),
                CallState::Room(room) => {
                    ready!(room.as_mut().poll(cx));
                    this.state = CallState::Submit;
                }
                CallState::Submit => {
                    let Some(put) = &mut this.put else {
                        return Poll::Ready(Err(this.shared.closed_error()));
                    };
                    let deadline = this.deadline;
                    let submitted = this.shared.try_submit(
                        cx.waker(),
                        |w, waker| w.whole(waker, deadline),
                        put,
                    );
                    match submitted {
                        None => this.state = CallState::Room(Box::pin(this.shared.room())),
                        Some(Err(e)) => return Poll::Ready(Err(e)),
                        Some(Ok(mut ticket)) => {
                            this.put = None;
                            ticket.after = deadline.map_or(Duration::ZERO, |d| d.after);
                            this.state = CallState::Wait(ticket);
                            // Registered with this poll's waker: a reply wakes it, so there
                            // is nothing to look at yet.
                            return Poll::Pending;
                        }
                    }
                }
            }
        }
    }
}

/// Appends a frame of `header` carrying `payload` (`header.len` is replaced).
#[inline]
fn put_header(header: &Header<'_>, payload: &[u8], buf: &mut BytesMut) -> Result<(), EncodeError> {
    buf.reserve(crate::wire::HEAD_ROOM + payload.len());
    crate::wire::append_head(buf, header, payload.len() as u64)?;
    buf.extend_from_slice(payload);
    Ok(())
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
async fn fill(r: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).await? {
            0 => break,
            m => n += m,
        }
    }
    Ok(n)
}

/// Handles move between tasks and threads.
const _: () = {
    const fn shareable<T: Send + Sync + Clone>() {}
    shareable::<AsyncClient>();
};
