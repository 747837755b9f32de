//! The exact-match cache (EMC): full flow key -> megaflow, per polling
//! thread, in front of the megaflow cache.
//!
//! A fixed array of entries (a power of two), each holding a whole
//! [`FlowKey`], its hash and a [`FlowRef`] into the thread's
//! [`MegaflowCache`](crate::megaflow::MegaflowCache). A key may live in one
//! of two positions, taken from the low and the high bits of its hash. A hit
//! needs equal hashes, equal keys, and a reference that is still live (the
//! caller checks with `MegaflowCache::get_live`): removing a megaflow
//! invalidates its EMC entries without touching them.
//!
//! Insertion is probabilistic: on a megaflow hit the key is inserted with
//! probability `1 / insert_inv_prob` (a per-cache xorshift generator, no
//! shared state), so a flood of short flows does not thrash entries that
//! long flows use; `insert_inv_prob = 1` always inserts and `0` disables the
//! cache. The victim is an entry that is empty or stale, else the one in the
//! second position.
//!
//! The hash covers the packet stages of the key plus `in_port` and
//! `recirc_id`; other metadata is not hashed but is compared, so keys that
//! differ only there share a bucket and never match each other.
//!
//! Ownership: one per polling thread; no lock, no allocation after creation.

use crate::flow::FlowKey;
use crate::flow::hash::hash_words;
use crate::flow::key::STAGE_L2;
use crate::megaflow::FlowRef;

/// Default number of entries (as in Open vSwitch).
pub const DEFAULT_ENTRIES: usize = 8192;
/// Default inverse insertion probability (as in Open vSwitch: 1 in 100).
pub const DEFAULT_INSERT_INV_PROB: u32 = 100;

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: u32,
    flow: FlowRef,
    /// The key's metadata is zero but for `in_port` (see [`plain_meta`]).
    plain: bool,
    key: FlowKey,
}

const VACANT: Entry = Entry {
    hash: 0,
    flow: FlowRef {
        id: 0,
        generation: 0,
    },
    plain: false,
    key: FlowKey::ZERO,
};

/// True when every byte of the key's metadata stage is zero except those of
/// `in_port`: the key of a packet straight from a port.
pub fn plain_meta(key: &FlowKey) -> bool {
    let b = key.as_bytes();
    let p = core::mem::offset_of!(FlowKey, in_port);
    b[..p].iter().all(|&x| x == 0) && b[p + 4..STAGE_L2 * 8].iter().all(|&x| x == 0)
}

/// The exact-match cache. See the module documentation.
#[derive(Debug)]
pub struct Emc {
    entries: Box<[Entry]>,
    mask: usize,
    insert_inv_prob: u32,
    rng: u32,
}

/// The EMC hash of a key.
#[inline]
pub fn emc_hash(key: &FlowKey) -> u32 {
    hash_words(
        &key.words()[STAGE_L2..],
        key.in_port ^ key.recirc_id.rotate_left(16),
    )
}

impl Emc {
    /// A cache of `entries` entries (rounded up to a power of two, at least
    /// 2) inserting with probability `1 / insert_inv_prob` (0 disables it).
    pub fn new(entries: usize, insert_inv_prob: u32) -> Emc {
        let n = entries.max(2).next_power_of_two();
        Emc {
            entries: vec![VACANT; n].into_boxed_slice(),
            mask: n - 1,
            insert_inv_prob,
            rng: 0x2545_f491,
        }
    }

