//! `ofproto::text`: flows parsed and printed against the canonical strings
//! `ovs-ofctl parse-flow` reports.

use ofproto::text::parse_flow;

// Generated from ovs-ofctl 3.1 'parse-flow' output (Debian Open vSwitch 3.1).
// Each row: (input, canonical form printed by ovs-ofctl).
const FLOWS: &[(&str, &str)] = &[
    ("in_port=1,actions=output:2", "in_port=1 actions=output:2"),
    (
        "ip,nw_src=192.168.0.0/255.255.0.0,nw_dst=10.1.2.3,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8",
        "ip,nw_src=192.168.0.0/16,nw_dst=10.1.2.3 actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8",
    ),
    (
        "ip,nw_src=10.0.0.0/255.0.255.0,actions=drop",
        "ip,nw_src=10.0.0.0/255.0.255.0 actions=drop",
    ),
    (
        "udp,tp_src=53,tp_dst=0x1000/0xf000,actions=mod_tp_src:99,mod_tp_dst:100",
        "udp,tp_src=53,tp_dst=0x1000/0xf000 actions=mod_tp_src:99,mod_tp_dst:100",
    ),
    ("sctp,tp_dst=9,actions=drop", "sctp,tp_dst=9 actions=drop"),
    (
        "tcp,tcp_flags=+syn-ack,actions=drop",
        "tcp,tcp_flags=+syn-ack actions=drop",
    ),
    (
        "tcp,tcp_flags=0x002/0x012,actions=drop",
        "tcp,tcp_flags=+syn-ack actions=drop",
    ),
    (
        "icmp,icmp_type=8,icmp_code=0,actions=drop",
        "icmp,icmp_type=8,icmp_code=0 actions=drop",
    ),
    (
        "ipv6,ipv6_src=2001:db8::/32,ipv6_dst=::1,ipv6_label=0x12345,actions=drop",
        "ipv6,ipv6_src=2001:db8::/32,ipv6_dst=::1,ipv6_label=0x12345 actions=drop",
    ),
    ("tcp6,tp_dst=22,actions=drop", "tcp6,tp_dst=22 actions=drop"),
    (
        "udp6,tp_src=546,actions=drop",
        "udp6,tp_src=546 actions=drop",
    ),
    (
        "icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:01:02:03:04:05,actions=drop",
        "icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:01:02:03:04:05 actions=drop",
    ),
    (
        "icmp6,icmp_type=136,nd_target=fe80::/64,nd_tll=00:01:02:03:04:05,actions=drop",
        "icmp6,icmp_type=136,nd_target=fe80::/64,nd_tll=00:01:02:03:04:05 actions=drop",
    ),
    (
        "arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8,arp_sha=00:11:22:33:44:55,arp_tha=00:00:00:00:00:00,actions=drop",
        "arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8,arp_op=1,arp_sha=00:11:22:33:44:55,arp_tha=00:00:00:00:00:00 actions=drop",
    ),
    (
        "metadata=0x1234/0xffff,actions=drop",
        "metadata=0x1234/0xffff actions=drop",
    ),
    (
        "reg0=5,reg15=0x10/0xf0,actions=drop",
        "reg0=0x5,reg15=0x10/0xf0 actions=drop",
    ),
    ("tun_id=0x64,actions=drop", "tun_id=0x64 actions=drop"),
    (
        "tun_id=0x64/0xff,actions=drop",
        "tun_id=0x64/0xff actions=drop",
    ),
    (
        "dl_type=0x8847,mpls_label=100,mpls_tc=3,mpls_bos=1,actions=drop",
        "mpls,mpls_label=100,mpls_tc=3,mpls_bos=1 actions=drop",
    ),
    (
        "ct_state=+trk+est,actions=drop",
        "ct_state=+est+trk actions=drop",
    ),
    (
        "ct_state=-new+trk,actions=drop",
        "ct_state=-new+trk actions=drop",
    ),
    (
        "ct_state=0x21/0x3f,actions=drop",
        "ct_state=+new-est-rel-rpl-inv+trk actions=drop",
    ),
    (
        "eth_type=0x88cc,actions=drop",
        "dl_type=0x88cc actions=drop",
    ),
    (
        "dl_type=0x0800,nw_proto=17,actions=drop",
        "udp actions=drop",
    ),
    ("ip,nw_proto=89,actions=drop", "ip,nw_proto=89 actions=drop"),
    ("pkt_mark=0x5,actions=drop", "pkt_mark=0x5 actions=drop"),
    (
        "ct_mark=1,ct_zone=5,actions=drop",
        "ct_zone=5,ct_mark=0x1 actions=drop",
    ),
    (
        "actions=set_field:00:11:22:33:44:55->eth_src",
        "actions=mod_dl_src:00:11:22:33:44:55",
    ),
    (
        "actions=load:0x5->NXM_NX_REG0[0..15]",
        "actions=load:0x5->NXM_NX_REG0[0..15]",
    ),
    ("actions=load:1->reg1[]", "actions=load:0x1->NXM_NX_REG1[]"),
    (
        "actions=move:NXM_NX_REG0[]->NXM_NX_REG1[]",
        "actions=move:NXM_NX_REG0[]->NXM_NX_REG1[]",
    ),
    (
        "actions=move:reg0[0..7]->reg2[8..15]",
        "actions=move:NXM_NX_REG0[0..7]->NXM_NX_REG2[8..15]",
    ),
    (
        "actions=resubmit(,2),resubmit(1,3),resubmit:5",
        "actions=resubmit(,2),resubmit(1,3),resubmit:5",
    ),
    (
        "actions=dec_ttl,mod_dl_src:00:01:02:03:04:05,mod_dl_dst:00:00:00:00:00:01",
        "actions=dec_ttl,mod_dl_src:00:01:02:03:04:05,mod_dl_dst:00:00:00:00:00:01",
    ),
    ("actions=group:5,set_queue:3", "actions=group:5,set_queue:3"),
    ("actions=note:01.02.03", "actions=note:01.02.03.00.00.00"),
    ("actions=CONTROLLER:128", "actions=CONTROLLER:128"),
    ("actions=output:NORMAL", "actions=NORMAL"),
    // ovs-ofctl -O OpenFlow13 (OpenFlow 1.0 prints a load instead).
    ("actions=set_field:5->reg3", "actions=set_field:0x5->reg3"),
    (
        "dl_src=aa:bb:cc:dd:ee:ff,dl_dst=01:80:c2:00:00:00,actions=drop",
        "dl_src=aa:bb:cc:dd:ee:ff,dl_dst=01:80:c2:00:00:00 actions=drop",
    ),
    ("in_port=65534,actions=drop", "in_port=LOCAL actions=drop"),
    (
        "arp,nw_src=1.2.3.4,actions=drop",
        "arp,arp_spa=1.2.3.4 actions=drop",
    ),
    (
        "icmp6,icmp_code=1,actions=drop",
        "icmp6,icmp_code=1 actions=drop",
    ),
    ("priority=0,actions=drop", "priority=0 actions=drop"),
    (
        "priority=65535,ip,actions=drop",
        "priority=65535,ip actions=drop",
    ),
    ("rarp,actions=drop", "rarp actions=drop"),
    (
        "vlan_tci=0x1000/0x1000,actions=drop",
        "vlan_tci=0x1000/0x1000 actions=drop",
    ),
    (
        "vlan_tci=0x0005/0x0fff,actions=drop",
        "vlan_tci=0x0005/0x0fff actions=drop",
    ),
    (
        "dl_vlan=0xffff,actions=drop",
        "vlan_tci=0x0000 actions=drop",
    ),
    (
        "ip,nw_ttl=64,nw_tos=0xfc,actions=drop",
        "ip,nw_tos=252,nw_ttl=64 actions=drop",
    ),
    (
        "ipv6,ipv6_src=2001:db8::1/ffff:ffff::,actions=drop",
        "ipv6,ipv6_src=2001:db8::/32 actions=drop",
    ),
    (
        "priority=100,tcp,nw_src=10.0.0.0/24,tp_dst=80,actions=output:2",
        "priority=100,tcp,nw_src=10.0.0.0/24,tp_dst=80 actions=output:2",
    ),
    (
        "dl_vlan=5,actions=strip_vlan",
        "dl_vlan=5 actions=strip_vlan",
    ),
    (
        "dl_vlan_pcp=3,actions=mod_vlan_pcp:2",
        "dl_vlan_pcp=3 actions=mod_vlan_pcp:2",
    ),
    (
        "vlan_tci=0x1005/0x1fff,actions=FLOOD",
        "dl_vlan=5 actions=FLOOD",
    ),
    (
        "dl_vlan=5,dl_vlan_pcp=3,actions=ALL",
        "dl_vlan=5,dl_vlan_pcp=3 actions=ALL",
    ),
    (
        "vlan_tci=0,actions=CONTROLLER:100",
        "vlan_tci=0x0000 actions=CONTROLLER:100",
    ),
    (
        "ip,nw_tos=32,actions=CONTROLLER",
        "ip,nw_tos=32 actions=CONTROLLER:65535",
    ),
    ("ip,ip_dscp=8,actions=LOCAL", "ip,nw_tos=32 actions=LOCAL"),
    (
        "ip,nw_ecn=2,nw_ttl=4,actions=IN_PORT",
        "ip,nw_ecn=2,nw_ttl=4 actions=IN_PORT",
    ),
    (
        "dl_src=00:11:22:33:44:55/ff:ff:ff:00:00:00,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=1,2,3",
        "dl_src=00:11:22:00:00:00/ff:ff:ff:00:00:00,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=output:1,output:2,output:3",
    ),
    (
        "in_port=CONTROLLER,actions=output:LOCAL",
        "in_port=CONTROLLER actions=LOCAL",
    ),
    ("priority=5,ip actions=1", "priority=5,ip actions=output:1"),
    (
        "dl_type=0x8847,in_port=2,dl_vlan=3,actions=drop",
        "mpls,in_port=2,dl_vlan=3 actions=drop",
    ),
    (
        "tcp6,ipv6_label=1,nw_tos=4,tp_src=1,actions=drop",
        "tcp6,ipv6_label=0x00001,nw_tos=4,tp_src=1 actions=drop",
    ),
    (
        "tun_id=1,tun_src=1.1.1.1,tun_dst=2.2.2.2,actions=drop",
        "tun_id=0x1,tun_src=1.1.1.1,tun_dst=2.2.2.2 actions=drop",
    ),
    (
        "dl_type=0x8847,dl_src=00:00:00:00:00:01,mpls_label=5,actions=drop",
        "mpls,dl_src=00:00:00:00:00:01,mpls_label=5 actions=drop",
    ),
    ("ct_label=0x1,actions=drop", "ct_label=0x1 actions=drop"),
    (
        "actions=meter:1,output:1,clear_actions,write_actions(output:2,group:1),write_metadata:0x1/0xff,goto_table:3",
        "actions=meter:1,output:1,clear_actions,write_actions(output:2,group:1),write_metadata:0x1/0xff,goto_table:3",
    ),
    (
        "actions=write_metadata:0x5,goto_table:1",
        "actions=write_metadata:0x5,goto_table:1",
    ),
];

