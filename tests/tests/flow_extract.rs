//! Flow-key extraction on realistic frames, truncated frames, and arbitrary
//! bytes. Frames are written out byte by byte (as a capture would show them)
//! or built with `etherparse`, an independent implementation, so the
//! extractor is never checked against itself.

use datapath::flow::key::{DL_TYPE_NONE, FRAG_ANY, FRAG_LATER, VLAN_CFI, ipv6_exthdr};
use datapath::flow::{FlowKey, Offsets, extract, extract_into, extract_with_offsets, format};
use etherparse::PacketBuilder;
use proptest::prelude::*;

const MAC_A: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B: [u8; 6] = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// ARP request "who has 10.0.0.2? tell 10.0.0.1", padded to 60 bytes.
fn arp_request() -> Vec<u8> {
    hex("ffffffffffff 001122334455 0806
         0001 0800 06 04 0001 001122334455 0a000001 000000000000 0a000002
         000000000000000000000000000000000000")
}

/// ICMP echo request 10.0.0.1 -> 10.0.0.2, id 0x1234 seq 1, 8 bytes of data.
fn icmp_echo() -> Vec<u8> {
    hex("667788990aab 001122334455 0800
         4500 0024 abcd 4000 40 01 0000 0a000001 0a000002
         08 00 0000 1234 0001 6162636465666768")
}

/// TCP SYN 192.168.1.10:40000 -> 192.168.1.20:80 with MSS/SACK/TS/WS options.
fn tcp_syn() -> Vec<u8> {
    hex("667788990aab 001122334455 0800
         4510 003c 1c46 4000 40 06 0000 c0a8010a c0a80114
         9c40 0050 00000001 00000000 a0 02 faf0 0000 0000
         020405b4 0402 080a 00000001 00000000 01 030307")
}

fn udp_dns() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4([10, 1, 1, 1], [10, 1, 1, 53], 64)
        .udp(5353, 53);
    let mut v = Vec::new();
    b.write(&mut v, b"\x12\x34\x01\x00\x00\x01").unwrap();
    v
}

/// IPv6 neighbor solicitation for fe80::2 from fe80::1 with a source
/// link-layer address option.
fn ipv6_ns() -> Vec<u8> {
    hex("3333ff000002 001122334455 86dd
         6000 0000 0020 3a ff
         fe800000000000000000000000000001
         ff0200000000000000000001ff000002
         87 00 0000 00000000
         fe800000000000000000000000000002
         01 01 001122334455")
}

/// IPv6 neighbor advertisement with a target link-layer address option.
fn ipv6_na() -> Vec<u8> {
    hex("001122334455 667788990aab 86dd
         6000 0000 0020 3a ff
         fe800000000000000000000000000002
         fe800000000000000000000000000001
         88 00 0000 60000000
         fe800000000000000000000000000002
         02 01 667788990aab")
}

fn vlan_udp() -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B)
        .single_vlan(10.try_into().unwrap())
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(1000, 2000);
    let mut v = Vec::new();
    b.write(&mut v, &[0; 18]).unwrap();
    v
}

/// 802.1ad outer tag (VID 100, PCP 3) + 802.1Q inner tag (VID 200) + TCP.
fn double_vlan_tcp() -> Vec<u8> {
    hex("667788990aab 001122334455
         88a8 6064 8100 00c8 0800
         4500 0028 0001 0000 40 06 0000 0a000001 0a000002
         0400 0050 00000001 00000000 50 10 2000 0000 0000")
}

/// First and later fragments of a UDP datagram.
fn ipv4_fragments() -> (Vec<u8>, Vec<u8>) {
    let first = hex("667788990aab 001122334455 0800
         4500 0024 0777 2000 40 11 0000 0a000001 0a000002
         1388 1389 0020 0000 0102030405060708");
    let later = hex("667788990aab 001122334455 0800
         4500 0024 0777 0002 40 11 0000 0a000001 0a000002
         1122334455667788 1122334455667788");
    (first, later)
}

fn mac(b: [u8; 6]) -> [u8; 6] {
    b
}

#[test]
fn arp() {
    let (k, o) = extract_with_offsets(&arp_request(), 7);
    assert_eq!(k.in_port, 7);
    assert_eq!(k.dl_dst, [0xff; 6]);
    assert_eq!(k.dl_src, MAC_A);
    assert_eq!(k.dl_type, 0x0806);
    assert_eq!(k.arp_op, 1);
    assert_eq!(k.nw_src, 0x0a000001);
    assert_eq!(k.nw_dst, 0x0a000002);
    assert_eq!(k.arp_sha, MAC_A);
    assert_eq!(k.arp_tha, [0; 6]);
    assert_eq!(o.l3, 14);
    assert_eq!(o.l4, Offsets::NONE);
    assert_eq!(
        format::key(&k).to_string(),
        "in_port(7),eth(src=00:11:22:33:44:55,dst=ff:ff:ff:ff:ff:ff),eth_type(0x806),\
         arp(sip=10.0.0.1,tip=10.0.0.2,op=1,sha=00:11:22:33:44:55,tha=00:00:00:00:00:00)"
    );
}

#[test]
fn icmp_echo_request() {
    let k = extract(&icmp_echo(), 1);
    assert_eq!(k.dl_type, 0x0800);
    assert_eq!(
        (k.nw_src, k.nw_dst, k.nw_proto),
        (0x0a000001, 0x0a000002, 1)
    );
    assert_eq!((k.nw_ttl, k.nw_tos, k.nw_frag), (64, 0, 0));
    assert_eq!((k.tp_src, k.tp_dst), (8, 0), "ICMP type and code");
}

#[test]
fn tcp_syn_with_options() {
    let (k, o) = extract_with_offsets(&tcp_syn(), 2);
    assert_eq!(k.nw_tos, 0x10);
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (6, 40000, 80));
    assert_eq!(k.tcp_flags, 0x002, "SYN");
    assert_eq!((o.l3, o.l4), (14, 34));
    assert_eq!(
        format::key(&k).to_string(),
        "in_port(2),eth(src=00:11:22:33:44:55,dst=66:77:88:99:0a:ab),eth_type(0x800),\
         ipv4(src=192.168.1.10,dst=192.168.1.20,proto=6,tos=0x10,ttl=64,frag=no),\
         tcp(src=40000,dst=80),tcp_flags(0x2)"
    );
}

#[test]
fn udp() {
    let k = extract(&udp_dns(), 3);
    assert_eq!(k.dl_src, MAC_A);
    assert_eq!(k.dl_dst, MAC_B);
    assert_eq!((k.nw_src, k.nw_dst), (0x0a010101, 0x0a010135));
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (17, 5353, 53));
    assert_eq!(k.tcp_flags, 0);
}

#[test]
fn ipv6_neighbor_solicitation() {
    let (k, o) = extract_with_offsets(&ipv6_ns(), 4);
    assert_eq!(k.dl_type, 0x86dd);
    assert_eq!(k.nw_proto, 58);
    assert_eq!(k.nw_ttl, 255);
    assert_eq!(k.ipv6_src[0..2], [0xfe, 0x80]);
    assert_eq!(k.ipv6_dst[0..2], [0xff, 0x02]);
    assert_eq!((k.tp_src, k.tp_dst), (135, 0));
    assert_eq!(k.nd_target[15], 2);
    assert_eq!(k.nd_sll(), MAC_A);
    assert_eq!(k.nd_tll(), [0; 6]);
    assert_eq!(k.ipv6_exthdr, 0);
    assert_eq!((o.l3, o.l4), (14, 54));
    assert!(format::key(&k).to_string().ends_with(
        "icmpv6(type=135,code=0),nd(target=fe80::2,sll=00:11:22:33:44:55,tll=00:00:00:00:00:00)"
    ));
}

#[test]
fn ipv6_neighbor_advertisement() {
    let k = extract(&ipv6_na(), 4);
    assert_eq!((k.tp_src, k.tp_dst), (136, 0));
    assert_eq!(k.nd_target[15], 2);
    assert_eq!(k.nd_tll(), mac([0x66, 0x77, 0x88, 0x99, 0x0a, 0xab]));
    assert_eq!(k.nd_sll(), [0; 6]);
}

#[test]
fn nd_with_bad_option_keeps_type_but_clears_nd_fields() {
    let mut f = ipv6_ns();
    let n = f.len();
    f[n - 7] = 0; // option length 0: invalid
    let k = extract(&f, 1);
    assert_eq!((k.tp_src, k.tp_dst), (135, 0));
    assert_eq!(k.nd_target, [0; 16]);
    assert_eq!(k.nd_sll(), [0; 6]);
}

#[test]
fn single_vlan() {
    let k = extract(&vlan_udp(), 1);
    assert_eq!(k.vlans[0].tpid, 0x8100);
    assert_eq!(k.vlans[0].tci, VLAN_CFI | 10);
    assert_eq!(k.vlan_vid(), Some(10));
    assert!(!k.vlans[1].present());
    assert_eq!(k.dl_type, 0x0800);
    assert_eq!((k.tp_src, k.tp_dst), (1000, 2000));
}

#[test]
fn double_vlan() {
    let (k, o) = extract_with_offsets(&double_vlan_tcp(), 1);
    assert_eq!(k.vlans[0].tpid, 0x88a8);
    assert_eq!(k.vlans[0].vid(), 100);
    assert_eq!(k.vlans[0].pcp(), 3);
    assert_eq!(k.vlans[1].tpid, 0x8100);
    assert_eq!(k.vlans[1].vid(), 200);
    assert!(k.vlans[1].present());
    assert_eq!(k.dl_type, 0x0800);
    assert_eq!(o.l3, 22);
    assert_eq!((k.tp_src, k.tp_dst, k.tcp_flags), (1024, 80, 0x010));
}

#[test]
fn ipv4_fragments_first_and_later() {
    let (first, later) = ipv4_fragments();
    let k = extract(&first, 1);
    assert_eq!(k.nw_frag, FRAG_ANY);
    assert_eq!(
        (k.tp_src, k.tp_dst),
        (5000, 5001),
        "first fragment has ports"
    );
    let k = extract(&later, 1);
    assert_eq!(k.nw_frag, FRAG_ANY | FRAG_LATER);
    assert_eq!(k.nw_proto, 17);
    assert_eq!((k.tp_src, k.tp_dst), (0, 0), "later fragment has no L4");
    assert!(format::key(&k).to_string().ends_with("frag=later)"));
}

#[test]
fn ethernet_padding_is_not_transport_data() {
    // A 60-byte minimum frame carrying a 28-byte IPv4/UDP datagram: the
    // padding must not be read as part of the datagram.
    let mut f = hex("667788990aab 001122334455 0800
         4500 001c 0001 0000 40 11 0000 0a000001 0a000002
         0007 0009 0008 0000");
    f.resize(60, 0xee);
    let k = extract(&f, 1);
    assert_eq!((k.tp_src, k.tp_dst), (7, 9));
    // A TCP header cut by the IP total length is not parsed, even when the
    // padding would cover it.
    let mut t = tcp_syn();
    t[16..18].copy_from_slice(&30u16.to_be_bytes()); // total length 30 < 20 + 40
    let k = extract(&t, 1);
    assert_eq!(k.nw_proto, 6);
    assert_eq!((k.tp_src, k.tp_dst), (0, 0));
}

#[test]
fn mpls_label_stack() {
    // Two labels: 100 (tc 5, ttl 64) then 200 (bos, ttl 63), then IPv4.
    let f = hex("667788990aab 001122334455 8847
                 00064a40 000c813f
                 4500 0014 0000 0000 40 00 0000 0a000001 0a000002");
    let (k, o) = extract_with_offsets(&f, 1);
    assert_eq!(k.dl_type, 0x8847);
    assert_eq!(
        (k.mpls_label(), k.mpls_tc(), k.mpls_bos(), k.mpls_ttl()),
        (100, 5, 0, 64)
    );
    assert_eq!((o.l2_5, o.l3), (14, 22));
    assert_eq!(k.nw_src, 0, "L3 under MPLS is not parsed");
}

#[test]
fn pbb_itag() {
    let f = hex("667788990aab 001122334455 88e7 08 abcdef 010203040506 0a0b0c0d0e0f 0800");
    let k = extract(&f, 1);
    assert_eq!(k.dl_type, 0x88e7);
    assert_eq!(k.pbb_isid, 0xabcdef);
    assert_eq!(k.pbb_uca, 1);
}

fn llc_snap_ipv4() -> Vec<u8> {
    hex("667788990aab 001122334455 0030 aaaa03 000000 0800
         4500 0014 0000 0000 40 00 0000 0a000001 0a000002")
}

#[test]
fn llc_snap_and_plain_802_3() {
    let snap = llc_snap_ipv4();
    let k = extract(&snap, 1);
    assert_eq!(k.dl_type, 0x0800);
    assert_eq!(k.nw_src, 0x0a000001);
    let stp = hex("0180c2000000 001122334455 0026 424203 0000000000");
    assert_eq!(extract(&stp, 1).dl_type, 0x05ff);
}

#[test]
fn ipv6_extension_headers_and_exthdr_field() {
    // Hop-by-hop (8 bytes) -> destination options (8) -> routing (8, type 4,
    // 0 segments) -> fragment (first) -> UDP.
    let f = hex("667788990aab 001122334455 86dd
                 6000 0000 0030 00 40
                 20010db8000000000000000000000001
                 20010db8000000000000000000000002
                 3c00 0100 00000000
                 2b00 0100 00000000
                 2c00 0400 00000000
                 1100 0001 12345678
                 0035 0035 0010 0000 0000000000000000");
    let (k, o) = extract_with_offsets(&f, 1);
    assert_eq!(k.nw_proto, 17);
    assert_eq!(k.nw_frag, FRAG_ANY);
    assert_eq!(
        k.ipv6_exthdr,
        ipv6_exthdr::HOP | ipv6_exthdr::DEST | ipv6_exthdr::ROUTER | ipv6_exthdr::FRAG
    );
    assert_eq!((k.tp_src, k.tp_dst), (53, 53));
    assert_eq!(o.l4, 14 + 40 + 32);

    // Routing before hop-by-hop: out of sequence; two routing headers:
    // repeated; then "no next header".
    let f = hex("667788990aab 001122334455 86dd
                 6000 0000 0018 2b 40
                 20010db8000000000000000000000001
                 20010db8000000000000000000000002
                 0000 0400 00000000
                 2b00 0100 00000000
                 3b00 0400 00000000");
    let k = extract(&f, 1);
    assert_eq!(
        k.ipv6_exthdr,
        ipv6_exthdr::HOP
            | ipv6_exthdr::ROUTER
            | ipv6_exthdr::UNSEQ
            | ipv6_exthdr::UNREP
            | ipv6_exthdr::NONEXT
    );
    assert_eq!(k.nw_proto, 59);
}

#[test]
fn ipv6_later_fragment_and_esp() {
    let f = hex("667788990aab 001122334455 86dd
                 6000 0000 0010 2c 40
                 20010db8000000000000000000000001
                 20010db8000000000000000000000002
                 0600 0058 12345678
                 0000000000000000");
    let k = extract(&f, 1);
    assert_eq!(k.nw_frag, FRAG_ANY | FRAG_LATER);
    assert_eq!(k.nw_proto, 6);
    assert_eq!(k.tp_src, 0);
    let f = hex("667788990aab 001122334455 86dd
                 6000 0000 0008 32 40
                 20010db8000000000000000000000001
                 20010db8000000000000000000000002
                 0000100000000001");
    let k = extract(&f, 1);
    assert_eq!(k.nw_proto, 50);
    assert_eq!(k.ipv6_exthdr, ipv6_exthdr::ESP);
}

#[test]
fn sctp_ports() {
    let f = hex("667788990aab 001122334455 0800
                 4500 0020 0000 4000 40 84 0000 0a000001 0a000002
                 0b59 0b5a 00000000 00000000");
    let k = extract(&f, 1);
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (132, 2905, 2906));
}

#[test]
fn malformed_ip_headers_stop_at_l3() {
    let base = icmp_echo();
    let cases: &[(&str, usize, u8)] = &[
        ("version 5", 14, 0x55),
        ("IHL below 5", 14, 0x44),
        ("IHL past the total length", 14, 0x4f),
    ];
    for (what, at, val) in cases {
        let mut f = base.clone();
        f[*at] = *val;
        let k = extract(&f, 1);
        assert_eq!(k.dl_type, 0x0800, "{what}");
        assert_eq!((k.nw_src, k.nw_proto, k.tp_src), (0, 0, 0), "{what}");
    }
    // Total length beyond the frame.
    let mut f = base.clone();
    f[16..18].copy_from_slice(&1500u16.to_be_bytes());
    assert_eq!(extract(&f, 1).nw_src, 0);
    // TCP data offset below 5.
    let mut f = tcp_syn();
    f[46] = 0x40;
    let k = extract(&f, 1);
    assert_eq!((k.nw_proto, k.tp_src), (6, 0));
}

/// Every byte of a key extracted from a prefix is either zero or equal to the
/// same byte of the full frame's key: truncation only ever loses fields.
#[test]
fn truncation_at_every_length_only_loses_fields() {
    let frames = [
        ("arp", arp_request()),
        ("icmp", icmp_echo()),
        ("tcp", tcp_syn()),
        ("udp", udp_dns()),
        ("ns", ipv6_ns()),
        ("na", ipv6_na()),
        ("vlan", vlan_udp()),
        ("qinq", double_vlan_tcp()),
        ("snap", llc_snap_ipv4()),
    ];
    for (name, frame) in frames {
        let full = extract(&frame, 9);
        for cut in 0..frame.len() {
            let mut k = extract(&frame[..cut], 9);
            // An 802.3 frame cut inside LLC/SNAP has "no EtherType" (0x05ff).
            if k.dl_type == DL_TYPE_NONE {
                assert_eq!(name, "snap");
                k.dl_type = full.dl_type;
            }
            for (i, (a, b)) in k.as_bytes().iter().zip(full.as_bytes()).enumerate() {
                assert!(
                    *a == 0 || a == b,
                    "{name} cut at {cut}: byte {i} is {a:#x}, full {b:#x}"
                );
            }
            if cut < 14 {
                let mut only_port = FlowKey::ZERO;
                only_port.in_port = 9;
                assert_eq!(k, only_port, "{name} cut at {cut} inside Ethernet");
            }
        }
    }
}

#[test]
fn truncation_layer_by_layer() {
    let f = tcp_syn();
    // Inside the IPv4 header: dl_type only.
    let k = extract(&f[..30], 1);
    assert_eq!((k.dl_type, k.nw_src), (0x0800, 0));
    // IPv4 header whole but datagram cut: the total length says more than
    // the frame holds, so L3 is not trusted either (as Open vSwitch does).
    let k = extract(&f[..40], 1);
    assert_eq!(k.nw_src, 0);
    // Inside the Ethernet header.
    assert_eq!(extract(&f[..13], 1).dl_type, 0);
    // A VLAN tag cut in half: the tag is not recorded.
    let v = vlan_udp();
    let k = extract(&v[..15], 1);
    assert!(!k.vlans[0].present());
    assert_eq!(k.dl_src, MAC_A);
    // ND target cut: ICMPv6 type kept, ND fields empty.
    let mut ns = ipv6_ns();
    ns.truncate(14 + 40 + 16);
    ns[18..20].copy_from_slice(&16u16.to_be_bytes());
    let k = extract(&ns, 1);
    assert_eq!((k.tp_src, k.nd_target), (135, [0; 16]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256), port: u32) {
        let (k, o) = extract_with_offsets(&bytes, port);
        prop_assert_eq!(k.in_port, port);
        for off in [o.l2_5, o.l3, o.l4] {
            prop_assert!(off == Offsets::NONE || usize::from(off) <= bytes.len());
        }
        let _ = format::key(&k).to_string();
    }

    /// Arbitrary bytes behind realistic headers reach the deeper code paths.
    #[test]
    fn never_panics_behind_real_headers(
        tail in proptest::collection::vec(any::<u8>(), 0..120),
        ethertype in prop::sample::select(vec![0x0800u16, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x8847, 0x88e7, 0x0030]),
    ) {
        let mut f = Vec::from(&MAC_A[..]);
        f.extend_from_slice(&MAC_B);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(&tail);
        let k = extract(&f, 1);
        prop_assert_eq!(k.dl_src, MAC_B);
    }

    /// Keys agree with an independent builder on random UDP/TCP over IPv4
    /// and IPv6, with and without a VLAN tag.
    #[test]
    fn agrees_with_etherparse(
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
        src6 in any::<[u8; 16]>(), dst6 in any::<[u8; 16]>(),
        ttl: u8, sport: u16, dport: u16, vid in 0u16..4095,
        tcp: bool, v6: bool, tagged: bool,
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let eth = PacketBuilder::ethernet2(MAC_A, MAC_B);
        let mut f = Vec::new();
        macro_rules! finish {
            ($ip:expr) => {
                if tcp {
                    $ip.tcp(sport, dport, 1, 1000).write(&mut f, &payload).unwrap()
                } else {
                    $ip.udp(sport, dport).write(&mut f, &payload).unwrap()
                }
            };
        }
        match (tagged, v6) {
            (false, false) => finish!(eth.ipv4(src, dst, ttl)),
            (false, true) => finish!(eth.ipv6(src6, dst6, ttl)),
            (true, false) => finish!(eth.single_vlan(vid.try_into().unwrap()).ipv4(src, dst, ttl)),
            (true, true) => finish!(eth.single_vlan(vid.try_into().unwrap()).ipv6(src6, dst6, ttl)),
        }
        let k = extract(&f, 5);
        prop_assert_eq!(k.dl_src, MAC_A);
        prop_assert_eq!(k.dl_dst, MAC_B);
        prop_assert_eq!(k.vlan_vid(), tagged.then_some(vid));
        if v6 {
            prop_assert_eq!(k.dl_type, 0x86dd);
            prop_assert_eq!(k.ipv6_src, src6);
            prop_assert_eq!(k.ipv6_dst, dst6);
        } else {
            prop_assert_eq!(k.dl_type, 0x0800);
            prop_assert_eq!(k.nw_src, u32::from_be_bytes(src));
            prop_assert_eq!(k.nw_dst, u32::from_be_bytes(dst));
        }
        prop_assert_eq!(k.nw_ttl, ttl);
        prop_assert_eq!(k.nw_proto, if tcp { 6 } else { 17 });
        prop_assert_eq!((k.tp_src, k.tp_dst), (sport, dport));
    }
}

/// The fast-path form overwrites every packet field of a reused key, keeps
/// the caller's metadata, and otherwise agrees with the by-value form.
#[test]
fn reused_key_is_fully_overwritten_and_metadata_kept() {
    let frames = [
        tcp_syn(),
        ipv6_ns(),
        arp_request(),
        double_vlan_tcp(),
        vec![0u8; 3],
    ];
    let mut key = FlowKey::ZERO;
    let mut offs = Offsets::EMPTY;
    for prev in &frames {
        for next in &frames {
            extract_into(prev, 1, &mut key, &mut offs);
            key.regs[0] = 0xfeed;
            key.recirc_id = 9;
            extract_into(next, 2, &mut key, &mut offs);
            let mut expect = extract(next, 2);
            expect.regs[0] = 0xfeed;
            expect.recirc_id = 9;
            assert_eq!(key, expect);
            assert_eq!(offs, extract_with_offsets(next, 2).1);
            key.clear_metadata();
        }
    }
}
