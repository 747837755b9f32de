//! The `patch` backend: two ports joining two bridges, in memory.
//!
//! [`pair`] makes the two ends. What one end sends, the other receives,
//! with its offload state, and without copying: a send exchanges each
//! packet's buffer with an empty one from a ring (bounded, `ring_len`
//! packets per direction, default 256), and a receive exchanges the ring's
//! full buffers with the caller's spare ones. Buffers therefore migrate
//! between the two bridges' batches; they are all made with the same
//! capacity ([`super::packet::DEFAULT_CAPACITY`] by default), so a batch
//! keeps buffers of the size it was made with as long as every batch that
//! meets a patch port uses that capacity. A frame that does not fit (only
//! possible with mixed capacities) is not lost silently: it is counted in
//! `rx_dropped`.
//!
//! Each end has one receive and one transmit queue. Each direction's ring
//! takes one lock per batch (never per packet) and has an eventfd that
//! polls readable while frames wait. When an end is dropped, its peer's
//! link goes down and what is sent to it is dropped (`tx_dropped`); a full
//! ring also drops (`tx_dropped`).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::packet::DEFAULT_CAPACITY;
use super::{
    Batch, Counters, Error, Kind, LinkState, MacAddr, Netdev, Packet, QueueError, RxQueue, Stats,
    TxQueue, take_slot,
};

/// One direction: a ring of buffers, `len` of them full starting at `head`.
#[derive(Debug)]
struct Ring {
    slots: Vec<Packet>,
    head: usize,
    len: usize,
}

#[derive(Debug)]
struct Dir {
    ring: Mutex<Ring>,
    event: OwnedFd,
}

