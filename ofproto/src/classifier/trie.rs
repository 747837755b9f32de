//! Prefix tracking: a path-compressed binary trie of the address prefixes
//! that rules match on, for one address field.
//!
//! Values are left-aligned in a `u128` (bit 0 of the field is the most
//! significant bit of the `u128`), so IPv4 and IPv6 share one
//! implementation. Every node stores its whole prefix (`bits`, zero beyond
//! `len`) and counts how many users (subtable groups) match exactly that
//! prefix. A node without users always has two children, except the root
//! (the empty prefix), so the trie has fewer than two nodes per prefix.
//!
//! [`Trie::lookup`] walks the trie along a packet's address and reports
//! which prefix lengths have a user matching the address, and how many
//! leading bits of the address the walk had to look at to know that. Any
//! address that agrees on those leading bits gets the same answer, which is
//! what makes the result usable for un-wildcarding.
//!
//! A large trie is deep (about `log2(prefixes)` nodes, each a likely cache
//! miss), so once it has [`SHORTCUT_MIN_NODES`] nodes it also keeps a
//! *shortcut table* indexed by the first 16 bits of an address: the deepest
//! node of at most 16 bits on that address's path, with the prefix lengths
//! matched above it. A walk starts there, so it costs one table access plus
//! the few nodes below 16 bits. The writer refreshes the entries under a
//! node whenever a node of at most 16 bits changes.

use datapath::flow::{FlowKey, FlowMask};

const NIL: u32 = u32::MAX;

/// Bits indexing the shortcut table.
const SHORT_BITS: u8 = 16;

/// Node count from which a trie keeps a shortcut table (tests use it from
/// the start).
const SHORTCUT_MIN_NODES: usize = if cfg!(test) { 1 } else { 1024 };

/// The address fields the classifier tracks prefixes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TrieField {
    NwSrc,
    NwDst,
    Ipv6Src,
    Ipv6Dst,
}

/// All tracked fields, in the order of [`Tries`].
pub(super) const TRIE_FIELDS: [TrieField; 4] = [
    TrieField::NwSrc,
    TrieField::NwDst,
    TrieField::Ipv6Src,
    TrieField::Ipv6Dst,
];

impl TrieField {
    /// Width in bits.
    pub(super) fn width(self) -> u8 {
        match self {
            TrieField::NwSrc | TrieField::NwDst => 32,
            TrieField::Ipv6Src | TrieField::Ipv6Dst => 128,
        }
    }

    /// The field of `key`, left-aligned.
    #[inline]
    pub(super) fn value(self, key: &FlowKey) -> u128 {
        match self {
            TrieField::NwSrc => u128::from(key.nw_src) << 96,
            TrieField::NwDst => u128::from(key.nw_dst) << 96,
            TrieField::Ipv6Src => u128::from_be_bytes(key.ipv6_src),
            TrieField::Ipv6Dst => u128::from_be_bytes(key.ipv6_dst),
        }
    }

    /// The prefix length of `mask` on this field, or 0 when the field is
    /// wildcarded or its mask is not a CIDR prefix.
    pub(super) fn prefix_len(self, mask: &FlowMask) -> u8 {
        let m = self.value(mask);
        let ones = m.leading_ones();
        if m != 0 && m == prefix_mask(ones as u8) {
            ones as u8
        } else {
            0
        }
    }

    /// Sets the first `bits` bits of this field in `wc`.
    #[inline]
    pub(super) fn unwildcard(self, wc: &mut FlowMask, bits: u8) {
        let m = prefix_mask(bits);
        match self {
            TrieField::NwSrc => wc.nw_src |= (m >> 96) as u32,
            TrieField::NwDst => wc.nw_dst |= (m >> 96) as u32,
            TrieField::Ipv6Src => {
                wc.ipv6_src = (u128::from_be_bytes(wc.ipv6_src) | m).to_be_bytes();
            }
            TrieField::Ipv6Dst => {
                wc.ipv6_dst = (u128::from_be_bytes(wc.ipv6_dst) | m).to_be_bytes();
            }
        }
    }
}

