//! files: upload and download inside one served directory.
//!
//! An upload ([`kinds::PUT`]) names the file, announces its size (`len`) and CRC-32C
//! (`crc`), and streams the content as the frame's payload. It is written to a hidden
//! temporary file beside its destination and renamed into place only when the whole
//! payload has arrived and the core decoder has checked its size and checksum; on any
//! failure, a dropped connection included, the temporary file is removed. A download
//! ([`kinds::GET`]) is answered with a [`kinds::FILE`] frame built the same way. Payloads
//! stream through the connection's small buffer, so files larger than RAM are fine.
//!
//! Names are checked by path first (`safe_path::resolve`, which gives the refusals their
//! reasons), then every file is opened or created through a handle on the served
//! directory that cannot be left (`safe_path::open_root`, cap-std): a directory swapped
//! for a symlink to elsewhere between the check and the open makes the open fail, it
//! does not lead outside.
//!
//! File I/O is plain `std::fs` on the connection's task: reads and writes of at most
//! 64 KiB that the page cache absorbs; only the checksum pass over a whole file, which can
//! take seconds, runs on tokio's blocking pool.

use crate::conn::{Close, Connection};
use crate::kinds;
use crate::server::ServerConfig;
use crate::service::Service;
use crate::services::safe_path::{PathError, open_root, relative, resolve};
use crate::tempfile::TempFile;
use crate::transport::Transport;
use sockframe::{Event, Header, Kind};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The files service: uploads and downloads inside the directory [`FilesConfig`] names
/// (cargo feature `files`).
#[derive(Debug, Clone)]
pub struct Files(pub FilesConfig);

/// Where the files service reads and writes.
///
/// The server's [`Limits`](sockframe::Limits) still apply: give the server a
/// `max_payload` as large as the largest file it should take (payloads stream, so this
/// bounds disk use, not memory), and a `max_header` that fits the names (up to 1024 bytes).
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// The served directory; nothing outside it is read or written.
    pub root: PathBuf,
}

impl FilesConfig {
    /// Serves `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FilesConfig { root: root.into() }
    }

    /// Makes the root canonical, so containment checks compare real paths.
    pub(crate) fn prepare(self) -> io::Result<Self> {
        let root = self.root.canonicalize().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("served directory {}: {e}", self.root.display()),
            )
        })?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(FilesConfig { root })
    }
}

/// An upload in progress.
struct Upload {
    id: u32,
    tmp: TempFile,
    dest: PathBuf,
    expected: u64,
    written: u64,
}

