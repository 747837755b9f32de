//! The action executor: runs a datapath action list on one packet.
//!
//! [`execute`] takes a packet in its batch slot (`&mut Packet`) with its
//! metadata, the flow key it was looked up with and the header offsets
//! extraction recorded, applies the actions in order and hands the packet's
//! fate to an [`ExecSink`]: outputs, recirculations, userspace (packet-in)
//! copies, meters, drops. The sink is where the polling thread plugs in its
//! batched transmit queues; tests plug in a recorder.
//!
//! Contract:
//! * Never panics, whatever the packet bytes or the action list: a write to a
//!   header the packet does not have (or that is truncated) is skipped.
//! * Allocates nothing. An `Output` or `Recirc` in last position lets the
//!   sink take the buffer (`take = true`: a swap into a transmit batch); in
//!   any other position the sink copies it.
//! * Checksums stay valid: IPv4 header checksum on IPv4 writes; the TCP and
//!   UDP checksums (pseudo-header) on IPv4/IPv6 address and port writes
//!   (a zero UDP checksum over IPv4 means "none" and stays zero); the ICMPv6
//!   checksum on IPv6 address and ND writes; SCTP's CRC32c is recomputed;
//!   ICMPv4/ICMPv6 checksums on type/code writes (module `icmp`; PBB in
//!   `pbb`, the MPLS TTL copies in `ttl`).
//!   Updates are incremental (RFC 1624) except SCTP's.
//! * Offload: a packet whose L4 checksum is still partial (`offload.csum`,
//!   CHECKSUM_PARTIAL) keeps it partial: address writes update the
//!   pseudo-header sum the field holds, port writes need nothing (the sum
//!   over the L4 header is computed at egress). Inserting or removing bytes
//!   in front of L4 (VLAN, MPLS) shifts the offload offsets. Before a
//!   truncated copy or a userspace copy the checksum is completed.
//! * The key describes the packet as received. Push/pop of VLAN tags shift
//!   the recorded offsets; after a push/pop of MPLS the headers are found
//!   again by re-extracting (rare; no allocation).
//! * `Trunc(n)` applies to the next output only. Reaching the end of the
//!   list leaves the packet where it is (the caller reuses the buffer); an
//!   empty list is a drop, counted with [`DropReason::Actions`].

use crate::actions::{Action, DpPort, L4Ports, SetMasked};
use crate::flow::{FlowKey, Offsets, extract_into};
use crate::packet::{Packet, PacketMeta, insert_gap, remove_range};
use crate::stats::DropReason;
use crate::wire::checksum;
use crate::wire::sctp::crc32c;

mod icmp;
mod pbb;
mod ttl;

/// Where the executor sends a packet's fate. Implemented by the polling
/// thread (batched transmit, upcall handler) and by test recorders.
pub trait ExecSink {
    /// Send `pkt` on `port`. With `take`, the sink may take the buffer (the
    /// packet is not used afterwards); otherwise it copies it. A copy is
    /// cut to `max_len` bytes.
    fn output(&mut self, port: DpPort, pkt: &mut Packet, take: bool, max_len: usize);
    /// Hand a copy of the packet to the upcall handler (packet-in).
    fn userspace(&mut self, pkt: &Packet, key: &FlowKey, userdata: u64);
    /// Runs the packet through meter `id`; false drops it.
    fn meter(&mut self, id: u32, pkt: &Packet) -> bool;
    /// Look `pkt` up again with `meta` (whose `recirc_id` is set); `take` as
    /// for [`ExecSink::output`].
    fn recirculate(&mut self, pkt: &mut Packet, meta: &PacketMeta, take: bool);
    /// The packet is dropped, for `reason`.
    fn drop(&mut self, reason: DropReason);
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_ARP: u16 = 0x0806;
const ETH_RARP: u16 = 0x8035;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;
const IPPROTO_SCTP: u8 = 132;
const NONE: u16 = Offsets::NONE;

/// What the executor knows about the packet's headers right now.
#[derive(Debug, Clone, Copy)]
struct Hdrs {
    dl_type: u16,
    nw_proto: u8,
    /// ICMPv6 type (for ND writes).
    icmp_type: u16,
    offs: Offsets,
}

impl Hdrs {
    fn from_key(key: &FlowKey, offs: Offsets) -> Hdrs {
        Hdrs {
            dl_type: key.dl_type,
            nw_proto: key.nw_proto,
            icmp_type: key.tp_src,
            offs,
        }
    }

