//! A polling thread's fast path ("PMD", poll-mode driver thread, as Open
//! vSwitch calls it): receive a batch, look every packet up in the EMC, then
//! the megaflow cache, then the upcall handler, and execute the actions with
//! the batch grouped per flow.
//!
//! A [`Pmd`] owns everything it touches per packet: its receive queues, its
//! packet pool, its EMC and megaflow cache, its transmit buffers and
//! counters. Nothing in it is shared with another thread except through:
//! * the port table, an immutable [`Snapshot`] it refreshes once per poll
//!   iteration (an atomic load; a short lock only when it changed);
//! * the upcall handler (`&dyn UpcallHandler`, called on misses only, plus
//!   the meter and userspace hooks);
//! * published counters ([`PmdStats`]: relaxed stores once per iteration;
//!   per-port counters: one atomic add per port per batch);
//! * control messages ([`Control`]) taken between batches, never in the
//!   middle of one.
//!
//! Per packet the fast path allocates nothing (buffers come from and return
//! to the pool, keys live in per-slot storage), takes no lock and never logs;
//! a packet not sent anywhere is counted under a [`DropReason`].
//!
//! Ordering: packets of one flow leave in the order they arrived. Packets of
//! different flows in one batch may be reordered (grouping).
//!
//! Correctness across table changes: every megaflow records the table
//! version it was translated from. [`Control::Revalidate`] makes the thread,
//! between two batches, translate every megaflow older than the given
//! version again and keep it (same mask, actions updated in place) or remove
//! it; the requester's [`Completion`] is signalled after that, so a control
//! plane that publishes its new tables first and then waits for the
//! completion of every thread knows no later packet can use an old result.
//! EMC entries of removed flows go stale by generation.

use crate::actions::DpPort;
use crate::emc::{self, Emc, emc_hash};
use crate::execute::{ExecSink, execute};
use crate::flow::{FlowKey, FlowMask, Offsets, extract_into};
use crate::megaflow::{FlowRef, InsertError, MegaflowCache};
use crate::packet::{BATCH_SIZE, Packet, PacketPool};
use crate::port::{PortTable, RxQueue};
use crate::snapshot::{Cached, Snapshot};
use crate::stats::{DropReason, PmdCounters, PmdStats, PortStats};
use crate::upcall::{Translation, UpcallHandler};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Default idle time after which a megaflow is removed (`max-idle`).
pub const DEFAULT_MAX_IDLE_MS: u64 = 10_000;
/// Default number of megaflows per thread (`flow-limit`).
pub const DEFAULT_FLOW_LIMIT: usize = 200_000;
/// Recirculations a packet may go through before it is dropped.
pub const MAX_RECIRC_DEPTH: u8 = 6;
/// How often (clock milliseconds) a thread expires idle flows and re-ranks
/// its subtables.
pub const MAINTENANCE_INTERVAL_MS: u64 = 1_000;

/// Tunables of one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmdConfig {
    /// EMC size in entries (fixed when the thread is created).
    pub emc_entries: usize,
    /// EMC insertion: 1 in this many megaflow hits (0 disables the EMC).
    pub emc_insert_inv_prob: u32,
    /// Megaflows this thread may hold.
    pub flow_limit: usize,
    /// Idle time after which a megaflow is removed.
    pub max_idle_ms: u64,
}

impl Default for PmdConfig {
    fn default() -> Self {
        PmdConfig {
            emc_entries: emc::DEFAULT_ENTRIES,
            emc_insert_inv_prob: emc::DEFAULT_INSERT_INV_PROB,
            flow_limit: DEFAULT_FLOW_LIMIT,
            max_idle_ms: DEFAULT_MAX_IDLE_MS,
        }
    }
}

/// Where a thread's time comes from: the real monotonic clock, or a value
/// tests move by hand.
#[derive(Debug, Clone)]
pub enum Clock {
    /// Nanoseconds since this instant.
    Real(Instant),
    /// Nanoseconds held in a shared counter.
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// Nanoseconds since the clock's origin.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        match self {
            Clock::Real(t) => t.elapsed().as_nanos() as u64,
            Clock::Manual(v) => v.load(Ordering::Relaxed),
        }
    }
}

