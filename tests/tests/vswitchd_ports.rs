//! More port types through the daemon: `afxdp` ports (NORMAL switching
//! between two namespaces, ping and TCP), and two bridges joined by a pair
//! of `patch` ports.

use std::process::Command;
use tests::daemon::OurDaemon;
use tests::netns::{Netns, iperf3_with, two_hosts};
use tests::{run, unique_name};

/// AF_XDP carries no checksum state: the namespace side computes its own.
fn tx_csum_off(ns: &Netns) {
    ns.exec(&["ethtool", "-K", "eth0", "tx", "off"]);
}

#[test]
fn afxdp_ports_switch_ping_and_tcp() {
    let (a, b, la, lb) = two_hosts("rx", "10.81.0");
    tx_csum_off(&a);
    tx_csum_off(&b);
    let d = OurDaemon::start(&[]);
    let br = unique_name("rxb", 15);
    d.ovs_vsctl(&["init"]);
    d.ovs_vsctl(&[
        "add-br",
        &br,
        "--",
        "add-port",
        &br,
        la.name(),
        "--",
        "set",
        "Interface",
        la.name(),
        "type=afxdp",
        "--",
        "add-port",
        &br,
        lb.name(),
        "--",
        "set",
        "Interface",
        lb.name(),
        "type=afxdp",
    ]);
    for l in [&la, &lb] {
        let err = d.ovs_vsctl(&["get", "Interface", l.name(), "error"]);
        assert_eq!(err.trim(), "[]", "{}: {err}", l.name());
    }
    assert!(a.ping("10.81.0.2", 3), "ping over afxdp ports failed");
    let tcp = iperf3_with(&b, &a, "10.81.0.2", &["-t", "10"]);
    assert!(tcp.contains("receiver"), "{tcp}");
    let show = String::from_utf8_lossy(&d.ovs_appctl(&["dpif/show"]).stdout).into_owned();
    assert!(show.contains("(afxdp)"), "{show}");
}

#[test]
fn patch_ports_join_two_bridges() {
    let (a, _b, la, lb) = two_hosts("rp", "10.82.0");
    let d = OurDaemon::start(&[]);
    let (b1, b2) = (unique_name("rp1", 15), unique_name("rp2", 15));
    let (p1, p2) = (unique_name("pa", 15), unique_name("pb", 15));
    d.ovs_vsctl(&["init"]);
    d.ovs_vsctl(&[
        "add-br",
        &b1,
        "--",
        "add-port",
        &b1,
        la.name(),
        "--",
        "add-port",
        &b1,
        &p1,
        "--",
        "set",
        "Interface",
        &p1,
        "type=patch",
        &format!("options:peer={p2}"),
    ]);
    d.ovs_vsctl(&[
        "add-br",
        &b2,
        "--",
        "add-port",
        &b2,
        lb.name(),
        "--",
        "add-port",
        &b2,
        &p2,
        "--",
        "set",
        "Interface",
        &p2,
        "type=patch",
        &format!("options:peer={p1}"),
    ]);
    for p in [&p1, &p2] {
        let err = d.ovs_vsctl(&["get", "Interface", p, "error"]);
        assert_eq!(err.trim(), "[]", "{p}: {err}");
    }
    assert!(a.ping("10.82.0.2", 3), "ping across the patch failed");
    // Both bridges learned the far side through their patch port.
    for br in [&b1, &b2] {
        let out = run(Command::new("ovs-appctl")
            .env("OVS_RUNDIR", d.path())
            .args(["fdb/show", br]));
        let fdb = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(fdb.lines().count() >= 3, "{br}: {fdb}");
    }
}
