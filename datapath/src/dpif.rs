//! The datapath as the control plane sees it: polling threads, ports and
//! their receive queues, revalidation, and the observability texts
//! (`dpctl/dump-flows`, `dpctl/show`, `dpif-netdev/pmd-stats-show`).
//!
//! A [`Datapath`] starts a configurable number of polling threads, each
//! running a [`Pmd`] in a loop. Receive queues are assigned to threads
//! round-robin when a port is added, and can be re-spread by measured load
//! ([`Datapath::rebalance`]). The port table reaches the threads as an
//! atomically swapped [`Snapshot`]; everything else goes through a control
//! channel that threads drain between batches (a thread that sleeps is woken
//! by an unpark). So the control plane never blocks a polling thread, and a
//! polling thread never waits for the control plane.
//!
//! Table changes: after the OpenFlow side has published new tables at
//! version `v`, [`Datapath::revalidate`] asks every thread to translate
//! again the megaflows computed from older versions and returns a
//! [`Completion`]; once it completes (`wait`, or poll `is_done` from async
//! code), no packet is forwarded by an entry computed from the old tables,
//! so the barrier reply can go out.
//!
//! Idle policy: a thread busy-polls, or after a number of empty iterations
//! sleeps: in `poll(2)` on its receive queues' descriptors and a wake-up
//! eventfd (so a packet or a control message wakes it at once), or, when a
//! queue has no descriptor, parked for the sleep time (woken early by
//! control messages).
//!
//! Methods that wait for threads (`dump_flows`, port removal, rebalancing)
//! wait at most [`CONTROL_TIMEOUT`]; they are for the control plane only.

use crate::actions::{Action, ActionList, DpPort};
use crate::execute::{ExecSink, execute};
use crate::flow::{FlowKey, Offsets, extract_into, format};
use crate::netdev::{Netdev, RxQueue, TxQueue};
use crate::packet::{Batch, Packet, PacketMeta};
use crate::pmd::MAX_RECIRC_DEPTH;
use crate::pmd::wait::{Waker, wait};
use crate::pmd::{Clock, Completion, Control, FlowDelta, FlowDump, Pmd, PmdConfig, Rxq};
use crate::port::{MAX_PORTS, PortEntry, PortTable, TxQueues};
use crate::snapshot::Snapshot;
use crate::stats::{DropReason, PmdCounters, PmdStats, PortStats};
use crate::upcall::Translation;
use crate::upcall::UpcallHandler;
use core::fmt::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest a control-plane call waits for a polling thread.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// What a polling thread does when it finds nothing to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdlePolicy {
    /// Poll again at once (lowest latency, a whole core).
    BusyPoll,
    /// After `after` empty iterations, sleep up to `sleep` (woken early by
    /// packets on queues that have a descriptor, and by control messages).
    Sleep {
        /// Empty iterations before sleeping.
        after: u32,
        /// Sleep length.
        sleep: Duration,
    },
}

/// Datapath configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatapathConfig {
    /// Number of polling threads (at least 1).
    pub threads: usize,
    /// Per-thread tunables.
    pub pmd: PmdConfig,
    /// Idle behaviour.
    pub idle: IdlePolicy,
}

impl Default for DatapathConfig {
    fn default() -> Self {
        DatapathConfig {
            threads: 1,
            pmd: PmdConfig::default(),
            idle: IdlePolicy::Sleep {
                after: 64,
                sleep: Duration::from_millis(1),
            },
        }
    }
}

/// Errors of the control-plane API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpError {
    /// The port number is in use.
    PortExists(DpPort),
    /// No such port.
    NoSuchPort(DpPort),
    /// Port numbers must be below [`MAX_PORTS`].
    PortNumberTooLarge(DpPort),
    /// A polling thread did not answer in time (or has gone).
    ThreadUnresponsive(usize),
    /// The netdev refused to hand over a queue.
    Netdev(String),
}

