//! TCP segments (RFC 9293): ports, sequence and acknowledgment numbers, the
//! 12-bit flags field, window, checksum, urgent pointer and options.
//!
//! A [`TcpPacket`] covers the whole segment (header and payload), which is
//! what the pseudo-header checksum covers. Once `check_len` has succeeded the
//! buffer holds at least 20 bytes, the data offset is 5..=15 words and the
//! whole header, options included, lies inside the buffer.
//!
//! Checksums are neither checked by `new_checked` nor by [`TcpRepr::parse`]
//! (they need the IP addresses); use the `*_checksum_v4`/`_v6` methods.

use super::{Error, Field, IpProtocol, Result, be, checksum};
use core::{fmt, ops};

/// The 12 low bits of header bytes 12..14: three reserved bits, NS, CWR,
/// ECE, URG, ACK, PSH, RST, SYN, FIN. This is OpenFlow's `tcp_flags`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x001);
    pub const SYN: TcpFlags = TcpFlags(0x002);
    pub const RST: TcpFlags = TcpFlags(0x004);
    pub const PSH: TcpFlags = TcpFlags(0x008);
    pub const ACK: TcpFlags = TcpFlags(0x010);
    pub const URG: TcpFlags = TcpFlags(0x020);
    pub const ECE: TcpFlags = TcpFlags(0x040);
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// ECN nonce sum (RFC 3540, historic).
    pub const NS: TcpFlags = TcpFlags(0x100);
    /// The three reserved bits; kept so that they round-trip.
    pub const RESERVED: TcpFlags = TcpFlags(0xe00);
    /// No flag set.
    pub const EMPTY: TcpFlags = TcpFlags(0);
    /// Mask of the 12 bits.
    pub const MASK: u16 = 0x0fff;

    /// Flags from a 12-bit value; higher bits are dropped.
    #[inline]
    pub const fn from_bits_truncate(bits: u16) -> TcpFlags {
        TcpFlags(bits & Self::MASK)
    }

    /// The 12-bit value.
    #[inline]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// True when every flag of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when `self` and `other` share a flag.
    #[inline]
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// True when no flag is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets or clears the flags of `other`.
    #[inline]
    pub fn set(&mut self, other: TcpFlags, value: bool) {
        if value {
            self.0 |= other.0
        } else {
            self.0 &= !other.0
        }
    }
}

impl ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0
    }
}

impl ops::BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(TcpFlags, &str); 9] = [
            (TcpFlags::NS, "NS"),
            (TcpFlags::CWR, "CWR"),
            (TcpFlags::ECE, "ECE"),
            (TcpFlags::URG, "URG"),
            (TcpFlags::ACK, "ACK"),
            (TcpFlags::PSH, "PSH"),
            (TcpFlags::RST, "RST"),
            (TcpFlags::SYN, "SYN"),
            (TcpFlags::FIN, "FIN"),
        ];
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        let reserved = self.0 & TcpFlags::RESERVED.0;
        if reserved != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{reserved:#05x}")?;
            first = false;
        }
        if first {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    /// Data offset (high nibble of the first byte) and the 12 flag bits.
    pub const OFFSET_FLAGS: Field = 12..14;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
    pub const OPTIONS: usize = 20;
}

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// Longest TCP header (data offset 15).
pub const MAX_HEADER_LEN: usize = 60;
/// Most option bytes a header can carry.
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

