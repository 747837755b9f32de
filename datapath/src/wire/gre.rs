//! GRE (RFC 2784, with the key and sequence number fields of RFC 2890), IP
//! protocol 47.
//!
//! ```text
//! [C| |K|S| reserved0 (9 bits) | Ver (3)] [protocol type (EtherType)]
//! [checksum                     ] [reserved1   ]   present when C
//! [key                                         ]   present when K
//! [sequence number                             ]   present when S
//! ```
//!
//! The header is 4 to 16 bytes long, depending on C, K and S. The checksum
//! covers the GRE header and its payload, so a [`GreHeader`] view is over the
//! whole GRE packet: its buffer must end where the GRE payload ends for
//! [`GreHeader::verify_checksum`], [`GreHeader::fill_checksum`] and
//! [`GreRepr::emit`] to be meaningful.
//!
//! Invariants: once [`GreHeader::check_len`] succeeds the buffer holds the
//! header its C, K and S flags describe, and no getter panics.
//! [`GreRepr::parse`] also requires version 0 ([`Error::Unrecognized`] for
//! version 1, PPTP's enhanced GRE; [`Error::Malformed`] for 2..=7), rejects the
//! RFC 1701 routing, strict source route and recursion bits that RFC 2784
//! tells receivers to drop ([`Error::Unrecognized`]), and verifies the
//! checksum when present ([`Error::Checksum`]). The other reserved bits and
//! reserved1 are ignored on receipt and emitted as zero, as RFC 2784 says.

use super::{Error, EtherType, Field, Result, be, checksum};

/// Flags word: checksum present.
pub const FLAG_C: u16 = 0x8000;
/// Flags word: RFC 1701 routing present (not supported).
pub const FLAG_R: u16 = 0x4000;
/// Flags word: key present (RFC 2890).
pub const FLAG_K: u16 = 0x2000;
/// Flags word: sequence number present (RFC 2890).
pub const FLAG_S: u16 = 0x1000;
/// Flags word: RFC 1701 strict source route (not supported).
pub const FLAG_STRICT_ROUTE: u16 = 0x0800;
/// Flags word: high bit of the RFC 1701 recursion control (not supported).
pub const FLAG_RECURSION: u16 = 0x0400;
/// Flags word: the version bits.
pub const VERSION_MASK: u16 = 0x0007;

/// Bits that RFC 2784 requires a receiver to drop the packet for.
const RFC1701_MASK: u16 = FLAG_R | FLAG_STRICT_ROUTE | FLAG_RECURSION;

mod field {
    use super::Field;
    pub const FLAGS_VERSION: Field = 0..2;
    pub const PROTOCOL: Field = 2..4;
    /// Checksum and reserved1, when C is set.
    pub const CHECKSUM: Field = 4..6;
    pub const RESERVED1: Field = 6..8;
}

/// Length of the fixed part of the header (flags, version, protocol).
pub const BASE_HEADER_LEN: usize = field::PROTOCOL.end;
/// Length of the largest header (C, K and S all set).
pub const MAX_HEADER_LEN: usize = BASE_HEADER_LEN + 12;

/// Header length for the given C, K and S flags.
#[inline]
pub const fn header_len_for(checksum: bool, key: bool, sequence: bool) -> usize {
    BASE_HEADER_LEN + 4 * (checksum as usize + key as usize + sequence as usize)
}

