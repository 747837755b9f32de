//! ICMPv6 (RFC 4443) and the Neighbor Discovery messages and options of
//! RFC 4861.
//!
//! The view covers the whole ICMPv6 message; the checksum covers it plus the
//! IPv6 pseudo-header. Once `check_len` has succeeded the buffer holds the
//! 8-byte header and, for the ND messages, their fixed part (router
//! solicitation 8 bytes, router advertisement 16, neighbor solicitation and
//! advertisement 24, redirect 40). Type-specific accessors return `None` for
//! other types, so none of them can panic.
//!
//! ND options are walked by [`NdOptionIter`], which yields an error for a
//! zero-length or overlong option and then stops.

use super::{Error, EthernetAddress, Field, IpProtocol, Result, be, checksum, enum_with_unknown};
use core::{iter::FusedIterator, ops};

enum_with_unknown! {
    /// ICMPv6 message types.
    pub enum Icmpv6Message(u8) {
        DstUnreachable = 1,
        PacketTooBig = 2,
        TimeExceeded = 3,
        ParamProblem = 4,
        EchoRequest = 128,
        EchoReply = 129,
        /// Multicast listener query (MLDv1 and v2).
        MldQuery = 130,
        /// MLDv1 report.
        MldReport = 131,
        /// MLDv1 done.
        MldDone = 132,
        RouterSolicit = 133,
        RouterAdvert = 134,
        NeighborSolicit = 135,
        NeighborAdvert = 136,
        Redirect = 137,
        /// MLDv2 report (RFC 3810).
        Mldv2Report = 143,
    }
}

impl Icmpv6Message {
    /// True for error messages (types below 128).
    #[inline]
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// Shortest valid message of this type, as `check_len` enforces.
    #[inline]
    pub fn min_len(self) -> usize {
        match self {
            Icmpv6Message::RouterAdvert => 16,
            Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert => 24,
            Icmpv6Message::Redirect => 40,
            _ => HEADER_LEN,
        }
    }

    /// Where the ND options start, for the five ND message types.
    #[inline]
    pub fn nd_options_offset(self) -> Option<usize> {
        match self {
            Icmpv6Message::RouterSolicit
            | Icmpv6Message::RouterAdvert
            | Icmpv6Message::NeighborSolicit
            | Icmpv6Message::NeighborAdvert
            | Icmpv6Message::Redirect => Some(self.min_len()),
            _ => None,
        }
    }

    fn has_target(self) -> bool {
        matches!(
            self,
            Icmpv6Message::NeighborSolicit
                | Icmpv6Message::NeighborAdvert
                | Icmpv6Message::Redirect
        )
    }
}

/// Neighbor advertisement flags: the top three bits of byte 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NaFlags(u8);

impl NaFlags {
    /// R: the sender is a router.
    pub const ROUTER: NaFlags = NaFlags(0x80);
    /// S: sent in response to a solicitation.
    pub const SOLICITED: NaFlags = NaFlags(0x40);
    /// O: override an existing cache entry.
    pub const OVERRIDE: NaFlags = NaFlags(0x20);
    /// No flag set.
    pub const EMPTY: NaFlags = NaFlags(0);

    /// Flags from the flags byte; the five reserved bits are dropped.
    #[inline]
    pub const fn from_bits_truncate(bits: u8) -> NaFlags {
        NaFlags(bits & 0xe0)
    }

    /// The flags byte (reserved bits zero).
    #[inline]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True when every flag of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: NaFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl ops::BitOr for NaFlags {
    type Output = NaFlags;
    fn bitor(self, rhs: NaFlags) -> NaFlags {
        NaFlags(self.0 | rhs.0)
    }
}

enum_with_unknown! {
    /// Neighbor Discovery option types.
    pub enum NdOptionType(u8) {
        SourceLinkLayerAddr = 1,
        TargetLinkLayerAddr = 2,
        PrefixInformation = 3,
        RedirectedHeader = 4,
        Mtu = 5,
        /// SEND nonce (RFC 3971), also used by DAD (RFC 7527).
        Nonce = 14,
        /// Recursive DNS server (RFC 8106).
        Rdnss = 25,
        /// DNS search list (RFC 8106).
        Dnssl = 31,
    }
}

