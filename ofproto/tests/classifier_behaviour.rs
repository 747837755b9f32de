//! Classifier behaviour: versions, replace/remove, loose iteration, and the
//! granularity of un-wildcarding (prefix tracking, staged lookup).

use datapath::flow::key::{FlowKey, FlowMask};
use ofproto::classifier::{Classifier, Match, VERSION_NEVER};

fn ipv4(nw_dst: u32) -> FlowKey {
    let mut k = FlowKey::ZERO;
    k.in_port = 1;
    k.dl_type = 0x0800;
    k.nw_proto = 6;
    k.nw_src = 0x0a00_0063;
    k.nw_dst = nw_dst;
    k.tp_src = 40000;
    k.tp_dst = 80;
    k
}

fn dst_prefix(addr: u32, len: u32) -> Match {
    let mut mask = FlowMask::CATCHALL;
    mask.dl_type = !0;
    mask.nw_dst = if len == 0 { 0 } else { !0 << (32 - len) };
    Match::new(&ipv4(addr), &mask)
}

fn lookup(cls: &Classifier<&'static str>, v: u64, k: &FlowKey) -> (Option<&'static str>, FlowMask) {
    let mut wc = FlowMask::CATCHALL;
    let r = cls.lookup(v, k, &mut wc).map(|r| *r.payload());
    (r, wc)
}

#[test]
fn highest_priority_wins() {
    let mut cls = Classifier::new();
    cls.insert(dst_prefix(0x0a00_0000, 8), 10, "ten-slash-8", 0)
        .unwrap();
    cls.insert(dst_prefix(0x0a01_0000, 16), 20, "ten-one-slash-16", 0)
        .unwrap();
    cls.insert(Match::catchall(), 0, "default", 0).unwrap();
    assert_eq!(
        lookup(&cls, 0, &ipv4(0x0a01_0203)).0,
        Some("ten-one-slash-16")
    );
    assert_eq!(lookup(&cls, 0, &ipv4(0x0a02_0203)).0, Some("ten-slash-8"));
    assert_eq!(lookup(&cls, 0, &ipv4(0xc0a8_0001)).0, Some("default"));
    assert_eq!(cls.n_subtables(), 3);
    let order: Vec<u32> = cls.iter_by_priority(0).map(|r| r.priority()).collect();
    assert_eq!(order, [20, 10, 0]);
}

#[test]
fn prefix_tracking_unwildcards_only_needed_bits() {
    let mut cls = Classifier::new();
    cls.insert(dst_prefix(0x0a00_0000, 8), 10, "a", 0).unwrap();
    cls.insert(dst_prefix(0x0a01_0000, 16), 20, "b", 0).unwrap();
    // 192.168.0.1 differs from 10/8 in the first bit.
    let (r, wc) = lookup(&cls, 0, &ipv4(0xc0a8_0001));
    assert_eq!(r, None);
    assert_eq!(wc.nw_dst, 0x8000_0000, "wc.nw_dst = {:#x}", wc.nw_dst);
    // The tries rule both subtables out before anything is hashed: not even
    // dl_type is examined.
    assert_eq!(wc.dl_type, 0);
    assert_eq!((wc.nw_src, wc.tp_dst, wc.in_port), (0, 0, 0));
    // 10.2.0.1: inside 10/8 (matches), outside 10.1/16. The /16 needs 15
    // bits to be ruled out; the /8 match needs its 8 bits.
    let (r, wc) = lookup(&cls, 0, &ipv4(0x0a02_0001));
    assert_eq!(r, Some("a"));
    assert_eq!(wc.nw_dst, 0xfffe_0000, "wc.nw_dst = {:#x}", wc.nw_dst);
}

