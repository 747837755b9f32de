//! The daemon's OpenFlow management socket (`<rundir>/<bridge>.mgmt`) as the
//! real `ovs-ofctl` and our `ofctl` use it, in OpenFlow 1.0 and 1.3: show,
//! add/dump/del flows (multi-table in 1.3), aggregate, port statistics,
//! table features (which `ovs-ofctl` 1.3 needs before any flow command),
//! and errors for bad requests.

use std::process::{Command, Output};
use tests::daemon::OurDaemon;
use tests::{our_bin, require, run, unique_name};

struct Sw {
    d: OurDaemon,
    br: String,
}

impl Sw {
    fn new() -> Sw {
        require("ovs-ofctl", "openvswitch-common");
        let d = OurDaemon::start(&[]);
        let br = unique_name("rof", 15);
        d.ovs_vsctl(&["init"]);
        d.ovs_vsctl(&[
            "add-br",
            &br,
            "--",
            "add-port",
            &br,
            "d1",
            "--",
            "set",
            "Interface",
            "d1",
            "type=dummy",
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
        let sw = Sw { d, br };
        // A bridge without controllers starts with the NORMAL flow, as in
        // Open vSwitch; these tests start from empty tables.
        let dump = sw.ok("ovs-ofctl", &["dump-flows", &sw.br]);
        assert!(dump.contains("priority=0 actions=NORMAL"), "{dump}");
        sw.ok("ovs-ofctl", &["del-flows", &sw.br]);
        sw
    }

    fn tool(&self, bin: &str, args: &[&str]) -> Output {
        let prog = if bin == "ovs-ofctl" {
            "ovs-ofctl".into()
        } else {
            our_bin("ofctl")
        };
        run(Command::new(prog)
            .env("OVS_RUNDIR", self.d.path())
            .args(args))
    }

    fn ok(&self, bin: &str, args: &[&str]) -> String {
        let out = self.tool(bin, args);
        assert!(
            out.status.success(),
            "{bin} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Flow lines without the header and the varying duration.
fn flows(dump: &str) -> Vec<String> {
    let mut v: Vec<String> = dump
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| {
            l.split(", ")
                .filter(|f| !f.trim_start().starts_with("duration="))
                .collect::<Vec<_>>()
                .join(", ")
                .trim()
                .to_owned()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn ovs_ofctl_and_ofctl_program_and_dump_flows_in_1_0_and_1_3() {
    let sw = Sw::new();
    let br = sw.br.as_str();
    for bin in ["ovs-ofctl", "ofctl"] {
        // show: both ports and LOCAL, by name.
        let show = sw.ok(bin, &["show", br]);
        assert!(show.contains("1(d1)") && show.contains("2(d2)"), "{show}");
        assert!(show.contains(&format!("LOCAL({br})")), "{show}");
        assert!(show.contains("n_tables:254"), "{show}");

        sw.ok(
            bin,
            &[
                "add-flow",
                br,
                "priority=100,in_port=1,ip,nw_src=10.0.0.0/8,actions=output:2",
            ],
        );
        sw.ok(bin, &["-O", "OpenFlow13", "add-flow", br,
            "table=1,priority=5,tcp,tp_dst=80,actions=push_vlan:0x8100,set_field:5->vlan_pcp,output:1"]);
        sw.ok(
            bin,
            &[
                "-O",
                "OpenFlow13",
                "add-flow",
                br,
                "priority=1,actions=goto_table:1",
            ],
        );
        let want13 = vec![
            "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=1 actions=goto_table:1".to_owned(),
            "cookie=0x0, table=0, n_packets=0, n_bytes=0, priority=100,ip,in_port=1,nw_src=10.0.0.0/8 actions=output:2".to_owned(),
            "cookie=0x0, table=1, n_packets=0, n_bytes=0, priority=5,tcp,tp_dst=80 actions=push_vlan:0x8100,set_field:5->vlan_pcp,output:1".to_owned(),
        ];
        let got = flows(&sw.ok(bin, &["-O", "OpenFlow13", "dump-flows", br]));
        assert_eq!(got, want13, "{bin} 1.3 dump");
        // 1.0 cannot express goto_table or push_vlan: the two flows it can.
        let got10 = flows(&sw.ok(bin, &["dump-flows", br, "ip"]));
        assert_eq!(got10.len(), 1, "{got10:?}");
        assert!(
            got10[0].contains("nw_src=10.0.0.0/8 actions=output:2"),
            "{got10:?}"
        );
        // The pipeline's decision, as ofproto/trace explains it (datapath
        // port 2 is d2: ports are numbered in name order).
        let out =
            sw.d.ovs_appctl(&["ofproto/trace", br, "in_port=1,ip,nw_src=10.1.2.3"]);
        let trace = String::from_utf8_lossy(&out.stdout);
        assert!(trace.contains("Datapath actions: 2"), "{trace}");
        assert!(trace.contains("Megaflow: "), "{trace}");
        // A filtered dump: only table 1.
        let t1 = flows(&sw.ok(bin, &["-O", "OpenFlow13", "dump-flows", br, "table=1"]));
        assert_eq!(t1, want13[2..].to_vec());
        let agg = sw.ok(bin, &["-O", "OpenFlow13", "dump-aggregate", br]);
        assert!(agg.contains("flow_count=3"), "{agg}");
        // Port statistics for every port, and by name (the real tool; our
        // ofctl's dump-ports is tested in its own suite).
        if bin == "ovs-ofctl" {
            let ports = sw.ok(bin, &["-O", "OpenFlow13", "dump-ports", br]);
            assert!(ports.contains("3 ports"), "{ports}");
            let p1 = sw.ok(bin, &["dump-ports", br, "d1"]);
            assert!(p1.contains("port  1: rx pkts=0"), "{p1}");
        }

        // Strict delete of one flow, then everything.
        sw.ok(
            bin,
            &[
                "--strict",
                "del-flows",
                br,
                "priority=100,in_port=1,ip,nw_src=10.0.0.0/8",
            ],
        );
        assert_eq!(
            flows(&sw.ok(bin, &["-O", "OpenFlow13", "dump-flows", br])).len(),
            2
        );
        sw.ok(bin, &["-O", "OpenFlow13", "del-flows", br]);
        assert!(flows(&sw.ok(bin, &["-O", "OpenFlow13", "dump-flows", br])).is_empty());
    }
    // Table features: the eight required properties per table, parsed by
    // the real ovs-ofctl.
    let tf = sw.ok(
        "ovs-ofctl",
        &["-O", "OpenFlow13", "dump-table-features", br],
    );
    assert!(
        tf.contains("table 0 (\"classifier\")") && tf.contains("next tables: 1-253"),
        "{tf}"
    );
    assert!(
        tf.contains("goto_table") && tf.contains("set_field"),
        "{tf}"
    );
}

#[test]
fn bad_flow_mods_get_openflow_errors_and_the_session_survives() {
    let sw = Sw::new();
    let br = sw.br.as_str();
    // Table 254 exists in the pipeline but is not offered (n_tables 254).
    let out = sw.tool(
        "ovs-ofctl",
        &["-O", "OpenFlow13", "add-flow", br, "table=254,actions=drop"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OFPBRC_BAD_TABLE_ID") || err.contains("BAD_TABLE"),
        "{err}"
    );
    // goto_table backwards is refused by the switch.
    let out = sw.tool(
        "ovs-ofctl",
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            br,
            "table=3,actions=goto_table:2",
        ],
    );
    assert!(!out.status.success(), "goto_table backwards accepted");
    // The switch still answers.
    sw.ok(
        "ovs-ofctl",
        &["-O", "OpenFlow13", "add-flow", br, "table=3,actions=drop"],
    );
    assert_eq!(
        flows(&sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "dump-flows", br])).len(),
        1
    );
}

#[test]
fn groups_and_meters_over_openflow_1_3() {
    let sw = Sw::new();
    let br = sw.br.as_str();
    sw.ok(
        "ovs-ofctl",
        &[
            "-O",
            "OpenFlow13",
            "add-group",
            br,
            "group_id=1,type=select,bucket=weight:5,output:1,bucket=weight:7,output:2",
        ],
    );
    let groups = sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "dump-groups", br]);
    assert!(
        groups.contains("group_id=1,type=select,bucket=weight:5,actions=output:1,bucket=weight:7,actions=output:2"),
        "{groups}"
    );
    sw.ok(
        "ovs-ofctl",
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            br,
            "in_port=1,actions=group:1",
        ],
    );
    let stats = sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "dump-group-stats", br]);
    assert!(
        stats.contains("group_id=1") && stats.contains("ref_count=1"),
        "{stats}"
    );
    // A flow to a group that does not exist is refused.
    let out = sw.tool(
        "ovs-ofctl",
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            br,
            "in_port=2,actions=group:9",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("OFPBAC_BAD_OUT_GROUP"));

