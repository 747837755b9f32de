//! The OpenFlow classifier: a set of prioritised rules over [`FlowKey`]s,
//! answering "which rule of highest priority matches this packet?" and, with
//! the answer, which bits of the packet the answer depended on.
//!
//! # What it is
//!
//! A [`Classifier<T>`] holds rules. A rule is a [`Match`] (a masked
//! [`FlowKey`] plus its [`FlowMask`]), a priority (`u32`, higher wins), the
//! range of [`Version`]s in which it is visible, and a payload `T` the
//! classifier never looks at (the flow table keeps actions, cookies and
//! counters there). The classifier does no I/O and knows nothing of
//! OpenFlow messages; it is the data structure under one flow table.
//!
//! # Tuple-space search
//!
//! Rules are partitioned by mask: one *subtable* per distinct mask. Within a
//! subtable a rule matches a packet exactly when the packet's key, masked,
//! equals the rule's masked key, so a subtable is a hash table from the hash
//! of the masked key to the *group* of rules with that masked key; a group
//! keeps its rules sorted by priority, highest first. A lookup probes one
//! hash table per subtable instead of testing every rule.
//!
//! Subtables are kept in a *priority vector*, ordered by the highest priority
//! of any rule they hold (ties: the older subtable first). A lookup visits
//! them in that order and stops as soon as the next subtable's highest
//! priority is not above the best match found so far: no rule there could
//! win. Rule sets whose priorities follow their masks (the usual case:
//! longer prefixes, higher priority) are thus searched only as deep as the
//! first hit.
//!
//! # Un-wildcarding
//!
//! [`Classifier::lookup`] takes a mask `wc` and adds to it every bit of the
//! key it examined. The result is a megaflow: the caller may apply the same
//! decision to every packet that agrees with the key on `wc`.
//!
//! **Mask soundness** is the invariant: for any key `k2` with
//! `k2 & wc == k & wc` (after the lookup of `k`), the lookup of `k2` returns
//! the same rule. Extra bits in `wc` only cost megaflow cache hits; a
//! missing bit forwards packets wrongly. Each step of the lookup below adds
//! exactly the bits its decision read, and the order of the steps (the
//! priority vector, the stages) does not depend on the key, so the whole
//! path, and the result, is a function of the bits in `wc`.
//!
//! Three techniques keep `wc` narrow:
//!
//! * **Staged lookup.** A subtable checks its mask's fields stage by stage:
//!   metadata, then L2, L3, L4 (the stages of [`FlowKey`]'s layout). The
//!   masked key is hashed incrementally; after each stage but the last, the
//!   hash of the stages so far is tested against that stage's *index*, a
//!   one-bit-per-bucket filter of such hashes over the subtable's rules
//!   (small enough to stay in cache; the writer keeps exact counts beside
//!   it). When the hash is absent no rule of the subtable can match, and
//!   only the mask bits of the stages examined are un-wildcarded: a packet
//!   that misses on `in_port` keeps its addresses and ports wildcarded. (A
//!   false positive or hash collision can only make the lookup go on to the
//!   next stage, which adds bits, never loses them.) The last stage has the
//!   same kind of filter in front of the hash table of groups.
//! * **Prefix tracking.** For `nw_src`, `nw_dst`, `ipv6_src` and `ipv6_dst`
//!   the classifier keeps a binary trie of every prefix some subtable
//!   matches on (masks that are CIDR prefixes). When a subtable with a `/L`
//!   prefix on a tracked field misses at its L3 stage, and that stage has
//!   bits not yet in `wc`, it asks the trie (walked at most once per lookup
//!   and field) whether any rule's `/L` prefix matches the packet's address.
//!   When none does, the miss is explained by the leading address bits the
//!   trie walk needed (at most `L`), and only those are un-wildcarded (with
//!   the earlier stages), not the whole L3 stage: with rules on 10.0.0.0/8
//!   and 10.1.0.0/16, a lookup of 192.168.0.1 un-wildcards one bit of
//!   `nw_dst`. This is the decision Open vSwitch makes before hashing the
//!   stage; making it after the miss gives the same masks and spares the
//!   trie walk to lookups that need it. Whether a `/L` prefix matches depends
//!   on the first `L` address bits only, and the walk decides it from the
//!   bits it examined, so the smaller count is sound. Large tries keep a
//!   table indexed by the first 16 address bits that starts the walk near
//!   its end. [`PrefixFields`] selects the tracked fields (all by default).
//! * **Whole-mask fallback.** Otherwise the subtable's whole mask goes into
//!   `wc`, hit or miss.
//!
//! # Ties
//!
//! Among matching rules of equal priority the rule found first wins: the one
//! in the subtable earlier in the priority vector (higher maximum priority,
//! then lower internal subtable number). This is deterministic for a given sequence of
//! operations, and mask-sound, but otherwise unspecified, as in OpenFlow
//! (overlapping rules of equal priority have no defined order). Two rules
//! with the same match and priority are never visible in the same version
//! ([`Classifier::insert`] refuses, [`Classifier::replace`] retires the old
//! one).
//!
//! # Versions
//!
//! Each rule is visible in the half-open range `[added, removed)` of
//! [`Version`]s; `removed` is [`VERSION_NEVER`] until the rule is removed.
//! The classifier has a *visible version*; lookups normally run at it. A
//! writer prepares a batch (an OpenFlow bundle, or flow_mods up to a
//! barrier) by inserting and removing rules at a later version `v`, which no
//! lookup at the visible version sees, then calls [`Classifier::publish`]`(v)`:
//! the whole batch becomes visible at once. Changes made at a version not
//! above the visible one take effect immediately.
//!
//! Invariants: a lookup at version `v` returns only rules with
//! `added <= v < removed`; a rule is stored until it is invisible in every
//! version from the visible one on (`removed <= visible`), then purged.
//! Lookups at versions older than the visible one are therefore not
//! supported (they may miss rules already purged).
//!
//! # Complexity
//!
//! With `S` subtables, a lookup costs `O(S)` filter tests and hash probes in
//! the worst case (fewer thanks to the priority vector), each `O(1)`
//! expected, plus at most one walk per tracked field of at most its width
//! (32 or 128 steps; in practice one shortcut-table access and the few nodes
//! below 16 bits). Insertion and removal cost `O(1)`
//! expected hash-table work, `O(log P)` for the per-subtable priority counts
//! (`P` distinct priorities), one trie walk per tracked field (plus, when a
//! prefix of `l <= 16` bits gains its first or loses its last user,
//! `2^(16-l)` shortcut entries), and `O(S)` to reposition a subtable in the
//! priority vector when its highest priority changes. Filters grow by
//! rebuilding, amortised `O(1)`. A lookup allocates nothing.
//!
//! # Thread safety
//!
//! There is one writer. Writes take `&mut self`, lookups `&self`;
//! `Classifier<T>` is `Send + Sync` when `T` is, and contains no interior
//! mutability or `unsafe`. For now readers in other threads share it as
//! `Arc<RwLock<Classifier<T>>>`:
//!
//! * Readers take the read lock around a lookup (or a batch of lookups) and
//!   pass the [`Classifier::visible_version`] they read under that lock.
//! * The writer takes the write lock for each individual change, at a
//!   version ahead of the visible one, so readers interleave with a batch
//!   being built and still see only the old state; [`Classifier::publish`]
//!   (also under the write lock, and O(1) plus the purge of retired rules)
//!   switches them over atomically.
//!
//! What remains of "readers never block writers": with a lock the writer
//! waits for lookups in progress to finish (microseconds each). Removing that
//! wait needs either concurrent hash tables with deferred reclamation (RCU
//! or epochs, which means `unsafe` or a crate such as `crossbeam-epoch`), or
//! two copies of the classifier in the left-right pattern (the writer applies
//! each batch to the copy no reader holds, swaps an `Arc`, and replays the
//! batch on the other copy once its readers are gone), at twice the memory.
//! The versioning here is what either design needs, so the lookup and batch
//! API will not change.

