//! [`Match`]: the version-independent flow match, its wire forms (OpenFlow
//! 1.0 `ofp_match`, OXM `ofp_match` for 1.2+), and its conversion to the
//! datapath's `FlowKey`/`FlowMask`.
//!
//! Contract:
//! * A `Match` is a list of [`MatchEntry`]s (field, value, optional mask) in
//!   wire order, at most one per field. Equality ignores order.
//! * [`Match::decode_oxm_bytes`] validates every TLV (see [`oxm`]),
//!   rejects duplicates (`BadMatchDupField`) and missing prerequisites
//!   (`BadMatchBadPrereq`); a non-OXM match type is `BadMatchBadType`.
//! * [`Match::decode_of10_bytes`] turns the fixed 1.0 structure into entries,
//!   dropping fields whose prerequisites are absent (as Open vSwitch
//!   normalises them); [`Match::encode_of10`] is canonical (the wildcard word
//!   `ovs-ofctl` writes) and fails with `NotInVersion` for what 1.0 cannot
//!   express.
//! * [`Match::to_flow`] maps onto the datapath representation (VLAN CFI =
//!   present, ICMP type/code in `tp_src`/`tp_dst`, ARP addresses in
//!   `nw_src`/`nw_dst`, ND link-layer addresses in `arp_sha`/`arp_tha`,
//!   `in_phy_port` in `in_port`: every port is physical);
//!   fields the datapath cannot hold (`actset_output`,
//!   `conj_id`, non-Ethernet `packet_type`) are `BadMatchBadField`.
//!   [`Match::from_flow`] is the inverse for every field that has storage;
//!   fields whose meaning depends on an unmatched `eth_type`/`ip_proto` are
//!   left out.

use super::Version;
use super::error::{EncodeError, ErrorKind};
use super::oxm::{self, Field, Prereq, Value};
use super::port::{of10_port, port_from_of10};
use super::wire::{Put, Reader, round8};
use core::fmt;
use datapath::flow::{FlowKey, FlowMask};

/// One field constraint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatchEntry {
    /// The field.
    pub field: Field,
    /// Its value (bits outside `mask` are zero).
    pub value: Value,
    /// The mask, or `None` for an exact match.
    pub mask: Option<Value>,
}

impl MatchEntry {
    /// The mask, all ones when exact.
    pub fn mask_or_ones(&self) -> Value {
        self.mask
            .unwrap_or_else(|| Value::ones(self.field.info().width))
    }

    /// The value if the entry is exact (or its mask is all ones).
    pub fn exact_u64(&self) -> Option<u64> {
        match self.mask {
            Some(m) if !m.is_ones() => None,
            _ => Some(self.value.to_u64()),
        }
    }
}

impl fmt::Debug for MatchEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.field.info();
        write!(f, "{}=", info.name)?;
        self.value.fmt_as(info.format, f)?;
        if let Some(m) = &self.mask {
            write!(f, "/")?;
            m.fmt_as(
                if info.format == oxm::Format::Dec {
                    oxm::Format::Hex
                } else {
                    info.format
                },
                f,
            )?;
        }
        Ok(())
    }
}

/// A flow match: field constraints in wire order.
#[derive(Clone, Default)]
pub struct Match {
    entries: Vec<MatchEntry>,
}

impl PartialEq for Match {
    fn eq(&self, other: &Match) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().all(|e| other.get(e.field) == Some(e))
    }
}
impl Eq for Match {}

impl fmt::Debug for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Match(")?;
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            write!(f, "{e:?}")?;
        }
        write!(f, ")")
    }
}

/// Size of the OpenFlow 1.0 `ofp_match`.
pub const OF10_MATCH_LEN: usize = 40;

mod fw {
    pub const IN_PORT: u32 = 1 << 0;
    pub const DL_VLAN: u32 = 1 << 1;
    pub const DL_SRC: u32 = 1 << 2;
    pub const DL_DST: u32 = 1 << 3;
    pub const DL_TYPE: u32 = 1 << 4;
    pub const NW_PROTO: u32 = 1 << 5;
    pub const TP_SRC: u32 = 1 << 6;
    pub const TP_DST: u32 = 1 << 7;
    pub const NW_SRC_SHIFT: u32 = 8;
    pub const NW_DST_SHIFT: u32 = 14;
    pub const DL_VLAN_PCP: u32 = 1 << 20;
    pub const NW_TOS: u32 = 1 << 21;
    /// Everything wildcarded, in the canonical form (nw_src/nw_dst /0).
    pub const CANONICAL_ALL: u32 =
        0xff | DL_VLAN_PCP | NW_TOS | (32 << NW_SRC_SHIFT) | (32 << NW_DST_SHIFT);
}

