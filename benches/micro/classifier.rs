//! The OpenFlow classifier: lookup at 100,000 rules spread over 10, 100 and
//! 1,000 subtables, and insertion of 100,000 rules.
//!
//! `cargo bench -p benches --bench classifier`
//!
//! Rules look like an ACL or routing table: `dl_type=ip` plus a
//! combination of `in_port`, CIDR prefixes on `nw_src`/`nw_dst`, `nw_proto`
//! and `tp_dst`, one combination per subtable, random values. Packets are
//! built from random rules (the wildcarded fields random), so every lookup
//! hits. Two priority layouts:
//!
//! * `random`: every rule has a random priority, so every subtable holds
//!   high priorities and a lookup must visit all of them (worst case for
//!   the priority vector).
//! * `banded`: priorities follow the subtable (as in tables where more
//!   specific matches get higher priorities), so a lookup stops after the
//!   subtables above its match.
//!
//! `_noprefix` runs use a classifier without prefix tracking (wider
//! megaflows, no trie walks).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use datapath::flow::{FlowKey, FlowMask};
use ofproto::classifier::{Classifier, Match, PrefixFields};
use std::hint::black_box;

const RULES: usize = 100_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn prefix(len: u64) -> u32 {
    if len == 0 { 0 } else { !0u32 << (32 - len) }
}

/// `n` distinct masks.
fn masks(n: usize, rng: &mut Rng) -> Vec<FlowMask> {
    let mut out: Vec<FlowMask> = Vec::with_capacity(n);
    while out.len() < n {
        let mut m = FlowMask::CATCHALL;
        m.dl_type = !0;
        if rng.below(2) == 0 {
            m.in_port = !0;
        }
        m.nw_src = prefix(rng.below(33));
        m.nw_dst = prefix(8 + rng.below(25));
        if rng.below(2) == 0 {
            m.nw_proto = !0;
            if rng.below(2) == 0 {
                m.tp_dst = !0;
            }
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

fn random_key(rng: &mut Rng) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.in_port = 1 + rng.below(16) as u32;
    k.dl_type = 0x0800;
    k.nw_src = rng.next() as u32;
    k.nw_dst = rng.next() as u32;
    k.nw_proto = if rng.below(2) == 0 { 6 } else { 17 };
    k.nw_ttl = 64;
    k.tp_src = rng.next() as u16;
    k.tp_dst = 1 + rng.below(1024) as u16;
    k
}

/// `RULES` rules over `n_masks` subtables: (match, priority).
fn rules(n_masks: usize, banded: bool, seed: u64) -> Vec<(Match, u32)> {
    let mut rng = Rng(seed);
    let masks = masks(n_masks, &mut rng);
    (0..RULES)
        .map(|i| {
            let s = i % n_masks;
            let m = Match::new(&random_key(&mut rng), &masks[s]);
            let priority = if banded {
                // Band per subtable, random within the band.
                (s as u32) * 1000 + rng.below(1000) as u32
            } else {
                rng.below(1 << 16) as u32
            };
            (m, priority)
        })
        .collect()
}

fn build(rules: &[(Match, u32)]) -> Classifier<u32> {
    build_with(rules, PrefixFields::ALL)
}

fn build_with(rules: &[(Match, u32)], fields: PrefixFields) -> Classifier<u32> {
    let mut cls = Classifier::with_prefix_fields(fields);
    for (i, &(m, p)) in rules.iter().enumerate() {
        // Identical random rules are possible in tiny subtables; skip them.
        let _ = cls.insert(m, p, i as u32, 0);
    }
    cls
}

/// Packets built from random rules, wildcarded fields random.
fn packets(rules: &[(Match, u32)], n: usize, seed: u64) -> Vec<FlowKey> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let (m, _) = &rules[rng.below(rules.len() as u64) as usize];
            let mut k = random_key(&mut rng);
            let (kw, rk, rm) = (k.words_mut(), m.key().words(), m.mask().0.words());
            for i in 0..kw.len() {
                kw[i] = (kw[i] & !rm[i]) | rk[i];
            }
            k
        })
        .collect()
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier_lookup");
    g.throughput(Throughput::Elements(1));
    // (subtables, banded priorities, prefix tracking)
    for (n_masks, banded, tracking) in [
        (10, false, true),
        (100, false, true),
        (1000, false, true),
        (10, true, true),
        (100, true, true),
        (1000, true, true),
        (100, false, false),
        (100, true, false),
    ] {
        let rules = rules(n_masks, banded, 7 + n_masks as u64);
        let fields = if tracking {
            PrefixFields::ALL
        } else {
            PrefixFields::NONE
        };
        let cls = build_with(&rules, fields);
        assert_eq!(cls.n_subtables(), n_masks);
        let pkts = packets(&rules, 4096, 99);
        let v = cls.visible_version();
        for p in &pkts {
            let mut wc = FlowMask::CATCHALL;
            assert!(cls.lookup(v, p, &mut wc).is_some());
        }
        let name = format!(
            "{}_{}subtables{}",
            if banded { "banded" } else { "random" },
            n_masks,
            if tracking { "" } else { "_noprefix" }
        );
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut wc = FlowMask::CATCHALL;
                let r = cls.lookup(v, black_box(&pkts[i & 4095]), &mut wc);
                i += 1;
                black_box((r.map(|r| r.priority()), &wc));
            })
        });
    }
    g.finish();
}

fn insertion(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier_insert");
    g.sample_size(10);
    g.throughput(Throughput::Elements(RULES as u64));
    for n_masks in [100, 1000] {
        let rules = rules(n_masks, false, 11);
        g.bench_function(format!("100k_rules_{n_masks}subtables"), |b| {
            b.iter_batched(
                || rules.clone(),
                |rules| black_box(build(&rules)),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// Resident memory of this process, in bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Memory per rule: the growth of the process's resident set while a
/// classifier of 100,000 rules in 100 subtables (prefix tracking on) is
/// built, divided by the rules stored. Printed, not timed; the bench's
/// first run ("memory" filter) is the measurement.
fn memory(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier_memory");
    g.sample_size(10);
    let rules = rules(100, false, 11);
    let before = rss_bytes();
    let cls = build(&rules);
    let grown = rss_bytes().saturating_sub(before);
    let per_rule = grown as f64 / cls.len() as f64;
    eprintln!(
        "classifier_memory: {} rules, {} subtables, RSS growth {:.1} MiB, {per_rule:.0} bytes/rule",
        cls.len(),
        cls.n_subtables(),
        grown as f64 / 1048576.0
    );
    // A trivial timed body so criterion lists the group.
    g.bench_function("bytes_per_rule_printed_above", |b| {
        b.iter(|| black_box(cls.len()))
    });
    g.finish();
}

criterion_group!(benches, lookup, insertion, memory);
criterion_main!(benches);