mod chunked;
mod htable;
mod subtable;
mod trie;

use chunked::Chunked;
use datapath::flow::key::{FlowKey, FlowMask};
use std::collections::HashMap;
use std::sync::Arc;
use subtable::{NIL, Subtable, TrieCtx};
use trie::{TRIE_FIELDS, Trie};

/// A subtable's mask as the key of [`Classifier::by_mask`]: hashed once
/// with the key's own word hash (a few ns for the 312-byte mask), where the
/// derived `Hash` would feed SipHash field by field.
#[derive(Clone, Copy, PartialEq, Eq)]
struct MaskKey(FlowMask);

impl std::hash::Hash for MaskKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u32(self.0.0.hash(0x6d61_736b));
    }
}

/// A hasher for keys that already hash themselves well ([`MaskKey`]): it
/// keeps the one `u32` written, spread over 64 bits.
#[derive(Default)]
struct PrehashedHasher(u64);

impl std::hash::Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by MaskKey; still a usable (if slow) hash.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u32(&mut self, v: u32) {
        // Both halves set so the table's top bits (control bytes) and low
        // bits (bucket index) each get hash bits.
        self.0 = (u64::from(v) << 32 | u64::from(v)) ^ self.0.rotate_left(32);
    }
}

type MaskMap = HashMap<MaskKey, u32, std::hash::BuildHasherDefault<PrehashedHasher>>;

