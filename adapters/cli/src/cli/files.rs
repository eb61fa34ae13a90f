//! `sockframe put` and `sockframe get`.

use super::Failure;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Arguments of `sockframe put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// Server address, host:port, or a serial link serial:PATH[,BAUD] (baud default 115200).
    addr: String,
    #[command(flatten)]
    tls: super::tls::ClientTlsArgs,
    /// The local files to upload (one connection, one after the other).
    #[arg(required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// Name on the server [default: the file's own name]; only with a single file.
    #[arg(long = "as", value_name = "NAME")]
    remote: Option<String>,
}

/// Arguments of `sockframe get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Server address, host:port, or a serial link serial:PATH[,BAUD] (baud default 115200).
    addr: String,
    #[command(flatten)]
    tls: super::tls::ClientTlsArgs,
    /// The names of the files on the server.
    #[arg(required = true, num_args = 1..)]
    files: Vec<String>,
    /// Where to write it [default: its last path component, in the current directory];
    /// only with a single file.
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

/// Uploads files.
pub fn put(a: PutArgs) -> Result<i32, Failure> {
    if a.remote.is_some() && a.files.len() > 1 {
        return Err(Failure::usage("--as names one file; give one file with it"));
    }
    let mut jobs = Vec::new();
    for file in &a.files {
        if !file.is_file() {
            return Err(Failure::usage(format!(
                "{} is not a readable file",
                file.display()
            )));
        }
        let remote = match &a.remote {
            Some(name) => name.clone(),
            None => file_name(file)?,
        };
        jobs.push((file, remote));
    }
    let mut client = super::tls::connect(&a.addr, &a.tls)?;
    for (file, remote) in jobs {
        let bar = progress_bar();
        let size = client.put_file(file, &remote, &mut |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(done);
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        eprintln!("stored {remote} ({} bytes)", size?);
    }
    Ok(0)
}

/// Downloads files.
pub fn get(a: GetArgs) -> Result<i32, Failure> {
    if a.output.is_some() && a.files.len() > 1 {
        return Err(Failure::usage("-o names one file; give one file with it"));
    }
    let mut jobs = Vec::new();
    for file in &a.files {
        let local = match &a.output {
            Some(p) => p.clone(),
            None => PathBuf::from(file_name(Path::new(file))?),
        };
        jobs.push((file, local));
    }
    let mut client = super::tls::connect(&a.addr, &a.tls)?;
    let interrupted = cut_on_ctrl_c(&client)?;
    for (file, local) in jobs {
        let bar = progress_bar();
        let size = client.get_file(file, &local, &mut |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(done);
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if interrupted.load(Ordering::SeqCst) {
            // get_file has returned, so its temporary file is gone.
            eprintln!(
                "sockframe: interrupted; the partial {} was removed",
                local.display()
            );
            return Ok(INTERRUPTED);
        }
        eprintln!("wrote {} ({} bytes)", local.display(), size?);
    }
    Ok(0)
}

/// The exit status of a command stopped by Ctrl-C (128 + SIGINT), as a shell reports it.
const INTERRUPTED: i32 = 130;

/// Makes Ctrl-C end `client`'s connection instead of the process, so that the download in
/// progress fails like any broken transfer and removes its temporary file (a process killed
/// by the signal would leave its `*.sockframe-part` behind). The returned flag says that it
/// happened.
fn cut_on_ctrl_c(client: &sockframe_std::Client) -> Result<Arc<AtomicBool>, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let hit = Arc::new(AtomicBool::new(false));
    let stream = client
        .stream()
        .try_clone()
        .map_err(|e| Failure::connect(format!("cannot watch for Ctrl-C: {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| Failure::connect(format!("cannot watch for Ctrl-C: {e}")))?;
    // Registered here, before any byte of the download is written, not in the thread.
    let mut interrupt = rt
        .block_on(async { signal(SignalKind::interrupt()) })
        .map_err(|e| Failure::connect(format!("cannot watch for Ctrl-C: {e}")))?;
    let flag = hit.clone();
    std::thread::spawn(move || {
        if rt.block_on(interrupt.recv()).is_some() {
            flag.store(true, Ordering::SeqCst);
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    Ok(hit)
}

fn file_name(path: &Path) -> Result<String, Failure> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Failure::usage(format!("{} has no file name", path.display())))
}
