//! Lines to the host (semihosting stdout) without `core::fmt`'s integer formatting, which
//! would cost about 0.6 KiB of flash for one stats line.

use cortex_m_semihosting::hio;

/// A line being put together; printed whole by [`Line::print`] (cut at 128 bytes).
pub struct Line {
    buf: [u8; 128],
    len: usize,
}

impl Line {
    pub fn new() -> Self {
        Line {
            buf: [0; 128],
            len: 0,
        }
    }

    /// Appends `s` (what does not fit is dropped).
    pub fn text(&mut self, s: &str) -> &mut Self {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        self
    }

    /// Appends `n` in decimal.
    pub fn num(&mut self, mut n: u32) -> &mut Self {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        // ASCII digits: valid UTF-8.
        self.text(core::str::from_utf8(&digits[at..]).unwrap_or("?"))
    }

    /// Prints the line and a newline; a host that does not listen is ignored.
    pub fn print(&mut self) {
        self.text("\n");
        if let Ok(mut out) = hio::hstdout() {
            let _ = out.write_all(&self.buf[..self.len]);
        }
    }
}

/// Prints one line of text.
pub fn line(s: &str) {
    Line::new().text(s).print();
}
