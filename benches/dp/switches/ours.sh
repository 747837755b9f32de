# shellcheck shell=bash
# Switch plugin: this project's vswitchd (embedded OVSDB + userspace datapath), configured with
# Debian's ovs-vsctl / ovs-ofctl over its run directory, exactly like the ovs plugin configures
# Open vSwitch (same bridge settings, same ofport_request, same flow files).
#
#   OURS_BIN=<dir>          vswitchd binary (default /work/target-benchh/release)
#   OURS_PORT_TYPE=system|afxdp           OURS_XDP_MODE=generic|native|best-effort (afxdp)
#   SUT_CPUS=1              taskset for the whole vswitchd
#   OURS_IFACE_OPTS=...     extra `set interface` settings for both ports (options:rx-mode=ring)
# Window hooks: pmd-stats-show before and after the window; the difference of "packets
# received" and "processing ns" gives ns/packet of the polling thread(s) over the window.

OURS_BIN=${OURS_BIN:-/work/target-benchh/release}
OURS_D=${OURS_D:-$WORKDIR/ours}
OURS_PORT_TYPE=${OURS_PORT_TYPE:-system}
OURS_XDP_MODE=${OURS_XDP_MODE:-generic}
SUT_CPUS=${SUT_CPUS:-1}
_ovsx() { OVS_RUNDIR=$OURS_D "$@"; }
o_vsctl() { _ovsx ovs-vsctl --db="unix:$OURS_D/db.sock" "$@"; }
o_ofctl() { _ovsx ovs-ofctl "$@"; }
o_appctl() { "$OURS_BIN/vswitchd" --rundir "$OURS_D" appctl "$@"; }

sut_info() {
    echo "ours $(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --short HEAD 2>/dev/null), ports type=$OURS_PORT_TYPE$([ "$OURS_PORT_TYPE" = afxdp ] && echo " xdp-mode=$OURS_XDP_MODE")"
}

sut_start() {
    rm -rf "$OURS_D"; mkdir -p "$OURS_D"
    swx taskset -c "$SUT_CPUS" "$OURS_BIN/vswitchd" --rundir "$OURS_D" --dbdir "$OURS_D" \
        --log-file="$OURS_D/vswitchd.log" >"$OURS_D/stdout.log" 2>&1 &
    OURS_PID=$!
    local i dev opts
    for i in $(seq 300); do
        kill -0 "$OURS_PID" 2>/dev/null || { cat "$OURS_D/stdout.log" >&2; return 1; }
        o_vsctl --timeout=1 show >/dev/null 2>&1 && break
        sleep 0.1
    done
    o_vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev protocols=OpenFlow10,OpenFlow13 fail_mode=secure || return 1
    for i in 1 2; do
        if [ $i = 1 ]; then dev=$HOST_IF1; else dev=$HOST_IF2; fi
        opts=("ofport_request=$i")
        [ "$OURS_PORT_TYPE" = system ] || opts+=(type="$OURS_PORT_TYPE")
        [ "$OURS_PORT_TYPE" = afxdp ] && opts+=(options:xdp-mode="$OURS_XDP_MODE")
        # extra interface settings, e.g. OURS_IFACE_OPTS="options:rx-mode=ring"
        [ -n "${OURS_IFACE_OPTS:-}" ] && read -ra _extra <<<"$OURS_IFACE_OPTS" && opts+=("${_extra[@]}")
        o_vsctl --timeout=30 add-port "$BR" "$dev" -- set interface "$dev" "${opts[@]}" || return 1
    done
    for dev in "$HOST_IF1" "$HOST_IF2"; do
        local err; err=$(o_vsctl get interface "$dev" error 2>/dev/null || true)
        if [ -n "$err" ] && [ "$err" != "[]" ]; then log "ours: port $dev error: $err"; return 1; fi
    done
    for i in $(seq 50); do o_ofctl show "$BR" >/dev/null 2>&1 && return 0; sleep 0.1; done
    log "ours: $OURS_D/$BR.mgmt does not answer"; return 1
}

sut_flows() {
    local scen=$1 n=${2:-1} f
    o_ofctl del-flows "$BR" || return 1
    case $scen in
    normal) o_ofctl add-flow "$BR" "priority=0,actions=NORMAL" ;;
    single) o_ofctl add-flow "$BR" "in_port=1,actions=output:2" && o_ofctl add-flow "$BR" "in_port=2,actions=output:1" ;;
    nflows)
        f=$WORKDIR/flows-ours-$n.txt
        { echo "priority=1,in_port=1,actions=output:2"; echo "priority=1,in_port=2,actions=output:1"; flow_rules "$n"; } >"$f"
        o_ofctl add-flows "$BR" "$f" ;;
    *) return 2 ;;
    esac
}

# OURS_PID is the subshell of "swx ... &"; vswitchd is its child
sut_pids() { [ -n "${OURS_PID:-}" ] && descendants "$OURS_PID"; }

# "packets busy_ns" summed over the polling threads
_ours_pmd() { o_appctl dpif-netdev/pmd-stats-show 2>/dev/null | awk '/packets received:/{p+=$3} /processing ns:/{n+=$3} END{print p+0, n+0}'; }
sut_window_begin() { OURS_W0=$(_ours_pmd); }
sut_window_end() {
    local w1 f
    w1=$(_ours_pmd)
    f=$WORKDIR/ours-window-${OURS_PORT_TYPE}-${SCENARIO:-x}-${FLOWS:-x}-$(date +%H%M%S).txt
    { echo "== $(sut_info)"; o_appctl dpif-netdev/pmd-stats-show; echo "== datapath flows: $(o_appctl dpctl/dump-flows 2>/dev/null | wc -l)";
      echo "== openflow rules: $(o_ofctl dump-flows "$BR" 2>/dev/null | grep -c 'actions=')"; } >"$f" 2>&1
    SUT_NOTE=$(awk -v a="$OURS_W0" -v b="$w1" -v mhz="$(awk '/cpu MHz/{print $4; exit}' /proc/cpuinfo)" -v fl="$(o_appctl dpctl/dump-flows 2>/dev/null | wc -l)" 'BEGIN{
        split(a,x," "); split(b,y," "); p=y[1]-x[1]; n=y[2]-x[2];
        if (p>0) printf "pmd_pkts=%d pmd_ns_per_pkt=%.0f pmd_cycles_per_pkt=%.0f dp_flows=%d", p, n/p, n/p*mhz/1000, fl;
        else printf "pmd_pkts=0 dp_flows=%d", fl }')
    SUT_NOTE="$SUT_NOTE window=$f"
}

sut_stop() {
    [ -n "${OURS_PID:-}" ] || return 0
    o_appctl exit >/dev/null 2>&1 || true
    local i
    for i in $(seq 50); do kill -0 "$OURS_PID" 2>/dev/null || break; sleep 0.1; done
    kill_tree "$OURS_PID"
    wait "$OURS_PID" 2>/dev/null || true
    OURS_PID=
}
