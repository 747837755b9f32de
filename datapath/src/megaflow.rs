//! The megaflow cache: wildcarded flows, one subtable per mask.
//!
//! A megaflow is `(key & mask, mask) -> actions`, installed after an upcall:
//! every packet whose key agrees with the megaflow's key on the mask's bits
//! gets the same actions. The cache is a set of *subtables*, one per distinct
//! mask. A subtable stores its flows' masked keys, compacted to the mask's
//! nonzero words, in an open-addressing hash table (linear probing, at most
//! half full, deletion by backward shift: no tombstones). A lookup tries
//! subtables in order and stops at the first hit; [`MegaflowCache::rank`]
//! orders subtables by hits since the last ranking, so the busiest masks are
//! tried first.
//!
//! Flows live in a slab and are named by a [`FlowRef`] (slot index plus the
//! slot's generation). Removing a flow bumps its slot's generation, so a
//! reference held elsewhere (the EMC) goes stale and
//! [`MegaflowCache::get_live`] refuses it: nothing needs to chase references
//! on removal.
//!
//! Ownership and threads: a cache belongs to one polling thread and is
//! neither shared nor locked. Lookups allocate nothing; inserts allocate (the
//! actions, growing a table) and happen on the upcall path only.
//!
//! Invariants: no two flows in one subtable have the same masked key (an
//! insert of an existing masked key is refused with the existing flow);
//! every flow is in exactly the subtable of its mask; empty subtables are
//! removed.

use crate::actions::Action;
use crate::flow::{FLOW_U64S, FlowKey, FlowMask};

/// A reference to a megaflow: slab slot and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowRef {
    /// Slab slot.
    pub id: u32,
    /// Generation of the slot when the reference was taken (never 0 for a
    /// live flow).
    pub generation: u32,
}

/// One cached megaflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Megaflow {
    /// The key of the packet whose upcall produced this flow (unmasked: it is
    /// what revalidation translates again).
    pub key: FlowKey,
    /// Significant bits.
    pub mask: FlowMask,
    /// What to do with matching packets.
    pub actions: Box<[Action]>,
    /// The table version the actions were computed from.
    pub version: u64,
    /// Packets that used the flow.
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// Last use, in the owner's clock (milliseconds); the creation time until
    /// the first packet.
    pub used_ms: u64,
    /// True once a packet has used the flow.
    pub ever_used: bool,
    /// `packets` and `bytes` when the statistics sweep last read them
    /// ([`crate::pmd::Control::SweepStats`]).
    pub swept: (u64, u64),
}

/// Why an insert was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertError {
    /// A flow with the same mask and masked key exists.
    Exists(FlowRef),
    /// The cache holds its limit of flows.
    Full,
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    flow: Option<Box<Megaflow>>,
}

const EMPTY: u32 = u32::MAX;

#[derive(Debug)]
struct Subtable {
    mask: FlowMask,
    /// Indices of the mask's nonzero words, and those words.
    idx: Box<[u8]>,
    mwords: Box<[u64]>,
    /// (hash, flow slot) per table slot; `EMPTY` flow = free.
    slots: Vec<(u32, u32)>,
    /// Masked key words per table slot (`idx.len()` each).
    keys: Vec<u64>,
    count: usize,
    hits: u64,
}

/// Finishes a subtable hash: one xorshift-multiply round folds the high
/// product bits into the low ones (the table index).
#[inline(always)]
fn finish(mut h: u64) -> u32 {
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (h ^ (h >> 32)) as u32
}

impl Subtable {
    fn new(mask: &FlowMask) -> Subtable {
        let words = mask.0.words();
        let idx: Vec<u8> = (0..FLOW_U64S)
            .filter(|&i| words[i] != 0)
            .map(|i| i as u8)
            .collect();
        let mwords = idx.iter().map(|&i| words[i as usize]).collect();
        let n = idx.len();
        Subtable {
            mask: *mask,
            idx: idx.into(),
            mwords,
            slots: vec![(0, EMPTY); 16],
            keys: vec![0; 16 * n],
            count: 0,
            hits: 0,
        }
    }

