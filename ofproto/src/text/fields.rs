//! Match fields: names, value syntax, canonical order.

use super::{ParseError, err, parse_num};
use crate::ofp::oxm::{Format, NXM_OF};
use crate::ofp::port::{PortNo, port_from_of10, ports};
use crate::ofp::{Field, Match, Value};
use std::net::{Ipv4Addr, Ipv6Addr};

const ETH_IP: u64 = 0x0800;
const ETH_IPV6: u64 = 0x86dd;
const ETH_ARP: u64 = 0x0806;
const ETH_RARP: u64 = 0x8035;

const CT_FLAGS: [&str; 8] = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"];
const TCP_FLAGS: [&str; 9] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"];

/// Protocol shorthands: name, eth_type, ip_proto.
const SHORTHANDS: [(&str, u64, Option<u64>); 15] = [
    ("ip", ETH_IP, None),
    ("ipv6", ETH_IPV6, None),
    ("arp", ETH_ARP, None),
    ("rarp", ETH_RARP, None),
    ("mpls", 0x8847, None),
    ("mplsm", 0x8848, None),
    ("tcp", ETH_IP, Some(6)),
    ("udp", ETH_IP, Some(17)),
    ("sctp", ETH_IP, Some(132)),
    ("icmp", ETH_IP, Some(1)),
    ("tcp6", ETH_IPV6, Some(6)),
    ("udp6", ETH_IPV6, Some(17)),
    ("sctp6", ETH_IPV6, Some(132)),
    ("icmp6", ETH_IPV6, Some(58)),
    ("eth", 0, None),
];

/// The Nicira-extension (or OXM) name of a field, as `load`/`move` print
/// it: `NXM_NX_REG0`, `NXM_OF_ETH_SRC`, `OXM_OF_METADATA`.
pub fn nxm_name(f: Field) -> String {
    use Field::*;
    let suffix = match f {
        NwTos => "IP_TOS".to_string(),
        Ipv4Src => "IP_SRC".into(),
        Ipv4Dst => "IP_DST".into(),
        Icmpv4Type => "ICMP_TYPE".into(),
        Icmpv4Code => "ICMP_CODE".into(),
        NxInPort => "IN_PORT".into(),
        TunnelId => "TUN_ID".into(),
        Ipv6NdTarget => "ND_TARGET".into(),
        Ipv6NdSll => "ND_SLL".into(),
        Ipv6NdTll => "ND_TLL".into(),
        Ipv6Flabel => "IPV6_LABEL".into(),
        NwTtl => "IP_TTL".into(),
        TunSrc => "TUN_IPV4_SRC".into(),
        TunDst => "TUN_IPV4_DST".into(),
        _ => f.name().to_ascii_uppercase(),
    };
    match f.info().nxm {
        Some(id) if id.class == NXM_OF => format!("NXM_OF_{suffix}"),
        Some(_) => format!("NXM_NX_{suffix}"),
        None => format!("OXM_OF_{suffix}"),
    }
}

/// The field a name denotes: an Open vSwitch alias (`dl_src`, `nw_dst`,
/// `tun_id`, ...), a name from [`Field::info`], or an NXM/OXM name.
/// Context-dependent aliases (`tp_src`, `nw_src`) are not resolved here.
pub fn lookup_field(name: &str) -> Option<Field> {
    use Field::*;
    let alias = match name {
        "dl_src" => Some(EthSrc),
        "dl_dst" => Some(EthDst),
        "dl_type" => Some(EthType),
        "ip_src" => Some(Ipv4Src),
        "ip_dst" => Some(Ipv4Dst),
        "nw_proto" => Some(IpProto),
        "nw_ecn" => Some(IpEcn),
        "ipv6_label" => Some(Ipv6Flabel),
        "nd_target" => Some(Ipv6NdTarget),
        "nd_sll" => Some(Ipv6NdSll),
        "nd_tll" => Some(Ipv6NdTll),
        "tun_id" => Some(TunnelId),
        "icmpv4_type" => Some(Icmpv4Type),
        _ => None,
    };
    alias.or_else(|| by_name().get(name).copied())
}

