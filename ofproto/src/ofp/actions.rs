//! [`Action`]: version-independent actions with the OpenFlow 1.0 and 1.3+
//! action-list codecs, including the Nicira extension actions.
//!
//! Contract:
//! * [`decode_action_list`] reads a whole action list. Every action header is
//!   checked first: a length below 8, not a multiple of 8, or past the end
//!   is `BadActionBadLen`; a known action with the wrong length is also
//!   `BadActionBadLen`; an unknown standard type is `BadActionBadType`. A
//!   SET_FIELD TLV problem maps to `BadActionBadSetType` (unknown field),
//!   `BadActionBadSetLen` (lengths), `BadActionBadSetArgument` (value) or
//!   `BadActionBadSetMask` (a mask before 1.5).
//! * Experimenter actions round-trip: Nicira actions this codec does not
//!   model (learn2, sample, check_pkt_larger, ...) and every
//!   other experimenter's actions are kept as [`Action::Experimenter`] with
//!   their bytes.
//! * [`encode_actions`] writes the version's preferred form (for example
//!   `SetField` becomes OpenFlow 1.0's `SET_DL_SRC` where one exists, else
//!   a Nicira load; `Group` in 1.0 is Nicira `group`). What a version cannot
//!   express is `EncodeError::NotInVersion`. Decoding an encoding and
//!   encoding again gives the same bytes.
//! * No semantic checks against a flow (prerequisites of set-field, port
//!   ranges, register bounds): that is the switch's `check()` step.

use super::Version;
use super::error::{EncodeError, ErrorKind, NX_VENDOR_ID};
use super::matching::MatchEntry;
use super::nx_actions::{self, Ct, Learn, Nat};
use super::oxm::{self, Field, Value};
use super::port::{PortNo, of10_port, port_from_of10};
use super::wire::{Put, Reader, round8};
use core::fmt;

/// A bit range of a field named by its packed NXM/OXM header, as Nicira
/// register actions use (`NXM_NX_REG0[4..7]` is `ofs` 4, `n_bits` 4).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// Packed header (`class:16 field:7 hasmask:1 length:8`).
    pub header: u32,
    /// First bit.
    pub ofs: u16,
    /// Number of bits (1..=64 for loads).
    pub n_bits: u16,
}

impl FieldRef {
    /// The field, if the header is known.
    pub fn field(&self) -> Option<Field> {
        oxm::field_of_header(self.header)
    }

    pub(crate) fn ofs_nbits(&self) -> u16 {
        (self.ofs << 6) | (self.n_bits.saturating_sub(1) & 0x3f)
    }

    pub(crate) fn from_ofs_nbits(header: u32, v: u16) -> FieldRef {
        FieldRef {
            header,
            ofs: v >> 6,
            n_bits: (v & 0x3f) + 1,
        }
    }
}

impl fmt::Debug for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field() {
            Some(x) => write!(f, "{}", x.name())?,
            None => write!(f, "{:#010x}", self.header)?,
        }
        write!(
            f,
            "[{}..{}]",
            self.ofs,
            (u32::from(self.ofs) + u32::from(self.n_bits)).saturating_sub(1)
        )
    }
}