/// A classifier version. See the module documentation.
pub type Version = u64;

/// The `removed` version of a rule that has not been removed.
pub const VERSION_NEVER: Version = u64::MAX;

/// A match: a key and a mask. The key is kept masked, so two `Match`es
/// with the same meaning compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Match {
    key: FlowKey,
    mask: FlowMask,
}

impl Match {
    /// The match of `key` under `mask` (the key's bits outside the mask are
    /// dropped).
    pub fn new(key: &FlowKey, mask: &FlowMask) -> Match {
        Match {
            key: key.masked(mask),
            mask: *mask,
        }
    }

    /// The match of every packet.
    pub fn catchall() -> Match {
        Match {
            key: FlowKey::ZERO,
            mask: FlowMask::CATCHALL,
        }
    }

    /// The masked key.
    pub fn key(&self) -> &FlowKey {
        &self.key
    }

    /// The mask.
    pub fn mask(&self) -> &FlowMask {
        &self.mask
    }

    /// True when `key` matches.
    pub fn matches(&self, key: &FlowKey) -> bool {
        key.equal_masked(&self.key, &self.mask)
    }

    /// True when every packet `self` matches is also matched by `other`:
    /// `self` is at least as specific (the OpenFlow "loose" match of
    /// non-strict modify and delete, with `other` as the filter).
    pub fn is_within(&self, other: &Match) -> bool {
        other.mask.is_subset_of(&self.mask) && self.key.equal_masked(&other.key, &other.mask)
    }
}

/// The words of `key` under the nonzero words of `mask`, in order.
fn sparse_words(key: &FlowKey, mask: &FlowMask) -> Box<[u64]> {
    let (k, m) = (key.words(), mask.0.words());
    k.iter()
        .zip(m)
        .filter(|&(_, &m)| m != 0)
        .map(|(&k, &m)| k & m)
        .collect()
}

/// Identifies a rule while it is stored. Ids of purged rules are not reused
/// for other rules (a generation count tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId {
    index: u32,
    generation: u32,
}

/// A rule as stored in the classifier.
#[derive(Debug)]
pub struct Rule<T> {
    id: RuleId,
    /// The masked key's words under the nonzero words of `mask`, in order
    /// (a rule's match covers a few of the key's 39 words: storing only
    /// those keeps a rule near 80 bytes instead of 370).
    words: Box<[u64]>,
    mask: Arc<FlowMask>,
    priority: u32,
    added: Version,
    removed: Version,
    payload: T,
    // Links: the subtable, group and next rule of the group.
    subtable: u32,
    group: u32,
    next: u32,
}

impl<T> Rule<T> {
    /// The rule's id.
    pub fn id(&self) -> RuleId {
        self.id
    }

