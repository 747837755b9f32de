//! The OpenFlow header, message-type numbering per version, and a framing
//! decoder for byte streams.
//!
//! Contract:
//! * [`MSG_TYPES`] is the single declaration of message-type numbers; the
//!   codec translates with [`MsgType::from_wire`] and [`MsgType::wire`].
//! * [`Decoder`] accepts arbitrary chunks (any split, any content) and yields
//!   whole messages. A header whose length is below 8 is a framing error
//!   (`BadRequestBadLen`): the stream cannot be resynchronised and the
//!   connection should be closed. Lengths are capped by the 16-bit header
//!   field (65535), so the decoder buffers at most 64 KiB plus one chunk.

use super::Version;
use super::error::ErrorKind;

/// Size of the OpenFlow header.
pub const HEADER_LEN: usize = 8;
/// Largest OpenFlow message (the header length field is 16 bits).
pub const MAX_MSG_LEN: usize = 65535;

/// The fixed header of every OpenFlow message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Version byte as received (may be a version we do not speak).
    pub version: u8,
    /// Message type number as received (its meaning depends on `version`).
    pub msg_type: u8,
    /// Total length, header included.
    pub length: u16,
    /// Transaction id.
    pub xid: u32,
}

impl Header {
    /// Parses the first 8 bytes of `b`.
    pub fn parse(b: &[u8]) -> Result<Header, ErrorKind> {
        match b {
            [v, t, l0, l1, x0, x1, x2, x3, ..] => Ok(Header {
                version: *v,
                msg_type: *t,
                length: u16::from_be_bytes([*l0, *l1]),
                xid: u32::from_be_bytes([*x0, *x1, *x2, *x3]),
            }),
            _ => Err(ErrorKind::BadRequestBadLen),
        }
    }

    /// The 8 wire bytes.
    pub fn to_bytes(&self) -> [u8; 8] {
        let l = self.length.to_be_bytes();
        let x = self.xid.to_be_bytes();
        [
            self.version,
            self.msg_type,
            l[0],
            l[1],
            x[0],
            x[1],
            x[2],
            x[3],
        ]
    }
}

/// Version-independent message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum MsgType {
    Hello,
    Error,
    EchoRequest,
    EchoReply,
    Experimenter,
    FeaturesRequest,
    FeaturesReply,
    GetConfigRequest,
    GetConfigReply,
    SetConfig,
    PacketIn,
    FlowRemoved,
    PortStatus,
    PacketOut,
    FlowMod,
    GroupMod,
    PortMod,
    TableMod,
    MultipartRequest,
    MultipartReply,
    BarrierRequest,
    BarrierReply,
    QueueGetConfigRequest,
    QueueGetConfigReply,
    RoleRequest,
    RoleReply,
    GetAsyncRequest,
    GetAsyncReply,
    SetAsync,
    MeterMod,
    RoleStatus,
    TableStatus,
    RequestForward,
    BundleControl,
    BundleAddMessage,
    ControllerStatus,
}

