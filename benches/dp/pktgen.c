/*
 * pktgen: a small UDP/IPv4 traffic generator for the datapath benchmark (issue #7).
 *
 *   pktgen -i IF -s SMAC -d DMAC -S SIP -D DIP [-n FLOWS] [-l LEN] [-p SPORT] [-P DPORT]
 *          [-r PPS] [-b BATCH]
 *
 * Raw AF_PACKET socket bound to IF, PACKET_QDISC_BYPASS, frames sent with sendmmsg() in
 * batches of BATCH (default 64). FLOWS > 1: destination address DIP, DIP+1, ... DIP+FLOWS-1,
 * round robin, one flow per frame. LEN = L2 frame length without FCS (60 = 64-byte frame).
 * PPS > 0 paces the sender (sleeps until each batch is due, CLOCK_MONOTONIC); 0 = flat out.
 * On ENOBUFS/EAGAIN the batch is retried (the device is full). Runs until SIGINT/SIGTERM,
 * then prints "sent N" on stderr. The option letters match the shared harness's generator,
 * so this binary can stand in for it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXB 256
#define MAXFRAME 1514

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static int mac(const char *s, unsigned char *m)
{
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
    for (int i = 0; i < 6; i++) m[i] = (unsigned char)v[i];
    return 0;
}

static uint16_t csum(const void *p, int n)
{
    const uint8_t *b = p;
    uint32_t s = 0;
    for (int i = 0; i + 1 < n; i += 2) s += (uint32_t)b[i] << 8 | b[i + 1];
    if (n & 1) s += (uint32_t)b[n - 1] << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *m) { fprintf(stderr, "pktgen: %s\n", m); exit(2); }

int main(int argc, char **argv)
{
    const char *ifn = NULL;
    unsigned char sm[6], dm[6];
    struct in_addr sip = {0}, dip = {0};
    long flows = 1, len = 60, pps = 0, batch = 64;
    int sport = 1024, dport = 9, have = 0, c;

    while ((c = getopt(argc, argv, "i:s:d:S:D:n:l:p:P:r:b:t:q")) != -1) {
        switch (c) {
        case 'i': ifn = optarg; have |= 1; break;
        case 's': if (mac(optarg, sm)) die("bad -s"); have |= 2; break;
        case 'd': if (mac(optarg, dm)) die("bad -d"); have |= 4; break;
        case 'S': if (!inet_aton(optarg, &sip)) die("bad -S"); have |= 8; break;
        case 'D': if (!inet_aton(optarg, &dip)) die("bad -D"); have |= 16; break;
        case 'n': flows = atol(optarg); break;
        case 'l': len = atol(optarg); break;
        case 'p': sport = atoi(optarg); break;
        case 'P': dport = atoi(optarg); break;
        case 'r': pps = atol(optarg); break;
        case 'b': batch = atol(optarg); break;
        case 't': case 'q': break; /* accepted for compatibility, ignored */
        default: die("usage: pktgen -i IF -s SMAC -d DMAC -S SIP -D DIP [-n FLOWS] [-l LEN] [-p SPORT] [-P DPORT] [-r PPS] [-b BATCH]");
        }
    }
    if (have != 31) die("-i -s -d -S -D are required");
    if (len < 42 || len > MAXFRAME) die("-l must be 42..1514");
    if (flows < 1) flows = 1;
    if (batch < 1 || batch > MAXB) batch = 64;

    int fd = socket(AF_PACKET, SOCK_RAW, 0);   /* protocol 0: send only, never receives */
    if (fd < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct sockaddr_ll sll = {0};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)if_nametoindex(ifn);
    sll.sll_halen = 6;
    memcpy(sll.sll_addr, dm, 6);
    if (!sll.sll_ifindex) die("no such interface");
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }

    /* One template frame per batch slot; the destination address is patched per frame. */
    static unsigned char frames[MAXB][MAXFRAME];
    struct iovec iov[MAXB];
    struct mmsghdr msgs[MAXB];
    for (int i = 0; i < batch; i++) {
        unsigned char *f = frames[i];
        memset(f, 0, len);
        memcpy(f, dm, 6);
        memcpy(f + 6, sm, 6);
        f[12] = 0x08; f[13] = 0x00;
        unsigned char *ip = f + 14;
        uint16_t ilen = (uint16_t)(len - 14);
        ip[0] = 0x45; ip[2] = ilen >> 8; ip[3] = ilen & 0xff;
        ip[8] = 64; ip[9] = 17;
        memcpy(ip + 12, &sip, 4);
        unsigned char *u = ip + 20;
        uint16_t ulen = (uint16_t)(ilen - 20);
        u[0] = sport >> 8; u[1] = sport & 0xff; u[2] = dport >> 8; u[3] = dport & 0xff;
        u[4] = ulen >> 8; u[5] = ulen & 0xff;   /* UDP checksum 0 = none */
        iov[i].iov_base = f;
        iov[i].iov_len = (size_t)len;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    uint32_t base = ntohl(dip.s_addr);
    unsigned long long sent = 0;
    long flow = 0;
    double t0 = now();
    while (!stop) {
        for (int i = 0; i < batch; i++) {
            unsigned char *ip = frames[i] + 14;
            uint32_t d = htonl(base + (uint32_t)flow);
            memcpy(ip + 16, &d, 4);
            ip[10] = ip[11] = 0;
            uint16_t s = csum(ip, 20);
            ip[10] = s >> 8; ip[11] = s & 0xff;
            if (++flow == flows) flow = 0;
        }
        int done = 0;
        while (done < batch && !stop) {
            int r = sendmmsg(fd, msgs + done, (unsigned)(batch - done), 0);
            if (r > 0) done += r;
            else if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) { perror("sendmmsg"); return 1; }
        }
        sent += (unsigned long long)done;
        if (pps > 0) {   /* sleep until the next batch is due */
            double due = t0 + (double)sent / (double)pps;
            struct timespec ts = { (time_t)due, (long)((due - (double)(time_t)due) * 1e9) };
            while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) { }
        }
    }
    fprintf(stderr, "sent %llu in %.1f s\n", sent, now() - t0);
    return 0;
}
