//! Megaflow soundness of translation on random multi-table pipelines: for
//! every translated key `k` with mask `m`, any key `k2` with
//! `k2 & m == k & m` must translate to the same datapath actions.

mod common;

use common::*;
use datapath::flow::{FlowKey, FlowMask};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn random_key(rng: &mut Rng) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.in_port = 1 + rng.below(4) as u32;
    let macs = [[0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 2], [0xff; 6]];
    k.dl_src = macs[rng.below(2) as usize];
    k.dl_dst = macs[rng.below(3) as usize];
    if rng.chance(40) {
        k.vlans[0].tpid = 0x8100;
        k.vlans[0].tci = 0x1000 | [10, 20][rng.below(2) as usize] | ((rng.below(2) as u16) << 13);
    }
    k.dl_type = [0x0800, 0x0800, 0x0806, 0x86dd, 0x8847, 0x88e7][rng.below(6) as usize];
    match k.dl_type {
        0x0800 | 0x86dd => {
            k.nw_src = [0x0a00_0001, 0x0a00_0002, 0x0b00_0001][rng.below(3) as usize];
            k.nw_dst = [0x0a00_0001, 0x0a01_0001, 0xc0a8_0001][rng.below(3) as usize];
            k.ipv6_src[15] = rng.below(3) as u8;
            k.nw_proto = [6, 17, 1][rng.below(3) as usize];
            if k.dl_type == 0x86dd && k.nw_proto == 1 {
                k.nw_proto = 58;
            }
            k.nw_ttl = [1, 2, 64][rng.below(3) as usize];
            k.nw_tos = [0, 0xb8][rng.below(2) as usize];
            k.tp_src = [1000, 2000][rng.below(2) as usize];
            k.tp_dst = [80, 443, 53][rng.below(3) as usize];
        }
        0x0806 => {
            k.nw_src = 0x0a00_0001;
            k.nw_dst = [0x0a00_0002, 0x0a00_0003][rng.below(2) as usize];
            k.arp_op = 1 + rng.below(2) as u16;
        }
        0x88e7 => {
            k.pbb_isid = [5, 6][rng.below(2) as usize];
            k.pbb_uca = rng.below(2) as u8;
        }
        _ => {
            k.mpls_lse =
                ([5u32, 6][rng.below(2) as usize] << 12) | 0x100 | [1, 64][rng.below(2) as usize];
        }
    }
    k
}

fn random_flow(rng: &mut Rng, table: u8) -> String {
    let mut m = vec![
        format!("table={table}"),
        format!("priority={}", rng.below(4) * 10),
    ];
    let proto = rng.pick(&[
        "",
        "ip",
        "tcp",
        "udp",
        "arp",
        "mpls",
        "ipv6",
        "icmp",
        "dl_type=0x88e7",
    ]);
    if !proto.is_empty() {
        m.push(proto.to_string());
    }
    if rng.chance(40) {
        m.push(format!("in_port={}", 1 + rng.below(4)));
    }
    if rng.chance(25) {
        m.push(
            rng.pick(&["dl_vlan=10", "dl_vlan=20", "vlan_tci=0x0000/0x1000"])
                .to_string(),
        );
    }
    if rng.chance(20) {
        m.push(
            rng.pick(&["dl_dst=00:00:00:00:00:02", "dl_src=00:00:00:00:00:01"])
                .to_string(),
        );
    }
    if table > 0 && rng.chance(40) {
        m.push(rng.pick(&["reg0=1", "reg0=0", "metadata=0x1"]).to_string());
    }
    match proto {
        "ip" | "tcp" | "udp" if rng.chance(50) => m.push(
            rng.pick(&[
                "nw_src=10.0.0.1",
                "nw_dst=10.0.0.0/8",
                "nw_dst=10.1.0.0/16",
                "nw_ttl=64",
            ])
            .to_string(),
        ),
        "arp" if rng.chance(50) => m.push("arp_tpa=10.0.0.2".to_string()),
        "mpls" if rng.chance(50) => m.push("mpls_label=5".to_string()),
        "dl_type=0x88e7" if rng.chance(50) => {
            m.push(rng.pick(&["pbb_isid=5", "pbb_uca=1"]).to_string())
        }
        "icmp" if rng.chance(50) => m.push("icmp_type=8".to_string()),
        _ => {}
    }
    if proto == "tcp" && rng.chance(50) {
        m.push(rng.pick(&["tp_dst=80", "tp_dst=443"]).to_string());
    }
    let ip = matches!(proto, "ip" | "tcp" | "udp" | "icmp");
    let mut acts: Vec<String> = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let a = match rng.below(20) {
            0 => format!("output:{}", 1 + rng.below(4)),
            1 => "in_port".into(),
            2 => "flood".into(),
            3 => "NORMAL".into(),
            4 => "controller".into(),
            5 => "mod_dl_src:00:00:00:00:00:09".into(),
            6 => rng
                .pick(&["mod_vlan_vid:10", "strip_vlan", "push_vlan:0x8100"])
                .into(),
            7 if ip => rng
                .pick(&["mod_nw_src:9.9.9.9", "dec_ttl", "mod_nw_ttl:7"])
                .into(),
            8 if proto == "tcp" => "set_field:99->tcp_dst".into(),
            9 if table < 3 => format!(
                "resubmit(,{})",
                table + 1 + rng.below(3 - u64::from(table)) as u8
            ),
            10 => rng.pick(&["group:1", "group:2"]).into(),
            11 => "load:0x1->NXM_NX_REG0[]".into(),
            12 => "write_actions(output:2)".into(),
            13 if ip => "push_mpls:0x8847".into(),
            14 => "move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],output:NXM_NX_REG1[0..15]".into(),
            // OpenFlow 1.3 actions beyond Open vSwitch's datapath, clone and
            // output_trunc.
            15 => rng
                .pick(&[
                    "push_pbb:0x88e7",
                    "clone(push_pbb:0x88e7,set_field:7->pbb_isid,output:2)",
                    "output(port=3,max_len=64)",
                    "clone(mod_dl_src:00:00:00:00:00:0a,output:4)",
                ])
                .into(),
            16 if proto == "mpls" => rng
                .pick(&[
                    "copy_ttl_in",
                    "copy_ttl_out",
                    "clone(pop_mpls:0x0800,output:3)",
                    "set_mpls_ttl(9)",
                ])
                .into(),
            17 if proto == "dl_type=0x88e7" => rng
                .pick(&["pop_pbb", "set_field:9->pbb_isid", "set_field:1->pbb_uca"])
                .into(),
            18 if proto == "icmp" => rng
                .pick(&["set_field:0->icmpv4_type", "set_field:3->icmpv4_code"])
                .into(),
            19 if ip => rng
                .pick(&[
                    "clone(push_mpls:0x8847,output:2)",
                    "push_mpls:0x8847,copy_ttl_in",
                ])
                .into(),
            _ => format!("output:{}", 1 + rng.below(4)),
        };
        acts.push(a);
    }
    if table < 3 && rng.chance(40) {
        if rng.chance(50) {
            acts.push("write_metadata:0x1/0x1".into());
        }
        acts.push(format!("goto_table:{}", table + 1));
    }
    format!("{},actions={}", m.join(","), acts.join(","))
}

