//! Pipeline tests: which tier answers, which mask is installed, every
//! action through the whole path, recirculation, limits, expiry,
//! revalidation, and a property test against direct translation.

use super::*;
use crate::actions::{Action, SetMasked};
use crate::execute::ExecSink;
use crate::netdev::dummy::Dummy;
use crate::netdev::{Netdev, TxQueue};
use crate::packet::packet_from;
use crate::port::PortEntry;
use crate::port::TxQueues;
use crate::upcall::UpcallError;
use proptest::prelude::*;
use std::sync::atomic::AtomicUsize;

/// A rule of the test handler: `key & mask == match_key & mask`.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub key: FlowKey,
    pub mask: FlowMask,
    pub actions: Vec<Action>,
}

/// A priority-ordered rule list that un-wildcards the masks of every rule
/// it examines (sound by construction). Test double: it locks.
#[derive(Debug, Default)]
pub(crate) struct TestHandler {
    pub rules: Mutex<Vec<Rule>>,
    pub version: AtomicU64,
    pub calls: AtomicUsize,
    pub fail: std::sync::atomic::AtomicBool,
    pub userspace: Mutex<Vec<(u64, Vec<u8>)>>,
    pub meter_pass: std::sync::atomic::AtomicBool,
}

impl TestHandler {
    pub fn new(rules: Vec<Rule>) -> Arc<TestHandler> {
        let h = TestHandler::default();
        *h.rules.lock().unwrap() = rules;
        h.version.store(1, Ordering::SeqCst);
        h.meter_pass.store(true, Ordering::SeqCst);
        Arc::new(h)
    }

    /// Replaces the rules and bumps the version; returns the new version.
    pub fn set_rules(&self, rules: Vec<Rule>) -> u64 {
        *self.rules.lock().unwrap() = rules;
        self.version.fetch_add(1, Ordering::SeqCst) + 1
    }
}

impl UpcallHandler for TestHandler {
    fn translate(
        &self,
        key: &FlowKey,
        _p: Option<&[u8]>,
        out: &mut Translation,
    ) -> Result<(), UpcallError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(UpcallError::Unavailable);
        }
        let rules = self.rules.lock().unwrap();
        out.version = self.version.load(Ordering::SeqCst);
        for r in rules.iter() {
            out.mask.union_with(&r.mask);
            if key.equal_masked(&r.key, &r.mask) {
                out.actions.extend_from_slice(&r.actions);
                return Ok(());
            }
        }
        Ok(())
    }

    fn userspace(&self, _key: &FlowKey, packet: &[u8], userdata: u64) -> bool {
        self.userspace
            .lock()
            .unwrap()
            .push((userdata, packet.to_vec()));
        true
    }

    fn meter(&self, _id: u32, _len: usize, _now: u64) -> bool {
        self.meter_pass.load(Ordering::SeqCst)
    }
}

pub(crate) fn udp_frame(src_port: u16, dst_ip: [u8; 4], dst_port: u16) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ethernet2([0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], dst_ip, 64)
        .udp(src_port, dst_port);
    let mut v = Vec::new();
    b.write(&mut v, b"payload").unwrap();
    v
}

/// Rule matching IPv4 packets to `dst/prefix`.
pub(crate) fn rule_dst(dst: u32, prefix: u32, actions: Vec<Action>) -> Rule {
    let mut mask = FlowMask::CATCHALL;
    mask.dl_type = 0xffff;
    mask.nw_dst = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    let mut key = FlowKey::ZERO;
    key.dl_type = 0x0800;
    key.nw_dst = dst;
    Rule { key, mask, actions }
}

/// A test port on a dummy netdev with one queue, counting what was
/// injected so tests can wait until the thread received it.
#[derive(Debug, Clone)]
pub(crate) struct MemPort {
    pub dev: Arc<Dummy>,
    injected: Arc<AtomicU64>,
}

