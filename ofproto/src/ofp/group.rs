//! Groups: GROUP_MOD and the group multipart bodies (GROUP stats,
//! GROUP_DESC, GROUP_FEATURES) for OpenFlow 1.3, 1.4 and 1.5.
//!
//! Contract:
//! * One version-independent [`Bucket`] carries `weight`, `watch_port` and
//!   `watch_group` in every version. OpenFlow 1.1-1.4 put them in the fixed
//!   bucket header (the bucket id is then the bucket's index); OpenFlow 1.5
//!   has an explicit `bucket_id` and carries them as bucket properties.
//!   Encoding for 1.5 writes the weight property for `select` groups only and
//!   the watch properties only when they are not "any", as Open vSwitch
//!   does; decoding a 1.5 bucket without a weight property gives weight 1 in
//!   a select group and 0 otherwise.
//! * Decoding never panics. A bucket whose length is below its fixed part,
//!   not a multiple of 8, or past the end is `GroupModFailedBadBucket`; an
//!   unknown command `GroupModFailedBadCommand`; an unknown group type
//!   `GroupModFailedBadType`; a truncated fixed part `BadRequestBadLen`; a
//!   1.5 bucket property with a bad length `BadPropertyBadLen`.
//!   Errors inside a bucket's actions are the action errors.
//! * OpenFlow 1.5 group properties (and unknown bucket properties) are kept
//!   as bytes so that decode -> encode reproduces the message.
//! * GROUP_MOD does not exist in OpenFlow 1.0: encoding it there is
//!   `NotInVersion`. Open vSwitch's Nicira NXT_GROUP_MOD and NXST_GROUP_DESC
//!   (see [`nicira`](super::nicira)) carry the same types in the 1.5 layout
//!   with 1.0 actions.

use super::Version;
use super::actions::{Action, decode_actions, encode_actions};
use super::error::{EncodeError, ErrorKind};
use super::messages::GROUP_ANY;
use super::port::{PortNo, ports};
use super::wire::{Put, Reader};

/// Group id of the last group (ids above are reserved).
pub const GROUP_MAX: u32 = 0xffff_ff00;
/// "All groups" (delete, stats requests).
pub const GROUP_ALL: u32 = 0xffff_fffc;

/// OpenFlow 1.5 `command_bucket_id` values.
pub mod bucket_ids {
    /// First bucket (insert before / remove first).
    pub const FIRST: u32 = 0xffff_fffd;
    /// Last bucket (insert after / remove last).
    pub const LAST: u32 = 0xffff_fffe;
    /// All buckets.
    pub const ALL: u32 = 0xffff_ffff;
}

/// GROUP_MOD command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupModCommand {
    /// Add a group.
    Add,
    /// Replace a group's type and buckets.
    Modify,
    /// Delete a group (or all, with [`GROUP_ALL`]).
    Delete,
    /// Insert buckets (1.5).
    InsertBucket,
    /// Remove buckets (1.5).
    RemoveBucket,
}

impl GroupModCommand {
    fn from_wire(version: Version, v: u16) -> Result<Self, ErrorKind> {
        Ok(match v {
            0 => Self::Add,
            1 => Self::Modify,
            2 => Self::Delete,
            3 if version >= Version::V1_5 => Self::InsertBucket,
            5 if version >= Version::V1_5 => Self::RemoveBucket,
            _ => return Err(ErrorKind::GroupModFailedBadCommand),
        })
    }

    fn wire(self, version: Version) -> Result<u16, EncodeError> {
        Ok(match self {
            Self::Add => 0,
            Self::Modify => 1,
            Self::Delete => 2,
            Self::InsertBucket | Self::RemoveBucket if version < Version::V1_5 => {
                return Err(EncodeError::NotInVersion(
                    "insert/remove bucket before OpenFlow 1.5",
                ));
            }
            Self::InsertBucket => 3,
            Self::RemoveBucket => 5,
        })
    }
}

/// Group type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupType {
    /// Every bucket (multicast/flood).
    All,
    /// One bucket, chosen by the switch.
    Select,
    /// The single bucket.
    Indirect,
    /// The first live bucket.
    FastFailover,
}

impl GroupType {
    /// Decodes a wire group type.
    pub fn from_wire(v: u8) -> Result<Self, ErrorKind> {
        Ok(match v {
            0 => Self::All,
            1 => Self::Select,
            2 => Self::Indirect,
            3 => Self::FastFailover,
            _ => return Err(ErrorKind::GroupModFailedBadType),
        })
    }

    /// The wire number.
    pub fn wire(self) -> u8 {
        self as u8
    }
}

