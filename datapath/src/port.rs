//! What the fast path needs from a port: a receive queue it polls and a
//! transmit side it sends batches to.
//!
//! These two traits are the seam between the polling threads and the netdev
//! backends (`netdev::*`): a backend offers one [`RxQueue`] per receive queue
//! (each owned and polled by exactly one thread at a time, so it needs no
//! lock) and one [`TxPort`] shared by all threads (each thread passes its own
//! queue id, so a backend with one queue per thread needs no lock either).
//!
//! Contracts:
//! * Neither call blocks. `recv` returns 0 when nothing is waiting; `send`
//!   drops what it cannot send now and says how many.
//! * Buffers: `recv` takes buffers from the thread's [`PacketPool`] and
//!   fills them; `send` may keep packets (by removing them from the vector)
//!   or copy their bytes out and leave them, and the caller returns whatever
//!   is left to its pool. Either way nothing is allocated per packet in
//!   steady state.
//! * The datapath counts per-port statistics itself ([`PortStats`]); a
//!   backend counts only what it alone sees (errors of its own).
//!
//! [`mem`] is an in-memory port for tests and benchmarks.

use crate::actions::DpPort;
use crate::packet::{Packet, PacketPool};
use crate::stats::PortStats;
use std::sync::Arc;

/// One receive queue of a port. Owned by one polling thread at a time.
pub trait RxQueue: Send {
    /// Receives up to `max` frames into buffers from `pool`, appending them
    /// to `out`; returns how many. Never blocks.
    fn recv(&mut self, pool: &mut PacketPool, out: &mut Vec<Packet>, max: usize) -> usize;
}

/// The transmit side of a port, shared by every polling thread.
pub trait TxPort: Send + Sync {
    /// Sends the packets of `pkts` on transmit queue `qid` (the caller's
    /// thread index; a backend with fewer queues maps it). Packets the
    /// backend keeps are removed from `pkts`; the rest go back to the
    /// caller's pool. Returns how many packets were dropped. Never blocks.
    fn send(&self, qid: usize, pkts: &mut Vec<Packet>) -> usize;
}

/// A datapath port as the polling threads see it.
#[derive(Clone)]
pub struct PortEntry {
    /// Datapath port number.
    pub port: DpPort,
    /// Name (the interface name).
    pub name: String,
    /// Backend type, for `dpif/show` (`dummy`, `afxdp`, `tap`...).
    pub kind: String,
    /// Transmit side.
    pub tx: Arc<dyn TxPort>,
    /// Counters kept by the datapath.
    pub stats: Arc<PortStats>,
}

impl core::fmt::Debug for PortEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PortEntry")
            .field("port", &self.port)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The set of ports, indexed by port number: an immutable snapshot that
/// threads read and the control plane replaces as a whole.
#[derive(Debug, Clone, Default)]
pub struct PortTable {
    by_no: Vec<Option<PortEntry>>,
}

/// Port numbers are indices into a dense table; this bounds its size.
pub const MAX_PORTS: DpPort = 1 << 16;

impl PortTable {
    /// The port numbered `port`.
    #[inline]
    pub fn get(&self, port: DpPort) -> Option<&PortEntry> {
        self.by_no.get(port as usize)?.as_ref()
    }

    /// A copy with `entry` added (or replacing the port of that number).
    /// Port numbers of [`MAX_PORTS`] or more are refused.
    pub fn with(&self, entry: PortEntry) -> Option<PortTable> {
        if entry.port >= MAX_PORTS {
            return None;
        }
        let mut t = self.clone();
        let i = entry.port as usize;
        if t.by_no.len() <= i {
            t.by_no.resize(i + 1, None);
        }
        t.by_no[i] = Some(entry);
        Some(t)
    }

    /// A copy without port `port`.
    pub fn without(&self, port: DpPort) -> PortTable {
        let mut t = self.clone();
        if let Some(slot) = t.by_no.get_mut(port as usize) {
            *slot = None;
        }
        while t.by_no.last().is_some_and(|s| s.is_none()) {
            t.by_no.pop();
        }
        t
    }

    /// One more than the highest port number.
    pub fn span(&self) -> usize {
        self.by_no.len()
    }

