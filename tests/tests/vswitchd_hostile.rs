//! Hostile input to the daemon's sockets: random bytes, truncated and
//! oversized OpenFlow messages on a bridge's management socket, garbage on
//! the control socket. Every connection is handled alone: the daemon stays
//! up, keeps its configuration and flows, and answers the real tools
//! afterwards.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;
use tests::daemon::{OurDaemon, alive};
use tests::{require, run, unique_name};

/// A small deterministic generator (no dependency needed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn blast(path: &std::path::Path, payload: &[u8]) {
    if let Ok(mut s) = UnixStream::connect(path) {
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
        let _ = s.write_all(payload);
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
    }
}

#[test]
fn random_and_malformed_input_leaves_the_daemon_serving() {
    require("ovs-ofctl", "openvswitch-common");
    let d = OurDaemon::start(&[]);
    let br = unique_name("rhs", 15);
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
    ]);
    let ofctl = |args: &[&str]| {
        run(Command::new("ovs-ofctl")
            .env("OVS_RUNDIR", d.path())
            .args(args))
    };
    assert!(
        ofctl(&["add-flow", &br, "priority=5,in_port=1,actions=drop"])
            .status
            .success()
    );
    let pid = d.pid().unwrap();
    let mgmt = d.path().join(format!("{br}.mgmt"));
    let ctl = d.path().join(format!("ovs-vswitchd.{pid}.ctl"));
    let db = d.path().join("db.sock");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    for round in 0..200 {
        let n = (rng.next() % 3000) as usize;
        let mut p = rng.bytes(n);
        match round % 5 {
            // A valid OpenFlow 1.3 HELLO, then garbage.
            0 => {
                let mut h = vec![4, 0, 0, 8, 0, 0, 0, 1];
                h.append(&mut p);
                p = h;
            }
            // A header claiming more than is sent, or less than 8.
            1 if p.len() >= 8 => {
                p[0] = 4;
                p[2] = 0xff;
                p[3] = 0xff;
            }
            2 if p.len() >= 8 => {
                p[0] = 1;
                p[2] = 0;
                p[3] = 3;
            }
            // A HELLO then a flow_mod header with a random body.
            3 => {
                let mut h = vec![4, 0, 0, 8, 0, 0, 0, 1, 4, 14];
                let len = (p.len() + 10).min(0xffff) as u16;
                h.extend_from_slice(&len.to_be_bytes());
                h.extend_from_slice(&[0, 0, 0, 2]);
                h.append(&mut p);
                p = h;
            }
            _ => {}
        }
        blast(&mgmt, &p);
        if round % 10 == 0 {
            blast(&ctl, &rng.bytes(200));
            blast(&db, &rng.bytes(300));
        }
    }
    // A never-ending message: a header announcing 64 KiB, then silence.
    blast(
        &mgmt,
        &[4, 0, 0, 8, 0, 0, 0, 1, 4, 14, 0xff, 0xff, 0, 0, 0, 9],
    );

    assert!(alive(pid), "the daemon died");
    let dump = ofctl(&["dump-flows", &br]);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(String::from_utf8_lossy(&dump.stdout).contains("priority=5,in_port=1 actions=drop"));
    assert!(d.ovs_vsctl(&["list-br"]).contains(&br));
    let v = d.ovs_appctl(&["version"]);
    assert!(v.status.success());
}
