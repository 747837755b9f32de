#!/usr/bin/env bash
# Side-by-side benchmark of ofctl against ovs-ofctl (issue #5), in one run:
#
#   benches/ofctl/run.sh                 # N=100000 flows, REPEATS=3 (median)
#   N=20000 REPEATS=1 benches/ofctl/run.sh
#
# Measures, for both tools, on the same file of N distinct flows
# (benches/ofctl/gen_flows.sh):
#  * add-flows of the file to a real ovs-vswitchd (userspace datapath, dummy
#    devices, private run directory), with -O OpenFlow10 and -O OpenFlow13,
#    starting from an empty table each time; the flow count is checked after
#    every run;
#  * parsing only: `--no-names add-flows unix:/nonexistent FILE` parses the
#    whole file and then fails to connect (both tools parse before they
#    connect when names are off), so the wall time is parse time;
#  * `parse-flows FILE > /dev/null` (parse and print every flow).
# Prints one markdown table of medians.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-100000}
REPEATS=${REPEATS:-3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SCHEMA=${SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

D=""
cleanup() {
    set +e
    if [ -n "$D" ]; then
        [ -f "$D/ovs-vswitchd.pid" ] && kill -9 "$(cat "$D/ovs-vswitchd.pid")" 2>/dev/null
        [ -f "$D/ovsdb-server.pid" ] && kill -9 "$(cat "$D/ovsdb-server.pid")" 2>/dev/null
        rm -rf "$D"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$ROOT" && cargo build --release --quiet -p ofctl)
OFCTL=$TARGET/release/ofctl

D=$(mktemp -d /tmp/ofctl-bench.XXXXXX)
"$ROOT/benches/ofctl/gen_flows.sh" "$N" > "$D/flows.txt"

ovsdb-tool create "$D/conf.db" "$SCHEMA"
ovsdb-server "$D/conf.db" --remote="punix:$D/db.sock" --pidfile="$D/ovsdb-server.pid" \
    --unixctl="$D/ovsdb-server.ctl" --log-file="$D/ovsdb-server.log" --detach --no-chdir
ovs-vsctl --db="unix:$D/db.sock" --no-wait init
OVS_RUNDIR=$D OVS_DBDIR=$D OVS_LOGDIR=$D ovs-vswitchd --enable-dummy=override \
    "unix:$D/db.sock" --pidfile="$D/ovs-vswitchd.pid" --unixctl="$D/ovs-vswitchd.ctl" \
    --log-file="$D/ovs-vswitchd.log" --detach --no-chdir
ovs-vsctl --db="unix:$D/db.sock" add-br br0 -- set bridge br0 datapath_type=netdev
export OVS_RUNDIR=$D

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
count() {
    ovs-ofctl -O "$1" dump-aggregate br0 | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p'
}

# add_flows TOOL VERSION -> seconds
add_flows() {
    ovs-ofctl -O "$2" del-flows br0
    local t0 t1
    t0=$(now)
    "$1" -O "$2" add-flows br0 "$D/flows.txt"
    t1=$(now)
    local c
    c=$(count "$2")
    if [ "$c" != "$N" ]; then
        echo "$1 -O $2 add-flows installed $c flows, expected $N" >&2
        exit 1
    fi
    elapsed "$t0" "$t1"
}

# parse_only TOOL -> seconds
parse_only() {
    local t0 t1
    t0=$(now)
    if "$1" --no-names add-flows unix:/nonexistent/sock "$D/flows.txt" 2>/dev/null; then
        echo "$1: add-flows to a missing socket succeeded?" >&2
        exit 1
    fi
    t1=$(now)
    elapsed "$t0" "$t1"
}

parse_print() {
    local t0 t1
    t0=$(now)
    "$1" parse-flows "$D/flows.txt" > /dev/null
    t1=$(now)
    elapsed "$t0" "$t1"
}

declare -A R
for v in OpenFlow10 OpenFlow13; do
    a="" b=""
    for _ in $(seq "$REPEATS"); do
        a="$a $(add_flows ovs-ofctl "$v")"
        b="$b $(add_flows "$OFCTL" "$v")"
    done
    R["add $v ovs"]=$(echo "$a" | median)
    R["add $v ours"]=$(echo "$b" | median)
done
a="" b="" c="" d=""
for _ in $(seq "$REPEATS"); do
    a="$a $(parse_only ovs-ofctl)"
    b="$b $(parse_only "$OFCTL")"
    c="$c $(parse_print ovs-ofctl)"
    d="$d $(parse_print "$OFCTL")"
done
R["parse ovs"]=$(echo "$a" | median)
R["parse ours"]=$(echo "$b" | median)
R["print ovs"]=$(echo "$c" | median)
R["print ours"]=$(echo "$d" | median)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
echo
echo "N=$N flows, median of $REPEATS, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| measurement (seconds, lower is better) | ovs-ofctl 3.1 | ofctl | speed-up |"
echo "| --- | ---: | ---: | ---: |"
for v in OpenFlow10 OpenFlow13; do
    echo "| add-flows, -O $v, to ovs-vswitchd | ${R["add $v ovs"]} | ${R["add $v ours"]} | $(ratio "${R["add $v ovs"]}" "${R["add $v ours"]}") |"
done
echo "| parse only (--no-names add-flows to a missing socket) | ${R["parse ovs"]} | ${R["parse ours"]} | $(ratio "${R["parse ovs"]}" "${R["parse ours"]}") |"
echo "| parse-flows FILE > /dev/null (parse and print) | ${R["print ovs"]} | ${R["print ours"]} | $(ratio "${R["print ovs"]}" "${R["print ours"]}") |"
