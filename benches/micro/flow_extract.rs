//! Flow-key extraction per packet type, and the miniflow hash.
//!
//! `cargo bench -p benches --bench flow_extract`

use benches::{eth_arp, eth_ipv4_udp, eth_ipv6_tcp, eth_vlan_ipv4_tcp};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datapath::flow::{FlowKey, Miniflow, Offsets, extract, extract_into};
use std::hint::black_box;

fn extraction(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in [
        ("eth_ipv4_udp", eth_ipv4_udp()),
        ("eth_vlan_ipv4_tcp", eth_vlan_ipv4_tcp()),
        ("eth_ipv6_tcp", eth_ipv6_tcp()),
        ("eth_arp", eth_arp()),
    ] {
        // Into a caller-owned key, as a polling thread does for its batch.
        let mut key = FlowKey::ZERO;
        let mut offs = Offsets::EMPTY;
        g.bench_function(name, |b| {
            b.iter(|| {
                extract_into(black_box(&frame), black_box(1), &mut key, &mut offs);
                black_box(&key);
            })
        });
    }
    g.finish();

    // A batch of 32, as a polling thread extracts it: one key per batch
    // slot, reused from batch to batch. Reported per packet.
    let mut g = c.benchmark_group("extract_batch32");
    g.throughput(Throughput::Elements(32));
    for (name, frame) in [
        ("eth_ipv4_udp", eth_ipv4_udp()),
        ("eth_vlan_ipv4_tcp", eth_vlan_ipv4_tcp()),
        ("eth_ipv6_tcp", eth_ipv6_tcp()),
        ("eth_arp", eth_arp()),
    ] {
        let frames: Vec<Vec<u8>> = (0..32u8)
            .map(|i| {
                let mut f = frame.clone();
                f[5] = i; // distinct packets, as on a real port
                f
            })
            .collect();
        let mut keys = vec![FlowKey::ZERO; 32];
        let mut offs = vec![Offsets::EMPTY; 32];
        g.bench_function(name, |b| {
            b.iter(|| {
                for ((f, k), o) in black_box(&frames).iter().zip(&mut keys).zip(&mut offs) {
                    extract_into(f, 1, k, o);
                }
                black_box(&keys);
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("extract");
    let frame = eth_ipv4_udp();
    g.bench_function("eth_ipv4_udp_by_value", |b| {
        b.iter(|| black_box(extract(black_box(&frame), 1)))
    });
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let key = extract(&eth_ipv4_udp(), 1);
    let mini = Miniflow::from_key(&key);
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(1));
    g.bench_function("miniflow_hash", |b| {
        b.iter(|| black_box(black_box(&mini).hash(0)))
    });
    let mut scratch = Miniflow::from_key(&FlowKey::ZERO);
    g.bench_function("miniflow_set_from_key", |b| {
        b.iter(|| {
            scratch.set_from_key(black_box(&key));
            black_box(&scratch);
        })
    });
    g.bench_function("flowkey_hash_dense", |b| {
        b.iter(|| black_box(black_box(&key).hash(0)))
    });
    g.finish();
}

criterion_group!(benches, extraction, hashing);
criterion_main!(benches);
