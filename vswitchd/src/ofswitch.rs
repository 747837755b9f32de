//! One bridge's OpenFlow face: the requests of `ofctl`, `ovs-ofctl` and
//! controllers applied to the bridge's `ofproto::bridge::Bridge`, and the replies.
//!
//! Contract:
//! * Requests are handled one at a time per bridge (the bridge is behind a
//!   mutex); a reply is produced only after the change it acknowledges is
//!   in the tables, so BARRIER_REPLY follows every earlier change.
//! * Every request gets a reply or an OpenFlow error with the type/code of
//!   the negotiated version; unknown or unsupported requests get
//!   `BAD_REQUEST/BAD_TYPE` (or `BAD_MULTIPART`, `BAD_EXPERIMENTER`), as Open
//!   vSwitch answers what it does not implement, so `ovs-ofctl` falls back.
//! * Port numbers: the database's 65534 is OpenFlow's LOCAL.

use crate::ofconn::{ConnCtx, Handler, Reply, error_reply};
use datapath::netdev::Netdev;
use ofproto::ofp::multipart::{
    AggregateStats, DescStats, FlowStats, FlowStatsRequest, MORE, MultipartReply, MultipartRequest,
    ReplyBody, RequestBody, TableStats,
};
use ofproto::ofp::port::{Port, PortNo, ports};
use ofproto::ofp::stats::{PortStats, TableFeatureProp, TableFeatures};
use ofproto::ofp::{
    ErrorKind, FeaturesReply, Header, Instruction, Message, SwitchConfig, Version, VersionSet,
};
use ofproto::pipeline::table::FlowEntry;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::mpsc;

/// The clock every bridge's tables and meters run on (shared, so a meter
/// made by one bridge reads the same time as the datapath's meter hook).
pub static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

/// The ONF experimenter id (OpenFlow 1.3 extensions).
const ONF_EXPERIMENTER: u32 = 0x4f4e_4600;

/// Tables a bridge offers (as Open vSwitch: 0..=253).
pub const N_TABLES: u8 = 254;
/// Default `miss_send_len`.
pub const DEFAULT_MISS_SEND_LEN: u16 = 128;

/// How long a `standalone` bridge waits without any controller session
/// before it fails open (forwards with NORMAL).
pub const FAIL_OPEN_DELAY_MS: u64 = 3000;

/// Fail-mode bookkeeping (see [`OfBridge::check_fail_open`]).
#[derive(Debug, Default)]
struct FailState {
    standalone: AtomicBool,
    has_controllers: AtomicBool,
    controller_conns: AtomicUsize,
    last_up_ms: AtomicU64,
    open: AtomicBool,
}

/// What a session asked for with SET_CONFIG and friends.
#[derive(Debug)]
struct ConnState {
    tx: mpsc::Sender<Message>,
    config: SwitchConfig,
    version: Version,
    /// Controllers get packet-ins and flow-removed messages; management
    /// connections (ofctl) do not.
    async_msgs: bool,
}

/// One bridge as OpenFlow sees it.
#[derive(Debug)]
pub struct OfBridge {
    name: String,
    restore: Mutex<Option<std::path::PathBuf>>,
    flows_dirty: AtomicBool,
    tables_dirty: AtomicBool,
    /// Some translation of this bridge's tables went to the datapath
    /// (which may cache it): table changes must revalidate the datapath.
    /// Until then nothing of this bridge can be stale there, and flow_mods
    /// followed by barriers (`ovs-ofctl add-flows` sends one per flow) need
    /// no round trip to the polling threads.
    translated: AtomicBool,
    last_save_ms: AtomicU64,
    fail: FailState,
    dp: std::sync::OnceLock<Arc<crate::dp::Dp>>,
    versions: AtomicU32,
    epoch: Instant,
    state: Mutex<State>,
    conns: Mutex<HashMap<u64, ConnState>>,
}

#[derive(Debug)]
struct State {
    bridge: ofproto::bridge::Bridge,
    datapath_id: u64,
    ports: BTreeMap<PortNo, OfPort>,
}

/// A port as the OpenFlow side knows it.
#[derive(Debug)]
struct OfPort {
    desc: Port,
    netdev: Option<Arc<dyn Netdev>>,
    added_ms: u64,
}

