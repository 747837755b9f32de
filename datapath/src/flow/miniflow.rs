//! The sparse form of a [`FlowKey`]: a bitmap of nonzero words plus those
//! words, in order.
//!
//! Most fields of most keys are zero (tunnel metadata, registers, the IPv6
//! addresses of an IPv4 packet...), so a `Miniflow` hashes and compares only
//! the words that carry information. Storage is fixed-size and inline (no
//! allocation); only the first `map.count_ones()` entries of `values` are
//! meaningful and the rest are kept zero, so derived equality is exact.
//!
//! Invariant: bit `i` of `map` is set iff word `i` of the key is nonzero, and
//! `values[j]` is the `j`-th such word.

use super::hash;
use super::key::{FLOW_U64S, FlowKey, FlowMask};

/// Bitmap of the nonzero words of `words` (bit `i` = word `i`).
#[inline]
pub fn word_map(words: &[u64; FLOW_U64S]) -> u64 {
    let mut map = 0u64;
    for (i, &w) in words.iter().enumerate() {
        map |= u64::from(w != 0) << i;
    }
    map
}

/// A sparse [`FlowKey`]. See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Miniflow {
    map: u64,
    values: [u64; FLOW_U64S],
}

impl Miniflow {
    /// The sparse form of `key`.
    #[inline]
    pub fn from_key(key: &FlowKey) -> Miniflow {
        let words = key.words();
        let mut values = [0u64; FLOW_U64S];
        let mut map = 0u64;
        let mut n = 0;
        for (i, &w) in words.iter().enumerate() {
            // Branch-free compaction: always store at the next free slot,
            // advance only past a nonzero word. `n <= i`, so the slot is in
            // bounds; slots past the final `n` are never written and stay 0.
            values[n] = w;
            let nz = usize::from(w != 0);
            map |= (nz as u64) << i;
            n += nz;
        }
        Miniflow { map, values }
    }

    /// The sparse form of `key & mask`, keeping only the words that are
    /// nonzero in `mask` and in the masked key.
    #[inline]
    pub fn from_masked(key: &FlowKey, mask: &FlowMask) -> Miniflow {
        Miniflow::from_key(&key.masked(mask))
    }

    /// Back to the dense form.
    pub fn to_key(&self) -> FlowKey {
        let mut key = FlowKey::ZERO;
        let words = key.words_mut();
        let mut map = self.map;
        let mut j = 0;
        while map != 0 {
            let i = map.trailing_zeros() as usize;
            words[i] = self.values[j];
            j += 1;
            map &= map - 1;
        }
        key
    }

    /// Bitmap of the words present.
    #[inline]
    pub fn map(&self) -> u64 {
        self.map
    }

    /// The nonzero words, in order.
    #[inline]
    pub fn values(&self) -> &[u64] {
        &self.values[..self.map.count_ones() as usize]
    }

    /// Word `i` of the dense key (zero when absent).
    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        if i >= FLOW_U64S || self.map & (1 << i) == 0 {
            return 0;
        }
        let below = self.map & ((1u64 << i) - 1);
        self.values[below.count_ones() as usize]
    }

    /// Hash over the map and the present words: cost grows with the number
    /// of nonzero words, not with the size of a key.
    #[inline]
    pub fn hash(&self, basis: u32) -> u32 {
        hash::hash_words(
            self.values(),
            basis ^ (self.map as u32) ^ ((self.map >> 32) as u32),
        )
    }
}

/// Hash of `key & mask` over the words in `mask_map` (the mask's
/// [`FlowMask::word_map`]), without building the masked key. Two keys that
/// agree under the mask hash equally; this is the hash a megaflow subtable
/// uses.
#[inline]
pub fn hash_masked(key: &FlowKey, mask: &FlowMask, mask_map: u64, basis: u32) -> u32 {
    let (k, m) = (key.words(), mask.0.words());
    let mut buf = [0u64; FLOW_U64S];
    let mut map = mask_map;
    let mut n = 0;
    while map != 0 {
        let i = map.trailing_zeros() as usize;
        buf[n] = k[i] & m[i];
        n += 1;
        map &= map - 1;
    }
    hash::hash_words(&buf[..n], basis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = 3;
        k.dl_dst = [0, 1, 2, 3, 4, 5];
        k.dl_type = 0x0800;
        k.nw_src = 0x0a000001;
        k.nw_dst = 0x0a000002;
        k.nw_proto = 17;
        k.tp_src = 1234;
        k.tp_dst = 53;
        k
    }

    #[test]
    fn round_trip_and_sparseness() {
        let k = sample();
        let m = Miniflow::from_key(&k);
        assert_eq!(m.to_key(), k);
        assert!(m.values().len() < 8, "{} words", m.values().len());
        assert!(m.values().iter().all(|&w| w != 0));
        for i in 0..FLOW_U64S {
            assert_eq!(m.get(i), k.words()[i]);
        }
        let empty = Miniflow::from_key(&FlowKey::ZERO);
        assert_eq!((empty.map(), empty.values().len()), (0, 0));
        assert_eq!(empty.to_key(), FlowKey::ZERO);
    }

    #[test]
    fn equal_keys_equal_hashes_different_keys_differ() {
        let a = Miniflow::from_key(&sample());
        let mut k2 = sample();
        k2.tp_src = 1235;
        let b = Miniflow::from_key(&k2);
        assert_eq!(a.hash(0), Miniflow::from_key(&sample()).hash(0));
        assert_ne!(a.hash(0), b.hash(0));
        assert_ne!(a, b);
    }

    #[test]
    fn masked_hash_ignores_wildcarded_bits() {
        let mut mask = FlowMask::CATCHALL;
        mask.nw_dst = 0xffff_ff00;
        mask.dl_type = 0xffff;
        let map = mask.word_map();
        let a = sample();
        let mut b = sample();
        b.nw_dst = 0x0a0000ff; // same /24
        b.tp_src = 9; // wildcarded
        assert_eq!(
            hash_masked(&a, &mask, map, 1),
            hash_masked(&b, &mask, map, 1)
        );
        b.nw_dst = 0x0a0001ff;
        assert_ne!(
            hash_masked(&a, &mask, map, 1),
            hash_masked(&b, &mask, map, 1)
        );
        assert_eq!(Miniflow::from_masked(&a, &mask).to_key(), a.masked(&mask));
    }
}
