//! Flow tables: 255 [`Classifier`]s of [`FlowEntry`]s and the OpenFlow
//! `flow_mod` semantics over them.
//!
//! # Contract
//!
//! * [`FlowTables::flow_mod`] applies one flow_mod atomically: every rule it
//!   adds, replaces or removes becomes visible to lookups at once (the
//!   change is made at the next classifier [`Version`] and then published
//!   in the classifiers it touched; lookups run at the tables' version, so
//!   the others may lag behind). A failed flow_mod changes nothing. What a
//!   lone flow_mod deletes is purged right away (it cannot fail after its
//!   first change, and writes take `&mut self`, so no lookup sees a
//!   half-done delete); batches keep removals pending until they publish,
//!   for rollback.
//! * [`FlowTables::apply_batch`] does the same for an ordered list of
//!   flow_mods (an OpenFlow 1.4 bundle): either all of them take effect, in
//!   order, in one version, or none does and the error names the index of
//!   the failing one.
//! * Semantics follow OpenFlow 1.3 section 6.4: ADD replaces a rule with the
//!   same match and priority (its counters are kept unless `RESET_COUNTS`;
//!   its duration restarts); `CHECK_OVERLAP` refuses an ADD that overlaps a
//!   rule of the same priority (`OFPFMFC_OVERLAP`); MODIFY and
//!   MODIFY_STRICT change the instructions of the matching rules (loose: at
//!   least as specific as the filter; strict: same match and priority),
//!   keep cookie, duration and (unless `RESET_COUNTS`) counters, and do
//!   nothing when no rule matches; DELETE and DELETE_STRICT remove them and
//!   report those with `SEND_FLOW_REM`. Modify and delete honour the cookie
//!   mask, delete honours `out_port` and `out_group`. Table 255 (all) is
//!   accepted for deletes only.
//! * Conjunctive matches (Nicira `conjunction` / `conj_id`): each table
//!   keeps three classifiers: ordinary flows; `conj_id=N` flows (with `N`
//!   stored as an exact `recirc_id`, a field ordinary lookups hold at 0, so
//!   they never match a packet directly); and flows whose only actions are
//!   `conjunction(...)`. [`FlowTables::lookup_conjunctive`] evaluates the
//!   latter (see its documentation); flow_mods address all three as one
//!   table.
//! * Validation against the switch (ports, groups, meters, prerequisites) is
//!   not done here: the caller passes a checker (see
//!   [`super::check`]) that runs before any change.
//! * No clock: times are milliseconds supplied by the caller. Counters are
//!   atomics inside the entry, so the fast path credits them through a
//!   shared reference without a lock.

use super::{FlowRemovedReason, millis_to_duration};
use crate::classifier::{self, Classifier, RuleId, Version};
use crate::ofp::actions::Action;
use crate::ofp::error::ErrorKind;
use crate::ofp::instructions::Instruction;
use crate::ofp::matching::Match;
use crate::ofp::messages::{FlowMod, FlowModCommand, FlowRemoved, GROUP_ANY, flow_mod_flags};
use crate::ofp::oxm::Field;
use crate::ofp::port::{PortNo, ports};
use datapath::flow::{FlowKey, FlowMask};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Number of flow tables (ids 0..=254; 255 means "all").
pub const N_TABLES: usize = 255;
/// Table id meaning "all tables".
pub const TABLE_ALL: u8 = 255;

/// Counters of one flow. A rule that replaces another and keeps its
/// counters starts from a copy of them: nothing credits the old rule after
/// that (the datapath's statistics sweep translates again once the tables
/// changed, and upcalls translate under the bridge lock).
#[derive(Debug, Default)]
pub struct FlowCounters {
    /// Packets matched.
    pub packets: AtomicU64,
    /// Bytes matched.
    pub bytes: AtomicU64,
    /// Time of the last hit (ms), 0 when never hit.
    pub used_ms: AtomicU64,
}

impl FlowCounters {
    fn snapshot(&self) -> FlowCounters {
        FlowCounters {
            packets: AtomicU64::new(self.packets.load(Ordering::Relaxed)),
            bytes: AtomicU64::new(self.bytes.load(Ordering::Relaxed)),
            used_ms: AtomicU64::new(self.used_ms.load(Ordering::Relaxed)),
        }
    }
}

/// A [`Match`] packed into a few bytes per field (a rule's match is only
/// read back for dumps, FLOW_REMOVED and traces; lookups use the
/// classifier's key and mask). Per entry: the field's number, a byte with
/// the value's length (bit 7: a mask follows), the value, the mask.
/// Up to [`PACKED_INLINE`] bytes are kept inside the entry (no allocation:
/// four or five exact fields fit).
#[derive(Clone, PartialEq, Eq)]
pub struct PackedMatch(Packed);

/// Packed matches of at most this many bytes need no allocation.
pub const PACKED_INLINE: usize = 22;

#[derive(Clone, PartialEq, Eq)]
enum Packed {
    Inline(u8, [u8; PACKED_INLINE]),
    Heap(Box<[u8]>),
}

/// Field numbers for [`PackedMatch`]: positions in [`Field::all`] (fewer
/// than 255 fields; 255 marks a field without a number, which is kept in
/// the escape form: 255, then the field's index as two bytes).
/// Sorted by field, for a binary search (cheaper than hashing).
static FIELD_NUMBERS: std::sync::LazyLock<Vec<(Field, u16)>> = std::sync::LazyLock::new(|| {
    let mut v: Vec<(Field, u16)> = Field::all()
        .iter()
        .enumerate()
        .map(|(i, &f)| (f, i as u16))
        .collect();
    v.sort_unstable();
    v
});