/// A count-down completion signalled by polling threads and waited for by
/// the control plane.
#[derive(Debug)]
pub struct Completion {
    remaining: Mutex<usize>,
    cv: Condvar,
}

impl Completion {
    /// A completion expecting `n` signals.
    pub fn new(n: usize) -> Arc<Completion> {
        Arc::new(Completion {
            remaining: Mutex::new(n),
            cv: Condvar::new(),
        })
    }

    /// One signal.
    pub fn signal(&self) {
        let mut r = self
            .remaining
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *r = r.saturating_sub(1);
        if *r == 0 {
            self.cv.notify_all();
        }
    }

    /// True once every signal arrived.
    pub fn is_done(&self) -> bool {
        *self
            .remaining
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            == 0
    }

    /// Waits up to `timeout`; true when complete.
    pub fn wait(&self, timeout: Duration) -> bool {
        let r = self
            .remaining
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (r, _) = self
            .cv
            .wait_timeout_while(r, timeout, |r| *r != 0)
            .unwrap_or_else(PoisonError::into_inner);
        *r == 0
    }
}

/// One receive queue assigned to a thread.
pub struct Rxq {
    /// Port number.
    pub port: DpPort,
    /// Queue index within the port.
    pub queue: usize,
    /// The queue.
    pub rx: Box<dyn RxQueue>,
    /// The port's counters.
    pub stats: Arc<PortStats>,
    /// Nanoseconds spent processing this queue's packets (its load).
    pub busy_ns: Arc<AtomicU64>,
}

impl core::fmt::Debug for Rxq {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rxq")
            .field("port", &self.port)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// One megaflow as `dpctl/dump-flows` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowDump {
    /// The thread that holds it.
    pub pmd: usize,
    /// Key (of the packet that caused the upcall).
    pub key: FlowKey,
    /// Mask.
    pub mask: FlowMask,
    /// Actions.
    pub actions: Vec<crate::actions::Action>,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Milliseconds since last use, `None` if never used.
    pub idle_ms: Option<u64>,
    /// Table version the actions come from.
    pub version: u64,
}

/// A message from the control plane, handled between batches.
pub enum Control {
    /// Translate again every megaflow older than `version`, then signal.
    Revalidate {
        /// Minimum table version a megaflow may keep.
        version: u64,
        /// Signalled when done.
        done: Arc<Completion>,
    },
    /// Remove every megaflow and EMC entry, then signal.
    Flush(Arc<Completion>),
    /// Send a copy of every megaflow.
    Dump(Sender<Vec<FlowDump>>),
    /// New tunables (the EMC size is not changed).
    Configure(PmdConfig),
    /// Start polling a receive queue.
    AddRxq(Rxq),
    /// Stop polling (port, queue) and give it back.
    RemoveRxq(DpPort, usize, Sender<Option<Rxq>>),
    /// Leave the poll loop.
    Exit,
}

impl core::fmt::Debug for Control {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Control::Revalidate { .. } => "Revalidate",
            Control::Flush(_) => "Flush",
            Control::Dump(_) => "Dump",
            Control::Configure(_) => "Configure",
            Control::AddRxq(_) => "AddRxq",
            Control::RemoveRxq(..) => "RemoveRxq",
            Control::Exit => "Exit",
        })
    }
}

const DONE: FlowRef = FlowRef {
    id: u32::MAX,
    generation: 0,
};