/// A version-independent action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Output to a port; `max_len` bytes to the controller.
    Output {
        /// Port.
        port: PortNo,
        /// Bytes to send to the controller.
        max_len: u16,
    },
    /// Apply a group.
    Group(u32),
    /// Set the queue for output.
    SetQueue(u32),
    /// OpenFlow 1.0 enqueue (set queue and output).
    Enqueue {
        /// Port.
        port: PortNo,
        /// Queue.
        queue: u32,
    },
    /// Set a field (mask only from OpenFlow 1.5 or Nicira `reg_load2`).
    SetField(MatchEntry),
    /// Push a VLAN tag with this TPID.
    PushVlan(u16),
    /// Pop the outer VLAN tag (OpenFlow 1.0 `strip_vlan`).
    PopVlan,
    /// Push an MPLS label stack entry with this EtherType.
    PushMpls(u16),
    /// Pop an MPLS entry; the payload has this EtherType.
    PopMpls(u16),
    /// Set the MPLS TTL.
    SetMplsTtl(u8),
    /// Decrement the MPLS TTL.
    DecMplsTtl,
    /// Push a PBB service tag with this EtherType.
    PushPbb(u16),
    /// Pop the PBB service tag.
    PopPbb,
    /// Set the IP TTL.
    SetNwTtl(u8),
    /// Decrement the IP TTL.
    DecNwTtl,
    /// Copy TTL outwards.
    CopyTtlOut,
    /// Copy TTL inwards.
    CopyTtlIn,
    /// OpenFlow 1.5 meter action.
    Meter(u32),
    /// OpenFlow 1.0 `set_vlan_vid` (sets the VID, adding a tag if needed).
    SetVlanVid(u16),
    /// OpenFlow 1.0 `set_vlan_pcp`.
    SetVlanPcp(u8),
    /// OpenFlow 1.0 `set_tp_src` (TCP or UDP, whichever the packet is).
    SetTpSrc(u16),
    /// OpenFlow 1.0 `set_tp_dst`.
    SetTpDst(u16),
    /// Nicira `resubmit` / `resubmit_table` (`table` None: the 16-byte
    /// `resubmit` form; `Some(255)`: current table).
    Resubmit {
        /// Input port to pretend (IN_PORT = unchanged).
        in_port: PortNo,
        /// Table.
        table: Option<u8>,
    },
    /// Nicira `set_tunnel` (32-bit form when the id fits).
    SetTunnel(u64),
    /// Nicira `pop_queue`.
    PopQueue,
    /// Nicira `reg_load`: `value` into `dst`.
    RegLoad {
        /// Destination bits.
        dst: FieldRef,
        /// Value.
        value: u64,
    },
    /// Nicira `reg_move`: copy `src` bits to `dst` (same `n_bits`).
    RegMove {
        /// Source bits.
        src: FieldRef,
        /// Destination bits.
        dst: FieldRef,
    },
    /// Nicira `note` (payload as on the wire, padding included).
    Note(Vec<u8>),
    /// Nicira `output:reg`.
    OutputReg {
        /// Bits holding the port.
        src: FieldRef,
        /// Bytes to the controller.
        max_len: u16,
    },
    /// Nicira `exit`.
    Exit,
    /// Nicira `dec_ttl(ids...)`.
    DecTtlIds(Vec<u16>),
    /// Nicira `controller(...)` (the 16-byte form).
    NxController {
        /// Bytes to send.
        max_len: u16,
        /// Controller connection id.
        controller_id: u16,
        /// Packet-in reason.
        reason: u8,
    },
    /// Nicira `conjunction(id, clause/n_clauses)` (`clause` 0-based).
    Conjunction {
        /// Conjunction id.
        id: u32,
        /// Clause index (0-based).
        clause: u8,
        /// Number of clauses.
        n_clauses: u8,
    },
    /// Nicira `ct(...)` with its nested actions.
    Ct(Box<Ct>),
    /// Nicira `nat(...)` (meaningful inside `ct`).
    Nat(Nat),
    /// Nicira `ct_clear`.
    CtClear,
    /// Nicira `learn(...)`.
    Learn(Box<Learn>),
    /// Nicira `output(port=P,max_len=N)`: output truncated to `max_len`.
    OutputTrunc {
        /// Port.
        port: PortNo,
        /// Bytes to keep.
        max_len: u32,
    },
    /// Nicira `clone(...)`: run the actions on a copy of the packet.
    Clone(Vec<Action>),
    /// Nicira `multipath(...)`: hash the flow into one of `max_link + 1`
    /// links and store the link number in `dst`.
    Multipath(nx_actions::Multipath),
    /// Nicira `bundle(...)` / `bundle_load(...)`: choose a live member port.
    Bundle(nx_actions::Bundle),
    /// Nicira `controller(...)` with properties (userdata, pause, meter).
    Controller2(nx_actions::Controller2),
    /// An experimenter action kept as bytes (everything after the
    /// experimenter id, padding included). Nicira actions not modelled above
    /// (learn2, sample, check_pkt_larger, ...) appear here with the
    /// subtype in `data[0..2]`.
    Experimenter {
        /// Experimenter (vendor) id.
        experimenter: u32,
        /// Body.
        data: Vec<u8>,
    },
}

// Nicira subtypes.
mod nx {
    pub const RESUBMIT: u16 = 1;
    pub const SET_TUNNEL: u16 = 2;
    pub const SET_QUEUE: u16 = 4;
    pub const POP_QUEUE: u16 = 5;
    pub const REG_MOVE: u16 = 6;
    pub const REG_LOAD: u16 = 7;
    pub const NOTE: u16 = 8;
    pub const SET_TUNNEL64: u16 = 9;
    pub const RESUBMIT_TABLE: u16 = 14;
    pub const OUTPUT_REG: u16 = 15;
    pub const LEARN: u16 = 16;
    pub const EXIT: u16 = 17;
    pub const DEC_TTL: u16 = 18;
    pub const CONTROLLER: u16 = 20;
    pub const DEC_TTL_CNT_IDS: u16 = 21;
    pub const PUSH_MPLS: u16 = 23;
    pub const POP_MPLS: u16 = 24;
    pub const SET_MPLS_TTL: u16 = 25;
    pub const DEC_MPLS_TTL: u16 = 26;
    pub const SET_MPLS_LABEL: u16 = 30;
    pub const SET_MPLS_TC: u16 = 31;
    pub const REG_LOAD2: u16 = 33;
    pub const CONJUNCTION: u16 = 34;
    pub const CT: u16 = 35;
    pub const NAT: u16 = 36;
    pub const MULTIPATH: u16 = 10;
    pub const BUNDLE: u16 = 12;
    pub const BUNDLE_LOAD: u16 = 13;
    pub const CONTROLLER2: u16 = 37;
    pub const OUTPUT_TRUNC: u16 = 39;
    pub const CLONE: u16 = 42;
    pub const CT_CLEAR: u16 = 43;
    pub const GROUP: u16 = 40;
}