    /// Finds the headers again after the L2.5 layer changed.
    fn reparse(pkt: &Packet) -> Hdrs {
        let mut k = FlowKey::ZERO;
        let mut offs = Offsets::EMPTY;
        extract_into(pkt.data(), 0, &mut k, &mut offs);
        Hdrs::from_key(&k, offs)
    }

    fn shift(&mut self, delta: isize) {
        for o in [&mut self.offs.l2_5, &mut self.offs.l3, &mut self.offs.l4] {
            if *o != NONE {
                *o = (*o as isize + delta).clamp(0, NONE as isize - 1) as u16;
            }
        }
    }
}

/// Runs `actions` on `pkt` (metadata `meta`), which was looked up with `key`
/// and whose headers extraction found at `offs`. See the module
/// documentation.
pub fn execute<S: ExecSink + ?Sized>(
    actions: &[Action],
    pkt: &mut Packet,
    meta: &mut PacketMeta,
    key: &FlowKey,
    offs: Offsets,
    sink: &mut S,
) {
    if actions.is_empty() {
        sink.drop(DropReason::Actions);
        return;
    }
    let mut h = Hdrs::from_key(key, offs);
    let mut stale = false;
    let mut trunc = usize::MAX;
    let last = actions.len() - 1;
    for (i, a) in actions.iter().enumerate() {
        match a {
            Action::Output(port) => {
                if trunc < pkt.len() {
                    pkt.complete_csum();
                }
                sink.output(*port, pkt, i == last && trunc == usize::MAX, trunc);
                trunc = usize::MAX;
            }
            Action::Trunc(n) => trunc = *n as usize,
            Action::Recirc(id) => {
                let m = PacketMeta {
                    recirc_id: *id,
                    ..*meta
                };
                sink.recirculate(pkt, &m, i == last);
            }
            Action::Userspace { userdata } => {
                pkt.complete_csum();
                sink.userspace(pkt, key, *userdata)
            }
            Action::Meter(id) => {
                if !sink.meter(*id, pkt) {
                    sink.drop(DropReason::Meter);
                    return;
                }
            }
            Action::Hash { basis } => meta.dp_hash = hash_5tuple(key, *basis),
            Action::PushVlan { tpid, tci } => {
                if push_vlan(pkt, *tpid, *tci) {
                    h.shift(4);
                    pkt.offload.shift(4);
                }
            }
            Action::PopVlan => {
                if pop_vlan(pkt) {
                    h.shift(-4);
                    pkt.offload.shift(-4);
                }
            }
            Action::PushMpls { ethertype, lse } => {
                if push_mpls(pkt, *ethertype, *lse) {
                    pkt.offload.shift(4);
                    stale = true;
                }
            }
            Action::PopMpls { ethertype } => {
                if pop_mpls(pkt, *ethertype) {
                    pkt.offload.shift(-4);
                    stale = true;
                }
            }
            Action::PushPbb { itag } => {
                if pbb::push(pkt, *itag) {
                    pkt.offload.shift(pbb::PUSH_LEN as isize);
                    stale = true;
                }
            }
            Action::PopPbb => {
                if let Some(n) = pbb::pop(pkt) {
                    pkt.offload.shift(-(n as isize));
                    stale = true;
                }
            }
            Action::CopyTtlIn => {
                ttl::copy_in(pkt);
            }
            Action::CopyTtlOut => {
                ttl::copy_out(pkt);
            }
            Action::Set(s) => {
                if stale && needs_headers(s) {
                    h = Hdrs::reparse(pkt);
                    stale = false;
                }
                set(pkt, meta, &h, s);
            }
        }
    }
}

fn needs_headers(s: &SetMasked) -> bool {
    !matches!(
        s,
        SetMasked::Eth { .. }
            | SetMasked::SkbPriority(_)
            | SetMasked::PktMark { .. }
            | SetMasked::TunnelId(_)
    )
}

/// The datapath hash of the key's 5-tuple (addresses, protocol, ports).
pub fn hash_5tuple(key: &FlowKey, basis: u32) -> u32 {
    let mut w = [0u64; 6];
    w[0] = (u64::from(key.nw_src) << 32) | u64::from(key.nw_dst);
    w[1] = u64::from_ne_bytes(key.ipv6_src[..8].try_into().unwrap_or([0; 8]))
        ^ u64::from_ne_bytes(key.ipv6_src[8..].try_into().unwrap_or([0; 8]));
    w[2] = u64::from_ne_bytes(key.ipv6_dst[..8].try_into().unwrap_or([0; 8]))
        ^ u64::from_ne_bytes(key.ipv6_dst[8..].try_into().unwrap_or([0; 8]));
    w[3] = (u64::from(key.tp_src) << 16) | u64::from(key.tp_dst);
    w[4] = u64::from(key.nw_proto);
    w[5] = u64::from(key.dl_type);
    crate::flow::hash::hash_words(&w, basis)
}

#[inline]
fn field<const N: usize>(p: &mut [u8], off: usize) -> Option<&mut [u8; N]> {
    p.get_mut(off..off.checked_add(N)?)?.try_into().ok()
}

#[inline]
fn rd16(p: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(p.get(off..off + 2)?.try_into().ok()?))
}

