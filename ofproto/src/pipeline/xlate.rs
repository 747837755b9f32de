//! Translation ("xlate"): running the OpenFlow pipeline on a [`FlowKey`] to
//! produce datapath actions and the megaflow mask.
//!
//! # Contract
//!
//! [`xlate`] takes a key (a packet's fields) and the bridge state
//! ([`XlateEnv`], read-only) and returns an [`XlateOutput`]: the datapath
//! actions, the mask of every key bit the result depended on, the rules
//! and group buckets hit (for counters), the packet-ins requested, the MAC
//! addresses NORMAL would learn, and (when asked) the trace lines. It never
//! panics and allocates in proportion to the work done.
//!
//! # How
//!
//! The context keeps two copies of the packet's fields: `flow`, as the
//! OpenFlow actions have changed it so far, and `base`, as the datapath
//! packet is at this point of the action list. Field-setting actions only
//! change `flow`; before anything that looks at the packet (output,
//! controller, pop MPLS, push MPLS onto MPLS) the differences are
//! *committed*, in Open vSwitch's order (Ethernet, L3, L4, MPLS, VLAN,
//! priority, mark): one masked `set(...)` per changed header, a pending
//! `push_mpls`, VLAN tags popped and pushed to turn the base stack into the
//! flow's. So `set_field` followed by `output` gives
//! `set(...),N`, and a set undone before any output costs nothing.
//!
//! # The megaflow mask
//!
//! Every read un-wildcards what it read: each table lookup (through the
//! classifier, which adds the bits it examined), `in_port`, `recirc_id`,
//! `dl_type` and (for IP) `nw_frag` always, registers and fields read by
//! `move` / `output:reg`, the TTL a `dec_ttl` tests, the 5-tuple a SELECT
//! group hashes, the VLAN and addresses NORMAL uses. A committed field is
//! un-wildcarded whole, since whether a `set` is emitted depends on the
//! packet's original value. Field writes followed by lookups may add bits
//! that were not needed (harmless over-matching).
//!
//! # Pipeline semantics (OpenFlow 1.3 section 5)
//!
//! A rule's instructions run in the spec's order (meter, apply-actions,
//! clear-actions, write-actions, write-metadata, goto-table). A table miss
//! does what the table is configured to do ([`TableMiss`]: by default it
//! ends the pipeline and drops the packet, action set included; a
//! table-miss flow takes precedence). A conjunctive match
//! (`FlowTables::lookup_conjunctive`) beats a lower-priority ordinary one.
//! When the pipeline ends on a rule
//! without goto-table, the action set runs in the spec's order: copy TTL
//! inwards, pops, push MPLS, push PBB, push VLAN, copy TTL outwards,
//! decrement TTL, set fields, QoS, group, output (output only without a
//! group). `resubmit` looks the packet up in a table and runs the rule's
//! instructions in place, up to [`MAX_DEPTH`] nested and [`MAX_RESUBMITS`]
//! in all; beyond, translation fails and the packet is dropped. Group
//! buckets and `clone` run isolated, on a copy of the flow, so one
//! bucket's changes do not leak into the next: header writes are undone by
//! the next commit, encapsulations pushed inside are popped, the packet's
//! own MPLS label popped inside is pushed back; what cannot be undone (a
//! PBB header of the packet's own popped, a TTL copied in the datapath)
//! fails translation if the packet is used afterwards
//! ([`XlateError::CannotUndo`]). `clone` also keeps the action set.
//! Nicira `output_trunc` is `trunc(N)` before the output. Header changes
//! after the last output are dropped from the action list.
//!
//! # Deviations from Open vSwitch, on purpose
//!
//! * `push_vlan` copies the VID and PCP of an existing outer tag, as the
//!   OpenFlow spec says (Open vSwitch pushes VID 0).
//! * L3 sets are committed whatever `nw_proto` is (Open vSwitch skips them
//!   for protocol 0).
//! * SELECT groups hash the 5-tuple during translation (un-wildcarding it)
//!   instead of recirculating on `dp_hash`.
//! * After `pop_mpls` (and `pop_pbb`) the inner headers are unknown (all
//!   zero) to later tables; Open vSwitch recirculates to parse them.
//!
//! # Actions beyond Open vSwitch's datapath
//!
//! `push_pbb` / `pop_pbb` become the datapath's own `push_pbb(...)` /
//! `pop_pbb` (a `set_field` of `pbb_isid` / `pbb_uca` right after the push
//! is folded into the pushed I-TAG, later ones are `set(pbb(...))`);
//! ICMP type and code writes are `set(icmp(...))` / `set(icmpv6(...))`.
//! `copy_ttl_in` / `copy_ttl_out` under an MPLS push still pending in the
//! flow are IP TTL / label writes; on a packet already MPLS the inner TTL
//! is not in the key, so the datapath copies it (`copy_ttl_in`,
//! `copy_ttl_out`). After such a copy the top entry's TTL is unknown here:
//! a later `set_mpls_ttl` is always emitted, a `push_mpls` copies the TTL
//! again in the datapath, and a `dec_mpls_ttl` (which would have to test
//! the TTL) ends translation with [`XlateError::UnknownMplsTtl`] (drop).

use super::group::{Group, GroupType};
use super::meter::MeterTable;
use super::normal::{MacTable, PortVlan};
use super::table::{FlowEntry, FlowTables, N_TABLES, TableMiss};
use super::{fields, group::GroupTable};
use crate::ofp::actions::Action;
use crate::ofp::instructions::Instruction;
use crate::ofp::messages::GROUP_ANY;
use crate::ofp::oxm::Field;
use crate::ofp::port::{PortNo, ports};
use crate::text::format_actions;
use datapath::actions::{
    Action as Dp, DpPort, ITAG_ISID, ITAG_UCA, IcmpTypeCode, L4Ports, SetMasked,
};
use datapath::flow::key::{FRAG_LATER, VLAN_CFI, Vlan};
use datapath::flow::{FlowKey, FlowMask};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Maximum nesting of resubmits and group chaining.
pub const MAX_DEPTH: u32 = 64;
/// Maximum number of resubmits (and group buckets) in one translation.
pub const MAX_RESUBMITS: u32 = 4096;
/// Maximum number of datapath actions one translation may produce.
pub const MAX_ACTIONS: usize = 8192;

/// Packet-in reasons (OpenFlow 1.3 numbering).
pub mod reason {
    /// No matching flow (table-miss flow entry).
    pub const NO_MATCH: u8 = 0;
    /// Output to controller in an action.
    pub const ACTION: u8 = 1;
    /// Packet has an invalid TTL.
    pub const INVALID_TTL: u8 = 2;
}

/// A port as translation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// OpenFlow port number.
    pub ofp_port: PortNo,
    /// Datapath port number.
    pub dp_port: DpPort,
    /// Name (for traces and fdb/show).
    pub name: String,
    /// Link up and not administratively down (fast-failover liveness).
    pub live: bool,
    /// Excluded from FLOOD (OFPPC_NO_FLOOD).
    pub no_flood: bool,
    /// Packets are not forwarded to it (OFPPC_NO_FWD).
    pub no_fwd: bool,
    /// VLAN configuration for NORMAL.
    pub vlan: PortVlan,
}

impl PortInfo {
    /// A live port with default settings (trunk of every VLAN).
    pub fn new(ofp_port: PortNo, dp_port: DpPort, name: &str) -> PortInfo {
        PortInfo {
            ofp_port,
            dp_port,
            name: name.to_string(),
            live: true,
            no_flood: false,
            no_fwd: false,
            vlan: PortVlan::default(),
        }
    }
}

/// What a controller output asks the upcall handler to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControllerOut {
    /// Packet-in reason ([`reason`]).
    pub reason: u8,
    /// Table of the rule that sent it.
    pub table_id: u8,
    /// Cookie of that rule.
    pub cookie: u64,
    /// Bytes of the packet to send.
    pub max_len: u16,
    /// Controller connection id (0 = all).
    pub controller_id: u16,
    /// Where the output happened, for OpenFlow 1.4+ reasons
    /// (`APPLY_ACTION`, `ACTION_SET`, `GROUP`, `PACKET_OUT`).
    pub origin: Origin,
}

/// Where a controller output happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Origin {
    /// An apply-actions list (or a table miss).
    #[default]
    Apply,
    /// The action set.
    ActionSet,
    /// A group bucket.
    Group,
    /// A PACKET_OUT's actions.
    PacketOut,
}

impl ControllerOut {
    /// The packet-in reason in OpenFlow 1.4+ numbering (`TABLE_MISS` 0,
    /// `APPLY_ACTION` 1, `INVALID_TTL` 2, `ACTION_SET` 3, `GROUP` 4,
    /// `PACKET_OUT` 5).
    pub fn reason_14(&self) -> u8 {
        match (self.reason, self.origin) {
            (reason::ACTION, Origin::ActionSet) => 3,
            (reason::ACTION, Origin::Group) => 4,
            (reason::ACTION, Origin::PacketOut) => 5,
            (r, _) => r,
        }
    }
}

/// Gives controller outputs the `userdata` of a datapath `userspace`
/// action. Entries are never reused for another meaning, so a cached
/// megaflow's userdata stays valid.
#[derive(Debug, Default)]
pub struct ControllerRegistry {
    inner: Mutex<(Vec<ControllerOut>, HashMap<ControllerOut, u64>)>,
}

