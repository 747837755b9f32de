//! IPv6 fixed headers (RFC 8200).
//!
//! Invariants a checked [`Ipv6Packet`] guarantees: the buffer holds the
//! 40-byte header, `version == 6`, and `40 + payload_len <= buffer.len()`.
//! The payload is bounded by `payload_len`, never by the buffer alone.
//! Jumbograms (`payload_len == 0` plus a Jumbo Payload option) are not
//! supported: their payload reads as empty.
//!
//! Extension headers are separate views, in `ipv6ext`.

use super::{Error, Field, IpProtocol, Rest, Result, be};
use core::fmt;

/// A sixteen-octet IPv6 address.
///
/// `Display` writes the RFC 5952 text form (lowercase, longest run of two or
/// more zero groups shortened to `::`, IPv4-mapped addresses as
/// `::ffff:a.b.c.d`); `FromStr` accepts any RFC 4291 text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ipv6Address(pub [u8; 16]);

impl Ipv6Address {
    /// `::`.
    pub const UNSPECIFIED: Ipv6Address = Ipv6Address([0; 16]);
    /// `::1`.
    pub const LOOPBACK: Ipv6Address = Ipv6Address([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

    /// Builds an address from the first sixteen bytes of `data`.
    ///
    /// # Panics
    /// When `data` is shorter than sixteen bytes.
    pub fn from_bytes(data: &[u8]) -> Ipv6Address {
        let mut a = [0; 16];
        a.copy_from_slice(&data[..16]);
        Ipv6Address(a)
    }

    /// Builds an address from eight 16-bit groups.
    pub fn from_groups(groups: [u16; 8]) -> Ipv6Address {
        let mut a = [0; 16];
        for (chunk, g) in a.chunks_exact_mut(2).zip(groups) {
            chunk.copy_from_slice(&g.to_be_bytes());
        }
        Ipv6Address(a)
    }

    /// The eight 16-bit groups.
    pub fn groups(&self) -> [u16; 8] {
        let mut g = [0; 8];
        for (g, chunk) in g.iter_mut().zip(self.0.chunks_exact(2)) {
            *g = be::u16(chunk);
        }
        g
    }

    /// The address bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// True for `::`.
    pub fn is_unspecified(&self) -> bool {
        self.0 == [0; 16]
    }

    /// True for `::1`.
    pub fn is_loopback(&self) -> bool {
        *self == Self::LOOPBACK
    }

    /// True for `ff00::/8`.
    pub fn is_multicast(&self) -> bool {
        self.0[0] == 0xff
    }

    /// True for link-local unicast, `fe80::/10`.
    pub fn is_link_local(&self) -> bool {
        self.0[0] == 0xfe && self.0[1] & 0xc0 == 0x80
    }

    /// The IPv4 address of an IPv4-mapped address (`::ffff:a.b.c.d`).
    pub fn ipv4_mapped(&self) -> Option<[u8; 4]> {
        let b = &self.0;
        if b[..10] == [0; 10] && b[10] == 0xff && b[11] == 0xff {
            Some([b[12], b[13], b[14], b[15]])
        } else {
            None
        }
    }
}

impl From<[u8; 16]> for Ipv6Address {
    fn from(b: [u8; 16]) -> Self {
        Ipv6Address(b)
    }
}

impl From<Ipv6Address> for [u8; 16] {
    fn from(a: Ipv6Address) -> Self {
        a.0
    }
}

impl From<core::net::Ipv6Addr> for Ipv6Address {
    fn from(a: core::net::Ipv6Addr) -> Self {
        Ipv6Address(a.octets())
    }
}

impl From<Ipv6Address> for core::net::Ipv6Addr {
    fn from(a: Ipv6Address) -> Self {
        core::net::Ipv6Addr::from(a.0)
    }
}

impl fmt::Display for Ipv6Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v4) = self.ipv4_mapped() {
            return write!(f, "::ffff:{}.{}.{}.{}", v4[0], v4[1], v4[2], v4[3]);
        }
        let g = self.groups();
        // The longest run of at least two zero groups; the first one on ties.
        let (mut best_start, mut best_len) = (0, 0);
        let mut i = 0;
        while i < 8 {
            if g[i] == 0 {
                let start = i;
                while i < 8 && g[i] == 0 {
                    i += 1;
                }
                if i - start > best_len {
                    (best_start, best_len) = (start, i - start);
                }
            } else {
                i += 1;
            }
        }
        let write_groups = |f: &mut fmt::Formatter<'_>, groups: &[u16]| -> fmt::Result {
            for (n, g) in groups.iter().enumerate() {
                if n > 0 {
                    f.write_str(":")?;
                }
                write!(f, "{g:x}")?;
            }
            Ok(())
        };
        if best_len >= 2 {
            write_groups(f, &g[..best_start])?;
            f.write_str("::")?;
            write_groups(f, &g[best_start + best_len..])
        } else {
            write_groups(f, &g)
        }
    }
}

