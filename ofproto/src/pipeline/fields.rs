//! Reading and writing OpenFlow fields ([`Field`]) on a [`FlowKey`], for
//! set_field, register loads and moves and `output:reg`.
//!
//! Contract: a field's value is its numeric value (big-endian bytes of the
//! field's width read as an integer, at most 128 bits). [`storage`] gives
//! the key bits a field occupies (what a read must un-wildcard);
//! [`write()`] changes only the bits of the field selected by the mask and
//! returns them. The mapping between fields and key storage is the one of
//! [`Match::to_flow`], so matching and writing agree by construction.

use crate::ofp::matching::Match;
use crate::ofp::oxm::{Field, Value};
use datapath::flow::{FlowKey, FlowMask};

/// Width of `f` in bits (its OXM width).
pub fn width_bits(f: Field) -> u32 {
    u32::from(f.info().width) * 8
}

fn value_of(f: Field, v: u128) -> Value {
    let w = usize::from(f.info().width.min(16));
    Value::from_bytes(&v.to_be_bytes()[16 - w..])
}

fn to_u128(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |a, &x| (a << 8) | u128::from(x))
}

/// The key bits under the bits `mask` of field `f` (the whole field for an
/// all-ones mask). `None` for fields with no storage in a key.
pub fn storage_masked(f: Field, mask: u128) -> Option<FlowMask> {
    // Fast paths for the pipeline's own fields (no allocation).
    let mut out = FlowMask::CATCHALL;
    match f {
        Field::Reg(n) => {
            out.regs[usize::from(n & 15)] = mask as u32;
            return Some(out);
        }
        Field::Metadata => {
            out.metadata = mask as u64;
            return Some(out);
        }
        Field::InPort => {
            out.in_port = mask as u32;
            return Some(out);
        }
        _ => {}
    }
    let mut m = Match::new();
    let w = width_bits(f);
    let ones = if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    };
    let mask = mask & ones;
    let mv = (mask != ones).then(|| value_of(f, mask));
    m.set(f, value_of(f, mask), mv);
    m.to_flow().ok().map(|(_, m)| m)
}

/// The key bits field `f` occupies.
pub fn storage(f: Field) -> Option<FlowMask> {
    storage_masked(f, u128::MAX)
}

/// The value of `f` in `k` (`None` for fields with no storage in a key).
pub fn read(k: &FlowKey, f: Field) -> Option<u128> {
    use Field as F;
    Some(match f {
        F::InPort | F::InPhyPort => k.in_port.into(),
        F::NxInPort => (k.in_port & 0xffff).into(),
        F::Metadata => k.metadata.into(),
        F::Reg(n) => k.regs[usize::from(n & 15)].into(),
        F::PktReg(n) => {
            let i = usize::from(n & 7) * 2;
            (u128::from(k.regs[i]) << 32) | u128::from(k.regs[i + 1])
        }
        F::TunnelId => k.tun_id.into(),
        F::EthDst => to_u128(&k.dl_dst),
        F::EthSrc => to_u128(&k.dl_src),
        F::EthType => k.dl_type.into(),
        F::VlanVid => (k.vlans[0].tci & 0x1fff).into(),
        F::VlanTci => k.vlans[0].tci.into(),
        F::VlanPcp => (k.vlans[0].tci >> 13).into(),
        F::IpDscp => (k.nw_tos >> 2).into(),
        F::IpEcn => (k.nw_tos & 3).into(),
        F::NwTos => (k.nw_tos & 0xfc).into(),
        F::IpProto => k.nw_proto.into(),
        F::NwTtl => k.nw_ttl.into(),
        F::IpFrag => k.nw_frag.into(),
        F::Ipv4Src | F::ArpSpa => k.nw_src.into(),
        F::Ipv4Dst | F::ArpTpa => k.nw_dst.into(),
        F::TcpSrc | F::UdpSrc | F::SctpSrc | F::Icmpv4Type | F::Icmpv6Type => k.tp_src.into(),
        F::TcpDst | F::UdpDst | F::SctpDst | F::Icmpv4Code | F::Icmpv6Code => k.tp_dst.into(),
        F::ArpOp => k.arp_op.into(),
        F::ArpSha | F::Ipv6NdSll => to_u128(&k.arp_sha),
        F::ArpTha | F::Ipv6NdTll => to_u128(&k.arp_tha),
        F::Ipv6Src => to_u128(&k.ipv6_src),
        F::Ipv6Dst => to_u128(&k.ipv6_dst),
        F::Ipv6Flabel => k.ipv6_label.into(),
        F::Ipv6NdTarget => to_u128(&k.nd_target),
        F::MplsLabel => (k.mpls_lse >> 12).into(),
        F::MplsTc => ((k.mpls_lse >> 9) & 7).into(),
        F::MplsBos => ((k.mpls_lse >> 8) & 1).into(),
        F::PbbIsid => k.pbb_isid.into(),
        F::PbbUca => k.pbb_uca.into(),
        F::Ipv6Exthdr => k.ipv6_exthdr.into(),
        F::TcpFlags => k.tcp_flags.into(),
        F::TunSrc => k.tun_src.into(),
        F::TunDst => k.tun_dst.into(),
        F::TunIpv6Src => to_u128(&k.tun_ipv6_src),
        F::TunIpv6Dst => to_u128(&k.tun_ipv6_dst),
        F::TunFlags => k.tun_flags.into(),
        F::TunGbpId => k.tun_gbp_id.into(),
        F::TunGbpFlags => k.tun_gbp_flags.into(),
        F::PktMark => k.pkt_mark.into(),
        F::DpHash => k.dp_hash.into(),
        F::RecircId => k.recirc_id.into(),
        F::CtState => k.ct_state.into(),
        F::CtZone => k.ct_zone.into(),
        F::CtMark => k.ct_mark.into(),
        F::CtLabel => to_u128(&k.ct_label),
        // No storage in the key (yet): the conntrack original-tuple fields.
        F::ActsetOutput
        | F::PacketType
        | F::ConjId
        | F::CtNwProto
        | F::CtNwSrc
        | F::CtNwDst
        | F::CtIpv6Src
        | F::CtIpv6Dst
        | F::CtTpSrc
        | F::CtTpDst => return None,
    })
}

