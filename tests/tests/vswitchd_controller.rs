//! A controller written in the test (OpenFlow 1.3 over TCP, on our own
//! codec) programs the daemon's bridge: the bridge connects to it
//! (`set-controller tcp:`), sends PACKET_IN for a table miss, the
//! controller installs flows and traffic flows. When the controller goes
//! away, fail mode `secure` keeps forwarding with the installed flows, and
//! `standalone` falls back to NORMAL.

use ofproto::ofp::{
    Action, Decoder, FlowMod, FlowModCommand, Hello, Message, PacketOut, Version, VersionSet,
};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use tests::daemon::OurDaemon;
use tests::netns::two_hosts;
use tests::{require, unique_name, wait_for};

struct Ctl {
    s: TcpStream,
    dec: Decoder,
    xid: u32,
}

impl Ctl {
    fn accept(l: &TcpListener) -> Ctl {
        l.set_nonblocking(false).unwrap();
        let (s, _) = l.accept().expect("the switch connects to the controller");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c = Ctl {
            s,
            dec: Decoder::new(),
            xid: 1,
        };
        let (_, hello) = Hello::for_versions(VersionSet::of(&[Version::V1_3]));
        c.send(Message::Hello(hello));
        match c.recv() {
            Message::Hello(_) => {}
            m => panic!("expected HELLO, got {m:?}"),
        }
        c
    }

    fn send(&mut self, m: Message) {
        self.xid += 1;
        let bytes = m.encode(Version::V1_3, self.xid).unwrap();
        self.s.write_all(&bytes).unwrap();
    }

    fn recv(&mut self) -> Message {
        let mut buf = [0u8; 65536];
        loop {
            if let Some(raw) = self.dec.next_message().unwrap() {
                return Message::decode(&raw).unwrap().1;
            }
            let n = self.s.read(&mut buf).expect("read from the switch");
            assert!(n > 0, "the switch closed the connection");
            self.dec.push(&buf[..n]);
        }
    }

    /// Reads until `pred` matches (answering echo requests).
    fn until(&mut self, what: &str, mut pred: impl FnMut(&Message) -> bool) -> Message {
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < Duration::from_secs(15), "no {what}");
            let m = self.recv();
            if let Message::EchoRequest(d) = &m {
                self.send(Message::EchoReply(d.clone()));
                continue;
            }
            if pred(&m) {
                return m;
            }
        }
    }

    fn flow(&mut self, text: &str) {
        let f = ofproto::text::parse_flow(text).unwrap();
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.table_id = f.table;
        fm.priority = f.priority;
        fm.match_ = f.match_;
        fm.instructions = f.instructions;
        self.send(Message::FlowMod(fm));
    }

    fn barrier(&mut self) {
        self.send(Message::BarrierRequest);
        self.until("barrier reply", |m| matches!(m, Message::BarrierReply));
    }
}

fn get(d: &OurDaemon, args: &[&str]) -> String {
    d.ovs_vsctl(args).trim().to_owned()
}

#[test]
fn controller_programs_the_bridge_and_fail_modes_hold() {
    require("ovs-vsctl", "openvswitch-switch");
    let (a, _b, la, lb) = two_hosts("rc", "10.78.0");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let d = OurDaemon::start(&[]);
    let br = unique_name("rct", 15);
    d.add_bridge(
        &br,
        &["fail_mode=secure"],
        &[(la.name(), 1), (lb.name(), 2)],
    );
    d.ovs_vsctl(&["set-controller", &br, &format!("tcp:127.0.0.1:{port}")]);

    let mut c = Ctl::accept(&listener);
    c.send(Message::FeaturesRequest);
    c.until("features reply", |m| matches!(m, Message::FeaturesReply(_)));
    // A bridge with a controller starts with no flows: a table miss goes
    // nowhere until the controller says so.
    c.flow("priority=0,actions=CONTROLLER:65535");
    c.barrier();
    assert!(
        wait_for(Duration::from_secs(10), || get(
            &d,
            &["get", "Controller", &br, "is_connected"]
        ) == "true"),
        "Controller.is_connected never became true"
    );

    // Traffic: the first packet comes to the controller.
    let pinger = a.spawn(&["ping", "-c", "30", "-i", "0.2", "10.78.0.2"]);
    let pi = c.until("packet-in", |m| matches!(m, Message::PacketIn(_)));
    let Message::PacketIn(pi) = pi else {
        unreachable!()
    };
    assert_eq!(pi.reason, 0, "table miss reason");
    assert!(!pi.data.is_empty());
    // The controller installs a wire between ports 1 and 2 and sends the
    // packet on.
    c.flow("priority=10,in_port=1,actions=output:2");
    c.flow("priority=10,in_port=2,actions=output:1");
    c.barrier();
    let in_port = pi.match_.exact(ofproto::ofp::Field::InPort).unwrap_or(1) as u32;
    c.send(Message::PacketOut(PacketOut {
        buffer_id: ofproto::ofp::messages::NO_BUFFER,
        in_port,
        metadata: ofproto::ofp::Match::new(),
        actions: vec![Action::Output {
            port: if in_port == 1 { 2 } else { 1 },
            max_len: 0,
        }],
        data: pi.data.clone(),
    }));
    drop(pinger);
    assert!(
        a.ping("10.78.0.2", 3),
        "traffic did not follow the controller's flows"
    );

    // Secure: the controller goes away, the flows stay and keep forwarding.
    drop(c);
    drop(listener);
    assert!(
        wait_for(Duration::from_secs(10), || get(
            &d,
            &["get", "Controller", &br, "is_connected"]
        ) == "false"),
        "Controller.is_connected stayed true"
    );
    std::thread::sleep(Duration::from_millis(3500));
    assert!(
        a.ping("10.78.0.2", 2),
        "secure mode stopped forwarding without the controller"
    );

    // Standalone: with no usable flows and no controller, the bridge falls
    // back to NORMAL after its fail-open delay.
    d.ovs_vsctl(&["set-fail-mode", &br, "standalone"]);
    let out = std::process::Command::new("ovs-ofctl")
        .env("OVS_RUNDIR", d.path())
        .args(["del-flows", &br])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        wait_for(Duration::from_secs(15), || a.ping("10.78.0.2", 1)),
        "standalone mode did not fall back to NORMAL"
    );
}
