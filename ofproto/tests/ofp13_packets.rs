//! OpenFlow 1.3 set_field targets and actions end to end on real packet
//! bytes: a frame is parsed into a key, the bridge translates it (as an
//! upcall would), the datapath executor runs the resulting actions on the
//! frame, and the output is parsed again and checked field by field, with
//! every checksum recomputed from scratch (independently of the datapath's
//! own checksum code).

mod common;

use common::*;
use datapath::actions::{Action as Dp, DpPort};
use datapath::execute::{ExecSink, execute};
use datapath::flow::{FlowKey, extract_with_offsets};
use datapath::packet::{Packet, PacketMeta, packet_from};
use datapath::stats::DropReason;
use ofproto::ofp::actions::Action;
use ofproto::ofp::instructions::Instruction;
use ofproto::ofp::oxm::Field;
use ofproto::pipeline::fields;

#[derive(Default)]
struct Sink {
    out: Outputs,
}

impl ExecSink for Sink {
    fn output(&mut self, port: DpPort, pkt: &mut Packet, _take: bool, max_len: usize) {
        let d = pkt.data();
        self.out.push((port, d[..d.len().min(max_len)].to_vec()));
    }
    fn userspace(&mut self, _pkt: &Packet, _key: &FlowKey, _userdata: u64) {}
    fn meter(&mut self, _id: u32, _pkt: &Packet) -> bool {
        true
    }
    fn recirculate(&mut self, _pkt: &mut Packet, _meta: &PacketMeta, _take: bool) {}
    fn drop(&mut self, _reason: DropReason) {}
}

/// Installs `flows`, translates `frame` received on port 1 and executes
/// the datapath actions on it: the datapath actions, the outputs and the
/// packet metadata afterwards.
/// Output port and bytes of each copy sent.
type Outputs = Vec<(DpPort, Vec<u8>)>;

fn run(flows: &[&str], frame: &[u8]) -> (Vec<Dp>, Outputs, PacketMeta) {
    let mut br = new_bridge();
    for f in flows {
        br.flow_mod(&flow_mod(f), 0)
            .unwrap_or_else(|e| panic!("flow '{f}' refused: {e}"));
    }
    let (key, offs) = extract_with_offsets(frame, 1);
    let x = br.xlate(&key, 0);
    let mut sink = Sink::default();
    let mut meta = PacketMeta::from_port(1);
    execute(
        &x.actions,
        &mut packet_from(frame),
        &mut meta,
        &key,
        offs,
        &mut sink,
    );
    (x.actions, sink.out, meta)
}

/// The single output of `frame` through `flows`.
fn out1(flows: &[&str], frame: &[u8]) -> Vec<u8> {
    let (acts, mut out, _) = run(flows, frame);
    assert_eq!(out.len(), 1, "one output expected from {acts:?}");
    out.pop().map(|(_, b)| b).unwrap_or_default()
}

// ---- independent checksum arithmetic -------------------------------------

fn sum16(mut acc: u32, b: &[u8]) -> u32 {
    for c in b.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

fn folds_to_ffff(mut acc: u32) -> bool {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc == 0xffff
}

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Verifies the IPv4 header checksum and the L4 checksum (TCP, UDP,
/// ICMPv4, ICMPv6, SCTP) of an Ethernet frame.
fn checksums_ok(f: &[u8]) -> bool {
    let (key, offs) = extract_with_offsets(f, 0);
    if offs.l3 == datapath::flow::Offsets::NONE || offs.l4 == datapath::flow::Offsets::NONE {
        return true;
    }
    let (l3, l4) = (usize::from(offs.l3), usize::from(offs.l4));
    let (pseudo, end) = match key.dl_type {
        0x0800 => {
            let ihl = usize::from(f[l3] & 0xf) * 4;
            if !folds_to_ffff(sum16(0, &f[l3..l3 + ihl])) {
                return false;
            }
            let end = l3 + usize::from(u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]));
            let len = (end - l4) as u32;
            let p = sum16(0, &f[l3 + 12..l3 + 20]) + u32::from(key.nw_proto) + len;
            (p, end)
        }
        0x86dd => {
            let end = l3 + 40 + usize::from(u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]));
            let len = (end - l4) as u32;
            let p = sum16(0, &f[l3 + 8..l3 + 40])
                + u32::from(key.nw_proto)
                + (len >> 16)
                + (len & 0xffff);
            (p, end)
        }
        _ => return true,
    };
    let seg = &f[l4..end];
    match key.nw_proto {
        6 | 58 => folds_to_ffff(sum16(pseudo, seg)),
        17 => seg[6..8] == [0, 0] || folds_to_ffff(sum16(pseudo, seg)),
        1 => folds_to_ffff(sum16(0, seg)),
        132 => {
            let mut s = seg.to_vec();
            let want = u32::from_le_bytes([s[8], s[9], s[10], s[11]]);
            s[8..12].fill(0);
            crc32c(&s) == want
        }
        _ => true,
    }
}