/// Every field under its Open vSwitch name and its NXM/OXM name, built once
/// (a flow file asks for a field per token).
fn by_name() -> &'static std::collections::HashMap<String, Field> {
    static NAMES: std::sync::LazyLock<std::collections::HashMap<String, Field>> =
        std::sync::LazyLock::new(|| {
            let mut m = std::collections::HashMap::new();
            // Reversed, so that the first field of the table wins a name
            // two fields share (as a linear search would find it).
            for f in Field::all().iter().rev() {
                m.insert(nxm_name(*f), *f);
            }
            for f in Field::all().iter().rev() {
                m.insert(f.name().to_string(), *f);
            }
            m
        });
    &NAMES
}

fn eth_type(m: &Match) -> Option<u64> {
    m.exact(Field::EthType)
}

fn is_arp(m: &Match) -> bool {
    matches!(eth_type(m), Some(ETH_ARP | ETH_RARP))
}

/// Resolves a (possibly context-dependent) key against the match so far.
fn resolve(key: &str, m: &Match) -> Result<Field, ParseError> {
    use Field::*;
    let proto = m.exact(IpProto);
    let v6 = eth_type(m) == Some(ETH_IPV6);
    let f = match key {
        "nw_src" if is_arp(m) => ArpSpa,
        "nw_dst" if is_arp(m) => ArpTpa,
        "nw_src" => Ipv4Src,
        "nw_dst" => Ipv4Dst,
        "nw_proto" | "ip_proto" if is_arp(m) => ArpOp,
        "tp_src" | "tp_dst" => {
            let src = key == "tp_src";
            match proto {
                Some(17) => [UdpDst, UdpSrc][usize::from(src)],
                Some(132) => [SctpDst, SctpSrc][usize::from(src)],
                _ => [TcpDst, TcpSrc][usize::from(src)],
            }
        }
        "icmp_type" if v6 => Icmpv6Type,
        "icmp_code" if v6 => Icmpv6Code,
        "icmp_type" => Icmpv4Type,
        "icmp_code" => Icmpv4Code,
        _ => match lookup_field(key) {
            Some(f) => f,
            None => return err(format!("unknown field '{key}'")),
        },
    };
    Ok(f)
}

fn parse_mac(s: &str) -> Result<[u8; 6], ParseError> {
    let parts: Vec<&str> = s.split(':').collect();
    let mut out = [0u8; 6];
    if parts.len() != 6 {
        return err(format!("invalid Ethernet address '{s}'"));
    }
    for (o, p) in out.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return err(format!("invalid Ethernet address '{s}'"));
        }
        *o = u8::from_str_radix(p, 16)
            .or_else(|_| err(format!("invalid Ethernet address '{s}'")))?;
    }
    Ok(out)
}

fn prefix_mask(len: usize, width: usize) -> Vec<u8> {
    (0..width)
        .map(|i| {
            let bits = len.saturating_sub(i * 8).min(8);
            if bits == 0 { 0 } else { 0xffu8 << (8 - bits) }
        })
        .collect()
}

/// Parses a value (and optional mask) for `f` in its display format.
pub(crate) fn parse_value(f: Field, s: &str) -> Result<(Value, Option<Value>), ParseError> {
    let info = f.info();
    let (v, m) = match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    if m.is_some() && !info.maskable {
        return err(format!(
            "field '{}' does not support masking ('{s}')",
            info.name
        ));
    }
    let w = usize::from(info.width);
    match info.format {
        Format::Mac => {
            let val = Value::from_bytes(&parse_mac(v)?);
            let mask = m.map(parse_mac).transpose()?.map(|b| Value::from_bytes(&b));
            Ok((val, mask))
        }
        Format::Ipv4 => {
            let bad = || err(format!("invalid IP address '{s}'"));
            let Ok(a) = v.parse::<Ipv4Addr>() else {
                return bad();
            };
            let mask = match m {
                None => None,
                Some(m) => {
                    if let Ok(ma) = m.parse::<Ipv4Addr>() {
                        Some(Value::from_bytes(&ma.octets()))
                    } else {
                        match m.parse::<usize>() {
                            Ok(n) if n <= 32 => Some(Value::from_bytes(&prefix_mask(n, 4))),
                            _ => return err(format!("invalid IP mask '{m}'")),
                        }
                    }
                }
            };
            Ok((Value::from_bytes(&a.octets()), mask))
        }
        Format::Ipv6 => {
            let Ok(a) = v.parse::<Ipv6Addr>() else {
                return err(format!("invalid IPv6 address '{s}'"));
            };
            let mask = match m {
                None => None,
                Some(m) => {
                    if let Ok(ma) = m.parse::<Ipv6Addr>() {
                        Some(Value::from_bytes(&ma.octets()))
                    } else {
                        match m.parse::<usize>() {
                            Ok(n) if n <= 128 => Some(Value::from_bytes(&prefix_mask(n, 16))),
                            _ => return err(format!("invalid IPv6 mask '{m}'")),
                        }
                    }
                }
            };
            Ok((Value::from_bytes(&a.octets()), mask))
        }
        Format::Hex | Format::Dec => {
            let max = if w >= 16 {
                u128::MAX
            } else {
                (1u128 << (8 * w)) - 1
            };
            let num = |x: &str| -> Result<Value, ParseError> {
                let n = match super::parse_u128(x) {
                    Some(n) if n <= max => n,
                    // The message is built only for a bad value.
                    _ => parse_num(x, max, &format!("{}-byte field {}", w, info.name))?,
                };
                Ok(Value::from_bytes(&n.to_be_bytes()[16 - w..]))
            };
            Ok((num(v)?, m.map(num).transpose()?))
        }
    }
}

