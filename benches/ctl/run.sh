#!/bin/bash
# benches/ctl/run.sh -- control plane, our vswitchd and Open vSwitch 3.1 side by side (issue #8).
# Run as root:   benches/ctl/run.sh            (CTL_NFLOWS=100000 NPORTS=100 by default)
#
# For each switch (the same Debian ovs-vsctl / ovs-ofctl clients drive both):
#   add-flows       ovs-ofctl add-flows BR FILE          (OpenFlow 1.0, one flow_mod per flow)
#   add-flows-b     ovs-ofctl -O OpenFlow13 --bundle add-flows BR FILE   (after del-flows; ONF
#                   bundle extension), and -O OpenFlow14 --bundle (standard bundles)
#   dump-flows      ovs-ofctl dump-flows BR | wc -l      (100,000 flows installed)
#   rss             VmRSS of the switch with 100,000 flows (OVS: ovs-vswitchd, and
#                   + ovsdb-server; ours has the database inside the one process)
#   add-port x100   100 separate `ovs-vsctl add-port BR dN -- set interface dN type=dummy`
#                   processes (waiting for the switch), then 100 with --no-wait
#   ofctl ...       the same add-flows, dump-flows and -O OpenFlow14 --bundle add-flows with OUR
#                   ofctl ($OURS_BIN/ofctl) against both switches (the issue's `ofctl` is ours),
#                   and the RSS after that second load (load, del-flows, load again)
# RSS is read 1 s after the load (both switches), so that housekeeping has run.
# FILE: CTL_NFLOWS rules priority=100,udp,in_port=1,nw_dst=D_i,actions=output:2 (the datapath
# benchmark's rules). Everything runs in a namespace of its own ($PFX"ctl", removed on exit).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-/work/shared/bench}
export PFX=${PFX:-dpb}
export WORKDIR=${WORKDIR:-/tmp/ctlbench-$$}
export SW_NS=${SW_NS:-${PFX}ctl}
export BR=${BR:-br0}
export OVS_VSWITCHD_OPTS=${OVS_VSWITCHD_OPTS:---enable-dummy}
OURS_BIN=${OURS_BIN:-${CARGO_TARGET_DIR:-/work/target-benchh}/release}
CTL_NFLOWS=${CTL_NFLOWS:-100000}
NPORTS=${NPORTS:-100}
SWITCHES=${SWITCHES:-ours ovs}
# shellcheck disable=SC1091
. "$SHARED/lib.sh"
# shellcheck disable=SC1091
. "$SHARED/switches/ovs.sh"     # ovs_start_daemons / ovs_stop_daemons (uses OVS_D=$WORKDIR/ovs)
[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$WORKDIR"
OURS_D=$WORKDIR/ours
OURS_PID=
CREATED_NS=

cleanup() {
    if [ -n "$OURS_PID" ]; then kill_tree "$OURS_PID"; wait "$OURS_PID" 2>/dev/null; fi
    [ -f "$OVS_D/ovs-vswitchd.pid" ] && ovs_stop_daemons
    [ -n "$CREATED_NS" ] && ip netns del "$SW_NS"
    rm -rf "$WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ns_exists "$SW_NS" && die "namespace $SW_NS exists"
ip netns add "$SW_NS"; CREATED_NS=1
ip netns exec "$SW_NS" ip link set lo up

FLOWS=$WORKDIR/flows.txt
{ echo "priority=1,in_port=1,actions=output:2"; flow_rules "$CTL_NFLOWS"; } >"$FLOWS"
TOTAL=$((CTL_NFLOWS + 1))

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
rss_mib() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/^VmRSS/{print $2}' "/proc/$p/status"))); done; awk -v k=$s 'BEGIN{printf "%.0f", k/1024}'; }
declare -A R

bench() { # NAME: uses V (vsctl) and O (ofctl) functions and PIDS
    local sw=$1 t n i
    V add-br "$BR" -- set bridge "$BR" datapath_type=netdev protocols=OpenFlow10,OpenFlow13,OpenFlow14 fail_mode=secure || return 1
    for i in $(seq 50); do O show "$BR" >/dev/null 2>&1 && break; sleep 0.1; done
    t=$(now); O add-flows "$BR" "$FLOWS"; R[$sw,addflows]=$(since "$t")
    t=$(now); O dump-flows "$BR" >"$WORKDIR/dump-$sw.txt"; R[$sw,dump]=$(since "$t")
    n=$(grep -c 'actions=' "$WORKDIR/dump-$sw.txt"); R[$sw,dumpn]=$n
    [ "$n" = "$TOTAL" ] || { log "$sw: dump-flows showed $n flows, expected $TOTAL; not priority=100:"; grep -v 'priority=100,' "$WORKDIR/dump-$sw.txt" | head -5 >&2; }
    sleep 1; R[$sw,rss]=$(rss_mib $PIDS); R[$sw,rssall]=$(rss_mib $PIDS $PIDS_DB)
    O del-flows "$BR"
    t=$(now); O -O OpenFlow13 --bundle add-flows "$BR" "$FLOWS"; R[$sw,bundle]=$(since "$t")
    R[$sw,bundlen]=$(O dump-flows "$BR" | grep -c 'actions=')
    O del-flows "$BR"
    t=$(now); O -O OpenFlow14 --bundle add-flows "$BR" "$FLOWS"; R[$sw,bundle14]=$(since "$t")
    R[$sw,bundle14n]=$(O dump-flows "$BR" | grep -c 'actions=')
    O del-flows "$BR"
    # Our ofctl against the same switch.
    t=$(now); OO add-flows "$BR" "$FLOWS"; R[$sw,oadd]=$(since "$t")
    t=$(now); OO dump-flows "$BR" >"$WORKDIR/odump-$sw.txt"; R[$sw,odump]=$(since "$t")
    R[$sw,oaddn]=$(grep -c 'actions=' "$WORKDIR/odump-$sw.txt")
    sleep 1; R[$sw,orss]=$(rss_mib $PIDS)
    OO del-flows "$BR"
    t=$(now); OO -O OpenFlow14 --bundle add-flows "$BR" "$FLOWS"; R[$sw,obundle]=$(since "$t")
    R[$sw,obundlen]=$(O dump-flows "$BR" | grep -c 'actions=')
    O del-flows "$BR"
    t=$(now); for i in $(seq "$NPORTS"); do V --timeout=10 add-port "$BR" "d$i" -- set interface "d$i" type=dummy || break; done; R[$sw,ports]=$(since "$t")
    t=$(now); for i in $(seq "$NPORTS"); do V --no-wait add-port "$BR" "e$i" -- set interface "e$i" type=dummy || break; done; R[$sw,portsnw]=$(since "$t")
    R[$sw,nports]=$(V list-ports "$BR" | wc -l)
    log "$sw: done"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for sw in $SWITCHES; do
    case $sw in
    ours)
        rm -rf "$OURS_D"; mkdir -p "$OURS_D"
        swx taskset -c "${SUT_CPUS:-1}" "$OURS_BIN/vswitchd" --rundir "$OURS_D" --dbdir "$OURS_D" --log-file="$OURS_D/vswitchd.log" >"$OURS_D/stdout.log" 2>&1 &
        OURS_PID=$!
        V() { OVS_RUNDIR=$OURS_D ovs-vsctl --db="unix:$OURS_D/db.sock" "$@"; }
        O() { OVS_RUNDIR=$OURS_D ovs-ofctl "$@"; }
        OO() { OVS_RUNDIR=$OURS_D "$OURS_BIN/ofctl" "$@"; }
        for i in $(seq 300); do V --timeout=1 show >/dev/null 2>&1 && break; sleep 0.1; done
        PIDS=$(descendants "$OURS_PID" | tail -n +2) PIDS_DB=   # $OURS_PID: the subshell of "swx ... &"
        bench ours
        kill_tree "$OURS_PID"; wait "$OURS_PID" 2>/dev/null; OURS_PID= ;;
    ovs)
        ovs_start_daemons
        V() { vsctl "$@"; }
        O() { ofctl "$@"; }
        OO() { OVS_RUNDIR=$OVS_D "$OURS_BIN/ofctl" "$@"; }
        PIDS=$(cat "$OVS_D/ovs-vswitchd.pid") PIDS_DB=$(cat "$OVS_D/ovsdb-server.pid")
        bench ovs
        ovs_stop_daemons ;;
    esac
done

echo
echo "CTL_NFLOWS=$CTL_NFLOWS NPORTS=$NPORTS  ($(ovs-ofctl --version | head -1); ours $(git -C "$HERE" rev-parse --short HEAD)); load $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "| measurement | ours | Open vSwitch | ours/OVS |"
echo "| --- | --- | --- | --- |"
line() { # label key unit
    local a=${R[ours,$2]:--} b=${R[ovs,$2]:--}
    printf '| %s | %s %s | %s %s | %s |\n' "$1" "$a" "$3" "$b" "$3" "$(awk -v a="$a" -v b="$b" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else print "-" }')"
}
checked() { # label key countkey: a time only counts if the table then held all the flows
    local a=${R[ours,$2]:--} b=${R[ovs,$2]:--}
    [ "${R[ours,$3]:-0}" -ge "$TOTAL" ] || a="FAILED (${R[ours,$3]:-0} flows after $a"
    [ "${R[ovs,$3]:-0}" -ge "$TOTAL" ] || b="FAILED (${R[ovs,$3]:-0} flows after $b"
    printf '| %s | %s s) | %s s) | %s |\n' "$1" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.2f", a/b; else print "-" }')" |
        sed -e 's/| \([0-9.]*\) s) |/| \1 s |/g; s/| \([0-9.]*\) s) |/| \1 s |/g'
}
line "add-flows $CTL_NFLOWS (OpenFlow 1.0, no bundle)" addflows s
line "dump-flows of $TOTAL flows" dump s
line "flows dumped (check)" dumpn ""
checked "add-flows $CTL_NFLOWS -O OpenFlow13 --bundle" bundle bundlen
checked "add-flows $CTL_NFLOWS -O OpenFlow14 --bundle" bundle14 bundle14n
line "RSS of the switch with $TOTAL flows" rss MiB
line "RSS incl. ovsdb-server (OVS)" rssall MiB
line "$NPORTS x ovs-vsctl add-port (waits)" ports s
line "$NPORTS x ovs-vsctl --no-wait add-port" portsnw s
line "ports on the bridge (check)" nports ""
echo
echo "Our ofctl against both switches:"
echo
echo "| measurement | ours | Open vSwitch | ours/OVS |"
echo "| --- | --- | --- | --- |"
checked "ofctl add-flows $CTL_NFLOWS" oadd oaddn
line "ofctl dump-flows of $TOTAL flows" odump s
checked "ofctl -O OpenFlow14 --bundle add-flows $CTL_NFLOWS" obundle obundlen
line "RSS after del-flows and that second load" orss MiB
echo
# Issue #8's targets: our ofctl against our vswitchd, Open vSwitch's ovs-ofctl against ovs-vswitchd.
target() { # label ours ovs op limit
    awk -v l="$1" -v a="$2" -v b="$3" -v op="$4" -v lim="$5" 'BEGIN{
        if (a+0 <= 0 || (op != "lt" && b+0 <= 0)) { printf "* %s: no number\n", l; exit }
        if (op == "lt") { ok = a < lim; printf "* %s: %s (target < %s): %s\n", l, a, lim, ok ? "met" : "NOT met"; exit }
        r = a / b; ok = r <= lim
        printf "* %s: ours %s, OVS %s, ratio %.2f (target <= %s): %s\n", l, a, b, r, lim, ok ? "met" : "NOT met" }'
}
echo "Targets (ours = our ofctl/vsctl-equivalent against our vswitchd; OVS = ovs-ofctl against ovs-vswitchd):"
target "add-flows, no bundle, s" "${R[ours,oadd]:-}" "" lt 0.5
target "add-flows --bundle, s" "${R[ours,obundle]:-}" "" lt 0.35
target "dump-flows, s" "${R[ours,odump]:-}" "${R[ovs,dump]:-}" ratio 1
target "RSS with $TOTAL flows, MiB" "${R[ours,rss]:-}" "${R[ovs,rss]:-}" ratio 0.5
target "$NPORTS x add-port (waits), s" "${R[ours,ports]:-}" "${R[ovs,ports]:-}" ratio 1
