//! Flow-key extraction: fill a [`FlowKey`] from the bytes of a frame.
//!
//! # Contract
//!
//! * Extraction never fails and never panics. A header that is truncated or
//!   malformed simply stops the walk: every field of that layer and the ones
//!   below it stays zero, and what was learned from the outer layers is kept.
//!   (An IPv4 packet with a bad IHL gets `dl_type = 0x0800` and no L3 fields.)
//! * Nothing is allocated; the frame is only read.
//! * The offsets of the headers found are recorded in [`Offsets`], for later
//!   header rewrites by actions.
//!
//! # What is parsed
//!
//! Ethernet II (and 802.3 with LLC/SNAP), up to two VLAN tags with TPID
//! 0x8100 or 0x88a8, then by EtherType: MPLS (top label stack entry), PBB
//! I-TAG, ARP/RARP (Ethernet/IPv4), IPv4 (options skipped, total length
//! honoured so Ethernet padding is ignored), IPv6 (hop-by-hop, routing,
//! destination options, fragment and AH headers walked; the
//! `ipv6_exthdr` pseudo-field computed), then TCP, UDP, SCTP, ICMPv4 and
//! ICMPv6 (with Neighbor Discovery target and link-layer options). L4 is not
//! parsed for a non-first fragment.
//!
//! The walk is written directly over the byte slice, with one length check per
//! header, because it runs for every packet that misses the exact-match
//! cache and for every packet on the way in.

use super::key::{DL_TYPE_NONE, FRAG_ANY, FRAG_LATER, FlowKey, VLAN_CFI, Vlan, ipv6_exthdr as ieh};

/// Byte offsets of the headers found in a frame; [`Offsets::NONE`] where a
/// header is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Offsets {
    /// Start of the MPLS label stack (or of the PBB I-TAG).
    pub l2_5: u16,
    /// Start of the network header (IPv4, IPv6, ARP; after an MPLS stack).
    pub l3: u16,
    /// Start of the transport header (TCP, UDP, SCTP, ICMP, ICMPv6).
    pub l4: u16,
}

impl Offsets {
    /// Marks an absent header.
    pub const NONE: u16 = u16::MAX;

    /// All headers absent.
    pub const EMPTY: Offsets = Offsets {
        l2_5: Self::NONE,
        l3: Self::NONE,
        l4: Self::NONE,
    };
}

impl Default for Offsets {
    fn default() -> Self {
        Self::EMPTY
    }
}

const ETH_TYPE_IPV4: u16 = 0x0800;
const ETH_TYPE_ARP: u16 = 0x0806;
const ETH_TYPE_RARP: u16 = 0x8035;
const ETH_TYPE_IPV6: u16 = 0x86dd;
const ETH_TYPE_VLAN: u16 = 0x8100;
const ETH_TYPE_QINQ: u16 = 0x88a8;
const ETH_TYPE_MPLS: u16 = 0x8847;
const ETH_TYPE_MPLS_MCAST: u16 = 0x8848;
const ETH_TYPE_PBB: u16 = 0x88e7;
/// EtherType values below this are 802.3 lengths.
const ETH_TYPE_MIN: u16 = 0x0600;

const IPPROTO_HOPOPTS: u8 = 0;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ROUTING: u8 = 43;
const IPPROTO_FRAGMENT: u8 = 44;
const IPPROTO_ESP: u8 = 50;
const IPPROTO_AH: u8 = 51;
const IPPROTO_ICMPV6: u8 = 58;
const IPPROTO_NONE: u8 = 59;
const IPPROTO_DSTOPTS: u8 = 60;
const IPPROTO_SCTP: u8 = 132;

const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const ND_OPT_SOURCE_LINKADDR: u8 = 1;
const ND_OPT_TARGET_LINKADDR: u8 = 2;

/// Upper bound on IPv6 extension headers walked, so a chain of tiny headers
/// cannot make extraction slow.
const MAX_IPV6_EXT_HEADERS: usize = 16;

#[inline(always)]
fn arr<const N: usize>(p: &[u8], off: usize) -> Option<[u8; N]> {
    match p.get(off..off + N) {
        Some(b) => b.try_into().ok(),
        None => None,
    }
}

/// Extracts the key of `packet`, received on `in_port`; all metadata other
/// than `in_port` is zero.
#[inline]
pub fn extract(packet: &[u8], in_port: u32) -> FlowKey {
    let mut key = FlowKey::ZERO;
    let mut offsets = Offsets::EMPTY;
    extract_into(packet, in_port, &mut key, &mut offsets);
    key
}

