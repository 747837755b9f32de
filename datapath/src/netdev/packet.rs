//! Packet buffers and batches: the memory every port backend receives into
//! and sends from.
//!
//! A [`Packet`] is one preallocated buffer with headroom (so the fast path
//! can push a VLAN tag or a tunnel header without moving the payload) and
//! the offload state a virtio-net header carries ([`Offload`]). A [`Batch`]
//! holds up to [`BATCH_SIZE`] packets whose buffers are allocated once, when
//! the batch is made; receiving, sending and moving packets between batches
//! never allocates ([`Batch::push_swap`] exchanges buffers).
//!
//! Memory: a default batch reserves 32 buffers of [`DEFAULT_CAPACITY`]
//! (about 2 MiB) so that any GSO super-packet fits. The buffers are
//! allocated zeroed, which the allocator mostly serves with fresh pages from
//! the kernel: capacity no frame has touched costs address space, not
//! memory (measured: 50 default batches, 100 MiB reserved, added 14 MiB of
//! resident memory).
//! Batches that never see super-packets can be made smaller with
//! [`Batch::new`].
//!
//! Invariants:
//! * `headroom() + len() + tailroom() == capacity` of the buffer, always;
//!   no method panics on any length or offset: they return `false`/`None`.
//! * [`Offload`] offsets are relative to the start of [`Packet::data`]. A
//!   change that inserts or removes bytes before `csum.start` (push/pop VLAN,
//!   tunnel push/pop) must call [`Offload::shift`].
//! * When `offload.csum` is set, the L4 checksum field holds the *folded,
//!   uncomplemented* pseudo-header sum (Linux CHECKSUM_PARTIAL); the rest of
//!   the L4 checksum is still to be computed. A fast-path action that
//!   rewrites addresses or ports of such a packet calls
//!   [`Packet::complete_csum`] first (or updates the pseudo sum itself).

use crate::wire::checksum;

/// The most packets a batch holds; the most one `recv` returns.
pub const BATCH_SIZE: usize = 32;

/// Bytes kept free in front of received data, for headers the fast path
/// pushes and for the virtio-net header backends read in front of a frame.
pub const HEADROOM: usize = 256;

/// The default data capacity of a packet buffer: a whole GSO super-packet
/// fits (an IP packet of up to 65535 bytes plus Ethernet and VLAN headers).
pub const DEFAULT_CAPACITY: usize = 65536 + 512;

/// A checksum left to be completed ("CHECKSUM_PARTIAL",
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`): the one's-complement sum of
/// `data[start..]` goes, complemented, at `data[start + offset..][..2]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsumPartial {
    /// Where summing starts (the L4 header), from the start of the frame.
    pub start: u16,
    /// Where the checksum field is, from `start` (16 for TCP, 6 for UDP).
    pub offset: u16,
}

/// The kind of a segmentation-offload super-packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GsoKind {
    /// TCP over IPv4 (TSO).
    TcpV4,
    /// TCP over IPv6.
    TcpV6,
    /// UDP segmentation (USO, `UDP_SEGMENT`).
    UdpL4,
}

/// A super-packet that is to be cut into `size`-byte segments of payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gso {
    /// What kind of segmentation.
    pub kind: GsoKind,
    /// Payload bytes per segment (the MSS for TCP).
    pub size: u16,
    /// The sender set ECN on the first segment (`VIRTIO_NET_HDR_GSO_ECN`).
    pub ecn: bool,
}

/// Offload state that travels with a packet between ports that can take it
/// (AF_PACKET with `PACKET_VNET_HDR`, tap with `IFF_VNET_HDR`, patch,
/// dummy). Backends whose egress cannot take it complete the checksum and
/// segment in software before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offload {
    /// The L4 checksum is still to be completed.
    pub csum: Option<CsumPartial>,
    /// The receiver already verified the L4 checksum
    /// (`VIRTIO_NET_HDR_F_DATA_VALID`); informational.
    pub csum_valid: bool,
    /// The packet is a super-packet to be segmented on egress.
    pub gso: Option<Gso>,
}

