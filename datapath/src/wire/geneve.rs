//! Geneve (RFC 8926): the variable-length tunnel header that follows UDP
//! (port [`UDP_PORT`]).
//!
//! ```text
//!  byte 0             byte 1              bytes 2..4
//! [Ver(2)|OptLen(6)] [O|C|Rsvd(6)]       [protocol type (EtherType)]
//! [VNI (24 bits)                 ]       [reserved (8 bits)]
//! [options: OptLen * 4 bytes, 0..=252                                ]
//! ```
//!
//! Each option is a 4-byte header (class `u16`, type `u8` whose high bit is
//! the "critical" bit, 3 reserved bits and a 5-bit length in 4-byte units)
//! followed by its data (0..=124 bytes).
//!
//! Invariants: once [`GeneveHeader::check_len`] succeeds the buffer holds the
//! fixed header and the whole options area, and no getter panics.
//! [`GeneveRepr::parse`] also requires version 0 and an options area that is
//! an exact sequence of well-formed options ([`Error::Malformed`] otherwise).
//! [`GeneveOptionIter`] never panics on any bytes: it yields an error once and
//! then stops when an option runs past the end of the area.
//!
//! Reserved bits are kept as received, and options are kept as raw bytes, so a
//! header round-trips byte for byte.

use super::{Error, EtherType, Field, Result, be};
use core::fmt;

/// The IANA-assigned UDP destination port for Geneve.
pub const UDP_PORT: u16 = 6081;

/// Length of the fixed part of the header.
pub const HEADER_LEN: usize = 8;
/// Largest options area (a 6-bit length in 4-byte units).
pub const MAX_OPTIONS_LEN: usize = 63 * 4;
/// Length of an option's own header.
pub const OPTION_HEADER_LEN: usize = 4;
/// Largest data of one option (a 5-bit length in 4-byte units).
pub const MAX_OPTION_DATA_LEN: usize = 31 * 4;
/// Largest VNI (24 bits).
pub const VNI_MAX: u32 = 0x00ff_ffff;

/// Byte 1: OAM packet ("O").
pub const FLAG_OAM: u8 = 0x80;
/// Byte 1: critical options present ("C").
pub const FLAG_CRITICAL: u8 = 0x40;
/// Option type: the critical bit.
pub const OPTION_TYPE_CRITICAL: u8 = 0x80;

mod field {
    use super::Field;
    /// Version (high 2 bits), options length (low 6 bits).
    pub const VER_OPTLEN: usize = 0;
    /// O, C flags and 6 reserved bits.
    pub const FLAGS: usize = 1;
    pub const PROTOCOL: Field = 2..4;
    pub const VNI: Field = 4..7;
    pub const RESERVED: usize = 7;
    pub const OPTIONS_START: usize = 8;

    // Inside one option.
    pub const OPT_CLASS: Field = 0..2;
    pub const OPT_TYPE: usize = 2;
    /// 3 reserved bits (high) and the length (low 5 bits).
    pub const OPT_LEN: usize = 3;
}

const RESERVED_FLAGS_MASK: u8 = 0x3f;

