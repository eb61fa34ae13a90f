//! Shared pieces of the fuzz targets.

pub mod echo_model;
pub mod input;
