//! The `afxdp` backend: AF_XDP sockets fed by a minimal XDP redirect
//! program ([`super::bpf`]).
//!
//! Setup, per port: an `XSKMAP` with one slot per queue, the redirect
//! program attached with a BPF link in the chosen [`XdpMode`] (native in the
//! driver, generic in the kernel's receive path, or best-effort: native,
//! falling back to generic), and per queue `i` one AF_XDP socket bound to
//! queue `i` of the interface, with its own UMEM, registered in slot `i`.
//! Frames of a queue without a socket go to the kernel stack (`XDP_PASS`).
//! Dropping the port (last handle and queues) closes the sockets and the
//! link, which detaches the program.
//!
//! UMEM: `frames` chunks of `frame_size` bytes per queue (defaults 4096 x
//! 4096 B). The first half of the frames belongs to receive: they cycle
//! between the fill ring and the receive ring, and each received frame is
//! copied into the caller's [`Batch`] and put straight back on the fill
//! ring. The second half belongs to transmit: a free stack, from which
//! `send` copies each packet into a frame for the TX ring; completed frames
//! come back through the completion ring. The two halves are touched by the
//! receive and the transmit queue respectively, so they can be owned by
//! different threads without a lock. Ring sizes (fill, completion, rx, tx)
//! are configurable powers of two.
//!
//! Need-wakeup (`XDP_USE_NEED_WAKEUP`) is on: the kernel is kicked
//! (`sendto` for TX, `recvfrom` for an empty fill ring) only when the ring
//! flag asks for it, so an idle or busy queue makes no system calls.
//!
//! Offloads: AF_XDP carries no virtio-net header, so received frames have
//! no offload state (the sender must not leave checksums to the device: on
//! a veth, turn `tx-checksumming` off on the peer); a packet sent with a
//! pending checksum has it completed in software; a GSO super-packet is
//! segmented in software ([`super::segment`]).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::bpf::{Program, XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XdpLink, XskMap};
use super::{
    Batch, Counters, Error, Kind, LinkState, MacAddr, Netdev, Packet, QueueError, RxQueue, Stats,
    TxQueue, segment, sys, take_slot,
};

/// Where the XDP program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpMode {
    /// In the driver (`XDP_FLAGS_DRV_MODE`); fails if the driver lacks XDP.
    Native,
    /// In the kernel's generic receive path (`XDP_FLAGS_SKB_MODE`); works
    /// on every interface, copies every frame.
    Generic,
    /// Native, falling back to generic when the driver refuses.
    BestEffort,
}

/// Options of an `afxdp` port.
#[derive(Debug, Clone)]
pub struct AfxdpConfig {
    /// Number of queues (sockets), bound to the interface's queues `0..n`.
    pub n_rxq: usize,
    /// Where the program runs.
    pub mode: XdpMode,
    /// UMEM chunks per queue (even; half receive, half transmit).
    pub frames: u32,
    /// UMEM chunk size: 2048 or 4096.
    pub frame_size: u32,
    /// Fill and completion ring entries (power of two).
    pub fill_ring: u32,
    /// RX and TX ring entries (power of two).
    pub ring: u32,
}

impl Default for AfxdpConfig {
    fn default() -> Self {
        AfxdpConfig {
            n_rxq: 1,
            mode: XdpMode::BestEffort,
            frames: 4096,
            frame_size: 4096,
            fill_ring: 2048,
            ring: 2048,
        }
    }
}

/// A memory mapping, unmapped on drop.
#[derive(Debug)]
struct Mapping {
    base: *mut u8,
    len: usize,
}