/// A view over a Geneve header, its options and the payload after them.
#[derive(Debug, Clone)]
pub struct GeneveHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GeneveHeader<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> GeneveHeader<T> {
        GeneveHeader { buffer }
    }

    /// Wraps `buffer` and checks that it holds the header and its options.
    pub fn new_checked(buffer: T) -> Result<GeneveHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the
    /// fixed header or than the options area its length field announces.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < self.header_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the header including options: `8 + options_len()`.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options_len()
    }

    /// The version (2 bits; only 0 is defined).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_OPTLEN] >> 6
    }

    /// The raw 6-bit options length field, in 4-byte units.
    #[inline]
    pub fn opt_len(&self) -> u8 {
        self.buffer.as_ref()[field::VER_OPTLEN] & 0x3f
    }

    /// Length of the options area in bytes.
    #[inline]
    pub fn options_len(&self) -> usize {
        usize::from(self.opt_len()) * 4
    }

    /// The O flag: this is an OAM (control) packet.
    #[inline]
    pub fn oam(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & FLAG_OAM != 0
    }

    /// The C flag: at least one critical option is present.
    #[inline]
    pub fn critical(&self) -> bool {
        self.buffer.as_ref()[field::FLAGS] & FLAG_CRITICAL != 0
    }

    /// The 6 reserved bits after O and C (in the low bits).
    #[inline]
    pub fn reserved_flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS] & RESERVED_FLAGS_MASK
    }

    /// The EtherType of the payload (`TransparentEthernet` for Ethernet).
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(be::u16(&self.buffer.as_ref()[field::PROTOCOL]))
    }

    /// The 24-bit virtual network identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        be::u24(&self.buffer.as_ref()[field::VNI])
    }

    /// The reserved byte after the VNI.
    #[inline]
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::RESERVED]
    }

    /// The options area. Clamped to the buffer, so it cannot panic even if a
    /// setter enlarged the length field after the check.
    #[inline]
    pub fn options(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.header_len().min(b.len());
        &b[field::OPTIONS_START.min(end)..end]
    }

    /// An iterator over the options.
    #[inline]
    pub fn options_iter(&self) -> GeneveOptionIter<'_> {
        GeneveOptionIter::new(self.options())
    }

    /// Everything after the options.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[self.header_len().min(b.len())..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GeneveHeader<T> {
    /// Sets the version (low 2 bits of `value`).
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_OPTLEN];
        *b = (*b & 0x3f) | ((value & 0x03) << 6);
    }

    /// Sets the raw options length field (low 6 bits of `value`, 4-byte units).
    #[inline]
    pub fn set_opt_len(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_OPTLEN];
        *b = (*b & 0xc0) | (value & 0x3f);
    }

    /// Sets the O flag.
    #[inline]
    pub fn set_oam(&mut self, value: bool) {
        self.set_flag(FLAG_OAM, value)
    }

    /// Sets the C flag.
    #[inline]
    pub fn set_critical(&mut self, value: bool) {
        self.set_flag(FLAG_CRITICAL, value)
    }

    /// Sets the 6 reserved bits after O and C (low 6 bits of `value`).
    #[inline]
    pub fn set_reserved_flags(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::FLAGS];
        *b = (*b & !RESERVED_FLAGS_MASK) | (value & RESERVED_FLAGS_MASK);
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: EtherType) {
        be::put_u16(&mut self.buffer.as_mut()[field::PROTOCOL], value.into())
    }

    /// Sets the VNI; only the low 24 bits of `value` are written.
    #[inline]
    pub fn set_vni(&mut self, value: u32) {
        be::put_u24(&mut self.buffer.as_mut()[field::VNI], value & VNI_MAX)
    }

    /// Sets the reserved byte after the VNI.
    #[inline]
    pub fn set_reserved(&mut self, value: u8) {
        self.buffer.as_mut()[field::RESERVED] = value
    }

    /// The options area, mutable (sized by the current length field).
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len().min(self.buffer.as_ref().len());
        &mut self.buffer.as_mut()[field::OPTIONS_START.min(end)..end]
    }

    /// Everything after the options, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len().min(self.buffer.as_ref().len());
        &mut self.buffer.as_mut()[start..]
    }

    fn set_flag(&mut self, mask: u8, value: bool) {
        let b = &mut self.buffer.as_mut()[field::FLAGS];
        if value { *b |= mask } else { *b &= !mask }
    }
}

/// One option, borrowed from an options area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneveOption<'a> {
    /// The option class (namespace of `option_type`).
    pub class: u16,
    /// The type, including the critical bit ([`OPTION_TYPE_CRITICAL`]).
    pub option_type: u8,
    /// The 3 reserved bits before the length (in the low bits).
    pub reserved: u8,
    /// The option data (a multiple of 4 bytes, at most
    /// [`MAX_OPTION_DATA_LEN`]).
    pub data: &'a [u8],
}