/// One ND option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdOption<'a> {
    /// Source link-layer address (type 1) holding a MAC (length 1).
    SourceLinkLayerAddr(EthernetAddress),
    /// Target link-layer address (type 2) holding a MAC (length 1).
    TargetLinkLayerAddr(EthernetAddress),
    /// Any other option, or a link-layer address option that is not 8 bytes
    /// long. `data` is what follows the type and length octets.
    Other {
        option_type: NdOptionType,
        data: &'a [u8],
    },
}

impl NdOption<'_> {
    /// The option type.
    pub fn option_type(&self) -> NdOptionType {
        match self {
            NdOption::SourceLinkLayerAddr(_) => NdOptionType::SourceLinkLayerAddr,
            NdOption::TargetLinkLayerAddr(_) => NdOptionType::TargetLinkLayerAddr,
            NdOption::Other { option_type, .. } => *option_type,
        }
    }

    /// Bytes `emit` writes: a multiple of 8.
    pub fn buffer_len(&self) -> usize {
        match self {
            NdOption::SourceLinkLayerAddr(_) | NdOption::TargetLinkLayerAddr(_) => 8,
            NdOption::Other { data, .. } => (2 + data.len()).next_multiple_of(8),
        }
    }

    /// Writes the option, zero-padded, into the first
    /// [`buffer_len`](Self::buffer_len) bytes of `buf`.
    ///
    /// # Panics
    /// When `buf` is too short or the option is longer than 255 * 8 bytes.
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let units = u8::try_from(len / 8).expect("ND option too long");
        let buf = &mut buf[..len];
        buf[0] = self.option_type().into();
        buf[1] = units;
        let body = &mut buf[2..];
        let data: &[u8] = match self {
            NdOption::SourceLinkLayerAddr(mac) | NdOption::TargetLinkLayerAddr(mac) => &mac.0,
            NdOption::Other { data, .. } => data,
        };
        let (head, pad) = body.split_at_mut(data.len());
        head.copy_from_slice(data);
        pad.fill(0);
    }
}

/// Iterates over ND options.
///
/// An option whose length octet is 0 yields [`Error::Malformed`]; one that
/// runs past the buffer, or a single trailing byte, yields
/// [`Error::Truncated`]. After an error the iterator ends.
#[derive(Debug, Clone)]
pub struct NdOptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> NdOptionIter<'a> {
    /// Iterates over the options in `data`.
    pub const fn new(data: &'a [u8]) -> NdOptionIter<'a> {
        NdOptionIter { rest: data }
    }

    fn fail(&mut self, e: Error) -> Option<Result<NdOption<'a>>> {
        self.rest = &[];
        Some(Err(e))
    }
}

impl<'a> Iterator for NdOptionIter<'a> {
    type Item = Result<NdOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.rest;
        if data.is_empty() {
            return None;
        }
        if data.len() < 2 {
            return self.fail(Error::Truncated);
        }
        let len = usize::from(data[1]) * 8;
        if len == 0 {
            return self.fail(Error::Malformed);
        }
        if len > data.len() {
            return self.fail(Error::Truncated);
        }
        let (opt, rest) = data.split_at(len);
        self.rest = rest;
        let option_type = NdOptionType::from(opt[0]);
        Some(Ok(match (option_type, len) {
            (NdOptionType::SourceLinkLayerAddr, 8) => {
                NdOption::SourceLinkLayerAddr(EthernetAddress::from_bytes(&opt[2..8]))
            }
            (NdOptionType::TargetLinkLayerAddr, 8) => {
                NdOption::TargetLinkLayerAddr(EthernetAddress::from_bytes(&opt[2..8]))
            }
            _ => NdOption::Other {
                option_type,
                data: &opt[2..],
            },
        }))
    }
}

impl FusedIterator for NdOptionIter<'_> {}

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ_NO: Field = 6..8;
    pub const NA_FLAGS: usize = 4;
    pub const TARGET: Field = 8..24;
    pub const REDIRECT_DST: Field = 24..40;
    pub const DATA: usize = 8;
}

/// Length of the ICMPv6 header (type, code, checksum, four more bytes).
pub const HEADER_LEN: usize = field::DATA;

