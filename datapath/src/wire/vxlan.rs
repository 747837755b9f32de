//! VXLAN (RFC 7348): the 8-byte header that follows UDP (port
//! [`UDP_PORT`]) and precedes an inner Ethernet frame.
//!
//! ```text
//!  byte 0   bytes 1..4          bytes 4..7           byte 7
//! [flags ] [reserved (24 bits)] [VNI (24 bits)     ] [reserved]
//! ```
//!
//! Only the I flag (`0x08`, "the VNI is valid") is defined by RFC 7348. The
//! group-based policy extension (VXLAN-GBP) reuses the G flag (`0x80`) and the
//! first reserved field (a flags byte and a 16-bit group policy ID); the view
//! exposes those bits, and [`VxlanRepr`] keeps every reserved byte as it was
//! so that a header round-trips byte for byte.
//!
//! Invariants: the view is valid once the buffer holds 8 bytes; it accepts any
//! flags. [`VxlanRepr::parse`] is stricter and rejects a header without the I
//! flag with [`Error::Malformed`].

use super::{Error, Field, Rest, Result, be};

/// The IANA-assigned UDP destination port for VXLAN.
pub const UDP_PORT: u16 = 4789;

/// Flags byte: the VNI field is valid (required by RFC 7348).
pub const FLAG_I: u8 = 0x08;
/// Flags byte: the group-based policy extension is in use.
pub const FLAG_GBP: u8 = 0x80;
/// GBP flags byte: "don't learn" the inner source address.
pub const GBP_DONT_LEARN: u8 = 0x40;
/// GBP flags byte: the group policy has already been applied.
pub const GBP_POLICY_APPLIED: u8 = 0x08;

mod field {
    use super::{Field, Rest};
    pub const FLAGS: usize = 0;
    pub const RESERVED1: Field = 1..4;
    pub const GBP_FLAGS: usize = 1;
    pub const GROUP_POLICY_ID: Field = 2..4;
    pub const VNI: Field = 4..7;
    pub const RESERVED2: usize = 7;
    pub const PAYLOAD: Rest = 8..;
}

/// Length of a VXLAN header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Largest VNI (24 bits).
pub const VNI_MAX: u32 = 0x00ff_ffff;

/// A view over a VXLAN header and the inner frame that follows it.
#[derive(Debug, Clone)]
pub struct VxlanHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VxlanHeader<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> VxlanHeader<T> {
        VxlanHeader { buffer }
    }

    /// Wraps `buffer` and checks that it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<VxlanHeader<T>> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the header.
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

    /// Length of the header.
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// The whole flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// True when the I flag says the VNI is valid.
    #[inline]
    pub fn has_vni(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// The 24-bit VXLAN network identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        be::u24(&self.buffer.as_ref()[field::VNI])
    }

    /// Bytes 1..4 (reserved in RFC 7348, GBP flags and policy ID in VXLAN-GBP).
    #[inline]
    pub fn reserved1(&self) -> [u8; 3] {
        let b = &self.buffer.as_ref()[field::RESERVED1];
        [b[0], b[1], b[2]]
    }

    /// Byte 7 (reserved).
    #[inline]
    pub fn reserved2(&self) -> u8 {
        self.buffer.as_ref()[field::RESERVED2]
    }

    /// True when the G flag announces the group-based policy extension.
    #[inline]
    pub fn has_gbp(&self) -> bool {
        self.flags() & FLAG_GBP != 0
    }

    /// The GBP flags byte (byte 1: [`GBP_DONT_LEARN`], [`GBP_POLICY_APPLIED`]).
    /// Meaningful only when [`has_gbp`](Self::has_gbp).
    #[inline]
    pub fn gbp_flags(&self) -> u8 {
        self.buffer.as_ref()[field::GBP_FLAGS]
    }

    /// The 16-bit GBP group policy ID. Meaningful only when
    /// [`has_gbp`](Self::has_gbp).
    #[inline]
    pub fn group_policy_id(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::GROUP_POLICY_ID])
    }

    /// Everything after the header (the inner Ethernet frame).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VxlanHeader<T> {
    /// Sets the whole flags byte.
    #[inline]
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value
    }

    /// Sets the VNI; only the low 24 bits of `value` are written.
    #[inline]
    pub fn set_vni(&mut self, value: u32) {
        be::put_u24(&mut self.buffer.as_mut()[field::VNI], value & VNI_MAX)
    }

    /// Sets bytes 1..4.
    #[inline]
    pub fn set_reserved1(&mut self, value: [u8; 3]) {
        self.buffer.as_mut()[field::RESERVED1].copy_from_slice(&value)
    }

    /// Sets byte 7.
    #[inline]
    pub fn set_reserved2(&mut self, value: u8) {
        self.buffer.as_mut()[field::RESERVED2] = value
    }

    /// Sets the GBP flags byte (byte 1).
    #[inline]
    pub fn set_gbp_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::GBP_FLAGS] = value
    }

    /// Sets the GBP group policy ID (bytes 2..4).
    #[inline]
    pub fn set_group_policy_id(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::GROUP_POLICY_ID], value)
    }

    /// Everything after the header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The validated value form of a VXLAN header.