impl GeneveOption<'_> {
    /// True when the receiver must drop the packet if it does not know the
    /// option.
    #[inline]
    pub fn is_critical(&self) -> bool {
        self.option_type & OPTION_TYPE_CRITICAL != 0
    }

    /// Bytes the option occupies, header included.
    #[inline]
    pub fn wire_len(&self) -> usize {
        OPTION_HEADER_LEN + self.data.len()
    }
}

/// Iterator over the options in an options area.
///
/// Yields `Err(Error::Malformed)` once, then stops, when an option header or
/// its data runs past the end of the area. Never panics.
#[derive(Debug, Clone)]
pub struct GeneveOptionIter<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> GeneveOptionIter<'a> {
    /// Iterates over the options in `area` (the bytes after the fixed header,
    /// as long as the header's options length says).
    pub const fn new(area: &'a [u8]) -> GeneveOptionIter<'a> {
        GeneveOptionIter {
            rest: area,
            failed: false,
        }
    }
}

impl<'a> Iterator for GeneveOptionIter<'a> {
    type Item = Result<GeneveOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let r = self.rest;
        if r.len() < OPTION_HEADER_LEN {
            self.failed = true;
            return Some(Err(Error::Malformed));
        }
        let len_byte = r[field::OPT_LEN];
        let total = OPTION_HEADER_LEN + usize::from(len_byte & 0x1f) * 4;
        let Some(data) = r.get(OPTION_HEADER_LEN..total) else {
            self.failed = true;
            return Some(Err(Error::Malformed));
        };
        self.rest = &r[total..];
        Some(Ok(GeneveOption {
            class: be::u16(&r[field::OPT_CLASS]),
            option_type: r[field::OPT_TYPE],
            reserved: len_byte >> 5,
            data,
        }))
    }
}

impl core::iter::FusedIterator for GeneveOptionIter<'_> {}

/// A Geneve options area held inline (no heap): up to [`MAX_OPTIONS_LEN`]
/// bytes of raw, well-formed options.
///
/// Chosen over a borrowed slice so that [`GeneveRepr`] is `'static` and can be
/// stored in flow keys and tunnel metadata without tying them to the packet
/// buffer. Invariant: the used length is a multiple of 4, the bytes are an
/// exact sequence of options, and the unused tail is zero.
#[derive(Clone, Copy)]
pub struct GeneveOptions {
    len: u8,
    bytes: [u8; MAX_OPTIONS_LEN],
}

impl GeneveOptions {
    /// No options.
    pub const EMPTY: GeneveOptions = GeneveOptions {
        len: 0,
        bytes: [0; MAX_OPTIONS_LEN],
    };

    /// No options.
    pub const fn new() -> GeneveOptions {
        Self::EMPTY
    }

    /// Copies a raw options area. Fails with [`Error::Malformed`] when it is
    /// longer than [`MAX_OPTIONS_LEN`], not a multiple of 4, or not an exact
    /// sequence of options.
    pub fn from_bytes(area: &[u8]) -> Result<GeneveOptions> {
        if area.len() > MAX_OPTIONS_LEN || !area.len().is_multiple_of(4) {
            return Err(Error::Malformed);
        }
        for opt in GeneveOptionIter::new(area) {
            opt?;
        }
        let mut o = Self::EMPTY;
        o.bytes[..area.len()].copy_from_slice(area);
        o.len = area.len() as u8;
        Ok(o)
    }

