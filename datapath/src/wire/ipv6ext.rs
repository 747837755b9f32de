//! IPv6 extension headers (RFC 8200 section 4) and the IPsec Authentication
//! Header (RFC 4302), which flow extraction must be able to skip.
//!
//! * [`Ipv6OptionsHeader`]: hop-by-hop and destination options share one
//!   layout: next header, `hdr_ext_len` (8-octet units beyond the first 8),
//!   then type-length-value options ([`Ipv6OptionsIter`]).
//! * [`Ipv6RoutingHeader`]: next header, `hdr_ext_len`, routing type,
//!   segments left, type-specific data.
//! * [`Ipv6FragmentHeader`]: always 8 bytes; 13-bit offset in 8-octet units,
//!   M flag, 32-bit identification.
//! * [`AhHeader`]: its length field counts 4-octet units minus 2.
//!
//! A checked view guarantees the buffer holds the whole header its length
//! field announces; `payload` is everything after it. The `Repr`s of the
//! variable-length headers borrow their variable part (`&'a [u8]`) rather
//! than copying up to 2 KiB; their `emit` pads it to the header's unit size
//! (with Pad1/PadN options, or zeros for routing data and ICV).

use super::{Error, Field, IpProtocol, Result, be, enum_with_unknown};

mod field {
    use super::Field;
    pub const NXT_HDR: usize = 0;
    pub const LENGTH: usize = 1;
    // Hop-by-hop and destination options.
    pub const OPTIONS: usize = 2;
    // Routing.
    pub const ROUTING_TYPE: usize = 2;
    pub const SEG_LEFT: usize = 3;
    pub const ROUTING_DATA: usize = 4;
    // Fragment.
    pub const FRAG_RESERVED: usize = 1;
    pub const FRAG_OFF_M: Field = 2..4;
    pub const FRAG_IDENT: Field = 4..8;
    // Authentication header.
    pub const AH_RESERVED: Field = 2..4;
    pub const AH_SPI: Field = 4..8;
    pub const AH_SEQ: Field = 8..12;
    pub const AH_ICV: usize = 12;
}

/// Shortest hop-by-hop, destination options or routing header.
pub const EXT_HEADER_MIN_LEN: usize = 8;
/// Longest hop-by-hop, destination options or routing header.
pub const EXT_HEADER_MAX_LEN: usize = ext_header_len(u8::MAX);
/// Length of a fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;
/// Shortest authentication header (no ICV).
pub const AH_MIN_HEADER_LEN: usize = field::AH_ICV;
/// Longest authentication header.
pub const AH_MAX_HEADER_LEN: usize = ah_header_len(u8::MAX);

/// Header length in bytes for a hop-by-hop, destination options or routing
/// header whose `hdr_ext_len` field is `hdr_ext_len`.
#[inline]
pub const fn ext_header_len(hdr_ext_len: u8) -> usize {
    (hdr_ext_len as usize + 1) * 8
}

/// Header length in bytes for an authentication header whose payload length
/// field is `payload_len` (4-octet units, minus 2). Values below 1 give less
/// than the 12-byte fixed part, which [`AhHeader::check_len`] rejects.
#[inline]
pub const fn ah_header_len(payload_len: u8) -> usize {
    (payload_len as usize + 2) * 4
}

const fn round_up(n: usize, unit: usize) -> usize {
    n.div_ceil(unit) * unit
}

/// True for the headers [`skip_extension_header`] can step over: hop-by-hop,
/// routing, fragment, destination options and AH. ESP is not one of them (its
/// payload is encrypted).
#[inline]
pub fn is_extension_header(protocol: IpProtocol) -> bool {
    matches!(
        protocol,
        IpProtocol::HopByHop
            | IpProtocol::Ipv6Route
            | IpProtocol::Ipv6Frag
            | IpProtocol::Ipv6Opts
            | IpProtocol::Ah
    )
}

/// For an extension header of type `protocol` at the start of `data`, its
/// next header and its length in bytes, once `data` is known to hold all of
/// it. [`Error::Unrecognized`] when `protocol` is not an extension header,
/// [`Error::Truncated`] when `data` is too short, [`Error::Malformed`] for an
/// AH shorter than its fixed part.
pub fn skip_extension_header(protocol: IpProtocol, data: &[u8]) -> Result<(IpProtocol, usize)> {
    let len = match protocol {
        IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
            ext_header_len(*data.get(field::LENGTH).ok_or(Error::Truncated)?)
        }
        IpProtocol::Ipv6Frag => FRAGMENT_HEADER_LEN,
        IpProtocol::Ah => {
            let len = ah_header_len(*data.get(field::LENGTH).ok_or(Error::Truncated)?);
            if len < AH_MIN_HEADER_LEN {
                return Err(Error::Malformed);
            }
            len
        }
        _ => return Err(Error::Unrecognized),
    };
    if data.len() < len {
        return Err(Error::Truncated);
    }
    Ok((IpProtocol::from(data[field::NXT_HDR]), len))
}

/// Length check shared by the headers whose length is `hdr_ext_len`.
fn check_ext_len(buf: &[u8]) -> Result<()> {
    if buf.len() < EXT_HEADER_MIN_LEN || buf.len() < ext_header_len(buf[field::LENGTH]) {
        Err(Error::Truncated)
    } else {
        Ok(())
    }
}

/// `buf[start..end]`, with both ends clamped to the buffer.
#[inline]
fn clamped(buf: &[u8], start: usize, end: usize) -> &[u8] {
    let end = end.min(buf.len());
    &buf[start.min(end)..end]
}

// ---------------------------------------------------------------------------
// Hop-by-hop and destination options.

enum_with_unknown! {
    /// Option types of hop-by-hop and destination options headers.
    pub enum Ipv6OptionType(u8) {
        /// One byte of padding, with no length or data.
        Pad1 = 0x00,
        /// Padding of 2 bytes or more.
        PadN = 0x01,
        /// Tunnel encapsulation limit (RFC 2473).
        TunnelEncapLimit = 0x04,
        /// Router alert (RFC 2711).
        RouterAlert = 0x05,
        /// Jumbo payload (RFC 2675).
        Jumbo = 0xc2,
        /// Mobile IPv6 home address (RFC 6275).
        HomeAddress = 0xc9,
    }
}

