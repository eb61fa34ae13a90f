//! File transfer with a files server (cargo feature `files`): uploads and downloads that
//! stream through one piece of memory, whatever the file's size.

use super::duplex::Body;
use super::{Client, ClientError};
use crate::kinds;
use crate::owned::OwnedFrame;
use crate::tempfile::TempFile;
use sockframe::checksum::Crc32c;
use sockframe::{Event, Header, Kind};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// Pieces in which the client streams files.
const FILE_PIECE: usize = 64 * 1024;

impl Client {
    /// Uploads the file at `local` as `remote` (a path inside the server's directory).
    /// `progress(sent, total)` is called as pieces go out (from the thread writing them).
    /// Returns the size stored. If the server refuses the upload (over its size limit, a
    /// bad name), the error is its error frame.
    pub fn put_file(
        &mut self,
        local: &Path,
        remote: &str,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64, ClientError> {
        // The head carries size and checksum, so the file is read twice: once to sum it,
        // once to send it. Neither pass holds more than one piece in memory.
        let (size, crc) = checksum_file(local)?;
        // With a server that supports trailers, a file that cannot be read to its end
        // (it shrank, a disk error) aborts the upload instead of leaving the frame cut.
        let trailer = self.peer_supports_trailers()?;
        let id = self.next_id();
        let mut header = Header::new(kinds::PUT, id, size).with_name(remote);
        header.crc = Some(crc);
        if trailer {
            header = header.with_trailer();
        }
        let mut file = File::open(local)?;
        let body = Body::Reader {
            reader: &mut file,
            len: size,
            progress,
            trailer: trailer.then_some(id),
        };
        let reply = self.exchange(&header, body, |c| c.reply_to(id))?;
        if reply.kind != kinds::PUT_OK {
            return Err(not_files(reply.kind, "an upload"));
        }
        Ok(size)
    }

    /// Downloads `remote` into the file `local`, through a temporary file renamed into place
    /// once size and checksum have matched. `progress(received, total)` is called per
    /// piece. Returns the size.
    pub fn get_file(
        &mut self,
        remote: &str,
        local: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, ClientError> {
        let id = self.next_id();
        self.send(&Header::new(kinds::GET, id, 0).with_name(remote), &[])?;
        let mut tmp = TempFile::beside(local)?;
        let mut total = 0u64;
        let mut received = 0u64;
        loop {
            match self.recv()?.ok_or(ClientError::Closed)? {
                Event::Frame(f) if f.header.kind == kinds::FILE => {
                    tmp.file().write_all(f.payload)?;
                    progress(f.header.len, f.header.len);
                    received = f.header.len;
                    break;
                }
                Event::Frame(f) if f.header.kind == Kind::ERROR => {
                    return Err(ClientError::from_error_frame(&OwnedFrame::new(
                        &f.header, f.payload,
                    )));
                }
                Event::Frame(f) => return Err(not_files(f.header.kind, "a download")),
                Event::Start(h) if h.kind == kinds::FILE => total = h.len,
                Event::Start(h) => return Err(not_files(h.kind, "a download")),
                Event::Chunk(bytes) => {
                    tmp.file().write_all(bytes)?;
                    received += bytes.len() as u64;
                    progress(received, total);
                }
                // The decoder checked the size and the CRC-32C before saying End.
                Event::End => break,
                // The server aborted the download: the temporary file is dropped.
                Event::Abort(a) => {
                    return Err(ClientError::from_error_frame(&OwnedFrame::new(
                        &a.header, a.payload,
                    )));
                }
            }
        }
        tmp.persist(local)?;
        Ok(received)
    }
}

/// The answer to a files request from a server that does not run the files service.
fn not_files(kind: Kind, request: &str) -> ClientError {
    let why = if kind == kinds::PUT || kind == kinds::GET {
        " (its echo: the server runs the echo service)".to_owned()
    } else {
        String::new()
    };
    ClientError::Unexpected(format!(
        "the server is not a files service: it answered {request} with a frame of kind {}{why}",
        kind.0
    ))
}

/// Size and CRC-32C of a file, read in pieces.
pub(crate) fn checksum_file(path: &Path) -> std::io::Result<(u64, u32)> {
    checksum_reader(&mut File::open(path)?)
}

/// Size and CRC-32C of everything `r` yields (an open file: the files service sums the very
/// file it then sends).
pub(crate) fn checksum_reader(r: &mut impl Read) -> std::io::Result<(u64, u32)> {
    let mut crc = Crc32c::new();
    let mut buf = vec![0u8; FILE_PIECE];
    let mut size = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((size, crc.value()));
        }
        crc.update(&buf[..n]);
        size += n as u64;
    }
}
