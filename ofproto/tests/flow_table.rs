//! flow_mod semantics, timeouts, FLOW_REMOVED, counters, bundles, group
//! and meter deletion, packet-out and MAC learning, through `Bridge`.

mod common;

use common::*;
use datapath::actions::Action as Dp;
use datapath::flow::FlowKey;
use ofproto::bridge::Bridge;
use ofproto::ofp::error::ErrorKind;
use ofproto::ofp::matching::Match;
use ofproto::ofp::messages::{FlowModCommand, PacketOut, flow_mod_flags};
use ofproto::ofp::oxm::Field;
use ofproto::ofp::port::ports;
use ofproto::ofp::{Action, FlowMod, Instruction};
use ofproto::pipeline::FlowRemovedReason;

fn actions(br: &Bridge, packet: &str) -> String {
    let out = br.xlate(&packet_key(packet), 0);
    datapath::actions::ActionList(&out.actions).to_string()
}

fn cmd(s: &str, c: FlowModCommand) -> FlowMod {
    let mut fm = flow_mod(s);
    fm.command = c;
    fm
}

#[test]
fn add_replaces_same_match_and_priority() {
    let mut br = new_bridge();
    br.flow_mod(&flow_mod("ip,actions=output:2"), 0).unwrap();
    br.flow_mod(&flow_mod("ip,actions=output:3"), 0).unwrap();
    assert_eq!(br.tables().n_flows(), 1);
    assert_eq!(actions(&br, "in_port=1,ip"), "3");
    // Different priority: a second flow.
    br.flow_mod(&flow_mod("priority=5,ip,actions=output:4"), 0)
        .unwrap();
    assert_eq!(br.tables().n_flows(), 2);
}

