//! [`Instruction`]: OpenFlow 1.1+ instructions.
//!
//! Contract: [`decode_instruction_list`] reads a whole instruction list; a bad
//! instruction length is `BadInstructionBadLen`, an unknown type
//! `BadInstructionUnknownInst`, a repeated type `BadInstructionDupInst`;
//! errors inside action lists are the action errors. Experimenter
//! instructions round-trip as bytes. In OpenFlow 1.0 a flow's actions are
//! represented as a single [`Instruction::ApplyActions`].

use super::Version;
use super::actions::{Action, decode_actions, encode_actions};
use super::error::{EncodeError, ErrorKind};
use super::wire::{Put, Reader};

/// A version-independent instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// Continue at a later table.
    GotoTable(u8),
    /// Write `metadata` under `mask`.
    WriteMetadata {
        /// Value.
        metadata: u64,
        /// Mask.
        mask: u64,
    },
    /// Merge actions into the action set.
    WriteActions(Vec<Action>),
    /// Apply actions now.
    ApplyActions(Vec<Action>),
    /// Clear the action set.
    ClearActions,
    /// Apply a meter (1.3/1.4; 1.5 uses the meter action instead).
    Meter(u32),
    /// An experimenter instruction: id and the bytes after it.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
        /// Body.
        data: Vec<u8>,
    },
}

impl Instruction {
    fn type_code(&self) -> u16 {
        match self {
            Instruction::GotoTable(_) => 1,
            Instruction::WriteMetadata { .. } => 2,
            Instruction::WriteActions(_) => 3,
            Instruction::ApplyActions(_) => 4,
            Instruction::ClearActions => 5,
            Instruction::Meter(_) => 6,
            Instruction::Experimenter { .. } => 0xffff,
        }
    }
}

/// Decodes an instruction list (all of `bytes`).
pub fn decode_instruction_list(
    version: Version,
    bytes: &[u8],
) -> Result<Vec<Instruction>, ErrorKind> {
    decode_instructions(
        version,
        &mut Reader::new(bytes, ErrorKind::BadInstructionBadLen),
    )
}

/// Decodes an instruction list filling all of `r`.
pub(crate) fn decode_instructions(
    version: Version,
    r: &mut Reader<'_>,
) -> Result<Vec<Instruction>, ErrorKind> {
    let mut out: Vec<Instruction> = Vec::new();
    while !r.is_empty() {
        let bad = ErrorKind::BadInstructionBadLen;
        let ty = r.peek_u16(0).map_err(|_| bad)?;
        let len = usize::from(r.peek_u16(2).map_err(|_| bad)?);
        if len < 8 || !len.is_multiple_of(8) || len > r.remaining() {
            return Err(bad);
        }
        let mut b = r.sub(len, bad)?;
        b.skip(4)?;
        let fixed = |n: usize| if len == n { Ok(()) } else { Err(bad) };
        let i = match ty {
            1 => {
                fixed(8)?;
                Instruction::GotoTable(b.u8()?)
            }
            2 => {
                fixed(24)?;
                b.skip(4)?;
                let metadata = b.u64()?;
                Instruction::WriteMetadata {
                    metadata,
                    mask: b.u64()?,
                }
            }
            3 | 4 => {
                b.skip(4)?;
                let mut acts = Reader::new(b.rest(), ErrorKind::BadActionBadLen);
                let a = decode_actions(version, &mut acts)?;
                if ty == 3 {
                    Instruction::WriteActions(a)
                } else {
                    Instruction::ApplyActions(a)
                }
            }
            5 => {
                fixed(8)?;
                Instruction::ClearActions
            }
            6 if version < Version::V1_5 => {
                fixed(8)?;
                Instruction::Meter(b.u32()?)
            }
            0xffff => Instruction::Experimenter {
                experimenter: b.u32()?,
                data: b.rest().to_vec(),
            },
            _ => return Err(ErrorKind::BadInstructionUnknownInst),
        };
        if ty != 0xffff && out.iter().any(|x| x.type_code() == ty) {
            return Err(ErrorKind::BadInstructionDupInst);
        }
        out.push(i);
    }
    Ok(out)
}

/// Encodes an instruction list.
pub fn encode_instructions(
    version: Version,
    insts: &[Instruction],
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    // OpenFlow 1.5 has no meter instruction: the meter becomes the first
    // action of the apply-actions list, as Open vSwitch writes it.
    let merged;
    let insts = match insts
        .iter()
        .position(|i| matches!(i, Instruction::Meter(_)))
    {
        Some(at) if version >= Version::V1_5 => {
            let Instruction::Meter(m) = insts[at] else {
                return Err(EncodeError::NotInVersion("meter"));
            };
            let mut v: Vec<Instruction> = insts
                .iter()
                .filter(|i| !matches!(i, Instruction::Meter(_)))
                .cloned()
                .collect();
            match v.iter_mut().find_map(|i| match i {
                Instruction::ApplyActions(a) => Some(a),
                _ => None,
            }) {
                Some(a) => a.insert(0, Action::Meter(m)),
                None => v.insert(0, Instruction::ApplyActions(vec![Action::Meter(m)])),
            }
            merged = v;
            merged.as_slice()
        }
        _ => insts,
    };
    for i in insts {
        let start = w.len();
        w.put_u16(i.type_code());
        w.put_u16(0);
        match i {
            Instruction::GotoTable(t) => {
                w.put_u8(*t);
                w.put_zeros(3);
            }
            Instruction::WriteMetadata { metadata, mask } => {
                w.put_zeros(4);
                w.put_u64(*metadata);
                w.put_u64(*mask);
            }
            Instruction::WriteActions(a) | Instruction::ApplyActions(a) => {
                w.put_zeros(4);
                encode_actions(version, a, w)?;
            }
            Instruction::ClearActions => w.put_zeros(4),
            Instruction::Meter(m) => {
                if version >= Version::V1_5 {
                    return Err(EncodeError::NotInVersion(
                        "meter instruction in OpenFlow 1.5",
                    ));
                }
                w.put_u32(*m);
            }
            Instruction::Experimenter { experimenter, data } => {
                w.put_u32(*experimenter);
                w.extend_from_slice(data);
                w.pad8_from(start);
            }
        }
        let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
        w.patch_u16(start + 2, len);
    }
    Ok(())
}