/// A view over an ICMPv6 message.
#[derive(Debug, Clone)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn addr16(b: &[u8]) -> [u8; 16] {
    let mut a = [0; 16];
    a.copy_from_slice(b);
    a
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Icmpv6Packet<T> {
        Icmpv6Packet { buffer }
    }

    /// Wraps `buffer` and calls [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Icmpv6Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the
    /// header or than the fixed part of its ND message type.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < self.msg_type().min_len() {
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
    pub fn msg_type(&self) -> Icmpv6Message {
        Icmpv6Message::from(self.buffer.as_ref()[field::TYPE])
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

    /// The four type-specific bytes after the checksum (MTU, pointer,
    /// echo identifier and sequence, ND flags and reserved bits...).
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

    /// The R, S and O flags (meaningful for neighbor advertisements).
    #[inline]
    pub fn na_flags(&self) -> NaFlags {
        NaFlags::from_bits_truncate(self.buffer.as_ref()[field::NA_FLAGS])
    }

    /// The target address of a neighbor solicitation, advertisement or
    /// redirect; `None` for other types.
    #[inline]
    pub fn target_addr(&self) -> Option<[u8; 16]> {
        if !self.msg_type().has_target() {
            return None;
        }
        self.buffer.as_ref().get(field::TARGET).map(addr16)
    }

    /// The destination address of a redirect; `None` for other types.
    #[inline]
    pub fn redirect_dst_addr(&self) -> Option<[u8; 16]> {
        if self.msg_type() != Icmpv6Message::Redirect {
            return None;
        }
        self.buffer.as_ref().get(field::REDIRECT_DST).map(addr16)
    }

    /// Everything after the 8-byte header.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// The ND option bytes; empty for non-ND types.
    #[inline]
    pub fn nd_options_bytes(&self) -> &[u8] {
        self.msg_type()
            .nd_options_offset()
            .and_then(|off| self.buffer.as_ref().get(off..))
            .unwrap_or(&[])
    }

    /// An iterator over the ND options; empty for non-ND types.
    #[inline]
    pub fn nd_options(&self) -> NdOptionIter<'_> {
        NdOptionIter::new(self.nd_options_bytes())
    }

    /// True when the checksum verifies against the IPv6 pseudo-header.
    pub fn verify_checksum(&self, src: [u8; 16], dst: [u8; 16]) -> bool {
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, data.len() as u32);
        checksum::verify(pseudo, data)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the message type. Changing it to an ND type may require a longer
    /// buffer; call `check_len` again before reading.
    #[inline]
    pub fn set_msg_type(&mut self, value: Icmpv6Message) {
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

    /// Sets the R, S and O flags, keeping the reserved bits.
    #[inline]
    pub fn set_na_flags(&mut self, value: NaFlags) {
        let b = &mut self.buffer.as_mut()[field::NA_FLAGS];
        *b = (*b & 0x1f) | value.bits();
    }

    /// Sets the target address (bytes 8..24).
    #[inline]
    pub fn set_target_addr(&mut self, value: [u8; 16]) {
        self.buffer.as_mut()[field::TARGET].copy_from_slice(&value)
    }

    /// Sets a redirect's destination address (bytes 24..40).
    #[inline]
    pub fn set_redirect_dst_addr(&mut self, value: [u8; 16]) {
        self.buffer.as_mut()[field::REDIRECT_DST].copy_from_slice(&value)
    }

    /// Everything after the header, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// The ND option bytes, mutable; empty for non-ND types.
    #[inline]
    pub fn nd_options_mut(&mut self) -> &mut [u8] {
        let off = self.msg_type().nd_options_offset();
        let buf = self.buffer.as_mut();
        match off {
            Some(off) if off <= buf.len() => &mut buf[off..],
            _ => &mut [],
        }
    }

    /// Computes and stores the checksum over the IPv6 pseudo-header and the
    /// whole buffer.
    pub fn fill_checksum(&mut self, src: [u8; 16], dst: [u8; 16]) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, data.len() as u32);
        let c = checksum::compute(pseudo, data);
        self.set_checksum(c)
    }

    /// Patches the checksum incrementally (RFC 1624) after covered bytes (in
    /// the message or the pseudo-header) changed from `old` to `new`; both
    /// must have the same, even length.
    pub fn adjust_checksum(&mut self, old: &[u8], new: &[u8]) {
        let c = checksum::update_bytes(self.checksum(), old, new);
        self.set_checksum(c)
    }
}