#[test]
fn add_keeps_counters_unless_reset_counts() {
    let mut br = new_bridge();
    br.flow_mod(&flow_mod("ip,actions=output:2"), 0).unwrap();
    br.xlate(&packet_key("in_port=1,ip"), 0).credit(3, 300, 10);
    br.flow_mod(&flow_mod("ip,actions=output:3"), 100).unwrap();
    let f = &br.tables().flows(0)[0];
    assert_eq!(
        f.counters
            .packets
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    assert_eq!(f.created_ms, 100, "duration restarts");
    br.flow_mod(&flow_mod("reset_counts,ip,actions=output:3"), 200)
        .unwrap();
    let f = &br.tables().flows(0)[0];
    assert_eq!(
        f.counters
            .packets
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn check_overlap() {
    let mut br = new_bridge();
    br.flow_mod(
        &flow_mod("priority=10,ip,nw_src=10.0.0.0/8,actions=output:2"),
        0,
    )
    .unwrap();
    // Overlapping (a packet from 10.1.1.1 to 1.1.1.1 matches both).
    assert_eq!(
        br.flow_mod(
            &flow_mod("check_overlap,priority=10,ip,nw_dst=1.1.1.1,actions=output:3"),
            0
        ),
        Err(ErrorKind::FlowModFailedOverlap)
    );
    // Disjoint, or another priority: fine.
    br.flow_mod(
        &flow_mod("check_overlap,priority=10,ip,nw_src=11.0.0.0/8,actions=output:3"),
        0,
    )
    .unwrap();
    br.flow_mod(
        &flow_mod("check_overlap,priority=11,ip,actions=output:3"),
        0,
    )
    .unwrap();
}

#[test]
fn modify_loose_strict_and_cookie_mask() {
    let mut br = new_bridge();
    br.flow_mod(
        &flow_mod("cookie=0x1,ip,nw_src=1.1.1.1,actions=output:2"),
        0,
    )
    .unwrap();
    br.flow_mod(
        &flow_mod("cookie=0x2,ip,nw_src=2.2.2.2,actions=output:2"),
        0,
    )
    .unwrap();
    br.flow_mod(&flow_mod("cookie=0x1,priority=7,ip,actions=output:2"), 0)
        .unwrap();

    // Loose modify of everything "ip" with cookie 0x1.
    let mut fm = cmd("ip,actions=output:3", FlowModCommand::Modify);
    fm.cookie = 1;
    fm.cookie_mask = u64::MAX;
    br.flow_mod(&fm, 0).unwrap();
    assert_eq!(actions(&br, "in_port=1,ip,nw_src=1.1.1.1"), "3");
    assert_eq!(actions(&br, "in_port=1,ip,nw_src=2.2.2.2"), "2");
    assert_eq!(actions(&br, "in_port=1,ip,nw_src=3.3.3.3"), "3");

    // Strict modify touches only the exact match and priority.
    let fm = cmd(
        "ip,nw_src=2.2.2.2,actions=output:4",
        FlowModCommand::ModifyStrict,
    );
    br.flow_mod(&fm, 0).unwrap();
    assert_eq!(actions(&br, "in_port=1,ip,nw_src=2.2.2.2"), "4");
    let fm = cmd(
        "priority=8,ip,actions=output:1",
        FlowModCommand::ModifyStrict,
    );
    br.flow_mod(&fm, 0).unwrap();
    assert_eq!(actions(&br, "in_port=2,ip,nw_src=3.3.3.3"), "3");

    // Modify keeps the cookie; no match adds nothing (OpenFlow 1.1+).
    let flows = br.tables().flows(0);
    assert!(flows.iter().any(|f| f.cookie == 2));
    let fm = cmd("arp,actions=output:1", FlowModCommand::Modify);
    br.flow_mod(&fm, 0).unwrap();
    assert_eq!(br.tables().n_flows(), 3);
}

#[test]
fn delete_filters_and_flow_removed() {
    let mut br = new_bridge();
    br.flow_mod(
        &flow_mod("send_flow_rem,cookie=0x10,ip,nw_src=1.1.1.1,actions=output:2"),
        0,
    )
    .unwrap();
    br.flow_mod(&flow_mod("ip,nw_src=2.2.2.2,actions=output:3"), 0)
        .unwrap();
    br.flow_mod(&flow_mod("table=3,ip,actions=output:2"), 0)
        .unwrap();
    br.xlate(&packet_key("in_port=1,ip,nw_src=1.1.1.1"), 0)
        .credit(2, 128, 500);

    // out_port filter: only flows that output to 3.
    let mut fm = cmd("ip,actions=drop", FlowModCommand::Delete);
    fm.out_port = 3;
    br.flow_mod(&fm, 1000).unwrap();
    assert_eq!(br.tables().n_flows(), 2);

    // Delete across all tables; the SEND_FLOW_REM flow is reported.
    let mut fm = cmd("ip,actions=drop", FlowModCommand::Delete);
    fm.table_id = 255;
    let removed = br.flow_mod(&fm, 2500).unwrap();
    assert_eq!(br.tables().n_flows(), 0);
    assert_eq!(removed.len(), 1);
    let r = &removed[0];
    assert_eq!(r.reason, FlowRemovedReason::Delete as u8);
    assert_eq!(r.cookie, 0x10);
    assert_eq!((r.packet_count, r.byte_count), (2, 128));
    assert_eq!((r.duration_sec, r.duration_nsec), (2, 500_000_000));
}

#[test]
fn delete_strict_and_cookie_mask() {
    let mut br = new_bridge();
    br.flow_mod(&flow_mod("cookie=0xa1,ip,actions=output:2"), 0)
        .unwrap();
    br.flow_mod(&flow_mod("cookie=0xb1,priority=5,ip,actions=output:2"), 0)
        .unwrap();
    let mut fm = cmd("ip,actions=drop", FlowModCommand::Delete);
    fm.cookie = 0xb0;
    fm.cookie_mask = 0xf0;
    br.flow_mod(&fm, 0).unwrap();
    let left = br.tables().flows(0);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].cookie, 0xa1);
    // Strict needs the priority too.
    let fm = cmd("priority=5,ip,actions=drop", FlowModCommand::DeleteStrict);
    br.flow_mod(&fm, 0).unwrap();
    assert_eq!(br.tables().n_flows(), 1);
    let fm = cmd("ip,actions=drop", FlowModCommand::DeleteStrict);
    br.flow_mod(&fm, 0).unwrap();
    assert_eq!(br.tables().n_flows(), 0);
}

#[test]
fn delete_out_group_filter() {
    let mut br = new_bridge();
    br.group_mod(&group_mod("group_id=1,type=all,bucket=output:2"), 0)
        .unwrap();
    br.flow_mod(&flow_mod("ip,actions=group:1"), 0).unwrap();
    br.flow_mod(&flow_mod("arp,actions=output:2"), 0).unwrap();
    let mut fm = cmd("actions=drop", FlowModCommand::Delete);
    fm.out_group = 1;
    br.flow_mod(&fm, 0).unwrap();
    let left = br.tables().flows(0);
    assert_eq!(left.len(), 1);
    assert!(!left[0].uses_group(1));
}

#[test]
fn timeouts_expire_with_flow_removed() {
    let mut br = new_bridge();
    br.flow_mod(
        &flow_mod("send_flow_rem,idle_timeout=10,ip,actions=output:2"),
        0,
    )
    .unwrap();
    br.flow_mod(
        &flow_mod("send_flow_rem,hard_timeout=20,arp,actions=output:2"),
        0,
    )
    .unwrap();
    br.flow_mod(&flow_mod("idle_timeout=5,ipv6,actions=output:2"), 0)
        .unwrap();
    // A hit at 8 s keeps the idle flow alive until 18 s.
    br.xlate(&packet_key("in_port=1,ip"), 8000)
        .credit(1, 60, 8000);
    let removed = br.expire(9_000);
    assert!(removed.is_empty());
    assert_eq!(br.tables().n_flows(), 2, "the ipv6 flow idled out silently");
    let removed = br.expire(18_000);
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].reason, FlowRemovedReason::IdleTimeout as u8);
    let removed = br.expire(20_000);
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].reason, FlowRemovedReason::HardTimeout as u8);
    assert_eq!(br.tables().n_flows(), 0);
}

