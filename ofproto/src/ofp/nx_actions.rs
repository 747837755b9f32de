//! The structured Nicira actions: `ct` (connection tracking, with its
//! nested actions), `nat` and `learn`.
//!
//! Contract:
//! * Wire forms are Open vSwitch's `NXAST_CT` (24-byte fixed part followed
//!   by nested actions), `NXAST_NAT` (16-byte fixed part followed by the
//!   address and port ranges present, padded to 8) and `NXAST_LEARN`
//!   (32-byte fixed part followed by flow-mod specs, zero-padded to 8).
//! * `ct` nests one level only: a `ct` action inside a `ct` action's nested
//!   list is `BadActionBadArgument`. Nested lists (`ct`, `clone`) deeper
//!   than 8 are also `BadActionBadArgument`, which bounds decoder recursion.
//! * `controller(...)` with properties is [`Controller2`]: max_len,
//!   controller id, reason, userdata, pause, meter id, each optional and
//!   written in that order; a property with the wrong size or past the end
//!   is `BadPropertyBadLen`, an unknown one `BadActionBadArgument`.
//! * A NAT action with both IPv4 and IPv6 ranges, unknown range bits, or a
//!   length that does not match its ranges is `BadActionBadArgument` /
//!   `BadActionBadLen`. A learn spec with the reserved destination type 3 is
//!   `BadActionBadArgument`; a spec that runs past the end is
//!   `BadActionBadLen`; bytes after the last spec must be zero padding.
//! * Decoding then encoding reproduces the bytes Open vSwitch writes.

use super::Version;
use super::actions::{Action, FieldRef, Nest, decode_actions_in, encode_actions};
use super::error::{EncodeError, ErrorKind};
use super::wire::{Put, Reader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `ct` flag: commit the connection.
pub const CT_COMMIT: u16 = 1;
/// `ct` flag: force (commit in the original direction).
pub const CT_FORCE: u16 = 2;
/// `recirc_table` meaning "do not recirculate".
pub const CT_RECIRC_NONE: u8 = 0xff;

/// Where a `ct` action's zone comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtZone {
    /// An immediate zone.
    Imm(u16),
    /// Bits of a field.
    Field(FieldRef),
}

/// Nicira `ct(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ct {
    /// [`CT_COMMIT`], [`CT_FORCE`].
    pub flags: u16,
    /// Zone.
    pub zone: CtZone,
    /// Table to recirculate to, or [`CT_RECIRC_NONE`].
    pub recirc_table: u8,
    /// Application-layer gateway (0 none, 21 ftp, 69 tftp).
    pub alg: u16,
    /// Nested actions (`nat`, then the `exec(...)` actions).
    pub actions: Vec<Action>,
}

/// NAT flag bits.
pub mod nat_flags {
    /// Source NAT.
    pub const SRC: u16 = 1 << 0;
    /// Destination NAT.
    pub const DST: u16 = 1 << 1;
    /// Persistent mapping.
    pub const PERSISTENT: u16 = 1 << 2;
    /// Hash port selection.
    pub const PROTO_HASH: u16 = 1 << 3;
    /// Random port selection.
    pub const PROTO_RANDOM: u16 = 1 << 4;
}

/// Nicira `nat(...)` (inside `ct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nat {
    /// [`nat_flags`].
    pub flags: u16,
    /// First address of the range.
    pub addr_min: Option<IpAddr>,
    /// Last address of the range (same family as `addr_min`).
    pub addr_max: Option<IpAddr>,
    /// First port.
    pub proto_min: Option<u16>,
    /// Last port.
    pub proto_max: Option<u16>,
}

mod range {
    pub const IPV4_MIN: u16 = 1 << 0;
    pub const IPV4_MAX: u16 = 1 << 1;
    pub const IPV6_MIN: u16 = 1 << 2;
    pub const IPV6_MAX: u16 = 1 << 3;
    pub const PROTO_MIN: u16 = 1 << 4;
    pub const PROTO_MAX: u16 = 1 << 5;
}

/// Learn flag bits.
pub mod learn_flags {
    /// Learned flows send FLOW_REMOVED.
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    /// Delete learned flows when the learning flow is deleted.
    pub const DELETE_LEARNED: u16 = 1 << 1;
    /// Write the result to a field (learn2 only).
    pub const WRITE_RESULT: u16 = 1 << 2;
}

