//! Executor tests: one or more per action; every rewrite is checked by
//! recomputing the checksums from scratch.

use super::*;
use crate::flow::extract_with_offsets;
use crate::packet::packet_from;
use crate::wire::IpProtocol;
use etherparse::PacketBuilder;
use proptest::prelude::*;

const SRC_MAC: [u8; 6] = [0, 0, 0, 0, 0, 1];
const DST_MAC: [u8; 6] = [0, 0, 0, 0, 0, 2];

#[derive(Default)]
struct Rec {
    out: Vec<(DpPort, Vec<u8>, bool)>,
    recirc: Vec<(Vec<u8>, PacketMeta)>,
    userspace: Vec<(u64, Vec<u8>)>,
    drops: Vec<DropReason>,
    meter_pass: bool,
    meters: Vec<u32>,
    meta: PacketMeta,
    offload_out: Vec<crate::netdev::Offload>,
}

impl ExecSink for Rec {
    fn output(&mut self, port: DpPort, pkt: &mut Packet, take: bool, max_len: usize) {
        let d = pkt.data();
        self.out
            .push((port, d[..d.len().min(max_len)].to_vec(), take));
        self.offload_out.push(pkt.offload);
    }
    fn userspace(&mut self, pkt: &Packet, _key: &FlowKey, userdata: u64) {
        self.userspace.push((userdata, pkt.data().to_vec()));
    }
    fn meter(&mut self, id: u32, _pkt: &Packet) -> bool {
        self.meters.push(id);
        self.meter_pass
    }
    fn recirculate(&mut self, pkt: &mut Packet, meta: &PacketMeta, _take: bool) {
        self.recirc.push((pkt.data().to_vec(), *meta));
    }
    fn drop(&mut self, reason: DropReason) {
        self.drops.push(reason);
    }
}

fn run(frame: &[u8], actions: &[Action]) -> Rec {
    let mut rec = Rec {
        meter_pass: true,
        ..Default::default()
    };
    let (key, offs) = extract_with_offsets(frame, 1);
    let mut meta = PacketMeta::from_port(1);
    execute(
        actions,
        &mut packet_from(frame),
        &mut meta,
        &key,
        offs,
        &mut rec,
    );
    rec.meta = meta;
    rec
}

/// The single output's bytes.
fn out1(frame: &[u8], actions: &[Action]) -> Vec<u8> {
    let mut r = run(frame, actions);
    assert_eq!(r.out.len(), 1, "one output expected");
    r.out.pop().map(|(_, p, _)| p).unwrap_or_default()
}

fn tcp4() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(1234, 80, 7, 1000);
    let mut v = Vec::new();
    b.write(&mut v, b"hello, world").unwrap();
    v
}

fn udp4(with_csum: bool) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(5000, 53);
    let mut v = Vec::new();
    b.write(&mut v, b"query").unwrap();
    if !with_csum {
        v[14 + 20 + 6] = 0;
        v[14 + 20 + 7] = 0;
    }
    v
}

fn tcp6() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv6(
            [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .tcp(1234, 80, 7, 1000);
    let mut v = Vec::new();
    b.write(&mut v, b"six").unwrap();
    v
}

fn udp6() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv6(
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .udp(5000, 53);
    let mut v = Vec::new();
    b.write(&mut v, b"abc").unwrap();
    v
}

fn icmp6_echo() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv6(
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            255,
        )
        .icmpv6_echo_request(1, 2);
    let mut v = Vec::new();
    b.write(&mut v, b"ping").unwrap();
    v
}

/// A neighbour solicitation for fe80::99 with a source link-layer option.
fn nd_ns() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv6(
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0x99],
            255,
        )
        .icmpv6_raw(135, 0, [0; 4]);
    let mut payload = vec![0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99];
    payload.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 1]);
    let mut v = Vec::new();
    b.write(&mut v, &payload).unwrap();
    v
}

