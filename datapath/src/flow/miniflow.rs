//! The sparse form of a [`FlowKey`]: a bitmap of nonzero words plus those
//! words, in order.
//!
//! Most fields of most keys are zero (tunnel metadata, registers, the IPv6
//! addresses of an IPv4 packet...), so a `Miniflow` hashes and compares only
//! the words that carry information. Storage is fixed-size and inline (no
//! allocation); only the first `map.count_ones()` entries of `values` are
//! meaningful. Equality and hashing look at those entries only, so a
//! miniflow can be refilled in place ([`Miniflow::set_from_key`]) without
//! clearing its tail.
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
#[derive(Debug, Clone, Copy)]
pub struct Miniflow {
    map: u64,
    values: [u64; FLOW_U64S],
}

impl Miniflow {
    /// The sparse form of `key`.
    #[inline]
    pub fn from_key(key: &FlowKey) -> Miniflow {
        let mut m = Miniflow {
            map: 0,
            values: [0; FLOW_U64S],
        };
        m.set_from_key(key);
        m
    }

    /// Refills `self` with the sparse form of `key`, in place: the fast
    /// path's form, which neither clears nor copies a whole miniflow.
    #[inline]
    pub fn set_from_key(&mut self, key: &FlowKey) {
        let words = key.words();
        // The map first (independent compares, vectorisable), then a gather
        // over its set bits: cost follows the number of nonzero words.
        let map = word_map(words);
        let mut bits = map;
        let mut j = 0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            self.values[j] = words[i];
            j += 1;
            bits &= bits - 1;
        }
        self.map = map;
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

impl PartialEq for Miniflow {
    #[inline]
    fn eq(&self, other: &Miniflow) -> bool {
        self.map == other.map && self.values() == other.values()
    }
}

impl Eq for Miniflow {}

impl core::hash::Hash for Miniflow {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.map.hash(state);
        self.values().hash(state);
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
    fn refill_in_place_ignores_the_old_tail() {
        let mut full = FlowKey::ZERO;
        full.words_mut().iter_mut().for_each(|w| *w = 0x55);
        let mut m = Miniflow::from_key(&full);
        m.set_from_key(&sample());
        assert_eq!(m, Miniflow::from_key(&sample()));
        assert_eq!(m.to_key(), sample());
        assert_eq!(m.hash(3), Miniflow::from_key(&sample()).hash(3));
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
