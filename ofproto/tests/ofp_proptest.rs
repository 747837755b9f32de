//! Property tests: encode -> decode round trips for generated messages,
//! matches and actions; the framing and message decoders never panic on
//! arbitrary bytes, and whatever they accept re-encodes stably.

use ofproto::ofp::multipart::{FlowStats, MORE, ReplyBody};
use ofproto::ofp::oxm::{Field, Prereq, Value};
use ofproto::ofp::{
    Action, Decoder, FlowMod, FlowModCommand, Instruction, Match, Message, MultipartReply,
    PacketIn, Version,
};
use proptest::prelude::*;

const VERSIONS: [Version; 4] = [Version::V1_0, Version::V1_3, Version::V1_4, Version::V1_5];

/// Fields and the `eth_type`/`ip_proto`/ICMPv6 type that make them valid.
fn profile_fields(p: u8) -> (Vec<(Field, u64)>, Vec<Field>) {
    use Field::*;
    let pre;
    let mut fields = vec![
        InPort,
        Metadata,
        EthDst,
        EthSrc,
        TunnelId,
        Reg(0),
        Reg(7),
        CtState,
        CtMark,
        CtZone,
        CtLabel,
        PktMark,
        TunSrc,
        TunDst,
        TunFlags,
    ];
    match p % 6 {
        0 => {
            pre = vec![(EthType, 0x0800), (IpProto, 6)];
            fields.extend([
                IpDscp, IpEcn, Ipv4Src, Ipv4Dst, TcpSrc, TcpDst, TcpFlags, NwTtl, IpFrag,
            ]);
        }
        1 => {
            pre = vec![(EthType, 0x86dd), (IpProto, 17)];
            fields.extend([Ipv6Src, Ipv6Dst, Ipv6Flabel, UdpSrc, UdpDst, Ipv6Exthdr]);
        }
        2 => {
            pre = vec![(EthType, 0x0806)];
            fields.extend([ArpOp, ArpSpa, ArpTpa, ArpSha, ArpTha]);
        }
        3 => {
            pre = vec![(EthType, 0x86dd), (IpProto, 58), (Icmpv6Type, 135)];
            fields.extend([Icmpv6Code, Ipv6NdTarget, Ipv6NdSll]);
        }
        4 => {
            pre = vec![(EthType, 0x8847)];
            fields.extend([MplsLabel, MplsTc, MplsBos]);
        }
        _ => {
            pre = vec![(VlanVid, 0x1000 | 42), (EthType, 0x0800), (IpProto, 1)];
            fields.extend([VlanPcp]);
            fields.extend([Icmpv4Type, Icmpv4Code, Ipv4Src]);
        }
    }
    (pre, fields)
}

fn value_for(f: Field, seed: &[u8; 16], masked: bool) -> (Value, Option<Value>) {
    let info = f.info();
    let w = usize::from(info.width);
    let mut v = Value::from_bytes(&seed[..w]);
    if info.width <= 8 {
        v = Value::from_u64(info.width, v.to_u64() & info.valid);
    }
    if masked && info.maskable {
        let mut m = [0u8; 16];
        for (i, b) in m.iter_mut().enumerate().take(w) {
            *b = seed[i].rotate_left(3) | 1;
        }
        let mut m = Value::from_bytes(&m[..w]);
        if info.width <= 8 {
            m = Value::from_u64(info.width, m.to_u64() & info.valid);
        }
        (v.and(&m), Some(m))
    } else {
        (v, None)
    }
}

fn arb_match() -> impl Strategy<Value = Match> {
    (
        any::<u8>(),
        prop::collection::vec((any::<u16>(), any::<[u8; 16]>(), any::<bool>()), 0..8),
    )
        .prop_map(|(p, picks)| {
            let (pre, fields) = profile_fields(p);
            let mut m = Match::new();
            for (f, v) in pre {
                m.set_u64(f, v);
            }
            for (i, seed, masked) in picks {
                let f = fields[usize::from(i) % fields.len()];
                if m.get(f).is_some() {
                    continue;
                }
                let (v, mk) = value_for(f, &seed, masked);
                m.set(f, v, mk);
            }
            assert!(m.check_prereqs().is_ok(), "{m:?}");
            m
        })
}

