//! [`FlowKey`] and [`FlowMask`]: every field the switch can match on, in one
//! fixed, u64-aligned layout.
//!
//! # Layout
//!
//! `FlowKey` is `#[repr(C)]`, 8-byte aligned, with no implicit padding (the
//! `bytemuck::Pod` derive proves it at compile time), so it can be viewed as
//! an array of [`FLOW_U64S`] `u64` words. Word-level operations (masking,
//! hashing, the sparse [`Miniflow`](super::Miniflow) form, comparisons) work on
//! that view and know nothing of individual fields.
//!
//! Fields are grouped into *stages* in the order a classifier examines them:
//! metadata, L2, L3, L4. Each stage starts on a word boundary
//! ([`STAGE_L2`], [`STAGE_L3`], [`STAGE_L4`] give the first word of each), so a
//! staged lookup can hash and compare a prefix of the words.
//!
//! # Representation
//!
//! * Integers are stored in host byte order with their numeric (wire) value:
//!   `nw_src` for 10.0.0.1 is `0x0a000001`, `tp_dst` for port 80 is `80`.
//! * Ethernet and IPv6 addresses are byte arrays in wire order.
//! * Some storage is shared by fields that can never be present together, as
//!   a datapath does: ARP's SPA/TPA live in `nw_src`/`nw_dst`; ICMP type and
//!   code live in `tp_src`/`tp_dst`; IPv6 ND's source and target link-layer
//!   addresses live in `arp_sha`/`arp_tha`.
//! * A VLAN tag is present when [`VLAN_CFI`] is set in its `tci` (the real CFI
//!   bit of a received tag is not kept: it is 0 on Ethernet).
//! * Padding fields (named `pad*`) are always zero, in keys and in masks.
//!
//! A `FlowMask` has the same layout; a 1 bit means "this bit of the key
//! matters".

use bytemuck::{Pod, Zeroable};
use core::mem::{offset_of, size_of};

/// Tag-present bit in [`Vlan::tci`] (the position of the 802.1Q CFI/DEI bit).
pub const VLAN_CFI: u16 = 0x1000;
/// VLAN ID bits of a TCI.
pub const VLAN_VID_MASK: u16 = 0x0fff;
/// Priority (PCP) bits of a TCI.
pub const VLAN_PCP_MASK: u16 = 0xe000;
/// Shift of the PCP bits in a TCI.
pub const VLAN_PCP_SHIFT: u16 = 13;

/// `dl_type` for an 802.3 frame with no SNAP EtherType (as Open vSwitch does).
pub const DL_TYPE_NONE: u16 = 0x05ff;

/// `nw_frag` bit: the packet is a fragment (first or later).
pub const FRAG_ANY: u8 = 1;
/// `nw_frag` bit: the packet is a fragment other than the first.
pub const FRAG_LATER: u8 = 2;

/// `ipv6_exthdr` bits (OpenFlow 1.3 `OFPIEH_*`).
pub mod ipv6_exthdr {
    /// "No next header" encountered.
    pub const NONEXT: u16 = 1 << 0;
    /// Encrypted security payload present.
    pub const ESP: u16 = 1 << 1;
    /// Authentication header present.
    pub const AUTH: u16 = 1 << 2;
    /// One or two destination options headers present.
    pub const DEST: u16 = 1 << 3;
    /// Fragment header present.
    pub const FRAG: u16 = 1 << 4;
    /// Routing header present.
    pub const ROUTER: u16 = 1 << 5;
    /// Hop-by-hop header present.
    pub const HOP: u16 = 1 << 6;
    /// An extension header appears more than the allowed number of times.
    pub const UNREP: u16 = 1 << 7;
    /// Extension headers are not in the order RFC 8200 recommends.
    pub const UNSEQ: u16 = 1 << 8;
}

/// One VLAN tag as matched on: its TPID and its TCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Pod, Zeroable)]
#[repr(C)]
pub struct Vlan {
    /// Tag protocol identifier (0x8100 or 0x88a8); 0 when absent.
    pub tpid: u16,
    /// PCP(3) | [`VLAN_CFI`] as "present" (1) | VID(12).
    pub tci: u16,
}

impl Vlan {
    /// True when this tag was present in the packet.
    #[inline]
    pub fn present(&self) -> bool {
        self.tci & VLAN_CFI != 0
    }