/// Marks userdata values made by [`ControllerRegistry`].
pub const CONTROLLER_USERDATA: u64 = 1 << 63;

impl ControllerRegistry {
    /// The userdata for `c`.
    pub fn intern(&self, c: ControllerOut) -> u64 {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(&u) = g.1.get(&c) {
            return u;
        }
        let u = CONTROLLER_USERDATA | g.0.len() as u64;
        g.0.push(c);
        g.1.insert(c, u);
        u
    }

    /// The controller output behind `userdata`.
    pub fn get(&self, userdata: u64) -> Option<ControllerOut> {
        if userdata & CONTROLLER_USERDATA == 0 {
            return None;
        }
        let g = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.0.get((userdata & !CONTROLLER_USERDATA) as usize).copied()
    }
}

/// The bridge state translation reads.
#[derive(Debug, Clone, Copy)]
pub struct XlateEnv<'a> {
    /// Flow tables.
    pub tables: &'a FlowTables,
    /// Groups.
    pub groups: &'a GroupTable,
    /// Meters.
    pub meters: &'a MeterTable,
    /// Ports by OpenFlow number.
    pub ports: &'a BTreeMap<PortNo, PortInfo>,
    /// MAC learning table (read; learning is returned, not applied).
    pub macs: &'a MacTable,
    /// Controller userdata registry.
    pub controllers: &'a ControllerRegistry,
    /// Current time (ms), for MAC aging.
    pub now_ms: u64,
    /// Bytes of a packet sent to the controller on a table miss.
    pub miss_send_len: u16,
    /// Count lookups in the table statistics (false for traces and
    /// revalidation).
    pub count_lookups: bool,
}

/// Why a translation failed (the packet is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XlateError {
    /// Resubmits or group chaining nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// More than [`MAX_RESUBMITS`] resubmits or group buckets.
    TooManyResubmits,
    /// More than [`MAX_ACTIONS`] datapath actions.
    TooManyActions,
    /// A `clone` or group bucket popped an encapsulation or copied a TTL in
    /// the datapath, and the packet was used again afterwards.
    CannotUndo,
    /// `dec_mpls_ttl` on a TTL the datapath copied (`copy_ttl_out` on a
    /// received MPLS packet): translation cannot test it for expiry.
    UnknownMplsTtl,
}

/// The result of a translation.
#[derive(Debug, Default)]
pub struct XlateOutput {
    /// Datapath actions (empty = drop).
    pub actions: Vec<Dp>,
    /// Megaflow mask.
    pub mask: FlowMask,
    /// The flow after the pipeline's changes.
    pub final_flow: FlowKey,
    /// Rules hit, in order (credit their counters per packet).
    pub rules: Vec<Arc<FlowEntry>>,
    /// Groups hit with the bucket taken (`None`: none).
    pub groups: Vec<(Arc<Group>, Option<usize>)>,
    /// Packet-ins requested (also present as `userspace` actions).
    pub controller: Vec<ControllerOut>,
    /// (VLAN, MAC, port) NORMAL learned from this packet.
    pub learned: Vec<(u16, [u8; 6], PortNo)>,
    /// Flows `learn` actions add (the upcall path applies them).
    pub learned_flows: Vec<crate::ofp::messages::FlowMod>,
    /// Failure, if any (then `actions` is empty).
    pub error: Option<XlateError>,
    /// Trace lines (when asked).
    pub trace: Vec<String>,
}

impl XlateOutput {
    /// Credits the rules and groups hit with `packets`/`bytes`.
    pub fn credit(&self, packets: u64, bytes: u64, now_ms: u64) {
        for r in &self.rules {
            r.credit(packets, bytes, now_ms);
        }
        for (g, b) in &self.groups {
            g.credit(*b, packets, bytes);
        }
    }
}

/// Where translation starts.
#[derive(Debug, Clone)]
pub enum Start<'a> {
    /// The pipeline from table 0 (a packet from a port).
    Pipeline,
    /// An action list (PACKET_OUT); `output:TABLE` runs the pipeline.
    Actions(&'a [Action]),
}

/// Translates `key` (see the module documentation).
pub fn xlate(env: &XlateEnv<'_>, key: &FlowKey, start: Start<'_>, trace: bool) -> XlateOutput {
    let mut wc = FlowMask::CATCHALL;
    wc.in_port = u32::MAX;
    wc.recirc_id = u32::MAX;
    wc.dl_type = u16::MAX;
    if matches!(key.dl_type, 0x0800 | 0x86dd) {
        wc.nw_frag = u8::MAX;
    }
    let mut cx = Ctx {
        env,
        flow: *key,
        base: *key,
        wc,
        written: FlowMask::CATCHALL,
        out: XlateOutput::default(),
        action_set: Vec::new(),
        depth: 0,
        resubmits: 0,
        table_id: 0,
        cookie: 0,
        table_miss_rule: false,
        exit: false,
        stop: false,
        miss: false,
        packet_out: false,
        origin: Origin::Apply,
        trace,
        mpls_ttl_unknown: false,
        iso: None,
        diverged: None,
    };
    match start {
        Start::Pipeline => cx.run_pipeline(),
        Start::Actions(acts) => {
            cx.packet_out = true;
            cx.origin = Origin::PacketOut;
            cx.exec_actions(acts, 0);
        }
    }
    if cx.out.error.is_some() {
        cx.out.actions.clear();
    }
    // Header changes after the last output (the pops that undo a clone's
    // or a bucket's encapsulation) reach no one.
    while matches!(
        cx.out.actions.last(),
        Some(
            Dp::PushVlan { .. }
                | Dp::PopVlan
                | Dp::PushMpls { .. }
                | Dp::PopMpls { .. }
                | Dp::PushPbb { .. }
                | Dp::PopPbb
                | Dp::CopyTtlIn
                | Dp::CopyTtlOut
                | Dp::Set(_)
                | Dp::Trunc(_)
        )
    ) {
        cx.out.actions.pop();
    }
    let mut out = cx.out;
    // Metadata and registers are pipeline state, zero when a packet enters
    // it: the datapath key does not carry them (a lookup that read them
    // read a constant).
    cx.wc.metadata = 0;
    cx.wc.regs = [0; 16];
    out.mask = cx.wc;
    out.final_flow = cx.flow;
    out
}

struct Ctx<'e, 'a> {
    env: &'e XlateEnv<'a>,
    flow: FlowKey,
    base: FlowKey,
    wc: FlowMask,
    written: FlowMask,
    out: XlateOutput,
    action_set: Vec<Action>,
    depth: u32,
    resubmits: u32,
    table_id: u8,
    cookie: u64,
    table_miss_rule: bool,
    /// `exit` seen: no more actions or tables; the action set still runs.
    exit: bool,
    /// Processing stopped (invalid TTL): nothing more, action set included.
    stop: bool,
    /// The top-level pipeline ended on a table miss.
    miss: bool,
    packet_out: bool,
    /// Where actions are running now (for packet-in reasons).
    origin: Origin,
    trace: bool,
    /// The top MPLS entry's TTL was copied by the datapath (`copy_ttl_out`
    /// from headers the key does not hold): `flow` and `base` do not know
    /// it.
    mpls_ttl_unknown: bool,
    /// The isolated action list running now (see `run_isolated`).
    iso: Option<Isolation>,
    /// Set when an isolated action list changed the packet irreversibly.
    diverged: Option<&'static str>,
}

/// Book-keeping of one isolated action list.
struct Isolation {
    /// Index of its first datapath action.
    start: usize,
    /// `base` before the first encapsulation it pushed, and whether that
    /// was PBB.
    snap: Option<(FlowKey, bool)>,
}

fn is_ip(dl_type: u16) -> bool {
    dl_type == 0x0800 || dl_type == 0x86dd
}

/// The PBB EtherType.
const PBB: u16 = 0x88e7;

fn is_mpls(dl_type: u16) -> bool {
    dl_type == 0x8847 || dl_type == 0x8848
}

fn tags(k: &FlowKey) -> Vec<Vlan> {
    k.vlans
        .iter()
        .take_while(|v| v.present())
        .copied()
        .collect()
}

fn port_name(p: PortNo) -> String {
    match p {
        ports::IN_PORT => "IN_PORT".into(),
        ports::TABLE => "TABLE".into(),
        ports::NORMAL => "NORMAL".into(),
        ports::FLOOD => "FLOOD".into(),
        ports::ALL => "ALL".into(),
        ports::CONTROLLER => "CONTROLLER".into(),
        ports::LOCAL => "LOCAL".into(),
        ports::ANY => "ANY".into(),
        n => n.to_string(),
    }
}