impl fmt::Display for DpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpError::PortExists(p) => write!(f, "datapath port {p} already exists"),
            DpError::NoSuchPort(p) => write!(f, "no datapath port {p}"),
            DpError::PortNumberTooLarge(p) => {
                write!(f, "datapath port number {p} is not below {MAX_PORTS}")
            }
            DpError::ThreadUnresponsive(t) => write!(f, "polling thread {t} did not answer"),
            DpError::Netdev(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for DpError {}

#[derive(Debug)]
struct PmdHandle {
    ctl: Sender<Control>,
    join: Option<JoinHandle<()>>,
    stats: Arc<PmdStats>,
    waker: Option<Arc<Waker>>,
}

impl PmdHandle {
    fn send(&self, msg: Control) -> bool {
        let ok = self.ctl.send(msg).is_ok();
        if let Some(w) = &self.waker {
            w.wake();
        }
        if let Some(j) = &self.join {
            j.thread().unpark();
        }
        ok
    }
}

#[derive(Debug, Clone)]
struct RxqInfo {
    port: DpPort,
    queue: usize,
    thread: usize,
    busy_ns: Arc<AtomicU64>,
    /// `busy_ns` at the last rebalance.
    busy_mark: u64,
}

/// The datapath. See the module documentation.
pub struct Datapath {
    cfg: DatapathConfig,
    handler: Arc<dyn UpcallHandler>,
    ports: Arc<Snapshot<PortTable>>,
    threads: Vec<PmdHandle>,
    rxqs: Vec<RxqInfo>,
    next_rr: usize,
    origin: Instant,
}

impl fmt::Debug for Datapath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Datapath")
            .field("cfg", &self.cfg)
            .field("threads", &self.threads.len())
            .field("rxqs", &self.rxqs)
            .finish_non_exhaustive()
    }
}

fn spawn(
    id: usize,
    cfg: DatapathConfig,
    handler: Arc<dyn UpcallHandler>,
    ports: Arc<Snapshot<PortTable>>,
    origin: Instant,
) -> PmdHandle {
    let (tx, rx) = channel();
    let mut pmd = Pmd::new(id, cfg.pmd, handler, ports, Clock::Real(origin));
    pmd.set_control(rx);
    let stats = pmd.stats();
    let idle = cfg.idle;
    let waker = Waker::new().ok().map(Arc::new);
    let w = waker.clone();
    let join = thread::Builder::new()
        .name(format!("pmd{id}"))
        .spawn(move || run(pmd, idle, w))
        .ok();
    PmdHandle {
        ctl: tx,
        join,
        stats,
        waker,
    }
}

/// A polling thread's loop.
fn run(mut pmd: Pmd, idle: IdlePolicy, waker: Option<Arc<Waker>>) {
    let mut empty = 0u32;
    let (mut fds, mut set) = (Vec::new(), Vec::new());
    loop {
        let n = pmd.poll_once();
        if pmd.exiting() {
            break;
        }
        if n > 0 {
            empty = 0;
            continue;
        }
        empty = empty.saturating_add(1);
        match idle {
            IdlePolicy::BusyPoll => core::hint::spin_loop(),
            IdlePolicy::Sleep { after, sleep } => {
                if empty >= after {
                    match &waker {
                        Some(w) if pmd.rx_fds(&mut fds) => wait(&fds, w, sleep, &mut set),
                        _ => thread::park_timeout(sleep),
                    }
                }
            }
        }
    }
}

impl Datapath {
    /// Starts `cfg.threads` polling threads (no ports yet).
    pub fn new(cfg: DatapathConfig, handler: Arc<dyn UpcallHandler>) -> Datapath {
        let cfg = DatapathConfig {
            threads: cfg.threads.max(1),
            ..cfg
        };
        let ports = Arc::new(Snapshot::new(PortTable::default()));
        let origin = Instant::now();
        let threads = (0..cfg.threads)
            .map(|i| spawn(i, cfg, handler.clone(), ports.clone(), origin))
            .collect();
        Datapath {
            cfg,
            handler,
            ports,
            threads,
            rxqs: Vec::new(),
            next_rr: 0,
            origin,
        }
    }

    /// The configuration.
    pub fn config(&self) -> DatapathConfig {
        self.cfg
    }

