//! The `tap` and `internal` backends: a tap device from `/dev/net/tun`.
//!
//! Each queue is one file descriptor attached with `TUNSETIFF` (`IFF_TAP`,
//! `IFF_NO_PI`, `IFF_VNET_HDR`, and `IFF_MULTI_QUEUE` when there are several
//! queues; the kernel spreads the host's transmissions over them). A queue
//! is both a receive and a transmit queue: `take_rxq(i)` and `take_txq(i)`
//! share descriptor `i`.
//!
//! Offloads: `TUNSETOFFLOAD` tells the kernel we accept checksum-partial
//! frames and TCP (and, when the kernel knows it, UDP) segmentation
//! super-packets, so the host's stack hands them to us unsegmented, with a
//! virtio-net header in front; writes carry the same header, so frames we
//! forward from another offload-capable port need no software checksum.
//! With [`TapConfig::offloads`] off, the host's kernel completes and
//! segments instead (frames still carry a header, with no offload state).
//!
//! Receive reads each frame straight into the packet buffer, the header
//! landing in the headroom; transmit writes the header into the headroom
//! and the header plus frame with one `write`. One system call per packet,
//! no allocation, no lock.
//!
//! `tap` opens the named tap, creating it if it does not exist (an existing
//! persistent tap must have been made with the same queue mode), and brings
//! it up. `internal` is the bridge's LOCAL port: a tap we create, which the
//! host addresses like any interface; its administrative state is left to
//! the host. Either vanishes when the last descriptor closes, unless it was
//! made persistent by someone else. Moving the device to another network
//! namespace keeps the queues working, but the control operations (MTU,
//! MAC, link state), which go by name in our namespace, then fail or report
//! the link down.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

use super::{
    Batch, Counters, Error, Kind, LinkState, MacAddr, Netdev, QueueError, RxQueue, Stats, TxQueue,
    sys, take_slot, vnet,
};

/// Options of a tap port.
#[derive(Debug, Clone)]
pub struct TapConfig {
    /// Number of queues (descriptors).
    pub n_queues: usize,
    /// Accept checksum-partial and segmentation-offload frames from the
    /// host (`TUNSETOFFLOAD`). Off, the host's kernel completes checksums
    /// and segments before handing frames to us: better when the fast path
    /// would segment in software anyway.
    pub offloads: bool,
}

impl Default for TapConfig {
    fn default() -> Self {
        TapConfig {
            n_queues: 1,
            offloads: true,
        }
    }
}

#[derive(Debug)]
struct Queue {
    fd: OwnedFd,
    counters: Counters,
}

/// A tap device. See the module documentation.
#[derive(Debug)]
pub struct Tap {
    name: String,
    kind: Kind,
    ifindex: u32,
    queues: Vec<Arc<Queue>>,
    rxqs: Mutex<Vec<Option<TapRxQueue>>>,
    txqs: Mutex<Vec<Option<TapTxQueue>>>,
}

/// A receive queue of a [`Tap`].
#[derive(Debug)]
pub struct TapRxQueue {
    q: Arc<Queue>,
}

/// A transmit queue of a [`Tap`].
#[derive(Debug)]
pub struct TapTxQueue {
    q: Arc<Queue>,
}

fn attach(name: &str, multi: bool, offloads: bool) -> Result<OwnedFd, Error> {
    // SAFETY: the path is a NUL-terminated literal; the result is checked.
    let fd = unsafe {
        libc::open(
            c"/dev/net/tun".as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Error::last_os(name, "open /dev/net/tun"));
    }
    // SAFETY: `fd` is fresh and owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(Error::Config {
            name: name.to_owned(),
            reason: "bad interface name".into(),
        });
    }
    // SAFETY: plain data; all-zero is valid.
    let mut r: libc::ifreq = unsafe { core::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let mut flags = libc::IFF_TAP | libc::IFF_NO_PI | libc::IFF_VNET_HDR;
    if multi {
        flags |= libc::IFF_MULTI_QUEUE;
    }
    r.ifr_ifru.ifru_flags = flags as libc::c_short;
    // SAFETY: `r` is a live ifreq the ioctl reads and writes within.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut r as *mut libc::ifreq) } < 0 {
        return Err(Error::last_os(name, "TUNSETIFF"));
    }
    let hdr_sz: libc::c_int = vnet::LEN as libc::c_int;
    // SAFETY: TUNSETVNETHDRSZ reads one int from a live pointer.
    if unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TUNSETVNETHDRSZ,
            &hdr_sz as *const libc::c_int,
        )
    } < 0
    {
        return Err(Error::last_os(name, "TUNSETVNETHDRSZ"));
    }
    if !offloads {
        // SAFETY: TUNSETOFFLOAD takes its argument by value.
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETOFFLOAD, 0 as libc::c_ulong) } < 0 {
            return Err(Error::last_os(name, "TUNSETOFFLOAD"));
        }
        return Ok(fd);
    }
    let base = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6 | libc::TUN_F_TSO_ECN;
    let with_uso = base | libc::TUN_F_USO4 | libc::TUN_F_USO6;
    // SAFETY: TUNSETOFFLOAD takes its argument by value.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TUNSETOFFLOAD,
            with_uso as libc::c_ulong,
        )
    };
    if rc < 0 {
        // SAFETY: as above; the fallback for kernels without USO.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETOFFLOAD, base as libc::c_ulong) };
        if rc < 0 {
            return Err(Error::last_os(name, "TUNSETOFFLOAD"));
        }
    }
    Ok(fd)
}

impl Tap {
    /// Opens (or creates) the tap `name` with one queue, and brings it up.
    pub fn open(name: &str) -> Result<Arc<Tap>, Error> {
        Tap::open_with(name, &TapConfig::default())
    }

