//! Bounds-checked big-endian reading and writing, shared by every codec in
//! [`ofp`](super).
//!
//! Contract: a [`Reader`] never panics; every getter returns the error kind
//! the reader was created with when the input is too short, so a truncated
//! action reports `BadActionBadLen` and a truncated message body reports
//! `BadRequestBadLen`. Writing appends to a `Vec<u8>`; callers check the
//! 64 KiB message limit once, when the header length is patched.

use super::error::ErrorKind;

/// A cursor over a byte slice that reports a fixed [`ErrorKind`] on
/// truncation.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    err: ErrorKind,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], err: ErrorKind) -> Self {
        Reader { buf, err }
    }

    pub(crate) fn err(&self) -> ErrorKind {
        self.err
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes (not consumed).
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], ErrorKind> {
        if n > self.buf.len() {
            return Err(self.err);
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    /// A sub-reader over the next `n` bytes, reporting `err`.
    pub(crate) fn sub(&mut self, n: usize, err: ErrorKind) -> Result<Reader<'a>, ErrorKind> {
        Ok(Reader::new(self.bytes(n)?, err))
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<(), ErrorKind> {
        self.bytes(n).map(|_| ())
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ErrorKind> {
        let b = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ErrorKind> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ErrorKind> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ErrorKind> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ErrorKind> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Peeks at a big-endian u16 at `off` without consuming.
    pub(crate) fn peek_u16(&self, off: usize) -> Result<u16, ErrorKind> {
        match self.buf.get(off..off + 2) {
            Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
            None => Err(self.err),
        }
    }
}

/// Big-endian appenders for `Vec<u8>`.
pub(crate) trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_zeros(&mut self, n: usize);
    /// Pads with zeros to a multiple of 8 bytes counted from `start`.
    fn pad8_from(&mut self, start: usize);
    /// Writes a big-endian u16 at `at` (which must be in bounds).
    fn patch_u16(&mut self, at: usize, v: u16);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
    fn pad8_from(&mut self, start: usize) {
        let len = self.len().saturating_sub(start);
        self.put_zeros((8 - len % 8) % 8);
    }
    fn patch_u16(&mut self, at: usize, v: u16) {
        if let Some(s) = self.get_mut(at..at + 2) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }
}

/// Rounds `n` up to a multiple of 8.
pub(crate) fn round8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// A fixed-size, NUL-padded string field (port names, descriptions).
pub(crate) fn get_str(r: &mut Reader<'_>, n: usize) -> Result<String, ErrorKind> {
    let b = r.bytes(n)?;
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    Ok(String::from_utf8_lossy(&b[..end]).into_owned())
}

/// Writes `s` into a fixed `n`-byte field, truncated to leave a NUL and at
/// a character boundary (so what is written reads back as the same text,
/// and decode -> encode is stable).
pub(crate) fn put_str(w: &mut Vec<u8>, s: &str, n: usize) {
    let b = s.as_bytes();
    let mut k = b.len().min(n.saturating_sub(1));
    while !s.is_char_boundary(k) {
        k -= 1;
    }
    w.extend_from_slice(&b[..k]);
    w.put_zeros(n - k);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_strings_truncate_at_a_character_boundary() {
        let mut w = Vec::new();
        put_str(&mut w, "a\u{e9}", 3); // 'a' + a two-byte character: no room for both
        assert_eq!(w, [b'a', 0, 0]);
        let mut w = Vec::new();
        put_str(&mut w, "port1", 16);
        assert_eq!(&w[..6], b"port1\0");
        assert_eq!(w.len(), 16);
        // Whatever is written reads back as the same text.
        let mut w = Vec::new();
        put_str(
            &mut w,
            "\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
            16,
        );
        let mut r = Reader::new(&w, ErrorKind::BadRequestBadLen);
        let s = get_str(&mut r, 16).unwrap();
        assert_eq!(s.chars().count(), 5);
    }
}