fn ipv4_frame(proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&DST_MAC);
    v.extend_from_slice(&SRC_MAC);
    v.extend_from_slice(&[0x08, 0x00]);
    let tot = (20 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&tot.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let c = checksum::compute(0, &ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(&ip);
    v.extend_from_slice(payload);
    v
}

fn sctp4() -> Vec<u8> {
    // Common header + one DATA chunk header with 4 bytes of data.
    let mut s = vec![0x13, 0x88, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0];
    s.extend_from_slice(&[0, 3, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    let crc = crc32c(&s);
    s[8..12].copy_from_slice(&crc.to_le_bytes());
    ipv4_frame(132, &s)
}

fn arp_req() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&[0xff; 6]);
    v.extend_from_slice(&SRC_MAC);
    v.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    v.extend_from_slice(&SRC_MAC);
    v.extend_from_slice(&[10, 0, 0, 1]);
    v.extend_from_slice(&[0; 6]);
    v.extend_from_slice(&[10, 0, 0, 2]);
    v
}

/// Verifies every checksum of `frame` by recomputing it from scratch.
fn checksums_ok(frame: &[u8]) -> bool {
    let (key, offs) = extract_with_offsets(frame, 0);
    if offs.l3 == Offsets::NONE {
        return true;
    }
    let l3 = offs.l3 as usize;
    type Addrs = Option<(Vec<u8>, Vec<u8>)>;
    let (pseudo_src_dst, l4_end): (Addrs, usize) = match key.dl_type {
        0x0800 => {
            let ihl = usize::from(frame[l3] & 0xf) * 4;
            if !checksum::verify(0, &frame[l3..l3 + ihl]) {
                return false;
            }
            let tot = usize::from(u16::from_be_bytes([frame[l3 + 2], frame[l3 + 3]]));
            (
                Some((
                    frame[l3 + 12..l3 + 16].to_vec(),
                    frame[l3 + 16..l3 + 20].to_vec(),
                )),
                l3 + tot,
            )
        }
        0x86dd => {
            let plen = usize::from(u16::from_be_bytes([frame[l3 + 4], frame[l3 + 5]]));
            (
                Some((
                    frame[l3 + 8..l3 + 24].to_vec(),
                    frame[l3 + 24..l3 + 40].to_vec(),
                )),
                l3 + 40 + plen,
            )
        }
        _ => (None, 0),
    };
    let Some((src, dst)) = pseudo_src_dst else {
        return true;
    };
    if offs.l4 == Offsets::NONE {
        return true;
    }
    let seg = &frame[offs.l4 as usize..l4_end];
    let pseudo = |proto: IpProtocol| {
        if src.len() == 4 {
            checksum::pseudo_header_v4(
                src[..].try_into().unwrap(),
                dst[..].try_into().unwrap(),
                proto,
                seg.len() as u32,
            )
        } else {
            checksum::pseudo_header_v6(
                src[..].try_into().unwrap(),
                dst[..].try_into().unwrap(),
                proto,
                seg.len() as u32,
            )
        }
    };
    match key.nw_proto {
        6 => checksum::verify(pseudo(IpProtocol::Tcp), seg),
        17 => {
            (src.len() == 4 && seg[6..8] == [0, 0])
                || checksum::verify(pseudo(IpProtocol::Udp), seg)
        }
        58 => checksum::verify(pseudo(IpProtocol::Icmpv6), seg),
        1 => checksum::verify(0, seg),
        132 => {
            let mut s = seg.to_vec();
            let want = u32::from_le_bytes([s[8], s[9], s[10], s[11]]);
            s[8..12].fill(0);
            crc32c(&s) == want
        }
        _ => true,
    }
}

fn set_ipv4(src: Option<u32>, dst: Option<u32>, tos: Option<u8>, ttl: Option<u8>) -> Action {
    Action::Set(SetMasked::Ipv4 {
        src: src.unwrap_or(0),
        src_mask: if src.is_some() { u32::MAX } else { 0 },
        dst: dst.unwrap_or(0),
        dst_mask: if dst.is_some() { u32::MAX } else { 0 },
        tos: tos.unwrap_or(0),
        tos_mask: if tos.is_some() { 0xff } else { 0 },
        ttl: ttl.unwrap_or(0),
        ttl_mask: if ttl.is_some() { 0xff } else { 0 },
    })
}

#[test]
fn fixtures_verify_before_any_action() {
    for f in [
        tcp4(),
        udp4(true),
        udp4(false),
        tcp6(),
        udp6(),
        icmp6_echo(),
        nd_ns(),
        sctp4(),
        arp_req(),
    ] {
        assert!(checksums_ok(&f));
    }
    let mut bad = tcp4();
    bad[14 + 20 + 17] ^= 1;
    assert!(
        !checksums_ok(&bad),
        "the checker must notice a bad checksum"
    );
}

#[test]
fn output_moves_last_and_copies_otherwise() {
    let f = tcp4();
    let r = run(&f, &[Action::Output(1), Action::Output(2)]);
    assert_eq!(r.out.len(), 2);
    assert_eq!((r.out[0].0, r.out[1].0), (1, 2));
    assert!(r.out.iter().all(|(_, p, _)| *p == f));
    assert_eq!(
        (r.out[0].2, r.out[1].2),
        (false, true),
        "only the last output takes the buffer"
    );
    // Output then a rewrite: the output copies, the packet stays.
    let r = run(
        &f,
        &[Action::Output(3), set_ipv4(None, None, None, Some(1))],
    );
    assert_eq!((r.out[0].1.as_slice(), r.out[0].2), (&f[..], false));
}

#[test]
fn empty_actions_drop_with_reason() {
    let r = run(&tcp4(), &[]);
    assert_eq!(r.drops, vec![DropReason::Actions]);
    assert!(r.out.is_empty());
}

#[test]
fn trunc_applies_to_next_output_only() {
    let f = tcp4();
    let r = run(
        &f,
        &[Action::Trunc(20), Action::Output(1), Action::Output(2)],
    );
    assert_eq!(r.out[0].1.len(), 20);
    assert_eq!(r.out[1].1.len(), f.len());
}

#[test]
fn set_eth_masked() {
    let f = tcp4();
    let o = out1(
        &f,
        &[
            Action::Set(SetMasked::Eth {
                src: [0xaa; 6],
                src_mask: [0xff; 6],
                dst: [0x12, 0, 0, 0, 0, 0x34],
                dst_mask: [0xff, 0, 0, 0, 0, 0x0f],
            }),
            Action::Output(1),
        ],
    );
    assert_eq!(&o[6..12], &[0xaa; 6]);
    assert_eq!(&o[0..6], &[0x12, 0, 0, 0, 0, 0x04]);
    assert_eq!(&o[12..], &f[12..]);
}

#[test]
fn set_ipv4_fields_keep_ip_and_tcp_checksums() {
    let o = out1(
        &tcp4(),
        &[
            set_ipv4(Some(0xc0a8_0101), Some(0x0808_0808), Some(0xb8), Some(7)),
            Action::Output(1),
        ],
    );
    let k = extract(&o);
    assert_eq!(
        (k.nw_src, k.nw_dst, k.nw_tos, k.nw_ttl),
        (0xc0a8_0101, 0x0808_0808, 0xb8, 7)
    );
    assert_eq!((k.tp_src, k.tp_dst), (1234, 80));
    assert!(checksums_ok(&o));
}

#[test]
fn set_ipv4_partial_mask() {
    let o = out1(
        &tcp4(),
        &[
            Action::Set(SetMasked::Ipv4 {
                src: 0xc0a8_0000,
                src_mask: 0xffff_0000,
                dst: 0,
                dst_mask: 0,
                tos: 0x03,
                tos_mask: 0x03,
                ttl: 0,
                ttl_mask: 0,
            }),
            Action::Output(1),
        ],
    );
    let k = extract(&o);
    assert_eq!(
        (k.nw_src, k.nw_dst, k.nw_tos),
        (0xc0a8_0001, 0x0a00_0002, 0x03)
    );
    assert!(checksums_ok(&o));
}

fn extract(f: &[u8]) -> FlowKey {
    crate::flow::extract(f, 0)
}

#[test]
fn set_ipv4_udp_checksum_and_zero_checksum() {
    let o = out1(
        &udp4(true),
        &[
            set_ipv4(Some(0x0102_0304), None, None, None),
            Action::Output(1),
        ],
    );
    assert_eq!(extract(&o).nw_src, 0x0102_0304);
    assert!(checksums_ok(&o));
    assert_ne!(&o[40..42], &[0, 0]);
    let o = out1(
        &udp4(false),
        &[
            set_ipv4(Some(0x0102_0304), None, None, None),
            Action::Output(1),
        ],
    );
    assert_eq!(&o[40..42], &[0, 0], "a zero UDP checksum stays zero");
    assert!(checksums_ok(&o));
}

#[test]
fn set_ipv6_keeps_tcp_udp_icmpv6_checksums() {
    let new_src = [
        0x20, 1, 0xd, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd,
    ];
    let act = Action::Set(SetMasked::Ipv6 {
        src: new_src,
        src_mask: [0xff; 16],
        dst: [0; 16],
        dst_mask: [0; 16],
        label: 0x12345,
        label_mask: 0xfffff,
        tclass: 0x28,
        tclass_mask: 0xff,
        hlimit: 9,
        hlimit_mask: 0xff,
    });
    for f in [tcp6(), udp6(), icmp6_echo()] {
        let o = out1(&f, &[act.clone(), Action::Output(1)]);
        let k = extract(&o);
        assert_eq!(k.ipv6_src, new_src);
        assert_eq!((k.ipv6_label, k.nw_tos, k.nw_ttl), (0x12345, 0x28, 9));
        assert_eq!(o[14] >> 4, 6, "version kept");
        assert!(checksums_ok(&o));
    }
}

#[test]
fn set_ports_tcp_udp_sctp() {
    let ports = L4Ports {
        src: 4321,
        src_mask: 0xffff,
        dst: 8080,
        dst_mask: 0xffff,
    };
    for (f, act) in [
        (tcp4(), SetMasked::Tcp(ports)),
        (udp4(true), SetMasked::Udp(ports)),
        (udp6(), SetMasked::Udp(ports)),
        (tcp6(), SetMasked::Tcp(ports)),
        (sctp4(), SetMasked::Sctp(ports)),
    ] {
        let o = out1(&f, &[Action::Set(act), Action::Output(1)]);
        let k = extract(&o);
        assert_eq!((k.tp_src, k.tp_dst), (4321, 8080), "{act}");
        assert!(checksums_ok(&o), "{act}");
    }
    // A TCP write on a UDP packet does nothing.
    let f = udp4(true);
    assert_eq!(
        out1(&f, &[Action::Set(SetMasked::Tcp(ports)), Action::Output(1)]),
        f
    );
}

#[test]
fn set_nd_target_and_sll() {
    let target = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42];
    let o = out1(
        &nd_ns(),
        &[
            Action::Set(SetMasked::Nd {
                target,
                target_mask: [0xff; 16],
                sll: [2, 3, 4, 5, 6, 7],
                sll_mask: [0xff; 6],
                tll: [0; 6],
                tll_mask: [0; 6],
            }),
            Action::Output(1),
        ],
    );
    let k = extract(&o);
    assert_eq!(k.nd_target, target);
    assert_eq!(k.nd_sll(), [2, 3, 4, 5, 6, 7]);
    assert!(checksums_ok(&o));
}

