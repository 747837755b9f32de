//! Statistics (1.0) / multipart (1.3+) requests and replies: DESC, FLOW,
//! AGGREGATE, TABLE, PORT_STATS, QUEUE_STATS, GROUP, GROUP_DESC,
//! GROUP_FEATURES, METER, METER_CONFIG, METER_FEATURES, TABLE_FEATURES,
//! PORT_DESC, TABLE_DESC and QUEUE_DESC; everything else (experimenter
//! statistics, flow monitors) round-trips as bytes.
//!
//! Contract:
//! * The version-independent [`MultipartRequest`]/[`MultipartReply`] carry
//!   the `flags` word (bit 0 = more) and a typed body.
//! * [`MultipartReply::encode_split`] encodes a reply of any size as one or
//!   more messages of at most 65535 bytes, setting the MORE flag on all but
//!   the last, splitting only between entries.
//! * "All" in a request: [`ports::ANY`] for ports (OpenFlow 1.0's queue
//!   statistics use `OFPP_ALL` on the wire; it is converted both ways),
//!   [`GROUP_ALL`], [`super::meter::METER_ALL`], [`QUEUE_ALL`].
//! * Group and meter bodies exist from 1.1 (decoded for 1.3+), TABLE_DESC
//!   and QUEUE_DESC from 1.4; encoding them for an older version is
//!   `NotInVersion`.
//! * OpenFlow 1.5 FLOW and AGGREGATE replies carry OXS statistics: they
//!   decode as [`ReplyBody::Flow15`] and [`ReplyBody::Aggregate15`]
//!   (lossless). [`ReplyBody::Flow`] and [`ReplyBody::Aggregate`] also
//!   encode in 1.5, with the statistics Open vSwitch sends.

use super::Version;
use super::actions::{decode_actions, encode_actions};
use super::control::QueueConfig;
use super::error::{EncodeError, ErrorKind};
use super::group::{GROUP_ALL, GroupDesc, GroupFeatures, GroupStats};
use super::header::MAX_MSG_LEN;
use super::instructions::{Instruction, decode_instructions, encode_instructions};
use super::matching::Match;
use super::messages::{GROUP_ANY, Message, of10_actions, of10_instructions};
use super::meter::{MeterConfig, MeterFeatures, MeterStats};
use super::nicira::{self, NxFlowStats};
use super::oxs::{FlowStats15, OxsEntry, decode_stats, encode_stats};
use super::port::{Port, PortNo, of10_port, port_from_of10, ports};
use super::stats::{
    PortStats, QueueStats, TableDesc, TableFeatures, decode_queue_desc, encode_queue_desc,
};
use super::wire::{Put, Reader, get_str, put_str};

/// The "more" flag of requests and replies.
pub const MORE: u16 = 1;

mod ty {
    pub const DESC: u16 = 0;
    pub const FLOW: u16 = 1;
    pub const AGGREGATE: u16 = 2;
    pub const TABLE: u16 = 3;
    pub const PORT_STATS: u16 = 4;
    pub const QUEUE_STATS: u16 = 5;
    pub const GROUP: u16 = 6;
    pub const GROUP_DESC: u16 = 7;
    pub const GROUP_FEATURES: u16 = 8;
    pub const METER: u16 = 9;
    pub const METER_CONFIG: u16 = 10;
    pub const METER_FEATURES: u16 = 11;
    pub const TABLE_FEATURES: u16 = 12;
    pub const PORT_DESC: u16 = 13;
    pub const TABLE_DESC: u16 = 14;
    pub const QUEUE_DESC: u16 = 15;
    pub const EXPERIMENTER: u16 = 0xffff;
}

/// "All queues" in queue requests.
pub const QUEUE_ALL: u32 = 0xffff_ffff;

/// FLOW and AGGREGATE request filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowStatsRequest {
    /// Table (255 = all).
    pub table_id: u8,
    /// Output port filter ([`ports::ANY`] = none).
    pub out_port: PortNo,
    /// Output group filter (1.3+).
    pub out_group: u32,
    /// Cookie (1.3+).
    pub cookie: u64,
    /// Cookie mask (1.3+).
    pub cookie_mask: u64,
    /// Match.
    pub match_: Match,
}

