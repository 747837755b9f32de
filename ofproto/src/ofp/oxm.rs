//! Match fields: identities ([`Field`]), their OXM/NXM headers per version,
//! values ([`Value`]) and the TLV codec.
//!
//! Contract:
//! * [`Field::info`] is the one table of every field: name, width, whether a
//!   mask is allowed, prerequisite, and wire headers (OXM basic class 0x8000
//!   with the first version that defines it, the ONF experimenter form used
//!   before that, the Nicira NXM form). [`Field::from_id`] is its inverse.
//! * `decode_entry` reads one TLV and validates it: truncated ->
//!   `BadMatchBadLen`; unknown header or a length that does not fit the field
//!   -> `BadMatchBadField`; a mask on a field that takes none ->
//!   `BadMatchBadMask`; value bits outside the field -> `BadMatchBadValue`;
//!   value bits where the mask is 0 -> `BadMatchBadWildcards` (the same
//!   answers as Open vSwitch 3.1). Prerequisites and duplicates are checked
//!   by [`Match`](super::Match) over the whole match.
//! * `encode_entry` writes the header [`Field::header_for`] chooses for the
//!   version: basic if the version has it, else ONF experimenter, else NXM.

use super::Version;
use super::error::{ErrorKind, ONF_EXPERIMENTER_ID};
use super::wire::{Put, Reader};
use core::fmt;

/// OXM class of OpenFlow basic fields.
pub const OFPXMC_OPENFLOW_BASIC: u16 = 0x8000;
/// OXM class of OpenFlow 1.5 packet registers.
pub const OFPXMC_PACKET_REGS: u16 = 0x8001;
/// NXM class 0 (fields OpenFlow 1.0 had).
pub const NXM_OF: u16 = 0x0000;
/// NXM class 1 (Nicira extension fields).
pub const NXM_NX: u16 = 0x0001;
/// OXM experimenter class.
pub const OFPXMC_EXPERIMENTER: u16 = 0xffff;

/// A field's identity on the wire: class, field number and, for the
/// experimenter class, the experimenter id (0 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OxmId {
    /// OXM class.
    pub class: u16,
    /// Field number (7 bits).
    pub field: u8,
    /// Experimenter id for class 0xffff, else 0.
    pub experimenter: u32,
}

const fn basic(f: u8) -> OxmId {
    OxmId {
        class: OFPXMC_OPENFLOW_BASIC,
        field: f,
        experimenter: 0,
    }
}
const fn nxm0(f: u8) -> OxmId {
    OxmId {
        class: NXM_OF,
        field: f,
        experimenter: 0,
    }
}
const fn nxm1(f: u8) -> OxmId {
    OxmId {
        class: NXM_NX,
        field: f,
        experimenter: 0,
    }
}
const fn onf(f: u8) -> OxmId {
    OxmId {
        class: OFPXMC_EXPERIMENTER,
        field: f,
        experimenter: ONF_EXPERIMENTER_ID,
    }
}

