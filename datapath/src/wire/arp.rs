//! ARP (RFC 826).
//!
//! The view reads any ARP packet: an 8-byte fixed part (hardware type,
//! protocol type, hardware length, protocol length, operation) and then four
//! addresses whose sizes come from the two length fields. `check_len`
//! validates the buffer against those lengths, so the address getters cannot
//! panic afterwards (as long as the length fields are not rewritten).
//!
//! [`ArpRepr`] only understands Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6,
//! plen 4, 28 bytes); anything else is [`Error::Unrecognized`], and an
//! Ethernet/IPv4 packet with other address lengths is [`Error::Malformed`].
//! Bytes after the addresses (Ethernet padding) are not part of the header.

use super::ethernet::{EtherType, EthernetAddress};
use super::{Error, Field, Result, be, enum_with_unknown};

enum_with_unknown! {
    /// ARP hardware types.
    pub enum ArpHardware(u16) {
        Ethernet = 1,
    }
}

enum_with_unknown! {
    /// ARP operation codes.
    pub enum ArpOperation(u16) {
        Request = 1,
        Reply = 2,
    }
}

mod field {
    use super::Field;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    pub const ADDRS: usize = 8;

    // The address fields, given the hardware and protocol lengths.
    pub const fn sha(hlen: usize, _plen: usize) -> Field {
        ADDRS..ADDRS + hlen
    }
    pub const fn spa(hlen: usize, plen: usize) -> Field {
        ADDRS + hlen..ADDRS + hlen + plen
    }
    pub const fn tha(hlen: usize, plen: usize) -> Field {
        ADDRS + hlen + plen..ADDRS + 2 * hlen + plen
    }
    pub const fn tpa(hlen: usize, plen: usize) -> Field {
        ADDRS + 2 * hlen + plen..ADDRS + 2 * hlen + 2 * plen
    }
}

/// Length of the fixed part, before the addresses.
pub const FIXED_LEN: usize = field::ADDRS;

/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = FIXED_LEN + 2 * (6 + 4);

/// A view over an ARP packet.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps `buffer` without checking its length.
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wraps `buffer` and checks that it holds the fixed part and all four
    /// addresses.
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the
    /// fixed part plus the addresses its length fields announce.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN || len < self.header_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the packet the length fields announce:
    /// `8 + 2 * (hlen + plen)`.
    ///
    /// # Panics
    /// When the buffer is shorter than 6 bytes (never after `check_len`).
    #[inline]
    pub fn header_len(&self) -> usize {
        FIXED_LEN + 2 * (self.hlen() + self.plen())
    }

    #[inline]
    fn hlen(&self) -> usize {
        usize::from(self.hardware_len())
    }

    #[inline]
    fn plen(&self) -> usize {
        usize::from(self.protocol_len())
    }

    /// The hardware type (htype).
    #[inline]
    pub fn hardware_type(&self) -> ArpHardware {
        ArpHardware::from(be::u16(&self.buffer.as_ref()[field::HTYPE]))
    }

    /// The protocol type (ptype), an EtherType.
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(be::u16(&self.buffer.as_ref()[field::PTYPE]))
    }

    /// The hardware address length (hlen).
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The protocol address length (plen).
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation (oper).
    #[inline]
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(be::u16(&self.buffer.as_ref()[field::OPER]))
    }

    /// The sender hardware address (sha), `hlen` bytes.
    #[inline]
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::sha(self.hlen(), self.plen())]
    }

    /// The sender protocol address (spa), `plen` bytes.
    #[inline]
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::spa(self.hlen(), self.plen())]
    }

    /// The target hardware address (tha), `hlen` bytes.
    #[inline]
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tha(self.hlen(), self.plen())]
    }

    /// The target protocol address (tpa), `plen` bytes.
    #[inline]
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tpa(self.hlen(), self.plen())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, value: ArpHardware) {
        be::put_u16(&mut self.buffer.as_mut()[field::HTYPE], value.into())
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: EtherType) {
        be::put_u16(&mut self.buffer.as_mut()[field::PTYPE], value.into())
    }

    /// Sets the hardware address length. The address fields move: check the
    /// length again before reading them.
    #[inline]
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value
    }

    /// Sets the protocol address length. The address fields move: check the
    /// length again before reading them.
    #[inline]
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value
    }

    /// Sets the operation.
    #[inline]
    pub fn set_operation(&mut self, value: ArpOperation) {
        be::put_u16(&mut self.buffer.as_mut()[field::OPER], value.into())
    }

    /// Sets the sender hardware address.
    ///
    /// # Panics
    /// When `value.len()` differs from the hardware length field.
    #[inline]
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        let r = field::sha(self.hlen(), self.plen());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }

    /// Sets the sender protocol address.
    ///
    /// # Panics
    /// When `value.len()` differs from the protocol length field.
    #[inline]
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        let r = field::spa(self.hlen(), self.plen());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }

    /// Sets the target hardware address.
    ///
    /// # Panics
    /// When `value.len()` differs from the hardware length field.
    #[inline]
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        let r = field::tha(self.hlen(), self.plen());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }

    /// Sets the target protocol address.
    ///
    /// # Panics
    /// When `value.len()` differs from the protocol length field.
    #[inline]
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        let r = field::tpa(self.hlen(), self.plen());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }
}