// SAFETY: a mapping is plain memory; which parts each thread touches is
// governed by the ring protocol documented in the module (receive frames,
// transmit frames and each ring have exactly one user).
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(len: usize, fd: RawFd, offset: u64, name: &str) -> Result<Mapping, Error> {
        let (flags, fd) = if fd < 0 {
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1)
        } else {
            (libc::MAP_SHARED | libc::MAP_POPULATE, fd)
        };
        // SAFETY: a fresh mapping, result checked; owned by the `Mapping`.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os(name, "mmap"));
        }
        Ok(Mapping {
            base: p.cast(),
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `Mapping::new`.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// One mapped ring: a single-producer single-consumer queue shared with
/// the kernel. We are the producer of fill and TX, the consumer of RX and
/// completion.
#[derive(Debug)]
struct Ring {
    _map: Mapping,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    desc: *mut u8,
    mask: u32,
    size: u32,
    /// Our copy of the index we own, and a cached copy of the other.
    local: u32,
    cached: u32,
}

// SAFETY: the ring is used by the one queue object that owns it.
unsafe impl Send for Ring {}

impl Ring {
    fn new(
        fd: RawFd,
        off: &libc::xdp_ring_offset,
        size: u32,
        entry: usize,
        pgoff: u64,
        we_produce: bool,
        name: &str,
    ) -> Result<Ring, Error> {
        let len = off.desc as usize + size as usize * entry;
        let map = Mapping::new(len, fd, pgoff, name)?;
        // SAFETY: the offsets come from XDP_MMAP_OFFSETS and lie inside the
        // mapping; the index words are 4-aligned u32s the kernel updates
        // atomically.
        let (producer, consumer, flags, desc) = unsafe {
            (
                map.base.add(off.producer as usize) as *const AtomicU32,
                map.base.add(off.consumer as usize) as *const AtomicU32,
                map.base.add(off.flags as usize) as *const AtomicU32,
                map.base.add(off.desc as usize),
            )
        };
        let mut r = Ring {
            _map: map,
            producer,
            consumer,
            flags,
            desc,
            mask: size - 1,
            size,
            local: 0,
            cached: 0,
        };
        // Both indices start where the kernel has them; which one is ours
        // (`local`) depends on the ring's direction.
        let (p, c) = (
            r.prod().load(Ordering::Relaxed),
            r.cons().load(Ordering::Relaxed),
        );
        (r.local, r.cached) = if we_produce { (p, c) } else { (c, p) };
        Ok(r)
    }

    fn prod(&self) -> &AtomicU32 {
        // SAFETY: points into our live mapping (see `new`).
        unsafe { &*self.producer }
    }

    fn cons(&self) -> &AtomicU32 {
        // SAFETY: as above.
        unsafe { &*self.consumer }
    }

    fn needs_wakeup(&self) -> bool {
        // SAFETY: as above.
        unsafe { &*self.flags }.load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    // -- producer side (fill, tx): `local` = producer, `cached` = consumer.

    fn free_slots(&mut self) -> u32 {
        let free = self.size - self.local.wrapping_sub(self.cached);
        if free > 0 {
            return free;
        }
        self.cached = self.cons().load(Ordering::Acquire);
        self.size - self.local.wrapping_sub(self.cached)
    }

    fn submit(&mut self) {
        self.prod().store(self.local, Ordering::Release);
    }

    // -- consumer side (rx, completion): `local` = consumer, `cached` = producer.

    fn available(&mut self) -> u32 {
        let avail = self.cached.wrapping_sub(self.local);
        if avail > 0 {
            return avail;
        }
        self.cached = self.prod().load(Ordering::Acquire);
        self.cached.wrapping_sub(self.local)
    }

    fn release(&mut self) {
        self.cons().store(self.local, Ordering::Release);
    }

    // -- entries.

    fn addr_slot(&self, idx: u32) -> *mut u64 {
        // SAFETY: `idx & mask < size`, inside the descriptor array of u64s.
        unsafe { (self.desc as *mut u64).add((idx & self.mask) as usize) }
    }

    fn xdp_desc_slot(&self, idx: u32) -> *mut libc::xdp_desc {
        // SAFETY: `idx & mask < size`, inside the descriptor array.
        unsafe { (self.desc as *mut libc::xdp_desc).add((idx & self.mask) as usize) }
    }
}

/// The XDP program, its map and its link: shared by the port and every
/// queue, so the program stays attached while any of them lives.
#[derive(Debug)]
struct Attach {
    _link: XdpLink,
    _prog: Program,
    map: XskMap,
}

/// The socket and UMEM a queue's receive and transmit halves share.
#[derive(Debug)]
struct Xsk {
    /// Keeps the program attached; dropped after the socket (field order).
    _attach: Arc<Attach>,
    fd: OwnedFd,
    umem: Mapping,
    frame_size: u32,
    counters: Counters,
}

impl Xsk {
    fn frame(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let a = addr as usize;
        if a.checked_add(len)? > self.umem.len {
            return None;
        }
        // SAFETY: in bounds (checked); the frame belongs to the caller by
        // the ring protocol (the kernel handed it over).
        Some(unsafe { core::slice::from_raw_parts(self.umem.base.add(a), len) })
    }

    #[allow(clippy::mut_from_ref)]
    fn frame_mut(&self, addr: u64, len: usize) -> Option<&mut [u8]> {
        let a = addr as usize;
        if a.checked_add(len)? > self.umem.len {
            return None;
        }
        // SAFETY: in bounds (checked); transmit frames from the free stack
        // are owned by the one transmit queue until submitted.
        Some(unsafe { core::slice::from_raw_parts_mut(self.umem.base.add(a), len) })
    }

    fn kernel_stats(&self) -> Option<libc::xdp_statistics> {
        // SAFETY: plain data; zero is valid.
        let mut st: libc::xdp_statistics = unsafe { core::mem::zeroed() };
        let mut len = core::mem::size_of::<libc::xdp_statistics>() as libc::socklen_t;
        // SAFETY: `st`/`len` are live and sized for the option.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_STATISTICS,
                (&mut st as *mut libc::xdp_statistics).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(st)
    }
}

/// An interface opened with AF_XDP. See the module documentation.
#[derive(Debug)]
pub struct Afxdp {
    name: String,
    ifindex: u32,
    mode: XdpMode,
    xsks: Vec<Arc<Xsk>>,
    rxqs: Mutex<Vec<Option<AfxdpRxQueue>>>,
    txqs: Mutex<Vec<Option<AfxdpTxQueue>>>,
    _attach: Arc<Attach>,
}

/// A receive queue of an [`Afxdp`] port.
#[derive(Debug)]
pub struct AfxdpRxQueue {
    xsk: Arc<Xsk>,
    rx: Ring,
    fill: Ring,
}

/// A transmit queue of an [`Afxdp`] port.
#[derive(Debug)]
pub struct AfxdpTxQueue {
    st: TxState,
    /// Where software segmentation builds each segment.
    scratch: Packet,
}

/// The transmit rings and frames of one queue.
#[derive(Debug)]
struct TxState {
    xsk: Arc<Xsk>,
    tx: Ring,
    comp: Ring,
    /// Free transmit frames (a stack; capacity = all transmit frames).
    free: Vec<u64>,
    /// Frames on the TX ring in this call, not yet submitted.
    pending: u32,
}

fn setsockopt<T>(fd: RawFd, opt: i32, v: &T) -> i32 {
    // SAFETY: `v` is a live value of the option's type and size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_XDP,
            opt,
            (v as *const T).cast(),
            core::mem::size_of::<T>() as libc::socklen_t,
        )
    }
}

struct QueueParts {
    xsk: Arc<Xsk>,
    rx: AfxdpRxQueue,
    tx: AfxdpTxQueue,
}

fn open_queue(
    name: &str,
    ifindex: u32,
    queue: u32,
    cfg: &AfxdpConfig,
    bind_flags: u16,
    attach: &Arc<Attach>,
) -> Result<QueueParts, Error> {
    let err = |op| Error::last_os(name, op);
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(err("socket(AF_XDP)"));
    }
    // SAFETY: fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
    let umem_len = cfg.frames as usize * cfg.frame_size as usize;
    let umem = Mapping::new(umem_len, -1, 0, name)?;
    let reg = libc::xdp_umem_reg {
        addr: umem.base as u64,
        len: umem_len as u64,
        chunk_size: cfg.frame_size,
        headroom: 0,
        flags: 0,
        tx_metadata_len: 0,
    };
    if setsockopt(raw, libc::XDP_UMEM_REG, &reg) < 0 {
        return Err(err("XDP_UMEM_REG"));
    }
    for (opt, n, what) in [
        (
            libc::XDP_UMEM_FILL_RING,
            cfg.fill_ring,
            "XDP_UMEM_FILL_RING",
        ),
        (
            libc::XDP_UMEM_COMPLETION_RING,
            cfg.fill_ring,
            "XDP_UMEM_COMPLETION_RING",
        ),
        (libc::XDP_RX_RING, cfg.ring, "XDP_RX_RING"),
        (libc::XDP_TX_RING, cfg.ring, "XDP_TX_RING"),
    ] {
        if setsockopt(raw, opt, &n) < 0 {
            return Err(err(what));
        }
    }
    // SAFETY: plain data; zero is valid.
    let mut off: libc::xdp_mmap_offsets = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
    // SAFETY: `off`/`len` are live and sized for the option.
    let rc = unsafe {
        libc::getsockopt(
            raw,
            libc::SOL_XDP,
            libc::XDP_MMAP_OFFSETS,
            (&mut off as *mut libc::xdp_mmap_offsets).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(err("XDP_MMAP_OFFSETS"));
    }
    let desc = core::mem::size_of::<libc::xdp_desc>();
    let mut fill = Ring::new(
        raw,
        &off.fr,
        cfg.fill_ring,
        8,
        libc::XDP_UMEM_PGOFF_FILL_RING,
        true,
        name,
    )?;
    let comp = Ring::new(
        raw,
        &off.cr,
        cfg.fill_ring,
        8,
        libc::XDP_UMEM_PGOFF_COMPLETION_RING,
        false,
        name,
    )?;
    let rx = Ring::new(
        raw,
        &off.rx,
        cfg.ring,
        desc,
        libc::XDP_PGOFF_RX_RING as u64,
        false,
        name,
    )?;
    let tx = Ring::new(
        raw,
        &off.tx,
        cfg.ring,
        desc,
        libc::XDP_PGOFF_TX_RING as u32 as u64,
        true,
        name,
    )?;
    // Receive frames: the first half, as many as the fill ring takes.
    let half = cfg.frames / 2;
    let n_fill = half.min(fill.free_slots());
    for i in 0..n_fill {
        let slot = fill.addr_slot(fill.local);
        // SAFETY: a slot of the fill ring we produce into.
        unsafe { slot.write(i as u64 * cfg.frame_size as u64) };
        fill.local = fill.local.wrapping_add(1);
    }
    fill.submit();
    let free: Vec<u64> = (half..cfg.frames)
        .map(|i| i as u64 * cfg.frame_size as u64)
        .collect();
    let sxdp = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: bind_flags | libc::XDP_USE_NEED_WAKEUP,
        sxdp_ifindex: ifindex,
        sxdp_queue_id: queue,
        sxdp_shared_umem_fd: 0,
    };
    // SAFETY: a live sockaddr_xdp and its size.
    let rc = unsafe {
        libc::bind(
            raw,
            (&sxdp as *const libc::sockaddr_xdp).cast(),
            core::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(err("bind(AF_XDP)"));
    }
    let xsk = Arc::new(Xsk {
        _attach: attach.clone(),
        fd,
        umem,
        frame_size: cfg.frame_size,
        counters: Counters::default(),
    });
    Ok(QueueParts {
        xsk: xsk.clone(),
        rx: AfxdpRxQueue {
            xsk: xsk.clone(),
            rx,
            fill,
        },
        tx: AfxdpTxQueue {
            st: TxState {
                xsk,
                tx,
                comp,
                free,
                pending: 0,
            },
            scratch: Packet::new(cfg.frame_size as usize),
        },
    })
}

fn check_config(name: &str, cfg: &AfxdpConfig) -> Result<(), Error> {
    let bad = |reason: String| {
        Err(Error::Config {
            name: name.to_owned(),
            reason,
        })
    };
    if cfg.frame_size != 2048 && cfg.frame_size != 4096 {
        return bad(format!("frame_size {} (2048 or 4096)", cfg.frame_size));
    }
    if cfg.frames < 4 || !cfg.frames.is_multiple_of(2) {
        return bad(format!("frames {} (even, >= 4)", cfg.frames));
    }
    for (n, what) in [(cfg.fill_ring, "fill_ring"), (cfg.ring, "ring")] {
        if !n.is_power_of_two() || n < 2 {
            return bad(format!("{what} {n} (a power of two)"));
        }
    }
    Ok(())
}

impl Afxdp {
    /// Opens interface `name` with AF_XDP (see [`AfxdpConfig`]). Brings the
    /// interface up.
    pub fn open(name: &str, cfg: &AfxdpConfig) -> Result<Arc<Afxdp>, Error> {
        check_config(name, cfg)?;
        let ifindex = sys::ifindex(name)?;
        sys::set_up(name)?;
        let n = cfg.n_rxq.max(1);
        let io = |op: &'static str| {
            move |source| Error::Io {
                name: name.to_owned(),
                op,
                source,
            }
        };
        let map = XskMap::new(n as u32).map_err(io("BPF_MAP_CREATE(xskmap)"))?;
        let prog = Program::redirect_to(&map).map_err(io("BPF_PROG_LOAD(xdp)"))?;
        let (link, mode) = match cfg.mode {
            XdpMode::Native => (
                prog.attach(ifindex, XDP_FLAGS_DRV_MODE)
                    .map_err(io("attach XDP (native)"))?,
                XdpMode::Native,
            ),
            XdpMode::Generic => (
                prog.attach(ifindex, XDP_FLAGS_SKB_MODE)
                    .map_err(io("attach XDP (generic)"))?,
                XdpMode::Generic,
            ),
            XdpMode::BestEffort => match prog.attach(ifindex, XDP_FLAGS_DRV_MODE) {
                Ok(l) => (l, XdpMode::Native),
                Err(_) => (
                    prog.attach(ifindex, XDP_FLAGS_SKB_MODE)
                        .map_err(io("attach XDP (generic fallback)"))?,
                    XdpMode::Generic,
                ),
            },
        };
        let attach = Arc::new(Attach {
            _link: link,
            _prog: prog,
            map,
        });
        let mut xsks = Vec::with_capacity(n);
        let mut rxqs = Vec::with_capacity(n);
        let mut txqs = Vec::with_capacity(n);
        for q in 0..n as u32 {
            let parts = match mode {
                // Zero-copy when the driver supports it, copy otherwise.
                XdpMode::Native => open_queue(name, ifindex, q, cfg, 0, &attach)?,
                _ => open_queue(name, ifindex, q, cfg, libc::XDP_COPY, &attach)?,
            };
            attach
                .map
                .set(q, parts.xsk.fd.as_raw_fd())
                .map_err(io("BPF_MAP_UPDATE_ELEM(xskmap)"))?;
            xsks.push(parts.xsk);
            rxqs.push(Some(parts.rx));
            txqs.push(Some(parts.tx));
        }
        Ok(Arc::new(Afxdp {
            name: name.to_owned(),
            ifindex,
            mode,
            xsks,
            rxqs: Mutex::new(rxqs),
            txqs: Mutex::new(txqs),
            _attach: attach,
        }))
    }

    /// The mode the program actually runs in (after any fallback).
    pub fn mode(&self) -> XdpMode {
        self.mode
    }
}