fn arb_port() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..0xff00, 0xffff_fff8u32..=0xffff_ffff]
}

fn arb_action13() -> impl Strategy<Value = Action> {
    prop_oneof![
        (arb_port(), any::<u16>()).prop_map(|(port, max_len)| Action::Output { port, max_len }),
        any::<u32>().prop_map(Action::Group),
        any::<u32>().prop_map(Action::SetQueue),
        any::<u16>().prop_map(Action::PushVlan),
        Just(Action::PopVlan),
        any::<u16>().prop_map(Action::PushMpls),
        any::<u16>().prop_map(Action::PopMpls),
        any::<u8>().prop_map(Action::SetMplsTtl),
        Just(Action::DecMplsTtl),
        any::<u16>().prop_map(Action::PushPbb),
        Just(Action::PopPbb),
        any::<u8>().prop_map(Action::SetNwTtl),
        Just(Action::DecNwTtl),
        Just(Action::CopyTtlIn),
        Just(Action::CopyTtlOut),
        (any::<u16>(), any::<[u8; 16]>()).prop_map(|(i, seed)| {
            let all = Field::all();
            let f = all[usize::from(i) % all.len()];
            let (value, _) = value_for(f, &seed, false);
            Action::SetField(ofproto::ofp::MatchEntry {
                field: f,
                value,
                mask: None,
            })
        }),
        (arb_port(), prop::option::of(any::<u8>()))
            .prop_map(|(in_port, table)| Action::Resubmit { in_port, table }),
        any::<u64>().prop_map(Action::SetTunnel),
        Just(Action::PopQueue),
        Just(Action::Exit),
        prop::collection::vec(any::<u16>(), 0..6).prop_map(Action::DecTtlIds),
        (any::<u32>(), any::<u8>(), any::<u8>()).prop_map(|(id, clause, n_clauses)| {
            Action::Conjunction {
                id,
                clause,
                n_clauses,
            }
        }),
        (any::<u16>(), 0u16..64, 1u16..=32, any::<u64>()).prop_map(|(r, ofs, n, value)| {
            Action::RegLoad {
                dst: ofproto::ofp::FieldRef {
                    header: 0x0001_0004 | (u32::from(r % 16) << 9),
                    ofs: ofs % 32,
                    n_bits: n,
                },
                value,
            }
        }),
        (0u16..1000, 0u16..32, 0u16..32).prop_map(|(n, a, b)| Action::RegMove {
            src: ofproto::ofp::FieldRef {
                header: 0x0001_0004,
                ofs: a,
                n_bits: n
            },
            dst: ofproto::ofp::FieldRef {
                header: 0x0001_0204,
                ofs: b,
                n_bits: n
            },
        }),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(|k| {
            // Notes are padded to a multiple of 8 with the 10-byte header.
            let mut v = k;
            while !(v.len() + 10).is_multiple_of(8) || v.len() < 6 {
                v.push(0);
            }
            Action::Note(v)
        }),
        (any::<u32>(), prop::collection::vec(any::<u8>(), 0..3)).prop_map(|(e, d)| {
            let mut data = d;
            data.resize(8, 0);
            Action::Experimenter {
                experimenter: e | 0x100_0000,
                data,
            }
        }),
    ]
}