/// A bucket of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Bucket id (1.5; the index before).
    pub bucket_id: u32,
    /// Relative weight (select groups).
    pub weight: u16,
    /// Port whose liveness this bucket depends on ([`ports::ANY`] = none).
    pub watch_port: PortNo,
    /// Group whose liveness this bucket depends on ([`GROUP_ANY`] = none).
    pub watch_group: u32,
    /// Actions.
    pub actions: Vec<Action>,
    /// Unknown OpenFlow 1.5 bucket properties, as bytes.
    pub other_properties: Vec<u8>,
}

impl Bucket {
    /// A bucket with these actions and no weight or watch.
    pub fn new(actions: Vec<Action>) -> Bucket {
        Bucket {
            bucket_id: 0,
            weight: 0,
            watch_port: ports::ANY,
            watch_group: GROUP_ANY,
            actions,
            other_properties: Vec::new(),
        }
    }
}

/// GROUP_MOD body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMod {
    /// Command.
    pub command: GroupModCommand,
    /// Group type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// Bucket the command applies to (1.5; [`bucket_ids::ALL`] otherwise).
    pub command_bucket_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
    /// OpenFlow 1.5 group properties, as bytes.
    pub properties: Vec<u8>,
}

impl GroupMod {
    /// A group mod with no buckets.
    pub fn new(command: GroupModCommand, group_type: GroupType, group_id: u32) -> GroupMod {
        GroupMod {
            command,
            group_type,
            group_id,
            command_bucket_id: bucket_ids::ALL,
            buckets: Vec::new(),
            properties: Vec::new(),
        }
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<GroupMod, ErrorKind> {
        GroupMod::decode_at(version, version, r)
    }

    /// Open vSwitch's NXT_GROUP_MOD: the OpenFlow 1.5 layout with actions
    /// of `av` (OpenFlow 1.0 on a 1.0 connection).
    pub(crate) fn decode_nx(av: Version, r: &mut Reader<'_>) -> Result<GroupMod, ErrorKind> {
        GroupMod::decode_at(Version::V1_5, av, r)
    }

    pub(crate) fn encode_nx(&self, av: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode_at(Version::V1_5, av, w)
    }

    fn decode_at(version: Version, av: Version, r: &mut Reader<'_>) -> Result<GroupMod, ErrorKind> {
        let command = GroupModCommand::from_wire(version, r.u16()?)?;
        let group_type = GroupType::from_wire(r.u8()?)?;
        r.skip(1)?;
        let group_id = r.u32()?;
        let mut g = GroupMod::new(command, group_type, group_id);
        if version >= Version::V1_5 {
            let blen = usize::from(r.u16()?);
            r.skip(2)?;
            g.command_bucket_id = r.u32()?;
            if blen > r.remaining() {
                return Err(ErrorKind::GroupModFailedBadBucket);
            }
            let mut b = r.sub(blen, ErrorKind::GroupModFailedBadBucket)?;
            g.buckets = decode_buckets(version, av, group_type, &mut b)?;
            g.properties = r.rest().to_vec();
        } else {
            g.buckets = decode_buckets(version, av, group_type, r)?;
        }
        Ok(g)
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        if version == Version::V1_0 {
            return Err(EncodeError::NotInVersion(
                "GROUP_MOD in OpenFlow 1.0 (use NxMessage::GroupMod)",
            ));
        }
        self.encode_at(version, version, w)
    }

    fn encode_at(&self, version: Version, av: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        w.put_u16(self.command.wire(version)?);
        w.put_u8(self.group_type.wire());
        w.put_u8(0);
        w.put_u32(self.group_id);
        if version >= Version::V1_5 {
            let len_at = w.len();
            w.put_u16(0);
            w.put_u16(0);
            w.put_u32(self.command_bucket_id);
            let start = w.len();
            encode_buckets(version, av, self.group_type, &self.buckets, w)?;
            let blen = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
            w.patch_u16(len_at, blen);
            w.extend_from_slice(&self.properties);
        } else {
            if self.command_bucket_id != bucket_ids::ALL || !self.properties.is_empty() {
                return Err(EncodeError::NotInVersion(
                    "command bucket id or group properties before OpenFlow 1.5",
                ));
            }
            encode_buckets(version, av, self.group_type, &self.buckets, w)?;
        }
        Ok(())
    }
}

/// Decodes buckets filling all of `r`.
fn decode_buckets(
    version: Version,
    av: Version,
    gt: GroupType,
    r: &mut Reader<'_>,
) -> Result<Vec<Bucket>, ErrorKind> {
    let bad = ErrorKind::GroupModFailedBadBucket;
    let mut out = Vec::new();
    let mut index = 0u32;
    while !r.is_empty() {
        let len = usize::from(r.peek_u16(0).map_err(|_| bad)?);
        let fixed = if version >= Version::V1_5 { 8 } else { 16 };
        if len < fixed || !len.is_multiple_of(8) || len > r.remaining() {
            return Err(bad);
        }
        let mut b = r.sub(len, bad)?;
        b.skip(2)?;
        let mut bucket = Bucket::new(Vec::new());
        if version >= Version::V1_5 {
            let alen = usize::from(b.u16()?);
            bucket.bucket_id = b.u32()?;
            if alen > b.remaining() {
                return Err(bad);
            }
            let mut a = b.sub(alen, ErrorKind::BadActionBadLen)?;
            bucket.actions = decode_actions(av, &mut a)?;
            bucket.weight = u16::from(gt == GroupType::Select);
            while !b.is_empty() {
                let ptype = b.peek_u16(0)?;
                let plen = usize::from(b.peek_u16(2)?);
                if plen < 4 || plen > b.remaining() {
                    return Err(ErrorKind::BadPropertyBadLen);
                }
                let mut p = b.sub(round8_within(plen, b.remaining()), bad)?;
                match (ptype, plen) {
                    (0, 8) => {
                        p.skip(4)?;
                        bucket.weight = p.u16()?;
                    }
                    (1, 8) => {
                        p.skip(4)?;
                        bucket.watch_port = p.u32()?;
                    }
                    (2, 8) => {
                        p.skip(4)?;
                        bucket.watch_group = p.u32()?;
                    }
                    (0..=2, _) => return Err(ErrorKind::BadPropertyBadLen),
                    _ => bucket.other_properties.extend_from_slice(p.rest()),
                }
            }
        } else {
            bucket.bucket_id = index;
            bucket.weight = b.u16()?;
            bucket.watch_port = b.u32()?;
            bucket.watch_group = b.u32()?;
            b.skip(4)?;
            let mut a = Reader::new(b.rest(), ErrorKind::BadActionBadLen);
            bucket.actions = decode_actions(av, &mut a)?;
        }
        index = index.wrapping_add(1);
        out.push(bucket);
    }
    Ok(out)
}

/// A property's length padded to 8, capped at what is left (a final
/// property may omit its padding).
fn round8_within(len: usize, left: usize) -> usize {
    len.div_ceil(8).saturating_mul(8).min(left)
}

fn encode_buckets(
    version: Version,
    av: Version,
    gt: GroupType,
    buckets: &[Bucket],
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    for b in buckets {
        let start = w.len();
        w.put_u16(0);
        if version >= Version::V1_5 {
            w.put_u16(0);
            w.put_u32(b.bucket_id);
            let astart = w.len();
            encode_actions(av, &b.actions, w)?;
            let alen = u16::try_from(w.len() - astart).map_err(|_| EncodeError::TooLong)?;
            w.patch_u16(start + 2, alen);
            if gt == GroupType::Select {
                w.put_u16(0);
                w.put_u16(8);
                w.put_u16(b.weight);
                w.put_u16(0);
            }
            if b.watch_port != ports::ANY {
                w.put_u16(1);
                w.put_u16(8);
                w.put_u32(b.watch_port);
            }
            if b.watch_group != GROUP_ANY {
                w.put_u16(2);
                w.put_u16(8);
                w.put_u32(b.watch_group);
            }
            w.extend_from_slice(&b.other_properties);
        } else {
            if !b.other_properties.is_empty() {
                return Err(EncodeError::NotInVersion(
                    "bucket properties before OpenFlow 1.5",
                ));
            }
            w.put_u16(b.weight);
            w.put_u32(b.watch_port);
            w.put_u32(b.watch_group);
            w.put_u32(0);
            encode_actions(av, &b.actions, w)?;
        }
        let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
        w.patch_u16(start, len);
    }
    Ok(())
}

/// One group's statistics (GROUP multipart reply entry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupStats {
    /// Group id.
    pub group_id: u32,
    /// Flows and groups that forward to this group.
    pub ref_count: u32,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond that.
    pub duration_nsec: u32,
    /// Per bucket `(packets, bytes)`.
    pub buckets: Vec<(u64, u64)>,
}

