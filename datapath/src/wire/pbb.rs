//! 802.1ah provider backbone bridging (PBB, "MAC-in-MAC") I-TAG.
//!
//! A backbone frame is: B-DA, B-SA, [B-TAG 0x88a8 ...], TPID 0x88e7, I-TAG,
//! then the whole customer Ethernet frame (C-DA, C-SA, EtherType...).
//!
//! [`PbbItag`] covers only the 4-byte I-TAG that follows the 0x88e7 TPID:
//! I-PCP (3 bits), I-DEI (1), UCA (use customer addresses, 1), reserved (3),
//! I-SID (service instance identifier, 24). Its payload is the customer
//! frame, to be read with [`EthernetFrame`](super::ethernet::EthernetFrame).
//!
//! Every bit pattern is accepted, reserved bits included; they are kept in
//! [`PbbRepr::res`] so a tag round-trips byte for byte.

use super::{Error, Field, Rest, Result, be};

mod field {
    use super::{Field, Rest};
    pub const FLAGS: usize = 0;
    pub const ISID: Field = 1..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of an I-TAG (after its TPID).
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// The largest I-SID (24 bits).
pub const MAX_ISID: u32 = 0x00ff_ffff;

const PCP_SHIFT: u8 = 5;
const PCP_MASK: u8 = 0x7 << PCP_SHIFT;
const DEI_BIT: u8 = 0x10;
const UCA_BIT: u8 = 0x08;
const RES_MASK: u8 = 0x07;

/// A view over an 802.1ah I-TAG; the payload is the customer Ethernet frame.
#[derive(Debug, Clone)]
pub struct PbbItag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PbbItag<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> PbbItag<T> {
        PbbItag { buffer }
    }

    /// Wraps `buffer` and checks that it holds a whole I-TAG.
    pub fn new_checked(buffer: T) -> Result<PbbItag<T>> {
        let t = Self::new_unchecked(buffer);
        t.check_len()?;
        Ok(t)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than an
    /// I-TAG.
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

    /// Length of an I-TAG.
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// The whole 32-bit I-TAG.
    #[inline]
    pub fn itag(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::FLAGS..field::ISID.end])
    }

    #[inline]
    fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Backbone service instance priority code point (0..=7).
    #[inline]
    pub fn pcp(&self) -> u8 {
        self.flags() >> PCP_SHIFT
    }

    /// Backbone service instance drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.flags() & DEI_BIT != 0
    }

    /// Use customer addresses.
    #[inline]
    pub fn uca(&self) -> bool {
        self.flags() & UCA_BIT != 0
    }

    /// The three reserved bits (0..=7), zero when sent by a conforming
    /// bridge.
    #[inline]
    pub fn res(&self) -> u8 {
        self.flags() & RES_MASK
    }

    /// Service instance identifier (24 bits).
    #[inline]
    pub fn isid(&self) -> u32 {
        be::u24(&self.buffer.as_ref()[field::ISID])
    }

    /// The customer Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> PbbItag<T> {
    /// Sets the whole 32-bit I-TAG.
    #[inline]
    pub fn set_itag(&mut self, value: u32) {
        be::put_u32(
            &mut self.buffer.as_mut()[field::FLAGS..field::ISID.end],
            value,
        )
    }

    #[inline]
    fn update_flags(&mut self, mask: u8, bits: u8) {
        let b = &mut self.buffer.as_mut()[field::FLAGS];
        *b = (*b & !mask) | (bits & mask);
    }

    /// Sets the priority code point; only the low 3 bits of `value` are used.
    #[inline]
    pub fn set_pcp(&mut self, value: u8) {
        self.update_flags(PCP_MASK, value << PCP_SHIFT)
    }

    /// Sets the drop eligible indicator.
    #[inline]
    pub fn set_dei(&mut self, value: bool) {
        self.update_flags(DEI_BIT, if value { DEI_BIT } else { 0 })
    }

    /// Sets the use-customer-addresses bit.
    #[inline]
    pub fn set_uca(&mut self, value: bool) {
        self.update_flags(UCA_BIT, if value { UCA_BIT } else { 0 })
    }

    /// Sets the reserved bits; only the low 3 bits of `value` are used.
    #[inline]
    pub fn set_res(&mut self, value: u8) {
        self.update_flags(RES_MASK, value)
    }

    /// Sets the I-SID; only the low 24 bits of `value` are used.
    #[inline]
    pub fn set_isid(&mut self, value: u32) {
        be::put_u24(&mut self.buffer.as_mut()[field::ISID], value & MAX_ISID)
    }

    /// The customer Ethernet frame, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The value form of an I-TAG.
