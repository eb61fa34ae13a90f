//! The input layout the decoder and resync targets share:
//!
//! ```text
//! byte 0..2  buffer size: min + (u16 LE % 2048)
//! byte 2     limits: high bit clear = Limits::DEFAULT; set = max_header (b & 0x7f) * 4,
//!            max_payload (b & 0x7f) * 64
//! byte 3..7  read sizes, used in turn: 1 + b (1..=256 bytes per read)
//! byte 7..   the stream
//! ```

use sockframe::Limits;

/// A receiver's set-up and the stream, read from a fuzz input.
pub struct Input<'a> {
    /// Buffer size.
    pub cap: usize,
    /// The receiver's limits.
    pub limits: Limits,
    /// Read sizes, used in turn.
    pub reads: [usize; 4],
    /// The bytes to feed.
    pub stream: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads the layout above; `None` if `data` is shorter than its 7 set-up bytes.
    pub fn parse(data: &'a [u8], min_cap: usize) -> Option<Self> {
        let (head, stream) = data.split_first_chunk::<7>()?;
        let cap = min_cap + usize::from(u16::from_le_bytes([head[0], head[1]]) % 2048);
        let limits = if head[2] & 0x80 == 0 {
            Limits::DEFAULT
        } else {
            let k = head[2] & 0x7f;
            Limits {
                max_header: usize::from(k) * 4,
                max_payload: u64::from(k) * 64,
            }
        };
        let reads = [head[3], head[4], head[5], head[6]].map(|b| 1 + usize::from(b));
        Some(Input {
            cap,
            limits,
            reads,
            stream,
        })
    }
}

/// The stream, handed out in reads of the sizes given in turn.
pub struct Pieces<'a> {
    rest: &'a [u8],
    reads: &'a [usize],
    turn: usize,
}

impl<'a> Pieces<'a> {
    /// `stream` in reads of `reads[0]`, `reads[1]`, ... bytes, round and round.
    pub fn new(stream: &'a [u8], reads: &'a [usize]) -> Self {
        Pieces {
            rest: stream,
            reads,
            turn: 0,
        }
    }

    /// Whether every byte has been handed out.
    pub fn is_done(&self) -> bool {
        self.rest.is_empty()
    }

    /// Copies the next read into `space` (a receiver's free space, which must not be empty
    /// while no event is waiting: the read loop would stall); returns its length.
    pub fn fill(&mut self, space: &mut [u8]) -> usize {
        assert!(
            !space.is_empty(),
            "read_buf() empty while no event is waiting"
        );
        let want = self.reads[self.turn % self.reads.len()];
        let n = want.min(space.len()).min(self.rest.len());
        space[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        self.turn += 1;
        n
    }
}
