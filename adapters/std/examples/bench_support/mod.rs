//! What the tokio benchmark echo servers share, so they differ only in their codec: a
//! current-thread runtime (one thread, like `sockframe serve`), the "listening on ADDR"
//! line `cargo xtask` reads, and one task per connection; and the two echo loops
//! ([`echo`]). Each example uses a part of it.
#![allow(dead_code)]

pub mod echo;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Listens on `bind` and runs `echo` on every accepted connection, forever.
pub fn serve<F, Fut, E>(name: &str, bind: SocketAddr, echo: F) -> io::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(bind).await?;
        eprintln!("{name}: listening on {}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let conn = echo(stream);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
}
