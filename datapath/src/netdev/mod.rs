//! Netdevs: the port backends the fast path receives from and sends to.
//!
//! # The contract
//!
//! A port is an `Arc<dyn Netdev>`: a *control handle* shared by the control
//! plane (link state, MTU, MAC, statistics, ifindex) and a set of *queues*.
//! Each receive queue is taken once, with [`Netdev::take_rxq`], as a
//! `Box<dyn RxQueue>` that a polling thread owns (it is `Send`, so queues
//! can be moved between threads to rebalance); each transmit queue likewise
//! with [`Netdev::take_txq`]. A queue is single-owner: it needs `&mut self`
//! and takes no lock. When more threads send to a port than it has transmit
//! queues, the fast path shares one `TxQueue` behind a mutex: one lock per
//! batch, never per packet.
//!
//! Receive: [`RxQueue::recv`] appends up to `batch` spare capacity (at most
//! [`BATCH_SIZE`]) packets to a caller-provided [`Batch`] and returns how
//! many it appended; `Ok(0)` means nothing is ready. It never blocks. To
//! sleep when idle, poll [`RxQueue::fd`] for `POLLIN`: after `recv` returned
//! fewer packets than asked for, the fd becomes readable when new packets may
//! be there (spurious wakeups are allowed, missed ones are not). A queue
//! without an fd (`None`) must be busy-polled.
//!
//! Send: [`TxQueue::send`] takes the batch's live packets, sends what it
//! can, and leaves the batch empty (buffers kept for reuse). Packets that
//! cannot be sent (ring full, device down, too big) are dropped and counted
//! in `tx_dropped` (resource) or `tx_errors` (malformed); it never blocks for
//! long (at most one kick of the kernel). A packet carrying [`Offload`] state
//! leaves the port with correct checksums whatever the egress supports:
//! backends that can hand the offload to the kernel do so (AF_PACKET with a
//! vnet header, tap), the others complete checksums and segment GSO
//! super-packets in software ([`Packet::complete_csum`]).
//!
//! Nothing on either path allocates, takes a lock, logs, or panics on any
//! packet bytes. Errors on the packet path are the small `Copy`
//! [`QueueError`]; `QueueError::Gone` means the device disappeared (deleted
//! underneath us): the thread stops polling the queue and the control plane
//! removes the port. Not every backend can see a deletion on every path
//! (an AF_PACKET ring just stays empty; its send reports `Gone`), so the
//! control plane also watches the interface.
//!
//! Statistics are counted per queue in [`Counters`] (relaxed atomics, added
//! once per batch) and summed by [`Netdev::stats`], from the switch's point
//! of view (`rx` = received by the switch).
//!
//! Hot plug: ports are added by opening a netdev and handing its queues to
//! threads; removed by taking the queues back from the threads and dropping
//! them and the control handle. The device's resources (sockets, rings,
//! XDP program, tap fd) are released when the last of these is dropped, so
//! the order does not matter and a thread still holding a queue keeps it
//! valid.
//!
//! # Backends
//!
//! * [`dummy`]: in memory, for tests: inject frames, read what was sent.
//! * [`system`]: an existing Linux interface over AF_PACKET (`recvmmsg` or
//!   a TPACKET_V3 ring, vnet header offloads, fanout for several queues).
//! * [`tap`]: `tap` and `internal` ports, a tap device (`/dev/net/tun`,
//!   vnet header, multi-queue); `internal` is the bridge's LOCAL port.
//! * [`afxdp`]: AF_XDP sockets with a minimal XDP redirect program loaded
//!   by [`bpf`].
//! * [`patch`]: two ports joining two bridges, in memory, zero-copy.
//!
//! [`open()`] opens any of them (but patch) from the database's interface
//! type and options; `dpif::Datapath::add_netdev` hands a port's queues to
//! the fast path. Helpers: [`packet`] (buffers, batches, offload state),
//! [`vnet`] (the virtio-net header), [`segment`] (software GSO), [`sys`]
//! (interface ioctls), [`wrap`] (fault injector and pcap writer around any
//! port, for tests). Patch ports are opened with [`patch::Registry`].
//!
//! Endianness: the virtio-net header is host-endian (legacy virtio), which
//! is what the kernel uses for AF_PACKET and tap on little-endian hosts.

pub mod afxdp;
pub mod bpf;
pub mod dummy;
pub mod open;
pub mod packet;
pub mod patch;
pub mod segment;
pub mod sys;
pub mod system;
pub mod tap;
pub mod vnet;
pub mod wrap;

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};

pub use open::open;
pub use packet::{BATCH_SIZE, Batch, CsumPartial, Gso, GsoKind, Offload, Packet};

/// A 48-bit Ethernet address.
pub type MacAddr = [u8; 6];

/// The backend kinds, named as in the database's `Interface.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// AF_XDP sockets.
    Afxdp,
    /// An existing interface over AF_PACKET (`type=""`/`"system"`).
    System,
    /// A tap device.
    Tap,
    /// The bridge's local port (a tap we create).
    Internal,
    /// One end of a patch pair.
    Patch,
    /// In-memory, for tests.
    Dummy,
}