impl Upload {
    fn begin(cfg: &FilesConfig, h: &Header<'_>) -> Result<Upload, (&'static str, String)> {
        let name = h
            .name
            .ok_or(("bad-request", "upload without a name".to_owned()))?;
        if h.crc.is_none() {
            return Err(("bad-request", "upload without a checksum".to_owned()));
        }
        let dest = resolve(&cfg.root, name, false).map_err(path_error)?;
        if dest.is_dir() {
            return Err(("bad-path", format!("{name} is a directory")));
        }
        let rel = relative(&cfg.root, &dest).map_err(path_error)?;
        let tmp = create_upload(&cfg.root, rel).map_err(|e| ("io", e.to_string()))?;
        Ok(Upload {
            id: h.id,
            tmp,
            dest,
            expected: h.len,
            written: 0,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tmp.file().write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Renames the file into place. The decoder has already checked the payload's CRC-32C
    /// against the header before handing out the end of the frame; the size is checked
    /// here against what was written.
    fn finish(self) -> Result<(u32, u64), (&'static str, String)> {
        if self.written != self.expected {
            return Err((
                "io",
                format!("wrote {} of {} bytes", self.written, self.expected),
            ));
        }
        let (id, size) = (self.id, self.written);
        self.tmp
            .persist(&self.dest)
            .map_err(|e| ("io", e.to_string()))?;
        Ok((id, size))
    }
}

/// The temporary file of an upload to `rel` (relative to `root`), created through the
/// root's handle: it cannot land outside, whatever the path's components have become since
/// they were checked; it is renamed into place in the same open directory.
fn create_upload(root: &Path, rel: &Path) -> io::Result<TempFile> {
    TempFile::beside_in(&open_root(root)?, rel)
}

/// Opens `rel` (relative to `root`) for a download through the root's handle, so that it
/// cannot be a file outside, and checks that it is a regular file. The check before the
/// open keeps a FIFO from blocking the open; the one after, on the open file, is the one
/// that holds.
fn open_download(root: &Path, rel: &Path) -> io::Result<File> {
    let dir = open_root(root)?;
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
    if !dir.metadata(rel)?.is_file() {
        return Err(not_regular());
    }
    let file = dir.open(rel)?.into_std();
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

fn path_error(e: PathError) -> (&'static str, String) {
    let code = match e {
        PathError::NoDir(_) => "not-found",
        _ => "bad-path",
    };
    (code, e.to_string())
}

/// Where the connection is between events.
enum State {
    Idle,
    Receiving(Upload),
    /// Skipping the payload of a refused streamed frame, to stay in step with the peer.
    Discarding,
}

/// What to do after an event, once the decoder's borrow is over.
enum Action {
    Nothing,
    /// A complete upload, to be flushed to disk and renamed into place.
    Complete(Upload),
    Refuse {
        id: u32,
        code: &'static str,
        message: String,
    },
    Send {
        id: u32,
        name: String,
    },
    Pong {
        id: u32,
        payload: Vec<u8>,
        /// A limits request (spec 7.2): the PONG carries the server's limits.
        limits: bool,
    },
}

fn on_event(cfg: &FilesConfig, state: &mut State, ev: Event<'_>) -> Action {
    let refuse = |id, (code, message): (&'static str, String)| Action::Refuse { id, code, message };
    match ev {
        Event::Frame(f) => match f.header.kind {
            kinds::PUT => {
                let written = Upload::begin(cfg, &f.header).and_then(|mut up| {
                    up.write(f.payload).map_err(|e| ("io", e.to_string()))?;
                    Ok(up)
                });
                match written {
                    Ok(up) => Action::Complete(up),
                    Err(e) => refuse(f.header.id, e),
                }
            }
            kinds::GET => match f.header.name {
                Some(name) => Action::Send {
                    id: f.header.id,
                    name: name.to_owned(),
                },
                None => refuse(
                    f.header.id,
                    ("bad-request", "download without a name".into()),
                ),
            },
            Kind::PING => Action::Pong {
                id: f.header.id,
                payload: f.payload.to_vec(),
                limits: f.header.asks_limits(),
            },
            other => refuse(f.header.id, unsupported(other)),
        },
        Event::Start(h) => {
            let begun = match h.kind {
                kinds::PUT => Upload::begin(cfg, &h),
                other => Err(unsupported(other)),
            };
            match begun {
                Ok(up) => {
                    *state = State::Receiving(up);
                    Action::Nothing
                }
                Err(e) => {
                    *state = State::Discarding;
                    refuse(h.id, e)
                }
            }
        }
        Event::Chunk(bytes) => {
            if let State::Receiving(up) = state
                && let Err(e) = up.write(bytes)
            {
                let id = up.id;
                *state = State::Discarding; // drops the upload: its temp file goes
                return refuse(id, ("io", e.to_string()));
            }
            Action::Nothing
        }
        Event::End => match std::mem::replace(state, State::Idle) {
            State::Receiving(up) => Action::Complete(up),
            _ => Action::Nothing,
        },
        // The client aborted its upload: dropping it removes the temporary file, and the
        // answer says nothing was stored.
        Event::Abort(a) => match std::mem::replace(state, State::Idle) {
            State::Receiving(up) => refuse(
                up.id,
                (
                    "aborted",
                    format!(
                        "upload aborted by the client ({}), nothing stored",
                        a.header.meta("code").unwrap_or("no code")
                    ),
                ),
            ),
            _ => Action::Nothing,
        },
    }
}

fn unsupported(kind: Kind) -> (&'static str, String) {
    (
        "unsupported",
        format!("the files service does not handle kind {}", kind.0),
    )
}

impl Service for Files {
    fn name(&self) -> &str {
        "files"
    }

    fn prepare(&mut self, server: &ServerConfig) -> io::Result<()> {
        server.require_tls_off_loopback("files")?;
        self.0 = self.0.clone().prepare()?;
        Ok(())
    }

    /// Serves one connection. An upload cut short is dropped on return, and its temporary
    /// file with it.
    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        let cfg = &self.0;
        let mut state = State::Idle;
        while let Some(incoming) = conn.next_event().await? {
            match on_event(cfg, &mut state, incoming.event) {
                Action::Nothing => {}
                Action::Complete(up) => store(conn, up).await,
                Action::Refuse { id, code, message } => {
                    tracing::info!(peer = %conn.peer(), code, "refused: {message}");
                    conn.replies().error(id, code, &message);
                }
                Action::Pong {
                    id,
                    payload,
                    limits: false,
                } => {
                    let _ = conn
                        .replies()
                        .frame(&Header::new(Kind::PONG, id, 0), &payload);
                }
                Action::Pong { id, payload, .. } => {
                    let ping = Header::new(Kind::PING, id, payload.len() as u64);
                    let mut head = [0u8; 256];
                    // A limits PONG's head is about 110 bytes: it fits.
                    if let Ok(n) =
                        sockframe::encode_limits_pong(&ping, conn.accepted_limits(), &mut head)
                    {
                        let mut replies = conn.replies();
                        replies.body(&head[..n]);
                        replies.body(&payload);
                    }
                }
                Action::Send { id, name } => send_file(cfg, conn, id, &name).await?,
            }
            conn.flush().await?;
        }
        Ok(())
    }
}

/// Finishes a complete upload (flushed to disk, renamed into place) and queues the answer.
async fn store<S: Transport>(conn: &mut Connection<S>, up: Upload) {
    let id = up.id;
    // fsync can take long on a busy disk: not on the thread serving everyone.
    let stored = tokio::task::spawn_blocking(move || up.finish())
        .await
        .unwrap_or_else(|e| Err(("io", e.to_string())));
    match stored {
        Ok((id, size)) => {
            tracing::info!(peer = %conn.peer(), size, "upload stored");
            let size = size.to_string();
            let pairs = [("size", size.as_str())];
            let h = Header::new(kinds::PUT_OK, id, 0).with_meta(&pairs);
            let _ = conn.replies().frame(&h, &[]);
        }
        Err((code, message)) => {
            tracing::info!(peer = %conn.peer(), code, "upload failed: {message}");
            conn.replies().error(id, code, &message);
        }
    }
}

/// Answers a download: checksum pass, then the head, then the content in 64 KiB pieces.
async fn send_file<S: Transport>(
    cfg: &FilesConfig,
    conn: &mut Connection<S>,
    id: u32,
    name: &str,
) -> io::Result<()> {
    let refuse = |conn: &mut Connection<S>, (code, message): (&'static str, String)| {
        tracing::info!(peer = %conn.peer(), code, "refused: {message}");
        conn.replies().error(id, code, &message);
    };
    let rel = match resolve(&cfg.root, name, true)
        .and_then(|path| relative(&cfg.root, &path).map(Path::to_path_buf))
    {
        Ok(rel) => rel,
        Err(e) => {
            refuse(conn, path_error(e));
            return conn.flush().await;
        }
    };
    let root = cfg.root.clone();
    // The checksum pass and the sending read the same open file.
    let summed = tokio::task::spawn_blocking(move || {
        let mut file = open_download(&root, &rel)?;
        let sum = crate::client::checksum_reader(&mut file)?;
        file.rewind()?;
        Ok::<_, io::Error>((file, sum))
    })
    .await
    .map_err(io::Error::other)?;
    let (mut file, (size, crc)) = match summed {
        Ok(s) => s,
        Err(e) => {
            let code = if e.kind() == io::ErrorKind::NotFound {
                "not-found"
            } else {
                "io"
            };
            refuse(conn, (code, format!("{name}: {e}")));
            return conn.flush().await;
        }
    };
    let mut h = Header::new(kinds::FILE, id, size).with_name(name);
    h.crc = Some(crc);
    let _ = conn.replies().head(&h, size);
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            // The file shrank after its head went out: the frame cannot be completed, so
            // the connection must end (the peer sees a truncated frame, not a wrong one).
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while sent",
            ));
        }
        conn.write_body(&buf[..n]).await?;
        left -= n as u64;
    }
    // An empty file's head has not been written by the loop.
    conn.flush().await?;
    tracing::info!(peer = %conn.peer(), size, "download sent");
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The open-time guarantee, tested on its own. The race it closes (a directory swapped
    //! for a symlink to elsewhere between `resolve`'s check and the open) cannot be timed
    //! deterministically, so these tests skip the check: they give the opening functions
    //! names whose components already are symlinks out, exactly what a swap would leave
    //! behind, and require a refusal with nothing written or read outside.

    use super::{create_upload, open_download};
    use std::io::{Read, Write};
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};

