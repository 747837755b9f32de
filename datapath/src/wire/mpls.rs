//! MPLS label stack entries (RFC 3032), EtherTypes 0x8847 and 0x8848.
//!
//! One label stack entry (LSE) is 32 bits: label (20), traffic class (3,
//! formerly EXP), bottom of stack (1), TTL (8). A stack is a run of entries
//! ending with the one whose BoS bit is set; the payload (which MPLS does not
//! identify) follows it.
//!
//! [`MplsLse`] views one entry; its payload is the rest of the stack. To walk
//! a whole stack use [`LabelStack`] (or [`stack_len`]), which never reads
//! past the buffer and stops at the bottom of the stack.

use super::{Error, Field, Rest, Result, be};

/// Reserved label values (RFC 3032, RFC 7274).
pub mod label {
    /// IPv4 explicit null.
    pub const IPV4_EXPLICIT_NULL: u32 = 0;
    /// Router alert.
    pub const ROUTER_ALERT: u32 = 1;
    /// IPv6 explicit null.
    pub const IPV6_EXPLICIT_NULL: u32 = 2;
    /// Implicit null (signalled only, never on the wire).
    pub const IMPLICIT_NULL: u32 = 3;
    /// Entropy label indicator.
    pub const ENTROPY_LABEL_INDICATOR: u32 = 7;
    /// Generic associated channel label.
    pub const GAL: u32 = 13;
    /// OAM alert.
    pub const OAM_ALERT: u32 = 14;
    /// Extension label.
    pub const EXTENSION: u32 = 15;
    /// The largest label (20 bits).
    pub const MAX: u32 = 0x000f_ffff;
}

mod field {
    use super::{Field, Rest};
    pub const LSE: Field = 0..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of one label stack entry.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

const LABEL_SHIFT: u32 = 12;
const TC_SHIFT: u32 = 9;
const TC_MASK: u32 = 0x7 << TC_SHIFT;
const BOS_BIT: u32 = 0x100;
const TTL_MASK: u32 = 0xff;

/// A view over one MPLS label stack entry.
#[derive(Debug, Clone)]
pub struct MplsLse<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MplsLse<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> MplsLse<T> {
        MplsLse { buffer }
    }

    /// Wraps `buffer` and checks that it holds a whole entry.
    pub fn new_checked(buffer: T) -> Result<MplsLse<T>> {
        let e = Self::new_unchecked(buffer);
        e.check_len()?;
        Ok(e)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than an
    /// entry.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of an entry.
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// The whole 32-bit entry.
    #[inline]
    pub fn lse(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::LSE])
    }

    /// The label (20 bits).
    #[inline]
    pub fn label(&self) -> u32 {
        self.lse() >> LABEL_SHIFT
    }

    /// The traffic class (3 bits).
    #[inline]
    pub fn tc(&self) -> u8 {
        ((self.lse() & TC_MASK) >> TC_SHIFT) as u8
    }

    /// True for the bottom entry of the stack.
    #[inline]
    pub fn bos(&self) -> bool {
        self.lse() & BOS_BIT != 0
    }

    /// The time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        (self.lse() & TTL_MASK) as u8
    }

    /// Everything after this entry (more entries unless [`bos`](Self::bos)).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> MplsLse<T> {
    /// Sets the whole 32-bit entry.
    #[inline]
    pub fn set_lse(&mut self, value: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::LSE], value)
    }

    /// Sets the label; only the low 20 bits of `value` are used.
    #[inline]
    pub fn set_label(&mut self, value: u32) {
        let lse = self.lse() & !(label::MAX << LABEL_SHIFT);
        self.set_lse(lse | ((value & label::MAX) << LABEL_SHIFT))
    }

    /// Sets the traffic class; only the low 3 bits of `value` are used.
    #[inline]
    pub fn set_tc(&mut self, value: u8) {
        let lse = self.lse() & !TC_MASK;
        self.set_lse(lse | ((u32::from(value) << TC_SHIFT) & TC_MASK))
    }

    /// Sets the bottom-of-stack bit.
    #[inline]
    pub fn set_bos(&mut self, value: bool) {
        let lse = self.lse() & !BOS_BIT;
        self.set_lse(if value { lse | BOS_BIT } else { lse })
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::LSE.end - 1] = value
    }

    /// Everything after this entry, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The value form of one label stack entry.
///
/// `label` must fit in 20 bits and `tc` in 3; [`emit`](Self::emit) drops any
/// higher bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MplsRepr {
    /// The label (0..=[`label::MAX`]).
    pub label: u32,
    /// Traffic class (0..=7).
    pub tc: u8,
    /// Bottom of stack.
    pub bos: bool,
    /// Time to live.
    pub ttl: u8,
}

impl MplsRepr {
    /// Parses a view (checking its length).
    pub fn parse<T: AsRef<[u8]>>(entry: &MplsLse<T>) -> Result<MplsRepr> {
        entry.check_len()?;
        Ok(MplsRepr::from_lse(entry.lse()))
    }