    sw.ok(
        "ovs-ofctl",
        &[
            "-O",
            "OpenFlow13",
            "add-meter",
            br,
            "meter=1,kbps,band=type=drop,rate=1000",
        ],
    );
    let meters = sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "dump-meters", br]);
    assert!(
        meters.contains("meter=1 kbps bands=") && meters.contains("type=drop rate=1000"),
        "{meters}"
    );
    sw.ok(
        "ovs-ofctl",
        &[
            "-O",
            "OpenFlow13",
            "add-flow",
            br,
            "in_port=2,actions=meter:1,output:1",
        ],
    );
    let ms = sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "meter-stats", br]);
    assert!(ms.contains("meter:1 flow_count:1"), "{ms}");

    // Deleting the group removes the flow that uses it.
    sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "del-groups", br]);
    let flows = flows(&sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "dump-flows", br]));
    assert!(flows.iter().all(|f| !f.contains("group:1")), "{flows:?}");
    assert!(flows.iter().any(|f| f.contains("meter:1")), "{flows:?}");
}

#[test]
fn bundles_are_all_or_nothing() {
    let sw = Sw::new();
    let br = sw.br.as_str();
    let dir = tests::TempDir::new("rbun");
    let good = dir.join("good.txt");
    std::fs::write(
        &good,
        "priority=1,in_port=1,actions=drop\npriority=2,in_port=1,actions=output:2\n",
    )
    .unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(
        &bad,
        "priority=3,in_port=2,actions=drop\npriority=4,in_port=2,actions=group:77\n",
    )
    .unwrap();
    // OpenFlow 1.4 bundles, and 1.3's ONF extension (ovs-ofctl).
    for (bin, ver) in [
        ("ovs-ofctl", "OpenFlow14"),
        ("ofctl", "OpenFlow14"),
        ("ovs-ofctl", "OpenFlow13"),
    ] {
        sw.ok("ovs-ofctl", &["del-flows", br]);
        sw.ok(
            bin,
            &[
                "-O",
                ver,
                "--bundle",
                "add-flows",
                br,
                good.to_str().unwrap(),
            ],
        );
        assert_eq!(
            flows(&sw.ok("ovs-ofctl", &["-O", "OpenFlow14", "dump-flows", br])).len(),
            2
        );
        // The second flow refers to a group that does not exist: nothing
        // of the bundle is applied.
        let out = sw.tool(
            bin,
            &[
                "-O",
                ver,
                "--bundle",
                "add-flows",
                br,
                bad.to_str().unwrap(),
            ],
        );
        assert!(
            !out.status.success(),
            "{bin} {ver}: a bundle with a bad flow succeeded"
        );
        let after = flows(&sw.ok("ovs-ofctl", &["-O", "OpenFlow14", "dump-flows", br]));
        assert_eq!(
            after.len(),
            2,
            "{bin} {ver}: partial bundle applied: {after:?}"
        );
    }
}