impl Default for FlowStatsRequest {
    fn default() -> Self {
        FlowStatsRequest {
            table_id: 0xff,
            out_port: ports::ANY,
            out_group: GROUP_ANY,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::new(),
        }
    }
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// Switch description.
    Desc,
    /// Individual flow statistics.
    Flow(FlowStatsRequest),
    /// Aggregate flow statistics.
    Aggregate(FlowStatsRequest),
    /// Table statistics.
    Table,
    /// Port descriptions (`port_no` is sent in 1.5 only).
    PortDesc {
        /// Port, or [`ports::ANY`].
        port_no: PortNo,
    },
    /// Port counters.
    PortStats {
        /// Port, or [`ports::ANY`].
        port_no: PortNo,
    },
    /// Queue counters.
    QueueStats {
        /// Port, or [`ports::ANY`].
        port_no: PortNo,
        /// Queue, or [`QUEUE_ALL`].
        queue_id: u32,
    },
    /// Group counters.
    Group {
        /// Group, or [`GROUP_ALL`].
        group_id: u32,
    },
    /// Group descriptions (`group_id` is sent in 1.5 only).
    GroupDesc {
        /// Group, or [`GROUP_ALL`].
        group_id: u32,
    },
    /// Group features.
    GroupFeatures,
    /// Meter counters.
    Meter {
        /// Meter, or [`super::meter::METER_ALL`].
        meter_id: u32,
    },
    /// Meter configurations.
    MeterConfig {
        /// Meter, or [`super::meter::METER_ALL`].
        meter_id: u32,
    },
    /// Meter features.
    MeterFeatures,
    /// Table features (empty: query; otherwise: set).
    TableFeatures(Vec<TableFeatures>),
    /// Table descriptions (1.4+).
    TableDesc,
    /// Queue descriptions (1.4+; replaces QUEUE_GET_CONFIG).
    QueueDesc {
        /// Port, or [`ports::ANY`].
        port_no: PortNo,
        /// Queue, or [`QUEUE_ALL`].
        queue_id: u32,
    },
    /// Nicira NXST_FLOW (NXM match; cookie filter from `NXM_NX_COOKIE`).
    NxFlow(FlowStatsRequest),
    /// Nicira NXST_AGGREGATE.
    NxAggregate(FlowStatsRequest),
    /// Nicira NXST_GROUP_DESC (groups over OpenFlow 1.0).
    NxGroupDesc {
        /// Group, or [`GROUP_ALL`].
        group_id: u32,
    },
    /// Anything else: type and body bytes.
    Other {
        /// Multipart type.
        ty: u16,
        /// Body.
        body: Vec<u8>,
    },
}

/// A multipart/stats request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartRequest {
    /// Flags ([`MORE`]).
    pub flags: u16,
    /// Body.
    pub body: RequestBody,
}

/// Switch description strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescStats {
    /// Manufacturer (255 bytes max).
    pub mfr_desc: String,
    /// Hardware.
    pub hw_desc: String,
    /// Software.
    pub sw_desc: String,
    /// Serial number (31 bytes max).
    pub serial_num: String,
    /// Datapath description.
    pub dp_desc: String,
}

/// One flow's statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowStats {
    /// Table.
    pub table_id: u8,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond that.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Flow-mod flags (1.3+, wire form).
    pub flags: u16,
    /// Cookie.
    pub cookie: u64,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Match.
    pub match_: Match,
    /// Instructions (1.0: one `ApplyActions`).
    pub instructions: Vec<Instruction>,
}

/// Aggregate statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AggregateStats {
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Flows.
    pub flow_count: u32,
}

/// One table's statistics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableStats {
    /// Table.
    pub table_id: u8,
    /// Name (1.0 only).
    pub name: String,
    /// Supported wildcards (1.0 only).
    pub wildcards: u32,
    /// Maximum flows (1.0 only).
    pub max_entries: u32,
    /// Active flows.
    pub active_count: u32,
    /// Lookups.
    pub lookup_count: u64,
    /// Hits.
    pub matched_count: u64,
}

/// A reply body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// Switch description.
    Desc(DescStats),
    /// Flow statistics.
    Flow(Vec<FlowStats>),
    /// Aggregate statistics.
    Aggregate(AggregateStats),
    /// Table statistics.
    Table(Vec<TableStats>),
    /// Port descriptions.
    PortDesc(Vec<Port>),
    /// Port counters.
    PortStats(Vec<PortStats>),
    /// Queue counters.
    QueueStats(Vec<QueueStats>),
    /// Group counters.
    Group(Vec<GroupStats>),
    /// Group descriptions.
    GroupDesc(Vec<GroupDesc>),
    /// Group features.
    GroupFeatures(GroupFeatures),
    /// Meter counters.
    Meter(Vec<MeterStats>),
    /// Meter configurations.
    MeterConfig(Vec<MeterConfig>),
    /// Meter features.
    MeterFeatures(MeterFeatures),
    /// Table features.
    TableFeatures(Vec<TableFeatures>),
    /// Table descriptions (1.4+).
    TableDesc(Vec<TableDesc>),
    /// Queue descriptions (1.4+).
    QueueDesc(Vec<QueueConfig>),
    /// OpenFlow 1.5 flow statistics (OXS).
    Flow15(Vec<FlowStats15>),
    /// OpenFlow 1.5 aggregate statistics (OXS, in wire order).
    Aggregate15(Vec<OxsEntry>),
    /// Nicira NXST_FLOW reply entries.
    NxFlow(Vec<NxFlowStats>),
    /// Nicira NXST_AGGREGATE reply.
    NxAggregate(AggregateStats),
    /// Nicira NXST_GROUP_DESC reply (1.5 layout, the connection's actions).
    NxGroupDesc(Vec<GroupDesc>),
    /// Anything else.
    Other {
        /// Multipart type.
        ty: u16,
        /// Body.
        body: Vec<u8>,
    },
}

