//! Executor tests for the OpenFlow 1.3 actions Open vSwitch's datapath
//! lacks: ICMP type/code writes, PBB push/pop/set and the MPLS TTL copies.
//! Every output is checked byte by byte and its checksums recomputed from
//! scratch.

use super::*;
use crate::actions::IcmpTypeCode;
use crate::flow::extract_with_offsets;
use crate::packet::packet_from;
use crate::wire::IpProtocol;
use etherparse::PacketBuilder;

const SRC: [u8; 6] = [0, 0, 0, 0, 0, 1];
const DST: [u8; 6] = [0, 0, 0, 0, 0, 2];
const V6_SRC: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

#[derive(Default)]
struct Out(Vec<Vec<u8>>);

impl ExecSink for Out {
    fn output(&mut self, _port: DpPort, pkt: &mut Packet, _take: bool, max_len: usize) {
        let d = pkt.data();
        self.0.push(d[..d.len().min(max_len)].to_vec());
    }
    fn userspace(&mut self, _pkt: &Packet, _key: &FlowKey, _userdata: u64) {}
    fn meter(&mut self, _id: u32, _pkt: &Packet) -> bool {
        true
    }
    fn recirculate(&mut self, _pkt: &mut Packet, _meta: &PacketMeta, _take: bool) {}
    fn drop(&mut self, _reason: DropReason) {}
}

/// Runs `actions` plus an output on `frame`; the output's bytes.
fn out(frame: &[u8], actions: &[Action]) -> Vec<u8> {
    let (key, offs) = extract_with_offsets(frame, 1);
    let mut acts = actions.to_vec();
    acts.push(Action::Output(2));
    let mut o = Out::default();
    execute(
        &acts,
        &mut packet_from(frame),
        &mut PacketMeta::from_port(1),
        &key,
        offs,
        &mut o,
    );
    assert_eq!(o.0.len(), 1);
    o.0.pop().unwrap_or_default()
}

fn icmp4_echo() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(SRC, DST)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut v, b"ping-payload")
        .unwrap();
    v
}

fn icmp6_echo() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(SRC, DST)
        .ipv6(V6_SRC, V6_DST, 255)
        .icmpv6_echo_request(7, 1)
        .write(&mut v, b"ping6")
        .unwrap();
    v
}

fn udp4(ttl: u8) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(SRC, DST)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], ttl)
        .udp(5000, 53)
        .write(&mut v, b"query")
        .unwrap();
    v
}

fn udp6(hlim: u8) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(SRC, DST)
        .ipv6(V6_SRC, V6_DST, hlim)
        .udp(5000, 53)
        .write(&mut v, b"q6")
        .unwrap();
    v
}

/// `frame` (an Ethernet II frame) with MPLS entries (label, ttl) pushed
/// under the EtherType, the last one bottom of stack.
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

fn ipv4_header_ok(ip: &[u8]) -> bool {
    let ihl = usize::from(ip[0] & 0xf) * 4;
    checksum::verify(0, &ip[..ihl])
}

/// IPv4 header and ICMPv4 checksums of an untagged IPv4 ICMP frame.
fn icmp4_ok(f: &[u8]) -> bool {
    ipv4_header_ok(&f[14..]) && checksum::verify(0, &f[34..])
}

/// ICMPv6 checksum (with its pseudo-header) of an untagged IPv6 frame.
fn icmp6_ok(f: &[u8]) -> bool {
    let seg = &f[54..];
    let src: [u8; 16] = f[22..38].try_into().unwrap();
    let dst: [u8; 16] = f[38..54].try_into().unwrap();
    let p = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, seg.len() as u32);
    checksum::verify(p, seg)
}

fn udp4_ok(f: &[u8], l3: usize) -> bool {
    let src: [u8; 4] = f[l3 + 12..l3 + 16].try_into().unwrap();
    let dst: [u8; 4] = f[l3 + 16..l3 + 20].try_into().unwrap();
    let seg = &f[l3 + 20..];
    let p = checksum::pseudo_header_v4(src, dst, IpProtocol::Udp, seg.len() as u32);
    ipv4_header_ok(&f[l3..]) && checksum::verify(p, seg)
}

