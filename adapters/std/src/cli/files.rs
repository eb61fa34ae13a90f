//! `sockframe put` and `sockframe get`.

use super::Failure;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Arguments of `sockframe put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// Server address, host:port.
    addr: String,
    /// The local file to upload.
    file: PathBuf,
    /// Name on the server [default: the file's own name].
    #[arg(long = "as", value_name = "NAME")]
    remote: Option<String>,
}

/// Arguments of `sockframe get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Server address, host:port.
    addr: String,
    /// The name of the file on the server.
    file: String,
    /// Where to write it [default: its last path component, in the current directory].
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
fn progress_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

/// Uploads a file.
pub fn put(a: PutArgs) -> Result<i32, Failure> {
    if !a.file.is_file() {
        return Err(Failure::usage(format!(
            "{} is not a readable file",
            a.file.display()
        )));
    }
    let remote = match a.remote {
        Some(name) => name,
        None => file_name(&a.file)?,
    };
    let mut client = super::connect(&a.addr)?;
    let bar = progress_bar();
    let size = client.put_file(&a.file, &remote, &mut |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    eprintln!("stored {remote} ({} bytes)", size?);
    Ok(0)
}

/// Downloads a file.
pub fn get(a: GetArgs) -> Result<i32, Failure> {
    let local = match a.output {
        Some(p) => p,
        None => PathBuf::from(file_name(Path::new(&a.file))?),
    };
    let mut client = super::connect(&a.addr)?;
    let bar = progress_bar();
    let size = client.get_file(&a.file, &local, &mut |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    eprintln!("wrote {} ({} bytes)", local.display(), size?);
    Ok(0)
}

fn file_name(path: &Path) -> Result<String, Failure> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Failure::usage(format!("{} has no file name", path.display())))
}
