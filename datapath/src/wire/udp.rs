//! UDP datagrams (RFC 768; IPv6 rules from RFC 8200 section 8.1).
//!
//! Once `check_len` has succeeded the buffer holds the 8-byte header and the
//! length field is at least 8 and at most the buffer length. The datagram
//! (and its payload) ends where the length field says; bytes past it (link
//! padding) are ignored. IPv6 jumbograms (length field 0) are rejected as
//! malformed.
//!
//! Over IPv4 a zero checksum means "none"; over IPv6 it is mandatory. A
//! computed checksum of zero is sent as `0xffff`.

use super::{Error, Field, IpProtocol, Result, be, checksum};

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// Length of a UDP header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A view over a UDP datagram.
#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> UdpPacket<T> {
        UdpPacket { buffer }
    }

    /// Wraps `buffer` and calls [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<UdpPacket<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the
    /// header or than the length field, and with [`Error::Malformed`] when the
    /// length field is below 8.
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.length());
        if len < HEADER_LEN {
            Err(Error::Malformed)
        } else if len > buf_len {
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

    /// The length field (header plus payload).
    #[inline]
    pub fn length(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// The payload, up to the length field.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..usize::from(self.length())]
    }

    /// The datagram as the length field delimits it.
    #[inline]
    fn datagram(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.length())]
    }

    /// True when the checksum is zero (absent) or verifies against an IPv4
    /// pseudo-header.
    pub fn verify_checksum_v4(&self, src: [u8; 4], dst: [u8; 4]) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let pseudo =
            checksum::pseudo_header_v4(src, dst, IpProtocol::Udp, u32::from(self.length()));
        checksum::verify(pseudo, self.datagram())
    }

    /// True when the checksum is present and verifies against an IPv6
    /// pseudo-header.
    pub fn verify_checksum_v6(&self, src: [u8; 16], dst: [u8; 16]) -> bool {
        if self.checksum() == 0 {
            return false;
        }
        let pseudo =
            checksum::pseudo_header_v6(src, dst, IpProtocol::Udp, u32::from(self.length()));
        checksum::verify(pseudo, self.datagram())
    }
}

/// Zero means "no checksum", so a computed zero goes on the wire as its
/// one's-complement twin.
#[inline]
fn nonzero(c: u16) -> u16 {
    if c == 0 { 0xffff } else { c }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
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

    /// Sets the length field.
    #[inline]
    pub fn set_length(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::LENGTH], value)
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value)
    }

    /// The payload, up to the length field, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.length());
        &mut self.buffer.as_mut()[field::PAYLOAD..end]
    }

    /// Computes and stores the checksum over an IPv4 pseudo-header and the
    /// datagram (never zero).
    pub fn fill_checksum_v4(&mut self, src: [u8; 4], dst: [u8; 4]) {
        self.set_checksum(0);
        let pseudo =
            checksum::pseudo_header_v4(src, dst, IpProtocol::Udp, u32::from(self.length()));
        let c = checksum::compute(pseudo, self.datagram());
        self.set_checksum(nonzero(c))
    }

    /// Computes and stores the checksum over an IPv6 pseudo-header and the
    /// datagram (never zero).
    pub fn fill_checksum_v6(&mut self, src: [u8; 16], dst: [u8; 16]) {
        self.set_checksum(0);
        let pseudo =
            checksum::pseudo_header_v6(src, dst, IpProtocol::Udp, u32::from(self.length()));
        let c = checksum::compute(pseudo, self.datagram());
        self.set_checksum(nonzero(c))
    }

    /// Patches the checksum incrementally (RFC 1624) after covered bytes (in
    /// the datagram or the pseudo-header) changed from `old` to `new`; both
    /// must have the same, even length. A zero (absent) checksum stays zero.
    pub fn adjust_checksum(&mut self, old: &[u8], new: &[u8]) {
        let c = self.checksum();
        if c != 0 {
            self.set_checksum(nonzero(checksum::update_bytes(c, old, new)))
        }
    }
}