/// A view over a TCP segment.
#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps `buffer` and calls [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than 20
    /// bytes or than the data offset says, and with [`Error::Malformed`] when
    /// the data offset is below 5 words.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            Err(Error::Malformed)
        } else if header_len > len {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    /// The destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// The sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::SEQ_NUM])
    }

    /// The acknowledgment number.
    #[inline]
    pub fn ack_number(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::ACK_NUM])
    }

    /// The header length in bytes (data offset times four).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::OFFSET_FLAGS.start] >> 4) * 4
    }

    /// All 12 flag bits.
    #[inline]
    pub fn flags(&self) -> TcpFlags {
        TcpFlags::from_bits_truncate(be::u16(&self.buffer.as_ref()[field::OFFSET_FLAGS]))
    }

    /// The FIN flag.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flags().contains(TcpFlags::FIN)
    }

    /// The SYN flag.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flags().contains(TcpFlags::SYN)
    }

    /// The RST flag.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flags().contains(TcpFlags::RST)
    }

    /// The PSH flag.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flags().contains(TcpFlags::PSH)
    }

    /// The ACK flag.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flags().contains(TcpFlags::ACK)
    }

    /// The URG flag.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flags().contains(TcpFlags::URG)
    }

    /// The ECE flag.
    #[inline]
    pub fn ece(&self) -> bool {
        self.flags().contains(TcpFlags::ECE)
    }

    /// The CWR flag.
    #[inline]
    pub fn cwr(&self) -> bool {
        self.flags().contains(TcpFlags::CWR)
    }

    /// The NS flag.
    #[inline]
    pub fn ns(&self) -> bool {
        self.flags().contains(TcpFlags::NS)
    }

    /// The receive window.
    #[inline]
    pub fn window_len(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::WINDOW])
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// The urgent pointer.
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::URGENT])
    }

    /// The option bytes (between the fixed header and the payload).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..self.header_len()]
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// True when the checksum verifies against an IPv4 pseudo-header.
    pub fn verify_checksum_v4(&self, src: [u8; 4], dst: [u8; 4]) -> bool {
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Tcp, data.len() as u32);
        checksum::verify(pseudo, data)
    }

    /// True when the checksum verifies against an IPv6 pseudo-header.
    pub fn verify_checksum_v6(&self, src: [u8; 16], dst: [u8; 16]) -> bool {
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Tcp, data.len() as u32);
        checksum::verify(pseudo, data)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::SRC_PORT], value)
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::DST_PORT], value)
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, value: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::SEQ_NUM], value)
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, value: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::ACK_NUM], value)
    }

    /// Sets the data offset from a header length in bytes (rounded down to
    /// whole words; must be at most 60). The flag bits are kept.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(len <= MAX_HEADER_LEN);
        let b = &mut self.buffer.as_mut()[field::OFFSET_FLAGS.start];
        *b = (*b & 0x0f) | (((len / 4) as u8) << 4);
    }

    /// Sets all 12 flag bits; the data offset is kept.
    #[inline]
    pub fn set_flags(&mut self, flags: TcpFlags) {
        let b = &mut self.buffer.as_mut()[field::OFFSET_FLAGS];
        let word = (be::u16(b) & !TcpFlags::MASK) | flags.bits();
        be::put_u16(b, word)
    }

    #[inline]
    fn set_flag(&mut self, flag: TcpFlags, value: bool) {
        let mut flags = self.flags();
        flags.set(flag, value);
        self.set_flags(flags)
    }

    /// Sets or clears FIN.
    #[inline]
    pub fn set_fin(&mut self, value: bool) {
        self.set_flag(TcpFlags::FIN, value)
    }

    /// Sets or clears SYN.
    #[inline]
    pub fn set_syn(&mut self, value: bool) {
        self.set_flag(TcpFlags::SYN, value)
    }

    /// Sets or clears RST.
    #[inline]
    pub fn set_rst(&mut self, value: bool) {
        self.set_flag(TcpFlags::RST, value)
    }

    /// Sets or clears PSH.
    #[inline]
    pub fn set_psh(&mut self, value: bool) {
        self.set_flag(TcpFlags::PSH, value)
    }

    /// Sets or clears ACK.
    #[inline]
    pub fn set_ack(&mut self, value: bool) {
        self.set_flag(TcpFlags::ACK, value)
    }

    /// Sets or clears URG.
    #[inline]
    pub fn set_urg(&mut self, value: bool) {
        self.set_flag(TcpFlags::URG, value)
    }

    /// Sets or clears ECE.
    #[inline]
    pub fn set_ece(&mut self, value: bool) {
        self.set_flag(TcpFlags::ECE, value)
    }

    /// Sets or clears CWR.
    #[inline]
    pub fn set_cwr(&mut self, value: bool) {
        self.set_flag(TcpFlags::CWR, value)
    }

    /// Sets or clears NS.
    #[inline]
    pub fn set_ns(&mut self, value: bool) {
        self.set_flag(TcpFlags::NS, value)
    }

    /// Sets the receive window.
    #[inline]
    pub fn set_window_len(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::WINDOW], value)
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value)
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::URGENT], value)
    }

    /// The option bytes, mutable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS..end]
    }

    /// Everything after the header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }

    /// Computes and stores the checksum over an IPv4 pseudo-header and the
    /// whole buffer.
    pub fn fill_checksum_v4(&mut self, src: [u8; 4], dst: [u8; 4]) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v4(src, dst, IpProtocol::Tcp, data.len() as u32);
        let c = checksum::compute(pseudo, data);
        self.set_checksum(c)
    }

    /// Computes and stores the checksum over an IPv6 pseudo-header and the
    /// whole buffer.
    pub fn fill_checksum_v6(&mut self, src: [u8; 16], dst: [u8; 16]) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Tcp, data.len() as u32);
        let c = checksum::compute(pseudo, data);
        self.set_checksum(c)
    }

    /// Patches the checksum incrementally (RFC 1624) after covered bytes (in
    /// the segment or in the pseudo-header, e.g. an IP address) changed from
    /// `old` to `new`. Both must have the same, even length.
    pub fn adjust_checksum(&mut self, old: &[u8], new: &[u8]) {
        let c = checksum::update_bytes(self.checksum(), old, new);
        self.set_checksum(c)
    }
}