/// The value form of an ARP packet this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpRepr {
    /// ARP for IPv4 over Ethernet.
    EthernetIpv4 {
        operation: ArpOperation,
        source_hardware_addr: EthernetAddress,
        source_protocol_addr: [u8; 4],
        target_hardware_addr: EthernetAddress,
        target_protocol_addr: [u8; 4],
    },
}

impl ArpRepr {
    /// Parses a view (checking its length).
    ///
    /// Fails with [`Error::Truncated`] for a short buffer,
    /// [`Error::Unrecognized`] for a hardware type other than Ethernet or a
    /// protocol type other than IPv4, and [`Error::Malformed`] when an
    /// Ethernet/IPv4 packet does not have hlen 6 and plen 4.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != ArpHardware::Ethernet
            || packet.protocol_type() != EtherType::Ipv4
        {
            return Err(Error::Unrecognized);
        }
        if packet.hardware_len() != 6 || packet.protocol_len() != 4 {
            return Err(Error::Malformed);
        }
        let ipv4 = |b: &[u8]| [b[0], b[1], b[2], b[3]];
        Ok(ArpRepr::EthernetIpv4 {
            operation: packet.operation(),
            source_hardware_addr: EthernetAddress::from_bytes(packet.source_hardware_addr()),
            source_protocol_addr: ipv4(packet.source_protocol_addr()),
            target_hardware_addr: EthernetAddress::from_bytes(packet.target_hardware_addr()),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// Bytes `emit` writes.
    pub const fn buffer_len(&self) -> usize {
        match self {
            ArpRepr::EthernetIpv4 { .. } => ETHERNET_IPV4_LEN,
        }
    }

    /// Writes the packet into `packet`, whose buffer must be at least
    /// [`buffer_len`](Self::buffer_len) bytes long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        match *self {
            ArpRepr::EthernetIpv4 {
                operation,
                source_hardware_addr,
                source_protocol_addr,
                target_hardware_addr,
                target_protocol_addr,
            } => {
                packet.set_hardware_type(ArpHardware::Ethernet);
                packet.set_protocol_type(EtherType::Ipv4);
                packet.set_hardware_len(6);
                packet.set_protocol_len(4);
                packet.set_operation(operation);
                packet.set_source_hardware_addr(&source_hardware_addr.0);
                packet.set_source_protocol_addr(&source_protocol_addr);
                packet.set_target_hardware_addr(&target_hardware_addr.0);
                packet.set_target_protocol_addr(&target_protocol_addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    // A request "who has 10.0.0.2? tell 10.0.0.1", plus two padding bytes.
    static REQUEST: [u8; 30] = [
        0x00, 0x01, // htype Ethernet
        0x08, 0x00, // ptype IPv4
        0x06, 0x04, // hlen, plen
        0x00, 0x01, // request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sha
        0x0a, 0x00, 0x00, 0x01, // spa
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // tha
        0x0a, 0x00, 0x00, 0x02, // tpa
        0x00, 0x00, // padding
    ];

    fn repr() -> ArpRepr {
        ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            source_protocol_addr: [10, 0, 0, 1],
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: [10, 0, 0, 2],
        }
    }

    #[test]
    fn parse() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), ArpHardware::Ethernet);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.header_len(), ETHERNET_IPV4_LEN);
        assert_eq!(p.operation(), ArpOperation::Request);
        assert_eq!(p.source_hardware_addr(), &[2, 0, 0, 0, 0, 1]);
        assert_eq!(p.source_protocol_addr(), &[10, 0, 0, 1]);
        assert_eq!(p.target_hardware_addr(), &[0; 6]);
        assert_eq!(p.target_protocol_addr(), &[10, 0, 0, 2]);
        assert_eq!(ArpRepr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn emit_writes_every_byte() {
        let r = repr();
        assert_eq!(r.buffer_len(), 28);
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &REQUEST[..ETHERNET_IPV4_LEN]);
    }