/// A table far larger than one 64 KiB reply: dumps come in many multipart
/// messages (in 1.0 and 1.3, to both tools) and hold every flow exactly
/// once; flows 1.0 cannot express are left out of 1.0 dumps wherever they
/// fall; deleting them all leaves the table empty, and a bundle loads them
/// again.
#[test]
fn thousands_of_flows_dump_in_many_messages_and_delete_at_once() {
    let sw = Sw::new();
    let br = sw.br.as_str();
    let n = 6000u32;
    let mut text = String::new();
    let mut want10 = Vec::new();
    for i in 0..n {
        let (a, b) = (i / 256, i % 256);
        if i % 1000 == 500 {
            // goto_table: OpenFlow 1.3 only.
            text.push_str(&format!(
                "table=0,priority=7,ip,nw_src=10.9.{a}.{b},actions=goto_table:3\n"
            ));
        } else {
            let line = format!(
                "table=0,priority={},udp,in_port=1,nw_dst=10.{a}.{b}.1,tp_dst={i},actions=output:2",
                100 + i % 3
            );
            want10.push(line.clone());
            text.push_str(&line);
            text.push('\n');
        }
    }
    let file = sw.d.path().join("many.flows");
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();
    let count = |dump: &str| dump.lines().filter(|l| l.contains("actions=")).count();
    sw.ok("ofctl", &["-O", "OpenFlow13", "add-flows", br, file]);
    for bin in ["ovs-ofctl", "ofctl"] {
        let d13 = sw.ok(bin, &["-O", "OpenFlow13", "dump-flows", br]);
        assert_eq!(count(&d13), n as usize, "{bin} 1.3");
        let d10 = sw.ok(bin, &["-O", "OpenFlow10", "dump-flows", br]);
        let got = flows(&d10);
        assert_eq!(got.len(), want10.len(), "{bin} 1.0");
        assert!(
            d10.lines().filter(|l| l.contains("reply")).count() > 1,
            "{bin}: one message?"
        );
        // Each flow exactly once.
        let mut uniq = got.clone();
        uniq.dedup();
        assert_eq!(uniq.len(), got.len(), "{bin}: duplicates");
        for l in [
            "nw_dst=10.0.7.1,tp_dst=7 ",
            "nw_dst=10.23.111.1,tp_dst=5999 ",
        ] {
            assert!(got.iter().any(|g| g.contains(l)), "{bin}: {l} missing");
        }
    }
    // Aggregate agrees.
    let agg = sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "dump-aggregate", br]);
    assert!(agg.contains(&format!("flow_count={n}")), "{agg}");
    sw.ok("ovs-ofctl", &["del-flows", br]);
    assert_eq!(count(&sw.ok("ofctl", &["dump-flows", br])), 0);
    sw.ok(
        "ovs-ofctl",
        &["-O", "OpenFlow14", "--bundle", "add-flows", br, file],
    );
    assert_eq!(
        count(&sw.ok("ofctl", &["-O", "OpenFlow13", "dump-flows", br])),
        n as usize
    );
    // A loose delete of part of them.
    sw.ok("ofctl", &["del-flows", br, "udp"]);
    assert_eq!(
        count(&sw.ok("ovs-ofctl", &["-O", "OpenFlow13", "dump-flows", br])),
        6
    );
}