/// The value form of an ICMPv6 message header.
///
/// Echo messages with code 0 parse as `EchoRequest`/`EchoReply`. A neighbor
/// solicitation (advertisement) with code 0, zero reserved bits and either
/// no option or a single source (target) link-layer address option parses
/// as `NeighborSolicit` (`NeighborAdvert`). Everything else parses as
/// `Other`, which keeps type, code and the rest-of-header bytes so the
/// header emits identically; the bytes after it are the caller's (for
/// `Other` and echo, `data_len` only sizes the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Repr {
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
    NeighborSolicit {
        target_addr: [u8; 16],
        source_ll_addr: Option<EthernetAddress>,
    },
    NeighborAdvert {
        flags: NaFlags,
        target_addr: [u8; 16],
        target_ll_addr: Option<EthernetAddress>,
    },
    Other {
        msg_type: Icmpv6Message,
        code: u8,
        rest: [u8; 4],
        data_len: usize,
    },
}

/// For NS/NA parsing: `Some(ll)` when the options are exactly nothing or a
/// single link-layer address option of type `want`, `None` when there is
/// anything else. Errors from malformed options are returned.
fn only_ll_option<T: AsRef<[u8]>>(
    packet: &Icmpv6Packet<T>,
    want: NdOptionType,
) -> Result<Option<Option<EthernetAddress>>> {
    let mut found = None;
    let mut extra = false;
    for opt in packet.nd_options() {
        let addr = match (opt?, want) {
            (NdOption::SourceLinkLayerAddr(a), NdOptionType::SourceLinkLayerAddr)
            | (NdOption::TargetLinkLayerAddr(a), NdOptionType::TargetLinkLayerAddr) => Some(a),
            _ => None,
        };
        match (addr, found) {
            (Some(a), None) => found = Some(a),
            _ => extra = true,
        }
    }
    Ok(if extra { None } else { Some(found) })
}

