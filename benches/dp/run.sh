#!/bin/bash
# benches/dp/run.sh -- datapath end to end, our vswitchd and Open vSwitch 3.1 in the same run
# (issues #7 and #8). Run as root from anywhere:
#
#   benches/dp/run.sh                 # all cases below, then the summary table
#   CASES="sys1 paced" benches/dp/run.sh
#   benches/dp/run.sh summary FILE    # table of an earlier results file
#
# Cases (each: ours, then Open vSwitch, same topology, same flows, same generator):
#   sys1    1 flow, `system` ports, in_port=1,actions=output:2, generator flat out
#   xdp1    1 flow, `afxdp` ports (XDP_MODE, default generic: veth has no zero-copy)
#   sys100k 100,000 rules priority=100,udp,in_port=1,nw_dst=D_i,actions=output:2 and 100,000
#           traffic flows D_0..D_99999 round robin, `system` ports
#   xdp100k the same with `afxdp` ports
#   paced   1 flow, `system` ports, generator paced at 150,000 pps: compare CPU per packet
#   tcp     iperf3, one TCP stream 10 s, actions=NORMAL, offloads on and off, ours, OVS
#           (`system` ports) and the Linux bridge
#
# How: the shared harness (/work/shared/bench, $SHARED) does topology, sink, counters and CPU
# accounting (run_pps.sh / run_iperf.sh); this directory is its BENCH_DIR, so the switch
# plugins are switches/ours.sh (our vswitchd, configured with ovs-vsctl/ovs-ofctl) and
# switches/ovs.sh (the shared one), and the generator is our own pktgen.c (AF_PACKET,
# PACKET_QDISC_BYPASS, sendmmsg; gen/udpgen.c is a symlink to it, the name the harness
# compiles). Namespaces/devices are prefixed $PFX (default "dpb") and removed on exit.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export SHARED=${SHARED:-/work/shared/bench}
export BENCH_DIR=$HERE
export PFX=${PFX:-dpb}
export WORKDIR=${WORKDIR:-/tmp/dpbench-$$}
export RESULTS=${RESULTS:-$HERE/results/results-$(date +%Y%m%d-%H%M%S).tsv}
export OURS_BIN=${OURS_BIN:-${CARGO_TARGET_DIR:-/work/target-benchh}/release}
export DURATION=${DURATION:-10} WARMUP=${WARMUP:-2}
XDP_MODE=${XDP_MODE:-generic}
CASES=${CASES:-sys1 xdp1 sys100k xdp100k paced tcp}
NRULES=${NRULES:-100000}