impl PackedMatch {
    /// Packs `m`.
    pub fn new(m: &Match) -> PackedMatch {
        let mut b = Vec::with_capacity(m.len() * 8);
        for e in m.entries() {
            let v = e.value.as_bytes();
            let n = FIELD_NUMBERS
                .binary_search_by(|(f, _)| f.cmp(&e.field))
                .map_or(u16::MAX, |i| FIELD_NUMBERS[i].1);
            if n < 255 {
                b.push(n as u8);
            } else {
                b.push(255);
                b.extend_from_slice(&n.to_be_bytes());
            }
            b.push(v.len() as u8 | if e.mask.is_some() { 0x80 } else { 0 });
            b.extend_from_slice(v);
            if let Some(mask) = &e.mask {
                // Same width as the value.
                let mb = mask.as_bytes();
                b.extend_from_slice(&mb[..v.len().min(mb.len())]);
                b.extend(std::iter::repeat_n(0, v.len().saturating_sub(mb.len())));
            }
        }
        if b.len() <= PACKED_INLINE {
            let mut a = [0; PACKED_INLINE];
            a[..b.len()].copy_from_slice(&b);
            PackedMatch(Packed::Inline(b.len() as u8, a))
        } else {
            PackedMatch(Packed::Heap(b.into_boxed_slice()))
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Packed::Inline(n, a) => &a[..usize::from(*n)],
            Packed::Heap(b) => b,
        }
    }

    /// True for the match of every packet.
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// The match, unpacked.
    pub fn unpack(&self) -> Match {
        use crate::ofp::oxm::Value;
        let mut m = Match::new();
        let b = self.bytes();
        let mut i = 0;
        while i + 2 <= b.len() {
            let mut n = usize::from(b[i]);
            if n == 255 {
                let Some(&[hi, lo]) = b.get(i + 1..i + 3) else {
                    break;
                };
                n = usize::from(u16::from_be_bytes([hi, lo]));
                i += 2;
            }
            let field = Field::all().get(n).copied();
            let Some(&lenb) = b.get(i + 1) else {
                break;
            };
            let len = usize::from(lenb & 0x7f);
            let masked = lenb & 0x80 != 0;
            let end = i + 2 + len * if masked { 2 } else { 1 };
            let Some(bytes) = b.get(i + 2..end) else {
                break;
            };
            if let Some(f) = field {
                let value = Value::from_bytes(&bytes[..len]);
                let mask = masked.then(|| Value::from_bytes(&bytes[len..]));
                m.set(f, value, mask);
            }
            i = end;
        }
        m
    }
}

impl std::fmt::Debug for PackedMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.unpack())
    }
}

/// A flow as stored in a table. Kept small (100,000 flows are common):
/// the match packed, the instructions shared with other flows that have
/// the same ones, the counters inline.
#[derive(Debug)]
pub struct FlowEntry {
    /// Table id.
    pub table_id: u8,
    /// Priority.
    pub priority: u16,
    /// Idle timeout (s, 0 = none).
    pub idle_timeout: u16,
    /// Hard timeout (s, 0 = none).
    pub hard_timeout: u16,
    /// `flow_mod_flags`.
    pub flags: u16,
    /// Eviction importance.
    pub importance: u16,
    /// Cookie.
    pub cookie: u64,
    /// The match as given, packed (see [`FlowEntry::match_`]).
    pub packed_match: PackedMatch,
    /// The instructions (shared between flows with the same ones; a thin
    /// pointer, 8 bytes).
    pub instructions: Arc<Vec<Instruction>>,
    /// Creation time (ms); not changed by modify.
    pub created_ms: u64,
    /// Counters.
    pub counters: FlowCounters,
}

impl FlowEntry {
    /// The match as given.
    pub fn match_(&self) -> Match {
        self.packed_match.unpack()
    }

    /// Credits `packets`/`bytes` hits at `now_ms`.
    pub fn credit(&self, packets: u64, bytes: u64, now_ms: u64) {
        self.counters.packets.fetch_add(packets, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.counters.used_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// True for a flow whose only actions are `conjunction(...)`.
    pub fn is_conjunctive(&self) -> bool {
        is_conjunctive(&self.instructions)
    }

    /// True for a table-miss flow (priority 0, matches everything).
    pub fn is_table_miss(&self) -> bool {
        self.priority == 0 && self.packed_match.is_empty()
    }

    /// Every action of the apply and write instructions.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.instructions.iter().flat_map(|i| match i {
            Instruction::ApplyActions(a) | Instruction::WriteActions(a) => a.as_slice(),
            _ => &[],
        })
    }

    /// True when some action outputs to `port` (`ANY`: always).
    pub fn outputs_to(&self, port: PortNo) -> bool {
        port == ports::ANY
            || self.actions().any(|a| match a {
                Action::Output { port: p, .. } | Action::Enqueue { port: p, .. } => *p == port,
                _ => false,
            })
    }

    /// True when some action applies `group` (`GROUP_ANY`: always).
    pub fn uses_group(&self, group: u32) -> bool {
        group == GROUP_ANY
            || self
                .actions()
                .any(|a| matches!(a, Action::Group(g) if *g == group))
    }

    /// The `FLOW_REMOVED` message for this entry.
    pub fn flow_removed(&self, reason: FlowRemovedReason, now_ms: u64) -> FlowRemoved {
        let (duration_sec, duration_nsec) =
            millis_to_duration(now_ms.saturating_sub(self.created_ms));
        FlowRemoved {
            cookie: self.cookie,
            priority: self.priority,
            reason: reason as u8,
            table_id: self.table_id,
            duration_sec,
            duration_nsec,
            idle_timeout: self.idle_timeout,
            hard_timeout: self.hard_timeout,
            packet_count: self.counters.packets.load(Ordering::Relaxed),
            byte_count: self.counters.bytes.load(Ordering::Relaxed),
            match_: self.match_(),
        }
    }
}