/// Every match field this codec knows, version-independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Field {
    InPort,
    InPhyPort,
    Metadata,
    EthDst,
    EthSrc,
    EthType,
    /// OXM VLAN ID: `OFPVID_PRESENT (0x1000) | vid`, 0 = no tag.
    VlanVid,
    VlanPcp,
    IpDscp,
    IpEcn,
    IpProto,
    Ipv4Src,
    Ipv4Dst,
    TcpSrc,
    TcpDst,
    UdpSrc,
    UdpDst,
    SctpSrc,
    SctpDst,
    Icmpv4Type,
    Icmpv4Code,
    ArpOp,
    ArpSpa,
    ArpTpa,
    ArpSha,
    ArpTha,
    Ipv6Src,
    Ipv6Dst,
    Ipv6Flabel,
    Icmpv6Type,
    Icmpv6Code,
    Ipv6NdTarget,
    Ipv6NdSll,
    Ipv6NdTll,
    MplsLabel,
    MplsTc,
    MplsBos,
    PbbIsid,
    TunnelId,
    Ipv6Exthdr,
    PbbUca,
    TcpFlags,
    ActsetOutput,
    PacketType,
    /// `NXM_OF_IN_PORT`: 16-bit OpenFlow 1.0 port number.
    NxInPort,
    /// `NXM_OF_VLAN_TCI`: the TCI with CFI meaning "tag present".
    VlanTci,
    /// `NXM_OF_IP_TOS`: DSCP in the upper 6 bits of the TOS byte.
    NwTos,
    /// `NXM_NX_REGn` (n < 16), 32 bits.
    Reg(u8),
    /// OpenFlow 1.5 packet register n (n < 8), 64 bits = `xregN` (regs
    /// 2n (high) and 2n+1).
    PktReg(u8),
    IpFrag,
    /// `NXM_NX_IP_TTL`.
    NwTtl,
    TunSrc,
    TunDst,
    TunIpv6Src,
    TunIpv6Dst,
    TunFlags,
    TunGbpId,
    TunGbpFlags,
    PktMark,
    DpHash,
    RecircId,
    ConjId,
    CtState,
    CtZone,
    CtMark,
    CtLabel,
    /// `NXM_NX_CT_NW_PROTO`: protocol of the tracked connection.
    CtNwProto,
    /// `NXM_NX_CT_NW_SRC`: original-direction IPv4 source.
    CtNwSrc,
    /// `NXM_NX_CT_NW_DST`.
    CtNwDst,
    /// `NXM_NX_CT_IPV6_SRC`.
    CtIpv6Src,
    /// `NXM_NX_CT_IPV6_DST`.
    CtIpv6Dst,
    /// `NXM_NX_CT_TP_SRC`: original-direction transport source port.
    CtTpSrc,
    /// `NXM_NX_CT_TP_DST`.
    CtTpDst,
}

/// How a field's value is best shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Hexadecimal integer.
    Hex,
    /// Decimal integer.
    Dec,
    /// Ethernet address.
    Mac,
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
}

/// What a field requires of the rest of the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prereq {
    /// Nothing.
    None,
    /// A VLAN tag (`vlan_vid` with the present bit matched and set).
    Vlan,
    /// `eth_type` IPv4 or IPv6.
    Ip,
    /// `eth_type` 0x0800.
    Ipv4,
    /// `eth_type` 0x86dd.
    Ipv6,
    /// `eth_type` ARP (0x0806) or RARP (0x8035).
    Arp,
    /// IP and `ip_proto` 6.
    Tcp,
    /// IP and `ip_proto` 17.
    Udp,
    /// IP and `ip_proto` 132.
    Sctp,
    /// IPv4 and `ip_proto` 1.
    Icmpv4,
    /// IPv6 and `ip_proto` 58.
    Icmpv6,
    /// ICMPv6 type 135 or 136.
    Nd,
    /// ICMPv6 type 135 (neighbour solicitation).
    NdSolicit,
    /// ICMPv6 type 136 (neighbour advertisement).
    NdAdvert,
    /// `eth_type` MPLS (0x8847 or 0x8848).
    Mpls,
    /// `eth_type` PBB (0x88e7).
    Pbb,
}

/// The table row of one field.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// Open vSwitch name.
    pub name: &'static str,
    /// Width in bytes.
    pub width: u8,
    /// True when a mask may be given.
    pub maskable: bool,
    /// Prerequisite.
    pub prereq: Prereq,
    /// Bits a value may have (fields up to 8 bytes; `u64::MAX` otherwise).
    pub valid: u64,
    /// OXM basic header and the first version with it.
    pub oxm: Option<(OxmId, Version)>,
    /// ONF experimenter header used before `oxm`'s version.
    pub exp: Option<OxmId>,
    /// Nicira NXM header.
    pub nxm: Option<OxmId>,
    /// Display format.
    pub format: Format,
}

const fn fi(
    name: &'static str,
    width: u8,
    maskable: bool,
    prereq: Prereq,
    valid: u64,
) -> FieldInfo {
    FieldInfo {
        name,
        width,
        maskable,
        prereq,
        valid,
        oxm: None,
        exp: None,
        nxm: None,
        format: Format::Hex,
    }
}

