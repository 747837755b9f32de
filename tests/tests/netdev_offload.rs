//! Offload state through the fast path when an action rewrites the headers
//! the pending checksum covers.
//!
//! The veths keep their default offloads, so the client's TCP hands our
//! `system` port 64 KiB GSO super-packets whose TCP checksum is partial
//! (only the pseudo-header sum is in the field). The datapath rewrites the
//! IPv4 addresses and TCP ports of those packets (a NAT done with
//! `Set(Ipv4)` and `Set(Tcp)` actions) and sends them on whole, with the
//! vnet header.
//!
//! Where the checksum gets checked: a partial checksum is trusted by a
//! local receiver, so the packets go on through a router namespace whose
//! outgoing veth has transmit checksumming off (its kernel segments the
//! super-packet and completes every segment's checksum in software, from
//! the pseudo-header sum we left) to a server whose veth has receive
//! checksumming off (its kernel verifies every segment). A wrong
//! pseudo-header sum after the rewrite thus gives segments the server
//! drops (`TcpInCsumErrors`), and the transfer fails.
//!
//! Three tests: the datapath alone with an upcall handler that emits the
//! NAT actions, between `system` ports and between tap ports
//! (`IFF_VNET_HDR`, the taps' kernel sides in the client and router
//! namespaces); and the daemon with the same NAT as OpenFlow flows
//! (`mod_nw_dst`, `mod_tp_dst`, ...) installed by the real `ovs-ofctl`.
//!
//! ```text
//! client (ns c) --veth-- [port 1  datapath  port 2] --veth-- router (ns r) --veth-- server (ns s)
//!   10.N.1.1                NAT VIP:VPORT <-> SRV:PORT     10.N.1.2 | 10.N.2.1        10.N.2.3
//! ```

use std::sync::Arc;

use datapath::actions::{Action, L4Ports, SetMasked};
use datapath::dpif::{Datapath, DatapathConfig};
use datapath::flow::{FlowKey, FlowMask};
use datapath::netdev::Netdev;
use datapath::netdev::system::System;
use datapath::netdev::tap::Tap;
use datapath::upcall::{Translation, UpcallError, UpcallHandler};
use tests::daemon::OurDaemon;
use tests::netns::{Netns, require_tools, sh};
use tests::{require, unique_name};

/// Addresses of one test run.
#[derive(Clone, Copy)]
struct Nat {
    /// The address and port the client connects to.
    vip: u32,
    vport: u16,
    /// The server's real address and port.
    srv: u32,
    port: u16,
}

const ETH_IPV4: u16 = 0x0800;
const TCP: u8 = 6;

/// A masked IPv4 address rewrite (TOS and TTL untouched).
fn set_ipv4(src: u32, src_mask: u32, dst: u32, dst_mask: u32) -> Action {
    Action::Set(SetMasked::Ipv4 {
        src,
        src_mask,
        dst,
        dst_mask,
        tos: 0,
        tos_mask: 0,
        ttl: 0,
        ttl_mask: 0,
    })
}

/// Port 1 <-> port 2, rewriting VIP:VPORT to SRV:PORT towards the server and
/// back on the replies.
struct NatWire(Nat);

impl UpcallHandler for NatWire {
    fn translate(
        &self,
        key: &FlowKey,
        _packet: Option<&[u8]>,
        out: &mut Translation,
    ) -> Result<(), UpcallError> {
        let n = self.0;
        out.version = 1;
        out.mask = FlowMask::exact();
        let tcp = key.dl_type == ETH_IPV4 && key.nw_proto == TCP;
        match key.in_port {
            1 => {
                if tcp && key.nw_dst == n.vip && key.tp_dst == n.vport {
                    out.actions.push(set_ipv4(0, 0, n.srv, !0));
                    out.actions.push(Action::Set(SetMasked::Tcp(L4Ports {
                        dst: n.port,
                        dst_mask: !0,
                        ..L4Ports::default()
                    })));
                }
                out.actions.push(Action::Output(2));
            }
            2 => {
                if tcp && key.nw_src == n.srv && key.tp_src == n.port {
                    out.actions.push(set_ipv4(n.vip, !0, 0, 0));
                    out.actions.push(Action::Set(SetMasked::Tcp(L4Ports {
                        src: n.vport,
                        src_mask: !0,
                        ..L4Ports::default()
                    })));
                }
                out.actions.push(Action::Output(1));
            }
            _ => {}
        }
        Ok(())
    }
}

