# Records the first message of a real ovs-vswitchd's TABLE_FEATURES reply
# (about 60 KB each; the whole reply is some 20 messages) at 1.3 and 1.5,
# and writes ../table_features.txt: `## name`, the first lines of the
# ofp-print decoding as comments, the hex.
#   python3 client_tf.py $RUNDIR ../table_features.txt
import socket, struct, sys, subprocess, time
D, OUT = sys.argv[1], sys.argv[2]
def m(v, t, b=b'', x=0x99): return struct.pack('!BBHI', v, t, 8 + len(b), x) + b
blocks = []
for v, name in ((4, 'OF1.3'), (6, 'OF1.5')):
    s = socket.socket(socket.AF_UNIX); s.connect(f'{D}/br0.mgmt')
    s.sendall(m(v, 0, b'', 1)); s.settimeout(0.5); time.sleep(0.2); s.recv(65536)
    s.sendall(m(v, 18, struct.pack('!HHI', 12, 0, 0)))
    buf = b''
    try:
        while True:
            x = s.recv(1 << 20)
            if not x: break
            buf += x
    except socket.timeout: pass
    s.close()
    first = buf[:struct.unpack('!H', buf[2:4])[0]]
    pr = subprocess.run(['ovs-ofctl', 'ofp-print', first.hex()], capture_output=True, text=True).stdout.splitlines()[:6]
    blocks.append((f'stats/table_features_reply (real switch, first part) @{name}', pr, first.hex()))
with open(OUT, 'w') as f:
    f.write('# OpenFlow golden table: the first message of a real ovs-vswitchd 3.1\n'
            '# TABLE_FEATURES reply (see gen/client_tf.py; same switch as replies.txt).\n'
            '# Only the first lines of the ofp-print decoding are kept.\n'
            '#\n# The test (ofproto/tests/ofp_golden.rs) checks decode(hex) -> encode == hex.\n')
    for n, pr, h in blocks:
        f.write(f'\n## {n}\n')
        for l in pr: f.write(f'#   {l}\n')
        for i in range(0, len(h), 64): f.write(h[i:i+64] + '\n')
