//! Nicira (Open vSwitch) extension messages that `ovs-ofctl` sends over
//! OpenFlow 1.0: NXT_SET_FLOW_FORMAT, NXT_FLOW_MOD (flow mods with an NXM
//! match), NXT_FLOW_MOD_TABLE_ID, NXT_SET_PACKET_IN_FORMAT,
//! NXT_SET_CONTROLLER_ID, NXT_ROLE_REQUEST/REPLY, NXT_PACKET_IN2 (what a
//! switch sends `ovs-ofctl monitor`, which asks for it), NXT_GROUP_MOD, and
//! the NXST_FLOW, NXST_AGGREGATE and NXST_GROUP_DESC statistics bodies.
//!
//! Contract:
//! * These messages are VENDOR/EXPERIMENTER messages with the Nicira id
//!   `0x2320` and a 32-bit subtype. [`Message`](super::Message) decodes the
//!   subtypes listed here into [`NxMessage`]; every other subtype stays a
//!   [`Experimenter`](super::Experimenter) message with its bytes.
//! * An NXM match is the OXM TLV list with NXM headers (no `ofp_match`
//!   header), `match_len` bytes long and padded to 8. `NXM_NX_COOKIE(_W)` in
//!   the match is the cookie filter of a modify/delete: it is carried in
//!   [`FlowMod::cookie`]/[`FlowMod::cookie_mask`] (and in the flow-stats
//!   request's cookie fields) and re-encoded as the last TLV. The fixed
//!   cookie field of NXT_FLOW_MOD is [`NxFlowMod::new_cookie`] (for an add,
//!   the flow's cookie; for a modify, the new cookie or all-ones for "keep").
//! * NXT_PACKET_IN2 is a list of properties (`type:16 len:16 value`, each
//!   padded to 8): packet, full length, buffer id, table id, cookie, reason,
//!   metadata (OXM TLVs), userdata, continuation. [`NxPacketIn2`] holds them
//!   as options and encodes them in that order (Open vSwitch's); a property
//!   shorter than its header, past the end, or of the wrong size for its
//!   type is `BadPropertyBadLen`; unknown properties are kept as bytes.
//! * Errors: a truncated fixed part is `BadRequestBadLen`; a `match_len`
//!   past the end is `BadMatchBadLen`; TLV errors are the match errors;
//!   action errors are the action errors. Nothing panics.

use super::Version;
use super::actions::{decode_actions, encode_actions};
use super::error::{EncodeError, ErrorKind, NX_VENDOR_ID};
use super::group::GroupMod;
use super::matching::Match;
use super::messages::{FlowMod, FlowModCommand, of10_actions, of10_instructions};
use super::multipart::{AggregateStats, FlowStats, FlowStatsRequest};
use super::oxm;
use super::port::{of10_port, port_from_of10};
use super::wire::{Put, Reader, round8};

/// Nicira message subtypes.
pub mod subtypes {
    /// NXT_ROLE_REQUEST.
    pub const ROLE_REQUEST: u32 = 10;
    /// NXT_ROLE_REPLY.
    pub const ROLE_REPLY: u32 = 11;
    /// NXT_SET_FLOW_FORMAT.
    pub const SET_FLOW_FORMAT: u32 = 12;
    /// NXT_FLOW_MOD.
    pub const FLOW_MOD: u32 = 13;
    /// NXT_FLOW_MOD_TABLE_ID.
    pub const FLOW_MOD_TABLE_ID: u32 = 15;
    /// NXT_SET_PACKET_IN_FORMAT.
    pub const SET_PACKET_IN_FORMAT: u32 = 16;
    /// NXT_SET_CONTROLLER_ID.
    pub const SET_CONTROLLER_ID: u32 = 20;
    /// NXT_PACKET_IN2.
    pub const PACKET_IN2: u32 = 30;
    /// NXT_GROUP_MOD.
    pub const GROUP_MOD: u32 = 31;
    /// NXST_GROUP_DESC (statistics subtype).
    pub const ST_GROUP_DESC: u32 = 8;
    /// NXST_FLOW (statistics subtype).
    pub const ST_FLOW: u32 = 0;
    /// NXST_AGGREGATE (statistics subtype).
    pub const ST_AGGREGATE: u32 = 1;
}