#[test]
fn table_255_only_for_delete_and_bad_prereq() {
    let mut br = new_bridge();
    let mut fm = flow_mod("actions=output:2");
    fm.table_id = 255;
    assert_eq!(br.flow_mod(&fm, 0), Err(ErrorKind::FlowModFailedBadTableId));
    // tp_dst without tcp, built directly (the text syntax refuses it).
    let mut fm = flow_mod("actions=output:2");
    let mut m = Match::new();
    m.set_u64(Field::TcpDst, 80);
    fm.match_ = m;
    assert_eq!(br.flow_mod(&fm, 0), Err(ErrorKind::BadMatchBadPrereq));
    // Unknown experimenter instruction.
    let mut fm = flow_mod("actions=output:2");
    fm.instructions.push(Instruction::Experimenter {
        experimenter: 1,
        data: vec![],
    });
    assert_eq!(br.flow_mod(&fm, 0), Err(ErrorKind::BadInstructionUnsupInst));
}

#[test]
fn bundle_commit_is_atomic_and_ordered() {
    let mut br = new_bridge();
    br.flow_mod(&flow_mod("ip,actions=output:2"), 0).unwrap();

    // A bundle whose third flow_mod fails changes nothing.
    br.bundle_open(1, 3).unwrap();
    br.bundle_add(1, flow_mod("ip,actions=output:3")).unwrap();
    br.bundle_add(1, flow_mod("arp,actions=output:3")).unwrap();
    br.bundle_add(1, flow_mod("actions=output:0")).unwrap();
    assert_eq!(
        br.bundle_commit(1, 0),
        Err((2, ErrorKind::BadActionBadOutPort))
    );
    assert_eq!(br.tables().n_flows(), 1);
    assert_eq!(actions(&br, "in_port=1,ip"), "2");
    assert_eq!(actions(&br, "in_port=1,arp"), "drop");

    // Ordered: add then delete within one bundle.
    br.bundle_open(2, 3).unwrap();
    br.bundle_add(2, flow_mod("arp,actions=output:3")).unwrap();
    br.bundle_add(2, cmd("ip,actions=drop", FlowModCommand::Delete))
        .unwrap();
    br.bundle_add(2, flow_mod("ip,actions=output:4")).unwrap();
    br.bundle_commit(2, 0).unwrap();
    assert_eq!(actions(&br, "in_port=1,arp"), "3");
    assert_eq!(actions(&br, "in_port=1,ip"), "4");
    assert_eq!(br.tables().n_flows(), 2);

    // Discard and unknown ids.
    br.bundle_open(3, 0).unwrap();
    assert!(br.bundle_open(3, 0).is_err());
    br.bundle_add(3, flow_mod("actions=output:1")).unwrap();
    br.bundle_discard(3).unwrap();
    assert!(br.bundle_commit(3, 0).is_err());
    assert_eq!(br.tables().n_flows(), 2);
}

