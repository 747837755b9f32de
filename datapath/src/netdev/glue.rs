//! Glue from a netdev's queues to the fast path's port seam
//! ([`crate::port::RxQueue`], [`crate::port::TxPort`]).
//!
//! [`port_queues`] takes every queue of a port and returns the shared
//! transmit side and one receive adapter per receive queue, ready for
//! `dpif::Datapath::add_port`.
//!
//! Receive ([`NetdevRx`]): receives a batch from the backend into its own
//! [`Batch`] and copies each frame into a buffer from the polling thread's
//! pool. The fast path's packets carry no offload state, so offloads end
//! here: a pending checksum is completed in software, and a GSO
//! super-packet is cut into segments ([`super::segment`]), each in its own
//! pooled buffer. Frames beyond the caller's `max` wait for the next call.
//! A frame whose offload state is malformed is dropped and counted
//! ([`NetdevRx::dropped`]). When the backend reports the device gone, the
//! adapter stops calling it (and returns nothing from then on).
//!
//! Transmit ([`NetdevTx`]): one backend transmit queue per slot, chosen by
//! `qid % n_txq`, each behind a mutex taken once per call (uncontended when
//! every polling thread has its own queue); packets are copied into the
//! slot's batch, sent 32 at a time, and left in the caller's vector for its
//! pool. Returns the number not sent.
//!
//! Neither side allocates in steady state: the batches and the segment
//! queue are made once; pooled buffers are the caller's.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{BATCH_SIZE, Batch, Error, Netdev, Offload, QueueError, segment};
use crate::packet::{Packet as DpPacket, PacketPool};
use crate::port;

/// The receive adapter. See the module documentation.
pub struct NetdevRx {
    q: Box<dyn super::RxQueue>,
    batch: Batch,
    cursor: usize,
    segs: VecDeque<DpPacket>,
    scratch: super::Packet,
    gone: bool,
    dropped: Arc<AtomicU64>,
}

impl core::fmt::Debug for NetdevRx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetdevRx")
            .field("q", &self.q)
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}

impl NetdevRx {
    /// Wraps a receive queue.
    pub fn new(q: Box<dyn super::RxQueue>) -> NetdevRx {
        NetdevRx {
            q,
            batch: Batch::default(),
            cursor: 0,
            segs: VecDeque::with_capacity(128),
            scratch: super::Packet::new(super::packet::DEFAULT_CAPACITY),
            gone: false,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Frames dropped here (malformed offload state), shared counter.
    pub fn dropped(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }

    /// True once the backend reported the device gone.
    pub fn is_gone(&self) -> bool {
        self.gone
    }
}

impl port::RxQueue for NetdevRx {
    fn recv(&mut self, pool: &mut PacketPool, out: &mut Vec<DpPacket>, max: usize) -> usize {
        let mut n = 0usize;
        let mut refilled = false;
        let mut dropped = 0u64;
        loop {
            while n < max {
                let Some(p) = self.segs.pop_front() else {
                    break;
                };
                out.push(p);
                n += 1;
            }
            if n >= max {
                break;
            }
            if self.cursor < self.batch.len() {
                let p = &mut self.batch.packets_mut()[self.cursor];
                self.cursor += 1;
                if p.offload.gso.is_some() {
                    let segs = &mut self.segs;
                    let r = segment::for_each_segment(p, &mut self.scratch, |seg| {
                        let mut d = pool.get();
                        d.set_frame(seg);
                        segs.push_back(d);
                        true
                    });
                    if r.is_err() {
                        dropped += 1;
                    }
                    continue;
                }
                if p.offload.csum.is_some() && !p.complete_csum() {
                    dropped += 1;
                    continue;
                }
                let mut d = pool.get();
                d.set_frame(p.data());
                out.push(d);
                n += 1;
                continue;
            }
            if refilled || self.gone {
                break;
            }
            refilled = true;
            self.batch.clear();
            self.cursor = 0;
            match self.q.recv(&mut self.batch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(QueueError::Gone) => {
                    self.gone = true;
                    break;
                }
                Err(QueueError::Os(_)) => break,
            }
        }
        if dropped != 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        n
    }
}

struct TxSlot {
    q: Box<dyn super::TxQueue>,
    batch: Batch,
}

/// The transmit adapter. See the module documentation.
pub struct NetdevTx {
    slots: Vec<Mutex<TxSlot>>,
}

impl core::fmt::Debug for NetdevTx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetdevTx")
            .field("queues", &self.slots.len())
            .finish()
    }
}