fn parse_port(s: &str) -> Result<PortNo, ParseError> {
    let named = [
        ("IN_PORT", ports::IN_PORT),
        ("TABLE", ports::TABLE),
        ("NORMAL", ports::NORMAL),
        ("FLOOD", ports::FLOOD),
        ("ALL", ports::ALL),
        ("CONTROLLER", ports::CONTROLLER),
        ("LOCAL", ports::LOCAL),
        ("ANY", ports::ANY),
        ("NONE", ports::ANY),
    ];
    if let Some((_, p)) = named.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(*p);
    }
    match super::parse_u128(s) {
        Some(n) if n <= 0xffff => Ok(port_from_of10(n as u16)),
        Some(n) if n <= u128::from(u32::MAX) => Ok(n as u32),
        _ => err(format!("invalid port '{s}'")),
    }
}

pub(crate) fn port_name(p: PortNo) -> String {
    match p {
        ports::IN_PORT => "IN_PORT".into(),
        ports::TABLE => "TABLE".into(),
        ports::NORMAL => "NORMAL".into(),
        ports::FLOOD => "FLOOD".into(),
        ports::ALL => "ALL".into(),
        ports::CONTROLLER => "CONTROLLER".into(),
        ports::LOCAL => "LOCAL".into(),
        ports::ANY => "ANY".into(),
        n => n.to_string(),
    }
}

pub(crate) fn port_from_text(s: &str) -> Result<PortNo, ParseError> {
    parse_port(s)
}

/// Parses `+a-b` flag syntax against `names` (bit i = `names[i]`).
fn parse_flags(s: &str, names: &[&str], what: &str) -> Result<(u64, u64), ParseError> {
    let (mut v, mut m) = (0u64, 0u64);
    let mut rest = s;
    while !rest.is_empty() {
        let set = match rest.as_bytes()[0] {
            b'+' => true,
            b'-' => false,
            _ => return err(format!("invalid {what} flags '{s}'")),
        };
        rest = &rest[1..];
        let end = rest.find(['+', '-']).unwrap_or(rest.len());
        let name = &rest[..end];
        let Some(bit) = names.iter().position(|n| *n == name) else {
            return err(format!("unknown {what} flag '{name}'"));
        };
        m |= 1 << bit;
        if set {
            v |= 1 << bit;
        }
        rest = &rest[end..];
    }
    Ok((v, m))
}

fn format_flags(v: u64, m: u64, names: &[&str]) -> String {
    let mut s = String::new();
    for (i, n) in names.iter().enumerate() {
        if m & (1 << i) != 0 {
            s.push(if v & (1 << i) != 0 { '+' } else { '-' });
            s.push_str(n);
        }
    }
    s
}

fn set_vlan_tci(m: &mut Match, v: u64, mask: u64) {
    let (ov, om) = m
        .get(Field::VlanTci)
        .map(|e| (e.value.to_u64(), e.mask_or_ones().to_u64()))
        .unwrap_or((0, 0));
    let nm = om | mask;
    let nv = (ov & !mask) | (v & mask);
    if nm == 0xffff {
        m.set_u64(Field::VlanTci, nv);
    } else {
        m.set_masked_u64(Field::VlanTci, nv, nm);
    }
}

