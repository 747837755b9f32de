//! Bridges and ports configured through the database come into effect, and
//! the daemon reports back as Open vSwitch does: the real `ovs-vsctl`
//! *without* `--no-wait` returns once the change is in effect (the
//! `cur_cfg` handshake), `ofport` honours `ofport_request`, a port that
//! cannot be opened gets `ofport` -1 and an `error` while the rest keeps
//! working, and numbers survive a restart.
//!
//! Ports here are `dummy` (in memory) and `internal` (a tap in the test's
//! own network namespace-free name space, uniquely named), so the test
//! needs nothing but the daemon and Debian's `openvswitch-switch`.

use std::process::Command;
use std::time::{Duration, Instant};
use tests::daemon::OurDaemon;
use tests::{our_bin, require, run_ok, unique_name};

fn get(d: &OurDaemon, table: &str, rec: &str, col: &str) -> String {
    d.ovs_vsctl(&["get", table, rec, col]).trim().to_owned()
}

#[test]
fn vsctl_waits_for_the_switch_and_sees_ports_come_up() {
    require("ovs-vsctl", "openvswitch-switch");
    let d = OurDaemon::start(&[]);
    let br = unique_name("rbr", 15);
    let start = Instant::now();
    // No --no-wait anywhere: each call waits for cur_cfg to catch up.
    d.ovs_vsctl(&["init"]);
    d.ovs_vsctl(&["add-br", &br]);
    d.ovs_vsctl(&[
        "add-port",
        &br,
        "d1",
        "--",
        "set",
        "Interface",
        "d1",
        "type=dummy",
        "ofport_request=7",
        "--",
        "add-port",
        &br,
        "d2",
        "--",
        "set",
        "Interface",
        "d2",
        "type=dummy",
    ]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "ovs-vsctl took {:?}",
        start.elapsed()
    );
    assert_eq!(
        get(&d, "Open_vSwitch", ".", "cur_cfg"),
        get(&d, "Open_vSwitch", ".", "next_cfg")
    );

    // The bridge's own port is LOCAL, a real internal (tap) device.
    assert_eq!(get(&d, "Interface", &br, "ofport"), "65534");
    assert_eq!(get(&d, "Interface", &br, "error"), "[]");
    assert!(
        std::path::Path::new(&format!("/sys/class/net/{br}")).exists(),
        "internal port {br} not created"
    );
    assert_eq!(get(&d, "Interface", "d1", "ofport"), "7");
    assert_eq!(get(&d, "Interface", "d2", "ofport"), "1");
    assert_eq!(get(&d, "Interface", "d1", "link_state"), "up");
    assert_eq!(get(&d, "Interface", "d1", "admin_state"), "up");
    let stats = get(&d, "Interface", "d1", "statistics");
    assert!(
        stats.contains("rx_packets=0") && stats.contains("tx_bytes=0"),
        "{stats}"
    );
    let dpid = get(&d, "Bridge", &br, "datapath_id");
    assert_eq!(dpid.trim_matches('"').len(), 16, "{dpid}");
    let types = get(&d, "Open_vSwitch", ".", "iface_types");
    for t in ["dummy", "internal", "system", "tap"] {
        assert!(types.contains(t), "{types}");
    }

    // A system port whose device does not exist: ofport -1 and an error;
    // ovs-vsctl reports it (as it does with ovs-vswitchd) but the others
    // keep their numbers and the switch keeps running.
    let missing = unique_name("rnx", 15);
    let out = Command::new("ovs-vsctl")
        .arg(d.db_arg())
        .args(["--timeout=10", "add-port", &br, &missing])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("could not open network device {missing}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(get(&d, "Interface", &missing, "ofport"), "-1");
    assert!(get(&d, "Interface", &missing, "error").contains("could not open network device"));
    assert_eq!(get(&d, "Interface", "d1", "ofport"), "7");

    // Our vsctl waits the same way.
    run_ok(Command::new(our_bin("vsctl")).arg(d.db_arg()).args([
        "--timeout=10",
        "del-port",
        &br,
        "d2",
    ]));
    assert_eq!(
        get(&d, "Open_vSwitch", ".", "cur_cfg"),
        get(&d, "Open_vSwitch", ".", "next_cfg")
    );
    let show = d.ovs_vsctl(&["show"]);
    assert!(
        !show.contains("\"d2\"") && !show.contains("Port d2"),
        "{show}"
    );

    // A restart keeps the configuration and the port numbers; the missing
    // device is retried and still missing.
    let dir = d.stop();
    assert!(
        !std::path::Path::new(&format!("/sys/class/net/{br}")).exists(),
        "internal port {br} left behind after exit"
    );
    let d = OurDaemon::start_in(dir, &[]);
    d.ovs_vsctl(&[
        "add-port",
        &br,
        "d3",
        "--",
        "set",
        "Interface",
        "d3",
        "type=dummy",
    ]);
    assert_eq!(get(&d, "Interface", "d1", "ofport"), "7");
    assert_eq!(get(&d, "Interface", "d3", "ofport"), "1");
    assert_eq!(get(&d, "Interface", &br, "ofport"), "65534");
    assert_eq!(get(&d, "Interface", &missing, "ofport"), "-1");

    // Deleting the bridge removes its internal device.
    d.ovs_vsctl(&["del-br", &br]);
    assert!(!std::path::Path::new(&format!("/sys/class/net/{br}")).exists());
}