/// Flow formats of NXT_SET_FLOW_FORMAT.
pub mod flow_formats {
    /// OpenFlow 1.0 `ofp_match`.
    pub const OPENFLOW10: u32 = 0;
    /// NXM.
    pub const NXM: u32 = 2;
}

/// Nicira roles (NXT_ROLE_REQUEST).
pub mod nx_roles {
    /// Other (equal).
    pub const OTHER: u32 = 0;
    /// Master.
    pub const MASTER: u32 = 1;
    /// Slave.
    pub const SLAVE: u32 = 2;
}

/// NXT_FLOW_MOD: a flow mod with an NXM match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NxFlowMod {
    /// The flow mod (`table_id` from the command's upper byte, as with
    /// NXT_FLOW_MOD_TABLE_ID; `cookie`/`cookie_mask` from `NXM_NX_COOKIE`).
    pub flow_mod: FlowMod,
    /// The fixed cookie field.
    pub new_cookie: u64,
}

/// A Nicira extension message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NxMessage {
    /// Choose the match format (see [`flow_formats`]).
    SetFlowFormat(u32),
    /// A flow mod with an NXM match.
    FlowMod(NxFlowMod),
    /// Enable the table id in the flow-mod command's upper byte.
    FlowModTableId(bool),
    /// Choose the packet-in format (0 OpenFlow, 1 NXT_PACKET_IN, 2
    /// NXT_PACKET_IN2).
    SetPacketInFormat(u32),
    /// Set this connection's controller id.
    SetControllerId(u16),
    /// Nicira role request ([`nx_roles`]).
    RoleRequest(u32),
    /// Nicira role reply.
    RoleReply(u32),
    /// A packet-in in the NXT_PACKET_IN2 format.
    PacketIn2(NxPacketIn2),
    /// Groups over OpenFlow 1.0: the 1.5 GROUP_MOD layout with the
    /// connection's actions.
    GroupMod(GroupMod),
}

/// NXT_PACKET_IN2 body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NxPacketIn2 {
    /// The (possibly truncated) frame.
    pub packet: Vec<u8>,
    /// Length of the whole frame, when the packet is truncated.
    pub full_len: Option<u32>,
    /// Buffer id, when buffered.
    pub buffer_id: Option<u32>,
    /// Table of the flow that sent it.
    pub table_id: Option<u8>,
    /// Cookie of that flow.
    pub cookie: Option<u64>,
    /// `OFPR_*` reason.
    pub reason: Option<u8>,
    /// Pipeline fields (`in_port`, registers, ...).
    pub metadata: Option<Match>,
    /// The `controller(userdata=...)` bytes.
    pub userdata: Option<Vec<u8>>,
    /// Opaque continuation for NXT_RESUME.
    pub continuation: Option<Vec<u8>>,
    /// Other properties, as bytes (each with its header and padding).
    pub other: Vec<u8>,
}

mod pin2 {
    pub const PACKET: u16 = 0;
    pub const FULL_LEN: u16 = 1;
    pub const BUFFER_ID: u16 = 2;
    pub const TABLE_ID: u16 = 3;
    pub const COOKIE: u16 = 4;
    pub const REASON: u16 = 5;
    pub const METADATA: u16 = 6;
    pub const USERDATA: u16 = 7;
    pub const CONTINUATION: u16 = 8;
}