/// The value form of a TCP header.
///
/// `options` borrows the raw option bytes (at most [`MAX_OPTIONS_LEN`]);
/// `emit` pads them with zero bytes (end-of-option-list) to a multiple of
/// four, so only option slices of such a length round-trip exactly. The
/// payload is not part of the value: `payload_len` only sizes the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: u32,
    pub ack_number: u32,
    pub flags: TcpFlags,
    pub window_len: u16,
    pub urgent_at: u16,
    pub options: &'a [u8],
    pub payload_len: usize,
}

impl<'a> TcpRepr<'a> {
    /// Parses a view; the checksum is not verified.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &TcpPacket<&'a T>) -> Result<TcpRepr<'a>> {
        packet.check_len()?;
        let buffer: &'a [u8] = packet.buffer.as_ref();
        let header_len = packet.header_len();
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_at: packet.urgent_at(),
            options: &buffer[field::OPTIONS..header_len],
            payload_len: buffer.len() - header_len,
        })
    }

    /// Header length `emit` writes: 20 plus the options padded to 4 bytes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len().next_multiple_of(4)
    }

    /// Header plus payload length.
    pub const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Writes the header (checksum zero) into `packet`, whose buffer must be
    /// at least [`header_len`](Self::header_len) bytes long. Write the
    /// payload, then call `fill_checksum_v4`/`_v6`.
    ///
    /// # Panics
    /// When `options` is longer than [`MAX_OPTIONS_LEN`] or the buffer is
    /// too short.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) {
        assert!(
            self.options.len() <= MAX_OPTIONS_LEN,
            "TCP options too long"
        );
        let header_len = self.header_len();
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(header_len);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_at);
        let opts = packet.options_mut();
        let (data, pad) = opts.split_at_mut(self.options.len());
        data.copy_from_slice(self.options);
        pad.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    const SRC: [u8; 4] = [192, 168, 1, 100];
    const DST: [u8; 4] = [93, 184, 216, 34];

    /// A Linux-style SYN, 192.168.1.100:51234 -> 93.184.216.34:80, with MSS,
    /// SACK-permitted, timestamps, NOP and window-scale options.
    static SYN: [u8; 40] = [
        0xc8, 0x22, 0x00, 0x50, // ports
        0x1b, 0x2c, 0x3d, 0x4e, // seq
        0x00, 0x00, 0x00, 0x00, // ack
        0xa0, 0x02, 0xfa, 0xf0, // offset 10, SYN, window 64240
        0xf7, 0x42, 0x00, 0x00, // checksum, urgent
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, 0x00, 0x9a, 0x3c, 0x5e, 0x00, 0x00, 0x00, 0x00, // timestamps
        0x01, // NOP
        0x03, 0x03, 0x07, // window scale 7
    ];

    fn syn_repr() -> TcpRepr<'static> {
        TcpRepr {
            src_port: 51234,
            dst_port: 80,
            seq_number: 0x1b2c_3d4e,
            ack_number: 0,
            flags: TcpFlags::SYN,
            window_len: 64240,
            urgent_at: 0,
            options: &SYN[20..40],
            payload_len: 0,
        }
    }

    #[test]
    fn parse_syn() {
        let p = TcpPacket::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.src_port(), 51234);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.seq_number(), 0x1b2c_3d4e);
        assert_eq!(p.ack_number(), 0);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), TcpFlags::SYN);
        assert!(p.syn() && !p.ack() && !p.fin() && !p.rst() && !p.psh());
        assert!(!p.urg() && !p.ece() && !p.cwr() && !p.ns());
        assert_eq!(p.window_len(), 64240);
        assert_eq!(p.checksum(), 0xf742);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.options().len(), 20);
        assert!(p.payload().is_empty());
        assert!(p.verify_checksum_v4(SRC, DST));
        assert!(!p.verify_checksum_v4(SRC, [93, 184, 216, 35]));
        assert_eq!(TcpRepr::parse(&p).unwrap(), syn_repr());
    }

    #[test]
    fn emit_syn_writes_every_byte() {
        let r = syn_repr();
        assert_eq!(r.buffer_len(), SYN.len());
        let mut buf = poisoned(r.buffer_len());
        let mut p = TcpPacket::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.fill_checksum_v4(SRC, DST);
        assert_eq!(&buf[..], &SYN[..]);
    }

    #[test]
    fn options_are_padded() {
        let r = TcpRepr {
            options: &[0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03],
            payload_len: 3,
            ..syn_repr()
        };
        assert_eq!(r.header_len(), 28);
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut TcpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(buf[12] >> 4, 7);
        assert_eq!(
            &buf[20..28],
            &[0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x00]
        );
        assert_eq!(&buf[28..], &[0xa5; 3]);
    }

    #[test]
    fn all_flag_bits() {
        let mut bytes = SYN;
        bytes[12] = 0xaf; // offset 10, reserved 0b111, NS
        bytes[13] = 0xff;
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.flags().bits(), 0x0fff);
        assert!(p.ns() && p.cwr() && p.ece() && p.urg() && p.fin());
        assert_eq!(p.header_len(), 40);
        let r = TcpRepr::parse(&p).unwrap();
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut TcpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[12..14], &[0xaf, 0xff]);

        let mut p = TcpPacket::new_unchecked(&mut buf[..]);
        p.set_flags(TcpFlags::EMPTY);
        p.set_syn(true);
        p.set_ack(true);
        p.set_ns(true);
        assert_eq!(p.flags(), TcpFlags::SYN | TcpFlags::ACK | TcpFlags::NS);
        p.set_ns(false);
        assert_eq!(p.header_len(), 40);
        assert_eq!(format!("{:?}", p.flags()), "ACK|SYN");
    }

    #[test]
    fn truncated_fixed_header() {
        assert_eq!(
            TcpPacket::new_checked(&SYN[..19]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            TcpPacket::new_checked(&[][..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn truncated_options() {
        assert_eq!(
            TcpPacket::new_checked(&SYN[..39]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn data_offset_too_small() {
        let mut bytes = SYN;
        bytes[12] = 0x40;
        assert_eq!(
            TcpPacket::new_checked(&bytes[..]).unwrap_err(),
            Error::Malformed
        );
    }

    #[test]
    fn checksum_v6_and_adjust() {
        let src6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let dst6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        let mut bytes = SYN;
        let mut p = TcpPacket::new_unchecked(&mut bytes[..]);
        p.fill_checksum_v6(src6, dst6);
        assert!(p.verify_checksum_v6(src6, dst6));
        assert!(!p.verify_checksum_v6(dst6, dst6));

        // Rewrite the port and the IPv4 source incrementally.
        let mut bytes = SYN;
        let mut p = TcpPacket::new_unchecked(&mut bytes[..]);
        p.set_src_port(40000);
        p.adjust_checksum(&51234u16.to_be_bytes(), &40000u16.to_be_bytes());
        let new_src = [10, 0, 0, 7];
        p.adjust_checksum(&SRC, &new_src);
        assert!(p.verify_checksum_v4(new_src, DST));
    }

    fn arb_repr() -> impl Strategy<Value = (TcpRepr<'static>, Vec<u8>)> {
        (
            any::<(u16, u16, u32, u32)>(),
            0u16..0x1000,
            any::<(u16, u16)>(),
            (0usize..=10).prop_flat_map(|w| proptest::collection::vec(any::<u8>(), w * 4)),
            0usize..100,
        )
            .prop_map(|((sp, dp, seq, ack), fl, (win, urg), opts, plen)| {
                let r = TcpRepr {
                    src_port: sp,
                    dst_port: dp,
                    seq_number: seq,
                    ack_number: ack,
                    flags: TcpFlags::from_bits_truncate(fl),
                    window_len: win,
                    urgent_at: urg,
                    options: &[],
                    payload_len: plen,
                };
                (r, opts)
            })
    }

    proptest! {
        #[test]
        fn repr_round_trips((r, opts) in arb_repr()) {
            let r = TcpRepr { options: &opts, ..r };
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut TcpPacket::new_unchecked(&mut buf[..]));
            let p = TcpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(TcpRepr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = TcpPacket::new_checked(&bytes[..]) {
                let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number());
                let _ = (p.flags(), p.window_len(), p.checksum(), p.urgent_at());
                let _ = (p.options(), p.payload(), p.verify_checksum_v4([0; 4], [0; 4]));
                let r = TcpRepr::parse(&p).unwrap();
                prop_assert_eq!(r.buffer_len(), bytes.len());
            } else {
                prop_assert!(TcpRepr::parse(&TcpPacket::new_unchecked(&bytes[..])).is_err());
            }
        }
    }
}