/// What a node that does not recognize an option must do, from the two high
/// bits of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnknownOptionAction {
    /// Skip the option.
    Skip,
    /// Discard the packet.
    Discard,
    /// Discard and send an ICMPv6 Parameter Problem.
    DiscardSendIcmp,
    /// Discard and send an ICMPv6 Parameter Problem unless the destination
    /// is multicast.
    DiscardSendIcmpUnicast,
}

impl Ipv6OptionType {
    /// The action the type's two high bits demand when it is unrecognized.
    pub fn unknown_action(self) -> UnknownOptionAction {
        match u8::from(self) >> 6 {
            0 => UnknownOptionAction::Skip,
            1 => UnknownOptionAction::Discard,
            2 => UnknownOptionAction::DiscardSendIcmp,
            _ => UnknownOptionAction::DiscardSendIcmpUnicast,
        }
    }

    /// True when the option data may change en route (third-highest bit).
    pub fn may_change(self) -> bool {
        u8::from(self) & 0x20 != 0
    }
}

/// One option of an options header. `Pad1` has no data; for every other
/// type `data` is the option's value (at most 255 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Option<'a> {
    pub option_type: Ipv6OptionType,
    pub data: &'a [u8],
}

impl<'a> Ipv6Option<'a> {
    /// A Pad1 or PadN option filling exactly `len` bytes (`1..=257`).
    ///
    /// # Panics
    /// When `len` is 0 or above 257.
    pub fn padding(len: usize) -> Ipv6Option<'static> {
        const ZEROS: [u8; 255] = [0; 255];
        match len {
            1 => Ipv6Option {
                option_type: Ipv6OptionType::Pad1,
                data: &[],
            },
            2..=257 => Ipv6Option {
                option_type: Ipv6OptionType::PadN,
                data: &ZEROS[..len - 2],
            },
            _ => panic!("no single padding option is {len} bytes long"),
        }
    }

    /// True for Pad1 and PadN.
    pub fn is_padding(&self) -> bool {
        matches!(
            self.option_type,
            Ipv6OptionType::Pad1 | Ipv6OptionType::PadN
        )
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self.option_type {
            Ipv6OptionType::Pad1 => 1,
            _ => 2 + self.data.len(),
        }
    }

    /// Writes the option at the start of `buf` (Pad1 ignores `data`).
    ///
    /// # Panics
    /// When `data` is longer than 255 bytes or `buf` shorter than
    /// [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        buf[0] = self.option_type.into();
        if self.option_type != Ipv6OptionType::Pad1 {
            buf[1] = u8::try_from(self.data.len()).expect("IPv6 option data exceeds 255 bytes");
            buf[2..2 + self.data.len()].copy_from_slice(self.data);
        }
    }
}

/// Iterates over the options of an options area, padding included, in
/// order. An option running past the end of the area yields
/// [`Error::Malformed`] once, then the iteration ends.
#[derive(Debug, Clone)]
pub struct Ipv6OptionsIter<'a> {
    rest: &'a [u8],
}

impl<'a> Ipv6OptionsIter<'a> {
    /// Iterates over `options`, an options area.
    pub fn new(options: &'a [u8]) -> Ipv6OptionsIter<'a> {
        Ipv6OptionsIter { rest: options }
    }
}

impl<'a> Iterator for Ipv6OptionsIter<'a> {
    type Item = Result<Ipv6Option<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&t, after_type) = self.rest.split_first()?;
        let option_type = Ipv6OptionType::from(t);
        if option_type == Ipv6OptionType::Pad1 {
            self.rest = after_type;
            return Some(Ok(Ipv6Option {
                option_type,
                data: &[],
            }));
        }
        let parsed = after_type.split_first().and_then(|(&len, after_len)| {
            let len = usize::from(len);
            (after_len.len() >= len).then(|| after_len.split_at(len))
        });
        match parsed {
            Some((data, rest)) => {
                self.rest = rest;
                Some(Ok(Ipv6Option { option_type, data }))
            }
            None => {
                self.rest = &[];
                Some(Err(Error::Malformed))
            }
        }
    }
}

impl core::iter::FusedIterator for Ipv6OptionsIter<'_> {}

/// A view over a hop-by-hop or destination options header.
#[derive(Debug, Clone)]
pub struct Ipv6OptionsHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6OptionsHeader<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Ipv6OptionsHeader<T> {
        Ipv6OptionsHeader { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Ipv6OptionsHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// [`Error::Truncated`] when the buffer is shorter than 8 bytes or than
    /// [`header_len`](Self::header_len). The options themselves are checked
    /// by [`Ipv6OptionsRepr::parse`] and [`Ipv6OptionsIter`].
    pub fn check_len(&self) -> Result<()> {
        check_ext_len(self.buffer.as_ref())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The type of the header after this one.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The raw length field: 8-octet units beyond the first 8.
    #[inline]
    pub fn hdr_ext_len(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// Header length in bytes (8..=2048).
    #[inline]
    pub fn header_len(&self) -> usize {
        ext_header_len(self.hdr_ext_len())
    }

    /// The options area: the header after its first two bytes.
    #[inline]
    pub fn options(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), field::OPTIONS, self.header_len())
    }

    /// The options, in order, padding included.
    #[inline]
    pub fn options_iter(&self) -> Ipv6OptionsIter<'_> {
        Ipv6OptionsIter::new(self.options())
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), self.header_len(), usize::MAX)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6OptionsHeader<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.into()
    }

    /// Sets the raw length field.
    #[inline]
    pub fn set_hdr_ext_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::LENGTH] = value
    }

    /// The options area, mutable.
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::OPTIONS..end]
    }

    /// Everything after the header, mutable.
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// The validated value form of a hop-by-hop or destination options header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6OptionsRepr<'a> {
    pub next_header: IpProtocol,
    /// The options area, as TLV bytes. `parse` returns all of it, padding
    /// included; `emit` pads it to a multiple of 8 bytes (with the first two).
    pub options: &'a [u8],
}