/// A view over a GRE packet (header and payload).
#[derive(Debug, Clone)]
pub struct GreHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GreHeader<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> GreHeader<T> {
        GreHeader { buffer }
    }

    /// Wraps `buffer` and checks that it holds the whole header.
    pub fn new_checked(buffer: T) -> Result<GreHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the
    /// header its flags describe.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < BASE_HEADER_LEN || len < self.header_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The first 16-bit word: flags, reserved0 and version.
    #[inline]
    pub fn flags_version(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::FLAGS_VERSION])
    }

    /// Length of the header, from the C, K and S flags.
    #[inline]
    pub fn header_len(&self) -> usize {
        header_len_for(
            self.checksum_present(),
            self.key_present(),
            self.sequence_present(),
        )
    }

    /// The C flag.
    #[inline]
    pub fn checksum_present(&self) -> bool {
        self.flags_version() & FLAG_C != 0
    }

    /// The R flag (RFC 1701 routing; this module does not parse routing).
    #[inline]
    pub fn routing_present(&self) -> bool {
        self.flags_version() & FLAG_R != 0
    }

    /// The K flag.
    #[inline]
    pub fn key_present(&self) -> bool {
        self.flags_version() & FLAG_K != 0
    }

    /// The S flag.
    #[inline]
    pub fn sequence_present(&self) -> bool {
        self.flags_version() & FLAG_S != 0
    }

    /// The bits of the first word other than C, K, S and the version: R,
    /// strict source route, recursion control and reserved bits, in place.
    #[inline]
    pub fn reserved0(&self) -> u16 {
        self.flags_version() & !(FLAG_C | FLAG_K | FLAG_S | VERSION_MASK)
    }

    /// The version (3 bits).
    #[inline]
    pub fn version(&self) -> u8 {
        (self.flags_version() & VERSION_MASK) as u8
    }

    /// The EtherType of the payload.
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(be::u16(&self.buffer.as_ref()[field::PROTOCOL]))
    }

    /// The checksum field, when C is set.
    #[inline]
    pub fn checksum(&self) -> Option<u16> {
        self.checksum_present()
            .then(|| be::u16(&self.buffer.as_ref()[field::CHECKSUM]))
    }

    /// The reserved1 field, when C is set.
    #[inline]
    pub fn reserved1(&self) -> Option<u16> {
        self.checksum_present()
            .then(|| be::u16(&self.buffer.as_ref()[field::RESERVED1]))
    }

    /// The key, when K is set.
    #[inline]
    pub fn key(&self) -> Option<u32> {
        self.key_offset()
            .map(|o| be::u32(&self.buffer.as_ref()[o..o + 4]))
    }

    /// The sequence number, when S is set.
    #[inline]
    pub fn sequence(&self) -> Option<u32> {
        self.sequence_offset()
            .map(|o| be::u32(&self.buffer.as_ref()[o..o + 4]))
    }

    /// True when C is clear, or when the checksum over the whole buffer
    /// (header and payload) verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        !self.checksum_present() || checksum::verify(0, self.buffer.as_ref())
    }

    /// Everything after the header. Clamped to the buffer, so it cannot panic
    /// even if a setter changed the flags after the check.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[self.header_len().min(b.len())..]
    }

    fn key_offset(&self) -> Option<usize> {
        self.key_present()
            .then(|| header_len_for(self.checksum_present(), false, false))
    }

    fn sequence_offset(&self) -> Option<usize> {
        self.sequence_present()
            .then(|| header_len_for(self.checksum_present(), self.key_present(), false))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GreHeader<T> {
    /// Sets the whole first word (flags, reserved0 and version).
    #[inline]
    pub fn set_flags_version(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::FLAGS_VERSION], value)
    }

    /// Sets the C flag. Moves no other field: set the flags before the
    /// optional fields.
    #[inline]
    pub fn set_checksum_present(&mut self, value: bool) {
        self.set_flag(FLAG_C, value)
    }

    /// Sets the K flag (see [`set_checksum_present`](Self::set_checksum_present)).
    #[inline]
    pub fn set_key_present(&mut self, value: bool) {
        self.set_flag(FLAG_K, value)
    }

    /// Sets the S flag (see [`set_checksum_present`](Self::set_checksum_present)).
    #[inline]
    pub fn set_sequence_present(&mut self, value: bool) {
        self.set_flag(FLAG_S, value)
    }

    /// Sets the version (low 3 bits of `value`).
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let w = self.flags_version() & !VERSION_MASK;
        self.set_flags_version(w | (u16::from(value) & VERSION_MASK))
    }

    /// Sets the reserved0 bits (those of `value` outside C, K, S and the
    /// version; see [`reserved0`](GreHeader::reserved0)).
    #[inline]
    pub fn set_reserved0(&mut self, value: u16) {
        let keep = FLAG_C | FLAG_K | FLAG_S | VERSION_MASK;
        let w = (self.flags_version() & keep) | (value & !keep);
        self.set_flags_version(w)
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: EtherType) {
        be::put_u16(&mut self.buffer.as_mut()[field::PROTOCOL], value.into())
    }

    /// Sets the checksum field. Does nothing when C is clear.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        debug_assert!(self.checksum_present());
        if self.checksum_present() {
            be::put_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value)
        }
    }

    /// Sets the reserved1 field. Does nothing when C is clear.
    #[inline]
    pub fn set_reserved1(&mut self, value: u16) {
        debug_assert!(self.checksum_present());
        if self.checksum_present() {
            be::put_u16(&mut self.buffer.as_mut()[field::RESERVED1], value)
        }
    }

    /// Sets the key. Does nothing when K is clear.
    #[inline]
    pub fn set_key(&mut self, value: u32) {
        debug_assert!(self.key_present());
        if let Some(o) = self.key_offset() {
            be::put_u32(&mut self.buffer.as_mut()[o..o + 4], value)
        }
    }

    /// Sets the sequence number. Does nothing when S is clear.
    #[inline]
    pub fn set_sequence(&mut self, value: u32) {
        debug_assert!(self.sequence_present());
        if let Some(o) = self.sequence_offset() {
            be::put_u32(&mut self.buffer.as_mut()[o..o + 4], value)
        }
    }

    /// Computes and stores the checksum over the whole buffer (header and
    /// payload). Does nothing when C is clear.
    pub fn fill_checksum(&mut self) {
        if self.checksum_present() {
            self.set_checksum(0);
            let c = checksum::compute(0, self.buffer.as_ref());
            self.set_checksum(c);
        }
    }

    /// Everything after the header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len().min(self.buffer.as_ref().len());
        &mut self.buffer.as_mut()[start..]
    }

    fn set_flag(&mut self, mask: u16, value: bool) {
        let w = self.flags_version();
        self.set_flags_version(if value { w | mask } else { w & !mask })
    }
}