    /// Appends an option. Fails with [`Error::Malformed`] when `data` is not a
    /// multiple of 4 bytes, longer than [`MAX_OPTION_DATA_LEN`], or does not
    /// fit; the options are unchanged then. Only the low 3 bits of `reserved`
    /// are used.
    pub fn push(&mut self, class: u16, option_type: u8, reserved: u8, data: &[u8]) -> Result<()> {
        let used = self.len();
        let total = OPTION_HEADER_LEN + data.len();
        if data.len() > MAX_OPTION_DATA_LEN
            || !data.len().is_multiple_of(4)
            || used + total > MAX_OPTIONS_LEN
        {
            return Err(Error::Malformed);
        }
        let o = &mut self.bytes[used..used + total];
        be::put_u16(&mut o[field::OPT_CLASS], class);
        o[field::OPT_TYPE] = option_type;
        o[field::OPT_LEN] = ((reserved & 0x07) << 5) | (data.len() / 4) as u8;
        o[OPTION_HEADER_LEN..].copy_from_slice(data);
        self.len = (used + total) as u8;
        Ok(())
    }

    /// The raw options area.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len()]
    }

    /// Length of the options area in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len).min(MAX_OPTIONS_LEN)
    }

    /// True when there are no options.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An iterator over the options.
    #[inline]
    pub fn iter(&self) -> GeneveOptionIter<'_> {
        GeneveOptionIter::new(self.as_bytes())
    }
}

impl Default for GeneveOptions {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl PartialEq for GeneveOptions {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for GeneveOptions {}

impl core::hash::Hash for GeneveOptions {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl fmt::Debug for GeneveOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The validated value form of a Geneve header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneveRepr {
    /// The O flag.
    pub oam: bool,
    /// The C flag (kept as received, not recomputed from the options).
    pub critical: bool,
    /// The 6 reserved flag bits, as received (low bits).
    pub reserved_flags: u8,
    /// The payload's EtherType.
    pub protocol: EtherType,
    /// The VNI; at most [`VNI_MAX`].
    pub vni: u32,
    /// The reserved byte after the VNI, as received.
    pub reserved: u8,
    /// The options, as raw bytes.
    pub options: GeneveOptions,
}

impl GeneveRepr {
    /// Parses a checked view. Fails with [`Error::Malformed`] for a version
    /// other than 0 or an option running past the options area.
    pub fn parse<T: AsRef<[u8]>>(header: &GeneveHeader<T>) -> Result<GeneveRepr> {
        header.check_len()?;
        if header.version() != 0 {
            return Err(Error::Malformed);
        }
        Ok(GeneveRepr {
            oam: header.oam(),
            critical: header.critical(),
            reserved_flags: header.reserved_flags(),
            protocol: header.protocol_type(),
            vni: header.vni(),
            reserved: header.reserved(),
            options: GeneveOptions::from_bytes(header.options())?,
        })
    }

