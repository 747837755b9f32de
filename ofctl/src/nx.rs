//! The few Nicira (Open vSwitch) extension messages `ovs-ofctl` uses with
//! OpenFlow 1.0, encoded and decoded here on top of the codec's NXM match
//! and action support:
//!
//! * `NXT_SET_FLOW_FORMAT` (subtype 12) selecting the NXM flow format;
//! * `NXT_FLOW_MOD_TABLE_ID` (subtype 15), which lets a 1.0 FLOW_MOD carry a
//!   table id in the high byte of its command;
//! * `NXT_FLOW_MOD` (subtype 13), for matches `ofp_match` cannot express;
//! * `NXST_FLOW` / `NXST_AGGREGATE` (vendor statistics 0 and 1) requests and
//!   replies, which carry NXM matches and the idle/hard ages.
//!
//! Contract: the layouts are those of `nicira-ext.h` in Open vSwitch 3.1;
//! decoding never panics on short or malformed input (it returns an
//! error naming what was wrong).

use anyhow::{Result, bail};
use ofproto::ofp::multipart::{AggregateStats, FlowStats, FlowStatsRequest};
use ofproto::ofp::{
    Action, Experimenter, Field, FlowMod, FlowModCommand, Instruction, Match, Message, Version,
    decode_action_list, encode_actions,
};
use ofproto::text::stats::FlowAges;

/// Nicira's vendor id.
pub const NX_VENDOR: u32 = 0x0000_2320;
const NXT_SET_FLOW_FORMAT: u32 = 12;
const NXT_FLOW_MOD: u32 = 13;
const NXT_FLOW_MOD_TABLE_ID: u32 = 15;
const NXFF_NXM: u32 = 2;
const NXST_FLOW: u32 = 0;
const NXST_AGGREGATE: u32 = 1;
const OFPST_VENDOR: u16 = 0xffff;

/// `NXT_SET_FLOW_FORMAT(nxm)`.
pub fn set_flow_format_nxm() -> Message {
    Message::Experimenter(Experimenter {
        experimenter: NX_VENDOR,
        exp_type: NXT_SET_FLOW_FORMAT,
        data: NXFF_NXM.to_be_bytes().to_vec(),
    })
}

/// `NXT_FLOW_MOD_TABLE_ID(enable)`.
pub fn flow_mod_table_id(enable: bool) -> Message {
    let mut data = vec![0u8; 8];
    data[0] = u8::from(enable);
    Message::Experimenter(Experimenter {
        experimenter: NX_VENDOR,
        exp_type: NXT_FLOW_MOD_TABLE_ID,
        data,
    })
}

/// The NXM bytes of `m` (unpadded) via the codec's 1.0 (NXM) OXM writer.
fn nxm_bytes(m: &Match) -> Vec<u8> {
    let mut w = Vec::new();
    // NXM carries the 16-bit NXM_OF_IN_PORT rather than the 32-bit OXM one.
    let converted;
    let m = match m.exact(Field::InPort) {
        Some(p) => {
            let mut c = m.clone();
            c.remove(Field::InPort);
            let p16 = ofproto::ofp::port::port_to_of10(p as u32).unwrap_or(0xffff);
            c.set_u64(Field::NxInPort, u64::from(p16));
            converted = c;
            &converted
        }
        None => m,
    };
    m.encode_oxm(Version::V1_0, &mut w);
    let len = usize::from(u16::from_be_bytes([w[2], w[3]]));
    w[4..len].to_vec()
}

/// Appends `NXM_NX_COOKIE[_W]` (class 1, field 30) when a cookie mask is
/// given: Nicira's way of matching cookies.
fn push_cookie(m: &mut Vec<u8>, cookie: u64, mask: u64) {
    if mask == 0 {
        return;
    }
    let masked = mask != u64::MAX;
    let len: u32 = if masked { 16 } else { 8 };
    let header = (1u32 << 16) | (30 << 9) | (u32::from(masked) << 8) | len;
    m.extend_from_slice(&header.to_be_bytes());
    m.extend_from_slice(&(cookie & mask).to_be_bytes());
    if masked {
        m.extend_from_slice(&mask.to_be_bytes());
    }
}

