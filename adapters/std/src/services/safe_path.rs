//! Turning a name from the network into a path that is certainly inside the served
//! directory.
//!
//! The name is checked as text first (no absolute paths, no `.`/`..`/empty components, no
//! control characters or NUL, no backslashes, bounded length), then on disk: the directory
//! it lands in must resolve, symlinks followed, to a place inside the root.
//!
//! These checks are by path, and the file is opened afterwards: a local user who can
//! write in the served directory could swap a checked directory for a symlink to
//! elsewhere in between. So the opening itself cannot leave the root either: it goes
//! through [`open_root`]'s handle with the [`relative`] name, and cap-std resolves that
//! beneath the handle (`openat2` with `RESOLVE_BENEATH` on Linux where the kernel has it,
//! else one component at a time with `O_NOFOLLOW`), refusing any `..`, absolute path or
//! symlink that leads out. The checks here stay first: they give the network peer its
//! `bad-path` reason, and the open-time refusal is the defence in depth.

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The longest name accepted, in bytes.
pub const MAX_NAME: usize = 1024;
/// The longest single path component accepted, in bytes (common file-system limit).
pub const MAX_COMPONENT: usize = 255;

/// Why a name was refused.
#[derive(Debug)]
pub enum PathError {
    /// The name itself is not acceptable.
    Bad(&'static str),
    /// It resolves outside the served directory.
    Escapes,
    /// The directory it names does not exist (or cannot be read).
    NoDir(io::Error),
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::Bad(why) => write!(f, "refused name: {why}"),
            PathError::Escapes => {
                f.write_str("refused name: resolves outside the served directory")
            }
            PathError::NoDir(e) => write!(f, "no such directory: {e}"),
        }
    }
}

/// Checks `name` as text and returns its components.
pub fn check_name(name: &str) -> Result<Vec<&str>, PathError> {
    if name.is_empty() {
        return Err(PathError::Bad("empty name"));
    }
    if name.len() > MAX_NAME {
        return Err(PathError::Bad("name too long"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(PathError::Bad("control character or NUL in name"));
    }
    if name.contains('\\') {
        return Err(PathError::Bad("backslash in name"));
    }
    if name.starts_with('/') {
        return Err(PathError::Bad("absolute path"));
    }
    let parts: Vec<&str> = name.split('/').collect();
    for part in &parts {
        match *part {
            "" => return Err(PathError::Bad("empty path component")),
            "." | ".." => return Err(PathError::Bad("`.` or `..` in path")),
            p if p.len() > MAX_COMPONENT => return Err(PathError::Bad("path component too long")),
            _ => {}
        }
    }
    Ok(parts)
}

/// The path `name` stands for inside `root` (which must be canonical). The parent
/// directory must exist and lie inside `root` after following symlinks. The final
/// component may not exist yet; if it is a symlink, `allow_symlink` decides (downloads
/// follow one that stays inside the root, uploads never replace one).
pub fn resolve(root: &Path, name: &str, allow_symlink: bool) -> Result<PathBuf, PathError> {
    let parts = check_name(name)?;
    let (file, dirs) = parts.split_last().ok_or(PathError::Bad("empty name"))?;
    let mut dir = root.to_path_buf();
    dir.extend(dirs);
    let dir = dir.canonicalize().map_err(PathError::NoDir)?;
    if !dir.starts_with(root) {
        return Err(PathError::Escapes);
    }
    let path = dir.join(file);
    if let Ok(meta) = path.symlink_metadata()
        && meta.file_type().is_symlink()
    {
        if !allow_symlink {
            return Err(PathError::Bad("target is a symlink"));
        }
        let real = path.canonicalize().map_err(|_| PathError::Escapes)?;
        if !real.starts_with(root) {
            return Err(PathError::Escapes);
        }
        return Ok(real);
    }
    Ok(path)
}

/// Opens the served directory: the handle every file of a request is opened or created
/// through, never leaving it.
pub fn open_root(root: &Path) -> io::Result<Dir> {
    Dir::open_ambient_dir(root, ambient_authority())
}

/// `path`, a result of [`resolve`] on the same `root`, relative to `root`, for opening
/// through [`open_root`]'s handle (`.` for the root itself).
pub fn relative<'a>(root: &Path, path: &'a Path) -> Result<&'a Path, PathError> {
    let rel = path.strip_prefix(root).map_err(|_| PathError::Escapes)?;
    Ok(if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refused_as_text() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            "nul\0x",
            "new\nline",
            "back\\slash",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_name(&"x".repeat(MAX_COMPONENT + 1)).is_err());
        assert!(check_name("ok.txt").is_ok());
        assert!(check_name("dir/ok.txt").is_ok());
    }
}
