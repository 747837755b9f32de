//! The `vswitchd` binary as a user runs it.

use std::io::Write;
use std::process::{Command, Stdio};

fn vswitchd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vswitchd"))
}

const UDP: &str = "667788990aab 001122334455 0800 4500 001c 0001 0000 40 11 0000 \
                   0a000001 0a000002 04d2 0035 0008 0000";

#[test]
fn extract_prints_the_datapath_key() {
    let out = vswitchd()
        .args(["extract", "--in-port", "3", UDP])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "in_port(3),eth(src=00:11:22:33:44:55,dst=66:77:88:99:0a:ab),eth_type(0x800),\
         ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1234,dst=53)\n"
    );
}

#[test]
fn extract_reads_frames_from_stdin() {
    let mut child = vswitchd()
        .arg("extract")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{UDP}\n\nffffffffffff001122334455\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].ends_with("udp(src=1234,dst=53)"));
    // A frame cut inside the Ethernet header keeps only the port.
    assert!(
        lines[1].starts_with("in_port(0),eth(src=00:00:00:00:00:00"),
        "{}",
        lines[1]
    );
}

#[test]
fn bad_input_is_reported_with_the_token() {
    let out = vswitchd().args(["extract", "zz"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("'zz'"), "{err}");
    let out = vswitchd().args(["frobnicate"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("'frobnicate'")
    );
}