    /// Number of polling threads.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Adds a netdev as datapath port `port`: every receive queue (dealt
    /// to threads round-robin) and every transmit queue (shared by the
    /// threads, see [`TxQueues`]) is taken from it.
    pub fn add_netdev(&mut self, port: DpPort, netdev: Arc<dyn Netdev>) -> Result<(), DpError> {
        let err = |e: crate::netdev::Error| DpError::Netdev(e.to_string());
        let rxqs = (0..netdev.n_rxq())
            .map(|i| netdev.take_rxq(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        let txqs = (0..netdev.n_txq())
            .map(|i| netdev.take_txq(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        let (name, kind) = (netdev.name().to_string(), netdev.kind().to_string());
        self.add_port(port, &name, &kind, txqs, rxqs, Some(netdev))
    }

    /// Adds a port from its queues (receive queues are assigned to threads
    /// round-robin).
    pub fn add_port(
        &mut self,
        port: DpPort,
        name: &str,
        kind: &str,
        txqs: Vec<Box<dyn TxQueue>>,
        rxqs: Vec<Box<dyn RxQueue>>,
        netdev: Option<Arc<dyn Netdev>>,
    ) -> Result<(), DpError> {
        if port >= MAX_PORTS {
            return Err(DpError::PortNumberTooLarge(port));
        }
        let table = self.ports.load();
        if table.get(port).is_some() {
            return Err(DpError::PortExists(port));
        }
        let stats = Arc::new(PortStats::default());
        let entry = PortEntry {
            port,
            name: name.to_string(),
            kind: kind.to_string(),
            tx: Arc::new(TxQueues::new(txqs)),
            stats: stats.clone(),
            netdev,
        };
        let Some(new) = table.with(entry) else {
            return Err(DpError::PortNumberTooLarge(port));
        };
        self.ports.store(Arc::new(new));
        for (queue, rx) in rxqs.into_iter().enumerate() {
            let thread = self.next_rr % self.threads.len();
            self.next_rr += 1;
            let q = Rxq::new(port, queue, rx, stats.clone());
            let busy_ns = q.busy_ns.clone();
            self.threads[thread].send(Control::AddRxq(q));
            self.rxqs.push(RxqInfo {
                port,
                queue,
                thread,
                busy_ns,
                busy_mark: 0,
            });
        }
        Ok(())
    }

    fn take_rxq(&self, info: &RxqInfo) -> Result<Option<Rxq>, DpError> {
        let (tx, rx) = channel();
        self.threads[info.thread].send(Control::RemoveRxq(info.port, info.queue, tx));
        rx.recv_timeout(CONTROL_TIMEOUT)
            .map_err(|_| DpError::ThreadUnresponsive(info.thread))
    }

    /// Removes a port: its receive queues stop being polled (returned to
    /// the caller, so the backend can close them), then its transmit side
    /// leaves the table. Megaflows that output to it count `NoPort` drops
    /// until they are revalidated or expire.
    pub fn remove_port(&mut self, port: DpPort) -> Result<Vec<Box<dyn RxQueue>>, DpError> {
        if self.ports.load().get(port).is_none() {
            return Err(DpError::NoSuchPort(port));
        }
        let mut out = Vec::new();
        let mine: Vec<RxqInfo> = self
            .rxqs
            .iter()
            .filter(|r| r.port == port)
            .cloned()
            .collect();
        for info in &mine {
            if let Some(q) = self.take_rxq(info)? {
                out.push(q.rx);
            }
        }
        self.rxqs.retain(|r| r.port != port);
        self.ports.update(|t| t.without(port));
        Ok(out)
    }

    /// Changes the number of polling threads (at least 1). Every receive
    /// queue is taken back and dealt out round-robin again; threads that go
    /// away take their caches with them (their flows are set up again by
    /// upcalls on the remaining threads).
    pub fn set_threads(&mut self, n: usize) -> Result<(), DpError> {
        let n = n.max(1);
        if n == self.threads.len() {
            return Ok(());
        }
        let mut queues = Vec::new();
        for info in self.rxqs.clone() {
            if let Some(q) = self.take_rxq(&info)? {
                queues.push(q);
            }
        }
        while self.threads.len() > n {
            if let Some(mut t) = self.threads.pop() {
                t.send(Control::Exit);
                if let Some(j) = t.join.take() {
                    let _ = j.join();
                }
            }
        }
        while self.threads.len() < n {
            let id = self.threads.len();
            self.threads.push(spawn(
                id,
                self.cfg,
                self.handler.clone(),
                self.ports.clone(),
                self.origin,
            ));
        }
        self.cfg.threads = n;
        self.next_rr = 0;
        for q in queues {
            let thread = self.next_rr % n;
            self.next_rr += 1;
            if let Some(info) = self
                .rxqs
                .iter_mut()
                .find(|r| r.port == q.port && r.queue == q.queue)
            {
                info.thread = thread;
            }
            self.threads[thread].send(Control::AddRxq(q));
        }
        Ok(())
    }

    /// (port, queue, thread) for every receive queue.
    pub fn rxq_assignment(&self) -> Vec<(DpPort, usize, usize)> {
        self.rxqs
            .iter()
            .map(|r| (r.port, r.queue, r.thread))
            .collect()
    }

    /// Re-spreads receive queues over threads by the processing time each
    /// used since the last rebalance (largest first, each to the least
    /// loaded thread). Returns how many queues moved.
    pub fn rebalance(&mut self) -> Result<usize, DpError> {
        let mut loads: Vec<(u64, usize)> = self
            .rxqs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.busy_ns.load(Ordering::Relaxed) - r.busy_mark, i))
            .collect();
        loads.sort_by(|a, b| b.cmp(a));
        let mut thread_load = vec![0u64; self.threads.len()];
        let mut moved = 0;
        for (load, i) in loads {
            let (best, _) = thread_load
                .iter()
                .enumerate()
                .min_by_key(|(t, l)| (**l, *t != self.rxqs[i].thread))
                .unwrap_or((0, &0));
            thread_load[best] += load.max(1);
            let info = self.rxqs[i].clone();
            if best != info.thread {
                if let Some(q) = self.take_rxq(&info)? {
                    self.threads[best].send(Control::AddRxq(q));
                }
                self.rxqs[i].thread = best;
                moved += 1;
            }
        }
        for r in self.rxqs.iter_mut() {
            r.busy_mark = r.busy_ns.load(Ordering::Relaxed);
        }
        Ok(moved)
    }

    /// Asks every thread to revalidate megaflows older than `version`. See
    /// the module documentation.
    pub fn revalidate(&self, version: u64) -> Arc<Completion> {
        let done = Completion::new(self.threads.len());
        for t in &self.threads {
            if !t.send(Control::Revalidate {
                version,
                done: done.clone(),
            }) {
                done.signal();
            }
        }
        done
    }

    /// Removes every megaflow and EMC entry.
    pub fn flush(&self) -> Arc<Completion> {
        let done = Completion::new(self.threads.len());
        for t in &self.threads {
            if !t.send(Control::Flush(done.clone())) {
                done.signal();
            }
        }
        done
    }

    /// Changes the per-thread tunables (the EMC size stays).
    pub fn set_pmd_config(&mut self, pmd: PmdConfig) {
        self.cfg.pmd = pmd;
        for t in &self.threads {
            t.send(Control::Configure(pmd));
        }
    }

    /// Every megaflow of every thread.
    pub fn dump_flows(&self) -> Result<Vec<FlowDump>, DpError> {
        let mut all = Vec::new();
        for (i, t) in self.threads.iter().enumerate() {
            let (tx, rx) = channel();
            t.send(Control::Dump(tx));
            let mut flows = rx
                .recv_timeout(CONTROL_TIMEOUT)
                .map_err(|_| DpError::ThreadUnresponsive(i))?;
            all.append(&mut flows);
        }
        Ok(all)
    }

    /// What every megaflow forwarded since the previous call, for the
    /// flows that forwarded anything (the statistics sweep's light dump).
    pub fn sweep_stats(&self) -> Result<Vec<FlowDelta>, DpError> {
        let mut all = Vec::new();
        for (i, t) in self.threads.iter().enumerate() {
            let (tx, rx) = channel();
            t.send(Control::SweepStats(tx));
            let mut flows = rx
                .recv_timeout(CONTROL_TIMEOUT)
                .map_err(|_| DpError::ThreadUnresponsive(i))?;
            all.append(&mut flows);
        }
        Ok(all)
    }

    /// `dpctl/dump-flows` text: one line per megaflow.
    pub fn format_dump_flows(&self) -> Result<String, DpError> {
        let mut s = String::new();
        for d in self.dump_flows()? {
            let _ = writeln!(s, "{}", FlowLine(&d));
        }
        Ok(s)
    }

    /// Each thread's last published counters.
    pub fn pmd_counters(&self) -> Vec<PmdCounters> {
        self.threads.iter().map(|t| t.stats.read()).collect()
    }

    /// Every port's counters: (port, name, kind, rx packets, rx bytes, tx
    /// packets, tx bytes, tx dropped).
    pub fn port_stats(&self) -> Vec<(DpPort, String, String, [u64; 5])> {
        self.ports
            .load()
            .iter()
            .map(|e| {
                let (a, b, c, d, x) = e.stats.read();
                (e.port, e.name.clone(), e.kind.clone(), [a, b, c, d, x])
            })
            .collect()
    }

    /// `dpctl/show -s`-style text: lookups, flows, ports with counters.
    pub fn format_show(&self, name: &str) -> String {
        let mut total = PmdCounters::default();
        for c in self.pmd_counters() {
            total.accumulate(&c);
        }
        let flows = self
            .dump_flows()
            .map(|f| f.len().to_string())
            .unwrap_or_else(|_| "?".into());
        let mut s = String::new();
        let _ = writeln!(s, "{name}:");
        let _ = writeln!(
            s,
            "  lookups: hit:{} missed:{} lost:{}",
            total.emc_hits + total.megaflow_hits,
            total.upcalls,
            total.lost_upcalls
        );
        let _ = writeln!(s, "  flows: {flows}");
        for e in self.ports.load().iter() {
            let (rxp, rxb, txp, txb, txd) = e.stats.read();
            // The backend's own drops and errors (full rings, bad frames).
            let nd = e.netdev.as_ref().map(|n| n.stats()).unwrap_or_default();
            let _ = writeln!(s, "  port {}: {} ({})", e.port, e.name, e.kind);
            let _ = writeln!(
                s,
                "    RX packets:{rxp} bytes:{rxb} dropped:{} errors:{}",
                nd.rx_dropped, nd.rx_errors
            );
            let _ = writeln!(
                s,
                "    TX packets:{txp} bytes:{txb} dropped:{} errors:{}",
                txd.max(nd.tx_dropped),
                nd.tx_errors
            );
        }
        s
    }

    /// `dpif-netdev/pmd-stats-show`-style text, one block per thread, plus
    /// the drop counters.
    pub fn format_pmd_stats(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.pmd_counters().iter().enumerate() {
            let _ = writeln!(s, "pmd thread {i}:");
            let passes = c.packets + c.recirculations;
            let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
            let _ = writeln!(s, "  packets received: {}", c.packets);
            let _ = writeln!(s, "  packet recirculations: {}", c.recirculations);
            let _ = writeln!(
                s,
                "  avg. datapath passes per packet: {:.2}",
                ratio(passes, c.packets)
            );
            let _ = writeln!(s, "  emc hits: {}", c.emc_hits);
            let _ = writeln!(s, "  megaflow hits: {}", c.megaflow_hits);
            let _ = writeln!(
                s,
                "  miss with success upcall: {}",
                c.upcalls - c.lost_upcalls
            );
            let _ = writeln!(s, "  miss with failed upcall: {}", c.lost_upcalls);
            let _ = writeln!(s, "  flow limit hits: {}", c.flow_limit_hits);
            let _ = writeln!(s, "  expired flows: {}", c.expired);
            let _ = writeln!(s, "  revalidated flows: {}", c.revalidated);
            let _ = writeln!(
                s,
                "  idle iterations: {} of {}",
                c.idle_iterations, c.iterations
            );
            let _ = writeln!(
                s,
                "  processing ns: {} (avg {:.1} ns/packet)",
                c.busy_ns,
                ratio(c.busy_ns, passes)
            );
            for r in DropReason::ALL {
                let n = c.drops[r as usize];
                if n != 0 {
                    let _ = writeln!(s, "  {r}: {n}");
                }
            }
        }
        s
    }

    /// Milliseconds since the datapath started (the threads' clock).
    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Runs `actions` on `frame` from the control plane (an OpenFlow
    /// packet-out), as if received with metadata `meta` (its `in_port` may be
    /// a port the datapath does not have, e.g. the controller's). Outputs go
    /// straight to the ports' transmit queues (one lock per port), userspace
    /// actions and meters to the handler, and recirculations are translated
    /// by the handler and run here (nothing is cached). Returns the packets
    /// sent. Control plane only: it allocates.
    pub fn execute(&self, frame: &[u8], meta: PacketMeta, actions: &[Action]) -> usize {
        let ports = self.ports.load();
        let mut sink = CtlSink {
            handler: &*self.handler,
            out: Vec::new(),
            recirc: Vec::new(),
            now_ns: self.origin.elapsed().as_nanos() as u64,
        };
        let mut pending: Vec<(Vec<u8>, PacketMeta, Option<Vec<Action>>)> =
            vec![(frame.to_vec(), meta, Some(actions.to_vec()))];
        let mut trans = Translation::default();
        while let Some((bytes, mut meta, acts)) = pending.pop() {
            let mut key = FlowKey::ZERO;
            let mut offs = Offsets::EMPTY;
            key.recirc_id = meta.recirc_id;
            key.dp_hash = meta.dp_hash;
            key.skb_priority = meta.skb_priority;
            key.pkt_mark = meta.pkt_mark;
            key.tun_id = meta.tun_id;
            extract_into(&bytes, meta.in_port, &mut key, &mut offs);
            let acts = match acts {
                Some(a) => a,
                None => {
                    trans.clear();
                    if self
                        .handler
                        .translate(&key, Some(&bytes), &mut trans)
                        .is_err()
                    {
                        continue;
                    }
                    trans.actions.clone()
                }
            };
            let mut pkt = Packet::new(bytes.len() + 64);
            pkt.set_data(&bytes);
            execute(&acts, &mut pkt, &mut meta, &key, offs, &mut sink);
            for (b, m) in sink.recirc.drain(..) {
                if m.recirc_depth <= MAX_RECIRC_DEPTH {
                    pending.push((b, m, None));
                }
            }
        }
        let mut sent = 0;
        for (port, bytes, offload) in sink.out {
            if let Some(e) = ports.get(port) {
                let mut b = Batch::new(bytes.len().max(64));
                b.push_copy(&bytes, offload);
                let (dropped, _) = e.tx.send(usize::MAX, &mut b);
                e.stats.add_tx(
                    1 - dropped.min(1) as u64,
                    bytes.len() as u64,
                    dropped as u64,
                );
                sent += 1 - dropped.min(1);
            }
        }
        sent
    }

    /// The upcall handler the threads call.
    pub fn handler(&self) -> &Arc<dyn UpcallHandler> {
        &self.handler
    }

    /// Stops every thread and waits for them.
    pub fn shutdown(&mut self) {
        for t in &self.threads {
            t.send(Control::Exit);
        }
        for t in self.threads.iter_mut() {
            if let Some(j) = t.join.take() {
                let _ = j.join();
            }
        }
    }
}

impl Drop for Datapath {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The executor's sink for control-plane execution: collects outputs and
/// recirculations.
struct CtlSink<'a> {
    handler: &'a dyn UpcallHandler,
    out: Vec<(DpPort, Vec<u8>, crate::netdev::Offload)>,
    recirc: Vec<(Vec<u8>, PacketMeta)>,
    now_ns: u64,
}

impl ExecSink for CtlSink<'_> {
    fn output(&mut self, port: DpPort, pkt: &mut Packet, _take: bool, max_len: usize) {
        let d = pkt.data();
        let offload = if max_len < d.len() {
            Default::default()
        } else {
            pkt.offload
        };
        self.out
            .push((port, d[..d.len().min(max_len)].to_vec(), offload));
    }
    fn userspace(&mut self, pkt: &Packet, key: &FlowKey, userdata: u64) {
        self.handler.userspace(key, pkt.data(), userdata);
    }
    fn meter(&mut self, id: u32, pkt: &Packet) -> bool {
        self.handler.meter(id, pkt.len(), self.now_ns)
    }
    fn recirculate(&mut self, pkt: &mut Packet, meta: &PacketMeta, _take: bool) {
        let m = PacketMeta {
            recirc_depth: meta.recirc_depth + 1,
            ..*meta
        };
        self.recirc.push((pkt.data().to_vec(), m));
    }
    fn drop(&mut self, _reason: DropReason) {}
}

/// One `dpctl/dump-flows` line:
/// `<masked key>, packets:N, bytes:N, used:X.XXXs|never, actions:<list>`.
#[derive(Debug, Clone, Copy)]
pub struct FlowLine<'a>(pub &'a FlowDump);

impl fmt::Display for FlowLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        let masked = d.key.masked(&d.mask);
        write!(
            f,
            "{}, packets:{}, bytes:{}, used:",
            format::masked(&masked, &d.mask),
            d.packets,
            d.bytes
        )?;
        match d.idle_ms {
            Some(ms) => write!(f, "{}.{:03}s", ms / 1000, ms % 1000)?,
            None => f.write_str("never")?,
        }
        write!(f, ", actions:{}", ActionList(&d.actions))
    }
}

#[cfg(test)]
mod tests;
