//! Our `ofctl` against a real `ovs-vswitchd` (userspace datapath, private
//! run directory), with the real `ovs-ofctl` as the oracle: what we print
//! must equal what `ovs-ofctl` prints for the same bridge (durations and
//! ages masked), and what we change must be what `ovs-ofctl` reads back.
//!
//! Needs Debian's `openvswitch-switch`; `cargo build -p ofctl` first (or
//! ./scripts/test.sh).

use std::process::Output;
use tests::real_ovs::RealOvsVswitchd;
use tests::{TempDir, our_bin, run};

const VERSIONS: [&str; 2] = ["OpenFlow10", "OpenFlow13"];

fn ours(ovs: &RealOvsVswitchd, args: &[&str]) -> Output {
    run(ovs.tool(our_bin("ofctl")).args(args))
}

fn ours_ok(ovs: &RealOvsVswitchd, args: &[&str]) -> String {
    let out = ours(ovs, args);
    assert!(
        out.status.success(),
        "ofctl {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Replaces the numbers after `duration=`, `idle_age=` and `hard_age=`
/// (they depend on when each tool asked).
fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["duration=", "duration:", "idle_age=", "hard_age="]
            .iter()
            .filter_map(|k| rest.find(k).map(|i| (i, k.len())))
            .min();
        let Some((i, klen)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + klen]);
        out.push('?');
        rest = &rest[i + klen..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 's'))
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
}

