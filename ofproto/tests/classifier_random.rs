//! The classifier against a linear reference on random rules and packets:
//! same winner, and mask soundness of every lookup.

use datapath::flow::key::{FLOW_U64S, FlowKey, FlowMask, VLAN_CFI, VLAN_VID_MASK};
use ofproto::classifier::{Classifier, Match, RuleId, VERSION_NEVER, Version};

/// xorshift64*: small, seeded, good enough for test data.
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
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A prefix length: usually a common one, sometimes any of 1..=width.
    fn plen(&mut self, common: &[u32], width: u64) -> u32 {
        if self.chance(25) {
            1 + self.below(width) as u32
        } else {
            self.pick(common)
        }
    }
}

fn v4_prefix(len: u32) -> u32 {
    if len == 0 { 0 } else { !0u32 << (32 - len) }
}

fn v6_prefix(len: u32) -> [u8; 16] {
    let m = if len == 0 { 0 } else { !0u128 << (128 - len) };
    m.to_be_bytes()
}

/// A key drawn from a small universe of realistic values, so that rules and
/// packets often agree.
fn universe_key(rng: &mut Rng) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.in_port = 1 + rng.below(4) as u32;
    k.metadata = rng.below(3);
    k.regs[0] = rng.below(3) as u32;
    k.regs[5] = rng.pick(&[0, 7, 0x8000_0001]);
    k.tun_id = rng.below(2);
    let macs = [
        [0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 2],
        [0x01, 0, 0x5e, 0, 0, 1],
        [0xff; 6],
    ];
    k.dl_dst = rng.pick(&macs);
    k.dl_src = rng.pick(&macs);
    if rng.chance(30) {
        k.vlans[0].tpid = 0x8100;
        k.vlans[0].tci = VLAN_CFI | (1 + rng.below(3) as u16) | ((rng.below(2) as u16) << 13);
    }
    k.dl_type = rng.pick(&[0x0800, 0x0800, 0x86dd, 0x0806]);
    let bases = [0x0a00_0000u32, 0x0a01_0000, 0xc0a8_0100, 0xac10_0000];
    let low_masks = [0xff, 0xffff, 0x0f0f, 0x3];
    k.nw_src = rng.pick(&bases) | (rng.next() as u32 & rng.pick(&low_masks));
    k.nw_dst = rng.pick(&bases) | (rng.next() as u32 & rng.pick(&low_masks));
    let v6 = |rng: &mut Rng| {
        let base: u128 = 0x2001_0db8 << 96;
        let low =
            u128::from(rng.next()) & rng.pick(&[0xffu128, 0xffff_0000_0000, 0x3_0000_0000_00ff]);
        let net = u128::from(rng.below(3)) << 64;
        (base | net | low).to_be_bytes()
    };
    k.ipv6_src = v6(rng);
    k.ipv6_dst = v6(rng);
    k.nw_proto = rng.pick(&[6, 17, 1]);
    k.nw_tos = rng.pick(&[0, 0, 0x28]);
    k.nw_ttl = rng.pick(&[64, 1]);
    let high = 0x8000 | (rng.next() as u16 & 15);
    k.tp_src = rng.pick(&[1234, 5555, 53, high]);
    k.tp_dst = rng.pick(&[22, 53, 80, 443, 8080]);
    k.tcp_flags = rng.pick(&[0x002, 0x010, 0x012]);
    k
}

/// One component of a mask from the pool of realistic masks.
fn mask_component(rng: &mut Rng, m: &mut FlowMask) {
    match rng.below(14) {
        0 => m.in_port = !0,
        1 => m.dl_type = !0,
        2 => {
            m.dl_type = !0;
            m.nw_proto = !0;
        }
        3 => {
            m.dl_type = !0;
            m.nw_src = v4_prefix(rng.plen(&[8, 16, 24, 32], 32));
        }
        4 => {
            m.dl_type = !0;
            m.nw_dst = v4_prefix(rng.plen(&[8, 16, 24, 32], 32));
        }
        5 => {
            m.dl_type = !0;
            m.ipv6_src = v6_prefix(rng.plen(&[32, 48, 64, 128], 128));
        }
        6 => {
            m.dl_type = !0;
            m.ipv6_dst = v6_prefix(rng.plen(&[32, 64, 96, 128], 128));
        }
        7 => m.vlans[0].tci = rng.pick(&[VLAN_CFI | VLAN_VID_MASK, VLAN_CFI, !0]),
        8 => {
            m.dl_type = !0;
            m.nw_proto = !0;
            m.tp_dst = rng.pick(&[!0, 0xfff0, 0x8000]);
        }
        9 => {
            m.dl_type = !0;
            m.nw_proto = !0;
            m.tp_src = rng.pick(&[!0, 0xfff0, 0x8000]);
        }
        10 => {
            m.metadata = rng.pick(&[!0, 0xff]);
        }
        11 => m.regs[rng.pick(&[0usize, 5])] = rng.pick(&[!0, 0xffff, 1]),
        12 => m.dl_dst = rng.pick(&[[0xff; 6], [1, 0, 0, 0, 0, 0]]),
        _ => {
            // Fully random: a few words, random bits.
            let exact = FlowMask::exact();
            for _ in 0..1 + rng.below(3) {
                let w = rng.below(FLOW_U64S as u64) as usize;
                m.0.words_mut()[w] |= rng.next() & rng.next() & exact.0.words()[w];
            }
        }
    }
}

