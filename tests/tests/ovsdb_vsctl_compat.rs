//! Real `ovs-vsctl --no-wait` (Debian's Open vSwitch 3.1) against our OVSDB
//! server and against a real `ovsdb-server`, on fresh databases: every
//! command's output, error and exit status must be the same, UUIDs masked.
//!
//! Outputs whose order follows UUIDs (which differ between runs of any
//! server) are put in a canonical order first: `show` subtrees and `list` /
//! `find` records are sorted.

use std::process::Command;
use tests::{OurOvsdb, RealOvsdb, mask_uuids, require};

/// The script: one `ovs-vsctl` invocation per line (arguments split on
/// whitespace; `--` chains commands in one transaction).
const SCRIPT: &str = r#"
init
show
add-br br0
add-br br0
--may-exist add-br br0
add-br br1
list-br
br-exists br0
br-exists br9
add-port br0 p1
add-port br0 p2 -- set Interface p2 type=internal
add-port br0 p1
--may-exist add-port br0 p1
add-port br1 p3 tag=10
list-ports br0
list-ports br1
port-to-br p3
iface-to-br p2
list-ifaces br0
show
set Bridge br0 stp_enable=true other_config:datapath-id=0000000000000001
get Bridge br0 stp_enable other_config
get Bridge br0 other_config:datapath-id
set Port p1 tag=5 trunks=1,2,3
get Port p1 tag trunks
add Port p1 trunks 4
get Port p1 trunks
remove Port p1 trunks 2
get Port p1 trunks
clear Port p1 trunks
get Port p1 trunks
set Interface p1 external_ids:iface-id=vm1 external_ids:attached-mac=00:11:22:33:44:55
get Interface p1 external_ids
remove Interface p1 external_ids iface-id
get Interface p1 external_ids
add Interface p1 external_ids k=v
clear Interface p1 external_ids
get Interface p1 external_ids
add Bridge br0 flood_vlans 10
add Bridge br0 flood_vlans 20
remove Bridge br0 flood_vlans 10
get Bridge br0 flood_vlans
clear Bridge br0 flood_vlans
get Bridge br0 flood_vlans
set Bridge br0 external_ids:owner=test
remove Bridge br0 external_ids owner=test
list Bridge br0
list Port p1
list Interface p2
find Port tag=10
find Interface type=internal
find Bridge name=br9
set-controller br0 tcp:127.0.0.1:6653 ptcp:6654
get-controller br0
del-controller br0
get-controller br0
set-controller br1 tcp:10.0.0.1:6653
set-fail-mode br0 secure
get-fail-mode br0
set-fail-mode br0 bogus
del-fail-mode br0
get-fail-mode br0
show
del-port br0 p9
--if-exists del-port br0 p9
del-port br0 p2
list-ports br0
del-port p1
list-ports br0
add-port br0 p4 -- add-port br0 p5 -- set Port p5 tag=7
list-ports br0
get Port p5 tag
set Bridge br9 stp_enable=true
get Bridge br0 nosuchcolumn
set Bridge br0 stp_enable=maybe
del-br br9
--if-exists del-br br9
del-br br1
list-br
show
del-br br0
list-br
show
"#;

fn run_script(db: &str) -> Vec<String> {
    SCRIPT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let out = Command::new("ovs-vsctl")
                .arg("--no-wait")
                .arg("--timeout=10")
                .arg(format!("--db={db}"))
                .args(line.split_whitespace())
                .output()
                .expect("run ovs-vsctl");
            let stdout = canonical(line, &String::from_utf8_lossy(&out.stdout));
            let stderr = mask_uuids(&String::from_utf8_lossy(&out.stderr));
            format!(
                "$ ovs-vsctl {line}\n{stdout}{stderr}exit={}\n",
                out.status.code().unwrap_or(-1)
            )
        })
        .collect()
}

/// UUIDs masked; record and subtree order made canonical.
fn canonical(cmd: &str, out: &str) -> String {
    let masked = mask_uuids(out);
    if cmd.starts_with("list ") || cmd.starts_with("find ") {
        let mut recs: Vec<&str> = masked
            .split("\n\n")
            .filter(|r| !r.trim().is_empty())
            .collect();
        recs.sort();
        recs.iter()
            .map(|r| format!("{}\n\n", r.trim_end()))
            .collect()
    } else if cmd == "show" {
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

#[test]
fn ovs_vsctl_sees_the_same_database() {
    require("ovs-vsctl", "openvswitch-common");
    let real = RealOvsdb::start();
    let expected = run_script(&real.remote());
    let ours = OurOvsdb::start();
    let got = run_script(&ours.remote());
    let mut mismatches = Vec::new();
    for (e, g) in expected.iter().zip(&got) {
        if e != g {
            mismatches.push(format!("--- real ovsdb-server\n{e}+++ ours\n{g}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} commands differ:\n{}",
        mismatches.len(),
        expected.len(),
        mismatches.join("\n")
    );
}

/// The comparison is only meaningful if two real servers agree with each
/// other after canonicalisation.
#[test]
fn script_is_deterministic_against_real_servers() {
    require("ovs-vsctl", "openvswitch-common");
    let a = run_script(&RealOvsdb::start().remote());
    let b = run_script(&RealOvsdb::start().remote());
    if std::env::var_os("SHOW_TRANSCRIPT").is_some() {
        eprintln!("{}", a.concat());
    }
    assert_eq!(a, b);
    // And the script really exercises errors and output.
    let all = a.concat();
    assert!(all.contains("exit=1"), "{all}");
    assert!(all.contains("Bridge br0"), "{all}");
}