#[test]
fn prefix_tracking_ipv6() {
    let mut cls = Classifier::new();
    let mut k = FlowKey::ZERO;
    k.dl_type = 0x86dd;
    k.ipv6_src = (0x2001_0db8u128 << 96).to_be_bytes();
    let mut mask = FlowMask::CATCHALL;
    mask.dl_type = !0;
    mask.ipv6_src = (!0u128 << 64).to_be_bytes();
    cls.insert(Match::new(&k, &mask), 5, "v6", 0).unwrap();
    let mut pkt = k;
    pkt.ipv6_src = (0xfe80u128 << 112 | 1).to_be_bytes();
    let (r, wc) = lookup(&cls, 0, &pkt);
    assert_eq!(r, None);
    // 2001:... and fe80:... differ in the first bit.
    assert_eq!(u128::from_be_bytes(wc.ipv6_src), 1u128 << 127);
}

#[test]
fn staged_lookup_leaves_later_stages_wildcarded() {
    let mut cls = Classifier::new();
    let mut mask = FlowMask::CATCHALL;
    mask.in_port = !0;
    mask.dl_type = !0;
    mask.nw_proto = !0;
    mask.nw_src = !0; // exact: CIDR /32, tracked by the trie too
    mask.tp_dst = !0;
    let mut rule_key = ipv4(0x0a00_0001);
    rule_key.nw_src = 0x0a00_0001;
    cls.insert(Match::new(&rule_key, &mask), 1, "web", 0)
        .unwrap();

    // Miss at the metadata stage: only in_port examined (the packet has the
    // rule's source address, so the trie rules nothing out).
    let mut k = rule_key;
    k.in_port = 2;
    let (r, wc) = lookup(&cls, 0, &k);
    assert_eq!(r, None);
    let mut want = FlowMask::CATCHALL;
    want.in_port = !0;
    assert_eq!(wc, want);

    // Miss at L2: in_port and dl_type, L3 and L4 stay wildcarded.
    let mut k = rule_key;
    k.dl_type = 0x86dd;
    let (r, wc) = lookup(&cls, 0, &k);
    assert_eq!(r, None);
    want.dl_type = !0;
    assert_eq!(wc, want);

    // Miss at L3 on nw_proto (the trie rules nothing out): the L3 mask
    // words, but not L4.
    let mut k = rule_key;
    k.nw_proto = 17;
    let (r, wc) = lookup(&cls, 0, &k);
    assert_eq!(r, None);
    assert_eq!((wc.nw_proto, wc.nw_src, wc.tp_dst), (0xff, !0, 0));

    // A source address no rule has a prefix of: the trie needs the bits up
    // to the first difference only (10.0.0.99 vs 10.0.0.1: bit 25), and
    // rules the subtable out before any stage is hashed.
    let (r, wc) = lookup(&cls, 0, &ipv4(0x0a00_0001));
    assert_eq!(r, None);
    assert_eq!(
        (wc.in_port, wc.dl_type, wc.nw_proto, wc.tp_dst),
        (0, 0, 0, 0)
    );
    assert_eq!(wc.nw_src, 0xffff_ffc0, "{:#x}", wc.nw_src);

    // A hit examines the whole mask.
    let (r, wc) = lookup(&cls, 0, &rule_key);
    assert_eq!(r, Some("web"));
    assert_eq!(wc, mask);
}

#[test]
fn batch_is_invisible_until_published() {
    let mut cls = Classifier::new();
    let a = cls
        .insert(dst_prefix(0x0a00_0000, 8), 10, "old", 0)
        .unwrap();
    // Version 1: retire "old", add "new".
    assert!(cls.remove(a, 1).is_none());
    let b = cls
        .insert(dst_prefix(0x0a00_0000, 8), 10, "new", 1)
        .unwrap();
    let k = ipv4(0x0a00_0001);
    assert_eq!(lookup(&cls, 0, &k).0, Some("old"));
    assert_eq!(lookup(&cls, 1, &k).0, Some("new"));
    assert_eq!(cls.len(), 2);
    assert_eq!((cls.count(0), cls.count(1)), (1, 1));
    assert_eq!(cls.get(a).unwrap().removed(), 1);
    assert_eq!(cls.get(b).unwrap().removed(), VERSION_NEVER);

    let purged = cls.publish(1);
    assert_eq!(purged.len(), 1);
    assert_eq!(*purged[0].payload(), "old");
    assert_eq!(cls.visible_version(), 1);
    assert_eq!(lookup(&cls, 1, &k).0, Some("new"));
    assert!(cls.get(a).is_none());
    assert_eq!(cls.len(), 1);
}