impl port::TxPort for NetdevTx {
    fn send(&self, qid: usize, pkts: &mut Vec<DpPacket>) -> usize {
        let total = pkts.len();
        if self.slots.is_empty() {
            return total;
        }
        let mut slot = self.slots[qid % self.slots.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let TxSlot { q, batch } = &mut *slot;
        let mut sent = 0usize;
        for chunk in pkts.chunks(BATCH_SIZE) {
            batch.clear();
            for p in chunk {
                // A frame bigger than a buffer is not sent (counted below).
                let _ = batch.push_copy(p.data(), Offload::default());
            }
            sent += q.send(batch).unwrap_or(0);
        }
        total.saturating_sub(sent)
    }
}

/// A port's queues as the fast path takes them: the shared transmit side
/// and one receive queue per receive queue of the device.
pub type PortQueues = (Arc<dyn port::TxPort>, Vec<Box<dyn port::RxQueue>>);

/// Takes every queue of `dev`: the shared transmit side and one receive
/// adapter per receive queue.
pub fn port_queues(dev: &dyn Netdev) -> Result<PortQueues, Error> {
    let mut slots = Vec::with_capacity(dev.n_txq());
    for i in 0..dev.n_txq() {
        slots.push(Mutex::new(TxSlot {
            q: dev.take_txq(i)?,
            batch: Batch::default(),
        }));
    }
    let mut rx: Vec<Box<dyn port::RxQueue>> = Vec::with_capacity(dev.n_rxq());
    for i in 0..dev.n_rxq() {
        rx.push(Box::new(NetdevRx::new(dev.take_rxq(i)?)));
    }
    Ok((Arc::new(NetdevTx { slots }), rx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netdev::dummy::Dummy;
    use crate::netdev::{CsumPartial, Gso, GsoKind};
    use crate::wire::{IpProtocol, checksum};

    fn tcp4(payload: usize) -> Vec<u8> {
        let mut f = vec![0u8; 54 + payload];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((40 + payload) as u16).to_be_bytes());
        f[22] = 64;
        f[23] = 6;
        f[26..30].copy_from_slice(&[10, 0, 0, 1]);
        f[30..34].copy_from_slice(&[10, 0, 0, 2]);
        f[46] = 5 << 4;
        f[47] = 0x10;
        let pseudo = checksum::pseudo_header_v4(
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            IpProtocol::Tcp,
            (20 + payload) as u32,
        );
        f[50..52].copy_from_slice(&pseudo.to_be_bytes());
        f
    }

    #[test]
    fn rx_completes_and_segments_tx_copies() {
        let d = Dummy::new("d", 1).unwrap();
        let (tx, mut rxs) = port_queues(&*d).unwrap();
        let rx = &mut rxs[0];
        let csum = Some(CsumPartial {
            start: 34,
            offset: 16,
        });
        d.inject_with(
            0,
            &tcp4(100),
            Offload {
                csum,
                ..Offload::default()
            },
        );
        d.inject_with(
            0,
            &tcp4(3000),
            Offload {
                csum,
                csum_valid: false,
                gso: Some(Gso {
                    kind: GsoKind::TcpV4,
                    size: 1000,
                    ecn: false,
                }),
            },
        );
        d.inject(0, &[7; 60]);
        let mut pool = PacketPool::with_buffers(16);
        let mut out = Vec::new();
        // max 2: the plain checksum-completed frame and the first segment.
        assert_eq!(rx.recv(&mut pool, &mut out, 2), 2);
        assert_eq!(rx.recv(&mut pool, &mut out, 32), 3);
        assert_eq!(rx.recv(&mut pool, &mut out, 32), 0);
        assert_eq!(out.len(), 5);
        for p in &out[..4] {
            let f = p.data();
            let l4 = (f.len() - 34) as u32;
            let pseudo =
                checksum::pseudo_header_v4([10, 0, 0, 1], [10, 0, 0, 2], IpProtocol::Tcp, l4);
            assert!(checksum::verify(pseudo, &f[34..]));
        }
        assert_eq!(out[1].data().len(), 54 + 1000);
        assert_eq!(out[3].data().len(), 54 + 1000);
        assert_eq!(out[4].data(), &[7; 60]);
        // Transmit: copied out, left in the vector, nothing dropped.
        assert_eq!(tx.send(5, &mut out), 0);
        assert_eq!(out.len(), 5);
        let sent = d.take_sent();
        assert_eq!(sent.len(), 5);
        assert_eq!(sent[4].0, vec![7; 60]);
    }
}
