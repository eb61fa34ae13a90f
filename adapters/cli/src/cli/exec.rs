//! `sockframe exec`.

use super::Failure;
use clap::Args;
use std::io::Write;

/// Arguments of `sockframe exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Server address, host:port, or a serial link serial:PATH[,BAUD] (baud default 115200).
    addr: String,
    #[command(flatten)]
    tls: super::tls::ClientTlsArgs,
    /// The server's token (if it has one). Prefer the environment variable: a command line
    /// is visible to other users.
    #[arg(long, env = "SOCKFRAME_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Run the command through `sh -c` on the server (it must allow --shell).
    #[arg(long)]
    shell: bool,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, num_args = 1..)]
    command: Vec<String>,
}

/// Runs the command remotely; its output goes to stdout / stderr as it arrives, and its
/// status becomes this process's exit code.
pub fn run(a: ExecArgs) -> Result<i32, Failure> {
    let mut client = super::tls::connect(&a.addr, &a.tls)?;
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let outcome = client.exec(
        &a.command,
        a.shell,
        a.token.as_deref(),
        &mut stdout,
        &mut stderr,
    );
    let _ = stdout.flush();
    Ok(outcome?.status())
}
