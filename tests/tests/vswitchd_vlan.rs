//! VLANs through NORMAL with access and trunk ports configured in the
//! database (`tag`, `trunks`), a port whose device does not exist beside
//! working ones, and a veth deleted under the running daemon.

use std::time::Duration;
use tests::daemon::OurDaemon;
use tests::netns::{Netns, require_tools, sh, two_hosts, veth_into};
use tests::{unique_name, wait_for};

#[test]
fn access_and_trunk_ports_isolate_vlans() {
    require_tools();
    let a = Netns::new("rva");
    let b = Netns::new("rvb");
    let c = Netns::new("rvc");
    let t = Netns::new("rvt");
    let la = veth_into(&a, "eth0", "10.83.10.1/24");
    let lb = veth_into(&b, "eth0", "10.83.10.2/24");
    let lc = veth_into(&c, "eth0", "10.83.10.3/24");
    // Each host answers ARP for its address only (no replies out of the
    // wrong VLAN by proxy).
    for ns in [&a, &b, &c] {
        ns.exec(&["sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"]);
    }
    // The trunk namespace sends and reads tagged frames with a raw socket
    // (this kernel has no VLAN devices).
    let lt = veth_into(&t, "eth0", "192.0.2.1/32");
    let d = OurDaemon::start(&[]);
    let br = unique_name("rvl", 15);
    let missing = unique_name("rvm", 15);
    d.ovs_vsctl(&["init"]);
    d.ovs_vsctl(&[
        "add-br",
        &br,
        "--",
        "add-port",
        &br,
        la.name(),
        "tag=10",
        "--",
        "add-port",
        &br,
        lb.name(),
        "tag=10",
        "--",
        "add-port",
        &br,
        lc.name(),
        "tag=20",
        "--",
        "add-port",
        &br,
        lt.name(),
        "trunks=10,20",
    ]);
    // A port whose device does not exist: an error, and the rest works.
    let _ = std::process::Command::new("ovs-vsctl")
        .arg(d.db_arg())
        .args(["--timeout=10", "add-port", &br, &missing])
        .output();
    assert_eq!(
        d.ovs_vsctl(&["get", "Interface", &missing, "ofport"])
            .trim(),
        "-1"
    );

    assert!(a.ping("10.83.10.2", 2), "same access VLAN: no connectivity");
    assert!(!a.ping("10.83.10.3", 1), "VLAN 10 reached VLAN 20");
    assert!(!c.ping("10.83.10.2", 1), "VLAN 20 reached VLAN 10");

    // From the trunk: an ARP request tagged VLAN 10 for a's address is
    // answered by a, tagged 10; the same request tagged 20 is not (a is in
    // VLAN 10), while VLAN 20's own host answers tagged 20.
    assert_eq!(
        trunk_arp(&t, 10, "10.83.10.1"),
        Some(10),
        "no tagged reply from VLAN 10"
    );
    assert_eq!(
        trunk_arp(&t, 20, "10.83.10.1"),
        None,
        "VLAN 20 request reached VLAN 10"
    );
    assert_eq!(
        trunk_arp(&t, 20, "10.83.10.3"),
        Some(20),
        "no tagged reply from VLAN 20"
    );
    let fdb = String::from_utf8_lossy(&d.ovs_appctl(&["fdb/show", &br]).stdout).into_owned();
    assert!(
        fdb.lines()
            .any(|l| l.split_whitespace().nth(1) == Some("10")),
        "{fdb}"
    );
}

/// Sends an ARP request for `ip` tagged `vid` out of the trunk namespace's
/// eth0 and returns the VLAN tag of the reply, if one comes within 2 s.
fn trunk_arp(t: &Netns, vid: u16, ip: &str) -> Option<u16> {
    // A sender address of its own per call, so a late reply to an earlier
    // request is never taken for a reply to this one.
    static CALL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(100);
    let me = format!(
        "10.83.10.{}",
        CALL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let script = format!(
        r#"
import socket, struct, time, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA
s.settimeout(0.2)
mac = s.getsockname()[4]
tip = socket.inet_aton("{ip}")
me = socket.inet_aton("{me}")
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, me, b"\0"*6, tip)
frame = b"\xff"*6 + mac + struct.pack("!HH", 0x8100, {vid}) + struct.pack("!H", 0x0806) + arp
end = time.time() + 2
while time.time() < end:
    s.send(frame)
    try:
        while True:
            d, anc, _, a = s.recvmsg(2048, 1024)
            # Our own transmissions come back as PACKET_OUTGOING (4).
            if a[2] == 4:
                continue
            # The kernel moves a received tag into the aux data.
            vid = None
            for lvl, typ, data in anc:
                if lvl == 263 and typ == 8 and len(data) >= 20:
                    st, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", data[:20])
                    if st & 0x10:
                        vid = tci & 0xfff
            if d[12:14] == b"\x81\x00":
                vid, d = struct.unpack("!H", d[14:16])[0] & 0xfff, d[:12] + d[16:]
            if vid is not None and d[12:14] == b"\x08\x06" and d[20:22] == b"\x00\x02" and d[28:32] == tip and d[38:42] == me:
                print(vid); sys.exit(0)
    except socket.timeout:
        pass
print("none")
"#
    );
    let out = t.exec(&["python3", "-c", &script]);
    out.trim().parse().ok()
}

#[test]
fn a_veth_deleted_under_the_daemon_goes_down_and_nothing_crashes() {
    let (a, _b, la, lb) = two_hosts("rd", "10.84.0");
    let d = OurDaemon::start(&[]);
    let br = unique_name("rdl", 15);
    d.ovs_vsctl(&["init"]);
    d.ovs_vsctl(&[
        "add-br",
        &br,
        "--",
        "add-port",
        &br,
        la.name(),
        "--",
        "add-port",
        &br,
        lb.name(),
    ]);
    assert!(a.ping("10.84.0.2", 2));
    assert_eq!(
        d.ovs_vsctl(&["get", "Interface", lb.name(), "link_state"])
            .trim(),
        "up"
    );
    // Delete b's veth underneath (the namespace's end goes with it).
    sh(&["ip", "link", "del", lb.name()]);
    assert!(
        wait_for(Duration::from_secs(15), || {
            d.ovs_vsctl(&["get", "Interface", lb.name(), "link_state"])
                .trim()
                == "down"
        }),
        "link_state of the deleted veth never became down"
    );
    // The daemon still answers and still forwards on the bridge.
    assert!(d.ovs_vsctl(&["show"]).contains(la.name()));
    let out = d.ovs_appctl(&["dpif/show"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(lb);
}