fn tc(ty: Option<u8>, code: Option<u8>) -> IcmpTypeCode {
    IcmpTypeCode {
        ty: ty.unwrap_or(0),
        ty_mask: if ty.is_some() { 0xff } else { 0 },
        code: code.unwrap_or(0),
        code_mask: if code.is_some() { 0xff } else { 0 },
    }
}

#[test]
fn set_icmpv4_type_and_code_keeps_checksum() {
    let f = icmp4_echo();
    assert!(icmp4_ok(&f));
    let o = out(&f, &[Action::Set(SetMasked::Icmp(tc(Some(0), Some(3))))]);
    assert_eq!((o[34], o[35]), (0, 3));
    assert_eq!(o[..34], f[..34], "Ethernet and IP untouched");
    assert_eq!(o[38..], f[38..], "rest of the message untouched");
    assert!(icmp4_ok(&o));
    // Code only: the type stays.
    let o = out(&f, &[Action::Set(SetMasked::Icmp(tc(None, Some(9))))]);
    assert_eq!((o[34], o[35]), (8, 9));
    assert!(icmp4_ok(&o));
    // An ICMPv6 write does not touch an ICMPv4 packet.
    assert_eq!(
        out(&f, &[Action::Set(SetMasked::Icmpv6(tc(Some(1), Some(1))))]),
        f
    );
}

#[test]
fn set_icmpv6_type_and_code_keeps_checksum() {
    let f = icmp6_echo();
    assert!(icmp6_ok(&f));
    let o = out(
        &f,
        &[Action::Set(SetMasked::Icmpv6(tc(Some(129), Some(0))))],
    );
    assert_eq!((o[54], o[55]), (129, 0));
    assert_eq!(o[..54], f[..54]);
    assert_eq!(o[58..], f[58..]);
    assert!(icmp6_ok(&o));
    let o = out(&f, &[Action::Set(SetMasked::Icmpv6(tc(None, Some(4))))]);
    assert_eq!((o[54], o[55]), (128, 4));
    assert!(icmp6_ok(&o));
    // An ICMPv4 write does not touch an ICMPv6 packet.
    assert_eq!(
        out(&f, &[Action::Set(SetMasked::Icmp(tc(Some(0), None)))]),
        f
    );
}

#[test]
fn push_pbb_copies_addresses_and_keeps_tags_inside() {
    let f = udp4(64);
    let itag = (5 << 29) | (1 << 27) | 0x00ab_cdef;
    let o = out(&f, &[Action::PushPbb { itag }]);
    let mut want = Vec::new();
    want.extend_from_slice(&DST);
    want.extend_from_slice(&SRC);
    want.extend_from_slice(&[0x88, 0xe7]);
    want.extend_from_slice(&itag.to_be_bytes());
    want.extend_from_slice(&f);
    assert_eq!(o, want);
    let k = extract_with_offsets(&o, 1).0;
    assert_eq!((k.dl_type, k.pbb_isid, k.pbb_uca), (0x88e7, 0xab_cdef, 1));
    // A VLAN tag goes inside, after the customer addresses.
    let o = out(
        &f,
        &[
            Action::PushVlan {
                tpid: 0x8100,
                tci: 10,
            },
            Action::PushPbb { itag: 7 },
        ],
    );
    assert_eq!(&o[12..18], &[0x88, 0xe7, 0, 0, 0, 7]);
    assert_eq!(&o[18..30], &f[..12]);
    assert_eq!(&o[30..34], &[0x81, 0, 0, 10]);
    assert_eq!(&o[34..], &f[12..]);
}