#[test]
fn group_delete_removes_referring_flows() {
    let mut br = new_bridge();
    br.group_mod(&group_mod("group_id=1,type=all,bucket=output:2"), 0)
        .unwrap();
    br.group_mod(&group_mod("group_id=2,type=indirect,bucket=group:1"), 0)
        .unwrap();
    br.flow_mod(&flow_mod("send_flow_rem,ip,actions=group:1"), 0)
        .unwrap();
    br.flow_mod(&flow_mod("arp,actions=output:3"), 0).unwrap();
    // Group 2 chains to group 1: not deletable.
    let mut del = group_mod("group_id=1,type=all");
    del.command = ofproto::pipeline::group::GroupModCommand::Delete;
    assert_eq!(
        br.group_mod(&del, 0),
        Err(ErrorKind::GroupModFailedChainedGroup)
    );
    let mut del2 = group_mod("group_id=2,type=all");
    del2.command = ofproto::pipeline::group::GroupModCommand::Delete;
    br.group_mod(&del2, 0).unwrap();
    let removed = br.group_mod(&del, 0).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].reason, FlowRemovedReason::GroupDelete as u8);
    assert_eq!(br.tables().n_flows(), 1);
    assert_eq!(actions(&br, "in_port=1,ip"), "drop");
}

#[test]
fn group_and_meter_stats() {
    let mut br = new_bridge();
    br.group_mod(
        &group_mod("group_id=1,type=all,bucket=output:2,bucket=output:3"),
        0,
    )
    .unwrap();
    br.meter_mod(&meter_mod("meter=1,pktps,band=type=drop,rate=10"), 0)
        .unwrap();
    br.flow_mod(&flow_mod("ip,actions=meter:1,group:1"), 0)
        .unwrap();
    let out = br.xlate(&packet_key("in_port=1,ip"), 0);
    out.credit(1, 100, 0);
    let gs = br.group_stats(3000);
    assert_eq!(gs[0].ref_count, 1);
    assert_eq!((gs[0].packet_count, gs[0].byte_count), (2, 200));
    assert_eq!(gs[0].buckets, vec![(1, 100), (1, 100)]);
    assert_eq!(gs[0].duration_sec, 3);
    let ms = br.meter_stats(0);
    assert_eq!(ms[0].flow_count, 1);
    // Deleting the meter removes its flows.
    let mut mm = meter_mod("meter=1,pktps,band=type=drop,rate=10");
    mm.command = ofproto::pipeline::meter::MeterModCommand::Delete;
    br.meter_mod(&mm, 0).unwrap();
    assert_eq!(br.tables().n_flows(), 0);
}

#[test]
fn table_stats_count_lookups_and_matches() {
    let mut br = new_bridge();
    br.flow_mod(&flow_mod("ip,actions=goto_table:1"), 0)
        .unwrap();
    br.xlate(&packet_key("in_port=1,ip"), 0);
    br.xlate(&packet_key("in_port=1,arp"), 0);
    let st = br.table_stats();
    assert_eq!(st.len(), 255);
    assert_eq!(
        (st[0].active_count, st[0].lookup_count, st[0].matched_count),
        (1, 2, 1)
    );
    assert_eq!((st[1].lookup_count, st[1].matched_count), (1, 0));
}

fn eth_frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x88, 0xb5]);
    f.extend_from_slice(&[0u8; 46]);
    f
}