impl NxPacketIn2 {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<NxPacketIn2, ErrorKind> {
        let bad = ErrorKind::BadPropertyBadLen;
        let mut p = NxPacketIn2::default();
        while !r.is_empty() {
            let ty = r.peek_u16(0).map_err(|_| bad)?;
            let len = usize::from(r.peek_u16(2).map_err(|_| bad)?);
            if len < 4 || len > r.remaining() {
                return Err(bad);
            }
            let whole = r.rest();
            let mut v = r.sub(len, bad)?;
            v.skip(4)?;
            let pad = (round8(len) - len).min(r.remaining());
            r.skip(pad)?;
            let n = len - 4;
            let want = |k: usize| if n == k { Ok(()) } else { Err(bad) };
            match ty {
                pin2::PACKET => p.packet = v.rest().to_vec(),
                pin2::FULL_LEN => {
                    want(4)?;
                    p.full_len = Some(v.u32()?);
                }
                pin2::BUFFER_ID => {
                    want(4)?;
                    p.buffer_id = Some(v.u32()?);
                }
                pin2::TABLE_ID => {
                    want(1)?;
                    p.table_id = Some(v.u8()?);
                }
                pin2::COOKIE => {
                    // The value is 8-aligned: 4 bytes of padding first.
                    want(12)?;
                    v.skip(4)?;
                    p.cookie = Some(v.u64()?);
                }
                pin2::REASON => {
                    want(1)?;
                    p.reason = Some(v.u8()?);
                }
                pin2::METADATA => p.metadata = Some(Match::decode_oxm_fields(&mut v)?),
                pin2::USERDATA => p.userdata = Some(v.rest().to_vec()),
                pin2::CONTINUATION => p.continuation = Some(v.rest().to_vec()),
                _ => p.other.extend_from_slice(&whole[..len + pad]),
            }
        }
        Ok(p)
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
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
        prop(w, pin2::PACKET, |w| w.extend_from_slice(&self.packet))?;
        if let Some(x) = self.full_len {
            prop(w, pin2::FULL_LEN, |w| w.put_u32(x))?;
        }
        if let Some(x) = self.buffer_id {
            prop(w, pin2::BUFFER_ID, |w| w.put_u32(x))?;
        }
        if let Some(x) = self.table_id {
            prop(w, pin2::TABLE_ID, |w| w.put_u8(x))?;
        }
        if let Some(x) = self.cookie {
            prop(w, pin2::COOKIE, |w| {
                w.put_u32(0);
                w.put_u64(x);
            })?;
        }
        if let Some(x) = self.reason {
            prop(w, pin2::REASON, |w| w.put_u8(x))?;
        }
        if let Some(m) = &self.metadata {
            prop(w, pin2::METADATA, |w| m.encode_oxm_fields(Version::V1_5, w))?;
        }
        if let Some(u) = &self.userdata {
            prop(w, pin2::USERDATA, |w| w.extend_from_slice(u))?;
        }
        if let Some(c) = &self.continuation {
            prop(w, pin2::CONTINUATION, |w| w.extend_from_slice(c))?;
        }
        w.extend_from_slice(&self.other);
        Ok(())
    }
}

const COOKIE: u32 = 0x0001_3c08;
const COOKIE_W: u32 = 0x0001_3d10;

/// Decodes an NXM match of `match_len` bytes plus padding from `r`,
/// pulling out a cookie TLV.
fn decode_nxm(
    r: &mut Reader<'_>,
    match_len: usize,
) -> Result<(Match, Option<(u64, u64)>), ErrorKind> {
    let padded = round8(match_len);
    if padded > r.remaining() {
        return Err(ErrorKind::BadMatchBadLen);
    }
    let mut body = r.sub(match_len, ErrorKind::BadMatchBadLen)?;
    r.skip(padded - match_len)?;
    let mut m = Match::new();
    let mut cookie = None;
    while !body.is_empty() {
        let h = body
            .peek_u16(0)
            .map(u32::from)
            .map_err(|_| ErrorKind::BadMatchBadLen)?
            << 16
            | body
                .peek_u16(2)
                .map(u32::from)
                .map_err(|_| ErrorKind::BadMatchBadLen)?;
        if h == COOKIE || h == COOKIE_W {
            if cookie.is_some() {
                return Err(ErrorKind::BadMatchDupField);
            }
            body.skip(4)?;
            let v = body.u64()?;
            let mask = if h == COOKIE_W { body.u64()? } else { u64::MAX };
            cookie = Some((v, mask));
            continue;
        }
        let (f, value, mask) = oxm::decode_entry(&mut body)?;
        if m.get(f).is_some() {
            return Err(ErrorKind::BadMatchDupField);
        }
        m.set(f, value, mask);
    }
    m.check_prereqs()?;
    Ok((m, cookie))
}

