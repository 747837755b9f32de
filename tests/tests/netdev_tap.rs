//! The `tap` and `internal` backends between network namespaces.
//!
//! `tap`: two taps opened (created) by our backend, one with two queues,
//! each moved into its own namespace and addressed there; a hub thread
//! forwards between them. The namespaces' stacks send checksum-partial and
//! TSO frames to the taps (we accept offloads with `TUNSETOFFLOAD`); they
//! must be forwarded intact through the vnet header.
//!
//! `internal`: the bridge's local port (a tap we create) in one namespace,
//! a veth opened with the `system` backend in the other: offload state
//! crosses from one backend kind to the other.

use std::sync::atomic::Ordering;

use datapath::netdev::system::System;
use datapath::netdev::tap::{Tap, TapConfig};
use datapath::netdev::{Kind, LinkState, Netdev};
use tests::netns::{Hub, Netns, iperf3, move_into, require_tools, veth_into};
use tests::unique_name;

#[test]
fn tap_forwards_icmp_and_tcp() {
    require_tools();
    let ns1 = Netns::new("nsc");
    let ns2 = Netns::new("nsd");
    let n1 = unique_name("tpa", 15);
    let n2 = unique_name("tpb", 15);
    let t1 = Tap::open(&n1).expect("create tap 1");
    let t2 = Tap::open_with(
        &n2,
        &TapConfig {
            n_queues: 2,
            ..TapConfig::default()
        },
    )
    .expect("create multi-queue tap 2");
    assert_eq!(t2.n_rxq(), 2);
    assert_eq!(t1.kind(), Kind::Tap);
    assert_eq!(t1.link_state(), LinkState::Up);
    t1.set_mtu(1400).unwrap();
    assert_eq!(t1.mtu().unwrap(), 1400);
    t1.set_mtu(1500).unwrap();
    t1.set_mac([0x02, 0, 0, 0, 0xab, 0xcd]).unwrap();
    assert_eq!(t1.mac().unwrap(), [0x02, 0, 0, 0, 0xab, 0xcd]);
    move_into(&ns1, &n1, "10.9.1.1/24");
    move_into(&ns2, &n2, "10.9.1.2/24");
    let hub = Hub::start();
    hub.add(t1.clone());
    hub.add(t2.clone());
    assert!(ns1.ping("10.9.1.2", 3), "ping through the taps");
    let out = iperf3(&ns2, &ns1, "10.9.1.2");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 tap<->tap: {l}");
    }
    let csum = hub.csum_partial.load(Ordering::Relaxed);
    let gso = hub.gso.load(Ordering::Relaxed);
    eprintln!("frames with csum offload: {csum}, GSO super-packets: {gso}");
    assert!(csum > 0, "no checksum-partial frame came from the taps");
    let (s1, s2) = (t1.stats(), t2.stats());
    assert!(s1.rx_packets > 0 && s2.tx_packets > 0, "{s1:?} {s2:?}");
    assert_eq!(s1.tx_errors + s2.tx_errors, 0, "{s1:?} {s2:?}");
    assert!(hub.errors().is_empty(), "{:?}", hub.errors());
}

#[test]
fn internal_port_to_system_port() {
    require_tools();
    let ns1 = Netns::new("nse");
    let ns2 = Netns::new("nsf");
    let name = unique_name("br", 15);
    let local = Tap::internal(&name, 1).expect("create internal port");
    assert_eq!(local.kind(), Kind::Internal);
    assert!(
        Tap::internal(&name, 1).is_err(),
        "a second internal port of the same name must fail"
    );
    move_into(&ns1, &name, "10.9.2.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.2.2/24");
    let sys = System::open(l2.name()).expect("open system port");
    let hub = Hub::start();
    hub.add(local.clone());
    hub.add(sys.clone());
    assert!(ns1.ping("10.9.2.2", 3), "ping internal -> system");
    assert!(ns2.ping("10.9.2.1", 2), "ping system -> internal");
    let out = iperf3(&ns2, &ns1, "10.9.2.2");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 internal->system: {l}");
    }
    let out = iperf3(&ns1, &ns2, "10.9.2.1");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 system->internal: {l}");
    }
    assert!(hub.csum_partial.load(Ordering::Relaxed) > 0);
    assert!(hub.errors().is_empty(), "{:?}", hub.errors());
    assert_eq!(local.stats().tx_errors + sys.stats().tx_errors, 0);
}

#[test]
fn tap_opens_an_existing_persistent_tap_and_leaves_it() {
    require_tools();
    let name = unique_name("tpp", 15);
    tests::netns::sh(&["ip", "tuntap", "add", "name", &name, "mode", "tap"]);
    let _guard = tests::netns::Link::adopt(&name);
    let t = Tap::open(&name).expect("open the persistent tap");
    let idx = t.ifindex().unwrap();
    drop(t);
    // Still there, same device: we did not create it, we do not delete it.
    assert_eq!(datapath::netdev::sys::ifindex(&name).unwrap(), idx);
    let t = Tap::open(&name).expect("open it again");
    assert_eq!(t.ifindex(), Some(idx));
}

/// With offloads off, the host's kernel completes checksums and segments
/// before handing frames over: no frame from the tap carries offload state,
/// and TCP still works.
#[test]
fn tap_without_offloads_gets_complete_frames() {
    require_tools();
    let ns1 = Netns::new("nsc");
    let ns2 = Netns::new("nsd");
    let n1 = unique_name("tpn", 15);
    let off = TapConfig {
        offloads: false,
        ..TapConfig::default()
    };
    let t1 = Tap::open_with(&n1, &off).unwrap();
    move_into(&ns1, &n1, "10.9.20.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.20.2/24");
    // The veth side sends nothing with offloads either, so every offloaded
    // frame the hub sees would have come from the tap.
    ns2.exec(&[
        "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off",
    ]);
    let hub = Hub::start();
    hub.add(t1.clone());
    hub.add(System::open(l2.name()).unwrap());
    assert!(ns1.ping("10.9.20.2", 2));
    let out = iperf3(&ns2, &ns1, "10.9.20.2");
    assert!(out.contains("receiver"), "{out}");
    assert_eq!(hub.csum_partial.load(Ordering::Relaxed), 0);
    assert_eq!(hub.gso.load(Ordering::Relaxed), 0);
}
