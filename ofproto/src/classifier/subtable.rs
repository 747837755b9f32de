//! One subtable: every rule that shares one mask.
//!
//! The mask's nonzero words are kept as a compact list (`widx`/`wmask`),
//! split by stage (metadata, L2, L3, L4; empty stages are dropped). Rules
//! with identical masked keys form a *group*; a group's masked words are
//! stored contiguously in `vals` (stride = number of mask words), so a
//! lookup compares a few dense words instead of two 312-byte keys.
//!
//! Hashing is incremental: a chain over the masked words, in order, gives a
//! hash of every stage prefix along the way. The hash of each non-final
//! stage prefix is counted in that stage's index (a counting set); the hash
//! of the whole masked key locates the group in `table`.

use super::htable::{Filter, HashTable};
use super::trie::{TRIE_FIELDS, TrieField};
use datapath::flow::hash::finish;
use datapath::flow::key::{FLOW_U64S, FlowKey, FlowMask, STAGE_L2, STAGE_L3, STAGE_L4};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const NIL: u32 = u32::MAX;

const K: u64 = 0x9e37_79b9_7f4a_7c15;
const SEED: u64 = 0x243f_6a88_85a3_08d3;

#[inline(always)]
fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(K).rotate_left(29)
}

const STAGE_STARTS: [usize; 4] = [0, STAGE_L2, STAGE_L3, STAGE_L4];

/// A set of rules with identical masked keys.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    /// Hash of the masked key.
    pub(super) hash: u32,
    /// First rule of the group's list (highest priority first), or [`NIL`]
    /// for a free slot.
    pub(super) head: u32,
}

#[derive(Debug)]
pub(super) struct Subtable {
    pub(super) mask: Arc<FlowMask>,
    n_words: usize,
    widx: [u8; FLOW_U64S],
    wmask: [u64; FLOW_U64S],
    /// Exclusive end (in `widx`) of each non-empty stage, in order.
    stage_end: [u8; 4],
    n_stages: usize,
    /// The stage before which the tries are consulted (`usize::MAX`: never).
    trie_stage: usize,
    /// Prefix length of the mask on each [`TrieField`] (0: not tracked).
    pub(super) trie_plen: [u8; 4],
    /// Counting sets of stage-prefix hashes, for every stage but the last.
    indices: [HashTable; 3],
    /// Filters over the same hashes (what lookups test).
    filters: [Filter; 3],
    /// Hash of the masked key -> group index.
    table: HashTable,
    /// Filter over the groups' hashes, tested before `table`.
    table_filter: Filter,
    pub(super) groups: Vec<Group>,
    free_groups: Vec<u32>,
    vals: Vec<u64>,
    /// Number of rules per priority.
    prios: BTreeMap<u32, u32>,
    pub(super) n_rules: usize,
}

/// Per-lookup, lazily filled results of the trie walks.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TrieCtx {
    done: bool,
    m: super::trie::TrieMatch,
}

impl Subtable {
    /// A subtable for `mask`; `tracked` tells which [`TRIE_FIELDS`] have
    /// prefix tracking.
    pub(super) fn new(mask: &FlowMask, tracked: [bool; 4]) -> Subtable {
        let words = mask.0.words();
        let mut widx = [0u8; FLOW_U64S];
        let mut wmask = [0u64; FLOW_U64S];
        let mut n = 0;
        let mut stage_end = [0u8; 4];
        let mut n_stages = 0;
        let mut trie_stage = usize::MAX;
        let mut trie_plen = [0u8; 4];
        for ((f, plen), on) in TRIE_FIELDS.iter().zip(trie_plen.iter_mut()).zip(tracked) {
            *plen = if on { f.prefix_len(mask) } else { 0 };
        }
        for (s, &start) in STAGE_STARTS.iter().enumerate() {
            let end = STAGE_STARTS.get(s + 1).copied().unwrap_or(FLOW_U64S);
            let before = n;
            for (i, &w) in words.iter().enumerate().take(end).skip(start) {
                if w != 0 {
                    widx[n] = i as u8;
                    wmask[n] = w;
                    n += 1;
                }
            }
            if n > before {
                // Every tracked field lives in the L3 stage.
                if s == 2 && trie_plen.iter().any(|&p| p != 0) {
                    trie_stage = n_stages;
                }
                stage_end[n_stages] = n as u8;
                n_stages += 1;
            }
        }
        Subtable {
            mask: Arc::new(*mask),
            n_words: n,
            widx,
            wmask,
            stage_end,
            n_stages,
            trie_stage,
            trie_plen,
            indices: Default::default(),
            filters: Default::default(),
            table: HashTable::default(),
            table_filter: Filter::default(),
            groups: Vec::new(),
            free_groups: Vec::new(),
            vals: Vec::new(),
            prios: BTreeMap::new(),
            n_rules: 0,
        }
    }