/// Writes an NXM match (TLVs, then the cookie if `cookie_mask != 0`) and
/// returns its unpadded length; pads to 8.
fn encode_nxm(m: &Match, cookie: u64, cookie_mask: u64, w: &mut Vec<u8>) -> usize {
    let start = w.len();
    m.encode_oxm_fields(Version::V1_0, w);
    if cookie_mask == u64::MAX {
        w.put_u32(COOKIE);
        w.put_u64(cookie);
    } else if cookie_mask != 0 {
        w.put_u32(COOKIE_W);
        w.put_u64(cookie);
        w.put_u64(cookie_mask);
    }
    let len = w.len() - start;
    w.pad8_from(start);
    len
}

fn match_len(n: usize) -> Result<u16, EncodeError> {
    u16::try_from(n).map_err(|_| EncodeError::TooLong)
}

impl NxMessage {
    /// True for the subtypes decoded into [`NxMessage`].
    pub fn is_modelled(subtype: u32) -> bool {
        use subtypes::*;
        matches!(
            subtype,
            ROLE_REQUEST
                | ROLE_REPLY
                | SET_FLOW_FORMAT
                | FLOW_MOD
                | FLOW_MOD_TABLE_ID
                | SET_PACKET_IN_FORMAT
                | SET_CONTROLLER_ID
                | PACKET_IN2
                | GROUP_MOD
        )
    }

    /// The subtype.
    pub fn subtype(&self) -> u32 {
        use subtypes::*;
        match self {
            NxMessage::SetFlowFormat(_) => SET_FLOW_FORMAT,
            NxMessage::FlowMod(_) => FLOW_MOD,
            NxMessage::FlowModTableId(_) => FLOW_MOD_TABLE_ID,
            NxMessage::SetPacketInFormat(_) => SET_PACKET_IN_FORMAT,
            NxMessage::SetControllerId(_) => SET_CONTROLLER_ID,
            NxMessage::RoleRequest(_) => ROLE_REQUEST,
            NxMessage::RoleReply(_) => ROLE_REPLY,
            NxMessage::PacketIn2(_) => PACKET_IN2,
            NxMessage::GroupMod(_) => GROUP_MOD,
        }
    }

    /// Decodes the body after the subtype.
    pub(crate) fn decode(
        version: Version,
        subtype: u32,
        r: &mut Reader<'_>,
    ) -> Result<NxMessage, ErrorKind> {
        use subtypes::*;
        Ok(match subtype {
            SET_FLOW_FORMAT => NxMessage::SetFlowFormat(r.u32()?),
            SET_PACKET_IN_FORMAT => NxMessage::SetPacketInFormat(r.u32()?),
            ROLE_REQUEST => NxMessage::RoleRequest(r.u32()?),
            ROLE_REPLY => NxMessage::RoleReply(r.u32()?),
            FLOW_MOD_TABLE_ID => {
                let set = r.u8()?;
                r.skip(7)?;
                NxMessage::FlowModTableId(set != 0)
            }
            SET_CONTROLLER_ID => {
                r.skip(6)?;
                NxMessage::SetControllerId(r.u16()?)
            }
            FLOW_MOD => NxMessage::FlowMod(decode_nx_flow_mod(version, r)?),
            PACKET_IN2 => NxMessage::PacketIn2(NxPacketIn2::decode(r)?),
            GROUP_MOD => NxMessage::GroupMod(GroupMod::decode_nx(version, r)?),
            _ => return Err(ErrorKind::BadRequestBadSubtype),
        })
    }