fn random_mask(rng: &mut Rng) -> FlowMask {
    let mut m = FlowMask::CATCHALL;
    if rng.chance(3) {
        return m; // catch-all
    }
    for _ in 0..1 + rng.below(3) {
        mask_component(rng, &mut m);
    }
    m
}

#[derive(Debug, Clone)]
struct RefRule {
    id: RuleId,
    m: Match,
    /// The nonzero mask words: (index, mask, masked key), for speed.
    sparse: Vec<(usize, u64, u64)>,
    priority: u32,
    added: Version,
    removed: Version,
}

impl RefRule {
    fn visible(&self, v: Version) -> bool {
        self.added <= v && v < self.removed
    }
    fn matches(&self, key: &FlowKey) -> bool {
        let w = key.words();
        self.sparse.iter().all(|&(i, m, k)| w[i] & m == k)
    }
}

/// The linear reference classifier.
#[derive(Default)]
struct Reference {
    rules: Vec<RefRule>,
}

impl Reference {
    /// Highest priority among visible matching rules.
    fn best_priority(&self, v: Version, key: &FlowKey) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| r.visible(v) && r.matches(key))
            .map(|r| r.priority)
            .max()
    }
}

/// Checks one lookup: same winning priority as the reference, a visible
/// matching rule, and the same rule for perturbed keys agreeing on `wc`.
fn check_lookup(
    cls: &Classifier<u32>,
    reference: &Reference,
    v: Version,
    key: &FlowKey,
    rng: &mut Rng,
    stats: &mut Stats,
) {
    let mut wc = FlowMask::CATCHALL;
    let got = cls.lookup(v, key, &mut wc);
    let want = reference.best_priority(v, key);
    assert_eq!(
        got.map(|r| r.priority()),
        want,
        "winner priority for {key:?}"
    );
    if let Some(r) = got {
        assert!(r.is_visible_in(v));
        assert!(r.to_match().matches(key));
        // The rule's own mask is examined when it wins.
        assert!(r.mask().is_subset_of(&wc), "winner's mask not in wc");
        stats.hits += 1;
    }
    stats.wc_bits +=
        wc.0.words()
            .iter()
            .map(|w| w.count_ones() as u64)
            .sum::<u64>();
    stats.lookups += 1;
    let exact = FlowMask::exact();
    for _ in 0..2 {
        let mut k2 = *key;
        for i in 0..FLOW_U64S {
            // Flip some bits outside wc: all of them, or a random few.
            let outside = !wc.0.words()[i] & exact.0.words()[i];
            let flip = if rng.chance(50) {
                !0
            } else {
                rng.next() & rng.next()
            };
            k2.words_mut()[i] ^= outside & flip;
        }
        let mut wc2 = FlowMask::CATCHALL;
        let got2 = cls.lookup(v, &k2, &mut wc2);
        assert_eq!(
            got.map(|r| r.id()),
            got2.map(|r| r.id()),
            "mask unsound: {key:?} and {k2:?} agree on {wc:?}"
        );
    }
}

#[derive(Default, Debug)]
struct Stats {
    lookups: u64,
    hits: u64,
    wc_bits: u64,
}

fn packet_near_rules(rng: &mut Rng, reference: &Reference) -> FlowKey {
    let mut k = universe_key(rng);
    if !reference.rules.is_empty() && rng.chance(70) {
        // Start from a rule's match and fill the wildcarded bits from the
        // universe key, sometimes with a flipped bit.
        let r = &reference.rules[rng.below(reference.rules.len() as u64) as usize];
        let (rk, rm) = (r.m.key().words(), r.m.mask().0.words());
        let kw = k.words_mut();
        for i in 0..FLOW_U64S {
            kw[i] = (kw[i] & !rm[i]) | rk[i];
        }
        if rng.chance(20) {
            let w = rng.below(FLOW_U64S as u64) as usize;
            kw[w] ^= (1u64 << rng.below(64)) & FlowMask::exact().0.words()[w];
        }
    }
    k
}