///
/// Reserved bytes are kept as received (they carry VXLAN-GBP when the G flag
/// is set), so parse followed by emit reproduces the header exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanRepr {
    /// The VNI; at most [`VNI_MAX`].
    pub vni: u32,
    /// The whole flags byte. [`parse`](Self::parse) only returns it with
    /// [`FLAG_I`] set, and [`emit`](Self::emit) always sets [`FLAG_I`].
    pub flags: u8,
    /// Bytes 1..4, as received.
    pub reserved1: [u8; 3],
    /// Byte 7, as received.
    pub reserved2: u8,
}

impl VxlanRepr {
    /// A plain RFC 7348 header: only the I flag, reserved fields zero.
    pub const fn new(vni: u32) -> VxlanRepr {
        VxlanRepr {
            vni: vni & VNI_MAX,
            flags: FLAG_I,
            reserved1: [0; 3],
            reserved2: 0,
        }
    }

    /// Parses a checked view. Fails with [`Error::Malformed`] when the I flag
    /// is clear.
    pub fn parse<T: AsRef<[u8]>>(header: &VxlanHeader<T>) -> Result<VxlanRepr> {
        header.check_len()?;
        if !header.has_vni() {
            return Err(Error::Malformed);
        }
        Ok(VxlanRepr {
            vni: header.vni(),
            flags: header.flags(),
            reserved1: header.reserved1(),
            reserved2: header.reserved2(),
        })
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into `header`, whose buffer must be at least
    /// [`buffer_len`](Self::buffer_len) bytes long. Sets [`FLAG_I`]; writes
    /// only the low 24 bits of `vni`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, header: &mut VxlanHeader<T>) {
        header.set_flags(self.flags | FLAG_I);
        header.set_reserved1(self.reserved1);
        header.set_vni(self.vni);
        header.set_reserved2(self.reserved2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    static PACKET: [u8; 12] = [
        0x08, 0x00, 0x00, 0x00, // flags (I), reserved
        0x12, 0x34, 0x56, 0x00, // VNI 0x123456, reserved
        0xde, 0xad, 0xbe, 0xef, // inner frame
    ];

    // VXLAN-GBP: G and I flags, D and A GBP flags, policy ID 0x0abc.
    static GBP: [u8; 8] = [0x88, 0x48, 0x0a, 0xbc, 0xff, 0xff, 0xfe, 0x00];

    #[test]
    fn parse() {
        let h = VxlanHeader::new_checked(&PACKET[..]).unwrap();
        assert_eq!(h.flags(), FLAG_I);
        assert!(h.has_vni());
        assert!(!h.has_gbp());
        assert_eq!(h.vni(), 0x123456);
        assert_eq!(h.reserved1(), [0; 3]);
        assert_eq!(h.reserved2(), 0);
        assert_eq!(h.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(VxlanRepr::parse(&h).unwrap(), VxlanRepr::new(0x123456));
    }

    #[test]
    fn emit_writes_every_byte() {
        let mut buf = poisoned(HEADER_LEN);
        VxlanRepr::new(0x123456).emit(&mut VxlanHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &PACKET[..HEADER_LEN]);
    }

    #[test]
    fn gbp_round_trips() {
        let h = VxlanHeader::new_checked(&GBP[..]).unwrap();
        assert!(h.has_gbp());
        assert_eq!(h.gbp_flags(), GBP_DONT_LEARN | GBP_POLICY_APPLIED);
        assert_eq!(h.group_policy_id(), 0x0abc);
        assert_eq!(h.vni(), VNI_MAX - 1);
        let r = VxlanRepr::parse(&h).unwrap();
        let mut buf = poisoned(HEADER_LEN);
        r.emit(&mut VxlanHeader::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &GBP[..]);
    }

    #[test]
    fn setters() {
        let mut buf = poisoned(HEADER_LEN);
        let mut h = VxlanHeader::new_unchecked(&mut buf[..]);
        h.set_flags(FLAG_GBP | FLAG_I);
        h.set_gbp_flags(GBP_DONT_LEARN | GBP_POLICY_APPLIED);
        h.set_group_policy_id(0x0abc);
        h.set_vni(0xffff_fffe); // high bits dropped
        h.set_reserved2(0);
        assert_eq!(&buf[..], &GBP[..]);
    }

    #[test]
    fn truncated() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                VxlanHeader::new_checked(&PACKET[..len]).unwrap_err(),
                Error::Truncated
            );
            let h = VxlanHeader::new_unchecked(&PACKET[..len]);
            assert_eq!(VxlanRepr::parse(&h).unwrap_err(), Error::Truncated);
        }
    }