#[test]
fn set_then_pop_pbb_restores_the_customer_frame() {
    let f = udp4(64);
    // Push, rewrite the I-SID and the backbone destination, then output.
    let o = out(
        &f,
        &[
            Action::PushPbb { itag: 1 },
            Action::Set(SetMasked::Pbb {
                itag: 0x12_3456,
                mask: 0xff_ffff,
            }),
            Action::Set(SetMasked::Eth {
                src: [0; 6],
                src_mask: [0; 6],
                dst: [0xaa; 6],
                dst_mask: [0xff; 6],
            }),
        ],
    );
    assert_eq!(&o[..6], &[0xaa; 6]);
    assert_eq!(&o[14..18], &[0, 0x12, 0x34, 0x56]);
    assert_eq!(&o[18..], &f[..]);
    // Pop: exactly the original frame, UDP checksum still valid.
    let back = out(&o, &[Action::PopPbb]);
    assert_eq!(back, f);
    assert!(udp4_ok(&back, 14));
    // A backbone tag in front of the I-TAG goes too.
    let mut tagged = o[..12].to_vec();
    tagged.extend_from_slice(&[0x88, 0xa8, 0, 5]);
    tagged.extend_from_slice(&o[12..]);
    assert_eq!(out(&tagged, &[Action::PopPbb]), f);
    // Not PBB, or too short: untouched.
    assert_eq!(out(&f, &[Action::PopPbb]), f);
    assert_eq!(
        out(&f, &[Action::Set(SetMasked::Pbb { itag: 1, mask: !0 })]),
        f
    );
    let short = o[..20].to_vec();
    assert_eq!(out(&short, &[Action::PopPbb]), short);
}

#[test]
fn copy_ttl_in_to_ipv4_ipv6_and_inner_label() {
    // Bottom of stack over IPv4: the TTL goes into IP, checksum updated.
    let f = mpls(&udp4(64), &[(100, 9)]);
    let o = out(&f, &[Action::CopyTtlIn]);
    assert_eq!(o[18 + 8], 9);
    assert_eq!(o[..18], f[..18], "label stack entry unchanged");
    assert!(udp4_ok(&o, 18));
    let mut want = f.clone();
    want[18 + 8] = 9;
    want[18 + 10..18 + 12].copy_from_slice(&o[18 + 10..18 + 12]);
    assert_eq!(o, want, "only TTL and header checksum change");
    // Over IPv6: the hop limit.
    let f = mpls(&udp6(64), &[(100, 3)]);
    let o = out(&f, &[Action::CopyTtlIn]);
    let mut want = f.clone();
    want[18 + 7] = 3;
    assert_eq!(o, want);
    // Not bottom of stack: into the next entry.
    let f = mpls(&udp4(64), &[(100, 5), (200, 60)]);
    let o = out(&f, &[Action::CopyTtlIn]);
    let mut want = f.clone();
    want[21] = 5;
    assert_eq!(o, want);
}

#[test]
fn copy_ttl_out_from_ipv4_ipv6_and_inner_label() {
    let f = mpls(&udp4(33), &[(100, 9)]);
    let o = out(&f, &[Action::CopyTtlOut]);
    let mut want = f.clone();
    want[17] = 33;
    assert_eq!(o, want);
    assert!(udp4_ok(&o, 18));
    let f = mpls(&udp6(44), &[(100, 9)]);
    let mut want = f.clone();
    want[17] = 44;
    assert_eq!(out(&f, &[Action::CopyTtlOut]), want);
    let f = mpls(&udp4(33), &[(100, 9), (200, 60)]);
    let mut want = f.clone();
    want[17] = 60;
    assert_eq!(out(&f, &[Action::CopyTtlOut]), want);
    // Not MPLS, or a truncated stack: untouched.
    let f = udp4(33);
    assert_eq!(out(&f, &[Action::CopyTtlOut, Action::CopyTtlIn]), f);
    let short = mpls(&udp4(33), &[(100, 9)])[..20].to_vec();
    assert_eq!(out(&short, &[Action::CopyTtlOut, Action::CopyTtlIn]), short);
}

#[test]
fn push_pbb_after_mpls_and_ttl_copies_compose() {
    // push MPLS, copy the TTL out (from IP), push PBB, pop PBB: the MPLS
    // frame comes back.
    let f = udp4(17);
    let o = out(
        &f,
        &[
            Action::PushMpls {
                ethertype: 0x8847,
                lse: (100 << 12) | (1 << 8) | 64,
            },
            Action::CopyTtlOut,
            Action::PushPbb { itag: 0x42 },
            Action::PopPbb,
        ],
    );
    assert_eq!(o, mpls(&f, &[(100, 17)]));
}

