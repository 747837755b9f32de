//! The `system` backend: an existing Linux interface over AF_PACKET.
//!
//! Each receive queue is one `AF_PACKET` socket bound to the interface;
//! with several queues the sockets join one `PACKET_FANOUT_HASH` group, so
//! the kernel spreads flows over them. Every socket has:
//! * `PACKET_VNET_HDR`: each received frame is preceded by a virtio-net
//!   header, so frames whose checksum the sender left to "hardware"
//!   (`CHECKSUM_PARTIAL`, the default between veths) and GSO super-packets
//!   arrive with that state in [`super::Offload`] instead of with a wrong
//!   checksum; sends carry the same header, so the kernel completes or
//!   segments.
//! * `PACKET_IGNORE_OUTGOING`: our own transmissions are not received back.
//! * promiscuous membership, dropped when the socket closes.
//!
//! The kernel strips 802.1Q tags into metadata on receive (VLAN offload);
//! the receive path puts the tag back into the frame (and shifts the
//! offload offsets), so the switch sees the frame as sent.
//!
//! Two receive modes ([`RxMode`]):
//! * `Mmsg` (the default): `recvmmsg` straight into the batch's buffers
//!   (the vnet header lands in the headroom), the VLAN tag from
//!   `PACKET_AUXDATA`; one system call per batch, no added latency.
//! * `Ring`: a `TPACKET_V3` receive ring mapped into our memory, copied out
//!   frame by frame; no system call per batch under load, but the kernel
//!   hands over a partly filled block only when its timeout expires (1 ms,
//!   the smallest it takes), so at low rates every frame waits up to 1 ms.
//!   Measured here through two ports at 20 pings/s: RTT 1.3 to 3.8 ms
//!   average with the ring, 0.13 ms with `recvmmsg`, at equal or better
//!   TCP throughput with `recvmmsg` (see `docs/netdev.md`); hence the
//!   default.
//!
//! Ring geometry: `block_size` (default 128 KiB, so one 64 KiB GSO
//! super-packet fits a block) times `block_nr` (default 64) per queue; a
//! block is handed back to the kernel once all its frames were copied out.
//! A frame the kernel had to truncate (bigger than a block) or whose buffer
//! is too small is dropped and counted in `rx_dropped`; ring overruns are
//! added from `PACKET_STATISTICS` when statistics are read.
//!
//! Transmit uses `sendmmsg` on the queue's socket: the vnet header is
//! written into the packet's headroom in front of the frame, so each packet
//! is one contiguous iovec. No allocation, no lock on either path.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex};

use super::{
    Batch, Counters, Error, Kind, LinkState, MacAddr, Netdev, QueueError, RxQueue, Stats, TxQueue,
    sys, take_slot, vnet,
};

/// How a `system` port receives (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxMode {
    /// A TPACKET_V3 ring: no system call per batch under load, but the
    /// kernel hands a partly filled block over only after
    /// `block_timeout_ms`, so at low rates a frame waits up to that long.
    Ring,
    /// `recvmmsg` straight into the batch's buffers: one system call per
    /// batch, no added latency.
    Mmsg,
}

/// Options of a `system` port.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// Number of receive (and transmit) queues: sockets in a fanout group.
    pub n_rxq: usize,
    /// How to receive.
    pub rx_mode: RxMode,
    /// Ring block size in bytes: a power of two multiple of the page size.
    pub block_size: u32,
    /// Ring blocks per queue.
    pub block_nr: u32,
    /// How long (ms) the kernel waits before handing over a partly filled
    /// block: the latency bound at low rates.
    pub block_timeout_ms: u32,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            n_rxq: 1,
            rx_mode: RxMode::Mmsg,
            block_size: 1 << 17,
            block_nr: 64,
            block_timeout_ms: 1,
        }
    }
}

