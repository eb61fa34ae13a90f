//! Shared by the cross-crate tests and `cargo xtask`: boot the QEMU board running the
//! firmware in `qemu/`, talk to it with the core's blocking client side, and always clean up.
#![warn(missing_docs)]

pub mod board;
pub mod client;