/// Where a learn spec's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LearnSrc {
    /// Bits of a field of the packet being processed.
    Field(FieldRef),
    /// A constant, big-endian, `2 * ceil(n_bits / 16)` bytes.
    Immediate(Vec<u8>),
}

/// What a learn spec does in the learned flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnDst {
    /// Match these bits.
    Match(FieldRef),
    /// Load into these bits.
    Load(FieldRef),
    /// Output to the port in the source bits.
    Output,
}

/// One flow-mod spec of `learn`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LearnSpec {
    /// Width in bits.
    pub n_bits: u16,
    /// Source.
    pub src: LearnSrc,
    /// Destination.
    pub dst: LearnDst,
}

/// Nicira `learn(...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learn {
    /// Learned flow idle timeout.
    pub idle_timeout: u16,
    /// Learned flow hard timeout.
    pub hard_timeout: u16,
    /// Learned flow priority.
    pub priority: u16,
    /// Learned flow cookie.
    pub cookie: u64,
    /// [`learn_flags`].
    pub flags: u16,
    /// Table of the learned flow.
    pub table_id: u8,
    /// Idle timeout after TCP FIN/RST.
    pub fin_idle_timeout: u16,
    /// Hard timeout after TCP FIN/RST.
    pub fin_hard_timeout: u16,
    /// Specs.
    pub specs: Vec<LearnSpec>,
}

impl Learn {
    /// A learn action with Open vSwitch's defaults (table 1, priority
    /// 32768, no timeouts, no specs).
    pub fn new() -> Learn {
        Learn {
            idle_timeout: 0,
            hard_timeout: 0,
            priority: 0x8000,
            cookie: 0,
            flags: 0,
            table_id: 1,
            fin_idle_timeout: 0,
            fin_hard_timeout: 0,
            specs: Vec::new(),
        }
    }
}

impl Default for Learn {
    fn default() -> Self {
        Learn::new()
    }
}

fn bad_arg() -> ErrorKind {
    ErrorKind::BadActionBadArgument
}

/// Decodes the body after the subtype of `NXAST_CT` (`len` is the whole
/// action's length).
pub(crate) fn decode_ct(
    version: Version,
    len: usize,
    a: &mut Reader<'_>,
    nested: Nest,
) -> Result<Action, ErrorKind> {
    if nested.in_ct {
        return Err(bad_arg());
    }
    if len < 24 {
        return Err(ErrorKind::BadActionBadLen);
    }
    let flags = a.u16()?;
    let zone_src = a.u32()?;
    let zone_v = a.u16()?;
    let recirc_table = a.u8()?;
    a.skip(3)?;
    let alg = a.u16()?;
    let zone = if zone_src == 0 {
        CtZone::Imm(zone_v)
    } else {
        CtZone::Field(FieldRef::from_ofs_nbits(zone_src, zone_v))
    };
    let actions = decode_actions_in(version, a, nested.inner(true)?)?;
    Ok(Action::Ct(Box::new(Ct {
        flags,
        zone,
        recirc_table,
        alg,
        actions,
    })))
}

pub(crate) fn encode_ct(version: Version, ct: &Ct, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    w.put_u16(ct.flags);
    match ct.zone {
        CtZone::Imm(z) => {
            w.put_u32(0);
            w.put_u16(z);
        }
        CtZone::Field(f) => {
            w.put_u32(f.header);
            w.put_u16(f.ofs_nbits());
        }
    }
    w.put_u8(ct.recirc_table);
    w.put_zeros(3);
    w.put_u16(ct.alg);
    if ct.actions.iter().any(|a| matches!(a, Action::Ct(_))) {
        return Err(EncodeError::NotInVersion("ct nested in ct"));
    }
    encode_actions(version, &ct.actions, w)
}