/// Writes the bits `mask` of `value` into field `f` of `k`; returns the key
/// bits written (`None`, and `k` unchanged, for fields with no storage).
pub fn write(k: &mut FlowKey, f: Field, value: u128, mask: u128) -> Option<FlowMask> {
    // Fast paths for the pipeline's own fields (no allocation).
    let mut out = FlowMask::CATCHALL;
    match f {
        Field::Reg(n) => {
            let (i, m) = (usize::from(n & 15), mask as u32);
            k.regs[i] = (k.regs[i] & !m) | (value as u32 & m);
            out.regs[i] = m;
            return Some(out);
        }
        Field::Metadata => {
            let m = mask as u64;
            k.metadata = (k.metadata & !m) | (value as u64 & m);
            out.metadata = m;
            return Some(out);
        }
        Field::InPort => {
            let m = mask as u32;
            k.in_port = (k.in_port & !m) | (value as u32 & m);
            out.in_port = m;
            return Some(out);
        }
        _ => {}
    }
    let w = width_bits(f);
    let ones = if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    };
    let mask = mask & ones;
    let mut m = Match::new();
    m.set(
        f,
        value_of(f, value & mask),
        (mask != ones).then(|| value_of(f, mask)),
    );
    let (vk, vm) = m.to_flow().ok()?;
    let kw = k.words_mut();
    for ((x, v), mm) in kw.iter_mut().zip(vk.words()).zip(vm.words()) {
        *x = (*x & !mm) | (v & mm);
    }
    Some(vm)
}

/// Reads bits `ofs..ofs+n_bits` of `f`.
pub fn read_bits(k: &FlowKey, f: Field, ofs: u16, n_bits: u16) -> Option<u128> {
    let v = read(k, f)?;
    Some((v >> ofs) & bits_mask(n_bits))
}

/// `n` low bits set.
pub fn bits_mask(n: u16) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips() {
        let mut k = FlowKey::ZERO;
        write(&mut k, Field::Reg(3), 0xab, 0xff).unwrap();
        assert_eq!(read(&k, Field::Reg(3)), Some(0xab));
        write(&mut k, Field::MplsLabel, 1000, u128::MAX).unwrap();
        assert_eq!(read(&k, Field::MplsLabel), Some(1000));
        write(&mut k, Field::EthSrc, 0x0102_0304_0506, u128::MAX).unwrap();
        assert_eq!(k.dl_src, [1, 2, 3, 4, 5, 6]);
        let st = storage(Field::Ipv4Dst).unwrap();
        assert_eq!(st.nw_dst, u32::MAX);
        assert_eq!(st.nw_src, 0);
    }

    #[test]
    fn masked_write_keeps_other_bits() {
        let mut k = FlowKey::ZERO;
        k.regs[0] = 0xffff_0000;
        let m = write(&mut k, Field::Reg(0), 0x12, 0xff).unwrap();
        assert_eq!(k.regs[0], 0xffff_0012);
        assert_eq!(m.regs[0], 0xff);
    }
}