fn mac_text(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// Rank of an action in the action set's execution order.
pub(super) fn set_rank(a: &Action) -> u8 {
    match a {
        Action::CopyTtlIn => 0,
        Action::PopVlan | Action::PopMpls(_) | Action::PopPbb => 1,
        Action::PushMpls(_) => 2,
        Action::PushPbb(_) => 3,
        Action::PushVlan(_) => 4,
        Action::CopyTtlOut => 5,
        Action::DecNwTtl | Action::DecMplsTtl | Action::DecTtlIds(_) => 6,
        Action::SetQueue(_) | Action::PopQueue => 8,
        Action::Group(_) => 9,
        Action::Output { .. }
        | Action::Enqueue { .. }
        | Action::OutputReg { .. }
        | Action::OutputTrunc { .. } => 10,
        _ => 7,
    }
}

/// Two actions of the action set with the same slot replace each other.
fn set_slot(a: &Action) -> (u8, Option<Field>, u8) {
    let d = match a {
        Action::SetField(e) => return (7, Some(e.field), 0),
        Action::SetVlanVid(_) => 1,
        Action::SetVlanPcp(_) => 2,
        Action::SetTpSrc(_) => 3,
        Action::SetTpDst(_) => 4,
        Action::SetMplsTtl(_) => 5,
        Action::SetNwTtl(_) => 6,
        Action::SetTunnel(_) => 7,
        Action::Meter(_) => 8,
        Action::RegLoad { .. } | Action::RegMove { .. } | Action::Note(_) => 9,
        _ => 0,
    };
    (set_rank(a), None, d)
}

impl Ctx<'_, '_> {
    fn line(&mut self, extra: usize, text: impl Into<String>) {
        if self.trace {
            let pad = " ".repeat(self.depth as usize * 4 + extra);
            self.out.trace.push(format!("{pad}{}", text.into()));
        }
    }

    fn action_text(a: &Action) -> String {
        format_actions(&[Instruction::ApplyActions(vec![a.clone()])])
    }

    fn run_pipeline(&mut self) {
        self.do_table(0, true);
        if !self.miss && !self.stop && self.out.error.is_none() {
            self.run_action_set();
        }
    }

    fn run_action_set(&mut self) {
        let mut set = std::mem::take(&mut self.action_set);
        if set.is_empty() {
            return;
        }
        set.sort_by_key(set_rank);
        if set.iter().any(|a| matches!(a, Action::Group(_))) {
            set.retain(|a| set_rank(a) != 10);
        }
        self.line(4, "(executing action set)");
        // The action set runs even after `exit`, on behalf of the last
        // rule matched.
        let exit = std::mem::replace(&mut self.exit, false);
        let saved = (self.table_id, self.cookie, self.origin);
        if let Some(r) = self.out.rules.last() {
            (self.table_id, self.cookie) = (r.table_id, r.cookie);
        }
        self.origin = Origin::ActionSet;
        self.exec_actions(&set, 4);
        (self.table_id, self.cookie, self.origin) = saved;
        self.exit = exit;
    }

    fn do_table(&mut self, mut table: u8, top: bool) {
        loop {
            if self.exit || self.stop || self.out.error.is_some() {
                return;
            }
            let env = self.env;
            let hard = env
                .tables
                .lookup_with(table, &self.flow, &mut self.wc, env.count_lookups)
                .cloned();
            let floor = hard.as_ref().map(|h| h.priority);
            let rule = env
                .tables
                .lookup_conjunctive(table, &self.flow, &mut self.wc, floor)
                .cloned()
                .or(hard);
            let Some(rule) = rule else {
                self.line(0, format!("{table:2}. No match."));
                match env.tables.miss(table) {
                    TableMiss::Continue if usize::from(table) + 1 < N_TABLES => {
                        self.line(4, "-> continuing at the next table");
                        table += 1;
                        continue;
                    }
                    TableMiss::Controller => {
                        let saved = (self.table_id, self.cookie);
                        (self.table_id, self.cookie) = (table, 0);
                        self.controller(reason::NO_MATCH, env.miss_send_len, 0, 4);
                        (self.table_id, self.cookie) = saved;
                    }
                    _ => self.line(4, "drop"),
                }
                if top {
                    self.miss = true;
                }
                return;
            };
            if self.trace {
                let m = crate::text::format_match(&rule.match_());
                let mut head = format!("{table:2}. ");
                if !m.is_empty() {
                    head.push_str(&m);
                    head.push_str(", ");
                }
                head.push_str(&format!("priority {}", rule.priority));
                if rule.cookie != 0 {
                    head.push_str(&format!(", cookie {:#x}", rule.cookie));
                }
                self.line(0, head);
            }
            self.out.rules.push(Arc::clone(&rule));
            let saved = (self.table_id, self.cookie, self.table_miss_rule);
            self.table_id = table;
            self.cookie = rule.cookie;
            self.table_miss_rule = rule.is_table_miss();
            let goto = self.exec_instructions(&rule.instructions);
            (self.table_id, self.cookie, self.table_miss_rule) = saved;
            match goto {
                Some(n) if !self.exit && !self.stop => {
                    self.line(4, format!("goto_table:{n}"));
                    table = n;
                }
                _ => return,
            }
        }
    }

    fn exec_instructions(&mut self, ins: &[Instruction]) -> Option<u8> {
        let rank = |i: &Instruction| match i {
            Instruction::Meter(_) => 0,
            Instruction::ApplyActions(_) => 1,
            Instruction::ClearActions => 2,
            Instruction::WriteActions(_) => 3,
            Instruction::WriteMetadata { .. } => 4,
            Instruction::GotoTable(_) => 5,
            Instruction::Experimenter { .. } => 6,
        };
        let mut goto = None;
        // In the spec's order whatever the list's order (no allocation:
        // a rule has a handful of instructions).
        let ordered = (0..=6u8).flat_map(|r| ins.iter().filter(move |i| rank(i) == r));
        for i in ordered {
            if self.exit || self.stop || self.out.error.is_some() {
                break;
            }
            match i {
                Instruction::Meter(m) => self.meter(*m),
                Instruction::ApplyActions(a) => self.exec_actions(a, 4),
                Instruction::ClearActions => {
                    self.line(4, "clear_actions");
                    self.action_set.clear();
                }
                Instruction::WriteActions(acts) => {
                    if self.trace {
                        let t = format_actions(&[Instruction::WriteActions(acts.clone())]);
                        self.line(4, t);
                    }
                    for a in acts {
                        let slot = set_slot(a);
                        self.action_set.retain(|x| set_slot(x) != slot);
                        self.action_set.push(a.clone());
                    }
                }
                Instruction::WriteMetadata { metadata, mask } => {
                    self.line(4, format!("write_metadata:{metadata:#x}/{mask:#x}"));
                    self.flow.metadata = (self.flow.metadata & !mask) | (metadata & mask);
                }
                Instruction::GotoTable(t) => goto = Some(*t),
                Instruction::Experimenter { .. } => {}
            }
        }
        goto
    }

    fn exec_actions(&mut self, acts: &[Action], indent: usize) {
        for a in acts {
            if self.exit || self.stop || self.out.error.is_some() {
                return;
            }
            if self.trace && !matches!(a, Action::Group(_)) {
                let t = Self::action_text(a);
                self.line(indent, t);
            }
            self.exec_action(a, indent);
        }
    }

    fn write_field(&mut self, f: Field, value: u128, mask: u128) {
        let flow = &mut self.flow;
        match f {
            Field::VlanVid => {
                let v = &mut flow.vlans[0];
                if v.tpid == 0 {
                    v.tpid = 0x8100;
                }
                let m = (mask as u16) & 0xfff;
                v.tci = (v.tci & !m) | (value as u16 & m) | VLAN_CFI;
                self.written.vlans = [Vlan { tpid: !0, tci: !0 }; 2];
            }
            Field::VlanPcp => {
                let v = &mut flow.vlans[0];
                if v.tpid == 0 {
                    v.tpid = 0x8100;
                }
                v.tci = (v.tci & 0x1fff) | ((value as u16 & 7) << 13) | VLAN_CFI;
                self.written.vlans = [Vlan { tpid: !0, tci: !0 }; 2];
            }
            Field::VlanTci => {
                let m = mask as u16;
                let v = &mut flow.vlans[0];
                v.tci = (v.tci & !m) | (value as u16 & m);
                if v.tci & VLAN_CFI == 0 {
                    *v = Vlan::default();
                } else if v.tpid == 0 {
                    v.tpid = 0x8100;
                }
                self.written.vlans = [Vlan { tpid: !0, tci: !0 }; 2];
            }
            _ => {
                if let Some(m) = fields::write(flow, f, value, mask) {
                    self.written.union_with(&m);
                }
            }
        }
    }

    fn read_field(&mut self, f: Field, ofs: u16, n_bits: u16) -> u128 {
        if let Some(m) = fields::storage_masked(f, fields::bits_mask(n_bits) << ofs) {
            self.wc.union_with(&m);
        }
        fields::read_bits(&self.flow, f, ofs, n_bits).unwrap_or(0)
    }

    fn exec_action(&mut self, a: &Action, indent: usize) {
        match a {
            Action::Output { port, max_len } => self.output(*port, *max_len, indent),
            Action::OutputTrunc { port, max_len } => self.output_trunc(*port, *max_len, indent),
            Action::Clone(acts) => {
                let set = self.action_set.clone();
                self.run_isolated(acts, indent + 4);
                self.action_set = set;
            }
            Action::Enqueue { port, queue } => {
                let saved = self.flow.skb_priority;
                self.set_queue(*queue);
                self.output(*port, 0, indent);
                self.flow.skb_priority = saved;
            }
            Action::OutputReg { src, max_len } => {
                if let Some(f) = src.field() {
                    let p = self.read_field(f, src.ofs, src.n_bits) as u32;
                    self.output(p, *max_len, indent);
                }
            }
            Action::Group(g) => self.group(*g, indent),
            Action::SetQueue(q) => self.set_queue(*q),
            Action::PopQueue => {
                self.flow.skb_priority = self.base_priority();
                self.written.skb_priority = !0;
            }
            Action::SetField(e) => {
                let v = u128_of(e.value.as_bytes());
                let m = e.mask.map_or(u128::MAX, |m| u128_of(m.as_bytes()));
                self.write_field(e.field, v, m);
            }
            Action::RegLoad { dst, value } => {
                if let Some(f) = dst.field() {
                    let m = fields::bits_mask(dst.n_bits) << dst.ofs;
                    self.write_field(f, u128::from(*value) << dst.ofs, m);
                }
            }
            Action::RegMove { src, dst } => {
                if let (Some(fs), Some(fd)) = (src.field(), dst.field()) {
                    let v = self.read_field(fs, src.ofs, src.n_bits);
                    let m = fields::bits_mask(dst.n_bits) << dst.ofs;
                    self.write_field(fd, v << dst.ofs, m);
                }
            }
            Action::SetTunnel(id) => {
                self.flow.tun_id = *id;
                self.written.tun_id = !0;
            }
            Action::PushVlan(tpid) => {
                let outer = self.flow.vlans[0];
                self.wc.vlans[0].tci |= 0xffff;
                let tci = if outer.present() { outer.tci } else { 0 } | VLAN_CFI;
                self.flow.vlans[1] = outer;
                self.flow.vlans[0] = Vlan { tpid: *tpid, tci };
                self.written.vlans = [Vlan { tpid: !0, tci: !0 }; 2];
            }
            Action::PopVlan => {
                self.wc.vlans[0].tci |= VLAN_CFI;
                if self.flow.vlans[0].present() {
                    self.flow.vlans[0] = self.flow.vlans[1];
                    self.flow.vlans[1] = Vlan::default();
                    self.written.vlans = [Vlan { tpid: !0, tci: !0 }; 2];
                }
            }
            Action::SetVlanVid(vid) => self.write_field(Field::VlanVid, u128::from(*vid), 0xfff),
            Action::SetVlanPcp(p) => self.write_field(Field::VlanPcp, u128::from(*p), 7),
            Action::SetTpSrc(p) | Action::SetTpDst(p) => {
                self.wc.nw_proto = !0;
                let f = match (self.flow.nw_proto, matches!(a, Action::SetTpSrc(_))) {
                    (6, true) => Field::TcpSrc,
                    (6, false) => Field::TcpDst,
                    (17, true) => Field::UdpSrc,
                    (17, false) => Field::UdpDst,
                    (132, true) => Field::SctpSrc,
                    (132, false) => Field::SctpDst,
                    _ => return,
                };
                self.write_field(f, u128::from(*p), u128::MAX);
            }
            Action::SetNwTtl(t) => {
                if is_ip(self.flow.dl_type) {
                    self.flow.nw_ttl = *t;
                    self.written.nw_ttl = !0;
                }
            }
            Action::DecNwTtl => self.dec_ttl(&[0], indent),
            Action::DecTtlIds(ids) => self.dec_ttl(ids, indent),
            Action::SetMplsTtl(t) => {
                if is_mpls(self.flow.dl_type) {
                    self.flow.mpls_lse = (self.flow.mpls_lse & !0xff) | u32::from(*t);
                    self.written.mpls_lse |= 0xff;
                    if std::mem::take(&mut self.mpls_ttl_unknown) {
                        // Whatever the packet holds, the set must be emitted.
                        self.base.mpls_lse = (self.base.mpls_lse & !0xff) | u32::from(!*t);
                    }
                }
            }
            Action::DecMplsTtl if self.mpls_ttl_unknown && is_mpls(self.flow.dl_type) => {
                self.line(
                    indent + 1,
                    "-> MPLS TTL copied by the datapath is unknown here, packet dropped",
                );
                self.out.error = Some(XlateError::UnknownMplsTtl);
            }
            Action::DecMplsTtl => {
                if is_mpls(self.flow.dl_type) {
                    self.wc.mpls_lse |= 0xff;
                    let ttl = self.flow.mpls_lse & 0xff;
                    if ttl <= 1 {
                        self.invalid_ttl(&[0], indent);
                    } else {
                        self.flow.mpls_lse = (self.flow.mpls_lse & !0xff) | (ttl - 1);
                        self.written.mpls_lse |= 0xff;
                    }
                }
            }
            Action::CopyTtlOut => self.copy_ttl_out(),
            Action::CopyTtlIn => self.copy_ttl_in(),
            Action::PushPbb(_) => self.push_pbb(),
            Action::PopPbb => self.pop_pbb(),
            Action::PushMpls(et) => self.push_mpls(*et),
            Action::PopMpls(et) => self.pop_mpls(*et),
            Action::Meter(m) => self.meter(*m),
            Action::Resubmit { in_port, table } => self.resubmit(*in_port, *table),
            Action::Exit => self.exit = true,
            Action::NxController {
                max_len,
                controller_id,
                reason,
            } => self.controller(*reason, *max_len, *controller_id, indent),
            Action::Note(_) => {}
            Action::Learn(_) | Action::Experimenter { .. }
                if let Some(Ok(l)) = super::learn::Learn::from_action(a) =>
            {
                let (fm, read) = l.build(&self.flow);
                self.wc.union_with(&read);
                if self.trace {
                    let m = crate::text::format_match(&fm.match_);
                    self.line(
                        indent + 1,
                        format!(
                            "-> learned table={},{m},priority={}",
                            fm.table_id, fm.priority
                        ),
                    );
                }
                self.out.learned_flows.push(fm);
            }
            // Refused at flow_mod time (see `check`); nothing to do if one
            // arrives some other way.
            Action::Conjunction { .. }
            | Action::Ct(_)
            | Action::Nat(_)
            | Action::CtClear
            | Action::Controller2(_)
            | Action::Multipath(_)
            | Action::Bundle(_)
            | Action::Learn(_)
            | Action::Experimenter { .. } => {
                self.line(indent + 1, "-> unsupported action, ignored");
            }
        }
    }

    fn base_priority(&self) -> u32 {
        self.base.skb_priority
    }

    fn set_queue(&mut self, q: u32) {
        self.flow.skb_priority = q;
        self.written.skb_priority = !0;
    }

    fn dec_ttl(&mut self, ids: &[u16], indent: usize) {
        if !is_ip(self.flow.dl_type) {
            return;
        }
        self.wc.nw_ttl = !0;
        if self.flow.nw_ttl <= 1 {
            self.invalid_ttl(ids, indent);
        } else {
            self.flow.nw_ttl -= 1;
            self.written.nw_ttl = !0;
        }
    }

    fn invalid_ttl(&mut self, ids: &[u16], indent: usize) {
        for &id in ids {
            self.controller(reason::INVALID_TTL, u16::MAX, id, indent);
        }
        self.line(indent + 1, "-> invalid TTL, packet dropped");
        self.stop = true;
    }

    /// Onto a non-MPLS packet the push is lazy, as Open vSwitch does it:
    /// the flow becomes MPLS and the commit emits one `push_mpls` with the
    /// entry as later actions leave it (after the pending L3/L4 sets, which
    /// apply to the IP header). Onto an MPLS packet it is emitted at once.
    fn push_mpls(&mut self, et: u16) {
        let lazy = !is_mpls(self.flow.dl_type) && !is_mpls(self.base.dl_type);
        if !lazy {
            self.commit();
            self.note_push(false);
        }
        let f = &self.flow;
        let lse = if is_mpls(f.dl_type) {
            self.wc.mpls_lse = !0;
            f.mpls_lse & !0x100
        } else {
            let (tc, ttl) = if is_ip(f.dl_type) {
                self.wc.nw_tos |= 0xfc;
                self.wc.nw_ttl = !0;
                (
                    u32::from((f.nw_tos >> 2) & 7),
                    if f.nw_ttl != 0 {
                        u32::from(f.nw_ttl)
                    } else {
                        64
                    },
                )
            } else {
                (0, 64)
            };
            (tc << 9) | 0x100 | ttl
        };
        if lazy {
            self.flow.dl_type = et;
            self.flow.mpls_lse = lse;
            return;
        }
        self.out.actions.push(Dp::PushMpls { ethertype: et, lse });
        if self.mpls_ttl_unknown {
            // The copied entry's TTL is the datapath's: copy it again.
            self.out.actions.push(Dp::CopyTtlOut);
        }
        for k in [&mut self.flow, &mut self.base] {
            k.dl_type = et;
            k.mpls_lse = lse;
        }
    }

    /// OpenFlow 1.3 copy_ttl_out: the TTL of the header under the top MPLS
    /// entry into that entry. Under a push still pending in `flow` the IP
    /// header is the base's, whose TTL the key holds; on a packet that is
    /// already MPLS the datapath copies it.
    fn copy_ttl_out(&mut self) {
        if !is_mpls(self.flow.dl_type) {
            return;
        }
        if is_mpls(self.base.dl_type) {
            self.commit();
            self.out.actions.push(Dp::CopyTtlOut);
            self.mpls_ttl_unknown = true;
        } else if is_ip(self.base.dl_type) {
            self.wc.nw_ttl = !0;
            self.flow.mpls_lse = (self.flow.mpls_lse & !0xff) | u32::from(self.flow.nw_ttl);
            self.written.mpls_lse |= 0xff;
        }
    }

    /// OpenFlow 1.3 copy_ttl_in: the top MPLS entry's TTL into the header
    /// under it. Under a pending push that is the base's IP header (an IP
    /// TTL set); otherwise the datapath copies it.
    fn copy_ttl_in(&mut self) {
        if !is_mpls(self.flow.dl_type) {
            return;
        }
        if is_mpls(self.base.dl_type) {
            self.commit();
            self.out.actions.push(Dp::CopyTtlIn);
        } else if is_ip(self.base.dl_type) {
            self.flow.nw_ttl = (self.flow.mpls_lse & 0xff) as u8;
            self.written.nw_ttl = !0;
        }
    }

    /// OpenFlow 1.3 push_pbb: pending changes are committed (they apply to
    /// the customer frame), then an I-TAG is pushed whose I-SID is the
    /// packet's current one (0 when not PBB) and whose PCP is the outer
    /// VLAN tag's (0 when untagged), as the specification's table of
    /// fields copied on push says. The packet then has no VLAN tag and
    /// EtherType 0x88e7; the customer headers are out of the key's reach.
    fn push_pbb(&mut self) {
        self.commit();
        self.note_push(true);
        let f = self.flow;
        let pcp = if f.vlans[0].present() {
            self.wc.vlans[0].tci |= VLAN_CFI | 0xe000;
            u32::from(f.vlans[0].pcp())
        } else {
            self.wc.vlans[0].tci |= VLAN_CFI;
            0
        };
        let isid = if f.dl_type == PBB {
            f.pbb_isid & ITAG_ISID
        } else {
            0
        };
        if f.dl_type == PBB {
            self.wc.pbb_isid = !0;
        }
        self.out.actions.push(Dp::PushPbb {
            itag: (pcp << 29) | isid,
        });
        for k in [&mut self.flow, &mut self.base] {
            k.vlans = [Vlan::default(); 2];
            k.dl_type = PBB;
            k.mpls_lse = 0;
            k.pbb_isid = isid;
            k.pbb_uca = 0;
            k.clear_l3_l4();
        }
        self.mpls_ttl_unknown = false;
    }

    /// OpenFlow 1.3 pop_pbb: removes the backbone header. What follows (the
    /// customer addresses, tags and EtherType) is not in the key: later
    /// tables see it as all zero (as after `pop_mpls`).
    fn pop_pbb(&mut self) {
        if self.flow.dl_type != PBB {
            return;
        }
        self.commit();
        self.out.actions.push(Dp::PopPbb);
        for k in [&mut self.flow, &mut self.base] {
            k.dl_src = [0; 6];
            k.dl_dst = [0; 6];
            k.vlans = [Vlan::default(); 2];
            k.dl_type = 0;
            k.mpls_lse = 0;
            k.pbb_isid = 0;
            k.pbb_uca = 0;
            k.clear_l3_l4();
        }
    }

    fn pop_mpls(&mut self, et: u16) {
        if !is_mpls(self.flow.dl_type) {
            return;
        }
        self.mpls_ttl_unknown = false;
        self.commit();
        self.out.actions.push(Dp::PopMpls { ethertype: et });
        for k in [&mut self.flow, &mut self.base] {
            k.dl_type = et;
            k.mpls_lse = 0;
            // What follows the popped entry is not known without parsing
            // the packet again.
            k.clear_l3_l4();
        }
    }

    fn meter(&mut self, id: u32) {
        self.line(4, format!("meter:{id}"));
        if self.env.meters.contains(id) {
            self.out.actions.push(Dp::Meter(id));
        } else {
            self.line(5, "-> no such meter, packet dropped");
            self.stop = true;
        }
    }

    fn resubmit(&mut self, in_port: PortNo, table: Option<u8>) {
        let t = match table {
            Some(255) | None => self.table_id,
            Some(t) => t,
        };
        if self.depth + 1 > MAX_DEPTH {
            self.line(
                4,
                format!(">>>> over max translation depth {MAX_DEPTH} <<<<"),
            );
            self.out.error = Some(XlateError::TooDeep);
            return;
        }
        self.resubmits += 1;
        if self.resubmits > MAX_RESUBMITS {
            self.line(
                4,
                format!(">>>> over {MAX_RESUBMITS} resubmit actions <<<<"),
            );
            self.out.error = Some(XlateError::TooManyResubmits);
            return;
        }
        let old_in = self.flow.in_port;
        if in_port != ports::IN_PORT {
            self.flow.in_port = in_port;
        }
        self.depth += 1;
        self.do_table(t, false);
        self.depth -= 1;
        self.flow.in_port = old_in;
    }

    fn output(&mut self, port: PortNo, max_len: u16, indent: usize) {
        match port {
            ports::IN_PORT => {
                let p = self.flow.in_port;
                self.emit_output(p, indent);
            }
            ports::TABLE => {
                if self.packet_out {
                    let set = std::mem::take(&mut self.action_set);
                    let miss = std::mem::replace(&mut self.miss, false);
                    let origin = std::mem::replace(&mut self.origin, Origin::Apply);
                    self.run_pipeline();
                    self.origin = origin;
                    self.action_set = set;
                    self.miss = miss;
                }
            }
            ports::NORMAL => self.normal(indent),
            ports::FLOOD | ports::ALL => {
                let env = self.env;
                let in_port = self.flow.in_port;
                for p in env.ports.values() {
                    if p.ofp_port != in_port && !(port == ports::FLOOD && p.no_flood) {
                        self.emit_output(p.ofp_port, indent);
                    }
                }
            }
            ports::CONTROLLER => {
                let r = if self.table_miss_rule && !self.packet_out {
                    reason::NO_MATCH
                } else {
                    reason::ACTION
                };
                self.controller(r, max_len, 0, indent);
            }
            ports::ANY => {}
            p => {
                if p == self.flow.in_port {
                    self.line(indent + 1, "-> skipping output to input port");
                } else {
                    self.emit_output(p, indent);
                }
            }
        }
    }

    fn emit_output(&mut self, port: PortNo, indent: usize) {
        self.emit_output_trunc(port, None, indent);
    }

    /// Nicira output_trunc: the copy sent to `port` is cut to `max_len`
    /// bytes (`trunc(N)` before the output); the packet itself is not.
    fn output_trunc(&mut self, port: PortNo, max_len: u32, indent: usize) {
        let p = if port == ports::IN_PORT {
            self.flow.in_port
        } else if port == self.flow.in_port {
            self.line(indent + 1, "-> skipping output to input port");
            return;
        } else {
            port
        };
        self.emit_output_trunc(p, Some(max_len), indent);
    }

    fn emit_output_trunc(&mut self, port: PortNo, trunc: Option<u32>, indent: usize) {
        let env = self.env;
        let Some(p) = env.ports.get(&port) else {
            self.line(
                indent + 1,
                format!("-> output to nonexistent port {}", port_name(port)),
            );
            return;
        };
        if p.no_fwd {
            self.line(
                indent + 1,
                format!("-> {} does not forward, dropping", p.name),
            );
            return;
        }
        self.commit();
        if self.out.actions.len() >= MAX_ACTIONS {
            self.line(
                indent + 1,
                format!(">>>> over {MAX_ACTIONS} datapath actions <<<<"),
            );
            self.out.error = Some(XlateError::TooManyActions);
            return;
        }
        if let Some(n) = trunc {
            self.out.actions.push(Dp::Trunc(n));
        }
        self.out.actions.push(Dp::Output(p.dp_port));
    }

    fn controller(&mut self, reason: u8, max_len: u16, controller_id: u16, indent: usize) {
        self.commit();
        let c = ControllerOut {
            reason,
            table_id: self.table_id,
            cookie: self.cookie,
            max_len,
            controller_id,
            origin: self.origin,
        };
        let userdata = self.env.controllers.intern(c);
        self.out.actions.push(Dp::Userspace { userdata });
        self.out.controller.push(c);
        let why = match reason {
            reason::NO_MATCH => "no_match",
            reason::ACTION => "action",
            reason::INVALID_TTL => "invalid_ttl",
            _ => "other",
        };
        self.line(
            indent + 1,
            format!("-> packet-in to controller (reason={why})"),
        );
    }

    fn port_live(&self, p: PortNo) -> bool {
        self.env.ports.get(&p).is_some_and(|p| p.live)
    }

    fn group_live(&self, g: u32, depth: u32) -> bool {
        let Some(grp) = self.env.groups.get(g) else {
            return false;
        };
        if grp.group_type != GroupType::FastFailover || depth > MAX_DEPTH {
            return true;
        }
        grp.buckets
            .iter()
            .any(|b| self.bucket_live(b.watch_port, b.watch_group, depth + 1))
    }

    fn bucket_live(&self, watch_port: PortNo, watch_group: u32, depth: u32) -> bool {
        (watch_port == ports::ANY || self.port_live(watch_port))
            && (watch_group == GROUP_ANY || self.group_live(watch_group, depth))
    }

    fn select_hash(&mut self) -> u64 {
        let f = &self.flow;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |x: u128| {
            for b in x.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        mix(f.dl_type.into());
        let wc = &mut self.wc;
        match f.dl_type {
            0x0800 => {
                mix(f.nw_src.into());
                mix(f.nw_dst.into());
                mix(f.nw_proto.into());
                wc.nw_src = !0;
                wc.nw_dst = !0;
                wc.nw_proto = !0;
            }
            0x86dd => {
                mix(u128::from_be_bytes(f.ipv6_src));
                mix(u128::from_be_bytes(f.ipv6_dst));
                mix(f.nw_proto.into());
                wc.ipv6_src = [0xff; 16];
                wc.ipv6_dst = [0xff; 16];
                wc.nw_proto = !0;
            }
            _ => {
                mix(u128_of(&f.dl_src));
                mix(u128_of(&f.dl_dst));
                wc.dl_src = [0xff; 6];
                wc.dl_dst = [0xff; 6];
            }
        }
        if is_ip(f.dl_type) && matches!(f.nw_proto, 6 | 17 | 132) && f.nw_frag & FRAG_LATER == 0 {
            mix(f.tp_src.into());
            mix(f.tp_dst.into());
            wc.tp_src = !0;
            wc.tp_dst = !0;
        }
        h ^ (h >> 29)
    }

    fn group(&mut self, gid: u32, indent: usize) {
        self.line(indent, format!("group:{gid}"));
        let env = self.env;
        let Some(g) = env.groups.get(gid).cloned() else {
            self.line(indent + 1, "-> no such group");
            return;
        };
        if self.depth + 1 > MAX_DEPTH {
            self.line(
                indent,
                format!(">>>> over max translation depth {MAX_DEPTH} <<<<"),
            );
            self.out.error = Some(XlateError::TooDeep);
            return;
        }
        let chosen: Vec<usize> = match g.group_type {
            GroupType::All => (0..g.buckets.len()).collect(),
            GroupType::Indirect => (0..g.buckets.len().min(1)).collect(),
            GroupType::FastFailover => g
                .buckets
                .iter()
                .position(|b| self.bucket_live(b.watch_port, b.watch_group, self.depth))
                .into_iter()
                .collect(),
            GroupType::Select => {
                let live: Vec<usize> = (0..g.buckets.len())
                    .filter(|&i| {
                        let b = &g.buckets[i];
                        b.weight > 0 && self.bucket_live(b.watch_port, b.watch_group, self.depth)
                    })
                    .collect();
                let total: u64 = live.iter().map(|&i| u64::from(g.buckets[i].weight)).sum();
                if total == 0 {
                    Vec::new()
                } else {
                    let mut x = self.select_hash() % total;
                    let mut pick = live[0];
                    for &i in &live {
                        let w = u64::from(g.buckets[i].weight);
                        if x < w {
                            pick = i;
                            break;
                        }
                        x -= w;
                    }
                    vec![pick]
                }
            }
        };
        if chosen.is_empty() {
            self.line(indent + 1, "-> no live bucket");
            self.out.groups.push((Arc::clone(&g), None));
            return;
        }
        self.depth += 1;
        for i in chosen {
            // Group buckets count as resubmits: chained ALL groups would
            // otherwise fan out exponentially.
            self.resubmits += 1;
            if self.resubmits > MAX_RESUBMITS {
                self.line(
                    indent,
                    format!(">>>> over {MAX_RESUBMITS} resubmit actions <<<<"),
                );
                self.out.error = Some(XlateError::TooManyResubmits);
                break;
            }
            self.out.groups.push((Arc::clone(&g), Some(i)));
            if self.trace {
                self.depth -= 1;
                self.line(indent, format!("bucket {i}"));
                self.depth += 1;
            }
            let origin = std::mem::replace(&mut self.origin, Origin::Group);
            self.run_isolated(&g.buckets[i].actions, indent + 4);
            self.origin = origin;
            if self.stop || self.out.error.is_some() {
                break;
            }
        }
        self.depth -= 1;
    }

    fn normal(&mut self, indent: usize) {
        let env = self.env;
        let in_port = self.flow.in_port;
        let Some(inp) = env.ports.get(&in_port) else {
            self.line(indent + 1, "-> no input port, dropping");
            return;
        };
        self.wc.vlans[0].tci |= 0x1fff;
        let outer = self.flow.vlans[0];
        let vid = outer.present().then(|| outer.vid());
        let Some(vlan) = inp.vlan.input_vlan(vid) else {
            self.line(
                indent + 1,
                format!(
                    "-> dropping VLAN {} packet received on port {} not configured for it",
                    vid.unwrap_or(0),
                    inp.name
                ),
            );
            return;
        };
        self.wc.dl_src = [0xff; 6];
        self.wc.dl_dst = [0xff; 6];
        let src = self.flow.dl_src;
        if src[0] & 1 == 0 && env.macs.lookup(vlan, src, env.now_ms) != Some(in_port) {
            self.out.learned.push((vlan, src, in_port));
            self.line(
                indent + 1,
                format!(
                    "-> learned that {} is on port {} in VLAN {vlan}",
                    mac_text(src),
                    inp.name
                ),
            );
        }
        let dst = self.flow.dl_dst;
        let learned = if dst[0] & 1 == 0 {
            env.macs.lookup(vlan, dst, env.now_ms)
        } else {
            None
        };
        match learned {
            Some(p) if p == in_port => {
                self.line(indent + 1, "-> learned port is input port, dropping");
            }
            Some(p) => {
                self.line(indent + 1, "-> forwarding to learned port");
                self.normal_output(p, vlan, indent);
            }
            None => {
                self.line(indent + 1, "-> no learned MAC for destination, flooding");
                for p in env.ports.values() {
                    if p.ofp_port != in_port && !p.no_flood {
                        self.normal_output(p.ofp_port, vlan, indent);
                    }
                }
            }
        }
    }

    fn normal_output(&mut self, port: PortNo, vlan: u16, indent: usize) {
        let env = self.env;
        let Some(p) = env.ports.get(&port) else {
            return;
        };
        let Some(tag) = p.vlan.output_tag(vlan) else {
            return;
        };
        let saved = self.flow.vlans;
        // The stack below the VLAN NORMAL switched on.
        let outer = self.flow.vlans[0];
        let inner = if outer.present() {
            self.flow.vlans[1]
        } else {
            outer
        };
        self.flow.vlans = match tag {
            None => [inner, Vlan::default()],
            Some(vid) => {
                let pcp = if outer.present() {
                    outer.tci & 0xe000
                } else {
                    0
                };
                [
                    Vlan {
                        tpid: 0x8100,
                        tci: pcp | VLAN_CFI | vid,
                    },
                    inner,
                ]
            }
        };
        self.written.vlans = [Vlan { tpid: !0, tci: !0 }; 2];
        self.emit_output(port, indent);
        self.flow.vlans = saved;
    }

    /// Emits the datapath actions that turn `base` into `flow` (see the
    /// module documentation) and un-wildcards the fields compared. Order:
    /// tunnel, Ethernet, L3, L4, MPLS, VLAN, priority, mark.
    fn commit(&mut self) {
        if let Some(what) = self.diverged {
            // An isolated action list (clone, group bucket) changed the
            // packet in a way header writes cannot undo, and the packet is
            // used again.
            self.line(
                4,
                format!(">>>> {what} in a clone or group bucket cannot be undone <<<<"),
            );
            self.out.error = Some(XlateError::CannotUndo);
            return;
        }
        self.commit_headers();
        if is_mpls(self.flow.dl_type) && !is_mpls(self.base.dl_type) {
            self.note_push(false);
        }
        self.commit_tags();
        self.commit_meta();
    }

    /// Records the packet before the first encapsulation pushed inside the
    /// current isolated action list.
    fn note_push(&mut self, pbb: bool) {
        if let Some(iso) = &mut self.iso
            && iso.snap.is_none()
        {
            iso.snap = Some((self.base, pbb));
        }
    }

    /// Runs `acts` in isolation (a `clone`, a group bucket): afterwards the
    /// flow is as before. Header writes made inside are undone by the next
    /// commit (`base` keeps what the packet holds); encapsulations pushed
    /// inside (MPLS, PBB) are popped at once. Pops and datapath TTL copies
    /// inside cannot be undone: the packet is then marked diverged, and
    /// translation fails if anything later uses it.
    fn run_isolated(&mut self, acts: &[Action], indent: usize) {
        let saved = self.flow;
        let saved_exit = self.exit;
        let saved_unknown = self.mpls_ttl_unknown;
        let outer = self.iso.replace(Isolation {
            start: self.out.actions.len(),
            snap: None,
        });
        self.exec_actions(acts, indent);
        let iso = std::mem::replace(&mut self.iso, outer);
        self.flow = saved;
        self.exit = saved_exit;
        let Some(iso) = iso else { return };
        if self.out.error.is_some() || self.stop {
            return;
        }
        let inside = &self.out.actions[iso.start.min(self.out.actions.len())..];
        // What is still pushed at the end, innermost last, as the pops that
        // undo it; pops of encapsulations the packet came with.
        let mut undo = Vec::new();
        let mut dl = iso.snap.map_or(self.base.dl_type, |(k, _)| k.dl_type);
        let mut lossy = None;
        let mut popped_own = false;
        for a in inside {
            match a {
                Dp::PushMpls { ethertype, .. } => {
                    undo.push((Dp::PopMpls { ethertype: dl }, dl));
                    dl = *ethertype;
                }
                Dp::PushPbb { .. } => {
                    undo.push((Dp::PopPbb, dl));
                    dl = PBB;
                }
                Dp::PopMpls { ethertype } => match undo.pop() {
                    Some((Dp::PopMpls { .. }, prev)) => dl = prev,
                    Some(_) => lossy = Some("pop_mpls"),
                    // The packet's own label: the next commit pushes the
                    // flow's entry back.
                    None => {
                        popped_own = true;
                        dl = *ethertype;
                    }
                },
                Dp::PopPbb => match undo.pop() {
                    Some((Dp::PopPbb, prev)) => dl = prev,
                    _ => lossy = Some("pop_pbb"),
                },
                Dp::CopyTtlIn => lossy = Some("copy_ttl_in"),
                Dp::CopyTtlOut => lossy = Some("copy_ttl_out"),
                _ => {}
            }
        }
        if popped_own && iso.snap.is_some() {
            lossy = Some("pop_mpls");
        }
        if let Some(what) = lossy {
            self.diverged = Some(what);
            return;
        }
        self.mpls_ttl_unknown = saved_unknown;
        let Some((snap, pbb)) = iso.snap else { return };
        let undo: Vec<Dp> = undo.into_iter().map(|(a, _)| a).collect();
        self.out.actions.extend(undo.into_iter().rev());
        // The packet is now what it was before the first push, except what
        // lies outside an MPLS stack (addresses, tags) and the metadata.
        let cur = self.base;
        self.base = snap;
        if !pbb {
            self.base.dl_src = cur.dl_src;
            self.base.dl_dst = cur.dl_dst;
            self.base.vlans = cur.vlans;
        }
        self.base.tun_id = cur.tun_id;
        self.base.skb_priority = cur.skb_priority;
        self.base.pkt_mark = cur.pkt_mark;
    }

    /// The MPLS entry and the VLAN tags, after the L2-L4 fields (as Open
    /// vSwitch orders them).
    fn commit_tags(&mut self) {
        let f = self.flow;
        let w = self.written;
        let b = &mut self.base;
        let wc = &mut self.wc;
        let acts = &mut self.out.actions;
        macro_rules! touched {
            ($($field:ident),+) => {{
                let mut any = false;
                $( if nz(&w.$field) { any = true; } )+
                any
            }};
        }
        if is_mpls(f.dl_type) && !is_mpls(b.dl_type) {
            acts.push(Dp::PushMpls {
                ethertype: f.dl_type,
                lse: f.mpls_lse,
            });
            b.dl_type = f.dl_type;
            b.mpls_lse = f.mpls_lse;
        }
        if is_mpls(f.dl_type) && f.dl_type == b.dl_type && w.mpls_lse != 0 {
            wc.mpls_lse = !0;
            let d = f.mpls_lse ^ b.mpls_lse;
            if d != 0 {
                let mut mask = 0;
                for sub in [0xffff_f000u32, 0xe00, 0x100, 0xff] {
                    if d & sub != 0 {
                        mask |= sub;
                    }
                }
                acts.push(set_masked(SetMasked::Mpls {
                    lse: f.mpls_lse,
                    lse_mask: mask,
                }));
                b.mpls_lse = f.mpls_lse;
            }
        }
        if f.dl_type == PBB && b.dl_type == PBB && (w.pbb_isid != 0 || w.pbb_uca != 0) {
            wc.pbb_isid |= full(w.pbb_isid != 0, ITAG_ISID);
            wc.pbb_uca |= full(w.pbb_uca != 0, 1);
            if (f.pbb_isid, f.pbb_uca) != (b.pbb_isid, b.pbb_uca) {
                let mask = full(f.pbb_isid != b.pbb_isid, ITAG_ISID)
                    | full(f.pbb_uca != b.pbb_uca, ITAG_UCA);
                let itag = (f.pbb_isid & ITAG_ISID) | (u32::from(f.pbb_uca & 1) << 27);
                match acts.last_mut() {
                    // Straight after the push: write it into the pushed tag.
                    Some(Dp::PushPbb { itag: t }) => *t = (*t & !mask) | (itag & mask),
                    _ => acts.push(Dp::Set(SetMasked::Pbb {
                        itag: itag & mask,
                        mask,
                    })),
                }
                b.pbb_isid = f.pbb_isid;
                b.pbb_uca = f.pbb_uca;
            }
        }
        if touched!(vlans) {
            wc.vlans = [Vlan { tpid: !0, tci: !0 }; 2];
            if f.vlans != b.vlans {
                let (bv, fv) = (tags(b), tags(&f));
                let mut c = 0;
                while c < bv.len() && c < fv.len() && bv[bv.len() - 1 - c] == fv[fv.len() - 1 - c] {
                    c += 1;
                }
                for _ in 0..bv.len() - c {
                    acts.push(Dp::PopVlan);
                }
                for t in fv[..fv.len() - c].iter().rev() {
                    acts.push(Dp::PushVlan {
                        tpid: t.tpid,
                        tci: t.tci & !VLAN_CFI,
                    });
                }
                b.vlans = f.vlans;
            }
        }
    }

    /// Queue priority and packet mark, after the headers (as Open vSwitch
    /// orders them).
    fn commit_meta(&mut self) {
        let f = self.flow;
        let w = self.written;
        let b = &mut self.base;
        let wc = &mut self.wc;
        let acts = &mut self.out.actions;
        if nz(&w.skb_priority) {
            wc.skb_priority = !0;
            if f.skb_priority != b.skb_priority {
                acts.push(Dp::Set(SetMasked::SkbPriority(f.skb_priority)));
                b.skb_priority = f.skb_priority;
            }
        }
        if nz(&w.pkt_mark) {
            wc.pkt_mark = !0;
            if f.pkt_mark != b.pkt_mark {
                acts.push(Dp::Set(SetMasked::PktMark {
                    mark: f.pkt_mark,
                    mask: u32::MAX,
                }));
                b.pkt_mark = f.pkt_mark;
            }
        }
    }

    fn commit_headers(&mut self) {
        let f = self.flow;
        let w = self.written;
        let b = &mut self.base;
        let wc = &mut self.wc;
        let acts = &mut self.out.actions;
        macro_rules! touched {
            ($($field:ident),+) => {{
                let mut any = false;
                $( if nz(&w.$field) { any = true; } )+
                any
            }};
        }
        if touched!(tun_id) {
            wc.tun_id = !0;
            if f.tun_id != b.tun_id {
                acts.push(Dp::Set(SetMasked::TunnelId(f.tun_id)));
                b.tun_id = f.tun_id;
            }
        }
        if touched!(dl_src, dl_dst) {
            if nz(&w.dl_src) {
                wc.dl_src = [0xff; 6];
            }
            if nz(&w.dl_dst) {
                wc.dl_dst = [0xff; 6];
            }
            if f.dl_src != b.dl_src || f.dl_dst != b.dl_dst {
                let m = |d: bool| if d { [0xff; 6] } else { [0; 6] };
                acts.push(set_masked(SetMasked::Eth {
                    src: f.dl_src,
                    src_mask: m(f.dl_src != b.dl_src),
                    dst: f.dl_dst,
                    dst_mask: m(f.dl_dst != b.dl_dst),
                }));
                b.dl_src = f.dl_src;
                b.dl_dst = f.dl_dst;
            }
        }
        // L3 and L4 sets apply to the packet's current header: the base's
        // EtherType (a lazy push_mpls may already have changed the flow's).
        let pending_push = is_mpls(f.dl_type) && !is_mpls(b.dl_type);
        if b.dl_type != f.dl_type && !pending_push {
            return;
        }
        match b.dl_type {
            0x0800 => {
                if touched!(nw_src, nw_dst, nw_tos, nw_ttl) {
                    wc.nw_src |= full(w.nw_src != 0, !0);
                    wc.nw_dst |= full(w.nw_dst != 0, !0);
                    wc.nw_tos |= full(w.nw_tos != 0, !0);
                    wc.nw_ttl |= full(w.nw_ttl != 0, !0);
                    if (f.nw_src, f.nw_dst, f.nw_tos, f.nw_ttl)
                        != (b.nw_src, b.nw_dst, b.nw_tos, b.nw_ttl)
                    {
                        acts.push(set_masked(SetMasked::Ipv4 {
                            src: f.nw_src,
                            src_mask: full(f.nw_src != b.nw_src, u32::MAX),
                            dst: f.nw_dst,
                            dst_mask: full(f.nw_dst != b.nw_dst, u32::MAX),
                            tos: f.nw_tos,
                            tos_mask: full(f.nw_tos != b.nw_tos, u8::MAX),
                            ttl: f.nw_ttl,
                            ttl_mask: full(f.nw_ttl != b.nw_ttl, u8::MAX),
                        }));
                        b.nw_src = f.nw_src;
                        b.nw_dst = f.nw_dst;
                        b.nw_tos = f.nw_tos;
                        b.nw_ttl = f.nw_ttl;
                    }
                }
            }
            0x86dd => {
                if touched!(ipv6_src, ipv6_dst, ipv6_label, nw_tos, nw_ttl) {
                    if w.ipv6_src != [0; 16] {
                        wc.ipv6_src = [0xff; 16];
                    }
                    if w.ipv6_dst != [0; 16] {
                        wc.ipv6_dst = [0xff; 16];
                    }
                    wc.ipv6_label |= full(w.ipv6_label != 0, 0xfffff);
                    wc.nw_tos |= full(w.nw_tos != 0, !0);
                    wc.nw_ttl |= full(w.nw_ttl != 0, !0);
                    if (f.ipv6_src, f.ipv6_dst, f.ipv6_label, f.nw_tos, f.nw_ttl)
                        != (b.ipv6_src, b.ipv6_dst, b.ipv6_label, b.nw_tos, b.nw_ttl)
                    {
                        acts.push(set_masked(SetMasked::Ipv6 {
                            src: f.ipv6_src,
                            src_mask: full(f.ipv6_src != b.ipv6_src, [0xff; 16]),
                            dst: f.ipv6_dst,
                            dst_mask: full(f.ipv6_dst != b.ipv6_dst, [0xff; 16]),
                            label: f.ipv6_label,
                            label_mask: full(f.ipv6_label != b.ipv6_label, 0xfffff),
                            tclass: f.nw_tos,
                            tclass_mask: full(f.nw_tos != b.nw_tos, u8::MAX),
                            hlimit: f.nw_ttl,
                            hlimit_mask: full(f.nw_ttl != b.nw_ttl, u8::MAX),
                        }));
                        b.ipv6_src = f.ipv6_src;
                        b.ipv6_dst = f.ipv6_dst;
                        b.ipv6_label = f.ipv6_label;
                        b.nw_tos = f.nw_tos;
                        b.nw_ttl = f.nw_ttl;
                    }
                }
            }
            0x0806 | 0x8035 => {
                if touched!(nw_src, nw_dst, arp_sha, arp_tha, arp_op) {
                    wc.nw_src |= full(w.nw_src != 0, !0);
                    wc.nw_dst |= full(w.nw_dst != 0, !0);
                    if w.arp_sha != [0; 6] {
                        wc.arp_sha = [0xff; 6];
                    }
                    if w.arp_tha != [0; 6] {
                        wc.arp_tha = [0xff; 6];
                    }
                    wc.arp_op |= full(w.arp_op != 0, !0);
                    if (f.nw_src, f.nw_dst, f.arp_sha, f.arp_tha, f.arp_op)
                        != (b.nw_src, b.nw_dst, b.arp_sha, b.arp_tha, b.arp_op)
                    {
                        acts.push(set_masked(SetMasked::Arp {
                            sip: f.nw_src,
                            sip_mask: full(f.nw_src != b.nw_src, u32::MAX),
                            tip: f.nw_dst,
                            tip_mask: full(f.nw_dst != b.nw_dst, u32::MAX),
                            sha: f.arp_sha,
                            sha_mask: full(f.arp_sha != b.arp_sha, [0xff; 6]),
                            tha: f.arp_tha,
                            tha_mask: full(f.arp_tha != b.arp_tha, [0xff; 6]),
                            op: f.arp_op,
                            op_mask: full(f.arp_op != b.arp_op, u16::MAX),
                        }));
                        b.nw_src = f.nw_src;
                        b.nw_dst = f.nw_dst;
                        b.arp_sha = f.arp_sha;
                        b.arp_tha = f.arp_tha;
                        b.arp_op = f.arp_op;
                    }
                }
                return;
            }
            _ => return,
        }
        // L4 (IP only, not for later fragments).
        if f.nw_frag & FRAG_LATER != 0 || f.nw_proto != b.nw_proto {
            return;
        }
        match f.nw_proto {
            6 | 17 | 132 => {
                if touched!(tp_src, tp_dst) {
                    wc.tp_src |= full(w.tp_src != 0, !0);
                    wc.tp_dst |= full(w.tp_dst != 0, !0);
                    if (f.tp_src, f.tp_dst) != (b.tp_src, b.tp_dst) {
                        let p = L4Ports {
                            src: f.tp_src,
                            src_mask: full(f.tp_src != b.tp_src, u16::MAX),
                            dst: f.tp_dst,
                            dst_mask: full(f.tp_dst != b.tp_dst, u16::MAX),
                        };
                        acts.push(set_masked(match f.nw_proto {
                            6 => SetMasked::Tcp(p),
                            17 => SetMasked::Udp(p),
                            _ => SetMasked::Sctp(p),
                        }));
                        b.tp_src = f.tp_src;
                        b.tp_dst = f.tp_dst;
                    }
                }
            }
            1 if b.dl_type == 0x0800 => commit_icmp(&f, &w, b, wc, acts, false),
            58 if b.dl_type == 0x86dd => {
                if touched!(nd_target, arp_sha, arp_tha) {
                    if w.nd_target != [0; 16] {
                        wc.nd_target = [0xff; 16];
                    }
                    if w.arp_sha != [0; 6] {
                        wc.arp_sha = [0xff; 6];
                    }
                    if w.arp_tha != [0; 6] {
                        wc.arp_tha = [0xff; 6];
                    }
                    if (f.nd_target, f.arp_sha, f.arp_tha) != (b.nd_target, b.arp_sha, b.arp_tha) {
                        acts.push(set_masked(SetMasked::Nd {
                            target: f.nd_target,
                            target_mask: full(f.nd_target != b.nd_target, [0xff; 16]),
                            sll: f.arp_sha,
                            sll_mask: full(f.arp_sha != b.arp_sha, [0xff; 6]),
                            tll: f.arp_tha,
                            tll_mask: full(f.arp_tha != b.arp_tha, [0xff; 6]),
                        }));
                        b.nd_target = f.nd_target;
                        b.arp_sha = f.arp_sha;
                        b.arp_tha = f.arp_tha;
                    }
                }
                commit_icmp(&f, &w, b, wc, acts, true);
            }
            _ => {}
        }
    }
}

/// Commits the ICMP type and code (kept in `tp_src` / `tp_dst`).
fn commit_icmp(
    f: &FlowKey,
    w: &FlowMask,
    b: &mut FlowKey,
    wc: &mut FlowMask,
    acts: &mut Vec<Dp>,
    v6: bool,
) {
    if w.tp_src == 0 && w.tp_dst == 0 {
        return;
    }
    wc.tp_src |= full(w.tp_src != 0, 0xff);
    wc.tp_dst |= full(w.tp_dst != 0, 0xff);
    // Type and code are 8-bit fields.
    let ty_mask = full((f.tp_src ^ b.tp_src) & 0xff != 0, u8::MAX);
    let code_mask = full((f.tp_dst ^ b.tp_dst) & 0xff != 0, u8::MAX);
    if ty_mask == 0 && code_mask == 0 {
        return;
    }
    // Values outside the masks cleared, so equal writes compare equal.
    let t = IcmpTypeCode {
        ty: f.tp_src as u8 & ty_mask,
        ty_mask,
        code: f.tp_dst as u8 & code_mask,
        code_mask,
    };
    acts.push(Dp::Set(if v6 {
        SetMasked::Icmpv6(t)
    } else {
        SetMasked::Icmp(t)
    }));
    b.tp_src = f.tp_src;
    b.tp_dst = f.tp_dst;
}

fn and6(v: [u8; 6], m: [u8; 6]) -> [u8; 6] {
    core::array::from_fn(|i| v[i] & m[i])
}

fn and16(v: [u8; 16], m: [u8; 16]) -> [u8; 16] {
    core::array::from_fn(|i| v[i] & m[i])
}

/// A masked set with the value bits outside the mask cleared, so equal
/// writes compare equal.
fn set_masked(s: SetMasked) -> Dp {
    use SetMasked as S;
    let l4 = |p: L4Ports| L4Ports {
        src: p.src & p.src_mask,
        dst: p.dst & p.dst_mask,
        ..p
    };
    Dp::Set(match s {
        S::Eth {
            src,
            src_mask,
            dst,
            dst_mask,
        } => S::Eth {
            src: and6(src, src_mask),
            src_mask,
            dst: and6(dst, dst_mask),
            dst_mask,
        },
        S::Ipv4 {
            src,
            src_mask,
            dst,
            dst_mask,
            tos,
            tos_mask,
            ttl,
            ttl_mask,
        } => S::Ipv4 {
            src: src & src_mask,
            src_mask,
            dst: dst & dst_mask,
            dst_mask,
            tos: tos & tos_mask,
            tos_mask,
            ttl: ttl & ttl_mask,
            ttl_mask,
        },
        S::Ipv6 {
            src,
            src_mask,
            dst,
            dst_mask,
            label,
            label_mask,
            tclass,
            tclass_mask,
            hlimit,
            hlimit_mask,
        } => S::Ipv6 {
            src: and16(src, src_mask),
            src_mask,
            dst: and16(dst, dst_mask),
            dst_mask,
            label: label & label_mask,
            label_mask,
            tclass: tclass & tclass_mask,
            tclass_mask,
            hlimit: hlimit & hlimit_mask,
            hlimit_mask,
        },
        S::Tcp(p) => S::Tcp(l4(p)),
        S::Udp(p) => S::Udp(l4(p)),
        S::Sctp(p) => S::Sctp(l4(p)),
        S::Arp {
            sip,
            sip_mask,
            tip,
            tip_mask,
            sha,
            sha_mask,
            tha,
            tha_mask,
            op,
            op_mask,
        } => S::Arp {
            sip: sip & sip_mask,
            sip_mask,
            tip: tip & tip_mask,
            tip_mask,
            sha: and6(sha, sha_mask),
            sha_mask,
            tha: and6(tha, tha_mask),
            tha_mask,
            op: op & op_mask,
            op_mask,
        },
        S::Nd {
            target,
            target_mask,
            sll,
            sll_mask,
            tll,
            tll_mask,
        } => S::Nd {
            target: and16(target, target_mask),
            target_mask,
            sll: and6(sll, sll_mask),
            sll_mask,
            tll: and6(tll, tll_mask),
            tll_mask,
        },
        S::Mpls { lse, lse_mask } => S::Mpls {
            lse: lse & lse_mask,
            lse_mask,
        },
        other => other,
    })
}

fn nz<T: PartialEq + Default>(x: &T) -> bool {
    *x != T::default()
}

fn full<T: Default>(d: bool, ones: T) -> T {
    if d { ones } else { T::default() }
}

fn u128_of(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |a, &x| (a << 8) | u128::from(x))
}