    /// The masked key (rebuilt from the stored words).
    pub fn key(&self) -> FlowKey {
        let mut key = FlowKey::ZERO;
        let mut vals = self.words.iter();
        for (k, &m) in key.words_mut().iter_mut().zip(self.mask.0.words()) {
            if m != 0 {
                *k = vals.next().copied().unwrap_or(0);
            }
        }
        key
    }

    /// The mask.
    pub fn mask(&self) -> &FlowMask {
        &self.mask
    }

    /// The match (key and mask).
    pub fn to_match(&self) -> Match {
        Match {
            key: self.key(),
            mask: *self.mask,
        }
    }

    /// The priority (higher wins).
    pub fn priority(&self) -> u32 {
        self.priority
    }

    /// First version in which the rule is visible.
    pub fn added(&self) -> Version {
        self.added
    }

    /// First version in which the rule is no longer visible
    /// ([`VERSION_NEVER`] when not removed).
    pub fn removed(&self) -> Version {
        self.removed
    }

    /// True when the rule is visible in `version`.
    #[inline]
    pub fn is_visible_in(&self, version: Version) -> bool {
        self.added <= version && version < self.removed
    }

    /// The payload.
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// Takes the rule apart, for its payload.
    pub fn into_payload(self) -> T {
        self.payload
    }

    /// True when no version from `visible` on can see the rule.
    fn is_retired(&self, visible: Version) -> bool {
        self.removed <= visible || self.removed <= self.added
    }
}

/// [`Classifier::insert`] refused a rule: a rule with the same match and
/// priority would be visible in the same version.
#[derive(Debug, thiserror::Error)]
#[error("a rule with the same match and priority is already present ({existing:?})")]
pub struct DuplicateRule<T> {
    /// The rule in the way.
    pub existing: RuleId,
    /// The payload of the refused rule, handed back.
    pub payload: T,
}

/// The outcome of [`Classifier::replace`].
#[derive(Debug)]
pub struct Replaced<T> {
    /// The new rule.
    pub id: RuleId,
    /// The rule with the same match and priority that the new one replaces,
    /// if any. It stays stored (invisible from the new rule's version on)
    /// while the change is unpublished.
    pub old: Option<RuleId>,
    /// The replaced rule when it was purged right away (the change was made
    /// at or below the visible version).
    pub purged: Option<Rule<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    rule: Option<Rule<T>>,
}

#[derive(Debug, Clone, Copy)]
struct PvecEntry {
    max_priority: u32,
    subtable: u32,
}

/// Which address fields get prefix tracking (see the module
/// documentation). Tracking narrows megaflows; it costs one trie walk per
/// tracked field in lookups that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixFields {
    /// IPv4 source (and ARP SPA).
    pub nw_src: bool,
    /// IPv4 destination (and ARP TPA).
    pub nw_dst: bool,
    /// IPv6 source.
    pub ipv6_src: bool,
    /// IPv6 destination.
    pub ipv6_dst: bool,
}

impl PrefixFields {
    /// Every field tracked (the default).
    pub const ALL: PrefixFields = PrefixFields {
        nw_src: true,
        nw_dst: true,
        ipv6_src: true,
        ipv6_dst: true,
    };
    /// No prefix tracking.
    pub const NONE: PrefixFields = PrefixFields {
        nw_src: false,
        nw_dst: false,
        ipv6_src: false,
        ipv6_dst: false,
    };

    fn as_array(self) -> [bool; 4] {
        [self.nw_src, self.nw_dst, self.ipv6_src, self.ipv6_dst]
    }
}

impl Default for PrefixFields {
    fn default() -> Self {
        PrefixFields::ALL
    }
}

/// The classifier. See the module documentation.
pub struct Classifier<T> {
    rules: Chunked<Slot<T>>,
    free_rules: Vec<u32>,
    subtables: Vec<Option<Subtable>>,
    free_subtables: Vec<u32>,
    by_mask: MaskMap,
    pvec: Vec<PvecEntry>,
    tries: [Trie; 4],
    tracked: [bool; 4],
    visible: Version,
    n_rules: usize,
    /// Rules removed at a version above the visible one, to purge on
    /// publish.
    pending: Vec<RuleId>,
}