fn ip(s: &str) -> u32 {
    u32::from(s.parse::<std::net::Ipv4Addr>().expect("address"))
}

/// A veth pair between two namespaces, `a_if` in `a` and `b_if` in `b`.
fn link(a: &Netns, a_if: &str, b: &Netns, b_if: &str) {
    sh(&[
        "ip",
        "link",
        "add",
        a_if,
        "netns",
        a.name(),
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ]);
}

/// A host-side veth whose peer is `inner` in `ns`; deleted on drop.
struct HostVeth(String);

impl Drop for HostVeth {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.0])
            .output();
    }
}

fn host_veth(ns: &Netns, inner: &str) -> HostVeth {
    let host = unique_name("vo", 15);
    sh(&[
        "ip",
        "link",
        "add",
        &host,
        "type",
        "veth",
        "peer",
        "name",
        inner,
        "netns",
        ns.name(),
    ]);
    let v = HostVeth(host);
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", v.0), "1");
    sh(&["ip", "link", "set", &v.0, "up"]);
    v
}

/// `TcpInCsumErrors` of namespace `ns` (from `/proc/net/snmp`).
fn tcp_csum_errors(ns: &Netns) -> u64 {
    let snmp = ns.exec(&["cat", "/proc/net/snmp"]);
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        panic!("no Tcp lines in /proc/net/snmp: {snmp}");
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "InCsumErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no InCsumErrors in {names}"))
}

/// The namespaces and addresses of one run (see the module documentation).
struct Topo {
    c: Netns,
    s: Netns,
    _r: Netns,
    /// The switch's two interfaces: host ends of veths, or taps whose
    /// kernel side was moved into the client and router namespaces.
    p1_name: String,
    p2_name: String,
    _veths: Vec<HostVeth>,
    taps: Option<(Arc<Tap>, Arc<Tap>)>,
    s_ip: String,
    vip: String,
    port: u16,
    vport: u16,
}

fn topology(prefix: &str, taps: bool) -> Topo {
    require_tools();
    // A /16 of 10.x unique to this process, so parallel runs do not clash.
    let net = format!("10.{}", 100 + std::process::id() % 100);
    let (c_ip, r_ip1, r_ip2, s_ip, vip) = (
        format!("{net}.1.1"),
        format!("{net}.1.2"),
        format!("{net}.2.1"),
        format!("{net}.2.3"),
        format!("{net}.2.100"),
    );
    let port = 20000 + (std::process::id() % 10000) as u16;
    let c = Netns::new(&format!("{prefix}c"));
    let r = Netns::new(&format!("{prefix}r"));
    let s = Netns::new(&format!("{prefix}s"));
    let (c_if, r_if, p1_name, p2_name, veths, tap_pair) = if taps {
        let (n1, n2) = (unique_name("tpo", 15), unique_name("tpo", 15));
        let t1 = Tap::open(&n1).expect("create tap 1");
        let t2 = Tap::open(&n2).expect("create tap 2");
        sh(&["ip", "link", "set", &n1, "netns", c.name()]);
        sh(&["ip", "link", "set", &n2, "netns", r.name()]);
        (n1.clone(), n2.clone(), n1, n2, Vec::new(), Some((t1, t2)))
    } else {
        let h1 = host_veth(&c, "eth0");
        let h2 = host_veth(&r, "eth0");
        let names = (h1.0.clone(), h2.0.clone());
        (
            "eth0".to_owned(),
            "eth0".to_owned(),
            names.0,
            names.1,
            vec![h1, h2],
            None,
        )
    };
    link(&r, "eth1", &s, "eth0");
    c.exec(&["ip", "addr", "add", &format!("{c_ip}/24"), "dev", &c_if]);
    c.exec(&["ip", "link", "set", &c_if, "up"]);
    c.exec(&[
        "ip",
        "route",
        "add",
        &format!("{net}.2.0/24"),
        "via",
        &r_ip1,
    ]);
    r.exec(&["ip", "addr", "add", &format!("{r_ip1}/24"), "dev", &r_if]);
    r.exec(&["ip", "addr", "add", &format!("{r_ip2}/24"), "dev", "eth1"]);
    r.exec(&["ip", "link", "set", &r_if, "up"]);
    r.exec(&["ip", "link", "set", "eth1", "up"]);
    r.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    // The router completes checksums in software, the server verifies.
    r.exec(&["ethtool", "-K", "eth1", "tx", "off"]);
    s.exec(&["ethtool", "-K", "eth0", "rx", "off"]);
    s.exec(&["ip", "addr", "add", &format!("{s_ip}/24"), "dev", "eth0"]);
    s.exec(&["ip", "link", "set", "eth0", "up"]);
    s.exec(&["ip", "route", "add", "default", "via", &r_ip2]);
    let feats = c.exec(&["ethtool", "-k", &c_if]);
    assert!(
        feats.contains("tx-checksumming: on") && feats.contains("tcp-segmentation-offload: on"),
        "client interface offloads expected on: {feats}"
    );
    Topo {
        c,
        s,
        _r: r,
        p1_name,
        p2_name,
        _veths: veths,
        taps: tap_pair,
        s_ip,
        vip,
        port,
        vport: port + 1,
    }
}