/// A multipart/stats reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartReply {
    /// Flags ([`MORE`]).
    pub flags: u16,
    /// Body.
    pub body: ReplyBody,
}

fn read_hdr(version: Version, r: &mut Reader<'_>) -> Result<(u16, u16), ErrorKind> {
    let t = r.u16()?;
    let flags = r.u16()?;
    if version != Version::V1_0 {
        r.skip(4)?;
    }
    Ok((t, flags))
}

fn write_hdr(version: Version, t: u16, flags: u16, w: &mut Vec<u8>) {
    w.put_u16(t);
    w.put_u16(flags);
    if version != Version::V1_0 {
        w.put_u32(0);
    }
}

/// If the body is a Nicira NXST_FLOW/NXST_AGGREGATE, consumes the vendor
/// header and returns the subtype; otherwise consumes nothing.
fn nx_stats_subtype(
    version: Version,
    t: u16,
    r: &mut Reader<'_>,
) -> Result<Option<u32>, ErrorKind> {
    if t != ty::EXPERIMENTER {
        return Ok(None);
    }
    let mut p = r.clone();
    let (Ok(vendor), Ok(sub)) = (p.u32(), p.u32()) else {
        return Ok(None);
    };
    use nicira::subtypes::{ST_AGGREGATE, ST_FLOW, ST_GROUP_DESC};
    if vendor != nicira::VENDOR || !matches!(sub, ST_FLOW | ST_AGGREGATE | ST_GROUP_DESC) {
        return Ok(None);
    }
    if version == Version::V1_0 {
        p.skip(4)?;
    }
    *r = p;
    Ok(Some(sub))
}

fn write_nx_stats_prefix(version: Version, sub: u32, w: &mut Vec<u8>) {
    w.put_u32(nicira::VENDOR);
    w.put_u32(sub);
    if version == Version::V1_0 {
        w.put_u32(0);
    }
}

fn id_pad(r: &mut Reader<'_>) -> Result<u32, ErrorKind> {
    let id = r.u32()?;
    r.skip(4)?;
    Ok(id)
}

/// Multipart types a version does not have.
fn check_type_in_version(version: Version, t: u16) -> Result<(), EncodeError> {
    let ok = match t {
        ty::GROUP..=ty::TABLE_FEATURES => version >= Version::V1_1,
        ty::TABLE_DESC | ty::QUEUE_DESC => version >= Version::V1_4,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(EncodeError::NotInVersion("multipart type"))
    }
}

fn decode_flow_req(version: Version, r: &mut Reader<'_>) -> Result<FlowStatsRequest, ErrorKind> {
    let mut q = FlowStatsRequest::default();
    if version == Version::V1_0 {
        q.match_ = Match::decode_of10(r)?;
        q.table_id = r.u8()?;
        r.skip(1)?;
        q.out_port = port_from_of10(r.u16()?);
    } else {
        q.table_id = r.u8()?;
        r.skip(3)?;
        q.out_port = r.u32()?;
        q.out_group = r.u32()?;
        r.skip(4)?;
        q.cookie = r.u64()?;
        q.cookie_mask = r.u64()?;
        q.match_ = Match::decode_oxm(r)?;
    }
    Ok(q)
}

fn encode_flow_req(
    version: Version,
    q: &FlowStatsRequest,
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    if version == Version::V1_0 {
        q.match_.encode_of10(w)?;
        w.put_u8(q.table_id);
        w.put_u8(0);
        w.put_u16(of10_port(q.out_port)?);
    } else {
        w.put_u8(q.table_id);
        w.put_zeros(3);
        w.put_u32(q.out_port);
        w.put_u32(q.out_group);
        w.put_zeros(4);
        w.put_u64(q.cookie);
        w.put_u64(q.cookie_mask);
        q.match_.encode_oxm(version, w);
    }
    Ok(())
}