impl FieldInfo {
    const fn b(mut self, f: u8) -> Self {
        self.oxm = Some((basic(f), Version::V1_2));
        self
    }
    const fn since(mut self, f: u8, v: Version) -> Self {
        self.oxm = Some((basic(f), v));
        self
    }
    const fn nx(mut self, id: OxmId) -> Self {
        self.nxm = Some(id);
        self
    }
    const fn ex(mut self, f: u8) -> Self {
        self.exp = Some(onf(f));
        self
    }
    const fn fmt(mut self, f: Format) -> Self {
        self.format = f;
        self
    }
}

const ALL: u64 = u64::MAX;

impl Field {
    /// Every field, in table order (built once).
    pub fn all() -> &'static [Field] {
        static ALL_FIELDS: std::sync::LazyLock<Vec<Field>> =
            std::sync::LazyLock::new(Field::build_all);
        &ALL_FIELDS
    }

    /// The field whose NXM header is `id`, through a table built once (the
    /// decoder asks for every NXM field of every message).
    fn by_nxm(id: OxmId) -> Option<Field> {
        static BY_NXM: std::sync::LazyLock<std::collections::HashMap<OxmId, Field>> =
            std::sync::LazyLock::new(|| {
                // First in table order wins, as a linear search would.
                let mut m = std::collections::HashMap::new();
                for f in Field::all() {
                    if let Some(n) = f.info().nxm {
                        m.entry(n).or_insert(*f);
                    }
                }
                m
            });
        BY_NXM.get(&id).copied()
    }

    fn build_all() -> Vec<Field> {
        use Field::*;
        let mut v = vec![
            InPort,
            InPhyPort,
            Metadata,
            EthDst,
            EthSrc,
            EthType,
            VlanVid,
            VlanPcp,
            IpDscp,
            IpEcn,
            IpProto,
            Ipv4Src,
            Ipv4Dst,
            TcpSrc,
            TcpDst,
            UdpSrc,
            UdpDst,
            SctpSrc,
            SctpDst,
            Icmpv4Type,
            Icmpv4Code,
            ArpOp,
            ArpSpa,
            ArpTpa,
            ArpSha,
            ArpTha,
            Ipv6Src,
            Ipv6Dst,
            Ipv6Flabel,
            Icmpv6Type,
            Icmpv6Code,
            Ipv6NdTarget,
            Ipv6NdSll,
            Ipv6NdTll,
            MplsLabel,
            MplsTc,
            MplsBos,
            PbbIsid,
            TunnelId,
            Ipv6Exthdr,
            PbbUca,
            TcpFlags,
            ActsetOutput,
            PacketType,
            NxInPort,
            VlanTci,
            NwTos,
        ];
        v.extend((0..16).map(Reg));
        v.extend((0..8).map(PktReg));
        v.extend([
            IpFrag,
            NwTtl,
            TunSrc,
            TunDst,
            TunIpv6Src,
            TunIpv6Dst,
            TunFlags,
            TunGbpId,
            TunGbpFlags,
            PktMark,
            DpHash,
            RecircId,
            ConjId,
            CtState,
            CtZone,
            CtMark,
            CtLabel,
            CtNwProto,
            CtNwSrc,
            CtNwDst,
            CtIpv6Src,
            CtIpv6Dst,
            CtTpSrc,
            CtTpDst,
        ]);
        v
    }

    /// The table row of this field.
    pub fn info(self) -> FieldInfo {
        use Field::*;
        use Format::*;
        use Prereq as P;
        match self {
            InPort => fi("in_port", 4, false, P::None, ALL).b(0),
            InPhyPort => fi("in_phy_port", 4, false, P::None, ALL).b(1),
            Metadata => fi("metadata", 8, true, P::None, ALL).b(2),
            EthDst => fi("eth_dst", 6, true, P::None, ALL)
                .b(3)
                .nx(nxm0(1))
                .fmt(Mac),
            EthSrc => fi("eth_src", 6, true, P::None, ALL)
                .b(4)
                .nx(nxm0(2))
                .fmt(Mac),
            EthType => fi("eth_type", 2, false, P::None, ALL).b(5).nx(nxm0(3)),
            VlanVid => fi("vlan_vid", 2, true, P::None, 0x1fff).b(6),
            VlanPcp => fi("vlan_pcp", 1, false, P::Vlan, 7).b(7).fmt(Dec),
            IpDscp => fi("ip_dscp", 1, false, P::Ip, 0x3f).b(8).fmt(Dec),
            IpEcn => fi("ip_ecn", 1, false, P::Ip, 3).b(9).nx(nxm1(28)).fmt(Dec),
            IpProto => fi("ip_proto", 1, false, P::Ip, ALL)
                .b(10)
                .nx(nxm0(6))
                .fmt(Dec),
            Ipv4Src => fi("ipv4_src", 4, true, P::Ipv4, ALL)
                .b(11)
                .nx(nxm0(7))
                .fmt(Ipv4),
            Ipv4Dst => fi("ipv4_dst", 4, true, P::Ipv4, ALL)
                .b(12)
                .nx(nxm0(8))
                .fmt(Ipv4),
            TcpSrc => fi("tcp_src", 2, true, P::Tcp, ALL)
                .b(13)
                .nx(nxm0(9))
                .fmt(Dec),
            TcpDst => fi("tcp_dst", 2, true, P::Tcp, ALL)
                .b(14)
                .nx(nxm0(10))
                .fmt(Dec),
            UdpSrc => fi("udp_src", 2, true, P::Udp, ALL)
                .b(15)
                .nx(nxm0(11))
                .fmt(Dec),
            UdpDst => fi("udp_dst", 2, true, P::Udp, ALL)
                .b(16)
                .nx(nxm0(12))
                .fmt(Dec),
            SctpSrc => fi("sctp_src", 2, true, P::Sctp, ALL).b(17).fmt(Dec),
            SctpDst => fi("sctp_dst", 2, true, P::Sctp, ALL).b(18).fmt(Dec),
            Icmpv4Type => fi("icmpv4_type", 1, false, P::Icmpv4, ALL)
                .b(19)
                .nx(nxm0(13))
                .fmt(Dec),
            Icmpv4Code => fi("icmpv4_code", 1, false, P::Icmpv4, ALL)
                .b(20)
                .nx(nxm0(14))
                .fmt(Dec),
            ArpOp => fi("arp_op", 2, false, P::Arp, ALL)
                .b(21)
                .nx(nxm0(15))
                .fmt(Dec),
            ArpSpa => fi("arp_spa", 4, true, P::Arp, ALL)
                .b(22)
                .nx(nxm0(16))
                .fmt(Ipv4),
            ArpTpa => fi("arp_tpa", 4, true, P::Arp, ALL)
                .b(23)
                .nx(nxm0(17))
                .fmt(Ipv4),
            ArpSha => fi("arp_sha", 6, true, P::Arp, ALL)
                .b(24)
                .nx(nxm1(17))
                .fmt(Mac),
            ArpTha => fi("arp_tha", 6, true, P::Arp, ALL)
                .b(25)
                .nx(nxm1(18))
                .fmt(Mac),
            Ipv6Src => fi("ipv6_src", 16, true, P::Ipv6, ALL)
                .b(26)
                .nx(nxm1(19))
                .fmt(Ipv6),
            Ipv6Dst => fi("ipv6_dst", 16, true, P::Ipv6, ALL)
                .b(27)
                .nx(nxm1(20))
                .fmt(Ipv6),
            Ipv6Flabel => fi("ipv6_flabel", 4, true, P::Ipv6, 0xfffff)
                .b(28)
                .nx(nxm1(27)),
            Icmpv6Type => fi("icmpv6_type", 1, false, P::Icmpv6, ALL)
                .b(29)
                .nx(nxm1(21))
                .fmt(Dec),
            Icmpv6Code => fi("icmpv6_code", 1, false, P::Icmpv6, ALL)
                .b(30)
                .nx(nxm1(22))
                .fmt(Dec),
            Ipv6NdTarget => fi("ipv6_nd_target", 16, true, P::Nd, ALL)
                .b(31)
                .nx(nxm1(23))
                .fmt(Ipv6),
            Ipv6NdSll => fi("ipv6_nd_sll", 6, true, P::NdSolicit, ALL)
                .b(32)
                .nx(nxm1(24))
                .fmt(Mac),
            Ipv6NdTll => fi("ipv6_nd_tll", 6, true, P::NdAdvert, ALL)
                .b(33)
                .nx(nxm1(25))
                .fmt(Mac),
            MplsLabel => fi("mpls_label", 4, false, P::Mpls, 0xfffff).b(34).fmt(Dec),
            MplsTc => fi("mpls_tc", 1, false, P::Mpls, 7).b(35).fmt(Dec),
            MplsBos => fi("mpls_bos", 1, false, P::Mpls, 1).b(36).fmt(Dec),
            PbbIsid => fi("pbb_isid", 3, true, P::Pbb, ALL).b(37),
            TunnelId => fi("tunnel_id", 8, true, P::None, ALL).b(38).nx(nxm1(16)),
            Ipv6Exthdr => fi("ipv6_exthdr", 2, true, P::Ipv6, 0x1ff).b(39),
            PbbUca => fi("pbb_uca", 1, false, P::Pbb, 1).since(41, Version::V1_4),
            TcpFlags => fi("tcp_flags", 2, true, P::Tcp, 0xfff)
                .since(42, Version::V1_5)
                .ex(42)
                .nx(nxm1(34)),
            ActsetOutput => fi("actset_output", 4, false, P::None, ALL)
                .since(43, Version::V1_5)
                .ex(43),
            PacketType => fi("packet_type", 4, false, P::None, ALL).since(44, Version::V1_5),
            NxInPort => fi("nxm_in_port", 2, false, P::None, ALL).nx(nxm0(0)),
            VlanTci => fi("vlan_tci", 2, true, P::None, ALL).nx(nxm0(4)),
            NwTos => fi("nw_tos", 1, false, P::Ip, 0xfc).nx(nxm0(5)),
            Reg(n) => fi(REG_NAMES[usize::from(n & 15)], 4, true, P::None, ALL).nx(nxm1(n & 15)),
            PktReg(n) => {
                let mut i = fi(XREG_NAMES[usize::from(n & 7)], 8, true, P::None, ALL);
                i.oxm = Some((
                    OxmId {
                        class: OFPXMC_PACKET_REGS,
                        field: n & 7,
                        experimenter: 0,
                    },
                    Version::V1_5,
                ));
                i
            }
            IpFrag => fi("ip_frag", 1, true, P::Ip, 3).nx(nxm1(26)),
            NwTtl => fi("nw_ttl", 1, false, P::Ip, ALL).nx(nxm1(29)).fmt(Dec),
            TunSrc => fi("tun_src", 4, true, P::None, ALL).nx(nxm1(31)).fmt(Ipv4),
            TunDst => fi("tun_dst", 4, true, P::None, ALL).nx(nxm1(32)).fmt(Ipv4),
            PktMark => fi("pkt_mark", 4, true, P::None, ALL).nx(nxm1(33)),
            DpHash => fi("dp_hash", 4, true, P::None, ALL).nx(nxm1(35)),
            RecircId => fi("recirc_id", 4, false, P::None, ALL).nx(nxm1(36)),
            ConjId => fi("conj_id", 4, false, P::None, ALL).nx(nxm1(37)),
            TunGbpId => fi("tun_gbp_id", 2, true, P::None, ALL).nx(nxm1(38)),
            TunGbpFlags => fi("tun_gbp_flags", 1, true, P::None, ALL).nx(nxm1(39)),
            TunFlags => fi("tun_flags", 2, true, P::None, ALL).nx(nxm1(104)),
            CtState => fi("ct_state", 4, true, P::None, ALL).nx(nxm1(105)),
            CtZone => fi("ct_zone", 2, false, P::None, ALL).nx(nxm1(106)),
            CtMark => fi("ct_mark", 4, true, P::None, ALL).nx(nxm1(107)),
            CtLabel => fi("ct_label", 16, true, P::None, ALL).nx(nxm1(108)),
            CtNwProto => fi("ct_nw_proto", 1, false, P::None, ALL)
                .nx(nxm1(119))
                .fmt(Dec),
            CtNwSrc => fi("ct_nw_src", 4, true, P::Ip, ALL).nx(nxm1(120)).fmt(Ipv4),
            CtNwDst => fi("ct_nw_dst", 4, true, P::Ip, ALL).nx(nxm1(121)).fmt(Ipv4),
            CtIpv6Src => fi("ct_ipv6_src", 16, true, P::Ipv6, ALL)
                .nx(nxm1(122))
                .fmt(Ipv6),
            CtIpv6Dst => fi("ct_ipv6_dst", 16, true, P::Ipv6, ALL)
                .nx(nxm1(123))
                .fmt(Ipv6),
            CtTpSrc => fi("ct_tp_src", 2, true, P::None, ALL)
                .nx(nxm1(124))
                .fmt(Dec),
            CtTpDst => fi("ct_tp_dst", 2, true, P::None, ALL)
                .nx(nxm1(125))
                .fmt(Dec),
            TunIpv6Src => fi("tun_ipv6_src", 16, true, P::None, ALL)
                .nx(nxm1(109))
                .fmt(Ipv6),
            TunIpv6Dst => fi("tun_ipv6_dst", 16, true, P::None, ALL)
                .nx(nxm1(110))
                .fmt(Ipv6),
        }
    }

    /// The field a wire identity denotes (any of its headers, any version).
    pub fn from_id(id: OxmId) -> Option<Field> {
        use Field::*;
        let f = id.field;
        match (id.class, id.experimenter) {
            (OFPXMC_OPENFLOW_BASIC, 0) => {
                const B: [Field; 45] = [
                    InPort,
                    InPhyPort,
                    Metadata,
                    EthDst,
                    EthSrc,
                    EthType,
                    VlanVid,
                    VlanPcp,
                    IpDscp,
                    IpEcn,
                    IpProto,
                    Ipv4Src,
                    Ipv4Dst,
                    TcpSrc,
                    TcpDst,
                    UdpSrc,
                    UdpDst,
                    SctpSrc,
                    SctpDst,
                    Icmpv4Type,
                    Icmpv4Code,
                    ArpOp,
                    ArpSpa,
                    ArpTpa,
                    ArpSha,
                    ArpTha,
                    Ipv6Src,
                    Ipv6Dst,
                    Ipv6Flabel,
                    Icmpv6Type,
                    Icmpv6Code,
                    Ipv6NdTarget,
                    Ipv6NdSll,
                    Ipv6NdTll,
                    MplsLabel,
                    MplsTc,
                    MplsBos,
                    PbbIsid,
                    TunnelId,
                    Ipv6Exthdr,
                    InPort,
                    PbbUca,
                    TcpFlags,
                    ActsetOutput,
                    PacketType,
                ];
                // Field 40 is reserved.
                if f == 40 {
                    return None;
                }
                B.get(usize::from(f)).copied()
            }
            (OFPXMC_PACKET_REGS, 0) if f < 8 => Some(PktReg(f)),
            (NXM_NX, 0) if f < 16 => Some(Reg(f)),
            (OFPXMC_EXPERIMENTER, ONF_EXPERIMENTER_ID) => match f {
                42 => Some(TcpFlags),
                43 => Some(ActsetOutput),
                _ => None,
            },
            (NXM_OF, 0) | (NXM_NX, 0) => Field::by_nxm(id),
            _ => None,
        }
    }

    /// The header to write for this field in `version` (1.0 means an NXM
    /// context): basic if the version has it, else ONF experimenter, else
    /// NXM, else basic anyway.
    pub fn header_for(self, version: Version) -> OxmId {
        let i = self.info();
        if let (Version::V1_0, Some(n)) = (version, i.nxm) {
            return n;
        }
        match (i.oxm, i.exp, i.nxm) {
            (Some((b, since)), _, _) if version >= since => b,
            (_, Some(e), _) => e,
            (_, _, Some(n)) => n,
            (Some((b, _)), _, _) => b,
            (None, None, None) => basic(0),
        }
    }

    /// The Open vSwitch name.
    pub fn name(self) -> &'static str {
        self.info().name
    }
}

