//! Application frame kinds (64 and up) used by the services of this crate.
//!
//! Kinds below 64 belong to the sockframe core ([`Kind::DATA`], [`Kind::ERROR`],
//! [`Kind::PING`], [`Kind::PONG`]).

use sockframe::Kind;

/// exec, client to server: run a command. Payload: the argv as UTF-8 strings separated by
/// NUL bytes; or, with metadata `shell=1`, one command line for `sh -c`. Metadata `token`
/// carries the server's token when it has one.
pub const EXEC: Kind = Kind(64);
/// exec, server to client: a piece of the command's standard output, as produced.
pub const STDOUT: Kind = Kind(65);
/// exec, server to client: a piece of the command's standard error, as produced.
pub const STDERR: Kind = Kind(66);
/// exec, server to client: the command ended. Metadata `code` (exit code) or `signal`
/// (the signal that killed it); payload: the status as text.
pub const EXIT: Kind = Kind(67);

/// files, client to server: upload. Name: the path inside the served directory; `len`:
/// the file size; `crc`: CRC-32C of the content (required); payload: the content.
pub const PUT: Kind = Kind(80);
/// files, client to server: download the file named by the header's name.
pub const GET: Kind = Kind(81);
/// files, server to client: the upload with the same id is stored. Metadata `size`.
pub const PUT_OK: Kind = Kind(82);
/// files, server to client: a downloaded file. Name, `len`, `crc` and payload as in
/// [`PUT`].
pub const FILE: Kind = Kind(83);

/// chat, server to client: the operator ended this session (an empty reply).
pub const CHAT_END: Kind = Kind(96);