impl Offload {
    /// Adjusts offsets after `delta` bytes were inserted (positive) or
    /// removed (negative) in front of the L4 header. Clears `csum` when the
    /// offset would leave the u16 range (the packet then fails to complete
    /// and is dropped by the egress as malformed rather than corrupted).
    pub fn shift(&mut self, delta: isize) {
        if let Some(c) = &mut self.csum {
            match (c.start as isize)
                .checked_add(delta)
                .and_then(|s| u16::try_from(s).ok())
            {
                Some(s) => c.start = s,
                None => self.csum = None,
            }
        }
    }

    /// True when nothing is pending.
    pub fn is_none(&self) -> bool {
        self.csum.is_none() && self.gso.is_none()
    }
}

/// One packet buffer: `buf[start..end]` is the frame.
pub struct Packet {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Checksum/segmentation offload state.
    pub offload: Offload,
}

impl core::fmt::Debug for Packet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Packet")
            .field("len", &self.len())
            .field("headroom", &self.start)
            .field("offload", &self.offload)
            .finish()
    }
}

impl Packet {
    /// A buffer with [`HEADROOM`] bytes of headroom and `capacity` bytes for
    /// data. Allocates; done once per buffer, never per packet.
    pub fn new(capacity: usize) -> Packet {
        Packet {
            buf: vec![0u8; HEADROOM + capacity].into_boxed_slice(),
            start: HEADROOM,
            end: HEADROOM,
            offload: Offload::default(),
        }
    }

    /// The frame bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The frame bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// Frame length.
    #[inline]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True for an empty frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// Free bytes in front of the frame.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.start
    }

    /// Free bytes after the frame.
    #[inline]
    pub fn tailroom(&self) -> usize {
        self.buf.len() - self.end
    }

    /// Total buffer size, headroom included.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    /// Empties the packet: standard headroom, no data, no offload.
    #[inline]
    pub fn reset(&mut self) {
        self.start = HEADROOM.min(self.buf.len());
        self.end = self.start;
        self.offload = Offload::default();
    }

    /// Replaces the frame with a copy of `bytes` (standard headroom, offload
    /// cleared). False, and the packet is left empty, when it does not fit.
    pub fn set_data(&mut self, bytes: &[u8]) -> bool {
        self.reset();
        if bytes.len() > self.tailroom() {
            return false;
        }
        self.end = self.start + bytes.len();
        self.buf[self.start..self.end].copy_from_slice(bytes);
        true
    }

    /// Grows the frame by `n` bytes at the front and returns them
    /// (uninitialised content: whatever the buffer held). `None` when the
    /// headroom is too small.
    pub fn push_front(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.start {
            return None;
        }
        self.start -= n;
        Some(&mut self.buf[self.start..self.start + n])
    }

    /// Removes `n` bytes from the front. False when the frame is shorter.
    pub fn pull_front(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.start += n;
        true
    }

    /// Grows the frame by `n` bytes at the end and returns them. `None` when
    /// the tailroom is too small.
    pub fn extend(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.tailroom() {
            return None;
        }
        let old = self.end;
        self.end += n;
        Some(&mut self.buf[old..self.end])
    }

    /// Shortens the frame to `len` bytes (no-op when already shorter).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.end = self.start + len;
        }
    }

    /// For backends: the whole buffer and the current `(start, end)`.
    /// Pair with [`Packet::set_bounds`] after writing into it directly.
    #[inline]
    pub fn raw_mut(&mut self) -> (&mut [u8], usize, usize) {
        (&mut self.buf, self.start, self.end)
    }

    /// For backends: sets the frame to `buf[start..end]`. False, and nothing
    /// changes, when the bounds are out of range.
    #[inline]
    pub fn set_bounds(&mut self, start: usize, end: usize) -> bool {
        if start <= end && end <= self.buf.len() {
            self.start = start;
            self.end = end;
            true
        } else {
            false
        }
    }

    /// Completes a pending checksum in software (see [`Offload::csum`]).
    /// False, and the packet is unchanged, when the offsets do not fit the
    /// frame; the caller drops it then.
    pub fn complete_csum(&mut self) -> bool {
        let Some(c) = self.offload.csum else {
            return true;
        };
        let start = c.start as usize;
        let field = start + c.offset as usize;
        let data = self.data_mut();
        if field + 2 > data.len() {
            return false;
        }
        // The field holds the pseudo-header sum; summing over it includes it.
        let sum = checksum::data(&data[start..]);
        let mut value = !sum;
        // A UDP checksum of zero means "none"; the transmitted form is 0xffff.
        if c.offset == 6 && value == 0 {
            value = 0xffff;
        }
        data[field..field + 2].copy_from_slice(&value.to_be_bytes());
        self.offload.csum = None;
        true
    }
}

