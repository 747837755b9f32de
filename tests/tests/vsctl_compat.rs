//! Our `vsctl` against the real `ovs-vsctl` (Debian's Open vSwitch 3.1):
//! one script of command lines, run
//! * through the real `ovs-vsctl` against a real `ovsdb-server` (expected),
//! * through our `vsctl` against our server (`vswitchd --db-only`),
//! * through our `vsctl` against a real `ovsdb-server`,
//!
//! and every line of output, error and exit status must be the same, with
//! UUIDs masked, the program name normalized, log timestamps masked and
//! order-dependent outputs (`show` subtrees, `list`/`find` records) sorted.
//! Also: the `--timeout=1` case with no daemon, a fake daemon that copies
//! `next_cfg` to `cur_cfg`, and every error path leaving the db unchanged.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tests::{RealOvsdb, TempDir, mask_uuids, our_bin, require, wait_for};

/// One command line per line; words split on whitespace, `'...'` quotes a
/// word with spaces. Every line runs with `--no-wait`.
const SCRIPT: &str = r#"
init
show
list-br
add-br br0
add-br br0
--may-exist add-br br0
add-br br1
add-br fb0 br0 10
add-br fb1 br0 5000
add-br fb1 br9 10
add-br fb1 fb0 11
--may-exist add-br fb0 br0 10
--may-exist add-br fb0 br0 11
--may-exist add-br fb0
--may-exist add-br br0 br0 11
list-br
br-exists br0
br-exists fb0
br-exists br9
br-to-vlan fb0
br-to-vlan br0
br-to-parent fb0
br-to-parent br0
br-to-vlan br9
add-port br0 p1
add-port br0 p2 -- set Interface p2 type=internal
add-port br0 p1
add-port br0 br1
add-port br9 p7
--may-exist add-port br0 p1
--may-exist add-port br1 p1
add-port br1 p3 tag=10 other_config:k=v
add-port fb0 p4
add-bond br1 bond0 e1 e2 lacp=active
add-bond br1 bond1 e3
add-bond br1 bond1 p1 e9
add-bond br1 bond2 e4 e5 --fake-iface
list-ports br0
list-ports br1
list-ports fb0
list-ports br9
list-ifaces br0
list-ifaces br1
list-ifaces fb0
port-to-br p3
port-to-br p4
port-to-br p9
iface-to-br e2
iface-to-br p4
iface-to-br p9
show
br-set-external-id br0 owner alice
br-set-external-id br0 zone z1
br-get-external-id br0
br-get-external-id br0 owner
br-get-external-id br0 nokey
br-set-external-id br0 zone
br-get-external-id br0
br-set-external-id fb0 vkey vval
br-get-external-id fb0
br-get-external-id fb0 vkey
br-get-external-id br9
set Bridge br0 stp_enable=true other_config:datapath-id=0000000000000001
get Bridge br0 stp_enable other_config
get Bridge br0 other_config:datapath-id
get Bridge br0 other_config:nokey
--if-exists get Bridge br0 other_config:nokey
get Bridge br0 name:key
get Bridge br9 name
--if-exists get Bridge br9 name
get Bridge br0 nosuchcolumn
get Br br0 name
get Open_vSwitch . bridges
set Port p1 tag=5 trunks=1,2,3
get Port p1 tag trunks
add Port p1 trunks 4 5
get Port p1 trunks
remove Port p1 trunks 2
get Port p1 trunks
clear Port p1 trunks tag
get Port p1 trunks tag
set Port p1 trunks=[7,8]
get Port p1 trunks
set Port p1 trunks=1-5
get Port p1 trunks
set Port p1 trunks=1-3,7,9-10
get Port p1 trunks
set Port p1 tag=3-4
set Port p1 trunks=5-2
add Port p1 trunks 20-22
get Port p1 trunks
set Port p1 trunks=[7,8]
get Port p1 trunks
set Interface p1 external_ids:iface-id=vm1 external_ids:attached-mac=00:11:22:33:44:55
get Interface p1 external_ids
remove Interface p1 external_ids iface-id
get Interface p1 external_ids
add Interface p1 external_ids k=v k2=v2
remove Interface p1 external_ids k=v
get Interface p1 external_ids
set Interface p1 'external_ids={a=1, b="x y"}'
get Interface p1 external_ids
set Interface p1 options:remote_ip=1.2.3.4 type=vxlan
get Interface p1 options:remote_ip type
set Bridge br0 stp_enable=maybe
set Bridge br0 flood_vlans=5000
set Bridge br0 name=x
set Bridge br0 stp_enable
set Bridge br0 fail_mode=bogus
remove Bridge br0 name br0
clear Bridge br0 name
clear Port p1 name
set Port p1 tag=abc
set Interface p1 mtu_request=1.5
set Bridge br0 'external_ids:"key with space"=v1'
get Bridge br0 external_ids
set Bridge br0 external_ids:empty=""
get Bridge br0 external_ids:empty
set Interface p1 ingress_policing_rate=100
get Interface p1 ingress_policing_rate
set Open_vSwitch . external_ids:system-id=host1 other_config:x=true
get Open_vSwitch . external_ids other_config
list Bridge br0
list Port p1
list Interface p2
list Nothing
list Bridge br9
--columns=name,tag list Port p1
--columns=name,tag,trunks list Port p3 p1
--bare --columns=name list Bridge br0
-f csv --columns=name,external_ids list Bridge br0
-f json --columns=name,stp_enable list Bridge br0
-f table --columns=name,tag list Port p1
-d bare --columns=name,trunks list Port p1
-d json --columns=name,trunks list Port p1
--format=list --no-headings --columns=name list Bridge br1
find Port tag=10
find Interface type=internal
find Bridge name=br9
find Port trunks{>=}7
--columns=name find Port name!=p1 tag=10
--bare --columns=name find Interface name=p1
--oneline list-br -- list-ports br0
--id=@c create Controller target=tcp:1.1.1.1:6653 -- set Bridge br1 controller=@c
--id=@c create Controller target="tcp:1.1.1.1:6653" -- set Bridge br1 controller=@c
get-controller br1
create Controller target="tcp:2.2.2.2:6653"
--id=@m create Manager target="ptcp:7000" -- add Open_vSwitch . manager_options @m
get-manager
--id=@q create QoS type=linux-htb -- set Port p3 qos=@q
get Port p3 qos
list QoS p3
create Nothing x=1
--id=q create QoS type=linux-htb
set Bridge br0 ports=@missing
set-controller br0 tcp:127.0.0.1:6653 ptcp:6654
get-controller br0
get-controller fb0
list Controller br1
del-controller br0
get-controller br0
get-controller br9
set-fail-mode br0 secure
get-fail-mode br0
get-fail-mode fb0
set-fail-mode br0 bogus
del-fail-mode br0
get-fail-mode br0
set-manager ptcp:6640 tcp:10.0.0.1:6640
get-manager
list Manager ptcp:6640
set-manager ptcp:6641
get-manager
del-manager
get-manager
show
wait-until Bridge br0 stp_enable=true
wait-until Bridge br0
wait-until Port p1 trunks=[7,8]
wait-until Interface p1 options:remote_ip=1.2.3.4
destroy Controller br1 -- clear Bridge br1 controller
list Controller
--if-exists destroy QoS nope
destroy QoS p3 -- clear Port p3 qos
--all destroy Manager
destroy Bridge br9
--if-exists destroy Bridge br9
del-port br0 p9
--if-exists del-port br0 p9
del-port br1 p1
del-port br0 br0
del-port br0 p2
list-ports br0
del-port p1
del-port br1 e1
--with-iface del-port br1 e1
list-ports br1
del-port fb0 p4
list-ports fb0
add-port br0 p4 -- add-port br0 p5 -- set Port p5 tag=7
list-ports br0
get Port p5 tag
add-port br0 p6 -- add-port br0 p6
add-port br0 p6 -- set Bridge br9 stp_enable=true
add-port br0 p6 -- set Port p6 tag=9999
list-ports br0
--dry-run add-port br0 p8
list-ports br0
emer-reset
get Bridge br0 stp_enable other_config
get-controller br1
del-br br9
--if-exists del-br br9
del-br fb0
list-br
list-ports br0
del-br br1
list-br
show
del-br br0
list-br
show
frobnicate
--frob list-br
list-br extra
del-br
add-br
add-br a b
set Bridge
-- list-br
list-br --
list-br -- --if-exists del-br x
--may-exist list-br
--if-exists --if-exists del-br x
"#;