#[inline]
fn wr16(p: &mut [u8], off: usize, v: u16) {
    if let Some(b) = field::<2>(p, off) {
        *b = v.to_be_bytes();
    }
}

/// Masked write of a byte array; returns the old value.
#[inline]
fn masked_bytes<const N: usize>(dst: &mut [u8; N], v: &[u8; N], m: &[u8; N]) -> [u8; N] {
    let old = *dst;
    for i in 0..N {
        dst[i] = (old[i] & !m[i]) | (v[i] & m[i]);
    }
    old
}

#[inline]
fn mix<T>(old: T, v: T, m: T) -> T
where
    T: core::ops::BitAnd<Output = T>
        + core::ops::BitOr<Output = T>
        + core::ops::Not<Output = T>
        + Copy,
{
    (old & !m) | (v & m)
}

/// Offset of the EtherType field that follows the VLAN tags.
fn ethertype_offset(p: &[u8]) -> Option<usize> {
    let mut off = 12;
    loop {
        let t = rd16(p, off)?;
        if t != ETH_VLAN && t != ETH_QINQ {
            return Some(off);
        }
        off += 4;
    }
}

fn push_vlan(pkt: &mut Packet, tpid: u16, tci: u16) -> bool {
    if pkt.len() < 14 || !insert_gap(pkt, 12, 4) {
        return false;
    }
    let d = pkt.data_mut();
    wr16(d, 12, tpid);
    wr16(d, 14, tci & !crate::flow::key::VLAN_CFI);
    true
}

fn pop_vlan(pkt: &mut Packet) -> bool {
    let d = pkt.data();
    match rd16(d, 12) {
        Some(ETH_VLAN | ETH_QINQ) if d.len() >= 18 => remove_range(pkt, 12, 4),
        _ => false,
    }
}

fn push_mpls(pkt: &mut Packet, ethertype: u16, lse: u32) -> bool {
    let Some(et) = ethertype_offset(pkt.data()) else {
        return false;
    };
    if !insert_gap(pkt, et + 2, 4) {
        return false;
    }
    let d = pkt.data_mut();
    wr16(d, et, ethertype);
    if let Some(b) = field::<4>(d, et + 2) {
        *b = lse.to_be_bytes();
    }
    true
}

fn pop_mpls(pkt: &mut Packet, ethertype: u16) -> bool {
    let d = pkt.data();
    let Some(et) = ethertype_offset(d) else {
        return false;
    };
    match rd16(d, et) {
        Some(ETH_MPLS | ETH_MPLS_MC) if d.len() >= et + 6 => {}
        _ => return false,
    }
    if !remove_range(pkt, et + 2, 4) {
        return false;
    }
    wr16(pkt.data_mut(), et, ethertype);
    true
}

