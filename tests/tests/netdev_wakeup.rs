//! The sleep-when-idle contract: once `recv` has drained a queue, its fd
//! polls readable when a new frame arrives (no missed wakeup), for every
//! backend with an fd. A frame is sent from inside a namespace while the
//! test sleeps in `poll` with a generous timeout; the poll must return
//! readable and the next `recv` must deliver the frame.

use std::time::{Duration, Instant};

use datapath::netdev::afxdp::{Afxdp, AfxdpConfig, XdpMode};
use datapath::netdev::system::{RxMode, System, SystemConfig};
use datapath::netdev::tap::Tap;
use datapath::netdev::{Batch, Netdev, RxQueue};
use tests::netns::{Netns, move_into, require_tools, veth_into};
use tests::unique_name;

fn drain(q: &mut dyn RxQueue) {
    let mut b = Batch::new(4096);
    for _ in 0..100 {
        b.clear();
        if q.recv(&mut b).unwrap() == 0 {
            return;
        }
    }
}

fn poll_readable(fd: i32, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd.
    let rc = unsafe { libc::poll(&mut p, 1, timeout.as_millis() as i32) };
    rc == 1 && p.revents & libc::POLLIN != 0
}

/// Drains `q`, then sends one ARP request from `ns` (for an address nobody
/// has) in the background, sleeping in `poll` until the ARP frame is
/// received. Stray frames and spurious wakeups just loop; a missed wakeup
/// shows as the 5 s timeout.
fn check(what: &str, ns: &Netns, dev: &str, q: &mut dyn RxQueue) {
    std::thread::sleep(Duration::from_millis(200));
    drain(q);
    let fd = q.fd().expect("backend has a wakeup fd");
    let nsname = ns.name().to_owned();
    let dev = dev.to_owned();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let _ = std::process::Command::new("ip")
            .args([
                "netns", "exec", &nsname, "arping", "-c", "1", "-w", "1", "-I", &dev,
            ])
            .arg("10.99.0.99")
            .output();
    });
    let t = Instant::now();
    let deadline = t + Duration::from_secs(5);
    let mut b = Batch::new(4096);
    let mut wakeups = 0;
    let got_arp = loop {
        let now = Instant::now();
        if now >= deadline {
            break false;
        }
        if !poll_readable(fd, deadline - now) {
            continue;
        }
        wakeups += 1;
        // Readable: the frame may still be on its way into the ring for a
        // moment (spurious wakeups are allowed), so read until empty.
        b.clear();
        q.recv(&mut b).unwrap();
        if b.packets()
            .iter()
            .any(|p| p.data().get(12..14) == Some(&[0x08, 0x06]))
        {
            break true;
        }
    };
    sender.join().unwrap();
    assert!(
        got_arp,
        "{what}: the ARP frame was not delivered after a wakeup within 5 s ({wakeups} wakeups)"
    );
    eprintln!(
        "{what}: woke and received after {:?} ({wakeups} wakeups)",
        t.elapsed()
    );
}

fn quiet(ns: &Netns) {
    ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    ns.exec(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
}

#[test]
fn system_tap_afxdp_wake_up_when_a_frame_arrives() {
    require_tools();
    tests::require("arping", "iputils-arping");
    let ns = Netns::new("nsw");
    quiet(&ns);
    let l = veth_into(&ns, "eth0", "10.99.0.1/24");
    let sys = System::open(l.name()).unwrap();
    check(
        "system (recvmmsg)",
        &ns,
        "eth0",
        &mut *sys.take_rxq(0).unwrap(),
    );
    drop(sys);
    let ring = SystemConfig {
        rx_mode: RxMode::Ring,
        ..SystemConfig::default()
    };
    let sys = System::open_with(l.name(), &ring).unwrap();
    check("system (ring)", &ns, "eth0", &mut *sys.take_rxq(0).unwrap());
    drop(sys);

    let xdp = Afxdp::open(
        l.name(),
        &AfxdpConfig {
            mode: XdpMode::Generic,
            ..AfxdpConfig::default()
        },
    )
    .unwrap();
    check("afxdp", &ns, "eth0", &mut *xdp.take_rxq(0).unwrap());
    drop(xdp);

    let ns2 = Netns::new("nsw");
    quiet(&ns2);
    let name = unique_name("tpw", 15);
    let tap = Tap::open(&name).unwrap();
    move_into(&ns2, &name, "10.99.0.1/24");
    check("tap", &ns2, &name, &mut *tap.take_rxq(0).unwrap());
}