#[test]
fn removal_is_effective_from_its_version() {
    let mut cls = Classifier::new();
    let a = cls.insert(Match::catchall(), 1, "x", 0).unwrap();
    cls.publish(5);
    assert!(cls.remove(a, 7).is_none());
    for v in 5..7 {
        assert_eq!(lookup(&cls, v, &ipv4(1)).0, Some("x"), "version {v}");
    }
    for v in 7..9 {
        assert_eq!(lookup(&cls, v, &ipv4(1)).0, None, "version {v}");
    }
    // Rolled back.
    assert!(cls.undo_remove(a));
    assert_eq!(lookup(&cls, 8, &ipv4(1)).0, Some("x"));
    // Removal at the visible version is immediate.
    let r = cls.remove(a, 5).expect("purged");
    assert_eq!(r.into_payload(), "x");
    assert!(cls.is_empty());
    assert!(cls.publish(9).is_empty());
}

#[test]
fn aborted_insert_is_purged() {
    let mut cls = Classifier::new();
    let a = cls.insert(Match::catchall(), 1, "pending", 3).unwrap();
    assert_eq!(lookup(&cls, 0, &ipv4(1)).0, None);
    assert_eq!(lookup(&cls, 3, &ipv4(1)).0, Some("pending"));
    // Removing it at its own version: never visible, gone at once.
    assert!(cls.remove(a, 3).is_some());
    assert!(cls.is_empty());
}

#[test]
fn insert_refuses_duplicates_and_replace_replaces() {
    let mut cls = Classifier::new();
    let m = dst_prefix(0x0a00_0000, 8);
    let a = cls.insert(m, 10, "a", 0).unwrap();
    let err = cls.insert(m, 10, "b", 0).unwrap_err();
    assert_eq!((err.existing, err.payload), (a, "b"));
    // Same match, other priority: a different rule.
    cls.insert(m, 11, "c", 0).unwrap();
    // A key with other bits outside the mask is the same match.
    let mut k = ipv4(0x0a63_6363);
    k.tp_dst = 9;
    let mut mask = FlowMask::CATCHALL;
    mask.dl_type = !0;
    mask.nw_dst = 0xff00_0000;
    let same = Match::new(&k, &mask);
    assert_eq!(same, m);
    let rep = cls.replace(same, 10, "d", 0).unwrap();
    assert_eq!(rep.old, Some(a));
    assert_eq!(rep.purged.map(|r| r.into_payload()), Some("a"));
    assert_eq!(cls.find_exact(&m, 10, 0).map(|r| *r.payload()), Some("d"));
    assert_eq!(cls.find_exact(&m, 11, 0).map(|r| *r.payload()), Some("c"));
    assert!(cls.find_exact(&m, 12, 0).is_none());
    assert_eq!(cls.len(), 2);
    // Replacing at a future version keeps both until publication.
    let rep = cls.replace(m, 10, "e", 1).unwrap();
    assert!(rep.purged.is_none());
    assert_eq!(cls.find_exact(&m, 10, 0).map(|r| *r.payload()), Some("d"));
    assert_eq!(cls.find_exact(&m, 10, 1).map(|r| *r.payload()), Some("e"));
    assert_eq!(cls.publish(1).len(), 1);
    *cls.payload_mut(rep.id).unwrap() = "f";
    assert_eq!(lookup(&cls, 1, &ipv4(0x0a00_0001)).0, Some("c"));
    cls.remove(cls.find_exact(&m, 11, 1).unwrap().id(), 1);
    assert_eq!(lookup(&cls, 1, &ipv4(0x0a00_0001)).0, Some("f"));
}