/// The validated value form of a GRE header (version 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GreRepr {
    /// Whether the header carries a checksum (computed by `emit`).
    pub checksum_present: bool,
    /// The payload's EtherType (`TransparentEthernet` for Ethernet).
    pub protocol: EtherType,
    /// The RFC 2890 key, when present.
    pub key: Option<u32>,
    /// The RFC 2890 sequence number, when present.
    pub sequence: Option<u32>,
}

impl GreRepr {
    /// Parses a checked view. See the module documentation for the errors;
    /// version and RFC 1701 bits are checked before the length, so a short
    /// PPTP packet still reports [`Error::Unrecognized`].
    pub fn parse<T: AsRef<[u8]>>(header: &GreHeader<T>) -> Result<GreRepr> {
        if header.buffer.as_ref().len() < BASE_HEADER_LEN {
            return Err(Error::Truncated);
        }
        match header.version() {
            0 => {}
            1 => return Err(Error::Unrecognized),
            _ => return Err(Error::Malformed),
        }
        if header.flags_version() & RFC1701_MASK != 0 {
            return Err(Error::Unrecognized);
        }
        header.check_len()?;
        if !header.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(GreRepr {
            checksum_present: header.checksum_present(),
            protocol: header.protocol_type(),
            key: header.key(),
            sequence: header.sequence(),
        })
    }

    /// Bytes of header `emit` writes (4 to 16).
    pub const fn buffer_len(&self) -> usize {
        header_len_for(
            self.checksum_present,
            self.key.is_some(),
            self.sequence.is_some(),
        )
    }

    /// Writes the header into `header`, whose buffer must be at least
    /// [`buffer_len`](Self::buffer_len) bytes long. Reserved bits, reserved1
    /// and the version are written as zero.
    ///
    /// When `checksum_present`, the checksum is computed over the *whole*
    /// buffer, so the payload must already be in place after the header and
    /// the buffer must end where the GRE payload ends.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut GreHeader<T>) {
        let mut w = 0;
        if self.checksum_present {
            w |= FLAG_C;
        }
        if self.key.is_some() {
            w |= FLAG_K;
        }
        if self.sequence.is_some() {
            w |= FLAG_S;
        }
        header.set_flags_version(w);
        header.set_protocol_type(self.protocol);
        if self.checksum_present {
            header.set_checksum(0);
            header.set_reserved1(0);
        }
        if let Some(k) = self.key {
            header.set_key(k);
        }
        if let Some(s) = self.sequence {
            header.set_sequence(s);
        }
        header.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // C, K, S; transparent Ethernet; checksum; key 0x01020304; seq 7.
    static FULL: [u8; 20] = [
        0xb0, 0x00, 0x65, 0x58, // flags, version, protocol
        0x48, 0xfc, 0x00, 0x00, // checksum, reserved1
        0x01, 0x02, 0x03, 0x04, // key
        0x00, 0x00, 0x00, 0x07, // sequence
        0xde, 0xad, 0xbe, 0xef, // payload
    ];

    // K only; IPv4.
    static KEY_ONLY: [u8; 10] = [
        0x20, 0x00, 0x08, 0x00, //
        0xca, 0xfe, 0xf0, 0x0d, // key
        0x45, 0x00, // payload
    ];

