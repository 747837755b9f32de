//! Threaded datapath tests: forwarding through polling threads, queue
//! assignment and rebalancing, revalidation under constant traffic, and the
//! observability texts.

use super::*;
use crate::actions::Action;
use crate::packet::PacketMeta;
use crate::pmd::tests::MemPort;
use crate::pmd::tests::{TestHandler, rule_dst, udp_frame};
use std::sync::atomic::AtomicBool;

fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
    false
}

fn cfg(threads: usize) -> DatapathConfig {
    DatapathConfig {
        threads,
        pmd: PmdConfig {
            emc_insert_inv_prob: 1,
            ..PmdConfig::default()
        },
        idle: IdlePolicy::Sleep {
            after: 8,
            sleep: Duration::from_micros(100),
        },
    }
}

fn add_mem_port(dp: &mut Datapath, no: DpPort, queues: usize) -> Vec<MemPort> {
    let qs: Vec<MemPort> = (0..queues.max(1)).map(|_| MemPort::new()).collect();
    let rx = if queues == 0 {
        Vec::new()
    } else {
        qs.iter().map(|q| q.rxq()).collect()
    };
    // Each queue is a dummy netdev of its own, so tests can see per-queue
    // progress; the first one transmits.
    dp.add_port(no, &format!("p{no}"), "mem", vec![qs[0].txq()], rx, None)
        .unwrap();
    qs
}

#[test]
fn forwards_through_threads_and_reports() {
    let h = TestHandler::new(vec![rule_dst(0x0a00_0200, 24, vec![Action::Output(2)])]);
    let mut dp = Datapath::new(cfg(2), h.clone());
    let p1 = add_mem_port(&mut dp, 1, 1);
    let p2 = add_mem_port(&mut dp, 2, 1);
    assert_eq!(
        dp.add_port(2, "again", "mem", vec![], vec![], None),
        Err(DpError::PortExists(2))
    );
    let f = udp_frame(1, [10, 0, 2, 5], 53);
    for _ in 0..3 {
        p1[0].inject(&f);
    }
    let mut got = Vec::new();
    assert!(wait_until(|| {
        got.extend(p2[0].take_sent());
        got.len() == 3
    }));
    assert!(got.iter().all(|g| *g == f));

    let text = dp.format_dump_flows().unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let line = text.lines().next().unwrap();
    assert!(line.starts_with("recirc_id(0),in_port(1),"), "{line}");
    assert!(line.contains("eth_type(0x800)"), "{line}");
    assert!(line.contains("dst=10.0.2.0/255.255.255.0"), "{line}");
    assert!(
        line.contains(&format!(", packets:3, bytes:{}, used:", 3 * f.len())),
        "{line}"
    );
    assert!(line.ends_with("s, actions:2"), "{line}");

    assert!(wait_until(|| dp
        .pmd_counters()
        .iter()
        .map(|c| c.packets)
        .sum::<u64>()
        == 3));
    let show = dp.format_show("netdev@dp0");
    assert!(show.contains("lookups: hit:2 missed:1 lost:0"), "{show}");
    assert!(show.contains("flows: 1"), "{show}");
    assert!(
        show.contains("port 1: p1 (mem)\n    RX packets:3"),
        "{show}"
    );
    assert!(
        show.contains(&format!(
            "port 2: p2 (mem)\n    RX packets:0 bytes:0 dropped:0 errors:0\n    TX packets:3 bytes:{} dropped:0 errors:0",
            3 * f.len()
        )),
        "{show}"
    );
    let pmd = dp.format_pmd_stats();
    assert!(pmd.contains("pmd thread 1:"), "{pmd}");
    assert!(pmd.contains("miss with success upcall: 1"), "{pmd}");

    // A drop is counted per reason.
    p1[0].inject(&udp_frame(1, [10, 9, 9, 9], 53));
    assert!(wait_until(|| dp
        .format_pmd_stats()
        .contains("datapath_drop_actions: 1")));

    let rx = dp.remove_port(1).unwrap();
    assert_eq!(rx.len(), 1);
    assert_eq!(dp.remove_port(1).err(), Some(DpError::NoSuchPort(1)));
    assert!(dp.rxq_assignment().iter().all(|r| r.0 != 1));
}

