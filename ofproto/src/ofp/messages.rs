//! [`Message`]: every OpenFlow message as a version-independent value, with
//! [`Message::decode`] and [`Message::encode`].
//!
//! Contract:
//! * `decode` takes exactly one whole message (as the framing
//!   [`Decoder`](super::Decoder) yields). A header length that differs from
//!   the bytes given, or a body too short for its fixed part, is
//!   `BadRequestBadLen`; an unknown version `BadRequestBadVersion` (HELLO is
//!   accepted with any version); an unknown type `BadRequestBadType`.
//!   Errors inside matches, actions and instructions are their own kinds.
//! * Types this codec does not model (1.5 CONTROLLER_STATUS) decode as
//!   [`Message::Other`] with the body bytes, so they round-trip.
//! * `encode` writes the version's layout and fails with `TooLong` above
//!   65535 bytes or `NotInVersion` for what the version cannot express.

use super::Version;
use super::actions::{Action, decode_actions, encode_actions};
use super::control::{
    AsyncConfig, BundleAdd, BundleControl, PortMod, QueueGetConfigReply, RequestForward, Role,
    RoleStatus, TableMod, TableStatus, decode_queue_get_config_request,
    encode_queue_get_config_request,
};
use super::error::{EncodeError, ErrorKind, ErrorMsg, NX_VENDOR_ID};
use super::group::GroupMod;
use super::header::{HEADER_LEN, Header, MAX_MSG_LEN, MsgType};
use super::hello::Hello;
use super::instructions::{Instruction, decode_instructions, encode_instructions};
use super::matching::Match;
use super::meter::MeterMod;
use super::multipart::{MultipartReply, MultipartRequest};
use super::nicira::NxMessage;
use super::oxm::Field;
use super::oxs::{OxsEntry, decode_stats, encode_stats};
use super::port::{Port, PortNo, of10_port, port_from_of10, ports};
use super::wire::{Put, Reader};

/// Buffer id meaning "no buffer".
pub const NO_BUFFER: u32 = 0xffff_ffff;
/// Group id meaning "any group" (flow-mod `out_group` wildcard).
pub const GROUP_ANY: u32 = 0xffff_ffff;

/// An experimenter (1.0: vendor) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experimenter {
    /// Experimenter id.
    pub experimenter: u32,
    /// Experimenter-defined type (Nicira: subtype).
    pub exp_type: u32,
    /// The rest of the body.
    pub data: Vec<u8>,
}

/// FEATURES_REPLY body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FeaturesReply {
    /// Datapath id.
    pub datapath_id: u64,
    /// Packets the switch can buffer.
    pub n_buffers: u32,
    /// Number of tables.
    pub n_tables: u8,
    /// Auxiliary connection id (1.3+).
    pub auxiliary_id: u8,
    /// `OFPC_*` bits as on the wire of the version.
    pub capabilities: u32,
    /// 1.0: supported actions bitmap; 1.3+: reserved.
    pub actions: u32,
    /// Ports (1.0 only; later versions use PORT_DESC).
    pub ports: Vec<Port>,
}

/// GET_CONFIG_REPLY / SET_CONFIG body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwitchConfig {
    /// `OFPC_FRAG_*` flags.
    pub flags: u16,
    /// Bytes of a table-miss packet to send to the controller.
    pub miss_send_len: u16,
}

/// FLOW_MOD command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowModCommand {
    /// Add a flow.
    Add,
    /// Modify matching flows.
    Modify,
    /// Modify the flow with this exact match and priority.
    ModifyStrict,
    /// Delete matching flows.
    Delete,
    /// Delete the flow with this exact match and priority.
    DeleteStrict,
}

impl FlowModCommand {
    pub(crate) fn from_wire(v: u8) -> Result<Self, ErrorKind> {
        Ok(match v {
            0 => Self::Add,
            1 => Self::Modify,
            2 => Self::ModifyStrict,
            3 => Self::Delete,
            4 => Self::DeleteStrict,
            _ => return Err(ErrorKind::FlowModFailedBadCommand),
        })
    }
    pub(crate) fn wire(self) -> u8 {
        self as u8
    }
}