/// A polling thread's state. See the module documentation.
pub struct Pmd {
    id: usize,
    handler: Arc<dyn UpcallHandler>,
    port_snap: Arc<Snapshot<PortTable>>,
    ports: Cached<PortTable>,
    cfg: PmdConfig,
    emc: Emc,
    flows: MegaflowCache,
    pool: PacketPool,
    rxqs: Vec<Rxq>,
    rx_batch: Vec<Packet>,
    keys: Box<[FlowKey; BATCH_SIZE]>,
    offs: [Offsets; BATCH_SIZE],
    refs: [FlowRef; BATCH_SIZE],
    meta_dirty: [bool; BATCH_SIZE],
    recirc: Vec<Packet>,
    recirc_work: Vec<Packet>,
    tx: Vec<Vec<Packet>>,
    tx_pending: Vec<DpPort>,
    trans: Translation,
    counters: PmdCounters,
    stats: Arc<PmdStats>,
    clock: Clock,
    now_ns: u64,
    last_maintenance_ms: u64,
    ctl: Option<Receiver<Control>>,
    exit: bool,
}

impl core::fmt::Debug for Pmd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pmd")
            .field("id", &self.id)
            .field("rxqs", &self.rxqs)
            .field("flows", &self.flows.len())
            .finish_non_exhaustive()
    }
}

/// The executor's view of a thread while it runs actions.
struct Sink<'a> {
    pool: &'a mut PacketPool,
    ports: &'a PortTable,
    tx: &'a mut Vec<Vec<Packet>>,
    tx_pending: &'a mut Vec<DpPort>,
    recirc: &'a mut Vec<Packet>,
    handler: &'a dyn UpcallHandler,
    counters: &'a mut PmdCounters,
    qid: usize,
    now_ns: u64,
}

fn flush_port(
    ports: &PortTable,
    port: DpPort,
    q: &mut Vec<Packet>,
    pool: &mut PacketPool,
    counters: &mut PmdCounters,
    qid: usize,
) {
    if q.is_empty() {
        return;
    }
    match ports.get(port) {
        Some(e) => {
            let n = q.len() as u64;
            let bytes: u64 = q.iter().map(|p| p.len() as u64).sum();
            let dropped = e.tx.send(qid, q) as u64;
            e.stats.add_tx(n - dropped.min(n), bytes, dropped);
            counters.drop(DropReason::TxError, dropped);
        }
        None => counters.drop(DropReason::NoPort, q.len() as u64),
    }
    pool.put_all(q);
}

impl ExecSink for Sink<'_> {
    #[inline]
    fn output(&mut self, port: DpPort, pkt: Packet) {
        if self.ports.get(port).is_none() {
            self.counters.drop(DropReason::NoPort, 1);
            self.pool.put(pkt);
            return;
        }
        let Some(q) = self.tx.get_mut(port as usize) else {
            self.counters.drop(DropReason::NoPort, 1);
            self.pool.put(pkt);
            return;
        };
        if q.is_empty() {
            self.tx_pending.push(port);
        }
        q.push(pkt);
        if q.len() >= BATCH_SIZE {
            flush_port(self.ports, port, q, self.pool, self.counters, self.qid);
        }
    }

    #[inline]
    fn copy(&mut self, pkt: &Packet, max_len: usize) -> Packet {
        self.pool.clone_packet(pkt, max_len)
    }

    fn userspace(&mut self, pkt: &Packet, key: &FlowKey, userdata: u64) {
        if !self.handler.userspace(key, pkt.data(), userdata) {
            self.counters.drop(DropReason::UserspaceQueueFull, 1);
        }
    }

    #[inline]
    fn meter(&mut self, id: u32, pkt: &Packet) -> bool {
        self.handler.meter(id, pkt.len(), self.now_ns)
    }

    fn recirculate(&mut self, pkt: Packet) {
        self.recirc.push(pkt);
    }

    #[inline]
    fn drop(&mut self, pkt: Packet, reason: DropReason) {
        self.counters.drop(reason, 1);
        self.pool.put(pkt);
    }

    #[inline]
    fn recycle(&mut self, pkt: Packet) {
        self.pool.put(pkt);
    }
}