#[test]
fn set_arp_fields() {
    let o = out1(
        &arp_req(),
        &[
            Action::Set(SetMasked::Arp {
                sip: 0x0a00_00fe,
                sip_mask: u32::MAX,
                tip: 0,
                tip_mask: 0,
                sha: [9; 6],
                sha_mask: [0xff; 6],
                tha: [7; 6],
                tha_mask: [0xff; 6],
                op: 2,
                op_mask: 0xffff,
            }),
            Action::Output(1),
        ],
    );
    let k = extract(&o);
    assert_eq!(
        (k.arp_op, k.nw_src, k.nw_dst),
        (2, 0x0a00_00fe, 0x0a00_0002)
    );
    assert_eq!((k.arp_sha, k.arp_tha), ([9; 6], [7; 6]));
}

#[test]
fn partial_checksum_stays_partial_and_correct() {
    use crate::netdev::{CsumPartial, Offload};
    // A UDP/IPv4 packet as a vnet-header port delivers it: the checksum
    // field holds the pseudo-header sum, to be completed at egress.
    let f = udp4(true);
    let l4 = 34;
    let mut pkt = packet_from(&f);
    let seg_len = (f.len() - l4) as u32;
    let pseudo = checksum::pseudo_header_v4([10, 0, 0, 1], [10, 0, 0, 2], IpProtocol::Udp, seg_len);
    pkt.data_mut()[l4 + 6..l4 + 8].copy_from_slice(&pseudo.to_be_bytes());
    pkt.offload = Offload {
        csum: Some(CsumPartial {
            start: l4 as u16,
            offset: 6,
        }),
        ..Offload::default()
    };
    let (key, offs) = extract_with_offsets(&f, 1);
    let mut rec = Rec::default();
    let acts = [
        set_ipv4(Some(0xc0a8_0001), Some(0x0808_0808), None, None),
        Action::Set(SetMasked::Udp(L4Ports {
            src: 9,
            src_mask: 0xffff,
            dst: 0,
            dst_mask: 0,
        })),
        Action::PushVlan {
            tpid: 0x8100,
            tci: 3,
        },
        Action::Output(1),
    ];
    execute(
        &acts,
        &mut pkt,
        &mut PacketMeta::from_port(1),
        &key,
        offs,
        &mut rec,
    );
    let off = rec.offload_out[0];
    assert_eq!(
        off.csum.map(|c| c.start),
        Some(l4 as u16 + 4),
        "shifted by the tag"
    );
    // Completing it as the egress would gives a valid packet.
    let mut done = packet_from(&rec.out[0].1);
    done.offload = off;
    assert!(done.complete_csum());
    let k = crate::flow::extract(done.data(), 0);
    assert_eq!(
        (k.nw_src, k.nw_dst, k.tp_src),
        (0xc0a8_0001, 0x0808_0808, 9)
    );
    assert!(checksums_ok(done.data()));
}