#[test]
fn loose_iteration_finds_more_specific_rules() {
    let mut cls = Classifier::new();
    cls.insert(dst_prefix(0x0a00_0000, 8), 1, "10/8", 0)
        .unwrap();
    cls.insert(dst_prefix(0x0a01_0000, 16), 1, "10.1/16", 0)
        .unwrap();
    cls.insert(dst_prefix(0x0a01_0100, 24), 1, "10.1.1/24", 0)
        .unwrap();
    cls.insert(dst_prefix(0x0b00_0000, 8), 1, "11/8", 0)
        .unwrap();
    cls.insert(Match::catchall(), 0, "any", 0).unwrap();
    let names = |filter: &Match| {
        let mut v: Vec<&str> = cls.iter_loose(filter, 0).map(|r| *r.payload()).collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&dst_prefix(0x0a00_0000, 8)),
        ["10.1.1/24", "10.1/16", "10/8"]
    );
    assert_eq!(
        names(&dst_prefix(0x0a01_0000, 16)),
        ["10.1.1/24", "10.1/16"]
    );
    assert_eq!(names(&dst_prefix(0x0a02_0000, 16)), Vec::<&str>::new());
    assert_eq!(names(&Match::catchall()).len(), 5);
    // dl_type only: every rule that pins dl_type to IPv4.
    let mut mask = FlowMask::CATCHALL;
    mask.dl_type = !0;
    assert_eq!(names(&Match::new(&ipv4(0), &mask)).len(), 4);
}

#[test]
fn priority_vector_stops_early() {
    // A high-priority exact rule that matches: the low-priority subtables
    // are never examined, so their fields stay wildcarded.
    let mut cls = Classifier::new();
    let mut mask = FlowMask::CATCHALL;
    mask.in_port = !0;
    cls.insert(Match::new(&ipv4(1), &mask), 100, "port1", 0)
        .unwrap();
    let mut low = FlowMask::CATCHALL;
    low.tp_dst = !0;
    cls.insert(Match::new(&ipv4(1), &low), 1, "http", 0)
        .unwrap();
    let (r, wc) = lookup(&cls, 0, &ipv4(1));
    assert_eq!(r, Some("port1"));
    assert_eq!(wc, mask);
}

#[test]
fn is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Classifier<String>>();
    check::<std::sync::Arc<std::sync::RwLock<Classifier<u64>>>>();
}

#[test]
fn removals_undone_and_redone_are_purged_exactly_once() {
    let mut cls = Classifier::new();
    let ids: Vec<_> = (0..100u32)
        .map(|i| cls.insert(dst_prefix(i << 8, 24), 10, "r", 0).unwrap())
        .collect();
    cls.publish(1);
    // A bundle removes every rule at version 2, is rolled back, then a
    // second bundle removes them again (twice each, as overlapping
    // deletes do), and another removes the even ones at version 3.
    for &id in &ids {
        assert!(cls.remove(id, 2).is_none());
    }
    for &id in &ids {
        assert!(cls.undo_remove(id));
    }
    // Publishing with the removals undone purges nothing.
    assert!(cls.publish(1).is_empty());
    assert_eq!(cls.len(), 100);
    for &id in ids.iter().step_by(2) {
        assert!(cls.remove(id, 3).is_none());
        assert!(cls.remove(id, 3).is_none());
    }
    for &id in ids.iter().skip(1).step_by(2) {
        assert!(cls.remove(id, 4).is_none());
    }
    let first = cls.publish(3);
    assert_eq!(first.len(), 50, "even rules retire at version 3");
    assert_eq!(lookup(&cls, 3, &ipv4(1 << 8)).0, Some("r"));
    assert_eq!(lookup(&cls, 3, &ipv4(0)).0, None);
    let second = cls.publish(4);
    assert_eq!(second.len(), 50, "odd rules retire at version 4");
    assert!(cls.is_empty());
    assert!(cls.publish(5).is_empty());
}