/// What a table does with a packet no flow matches (OpenFlow 1.1's
/// table-miss configuration; a table-miss flow entry takes precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableMiss {
    /// Drop (the OpenFlow 1.3+ default).
    #[default]
    Drop,
    /// Send to the controller with reason NO_MATCH (OpenFlow 1.0).
    Controller,
    /// Continue at the next table.
    Continue,
}

/// Lookup counters of one table.
#[derive(Debug, Default)]
pub struct TableCounters {
    /// Lookups.
    pub lookups: AtomicU64,
    /// Lookups that found a rule.
    pub matched: AtomicU64,
}

/// One table's statistics (OpenFlow `ofp_table_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableStats {
    /// Table id.
    pub table_id: u8,
    /// Flows in the table.
    pub active_count: u32,
    /// Lookups.
    pub lookup_count: u64,
    /// Lookups that matched.
    pub matched_count: u64,
}

/// What a flow_mod removed or replaced, for FLOW_REMOVED messages.
#[derive(Debug, Default)]
pub struct FlowModResult {
    /// FLOW_REMOVED messages to send (entries removed with `SEND_FLOW_REM`).
    pub flow_removed: Vec<FlowRemoved>,
    /// Number of rules added, modified or removed.
    pub n_changed: usize,
}

enum Undo {
    Added(usize, RuleId),
    Removed(usize, RuleId),
}

/// The classifier key and mask of a flow's match: [`Match::to_flow`], with
/// `conj_id` (which has no key storage) as an exact `recirc_id` (see the
/// module documentation).
pub fn match_to_flow(m: &Match) -> Result<(FlowKey, FlowMask), ErrorKind> {
    let Some(c) = m.exact(Field::ConjId) else {
        return m.to_flow();
    };
    let mut stripped = m.clone();
    stripped.remove(Field::ConjId);
    let (mut key, mut mask) = stripped.to_flow()?;
    key.recirc_id = c as u32;
    mask.recirc_id = u32::MAX;
    Ok((key, mask))
}

/// True when the instructions are one apply-actions of `conjunction`s.
pub fn is_conjunctive(ins: &[Instruction]) -> bool {
    matches!(ins, [Instruction::ApplyActions(a)]
        if !a.is_empty() && a.iter().all(|x| matches!(x, Action::Conjunction { .. })))
}

/// The classifier slot of table `t` for a class: 0 ordinary, 1 `conj_id`
/// flows, 2 conjunctive flows.
fn slot(class: usize, t: u8) -> usize {
    class * N_TABLES + usize::from(t)
}

fn table_of(slot: usize) -> u8 {
    (slot % N_TABLES) as u8
}

/// The 255 flow tables of a bridge.
pub struct FlowTables {
    tables: Vec<Classifier<Arc<FlowEntry>>>,
    counters: Vec<TableCounters>,
    miss: Vec<TableMiss>,
    version: Version,
    /// Instruction lists of recent flow_mods, to share (see [`FlowTables::share`]).
    recent: Vec<Arc<Vec<Instruction>>>,
    next_recent: usize,
}

/// How many recent instruction lists [`FlowTables::share`] remembers.
const RECENT_INSTRUCTIONS: usize = 8;

impl std::fmt::Debug for FlowTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTables")
            .field("version", &self.version)
            .field("rules", &self.tables.iter().map(|t| t.len()).sum::<usize>())
            .finish()
    }
}

impl Default for FlowTables {
    fn default() -> Self {
        Self::new()
    }
}

/// A checker run on every ADD/MODIFY before anything changes: given the
/// flow_mod and its datapath match, `Err` rejects it.
pub type Checker<'a> = dyn Fn(&FlowMod, &FlowKey, &FlowMask) -> Result<(), ErrorKind> + 'a;

impl FlowTables {
    /// 255 empty tables.
    pub fn new() -> FlowTables {
        FlowTables {
            tables: (0..3 * N_TABLES).map(|_| Classifier::new()).collect(),
            counters: (0..N_TABLES).map(|_| TableCounters::default()).collect(),
            miss: vec![TableMiss::Drop; N_TABLES],
            version: 0,
            recent: Vec::new(),
            next_recent: 0,
        }
    }

    /// `ins` as a shared list: the same allocation as a recent flow_mod's
    /// when equal (a file of flows usually repeats a few action lists), so
    /// 100,000 flows with `actions=output:2` store that list once.
    fn share(&mut self, ins: &[Instruction]) -> Arc<Vec<Instruction>> {
        if let Some(a) = self.recent.iter().find(|a| a[..] == *ins) {
            return Arc::clone(a);
        }
        let a = Arc::new(ins.to_vec());
        if self.recent.len() < RECENT_INSTRUCTIONS {
            self.recent.push(Arc::clone(&a));
        } else {
            self.recent[self.next_recent] = Arc::clone(&a);
            self.next_recent = (self.next_recent + 1) % RECENT_INSTRUCTIONS;
        }
        a
    }

    /// The version lookups should use.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The table-miss behaviour of table `id`.
    pub fn miss(&self, id: u8) -> TableMiss {
        self.miss.get(usize::from(id)).copied().unwrap_or_default()
    }

    /// Sets the table-miss behaviour of table `id` (255: every table).
    pub fn set_miss(&mut self, id: u8, miss: TableMiss) {
        for (i, m) in self.miss.iter_mut().enumerate() {
            if id == TABLE_ALL || usize::from(id) == i {
                *m = miss;
            }
        }
    }

    /// Table `id`'s ordinary flows (`None` for 255).
    pub fn table(&self, id: u8) -> Option<&Classifier<Arc<FlowEntry>>> {
        (usize::from(id) < N_TABLES).then(|| &self.tables[usize::from(id)])
    }