/// A mapped TPACKET_V3 ring; unmapped on drop.
#[derive(Debug)]
struct Ring {
    base: *mut u8,
    len: usize,
    block_size: usize,
    block_nr: usize,
}

// SAFETY: the mapping is owned by one `Ring`, which is owned by one socket
// that one thread uses at a time (`&mut` access through the queue).
unsafe impl Send for Ring {}
// SAFETY: shared references only read `len` and the pointer value; the
// mapping itself is only touched through `&mut` by the owning queue.
unsafe impl Sync for Ring {}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly the mapping made in `open_socket`.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// One AF_PACKET socket and its ring (in [`RxMode::Ring`]).
#[derive(Debug)]
struct Sock {
    ring: Option<Ring>,
    fd: OwnedFd,
    counters: Counters,
    kernel_drops: AtomicU64,
}

impl Sock {
    /// Adds the kernel's drop count (which reading resets) to our counter.
    fn collect_kernel_drops(&self) {
        // SAFETY: plain data; zero is valid.
        let mut st: libc::tpacket_stats_v3 = unsafe { core::mem::zeroed() };
        let mut len = core::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` and `len` are live and sized as the option requires.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if rc == 0 && st.tp_drops != 0 {
            self.kernel_drops
                .fetch_add(st.tp_drops as u64, Ordering::Relaxed);
        }
    }
}

/// An interface opened over AF_PACKET. See the module documentation.
#[derive(Debug)]
pub struct System {
    name: String,
    ifindex: u32,
    socks: Vec<Arc<Sock>>,
    rxqs: Mutex<Vec<Option<SystemRxQueue>>>,
    txqs: Mutex<Vec<Option<SystemTxQueue>>>,
}

/// A receive queue of a [`System`] port.
#[derive(Debug)]
pub struct SystemRxQueue {
    sock: Arc<Sock>,
    /// The block being read.
    block: usize,
    /// Frames of that block already consumed, and the offset of the next.
    done_in_block: u32,
    next_off: usize,
}

/// A transmit queue of a [`System`] port.
#[derive(Debug)]
pub struct SystemTxQueue {
    sock: Arc<Sock>,
}

fn setsockopt<T>(fd: RawFd, level: i32, opt: i32, val: &T) -> i32 {
    // SAFETY: `val` is a live value of the type the option expects, and the
    // length passed is its size.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (val as *const T).cast(),
            core::mem::size_of::<T>() as libc::socklen_t,
        )
    }
}

fn open_socket(name: &str, ifindex: u32, cfg: &SystemConfig) -> Result<Sock, Error> {
    let err = |op| Error::last_os(name, op);
    // Protocol 0: nothing is received before bind, so the ring only sees
    // frames of this interface.
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(err("socket(AF_PACKET)"));
    }
    // SAFETY: `fd` is fresh and owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
    let one: libc::c_int = 1;
    if setsockopt(raw, libc::SOL_PACKET, libc::PACKET_VNET_HDR, &one) < 0 {
        return Err(err("PACKET_VNET_HDR"));
    }
    if setsockopt(raw, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &one) < 0 {
        return Err(err("PACKET_IGNORE_OUTGOING"));
    }
    let ring = match cfg.rx_mode {
        RxMode::Ring => Some(setup_ring(name, raw, cfg)?),
        RxMode::Mmsg => {
            // VLAN tags stripped by the kernel come back as auxiliary data.
            if setsockopt(raw, libc::SOL_PACKET, libc::PACKET_AUXDATA, &one) < 0 {
                return Err(err("PACKET_AUXDATA"));
            }
            // Room for bursts; FORCE needs CAP_NET_ADMIN, else the plain
            // option (capped by rmem_max) is the best we can do.
            let size: libc::c_int = 8 << 20;
            if setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size) < 0 {
                let _ = setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, &size);
            }
            None
        }
    };
    // SAFETY: plain data; zero is valid.
    let mut sll: libc::sockaddr_ll = unsafe { core::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a live sockaddr_ll and the length is its size.
    let rc = unsafe {
        libc::bind(
            raw,
            (&sll as *const libc::sockaddr_ll).cast(),
            core::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(err("bind"));
    }
    let mreq = libc::packet_mreq {
        mr_ifindex: ifindex as i32,
        mr_type: libc::PACKET_MR_PROMISC as u16,
        mr_alen: 0,
        mr_address: [0; 8],
    };
    if setsockopt(raw, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq) < 0 {
        return Err(err("PACKET_ADD_MEMBERSHIP(promisc)"));
    }
    Ok(Sock {
        ring,
        fd,
        counters: Counters::default(),
        kernel_drops: AtomicU64::new(0),
    })
}

/// Sets up and maps the TPACKET_V3 receive ring of socket `raw`.
fn setup_ring(name: &str, raw: RawFd, cfg: &SystemConfig) -> Result<Ring, Error> {
    let err = |op| Error::last_os(name, op);
    let v3: libc::c_int = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
    if setsockopt(raw, libc::SOL_PACKET, libc::PACKET_VERSION, &v3) < 0 {
        return Err(err("PACKET_VERSION"));
    }
    let page = 4096u32;
    if cfg.block_size < page || !cfg.block_size.is_power_of_two() || cfg.block_nr == 0 {
        return Err(Error::Config {
            name: name.to_owned(),
            reason: format!(
                "ring block size {} must be a power of two >= {page}, blocks {} > 0",
                cfg.block_size, cfg.block_nr
            ),
        });
    }
    let frame_size = 2048u32;
    let req = libc::tpacket_req3 {
        tp_block_size: cfg.block_size,
        tp_block_nr: cfg.block_nr,
        tp_frame_size: frame_size,
        tp_frame_nr: cfg.block_size / frame_size * cfg.block_nr,
        tp_retire_blk_tov: cfg.block_timeout_ms.max(1),
        tp_sizeof_priv: 0,
        tp_feature_req_word: 0,
    };
    if setsockopt(raw, libc::SOL_PACKET, libc::PACKET_RX_RING, &req) < 0 {
        return Err(err("PACKET_RX_RING"));
    }
    let len = cfg.block_size as usize * cfg.block_nr as usize;
    // SAFETY: maps the ring the kernel just allocated for this socket; the
    // result is checked and owned by `Ring`, which unmaps it.
    let base = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_LOCKED | libc::MAP_POPULATE,
            raw,
            0,
        )
    };
    let base = if base == libc::MAP_FAILED {
        // MAP_LOCKED can fail under a small memlock limit; retry without it.
        // SAFETY: as above.
        let b = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                raw,
                0,
            )
        };
        if b == libc::MAP_FAILED {
            return Err(err("mmap(rx ring)"));
        }
        b
    } else {
        base
    };
    Ok(Ring {
        base: base.cast(),
        len,
        block_size: cfg.block_size as usize,
        block_nr: cfg.block_nr as usize,
    })
}

fn join_fanout(name: &str, socks: &[Sock]) -> Result<(), Error> {
    const FLAG_UNIQUEID: u32 = 0x2000;
    let Some(first) = socks.first() else {
        return Ok(());
    };
    let arg: u32 = (libc::PACKET_FANOUT_HASH | FLAG_UNIQUEID) << 16;
    if setsockopt(
        first.fd.as_raw_fd(),
        libc::SOL_PACKET,
        libc::PACKET_FANOUT,
        &arg,
    ) < 0
    {
        return Err(Error::last_os(name, "PACKET_FANOUT"));
    }
    let mut got: u32 = 0;
    let mut len = 4 as libc::socklen_t;
    // SAFETY: `got` and `len` are live and sized for the option.
    let rc = unsafe {
        libc::getsockopt(
            first.fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_FANOUT,
            (&mut got as *mut u32).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(Error::last_os(name, "getsockopt(PACKET_FANOUT)"));
    }
    let join: u32 = (got & 0xffff) | (libc::PACKET_FANOUT_HASH << 16);
    for s in &socks[1..] {
        if setsockopt(
            s.fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_FANOUT,
            &join,
        ) < 0
        {
            return Err(Error::last_os(name, "PACKET_FANOUT(join)"));
        }
    }
    Ok(())
}

impl System {
    /// Opens the existing interface `name` with default options.
    pub fn open(name: &str) -> Result<Arc<System>, Error> {
        System::open_with(name, &SystemConfig::default())
    }

    /// Opens the existing interface `name`, brings it up, and sets up
    /// `cfg.n_rxq` sockets.
    pub fn open_with(name: &str, cfg: &SystemConfig) -> Result<Arc<System>, Error> {
        let ifindex = sys::ifindex(name)?;
        sys::set_up(name)?;
        let n = cfg.n_rxq.max(1);
        let mut socks = Vec::with_capacity(n);
        for _ in 0..n {
            socks.push(open_socket(name, ifindex, cfg)?);
        }
        if n > 1 {
            join_fanout(name, &socks)?;
        }
        let socks: Vec<Arc<Sock>> = socks.into_iter().map(Arc::new).collect();
        let rxqs = socks
            .iter()
            .map(|s| {
                Some(SystemRxQueue {
                    sock: s.clone(),
                    block: 0,
                    done_in_block: 0,
                    next_off: 0,
                })
            })
            .collect();
        let txqs = socks
            .iter()
            .map(|s| Some(SystemTxQueue { sock: s.clone() }))
            .collect();
        Ok(Arc::new(System {
            name: name.to_owned(),
            ifindex,
            socks,
            rxqs: Mutex::new(rxqs),
            txqs: Mutex::new(txqs),
        }))
    }
}

/// Block header fields we use, at fixed offsets of `tpacket_block_desc`:
/// `hdr.bh1.block_status` at 8, `num_pkts` at 12, `offset_to_first_pkt`
/// at 16.
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST: usize = 16;

impl SystemRxQueue {
    fn read_u32(p: *const u8) -> u32 {
        // SAFETY: callers pass pointers inside the mapped ring, 4-aligned
        // (block starts are page aligned; frame headers are 16-aligned).
        unsafe { core::ptr::read_volatile(p.cast::<u32>()) }
    }
}

impl RxQueue for SystemRxQueue {
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        if self.sock.ring.is_some() {
            self.recv_ring(batch)
        } else {
            self.recv_mmsg(batch)
        }
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.sock.fd.as_raw_fd())
    }
}

/// Room for one `PACKET_AUXDATA` control message (`CMSG_SPACE` of the
/// 20-byte `tpacket_auxdata` is 40 on 64-bit hosts), 8-aligned.
const CMSG_WORDS: usize = 8;

impl SystemRxQueue {
    fn recv_ring(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let Some(ring) = self.sock.ring.as_ref() else {
            return Ok(0);
        };
        let (base, ring_bs, block_nr) = (ring.base, ring.block_size, ring.block_nr);
        let (mut n, mut bytes, mut dropped, mut errors) = (0usize, 0u64, 0u64, 0u64);
        'blocks: while !batch.is_full() {
            // SAFETY: `self.block < block_nr`, so the block lies inside the
            // mapping.
            let b = unsafe { base.add(self.block * ring_bs) };
            // SAFETY: offsets inside the block header.
            let status = Self::read_u32(unsafe { b.add(BLOCK_STATUS) });
            if status & libc::TP_STATUS_USER == 0 {
                break;
            }
            fence(Ordering::Acquire);
            // SAFETY: as above.
            let num = Self::read_u32(unsafe { b.add(BLOCK_NUM_PKTS) });
            if self.done_in_block == 0 {
                // SAFETY: as above.
                self.next_off = Self::read_u32(unsafe { b.add(BLOCK_FIRST) }) as usize;
            }
            while self.done_in_block < num {
                if batch.is_full() {
                    break 'blocks;
                }
                let off = self.next_off;
                let hdr_len = core::mem::size_of::<libc::tpacket3_hdr>();
                if off + hdr_len > ring_bs {
                    // Corrupt block: skip the rest of it.
                    errors += 1;
                    self.done_in_block = num;
                    break;
                }
                // SAFETY: `off + hdr_len <= block_size`, inside the block;
                // the kernel wrote this header before setting TP_STATUS_USER.
                let h: libc::tpacket3_hdr = unsafe { core::ptr::read_unaligned(b.add(off).cast()) };
                self.done_in_block += 1;
                self.next_off = off + h.tp_next_offset as usize;
                let mac = off + h.tp_mac as usize;
                let snap = h.tp_snaplen as usize;
                if mac < off + vnet::LEN || mac + snap > ring_bs {
                    errors += 1;
                    continue;
                }
                if h.tp_snaplen != h.tp_len {
                    dropped += 1;
                    continue;
                }
                // SAFETY: `[mac - LEN, mac + snap)` lies inside the block
                // (checked above) and the kernel is done writing it.
                let (vh, frame) = unsafe {
                    (
                        &*(b.add(mac - vnet::LEN) as *const [u8; vnet::LEN]),
                        core::slice::from_raw_parts(b.add(mac), snap),
                    )
                };
                let Some(mut offload) = vnet::parse(vh) else {
                    errors += 1;
                    continue;
                };
                let vlan = if h.tp_status & libc::TP_STATUS_VLAN_VALID != 0 {
                    let tpid = if h.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                        h.hv1.tp_vlan_tpid
                    } else {
                        0x8100
                    };
                    Some((tpid, h.hv1.tp_vlan_tci as u16))
                } else {
                    None
                };
                let Some(p) = batch.spare() else {
                    break 'blocks;
                };
                let extra = if vlan.is_some() { 4 } else { 0 };
                let Some(dst) = p.extend(snap + extra) else {
                    dropped += 1;
                    continue;
                };
                match vlan {
                    Some((tpid, tci)) if snap >= 12 => {
                        dst[..12].copy_from_slice(&frame[..12]);
                        dst[12..14].copy_from_slice(&tpid.to_be_bytes());
                        dst[14..16].copy_from_slice(&tci.to_be_bytes());
                        dst[16..].copy_from_slice(&frame[12..]);
                        offload.shift(4);
                    }
                    _ => dst[..snap].copy_from_slice(frame),
                }
                p.truncate(snap + if snap >= 12 { extra } else { 0 });
                p.offload = offload;
                bytes += p.len() as u64;
                batch.commit();
                n += 1;
            }
            // Whole block consumed: give it back.
            fence(Ordering::Release);
            // SAFETY: the status word of a block we own (TP_STATUS_USER).
            unsafe {
                core::ptr::write_volatile(b.add(BLOCK_STATUS).cast::<u32>(), libc::TP_STATUS_KERNEL)
            };
            self.block = (self.block + 1) % block_nr;
            self.done_in_block = 0;
        }
        let c = &self.sock.counters;
        c.add_rx(n as u64, bytes);
        Counters::add(&c.rx_dropped, dropped);
        Counters::add(&c.rx_errors, errors);
        Ok(n)
    }

    fn recv_mmsg(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let fd = self.sock.fd.as_raw_fd();
        let mut iov = [libc::iovec {
            iov_base: core::ptr::null_mut(),
            iov_len: 0,
        }; super::BATCH_SIZE];
        // SAFETY: mmsghdr is plain data; all-zero is valid.
        let mut msgs: [libc::mmsghdr; super::BATCH_SIZE] = unsafe { core::mem::zeroed() };
        let mut cbuf = [[0u64; CMSG_WORDS]; super::BATCH_SIZE];
        let slots = batch.spare_slots();
        let k = slots.len().min(super::BATCH_SIZE);
        if k == 0 {
            return Ok(0);
        }
        for i in 0..k {
            let (buf, start, _) = slots[i].raw_mut();
            let at = start.saturating_sub(vnet::LEN);
            iov[i] = libc::iovec {
                iov_base: buf[at..].as_mut_ptr().cast(),
                iov_len: buf.len() - at,
            };
        }
        for i in 0..k {
            let h = &mut msgs[i].msg_hdr;
            h.msg_iov = &mut iov[i];
            h.msg_iovlen = 1;
            h.msg_control = cbuf[i].as_mut_ptr().cast();
            h.msg_controllen = core::mem::size_of::<[u64; CMSG_WORDS]>() as _;
        }
        // SAFETY: `msgs[..k]` point at live iovecs over the batch's spare
        // buffers and at live control buffers, all unmoved for this call.
        let rc = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                k as libc::c_uint,
                libc::MSG_DONTWAIT,
                core::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return match sys::errno() {
                // ENETDOWN is the socket's pending error after the link went
                // down (or away), reported once: a link event, not a failed
                // receive (sends report a deleted device as `Gone`).
                libc::EAGAIN | libc::EINTR | libc::ENETDOWN => Ok(0),
                e => Err(QueueError::from_errno(e)),
            };
        }
        let r = (rc as usize).min(k);
        let (mut n, mut bytes, mut dropped, mut errors) = (0usize, 0u64, 0u64, 0u64);
        for i in 0..r {
            let p = &mut slots[i];
            let len = msgs[i].msg_len as usize;
            let trunc = msgs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let vlan = auxdata_vlan(&msgs[i].msg_hdr);
            let (buf, start, _) = p.raw_mut();
            let at = start.saturating_sub(vnet::LEN);
            let ok = if trunc {
                dropped += 1;
                false
            } else if len < vnet::LEN + 14 || start - at != vnet::LEN {
                errors += 1;
                false
            } else {
                let mut h = [0u8; vnet::LEN];
                h.copy_from_slice(&buf[at..start]);
                match vnet::parse(&h) {
                    Some(o) if p.set_bounds(start, at + len) => {
                        p.offload = o;
                        if let Some((tpid, tci)) = vlan
                            && p.push_front(4).is_some()
                        {
                            let d = p.data_mut();
                            d.copy_within(4..16, 0);
                            d[12..14].copy_from_slice(&tpid.to_be_bytes());
                            d[14..16].copy_from_slice(&tci.to_be_bytes());
                            p.offload.shift(4);
                        }
                        true
                    }
                    _ => {
                        errors += 1;
                        false
                    }
                }
            };
            if ok {
                n += 1;
                bytes += p.len() as u64;
            } else {
                p.reset();
            }
        }
        batch.commit_n(r);
        if n < r {
            batch.retain(|p| !p.is_empty());
        }
        let c = &self.sock.counters;
        c.add_rx(n as u64, bytes);
        Counters::add(&c.rx_dropped, dropped);
        Counters::add(&c.rx_errors, errors);
        Ok(n)
    }
}

/// The VLAN tag the kernel stripped, from a `PACKET_AUXDATA` control
/// message: `(tpid, tci)`.
fn auxdata_vlan(h: &libc::msghdr) -> Option<(u16, u16)> {
    // SAFETY: `h` was filled by recvmmsg; the CMSG macros only walk within
    // `msg_control[..msg_controllen]`, which is our live buffer.
    let mut c = unsafe { libc::CMSG_FIRSTHDR(h) };
    while !c.is_null() {
        // SAFETY: `c` is a header inside the control buffer (see above).
        let (level, ty) = unsafe { ((*c).cmsg_level, (*c).cmsg_type) };
        if level == libc::SOL_PACKET && ty == libc::PACKET_AUXDATA {
            // SAFETY: a PACKET_AUXDATA message carries a tpacket_auxdata;
            // read unaligned from its data.
            let aux: libc::tpacket_auxdata =
                unsafe { core::ptr::read_unaligned(libc::CMSG_DATA(c).cast()) };
            if aux.tp_status & libc::TP_STATUS_VLAN_VALID == 0 {
                return None;
            }
            let tpid = if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                aux.tp_vlan_tpid
            } else {
                0x8100
            };
            return Some((tpid, aux.tp_vlan_tci));
        }
        // SAFETY: as above.
        c = unsafe { libc::CMSG_NXTHDR(h, c) };
    }
    None
}

impl TxQueue for SystemTxQueue {
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError> {
        let total = batch.len();
        let mut iov: [libc::iovec; super::BATCH_SIZE] = [libc::iovec {
            iov_base: core::ptr::null_mut(),
            iov_len: 0,
        }; super::BATCH_SIZE];
        // SAFETY: mmsghdr is plain data; all-zero is valid.
        let mut msgs: [libc::mmsghdr; super::BATCH_SIZE] = unsafe { core::mem::zeroed() };
        let mut bytes = [0u32; super::BATCH_SIZE];
        let mut count = 0usize;
        let mut errors = 0u64;
        for p in batch.packets_mut() {
            let h = vnet::emit(&p.offload, p.data());
            let len = p.len();
            let Some(room) = p.push_front(vnet::LEN) else {
                errors += 1;
                continue;
            };
            room.copy_from_slice(&h);
            let (buf, start, end) = p.raw_mut();
            iov[count] = libc::iovec {
                iov_base: buf[start..end].as_mut_ptr().cast(),
                iov_len: end - start,
            };
            bytes[count] = len as u32;
            count += 1;
        }
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()).take(count) {
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        let fd = self.sock.fd.as_raw_fd();
        let (mut sent, mut sent_bytes, mut dropped) = (0usize, 0u64, 0u64);
        let mut i = 0usize;
        let mut result = Ok(());
        while i < count {
            // SAFETY: `msgs[i..count]` point at iovecs that point into the
            // batch's buffers, all alive and unmoved for this call.
            let rc = unsafe {
                libc::sendmmsg(
                    fd,
                    msgs[i..].as_mut_ptr(),
                    (count - i) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if rc > 0 {
                let k = rc as usize;
                sent += k;
                sent_bytes += bytes[i..i + k].iter().map(|&b| b as u64).sum::<u64>();
                i += k;
                continue;
            }
            let e = sys::errno();
            match e {
                libc::EAGAIN | libc::ENOBUFS | libc::ENETDOWN => {
                    dropped += (count - i) as u64;
                    break;
                }
                libc::EINTR => continue,
                _ => match QueueError::from_errno(e) {
                    QueueError::Gone => {
                        dropped += (count - i) as u64;
                        result = Err(QueueError::Gone);
                        break;
                    }
                    // This packet is bad (too big, bad offload offsets,
                    // link down): count it and go on with the rest.
                    QueueError::Os(_) => {
                        errors += 1;
                        i += 1;
                    }
                },
            }
        }
        batch.clear();
        let c = &self.sock.counters;
        c.add_tx(sent as u64, sent_bytes);
        Counters::add(&c.tx_dropped, dropped);
        Counters::add(&c.tx_errors, errors);
        debug_assert!(sent as u64 + dropped + errors <= total as u64);
        result.map(|()| sent)
    }
}

impl Netdev for System {
    super::kernel_netdev_common!(socks);

    fn kind(&self) -> Kind {
        Kind::System
    }

    fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for k in &self.socks {
            k.collect_kernel_drops();
            k.counters.sum_into(&mut s);
            s.rx_dropped += k.kernel_drops.load(Ordering::Relaxed);
        }
        s
    }
}
