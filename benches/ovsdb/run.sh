#!/usr/bin/env bash
# Side-by-side OVSDB benchmark (issue #3): the real ovsdb-server (Open vSwitch
# 3.1, Debian) against ours (`vswitchd --db-only`), in one run.
#
#   benches/ovsdb/run.sh            # SECS=5 per run, REPEATS=3 (median)
#   SECS=2 REPEATS=1 benches/ovsdb/run.sh
#
# Measures, for both servers:
#  * transactions/s of `ovsdb-bench tps` for {1,8} clients x {0,10} monitors,
#    and the server's CPU time (user + system) per transaction in those runs
#    (less sensitive to other load on the machine than transactions/s);
#  * wall time of 200 separate `ovs-vsctl --no-wait add-port br0 pN` into a
#    database already holding 1,000 ports;
#  * VmRSS of the server process, empty and with 10,000 ports (before and
#    after one client reads them all).
# Prints one markdown table. Both servers run without fsync on commit: the
# real ovsdb-server only fsyncs transactions that ask for it (`commit` with
# `"durable": true`, which ovs-vsctl never sends), so ours runs with
# --no-db-sync.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${SECS:-5}
REPEATS=${REPEATS:-3}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SCHEMA=${SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

REAL=""
OURS=""
REAL_PID=""
OURS_PID=""
cleanup() {
    set +e
    [ -n "$REAL_PID" ] && kill "$REAL_PID" 2>/dev/null
    [ -n "$OURS_PID" ] && kill "$OURS_PID" 2>/dev/null
    [ -n "$OURS_PID" ] && wait "$OURS_PID" 2>/dev/null
    [ -n "$REAL" ] && rm -rf "$REAL"
    [ -n "$OURS" ] && rm -rf "$OURS"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$ROOT" && cargo build --release --quiet -p vswitchd --bin vswitchd &&
    cargo build --release --quiet -p benches --bin ovsdb-bench)
BENCH=$TARGET/release/ovsdb-bench
VSWITCHD=$TARGET/release/vswitchd

wait_sock() {
    for _ in $(seq 100); do
        [ -S "$1" ] && return 0
        sleep 0.05
    done
    echo "no socket at $1" >&2
    return 1
}

REAL=$(mktemp -d /tmp/ovsdb-bench-real.XXXXXX)
ovsdb-tool create "$REAL/conf.db" "$SCHEMA"
ovsdb-server "$REAL/conf.db" --remote="punix:$REAL/db.sock" --pidfile="$REAL/pid" \
    --unixctl="$REAL/ctl" --log-file="$REAL/log" --detach --no-chdir
REAL_PID=$(cat "$REAL/pid")
wait_sock "$REAL/db.sock"

OURS=$(mktemp -d /tmp/ovsdb-bench-ours.XXXXXX)
"$VSWITCHD" --db-only --rundir "$OURS" --no-db-sync 2>"$OURS/log" &
OURS_PID=$!
wait_sock "$OURS/db.sock"

declare -A DIR=([real]=$REAL [ours]=$OURS)
declare -A PID=([real]=$REAL_PID [ours]=$OURS_PID)
declare -A R # results: R[metric,server]

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
vsctl() { ovs-vsctl --db="unix:${DIR[$1]}/db.sock" --no-wait "${@:2}"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for s in real ours; do
    vsctl "$s" init
    R[rss0,$s]=$(rss_kb "${PID[$s]}")
done

# Transactions per second; servers alternate run by run so drift hits both.
for c in 1 8; do
    for m in 0 10; do
        declare -A runs=([real]="" [ours]="")
        declare -A cpus=([real]="" [ours]="")
        for _ in $(seq "$REPEATS"); do
            for s in real ours; do
                c0=$(cpu_ticks "${PID[$s]}")
                line=$("$BENCH" tps --db "${DIR[$s]}/db.sock" --clients "$c" --monitors "$m" \
                    --seconds "$SECS")
                c1=$(cpu_ticks "${PID[$s]}")
                txns=${line#*txns=}
                txns=${txns%% *}
                us=$(awk -v c=$((c1 - c0)) -v t="$txns" -v hz="$HZ" 'BEGIN {printf "%.1f", c * 1e6 / hz / t}')
                echo "$s: $line server_cpu_us_per_txn=$us" >&2
                tps=${line#tps=}
                runs[$s]+="${tps%% *} "
                cpus[$s]+="$us "
            done
        done
        for s in real ours; do
            R[tps$c.$m,$s]=$(echo "${runs[$s]}" | tr ' ' '\n' | grep . | median)
            R[cpu$c.$m,$s]=$(echo "${cpus[$s]}" | tr ' ' '\n' | grep . | median)
        done
    done
done

# 200 x ovs-vsctl add-port into 1,000 ports; then 10,000 ports for RSS.
for s in real ours; do
    vsctl "$s" add-br br0
    "$BENCH" ports --db "${DIR[$s]}/db.sock" --bridge br0 --count 1000 --prefix q
    t0=$EPOCHREALTIME
    for i in $(seq 200); do
        vsctl "$s" add-port br0 "p$i"
    done
    t1=$EPOCHREALTIME
    R[vsctl,$s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    echo "$s: 200 add-port in ${R[vsctl,$s]} s" >&2
    "$BENCH" ports --db "${DIR[$s]}/db.sock" --bridge br0 --count 8800 --start 1000 --prefix q
    sleep 1
    R[rss,$s]=$(rss_kb "${PID[$s]}")
    # A client reading every port (what ovs-vswitchd does at start-up).
    n=$(vsctl "$s" list-ports br0 | wc -l)
    [ "$n" = 10000 ] || { echo "$s: expected 10000 ports, found $n" >&2; exit 1; }
    sleep 1
    R[rss2,$s]=$(rss_kb "${PID[$s]}")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

echo
echo "| metric | better | ovsdb-server 3.1 | ours | ours / real |"
echo "| --- | --- | ---: | ---: | ---: |"
for c in 1 8; do
    for m in 0 10; do
        a=${R[tps$c.$m,real]}
        b=${R[tps$c.$m,ours]}
        echo "| transactions/s, $c client(s), $m monitors | higher | $a | $b | $(ratio "$b" "$a") |"
    done
done
for c in 1 8; do
    for m in 0 10; do
        a=${R[cpu$c.$m,real]}
        b=${R[cpu$c.$m,ours]}
        echo "| server CPU per transaction (us), $c client(s), $m monitors | lower | $a | $b | $(ratio "$b" "$a") |"
    done
done
row() { echo "| $1 | lower | $2 | $3 | $(ratio "$5" "$4") |"; }
row "200 x \`ovs-vsctl --no-wait add-port\` (1,000 ports present), s" \
    "${R[vsctl,real]}" "${R[vsctl,ours]}" "${R[vsctl,real]}" "${R[vsctl,ours]}"
for k in rss0 rss rss2; do
    case $k in
    rss0) what="RSS, empty database" ;;
    rss) what="RSS, 10,000 ports" ;;
    rss2) what="RSS, 10,000 ports, after one \`ovs-vsctl list-ports br0\`" ;;
    esac
    row "$what" "$(mib "${R[$k,real]}")" "$(mib "${R[$k,ours]}")" "${R[$k,real]}" "${R[$k,ours]}"
done
echo
echo "transactions/s: median of $REPEATS runs of ${SECS} s, servers alternating; both servers"
echo "without fsync on commit (ours: --no-db-sync; ovsdb-server never fsyncs non-durable commits)."