/// Version-independent FLOW_MOD flag bits.
pub mod flow_mod_flags {
    /// Send FLOW_REMOVED when the flow expires or is deleted.
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    /// Fail an add that overlaps an existing flow.
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    /// Reset counters of modified flows (1.3+).
    pub const RESET_COUNTS: u16 = 1 << 2;
    /// Do not count packets (1.3+).
    pub const NO_PKT_COUNTS: u16 = 1 << 3;
    /// Do not count bytes (1.3+).
    pub const NO_BYT_COUNTS: u16 = 1 << 4;
    /// OpenFlow 1.0 emergency flow (wire bit 2 in 1.0).
    pub const EMERG: u16 = 1 << 15;
}
use flow_mod_flags as ff;

/// FLOW_MOD body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowMod {
    /// Cookie.
    pub cookie: u64,
    /// Cookie mask for modify/delete (1.1+).
    pub cookie_mask: u64,
    /// Table (255 = all, for deletes). In 1.0 carried in the command's
    /// upper byte, as Open vSwitch's table-id extension does.
    pub table_id: u8,
    /// Command.
    pub command: FlowModCommand,
    /// Idle timeout in seconds.
    pub idle_timeout: u16,
    /// Hard timeout in seconds.
    pub hard_timeout: u16,
    /// Priority.
    pub priority: u16,
    /// Buffered packet to apply to, or [`NO_BUFFER`].
    pub buffer_id: u32,
    /// Delete filter on output port ([`ports::ANY`] = none).
    pub out_port: PortNo,
    /// Delete filter on output group ([`GROUP_ANY`] = none).
    pub out_group: u32,
    /// Flags ([`flow_mod_flags`]).
    pub flags: u16,
    /// Eviction importance (1.4+).
    pub importance: u16,
    /// Match.
    pub match_: Match,
    /// Instructions (1.0: at most one `ApplyActions`).
    pub instructions: Vec<Instruction>,
}

impl FlowMod {
    /// A flow mod with the defaults `ovs-ofctl` uses: table 0, priority
    /// 32768, no buffer, no out_port/out_group filter.
    pub fn new(command: FlowModCommand) -> FlowMod {
        FlowMod {
            cookie: 0,
            cookie_mask: 0,
            table_id: 0,
            command,
            idle_timeout: 0,
            hard_timeout: 0,
            priority: 0x8000,
            buffer_id: NO_BUFFER,
            out_port: ports::ANY,
            out_group: GROUP_ANY,
            flags: 0,
            importance: 0,
            match_: Match::new(),
            instructions: Vec::new(),
        }
    }
}

/// PACKET_IN body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketIn {
    /// Buffer id or [`NO_BUFFER`].
    pub buffer_id: u32,
    /// Full length of the frame.
    pub total_len: u16,
    /// Reason (`OFPR_*` of the version).
    pub reason: u8,
    /// Table the packet was in (1.3+).
    pub table_id: u8,
    /// Cookie of the flow (1.3+).
    pub cookie: u64,
    /// Pipeline fields (1.0: only `in_port`).
    pub match_: Match,
    /// The (possibly truncated) frame.
    pub data: Vec<u8>,
}

/// PACKET_OUT body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketOut {
    /// Buffer id or [`NO_BUFFER`].
    pub buffer_id: u32,
    /// Input port ([`ports::CONTROLLER`] for none).
    pub in_port: PortNo,
    /// Other pipeline fields (1.5 only; empty otherwise).
    pub metadata: Match,
    /// Actions.
    pub actions: Vec<Action>,
    /// Frame (empty when buffered).
    pub data: Vec<u8>,
}

/// FLOW_REMOVED body (1.5: statistics from OXS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRemoved {
    /// Cookie.
    pub cookie: u64,
    /// Priority.
    pub priority: u16,
    /// Reason (`OFPRR_*`).
    pub reason: u8,
    /// Table (1.3+).
    pub table_id: u8,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond `duration_sec`.
    pub duration_nsec: u32,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout (1.3+).
    pub hard_timeout: u16,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Match.
    pub match_: Match,
}

/// PORT_STATUS body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortStatus {
    /// `OFPPR_ADD` 0, `DELETE` 1, `MODIFY` 2.
    pub reason: u8,
    /// The port.
    pub port: Port,
}

