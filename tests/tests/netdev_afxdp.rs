//! The `afxdp` backend between two network namespaces, in generic and in
//! native XDP mode: each namespace holds one end of a veth pair, our
//! backend opens the host ends with AF_XDP (loading and attaching its own
//! XDP redirect program), and a hub thread forwards between them; ping and
//! a 2 s iperf3 TCP transfer must succeed.
//!
//! AF_XDP carries no offload metadata, so the namespaces' veths have
//! checksum and segmentation offloads turned off (as OVS documents for
//! AF_XDP ports): frames arrive with complete checksums and at most MTU
//! size.

use datapath::netdev::afxdp::{Afxdp, AfxdpConfig, XdpMode};
use datapath::netdev::{Kind, LinkState, Netdev};
use tests::netns::{Hub, Netns, iperf3_with, require_tools, veth_into_mq};

fn run(mode: XdpMode, subnet: &str, queues: u32) {
    require_tools();
    let ns1 = Netns::new("nsx");
    let ns2 = Netns::new("nsy");
    let a1 = format!("{subnet}.1");
    let a2 = format!("{subnet}.2");
    let l1 = veth_into_mq(&ns1, "eth0", &format!("{a1}/24"), queues);
    let l2 = veth_into_mq(&ns2, "eth0", &format!("{a2}/24"), queues);
    for ns in [&ns1, &ns2] {
        ns.exec(&[
            "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off",
        ]);
    }
    let cfg = AfxdpConfig {
        mode,
        n_rxq: queues as usize,
        ..AfxdpConfig::default()
    };
    let p1 = Afxdp::open(l1.name(), &cfg).unwrap_or_else(|e| panic!("open afxdp {mode:?}: {e}"));
    let p2 = Afxdp::open(l2.name(), &cfg).unwrap_or_else(|e| panic!("open afxdp {mode:?}: {e}"));
    assert_eq!(p1.mode(), mode);
    assert_eq!(p1.n_rxq(), queues as usize);
    assert_eq!(p1.kind(), Kind::Afxdp);
    assert_eq!(p1.link_state(), LinkState::Up);
    let hub = Hub::start();
    hub.add(p1.clone());
    hub.add(p2.clone());
    assert!(ns1.ping(&a2, 3), "ping through afxdp ports ({mode:?})");
    let out = iperf3_with(&ns2, &ns1, &a2, &["-P", "4"]);
    for l in out
        .lines()
        .filter(|l| l.contains("SUM") && l.contains("receiver"))
    {
        eprintln!("iperf3 afxdp {mode:?}: {l}");
    }
    let (s1, s2) = (p1.stats(), p2.stats());
    eprintln!("{s1:?}\n{s2:?}");
    assert!(s1.rx_packets > 0 && s2.tx_packets > 0, "{s1:?} {s2:?}");
    assert_eq!(s1.tx_errors + s2.tx_errors, 0, "{s1:?} {s2:?}");
    assert!(hub.errors().is_empty(), "{:?}", hub.errors());
    for q in 0..queues as usize {
        let n = hub.rx_on_queue(p1.name(), q) + hub.rx_on_queue(p2.name(), q);
        eprintln!("{mode:?}: frames received on queue {q}: {n}");
        // veth records the receive queue only on its native (NAPI) path;
        // in generic mode every frame reports queue 0.
        if mode == XdpMode::Native {
            assert!(n > 0, "queue {q} received nothing");
        }
    }
    // Hot removal: the program detaches when the port is dropped, and the
    // kernel stack gets the frames again (no XDP program left on the link).
    hub.remove(p1.name());
    let name = l1.name().to_owned();
    drop(p1);
    // Another test thread's fork may hold a copy of the link's descriptor
    // until its exec (close-on-exec), so the detach can lag a moment.
    let mut out = String::new();
    let gone = tests::wait_for(std::time::Duration::from_secs(5), || {
        out = tests::netns::sh(&["ip", "link", "show", &name]);
        !out.contains("xdp")
    });
    assert!(gone, "XDP program left attached: {out}");
}

#[test]
fn afxdp_generic_forwards_icmp_and_tcp() {
    run(XdpMode::Generic, "10.9.3", 1);
}

#[test]
fn afxdp_native_forwards_icmp_and_tcp() {
    run(XdpMode::Native, "10.9.4", 1);
}

#[test]
fn afxdp_native_two_queues() {
    run(XdpMode::Native, "10.9.10", 2);
}

#[test]
fn afxdp_generic_two_queues() {
    run(XdpMode::Generic, "10.9.11", 2);
}

#[test]
fn afxdp_best_effort_falls_back_to_generic() {
    require_tools();
    // A kernel bridge device has no native XDP.
    let name = tests::unique_name("dmx", 15);
    tests::netns::sh(&["ip", "link", "add", &name, "type", "bridge"]);
    let _guard = tests::netns::Link::adopt(&name);
    let native = AfxdpConfig {
        mode: XdpMode::Native,
        ..AfxdpConfig::default()
    };
    let e = Afxdp::open(&name, &native).expect_err("native XDP on a bridge device");
    assert!(e.to_string().contains("native"), "{e}");
    let best = AfxdpConfig {
        mode: XdpMode::BestEffort,
        ..AfxdpConfig::default()
    };
    let p = Afxdp::open(&name, &best).expect("best-effort on a bridge device");
    assert_eq!(p.mode(), XdpMode::Generic);
    drop(p);
    // On a veth, best-effort gets native.
    let ns = Netns::new("nsz");
    let l = veth_into_mq(&ns, "eth0", "10.9.12.1/24", 1);
    let p = Afxdp::open(l.name(), &best).expect("best-effort on a veth");
    assert_eq!(p.mode(), XdpMode::Native);
    // Bad geometry is refused before touching the device.
    let bad = AfxdpConfig {
        frame_size: 1000,
        ..AfxdpConfig::default()
    };
    assert!(Afxdp::open(l.name(), &bad).is_err());
}