// ---- frames --------------------------------------------------------------

const SRC: [u8; 6] = [0, 0, 0, 0, 0, 1];
const DST: [u8; 6] = [0, 0, 0, 0, 0, 2];
const V6_SRC: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn eth(ethertype: u16) -> Vec<u8> {
    let mut v = DST.to_vec();
    v.extend_from_slice(&SRC);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v
}

/// IPv4 with `l4` (whose checksum field at `csum_at` is filled in).
fn ipv4(proto: u8, mut l4: Vec<u8>, csum_at: Option<usize>) -> Vec<u8> {
    let mut ip = vec![
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    let c = fold(sum16(0, &ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    if let Some(at) = csum_at {
        let pseudo = if proto == 1 {
            0
        } else {
            sum16(0, &ip[12..20]) + u32::from(proto) + l4.len() as u32
        };
        let c = fold(sum16(pseudo, &l4));
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    let mut v = eth(0x0800);
    v.extend_from_slice(&ip);
    v.extend_from_slice(&l4);
    v
}

fn ipv6(proto: u8, mut l4: Vec<u8>, csum_at: usize) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0, 0, 0, proto, 64];
    ip[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&V6_SRC);
    ip.extend_from_slice(&V6_DST);
    let pseudo = sum16(0, &ip[8..40]) + u32::from(proto) + l4.len() as u32;
    let c = fold(sum16(pseudo, &l4));
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    let mut v = eth(0x86dd);
    v.extend_from_slice(&ip);
    v.extend_from_slice(&l4);
    v
}

fn udp4() -> Vec<u8> {
    ipv4(
        17,
        vec![0x13, 0x88, 0, 53, 0, 13, 0, 0, b'q', b'u', b'e', b'r', b'y'],
        Some(6),
    )
}

fn tcp4() -> Vec<u8> {
    let mut t = vec![
        0x04, 0xd2, 0, 80, 0, 0, 0, 7, 0, 0, 0, 0, 0x50, 0x18, 0x10, 0, 0, 0, 0, 0,
    ];
    t.extend_from_slice(b"hello");
    ipv4(6, t, Some(16))
}

fn sctp4() -> Vec<u8> {
    let mut s = vec![0x13, 0x88, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0];
    s.extend_from_slice(&[0, 3, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    let crc = crc32c(&s);
    s[8..12].copy_from_slice(&crc.to_le_bytes());
    ipv4(132, s, None)
}

fn icmp4() -> Vec<u8> {
    ipv4(
        1,
        vec![8, 0, 0, 0, 0, 7, 0, 1, b'p', b'i', b'n', b'g'],
        Some(2),
    )
}

fn udp6() -> Vec<u8> {
    ipv6(17, vec![0x13, 0x88, 0, 53, 0, 10, 0, 0, b'q', b'6'], 6)
}

fn icmp6_echo() -> Vec<u8> {
    ipv6(58, vec![128, 0, 0, 0, 0, 7, 0, 1, b'p'], 2)
}

/// A neighbour solicitation (135, source link-layer option) or
/// advertisement (136, target link-layer option) for fe80::99.
fn nd(ty: u8) -> Vec<u8> {
    let mut m = vec![ty, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99]);
    m.extend_from_slice(&[if ty == 135 { 1 } else { 2 }, 1, 0, 0, 0, 0, 0, 5]);
    ipv6(58, m, 2)
}

fn arp() -> Vec<u8> {
    let mut v = eth(0x0806);
    v.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    v.extend_from_slice(&SRC);
    v.extend_from_slice(&[10, 0, 0, 1]);
    v.extend_from_slice(&[0; 6]);
    v.extend_from_slice(&[10, 0, 0, 2]);
    v
}

fn vlan(frame: &[u8], tci: u16) -> Vec<u8> {
    let mut v = frame[..12].to_vec();
    v.extend_from_slice(&[0x81, 0]);
    v.extend_from_slice(&tci.to_be_bytes());
    v.extend_from_slice(&frame[12..]);
    v
}

/// `frame` with MPLS entries (label, ttl) under the EtherType.
fn mpls(frame: &[u8], entries: &[(u32, u8)]) -> Vec<u8> {
    let mut v = frame[..12].to_vec();
    v.extend_from_slice(&0x8847u16.to_be_bytes());
    for (i, &(label, ttl)) in entries.iter().enumerate() {
        let bos = u32::from(i + 1 == entries.len());
        v.extend_from_slice(&((label << 12) | (bos << 8) | u32::from(ttl)).to_be_bytes());
    }
    v.extend_from_slice(&frame[14..]);
    v
}

/// `frame` inside a PBB header with I-SID `isid` (backbone addresses
/// 0a:..:0a -> 0b:..:0b).
fn pbb(frame: &[u8], isid: u32) -> Vec<u8> {
    let mut v = vec![0x0b; 6];
    v.extend_from_slice(&[0x0a; 6]);
    v.extend_from_slice(&[0x88, 0xe7]);
    v.extend_from_slice(&isid.to_be_bytes());
    v.extend_from_slice(frame);
    v
}

// ---- tests ---------------------------------------------------------------

/// The value a `set_field:VALUE->NAME` action writes.
fn set_field_value(action: &str) -> (Field, u128) {
    let ins = ofproto::text::parse_actions(action).expect("parse");
    match ins.as_slice() {
        [Instruction::ApplyActions(a)] => match a.as_slice() {
            [Action::SetField(e)] => (
                e.field,
                e.value
                    .as_bytes()
                    .iter()
                    .fold(0u128, |a, &x| (a << 8) | u128::from(x)),
            ),
            _ => panic!("{action}: not one set_field"),
        },
        _ => panic!("{action}: not apply-actions"),
    }
}

/// Every writable OpenFlow 1.3 header field: a set_field on a matching
/// packet changes exactly that field in the output bytes (the output,
/// parsed again, holds the value) and leaves every checksum valid.
#[test]
fn every_writable_header_field_rewrites_packet_bytes() {
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("", "set_field:00:00:00:00:00:aa->eth_src", udp4()),
        ("", "set_field:00:00:00:00:00:bb->eth_dst", udp4()),
        ("dl_vlan=5,", "set_field:4106->vlan_vid", vlan(&udp4(), 5)),
        ("dl_vlan=5,", "set_field:6->vlan_pcp", vlan(&udp4(), 5)),
        ("ip,", "set_field:46->ip_dscp", udp4()),
        ("ip,", "set_field:3->ip_ecn", udp4()),
        ("ip,", "set_field:192.168.7.1->ipv4_src", udp4()),
        ("ip,", "set_field:192.168.7.2->ipv4_dst", udp4()),
        ("tcp,", "set_field:4321->tcp_src", tcp4()),
        ("tcp,", "set_field:8080->tcp_dst", tcp4()),
        ("udp,", "set_field:1000->udp_src", udp4()),
        ("udp,", "set_field:5353->udp_dst", udp4()),
        ("sctp,", "set_field:9->sctp_src", sctp4()),
        ("sctp,", "set_field:2905->sctp_dst", sctp4()),
        ("icmp,", "set_field:0->icmpv4_type", icmp4()),
        ("icmp,", "set_field:3->icmpv4_code", icmp4()),
        ("arp,", "set_field:2->arp_op", arp()),
        ("arp,", "set_field:10.9.9.1->arp_spa", arp()),
        ("arp,", "set_field:10.9.9.2->arp_tpa", arp()),
        ("arp,", "set_field:00:00:00:00:00:cc->arp_sha", arp()),
        ("arp,", "set_field:00:00:00:00:00:dd->arp_tha", arp()),
        ("ipv6,", "set_field:2001:db8::1->ipv6_src", udp6()),
        ("ipv6,", "set_field:2001:db8::2->ipv6_dst", udp6()),
        ("ipv6,", "set_field:0x12345->ipv6_label", udp6()),
        ("icmp6,", "set_field:129->icmpv6_type", icmp6_echo()),
        ("icmp6,", "set_field:4->icmpv6_code", icmp6_echo()),
        (
            "icmp6,icmp_type=135,",
            "set_field:2001:db8::9->nd_target",
            nd(135),
        ),
        (
            "icmp6,icmp_type=135,",
            "set_field:00:00:00:00:00:ee->nd_sll",
            nd(135),
        ),
        (
            "icmp6,icmp_type=136,",
            "set_field:00:00:00:00:00:ef->nd_tll",
            nd(136),
        ),
        (
            "mpls,",
            "set_field:1000->mpls_label",
            mpls(&udp4(), &[(5, 64)]),
        ),
        ("mpls,", "set_field:6->mpls_tc", mpls(&udp4(), &[(5, 64)])),
        ("mpls,", "set_field:0->mpls_bos", mpls(&udp4(), &[(5, 64)])),
        (
            "dl_type=0x88e7,",
            "set_field:0xabcdef->pbb_isid",
            pbb(&udp4(), 5),
        ),
        ("dl_type=0x88e7,", "set_field:1->pbb_uca", pbb(&udp4(), 5)),
    ];
    for (m, act, frame) in cases {
        let flow = format!("{m}actions={act},output:2");
        let (f, v) = set_field_value(act);
        assert!(checksums_ok(&frame), "{act}: fixture checksums");
        let o = out1(&[&flow], &frame);
        assert_ne!(o, frame, "{act}: nothing changed");
        assert_eq!(o.len(), frame.len(), "{act}: length changed");
        let k = extract_with_offsets(&o, 0).0;
        assert_eq!(fields::read(&k, f), Some(v), "{act}: field not written");
        assert!(checksums_ok(&o), "{act}: bad checksum in {o:02x?}");
        // Nothing else changed: writing the original value back (read from
        // the input) restores the input exactly.
        let orig = fields::read(&extract_with_offsets(&frame, 0).0, f).expect("readable");
        let mut k2 = k;
        fields::write(&mut k2, f, orig, u128::MAX);
        assert_eq!(
            k2,
            extract_with_offsets(&frame, 0).0,
            "{act}: other fields changed"
        );
    }
}

#[test]
fn tunnel_id_and_metadata_reach_the_packet_metadata_and_later_tables() {
    let (acts, out, meta) = run(
        &[
            "actions=set_field:0x55->tun_id,set_field:0x7->metadata,goto_table:1",
            "table=1,metadata=0x7,actions=output:2",
        ],
        &udp4(),
    );
    assert_eq!(out.len(), 1, "{acts:?}");
    assert_eq!(out[0].1, udp4());
    assert_eq!(meta.tun_id, 0x55);
}

#[test]
fn push_pbb_then_pop_pbb_round_trip_on_bytes() {
    let f = vlan(&udp4(), (3 << 13) | 5);
    let o = out1(
        &[
            "dl_vlan=5,actions=push_pbb:0x88e7,set_field:0x1234->pbb_isid,\
             set_field:0b:0b:0b:0b:0b:0b->eth_dst,output:2",
        ],
        &f,
    );
    // B-DA rewritten, B-SA the frame's source, I-TAG with PCP 3 from the
    // VLAN tag and the I-SID set, then the customer frame unchanged.
    let mut want = vec![0x0b; 6];
    want.extend_from_slice(&SRC);
    want.extend_from_slice(&[0x88, 0xe7, 3 << 5, 0x00, 0x12, 0x34]);
    want.extend_from_slice(&f);
    assert_eq!(o, want);
    let k = extract_with_offsets(&o, 0).0;
    assert_eq!(
        (k.dl_type, k.pbb_isid, k.vlans[0].present()),
        (0x88e7, 0x1234, false)
    );
    // And back.
    let back = out1(
        &["dl_type=0x88e7,pbb_isid=0x1234,actions=pop_pbb,output:3"],
        &o,
    );
    assert_eq!(back, f);
    assert!(checksums_ok(&back));
    // pop_pbb on a received PBB frame.
    assert_eq!(
        out1(
            &["dl_type=0x88e7,actions=pop_pbb,output:2"],
            &pbb(&udp4(), 9)
        ),
        udp4()
    );
}

#[test]
fn copy_ttl_in_and_out_on_bytes() {
    // Received MPLS over IPv4 (IP TTL 64, label TTL 9).
    let f = mpls(&udp4(), &[(5, 9)]);
    let o = out1(&["mpls,actions=copy_ttl_in,output:2"], &f);
    assert_eq!(o[18 + 8], 9, "IP TTL copied in");
    assert_eq!(o[..18], f[..18], "label stack unchanged");
    assert!(checksums_ok(&unmpls(&o)), "IP header checksum updated");
    let o = out1(&["mpls,actions=copy_ttl_out,output:2"], &f);
    assert_eq!(o, mpls(&udp4(), &[(5, 64)]), "label TTL copied out");
    // Two labels: copy between the entries.
    let f = mpls(&udp4(), &[(5, 9), (6, 30)]);
    let o = out1(&["mpls,actions=copy_ttl_in,output:2"], &f);
    assert_eq!(o, mpls(&udp4(), &[(5, 9), (6, 9)]));
    // Push onto IPv4: set_mpls_ttl then copy_ttl_in writes the IP TTL
    // (before the push), checksum updated.
    let o = out1(
        &["ip,actions=push_mpls:0x8847,set_mpls_ttl(5),copy_ttl_in,output:2"],
        &udp4(),
    );
    let k = extract_with_offsets(&o, 0).0;
    assert_eq!((k.dl_type, k.mpls_ttl()), (0x8847, 5));
    assert_eq!(o[18 + 8], 5);
    assert!(checksums_ok(&unmpls(&o)));
}

/// An MPLS frame with one label over IPv4, as the IPv4 frame under it.
fn unmpls(o: &[u8]) -> Vec<u8> {
    o[..12]
        .iter()
        .chain(&[0x08, 0x00])
        .chain(&o[18..])
        .copied()
        .collect()
}

#[test]
fn checksum_verifier_detects_corruption() {
    for (f, at) in [
        (udp4(), 14 + 20 + 6),
        (tcp4(), 14 + 20 + 16),
        (sctp4(), 14 + 20 + 8),
        (icmp4(), 14 + 20 + 2),
        (icmp6_echo(), 14 + 40 + 2),
        (nd(135), 14 + 40 + 2),
        (udp4(), 14 + 10),
    ] {
        assert!(checksums_ok(&f));
        let mut bad = f.clone();
        bad[at] ^= 0x40;
        assert!(!checksums_ok(&bad), "corruption at {at} not detected");
    }
}

/// IPv6 with a hop-by-hop options header in front of UDP.
fn udp6_hop() -> Vec<u8> {
    let f = udp6();
    let mut v = f[..14 + 40].to_vec();
    v[14 + 6] = 0; // next header: hop-by-hop
    let plen = u16::from_be_bytes([v[18], v[19]]) + 8;
    v[18..20].copy_from_slice(&plen.to_be_bytes());
    v.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // UDP next, PadN
    v.extend_from_slice(&f[14 + 40..]);
    v
}

fn qinq(frame: &[u8], tpid: u16, vid: u16) -> Vec<u8> {
    let mut v = frame[..12].to_vec();
    v.extend_from_slice(&tpid.to_be_bytes());
    v.extend_from_slice(&vid.to_be_bytes());
    v.extend_from_slice(&frame[12..]);
    v
}

/// Every OpenFlow 1.3 match field on parsed packet bytes: a rule matching
/// the field takes a frame that has the value (port 2) and lets a frame
/// without it fall to the catch-all (port 3).
#[test]
fn every_match_field_on_packet_bytes() {
    let mut arp_reply = arp();
    arp_reply[21] = 2;
    let mut sctp_other = sctp4();
    sctp_other[14 + 20 + 3] = 0x51;
    let mut icmp_reply = icmp4();
    icmp_reply[14 + 20] = 0;
    let mut icmp_code = icmp4();
    icmp_code[14 + 20 + 1] = 1;
    let mut ecn = udp4();
    ecn[15] = 2;
    let mut flabel = udp6();
    flabel[15] = 0x01;
    flabel[16] = 0x01;
    flabel[17] = 0x23;
    let cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("in_port=1", udp4(), Vec::new()),
        ("dl_src=00:00:00:00:00:01", udp4(), pbb(&udp4(), 1)),
        ("dl_dst=00:00:00:00:00:02", udp4(), pbb(&udp4(), 1)),
        ("dl_type=0x0806", arp(), udp4()),
        ("dl_vlan=5", vlan(&udp4(), 5), udp4()),
        ("dl_vlan=7", qinq(&udp4(), 0x88a8, 7), vlan(&udp4(), 5)),
        (
            "dl_vlan_pcp=3",
            vlan(&udp4(), (3 << 13) | 5),
            vlan(&udp4(), 5),
        ),
        ("ip,nw_ecn=2", ecn, udp4()),
        ("ip,nw_proto=17", udp4(), tcp4()),
        ("ip,nw_src=10.0.0.1", udp4(), arp()),
        ("ip,nw_dst=10.0.0.2", udp4(), udp6()),
        ("tcp,tp_src=1234", tcp4(), udp4()),
        ("tcp,tp_dst=80", tcp4(), udp4()),
        ("udp,udp_src=5000", udp4(), tcp4()),
        ("udp,udp_dst=53", udp4(), tcp4()),
        ("sctp,sctp_src=5000", sctp4(), udp4()),
        ("sctp,sctp_dst=80", sctp4(), sctp_other),
        ("icmp,icmp_type=8", icmp4(), icmp_reply),
        ("icmp,icmp_code=0", icmp4(), icmp_code),
        ("arp,arp_op=1", arp(), arp_reply),
        ("arp,arp_spa=10.0.0.1", arp(), udp4()),
        ("arp,arp_tpa=10.0.0.2", arp(), udp4()),
        ("arp,arp_sha=00:00:00:00:00:01", arp(), udp4()),
        ("arp,arp_tha=00:00:00:00:00:00", arp(), udp4()),
        ("ipv6,ipv6_src=fe80::1", udp6(), udp4()),
        ("ipv6,ipv6_dst=fe80::2", udp6(), udp4()),
        ("ipv6,ipv6_label=0x10123", flabel, udp6()),
        ("icmp6,icmp_type=128", icmp6_echo(), nd(135)),
        ("icmp6,icmp_code=0", icmp6_echo(), udp6()),
        (
            "icmp6,icmp_type=135,nd_target=fe80::99",
            nd(135),
            icmp6_echo(),
        ),
        (
            "icmp6,icmp_type=135,nd_sll=00:00:00:00:00:05",
            nd(135),
            nd(136),
        ),
        (
            "icmp6,icmp_type=136,nd_tll=00:00:00:00:00:05",
            nd(136),
            nd(135),
        ),
        (
            "mpls,mpls_label=5",
            mpls(&udp4(), &[(5, 64)]),
            mpls(&udp4(), &[(6, 64)]),
        ),
        (
            "mpls,mpls_bos=0",
            mpls(&udp4(), &[(5, 64), (6, 64)]),
            mpls(&udp4(), &[(5, 64)]),
        ),
        (
            "dl_type=0x88e7,pbb_isid=0x123",
            pbb(&udp4(), 0x123),
            pbb(&udp4(), 0x124),
        ),
        (
            "dl_type=0x88e7,pbb_uca=1",
            pbb(&udp4(), (1 << 27) | 1),
            pbb(&udp4(), 1),
        ),
        ("ipv6,ipv6_exthdr=0x40/0x40", udp6_hop(), udp6()),
    ];
    for (m, yes, no) in cases {
        let flows = [
            format!("priority=100,{m},actions=output:2"),
            "priority=0,actions=output:3".to_string(),
        ];
        let flows: Vec<&str> = flows.iter().map(String::as_str).collect();
        let (_, out, _) = run(&flows, &yes);
        assert_eq!(out.first().map(|o| o.0), Some(2), "{m}: matching frame");
        if !no.is_empty() {
            let (_, out, _) = run(&flows, &no);
            assert_eq!(out.first().map(|o| o.0), Some(3), "{m}: other frame");
        }
    }
    // mpls_tc: the entry's TC bits.
    let mut tc = mpls(&udp4(), &[(5, 64)]);
    tc[16] |= 6 << 1;
    let flows = [
        "priority=100,mpls,mpls_tc=6,actions=output:2",
        "priority=0,actions=output:3",
    ];
    assert_eq!(run(&flows, &tc).1[0].0, 2);
    assert_eq!(run(&flows, &mpls(&udp4(), &[(5, 64)])).1[0].0, 3);
    // ip_dscp.
    let mut dscp = udp4();
    dscp[15] = 46 << 2;
    let flows = [
        "priority=100,ip,ip_dscp=46,actions=output:2",
        "priority=0,actions=output:3",
    ];
    assert_eq!(run(&flows, &dscp).1[0].0, 2);
    assert_eq!(run(&flows, &udp4()).1[0].0, 3);
}

#[test]
fn clone_and_output_trunc_on_bytes() {
    let f = udp4();
    // Header writes inside a clone reach only the clone's outputs.
    let (acts, out, _) = run(
        &["ip,actions=clone(mod_nw_dst:10.9.9.9,output:2),output:3"],
        &f,
    );
    assert_eq!(out.len(), 2, "{acts:?}");
    assert_eq!(extract_with_offsets(&out[0].1, 0).0.nw_dst, 0x0a09_0909);
    assert!(checksums_ok(&out[0].1));
    assert_eq!(out[1], (3, f.clone()), "the original goes on unchanged");
    // So do encapsulations.
    let (_, out, _) = run(
        &["ip,actions=clone(push_mpls:0x8847,output:2),clone(push_pbb:0x88e7,output:3),output:4"],
        &f,
    );
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].1, mpls(&f, &[(0, 64)]));
    assert_eq!(&out[1].1[18..], &f[..]);
    assert_eq!(out[2], (4, f.clone()));
    // output_trunc cuts one copy only.
    let (_, out, _) = run(&["actions=output(port=2,max_len=20),output:3"], &f);
    assert_eq!(out, vec![(2, f[..20].to_vec()), (3, f.clone())]);
}

/// The text forms of the actions this work made usable round-trip.
#[test]
fn new_action_text_round_trips() {
    for t in [
        "push_pbb:0x88e7",
        "pop_pbb",
        "copy_ttl_in",
        "copy_ttl_out",
        "output(port=2,max_len=100)",
        "clone(push_pbb:0x88e7,set_field:0x7->pbb_isid,output:2)",
    ] {
        let ins = ofproto::text::parse_actions(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        let back = ofproto::text::format_actions(&ins);
        assert_eq!(
            ofproto::text::parse_actions(&back).ok(),
            Some(ins.clone()),
            "{t} -> {back}"
        );
        let Instruction::ApplyActions(a) = &ins[0] else {
            panic!("{t}: not apply-actions");
        };
        assert!(!matches!(a[0], Action::Experimenter { .. }), "{t}");
    }
    assert_eq!(
        ofproto::text::format_actions(
            &ofproto::text::parse_actions("push_pbb:0x88e7,pop_pbb").unwrap()
        ),
        "push_pbb:0x88e7,pop_pbb"
    );
}
