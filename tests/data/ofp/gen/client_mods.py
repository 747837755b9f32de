# Talks to a real ovs-vswitchd (br0.mgmt, ports p1 and p2) and records its
# replies to the group, meter, port/queue statistics, role, async, queue and
# bundle requests of ../mods.txt as golden case lines.
#   python3 client_mods.py $RUNDIR ../mods.txt replies_mods.cases
import socket, struct, sys, time, subprocess
D = sys.argv[1]; MSGS = sys.argv[2]; OUT = sys.argv[3]
gold = {}
name = None
for l in open(MSGS):
    if l.startswith('## '): name = l[3:].strip(); gold[name] = ''
    elif name and l.strip() and not l.startswith('#') and not l.startswith('?='): gold[name] += l.strip()
def m(v, t, body=b'', xid=0x99):
    return struct.pack('!BBHI', v, t, 8 + len(body), xid) + body
def recv_all(s, t=0.5):
    s.settimeout(t); buf = b''
    try:
        while True:
            x = s.recv(65536)
            if not x: break
            buf += x
    except socket.timeout: pass
    out = []
    while len(buf) >= 8:
        l = struct.unpack('!H', buf[2:4])[0]; out.append(buf[:l]); buf = buf[l:]
    return out
names = {1: 'OF1.0', 4: 'OF1.3', 5: 'OF1.4', 6: 'OF1.5'}
vers = {1: 'OpenFlow10', 4: 'OpenFlow13', 5: 'OpenFlow14', 6: 'OpenFlow15'}
ofctl = lambda v, *a: subprocess.run(['ovs-ofctl', '-O', vers[v], a[0], f'unix:{D}/br0.mgmt'] + list(a[1:]), capture_output=True)
lines = []
for v in (1, 4, 5, 6):
    ofctl(4 if v == 1 else v, 'del-groups'); ofctl(4 if v == 1 else v, 'del-meters')
    if v != 1:
        ofctl(v, 'add-group', 'group_id=1,type=all,bucket=output:1,bucket=output:2')
        ofctl(v, 'add-group', 'group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=mod_vlan_vid:7,output:2')
        ofctl(v, 'add-group', 'group_id=4,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,actions=output:2')
        ofctl(v, 'add-meter', 'meter=1,kbps,band=type=drop,rate=1000')
        ofctl(v, 'add-meter', 'meter=2,pktps,burst,stats,band=type=drop,rate=100,burst_size=10')
    s = socket.socket(socket.AF_UNIX); s.connect(f'{D}/br0.mgmt')
    s.sendall(m(v, 0, b'', 1)); recv_all(s, 0.3)
    n = names[v]
    reqs = ['stats/port_stats_request', 'stats/port_stats_request_one', 'stats/queue_stats_request', 'queue_get_config']
    if v != 1:
        reqs += ['stats/group_desc_request', 'stats/group_stats_request', 'stats/group_features_request',
                 'stats/meter_config_request', 'stats/meter_stats_request', 'stats/meter_features_request',
                 'role_request_master-hand', 'role_request_nochange-hand', 'get_async_request-hand']
    if v >= 5:
        reqs += ['stats/table_desc_request', 'bundle_discard-hand']
    for r in reqs:
        key = f'{r} @{n}'
        if key not in gold: continue
        s.sendall(bytes.fromhex(gold[key]))
        for rep in recv_all(s, 0.4):
            rn = r.replace('_request', '_reply').replace('-hand', '')
            if rn == r: rn = r + '_reply'
            lines.append(f'{rn} (real switch)|{ {1: 10, 4: 13, 5: 14, 6: 15}[v]}|hex|{rep.hex()}')
    s.close()
# Nicira statistics in 1.0: NXT_SET_FLOW_FORMAT(nxm), then NXST_FLOW and
# NXST_AGGREGATE (requests from nx.txt) over flows with NXM-only fields.
nx = {}
name = None
for l in open(MSGS.replace('mods.txt', 'nx.txt')):
    if l.startswith('## '): name = l[3:].strip(); nx[name] = ''
    elif name and l.strip() and not l.startswith('#') and not l.startswith('?='): nx[name] += l.strip()