const OFPAT_EXPERIMENTER: u16 = 0xffff;

/// Decodes an action list (all of `bytes`).
pub fn decode_action_list(version: Version, bytes: &[u8]) -> Result<Vec<Action>, ErrorKind> {
    decode_actions(version, &mut Reader::new(bytes, ErrorKind::BadActionBadLen))
}

/// Decodes an action list filling all of `r`.
pub(crate) fn decode_actions(
    version: Version,
    r: &mut Reader<'_>,
) -> Result<Vec<Action>, ErrorKind> {
    decode_actions_in(version, r, Nest::TOP)
}

/// Where a nested action list (of `ct` or `clone`) sits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Nest {
    /// Inside a `ct` (where another `ct` is refused).
    pub in_ct: bool,
    /// Nesting depth (0 = a flow's own list).
    pub depth: u8,
}

impl Nest {
    const TOP: Nest = Nest {
        in_ct: false,
        depth: 0,
    };
    /// Deepest nesting accepted (bounds decoder recursion).
    pub const MAX_DEPTH: u8 = 8;

    /// The context of a list nested in this one.
    pub fn inner(self, ct: bool) -> Result<Nest, ErrorKind> {
        if self.depth >= Nest::MAX_DEPTH {
            return Err(ErrorKind::BadActionBadArgument);
        }
        Ok(Nest {
            in_ct: self.in_ct || ct,
            depth: self.depth + 1,
        })
    }
}

/// Decodes a (possibly nested) action list filling all of `r`.
pub(crate) fn decode_actions_in(
    version: Version,
    r: &mut Reader<'_>,
    nested: Nest,
) -> Result<Vec<Action>, ErrorKind> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let ty = r.peek_u16(0).map_err(|_| ErrorKind::BadActionBadLen)?;
        let len = usize::from(r.peek_u16(2).map_err(|_| ErrorKind::BadActionBadLen)?);
        if len < 8 || !len.is_multiple_of(8) || len > r.remaining() {
            return Err(ErrorKind::BadActionBadLen);
        }
        let mut a = r.sub(len, ErrorKind::BadActionBadLen)?;
        a.skip(4)?;
        out.push(decode_one(version, ty, len, &mut a, nested)?);
    }
    Ok(out)
}

fn want(len: usize, expect: usize) -> Result<(), ErrorKind> {
    if len == expect {
        Ok(())
    } else {
        Err(ErrorKind::BadActionBadLen)
    }
}

fn decode_one(
    version: Version,
    ty: u16,
    len: usize,
    a: &mut Reader<'_>,
    nested: Nest,
) -> Result<Action, ErrorKind> {
    if ty == OFPAT_EXPERIMENTER {
        let experimenter = a.u32()?;
        if experimenter == NX_VENDOR_ID {
            return decode_nx(version, len, a, nested);
        }
        return Ok(Action::Experimenter {
            experimenter,
            data: a.rest().to_vec(),
        });
    }
    if version == Version::V1_0 {
        return decode_of10(ty, len, a);
    }
    Ok(match ty {
        0 => {
            want(len, 16)?;
            let port = a.u32()?;
            Action::Output {
                port,
                max_len: a.u16()?,
            }
        }
        11 | 12 | 16 | 18 | 24 | 27 => {
            want(len, 8)?;
            match ty {
                11 => Action::CopyTtlOut,
                12 => Action::CopyTtlIn,
                16 => Action::DecMplsTtl,
                18 => Action::PopVlan,
                24 => Action::DecNwTtl,
                _ => Action::PopPbb,
            }
        }
        15 | 23 => {
            want(len, 8)?;
            let ttl = a.u8()?;
            if ty == 15 {
                Action::SetMplsTtl(ttl)
            } else {
                Action::SetNwTtl(ttl)
            }
        }
        17 | 19 | 20 | 26 => {
            want(len, 8)?;
            let e = a.u16()?;
            match ty {
                17 => Action::PushVlan(e),
                19 => Action::PushMpls(e),
                20 => Action::PopMpls(e),
                _ => Action::PushPbb(e),
            }
        }
        21 | 22 => {
            want(len, 8)?;
            let v = a.u32()?;
            if ty == 21 {
                Action::SetQueue(v)
            } else {
                Action::Group(v)
            }
        }
        29 if version >= Version::V1_5 => {
            want(len, 8)?;
            Action::Meter(a.u32()?)
        }
        25 => {
            let (f, value, mask) = oxm::decode_entry(a).map_err(set_field_error)?;
            if mask.is_some() && version < Version::V1_5 {
                return Err(ErrorKind::BadActionBadSetMask);
            }
            if round8(len - a.remaining()) != len {
                return Err(ErrorKind::BadActionBadSetLen);
            }
            Action::SetField(MatchEntry {
                field: f,
                value,
                mask,
            })
        }
        _ => return Err(ErrorKind::BadActionBadType),
    })
}