impl RxQueue for AfxdpRxQueue {
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let want = (super::BATCH_SIZE - batch.len()) as u32;
        let avail = self.rx.available().min(want);
        let (mut n, mut bytes, mut dropped) = (0usize, 0u64, 0u64);
        let chunk_mask = !(self.xsk.frame_size as u64 - 1);
        for _ in 0..avail {
            // SAFETY: a slot of the RX ring between our consumer index and
            // the kernel's producer index, which the kernel has filled.
            let d = unsafe { self.rx.xdp_desc_slot(self.rx.local).read() };
            self.rx.local = self.rx.local.wrapping_add(1);
            let ok = match (self.xsk.frame(d.addr, d.len as usize), batch.spare()) {
                (Some(f), Some(p)) => p.set_data(f),
                _ => false,
            };
            if ok {
                bytes += d.len as u64;
                batch.commit();
                n += 1;
            } else {
                dropped += 1;
            }
            // Recycle the frame: the fill ring has room for every receive
            // frame, so this slot is free.
            let slot = self.fill.addr_slot(self.fill.local);
            // SAFETY: a fill-ring slot we produce into.
            unsafe { slot.write(d.addr & chunk_mask) };
            self.fill.local = self.fill.local.wrapping_add(1);
        }
        if avail > 0 {
            self.rx.release();
            self.fill.submit();
        } else if self.fill.needs_wakeup() {
            // SAFETY: a zero-length nonblocking receive, only to kick the
            // driver into refilling.
            unsafe {
                libc::recvfrom(
                    self.xsk.fd.as_raw_fd(),
                    core::ptr::null_mut(),
                    0,
                    libc::MSG_DONTWAIT,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                )
            };
        }
        let c = &self.xsk.counters;
        c.add_rx(n as u64, bytes);
        Counters::add(&c.rx_dropped, dropped);
        Ok(n)
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.xsk.fd.as_raw_fd())
    }
}

