//! Controller-to-switch configuration messages: PORT_MOD, TABLE_MOD,
//! ROLE_REQUEST/REPLY, GET_ASYNC_REPLY/SET_ASYNC, QUEUE_GET_CONFIG
//! request/reply, BUNDLE_CONTROL and BUNDLE_ADD_MESSAGE.
//!
//! Contract:
//! * Each body is version-independent; the layouts of 1.0, 1.3 and 1.4/1.5
//!   are chosen by the version passed in. Port numbers are 32-bit (1.0's are
//!   converted); `config`/`mask` bits are as on the wire of the version.
//! * Property lists this codec does not interpret (TABLE_MOD properties,
//!   queue properties, bundle properties, unknown PORT_MOD properties) are
//!   kept as bytes so that decode -> encode reproduces the message.
//! * Asynchronous-message masks are [`AsyncConfig`]: a list of
//!   `(property type, mask)` in the 1.4 numbering; 1.3 carries exactly the
//!   first six (packet-in, port-status, flow-removed for master/equal and
//!   slave).
//! * A BUNDLE_ADD_MESSAGE carries a whole inner message, decoded with the
//!   same codec. An inner message whose length field is below 8 or past the
//!   end is `BundleFailedMsgBadLen`; an inner HELLO or BUNDLE_* message (no
//!   nesting) is `BundleFailedMsgUnsup`; another version
//!   `BadRequestBadVersion`.
//! * A property whose length is below 4 or past the end (PORT_MOD) or not 8
//!   (async masks) is `BadPropertyBadLen`.
//! * ROLE_STATUS, TABLE_STATUS and REQUESTFORWARD (1.4+) are the
//!   asynchronous messages a switch sends on a role change, a table change
//!   and a group/meter change made by another controller; the forwarded
//!   request is a whole GROUP_MOD or METER_MOD (anything else is
//!   `BadRequestBadType`).
//! * Truncated fixed parts are `BadRequestBadLen`; nothing panics.

use super::Version;
use super::error::{EncodeError, ErrorKind};
use super::header::{HEADER_LEN, Header, MsgType};
use super::messages::Message;
use super::port::{PortNo, of10_port, port_from_of10};
use super::wire::{Put, Reader};

/// PORT_MOD body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortMod {
    /// Port.
    pub port_no: PortNo,
    /// The port's hardware address (a sanity check).
    pub hw_addr: [u8; 6],
    /// `OFPPC_*` bits to set (wire form of the version).
    pub config: u32,
    /// Which `config` bits to change.
    pub mask: u32,
    /// Features to advertise (0 = unchanged).
    pub advertise: u32,
    /// OpenFlow 1.4+ properties other than Ethernet, as bytes.
    pub other_properties: Vec<u8>,
}

impl PortMod {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<PortMod, ErrorKind> {
        let mut p = PortMod::default();
        if version == Version::V1_0 {
            p.port_no = port_from_of10(r.u16()?);
            p.hw_addr = r.array()?;
        } else {
            p.port_no = r.u32()?;
            r.skip(4)?;
            p.hw_addr = r.array()?;
            r.skip(2)?;
        }
        p.config = r.u32()?;
        p.mask = r.u32()?;
        if version >= Version::V1_4 {
            while !r.is_empty() {
                let ty = r.peek_u16(0)?;
                let len = usize::from(r.peek_u16(2)?);
                if len < 4 || len > r.remaining() {
                    return Err(ErrorKind::BadPropertyBadLen);
                }
                let mut e = r.sub(
                    len.div_ceil(8).saturating_mul(8).min(r.remaining()),
                    r.err(),
                )?;
                if ty == 0 && len == 8 {
                    e.skip(4)?;
                    p.advertise = e.u32()?;
                } else {
                    p.other_properties.extend_from_slice(e.rest());
                }
            }
        } else {
            p.advertise = r.u32()?;
            r.skip(4)?;
        }
        Ok(p)
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        if version == Version::V1_0 {
            w.put_u16(of10_port(self.port_no)?);
            w.extend_from_slice(&self.hw_addr);
        } else {
            w.put_u32(self.port_no);
            w.put_u32(0);
            w.extend_from_slice(&self.hw_addr);
            w.put_u16(0);
        }
        w.put_u32(self.config);
        w.put_u32(self.mask);
        if version >= Version::V1_4 {
            w.put_u16(0);
            w.put_u16(8);
            w.put_u32(self.advertise);
            w.extend_from_slice(&self.other_properties);
        } else {
            if !self.other_properties.is_empty() {
                return Err(EncodeError::NotInVersion(
                    "port-mod properties before OpenFlow 1.4",
                ));
            }
            w.put_u32(self.advertise);
            w.put_u32(0);
        }
        Ok(())
    }
}

