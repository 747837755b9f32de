//! Per-packet metadata of the fast path.
//!
//! The packet buffers themselves are the netdev layer's
//! ([`netdev::packet::Packet`](crate::netdev::packet::Packet) in a
//! [`Batch`]): every backend receives into them
//! and sends from them, and the fast path moves them between batches by
//! swapping buffers, never copying or allocating. What the fast path adds is
//! [`PacketMeta`], kept in an array parallel to a batch (slot `i` describes
//! packet `i`): the metadata fields of the flow key a packet is looked up
//! with, which actions write and recirculation carries.

pub use crate::netdev::packet::{BATCH_SIZE, Batch, Packet};

/// Metadata that travels with a packet through actions and recirculation.
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
    /// Metadata of a packet received on `in_port`.
    #[inline]
    pub fn from_port(in_port: u32) -> PacketMeta {
        PacketMeta {
            in_port,
            ..PacketMeta::default()
        }
    }

    /// True when every field but `in_port` (and the depth) is zero: a packet
    /// straight from a port, whose key's metadata stage needs no writing.
    #[inline]
    pub fn is_plain(&self) -> bool {
        self.recirc_id == 0
            && self.dp_hash == 0
            && self.skb_priority == 0
            && self.pkt_mark == 0
            && self.tun_id == 0
    }
}

/// Inserts `n` zero bytes at offset `at` of the frame, moving the bytes
/// before `at` into the headroom. False, and nothing changes, when `at` is
/// past the end or the headroom is too small.
pub fn insert_gap(pkt: &mut Packet, at: usize, n: usize) -> bool {
    if at > pkt.len() || pkt.headroom() < n {
        return false;
    }
    let (buf, start, end) = pkt.raw_mut();
    let new_start = start - n;
    buf.copy_within(start..start + at, new_start);
    buf[new_start + at..start + at].fill(0);
    pkt.set_bounds(new_start, end)
}

/// Removes `n` bytes at offset `at` of the frame (the bytes before move
/// right). False, and nothing changes, when the range is not in the frame.
pub fn remove_range(pkt: &mut Packet, at: usize, n: usize) -> bool {
    match at.checked_add(n) {
        Some(e) if e <= pkt.len() => {}
        _ => return false,
    }
    let (buf, start, end) = pkt.raw_mut();
    buf.copy_within(start..start + at, start + n);
    pkt.set_bounds(start + n, end)
}

/// A packet holding a copy of `frame` (tests, tools; allocates).
pub fn packet_from(frame: &[u8]) -> Packet {
    let mut p = Packet::new(frame.len().max(64) + 64);
    p.set_data(frame);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_and_remove() {
        let mut p = packet_from(&[1, 2, 3, 4, 5, 6]);
        let room = p.headroom();
        assert!(insert_gap(&mut p, 2, 3));
        assert_eq!(p.data(), &[1, 2, 0, 0, 0, 3, 4, 5, 6]);
        assert_eq!(p.headroom(), room - 3);
        assert!(remove_range(&mut p, 2, 3));
        assert_eq!(p.data(), &[1, 2, 3, 4, 5, 6]);
        assert!(!insert_gap(&mut p, 7, 1));
        assert!(!insert_gap(&mut p, 0, room + 1));
        assert!(!remove_range(&mut p, 4, 3));
        assert!(!remove_range(&mut p, usize::MAX, 3));
        assert_eq!(p.data(), &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn plain_meta() {
        let m = PacketMeta::from_port(3);
        assert!(m.is_plain());
        assert!(!PacketMeta { recirc_id: 1, ..m }.is_plain());
    }
}
