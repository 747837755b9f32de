//! The daemon's datapath: one `datapath::dpif::Datapath` shared by every
//! bridge, with the ports `datapath::netdev` opens, and the upcall handler
//! that asks the right bridge's OpenFlow pipeline.
//!
//! Contract:
//! * Datapath port numbers are global (one datapath for all bridges); each
//!   maps to one bridge and one OpenFlow port. Upcalls translate with the
//!   key's `in_port` rewritten to the OpenFlow port, so the pipeline sees
//!   OpenFlow numbers and emits datapath numbers.
//! * Every translation records the global table version. A change to any
//!   bridge's tables (flow_mod, group_mod, port change) bumps the version and
//!   revalidates every thread before it is acknowledged
//!   ([`Dp::changed_and_wait`]). MAC learning and aging bump the version and
//!   revalidate in the background (a learned address never makes a packet
//!   go somewhere wrong; it only ends flooding).

use crate::ofswitch::OfBridge;
use datapath::actions::DpPort;
use datapath::dpif::{Datapath, DatapathConfig};
use datapath::flow::FlowKey;
use datapath::netdev::Netdev;
use datapath::upcall::{Translation, UpcallError, UpcallHandler};
use ofproto::ofp::port::PortNo;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a datapath port leads.
#[derive(Clone)]
struct PortOwner {
    bridge: Arc<OfBridge>,
    ofp_port: PortNo,
}

/// Meters by OpenFlow meter id, as the polling threads see them.
type MeterMap = HashMap<u32, Arc<ofproto::pipeline::meter::Meter>>;

/// The upcall handler: datapath port -> bridge -> pipeline.
pub struct Upcalls {
    owners: RwLock<HashMap<DpPort, PortOwner>>,
    version: AtomicU64,
    relearn: AtomicBool,
    meters: datapath::snapshot::Snapshot<MeterMap>,
}

impl Default for Upcalls {
    fn default() -> Self {
        Upcalls {
            owners: RwLock::default(),
            version: AtomicU64::new(0),
            relearn: AtomicBool::new(false),
            meters: datapath::snapshot::Snapshot::new(HashMap::new()),
        }
    }
}

thread_local! {
    /// Each polling thread's copy of the meter map (refreshed with one
    /// atomic load per packet, a short lock only after a meter_mod).
    static METERS: std::cell::RefCell<Option<datapath::snapshot::Cached<MeterMap>>> =
        const { std::cell::RefCell::new(None) };
}

impl std::fmt::Debug for Upcalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upcalls")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Upcalls {
    fn owner(&self, port: DpPort) -> Option<PortOwner> {
        self.owners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&port)
            .cloned()
    }

    /// The current table version.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn bump(&self) -> u64 {
        self.version.fetch_add(1, Ordering::AcqRel) + 1
    }
}

impl UpcallHandler for Upcalls {
    fn translate(
        &self,
        key: &FlowKey,
        _packet: Option<&[u8]>,
        out: &mut Translation,
    ) -> Result<(), UpcallError> {
        let Some(owner) = self.owner(key.in_port) else {
            // A port being added or removed: drop, do not cache.
            out.cacheable = false;
            return Ok(());
        };
        let version = self.version();
        let mut k = *key;
        k.in_port = owner.ofp_port;
        let now = owner.bridge.now_ms();
        let x = owner.bridge.upcall(&k, now);
        if !x.learned.is_empty() {
            self.relearn.store(true, Ordering::Release);
        }
        if x.error.is_some() {
            return Err(UpcallError::TooComplex);
        }
        out.actions.extend(x.actions.iter().cloned());
        out.mask = x.mask;
        out.version = version;
        Ok(())
    }

    fn meter(&self, meter_id: u32, len: usize, _now_ns: u64) -> bool {
        use ofproto::pipeline::meter::Verdict;
        // Meters were made on the bridges' clock; read the same one.
        let now_ns = u64::try_from(crate::ofswitch::EPOCH.elapsed().as_nanos()).unwrap_or(u64::MAX);
        METERS.with(|c| {
            let mut c = c.borrow_mut();
            let cached = c.get_or_insert_with(|| self.meters.cached());
            cached.refresh(&self.meters);
            match cached.get().get(&meter_id) {
                Some(m) => !matches!(
                    m.admit(now_ns, u32::try_from(len).unwrap_or(u32::MAX)),
                    Verdict::Drop
                ),
                // A meter deleted under a cached flow: pass until the
                // flow is revalidated away.
                None => true,
            }
        })
    }

