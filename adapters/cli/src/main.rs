//! `sockframe`: serve, send, chat, exec, put, get and bench over the sockframe protocol.
//!
//! Exit codes: 0 success; 1 the remote side answered with an error or broke the protocol;
//! 2 usage error; 3 could not connect or the connection failed. `sockframe exec` exits
//! with the remote command's status. Logs go to stderr: `-v` (info), `-vv` (debug),
//! `-vvv` (trace), or `RUST_LOG` for full control.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod cli;
mod load_generator;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose);
    let code = match cli::run(args.command) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("sockframe: {}", failure.message);
            failure.code
        }
    };
    std::process::exit(code);
}