summary() { # RESULTS file -> markdown
    awk -F'\t' '
    function cpp(cpu, dlv) { return (dlv > 0 && cpu != "-") ? sprintf("%.0f", cpu * 10 / dlv) : "-" }
    function note(n, k,   m) { if (match(n, k "=[^ ]*")) { m = substr(n, RSTART + length(k) + 1, RLENGTH - length(k) - 1); return m } return "-" }
    NR == 1 { next }
    $2 == "pps" {
        c = note($13, "case"); if (c == "-") next
        sw = $3; key = c SUBSEP sw
        if (!(c in seen)) { seen[c] = 1; order[++n] = c }
        off[key] = $6; dlv[key] = $7; loss[key] = $8; cpu[key] = $9
        cyc[key] = note($13, "pmd_cycles_per_pkt"); gc[key] = note($13, "gen_cpu")
        fail[key] = ($13 ~ /FAILED/) }
    $2 == "iperf3" {
        c = note($13, "case"); if (c == "-") next
        it[++m] = sprintf("| %s | %s | %s | %s |", c, $3, $7, $9) }
    END {
        print "| case | switch | offered Mpps | delivered Mpps | loss % | switch CPU % | CPU ns/pkt | pmd cycles/pkt | gen CPU % |"
        print "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        for (i = 1; i <= n; i++) { c = order[i]
            for (s = 1; s <= 2; s++) { sw = (s == 1 ? "ours" : "ovs"); k = c SUBSEP sw
                if (!(k in off)) continue
                if (fail[k]) { printf "| %s | %s | FAILED | | | | | | |\n", c, sw; continue }
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c, sw, off[k], dlv[k], loss[k], cpu[k], cpp(cpu[k], dlv[k]), cyc[k], gc[k] } }
        print ""
        print "| case | delivered ours/OVS | CPU per packet ours/OVS |"
        print "| --- | --- | --- |"
        for (i = 1; i <= n; i++) { c = order[i]; a = c SUBSEP "ours"; b = c SUBSEP "ovs"
            if (!(a in dlv) || !(b in dlv) || dlv[b] + 0 == 0 || dlv[a] + 0 == 0) { printf "| %s | - | - |\n", c; continue }
            r2 = (cpu[a] != "-" && cpu[b] != "-" && cpu[b] > 0) ? sprintf("%.2f", (cpu[a] / dlv[a]) / (cpu[b] / dlv[b])) : "-"
            printf "| %s | %.2f | %s |\n", c, dlv[a] / dlv[b], r2 }
        if (m) { print ""; print "| iperf3 case | switch | throughput | switch CPU % |"; print "| --- | --- | --- | --- |"
            for (i = 1; i <= m; i++) print it[i] }
    }' "$1"
}

if [ "${1:-}" = summary ]; then summary "${2:?results file}"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -x "$OURS_BIN/vswitchd" ] || { echo "no $OURS_BIN/vswitchd: cargo build --release -p vswitchd -p vsctl -p ofctl" >&2; exit 1; }
mkdir -p "$WORKDIR" "$(dirname "$RESULTS")"
trap 'rm -rf "$WORKDIR"' EXIT   # each harness script removes its own namespaces/devices on exit
# the drop sink: the harness builds bpf/progs.c with clang when $WORKDIR/progs.o is missing;
# without clang, build the same two programs from sink.ll with llc
if ! command -v clang >/dev/null; then
    llc -march=bpfel -filetype=obj "$HERE/sink.ll" -o "$WORKDIR/progs.o" || { echo "cannot build sink.ll" >&2; exit 1; }
fi

pps() { # CASE SCENARIO FLOWS PORT_TYPE [ENV...]  -> one ours run and one OVS run
    local c=$1 scen=$2 n=$3 pt=$4; shift 4
    echo "=== $c: ours"
    env "$@" TAG="case=$c" OURS_PORT_TYPE="$pt" OURS_XDP_MODE="$XDP_MODE" "$SHARED/run_pps.sh" ours "$scen" "$n"
    echo "=== $c: ovs"
    env "$@" TAG="case=$c" OVS_PORT_TYPE="$pt" OVS_XDP_MODE="$XDP_MODE" "$SHARED/run_pps.sh" ovs "$scen" "$n"
}

for c in $CASES; do
    case $c in
    sys1) pps sys1 single 1 system ;;
    xdp1) pps xdp1 single 1 afxdp ;;
    sys100k) pps sys100k nflows "$NRULES" system ;;
    xdp100k) pps xdp100k nflows "$NRULES" afxdp ;;
    paced) pps paced single 1 system GEN_RATE=150000 ;;
    tcp)
        for off in on off; do
            for sw in ours ovs linux-bridge; do
                echo "=== tcp offloads=$off: $sw"
                if [ "$sw" = linux-bridge ]; then BENCH_DIR=$SHARED; else BENCH_DIR=$HERE; fi
                BENCH_DIR=$BENCH_DIR OFFLOADS=$off TAG="case=tcp-offloads-$off" "$SHARED/run_iperf.sh" "$sw" normal
            done
        done ;;
    *) echo "unknown case $c" >&2 ;;
    esac
done
echo
echo "results: $RESULTS"
summary "$RESULTS"