/// An OpenFlow message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Message {
    Hello(Hello),
    Error(ErrorMsg),
    EchoRequest(Vec<u8>),
    EchoReply(Vec<u8>),
    Experimenter(Experimenter),
    FeaturesRequest,
    FeaturesReply(FeaturesReply),
    GetConfigRequest,
    GetConfigReply(SwitchConfig),
    SetConfig(SwitchConfig),
    PacketIn(PacketIn),
    FlowRemoved(FlowRemoved),
    PortStatus(PortStatus),
    PacketOut(PacketOut),
    FlowMod(FlowMod),
    MultipartRequest(MultipartRequest),
    MultipartReply(MultipartReply),
    BarrierRequest,
    BarrierReply,
    GroupMod(GroupMod),
    PortMod(PortMod),
    TableMod(TableMod),
    /// QUEUE_GET_CONFIG_REQUEST (1.0-1.3) for this port.
    QueueGetConfigRequest(PortNo),
    QueueGetConfigReply(QueueGetConfigReply),
    RoleRequest(Role),
    RoleReply(Role),
    GetAsyncRequest,
    GetAsyncReply(AsyncConfig),
    SetAsync(AsyncConfig),
    MeterMod(MeterMod),
    BundleControl(BundleControl),
    BundleAdd(BundleAdd),
    RoleStatus(RoleStatus),
    TableStatus(TableStatus),
    RequestForward(RequestForward),
    /// A Nicira extension message (VENDOR/EXPERIMENTER with id 0x2320 and a
    /// modelled subtype; others stay [`Message::Experimenter`]).
    Nx(NxMessage),
    /// A message type this slice does not model, kept as bytes.
    Other {
        /// Its type.
        msg_type: MsgType,
        /// Its body.
        body: Vec<u8>,
    },
}

impl Message {
    /// The message's type.
    pub fn msg_type(&self) -> MsgType {
        match self {
            Message::Hello(_) => MsgType::Hello,
            Message::Error(_) => MsgType::Error,
            Message::EchoRequest(_) => MsgType::EchoRequest,
            Message::EchoReply(_) => MsgType::EchoReply,
            Message::Experimenter(_) | Message::Nx(_) => MsgType::Experimenter,
            Message::FeaturesRequest => MsgType::FeaturesRequest,
            Message::FeaturesReply(_) => MsgType::FeaturesReply,
            Message::GetConfigRequest => MsgType::GetConfigRequest,
            Message::GetConfigReply(_) => MsgType::GetConfigReply,
            Message::SetConfig(_) => MsgType::SetConfig,
            Message::PacketIn(_) => MsgType::PacketIn,
            Message::FlowRemoved(_) => MsgType::FlowRemoved,
            Message::PortStatus(_) => MsgType::PortStatus,
            Message::PacketOut(_) => MsgType::PacketOut,
            Message::FlowMod(_) => MsgType::FlowMod,
            Message::MultipartRequest(_) => MsgType::MultipartRequest,
            Message::MultipartReply(_) => MsgType::MultipartReply,
            Message::BarrierRequest => MsgType::BarrierRequest,
            Message::BarrierReply => MsgType::BarrierReply,
            Message::GroupMod(_) => MsgType::GroupMod,
            Message::PortMod(_) => MsgType::PortMod,
            Message::TableMod(_) => MsgType::TableMod,
            Message::QueueGetConfigRequest(_) => MsgType::QueueGetConfigRequest,
            Message::QueueGetConfigReply(_) => MsgType::QueueGetConfigReply,
            Message::RoleRequest(_) => MsgType::RoleRequest,
            Message::RoleReply(_) => MsgType::RoleReply,
            Message::GetAsyncRequest => MsgType::GetAsyncRequest,
            Message::GetAsyncReply(_) => MsgType::GetAsyncReply,
            Message::SetAsync(_) => MsgType::SetAsync,
            Message::MeterMod(_) => MsgType::MeterMod,
            Message::BundleControl(_) => MsgType::BundleControl,
            Message::BundleAdd(_) => MsgType::BundleAddMessage,
            Message::RoleStatus(_) => MsgType::RoleStatus,
            Message::TableStatus(_) => MsgType::TableStatus,
            Message::RequestForward(_) => MsgType::RequestForward,
            Message::Other { msg_type, .. } => *msg_type,
        }
    }