/// TABLE_MOD body (1.1+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableMod {
    /// Table (255 = all).
    pub table_id: u8,
    /// `OFPTC_*` bits (1.4: 4 = eviction, 8 = vacancy events).
    pub config: u32,
    /// OpenFlow 1.4+ properties (eviction, vacancy), as bytes.
    pub properties: Vec<u8>,
}

impl TableMod {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<TableMod, ErrorKind> {
        let table_id = r.u8()?;
        r.skip(3)?;
        let config = r.u32()?;
        let properties = if version >= Version::V1_4 {
            r.rest().to_vec()
        } else {
            Vec::new()
        };
        Ok(TableMod {
            table_id,
            config,
            properties,
        })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !self.properties.is_empty() && version < Version::V1_4 {
            return Err(EncodeError::NotInVersion(
                "table-mod properties before OpenFlow 1.4",
            ));
        }
        w.put_u8(self.table_id);
        w.put_zeros(3);
        w.put_u32(self.config);
        w.extend_from_slice(&self.properties);
        Ok(())
    }
}

/// Controller roles (`OFPCR_ROLE_*`).
pub mod roles {
    /// Do not change the role (query).
    pub const NOCHANGE: u32 = 0;
    /// Equal.
    pub const EQUAL: u32 = 1;
    /// Master.
    pub const MASTER: u32 = 2;
    /// Slave.
    pub const SLAVE: u32 = 3;
}

/// ROLE_REQUEST / ROLE_REPLY body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Role {
    /// One of [`roles`]; other values are kept (the switch answers
    /// `RoleRequestFailedBadRole`).
    pub role: u32,
    /// Master election generation id.
    pub generation_id: u64,
}

impl Role {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Role, ErrorKind> {
        let role = r.u32()?;
        r.skip(4)?;
        Ok(Role {
            role,
            generation_id: r.u64()?,
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) {
        w.put_u32(self.role);
        w.put_u32(0);
        w.put_u64(self.generation_id);
    }
}

/// GET_ASYNC_REPLY / SET_ASYNC body: `(property type, mask)` in the
/// OpenFlow 1.4 numbering (0/1 packet-in slave/master, 2/3 port-status,
/// 4/5 flow-removed, 6/7 role-status, 8/9 table-status, 10/11
/// request-forward).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsyncConfig {
    /// The masks, in wire order.
    pub masks: Vec<(u16, u32)>,
}

impl AsyncConfig {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<AsyncConfig, ErrorKind> {
        let mut masks = Vec::new();
        if version >= Version::V1_4 {
            while !r.is_empty() {
                let ty = r.u16()?;
                let len = r.u16()?;
                if len != 8 {
                    return Err(ErrorKind::BadPropertyBadLen);
                }
                masks.push((ty, r.u32()?));
            }
        } else {
            // 1.3: [master, slave] pairs for packet-in, port-status, flow-removed.
            for pair in 0..3u16 {
                let master = r.u32()?;
                let slave = r.u32()?;
                masks.push((2 * pair + 1, master));
                masks.push((2 * pair, slave));
            }
        }
        Ok(AsyncConfig { masks })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        if version >= Version::V1_4 {
            for (t, m) in &self.masks {
                w.put_u16(*t);
                w.put_u16(8);
                w.put_u32(*m);
            }
            return Ok(());
        }
        if version == Version::V1_0 {
            return Err(EncodeError::NotInVersion("async config in OpenFlow 1.0"));
        }
        let mut v = [0u32; 6];
        for (t, m) in &self.masks {
            match v.get_mut(usize::from(*t)) {
                Some(slot) => *slot = *m,
                None => {
                    return Err(EncodeError::NotInVersion(
                        "async properties beyond 1.3's six masks",
                    ));
                }
            }
        }
        for pair in 0..3 {
            w.put_u32(v[2 * pair + 1]);
            w.put_u32(v[2 * pair]);
        }
        Ok(())
    }
}

/// A queue's configuration (QUEUE_GET_CONFIG_REPLY entry, 1.4+ QUEUE_DESC).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueConfig {
    /// Queue id.
    pub queue_id: u32,
    /// Port (1.3+; the reply's port in 1.0).
    pub port_no: PortNo,
    /// Queue properties (min/max rate, ...), as bytes.
    pub properties: Vec<u8>,
}

/// QUEUE_GET_CONFIG_REPLY body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueGetConfigReply {
    /// Port queried.
    pub port_no: PortNo,
    /// Its queues.
    pub queues: Vec<QueueConfig>,
}

pub(crate) fn decode_queue_get_config_request(
    version: Version,
    r: &mut Reader<'_>,
) -> Result<PortNo, ErrorKind> {
    if version == Version::V1_0 {
        let p = port_from_of10(r.u16()?);
        r.skip(2)?;
        Ok(p)
    } else {
        let p = r.u32()?;
        r.skip(4)?;
        Ok(p)
    }
}