impl Topo {
    /// A 3 s iperf3 from the client to VIP:VPORT (served at SRV:PORT).
    /// Returns whether it succeeded, its output, and how many segments
    /// with a bad TCP checksum the server counted meanwhile.
    fn iperf3_through_nat(&self) -> (bool, String, u64) {
        let errs0 = tcp_csum_errors(&self.s);
        let port_s = self.port.to_string();
        let _srv = self.s.spawn(&["iperf3", "-s", "-1", "-p", &port_s]);
        let vport_s = self.vport.to_string();
        let mut result = (false, String::new());
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            result = self.c.try_exec(&[
                "iperf3",
                "-c",
                &self.vip,
                "-p",
                &vport_s,
                "-t",
                "3",
                "--connect-timeout",
                "2000",
            ]);
            if result.0 || !result.1.contains("Connection refused") {
                break;
            }
        }
        let errs = tcp_csum_errors(&self.s) - errs0;
        for l in result
            .1
            .lines()
            .filter(|l| l.contains("sender") || l.contains("receiver"))
        {
            eprintln!("iperf3 through NAT: {l}");
        }
        (result.0, result.1, errs)
    }
}

/// The datapath alone between ports `p1` and `p2` of `t`, with the NAT
/// emitted by [`NatWire`].
fn datapath_nat(t: &Topo, p1: Arc<dyn Netdev>, p2: Arc<dyn Netdev>) {
    let nat = Nat {
        vip: ip(&t.vip),
        vport: t.vport,
        srv: ip(&t.s_ip),
        port: t.port,
    };
    let mut dp = Datapath::new(
        DatapathConfig {
            threads: 1,
            ..DatapathConfig::default()
        },
        Arc::new(NatWire(nat)),
    );
    dp.add_netdev(1, p1.clone()).expect("add port 1");
    dp.add_netdev(2, p2.clone()).expect("add port 2");
    assert!(
        t.c.ping(&t.s_ip, 3),
        "ping client -> server through switch and router"
    );

    let rx0 = p1.stats();
    let tx0 = p2.stats();
    let (ok, out, errs) = t.iperf3_through_nat();
    let rx = p1.stats();
    let tx = p2.stats();
    eprintln!("{}", dp.format_dump_flows().unwrap_or_default());
    let (rxp, rxb) = (rx.rx_packets - rx0.rx_packets, rx.rx_bytes - rx0.rx_bytes);
    let (txp, txb) = (tx.tx_packets - tx0.tx_packets, tx.tx_bytes - tx0.tx_bytes);
    eprintln!(
        "port 1 rx {rxp} packets {rxb} bytes; port 2 tx {txp} packets {txb} bytes; server TcpInCsumErrors +{errs}"
    );
    dp.shutdown();
    assert!(ok, "iperf3 to {}:{} failed: {out}", t.vip, t.vport);
    assert_eq!(errs, 0, "the server saw segments with bad TCP checksums");
    // The rewritten traffic crossed the switch as super-packets (an average
    // well above one 1514-byte frame), received and sent whole.
    assert!(
        rxp > 0 && rxb / rxp > 4000,
        "port 1 received {rxb} bytes in {rxp} packets"
    );
    assert!(
        txp > 0 && txb / txp > 4000,
        "port 2 sent {txb} bytes in {txp} packets"
    );
}

#[test]
fn nat_rewrite_of_gso_super_packets_keeps_tcp_checksums_right() {
    let t = topology("ofd", false);
    let p1: Arc<dyn Netdev> = System::open(&t.p1_name).expect("open port 1");
    let p2: Arc<dyn Netdev> = System::open(&t.p2_name).expect("open port 2");
    datapath_nat(&t, p1, p2);
}