impl TxState {
    /// Takes completed frames back into the free stack.
    fn reap(&mut self) {
        let n = self.comp.available();
        for _ in 0..n {
            // SAFETY: a completion slot the kernel filled.
            let addr = unsafe { self.comp.addr_slot(self.comp.local).read() };
            self.comp.local = self.comp.local.wrapping_add(1);
            if self.free.len() < self.free.capacity() {
                self.free.push(addr);
            }
        }
        if n > 0 {
            self.comp.release();
        }
    }

    /// Copies one frame into a free UMEM frame on the TX ring; false when
    /// out of frames or ring slots.
    fn enqueue(&mut self, frame: &[u8]) -> bool {
        if self.tx.free_slots() == 0 {
            return false;
        }
        let Some(addr) = self.free.pop() else {
            return false;
        };
        let Some(dst) = self.xsk.frame_mut(addr, frame.len()) else {
            self.free.push(addr);
            return false;
        };
        dst.copy_from_slice(frame);
        let slot = self.tx.xdp_desc_slot(self.tx.local);
        // SAFETY: a TX slot we produce into.
        unsafe {
            slot.write(libc::xdp_desc {
                addr,
                len: frame.len() as u32,
                options: 0,
            })
        };
        self.tx.local = self.tx.local.wrapping_add(1);
        self.pending += 1;
        true
    }

