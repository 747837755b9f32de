//! IPv4 headers (RFC 791), options included.
//!
//! Invariants a checked [`Ipv4Packet`] guarantees: the buffer holds at least
//! 20 bytes, `version == 4`, `ihl >= 5`, and
//! `header_len <= total_len <= buffer.len()`. The payload is bounded by
//! `total_len`, never by the buffer alone (Ethernet padding is not payload).
//!
//! [`Ipv4Repr`] keeps options in a fixed 40-byte array ([`Ipv4Options`]) so
//! the `Repr` stays `Copy` and lifetime-free; 40 bytes is the most an IPv4
//! header can carry. `Ipv4Repr::parse` verifies the header checksum and
//! `Ipv4Repr::emit` fills it.

use super::{Error, Field, IpProtocol, Result, be, checksum};
use core::fmt;

/// A four-octet IPv4 address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ipv4Address(pub [u8; 4]);

impl Ipv4Address {
    /// `0.0.0.0`.
    pub const UNSPECIFIED: Ipv4Address = Ipv4Address([0; 4]);
    /// `255.255.255.255`.
    pub const BROADCAST: Ipv4Address = Ipv4Address([0xff; 4]);

    /// Builds an address from the first four bytes of `data`.
    ///
    /// # Panics
    /// When `data` is shorter than four bytes.
    pub fn from_bytes(data: &[u8]) -> Ipv4Address {
        Ipv4Address([data[0], data[1], data[2], data[3]])
    }

    /// The address bytes.
    pub const fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }

    /// The address as a host-order integer.
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// The address for a host-order integer.
    pub const fn from_u32(v: u32) -> Ipv4Address {
        Ipv4Address(v.to_be_bytes())
    }

    /// True for `0.0.0.0`.
    pub fn is_unspecified(&self) -> bool {
        self.0 == [0; 4]
    }

    /// True for `255.255.255.255`.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// True for `224.0.0.0/4`.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0xf0 == 0xe0
    }

    /// True for `127.0.0.0/8`.
    pub fn is_loopback(&self) -> bool {
        self.0[0] == 127
    }
}

impl From<[u8; 4]> for Ipv4Address {
    fn from(b: [u8; 4]) -> Self {
        Ipv4Address(b)
    }
}

impl From<Ipv4Address> for [u8; 4] {
    fn from(a: Ipv4Address) -> Self {
        a.0
    }
}

impl From<core::net::Ipv4Addr> for Ipv4Address {
    fn from(a: core::net::Ipv4Addr) -> Self {
        Ipv4Address(a.octets())
    }
}

impl From<Ipv4Address> for core::net::Ipv4Addr {
    fn from(a: Ipv4Address) -> Self {
        core::net::Ipv4Addr::from(a.0)
    }
}

impl fmt::Display for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(f, "{}.{}.{}.{}", b[0], b[1], b[2], b[3])
    }
}

impl fmt::Debug for Ipv4Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl core::str::FromStr for Ipv4Address {
    type Err = Error;

