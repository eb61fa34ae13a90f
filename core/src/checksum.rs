//! CRC-32C (Castagnoli), the optional payload checksum.
//!
//! The `crc` crate does the arithmetic: with a 1 KiB lookup table in flash, or bit by bit
//! without one when the `small` feature trades speed for flash (about 8x slower per byte;
//! a board that checks no checksums never runs it).

use crc::{CRC_32_ISCSI, Crc};

/// The table the arithmetic uses: 256 entries by default, none with `small`.
#[cfg(not(feature = "small"))]
type Table = crc::Table<1>;
#[cfg(feature = "small")]
type Table = crc::NoTable;

static CASTAGNOLI: Crc<u32, Table> = Crc::<u32, Table>::new(&CRC_32_ISCSI);

/// CRC-32C of `data` in one go.
///
/// ```
/// assert_eq!(sockframe::checksum::crc32c(b"123456789"), 0xE306_9283);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    CASTAGNOLI.checksum(data)
}

/// CRC-32C computed over a payload that arrives (or is sent) in pieces.
#[derive(Clone)]
pub struct Crc32c(crc::Digest<'static, u32, Table>);

impl Crc32c {
    /// A fresh checksum.
    pub fn new() -> Self {
        Crc32c(CASTAGNOLI.digest())
    }

    /// Adds the next piece of the payload.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The checksum of everything added so far.
    pub fn value(&self) -> u32 {
        self.0.clone().finalize()
    }
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Crc32c {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Crc32c({:08x})", self.value())
    }
}