/// Rewrites a parsed 802.1Q TCI match (`dl_vlan`, `dl_vlan_pcp`,
/// `vlan_tci`) into the OXM fields `vlan_vid`/`vlan_pcp` where they can
/// express it, as Open vSwitch does when it encodes for OpenFlow (1.0's
/// `dl_vlan`/`dl_vlan_pcp`, 1.3's `VLAN_VID`/`VLAN_PCP`); what they cannot
/// express stays the Nicira `vlan_tci`.
fn normalise_vlan(m: &mut Match) {
    let Some(e) = m.get(Field::VlanTci) else {
        return;
    };
    let (v, mk) = (e.value.to_u64(), e.mask_or_ones().to_u64());
    let (vid_m, pcp_m, cfi) = (mk & 0x0fff, mk & 0xe000, v & mk & 0x1000 != 0);
    let mut repl: Vec<(Field, u64, Option<u64>)> = Vec::new();
    if mk == 0xffff && v == 0 {
        repl.push((Field::VlanVid, 0, None));
    } else if pcp_m == 0 && mk & 0x1fff != 0 {
        let m13 = mk & 0x1fff;
        repl.push((Field::VlanVid, v & m13, (m13 != 0x1fff).then_some(m13)));
    } else if pcp_m == 0xe000 && cfi && (vid_m == 0 || vid_m == 0xfff) {
        if vid_m == 0xfff {
            repl.push((Field::VlanVid, v & 0x1fff, None));
        } else {
            repl.push((Field::VlanVid, 0x1000, Some(0x1000)));
        }
        repl.push((Field::VlanPcp, v >> 13, None));
    } else {
        return;
    }
    let old = core::mem::replace(m, Match::new());
    for e in old.entries() {
        if e.field == Field::VlanTci {
            for &(f, v, mask) in &repl {
                match mask {
                    Some(mk) => m.set_masked_u64(f, v, mk),
                    None => m.set_u64(f, v),
                }
            }
        } else {
            m.set(e.field, e.value, e.mask);
        }
    }
}

/// Open vSwitch's order of match fields on the wire (`nx_put_raw`):
/// metadata, Ethernet, VLAN, MPLS, L3, L4, ARP, tunnel, registers, marks,
/// conntrack, OpenFlow metadata. A parsed match is sorted into it so that
/// its encoding is the bytes `ovs-ofctl` sends.
fn wire_rank(f: Field) -> (u8, u8) {
    use Field::*;
    let r = match f {
        InPort | NxInPort => 0,
        InPhyPort => 1,
        PacketType => 2,
        ActsetOutput => 3,
        EthSrc => 10,
        EthDst => 11,
        EthType => 12,
        VlanTci => 13,
        VlanVid => 14,
        VlanPcp => 15,
        MplsLabel => 20,
        MplsTc => 21,
        MplsBos => 22,
        Ipv4Src => 30,
        Ipv4Dst => 31,
        Ipv6Src => 32,
        Ipv6Dst => 33,
        Ipv6Flabel => 34,
        IpFrag => 35,
        IpProto => 36,
        NwTos => 37,
        IpDscp => 38,
        IpEcn => 39,
        NwTtl => 40,
        TcpSrc => 50,
        TcpDst => 51,
        TcpFlags => 52,
        UdpSrc => 53,
        UdpDst => 54,
        SctpSrc => 55,
        SctpDst => 56,
        Icmpv4Type => 57,
        Icmpv4Code => 58,
        Icmpv6Type => 59,
        Icmpv6Code => 60,
        Ipv6NdTarget => 61,
        Ipv6NdSll => 62,
        Ipv6NdTll => 63,
        ArpOp => 70,
        ArpSpa => 71,
        ArpTpa => 72,
        ArpSha => 73,
        ArpTha => 74,
        TunnelId => 80,
        TunFlags => 81,
        TunSrc => 82,
        TunDst => 83,
        TunIpv6Src => 84,
        TunIpv6Dst => 85,
        TunGbpId => 86,
        TunGbpFlags => 87,
        Reg(n) => return (90, n),
        PktReg(n) => return (91, n),
        PktMark => 100,
        DpHash => 101,
        RecircId => 102,
        ConjId => 103,
        CtState => 110,
        CtZone => 111,
        CtMark => 112,
        CtLabel => 113,
        CtNwSrc => 114,
        CtNwDst => 115,
        CtIpv6Src => 116,
        CtIpv6Dst => 117,
        CtNwProto => 118,
        CtTpSrc => 119,
        CtTpDst => 120,
        Metadata => 130,
        PbbIsid | PbbUca | Ipv6Exthdr => 140,
    };
    (r, 0)
}