impl Dir {
    fn new(ring_len: usize, capacity: usize) -> Result<Dir, std::io::Error> {
        // SAFETY: eventfd takes no pointers; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Dir {
            ring: Mutex::new(Ring {
                slots: (0..ring_len.max(1))
                    .map(|_| Packet::new(capacity))
                    .collect(),
                head: 0,
                len: 0,
            }),
            // SAFETY: `fd` is fresh and owned by nothing else.
            event: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        let _ = unsafe { libc::write(self.event.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn drain_event(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our nonblocking eventfd.
        let _ = unsafe { libc::read(self.event.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }
}

#[derive(Debug)]
struct Shared {
    /// `dirs[i]` carries what end `i` sends to end `1 - i`.
    dirs: [Dir; 2],
    alive: [AtomicBool; 2],
    counters: [Counters; 2],
}

/// One end of a patch pair. See the module documentation.
#[derive(Debug)]
pub struct Patch {
    name: String,
    peer: String,
    side: usize,
    shared: Arc<Shared>,
    rxq: Mutex<Vec<Option<PatchRxQueue>>>,
    txq: Mutex<Vec<Option<PatchTxQueue>>>,
    mtu: AtomicU64,
    mac: Mutex<MacAddr>,
}

/// The receive queue of a [`Patch`] end.
#[derive(Debug)]
pub struct PatchRxQueue {
    shared: Arc<Shared>,
    side: usize,
}

/// The transmit queue of a [`Patch`] end.
#[derive(Debug)]
pub struct PatchTxQueue {
    shared: Arc<Shared>,
    side: usize,
}

/// Makes a patch pair `a` <-> `b` with default ring length and buffers.
pub fn pair(a: &str, b: &str) -> Result<(Arc<Patch>, Arc<Patch>), Error> {
    pair_with(a, b, 256, DEFAULT_CAPACITY)
}

/// Makes a patch pair with `ring_len` buffers of `capacity` bytes per
/// direction.
pub fn pair_with(
    a: &str,
    b: &str,
    ring_len: usize,
    capacity: usize,
) -> Result<(Arc<Patch>, Arc<Patch>), Error> {
    let io = |source| Error::Io {
        name: a.to_owned(),
        op: "eventfd",
        source,
    };
    let shared = Arc::new(Shared {
        dirs: [
            Dir::new(ring_len, capacity).map_err(io)?,
            Dir::new(ring_len, capacity).map_err(io)?,
        ],
        alive: [AtomicBool::new(true), AtomicBool::new(true)],
        counters: [Counters::default(), Counters::default()],
    });
    let end = |side: usize, name: &str, peer: &str| {
        Arc::new(Patch {
            name: name.to_owned(),
            peer: peer.to_owned(),
            side,
            shared: shared.clone(),
            rxq: Mutex::new(vec![Some(PatchRxQueue {
                shared: shared.clone(),
                side,
            })]),
            txq: Mutex::new(vec![Some(PatchTxQueue {
                shared: shared.clone(),
                side,
            })]),
            mtu: AtomicU64::new(65535),
            mac: Mutex::new([0x02, 0, 0, 0, 0, side as u8 + 1]),
        })
    };
    Ok((end(0, a, b), end(1, b, a)))
}

/// Pairs patch ends by name as the control plane opens them one at a time
/// (`Interface` rows `type=patch, options:peer=<other>`).
///
/// Opening `a` with peer `b` makes the pair and keeps `b`'s end until `b`
/// is opened with peer `a`. Until then, `a`'s link is up but what it sends
/// is queued (and dropped once the ring is full); this matches a patch port
/// whose peer is configured a moment later in the same transaction.
#[derive(Debug, Default)]
pub struct Registry {
    waiting: Mutex<std::collections::HashMap<String, Arc<Patch>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Opens end `name` whose peer is `peer`.
    pub fn open(&self, name: &str, peer: &str) -> Result<Arc<Patch>, Error> {
        let bad = |reason: String| Error::Config {
            name: name.to_owned(),
            reason,
        };
        if peer.is_empty() || peer == name {
            return Err(bad(format!(
                "patch peer {peer:?} must name another interface"
            )));
        }
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        // A waiting end made for another peer is stale: start afresh.
        if let Some(end) = w.remove(name)
            && end.peer() == peer
        {
            return Ok(end);
        }
        let (mine, theirs) = pair(name, peer)?;
        w.insert(peer.to_owned(), theirs);
        Ok(mine)
    }

    /// Forgets a waiting end (its peer was removed before it was opened).
    pub fn forget(&self, name: &str) {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

impl Patch {
    /// The name of the other end.
    pub fn peer(&self) -> &str {
        &self.peer
    }
}

impl Drop for Patch {
    fn drop(&mut self) {
        self.shared.alive[self.side].store(false, Ordering::Relaxed);
    }
}

impl RxQueue for PatchRxQueue {
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        // We receive what the other end sent.
        let dir = &self.shared.dirs[1 - self.side];
        let (mut n, mut bytes, mut dropped) = (0usize, 0u64, 0u64);
        {
            let mut r = dir.ring.lock().unwrap_or_else(|e| e.into_inner());
            let cap = r.slots.len();
            while r.len > 0 && !batch.is_full() {
                let h = r.head;
                let len = r.slots[h].len();
                if batch.push_swap(&mut r.slots[h]) {
                    n += 1;
                    bytes += len as u64;
                } else {
                    dropped += 1;
                }
                r.head = (h + 1) % cap;
                r.len -= 1;
            }
            if r.len == 0 {
                dir.drain_event();
            }
        }
        let c = &self.shared.counters[self.side];
        c.add_rx(n as u64, bytes);
        Counters::add(&c.rx_dropped, dropped);
        Ok(n)
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.shared.dirs[1 - self.side].event.as_raw_fd())
    }
}

impl TxQueue for PatchTxQueue {
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let s = &*self.shared;
        let c = &s.counters[self.side];
        let total = batch.len();
        if !s.alive[1 - self.side].load(Ordering::Relaxed) {
            batch.clear();
            Counters::add(&c.tx_dropped, total as u64);
            return Ok(0);
        }
        let dir = &s.dirs[self.side];
        let (mut n, mut bytes) = (0usize, 0u64);
        {
            let mut r = dir.ring.lock().unwrap_or_else(|e| e.into_inner());
            let cap = r.slots.len();
            for p in batch.packets_mut() {
                if r.len == cap {
                    break;
                }
                let t = (r.head + r.len) % cap;
                bytes += p.len() as u64;
                core::mem::swap(&mut r.slots[t], p);
                r.len += 1;
                n += 1;
            }
        }
        // The batch now holds the ring's empty buffers where it sent.
        batch.clear();
        if n > 0 {
            dir.signal();
        }
        c.add_tx(n as u64, bytes);
        Counters::add(&c.tx_dropped, (total - n) as u64);
        Ok(n)
    }
}

impl Netdev for Patch {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> Kind {
        Kind::Patch
    }

    fn ifindex(&self) -> Option<u32> {
        None
    }

    fn n_rxq(&self) -> usize {
        1
    }

    fn n_txq(&self) -> usize {
        1
    }

    fn take_rxq(&self, i: usize) -> Result<Box<dyn RxQueue>, Error> {
        Ok(Box::new(take_slot(&self.name, &self.rxq, i)?))
    }

    fn take_txq(&self, i: usize) -> Result<Box<dyn TxQueue>, Error> {
        Ok(Box::new(take_slot(&self.name, &self.txq, i)?))
    }

    fn link_state(&self) -> LinkState {
        if self.shared.alive[1 - self.side].load(Ordering::Relaxed) {
            LinkState::Up
        } else {
            LinkState::Down
        }
    }

    fn mtu(&self) -> Result<u32, Error> {
        Ok(self.mtu.load(Ordering::Relaxed) as u32)
    }

    fn set_mtu(&self, mtu: u32) -> Result<(), Error> {
        self.mtu.store(mtu as u64, Ordering::Relaxed);
        Ok(())
    }

    fn mac(&self) -> Result<MacAddr, Error> {
        Ok(*self.mac.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn set_mac(&self, mac: MacAddr) -> Result<(), Error> {
        *self.mac.lock().unwrap_or_else(|e| e.into_inner()) = mac;
        Ok(())
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::default();
        self.shared.counters[self.side].sum_into(&mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netdev::{CsumPartial, Offload};

    #[test]
    fn patch_moves_buffers_both_ways() {
        let (a, b) = pair_with("pa", "pb", 4, 2048).unwrap();
        assert_eq!(b.peer(), "pa");
        let mut atx = a.take_txq(0).unwrap();
        let mut brx = b.take_rxq(0).unwrap();
        let mut btx = b.take_txq(0).unwrap();
        let mut arx = a.take_rxq(0).unwrap();
        let mut out = Batch::new(2048);
        let off = Offload {
            csum: Some(CsumPartial {
                start: 34,
                offset: 6,
            }),
            ..Offload::default()
        };
        for i in 0..6u8 {
            out.push_copy(&[i; 64], off);
        }
        let ptr = out.packets()[0].data().as_ptr();
        // Ring of 4: two are dropped.
        assert_eq!(atx.send(&mut out).unwrap(), 4);
        assert!(out.is_empty());
        let mut inb = Batch::new(2048);
        assert_eq!(brx.recv(&mut inb).unwrap(), 4);
        assert_eq!(inb.packets()[0].data().as_ptr(), ptr, "zero-copy");
        assert_eq!(inb.packets()[3].data(), &[3; 64]);
        assert_eq!(inb.packets()[3].offload, off);
        assert_eq!(brx.recv(&mut inb).unwrap(), 0);
        // And back.
        assert_eq!(btx.send(&mut inb).unwrap(), 4);
        let mut back = Batch::new(2048);
        assert_eq!(arx.recv(&mut back).unwrap(), 4);
        assert_eq!(back.packets()[2].data(), &[2; 64]);
        let s = a.stats();
        assert_eq!((s.tx_packets, s.tx_dropped, s.rx_packets), (4, 2, 4));
        // Dropping one end takes the other's link down; sends are dropped.
        drop(b);
        assert_eq!(a.link_state(), LinkState::Down);
        back.push_copy(&[1], Offload::default());
        assert_eq!(atx.send(&mut back).unwrap(), 0);
    }

    #[test]
    fn registry_pairs_ends_opened_one_at_a_time() {
        let r = Registry::new();
        assert!(r.open("x", "x").is_err());
        assert!(r.open("x", "").is_err());
        let a = r.open("a", "b").unwrap();
        let b = r.open("b", "a").unwrap();
        assert_eq!(
            (a.name(), a.peer(), b.name(), b.peer()),
            ("a", "b", "b", "a")
        );
        let mut atx = a.take_txq(0).unwrap();
        let mut brx = b.take_rxq(0).unwrap();
        let mut out = Batch::new(2048);
        out.push_copy(&[9; 20], Offload::default());
        assert_eq!(atx.send(&mut out).unwrap(), 1);
        let mut inb = Batch::new(2048);
        assert_eq!(brx.recv(&mut inb).unwrap(), 1);
        // A waiting end made for another peer is replaced.
        let _c = r.open("c", "d").unwrap();
        let d = r.open("d", "e").unwrap();
        assert_eq!(d.peer(), "e");
        r.forget("e");
    }
}
