//! Ports as the polling threads see them: the port table (an immutable
//! snapshot indexed by datapath port number) whose entries hold each port's
//! transmit queues and counters.
//!
//! The queues are the netdev layer's ([`crate::netdev::RxQueue`],
//! [`crate::netdev::TxQueue`]). A receive queue is owned by the one thread
//! that polls it. Transmit queues are shared by all threads through
//! [`TxQueues`]: thread `i` sends on queue `i % n`, each behind a mutex taken
//! once per batch (uncontended when a port has a queue per thread), as the
//! netdev contract allows.
//!
//! [`mem`] has two queue doubles for benchmarks: a receive queue that
//! replays frames forever and a transmit queue that only counts.

use crate::actions::DpPort;
use crate::netdev::{Netdev, QueueError, TxQueue};
use crate::packet::Batch;
use crate::stats::PortStats;
use std::sync::{Arc, Mutex, PoisonError};

/// The transmit queues of a port, shared by every polling thread.
#[derive(Debug, Default)]
pub struct TxQueues {
    queues: Vec<Mutex<Box<dyn TxQueue>>>,
}

impl TxQueues {
    /// Wraps a port's transmit queues.
    pub fn new(queues: Vec<Box<dyn TxQueue>>) -> TxQueues {
        TxQueues {
            queues: queues.into_iter().map(Mutex::new).collect(),
        }
    }

    /// Sends `batch` on queue `qid % n` (one lock per batch) and leaves it
    /// empty. Returns how many packets were not sent, and whether the device
    /// is gone.
    pub fn send(&self, qid: usize, batch: &mut Batch) -> (usize, bool) {
        let total = batch.len();
        if self.queues.is_empty() {
            batch.clear();
            return (total, false);
        }
        let q = &self.queues[qid % self.queues.len()];
        let mut q = q.lock().unwrap_or_else(PoisonError::into_inner);
        let r = q.send(batch);
        batch.clear();
        match r {
            Ok(n) => (total.saturating_sub(n), false),
            Err(QueueError::Gone) => (total, true),
            Err(QueueError::Os(_)) => (total, false),
        }
    }

    /// Number of queues.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// True without queues (everything sent is dropped).
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
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
    /// Transmit queues.
    pub tx: Arc<TxQueues>,
    /// Counters kept by the datapath.
    pub stats: Arc<PortStats>,
    /// The netdev's control handle, when the port has one.
    pub netdev: Option<Arc<dyn Netdev>>,
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
    //! Queue doubles for benchmarks: no lock, no allocation once warm.

    use crate::netdev::{QueueError, RxQueue, TxQueue};
    use crate::packet::Batch;
    use std::os::fd::RawFd;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A receive queue that replays a fixed set of frames forever.
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
        fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
            let mut n = 0;
            while !self.frames.is_empty() && !batch.is_full() {
                let f = &self.frames[self.next];
                self.next = (self.next + 1) % self.frames.len();
                if batch.push_copy(f, Default::default()) {
                    n += 1;
                }
            }
            Ok(n)
        }

        fn fd(&self) -> Option<RawFd> {
            None
        }
    }

    /// A transmit queue that only counts.
    #[derive(Debug, Default, Clone)]
    pub struct Count {
        /// Packets "sent".
        pub sent: Arc<AtomicU64>,
    }

    impl TxQueue for Count {
        fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
            let n = batch.len();
            self.sent.fetch_add(n as u64, Ordering::Relaxed);
            batch.clear();
            Ok(n)
        }
    }
}
