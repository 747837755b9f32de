//! 802.1Q (C-tag) and 802.1ad (S-tag) VLAN tags.
//!
//! The view covers the four bytes that follow the TPID (0x8100 or 0x88a8,
//! which sits in the EtherType field of the enclosing header): the tag
//! control information (TCI: PCP 3 bits, DEI/CFI 1 bit, VID 12 bits) and the
//! *inner* EtherType. The payload is whatever that inner EtherType names.
//!
//! Double tagging (QinQ) is two tags in a row: the outer tag's inner
//! EtherType is itself a TPID and the next tag starts at its payload.
//!
//! Every bit pattern is accepted (VID 0 "priority tag" and the reserved VID
//! 0xfff included), so parsing a checked view never fails and emitting the
//! result reproduces the tag byte for byte.

use super::ethernet::EtherType;
use super::{Error, Field, Rest, Result, be};

mod field {
    use super::{Field, Rest};
    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of a VLAN tag (after its TPID).
pub const HEADER_LEN: usize = field::PAYLOAD.start;

const PCP_SHIFT: u16 = 13;
const DEI_BIT: u16 = 0x1000;
const VID_MASK: u16 = 0x0fff;

/// A view over one VLAN tag: TCI, then the inner EtherType.
#[derive(Debug, Clone)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> VlanTag<T> {
        VlanTag { buffer }
    }

    /// Wraps `buffer` and checks that it holds a whole tag.
    pub fn new_checked(buffer: T) -> Result<VlanTag<T>> {
        let t = Self::new_unchecked(buffer);
        t.check_len()?;
        Ok(t)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than a tag.
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

    /// Length of the tag.
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// The whole tag control information word.
    #[inline]
    pub fn tci(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::TCI])
    }

    /// Priority code point (0..=7).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> PCP_SHIFT) as u8
    }

    /// Drop eligible indicator (the former CFI bit).
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & DEI_BIT != 0
    }

    /// VLAN identifier (0..=4095).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci() & VID_MASK
    }

    /// The EtherType of what follows the tag (another TPID when stacked).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be::u16(&self.buffer.as_ref()[field::ETHERTYPE]))
    }

    /// Everything after the tag.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Sets the whole tag control information word.
    #[inline]
    pub fn set_tci(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::TCI], value)
    }

    /// Sets the priority code point; only the low 3 bits of `value` are used.
    #[inline]
    pub fn set_pcp(&mut self, value: u8) {
        let tci = self.tci() & !(0x7 << PCP_SHIFT);
        self.set_tci(tci | (u16::from(value & 0x7) << PCP_SHIFT))
    }

    /// Sets the drop eligible indicator.
    #[inline]
    pub fn set_dei(&mut self, value: bool) {
        let tci = self.tci() & !DEI_BIT;
        self.set_tci(if value { tci | DEI_BIT } else { tci })
    }

    /// Sets the VLAN identifier; only the low 12 bits of `value` are used.
    #[inline]
    pub fn set_vid(&mut self, value: u16) {
        let tci = self.tci() & !VID_MASK;
        self.set_tci(tci | (value & VID_MASK))
    }

    /// Sets the inner EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, value: EtherType) {
        be::put_u16(&mut self.buffer.as_mut()[field::ETHERTYPE], value.into())
    }

    /// Everything after the tag, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The value form of a VLAN tag.
///
/// `pcp` must fit in 3 bits and `vid` in 12; [`emit`](Self::emit) drops any
/// higher bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanRepr {
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop eligible indicator (CFI).
    pub dei: bool,
    /// VLAN identifier (0..=4095).
    pub vid: u16,
    /// EtherType of the tag's payload.
    pub ethertype: EtherType,
}

impl VlanRepr {
    /// Parses a view (checking its length).
    pub fn parse<T: AsRef<[u8]>>(tag: &VlanTag<T>) -> Result<VlanRepr> {
        tag.check_len()?;
        Ok(VlanRepr {
            pcp: tag.pcp(),
            dei: tag.dei(),
            vid: tag.vid(),
            ethertype: tag.ethertype(),
        })
    }

