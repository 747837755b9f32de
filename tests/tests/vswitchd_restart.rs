//! Restarts: the daemon is killed with SIGKILL while traffic flows and
//! started again on the same files: the configuration and ports come back
//! from the database, the OpenFlow flows come back too because the bridge
//! has `other_config:flow-restore=true`, and traffic resumes. A clean exit
//! leaves no tap (the bridge's internal port) behind.

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tests::daemon::OurDaemon;
use tests::netns::two_hosts;
use tests::{require, run, unique_name, wait_for};

fn ofctl(d: &OurDaemon, args: &[&str]) -> String {
    d.ovs_ofctl(args)
}

#[test]
fn sigkill_under_traffic_then_restart_restores_ports_and_flows() {
    require("ovs-ofctl", "openvswitch-common");
    let (a, _b, la, lb) = two_hosts("rr", "10.79.0");
    let br = unique_name("rrs", 15);
    let d = OurDaemon::start(&[]);
    d.add_bridge(
        &br,
        &["other_config:flow-restore=true"],
        &[(la.name(), 1), (lb.name(), 2)],
    );
    ofctl(&d, &["del-flows", &br]);
    ofctl(
        &d,
        &[
            "add-flow",
            &br,
            "priority=77,cookie=0x77,in_port=1,actions=output:2",
        ],
    );
    ofctl(
        &d,
        &[
            "add-flow",
            &br,
            "priority=77,cookie=0x77,in_port=2,actions=output:1",
        ],
    );
    assert!(a.ping("10.79.0.2", 2));
    // Let the flow-restore file be written (at most once a second).
    std::thread::sleep(Duration::from_millis(1500));

    // SIGKILL under traffic.
    let traffic = a.spawn(&["ping", "-i", "0.05", "10.79.0.2"]);
    std::thread::sleep(Duration::from_millis(300));
    let dir = d.kill();
    assert!(
        wait_for(Duration::from_secs(5), || !Path::new(&format!(
            "/sys/class/net/{br}"
        ))
        .exists()),
        "the internal port outlived the daemon"
    );
    assert!(
        !a.ping("10.79.0.2", 1),
        "traffic flowed with the daemon dead"
    );

    // Restart on the same files: ports, numbers and flows come back.
    let d = OurDaemon::start_in(dir, &[]);
    assert!(
        wait_for(Duration::from_secs(10), || {
            d.ovs_vsctl(&["get", "Interface", la.name(), "ofport"])
                .trim()
                == "1"
                && Path::new(&format!("/sys/class/net/{br}")).exists()
        }),
        "ports did not come back"
    );
    assert!(
        wait_for(Duration::from_secs(10), || run(Command::new("ovs-ofctl")
            .env("OVS_RUNDIR", d.path())
            .args(["dump-flows", &br]))
        .status
        .success()),
        "the bridge's OpenFlow socket did not come back"
    );
    let flows = ofctl(&d, &["dump-flows", &br]);
    assert_eq!(flows.matches("cookie=0x77").count(), 2, "{flows}");
    assert!(
        !flows.contains("actions=NORMAL"),
        "default flow added over restored ones: {flows}"
    );
    assert!(
        wait_for(Duration::from_secs(10), || a.ping("10.79.0.2", 1)),
        "traffic did not resume after the restart:\n{}\n{}",
        String::from_utf8_lossy(&d.ovs_appctl(&["dpctl/dump-flows"]).stdout),
        d.log()
    );
    drop(traffic);

    // A clean exit removes the bridge's tap.
    let _dir = d.stop();
    assert!(
        wait_for(Duration::from_secs(5), || !Path::new(&format!(
            "/sys/class/net/{br}"
        ))
        .exists()),
        "tap {br} left behind after a clean exit"
    );
}
