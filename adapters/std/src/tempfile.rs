//! A temporary file beside its destination, renamed into place only when complete.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A hidden file next to `dest`, removed on drop unless [`TempFile::persist`] renamed it.
/// Being in the same directory makes the rename atomic: readers see the old file or the
/// whole new one, never a part.
pub(crate) struct TempFile {
    path: PathBuf,
    file: File,
    kept: bool,
}

impl TempFile {
    /// A new, empty temporary file beside `dest`.
    pub fn beside(dest: &Path) -> io::Result<TempFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        // The temporary name adds up to about 45 bytes to the destination's: keep it within
        // the usual 255-byte limit of a name even when the destination's is at that limit.
        let stem = truncate_at_char(&name, STEM_MAX);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{stem}.{}.{n}.sockframe-part", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file,
                        kept: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The open file, for writing the content.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Flushes to disk and renames over `dest`.
    pub fn persist(mut self, dest: &Path) -> io::Result<()> {
        self.file.sync_all()?;
        std::fs::rename(&self.path, dest)?;
        self.kept = true;
        Ok(())
    }
}

/// The most of the destination's name a temporary name repeats, in bytes.
const STEM_MAX: usize = 160;

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_at_char(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
