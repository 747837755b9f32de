//! Property tests: encode -> decode round trips for generated group, meter,
//! port/table/role/async/bundle messages, the group/meter/port/queue
//! multipart bodies, Nicira messages and the structured Nicira actions
//! (ct, nat, learn), in every version that has them.

use ofproto::ofp::group::bucket_ids;
use ofproto::ofp::multipart::RequestBody;
use ofproto::ofp::{
    Action, AsyncConfig, Band, BandKind, Bucket, BundleAdd, BundleControl, Ct, CtZone, FieldRef,
    FlowMod, FlowModCommand, GroupDesc, GroupFeatures, GroupMod, GroupModCommand, GroupStats,
    GroupType, Instruction, Learn, LearnDst, LearnSpec, LearnSrc, Message, MeterConfig,
    MeterFeatures, MeterMod, MeterModCommand, MeterStats, MultipartReply, MultipartRequest, Nat,
    NxFlowMod, NxMessage, PortMod, PortStats, QueueStats, ReplyBody, Role, TableMod, Version,
};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const V11PLUS: [Version; 3] = [Version::V1_3, Version::V1_4, Version::V1_5];

fn roundtrip(m: &Message, v: Version) -> Message {
    let bytes = m
        .encode(v, 7)
        .unwrap_or_else(|e| panic!("encode {v:?}: {e:?}: {m:?}"));
    let (h, back) = Message::decode(&bytes).unwrap_or_else(|e| panic!("decode {v:?}: {e:?}"));
    assert_eq!(usize::from(h.length), bytes.len());
    let again = back.encode(v, 7).unwrap();
    assert_eq!(again, bytes, "re-encoding differs");
    back
}

fn arb_port() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..0xff00, 0xffff_fff8u32..=0xffff_ffff]
}

fn reg(i: u32) -> u32 {
    0x0001_0004 | (i % 8) << 9
}

fn arb_simple_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (arb_port(), any::<u16>()).prop_map(|(port, max_len)| Action::Output { port, max_len }),
        any::<u32>().prop_map(Action::Group),
        Just(Action::PopVlan),
        Just(Action::CtClear),
        (any::<u32>(), 0u16..32, 1u16..=32, any::<u32>()).prop_map(|(r, ofs, n, v)| {
            Action::RegLoad {
                dst: FieldRef {
                    header: reg(r),
                    ofs: ofs % (33 - n),
                    n_bits: n,
                },
                value: u64::from(v) & ((1u64 << n) - 1),
            }
        }),
    ]
}

fn arb_nat() -> impl Strategy<Value = Nat> {
    (
        0u16..32,
        any::<(u32, u32, bool, bool)>(),
        any::<([u8; 16], [u8; 16])>(),
        any::<(Option<u16>, Option<u16>)>(),
    )
        .prop_map(|(flags, (a, b, v6, has_max), (x, y), (p, q))| {
            let (lo, hi) = if v6 {
                (IpAddr::V6(Ipv6Addr::from(x)), IpAddr::V6(Ipv6Addr::from(y)))
            } else {
                (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))
            };
            Nat {
                flags,
                addr_min: Some(lo),
                addr_max: has_max.then_some(hi),
                proto_min: p,
                proto_max: q,
            }
        })
}

fn arb_ct() -> impl Strategy<Value = Action> {
    (
        0u16..4,
        any::<(u16, bool, u32)>(),
        any::<u8>(),
        prop_oneof![Just(0u16), Just(21), Just(69)],
        prop::option::of(arb_nat()),
        prop::collection::vec(arb_simple_action(), 0..3),
    )
        .prop_map(|(flags, (z, field, r), table, alg, nat, exec)| {
            let zone = if field {
                CtZone::Field(FieldRef {
                    header: reg(r),
                    ofs: 0,
                    n_bits: 16,
                })
            } else {
                CtZone::Imm(z)
            };
            let mut actions: Vec<Action> = nat.into_iter().map(Action::Nat).collect();
            actions.extend(exec);
            Action::Ct(Box::new(Ct {
                flags,
                zone,
                recirc_table: table,
                alg,
                actions,
            }))
        })
}