impl Icmpv6Repr {
    /// Parses a view. The checksum is not verified (use
    /// [`Icmpv6Packet::verify_checksum`]); the ND options of a neighbor
    /// solicitation or advertisement are, and a bad one is an error.
    pub fn parse<T: AsRef<[u8]>>(packet: &Icmpv6Packet<T>) -> Result<Icmpv6Repr> {
        packet.check_len()?;
        let msg_type = packet.msg_type();
        let code = packet.msg_code();
        let rest = packet.rest_of_header();
        let data_len = packet.data().len();
        let (ident, seq_no) = (packet.echo_ident(), packet.echo_seq_no());
        let target = packet.target_addr();
        let repr = match (msg_type, code, target) {
            (Icmpv6Message::EchoRequest, 0, _) => Some(Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data_len,
            }),
            (Icmpv6Message::EchoReply, 0, _) => Some(Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data_len,
            }),
            (Icmpv6Message::NeighborSolicit, 0, Some(target_addr)) if rest == [0; 4] => {
                only_ll_option(packet, NdOptionType::SourceLinkLayerAddr)?.map(|source_ll_addr| {
                    Icmpv6Repr::NeighborSolicit {
                        target_addr,
                        source_ll_addr,
                    }
                })
            }
            (Icmpv6Message::NeighborAdvert, 0, Some(target_addr))
                if rest[0] & 0x1f == 0 && rest[1..] == [0; 3] =>
            {
                only_ll_option(packet, NdOptionType::TargetLinkLayerAddr)?.map(|target_ll_addr| {
                    Icmpv6Repr::NeighborAdvert {
                        flags: packet.na_flags(),
                        target_addr,
                        target_ll_addr,
                    }
                })
            }
            _ => None,
        };
        Ok(repr.unwrap_or(Icmpv6Repr::Other {
            msg_type,
            code,
            rest,
            data_len,
        }))
    }

    /// Header plus data length `emit` and the caller fill.
    pub const fn buffer_len(&self) -> usize {
        match *self {
            Icmpv6Repr::EchoRequest { data_len, .. }
            | Icmpv6Repr::EchoReply { data_len, .. }
            | Icmpv6Repr::Other { data_len, .. } => HEADER_LEN + data_len,
            Icmpv6Repr::NeighborSolicit {
                source_ll_addr: ll, ..
            }
            | Icmpv6Repr::NeighborAdvert {
                target_ll_addr: ll, ..
            } => 24 + if ll.is_some() { 8 } else { 0 },
        }
    }

    /// Writes the message (checksum zero) into `packet`, whose buffer must be
    /// at least [`buffer_len`](Self::buffer_len) bytes long (for echo and
    /// `Other`, only the 8-byte header is written). Then call
    /// [`Icmpv6Packet::fill_checksum`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv6Packet<T>) {
        let (msg_type, code, rest) = match *self {
            Icmpv6Repr::EchoRequest { ident, seq_no, .. } => {
                (Icmpv6Message::EchoRequest, 0, echo_rest(ident, seq_no))
            }
            Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
                (Icmpv6Message::EchoReply, 0, echo_rest(ident, seq_no))
            }
            Icmpv6Repr::NeighborSolicit { .. } => (Icmpv6Message::NeighborSolicit, 0, [0; 4]),
            Icmpv6Repr::NeighborAdvert { flags, .. } => {
                (Icmpv6Message::NeighborAdvert, 0, [flags.bits(), 0, 0, 0])
            }
            Icmpv6Repr::Other {
                msg_type,
                code,
                rest,
                ..
            } => (msg_type, code, rest),
        };
        packet.set_msg_type(msg_type);
        packet.set_msg_code(code);
        packet.set_checksum(0);
        packet.set_rest_of_header(rest);
        let (target_addr, option) = match *self {
            Icmpv6Repr::NeighborSolicit {
                target_addr,
                source_ll_addr,
            } => (
                target_addr,
                source_ll_addr.map(NdOption::SourceLinkLayerAddr),
            ),
            Icmpv6Repr::NeighborAdvert {
                target_addr,
                target_ll_addr,
                ..
            } => (
                target_addr,
                target_ll_addr.map(NdOption::TargetLinkLayerAddr),
            ),
            _ => return,
        };
        packet.set_target_addr(target_addr);
        if let Some(opt) = option {
            opt.emit(packet.nd_options_mut());
        }
    }
}