/// The same command through `ovs-ofctl` and through ours, outputs equal
/// after masking.
fn same_output(ovs: &RealOvsVswitchd, args: &[&str]) {
    let theirs = mask(&ovs.ovs_ofctl(args));
    let mine = mask(&ours_ok(ovs, args));
    if theirs != mine {
        let first = theirs
            .lines()
            .zip(mine.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(theirs.lines().count().min(mine.lines().count()));
        panic!(
            "`{args:?}` differs from ovs-ofctl at line {} (ovs-ofctl {} lines, ours {}):\n\
             ovs-ofctl: {:?}\nours:      {:?}",
            first + 1,
            theirs.lines().count(),
            mine.lines().count(),
            theirs.lines().nth(first),
            mine.lines().nth(first)
        );
    }
}

/// A flow file of `n` distinct flows covering L2/L3/L4 matches, masks,
/// cookies, timeouts, several tables and the common actions, all of which
/// OpenFlow 1.0 and 1.3 both express.
fn flow_file(n: usize) -> String {
    let mut s = String::from("# generated flows\n\n");
    for i in 0..n {
        let p = 1000 + i;
        let (a, b) = ((i >> 8) & 255, i & 255);
        let line = match i % 10 {
            0 => format!(
                "priority={p},in_port={},actions=output:{}",
                i % 4 + 1,
                i % 3 + 1
            ),
            1 => format!(
                "priority={p},dl_src=00:00:00:00:{a:02x}:{b:02x},dl_dst=02:00:00:00:{a:02x}:{b:02x},actions=mod_vlan_vid:{},output:2",
                i % 4000 + 1
            ),
            2 => format!("priority={p},ip,nw_src=10.{a}.{b}.0/24,actions=drop"),
            3 => format!(
                "priority={p},tcp,nw_dst=192.168.{a}.{b},tp_dst={},actions=mod_nw_src:1.2.3.4,mod_tp_dst:8080,output:1",
                1000 + i
            ),
            4 => format!("cookie={i:#x},priority={p},udp,tp_src={i},actions=NORMAL"),
            5 => format!(
                "priority={p},dl_vlan={},actions=mod_vlan_pcp:3,output:3",
                i % 4095
            ),
            6 => format!(
                "priority={p},hard_timeout=3600,icmp,icmp_type=8,nw_src=172.16.{a}.{b},actions=output:2,output:3"
            ),
            7 => format!(
                "priority={p},idle_timeout=3600,arp,in_port=2,dl_src=00:11:00:00:{a:02x}:{b:02x},actions=CONTROLLER:128"
            ),
            8 => format!(
                "priority={p},ip,nw_tos=32,nw_dst=10.99.{a}.{b},actions=mod_dl_dst:00:00:00:00:00:{b:02x},mod_nw_dst:10.0.0.1,output:1"
            ),
            _ => format!(
                "table={},priority={p},tcp,tp_src={i},actions=output:{}",
                1 + i % 3,
                i % 3 + 1
            ),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}

fn flow_count(ovs: &RealOvsVswitchd, v: &str) -> usize {
    ovs.ovs_ofctl(&["-O", v, "--no-stats", "--sort", "dump-flows", ovs.bridge()])
        .lines()
        .count()
}

fn thousand_flows(v: &str) {
    let ovs = RealOvsVswitchd::start();
    let br = ovs.bridge().to_string();
    let dir = TempDir::new("ofctl1k");
    let file = dir.join("flows.txt");
    std::fs::write(&file, flow_file(1000)).unwrap();
    let file = file.to_str().unwrap();

    // What we install equals what ovs-ofctl installs from the same file.
    let table = |ovs: &RealOvsVswitchd| {
        ovs.ovs_ofctl(&["-O", v, "--no-stats", "--sort", "dump-flows", ovs.bridge()])
    };
    ovs.ovs_ofctl(&["-O", v, "del-flows", &br]);
    ovs.ovs_ofctl(&["-O", v, "add-flows", &br, file]);
    let by_ovs = table(&ovs);
    ours_ok(&ovs, &["-O", v, "del-flows", &br]);
    assert_eq!(flow_count(&ovs, v), 0);
    ours_ok(&ovs, &["-O", v, "add-flows", &br, file]);
    let by_us = table(&ovs);
    assert_eq!(by_us.lines().count(), 1000);
    if by_us != by_ovs {
        let d: Vec<_> = by_ovs
            .lines()
            .zip(by_us.lines())
            .filter(|(a, b)| a != b)
            .take(3)
            .collect();
        panic!("flows installed by ofctl differ from ovs-ofctl's: {d:?}");
    }
    assert_eq!(flow_count(&ovs, v), 1000);

    // Dumps equal ovs-ofctl's, in both versions whichever added the flows.
    for dv in VERSIONS {
        for opts in [
            &[][..],
            &["--sort"],
            &["--rsort"],
            &["--sort=tcp_dst"],
            &["--rsort=ip_src"],
            &["--sort=in_port", "--rsort=dl_src"],
            &["--no-stats"],
            &["--names"],
            &["--no-names"],
        ] {
            let mut args = vec!["-O", dv];
            args.extend_from_slice(opts);
            args.extend_from_slice(&["dump-flows", &br]);
            same_output(&ovs, &args);
        }
        same_output(&ovs, &["-O", dv, "dump-flows", &br, "tcp"]);
        same_output(&ovs, &["-O", dv, "dump-flows", &br, "table=2"]);
        same_output(
            &ovs,
            &["-O", dv, "dump-flows", &br, "cookie=0x4/0xffffffffffffffff"],
        );
        same_output(&ovs, &["-O", dv, "dump-aggregate", &br]);
        same_output(&ovs, &["-O", dv, "dump-aggregate", &br, "ip"]);
    }

    // mod-flows: non-strict over a match, then strict on one flow.
    ours_ok(&ovs, &["-O", v, "mod-flows", &br, "udp,actions=output:4"]);
    let udp = ovs.ovs_ofctl(&["-O", v, "--no-stats", "dump-flows", &br, "udp"]);
    assert_eq!(udp.lines().count(), 100, "{udp}");
    assert!(
        udp.lines().all(|l| l.ends_with("actions=output:4")),
        "{udp}"
    );
    ours_ok(
        &ovs,
        &[
            "-O",
            v,
            "--strict",
            "mod-flows",
            &br,
            "priority=1004,udp,tp_src=4,actions=drop",
        ],
    );
    let one = ovs.ovs_ofctl(&["-O", v, "--no-stats", "dump-flows", &br, "udp,tp_src=4"]);
    assert!(one.contains("actions=drop"), "{one}");

    // del-flows: strict (one flow), a match (100), then everything.
    ours_ok(
        &ovs,
        &[
            "-O",
            v,
            "--strict",
            "del-flows",
            &br,
            "priority=1002,ip,nw_src=10.0.2.0/24",
        ],
    );
    assert_eq!(flow_count(&ovs, v), 999);
    ours_ok(&ovs, &["-O", v, "del-flows", &br, "icmp"]);
    assert_eq!(flow_count(&ovs, v), 899);
    same_output(&ovs, &["-O", v, "dump-flows", &br]);
    ours_ok(&ovs, &["-O", v, "del-flows", &br]);
    assert_eq!(flow_count(&ovs, v), 0);
    same_output(&ovs, &["-O", v, "dump-flows", &br]);
}

#[test]
fn thousand_flows_openflow10() {
    thousand_flows("OpenFlow10");
}

#[test]
fn thousand_flows_openflow13() {
    thousand_flows("OpenFlow13");
}

#[test]
fn switch_descriptions_equal_ovs_ofctl() {
    let ovs = RealOvsVswitchd::start();
    ovs.add_port("p1", 1);
    ovs.add_port("p2", 7);
    let br = ovs.bridge().to_string();
    for v in VERSIONS {
        for cmd in [
            &["show", &br][..],
            &["dump-desc", &br],
            &["dump-ports-desc", &br],
            &["dump-ports-desc", &br, "1"],
            &["dump-tables", &br],
        ] {
            let mut args = vec!["-O", v];
            args.extend_from_slice(cmd);
            same_output(&ovs, &args);
        }
    }
    // The default protocol is OpenFlow 1.0, as for ovs-ofctl.
    same_output(&ovs, &["show", &br]);
}

#[test]
fn targets_bridge_unix_path_and_tcp() {
    let ovs = RealOvsVswitchd::start();
    let br = ovs.bridge().to_string();
    ours_ok(&ovs, &["add-flow", &br, "priority=7,actions=drop"]);
    let unix = format!("unix:{}", ovs.mgmt().display());
    let via_unix = ours_ok(&ovs, &["--no-stats", "dump-flows", &unix]);
    assert!(via_unix.contains("priority=7 actions=drop"), "{via_unix}");
    // A bare socket path works too.
    let via_path = ours_ok(
        &ovs,
        &["--no-stats", "dump-flows", ovs.mgmt().to_str().unwrap()],
    );
    assert_eq!(via_path, via_unix);

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    ovs.vsctl(&["set-controller", &br, &format!("ptcp:{port}:127.0.0.1")]);
    let tcp = format!("tcp:127.0.0.1:{port}");
    let mut via_tcp = String::new();
    assert!(
        tests::wait_for(std::time::Duration::from_secs(10), || {
            let o = ours(&ovs, &["--no-stats", "dump-flows", &tcp]);
            via_tcp = String::from_utf8_lossy(&o.stdout).into_owned();
            o.status.success()
        }),
        "no OpenFlow listener on {tcp}"
    );
    assert_eq!(via_tcp, via_unix);
}

#[test]
fn packet_out_is_transmitted() {
    let ovs = RealOvsVswitchd::start();
    ovs.add_port("p1", 1);
    let br = ovs.bridge().to_string();
    // Ethernet + minimal IPv4 header.
    let frames = [
        "0002000000010002000000020800450000140000000040ff0000c0a80001c0a80002",
        "0002000000030002000000040800450000140000000040ff0000c0a80003c0a80004",
    ];
    ours_ok(
        &ovs,
        &[
            "-O",
            "OpenFlow10",
            "packet-out",
            &br,
            &format!("in_port=LOCAL packet={} actions=output:1", frames[0]),
        ],
    );
    // The older positional form, in OpenFlow 1.3.
    ours_ok(
        &ovs,
        &[
            "-O",
            "OpenFlow13",
            "packet-out",
            &br,
            "LOCAL",
            "output:1",
            frames[1],
        ],
    );
    let pcap = ovs.tx_pcap("p1");
    let mut got = Vec::new();
    assert!(
        tests::wait_for(std::time::Duration::from_secs(5), || {
            got = std::fs::read(&pcap).unwrap_or_default();
            frames.iter().all(|f| contains(&got, &hex(f)))
        }),
        "p1 did not transmit both packets (pcap {} bytes)",
        got.len()
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn replace_diff_readd_and_bundle() {
    let ovs = RealOvsVswitchd::start();
    let br = ovs.bridge().to_string();
    let dir = TempDir::new("ofctlrep");
    let a = dir.join("a.txt");
    let b = dir.join("b.txt");
    std::fs::write(
        &a,
        "priority=1,actions=drop\npriority=2,ip,actions=output:1\npriority=3,tcp,tp_dst=80,actions=output:2\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "priority=2,ip,actions=output:1\npriority=3,tcp,tp_dst=80,actions=output:3\ntable=1,priority=4,udp,actions=drop\n",
    )
    .unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    for v in VERSIONS {
        ours_ok(&ovs, &["-O", v, "del-flows", &br]);
        ours_ok(&ovs, &["-O", v, "add-flows", &br, a]);
        // diff-flows: same lines as ovs-ofctl (its order is a hash order),
        // status 2 when different, 0 when equal.
        let theirs = run(ovs.tool("ovs-ofctl").args(["-O", v, "diff-flows", &br, b]));
        let mine = ours(&ovs, &["-O", v, "diff-flows", &br, b]);
        assert_eq!(theirs.status.code(), Some(2));
        assert_eq!(mine.status.code(), Some(2));
        let sorted = |o: &Output| {
            let mut l: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(String::from)
                .collect();
            l.sort();
            l
        };
        assert_eq!(sorted(&mine), sorted(&theirs));
        // replace-flows makes the switch equal to b.
        ours_ok(&ovs, &["-O", v, "replace-flows", &br, b]);
        let same = run(ovs.tool("ovs-ofctl").args(["-O", v, "diff-flows", &br, b]));
        assert!(
            same.status.success(),
            "{}",
            String::from_utf8_lossy(&same.stdout)
        );
        assert_eq!(
            ours(&ovs, &["-O", v, "diff-flows", b, &br]).status.code(),
            Some(0)
        );
    }

    // --readd re-adds unchanged flows: their counters and durations restart.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ours_ok(&ovs, &["--readd", "replace-flows", &br, b]);
    let d = ovs.ovs_ofctl(&["dump-flows", &br]);
    assert!(
        d.lines().skip(1).all(|l| l.contains("duration=0.")),
        "--readd did not re-add: {d}"
    );

    // --bundle: all or nothing. The second flow is refused (table 254 is
    // read-only), so the first must not appear either.
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "priority=9,actions=drop\ntable=254,actions=drop\n").unwrap();
    let before = ovs.ovs_ofctl(&["--no-stats", "--sort", "dump-flows", &br]);
    let out = ours(&ovs, &["--bundle", "add-flows", &br, bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("OFPT_ERROR"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = ovs.ovs_ofctl(&["--no-stats", "--sort", "dump-flows", &br]);
    assert_eq!(before, after, "a failed bundle changed the table");
    // A good bundle applies, with OpenFlow 1.3 (ONF extension) and 1.4.
    for v in ["OpenFlow13", "OpenFlow14"] {
        ours_ok(
            &ovs,
            &[
                "-O",
                v,
                "--bundle",
                "add-flow",
                &br,
                &format!("priority=1{},actions=drop", &v[9..]),
            ],
        );
    }
    let d = ovs.ovs_ofctl(&["--no-stats", "dump-flows", &br]);
    assert!(
        d.contains("priority=13 actions=drop") && d.contains("priority=14 actions=drop"),
        "{d}"
    );
}

#[test]
fn errors_are_clear() {
    let ovs = RealOvsVswitchd::start();
    let br = ovs.bridge().to_string();
    let err = |args: &[&str]| {
        let o = ours(&ovs, args);
        assert_eq!(o.status.code(), Some(1), "{args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["add-flow", &br, "ip,nw_srcx=1.2.3.4,actions=drop"]);
    assert!(e.starts_with("ofctl: ") && e.contains("nw_srcx"), "{e}");
    let e = err(&["add-flow", &br, "ip,actions=frobnicate"]);
    assert!(e.contains("frobnicate"), "{e}");
    let e = err(&["add-flow", &br, "priority=1"]);
    assert!(e.contains("actions"), "{e}");
    let e = err(&["dump-flows", "nosuchbridge"]);
    assert!(
        e.contains("nosuchbridge is not a bridge or a socket"),
        "{e}"
    );
    let e = err(&["-O", "OpenFlow99", "dump-flows", &br]);
    assert!(e.contains("OpenFlow99"), "{e}");
    let e = err(&["frob", &br]);
    assert!(e.contains("unknown command 'frob'"), "{e}");
    let e = err(&["--frob", "dump-flows", &br]);
    assert!(e.contains("--frob"), "{e}");
    // A line number for a bad line in a file, and nothing sent.
    let dir = TempDir::new("ofctlerr");
    let f = dir.join("f.txt");
    std::fs::write(
        &f,
        "priority=1,actions=drop\npriority=2,tcp,tp_dst=99999,actions=drop\n",
    )
    .unwrap();
    let e = err(&["add-flows", &br, f.to_str().unwrap()]);
    assert!(e.contains(":2") && e.contains("99999"), "{e}");
    assert_eq!(flow_count(&ovs, "OpenFlow10"), 1, "only the default flow");
    // The switch's refusal is printed like ovs-ofctl prints it.
    for v in VERSIONS {
        let e = err(&["-O", v, "add-flow", &br, "table=254,actions=drop"]);
        let first = e.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("OFPT_ERROR") && first.ends_with("OFPBRC_EPERM"),
            "{e}"
        );
    }
    // A peer that never says HELLO: --timeout gives up.
    let silent = dir.join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    let start = std::time::Instant::now();
    let e = err(&["-t", "1", "show", &format!("unix:{}", silent.display())]);
    assert!(e.contains("timeout after 1 seconds"), "{e}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // No common version.
    ovs.vsctl(&["set", "bridge", &br, "protocols=OpenFlow13"]);
    let e = err(&["-O", "OpenFlow10", "dump-flows", &br]);
    assert!(e.contains("version negotiation failed"), "{e}");
}

#[test]
fn json_output_lists_every_flow() {
    let ovs = RealOvsVswitchd::start();
    let br = ovs.bridge().to_string();
    ours_ok(
        &ovs,
        &["add-flow", &br, "priority=5,tcp,tp_dst=22,actions=output:1"],
    );
    let j = ours_ok(&ovs, &["--format=json", "dump-flows", &br]);
    let v: serde_json::Value = serde_json::from_str(&j).expect("valid JSON");
    let flows = v.as_array().expect("array");
    assert_eq!(flows.len(), 2);
    assert!(flows.iter().any(|f| f["priority"] == 5
        && f["match"] == "tcp,tp_dst=22"
        && f["actions"] == "output:1"
        && f["n_packets"] == 0));
    let a = ours_ok(&ovs, &["--format", "json", "dump-aggregate", &br]);
    let a: serde_json::Value = serde_json::from_str(&a).expect("valid JSON");
    assert_eq!(a["flow_count"], 2);
    // Other dump commands.
    let p = ours_ok(&ovs, &["--format=json", "dump-ports", &br]);
    let p: serde_json::Value = serde_json::from_str(&p).expect("valid JSON");
    assert!(
        p.as_array().unwrap().iter().any(|x| x["port"] == "LOCAL"),
        "{p}"
    );
    let d = ours_ok(&ovs, &["--format=json", "dump-ports-desc", &br]);
    let d: serde_json::Value = serde_json::from_str(&d).expect("valid JSON");
    assert!(
        d.as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == br.as_str()),
        "{d}"
    );
    ours_ok(
        &ovs,
        &[
            "-O",
            "OpenFlow13",
            "add-group",
            &br,
            "group_id=4,type=select,bucket=weight:5,output:1",
        ],
    );
    let g = ours_ok(
        &ovs,
        &["-O", "OpenFlow13", "--format=json", "dump-groups", &br],
    );
    let g: serde_json::Value = serde_json::from_str(&g).expect("valid JSON");
    assert_eq!(g[0]["group_id"], 4);
    assert_eq!(g[0]["type"], "select");
    assert_eq!(g[0]["buckets"][0]["weight"], 5);
    assert_eq!(g[0]["buckets"][0]["actions"], "output:1");
    let m = ours_ok(
        &ovs,
        &["-O", "OpenFlow13", "--format=json", "dump-meters", &br],
    );
    assert_eq!(m.trim(), "[]");
}

#[test]
fn mask_hides_times_only() {
    assert_eq!(
        mask(
            " cookie=0x0, duration=1.5s, table=0, idle_age=3, hard_age=4, priority=1 actions=drop"
        ),
        " cookie=0x0, duration=?, table=0, idle_age=?, hard_age=?, priority=1 actions=drop"
    );
}

#[test]
fn groups_equal_ovs_ofctl() {
    let ovs = RealOvsVswitchd::start();
    ovs.add_port("p1", 1);
    ovs.add_port("p2", 2);
    let br = ovs.bridge().to_string();
    let dir = TempDir::new("ofctlgrp");
    let file = dir.join("groups.txt");
    std::fs::write(
        &file,
        "group_id=1,type=all,bucket=output:1,bucket=output:p2\n\
         # comment\n\
         group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=mod_dl_src:00:00:00:00:00:01,output:2\n\
         group_id=3,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,actions=output:2\n\
         group_id=4,type=indirect,bucket=actions=mod_nw_dst:10.0.0.1,output:2\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    for v in ["OpenFlow13", "OpenFlow15"] {
        ours_ok(&ovs, &["-O", v, "del-groups", &br]);
        ours_ok(&ovs, &["-O", v, "add-groups", &br, f]);
        for dv in ["OpenFlow11", "OpenFlow13", "OpenFlow14", "OpenFlow15"] {
            if dv == "OpenFlow11" {
                continue; // our codec does not speak 1.1
            }
            same_output(&ovs, &["-O", dv, "dump-groups", &br]);
            same_output(&ovs, &["-O", dv, "dump-group-stats", &br]);
            same_output(&ovs, &["-O", dv, "dump-group-stats", &br, "group_id=2"]);
        }
        // A flow using a group; ref_count follows.
        ours_ok(
            &ovs,
            &["-O", v, "add-flow", &br, "priority=5,actions=group:1"],
        );
        let st = ours_ok(&ovs, &["-O", v, "dump-group-stats", &br, "group_id=1"]);
        assert!(
            st.contains("group_id=1,") && st.contains("ref_count=1"),
            "{st}"
        );
        ours_ok(&ovs, &["-O", v, "del-flows", &br]);
        ours_ok(
            &ovs,
            &[
                "-O",
                v,
                "mod-group",
                &br,
                "group_id=2,type=all,bucket=output:2",
            ],
        );
        let d = ovs.ovs_ofctl(&["-O", v, "dump-groups", &br]);
        assert!(d.contains("group_id=2,type=all,bucket="), "{d}");
        ours_ok(&ovs, &["-O", v, "del-groups", &br, "group_id=2"]);
        let d = ovs.ovs_ofctl(&["-O", v, "dump-groups", &br]);
        assert!(
            !d.contains("group_id=2,") && d.contains("group_id=3,"),
            "{d}"
        );
        ours_ok(&ovs, &["-O", v, "del-groups", &br]);
        let d = ovs.ovs_ofctl(&["-O", v, "dump-groups", &br]);
        assert_eq!(d.lines().count(), 1, "{d}");
    }
    // Clear errors: a weight outside a select group; OpenFlow 1.0.
    let o = ours(
        &ovs,
        &[
            "-O",
            "OpenFlow13",
            "add-group",
            &br,
            "group_id=9,type=all,bucket=weight:2,output:1",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("weight:2"));
    let o = ours(
        &ovs,
        &["add-group", &br, "group_id=9,type=all,bucket=output:1"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("-O OpenFlow13"));
}

#[test]
fn meters_equal_ovs_ofctl() {
    let ovs = RealOvsVswitchd::start();
    let br = ovs.bridge().to_string();
    for v in ["OpenFlow13", "OpenFlow15"] {
        ours_ok(
            &ovs,
            &[
                "-O",
                v,
                "add-meter",
                &br,
                "meter=1,kbps,burst,band=type=drop,rate=1000,burst_size=100",
            ],
        );
        ours_ok(
            &ovs,
            &[
                "-O",
                v,
                "add-meter",
                &br,
                "meter=2,pktps,stats,band=type=drop,rate=10",
            ],
        );
        for dv in ["OpenFlow13", "OpenFlow15"] {
            same_output(&ovs, &["-O", dv, "dump-meters", &br]);
            same_output(&ovs, &["-O", dv, "dump-meters", &br, "meter=2"]);
            same_output(&ovs, &["-O", dv, "meter-stats", &br]);
            same_output(&ovs, &["-O", dv, "meter-stats", &br, "meter=1"]);
        }
        ours_ok(
            &ovs,
            &[
                "-O",
                v,
                "mod-meter",
                &br,
                "meter=2,pktps,band=type=drop,rate=20",
            ],
        );
        let d = ovs.ovs_ofctl(&["-O", v, "dump-meters", &br, "meter=2"]);
        assert!(d.contains("type=drop rate=20"), "{d}");
        ours_ok(&ovs, &["-O", v, "del-meters", &br, "meter=1"]);
        let d = ovs.ovs_ofctl(&["-O", v, "dump-meters", &br]);
        assert!(!d.contains("meter=1 ") && d.contains("meter=2 "), "{d}");
        ours_ok(&ovs, &["-O", v, "del-meters", &br]);
        let d = ovs.ovs_ofctl(&["-O", v, "dump-meters", &br]);
        assert_eq!(d.lines().count(), 1, "{d}");
    }
    let o = ours(
        &ovs,
        &[
            "-O",
            "OpenFlow13",
            "add-meter",
            &br,
            "meter=3,kbps,band=type=zap,rate=1",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("zap"));
    let o = ours(&ovs, &["dump-meters", &br]);
    assert_eq!(o.status.code(), Some(1), "meters need OpenFlow 1.3");
}

#[test]
fn ports_stats_and_mod_port() {
    let ovs = RealOvsVswitchd::start();
    ovs.add_port("p1", 1);
    ovs.add_port("p2", 2);
    let br = ovs.bridge().to_string();
    // Give p1 some tx traffic.
    ours_ok(
        &ovs,
        &[
            "packet-out",
            &br,
            "in_port=LOCAL packet=0002000000010002000000020800450000140000000040ff0000c0a80001c0a80002 actions=output:1",
        ],
    );
    for v in VERSIONS {
        same_output(&ovs, &["-O", v, "dump-ports", &br]);
        same_output(&ovs, &["-O", v, "dump-ports", &br, "1"]);
        same_output(&ovs, &["-O", v, "dump-ports", &br, "p2"]);
    }
    ours_ok(&ovs, &["mod-port", &br, "p1", "down"]);
    assert!(
        ovs.ovs_ofctl(&["show", &br])
            .contains("config:     PORT_DOWN")
    );
    ours_ok(&ovs, &["-O", "OpenFlow13", "mod-port", &br, "1", "up"]);
    ours_ok(&ovs, &["mod-port", &br, "p2", "no-flood"]);
    let s = ovs.ovs_ofctl(&["show", &br]);
    assert!(!s.contains("PORT_DOWN") && s.contains("NO_FLOOD"), "{s}");
    let o = ours(&ovs, &["mod-port", &br, "p9", "up"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("p9"));
    let o = ours(&ovs, &["mod-port", &br, "p1", "sideways"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("sideways"));
}

/// Runs `program args` in the background until `done` holds for its
/// stdout (or 10 s pass), then kills it and returns what it printed.
fn background_until(
    ovs: &RealOvsVswitchd,
    program: &std::path::Path,
    args: &[&str],
    act: impl FnOnce(),
    done: impl Fn(&str) -> bool,
) -> String {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = ovs
        .tool(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // Let it connect and configure itself.
    std::thread::sleep(std::time::Duration::from_millis(500));
    act();
    let mut text = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done(&text) && std::time::Instant::now() < deadline {
        if let Ok(b) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
            text.push_str(&String::from_utf8_lossy(&b));
        }
    }
    // SIGTERM, so that ovs-ofctl flushes its buffered stdout on exit.
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .output();
    if !tests::wait_for(std::time::Duration::from_secs(5), || {
        matches!(child.try_wait(), Ok(Some(_)))
    }) {
        let _ = child.kill();
    }
    let _ = child.wait();
    let _ = reader.join();
    while let Ok(b) = rx.try_recv() {
        text.push_str(&String::from_utf8_lossy(&b));
    }
    text
}

#[test]
fn monitor_prints_async_messages() {
    let ovs = RealOvsVswitchd::start();
    ovs.add_port("p1", 1);
    let br = ovs.bridge().to_string();
    let ours_bin = our_bin("ofctl");
    let act = || {
        ours_ok(
            &ovs,
            &[
                "packet-out",
                &br,
                "in_port=LOCAL packet=0002000000010002000000020800450000140000000040ff0000c0a80001c0a80002 actions=CONTROLLER:128",
            ],
        );
        ours_ok(&ovs, &["mod-port", &br, "p1", "down"]);
    };
    let text = background_until(
        &ovs,
        &ours_bin,
        &["-O", "OpenFlow13", "monitor", &br, "65534"],
        act,
        |t| t.contains("PACKET_IN") && t.matches("OFPT_PORT_STATUS").count() >= 2,
    );
    assert!(
        text.contains(
            "OFPT_PACKET_IN (OF1.3) (xid=0x0): table_id=0 cookie=0xffffffffffffffff total_len=34 in_port=LOCAL (via action) data_len=34 (unbuffered)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("ipv4(src=192.168.0.1,dst=192.168.0.2"),
        "{text}"
    );
    // PORT_STATUS: the port printed as `ovs-ofctl show` prints it.
    let show = ovs.ovs_ofctl(&["-O", "OpenFlow13", "show", &br]);
    let addr_line = show
        .lines()
        .find(|l| l.starts_with(" 1(p1): addr:"))
        .expect("p1 in show")
        .to_string();
    assert!(
        text.contains(&format!(
            "OFPT_PORT_STATUS (OF1.3) (xid=0x0): MOD:{addr_line}\n     config:     PORT_DOWN\n"
        )),
        "{text}"
    );
}

#[test]
fn snoop_shows_controller_traffic() {
    use std::io::{Read, Write};
    let ovs = RealOvsVswitchd::start();
    let br = ovs.bridge().to_string();
    // A minimal controller first: Open vSwitch closes a snoop connection
    // when no controller is connected.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    ovs.vsctl(&["set-controller", &br, &format!("tcp:127.0.0.1:{port}")]);
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(&[4, 0, 0, 8, 0, 0, 0, 1]).unwrap();
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf);
    let text = background_until(
        &ovs,
        &our_bin("ofctl"),
        &["snoop", &br],
        || {
            let mut s = &s;
            s.write_all(&[4, 5, 0, 8, 0, 0, 0, 7]).unwrap();
            let _ = s.read(&mut buf);
        },
        |t| t.contains("OFPT_FEATURES_REPLY"),
    );
    assert!(
        text.contains("OFPT_FEATURES_REQUEST (OF1.3) (xid=0x7):"),
        "{text}"
    );
    assert!(
        text.contains("OFPT_FEATURES_REPLY (OF1.3) (xid=0x7):"),
        "{text}"
    );
    drop(s);
}