    /// Decodes one whole message.
    pub fn decode(bytes: &[u8]) -> Result<(Header, Message), ErrorKind> {
        let h = Header::parse(bytes)?;
        if usize::from(h.length) != bytes.len() || bytes.len() < HEADER_LEN {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut r = Reader::new(&bytes[HEADER_LEN..], ErrorKind::BadRequestBadLen);
        if h.msg_type == 0 {
            return Ok((h, Message::Hello(Hello::decode(&mut r)?)));
        }
        let version = Version::from_wire(h.version)
            .filter(|v| v.is_supported())
            .ok_or(ErrorKind::BadRequestBadVersion)?;
        let t = MsgType::from_wire(version, h.msg_type).ok_or(ErrorKind::BadRequestBadType)?;
        Ok((h, Message::decode_body(version, t, &mut r)?))
    }

    /// Decodes a body of type `t` in `version`.
    pub(crate) fn decode_body(
        version: Version,
        t: MsgType,
        r: &mut Reader<'_>,
    ) -> Result<Message, ErrorKind> {
        let v10 = version == Version::V1_0;
        let m = match t {
            MsgType::Hello => Message::Hello(Hello::decode(r)?),
            MsgType::Error => Message::Error(ErrorMsg::decode(version, r)?),
            MsgType::EchoRequest => Message::EchoRequest(r.rest().to_vec()),
            MsgType::EchoReply => Message::EchoReply(r.rest().to_vec()),
            MsgType::Experimenter => {
                let experimenter = r.u32()?;
                let exp_type = r.u32()?;
                if experimenter == NX_VENDOR_ID && NxMessage::is_modelled(exp_type) {
                    Message::Nx(NxMessage::decode(version, exp_type, r)?)
                } else {
                    Message::Experimenter(Experimenter {
                        experimenter,
                        exp_type,
                        data: r.rest().to_vec(),
                    })
                }
            }
            MsgType::FeaturesRequest => Message::FeaturesRequest,
            MsgType::FeaturesReply => {
                let mut f = FeaturesReply {
                    datapath_id: r.u64()?,
                    n_buffers: r.u32()?,
                    n_tables: r.u8()?,
                    ..FeaturesReply::default()
                };
                if v10 {
                    r.skip(3)?;
                } else {
                    f.auxiliary_id = r.u8()?;
                    r.skip(2)?;
                }
                f.capabilities = r.u32()?;
                f.actions = r.u32()?;
                if v10 {
                    while !r.is_empty() {
                        f.ports.push(Port::decode(version, r)?);
                    }
                }
                Message::FeaturesReply(f)
            }
            MsgType::GetConfigRequest => Message::GetConfigRequest,
            MsgType::GetConfigReply | MsgType::SetConfig => {
                let c = SwitchConfig {
                    flags: r.u16()?,
                    miss_send_len: r.u16()?,
                };
                if t == MsgType::SetConfig {
                    Message::SetConfig(c)
                } else {
                    Message::GetConfigReply(c)
                }
            }
            MsgType::PacketIn => Message::PacketIn(decode_packet_in(version, r)?),
            MsgType::FlowRemoved => Message::FlowRemoved(decode_flow_removed(version, r)?),
            MsgType::PortStatus => {
                let reason = r.u8()?;
                r.skip(7)?;
                Message::PortStatus(PortStatus {
                    reason,
                    port: Port::decode(version, r)?,
                })
            }
            MsgType::PacketOut => Message::PacketOut(decode_packet_out(version, r)?),
            MsgType::FlowMod => Message::FlowMod(decode_flow_mod(version, r)?),
            MsgType::MultipartRequest => {
                Message::MultipartRequest(MultipartRequest::decode(version, r)?)
            }
            MsgType::MultipartReply => Message::MultipartReply(MultipartReply::decode(version, r)?),
            MsgType::BarrierRequest => Message::BarrierRequest,
            MsgType::BarrierReply => Message::BarrierReply,
            MsgType::GroupMod => Message::GroupMod(GroupMod::decode(version, r)?),
            MsgType::PortMod => Message::PortMod(PortMod::decode(version, r)?),
            MsgType::TableMod => Message::TableMod(TableMod::decode(version, r)?),
            MsgType::QueueGetConfigRequest => {
                Message::QueueGetConfigRequest(decode_queue_get_config_request(version, r)?)
            }
            MsgType::QueueGetConfigReply => {
                Message::QueueGetConfigReply(QueueGetConfigReply::decode(version, r)?)
            }
            MsgType::RoleRequest => Message::RoleRequest(Role::decode(r)?),
            MsgType::RoleReply => Message::RoleReply(Role::decode(r)?),
            MsgType::GetAsyncRequest => Message::GetAsyncRequest,
            MsgType::GetAsyncReply => Message::GetAsyncReply(AsyncConfig::decode(version, r)?),
            MsgType::SetAsync => Message::SetAsync(AsyncConfig::decode(version, r)?),
            MsgType::MeterMod => Message::MeterMod(MeterMod::decode(r)?),
            MsgType::BundleControl => Message::BundleControl(BundleControl::decode(r)?),
            MsgType::BundleAddMessage => Message::BundleAdd(BundleAdd::decode(version, r)?),
            MsgType::RoleStatus => Message::RoleStatus(RoleStatus::decode(r)?),
            MsgType::TableStatus => Message::TableStatus(TableStatus::decode(r)?),
            MsgType::RequestForward => Message::RequestForward(RequestForward::decode(version, r)?),
            _ => Message::Other {
                msg_type: t,
                body: r.rest().to_vec(),
            },
        };
        Ok(m)
    }

    /// Encodes with header `version` and `xid`.
    pub fn encode(&self, version: Version, xid: u32) -> Result<Vec<u8>, EncodeError> {
        let mut w = Vec::with_capacity(64);
        self.encode_to(version, xid, &mut w)?;
        Ok(w)
    }

    /// [`Message::encode`] into `w`, which is cleared first (a caller
    /// encoding many messages reuses one buffer). On error `w` holds no
    /// message.
    pub fn encode_to(
        &self,
        version: Version,
        xid: u32,
        w: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        w.clear();
        let t = self
            .msg_type()
            .wire(version)
            .ok_or(EncodeError::NotInVersion("message type"))?;
        w.put_u8(version.wire());
        w.put_u8(t);
        w.put_u16(0);
        w.put_u32(xid);
        let r = self.encode_body(version, w);
        if r.is_err() || w.len() > MAX_MSG_LEN {
            w.clear();
            r?;
            return Err(EncodeError::TooLong);
        }
        let len = w.len() as u16;
        w.patch_u16(2, len);
        Ok(())
    }

    fn encode_body(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let v10 = version == Version::V1_0;
        match self {
            Message::Hello(h) => h.encode(w),
            Message::Error(e) => e.encode(version, w),
            Message::EchoRequest(d) | Message::EchoReply(d) => w.extend_from_slice(d),
            Message::Experimenter(e) => {
                w.put_u32(e.experimenter);
                w.put_u32(e.exp_type);
                w.extend_from_slice(&e.data);
            }
            Message::Nx(n) => {
                w.put_u32(NX_VENDOR_ID);
                w.put_u32(n.subtype());
                n.encode(version, w)?;
            }
            Message::FeaturesRequest
            | Message::GetConfigRequest
            | Message::BarrierRequest
            | Message::BarrierReply
            | Message::GetAsyncRequest => {}
            Message::GroupMod(g) => g.encode(version, w)?,
            Message::PortMod(p) => p.encode(version, w)?,
            Message::TableMod(t) => t.encode(version, w)?,
            Message::QueueGetConfigRequest(p) => encode_queue_get_config_request(version, *p, w)?,
            Message::QueueGetConfigReply(q) => q.encode(version, w)?,
            Message::RoleRequest(x) | Message::RoleReply(x) => x.encode(w),
            Message::GetAsyncReply(a) | Message::SetAsync(a) => a.encode(version, w)?,
            Message::MeterMod(m) => m.encode(version, w)?,
            Message::BundleControl(b) => b.encode(w),
            Message::BundleAdd(b) => b.encode(version, w)?,
            Message::RoleStatus(x) => x.encode(w),
            Message::TableStatus(x) => x.encode(w)?,
            Message::RequestForward(x) => x.encode(version, w)?,
            Message::FeaturesReply(f) => {
                w.put_u64(f.datapath_id);
                w.put_u32(f.n_buffers);
                w.put_u8(f.n_tables);
                if v10 {
                    w.put_zeros(3);
                } else {
                    w.put_u8(f.auxiliary_id);
                    w.put_zeros(2);
                }
                w.put_u32(f.capabilities);
                w.put_u32(f.actions);
                if v10 {
                    for p in &f.ports {
                        p.encode(version, w)?;
                    }
                } else if !f.ports.is_empty() {
                    return Err(EncodeError::NotInVersion(
                        "ports in FEATURES_REPLY after 1.0",
                    ));
                }
            }
            Message::GetConfigReply(c) | Message::SetConfig(c) => {
                w.put_u16(c.flags);
                w.put_u16(c.miss_send_len);
            }
            Message::PacketIn(p) => encode_packet_in(version, p, w)?,
            Message::FlowRemoved(f) => encode_flow_removed(version, f, w)?,
            Message::PortStatus(s) => {
                w.put_u8(s.reason);
                w.put_zeros(7);
                s.port.encode(version, w)?;
            }
            Message::PacketOut(p) => encode_packet_out(version, p, w)?,
            Message::FlowMod(f) => encode_flow_mod(version, f, w)?,
            Message::MultipartRequest(m) => m.encode(version, w)?,
            Message::MultipartReply(m) => m.encode(version, w)?,
            Message::Other { body, .. } => w.extend_from_slice(body),
        }
        Ok(())
    }
}

pub(crate) fn flags_from_wire(version: Version, f: u16) -> Result<u16, ErrorKind> {
    if version == Version::V1_0 {
        if f & !0x7 != 0 {
            return Err(ErrorKind::FlowModFailedBadFlags);
        }
        Ok((f & 0x3) | if f & 4 != 0 { ff::EMERG } else { 0 })
    } else if f & !0x1f != 0 {
        Err(ErrorKind::FlowModFailedBadFlags)
    } else {
        Ok(f)
    }
}

pub(crate) fn flags_to_wire(version: Version, f: u16) -> Result<u16, EncodeError> {
    if version == Version::V1_0 {
        if f & (ff::RESET_COUNTS | ff::NO_PKT_COUNTS | ff::NO_BYT_COUNTS) != 0 {
            return Err(EncodeError::NotInVersion("flow-mod flags in OpenFlow 1.0"));
        }
        Ok((f & 3) | if f & ff::EMERG != 0 { 4 } else { 0 })
    } else if f & ff::EMERG != 0 {
        Err(EncodeError::NotInVersion(
            "emergency flows after OpenFlow 1.0",
        ))
    } else {
        Ok(f)
    }
}

/// The actions of an OpenFlow 1.0 flow: at most one `ApplyActions`.
pub(crate) fn of10_actions(insts: &[Instruction]) -> Result<&[Action], EncodeError> {
    match insts {
        [] => Ok(&[]),
        [Instruction::ApplyActions(a)] => Ok(a),
        _ => Err(EncodeError::NotInVersion("instructions in OpenFlow 1.0")),
    }
}

pub(crate) fn of10_instructions(actions: Vec<Action>) -> Vec<Instruction> {
    if actions.is_empty() {
        Vec::new()
    } else {
        vec![Instruction::ApplyActions(actions)]
    }
}

fn decode_flow_mod(version: Version, r: &mut Reader<'_>) -> Result<FlowMod, ErrorKind> {
    let mut f = FlowMod::new(FlowModCommand::Add);
    if version == Version::V1_0 {
        f.match_ = Match::decode_of10(r)?;
        f.cookie = r.u64()?;
        let cmd = r.u16()?;
        f.command = FlowModCommand::from_wire(cmd as u8)?;
        f.table_id = (cmd >> 8) as u8;
        f.idle_timeout = r.u16()?;
        f.hard_timeout = r.u16()?;
        f.priority = r.u16()?;
        f.buffer_id = r.u32()?;
        f.out_port = port_from_of10(r.u16()?);
        f.flags = flags_from_wire(version, r.u16()?)?;
        let mut a = Reader::new(r.rest(), ErrorKind::BadActionBadLen);
        f.instructions = of10_instructions(decode_actions(version, &mut a)?);
    } else {
        f.cookie = r.u64()?;
        f.cookie_mask = r.u64()?;
        f.table_id = r.u8()?;
        f.command = FlowModCommand::from_wire(r.u8()?)?;
        f.idle_timeout = r.u16()?;
        f.hard_timeout = r.u16()?;
        f.priority = r.u16()?;
        f.buffer_id = r.u32()?;
        f.out_port = r.u32()?;
        f.out_group = r.u32()?;
        f.flags = flags_from_wire(version, r.u16()?)?;
        let imp = r.u16()?;
        if version >= Version::V1_4 {
            f.importance = imp;
        }
        f.match_ = Match::decode_oxm(r)?;
        let mut i = Reader::new(r.rest(), ErrorKind::BadInstructionBadLen);
        f.instructions = decode_instructions(version, &mut i)?;
    }
    Ok(f)
}

fn encode_flow_mod(version: Version, f: &FlowMod, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    let flags = flags_to_wire(version, f.flags)?;
    if version == Version::V1_0 {
        if f.cookie_mask != 0 {
            return Err(EncodeError::NotInVersion("cookie mask in OpenFlow 1.0"));
        }
        f.match_.encode_of10(w)?;
        w.put_u64(f.cookie);
        w.put_u16(u16::from(f.command.wire()) | u16::from(f.table_id) << 8);
        w.put_u16(f.idle_timeout);
        w.put_u16(f.hard_timeout);
        w.put_u16(f.priority);
        w.put_u32(f.buffer_id);
        w.put_u16(of10_port(f.out_port)?);
        w.put_u16(flags);
        encode_actions(version, of10_actions(&f.instructions)?, w)
    } else {
        w.put_u64(f.cookie);
        w.put_u64(f.cookie_mask);
        w.put_u8(f.table_id);
        w.put_u8(f.command.wire());
        w.put_u16(f.idle_timeout);
        w.put_u16(f.hard_timeout);
        w.put_u16(f.priority);
        w.put_u32(f.buffer_id);
        w.put_u32(f.out_port);
        w.put_u32(f.out_group);
        w.put_u16(flags);
        w.put_u16(if version >= Version::V1_4 {
            f.importance
        } else {
            0
        });
        f.match_.encode_oxm(version, w);
        encode_instructions(version, &f.instructions, w)
    }
}

fn decode_packet_in(version: Version, r: &mut Reader<'_>) -> Result<PacketIn, ErrorKind> {
    let buffer_id = r.u32()?;
    let total_len = r.u16()?;
    let mut p = PacketIn {
        buffer_id,
        total_len,
        reason: 0,
        table_id: 0,
        cookie: 0,
        match_: Match::new(),
        data: Vec::new(),
    };
    if version == Version::V1_0 {
        let in_port = port_from_of10(r.u16()?);
        p.match_.set_u64(Field::InPort, u64::from(in_port));
        p.reason = r.u8()?;
        r.skip(1)?;
    } else {
        p.reason = r.u8()?;
        p.table_id = r.u8()?;
        p.cookie = r.u64()?;
        p.match_ = Match::decode_oxm(r)?;
        r.skip(2)?;
    }
    p.data = r.rest().to_vec();
    Ok(p)
}

fn encode_packet_in(version: Version, p: &PacketIn, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    w.put_u32(p.buffer_id);
    w.put_u16(p.total_len);
    if version == Version::V1_0 {
        let in_port = p
            .match_
            .exact(Field::InPort)
            .map_or(ports::ANY, |v| v as u32);
        w.put_u16(of10_port(in_port)?);
        w.put_u8(p.reason);
        w.put_u8(0);
    } else {
        w.put_u8(p.reason);
        w.put_u8(p.table_id);
        w.put_u64(p.cookie);
        p.match_.encode_oxm(version, w);
        w.put_u16(0);
    }
    w.extend_from_slice(&p.data);
    Ok(())
}

fn decode_packet_out(version: Version, r: &mut Reader<'_>) -> Result<PacketOut, ErrorKind> {
    let buffer_id = r.u32()?;
    let mut metadata = Match::new();
    let (in_port, actions_len) = match version {
        Version::V1_0 => (port_from_of10(r.u16()?), r.u16()?),
        Version::V1_5 => {
            let alen = r.u16()?;
            r.skip(2)?;
            metadata = Match::decode_oxm(r)?;
            let p = metadata
                .exact(Field::InPort)
                .map_or(ports::CONTROLLER, |v| v as u32);
            metadata.remove(Field::InPort);
            (p, alen)
        }
        _ => {
            let p = r.u32()?;
            let alen = r.u16()?;
            r.skip(6)?;
            (p, alen)
        }
    };
    let alen = usize::from(actions_len);
    if alen > r.remaining() {
        return Err(ErrorKind::BadRequestBadLen);
    }
    let mut a = r.sub(alen, ErrorKind::BadActionBadLen)?;
    let actions = decode_actions(version, &mut a)?;
    Ok(PacketOut {
        buffer_id,
        in_port,
        metadata,
        actions,
        data: r.rest().to_vec(),
    })
}

fn encode_packet_out(version: Version, p: &PacketOut, w: &mut Vec<u8>) -> Result<(), EncodeError> {
    w.put_u32(p.buffer_id);
    let len_at;
    match version {
        Version::V1_0 => {
            w.put_u16(of10_port(p.in_port)?);
            len_at = w.len();
            w.put_u16(0);
        }
        Version::V1_5 => {
            len_at = w.len();
            w.put_u16(0);
            w.put_u16(0);
            let mut m = Match::new();
            m.set_u64(Field::InPort, u64::from(p.in_port));
            for e in p.metadata.entries() {
                m.set(e.field, e.value, e.mask);
            }
            m.encode_oxm(version, w);
        }
        _ => {
            w.put_u32(p.in_port);
            len_at = w.len();
            w.put_u16(0);
            w.put_zeros(6);
        }
    }
    if !p.metadata.is_empty() && version != Version::V1_5 {
        return Err(EncodeError::NotInVersion(
            "packet-out pipeline fields before 1.5",
        ));
    }
    let start = w.len();
    encode_actions(version, &p.actions, w)?;
    let alen = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
    w.patch_u16(len_at, alen);
    w.extend_from_slice(&p.data);
    Ok(())
}

/// OpenFlow 1.5: table, reason, priority, timeouts, cookie, match, then
/// OXS statistics (read in any order, written as Open vSwitch does).
fn decode_flow_removed15(r: &mut Reader<'_>) -> Result<FlowRemoved, ErrorKind> {
    let table_id = r.u8()?;
    let reason = r.u8()?;
    let priority = r.u16()?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let cookie = r.u64()?;
    let match_ = Match::decode_oxm(r)?;
    let mut f = FlowRemoved {
        cookie,
        priority,
        reason,
        table_id,
        duration_sec: 0,
        duration_nsec: 0,
        idle_timeout,
        hard_timeout,
        packet_count: 0,
        byte_count: 0,
        match_,
    };
    for e in decode_stats(r)? {
        match e {
            OxsEntry::Duration(s, n) => (f.duration_sec, f.duration_nsec) = (s, n),
            OxsEntry::PacketCount(c) => f.packet_count = c,
            OxsEntry::ByteCount(c) => f.byte_count = c,
            _ => {}
        }
    }
    Ok(f)
}

fn decode_flow_removed(version: Version, r: &mut Reader<'_>) -> Result<FlowRemoved, ErrorKind> {
    if version >= Version::V1_5 {
        return decode_flow_removed15(r);
    }
    let v10 = version == Version::V1_0;
    let m10 = if v10 {
        Some(Match::decode_of10(r)?)
    } else {
        None
    };
    let cookie = r.u64()?;
    let priority = r.u16()?;
    let reason = r.u8()?;
    let table_id = r.u8()?;
    let duration_sec = r.u32()?;
    let duration_nsec = r.u32()?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let packet_count = r.u64()?;
    let byte_count = r.u64()?;
    let match_ = match m10 {
        Some(m) => m,
        None => Match::decode_oxm(r)?,
    };
    Ok(FlowRemoved {
        cookie,
        priority,
        reason,
        table_id: if v10 { 0 } else { table_id },
        duration_sec,
        duration_nsec,
        idle_timeout,
        hard_timeout: if v10 { 0 } else { hard_timeout },
        packet_count,
        byte_count,
        match_,
    })
}

fn encode_flow_removed(
    version: Version,
    f: &FlowRemoved,
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let v10 = version == Version::V1_0;
    if version >= Version::V1_5 {
        w.put_u8(f.table_id);
        w.put_u8(f.reason);
        w.put_u16(f.priority);
        w.put_u16(f.idle_timeout);
        w.put_u16(f.hard_timeout);
        w.put_u64(f.cookie);
        f.match_.encode_oxm(version, w);
        return encode_stats(
            &[
                OxsEntry::Duration(f.duration_sec, f.duration_nsec),
                OxsEntry::PacketCount(f.packet_count),
                OxsEntry::ByteCount(f.byte_count),
            ],
            w,
        );
    }
    if v10 {
        f.match_.encode_of10(w)?;
    }
    w.put_u64(f.cookie);
    w.put_u16(f.priority);
    w.put_u8(f.reason);
    w.put_u8(if v10 { 0 } else { f.table_id });
    w.put_u32(f.duration_sec);
    w.put_u32(f.duration_nsec);
    w.put_u16(f.idle_timeout);
    w.put_u16(if v10 { 0 } else { f.hard_timeout });
    w.put_u64(f.packet_count);
    w.put_u64(f.byte_count);
    if !v10 {
        f.match_.encode_oxm(version, w);
    }
    Ok(())
}
