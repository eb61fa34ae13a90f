//! The built-in services, each a [`Service`](crate::Service) like any user's: they use
//! nothing but the trait and the public [`Connection`](crate::Connection) methods.
//!
//! The frame kinds each uses are listed in the crate documentation and in
//! [`kinds`](crate::kinds).

pub mod chat;
mod echo;
#[cfg(feature = "exec")]
pub mod exec;
#[cfg(feature = "files")]
pub mod files;
#[cfg(feature = "files")]
pub(crate) mod safe_path;

pub use chat::{Chat, ChatNote};
pub use echo::Echo;
#[cfg(feature = "exec")]
pub use exec::{Exec, ExecConfig};
#[cfg(feature = "files")]
pub use files::{Files, FilesConfig};