/// Extracts the key of `packet` together with its header offsets.
#[inline]
pub fn extract_with_offsets(packet: &[u8], in_port: u32) -> (FlowKey, Offsets) {
    let mut key = FlowKey::ZERO;
    let mut offsets = Offsets::EMPTY;
    extract_into(packet, in_port, &mut key, &mut offsets);
    (key, offsets)
}

/// Extracts into caller-provided storage: the fast path's form.
///
/// Every packet-derived field (the L2, L3 and L4 stages) and `in_port` are
/// overwritten, and so is `offsets`. The rest of the metadata stage (tunnel,
/// registers, conntrack, recirculation...) is an *input*: it is left exactly
/// as the caller set it. A polling thread reuses one key per batch slot, so
/// for packets fresh from a port that stage stays zero and is never rewritten
/// (zeroing a whole key costs more than parsing a frame); a caller that
/// recirculates a packet sets the metadata before or after calling this, and
/// calls [`FlowKey::clear_metadata`] when it reuses the slot for a packet from
/// a port.
#[inline]
pub fn extract_into(packet: &[u8], in_port: u32, key: &mut FlowKey, offsets: &mut Offsets) {
    key.clear_packet_fields();
    *offsets = Offsets::EMPTY;
    key.in_port = in_port;
    let _ = walk(packet, key, offsets);
}

/// The walk; `None` means "stop here", which is not an error.
#[inline(always)]
fn walk(p: &[u8], key: &mut FlowKey, offs: &mut Offsets) -> Option<()> {
    // ---- Ethernet ----
    let eth: [u8; 14] = arr(p, 0)?;
    key.dl_dst = [eth[0], eth[1], eth[2], eth[3], eth[4], eth[5]];
    key.dl_src = [eth[6], eth[7], eth[8], eth[9], eth[10], eth[11]];
    let mut off = 12;
    let mut ty = u16::from_be_bytes([eth[12], eth[13]]);

    // ---- VLAN tags ----
    for vlan in key.vlans.iter_mut() {
        if ty != ETH_TYPE_VLAN && ty != ETH_TYPE_QINQ {
            break;
        }
        // Tag (TPID + TCI) plus the following EtherType.
        let t: [u8; 6] = arr(p, off)?;
        *vlan = Vlan {
            tpid: ty,
            tci: u16::from_be_bytes([t[2], t[3]]) | VLAN_CFI,
        };
        off += 4;
        ty = u16::from_be_bytes([t[4], t[5]]);
    }
    off += 2;

    // ---- EtherType / 802.3 ----
    if ty < ETH_TYPE_MIN {
        // 802.3 length: look for LLC/SNAP with a zero OUI.
        match arr::<8>(p, off) {
            Some([0xaa, 0xaa, 0x03, 0, 0, 0, t0, t1])
                if u16::from_be_bytes([t0, t1]) >= ETH_TYPE_MIN =>
            {
                ty = u16::from_be_bytes([t0, t1]);
                off += 8;
            }
            _ => {
                key.dl_type = DL_TYPE_NONE;
                return None;
            }
        }
    }
    key.dl_type = ty;

    // ---- L2.5 and L3 ----
    match ty {
        ETH_TYPE_IPV4 => {
            offs.l3 = off as u16;
            ipv4(p, off, key, offs)
        }
        ETH_TYPE_IPV6 => {
            offs.l3 = off as u16;
            ipv6(p, off, key, offs)
        }
        ETH_TYPE_ARP | ETH_TYPE_RARP => {
            offs.l3 = off as u16;
            arp(p, off, key)
        }
        ETH_TYPE_MPLS | ETH_TYPE_MPLS_MCAST => mpls(p, off, key, offs),
        ETH_TYPE_PBB => {
            offs.l2_5 = off as u16;
            let t: [u8; 4] = arr(p, off)?;
            key.pbb_isid = u32::from_be_bytes([0, t[1], t[2], t[3]]);
            key.pbb_uca = (t[0] >> 3) & 1;
            Some(())
        }
        _ => Some(()),
    }
}

#[inline(always)]
fn mpls(p: &[u8], off: usize, key: &mut FlowKey, offs: &mut Offsets) -> Option<()> {
    offs.l2_5 = off as u16;
    let top: [u8; 4] = arr(p, off)?;
    key.mpls_lse = u32::from_be_bytes(top);
    // Find the end of the label stack (bounded by the packet).
    let mut o = off;
    loop {
        let e: [u8; 4] = arr(p, o)?;
        o += 4;
        if e[2] & 1 != 0 {
            break;
        }
    }
    offs.l3 = o as u16;
    Some(())
}

