//! Translation (xlate) of a 4-table pipeline: the cost of an upcall's
//! OpenFlow work, from key to datapath actions and megaflow mask.
//!
//! `cargo bench -p benches --bench xlate`
//!
//! Pipeline (a typical virtual-network layout):
//!
//! * table 0, ingress: per-port classification, sets `reg0` (the network)
//!   and goes to table 1; unknown ports drop.
//! * table 1, ACL: 1,000 rules on `nw_src`/`nw_dst` prefixes and `tp_dst`
//!   that drop; a default rule goes to table 2.
//! * table 2, routing: 1,000 `/24` routes on `nw_dst` that rewrite the MACs,
//!   decrement the TTL, write the output port in `reg1` and go to table 3.
//! * table 3, egress: per-network VLAN tagging and `output:reg1`.
//!
//! Benchmarks: `xlate/4_tables` (the whole pipeline to an output),
//! `xlate/acl_drop` (stops at table 1), `xlate/trace` (the same with trace
//! text).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datapath::flow::FlowKey;
use ofproto::bridge::Bridge;
use ofproto::ofp::actions::{Action, FieldRef};
use ofproto::ofp::instructions::Instruction;
use ofproto::ofp::messages::{FlowMod, FlowModCommand};
use ofproto::ofp::oxm::{self, Field};
use ofproto::pipeline::xlate::PortInfo;
use ofproto::text::parse_flow;
use std::hint::black_box;

fn add(br: &mut Bridge, s: &str) {
    let f = parse_flow(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    let mut fm = FlowMod::new(FlowModCommand::Add);
    fm.table_id = f.table;
    fm.priority = f.priority;
    fm.match_ = f.match_;
    fm.instructions = f.instructions;
    br.flow_mod(&fm, 0).unwrap_or_else(|e| panic!("{s}: {e}"));
}

fn bridge() -> Bridge {
    let mut br = Bridge::new("br0");
    for p in 1..=8u32 {
        br.add_port(PortInfo::new(p, p, &format!("p{p}")));
    }
    for p in 1..=8u32 {
        add(
            &mut br,
            &format!(
                "table=0,in_port={p},actions=load:{}->NXM_NX_REG0[],goto_table:1",
                p % 2 + 1
            ),
        );
    }
    add(&mut br, "table=0,priority=0,actions=drop");
    for i in 0..1000u32 {
        add(
            &mut br,
            &format!(
                "table=1,priority={},tcp,nw_src=10.{}.{}.0/24,nw_dst=172.16.{}.0/24,tp_dst={},actions=drop",
                100 + i % 50,
                i / 256,
                i % 256,
                i % 200,
                1000 + i
            ),
        );
    }
    add(&mut br, "table=1,priority=1,actions=goto_table:2");
    for i in 0..1000u32 {
        add(
            &mut br,
            &format!(
                "table=2,ip,nw_dst=192.{}.{}.0/24,actions=mod_dl_src:00:00:00:00:01:01,mod_dl_dst:00:00:00:00:02:{:02x},dec_ttl,load:{}->NXM_NX_REG1[],goto_table:3",
                168 + i / 256,
                i % 256,
                i % 256,
                1 + i % 8
            ),
        );
    }
    // `output:NXM_NX_REG1[]` (not in the text syntax yet): built directly.
    let reg1 = FieldRef {
        header: oxm::nxm_header(
            Field::Reg(1).info().nxm.expect("reg1 has an NXM header"),
            false,
            4,
        ),
        ofs: 0,
        n_bits: 32,
    };
    for (reg0, pre) in [(1, ""), (2, "mod_vlan_vid:20")] {
        let text = format!(
            "table=3,reg0={reg0},actions={}",
            if pre.is_empty() { "drop" } else { pre }
        );
        let f = parse_flow(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut acts: Vec<Action> = f
            .instructions
            .into_iter()
            .flat_map(|i| match i {
                Instruction::ApplyActions(a) => a,
                _ => Vec::new(),
            })
            .collect();
        acts.push(Action::OutputReg {
            src: reg1,
            max_len: 0,
        });
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.table_id = 3;
        fm.match_ = f.match_;
        fm.instructions = vec![Instruction::ApplyActions(acts)];
        br.flow_mod(&fm, 0).expect("egress flow");
    }
    br
}

fn key(dst: u32, tp_dst: u16) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.in_port = 2;
    k.dl_type = 0x0800;
    k.nw_src = 0x0a00_0105;
    k.nw_dst = dst;
    k.nw_proto = 6;
    k.nw_ttl = 64;
    k.tp_src = 40000;
    k.tp_dst = tp_dst;
    k
}

fn bench(c: &mut Criterion) {
    let br = bridge();
    let routed = key(0xc0a8_0a07, 80);
    let dropped = key(0xac10_0105, 1001);
    assert!(!br.xlate(&routed, 0).actions.is_empty());
    assert!(br.xlate(&dropped, 0).actions.is_empty());
    let mut g = c.benchmark_group("xlate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("4_tables", |b| {
        b.iter(|| black_box(br.xlate(black_box(&routed), 0)))
    });
    g.bench_function("acl_drop", |b| {
        b.iter(|| black_box(br.xlate(black_box(&dropped), 0)))
    });
    g.bench_function("trace", |b| {
        b.iter(|| black_box(br.trace(black_box(&routed), 0)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
