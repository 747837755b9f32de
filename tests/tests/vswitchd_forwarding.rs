//! End to end through the daemon: two network namespaces joined by veth
//! pairs whose host ends are `system` ports of one bridge. With the default
//! `NORMAL` flow, ping and a TCP transfer (veth offloads left on) work;
//! with OpenFlow flows installed by the real `ovs-ofctl` (1.3), traffic
//! follows them, a drop rule provably drops, and removing it restores
//! traffic at once (the datapath is revalidated before the flow_mod is
//! acknowledged). `dpctl/dump-flows`, `dpif/show` and `fdb/show` report
//! what happened.

use tests::daemon::OurDaemon;
use tests::netns::{iperf3, iperf3_with, two_hosts};
use tests::{our_bin, require, run, unique_name};

fn ofctl(d: &OurDaemon, args: &[&str]) -> String {
    d.ovs_ofctl(args)
}

fn appctl(d: &OurDaemon, args: &[&str]) -> String {
    let out = d.ovs_appctl(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn normal_switching_then_openflow_rules_with_system_ports() {
    require("ovs-ofctl", "openvswitch-common");
    let (a, b, la, lb) = two_hosts("rf", "10.77.0");
    let d = OurDaemon::start(&[]);
    let br = unique_name("rfw", 15);
    d.add_bridge(&br, &[], &[(la.name(), 1), (lb.name(), 2)]);

    // NORMAL (the default flow of a bridge without controllers).
    assert!(a.ping("10.77.0.2", 3), "ping through NORMAL failed");
    let fdb = appctl(&d, &["fdb/show", &br]);
    assert!(fdb.lines().count() >= 3, "{fdb}");
    // A 10 s TCP transfer with the veths' offloads left on.
    let tcp = iperf3_with(&b, &a, "10.77.0.2", &["-t", "10"]);
    assert!(tcp.contains("receiver"), "{tcp}");
    let flows = appctl(&d, &["dpctl/dump-flows"]);
    assert!(
        flows.contains("in_port(") && flows.contains("actions:"),
        "{flows}"
    );
    let cov = appctl(&d, &["coverage/show"]);
    let count = |name: &str| -> u64 {
        cov.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{cov}"))
    };
    assert!(
        count("datapath_upcall") > 0 && count("datapath_packets") > count("datapath_upcall"),
        "{cov}"
    );
    let show = appctl(&d, &["dpif/show"]);
    assert!(
        show.contains(la.name()) && show.contains("(system)"),
        "{show}"
    );

    // OpenFlow rules from the real ovs-ofctl: port 1 <-> port 2 only.
    ofctl(&d, &["-O", "OpenFlow13", "del-flows", &br]);
    assert!(
        !a.ping("10.77.0.2", 1),
        "traffic flowed with no flows at all"
    );
    ofctl(
        &d,
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            &br,
            "in_port=1,actions=output:2",
        ],
    );
    ofctl(
        &d,
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            &br,
            "in_port=2,actions=output:1",
        ],
    );
    assert!(a.ping("10.77.0.2", 3), "ping through explicit flows failed");
    // A higher-priority drop rule for ICMP provably drops...
    ofctl(
        &d,
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            &br,
            "priority=40000,icmp,actions=drop",
        ],
    );
    assert!(!a.ping("10.77.0.2", 2), "ICMP passed a drop rule");
    let dump = ofctl(&d, &["-O", "OpenFlow13", "dump-flows", &br, "icmp"]);
    assert!(
        dump.contains("actions=drop") && !dump.contains("n_packets=0,"),
        "{dump}"
    );
    // ...while TCP still flows, and removing the rule restores ICMP at once.
    let tcp = iperf3(&b, &a, "10.77.0.2");
    assert!(tcp.contains("receiver"), "{tcp}");
    ofctl(
        &d,
        &[
            "-O",
            "OpenFlow13",
            "--strict",
            "del-flows",
            &br,
            "priority=40000,icmp",
        ],
    );
    assert!(
        a.ping("10.77.0.2", 2),
        "ICMP still dropped after the rule went"
    );

    // The same with our ofctl: a wire, then a drop rule.
    let our = |args: &[&str]| {
        let out = run(std::process::Command::new(our_bin("ofctl"))
            .env("OVS_RUNDIR", d.path())
            .args(args));
        assert!(
            out.status.success(),
            "ofctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    our(&["-O", "OpenFlow13", "del-flows", &br]);
    assert!(
        !a.ping("10.77.0.2", 1),
        "traffic flowed with no flows at all"
    );
    our(&["add-flow", &br, "in_port=1,actions=output:2"]);
    our(&["add-flow", &br, "in_port=2,actions=output:1"]);
    assert!(
        a.ping("10.77.0.2", 2),
        "ping through flows from our ofctl failed"
    );
    our(&["add-flow", &br, "priority=40000,icmp,actions=drop"]);
    assert!(!a.ping("10.77.0.2", 2), "ICMP passed our ofctl's drop rule");
}

#[test]
fn a_meter_drops_what_exceeds_its_rate() {
    require("ovs-ofctl", "openvswitch-common");
    let (a, _b, la, lb) = two_hosts("rm", "10.85.0");
    let d = OurDaemon::start(&[]);
    let br = unique_name("rmt", 15);
    d.add_bridge(&br, &[], &[(la.name(), 1), (lb.name(), 2)]);
    // 2 packets per second, burst 2, on ICMP from port 1.
    ofctl(
        &d,
        &[
            "-O",
            "OpenFlow13",
            "add-meter",
            &br,
            "meter=1,pktps,burst,band=type=drop,rate=2,burst_size=2",
        ],
    );
    ofctl(
        &d,
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            &br,
            "priority=100,icmp,in_port=1,actions=meter:1,output:2",
        ],
    );
    assert!(
        a.ping("10.85.0.2", 1),
        "a metered flow under its rate must pass"
    );
    // A flood of 40 pings in 2 s: the meter lets about 2/s (+ burst) pass.
    let (_, out) = a.try_exec(&["ping", "-c", "40", "-i", "0.05", "-W", "1", "10.85.0.2"]);
    let received: u32 = out
        .split(',')
        .find_map(|f| {
            f.trim()
                .strip_suffix(" received")
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no ping summary: {out}"));
    assert!(
        (2..=12).contains(&received),
        "{received} of 40 passed a 2 pkt/s meter: {out}"
    );
    let stats = ofctl(&d, &["-O", "OpenFlow13", "meter-stats", &br]);
    assert!(stats.contains("meter:1 flow_count:1"), "{stats}");
}