    /// The VLAN ID.
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci & VLAN_VID_MASK
    }

    /// The priority code point.
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci >> VLAN_PCP_SHIFT) as u8
    }
}

/// Every field the switch matches on. See the module documentation for the
/// layout and the representation of each field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Pod, Zeroable)]
#[repr(C)]
pub struct FlowKey {
    // ----- metadata stage -----
    /// Tunnel ID (VNI, GRE key...).
    pub tun_id: u64,
    /// OpenFlow metadata register.
    pub metadata: u64,
    /// Nicira registers reg0..reg15 (xreg/xxreg are views of pairs/quads).
    pub regs: [u32; 16],
    /// Outer IPv4 source of a received tunnel packet.
    pub tun_src: u32,
    /// Outer IPv4 destination of a received tunnel packet.
    pub tun_dst: u32,
    /// Outer IPv6 source of a received tunnel packet.
    pub tun_ipv6_src: [u8; 16],
    /// Outer IPv6 destination of a received tunnel packet.
    pub tun_ipv6_dst: [u8; 16],
    /// Tunnel flags (Nicira `tun_flags`: bit 0 = OAM).
    pub tun_flags: u16,
    /// Outer UDP source port.
    pub tun_tp_src: u16,
    /// Outer UDP destination port.
    pub tun_tp_dst: u16,
    /// VXLAN group-based policy ID.
    pub tun_gbp_id: u16,
    /// Outer TOS.
    pub tun_tos: u8,
    /// Outer TTL.
    pub tun_ttl: u8,
    /// VXLAN group-based policy flags.
    pub tun_gbp_flags: u8,
    /// Always zero.
    pub pad0: u8,
    /// Ingress port (OpenFlow port number space is 32 bits).
    pub in_port: u32,
    /// Recirculation ID (0 for packets straight from a port).
    pub recirc_id: u32,
    /// Datapath hash of the packet.
    pub dp_hash: u32,
    /// Queue priority (`skb_priority`).
    pub skb_priority: u32,
    /// Packet mark (`pkt_mark`).
    pub pkt_mark: u32,
    /// Connection-tracking state bits.
    pub ct_state: u32,
    /// Connection-tracking mark.
    pub ct_mark: u32,
    /// Connection-tracking label (128 bits, big-endian byte order).
    pub ct_label: [u8; 16],
    /// Connection-tracking zone.
    pub ct_zone: u16,
    /// Always zero.
    pub pad1: [u8; 6],

    // ----- L2 stage -----
    /// Ethernet destination.
    pub dl_dst: [u8; 6],
    /// Ethernet source.
    pub dl_src: [u8; 6],
    /// EtherType after any VLAN tags ([`DL_TYPE_NONE`] for 802.3 without SNAP).
    pub dl_type: u16,
    /// Always zero.
    pub pad2: u16,
    /// VLAN tags, outermost first.
    pub vlans: [Vlan; 2],
    /// Top MPLS label stack entry: label(20) tc(3) bos(1) ttl(8).
    pub mpls_lse: u32,
    /// PBB I-SID (24 bits).
    pub pbb_isid: u32,
    /// PBB use-customer-address bit (0 or 1).
    pub pbb_uca: u8,
    /// Always zero.
    pub pad3: [u8; 7],

    // ----- L3 stage -----
    /// IPv4 source, or ARP sender protocol address.
    pub nw_src: u32,
    /// IPv4 destination, or ARP target protocol address.
    pub nw_dst: u32,
    /// IPv6 source.
    pub ipv6_src: [u8; 16],
    /// IPv6 destination.
    pub ipv6_dst: [u8; 16],
    /// IPv6 flow label (20 bits).
    pub ipv6_label: u32,
    /// IP protocol (after IPv6 extension headers).
    pub nw_proto: u8,
    /// IP TOS byte / IPv6 traffic class: DSCP (upper 6 bits) and ECN (lower 2).
    pub nw_tos: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub nw_ttl: u8,
    /// Fragment bits: [`FRAG_ANY`], [`FRAG_LATER`].
    pub nw_frag: u8,
    /// IPv6 extension-header pseudo-field (bits in [`ipv6_exthdr`]).
    pub ipv6_exthdr: u16,
    /// ARP sender hardware address, or IPv6 ND source link-layer address.
    pub arp_sha: [u8; 6],
    /// ARP target hardware address, or IPv6 ND target link-layer address.
    pub arp_tha: [u8; 6],
    /// ARP opcode.
    pub arp_op: u16,