impl Pmd {
    /// A thread state with no receive queue.
    pub fn new(
        id: usize,
        cfg: PmdConfig,
        handler: Arc<dyn UpcallHandler>,
        ports: Arc<Snapshot<PortTable>>,
        clock: Clock,
    ) -> Pmd {
        let cached = ports.cached();
        let span = cached.get().span();
        Pmd {
            id,
            handler,
            port_snap: ports,
            ports: cached,
            cfg,
            emc: Emc::new(cfg.emc_entries, cfg.emc_insert_inv_prob),
            flows: MegaflowCache::new(cfg.flow_limit),
            pool: PacketPool::with_buffers(4 * BATCH_SIZE),
            rxqs: Vec::new(),
            rx_batch: Vec::with_capacity(BATCH_SIZE),
            keys: Box::new([FlowKey::ZERO; BATCH_SIZE]),
            offs: [Offsets::EMPTY; BATCH_SIZE],
            refs: [DONE; BATCH_SIZE],
            meta_dirty: [false; BATCH_SIZE],
            recirc: Vec::with_capacity(BATCH_SIZE),
            recirc_work: Vec::with_capacity(BATCH_SIZE),
            tx: (0..span).map(|_| Vec::with_capacity(BATCH_SIZE)).collect(),
            tx_pending: Vec::with_capacity(16),
            trans: Translation::default(),
            counters: PmdCounters::default(),
            stats: Arc::new(PmdStats::default()),
            clock,
            now_ns: 0,
            last_maintenance_ms: 0,
            ctl: None,
            exit: false,
        }
    }

    /// Attaches the control channel the thread drains between batches.
    pub fn set_control(&mut self, rx: Receiver<Control>) {
        self.ctl = Some(rx);
    }

    /// The thread's index (also its transmit queue id).
    pub fn id(&self) -> usize {
        self.id
    }

    /// The published counters.
    pub fn stats(&self) -> Arc<PmdStats> {
        self.stats.clone()
    }

    /// The live counters.
    pub fn counters(&self) -> &PmdCounters {
        &self.counters
    }

    /// The megaflow cache (read-only; tests and dumps).
    pub fn flows(&self) -> &MegaflowCache {
        &self.flows
    }

    /// Live EMC entries.
    pub fn emc_live(&self) -> usize {
        let flows = &self.flows;
        self.emc.count_live(|r| flows.get_live(r).is_some())
    }

    /// The packet pool (to check that steady traffic allocates nothing).
    pub fn pool(&self) -> &PacketPool {
        &self.pool
    }

    /// True after [`Control::Exit`].
    pub fn exiting(&self) -> bool {
        self.exit
    }

    /// Starts polling `rxq`.
    pub fn add_rxq(&mut self, rxq: Rxq) {
        self.rxqs.push(rxq);
    }

    /// The assigned (port, queue) pairs.
    pub fn rxq_ids(&self) -> Vec<(DpPort, usize)> {
        self.rxqs.iter().map(|r| (r.port, r.queue)).collect()
    }

    fn now_ms(&self) -> u64 {
        self.now_ns / 1_000_000
    }

    /// One poll iteration: control messages, snapshot refresh, every
    /// receive queue once, maintenance when due, counters published.
    /// Returns the packets received.
    pub fn poll_once(&mut self) -> usize {
        self.drain_control();
        if self.ports.refresh(&self.port_snap) {
            self.sync_tx_slots();
        }
        self.now_ns = self.clock.now_ns();
        let mut total = 0;
        for qi in 0..self.rxqs.len() {
            let mut batch = core::mem::take(&mut self.rx_batch);
            let rxq = &mut self.rxqs[qi];
            let n = rxq.rx.recv(&mut self.pool, &mut batch, BATCH_SIZE);
            if n == 0 {
                self.rx_batch = batch;
                continue;
            }
            let start = Instant::now();
            let (port, stats) = (rxq.port, rxq.stats.clone());
            let mut bytes = 0;
            for p in batch.iter_mut() {
                p.meta.in_port = port;
                bytes += p.len() as u64;
            }
            stats.add_rx(n as u64, bytes);
            self.counters.packets += n as u64;
            self.process(&mut batch);
            self.rx_batch = batch;
            self.run_recirculations();
            self.flush_tx();
            let spent = start.elapsed().as_nanos() as u64;
            self.counters.busy_ns += spent;
            self.rxqs[qi].busy_ns.fetch_add(spent, Ordering::Relaxed);
            total += n;
        }
        self.counters.iterations += 1;
        if total == 0 {
            self.counters.idle_iterations += 1;
        }
        let now_ms = self.now_ms();
        if now_ms >= self.last_maintenance_ms + MAINTENANCE_INTERVAL_MS {
            self.last_maintenance_ms = now_ms;
            self.maintenance(now_ms);
        }
        self.stats.publish(&self.counters);
        total
    }