    #[test]
    fn missing_i_flag_is_malformed() {
        let mut bytes = PACKET;
        bytes[0] = 0x00;
        let h = VxlanHeader::new_checked(&bytes[..]).unwrap();
        assert!(!h.has_vni());
        assert_eq!(VxlanRepr::parse(&h).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn reserved_bytes_round_trip() {
        let bytes = [0xff, 0x01, 0x02, 0x03, 0x00, 0x00, 0x01, 0x77];
        let r = VxlanRepr::parse(&VxlanHeader::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(r.reserved1, [1, 2, 3]);
        assert_eq!(r.reserved2, 0x77);
        let mut buf = poisoned(HEADER_LEN);
        r.emit(&mut VxlanHeader::new_unchecked(&mut buf[..]));
        assert_eq!(buf, bytes);
    }

    proptest! {
        #[test]
        fn repr_round_trips(
            vni in 0..=VNI_MAX,
            flags in any::<u8>(),
            reserved1 in any::<[u8; 3]>(),
            reserved2 in any::<u8>(),
        ) {
            let r = VxlanRepr { vni, flags: flags | FLAG_I, reserved1, reserved2 };
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut VxlanHeader::new_unchecked(&mut buf[..]));
            let h = VxlanHeader::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(VxlanRepr::parse(&h).unwrap(), r);
        }

        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
            if let Ok(h) = VxlanHeader::new_checked(&bytes[..]) {
                let _ = (h.flags(), h.vni(), h.reserved1(), h.reserved2());
                let _ = (h.gbp_flags(), h.group_policy_id(), h.payload());
                if let Ok(r) = VxlanRepr::parse(&h) {
                    let mut buf = poisoned(r.buffer_len());
                    r.emit(&mut VxlanHeader::new_unchecked(&mut buf[..]));
                    prop_assert_eq!(&buf[..], &bytes[..HEADER_LEN]);
                }
            }
            let _ = VxlanRepr::parse(&VxlanHeader::new_unchecked(&bytes[..]));
        }
    }
}
