//! The Nicira `learn` action: a flow that adds a flow built from the
//! packet.
//!
//! The wire codec keeps `learn` as an experimenter action (its bytes from
//! the subtype on); [`Learn::decode`] reads them (Open vSwitch's
//! `nx_action_learn` layout: timeouts, priority, cookie, flags, table, then
//! `flow_mod_spec`s until the end or a zero header) and refuses malformed
//! ones with `OFPBAC_BAD_LEN` / `OFPBAC_BAD_ARGUMENT`. This module belongs
//! with the codec once it models `learn`.
//!
//! Contract of [`Learn::build`]: each spec copies `n_bits` bits, from a
//! field of the packet (as the pipeline has changed it) or an immediate
//! value, into the new flow's match (`DST_MATCH`), into a `load` action
//! (`DST_LOAD`), or as the output port (`DST_OUTPUT`); it returns the
//! flow_mod to apply and the key bits it read (the megaflow must include
//! them: a packet differing there would learn a different flow).

use super::fields;
use crate::ofp::actions::{Action, FieldRef};
use crate::ofp::error::ErrorKind;
use crate::ofp::instructions::Instruction;
use crate::ofp::matching::Match;
use crate::ofp::messages::{FlowMod, FlowModCommand};
use crate::ofp::oxm::{Field, Value};
use datapath::flow::{FlowKey, FlowMask};

/// Nicira subtype of `learn`.
pub const NXAST_LEARN: u16 = 16;

/// Where a spec's bits come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearnSrc {
    /// Bits of a field of the packet.
    Field(FieldRef),
    /// An immediate value (low `n_bits` bits).
    Immediate(u128),
}

/// Where a spec's bits go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnDst {
    /// Into the learned flow's match.
    Match(FieldRef),
    /// Into a `load` action of the learned flow.
    Load(FieldRef),
    /// The learned flow outputs to the port these bits hold.
    Output,
}

/// One `flow_mod_spec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnSpec {
    /// Number of bits.
    pub n_bits: u16,
    /// Source.
    pub src: LearnSrc,
    /// Destination.
    pub dst: LearnDst,
}

/// A decoded `learn` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learn {
    /// Idle timeout of the learned flow.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Priority.
    pub priority: u16,
    /// Cookie.
    pub cookie: u64,
    /// Flow-mod flags (Nicira learn flags are ignored).
    pub flags: u16,
    /// Table.
    pub table_id: u8,
    /// Specs.
    pub specs: Vec<LearnSpec>,
}

struct Rd<'a>(&'a [u8]);