fn arb_flow_mod() -> impl Strategy<Value = FlowMod> {
    (
        arb_match(),
        prop::collection::vec(arb_action13(), 0..6),
        any::<(u64, u64, u8, u8)>(),
        any::<(u16, u16, u16, u32)>(),
        (
            arb_port(),
            any::<u32>(),
            0u16..32,
            any::<u16>(),
            any::<u64>(),
            any::<u8>(),
        ),
    )
        .prop_map(
            |(
                m,
                acts,
                (cookie, cookie_mask, table_id, cmd),
                (idle, hard, prio, buf),
                (op, og, flags, imp, md, gt),
            )| {
                let mut f = FlowMod::new(match cmd % 5 {
                    0 => FlowModCommand::Add,
                    1 => FlowModCommand::Modify,
                    2 => FlowModCommand::ModifyStrict,
                    3 => FlowModCommand::Delete,
                    _ => FlowModCommand::DeleteStrict,
                });
                f.cookie = cookie;
                f.cookie_mask = cookie_mask;
                f.table_id = table_id;
                f.idle_timeout = idle;
                f.hard_timeout = hard;
                f.priority = prio;
                f.buffer_id = buf;
                f.out_port = op;
                f.out_group = og;
                f.flags = flags;
                f.importance = imp;
                f.match_ = m;
                f.instructions = vec![
                    Instruction::ApplyActions(acts.clone()),
                    Instruction::ClearActions,
                    Instruction::WriteActions(acts),
                    Instruction::WriteMetadata {
                        metadata: md,
                        mask: !0,
                    },
                    Instruction::GotoTable(gt),
                ];
                f
            },
        )
}

fn roundtrip(m: &Message, v: Version) -> Message {
    let bytes = m.encode(v, 7).unwrap();
    let (h, back) = Message::decode(&bytes).unwrap();
    assert_eq!(
        (h.version, h.xid, usize::from(h.length)),
        (v.wire(), 7, bytes.len())
    );
    back
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn flow_mod_roundtrip_1_3_to_1_5(f in arb_flow_mod()) {
        for v in [Version::V1_3, Version::V1_4] {
            let mut want = f.clone();
            if v == Version::V1_3 { want.importance = 0; }
            prop_assert_eq!(roundtrip(&Message::FlowMod(f.clone()), v), Message::FlowMod(want));
        }
    }

    #[test]
    fn match_roundtrip_through_oxm_and_flow(m in arb_match()) {
        for v in [Version::V1_3, Version::V1_5] {
            let mut w = Vec::new();
            m.encode_oxm(v, &mut w);
            prop_assert_eq!(w.len() % 8, 0);
            let (back, used) = Match::decode_oxm_bytes(&w).unwrap();
            prop_assert_eq!(used, w.len());
            prop_assert_eq!(&back, &m);
        }
        // Match -> FlowKey/FlowMask -> Match -> FlowKey/FlowMask is stable.
        let (k, mk) = m.to_flow().unwrap();
        let m2 = Match::from_flow(&k, &mk);
        let (k2, mk2) = m2.to_flow().unwrap();
        prop_assert_eq!(mk, mk2);
        prop_assert_eq!(k.masked(&mk), k2.masked(&mk2));
        prop_assert!(m2.check_prereqs().is_ok(), "{:?}", m2);
    }

    #[test]
    fn packet_in_roundtrip(m in arb_match(), data in prop::collection::vec(any::<u8>(), 0..200), x in any::<(u32, u16, u8, u8, u64)>()) {
        let p = PacketIn { buffer_id: x.0, total_len: x.1, reason: x.2, table_id: x.3, cookie: x.4, match_: m, data };
        for v in [Version::V1_3, Version::V1_5] {
            prop_assert_eq!(roundtrip(&Message::PacketIn(p.clone()), v), Message::PacketIn(p.clone()));
        }
    }

    #[test]
    fn framing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), split in 1usize..64) {
        let mut d = Decoder::new();
        for c in bytes.chunks(split) {
            d.push(c);
            while let Ok(Some(m)) = d.next_message() {
                prop_assert!(m.len() >= 8);
                let _ = Message::decode(&m);
            }
        }
    }

    #[test]
    fn decoder_never_panics_and_reencodes_stably(
        vi in 0usize..4, ty in 0u8..40, body in prop::collection::vec(any::<u8>(), 0..300)
    ) {
        let v = VERSIONS[vi];
        let mut m = vec![v.wire(), ty, 0, 0, 0, 0, 0, 9];
        m.extend_from_slice(&body);
        let len = m.len() as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        if let Some(b1) = Message::decode(&m).ok().and_then(|(_, msg)| msg.encode(v, 9).ok()) {
            let (_, msg2) = Message::decode(&b1).expect("re-decode");
            let b2 = msg2.encode(v, 9).expect("re-encode");
            prop_assert_eq!(b1, b2);
        }
    }

    #[test]
    fn flow_mod_bodies_never_panic(vi in 0usize..4, body in prop::collection::vec(any::<u8>(), 0..400), seed in arb_flow_mod()) {
        // Start from a valid encoding and corrupt it: deeper paths are reached.
        let v = VERSIONS[vi];
        let mut f = seed;
        if v == Version::V1_0 { f.match_ = Match::new(); f.instructions.clear(); f.cookie_mask = 0; f.flags &= 3; }
        if v == Version::V1_5 { f.instructions.retain(|i| !matches!(i, Instruction::Meter(_))); }
        if let Ok(mut b) = Message::FlowMod(f).encode(v, 1) {
            for (i, x) in body.iter().enumerate() {
                let n = b.len();
                if n > 8 { let at = 8 + (usize::from(*x) * 7 + i * 13) % (n - 8); b[at] ^= x.rotate_left(i as u32 % 8); }
            }
            let _ = Message::decode(&b);
        }
    }
}