#[test]
fn push_and_pop_vlan() {
    let f = tcp4();
    let o = out1(
        &f,
        &[
            Action::PushVlan {
                tpid: 0x8100,
                tci: 0x1000 | (5 << 13) | 10,
            },
            Action::PushVlan {
                tpid: 0x88a8,
                tci: 20,
            },
            // Offsets shifted by the tags: the L3 write still lands right.
            set_ipv4(None, None, None, Some(3)),
            Action::Output(1),
        ],
    );
    let k = extract(&o);
    assert_eq!(
        (k.vlans[0].tpid, k.vlans[0].vid(), k.vlans[0].pcp()),
        (0x88a8, 20, 0)
    );
    assert_eq!(
        (k.vlans[1].tpid, k.vlans[1].vid(), k.vlans[1].pcp()),
        (0x8100, 10, 5)
    );
    assert_eq!(&o[14..16], &[0, 20]);
    assert_eq!(&o[18..20], &[0xa0, 10], "CFI bit not written");
    assert_eq!((k.dl_type, k.nw_ttl, k.tp_dst), (0x0800, 3, 80));
    assert!(checksums_ok(&o));
    let back = out1(&o, &[Action::PopVlan, Action::PopVlan, Action::Output(1)]);
    let mut want = f.clone();
    // Same bytes except the TTL and the IP checksum.
    want[14 + 8] = 3;
    let c = checksum::update_u16(
        u16::from_be_bytes([want[24], want[25]]),
        u16::from_be_bytes([64, 6]),
        u16::from_be_bytes([3, 6]),
    );
    want[24..26].copy_from_slice(&c.to_be_bytes());
    assert_eq!(back, want);
    // Popping an untagged frame is a no-op.
    assert_eq!(out1(&f, &[Action::PopVlan, Action::Output(1)]), f);
}