impl Rd<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ErrorKind> {
        if self.0.len() < n {
            return Err(ErrorKind::BadActionBadLen);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, ErrorKind> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ErrorKind> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn field_ref(header: u32, ofs: u16, n_bits: u16) -> Result<FieldRef, ErrorKind> {
    let r = FieldRef {
        header,
        ofs,
        n_bits,
    };
    let f = r.field().ok_or(ErrorKind::BadActionBadArgument)?;
    if u32::from(ofs) + u32::from(n_bits) > fields::width_bits(f) || fields::storage(f).is_none() {
        return Err(ErrorKind::BadActionBadArgument);
    }
    Ok(r)
}

impl Learn {
    /// The `learn` behind an action: the codec's typed `learn` (re-read
    /// from its Nicira encoding) or a raw Nicira experimenter action.
    /// `None` when the action is not a `learn`.
    pub fn from_action(a: &crate::ofp::actions::Action) -> Option<Result<Learn, ErrorKind>> {
        use crate::ofp::actions::{Action, encode_actions};
        match a {
            Action::Experimenter { data, .. } => Learn::decode(data),
            Action::Learn(_) => {
                let mut w = Vec::new();
                if encode_actions(crate::ofp::Version::V1_3, std::slice::from_ref(a), &mut w)
                    .is_err()
                {
                    return Some(Err(ErrorKind::BadActionBadArgument));
                }
                // type(2) len(2) vendor(4), then the Nicira subtype.
                Learn::decode(w.get(8..)?)
            }
            _ => None,
        }
    }

    /// Decodes an experimenter action body (from the Nicira subtype on);
    /// `None` when it is not a `learn`.
    pub fn decode(data: &[u8]) -> Option<Result<Learn, ErrorKind>> {
        let mut r = Rd(data);
        if r.u16().ok()? != NXAST_LEARN {
            return None;
        }
        Some(Self::decode_body(r))
    }

    fn decode_body(mut r: Rd<'_>) -> Result<Learn, ErrorKind> {
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        let priority = r.u16()?;
        let c = r.take(8)?;
        let cookie = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let flags = r.u16()?;
        let table_id = r.take(2)?[0];
        r.take(4)?; // fin_idle_timeout, fin_hard_timeout
        let mut specs = Vec::new();
        while r.0.len() >= 2 {
            let h = r.u16()?;
            if h == 0 {
                break;
            }
            let n_bits = h & 0x7ff;
            if n_bits == 0 || h & 0xc000 != 0 {
                return Err(ErrorKind::BadActionBadArgument);
            }
            let src = if h & (1 << 13) != 0 {
                let n = usize::from(n_bits).div_ceil(16) * 2;
                let b = r.take(n)?;
                if n > 16 {
                    return Err(ErrorKind::BadActionBadArgument);
                }
                LearnSrc::Immediate(b.iter().fold(0u128, |a, &x| (a << 8) | u128::from(x)))
            } else {
                let header = r.u32()?;
                let ofs = r.u16()?;
                LearnSrc::Field(field_ref(header, ofs, n_bits)?)
            };
            let dst = match (h >> 11) & 3 {
                0 | 1 => {
                    let header = r.u32()?;
                    let ofs = r.u16()?;
                    let fr = field_ref(header, ofs, n_bits)?;
                    if (h >> 11) & 3 == 0 {
                        LearnDst::Match(fr)
                    } else {
                        LearnDst::Load(fr)
                    }
                }
                2 => LearnDst::Output,
                _ => return Err(ErrorKind::BadActionBadArgument),
            };
            specs.push(LearnSpec { n_bits, src, dst });
        }
        if r.0.iter().any(|&b| b != 0) {
            return Err(ErrorKind::BadActionBadArgument);
        }
        if usize::from(table_id) >= super::table::N_TABLES {
            return Err(ErrorKind::BadActionBadArgument);
        }
        Ok(Learn {
            idle_timeout,
            hard_timeout,
            priority,
            cookie,
            flags,
            table_id,
            specs,
        })
    }

    /// Builds the flow_mod this action adds for packet fields `k`, and the
    /// key bits it read.
    pub fn build(&self, k: &FlowKey) -> (FlowMod, FlowMask) {
        let mut read = FlowMask::CATCHALL;
        let mut fm = FlowMod::new(FlowModCommand::Add);
        fm.table_id = self.table_id;
        fm.priority = self.priority;
        fm.idle_timeout = self.idle_timeout;
        fm.hard_timeout = self.hard_timeout;
        fm.cookie = self.cookie;
        fm.flags = self.flags & 0x1f;
        let mut m: Vec<(Field, u128, u128)> = Vec::new();
        let mut acts = Vec::new();
        for s in &self.specs {
            let bits = fields::bits_mask(s.n_bits);
            let v = match &s.src {
                LearnSrc::Immediate(v) => v & bits,
                LearnSrc::Field(r) => {
                    let Some(f) = r.field() else { continue };
                    if let Some(st) = fields::storage_masked(f, bits << r.ofs) {
                        read.union_with(&st);
                    }
                    fields::read_bits(k, f, r.ofs, s.n_bits).unwrap_or(0)
                }
            };
            match s.dst {
                LearnDst::Match(r) => {
                    let Some(f) = r.field() else { continue };
                    let (val, mask) = (v << r.ofs, bits << r.ofs);
                    match m.iter_mut().find(|e| e.0 == f) {
                        Some(e) => {
                            e.1 = (e.1 & !mask) | val;
                            e.2 |= mask;
                        }
                        None => m.push((f, val, mask)),
                    }
                }
                LearnDst::Load(r) => acts.push(Action::RegLoad {
                    dst: r,
                    value: v as u64,
                }),
                LearnDst::Output => acts.push(Action::Output {
                    port: v as u32,
                    max_len: 0,
                }),
            }
        }
        let mut mt = Match::new();
        for (f, v, mask) in m {
            let w = usize::from(f.info().width.min(16));
            let ones = fields::bits_mask((w * 8) as u16);
            let val = Value::from_bytes(&v.to_be_bytes()[16 - w..]);
            let mk =
                (mask & ones != ones).then(|| Value::from_bytes(&mask.to_be_bytes()[16 - w..]));
            mt.set(f, val, mk);
        }
        fm.match_ = mt;
        if !acts.is_empty() {
            fm.instructions = vec![Instruction::ApplyActions(acts)];
        }
        (fm, read)
    }
}

/// Encodes a `learn` as the codec's experimenter body (for tests and
/// tools until the codec and text syntax model it).
pub fn encode(l: &Learn) -> Vec<u8> {
    let mut w = Vec::new();
    w.extend_from_slice(&NXAST_LEARN.to_be_bytes());
    w.extend_from_slice(&l.idle_timeout.to_be_bytes());
    w.extend_from_slice(&l.hard_timeout.to_be_bytes());
    w.extend_from_slice(&l.priority.to_be_bytes());
    w.extend_from_slice(&l.cookie.to_be_bytes());
    w.extend_from_slice(&l.flags.to_be_bytes());
    w.extend_from_slice(&[l.table_id, 0, 0, 0, 0, 0]);
    for s in &l.specs {
        let mut h = s.n_bits;
        if matches!(s.src, LearnSrc::Immediate(_)) {
            h |= 1 << 13;
        }
        h |= match s.dst {
            LearnDst::Match(_) => 0,
            LearnDst::Load(_) => 1 << 11,
            LearnDst::Output => 2 << 11,
        };
        w.extend_from_slice(&h.to_be_bytes());
        match &s.src {
            LearnSrc::Immediate(v) => {
                let n = usize::from(s.n_bits).div_ceil(16) * 2;
                w.extend_from_slice(&v.to_be_bytes()[16 - n.min(16)..]);
            }
            LearnSrc::Field(r) => {
                w.extend_from_slice(&r.header.to_be_bytes());
                w.extend_from_slice(&r.ofs.to_be_bytes());
            }
        }
        if let LearnDst::Match(r) | LearnDst::Load(r) = s.dst {
            w.extend_from_slice(&r.header.to_be_bytes());
            w.extend_from_slice(&r.ofs.to_be_bytes());
        }
    }
    // The whole action (8-byte header + body) is a multiple of 8 bytes.
    while !(w.len() + 8).is_multiple_of(8) {
        w.push(0);
    }
    w
}