    /// Hash of the masked words: each word is rotated by its position and
    /// multiplied independently (no dependency chain, so the multiplies of
    /// a 3-5 word mask overlap), then the sum is finished once.
    #[inline(always)]
    fn hash(&self, k: &[u64; FLOW_U64S]) -> u32 {
        let mut h = self.idx.len() as u64;
        for (j, (&i, &m)) in self.idx.iter().zip(self.mwords.iter()).enumerate() {
            let w = (k[i as usize] & m).rotate_left((j as u32 * 23) & 63);
            h = h.wrapping_add(w.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        finish(h)
    }

    #[inline(always)]
    fn matches(&self, slot: usize, k: &[u64; FLOW_U64S]) -> bool {
        let n = self.idx.len();
        let stored = &self.keys[slot * n..slot * n + n];
        let mut diff = 0;
        for j in 0..n {
            diff |= (k[self.idx[j] as usize] & self.mwords[j]) ^ stored[j];
        }
        diff == 0
    }

    #[inline]
    fn find(&self, k: &[u64; FLOW_U64S], h: u32) -> Option<(usize, u32)> {
        let mask = self.slots.len() - 1;
        let mut pos = h as usize & mask;
        loop {
            let (sh, flow) = self.slots[pos];
            if flow == EMPTY {
                return None;
            }
            if sh == h && self.matches(pos, k) {
                return Some((pos, flow));
            }
            pos = (pos + 1) & mask;
        }
    }

    fn place(&mut self, k: &[u64; FLOW_U64S], h: u32, flow: u32) {
        let mask = self.slots.len() - 1;
        let n = self.idx.len();
        let mut pos = h as usize & mask;
        while self.slots[pos].1 != EMPTY {
            pos = (pos + 1) & mask;
        }
        self.slots[pos] = (h, flow);
        for j in 0..n {
            self.keys[pos * n + j] = k[self.idx[j] as usize] & self.mwords[j];
        }
    }

    fn grow(&mut self) {
        let n = self.idx.len();
        let old_slots = core::mem::replace(&mut self.slots, vec![(0, EMPTY); 0]);
        let old_keys = core::mem::take(&mut self.keys);
        let cap = old_slots.len() * 2;
        self.slots = vec![(0, EMPTY); cap];
        self.keys = vec![0; cap * n];
        let mask = cap - 1;
        for (s, &(h, flow)) in old_slots.iter().enumerate() {
            if flow == EMPTY {
                continue;
            }
            let mut pos = h as usize & mask;
            while self.slots[pos].1 != EMPTY {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = (h, flow);
            self.keys[pos * n..pos * n + n].copy_from_slice(&old_keys[s * n..s * n + n]);
        }
    }

    fn insert(&mut self, k: &[u64; FLOW_U64S], flow: u32) {
        if (self.count + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let h = self.hash(k);
        self.place(k, h, flow);
        self.count += 1;
    }

    /// Removes the entry at table slot `pos` (backward-shift deletion).
    fn remove_at(&mut self, mut pos: usize) {
        let mask = self.slots.len() - 1;
        let n = self.idx.len();
        let mut next = (pos + 1) & mask;
        loop {
            let (h, flow) = self.slots[next];
            if flow == EMPTY {
                break;
            }
            let home = h as usize & mask;
            // Move `next` back into `pos` if its home is not in (pos, next].
            let dist_next = next.wrapping_sub(home) & mask;
            let dist_pos = pos.wrapping_sub(home) & mask;
            if dist_pos < dist_next {
                self.slots[pos] = self.slots[next];
                self.keys.copy_within(next * n..next * n + n, pos * n);
                pos = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[pos] = (0, EMPTY);
        self.count -= 1;
    }
}

/// The megaflow cache of one polling thread. See the module documentation.
#[derive(Debug)]
pub struct MegaflowCache {
    slots: Vec<Slot>,
    free: Vec<u32>,
    count: usize,
    limit: usize,
    subtables: Vec<Subtable>,
}

impl Default for MegaflowCache {
    fn default() -> Self {
        Self::new(usize::MAX)
    }
}

impl MegaflowCache {
    /// An empty cache that holds at most `limit` flows.
    pub fn new(limit: usize) -> MegaflowCache {
        MegaflowCache {
            slots: Vec::new(),
            free: Vec::new(),
            count: 0,
            limit,
            subtables: Vec::new(),
        }
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the cache holds no flow.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of subtables (distinct masks).
    pub fn subtables(&self) -> usize {
        self.subtables.len()
    }

    /// The flow limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the flow limit (flows above it are not removed; inserts are
    /// refused until the count is below it).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// The flow matching `key`, trying subtables in rank order.
    #[inline]
    pub fn lookup(&mut self, key: &FlowKey) -> Option<FlowRef> {
        let k = key.words();
        for st in self.subtables.iter_mut() {
            let h = st.hash(k);
            if let Some((_, flow)) = st.find(k, h) {
                st.hits += 1;
                let generation = self.slots[flow as usize].generation;
                return Some(FlowRef {
                    id: flow,
                    generation,
                });
            }
        }
        None
    }

    /// Looks up the packets of a batch whose bit is set in `todo` (bit `i`
    /// = `keys[i]`), subtable by subtable: all hashes of a subtable first,
    /// then all probes, so independent packets overlap. Hits are written to
    /// `out[i]` and their bits cleared; returns the bits still missing.
    #[inline]
    pub fn lookup_batch(&mut self, keys: &[FlowKey], mut todo: u32, out: &mut [FlowRef]) -> u32 {
        let n = keys.len().min(out.len()).min(32);
        if n < 32 {
            todo &= (1u32 << n) - 1;
        }
        let mut hashes = [0u32; 32];
        for st in self.subtables.iter_mut() {
            if todo == 0 {
                break;
            }
            let mut bits = todo;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                hashes[i] = st.hash(keys[i].words());
                bits &= bits - 1;
            }
            let mut bits = todo;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some((_, flow)) = st.find(keys[i].words(), hashes[i]) {
                    st.hits += 1;
                    out[i] = FlowRef {
                        id: flow,
                        generation: self.slots[flow as usize].generation,
                    };
                    todo &= !(1 << i);
                }
            }
        }
        todo
    }

    /// Installs a flow. The key is stored unmasked (see [`Megaflow::key`]).
    pub fn insert(
        &mut self,
        key: &FlowKey,
        mask: &FlowMask,
        actions: &[Action],
        version: u64,
        now_ms: u64,
    ) -> Result<FlowRef, InsertError> {
        let k = key.words();
        let st_idx = match self.subtables.iter().position(|s| s.mask == *mask) {
            Some(i) => {
                let st = &self.subtables[i];
                if let Some((_, flow)) = st.find(k, st.hash(k)) {
                    let generation = self.slots[flow as usize].generation;
                    return Err(InsertError::Exists(FlowRef {
                        id: flow,
                        generation,
                    }));
                }
                i
            }
            None => usize::MAX,
        };
        if self.count >= self.limit {
            return Err(InsertError::Full);
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(Slot {
                    generation: 1,
                    flow: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[id as usize];
        slot.flow = Some(Box::new(Megaflow {
            key: *key,
            mask: *mask,
            actions: actions.into(),
            version,
            packets: 0,
            bytes: 0,
            used_ms: now_ms,
            ever_used: false,
            swept: (0, 0),
        }));
        let r = FlowRef {
            id,
            generation: slot.generation,
        };
        let st_idx = if st_idx == usize::MAX {
            self.subtables.push(Subtable::new(mask));
            self.subtables.len() - 1
        } else {
            st_idx
        };
        self.subtables[st_idx].insert(k, id);
        self.count += 1;
        Ok(r)
    }

    /// Removes the flow in slot `id` (if any) and returns it.
    pub fn remove(&mut self, id: u32) -> Option<Box<Megaflow>> {
        let flow = self.slots.get_mut(id as usize)?.flow.take()?;
        let slot = &mut self.slots[id as usize];
        slot.generation = slot.generation.wrapping_add(1).max(1);
        self.free.push(id);
        self.count -= 1;
        let k = flow.key.words();
        if let Some(i) = self.subtables.iter().position(|s| s.mask == flow.mask) {
            let st = &mut self.subtables[i];
            if let Some((pos, f)) = st.find(k, st.hash(k))
                && f == id
            {
                st.remove_at(pos);
            }
            if st.count == 0 {
                self.subtables.remove(i);
            }
        }
        Some(flow)
    }

    /// Removes every flow.
    pub fn clear(&mut self) {
        for id in 0..self.slots.len() as u32 {
            self.remove(id);
        }
    }

    /// The flow `r` names, if it is still there.
    #[inline]
    pub fn get_live(&self, r: FlowRef) -> Option<&Megaflow> {
        match self.slots.get(r.id as usize) {
            Some(s) if s.generation == r.generation => s.flow.as_deref(),
            _ => None,
        }
    }

    /// The flow in slot `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&Megaflow> {
        self.slots.get(id as usize)?.flow.as_deref()
    }

    /// The flow in slot `id`, mutable (statistics, actions).
    #[inline]
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Megaflow> {
        self.slots.get_mut(id as usize)?.flow.as_deref_mut()
    }

    /// Every flow with its slot id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Megaflow)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.flow.as_deref().map(|f| (i as u32, f)))
    }

    /// Every flow with its reference, mutable (statistics sweeps).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (FlowRef, &mut Megaflow)> {
        self.slots.iter_mut().enumerate().filter_map(|(i, s)| {
            let generation = s.generation;
            s.flow.as_deref_mut().map(|f| {
                (
                    FlowRef {
                        id: i as u32,
                        generation,
                    },
                    f,
                )
            })
        })
    }

    /// Orders subtables by hits since the last ranking (most first) and
    /// restarts the counts.
    pub fn rank(&mut self) {
        self.subtables.sort_by_key(|s| core::cmp::Reverse(s.hits));
        for s in self.subtables.iter_mut() {
            s.hits = 0;
        }
    }

    /// The masks of the subtables, in lookup order.
    pub fn masks(&self) -> impl Iterator<Item = &FlowMask> {
        self.subtables.iter().map(|s| &s.mask)
    }

    /// Removes flows not used since `now_ms - max_idle_ms`; returns how many.
    pub fn expire(&mut self, now_ms: u64, max_idle_ms: u64) -> usize {
        let mut n = 0;
        for id in 0..self.slots.len() as u32 {
            if let Some(f) = self.get(id)
                && now_ms.saturating_sub(f.used_ms) > max_idle_ms
            {
                self.remove(id);
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(nw_dst: u32, tp_dst: u16) -> FlowKey {
        let mut k = FlowKey::ZERO;
        k.in_port = 1;
        k.dl_type = 0x0800;
        k.nw_proto = 6;
        k.nw_dst = nw_dst;
        k.tp_dst = tp_dst;
        k
    }

    fn mask_dst(prefix: u32) -> FlowMask {
        let mut m = FlowMask::CATCHALL;
        m.dl_type = 0xffff;
        m.nw_dst = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        m
    }

    #[test]
    fn insert_lookup_remove() {
        let mut c = MegaflowCache::new(10);
        let r = c
            .insert(
                &key(0x0a00_0001, 80),
                &mask_dst(24),
                &[Action::Output(2)],
                1,
                0,
            )
            .unwrap();
        assert_eq!(c.lookup(&key(0x0a00_00fe, 22)), Some(r));
        assert_eq!(c.lookup(&key(0x0a00_01fe, 22)), None);
        assert_eq!(
            c.insert(&key(0x0a00_0002, 1), &mask_dst(24), &[], 1, 0),
            Err(InsertError::Exists(r))
        );
        let r2 = c
            .insert(
                &key(0x0b00_0000, 0),
                &mask_dst(8),
                &[Action::Output(3)],
                1,
                0,
            )
            .unwrap();
        assert_eq!((c.len(), c.subtables()), (2, 2));
        assert_eq!(c.lookup(&key(0x0bff_ffff, 0)), Some(r2));
        assert!(c.remove(r.id).is_some());
        assert_eq!(c.get_live(r), None, "a removed flow's reference is stale");
        assert_eq!(c.lookup(&key(0x0a00_00fe, 22)), None);
        assert_eq!((c.len(), c.subtables()), (1, 1));
        // The slot is reused with a new generation.
        let r3 = c.insert(&key(1, 1), &mask_dst(32), &[], 2, 0).unwrap();
        assert_eq!(r3.id, r.id);
        assert_ne!(r3.generation, r.generation);
        assert_eq!(c.get_live(r3).map(|f| f.version), Some(2));
    }

    #[test]
    fn flow_limit_refuses_inserts() {
        let mut c = MegaflowCache::new(2);
        c.insert(&key(1, 0), &mask_dst(32), &[], 1, 0).unwrap();
        c.insert(&key(2, 0), &mask_dst(32), &[], 1, 0).unwrap();
        assert_eq!(
            c.insert(&key(3, 0), &mask_dst(32), &[], 1, 0),
            Err(InsertError::Full)
        );
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn ranking_puts_busy_subtables_first() {
        let mut c = MegaflowCache::default();
        for (p, dst) in [(8, 0x0b00_0000), (16, 0x0c0c_0000), (24, 0x0a00_0000)] {
            c.insert(&key(dst, 0), &mask_dst(p), &[], 1, 0).unwrap();
        }
        for _ in 0..5 {
            assert!(c.lookup(&key(0x0a00_0018, 0)).is_some()); // the /24 flow only
        }
        c.rank();
        assert_eq!(c.masks().next(), Some(&mask_dst(24)));
    }

    #[test]
    fn expiry_removes_idle_flows() {
        let mut c = MegaflowCache::default();
        let a = c.insert(&key(1, 0), &mask_dst(32), &[], 1, 0).unwrap();
        let b = c.insert(&key(2, 0), &mask_dst(32), &[], 1, 0).unwrap();
        if let Some(f) = c.get_mut(b.id) {
            f.used_ms = 9_000;
        }
        assert_eq!(c.expire(10_500, 10_000), 1);
        assert!(c.get_live(a).is_none() && c.get_live(b).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Against a linear reference: random inserts and removes over a few
        /// masks; every lookup agrees with a scan (masked keys never overlap
        /// within a mask, and keys are chosen so masks do not overlap
        /// either: each mask's flows carry a distinct tp_dst).
        #[test]
        fn agrees_with_linear_scan(ops in proptest::collection::vec((0u8..3, 0u32..32, 0u16..4, any::<bool>()), 1..120)) {
            let mut c = MegaflowCache::default();
            let mut reference: Vec<(FlowKey, FlowMask, u32)> = Vec::new();
            let masks: Vec<FlowMask> = (0..4u16).map(|i| {
                let mut m = mask_dst(24 + 2 * u32::from(i));
                m.tp_dst = 0xffff;
                m
            }).collect();
            for (op, dst, mi, _) in ops {
                let k = key(dst << 3, mi);
                let m = masks[mi as usize];
                match op {
                    0 | 1 => {
                        let exists = reference.iter().any(|(rk, rm, _)| *rm == m && k.equal_masked(rk, rm));
                        let r = c.insert(&k, &m, &[], 0, 0);
                        prop_assert_eq!(r.is_err(), exists);
                        if let Ok(r) = r {
                            reference.push((k, m, r.id));
                        }
                    }
                    _ => {
                        if let Some(pos) = reference.iter().position(|(rk, rm, _)| k.equal_masked(rk, rm)) {
                            let (_, _, id) = reference.swap_remove(pos);
                            prop_assert!(c.remove(id).is_some());
                        }
                    }
                }
                let mut batch = Vec::new();
                let mut wants = Vec::new();
                for probe in 0..32u32 {
                    for t in 0..4u16 {
                        let pk = key(probe << 3 | 5, t);
                        let want = reference.iter().find(|(rk, rm, _)| pk.equal_masked(rk, rm)).map(|r| r.2);
                        prop_assert_eq!(c.lookup(&pk).map(|r| r.id), want);
                        batch.push(pk);
                        wants.push(want);
                    }
                }
                // The batch form agrees, 32 keys at a time.
                for (keys, wants) in batch.chunks(32).zip(wants.chunks(32)) {
                    let mut out = [FlowRef::default(); 32];
                    let miss = c.lookup_batch(keys, u32::MAX, &mut out);
                    for (i, w) in wants.iter().enumerate() {
                        prop_assert_eq!(miss & (1 << i) != 0, w.is_none());
                        if let Some(id) = w {
                            prop_assert_eq!(out[i].id, *id);
                        }
                    }
                }
            }
            prop_assert_eq!(c.len(), reference.len());
        }
    }
}