impl MemPort {
    pub fn new() -> MemPort {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("mem{}", N.fetch_add(1, Ordering::Relaxed));
        MemPort {
            dev: Dummy::with_queue_len(&name, 1, 1 << 16).unwrap(),
            injected: Arc::new(AtomicU64::new(0)),
        }
    }
    pub fn inject(&self, frame: &[u8]) {
        if self.dev.inject(0, frame) {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
    }
    /// Injected frames the switch has not received yet.
    pub fn rx_pending(&self) -> u64 {
        self.injected.load(Ordering::SeqCst) - self.dev.stats().rx_packets
    }
    pub fn take_sent(&self) -> Vec<Vec<u8>> {
        self.dev.take_sent().into_iter().map(|(f, _)| f).collect()
    }
    pub fn rxq(&self) -> Box<dyn crate::netdev::RxQueue> {
        self.dev.take_rxq(0).unwrap()
    }
    pub fn txq(&self) -> Box<dyn TxQueue> {
        self.dev.take_txq(0).unwrap()
    }
}

pub(crate) struct Rig {
    pub pmd: Pmd,
    pub handler: Arc<TestHandler>,
    pub ports: Vec<MemPort>,
    pub clock: Arc<AtomicU64>,
    pub snap: Arc<Snapshot<PortTable>>,
}

/// A thread with in-memory ports 1..=n_ports and a manual clock.
pub(crate) fn rig(rules: Vec<Rule>, n_ports: u32, cfg: PmdConfig) -> Rig {
    let handler = TestHandler::new(rules);
    let mut table = PortTable::default();
    let mut ports = Vec::new();
    for no in 1..=n_ports {
        let p = MemPort::new();
        table = table
            .with(PortEntry {
                port: no,
                name: format!("p{no}"),
                kind: "mem".into(),
                tx: Arc::new(TxQueues::new(vec![p.txq()])),
                stats: Arc::new(PortStats::default()),
                netdev: None,
            })
            .unwrap();
        ports.push(p);
    }
    let snap = Arc::new(Snapshot::new(table));
    let clock = Arc::new(AtomicU64::new(0));
    let mut pmd = Pmd::new(
        0,
        cfg,
        handler.clone(),
        snap.clone(),
        Clock::Manual(clock.clone()),
    );
    for (i, p) in ports.iter().enumerate() {
        pmd.add_rxq(Rxq::new(
            i as u32 + 1,
            0,
            p.rxq(),
            snap.load().get(i as u32 + 1).unwrap().stats.clone(),
        ));
    }
    Rig {
        pmd,
        handler,
        ports,
        clock,
        snap,
    }
}

fn always_emc() -> PmdConfig {
    PmdConfig {
        emc_insert_inv_prob: 1,
        ..PmdConfig::default()
    }
}

impl Rig {
    /// Injects `frame` on `port` and polls until it is received (a queue
    /// found empty under load is skipped for a few iterations, see
    /// [`RXQ_MAX_BACKOFF`]; an idle iteration ends that).
    fn send(&mut self, port: usize, frame: &[u8]) {
        self.ports[port - 1].inject(frame);
        for _ in 0..2 {
            if self.pmd.poll_once() > 0 {
                break;
            }
        }
    }
    fn sent(&self, port: usize) -> Vec<Vec<u8>> {
        self.ports[port - 1].take_sent()
    }
}

#[test]
fn tiers_upcall_then_megaflow_then_emc() {
    let mut r = rig(
        vec![rule_dst(0x0a00_0200, 24, vec![Action::Output(2)])],
        2,
        always_emc(),
    );
    let f = udp_frame(1000, [10, 0, 2, 7], 53);
    r.send(1, &f);
    let c = *r.pmd.counters();
    assert_eq!((c.upcalls, c.megaflow_hits, c.emc_hits), (1, 0, 0));
    assert_eq!(r.sent(2), vec![f.clone()]);
    // The installed mask: what the handler read, plus recirc_id and in_port.
    let mut want = FlowMask::CATCHALL;
    want.dl_type = 0xffff;
    want.nw_dst = 0xffff_ff00;
    want.recirc_id = u32::MAX;
    want.in_port = u32::MAX;
    let dump = r.pmd.dump();
    assert_eq!(dump.len(), 1);
    assert_eq!(dump[0].mask, want);
    assert_eq!((dump[0].packets, dump[0].bytes), (1, f.len() as u64));
    // Same packet: megaflow hit (and EMC insert); again: EMC hit.
    r.send(1, &f);
    r.send(1, &f);
    let c = *r.pmd.counters();
    assert_eq!((c.upcalls, c.megaflow_hits, c.emc_hits), (1, 1, 1));
    // Another host in the /24, another port number: megaflow, no upcall.
    let g = udp_frame(2000, [10, 0, 2, 99], 80);
    r.send(1, &g);
    assert_eq!(
        (r.pmd.counters().upcalls, r.pmd.counters().megaflow_hits),
        (1, 2)
    );
    assert_eq!(r.sent(2).len(), 3);
    // Another ingress port: a new megaflow (in_port is always matched).
    r.send(2, &g);
    assert_eq!(r.pmd.counters().upcalls, 2);
    assert_eq!(r.pmd.flows().len(), 2);
    // Outside the /24: no rule, the handler says drop.
    r.send(1, &udp_frame(1, [10, 0, 3, 1], 1));
    assert_eq!(r.pmd.counters().drops[DropReason::Actions as usize], 1);
    assert_eq!(r.pmd.counters().upcalls, 3);
    let s = r.pmd.stats().read();
    assert_eq!(s, *r.pmd.counters(), "published");
}

#[test]
fn emc_disabled_goes_to_megaflow_every_time() {
    let cfg = PmdConfig {
        emc_insert_inv_prob: 0,
        ..PmdConfig::default()
    };
    let mut r = rig(vec![rule_dst(0, 0, vec![Action::Output(2)])], 2, cfg);
    let f = udp_frame(1, [1, 1, 1, 1], 1);
    for _ in 0..5 {
        r.send(1, &f);
    }
    let c = *r.pmd.counters();
    assert_eq!((c.upcalls, c.megaflow_hits, c.emc_hits), (1, 4, 0));
}

#[test]
fn batch_grouping_keeps_per_flow_order_and_counts() {
    let mut r = rig(
        vec![
            rule_dst(0x0a00_0001, 32, vec![Action::Output(2)]),
            rule_dst(0x0a00_0002, 32, vec![Action::Output(3)]),
        ],
        3,
        always_emc(),
    );
    // 32 packets alternating between two flows, numbered by source port.
    for i in 0..32u16 {
        let dst = if i % 2 == 0 {
            [10, 0, 0, 1]
        } else {
            [10, 0, 0, 2]
        };
        r.ports[0].inject(&udp_frame(i, dst, 7));
    }
    r.pmd.poll_once();
    let srcs = |v: Vec<Vec<u8>>| -> Vec<u16> {
        v.iter()
            .map(|f| u16::from_be_bytes([f[34], f[35]]))
            .collect()
    };
    assert_eq!(srcs(r.sent(2)), (0..32).step_by(2).collect::<Vec<_>>());
    assert_eq!(srcs(r.sent(3)), (1..32).step_by(2).collect::<Vec<_>>());
    assert_eq!(
        r.pmd.counters().upcalls,
        2,
        "one upcall per flow even within a batch"
    );
    let total: u64 = r.pmd.dump().iter().map(|d| d.packets).sum();
    assert_eq!(total, 32);
}

#[test]
fn flooding_to_more_ports_than_transmit_batches() {
    let n_out = TX_BATCHES as u32 + 3;
    let outs: Vec<Action> = (2..2 + n_out).map(Action::Output).collect();
    let mut r = rig(vec![rule_dst(0, 0, outs)], 1 + n_out, always_emc());
    for i in 0..40u16 {
        r.ports[0].inject(&udp_frame(i, [1, 1, 1, 1], 1));
    }
    while r.ports[0].rx_pending() > 0 {
        r.pmd.poll_once();
    }
    for port in 2..2 + n_out as usize {
        let got: Vec<u16> = r
            .sent(port)
            .iter()
            .map(|f| u16::from_be_bytes([f[34], f[35]]))
            .collect();
        assert_eq!(
            got,
            (0..40).collect::<Vec<_>>(),
            "port {port}: all, in order"
        );
    }
    assert_eq!(r.pmd.counters().drops, [0; DropReason::COUNT]);
}

#[test]
fn every_action_through_the_pipeline() {
    let acts = vec![
        Action::Meter(1),
        Action::Userspace { userdata: 42 },
        Action::PushVlan {
            tpid: 0x8100,
            tci: 5,
        },
        Action::Output(2),
        Action::PopVlan,
        Action::Set(SetMasked::Ipv4 {
            src: 0,
            src_mask: 0,
            dst: 0,
            dst_mask: 0,
            tos: 0,
            tos_mask: 0,
            ttl: 9,
            ttl_mask: 0xff,
        }),
        Action::PushMpls {
            ethertype: 0x8847,
            lse: (16 << 12) | (1 << 8) | 9,
        },
        Action::Output(3),
        Action::PopMpls { ethertype: 0x0800 },
        Action::Trunc(20),
        Action::Output(3),
        Action::Hash { basis: 1 },
        Action::Output(9), // no such port
    ];
    let mut r = rig(vec![rule_dst(0, 0, acts)], 3, always_emc());
    let f = udp_frame(1, [1, 2, 3, 4], 5);
    r.send(1, &f);
    let p2 = r.sent(2);
    assert_eq!(p2.len(), 1);
    assert_eq!(crate::flow::extract(&p2[0], 0).vlans[0].vid(), 5);
    let p3 = r.sent(3);
    assert_eq!(p3.len(), 2);
    let k = crate::flow::extract(&p3[0], 0);
    assert_eq!((k.dl_type, k.mpls_label()), (0x8847, 16));
    assert_eq!(p3[1].len(), 20);
    assert_eq!(
        r.handler.userspace.lock().unwrap().clone(),
        vec![(42, f.clone())]
    );
    assert_eq!(r.pmd.counters().drops[DropReason::NoPort as usize], 1);
    // The meter refuses: nothing goes out, the drop is counted.
    r.handler.meter_pass.store(false, Ordering::SeqCst);
    r.send(1, &f);
    assert!(r.sent(2).is_empty());
    assert_eq!(r.pmd.counters().drops[DropReason::Meter as usize], 1);
}

#[test]
fn recirculation_and_depth_limit() {
    let mut first = rule_dst(
        0,
        0,
        vec![
            Action::Set(SetMasked::PktMark {
                mark: 7,
                mask: 0xff,
            }),
            Action::Recirc(5),
        ],
    );
    first.mask.recirc_id = u32::MAX; // recirc_id 0
    let mut second = rule_dst(0, 0, vec![Action::Output(2)]);
    second.key.recirc_id = 5;
    second.mask.recirc_id = u32::MAX;
    second.key.pkt_mark = 7;
    second.mask.pkt_mark = u32::MAX;
    let mut r = rig(vec![first, second], 2, always_emc());
    let f = udp_frame(1, [1, 2, 3, 4], 5);
    r.send(1, &f);
    assert_eq!(r.sent(2), vec![f.clone()]);
    assert_eq!(r.pmd.counters().recirculations, 1);
    assert_eq!(r.pmd.flows().len(), 2, "one megaflow per pass");
    r.send(1, &f);
    assert_eq!(r.sent(2).len(), 1);
    assert_eq!(r.pmd.counters().upcalls, 2);

    // A loop: recirc to itself forever.
    let mut looping = rule_dst(0, 0, vec![Action::Recirc(9)]);
    looping.mask.recirc_id = 0;
    let mut r = rig(vec![looping], 2, always_emc());
    r.send(1, &f);
    assert_eq!(r.pmd.counters().drops[DropReason::RecircDepth as usize], 1);
    assert_eq!(r.pmd.counters().recirculations, u64::from(MAX_RECIRC_DEPTH));
}

#[test]
fn upcall_errors_are_counted_drops() {
    let mut r = rig(
        vec![rule_dst(0, 0, vec![Action::Output(2)])],
        2,
        always_emc(),
    );
    r.handler.fail.store(true, Ordering::SeqCst);
    r.send(1, &udp_frame(1, [1, 1, 1, 1], 1));
    let c = *r.pmd.counters();
    assert_eq!((c.upcalls, c.lost_upcalls), (1, 1));
    assert_eq!(c.drops[DropReason::UpcallError as usize], 1);
    assert!(r.pmd.flows().is_empty());
    assert!(r.sent(2).is_empty());
}

#[test]
fn flow_limit_forwards_without_installing() {
    let cfg = PmdConfig {
        flow_limit: 1,
        ..always_emc()
    };
    let mut r = rig(
        vec![
            rule_dst(0, 32, vec![]),
            rule_dst(0, 0, vec![Action::Output(2)]),
        ],
        2,
        cfg,
    );
    // The first rule is /32 on 0.0.0.0: every other key un-wildcards nw_dst.
    r.send(1, &udp_frame(1, [1, 1, 1, 1], 1));
    r.send(1, &udp_frame(1, [1, 1, 1, 2], 1));
    r.send(1, &udp_frame(1, [1, 1, 1, 2], 1));
    assert_eq!(r.sent(2).len(), 3);
    let c = *r.pmd.counters();
    assert_eq!((c.upcalls, c.flow_limit_hits), (3, 2));
    assert_eq!(r.pmd.flows().len(), 1);
}

#[test]
fn idle_megaflows_expire() {
    let mut r = rig(
        vec![rule_dst(0, 0, vec![Action::Output(2)])],
        2,
        always_emc(),
    );
    r.clock.store(5_000_000_000, Ordering::SeqCst);
    r.send(1, &udp_frame(1, [1, 1, 1, 1], 1));
    assert_eq!(r.pmd.flows().len(), 1);
    r.clock.store(14_000_000_000, Ordering::SeqCst);
    r.pmd.poll_once();
    assert_eq!(r.pmd.flows().len(), 1, "idle 9 s: kept");
    assert_eq!(r.pmd.dump()[0].idle_ms, Some(9_000));
    r.clock.store(15_500_000_000, Ordering::SeqCst);
    r.pmd.poll_once();
    assert_eq!(r.pmd.flows().len(), 0, "idle 10.5 s: expired");
    assert_eq!(r.pmd.counters().expired, 1);
}

#[test]
fn revalidation_updates_or_removes() {
    let mut r = rig(
        vec![
            rule_dst(0x0a00_0001, 32, vec![Action::Output(2)]),
            rule_dst(0x0a00_0002, 32, vec![Action::Output(2)]),
        ],
        3,
        always_emc(),
    );
    let (a, b) = (
        udp_frame(1, [10, 0, 0, 1], 1),
        udp_frame(1, [10, 0, 0, 2], 1),
    );
    for f in [&a, &b, &a, &b] {
        r.send(1, f);
    }
    assert_eq!(r.sent(2).len(), 4);
    // Same mask, new actions for .1; .2 now needs the UDP port too (a new
    // mask).
    let mut by_port = rule_dst(0x0a00_0000, 24, vec![Action::Output(3)]);
    by_port.key.tp_dst = 1;
    by_port.mask.tp_dst = 0xffff;
    let v = r.handler.set_rules(vec![
        rule_dst(0x0a00_0001, 32, vec![Action::Output(3)]),
        by_port,
    ]);
    let done = Completion::new(1);
    r.pmd.control(Control::Revalidate {
        version: v,
        done: done.clone(),
    });
    assert!(done.is_done());
    assert_eq!(
        r.pmd.flows().len(),
        1,
        "the .2 flow's mask changed: removed"
    );
    assert_eq!(r.pmd.dump()[0].version, v);
    let upcalls = r.pmd.counters().upcalls;
    r.send(1, &a);
    r.send(1, &b);
    assert_eq!(r.sent(3).len(), 2);
    assert!(r.sent(2).is_empty(), "no packet by a stale entry");
    assert_eq!(
        r.pmd.counters().upcalls,
        upcalls + 1,
        ".1 kept its flow (EMC entry still valid)"
    );
}

#[test]
fn steady_traffic_is_counted_and_delivered() {
    let mut r = rig(
        vec![rule_dst(0, 0, vec![Action::Output(2), Action::Output(2)])],
        2,
        always_emc(),
    );
    let frames: Vec<Vec<u8>> = (0..64).map(|i| udp_frame(i, [1, 1, 1, 1], 1)).collect();
    for f in &frames {
        r.ports[0].inject(f);
    }
    while r.ports[0].rx_pending() > 0 {
        r.pmd.poll_once();
    }
    for _ in 0..50 {
        for f in &frames {
            r.ports[0].inject(f);
        }
        while r.ports[0].rx_pending() > 0 {
            r.pmd.poll_once();
        }
    }
    assert_eq!(r.sent(2).len(), 51 * 64 * 2);
    let (rx, _, tx, _, _) = r.snap.load().get(2).unwrap().stats.read();
    assert_eq!((rx, tx), (0, 51 * 64 * 2));
}

#[test]
fn flush_and_dump_and_rxq_control() {
    let mut r = rig(
        vec![rule_dst(0, 0, vec![Action::Output(2)])],
        2,
        always_emc(),
    );
    r.send(1, &udp_frame(1, [1, 1, 1, 1], 1));
    let (tx, rx) = std::sync::mpsc::channel();
    r.pmd.control(Control::Dump(tx));
    assert_eq!(rx.recv().unwrap().len(), 1);
    let done = Completion::new(1);
    r.pmd.control(Control::Flush(done.clone()));
    assert!(done.wait(Duration::from_millis(1)));
    assert!(r.pmd.flows().is_empty());
    assert_eq!(r.pmd.emc_live(), 0);
    let (tx, rx) = std::sync::mpsc::channel();
    r.pmd.control(Control::RemoveRxq(1, 0, tx));
    let q = rx.recv().unwrap().expect("rxq 1/0 was assigned");
    assert_eq!((q.port, q.queue), (1, 0));
    assert_eq!(r.pmd.rxq_ids(), vec![(2, 0)]);
    r.pmd.control(Control::AddRxq(q));
    assert_eq!(r.pmd.rxq_ids(), vec![(2, 0), (1, 0)]);
}

/// A recorder used as the reference: direct execution of the handler's
/// result.
#[derive(Default)]
struct Outs(Vec<(DpPort, Vec<u8>)>);

impl ExecSink for Outs {
    fn output(&mut self, port: DpPort, pkt: &mut Packet, _take: bool, max_len: usize) {
        let d = pkt.data();
        self.0.push((port, d[..d.len().min(max_len)].to_vec()));
    }
    fn userspace(&mut self, _: &Packet, _: &FlowKey, _: u64) {}
    fn meter(&mut self, _: u32, _: &Packet) -> bool {
        true
    }
    fn recirculate(&mut self, _: &mut Packet, _: &PacketMeta, _: bool) {}
    fn drop(&mut self, _: DropReason) {}
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    (0u8..4, 0u8..4, 0u16..3, 0u8..4, 1u32..4, prop::bool::ANY).prop_map(
        |(d, plen_sel, tp, which_mask, out, set)| {
            let prefix = [0, 8, 30, 32][plen_sel as usize];
            let mut r = rule_dst(u32::from_be_bytes([10, 0, 0, d]), prefix, vec![]);
            if which_mask & 1 != 0 {
                r.key.tp_dst = tp;
                r.mask.tp_dst = 0xffff;
            }
            if which_mask & 2 != 0 {
                r.key.in_port = 1 + u32::from(tp % 2);
                r.mask.in_port = u32::MAX;
            }
            if set {
                r.actions
                    .push(Action::Set(SetMasked::Udp(crate::actions::L4Ports {
                        src: 7,
                        src_mask: 0xffff,
                        dst: 0,
                        dst_mask: 0,
                    })));
            }
            r.actions.push(Action::Output(out));
            r
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// The caches give, packet for packet, what a direct translation of
    /// each packet's key gives.
    #[test]
    fn caches_agree_with_direct_translation(
        rules in prop::collection::vec(arb_rule(), 0..6),
        pkts in prop::collection::vec((1u32..3, 0u8..5, 0u16..3, 0u16..4), 1..150),
        emc_prob in prop_oneof![Just(0u32), Just(1), Just(3)],
    ) {
        let cfg = PmdConfig { emc_insert_inv_prob: emc_prob, ..PmdConfig::default() };
        let mut r = rig(rules, 3, cfg);
        let mut want: Vec<(DpPort, Vec<u8>)> = Vec::new();
        for chunk in pkts.chunks(7) {
            for &(in_port, d, tp, src) in chunk {
                let f = udp_frame(src, [10, 0, 0, d], tp);
                // Reference: translate this packet's key directly.
                let (key, offs) = crate::flow::extract_with_offsets(&f, in_port);
                let mut t = Translation::default();
                r.handler.translate(&key, Some(&f), &mut t).unwrap();
                let mut outs = Outs::default();
                let mut meta = PacketMeta::from_port(in_port);
                execute(&t.actions, &mut packet_from(&f), &mut meta, &key, offs, &mut outs);
                want.extend(outs.0);
                r.ports[in_port as usize - 1].inject(&f);
            }
            r.pmd.poll_once();
        }
        // Drain what queues skipped under load still hold: two idle
        // iterations in a row (the second polls every queue).
        let mut idle = 0;
        while idle < 2 {
            if r.pmd.poll_once() == 0 { idle += 1 } else { idle = 0 }
        }
        let mut got: Vec<(DpPort, Vec<u8>)> = Vec::new();
        for port in 1..=3u32 {
            got.extend(r.sent(port as usize).into_iter().map(|f| (port, f)));
        }
        got.sort();
        want.sort();
        prop_assert_eq!(got, want);
        // And every installed megaflow is sound: its key translates to the
        // same actions and a mask no wider than the one installed.
        for d in r.pmd.dump() {
            let mut t = Translation::default();
            r.handler.translate(&d.key, None, &mut t).unwrap();
            prop_assert_eq!(&t.actions, &d.actions);
        }
    }
}

fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..100),
        (
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<u16>(),
            any::<usize>(),
            any::<u8>()
        )
            .prop_map(|(s, d, t, cut, flip)| {
                let mut f = udp_frame(s, d, t);
                let at = cut % f.len();
                f[at] ^= flip;
                f.truncate(at.max(14) + (cut >> 8) % 8);
                f
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Arbitrary bytes through the whole pipeline with every kind of
    /// action: no panic, and every received packet is accounted for.
    #[test]
    fn pipeline_never_panics(frames in prop::collection::vec(arb_frame(), 1..80)) {
        let mut first = rule_dst(0, 0, vec![
            Action::PushVlan { tpid: 0x88a8, tci: 3 },
            Action::Set(SetMasked::Ipv4 { src: 1, src_mask: u32::MAX, dst: 2, dst_mask: 0xff, tos: 4, tos_mask: 0xfc, ttl: 1, ttl_mask: 0xff }),
            Action::Set(SetMasked::Udp(crate::actions::L4Ports { src: 1, src_mask: 0xffff, dst: 2, dst_mask: 0xffff })),
            Action::Output(2),
            Action::PopVlan,
            Action::PushMpls { ethertype: 0x8847, lse: 0x1_0140 },
            Action::Set(SetMasked::Mpls { lse: 0x2000, lse_mask: 0xf000 }),
            Action::Trunc(30),
            Action::Output(3),
            Action::PopMpls { ethertype: 0x0800 },
            Action::Hash { basis: 9 },
            Action::Recirc(1),
        ]);
        first.mask.dl_type = 0;
        first.mask.recirc_id = u32::MAX;
        let mut second = rule_dst(0, 0, vec![Action::Set(SetMasked::Eth { src: [1; 6], src_mask: [0xff; 6], dst: [2; 6], dst_mask: [0xff; 6] }), Action::Output(1)]);
        second.key.recirc_id = 1;
        second.mask.recirc_id = u32::MAX;
        second.mask.dl_type = 0;
        let mut r = rig(vec![first, second], 3, always_emc());
        for f in &frames {
            r.ports[0].inject(f);
        }
        while r.ports[0].rx_pending() > 0 {
            r.pmd.poll_once();
        }
        let c = *r.pmd.counters();
        prop_assert_eq!(c.packets, frames.len() as u64);
        prop_assert_eq!(c.recirculations, frames.len() as u64);
        prop_assert_eq!(r.sent(1).len(), frames.len());
        prop_assert_eq!(c.lookups(), 2 * frames.len() as u64);
    }
}

#[test]
fn stats_sweep_reports_increments_of_busy_flows_only() {
    let mut r = rig(
        vec![
            rule_dst(0x0a00_0001, 32, vec![Action::Output(2)]),
            rule_dst(0, 0, vec![Action::Output(2)]),
        ],
        2,
        always_emc(),
    );
    let a = udp_frame(1, [10, 0, 0, 1], 1);
    let b = udp_frame(2, [10, 0, 0, 2], 1);
    r.send(1, &a);
    r.send(1, &a);
    r.send(1, &b);
    let sweep = |r: &mut Rig| {
        let (tx, rx) = std::sync::mpsc::channel();
        r.pmd.control(Control::SweepStats(tx));
        let mut d = rx.recv().unwrap();
        d.sort_by_key(|d| d.key.nw_dst);
        d
    };
    let d = sweep(&mut r);
    assert_eq!(d.len(), 2);
    assert_eq!((d[0].key.nw_dst, d[0].packets), (0x0a00_0001, 2));
    assert_eq!(d[0].bytes, 2 * a.len() as u64);
    assert_eq!((d[1].key.nw_dst, d[1].packets), (0x0a00_0002, 1));
    assert_ne!(d[0].flow, d[1].flow);
    // Nothing forwarded since: nothing to report.
    assert!(sweep(&mut r).is_empty());
    // Only the flow that forwarded again, with the increment.
    r.send(1, &b);
    r.send(1, &b);
    r.send(1, &b);
    let d2 = sweep(&mut r);
    assert_eq!(d2.len(), 1);
    assert_eq!((d2[0].flow, d2[0].packets), (d[1].flow, 3));
    assert_eq!(d2[0].bytes, 3 * b.len() as u64);
    // The full dump still has the totals.
    let total: u64 = r.pmd.dump().iter().map(|d| d.packets).sum();
    assert_eq!(total, 6);
}

/// A receive queue that is always empty and counts the polls.
#[derive(Debug)]
struct CountingRx(Arc<AtomicUsize>);

impl crate::netdev::RxQueue for CountingRx {
    fn recv(
        &mut self,
        _batch: &mut crate::packet::Batch,
    ) -> Result<usize, crate::netdev::QueueError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(0)
    }

    fn fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
}

#[test]
fn empty_queue_next_to_a_busy_one_is_polled_less_but_still_polled() {
    let mut r = rig(
        vec![rule_dst(0, 0, vec![Action::Output(2)])],
        2,
        always_emc(),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    r.pmd.add_rxq(Rxq::new(
        9,
        0,
        Box::new(CountingRx(calls.clone())),
        Arc::new(PortStats::default()),
    ));
    let f = udp_frame(1, [10, 0, 0, 1], 1);
    // 100 busy iterations: the idle queue is polled once, then after 1, 2,
    // 4, 8, 8, ... skipped iterations.
    for _ in 0..100 {
        r.ports[0].inject(&f);
        assert_eq!(r.pmd.poll_once(), 1);
    }
    let busy_polls = calls.load(Ordering::SeqCst);
    assert!(
        (10..=16).contains(&busy_polls),
        "{busy_polls} polls of the idle queue in 100 busy iterations"
    );
    assert_eq!(r.sent(2).len(), 100);
    // A backed-off queue with traffic is read within RXQ_MAX_BACKOFF + 1
    // busy iterations, and then every iteration.
    let mut got = 0;
    for i in 0..=RXQ_MAX_BACKOFF {
        r.ports[0].inject(&f);
        r.ports[1].inject(&f);
        let n = r.pmd.poll_once();
        if n == 2 {
            got = i + 1;
            break;
        }
    }
    assert!(
        got > 0,
        "port 2 not polled within {} iterations",
        RXQ_MAX_BACKOFF + 1
    );
    for _ in 0..5 {
        r.ports[0].inject(&f);
        r.ports[1].inject(&f);
        assert_eq!(r.pmd.poll_once(), 2);
    }
    // Idle: every queue is polled every iteration again.
    r.pmd.poll_once();
    let before = calls.load(Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(r.pmd.poll_once(), 0);
    }
    assert_eq!(calls.load(Ordering::SeqCst), before + 5);
}