#[test]
fn push_set_pop_mpls() {
    let f = tcp4();
    let lse = (100 << 12) | (1 << 8) | 64;
    let o = out1(
        &f,
        &[
            Action::PushMpls {
                ethertype: 0x8847,
                lse,
            },
            Action::Set(SetMasked::Mpls {
                lse: 200 << 12,
                lse_mask: 0xfffff << 12,
            }),
            Action::Output(1),
        ],
    );
    let k = extract(&o);
    assert_eq!(k.dl_type, 0x8847);
    assert_eq!((k.mpls_label(), k.mpls_bos(), k.mpls_ttl()), (200, 1, 64));
    assert_eq!(&o[18..], &f[14..]);
    // Pop back to IPv4 and rewrite L3: the executor re-finds the headers.
    let back = out1(
        &o,
        &[
            Action::PopMpls { ethertype: 0x0800 },
            set_ipv4(Some(0x0b00_0001), None, None, None),
            Action::Output(1),
        ],
    );
    let k = extract(&back);
    assert_eq!((k.dl_type, k.nw_src, k.tp_dst), (0x0800, 0x0b00_0001, 80));
    assert!(checksums_ok(&back));
    // Push under a VLAN tag: MPLS goes after the tag.
    let o = out1(
        &f,
        &[
            Action::PushVlan {
                tpid: 0x8100,
                tci: 7,
            },
            Action::PushMpls {
                ethertype: 0x8847,
                lse,
            },
            Action::Output(1),
        ],
    );
    let k = extract(&o);
    assert_eq!(
        (k.vlans[0].vid(), k.dl_type, k.mpls_label()),
        (7, 0x8847, 100)
    );
}

