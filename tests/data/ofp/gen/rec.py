# Recording OpenFlow listener: accepts ovs-ofctl connections on a unix socket,
# negotiates, answers barrier/echo/features/multipart minimally, logs every
# message ovs-ofctl sends as hex (one per line) to the file given.
import socket, struct, sys, os, threading
path, out = sys.argv[1], sys.argv[2]
try: os.unlink(path)
except FileNotFoundError: pass
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(8)
lock = threading.Lock()
def recvn(c, n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: return None
        b += x
    return b
def handle(c):
    c.sendall(bytes.fromhex('0600001000000001000100080000007e'))
    while True:
        h = recvn(c, 8)
        if not h: return
        v, t, l, x = struct.unpack('!BBHI', h)
        body = recvn(c, l - 8) if l > 8 else b''
        if body is None: return
        m = h + body
        with lock:
            with open(out, 'a') as f: f.write(m.hex() + '\n')
        def rep(tt, b=b''):
            c.sendall(struct.pack('!BBHI', v, tt, 8 + len(b), x) + b)
        if t == 2: rep(3, body)
        elif v == 1 and t == 18: rep(19)
        elif v > 1 and t == 20: rep(21)
        elif t == 5:
            if v == 1: rep(6, bytes.fromhex('0000000000000001000001000000000000000000000000000'+'0'))
            else: rep(6, bytes.fromhex('00000000000000010000010000000000000000000'+'0000000'))
        elif t == 7: rep(8, bytes.fromhex('00000080'))
        elif v == 1 and t == 16: rep(17, body[:2] + b'\0\0')
        elif v > 1 and t == 18: rep(19, body[:2] + b'\0' * 6)
        elif v > 4 and t == 33 and len(body) >= 8:
            # BUNDLE_CONTROL: answer OPEN/CLOSE/COMMIT with the matching reply.
            rep(33, body[:4] + struct.pack('!H', struct.unpack('!H', body[4:6])[0] + 1) + body[6:8])
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