pub(crate) fn decode_nat(len: usize, a: &mut Reader<'_>) -> Result<Action, ErrorKind> {
    if len < 16 {
        return Err(ErrorKind::BadActionBadLen);
    }
    a.skip(2)?;
    let flags = a.u16()?;
    let present = a.u16()?;
    if present & !0x3f != 0 {
        return Err(bad_arg());
    }
    let v4 = present & (range::IPV4_MIN | range::IPV4_MAX) != 0;
    let v6 = present & (range::IPV6_MIN | range::IPV6_MAX) != 0;
    if v4 && v6 {
        return Err(bad_arg());
    }
    let mut n = Nat {
        flags,
        addr_min: None,
        addr_max: None,
        proto_min: None,
        proto_max: None,
    };
    let mut used = 16;
    if present & range::IPV4_MIN != 0 {
        n.addr_min = Some(IpAddr::V4(Ipv4Addr::from(a.array::<4>()?)));
        used += 4;
    }
    if present & range::IPV4_MAX != 0 {
        n.addr_max = Some(IpAddr::V4(Ipv4Addr::from(a.array::<4>()?)));
        used += 4;
    }
    if present & range::IPV6_MIN != 0 {
        n.addr_min = Some(IpAddr::V6(Ipv6Addr::from(a.array::<16>()?)));
        used += 16;
    }
    if present & range::IPV6_MAX != 0 {
        n.addr_max = Some(IpAddr::V6(Ipv6Addr::from(a.array::<16>()?)));
        used += 16;
    }
    if present & range::PROTO_MIN != 0 {
        n.proto_min = Some(a.u16()?);
        used += 2;
    }
    if present & range::PROTO_MAX != 0 {
        n.proto_max = Some(a.u16()?);
        used += 2;
    }
    if super::wire::round8(used) != len {
        return Err(ErrorKind::BadActionBadLen);
    }
    Ok(Action::Nat(n))
}

pub(crate) fn encode_nat(n: &Nat, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut present = 0u16;
    let mut tail = Vec::new();
    let fam = |a: &Option<IpAddr>| a.map(|x| x.is_ipv4());
    if let (Some(x), Some(y)) = (fam(&n.addr_min), fam(&n.addr_max))
        && x != y
    {
        return Err(EncodeError::NotInVersion("NAT range mixing IPv4 and IPv6"));
    }
    // One family only (checked above): min then max.
    for (a, v4bit, v6bit) in [
        (n.addr_min, range::IPV4_MIN, range::IPV6_MIN),
        (n.addr_max, range::IPV4_MAX, range::IPV6_MAX),
    ] {
        match a {
            Some(IpAddr::V4(x)) => {
                present |= v4bit;
                tail.extend_from_slice(&x.octets());
            }
            Some(IpAddr::V6(x)) => {
                present |= v6bit;
                tail.extend_from_slice(&x.octets());
            }
            None => {}
        }
    }
    if let Some(p) = n.proto_min {
        present |= range::PROTO_MIN;
        tail.put_u16(p);
    }
    if let Some(p) = n.proto_max {
        present |= range::PROTO_MAX;
        tail.put_u16(p);
    }
    w.put_u16(0);
    w.put_u16(n.flags);
    w.put_u16(present);
    w.extend_from_slice(&tail);
    Ok(())
}

pub(crate) fn decode_learn(len: usize, a: &mut Reader<'_>) -> Result<Action, ErrorKind> {
    if len < 32 {
        return Err(ErrorKind::BadActionBadLen);
    }
    let mut l = Learn {
        idle_timeout: a.u16()?,
        hard_timeout: a.u16()?,
        priority: a.u16()?,
        cookie: a.u64()?,
        flags: a.u16()?,
        table_id: a.u8()?,
        ..Learn::new()
    };
    a.skip(1)?;
    l.fin_idle_timeout = a.u16()?;
    l.fin_hard_timeout = a.u16()?;
    while a.remaining() >= 2 {
        let h = a.u16()?;
        if h == 0 {
            break;
        }
        let n_bits = h & 0x3ff;
        let src_imm = h & (1 << 13) != 0;
        let dst_type = (h >> 11) & 3;
        if h >> 14 != 0 || dst_type == 3 || n_bits == 0 {
            return Err(bad_arg());
        }
        let src = if src_imm {
            let n = usize::from(n_bits).div_ceil(16) * 2;
            LearnSrc::Immediate(a.bytes(n)?.to_vec())
        } else {
            let header = a.u32()?;
            LearnSrc::Field(FieldRef {
                header,
                ofs: a.u16()?,
                n_bits,
            })
        };
        let mut dst_ref = || -> Result<FieldRef, ErrorKind> {
            let header = a.u32()?;
            Ok(FieldRef {
                header,
                ofs: a.u16()?,
                n_bits,
            })
        };
        let dst = match dst_type {
            0 => LearnDst::Match(dst_ref()?),
            1 => LearnDst::Load(dst_ref()?),
            _ => LearnDst::Output,
        };
        l.specs.push(LearnSpec { n_bits, src, dst });
    }
    if a.rest().iter().any(|&b| b != 0) {
        return Err(bad_arg());
    }
    Ok(Action::Learn(Box::new(l)))
}

