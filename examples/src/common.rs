//! What every lesson shares: a log of what went each way, sockets with timeouts, printing.

use std::fmt::Display;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use embedded_io_adapters::std::FromStd;

/// Any error a lesson can meet (I/O, decoding, a broken expectation).
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long any socket operation may block: no lesson can hang.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The lines a lesson prints, kept so a test can read them back.
pub struct Log {
    echo: bool,
    lines: Mutex<Vec<String>>,
}

impl Log {
    /// A log that prints every line as it is said (for the examples).
    pub fn printing() -> Log {
        Log {
            echo: true,
            lines: Mutex::new(Vec::new()),
        }
    }

    /// A log that only keeps its lines (for the tests).
    pub fn quiet() -> Log {
        Log {
            echo: false,
            lines: Mutex::new(Vec::new()),
        }
    }

    /// Records (and maybe prints) `what`, said by `who` (`"server"`, `"client"`...).
    pub fn say(&self, who: &str, what: impl Display) {
        let line = format!("[{who:>6}] {what}");
        if self.echo {
            println!("{line}");
        }
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
    }

    /// Every line said so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A listener on 127.0.0.1 with a port the OS picks, and its address.
pub fn listen() -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Accepts one connection, giving up after [`TIMEOUT`]; the stream has read/write timeouts.
pub fn accept(listener: &TcpListener) -> Result<(TcpStream, SocketAddr)> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + TIMEOUT;
    let accepted = loop {
        match listener.accept() {
            Ok(pair) => break pair,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err("no client connected in time".into());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e.into()),
        }
    };
    listener.set_nonblocking(false)?;
    let (stream, peer) = accepted;
    stream.set_nonblocking(false)?;
    with_timeouts(&stream)?;
    Ok((stream, peer))
}

/// Connects to `addr`; the stream has read/write timeouts.
pub fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    with_timeouts(&stream)?;
    Ok(stream)
}

fn with_timeouts(stream: &TcpStream) -> Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    Ok(())
}

/// A `TcpStream` seen through the embedded-io traits that `sockframe::io` speaks.
/// `&TcpStream` reads and writes, so one stream serves both directions.
pub fn wire(stream: &TcpStream) -> FromStd<&TcpStream> {
    FromStd::new(stream)
}

/// Bytes as printable text: `"hello\n"` style, non-ASCII escaped, long ones cut.
pub fn show(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let shown: String = bytes[..bytes.len().min(MAX)].escape_ascii().to_string();
    if bytes.len() > MAX {
        format!("\"{shown}\"... ({} bytes)", bytes.len())
    } else {
        format!("\"{shown}\"")
    }
}

/// The payload as (lossy) UTF-8 text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Joins a server thread, turning its panic into an error.
pub fn join<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle.join().map_err(|_| "the server thread panicked")?
}