impl Kind {
    /// The database name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Afxdp => "afxdp",
            Kind::System => "system",
            Kind::Tap => "tap",
            Kind::Internal => "internal",
            Kind::Patch => "patch",
            Kind::Dummy => "dummy",
        }
    }
}

impl core::fmt::Display for Kind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Link state of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Carrier present and administratively up.
    Up,
    /// No carrier or administratively down.
    Down,
}

/// Port statistics, from the switch's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets lost on receive for lack of resources (ring overrun, buffer
    /// too small).
    pub rx_dropped: u64,
    /// Malformed receives.
    pub rx_errors: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets not sent for lack of resources (ring full, device busy).
    pub tx_dropped: u64,
    /// Packets not sent because of an error (too big, bad offload offsets,
    /// device error).
    pub tx_errors: u64,
}

/// Per-queue counters: relaxed atomics the owning thread adds to once per
/// batch; the control plane reads them without a lock.
#[derive(Debug, Default)]
pub struct Counters {
    /// See [`Stats`].
    pub rx_packets: AtomicU64,
    /// See [`Stats`].
    pub rx_bytes: AtomicU64,
    /// See [`Stats`].
    pub rx_dropped: AtomicU64,
    /// See [`Stats`].
    pub rx_errors: AtomicU64,
    /// See [`Stats`].
    pub tx_packets: AtomicU64,
    /// See [`Stats`].
    pub tx_bytes: AtomicU64,
    /// See [`Stats`].
    pub tx_dropped: AtomicU64,
    /// See [`Stats`].
    pub tx_errors: AtomicU64,
}