    /// Every port, by number.
    pub fn iter(&self) -> impl Iterator<Item = &PortEntry> {
        self.by_no.iter().flatten()
    }
}

pub mod mem {
    //! An in-memory port for tests and benchmarks: frames injected by the
    //! test are received, frames sent are captured. It takes a mutex per
    //! batch, which a real backend must not, and it is not meant for
    //! production use.

    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Shared {
        rx: VecDeque<Vec<u8>>,
        tx: Vec<Vec<u8>>,
        capture: bool,
    }

    /// Both ends of an in-memory port. Clone it to keep a handle in the test.
    #[derive(Debug, Clone, Default)]
    pub struct MemPort {
        shared: Arc<Mutex<Shared>>,
    }

    impl MemPort {
        /// A port that captures what it sends.
        pub fn new() -> MemPort {
            let p = MemPort::default();
            p.set_capture(true);
            p
        }

        /// Captures sent frames (true) or only counts them (false).
        pub fn set_capture(&self, on: bool) {
            if let Ok(mut s) = self.shared.lock() {
                s.capture = on;
            }
        }

        /// Queues a frame for reception.
        pub fn inject(&self, frame: &[u8]) {
            if let Ok(mut s) = self.shared.lock() {
                s.rx.push_back(frame.to_vec());
            }
        }

        /// Frames waiting to be received.
        pub fn rx_pending(&self) -> usize {
            self.shared.lock().map(|s| s.rx.len()).unwrap_or(0)
        }

        /// Takes the frames sent so far.
        pub fn take_sent(&self) -> Vec<Vec<u8>> {
            self.shared
                .lock()
                .map(|mut s| core::mem::take(&mut s.tx))
                .unwrap_or_default()
        }

        /// The receive queue (one per port).
        pub fn rxq(&self) -> Box<dyn RxQueue> {
            Box::new(self.clone())
        }

        /// The transmit side.
        pub fn txp(&self) -> Arc<dyn TxPort> {
            Arc::new(self.clone())
        }
    }

    impl RxQueue for MemPort {
        fn recv(&mut self, pool: &mut PacketPool, out: &mut Vec<Packet>, max: usize) -> usize {
            let Ok(mut s) = self.shared.lock() else {
                return 0;
            };
            let mut n = 0;
            while n < max {
                let Some(f) = s.rx.pop_front() else { break };
                let mut p = pool.get();
                p.set_frame(&f);
                out.push(p);
                n += 1;
            }
            n
        }
    }

    impl TxPort for MemPort {
        fn send(&self, _qid: usize, pkts: &mut Vec<Packet>) -> usize {
            let Ok(mut s) = self.shared.lock() else {
                return pkts.len();
            };
            if s.capture {
                for p in pkts.iter() {
                    s.tx.push(p.data().to_vec());
                }
            }
            0
        }
    }

    /// A receive queue that replays a fixed set of frames forever (for
    /// benchmarks: no lock, no allocation once warm).
    #[derive(Debug, Clone)]
    pub struct Replay {
        frames: Vec<Vec<u8>>,
        next: usize,
    }

    impl Replay {
        /// Replays `frames` in order, round and round.
        pub fn new(frames: Vec<Vec<u8>>) -> Replay {
            Replay { frames, next: 0 }
        }
    }

    impl RxQueue for Replay {
        fn recv(&mut self, pool: &mut PacketPool, out: &mut Vec<Packet>, max: usize) -> usize {
            if self.frames.is_empty() {
                return 0;
            }
            for _ in 0..max {
                let mut p = pool.get();
                p.set_frame(&self.frames[self.next]);
                out.push(p);
                self.next = (self.next + 1) % self.frames.len();
            }
            max
        }
    }

    /// A transmit side that only counts (for benchmarks).
    #[derive(Debug, Default)]
    pub struct Sink {
        /// Packets "sent".
        pub sent: core::sync::atomic::AtomicU64,
    }

    impl TxPort for Sink {
        fn send(&self, _qid: usize, pkts: &mut Vec<Packet>) -> usize {
            self.sent
                .fetch_add(pkts.len() as u64, core::sync::atomic::Ordering::Relaxed);
            0
        }
    }
}