#[test]
fn multipart_reply_splits_at_64k_with_more_flag() {
    let mut m = Match::new();
    m.set_u64(Field::EthType, 0x0800);
    let stats: Vec<FlowStats> = (0..3000u32)
        .map(|i| FlowStats {
            table_id: (i % 4) as u8,
            duration_sec: i,
            duration_nsec: 0,
            priority: 1,
            idle_timeout: 0,
            hard_timeout: 0,
            flags: 0,
            cookie: u64::from(i),
            packet_count: 0,
            byte_count: 0,
            match_: m.clone(),
            instructions: vec![Instruction::ApplyActions(vec![Action::Output {
                port: i % 100,
                max_len: 0,
            }])],
        })
        .collect();
    for v in [Version::V1_0, Version::V1_3] {
        let reply = MultipartReply {
            flags: 0,
            body: ReplyBody::Flow(stats.clone()),
        };
        let parts = reply.encode_split(v, 5).unwrap();
        assert!(parts.len() > 1);
        let mut all = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            assert!(p.len() <= 65535);
            let (h, msg) = Message::decode(p).unwrap();
            assert_eq!(h.xid, 5);
            let Message::MultipartReply(r) = msg else {
                panic!()
            };
            assert_eq!(r.flags & MORE != 0, i + 1 < parts.len());
            let ReplyBody::Flow(s) = r.body else { panic!() };
            all.extend(s);
        }
        assert_eq!(all, stats);
    }
}

#[test]
fn of10_flow_mod_roundtrip() {
    let mut f = FlowMod::new(FlowModCommand::Add);
    let mut m = Match::new();
    m.set_u64(Field::InPort, 3);
    m.set_u64(Field::EthType, 0x0800);
    m.set_masked_u64(Field::Ipv4Src, 0x0a00_0000, 0xff00_0000);
    m.set_u64(Field::IpProto, 17);
    m.set_u64(Field::UdpDst, 53);
    f.match_ = m;
    f.instructions = vec![Instruction::ApplyActions(vec![
        Action::SetVlanVid(5),
        Action::Enqueue { port: 2, queue: 1 },
        Action::Output {
            port: 0xffff_fffd,
            max_len: 128,
        },
        Action::RegLoad {
            dst: ofproto::ofp::FieldRef {
                header: 0x0001_0004,
                ofs: 0,
                n_bits: 32,
            },
            value: 9,
        },
    ])];
    assert_eq!(
        roundtrip(&Message::FlowMod(f.clone()), Version::V1_0),
        Message::FlowMod(f)
    );
    let _ = Prereq::None;
}