    /// Expires idle flows and re-ranks subtables.
    fn maintenance(&mut self, now_ms: u64) {
        let n = self.flows.expire(now_ms, self.cfg.max_idle_ms);
        self.counters.expired += n as u64;
        self.flows.rank();
    }

    fn sync_tx_slots(&mut self) {
        let span = self.ports.get().span();
        // Flush what is queued for ports that may have gone.
        self.flush_tx();
        while self.tx.len() < span {
            self.tx.push(Vec::with_capacity(BATCH_SIZE));
        }
    }

    /// Handles every waiting control message.
    pub fn drain_control(&mut self) {
        let Some(rx) = self.ctl.take() else { return };
        while let Ok(msg) = rx.try_recv() {
            self.control(msg);
        }
        self.ctl = Some(rx);
    }

    /// Handles one control message.
    pub fn control(&mut self, msg: Control) {
        match msg {
            Control::Revalidate { version, done } => {
                self.revalidate(version);
                self.stats.publish(&self.counters);
                done.signal();
            }
            Control::Flush(done) => {
                self.flows.clear();
                self.emc.clear();
                done.signal();
            }
            Control::Dump(reply) => {
                let _ = reply.send(self.dump());
            }
            Control::Configure(cfg) => {
                self.cfg = PmdConfig {
                    emc_entries: self.cfg.emc_entries,
                    ..cfg
                };
                self.emc.set_insert_inv_prob(cfg.emc_insert_inv_prob);
                self.flows.set_limit(cfg.flow_limit);
            }
            Control::AddRxq(q) => self.rxqs.push(q),
            Control::RemoveRxq(port, queue, reply) => {
                let q = self
                    .rxqs
                    .iter()
                    .position(|r| r.port == port && r.queue == queue)
                    .map(|i| self.rxqs.remove(i));
                let _ = reply.send(q);
            }
            Control::Exit => self.exit = true,
        }
    }

    /// Every megaflow of this thread.
    pub fn dump(&self) -> Vec<FlowDump> {
        let now = self.clock.now_ns() / 1_000_000;
        self.flows
            .iter()
            .map(|(_, f)| FlowDump {
                pmd: self.id,
                key: f.key,
                mask: f.mask,
                actions: f.actions.to_vec(),
                packets: f.packets,
                bytes: f.bytes,
                idle_ms: f.ever_used.then(|| now.saturating_sub(f.used_ms)),
                version: f.version,
            })
            .collect()
    }

    /// Translates again every megaflow older than `version`: kept with
    /// updated actions when the mask is unchanged, removed otherwise (or
    /// when translation fails or is not cacheable).
    pub fn revalidate(&mut self, version: u64) {
        let ids: Vec<u32> = self
            .flows
            .iter()
            .filter(|(_, f)| f.version < version)
            .map(|(id, _)| id)
            .collect();
        for id in ids {
            let Some(f) = self.flows.get(id) else {
                continue;
            };
            let key = f.key;
            self.trans.clear();
            let ok = self.handler.translate(&key, None, &mut self.trans).is_ok();
            normalize_mask(&mut self.trans.mask);
            let keep = ok
                && self.trans.cacheable
                && self
                    .flows
                    .get(id)
                    .is_some_and(|f| f.mask == self.trans.mask);
            if keep {
                if let Some(f) = self.flows.get_mut(id) {
                    if *f.actions != self.trans.actions[..] {
                        f.actions = self.trans.actions.as_slice().into();
                        self.counters.revalidated += 1;
                    }
                    f.version = self.trans.version;
                }
            } else {
                self.flows.remove(id);
                self.counters.revalidated += 1;
            }
        }
    }