fn set_field_error(e: ErrorKind) -> ErrorKind {
    match e {
        ErrorKind::BadMatchBadField => ErrorKind::BadActionBadSetType,
        ErrorKind::BadMatchBadLen => ErrorKind::BadActionBadSetLen,
        ErrorKind::BadMatchBadMask => ErrorKind::BadActionBadSetMask,
        _ => ErrorKind::BadActionBadSetArgument,
    }
}

fn set_field_u64(f: Field, v: u64) -> Action {
    Action::SetField(MatchEntry {
        field: f,
        value: Value::from_u64(f.info().width, v),
        mask: None,
    })
}

fn decode_of10(ty: u16, len: usize, a: &mut Reader<'_>) -> Result<Action, ErrorKind> {
    let fixed = |n| want(len, n);
    Ok(match ty {
        0 => {
            fixed(8)?;
            let port = port_from_of10(a.u16()?);
            Action::Output {
                port,
                max_len: a.u16()?,
            }
        }
        1 => {
            fixed(8)?;
            Action::SetVlanVid(a.u16()? & 0xfff)
        }
        2 => {
            fixed(8)?;
            Action::SetVlanPcp(a.u8()? & 7)
        }
        3 => {
            fixed(8)?;
            Action::PopVlan
        }
        4 | 5 => {
            fixed(16)?;
            let mac = a.bytes(6)?;
            let f = if ty == 4 {
                Field::EthSrc
            } else {
                Field::EthDst
            };
            Action::SetField(MatchEntry {
                field: f,
                value: Value::from_bytes(mac),
                mask: None,
            })
        }
        6 | 7 => {
            fixed(8)?;
            let f = if ty == 6 {
                Field::Ipv4Src
            } else {
                Field::Ipv4Dst
            };
            set_field_u64(f, u64::from(a.u32()?))
        }
        8 => {
            fixed(8)?;
            set_field_u64(Field::IpDscp, u64::from(a.u8()? >> 2))
        }
        9 | 10 => {
            fixed(8)?;
            let p = a.u16()?;
            if ty == 9 {
                Action::SetTpSrc(p)
            } else {
                Action::SetTpDst(p)
            }
        }
        11 => {
            fixed(16)?;
            let port = port_from_of10(a.u16()?);
            a.skip(6)?;
            Action::Enqueue {
                port,
                queue: a.u32()?,
            }
        }
        _ => return Err(ErrorKind::BadActionBadType),
    })
}

