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
///
/// Four independent lanes hide the multiply latency (a single chain over a
/// 39-word key is latency-bound); the lanes are folded with distinct
/// rotations, so moving a word to another position changes the hash.
#[inline]
pub fn hash_words(words: &[u64], basis: u32) -> u32 {
    let b = u64::from(basis);
    let mut l = [
        K ^ b,
        K.rotate_left(16) ^ b,
        K.rotate_left(32),
        K.rotate_left(48),
    ];
    let mut chunks = words.chunks_exact(4);
    for c in &mut chunks {
        l[0] = step(l[0], c[0]);
        l[1] = step(l[1], c[1]);
        l[2] = step(l[2], c[2]);
        l[3] = step(l[3], c[3]);
    }
    for (lane, &w) in l.iter_mut().zip(chunks.remainder()) {
        *lane = step(*lane, w);
    }
    let h = l[0] ^ l[1].rotate_left(17) ^ l[2].rotate_left(31) ^ l[3].rotate_left(47);
    finish(h ^ words.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_matters() {
        assert_ne!(hash_words(&[1, 2], 0), hash_words(&[2, 1], 0));
        assert_ne!(
            hash_words(&[1, 0, 0, 0, 0], 0),
            hash_words(&[0, 0, 0, 0, 1], 0)
        );
        assert_ne!(hash_words(&[0], 0), hash_words(&[0, 0], 0));
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
