//! OpenFlow 1.5 statistics: OXS (`ofp_stats`) and the 1.5 layouts of flow
//! statistics and FLOW_REMOVED that carry it.
//!
//! Contract:
//! * [`OxsEntry`] is one OXS TLV (class `0x8002`): duration and idle time
//!   (seconds and nanoseconds), flow count, packet count, byte count; other
//!   fields are kept as bytes. A list keeps its wire order, so decode ->
//!   encode reproduces the bytes.
//! * `ofp_stats` is `reserved:16 length:16` then the TLVs, padded to 8. A
//!   length below 4 or past the end is `BadRequestBadLen`, as is a TLV that
//!   runs past it or has the wrong length for its field.
//! * [`FlowStats15`] is an OpenFlow 1.5 flow statistics entry (with the
//!   idle time, importance and reason that 1.3's layout lacks).

use super::Version;
use super::error::{EncodeError, ErrorKind};
use super::instructions::{Instruction, decode_instructions, encode_instructions};
use super::matching::Match;
use super::multipart::FlowStats;
use super::wire::{Put, Reader, round8};

/// OXS class of the OpenFlow basic statistics.
pub const OFPXSC_OPENFLOW_BASIC: u16 = 0x8002;

/// One OXS statistic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OxsEntry {
    /// Time alive: seconds, nanoseconds.
    Duration(u32, u32),
    /// Time since last used: seconds, nanoseconds.
    IdleTime(u32, u32),
    /// Number of flows.
    FlowCount(u32),
    /// Packets.
    PacketCount(u64),
    /// Bytes.
    ByteCount(u64),
    /// Anything else: the 32-bit header and the value bytes.
    Other(u32, Vec<u8>),
}

fn header(field: u8, len: u8) -> u32 {
    u32::from(OFPXSC_OPENFLOW_BASIC) << 16 | u32::from(field) << 9 | u32::from(len)
}

/// Decodes an `ofp_stats` (header, TLVs, padding).
pub(crate) fn decode_stats(r: &mut Reader<'_>) -> Result<Vec<OxsEntry>, ErrorKind> {
    let bad = ErrorKind::BadRequestBadLen;
    r.skip(2)?;
    let len = usize::from(r.u16()?);
    if len < 4 || round8(len) - 4 > r.remaining() {
        return Err(bad);
    }
    let mut b = r.sub(len - 4, bad)?;
    r.skip(round8(len) - len)?;
    let mut out = Vec::new();
    while !b.is_empty() {
        let h = b.u32()?;
        let n = (h & 0xff) as usize;
        let v = b.bytes(n)?;
        let class = (h >> 16) as u16;
        let field = ((h >> 9) & 0x7f) as u8;
        let has_mask = h & 0x100 != 0;
        let mut vr = Reader::new(v, bad);
        let e = match (class, field, has_mask, n) {
            (OFPXSC_OPENFLOW_BASIC, 0, false, 8) => OxsEntry::Duration(vr.u32()?, vr.u32()?),
            (OFPXSC_OPENFLOW_BASIC, 1, false, 8) => OxsEntry::IdleTime(vr.u32()?, vr.u32()?),
            (OFPXSC_OPENFLOW_BASIC, 3, false, 4) => OxsEntry::FlowCount(vr.u32()?),
            (OFPXSC_OPENFLOW_BASIC, 4, false, 8) => OxsEntry::PacketCount(vr.u64()?),
            (OFPXSC_OPENFLOW_BASIC, 5, false, 8) => OxsEntry::ByteCount(vr.u64()?),
            (OFPXSC_OPENFLOW_BASIC, 0..=5, _, _) => return Err(bad),
            _ => OxsEntry::Other(h, v.to_vec()),
        };
        out.push(e);
    }
    Ok(out)
}

/// Encodes an `ofp_stats` with padding.
pub(crate) fn encode_stats(stats: &[OxsEntry], w: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = w.len();
    w.put_u16(0);
    w.put_u16(0);
    for e in stats {
        match e {
            OxsEntry::Duration(s, n) | OxsEntry::IdleTime(s, n) => {
                let f = if matches!(e, OxsEntry::Duration(..)) {
                    0
                } else {
                    1
                };
                w.put_u32(header(f, 8));
                w.put_u32(*s);
                w.put_u32(*n);
            }
            OxsEntry::FlowCount(c) => {
                w.put_u32(header(3, 4));
                w.put_u32(*c);
            }
            OxsEntry::PacketCount(c) => {
                w.put_u32(header(4, 8));
                w.put_u64(*c);
            }
            OxsEntry::ByteCount(c) => {
                w.put_u32(header(5, 8));
                w.put_u64(*c);
            }
            OxsEntry::Other(h, v) => {
                if v.len() != (h & 0xff) as usize {
                    return Err(EncodeError::NotInVersion("OXS length"));
                }
                w.put_u32(*h);
                w.extend_from_slice(v);
            }
        }
    }
    let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
    w.patch_u16(start + 2, len);
    w.pad8_from(start);
    Ok(())
}

