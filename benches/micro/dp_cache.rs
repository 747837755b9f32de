//! Datapath cache benchmarks (issue #7): EMC hit path, megaflow lookup with
//! 1/10/100 subtables, the whole per-thread pipeline on EMC hits, and flow
//! setup (upcall + install) with a trivial handler.
//!
//! Throughput is reported in packets (elements): divide the batch time by 32
//! for the per-packet cost.

#[path = "dp_common.rs"]
mod common;

use common::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use datapath::emc::emc_hash;
use datapath::megaflow::FlowRef;
use datapath::packet::{BATCH_SIZE, Batch};
use datapath::pmd::PmdConfig;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn emc_hit(c: &mut Criterion) {
    let mut g = c.benchmark_group("dp_emc");
    g.throughput(Throughput::Elements(BATCH_SIZE as u64));
    let (emc, flows, keys) = emc_setup();
    g.bench_function("hit_batch32", |b| {
        let mut out = [FlowRef::default(); BATCH_SIZE];
        b.iter(|| {
            for (i, k) in keys.iter().enumerate() {
                let k = black_box(k);
                let h = emc_hash(k);
                if let Some(r) = emc.lookup_plain(k, h)
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

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("dp_pipeline");
    g.throughput(Throughput::Elements(BATCH_SIZE as u64));
    for (name, emc_prob) in [("emc_hit", 1u32), ("megaflow_hit_emc_off", 0)] {
        let (mut pmd, _sink) = pipeline_pmd(emc_prob);
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
            let mut batch = Batch::default();
            let mut total = Duration::ZERO;
            let mut next: u32 = 0;
            for _ in 0..iters {
                for _ in 0..BATCH_SIZE {
                    let mut f = template.clone();
                    f[30..34].copy_from_slice(&next.to_be_bytes());
                    next = next.wrapping_add(1);
                    batch.push_copy(&f, Default::default());
                }
                let t = Instant::now();
                pmd.process_batch(&mut batch, 1);
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
