//! Packet buffers as the fast path sees them, and a per-thread pool that
//! recycles them.
//!
//! A [`Packet`] owns a byte buffer with *headroom*: the frame starts
//! [`HEADROOM`] bytes into the buffer when it is filled, so pushing a VLAN tag
//! or an MPLS label stack entry moves the Ethernet header a few bytes to the
//! left instead of moving the whole frame or reallocating. It also carries
//! the per-packet metadata ([`PacketMeta`]) that actions read and write and
//! that a recirculated packet's flow key is built from.
//!
//! A [`PacketPool`] belongs to one polling thread. Buffers it hands out keep
//! their capacity when they come back, so once the pool has warmed up the
//! fast path allocates nothing per packet. The pool never shrinks buffers and
//! has no lock: it is not shared.
//!
//! Invariants: `head <= buf.len()`; the frame is `buf[head..]`. No method
//! panics, whatever the offsets or lengths passed: out-of-range requests are
//! refused (they return `false`) or clamped.

/// Bytes kept free in front of a frame received into a pooled buffer (room
/// for several VLAN tags and MPLS label stack entries).
pub const HEADROOM: usize = 64;

/// Default capacity of a pooled buffer (headroom plus a full Ethernet frame
/// with two tags; larger frames grow the buffer once).
pub const DEFAULT_CAPACITY: usize = HEADROOM + 2048;

/// The most packets handled together: one receive batch.
pub const BATCH_SIZE: usize = 32;

/// Metadata that travels with a packet through actions and recirculation.
/// These are the metadata fields of the flow key a packet is looked up with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketMeta {
    /// Datapath port the packet was received on.
    pub in_port: u32,
    /// Recirculation ID (0 for a packet fresh from a port).
    pub recirc_id: u32,
    /// Datapath hash (set by the `hash` action).
    pub dp_hash: u32,
    /// Queue priority.
    pub skb_priority: u32,
    /// Packet mark.
    pub pkt_mark: u32,
    /// Tunnel ID (set by `set(tunnel(tun_id=..))` for a tunnel output).
    pub tun_id: u64,
    /// How many times the packet has been recirculated.
    pub recirc_depth: u8,
}

impl PacketMeta {
    /// True when every field but `in_port` is zero (a packet straight from a
    /// port: its key's metadata stage needs no writing).
    #[inline]
    pub fn is_plain(&self) -> bool {
        self.recirc_id == 0
            && self.dp_hash == 0
            && self.skb_priority == 0
            && self.pkt_mark == 0
            && self.tun_id == 0
    }
}

/// A frame in an owned buffer with headroom. See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    buf: Vec<u8>,
    head: usize,
    /// Metadata: in_port, recirculation state, marks.
    pub meta: PacketMeta,
}

impl Packet {
    /// A packet holding a copy of `frame`, with [`HEADROOM`] in front.
    pub fn from_slice(frame: &[u8]) -> Packet {
        let mut p = Packet {
            buf: Vec::with_capacity(HEADROOM + frame.len()),
            head: 0,
            meta: PacketMeta::default(),
        };
        p.set_frame(frame);
        p
    }

    /// Replaces the frame with a copy of `frame` (headroom restored, the
    /// buffer reused; it grows only when `frame` is larger than ever before).
    /// The metadata is reset.
    #[inline]
    pub fn set_frame(&mut self, frame: &[u8]) {
        self.buf.clear();
        self.buf.resize(HEADROOM, 0);
        self.buf.extend_from_slice(frame);
        self.head = HEADROOM;
        self.meta = PacketMeta::default();
    }

    /// The frame bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.head..).unwrap_or(&[])
    }

    /// The frame bytes, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let head = self.head;
        self.buf.get_mut(head..).unwrap_or(&mut [])
    }

    /// Frame length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len().saturating_sub(self.head)
    }

    /// True for an empty frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free bytes in front of the frame.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.head
    }

    /// Inserts `n` zero bytes at offset `at` of the frame (the bytes before
    /// `at` move left into the headroom; without headroom the buffer is
    /// reorganised, which allocates). Returns false, changing nothing, when
    /// `at` is past the end of the frame.
    pub fn insert_gap(&mut self, at: usize, n: usize) -> bool {
        if at > self.len() {
            return false;
        }
        if self.head < n {
            // Slow path: make room at the front.
            let grow = n - self.head + HEADROOM;
            self.buf.splice(0..0, core::iter::repeat_n(0u8, grow));
            self.head += grow;
        }
        let old = self.head;
        self.head -= n;
        self.buf.copy_within(old..old + at, self.head);
        self.buf[self.head + at..self.head + at + n].fill(0);
        true
    }

    /// Removes `n` bytes at offset `at` of the frame (the bytes before move
    /// right). Returns false, changing nothing, when the range is not inside
    /// the frame.
    pub fn remove_range(&mut self, at: usize, n: usize) -> bool {
        match at.checked_add(n) {
            Some(end) if end <= self.len() => {}
            _ => return false,
        }
        let old = self.head;
        self.buf.copy_within(old..old + at, old + n);
        self.head += n;
        true
    }

    /// Cuts the frame to at most `len` bytes.
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.buf.truncate(self.head + len);
        }
    }

    /// Capacity of the underlying buffer.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// A per-thread free list of packet buffers. See the module documentation.