fn combine(k: &FlowKey, m: &FlowMask, r: &FlowKey) -> FlowKey {
    let mut out = *k;
    for ((o, r), m) in out.words_mut().iter_mut().zip(r.words()).zip(m.words()) {
        *o = (*o & m) | (r & !m);
    }
    out
}

fn run(seed: u64) {
    let mut rng = Rng(seed);
    let mut br = new_bridge();
    br.port_mut(2).expect("port").live = false;
    br.port_mut(1).expect("port").vlan = ofproto::pipeline::normal::PortVlan::access(10);
    br.port_mut(3).expect("port").vlan = ofproto::pipeline::normal::PortVlan::trunk(&[10, 20]);
    br.group_mod(
        &group_mod("group_id=1,type=select,bucket=output:3,bucket=weight:3,output:4"),
        0,
    )
    .expect("group 1");
    br.group_mod(
        &group_mod("group_id=2,type=ff,bucket=watch_port:2,output:2,bucket=watch_port:4,output:4"),
        0,
    )
    .expect("group 2");
    // Some learned MACs for NORMAL.
    let out = ofproto::pipeline::xlate::XlateOutput {
        learned: vec![(10, [0, 0, 0, 0, 0, 2], 3), (0, [0, 0, 0, 0, 0, 1], 4)],
        ..Default::default()
    };
    br.learn(&out, 0);
    let mut n_flows = 0;
    for _ in 0..60 {
        let table = rng.below(4) as u8;
        let text = random_flow(&mut rng, table);
        if br.flow_mod(&flow_mod(&text), 0).is_ok() {
            n_flows += 1;
        }
    }
    // Conjunctive matches in tables 0 and 1.
    for _ in 0..8 {
        let table = rng.below(2);
        let prio = 5 + rng.below(3) * 10;
        let m = rng.pick(&[
            "ip,nw_src=10.0.0.1",
            "ip,nw_src=10.0.0.2",
            "tcp,tp_dst=80",
            "udp",
            "in_port=1",
            "dl_vlan=10",
        ]);
        let clause = 1 + rng.below(2);
        let id = 1 + rng.below(2);
        let text =
            format!("table={table},priority={prio},{m},actions=conjunction({id},{clause}/2)");
        if br.flow_mod(&flow_mod(&text), 0).is_ok() {
            n_flows += 1;
        }
    }
    for id in 1..=2 {
        let text = format!(
            "table={},conj_id={id},actions=output:{}",
            rng.below(2),
            1 + rng.below(4)
        );
        br.flow_mod(&flow_mod(&text), 0).expect("conj_id flow");
    }
    assert!(n_flows > 20, "seed {seed}: only {n_flows} flows accepted");
    for _ in 0..300 {
        let k = random_key(&mut rng);
        let out = br.xlate(&k, 0);
        for _ in 0..10 {
            let k2 = combine(&k, &out.mask, &random_key(&mut rng));
            let out2 = br.xlate(&k2, 0);
            assert_eq!(
                out.actions,
                out2.actions,
                "seed {seed}: mask unsound\nkey  {:?}\nkey2 {:?}\ntrace1:\n{}\ntrace2:\n{}",
                datapath::flow::format::key(&k).to_string(),
                datapath::flow::format::key(&k2).to_string(),
                br.trace(&k, 0),
                br.trace(&k2, 0)
            );
        }
    }
}

#[test]
fn megaflow_masks_are_sound_on_random_pipelines() {
    for seed in 1..=30u64 {
        run(seed * 0x9e37_79b9);
    }
}
