//! A polling thread's fast path ("PMD", poll-mode driver thread, as Open
//! vSwitch calls it): receive a batch, look every packet up in the EMC, then
//! the megaflow cache, then the upcall handler, and execute the actions with
//! the batch grouped per flow.
//!
//! A [`Pmd`] owns everything it touches per packet: its receive queues, its
//! receive and recirculation batches, its EMC and megaflow cache, its
//! transmit batches and counters. Nothing in it is shared with another
//! thread except through:
//! * the ports' transmit queues ([`crate::port::TxQueues`]: a lock per
//!   batch);
//! * the port table, an immutable [`Snapshot`] it refreshes once per poll
//!   iteration (an atomic load; a short lock only when it changed);
//! * the upcall handler (`&dyn UpcallHandler`, called on misses only, plus
//!   the meter and userspace hooks);
//! * published counters ([`PmdStats`]: relaxed stores once per iteration;
//!   per-port counters: one atomic add per port per batch);
//! * control messages ([`Control`]) taken between batches, never in the
//!   middle of one.
//!
//! Per packet the fast path allocates nothing (packets move between the
//! netdev layer's batches by buffer exchange, copies go into preallocated
//! batch buffers, keys live in per-slot storage), takes no lock (a port's
//! transmit queue lock is taken once per batch) and never logs; a packet not
//! sent anywhere is counted under a [`DropReason`]. A thread makes its
//! transmit batches on demand, at most [`TX_BATCHES`], once.
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
use crate::netdev::{QueueError, RxQueue};
use crate::packet::{BATCH_SIZE, Batch, Packet, PacketMeta};
use crate::port::PortTable;
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
/// Transmit batches a thread keeps (each 32 full-size buffers, 2 MiB):
/// packets for more ports than this in one receive batch make the oldest
/// port's batch go out early. Bounds a thread's memory whatever the number
/// of ports.
pub const TX_BATCHES: usize = 8;
/// Under load, a receive queue found empty is skipped for the next 1, 2, 4
/// ... up to this many iterations (reset when it delivers): an idle port
/// next to a busy one costs a `read`/`recvmmsg` per [`RXQ_MAX_BACKOFF`]
/// iterations instead of one per iteration. An idle thread polls every queue
/// every iteration.
pub const RXQ_MAX_BACKOFF: u32 = 8;
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
    /// Set when the device went away: the queue is no longer polled.
    pub gone: bool,
    /// Busy iterations to skip this queue for, and the current backoff
    /// (see [`RXQ_MAX_BACKOFF`]).
    skip: u32,
    backoff: u32,
}

impl Rxq {
    /// A queue of `port` to be polled.
    pub fn new(port: DpPort, queue: usize, rx: Box<dyn RxQueue>, stats: Arc<PortStats>) -> Rxq {
        Rxq {
            port,
            queue,
            rx,
            stats,
            busy_ns: Arc::new(AtomicU64::new(0)),
            gone: false,
            skip: 0,
            backoff: 0,
        }
    }
}

