# Talks to a real ovs-vswitchd (br0.mgmt) at each version and records the
# switch's replies and asynchronous messages as golden case lines.
import socket, struct, sys, time, subprocess, re
D = sys.argv[1]; MSGS = sys.argv[2]; OUT = sys.argv[3]
gold = {}
name = None
for l in open(MSGS):
    if l.startswith('## '): name = l[3:].strip(); gold[name] = ''
    elif name and l.strip() and not l.startswith('#') and not l.startswith('?='): gold[name] += l.strip()
def m(v, t, body=b'', xid=0x99):
    return struct.pack('!BBHI', v, t, 8 + len(body), xid) + body
def recv_all(s, t=0.6):
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
frame = bytes.fromhex('ffffffffffff00000000000108060001080006040001000000000001c0a80001000000000000c0a80002') + bytes(18)
lines = []
names = {1: 'OF1.0', 4: 'OF1.3', 5: 'OF1.4', 6: 'OF1.5'}
for v in (1, 4, 5, 6):
    subprocess.run(['ovs-ofctl', 'del-flows', f'unix:{D}/br0.mgmt'])
    for f in ['priority=5,ip,nw_src=10.0.0.0/8,actions=output:2', 'priority=9,tcp,in_port=1,tp_dst=80,actions=mod_vlan_vid:7,output:1', 'table=0,priority=1,actions=NORMAL']:
        subprocess.run(['ovs-ofctl', 'add-flow', f'unix:{D}/br0.mgmt', f])
    s = socket.socket(socket.AF_UNIX); s.connect(f'{D}/br0.mgmt')
    s.sendall(m(v, 0, b'', 1)); recv_all(s, 0.3)
    mp = (lambda st, body=b'': m(v, 16, struct.pack('!HH', st, 0) + body)) if v == 1 else (lambda st, body=b'': m(v, 18, struct.pack('!HHI', st, 0, 0) + body))
    if v == 1:
        flowreq = bytes.fromhex('003820ff' + '00' * 36) + bytes.fromhex('ff00ffff')
    else:
        flowreq = bytes.fromhex('ff000000ffffffffffffffff00000000' + '00' * 16 + '0001000400000000')
    reqs = [('features_reply', m(v, 5)), ('get_config_reply', m(v, 7)), ('echo_reply', m(v, 2, b'hello')),
            ('error_bad_type', m(v, 0x63)), ('stats/desc_reply', mp(0)),
            ('stats/port_desc_reply', mp(13, bytes.fromhex('ffffffff00000000') if v == 6 else b''))]
    if v < 6:
        reqs += [('stats/flow_reply', mp(1, flowreq)), ('stats/aggregate_reply', mp(2, flowreq))]
    if v in (1, 4):
        reqs += [('stats/table_reply', mp(3))]
    for n, req in reqs:
        s.sendall(req)
        for r in recv_all(s, 0.4):
            lines.append(f'{n} (real switch)|{v:x}|hex|{r.hex()}')
    # async: packet_in
    s.sendall(m(v, 9, bytes.fromhex('0000ffff'))); time.sleep(0.1)
    po = gold[f'packet_out/output @{names[v]}']
    po = bytes.fromhex(po)
    # replace output:1 with output:CONTROLLER
    if v == 1:
        po = po.replace(bytes.fromhex('0000000800010000'), bytes.fromhex('00000008fffdffff'))
    else:
        po = po.replace(bytes.fromhex('000000100000000100000000'), bytes.fromhex('00000010fffffffdffff0000'))
    s.sendall(po)
    for r in recv_all(s, 0.5):
        lines.append(f'packet_in (real switch)|{v:x}|hex|{r.hex()}')
    # flow removed: add with send_flow_rem, then delete
    s.sendall(bytes.fromhex(gold[f'flow_mod/add_flags @{names[v]}'])); time.sleep(0.1)
    s.sendall(bytes.fromhex(gold[f'flow_mod/delete @{names[v]}']))
    for r in recv_all(s, 0.5):
        lines.append(f'flow_removed (real switch)|{v:x}|hex|{r.hex()}')
    subprocess.run(['ovs-ofctl', 'mod-port', f'unix:{D}/br0.mgmt', 'p1', 'down'])
    for r in recv_all(s, 0.5):
        lines.append(f'port_status (real switch)|{v:x}|hex|{r.hex()}')
    subprocess.run(['ovs-ofctl', 'mod-port', f'unix:{D}/br0.mgmt', 'p1', 'up'])
    recv_all(s, 0.3)
    s.close()
open(OUT, 'w').write('\n'.join(lines) + '\n')
