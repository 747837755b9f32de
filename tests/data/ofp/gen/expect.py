import sys
exp = {
 'match.txt': {
  'match/vlan_pcp @OF1.3': ['vlan_vid=0x100a', 'vlan_pcp=5'],
  'match/dl_vlan_pcp @OF1.0': ['vlan_vid=0x100a', 'vlan_pcp=5'],
  'match/ipv4_src_masked @OF1.3': ['ipv4_src=10.0.0.0/255.0.0.0', 'eth_type=0x800'],
  'match/nw_src_cidr @OF1.0': ['ipv4_src=10.0.0.0/255.0.0.0'],
  'match/dl_vlan_none @OF1.0': ['vlan_vid=0x0'],
  'match/vlan_vid_present @OF1.3': ['vlan_vid=0x1000/0x1000'],
  'match/tcp_flags @OF1.3': ['tcp_flags=0x2/0x12'],
  'match/tcp_flags @OF1.5': ['tcp_flags=0x2/0x12'],
  'match/actset_output @OF1.3': ['actset_output=0x3'],
  'match/xreg1 @OF1.3': ['reg2=0x1', 'reg3=0x2'],
  'match/reg0 @OF1.5': ['xreg0=0x500000000/0xffffffff00000000'],
  'match/ipv6_dst_masked @OF1.3': ['ipv6_dst=2001:db8::/ffff:ffff::'],
  'match/arp_spa @OF1.0': ['arp_spa=10.0.0.1', 'arp_tpa=10.0.0.0/255.255.0.0'],
  'match/icmp @OF1.0': ['icmpv4_type=8', 'icmpv4_code=0'],
  'match/in_port_local @OF1.3': ['in_port=0xfffffffe'],
  'match/in_port_local @OF1.0': ['in_port=0xfffffffe'],
  'match/nw_ttl @OF1.3': ['nw_ttl=64'],
  'match/nw_tos @OF1.0': ['ip_dscp=46'],
  'match/ipv6_nd_sll @OF1.3': ['ipv6_nd_sll=00:0a:0b:0c:0d:0e', 'icmpv6_type=135'],
  'match/mpls_label @OF1.3': ['mpls_label=1000'],
 },
 'actions.txt': {
  'action/output_controller @OF1.0': ['Output { port: 4294967293, max_len: 128 }'],
  'action/output_controller @OF1.3': ['Output { port: 4294967293, max_len: 128 }'],
  'action/nx_resubmit_table @OF1.3': ['Resubmit { in_port: 4294967288, table: Some(2) }'],
  'action/nx_reg_load @OF1.0': ['RegLoad { dst: reg0[0..31], value: 9 }'],
  'action/nx_reg_move @OF1.0': ['RegMove { src: eth_src[0..47], dst: eth_dst[0..47] }'],
  'action/nx_conjunction @OF1.3': ['Conjunction { id: 1, clause: 1, n_clauses: 3 }'],
  'action/set_field_eth_src @OF1.3': ['SetField(eth_src=00:01:02:03:04:05)'],
  'action/set_dl_src @OF1.0': ['SetField(eth_src=00:01:02:03:04:05)'],
  'action/enqueue @OF1.0': ['Enqueue { port: 1, queue: 2 }'],
  'action/nx_dec_ttl_ids @OF1.3': ['DecTtlIds([1, 2])'],
  'action/nx_group @OF1.0': ['Group(1)'],
  'action/group @OF1.5': ['Group(1)'],
  'instruction/write_metadata @OF1.3': ['WriteMetadata { metadata: 1, mask: 255 }'],
  'instruction/goto_table @OF1.3': ['GotoTable(1)'],
  'instruction/meter @OF1.3': ['Meter(1)'],
  'instruction/meter @OF1.5': ['ApplyActions([Meter(1), Output'],
 },
 'replies.txt': {
  'features_reply (real switch) @OF1.0': ['datapath_id: 2748', 'n_tables: 254', 'name: "p1"', 'name: "br0"'],
  'features_reply (real switch) @OF1.3': ['datapath_id: 2748', 'ports: []'],
  'stats/port_desc_reply (real switch) @OF1.3': ['port_no: 4294967294', 'name: "p2"'],
  'stats/port_desc_reply (real switch) @OF1.5': ['name: "p1", config: 0, state: 4'],
  'packet_in (real switch) @OF1.0': ['in_port=0xfffffffd', 'total_len: 42'],
  'packet_in (real switch) @OF1.3': ['in_port=0xfffffffd', 'reason: 1'],
  'stats/flow_reply (real switch) @OF1.0': ['ipv4_src=10.0.0.0/255.0.0.0', 'SetVlanVid(7)'],
  'stats/flow_reply (real switch) @OF1.3': ['ipv4_src=10.0.0.0/255.0.0.0', 'vlan_vid=0x1007', 'PushVlan(33024)'],
  'stats/desc_reply (real switch) @OF1.3': ['mfr_desc: "Nicira, Inc."'],
  'stats/aggregate_reply (real switch) @OF1.3': ['flow_count: 3'],
  'error_bad_type (real switch) @OF1.3': ['Std(1, 1)'],
  'flow_removed (real switch) @OF1.3': ['reason: 2', 'FlowRemoved'],
 },
 'messages.txt': {
  'flow_mod/add#1 @OF1.0': ['cookie: 4660', 'idle_timeout: 10', 'hard_timeout: 20', 'priority: 7'],
  'flow_mod/add @OF1.3': ['cookie: 4660', 'idle_timeout: 10', 'hard_timeout: 20', 'priority: 7'],
  'flow_mod/modify_strict @OF1.3': ['command: ModifyStrict'],
  'flow_mod/delete_out_port @OF1.0': ['command: Delete', 'out_port: 2'],
  'flow_mod/modify_cookie @OF1.3': ['cookie: 16, cookie_mask: 255'],
  'flow_mod/importance @OF1.4': ['importance: 5'],
  'flow_mod/add_flags @OF1.3': ['flags: 31'],
  'flow_mod/delete @OF1.3': ['table_id: 255', 'command: Delete'],
  'packet_out/in_port @OF1.5': ['in_port: 3', 'Output { port: 4294967290'],
  'packet_out/output @OF1.0': ['in_port: 4294967293'],
 },
}
base = sys.argv[1]
for f, d in exp.items():
    p = base + f
    lines = [l for l in open(p).read().split('\n') if not l.startswith('?= ')]
    out = []; seen = set()
    for l in lines:
        out.append(l)
        if l.startswith('## ') and l[3:] in d:
            seen.add(l[3:])
            for e in d[l[3:]]:
                out.append('?= ' + e)
    missing = set(d) - seen
    if missing: print('missing', f, missing)
    open(p, 'w').write('\n'.join(out))