/// End of the IP payload (excludes Ethernet padding), or the frame end.
fn ip_end(p: &[u8], h: &Hdrs) -> usize {
    let l3 = h.offs.l3 as usize;
    let end = match h.dl_type {
        ETH_IPV4 => rd16(p, l3 + 2).map(|t| l3 + t as usize),
        ETH_IPV6 => rd16(p, l3 + 4).map(|t| l3 + 40 + t as usize),
        _ => None,
    };
    end.unwrap_or(p.len()).min(p.len())
}

/// Where the transport checksum is and how to update it.
#[derive(Debug, Clone, Copy)]
struct L4Csum {
    /// Offset of the field in the frame.
    at: usize,
    /// UDP over IPv4: zero means "no checksum".
    udp: bool,
    /// The field holds a partial (uncomplemented pseudo-header) sum.
    partial: bool,
}

/// The transport checksum covering the pseudo-header, if the packet has one.
fn l4_csum(h: &Hdrs, partial: bool) -> Option<L4Csum> {
    if h.offs.l4 == NONE {
        return None;
    }
    let l4 = h.offs.l4 as usize;
    let at = match h.nw_proto {
        IPPROTO_TCP => l4 + 16,
        IPPROTO_UDP => l4 + 6,
        IPPROTO_ICMPV6 if h.dl_type == ETH_IPV6 => l4 + 2,
        _ => return None,
    };
    Some(L4Csum {
        at,
        udp: h.nw_proto == IPPROTO_UDP,
        partial,
    })
}

/// True when the packet's pending offload checksum is the one at `l4`.
fn partial_at(pkt: &Packet, h: &Hdrs) -> bool {
    h.offs.l4 != NONE
        && pkt
            .offload
            .csum
            .is_some_and(|c| usize::from(c.start) == usize::from(h.offs.l4))
}

/// Updates the transport checksum after `old` became `new`. `pseudo`: the
/// bytes are in the pseudo-header (addresses), not in the L4 segment.
fn fix_l4(p: &mut [u8], csum: Option<L4Csum>, old: &[u8], new: &[u8], pseudo: bool) {
    let Some(c) = csum else { return };
    let Some(v) = rd16(p, c.at) else { return };
    if c.partial {
        // The field holds the uncomplemented pseudo-header sum; the segment
        // itself is summed at egress.
        if pseudo {
            wr16(p, c.at, !checksum::update_bytes(!v, old, new));
        }
        return;
    }
    if c.udp && v == 0 {
        return;
    }
    let mut n = checksum::update_bytes(v, old, new);
    if c.udp && n == 0 {
        n = 0xffff;
    }
    wr16(p, c.at, n);
}