    fn full_repr() -> GreRepr {
        GreRepr {
            checksum_present: true,
            protocol: EtherType::TransparentEthernet,
            key: Some(0x0102_0304),
            sequence: Some(7),
        }
    }

    #[test]
    fn static_checksum_is_right() {
        let mut b = FULL;
        b[4..6].fill(0);
        assert_eq!(checksum::compute(0, &b), 0x48fc);
    }

    #[test]
    fn parse_full() {
        let h = GreHeader::new_checked(&FULL[..]).unwrap();
        assert!(h.checksum_present() && h.key_present() && h.sequence_present());
        assert!(!h.routing_present());
        assert_eq!(h.version(), 0);
        assert_eq!(h.reserved0(), 0);
        assert_eq!(h.header_len(), 16);
        assert_eq!(h.protocol_type(), EtherType::TransparentEthernet);
        assert_eq!(h.checksum(), Some(0x48fc));
        assert_eq!(h.reserved1(), Some(0));
        assert_eq!(h.key(), Some(0x0102_0304));
        assert_eq!(h.sequence(), Some(7));
        assert!(h.verify_checksum());
        assert_eq!(h.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(GreRepr::parse(&h).unwrap(), full_repr());
    }

    #[test]
    fn parse_key_only() {
        let h = GreHeader::new_checked(&KEY_ONLY[..]).unwrap();
        assert_eq!(h.header_len(), 8);
        assert_eq!(h.checksum(), None);
        assert_eq!(h.reserved1(), None);
        assert_eq!(h.sequence(), None);
        assert_eq!(h.payload(), &[0x45, 0x00]);
        let r = GreRepr::parse(&h).unwrap();
        assert_eq!(
            r,
            GreRepr {
                checksum_present: false,
                protocol: EtherType::Ipv4,
                key: Some(0xcafe_f00d),
                sequence: None,
            }
        );
    }

    #[test]
    fn sequence_without_key_sits_after_checksum() {
        let bytes = [0x90, 0x00, 0x86, 0xdd, 0, 0, 0, 0, 0x00, 0x00, 0x01, 0x00];
        let mut buf = bytes;
        let mut h = GreHeader::new_checked(&mut buf[..]).unwrap();
        h.fill_checksum();
        assert_eq!(h.sequence(), Some(0x100));
        assert_eq!(h.key(), None);
        let r = GreRepr::parse(&h).unwrap();
        assert_eq!(r.sequence, Some(0x100));
        assert_eq!(r.buffer_len(), 12);
    }

    #[test]
    fn emit_full_writes_every_byte() {
        let mut buf = poisoned(FULL.len());
        buf[16..].copy_from_slice(&FULL[16..]);
        full_repr().emit(&mut GreHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &FULL[..]);
    }

    #[test]
    fn emit_key_only_writes_every_byte() {
        let r = GreRepr::parse(&GreHeader::new_checked(&KEY_ONLY[..]).unwrap()).unwrap();
        assert_eq!(r.buffer_len(), 8);
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut GreHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &KEY_ONLY[..8]);
    }