/// The same with tap ports (`IFF_VNET_HDR`): the client's TSO super-packets
/// come out of its tap whole and go into the router's tap whole.
#[test]
fn nat_rewrite_of_gso_super_packets_between_tap_ports() {
    let t = topology("oft", true);
    let (t1, t2) = t.taps.clone().expect("taps");
    datapath_nat(&t, t1, t2);
}

/// `RX packets:N bytes:M` (or TX) of interface `name` in `dpif/show`.
fn dpif_counts(show: &str, name: &str, dir: &str) -> (u64, u64) {
    let mut lines = show.lines().skip_while(|l| !l.contains(name));
    let _ = lines.next();
    let line = lines
        .find(|l| l.trim_start().starts_with(dir))
        .unwrap_or_else(|| panic!("no {dir} line for {name} in {show}"));
    let num = |key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {line:?}"))
    };
    (num("packets:"), num("bytes:"))
}

/// The same NAT as OpenFlow flows installed with the real `ovs-ofctl` into
/// our daemon (`mod_nw_dst`/`mod_tp_dst` one way, `mod_nw_src`/`mod_tp_src`
/// back): the translation and the datapath keep super-packets whole and
/// their checksums right.
#[test]
fn openflow_nat_flows_on_gso_traffic_through_the_daemon() {
    require("ovs-ofctl", "openvswitch-common");
    let t = topology("ofo", false);
    let d = OurDaemon::start(&[]);
    let br = unique_name("ofn", 15);
    d.add_bridge(
        &br,
        &["fail_mode=secure"],
        &[(&t.p1_name, 1), (&t.p2_name, 2)],
    );
    d.ovs_ofctl(&["-O", "OpenFlow13", "del-flows", &br]);
    let flows = format!(
        "priority=10,tcp,in_port=1,nw_dst={vip},tp_dst={vport},actions=mod_nw_dst:{srv},mod_tp_dst:{port},output:2\n\
         priority=10,tcp,in_port=2,nw_src={srv},tp_src={port},actions=mod_nw_src:{vip},mod_tp_src:{vport},output:1\n\
         priority=1,in_port=1,actions=output:2\n\
         priority=1,in_port=2,actions=output:1\n",
        vip = t.vip,
        vport = t.vport,
        srv = t.s_ip,
        port = t.port,
    );
    let file = d.path().join("nat-flows.txt");
    std::fs::write(&file, flows).expect("write flows");
    d.ovs_ofctl(&[
        "-O",
        "OpenFlow13",
        "add-flows",
        &br,
        file.to_str().expect("path"),
    ]);
    assert!(t.c.ping(&t.s_ip, 3), "ping through the daemon and router");

    let show0 = String::from_utf8_lossy(&d.ovs_appctl(&["dpif/show"]).stdout).into_owned();
    let (ok, out, errs) = t.iperf3_through_nat();
    let show = String::from_utf8_lossy(&d.ovs_appctl(&["dpif/show"]).stdout).into_owned();
    let dump = d.ovs_ofctl(&["-O", "OpenFlow13", "dump-flows", &br]);
    eprintln!("{show}\n{dump}");
    assert!(ok, "iperf3 to {}:{} failed: {out}", t.vip, t.vport);
    assert_eq!(errs, 0, "the server saw segments with bad TCP checksums");
    let nat_hits: u64 = dump
        .lines()
        .filter(|l| l.contains("priority=10"))
        .filter_map(|l| {
            l.split([' ', ','])
                .find_map(|w| w.strip_prefix("n_packets="))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum();
    assert!(nat_hits > 100, "the NAT flows were not used: {dump}");
    let (rxp0, rxb0) = dpif_counts(&show0, &t.p1_name, "RX");
    let (rxp, rxb) = dpif_counts(&show, &t.p1_name, "RX");
    let (txp0, txb0) = dpif_counts(&show0, &t.p2_name, "TX");
    let (txp, txb) = dpif_counts(&show, &t.p2_name, "TX");
    let (rxp, rxb, txp, txb) = (rxp - rxp0, rxb - rxb0, txp - txp0, txb - txb0);
    assert!(
        rxp > 0 && rxb / rxp > 4000,
        "port 1 received {rxb} bytes in {rxp} packets"
    );
    assert!(
        txp > 0 && txb / txp > 4000,
        "port 2 sent {txb} bytes in {txp} packets"
    );
    drop(d);
}