///
/// `pcp` and `res` must fit in 3 bits and `isid` in 24; [`emit`](Self::emit)
/// drops any higher bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PbbRepr {
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// Use customer addresses.
    pub uca: bool,
    /// Reserved bits (0..=7), kept for round-tripping.
    pub res: u8,
    /// Service instance identifier (0..=[`MAX_ISID`]).
    pub isid: u32,
}

impl PbbRepr {
    /// Parses a view (checking its length).
    pub fn parse<T: AsRef<[u8]>>(tag: &PbbItag<T>) -> Result<PbbRepr> {
        tag.check_len()?;
        Ok(PbbRepr {
            pcp: tag.pcp(),
            dei: tag.dei(),
            uca: tag.uca(),
            res: tag.res(),
            isid: tag.isid(),
        })
    }

    /// The 32-bit I-TAG this repr encodes.
    pub const fn itag(&self) -> u32 {
        let flags = ((self.pcp << PCP_SHIFT) & PCP_MASK)
            | if self.dei { DEI_BIT } else { 0 }
            | if self.uca { UCA_BIT } else { 0 }
            | (self.res & RES_MASK);
        ((flags as u32) << 24) | (self.isid & MAX_ISID)
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the I-TAG into `tag`, whose buffer must be at least
    /// [`buffer_len`](Self::buffer_len) bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut PbbItag<T>) {
        tag.set_itag(self.itag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // PCP 6, DEI clear, UCA set, reserved 0, I-SID 0x123456; then the start
    // of a customer frame.
    static ITAG: [u8; 6] = [0xc8, 0x12, 0x34, 0x56, 0x01, 0x02];

    fn repr() -> PbbRepr {
        PbbRepr {
            pcp: 6,
            dei: false,
            uca: true,
            res: 0,
            isid: 0x123456,
        }
    }

    #[test]
    fn parse() {
        let t = PbbItag::new_checked(&ITAG[..]).unwrap();
        assert_eq!(t.itag(), 0xc812_3456);
        assert_eq!(t.pcp(), 6);
        assert!(!t.dei());
        assert!(t.uca());
        assert_eq!(t.res(), 0);
        assert_eq!(t.isid(), 0x123456);
        assert_eq!(t.payload(), &[0x01, 0x02]);
        assert_eq!(PbbRepr::parse(&t).unwrap(), repr());
    }

    #[test]
    fn emit_writes_every_byte() {
        let mut buf = poisoned(HEADER_LEN);
        repr().emit(&mut PbbItag::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &ITAG[..HEADER_LEN]);
    }

    #[test]
    fn setters_touch_only_their_bits() {
        let mut buf = [0u8; HEADER_LEN];
        let mut t = PbbItag::new_unchecked(&mut buf[..]);
        t.set_isid(u32::MAX);
        assert_eq!(t.itag(), 0x00ff_ffff);
        t.set_pcp(0xff);
        assert_eq!(t.itag(), 0xe0ff_ffff);
        t.set_dei(true);
        assert_eq!(t.itag(), 0xf0ff_ffff);
        t.set_uca(true);
        assert_eq!(t.itag(), 0xf8ff_ffff);
        t.set_res(0xff);
        assert_eq!(t.itag(), 0xffff_ffff);
        t.set_pcp(0);
        t.set_uca(false);
        assert_eq!(t.itag(), 0x17ff_ffff);
        t.set_dei(false);
        t.set_res(0);
        t.set_isid(0);
        assert_eq!(buf, [0; 4]);
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                PbbItag::new_checked(&ITAG[..len]).unwrap_err(),
                Error::Truncated
            );
            assert_eq!(
                PbbRepr::parse(&PbbItag::new_unchecked(&ITAG[..len])).unwrap_err(),
                Error::Truncated
            );
        }
        assert!(PbbItag::new_checked(&ITAG[..HEADER_LEN]).is_ok());
    }

