//! An application of its own on sockframe: a small key/value store. The server side is a
//! [`Service`] (the desktop server's public trait: it gets the server's limits, deadlines,
//! `busy` refusals, graceful shutdown and error frames for free); the client side is
//! [`KvClient`], a typed API on the multiplexing [`AsyncClient`].
//!
//! The protocol, in application kinds (64 and up):
//!
//! | request | header | payload | reply |
//! | --- | --- | --- | --- |
//! | [`GET`] | name = key | empty | [`VALUE`] with the value, or error `not-found` |
//! | [`PUT`] | name = key | the value | [`DONE`], metadata `replaced` = `true`/`false` |
//! | [`DELETE`] | name = key | empty | [`DONE`], or error `not-found` |
//!
//! Other errors: `bad-request` (no key, a key over [`MAX_KEY`] bytes, a value larger than
//! the server's buffer), `unsupported` (any other kind). The connection goes on after each.

use sockframe::{Event, Header, Kind};
use sockframe_std::async_client::{AsyncClient, AsyncClientError};
use sockframe_std::codec::BytesFrame;
use sockframe_std::{Close, Connection, Replies, Service, Transport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Read a key.
pub const GET: Kind = Kind(100);
/// Store a value under a key.
pub const PUT: Kind = Kind(101);
/// Remove a key.
pub const DELETE: Kind = Kind(102);
/// Reply to [`GET`]: the value.
pub const VALUE: Kind = Kind(110);
/// Reply to [`PUT`] and [`DELETE`].
pub const DONE: Kind = Kind(111);
/// Longest key accepted, in bytes.
pub const MAX_KEY: usize = 256;

/// The store, shared by every connection.
#[derive(Clone, Default)]
pub struct KvStore {
    map: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl KvStore {
    /// Keys stored right now.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Answers one whole request frame.
    fn answer(&self, header: &Header<'_>, payload: &[u8], reply: &mut Replies<'_>) {
        let id = header.id;
        let key = match header.name {
            Some(k) if !k.is_empty() && k.len() <= MAX_KEY => k,
            Some(k) if !k.is_empty() => {
                let msg = format_args!("key is {} bytes, limit {MAX_KEY}", k.len());
                return reply.error(id, "bad-request", msg);
            }
            _ => return reply.error(id, "bad-request", "no key: put it in the header's name"),
        };
        let Ok(mut map) = self.map.lock() else {
            return reply.error(id, "internal", "store unavailable");
        };
        // The encoder only fails for headers over 64 KiB; these are a few bytes.
        let _ = match header.kind {
            GET => match map.get(key) {
                Some(value) => reply.frame(&Header::new(VALUE, id, 0).with_name(key), value),
                None => return reply.error(id, "not-found", format_args!("no key {key:?}")),
            },
            PUT => {
                let replaced = map.insert(key.to_owned(), payload.to_vec()).is_some();
                let meta = [("replaced", if replaced { "true" } else { "false" })];
                reply.frame(&Header::new(DONE, id, 0).with_meta(&meta), &[])
            }
            DELETE => match map.remove(key) {
                Some(_) => reply.frame(&Header::new(DONE, id, 0), &[]),
                None => return reply.error(id, "not-found", format_args!("no key {key:?}")),
            },
            other => {
                let msg = format_args!(
                    "kind {} is not GET (100), PUT (101) or DELETE (102)",
                    other.0
                );
                return reply.error(id, "unsupported", msg);
            }
        };
    }
}

impl Service for KvStore {
    fn name(&self) -> &str {
        "kv"
    }

    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        while let Some(mut incoming) = conn.next_event().await? {
            match incoming.event {
                Event::Frame(f) => self.answer(&f.header, f.payload, &mut incoming.reply),
                Event::Start(h) => {
                    // A value larger than the server's receive buffer: refused, its bytes
                    // skipped as they arrive, and the connection goes on.
                    let msg = format!(
                        "value of {} bytes is larger than the server's buffer",
                        h.len
                    );
                    incoming.reply.error(h.id, "bad-request", msg);
                    conn.skip_payload().await?;
                }
                // Chunks, ends and aborts only follow a Start, whose payload skip_payload
                // consumed.
                Event::Chunk(_) | Event::End | Event::Abort(_) => {}
            }
        }
        Ok(())
    }
}

/// Why a [`KvClient`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The key is not in the store.
    #[error("not found: {0}")]
    NotFound(String),
    /// The server refused the request (`bad-request`, `unsupported`...).
    #[error("refused [{code}]: {message}")]
    Refused {
        /// The error frame's code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The connection or the protocol failed.
    #[error(transparent)]
    Client(AsyncClientError),
}

impl From<AsyncClientError> for KvError {
    fn from(e: AsyncClientError) -> Self {
        match e {
            AsyncClientError::Remote { code, message, .. } if code == "not-found" => {
                KvError::NotFound(message)
            }
            AsyncClientError::Remote { code, message, id } if id != 0 => {
                KvError::Refused { code, message }
            }
            other => KvError::Client(other),
        }
    }
}

/// A typed client for [`KvStore`]; `Clone` and `&self`, like the [`AsyncClient`] under it.
#[derive(Clone, Debug)]
pub struct KvClient {
    client: AsyncClient,
}

impl KvClient {
    /// Over a connected [`AsyncClient`].
    pub fn new(client: AsyncClient) -> Self {
        KvClient { client }
    }

    async fn call(&self, kind: Kind, key: &str, value: &[u8]) -> Result<BytesFrame, KvError> {
        let frame = BytesFrame::new(kind, 0, value.to_vec()).with_name(key);
        Ok(self.client.request(frame).await?)
    }

    /// The value stored under `key`.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, KvError> {
        Ok(self.call(GET, key, &[]).await?.payload.to_vec())
    }

    /// Stores `value` under `key`; whether it replaced a value.
    pub async fn put(&self, key: &str, value: &[u8]) -> Result<bool, KvError> {
        Ok(self.call(PUT, key, value).await?.meta("replaced") == Some("true"))
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.call(DELETE, key, &[]).await.map(drop)
    }

    /// Sends a frame of any kind (for trying what the server refuses).
    pub async fn raw(&self, frame: BytesFrame) -> Result<BytesFrame, KvError> {
        Ok(self.client.request(frame).await?)
    }
}