    #[test]
    fn minimal_header() {
        let bytes = [0x00, 0x00, 0x12, 0x34];
        let r = GreRepr::parse(&GreHeader::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(r.protocol, EtherType::Unknown(0x1234));
        assert_eq!(r.buffer_len(), 4);
        let mut buf = poisoned(4);
        r.emit(&mut GreHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, bytes);
    }

    #[test]
    fn reserved_bits_are_ignored() {
        let mut bytes = KEY_ONLY;
        bytes[0] |= 0x03;
        bytes[1] |= 0xf8;
        let h = GreHeader::new_checked(&bytes[..]).unwrap();
        assert_eq!(h.reserved0(), 0x03f8);
        assert_eq!(h.version(), 0);
        assert_eq!(GreRepr::parse(&h).unwrap().key, Some(0xcafe_f00d));
    }

    #[test]
    fn truncated_base() {
        for len in 0..BASE_HEADER_LEN {
            assert_eq!(
                GreHeader::new_checked(&FULL[..len]).unwrap_err(),
                Error::Truncated
            );
            let h = GreHeader::new_unchecked(&FULL[..len]);
            assert_eq!(GreRepr::parse(&h).unwrap_err(), Error::Truncated);
        }
    }

    #[test]
    fn truncated_optional_fields() {
        // Short of the checksum, the key and the sequence number in turn.
        for len in BASE_HEADER_LEN..16 {
            assert_eq!(
                GreHeader::new_checked(&FULL[..len]).unwrap_err(),
                Error::Truncated
            );
            let h = GreHeader::new_unchecked(&FULL[..len]);
            assert_eq!(GreRepr::parse(&h).unwrap_err(), Error::Truncated);
        }
        for len in BASE_HEADER_LEN..8 {
            assert_eq!(
                GreHeader::new_checked(&KEY_ONLY[..len]).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn pptp_version_is_unrecognized() {
        // Enhanced GRE: K set, version 1, PPP protocol.
        let bytes = [0x30, 0x81, 0x88, 0x0b, 0x00, 0x10];
        let h = GreHeader::new_unchecked(&bytes[..]);
        assert_eq!(h.version(), 1);
        assert_eq!(GreRepr::parse(&h).unwrap_err(), Error::Unrecognized);
    }

    #[test]
    fn other_versions_are_malformed() {
        for v in 2..8u8 {
            let mut bytes = KEY_ONLY;
            bytes[1] = v;
            let h = GreHeader::new_checked(&bytes[..]).unwrap();
            assert_eq!(GreRepr::parse(&h).unwrap_err(), Error::Malformed);
        }
    }

    #[test]
    fn rfc1701_bits_are_unrecognized() {
        for bit in [FLAG_R, FLAG_STRICT_ROUTE, FLAG_RECURSION] {
            let mut bytes = KEY_ONLY;
            bytes[0] |= (bit >> 8) as u8;
            let h = GreHeader::new_checked(&bytes[..]).unwrap();
            assert_eq!(GreRepr::parse(&h).unwrap_err(), Error::Unrecognized);
        }
    }

    #[test]
    fn bad_checksum() {
        let mut bytes = FULL;
        bytes[19] ^= 0x01; // payload byte
        let h = GreHeader::new_checked(&bytes[..]).unwrap();
        assert!(!h.verify_checksum());
        assert_eq!(GreRepr::parse(&h).unwrap_err(), Error::Checksum);
    }

    #[test]
    fn setters() {
        let mut buf = poisoned(FULL.len());
        buf[16..].copy_from_slice(&FULL[16..]);
        let mut h = GreHeader::new_unchecked(&mut buf[..]);
        h.set_flags_version(0);
        h.set_checksum_present(true);
        h.set_key_present(true);
        h.set_sequence_present(true);
        h.set_version(0);
        h.set_reserved0(0x03f8);
        h.set_reserved0(0);
        h.set_protocol_type(EtherType::TransparentEthernet);
        h.set_reserved1(0);
        h.set_key(0x0102_0304);
        h.set_sequence(7);
        h.fill_checksum();
        assert_eq!(&h.payload_mut()[..], &FULL[16..]);
        assert_eq!(&buf[..], &FULL[..]);
    }

    #[test]
    fn accessors_clamp_after_flags_change() {
        let mut buf = KEY_ONLY;
        let mut h = GreHeader::new_checked(&mut buf[..]).unwrap();
        h.set_checksum_present(true);
        h.set_sequence_present(true);
        assert!(h.payload().is_empty());
        assert!(h.payload_mut().is_empty());
    }

    proptest! {
        #[test]
        fn repr_round_trips(
            checksum_present in any::<bool>(),
            protocol in any::<u16>(),
            key in any::<Option<u32>>(),
            sequence in any::<Option<u32>>(),
            payload in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let r = GreRepr {
                checksum_present,
                protocol: EtherType::from(protocol),
                key,
                sequence,
            };
            let mut buf = poisoned(r.buffer_len());
            buf.extend_from_slice(&payload);
            r.emit(&mut GreHeader::new_unchecked(&mut buf[..]));
            let h = GreHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(h.header_len(), r.buffer_len());
            prop_assert_eq!(h.payload(), &payload[..]);
            prop_assert!(h.verify_checksum());
            prop_assert_eq!(GreRepr::parse(&h).unwrap(), r);
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(h) = GreHeader::new_checked(&bytes[..]) {
                let _ = (h.flags_version(), h.reserved0(), h.version(), h.protocol_type());
                let _ = (h.checksum(), h.reserved1(), h.key(), h.sequence());
                let _ = (h.verify_checksum(), h.payload());
                if let Ok(r) = GreRepr::parse(&h) {
                    prop_assert_eq!(r.buffer_len(), h.header_len());
                }
            }
            let _ = GreRepr::parse(&GreHeader::new_unchecked(&bytes[..]));
        }
    }
}