impl MultipartRequest {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Self, ErrorKind> {
        let (t, flags) = read_hdr(version, r)?;
        let v10 = version == Version::V1_0;
        if let Some(sub) = nx_stats_subtype(version, t, r)? {
            let body = match sub {
                nicira::subtypes::ST_FLOW => {
                    RequestBody::NxFlow(nicira::decode_flow_stats_request(r)?)
                }
                nicira::subtypes::ST_AGGREGATE => {
                    RequestBody::NxAggregate(nicira::decode_flow_stats_request(r)?)
                }
                _ => RequestBody::NxGroupDesc {
                    group_id: id_pad(r)?,
                },
            };
            return Ok(MultipartRequest { flags, body });
        }
        let body = match t {
            ty::DESC => RequestBody::Desc,
            ty::FLOW => RequestBody::Flow(decode_flow_req(version, r)?),
            ty::AGGREGATE => RequestBody::Aggregate(decode_flow_req(version, r)?),
            ty::TABLE => RequestBody::Table,
            ty::PORT_DESC if version == Version::V1_5 => {
                let port_no = r.u32()?;
                r.skip(4)?;
                RequestBody::PortDesc { port_no }
            }
            ty::PORT_DESC => RequestBody::PortDesc {
                port_no: ports::ANY,
            },
            ty::PORT_STATS => {
                let port_no = if v10 {
                    // 1.0's "all ports" is OFPP_NONE, which converts to ANY.
                    let p = port_from_of10(r.u16()?);
                    r.skip(6)?;
                    p
                } else {
                    let p = r.u32()?;
                    r.skip(4)?;
                    p
                };
                RequestBody::PortStats { port_no }
            }
            ty::QUEUE_STATS => {
                let port_no = if v10 {
                    let p = port_from_of10(r.u16()?);
                    r.skip(2)?;
                    if p == ports::ALL { ports::ANY } else { p }
                } else {
                    r.u32()?
                };
                RequestBody::QueueStats {
                    port_no,
                    queue_id: r.u32()?,
                }
            }
            ty::GROUP if !v10 => RequestBody::Group {
                group_id: id_pad(r)?,
            },
            ty::GROUP_DESC if version >= Version::V1_5 => RequestBody::GroupDesc {
                group_id: id_pad(r)?,
            },
            ty::GROUP_DESC if !v10 => RequestBody::GroupDesc {
                group_id: GROUP_ALL,
            },
            ty::GROUP_FEATURES if !v10 => RequestBody::GroupFeatures,
            ty::METER if !v10 => RequestBody::Meter {
                meter_id: id_pad(r)?,
            },
            ty::METER_CONFIG if !v10 => RequestBody::MeterConfig {
                meter_id: id_pad(r)?,
            },
            ty::METER_FEATURES if !v10 => RequestBody::MeterFeatures,
            ty::TABLE_FEATURES if !v10 => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(TableFeatures::decode(r)?);
                }
                RequestBody::TableFeatures(v)
            }
            ty::TABLE_DESC if version >= Version::V1_4 => RequestBody::TableDesc,
            ty::QUEUE_DESC if version >= Version::V1_4 => RequestBody::QueueDesc {
                port_no: r.u32()?,
                queue_id: r.u32()?,
            },
            _ => RequestBody::Other {
                ty: t,
                body: r.rest().to_vec(),
            },
        };
        Ok(MultipartRequest { flags, body })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let t = match &self.body {
            RequestBody::Desc => ty::DESC,
            RequestBody::Flow(_) => ty::FLOW,
            RequestBody::Aggregate(_) => ty::AGGREGATE,
            RequestBody::Table => ty::TABLE,
            RequestBody::PortDesc { .. } => ty::PORT_DESC,
            RequestBody::PortStats { .. } => ty::PORT_STATS,
            RequestBody::QueueStats { .. } => ty::QUEUE_STATS,
            RequestBody::Group { .. } => ty::GROUP,
            RequestBody::GroupDesc { .. } => ty::GROUP_DESC,
            RequestBody::GroupFeatures => ty::GROUP_FEATURES,
            RequestBody::Meter { .. } => ty::METER,
            RequestBody::MeterConfig { .. } => ty::METER_CONFIG,
            RequestBody::MeterFeatures => ty::METER_FEATURES,
            RequestBody::TableFeatures(_) => ty::TABLE_FEATURES,
            RequestBody::TableDesc => ty::TABLE_DESC,
            RequestBody::QueueDesc { .. } => ty::QUEUE_DESC,
            RequestBody::NxFlow(_)
            | RequestBody::NxAggregate(_)
            | RequestBody::NxGroupDesc { .. } => ty::EXPERIMENTER,
            RequestBody::Other { ty, .. } => *ty,
        };
        check_type_in_version(version, t)?;
        write_hdr(version, t, self.flags, w);
        match &self.body {
            RequestBody::NxFlow(q) => {
                write_nx_stats_prefix(version, nicira::subtypes::ST_FLOW, w);
                return nicira::encode_flow_stats_request(q, w);
            }
            RequestBody::NxAggregate(q) => {
                write_nx_stats_prefix(version, nicira::subtypes::ST_AGGREGATE, w);
                return nicira::encode_flow_stats_request(q, w);
            }
            RequestBody::NxGroupDesc { group_id } => {
                write_nx_stats_prefix(version, nicira::subtypes::ST_GROUP_DESC, w);
                w.put_u32(*group_id);
                w.put_u32(0);
                return Ok(());
            }
            _ => {}
        }
        let v10 = version == Version::V1_0;
        match &self.body {
            RequestBody::Flow(q) | RequestBody::Aggregate(q) => encode_flow_req(version, q, w)?,
            RequestBody::PortDesc { port_no } if version == Version::V1_5 => {
                w.put_u32(*port_no);
                w.put_zeros(4);
            }
            RequestBody::PortStats { port_no } => {
                if v10 {
                    w.put_u16(of10_port(*port_no)?);
                    w.put_zeros(6);
                } else {
                    w.put_u32(*port_no);
                    w.put_zeros(4);
                }
            }
            RequestBody::QueueStats { port_no, queue_id } => {
                if v10 {
                    let p = if *port_no == ports::ANY {
                        ports::ALL
                    } else {
                        *port_no
                    };
                    w.put_u16(of10_port(p)?);
                    w.put_u16(0);
                } else {
                    w.put_u32(*port_no);
                }
                w.put_u32(*queue_id);
            }
            RequestBody::Group { group_id: id }
            | RequestBody::Meter { meter_id: id }
            | RequestBody::MeterConfig { meter_id: id } => {
                w.put_u32(*id);
                w.put_u32(0);
            }
            RequestBody::GroupDesc { group_id } => {
                if version >= Version::V1_5 {
                    w.put_u32(*group_id);
                    w.put_u32(0);
                } else if *group_id != GROUP_ALL {
                    return Err(EncodeError::NotInVersion(
                        "group-desc request for one group before 1.5",
                    ));
                }
            }
            RequestBody::TableFeatures(v) => {
                for t in v {
                    t.encode(w)?;
                }
            }
            RequestBody::QueueDesc { port_no, queue_id } => {
                w.put_u32(*port_no);
                w.put_u32(*queue_id);
            }
            RequestBody::Other { body, .. } => w.extend_from_slice(body),
            _ => {}
        }
        Ok(())
    }
}