impl GroupStats {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<GroupStats, ErrorKind> {
        let len = usize::from(r.peek_u16(0)?);
        if len < 40 || len > r.remaining() || !(len - 40).is_multiple_of(16) {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
        e.skip(4)?;
        let mut s = GroupStats {
            group_id: e.u32()?,
            ref_count: e.u32()?,
            ..GroupStats::default()
        };
        e.skip(4)?;
        s.packet_count = e.u64()?;
        s.byte_count = e.u64()?;
        s.duration_sec = e.u32()?;
        s.duration_nsec = e.u32()?;
        while !e.is_empty() {
            s.buckets.push((e.u64()?, e.u64()?));
        }
        Ok(s)
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = 40 + 16 * self.buckets.len();
        w.put_u16(u16::try_from(len).map_err(|_| EncodeError::TooLong)?);
        w.put_u16(0);
        w.put_u32(self.group_id);
        w.put_u32(self.ref_count);
        w.put_u32(0);
        w.put_u64(self.packet_count);
        w.put_u64(self.byte_count);
        w.put_u32(self.duration_sec);
        w.put_u32(self.duration_nsec);
        for (p, b) in &self.buckets {
            w.put_u64(*p);
            w.put_u64(*b);
        }
        Ok(())
    }
}

/// One group's description (GROUP_DESC multipart reply entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDesc {
    /// Group type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
    /// OpenFlow 1.5 group properties, as bytes.
    pub properties: Vec<u8>,
}