    /// Opens (or creates) the tap `name` with `cfg.n_queues` queues, and
    /// brings it up.
    pub fn open_with(name: &str, cfg: &TapConfig) -> Result<Arc<Tap>, Error> {
        let t = Tap::build(name, Kind::Tap, cfg)?;
        sys::set_up(name)?;
        Ok(t)
    }

    /// Creates the internal port `name` (a new tap; fails if an interface of
    /// that name exists) with `n_queues` queues. Its admin state is left
    /// down, for the host to configure.
    pub fn internal(name: &str, n_queues: usize) -> Result<Arc<Tap>, Error> {
        Tap::internal_with(
            name,
            &TapConfig {
                n_queues,
                ..TapConfig::default()
            },
        )
    }

    /// As [`Tap::internal`], with all tap options.
    pub fn internal_with(name: &str, cfg: &TapConfig) -> Result<Arc<Tap>, Error> {
        if sys::ifindex(name).is_ok() {
            return Err(Error::Config {
                name: name.to_owned(),
                reason: "an interface of this name already exists".into(),
            });
        }
        Tap::build(name, Kind::Internal, cfg)
    }

    fn build(name: &str, kind: Kind, cfg: &TapConfig) -> Result<Arc<Tap>, Error> {
        let n = cfg.n_queues.max(1);
        let mut queues = Vec::with_capacity(n);
        for _ in 0..n {
            queues.push(Arc::new(Queue {
                fd: attach(name, n > 1, cfg.offloads)?,
                counters: Counters::default(),
            }));
        }
        let ifindex = sys::ifindex(name)?;
        let rxqs = queues
            .iter()
            .map(|q| Some(TapRxQueue { q: q.clone() }))
            .collect();
        let txqs = queues
            .iter()
            .map(|q| Some(TapTxQueue { q: q.clone() }))
            .collect();
        Ok(Arc::new(Tap {
            name: name.to_owned(),
            kind,
            ifindex,
            queues,
            rxqs: Mutex::new(rxqs),
            txqs: Mutex::new(txqs),
        }))
    }
}

impl RxQueue for TapRxQueue {
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let fd = self.q.fd.as_raw_fd();
        let (mut n, mut bytes, mut dropped, mut errors) = (0usize, 0u64, 0u64, 0u64);
        let mut result = Ok(());
        while let Some(p) = batch.spare() {
            let (buf, start, _) = p.raw_mut();
            let Some(at) = start.checked_sub(vnet::LEN) else {
                break;
            };
            let room = buf.len() - at;
            // SAFETY: reads at most `room` bytes into `buf[at..]`, which is
            // inside the live buffer.
            let rc = unsafe { libc::read(fd, buf[at..].as_mut_ptr().cast(), room) };
            if rc < 0 {
                let e = sys::errno();
                match e {
                    libc::EAGAIN | libc::EINTR => {}
                    _ => {
                        if let QueueError::Gone = QueueError::from_errno(e) {
                            result = Err(QueueError::Gone);
                        } else {
                            errors += 1;
                        }
                    }
                }
                break;
            }
            let len = rc as usize;
            if len < vnet::LEN {
                errors += 1;
                continue;
            }
            if len == room {
                // Possibly truncated: the buffer is too small for this frame.
                dropped += 1;
                continue;
            }
            let mut h = [0u8; vnet::LEN];
            h.copy_from_slice(&buf[at..start]);
            let Some(offload) = vnet::parse(&h) else {
                errors += 1;
                continue;
            };
            if !p.set_bounds(start, at + len) {
                errors += 1;
                continue;
            }
            p.offload = offload;
            bytes += (len - vnet::LEN) as u64;
            batch.commit();
            n += 1;
        }
        let c = &self.q.counters;
        c.add_rx(n as u64, bytes);
        Counters::add(&c.rx_dropped, dropped);
        Counters::add(&c.rx_errors, errors);
        result.map(|()| n)
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.q.fd.as_raw_fd())
    }
}

impl TxQueue for TapTxQueue {
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let fd = self.q.fd.as_raw_fd();
        let (mut sent, mut bytes, mut dropped, mut errors) = (0usize, 0u64, 0u64, 0u64);
        let mut result = Ok(());
        let total = batch.len();
        for (i, p) in batch.packets_mut().iter_mut().enumerate() {
            let h = vnet::emit(&p.offload, p.data());
            let len = p.len();
            let Some(room) = p.push_front(vnet::LEN) else {
                errors += 1;
                continue;
            };
            room.copy_from_slice(&h);
            let data = p.data();
            // SAFETY: writes `data`, a live slice, to our descriptor.
            let rc = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
            p.pull_front(vnet::LEN);
            if rc >= 0 {
                sent += 1;
                bytes += len as u64;
                continue;
            }
            match sys::errno() {
                // The device is not up or its queue is full.
                libc::EAGAIN | libc::ENOBUFS | libc::EIO => dropped += 1,
                e => {
                    if let QueueError::Gone = QueueError::from_errno(e) {
                        dropped += (total - i) as u64;
                        result = Err(QueueError::Gone);
                        break;
                    }
                    errors += 1;
                }
            }
        }
        batch.clear();
        let c = &self.q.counters;
        c.add_tx(sent as u64, bytes);
        Counters::add(&c.tx_dropped, dropped);
        Counters::add(&c.tx_errors, errors);
        result.map(|()| sent)
    }
}

impl Netdev for Tap {
    super::kernel_netdev_common!(queues);

    fn kind(&self) -> Kind {
        self.kind
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for q in &self.queues {
            q.counters.sum_into(&mut s);
        }
        s
    }
}