fn decode_nx(
    version: Version,
    len: usize,
    a: &mut Reader<'_>,
    nested: Nest,
) -> Result<Action, ErrorKind> {
    let sub = a.peek_u16(0)?;
    let body_start = a.clone();
    a.skip(2)?;
    let fixed = |n| want(len, n);
    Ok(match sub {
        nx::RESUBMIT | nx::RESUBMIT_TABLE => {
            fixed(16)?;
            let in_port = port_from_of10(a.u16()?);
            let table = if sub == nx::RESUBMIT_TABLE {
                Some(a.u8()?)
            } else {
                None
            };
            Action::Resubmit { in_port, table }
        }
        nx::SET_TUNNEL => {
            fixed(16)?;
            a.skip(2)?;
            Action::SetTunnel(u64::from(a.u32()?))
        }
        nx::SET_TUNNEL64 => {
            fixed(24)?;
            a.skip(6)?;
            Action::SetTunnel(a.u64()?)
        }
        nx::SET_QUEUE => {
            fixed(16)?;
            a.skip(2)?;
            Action::SetQueue(a.u32()?)
        }
        nx::POP_QUEUE => {
            fixed(16)?;
            Action::PopQueue
        }
        nx::REG_MOVE => {
            fixed(24)?;
            let n_bits = a.u16()?;
            let src_ofs = a.u16()?;
            let dst_ofs = a.u16()?;
            let src = a.u32()?;
            let dst = a.u32()?;
            Action::RegMove {
                src: FieldRef {
                    header: src,
                    ofs: src_ofs,
                    n_bits,
                },
                dst: FieldRef {
                    header: dst,
                    ofs: dst_ofs,
                    n_bits,
                },
            }
        }
        nx::REG_LOAD => {
            fixed(24)?;
            let ofs_nbits = a.u16()?;
            let dst = a.u32()?;
            Action::RegLoad {
                dst: FieldRef::from_ofs_nbits(dst, ofs_nbits),
                value: a.u64()?,
            }
        }
        nx::NOTE => Action::Note(a.rest().to_vec()),
        nx::OUTPUT_REG => {
            fixed(24)?;
            let ofs_nbits = a.u16()?;
            let src = a.u32()?;
            Action::OutputReg {
                src: FieldRef::from_ofs_nbits(src, ofs_nbits),
                max_len: a.u16()?,
            }
        }
        nx::EXIT | nx::DEC_TTL | nx::DEC_MPLS_TTL => {
            fixed(16)?;
            match sub {
                nx::EXIT => Action::Exit,
                nx::DEC_TTL => Action::DecNwTtl,
                _ => Action::DecMplsTtl,
            }
        }
        nx::CONTROLLER => {
            fixed(16)?;
            let max_len = a.u16()?;
            let controller_id = a.u16()?;
            Action::NxController {
                max_len,
                controller_id,
                reason: a.u8()?,
            }
        }
        nx::DEC_TTL_CNT_IDS => {
            let n = usize::from(a.u16()?);
            a.skip(4)?;
            if len != 16 + round8(2 * n) {
                return Err(ErrorKind::BadActionBadLen);
            }
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                ids.push(a.u16()?);
            }
            Action::DecTtlIds(ids)
        }
        nx::PUSH_MPLS | nx::POP_MPLS => {
            fixed(16)?;
            let e = a.u16()?;
            if sub == nx::PUSH_MPLS {
                Action::PushMpls(e)
            } else {
                Action::PopMpls(e)
            }
        }
        nx::SET_MPLS_TTL => {
            fixed(16)?;
            Action::SetMplsTtl(a.u8()?)
        }
        nx::REG_LOAD2 => {
            let (f, value, mask) = oxm::decode_entry(a).map_err(set_field_error)?;
            if round8(len - a.remaining()) != len {
                return Err(ErrorKind::BadActionBadSetLen);
            }
            Action::SetField(MatchEntry {
                field: f,
                value,
                mask,
            })
        }
        nx::CONJUNCTION => {
            fixed(16)?;
            let clause = a.u8()?;
            let n_clauses = a.u8()?;
            Action::Conjunction {
                id: a.u32()?,
                clause,
                n_clauses,
            }
        }
        nx::GROUP => {
            fixed(16)?;
            a.skip(2)?;
            Action::Group(a.u32()?)
        }
        nx::SET_MPLS_LABEL => {
            fixed(16)?;
            a.skip(2)?;
            let label = a.u32()?;
            let e = MatchEntry {
                field: Field::MplsLabel,
                value: Value::from_u64(4, u64::from(label)),
                mask: None,
            };
            oxm::check_value(e.field, &e.value, None)
                .map_err(|_| ErrorKind::BadActionBadArgument)?;
            Action::SetField(e)
        }
        nx::SET_MPLS_TC => {
            fixed(16)?;
            let tc = a.u8()?;
            if tc > 7 {
                return Err(ErrorKind::BadActionBadArgument);
            }
            set_field_u64(Field::MplsTc, u64::from(tc))
        }
        nx::CT => nx_actions::decode_ct(version, len, a, nested)?,
        nx::NAT => nx_actions::decode_nat(len, a)?,
        nx::CT_CLEAR => {
            fixed(16)?;
            Action::CtClear
        }
        nx::OUTPUT_TRUNC => {
            fixed(16)?;
            let port = port_from_of10(a.u16()?);
            Action::OutputTrunc {
                port,
                max_len: a.u32()?,
            }
        }
        nx::MULTIPATH => {
            fixed(32)?;
            Action::Multipath(nx_actions::decode_multipath(a)?)
        }
        nx::BUNDLE | nx::BUNDLE_LOAD => {
            Action::Bundle(nx_actions::decode_bundle(len, sub == nx::BUNDLE_LOAD, a)?)
        }
        nx::CLONE => {
            a.skip(6)?;
            Action::Clone(decode_actions_in(version, a, nested.inner(false)?)?)
        }
        nx::CONTROLLER2 => {
            a.skip(6)?;
            Action::Controller2(nx_actions::decode_controller2(a)?)
        }
        nx::LEARN => nx_actions::decode_learn(len, a)?,
        _ => Action::Experimenter {
            experimenter: NX_VENDOR_ID,
            data: body_start.rest().to_vec(),
        },
    })
}

/// Encodes an action list (appending to `w`).
pub fn encode_actions(
    version: Version,
    actions: &[Action],
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    for a in actions {
        encode_one(version, a, w)?;
    }
    Ok(())
}

fn std_hdr(w: &mut Vec<u8>, ty: u16, len: u16) {
    w.put_u16(ty);
    w.put_u16(len);
}

