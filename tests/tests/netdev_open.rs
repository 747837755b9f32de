//! `netdev::open` against real devices: every kernel-backed kind opens
//! from the database's type and options, reports its kind and queue count,
//! and bad options are refused with the port's name in the message.

use datapath::netdev::{self, Kind, LinkState};
use tests::netns::{Netns, require_tools, veth_into};
use tests::unique_name;

#[test]
fn open_every_kernel_kind_from_type_and_options() {
    require_tools();
    let ns = Netns::new("nso");
    let l = veth_into(&ns, "eth0", "10.9.19.1/24");

    let p = netdev::open(
        Kind::System,
        l.name(),
        [("n_rxq", "2"), ("rx-mode", "ring")],
    )
    .unwrap();
    assert_eq!((p.kind(), p.n_rxq()), (Kind::System, 2));
    drop(p);
    let p = netdev::open(Kind::from_db("").unwrap(), l.name(), []).unwrap();
    assert_eq!(p.kind(), Kind::System);
    assert_eq!(p.link_state(), LinkState::Up);
    drop(p);

    let p = netdev::open(
        Kind::Afxdp,
        l.name(),
        [
            ("xdp-mode", "generic"),
            ("umem-frames", "1024"),
            ("frame-size", "2048"),
            ("ring-size", "512"),
            ("fill-ring-size", "512"),
        ],
    )
    .unwrap();
    assert_eq!((p.kind(), p.n_rxq()), (Kind::Afxdp, 1));
    drop(p);

    let tap = unique_name("tpo", 15);
    let p = netdev::open(Kind::Tap, &tap, [("n_rxq", "3"), ("offloads", "false")]).unwrap();
    assert_eq!((p.kind(), p.n_rxq(), p.n_txq()), (Kind::Tap, 3, 3));
    drop(p);

    let br = unique_name("bro", 15);
    let p = netdev::open(Kind::Internal, &br, []).unwrap();
    assert_eq!(p.kind(), Kind::Internal);
    assert!(p.ifindex().is_some());
    drop(p);

    for (kind, opts) in [
        (Kind::System, vec![("rx-mode", "fast")]),
        (Kind::System, vec![("xdp-mode", "native")]),
        (Kind::Afxdp, vec![("frame-size", "1000")]),
        (Kind::Tap, vec![("n_rxq", "0")]),
    ] {
        let e = netdev::open(kind, l.name(), opts.clone()).expect_err("bad option");
        assert!(e.to_string().contains(l.name()), "{kind} {opts:?}: {e}");
    }
    let e = netdev::open(Kind::System, "nosuchdev0", []).expect_err("no such device");
    assert!(e.to_string().contains("nosuchdev0"), "{e}");
}