impl<'a> Ipv6OptionsRepr<'a> {
    /// Parses a view, checking its length and that its options are well
    /// formed ([`Error::Malformed`] when one runs past the header).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &Ipv6OptionsHeader<&'a T>) -> Result<Self> {
        header.check_len()?;
        let buf: &'a T = header.buffer;
        let options = &buf.as_ref()[field::OPTIONS..header.header_len()];
        for o in Ipv6OptionsIter::new(options) {
            o?;
        }
        Ok(Ipv6OptionsRepr {
            next_header: header.next_header(),
            options,
        })
    }

    /// The options, in order, padding included.
    pub fn options_iter(&self) -> Ipv6OptionsIter<'a> {
        Ipv6OptionsIter::new(self.options)
    }

    /// Bytes `emit` writes: the options area plus two, rounded up to 8.
    pub const fn buffer_len(&self) -> usize {
        round_up(field::OPTIONS + self.options.len(), 8)
    }

    /// Writes the header, padding the options area with one Pad1 or PadN
    /// option when it is not a multiple of 8 bytes (with the first two).
    ///
    /// # Panics
    /// When the header would exceed 2048 bytes or the buffer is shorter than
    /// [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Ipv6OptionsHeader<T>) {
        let len = self.buffer_len();
        assert!(
            len <= EXT_HEADER_MAX_LEN,
            "IPv6 options header exceeds 2048 bytes"
        );
        header.set_next_header(self.next_header);
        header.set_hdr_ext_len((len / 8 - 1) as u8);
        let area = header.options_mut();
        let (opts, pad) = area.split_at_mut(self.options.len());
        opts.copy_from_slice(self.options);
        if !pad.is_empty() {
            Ipv6Option::padding(pad.len()).emit(pad);
        }
    }
}

// ---------------------------------------------------------------------------
// Routing.

enum_with_unknown! {
    /// Routing header types.
    pub enum Ipv6RoutingType(u8) {
        /// Source route, deprecated by RFC 5095.
        Type0 = 0,
        /// Mobile IPv6 (RFC 6275).
        Type2 = 2,
        /// RPL source route (RFC 6554).
        Rpl = 3,
        /// Segment routing header (RFC 8754).
        SegmentRouting = 4,
    }
}

/// A view over a routing header.
#[derive(Debug, Clone)]
pub struct Ipv6RoutingHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6RoutingHeader<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Ipv6RoutingHeader<T> {
        Ipv6RoutingHeader { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Ipv6RoutingHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// [`Error::Truncated`] when the buffer is shorter than 8 bytes or than
    /// [`header_len`](Self::header_len).
    pub fn check_len(&self) -> Result<()> {
        check_ext_len(self.buffer.as_ref())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The type of the header after this one.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The raw length field: 8-octet units beyond the first 8.
    #[inline]
    pub fn hdr_ext_len(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// Header length in bytes (8..=2048).
    #[inline]
    pub fn header_len(&self) -> usize {
        ext_header_len(self.hdr_ext_len())
    }

    /// The routing type.
    #[inline]
    pub fn routing_type(&self) -> Ipv6RoutingType {
        Ipv6RoutingType::from(self.buffer.as_ref()[field::ROUTING_TYPE])
    }

    /// Route segments still to visit.
    #[inline]
    pub fn segments_left(&self) -> u8 {
        self.buffer.as_ref()[field::SEG_LEFT]
    }

    /// The type-specific data: the header after its first four bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), field::ROUTING_DATA, self.header_len())
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), self.header_len(), usize::MAX)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6RoutingHeader<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.into()
    }

    /// Sets the raw length field.
    #[inline]
    pub fn set_hdr_ext_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::LENGTH] = value
    }

    /// Sets the routing type.
    #[inline]
    pub fn set_routing_type(&mut self, value: Ipv6RoutingType) {
        self.buffer.as_mut()[field::ROUTING_TYPE] = value.into()
    }

    /// Sets segments left.
    #[inline]
    pub fn set_segments_left(&mut self, value: u8) {
        self.buffer.as_mut()[field::SEG_LEFT] = value
    }

    /// The type-specific data, mutable.
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[field::ROUTING_DATA..end]
    }

    /// Everything after the header, mutable.
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// The validated value form of a routing header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6RoutingRepr<'a> {
    pub next_header: IpProtocol,
    pub routing_type: Ipv6RoutingType,
    pub segments_left: u8,
    /// Type-specific data. `emit` pads it with zeros to a multiple of 8
    /// bytes (with the first four).
    pub data: &'a [u8],
}

impl<'a> Ipv6RoutingRepr<'a> {
    /// Parses a view, checking its length.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &Ipv6RoutingHeader<&'a T>) -> Result<Self> {
        header.check_len()?;
        let buf: &'a T = header.buffer;
        Ok(Ipv6RoutingRepr {
            next_header: header.next_header(),
            routing_type: header.routing_type(),
            segments_left: header.segments_left(),
            data: &buf.as_ref()[field::ROUTING_DATA..header.header_len()],
        })
    }

    /// Bytes `emit` writes: the data plus four, rounded up to 8.
    pub const fn buffer_len(&self) -> usize {
        round_up(field::ROUTING_DATA + self.data.len(), 8)
    }

    /// Writes the header, zero-padding the data.
    ///
    /// # Panics
    /// When the header would exceed 2048 bytes or the buffer is shorter than
    /// [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Ipv6RoutingHeader<T>) {
        let len = self.buffer_len();
        assert!(
            len <= EXT_HEADER_MAX_LEN,
            "IPv6 routing header exceeds 2048 bytes"
        );
        header.set_next_header(self.next_header);
        header.set_hdr_ext_len((len / 8 - 1) as u8);
        header.set_routing_type(self.routing_type);
        header.set_segments_left(self.segments_left);
        let (data, pad) = header.data_mut().split_at_mut(self.data.len());
        data.copy_from_slice(self.data);
        pad.fill(0);
    }
}

// ---------------------------------------------------------------------------
// Fragment.

const FRAG_OFFSET_SHIFT: u16 = 3;
const FRAG_RES_MASK: u16 = 0x0006;
const FRAG_M: u16 = 0x0001;