fn arb_learn() -> impl Strategy<Value = Action> {
    let spec = (0u8..5, any::<u32>(), 1u16..=32, any::<[u8; 4]>()).prop_map(|(k, r, n, imm)| {
        let f = FieldRef {
            header: reg(r),
            ofs: 0,
            n_bits: n,
        };
        let imm = imm[..usize::from(n).div_ceil(16) * 2].to_vec();
        let (src, dst) = match k {
            0 => (LearnSrc::Field(f), LearnDst::Match(f)),
            1 => (LearnSrc::Immediate(imm), LearnDst::Match(f)),
            2 => (LearnSrc::Field(f), LearnDst::Load(f)),
            3 => (LearnSrc::Immediate(imm), LearnDst::Load(f)),
            _ => (LearnSrc::Field(f), LearnDst::Output),
        };
        LearnSpec {
            n_bits: n,
            src,
            dst,
        }
    });
    (
        any::<(u16, u16, u16, u64)>(),
        (0u16..4, any::<u8>(), any::<u16>(), any::<u16>()),
        prop::collection::vec(spec, 0..5),
    )
        .prop_map(
            |((idle, hard, prio, cookie), (flags, table, fi, fh), specs)| {
                Action::Learn(Box::new(Learn {
                    idle_timeout: idle,
                    hard_timeout: hard,
                    priority: prio,
                    cookie,
                    flags,
                    table_id: table,
                    fin_idle_timeout: fi,
                    fin_hard_timeout: fh,
                    specs,
                }))
            },
        )
}

fn arb_controller2() -> impl Strategy<Value = Action> {
    (
        any::<(Option<u16>, Option<u16>, Option<u8>, bool, Option<u32>)>(),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..12)),
    )
        .prop_map(
            |((max_len, controller_id, reason, pause, meter_id), userdata)| {
                Action::Controller2(ofproto::ofp::Controller2 {
                    max_len,
                    controller_id,
                    reason,
                    userdata,
                    pause,
                    meter_id,
                })
            },
        )
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        arb_simple_action(),
        arb_ct(),
        arb_learn(),
        arb_nat().prop_map(Action::Nat),
        arb_controller2(),
        (
            0u16..2,
            0u16..7,
            any::<u16>(),
            prop::collection::vec(any::<u16>(), 0..5),
            any::<bool>()
        )
            .prop_map(|(algorithm, fields, basis, members, load)| {
                Action::Bundle(ofproto::ofp::Bundle {
                    algorithm,
                    fields,
                    basis,
                    member_type: 2,
                    dst: load.then_some(FieldRef {
                        header: reg(1),
                        ofs: 0,
                        n_bits: 32,
                    }),
                    members,
                })
            }),
        (
            0u16..7,
            any::<u16>(),
            0u16..4,
            0u16..16,
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(fields, basis, algorithm, max_link, arg, r)| {
                Action::Multipath(ofproto::ofp::Multipath {
                    fields,
                    basis,
                    algorithm,
                    max_link,
                    arg,
                    dst: FieldRef {
                        header: reg(r),
                        ofs: 0,
                        n_bits: 16,
                    },
                })
            }),
        (arb_port(), any::<u32>())
            .prop_map(|(port, max_len)| Action::OutputTrunc { port, max_len }),
        prop::collection::vec(prop_oneof![arb_simple_action(), arb_ct()], 0..3)
            .prop_map(Action::Clone),
    ]
}

fn arb_bucket() -> impl Strategy<Value = Bucket> {
    (
        any::<u16>(),
        arb_port(),
        any::<u32>(),
        prop::collection::vec(arb_action(), 0..3),
    )
        .prop_map(|(weight, watch_port, watch_group, actions)| Bucket {
            bucket_id: 0,
            weight,
            watch_port,
            watch_group,
            actions,
            other_properties: Vec::new(),
        })
}

fn arb_group_type() -> impl Strategy<Value = GroupType> {
    prop_oneof![
        Just(GroupType::All),
        Just(GroupType::Select),
        Just(GroupType::Indirect),
        Just(GroupType::FastFailover)
    ]
}

