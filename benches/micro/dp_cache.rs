//! Datapath cache benchmarks (issue #7): EMC hit path, megaflow lookup with
//! 1/10/100 subtables, the whole per-thread pipeline on EMC hits, and flow
//! setup (upcall + install) with a trivial handler.
//!
//! Throughput is reported in packets (elements): divide the batch time by 32
//! for the per-packet cost.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use datapath::actions::Action;
use datapath::emc::{Emc, emc_hash};
use datapath::flow::{FlowKey, FlowMask, extract};
use datapath::megaflow::{FlowRef, MegaflowCache};
use datapath::packet::{BATCH_SIZE, Packet};
use datapath::pmd::{Clock, Pmd, PmdConfig, Rxq};
use datapath::port::mem::{Replay, Sink};
use datapath::port::{PortEntry, PortTable};
use datapath::snapshot::Snapshot;
use datapath::stats::PortStats;
use datapath::upcall::{Translation, UpcallError, UpcallHandler};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

fn udp(dst: [u8; 4], sport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 18];
    f[0..6].copy_from_slice(&[0, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&dst);
    let u = &mut f[34..42];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&53u16.to_be_bytes());
    u[4..6].copy_from_slice(&26u16.to_be_bytes());
    f
}

fn emc_hit(c: &mut Criterion) {
    let mut g = c.benchmark_group("dp_emc");
    g.throughput(Throughput::Elements(BATCH_SIZE as u64));
    let keys: Vec<FlowKey> = (0..BATCH_SIZE as u16)
        .map(|i| extract(&udp([10, 0, 0, 2], 1000 + i), 1))
        .collect();
    let mut flows = MegaflowCache::default();
    let mut mask = FlowMask::CATCHALL;
    mask.dl_type = 0xffff;
    mask.in_port = u32::MAX;
    let r = flows
        .insert(&keys[0], &mask, &[Action::Output(2)], 1, 0)
        .unwrap();
    let mut emc = Emc::new(8192, 1);
    for k in &keys {
        emc.insert(k, emc_hash(k), r, |_| true);
    }
    g.bench_function("hit_batch32", |b| {
        let mut out = [FlowRef::default(); BATCH_SIZE];
        b.iter(|| {
            for (i, k) in keys.iter().enumerate() {
                let k = black_box(k);
                let h = emc_hash(k);
                if let Some(r) = emc.lookup(k, h)
                    && flows.get_live(r).is_some()
                {
                    out[i] = r;
                }
            }
            black_box(&out);
        })
    });
    g.finish();
}

/// `n` subtables, each with 64 flows; subtable `i` matches
/// `nw_dst=10.i.j.1` exactly plus a distinct mask on `tp_src`.
fn megaflow_setup(n: usize) -> (MegaflowCache, Vec<FlowKey>) {
    let mut flows = MegaflowCache::default();
    for i in 0..n {
        let mut mask = FlowMask::CATCHALL;
        mask.dl_type = 0xffff;
        mask.in_port = u32::MAX;
        mask.recirc_id = u32::MAX;
        mask.nw_dst = u32::MAX;
        mask.tp_src = (i as u16 + 1) << 4;
        for j in 0..64u8 {
            let k = extract(&udp([10, i as u8, j, 1], 0), 1);
            flows.insert(&k, &mask, &[Action::Output(2)], 1, 0).unwrap();
        }
    }
    // A batch spread evenly over the subtables (and over flows in each).
    let keys = (0..BATCH_SIZE)
        .map(|p| {
            let i = (p * n) / BATCH_SIZE;
            extract(&udp([10, i as u8, (p * 7 % 64) as u8, 1], 0), 1)
        })
        .collect();
    (flows, keys)
}