#[derive(Debug, Default)]
pub struct PacketPool {
    free: Vec<Packet>,
    allocated: u64,
}

impl PacketPool {
    /// A pool with `n` buffers of [`DEFAULT_CAPACITY`] ready.
    pub fn with_buffers(n: usize) -> PacketPool {
        let mut pool = PacketPool {
            free: Vec::with_capacity(n.max(4 * BATCH_SIZE)),
            allocated: 0,
        };
        for _ in 0..n {
            pool.free.push(Self::fresh());
            pool.allocated += 1;
        }
        pool
    }

    fn fresh() -> Packet {
        Packet {
            buf: Vec::with_capacity(DEFAULT_CAPACITY),
            head: 0,
            meta: PacketMeta::default(),
        }
    }

    /// A buffer from the pool (allocated only when the pool is empty). Its
    /// contents are unspecified: fill it with [`Packet::set_frame`].
    #[inline]
    pub fn get(&mut self) -> Packet {
        match self.free.pop() {
            Some(p) => p,
            None => {
                self.allocated += 1;
                Self::fresh()
            }
        }
    }

    /// A pooled copy of `pkt` (frame and metadata), cut to `max_len` bytes.
    #[inline]
    pub fn clone_packet(&mut self, pkt: &Packet, max_len: usize) -> Packet {
        let mut c = self.get();
        let data = pkt.data();
        c.set_frame(&data[..data.len().min(max_len)]);
        c.meta = pkt.meta;
        c
    }

    /// Returns a buffer to the pool. A buffer without capacity (a
    /// `Packet::default()` placeholder) is not kept.
    #[inline]
    pub fn put(&mut self, pkt: Packet) {
        if pkt.buf.capacity() != 0 {
            self.free.push(pkt);
        }
    }

    /// Returns every packet of `pkts` to the pool, leaving it empty.
    #[inline]
    pub fn put_all(&mut self, pkts: &mut Vec<Packet>) {
        for p in pkts.drain(..) {
            self.put(p);
        }
    }

    /// Buffers ready in the pool.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Buffers this pool has ever allocated (a steady value under steady
    /// traffic shows the fast path does not allocate).
    pub fn allocated(&self) -> u64 {
        self.allocated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_and_remove_use_headroom() {
        let mut p = Packet::from_slice(&[1, 2, 3, 4, 5, 6]);
        let cap = p.capacity();
        assert!(p.insert_gap(2, 3));
        assert_eq!(p.data(), &[1, 2, 0, 0, 0, 3, 4, 5, 6]);
        assert_eq!(p.headroom(), HEADROOM - 3);
        assert!(p.remove_range(2, 3));
        assert_eq!(p.data(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(p.capacity(), cap);
        assert!(!p.insert_gap(7, 1));
        assert!(!p.remove_range(4, 3));
        assert!(!p.remove_range(usize::MAX, 3));
        p.truncate(2);
        assert_eq!(p.data(), &[1, 2]);
    }

    #[test]
    fn gap_without_headroom_still_works() {
        let mut p = Packet::from_slice(&[9; 4]);
        for _ in 0..40 {
            assert!(p.insert_gap(0, 4));
        }
        assert_eq!(p.len(), 164);
        assert_eq!(&p.data()[160..], &[9; 4]);
        let mut empty = Packet::default();
        assert!(empty.data().is_empty());
        assert!(empty.insert_gap(0, 2));
        assert_eq!(empty.data(), &[0, 0]);
    }

    #[test]
    fn pool_recycles() {
        let mut pool = PacketPool::with_buffers(2);
        let mut a = pool.get();
        a.set_frame(&[1; 100]);
        let b = pool.clone_packet(&a, 10);
        assert_eq!(b.data(), &[1; 10]);
        pool.put(a);
        pool.put(b);
        pool.put(Packet::default());
        assert_eq!((pool.available(), pool.allocated()), (2, 2));
        let _ = pool.get();
        let _ = pool.get();
        let _ = pool.get();
        assert_eq!(pool.allocated(), 3);
    }
}