fn wire_order(m: &mut Match) {
    if !m
        .entries()
        .windows(2)
        .all(|w| wire_rank(w[0].field) <= wire_rank(w[1].field))
    {
        m.sort_by_key(|e| wire_rank(e.field));
    }
}

/// The 802.1Q TCI value and mask that `vlan_tci`, `vlan_vid` and
/// `vlan_pcp` entries of `m` match together.
fn combined_tci(m: &Match) -> (u64, u64) {
    let (mut v, mut mk) = (0u64, 0u64);
    if let Some(e) = m.get(Field::VlanTci) {
        mk |= e.mask_or_ones().to_u64();
        v |= e.value.to_u64() & mk;
    }
    if let Some(e) = m.get(Field::VlanVid) {
        let (x, xm) = (e.value.to_u64(), e.mask.map_or(0x1fff, |m| m.to_u64()));
        if e.mask.is_none() && x == 0 && m.get(Field::VlanPcp).is_none() {
            // "No 802.1Q header": the whole TCI is zero.
            return (0, 0xffff);
        }
        v |= x & xm & 0x1fff;
        mk |= xm & 0x1fff;
    }
    if let Some(e) = m.get(Field::VlanPcp) {
        v |= e.value.to_u64() << 13 | 0x1000;
        mk |= 0xf000;
    }
    (v, mk)
}

fn set_entry(m: &mut Match, f: Field, v: Value, mask: Option<Value>) {
    match mask {
        Some(mk) if mk.is_zero() => m.remove(f),
        Some(mk) if mk.is_ones() => m.set(f, v, None),
        mk => m.set(f, v, mk),
    }
}