const ETH_IP: u64 = 0x0800;
const ETH_IPV6: u64 = 0x86dd;
const ETH_ARP: u64 = 0x0806;
const ETH_RARP: u64 = 0x8035;

impl Match {
    /// The empty (match-everything) match.
    pub fn new() -> Match {
        Match::default()
    }

    /// The entries in order.
    pub fn entries(&self) -> &[MatchEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the match matches everything.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `f`.
    pub fn get(&self, f: Field) -> Option<&MatchEntry> {
        self.entries.iter().find(|e| e.field == f)
    }

    /// The value of `f` if matched exactly.
    pub fn exact(&self, f: Field) -> Option<u64> {
        self.get(f).and_then(MatchEntry::exact_u64)
    }

    /// Sets `f` (replacing an earlier entry in place). The value is masked
    /// so no bit outside the mask is set; an all-ones mask is kept as given.
    pub fn set(&mut self, f: Field, value: Value, mask: Option<Value>) {
        let value = match &mask {
            Some(m) => value.and(m),
            None => value,
        };
        let e = MatchEntry {
            field: f,
            value,
            mask,
        };
        match self.entries.iter_mut().find(|x| x.field == f) {
            Some(x) => *x = e,
            None => self.entries.push(e),
        }
    }

    /// Sets `f` exactly to the integer `v`.
    pub fn set_u64(&mut self, f: Field, v: u64) {
        self.set(f, Value::from_u64(f.info().width, v), None);
    }

    /// Sets `f` to `v` under `mask`.
    pub fn set_masked_u64(&mut self, f: Field, v: u64, mask: u64) {
        let w = f.info().width;
        self.set(f, Value::from_u64(w, v), Some(Value::from_u64(w, mask)));
    }

    /// Reorders the entries by `key` (stable; the same entries, so the same
    /// match).
    pub fn sort_by_key<K: Ord>(&mut self, key: impl FnMut(&MatchEntry) -> K) {
        self.entries.sort_by_key(key);
    }

    /// Removes `f`.
    pub fn remove(&mut self, f: Field) {
        self.entries.retain(|e| e.field != f);
    }

    fn eth_type_is(&self, types: &[u64]) -> bool {
        self.exact(Field::EthType)
            .is_some_and(|t| types.contains(&t))
    }

    fn proto_is(&self, p: u64) -> bool {
        self.exact(Field::IpProto) == Some(p)
    }

    /// True when `p` holds for this match.
    pub fn prereq_ok(&self, p: Prereq) -> bool {
        let ip = || self.eth_type_is(&[ETH_IP, ETH_IPV6]);
        let icmp6 = || self.eth_type_is(&[ETH_IPV6]) && self.proto_is(58);
        let icmp6_type = self.exact(Field::Icmpv6Type);
        match p {
            Prereq::None => true,
            Prereq::Vlan => [Field::VlanVid, Field::VlanTci].iter().any(|&f| {
                self.get(f).is_some_and(|e| {
                    let m = e.mask_or_ones().to_u64();
                    m & 0x1000 != 0 && e.value.to_u64() & 0x1000 != 0
                })
            }),
            Prereq::Ip => ip(),
            Prereq::Ipv4 => self.eth_type_is(&[ETH_IP]),
            Prereq::Ipv6 => self.eth_type_is(&[ETH_IPV6]),
            Prereq::Arp => self.eth_type_is(&[ETH_ARP, ETH_RARP]),
            Prereq::Tcp => ip() && self.proto_is(6),
            Prereq::Udp => ip() && self.proto_is(17),
            Prereq::Sctp => ip() && self.proto_is(132),
            Prereq::Icmpv4 => self.eth_type_is(&[ETH_IP]) && self.proto_is(1),
            Prereq::Icmpv6 => icmp6(),
            Prereq::Nd => icmp6() && matches!(icmp6_type, Some(135 | 136)),
            Prereq::NdSolicit => icmp6() && icmp6_type == Some(135),
            Prereq::NdAdvert => icmp6() && icmp6_type == Some(136),
            Prereq::Mpls => self.eth_type_is(&[0x8847, 0x8848]),
            Prereq::Pbb => self.eth_type_is(&[0x88e7]),
        }
    }

    /// Checks every entry's prerequisite (`BadMatchBadPrereq`).
    pub fn check_prereqs(&self) -> Result<(), ErrorKind> {
        if self
            .entries
            .iter()
            .all(|e| self.prereq_ok(e.field.info().prereq))
        {
            Ok(())
        } else {
            Err(ErrorKind::BadMatchBadPrereq)
        }
    }

    /// Decodes OXM TLVs filling all of `r` (no `ofp_match` header).
    pub(crate) fn decode_oxm_fields(r: &mut Reader<'_>) -> Result<Match, ErrorKind> {
        let mut m = Match::new();
        while !r.is_empty() {
            let (f, value, mask) = oxm::decode_entry(r)?;
            if m.get(f).is_some() {
                return Err(ErrorKind::BadMatchDupField);
            }
            m.entries.push(MatchEntry {
                field: f,
                value,
                mask,
            });
        }
        m.check_prereqs()?;
        Ok(m)
    }

    /// Decodes an OXM `ofp_match` (type 1, length, TLVs, padding to 8),
    /// returning it and the bytes consumed.
    pub fn decode_oxm_bytes(bytes: &[u8]) -> Result<(Match, usize), ErrorKind> {
        let mut r = Reader::new(bytes, ErrorKind::BadMatchBadLen);
        let m = Match::decode_oxm(&mut r)?;
        Ok((m, bytes.len() - r.remaining()))
    }

    /// Decodes an OpenFlow 1.0 `ofp_match` from the first 40 bytes.
    pub fn decode_of10_bytes(bytes: &[u8]) -> Result<Match, ErrorKind> {
        Match::decode_of10(&mut Reader::new(bytes, ErrorKind::BadRequestBadLen))
    }

    pub(crate) fn decode_oxm(r: &mut Reader<'_>) -> Result<Match, ErrorKind> {
        let ty = r.u16().map_err(|_| ErrorKind::BadMatchBadLen)?;
        let len = usize::from(r.u16().map_err(|_| ErrorKind::BadMatchBadLen)?);
        if ty != 1 {
            return Err(ErrorKind::BadMatchBadType);
        }
        if len < 4 || round8(len) - 4 > r.remaining() {
            return Err(ErrorKind::BadMatchBadLen);
        }
        let mut fields = r.sub(len - 4, ErrorKind::BadMatchBadLen)?;
        r.skip(round8(len) - len)?;
        Match::decode_oxm_fields(&mut fields)
    }

    /// Writes the TLVs only.
    pub(crate) fn encode_oxm_fields(&self, version: Version, w: &mut Vec<u8>) {
        for e in &self.entries {
            oxm::encode_entry(w, version, e.field, &e.value, e.mask.as_ref());
        }
    }

    /// Writes an OXM `ofp_match` with padding.
    pub fn encode_oxm(&self, version: Version, w: &mut Vec<u8>) {
        let start = w.len();
        w.put_u16(1);
        w.put_u16(0);
        self.encode_oxm_fields(version, w);
        let len = w.len() - start;
        w.patch_u16(start + 2, len as u16);
        w.pad8_from(start);
    }

    /// Decodes an OpenFlow 1.0 `ofp_match` (40 bytes).
    pub(crate) fn decode_of10(r: &mut Reader<'_>) -> Result<Match, ErrorKind> {
        let mut b = r.sub(OF10_MATCH_LEN, ErrorKind::BadRequestBadLen)?;
        let w = b.u32()?;
        let in_port = b.u16()?;
        let dl_src: [u8; 6] = b.array()?;
        let dl_dst: [u8; 6] = b.array()?;
        let dl_vlan = b.u16()?;
        let dl_vlan_pcp = b.u8()?;
        b.skip(1)?;
        let dl_type = b.u16()?;
        let nw_tos = b.u8()?;
        let nw_proto = b.u8()?;
        b.skip(2)?;
        let nw_src = b.u32()?;
        let nw_dst = b.u32()?;
        let tp_src = b.u16()?;
        let tp_dst = b.u16()?;

        let mut m = Match::new();
        let on = |bit: u32| w & bit == 0;
        if on(fw::IN_PORT) {
            m.set_u64(Field::InPort, u64::from(port_from_of10(in_port)));
        }
        if on(fw::DL_SRC) {
            m.set(Field::EthSrc, Value::from_bytes(&dl_src), None);
        }
        if on(fw::DL_DST) {
            m.set(Field::EthDst, Value::from_bytes(&dl_dst), None);
        }
        let vlan_none = on(fw::DL_VLAN) && dl_vlan == 0xffff;
        if on(fw::DL_VLAN) {
            let v = if vlan_none {
                0
            } else {
                0x1000 | (dl_vlan & 0xfff)
            };
            m.set_u64(Field::VlanVid, u64::from(v));
        }
        if on(fw::DL_VLAN_PCP) && !vlan_none {
            if !on(fw::DL_VLAN) {
                m.set_masked_u64(Field::VlanVid, 0x1000, 0x1000);
            }
            m.set_u64(Field::VlanPcp, u64::from(dl_vlan_pcp & 7));
        }
        if on(fw::DL_TYPE) {
            m.set_u64(Field::EthType, u64::from(dl_type));
            let t = u64::from(dl_type);
            let nw_mask = |shift: u32| -> Option<u32> {
                let n = (w >> shift) & 0x3f;
                (n < 32).then(|| u32::MAX << n)
            };
            if t == ETH_IP {
                if on(fw::NW_TOS) {
                    m.set_u64(Field::IpDscp, u64::from(nw_tos >> 2));
                }
                if on(fw::NW_PROTO) {
                    m.set_u64(Field::IpProto, u64::from(nw_proto));
                }
                for (shift, f, v) in [
                    (fw::NW_SRC_SHIFT, Field::Ipv4Src, nw_src),
                    (fw::NW_DST_SHIFT, Field::Ipv4Dst, nw_dst),
                ] {
                    if let Some(mask) = nw_mask(shift) {
                        set_prefix(&mut m, f, v, mask);
                    }
                }
                if on(fw::NW_PROTO) {
                    let (s, d) = match nw_proto {
                        6 => (Field::TcpSrc, Field::TcpDst),
                        17 => (Field::UdpSrc, Field::UdpDst),
                        1 => (Field::Icmpv4Type, Field::Icmpv4Code),
                        _ => return Ok(m),
                    };
                    let narrow = |v: u16| {
                        if nw_proto == 1 {
                            u64::from(v & 0xff)
                        } else {
                            u64::from(v)
                        }
                    };
                    if on(fw::TP_SRC) {
                        m.set_u64(s, narrow(tp_src));
                    }
                    if on(fw::TP_DST) {
                        m.set_u64(d, narrow(tp_dst));
                    }
                }
            } else if t == ETH_ARP || t == ETH_RARP {
                if on(fw::NW_PROTO) {
                    m.set_u64(Field::ArpOp, u64::from(nw_proto));
                }
                for (shift, f, v) in [
                    (fw::NW_SRC_SHIFT, Field::ArpSpa, nw_src),
                    (fw::NW_DST_SHIFT, Field::ArpTpa, nw_dst),
                ] {
                    if let Some(mask) = nw_mask(shift) {
                        set_prefix(&mut m, f, v, mask);
                    }
                }
            }
        }
        Ok(m)
    }

    /// Writes an OpenFlow 1.0 `ofp_match`.
    pub fn encode_of10(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut wc = fw::CANONICAL_ALL;
        let (mut in_port, mut dl_vlan, mut pcp, mut dl_type) = (0u16, 0u16, 0u8, 0u16);
        let (mut dl_src, mut dl_dst) = ([0u8; 6], [0u8; 6]);
        let (mut tos, mut proto, mut nw_src, mut nw_dst, mut tp_src, mut tp_dst) =
            (0u8, 0u8, 0u32, 0u32, 0u16, 0u16);
        let cidr = |e: &MatchEntry| -> Result<(u32, u32), EncodeError> {
            let m = e.mask_or_ones().to_u64() as u32;
            if m.leading_ones() + m.trailing_zeros() != 32 {
                return Err(EncodeError::NotInVersion(
                    "non-CIDR IPv4 mask in OpenFlow 1.0",
                ));
            }
            Ok((e.value.to_u64() as u32, m.trailing_zeros().min(32)))
        };
        for e in &self.entries {
            let exact = || {
                e.exact_u64()
                    .ok_or(EncodeError::NotInVersion("masked field in OpenFlow 1.0"))
            };
            match e.field {
                Field::InPort => {
                    in_port = of10_port(exact()? as u32)?;
                    wc &= !fw::IN_PORT;
                }
                Field::EthSrc | Field::EthDst => {
                    exact()?;
                    let mut a = [0u8; 6];
                    a.copy_from_slice(e.value.as_bytes());
                    if e.field == Field::EthSrc {
                        dl_src = a;
                        wc &= !fw::DL_SRC;
                    } else {
                        dl_dst = a;
                        wc &= !fw::DL_DST;
                    }
                }
                Field::VlanVid => match (
                    e.value.to_u64() as u16,
                    e.mask_or_ones().to_u64() as u16 & 0x1fff,
                ) {
                    (0, 0x1fff) => {
                        // Untagged: Open vSwitch also clears the PCP wildcard.
                        dl_vlan = 0xffff;
                        wc &= !(fw::DL_VLAN | fw::DL_VLAN_PCP);
                    }
                    (v, 0x1fff) => {
                        dl_vlan = v & 0xfff;
                        wc &= !fw::DL_VLAN;
                    }
                    (0x1000, 0x1000) if self.get(Field::VlanPcp).is_some() => {}
                    _ => return Err(EncodeError::NotInVersion("vlan_vid mask in OpenFlow 1.0")),
                },
                Field::VlanPcp => {
                    pcp = exact()? as u8;
                    wc &= !fw::DL_VLAN_PCP;
                }
                Field::EthType => {
                    dl_type = exact()? as u16;
                    wc &= !fw::DL_TYPE;
                }
                Field::IpDscp => {
                    tos = (exact()? as u8) << 2;
                    wc &= !fw::NW_TOS;
                }
                Field::NwTos => {
                    tos = exact()? as u8;
                    wc &= !fw::NW_TOS;
                }
                Field::IpProto | Field::ArpOp => {
                    let v = exact()?;
                    proto =
                        u8::try_from(v).map_err(|_| EncodeError::NotInVersion("arp_op > 255"))?;
                    wc &= !fw::NW_PROTO;
                }
                Field::Ipv4Src | Field::ArpSpa => {
                    let (v, n) = cidr(e)?;
                    nw_src = v;
                    wc = (wc & !(0x3f << fw::NW_SRC_SHIFT)) | (n << fw::NW_SRC_SHIFT);
                }
                Field::Ipv4Dst | Field::ArpTpa => {
                    let (v, n) = cidr(e)?;
                    nw_dst = v;
                    wc = (wc & !(0x3f << fw::NW_DST_SHIFT)) | (n << fw::NW_DST_SHIFT);
                }
                Field::TcpSrc | Field::UdpSrc | Field::Icmpv4Type => {
                    tp_src = exact()? as u16;
                    wc &= !fw::TP_SRC;
                }
                Field::TcpDst | Field::UdpDst | Field::Icmpv4Code => {
                    tp_dst = exact()? as u16;
                    wc &= !fw::TP_DST;
                }
                _ => return Err(EncodeError::NotInVersion(e.field.name())),
            }
        }
        w.put_u32(wc);
        w.put_u16(in_port);
        w.extend_from_slice(&dl_src);
        w.extend_from_slice(&dl_dst);
        w.put_u16(dl_vlan);
        w.put_u8(pcp);
        w.put_u8(0);
        w.put_u16(dl_type);
        w.put_u8(tos);
        w.put_u8(proto);
        w.put_u16(0);
        w.put_u32(nw_src);
        w.put_u32(nw_dst);
        w.put_u16(tp_src);
        w.put_u16(tp_dst);
        Ok(())
    }

    /// The datapath key and mask this match denotes.
    pub fn to_flow(&self) -> Result<(FlowKey, FlowMask), ErrorKind> {
        let mut k = FlowKey::ZERO;
        let mut m = FlowMask::CATCHALL;
        for e in &self.entries {
            let v = e.value.to_u64();
            let mk = e.mask_or_ones().to_u64();
            let vb = e.value.as_bytes();
            let mb = e.mask_or_ones();
            let mb = mb.as_bytes();
            macro_rules! int {
                ($field:ident, $t:ty) => {{
                    k.$field = (k.$field & !(mk as $t)) | (v & mk) as $t;
                    m.$field |= mk as $t;
                }};
            }
            macro_rules! bytes {
                ($field:ident) => {{
                    for i in 0..k.$field.len() {
                        let (x, y) = (
                            vb.get(i).copied().unwrap_or(0),
                            mb.get(i).copied().unwrap_or(0),
                        );
                        k.$field[i] = (k.$field[i] & !y) | (x & y);
                        m.$field[i] |= y;
                    }
                }};
            }
            macro_rules! bits {
                ($field:ident, $t:ty, $shift:expr, $width_mask:expr) => {{
                    let fm = ((mk & $width_mask) as $t) << $shift;
                    k.$field = (k.$field & !fm) | (((v & $width_mask) as $t) << $shift & fm);
                    m.$field |= fm;
                }};
            }
            match e.field {
                Field::InPort => int!(in_port, u32),
                // Every port of this switch is physical: the physical input
                // port is the input port. Both with different values can
                // never match.
                Field::InPhyPort => {
                    if (k.in_port ^ v as u32) & m.in_port & mk as u32 != 0 {
                        return Err(ErrorKind::BadMatchBadValue);
                    }
                    int!(in_port, u32)
                }
                Field::NxInPort => {
                    k.in_port = port_from_of10(v as u16);
                    m.in_port = u32::MAX;
                }
                Field::Metadata => int!(metadata, u64),
                Field::EthDst => bytes!(dl_dst),
                Field::EthSrc => bytes!(dl_src),
                Field::EthType => int!(dl_type, u16),
                Field::VlanVid => {
                    let fm = (mk as u16) & 0x1fff;
                    k.vlans[0].tci = (k.vlans[0].tci & !fm) | (v as u16 & fm);
                    m.vlans[0].tci |= fm;
                }
                Field::VlanTci => {
                    let fm = mk as u16;
                    k.vlans[0].tci = (k.vlans[0].tci & !fm) | (v as u16 & fm);
                    m.vlans[0].tci |= fm;
                }
                Field::VlanPcp => {
                    k.vlans[0].tci = (k.vlans[0].tci & 0x1fff) | ((v as u16 & 7) << 13);
                    m.vlans[0].tci |= 0xe000;
                }
                Field::IpDscp => bits!(nw_tos, u8, 2, 0x3f),
                Field::IpEcn => bits!(nw_tos, u8, 0, 0x3),
                Field::NwTos => bits!(nw_tos, u8, 0, 0xfc),
                Field::IpProto => int!(nw_proto, u8),
                Field::NwTtl => int!(nw_ttl, u8),
                Field::IpFrag => int!(nw_frag, u8),
                Field::Ipv4Src | Field::ArpSpa => int!(nw_src, u32),
                Field::Ipv4Dst | Field::ArpTpa => int!(nw_dst, u32),
                Field::TcpSrc
                | Field::UdpSrc
                | Field::SctpSrc
                | Field::Icmpv4Type
                | Field::Icmpv6Type => {
                    int!(tp_src, u16)
                }
                Field::TcpDst
                | Field::UdpDst
                | Field::SctpDst
                | Field::Icmpv4Code
                | Field::Icmpv6Code => {
                    int!(tp_dst, u16)
                }
                Field::ArpOp => int!(arp_op, u16),
                Field::ArpSha | Field::Ipv6NdSll => bytes!(arp_sha),
                Field::ArpTha | Field::Ipv6NdTll => bytes!(arp_tha),
                Field::Ipv6Src => bytes!(ipv6_src),
                Field::Ipv6Dst => bytes!(ipv6_dst),
                Field::Ipv6Flabel => int!(ipv6_label, u32),
                Field::Ipv6NdTarget => bytes!(nd_target),
                Field::MplsLabel => bits!(mpls_lse, u32, 12, 0xfffff),
                Field::MplsTc => bits!(mpls_lse, u32, 9, 0x7),
                Field::MplsBos => bits!(mpls_lse, u32, 8, 0x1),
                Field::PbbIsid => int!(pbb_isid, u32),
                Field::PbbUca => int!(pbb_uca, u8),
                Field::TunnelId => int!(tun_id, u64),
                Field::Ipv6Exthdr => int!(ipv6_exthdr, u16),
                Field::TcpFlags => int!(tcp_flags, u16),
                Field::Reg(n) => {
                    let i = usize::from(n & 15);
                    k.regs[i] = (k.regs[i] & !(mk as u32)) | (v & mk) as u32;
                    m.regs[i] |= mk as u32;
                }
                Field::PktReg(n) => {
                    let i = usize::from(n & 7) * 2;
                    for (j, sh) in [(i, 32), (i + 1, 0)] {
                        let (vv, mm) = ((v >> sh) as u32, (mk >> sh) as u32);
                        k.regs[j] = (k.regs[j] & !mm) | (vv & mm);
                        m.regs[j] |= mm;
                    }
                }
                Field::TunSrc => int!(tun_src, u32),
                Field::TunDst => int!(tun_dst, u32),
                Field::TunIpv6Src => bytes!(tun_ipv6_src),
                Field::TunIpv6Dst => bytes!(tun_ipv6_dst),
                Field::TunFlags => int!(tun_flags, u16),
                Field::TunGbpId => int!(tun_gbp_id, u16),
                Field::TunGbpFlags => int!(tun_gbp_flags, u8),
                Field::PktMark => int!(pkt_mark, u32),
                Field::DpHash => int!(dp_hash, u32),
                Field::RecircId => int!(recirc_id, u32),
                Field::CtState => int!(ct_state, u32),
                Field::CtZone => int!(ct_zone, u16),
                Field::CtMark => int!(ct_mark, u32),
                Field::CtLabel => bytes!(ct_label),
                Field::PacketType if v == 0 => {}
                // Not in the datapath's flow key (yet): a flow matching them
                // cannot be installed.
                Field::PacketType
                | Field::ActsetOutput
                | Field::ConjId
                | Field::CtNwProto
                | Field::CtNwSrc
                | Field::CtNwDst
                | Field::CtIpv6Src
                | Field::CtIpv6Dst
                | Field::CtTpSrc
                | Field::CtTpDst => {
                    return Err(ErrorKind::BadMatchBadField);
                }
            }
        }
        Ok((k, m))
    }

    /// The match for a datapath key and mask (see the module documentation
    /// for what is left out).
    pub fn from_flow(key: &FlowKey, mask: &FlowMask) -> Match {
        let mut out = Match::new();
        let k = key.masked(mask);
        let int = |out: &mut Match, f: Field, v: u64, mk: u64| {
            if mk != 0 {
                let w = f.info().width;
                let full = if w >= 8 {
                    u64::MAX
                } else {
                    (1u64 << (8 * w)) - 1
                };
                let mk = mk & full;
                let mask = (mk != full).then(|| Value::from_u64(w, mk));
                out.set(f, Value::from_u64(w, v & mk), mask);
            }
        };
        let bytes = |out: &mut Match, f: Field, v: &[u8], mk: &[u8]| {
            if mk.iter().any(|&b| b != 0) {
                let mask = (!mk.iter().all(|&b| b == 0xff)).then(|| Value::from_bytes(mk));
                out.set(f, Value::from_bytes(v), mask);
            }
        };
        // Metadata stage.
        int(
            &mut out,
            Field::RecircId,
            k.recirc_id.into(),
            mask.recirc_id.into(),
        );
        int(
            &mut out,
            Field::DpHash,
            k.dp_hash.into(),
            mask.dp_hash.into(),
        );
        int(
            &mut out,
            Field::InPort,
            k.in_port.into(),
            mask.in_port.into(),
        );
        int(&mut out, Field::TunnelId, k.tun_id, mask.tun_id);
        int(
            &mut out,
            Field::TunSrc,
            k.tun_src.into(),
            mask.tun_src.into(),
        );
        int(
            &mut out,
            Field::TunDst,
            k.tun_dst.into(),
            mask.tun_dst.into(),
        );
        bytes(
            &mut out,
            Field::TunIpv6Src,
            &k.tun_ipv6_src,
            &mask.tun_ipv6_src,
        );
        bytes(
            &mut out,
            Field::TunIpv6Dst,
            &k.tun_ipv6_dst,
            &mask.tun_ipv6_dst,
        );
        int(
            &mut out,
            Field::TunFlags,
            k.tun_flags.into(),
            mask.tun_flags.into(),
        );
        int(
            &mut out,
            Field::TunGbpId,
            k.tun_gbp_id.into(),
            mask.tun_gbp_id.into(),
        );
        int(
            &mut out,
            Field::TunGbpFlags,
            k.tun_gbp_flags.into(),
            mask.tun_gbp_flags.into(),
        );
        int(&mut out, Field::Metadata, k.metadata, mask.metadata);
        for i in 0..16u8 {
            let j = usize::from(i);
            int(
                &mut out,
                Field::Reg(i),
                k.regs[j].into(),
                mask.regs[j].into(),
            );
        }
        int(
            &mut out,
            Field::PktMark,
            k.pkt_mark.into(),
            mask.pkt_mark.into(),
        );
        int(
            &mut out,
            Field::CtState,
            k.ct_state.into(),
            mask.ct_state.into(),
        );
        int(
            &mut out,
            Field::CtZone,
            k.ct_zone.into(),
            mask.ct_zone.into(),
        );
        int(
            &mut out,
            Field::CtMark,
            k.ct_mark.into(),
            mask.ct_mark.into(),
        );
        bytes(&mut out, Field::CtLabel, &k.ct_label, &mask.ct_label);
        // L2.
        bytes(&mut out, Field::EthSrc, &k.dl_src, &mask.dl_src);
        bytes(&mut out, Field::EthDst, &k.dl_dst, &mask.dl_dst);
        int(
            &mut out,
            Field::EthType,
            k.dl_type.into(),
            mask.dl_type.into(),
        );
        let (tci, tm) = (k.vlans[0].tci, mask.vlans[0].tci);
        if tm & 0xe000 == 0 || tm & 0xe000 == 0xe000 {
            int(
                &mut out,
                Field::VlanVid,
                u64::from(tci & 0x1fff),
                u64::from(tm & 0x1fff),
            );
            int(
                &mut out,
                Field::VlanPcp,
                u64::from(tci >> 13),
                u64::from(tm >> 13),
            );
        } else {
            int(&mut out, Field::VlanTci, tci.into(), tm.into());
        }
        let dl_type = (mask.dl_type == 0xffff).then_some(u64::from(k.dl_type));
        let proto = (mask.nw_proto == 0xff).then_some(k.nw_proto);
        match dl_type {
            Some(0x8847 | 0x8848) => {
                let (l, lm) = (k.mpls_lse, mask.mpls_lse);
                int(
                    &mut out,
                    Field::MplsLabel,
                    (l >> 12).into(),
                    (lm >> 12).into(),
                );
                int(
                    &mut out,
                    Field::MplsTc,
                    ((l >> 9) & 7).into(),
                    ((lm >> 9) & 7).into(),
                );
                int(
                    &mut out,
                    Field::MplsBos,
                    ((l >> 8) & 1).into(),
                    ((lm >> 8) & 1).into(),
                );
            }
            Some(0x88e7) => {
                int(
                    &mut out,
                    Field::PbbIsid,
                    k.pbb_isid.into(),
                    mask.pbb_isid.into(),
                );
                int(
                    &mut out,
                    Field::PbbUca,
                    k.pbb_uca.into(),
                    mask.pbb_uca.into(),
                );
            }
            Some(ETH_ARP | ETH_RARP) => {
                int(&mut out, Field::ArpOp, k.arp_op.into(), mask.arp_op.into());
                int(&mut out, Field::ArpSpa, k.nw_src.into(), mask.nw_src.into());
                int(&mut out, Field::ArpTpa, k.nw_dst.into(), mask.nw_dst.into());
                bytes(&mut out, Field::ArpSha, &k.arp_sha, &mask.arp_sha);
                bytes(&mut out, Field::ArpTha, &k.arp_tha, &mask.arp_tha);
            }
            Some(t @ (ETH_IP | ETH_IPV6)) => {
                let v6 = t == ETH_IPV6;
                if v6 {
                    bytes(&mut out, Field::Ipv6Src, &k.ipv6_src, &mask.ipv6_src);
                    bytes(&mut out, Field::Ipv6Dst, &k.ipv6_dst, &mask.ipv6_dst);
                    int(
                        &mut out,
                        Field::Ipv6Flabel,
                        k.ipv6_label.into(),
                        mask.ipv6_label.into(),
                    );
                    int(
                        &mut out,
                        Field::Ipv6Exthdr,
                        k.ipv6_exthdr.into(),
                        mask.ipv6_exthdr.into(),
                    );
                } else {
                    int(
                        &mut out,
                        Field::Ipv4Src,
                        k.nw_src.into(),
                        mask.nw_src.into(),
                    );
                    int(
                        &mut out,
                        Field::Ipv4Dst,
                        k.nw_dst.into(),
                        mask.nw_dst.into(),
                    );
                }
                int(
                    &mut out,
                    Field::IpProto,
                    k.nw_proto.into(),
                    mask.nw_proto.into(),
                );
                if mask.nw_tos & 0xfc == 0xfc {
                    int(&mut out, Field::IpDscp, (k.nw_tos >> 2).into(), 0x3f);
                } else {
                    int(
                        &mut out,
                        Field::NwTos,
                        (k.nw_tos & 0xfc).into(),
                        (mask.nw_tos & 0xfc).into(),
                    );
                }
                int(
                    &mut out,
                    Field::IpEcn,
                    (k.nw_tos & 3).into(),
                    (mask.nw_tos & 3).into(),
                );
                int(&mut out, Field::NwTtl, k.nw_ttl.into(), mask.nw_ttl.into());
                int(
                    &mut out,
                    Field::IpFrag,
                    k.nw_frag.into(),
                    mask.nw_frag.into(),
                );
                let l4 = match (proto, v6) {
                    (Some(6), _) => Some((Field::TcpSrc, Field::TcpDst)),
                    (Some(17), _) => Some((Field::UdpSrc, Field::UdpDst)),
                    (Some(132), _) => Some((Field::SctpSrc, Field::SctpDst)),
                    (Some(1), false) => Some((Field::Icmpv4Type, Field::Icmpv4Code)),
                    (Some(58), true) => Some((Field::Icmpv6Type, Field::Icmpv6Code)),
                    _ => None,
                };
                if let Some((s, d)) = l4 {
                    int(&mut out, s, k.tp_src.into(), mask.tp_src.into());
                    int(&mut out, d, k.tp_dst.into(), mask.tp_dst.into());
                }
                if proto == Some(6) {
                    int(
                        &mut out,
                        Field::TcpFlags,
                        k.tcp_flags.into(),
                        mask.tcp_flags.into(),
                    );
                }
                if proto == Some(58) && v6 {
                    bytes(&mut out, Field::Ipv6NdTarget, &k.nd_target, &mask.nd_target);
                    bytes(&mut out, Field::Ipv6NdSll, &k.arp_sha, &mask.arp_sha);
                    bytes(&mut out, Field::Ipv6NdTll, &k.arp_tha, &mask.arp_tha);
                }
            }
            _ => {}
        }
        out
    }
}

fn set_prefix(m: &mut Match, f: Field, v: u32, mask: u32) {
    if mask == u32::MAX {
        m.set_u64(f, u64::from(v));
    } else {
        m.set_masked_u64(f, u64::from(v), u64::from(mask));
    }
}