    // ----- L4 stage -----
    /// TCP/UDP/SCTP source port, or ICMP/ICMPv6 type.
    pub tp_src: u16,
    /// TCP/UDP/SCTP destination port, or ICMP/ICMPv6 code.
    pub tp_dst: u16,
    /// TCP flags (12 bits).
    pub tcp_flags: u16,
    /// Always zero.
    pub pad4: u16,
    /// IPv6 ND target address.
    pub nd_target: [u8; 16],
}

/// Size of a [`FlowKey`] in 64-bit words.
pub const FLOW_U64S: usize = size_of::<FlowKey>() / 8;
/// First word of the L2 stage.
pub const STAGE_L2: usize = offset_of!(FlowKey, dl_dst) / 8;
/// First word of the L3 stage.
pub const STAGE_L3: usize = offset_of!(FlowKey, nw_src) / 8;
/// First word of the L4 stage.
pub const STAGE_L4: usize = offset_of!(FlowKey, tp_src) / 8;

const _: () = {
    assert!(size_of::<FlowKey>().is_multiple_of(8));
    assert!(core::mem::align_of::<FlowKey>() == 8);
    assert!(offset_of!(FlowKey, dl_dst).is_multiple_of(8));
    assert!(offset_of!(FlowKey, nw_src).is_multiple_of(8));
    assert!(offset_of!(FlowKey, tp_src).is_multiple_of(8));
    // The miniflow map is one u64: one bit per word.
    assert!(FLOW_U64S <= 64);
};

impl FlowKey {
    /// The all-zero key.
    pub const ZERO: FlowKey = zeroed_key();

    /// The key as 64-bit words.
    #[inline(always)]
    pub fn words(&self) -> &[u64; FLOW_U64S] {
        bytemuck::cast_ref(self)
    }

    /// The key as mutable 64-bit words.
    #[inline(always)]
    pub fn words_mut(&mut self) -> &mut [u64; FLOW_U64S] {
        bytemuck::cast_mut(self)
    }

    /// The key as bytes.
    #[inline(always)]
    pub fn as_bytes(&self) -> &[u8] {
        bytemuck::bytes_of(self)
    }

    /// Zeroes the packet-derived stages (L2, L3, L4); the metadata stage is
    /// kept.
    #[inline]
    pub fn clear_packet_fields(&mut self) {
        self.words_mut()[STAGE_L2..].fill(0);
    }

    /// Zeroes the L3 and L4 stages (what follows the L2 headers).
    #[inline]
    pub fn clear_l3_l4(&mut self) {
        self.words_mut()[STAGE_L3..].fill(0);
    }

    /// Zeroes the metadata stage (tunnel, registers, conntrack, in_port...);
    /// the packet-derived stages are kept.
    #[inline]
    pub fn clear_metadata(&mut self) {
        self.words_mut()[..STAGE_L2].fill(0);
    }

    /// `self & mask`, word by word.
    #[inline]
    pub fn masked(&self, mask: &FlowMask) -> FlowKey {
        let mut out = FlowKey::ZERO;
        let (o, k, m) = (out.words_mut(), self.words(), mask.0.words());
        for i in 0..FLOW_U64S {
            o[i] = k[i] & m[i];
        }
        out
    }

    /// True when `self` and `other` agree on every bit of `mask`.
    #[inline]
    pub fn equal_masked(&self, other: &FlowKey, mask: &FlowMask) -> bool {
        let (a, b, m) = (self.words(), other.words(), mask.0.words());
        let mut diff = 0;
        for i in 0..FLOW_U64S {
            diff |= (a[i] ^ b[i]) & m[i];
        }
        diff == 0
    }

    /// A fast, well-mixed 32-bit hash of every word of the key.
    #[inline]
    pub fn hash(&self, basis: u32) -> u32 {
        super::hash::hash_words(self.words(), basis)
    }

    /// The first VLAN tag's VID when one is present.
    #[inline]
    pub fn vlan_vid(&self) -> Option<u16> {
        self.vlans[0].present().then(|| self.vlans[0].vid())
    }

    /// IPv4 source as bytes.
    #[inline]
    pub fn nw_src_bytes(&self) -> [u8; 4] {
        self.nw_src.to_be_bytes()
    }