    /// The conjunctive match of table `id` for `key`, if one beats
    /// priority `floor` (the ordinary match's, when there is one).
    ///
    /// The conjunctive flows of priority above `floor` are examined by
    /// priority level, highest first; at each level, a conjunction id whose
    /// every clause has a matching flow is satisfied, and the first
    /// satisfied id (lowest) with a matching `conj_id` flow gives the
    /// result. Every examined flow's whole mask is added to `wc` (the
    /// decision depends on whether each matches), plus what the `conj_id`
    /// lookups examine.
    pub fn lookup_conjunctive(
        &self,
        id: u8,
        key: &FlowKey,
        wc: &mut FlowMask,
        floor: Option<u16>,
    ) -> Option<&Arc<FlowEntry>> {
        if usize::from(id) >= N_TABLES {
            return None;
        }
        let conj = &self.tables[slot(2, id)];
        if conj.is_empty() {
            return None;
        }
        let v = self.version;
        let rules: Vec<_> = conj
            .iter_by_priority(v)
            .filter(|r| floor.is_none_or(|f| r.priority() > u32::from(f)))
            .collect();
        let mut i = 0;
        while i < rules.len() {
            let p = rules[i].priority();
            let mut clauses: Vec<(u32, u64, u8)> = Vec::new();
            while i < rules.len() && rules[i].priority() == p {
                let r = rules[i];
                i += 1;
                wc.union_with(r.mask());
                if !r.to_match().matches(key) {
                    continue;
                }
                for a in r.payload().actions() {
                    if let Action::Conjunction {
                        id,
                        clause,
                        n_clauses,
                    } = *a
                    {
                        let bit = 1u64.checked_shl(clause.into()).unwrap_or(0);
                        match clauses.iter_mut().find(|c| c.0 == id) {
                            Some(c) => c.1 |= bit,
                            None => clauses.push((id, bit, n_clauses)),
                        }
                    }
                }
            }
            let mut done: Vec<u32> = clauses
                .iter()
                .filter(|c| c.2 >= 1 && c.2 <= 64 && c.1 == u64::MAX >> (64 - u32::from(c.2)))
                .map(|c| c.0)
                .collect();
            done.sort_unstable();
            for cid in done {
                let mut k2 = *key;
                k2.recirc_id = cid;
                if let Some(r) = self.tables[slot(1, id)].lookup(v, &k2, wc) {
                    return Some(r.payload());
                }
            }
        }
        None
    }

    /// The highest-priority rule of table `id` matching `key` at the visible
    /// version, un-wildcarding `wc`; counts the lookup.
    pub fn lookup(&self, id: u8, key: &FlowKey, wc: &mut FlowMask) -> Option<&Arc<FlowEntry>> {
        self.lookup_with(id, key, wc, true)
    }

    /// [`FlowTables::lookup`], counting the lookup in the table's
    /// statistics only when `count` (traces and revalidation do not).
    pub fn lookup_with(
        &self,
        id: u8,
        key: &FlowKey,
        wc: &mut FlowMask,
        count: bool,
    ) -> Option<&Arc<FlowEntry>> {
        if usize::from(id) >= N_TABLES {
            return None;
        }
        let t = &self.tables[usize::from(id)];
        let c = &self.counters[usize::from(id)];
        if count {
            c.lookups.fetch_add(1, Ordering::Relaxed);
        }
        let r = t.lookup(self.version, key, wc)?;
        if count {
            c.matched.fetch_add(1, Ordering::Relaxed);
        }
        Some(r.payload())
    }

    /// Every visible flow of table `id` (all tables for 255), highest
    /// priority first.
    pub fn flows(&self, id: u8) -> Vec<Arc<FlowEntry>> {
        let v = self.version;
        let mut out: Vec<Arc<FlowEntry>> = self
            .tables
            .iter()
            .enumerate()
            .filter(|(i, _)| id == TABLE_ALL || table_of(*i) == id)
            .flat_map(|(_, t)| t.iter_by_priority(v).map(|r| Arc::clone(r.payload())))
            .collect();
        out.sort_by(|a, b| {
            a.table_id
                .cmp(&b.table_id)
                .then(b.priority.cmp(&a.priority))
        });
        out
    }

    /// Number of rules stored in every table, including rules an
    /// unpublished change added or removed (`O(tables)`, not `O(rules)`).
    pub fn n_stored(&self) -> usize {
        self.tables.iter().map(Classifier::len).sum()
    }

    /// Number of visible flows in every table.
    pub fn n_flows(&self) -> usize {
        self.tables.iter().map(|t| t.count(self.version)).sum()
    }