/// An OpenFlow 1.5 flow statistics entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowStats15 {
    /// Table.
    pub table_id: u8,
    /// Why the entry is sent (`OFPFSR_*`; 0 for a statistics request).
    pub reason: u8,
    /// Priority.
    pub priority: u16,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Flow-mod flags (wire form).
    pub flags: u16,
    /// Eviction importance.
    pub importance: u16,
    /// Cookie.
    pub cookie: u64,
    /// Match.
    pub match_: Match,
    /// Statistics, in wire order.
    pub stats: Vec<OxsEntry>,
    /// Instructions.
    pub instructions: Vec<Instruction>,
}

impl FlowStats15 {
    /// The 1.5 form of a version-independent entry, with the statistics
    /// Open vSwitch sends (duration, packets, bytes).
    pub fn from_stats(s: &FlowStats) -> FlowStats15 {
        FlowStats15 {
            table_id: s.table_id,
            reason: 0,
            priority: s.priority,
            idle_timeout: s.idle_timeout,
            hard_timeout: s.hard_timeout,
            flags: s.flags,
            importance: 0,
            cookie: s.cookie,
            match_: s.match_.clone(),
            stats: vec![
                OxsEntry::Duration(s.duration_sec, s.duration_nsec),
                OxsEntry::PacketCount(s.packet_count),
                OxsEntry::ByteCount(s.byte_count),
            ],
            instructions: s.instructions.clone(),
        }
    }

    /// The version-independent entry (statistics absent from the OXS list
    /// are 0).
    pub fn to_stats(&self) -> FlowStats {
        let mut s = FlowStats {
            table_id: self.table_id,
            duration_sec: 0,
            duration_nsec: 0,
            priority: self.priority,
            idle_timeout: self.idle_timeout,
            hard_timeout: self.hard_timeout,
            flags: self.flags,
            cookie: self.cookie,
            packet_count: 0,
            byte_count: 0,
            match_: self.match_.clone(),
            instructions: self.instructions.clone(),
        };
        for e in &self.stats {
            match e {
                OxsEntry::Duration(a, b) => (s.duration_sec, s.duration_nsec) = (*a, *b),
                OxsEntry::PacketCount(c) => s.packet_count = *c,
                OxsEntry::ByteCount(c) => s.byte_count = *c,
                _ => {}
            }
        }
        s
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<FlowStats15, ErrorKind> {
        let len = usize::from(r.peek_u16(0)?);
        if len < 32 || len > r.remaining() {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
        e.skip(4)?;
        let table_id = e.u8()?;
        let reason = e.u8()?;
        let priority = e.u16()?;
        let idle_timeout = e.u16()?;
        let hard_timeout = e.u16()?;
        let flags = e.u16()?;
        let importance = e.u16()?;
        let cookie = e.u64()?;
        let match_ = Match::decode_oxm(&mut e)?;
        let stats = decode_stats(&mut e)?;
        let mut i = Reader::new(e.rest(), ErrorKind::BadInstructionBadLen);
        let instructions = decode_instructions(Version::V1_5, &mut i)?;
        Ok(FlowStats15 {
            table_id,
            reason,
            priority,
            idle_timeout,
            hard_timeout,
            flags,
            importance,
            cookie,
            match_,
            stats,
            instructions,
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = w.len();
        w.put_u16(0);
        w.put_u16(0);
        w.put_u8(self.table_id);
        w.put_u8(self.reason);
        w.put_u16(self.priority);
        w.put_u16(self.idle_timeout);
        w.put_u16(self.hard_timeout);
        w.put_u16(self.flags);
        w.put_u16(self.importance);
        w.put_u64(self.cookie);
        self.match_.encode_oxm(Version::V1_5, w);
        encode_stats(&self.stats, w)?;
        encode_instructions(Version::V1_5, &self.instructions, w)?;
        let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
        w.patch_u16(start, len);
        Ok(())
    }
}