const REG_NAMES: [&str; 16] = [
    "reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "reg8", "reg9", "reg10",
    "reg11", "reg12", "reg13", "reg14", "reg15",
];
const XREG_NAMES: [&str; 8] = [
    "xreg0", "xreg1", "xreg2", "xreg3", "xreg4", "xreg5", "xreg6", "xreg7",
];

/// A field value (or mask) of up to 16 bytes, big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value {
    len: u8,
    bytes: [u8; 16],
}

impl Value {
    /// A value from bytes (at most 16 are kept).
    pub fn from_bytes(b: &[u8]) -> Value {
        let n = b.len().min(16);
        let mut bytes = [0; 16];
        bytes[..n].copy_from_slice(&b[..n]);
        Value {
            len: n as u8,
            bytes,
        }
    }

    /// A `width`-byte value holding the low bytes of `v`.
    pub fn from_u64(width: u8, v: u64) -> Value {
        let w = usize::from(width.min(16));
        let mut bytes = [0; 16];
        let be = v.to_be_bytes();
        if w <= 8 {
            bytes[..w].copy_from_slice(&be[8 - w..]);
        } else {
            bytes[w - 8..w].copy_from_slice(&be);
        }
        Value {
            len: w as u8,
            bytes,
        }
    }

    /// All ones, `width` bytes.
    pub fn ones(width: u8) -> Value {
        let w = usize::from(width.min(16));
        let mut bytes = [0; 16];
        bytes[..w].fill(0xff);
        Value {
            len: w as u8,
            bytes,
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The value as an integer (the last 8 bytes for wider values).
    pub fn to_u64(&self) -> u64 {
        self.as_bytes()
            .iter()
            .fold(0u64, |a, &b| (a << 8) | u64::from(b))
    }

    /// True when every bit is 1.
    pub fn is_ones(&self) -> bool {
        self.as_bytes().iter().all(|&b| b == 0xff)
    }

    /// True when every bit is 0.
    pub fn is_zero(&self) -> bool {
        self.as_bytes().iter().all(|&b| b == 0)
    }

    /// Width in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for a zero-width value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `self & other`, byte by byte.
    pub fn and(&self, other: &Value) -> Value {
        let mut v = *self;
        for (a, b) in v.bytes.iter_mut().zip(other.bytes.iter()) {
            *a &= *b;
        }
        v
    }

    /// Formats in the field's display format.
    pub fn fmt_as(&self, format: Format, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.as_bytes();
        match format {
            Format::Mac if b.len() == 6 => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                b[0], b[1], b[2], b[3], b[4], b[5]
            ),
            Format::Ipv4 if b.len() == 4 => write!(f, "{}.{}.{}.{}", b[0], b[1], b[2], b[3]),
            Format::Ipv6 if b.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                write!(f, "{}", std::net::Ipv6Addr::from(a))
            }
            Format::Dec if b.len() <= 8 => write!(f, "{}", self.to_u64()),
            _ => {
                write!(f, "0x")?;
                let skip = b
                    .iter()
                    .take(b.len().saturating_sub(1))
                    .take_while(|&&x| x == 0)
                    .count();
                for (i, x) in b[skip..].iter().enumerate() {
                    if i == 0 {
                        write!(f, "{x:x}")?;
                    } else {
                        write!(f, "{x:02x}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_as(Format::Hex, f)
    }
}

/// One decoded TLV: field, value, optional mask.
pub(crate) type Tlv = (Field, Value, Option<Value>);

/// Reads one OXM/NXM TLV. See the module documentation for the errors.
pub(crate) fn decode_entry(r: &mut Reader<'_>) -> Result<Tlv, ErrorKind> {
    let h = r.u32().map_err(|_| ErrorKind::BadMatchBadLen)?;
    let class = (h >> 16) as u16;
    let field = ((h >> 9) & 0x7f) as u8;
    let has_mask = h & 0x100 != 0;
    let mut len = (h & 0xff) as usize;
    if len > r.remaining() {
        return Err(ErrorKind::BadMatchBadLen);
    }
    let mut body = r.sub(len, ErrorKind::BadMatchBadLen)?;
    let mut experimenter = 0;
    if class == OFPXMC_EXPERIMENTER {
        experimenter = body.u32().map_err(|_| ErrorKind::BadMatchBadLen)?;
        len -= 4;
    }
    let id = OxmId {
        class,
        field,
        experimenter,
    };
    let f = Field::from_id(id).ok_or(ErrorKind::BadMatchBadField)?;
    let info = f.info();
    let w = usize::from(info.width);
    if len != w * (1 + usize::from(has_mask)) {
        return Err(ErrorKind::BadMatchBadField);
    }
    if has_mask && !info.maskable {
        return Err(ErrorKind::BadMatchBadMask);
    }
    let value = Value::from_bytes(body.bytes(w)?);
    let mask = if has_mask {
        Some(Value::from_bytes(body.bytes(w)?))
    } else {
        None
    };
    check_value(f, &value, mask.as_ref())?;
    Ok((f, value, mask))
}

/// Checks a value (and mask) against the field's valid bits.
pub(crate) fn check_value(f: Field, value: &Value, mask: Option<&Value>) -> Result<(), ErrorKind> {
    let info = f.info();
    if value.len() != usize::from(info.width) || mask.is_some_and(|m| m.len() != value.len()) {
        return Err(ErrorKind::BadMatchBadLen);
    }
    if info.width <= 8 && value.to_u64() & !info.valid != 0 {
        return Err(ErrorKind::BadMatchBadValue);
    }
    if mask.is_some_and(|m| {
        value
            .as_bytes()
            .iter()
            .zip(m.as_bytes())
            .any(|(v, m)| v & !m != 0)
    }) {
        return Err(ErrorKind::BadMatchBadWildcards);
    }
    Ok(())
}

/// Writes one TLV with the header `field.header_for(version)`.
pub(crate) fn encode_entry(
    w: &mut Vec<u8>,
    version: Version,
    f: Field,
    value: &Value,
    mask: Option<&Value>,
) {
    encode_entry_id(w, f.header_for(version), value, mask);
}

/// Writes one TLV with an explicit header identity.
pub(crate) fn encode_entry_id(w: &mut Vec<u8>, id: OxmId, value: &Value, mask: Option<&Value>) {
    let mut len = value.len() + mask.map_or(0, |m| m.len());
    if id.class == OFPXMC_EXPERIMENTER {
        len += 4;
    }
    let h = (u32::from(id.class) << 16)
        | (u32::from(id.field & 0x7f) << 9)
        | (u32::from(mask.is_some()) << 8)
        | (len as u32 & 0xff);
    w.put_u32(h);
    if id.class == OFPXMC_EXPERIMENTER {
        w.put_u32(id.experimenter);
    }
    w.extend_from_slice(value.as_bytes());
    if let Some(m) = mask {
        w.extend_from_slice(m.as_bytes());
    }
}

/// Packs a header identity with a length, as NXM field references in Nicira
/// actions do (`class:16 field:7 hasmask:1 length:8`).
pub fn nxm_header(id: OxmId, has_mask: bool, len: u8) -> u32 {
    (u32::from(id.class) << 16)
        | (u32::from(id.field & 0x7f) << 9)
        | (u32::from(has_mask) << 8)
        | u32::from(len)
}

/// The field named by a packed NXM header (as in Nicira actions), if known.
pub fn field_of_header(h: u32) -> Option<Field> {
    Field::from_id(OxmId {
        class: (h >> 16) as u16,
        field: ((h >> 9) & 0x7f) as u8,
        experimenter: 0,
    })
}