fn pad8(w: &mut Vec<u8>) {
    while !w.len().is_multiple_of(8) {
        w.push(0);
    }
}

/// Decodes `len` bytes of NXM into a match.
fn decode_nxm(b: &[u8]) -> Result<Match> {
    let mut w = Vec::with_capacity(b.len() + 12);
    w.extend_from_slice(&1u16.to_be_bytes());
    w.extend_from_slice(&((b.len() + 4) as u16).to_be_bytes());
    w.extend_from_slice(b);
    pad8(&mut w);
    let mut m = Match::decode_oxm_bytes(&w)
        .map(|(m, _)| m)
        .map_err(|e| anyhow::anyhow!("bad NXM match in reply ({})", e.name()))?;
    if let Some(p) = m.exact(Field::NxInPort) {
        m.remove(Field::NxInPort);
        m.set_u64(
            Field::InPort,
            u64::from(ofproto::ofp::port::port_from_of10(p as u16)),
        );
    }
    Ok(m)
}

fn actions_of(ins: &[Instruction]) -> Result<&[Action]> {
    match ins {
        [] => Ok(&[]),
        [Instruction::ApplyActions(a)] => Ok(a),
        _ => bail!("instructions other than actions cannot be sent with OpenFlow 1.0"),
    }
}

/// The flow-mod command number (the same in every version).
pub fn command_wire(c: FlowModCommand) -> u16 {
    match c {
        FlowModCommand::Add => 0,
        FlowModCommand::Modify => 1,
        FlowModCommand::ModifyStrict => 2,
        FlowModCommand::Delete => 3,
        FlowModCommand::DeleteStrict => 4,
    }
}

/// `NXT_FLOW_MOD` for `fm` (the table id goes in the command's high byte,
/// which needs [`flow_mod_table_id`] first when nonzero).
pub fn flow_mod(fm: &FlowMod) -> Result<Message> {
    let mut d = Vec::with_capacity(128);
    d.extend_from_slice(&fm.cookie.to_be_bytes());
    let cmd = command_wire(fm.command) | u16::from(fm.table_id) << 8;
    d.extend_from_slice(&cmd.to_be_bytes());
    d.extend_from_slice(&fm.idle_timeout.to_be_bytes());
    d.extend_from_slice(&fm.hard_timeout.to_be_bytes());
    d.extend_from_slice(&fm.priority.to_be_bytes());
    d.extend_from_slice(&fm.buffer_id.to_be_bytes());
    let out = ofproto::ofp::port::port_to_of10(fm.out_port)
        .ok_or_else(|| anyhow::anyhow!("out_port {} has no OpenFlow 1.0 number", fm.out_port))?;
    d.extend_from_slice(&out.to_be_bytes());
    d.extend_from_slice(&(fm.flags & 0x7).to_be_bytes());
    let mut m = nxm_bytes(&fm.match_);
    push_cookie(&mut m, fm.cookie, fm.cookie_mask);
    d.extend_from_slice(&(m.len() as u16).to_be_bytes());
    d.extend_from_slice(&[0; 6]);
    d.extend_from_slice(&m);
    pad8(&mut d);
    encode_actions(Version::V1_0, actions_of(&fm.instructions)?, &mut d)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Message::Experimenter(Experimenter {
        experimenter: NX_VENDOR,
        exp_type: NXT_FLOW_MOD,
        data: d,
    }))
}