#[test]
fn table_matches_ovs_ofctl() {
    assert!(FLOWS.len() >= 40);
    let mut bad = Vec::new();
    for (input, want) in FLOWS {
        match parse_flow(input) {
            Ok(f) => {
                let got = f.to_string();
                if got != *want {
                    bad.push(format!("{input}\n   got  {got}\n   want {want}"));
                }
                let again = parse_flow(&got).expect("reparse").to_string();
                assert_eq!(again, got, "round trip of {input}");
            }
            Err(e) => bad.push(format!("{input}\n   error {e}")),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn header_fields() {
    // ovs-ofctl 3.1 parse-flow reads this as "table:3 priority=5,in_port=LOCAL
    // cookie:0x10 idle:10 hard:20 actions=NORMAL"; dump-flows order below.
    let f = parse_flow(
        "table=3,cookie=0x10,idle_timeout=10,hard_timeout=20,priority=5,in_port=LOCAL,actions=NORMAL",
    )
    .unwrap();
    assert_eq!(
        (
            f.table,
            f.cookie,
            f.idle_timeout,
            f.hard_timeout,
            f.priority
        ),
        (3, 0x10, 10, 20, 5)
    );
    let s = f.to_string();
    assert_eq!(
        s,
        "cookie=0x10, table=3, idle_timeout=10, hard_timeout=20, priority=5,in_port=LOCAL actions=NORMAL"
    );
    assert_eq!(parse_flow(&s).unwrap(), f);
    let d = parse_flow("cookie=0x10/0xff,actions=drop").unwrap();
    assert_eq!((d.cookie, d.cookie_mask), (0x10, 0xff));
    assert_eq!(parse_flow(&d.to_string()).unwrap(), d);
}

fn error_of(s: &str) -> String {
    parse_flow(s).unwrap_err().to_string()
}

#[test]
fn error_unknown_field() {
    assert_eq!(error_of("foo=1,actions=drop"), "unknown field 'foo'");
    assert_eq!(error_of("bogus,actions=drop"), "unknown field 'bogus'");
}

#[test]
fn error_bad_ip() {
    assert_eq!(
        error_of("ip,nw_src=1.2.3,actions=drop"),
        "invalid IP address '1.2.3'"
    );
    assert!(error_of("ip,nw_src=1.2.3.4/33,actions=drop").contains("'33'"));
}

#[test]
fn error_bad_ipv6() {
    assert_eq!(
        error_of("ipv6,ipv6_src=zz::1,actions=drop"),
        "invalid IPv6 address 'zz::1'"
    );
}

#[test]
fn error_bad_mac() {
    assert_eq!(
        error_of("dl_src=00:11,actions=drop"),
        "invalid Ethernet address '00:11'"
    );
}

#[test]
fn error_bad_port() {
    assert_eq!(
        error_of("in_port=bogus,actions=drop"),
        "invalid port 'bogus'"
    );
    assert_eq!(error_of("actions=output:"), "output to unknown port ''");
}

#[test]
fn error_unknown_action() {
    assert_eq!(error_of("actions=bogus"), "unknown action 'bogus'");
}

#[test]
fn error_bad_number() {
    assert_eq!(
        error_of("priority=abc,actions=drop"),
        "invalid priority 'abc'"
    );
    assert_eq!(
        error_of("tcp,tp_dst=70000,actions=drop"),
        "value '70000' too large for 2-byte field tcp_dst"
    );
}

#[test]
fn error_flags() {
    assert_eq!(
        error_of("ct_state=+foo,actions=drop"),
        "unknown ct_state flag 'foo'"
    );
}

#[test]
fn error_prerequisite() {
    assert!(error_of("tp_src=80,actions=drop").contains("'tcp_src'"));
}

#[test]
fn error_bit_ranges() {
    assert_eq!(
        error_of("actions=load:1->reg0[5..40]"),
        "'reg0[5..40]': ending bit 40 is not valid because field is only 32 bits wide"
    );
    assert_eq!(
        error_of("actions=move:reg0[]->reg1[0..3]"),
        "'reg0[]->reg1[0..3]': source field is 32 bits wide but destination is 4 bits wide"
    );
}

#[test]
fn error_missing_actions() {
    assert!(error_of("in_port=1").contains("actions="));
}
