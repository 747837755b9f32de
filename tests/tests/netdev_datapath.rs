//! Real ports under the real fast path: `dpif::Datapath` (polling threads,
//! caches, upcalls) with netdev backends attached through
//! `Datapath::add_netdev`, between network namespaces. The upcall
//! handler is a two-port wire (in_port 1 -> output 2 and back), so every
//! flow is installed as a megaflow and later packets hit the caches.
//!
//! * system <-> system with veth offloads ON (checksum-partial frames and
//!   GSO super-packets cross the fast path with their offload state and
//!   leave through the vnet header): ping and iperf3; then port 2 is
//!   removed while the datapath runs (traffic stops) and a new port 2 is
//!   added (it resumes).
//! * tap <-> afxdp (generic): ping and iperf3.

use std::sync::Arc;

use datapath::actions::Action;
use datapath::dpif::{Datapath, DatapathConfig};
use datapath::flow::FlowKey;
use datapath::netdev::Netdev;
use datapath::netdev::afxdp::{Afxdp, AfxdpConfig, XdpMode};
use datapath::netdev::system::System;
use datapath::netdev::tap::Tap;
use datapath::upcall::{Translation, UpcallError, UpcallHandler};
use tests::netns::{Netns, iperf3, move_into, require_tools, veth_into};
use tests::unique_name;

/// in_port 1 <-> 2.
struct Wire;

impl UpcallHandler for Wire {
    fn translate(
        &self,
        key: &FlowKey,
        _packet: Option<&[u8]>,
        out: &mut Translation,
    ) -> Result<(), UpcallError> {
        out.version = 1;
        match key.in_port {
            1 => out.actions.push(Action::Output(2)),
            2 => out.actions.push(Action::Output(1)),
            _ => {}
        }
        Ok(())
    }
}

fn add(dp: &mut Datapath, no: u32, dev: &Arc<dyn Netdev>) {
    dp.add_netdev(no, dev.clone())
        .expect("add port to the datapath");
}

fn datapath() -> Datapath {
    Datapath::new(
        DatapathConfig {
            threads: 2,
            ..DatapathConfig::default()
        },
        Arc::new(Wire),
    )
}

#[test]
fn system_ports_under_the_fast_path_with_hot_plug() {
    require_tools();
    let ns1 = Netns::new("nsq");
    let ns2 = Netns::new("nsr");
    let l1 = veth_into(&ns1, "eth0", "10.9.14.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.14.2/24");
    let mut dp = datapath();
    let p1: Arc<dyn Netdev> = System::open(l1.name()).unwrap();
    let p2: Arc<dyn Netdev> = System::open(l2.name()).unwrap();
    add(&mut dp, 1, &p1);
    add(&mut dp, 2, &p2);
    assert!(ns1.ping("10.9.14.2", 3), "ping through the datapath");
    let out = iperf3(&ns2, &ns1, "10.9.14.2");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 system -> datapath -> system: {l}");
    }
    eprintln!("{}", dp.format_dump_flows().unwrap_or_default());

    // Hot unplug and re-plug while the polling threads run.
    let rxqs = dp.remove_port(2).expect("remove port 2");
    drop(rxqs);
    drop(p2);
    assert!(!ns1.try_exec(&["ping", "-c", "2", "-W", "1", "10.9.14.2"]).0);
    let p2: Arc<dyn Netdev> = System::open(l2.name()).unwrap();
    add(&mut dp, 2, &p2);
    assert!(ns1.ping("10.9.14.2", 3), "ping after re-adding port 2");
    dp.shutdown();
}

#[test]
fn tap_and_afxdp_under_the_fast_path() {
    require_tools();
    let ns1 = Netns::new("nst");
    let ns2 = Netns::new("nsu");
    let tap_name = unique_name("tpd", 15);
    let tap: Arc<dyn Netdev> = Tap::open(&tap_name).unwrap();
    move_into(&ns1, &tap_name, "10.9.15.1/24");
    let l2 = veth_into(&ns2, "eth0", "10.9.15.2/24");
    ns2.exec(&[
        "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off",
    ]);
    let xdp: Arc<dyn Netdev> = Afxdp::open(
        l2.name(),
        &AfxdpConfig {
            mode: XdpMode::Generic,
            ..AfxdpConfig::default()
        },
    )
    .unwrap();
    let mut dp = datapath();
    add(&mut dp, 1, &tap);
    add(&mut dp, 2, &xdp);
    assert!(ns1.ping("10.9.15.2", 3), "ping tap -> datapath -> afxdp");
    let out = iperf3(&ns2, &ns1, "10.9.15.2");
    for l in out.lines().filter(|l| l.contains("receiver")) {
        eprintln!("iperf3 tap -> datapath -> afxdp: {l}");
    }
    dp.shutdown();
}