#[test]
fn rxqs_round_robin_then_rebalanced_by_load() {
    let h = TestHandler::new(vec![rule_dst(0, 0, vec![Action::Output(2)])]);
    let mut dp = Datapath::new(cfg(2), h);
    let q = add_mem_port(&mut dp, 1, 3);
    let _out = add_mem_port(&mut dp, 2, 0);
    let threads: Vec<usize> = dp.rxq_assignment().iter().map(|r| r.2).collect();
    assert_eq!(threads, vec![0, 1, 0], "round-robin");
    // Load on queues 0 and 2 only (both on thread 0).
    let frames: Vec<Vec<u8>> = (0..200).map(|i| udp_frame(i, [10, 0, 0, 1], 1)).collect();
    for _ in 0..20 {
        for f in &frames {
            q[0].inject(f);
            q[2].inject(f);
        }
        assert!(wait_until(
            || q[0].rx_pending() == 0 && q[2].rx_pending() == 0
        ));
    }
    let moved = dp.rebalance().unwrap();
    assert!(moved >= 1);
    let a = dp.rxq_assignment();
    assert_ne!(
        a[0].2, a[2].2,
        "the two busy queues on different threads: {a:?}"
    );
    // Traffic still flows on every queue.
    for qq in &q {
        qq.inject(&frames[0]);
    }
    assert!(wait_until(|| q.iter().all(|qq| qq.rx_pending() == 0)));
}

#[test]
fn no_stale_forwarding_after_revalidation_under_traffic() {
    let h = TestHandler::new(vec![rule_dst(0x0a00_0000, 8, vec![Action::Output(2)])]);
    let mut dp = Datapath::new(cfg(2), h.clone());
    let inq = add_mem_port(&mut dp, 1, 2);
    let old = add_mem_port(&mut dp, 2, 0);
    let new = add_mem_port(&mut dp, 3, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (stop, inq) = (stop.clone(), inq.clone());
        thread::spawn(move || {
            let frames: Vec<Vec<u8>> = (0..64)
                .map(|i| udp_frame(i, [10, 0, (i % 4) as u8, 1], 1))
                .collect();
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                for q in &inq {
                    if q.rx_pending() < 256 {
                        q.inject(&frames[i % frames.len()]);
                    }
                }
                i += 1;
                if i.is_multiple_of(64) {
                    thread::yield_now();
                }
            }
        })
    };
    assert!(
        wait_until(|| old[0].take_sent().len() > 100),
        "traffic flows to the old port"
    );
    for round in 0..5 {
        let (to, from) = if round % 2 == 0 { (3, &old) } else { (2, &new) };
        // flow_mod: publish the new tables, then revalidate and wait (barrier).
        let v = h.set_rules(vec![rule_dst(0x0a00_0000, 8, vec![Action::Output(to)])]);
        assert!(dp.revalidate(v).wait(CONTROL_TIMEOUT));
        // Acknowledged: whatever the old port got so far is history.
        from[0].take_sent();
        let target = if to == 3 { &new } else { &old };
        target[0].take_sent();
        assert!(
            wait_until(|| target[0].take_sent().len() > 200),
            "traffic follows the new rule"
        );
        assert!(
            from[0].take_sent().is_empty(),
            "round {round}: a packet used a stale entry after the barrier"
        );
    }
    stop.store(true, Ordering::SeqCst);
    traffic.join().unwrap();
    let total: u64 = dp.pmd_counters().iter().map(|c| c.revalidated).sum();
    assert!(total > 0);
}

#[test]
fn thread_count_changes_at_run_time() {
    let h = TestHandler::new(vec![rule_dst(0, 0, vec![Action::Output(2)])]);
    let mut dp = Datapath::new(cfg(1), h);
    let q = add_mem_port(&mut dp, 1, 4);
    let out = add_mem_port(&mut dp, 2, 0);
    assert!(dp.rxq_assignment().iter().all(|r| r.2 == 0));
    dp.set_threads(3).unwrap();
    assert_eq!(dp.threads(), 3);
    let t: Vec<usize> = dp.rxq_assignment().iter().map(|r| r.2).collect();
    assert_eq!(t, vec![0, 1, 2, 0]);
    for qq in &q {
        qq.inject(&udp_frame(1, [1, 1, 1, 1], 1));
    }
    let mut n = 0;
    assert!(wait_until(|| {
        n += out[0].take_sent().len();
        n == 4
    }));
    dp.set_threads(1).unwrap();
    assert_eq!(dp.pmd_counters().len(), 1);
    assert!(dp.rxq_assignment().iter().all(|r| r.2 == 0));
    for qq in &q {
        qq.inject(&udp_frame(1, [1, 1, 1, 1], 1));
    }
    assert!(wait_until(|| {
        n += out[0].take_sent().len();
        n == 8
    }));
}