    /// True unless the cache is disabled.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.insert_inv_prob != 0
    }

    /// Changes the insertion probability (0 disables the cache and empties
    /// it).
    pub fn set_insert_inv_prob(&mut self, p: u32) {
        self.insert_inv_prob = p;
        if p == 0 {
            self.clear();
        }
    }

    #[inline(always)]
    fn positions(&self, hash: u32) -> [usize; 2] {
        [hash as usize & self.mask, (hash >> 16) as usize & self.mask]
    }

    /// The flow cached for `key` (whose [`emc_hash`] is `hash`), without
    /// checking liveness.
    #[inline]
    pub fn lookup(&self, key: &FlowKey, hash: u32) -> Option<FlowRef> {
        for pos in self.positions(hash) {
            let e = &self.entries[pos];
            if e.hash == hash && e.flow.generation != 0 && e.key.words() == key.words() {
                return Some(e.flow);
            }
        }
        None
    }

    /// [`Emc::lookup`] for a key whose metadata the caller knows to be
    /// plain ([`plain_meta`]: a packet straight from a port): only the
    /// packet stages and `in_port` are compared (128 bytes instead of 312),
    /// and only entries whose keys are plain too can match.
    #[inline]
    pub fn lookup_plain(&self, key: &FlowKey, hash: u32) -> Option<FlowRef> {
        debug_assert!(plain_meta(key));
        for pos in self.positions(hash) {
            let e = &self.entries[pos];
            if e.hash == hash
                && e.flow.generation != 0
                && e.plain
                && e.key.in_port == key.in_port
                && e.key.words()[STAGE_L2..] == key.words()[STAGE_L2..]
            {
                return Some(e.flow);
            }
        }
        None
    }

    /// Maybe inserts (`key` -> `flow`), following the insertion probability.
    /// `live` says whether a cached reference is still live (stale entries
    /// are preferred victims).
    #[inline]
    pub fn maybe_insert(
        &mut self,
        key: &FlowKey,
        hash: u32,
        flow: FlowRef,
        live: impl Fn(FlowRef) -> bool,
    ) {
        match self.insert_inv_prob {
            0 => return,
            1 => {}
            p => {
                // xorshift32
                let mut x = self.rng;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                self.rng = x;
                if !x.is_multiple_of(p) {
                    return;
                }
            }
        }
        self.insert(key, hash, flow, live);
    }

    /// Inserts (`key` -> `flow`) unconditionally.
    pub fn insert(
        &mut self,
        key: &FlowKey,
        hash: u32,
        flow: FlowRef,
        live: impl Fn(FlowRef) -> bool,
    ) {
        let [a, b] = self.positions(hash);
        let victim = [a, b]
            .into_iter()
            .find(|&p| {
                let e = &self.entries[p];
                e.flow.generation == 0 || (e.hash == hash && e.key.words() == key.words())
            })
            .or_else(|| [a, b].into_iter().find(|&p| !live(self.entries[p].flow)))
            .unwrap_or(b);
        let e = &mut self.entries[victim];
        e.hash = hash;
        e.flow = flow;
        e.plain = plain_meta(key);
        e.key = *key;
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        for e in self.entries.iter_mut() {
            e.flow = FlowRef::default();
        }
    }

    /// Number of entries (capacity).
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Entries holding a reference that `live` accepts.
    pub fn count_live(&self, live: impl Fn(FlowRef) -> bool) -> usize {
        self.entries
            .iter()
            .filter(|e| e.flow.generation != 0 && live(e.flow))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = 1;
        k.dl_type = 0x0800;
        k.nw_src = i;
        k
    }

    #[test]
    fn hit_miss_and_metadata_compared() {
        let mut emc = Emc::new(16, 1);
        let k = key(7);
        let r = FlowRef {
            id: 3,
            generation: 1,
        };
        emc.insert(&k, emc_hash(&k), r, |_| true);
        assert_eq!(emc.lookup(&k, emc_hash(&k)), Some(r));
        assert_eq!(emc.lookup(&key(8), emc_hash(&key(8))), None);
        let mut k2 = k;
        k2.regs[3] = 1; // not hashed, but compared
        assert_eq!(emc_hash(&k2), emc_hash(&k));
        assert_eq!(emc.lookup(&k2, emc_hash(&k2)), None);
        // The plain form agrees for plain keys, and never matches an entry
        // whose key has metadata.
        assert!(plain_meta(&k) && !plain_meta(&k2));
        assert_eq!(emc.lookup_plain(&k, emc_hash(&k)), Some(r));
        let r2 = FlowRef {
            id: 4,
            generation: 1,
        };
        emc.clear();
        emc.insert(&k2, emc_hash(&k2), r2, |_| true);
        assert_eq!(emc.lookup(&k2, emc_hash(&k2)), Some(r2));
        assert_eq!(emc.lookup_plain(&k, emc_hash(&k)), None);
        emc.clear();
        assert_eq!(emc.lookup(&k, emc_hash(&k)), None);
    }

    #[test]
    fn probabilistic_insert_rate() {
        let mut emc = Emc::new(1 << 16, 100);
        for i in 0..20_000 {
            let k = key(i);
            emc.maybe_insert(
                &k,
                emc_hash(&k),
                FlowRef {
                    id: i,
                    generation: 1,
                },
                |_| true,
            );
        }
        let n = emc.count_live(|_| true);
        assert!((100..400).contains(&n), "{n} inserts of 20000 at 1/100");
        let mut off = Emc::new(16, 0);
        off.maybe_insert(
            &key(1),
            emc_hash(&key(1)),
            FlowRef {
                id: 1,
                generation: 1,
            },
            |_| true,
        );
        assert_eq!(off.count_live(|_| true), 0);
        assert!(!off.enabled());
    }

    #[test]
    fn stale_entries_are_victims_first() {
        let mut emc = Emc::new(2, 1);
        // With two entries every key maps to positions drawn from {0, 1}.
        let (a, b, c) = (key(1), key(2), key(3));
        emc.insert(
            &a,
            emc_hash(&a),
            FlowRef {
                id: 1,
                generation: 1,
            },
            |_| true,
        );
        emc.insert(
            &b,
            emc_hash(&b),
            FlowRef {
                id: 2,
                generation: 1,
            },
            |_| true,
        );
        // Flow 1 is gone: inserting c must not evict b when a's slot is a candidate.
        let live = |r: FlowRef| r.id != 1;
        emc.insert(
            &c,
            emc_hash(&c),
            FlowRef {
                id: 3,
                generation: 1,
            },
            live,
        );
        assert_eq!(emc.lookup(&c, emc_hash(&c)).map(|r| r.id), Some(3));
    }
}