fn decode_flow_stats(version: Version, r: &mut Reader<'_>) -> Result<FlowStats, ErrorKind> {
    let len = usize::from(r.peek_u16(0)?);
    let fixed = if version == Version::V1_0 { 88 } else { 56 };
    if len < fixed || len > r.remaining() {
        return Err(ErrorKind::BadRequestBadLen);
    }
    let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
    e.skip(2)?;
    let table_id = e.u8()?;
    e.skip(1)?;
    let m10 = if version == Version::V1_0 {
        Some(Match::decode_of10(&mut e)?)
    } else {
        None
    };
    let duration_sec = e.u32()?;
    let duration_nsec = e.u32()?;
    let priority = e.u16()?;
    let idle_timeout = e.u16()?;
    let hard_timeout = e.u16()?;
    let flags = if version == Version::V1_0 {
        e.skip(6)?;
        0
    } else {
        let f = e.u16()?;
        e.skip(4)?;
        f
    };
    let cookie = e.u64()?;
    let packet_count = e.u64()?;
    let byte_count = e.u64()?;
    let (match_, instructions) = match m10 {
        Some(m) => {
            let mut a = Reader::new(e.rest(), ErrorKind::BadActionBadLen);
            (m, of10_instructions(decode_actions(version, &mut a)?))
        }
        None => {
            let m = Match::decode_oxm(&mut e)?;
            let mut i = Reader::new(e.rest(), ErrorKind::BadInstructionBadLen);
            (m, decode_instructions(version, &mut i)?)
        }
    };
    Ok(FlowStats {
        table_id,
        duration_sec,
        duration_nsec,
        priority,
        idle_timeout,
        hard_timeout,
        flags,
        cookie,
        packet_count,
        byte_count,
        match_,
        instructions,
    })
}

fn encode_flow_stats(version: Version, s: &FlowStats, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = w.len();
    w.put_u16(0);
    w.put_u8(s.table_id);
    w.put_u8(0);
    if version == Version::V1_0 {
        s.match_.encode_of10(w)?;
    }
    w.put_u32(s.duration_sec);
    w.put_u32(s.duration_nsec);
    w.put_u16(s.priority);
    w.put_u16(s.idle_timeout);
    w.put_u16(s.hard_timeout);
    if version == Version::V1_0 {
        w.put_zeros(6);
    } else {
        w.put_u16(s.flags);
        w.put_zeros(4);
    }
    w.put_u64(s.cookie);
    w.put_u64(s.packet_count);
    w.put_u64(s.byte_count);
    if version == Version::V1_0 {
        encode_actions(version, of10_actions(&s.instructions)?, w)?;
    } else {
        s.match_.encode_oxm(version, w);
        encode_instructions(version, &s.instructions, w)?;
    }
    let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
    w.patch_u16(start, len);
    Ok(())
}