    /// Decodes a 32-bit entry.
    pub const fn from_lse(lse: u32) -> MplsRepr {
        MplsRepr {
            label: lse >> LABEL_SHIFT,
            tc: ((lse & TC_MASK) >> TC_SHIFT) as u8,
            bos: lse & BOS_BIT != 0,
            ttl: (lse & TTL_MASK) as u8,
        }
    }

    /// The 32-bit entry this repr encodes.
    pub const fn lse(&self) -> u32 {
        ((self.label & label::MAX) << LABEL_SHIFT)
            | (((self.tc as u32) << TC_SHIFT) & TC_MASK)
            | if self.bos { BOS_BIT } else { 0 }
            | self.ttl as u32
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the entry into `entry`, whose buffer must be at least
    /// [`buffer_len`](Self::buffer_len) bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, entry: &mut MplsLse<T>) {
        entry.set_lse(self.lse())
    }
}

/// An iterator over the entries of a label stack, top first.
///
/// Yields `Ok` for each entry up to and including the bottom of the stack,
/// then stops. If the buffer ends before an entry with the BoS bit, it yields
/// one `Err(Error::Truncated)` and stops. It never yields more than
/// `buffer.len() / 4 + 1` items; bound the depth further with
/// [`Iterator::take`].
#[derive(Debug, Clone)]
pub struct LabelStack<'a> {
    buffer: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> LabelStack<'a> {
    /// Walks the stack that starts at the beginning of `buffer`.
    pub const fn new(buffer: &'a [u8]) -> LabelStack<'a> {
        LabelStack {
            buffer,
            offset: 0,
            done: false,
        }
    }

    /// Bytes of the stack consumed so far. Once the bottom entry has been
    /// yielded, this is the offset of the payload.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The bytes after the entries consumed so far (the payload once the
    /// bottom entry has been yielded).
    pub fn rest(&self) -> &'a [u8] {
        self.buffer.get(self.offset..).unwrap_or(&[])
    }
}

impl Iterator for LabelStack<'_> {
    type Item = Result<MplsRepr>;

    fn next(&mut self) -> Option<Result<MplsRepr>> {
        if self.done {
            return None;
        }
        let Some(bytes) = self.buffer.get(self.offset..self.offset + HEADER_LEN) else {
            self.done = true;
            return Some(Err(Error::Truncated));
        };
        let repr = MplsRepr::from_lse(be::u32(bytes));
        self.offset += HEADER_LEN;
        self.done = repr.bos;
        Some(Ok(repr))
    }
}

impl core::iter::FusedIterator for LabelStack<'_> {}