impl Counters {
    /// Adds a received batch.
    #[inline]
    pub fn add_rx(&self, packets: u64, bytes: u64) {
        if packets != 0 {
            self.rx_packets.fetch_add(packets, Ordering::Relaxed);
            self.rx_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Adds a sent batch.
    #[inline]
    pub fn add_tx(&self, packets: u64, bytes: u64) {
        if packets != 0 {
            self.tx_packets.fetch_add(packets, Ordering::Relaxed);
            self.tx_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Adds to a counter when `n` is nonzero.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        if n != 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds this queue's counts to `s`.
    pub fn sum_into(&self, s: &mut Stats) {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        s.rx_packets += r(&self.rx_packets);
        s.rx_bytes += r(&self.rx_bytes);
        s.rx_dropped += r(&self.rx_dropped);
        s.rx_errors += r(&self.rx_errors);
        s.tx_packets += r(&self.tx_packets);
        s.tx_bytes += r(&self.tx_bytes);
        s.tx_dropped += r(&self.tx_dropped);
        s.tx_errors += r(&self.tx_errors);
    }
}

/// Errors of the control operations (open, configure, take a queue).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call failed.
    #[error("{name}: {op}: {source}")]
    Io {
        /// The port.
        name: String,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// No such queue.
    #[error("{name}: no queue {queue} (the port has {count})")]
    NoQueue {
        /// The port.
        name: String,
        /// The queue asked for.
        queue: usize,
        /// How many there are.
        count: usize,
    },
    /// The queue was already taken.
    #[error("{name}: queue {queue} is already taken")]
    QueueTaken {
        /// The port.
        name: String,
        /// The queue.
        queue: usize,
    },
    /// The backend cannot do this.
    #[error("{name}: {what} is not supported by this port type")]
    Unsupported {
        /// The port.
        name: String,
        /// What was asked.
        what: &'static str,
    },
    /// A bad option value.
    #[error("{name}: invalid configuration: {reason}")]
    Config {
        /// The port.
        name: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Io`] from the last OS error.
    pub fn last_os(name: &str, op: &'static str) -> Error {
        Error::Io {
            name: name.to_owned(),
            op,
            source: std::io::Error::last_os_error(),
        }
    }
}

/// Errors on the packet path: small and `Copy`, never allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// The device disappeared; stop polling this queue.
    Gone,
    /// Another OS error (errno), for the batch as a whole.
    Os(i32),
}

impl QueueError {
    /// Classifies an errno from a receive or send call.
    pub fn from_errno(errno: i32) -> QueueError {
        const ENXIO: i32 = 6;
        const EBADF: i32 = 9;
        const ENODEV: i32 = 19;
        const EBADFD: i32 = 77;
        match errno {
            ENXIO | EBADF | ENODEV | EBADFD => QueueError::Gone,
            e => QueueError::Os(e),
        }
    }
}

impl core::fmt::Display for QueueError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QueueError::Gone => f.write_str("device gone"),
            QueueError::Os(e) => write!(f, "{}", std::io::Error::from_raw_os_error(*e)),
        }
    }
}

/// A port's receive queue, owned by one polling thread.
pub trait RxQueue: Send + core::fmt::Debug {
    /// Appends up to `batch`'s spare capacity in received packets to
    /// `batch`; returns how many. Never blocks, allocates, locks or logs.
    fn recv(&mut self, batch: &mut Batch) -> Result<usize, QueueError>;

    /// An fd that polls readable (`POLLIN`) when packets may be waiting, or
    /// `None` when the queue must be busy-polled. Valid as long as the queue.
    fn fd(&self) -> Option<RawFd>;
}

/// A port's transmit queue, owned by one thread at a time.
pub trait TxQueue: Send + core::fmt::Debug {
    /// Sends the batch's live packets and empties the batch; returns how many
    /// were handed to the device (the rest are counted as dropped or
    /// errors). Never blocks for long, allocates, locks or logs.
    fn send(&mut self, batch: &mut Batch) -> Result<usize, QueueError>;
}

/// A port: its control handle. `Send + Sync`; shared with `Arc`.
pub trait Netdev: Send + Sync + core::fmt::Debug {
    /// The port's name (the interface name for kernel devices).
    fn name(&self) -> &str;

    /// Which backend.
    fn kind(&self) -> Kind;

    /// The kernel interface index, when the port is a kernel device.
    fn ifindex(&self) -> Option<u32>;

    /// Number of receive queues.
    fn n_rxq(&self) -> usize;

    /// Number of transmit queues.
    fn n_txq(&self) -> usize;

    /// Takes receive queue `i` (once; moving the box moves ownership).
    fn take_rxq(&self, i: usize) -> Result<Box<dyn RxQueue>, Error>;

    /// Takes transmit queue `i` (once).
    fn take_txq(&self, i: usize) -> Result<Box<dyn TxQueue>, Error>;

    /// Current link state.
    fn link_state(&self) -> LinkState;

    /// Current MTU (L3 bytes, as `ip link` shows it).
    fn mtu(&self) -> Result<u32, Error>;

    /// Sets the MTU.
    fn set_mtu(&self, mtu: u32) -> Result<(), Error>;

    /// The Ethernet address.
    fn mac(&self) -> Result<MacAddr, Error>;

    /// Sets the Ethernet address.
    fn set_mac(&self, mac: MacAddr) -> Result<(), Error>;

    /// Statistics summed over all queues.
    fn stats(&self) -> Stats;

    /// The in-memory port behind this handle, when it is one (through any
    /// wrapper): lets the control plane inject frames and read what was
    /// sent (`netdev-dummy/receive`-style test commands).
    fn as_dummy(&self) -> Option<&dummy::Dummy> {
        None
    }
}

/// Takes exactly-once queue objects out of a table, reporting the right
/// error. For backends.
/// The `Netdev` methods every backend over a kernel interface implements
/// the same way: the name, the ifindex, the queue slots (`rxqs`/`txqs`,
/// taken once each) and link state, MTU and MAC through the interface's
/// ioctls by name. `$queues` is the field whose length is the number of
/// receive and transmit queues. The implementing type needs `name: String`,
/// `ifindex: u32`, `rxqs` and `txqs`; `sys`, `take_slot`, `Error`,
/// `LinkState`, `MacAddr`, `RxQueue` and `TxQueue` must be in scope.
macro_rules! kernel_netdev_common {
    ($queues:ident) => {
        fn name(&self) -> &str {
            &self.name
        }

        fn ifindex(&self) -> Option<u32> {
            Some(self.ifindex)
        }

        fn n_rxq(&self) -> usize {
            self.$queues.len()
        }

        fn n_txq(&self) -> usize {
            self.$queues.len()
        }

        fn take_rxq(&self, i: usize) -> Result<Box<dyn RxQueue>, Error> {
            Ok(Box::new(take_slot(&self.name, &self.rxqs, i)?))
        }

        fn take_txq(&self, i: usize) -> Result<Box<dyn TxQueue>, Error> {
            Ok(Box::new(take_slot(&self.name, &self.txqs, i)?))
        }

        fn link_state(&self) -> LinkState {
            sys::link_state(&self.name)
        }

        fn mtu(&self) -> Result<u32, Error> {
            sys::mtu(&self.name)
        }

        fn set_mtu(&self, mtu: u32) -> Result<(), Error> {
            sys::set_mtu(&self.name, mtu)
        }

        fn mac(&self) -> Result<MacAddr, Error> {
            sys::mac(&self.name)
        }

        fn set_mac(&self, mac: MacAddr) -> Result<(), Error> {
            sys::set_mac(&self.name, mac)
        }
    };
}
pub(crate) use kernel_netdev_common;

pub(crate) fn take_slot<T>(
    name: &str,
    slots: &std::sync::Mutex<Vec<Option<T>>>,
    i: usize,
) -> Result<T, Error> {
    let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
    let count = slots.len();
    match slots.get_mut(i) {
        None => Err(Error::NoQueue {
            name: name.to_owned(),
            queue: i,
            count,
        }),
        Some(slot) => slot.take().ok_or_else(|| Error::QueueTaken {
            name: name.to_owned(),
            queue: i,
        }),
    }
}
