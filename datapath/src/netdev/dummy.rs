//! The `dummy` backend: an in-memory port for tests.
//!
//! Frames are injected with [`Dummy::inject`] (they come out of the receive
//! queue they were injected into) and whatever the switch sends is kept, in
//! order, for [`Dummy::take_sent`]. Offload state is carried both ways
//! unchanged, so tests can see what the fast path would hand to a
//! vnet-header egress.
//!
//! Each receive queue has an eventfd, readable while frames wait, so
//! sleep-when-idle polling works on dummy ports as on real ones.
//!
//! Invariants: queues are bounded (`queue_len` frames, default 1024): an
//! injection into a full queue fails and counts `rx_dropped`; a send into a
//! full sent-queue drops and counts `tx_dropped`. Frame buffers are
//! recycled, so after warm-up neither path allocates; each batch takes one
//! lock (this is a test backend: the lock is per batch, never per packet).
//! With the link set down, sends are dropped (`tx_dropped`).

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{
    Batch, Counters, Error, Kind, LinkState, MacAddr, Netdev, Offload, QueueError, RxQueue, Stats,
    TxQueue, take_slot,
};

/// Frames waiting in one direction, with recycled buffers.
#[derive(Debug, Default)]
struct FrameQueue {
    frames: VecDeque<(Vec<u8>, Offload)>,
    free: Vec<Vec<u8>>,
}

impl FrameQueue {
    fn push(&mut self, data: &[u8], offload: Offload, limit: usize) -> bool {
        if self.frames.len() >= limit {
            return false;
        }
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        self.frames.push_back((buf, offload));
        true
    }
}

#[derive(Debug)]
struct RxShared {
    queue: Mutex<FrameQueue>,
    event: OwnedFd,
    counters: Counters,
}

impl RxShared {
    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to an eventfd we own.
        let _ = unsafe {
            libc::write(
                self.event.as_raw_fd(),
                (&one as *const u64).cast(),
                core::mem::size_of::<u64>(),
            )
        };
    }

    fn drain_event(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from a nonblocking eventfd.
        let _ = unsafe {
            libc::read(
                self.event.as_raw_fd(),
                (&mut v as *mut u64).cast(),
                core::mem::size_of::<u64>(),
            )
        };
    }
}

#[derive(Debug)]
struct Shared {
    name: String,
    rx: Vec<Arc<RxShared>>,
    sent: Mutex<FrameQueue>,
    tx_counters: Vec<Arc<Counters>>,
    queue_len: usize,
    link_up: AtomicBool,
    mtu: AtomicU64,
    mac: Mutex<MacAddr>,
}

/// An in-memory port. See the module documentation.
#[derive(Debug)]
pub struct Dummy {
    shared: Arc<Shared>,
    rxqs: Mutex<Vec<Option<DummyRxQueue>>>,
    txqs: Mutex<Vec<Option<DummyTxQueue>>>,
}

/// A receive queue of a [`Dummy`] port.
#[derive(Debug)]
pub struct DummyRxQueue {
    shared: Arc<RxShared>,
}

/// A transmit queue of a [`Dummy`] port.
#[derive(Debug)]
pub struct DummyTxQueue {
    shared: Arc<Shared>,
    counters: Arc<Counters>,
}

impl Dummy {
    /// A dummy port with `n_queues` receive and transmit queues (at least
    /// one), link up, MTU 1500, MAC `aa:55:aa:55:00:01`.
    pub fn new(name: &str, n_queues: usize) -> Result<Arc<Dummy>, Error> {
        Dummy::with_queue_len(name, n_queues, 1024)
    }

