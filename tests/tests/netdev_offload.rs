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
use datapath::upcall::{Translation, UpcallError, UpcallHandler};
use tests::netns::{Netns, require_tools, sh};
use tests::unique_name;

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
                    out.actions.push(Action::Set(SetMasked::Ipv4 {
                        src: 0,
                        src_mask: 0,
                        dst: n.srv,
                        dst_mask: !0,
                        tos: 0,
                        tos_mask: 0,
                        ttl: 0,
                        ttl_mask: 0,
                    }));
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
                    out.actions.push(Action::Set(SetMasked::Ipv4 {
                        src: n.vip,
                        src_mask: !0,
                        dst: 0,
                        dst_mask: 0,
                        tos: 0,
                        tos_mask: 0,
                        ttl: 0,
                        ttl_mask: 0,
                    }));
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

#[test]
fn nat_rewrite_of_gso_super_packets_keeps_tcp_checksums_right() {
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
    let vport = port + 1;
    let c = Netns::new("ofc");
    let r = Netns::new("ofr");
    let s = Netns::new("ofs");
    let h1 = host_veth(&c, "eth0");
    let h2 = host_veth(&r, "eth0");
    link(&r, "eth1", &s, "eth0");
    c.exec(&["ip", "addr", "add", &format!("{c_ip}/24"), "dev", "eth0"]);
    c.exec(&["ip", "link", "set", "eth0", "up"]);
    c.exec(&[
        "ip",
        "route",
        "add",
        &format!("{net}.2.0/24"),
        "via",
        &r_ip1,
    ]);
    r.exec(&["ip", "addr", "add", &format!("{r_ip1}/24"), "dev", "eth0"]);
    r.exec(&["ip", "addr", "add", &format!("{r_ip2}/24"), "dev", "eth1"]);
    r.exec(&["ip", "link", "set", "eth0", "up"]);
    r.exec(&["ip", "link", "set", "eth1", "up"]);
    r.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    // The router completes checksums in software, the server verifies.
    r.exec(&["ethtool", "-K", "eth1", "tx", "off"]);
    s.exec(&["ethtool", "-K", "eth0", "rx", "off"]);
    s.exec(&["ip", "addr", "add", &format!("{s_ip}/24"), "dev", "eth0"]);
    s.exec(&["ip", "link", "set", "eth0", "up"]);
    s.exec(&["ip", "route", "add", "default", "via", &r_ip2]);
    let feats = c.exec(&["ethtool", "-k", "eth0"]);
    assert!(
        feats.contains("tx-checksumming: on") && feats.contains("tcp-segmentation-offload: on"),
        "client veth offloads expected on: {feats}"
    );

    let nat = Nat {
        vip: ip(&vip),
        vport,
        srv: ip(&s_ip),
        port,
    };
    let mut dp = Datapath::new(
        DatapathConfig {
            threads: 1,
            ..DatapathConfig::default()
        },
        Arc::new(NatWire(nat)),
    );
    let p1: Arc<dyn Netdev> = System::open(&h1.0).expect("open port 1");
    let p2: Arc<dyn Netdev> = System::open(&h2.0).expect("open port 2");
    dp.add_netdev(1, p1.clone()).expect("add port 1");
    dp.add_netdev(2, p2.clone()).expect("add port 2");
    assert!(
        c.ping(&s_ip, 3),
        "ping client -> server through switch and router"
    );

    let errs0 = tcp_csum_errors(&s);
    let rx0 = p1.stats();
    let tx0 = p2.stats();
    let port_s = port.to_string();
    let _srv = s.spawn(&["iperf3", "-s", "-1", "-p", &port_s]);
    let vport_s = vport.to_string();
    let mut result = (false, String::new());
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        result = c.try_exec(&[
            "iperf3",
            "-c",
            &vip,
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
    let (ok, out) = result;
    let rx = p1.stats();
    let tx = p2.stats();
    let errs = tcp_csum_errors(&s) - errs0;
    eprintln!("{}", dp.format_dump_flows().unwrap_or_default());
    for l in out
        .lines()
        .filter(|l| l.contains("sender") || l.contains("receiver"))
    {
        eprintln!("iperf3 through NAT: {l}");
    }
    let (rxp, rxb) = (rx.rx_packets - rx0.rx_packets, rx.rx_bytes - rx0.rx_bytes);
    let (txp, txb) = (tx.tx_packets - tx0.tx_packets, tx.tx_bytes - tx0.tx_bytes);
    eprintln!(
        "port 1 rx {rxp} packets {rxb} bytes; port 2 tx {txp} packets {txb} bytes; server TcpInCsumErrors +{errs}"
    );
    dp.shutdown();
    assert!(
        ok,
        "iperf3 to {vip}:{vport} (NAT to {s_ip}:{port}) failed: {out}"
    );
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