/// The first `len` bits set, left-aligned.
#[inline]
pub(super) fn prefix_mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        !0u128 << (128 - u32::from(len))
    }
}

#[inline]
fn bit(v: u128, i: u8) -> usize {
    ((v >> (127 - u32::from(i))) & 1) as usize
}

#[derive(Debug, Clone)]
struct Node {
    bits: u128,
    len: u8,
    users: u32,
    child: [u32; 2],
}

/// The result of [`Trie::lookup`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TrieMatch {
    /// Bit `L - 1` is set when a prefix of length `L` matches the address.
    pub(super) plens: u128,
    /// Number of leading address bits the walk examined.
    pub(super) bits: u8,
}

impl TrieMatch {
    /// True when some tracked prefix of length `len` (1..=128) matches.
    #[inline]
    pub(super) fn has_len(&self, len: u8) -> bool {
        self.plens & (1u128 << (len - 1)) != 0
    }
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub(super) struct Trie {
    nodes: Vec<Node>,
    free: Vec<u32>,
    width: u8,
    /// Shortcut table (empty until the trie is large): entry = node index
    /// | (lengths 1..=16 matched above that node) << 32.
    short: Vec<u64>,
}

impl Trie {
    pub(super) fn new(width: u8) -> Trie {
        Trie {
            nodes: vec![Node {
                bits: 0,
                len: 0,
                users: 0,
                child: [NIL; 2],
            }],
            free: Vec::new(),
            width,
            short: Vec::new(),
        }
    }

    /// The first [`SHORT_BITS`] bits of `v`.
    #[inline]
    fn top(v: u128) -> usize {
        (v >> (128 - u32::from(SHORT_BITS))) as usize
    }

    /// After a change at nodes of at most [`SHORT_BITS`] bits, the
    /// shortest of which has prefix `value/len`: refreshes the shortcut
    /// entries under that prefix (or builds the table when the trie has
    /// become large).
    fn refresh(&mut self, value: u128, len: u8) {
        if self.short.is_empty() {
            if self.nodes.len() - self.free.len() < SHORTCUT_MIN_NODES {
                return;
            }
            self.short = vec![0; 1 << SHORT_BITS];
            self.fill(0, 0, 0, 1 << SHORT_BITS);
            return;
        }
        let len = len.min(SHORT_BITS);
        let v = value & prefix_mask(len);
        let lo = Self::top(v);
        let hi = lo + (1usize << (SHORT_BITS - len));
        // The deepest node of at most `len` bits on the path to `v`.
        let mut n = 0usize;
        let mut plens = 0u128;
        loop {
            let node = &self.nodes[n];
            if node.len >= len {
                break;
            }
            let c = node.child[bit(v, node.len)];
            if c == NIL {
                break;
            }
            let child = &self.nodes[c as usize];
            if child.len > len || (child.bits ^ v) & prefix_mask(child.len) != 0 {
                break;
            }
            if node.users > 0 {
                plens |= 1u128 << (node.len - 1);
            }
            n = c as usize;
        }
        self.fill(n, plens, lo, hi);
    }

    /// Points the entries in `lo..hi` under node `n` (of at most
    /// [`SHORT_BITS`] bits) at it or at its descendants of at most
    /// [`SHORT_BITS`] bits; `plens` holds the lengths matched above `n`.
    fn fill(&mut self, n: usize, plens: u128, lo: usize, hi: usize) {
        let node = &self.nodes[n];
        let nlo = Self::top(node.bits);
        let nhi = nlo + (1usize << (SHORT_BITS - node.len));
        let (a, b) = (lo.max(nlo), hi.min(nhi));
        if a >= b {
            return;
        }
        let entry = n as u64 | ((plens as u64 & 0xffff) << 32);
        self.short[a..b].fill(entry);
        let below = if node.users > 0 {
            plens | 1u128 << (node.len - 1)
        } else {
            plens
        };
        for c in node.child {
            if c != NIL && self.nodes[c as usize].len <= SHORT_BITS {
                self.fill(c as usize, below, a, b);
            }
        }
    }