    /// Parses dotted-quad decimal (`192.0.2.1`). Each octet is one to three
    /// digits, at most 255, without leading zeros (so `010` is rejected
    /// rather than guessed as octal).
    fn from_str(s: &str) -> Result<Self> {
        let mut out = [0u8; 4];
        let mut parts = s.split('.');
        for o in out.iter_mut() {
            let p = parts.next().ok_or(Error::Malformed)?;
            let ok = !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|c| c.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0'));
            if !ok {
                return Err(Error::Malformed);
            }
            *o = p.parse::<u8>().map_err(|_| Error::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(Error::Malformed);
        }
        Ok(Ipv4Address(out))
    }
}

mod field {
    use super::Field;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
    pub const OPTIONS: usize = 20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// Largest IPv4 header (`ihl == 15`).
pub const MAX_HEADER_LEN: usize = 60;
/// Largest options area.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

const FLAG_RESERVED: u16 = 0x8000;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view over an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the invariants listed in the module documentation.
    ///
    /// [`Error::Truncated`] when the buffer is shorter than 20 bytes, than
    /// the header or than `total_len`; [`Error::Malformed`] when the version
    /// is not 4, `ihl < 5` or `total_len < header_len` (checked first: they
    /// are visible in the first 20 bytes).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 || self.ihl() < 5 {
            return Err(Error::Malformed);
        }
        let header_len = self.header_len();
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::Malformed);
        }
        if len < header_len || len < total_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 once checked).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The IHL field: header length in 32-bit words.
    #[inline]
    pub fn ihl(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] & 0x0f
    }

    /// Header length in bytes, options included (20..=60 once checked).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }

    /// Differentiated services code point (6 bits).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification (2 bits).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// The total length field: header plus payload, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// The identification field.
    #[inline]
    pub fn ident(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::IDENT])
    }

    #[inline]
    fn flags_word(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::FLG_OFF])
    }

    /// The reserved (must be zero) flag bit.
    #[inline]
    pub fn reserved_flag(&self) -> bool {
        self.flags_word() & FLAG_RESERVED != 0
    }

    /// The don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_word() & FLAG_DF != 0
    }

    /// The more-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_word() & FLAG_MF != 0
    }

    /// The fragment offset field, in units of 8 bytes (13 bits).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        self.flags_word() & OFFSET_MASK
    }

    /// True when this packet is a fragment (MF set or a non-zero offset).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.flags_word() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// True for the first fragment of a fragmented datagram (MF set, offset
    /// zero): the only fragment that carries the transport header.
    #[inline]
    pub fn is_first_fragment(&self) -> bool {
        self.more_frags() && self.frag_offset() == 0
    }

    /// True for a fragment other than the first (non-zero offset).
    #[inline]
    pub fn is_later_fragment(&self) -> bool {
        self.frag_offset() != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Address {
        Ipv4Address::from_bytes(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Address {
        Ipv4Address::from_bytes(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The options area (empty when `ihl == 5`), clamped to the buffer.
    #[inline]
    pub fn options(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.header_len().clamp(HEADER_LEN, b.len());
        &b[HEADER_LEN..end]
    }

    /// The payload: from the end of the header to `total_len`, clamped to
    /// the buffer (trailing link-layer padding is excluded).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(b.len());
        let start = self.header_len().min(end);
        &b[start..end]
    }

    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        let b = self.buffer.as_ref();
        checksum::verify(0, &b[..self.header_len().min(b.len())])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets the version field (low 4 bits of `value`).
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets the header length in bytes (a multiple of 4, 20..=60).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(len.is_multiple_of(4) && (HEADER_LEN..=MAX_HEADER_LEN).contains(&len));
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP (low 6 bits of `value`).
    #[inline]
    pub fn set_dscp(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (value << 2);
    }

    /// Sets the ECN (low 2 bits of `value`).
    #[inline]
    pub fn set_ecn(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (value & 0x03);
    }

    /// Sets the total length field.
    #[inline]
    pub fn set_total_len(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::LENGTH], value)
    }

    /// Sets the identification field.
    #[inline]
    pub fn set_ident(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::IDENT], value)
    }

    #[inline]
    fn set_flag(&mut self, flag: u16, on: bool) {
        let w = self.flags_word();
        let w = if on { w | flag } else { w & !flag };
        be::put_u16(&mut self.buffer.as_mut()[field::FLG_OFF], w)
    }

    /// Clears all three flags and the fragment offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        be::put_u16(&mut self.buffer.as_mut()[field::FLG_OFF], 0)
    }

    /// Sets the reserved flag bit.
    #[inline]
    pub fn set_reserved_flag(&mut self, on: bool) {
        self.set_flag(FLAG_RESERVED, on)
    }

    /// Sets the don't-fragment flag.
    #[inline]
    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(FLAG_DF, on)
    }

    /// Sets the more-fragments flag.
    #[inline]
    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(FLAG_MF, on)
    }

    /// Sets the fragment offset, in units of 8 bytes (low 13 bits of `value`).
    #[inline]
    pub fn set_frag_offset(&mut self, value: u16) {
        let w = (self.flags_word() & !OFFSET_MASK) | (value & OFFSET_MASK);
        be::put_u16(&mut self.buffer.as_mut()[field::FLG_OFF], w)
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = value.into()
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value)
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, value: Ipv4Address) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.0)
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, value: Ipv4Address) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.0)
    }

    /// The options area, mutable (its length follows `ihl`).
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len().max(HEADER_LEN);
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload, mutable (bounded as [`payload`](Self::payload)).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.buffer.as_ref().len();
        let end = usize::from(self.total_len()).min(len);
        let start = self.header_len().min(end);
        &mut self.buffer.as_mut()[start..end]
    }

    /// Recomputes the header checksum and stores it.
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let len = self.header_len();
        let c = checksum::compute(0, &self.buffer.as_ref()[..len]);
        self.set_checksum(c)
    }
}

