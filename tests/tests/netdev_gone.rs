//! Devices deleted underneath an open port, and receive buffers too small
//! for the frames: nothing panics, the queues report `Gone` where the
//! kernel tells us, and the losses are counted.

use std::time::Duration;

use datapath::netdev::system::System;
use datapath::netdev::tap::Tap;
use datapath::netdev::{Batch, Netdev, Offload, QueueError};
use tests::netns::{Netns, require_tools, sh, veth_into};
use tests::unique_name;

fn frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental
    f
}

#[test]
fn tap_deleted_underneath_reports_gone() {
    require_tools();
    let name = unique_name("tpg", 15);
    let tap = Tap::open(&name).unwrap();
    let mut rx = tap.take_rxq(0).unwrap();
    let mut tx = tap.take_txq(0).unwrap();
    sh(&["ip", "link", "del", &name]);
    let mut b = Batch::new(2048);
    let r = rx.recv(&mut b);
    eprintln!("recv after delete: {r:?}");
    b.push_copy(&frame(), Offload::default());
    let t = tx.send(&mut b);
    eprintln!("send after delete: {t:?}");
    assert!(
        r == Err(QueueError::Gone) || t == Err(QueueError::Gone),
        "recv {r:?}, send {t:?}"
    );
}

#[test]
fn system_deleted_underneath_reports_gone_on_send() {
    require_tools();
    let ns = Netns::new("nsg");
    let l = veth_into(&ns, "eth0", "10.9.8.1/24");
    let p = System::open(l.name()).unwrap();
    let mut rx = p.take_rxq(0).unwrap();
    let mut tx = p.take_txq(0).unwrap();
    drop(l); // deletes the veth pair
    let mut b = Batch::new(2048);
    assert_eq!(rx.recv(&mut b), Ok(0));
    b.push_copy(&frame(), Offload::default());
    assert_eq!(tx.send(&mut b), Err(QueueError::Gone));
}

#[test]
fn system_buffers_too_small_are_counted_not_fatal() {
    require_tools();
    let ns = Netns::new("nss");
    let l = veth_into(&ns, "eth0", "10.9.9.1/24");
    let p = System::open(l.name()).unwrap();
    let mut rx = p.take_rxq(0).unwrap();
    // 1000-byte pings into 100-byte buffers.
    ns.exec(&[
        "ip",
        "neigh",
        "add",
        "10.9.9.2",
        "lladdr",
        "02:00:00:00:00:02",
        "dev",
        "eth0",
    ]);
    let _ = ns.try_exec(&[
        "ping", "-c", "3", "-i", "0.1", "-W", "1", "-s", "1000", "10.9.9.2",
    ]);
    let mut b = Batch::new(100);
    let mut got = 0;
    for _ in 0..50 {
        got += rx.recv(&mut b).unwrap();
        b.clear();
        if p.stats().rx_dropped >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = p.stats();
    assert!(s.rx_dropped >= 3, "{s:?} (received {got})");
}