fn megaflow_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("dp_megaflow");
    g.throughput(Throughput::Elements(BATCH_SIZE as u64));
    for n in [1usize, 10, 100] {
        let (mut flows, keys) = megaflow_setup(n);
        assert_eq!(flows.subtables(), n);
        assert!(keys.iter().all(|k| flows.lookup(k).is_some()));
        // The fast path's form: the batch, subtable by subtable.
        g.bench_with_input(BenchmarkId::new("hit_batch32_subtables", n), &n, |b, _| {
            let mut out = [FlowRef::default(); BATCH_SIZE];
            b.iter(|| {
                let miss = flows.lookup_batch(black_box(&keys), u32::MAX, &mut out);
                black_box((&out, miss));
            })
        });
        // One packet at a time, every subtable in turn.
        g.bench_with_input(BenchmarkId::new("hit_single32_subtables", n), &n, |b, _| {
            let mut out = [FlowRef::default(); BATCH_SIZE];
            b.iter(|| {
                for (i, k) in keys.iter().enumerate() {
                    if let Some(r) = flows.lookup(black_box(k)) {
                        out[i] = r;
                    }
                }
                black_box(&out);
            })
        });
    }
    g.finish();
}

/// Output to port 2, mask: dl_type, nw_dst (and what the datapath adds).
#[derive(Debug)]
struct Trivial;

impl UpcallHandler for Trivial {
    fn translate(
        &self,
        _key: &FlowKey,
        _packet: Option<&[u8]>,
        out: &mut Translation,
    ) -> Result<(), UpcallError> {
        out.mask.dl_type = 0xffff;
        out.mask.nw_dst = u32::MAX;
        out.actions.push(Action::Output(2));
        out.version = 1;
        Ok(())
    }
}

fn pmd_with(cfg: PmdConfig) -> (Pmd, Arc<Sink>) {
    let sink = Arc::new(Sink::default());
    let table = PortTable::default()
        .with(PortEntry {
            port: 2,
            name: "out".into(),
            kind: "sink".into(),
            tx: sink.clone(),
            stats: Arc::new(PortStats::default()),
        })
        .unwrap();
    let snap = Arc::new(Snapshot::new(table));
    let pmd = Pmd::new(0, cfg, Arc::new(Trivial), snap, Clock::Real(Instant::now()));
    (pmd, sink)
}

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("dp_pipeline");
    g.throughput(Throughput::Elements(BATCH_SIZE as u64));
    for (name, emc_prob) in [("emc_hit", 1u32), ("megaflow_hit_emc_off", 0)] {
        let (mut pmd, _sink) = pmd_with(PmdConfig {
            emc_insert_inv_prob: emc_prob,
            ..PmdConfig::default()
        });
        // 32 flows (by source port: in the EMC key, not in the mask).
        let frames = (0..BATCH_SIZE as u16)
            .map(|i| udp([10, 0, 0, 2], 1000 + i))
            .collect();
        pmd.add_rxq(Rxq {
            port: 1,
            queue: 0,
            rx: Box::new(Replay::new(frames)),
            stats: Arc::new(PortStats::default()),
            busy_ns: Arc::new(AtomicU64::new(0)),
        });
        for _ in 0..10 {
            pmd.poll_once();
        }
        g.bench_function(format!("rx_extract_lookup_tx_batch32/{name}"), |b| {
            b.iter(|| black_box(pmd.poll_once()))
        });
    }
    g.finish();
}

fn flow_setup(c: &mut Criterion) {
    let mut g = c.benchmark_group("dp_flow_setup");
    g.throughput(Throughput::Elements(BATCH_SIZE as u64));
    g.bench_function("new_megaflows_batch32", |b| {
        b.iter_custom(|iters| {
            let (mut pmd, _sink) = pmd_with(PmdConfig {
                flow_limit: usize::MAX,
                ..PmdConfig::default()
            });
            let template = udp([0, 0, 0, 0], 1);
            let mut batch: Vec<Packet> = Vec::with_capacity(BATCH_SIZE);
            let mut total = Duration::ZERO;
            let mut next: u32 = 0;
            for _ in 0..iters {
                for _ in 0..BATCH_SIZE {
                    let mut p = Packet::from_slice(&template);
                    p.data_mut()[30..34].copy_from_slice(&next.to_be_bytes());
                    p.meta.in_port = 1;
                    next = next.wrapping_add(1);
                    batch.push(p);
                }
                let t = Instant::now();
                pmd.process_batch(&mut batch);
                total += t.elapsed();
            }
            assert_eq!(pmd.counters().upcalls, iters * BATCH_SIZE as u64);
            total
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = emc_hit, megaflow_lookup, pipeline, flow_setup
}
criterion_main!(benches);
