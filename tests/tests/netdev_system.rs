//! The `system` backend (AF_PACKET, TPACKET_V3, vnet header) between two
//! network namespaces: each holds one end of a veth pair, our backend opens
//! the host ends, and a hub thread forwards between them. veth offloads
//! stay ON, so the namespaces' TCP stacks send checksum-partial and TSO
//! super-packets: the test checks that such frames were seen and forwarded
//! intact (ping and a 2 s iperf3 TCP transfer succeed).

use datapath::netdev::system::{System, SystemConfig};
use datapath::netdev::{LinkState, Netdev};
use tests::netns::{Hub, Netns, iperf3_with, require_tools, veth_into};

#[test]
fn system_forwards_icmp_and_tcp_with_offloads_on() {
    require_tools();
    let ns1 = Netns::new("nsa");
    let ns2 = Netns::new("nsb");
    let l1 = veth_into(&ns1, "eth0", "10.9.0.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.0.2/24");
    // Offloads are on by default on veth; make sure (tx checksum, TSO).
    let feats = ns1.exec(&["ethtool", "-k", "eth0"]);
    assert!(
        feats.contains("tx-checksumming: on") && feats.contains("tcp-segmentation-offload: on"),
        "veth offloads expected on: {feats}"
    );
    let p1 = System::open(l1.name()).expect("open system port 1");
    let cfg = SystemConfig {
        n_rxq: 2,
        ..SystemConfig::default()
    };
    let p2 = System::open_with(l2.name(), &cfg).expect("open system port 2 (2 queues, fanout)");
    assert_eq!(p2.n_rxq(), 2);
    assert!(p1.ifindex().is_some());
    assert_eq!(p1.link_state(), LinkState::Up);
    assert_eq!(p1.mtu().unwrap(), 1500);
    let hub = Hub::start();
    hub.add(p1.clone());
    hub.add(p2.clone());
    assert!(ns1.ping("10.9.0.2", 3), "ping through the system ports");
    // Sixteen flows, so the fanout group spreads them over both of p2's
    // sockets (all on one: probability 2^-15).
    let out = iperf3_with(&ns2, &ns1, "10.9.0.2", &["-P", "16"]);
    assert!(out.contains("receiver"), "{out}");
    for l in out
        .lines()
        .filter(|l| l.contains("SUM") && l.contains("receiver"))
    {
        eprintln!("iperf3: {l}");
    }
    let csum = hub.csum_partial.load(std::sync::atomic::Ordering::Relaxed);
    let gso = hub.gso.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        csum > 0,
        "no checksum-partial frame was seen: the vnet header path was not exercised"
    );
    eprintln!("frames with csum offload: {csum}, GSO super-packets: {gso}");
    let (s1, s2) = (p1.stats(), p2.stats());
    assert!(s1.rx_packets > 0 && s1.tx_packets > 0, "{s1:?}");
    assert!(s2.rx_packets > 0 && s2.tx_packets > 0, "{s2:?}");
    assert_eq!(s1.tx_errors + s2.tx_errors, 0, "{s1:?} {s2:?}");
    assert!(hub.errors().is_empty(), "{:?}", hub.errors());
    let (q0, q1) = (hub.rx_on_queue(p2.name(), 0), hub.rx_on_queue(p2.name(), 1));
    eprintln!("fanout: queue 0 received {q0}, queue 1 received {q1}");
    assert!(
        q0 > 0 && q1 > 0,
        "fanout did not use both sockets: {q0} {q1}"
    );
    // MTU and MAC control.
    p1.set_mtu(1400).unwrap();
    assert_eq!(p1.mtu().unwrap(), 1400);
    p1.set_mac([0x02, 0, 0, 0, 0x12, 0x34]).unwrap();
    assert_eq!(p1.mac().unwrap(), [0x02, 0, 0, 0, 0x12, 0x34]);
}