pub(crate) fn encode_learn(l: &Learn, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    w.put_u16(l.idle_timeout);
    w.put_u16(l.hard_timeout);
    w.put_u16(l.priority);
    w.put_u64(l.cookie);
    w.put_u16(l.flags);
    w.put_u8(l.table_id);
    w.put_u8(0);
    w.put_u16(l.fin_idle_timeout);
    w.put_u16(l.fin_hard_timeout);
    for s in &l.specs {
        if s.n_bits == 0 || s.n_bits > 0x3ff {
            return Err(EncodeError::NotInVersion("learn spec width"));
        }
        let mut h = s.n_bits;
        if matches!(s.src, LearnSrc::Immediate(_)) {
            h |= 1 << 13;
        }
        h |= match s.dst {
            LearnDst::Match(_) => 0,
            LearnDst::Load(_) => 1 << 11,
            LearnDst::Output => 2 << 11,
        };
        w.put_u16(h);
        match &s.src {
            LearnSrc::Field(f) => {
                w.put_u32(f.header);
                w.put_u16(f.ofs);
            }
            LearnSrc::Immediate(v) => {
                let n = usize::from(s.n_bits).div_ceil(16) * 2;
                if v.len() != n {
                    return Err(EncodeError::NotInVersion("learn immediate width"));
                }
                w.extend_from_slice(v);
            }
        }
        if let LearnDst::Match(f) | LearnDst::Load(f) = s.dst {
            w.put_u32(f.header);
            w.put_u16(f.ofs);
        }
    }
    Ok(())
}

/// Nicira `controller(...)` in its property form (NXAST_CONTROLLER2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Controller2 {
    /// Bytes of the packet to send (absent: all, 65535).
    pub max_len: Option<u16>,
    /// Controller connection id (absent: 0).
    pub controller_id: Option<u16>,
    /// Packet-in reason (absent: action).
    pub reason: Option<u8>,
    /// Bytes passed to the controller.
    pub userdata: Option<Vec<u8>>,
    /// Pause the pipeline for the controller to resume.
    pub pause: bool,
    /// Meter applied to the packet-ins.
    pub meter_id: Option<u32>,
}

pub(crate) fn decode_controller2(a: &mut Reader<'_>) -> Result<Controller2, ErrorKind> {
    let bad = ErrorKind::BadPropertyBadLen;
    let mut c = Controller2::default();
    while !a.is_empty() {
        let ty = a.peek_u16(0).map_err(|_| bad)?;
        let len = usize::from(a.peek_u16(2).map_err(|_| bad)?);
        if len < 4 || len > a.remaining() {
            return Err(bad);
        }
        let mut p = a.sub(len, bad)?;
        p.skip(4)?;
        let pad = (super::wire::round8(len) - len).min(a.remaining());
        a.skip(pad)?;
        let want = |n: usize| if len - 4 == n { Ok(()) } else { Err(bad) };
        match ty {
            // 16-bit values are written with 2 bytes of padding inside the
            // property (length 8), as Open vSwitch does; 6 is accepted too.
            0 => {
                want(2).or_else(|_| want(4))?;
                c.max_len = Some(p.u16()?);
            }
            1 => {
                want(2).or_else(|_| want(4))?;
                c.controller_id = Some(p.u16()?);
            }
            2 => {
                want(1)?;
                c.reason = Some(p.u8()?);
            }
            3 => c.userdata = Some(p.rest().to_vec()),
            4 => {
                want(0)?;
                c.pause = true;
            }
            5 => {
                want(4)?;
                c.meter_id = Some(p.u32()?);
            }
            _ => return Err(bad_arg()),
        }
    }
    Ok(c)
}

pub(crate) fn encode_controller2(c: &Controller2, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    fn prop(w: &mut Vec<u8>, ty: u16, f: impl FnOnce(&mut Vec<u8>)) -> Result<(), EncodeError> {
        let start = w.len();
        w.put_u16(ty);
        w.put_u16(0);
        f(w);
        let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
        w.patch_u16(start + 2, len);
        w.pad8_from(start);
        Ok(())
    }
    if let Some(x) = c.max_len {
        prop(w, 0, |w| {
            w.put_u16(x);
            w.put_u16(0);
        })?;
    }
    if let Some(x) = c.controller_id {
        prop(w, 1, |w| {
            w.put_u16(x);
            w.put_u16(0);
        })?;
    }
    if let Some(x) = c.reason {
        prop(w, 2, |w| w.put_u8(x))?;
    }
    if let Some(u) = &c.userdata {
        prop(w, 3, |w| w.extend_from_slice(u))?;
    }
    if c.pause {
        prop(w, 4, |_| {})?;
    }
    if let Some(x) = c.meter_id {
        prop(w, 5, |w| w.put_u32(x))?;
    }
    Ok(())
}

