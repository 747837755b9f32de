//! ICMP for IPv4 (RFC 792): type, code, checksum and the four
//! "rest of header" bytes, whose meaning depends on the type (identifier and
//! sequence number for echo messages).
//!
//! The view covers the whole ICMP message, which is what the checksum covers
//! (there is no pseudo-header). Once `check_len` has succeeded the buffer
//! holds the 8-byte header.

use super::{Error, Field, Result, be, checksum, enum_with_unknown};

enum_with_unknown! {
    /// ICMPv4 message types.
    pub enum Icmpv4Message(u8) {
        EchoReply = 0,
        DstUnreachable = 3,
        SourceQuench = 4,
        Redirect = 5,
        EchoRequest = 8,
        RouterAdvert = 9,
        RouterSolicit = 10,
        TimeExceeded = 11,
        ParamProblem = 12,
        Timestamp = 13,
        TimestampReply = 14,
    }
}

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ_NO: Field = 6..8;
    pub const DATA: usize = 8;
}

/// Length of an ICMPv4 header.
pub const HEADER_LEN: usize = field::DATA;

/// A view over an ICMPv4 message.
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    /// Wraps `buffer` and calls [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the
    /// header.
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

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The message code.
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// The four type-specific bytes after the checksum.
    #[inline]
    pub fn rest_of_header(&self) -> [u8; 4] {
        let b = &self.buffer.as_ref()[field::REST];
        [b[0], b[1], b[2], b[3]]
    }

    /// The echo identifier (meaningful for echo messages).
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::ECHO_IDENT])
    }

    /// The echo sequence number (meaningful for echo messages).
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::ECHO_SEQ_NO])
    }

    /// Everything after the 8-byte header.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// True when the checksum over the whole buffer verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(0, self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: Icmpv4Message) {
        self.buffer.as_mut()[field::TYPE] = value.into()
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::CHECKSUM], value)
    }

    /// Sets the four type-specific bytes.
    #[inline]
    pub fn set_rest_of_header(&mut self, value: [u8; 4]) {
        self.buffer.as_mut()[field::REST].copy_from_slice(&value)
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::ECHO_IDENT], value)
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::ECHO_SEQ_NO], value)
    }

    /// Everything after the header, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::compute(0, self.buffer.as_ref());
        self.set_checksum(c)
    }
}

/// The value form of an ICMPv4 header. The data after the header is not
/// part of the value: `data_len` only sizes the buffer.
///
/// Echo messages with code 0 parse as `EchoRequest`/`EchoReply`; every other
/// message (an echo with a non-zero code included) parses as `Other`, which
/// keeps type, code and the rest-of-header bytes so it emits identically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Repr {
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data_len: usize,
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data_len: usize,
    },
    Other {
        msg_type: Icmpv4Message,
        code: u8,
        rest: [u8; 4],
        data_len: usize,
    },
}