    /// Bytes `emit` writes: the fixed header plus the options.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Writes the header and options into `header`, whose buffer must be at
    /// least [`buffer_len`](Self::buffer_len) bytes long. Writes version 0 and
    /// only the low 24 bits of `vni`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut GeneveHeader<T>) {
        let opts = self.options.as_bytes();
        header.set_version(0);
        header.set_opt_len((opts.len() / 4) as u8);
        header.set_reserved_flags(self.reserved_flags);
        header.set_oam(self.oam);
        header.set_critical(self.critical);
        header.set_protocol_type(self.protocol);
        header.set_vni(self.vni);
        header.set_reserved(self.reserved);
        header.options_mut().copy_from_slice(opts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    static PACKET: [u8; 30] = [
        0x04, // version 0, opt len 4 (16 bytes)
        0x40, // C
        0x65, 0x58, // transparent Ethernet
        0x00, 0x0a, 0xbc, 0x00, // VNI 0xabc, reserved
        // option 1: class 0x0102, type 0x80 (critical), length 1
        0x01, 0x02, 0x80, 0x01, //
        0x11, 0x22, 0x33, 0x44, //
        // option 2: class 0xffff, type 0x05, reserved bits 0b101, length 0
        0xff, 0xff, 0x05, 0xa0, //
        // option 3: class 0x0000, type 0x7f, length 0
        0x00, 0x00, 0x7f, 0x00, //
        // payload
        0xde, 0xad, 0xbe, 0xef, 0x00, 0x01,
    ];

    fn repr() -> GeneveRepr {
        let mut options = GeneveOptions::new();
        options
            .push(0x0102, 0x80, 0, &[0x11, 0x22, 0x33, 0x44])
            .unwrap();
        options.push(0xffff, 0x05, 0b101, &[]).unwrap();
        options.push(0x0000, 0x7f, 0, &[]).unwrap();
        GeneveRepr {
            oam: false,
            critical: true,
            reserved_flags: 0,
            protocol: EtherType::TransparentEthernet,
            vni: 0xabc,
            reserved: 0,
            options,
        }
    }

    #[test]
    fn parse() {
        let h = GeneveHeader::new_checked(&PACKET[..]).unwrap();
        assert_eq!(h.version(), 0);
        assert_eq!(h.opt_len(), 4);
        assert_eq!(h.options_len(), 16);
        assert_eq!(h.header_len(), 24);
        assert!(!h.oam());
        assert!(h.critical());
        assert_eq!(h.reserved_flags(), 0);
        assert_eq!(h.protocol_type(), EtherType::TransparentEthernet);
        assert_eq!(h.vni(), 0xabc);
        assert_eq!(h.reserved(), 0);
        assert_eq!(h.options(), &PACKET[8..24]);
        assert_eq!(h.payload(), &PACKET[24..]);

        let opts: Vec<_> = h.options_iter().map(|o| o.unwrap()).collect();
        assert_eq!(opts.len(), 3);
        assert_eq!(opts[0].class, 0x0102);
        assert_eq!(opts[0].option_type, 0x80);
        assert!(opts[0].is_critical());
        assert_eq!(opts[0].data, &[0x11, 0x22, 0x33, 0x44]);
        assert_eq!(opts[0].wire_len(), 8);
        assert_eq!(opts[1].class, 0xffff);
        assert_eq!(opts[1].reserved, 0b101);
        assert!(!opts[1].is_critical());
        assert!(opts[1].data.is_empty());
        assert_eq!(opts[2].option_type, 0x7f);

        assert_eq!(GeneveRepr::parse(&h).unwrap(), repr());
    }

    #[test]
    fn emit_writes_every_byte() {
        let r = repr();
        assert_eq!(r.buffer_len(), 24);
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut GeneveHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &PACKET[..24]);
    }

    #[test]
    fn no_options() {
        let bytes = [0x00, 0x80, 0x08, 0x00, 0xff, 0xff, 0xff, 0x00];
        let h = GeneveHeader::new_checked(&bytes[..]).unwrap();
        assert!(h.oam());
        assert_eq!(h.options_iter().count(), 0);
        let r = GeneveRepr::parse(&h).unwrap();
        assert!(r.options.is_empty());
        assert_eq!(r.protocol, EtherType::Ipv4);
        assert_eq!(r.vni, VNI_MAX);
        let mut buf = poisoned(HEADER_LEN);
        r.emit(&mut GeneveHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, bytes);
    }

    #[test]
    fn unknown_values_round_trip() {
        // Reserved flag bits, unknown protocol, reserved byte.
        let bytes = [0x00, 0xbf, 0x12, 0x34, 0x00, 0x00, 0x01, 0x99];
        let r = GeneveRepr::parse(&GeneveHeader::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(r.protocol, EtherType::Unknown(0x1234));
        assert_eq!(r.reserved_flags, 0x3f);
        assert_eq!(r.reserved, 0x99);
        let mut buf = poisoned(HEADER_LEN);
        r.emit(&mut GeneveHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, bytes);
    }

    #[test]
    fn truncated_fixed_header() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                GeneveHeader::new_checked(&PACKET[..len]).unwrap_err(),
                Error::Truncated
            );
            let h = GeneveHeader::new_unchecked(&PACKET[..len]);
            assert_eq!(GeneveRepr::parse(&h).unwrap_err(), Error::Truncated);
        }
    }