fn nx_hdr(w: &mut Vec<u8>, len: u16, sub: u16) {
    w.put_u16(OFPAT_EXPERIMENTER);
    w.put_u16(len);
    w.put_u32(NX_VENDOR_ID);
    w.put_u16(sub);
}

/// Writes a variable-length action whose length field sits at `start + 2`.
fn finish(w: &mut Vec<u8>, start: usize) -> Result<(), EncodeError> {
    w.pad8_from(start);
    let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
    w.patch_u16(start + 2, len);
    Ok(())
}

fn encode_reg_load(w: &mut Vec<u8>, e: &MatchEntry) -> Result<(), EncodeError> {
    let info = e.field.info();
    let mask = e.mask_or_ones().to_u64();
    let shifted = mask.checked_shr(mask.trailing_zeros()).unwrap_or(0);
    let contiguous = mask != 0 && shifted & shifted.wrapping_add(1) == 0;
    if let (Some(id), true, true) = (info.nxm, info.width <= 8, contiguous) {
        let ofs = mask.trailing_zeros() as u16;
        let n_bits = mask.count_ones() as u16;
        nx_hdr(w, 24, nx::REG_LOAD);
        let dst = FieldRef {
            header: oxm::nxm_header(id, false, info.width),
            ofs,
            n_bits,
        };
        w.put_u16(dst.ofs_nbits());
        w.put_u32(dst.header);
        w.put_u64((e.value.to_u64() & mask) >> ofs);
        return Ok(());
    }
    let start = w.len();
    nx_hdr(w, 0, nx::REG_LOAD2);
    oxm::encode_entry(w, Version::V1_3, e.field, &e.value, e.mask.as_ref());
    finish(w, start)
}