/// Applies `key[=value]` pairs (everything but the flow header fields) to
/// `m`. Protocol shorthands and `dl_type`/`nw_proto` are applied first, so
/// `tp_src` and `nw_src` resolve whatever the order.
pub fn parse_match_into(pairs: &[(&str, Option<&str>)], m: &mut Match) -> Result<(), ParseError> {
    let is_proto = |k: &str| matches!(k, "nw_proto" | "ip_proto");
    for &(k, v) in pairs {
        match (k, v) {
            (k, None) => {
                let Some(&(_, et, proto)) = SHORTHANDS.iter().find(|s| s.0 == k) else {
                    return err(format!("unknown field '{k}'"));
                };
                if et != 0 {
                    m.set_u64(Field::EthType, et);
                }
                if let Some(p) = proto {
                    m.set_u64(Field::IpProto, p);
                }
            }
            ("dl_type" | "eth_type", Some(v)) => {
                let n = parse_num(v, 0xffff, "2-byte field dl_type")?;
                m.set_u64(Field::EthType, n as u64);
            }
            _ => {}
        }
    }
    // nw_proto after dl_type (it means arp_op for ARP), then the rest in
    // order.
    let later =
        |&&(k, v): &&(&str, Option<&str>)| v.is_some() && !matches!(k, "dl_type" | "eth_type");
    let protos = pairs.iter().filter(later).filter(|(k, _)| is_proto(k));
    let rest = pairs.iter().filter(later).filter(|(k, _)| !is_proto(k));
    for (k, v) in protos.chain(rest).map(|&(k, v)| (k, v.unwrap_or_default())) {
        match k {
            "in_port" => {
                let p = parse_port(v).or_else(|_| err(format!("invalid port '{v}'")))?;
                m.set_u64(Field::InPort, u64::from(p));
            }
            "dl_vlan" => {
                let n = parse_num(v, 0xffff, "dl_vlan")? as u64;
                if n == 0xffff {
                    set_vlan_tci(m, 0, 0xffff);
                } else {
                    set_vlan_tci(m, 0x1000 | (n & 0xfff), 0x1fff);
                }
            }
            "dl_vlan_pcp" => {
                let n = parse_num(v, 7, "dl_vlan_pcp")? as u64;
                set_vlan_tci(m, 0x1000 | (n << 13), 0xf000);
            }
            "vlan_tci" => {
                let (val, mask) = parse_value(Field::VlanTci, v)?;
                let mk = mask.map(|x| x.to_u64()).unwrap_or(0xffff);
                m.remove(Field::VlanTci);
                if mk != 0 {
                    set_vlan_tci(m, val.to_u64(), mk);
                }
            }
            // Both are the DSCP bits, which OpenFlow carries as IP_DSCP
            // (1.0: the upper six bits of nw_tos).
            "nw_tos" => {
                let n = parse_num(v, 0xff, "nw_tos")? as u64;
                m.set_u64(Field::IpDscp, (n & 0xfc) >> 2);
            }
            "ip_dscp" => {
                let n = parse_num(v, 0x3f, "ip_dscp")? as u64;
                m.set_u64(Field::IpDscp, n);
            }
            // `tun_flags` has one flag, `oam`; Open vSwitch always matches
            // it with a mask (the flag bits).
            "tun_flags" => {
                let (fv, fm) = if v.starts_with(['+', '-']) {
                    parse_flags(v, &["oam"], "tun_flags")?
                } else {
                    let (val, mask) = parse_value(Field::TunFlags, v)?;
                    let mk = mask.map_or(1, |m| m.to_u64());
                    (val.to_u64() & mk, mk)
                };
                if fv & !1 != 0 || fm & !1 != 0 {
                    return err(format!("tun_flags '{v}': only the oam flag (1) exists"));
                }
                m.set_masked_u64(Field::TunFlags, fv, fm);
            }
            "nw_frag" | "ip_frag" => {
                let (fv, fm) = match v {
                    "no" => (0, 3),
                    "yes" => (1, 1),
                    "first" => (1, 3),
                    "later" => (3, 3),
                    "not_later" => (0, 2),
                    _ => {
                        return err(format!(
                            "invalid nw_frag '{v}' (no, yes, first, later, not_later)"
                        ));
                    }
                };
                if fm == 3 {
                    m.set_u64(Field::IpFrag, fv);
                } else {
                    m.set_masked_u64(Field::IpFrag, fv, fm);
                }
            }
            "ct_state" if v.starts_with(['+', '-']) => {
                let (fv, fm) = parse_flags(v, &CT_FLAGS, "ct_state")?;
                m.set_masked_u64(Field::CtState, fv, fm);
            }
            "tcp_flags" if v.starts_with(['+', '-']) => {
                let (fv, fm) = parse_flags(v, &TCP_FLAGS, "tcp_flags")?;
                m.set_masked_u64(Field::TcpFlags, fv, fm);
            }
            _ => {
                let f = resolve(k, m)?;
                let (val, mask) = parse_value(f, v)?;
                let valid = f.info().valid;
                if f.info().width <= 8 && val.to_u64() & !valid != 0 {
                    return err(format!("value '{v}' out of range for field {}", f.name()));
                }
                let mask = match (f, mask) {
                    (Field::TcpFlags | Field::Ipv6Flabel, Some(mk))
                        if mk.to_u64() & valid == valid =>
                    {
                        None
                    }
                    (_, mk) => mk,
                };
                set_entry(m, f, val, mask);
            }
        }
    }
    normalise_vlan(m);
    wire_order(m);
    for e in m.entries() {
        let info = e.field.info();
        if !m.prereq_ok(info.prereq) {
            return err(format!(
                "field '{}' lacks its prerequisite ({:?})",
                info.name, info.prereq
            ));
        }
    }
    Ok(())
}

fn print_name(f: Field) -> &'static str {
    use Field::*;
    match f {
        EthSrc => "dl_src",
        EthDst => "dl_dst",
        EthType => "dl_type",
        Ipv4Src => "nw_src",
        Ipv4Dst => "nw_dst",
        IpProto => "nw_proto",
        IpEcn => "nw_ecn",
        TcpSrc | UdpSrc | SctpSrc => "tp_src",
        TcpDst | UdpDst | SctpDst => "tp_dst",
        Icmpv4Type | Icmpv6Type => "icmp_type",
        Icmpv4Code | Icmpv6Code => "icmp_code",
        Ipv6Flabel => "ipv6_label",
        Ipv6NdTarget => "nd_target",
        Ipv6NdSll => "nd_sll",
        Ipv6NdTll => "nd_tll",
        TunnelId => "tun_id",
        _ => f.name(),
    }
}