impl GroupDesc {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<GroupDesc, ErrorKind> {
        GroupDesc::decode_at(version, version, r)
    }

    /// An NXST_GROUP_DESC entry: the 1.5 layout with actions of `av`.
    pub(crate) fn decode_nx(av: Version, r: &mut Reader<'_>) -> Result<GroupDesc, ErrorKind> {
        GroupDesc::decode_at(Version::V1_5, av, r)
    }

    pub(crate) fn encode_nx(&self, av: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode_at(Version::V1_5, av, w)
    }

    fn decode_at(
        version: Version,
        av: Version,
        r: &mut Reader<'_>,
    ) -> Result<GroupDesc, ErrorKind> {
        let len = usize::from(r.peek_u16(0)?);
        let fixed = if version >= Version::V1_5 { 16 } else { 8 };
        if len < fixed || len > r.remaining() {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
        e.skip(2)?;
        let group_type = GroupType::from_wire(e.u8()?)?;
        e.skip(1)?;
        let group_id = e.u32()?;
        let mut d = GroupDesc {
            group_type,
            group_id,
            buckets: Vec::new(),
            properties: Vec::new(),
        };
        if version >= Version::V1_5 {
            let blen = usize::from(e.u16()?);
            e.skip(6)?;
            if blen > e.remaining() {
                return Err(ErrorKind::GroupModFailedBadBucket);
            }
            let mut b = e.sub(blen, ErrorKind::GroupModFailedBadBucket)?;
            d.buckets = decode_buckets(version, av, group_type, &mut b)?;
            d.properties = e.rest().to_vec();
        } else {
            d.buckets = decode_buckets(version, av, group_type, &mut e)?;
        }
        Ok(d)
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode_at(version, version, w)
    }

    fn encode_at(&self, version: Version, av: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = w.len();
        w.put_u16(0);
        w.put_u8(self.group_type.wire());
        w.put_u8(0);
        w.put_u32(self.group_id);
        if version >= Version::V1_5 {
            w.put_u16(0);
            w.put_zeros(6);
            let bstart = w.len();
            encode_buckets(version, av, self.group_type, &self.buckets, w)?;
            let blen = u16::try_from(w.len() - bstart).map_err(|_| EncodeError::TooLong)?;
            w.patch_u16(start + 8, blen);
            w.extend_from_slice(&self.properties);
        } else {
            if !self.properties.is_empty() {
                return Err(EncodeError::NotInVersion(
                    "group properties before OpenFlow 1.5",
                ));
            }
            encode_buckets(version, av, self.group_type, &self.buckets, w)?;
        }
        let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
        w.patch_u16(start, len);
        Ok(())
    }
}

/// GROUP_FEATURES reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupFeatures {
    /// Bitmap of supported group types (bit = `1 << type`).
    pub types: u32,
    /// `OFPGFC_*` capability bits.
    pub capabilities: u32,
    /// Maximum groups per type (all, select, indirect, fast failover).
    pub max_groups: [u32; 4],
    /// Supported action bitmaps per type (bit = `1 << OFPAT_*`).
    pub actions: [u32; 4],
}

impl GroupFeatures {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<GroupFeatures, ErrorKind> {
        let mut f = GroupFeatures {
            types: r.u32()?,
            capabilities: r.u32()?,
            ..GroupFeatures::default()
        };
        for m in &mut f.max_groups {
            *m = r.u32()?;
        }
        for a in &mut f.actions {
            *a = r.u32()?;
        }
        Ok(f)
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) {
        w.put_u32(self.types);
        w.put_u32(self.capabilities);
        self.max_groups.iter().for_each(|m| w.put_u32(*m));
        self.actions.iter().for_each(|a| w.put_u32(*a));
    }
}