pub(crate) fn encode_queue_get_config_request(
    version: Version,
    port: PortNo,
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    if version == Version::V1_0 {
        w.put_u16(of10_port(port)?);
        w.put_u16(0);
    } else {
        w.put_u32(port);
        w.put_u32(0);
    }
    Ok(())
}

impl QueueGetConfigReply {
    pub(crate) fn decode(
        version: Version,
        r: &mut Reader<'_>,
    ) -> Result<QueueGetConfigReply, ErrorKind> {
        let v10 = version == Version::V1_0;
        let port_no = if v10 {
            let p = port_from_of10(r.u16()?);
            r.skip(6)?;
            p
        } else {
            let p = r.u32()?;
            r.skip(4)?;
            p
        };
        let mut queues = Vec::new();
        while !r.is_empty() {
            let queue_id = r.u32()?;
            let qport = if v10 { port_no } else { r.u32()? };
            let len = usize::from(r.u16()?);
            let fixed = if v10 { 8 } else { 16 };
            if len < fixed {
                return Err(ErrorKind::BadRequestBadLen);
            }
            r.skip(if v10 { 2 } else { 6 })?;
            queues.push(QueueConfig {
                queue_id,
                port_no: qport,
                properties: r.bytes(len - fixed)?.to_vec(),
            });
        }
        Ok(QueueGetConfigReply { port_no, queues })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let v10 = version == Version::V1_0;
        if v10 {
            w.put_u16(of10_port(self.port_no)?);
            w.put_zeros(6);
        } else {
            w.put_u32(self.port_no);
            w.put_u32(0);
        }
        for q in &self.queues {
            w.put_u32(q.queue_id);
            if !v10 {
                w.put_u32(q.port_no);
            }
            let len = q.properties.len() + if v10 { 8 } else { 16 };
            w.put_u16(u16::try_from(len).map_err(|_| EncodeError::TooLong)?);
            w.put_zeros(if v10 { 2 } else { 6 });
            w.extend_from_slice(&q.properties);
        }
        Ok(())
    }
}

/// BUNDLE_CONTROL types (`OFPBCT_*`).
pub mod bundle_ctrl {
    /// Open a bundle.
    pub const OPEN_REQUEST: u16 = 0;
    /// Reply to open.
    pub const OPEN_REPLY: u16 = 1;
    /// Close a bundle.
    pub const CLOSE_REQUEST: u16 = 2;
    /// Reply to close.
    pub const CLOSE_REPLY: u16 = 3;
    /// Commit a bundle.
    pub const COMMIT_REQUEST: u16 = 4;
    /// Reply to commit.
    pub const COMMIT_REPLY: u16 = 5;
    /// Discard a bundle.
    pub const DISCARD_REQUEST: u16 = 6;
    /// Reply to discard.
    pub const DISCARD_REPLY: u16 = 7;
}

/// Bundle flags (`OFPBF_*`).
pub mod bundle_flags {
    /// Apply all or nothing.
    pub const ATOMIC: u16 = 1;
    /// Apply in the order added.
    pub const ORDERED: u16 = 2;
}

/// BUNDLE_CONTROL body (1.4+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BundleControl {
    /// Bundle id.
    pub bundle_id: u32,
    /// [`bundle_ctrl`] type.
    pub ctrl_type: u16,
    /// [`bundle_flags`].
    pub flags: u16,
    /// Properties, as bytes.
    pub properties: Vec<u8>,
}

