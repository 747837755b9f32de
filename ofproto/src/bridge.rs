//! [`Bridge`]: one OpenFlow switch's state (ports, flow tables, groups,
//! meters, MAC table) and the operations `vswitchd` drives it with.
//!
//! # Contract
//!
//! * No I/O and no clock: every operation that depends on time takes
//!   `now_ms`. Mutations take `&mut self`; translation takes `&self`, so
//!   the daemon may share a bridge as `RwLock<Bridge>` (or publish
//!   snapshots) between the control plane and upcall handlers.
//! * Controller input never panics: every flow_mod, group_mod, meter_mod,
//!   packet-out and bundle operation is validated and either applied whole
//!   or refused with the OpenFlow error to send back ([`ErrorKind`]).
//! * Flow removals (delete with `SEND_FLOW_REM`, timeouts, group or meter
//!   deletion) are returned as FLOW_REMOVED messages for the caller to
//!   send to the controllers whose async configuration asks for them.
//! * [`Bridge::generation`] changes with every change that can alter a
//!   translation; the datapath revalidates (or flushes) cached megaflows
//!   made at an older generation before using them again.
//! * Translation ([`Bridge::xlate`]) does not learn MAC addresses; the
//!   upcall path calls [`Bridge::learn`] with its output (or uses
//!   [`Bridge::upcall`], which does both). Traces never learn.

use crate::ofp::actions::Action;
use crate::ofp::error::ErrorKind;
use crate::ofp::messages::{FlowMod, FlowRemoved, PacketIn, PacketOut};
use crate::ofp::multipart::{AggregateStats, FlowStats, FlowStatsRequest};
use crate::ofp::port::{PortNo, ports};
use crate::pipeline::check::{CheckCtx, check_actions, check_instructions};
use crate::pipeline::group::{GroupMod, GroupStats, GroupTable};
use crate::pipeline::meter::{MeterMod, MeterStats, MeterTable};
use crate::pipeline::normal::MacTable;
use crate::pipeline::table::{FlowModResult, FlowTables, TableMiss, TableStats};
use crate::pipeline::trace::trace_text;
use crate::pipeline::xlate::{
    ControllerOut, ControllerRegistry, PortInfo, Start, XlateEnv, XlateOutput, xlate,
};
use datapath::flow::FlowKey;
use std::collections::{BTreeMap, HashMap};

/// One OpenFlow switch. See the module documentation.
#[derive(Debug)]
pub struct Bridge {
    name: String,
    tables: FlowTables,
    groups: GroupTable,
    meters: MeterTable,
    ports: BTreeMap<PortNo, PortInfo>,
    macs: MacTable,
    controllers: ControllerRegistry,
    bundles: HashMap<(u64, u32), Bundle>,
    miss_send_len: u16,
    generation: u64,
}

/// What one table supports (the content of an OpenFlow TABLE_FEATURES
/// reply; the codec does not model that message yet). Every table supports
/// every instruction and action this switch implements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFeatures {
    /// Table id.
    pub table_id: u8,
    /// Name.
    pub name: String,
    /// Metadata bits a match may use.
    pub metadata_match: u64,
    /// Metadata bits write_metadata may write.
    pub metadata_write: u64,
    /// Maximum flows.
    pub max_entries: u32,
    /// Tables goto_table may name.
    pub next_tables: Vec<u8>,
    /// Fields a match may use.
    pub match_fields: Vec<crate::ofp::oxm::Field>,
    /// Fields set_field may write.
    pub set_fields: Vec<crate::ofp::oxm::Field>,
}

/// An open OpenFlow 1.4 bundle: flow_mods added in order, applied on commit.
#[derive(Debug, Default)]
struct Bundle {
    flags: u16,
    flow_mods: Vec<FlowMod>,
}

/// Bundle flags.
pub mod bundle_flags {
    /// All or nothing (always the case here).
    pub const ATOMIC: u16 = 1;
    /// In order (always the case here).
    pub const ORDERED: u16 = 2;
}