#[test]
fn meter_userspace_recirc_hash_and_metadata() {
    let f = tcp4();
    let mut rec = Rec::default(); // meters refuse
    let (key, offs) = extract_with_offsets(&f, 1);
    execute(
        &[Action::Meter(7), Action::Output(1)],
        &mut packet_from(&f),
        &mut PacketMeta::from_port(1),
        &key,
        offs,
        &mut rec,
    );
    assert_eq!(
        (rec.meters.clone(), rec.drops.clone()),
        (vec![7], vec![DropReason::Meter])
    );
    assert!(rec.out.is_empty());

    let r = run(
        &f,
        &[
            Action::Meter(7),
            Action::Userspace { userdata: 0xabc },
            Action::Hash { basis: 5 },
            Action::Set(SetMasked::PktMark {
                mark: 0xf0,
                mask: 0xff,
            }),
            Action::Set(SetMasked::SkbPriority(3)),
            Action::Set(SetMasked::TunnelId(99)),
            Action::Recirc(0x10),
            Action::Output(4),
            Action::Recirc(0x20),
        ],
    );
    assert_eq!(r.userspace, vec![(0xabc, f.clone())]);
    assert_eq!(r.recirc.len(), 2);
    assert_eq!(
        (r.recirc[0].1.recirc_id, r.recirc[1].1.recirc_id),
        (0x10, 0x20)
    );
    let m = r.recirc[1].1;
    assert_eq!((m.pkt_mark, m.skb_priority, m.tun_id), (0xf0, 3, 99));
    assert_eq!(m.dp_hash, hash_5tuple(&key, 5));
    assert_ne!(m.dp_hash, hash_5tuple(&key, 6));
    assert_eq!(r.out.len(), 1);
    assert_eq!(
        r.meta.recirc_id, 0,
        "only the recirculated packet gets the id"
    );
    assert_eq!(r.meta.pkt_mark, 0xf0);
}