impl BundleControl {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<BundleControl, ErrorKind> {
        Ok(BundleControl {
            bundle_id: r.u32()?,
            ctrl_type: r.u16()?,
            flags: r.u16()?,
            properties: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) {
        w.put_u32(self.bundle_id);
        w.put_u16(self.ctrl_type);
        w.put_u16(self.flags);
        w.extend_from_slice(&self.properties);
    }
}

/// BUNDLE_ADD_MESSAGE body (1.4+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleAdd {
    /// Bundle id.
    pub bundle_id: u32,
    /// [`bundle_flags`].
    pub flags: u16,
    /// The inner message's xid.
    pub xid: u32,
    /// The inner message (same version as the outer one).
    pub message: Box<Message>,
    /// Properties after the inner message, as bytes.
    pub properties: Vec<u8>,
}

impl BundleAdd {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<BundleAdd, ErrorKind> {
        let bundle_id = r.u32()?;
        r.skip(2)?;
        let flags = r.u16()?;
        let inner = r.rest();
        let h = Header::parse(inner).map_err(|_| ErrorKind::BundleFailedMsgBadLen)?;
        let len = usize::from(h.length);
        if len < HEADER_LEN || len > inner.len() {
            return Err(ErrorKind::BundleFailedMsgBadLen);
        }
        if h.version != version.wire() {
            return Err(ErrorKind::BadRequestBadVersion);
        }
        let t = MsgType::from_wire(version, h.msg_type).ok_or(ErrorKind::BadRequestBadType)?;
        if matches!(
            t,
            MsgType::BundleControl | MsgType::BundleAddMessage | MsgType::Hello
        ) {
            return Err(ErrorKind::BundleFailedMsgUnsup);
        }
        let body = r.bytes(len)?;
        let mut br = Reader::new(&body[HEADER_LEN..], ErrorKind::BadRequestBadLen);
        let message = Message::decode_body(version, t, &mut br)?;
        // The inner message is padded to 8 bytes before any properties.
        let pad = (8 - len % 8) % 8;
        let pad = pad.min(r.remaining());
        r.skip(pad)?;
        Ok(BundleAdd {
            bundle_id,
            flags,
            xid: h.xid,
            message: Box::new(message),
            properties: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        if matches!(
            self.message.msg_type(),
            MsgType::BundleControl | MsgType::BundleAddMessage
        ) {
            return Err(EncodeError::NotInVersion("nested bundle messages"));
        }
        w.put_u32(self.bundle_id);
        w.put_u16(0);
        w.put_u16(self.flags);
        let inner = self.message.encode(version, self.xid)?;
        w.extend_from_slice(&inner);
        if !self.properties.is_empty() {
            w.put_zeros((8 - inner.len() % 8) % 8);
            w.extend_from_slice(&self.properties);
        }
        Ok(())
    }
}

/// ROLE_STATUS body (1.4+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleStatus {
    /// The connection's new role ([`roles`]).
    pub role: u32,
    /// 0: another controller became master; 1: configuration changed;
    /// 2: experimenter.
    pub reason: u8,
    /// Generation id.
    pub generation_id: u64,
    /// Properties, as bytes.
    pub properties: Vec<u8>,
}

impl RoleStatus {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<RoleStatus, ErrorKind> {
        let role = r.u32()?;
        let reason = r.u8()?;
        r.skip(3)?;
        Ok(RoleStatus {
            role,
            reason,
            generation_id: r.u64()?,
            properties: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) {
        w.put_u32(self.role);
        w.put_u8(self.reason);
        w.put_zeros(3);
        w.put_u64(self.generation_id);
        w.extend_from_slice(&self.properties);
    }
}

/// TABLE_STATUS body (1.4+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableStatus {
    /// 3: vacancy down; 4: vacancy up.
    pub reason: u8,
    /// The table's description.
    pub table: super::stats::TableDesc,
}

impl TableStatus {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<TableStatus, ErrorKind> {
        let reason = r.u8()?;
        r.skip(7)?;
        let table = super::stats::TableDesc::decode(r)?;
        if !r.is_empty() {
            return Err(ErrorKind::BadRequestBadLen);
        }
        Ok(TableStatus { reason, table })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        w.put_u8(self.reason);
        w.put_zeros(7);
        self.table.encode(w)
    }
}

/// REQUESTFORWARD body (1.4+): a GROUP_MOD or METER_MOD another controller
/// made, with its xid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestForward {
    /// The forwarded request's xid.
    pub xid: u32,
    /// The request.
    pub request: Box<Message>,
}

impl RequestForward {
    pub(crate) fn decode(
        version: Version,
        r: &mut Reader<'_>,
    ) -> Result<RequestForward, ErrorKind> {
        let inner = r.rest();
        let h = Header::parse(inner)?;
        if usize::from(h.length) != inner.len() {
            return Err(ErrorKind::BadRequestBadLen);
        }
        if h.version != version.wire() {
            return Err(ErrorKind::BadRequestBadVersion);
        }
        let t = MsgType::from_wire(version, h.msg_type).ok_or(ErrorKind::BadRequestBadType)?;
        if !matches!(t, MsgType::GroupMod | MsgType::MeterMod) {
            return Err(ErrorKind::BadRequestBadType);
        }
        let mut br = Reader::new(&inner[HEADER_LEN..], ErrorKind::BadRequestBadLen);
        let request = Message::decode_body(version, t, &mut br)?;
        r.skip(inner.len())?;
        Ok(RequestForward {
            xid: h.xid,
            request: Box::new(request),
        })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !matches!(
            self.request.msg_type(),
            MsgType::GroupMod | MsgType::MeterMod
        ) {
            return Err(EncodeError::NotInVersion(
                "REQUESTFORWARD of anything but GROUP_MOD/METER_MOD",
            ));
        }
        w.extend_from_slice(&self.request.encode(version, self.xid)?);
        Ok(())
    }
}