fn set(pkt: &mut Packet, meta: &mut PacketMeta, h: &Hdrs, s: &SetMasked) {
    let partial = partial_at(pkt, h);
    match *s {
        SetMasked::SkbPriority(v) => meta.skb_priority = v,
        SetMasked::PktMark { mark, mask } => {
            meta.pkt_mark = mix(meta.pkt_mark, mark, mask);
        }
        SetMasked::TunnelId(id) => meta.tun_id = id,
        SetMasked::Eth {
            src,
            src_mask,
            dst,
            dst_mask,
        } => {
            let d = pkt.data_mut();
            if let Some(b) = field::<6>(d, 0) {
                masked_bytes(b, &dst, &dst_mask);
            }
            if let Some(b) = field::<6>(d, 6) {
                masked_bytes(b, &src, &src_mask);
            }
        }
        SetMasked::Icmp(t) => {
            icmp::set(pkt.data_mut(), h, &t, false, partial);
        }
        SetMasked::Icmpv6(t) => {
            icmp::set(pkt.data_mut(), h, &t, true, partial);
        }
        SetMasked::Pbb { itag, mask } => {
            pbb::set(pkt, itag, mask);
        }
        SetMasked::Mpls { lse, lse_mask } => {
            if h.offs.l2_5 != NONE
                && matches!(h.dl_type, ETH_MPLS | ETH_MPLS_MC)
                && let Some(b) = field::<4>(pkt.data_mut(), h.offs.l2_5 as usize)
            {
                *b = mix(u32::from_be_bytes(*b), lse, lse_mask).to_be_bytes();
            }
        }
        SetMasked::Ipv4 {
            src,
            src_mask,
            dst,
            dst_mask,
            tos,
            tos_mask,
            ttl,
            ttl_mask,
        } => set_ipv4(
            pkt.data_mut(),
            h,
            [src, src_mask, dst, dst_mask],
            [tos, tos_mask, ttl, ttl_mask],
            partial,
        ),
        SetMasked::Ipv6 {
            src,
            src_mask,
            dst,
            dst_mask,
            label,
            label_mask,
            tclass,
            tclass_mask,
            hlimit,
            hlimit_mask,
        } => {
            if h.dl_type != ETH_IPV6 || h.offs.l3 == NONE {
                return;
            }
            let d = pkt.data_mut();
            let l3 = h.offs.l3 as usize;
            if d.len() < l3 + 40 {
                return;
            }
            let csum = l4_csum(h, partial);
            for (off, v, m) in [(l3 + 8, &src, &src_mask), (l3 + 24, &dst, &dst_mask)] {
                if *m == [0; 16] {
                    continue;
                }
                let Some(b) = field::<16>(d, off) else {
                    continue;
                };
                let old = masked_bytes(b, v, m);
                let new = *b;
                fix_l4(d, csum, &old, &new, true);
            }
            if let Some(b) = field::<4>(d, l3) {
                let w = u32::from_be_bytes(*b);
                let tc = mix((w >> 20) as u8, tclass, tclass_mask);
                let fl = mix(w & 0xf_ffff, label, label_mask & 0xf_ffff);
                *b = ((w & 0xf000_0000) | (u32::from(tc) << 20) | fl).to_be_bytes();
            }
            if let Some(b) = d.get_mut(l3 + 7) {
                *b = mix(*b, hlimit, hlimit_mask);
            }
        }
        SetMasked::Tcp(ports) => {
            if h.nw_proto == IPPROTO_TCP {
                set_ports(pkt.data_mut(), h, &ports, Some(16), partial);
            }
        }
        SetMasked::Udp(ports) => {
            if h.nw_proto == IPPROTO_UDP {
                set_ports(pkt.data_mut(), h, &ports, Some(6), partial);
            }
        }
        SetMasked::Sctp(ports) => {
            if h.nw_proto == IPPROTO_SCTP && set_ports(pkt.data_mut(), h, &ports, None, partial) {
                let d = pkt.data_mut();
                let (l4, end) = (h.offs.l4 as usize, ip_end(d, h));
                if let Some(seg) = d.get_mut(l4..end)
                    && seg.len() >= 12
                {
                    seg[8..12].fill(0);
                    let crc = crc32c(seg);
                    seg[8..12].copy_from_slice(&crc.to_le_bytes());
                }
            }
        }
        SetMasked::Arp {
            sip,
            sip_mask,
            tip,
            tip_mask,
            sha,
            sha_mask,
            tha,
            tha_mask,
            op,
            op_mask,
        } => {
            if !matches!(h.dl_type, ETH_ARP | ETH_RARP) || h.offs.l3 == NONE {
                return;
            }
            let l3 = h.offs.l3 as usize;
            let d = pkt.data_mut();
            if d.len() < l3 + 28 {
                return;
            }
            if let Some(b) = field::<2>(d, l3 + 6) {
                *b = mix(u16::from_be_bytes(*b), op, op_mask).to_be_bytes();
            }
            if let Some(b) = field::<6>(d, l3 + 8) {
                masked_bytes(b, &sha, &sha_mask);
            }
            if let Some(b) = field::<4>(d, l3 + 14) {
                *b = mix(u32::from_be_bytes(*b), sip, sip_mask).to_be_bytes();
            }
            if let Some(b) = field::<6>(d, l3 + 18) {
                masked_bytes(b, &tha, &tha_mask);
            }
            if let Some(b) = field::<4>(d, l3 + 24) {
                *b = mix(u32::from_be_bytes(*b), tip, tip_mask).to_be_bytes();
            }
        }
        SetMasked::Nd {
            target,
            target_mask,
            sll,
            sll_mask,
            tll,
            tll_mask,
        } => set_nd(
            pkt.data_mut(),
            h,
            (&target, &target_mask),
            (&sll, &sll_mask),
            (&tll, &tll_mask),
            partial,
        ),
    }
}