fn encode_one(version: Version, a: &Action, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    let v10 = version == Version::V1_0;
    match a {
        Action::Output { port, max_len } => {
            if v10 {
                std_hdr(w, 0, 8);
                w.put_u16(of10_port(*port)?);
                w.put_u16(*max_len);
            } else {
                std_hdr(w, 0, 16);
                w.put_u32(*port);
                w.put_u16(*max_len);
                w.put_zeros(6);
            }
        }
        Action::Group(g) => {
            if v10 {
                nx_hdr(w, 16, nx::GROUP);
                w.put_u16(0);
                w.put_u32(*g);
            } else {
                std_hdr(w, 22, 8);
                w.put_u32(*g);
            }
        }
        Action::SetQueue(q) => {
            if v10 {
                nx_hdr(w, 16, nx::SET_QUEUE);
                w.put_u16(0);
                w.put_u32(*q);
            } else {
                std_hdr(w, 21, 8);
                w.put_u32(*q);
            }
        }
        Action::Enqueue { port, queue } => {
            if v10 {
                std_hdr(w, 11, 16);
                w.put_u16(of10_port(*port)?);
                w.put_zeros(6);
                w.put_u32(*queue);
            } else {
                // As Open vSwitch writes enqueue after 1.0: set the queue,
                // output, restore the queue.
                encode_one(version, &Action::SetQueue(*queue), w)?;
                encode_one(
                    version,
                    &Action::Output {
                        port: *port,
                        max_len: 0xffff,
                    },
                    w,
                )?;
                encode_one(version, &Action::PopQueue, w)?;
            }
        }
        Action::SetField(e) => {
            if v10 {
                let of10 = match e.field {
                    _ if e.mask.is_some() => None,
                    Field::EthSrc => Some(4),
                    Field::EthDst => Some(5),
                    Field::Ipv4Src => Some(6),
                    Field::Ipv4Dst => Some(7),
                    Field::IpDscp => Some(8),
                    // Nicira set_mpls_label/tc (not standard 1.0 types).
                    Field::MplsLabel => Some(0xf01e),
                    Field::MplsTc => Some(0xf01f),
                    _ => None,
                };
                match of10 {
                    Some(t @ (4 | 5)) => {
                        std_hdr(w, t, 16);
                        w.extend_from_slice(e.value.as_bytes());
                        w.put_zeros(6);
                    }
                    Some(0xf01e) => {
                        nx_hdr(w, 16, nx::SET_MPLS_LABEL);
                        w.put_u16(0);
                        w.put_u32(e.value.to_u64() as u32);
                    }
                    Some(0xf01f) => {
                        nx_hdr(w, 16, nx::SET_MPLS_TC);
                        w.put_u8(e.value.to_u64() as u8);
                        w.put_zeros(5);
                    }
                    Some(t @ (6 | 7)) => {
                        std_hdr(w, t, 8);
                        w.put_u32(e.value.to_u64() as u32);
                    }
                    Some(t) => {
                        std_hdr(w, t, 8);
                        w.put_u8((e.value.to_u64() as u8) << 2);
                        w.put_zeros(3);
                    }
                    None => encode_reg_load(w, e)?,
                }
            } else if e.mask.is_some() && version < Version::V1_5 {
                encode_reg_load(w, e)?;
            } else {
                let start = w.len();
                std_hdr(w, 25, 0);
                oxm::encode_entry(w, version, e.field, &e.value, e.mask.as_ref());
                finish(w, start)?;
            }
        }
        Action::PushVlan(t) | Action::PushPbb(t) => {
            if v10 {
                return Err(EncodeError::NotInVersion(
                    "push_vlan/push_pbb in OpenFlow 1.0",
                ));
            }
            std_hdr(
                w,
                if matches!(a, Action::PushVlan(_)) {
                    17
                } else {
                    26
                },
                8,
            );
            w.put_u16(*t);
            w.put_u16(0);
        }
        Action::PopVlan => {
            std_hdr(w, if v10 { 3 } else { 18 }, 8);
            w.put_u32(0);
        }
        Action::PushMpls(t) | Action::PopMpls(t) => {
            let push = matches!(a, Action::PushMpls(_));
            if v10 {
                nx_hdr(w, 16, if push { nx::PUSH_MPLS } else { nx::POP_MPLS });
                w.put_u16(*t);
                w.put_u32(0);
            } else {
                std_hdr(w, if push { 19 } else { 20 }, 8);
                w.put_u16(*t);
                w.put_u16(0);
            }
        }
        Action::SetMplsTtl(t) => {
            if v10 {
                nx_hdr(w, 16, nx::SET_MPLS_TTL);
                w.put_u8(*t);
                w.put_zeros(5);
            } else {
                std_hdr(w, 15, 8);
                w.put_u8(*t);
                w.put_zeros(3);
            }
        }
        Action::DecMplsTtl | Action::DecNwTtl => {
            let mpls = matches!(a, Action::DecMplsTtl);
            if v10 {
                nx_hdr(w, 16, if mpls { nx::DEC_MPLS_TTL } else { nx::DEC_TTL });
                w.put_zeros(6);
            } else {
                std_hdr(w, if mpls { 16 } else { 24 }, 8);
                w.put_u32(0);
            }
        }
        Action::PopPbb | Action::CopyTtlOut | Action::CopyTtlIn => {
            if v10 {
                return Err(EncodeError::NotInVersion(
                    "pop_pbb/copy_ttl in OpenFlow 1.0",
                ));
            }
            let t = match a {
                Action::PopPbb => 27,
                Action::CopyTtlOut => 11,
                _ => 12,
            };
            std_hdr(w, t, 8);
            w.put_u32(0);
        }
        Action::SetNwTtl(t) => {
            if v10 {
                encode_reg_load(
                    w,
                    &MatchEntry {
                        field: Field::NwTtl,
                        value: Value::from_u64(1, u64::from(*t)),
                        mask: None,
                    },
                )?;
            } else {
                std_hdr(w, 23, 8);
                w.put_u8(*t);
                w.put_zeros(3);
            }
        }
        Action::Meter(m) => {
            if version < Version::V1_5 {
                return Err(EncodeError::NotInVersion(
                    "meter action before OpenFlow 1.5",
                ));
            }
            std_hdr(w, 29, 8);
            w.put_u32(*m);
        }
        Action::SetVlanVid(vid) => {
            if v10 {
                std_hdr(w, 1, 8);
                w.put_u16(*vid);
                w.put_u16(0);
            } else {
                encode_one(
                    version,
                    &set_field_u64(Field::VlanVid, u64::from(0x1000 | (vid & 0xfff))),
                    w,
                )?;
            }
        }
        Action::SetVlanPcp(p) => {
            if v10 {
                std_hdr(w, 2, 8);
                w.put_u8(*p);
                w.put_zeros(3);
            } else {
                encode_one(version, &set_field_u64(Field::VlanPcp, u64::from(p & 7)), w)?;
            }
        }
        Action::SetTpSrc(p) | Action::SetTpDst(p) => {
            if !v10 {
                return Err(EncodeError::NotInVersion(
                    "set_tp_src/dst after OpenFlow 1.0",
                ));
            }
            std_hdr(
                w,
                if matches!(a, Action::SetTpSrc(_)) {
                    9
                } else {
                    10
                },
                8,
            );
            w.put_u16(*p);
            w.put_u16(0);
        }
        Action::Resubmit { in_port, table } => {
            nx_hdr(
                w,
                16,
                if table.is_some() {
                    nx::RESUBMIT_TABLE
                } else {
                    nx::RESUBMIT
                },
            );
            w.put_u16(of10_port(*in_port)?);
            match table {
                Some(t) => {
                    w.put_u8(*t);
                    w.put_zeros(3);
                }
                None => w.put_zeros(4),
            }
        }
        Action::SetTunnel(id) => match u32::try_from(*id) {
            Ok(id32) => {
                nx_hdr(w, 16, nx::SET_TUNNEL);
                w.put_u16(0);
                w.put_u32(id32);
            }
            Err(_) => {
                nx_hdr(w, 24, nx::SET_TUNNEL64);
                w.put_zeros(6);
                w.put_u64(*id);
            }
        },
        Action::PopQueue | Action::Exit => {
            nx_hdr(
                w,
                16,
                if matches!(a, Action::Exit) {
                    nx::EXIT
                } else {
                    nx::POP_QUEUE
                },
            );
            w.put_zeros(6);
        }
        Action::RegLoad { dst, value } => {
            nx_hdr(w, 24, nx::REG_LOAD);
            w.put_u16(dst.ofs_nbits());
            w.put_u32(dst.header);
            w.put_u64(*value);
        }
        Action::RegMove { src, dst } => {
            nx_hdr(w, 24, nx::REG_MOVE);
            w.put_u16(src.n_bits);
            w.put_u16(src.ofs);
            w.put_u16(dst.ofs);
            w.put_u32(src.header);
            w.put_u32(dst.header);
        }
        Action::Note(data) => {
            let start = w.len();
            nx_hdr(w, 0, nx::NOTE);
            w.extend_from_slice(data);
            if w.len() - start < 16 {
                w.put_zeros(16 - (w.len() - start));
            }
            finish(w, start)?;
        }
        Action::OutputReg { src, max_len } => {
            nx_hdr(w, 24, nx::OUTPUT_REG);
            w.put_u16(src.ofs_nbits());
            w.put_u32(src.header);
            w.put_u16(*max_len);
            w.put_zeros(6);
        }
        Action::DecTtlIds(ids) => {
            let start = w.len();
            nx_hdr(w, 0, nx::DEC_TTL_CNT_IDS);
            w.put_u16(u16::try_from(ids.len()).map_err(|_| EncodeError::TooLong)?);
            w.put_zeros(4);
            ids.iter().for_each(|i| w.put_u16(*i));
            finish(w, start)?;
        }
        Action::NxController {
            max_len,
            controller_id,
            reason,
        } => {
            nx_hdr(w, 16, nx::CONTROLLER);
            w.put_u16(*max_len);
            w.put_u16(*controller_id);
            w.put_u8(*reason);
            w.put_u8(0);
        }
        Action::Conjunction {
            id,
            clause,
            n_clauses,
        } => {
            nx_hdr(w, 16, nx::CONJUNCTION);
            w.put_u8(*clause);
            w.put_u8(*n_clauses);
            w.put_u32(*id);
        }
        Action::Ct(ct) => {
            let start = w.len();
            nx_hdr(w, 0, nx::CT);
            nx_actions::encode_ct(version, ct, w)?;
            finish(w, start)?;
        }
        Action::Nat(n) => {
            let start = w.len();
            nx_hdr(w, 0, nx::NAT);
            nx_actions::encode_nat(n, w)?;
            finish(w, start)?;
        }
        Action::CtClear => {
            nx_hdr(w, 16, nx::CT_CLEAR);
            w.put_zeros(6);
        }
        Action::OutputTrunc { port, max_len } => {
            nx_hdr(w, 16, nx::OUTPUT_TRUNC);
            w.put_u16(of10_port(*port)?);
            w.put_u32(*max_len);
        }
        Action::Multipath(m) => {
            nx_hdr(w, 32, nx::MULTIPATH);
            nx_actions::encode_multipath(m, w);
        }
        Action::Bundle(b) => {
            let start = w.len();
            let sub = if b.dst.is_some() {
                nx::BUNDLE_LOAD
            } else {
                nx::BUNDLE
            };
            nx_hdr(w, 0, sub);
            nx_actions::encode_bundle(b, w)?;
            finish(w, start)?;
        }
        Action::Clone(acts) => {
            let start = w.len();
            nx_hdr(w, 0, nx::CLONE);
            w.put_zeros(6);
            encode_actions(version, acts, w)?;
            finish(w, start)?;
        }
        Action::Controller2(c) => {
            let start = w.len();
            nx_hdr(w, 0, nx::CONTROLLER2);
            w.put_zeros(6);
            nx_actions::encode_controller2(c, w)?;
            finish(w, start)?;
        }
        Action::Learn(l) => {
            let start = w.len();
            nx_hdr(w, 0, nx::LEARN);
            nx_actions::encode_learn(l, w)?;
            finish(w, start)?;
        }
        Action::Experimenter { experimenter, data } => {
            let start = w.len();
            std_hdr(w, OFPAT_EXPERIMENTER, 0);
            w.put_u32(*experimenter);
            w.extend_from_slice(data);
            finish(w, start)?;
        }
    }
    Ok(())
}