impl<T> std::fmt::Debug for Classifier<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("rules", &self.n_rules)
            .field("subtables", &self.pvec.len())
            .field("visible", &self.visible)
            .finish_non_exhaustive()
    }
}

impl<T> Default for Classifier<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Classifier<T> {
    /// An empty classifier at visible version 0, tracking prefixes on every
    /// address field.
    pub fn new() -> Classifier<T> {
        Classifier::with_prefix_fields(PrefixFields::ALL)
    }

    /// An empty classifier at visible version 0, tracking prefixes on
    /// `fields` only.
    pub fn with_prefix_fields(fields: PrefixFields) -> Classifier<T> {
        Classifier {
            rules: Chunked::default(),
            free_rules: Vec::new(),
            subtables: Vec::new(),
            free_subtables: Vec::new(),
            by_mask: MaskMap::default(),
            pvec: Vec::new(),
            tries: TRIE_FIELDS.map(|f| Trie::new(f.width())),
            tracked: fields.as_array(),
            visible: 0,
            n_rules: 0,
            pending: Vec::new(),
        }
    }

    /// The version lookups should use.
    pub fn visible_version(&self) -> Version {
        self.visible
    }

    /// Number of rules stored, including rules not yet visible and removed
    /// rules not yet purged.
    pub fn len(&self) -> usize {
        self.n_rules
    }

    /// True when no rule is stored.
    pub fn is_empty(&self) -> bool {
        self.n_rules == 0
    }

    /// Number of rules visible in `version` (`O(rules)`).
    pub fn count(&self, version: Version) -> usize {
        self.iter().filter(|r| r.is_visible_in(version)).count()
    }

    /// Number of subtables (distinct masks).
    pub fn n_subtables(&self) -> usize {
        self.pvec.len()
    }