    /// Highest priority of any rule (in any version), or `None` when empty.
    pub(super) fn max_priority(&self) -> Option<u32> {
        self.prios.last_key_value().map(|(&p, _)| p)
    }

    /// Accounts for one more rule at `priority`.
    pub(super) fn add_priority(&mut self, priority: u32) {
        *self.prios.entry(priority).or_insert(0) += 1;
        self.n_rules += 1;
    }

    /// Accounts for one rule fewer at `priority`.
    pub(super) fn sub_priority(&mut self, priority: u32) {
        if let Some(c) = self.prios.get_mut(&priority) {
            *c -= 1;
            if *c == 0 {
                self.prios.remove(&priority);
            }
        }
        self.n_rules -= 1;
    }

    /// The stage hashes of `key & mask`: `out[s]` for each non-empty stage,
    /// the last one being the hash of the whole masked key.
    fn stage_hashes(&self, key: &FlowKey) -> ([u32; 4], u32) {
        let words = key.words();
        let mut out = [0u32; 4];
        let mut h = SEED;
        let mut pos = 0;
        for (s, o) in out.iter_mut().enumerate().take(self.n_stages) {
            let end = usize::from(self.stage_end[s]);
            while pos < end {
                h = mix(h, words[usize::from(self.widx[pos])] & self.wmask[pos]);
                pos += 1;
            }
            *o = finish(h);
        }
        (out, finish(h))
    }

    #[inline]
    fn group_vals(&self, g: u32) -> &[u64] {
        let n = self.n_words;
        let start = g as usize * n;
        &self.vals[start..start + n]
    }

    /// True when group `g` has the masked key of `words`.
    #[inline]
    fn group_matches(&self, g: u32, words: &[u64; FLOW_U64S]) -> bool {
        let vals = self.group_vals(g);
        let mut diff = 0;
        for (i, &v) in vals.iter().enumerate() {
            diff |= (words[usize::from(self.widx[i])] & self.wmask[i]) ^ v;
        }
        diff == 0
    }

    /// The group holding the masked key of `key`, if any (writer side: no
    /// un-wildcarding).
    pub(super) fn find_group(&self, key: &FlowKey) -> Option<u32> {
        let (_, hash) = self.stage_hashes(key);
        let words = key.words();
        self.table.find(hash, |g| self.group_matches(g, words))
    }

    /// Finds or creates the group of `key` (already masked). Returns the
    /// group and whether it is new; a new group has `head == NIL`.
    pub(super) fn find_or_add_group(&mut self, key: &FlowKey) -> (u32, bool) {
        let (stage, hash) = self.stage_hashes(key);
        let words = key.words();
        if let Some(g) = self.table.find(hash, |g| self.group_matches(g, words)) {
            return (g, false);
        }
        let n_indices = self.n_stages.saturating_sub(1);
        let stages = self.indices.iter_mut().zip(&mut self.filters);
        for ((index, filter), &h) in stages.zip(&stage[..n_indices]) {
            if index.count_of(h) == 0 {
                filter.add(h, index.hashes());
            }
            index.count_up(h);
        }
        self.table_filter.add(hash, self.table.hashes());
        let g = match self.free_groups.pop() {
            Some(g) => {
                self.groups[g as usize] = Group { hash, head: NIL };
                g
            }
            None => {
                self.groups.push(Group { hash, head: NIL });
                self.vals.resize(self.vals.len() + self.n_words, 0);
                (self.groups.len() - 1) as u32
            }
        };
        let n = self.n_words;
        let start = g as usize * n;
        for i in 0..n {
            self.vals[start + i] = words[usize::from(self.widx[i])] & self.wmask[i];
        }
        self.table.insert(hash, g);
        (g, true)
    }

    /// Removes group `g`, which must have no rules left. `key` is any key
    /// with the group's masked key.
    pub(super) fn remove_group(&mut self, g: u32, key: &FlowKey) {
        let (stage, hash) = self.stage_hashes(key);
        debug_assert_eq!(hash, self.groups[g as usize].hash);
        let n_indices = self.n_stages.saturating_sub(1);
        let stages = self.indices.iter_mut().zip(&mut self.filters);
        for ((index, filter), &h) in stages.zip(&stage[..n_indices]) {
            index.count_down(h);
            if index.count_of(h) == 0 {
                filter.remove(h);
            }
        }
        self.table_filter.remove(hash);
        self.table.remove(hash, g);
        self.groups[g as usize].head = NIL;
        self.free_groups.push(g);
    }