/// Nicira `multipath(fields, basis, algorithm, n_links, arg, dst)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Multipath {
    /// Hashed fields (`NX_HASH_FIELDS_*`: 0 eth_src, 1 symmetric_l4,
    /// 2 symmetric_l3l4, 3 symmetric_l3l4+udp, 4 nw_src, 5 nw_dst,
    /// 6 symmetric_l3).
    pub fields: u16,
    /// Hash basis.
    pub basis: u16,
    /// `NX_MP_ALG_*`: 0 modulo_n, 1 hash_threshold, 2 hrw, 3 iter_hash.
    pub algorithm: u16,
    /// Number of links minus one.
    pub max_link: u16,
    /// Algorithm argument (iter_hash).
    pub arg: u32,
    /// Where the link number goes.
    pub dst: FieldRef,
}

pub(crate) fn decode_multipath(a: &mut Reader<'_>) -> Result<Multipath, ErrorKind> {
    let fields = a.u16()?;
    let basis = a.u16()?;
    a.skip(2)?;
    let algorithm = a.u16()?;
    let max_link = a.u16()?;
    let arg = a.u32()?;
    a.skip(2)?;
    let ofs_nbits = a.u16()?;
    let dst = FieldRef::from_ofs_nbits(a.u32()?, ofs_nbits);
    Ok(Multipath {
        fields,
        basis,
        algorithm,
        max_link,
        arg,
        dst,
    })
}

pub(crate) fn encode_multipath(m: &Multipath, w: &mut Vec<u8>) {
    w.put_u16(m.fields);
    w.put_u16(m.basis);
    w.put_u16(0);
    w.put_u16(m.algorithm);
    w.put_u16(m.max_link);
    w.put_u32(m.arg);
    w.put_u16(0);
    w.put_u16(m.dst.ofs_nbits());
    w.put_u32(m.dst.header);
}

/// Nicira `bundle(fields, basis, algorithm, ofport, members:...)` and
/// `bundle_load(..., dst, members:...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bundle {
    /// `NX_BD_ALG_*`: 0 active_backup, 1 hrw.
    pub algorithm: u16,
    /// Hashed fields (as [`Multipath::fields`]).
    pub fields: u16,
    /// Hash basis.
    pub basis: u16,
    /// What members are (`NXM_OF_IN_PORT`'s header: OpenFlow ports).
    pub member_type: u32,
    /// `bundle_load`: where the chosen member goes (else output to it).
    pub dst: Option<FieldRef>,
    /// Member ports (OpenFlow 1.0 numbering on the wire).
    pub members: Vec<u16>,
}

pub(crate) fn decode_bundle(
    len: usize,
    load: bool,
    a: &mut Reader<'_>,
) -> Result<Bundle, ErrorKind> {
    if len < 32 {
        return Err(ErrorKind::BadActionBadLen);
    }
    let algorithm = a.u16()?;
    let fields = a.u16()?;
    let basis = a.u16()?;
    let member_type = a.u32()?;
    let n = usize::from(a.u16()?);
    let ofs_nbits = a.u16()?;
    let dst = a.u32()?;
    a.skip(4)?;
    if super::wire::round8(32 + 2 * n) != len {
        return Err(ErrorKind::BadActionBadLen);
    }
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        members.push(a.u16()?);
    }
    Ok(Bundle {
        algorithm,
        fields,
        basis,
        member_type,
        dst: load.then(|| FieldRef::from_ofs_nbits(dst, ofs_nbits)),
        members,
    })
}

pub(crate) fn encode_bundle(b: &Bundle, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    w.put_u16(b.algorithm);
    w.put_u16(b.fields);
    w.put_u16(b.basis);
    w.put_u32(b.member_type);
    w.put_u16(u16::try_from(b.members.len()).map_err(|_| EncodeError::TooLong)?);
    match b.dst {
        Some(d) => {
            w.put_u16(d.ofs_nbits());
            w.put_u32(d.header);
        }
        None => {
            w.put_u16(0);
            w.put_u32(0);
        }
    }
    w.put_u32(0);
    b.members.iter().for_each(|m| w.put_u16(*m));
    Ok(())
}