#[test]
fn packet_out_runs_actions_and_table() {
    let mut br = new_bridge();
    br.flow_mod(&flow_mod("in_port=1,actions=output:3"), 0)
        .unwrap();
    let mut po = PacketOut {
        buffer_id: ofproto::ofp::messages::NO_BUFFER,
        in_port: 1,
        metadata: Match::new(),
        actions: vec![
            Action::Output {
                port: 2,
                max_len: 0,
            },
            Action::Output {
                port: ports::TABLE,
                max_len: 0,
            },
        ],
        data: eth_frame([0, 0, 0, 0, 0, 2], [0, 0, 0, 0, 0, 1]),
    };
    let (key, out) = br.packet_out(&po, 0).unwrap();
    assert_eq!(key.in_port, 1);
    assert_eq!(out.actions, vec![Dp::Output(2), Dp::Output(3)]);
    // Errors: buffered packets, bad in_port, bad output port.
    po.buffer_id = 7;
    assert_eq!(
        br.packet_out(&po, 0).err(),
        Some(ErrorKind::BadRequestBufferUnknown)
    );
    po.buffer_id = ofproto::ofp::messages::NO_BUFFER;
    po.in_port = 0;
    assert_eq!(
        br.packet_out(&po, 0).err(),
        Some(ErrorKind::BadRequestBadPort)
    );
    po.in_port = ports::CONTROLLER;
    po.actions = vec![Action::Output {
        port: 0,
        max_len: 0,
    }];
    assert_eq!(
        br.packet_out(&po, 0).err(),
        Some(ErrorKind::BadActionBadOutPort)
    );
    // Output to CONTROLLER from a packet-out is reason ACTION.
    po.actions = vec![Action::Output {
        port: ports::CONTROLLER,
        max_len: 64,
    }];
    let (_, out) = br.packet_out(&po, 0).unwrap();
    let c = out.controller[0];
    assert_eq!((c.reason, c.max_len), (1, 64));
    let Dp::Userspace { userdata } = out.actions[0] else {
        panic!("expected userspace");
    };
    assert_eq!(br.controller_output(userdata), Some(c));
}

#[test]
fn upcall_learns_and_fdb_show() {
    let mut br = new_bridge();
    br.port_mut(1).unwrap().vlan = ofproto::pipeline::normal::PortVlan::access(10);
    br.port_mut(2).unwrap().vlan = ofproto::pipeline::normal::PortVlan::access(10);
    br.flow_mod(&flow_mod("actions=NORMAL"), 0).unwrap();
    // 1 -> 2: flood, learn 01 on port 1.
    let k1 = packet_key("in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02");
    let out = br.upcall(&k1, 1000);
    assert_eq!(out.learned, vec![(10, [0, 0, 0, 0, 0, 1], 1)]);
    // 2 -> 1: forwarded to the learned port only.
    let k2 = packet_key("in_port=2,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:01");
    let out = br.upcall(&k2, 2000);
    assert_eq!(out.actions, vec![Dp::Output(1)]);
    assert_eq!(
        br.fdb_show(5000),
        " port  VLAN  MAC                Age\n\
         \x20   1    10  00:00:00:00:00:01    4\n\
         \x20   2    10  00:00:00:00:00:02    3\n"
    );
    // A trace never learns.
    let before = br.fdb_show(5000);
    let k3 = packet_key("in_port=1,dl_src=00:00:00:00:00:03,dl_dst=00:00:00:00:00:02");
    let _ = br.trace(&k3, 5000);
    assert_eq!(br.fdb_show(5000), before);
    assert_eq!(br.fdb_flush(), "table successfully flushed");
    assert_eq!(br.fdb_show(5000), " port  VLAN  MAC                Age\n");
}

#[test]
fn flow_key_default_is_unchanged_by_xlate() {
    // Translation reads the bridge only: repeated runs agree.
    let mut br = new_bridge();
    br.flow_mod(
        &flow_mod("actions=mod_dl_src:00:00:00:00:00:09,output:2"),
        0,
    )
    .unwrap();
    let k = FlowKey::ZERO;
    let a = br.xlate(&k, 0);
    let b = br.xlate(&k, 0);
    assert_eq!(a.actions, b.actions);
    assert_eq!(a.mask, b.mask);
    let _ = flow_mod_flags::SEND_FLOW_REM;
}