    /// True when no prefix is tracked.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.nodes[0].child == [NIL; 2]
    }

    fn alloc(&mut self, bits: u128, len: u8, users: u32) -> u32 {
        let node = Node {
            bits,
            len,
            users,
            child: [NIL; 2],
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Adds one user of prefix `value/len` (`1 <= len <= width`).
    pub(super) fn insert(&mut self, value: u128, len: u8) {
        debug_assert!(len >= 1 && len <= self.width);
        let v = value & prefix_mask(len);
        if let Some(changed) = self.insert_inner(v, len)
            && changed <= SHORT_BITS
        {
            self.refresh(v, changed);
        }
    }

    /// Inserts; returns the length of the shortest node created or
    /// changed.
    fn insert_inner(&mut self, v: u128, len: u8) -> Option<u8> {
        let mut n = 0usize;
        loop {
            if self.nodes[n].len == len {
                self.nodes[n].users += 1;
                // The matched lengths change only with the first user.
                return (self.nodes[n].users == 1).then_some(len);
            }
            let b = bit(v, self.nodes[n].len);
            let c = self.nodes[n].child[b];
            if c == NIL {
                let leaf = self.alloc(v, len, 1);
                self.nodes[n].child[b] = leaf;
                return Some(len);
            }
            let (cbits, clen) = (self.nodes[c as usize].bits, self.nodes[c as usize].len);
            let common = ((cbits ^ v).leading_zeros() as u8).min(clen).min(len);
            if common == clen {
                n = c as usize;
                continue;
            }
            // The new prefix leaves the child's path at `common`: split.
            let split = self.alloc(v & prefix_mask(common), common, 0);
            self.nodes[split as usize].child[bit(cbits, common)] = c;
            if common == len {
                self.nodes[split as usize].users = 1;
            } else {
                let leaf = self.alloc(v, len, 1);
                self.nodes[split as usize].child[bit(v, common)] = leaf;
            }
            self.nodes[n].child[b] = split;
            return Some(common);
        }
    }

    /// Removes one user of prefix `value/len`, which must have been
    /// inserted.
    pub(super) fn remove(&mut self, value: u128, len: u8) {
        let v = value & prefix_mask(len);
        if let Some(changed) = self.remove_inner(v, len)
            && changed <= SHORT_BITS
        {
            self.refresh(v, changed);
        }
    }

    /// Removes; returns the length of the shortest node changed or freed.
    fn remove_inner(&mut self, v: u128, len: u8) -> Option<u8> {
        // Path of (node, direction taken from its parent).
        let mut parent = NIL;
        let mut grand = NIL;
        let mut n = 0u32;
        while self.nodes[n as usize].len != len {
            let b = bit(v, self.nodes[n as usize].len);
            let c = self.nodes[n as usize].child[b];
            if c == NIL || self.nodes[c as usize].len > len {
                debug_assert!(false, "removing an absent prefix");
                return None;
            }
            grand = parent;
            parent = n;
            n = c;
        }
        let node = &mut self.nodes[n as usize];
        debug_assert!(node.bits == v && node.users > 0);
        node.users -= 1;
        if node.users > 0 || n == 0 {
            return None;
        }
        let kids = node.child;
        match (kids[0] != NIL, kids[1] != NIL) {
            (true, true) => {}
            (true, false) | (false, true) => {
                let only = if kids[0] != NIL { kids[0] } else { kids[1] };
                self.relink(parent, n, only);
                self.free.push(n);
            }
            (false, false) => {
                self.relink(parent, n, NIL);
                self.free.push(n);
                // The parent may now be a user-less node with one child.
                let p = &self.nodes[parent as usize];
                if parent != 0 && p.users == 0 {
                    let only = if p.child[0] != NIL {
                        p.child[0]
                    } else {
                        p.child[1]
                    };
                    let plen = p.len;
                    self.relink(grand, parent, only);
                    self.free.push(parent);
                    return Some(plen);
                }
            }
        }
        Some(len)
    }

    fn relink(&mut self, parent: u32, old: u32, new: u32) {
        let p = &mut self.nodes[parent as usize];
        if p.child[0] == old {
            p.child[0] = new;
        } else {
            debug_assert_eq!(p.child[1], old);
            p.child[1] = new;
        }
    }

    /// Starts loading the first memory a [`Trie::lookup`] of `value` will
    /// read (its shortcut entry and that node), without waiting for it:
    /// the caller goes on with other work while the cache misses resolve.
    #[inline]
    pub(super) fn touch(&self, value: u128) {
        if let Some(&e) = self.short.get(Self::top(value))
            && let Some(node) = self.nodes.get(e as u32 as usize)
        {
            std::hint::black_box(node.users);
        }
    }

    /// Walks the trie along `value` (left-aligned). See [`TrieMatch`].
    #[inline]
    pub(super) fn lookup(&self, value: u128) -> TrieMatch {
        let (mut node, mut plens) = match self.short.get(Self::top(value)) {
            Some(&e) => (&self.nodes[e as u32 as usize], u128::from((e >> 32) as u16)),
            None => (&self.nodes[0], 0),
        };
        loop {
            if node.users > 0 {
                plens |= 1u128 << (node.len - 1);
            }
            if node.len == self.width {
                return TrieMatch {
                    plens,
                    bits: self.width,
                };
            }
            let c = node.child[bit(value, node.len)];
            if c == NIL {
                // Bits 0..=len were needed to see that nothing goes on.
                return TrieMatch {
                    plens,
                    bits: node.len + 1,
                };
            }
            let child = &self.nodes[c as usize];
            let diff = (child.bits ^ value).leading_zeros() as u8;
            if diff < child.len {
                return TrieMatch {
                    plens,
                    bits: diff + 1,
                };
            }
            node = child;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u32) -> u128 {
        u128::from(a) << 96
    }

    /// Reference: which lengths of `prefixes` match `addr`.
    fn naive(prefixes: &[(u128, u8)], addr: u128) -> u128 {
        prefixes
            .iter()
            .filter(|&&(p, l)| (p ^ addr) & prefix_mask(l) == 0)
            .fold(0, |acc, &(_, l)| acc | 1u128 << (l - 1))
    }

    #[test]
    fn lookup_reports_matching_lengths_and_examined_bits() {
        let mut t = Trie::new(32);
        t.insert(v4(0x0a00_0000), 8);
        t.insert(v4(0x0a01_0000), 16);
        let m = t.lookup(v4(0xc0a8_0001));
        assert_eq!((m.plens, m.bits), (0, 1));
        let m = t.lookup(v4(0x0a01_0203));
        assert!(m.has_len(8) && m.has_len(16));
        assert_eq!(m.bits, 17);
        let m = t.lookup(v4(0x0a02_0203));
        assert!(m.has_len(8) && !m.has_len(16));
        assert_eq!(m.bits, 15); // 10.1 vs 10.2 differ at bit 14
    }

    #[test]
    fn random_against_naive() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut t = Trie::new(32);
        let mut present: Vec<(u128, u8)> = Vec::new();
        for round in 0..3000 {
            if present.len() > 40 && rnd() % 3 == 0 {
                let i = (rnd() as usize) % present.len();
                let (p, l) = present.swap_remove(i);
                t.remove(p, l);
            } else {
                let l = (rnd() % 32 + 1) as u8;
                let p = v4((rnd() as u32) & 0xff0f_0f0f) & prefix_mask(l);
                t.insert(p, l);
                present.push((p, l));
            }
            let addr = v4((rnd() as u32) & 0xff0f_0f0f);
            let m = t.lookup(addr);
            assert_eq!(m.plens, naive(&present, addr), "round {round}");
            // Agreeing on the examined bits gives the same answer.
            let other = (addr & prefix_mask(m.bits)) | (v4(rnd() as u32) & !prefix_mask(m.bits));
            assert_eq!(t.lookup(other).plens, m.plens, "round {round}");
        }
        for (p, l) in present.drain(..) {
            t.remove(p, l);
        }
        assert!(t.is_empty());
        assert!(t.nodes.len() - t.free.len() == 1);
    }
}