struct Disp(Value, Format);
impl core::fmt::Display for Disp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt_as(self.1, f)
    }
}

fn prefix_len(mask: &[u8]) -> Option<usize> {
    let ones: usize = mask.iter().map(|b| b.leading_ones() as usize).sum();
    (prefix_mask(ones, mask.len()) == mask).then_some(ones)
}

/// Formats a value (and mask) of `f` as the match syntax writes it.
pub(crate) fn format_value(f: Field, v: &Value, mask: Option<&Value>) -> String {
    use Field::*;
    let info = f.info();
    let mask = mask.filter(|m| !m.is_ones());
    match (f, info.format) {
        (CtZone | ConjId | NwTos, _) if mask.is_none() => v.to_u64().to_string(),
        (ActsetOutput, _) if mask.is_none() => port_name(v.to_u64() as u32),
        (Ipv6Flabel, _) => match mask {
            None => format!("{:#07x}", v.to_u64()),
            Some(m) => format!("{:#07x}/{:#07x}", v.to_u64(), m.to_u64()),
        },
        (_, fmt @ (Format::Ipv4 | Format::Ipv6)) => {
            let a = Disp(*v, fmt).to_string();
            match mask.map(|m| (m, prefix_len(m.as_bytes()))) {
                None => a,
                Some((_, Some(n))) => format!("{a}/{n}"),
                Some((m, None)) => format!("{a}/{}", Disp(*m, fmt)),
            }
        }
        (_, Format::Mac) => match mask {
            None => Disp(*v, Format::Mac).to_string(),
            Some(m) => format!("{}/{}", Disp(*v, Format::Mac), Disp(*m, Format::Mac)),
        },
        // Open vSwitch prints hexadecimal with C's "%#x", which writes zero
        // as "0".
        (_, fmt) => match mask {
            None => c_hex(Disp(*v, fmt).to_string()),
            Some(m) => format!(
                "{}/{}",
                c_hex(Disp(*v, Format::Hex).to_string()),
                c_hex(Disp(*m, Format::Hex).to_string())
            ),
        },
    }
}

/// `0x0`, `0x00`, ... as `0`.
fn c_hex(s: String) -> String {
    match s.strip_prefix("0x") {
        Some(d) if !d.is_empty() && d.bytes().all(|b| b == b'0') => "0".into(),
        _ => s,
    }
}

fn format_vlan(v: u64, m: u64) -> String {
    let cfi = v & 0x1000 != 0;
    if m == 0xffff && v == 0 {
        return "vlan_tci=0x0000".into();
    }
    if cfi && m & 0x1fff == 0x1fff && (m & 0xe000 == 0 || m & 0xe000 == 0xe000) {
        let mut s = format!("dl_vlan={}", v & 0xfff);
        if m & 0xe000 != 0 {
            s.push_str(&format!(",dl_vlan_pcp={}", v >> 13));
        }
        return s;
    }
    if cfi && m == 0xf000 {
        return format!("dl_vlan_pcp={}", v >> 13);
    }
    if m == 0xffff {
        format!("vlan_tci={v:#06x}")
    } else {
        format!("vlan_tci={v:#06x}/{m:#06x}")
    }
}

