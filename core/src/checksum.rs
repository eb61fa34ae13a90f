//! CRC-32C (Castagnoli), the optional payload checksum.
//!
//! By default the `crc` crate does the arithmetic with a 1 KiB lookup table in flash (one
//! lookup per byte). The `small` feature trades speed for flash: a 16-entry table (64 B), two
//! lookups per byte, written here (the `crc` crate offers a 256-entry table or none). On a
//! Cortex-M3 that is 9 instructions per byte, in 124 B of flash against 148 B for the `crc`
//! crate's bit-by-bit mode; on the host it runs at half the 1 KiB table's speed and twice
//! the bit-by-bit speed (5.4 ms per MiB against 2.9 and 11.0). A board that checks no
//! checksums never runs it.

#[cfg(not(feature = "small"))]
use crc::{CRC_32_ISCSI, Crc, Digest, Table};

#[cfg(not(feature = "small"))]
static CASTAGNOLI: Crc<u32, Table<1>> = Crc::<u32, Table<1>>::new(&CRC_32_ISCSI);

/// CRC-32C of `data` in one go.
///
/// ```
/// assert_eq!(sockframe::checksum::crc32c(b"123456789"), 0xE306_9283);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(data);
    crc.value()
}

/// CRC-32C computed over a payload that arrives (or is sent) in pieces.
#[derive(Clone)]
pub struct Crc32c(Running);

#[cfg(not(feature = "small"))]
type Running = Digest<'static, u32, Table<1>>;
/// The CRC register, before the final inversion.
#[cfg(feature = "small")]
type Running = u32;

impl Crc32c {
    /// A fresh checksum.
    pub fn new() -> Self {
        #[cfg(not(feature = "small"))]
        return Crc32c(CASTAGNOLI.digest());
        #[cfg(feature = "small")]
        return Crc32c(!0);
    }

    /// Adds the next piece of the payload.
    pub fn update(&mut self, data: &[u8]) {
        #[cfg(not(feature = "small"))]
        self.0.update(data);
        #[cfg(feature = "small")]
        {
            self.0 = nibbles(self.0, data);
        }
    }

    /// The checksum of everything added so far.
    pub fn value(&self) -> u32 {
        #[cfg(not(feature = "small"))]
        return self.0.clone().finalize();
        #[cfg(feature = "small")]
        return !self.0;
    }
}

/// The reflected CRC-32C polynomial.
#[cfg(any(test, feature = "small"))]
const POLY: u32 = 0x82F6_3B78;

/// The register's change for each value of its low four bits, shifted out.
#[cfg(any(test, feature = "small"))]
const NIBBLE: [u32; 16] = {
    let mut table = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 4 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Runs the register `crc` over `data`, four bits per lookup. Out of line: one copy for
/// every caller.
#[cfg(any(test, feature = "small"))]
#[inline(never)]
fn nibbles(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        crc ^= u32::from(b);
        crc = (crc >> 4) ^ NIBBLE[(crc & 0xF) as usize];
        crc = (crc >> 4) ^ NIBBLE[(crc & 0xF) as usize];
    }
    crc
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The `small` build's nibble-table CRC against the `crc` crate's, for every length up
    /// to 300 and in pieces.
    #[test]
    fn nibble_table_matches_the_crc_crate() {
        let reference = crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISCSI);
        let mut data = [0u8; 300];
        let mut x = 0x9E37_79B9u32;
        for b in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        for len in 0..=data.len() {
            let whole = !nibbles(!0, &data[..len]);
            assert_eq!(whole, reference.checksum(&data[..len]), "{len} bytes");
            let (a, b) = data[..len].split_at(len / 3);
            assert_eq!(
                !nibbles(nibbles(!0, a), b),
                whole,
                "{len} bytes in two pieces"
            );
        }
        assert_eq!(!nibbles(!0, b"123456789"), 0xE306_9283);
    }
}
