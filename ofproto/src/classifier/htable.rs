//! An open-addressing hash table keyed by precomputed 32-bit hashes.
//!
//! Each slot holds a hash and a 32-bit value; several slots may carry the
//! same hash (the caller tells them apart, for example by comparing the
//! masked key a value stands for). Probing is linear from `hash & mask`,
//! the load factor stays at or below one half, and removal shifts later
//! entries back instead of leaving tombstones, so a probe stops at the first
//! empty slot. The caller's hashes must be well mixed in their low bits.
//!
//! The same table serves as a counting set of hashes (the stage indices of a
//! subtable): the value is then the number of users of the hash.

/// Value marking an empty slot.
const EMPTY: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u32,
    val: u32,
}

const EMPTY_SLOT: Slot = Slot {
    hash: 0,
    val: EMPTY,
};

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub(super) struct HashTable {
    slots: Vec<Slot>,
    len: usize,
}

impl HashTable {
    /// Number of entries.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The first value stored under `hash` for which `pred` holds.
    #[inline]
    pub(super) fn find(&self, hash: u32, mut pred: impl FnMut(u32) -> bool) -> Option<u32> {
        let slots = &self.slots[..];
        if slots.is_empty() {
            return None;
        }
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = slots[i];
            if s.val == EMPTY {
                return None;
            }
            if s.hash == hash && pred(s.val) {
                return Some(s.val);
            }
            i = (i + 1) & mask;
        }
    }

    /// True when some entry has `hash`.
    #[cfg(test)]
    pub(super) fn contains_hash(&self, hash: u32) -> bool {
        self.find(hash, |_| true).is_some()
    }

    /// Adds `(hash, val)`; duplicates are allowed. `val` must not be
    /// `u32::MAX`.
    pub(super) fn insert(&mut self, hash: u32, val: u32) {
        debug_assert_ne!(val, EMPTY);
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i].val != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot { hash, val };
        self.len += 1;
    }

    /// Removes the entry `(hash, val)`; false when absent.
    pub(super) fn remove(&mut self, hash: u32, val: u32) -> bool {
        match self.position(hash, |v| v == val) {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// Counting-set use: one more user of `hash`.
    pub(super) fn count_up(&mut self, hash: u32) {
        match self.position(hash, |_| true) {
            Some(i) => self.slots[i].val += 1,
            None => self.insert(hash, 1),
        }
    }

    /// Counting-set use: one user fewer of `hash`; the entry goes away at
    /// zero.
    pub(super) fn count_down(&mut self, hash: u32) {
        if let Some(i) = self.position(hash, |_| true) {
            if self.slots[i].val > 1 {
                self.slots[i].val -= 1;
            } else {
                self.remove_at(i);
            }
        }
    }

    fn position(&self, hash: u32, mut pred: impl FnMut(u32) -> bool) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let s = self.slots[i];
            if s.val == EMPTY {
                return None;
            }
            if s.hash == hash && pred(s.val) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Backward-shift deletion: entries after the hole move back when the
    /// hole lies on their probe path.
    fn remove_at(&mut self, mut hole: usize) {
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s.val == EMPTY {
                break;
            }
            let home = s.hash as usize & mask;
            // The entry at `j` may stay when its home lies cyclically in
            // (hole, j]; otherwise the hole is on its probe path.
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY_SLOT;
        self.len -= 1;
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(8);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; cap]);
        let mask = cap - 1;
        for s in old.into_iter().filter(|s| s.val != EMPTY) {
            let mut i = s.hash as usize & mask;
            while self.slots[i].val != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Bytes of heap memory used.
    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * size_of::<Slot>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_remove_with_collisions() {
        let mut t = HashTable::default();
        // Many entries on few home slots, to exercise wrap-around and shifts.
        for v in 0..200u32 {
            t.insert(v % 7 * 0x1000_0000 + (v % 3), v);
        }
        assert_eq!(t.len(), 200);
        for v in 0..200u32 {
            let h = v % 7 * 0x1000_0000 + (v % 3);
            assert_eq!(t.find(h, |x| x == v), Some(v));
        }
        for v in (0..200u32).step_by(2) {
            assert!(t.remove(v % 7 * 0x1000_0000 + (v % 3), v));
        }
        for v in 0..200u32 {
            let h = v % 7 * 0x1000_0000 + (v % 3);
            assert_eq!(t.find(h, |x| x == v).is_some(), v % 2 == 1, "{v}");
        }
        assert!(!t.remove(12345, 1));
    }

    #[test]
    fn counting_set() {
        let mut t = HashTable::default();
        t.count_up(5);
        t.count_up(5);
        t.count_up(0xffff_fff5);
        assert!(t.contains_hash(5));
        t.count_down(5);
        assert!(t.contains_hash(5));
        t.count_down(5);
        assert!(!t.contains_hash(5));
        assert!(t.contains_hash(0xffff_fff5));
        assert_eq!(t.len(), 1);
    }
}

/// A one-bit-per-bucket filter over 32-bit hashes: "certainly absent" or
/// "maybe present". Readers test one bit in a small array that stays in
/// cache; the writer keeps a count per bucket so that removals clear bits.
///
/// The bucket of a hash comes from its high bits (the [`HashTable`] uses the
/// low ones). The filter has 8 to 16 buckets per distinct hash, so about
/// one absent hash in 8 to 16 is reported as maybe present.
#[derive(Debug, Clone, Default)]
pub(super) struct Filter {
    bits: Vec<u64>,
    counts: Vec<u16>,
    /// log2 of the number of buckets.
    order: u32,
    /// Distinct hashes added and not removed (with multiplicity).
    n: usize,
}

impl Filter {
    #[inline]
    fn bucket(&self, hash: u32) -> usize {
        // order >= 6 once allocated; the shift is then < 32.
        (hash >> (32 - self.order)) as usize
    }

    /// False when `hash` was certainly never added (or has been removed).
    #[inline]
    pub(super) fn may_contain(&self, hash: u32) -> bool {
        if self.bits.is_empty() {
            return false;
        }
        let b = self.bucket(hash);
        self.bits[b >> 6] & (1u64 << (b & 63)) != 0
    }

    /// Adds one occurrence of `hash`; `all` yields every hash already in
    /// the filter (with multiplicity), for a rebuild when it grows.
    pub(super) fn add(&mut self, hash: u32, all: impl Iterator<Item = u32>) {
        self.n += 1;
        if self.n * 8 > self.counts.len() {
            let order = ((self.n * 16).next_power_of_two().trailing_zeros()).clamp(6, 32);
            self.order = order;
            self.bits = vec![0; (1usize << order) / 64];
            self.counts = vec![0; 1usize << order];
            for h in all {
                self.set(h);
            }
        }
        self.set(hash);
    }

    fn set(&mut self, hash: u32) {
        let b = self.bucket(hash);
        self.counts[b] = self.counts[b].saturating_add(1);
        self.bits[b >> 6] |= 1u64 << (b & 63);
    }

    /// Removes one occurrence of `hash`, which must have been added.
    pub(super) fn remove(&mut self, hash: u32) {
        let b = self.bucket(hash);
        self.n -= 1;
        // A saturated count stays (the bit then stays set: harmless).
        if self.counts[b] != u16::MAX {
            self.counts[b] -= 1;
            if self.counts[b] == 0 {
                self.bits[b >> 6] &= !(1u64 << (b & 63));
            }
        }
    }

    /// Bytes of heap memory used.
    pub(super) fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.counts.capacity() * 2
    }
}

impl HashTable {
    /// Every entry's hash, once per entry.
    pub(super) fn hashes(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().filter(|s| s.val != EMPTY).map(|s| s.hash)
    }

    /// Counting-set use: the count of `hash` (0 when absent).
    pub(super) fn count_of(&self, hash: u32) -> u32 {
        self.position(hash, |_| true)
            .map_or(0, |i| self.slots[i].val)
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    #[test]
    fn filter_has_no_false_negatives_and_clears() {
        let mut f = Filter::default();
        let mut added = Vec::new();
        let mut h = 0x1234_5678u32;
        for _ in 0..1000 {
            h = h.wrapping_mul(0x9e37_79b9).rotate_left(7) ^ 0x55;
            let all = added.clone();
            f.add(h, all.into_iter());
            added.push(h);
        }
        assert!(added.iter().all(|&h| f.may_contain(h)));
        let mut false_pos = 0;
        for i in 0..10_000u32 {
            false_pos += u32::from(f.may_contain(i.wrapping_mul(0x85eb_ca6b)));
        }
        assert!(false_pos < 1800, "{false_pos}");
        for &h in &added {
            f.remove(h);
        }
        assert!(added.iter().all(|&h| !f.may_contain(h)));
    }
}
