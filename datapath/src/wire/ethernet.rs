//! Ethernet II frames (DIX): destination, source, EtherType.
//!
//! VLAN tags (802.1Q/802.1ad) are separate headers (`vlan`): a tagged frame's
//! EtherType field holds the tag's TPID, and the tag is parsed from the
//! payload.

use super::{Error, Field, Rest, Result, be, enum_with_unknown};
use core::fmt;

enum_with_unknown! {
    /// EtherType values (also TPIDs).
    pub enum EtherType(u16) {
        Ipv4 = 0x0800,
        Arp = 0x0806,
        /// Reverse ARP.
        Rarp = 0x8035,
        /// 802.1Q customer VLAN tag.
        Vlan = 0x8100,
        Ipv6 = 0x86dd,
        /// MPLS unicast.
        Mpls = 0x8847,
        /// MPLS multicast.
        MplsMulticast = 0x8848,
        /// 802.1ad service VLAN tag (QinQ outer tag).
        Qinq = 0x88a8,
        /// 802.1ah provider backbone bridging I-TAG.
        Pbb = 0x88e7,
        /// Transparent Ethernet bridging (GRE payload type for Ethernet).
        TransparentEthernet = 0x6558,
    }
}

impl EtherType {
    /// True for the TPIDs of the VLAN tags we parse (0x8100, 0x88a8).
    #[inline]
    pub fn is_vlan_tpid(self) -> bool {
        matches!(self, EtherType::Vlan | EtherType::Qinq)
    }
}

/// A six-octet Ethernet address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Builds an address from the first six bytes of `data`.
    ///
    /// # Panics
    /// When `data` is shorter than six bytes.
    pub fn from_bytes(data: &[u8]) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&data[..6]);
        EthernetAddress(a)
    }

    /// The address bytes.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// True for the all-ones address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// True for a group (multicast or broadcast) address.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// True for a unicast address.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// True for a locally administered address.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl core::str::FromStr for EthernetAddress {
    type Err = Error;

    /// Parses `aa:bb:cc:dd:ee:ff` (hex digits, one or two per octet).
    fn from_str(s: &str) -> Result<Self> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for o in out.iter_mut() {
            let p = parts.next().ok_or(Error::Malformed)?;
            if p.is_empty() || p.len() > 2 {
                return Err(Error::Malformed);
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| Error::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(Error::Malformed);
        }
        Ok(EthernetAddress(out))
    }
}

mod field {
    use super::{Field, Rest};
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of an Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view over an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wraps `buffer` and checks that it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
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

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The EtherType (or a VLAN TPID).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be::u16(&self.buffer.as_ref()[field::ETHERTYPE]))
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&value.0)
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&value.0)
    }

    /// Sets the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, value: EtherType) {
        be::put_u16(&mut self.buffer.as_mut()[field::ETHERTYPE], value.into())
    }

    /// Everything after the header, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The validated value form of an Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    pub src_addr: EthernetAddress,
    pub dst_addr: EthernetAddress,
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Parses a checked view.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into `frame`, whose buffer must be at least
    /// [`buffer_len`](Self::buffer_len) bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;

    static FRAME: [u8; 18] = [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // dst
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, // src
        0x08, 0x00, // IPv4
        0xaa, 0xbb, 0xcc, 0xdd,
    ];

    fn repr() -> EthernetRepr {
        EthernetRepr {
            dst_addr: EthernetAddress([1, 2, 3, 4, 5, 6]),
            src_addr: EthernetAddress([0x11, 0x12, 0x13, 0x14, 0x15, 0x16]),
            ethertype: EtherType::Ipv4,
        }
    }

    #[test]
    fn parse() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(f.dst_addr(), EthernetAddress([1, 2, 3, 4, 5, 6]));
        assert_eq!(f.src_addr().to_string(), "11:12:13:14:15:16");
        assert_eq!(f.ethertype(), EtherType::Ipv4);
        assert_eq!(f.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
        assert_eq!(EthernetRepr::parse(&f).unwrap(), repr());
    }

    #[test]
    fn emit_writes_every_byte() {
        let mut buf = poisoned(HEADER_LEN);
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        repr().emit(&mut f);
        assert_eq!(&buf[..], &FRAME[..HEADER_LEN]);
    }

    #[test]
    fn truncated() {
        assert_eq!(
            EthernetFrame::new_checked(&FRAME[..13]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            EthernetFrame::new_checked(&[][..]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn unknown_ethertype_round_trips() {
        let mut bytes = FRAME;
        bytes[12..14].copy_from_slice(&[0x12, 0x34]);
        let r = EthernetRepr::parse(&EthernetFrame::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(r.ethertype, EtherType::Unknown(0x1234));
        let mut buf = poisoned(HEADER_LEN);
        r.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &bytes[..HEADER_LEN]);
    }

    #[test]
    fn address_text() {
        let a: EthernetAddress = "0a:b:0C:dd:ee:ff".parse().unwrap();
        assert_eq!(a.0, [0x0a, 0x0b, 0x0c, 0xdd, 0xee, 0xff]);
        assert!("0a:0b:0c:dd:ee".parse::<EthernetAddress>().is_err());
        assert!("0a:0b:0c:dd:ee:ff:00".parse::<EthernetAddress>().is_err());
        assert!("0a:0b:0c:dd:ee:fg".parse::<EthernetAddress>().is_err());
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert!(EthernetAddress([1, 0, 0x5e, 0, 0, 1]).is_multicast());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn repr_round_trips(src: [u8; 6], dst: [u8; 6], ty: u16) {
                let r = EthernetRepr {
                    src_addr: EthernetAddress(src),
                    dst_addr: EthernetAddress(dst),
                    ethertype: EtherType::from(ty),
                };
                let mut buf = poisoned(r.buffer_len());
                r.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
                let back = EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()).unwrap();
                prop_assert_eq!(back, r);
                prop_assert_eq!(u16::from(back.ethertype), ty);
            }

            #[test]
            fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
                if let Ok(f) = EthernetFrame::new_checked(&bytes[..]) {
                    let _ = EthernetRepr::parse(&f);
                    let _ = f.payload();
                }
            }

            #[test]
            fn address_text_round_trips(a: [u8; 6]) {
                let addr = EthernetAddress(a);
                prop_assert_eq!(addr.to_string().parse::<EthernetAddress>().unwrap(), addr);
            }
        }
    }
}