    /// The tag control information word this repr encodes.
    pub const fn tci(&self) -> u16 {
        ((self.pcp as u16 & 0x7) << PCP_SHIFT)
            | if self.dei { DEI_BIT } else { 0 }
            | (self.vid & VID_MASK)
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the tag into `tag`, whose buffer must be at least
    /// [`buffer_len`](Self::buffer_len) bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut VlanTag<T>) {
        tag.set_tci(self.tci());
        tag.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::{self, EthernetFrame};
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // PCP 5, DEI set, VID 0x123; inner IPv4; two payload bytes.
    static TAG: [u8; 6] = [0xb1, 0x23, 0x08, 0x00, 0xde, 0xad];

    fn repr() -> VlanRepr {
        VlanRepr {
            pcp: 5,
            dei: true,
            vid: 0x123,
            ethertype: EtherType::Ipv4,
        }
    }

    #[test]
    fn parse() {
        let t = VlanTag::new_checked(&TAG[..]).unwrap();
        assert_eq!(t.tci(), 0xb123);
        assert_eq!(t.pcp(), 5);
        assert!(t.dei());
        assert_eq!(t.vid(), 0x123);
        assert_eq!(t.ethertype(), EtherType::Ipv4);
        assert_eq!(t.payload(), &[0xde, 0xad]);
        assert_eq!(VlanRepr::parse(&t).unwrap(), repr());
        assert_eq!(repr().tci(), 0xb123);
    }

    #[test]
    fn emit_writes_every_byte() {
        let mut buf = poisoned(HEADER_LEN);
        repr().emit(&mut VlanTag::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &TAG[..HEADER_LEN]);
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut buf = [0u8; HEADER_LEN];
        let mut t = VlanTag::new_unchecked(&mut buf[..]);
        t.set_vid(0xffff);
        assert_eq!(t.tci(), 0x0fff);
        t.set_pcp(0xff);
        assert_eq!(t.tci(), 0xefff);
        t.set_dei(true);
        assert_eq!(t.tci(), 0xffff);
        t.set_vid(0);
        t.set_dei(false);
        assert_eq!(t.tci(), 0xe000);
        t.set_pcp(0);
        assert_eq!(t.tci(), 0);
        t.set_ethertype(EtherType::Arp);
        assert_eq!(buf, [0, 0, 0x08, 0x06]);
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                VlanTag::new_checked(&TAG[..len]).unwrap_err(),
                Error::Truncated
            );
            assert_eq!(
                VlanRepr::parse(&VlanTag::new_unchecked(&TAG[..len])).unwrap_err(),
                Error::Truncated
            );
        }
        let t = VlanTag::new_checked(&TAG[..HEADER_LEN]).unwrap();
        assert!(t.payload().is_empty());
    }

    #[test]
    fn extreme_values_and_unknown_ethertype_round_trip() {
        // PCP 7, DEI clear, reserved VID 0xfff, unknown EtherType 0x1234.
        let bytes = [0xef, 0xff, 0x12, 0x34];
        let r = VlanRepr::parse(&VlanTag::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(
            r,
            VlanRepr {
                pcp: 7,
                dei: false,
                vid: 0xfff,
                ethertype: EtherType::Unknown(0x1234),
            }
        );
        let mut buf = poisoned(HEADER_LEN);
        r.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &bytes[..]);
    }

    #[test]
    fn priority_tag_vid_zero() {
        let bytes = [0x60, 0x00, 0x86, 0xdd];
        let r = VlanRepr::parse(&VlanTag::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!((r.pcp, r.dei, r.vid), (3, false, 0));
        assert_eq!(r.ethertype, EtherType::Ipv6);
    }

    #[test]
    fn qinq_double_tag() {
        static FRAME: [u8; 24] = [
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // dst
            0x11, 0x12, 0x13, 0x14, 0x15, 0x16, // src
            0x88, 0xa8, // S-tag TPID
            0x20, 0x64, // PCP 1, VID 100
            0x81, 0x00, // C-tag TPID
            0x00, 0x0a, // PCP 0, VID 10
            0x08, 0x00, // IPv4
            0x45, 0x00,
        ];
        let eth = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(eth.ethertype(), EtherType::Qinq);
        assert!(eth.ethertype().is_vlan_tpid());

        let outer = VlanTag::new_checked(eth.payload()).unwrap();
        let outer_r = VlanRepr::parse(&outer).unwrap();
        assert_eq!(
            outer_r,
            VlanRepr {
                pcp: 1,
                dei: false,
                vid: 100,
                ethertype: EtherType::Vlan,
            }
        );
        assert!(outer_r.ethertype.is_vlan_tpid());

        let inner = VlanTag::new_checked(outer.payload()).unwrap();
        let inner_r = VlanRepr::parse(&inner).unwrap();
        assert_eq!(
            inner_r,
            VlanRepr {
                pcp: 0,
                dei: false,
                vid: 10,
                ethertype: EtherType::Ipv4,
            }
        );
        assert_eq!(inner.payload(), &[0x45, 0x00]);

        // Rebuild the whole header stack into a poisoned buffer.
        let mut buf = poisoned(FRAME.len());
        let eth_r = ethernet::EthernetRepr::parse(&eth).unwrap();
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        eth_r.emit(&mut f);
        let mut o = VlanTag::new_unchecked(f.payload_mut());
        outer_r.emit(&mut o);
        let mut i = VlanTag::new_unchecked(o.payload_mut());
        inner_r.emit(&mut i);
        i.payload_mut().copy_from_slice(&[0x45, 0x00]);
        assert_eq!(&buf[..], &FRAME[..]);
    }

    fn any_repr() -> impl Strategy<Value = VlanRepr> {
        (0u8..8, any::<bool>(), 0u16..4096, any::<u16>()).prop_map(|(pcp, dei, vid, et)| VlanRepr {
            pcp,
            dei,
            vid,
            ethertype: EtherType::from(et),
        })
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in any_repr()) {
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
            let parsed = VlanRepr::parse(&VlanTag::new_checked(&buf[..]).unwrap()).unwrap();
            prop_assert_eq!(parsed, r);
        }

        #[test]
        fn bytes_round_trip(bytes in any::<[u8; 4]>()) {
            let r = VlanRepr::parse(&VlanTag::new_checked(&bytes[..]).unwrap()).unwrap();
            let mut buf = poisoned(HEADER_LEN);
            r.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
            prop_assert_eq!(&buf[..], &bytes[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = VlanRepr::parse(&VlanTag::new_unchecked(&bytes[..]));
            if let Ok(t) = VlanTag::new_checked(&bytes[..]) {
                let _ = (t.tci(), t.pcp(), t.dei(), t.vid(), t.ethertype(), t.payload());
                prop_assert!(VlanRepr::parse(&t).is_ok());
            }
        }
    }
}