    #[test]
    fn truncated_in_fixed_part() {
        for len in 0..FIXED_LEN {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..len]).unwrap_err(),
                Error::Truncated
            );
            assert_eq!(
                ArpRepr::parse(&ArpPacket::new_unchecked(&REQUEST[..len])).unwrap_err(),
                Error::Truncated
            );
        }
    }

    #[test]
    fn truncated_in_addresses() {
        // Ends inside sha, spa, tha, tpa, and one byte short of the end.
        for len in [FIXED_LEN, 11, 14, 17, 20, 23, 25, ETHERNET_IPV4_LEN - 1] {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..len]).unwrap_err(),
                Error::Truncated,
                "len {len}"
            );
        }
        assert!(ArpPacket::new_checked(&REQUEST[..ETHERNET_IPV4_LEN]).is_ok());
    }

    #[test]
    fn length_fields_drive_check_len() {
        // hlen 255, plen 255: 8 + 2 * 510 bytes needed, only 30 present.
        let mut bytes = REQUEST;
        bytes[4] = 0xff;
        bytes[5] = 0xff;
        assert_eq!(
            ArpPacket::new_checked(&bytes[..]).unwrap_err(),
            Error::Truncated
        );
        // hlen 0, plen 0: just the fixed part, empty addresses.
        bytes[4] = 0;
        bytes[5] = 0;
        let p = ArpPacket::new_checked(&bytes[..FIXED_LEN]).unwrap();
        assert!(p.source_hardware_addr().is_empty());
        assert!(p.target_protocol_addr().is_empty());
    }

    #[test]
    fn unknown_hardware_type() {
        let mut bytes = REQUEST;
        bytes[0..2].copy_from_slice(&[0x00, 0x06]); // IEEE 802
        let p = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.hardware_type(), ArpHardware::Unknown(6));
        assert_eq!(ArpRepr::parse(&p).unwrap_err(), Error::Unrecognized);
    }

    #[test]
    fn unknown_protocol_type() {
        let mut bytes = REQUEST;
        bytes[2..4].copy_from_slice(&[0x86, 0xdd]);
        let p = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap_err(), Error::Unrecognized);
    }

    #[test]
    fn wrong_hardware_len() {
        // hlen 5 keeps the packet within the buffer but is wrong for Ethernet.
        let mut bytes = REQUEST;
        bytes[4] = 5;
        let p = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn wrong_protocol_len() {
        let mut bytes = REQUEST;
        bytes[5] = 5;
        let p = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn unknown_operation_round_trips() {
        let mut bytes = REQUEST;
        bytes[6..8].copy_from_slice(&[0x00, 0x08]); // InARP request
        let r = ArpRepr::parse(&ArpPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        let ArpRepr::EthernetIpv4 { operation, .. } = r;
        assert_eq!(operation, ArpOperation::Unknown(8));
        let mut buf = poisoned(r.buffer_len());
        r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..], &bytes[..ETHERNET_IPV4_LEN]);
    }

    fn any_repr() -> impl Strategy<Value = ArpRepr> {
        (
            any::<u16>(),
            any::<[u8; 6]>(),
            any::<[u8; 4]>(),
            any::<[u8; 6]>(),
            any::<[u8; 4]>(),
        )
            .prop_map(|(op, sha, spa, tha, tpa)| ArpRepr::EthernetIpv4 {
                operation: ArpOperation::from(op),
                source_hardware_addr: EthernetAddress(sha),
                source_protocol_addr: spa,
                target_hardware_addr: EthernetAddress(tha),
                target_protocol_addr: tpa,
            })
    }

    proptest! {
        #[test]
        fn repr_round_trips(r in any_repr()) {
            let mut buf = poisoned(r.buffer_len());
            r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
            let parsed = ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap();
            prop_assert_eq!(parsed, r);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ArpRepr::parse(&ArpPacket::new_unchecked(&bytes[..]));
            if let Ok(p) = ArpPacket::new_checked(&bytes[..]) {
                let _ = (
                    p.hardware_type(),
                    p.protocol_type(),
                    p.operation(),
                    p.header_len(),
                    p.source_hardware_addr(),
                    p.source_protocol_addr(),
                    p.target_hardware_addr(),
                    p.target_protocol_addr(),
                );
                let _ = ArpRepr::parse(&p);
            }
        }

        #[test]
        fn small_lengths_never_panic(
            hlen in 0u8..8,
            plen in 0u8..8,
            rest in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            // Biased towards length fields that fit, to reach the getters.
            let mut bytes = vec![0, 1, 8, 0, hlen, plen, 0, 1];
            bytes.extend_from_slice(&rest);
            if let Ok(p) = ArpPacket::new_checked(&bytes[..]) {
                prop_assert_eq!(p.source_hardware_addr().len(), usize::from(hlen));
                prop_assert_eq!(p.target_protocol_addr().len(), usize::from(plen));
                let _ = ArpRepr::parse(&p);
            }
        }
    }
}