    /// IPv4 destination as bytes.
    #[inline]
    pub fn nw_dst_bytes(&self) -> [u8; 4] {
        self.nw_dst.to_be_bytes()
    }

    /// IPv6 ND source link-layer address (shares storage with `arp_sha`).
    #[inline]
    pub fn nd_sll(&self) -> [u8; 6] {
        self.arp_sha
    }

    /// IPv6 ND target link-layer address (shares storage with `arp_tha`).
    #[inline]
    pub fn nd_tll(&self) -> [u8; 6] {
        self.arp_tha
    }

    /// The MPLS label of the top entry.
    #[inline]
    pub fn mpls_label(&self) -> u32 {
        self.mpls_lse >> 12
    }

    /// The MPLS traffic class of the top entry.
    #[inline]
    pub fn mpls_tc(&self) -> u8 {
        ((self.mpls_lse >> 9) & 7) as u8
    }

    /// The MPLS bottom-of-stack bit of the top entry.
    #[inline]
    pub fn mpls_bos(&self) -> u8 {
        ((self.mpls_lse >> 8) & 1) as u8
    }

    /// The MPLS TTL of the top entry.
    #[inline]
    pub fn mpls_ttl(&self) -> u8 {
        self.mpls_lse as u8
    }
}

const fn zeroed_key() -> FlowKey {
    FlowKey {
        tun_id: 0,
        metadata: 0,
        regs: [0; 16],
        tun_src: 0,
        tun_dst: 0,
        tun_ipv6_src: [0; 16],
        tun_ipv6_dst: [0; 16],
        tun_flags: 0,
        tun_tp_src: 0,
        tun_tp_dst: 0,
        tun_gbp_id: 0,
        tun_tos: 0,
        tun_ttl: 0,
        tun_gbp_flags: 0,
        pad0: 0,
        in_port: 0,
        recirc_id: 0,
        dp_hash: 0,
        skb_priority: 0,
        pkt_mark: 0,
        ct_state: 0,
        ct_mark: 0,
        ct_label: [0; 16],
        ct_zone: 0,
        pad1: [0; 6],
        dl_dst: [0; 6],
        dl_src: [0; 6],
        dl_type: 0,
        pad2: 0,
        vlans: [Vlan { tpid: 0, tci: 0 }; 2],
        mpls_lse: 0,
        pbb_isid: 0,
        pbb_uca: 0,
        pad3: [0; 7],
        nw_src: 0,
        nw_dst: 0,
        ipv6_src: [0; 16],
        ipv6_dst: [0; 16],
        ipv6_label: 0,
        nw_proto: 0,
        nw_tos: 0,
        nw_ttl: 0,
        nw_frag: 0,
        ipv6_exthdr: 0,
        arp_sha: [0; 6],
        arp_tha: [0; 6],
        arp_op: 0,
        tp_src: 0,
        tp_dst: 0,
        tcp_flags: 0,
        pad4: 0,
        nd_target: [0; 16],
    }
}

/// Which bits of a [`FlowKey`] matter: same layout, 1 = significant.
///
/// Dereferences to the underlying [`FlowKey`] so fields are set by name:
/// `mask.nw_src = 0xffff_ff00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Pod, Zeroable)]
#[repr(transparent)]
pub struct FlowMask(pub FlowKey);

impl FlowMask {
    /// The mask that matches everything (all bits wildcarded).
    pub const CATCHALL: FlowMask = FlowMask(FlowKey::ZERO);

    /// The mask with every field bit significant (padding stays zero).
    pub fn exact() -> FlowMask {
        let mut m = FlowKey::ZERO;
        m.words_mut().iter_mut().for_each(|w| *w = !0);
        m.pad0 = 0;
        m.pad1 = [0; 6];
        m.pad2 = 0;
        m.pad3 = [0; 7];
        m.pad4 = 0;
        FlowMask(m)
    }

    /// Adds every bit of `other` (un-wildcarding).
    #[inline]
    pub fn union_with(&mut self, other: &FlowMask) {
        let (a, b) = (self.0.words_mut(), other.0.words());
        for i in 0..FLOW_U64S {
            a[i] |= b[i];
        }
    }

    /// Keeps only the bits also in `other`.
    #[inline]
    pub fn intersect_with(&mut self, other: &FlowMask) {
        let (a, b) = (self.0.words_mut(), other.0.words());
        for i in 0..FLOW_U64S {
            a[i] &= b[i];
        }
    }

