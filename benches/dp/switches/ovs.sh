# shellcheck shell=bash
# Open vSwitch plugin: the shared harness's own (this directory is BENCH_DIR for the run).
# shellcheck disable=SC1091
. "${SHARED:-/work/shared/bench}/switches/ovs.sh"