    #[test]
    fn truncated_options() {
        for len in HEADER_LEN..24 {
            assert_eq!(
                GeneveHeader::new_checked(&PACKET[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        assert!(GeneveHeader::new_checked(&PACKET[..24]).is_ok());
    }

    #[test]
    fn bad_version() {
        for v in 1..4u8 {
            let mut bytes = PACKET;
            bytes[0] |= v << 6;
            let h = GeneveHeader::new_checked(&bytes[..]).unwrap();
            assert_eq!(h.version(), v);
            assert_eq!(GeneveRepr::parse(&h).unwrap_err(), Error::Malformed);
        }
    }

    #[test]
    fn option_overflow() {
        // Option 2 claims 4 data bytes, but only option 3's header follows.
        let mut bytes = PACKET;
        bytes[19] = 0xa2;
        let h = GeneveHeader::new_checked(&bytes[..]).unwrap();
        let items: Vec<_> = h.options_iter().collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1], Err(Error::Malformed));
        assert_eq!(GeneveRepr::parse(&h).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn option_overflow_past_area_into_payload() {
        // Area is 16 bytes; the first option claims 31 * 4 data bytes, which
        // the buffer could not hold either.
        let mut bytes = PACKET;
        bytes[11] = 0x1f;
        let h = GeneveHeader::new_checked(&bytes[..]).unwrap();
        let mut it = h.options_iter();
        assert_eq!(it.next(), Some(Err(Error::Malformed)));
        assert_eq!(it.next(), None);
        assert_eq!(GeneveRepr::parse(&h).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn partial_option_header() {
        let mut it = GeneveOptionIter::new(&[0x00, 0x01, 0x02]);
        assert_eq!(it.next(), Some(Err(Error::Malformed)));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn options_from_bytes_rejects_bad_areas() {
        assert_eq!(GeneveOptions::from_bytes(&[0; 3]), Err(Error::Malformed));
        assert_eq!(
            GeneveOptions::from_bytes(&[0; MAX_OPTIONS_LEN + 4]),
            Err(Error::Malformed)
        );
        assert_eq!(
            GeneveOptions::from_bytes(&[0, 0, 0, 1]),
            Err(Error::Malformed)
        );
        assert_eq!(
            GeneveOptions::from_bytes(&[0; MAX_OPTIONS_LEN])
                .unwrap()
                .len(),
            MAX_OPTIONS_LEN
        );
    }

    #[test]
    fn push_limits() {
        let mut o = GeneveOptions::new();
        assert_eq!(o.push(1, 2, 0, &[0; 3]), Err(Error::Malformed));
        assert_eq!(
            o.push(1, 2, 0, &[0; MAX_OPTION_DATA_LEN + 4]),
            Err(Error::Malformed)
        );
        o.push(1, 2, 0, &[0; MAX_OPTION_DATA_LEN]).unwrap();
        // 128 bytes used: a second largest option does not fit, and is not added.
        assert_eq!(
            o.push(1, 2, 0, &[0; MAX_OPTION_DATA_LEN]),
            Err(Error::Malformed)
        );
        assert_eq!(o.len(), 4 + MAX_OPTION_DATA_LEN);
        o.push(1, 2, 0, &[0; MAX_OPTION_DATA_LEN - 8]).unwrap();
        assert_eq!(o.len(), MAX_OPTIONS_LEN - 4);
        assert_eq!(o.push(1, 2, 0, &[]), Ok(()));
        assert_eq!(o.len(), MAX_OPTIONS_LEN);
        assert_eq!(o.push(1, 2, 0, &[]), Err(Error::Malformed));
        assert_eq!(o.iter().count(), 3);
    }

    #[test]
    fn largest_header_round_trips() {
        let mut r = repr();
        r.options = GeneveOptions::new();
        r.options
            .push(7, 8, 0, &[0x5a; MAX_OPTION_DATA_LEN])
            .unwrap();
        r.options
            .push(9, 10, 0, &[0x3c; MAX_OPTION_DATA_LEN - 8])
            .unwrap();
        r.options.push(11, 12, 0, &[]).unwrap();
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut GeneveHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf[0], 63);
        let h = GeneveHeader::new_checked(&buf[..]).unwrap();
        assert_eq!(GeneveRepr::parse(&h).unwrap(), r);
    }

    #[test]
    fn setters() {
        let mut buf = poisoned(24);
        let mut h = GeneveHeader::new_unchecked(&mut buf[..]);
        h.set_version(0);
        h.set_opt_len(4);
        h.set_reserved_flags(0);
        h.set_oam(true);
        h.set_oam(false);
        h.set_critical(true);
        h.set_protocol_type(EtherType::TransparentEthernet);
        h.set_vni(0xff00_0abc);
        h.set_reserved(0);
        h.options_mut().copy_from_slice(&PACKET[8..24]);
        assert!(h.payload_mut().is_empty());
        assert_eq!(&buf[..], &PACKET[..24]);
    }

    #[test]
    fn accessors_clamp_after_length_field_grows() {
        let mut buf = PACKET;
        let mut h = GeneveHeader::new_checked(&mut buf[..]).unwrap();
        h.set_opt_len(63);
        assert_eq!(h.options().len(), PACKET.len() - HEADER_LEN);
        assert!(h.payload().is_empty());
        assert!(h.options_mut().len() <= PACKET.len());
        let _ = h.options_iter().count();
    }

    fn options_strategy() -> impl Strategy<Value = GeneveOptions> {
        prop::collection::vec(
            (
                any::<u16>(),
                any::<u8>(),
                0u8..8,
                prop::collection::vec(any::<u8>(), 0..=31).prop_map(|mut v| {
                    v.truncate(v.len() / 4 * 4);
                    v
                }),
            ),
            0..10,
        )
        .prop_map(|opts| {
            let mut o = GeneveOptions::new();
            for (class, ty, rsv, data) in opts {
                let _ = o.push(class, ty, rsv, &data);
            }
            o
        })
    }

    proptest! {
        #[test]
        fn repr_round_trips(
            oam in any::<bool>(),
            critical in any::<bool>(),
            reserved_flags in 0u8..64,
            protocol in any::<u16>(),
            vni in 0..=VNI_MAX,
            reserved in any::<u8>(),
            options in options_strategy(),
            payload in prop::collection::vec(any::<u8>(), 0..8),
        ) {
            let r = GeneveRepr {
                oam,
                critical,
                reserved_flags,
                protocol: EtherType::from(protocol),
                vni,
                reserved,
                options,
            };
            let mut buf = poisoned(r.buffer_len());
            buf.extend_from_slice(&payload);
            r.emit(&mut GeneveHeader::new_unchecked(&mut buf[..]));
            let h = GeneveHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(h.header_len(), r.buffer_len());
            prop_assert_eq!(h.payload(), &payload[..]);
            prop_assert_eq!(GeneveRepr::parse(&h).unwrap(), r);
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(h) = GeneveHeader::new_checked(&bytes[..]) {
                let _ = (h.version(), h.opt_len(), h.oam(), h.critical());
                let _ = (h.reserved_flags(), h.protocol_type(), h.vni(), h.reserved());
                let _ = (h.options(), h.payload());
                for opt in h.options_iter() {
                    let _ = opt;
                }
                if let Ok(r) = GeneveRepr::parse(&h) {
                    let mut buf = poisoned(r.buffer_len());
                    r.emit(&mut GeneveHeader::new_unchecked(&mut buf[..]));
                    prop_assert_eq!(&buf[..], &bytes[..h.header_len()]);
                }
            }
            let _ = GeneveRepr::parse(&GeneveHeader::new_unchecked(&bytes[..]));
            prop_assert!(GeneveOptionIter::new(&bytes).count() <= bytes.len() / 4 + 1);
            let _ = GeneveOptions::from_bytes(&bytes);
        }
    }
}
