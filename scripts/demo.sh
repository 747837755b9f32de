#!/usr/bin/env bash
# The first thing to run: builds the switch, starts the daemon with its
# embedded database in a private run directory, joins two network
# namespaces through bridge br0 (veth pairs as `system` ports), pings
# across, and shows what the switch did. Everything it creates is removed
# on exit. Needs root (network namespaces) and iproute2.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }
command -v ip >/dev/null || { echo "demo.sh: install iproute2 (apt-get install -y iproute2)" >&2; exit 1; }
BR=${BR:-br0}
if ip link show "$BR" >/dev/null 2>&1; then
    echo "demo.sh: an interface named $BR already exists; run with BR=<other name>" >&2
    exit 1
fi

echo "== building"
cargo build --release -q -p vswitchd -p vsctl -p ofctl
BIN=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release

RUN=$(mktemp -d /tmp/rvs-demo.XXXXXX)
export OVS_RUNDIR=$RUN OVS_DBDIR=$RUN OVS_LOGDIR=$RUN
cleanup() {
    "$BIN/vswitchd" appctl exit >/dev/null 2>&1 || true
    ip netns del rvs-demo-a 2>/dev/null || true
    ip netns del rvs-demo-b 2>/dev/null || true
    ip link del rvs-demo-a0 2>/dev/null || true
    ip link del rvs-demo-b0 2>/dev/null || true
    rm -rf "$RUN"
}
trap cleanup EXIT

echo "== starting vswitchd (run directory $RUN)"
"$BIN/vswitchd" --detach --log-file

echo "== two namespaces, each with a veth pair whose other end joins $BR"
for n in a b; do
    ip netns add rvs-demo-$n
    ip link add rvs-demo-${n}0 type veth peer name eth0 netns rvs-demo-$n
    ip link set rvs-demo-${n}0 up
    ip -n rvs-demo-$n link set lo up
    ip -n rvs-demo-$n link set eth0 up
done
ip -n rvs-demo-a addr add 10.250.0.1/24 dev eth0
ip -n rvs-demo-b addr add 10.250.0.2/24 dev eth0

"$BIN/vsctl" add-br "$BR" -- add-port "$BR" rvs-demo-a0 -- add-port "$BR" rvs-demo-b0
"$BIN/vsctl" show

echo "== ping 10.250.0.1 -> 10.250.0.2 through $BR"
ip netns exec rvs-demo-a ping -c 3 -i 0.2 10.250.0.2

echo "== OpenFlow flows (ofctl dump-flows $BR)"
"$BIN/ofctl" dump-flows "$BR"
echo "== learned MAC addresses (appctl fdb/show $BR)"
"$BIN/vswitchd" appctl fdb/show "$BR"
echo "== datapath flows (appctl dpctl/dump-flows)"
"$BIN/vswitchd" appctl dpctl/dump-flows
echo "== done: the demo cleans up after itself"