#[inline(always)]
fn arp(p: &[u8], off: usize, key: &mut FlowKey) -> Option<()> {
    let a: [u8; 28] = arr(p, off)?;
    // Ethernet (1) / IPv4 (0x0800), 6-byte and 4-byte addresses only.
    if a[0..6] != [0, 1, 0x08, 0x00, 6, 4] {
        return None;
    }
    key.arp_op = u16::from_be_bytes([a[6], a[7]]);
    key.arp_sha = [a[8], a[9], a[10], a[11], a[12], a[13]];
    key.nw_src = u32::from_be_bytes([a[14], a[15], a[16], a[17]]);
    key.arp_tha = [a[18], a[19], a[20], a[21], a[22], a[23]];
    key.nw_dst = u32::from_be_bytes([a[24], a[25], a[26], a[27]]);
    Some(())
}

#[inline(always)]
fn ipv4(p: &[u8], off: usize, key: &mut FlowKey, offs: &mut Offsets) -> Option<()> {
    let h: [u8; 20] = arr(p, off)?;
    if h[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let tot_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let avail = p.len() - off;
    if ihl < 20 || tot_len < ihl || tot_len > avail {
        return None;
    }
    key.nw_tos = h[1];
    key.nw_ttl = h[8];
    key.nw_proto = h[9];
    key.nw_src = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
    key.nw_dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
    let frag = u16::from_be_bytes([h[6], h[7]]);
    if frag & 0x3fff != 0 {
        // MF set or a nonzero offset.
        key.nw_frag = FRAG_ANY;
        if frag & 0x1fff != 0 {
            key.nw_frag |= FRAG_LATER;
            return Some(());
        }
    }
    let l4 = off + ihl;
    offs.l4 = l4 as u16;
    // Ethernet padding past the IP total length is not transport data.
    let end = off + tot_len;
    transport(&p[..end], l4, h[9], false, key)
}

#[inline(always)]
fn ipv6(p: &[u8], off: usize, key: &mut FlowKey, offs: &mut Offsets) -> Option<()> {
    let h: [u8; 40] = arr(p, off)?;
    if h[0] >> 4 != 6 {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let end = off + 40 + plen;
    if end > p.len() {
        return None;
    }
    let vtcfl = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    key.nw_tos = (vtcfl >> 20) as u8;
    key.ipv6_label = vtcfl & 0x000f_ffff;
    key.nw_ttl = h[7];
    key.ipv6_src.copy_from_slice(&h[8..24]);
    key.ipv6_dst.copy_from_slice(&h[24..40]);
    let p = &p[..end];

    let mut nh = h[6];
    let mut o = off + 40;
    // Extension headers, tracking the OpenFlow ipv6_exthdr flags.
    // `rank` enforces the recommended order: hop-by-hop, destination options
    // (before routing), routing, fragment, AH, ESP, destination options.
    let mut flags = 0u16;
    let mut rank = 0u8;
    let mut seen_dest = 0u8;
    let mut first = true;
    let mut walked = 0;
    loop {
        let (bit, this_rank) = match nh {
            IPPROTO_HOPOPTS => (ieh::HOP, 1),
            IPPROTO_DSTOPTS => (ieh::DEST, if flags & ieh::ROUTER == 0 { 2 } else { 7 }),
            IPPROTO_ROUTING => (ieh::ROUTER, 3),
            IPPROTO_FRAGMENT => (ieh::FRAG, 4),
            IPPROTO_AH => (ieh::AUTH, 5),
            IPPROTO_ESP => (ieh::ESP, 6),
            IPPROTO_NONE => {
                flags |= ieh::NONEXT;
                break;
            }
            _ => break,
        };
        // Repeats: only destination options may appear twice.
        if nh == IPPROTO_DSTOPTS {
            seen_dest += 1;
            if seen_dest > 2 {
                flags |= ieh::UNREP;
            }
        } else if flags & bit != 0 {
            flags |= ieh::UNREP;
        }
        if (nh == IPPROTO_HOPOPTS && !first) || this_rank < rank {
            flags |= ieh::UNSEQ;
        }
        rank = rank.max(this_rank);
        flags |= bit;
        first = false;
        walked += 1;

        if nh == IPPROTO_ESP || walked > MAX_IPV6_EXT_HEADERS {
            // Nothing past ESP is readable.
            break;
        }
        let e: [u8; 8] = match arr(p, o) {
            Some(e) => e,
            None => {
                key.ipv6_exthdr = flags;
                key.nw_proto = nh;
                return None;
            }
        };
        let next = e[0];
        let len = match nh {
            IPPROTO_FRAGMENT => {
                key.nw_frag = FRAG_ANY;
                let fo = u16::from_be_bytes([e[2], e[3]]);
                if fo & 0xfff8 != 0 {
                    key.nw_frag |= FRAG_LATER;
                    key.ipv6_exthdr = flags;
                    key.nw_proto = next;
                    return Some(());
                }
                8
            }
            IPPROTO_AH => (usize::from(e[1]) + 2) * 4,
            _ => (usize::from(e[1]) + 1) * 8,
        };
        if o + len > p.len() {
            key.ipv6_exthdr = flags;
            key.nw_proto = nh;
            return None;
        }
        o += len;
        nh = next;
    }
    key.ipv6_exthdr = flags;
    key.nw_proto = nh;
    if nh == IPPROTO_ESP || nh == IPPROTO_NONE {
        return Some(());
    }
    offs.l4 = o as u16;
    transport(p, o, nh, true, key)
}

/// Transport headers. `p` ends where the network layer says the packet ends.
#[inline(always)]
fn transport(p: &[u8], off: usize, proto: u8, v6: bool, key: &mut FlowKey) -> Option<()> {
    match proto {
        IPPROTO_TCP => {
            let t: [u8; 20] = arr(p, off)?;
            let doff = usize::from(t[12] >> 4) * 4;
            if doff < 20 || off + doff > p.len() {
                return None;
            }
            key.tp_src = u16::from_be_bytes([t[0], t[1]]);
            key.tp_dst = u16::from_be_bytes([t[2], t[3]]);
            key.tcp_flags = u16::from_be_bytes([t[12], t[13]]) & 0x0fff;
        }
        IPPROTO_UDP | IPPROTO_SCTP => {
            let t: [u8; 4] = arr(p, off)?;
            // UDP needs its 8-byte header, SCTP its 12-byte common header.
            let need = if proto == IPPROTO_UDP { 8 } else { 12 };
            if off + need > p.len() {
                return None;
            }
            key.tp_src = u16::from_be_bytes([t[0], t[1]]);
            key.tp_dst = u16::from_be_bytes([t[2], t[3]]);
        }
        IPPROTO_ICMP if !v6 => {
            let t: [u8; 8] = arr(p, off)?;
            key.tp_src = u16::from(t[0]);
            key.tp_dst = u16::from(t[1]);
        }
        IPPROTO_ICMPV6 if v6 => {
            let t: [u8; 8] = arr(p, off)?;
            key.tp_src = u16::from(t[0]);
            key.tp_dst = u16::from(t[1]);
            if (t[0] == ND_NEIGHBOR_SOLICIT || t[0] == ND_NEIGHBOR_ADVERT) && t[1] == 0 {
                neighbor_discovery(p, off + 8, t[0], key);
            }
        }
        _ => {}
    }
    Some(())
}

/// ND target and link-layer options. An invalid option list clears all ND
/// fields (the packet still matches on type and code).
#[inline(always)]
fn neighbor_discovery(p: &[u8], off: usize, icmp_type: u8, key: &mut FlowKey) {
    let Some(target) = arr::<16>(p, off) else {
        return;
    };
    key.nd_target = target;
    let mut o = off + 16;
    while o < p.len() {
        let (Some(opt_type), Some(opt_len)) = (p.get(o).copied(), p.get(o + 1).copied()) else {
            return invalid_nd(key);
        };
        let len = usize::from(opt_len) * 8;
        if len == 0 || o + len > p.len() {
            return invalid_nd(key);
        }
        // Link-layer address options for Ethernet are exactly 8 bytes.
        if len == 8 {
            let mac = [p[o + 2], p[o + 3], p[o + 4], p[o + 5], p[o + 6], p[o + 7]];
            match (opt_type, icmp_type) {
                (ND_OPT_SOURCE_LINKADDR, ND_NEIGHBOR_SOLICIT) => {
                    if key.arp_sha != [0; 6] {
                        return invalid_nd(key);
                    }
                    key.arp_sha = mac;
                }
                (ND_OPT_TARGET_LINKADDR, ND_NEIGHBOR_ADVERT) => {
                    if key.arp_tha != [0; 6] {
                        return invalid_nd(key);
                    }
                    key.arp_tha = mac;
                }
                _ => {}
            }
        }
        o += len;
    }
}

#[cold]
fn invalid_nd(key: &mut FlowKey) {
    key.nd_target = [0; 16];
    key.arp_sha = [0; 6];
    key.arp_tha = [0; 6];
}