/// A view over a fragment header.
#[derive(Debug, Clone)]
pub struct Ipv6FragmentHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6FragmentHeader<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Ipv6FragmentHeader<T> {
        Ipv6FragmentHeader { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Ipv6FragmentHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// [`Error::Truncated`] when the buffer is shorter than 8 bytes.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < FRAGMENT_HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the header.
    pub const fn header_len() -> usize {
        FRAGMENT_HEADER_LEN
    }

    #[inline]
    fn off_m(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::FRAG_OFF_M])
    }

    /// The type of the header after this one (in the first fragment, the
    /// fragmentable part's first header).
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The reserved byte after the next header.
    #[inline]
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::FRAG_RESERVED]
    }

    /// The fragment offset, in units of 8 bytes (13 bits).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        self.off_m() >> FRAG_OFFSET_SHIFT
    }

    /// The two reserved bits between the offset and the M flag.
    #[inline]
    pub fn reserved_bits(&self) -> u8 {
        ((self.off_m() & FRAG_RES_MASK) >> 1) as u8
    }

    /// The M (more fragments) flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.off_m() & FRAG_M != 0
    }

    /// The identification.
    #[inline]
    pub fn ident(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::FRAG_IDENT])
    }

    /// True for the first fragment of a fragmented packet (offset zero, M
    /// set).
    #[inline]
    pub fn is_first_fragment(&self) -> bool {
        self.frag_offset() == 0 && self.more_frags()
    }

    /// True for a fragment other than the first (non-zero offset).
    #[inline]
    pub fn is_later_fragment(&self) -> bool {
        self.frag_offset() != 0
    }

    /// True for an atomic fragment (RFC 6946): offset zero, M clear; the
    /// whole packet is in this one fragment.
    #[inline]
    pub fn is_atomic(&self) -> bool {
        self.off_m() & !FRAG_RES_MASK == 0
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), FRAGMENT_HEADER_LEN, usize::MAX)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6FragmentHeader<T> {
    #[inline]
    fn set_off_m(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::FRAG_OFF_M], value)
    }

    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.into()
    }

    /// Sets the reserved byte.
    #[inline]
    pub fn set_reserved(&mut self, value: u8) {
        self.buffer.as_mut()[field::FRAG_RESERVED] = value
    }

    /// Sets the fragment offset, in units of 8 bytes (low 13 bits of `value`).
    #[inline]
    pub fn set_frag_offset(&mut self, value: u16) {
        let w = (self.off_m() & (FRAG_RES_MASK | FRAG_M)) | (value << FRAG_OFFSET_SHIFT);
        self.set_off_m(w)
    }

    /// Sets the two reserved bits (low 2 bits of `value`).
    #[inline]
    pub fn set_reserved_bits(&mut self, value: u8) {
        let w = (self.off_m() & !FRAG_RES_MASK) | ((u16::from(value) << 1) & FRAG_RES_MASK);
        self.set_off_m(w)
    }

    /// Sets the M flag.
    #[inline]
    pub fn set_more_frags(&mut self, on: bool) {
        let w = self.off_m() & !FRAG_M;
        self.set_off_m(if on { w | FRAG_M } else { w })
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, value: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::FRAG_IDENT], value)
    }

    /// Everything after the header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[FRAGMENT_HEADER_LEN..]
    }
}

/// The validated value form of a fragment header. Reserved fields are not
/// represented: `emit` writes them as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6FragmentRepr {
    pub next_header: IpProtocol,
    /// In units of 8 bytes (13 bits).
    pub frag_offset: u16,
    pub more_frags: bool,
    pub ident: u32,
}

impl Ipv6FragmentRepr {
    /// Parses a view, checking its length.
    pub fn parse<T: AsRef<[u8]>>(header: &Ipv6FragmentHeader<T>) -> Result<Self> {
        header.check_len()?;
        Ok(Ipv6FragmentRepr {
            next_header: header.next_header(),
            frag_offset: header.frag_offset(),
            more_frags: header.more_frags(),
            ident: header.ident(),
        })
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        FRAGMENT_HEADER_LEN
    }

    /// Writes the header. Offset bits above the low 13 are dropped.
    ///
    /// # Panics
    /// When the buffer is shorter than 8 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut Ipv6FragmentHeader<T>) {
        header.set_next_header(self.next_header);
        header.set_reserved(0);
        header.set_off_m((self.frag_offset << FRAG_OFFSET_SHIFT) | u16::from(self.more_frags));
        header.set_ident(self.ident);
    }
}

// ---------------------------------------------------------------------------
// Authentication header.

/// A view over an IPsec authentication header.
#[derive(Debug, Clone)]
pub struct AhHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AhHeader<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> AhHeader<T> {
        AhHeader { buffer }
    }

    /// Wraps `buffer` and runs [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<AhHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// [`Error::Truncated`] when the buffer is shorter than the 12-byte
    /// fixed part or than [`header_len`](Self::header_len);
    /// [`Error::Malformed`] when the length field gives less than 12 bytes.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < AH_MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < AH_MIN_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < header_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The type of the header after this one.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The raw payload length field: 4-octet units, minus 2.
    #[inline]
    pub fn payload_len(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }

    /// Header length in bytes, ICV included (12..=1028 once checked).
    #[inline]
    pub fn header_len(&self) -> usize {
        ah_header_len(self.payload_len())
    }

    /// The reserved field.
    #[inline]
    pub fn reserved(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::AH_RESERVED])
    }

    /// The security parameters index.
    #[inline]
    pub fn spi(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::AH_SPI])
    }

    /// The sequence number.
    #[inline]
    pub fn seq(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::AH_SEQ])
    }

    /// The integrity check value (with any padding).
    #[inline]
    pub fn icv(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), field::AH_ICV, self.header_len())
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), self.header_len(), usize::MAX)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AhHeader<T> {
    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = value.into()
    }

    /// Sets the raw payload length field.
    #[inline]
    pub fn set_payload_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::LENGTH] = value
    }

    /// Sets the reserved field.
    #[inline]
    pub fn set_reserved(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::AH_RESERVED], value)
    }

    /// Sets the security parameters index.
    #[inline]
    pub fn set_spi(&mut self, value: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::AH_SPI], value)
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq(&mut self, value: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::AH_SEQ], value)
    }

    /// The integrity check value, mutable.
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    #[inline]
    pub fn icv_mut(&mut self) -> &mut [u8] {
        let end = self.header_len().max(field::AH_ICV);
        &mut self.buffer.as_mut()[field::AH_ICV..end]
    }

    /// Everything after the header, mutable.
    ///
    /// # Panics
    /// When the buffer is shorter than the header.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// The validated value form of an authentication header. The reserved field
/// is not represented: `emit` writes it as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AhRepr<'a> {
    pub next_header: IpProtocol,
    pub spi: u32,
    pub seq: u32,
    /// The integrity check value. `emit` pads it with zeros to a multiple of
    /// 4 bytes (IPv6 needs a multiple of 8 for the whole header: the caller
    /// sizes the ICV accordingly).
    pub icv: &'a [u8],
}