/// Walks the stack at the start of `buffer` and returns its length in bytes
/// (entries up to and including the bottom one), or [`Error::Truncated`] if
/// the buffer ends first.
pub fn stack_len(buffer: &[u8]) -> Result<usize> {
    let mut stack = LabelStack::new(buffer);
    for entry in stack.by_ref() {
        entry?;
    }
    Ok(stack.offset())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // Label 0x12345, TC 5, BoS, TTL 64; then two payload bytes.
    static ENTRY: [u8; 6] = [0x12, 0x34, 0x5b, 0x40, 0x45, 0x00];

    // Three entries: 16 (TC 0, TTL 255), 0xfffff (TC 7, TTL 1), 3 (BoS, TTL 0).
    static STACK: [u8; 14] = [
        0x00, 0x01, 0x00, 0xff, //
        0xff, 0xff, 0xfe, 0x01, //
        0x00, 0x00, 0x31, 0x00, //
        0x60, 0x00,
    ];

    fn repr() -> MplsRepr {
        MplsRepr {
            label: 0x12345,
            tc: 5,
            bos: true,
            ttl: 64,
        }
    }

    fn stack_reprs() -> [MplsRepr; 3] {
        [
            MplsRepr {
                label: 16,
                tc: 0,
                bos: false,
                ttl: 255,
            },
            MplsRepr {
                label: label::MAX,
                tc: 7,
                bos: false,
                ttl: 1,
            },
            MplsRepr {
                label: label::IMPLICIT_NULL,
                tc: 0,
                bos: true,
                ttl: 0,
            },
        ]
    }

    #[test]
    fn parse() {
        let e = MplsLse::new_checked(&ENTRY[..]).unwrap();
        assert_eq!(e.lse(), 0x1234_5b40);
        assert_eq!(e.label(), 0x12345);
        assert_eq!(e.tc(), 5);
        assert!(e.bos());
        assert_eq!(e.ttl(), 64);
        assert_eq!(e.payload(), &[0x45, 0x00]);
        assert_eq!(MplsRepr::parse(&e).unwrap(), repr());
    }

    #[test]
    fn emit_writes_every_byte() {
        let mut buf = poisoned(HEADER_LEN);
        repr().emit(&mut MplsLse::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &ENTRY[..HEADER_LEN]);
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut buf = [0u8; HEADER_LEN];
        let mut e = MplsLse::new_unchecked(&mut buf[..]);
        e.set_label(u32::MAX);
        assert_eq!(e.lse(), 0xffff_f000);
        e.set_tc(0xff);
        assert_eq!(e.lse(), 0xffff_fe00);
        e.set_bos(true);
        assert_eq!(e.lse(), 0xffff_ff00);
        e.set_ttl(0xff);
        assert_eq!(e.lse(), 0xffff_ffff);
        e.set_label(0);
        e.set_bos(false);
        assert_eq!(e.lse(), 0x0000_0eff);
        e.set_tc(0);
        e.set_ttl(0);
        assert_eq!(buf, [0; 4]);
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                MplsLse::new_checked(&ENTRY[..len]).unwrap_err(),
                Error::Truncated
            );
            assert_eq!(
                MplsRepr::parse(&MplsLse::new_unchecked(&ENTRY[..len])).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn walk_stack() {
        let mut it = LabelStack::new(&STACK);
        let got: Vec<_> = it.by_ref().collect::<Result<_>>().unwrap();
        assert_eq!(got, stack_reprs());
        assert_eq!(it.offset(), 12);
        assert_eq!(it.rest(), &[0x60, 0x00]);
        assert!(it.next().is_none());
        assert_eq!(stack_len(&STACK), Ok(12));
    }

    #[test]
    fn emit_stack() {
        let mut buf = poisoned(12);
        for (chunk, r) in buf.chunks_exact_mut(HEADER_LEN).zip(stack_reprs()) {
            r.emit(&mut MplsLse::new_unchecked(chunk));
        }
        assert_eq!(&buf[..], &STACK[..12]);
    }

    #[test]
    fn stack_truncated_before_bos() {
        // Cut at every length short of the bottom entry's end.
        for len in 0..12 {
            let mut it = LabelStack::new(&STACK[..len]);
            let items: Vec<_> = it.by_ref().collect();
            assert_eq!(items.len(), len / HEADER_LEN + 1, "len {len}");
            assert_eq!(items.last(), Some(&Err(Error::Truncated)));
            assert!(items[..items.len() - 1].iter().all(|i| i.is_ok()));
            assert!(it.next().is_none());
            assert_eq!(stack_len(&STACK[..len]), Err(Error::Truncated));
        }
    }

    #[test]
    fn stack_without_bos_is_truncated() {
        let bytes = [0x00, 0x01, 0x00, 0xff, 0x00, 0x02, 0x00, 0xff];
        assert_eq!(stack_len(&bytes), Err(Error::Truncated));
        assert_eq!(LabelStack::new(&bytes).count(), 3);
    }

    #[test]
    fn single_entry_stack_stops_at_bos() {
        // Bytes after the bottom entry are payload, even if they look like
        // more entries.
        assert_eq!(stack_len(&ENTRY), Ok(4));
        assert_eq!(LabelStack::new(&ENTRY).count(), 1);
    }

    fn any_repr() -> impl Strategy<Value = MplsRepr> {
        (0..=label::MAX, 0u8..8, any::<bool>(), any::<u8>()).prop_map(|(label, tc, bos, ttl)| {
            MplsRepr {
                label,
                tc,
                bos,
                ttl,
            }
        })
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in any_repr()) {
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut MplsLse::new_unchecked(&mut buf[..]));
            let parsed = MplsRepr::parse(&MplsLse::new_checked(&buf[..]).unwrap()).unwrap();
            prop_assert_eq!(parsed, r);
            prop_assert_eq!(MplsRepr::from_lse(r.lse()), r);
        }

        #[test]
        fn bytes_round_trip(bytes in any::<[u8; 4]>()) {
            let r = MplsRepr::parse(&MplsLse::new_checked(&bytes[..]).unwrap()).unwrap();
            let mut buf = poisoned(HEADER_LEN);
            r.emit(&mut MplsLse::new_unchecked(&mut buf[..]));
            prop_assert_eq!(&buf[..], &bytes[..]);
        }

        #[test]
        fn stack_round_trips(mut entries in proptest::collection::vec(any_repr(), 1..8)) {
            let n = entries.len();
            for (i, e) in entries.iter_mut().enumerate() {
                e.bos = i + 1 == n;
            }
            let mut buf = poisoned(n * HEADER_LEN + 3);
            for (chunk, r) in buf.chunks_exact_mut(HEADER_LEN).zip(&entries) {
                r.emit(&mut MplsLse::new_unchecked(chunk));
            }
            let got: Vec<_> = LabelStack::new(&buf).collect::<Result<_>>().unwrap();
            prop_assert_eq!(got, entries);
            prop_assert_eq!(stack_len(&buf), Ok(n * HEADER_LEN));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = MplsRepr::parse(&MplsLse::new_unchecked(&bytes[..]));
            if let Ok(e) = MplsLse::new_checked(&bytes[..]) {
                let _ = (e.lse(), e.label(), e.tc(), e.bos(), e.ttl(), e.payload());
                prop_assert!(MplsRepr::parse(&e).is_ok());
            }
            let mut it = LabelStack::new(&bytes);
            let count = it.by_ref().count();
            prop_assert!(count <= bytes.len() / HEADER_LEN + 1);
            prop_assert!(it.offset() <= bytes.len());
            let _ = it.rest();
            match stack_len(&bytes) {
                Ok(len) => prop_assert!(len <= bytes.len() && len % HEADER_LEN == 0),
                Err(e) => prop_assert_eq!(e, Error::Truncated),
            }
        }
    }
}