fn set_ipv4(d: &mut [u8], h: &Hdrs, addr: [u32; 4], tt: [u8; 4], partial: bool) {
    if h.dl_type != ETH_IPV4 || h.offs.l3 == NONE {
        return;
    }
    let l3 = h.offs.l3 as usize;
    if d.len() < l3 + 20 {
        return;
    }
    let Some(mut hc) = rd16(d, l3 + 10) else {
        return;
    };
    let csum = l4_csum(h, partial);
    for (off, v, m) in [(l3 + 12, addr[0], addr[1]), (l3 + 16, addr[2], addr[3])] {
        if m == 0 {
            continue;
        }
        let Some(b) = field::<4>(d, off) else {
            continue;
        };
        let old = *b;
        *b = mix(u32::from_be_bytes(old), v, m).to_be_bytes();
        let new = *b;
        hc = checksum::update_bytes(hc, &old, &new);
        fix_l4(d, csum, &old, &new, true);
    }
    // TOS shares a 16-bit word with version/IHL, TTL with the protocol.
    for (off, v, m) in [(l3, tt[0], tt[1]), (l3 + 8, tt[2], tt[3])] {
        if m == 0 {
            continue;
        }
        let Some(b) = field::<2>(d, off) else {
            continue;
        };
        let old = *b;
        let byte = if off == l3 { 1 } else { 0 };
        b[byte] = mix(b[byte], v, m);
        hc = checksum::update_bytes(hc, &old, &*b);
    }
    wr16(d, l3 + 10, hc);
}

/// Masked write of the two ports at the start of the L4 header, updating the
/// checksum at `csum_at` (relative to L4) when given. True when written.
fn set_ports(d: &mut [u8], h: &Hdrs, p: &L4Ports, csum_at: Option<usize>, partial: bool) -> bool {
    if h.offs.l4 == NONE {
        return false;
    }
    let l4 = h.offs.l4 as usize;
    let Some(b) = field::<4>(d, l4) else {
        return false;
    };
    let old = *b;
    let src = mix(u16::from_be_bytes([old[0], old[1]]), p.src, p.src_mask);
    let dst = mix(u16::from_be_bytes([old[2], old[3]]), p.dst, p.dst_mask);
    b[..2].copy_from_slice(&src.to_be_bytes());
    b[2..].copy_from_slice(&dst.to_be_bytes());
    let new = *b;
    if let Some(at) = csum_at {
        fix_l4(
            d,
            Some(L4Csum {
                at: l4 + at,
                udp: h.nw_proto == IPPROTO_UDP,
                partial,
            }),
            &old,
            &new,
            false,
        );
    }
    true
}

type Masked<'a, const N: usize> = (&'a [u8; N], &'a [u8; N]);

fn set_nd(
    d: &mut [u8],
    h: &Hdrs,
    target: Masked<'_, 16>,
    sll: Masked<'_, 6>,
    tll: Masked<'_, 6>,
    partial: bool,
) {
    if h.dl_type != ETH_IPV6 || h.nw_proto != IPPROTO_ICMPV6 || h.offs.l4 == NONE {
        return;
    }
    // Neighbor solicitation (135) or advertisement (136) only.
    if !matches!(h.icmp_type, 135 | 136) {
        return;
    }
    let l4 = h.offs.l4 as usize;
    let end = ip_end(d, h);
    let csum = Some(L4Csum {
        at: l4 + 2,
        udp: false,
        partial,
    });
    if *target.1 != [0; 16]
        && l4 + 24 <= end
        && let Some(b) = field::<16>(d, l4 + 8)
    {
        let old = masked_bytes(b, target.0, target.1);
        let new = *b;
        fix_l4(d, csum, &old, &new, false);
    }
    // Options: type(1) len(1, in units of 8 bytes) value.
    let mut o = l4 + 24;
    while o + 8 <= end {
        let (ty, len) = (d[o], usize::from(d[o + 1]) * 8);
        if len == 0 || o + len > end {
            return;
        }
        let which = match ty {
            1 => Some(sll),
            2 => Some(tll),
            _ => None,
        };
        if let Some((v, m)) = which
            && len == 8
            && *m != [0; 6]
            && let Some(b) = field::<6>(d, o + 2)
        {
            let old = masked_bytes(b, v, m);
            let new = *b;
            fix_l4(d, csum, &old, &new, false);
        }
        o += len;
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ext;