impl core::fmt::Debug for Rxq {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rxq")
            .field("port", &self.port)
            .field("queue", &self.queue)
            .field("gone", &self.gone)
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

/// What one megaflow forwarded since the previous statistics sweep
/// ([`Control::SweepStats`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowDelta {
    /// The thread that holds it.
    pub pmd: usize,
    /// The megaflow: the same reference for its whole life, never reused
    /// for another flow of this thread.
    pub flow: FlowRef,
    /// Key (of the packet that caused the upcall).
    pub key: FlowKey,
    /// Packets since the previous sweep.
    pub packets: u64,
    /// Bytes since the previous sweep.
    pub bytes: u64,
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
    /// Send what every megaflow that forwarded packets since the previous
    /// sweep forwarded in between (much lighter than a dump: no mask, no
    /// actions, idle flows skipped).
    SweepStats(Sender<Vec<FlowDelta>>),
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
            Control::SweepStats(_) => "SweepStats",
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

/// A batch with the metadata of each of its packets.
#[derive(Debug)]
struct Slots {
    batch: Batch,
    meta: [PacketMeta; BATCH_SIZE],
}

impl Slots {
    fn new() -> Box<Slots> {
        Box::new(Slots {
            batch: Batch::default(),
            meta: [PacketMeta::default(); BATCH_SIZE],
        })
    }
}

/// A polling thread's state. See the module documentation.
pub struct Pmd {
    id: usize,
    handler: Arc<dyn UpcallHandler>,
    port_snap: Arc<Snapshot<PortTable>>,
    ports: Cached<PortTable>,
    cfg: PmdConfig,
    emc: Emc,
    flows: MegaflowCache,
    rxqs: Vec<Rxq>,
    /// Receive batch; recirculation queue; recirculation work batch.
    rx: Option<Box<Slots>>,
    recirc: Option<Box<Slots>>,
    work: Option<Box<Slots>>,
    keys: Box<[FlowKey; BATCH_SIZE]>,
    offs: [Offsets; BATCH_SIZE],
    refs: [FlowRef; BATCH_SIZE],
    meta_dirty: [bool; BATCH_SIZE],
    /// Transmit batches in use, one per port with packets waiting (at most
    /// [`TX_BATCHES`]), and spare ones.
    tx: Vec<(DpPort, Batch)>,
    tx_free: Vec<Batch>,
    trans: Translation,
    counters: PmdCounters,
    stats: Arc<PmdStats>,
    clock: Clock,
    now_ns: u64,
    last_maintenance_ms: u64,
    /// Packets the previous iteration received (0: idle, no queue skipped).
    last_total: usize,
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
    ports: &'a PortTable,
    tx: &'a mut Vec<(DpPort, Batch)>,
    tx_free: &'a mut Vec<Batch>,
    recirc: &'a mut Slots,
    handler: &'a dyn UpcallHandler,
    counters: &'a mut PmdCounters,
    qid: usize,
    now_ns: u64,
}

/// Sends a port's transmit batch and counts.
fn flush_port(
    ports: &PortTable,
    port: DpPort,
    b: &mut Batch,
    counters: &mut PmdCounters,
    qid: usize,
) {
    if b.is_empty() {
        return;
    }
    let n = b.len() as u64;
    match ports.get(port) {
        Some(e) => {
            let bytes: u64 = b.packets().iter().map(|p| p.len() as u64).sum();
            let (dropped, _gone) = e.tx.send(qid, b);
            let dropped = dropped as u64;
            e.stats.add_tx(n - dropped.min(n), bytes, dropped);
            counters.drop(DropReason::TxError, dropped);
        }
        None => {
            counters.drop(DropReason::NoPort, n);
            b.clear();
        }
    }
}

impl ExecSink for Sink<'_> {
    #[inline]
    fn output(&mut self, port: DpPort, pkt: &mut Packet, take: bool, max_len: usize) {
        if self.ports.get(port).is_none() {
            self.counters.drop(DropReason::NoPort, 1);
            return;
        }
        let i = match self.tx.iter().position(|(p, _)| *p == port) {
            Some(i) => i,
            None => {
                if self.tx.len() >= TX_BATCHES {
                    // Every batch is in use: send the oldest port's now.
                    let (p, mut b) = self.tx.remove(0);
                    flush_port(self.ports, p, &mut b, self.counters, self.qid);
                    self.tx_free.push(b);
                }
                // Spare batches are made on demand, at most TX_BATCHES.
                let b = self.tx_free.pop().unwrap_or_default();
                self.tx.push((port, b));
                self.tx.len() - 1
            }
        };
        let b = &mut self.tx[i].1;
        if b.is_full() {
            flush_port(self.ports, port, b, self.counters, self.qid);
        }
        let ok = if take {
            b.push_swap(pkt)
        } else if max_len < pkt.len() {
            b.push_copy(&pkt.data()[..max_len], Default::default())
        } else {
            b.push_copy(pkt.data(), pkt.offload)
        };
        if !ok {
            self.counters.drop(DropReason::TxError, 1);
        }
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

    fn recirculate(&mut self, pkt: &mut Packet, meta: &PacketMeta, take: bool) {
        if meta.recirc_depth >= MAX_RECIRC_DEPTH {
            self.counters.drop(DropReason::RecircDepth, 1);
            return;
        }
        let r = &mut *self.recirc;
        let idx = r.batch.len();
        let ok = if take {
            r.batch.push_swap(pkt)
        } else {
            r.batch.push_copy(pkt.data(), pkt.offload)
        };
        if !ok {
            self.counters.drop(DropReason::RecircQueueFull, 1);
            return;
        }
        r.meta[idx] = PacketMeta {
            recirc_depth: meta.recirc_depth + 1,
            ..*meta
        };
    }

    #[inline]
    fn drop(&mut self, reason: DropReason) {
        self.counters.drop(reason, 1);
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
        Pmd {
            id,
            handler,
            port_snap: ports,
            ports: cached,
            cfg,
            emc: Emc::new(cfg.emc_entries, cfg.emc_insert_inv_prob),
            flows: MegaflowCache::new(cfg.flow_limit),
            rxqs: Vec::new(),
            rx: Some(Slots::new()),
            recirc: Some(Slots::new()),
            work: Some(Slots::new()),
            keys: Box::new([FlowKey::ZERO; BATCH_SIZE]),
            offs: [Offsets::EMPTY; BATCH_SIZE],
            refs: [DONE; BATCH_SIZE],
            meta_dirty: [false; BATCH_SIZE],
            tx: Vec::with_capacity(TX_BATCHES),
            tx_free: Vec::with_capacity(TX_BATCHES),
            trans: Translation::default(),
            counters: PmdCounters::default(),
            stats: Arc::new(PmdStats::default()),
            clock,
            now_ns: 0,
            last_maintenance_ms: 0,
            last_total: 0,
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

    /// True after [`Control::Exit`].
    pub fn exiting(&self) -> bool {
        self.exit
    }

    /// Starts polling `rxq`.
    pub fn add_rxq(&mut self, rxq: Rxq) {
        self.rxqs.push(rxq);
    }

    /// Fills `out` with the receive queues' wake-up descriptors; false when
    /// some queue has none (it must be polled, not waited for).
    pub fn rx_fds(&self, out: &mut Vec<std::os::fd::RawFd>) -> bool {
        out.clear();
        for q in self.rxqs.iter().filter(|q| !q.gone) {
            match q.rx.fd() {
                Some(fd) => out.push(fd),
                None => return false,
            }
        }
        true
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
            self.flush_tx();
        }
        self.now_ns = self.clock.now_ns();
        let mut total = 0;
        let busy = self.last_total > 0;
        for qi in 0..self.rxqs.len() {
            let rxq = &mut self.rxqs[qi];
            if busy && rxq.skip > 0 {
                rxq.skip -= 1;
                continue;
            }
            let Some(mut cur) = self.rx.take() else { break };
            cur.batch.clear();
            let n = if rxq.gone {
                0
            } else {
                match rxq.rx.recv(&mut cur.batch) {
                    Ok(n) => n.min(cur.batch.len()),
                    Err(QueueError::Gone) => {
                        rxq.gone = true;
                        0
                    }
                    Err(QueueError::Os(_)) => 0,
                }
            };
            if n == 0 {
                rxq.backoff = (rxq.backoff * 2).clamp(1, RXQ_MAX_BACKOFF);
                rxq.skip = rxq.backoff;
                self.rx = Some(cur);
                continue;
            }
            rxq.backoff = 0;
            rxq.skip = 0;
            let start = Instant::now();
            let port = rxq.port;
            let mut bytes = 0;
            for (m, p) in cur.meta.iter_mut().zip(cur.batch.packets()) {
                *m = PacketMeta::from_port(port);
                bytes += p.len() as u64;
            }
            rxq.stats.add_rx(n as u64, bytes);
            self.counters.packets += n as u64;
            self.process(&mut cur);
            self.rx = Some(cur);
            self.run_recirculations();
            self.flush_tx();
            let spent = start.elapsed().as_nanos() as u64;
            self.counters.busy_ns += spent;
            self.rxqs[qi].busy_ns.fetch_add(spent, Ordering::Relaxed);
            total += n;
        }
        self.counters.iterations += 1;
        self.last_total = total;
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
            Control::SweepStats(reply) => {
                let _ = reply.send(self.sweep_stats());
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

    /// What each megaflow forwarded since the previous call, for the flows
    /// that forwarded anything (see [`Control::SweepStats`]).
    pub fn sweep_stats(&mut self) -> Vec<FlowDelta> {
        let pmd = self.id;
        self.flows
            .iter_mut()
            .filter_map(|(r, f)| {
                let (p, b) = f.swept;
                if f.packets == p && f.bytes == b {
                    return None;
                }
                f.swept = (f.packets, f.bytes);
                Some(FlowDelta {
                    pmd,
                    flow: r,
                    key: f.key,
                    packets: f.packets.wrapping_sub(p),
                    bytes: f.bytes.wrapping_sub(b),
                })
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

    /// Processes the packets of `batch` (at most [`BATCH_SIZE`]) as if
    /// received on `in_port` (tests, benchmarks, packets the control plane
    /// injects): lookups, actions, recirculations, transmission. Leaves the
    /// batch empty (its buffers may have been exchanged).
    pub fn process_batch(&mut self, batch: &mut Batch, in_port: DpPort) {
        self.now_ns = self.clock.now_ns();
        if self.ports.refresh(&self.port_snap) {
            self.flush_tx();
        }
        if let Some(mut cur) = self.rx.take() {
            core::mem::swap(&mut cur.batch, batch);
            for m in cur.meta.iter_mut() {
                *m = PacketMeta::from_port(in_port);
            }
            self.counters.packets += cur.batch.len() as u64;
            self.process(&mut cur);
            core::mem::swap(&mut cur.batch, batch);
            self.rx = Some(cur);
        }
        batch.clear();
        self.run_recirculations();
        self.flush_tx();
        self.stats.publish(&self.counters);
    }

    fn run_recirculations(&mut self) {
        loop {
            match &self.recirc {
                Some(r) if !r.batch.is_empty() => {}
                _ => return,
            }
            core::mem::swap(&mut self.recirc, &mut self.work);
            let Some(mut cur) = self.work.take() else {
                return;
            };
            self.counters.recirculations += cur.batch.len() as u64;
            self.process(&mut cur);
            self.work = Some(cur);
        }
    }

    /// Sends every buffered packet.
    fn flush_tx(&mut self) {
        let ports = self.ports.get().clone();
        for (port, mut b) in self.tx.drain(..) {
            flush_port(&ports, port, &mut b, &mut self.counters, self.id);
            self.tx_free.push(b);
        }
    }

    /// Classifies and executes the packets of `cur`; leaves it empty.
    fn process(&mut self, cur: &mut Slots) {
        let n = cur.batch.len().min(BATCH_SIZE);
        // 1. Keys.
        for (i, p) in cur.batch.packets().iter().enumerate().take(n) {
            let key = &mut self.keys[i];
            let m = &cur.meta[i];
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
                let hit = if cur.meta[i].is_plain() {
                    self.emc.lookup_plain(key, h)
                } else {
                    self.emc.lookup(key, h)
                };
                if let Some(r) = hit
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
            self.upcall(i, cur);
        }
        // 3. Execute, grouped per flow.
        let now_ms = self.now_ms();
        let Some(recirc) = self.recirc.as_deref_mut() else {
            cur.batch.clear();
            return;
        };
        let Pmd {
            flows,
            ports,
            tx,
            tx_free,
            handler,
            counters,
            keys,
            offs,
            refs,
            ..
        } = self;
        let mut sink = Sink {
            ports: ports.get(),
            tx,
            tx_free,
            recirc,
            handler: &**handler,
            counters,
            qid: self.id,
            now_ns: self.now_ns,
        };
        let pkts = cur.batch.packets_mut();
        for i in 0..n {
            let r = refs[i];
            if r == DONE {
                continue;
            }
            let Some(flow) = flows.get_live(r) else {
                sink.drop(DropReason::UpcallError);
                continue;
            };
            let (mut packets, mut bytes) = (0u64, 0u64);
            for j in i..n {
                if refs[j] != r {
                    continue;
                }
                refs[j] = DONE;
                packets += 1;
                bytes += pkts[j].len() as u64;
                execute(
                    &flow.actions,
                    &mut pkts[j],
                    &mut cur.meta[j],
                    &keys[j],
                    offs[j],
                    &mut sink,
                );
            }
            if let Some(f) = flows.get_mut(r.id) {
                f.packets += packets;
                f.bytes += bytes;
                f.used_ms = now_ms;
                f.ever_used = true;
            }
        }
        cur.batch.clear();
    }

    /// A miss: translate, install, and either leave the packet for the
    /// grouped execution (installed) or execute it now (not installed).
    fn upcall(&mut self, i: usize, cur: &mut Slots) {
        self.counters.upcalls += 1;
        self.trans.clear();
        let pkt_data = cur.batch.packets().get(i).map(|p| p.data());
        let res = self
            .handler
            .translate(&self.keys[i], pkt_data, &mut self.trans);
        self.refs[i] = DONE;
        if res.is_err() {
            self.counters.lost_upcalls += 1;
            self.counters.drop(DropReason::UpcallError, 1);
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
        let ports = self.ports.get().clone();
        let Some(recirc) = self.recirc.as_deref_mut() else {
            return;
        };
        let mut sink = Sink {
            ports: &ports,
            tx: &mut self.tx,
            tx_free: &mut self.tx_free,
            recirc,
            handler: &*self.handler,
            counters: &mut self.counters,
            qid: self.id,
            now_ns: self.now_ns,
        };
        if let Some(p) = cur.batch.packets_mut().get_mut(i) {
            execute(
                &self.trans.actions,
                p,
                &mut cur.meta[i],
                &self.keys[i],
                self.offs[i],
                &mut sink,
            );
        }
    }
}

/// The bits every megaflow matches on, whatever translation read.
fn normalize_mask(mask: &mut FlowMask) {
    mask.recirc_id = u32::MAX;
    mask.in_port = u32::MAX;
}

pub mod wait;

#[cfg(test)]
pub(crate) mod tests;