/// The value form of a UDP header. The payload is not part of the value:
/// `payload_len` gives the length field (`8 + payload_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl UdpRepr {
    /// Parses a view; the checksum is not verified.
    pub fn parse<T: AsRef<[u8]>>(packet: &UdpPacket<T>) -> Result<UdpRepr> {
        packet.check_len()?;
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.length()) - HEADER_LEN,
        })
    }

    /// Length of the header.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus payload length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the header (checksum zero, i.e. none) into `packet`, whose
    /// buffer must be at least 8 bytes long. Write the payload, then call
    /// `fill_checksum_v4`/`_v6`.
    ///
    /// # Panics
    /// When `8 + payload_len` does not fit the 16-bit length field.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>) {
        let len = u16::try_from(self.buffer_len()).expect("UDP datagram too long");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_length(len);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    const SRC: [u8; 4] = [192, 168, 1, 100];
    const DST: [u8; 4] = [8, 8, 8, 8];
    const SRC6: [u8; 16] = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
    ];
    const DST6: [u8; 16] = [
        0x20, 0x01, 0x48, 0x60, 0x48, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x88,
    ];

    /// A DNS query for `example.com A`, 192.168.1.100:53000 -> 8.8.8.8:53.
    static DNS: [u8; 37] = [
        0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0x74, 0xb1, // UDP header
        0x1a, 0x2b, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // DNS header
        0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'c', b'o', b'm', 0x00, // qname
        0x00, 0x01, 0x00, 0x01, // A, IN
    ];

    fn dns_repr() -> UdpRepr {
        UdpRepr {
            src_port: 53000,
            dst_port: 53,
            payload_len: 29,
        }
    }

    #[test]
    fn parse_dns_query() {
        let p = UdpPacket::new_checked(&DNS[..]).unwrap();
        assert_eq!(p.src_port(), 53000);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.length(), 37);
        assert_eq!(p.checksum(), 0x74b1);
        assert_eq!(p.payload(), &DNS[8..]);
        assert!(p.verify_checksum_v4(SRC, DST));
        assert!(!p.verify_checksum_v4(SRC, [8, 8, 4, 4]));
        assert_eq!(UdpRepr::parse(&p).unwrap(), dns_repr());
    }

    #[test]
    fn emit_dns_query_writes_every_byte() {
        let r = dns_repr();
        let mut buf = poisoned(r.buffer_len());
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.payload_mut().copy_from_slice(&DNS[8..]);
        p.fill_checksum_v4(SRC, DST);
        assert_eq!(&buf[..], &DNS[..]);
    }

    #[test]
    fn checksum_v6() {
        let mut bytes = DNS;
        let mut p = UdpPacket::new_unchecked(&mut bytes[..]);
        p.fill_checksum_v6(SRC6, DST6);
        assert_eq!(p.checksum(), 0xdeca);
        assert!(p.verify_checksum_v6(SRC6, DST6));
        assert!(!p.verify_checksum_v6(DST6, DST6));
        p.set_checksum(0);
        assert!(!p.verify_checksum_v6(SRC6, DST6), "mandatory over IPv6");
    }

    #[test]
    fn zero_checksum_v4_means_none() {
        let mut bytes = DNS;
        let mut p = UdpPacket::new_unchecked(&mut bytes[..]);
        p.set_checksum(0);
        assert!(p.verify_checksum_v4(SRC, DST));
        p.adjust_checksum(&SRC, &[10, 0, 0, 1]);
        assert_eq!(p.checksum(), 0);
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // All-zero addresses and ports; the payload word makes the sum 0xffff.
        let mut bytes = [0, 0, 0, 0, 0, 10, 0, 0, 0xff, 0xda];
        let mut p = UdpPacket::new_unchecked(&mut bytes[..]);
        p.fill_checksum_v4([0; 4], [0; 4]);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v4([0; 4], [0; 4]));
        p.fill_checksum_v6([0; 16], [0; 16]);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v6([0; 16], [0; 16]));
    }

    #[test]
    fn adjust_matches_recompute() {
        let mut bytes = DNS;
        let mut p = UdpPacket::new_unchecked(&mut bytes[..]);
        p.set_dst_port(5353);
        p.adjust_checksum(&53u16.to_be_bytes(), &5353u16.to_be_bytes());
        p.adjust_checksum(&DST, &[1, 1, 1, 1]);
        let adjusted = p.checksum();
        p.fill_checksum_v4(SRC, [1, 1, 1, 1]);
        assert_eq!(adjusted, p.checksum());
    }

    #[test]
    fn payload_stops_at_length() {
        let mut bytes = [0u8; 48];
        bytes[..37].copy_from_slice(&DNS);
        let p = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload().len(), 29);
        assert!(p.verify_checksum_v4(SRC, DST));
    }

    #[test]
    fn truncated_header() {
        assert_eq!(
            UdpPacket::new_checked(&DNS[..7]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn length_beyond_buffer() {
        assert_eq!(
            UdpPacket::new_checked(&DNS[..36]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn length_below_header() {
        let mut bytes = DNS;
        bytes[4..6].copy_from_slice(&[0, 7]);
        assert_eq!(
            UdpPacket::new_checked(&bytes[..]).unwrap_err(),
            Error::Malformed
        );
        bytes[4..6].copy_from_slice(&[0, 0]);
        assert_eq!(
            UdpPacket::new_checked(&bytes[..]).unwrap_err(),
            Error::Malformed
        );
    }

    proptest! {
        #[test]
        fn repr_round_trips(src_port: u16, dst_port: u16, payload_len in 0usize..2000) {
            let r = UdpRepr { src_port, dst_port, payload_len };
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut UdpPacket::new_unchecked(&mut buf[..]));
            let p = UdpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(UdpRepr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(
            mut bytes in proptest::collection::vec(any::<u8>(), 0..64),
            length in 0u16..72,
        ) {
            // Mostly plausible length fields, so both outcomes get exercised.
            if bytes.len() >= HEADER_LEN && length < 70 {
                bytes[4..6].copy_from_slice(&length.to_be_bytes());
            }
            match UdpPacket::new_checked(&bytes[..]) {
                Ok(p) => {
                    let _ = (p.src_port(), p.dst_port(), p.checksum(), p.payload());
                    let _ = p.verify_checksum_v4([1; 4], [2; 4]);
                    let _ = p.verify_checksum_v6([1; 16], [2; 16]);
                    let r = UdpRepr::parse(&p).unwrap();
                    prop_assert!(r.buffer_len() <= bytes.len());
                }
                Err(_) => {
                    prop_assert!(UdpRepr::parse(&UdpPacket::new_unchecked(&bytes[..])).is_err())
                }
            }
        }
    }
}
