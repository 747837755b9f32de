//! `learn` written in ovs-ofctl syntax (the codec's typed action) is
//! accepted at flow_mod time and learns a flow on the upcall path.

use datapath::flow::FlowKey;
use ofproto::bridge::Bridge;
use ofproto::ofp::{FlowMod, FlowModCommand};
use ofproto::pipeline::xlate::PortInfo;

fn add(br: &mut Bridge, text: &str) {
    let f = ofproto::text::parse_flow(text).unwrap();
    let mut fm = FlowMod::new(FlowModCommand::Add);
    fm.table_id = f.table;
    fm.priority = f.priority;
    fm.match_ = f.match_;
    fm.instructions = f.instructions;
    br.flow_mod(&fm, 0).unwrap();
}

#[test]
fn typed_learn_is_checked_and_learns() {
    let mut br = Bridge::new("br");
    for p in 1..=2 {
        br.add_port(PortInfo::new(p, p, &format!("p{p}")));
    }
    add(
        &mut br,
        "table=0,priority=1,actions=learn(table=1,priority=7,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:2",
    );
    let key = FlowKey {
        in_port: 1,
        dl_src: [0, 0, 0, 0, 0, 0x42],
        dl_dst: [0, 0, 0, 0, 0, 0x99],
        ..FlowKey::default()
    };
    let out = br.upcall(&key, 10);
    assert!(out.error.is_none());
    let learned = br.tables().flows(1);
    assert_eq!(learned.len(), 1, "no flow learned in table 1");
    assert_eq!(learned[0].priority, 7);
}