fn echo_rest(ident: u16, seq_no: u16) -> [u8; 4] {
    let [a, b] = ident.to_be_bytes();
    let [c, d] = seq_no.to_be_bytes();
    [a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    /// fe80::a00:27ff:fe12:3456
    const HOST_A: [u8; 16] = [
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x0a, 0x00, 0x27, 0xff, 0xfe, 0x12, 0x34, 0x56,
    ];
    /// fe80::20c:29ff:fe9a:bcde
    const HOST_B: [u8; 16] = [
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x0c, 0x29, 0xff, 0xfe, 0x9a, 0xbc, 0xde,
    ];
    /// ff02::1:ff9a:bcde, HOST_B's solicited-node group.
    const SOLICITED_B: [u8; 16] = [
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x9a, 0xbc, 0xde,
    ];
    const MAC_A: EthernetAddress = EthernetAddress([0x08, 0x00, 0x27, 0x12, 0x34, 0x56]);
    const MAC_B: EthernetAddress = EthernetAddress([0x00, 0x0c, 0x29, 0x9a, 0xbc, 0xde]);

    /// A asks for B's MAC: NS to B's solicited-node group, SLL option.
    static NS: [u8; 32] = [
        0x87, 0x00, 0x0f, 0xcf, 0x00, 0x00, 0x00, 0x00, // type, code, checksum, reserved
        0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target
        0x02, 0x0c, 0x29, 0xff, 0xfe, 0x9a, 0xbc, 0xde, //
        0x01, 0x01, 0x08, 0x00, 0x27, 0x12, 0x34, 0x56, // SLL option
    ];

    /// B answers A: solicited, override, TLL option.
    static NA: [u8; 32] = [
        0x88, 0x00, 0x00, 0x2a, 0x60, 0x00, 0x00, 0x00, // type, code, checksum, S|O
        0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target
        0x02, 0x0c, 0x29, 0xff, 0xfe, 0x9a, 0xbc, 0xde, //
        0x02, 0x01, 0x00, 0x0c, 0x29, 0x9a, 0xbc, 0xde, // TLL option
    ];

    /// Echo request 2001:db8::1 -> 2001:db8::2, id 0x0b0d, seq 7, "abcdefgh".
    static ECHO: [u8; 16] = [
        0x80, 0x00, 0x87, 0x96, 0x0b, 0x0d, 0x00, 0x07, b'a', b'b', b'c', b'd', b'e', b'f', b'g',
        b'h',
    ];

    fn doc_addr(last: u8) -> [u8; 16] {
        let mut a = [0; 16];
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[15] = last;
        a
    }

    fn emit_and_fill(r: &Icmpv6Repr, src: [u8; 16], dst: [u8; 16], data: &[u8]) -> Vec<u8> {
        let mut buf = poisoned(r.buffer_len());
        let mut p = Icmpv6Packet::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        let tail = p.data_mut();
        let start = tail.len() - data.len();
        tail[start..].copy_from_slice(data);
        p.fill_checksum(src, dst);
        buf
    }

    #[test]
    fn parse_neighbor_solicit() {
        let p = Icmpv6Packet::new_checked(&NS[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::NeighborSolicit);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x0fcf);
        assert!(p.verify_checksum(HOST_A, SOLICITED_B));
        assert!(!p.verify_checksum(HOST_B, SOLICITED_B));
        assert_eq!(p.target_addr(), Some(HOST_B));
        assert_eq!(p.redirect_dst_addr(), None);
        let opts: Vec<_> = p.nd_options().collect();
        assert_eq!(opts, [Ok(NdOption::SourceLinkLayerAddr(MAC_A))]);
        assert_eq!(
            Icmpv6Repr::parse(&p).unwrap(),
            Icmpv6Repr::NeighborSolicit {
                target_addr: HOST_B,
                source_ll_addr: Some(MAC_A),
            }
        );
    }

    #[test]
    fn emit_neighbor_solicit_writes_every_byte() {
        let r = Icmpv6Repr::NeighborSolicit {
            target_addr: HOST_B,
            source_ll_addr: Some(MAC_A),
        };
        assert_eq!(emit_and_fill(&r, HOST_A, SOLICITED_B, &[]), NS);
    }

    #[test]
    fn parse_and_emit_neighbor_advert() {
        let p = Icmpv6Packet::new_checked(&NA[..]).unwrap();
        assert!(p.verify_checksum(HOST_B, HOST_A));
        let flags = p.na_flags();
        assert!(flags.contains(NaFlags::SOLICITED | NaFlags::OVERRIDE));
        assert!(!flags.contains(NaFlags::ROUTER));
        assert_eq!(p.target_addr(), Some(HOST_B));
        let r = Icmpv6Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Icmpv6Repr::NeighborAdvert {
                flags: NaFlags::SOLICITED | NaFlags::OVERRIDE,
                target_addr: HOST_B,
                target_ll_addr: Some(MAC_B),
            }
        );
        assert_eq!(emit_and_fill(&r, HOST_B, HOST_A, &[]), NA);
    }

    #[test]
    fn ns_without_option() {
        let r = Icmpv6Repr::NeighborSolicit {
            target_addr: HOST_B,
            source_ll_addr: None,
        };
        let buf = emit_and_fill(&r, [0; 16], SOLICITED_B, &[]); // DAD probe
        assert_eq!(buf.len(), 24);
        let p = Icmpv6Packet::new_checked(&buf[..]).unwrap();
        assert!(p.verify_checksum([0; 16], SOLICITED_B));
        assert_eq!(p.nd_options().count(), 0);
        assert_eq!(Icmpv6Repr::parse(&p).unwrap(), r);
    }

    #[test]
    fn parse_and_emit_echo() {
        let (src, dst) = (doc_addr(1), doc_addr(2));
        let p = Icmpv6Packet::new_checked(&ECHO[..]).unwrap();
        assert!(p.verify_checksum(src, dst));
        assert_eq!(p.echo_ident(), 0x0b0d);
        assert_eq!(p.echo_seq_no(), 7);
        assert_eq!(p.target_addr(), None);
        assert_eq!(p.nd_options().count(), 0);
        let r = Icmpv6Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Icmpv6Repr::EchoRequest {
                ident: 0x0b0d,
                seq_no: 7,
                data_len: 8
            }
        );
        assert_eq!(emit_and_fill(&r, src, dst, b"abcdefgh"), ECHO);
    }

    #[test]
    fn ns_with_extra_option_is_other() {
        // NS + nonce option (DAD, RFC 7527): kept as Other, header round-trips.
        let mut bytes = NS.to_vec();
        bytes.extend_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]);
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        let opts: Vec<_> = p.nd_options().map(|o| o.unwrap()).collect();
        assert_eq!(opts.len(), 2);
        assert_eq!(
            opts[1],
            NdOption::Other {
                option_type: NdOptionType::Nonce,
                data: &[1, 2, 3, 4, 5, 6]
            }
        );
        let r = Icmpv6Repr::parse(&p).unwrap();
        assert_eq!(
            r,
            Icmpv6Repr::Other {
                msg_type: Icmpv6Message::NeighborSolicit,
                code: 0,
                rest: [0; 4],
                data_len: 32
            }
        );
        let mut buf = bytes.clone();
        buf[..8].fill(0xa5);
        r.emit(&mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        buf[2..4].copy_from_slice(&bytes[2..4]);
        assert_eq!(buf, bytes);
    }

    #[test]
    fn router_solicit_options() {
        // RS with an SLL option, then a longer (IEEE 1394-style) SLL.
        let mut bytes = vec![133, 0, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&[1, 1, 0x08, 0x00, 0x27, 0x12, 0x34, 0x56]);
        bytes.extend_from_slice(&[1, 2, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0]);
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        let opts: Vec<_> = p.nd_options().map(|o| o.unwrap()).collect();
        assert_eq!(opts[0], NdOption::SourceLinkLayerAddr(MAC_A));
        assert_eq!(opts[1].option_type(), NdOptionType::SourceLinkLayerAddr);
        assert!(matches!(opts[1], NdOption::Other { data, .. } if data.len() == 14));
        for o in &opts {
            let mut out = poisoned(o.buffer_len());
            o.emit(&mut out);
            let back: Vec<_> = NdOptionIter::new(&out).collect();
            assert_eq!(back, [Ok(*o)]);
        }
    }

    #[test]
    fn truncated_header() {
        assert_eq!(
            Icmpv6Packet::new_checked(&ECHO[..7]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn truncated_ns_target() {
        assert_eq!(
            Icmpv6Packet::new_checked(&NS[..23]).unwrap_err(),
            Error::Truncated
        );
        assert!(Icmpv6Packet::new_checked(&NS[..24]).is_ok());
    }

    #[test]
    fn truncated_redirect() {
        let mut bytes = [0u8; 39];
        bytes[0] = 137;
        assert_eq!(
            Icmpv6Packet::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn zero_length_option_is_malformed_and_stops() {
        let mut bytes = NS;
        bytes[25] = 0;
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.nd_options().collect::<Vec<_>>(), [Err(Error::Malformed)]);
        assert_eq!(Icmpv6Repr::parse(&p).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn option_past_buffer_is_truncated() {
        let mut bytes = NS;
        bytes[25] = 2;
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.nd_options().collect::<Vec<_>>(), [Err(Error::Truncated)]);
        assert_eq!(Icmpv6Repr::parse(&p).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn single_trailing_option_byte_is_truncated() {
        let mut bytes = NS.to_vec();
        bytes.push(1);
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        let v: Vec<_> = p.nd_options().collect();
        assert_eq!(
            v,
            [
                Ok(NdOption::SourceLinkLayerAddr(MAC_A)),
                Err(Error::Truncated)
            ]
        );
    }

    #[test]
    fn adjust_checksum_for_target_rewrite() {
        let mut bytes = NS;
        let mut p = Icmpv6Packet::new_unchecked(&mut bytes[..]);
        let new_target = doc_addr(9);
        p.set_target_addr(new_target);
        p.adjust_checksum(&HOST_B, &new_target);
        let new_mac = [2, 0, 0, 0, 0, 1];
        p.nd_options_mut()[2..8].copy_from_slice(&new_mac);
        p.adjust_checksum(&MAC_A.0, &new_mac);
        assert!(p.verify_checksum(HOST_A, SOLICITED_B));
    }

    #[test]
    fn message_kinds() {
        assert!(Icmpv6Message::PacketTooBig.is_error());
        assert!(!Icmpv6Message::EchoReply.is_error());
        assert_eq!(Icmpv6Message::from(143), Icmpv6Message::Mldv2Report);
        assert_eq!(Icmpv6Message::RouterAdvert.nd_options_offset(), Some(16));
        assert_eq!(Icmpv6Message::MldQuery.nd_options_offset(), None);
    }

    fn arb_mac() -> impl Strategy<Value = Option<EthernetAddress>> {
        proptest::option::of(any::<[u8; 6]>().prop_map(EthernetAddress))
    }

    fn arb_repr() -> impl Strategy<Value = Icmpv6Repr> {
        prop_oneof![
            (any::<u16>(), any::<u16>(), 0usize..64).prop_map(|(ident, seq_no, data_len)| {
                Icmpv6Repr::EchoRequest {
                    ident,
                    seq_no,
                    data_len,
                }
            }),
            (any::<u16>(), any::<u16>(), 0usize..64).prop_map(|(ident, seq_no, data_len)| {
                Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data_len,
                }
            }),
            (any::<[u8; 16]>(), arb_mac()).prop_map(|(target_addr, source_ll_addr)| {
                Icmpv6Repr::NeighborSolicit {
                    target_addr,
                    source_ll_addr,
                }
            }),
            (any::<u8>(), any::<[u8; 16]>(), arb_mac()).prop_map(|(f, target_addr, ll)| {
                Icmpv6Repr::NeighborAdvert {
                    flags: NaFlags::from_bits_truncate(f),
                    target_addr,
                    target_ll_addr: ll,
                }
            }),
            (any::<u8>(), any::<u8>(), any::<[u8; 4]>(), 0usize..64)
                .prop_map(|(t, code, rest, data_len)| {
                    let msg_type = Icmpv6Message::from(t);
                    // Make room for the type's fixed part.
                    let data_len = data_len.max(msg_type.min_len() - HEADER_LEN);
                    Icmpv6Repr::Other {
                        msg_type,
                        code,
                        rest,
                        data_len,
                    }
                })
                .prop_filter("canonical Other", |r| match *r {
                    Icmpv6Repr::Other { msg_type, code, .. } => {
                        code != 0
                            || !matches!(
                                msg_type,
                                Icmpv6Message::EchoRequest
                                    | Icmpv6Message::EchoReply
                                    | Icmpv6Message::NeighborSolicit
                                    | Icmpv6Message::NeighborAdvert
                            )
                    }
                    _ => true,
                }),
        ]
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in arb_repr()) {
            let (src, dst) = (doc_addr(1), doc_addr(2));
            let mut buf = poisoned(r.buffer_len());
            let mut p = Icmpv6Packet::new_unchecked(&mut buf[..]);
            r.emit(&mut p);
            p.fill_checksum(src, dst);
            let p = Icmpv6Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum(src, dst));
            prop_assert_eq!(Icmpv6Repr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(
            msg_type in prop_oneof![Just(133u8), Just(134), Just(135), Just(136), Just(137), any::<u8>()],
            mut bytes in proptest::collection::vec(any::<u8>(), 0..72),
        ) {
            if let Some(b) = bytes.first_mut() {
                *b = msg_type;
            }
            match Icmpv6Packet::new_checked(&bytes[..]) {
                Ok(p) => {
                    let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header());
                    let _ = (p.echo_ident(), p.echo_seq_no(), p.na_flags(), p.data());
                    let _ = (p.target_addr(), p.redirect_dst_addr());
                    let _ = p.verify_checksum([0; 16], [1; 16]);
                    prop_assert!(p.nd_options().count() <= bytes.len() / 8 + 1);
                    let _ = Icmpv6Repr::parse(&p);
                }
                Err(_) => {
                    prop_assert!(Icmpv6Repr::parse(&Icmpv6Packet::new_unchecked(&bytes[..])).is_err())
                }
            }
        }

        #[test]
        fn option_iter_never_loops(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert!(NdOptionIter::new(&bytes).count() <= bytes.len() / 8 + 1);
        }
    }
}