impl Bridge {
    /// An empty bridge named `name` (no ports, no flows).
    pub fn new(name: &str) -> Bridge {
        Bridge {
            name: name.to_string(),
            tables: FlowTables::new(),
            groups: GroupTable::default(),
            meters: MeterTable::default(),
            ports: BTreeMap::new(),
            macs: MacTable::default(),
            controllers: ControllerRegistry::default(),
            bundles: HashMap::new(),
            miss_send_len: 128,
            generation: 0,
        }
    }

    /// A counter bumped by every change that can alter a translation
    /// (flows, groups, meters, ports, table-miss settings, learned MACs).
    /// A cached translation (megaflow) made at an older generation must be
    /// revalidated ([`Bridge::revalidate`]) or dropped before it forwards
    /// another packet; this is what makes "flow_mod, barrier, packet" see
    /// the new rule.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn changed(&mut self) {
        self.generation += 1;
    }

    /// True when a cached translation (`actions` under `mask`, made for
    /// `key`) is still what translating `key` gives now.
    pub fn revalidate(
        &self,
        key: &FlowKey,
        mask: &datapath::flow::FlowMask,
        actions: &[datapath::actions::Action],
        now_ms: u64,
    ) -> bool {
        let out = xlate(&self.env_with(now_ms, false), key, Start::Pipeline, false);
        out.error.is_none() && out.actions == actions && out.mask.is_subset_of(mask)
    }

    /// The bridge's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds or replaces a port (its learned MACs are forgotten).
    pub fn add_port(&mut self, port: PortInfo) {
        self.changed();
        self.macs.flush_port(port.ofp_port);
        self.ports.insert(port.ofp_port, port);
    }

    /// Removes a port.
    pub fn remove_port(&mut self, ofp_port: PortNo) -> Option<PortInfo> {
        self.changed();
        self.macs.flush_port(ofp_port);
        self.ports.remove(&ofp_port)
    }

    /// Port `ofp_port`, for changes (liveness, flags, VLAN configuration).
    pub fn port_mut(&mut self, ofp_port: PortNo) -> Option<&mut PortInfo> {
        self.changed();
        self.ports.get_mut(&ofp_port)
    }

    /// The ports by OpenFlow number.
    pub fn ports(&self) -> &BTreeMap<PortNo, PortInfo> {
        &self.ports
    }

    /// The flow tables.
    pub fn tables(&self) -> &FlowTables {
        &self.tables
    }

    /// The groups.
    pub fn groups(&self) -> &GroupTable {
        &self.groups
    }

    /// The meters.
    pub fn meters(&self) -> &MeterTable {
        &self.meters
    }

    /// Sets the table-miss behaviour of table `id` (255: all).
    pub fn set_table_miss(&mut self, id: u8, miss: TableMiss) {
        self.changed();
        self.tables.set_miss(id, miss);
    }

    /// Sets SET_CONFIG's `miss_send_len` (bytes of a table-miss packet sent
    /// to the controller).
    pub fn set_miss_send_len(&mut self, n: u16) {
        self.changed();
        self.miss_send_len = n;
    }

    /// The PACKET_IN message for a controller output of a translation of
    /// `key`, whose frame is `frame`: the frame truncated to `max_len`
    /// (never buffered: `buffer_id` is `NO_BUFFER`), the pipeline fields
    /// (`in_port` and any nonzero metadata, tunnel id, registers) as the
    /// match.
    pub fn packet_in(&self, c: &ControllerOut, key: &FlowKey, frame: &[u8]) -> PacketIn {
        use crate::ofp::oxm::Field;
        let mut m = crate::ofp::matching::Match::new();
        m.set_u64(Field::InPort, key.in_port.into());
        if key.metadata != 0 {
            m.set_u64(Field::Metadata, key.metadata);
        }
        if key.tun_id != 0 {
            m.set_u64(Field::TunnelId, key.tun_id);
        }
        for (i, &r) in key.regs.iter().enumerate() {
            if r != 0 {
                m.set_u64(Field::Reg(i as u8), r.into());
            }
        }
        let n = frame.len().min(usize::from(c.max_len));
        PacketIn {
            buffer_id: crate::ofp::messages::NO_BUFFER,
            total_len: frame.len().min(usize::from(u16::MAX)) as u16,
            reason: c.reason,
            table_id: c.table_id,
            cookie: c.cookie,
            match_: m,
            data: frame[..n].to_vec(),
        }
    }

    /// FLOW stats: the flows a request selects (table, loose match,
    /// out_port, out_group, cookie), with counters and durations.
    pub fn flow_stats(
        &self,
        req: &FlowStatsRequest,
        now_ms: u64,
    ) -> Result<Vec<FlowStats>, ErrorKind> {
        let (key, mask) = crate::pipeline::table::match_to_flow(&req.match_)?;
        let filter = crate::classifier::Match::new(&key, &mask);
        let mut out = Vec::new();
        for f in self.tables.flows(req.table_id) {
            let (fk, fmask) = crate::pipeline::table::match_to_flow(&f.match_())?;
            let fm = crate::classifier::Match::new(&fk, &fmask);
            if !fm.is_within(&filter)
                || !f.outputs_to(req.out_port)
                || !f.uses_group(req.out_group)
                || (f.cookie ^ req.cookie) & req.cookie_mask != 0
            {
                continue;
            }
            let (duration_sec, duration_nsec) =
                crate::pipeline::millis_to_duration(now_ms.saturating_sub(f.created_ms));
            out.push(FlowStats {
                table_id: f.table_id,
                duration_sec,
                duration_nsec,
                priority: f.priority,
                idle_timeout: f.idle_timeout,
                hard_timeout: f.hard_timeout,
                flags: f.flags,
                cookie: f.cookie,
                packet_count: f
                    .counters
                    .packets
                    .load(std::sync::atomic::Ordering::Relaxed),
                byte_count: f.counters.bytes.load(std::sync::atomic::Ordering::Relaxed),
                match_: f.match_(),
                instructions: f.instructions.to_vec(),
            });
        }
        Ok(out)
    }

    /// AGGREGATE stats over the flows a request selects.
    pub fn aggregate_stats(
        &self,
        req: &FlowStatsRequest,
        now_ms: u64,
    ) -> Result<AggregateStats, ErrorKind> {
        let flows = self.flow_stats(req, now_ms)?;
        Ok(AggregateStats {
            packet_count: flows.iter().map(|f| f.packet_count).sum(),
            byte_count: flows.iter().map(|f| f.byte_count).sum(),
            flow_count: flows.len() as u32,
        })
    }

    /// TABLE stats in the codec's form.
    pub fn table_stats_reply(&self) -> Vec<crate::ofp::multipart::TableStats> {
        self.tables
            .stats()
            .into_iter()
            .map(|t| crate::ofp::multipart::TableStats {
                table_id: t.table_id,
                name: format!("table{}", t.table_id),
                wildcards: 0x003f_ffff,
                max_entries: 1_000_000,
                active_count: t.active_count,
                lookup_count: t.lookup_count,
                matched_count: t.matched_count,
            })
            .collect()
    }

    /// TABLE_FEATURES of every table (see [`TableFeatures`]).
    pub fn table_features(&self) -> Vec<TableFeatures> {
        (0..crate::pipeline::table::N_TABLES as u8)
            .map(|id| TableFeatures {
                table_id: id,
                name: format!("table{id}"),
                metadata_match: u64::MAX,
                metadata_write: u64::MAX,
                max_entries: 1_000_000,
                next_tables: (id.saturating_add(1)..crate::pipeline::table::N_TABLES as u8)
                    .collect(),
                match_fields: crate::ofp::oxm::Field::all()
                    .iter()
                    .copied()
                    .filter(|f| crate::pipeline::fields::storage(*f).is_some())
                    .collect(),
                set_fields: crate::ofp::oxm::Field::all()
                    .iter()
                    .copied()
                    .filter(|f| crate::pipeline::check::is_settable(*f))
                    .collect(),
            })
            .collect()
    }

    /// The MAC learning table, for configuration (aging, size).
    pub fn macs_mut(&mut self) -> &mut MacTable {
        self.changed();
        &mut self.macs
    }

    fn check_flow_mod(
        groups: &GroupTable,
        meters: &MeterTable,
        fm: &FlowMod,
    ) -> Result<(), ErrorKind> {
        let ctx = CheckCtx {
            group_exists: &|g| groups.contains(g),
            meter_exists: &|m| meters.contains(m),
            packet_out: false,
            prereqs: true,
        };
        check_instructions(&fm.instructions, &fm.match_, fm.table_id, &ctx)
    }

    /// Applies a flow_mod; returns FLOW_REMOVED messages to send.
    pub fn flow_mod(&mut self, fm: &FlowMod, now_ms: u64) -> Result<Vec<FlowRemoved>, ErrorKind> {
        let (groups, meters) = (&self.groups, &self.meters);
        let check = |fm: &FlowMod, _: &FlowKey, _: &datapath::flow::FlowMask| {
            Self::check_flow_mod(groups, meters, fm)
        };
        let r = self
            .tables
            .flow_mod(fm, now_ms, &check)
            .map(|r: FlowModResult| r.flow_removed);
        if r.is_ok() {
            self.changed();
        }
        r
    }

    /// Applies a group_mod; deleting a group removes the flows using it
    /// (their FLOW_REMOVED messages are returned).
    pub fn group_mod(&mut self, gm: &GroupMod, now_ms: u64) -> Result<Vec<FlowRemoved>, ErrorKind> {
        let snapshot_groups: Vec<u32> = self.groups.iter().map(|g| g.id).collect();
        let meters = &self.meters;
        let this_id = gm.group_id;
        let check = |acts: &[Action]| {
            let ctx = CheckCtx {
                group_exists: &|g| g == this_id || snapshot_groups.contains(&g),
                meter_exists: &|m| meters.contains(m),
                packet_out: false,
                // Buckets are not tied to a match: structural checks only.
                prereqs: false,
            };
            let mut facts = crate::ofp::matching::Match::new();
            check_actions(acts, &mut facts, &ctx)
        };
        let deleted = self.groups.group_mod(gm, now_ms, &check)?;
        self.changed();
        let mut removed = Vec::new();
        for g in deleted {
            removed.extend(self.tables.remove_group_users(g, now_ms));
        }
        Ok(removed)
    }

    /// Applies a meter_mod; deleting a meter removes the flows using it.
    pub fn meter_mod(&mut self, mm: &MeterMod, now_ms: u64) -> Result<Vec<FlowRemoved>, ErrorKind> {
        let deleted = self.meters.meter_mod(mm, now_ms)?;
        self.changed();
        let mut removed = Vec::new();
        for m in deleted {
            removed.extend(self.tables.remove_meter_users(m, now_ms));
        }
        Ok(removed)
    }

    /// Removes expired flows and aged MACs.
    pub fn expire(&mut self, now_ms: u64) -> Vec<FlowRemoved> {
        // Expired flows are purged at once, so the stored count tells
        // (counting visible flows would walk every rule twice more).
        let (macs, flows) = (self.macs.len(), self.tables.n_stored());
        self.macs.expire(now_ms);
        let removed = self.tables.expire(now_ms);
        if self.macs.len() != macs || self.tables.n_stored() != flows {
            self.changed();
        }
        removed
    }

    fn env(&self, now_ms: u64) -> XlateEnv<'_> {
        self.env_with(now_ms, true)
    }

    fn env_with(&self, now_ms: u64, count_lookups: bool) -> XlateEnv<'_> {
        XlateEnv {
            tables: &self.tables,
            groups: &self.groups,
            meters: &self.meters,
            ports: &self.ports,
            macs: &self.macs,
            controllers: &self.controllers,
            now_ms,
            miss_send_len: self.miss_send_len,
            count_lookups,
        }
    }

    /// Translates a packet's key through the pipeline (no learning).
    pub fn xlate(&self, key: &FlowKey, now_ms: u64) -> XlateOutput {
        xlate(&self.env(now_ms), key, Start::Pipeline, false)
    }

    /// Applies the MAC learning a translation asked for.
    pub fn learn(&mut self, out: &XlateOutput, now_ms: u64) {
        let mut any = false;
        for &(vlan, mac, port) in &out.learned {
            any |= self.macs.learn(vlan, mac, port, now_ms);
        }
        if any {
            self.changed();
        }
    }

    /// Applies the flows `learn` actions asked for (each as an ADD;
    /// refused ones are skipped, as Open vSwitch does). Returns how many
    /// were applied.
    pub fn apply_learned_flows(&mut self, out: &XlateOutput, now_ms: u64) -> usize {
        out.learned_flows
            .iter()
            .filter(|fm| self.flow_mod(fm, now_ms).is_ok())
            .count()
    }

    /// The upcall path: translate, then learn MACs and flows.
    pub fn upcall(&mut self, key: &FlowKey, now_ms: u64) -> XlateOutput {
        let out = self.xlate(key, now_ms);
        self.learn(&out, now_ms);
        self.apply_learned_flows(&out, now_ms);
        out
    }

    /// The upcall path with a fixed action list instead of the tables (a
    /// bridge in fail-open mode runs `NORMAL` this way): translate, then
    /// learn.
    pub fn upcall_actions(
        &mut self,
        key: &FlowKey,
        actions: &[Action],
        now_ms: u64,
    ) -> XlateOutput {
        let out = xlate(&self.env(now_ms), key, Start::Actions(actions), false);
        self.learn(&out, now_ms);
        out
    }

    /// The `ofproto/trace` text for `key` (nothing is learned or counted).
    pub fn trace(&self, key: &FlowKey, now_ms: u64) -> String {
        let out = xlate(&self.env_with(now_ms, false), key, Start::Pipeline, true);
        trace_text(&self.name, key, &out)
    }

    /// Translates a PACKET_OUT: its actions run on the packet's key
    /// (extracted from `data`, `in_port` from the message); `output:TABLE`
    /// runs the pipeline. Buffered packets are not supported
    /// (`OFPBRC_BUFFER_UNKNOWN`).
    pub fn packet_out(
        &self,
        po: &PacketOut,
        now_ms: u64,
    ) -> Result<(FlowKey, XlateOutput), ErrorKind> {
        if po.buffer_id != crate::ofp::messages::NO_BUFFER {
            return Err(ErrorKind::BadRequestBufferUnknown);
        }
        let in_port = po.in_port;
        let valid_in = in_port == ports::CONTROLLER
            || in_port == ports::LOCAL
            || (in_port != 0 && in_port <= ports::MAX);
        if !valid_in {
            return Err(ErrorKind::BadRequestBadPort);
        }
        let ctx = CheckCtx {
            group_exists: &|g| self.groups.contains(g),
            meter_exists: &|m| self.meters.contains(m),
            packet_out: true,
            prereqs: true,
        };
        let mut key = datapath::flow::extract(&po.data, in_port);
        key.in_port = in_port;
        let mut facts =
            crate::ofp::matching::Match::from_flow(&key, &datapath::flow::FlowMask::exact());
        check_actions(&po.actions, &mut facts, &ctx)?;
        let out = xlate(&self.env(now_ms), &key, Start::Actions(&po.actions), false);
        Ok((key, out))
    }

    /// The controller output behind a datapath `userspace` action's
    /// userdata.
    pub fn controller_output(&self, userdata: u64) -> Option<ControllerOut> {
        self.controllers.get(userdata)
    }

    /// Table statistics.
    pub fn table_stats(&self) -> Vec<TableStats> {
        self.tables.stats()
    }

    /// Group statistics.
    pub fn group_stats(&self, now_ms: u64) -> Vec<GroupStats> {
        let flows = self.tables.flows(crate::pipeline::table::TABLE_ALL);
        self.groups.stats(now_ms, &|g| {
            flows.iter().filter(|f| f.uses_group(g)).count() as u32
        })
    }

    /// Meter statistics.
    pub fn meter_stats(&self, now_ms: u64) -> Vec<MeterStats> {
        use crate::ofp::instructions::Instruction;
        let flows = self.tables.flows(crate::pipeline::table::TABLE_ALL);
        self.meters.stats(now_ms, &|m| {
            flows
                .iter()
                .filter(|f| {
                    f.instructions
                        .iter()
                        .any(|i| matches!(i, Instruction::Meter(x) if *x == m))
                        || f.actions()
                            .any(|a| matches!(a, Action::Meter(x) if *x == m))
                })
                .count() as u32
        })
    }

    /// The `fdb/show` text.
    pub fn fdb_show(&self, now_ms: u64) -> String {
        let ports = &self.ports;
        self.macs.show(now_ms, &|p| {
            if p == ports::LOCAL {
                "LOCAL".into()
            } else {
                ports.get(&p).map_or(p.to_string(), |_| p.to_string())
            }
        })
    }

    /// `fdb/flush`: forgets every learned MAC; returns the appctl reply.
    pub fn fdb_flush(&mut self) -> String {
        self.changed();
        self.macs.flush();
        "table successfully flushed".into()
    }

    /// Opens bundle `id` of controller connection `conn` (bundle ids are
    /// per connection). An id already open is refused; the codec has no
    /// `OFPBFC_*` errors yet, so bundle errors are `OFPBRC_EPERM`.
    pub fn bundle_open(&mut self, conn: u64, id: u32, flags: u16) -> Result<(), ErrorKind> {
        if self.bundles.contains_key(&(conn, id)) {
            return Err(ErrorKind::BadRequestEperm);
        }
        self.bundles.insert(
            (conn, id),
            Bundle {
                flags,
                flow_mods: Vec::new(),
            },
        );
        Ok(())
    }

    /// Discards every bundle of a closed connection.
    pub fn bundles_close_connection(&mut self, conn: u64) {
        self.bundles.retain(|&(c, _), _| c != conn);
    }

    /// Adds a flow_mod to open bundle `id` of `conn`.
    pub fn bundle_add(&mut self, conn: u64, id: u32, fm: FlowMod) -> Result<(), ErrorKind> {
        let b = self
            .bundles
            .get_mut(&(conn, id))
            .ok_or(ErrorKind::BadRequestEperm)?;
        b.flow_mods.push(fm);
        Ok(())
    }

    /// Commits bundle `id`: its flow_mods take effect in order and all at
    /// once, or (on the first failure) none does. The bundle is closed
    /// either way.
    pub fn bundle_commit(
        &mut self,
        conn: u64,
        id: u32,
        now_ms: u64,
    ) -> Result<Vec<FlowRemoved>, (usize, ErrorKind)> {
        let b = self
            .bundles
            .remove(&(conn, id))
            .ok_or((0, ErrorKind::BadRequestEperm))?;
        let _ = b.flags;
        let (groups, meters) = (&self.groups, &self.meters);
        let check = |fm: &FlowMod, _: &FlowKey, _: &datapath::flow::FlowMask| {
            Self::check_flow_mod(groups, meters, fm)
        };
        let r = self
            .tables
            .apply_batch(&b.flow_mods, now_ms, &check)
            .map(|r| r.flow_removed);
        if r.is_ok() {
            self.changed();
        }
        r
    }

    /// Discards bundle `id`.
    pub fn bundle_discard(&mut self, conn: u64, id: u32) -> Result<(), ErrorKind> {
        self.bundles
            .remove(&(conn, id))
            .map(|_| ())
            .ok_or(ErrorKind::BadRequestEperm)
    }
}

// The daemon shares a bridge between the control plane and upcall
// handlers (`RwLock<Bridge>`): it must be `Send + Sync`.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Bridge>();
};
