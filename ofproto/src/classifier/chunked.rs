//! A vector that never moves its elements once it holds more than one
//! chunk: the first [`CHUNK`] elements grow like a `Vec`, every later
//! element goes into a fixed-capacity chunk of its own. Growing to 100,000
//! rules thus copies at most one chunk's worth of rules (a plain `Vec` of
//! 370-byte rule slots copies about as much again as it holds, and needs
//! twice the memory at the moment it grows).
//!
//! Indexes are dense (`0..len`), as with a `Vec`.

/// Elements per chunk (a power of two).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

#[derive(Debug)]
pub(super) struct Chunked<S> {
    chunks: Vec<Vec<S>>,
    len: usize,
}

impl<S> Default for Chunked<S> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<S> Chunked<S> {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Elements allocated for.
    pub(super) fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    pub(super) fn push(&mut self, s: S) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(s),
            _ => {
                let mut c = if self.chunks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(CHUNK)
                };
                c.push(s);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<&S> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i & (CHUNK - 1))
    }

    #[inline]
    pub(super) fn get_mut(&mut self, i: usize) -> Option<&mut S> {
        self.chunks
            .get_mut(i >> CHUNK_BITS)?
            .get_mut(i & (CHUNK - 1))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &S> {
        self.chunks.iter().flatten()
    }
}

impl<S> std::ops::Index<usize> for Chunked<S> {
    type Output = S;
    #[inline]
    fn index(&self, i: usize) -> &S {
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

impl<S> std::ops::IndexMut<usize> for Chunked<S> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut S {
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec_across_chunks() {
        let mut c = Chunked::default();
        let n = CHUNK * 2 + 17;
        for i in 0..n {
            c.push(i);
            assert_eq!(c.len(), i + 1);
        }
        for i in 0..n {
            assert_eq!(c[i], i);
            assert_eq!(c.get(i), Some(&i));
        }
        assert_eq!(c.get(n), None);
        *c.get_mut(CHUNK).unwrap() += 1000;
        c[CHUNK + 1] += 2000;
        assert_eq!(c[CHUNK], CHUNK + 1000);
        assert_eq!(c[CHUNK + 1], CHUNK + 1 + 2000);
        assert_eq!(c.iter().count(), n);
        assert!(c.capacity() >= n);
        // Later chunks are allocated whole, never regrown.
        assert_eq!(c.chunks[1].capacity(), CHUNK);
    }
}