subprocess.run(['ovs-ofctl', 'del-flows', f'unix:{D}/br0.mgmt'])
for f in ['reg0=1,actions=output:2', 'table=2,reg0=1,tcp,tp_dst=80,actions=load:3->NXM_NX_REG1[],resubmit(,3)', 'cookie=0x77,priority=9,ct_state=+trk,ip,actions=drop']:
    subprocess.run(['ovs-ofctl', 'add-flow', f'unix:{D}/br0.mgmt', f])
s = socket.socket(socket.AF_UNIX); s.connect(f'{D}/br0.mgmt')
s.sendall(m(1, 0, b'', 1)); recv_all(s, 0.3)
s.sendall(bytes.fromhex(nx['nx/dump_flows#0 @OF1.0'])); recv_all(s, 0.3)
for r in ['nx/dump_flows#1', 'nx/dump_flows_match#1', 'nx/dump_aggregate#1']:
    s.sendall(bytes.fromhex(nx[r + ' @OF1.0']))
    for rep in recv_all(s, 0.4):
        lines.append(f"{r.replace('#1', '_reply')} (real switch)|10|hex|{rep.hex()}")
s.close()
# OpenFlow 1.5 flow and aggregate statistics (OXS) over the flows above,
# with the requests of messages.txt.
msgs = {}
name = None
for l in open(MSGS.replace('mods.txt', 'messages.txt')):
    if l.startswith('## '): name = l[3:].strip(); msgs[name] = ''
    elif name and l.strip() and not l.startswith('#') and not l.startswith('?='): msgs[name] += l.strip()
s = socket.socket(socket.AF_UNIX); s.connect(f'{D}/br0.mgmt')
s.sendall(m(6, 0, b'', 1)); recv_all(s, 0.3)
for r in ['stats/flow_request', 'stats/aggregate_request']:
    s.sendall(bytes.fromhex(msgs[r + ' @OF1.5']))
    for rep in recv_all(s, 0.4):
        lines.append(f"{r.replace('_request', '_reply')} (real switch)|15|hex|{rep.hex()}")
s.close()
# Groups over OpenFlow 1.0: NXT_GROUP_MOD of nx.txt, then NXST_GROUP_DESC.
ofctl(4, 'del-groups')
ofctl(4, 'add-group', 'group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=mod_vlan_vid:7,output:2')
s = socket.socket(socket.AF_UNIX); s.connect(f'{D}/br0.mgmt')
s.sendall(m(1, 0, b'', 1)); recv_all(s, 0.3)
s.sendall(bytes.fromhex(nx['nx/group_add @OF1.0']))
for rep in recv_all(s, 0.3):
    lines.append(f"nx/group_add_reply (real switch)|10|hex|{rep.hex()}")
s.sendall(bytes.fromhex(nx['nx/group_dump @OF1.0']))
for rep in recv_all(s, 0.4):
    lines.append(f"nx/group_desc_reply (real switch)|10|hex|{rep.hex()}")
s.close()
# NXT_PACKET_IN2: ask for the format, then send a packet to the controller
# (packet-out of messages.txt with output:CONTROLLER), at 1.0 and 1.3.
po_gold = {1: msgs['packet_out/output @OF1.0'], 4: msgs['packet_out/output @OF1.3']}
for v in (1, 4):
    s = socket.socket(socket.AF_UNIX); s.connect(f'{D}/br0.mgmt')
    s.sendall(m(v, 0, b'', 1)); recv_all(s, 0.3)
    s.sendall(m(v, 4, bytes.fromhex('000023200000001000000002')))
    s.sendall(m(v, 9, bytes.fromhex('0000ffff'))); recv_all(s, 0.3)
    po = bytes.fromhex(po_gold[v])
    if v == 1:
        po = po.replace(bytes.fromhex('0000000800010000'), bytes.fromhex('00000008fffdffff'))
    else:
        po = po.replace(bytes.fromhex('000000100000000100000000'), bytes.fromhex('00000010fffffffdffff0000'))
    s.sendall(po)
    for rep in recv_all(s, 0.5):
        lines.append(f"nx_packet_in2 (real switch)|{ {1: 10, 4: 13}[v]}|hex|{rep.hex()}")
    s.close()
open(OUT, 'w').write('\n'.join(lines) + '\n')
