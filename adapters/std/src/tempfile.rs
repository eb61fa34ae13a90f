//! A temporary file beside its destination, renamed into place only when complete.

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A hidden file next to the destination, removed on drop unless [`TempFile::persist`]
/// renamed it. Being in the same directory makes the rename atomic: readers see the old
/// file or the whole new one, never a part.
///
/// The destination's directory is opened once, when the file is created, and the file is
/// created, renamed and removed in that open directory by name (`openat`, `renameat`,
/// `unlinkat`): whatever its path comes to lead to later (a component swapped for a
/// symlink), the file stays where it was started.
pub(crate) struct TempFile {
    dir: Dir,
    name: OsString,
    dest_name: OsString,
    file: File,
    kept: bool,
}

impl TempFile {
    /// A new, empty temporary file beside `dest`, a path on this machine (the client's
    /// downloads).
    pub fn beside(dest: &Path) -> io::Result<TempFile> {
        let dir = match parent(dest) {
            Some(d) => d,
            None => Path::new("."),
        };
        TempFile::create_in(Dir::open_ambient_dir(dir, ambient_authority())?, dest)
    }

    /// A new, empty temporary file beside `dest`, a path relative to `root` that may not
    /// leave it (the server's uploads). The directory is opened beneath `root` by cap-std:
    /// no `..`, absolute path or symlink along the way may lead outside (on Linux the
    /// kernel checks, `openat2` with `RESOLVE_BENEATH`, where it has it), so a component
    /// swapped for a symlink to elsewhere after the name was checked makes this fail.
    pub fn beside_in(root: &Dir, dest: &Path) -> io::Result<TempFile> {
        let dir = match parent(dest) {
            Some(d) => root.open_dir(d)?,
            None => root.try_clone()?,
        };
        TempFile::create_in(dir, dest)
    }

    /// A new file named after `dest` in `dir`, which is `dest`'s directory.
    fn create_in(dir: Dir, dest: &Path) -> io::Result<TempFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dest_name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        // The temporary name adds up to about 45 bytes to the destination's: keep it within
        // the usual 255-byte limit of a name even when the destination's is at that limit.
        let shown = dest_name.to_string_lossy();
        let stem = truncate_at_char(&shown, STEM_MAX);
        let mut options = OpenOptions::new();
        // `create_new` (O_EXCL) never follows a symlink in the last component.
        options.write(true).create_new(true);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!(".{stem}.{}.{n}.sockframe-part", std::process::id());
            match dir.open_with(&name, &options) {
                Ok(file) => {
                    return Ok(TempFile {
                        dir,
                        name: name.into(),
                        dest_name: dest_name.to_owned(),
                        file: file.into_std(),
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

    /// Flushes to disk and renames over `dest`, the path the file was made beside, in the
    /// directory opened then (a rename replaces a symlink there, it never follows it).
    pub fn persist(mut self, dest: &Path) -> io::Result<()> {
        if dest.file_name() != Some(self.dest_name.as_os_str()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not the destination the temporary file was made for",
            ));
        }
        self.file.sync_all()?;
        self.dir.rename(&self.name, &self.dir, &self.dest_name)?;
        self.kept = true;
        Ok(())
    }
}

/// `dest`'s directory, if it names one.
fn parent(dest: &Path) -> Option<&Path> {
    dest.parent().filter(|d| !d.as_os_str().is_empty())
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
            let _ = self.dir.remove_file(&self.name);
        }
    }
}