/// Splits a script line into words (whitespace; `'...'` quoting).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in line.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Masks vlog timestamps (`2026-11-22T04:02:40Z|`).
fn mask_times(s: &str) -> String {
    s.lines()
        .map(|l| {
            let b = l.as_bytes();
            if b.len() > 21 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z' && b[20] == b'|' {
                format!("<time>{}\n", &l[20..])
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Which program runs the script.
#[derive(Clone, Copy, Debug)]
enum Prog {
    Real,
    Ours,
}

fn program(p: Prog) -> std::path::PathBuf {
    match p {
        Prog::Real => "ovs-vsctl".into(),
        Prog::Ours => our_bin("vsctl"),
    }
}

/// Runs one command line; returns its canonical transcript.
fn run_line(p: Prog, db: &str, line: &str, extra: &[&str]) -> String {
    let out = Command::new(program(p))
        .args(extra)
        .arg(format!("--db={db}"))
        .args(words(line))
        .output()
        .expect("run vsctl");
    let stdout = canonical(line, &String::from_utf8_lossy(&out.stdout));
    let stderr = mask_times(&mask_uuids(
        &String::from_utf8_lossy(&out.stderr).replace("ovs-vsctl", "vsctl"),
    ));
    format!(
        "$ vsctl {line}\n{stdout}{stderr}exit={}\n",
        out.status.code().unwrap_or(-1)
    )
}

fn run_script(p: Prog, db: &str) -> Vec<String> {
    SCRIPT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| run_line(p, db, line, &["--no-wait", "--timeout=20"]))
        .collect()
}

/// UUIDs masked; record and subtree order made canonical.
fn canonical(cmd: &str, out: &str) -> String {
    let masked = mask_uuids(out);
    let w = words(cmd);
    let verb = w.iter().find(|x| !x.starts_with('-')).map(String::as_str);
    if matches!(verb, Some("list") | Some("find")) {
        if masked.starts_with('{') || cmd.contains("csv") || cmd.contains("-f table") {
            // One-record outputs in this script.
            return masked;
        }
        let mut recs: Vec<&str> = masked
            .split("\n\n")
            .filter(|r| !r.trim().is_empty())
            .collect();
        recs.sort();
        recs.iter()
            .map(|r| format!("{}\n\n", r.trim_end()))
            .collect()
    } else if verb == Some("show") {
        let lines: Vec<&str> = masked.lines().collect();
        sort_tree(&lines).concat()
    } else {
        masked
    }
}

/// Sorts sibling subtrees of an indented tree, recursively.
fn sort_tree(lines: &[&str]) -> Vec<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut blocks: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let base = indent(lines[i]);
        let mut j = i + 1;
        while j < lines.len() && indent(lines[j]) > base {
            j += 1;
        }
        let mut block = format!("{}\n", lines[i]);
        block.push_str(&sort_tree(&lines[i + 1..j]).concat());
        blocks.push(block);
        i = j;
    }
    blocks.sort();
    blocks
}