    /// As [`Dummy::new`], with `queue_len` frames of room per direction.
    pub fn with_queue_len(
        name: &str,
        n_queues: usize,
        queue_len: usize,
    ) -> Result<Arc<Dummy>, Error> {
        let n = n_queues.max(1);
        let mut rx = Vec::with_capacity(n);
        for _ in 0..n {
            // SAFETY: eventfd takes no pointers; the result is checked.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if fd < 0 {
                return Err(Error::last_os(name, "eventfd"));
            }
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            let event = unsafe { OwnedFd::from_raw_fd(fd) };
            rx.push(Arc::new(RxShared {
                queue: Mutex::new(FrameQueue::default()),
                event,
                counters: Counters::default(),
            }));
        }
        let tx_counters: Vec<_> = (0..n).map(|_| Arc::new(Counters::default())).collect();
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            rx,
            sent: Mutex::new(FrameQueue::default()),
            tx_counters,
            queue_len: queue_len.max(1),
            link_up: AtomicBool::new(true),
            mtu: AtomicU64::new(1500),
            mac: Mutex::new([0xaa, 0x55, 0xaa, 0x55, 0x00, 0x01]),
        });
        let rxqs = shared
            .rx
            .iter()
            .map(|r| Some(DummyRxQueue { shared: r.clone() }))
            .collect();
        let txqs = shared
            .tx_counters
            .iter()
            .map(|c| {
                Some(DummyTxQueue {
                    shared: shared.clone(),
                    counters: c.clone(),
                })
            })
            .collect();
        Ok(Arc::new(Dummy {
            shared,
            rxqs: Mutex::new(rxqs),
            txqs: Mutex::new(txqs),
        }))
    }

    /// Queues `frame` for receive queue `rxq` with no offload state.
    /// False when the queue does not exist or is full.
    pub fn inject(&self, rxq: usize, frame: &[u8]) -> bool {
        self.inject_with(rxq, frame, Offload::default())
    }

    /// Queues `frame` with `offload` state for receive queue `rxq`.
    pub fn inject_with(&self, rxq: usize, frame: &[u8], offload: Offload) -> bool {
        let Some(r) = self.shared.rx.get(rxq) else {
            return false;
        };
        let mut q = r.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.push(frame, offload, self.shared.queue_len) {
            r.signal();
            true
        } else {
            Counters::add(&r.counters.rx_dropped, 1);
            false
        }
    }

    /// Takes everything sent so far, oldest first, with its offload state.
    pub fn take_sent(&self) -> Vec<(Vec<u8>, Offload)> {
        let mut q = self.shared.sent.lock().unwrap_or_else(|e| e.into_inner());
        q.frames.drain(..).collect()
    }

    /// Sets the link state (a down link drops what is sent).
    pub fn set_link(&self, state: LinkState) {
        self.shared
            .link_up
            .store(state == LinkState::Up, Ordering::Relaxed);
    }
}

impl RxQueue for DummyRxQueue {
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let r = &*self.shared;
        let mut q = r.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (mut n, mut bytes, mut too_big) = (0usize, 0u64, 0u64);
        while !batch.is_full() {
            let Some((frame, offload)) = q.frames.pop_front() else {
                break;
            };
            if batch.push_copy(&frame, offload) {
                n += 1;
                bytes += frame.len() as u64;
            } else {
                too_big += 1;
            }
            q.free.push(frame);
        }
        if q.frames.is_empty() {
            r.drain_event();
        }
        drop(q);
        r.counters.add_rx(n as u64, bytes);
        Counters::add(&r.counters.rx_dropped, too_big);
        Ok(n)
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.shared.event.as_raw_fd())
    }
}

impl TxQueue for DummyTxQueue {
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let s = &*self.shared;
        let total = batch.len();
        if !s.link_up.load(Ordering::Relaxed) {
            Counters::add(&self.counters.tx_dropped, total as u64);
            batch.clear();
            return Ok(0);
        }
        let (mut n, mut bytes) = (0usize, 0u64);
        {
            let mut q = s.sent.lock().unwrap_or_else(|e| e.into_inner());
            for p in batch.packets() {
                if q.push(p.data(), p.offload, s.queue_len) {
                    n += 1;
                    bytes += p.len() as u64;
                }
            }
        }
        batch.clear();
        self.counters.add_tx(n as u64, bytes);
        Counters::add(&self.counters.tx_dropped, (total - n) as u64);
        Ok(n)
    }
}

impl Netdev for Dummy {
    fn name(&self) -> &str {
        &self.shared.name
    }

    fn kind(&self) -> Kind {
        Kind::Dummy
    }

    fn ifindex(&self) -> Option<u32> {
        None
    }

    fn n_rxq(&self) -> usize {
        self.shared.rx.len()
    }

    fn n_txq(&self) -> usize {
        self.shared.tx_counters.len()
    }

    fn take_rxq(&self, i: usize) -> Result<Box<dyn RxQueue>, Error> {
        Ok(Box::new(take_slot(&self.shared.name, &self.rxqs, i)?))
    }

    fn take_txq(&self, i: usize) -> Result<Box<dyn TxQueue>, Error> {
        Ok(Box::new(take_slot(&self.shared.name, &self.txqs, i)?))
    }