/// `NXST_FLOW` (or `NXST_AGGREGATE`) request.
pub fn flow_stats_request(q: &FlowStatsRequest, aggregate: bool) -> Result<Message> {
    let mut b = Vec::new();
    b.extend_from_slice(&NX_VENDOR.to_be_bytes());
    let sub = if aggregate { NXST_AGGREGATE } else { NXST_FLOW };
    b.extend_from_slice(&sub.to_be_bytes());
    b.extend_from_slice(&[0; 4]);
    let out = ofproto::ofp::port::port_to_of10(q.out_port)
        .ok_or_else(|| anyhow::anyhow!("out_port {} has no OpenFlow 1.0 number", q.out_port))?;
    b.extend_from_slice(&out.to_be_bytes());
    let mut m = nxm_bytes(&q.match_);
    push_cookie(&mut m, q.cookie, q.cookie_mask);
    b.extend_from_slice(&(m.len() as u16).to_be_bytes());
    b.push(q.table_id);
    b.extend_from_slice(&[0; 3]);
    b.extend_from_slice(&m);
    // The match is padded to 8 bytes on its own.
    b.resize(b.len() + m.len().div_ceil(8) * 8 - m.len(), 0);
    Ok(Message::MultipartRequest(ofproto::ofp::MultipartRequest {
        flags: 0,
        body: ofproto::ofp::RequestBody::Other {
            ty: OFPST_VENDOR,
            body: b,
        },
    }))
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}
fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes(b[i..i + 4].try_into().unwrap_or_default())
}
fn be64(b: &[u8], i: usize) -> u64 {
    u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or_default())
}

/// The body of an OpenFlow 1.0 vendor stats reply message (`raw` is the
/// whole message) after the Nicira header, if it is Nicira's `subtype`.
fn nx_body(raw: &[u8], subtype: u32) -> Result<&[u8]> {
    // header(8) + type(2) + flags(2) + vendor(4) + subtype(4) + pad(4)
    if raw.len() < 24 || be16(raw, 8) != OFPST_VENDOR || be32(raw, 12) != NX_VENDOR {
        bail!("reply is not a Nicira statistics reply");
    }
    if be32(raw, 16) != subtype {
        bail!("unexpected Nicira statistics subtype {}", be32(raw, 16));
    }
    Ok(&raw[24..])
}

/// Decodes the flows of one `NXST_FLOW` reply message.
pub fn decode_flow_stats_reply(raw: &[u8]) -> Result<Vec<(FlowStats, FlowAges)>> {
    let mut b = nx_body(raw, NXST_FLOW)?;
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 48 {
            bail!("truncated NXST_FLOW entry");
        }
        let len = usize::from(be16(b, 0));
        let match_len = usize::from(be16(b, 18));
        let mlen_padded = match_len.div_ceil(8) * 8;
        if len < 48 + mlen_padded || len > b.len() {
            bail!("bad NXST_FLOW entry length {len}");
        }
        let e = &b[..len];
        let age = |v: u16| (v != 0).then(|| u32::from(v) - 1);
        let match_ = decode_nxm(&e[48..48 + match_len])?;
        let actions = decode_action_list(Version::V1_0, &e[48 + mlen_padded..])
            .map_err(|er| anyhow::anyhow!("bad actions in NXST_FLOW reply ({})", er.name()))?;
        let fs = FlowStats {
            table_id: e[2],
            duration_sec: be32(e, 4),
            duration_nsec: be32(e, 8),
            priority: be16(e, 12),
            idle_timeout: be16(e, 14),
            hard_timeout: be16(e, 16),
            flags: 0,
            cookie: be64(e, 24),
            packet_count: be64(e, 32),
            byte_count: be64(e, 40),
            match_,
            instructions: if actions.is_empty() {
                Vec::new()
            } else {
                vec![Instruction::ApplyActions(actions)]
            },
        };
        out.push((
            fs,
            FlowAges {
                idle_age: age(be16(e, 20)),
                hard_age: age(be16(e, 22)),
            },
        ));
        b = &b[len..];
    }
    Ok(out)
}

/// Decodes an `NXST_AGGREGATE` reply message.
pub fn decode_aggregate_reply(raw: &[u8]) -> Result<AggregateStats> {
    let b = nx_body(raw, NXST_AGGREGATE)?;
    if b.len() < 24 {
        bail!("truncated NXST_AGGREGATE reply");
    }
    Ok(AggregateStats {
        packet_count: be64(b, 0),
        byte_count: be64(b, 8),
        flow_count: be32(b, 16),
    })
}