fn decode_table_stats(version: Version, r: &mut Reader<'_>) -> Result<TableStats, ErrorKind> {
    let mut t = TableStats {
        table_id: r.u8()?,
        ..TableStats::default()
    };
    r.skip(3)?;
    if version == Version::V1_0 {
        t.name = get_str(r, 32)?;
        t.wildcards = r.u32()?;
        t.max_entries = r.u32()?;
    }
    t.active_count = r.u32()?;
    t.lookup_count = r.u64()?;
    t.matched_count = r.u64()?;
    Ok(t)
}

fn encode_table_stats(version: Version, t: &TableStats, w: &mut Vec<u8>) {
    w.put_u8(t.table_id);
    w.put_zeros(3);
    if version == Version::V1_0 {
        put_str(w, &t.name, 32);
        w.put_u32(t.wildcards);
        w.put_u32(t.max_entries);
    }
    w.put_u32(t.active_count);
    w.put_u64(t.lookup_count);
    w.put_u64(t.matched_count);
}

impl ReplyBody {
    fn ty(&self) -> u16 {
        match self {
            ReplyBody::Desc(_) => ty::DESC,
            ReplyBody::Flow(_) => ty::FLOW,
            ReplyBody::Aggregate(_) => ty::AGGREGATE,
            ReplyBody::Table(_) => ty::TABLE,
            ReplyBody::PortDesc(_) => ty::PORT_DESC,
            ReplyBody::PortStats(_) => ty::PORT_STATS,
            ReplyBody::QueueStats(_) => ty::QUEUE_STATS,
            ReplyBody::Group(_) => ty::GROUP,
            ReplyBody::GroupDesc(_) => ty::GROUP_DESC,
            ReplyBody::GroupFeatures(_) => ty::GROUP_FEATURES,
            ReplyBody::Meter(_) => ty::METER,
            ReplyBody::MeterConfig(_) => ty::METER_CONFIG,
            ReplyBody::MeterFeatures(_) => ty::METER_FEATURES,
            ReplyBody::TableFeatures(_) => ty::TABLE_FEATURES,
            ReplyBody::TableDesc(_) => ty::TABLE_DESC,
            ReplyBody::QueueDesc(_) => ty::QUEUE_DESC,
            ReplyBody::Flow15(_) => ty::FLOW,
            ReplyBody::Aggregate15(_) => ty::AGGREGATE,
            ReplyBody::NxFlow(_) | ReplyBody::NxAggregate(_) | ReplyBody::NxGroupDesc(_) => {
                ty::EXPERIMENTER
            }
            ReplyBody::Other { ty, .. } => *ty,
        }
    }

    /// Bytes every message of this reply repeats after the multipart
    /// header (the Nicira statistics header).
    fn prefix(&self, version: Version) -> Vec<u8> {
        let mut w = Vec::new();
        match self {
            ReplyBody::NxFlow(_) => {
                write_nx_stats_prefix(version, nicira::subtypes::ST_FLOW, &mut w)
            }
            ReplyBody::NxAggregate(_) => {
                write_nx_stats_prefix(version, nicira::subtypes::ST_AGGREGATE, &mut w)
            }
            ReplyBody::NxGroupDesc(_) => {
                write_nx_stats_prefix(version, nicira::subtypes::ST_GROUP_DESC, &mut w)
            }
            _ => {}
        }
        w
    }