#[test]
fn hostile_frames_do_not_panic() {
    let acts = [
        Action::PushPbb { itag: !0 },
        Action::PopPbb,
        Action::PopPbb,
        Action::CopyTtlIn,
        Action::CopyTtlOut,
        Action::Set(SetMasked::Icmp(tc(Some(1), Some(1)))),
        Action::Set(SetMasked::Icmpv6(tc(Some(1), Some(1)))),
        Action::Set(SetMasked::Pbb { itag: !0, mask: !0 }),
    ];
    let base = [
        icmp4_echo(),
        icmp6_echo(),
        mpls(&udp4(1), &[(1, 1), (2, 2)]),
        mpls(&udp6(1), &[(1, 1)]),
    ];
    for f in &base {
        for cut in 0..=f.len() {
            for a in &acts {
                let (key, offs) = extract_with_offsets(&f[..cut], 1);
                let mut o = Out::default();
                execute(
                    &[a.clone(), Action::Output(1)],
                    &mut packet_from(&f[..cut]),
                    &mut PacketMeta::from_port(1),
                    &key,
                    offs,
                    &mut o,
                );
            }
        }
    }
}

fn any_new_action() -> impl proptest::strategy::Strategy<Value = Action> {
    use proptest::prelude::*;
    let tc = (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c, d)| {
        IcmpTypeCode {
            ty: a,
            ty_mask: b,
            code: c,
            code_mask: d,
        }
    });
    prop_oneof![
        any::<u32>().prop_map(|itag| Action::PushPbb { itag }),
        Just(Action::PopPbb),
        Just(Action::CopyTtlIn),
        Just(Action::CopyTtlOut),
        (any::<u32>(), any::<u32>())
            .prop_map(|(itag, mask)| Action::Set(SetMasked::Pbb { itag, mask })),
        tc.clone().prop_map(|t| Action::Set(SetMasked::Icmp(t))),
        tc.prop_map(|t| Action::Set(SetMasked::Icmpv6(t))),
        (any::<u16>(), any::<u32>())
            .prop_map(|(ethertype, lse)| Action::PushMpls { ethertype, lse }),
        any::<u16>().prop_map(|ethertype| Action::PopMpls { ethertype }),
        Just(Action::PopVlan),
        (0u32..3).prop_map(Action::Output),
    ]
}

proptest::proptest! {
    /// Whatever the bytes and the order of the new actions: no panic, and
    /// the executor's output never grows beyond the pushes it did.
    #[test]
    fn new_actions_never_panic(
        which in 0usize..5,
        cut in proptest::prelude::any::<usize>(),
        noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        actions in proptest::collection::vec(any_new_action(), 0..10),
    ) {
        let base = [icmp4_echo(), icmp6_echo(), mpls(&udp4(1), &[(1, 1), (2, 2)]), udp6(3), noise.clone()];
        let f = &base[which];
        let f = &f[..cut % (f.len() + 1)];
        let (key, offs) = extract_with_offsets(f, 1);
        let mut o = Out::default();
        execute(&actions, &mut packet_from(f), &mut PacketMeta::from_port(1), &key, offs, &mut o);
        for p in &o.0 {
            proptest::prop_assert!(p.len() <= f.len() + 10 * 18);
        }
    }

    /// Masked ICMP type/code writes keep ICMPv4 and ICMPv6 checksums valid.
    #[test]
    fn icmp_writes_keep_checksums(
        ty in proptest::prelude::any::<u8>(), ty_mask in proptest::prelude::any::<u8>(),
        code in proptest::prelude::any::<u8>(), code_mask in proptest::prelude::any::<u8>(),
    ) {
        let t = IcmpTypeCode { ty, ty_mask, code, code_mask };
        let o = out(&icmp4_echo(), &[Action::Set(SetMasked::Icmp(t))]);
        proptest::prop_assert!(icmp4_ok(&o));
        proptest::prop_assert_eq!(o[34], (8 & !ty_mask) | (ty & ty_mask));
        let o = out(&icmp6_echo(), &[Action::Set(SetMasked::Icmpv6(t))]);
        proptest::prop_assert!(icmp6_ok(&o));
        proptest::prop_assert_eq!(o[55], code & code_mask);
    }
}
