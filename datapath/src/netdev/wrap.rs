//! Wrappers around any netdev, for tests and debugging: a seeded fault
//! injector ([`Faulty`]) and a pcap writer ([`Pcap`]).
//!
//! Both wrap an `Arc<dyn Netdev>` and are one themselves: control
//! operations and statistics pass through to the inner port, and each
//! queue taken from the wrapper wraps the inner queue.
//!
//! * [`Faulty`] drops and corrupts (flips one byte of) received and sent
//!   frames with configured probabilities, from a per-queue xorshift
//!   generator seeded from the configured seed and the queue number, so a
//!   run is reproducible for a given seed and traffic. No allocation, no
//!   lock. Dropped frames are counted by the wrapper ([`Faulty::injected`]),
//!   not in the port's statistics.
//! * [`Pcap`] appends every frame received and sent to a classic pcap file
//!   (microsecond timestamps, Ethernet link type). It does I/O for each
//!   batch under a lock: a debugging tool, never for production traffic.

use std::io::Write;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Batch, Error, Kind, LinkState, MacAddr, Netdev, QueueError, RxQueue, Stats, TxQueue};

/// Probabilities (per million frames) of each fault, and the seed.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultConfig {
    /// Seed of the generators.
    pub seed: u64,
    /// Received frames dropped, per million.
    pub rx_drop_ppm: u32,
    /// Sent frames dropped, per million.
    pub tx_drop_ppm: u32,
    /// Frames (either way) with one byte flipped, per million.
    pub corrupt_ppm: u32,
}

#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        // SplitMix64 of (seed, stream): never zero for xorshift.
        let mut z = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x6a09_e667_f3bc_c909;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn hit(&mut self, ppm: u32) -> bool {
        ppm != 0 && (self.next() % 1_000_000) < ppm as u64
    }
}

/// A fault-injecting wrapper. See the module documentation.
#[derive(Debug)]
pub struct Faulty {
    inner: Arc<dyn Netdev>,
    cfg: FaultConfig,
    injected: Arc<AtomicU64>,
}

impl Faulty {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Netdev>, cfg: FaultConfig) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner,
            cfg,
            injected: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Faults injected so far (drops and corruptions).
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct FaultyQueue<Q> {
    q: Q,
    rng: Rng,
    drop_ppm: u32,
    corrupt_ppm: u32,
    injected: Arc<AtomicU64>,
}

impl<Q> FaultyQueue<Q> {
    /// Applies faults to the packets of `batch` from index `from` on.
    fn apply(&mut self, batch: &mut Batch, from: usize) {
        let mut i = 0usize;
        let mut n = 0u64;
        let (d, c) = (self.drop_ppm, self.corrupt_ppm);
        let rng = &mut self.rng;
        batch.retain(|p| {
            let idx = i;
            i += 1;
            if idx < from {
                return true;
            }
            if rng.hit(d) {
                n += 1;
                return false;
            }
            if !p.is_empty() && rng.hit(c) {
                let at = (rng.next() % p.len() as u64) as usize;
                if let Some(b) = p.data_mut().get_mut(at) {
                    *b ^= 0xff;
                }
                n += 1;
            }
            true
        });
        if n != 0 {
            self.injected.fetch_add(n, Ordering::Relaxed);
        }
    }
}

impl RxQueue for FaultyQueue<Box<dyn RxQueue>> {
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let before = batch.len();
        self.q.recv(batch)?;
        self.apply(batch, before);
        Ok(batch.len() - before)
    }

    fn fd(&self) -> Option<RawFd> {
        self.q.fd()
    }
}

impl TxQueue for FaultyQueue<Box<dyn TxQueue>> {
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        self.apply(batch, 0);
        self.q.send(batch)
    }
}

/// Control operations that pass straight to `self.inner`.
macro_rules! pass_through {
    () => {
        fn name(&self) -> &str {
            self.inner.name()
        }
        fn kind(&self) -> Kind {
            self.inner.kind()
        }
        fn ifindex(&self) -> Option<u32> {
            self.inner.ifindex()
        }
        fn n_rxq(&self) -> usize {
            self.inner.n_rxq()
        }
        fn n_txq(&self) -> usize {
            self.inner.n_txq()
        }
        fn link_state(&self) -> LinkState {
            self.inner.link_state()
        }
        fn mtu(&self) -> Result<u32, Error> {
            self.inner.mtu()
        }
        fn set_mtu(&self, mtu: u32) -> Result<(), Error> {
            self.inner.set_mtu(mtu)
        }
        fn mac(&self) -> Result<MacAddr, Error> {
            self.inner.mac()
        }
        fn set_mac(&self, mac: MacAddr) -> Result<(), Error> {
            self.inner.set_mac(mac)
        }
        fn stats(&self) -> Stats {
            self.inner.stats()
        }
        fn as_dummy(&self) -> Option<&super::dummy::Dummy> {
            self.inner.as_dummy()
        }
    };
}

impl Netdev for Faulty {
    pass_through!();

    fn take_rxq(&self, i: usize) -> Result<Box<dyn RxQueue>, Error> {
        Ok(Box::new(FaultyQueue {
            q: self.inner.take_rxq(i)?,
            rng: Rng::new(self.cfg.seed, 2 * i as u64),
            drop_ppm: self.cfg.rx_drop_ppm,
            corrupt_ppm: self.cfg.corrupt_ppm,
            injected: self.injected.clone(),
        }))
    }