    fn userspace(&self, key: &FlowKey, packet: &[u8], userdata: u64) -> bool {
        match self.owner(key.in_port) {
            Some(o) => o.bridge.packet_in(o.ofp_port, key, packet, userdata),
            None => false,
        }
    }
}

/// Sweeps a megaflow may go without forwarding before the sweep forgets its
/// translation (it translates again if the flow forwards later).
const SEEN_SWEEPS: u64 = 20;

/// What the statistics sweep remembers of a megaflow: which one (the
/// generation of its slot), the translation that says which rules to
/// credit, and the last sweep that saw it forward.
#[derive(Default)]
struct Seen {
    generation: u32,
    sweep: u64,
    translation: Option<(u64, ofproto::pipeline::xlate::XlateOutput)>,
}

/// The statistics sweep's memory: sweeps so far, and per polling thread
/// the megaflows seen, indexed by slab slot (a thread's slots are dense and
/// its sweep reports them in slot order, so this is a sequential walk, not
/// a hash lookup per flow).
#[derive(Default)]
struct SweepState {
    sweeps: u64,
    flows: Vec<Vec<Seen>>,
}

/// The daemon's datapath and its port bookkeeping.
pub struct Dp {
    dp: Mutex<Datapath>,
    upcalls: Arc<Upcalls>,
    /// The translations the statistics sweep credits rules through.
    seen: Mutex<SweepState>,
    /// Each bridge's meters.
    meter_sets:
        Mutex<std::collections::BTreeMap<String, Vec<Arc<ofproto::pipeline::meter::Meter>>>>,
}

impl std::fmt::Debug for Dp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dp").finish_non_exhaustive()
    }
}

impl Dp {
    /// Starts the polling threads.
    pub fn new(cfg: DatapathConfig) -> Arc<Dp> {
        let upcalls = Arc::new(Upcalls::default());
        let dp = Datapath::new(cfg, upcalls.clone());
        Arc::new(Dp {
            dp: Mutex::new(dp),
            upcalls,
            seen: Mutex::new(SweepState::default()),
            meter_sets: Mutex::new(std::collections::BTreeMap::new()),
        })
    }