impl fmt::Debug for Ipv6Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Parses colon-separated groups (no `::`) into `out`, returning how many
/// groups were written. A dotted IPv4 address is allowed as the last piece
/// when `allow_v4` is set and counts as two groups.
fn parse_groups(s: &str, allow_v4: bool, out: &mut [u16; 8]) -> Result<usize> {
    if s.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    let mut pieces = s.split(':').peekable();
    while let Some(p) = pieces.next() {
        let last = pieces.peek().is_none();
        if last && allow_v4 && p.contains('.') {
            let v4: super::ipv4::Ipv4Address = p.parse()?;
            if n + 2 > out.len() {
                return Err(Error::Malformed);
            }
            out[n] = u16::from_be_bytes([v4.0[0], v4.0[1]]);
            out[n + 1] = u16::from_be_bytes([v4.0[2], v4.0[3]]);
            n += 2;
        } else {
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::Malformed);
            }
            if n >= out.len() {
                return Err(Error::Malformed);
            }
            out[n] = u16::from_str_radix(p, 16).map_err(|_| Error::Malformed)?;
            n += 1;
        }
    }
    Ok(n)
}

impl core::str::FromStr for Ipv6Address {
    type Err = Error;

    /// Parses the RFC 4291 text forms: eight groups of one to four hex
    /// digits, at most one `::` standing for one or more zero groups, and an
    /// optional dotted IPv4 address in the last 32 bits. No zone index.
    fn from_str(s: &str) -> Result<Self> {
        let mut head = [0u16; 8];
        let mut tail = [0u16; 8];
        match s.find("::") {
            None => {
                if parse_groups(s, true, &mut head)? != 8 {
                    return Err(Error::Malformed);
                }
                Ok(Ipv6Address::from_groups(head))
            }
            Some(i) => {
                let (h, t) = (&s[..i], &s[i + 2..]);
                let nh = parse_groups(h, false, &mut head)?;
                let nt = parse_groups(t, true, &mut tail)?;
                if nh + nt > 7 {
                    return Err(Error::Malformed);
                }
                let mut g = [0u16; 8];
                g[..nh].copy_from_slice(&head[..nh]);
                g[8 - nt..].copy_from_slice(&tail[..nt]);
                Ok(Ipv6Address::from_groups(g))
            }
        }
    }
}

mod field {
    use super::{Field, Rest};
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
    pub const PAYLOAD: Rest = 40..;
}

/// Length of the IPv6 fixed header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

const FLOW_LABEL_MASK: u32 = 0x000f_ffff;

/// A view over an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Ipv6Packet<T> {
        Ipv6Packet { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Ipv6Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// [`Error::Truncated`] when the buffer is shorter than 40 bytes or than
    /// `40 + payload_len`; [`Error::Malformed`] when the version is not 6.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::Malformed);
        }
        if len < self.total_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the fixed header.
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    #[inline]
    fn first_word(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::VER_TC_FLOW])
    }

    /// The version field (6 once checked).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// The traffic class (DSCP in the high 6 bits, ECN in the low 2).
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// The DSCP part of the traffic class.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// The ECN part of the traffic class.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// The flow label (20 bits).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.first_word() & FLOW_LABEL_MASK
    }

    /// The payload length field (extension headers included).
    #[inline]
    pub fn payload_len(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// `40 + payload_len`.
    #[inline]
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    /// The type of the header after this one.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Address {
        Ipv6Address::from_bytes(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Address {
        Ipv6Address::from_bytes(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The payload: `payload_len` bytes after the fixed header, clamped to
    /// the buffer (trailing link-layer padding is excluded).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.total_len().min(b.len());
        &b[HEADER_LEN.min(end)..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    #[inline]
    fn set_first_word(&mut self, w: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::VER_TC_FLOW], w)
    }

    /// Sets the version field (low 4 bits of `value`).
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[0];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets the traffic class.
    #[inline]
    pub fn set_traffic_class(&mut self, value: u8) {
        let w = (self.first_word() & 0xf00f_ffff) | (u32::from(value) << 20);
        self.set_first_word(w)
    }

    /// Sets the DSCP part of the traffic class (low 6 bits of `value`).
    #[inline]
    pub fn set_dscp(&mut self, value: u8) {
        self.set_traffic_class((self.traffic_class() & 0x03) | (value << 2))
    }

    /// Sets the ECN part of the traffic class (low 2 bits of `value`).
    #[inline]
    pub fn set_ecn(&mut self, value: u8) {
        self.set_traffic_class((self.traffic_class() & 0xfc) | (value & 0x03))
    }

    /// Sets the flow label (low 20 bits of `value`).
    #[inline]
    pub fn set_flow_label(&mut self, value: u32) {
        let w = (self.first_word() & !FLOW_LABEL_MASK) | (value & FLOW_LABEL_MASK);
        self.set_first_word(w)
    }

    /// Sets the payload length field.
    #[inline]
    pub fn set_payload_len(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::LENGTH], value)
    }

    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.into()
    }

    /// Sets the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, value: Ipv6Address) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.0)
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, value: Ipv6Address) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.0)
    }

    /// The payload, mutable (bounded as [`payload`](Self::payload)).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.buffer.as_ref().len();
        let end = self.total_len().min(len);
        &mut self.buffer.as_mut()[HEADER_LEN.min(end)..end]
    }
}