    /// The body as separately encoded entries (one for non-list bodies).
    fn encode_entries(&self, version: Version) -> Result<Vec<Vec<u8>>, EncodeError> {
        check_type_in_version(version, self.ty())?;
        let mut out = Vec::new();
        fn each<T>(
            out: &mut Vec<Vec<u8>>,
            v: &[T],
            mut f: impl FnMut(&T, &mut Vec<u8>) -> Result<(), EncodeError>,
        ) -> Result<(), EncodeError> {
            for x in v {
                let mut w = Vec::new();
                f(x, &mut w)?;
                out.push(w);
            }
            Ok(())
        }
        match self {
            ReplyBody::PortStats(v) => each(&mut out, v, |x, w| x.encode(version, w))?,
            ReplyBody::QueueStats(v) => each(&mut out, v, |x, w| x.encode(version, w))?,
            ReplyBody::Group(v) => each(&mut out, v, |x, w| x.encode(w))?,
            ReplyBody::GroupDesc(v) => each(&mut out, v, |x, w| x.encode(version, w))?,
            ReplyBody::GroupFeatures(f) => {
                let mut w = Vec::new();
                f.encode(&mut w);
                out.push(w);
            }
            ReplyBody::Meter(v) => each(&mut out, v, |x, w| x.encode(w))?,
            ReplyBody::MeterConfig(v) => each(&mut out, v, |x, w| x.encode(w))?,
            ReplyBody::MeterFeatures(f) => {
                let mut w = Vec::new();
                f.encode(&mut w);
                out.push(w);
            }
            ReplyBody::TableFeatures(v) => each(&mut out, v, |x, w| x.encode(w))?,
            ReplyBody::TableDesc(v) => each(&mut out, v, |x, w| x.encode(w))?,
            ReplyBody::QueueDesc(v) => each(&mut out, v, encode_queue_desc)?,
            ReplyBody::NxFlow(v) => each(&mut out, v, |x, w| {
                nicira::encode_nx_flow_stats(version, x, w)
            })?,
            ReplyBody::NxGroupDesc(v) => each(&mut out, v, |x, w| x.encode_nx(version, w))?,
            ReplyBody::NxAggregate(a) => {
                let mut w = Vec::new();
                w.put_u64(a.packet_count);
                w.put_u64(a.byte_count);
                w.put_u32(a.flow_count);
                w.put_u32(0);
                out.push(w);
            }
            ReplyBody::Desc(d) => {
                let mut w = Vec::with_capacity(1056);
                put_str(&mut w, &d.mfr_desc, 256);
                put_str(&mut w, &d.hw_desc, 256);
                put_str(&mut w, &d.sw_desc, 256);
                put_str(&mut w, &d.serial_num, 32);
                put_str(&mut w, &d.dp_desc, 256);
                out.push(w);
            }
            ReplyBody::Flow(v) if version >= Version::V1_5 => {
                each(&mut out, v, |x, w| FlowStats15::from_stats(x).encode(w))?
            }
            ReplyBody::Flow15(v) => {
                if version < Version::V1_5 {
                    return Err(EncodeError::NotInVersion("OXS flow stats before 1.5"));
                }
                each(&mut out, v, |x, w| x.encode(w))?
            }
            ReplyBody::Aggregate(a) if version >= Version::V1_5 => {
                let mut w = Vec::new();
                encode_stats(
                    &[
                        OxsEntry::PacketCount(a.packet_count),
                        OxsEntry::ByteCount(a.byte_count),
                        OxsEntry::FlowCount(a.flow_count),
                    ],
                    &mut w,
                )?;
                out.push(w);
            }
            ReplyBody::Aggregate15(v) => {
                if version < Version::V1_5 {
                    return Err(EncodeError::NotInVersion("OXS aggregate stats before 1.5"));
                }
                let mut w = Vec::new();
                encode_stats(v, &mut w)?;
                out.push(w);
            }
            ReplyBody::Flow(v) => {
                for s in v {
                    let mut w = Vec::new();
                    encode_flow_stats(version, s, &mut w)?;
                    out.push(w);
                }
            }
            ReplyBody::Aggregate(a) => {
                let mut w = Vec::new();
                w.put_u64(a.packet_count);
                w.put_u64(a.byte_count);
                w.put_u32(a.flow_count);
                w.put_u32(0);
                out.push(w);
            }
            ReplyBody::Table(v) => {
                for t in v {
                    let mut w = Vec::new();
                    encode_table_stats(version, t, &mut w);
                    out.push(w);
                }
            }
            ReplyBody::PortDesc(v) => {
                for p in v {
                    let mut w = Vec::new();
                    p.encode(version, &mut w)?;
                    out.push(w);
                }
            }
            ReplyBody::Other { body, .. } => out.push(body.clone()),
        }
        Ok(out)
    }
}

/// Decodes entries until `r` is empty.
fn list<'a, T>(
    r: &mut Reader<'a>,
    mut f: impl FnMut(&mut Reader<'a>) -> Result<T, ErrorKind>,
) -> Result<Vec<T>, ErrorKind> {
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(f(r)?);
    }
    Ok(v)
}

