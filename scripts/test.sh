#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, property and
# end-to-end tests (cargo-nextest), doc tests, and a short fuzz run.
#
# Installs what it needs on a Debian machine when it is missing (as root),
# and fails loudly, naming the missing piece, when it cannot.
#
# Environment:
#   FUZZ_SECONDS   length of each fuzz run (default 30; 0 skips fuzzing)
#   INSTALL_FUZZ   1 installs cargo-fuzz when missing (default: 1 under CI)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# --- prerequisites -------------------------------------------------------
apt_updated=0
need_pkg() { # need_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "'$1' is missing: install the Debian package '$2' (apt-get install -y $2)"
    fi
    if [ $apt_updated -eq 0 ]; then
        apt-get update -qq || die "apt-get update failed; cannot install $2"
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null \
        || die "apt-get install $2 failed; '$1' is needed"
    command -v "$1" >/dev/null 2>&1 || die "'$1' still missing after installing $2"
}

need_pkg_force() { # need_pkg_force PACKAGE: install unconditionally
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "install the Debian package '$1' (apt-get install -y $1)"
    fi
    if [ $apt_updated -eq 0 ]; then
        apt-get update -qq || die "apt-get update failed; cannot install $1"
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null \
        || die "apt-get install $1 failed"
}

command -v cargo >/dev/null 2>&1 || die "cargo is missing: install a Rust toolchain (rustup, Rust >= 1.95)"
need_pkg cc gcc
need_pkg git git
need_pkg ip iproute2
need_pkg python3 python3
need_pkg iperf3 iperf3
need_pkg ping iputils-ping
need_pkg ethtool ethtool
# Real Open vSwitch tools are the reference peers of the interop tests. Keep
# apt from starting its services: the tests start their own, in temp dirs.
if ! command -v ovsdb-server >/dev/null 2>&1 || ! command -v ovs-vsctl >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        need_pkg ovsdb-server openvswitch-switch
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    else
        need_pkg ovsdb-server openvswitch-switch
    fi
fi
need_pkg ovs-vsctl openvswitch-common
# The Python IDL tests use Debian's interpreter, where python3-openvswitch installs.
/usr/bin/python3 -c 'import ovs.db.idl' 2>/dev/null || need_pkg_force python3-openvswitch
if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install cargo-nextest --locked || die "cargo-nextest is missing and could not be installed (cargo install cargo-nextest)"
fi

# --- static checks -------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check || die "code is not formatted: run 'cargo fmt --all'"

say "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# --- tests ---------------------------------------------------------------
say "doc tests"
cargo test --workspace --doc --quiet

say "building every binary (end-to-end tests run them)"
cargo build --workspace --bins --quiet

say "cargo nextest (unit, property and end-to-end tests)"
nextest_log=$(mktemp /tmp/nextest.XXXXXX)
trap 'rm -f "$nextest_log"' EXIT
cargo nextest run --workspace --all-targets --no-fail-fast 2>&1 | tee "$nextest_log"
summary=$(grep -E '^ *Summary .* tests? run: ' "$nextest_log" | tail -n 1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
[ -n "$passed" ] || die "could not read the nextest summary"

# --- fuzzing -------------------------------------------------------------
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
INSTALL_FUZZ=${INSTALL_FUZZ:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}
if [ "$FUZZ_SECONDS" != 0 ]; then
    if ! cargo fuzz --version >/dev/null 2>&1 && [ "$INSTALL_FUZZ" = 1 ]; then
        say "installing cargo-fuzz"
        cargo install cargo-fuzz --locked || die "cargo-fuzz could not be installed"
    fi
    if cargo fuzz --version >/dev/null 2>&1; then
        # cargo-fuzz needs nightly-only flags; the stable toolchain accepts
        # them with RUSTC_BOOTSTRAP (there is no other toolchain here).
        for target in $(cd fuzz && cargo fuzz list); do
            say "fuzzing $target for ${FUZZ_SECONDS}s"
            corpus="fuzz/corpus/$target"
            work=$(mktemp -d "/tmp/fuzz-$target.XXXXXX")
            cp -r "$corpus"/. "$work"/ 2>/dev/null || true
            log="$work.log"
            if (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$work" -- \
                    -max_total_time="$FUZZ_SECONDS" -print_final_stats=1) >"$log" 2>&1; then
                grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log" || tail -n 5 "$log"
            else
                grep -v '^INFO:\|^#[0-9]' "$log" | tail -n 60
                rm -rf "$work" "$log"
                die "fuzz target $target failed: the crashing input is in fuzz/artifacts/$target/"
            fi
            rm -f "$log"
            rm -rf "$work"
        done
    else
        say "NOT fuzzing: cargo-fuzz is not installed (cargo install cargo-fuzz, or INSTALL_FUZZ=1)"
    fi
fi

say "all tests passed"
echo "tests: ${passed} passed, ${failed:-0} failed"
