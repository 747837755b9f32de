//! Ports added and removed while traffic flows, and ports of different
//! kinds forwarding to each other.
//!
//! * hot plug: two namespaces joined through `system` ports by a hub; while
//!   an iperf3 transfer runs between them, a third port (a tap in a third
//!   namespace) is added, reached by ping, and removed again; the transfer
//!   completes. Then one of the two ports is removed (traffic stops) and
//!   re-opened and re-added (traffic resumes).
//! * patch: two hubs ("bridges") joined by a patch pair, each with one
//!   `system` port; ping and TCP cross the patch.
//! * mixed: a `system` port with veth offloads ON towards an `afxdp` port:
//!   the TSO super-packets and checksum-partial frames from the system side
//!   must be segmented and completed in software on the AF_XDP egress.
//! * lossy: a `system` port wrapped in the seeded fault injector (1% loss
//!   each way); a TCP transfer still completes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use datapath::netdev::afxdp::{Afxdp, AfxdpConfig, XdpMode};
use datapath::netdev::patch;
use datapath::netdev::system::System;
use datapath::netdev::tap::Tap;
use datapath::netdev::{LinkState, Netdev};
use tests::netns::{Hub, Netns, iperf3, move_into, require_tools, veth_into};
use tests::unique_name;

#[test]
fn ports_come_and_go_while_traffic_flows() {
    require_tools();
    let ns1 = Netns::new("nsh");
    let ns2 = Netns::new("nsi");
    let ns3 = Netns::new("nsj");
    let l1 = veth_into(&ns1, "eth0", "10.9.5.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.5.2/24");
    let p1 = System::open(l1.name()).unwrap();
    let p2 = System::open(l2.name()).unwrap();
    let hub = Hub::start();
    hub.add(p1.clone());
    hub.add(p2.clone());
    assert!(ns1.ping("10.9.5.2", 2));

    // A transfer runs in the background while a port comes and goes.
    let t = std::thread::scope(|s| {
        let h = s.spawn(|| iperf3(&ns2, &ns1, "10.9.5.2"));
        std::thread::sleep(Duration::from_millis(700));
        let tap_name = unique_name("tph", 15);
        let tap = Tap::open(&tap_name).unwrap();
        move_into(&ns3, &tap_name, "10.9.5.3/24");
        hub.add(tap.clone());
        assert!(ns1.ping("10.9.5.3", 2), "ping the hot-added tap port");
        assert!(hub.remove(&tap_name));
        drop(tap);
        assert!(!ns1.try_exec(&["ping", "-c", "1", "-W", "1", "10.9.5.3"]).0);
        h.join().unwrap()
    });
    assert!(t.contains("receiver"), "{t}");

    // Remove a port: traffic stops. Re-open and re-add it: traffic resumes.
    assert!(hub.remove(p2.name()));
    drop(p2);
    assert!(!ns1.try_exec(&["ping", "-c", "2", "-W", "1", "10.9.5.2"]).0);
    let p2 = System::open(l2.name()).unwrap();
    hub.add(p2.clone());
    assert!(ns1.ping("10.9.5.2", 2), "ping after re-adding the port");
    assert!(hub.errors().is_empty(), "{:?}", hub.errors());
}

#[test]
fn patch_joins_two_bridges() {
    require_tools();
    let ns1 = Netns::new("nsk");
    let ns2 = Netns::new("nsl");
    let l1 = veth_into(&ns1, "eth0", "10.9.6.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.6.2/24");
    let (pa, pb) = patch::pair("patch-a", "patch-b").unwrap();
    assert_eq!(pa.link_state(), LinkState::Up);
    let br1 = Hub::start();
    let br2 = Hub::start();
    br1.add(System::open(l1.name()).unwrap());
    br1.add(pa.clone());
    br2.add(pb.clone());
    br2.add(System::open(l2.name()).unwrap());
    assert!(ns1.ping("10.9.6.2", 3), "ping across the patch");
    let out = iperf3(&ns2, &ns1, "10.9.6.2");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 across patch: {l}");
    }
    assert!(pa.stats().tx_packets > 0 && pb.stats().rx_packets > 0);
    // Offload state crossed the patch unchanged.
    assert!(br2.csum_partial.load(Ordering::Relaxed) > 0);
}

#[test]
fn system_with_offloads_to_afxdp_segments_in_software() {
    require_tools();
    let ns1 = Netns::new("nsm");
    let ns2 = Netns::new("nsn");
    let l1 = veth_into(&ns1, "eth0", "10.9.7.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.7.2/24");
    // ns1 keeps its offloads (TSO, checksum partial); ns2 is behind AF_XDP.
    ns2.exec(&[
        "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off",
    ]);
    let sys = System::open(l1.name()).unwrap();
    let xdp = Afxdp::open(
        l2.name(),
        &AfxdpConfig {
            mode: XdpMode::Generic,
            ..AfxdpConfig::default()
        },
    )
    .unwrap();
    let hub = Hub::start();
    hub.add(sys.clone());
    hub.add(xdp.clone());
    assert!(ns1.ping("10.9.7.2", 3));
    let out = iperf3(&ns2, &ns1, "10.9.7.2");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 system(TSO) -> afxdp: {l}");
    }
    let gso = hub.gso.load(Ordering::Relaxed);
    eprintln!("GSO super-packets segmented in software: {gso}");
    assert!(gso > 0, "no GSO super-packet came from the system port");
    // The same over IPv6 (TCPv6 super-packets).
    ns1.exec(&[
        "ip",
        "-6",
        "addr",
        "add",
        "fd09:7::1/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    ns2.exec(&[
        "ip",
        "-6",
        "addr",
        "add",
        "fd09:7::2/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    let before = hub.gso.load(Ordering::Relaxed);
    assert!(
        tests::wait_for(std::time::Duration::from_secs(5), || ns1
            .try_exec(&["ping", "-6", "-c", "1", "-W", "1", "fd09:7::2"])
            .0),
        "ping over IPv6"
    );
    let out = iperf3(&ns2, &ns1, "fd09:7::2");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 system(TSO) -> afxdp over IPv6: {l}");
    }
    let gso6 = hub.gso.load(Ordering::Relaxed) - before;
    eprintln!("IPv6 GSO super-packets segmented in software: {gso6}");
    assert!(
        gso6 > 0,
        "no IPv6 GSO super-packet came from the system port"
    );
    let s = xdp.stats();
    eprintln!("afxdp port: {s:?}");
    assert_eq!(s.tx_errors, 0, "{s:?}");
    assert!(s.tx_packets > gso + gso6, "{s:?}");
}

#[test]
fn tcp_survives_a_lossy_port() {
    use datapath::netdev::wrap::{FaultConfig, Faulty};
    require_tools();
    let ns1 = Netns::new("nso");
    let ns2 = Netns::new("nsp");
    let l1 = veth_into(&ns1, "eth0", "10.9.13.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.13.2/24");
    let lossy = Faulty::new(
        System::open(l1.name()).unwrap(),
        FaultConfig {
            seed: 1,
            rx_drop_ppm: 10_000,
            tx_drop_ppm: 10_000,
            corrupt_ppm: 0,
        },
    );
    let hub = Hub::start();
    hub.add(lossy.clone());
    hub.add(System::open(l2.name()).unwrap());
    let out = iperf3(&ns2, &ns1, "10.9.13.2");
    for l in out.lines().filter(|l| l.contains("sender")) {
        eprintln!("iperf3 with 1% loss each way: {l}");
    }
    assert!(lossy.injected() > 0, "no fault was injected");
}
