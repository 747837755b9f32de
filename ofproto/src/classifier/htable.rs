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
    #[inline]
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