fn run(seed: u64, n_rules: usize, n_packets: usize) {
    let mut rng = Rng(seed);
    let mut cls = Classifier::<u32>::new();
    let mut reference = Reference::default();
    // A pool of masks, so rules share subtables, plus some one-off masks.
    let pool: Vec<FlowMask> = (0..60).map(|_| random_mask(&mut rng)).collect();
    let add = |rng: &mut Rng, cls: &mut Classifier<u32>, reference: &mut Reference, v: Version| {
        let mask = if rng.chance(90) {
            pool[rng.below(pool.len() as u64) as usize]
        } else {
            random_mask(rng)
        };
        let m = Match::new(&universe_key(rng), &mask);
        // Few distinct priorities, so ties are common.
        let priority = if rng.chance(50) {
            rng.below(8) as u32 * 100
        } else {
            rng.below(1 << 16) as u32
        };
        let payload = rng.next() as u32;
        let res = cls.replace(m, priority, payload, v).expect("replace");
        // Replacing a rule of the same unpublished batch retires it at once.
        let immediate = usize::from(res.purged.is_some());
        if let Some(old) = res.old {
            let o = reference
                .rules
                .iter_mut()
                .find(|r| r.id == old)
                .expect("old rule");
            o.removed = v;
            assert_eq!(o.m, m);
            assert_eq!(o.priority, priority);
        }
        reference.rules.push(RefRule {
            id: res.id,
            m,
            sparse: (0..FLOW_U64S)
                .filter(|&i| m.mask().0.words()[i] != 0)
                .map(|i| (i, m.mask().0.words()[i], m.key().words()[i]))
                .collect(),
            priority,
            added: v,
            removed: VERSION_NEVER,
        });
        immediate
    };
    for _ in 0..n_rules {
        add(&mut rng, &mut cls, &mut reference, 0);
    }
    reference.rules.retain(|r| r.visible(0));
    assert_eq!(cls.len(), reference.rules.len());
    assert_eq!(cls.count(0), reference.rules.len());

    let mut stats = Stats::default();
    for _ in 0..n_packets {
        let k = packet_near_rules(&mut rng, &reference);
        check_lookup(&cls, &reference, 0, &k, &mut rng, &mut stats);
    }

    // A batch at version 1: remove a fifth of the rules, add as many.
    for i in 0..reference.rules.len() {
        if rng.chance(20) {
            let id = reference.rules[i].id;
            assert!(cls.remove(id, 1).is_none(), "removal must wait for publish");
            reference.rules[i].removed = 1;
        }
    }
    let mut purged_early = 0;
    for _ in 0..n_rules / 5 {
        purged_early += add(&mut rng, &mut cls, &mut reference, 1);
    }
    for _ in 0..n_packets / 4 {
        let k = packet_near_rules(&mut rng, &reference);
        let v = rng.below(2);
        check_lookup(&cls, &reference, v, &k, &mut rng, &mut stats);
    }
    let purged = cls.publish(1);
    let retired = reference.rules.iter().filter(|r| !r.visible(1)).count();
    assert_eq!(purged.len() + purged_early, retired);
    reference.rules.retain(|r| r.visible(1));
    assert_eq!(cls.len(), reference.rules.len());
    for _ in 0..n_packets / 4 {
        let k = packet_near_rules(&mut rng, &reference);
        check_lookup(&cls, &reference, 1, &k, &mut rng, &mut stats);
    }

    // Loose iteration against the reference, with filters taken from rules.
    for _ in 0..50 {
        let r = &reference.rules[rng.below(reference.rules.len() as u64) as usize];
        let mut fmask = *r.m.mask();
        for w in fmask.0.words_mut() {
            *w &= rng.next() | rng.next();
        }
        let filter = Match::new(r.m.key(), &fmask);
        let mut got: Vec<RuleId> = cls.iter_loose(&filter, 1).map(|r| r.id()).collect();
        let mut want: Vec<RuleId> = reference
            .rules
            .iter()
            .filter(|r| r.m.is_within(&filter))
            .map(|r| r.id)
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    // Strict lookups find every rule.
    for r in &reference.rules {
        assert_eq!(
            cls.find_exact(&r.m, r.priority, 1).map(|x| x.id()),
            Some(r.id)
        );
    }

    // Remove everything; the classifier empties.
    for r in &reference.rules {
        assert!(cls.remove(r.id, 1).is_some());
    }
    assert!(cls.is_empty());
    assert_eq!(cls.n_subtables(), 0);
    assert!(stats.hits > stats.lookups / 4, "too few hits: {stats:?}");
}

#[test]
fn differential_seed_1() {
    run(0x9e37_79b9_7f4a_7c15, 1000, 10_000);
}

#[test]
fn differential_seed_2() {
    run(0x0123_4567_89ab_cdef, 1000, 10_000);
}

#[test]
fn differential_seed_3() {
    run(42, 1000, 10_000);
}

#[test]
fn differential_small_tables_many_seeds() {
    for seed in 1..40 {
        run(seed * 7919, 30, 300);
    }
}