/// IPv4 options as carried by [`Ipv4Repr`]: up to 40 bytes, a multiple of 4
/// long, stored inline. Bytes past `len` are always zero, so the derived
/// comparisons look at the used part only.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Options {
    len: u8,
    bytes: [u8; MAX_OPTIONS_LEN],
}

impl Ipv4Options {
    /// No options.
    pub const EMPTY: Ipv4Options = Ipv4Options {
        len: 0,
        bytes: [0; MAX_OPTIONS_LEN],
    };

    /// Copies `data`, which must be at most 40 bytes and a multiple of 4
    /// long (pad with End-of-Options/NOP bytes first); [`Error::Malformed`]
    /// otherwise.
    pub fn new(data: &[u8]) -> Result<Ipv4Options> {
        if data.len() > MAX_OPTIONS_LEN || !data.len().is_multiple_of(4) {
            return Err(Error::Malformed);
        }
        let mut o = Self::EMPTY;
        o.bytes[..data.len()].copy_from_slice(data);
        o.len = data.len() as u8;
        Ok(o)
    }

    /// The option bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are no options.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Ipv4Options {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl AsRef<[u8]> for Ipv4Options {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Ipv4Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ipv4Options")
            .field(&self.as_slice())
            .finish()
    }
}

/// The validated value form of an IPv4 header.
///
/// The reserved flag bit is not represented: `emit` writes it as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    pub src_addr: Ipv4Address,
    pub dst_addr: Ipv4Address,
    pub protocol: IpProtocol,
    /// Payload length in bytes (`total_len - header_len`).
    pub payload_len: usize,
    pub ttl: u8,
    /// 6 bits.
    pub dscp: u8,
    /// 2 bits.
    pub ecn: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    /// Fragment offset in units of 8 bytes (13 bits).
    pub frag_offset: u16,
    pub options: Ipv4Options,
}