    /// Approximate heap memory used, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.rules.capacity() * size_of::<Slot<T>>()
            + self
                .subtables
                .iter()
                .flatten()
                .map(|s| size_of::<Subtable>() + s.heap_bytes())
                .sum::<usize>()
    }

    /// The rule `id`, while stored.
    pub fn get(&self, id: RuleId) -> Option<&Rule<T>> {
        let slot = self.rules.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.rule.as_ref()
    }

    /// The payload of rule `id`, for modification (match, priority and
    /// versions are fixed).
    pub fn payload_mut(&mut self, id: RuleId) -> Option<&mut T> {
        let slot = self.rules.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.rule.as_mut().map(|r| &mut r.payload)
    }

    #[inline]
    fn rule_at(&self, index: u32) -> &Rule<T> {
        match &self.rules[index as usize].rule {
            Some(r) => r,
            None => unreachable!("dangling rule link"),
        }
    }

    #[inline]
    fn rule_at_mut(&mut self, index: u32) -> &mut Rule<T> {
        match &mut self.rules[index as usize].rule {
            Some(r) => r,
            None => unreachable!("dangling rule link"),
        }
    }

    fn subtable(&self, i: u32) -> &Subtable {
        match &self.subtables[i as usize] {
            Some(s) => s,
            None => unreachable!("dangling subtable link"),
        }
    }

    fn subtable_mut(&mut self, i: u32) -> &mut Subtable {
        match &mut self.subtables[i as usize] {
            Some(s) => s,
            None => unreachable!("dangling subtable link"),
        }
    }

    /// Every stored rule, in no particular order (including rules invisible
    /// in the visible version).
    pub fn iter(&self) -> impl Iterator<Item = &Rule<T>> {
        self.rules.iter().filter_map(|s| s.rule.as_ref())
    }

    /// The rules visible in `version`, highest priority first (equal
    /// priorities in id order). Allocates a vector of references.
    pub fn iter_by_priority(&self, version: Version) -> impl Iterator<Item = &Rule<T>> {
        let mut v: Vec<&Rule<T>> = self.iter().filter(|r| r.is_visible_in(version)).collect();
        v.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)));
        v.into_iter()
    }

    /// The rules visible in `version` whose match is at least as specific
    /// as `filter` (see [`Match::is_within`]): the target set of a
    /// non-strict OpenFlow modify or delete. Order unspecified. Allocates a
    /// vector of references.
    pub fn iter_loose(&self, filter: &Match, version: Version) -> impl Iterator<Item = &Rule<T>> {
        let mut out = Vec::new();
        for e in &self.pvec {
            let st = self.subtable(e.subtable);
            if !filter.mask.is_subset_of(&st.mask) {
                continue;
            }
            if *st.mask == filter.mask {
                if let Some(g) = st.find_group(&filter.key) {
                    self.collect_group(st.groups[g as usize].head, version, &mut out);
                }
                continue;
            }
            for (g, group) in st.groups.iter().enumerate() {
                if group.head != NIL && st.group_agrees(g as u32, &filter.key, &filter.mask) {
                    self.collect_group(group.head, version, &mut out);
                }
            }
        }
        out.into_iter()
    }

    fn collect_group<'a>(&'a self, mut r: u32, version: Version, out: &mut Vec<&'a Rule<T>>) {
        while r != NIL {
            let rule = self.rule_at(r);
            if rule.is_visible_in(version) {
                out.push(rule);
            }
            r = rule.next;
        }
    }

    /// The rule with exactly this match and priority visible in `version`
    /// (OpenFlow strict modify and delete).
    pub fn find_exact(&self, m: &Match, priority: u32, version: Version) -> Option<&Rule<T>> {
        let &st = self.by_mask.get(&MaskKey(m.mask))?;
        let sub = self.subtable(st);
        let g = sub.find_group(&m.key)?;
        let mut r = sub.groups[g as usize].head;
        while r != NIL {
            let rule = self.rule_at(r);
            if rule.priority == priority && rule.is_visible_in(version) {
                return Some(rule);
            }
            if rule.priority < priority {
                break;
            }
            r = rule.next;
        }
        None
    }

    /// The highest-priority rule visible in `version` that matches `key`,
    /// adding to `wc` every bit of `key` the answer depended on (see the
    /// module documentation for the guarantee). Allocates nothing.
    pub fn lookup(&self, version: Version, key: &FlowKey, wc: &mut FlowMask) -> Option<&Rule<T>> {
        let mut ctx = [TrieCtx::default(); 4];
        let mut best: Option<&Rule<T>> = None;
        // The trie walks are likely cache misses: start them now so they
        // overlap with the first subtables' hashing.
        for ((trie, f), on) in self.tries.iter().zip(TRIE_FIELDS).zip(self.tracked) {
            if on {
                trie.touch(f.value(key));
            }
        }
        for e in &self.pvec {
            if let Some(b) = best
                && e.max_priority <= b.priority
            {
                break;
            }
            let Some(st) = &self.subtables[e.subtable as usize] else {
                continue;
            };
            let Some(g) = st.lookup(key, wc, &self.tries, &mut ctx) else {
                continue;
            };
            let mut r = st.groups[g as usize].head;
            while r != NIL {
                let rule = self.rule_at(r);
                if rule.is_visible_in(version) {
                    if best.is_none_or(|b| rule.priority > b.priority) {
                        best = Some(rule);
                    }
                    break;
                }
                r = rule.next;
            }
        }
        best
    }

    /// Adds a rule visible from `version` on. Refused when a rule with the
    /// same match and priority would be visible in some common version.
    pub fn insert(
        &mut self,
        m: Match,
        priority: u32,
        payload: T,
        version: Version,
    ) -> Result<RuleId, DuplicateRule<T>> {
        if let Some(existing) = self.conflicts(&m, priority, version).next() {
            return Err(DuplicateRule { existing, payload });
        }
        Ok(self.insert_unchecked(m, priority, payload, version))
    }

    /// Adds a rule visible from `version` on, retiring (from `version` on)
    /// the rule with the same match and priority visible in `version`, if
    /// any: OpenFlow "add" semantics. Refused only in the odd case of
    /// another identical rule added at a later, unpublished version.
    pub fn replace(
        &mut self,
        m: Match,
        priority: u32,
        payload: T,
        version: Version,
    ) -> Result<Replaced<T>, DuplicateRule<T>> {
        let mut old = None;
        for id in self.conflicts(&m, priority, version) {
            let rule = self.get(id).map(|r| r.added <= version);
            if rule == Some(true) && old.is_none() {
                old = Some(id);
            } else {
                return Err(DuplicateRule {
                    existing: id,
                    payload,
                });
            }
        }
        let purged = old.and_then(|o| self.remove(o, version));
        let id = self.insert_unchecked(m, priority, payload, version);
        Ok(Replaced { id, old, purged })
    }

    /// Rules with match `m` and `priority` visible in some version from
    /// `version` on.
    fn conflicts(
        &self,
        m: &Match,
        priority: u32,
        version: Version,
    ) -> impl Iterator<Item = RuleId> {
        let mut out: Vec<RuleId> = Vec::new();
        if let Some(&st) = self.by_mask.get(&MaskKey(m.mask)) {
            let sub = self.subtable(st);
            if let Some(g) = sub.find_group(&m.key) {
                let mut r = sub.groups[g as usize].head;
                while r != NIL {
                    let rule = self.rule_at(r);
                    if rule.priority == priority && rule.added.max(version) < rule.removed {
                        out.push(rule.id);
                    }
                    r = rule.next;
                }
            }
        }
        out.into_iter()
    }

    fn insert_unchecked(
        &mut self,
        m: Match,
        priority: u32,
        payload: T,
        version: Version,
    ) -> RuleId {
        // The subtable.
        let st = match self.by_mask.get(&MaskKey(m.mask)) {
            Some(&st) => st,
            None => {
                let sub = Subtable::new(&m.mask, self.tracked);
                let st = match self.free_subtables.pop() {
                    Some(i) => {
                        self.subtables[i as usize] = Some(sub);
                        i
                    }
                    None => {
                        self.subtables.push(Some(sub));
                        (self.subtables.len() - 1) as u32
                    }
                };
                self.by_mask.insert(MaskKey(m.mask), st);
                st
            }
        };
        let old_max = self.subtable(st).max_priority();
        let sub = self.subtable_mut(st);
        let (g, new_group) = sub.find_or_add_group(&m.key);
        sub.add_priority(priority);
        let mask = Arc::clone(&sub.mask);
        let head = sub.groups[g as usize].head;
        if new_group {
            let plens = sub.trie_plen;
            for ((trie, f), plen) in self.tries.iter_mut().zip(TRIE_FIELDS).zip(plens) {
                if plen != 0 {
                    trie.insert(f.value(&m.key), plen);
                }
            }
        }

        // The rule slot.
        let index = match self.free_rules.pop() {
            Some(i) => i,
            None => {
                self.rules.push(Slot {
                    generation: 0,
                    rule: None,
                });
                (self.rules.len() - 1) as u32
            }
        };
        let slot = &mut self.rules[index as usize];
        let id = RuleId {
            index,
            generation: slot.generation,
        };
        slot.rule = Some(Rule {
            id,
            words: sparse_words(&m.key, &mask),
            mask,
            priority,
            added: version,
            removed: VERSION_NEVER,
            payload,
            subtable: st,
            group: g,
            next: NIL,
        });

        // Link into the group, before the first rule of lower or equal
        // priority.
        let mut prev = NIL;
        let mut r = head;
        while r != NIL && self.rule_at(r).priority > priority {
            prev = r;
            r = self.rule_at(r).next;
        }
        self.rule_at_mut(index).next = r;
        if prev == NIL {
            self.subtable_mut(st).groups[g as usize].head = index;
        } else {
            self.rule_at_mut(prev).next = index;
        }
        self.n_rules += 1;

        let new_max = self.subtable(st).max_priority();
        if old_max != new_max {
            self.reposition(st, old_max.is_some(), new_max);
        }
        id
    }

    /// Marks rule `id` invisible from `version` on. The rule is purged (and
    /// returned) right away when no version from the visible one on can see
    /// it any more; otherwise it stays stored until [`Classifier::publish`]
    /// reaches `version`. `None` also when `id` is not stored.
    pub fn remove(&mut self, id: RuleId, version: Version) -> Option<Rule<T>> {
        let visible = self.visible;
        let slot = self.rules.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let rule = slot.rule.as_mut()?;
        // A rule already being removed is already in `pending` (possibly
        // twice after an undo: `publish` copes), so no scan of it here:
        // that made bundles of deletes quadratic.
        let newly_removed = rule.removed == VERSION_NEVER;
        rule.removed = rule.removed.min(version);
        if rule.is_retired(visible) {
            Some(self.purge(id.index))
        } else {
            if newly_removed {
                self.pending.push(id);
            }
            None
        }
    }

    /// Cancels a removal not yet published (for a bundle that is rolled
    /// back): the rule becomes visible again in every version from its
    /// `added` on. False when the rule is gone or was not being removed.
    pub fn undo_remove(&mut self, id: RuleId) -> bool {
        let visible = self.visible;
        let Some(slot) = self.rules.get_mut(id.index as usize) else {
            return false;
        };
        if slot.generation != id.generation {
            return false;
        }
        match slot.rule.as_mut() {
            Some(rule) if rule.removed != VERSION_NEVER && rule.removed > visible => {
                // Its `pending` entry stays; `publish` drops it.
                rule.removed = VERSION_NEVER;
                true
            }
            _ => false,
        }
    }

    /// Makes `version` the visible version (it must not be below the
    /// current one): every change made at a version up to it becomes
    /// visible at once. Returns the rules this retires, purged.
    pub fn publish(&mut self, version: Version) -> Vec<Rule<T>> {
        assert!(version >= self.visible, "versions only move forward");
        self.visible = version;
        let mut purged = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for id in pending {
            match self.get(id) {
                Some(r) if r.is_retired(version) => purged.push(self.purge(id.index)),
                Some(r) if r.removed != VERSION_NEVER => self.pending.push(id),
                // Gone (a duplicate entry purged above) or removal undone.
                _ => {}
            }
        }
        purged
    }

    /// Unlinks and frees the rule at `index`.
    fn purge(&mut self, index: u32) -> Rule<T> {
        let slot = &mut self.rules[index as usize];
        let rule = match slot.rule.take() {
            Some(r) => r,
            None => unreachable!("purging a free slot"),
        };
        slot.generation = slot.generation.wrapping_add(1);
        self.free_rules.push(index);
        self.n_rules -= 1;

        let (st, g) = (rule.subtable, rule.group);
        let old_max = self.subtable(st).max_priority();
        // Unlink from the group's list.
        let head = self.subtable(st).groups[g as usize].head;
        if head == index {
            self.subtable_mut(st).groups[g as usize].head = rule.next;
        } else {
            let mut r = head;
            while self.rule_at(r).next != index {
                r = self.rule_at(r).next;
            }
            self.rule_at_mut(r).next = rule.next;
        }
        let sub = self.subtable_mut(st);
        sub.sub_priority(rule.priority);
        if sub.groups[g as usize].head == NIL {
            let key = rule.key();
            sub.remove_group(g, &key);
            let plens = sub.trie_plen;
            for ((trie, f), plen) in self.tries.iter_mut().zip(TRIE_FIELDS).zip(plens) {
                if plen != 0 {
                    trie.remove(f.value(&key), plen);
                }
            }
        }
        let new_max = self.subtable(st).max_priority();
        if new_max.is_none() {
            self.by_mask.remove(&MaskKey(*rule.mask));
            self.subtables[st as usize] = None;
            self.free_subtables.push(st);
        }
        if old_max != new_max {
            self.reposition(st, true, new_max);
        }
        rule
    }

    /// Moves subtable `st` to its place in the priority vector (or out of
    /// it, when `max` is `None`).
    fn reposition(&mut self, st: u32, present: bool, max: Option<u32>) {
        if present && let Some(pos) = self.pvec.iter().position(|e| e.subtable == st) {
            self.pvec.remove(pos);
        }
        if let Some(max_priority) = max {
            let pos = self.pvec.partition_point(|e| {
                e.max_priority > max_priority || (e.max_priority == max_priority && e.subtable < st)
            });
            self.pvec.insert(
                pos,
                PvecEntry {
                    max_priority,
                    subtable: st,
                },
            );
        }
    }
}
