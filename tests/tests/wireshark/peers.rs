//! Ports and peers Wireshark's port-based dissectors leave to the heuristic, and a client
//! that sends bytes in exactly the TCP segments it is told.

use sockframe::{Header, PREFIX_LEN};
use sockframe_tests::desktop::Desktop;
use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd as _;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The desktop echo server (`sockframe serve --service echo ARGS`) on a port no Wireshark
/// dissector claims.
pub fn desktop_on_unclaimed_port(claimed: &HashSet<u16>, args: &[&str]) -> Result<Desktop, String> {
    let args = [&["--service", "echo"][..], args].concat();
    loop {
        let desktop = Desktop::start(&args)?;
        if !claimed.contains(&desktop.addr().port()) {
            return Ok(desktop);
        }
    }
}

/// A port on 127.0.0.1 that is free and that no Wireshark dissector claims.
pub fn free_unclaimed_port(claimed: &HashSet<u16>) -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local addr").port();
        if !claimed.contains(&port) {
            return port;
        }
    }
}

/// One client connection, whose local port no Wireshark dissector claims either (TCP tries
/// port-based dissectors on both ports before the heuristics).
pub struct Client {
    stream: TcpStream,
}

impl Client {
    /// Connects to `addr`, retrying for a moment (the board resets connections while its
    /// previous socket closes), from a port Wireshark has no dissector for.
    pub fn connect(addr: SocketAddr, claimed: &HashSet<u16>) -> Result<Client, String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpStream::connect_timeout(&addr, TIMEOUT) {
                Ok(s) if !claimed.contains(&s.local_addr().map_err(|e| e.to_string())?.port()) => {
                    s.set_nodelay(true).map_err(|e| e.to_string())?;
                    s.set_read_timeout(Some(TIMEOUT))
                        .map_err(|e| e.to_string())?;
                    s.set_write_timeout(Some(TIMEOUT))
                        .map_err(|e| e.to_string())?;
                    return Ok(Client { stream: s });
                }
                Ok(_) => continue,
                Err(e) if Instant::now() > deadline => return Err(format!("connect {addr}: {e}")),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The client's port (what identifies this connection in the capture).
    pub fn port(&self) -> u16 {
        self.stream.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Sends `bytes` cut at `cuts` (offsets), each piece its own TCP segment: a piece is
    /// written only once the peer has acknowledged everything before it, so the kernel
    /// cannot merge two pieces.
    pub fn send_cut(&mut self, bytes: &[u8], cuts: &[usize]) -> Result<(), String> {
        let mut from = 0;
        for &to in cuts.iter().chain([&bytes.len()]) {
            let to = to.min(bytes.len());
            if to <= from {
                continue;
            }
            self.stream
                .write_all(&bytes[from..to])
                .map_err(|e| format!("write: {e}"))?;
            self.wait_acked()?;
            from = to;
        }
        Ok(())
    }

    /// Waits until the kernel's send queue is empty (every byte sent and acknowledged).
    fn wait_acked(&self) -> Result<(), String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let mut queued: libc::c_int = 0;
            // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int: the bytes not yet acknowledged.
            let rc = unsafe { libc::ioctl(self.stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
            if rc != 0 {
                return Err(format!(
                    "ioctl TIOCOUTQ: {}",
                    std::io::Error::last_os_error()
                ));
            }
            if queued == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{queued} bytes still unacknowledged after {TIMEOUT:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Reads one whole frame (prefix, header, payload) and returns its bytes.
    pub fn read_frame(&mut self) -> Result<Vec<u8>, String> {
        let mut frame = vec![0; PREFIX_LEN];
        self.stream
            .read_exact(&mut frame)
            .map_err(|e| format!("read a prefix: {e}"))?;
        let header_len = usize::from(u16::from_le_bytes([frame[3], frame[4]]));
        let mut header = vec![0; header_len];
        self.stream
            .read_exact(&mut header)
            .map_err(|e| format!("read a header: {e}"))?;
        let len = Header::peek_len(&header).map_err(|e| e.to_string())?;
        let mut payload = vec![0; len as usize];
        self.stream
            .read_exact(&mut payload)
            .map_err(|e| format!("read a payload: {e}"))?;
        Ok([frame, header, payload].concat())
    }

    /// Closes the sending side and reads everything the peer sends until it closes.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        let _ = self.stream.shutdown(Shutdown::Write);
        let mut got = Vec::new();
        match self.stream.read_to_end(&mut got) {
            Ok(_) => Ok(got),
            // A peer that closes after an error frame may reset: what came before counts.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(got),
            Err(e) => Err(format!("read: {e} (after {} bytes)", got.len())),
        }
    }
}