impl Icmpv4Repr {
    /// Parses a view; the checksum is not verified (use
    /// [`Icmpv4Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Icmpv4Packet<T>) -> Result<Icmpv4Repr> {
        packet.check_len()?;
        let data_len = packet.data().len();
        let (ident, seq_no) = (packet.echo_ident(), packet.echo_seq_no());
        Ok(match (packet.msg_type(), packet.msg_code()) {
            (Icmpv4Message::EchoRequest, 0) => Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data_len,
            },
            (Icmpv4Message::EchoReply, 0) => Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data_len,
            },
            (msg_type, code) => Icmpv4Repr::Other {
                msg_type,
                code,
                rest: packet.rest_of_header(),
                data_len,
            },
        })
    }

    /// Length of the header.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Length of the data after the header.
    pub const fn data_len(&self) -> usize {
        match *self {
            Icmpv4Repr::EchoRequest { data_len, .. }
            | Icmpv4Repr::EchoReply { data_len, .. }
            | Icmpv4Repr::Other { data_len, .. } => data_len,
        }
    }

    /// Header plus data length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data_len()
    }

    /// Writes the header (checksum zero) into `packet`, whose buffer must be
    /// at least 8 bytes long. Write the data, then call
    /// [`Icmpv4Packet::fill_checksum`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) {
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. } => {
                packet.set_msg_type(Icmpv4Message::EchoRequest);
                packet.set_msg_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
            }
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                packet.set_msg_type(Icmpv4Message::EchoReply);
                packet.set_msg_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
            }
            Icmpv4Repr::Other {
                msg_type,
                code,
                rest,
                ..
            } => {
                packet.set_msg_type(msg_type);
                packet.set_msg_code(code);
                packet.set_rest_of_header(rest);
            }
        }
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    /// A Linux `ping` echo request: identifier 0x1c46, sequence 1, a 16-byte
    /// timestamp then the bytes 0x10..=0x37.
    static ECHO: [u8; 64] = [
        0x08, 0x00, 0x90, 0x58, 0x1c, 0x46, 0x00, 0x01, // header
        0xe1, 0xc6, 0x65, 0x67, 0x00, 0x00, 0x00, 0x00, // timestamp
        0x3a, 0x5f, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
        0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34,
        0x35, 0x36, 0x37,
    ];

    fn echo_repr() -> Icmpv4Repr {
        Icmpv4Repr::EchoRequest {
            ident: 0x1c46,
            seq_no: 1,
            data_len: 56,
        }
    }

    #[test]
    fn parse_echo_request() {
        let p = Icmpv4Packet::new_checked(&ECHO[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv4Message::EchoRequest);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x9058);
        assert_eq!(p.echo_ident(), 0x1c46);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.rest_of_header(), [0x1c, 0x46, 0x00, 0x01]);
        assert_eq!(p.data(), &ECHO[8..]);
        assert!(p.verify_checksum());
        assert_eq!(Icmpv4Repr::parse(&p).unwrap(), echo_repr());
    }

    #[test]
    fn emit_echo_request_writes_every_byte() {
        let r = echo_repr();
        let mut buf = poisoned(r.buffer_len());
        let mut p = Icmpv4Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.data_mut().copy_from_slice(&ECHO[8..]);
        p.fill_checksum();
        assert_eq!(&buf[..], &ECHO[..]);
    }

    #[test]
    fn echo_reply() {
        let mut bytes = ECHO;
        let mut p = Icmpv4Packet::new_unchecked(&mut bytes[..]);
        p.set_msg_type(Icmpv4Message::EchoReply);
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(
            Icmpv4Repr::parse(&p).unwrap(),
            Icmpv4Repr::EchoReply {
                ident: 0x1c46,
                seq_no: 1,
                data_len: 56
            }
        );
    }

    #[test]
    fn bad_checksum() {
        let mut bytes = ECHO;
        bytes[63] ^= 0x80;
        assert!(
            !Icmpv4Packet::new_checked(&bytes[..])
                .unwrap()
                .verify_checksum()
        );
    }

    #[test]
    fn truncated() {
        assert_eq!(
            Icmpv4Packet::new_checked(&ECHO[..7]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn unknown_and_error_messages_round_trip() {
        // Fragmentation needed (type 3, code 4) with next-hop MTU 1400, then
        // an unassigned type 42.
        for header in [
            [0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x05, 0x78],
            [42, 7, 0x00, 0x00, 1, 2, 3, 4],
            [0x08, 0x01, 0x00, 0x00, 0, 1, 0, 2],
        ] {
            let p = Icmpv4Packet::new_checked(&header[..]).unwrap();
            let r = Icmpv4Repr::parse(&p).unwrap();
            assert!(matches!(r, Icmpv4Repr::Other { .. }));
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
            assert_eq!(&buf[..], &header[..]);
        }
    }

    fn arb_repr() -> impl Strategy<Value = Icmpv4Repr> {
        prop_oneof![
            (any::<u16>(), any::<u16>(), 0usize..64).prop_map(|(ident, seq_no, data_len)| {
                Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no,
                    data_len,
                }
            }),
            (any::<u16>(), any::<u16>(), 0usize..64).prop_map(|(ident, seq_no, data_len)| {
                Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data_len,
                }
            }),
            (any::<u8>(), any::<u8>(), any::<[u8; 4]>(), 0usize..64)
                .prop_filter("echo with code 0 parses as echo", |(t, c, _, _)| {
                    !((*t == 0 || *t == 8) && *c == 0)
                })
                .prop_map(|(t, code, rest, data_len)| Icmpv4Repr::Other {
                    msg_type: Icmpv4Message::from(t),
                    code,
                    rest,
                    data_len,
                }),
        ]
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in arb_repr()) {
            let mut buf = poisoned(r.buffer_len());
            let mut p = Icmpv4Packet::new_unchecked(&mut buf[..]);
            r.emit(&mut p);
            p.fill_checksum();
            let p = Icmpv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(Icmpv4Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            match Icmpv4Packet::new_checked(&bytes[..]) {
                Ok(p) => {
                    let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header());
                    let _ = (p.echo_ident(), p.echo_seq_no(), p.data(), p.verify_checksum());
                    let r = Icmpv4Repr::parse(&p).unwrap();
                    prop_assert_eq!(r.buffer_len(), bytes.len());
                }
                Err(_) => {
                    prop_assert!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&bytes[..])).is_err())
                }
            }
        }
    }
}