/// Our OVSDB server (`vswitchd --db-only`), killed on drop.
struct OurServer {
    child: std::process::Child,
    dir: TempDir,
}

impl OurServer {
    fn start() -> OurServer {
        let dir = TempDir::new("vsctl");
        let child = Command::new(our_bin("vswitchd"))
            .arg("--db-only")
            .arg("--rundir")
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start vswitchd --db-only");
        let sock = dir.join("db.sock");
        assert!(
            wait_for(Duration::from_secs(10), || sock.exists()),
            "our server did not create {}",
            sock.display()
        );
        OurServer { child, dir }
    }

    fn remote(&self) -> String {
        format!("unix:{}", self.dir.join("db.sock").display())
    }
}

impl Drop for OurServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn compare(expected: &[String], got: &[String], what: &str) {
    assert_eq!(expected.len(), got.len());
    let mismatches: Vec<String> = expected
        .iter()
        .zip(got)
        .filter(|(e, g)| e != g)
        .map(|(e, g)| format!("--- real\n{e}+++ {what}\n{g}"))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} command lines differ ({what}):\n{}",
        mismatches.len(),
        expected.len(),
        mismatches.join("\n")
    );
}

#[test]
fn script_is_long_enough_and_covers_every_command() {
    let lines: Vec<&str> = SCRIPT.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 60, "{}", lines.len());
    for cmd in [
        "init",
        "show",
        "emer-reset",
        "add-br",
        "del-br",
        "list-br",
        "br-exists",
        "br-to-vlan",
        "br-to-parent",
        "br-set-external-id",
        "br-get-external-id",
        "list-ports",
        "add-port",
        "del-port",
        "port-to-br",
        "add-bond",
        "list-ifaces",
        "iface-to-br",
        "get-controller",
        "set-controller",
        "del-controller",
        "get-fail-mode",
        "set-fail-mode",
        "del-fail-mode",
        "get-manager",
        "set-manager",
        "del-manager",
        "list",
        "find",
        "get",
        "set",
        "add",
        "remove",
        "clear",
        "create",
        "destroy",
        "wait-until",
    ] {
        assert!(
            lines.iter().any(|l| words(l).iter().any(|w| w == cmd)),
            "script does not use {cmd}"
        );
    }
}