#[test]
fn flow_and_aggregate_stats() {
    use ofproto::ofp::multipart::FlowStatsRequest;
    let mut br = new_bridge();
    br.flow_mod(
        &flow_mod("cookie=0x1,ip,nw_src=1.1.1.1,actions=output:2"),
        0,
    )
    .unwrap();
    br.flow_mod(&flow_mod("cookie=0x2,ip,actions=output:3"), 0)
        .unwrap();
    br.flow_mod(&flow_mod("table=2,arp,actions=output:2"), 0)
        .unwrap();
    br.xlate(&packet_key("in_port=1,ip,nw_src=1.1.1.1"), 0)
        .credit(4, 400, 0);
    let all = FlowStatsRequest::default();
    assert_eq!(br.flow_stats(&all, 1500).unwrap().len(), 3);
    let agg = br.aggregate_stats(&all, 0).unwrap();
    assert_eq!(
        (agg.flow_count, agg.packet_count, agg.byte_count),
        (3, 4, 400)
    );
    // Loose match: "ip" selects both ip flows, out_port 2 only one.
    let mut req = FlowStatsRequest {
        match_: flow_mod("ip,actions=drop").match_,
        ..Default::default()
    };
    assert_eq!(br.flow_stats(&req, 0).unwrap().len(), 2);
    req.out_port = 2;
    let s = br.flow_stats(&req, 1500).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].cookie, s[0].packet_count, s[0].duration_sec),
        (1, 4, 1)
    );
    // Cookie filter and table.
    let req = FlowStatsRequest {
        cookie: 2,
        cookie_mask: 0xf,
        ..Default::default()
    };
    assert_eq!(br.flow_stats(&req, 0).unwrap()[0].cookie, 2);
    let req = FlowStatsRequest {
        table_id: 2,
        ..Default::default()
    };
    assert_eq!(br.flow_stats(&req, 0).unwrap().len(), 1);
    assert_eq!(br.table_stats_reply()[0].active_count, 2);
    let tf = br.table_features();
    assert_eq!(tf.len(), 255);
    assert_eq!(tf[3].next_tables[0], 4);
    assert!(tf[0].set_fields.contains(&Field::Ipv4Src));
}

#[test]
fn packet_in_message() {
    let mut br = new_bridge();
    br.flow_mod(
        &flow_mod("cookie=0x9,table=0,actions=load:0x5->NXM_NX_REG2[],controller:10"),
        0,
    )
    .unwrap();
    let frame = eth_frame([0, 0, 0, 0, 0, 2], [0, 0, 0, 0, 0, 1]);
    let key = datapath::flow::extract(&frame, 3);
    let out = br.xlate(&key, 0);
    let pi = br.packet_in(&out.controller[0], &out.final_flow, &frame);
    assert_eq!(pi.reason, 1);
    assert_eq!(pi.cookie, 9);
    assert_eq!(pi.data, frame[..10].to_vec());
    assert_eq!(usize::from(pi.total_len), frame.len());
    assert_eq!(pi.buffer_id, ofproto::ofp::messages::NO_BUFFER);
    assert_eq!(pi.match_.exact(Field::InPort), Some(3));
    assert_eq!(pi.match_.exact(Field::Reg(2)), Some(5));
}

fn nx_ref(f: Field, ofs: u16, n_bits: u16) -> ofproto::ofp::actions::FieldRef {
    let info = f.info();
    ofproto::ofp::actions::FieldRef {
        header: ofproto::ofp::oxm::nxm_header(info.nxm.expect("NXM header"), false, info.width),
        ofs,
        n_bits,
    }
}