    /// Statistics of every table.
    pub fn stats(&self) -> Vec<TableStats> {
        self.counters
            .iter()
            .enumerate()
            .map(|(i, c)| TableStats {
                table_id: i as u8,
                active_count: (0..3)
                    .map(|class| self.tables[slot(class, i as u8)].count(self.version))
                    .sum::<usize>() as u32,
                lookup_count: c.lookups.load(Ordering::Relaxed),
                matched_count: c.matched.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Applies one flow_mod atomically (see the module documentation).
    pub fn flow_mod(
        &mut self,
        fm: &FlowMod,
        now_ms: u64,
        check: &Checker<'_>,
    ) -> Result<FlowModResult, ErrorKind> {
        self.apply_batch(std::slice::from_ref(fm), now_ms, check)
            .map_err(|(_, e)| e)
    }

    /// Applies flow_mods in order, all or nothing, made visible together.
    /// On failure returns the index of the failing flow_mod and its error.
    pub fn apply_batch(
        &mut self,
        fms: &[FlowMod],
        now_ms: u64,
        check: &Checker<'_>,
    ) -> Result<FlowModResult, (usize, ErrorKind)> {
        let v = self.version + 1;
        let mut undo = Vec::new();
        let mut result = FlowModResult::default();
        // A lone flow_mod cannot fail after its first change, so what it
        // removes can be purged at once (no rollback needs it).
        let immediate = fms.len() == 1;
        for (i, fm) in fms.iter().enumerate() {
            if let Err(e) = self.apply(fm, v, now_ms, check, immediate, &mut undo, &mut result) {
                self.rollback(undo, v);
                return Err((i, e));
            }
        }
        self.publish(v, &undo);
        Ok(result)
    }

    /// Makes version `v` visible: the tables' version, and in every
    /// classifier a batch touched (the others have nothing pending at `v`;
    /// their own visible version may lag behind, which lookups at the
    /// tables' version do not mind). Publishing all 765 classifiers per
    /// flow_mod was most of the cost of adding flows one by one.
    fn publish(&mut self, v: Version, undo: &[Undo]) {
        self.version = v;
        let mut done = [0u64; (3 * N_TABLES).div_ceil(64)];
        for u in undo {
            let (Undo::Added(s, _) | Undo::Removed(s, _)) = *u;
            if done[s / 64] & (1 << (s % 64)) == 0 {
                done[s / 64] |= 1 << (s % 64);
                self.tables[s].publish(v);
            }
        }
    }

    /// Removes rule `id` of slot `sl` at once (purged, not pending until a
    /// publish): for changes that cannot be rolled back.
    fn remove_now(&mut self, sl: usize, id: RuleId) {
        let t = &mut self.tables[sl];
        if t.visible_version() < self.version {
            t.publish(self.version);
        }
        t.remove(id, self.version);
    }

    fn rollback(&mut self, undo: Vec<Undo>, v: Version) {
        for u in undo.into_iter().rev() {
            match u {
                Undo::Added(s, id) => {
                    self.tables[s].remove(id, v);
                }
                Undo::Removed(s, id) => {
                    self.tables[s].undo_remove(id);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        fm: &FlowMod,
        v: Version,
        now_ms: u64,
        check: &Checker<'_>,
        immediate: bool,
        undo: &mut Vec<Undo>,
        result: &mut FlowModResult,
    ) -> Result<(), ErrorKind> {
        fm.match_.check_prereqs()?;
        let conj_id = fm.match_.exact(Field::ConjId).map(|c| c as u32);
        let (key, mask) = match_to_flow(&fm.match_)?;
        let m = classifier::Match::new(&key, &mask);
        let is_delete = matches!(
            fm.command,
            FlowModCommand::Delete | FlowModCommand::DeleteStrict
        );
        if fm.table_id == TABLE_ALL && !is_delete {
            return Err(ErrorKind::FlowModFailedBadTableId);
        }
        if !is_delete {
            check(fm, &key, &mask)?;
        }
        let prio = u32::from(fm.priority);
        let cookie_ok =
            |e: &FlowEntry| fm.cookie_mask == 0 || (e.cookie ^ fm.cookie) & fm.cookie_mask == 0;
        // The classes a strict or loose selection looks in.
        let strict = matches!(
            fm.command,
            FlowModCommand::Add | FlowModCommand::ModifyStrict | FlowModCommand::DeleteStrict
        );
        let classes: &[usize] = match conj_id {
            Some(_) => &[1],
            None if strict => &[0, 2],
            None => &[0, 1, 2],
        };
        let new_class = |ins: &[Instruction]| {
            if conj_id.is_some() {
                1
            } else if is_conjunctive(ins) {
                2
            } else {
                0
            }
        };
        match fm.command {
            FlowModCommand::Add => {
                let t = fm.table_id;
                let sl = slot(new_class(&fm.instructions), t);
                if fm.flags & flow_mod_flags::CHECK_OVERLAP != 0 {
                    let overlaps = classes.iter().any(|&c| {
                        self.tables[slot(c, t)].iter().any(|r| {
                            r.is_visible_in(v)
                                && r.priority() == prio
                                && overlap(&r.key(), r.mask(), &key, &mask)
                        })
                    });
                    if overlaps {
                        return Err(ErrorKind::FlowModFailedOverlap);
                    }
                }
                // An identical flow of the other class (ordinary versus
                // conjunctive) is replaced too; one of the same class by
                // `replace` (no lookup here: hashing the mask is not free).
                let mut old = None;
                for &c in classes {
                    let other = slot(c, t);
                    if other == sl || self.tables[other].is_empty() {
                        continue;
                    }
                    let Some(r) = self.tables[other].find_exact(&m, prio, v) else {
                        continue;
                    };
                    let (id, e) = (r.id(), Arc::clone(r.payload()));
                    self.tables[other].remove(id, v);
                    undo.push(Undo::Removed(other, id));
                    old = Some(e);
                }
                let instructions = self.share(&fm.instructions);
                let entry = Arc::new(FlowEntry {
                    table_id: fm.table_id,
                    priority: fm.priority,
                    cookie: fm.cookie,
                    idle_timeout: fm.idle_timeout,
                    hard_timeout: fm.hard_timeout,
                    flags: fm.flags,
                    importance: fm.importance,
                    packed_match: PackedMatch::new(&fm.match_),
                    instructions,
                    created_ms: now_ms,
                    counters: FlowCounters::default(),
                });
                let r = self.tables[sl]
                    .replace(m, prio, entry, v)
                    .map_err(|_| ErrorKind::FlowModFailedUnknown)?;
                if let Some(o) = r.old {
                    undo.push(Undo::Removed(sl, o));
                    old = self.tables[sl].get(o).map(|r| Arc::clone(r.payload()));
                }
                if let Some(o) = old.filter(|_| fm.flags & flow_mod_flags::RESET_COUNTS == 0)
                    && let Some(e) = self.tables[sl].payload_mut(r.id).and_then(Arc::get_mut)
                {
                    e.counters = o.counters.snapshot();
                }
                undo.push(Undo::Added(sl, r.id));
                result.n_changed += 1;
            }
            FlowModCommand::Modify | FlowModCommand::ModifyStrict => {
                let strict = fm.command == FlowModCommand::ModifyStrict;
                let targets =
                    self.select(fm.table_id, classes, &m, strict.then_some(prio), v, &|e| {
                        cookie_ok(e)
                    });
                for (sl, id) in targets {
                    let Some(r) = self.tables[sl].get(id) else {
                        continue;
                    };
                    let (rm, rp, old) = (r.to_match(), r.priority(), Arc::clone(r.payload()));
                    let counters = if fm.flags & flow_mod_flags::RESET_COUNTS != 0 {
                        FlowCounters::default()
                    } else {
                        old.counters.snapshot()
                    };
                    let entry = Arc::new(FlowEntry {
                        table_id: old.table_id,
                        priority: old.priority,
                        cookie: old.cookie,
                        idle_timeout: old.idle_timeout,
                        hard_timeout: old.hard_timeout,
                        flags: old.flags,
                        importance: old.importance,
                        packed_match: old.packed_match.clone(),
                        instructions: self.share(&fm.instructions),
                        created_ms: old.created_ms,
                        counters,
                    });
                    // A conj_id flow stays one; others move between the
                    // ordinary and conjunctive classes with their actions.
                    let target = if sl / N_TABLES == 1 {
                        sl
                    } else {
                        slot(
                            if is_conjunctive(&fm.instructions) {
                                2
                            } else {
                                0
                            },
                            old.table_id,
                        )
                    };
                    if target != sl {
                        self.tables[sl].remove(id, v);
                        undo.push(Undo::Removed(sl, id));
                    }
                    let r = self.tables[target]
                        .replace(rm, rp, entry, v)
                        .map_err(|_| ErrorKind::FlowModFailedUnknown)?;
                    if let Some(o) = r.old {
                        undo.push(Undo::Removed(target, o));
                    }
                    undo.push(Undo::Added(target, r.id));
                    result.n_changed += 1;
                }
            }
            FlowModCommand::Delete | FlowModCommand::DeleteStrict => {
                let strict = fm.command == FlowModCommand::DeleteStrict;
                let filter = |e: &FlowEntry| {
                    cookie_ok(e) && e.outputs_to(fm.out_port) && e.uses_group(fm.out_group)
                };
                let ids = self.select(fm.table_id, classes, &m, strict.then_some(prio), v, &filter);
                for (sl, id) in ids {
                    self.remove_rule(
                        sl,
                        id,
                        v,
                        immediate,
                        FlowRemovedReason::Delete,
                        now_ms,
                        undo,
                        result,
                    );
                }
            }
        }
        Ok(())
    }

    /// Rules of table `table` (all for 255), in the given classes, that
    /// `m` selects (strictly when `strict_prio` is given) and `filter`
    /// accepts, at version `v`, as (slot, id).
    fn select(
        &self,
        table: u8,
        classes: &[usize],
        m: &classifier::Match,
        strict_prio: Option<u32>,
        v: Version,
        filter: &dyn Fn(&FlowEntry) -> bool,
    ) -> Vec<(usize, RuleId)> {
        let mut out = Vec::new();
        for (i, t) in self.tables.iter().enumerate() {
            if (table != TABLE_ALL && table_of(i) != table) || !classes.contains(&(i / N_TABLES)) {
                continue;
            }
            match strict_prio {
                Some(p) => {
                    if let Some(r) = t.find_exact(m, p, v)
                        && filter(r.payload())
                    {
                        out.push((i, r.id()));
                    }
                }
                None => {
                    for r in t.iter_loose(m, v) {
                        if filter(r.payload()) {
                            out.push((i, r.id()));
                        }
                    }
                }
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn remove_rule(
        &mut self,
        sl: usize,
        id: RuleId,
        v: Version,
        immediate: bool,
        reason: FlowRemovedReason,
        now_ms: u64,
        undo: &mut Vec<Undo>,
        result: &mut FlowModResult,
    ) {
        let Some(entry) = self.tables[sl].get(id).map(|r| Arc::clone(r.payload())) else {
            return;
        };
        if immediate {
            self.remove_now(sl, id);
        } else {
            self.tables[sl].remove(id, v);
        }
        undo.push(Undo::Removed(sl, id));
        result.n_changed += 1;
        if entry.flags & flow_mod_flags::SEND_FLOW_REM != 0 {
            result.flow_removed.push(entry.flow_removed(reason, now_ms));
        }
    }

    /// Removes every flow whose actions use `group` (after the group is
    /// deleted); returns FLOW_REMOVED messages (reason GROUP_DELETE).
    pub fn remove_group_users(&mut self, group: u32, now_ms: u64) -> Vec<FlowRemoved> {
        let v = self.version + 1;
        let ids = self.select(
            TABLE_ALL,
            &[0, 1, 2],
            &classifier::Match::catchall(),
            None,
            v,
            &|e: &FlowEntry| e.uses_group(group),
        );
        let mut result = FlowModResult::default();
        let mut undo = Vec::new();
        for (t, id) in ids {
            self.remove_rule(
                t,
                id,
                v,
                true,
                FlowRemovedReason::GroupDelete,
                now_ms,
                &mut undo,
                &mut result,
            );
        }
        self.publish(v, &undo);
        result.flow_removed
    }

    /// Removes every flow whose instructions use meter `meter` (after the
    /// meter is deleted); returns FLOW_REMOVED messages (reason
    /// METER_DELETE).
    pub fn remove_meter_users(&mut self, meter: u32, now_ms: u64) -> Vec<FlowRemoved> {
        let v = self.version + 1;
        let uses = |e: &FlowEntry| {
            e.instructions
                .iter()
                .any(|i| matches!(i, Instruction::Meter(m) if *m == meter))
                || e.actions()
                    .any(|a| matches!(a, Action::Meter(m) if *m == meter))
        };
        let ids = self.select(
            TABLE_ALL,
            &[0, 1, 2],
            &classifier::Match::catchall(),
            None,
            v,
            &uses,
        );
        let mut result = FlowModResult::default();
        let mut undo = Vec::new();
        for (t, id) in ids {
            self.remove_rule(
                t,
                id,
                v,
                true,
                FlowRemovedReason::MeterDelete,
                now_ms,
                &mut undo,
                &mut result,
            );
        }
        self.publish(v, &undo);
        result.flow_removed
    }

    /// Removes the flows whose idle or hard timeout has expired at `now_ms`;
    /// returns FLOW_REMOVED messages for those with `SEND_FLOW_REM`.
    pub fn expire(&mut self, now_ms: u64) -> Vec<FlowRemoved> {
        let v = self.version + 1;
        let mut expired = Vec::new();
        for (i, t) in self.tables.iter().enumerate() {
            for r in t.iter() {
                if !r.is_visible_in(self.version) {
                    continue;
                }
                let e = r.payload();
                let age = now_ms.saturating_sub(e.created_ms);
                let used = e.counters.used_ms.load(Ordering::Relaxed).max(e.created_ms);
                let idle = now_ms.saturating_sub(used);
                if e.hard_timeout != 0 && age >= u64::from(e.hard_timeout) * 1000 {
                    expired.push((i, r.id(), FlowRemovedReason::HardTimeout));
                } else if e.idle_timeout != 0 && idle >= u64::from(e.idle_timeout) * 1000 {
                    expired.push((i, r.id(), FlowRemovedReason::IdleTimeout));
                }
            }
        }
        if expired.is_empty() {
            return Vec::new();
        }
        let mut result = FlowModResult::default();
        let mut undo = Vec::new();
        for (t, id, reason) in expired {
            self.remove_rule(t, id, v, true, reason, now_ms, &mut undo, &mut result);
        }
        self.publish(v, &undo);
        result.flow_removed
    }
}

/// True when some key matches both `(k1, m1)` and `(k2, m2)`.
fn overlap(k1: &FlowKey, m1: &FlowMask, k2: &FlowKey, m2: &FlowMask) -> bool {
    k1.words()
        .iter()
        .zip(m1.words())
        .zip(k2.words().iter().zip(m2.words()))
        .all(|((a, ma), (b, mb))| (a ^ b) & ma & mb == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fm(cmd: FlowModCommand, table: u8, prio: u16, in_port: Option<u64>, out: u32) -> FlowMod {
        let mut f = FlowMod::new(cmd);
        f.table_id = table;
        f.priority = prio;
        if let Some(p) = in_port {
            f.match_.set_u64(Field::InPort, p);
        }
        f.instructions = vec![Instruction::ApplyActions(vec![Action::Output {
            port: out,
            max_len: 0,
        }])];
        f
    }

    fn out_of(t: &FlowTables, table: u8, in_port: u32) -> Option<u32> {
        let key = FlowKey {
            in_port,
            ..FlowKey::default()
        };
        let mut wc = FlowMask::default();
        let e = t.lookup_with(table, &key, &mut wc, false)?;
        e.actions().find_map(|a| match a {
            Action::Output { port, .. } => Some(*port),
            _ => None,
        })
    }

    fn ok(_: &FlowMod, _: &FlowKey, _: &FlowMask) -> Result<(), ErrorKind> {
        Ok(())
    }

    fn refuse_port_9(f: &FlowMod, _: &FlowKey, _: &FlowMask) -> Result<(), ErrorKind> {
        let bad = f.instructions.iter().any(|i| {
            matches!(i, Instruction::ApplyActions(a)
                if a.iter().any(|x| matches!(x, Action::Output { port: 9, .. })))
        });
        if bad {
            Err(ErrorKind::BadActionBadOutPort)
        } else {
            Ok(())
        }
    }

    /// Flow_mods touch a few of the 765 classifiers each, so the others
    /// lag behind the tables' version: lookups, deletes (purged at once),
    /// replacements and rolled-back bundles must all still see the right
    /// rules.
    #[test]
    fn classifiers_published_lazily_stay_consistent() {
        let mut t = FlowTables::new();
        // 2,000 flows over tables 0..4, added one flow_mod at a time.
        for i in 0..2000u64 {
            let table = (i % 4) as u8;
            t.flow_mod(&fm(FlowModCommand::Add, table, 100, Some(i + 1), 2), 0, &ok)
                .unwrap();
        }
        assert_eq!(t.n_flows(), 2000);
        assert_eq!(out_of(&t, 3, 4), Some(2));
        // Replace one in table 3 (its classifier is published), then
        // look up in table 1 (which was not touched since).
        t.flow_mod(&fm(FlowModCommand::Add, 3, 100, Some(4), 7), 0, &ok)
            .unwrap();
        assert_eq!(out_of(&t, 3, 4), Some(7));
        assert_eq!(out_of(&t, 1, 2), Some(2));
        assert_eq!(t.n_flows(), 2000);
        // Delete everything in table 1 (one flow_mod: purged at once).
        t.flow_mod(&fm(FlowModCommand::Delete, 1, 0, None, 0), 0, &ok)
            .unwrap();
        assert_eq!(t.n_flows(), 1500);
        assert_eq!(out_of(&t, 1, 2), None);
        assert_eq!(out_of(&t, 0, 1), Some(2));
        // A bundle that deletes table 0 and then fails changes nothing.
        let batch = [
            fm(FlowModCommand::Delete, 0, 0, None, 0),
            fm(FlowModCommand::Add, 2, 100, Some(3), 5),
            fm(FlowModCommand::Add, 1, 100, Some(2), 9),
        ];
        assert_eq!(
            t.apply_batch(&batch, 0, &refuse_port_9).map(|_| ()),
            Err((2, ErrorKind::BadActionBadOutPort))
        );
        assert_eq!(t.n_flows(), 1500);
        assert_eq!(out_of(&t, 0, 1), Some(2));
        assert_eq!(out_of(&t, 2, 3), Some(2));
        // The same bundle without the failing add takes effect at once.
        t.apply_batch(&batch[..2], 0, &ok).unwrap();
        assert_eq!(t.n_flows(), 1000);
        assert_eq!(out_of(&t, 0, 1), None);
        assert_eq!(out_of(&t, 2, 3), Some(5));
        // Delete all tables, then add again.
        t.flow_mod(&fm(FlowModCommand::Delete, TABLE_ALL, 0, None, 0), 0, &ok)
            .unwrap();
        assert_eq!(t.n_flows(), 0);
        assert!(t.tables.iter().all(|c| c.is_empty()));
        t.flow_mod(&fm(FlowModCommand::Add, 1, 100, Some(2), 3), 0, &ok)
            .unwrap();
        assert_eq!(out_of(&t, 1, 2), Some(3));
        assert_eq!(t.n_flows(), 1);
    }

    #[test]
    fn packed_match_round_trips_every_field() {
        use crate::ofp::oxm::Value;
        assert!(Field::all().len() < 255 * 256);
        // Every field exactly, then every field under a mask of its width.
        for masked in [false, true] {
            let mut m = Match::new();
            for (i, &f) in Field::all().iter().enumerate() {
                let w = f.info().width;
                let v = Value::from_u64(w, 0x0102_0304_0506_0708 ^ i as u64);
                if masked {
                    m.set(f, v, Some(Value::from_u64(w, 0xff00_ff00_ff00_ff0f)));
                } else {
                    m.set(f, v, None);
                }
            }
            let p = PackedMatch::new(&m);
            assert_eq!(p.unpack(), m);
            assert_eq!(
                p.unpack()
                    .entries()
                    .iter()
                    .map(|e| e.field)
                    .collect::<Vec<_>>(),
                m.entries().iter().map(|e| e.field).collect::<Vec<_>>(),
                "order kept"
            );
        }
        assert!(PackedMatch::new(&Match::new()).is_empty());
        assert_eq!(PackedMatch::new(&Match::new()).unpack(), Match::new());
    }

    #[test]
    fn entries_share_instructions_and_keep_counters() {
        let mut t = FlowTables::new();
        for i in 0..100u64 {
            t.flow_mod(&fm(FlowModCommand::Add, 0, 100, Some(i + 1), 2), 0, &ok)
                .unwrap();
        }
        let flows = t.flows(0);
        assert_eq!(flows.len(), 100);
        assert!(
            flows
                .iter()
                .all(|e| Arc::ptr_eq(&e.instructions, &flows[0].instructions))
        );
        assert_eq!(flows[0].match_().exact(Field::InPort), Some(1));
        // Counters survive a replacing add and a modify, unless reset.
        let e = flows
            .iter()
            .find(|e| e.match_().exact(Field::InPort) == Some(7))
            .unwrap();
        e.credit(3, 300, 5);
        drop(flows);
        t.flow_mod(&fm(FlowModCommand::Add, 0, 100, Some(7), 4), 10, &ok)
            .unwrap();
        let find = |t: &FlowTables| {
            t.flows(0)
                .into_iter()
                .find(|e| e.match_().exact(Field::InPort) == Some(7))
                .unwrap()
        };
        let e = find(&t);
        assert_eq!(e.counters.packets.load(Ordering::Relaxed), 3);
        assert_eq!(e.counters.bytes.load(Ordering::Relaxed), 300);
        assert_eq!(out_of(&t, 0, 7), Some(4));
        t.flow_mod(
            &fm(FlowModCommand::ModifyStrict, 0, 100, Some(7), 5),
            20,
            &ok,
        )
        .unwrap();
        let e = find(&t);
        assert_eq!(e.counters.packets.load(Ordering::Relaxed), 3);
        assert_eq!(e.created_ms, 10);
        assert_eq!(out_of(&t, 0, 7), Some(5));
        let mut reset = fm(FlowModCommand::Add, 0, 100, Some(7), 5);
        reset.flags = flow_mod_flags::RESET_COUNTS;
        t.flow_mod(&reset, 30, &ok).unwrap();
        assert_eq!(find(&t).counters.packets.load(Ordering::Relaxed), 0);
        assert_eq!(t.n_flows(), 100);
    }

    /// What 100,000 flows cost outside the classifier: one allocation of
    /// at most 112 bytes each (Arc counts included) for matches that pack
    /// into the entry.
    #[test]
    fn flow_entries_stay_small() {
        assert!(size_of::<FlowEntry>() <= 88, "{}", size_of::<FlowEntry>());
        let mut m = Match::new();
        m.set_u64(Field::EthType, 0x0800);
        m.set_u64(Field::IpProto, 17);
        m.set_u64(Field::InPort, 1);
        m.set_u64(Field::Ipv4Dst, 0xc612_4000);
        let p = PackedMatch::new(&m);
        assert!(matches!(p.0, Packed::Inline(..)));
        assert_eq!(p.unpack(), m);
        m.set_masked_u64(Field::Ipv4Src, 0x0a00_0000, 0xff00_0000);
        m.set_u64(Field::UdpDst, 53);
        let p = PackedMatch::new(&m);
        assert!(matches!(p.0, Packed::Heap(..)));
        assert_eq!(p.unpack(), m);
    }
}
