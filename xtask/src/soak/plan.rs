//! What the clients send: payload, file and output sizes, drawn from a small deterministic
//! generator.

/// Largest echo payload, desktop and board.
pub(super) const DESKTOP_MAX_ECHO: usize = 1 << 20;
pub(super) const BOARD_MAX_ECHO: usize = 256 << 10;
/// Largest file (files clients) and command output (exec clients).
pub(super) const MAX_FILE: usize = 4 << 20;
/// Highest N of `seq 1 N` (about 1.3 MB of output).
pub(super) const MAX_SEQ: usize = 200_000;

/// A small deterministic generator (xorshift64*): both halves of an echo session draw the
/// same plan from copies of it.
#[derive(Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n (n > 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in lo..=hi.
    pub(super) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// An echo payload size: mostly small, a fifth around the server's 16 KiB buffer (some
/// just fit, some stream), a tenth up to 256 KiB, a twentieth up to `max`.
pub(super) fn echo_size(rng: &mut Rng, max: usize) -> usize {
    let len = match rng.below(100) {
        0..10 => rng.below(2),
        10..45 => rng.range(2, 256),
        45..70 => rng.range(257, 4096),
        70..85 => rng.range(12 << 10, 20 << 10),
        85..95 => rng.range(20 << 10, 256 << 10),
        _ => rng.range(256 << 10, max),
    };
    len.min(max)
}

/// A file or command output size, 0 B to 4 MiB.
pub(super) fn file_size(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0 => 0,
        1..3 => rng.range(1, 4096),
        3..6 => rng.range(4097, 64 << 10),
        6..9 => rng.range((64 << 10) + 1, 1 << 20),
        _ => rng.range((1 << 20) + 1, MAX_FILE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_in_bounds_and_cover_the_range() {
        let mut rng = Rng::new(7);
        let (mut zero, mut streamed, mut big) = (0, 0, 0);
        for _ in 0..100_000 {
            let n = echo_size(&mut rng, DESKTOP_MAX_ECHO);
            assert!(n <= DESKTOP_MAX_ECHO);
            zero += usize::from(n == 0);
            streamed += usize::from(n > 16 << 10);
            big += usize::from(n > 512 << 10);
            assert!(file_size(&mut rng) <= MAX_FILE);
            assert!(echo_size(&mut rng, BOARD_MAX_ECHO) <= BOARD_MAX_ECHO);
        }
        assert!(zero > 1000 && streamed > 10_000 && big > 1000);
    }
}