    /// Encodes the body after the subtype.
    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            NxMessage::SetFlowFormat(v)
            | NxMessage::SetPacketInFormat(v)
            | NxMessage::RoleRequest(v)
            | NxMessage::RoleReply(v) => w.put_u32(*v),
            NxMessage::FlowModTableId(set) => {
                w.put_u8(u8::from(*set));
                w.put_zeros(7);
            }
            NxMessage::SetControllerId(id) => {
                w.put_zeros(6);
                w.put_u16(*id);
            }
            NxMessage::FlowMod(f) => encode_nx_flow_mod(version, f, w)?,
            NxMessage::PacketIn2(p) => p.encode(w)?,
            NxMessage::GroupMod(g) => g.encode_nx(version, w)?,
        }
        Ok(())
    }
}

fn decode_nx_flow_mod(version: Version, r: &mut Reader<'_>) -> Result<NxFlowMod, ErrorKind> {
    let new_cookie = r.u64()?;
    let cmd = r.u16()?;
    let mut f = FlowMod::new(FlowModCommand::Add);
    f.command = FlowModCommand::from_wire(cmd as u8)?;
    f.table_id = (cmd >> 8) as u8;
    f.idle_timeout = r.u16()?;
    f.hard_timeout = r.u16()?;
    f.priority = r.u16()?;
    f.buffer_id = r.u32()?;
    f.out_port = port_from_of10(r.u16()?);
    f.flags = super::messages::flags_from_wire(Version::V1_0, r.u16()?)?;
    let mlen = usize::from(r.u16()?);
    r.skip(6)?;
    let (m, cookie) = decode_nxm(r, mlen)?;
    f.match_ = m;
    match cookie {
        Some((c, mask)) => {
            f.cookie = c;
            f.cookie_mask = mask;
        }
        None => f.cookie = new_cookie,
    }
    let mut a = Reader::new(r.rest(), ErrorKind::BadActionBadLen);
    f.instructions = of10_instructions(decode_actions(version, &mut a)?);
    Ok(NxFlowMod {
        flow_mod: f,
        new_cookie,
    })
}

fn encode_nx_flow_mod(version: Version, n: &NxFlowMod, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    let f = &n.flow_mod;
    w.put_u64(n.new_cookie);
    w.put_u16(u16::from(f.command.wire()) | u16::from(f.table_id) << 8);
    w.put_u16(f.idle_timeout);
    w.put_u16(f.hard_timeout);
    w.put_u16(f.priority);
    w.put_u32(f.buffer_id);
    w.put_u16(of10_port(f.out_port)?);
    w.put_u16(super::messages::flags_to_wire(Version::V1_0, f.flags)?);
    let len_at = w.len();
    w.put_u16(0);
    w.put_zeros(6);
    let mlen = encode_nxm(&f.match_, f.cookie, f.cookie_mask, w);
    w.patch_u16(len_at, match_len(mlen)?);
    encode_actions(version, of10_actions(&f.instructions)?, w)
}

/// NXST_FLOW / NXST_AGGREGATE request body (after the Nicira statistics
/// header): out_port, match_len, table_id, NXM match.
pub(crate) fn decode_flow_stats_request(r: &mut Reader<'_>) -> Result<FlowStatsRequest, ErrorKind> {
    let mut q = FlowStatsRequest {
        out_port: port_from_of10(r.u16()?),
        ..FlowStatsRequest::default()
    };
    let mlen = usize::from(r.u16()?);
    q.table_id = r.u8()?;
    r.skip(3)?;
    let (m, cookie) = decode_nxm(r, mlen)?;
    q.match_ = m;
    if let Some((c, mask)) = cookie {
        q.cookie = c;
        q.cookie_mask = mask;
    }
    Ok(q)
}