    /// Processes packets that are not from a receive queue (tests,
    /// benchmarks, packets injected by the control plane): `pkts` must hold
    /// at most [`BATCH_SIZE`] packets whose `meta.in_port` is set. Runs
    /// recirculations and flushes transmit queues.
    pub fn process_batch(&mut self, pkts: &mut Vec<Packet>) {
        self.now_ns = self.clock.now_ns();
        if self.ports.refresh(&self.port_snap) {
            self.sync_tx_slots();
        }
        while !pkts.is_empty() {
            let take = pkts.len().min(BATCH_SIZE);
            let mut chunk = core::mem::take(&mut self.rx_batch);
            chunk.extend(pkts.drain(..take));
            self.counters.packets += take as u64;
            self.process(&mut chunk);
            self.rx_batch = chunk;
        }
        self.run_recirculations();
        self.flush_tx();
        self.stats.publish(&self.counters);
    }

    fn run_recirculations(&mut self) {
        while !self.recirc.is_empty() {
            let mut work = core::mem::take(&mut self.recirc_work);
            let take = self.recirc.len().min(BATCH_SIZE);
            for mut p in self.recirc.drain(..take) {
                p.meta.recirc_depth = p.meta.recirc_depth.saturating_add(1);
                if p.meta.recirc_depth > MAX_RECIRC_DEPTH {
                    self.counters.drop(DropReason::RecircDepth, 1);
                    self.pool.put(p);
                } else {
                    work.push(p);
                }
            }
            self.counters.recirculations += work.len() as u64;
            self.process(&mut work);
            self.recirc_work = work;
        }
    }

    /// Sends every buffered packet.
    fn flush_tx(&mut self) {
        let ports = self.ports.get().clone();
        for port in self.tx_pending.drain(..) {
            if let Some(q) = self.tx.get_mut(port as usize) {
                flush_port(&ports, port, q, &mut self.pool, &mut self.counters, self.id);
            }
        }
    }