/// The validated value form of an IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    pub src_addr: Ipv6Address,
    pub dst_addr: Ipv6Address,
    pub next_header: IpProtocol,
    /// Bytes after the fixed header, extension headers included.
    pub payload_len: usize,
    pub hop_limit: u8,
    /// DSCP (high 6 bits) and ECN (low 2 bits).
    pub traffic_class: u8,
    /// 20 bits.
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Parses a view, checking its invariants.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Ipv6Repr> {
        packet.check_len()?;
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Bytes `emit` writes: the fixed header.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the fixed header (not the payload) into `packet`. Flow label
    /// bits above the low 20 are dropped.
    ///
    /// # Panics
    /// When the buffer is shorter than 40 bytes or `payload_len` does not
    /// fit in 16 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        let plen = u16::try_from(self.payload_len).expect("IPv6 payload length exceeds 65535");
        packet.set_first_word(
            (6 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & FLOW_LABEL_MASK),
        );
        packet.set_payload_len(plen);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // 2001:db8::1 -> ff02::1:ff00:2, UDP, traffic class 0xb9 (DSCP 46,
    // ECN 1), flow label 0x12345, hop limit 64, 4 bytes of payload and two
    // bytes of link padding.
    static PACKET: [u8; 46] = [
        0x6b, 0x91, 0x23, 0x45, // version, traffic class, flow label
        0x00, 0x04, 0x11, 0x40, // payload length, next header, hop limit
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // src
        0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02, // dst
        0xde, 0xad, 0xbe, 0xef, // payload
        0xee, 0xee, // padding
    ];

    fn repr() -> Ipv6Repr {
        Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "ff02::1:ff00:2".parse().unwrap(),
            next_header: IpProtocol::Udp,
            payload_len: 4,
            hop_limit: 64,
            traffic_class: 0xb9,
            flow_label: 0x12345,
        }
    }

    #[test]
    fn parse() {
        let p = Ipv6Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xb9);
        assert_eq!((p.dscp(), p.ecn()), (46, 1));
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload_len(), 4);
        assert_eq!(p.total_len(), 44);
        assert_eq!(p.next_header(), IpProtocol::Udp);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr().to_string(), "2001:db8::1");
        assert_eq!(p.dst_addr().to_string(), "ff02::1:ff00:2");
        assert!(p.dst_addr().is_multicast());
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn emit_writes_every_byte() {
        let mut buf = poisoned(HEADER_LEN);
        repr().emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &PACKET[..HEADER_LEN]);
    }

    #[test]
    fn truncated_header() {
        for len in [0, 1, 8, 39] {
            assert_eq!(
                Ipv6Packet::new_checked(&PACKET[..len]).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn truncated_payload() {
        for len in [40, 43] {
            assert_eq!(
                Ipv6Packet::new_checked(&PACKET[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        assert!(Ipv6Packet::new_checked(&PACKET[..44]).is_ok());
        let mut bytes = PACKET;
        bytes[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(
            Ipv6Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn bad_version() {
        for v in [0x4b, 0x0b, 0x7b, 0xfb] {
            let mut bytes = PACKET;
            bytes[0] = v;
            assert_eq!(
                Ipv6Packet::new_checked(&bytes[..]).unwrap_err(),
                Error::Malformed
            );
        }
    }

    #[test]
    fn empty_payload() {
        let mut bytes = PACKET;
        bytes[4..6].copy_from_slice(&0u16.to_be_bytes());
        let p = Ipv6Packet::new_checked(&bytes[..40]).unwrap();
        assert!(p.payload().is_empty());
    }

    #[test]
    fn setters() {
        let mut bytes = PACKET;
        let mut p = Ipv6Packet::new_unchecked(&mut bytes[..]);
        p.set_flow_label(0xfff_ffff);
        assert_eq!(p.flow_label(), 0xfffff);
        assert_eq!(p.traffic_class(), 0xb9);
        p.set_dscp(10);
        p.set_ecn(3);
        assert_eq!(p.traffic_class(), (10 << 2) | 3);
        p.set_traffic_class(0xff);
        assert_eq!((p.version(), p.flow_label()), (6, 0xfffff));
        p.set_version(7);
        assert_eq!((p.version(), p.traffic_class()), (7, 0xff));
        p.set_version(6);
        p.set_payload_len(2);
        p.set_next_header(IpProtocol::Unknown(0xfd));
        p.set_hop_limit(1);
        p.set_src_addr(Ipv6Address::LOOPBACK);
        p.set_dst_addr(Ipv6Address::UNSPECIFIED);
        p.payload_mut().copy_from_slice(&[1, 2]);
        let p = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.next_header(), IpProtocol::Unknown(0xfd));
        assert_eq!(p.hop_limit(), 1);
        assert!(p.src_addr().is_loopback() && p.dst_addr().is_unspecified());
        assert_eq!(p.payload(), &[1, 2]);
    }

    #[test]
    fn unknown_next_header_round_trips() {
        let mut r = repr();
        r.next_header = IpProtocol::Unknown(0xfd);
        let mut buf = poisoned(44);
        r.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(
            Ipv6Repr::parse(&Ipv6Packet::new_checked(&buf[..]).unwrap()).unwrap(),
            r
        );
    }

    #[test]
    #[should_panic(expected = "exceeds 65535")]
    fn emit_rejects_oversized_payload() {
        let mut r = repr();
        r.payload_len = 65536;
        r.emit(&mut Ipv6Packet::new_unchecked(&mut poisoned(40)[..]));
    }

    #[test]
    fn address_display_rfc5952() {
        let cases: &[([u16; 8], &str)] = &[
            ([0; 8], "::"),
            ([0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            ([1, 0, 0, 0, 0, 0, 0, 0], "1::"),
            ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
            // A single zero group is not shortened.
            ([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], "2001:db8:0:1:1:1:1:1"),
            // The longest run wins; the first one on a tie.
            ([0x2001, 0, 0, 1, 0, 0, 0, 1], "2001:0:0:1::1"),
            ([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"),
            (
                [0xfe80, 0, 0, 0, 0x0211, 0x22ff, 0xfe33, 0x4455],
                "fe80::211:22ff:fe33:4455",
            ),
            ([0xABCD, 0xEF01, 1, 2, 3, 4, 5, 6], "abcd:ef01:1:2:3:4:5:6"),
            ([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], "::ffff:192.0.2.1"),
            // IPv4-compatible (deprecated) addresses are plain hex.
            ([0, 0, 0, 0, 0, 0, 0xc000, 0x0201], "::c000:201"),
        ];
        for (groups, text) in cases {
            let a = Ipv6Address::from_groups(*groups);
            assert_eq!(a.to_string(), *text);
            assert_eq!(format!("{a:?}"), *text);
            assert_eq!(text.parse::<Ipv6Address>().unwrap(), a, "{text}");
            assert_eq!(a.groups(), *groups);
        }
    }

    #[test]
    fn address_from_str() {
        let ok: &[(&str, [u16; 8])] = &[
            ("0:0:0:0:0:0:0:0", [0; 8]),
            (
                "2001:DB8:0000:0:0:0:0:0001",
                [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1],
            ),
            ("1:2:3:4:5:6:7::", [1, 2, 3, 4, 5, 6, 7, 0]),
            ("::2:3:4:5:6:7:8", [0, 2, 3, 4, 5, 6, 7, 8]),
            ("1:2:3:4:5:6:1.2.3.4", [1, 2, 3, 4, 5, 6, 0x0102, 0x0304]),
            ("::1.2.3.4", [0, 0, 0, 0, 0, 0, 0x0102, 0x0304]),
            (
                "64:ff9b::192.0.2.33",
                [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221],
            ),
        ];
        for (text, groups) in ok {
            assert_eq!(
                text.parse::<Ipv6Address>().unwrap(),
                Ipv6Address::from_groups(*groups),
                "{text}"
            );
        }
        for bad in [
            "",
            ":",
            ":::",
            "1::2::3",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4::5:6:7:8",
            "12345::",
            "g::",
            "+1::",
            ":1::",
            "1::2:",
            "1.2.3.4::",
            "1.2.3.4",
            "::1.2.3",
            "::1.2.3.4:5",
            "1:2:3:4:5:6:7:1.2.3.4",
            "fe80::1%eth0",
            " ::1",
        ] {
            assert!(bad.parse::<Ipv6Address>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn address_predicates() {
        let a: Ipv6Address = "fe80::1".parse().unwrap();
        assert!(a.is_link_local() && !a.is_multicast());
        assert!(!"fec0::1".parse::<Ipv6Address>().unwrap().is_link_local());
        assert_eq!(
            "::ffff:10.0.0.1"
                .parse::<Ipv6Address>()
                .unwrap()
                .ipv4_mapped(),
            Some([10, 0, 0, 1])
        );
        assert_eq!(Ipv6Address::LOOPBACK.ipv4_mapped(), None);
    }

    fn arb_repr() -> impl Strategy<Value = Ipv6Repr> {
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u8>(),
            0usize..2000,
            any::<u8>(),
            any::<u8>(),
            0u32..0x10_0000,
        )
            .prop_map(|(s, d, nh, plen, hl, tc, fl)| Ipv6Repr {
                src_addr: Ipv6Address(s),
                dst_addr: Ipv6Address(d),
                next_header: IpProtocol::from(nh),
                payload_len: plen,
                hop_limit: hl,
                traffic_class: tc,
                flow_label: fl,
            })
    }

    fn exercise(bytes: &[u8]) {
        if let Ok(p) = Ipv6Packet::new_checked(bytes) {
            let _ = (p.version(), p.traffic_class(), p.dscp(), p.ecn());
            let _ = (p.flow_label(), p.next_header(), p.hop_limit());
            let _ = (p.src_addr(), p.dst_addr());
            assert_eq!(p.payload().len(), usize::from(p.payload_len()));
            let r = Ipv6Repr::parse(&p).unwrap();
            assert_eq!(r.payload_len, p.payload().len());
        }
        let _ = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(bytes));
    }

    /// Addresses biased towards zero groups, so `::` placement is exercised.
    fn arb_addr() -> impl Strategy<Value = Ipv6Address> {
        proptest::collection::vec(prop_oneof![Just(0u16), Just(0xffff), any::<u16>()], 8)
            .prop_map(|g| Ipv6Address::from_groups(g.try_into().unwrap()))
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in arb_repr()) {
            let mut buf = poisoned(HEADER_LEN + r.payload_len);
            r.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
            let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Ipv6Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            exercise(&bytes);
        }

        #[test]
        fn plausible_bytes_never_panic(
            mut bytes in proptest::collection::vec(any::<u8>(), 40..100),
            plen in 0u16..70,
        ) {
            bytes[0] = 0x60 | (bytes[0] & 0x0f);
            bytes[4..6].copy_from_slice(&plen.to_be_bytes());
            exercise(&bytes);
        }

        #[test]
        fn address_text_matches_std(a in arb_addr()) {
            let s = a.to_string();
            prop_assert_eq!(&s, &core::net::Ipv6Addr::from(a).to_string());
            prop_assert_eq!(s.parse::<Ipv6Address>().unwrap(), a);
            // The uncompressed form parses too.
            let g = a.groups();
            let long = format!(
                "{:X}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:04x}",
                g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
            );
            prop_assert_eq!(long.parse::<Ipv6Address>().unwrap(), a);
        }

        #[test]
        fn address_parse_agrees_with_std_on_tokens(
            tokens in proptest::collection::vec(
                prop_oneof![
                    Just(":"), Just("::"), Just(":::"), Just("0"), Just("1"), Just("abcd"),
                    Just("fFfF"), Just("12345"), Just("00001"), Just("1.2.3.4"),
                    Just("256.1.1.1"), Just("01.2.3.4"), Just("."), Just("g"),
                ],
                0..16,
            ),
        ) {
            let s = tokens.concat();
            let ours = s.parse::<Ipv6Address>().ok();
            let std = s.parse::<core::net::Ipv6Addr>().ok().map(Ipv6Address::from);
            prop_assert_eq!(ours, std, "{:?}", s);
        }

        #[test]
        fn address_parse_agrees_with_std(s in "[0-9a-f:.]{0,24}") {
            let ours = s.parse::<Ipv6Address>().ok();
            let std = s.parse::<core::net::Ipv6Addr>().ok().map(Ipv6Address::from);
            prop_assert_eq!(ours, std);
        }
    }
}