    fn link_state(&self) -> LinkState {
        if self.shared.link_up.load(Ordering::Relaxed) {
            LinkState::Up
        } else {
            LinkState::Down
        }
    }

    fn mtu(&self) -> Result<u32, Error> {
        Ok(self.shared.mtu.load(Ordering::Relaxed) as u32)
    }

    fn set_mtu(&self, mtu: u32) -> Result<(), Error> {
        if !(68..=65535).contains(&mtu) {
            return Err(Error::Config {
                name: self.shared.name.clone(),
                reason: format!("MTU {mtu} out of range 68..=65535"),
            });
        }
        self.shared.mtu.store(mtu as u64, Ordering::Relaxed);
        Ok(())
    }

    fn mac(&self) -> Result<MacAddr, Error> {
        Ok(*self.shared.mac.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn set_mac(&self, mac: MacAddr) -> Result<(), Error> {
        *self.shared.mac.lock().unwrap_or_else(|e| e.into_inner()) = mac;
        Ok(())
    }

    fn as_dummy(&self) -> Option<&Dummy> {
        Some(self)
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for r in &self.shared.rx {
            r.counters.sum_into(&mut s);
        }
        for c in &self.shared.tx_counters {
            c.sum_into(&mut s);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netdev::CsumPartial;

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn inject_recv_send_take() {
        let d = Dummy::new("d0", 2).unwrap();
        let mut rx1 = d.take_rxq(1).unwrap();
        assert!(matches!(d.take_rxq(1), Err(Error::QueueTaken { .. })));
        assert!(matches!(d.take_rxq(2), Err(Error::NoQueue { .. })));
        let mut tx = d.take_txq(0).unwrap();
        let fd = rx1.fd().unwrap();
        assert!(!readable(fd));
        let off = Offload {
            csum: Some(CsumPartial {
                start: 34,
                offset: 16,
            }),
            ..Offload::default()
        };
        for i in 0..40u8 {
            assert!(d.inject_with(1, &[i; 60], off));
        }
        assert!(readable(fd));
        let mut b = Batch::new(2048);
        assert_eq!(rx1.recv(&mut b).unwrap(), 32);
        assert!(readable(fd));
        assert_eq!(b.packets()[3].data(), &[3; 60]);
        assert_eq!(b.packets()[3].offload, off);
        assert_eq!(tx.send(&mut b).unwrap(), 32);
        assert!(b.is_empty());
        assert_eq!(rx1.recv(&mut b).unwrap(), 8);
        assert!(!readable(fd));
        assert_eq!(rx1.recv(&mut b).unwrap(), 0);
        let sent = d.take_sent();
        assert_eq!(sent.len(), 32);
        assert_eq!(sent[31].0, vec![31u8; 60]);
        assert_eq!(sent[31].1, off);
        let s = d.stats();
        assert_eq!((s.rx_packets, s.rx_bytes), (40, 2400));
        // Reachable through the trait object, for test commands.
        let dynd: Arc<dyn Netdev> = d.clone();
        assert!(dynd.as_dummy().is_some_and(|x| x.inject(0, &[1; 60])));
        assert_eq!((s.tx_packets, s.tx_bytes), (32, 1920));
    }

    #[test]
    fn link_down_and_limits() {
        let d = Dummy::with_queue_len("d1", 1, 2).unwrap();
        let mut tx = d.take_txq(0).unwrap();
        assert!(d.inject(0, &[1]));
        assert!(d.inject(0, &[2]));
        assert!(!d.inject(0, &[3]));
        assert!(!d.inject(5, &[3]));
        let mut b = Batch::new(64);
        b.push_copy(&[1; 10], Offload::default());
        d.set_link(LinkState::Down);
        assert_eq!(d.link_state(), LinkState::Down);
        assert_eq!(tx.send(&mut b).unwrap(), 0);
        let s = d.stats();
        assert_eq!((s.rx_dropped, s.tx_dropped), (1, 1));
        // Too big for the batch's buffers: dropped, counted, no panic.
        let mut rx = d.take_rxq(0).unwrap();
        assert!(d.take_rxq(0).is_err());
        let _ = rx.recv(&mut b);
        d.set_mtu(9000).unwrap();
        assert_eq!(d.mtu().unwrap(), 9000);
        assert!(d.set_mtu(10).is_err());
        d.set_mac([2, 0, 0, 0, 0, 9]).unwrap();
        assert_eq!(d.mac().unwrap(), [2, 0, 0, 0, 0, 9]);
    }
}