    /// Classifies and executes up to [`BATCH_SIZE`] packets; leaves `pkts`
    /// empty.
    fn process(&mut self, pkts: &mut Vec<Packet>) {
        let n = pkts.len().min(BATCH_SIZE);
        // 1. Keys.
        for (i, p) in pkts.iter().enumerate().take(n) {
            let key = &mut self.keys[i];
            let m = &p.meta;
            if m.is_plain() {
                if self.meta_dirty[i] {
                    key.clear_metadata();
                    self.meta_dirty[i] = false;
                }
            } else {
                key.clear_metadata();
                key.recirc_id = m.recirc_id;
                key.dp_hash = m.dp_hash;
                key.skb_priority = m.skb_priority;
                key.pkt_mark = m.pkt_mark;
                key.tun_id = m.tun_id;
                self.meta_dirty[i] = true;
            }
            extract_into(p.data(), m.in_port, key, &mut self.offs[i]);
        }
        // 2. Lookups: EMC for each packet, then the megaflow cache for the
        // misses of the batch together, then upcalls one by one (a later
        // packet of the same flow hits the megaflow the first installed).
        let emc_on = self.emc.enabled();
        let mut todo: u32 = if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
        let mut hashes = [0u32; BATCH_SIZE];
        if emc_on {
            for (i, slot) in hashes.iter_mut().enumerate().take(n) {
                let key = &self.keys[i];
                let h = emc_hash(key);
                *slot = h;
                if let Some(r) = self.emc.lookup(key, h)
                    && self.flows.get_live(r).is_some()
                {
                    self.refs[i] = r;
                    todo &= !(1 << i);
                }
            }
            self.counters.emc_hits += u64::from(n as u32 - todo.count_ones());
        }
        if todo != 0 {
            let before = todo;
            todo = self
                .flows
                .lookup_batch(&self.keys[..n], todo, &mut self.refs[..n]);
            let mut hits = before & !todo;
            self.counters.megaflow_hits += u64::from(hits.count_ones());
            while emc_on && hits != 0 {
                let i = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                let flows = &self.flows;
                self.emc
                    .maybe_insert(&self.keys[i], hashes[i], self.refs[i], |x| {
                        flows.get_live(x).is_some()
                    });
            }
        }
        while todo != 0 {
            let i = todo.trailing_zeros() as usize;
            todo &= todo - 1;
            if let Some(r) = self.flows.lookup(&self.keys[i]) {
                self.refs[i] = r;
                self.counters.megaflow_hits += 1;
                continue;
            }
            self.upcall(i, pkts);
        }
        // 3. Execute, grouped per flow.
        let now_ms = self.now_ms();
        let Pmd {
            flows,
            pool,
            ports,
            tx,
            tx_pending,
            recirc,
            handler,
            counters,
            keys,
            offs,
            refs,
            ..
        } = self;
        let mut sink = Sink {
            pool,
            ports: ports.get(),
            tx,
            tx_pending,
            recirc,
            handler: &**handler,
            counters,
            qid: self.id,
            now_ns: self.now_ns,
        };
        for i in 0..n {
            let r = refs[i];
            if r == DONE {
                continue;
            }
            let Some(flow) = flows.get_live(r) else {
                let p = core::mem::take(&mut pkts[i]);
                sink.drop(p, DropReason::UpcallError);
                continue;
            };
            let (mut packets, mut bytes) = (0u64, 0u64);
            for j in i..n {
                if refs[j] != r {
                    continue;
                }
                refs[j] = DONE;
                let p = core::mem::take(&mut pkts[j]);
                packets += 1;
                bytes += p.len() as u64;
                execute(&flow.actions, p, &keys[j], offs[j], &mut sink);
            }
            if let Some(f) = flows.get_mut(r.id) {
                f.packets += packets;
                f.bytes += bytes;
                f.used_ms = now_ms;
                f.ever_used = true;
            }
        }
        pkts.clear();
    }

    /// A miss: translate, install, and either leave the packet for the
    /// grouped execution (installed) or execute it now (not installed).
    fn upcall(&mut self, i: usize, pkts: &mut [Packet]) {
        self.counters.upcalls += 1;
        self.trans.clear();
        let res = self
            .handler
            .translate(&self.keys[i], Some(pkts[i].data()), &mut self.trans);
        if res.is_err() {
            self.counters.lost_upcalls += 1;
            self.counters.drop(DropReason::UpcallError, 1);
            self.pool.put(core::mem::take(&mut pkts[i]));
            self.refs[i] = DONE;
            return;
        }
        normalize_mask(&mut self.trans.mask);
        if self.trans.cacheable {
            match self.flows.insert(
                &self.keys[i],
                &self.trans.mask,
                &self.trans.actions,
                self.trans.version,
                self.now_ms(),
            ) {
                Ok(r) => {
                    self.refs[i] = r;
                    return;
                }
                Err(InsertError::Full) => self.counters.flow_limit_hits += 1,
                Err(InsertError::Exists(_)) => {}
            }
        }
        // Not installed: run this packet with the fresh result now.
        self.refs[i] = DONE;
        let p = core::mem::take(&mut pkts[i]);
        let ports = self.ports.get().clone();
        let mut sink = Sink {
            pool: &mut self.pool,
            ports: &ports,
            tx: &mut self.tx,
            tx_pending: &mut self.tx_pending,
            recirc: &mut self.recirc,
            handler: &*self.handler,
            counters: &mut self.counters,
            qid: self.id,
            now_ns: self.now_ns,
        };
        execute(
            &self.trans.actions,
            p,
            &self.keys[i],
            self.offs[i],
            &mut sink,
        );
    }
}

/// The bits every megaflow matches on, whatever translation read.
fn normalize_mask(mask: &mut FlowMask) {
    mask.recirc_id = u32::MAX;
    mask.in_port = u32::MAX;
}

#[cfg(test)]
pub(crate) mod tests;