/// The OpenFlow number of a database `ofport`.
pub fn ofp_port(db_ofport: i64) -> Option<PortNo> {
    match db_ofport {
        65534 => Some(ports::LOCAL),
        1..=0xfeff => PortNo::try_from(db_ofport).ok(),
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl OfBridge {
    /// A bridge with no ports and no flows.
    pub fn new(name: &str) -> Arc<OfBridge> {
        Arc::new(OfBridge {
            name: name.to_owned(),
            restore: Mutex::new(None),
            flows_dirty: AtomicBool::new(false),
            tables_dirty: AtomicBool::new(false),
            translated: AtomicBool::new(false),
            last_save_ms: AtomicU64::new(0),
            fail: FailState::default(),
            dp: std::sync::OnceLock::new(),
            versions: AtomicU32::new(crate::ofconn::supported_versions().0),
            epoch: *EPOCH,
            state: Mutex::new(State {
                bridge: ofproto::bridge::Bridge::new(name),
                datapath_id: 0,
                ports: BTreeMap::new(),
            }),
            conns: Mutex::new(HashMap::new()),
        })
    }

    /// The bridge's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The OpenFlow versions new connections may use.
    pub fn versions(&self) -> VersionSet {
        VersionSet(self.versions.load(Ordering::Relaxed))
    }

    /// Limits the versions of new connections (`Bridge.protocols`).
    pub fn set_versions(&self, v: VersionSet) {
        self.versions.store(v.0, Ordering::Relaxed);
    }

    /// Milliseconds since the bridge was made (the clock of its tables).
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Sets the datapath id.
    pub fn set_datapath_id(&self, dpid: u64) {
        lock(&self.state).datapath_id = dpid;
    }

    /// Adds or replaces a port (description and pipeline info); sends
    /// PORT_STATUS to the connections when it is new or changed, and then
    /// returns true.
    pub fn set_port(
        &self,
        desc: Port,
        info: ofproto::pipeline::xlate::PortInfo,
        netdev: Option<Arc<dyn Netdev>>,
    ) -> bool {
        let now = self.now_ms();
        let reason = {
            let mut st = lock(&self.state);
            let added_ms = st.ports.get(&desc.port_no).map_or(now, |p| p.added_ms);
            let old = st.ports.insert(
                desc.port_no,
                OfPort {
                    desc: desc.clone(),
                    netdev,
                    added_ms,
                },
            );
            st.bridge.add_port(info);
            match old {
                None => Some(0u8),
                Some(o) if o.desc != desc => Some(2),
                Some(_) => None,
            }
        };
        if let Some(reason) = reason {
            self.broadcast(Message::PortStatus(ofproto::ofp::PortStatus {
                reason,
                port: desc,
            }));
        }
        reason.is_some()
    }

    /// Removes a port; sends PORT_STATUS (delete).
    pub fn remove_port(&self, port_no: PortNo) {
        let old = {
            let mut st = lock(&self.state);
            st.bridge.remove_port(port_no);
            st.ports.remove(&port_no).map(|p| p.desc)
        };
        if let Some(port) = old {
            self.broadcast(Message::PortStatus(ofproto::ofp::PortStatus {
                reason: 1,
                port,
            }));
        }
    }

    /// Adds the flow a new bridge without controllers starts with, as Open
    /// vSwitch does: `priority=0 actions=NORMAL` in table 0.
    pub fn add_default_normal_flow(&self) {
        use ofproto::ofp::{Action, FlowMod, FlowModCommand};
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.priority = 0;
        fm.instructions = vec![Instruction::ApplyActions(vec![Action::Output {
            port: ports::NORMAL,
            max_len: 0,
        }])];
        let now = self.now_ms();
        if let Err(e) = lock(&self.state).bridge.flow_mod(&fm, now) {
            tracing::warn!("{}: cannot add the default NORMAL flow: {e:?}", self.name);
        }
    }

    /// Connects the bridge to the datapath (flow changes revalidate it;
    /// packet-outs run on it).
    pub fn attach(&self, dp: Arc<crate::dp::Dp>) {
        let _ = self.dp.set(dp);
    }

    /// Removes flows whose idle or hard timeout passed (FLOW_REMOVED goes
    /// to the controllers); true when some were removed (the caller
    /// revalidates the datapath).
    pub fn expire(&self) -> bool {
        let now = self.now_ms();
        let removed = lock(&self.state).bridge.expire(now);
        if removed.is_empty() {
            return false;
        }
        self.flows_dirty.store(true, Ordering::Release);
        for fr in removed {
            self.broadcast(Message::FlowRemoved(fr));
        }
        true
    }

    /// Keeps the flows in `path` (flow restore), or stops (`None`).
    pub fn set_flow_restore(&self, path: Option<std::path::PathBuf>) {
        let mut r = lock(&self.restore);
        if *r != path {
            *r = path;
            self.flows_dirty.store(true, Ordering::Release);
        }
    }

    /// The flows in `ovs-ofctl` syntax, one per line (what flow restore
    /// saves).
    pub fn flows_text(&self) -> String {
        let st = lock(&self.state);
        let mut out = String::new();
        for id in 0..=254u8 {
            for e in st.bridge.tables().flows(id) {
                let f = ofproto::text::Flow {
                    table: e.table_id,
                    priority: e.priority,
                    cookie: e.cookie,
                    cookie_mask: 0,
                    idle_timeout: e.idle_timeout,
                    hard_timeout: e.hard_timeout,
                    match_: e.match_(),
                    instructions: e.instructions.to_vec(),
                };
                out.push_str(&f.to_string());
                out.push('\n');
            }
        }
        out
    }

    /// Adds the flows of a flow-restore file; returns how many; lines
    /// that do not parse or are refused are skipped (logged).
    pub fn restore_flows(&self, text: &str) -> usize {
        use ofproto::ofp::{FlowMod, FlowModCommand};
        let now = self.now_ms();
        let mut n = 0;
        let mut st = lock(&self.state);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let f = match ofproto::text::parse_flow(line) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!("{}: flow restore: {e}", self.name);
                    continue;
                }
            };
            let mut fm = FlowMod::new(FlowModCommand::Add);
            fm.table_id = f.table;
            fm.priority = f.priority;
            fm.cookie = f.cookie;
            fm.idle_timeout = f.idle_timeout;
            fm.hard_timeout = f.hard_timeout;
            fm.match_ = f.match_;
            fm.instructions = f.instructions;
            match st.bridge.flow_mod(&fm, now) {
                Ok(_) => n += 1,
                Err(e) => tracing::warn!("{}: flow restore refused {line:?}: {e:?}", self.name),
            }
        }
        n
    }

    /// Writes the flow-restore file if the flows changed since the last
    /// write (atomically: a temporary file renamed over it).
    /// At most once per second, so a burst of flow_mods costs one write.
    pub fn save_flows_if_dirty(&self) {
        let now = self.now_ms();
        if now.saturating_sub(self.last_save_ms.load(Ordering::Relaxed)) < 1000
            || !self.flows_dirty.swap(false, Ordering::AcqRel)
        {
            return;
        }
        self.last_save_ms.store(now, Ordering::Relaxed);
        let Some(path) = lock(&self.restore).clone() else {
            return;
        };
        let text = self.flows_text();
        let tmp = path.with_extension("flows.tmp");
        let r = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = r {
            tracing::warn!(
                "{}: cannot save flows to {}: {e}",
                self.name,
                path.display()
            );
            self.flows_dirty.store(true, Ordering::Release);
        }
    }

    /// Tables changed: make sure no datapath thread uses an older
    /// translation (call without holding the bridge lock).
    ///
    /// Changes are marked and brought into the datapath in one
    /// revalidation by [`OfBridge::sync_tables`]: before a BARRIER_REPLY,
    /// when a session has read everything it was sent, and at the latest by
    /// the daemon's 20 ms housekeeping. So a burst of flow_mods costs one
    /// revalidation, and `flow_mod; barrier; packet` never meets a stale
    /// cache entry.
    fn tables_changed(&self) {
        self.flows_dirty.store(true, Ordering::Release);
        self.tables_dirty.store(true, Ordering::Release);
    }

    /// Brings pending table changes into the datapath (revalidates and
    /// waits); call without holding the bridge lock.
    pub fn sync_tables(&self) {
        if self.tables_dirty.swap(false, Ordering::AcqRel)
            && self.translated.load(Ordering::Acquire)
            && let Some(dp) = self.dp.get()
        {
            dp.changed_and_wait();
        }
    }

    /// The upcall path: translate `key` (its `in_port` an OpenFlow port)
    /// and learn. A bridge that has failed open forwards with NORMAL.
    pub fn upcall(
        &self,
        key: &datapath::flow::FlowKey,
        now_ms: u64,
    ) -> ofproto::pipeline::xlate::XlateOutput {
        let mut st = lock(&self.state);
        // Under the bridge lock: a flow_mod after this translation sees the
        // flag (and revalidates); one before it is in the translation.
        self.translated.store(true, Ordering::Release);
        if self.fail.open.load(Ordering::Acquire) {
            let normal = [ofproto::ofp::Action::Output {
                port: ports::NORMAL,
                max_len: 0,
            }];
            return st.bridge.upcall_actions(key, &normal, now_ms);
        }
        st.bridge.upcall(key, now_ms)
    }

    /// Credits the rules `key` goes through with traffic the datapath
    /// forwarded from its caches.
    /// `cache` keeps the translation (the rules and group buckets `key`
    /// goes through) with the bridge generation it came from, so a sweep
    /// translates a megaflow again only after the tables changed.
    pub fn credit(
        &self,
        key: &datapath::flow::FlowKey,
        packets: u64,
        bytes: u64,
        cache: &mut Option<(u64, ofproto::pipeline::xlate::XlateOutput)>,
    ) {
        let now = self.now_ms();
        {
            let st = lock(&self.state);
            let generation = st.bridge.generation();
            if cache.as_ref().is_none_or(|(g, _)| *g != generation) {
                *cache = Some((generation, st.bridge.xlate(key, now)));
            }
        }
        if let Some((_, out)) = cache {
            out.credit(packets, bytes, now);
        }
    }

    /// Sets the fail mode (`standalone` unless `secure`) and whether any
    /// controller is configured.
    pub fn set_fail_mode(&self, standalone: bool, has_controllers: bool) {
        self.fail.standalone.store(standalone, Ordering::Relaxed);
        self.fail
            .has_controllers
            .store(has_controllers, Ordering::Relaxed);
    }

    /// Decides whether a `standalone` bridge with controllers but no
    /// controller session for [`FAIL_OPEN_DELAY_MS`] fails open (and
    /// whether one that has failed open recovers); true when that changed,
    /// and the datapath must be revalidated.
    pub fn check_fail_open(&self) -> bool {
        let now = self.now_ms();
        let f = &self.fail;
        let up = f.controller_conns.load(Ordering::Relaxed) > 0;
        if up || !f.has_controllers.load(Ordering::Relaxed) {
            f.last_up_ms.store(now, Ordering::Relaxed);
        }
        let want = f.standalone.load(Ordering::Relaxed)
            && f.has_controllers.load(Ordering::Relaxed)
            && !up
            && now.saturating_sub(f.last_up_ms.load(Ordering::Relaxed)) >= FAIL_OPEN_DELAY_MS;
        let was = f.open.swap(want, Ordering::AcqRel);
        if was != want {
            tracing::info!(
                "{}: {}",
                self.name,
                if want {
                    "no controller: failing open (forwarding with NORMAL)"
                } else {
                    "controller back: leaving fail-open mode"
                }
            );
        }
        was != want
    }

    /// A packet-in for a datapath `userspace` action: sent to every
    /// connection that wants asynchronous messages. False when nobody
    /// could take it.
    pub fn packet_in(
        &self,
        ofp_port: PortNo,
        _key: &datapath::flow::FlowKey,
        frame: &[u8],
        userdata: u64,
    ) -> bool {
        let Some(c) = lock(&self.state).bridge.controller_output(userdata) else {
            return false;
        };
        let mut m = ofproto::ofp::Match::new();
        m.set_u64(ofproto::ofp::Field::InPort, u64::from(ofp_port));
        let mut sent = false;
        for conn in lock(&self.conns).values() {
            if !conn.async_msgs {
                continue;
            }
            let max = usize::from(if c.max_len == 0xffff {
                u16::MAX
            } else if c.reason == ofproto::pipeline::xlate::reason::NO_MATCH {
                c.max_len.min(conn.config.miss_send_len)
            } else {
                c.max_len
            });
            let pi = ofproto::ofp::PacketIn {
                buffer_id: ofproto::ofp::messages::NO_BUFFER,
                total_len: u16::try_from(frame.len()).unwrap_or(u16::MAX),
                reason: c.reason,
                table_id: c.table_id,
                cookie: c.cookie,
                match_: m.clone(),
                data: frame[..frame.len().min(max)].to_vec(),
            };
            sent |= conn.tx.try_send(Message::PacketIn(pi)).is_ok();
        }
        sent
    }

    /// `ofproto/trace` text for `key` (in_port an OpenFlow port).
    pub fn trace(&self, key: &datapath::flow::FlowKey) -> String {
        let now = self.now_ms();
        lock(&self.state).bridge.trace(key, now)
    }

    /// `fdb/show` text.
    pub fn fdb_show(&self) -> String {
        let now = self.now_ms();
        lock(&self.state).bridge.fdb_show(now)
    }

    /// `fdb/flush`: forget every learned MAC address (the datapath is
    /// revalidated).
    pub fn fdb_flush(&self) {
        lock(&self.state).bridge.fdb_flush();
        self.tables_changed();
    }

    /// The bridge is being deleted: drop its ports (and their devices)
    /// and forget its connections.
    pub fn shutdown(&self) {
        if let Some(dp) = self.dp.get() {
            dp.publish_meters(&self.name, Vec::new());
        }
        lock(&self.state).ports.clear();
        lock(&self.conns).clear();
    }

    /// The ports, by number.
    pub fn port_numbers(&self) -> Vec<PortNo> {
        lock(&self.state).ports.keys().copied().collect()
    }

    fn broadcast(&self, m: Message) {
        for c in lock(&self.conns).values() {
            let mut m = m.clone();
            if let Message::PortStatus(ps) = &mut m {
                ps.port.state = port_state(ps.port.state, c.version);
            }
            // A full queue drops the notification rather than block.
            let _ = c.tx.try_send(m);
        }
    }

    fn features(&self, version: Version) -> FeaturesReply {
        let st = lock(&self.state);
        // FLOW_STATS | TABLE_STATS | PORT_STATS (| GROUP_STATS in 1.1+).
        let capabilities = if version == Version::V1_0 { 0x7 } else { 0xf };
        FeaturesReply {
            datapath_id: st.datapath_id,
            n_buffers: 0,
            n_tables: N_TABLES,
            auxiliary_id: 0,
            capabilities,
            // 1.0: the standard actions Open vSwitch lists.
            actions: if version == Version::V1_0 { 0xfff } else { 0 },
            ports: if version == Version::V1_0 {
                st.ports
                    .values()
                    .map(|p| {
                        let mut d = p.desc.clone();
                        d.state = port_state(d.state, version);
                        d
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// The flows a flow-stats or aggregate request selects, in table and
    /// priority order (the bridge lock is held only to collect them).
    fn select_flows(&self, req: &FlowStatsRequest) -> Result<Vec<Arc<FlowEntry>>, ErrorKind> {
        if req.table_id != 0xff && req.table_id >= N_TABLES {
            return Err(ErrorKind::BadRequestBadTableId);
        }
        let (rk, rm) = req.match_.to_flow()?;
        let any_match = req.match_.is_empty();
        let mut flows = lock(&self.state).bridge.tables().flows(req.table_id);
        flows.retain(|e| {
            // Table 254 exists in the pipeline but is not offered.
            e.table_id < N_TABLES
                && e.cookie & req.cookie_mask == req.cookie & req.cookie_mask
                && e.outputs_to(req.out_port)
                && e.uses_group(req.out_group)
                // Loose match: the flow is at least as specific as the
                // request and agrees with it on the request's bits.
                && (any_match
                    || e.match_()
                        .to_flow()
                        .is_ok_and(|(fk, fm)| rm.is_subset_of(&fm) && fk.equal_masked(&rk, &rm)))
        });
        Ok(flows)
    }

    fn aggregate(flows: &[Arc<FlowEntry>]) -> AggregateStats {
        let mut agg = AggregateStats::default();
        for e in flows {
            agg.packet_count += e.counters.packets.load(Ordering::Relaxed);
            agg.byte_count += e.counters.bytes.load(Ordering::Relaxed);
            agg.flow_count += 1;
        }
        agg
    }

    fn flow_stats_of(e: &FlowEntry, now: u64) -> FlowStats {
        let age = now.saturating_sub(e.created_ms);
        FlowStats {
            table_id: e.table_id,
            duration_sec: u32::try_from(age / 1000).unwrap_or(u32::MAX),
            duration_nsec: ((age % 1000) * 1_000_000) as u32,
            priority: e.priority,
            idle_timeout: e.idle_timeout,
            hard_timeout: e.hard_timeout,
            flags: e.flags,
            cookie: e.cookie,
            packet_count: e.counters.packets.load(Ordering::Relaxed),
            byte_count: e.counters.bytes.load(Ordering::Relaxed),
            match_: e.match_(),
            instructions: e.instructions.to_vec(),
        }
    }

    fn multipart(
        &self,
        ctx: &ConnCtx,
        h: &Header,
        raw: &[u8],
        req: MultipartRequest,
    ) -> Vec<Reply> {
        let v = ctx.version;
        let body = match req.body {
            RequestBody::Desc => ReplyBody::Desc(DescStats {
                mfr_desc: "rvs".into(),
                hw_desc: "rvs userspace switch".into(),
                sw_desc: env!("CARGO_PKG_VERSION").into(),
                serial_num: "None".into(),
                dp_desc: format!("{} (userspace datapath)", self.name),
            }),
            RequestBody::PortDesc { port_no } => {
                let st = lock(&self.state);
                ReplyBody::PortDesc(
                    st.ports
                        .values()
                        .filter(|p| port_no == ports::ANY || p.desc.port_no == port_no)
                        .map(|p| p.desc.clone())
                        .collect(),
                )
            }
            RequestBody::Flow(r) => {
                let flows = match self.select_flows(&r) {
                    Ok(f) => f,
                    Err(k) => return vec![error_reply(k, v, h, raw)],
                };
                return vec![Reply::Stream(crate::ofconn::Encoded(Box::new(
                    FlowStatsEncoder {
                        flows,
                        next: 0,
                        chunk: 64,
                        version: v,
                        xid: h.xid,
                        now: self.now_ms(),
                        done: false,
                    },
                )))];
            }
            RequestBody::Aggregate(r) => match self.select_flows(&r) {
                Ok(flows) => ReplyBody::Aggregate(Self::aggregate(&flows)),
                Err(k) => return vec![error_reply(k, v, h, raw)],
            },
            RequestBody::Table => {
                let st = lock(&self.state);
                let stats = st.bridge.table_stats();
                ReplyBody::Table(
                    (0..N_TABLES)
                        .map(|id| {
                            let s = stats.iter().find(|s| s.table_id == id);
                            TableStats {
                                table_id: id,
                                name: table_name(id),
                                wildcards: 0x003f_ffff,
                                max_entries: 1_000_000,
                                active_count: s.map_or(0, |s| s.active_count),
                                lookup_count: s.map_or(0, |s| s.lookup_count),
                                matched_count: s.map_or(0, |s| s.matched_count),
                            }
                        })
                        .collect(),
                )
            }
            RequestBody::TableFeatures(set) => {
                if !set.is_empty() {
                    return vec![error_reply(ErrorKind::TableFeaturesFailedEperm, v, h, raw)];
                }
                ReplyBody::TableFeatures(
                    (0..N_TABLES)
                        .map(|id| TableFeatures {
                            table_id: id,
                            name: table_name(id),
                            metadata_match: u64::MAX,
                            metadata_write: u64::MAX,
                            capabilities: 0,
                            max_entries: 1_000_000,
                            properties: table_feature_properties(v, id),
                        })
                        .collect(),
                )
            }
            RequestBody::PortStats { port_no } => {
                let now = self.now_ms();
                let st = lock(&self.state);
                if port_no != ports::ANY && !st.ports.contains_key(&port_no) {
                    return vec![error_reply(ErrorKind::BadRequestBadPort, v, h, raw)];
                }
                ReplyBody::PortStats(
                    st.ports
                        .iter()
                        .filter(|(n, _)| port_no == ports::ANY || **n == port_no)
                        .map(|(n, p)| {
                            let s = p.netdev.as_ref().map(|d| d.stats()).unwrap_or_default();
                            let age = now.saturating_sub(p.added_ms);
                            PortStats {
                                port_no: *n,
                                duration_sec: u32::try_from(age / 1000).unwrap_or(u32::MAX),
                                duration_nsec: ((age % 1000) * 1_000_000) as u32,
                                rx_packets: s.rx_packets,
                                tx_packets: s.tx_packets,
                                rx_bytes: s.rx_bytes,
                                tx_bytes: s.tx_bytes,
                                rx_dropped: s.rx_dropped,
                                tx_dropped: s.tx_dropped,
                                rx_errors: s.rx_errors,
                                tx_errors: s.tx_errors,
                                ..PortStats::default()
                            }
                        })
                        .collect(),
                )
            }
            RequestBody::Group { group_id } => {
                let now = self.now_ms();
                let st = lock(&self.state);
                ReplyBody::Group(ofproto::convert::group_stats(&st.bridge, group_id, now))
            }
            RequestBody::GroupDesc { group_id } => {
                let st = lock(&self.state);
                ReplyBody::GroupDesc(ofproto::convert::group_descs(&st.bridge, group_id))
            }
            RequestBody::GroupFeatures => {
                ReplyBody::GroupFeatures(ofproto::ofp::group::GroupFeatures {
                    // ALL, SELECT, INDIRECT, FAST_FAILOVER.
                    types: 0xf,
                    // SELECT_WEIGHT, SELECT_LIVENESS, CHAINING.
                    capabilities: 0x7,
                    max_groups: [0xffff_ff00; 4],
                    // Every OpenFlow 1.3 action type up to POP_PBB.
                    actions: [0x0fff_f801; 4],
                })
            }
            RequestBody::Meter { meter_id } => {
                let now = self.now_ms();
                let st = lock(&self.state);
                ReplyBody::Meter(ofproto::convert::meter_stats(&st.bridge, meter_id, now))
            }
            RequestBody::MeterConfig { meter_id } => {
                let st = lock(&self.state);
                ReplyBody::MeterConfig(ofproto::convert::meter_configs(&st.bridge, meter_id))
            }
            RequestBody::MeterFeatures => {
                ReplyBody::MeterFeatures(ofproto::ofp::meter::MeterFeatures {
                    max_meter: 65536,
                    // DROP and DSCP_REMARK.
                    band_types: 0x6,
                    // KBPS, PKTPS, BURST, STATS.
                    capabilities: 0xf,
                    max_bands: 8,
                    max_color: 0,
                })
            }
            _ => return vec![error_reply(ErrorKind::BadRequestBadStat, v, h, raw)],
        };
        vec![Reply::Multipart(MultipartReply { flags: 0, body }, h.xid)]
    }
}

/// The table-features properties of table `id` in `version`: what a
/// lookup can match, what instructions and actions flows may use, which
/// tables `goto_table` may reach. `ovs-ofctl` insists on the eight
/// required properties.
fn table_feature_properties(version: Version, id: u8) -> Vec<TableFeatureProp> {
    use ofproto::ofp::oxm::{Field, nxm_header};
    // Basic-class OXM fields of this version.
    let fields: Vec<(u32, u32)> = Field::all()
        .iter()
        .filter_map(|f| {
            let i = f.info();
            let (oxm, since) = i.oxm?;
            (oxm.class == 0x8000 && since <= version).then(|| {
                (
                    nxm_header(oxm, false, i.width),
                    nxm_header(
                        oxm,
                        i.maskable,
                        if i.maskable { i.width * 2 } else { i.width },
                    ),
                )
            })
        })
        .collect();
    let plain: Vec<u32> = fields.iter().map(|(h, _)| *h).collect();
    let masked: Vec<u32> = fields.iter().map(|(_, h)| *h).collect();
    // goto_table (not in the last table), write_metadata, write_actions,
    // apply_actions, clear_actions, meter.
    let instructions: Vec<u16> = if id + 1 < N_TABLES {
        vec![1, 2, 3, 4, 5, 6]
    } else {
        vec![2, 3, 4, 5, 6]
    };
    // output, copy_ttl_out/in, set/dec_mpls_ttl, push/pop_vlan,
    // push/pop_mpls, set_queue, group, set/dec_nw_ttl, set_field,
    // push/pop_pbb.
    let actions: Vec<u16> = vec![
        0, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    ];
    let next: Vec<u8> = (id.saturating_add(1)..N_TABLES).collect();
    let mut out = Vec::new();
    for miss in [false, true] {
        out.push(TableFeatureProp::Instructions {
            miss,
            types: instructions.clone(),
        });
        out.push(TableFeatureProp::NextTables {
            miss,
            tables: next.clone(),
        });
        for apply in [false, true] {
            out.push(TableFeatureProp::Actions {
                apply,
                miss,
                types: actions.clone(),
            });
        }
    }
    out.push(TableFeatureProp::Match(masked));
    out.push(TableFeatureProp::Wildcards(plain.clone()));
    for apply in [false, true] {
        for miss in [false, true] {
            out.push(TableFeatureProp::Setfield {
                apply,
                miss,
                fields: plain.clone(),
            });
        }
    }
    out
}

/// Port state bits as `version` defines them: the stored bits are 1.3's
/// (LINK_DOWN 1, BLOCKED 2, LIVE 4); 1.0 has only LINK_DOWN of those.
fn port_state(state: u32, version: Version) -> u32 {
    if version == Version::V1_0 {
        state & 1
    } else {
        state
    }
}

impl OfBridge {
    /// BUNDLE_CONTROL (OpenFlow 1.4+): open, close, commit (all flow_mods
    /// at once, or none), discard.
    fn bundle_control(
        &self,
        ctx: &ConnCtx,
        h: &Header,
        raw: &[u8],
        bc: ofproto::ofp::control::BundleControl,
    ) -> Vec<Reply> {
        use ofproto::ofp::control::bundle_ctrl as c;
        let v = ctx.version;
        let now = self.now_ms();
        let reply_type = match bc.ctrl_type {
            c::OPEN_REQUEST => {
                if let Err(k) = lock(&self.state)
                    .bridge
                    .bundle_open(ctx.id, bc.bundle_id, bc.flags)
                {
                    return vec![error_reply(k, v, h, raw)];
                }
                c::OPEN_REPLY
            }
            c::CLOSE_REQUEST => c::CLOSE_REPLY,
            c::COMMIT_REQUEST => {
                let r = lock(&self.state)
                    .bridge
                    .bundle_commit(ctx.id, bc.bundle_id, now);
                match r {
                    Ok(removed) => {
                        // The bundle's flow_mods are freed now.
                        crate::mem::trim_soon();
                        self.tables_changed();
                        self.sync_tables();
                        for fr in removed {
                            self.broadcast(Message::FlowRemoved(fr));
                        }
                    }
                    Err((_, k)) => return vec![error_reply(k, v, h, raw)],
                }
                c::COMMIT_REPLY
            }
            c::DISCARD_REQUEST => {
                if let Err(k) = lock(&self.state)
                    .bridge
                    .bundle_discard(ctx.id, bc.bundle_id)
                {
                    return vec![error_reply(k, v, h, raw)];
                }
                c::DISCARD_REPLY
            }
            _ => return vec![error_reply(ErrorKind::BundleFailedBadType, v, h, raw)],
        };
        vec![Reply::Msg(
            Message::BundleControl(ofproto::ofp::control::BundleControl {
                bundle_id: bc.bundle_id,
                ctrl_type: reply_type,
                flags: bc.flags,
                properties: Vec::new(),
            }),
            h.xid,
        )]
    }
}

/// A flow-stats reply, encoded a message at a time as the session writes
/// it (so the peer reads and prints the first flows while the rest are
/// encoded): a chunk of flows is turned into `FlowStats` and encoded as one
/// message, the chunk size adapting so messages come out near the 64 KiB
/// limit; the copies of the flows never all exist at once and nothing is
/// encoded twice. Flows this version cannot express (or too long for a
/// message of their own) are left out rather than failing the dump; the
/// last message never has MORE set.
struct FlowStatsEncoder {
    flows: Vec<Arc<FlowEntry>>,
    next: usize,
    chunk: usize,
    version: Version,
    xid: u32,
    now: u64,
    done: bool,
}

impl Iterator for FlowStatsEncoder {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        const TARGET: usize = 60_000;
        if self.done {
            return None;
        }
        let (v, i) = (self.version, self.next);
        let end = (i + self.chunk).min(self.flows.len());
        self.next = end;
        self.done = end >= self.flows.len();
        let flags = if self.done { 0 } else { MORE };
        let chunk: Vec<FlowStats> = self.flows[i..end]
            .iter()
            .map(|e| OfBridge::flow_stats_of(e, self.now))
            .filter(|f| version_can_carry(f, v))
            .collect();
        let msg = Message::MultipartReply(MultipartReply {
            flags,
            body: ReplyBody::Flow(chunk),
        });
        match msg.encode(v, self.xid) {
            Ok(bytes) => {
                self.chunk = ((end - i).max(1) * TARGET / bytes.len().max(1)).clamp(1, 4096);
                Some(bytes)
            }
            Err(_) => {
                // Too long for one message, or a flow the version cannot
                // encode: check flow by flow and split where needed.
                self.chunk = (self.chunk / 2).max(1);
                let Message::MultipartReply(mut mr) = msg else {
                    unreachable!("built above")
                };
                if let ReplyBody::Flow(fs) = &mut mr.body {
                    fs.retain(|f| expressible(f, v));
                }
                match mr.encode_split(v, self.xid) {
                    Ok(parts) => Some(parts.concat()),
                    Err(e) => {
                        tracing::warn!("cannot encode flow stats: {e:?}");
                        let empty = Message::MultipartReply(MultipartReply {
                            flags,
                            body: ReplyBody::Flow(Vec::new()),
                        });
                        empty.encode(v, self.xid).ok()
                    }
                }
            }
        }
    }
}

/// A table's name, as Open vSwitch names them.
fn table_name(id: u8) -> String {
    if id == 0 {
        "classifier".into()
    } else {
        format!("table{id}")
    }
}

/// False when `version`'s flow-stats entries have no room for this flow's
/// instructions (1.0: at most one apply-actions list).
fn version_can_carry(f: &FlowStats, version: Version) -> bool {
    version != Version::V1_0
        || (f.instructions.len() <= 1
            && f.instructions
                .iter()
                .all(|i| matches!(i, Instruction::ApplyActions(_))))
}

/// True when a flow-stats entry of `version` can carry this flow (in 1.0:
/// one apply-actions list of 1.0 actions).
fn expressible(f: &FlowStats, version: Version) -> bool {
    if !version_can_carry(f, version) {
        return false;
    }
    Message::MultipartReply(MultipartReply {
        flags: 0,
        body: ReplyBody::Flow(vec![f.clone()]),
    })
    .encode(version, 0)
    .is_ok()
}

impl Handler for OfBridge {
    fn handle(&self, ctx: &mut ConnCtx, h: &Header, raw: &[u8], msg: Message) -> Vec<Reply> {
        let v = ctx.version;
        match msg {
            Message::FeaturesRequest => {
                vec![Reply::Msg(Message::FeaturesReply(self.features(v)), h.xid)]
            }
            Message::GetConfigRequest => {
                let cfg = lock(&self.conns).get(&ctx.id).map_or(
                    SwitchConfig {
                        flags: 0,
                        miss_send_len: DEFAULT_MISS_SEND_LEN,
                    },
                    |c| c.config,
                );
                vec![Reply::Msg(Message::GetConfigReply(cfg), h.xid)]
            }
            Message::SetConfig(cfg) => {
                if let Some(c) = lock(&self.conns).get_mut(&ctx.id) {
                    c.config = cfg;
                }
                Vec::new()
            }
            Message::BarrierRequest => {
                self.sync_tables();
                vec![Reply::Msg(Message::BarrierReply, h.xid)]
            }
            Message::FlowMod(fm) => {
                // Table 254 exists in the pipeline but is not offered.
                if fm.table_id >= N_TABLES && fm.table_id != 0xff {
                    return vec![error_reply(ErrorKind::BadRequestBadTableId, v, h, raw)];
                }
                let now = self.now_ms();
                let r = {
                    let mut st = lock(&self.state);
                    let deletes = matches!(
                        fm.command,
                        ofproto::ofp::FlowModCommand::Delete
                            | ofproto::ofp::FlowModCommand::DeleteStrict
                    );
                    let before = deletes.then(|| st.bridge.tables().n_stored());
                    let r = st.bridge.flow_mod(&fm, now);
                    if before.is_some_and(|b| {
                        b.saturating_sub(st.bridge.tables().n_stored())
                            >= crate::mem::TRIM_AFTER_FLOWS
                    }) {
                        crate::mem::trim_soon();
                    }
                    if !deletes {
                        crate::mem::note_flows_changed(1);
                    }
                    r
                };
                match r {
                    Ok(removed) => {
                        self.tables_changed();
                        for fr in removed {
                            self.broadcast(Message::FlowRemoved(fr));
                        }
                        Vec::new()
                    }
                    Err(k) => vec![error_reply(k, v, h, raw)],
                }
            }
            Message::BundleControl(bc) => self.bundle_control(ctx, h, raw, bc),
            Message::BundleAdd(ba) => {
                let id = ba.bundle_id;
                let r = match *ba.message {
                    Message::FlowMod(fm) => lock(&self.state).bridge.bundle_add(ctx.id, id, fm),
                    _ => Err(ErrorKind::BundleFailedMsgUnsup),
                };
                match r {
                    Ok(()) => Vec::new(),
                    Err(k) => vec![error_reply(k, v, h, raw)],
                }
            }
            Message::GroupMod(gm) => {
                let now = self.now_ms();
                let r = ofproto::convert::group_mod(&gm)
                    .and_then(|g| lock(&self.state).bridge.group_mod(&g, now));
                match r {
                    Ok(removed) => {
                        self.tables_changed();
                        for fr in removed {
                            self.broadcast(Message::FlowRemoved(fr));
                        }
                        Vec::new()
                    }
                    Err(k) => vec![error_reply(k, v, h, raw)],
                }
            }
            Message::MeterMod(mm) => {
                let now = self.now_ms();
                let r = ofproto::convert::meter_mod(&mm)
                    .and_then(|m| lock(&self.state).bridge.meter_mod(&m, now));
                match r {
                    Ok(removed) => {
                        if let Some(dp) = self.dp.get() {
                            let meters: Vec<_> =
                                lock(&self.state).bridge.meters().iter().cloned().collect();
                            dp.publish_meters(&self.name, meters);
                        }
                        self.tables_changed();
                        for fr in removed {
                            self.broadcast(Message::FlowRemoved(fr));
                        }
                        Vec::new()
                    }
                    Err(k) => vec![error_reply(k, v, h, raw)],
                }
            }
            Message::PacketOut(po) => {
                let now = self.now_ms();
                let r = lock(&self.state).bridge.packet_out(&po, now);
                match r {
                    Ok((key, x)) => {
                        if let Some(dp) = self.dp.get() {
                            let in_port = lock(&self.state)
                                .bridge
                                .ports()
                                .get(&key.in_port)
                                .map_or(0, |p| p.dp_port);
                            dp.execute(&po.data, in_port, &x.actions);
                        }
                        Vec::new()
                    }
                    Err(k) => vec![error_reply(k, v, h, raw)],
                }
            }
            Message::MultipartRequest(req) => self.multipart(ctx, h, raw, req),
            // Roles: answered (every connection is an equal); async
            // configuration accepted.
            Message::RoleRequest(r) => {
                let mut r = r;
                if r.role == 0 {
                    r.role = 1;
                }
                vec![Reply::Msg(Message::RoleReply(r), h.xid)]
            }
            Message::SetAsync(_) => Vec::new(),
            // Nicira NXT_FLOW_MOD_TABLE_ID (subtype 15): the table id of
            // OpenFlow 1.0 flow_mods rides in the command's upper byte,
            // which the codec always reads; nothing to switch on.
            Message::Experimenter(e) if e.experimenter == 0x2320 && e.exp_type == 15 => Vec::new(),
            // OpenFlow 1.3's bundles: the ONF extension (what ovs-ofctl
            // -O OpenFlow13 --bundle sends), same bodies as 1.4's.
            Message::Experimenter(e)
                if e.experimenter == ONF_EXPERIMENTER && e.exp_type == 2300 =>
            {
                let d = &e.data;
                if d.len() < 8 {
                    return vec![error_reply(ErrorKind::BadRequestBadLen, v, h, raw)];
                }
                let bc = ofproto::ofp::control::BundleControl {
                    bundle_id: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
                    ctrl_type: u16::from_be_bytes([d[4], d[5]]),
                    flags: u16::from_be_bytes([d[6], d[7]]),
                    properties: Vec::new(),
                };
                self.bundle_control(ctx, h, raw, bc)
                    .into_iter()
                    .map(|r| match r {
                        Reply::Msg(Message::BundleControl(b), xid) => {
                            let mut data = Vec::with_capacity(8);
                            data.extend_from_slice(&b.bundle_id.to_be_bytes());
                            data.extend_from_slice(&b.ctrl_type.to_be_bytes());
                            data.extend_from_slice(&b.flags.to_be_bytes());
                            Reply::Msg(
                                Message::Experimenter(ofproto::ofp::Experimenter {
                                    experimenter: ONF_EXPERIMENTER,
                                    exp_type: 2300,
                                    data,
                                }),
                                xid,
                            )
                        }
                        other => other,
                    })
                    .collect()
            }
            Message::Experimenter(e)
                if e.experimenter == ONF_EXPERIMENTER && e.exp_type == 2301 =>
            {
                let d = &e.data;
                let r = if d.len() < 16 {
                    Err(ErrorKind::BundleFailedMsgBadLen)
                } else {
                    let id = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
                    match Message::decode(&d[8..]) {
                        Ok((ih, Message::FlowMod(fm))) if ih.version == v.wire() => {
                            lock(&self.state).bridge.bundle_add(ctx.id, id, fm)
                        }
                        Ok(_) => Err(ErrorKind::BundleFailedMsgUnsup),
                        Err(_) => Err(ErrorKind::BundleFailedMsgBadLen),
                    }
                };
                match r {
                    Ok(()) => Vec::new(),
                    Err(k) => vec![error_reply(k, v, h, raw)],
                }
            }
            Message::Experimenter(_) => {
                vec![error_reply(ErrorKind::BadRequestBadVendor, v, h, raw)]
            }
            _ => vec![error_reply(ErrorKind::BadRequestBadType, v, h, raw)],
        }
    }

    fn idle(&self) {
        self.sync_tables();
    }

    fn connected(&self, ctx: &ConnCtx, tx: mpsc::Sender<Message>) {
        if ctx.is_controller {
            self.fail.controller_conns.fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.conns).insert(
            ctx.id,
            ConnState {
                tx,
                config: SwitchConfig {
                    flags: 0,
                    miss_send_len: DEFAULT_MISS_SEND_LEN,
                },
                version: ctx.version,
                async_msgs: ctx.is_controller,
            },
        );
    }

    fn disconnected(&self, ctx: &ConnCtx) {
        lock(&self.state).bridge.bundles_close_connection(ctx.id);
        if ctx.is_controller {
            self.fail.controller_conns.fetch_sub(1, Ordering::Relaxed);
        }
        lock(&self.conns).remove(&ctx.id);
    }
}