    fn take_txq(&self, i: usize) -> Result<Box<dyn TxQueue>, Error> {
        Ok(Box::new(FaultyQueue {
            q: self.inner.take_txq(i)?,
            rng: Rng::new(self.cfg.seed, 2 * i as u64 + 1),
            drop_ppm: self.cfg.tx_drop_ppm,
            corrupt_ppm: self.cfg.corrupt_ppm,
            injected: self.injected.clone(),
        }))
    }
}

/// A pcap-writing wrapper. See the module documentation.
#[derive(Debug)]
pub struct Pcap {
    inner: Arc<dyn Netdev>,
    file: Arc<Mutex<std::io::BufWriter<std::fs::File>>>,
}

impl Pcap {
    /// Wraps `inner`, writing to a new pcap file at `path`.
    pub fn new(inner: Arc<dyn Netdev>, path: &std::path::Path) -> Result<Arc<Pcap>, Error> {
        let io = |source| Error::Io {
            name: inner.name().to_owned(),
            op: "pcap file",
            source,
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        f.write_all(&h).map_err(io)?;
        f.flush().map_err(io)?;
        Ok(Arc::new(Pcap {
            inner,
            file: Arc::new(Mutex::new(f)),
        }))
    }
}

#[derive(Debug)]
struct PcapQueue<Q> {
    q: Q,
    file: Arc<Mutex<std::io::BufWriter<std::fs::File>>>,
}

impl<Q> PcapQueue<Q> {
    fn write(&self, batch: &Batch, from: usize) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        for p in batch.packets().iter().skip(from) {
            let len = p.len() as u32;
            let mut rec = [0u8; 16];
            rec[0..4].copy_from_slice(&(now.as_secs() as u32).to_le_bytes());
            rec[4..8].copy_from_slice(&now.subsec_micros().to_le_bytes());
            rec[8..12].copy_from_slice(&len.to_le_bytes());
            rec[12..16].copy_from_slice(&len.to_le_bytes());
            let _ = f.write_all(&rec);
            let _ = f.write_all(p.data());
        }
        let _ = f.flush();
    }
}

impl RxQueue for PcapQueue<Box<dyn RxQueue>> {
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let before = batch.len();
        let n = self.q.recv(batch)?;
        if n > 0 {
            self.write(batch, before);
        }
        Ok(n)
    }

    fn fd(&self) -> Option<RawFd> {
        self.q.fd()
    }
}

impl TxQueue for PcapQueue<Box<dyn TxQueue>> {
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        if !batch.is_empty() {
            self.write(batch, 0);
        }
        self.q.send(batch)
    }
}

impl Netdev for Pcap {
    pass_through!();

    fn take_rxq(&self, i: usize) -> Result<Box<dyn RxQueue>, Error> {
        Ok(Box::new(PcapQueue {
            q: self.inner.take_rxq(i)?,
            file: self.file.clone(),
        }))
    }

    fn take_txq(&self, i: usize) -> Result<Box<dyn TxQueue>, Error> {
        Ok(Box::new(PcapQueue {
            q: self.inner.take_txq(i)?,
            file: self.file.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netdev::Offload;
    use crate::netdev::dummy::Dummy;

    #[test]
    fn faulty_is_reproducible_and_roughly_calibrated() {
        let run = |seed| {
            let d = Dummy::with_queue_len("d", 1, 20_000).unwrap();
            let f = Faulty::new(
                d.clone(),
                FaultConfig {
                    seed,
                    rx_drop_ppm: 100_000,
                    tx_drop_ppm: 0,
                    corrupt_ppm: 50_000,
                },
            );
            let mut rx = f.take_rxq(0).unwrap();
            for i in 0..10_000u32 {
                d.inject(0, &i.to_be_bytes());
            }
            let mut got = Vec::new();
            let mut b = Batch::new(64);
            loop {
                b.clear();
                if rx.recv(&mut b).unwrap() == 0 {
                    break;
                }
                got.extend(b.packets().iter().map(|p| p.data().to_vec()));
            }
            (got, f.injected())
        };
        let (a, ia) = run(7);
        let (b, ib) = run(7);
        assert_eq!(a, b);
        assert_eq!(ia, ib);
        assert!((8_500..9_500).contains(&a.len()), "{}", a.len());
        let (c, _) = run(8);
        assert_ne!(a, c);
    }

    #[test]
    fn pcap_records_both_directions() {
        let d = Dummy::new("d", 1).unwrap();
        let path = std::env::temp_dir().join(format!("rvs-pcap-{}.pcap", std::process::id()));
        let p = Pcap::new(d.clone(), &path).unwrap();
        let mut rx = p.take_rxq(0).unwrap();
        let mut tx = p.take_txq(0).unwrap();
        d.inject(0, &[1; 60]);
        let mut b = Batch::new(2048);
        assert_eq!(rx.recv(&mut b).unwrap(), 1);
        b.clear();
        b.push_copy(&[2; 70], Offload::default());
        tx.send(&mut b).unwrap();
        drop((rx, tx, p));
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(bytes.len(), 24 + 16 + 60 + 16 + 70);
        assert_eq!(&bytes[0..4], &0xa1b2_c3d4u32.to_le_bytes());
        assert_eq!(bytes[24 + 16], 1);
        assert_eq!(bytes[24 + 16 + 60 + 16], 2);
    }
}