/// Up to [`BATCH_SIZE`] packets, buffers allocated once.
///
/// `packets()[..len()]` are the live packets; the buffers beyond `len()` are
/// spare and reused by the next receive or push.
pub struct Batch {
    pkts: Vec<Packet>,
    len: usize,
}

impl core::fmt::Debug for Batch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Batch").field("len", &self.len).finish()
    }
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new(DEFAULT_CAPACITY)
    }
}

impl Batch {
    /// A batch of [`BATCH_SIZE`] buffers of `capacity` data bytes each.
    pub fn new(capacity: usize) -> Batch {
        Batch {
            pkts: (0..BATCH_SIZE).map(|_| Packet::new(capacity)).collect(),
            len: 0,
        }
    }

    /// Number of live packets.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no packet is live.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when no more packet fits.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == self.pkts.len()
    }

    /// Forgets all packets (buffers kept).
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The live packets.
    #[inline]
    pub fn packets(&self) -> &[Packet] {
        &self.pkts[..self.len]
    }

    /// The live packets, writable.
    #[inline]
    pub fn packets_mut(&mut self) -> &mut [Packet] {
        &mut self.pkts[..self.len]
    }

    /// For receivers: the next spare buffer, reset, or `None` when full.
    /// It becomes live only after [`Batch::commit`].
    #[inline]
    pub fn spare(&mut self) -> Option<&mut Packet> {
        let p = self.pkts.get_mut(self.len)?;
        p.reset();
        Some(p)
    }

    /// For receivers that fill several buffers at once: every spare buffer
    /// (after the live ones), reset. Make the first `n` live with
    /// [`Batch::commit_n`].
    pub fn spare_slots(&mut self) -> &mut [Packet] {
        let len = self.len;
        let slots = &mut self.pkts[len..];
        for p in slots.iter_mut() {
            p.reset();
        }
        slots
    }

    /// Makes the first `n` spare buffers live (clamped to the capacity).
    #[inline]
    pub fn commit_n(&mut self, n: usize) {
        self.len = (self.len + n).min(self.pkts.len());
    }

    /// Makes the buffer last returned by [`Batch::spare`] live.
    #[inline]
    pub fn commit(&mut self) {
        if self.len < self.pkts.len() {
            self.len += 1;
        }
    }

    /// Appends a copy of `data` with `offload`. False when the batch is full
    /// or the frame does not fit a buffer.
    pub fn push_copy(&mut self, data: &[u8], offload: Offload) -> bool {
        let Some(p) = self.spare() else {
            return false;
        };
        if !p.set_data(data) {
            return false;
        }
        p.offload = offload;
        self.commit();
        true
    }

    /// Moves `pkt` into the batch without copying: its buffer is exchanged
    /// with a spare one, which `pkt` holds afterwards. False (nothing moves)
    /// when the batch is full.
    pub fn push_swap(&mut self, pkt: &mut Packet) -> bool {
        let Some(slot) = self.pkts.get_mut(self.len) else {
            return false;
        };
        core::mem::swap(slot, pkt);
        self.len += 1;
        true
    }

    /// Keeps only the live packets for which `keep` returns true, preserving
    /// order (buffers are permuted, never freed).
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Packet) -> bool) {
        let mut w = 0;
        for r in 0..self.len {
            if keep(&mut self.pkts[r]) {
                self.pkts.swap(w, r);
                w += 1;
            }
        }
        self.len = w;
    }

    /// Removes the first `n` live packets, keeping the rest in order
    /// (used after a partial send).
    pub fn drain_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.pkts[..self.len].rotate_left(n);
        self.len -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_room_and_bounds() {
        let mut p = Packet::new(100);
        assert_eq!(p.headroom(), HEADROOM);
        assert!(p.set_data(&[1, 2, 3]));
        assert_eq!(p.data(), &[1, 2, 3]);
        p.push_front(2).unwrap().copy_from_slice(&[8, 9]);
        assert_eq!(p.data(), &[8, 9, 1, 2, 3]);
        assert!(p.pull_front(4));
        assert_eq!(p.data(), &[3]);
        assert!(!p.pull_front(2));
        assert!(p.push_front(HEADROOM + 10).is_none());
        assert!(!p.set_data(&[0; 101]));
        assert!(p.is_empty());
        assert!(!p.set_bounds(10, 5));
        assert!(!p.set_bounds(0, 10_000));
        assert!(p.extend(100).is_some());
        assert!(p.extend(1).is_none());
    }

    #[test]
    fn complete_csum_matches_full_computation() {
        // IPv4/UDP frame, checksum field preloaded with the pseudo-header sum.
        let mut f = vec![0u8; 14 + 20 + 8 + 5];
        f[12] = 0x08;
        f[14] = 0x45;
        let src = [10, 0, 0, 1];
        let dst = [10, 0, 0, 2];
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        f[23] = 17;
        let l4 = 34;
        f[l4..l4 + 2].copy_from_slice(&1234u16.to_be_bytes());
        f[l4 + 2..l4 + 4].copy_from_slice(&80u16.to_be_bytes());
        f[l4 + 4..l4 + 6].copy_from_slice(&13u16.to_be_bytes());
        f[l4 + 8..].copy_from_slice(b"hello");
        let pseudo = checksum::pseudo_header_v4(src, dst, crate::wire::IpProtocol::Udp, 13);
        let mut p = Packet::new(2048);
        assert!(p.set_data(&f));
        p.data_mut()[l4 + 6..l4 + 8].copy_from_slice(&pseudo.to_be_bytes());
        p.offload.csum = Some(CsumPartial {
            start: l4 as u16,
            offset: 6,
        });
        assert!(p.complete_csum());
        assert!(p.offload.csum.is_none());
        assert!(checksum::verify(pseudo, &p.data()[l4..]));
        // Out-of-range offsets fail without panicking.
        p.offload.csum = Some(CsumPartial {
            start: 60000,
            offset: 6,
        });
        assert!(!p.complete_csum());
    }

    #[test]
    fn batch_swap_retain_drain() {
        let mut b = Batch::new(64);
        for i in 0..5u8 {
            assert!(b.push_copy(&[i], Offload::default()));
        }
        b.retain(|p| p.data()[0] % 2 == 0);
        let v: Vec<u8> = b.packets().iter().map(|p| p.data()[0]).collect();
        assert_eq!(v, [0, 2, 4]);
        b.drain_front(1);
        let v: Vec<u8> = b.packets().iter().map(|p| p.data()[0]).collect();
        assert_eq!(v, [2, 4]);
        let mut other = Batch::new(64);
        let mut p = Packet::new(64);
        p.set_data(&[7]);
        assert!(other.push_swap(&mut p));
        assert!(p.is_empty() || p.data() != [7]);
        assert_eq!(other.packets()[0].data(), &[7]);
        for _ in 0..BATCH_SIZE {
            b.push_copy(&[1], Offload::default());
        }
        assert!(b.is_full());
        assert!(!b.push_copy(&[1], Offload::default()));
        assert!(!b.push_swap(&mut p));
    }
}
