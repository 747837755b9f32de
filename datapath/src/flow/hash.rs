//! The flow hash: fast, well mixed, and stable within a process.
//!
//! Each 64-bit word is folded in with a multiply-xorshift step and the result
//! is finished with a full 64-bit avalanche, so every input bit affects every
//! output bit. The hash is not keyed against adversaries: caches that use it
//! bound their probe lengths instead of trusting the distribution.

const K: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline(always)]
fn step(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(K).rotate_left(29)
}

/// Final avalanche (the 64-bit finaliser of MurmurHash3).
#[inline(always)]
pub fn finish(mut h: u64) -> u32 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h as u32
}

/// Hash of a run of words.
#[inline]
pub fn hash_words(words: &[u64], basis: u32) -> u32 {
    let mut h = u64::from(basis) ^ K;
    for &w in words {
        h = step(h, w);
    }
    finish(h ^ words.len() as u64)
}

/// Incremental form: start with [`start`], add words with [`add`], end with
/// [`finish_with_len`]. Equal to [`hash_words`] over the same words.
#[inline(always)]
pub fn start(basis: u32) -> u64 {
    u64::from(basis) ^ K
}

/// Adds one word to an incremental hash.
#[inline(always)]
pub fn add(h: u64, w: u64) -> u64 {
    step(h, w)
}

/// Ends an incremental hash over `n` words.
#[inline(always)]
pub fn finish_with_len(h: u64, n: usize) -> u32 {
    finish(h ^ n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_equals_one_shot() {
        let w = [1u64, 2, 0xdead_beef, u64::MAX];
        let mut h = start(7);
        for &x in &w {
            h = add(h, x);
        }
        assert_eq!(finish_with_len(h, w.len()), hash_words(&w, 7));
    }

    #[test]
    fn single_bit_changes_spread() {
        // Flipping any one input bit changes about half the output bits.
        let base = [0x0a00_0001_0a00_0002u64, 0x0035_1234];
        let h0 = hash_words(&base, 0);
        let mut total = 0;
        for word in 0..2 {
            for bit in 0..64 {
                let mut w = base;
                w[word] ^= 1 << bit;
                total += (hash_words(&w, 0) ^ h0).count_ones();
            }
        }
        let avg = total as f64 / 128.0;
        assert!((12.0..20.0).contains(&avg), "average flipped bits {avg}");
        assert_ne!(hash_words(&base, 0), hash_words(&base, 1));
    }
}