impl Ipv4Repr {
    /// Parses a view, checking its invariants and its header checksum
    /// ([`Error::Checksum`] when it does not verify).
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Ipv4Repr> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        Self::parse_ignoring_checksum(packet)
    }

    /// Parses a view, checking its invariants but not its checksum.
    pub fn parse_ignoring_checksum<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Ipv4Repr> {
        packet.check_len()?;
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            // check_len bounds the options area to 0..=40 bytes, a multiple of 4.
            options: Ipv4Options::new(packet.options())?,
        })
    }

    /// Bytes `emit` writes: the header, options included.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.options.len as usize
    }

    /// Header plus payload length, the `total_len` `emit` writes.
    pub const fn total_len(&self) -> usize {
        self.buffer_len() + self.payload_len
    }

    /// Writes the header (not the payload) into `packet` and fills the
    /// checksum. Out-of-range `dscp`, `ecn` and `frag_offset` bits are
    /// dropped.
    ///
    /// # Panics
    /// When the buffer is shorter than [`buffer_len`](Self::buffer_len) or
    /// the total length does not fit in 16 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let total = u16::try_from(self.total_len()).expect("IPv4 total length exceeds 65535");
        packet.set_version(4);
        packet.set_header_len(self.buffer_len());
        packet.buffer.as_mut()[field::DSCP_ECN] = (self.dscp << 2) | (self.ecn & 0x03);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.clear_flags();
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet
            .options_mut()
            .copy_from_slice(self.options.as_slice());
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // 10.0.0.1 -> 10.0.0.2, UDP, DF, TTL 64, ident 0x1234, DSCP 46 (EF),
    // ECN 1, 8 bytes of payload, then 2 bytes of link padding.
    static PACKET: [u8; 30] = [
        0x45, 0xb9, 0x00, 0x1c, // ver/ihl, dscp/ecn, total length 28
        0x12, 0x34, 0x40, 0x00, // ident, DF
        0x40, 0x11, 0x13, 0xe2, // ttl, UDP, checksum
        0x0a, 0x00, 0x00, 0x01, // src
        0x0a, 0x00, 0x00, 0x02, // dst
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // payload
        0xee, 0xee, // padding
    ];

    // Same flow with a Router Alert option (ihl 6), a later fragment with MF.
    static WITH_OPTIONS: [u8; 28] = [
        0x46, 0x00, 0x00, 0x1c, // ihl 6, total 28
        0xab, 0xcd, 0x20, 0x05, // ident, MF, offset 5
        0x01, 0x02, 0xb6, 0xf1, // ttl 1, IGMP, checksum
        0xc0, 0x00, 0x02, 0x01, // 192.0.2.1
        0xe0, 0x00, 0x00, 0x16, // 224.0.0.22
        0x94, 0x04, 0x00, 0x00, // Router Alert
        0xde, 0xad, 0xbe, 0xef, // payload
    ];

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Address([10, 0, 0, 1]),
            dst_addr: Ipv4Address([10, 0, 0, 2]),
            protocol: IpProtocol::Udp,
            payload_len: 8,
            ttl: 64,
            dscp: 46,
            ecn: 1,
            ident: 0x1234,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            options: Ipv4Options::EMPTY,
        }
    }

    fn with_options() -> [u8; 28] {
        WITH_OPTIONS
    }

    #[test]
    fn parse() {
        let p = Ipv4Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.ihl(), 5);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp(), 46);
        assert_eq!(p.ecn(), 1);
        assert_eq!(p.total_len(), 28);
        assert_eq!(p.ident(), 0x1234);
        assert!(p.dont_frag() && !p.more_frags() && !p.reserved_flag());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment() && !p.is_first_fragment() && !p.is_later_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::Udp);
        assert_eq!(p.checksum(), 0x13e2);
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr().to_string(), "10.0.0.1");
        assert_eq!(p.dst_addr(), Ipv4Address([10, 0, 0, 2]));
        assert_eq!(p.options(), &[] as &[u8]);
        // Bounded by total_len: the two padding bytes are not payload.
        assert_eq!(p.payload(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Ipv4Repr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn parse_with_options() {
        let bytes = with_options();
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert!(p.more_frags() && !p.dont_frag());
        assert_eq!(p.frag_offset(), 5);
        assert!(p.is_fragment() && p.is_later_fragment() && !p.is_first_fragment());
        let r = Ipv4Repr::parse(&p).unwrap();
        assert_eq!(r.options.as_slice(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(r.payload_len, 4);
        assert_eq!(r.protocol, IpProtocol::Igmp);
        assert_eq!(r.buffer_len(), 24);

        let mut buf = poisoned(24);
        r.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &bytes[..24]);
    }

    #[test]
    fn emit_writes_every_byte() {
        let mut buf = poisoned(HEADER_LEN);
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        repr().emit(&mut p);
        assert_eq!(&buf[..], &PACKET[..HEADER_LEN]);
    }

    #[test]
    fn first_fragment() {
        let mut bytes = PACKET;
        let mut p = Ipv4Packet::new_unchecked(&mut bytes[..]);
        p.set_dont_frag(false);
        p.set_more_frags(true);
        assert!(p.is_fragment() && p.is_first_fragment() && !p.is_later_fragment());
        p.set_more_frags(false);
        p.set_frag_offset(0x1fff);
        assert!(p.is_fragment() && !p.is_first_fragment() && p.is_later_fragment());
        assert_eq!(p.frag_offset(), 0x1fff);
        assert!(!p.more_frags() && !p.dont_frag() && !p.reserved_flag());
    }

    #[test]
    fn truncated_below_fixed_header() {
        for len in [0, 1, 19] {
            assert_eq!(
                Ipv4Packet::new_checked(&PACKET[..len]).unwrap_err(),
                Error::Truncated,
                "len {len}"
            );
        }
    }

    #[test]
    fn truncated_in_options() {
        let bytes = with_options();
        for len in [20, 23] {
            assert_eq!(
                Ipv4Packet::new_checked(&bytes[..len]).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn truncated_payload_total_len_beyond_buffer() {
        assert_eq!(
            Ipv4Packet::new_checked(&PACKET[..27]).unwrap_err(),
            Error::Truncated
        );
        assert!(Ipv4Packet::new_checked(&PACKET[..28]).is_ok());
        let mut bytes = PACKET;
        bytes[2..4].copy_from_slice(&31u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn bad_version() {
        for v in [0x05, 0x65, 0x00, 0xf5] {
            let mut bytes = PACKET;
            bytes[0] = v;
            assert_eq!(
                Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
                Error::Malformed
            );
        }
    }

    #[test]
    fn bad_ihl() {
        for v in [0x40, 0x41, 0x44] {
            let mut bytes = PACKET;
            bytes[0] = v;
            assert_eq!(
                Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
                Error::Malformed
            );
        }
    }

    #[test]
    fn total_len_below_header_len() {
        let mut bytes = PACKET;
        bytes[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Malformed
        );
        let mut bytes = with_options();
        bytes[2..4].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Malformed
        );
        // Malformed wins over truncated: the length fields are inconsistent
        // whatever the buffer holds.
        assert_eq!(
            Ipv4Packet::new_checked(&bytes[..21]).unwrap_err(),
            Error::Malformed
        );
    }

    #[test]
    fn header_only_packet() {
        let mut bytes = PACKET;
        bytes[2..4].copy_from_slice(&20u16.to_be_bytes());
        let p = Ipv4Packet::new_checked(&bytes[..20]).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn checksum_verification() {
        let p = Ipv4Packet::new_checked(&PACKET[..]).unwrap();
        assert!(p.verify_checksum());
        let mut bytes = PACKET;
        bytes[8] = 63; // TTL changed, checksum not updated
        let mut p = Ipv4Packet::new_checked(&mut bytes[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&p).unwrap_err(), Error::Checksum);
        let r = Ipv4Repr::parse_ignoring_checksum(&p).unwrap();
        assert_eq!(r.ttl, 63);
        p.fill_checksum();
        assert!(p.verify_checksum());
        // The payload is not covered.
        p.payload_mut()[0] ^= 0xff;
        assert!(p.verify_checksum());
        // Options are covered.
        let mut bytes = with_options();
        assert!(
            Ipv4Packet::new_checked(&bytes[..])
                .unwrap()
                .verify_checksum()
        );
        bytes[21] ^= 1;
        assert!(
            !Ipv4Packet::new_checked(&bytes[..])
                .unwrap()
                .verify_checksum()
        );
    }

    #[test]
    fn known_checksum() {
        // The classic example header; its checksum is 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x14, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        h[2..4].copy_from_slice(&0x73u16.to_be_bytes());
        let mut p = Ipv4Packet::new_unchecked(&mut h[..]);
        p.fill_checksum();
        assert_eq!(p.checksum(), 0xb861);
    }

    #[test]
    fn setters() {
        let mut buf = [0u8; 28];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_version(4);
        p.set_header_len(24);
        p.set_dscp(0x3f);
        p.set_ecn(3);
        p.set_ecn(2);
        p.set_total_len(28);
        p.set_reserved_flag(true);
        p.set_frag_offset(7);
        p.set_dont_frag(true);
        p.set_ttl(9);
        p.set_protocol(IpProtocol::Unknown(253));
        p.set_src_addr(Ipv4Address([1, 2, 3, 4]));
        p.set_dst_addr(Ipv4Address([5, 6, 7, 8]));
        p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        p.payload_mut().copy_from_slice(&[9, 9, 9, 9]);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(
            (p.version(), p.header_len(), p.dscp(), p.ecn()),
            (4, 24, 0x3f, 2)
        );
        assert!(p.reserved_flag() && p.dont_frag() && !p.more_frags());
        assert_eq!(p.frag_offset(), 7);
        assert_eq!(p.protocol(), IpProtocol::Unknown(253));
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), &[9, 9, 9, 9]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn unknown_protocol_round_trips() {
        let mut r = repr();
        r.protocol = IpProtocol::Unknown(0xfd);
        let mut buf = poisoned(r.total_len());
        r.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf[9], 0xfd);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap(), r);
    }

    #[test]
    fn options_value() {
        assert!(Ipv4Options::new(&[0; 41]).is_err());
        assert!(Ipv4Options::new(&[0; 44]).is_err());
        assert!(Ipv4Options::new(&[1, 1, 1]).is_err());
        let o = Ipv4Options::new(&[1; 40]).unwrap();
        assert_eq!(o.len(), 40);
        assert!(Ipv4Options::new(&[]).unwrap().is_empty());
        assert_eq!(Ipv4Options::new(&[]).unwrap(), Ipv4Options::EMPTY);
    }

    #[test]
    #[should_panic(expected = "exceeds 65535")]
    fn emit_rejects_oversized_total_len() {
        let mut r = repr();
        r.payload_len = 65536 - 20;
        let mut buf = poisoned(20);
        r.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    }

    #[test]
    fn address_text() {
        let a: Ipv4Address = "192.0.2.255".parse().unwrap();
        assert_eq!(a, Ipv4Address([192, 0, 2, 255]));
        assert_eq!(a.to_string(), "192.0.2.255");
        assert_eq!(format!("{a:?}"), "192.0.2.255");
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.256",
            "1.2.3.04",
            "1..3.4",
            "+1.2.3.4",
            "1.2.3.4 ",
            "a.b.c.d",
            "1.2.3.-4",
        ] {
            assert!(bad.parse::<Ipv4Address>().is_err(), "{bad:?}");
        }
        assert!("0.0.0.0".parse::<Ipv4Address>().unwrap().is_unspecified());
        assert!(Ipv4Address([224, 0, 0, 1]).is_multicast());
        assert!(!Ipv4Address([240, 0, 0, 1]).is_multicast());
        assert!(Ipv4Address::BROADCAST.is_broadcast());
        assert!(Ipv4Address([127, 9, 9, 9]).is_loopback());
        assert_eq!(
            Ipv4Address::from_u32(0x0a000001),
            Ipv4Address([10, 0, 0, 1])
        );
        assert_eq!(Ipv4Address([10, 0, 0, 1]).to_u32(), 0x0a000001);
    }

    fn arb_repr() -> impl Strategy<Value = Ipv4Repr> {
        (
            (
                any::<[u8; 4]>(),
                any::<[u8; 4]>(),
                any::<u8>(),
                0usize..2000,
            ),
            (any::<u8>(), 0u8..64, 0u8..4, any::<u16>()),
            (any::<bool>(), any::<bool>(), 0u16..0x2000),
            (0usize..=10, any::<[u8; 40]>()),
        )
            .prop_map(
                |((s, d, proto, plen), (ttl, dscp, ecn, ident), (df, mf, off), (words, opts))| {
                    Ipv4Repr {
                        src_addr: Ipv4Address(s),
                        dst_addr: Ipv4Address(d),
                        protocol: IpProtocol::from(proto),
                        payload_len: plen,
                        ttl,
                        dscp,
                        ecn,
                        ident,
                        dont_frag: df,
                        more_frags: mf,
                        frag_offset: off,
                        options: Ipv4Options::new(&opts[..words * 4]).unwrap(),
                    }
                },
            )
    }

    fn exercise(bytes: &[u8]) {
        if let Ok(p) = Ipv4Packet::new_checked(bytes) {
            let _ = (
                p.version(),
                p.header_len(),
                p.dscp(),
                p.ecn(),
                p.total_len(),
            );
            let _ = (p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset());
            let _ = (
                p.is_fragment(),
                p.is_first_fragment(),
                p.is_later_fragment(),
            );
            let _ = (
                p.ttl(),
                p.protocol(),
                p.checksum(),
                p.src_addr(),
                p.dst_addr(),
            );
            let _ = (p.options(), p.payload(), p.verify_checksum());
            assert!(p.payload().len() + p.header_len() == usize::from(p.total_len()));
            let _ = Ipv4Repr::parse(&p);
            let r = Ipv4Repr::parse_ignoring_checksum(&p).unwrap();
            assert_eq!(r.options.as_slice(), p.options());
        }
        let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(bytes));
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in arb_repr()) {
            let mut buf = poisoned(r.total_len());
            r.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(Ipv4Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            exercise(&bytes);
        }

        #[test]
        fn plausible_bytes_never_panic(
            mut bytes in proptest::collection::vec(any::<u8>(), 20..100),
            ihl in 0u8..16,
            total in 0u16..110,
        ) {
            bytes[0] = 0x40 | ihl;
            bytes[2..4].copy_from_slice(&total.to_be_bytes());
            exercise(&bytes);
        }

        #[test]
        fn address_text_round_trips(a in any::<[u8; 4]>()) {
            let a = Ipv4Address(a);
            let s = a.to_string();
            prop_assert_eq!(&s, &core::net::Ipv4Addr::from(a).to_string());
            prop_assert_eq!(s.parse::<Ipv4Address>().unwrap(), a);
        }
    }
}