    /// Un-wildcards the mask words `0..pos` into `wc`.
    #[inline]
    fn unwildcard(&self, wc: &mut [u64; FLOW_U64S], pos: usize) {
        for i in 0..pos {
            wc[usize::from(self.widx[i])] |= self.wmask[i];
        }
    }

    /// Staged lookup of `key`: the group with the key's masked value, if any.
    /// Adds to `wc` every bit the decision depended on.
    #[inline]
    pub(super) fn lookup(
        &self,
        key: &FlowKey,
        wc: &mut FlowMask,
        tries: &[super::trie::Trie; 4],
        ctx: &mut [TrieCtx; 4],
    ) -> Option<u32> {
        // The tries first: when they prove that no tracked prefix of this
        // subtable's lengths matches the key, no rule here can match, and
        // that decision read only the address bits the walk examined (the
        // walk itself is done once per lookup and cached in `ctx`).
        if self.trie_stage != usize::MAX && self.trie_skip(key, wc, tries, ctx) {
            return None;
        }
        let words = key.words();
        let mut h = SEED;
        let mut pos = 0;
        let last = self.n_stages.saturating_sub(1);
        for s in 0..self.n_stages {
            let end = usize::from(self.stage_end[s]);
            while pos < end {
                h = mix(h, words[usize::from(self.widx[pos])] & self.wmask[pos]);
                pos += 1;
            }
            if s < last {
                if !self.filters[s].may_contain(finish(h)) {
                    self.miss(wc, pos);
                    return None;
                }
            } else {
                let hash = finish(h);
                let found = if self.table_filter.may_contain(hash) {
                    self.table.find(hash, |g| self.group_matches(g, words))
                } else {
                    None
                };
                if found.is_none() {
                    self.miss(wc, pos);
                } else {
                    self.unwildcard(wc.0.words_mut(), pos);
                }
                return found;
            }
        }
        // Catch-all mask: no stages.
        self.table.find(finish(h), |_| true)
    }

    /// Un-wildcards what a miss at stage `s` (mask words `start..end`)
    /// depended on: the stages up to `s`. (When prefix tracking could prove
    /// the miss with fewer bits, [`Subtable::lookup`] skipped the subtable
    /// before hashing anything.)
    #[inline]
    fn miss(&self, wc: &mut FlowMask, end: usize) {
        self.unwildcard(wc.0.words_mut(), end);
    }

    /// True when the tries prove that no rule of this subtable can match
    /// `key`; then the address bits that proof needed are in `wc`.
    #[inline]
    fn trie_skip(
        &self,
        key: &FlowKey,
        wc: &mut FlowMask,
        tries: &[super::trie::Trie; 4],
        ctx: &mut [TrieCtx; 4],
    ) -> bool {
        for (i, &plen) in self.trie_plen.iter().enumerate() {
            if plen == 0 {
                continue;
            }
            let field: TrieField = TRIE_FIELDS[i];
            let c = &mut ctx[i];
            if !c.done {
                c.m = tries[i].lookup(field.value(key));
                c.done = true;
            }
            if !c.m.has_len(plen) {
                // Whether a prefix of length `plen` matches depends on the
                // first `plen` bits only, and the walk decided it from its
                // first `bits` bits: the smaller of the two suffices.
                field.unwildcard(wc, plen.min(c.m.bits));
                return true;
            }
        }
        false
    }

    /// Bytes of heap memory used.
    pub(super) fn heap_bytes(&self) -> usize {
        self.indices
            .iter()
            .map(HashTable::heap_bytes)
            .sum::<usize>()
            + self.filters.iter().map(Filter::heap_bytes).sum::<usize>()
            + self.table.heap_bytes()
            + self.table_filter.heap_bytes()
            + self.groups.capacity() * size_of::<Group>()
            + self.vals.capacity() * 8
            + self.prios.len() * 32
    }

    /// The masked words of group `g` tested against a loose filter: true
    /// when the group's key agrees with `fkey` on every bit of `fmask`
    /// (which must be a subset of this subtable's mask).
    pub(super) fn group_agrees(&self, g: u32, fkey: &FlowKey, fmask: &FlowMask) -> bool {
        let (fk, fm) = (fkey.words(), fmask.0.words());
        self.group_vals(g).iter().enumerate().all(|(i, &v)| {
            let w = usize::from(self.widx[i]);
            (v ^ fk[w]) & fm[w] == 0
        })
    }
}