#[test]
fn learn_action_adds_flows() {
    use ofproto::pipeline::learn::{Learn, LearnDst, LearnSpec, LearnSrc, encode};
    let learn = Learn {
        idle_timeout: 0,
        hard_timeout: 60,
        priority: 100,
        cookie: 0x77,
        flags: 0,
        table_id: 1,
        specs: vec![
            // Match the VLAN ID of the packet.
            LearnSpec {
                n_bits: 12,
                src: LearnSrc::Field(nx_ref(Field::VlanTci, 0, 12)),
                dst: LearnDst::Match(nx_ref(Field::VlanTci, 0, 12)),
            },
            // eth_dst = this packet's eth_src.
            LearnSpec {
                n_bits: 48,
                src: LearnSrc::Field(nx_ref(Field::EthSrc, 0, 48)),
                dst: LearnDst::Match(nx_ref(Field::EthDst, 0, 48)),
            },
            // load 0x1 -> reg5[0..3].
            LearnSpec {
                n_bits: 4,
                src: LearnSrc::Immediate(1),
                dst: LearnDst::Load(nx_ref(Field::Reg(5), 0, 4)),
            },
            // output to this packet's in_port.
            LearnSpec {
                n_bits: 16,
                src: LearnSrc::Field(nx_ref(Field::NxInPort, 0, 16)),
                dst: LearnDst::Output,
            },
        ],
    };
    let data = encode(&learn);
    assert_eq!(Learn::decode(&data), Some(Ok(learn.clone())));
    let mut br = new_bridge();
    let mut fm = flow_mod("actions=resubmit(,1)");
    let Instruction::ApplyActions(acts) = &mut fm.instructions[0] else {
        panic!("apply-actions expected");
    };
    acts.insert(
        0,
        Action::Experimenter {
            experimenter: ofproto::ofp::error::NX_VENDOR_ID,
            data,
        },
    );
    br.flow_mod(&fm, 0).unwrap();
    br.flow_mod(&flow_mod("table=1,priority=0,actions=flood"), 0)
        .unwrap();

    // First packet from port 1: floods and learns.
    let k1 = packet_key("in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02");
    let trace = br.trace(&k1, 0);
    assert!(trace.contains("-> learned table=1,"), "{trace}");
    let out = br.upcall(&k1, 0);
    assert_eq!(
        out.actions,
        vec![Dp::Output(2), Dp::Output(3), Dp::Output(4), Dp::Output(100)]
    );
    assert_eq!(out.mask.dl_src, [0xff; 6], "learn read eth_src");
    let learned = br.tables().flows(1);
    assert_eq!(learned.len(), 2);
    assert_eq!(
        (
            learned[0].priority,
            learned[0].cookie,
            learned[0].hard_timeout
        ),
        (100, 0x77, 60)
    );
    // Reply from port 2: the learned flow sends it to port 1.
    let k2 = packet_key("in_port=2,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:01");
    assert_eq!(br.upcall(&k2, 0).actions, vec![Dp::Output(1)]);
    // A different VLAN does not match the learned flow.
    let k3 = packet_key("in_port=2,dl_vlan=7,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:01");
    assert_ne!(br.xlate(&k3, 0).actions, vec![Dp::Output(1)]);

    // Malformed learn actions are refused.
    let mut bad = encode(&learn);
    bad.truncate(30);
    let mut fm = flow_mod("actions=drop");
    fm.instructions = vec![Instruction::ApplyActions(vec![Action::Experimenter {
        experimenter: ofproto::ofp::error::NX_VENDOR_ID,
        data: bad,
    }])];
    assert!(br.flow_mod(&fm, 0).is_err());
}

#[test]
fn generation_and_revalidation() {
    let mut br = new_bridge();
    let g0 = br.generation();
    br.flow_mod(&flow_mod("ip,actions=output:2"), 0).unwrap();
    assert!(br.generation() > g0);
    let k = packet_key("in_port=1,ip");
    let out = br.xlate(&k, 0);
    assert!(br.revalidate(&k, &out.mask, &out.actions, 0));
    // A refused flow_mod changes nothing.
    let g1 = br.generation();
    assert!(br.flow_mod(&flow_mod("actions=output:0"), 0).is_err());
    assert_eq!(br.generation(), g1);
    // A new rule invalidates the cached translation.
    br.flow_mod(&flow_mod("priority=40000,ip,actions=output:3"), 0)
        .unwrap();
    assert!(br.generation() > g1);
    assert!(!br.revalidate(&k, &out.mask, &out.actions, 0));
    // So does a port going down under a fast-failover group.
    br.group_mod(
        &group_mod("group_id=1,type=ff,bucket=watch_port:2,output:2,bucket=watch_port:3,output:3"),
        0,
    )
    .unwrap();
    br.flow_mod(&flow_mod("priority=50000,ip,actions=group:1"), 0)
        .unwrap();
    let out = br.xlate(&k, 0);
    assert_eq!(out.actions, vec![Dp::Output(2)]);
    let g2 = br.generation();
    br.port_mut(2).unwrap().live = false;
    assert!(br.generation() > g2);
    assert!(!br.revalidate(&k, &out.mask, &out.actions, 0));
}