    /// A served directory and an outside one, removed on drop.
    struct Dirs {
        base: PathBuf,
    }

    impl Dirs {
        fn new(tag: &str) -> Dirs {
            let base = std::env::temp_dir()
                .join(format!("sockframe-files-unit-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&base);
            std::fs::create_dir_all(base.join("root/real")).unwrap();
            std::fs::create_dir_all(base.join("outside")).unwrap();
            std::fs::write(base.join("outside/secret"), b"outside").unwrap();
            Dirs {
                base: base.canonicalize().unwrap(),
            }
        }

        fn root(&self) -> PathBuf {
            self.base.join("root")
        }

        fn outside(&self) -> PathBuf {
            self.base.join("outside")
        }

        fn outside_entries(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(self.outside())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for Dirs {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }

    #[test]
    fn opening_through_a_symlinked_directory_cannot_leave_the_root() {
        let d = Dirs::new("escape");
        let root = d.root();
        // What a swap would leave: directories inside the root that lead outside, by an
        // absolute and by a relative symlink.
        symlink(d.outside(), root.join("swapped")).unwrap();
        symlink("../outside", root.join("relative")).unwrap();
        for dir in ["swapped", "relative", "real/../../outside"] {
            let name = format!("{dir}/new");
            assert!(
                create_upload(&root, Path::new(&name)).is_err(),
                "upload through {name} created"
            );
            let secret = format!("{dir}/secret");
            assert!(
                open_download(&root, Path::new(&secret)).is_err(),
                "download through {secret} opened"
            );
        }
        assert_eq!(d.outside_entries(), ["secret"], "written outside");
        assert_eq!(
            std::fs::read(d.outside().join("secret")).unwrap(),
            b"outside"
        );
    }

    #[test]
    fn an_upload_replaces_a_symlink_it_lands_on_never_its_target() {
        let d = Dirs::new("replace");
        let root = d.root();
        symlink(d.outside().join("secret"), root.join("real/link")).unwrap();
        let dest = Path::new("real/link");
        let mut tmp = create_upload(&root, dest).unwrap();
        tmp.file().write_all(b"uploaded").unwrap();
        tmp.persist(dest).unwrap();
        assert!(
            !root
                .join("real/link")
                .symlink_metadata()
                .unwrap()
                .is_symlink()
        );
        assert_eq!(std::fs::read(root.join("real/link")).unwrap(), b"uploaded");
        assert_eq!(
            std::fs::read(d.outside().join("secret")).unwrap(),
            b"outside"
        );
        assert_eq!(d.outside_entries(), ["secret"], "written outside");
    }

    #[test]
    fn files_inside_the_root_open_and_a_dropped_upload_leaves_nothing() {
        let d = Dirs::new("inside");
        let root = d.root();
        // A symlink that stays inside is followed, as downloads allow.
        symlink("real", root.join("alias")).unwrap();
        let dest = Path::new("alias/file");
        let mut tmp = create_upload(&root, dest).unwrap();
        tmp.file().write_all(b"content").unwrap();
        tmp.persist(dest).unwrap();
        let mut got = Vec::new();
        open_download(&root, Path::new("real/file"))
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, b"content");
        assert!(
            open_download(&root, Path::new("real")).is_err(),
            "a directory"
        );
        drop(create_upload(&root, Path::new("real/partial")).unwrap());
        let left: Vec<_> = std::fs::read_dir(root.join("real"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["file"], "a dropped upload left its temporary file");
    }
}