    /// Publishes the enqueued frames and kicks the kernel if it asks. In
    /// copy mode the kernel sends at most 32 frames per kick and answers
    /// `EAGAIN` while more wait, so this kicks until the ring is drained,
    /// at most `pending / 32 + 2` times.
    fn flush(&mut self) -> Result<(), QueueError> {
        if self.pending == 0 {
            return Ok(());
        }
        let mut tries = self.pending / 32 + 2;
        self.pending = 0;
        self.tx.submit();
        while self.tx.needs_wakeup() && tries > 0 {
            tries -= 1;
            // SAFETY: a zero-length nonblocking send that only kicks the
            // kernel to process the TX ring.
            let rc = unsafe {
                libc::sendto(
                    self.xsk.fd.as_raw_fd(),
                    core::ptr::null(),
                    0,
                    libc::MSG_DONTWAIT,
                    core::ptr::null(),
                    0,
                )
            };
            if rc >= 0 {
                if self.tx.cons().load(Ordering::Acquire) == self.tx.local {
                    break;
                }
                continue;
            }
            match sys::errno() {
                libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::EINTR => continue,
                e if QueueError::from_errno(e) == QueueError::Gone => {
                    return Err(QueueError::Gone);
                }
                _ => break,
            }
        }
        Ok(())
    }
}