    #[test]
    fn reserved_bits_round_trip() {
        // PCP 0, DEI set, UCA clear, reserved 0b101, I-SID 0xffffff.
        let bytes = [0x15, 0xff, 0xff, 0xff];
        let r = PbbRepr::parse(&PbbItag::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(
            r,
            PbbRepr {
                pcp: 0,
                dei: true,
                uca: false,
                res: 5,
                isid: MAX_ISID,
            }
        );
        let mut buf = poisoned(HEADER_LEN);
        r.emit(&mut PbbItag::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &bytes[..]);
    }

    #[test]
    fn backbone_frame_with_customer_frame() {
        static FRAME: [u8; 38] = [
            0x00, 0x1e, 0x83, 0x00, 0x00, 0x01, // B-DA
            0x00, 0x1e, 0x83, 0x00, 0x00, 0x02, // B-SA
            0x88, 0xe7, // I-TAG TPID
            0x00, 0x00, 0x10, 0x01, // I-SID 0x1001
            0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, // C-DA
            0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, // C-SA
            0x08, 0x06, // ARP
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
        ];
        let b = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(b.ethertype(), EtherType::Pbb);
        let itag = PbbItag::new_checked(b.payload()).unwrap();
        let itag_r = PbbRepr::parse(&itag).unwrap();
        assert_eq!(itag_r.isid, 0x1001);
        let c = EthernetFrame::new_checked(itag.payload()).unwrap();
        let c_r = EthernetRepr::parse(&c).unwrap();
        assert_eq!(c_r.dst_addr, EthernetAddress([2, 0, 0, 0, 0, 0x0a]));
        assert_eq!(c_r.src_addr, EthernetAddress([2, 0, 0, 0, 0, 0x0b]));
        assert_eq!(c_r.ethertype, EtherType::Arp);

        let mut buf = poisoned(FRAME.len());
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        EthernetRepr::parse(&b).unwrap().emit(&mut f);
        let mut t = PbbItag::new_unchecked(f.payload_mut());
        itag_r.emit(&mut t);
        let mut cf = EthernetFrame::new_unchecked(t.payload_mut());
        c_r.emit(&mut cf);
        cf.payload_mut().copy_from_slice(c.payload());
        assert_eq!(&buf[..], &FRAME[..]);
    }

    fn any_repr() -> impl Strategy<Value = PbbRepr> {
        (0u8..8, any::<bool>(), any::<bool>(), 0u8..8, 0..=MAX_ISID).prop_map(
            |(pcp, dei, uca, res, isid)| PbbRepr {
                pcp,
                dei,
                uca,
                res,
                isid,
            },
        )
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in any_repr()) {
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut PbbItag::new_unchecked(&mut buf[..]));
            let parsed = PbbRepr::parse(&PbbItag::new_checked(&buf[..]).unwrap()).unwrap();
            prop_assert_eq!(parsed, r);
        }

        #[test]
        fn bytes_round_trip(bytes in any::<[u8; 4]>()) {
            let r = PbbRepr::parse(&PbbItag::new_checked(&bytes[..]).unwrap()).unwrap();
            let mut buf = poisoned(HEADER_LEN);
            r.emit(&mut PbbItag::new_unchecked(&mut buf[..]));
            prop_assert_eq!(&buf[..], &bytes[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = PbbRepr::parse(&PbbItag::new_unchecked(&bytes[..]));
            if let Ok(t) = PbbItag::new_checked(&bytes[..]) {
                let _ = (t.itag(), t.pcp(), t.dei(), t.uca(), t.res(), t.isid(), t.payload());
                prop_assert!(PbbRepr::parse(&t).is_ok());
            }
        }
    }
}