#[test]
fn ours_against_our_server_matches_real_ovs_vsctl() {
    require("ovs-vsctl", "openvswitch-common");
    let real = RealOvsdb::start();
    let expected = run_script(Prog::Real, &real.remote());
    if std::env::var_os("SHOW_TRANSCRIPT").is_some() {
        eprintln!("{}", expected.concat());
    }
    let ours = OurServer::start();
    let got = run_script(Prog::Ours, &ours.remote());
    compare(&expected, &got, "our vsctl, our server");
}

#[test]
fn ours_against_real_ovsdb_server_matches_real_ovs_vsctl() {
    require("ovs-vsctl", "openvswitch-common");
    let expected = run_script(Prog::Real, &RealOvsdb::start().remote());
    let got = run_script(Prog::Ours, &RealOvsdb::start().remote());
    compare(&expected, &got, "our vsctl, real ovsdb-server");
}

/// Without `--no-wait` and with no daemon, `--timeout=1` ends the process
/// by SIGALRM after about a second, with ovs-vsctl's warning.
#[test]
fn timeout_without_daemon_matches_ovs_vsctl() {
    use std::os::unix::process::ExitStatusExt;
    require("ovs-vsctl", "openvswitch-common");
    let real = RealOvsdb::start();
    for p in [Prog::Real, Prog::Ours] {
        let start = Instant::now();
        let out = Command::new(program(p))
            .arg(format!("--db={}", real.remote()))
            .args(["--timeout=1", "add-br", &format!("br{p:?}")])
            .output()
            .unwrap();
        let took = start.elapsed();
        assert_eq!(out.status.signal(), Some(14), "{p:?}: {:?}", out.status);
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5));
        let err = mask_times(&String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            err, "<time>|00002|fatal_signal|WARN|terminating with signal 14 (Alarm clock)\n",
            "{p:?}"
        );
        assert!(out.stdout.is_empty());
        // Read-only commands do not wait.
        let out = Command::new(program(p))
            .arg(format!("--db={}", real.remote()))
            .args(["--timeout=1", "list-br"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{p:?}");
    }
}