    /// Attaches `nd` as datapath port `port`, owned by `bridge`'s OpenFlow
    /// port `ofp_port`.
    pub fn add_port(
        &self,
        port: DpPort,
        nd: &Arc<dyn Netdev>,
        bridge: &Arc<OfBridge>,
        ofp_port: PortNo,
    ) -> Result<(), String> {
        self.upcalls
            .owners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                port,
                PortOwner {
                    bridge: bridge.clone(),
                    ofp_port,
                },
            );
        let r = lock(&self.dp).add_netdev(port, nd.clone());
        if let Err(e) = r {
            return Err(e.to_string());
        }
        self.changed_and_wait();
        Ok(())
    }

    /// Detaches datapath port `port` (its queues are dropped).
    pub fn remove_port(&self, port: DpPort) {
        let r = lock(&self.dp).remove_port(port);
        if let Err(e) = r {
            tracing::warn!("removing datapath port {port}: {e}");
        }
        self.upcalls
            .owners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&port);
        self.changed_and_wait();
    }

    /// The tables changed: bump the version and wait (up to 5 s) until no
    /// polling thread can use a translation from before.
    pub fn changed_and_wait(&self) {
        let v = self.upcalls.bump();
        let done = lock(&self.dp).revalidate(v);
        if !done.wait(Duration::from_secs(5)) {
            tracing::warn!("revalidation did not finish in 5 s");
        }
    }

    /// Runs datapath `actions` on `frame` (whose flow key is `key`) from
    /// the control plane: a packet-out.
    pub fn execute(&self, frame: &[u8], in_port: DpPort, actions: &[datapath::actions::Action]) {
        let meta = datapath::packet::PacketMeta::from_port(in_port);
        lock(&self.dp).execute(frame, meta, actions);
    }

    /// Publishes `bridge`'s meters to the polling threads. Meter ids are
    /// one name space across bridges (the last bridge to set an id wins).
    pub fn publish_meters(&self, bridge: &str, meters: Vec<Arc<ofproto::pipeline::meter::Meter>>) {
        let mut by_bridge = lock(&self.meter_sets);
        by_bridge.insert(bridge.to_owned(), meters);
        let merged: MeterMap = by_bridge
            .values()
            .flat_map(|v| v.iter().map(|m| (m.id, m.clone())))
            .collect();
        self.upcalls.meters.store(Arc::new(merged));
    }

    /// Statistics sweep: credits the OpenFlow rules behind every megaflow
    /// with the packets and bytes it forwarded since the last sweep (so
    /// `n_packets` counts and idle timeouts see traffic that never leaves
    /// the caches).
    pub fn sweep_stats(&self) {
        // Only the megaflows that forwarded since the last sweep, with
        // their increments: the polling threads keep the previous counts.
        let Ok(deltas) = lock(&self.dp).sweep_stats() else {
            return;
        };
        let mut guard = lock(&self.seen);
        let st = &mut *guard;
        st.sweeps += 1;
        let now = st.sweeps;
        for f in deltas {
            if st.flows.len() <= f.pmd {
                st.flows.resize_with(f.pmd + 1, Vec::new);
            }
            let slots = &mut st.flows[f.pmd];
            let id = f.flow.id as usize;
            if slots.len() <= id {
                slots.resize_with(id + 1, Seen::default);
            }
            let s = &mut slots[id];
            if s.generation != f.flow.generation {
                // Another megaflow in this slot: its translation is not ours.
                *s = Seen {
                    generation: f.flow.generation,
                    ..Seen::default()
                };
            }
            s.sweep = now;
            if let Some(owner) = self.upcalls.owner(f.key.in_port) {
                let mut key = f.key;
                key.in_port = owner.ofp_port;
                owner
                    .bridge
                    .credit(&key, f.packets, f.bytes, &mut s.translation);
            }
        }
        for s in st.flows.iter_mut().flatten() {
            if s.translation.is_some() && now - s.sweep >= SEEN_SWEEPS {
                s.translation = None;
            }
        }
    }

    /// Background upkeep: revalidates after MAC learning.
    pub fn housekeeping(&self) {
        if self.upcalls.relearn.swap(false, Ordering::AcqRel) {
            let v = self.upcalls.bump();
            let _ = lock(&self.dp).revalidate(v);
        }
    }

    /// `dpctl/dump-flows` text.
    pub fn dump_flows_text(&self) -> String {
        lock(&self.dp)
            .format_dump_flows()
            .unwrap_or_else(|e| format!("{e}\n"))
    }

    /// `coverage/show` text: the datapath's event counters summed over
    /// its polling threads, and the drop counters per reason.
    pub fn coverage_text(&self) -> String {
        use datapath::stats::DropReason;
        let counters = lock(&self.dp).pmd_counters();
        let sum = |f: &dyn Fn(&datapath::stats::PmdCounters) -> u64| -> u64 {
            counters.iter().map(f).sum()
        };
        let mut rows: Vec<(String, u64)> = vec![
            ("datapath_packets".into(), sum(&|c| c.packets)),
            ("datapath_emc_hit".into(), sum(&|c| c.emc_hits)),
            ("datapath_megaflow_hit".into(), sum(&|c| c.megaflow_hits)),
            ("datapath_upcall".into(), sum(&|c| c.upcalls)),
            ("datapath_lost_upcall".into(), sum(&|c| c.lost_upcalls)),
            (
                "datapath_flow_limit_hit".into(),
                sum(&|c| c.flow_limit_hits),
            ),
            ("datapath_recirculation".into(), sum(&|c| c.recirculations)),
            ("datapath_flow_expired".into(), sum(&|c| c.expired)),
            ("datapath_flow_revalidated".into(), sum(&|c| c.revalidated)),
            ("datapath_table_version".into(), self.upcalls.version()),
        ];
        for (i, r) in DropReason::ALL.iter().enumerate() {
            rows.push((
                format!("datapath_drop_{}", r.name()),
                counters.iter().map(|c| c.drops[i]).sum(),
            ));
        }
        let mut out = String::from("Event coverage (totals since start):\n");
        for (name, v) in rows {
            out.push_str(&format!("{name:<40} {v:>12}\n"));
        }
        out
    }

    /// `dpif/show` text.
    pub fn show_text(&self) -> String {
        lock(&self.dp).format_show("netdev@ovs-netdev")
    }

    /// `dpif-netdev/pmd-stats-show` text.
    pub fn pmd_stats_text(&self) -> String {
        lock(&self.dp).format_pmd_stats()
    }

    /// Stops the polling threads.
    pub fn shutdown(&self) {
        lock(&self.dp).shutdown();
    }
}