fn any_action() -> impl Strategy<Value = Action> {
    let l4 =
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(a, b, c, d)| L4Ports {
            src: a,
            src_mask: b,
            dst: c,
            dst_mask: d,
        });
    prop_oneof![
        (0u32..4).prop_map(Action::Output),
        (any::<u16>(), any::<u16>()).prop_map(|(tpid, tci)| Action::PushVlan { tpid, tci }),
        Just(Action::PopVlan),
        (any::<u16>(), any::<u32>())
            .prop_map(|(ethertype, lse)| Action::PushMpls { ethertype, lse }),
        any::<u16>().prop_map(|ethertype| Action::PopMpls { ethertype }),
        (any::<u32>(), any::<u32>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c, d)| set_ipv4(
            Some(a),
            Some(b),
            Some(c),
            Some(d)
        )),
        (any::<[u8; 16]>(), any::<u32>(), any::<u8>()).prop_map(|(a, l, t)| Action::Set(
            SetMasked::Ipv6 {
                src: a,
                src_mask: [0xff; 16],
                dst: a,
                dst_mask: [0x0f; 16],
                label: l,
                label_mask: l,
                tclass: t,
                tclass_mask: t,
                hlimit: t,
                hlimit_mask: 0xff
            }
        )),
        l4.clone().prop_map(|p| Action::Set(SetMasked::Tcp(p))),
        l4.clone().prop_map(|p| Action::Set(SetMasked::Udp(p))),
        l4.prop_map(|p| Action::Set(SetMasked::Sctp(p))),
        (any::<[u8; 16]>(), any::<[u8; 6]>()).prop_map(|(t, l)| Action::Set(SetMasked::Nd {
            target: t,
            target_mask: [0xff; 16],
            sll: l,
            sll_mask: [0xff; 6],
            tll: l,
            tll_mask: [0xff; 6]
        })),
        (any::<u32>(), any::<u32>())
            .prop_map(|(lse, lse_mask)| Action::Set(SetMasked::Mpls { lse, lse_mask })),
        (0u32..100).prop_map(Action::Trunc),
        any::<u32>().prop_map(|basis| Action::Hash { basis }),
        (0u32..3).prop_map(Action::Recirc),
    ]
}

fn any_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120),
        (
            0usize..8,
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..4)
        )
            .prop_map(|(which, cut, noise)| {
                let f = [
                    tcp4(),
                    udp4(true),
                    tcp6(),
                    udp6(),
                    icmp6_echo(),
                    nd_ns(),
                    sctp4(),
                    arp_req(),
                ][which]
                    .clone();
                let mut f = f[..cut % (f.len() + 1)].to_vec();
                f.extend(noise);
                f
            }),
    ]
}

proptest! {
    #[test]
    fn never_panics(frame in any_frame(), actions in proptest::collection::vec(any_action(), 0..8)) {
        let r = run(&frame, &actions);
        // A packet that is not dropped ends wherever it went; an empty list
        // is always a counted drop.
        prop_assert_eq!(actions.is_empty(), r.drops == vec![DropReason::Actions]);
    }

    /// Rewrites of well-formed packets keep every checksum valid.
    #[test]
    fn rewrites_keep_checksums(which in 0usize..8, actions in proptest::collection::vec(any_action(), 0..6)) {
        let f = [tcp4(), udp4(true), udp4(false), tcp6(), udp6(), icmp6_echo(), nd_ns(), sctp4()][which].clone();
        // Only field writes: pushes and pops change what a checksum covers.
        let actions: Vec<Action> = actions
            .into_iter()
            .filter(|a| matches!(a, Action::Set(_)))
            .chain([Action::Output(1)])
            .collect();
        let o = out1(&f, &actions);
        prop_assert!(checksums_ok(&o), "{}", crate::actions::ActionList(&actions));
    }
}