/// Polls `select cur_cfg/next_cfg` through `ovsdb-client` is not needed:
/// the fake daemon uses our own vsctl (`get`/`set --no-wait`) to copy
/// `next_cfg` to `cur_cfg` after a delay.
fn fake_daemon(db: String, delay: Duration, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::Ordering;
    let vsctl = our_bin("vsctl");
    while !stop.load(Ordering::Relaxed) {
        let out = Command::new(&vsctl)
            .args([
                &format!("--db={db}"),
                "--no-wait",
                "get",
                "Open_vSwitch",
                ".",
                "next_cfg",
                "cur_cfg",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: Vec<i64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if v.len() == 2 && v[0] > v[1] {
            std::thread::sleep(delay);
            let _ = Command::new(&vsctl)
                .args([
                    &format!("--db={db}"),
                    "--no-wait",
                    "set",
                    "Open_vSwitch",
                    ".",
                    &format!("cur_cfg={}", v[0]),
                ])
                .output();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn returns_as_soon_as_cur_cfg_catches_up() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let ours = OurServer::start();
    let db = ours.remote();
    let vsctl = our_bin("vsctl");
    let ok = |args: &[&str]| {
        let out = Command::new(&vsctl)
            .arg(format!("--db={db}"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&["--no-wait", "init"]);
    let stop = Arc::new(AtomicBool::new(false));
    let daemon = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || fake_daemon(db, Duration::from_millis(700), stop))
    };
    let start = Instant::now();
    ok(&["--timeout=10", "add-br", "brw"]);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(700),
        "returned before cur_cfg: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "did not return promptly: {took:?}"
    );
    let cfg = ok(&[
        "--no-wait",
        "get",
        "Open_vSwitch",
        ".",
        "next_cfg",
        "cur_cfg",
    ]);
    let v: Vec<&str> = cfg.lines().collect();
    assert_eq!(v[0], v[1]);
    // Interfaces that failed are reported after the wait.
    ok(&[
        "--no-wait",
        "add-port",
        "brw",
        "pbad",
        "--",
        "set",
        "Interface",
        "pbad",
        "ofport=-1",
        "error=\"could not open network device pbad (No such device)\"",
    ]);
    let out = Command::new(&vsctl)
        .arg(format!("--db={db}"))
        .args([
            "--timeout=10",
            "add-port",
            "brw",
            "pbad2",
            "--",
            "set",
            "Interface",
            "pbad2",
            "ofport=-1",
            "error=\"no such device\"",
        ])
        .output()
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    daemon.join().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "vsctl: Error detected while setting up 'pbad2': no such device.  See ovs-vswitchd log for details.\n\
         vsctl: The default log directory is \"/var/log/openvswitch\".\n"
    );
}

/// Every failing chain leaves the database exactly as it was.
#[test]
fn failed_chains_change_nothing() {
    for server in ["ours", "real"] {
        let (_our, _real, db) = match server {
            "ours" => {
                let s = OurServer::start();
                let r = s.remote();
                (Some(s), None, r)
            }
            _ => {
                let s = RealOvsdb::start();
                let r = s.remote();
                (None, Some(s), r)
            }
        };
        let vsctl = our_bin("vsctl");
        let run = |line: &str| {
            Command::new(&vsctl)
                .arg(format!("--db={db}"))
                .arg("--no-wait")
                .args(words(line))
                .output()
                .unwrap()
        };
        let setup = "add-br br0 -- add-port br0 p1 -- add-br fb br0 10 -- set-controller br0 tcp:1.2.3.4:6653 -- set-manager ptcp:6640";
        assert!(run(setup).status.success());
        let snapshot = || {
            let o = run(
                "list Open_vSwitch -- list Bridge -- list Port -- list Interface -- list Controller -- list Manager",
            );
            let mut recs: Vec<String> = mask_uuids(&String::from_utf8_lossy(&o.stdout))
                .split("\n\n")
                .map(str::to_owned)
                .collect();
            recs.sort();
            recs
        };
        let before = snapshot();
        for (line, msg) in [
            (
                "add-br br1 -- add-br br0",
                "vsctl: cannot create a bridge named br0 because a bridge named br0 already exists",
            ),
            (
                "add-port br0 p2 -- del-br br9",
                "vsctl: no bridge named br9",
            ),
            (
                "add-port br0 p2 -- add-port br0 p1",
                "vsctl: cannot create a port named p1 because a port named p1 already exists on bridge br0",
            ),
            (
                "add-port br0 p2 -- add-bond br0 b0 p1 e2",
                "vsctl: cannot create an interface named p1 because a port named p1 already exists on bridge br0",
            ),
            (
                "del-br fb -- add-br fb2 br9 5",
                "vsctl: parent bridge br9 does not exist",
            ),
            (
                "add-br x -- add-br fb3 fb 4",
                "vsctl: cannot create bridge with fake bridge as parent",
            ),
            (
                "add-br x -- add-br fb3 br0 4096",
                "vsctl: add-br: vlan must be between 0 and 4095",
            ),
            (
                "del-controller br0 -- set-fail-mode br0 open",
                "vsctl: fail-mode must be \"standalone\" or \"secure\"",
            ),
            (
                "del-manager -- get Bridge br0 nosuch",
                "vsctl: Bridge does not contain a column whose name matches \"nosuch\"",
            ),
            (
                "set Bridge br0 stp_enable=true -- set Bridge br0 stp_enable=maybe",
                "vsctl: \"maybe\" is not a valid boolean (use \"true\" or \"false\")",
            ),
            (
                "set Port p1 tag=1 -- set Port p1 tag=4096",
                "vsctl: constraint violation: 4096 is not in the valid range 0 to 4095 (inclusive)",
            ),
            (
                "del-br br0 -- remove Bridge fb name fb",
                "vsctl: no row \"fb\" in table Bridge",
            ),
            (
                "del-br fb -- clear Bridge br0 name",
                "vsctl: cannot modify read-only column name in table Bridge",
            ),
            (
                "emer-reset -- list Nothing",
                "vsctl: unknown table \"Nothing\"",
            ),
            (
                "del-port p1 -- del-port br0 br0",
                "vsctl: cannot delete port br0 because it is the local port for bridge br0 (deleting this port requires deleting the entire bridge)",
            ),
            (
                "set-manager x -- port-to-br nope",
                "vsctl: no port named nope",
            ),
            (
                "set-controller br0 y -- iface-to-br nope",
                "vsctl: no interface named nope",
            ),
            (
                "add-br z -- --may-exist add-br fb br0 11",
                "vsctl: \"--may-exist add-br fb br0 11\" but fb is a VLAN bridge for the wrong VLAN 10",
            ),
            (
                "add-br z -- get Bridge br0 external_ids:nokey",
                "vsctl: no key \"nokey\" in Bridge record \"br0\" column external_ids",
            ),
            (
                "add-br z -- --id=x create Port name=x",
                "vsctl: row id \"x\" does not begin with \"@\"",
            ),
            (
                "add-br z -- frob",
                "vsctl: unknown command 'frob'; use --help for help",
            ),
            (
                "add-br z -- list-br x",
                "vsctl: 'list-br' command takes at most 0 arguments",
            ),
            (
                "add-br z -- del-br",
                "vsctl: 'del-br' command requires at least 1 arguments",
            ),
            ("--frob add-br z", "vsctl: unrecognized option '--frob'"),
            (
                "add-br z -- --may-exist del-br br0",
                "vsctl: 'del-br' command has no '--may-exist' option",
            ),
        ] {
            let out = run(line);
            assert_eq!(out.status.code(), Some(1), "{server}: {line}: {out:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr).trim_end(),
                msg,
                "{server}: {line}"
            );
            assert_eq!(snapshot(), before, "{server}: {line} changed the database");
        }
        let out = run("br-exists nope");
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stderr.is_empty());
    }
}

/// Connection failures are worded like ovs-vsctl's.
#[test]
fn connection_errors_match_ovs_vsctl() {
    require("ovs-vsctl", "openvswitch-common");
    for db in ["unix:/nonexistent/db.sock", "tcp:127.0.0.1:1", "foo:bar"] {
        let real = Command::new("ovs-vsctl")
            .args([&format!("--db={db}"), "list-br"])
            .output()
            .unwrap();
        let ours = Command::new(our_bin("vsctl"))
            .args([&format!("--db={db}"), "list-br"])
            .output()
            .unwrap();
        assert_eq!(real.status.code(), ours.status.code(), "{db}");
        assert_eq!(
            String::from_utf8_lossy(&real.stderr).replace("ovs-vsctl", "vsctl"),
            String::from_utf8_lossy(&ours.stderr),
            "{db}"
        );
    }
}

#[test]
fn help_lists_every_command() {
    let out = Command::new(our_bin("vsctl"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for s in cmdnames() {
        assert!(text.contains(s), "--help does not mention {s}");
    }
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/vsctl.md")
            .exists()
    );
}

fn cmdnames() -> &'static [&'static str] {
    &[
        "init",
        "show",
        "emer-reset",
        "add-br",
        "del-br",
        "list-br",
        "br-exists",
        "br-to-vlan",
        "br-to-parent",
        "br-set-external-id",
        "br-get-external-id",
        "list-ports",
        "add-port",
        "add-bond",
        "del-port",
        "port-to-br",
        "list-ifaces",
        "iface-to-br",
        "get-controller",
        "set-controller",
        "del-controller",
        "get-fail-mode",
        "set-fail-mode",
        "del-fail-mode",
        "get-manager",
        "set-manager",
        "del-manager",
        "list",
        "find",
        "get",
        "set",
        "add",
        "remove",
        "clear",
        "create",
        "destroy",
        "wait-until",
        "--db",
        "--no-wait",
        "--timeout",
        "--dry-run",
        "--oneline",
        "--format",
        "--data",
        "--columns",
        "--id",
        "--if-exists",
        "--may-exist",
        "--all",
    ]
}

/// `-v` traces the session on stderr (vlog-style `DBG` lines: the command
/// line, the connection, every request and reply) and changes nothing else.
#[test]
fn verbose_traces_the_session_on_stderr() {
    let server = RealOvsdb::start();
    let db = format!("--db={}", server.remote());
    let run = |extra: &[&str], cmd: &[&str]| {
        Command::new(our_bin("vsctl"))
            .arg(&db)
            .arg("--no-wait")
            .args(extra)
            .args(cmd)
            .output()
            .expect("run vsctl")
    };
    assert!(run(&[], &["init"]).status.success());
    let quiet = run(&[], &["add-br", "br0"]);
    assert!(quiet.status.success());
    assert!(quiet.stderr.is_empty());
    let loud = run(&["-v"], &["add-br", "br1"]);
    assert!(loud.status.success());
    let err = String::from_utf8_lossy(&loud.stderr);
    assert!(err.contains("|vsctl|DBG|Called as vsctl"), "{err}");
    assert!(err.contains("|jsonrpc|DBG|"), "{err}");
    assert!(err.contains("method=\"transact\""), "{err}");
    assert!(err.contains("\"name\":\"br1\""), "{err}");
    let list = run(&["--verbose"], &["list-br"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout), "br0\nbr1\n");
    assert!(!list.stderr.is_empty());
}

/// `wait-until` blocks while its condition is false and returns promptly
/// once another client makes it true (it watches the database rather than
/// polling).
#[test]
fn wait_until_returns_when_the_condition_becomes_true() {
    let server = RealOvsdb::start();
    let db = format!("--db={}", server.remote());
    let vsctl = |args: &[&str]| {
        let out = Command::new(our_bin("vsctl"))
            .arg(&db)
            .arg("--no-wait")
            .args(args)
            .output()
            .expect("run vsctl");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    vsctl(&["init"]);
    vsctl(&["add-br", "br0"]);
    let mut waiter = Command::new(our_bin("vsctl"))
        .arg(&db)
        .args([
            "--no-wait",
            "--timeout=20",
            "wait-until",
            "Bridge",
            "br0",
            "other_config:ready=yes",
        ])
        .spawn()
        .expect("start wait-until");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "returned before the condition held"
    );
    vsctl(&["set", "Bridge", "br0", "other_config:ready=no"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        waiter.try_wait().unwrap().is_none(),
        "returned on an unrelated change"
    );
    let set_at = std::time::Instant::now();
    vsctl(&["set", "Bridge", "br0", "other_config:ready=yes"]);
    let mut status = None;
    while set_at.elapsed() < Duration::from_secs(3) {
        if let Some(s) = waiter.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = waiter.kill();
    let status = status.expect("wait-until did not return within 3 s of the change");
    assert!(status.success());
}

/// `--retry` keeps trying to reach a server that is not up yet.
#[test]
fn retry_waits_for_the_server_to_come_up() {
    let dir = tests::TempDir::new("retry");
    let sock = dir.join("db.sock");
    let db = format!("--db=unix:{}", sock.display());
    // Without --retry: fails at once.
    let out = Command::new(our_bin("vsctl"))
        .args([db.as_str(), "--no-wait", "list-br"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let mut client = Command::new(our_bin("vsctl"))
        .args([
            db.as_str(),
            "--no-wait",
            "--retry",
            "--timeout=20",
            "list-br",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        client.try_wait().unwrap().is_none(),
        "gave up without a server"
    );
    let mut server = Command::new(our_bin("vswitchd"))
        .arg("--db-only")
        .arg("--rundir")
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = client.wait_with_output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{out:?}");
}