impl MultipartReply {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Self, ErrorKind> {
        let (t, flags) = read_hdr(version, r)?;
        let v15 = version >= Version::V1_5;
        let v10 = version == Version::V1_0;
        if let Some(sub) = nx_stats_subtype(version, t, r)? {
            let body = match sub {
                nicira::subtypes::ST_FLOW => {
                    ReplyBody::NxFlow(list(r, |r| nicira::decode_nx_flow_stats(version, r))?)
                }
                nicira::subtypes::ST_AGGREGATE => {
                    ReplyBody::NxAggregate(nicira::decode_nx_aggregate(r)?)
                }
                _ => ReplyBody::NxGroupDesc(list(r, |r| GroupDesc::decode_nx(version, r))?),
            };
            return Ok(MultipartReply { flags, body });
        }
        let body = match t {
            ty::DESC => ReplyBody::Desc(DescStats {
                mfr_desc: get_str(r, 256)?,
                hw_desc: get_str(r, 256)?,
                sw_desc: get_str(r, 256)?,
                serial_num: get_str(r, 32)?,
                dp_desc: get_str(r, 256)?,
            }),
            ty::FLOW if !v15 => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(decode_flow_stats(version, r)?);
                }
                ReplyBody::Flow(v)
            }
            ty::FLOW => ReplyBody::Flow15(list(r, FlowStats15::decode)?),
            ty::AGGREGATE if v15 => ReplyBody::Aggregate15(decode_stats(r)?),
            ty::AGGREGATE => {
                let a = AggregateStats {
                    packet_count: r.u64()?,
                    byte_count: r.u64()?,
                    flow_count: r.u32()?,
                };
                r.skip(4)?;
                ReplyBody::Aggregate(a)
            }
            ty::TABLE => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(decode_table_stats(version, r)?);
                }
                ReplyBody::Table(v)
            }
            ty::PORT_DESC => {
                let mut v = Vec::new();
                while !r.is_empty() {
                    v.push(Port::decode(version, r)?);
                }
                ReplyBody::PortDesc(v)
            }
            ty::PORT_STATS => ReplyBody::PortStats(list(r, |r| PortStats::decode(version, r))?),
            ty::QUEUE_STATS => ReplyBody::QueueStats(list(r, |r| QueueStats::decode(version, r))?),
            ty::GROUP if !v10 => ReplyBody::Group(list(r, GroupStats::decode)?),
            ty::GROUP_DESC if !v10 => {
                ReplyBody::GroupDesc(list(r, |r| GroupDesc::decode(version, r))?)
            }
            ty::GROUP_FEATURES if !v10 => ReplyBody::GroupFeatures(GroupFeatures::decode(r)?),
            ty::METER if !v10 => ReplyBody::Meter(list(r, MeterStats::decode)?),
            ty::METER_CONFIG if !v10 => ReplyBody::MeterConfig(list(r, MeterConfig::decode)?),
            ty::METER_FEATURES if !v10 => ReplyBody::MeterFeatures(MeterFeatures::decode(r)?),
            ty::TABLE_FEATURES if !v10 => ReplyBody::TableFeatures(list(r, TableFeatures::decode)?),
            ty::TABLE_DESC if version >= Version::V1_4 => {
                ReplyBody::TableDesc(list(r, TableDesc::decode)?)
            }
            ty::QUEUE_DESC if version >= Version::V1_4 => {
                ReplyBody::QueueDesc(list(r, decode_queue_desc)?)
            }
            _ => ReplyBody::Other {
                ty: t,
                body: r.rest().to_vec(),
            },
        };
        Ok(MultipartReply { flags, body })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_hdr(version, self.body.ty(), self.flags, w);
        w.extend_from_slice(&self.body.prefix(version));
        for e in self.body.encode_entries(version)? {
            w.extend_from_slice(&e);
        }
        Ok(())
    }

    /// Encodes as one or more messages of at most 65535 bytes, all with
    /// `xid`, the MORE flag set on all but the last. An entry too large for
    /// a message on its own is `TooLong`.
    pub fn encode_split(&self, version: Version, xid: u32) -> Result<Vec<Vec<u8>>, EncodeError> {
        let t = Message::MultipartReply(self.clone())
            .msg_type()
            .wire(version)
            .ok_or(EncodeError::NotInVersion("multipart reply"))?;
        let prefix = self.body.prefix(version);
        let overhead = 8 + if version == Version::V1_0 { 4 } else { 8 } + prefix.len();
        let entries = self.body.encode_entries(version)?;
        let mut chunks: Vec<Vec<u8>> = vec![Vec::new()];
        for e in entries {
            if overhead + e.len() > MAX_MSG_LEN {
                return Err(EncodeError::TooLong);
            }
            let cur = chunks.last().map_or(0, Vec::len);
            if overhead + cur + e.len() > MAX_MSG_LEN {
                chunks.push(Vec::new());
            }
            if let Some(c) = chunks.last_mut() {
                c.extend_from_slice(&e);
            }
        }
        let n = chunks.len();
        let mut out = Vec::with_capacity(n);
        for (i, c) in chunks.into_iter().enumerate() {
            let flags = if i + 1 < n {
                self.flags | MORE
            } else {
                self.flags & !MORE
            };
            let mut w = Vec::with_capacity(overhead + c.len());
            w.put_u8(version.wire());
            w.put_u8(t);
            w.put_u16((overhead + c.len()) as u16);
            w.put_u32(xid);
            write_hdr(version, self.body.ty(), flags, &mut w);
            w.extend_from_slice(&prefix);
            w.extend_from_slice(&c);
            out.push(w);
        }
        Ok(out)
    }
}