#[test]
fn netdev_ports_with_several_queues() {
    use crate::netdev::dummy::Dummy;
    let h = TestHandler::new(vec![rule_dst(0, 0, vec![Action::Output(2)])]);
    let mut dp = Datapath::new(cfg(2), h);
    let a = Dummy::new("a", 2).unwrap();
    let b = Dummy::new("b", 2).unwrap();
    dp.add_netdev(1, a.clone()).unwrap();
    dp.add_netdev(2, b.clone()).unwrap();
    assert!(
        matches!(dp.add_netdev(3, a.clone()), Err(DpError::Netdev(_))),
        "queues already taken"
    );
    let t: Vec<(DpPort, usize, usize)> = dp.rxq_assignment();
    assert_eq!(t, vec![(1, 0, 0), (1, 1, 1), (2, 0, 0), (2, 1, 1)]);
    for q in 0..2 {
        for i in 0..10 {
            assert!(a.inject(q, &udp_frame(i, [1, 2, 3, 4], 5)));
        }
    }
    let mut n = 0;
    assert!(wait_until(|| {
        n += b.take_sent().len();
        n == 20
    }));
    let show = dp.format_show("dp");
    assert!(
        show.contains("port 1: a (dummy)\n    RX packets:20"),
        "{show}"
    );
}

#[test]
fn control_plane_execute_outputs_and_recirculates() {
    // recirc_id 7 -> port 3; the packet-out itself sends to 2 then recirculates.
    let mut second = rule_dst(0, 0, vec![Action::Output(3)]);
    second.key.recirc_id = 7;
    second.mask.recirc_id = u32::MAX;
    let h = TestHandler::new(vec![second]);
    let mut dp = Datapath::new(cfg(1), h);
    let _p1 = add_mem_port(&mut dp, 1, 0);
    let p2 = add_mem_port(&mut dp, 2, 0);
    let p3 = add_mem_port(&mut dp, 3, 0);
    let f = udp_frame(1, [10, 0, 0, 1], 1);
    let sent = dp.execute(
        &f,
        PacketMeta::from_port(0xffff_fffd),
        &[
            Action::Output(2),
            Action::PushVlan {
                tpid: 0x8100,
                tci: 9,
            },
            Action::Recirc(7),
        ],
    );
    assert_eq!(sent, 2);
    assert_eq!(p2[0].take_sent(), vec![f.clone()]);
    let got = p3[0].take_sent();
    assert_eq!(got.len(), 1);
    assert_eq!(crate::flow::extract(&got[0], 0).vlans[0].vid(), 9);
    assert_eq!(
        dp.execute(&f, PacketMeta::from_port(1), &[Action::Output(99)]),
        0
    );
}

#[test]
fn sleeping_threads_wake_for_packets_and_control() {
    let h = TestHandler::new(vec![rule_dst(0, 0, vec![Action::Output(2)])]);
    let mut dp = Datapath::new(
        DatapathConfig {
            idle: IdlePolicy::Sleep {
                after: 1,
                sleep: Duration::from_secs(30),
            },
            ..cfg(1)
        },
        h,
    );
    let p1 = add_mem_port(&mut dp, 1, 1);
    let p2 = add_mem_port(&mut dp, 2, 0);
    thread::sleep(Duration::from_millis(50)); // asleep by now
    for round in 0..3 {
        let t = Instant::now();
        p1[0].inject(&udp_frame(round, [1, 1, 1, 1], 1));
        assert!(wait_until(|| !p2[0].take_sent().is_empty()));
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "woken by the queue's fd"
        );
        thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        assert_eq!(dp.dump_flows().unwrap().len(), 1);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "woken by the control message"
        );
    }
}

#[test]
fn flush_config_and_shutdown() {
    let h = TestHandler::new(vec![rule_dst(0, 0, vec![Action::Output(2)])]);
    let mut dp = Datapath::new(
        DatapathConfig {
            idle: IdlePolicy::BusyPoll,
            ..cfg(1)
        },
        h,
    );
    let p1 = add_mem_port(&mut dp, 1, 1);
    let _p2 = add_mem_port(&mut dp, 2, 0);
    p1[0].inject(&udp_frame(1, [1, 1, 1, 1], 1));
    assert!(wait_until(|| dp.dump_flows().unwrap().len() == 1));
    assert!(dp.flush().wait(CONTROL_TIMEOUT));
    assert!(dp.dump_flows().unwrap().is_empty());
    dp.set_pmd_config(PmdConfig {
        flow_limit: 0,
        ..PmdConfig::default()
    });
    p1[0].inject(&udp_frame(1, [1, 1, 1, 1], 1));
    assert!(wait_until(|| dp.pmd_counters()[0].flow_limit_hits == 1));
    assert!(dp.dump_flows().unwrap().is_empty());
    assert_eq!(
        dp.add_port(MAX_PORTS, "x", "mem", vec![], vec![], None),
        Err(DpError::PortNumberTooLarge(MAX_PORTS))
    );
    dp.shutdown();
}