impl<'a> AhRepr<'a> {
    /// Parses a view, checking its length.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &AhHeader<&'a T>) -> Result<Self> {
        header.check_len()?;
        let buf: &'a T = header.buffer;
        Ok(AhRepr {
            next_header: header.next_header(),
            spi: header.spi(),
            seq: header.seq(),
            icv: &buf.as_ref()[field::AH_ICV..header.header_len()],
        })
    }

    /// Bytes `emit` writes: 12 plus the ICV, rounded up to 4.
    pub const fn buffer_len(&self) -> usize {
        round_up(field::AH_ICV + self.icv.len(), 4)
    }

    /// Writes the header, zero-padding the ICV.
    ///
    /// # Panics
    /// When the header would exceed 1028 bytes or the buffer is shorter than
    /// [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut AhHeader<T>) {
        let len = self.buffer_len();
        assert!(
            len <= AH_MAX_HEADER_LEN,
            "authentication header exceeds 1028 bytes"
        );
        header.set_next_header(self.next_header);
        header.set_payload_len((len / 4 - 2) as u8);
        header.set_reserved(0);
        header.set_spi(self.spi);
        header.set_seq(self.seq);
        let (icv, pad) = header.icv_mut().split_at_mut(self.icv.len());
        icv.copy_from_slice(self.icv);
        pad.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // Hop-by-hop: next ICMPv6, 8 bytes, Router Alert (MLD), PadN(0); then
    // two payload bytes.
    static HOP_BY_HOP: [u8; 10] = [
        0x3a, 0x00, // next header, hdr ext len
        0x05, 0x02, 0x00, 0x00, // Router Alert, value 0
        0x01, 0x00, // PadN, no data
        0xaa, 0xbb, // payload
    ];

    // Destination options: next UDP, 16 bytes: Pad1, an unknown option
    // (skip-if-unknown, may change) with 4 bytes, PadN(5).
    static DEST_OPTS: [u8; 16] = [
        0x11, 0x01, // next header, hdr ext len
        0x00, // Pad1
        0x3e, 0x04, 0x01, 0x02, 0x03, 0x04, // unknown option
        0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, // PadN
    ];

    // Type 2 routing header: next TCP, 24 bytes, one segment left.
    static ROUTING: [u8; 25] = [
        0x06, 0x02, 0x02, 0x01, // next, len, type, segments left
        0x00, 0x00, 0x00, 0x00, // reserved
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, // home address
        0xcc, // payload
    ];

    // Fragment: next UDP, offset 167 (1336 bytes), M set, ident 0xdeadbeef.
    static FRAGMENT: [u8; 9] = [0x11, 0x00, 0x05, 0x39, 0xde, 0xad, 0xbe, 0xef, 0xcc];

    // AH: next TCP, length field 4 (24 bytes), SPI 256, seq 1, 12-byte ICV.
    static AH: [u8; 25] = [
        0x06, 0x04, 0x00, 0x00, // next, payload len, reserved
        0x00, 0x00, 0x01, 0x00, // SPI
        0x00, 0x00, 0x00, 0x01, // sequence number
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, // ICV
        0xcc, // payload
    ];

    #[test]
    fn length_helpers() {
        assert_eq!(ext_header_len(0), 8);
        assert_eq!(ext_header_len(255), 2048);
        assert_eq!(ah_header_len(1), 12);
        assert_eq!(ah_header_len(4), 24);
        assert_eq!(ah_header_len(255), 1028);
        assert_eq!(ah_header_len(0), 8);
    }

    #[test]
    fn skip() {
        let s = skip_extension_header;
        assert_eq!(
            s(IpProtocol::HopByHop, &HOP_BY_HOP).unwrap(),
            (IpProtocol::Icmpv6, 8)
        );
        assert_eq!(
            s(IpProtocol::Ipv6Opts, &DEST_OPTS).unwrap(),
            (IpProtocol::Udp, 16)
        );
        assert_eq!(
            s(IpProtocol::Ipv6Route, &ROUTING).unwrap(),
            (IpProtocol::Tcp, 24)
        );
        assert_eq!(
            s(IpProtocol::Ipv6Frag, &FRAGMENT).unwrap(),
            (IpProtocol::Udp, 8)
        );
        assert_eq!(s(IpProtocol::Ah, &AH).unwrap(), (IpProtocol::Tcp, 24));
        assert_eq!(
            s(IpProtocol::Ipv6Opts, &DEST_OPTS[..15]),
            Err(Error::Truncated)
        );
        assert_eq!(
            s(IpProtocol::Ipv6Opts, &DEST_OPTS[..1]),
            Err(Error::Truncated)
        );
        assert_eq!(
            s(IpProtocol::Ipv6Frag, &FRAGMENT[..7]),
            Err(Error::Truncated)
        );
        assert_eq!(s(IpProtocol::Ah, &AH[..23]), Err(Error::Truncated));
        assert_eq!(s(IpProtocol::Ah, &[]), Err(Error::Truncated));
        assert_eq!(
            s(IpProtocol::Ah, &[6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::Malformed)
        );
        assert_eq!(s(IpProtocol::Tcp, &AH), Err(Error::Unrecognized));
        assert_eq!(s(IpProtocol::Esp, &AH), Err(Error::Unrecognized));
        assert!(is_extension_header(IpProtocol::Ah));
        assert!(!is_extension_header(IpProtocol::Esp));
        assert!(!is_extension_header(IpProtocol::Ipv6NoNxt));
    }

    #[test]
    fn options_parse() {
        let h = Ipv6OptionsHeader::new_checked(&HOP_BY_HOP[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::Icmpv6);
        assert_eq!((h.hdr_ext_len(), h.header_len()), (0, 8));
        assert_eq!(h.options(), &HOP_BY_HOP[2..8]);
        assert_eq!(h.payload(), &[0xaa, 0xbb]);
        let opts: Vec<_> = h.options_iter().map(|o| o.unwrap()).collect();
        assert_eq!(
            opts,
            [
                Ipv6Option {
                    option_type: Ipv6OptionType::RouterAlert,
                    data: &[0, 0]
                },
                Ipv6Option {
                    option_type: Ipv6OptionType::PadN,
                    data: &[]
                },
            ]
        );
        let r = Ipv6OptionsRepr::parse(&h).unwrap();
        assert_eq!(r.next_header, IpProtocol::Icmpv6);
        assert_eq!(r.options, &HOP_BY_HOP[2..8]);

        let h = Ipv6OptionsHeader::new_checked(&DEST_OPTS[..]).unwrap();
        assert_eq!(h.header_len(), 16);
        assert!(h.payload().is_empty());
        let opts: Vec<_> = h.options_iter().map(|o| o.unwrap()).collect();
        assert_eq!(opts.len(), 3);
        assert_eq!(opts[0].option_type, Ipv6OptionType::Pad1);
        assert!(opts[0].is_padding() && opts[2].is_padding() && !opts[1].is_padding());
        assert_eq!(opts[1].option_type, Ipv6OptionType::Unknown(0x3e));
        assert_eq!(opts[1].data, &[1, 2, 3, 4]);
        assert_eq!(
            opts[1].option_type.unknown_action(),
            UnknownOptionAction::Skip
        );
        assert!(opts[1].option_type.may_change());
        assert_eq!(opts[2].data, &[0; 5]);
        assert_eq!(
            Ipv6OptionType::Jumbo.unknown_action(),
            UnknownOptionAction::DiscardSendIcmpUnicast
        );
        assert_eq!(
            Ipv6OptionType::Unknown(0x80).unknown_action(),
            UnknownOptionAction::DiscardSendIcmp
        );
        assert_eq!(
            Ipv6OptionType::Unknown(0x7f).unknown_action(),
            UnknownOptionAction::Discard
        );
        assert_eq!(
            Ipv6OptionType::Unknown(0xff).unknown_action(),
            UnknownOptionAction::DiscardSendIcmpUnicast
        );
    }

    #[test]
    fn options_emit() {
        // Four option bytes: padded with PadN(0).
        let r = Ipv6OptionsRepr {
            next_header: IpProtocol::Icmpv6,
            options: &[0x05, 0x02, 0x00, 0x00],
        };
        assert_eq!(r.buffer_len(), 8);
        let mut buf = poisoned(8);
        r.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &HOP_BY_HOP[..8]);

        // A full options area round-trips byte for byte.
        let r = Ipv6OptionsRepr::parse(&Ipv6OptionsHeader::new_checked(&DEST_OPTS[..]).unwrap())
            .unwrap();
        let mut buf = poisoned(16);
        r.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, DEST_OPTS);

        // Five option bytes: one Pad1.
        let r = Ipv6OptionsRepr {
            next_header: IpProtocol::Tcp,
            options: &[0x3e, 0x03, 1, 2, 3],
        };
        let mut buf = poisoned(8);
        r.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [0x06, 0x00, 0x3e, 0x03, 1, 2, 3, 0x00]);

        // Nothing: PadN(4).
        let r = Ipv6OptionsRepr {
            next_header: IpProtocol::Ipv6NoNxt,
            options: &[],
        };
        let mut buf = poisoned(8);
        r.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [59, 0, 0x01, 0x04, 0, 0, 0, 0]);

        // Seven bytes: 16-byte header, PadN(5) after.
        let r = Ipv6OptionsRepr {
            next_header: IpProtocol::Udp,
            options: &DEST_OPTS[2..9],
        };
        assert_eq!(r.buffer_len(), 16);
        let mut buf = poisoned(16);
        r.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, DEST_OPTS);
    }

    #[test]
    fn options_truncated() {
        for len in [0, 1, 2, 7] {
            assert_eq!(
                Ipv6OptionsHeader::new_checked(&HOP_BY_HOP[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        for len in [8, 15] {
            assert_eq!(
                Ipv6OptionsHeader::new_checked(&DEST_OPTS[..len]).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn options_bad_ext_len() {
        // A length field announcing more than the buffer holds.
        let mut bytes = HOP_BY_HOP;
        bytes[1] = 1;
        assert_eq!(
            Ipv6OptionsHeader::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
        bytes[1] = 255;
        assert_eq!(
            Ipv6OptionsHeader::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn options_malformed_tlv() {
        // The Router Alert claims 6 data bytes; only 4 remain in the header.
        let mut bytes = HOP_BY_HOP;
        bytes[3] = 6;
        let h = Ipv6OptionsHeader::new_checked(&bytes[..]).unwrap();
        let items: Vec<_> = h.options_iter().collect();
        assert_eq!(items, [Err(Error::Malformed)]);
        assert_eq!(Ipv6OptionsRepr::parse(&h).unwrap_err(), Error::Malformed);
        // A type byte with no room for its length.
        let bytes = [0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3e];
        let h = Ipv6OptionsHeader::new_checked(&bytes[..]).unwrap();
        let items: Vec<_> = h.options_iter().collect();
        assert_eq!(items.len(), 6);
        assert!(
            items[..5]
                .iter()
                .all(|o| o.unwrap().option_type == Ipv6OptionType::Pad1)
        );
        assert_eq!(items[5], Err(Error::Malformed));
        assert_eq!(Ipv6OptionsRepr::parse(&h).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn options_setters() {
        let mut buf = [0u8; 18];
        let mut h = Ipv6OptionsHeader::new_unchecked(&mut buf[..]);
        h.set_next_header(IpProtocol::Unknown(0xfd));
        h.set_hdr_ext_len(1);
        h.options_mut().fill(0);
        h.payload_mut().copy_from_slice(&[7, 7]);
        let h = Ipv6OptionsHeader::new_checked(&buf[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::Unknown(0xfd));
        assert_eq!(h.options_iter().count(), 14);
        assert_eq!(h.payload(), &[7, 7]);
        let r = Ipv6OptionsRepr::parse(&h).unwrap();
        let mut out = poisoned(16);
        r.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &buf[..16]);
    }

    #[test]
    fn option_emit() {
        let mut buf = poisoned(6);
        let o = Ipv6Option {
            option_type: Ipv6OptionType::RouterAlert,
            data: &[0, 1],
        };
        assert_eq!(o.buffer_len(), 4);
        o.emit(&mut buf);
        assert_eq!(buf, [5, 2, 0, 1, 0xa5, 0xa5]);
        let pad1 = Ipv6Option::padding(1);
        assert_eq!(pad1.buffer_len(), 1);
        pad1.emit(&mut buf);
        assert_eq!(buf[0], 0);
        assert_eq!(Ipv6Option::padding(257).buffer_len(), 257);
    }

    #[test]
    fn routing_parse_and_emit() {
        let h = Ipv6RoutingHeader::new_checked(&ROUTING[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::Tcp);
        assert_eq!((h.hdr_ext_len(), h.header_len()), (2, 24));
        assert_eq!(h.routing_type(), Ipv6RoutingType::Type2);
        assert_eq!(h.segments_left(), 1);
        assert_eq!(h.data(), &ROUTING[4..24]);
        assert_eq!(h.payload(), &[0xcc]);
        let r = Ipv6RoutingRepr::parse(&h).unwrap();
        assert_eq!(r.data, &ROUTING[4..24]);
        assert_eq!(r.buffer_len(), 24);
        let mut buf = poisoned(24);
        r.emit(&mut Ipv6RoutingHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &ROUTING[..24]);

        // Data padded with zeros.
        let r = Ipv6RoutingRepr {
            next_header: IpProtocol::Ipv6NoNxt,
            routing_type: Ipv6RoutingType::Unknown(0xfe),
            segments_left: 0,
            data: &[1, 2],
        };
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut Ipv6RoutingHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [59, 0, 0xfe, 0, 1, 2, 0, 0]);
        let back =
            Ipv6RoutingRepr::parse(&Ipv6RoutingHeader::new_checked(&buf[..]).unwrap()).unwrap();
        assert_eq!(back.routing_type, Ipv6RoutingType::Unknown(0xfe));
    }

    #[test]
    fn routing_truncated() {
        for len in [0, 1, 4, 7, 8, 23] {
            assert_eq!(
                Ipv6RoutingHeader::new_checked(&ROUTING[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        let mut bytes = ROUTING;
        bytes[1] = 3;
        assert_eq!(
            Ipv6RoutingHeader::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn routing_setters() {
        let mut buf = [0u8; 8];
        let mut h = Ipv6RoutingHeader::new_unchecked(&mut buf[..]);
        h.set_next_header(IpProtocol::Udp);
        h.set_hdr_ext_len(0);
        h.set_routing_type(Ipv6RoutingType::SegmentRouting);
        h.set_segments_left(3);
        h.data_mut().copy_from_slice(&[1, 2, 3, 4]);
        assert!(h.payload_mut().is_empty());
        assert_eq!(buf, [17, 0, 4, 3, 1, 2, 3, 4]);
    }

    #[test]
    fn fragment_parse_and_emit() {
        let h = Ipv6FragmentHeader::new_checked(&FRAGMENT[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::Udp);
        assert_eq!(h.reserved(), 0);
        assert_eq!(h.frag_offset(), 167);
        assert_eq!(h.reserved_bits(), 0);
        assert!(h.more_frags());
        assert_eq!(h.ident(), 0xdeadbeef);
        assert!(h.is_later_fragment() && !h.is_first_fragment() && !h.is_atomic());
        assert_eq!(h.payload(), &[0xcc]);
        let r = Ipv6FragmentRepr::parse(&h).unwrap();
        assert_eq!(
            r,
            Ipv6FragmentRepr {
                next_header: IpProtocol::Udp,
                frag_offset: 167,
                more_frags: true,
                ident: 0xdeadbeef,
            }
        );
        let mut buf = poisoned(8);
        r.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &FRAGMENT[..8]);
    }

    #[test]
    fn fragment_kinds_and_setters() {
        let mut buf = FRAGMENT;
        let mut h = Ipv6FragmentHeader::new_unchecked(&mut buf[..]);
        h.set_frag_offset(0);
        assert!(h.is_first_fragment() && !h.is_later_fragment() && !h.is_atomic());
        h.set_more_frags(false);
        h.set_reserved_bits(3);
        h.set_reserved(0x55);
        assert!(h.is_atomic() && !h.is_first_fragment());
        assert_eq!((h.reserved_bits(), h.reserved()), (3, 0x55));
        h.set_frag_offset(0x1fff);
        assert_eq!(h.frag_offset(), 0x1fff);
        assert_eq!(h.reserved_bits(), 3);
        assert!(!h.more_frags());
        h.set_ident(7);
        h.set_next_header(IpProtocol::Unknown(0xfd));
        h.payload_mut()[0] = 1;
        assert_eq!(buf, [0xfd, 0x55, 0xff, 0xfe, 0, 0, 0, 7, 1]);
    }

    #[test]
    fn fragment_truncated() {
        for len in [0, 1, 4, 7] {
            assert_eq!(
                Ipv6FragmentHeader::new_checked(&FRAGMENT[..len]).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn ah_parse_and_emit() {
        let h = AhHeader::new_checked(&AH[..]).unwrap();
        assert_eq!(h.next_header(), IpProtocol::Tcp);
        assert_eq!((h.payload_len(), h.header_len()), (4, 24));
        assert_eq!(h.reserved(), 0);
        assert_eq!((h.spi(), h.seq()), (256, 1));
        assert_eq!(h.icv(), &AH[12..24]);
        assert_eq!(h.payload(), &[0xcc]);
        let r = AhRepr::parse(&h).unwrap();
        assert_eq!(r.buffer_len(), 24);
        let mut buf = poisoned(24);
        r.emit(&mut AhHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &AH[..24]);

        // ICV padded to 4 bytes with zeros; no ICV at all is 12 bytes.
        let r = AhRepr {
            next_header: IpProtocol::Udp,
            spi: 1,
            seq: 2,
            icv: &[9],
        };
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut AhHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [17, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 9, 0, 0, 0]);
        let r = AhRepr { icv: &[], ..r };
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut AhHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(
            AhRepr::parse(&AhHeader::new_checked(&buf[..]).unwrap()).unwrap(),
            r
        );
    }

    #[test]
    fn ah_truncated() {
        for len in [0, 1, 8, 11, 12, 23] {
            assert_eq!(
                AhHeader::new_checked(&AH[..len]).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn ah_bad_length() {
        let mut bytes = AH;
        bytes[1] = 0; // 8 bytes: less than the fixed part
        assert_eq!(
            AhHeader::new_checked(&bytes[..]).unwrap_err(),
            Error::Malformed
        );
        bytes[1] = 5; // 28 bytes: more than the buffer
        assert_eq!(
            AhHeader::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn ah_setters() {
        let mut buf = [0u8; 17];
        let mut h = AhHeader::new_unchecked(&mut buf[..]);
        h.set_next_header(IpProtocol::Icmpv6);
        h.set_payload_len(2);
        h.set_reserved(0xffff);
        h.set_spi(0x01020304);
        h.set_seq(0x05060708);
        h.icv_mut().copy_from_slice(&[0xaa; 4]);
        h.payload_mut()[0] = 0xbb;
        assert_eq!(
            buf,
            [
                58, 2, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa, 0xaa, 0xaa, 0xaa, 0xbb
            ]
        );
        let h = AhHeader::new_checked(&buf[..]).unwrap();
        assert_eq!(h.reserved(), 0xffff);
    }

    fn arb_option() -> impl Strategy<Value = (u8, Vec<u8>)> {
        prop_oneof![
            Just((0u8, vec![])),
            (1u8..=255, proptest::collection::vec(any::<u8>(), 0..20)),
        ]
    }

    fn emit_options(opts: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (t, data) in opts {
            let o = Ipv6Option {
                option_type: Ipv6OptionType::from(*t),
                data,
            };
            let start = out.len();
            out.resize(start + o.buffer_len(), 0);
            o.emit(&mut out[start..]);
        }
        out
    }

    fn exercise(bytes: &[u8]) {
        if let Ok(h) = Ipv6OptionsHeader::new_checked(bytes) {
            let _ = (h.next_header(), h.header_len(), h.options(), h.payload());
            assert_eq!(h.options().len() + 2, h.header_len());
            let n = h.options_iter().count();
            assert!(n <= h.options().len());
            let _ = Ipv6OptionsRepr::parse(&h);
        }
        if let Ok(h) = Ipv6RoutingHeader::new_checked(bytes) {
            let _ = (h.next_header(), h.routing_type(), h.segments_left());
            let _ = (h.data(), h.payload());
            let r = Ipv6RoutingRepr::parse(&h).unwrap();
            assert_eq!(r.buffer_len(), h.header_len());
        }
        if let Ok(h) = Ipv6FragmentHeader::new_checked(bytes) {
            let _ = (
                h.next_header(),
                h.reserved(),
                h.frag_offset(),
                h.reserved_bits(),
            );
            let _ = (h.more_frags(), h.ident(), h.payload());
            let _ = (h.is_first_fragment(), h.is_later_fragment(), h.is_atomic());
            Ipv6FragmentRepr::parse(&h).unwrap();
        }
        if let Ok(h) = AhHeader::new_checked(bytes) {
            let _ = (h.next_header(), h.reserved(), h.spi(), h.seq());
            let _ = (h.icv(), h.payload());
            let r = AhRepr::parse(&h).unwrap();
            assert_eq!(r.buffer_len(), h.header_len());
        }
        let _ = Ipv6OptionsIter::new(bytes).count();
        let _ = Ipv6OptionsRepr::parse(&Ipv6OptionsHeader::new_unchecked(bytes));
        let _ = Ipv6RoutingRepr::parse(&Ipv6RoutingHeader::new_unchecked(bytes));
        let _ = Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_unchecked(bytes));
        let _ = AhRepr::parse(&AhHeader::new_unchecked(bytes));
        for p in 0..=255u8 {
            if let Ok((_, len)) = skip_extension_header(IpProtocol::from(p), bytes) {
                assert!(len <= bytes.len());
            }
        }
    }

    proptest! {
        #[test]
        fn options_repr_round_trips(
            nh in any::<u8>(),
            opts in proptest::collection::vec(arb_option(), 0..8),
        ) {
            let area = emit_options(&opts);
            let r = Ipv6OptionsRepr { next_header: IpProtocol::from(nh), options: &area };
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut buf[..]));
            let h = Ipv6OptionsHeader::new_checked(&buf[..]).unwrap();
            let back = Ipv6OptionsRepr::parse(&h).unwrap();
            prop_assert_eq!(back.next_header, r.next_header);
            prop_assert_eq!(&back.options[..area.len()], &area[..]);
            // The options come back in order, followed by padding only.
            let parsed: Vec<_> = back.options_iter().map(|o| o.unwrap()).collect();
            for (p, (t, d)) in parsed.iter().zip(&opts) {
                prop_assert_eq!(u8::from(p.option_type), *t);
                prop_assert_eq!(p.data, &d[..]);
            }
            prop_assert!(parsed[opts.len()..].iter().all(|o| o.is_padding()));
            // Emitting what was parsed reproduces the bytes.
            let mut again = poisoned(back.buffer_len());
            back.emit(&mut Ipv6OptionsHeader::new_unchecked(&mut again[..]));
            prop_assert_eq!(again, buf);
        }

        #[test]
        fn routing_repr_round_trips(
            nh in any::<u8>(),
            rt in any::<u8>(),
            sl in any::<u8>(),
            units in 0usize..10,
            data in proptest::collection::vec(any::<u8>(), 76),
        ) {
            let r = Ipv6RoutingRepr {
                next_header: IpProtocol::from(nh),
                routing_type: Ipv6RoutingType::from(rt),
                segments_left: sl,
                data: &data[..4 + units * 8],
            };
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut Ipv6RoutingHeader::new_unchecked(&mut buf[..]));
            let h = Ipv6RoutingHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Ipv6RoutingRepr::parse(&h).unwrap(), r);
        }

        #[test]
        fn fragment_repr_round_trips(
            nh in any::<u8>(),
            off in 0u16..0x2000,
            m in any::<bool>(),
            ident in any::<u32>(),
        ) {
            let r = Ipv6FragmentRepr {
                next_header: IpProtocol::from(nh),
                frag_offset: off,
                more_frags: m,
                ident,
            };
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut Ipv6FragmentHeader::new_unchecked(&mut buf[..]));
            let h = Ipv6FragmentHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Ipv6FragmentRepr::parse(&h).unwrap(), r);
        }

        #[test]
        fn ah_repr_round_trips(
            nh in any::<u8>(),
            spi in any::<u32>(),
            seq in any::<u32>(),
            words in 0usize..=254,
            icv in proptest::collection::vec(any::<u8>(), 1016),
        ) {
            let r = AhRepr {
                next_header: IpProtocol::from(nh),
                spi,
                seq,
                icv: &icv[..words * 4],
            };
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut AhHeader::new_unchecked(&mut buf[..]));
            let h = AhHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(AhRepr::parse(&h).unwrap(), r);
            prop_assert_eq!(
                skip_extension_header(IpProtocol::Ah, &buf).unwrap(),
                (r.next_header, r.buffer_len())
            );
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            exercise(&bytes);
        }

        #[test]
        fn short_length_fields_never_panic(
            mut bytes in proptest::collection::vec(any::<u8>(), 2..80),
            len in 0u8..12,
        ) {
            bytes[1] = len;
            exercise(&bytes);
        }
    }
}
