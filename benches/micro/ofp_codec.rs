//! The OpenFlow codec: decode and encode of a FLOW_MOD with a 5-field match
//! (`in_port`, `eth_type`, `ip_proto`, `ipv4_dst/24`, `tcp_dst`) and three
//! actions (`push_vlan`, `set_field:vlan_vid`, `output`), in OpenFlow 1.3
//! (OXM match, apply-actions instruction) and 1.0 (`ofp_match`).
//!
//! `cargo bench -p benches --bench ofp_codec`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ofproto::ofp::oxm::Value;
use ofproto::ofp::{
    Action, Field, FlowMod, FlowModCommand, Instruction, MatchEntry, Message, Version,
};
use std::hint::black_box;

fn flow_mod() -> FlowMod {
    let mut f = FlowMod::new(FlowModCommand::Add);
    f.priority = 100;
    f.match_.set_u64(Field::InPort, 3);
    f.match_.set_u64(Field::EthType, 0x0800);
    f.match_.set_u64(Field::IpProto, 6);
    f.match_
        .set_masked_u64(Field::Ipv4Dst, 0x0a01_0200, 0xffff_ff00);
    f.match_.set_u64(Field::TcpDst, 443);
    f.instructions = vec![Instruction::ApplyActions(vec![
        Action::PushVlan(0x8100),
        Action::SetField(MatchEntry {
            field: Field::VlanVid,
            value: Value::from_u64(2, 0x1000 | 42),
            mask: None,
        }),
        Action::Output {
            port: 2,
            max_len: 0,
        },
    ])];
    f
}

fn of10_flow_mod() -> FlowMod {
    let mut f = flow_mod();
    // 1.0 has no push_vlan: mod_vlan_vid does both.
    f.instructions = vec![Instruction::ApplyActions(vec![
        Action::SetVlanVid(42),
        Action::SetVlanPcp(3),
        Action::Output {
            port: 2,
            max_len: 0,
        },
    ])];
    f
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ofp_codec");
    g.throughput(Throughput::Elements(1));
    for (name, v, m) in [
        ("of13", Version::V1_3, Message::FlowMod(flow_mod())),
        ("of10", Version::V1_0, Message::FlowMod(of10_flow_mod())),
    ] {
        let bytes = m.encode(v, 1).expect("encodes");
        let (_, back) = Message::decode(&bytes).expect("decodes");
        assert_eq!(back, m);
        g.bench_function(format!("flow_mod_decode_{name}"), |b| {
            b.iter(|| Message::decode(black_box(&bytes)).expect("decodes"))
        });
        g.bench_function(format!("flow_mod_encode_{name}"), |b| {
            b.iter(|| black_box(&m).encode(v, 1).expect("encodes"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