pub(crate) fn encode_flow_stats_request(
    q: &FlowStatsRequest,
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    w.put_u16(of10_port(q.out_port)?);
    let len_at = w.len();
    w.put_u16(0);
    w.put_u8(q.table_id);
    w.put_zeros(3);
    let mlen = encode_nxm(&q.match_, q.cookie, q.cookie_mask, w);
    w.patch_u16(len_at, match_len(mlen)?);
    Ok(())
}

/// One NXST_FLOW reply entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NxFlowStats {
    /// The standard statistics (`flags` unused).
    pub stats: FlowStats,
    /// Seconds since the flow last matched, plus one (0 = unknown).
    pub idle_age: u16,
    /// Seconds since the flow was last modified, plus one (0 = unknown).
    pub hard_age: u16,
}

pub(crate) fn decode_nx_flow_stats(
    version: Version,
    r: &mut Reader<'_>,
) -> Result<NxFlowStats, ErrorKind> {
    let len = usize::from(r.peek_u16(0)?);
    if len < 48 || len > r.remaining() {
        return Err(ErrorKind::BadRequestBadLen);
    }
    let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
    e.skip(2)?;
    let table_id = e.u8()?;
    e.skip(1)?;
    let duration_sec = e.u32()?;
    let duration_nsec = e.u32()?;
    let priority = e.u16()?;
    let idle_timeout = e.u16()?;
    let hard_timeout = e.u16()?;
    let mlen = usize::from(e.u16()?);
    let idle_age = e.u16()?;
    let hard_age = e.u16()?;
    let cookie = e.u64()?;
    let packet_count = e.u64()?;
    let byte_count = e.u64()?;
    let (match_, _) = decode_nxm(&mut e, mlen)?;
    let mut a = Reader::new(e.rest(), ErrorKind::BadActionBadLen);
    let instructions = of10_instructions(decode_actions(version, &mut a)?);
    Ok(NxFlowStats {
        stats: FlowStats {
            table_id,
            duration_sec,
            duration_nsec,
            priority,
            idle_timeout,
            hard_timeout,
            flags: 0,
            cookie,
            packet_count,
            byte_count,
            match_,
            instructions,
        },
        idle_age,
        hard_age,
    })
}

pub(crate) fn encode_nx_flow_stats(
    version: Version,
    n: &NxFlowStats,
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let s = &n.stats;
    let start = w.len();
    w.put_u16(0);
    w.put_u8(s.table_id);
    w.put_u8(0);
    w.put_u32(s.duration_sec);
    w.put_u32(s.duration_nsec);
    w.put_u16(s.priority);
    w.put_u16(s.idle_timeout);
    w.put_u16(s.hard_timeout);
    let mlen_at = w.len();
    w.put_u16(0);
    w.put_u16(n.idle_age);
    w.put_u16(n.hard_age);
    w.put_u64(s.cookie);
    w.put_u64(s.packet_count);
    w.put_u64(s.byte_count);
    let mlen = encode_nxm(&s.match_, 0, 0, w);
    w.patch_u16(mlen_at, match_len(mlen)?);
    encode_actions(version, of10_actions(&s.instructions)?, w)?;
    let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
    w.patch_u16(start, len);
    Ok(())
}

pub(crate) fn decode_nx_aggregate(r: &mut Reader<'_>) -> Result<AggregateStats, ErrorKind> {
    let a = AggregateStats {
        packet_count: r.u64()?,
        byte_count: r.u64()?,
        flow_count: r.u32()?,
    };
    r.skip(4)?;
    Ok(a)
}

/// The Nicira vendor id, re-exported for statistics bodies.
pub(crate) const VENDOR: u32 = NX_VENDOR_ID;