impl TxQueue for AfxdpTxQueue {
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let st = &mut self.st;
        st.reap();
        let fs = st.xsk.frame_size as usize;
        let (mut sent, mut bytes, mut dropped, mut errors) = (0usize, 0u64, 0u64, 0u64);
        for p in batch.packets_mut() {
            if p.offload.gso.is_some() {
                let mut ok = true;
                let r = segment::for_each_segment(p, &mut self.scratch, |seg| {
                    if seg.len() <= fs && st.enqueue(seg) {
                        sent += 1;
                        bytes += seg.len() as u64;
                    } else {
                        ok = false;
                    }
                    ok
                });
                match r {
                    Ok(_) if ok => {}
                    Ok(_) => dropped += 1,
                    Err(_) => errors += 1,
                }
                continue;
            }
            if p.offload.csum.is_some() && !p.complete_csum() {
                errors += 1;
                continue;
            }
            if p.len() > fs {
                errors += 1;
                continue;
            }
            let len = p.len();
            if st.enqueue(p.data()) {
                sent += 1;
                bytes += len as u64;
            } else {
                dropped += 1;
            }
        }
        batch.clear();
        let result = st.flush();
        let c = &st.xsk.counters;
        c.add_tx(sent as u64, bytes);
        Counters::add(&c.tx_dropped, dropped);
        Counters::add(&c.tx_errors, errors);
        result.map(|()| sent)
    }
}

impl Netdev for Afxdp {
    super::kernel_netdev_common!(xsks);

    fn kind(&self) -> Kind {
        Kind::Afxdp
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for x in &self.xsks {
            x.counters.sum_into(&mut s);
            if let Some(k) = x.kernel_stats() {
                s.rx_dropped += k.rx_dropped + k.rx_ring_full;
                s.rx_errors += k.rx_invalid_descs;
                s.tx_errors += k.tx_invalid_descs;
            }
        }
        s
    }
}