    /// True when every bit of `self` is also in `other`.
    #[inline]
    pub fn is_subset_of(&self, other: &FlowMask) -> bool {
        let (a, b) = (self.0.words(), other.0.words());
        (0..FLOW_U64S).all(|i| a[i] & !b[i] == 0)
    }

    /// True when no bit is significant.
    #[inline]
    pub fn is_catchall(&self) -> bool {
        self.0.words().iter().all(|&w| w == 0)
    }

    /// Bitmap of the nonzero words (bit `i` = word `i`).
    #[inline]
    pub fn word_map(&self) -> u64 {
        super::miniflow::word_map(self.0.words())
    }
}

impl core::ops::Deref for FlowMask {
    type Target = FlowKey;
    #[inline]
    fn deref(&self) -> &FlowKey {
        &self.0
    }
}

impl core::ops::DerefMut for FlowMask {
    #[inline]
    fn deref_mut(&mut self) -> &mut FlowKey {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_word_aligned_and_staged() {
        assert_eq!(size_of::<FlowKey>(), FLOW_U64S * 8);
        const { assert!(STAGE_L2 < STAGE_L3 && STAGE_L3 < STAGE_L4 && STAGE_L4 < FLOW_U64S) };
        assert_eq!(FlowKey::ZERO, FlowKey::default());
    }

    #[test]
    fn exact_mask_covers_fields_not_padding() {
        let m = FlowMask::exact();
        assert_eq!(m.nw_src, u32::MAX);
        assert_eq!(m.nd_target, [0xff; 16]);
        assert_eq!(m.pad3, [0; 7]);
        assert_eq!(m.pad1, [0; 6]);
        let mut k = FlowKey::ZERO;
        k.nw_src = 0x0a000001;
        k.tp_dst = 80;
        assert_eq!(k.masked(&m), k);
        assert!(FlowMask::CATCHALL.is_subset_of(&m));
        assert!(!m.is_subset_of(&FlowMask::CATCHALL));
    }

    #[test]
    fn masking_and_masked_equality() {
        let mut a = FlowKey::ZERO;
        a.nw_src = 0x0a000001;
        a.tp_dst = 80;
        let mut b = a;
        b.nw_src = 0x0a0000fe;
        let mut m = FlowMask::CATCHALL;
        m.nw_src = 0xffff_ff00;
        assert!(a.equal_masked(&b, &m));
        assert_eq!(a.masked(&m), b.masked(&m));
        m.nw_src = u32::MAX;
        assert!(!a.equal_masked(&b, &m));
        let mut m2 = FlowMask::CATCHALL;
        m2.tp_dst = 0xffff;
        m.union_with(&m2);
        assert_eq!((m.nw_src, m.tp_dst), (u32::MAX, 0xffff));
        m.intersect_with(&m2);
        assert_eq!((m.nw_src, m.tp_dst), (0, 0xffff));
    }

    #[test]
    fn clearing_stages() {
        let mut k = FlowKey::ZERO;
        k.regs[3] = 7;
        k.in_port = 2;
        k.dl_type = 0x0800;
        k.nd_target[15] = 1;
        let mut a = k;
        a.clear_packet_fields();
        assert_eq!(
            (a.regs[3], a.in_port, a.dl_type, a.nd_target[15]),
            (7, 2, 0, 0)
        );
        let mut b = k;
        b.clear_metadata();
        assert_eq!(
            (b.regs[3], b.in_port, b.dl_type, b.nd_target[15]),
            (0, 0, 0x0800, 1)
        );
    }

    #[test]
    fn vlan_and_mpls_accessors() {
        let mut k = FlowKey::ZERO;
        assert_eq!(k.vlan_vid(), None);
        k.vlans[0] = Vlan {
            tpid: 0x8100,
            tci: VLAN_CFI | (5 << VLAN_PCP_SHIFT) | 100,
        };
        assert_eq!(k.vlan_vid(), Some(100));
        assert_eq!(k.vlans[0].pcp(), 5);
        k.mpls_lse = (1000 << 12) | (3 << 9) | (1 << 8) | 64;
        assert_eq!(
            (k.mpls_label(), k.mpls_tc(), k.mpls_bos(), k.mpls_ttl()),
            (1000, 3, 1, 64)
        );
    }
}