/// Formats a match in Open vSwitch's canonical order (without priority).
pub fn format_match(m: &Match) -> String {
    use Field::*;
    let mut out: Vec<String> = Vec::new();
    let mut done: Vec<Field> = Vec::new();
    // `done` holds only fields the match has (and the VLAN trio), so its
    // scans stay short: most of the ~100 fields below are absent, and are
    // dismissed by one pass over the match's few entries.
    let emit = |out: &mut Vec<String>, done: &mut Vec<Field>, f: Field| {
        if matches!(f, VlanTci | VlanVid | VlanPcp) {
            if done.contains(&VlanTci) {
                return;
            }
            done.extend([VlanTci, VlanVid, VlanPcp]);
            let (v, mk) = combined_tci(m);
            if mk != 0 {
                out.push(format_vlan(v, mk));
            }
            return;
        }
        let Some(e) = m.get(f) else { return };
        if done.contains(&f) {
            return;
        }
        done.push(f);
        let s = match f {
            InPort => format!("in_port={}", port_name(e.value.to_u64() as u32)),
            IpDscp if e.mask.is_none() => format!("nw_tos={}", e.value.to_u64() << 2),
            TunFlags if e.mask.is_some() && e.mask_or_ones().to_u64() == 1 => {
                format!("tun_flags={}", format_flags(e.value.to_u64(), 1, &["oam"]))
            }
            IpFrag => {
                let (v, mk) = (e.value.to_u64(), e.mask.map_or(3, |m| m.to_u64()));
                match (v, mk) {
                    (0, 3) | (0, 1) => "nw_frag=no".into(),
                    (1, 1) => "nw_frag=yes".into(),
                    (1, 3) => "nw_frag=first".into(),
                    (3, 3) | (2, 2) => "nw_frag=later".into(),
                    (0, 2) => "nw_frag=not_later".into(),
                    _ => format!("nw_frag={v:#x}/{mk:#x}"),
                }
            }
            CtState if e.mask_or_ones().to_u64() & !0xff == 0 => format!(
                "ct_state={}",
                format_flags(e.value.to_u64(), e.mask_or_ones().to_u64(), &CT_FLAGS)
            ),
            TcpFlags if e.mask.is_some() => format!(
                "tcp_flags={}",
                format_flags(e.value.to_u64(), e.mask_or_ones().to_u64(), &TCP_FLAGS)
            ),
            TcpFlags => format!("tcp_flags={:#05x}", e.value.to_u64()),
            EthType => format!("dl_type={:#06x}", e.value.to_u64()),
            ArpSpa | ArpTpa | ArpOp => format!(
                "{}={}",
                f.name(),
                format_value(f, &e.value, e.mask.as_ref())
            ),
            _ => format!(
                "{}={}",
                print_name(f),
                format_value(f, &e.value, e.mask.as_ref())
            ),
        };
        out.push(s);
    };
    for f in [
        PktMark, RecircId, DpHash, ConjId, CtState, CtZone, CtMark, CtLabel, CtNwSrc, CtNwDst,
        CtIpv6Src, CtIpv6Dst, CtNwProto, CtTpSrc, CtTpDst,
    ] {
        emit(&mut out, &mut done, f);
    }
    // Protocol shorthand.
    let et = m.exact(EthType);
    let proto = m.exact(IpProto);
    if let Some(et) = et {
        let full = SHORTHANDS
            .iter()
            .find(|s| s.1 == et && s.2.is_some() && s.2 == proto);
        let base = SHORTHANDS
            .iter()
            .find(|s| s.1 == et && et != 0 && s.2.is_none());
        if let Some(s) = full {
            out.push(s.0.into());
            done.extend([EthType, IpProto]);
        } else if let Some(s) = base {
            out.push(s.0.into());
            done.push(EthType);
        }
    }
    for f in (0..16).map(Reg).chain((0..8).map(PktReg)) {
        emit(&mut out, &mut done, f);
    }
    for f in [
        TunnelId,
        TunSrc,
        TunDst,
        TunIpv6Src,
        TunIpv6Dst,
        TunGbpId,
        TunGbpFlags,
        TunFlags,
        Metadata,
        InPort,
        NxInPort,
        VlanTci,
        VlanVid,
        VlanPcp,
        EthSrc,
        EthDst,
        EthType,
        MplsLabel,
        MplsTc,
        MplsBos,
        Ipv6Src,
        Ipv6Dst,
        Ipv6Flabel,
        Ipv4Src,
        ArpSpa,
        Ipv4Dst,
        ArpTpa,
        IpProto,
        ArpOp,
        ArpSha,
        ArpTha,
        NwTos,
        IpDscp,
        IpEcn,
        NwTtl,
        IpFrag,
        TcpSrc,
        UdpSrc,
        SctpSrc,
        Icmpv4Type,
        Icmpv6Type,
        TcpDst,
        UdpDst,
        SctpDst,
        Icmpv4Code,
        Icmpv6Code,
        Ipv6NdTarget,
        Ipv6NdSll,
        Ipv6NdTll,
        TcpFlags,
    ] {
        emit(&mut out, &mut done, f);
    }
    for e in m.entries() {
        emit(&mut out, &mut done, e.field);
    }
    out.join(",")
}