/// Message type numbers: `(type, [1.0, 1.1-1.3, 1.4, 1.5])`, `None` where
/// the version has no such message. (1.1 and 1.2 share the 1.3 numbers for
/// every type they have.)
pub const MSG_TYPES: &[(MsgType, [Option<u8>; 4])] = {
    use MsgType::*;
    &[
        (Hello, [Some(0), Some(0), Some(0), Some(0)]),
        (Error, [Some(1), Some(1), Some(1), Some(1)]),
        (EchoRequest, [Some(2), Some(2), Some(2), Some(2)]),
        (EchoReply, [Some(3), Some(3), Some(3), Some(3)]),
        (Experimenter, [Some(4), Some(4), Some(4), Some(4)]),
        (FeaturesRequest, [Some(5), Some(5), Some(5), Some(5)]),
        (FeaturesReply, [Some(6), Some(6), Some(6), Some(6)]),
        (GetConfigRequest, [Some(7), Some(7), Some(7), Some(7)]),
        (GetConfigReply, [Some(8), Some(8), Some(8), Some(8)]),
        (SetConfig, [Some(9), Some(9), Some(9), Some(9)]),
        (PacketIn, [Some(10), Some(10), Some(10), Some(10)]),
        (FlowRemoved, [Some(11), Some(11), Some(11), Some(11)]),
        (PortStatus, [Some(12), Some(12), Some(12), Some(12)]),
        (PacketOut, [Some(13), Some(13), Some(13), Some(13)]),
        (FlowMod, [Some(14), Some(14), Some(14), Some(14)]),
        (GroupMod, [None, Some(15), Some(15), Some(15)]),
        (PortMod, [Some(15), Some(16), Some(16), Some(16)]),
        (TableMod, [None, Some(17), Some(17), Some(17)]),
        (MultipartRequest, [Some(16), Some(18), Some(18), Some(18)]),
        (MultipartReply, [Some(17), Some(19), Some(19), Some(19)]),
        (BarrierRequest, [Some(18), Some(20), Some(20), Some(20)]),
        (BarrierReply, [Some(19), Some(21), Some(21), Some(21)]),
        (QueueGetConfigRequest, [Some(20), Some(22), None, None]),
        (QueueGetConfigReply, [Some(21), Some(23), None, None]),
        (RoleRequest, [None, Some(24), Some(24), Some(24)]),
        (RoleReply, [None, Some(25), Some(25), Some(25)]),
        (GetAsyncRequest, [None, Some(26), Some(26), Some(26)]),
        (GetAsyncReply, [None, Some(27), Some(27), Some(27)]),
        (SetAsync, [None, Some(28), Some(28), Some(28)]),
        (MeterMod, [None, Some(29), Some(29), Some(29)]),
        (RoleStatus, [None, None, Some(30), Some(30)]),
        (TableStatus, [None, None, Some(31), Some(31)]),
        (RequestForward, [None, None, Some(32), Some(32)]),
        (BundleControl, [None, None, Some(33), Some(33)]),
        (BundleAddMessage, [None, None, Some(34), Some(34)]),
        (ControllerStatus, [None, None, None, Some(35)]),
    ]
};

fn column(version: Version) -> usize {
    match version {
        Version::V1_0 => 0,
        Version::V1_1 | Version::V1_2 | Version::V1_3 => 1,
        Version::V1_4 => 2,
        Version::V1_5 => 3,
    }
}

impl MsgType {
    /// The message type a wire number denotes in `version`.
    pub fn from_wire(version: Version, n: u8) -> Option<MsgType> {
        let c = column(version);
        MSG_TYPES.iter().find(|e| e.1[c] == Some(n)).map(|e| e.0)
    }

    /// The wire number of this type in `version`.
    pub fn wire(self, version: Version) -> Option<u8> {
        MSG_TYPES
            .iter()
            .find(|e| e.0 == self)
            .and_then(|e| e.1[column(version)])
    }
}

/// Splits a byte stream into whole OpenFlow messages.
///
/// Feed bytes with [`Decoder::push`] and take messages with
/// [`Decoder::next_message`] until it returns `Ok(None)`. After an `Err` the
/// decoder stays failed (the stream has lost framing).
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    failed: bool,
}

impl Decoder {
    /// A decoder with an empty buffer.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next whole message (header included), `Ok(None)` if more bytes
    /// are needed, or `Err(BadRequestBadLen)` if the stream has a header with
    /// a length below 8.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, ErrorKind> {
        if self.failed {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let avail = &self.buf[self.start..];
        if avail.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([avail[2], avail[3]]));
        if len < HEADER_LEN {
            self.failed = true;
            return Err(ErrorKind::BadRequestBadLen);
        }
        if avail.len() < len {
            return Ok(None);
        }
        let msg = avail[..len].to_vec();
        self.start += len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(msg))
    }
}