/// What `b` looks like after a trip through `v` in a group of type `gt`.
fn bucket_after(v: Version, gt: GroupType, i: usize, b: &Bucket) -> Bucket {
    let mut b = b.clone();
    b.bucket_id = i as u32;
    if v >= Version::V1_5 && gt != GroupType::Select {
        b.weight = 0;
    }
    b
}

fn arb_band() -> impl Strategy<Value = Band> {
    (0u8..3, any::<(u32, u32, u8, u32)>()).prop_map(|(k, (rate, burst_size, p, e))| Band {
        kind: match k {
            0 => BandKind::Drop,
            1 => BandKind::DscpRemark { prec_level: p },
            _ => BandKind::Experimenter { experimenter: e },
        },
        rate,
        burst_size,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn group_mod_roundtrip(
        cmd in 0u8..3, gt in arb_group_type(), id in any::<u32>(),
        buckets in prop::collection::vec(arb_bucket(), 0..4),
    ) {
        let command = [GroupModCommand::Add, GroupModCommand::Modify, GroupModCommand::Delete][usize::from(cmd)];
        let mut g = GroupMod::new(command, gt, id);
        g.buckets = buckets;
        for (i, b) in g.buckets.iter_mut().enumerate() { b.bucket_id = i as u32; }
        for v in V11PLUS {
            let mut want = g.clone();
            want.buckets = g.buckets.iter().enumerate().map(|(i, b)| bucket_after(v, gt, i, b)).collect();
            prop_assert_eq!(roundtrip(&Message::GroupMod(g.clone()), v), Message::GroupMod(want));
        }
    }

    #[test]
    fn group_mod_15_insert_remove(gt in arb_group_type(), id in any::<u32>(), b in arb_bucket()) {
        let mut g = GroupMod::new(GroupModCommand::InsertBucket, gt, id);
        g.command_bucket_id = bucket_ids::FIRST;
        g.buckets = vec![bucket_after(Version::V1_5, gt, 0, &b)];
        prop_assert_eq!(roundtrip(&Message::GroupMod(g.clone()), Version::V1_5), Message::GroupMod(g.clone()));
        prop_assert!(Message::GroupMod(g).encode(Version::V1_3, 1).is_err());
    }

    #[test]
    fn meter_mod_roundtrip(cmd in 0u8..3, flags in any::<u16>(), id in any::<u32>(), bands in prop::collection::vec(arb_band(), 0..4)) {
        let command = [MeterModCommand::Add, MeterModCommand::Modify, MeterModCommand::Delete][usize::from(cmd)];
        let m = Message::MeterMod(MeterMod { command, flags, meter_id: id, bands });
        for v in V11PLUS {
            prop_assert_eq!(roundtrip(&m, v), m.clone());
        }
        prop_assert!(m.encode(Version::V1_0, 1).is_err());
    }

    #[test]
    fn control_messages_roundtrip(
        p in any::<(u32, [u8; 6], u32, u32, u32)>(), t in any::<(u8, u32)>(),
        role in any::<(u32, u64)>(), masks in any::<[u32; 6]>(), b in any::<(u32, u16, u16)>(),
    ) {
        let pm = PortMod { port_no: p.0 % 0xff00, hw_addr: p.1, config: p.2, mask: p.3, advertise: p.4, other_properties: Vec::new() };
        let am = AsyncConfig { masks: vec![(1, masks[0]), (0, masks[1]), (3, masks[2]), (2, masks[3]), (5, masks[4]), (4, masks[5])] };
        let msgs = vec![
            Message::PortMod(pm.clone()),
            Message::TableMod(TableMod { table_id: t.0, config: t.1, properties: Vec::new() }),
            Message::RoleRequest(Role { role: role.0, generation_id: role.1 }),
            Message::RoleReply(Role { role: role.0, generation_id: role.1 }),
            Message::GetAsyncRequest,
            Message::GetAsyncReply(am.clone()),
            Message::SetAsync(am),
        ];
        for v in V11PLUS {
            for m in &msgs {
                prop_assert_eq!(&roundtrip(m, v), m);
            }
        }
        prop_assert_eq!(roundtrip(&Message::PortMod(pm.clone()), Version::V1_0), Message::PortMod(pm));
        for v in [Version::V1_4, Version::V1_5] {
            let rs = Message::RoleStatus(ofproto::ofp::RoleStatus { role: role.0, reason: b.1 as u8, generation_id: role.1, properties: Vec::new() });
            prop_assert_eq!(&roundtrip(&rs, v), &rs);
            let ts = Message::TableStatus(ofproto::ofp::TableStatus { reason: 3, table: ofproto::ofp::TableDesc { table_id: t.0, config: t.1, properties: Vec::new() } });
            prop_assert_eq!(&roundtrip(&ts, v), &ts);
            let rf = Message::RequestForward(ofproto::ofp::RequestForward { xid: b.0, request: Box::new(Message::GroupMod(GroupMod::new(GroupModCommand::Delete, GroupType::All, role.0))) });
            prop_assert_eq!(&roundtrip(&rf, v), &rf);
            let c = Message::BundleControl(BundleControl { bundle_id: b.0, ctrl_type: b.1 % 8, flags: b.2, properties: Vec::new() });
            prop_assert_eq!(&roundtrip(&c, v), &c);
            let mut f = FlowMod::new(FlowModCommand::Add);
            f.priority = b.1;
            let a = Message::BundleAdd(BundleAdd { bundle_id: b.0, flags: b.2, xid: 3, message: Box::new(Message::FlowMod(f)), properties: Vec::new() });
            prop_assert_eq!(&roundtrip(&a, v), &a);
        }
    }

    #[test]
    fn structured_actions_roundtrip(acts in prop::collection::vec(arb_action(), 0..4)) {
        for v in [Version::V1_0, Version::V1_3, Version::V1_5] {
            let mut f = FlowMod::new(FlowModCommand::Add);
            if !acts.is_empty() {
                f.instructions = vec![Instruction::ApplyActions(acts.clone())];
            }
            prop_assert_eq!(roundtrip(&Message::FlowMod(f.clone()), v), Message::FlowMod(f));
        }
    }

    #[test]
    fn nx_flow_mod_roundtrip(acts in prop::collection::vec(arb_simple_action(), 0..3), c in any::<(u64, u64, u64, u8)>()) {
        let mut f = FlowMod::new(FlowModCommand::Modify);
        f.table_id = c.3;
        // Without a cookie mask the cookie is the fixed field (new_cookie).
        f.cookie_mask = c.1;
        f.cookie = if c.1 == 0 { c.2 } else { c.0 };
        f.match_.set_u64(ofproto::ofp::Field::Reg(3), 5);
        if !acts.is_empty() { f.instructions = vec![Instruction::ApplyActions(acts)]; }
        let m = Message::Nx(NxMessage::FlowMod(NxFlowMod { flow_mod: f, new_cookie: c.2 }));
        prop_assert_eq!(roundtrip(&m, Version::V1_0), m);
    }

    #[test]
    fn table_features_roundtrip(
        t in any::<(u8, u64, u64, u32, u32)>(), name in "[a-z]{0,31}",
        ids in prop::collection::vec(0u16..30, 0..8), tables in prop::collection::vec(any::<u8>(), 0..20),
        fields in prop::collection::vec(0u32..0x8000_0000, 0..8), raw in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        use ofproto::ofp::{TableFeatureProp as P, TableFeatures};
        let mut fields = fields;
        fields.extend([0xffff_0805, 0x4f4e_4600]); // an experimenter id takes two words
        let tf = TableFeatures {
            table_id: t.0, name, metadata_match: t.1, metadata_write: t.2, capabilities: t.3, max_entries: t.4,
            properties: vec![
                P::Instructions { miss: false, types: ids.clone() },
                P::NextTables { miss: true, tables },
                P::Actions { apply: true, miss: false, types: ids },
                P::Match(fields.clone()),
                P::Wildcards(fields.clone()),
                P::Setfield { apply: false, miss: true, fields },
                P::Other { ty: 0xfffe, body: raw },
            ],
        };
        for v in V11PLUS {
            for m in [
                Message::MultipartReply(MultipartReply { flags: 0, body: ReplyBody::TableFeatures(vec![tf.clone()]) }),
                Message::MultipartRequest(MultipartRequest { flags: 0, body: RequestBody::TableFeatures(vec![tf.clone()]) }),
            ] {
                prop_assert_eq!(&roundtrip(&m, v), &m);
            }
        }
    }

    #[test]
    fn nx_packet_in2_roundtrip(
        packet in prop::collection::vec(any::<u8>(), 0..80),
        o in any::<(Option<u32>, Option<u32>, Option<u8>, Option<u64>, Option<u8>, bool)>(),
        userdata in prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
        cont in prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
    ) {
        let mut md = ofproto::ofp::Match::new();
        md.set_u64(ofproto::ofp::Field::InPort, 7);
        let p = ofproto::ofp::NxPacketIn2 {
            packet, full_len: o.0, buffer_id: o.1, table_id: o.2, cookie: o.3, reason: o.4,
            metadata: o.5.then_some(md), userdata, continuation: cont, other: Vec::new(),
        };
        let m = Message::Nx(NxMessage::PacketIn2(p));
        for v in [Version::V1_0, Version::V1_3, Version::V1_5] {
            prop_assert_eq!(&roundtrip(&m, v), &m);
        }
    }

    #[test]
    fn oxs_stats_roundtrip_in_1_5(x in any::<(u64, u64, u32, u32, u16, u8)>(), acts in prop::collection::vec(arb_simple_action(), 0..3)) {
        use ofproto::ofp::multipart::{AggregateStats, FlowStats};
        use ofproto::ofp::{FlowRemoved, FlowStats15, Match, OxsEntry};
        let mut m = Match::new();
        m.set_u64(ofproto::ofp::Field::InPort, u64::from(x.2 % 0xff00));
        let fs = FlowStats {
            table_id: x.5, duration_sec: x.2, duration_nsec: x.3, priority: x.4, idle_timeout: x.4,
            hard_timeout: 3, flags: 1, cookie: x.0, packet_count: x.0, byte_count: x.1,
            match_: m.clone(),
            instructions: if acts.is_empty() { vec![] } else { vec![Instruction::ApplyActions(acts)] },
        };
        let v = Version::V1_5;
        // The version-independent body encodes as OXS and comes back lossless as Flow15.
        let back = roundtrip(&Message::MultipartReply(MultipartReply { flags: 0, body: ReplyBody::Flow(vec![fs.clone()]) }), v);
        let Message::MultipartReply(MultipartReply { body: ReplyBody::Flow15(e), .. }) = back else { panic!("{back:?}") };
        prop_assert_eq!(e.len(), 1);
        prop_assert_eq!(e[0].to_stats(), fs.clone());
        prop_assert_eq!(FlowStats15::from_stats(&fs), e[0].clone());
        let mut e15 = FlowStats15::from_stats(&fs);
        e15.stats.insert(1, OxsEntry::IdleTime(x.3, x.2));
        e15.importance = x.4;
        let m15 = Message::MultipartReply(MultipartReply { flags: 0, body: ReplyBody::Flow15(vec![e15]) });
        prop_assert_eq!(&roundtrip(&m15, v), &m15);
        let agg = AggregateStats { packet_count: x.0, byte_count: x.1, flow_count: x.2 };
        let back = roundtrip(&Message::MultipartReply(MultipartReply { flags: 0, body: ReplyBody::Aggregate(agg) }), v);
        let want = Message::MultipartReply(MultipartReply { flags: 0, body: ReplyBody::Aggregate15(vec![
            OxsEntry::PacketCount(x.0), OxsEntry::ByteCount(x.1), OxsEntry::FlowCount(x.2)]) });
        prop_assert_eq!(back, want);
        let fr = Message::FlowRemoved(FlowRemoved {
            cookie: x.0, priority: x.4, reason: x.5, table_id: x.5, duration_sec: x.2, duration_nsec: x.3,
            idle_timeout: 1, hard_timeout: 2, packet_count: x.0, byte_count: x.1, match_: m,
        });
        prop_assert_eq!(&roundtrip(&fr, v), &fr);
    }

    #[test]
    fn group_meter_port_multiparts_roundtrip(
        ids in any::<(u32, u32, u32)>(), counters in any::<[u64; 12]>(), d in any::<(u32, u32)>(),
        gt in arb_group_type(), buckets in prop::collection::vec(arb_bucket(), 0..3),
        bands in prop::collection::vec(arb_band(), 0..3),
    ) {
        let ps = PortStats {
            port_no: ids.0 % 0xff00, duration_sec: d.0, duration_nsec: d.1,
            rx_packets: counters[0], tx_packets: counters[1], rx_bytes: counters[2], tx_bytes: counters[3],
            rx_dropped: counters[4], tx_dropped: counters[5], rx_errors: counters[6], tx_errors: counters[7],
            rx_frame_err: counters[8], rx_over_err: counters[9], rx_crc_err: counters[10], collisions: counters[11],
            other_properties: Vec::new(),
        };
        let qs = QueueStats { port_no: ids.0 % 0xff00, queue_id: ids.1, tx_bytes: counters[0], tx_packets: counters[1], tx_errors: counters[2], duration_sec: d.0, duration_nsec: d.1, properties: Vec::new() };
        for v in [Version::V1_0, Version::V1_3, Version::V1_4, Version::V1_5] {
            let (mut p, mut q) = (ps.clone(), qs.clone());
            if v == Version::V1_0 { p.duration_sec = 0; p.duration_nsec = 0; q.duration_sec = 0; q.duration_nsec = 0; }
            for body in [ReplyBody::PortStats(vec![p.clone(), p]), ReplyBody::QueueStats(vec![q])] {
                let m = Message::MultipartReply(MultipartReply { flags: 0, body });
                prop_assert_eq!(&roundtrip(&m, v), &m);
            }
        }
        for v in V11PLUS {
            let desc = GroupDesc {
                group_type: gt, group_id: ids.2,
                buckets: buckets.iter().enumerate().map(|(i, b)| bucket_after(v, gt, i, b)).collect(),
                properties: Vec::new(),
            };
            let bodies = vec![
                ReplyBody::GroupDesc(vec![desc]),
                ReplyBody::Group(vec![GroupStats { group_id: ids.2, ref_count: ids.1, packet_count: counters[0], byte_count: counters[1], duration_sec: d.0, duration_nsec: d.1, buckets: vec![(counters[2], counters[3])] }]),
                ReplyBody::GroupFeatures(GroupFeatures { types: ids.0, capabilities: ids.1, max_groups: [d.0, d.1, ids.2, 1], actions: [ids.0, 2, 3, 4] }),
                ReplyBody::Meter(vec![MeterStats { meter_id: ids.0, flow_count: ids.1, packet_in_count: counters[4], byte_in_count: counters[5], duration_sec: d.0, duration_nsec: d.1, bands: vec![(1, 2)] }]),
                ReplyBody::MeterConfig(vec![MeterConfig { flags: d.0 as u16, meter_id: ids.2, bands: bands.clone() }]),
                ReplyBody::MeterFeatures(MeterFeatures { max_meter: ids.0, band_types: 6, capabilities: 15, max_bands: 8, max_color: 0 }),
            ];
            for body in bodies {
                let m = Message::MultipartReply(MultipartReply { flags: 0, body });
                prop_assert_eq!(&roundtrip(&m, v), &m);
            }
            for body in [
                RequestBody::Group { group_id: ids.0 },
                RequestBody::GroupFeatures,
                RequestBody::Meter { meter_id: ids.1 },
                RequestBody::MeterConfig { meter_id: ids.2 },
                RequestBody::MeterFeatures,
                RequestBody::PortStats { port_no: ids.0 },
                RequestBody::QueueStats { port_no: ids.0, queue_id: ids.1 },
                RequestBody::TableFeatures(Vec::new()),
            ] {
                let m = Message::MultipartRequest(MultipartRequest { flags: 0, body });
                prop_assert_eq!(&roundtrip(&m, v), &m);
            }
        }
    }
}
