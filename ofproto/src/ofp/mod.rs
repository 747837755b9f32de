//! The OpenFlow wire codec: version-independent types with decoding and
//! encoding for OpenFlow 1.0, 1.3, 1.4 and 1.5.
//!
//! # Design
//!
//! Each OpenFlow concept exists once as a version-independent type
//! ([`FlowMod`], [`Match`], [`Action`], [`Instruction`], [`PacketIn`], ...).
//! Decoding takes the negotiated [`Version`] and yields that type; encoding
//! takes a version and writes that version's layout. Where a version numbers
//! things differently (message types, error codes, OXM headers, port
//! numbers, port feature bits), the numbering is declared once in a table and
//! the codecs look it up:
//!
//! * message types: [`header::MSG_TYPES`];
//! * error codes: [`error::ERROR_TABLE`] (generated from `ovs-ofctl
//!   print-error`);
//! * match fields: [`oxm::Field`] and its [`oxm::Field::info`] table.
//!
//! The modules:
//!
//! * [`header`]: the 8-byte header, [`MsgType`] numbering, the framing
//!   [`Decoder`] for byte streams.
//! * [`hello`]: HELLO with version bitmaps and [`negotiate`].
//! * [`error`]: [`ErrorKind`] (what decoders return and switches send back),
//!   the ERROR message.
//! * [`oxm`]: OXM/NXM field identities, values, TLV codec.
//! * [`matching`]: [`Match`] with the OpenFlow 1.0 `ofp_match` and OXM codecs
//!   and the conversion to `datapath::flow::{FlowKey, FlowMask}`.
//! * [`actions`]: [`Action`] (standard and Nicira) for 1.0 and 1.3+.
//! * [`instructions`]: [`Instruction`] (1.1+).
//! * [`messages`]: [`Message`] and the bodies (FLOW_MOD, PACKET_IN, ...).
//! * [`multipart`]: statistics/multipart requests and replies, with a reply
//!   encoder that splits at the 64 KiB limit.
//! * [`group`], [`meter`]: GROUP_MOD, METER_MOD and their multipart bodies.
//! * [`control`]: PORT_MOD, TABLE_MOD, ROLE, ASYNC, QUEUE_GET_CONFIG,
//!   BUNDLE_CONTROL/ADD.
//! * [`stats`]: port, queue and table multipart entries.
//! * [`nicira`]: the Nicira extension messages `ovs-ofctl` uses with 1.0.
//!
//! # Guarantees
//!
//! * No input makes a decoder panic; every failure is an [`ErrorKind`] naming
//!   the OpenFlow error a switch should answer with.
//! * Allocation is bounded by the input: a message is at most 65535 bytes and
//!   nothing is allocated in proportion to a length field that was not
//!   checked against the bytes actually present.
//! * For every message that `ovs-ofctl` 3.1 sends, `decode` then `encode`
//!   reproduces the bytes (see `tests/data/ofp/`). Inputs that are valid but
//!   not canonical (for example an OpenFlow 1.0 match with fields whose
//!   prerequisites are absent) are normalised as Open vSwitch does.
//!
//! The `ovs-ofctl` text syntax is not part of this module yet; `Debug` is the
//! human-readable form.

pub mod actions;
pub mod control;
pub mod error;
pub mod group;
pub mod header;
pub mod hello;
pub mod instructions;
pub mod matching;
pub mod messages;
pub mod meter;
pub mod multipart;
pub mod nicira;
pub mod nx_actions;
pub mod oxm;
pub mod oxs;
pub mod port;
pub mod stats;
pub(crate) mod wire;

pub use actions::{Action, FieldRef, decode_action_list, encode_actions};
pub use control::{
    AsyncConfig, BundleAdd, BundleControl, PortMod, QueueConfig, QueueGetConfigReply,
    RequestForward, Role, RoleStatus, TableMod, TableStatus,
};
pub use error::{EncodeError, ErrorCode, ErrorKind, ErrorMsg};
pub use group::{
    Bucket, GroupDesc, GroupFeatures, GroupMod, GroupModCommand, GroupStats, GroupType,
};
pub use header::{Decoder, Header, MsgType};
pub use hello::{Hello, VersionSet, negotiate};
pub use instructions::{Instruction, decode_instruction_list, encode_instructions};
pub use matching::{Match, MatchEntry};
pub use messages::{
    Experimenter, FeaturesReply, FlowMod, FlowModCommand, FlowRemoved, Message, PacketIn,
    PacketOut, PortStatus, SwitchConfig,
};
pub use meter::{
    Band, BandKind, MeterConfig, MeterFeatures, MeterMod, MeterModCommand, MeterStats,
};
pub use multipart::{MultipartReply, MultipartRequest, ReplyBody, RequestBody};
pub use nicira::{NxFlowMod, NxFlowStats, NxMessage, NxPacketIn2};
pub use nx_actions::{
    Bundle, Controller2, Ct, CtZone, Learn, LearnDst, LearnSpec, LearnSrc, Multipath, Nat,
};
pub use oxm::{Field, Value};
pub use oxs::{FlowStats15, OxsEntry};
pub use port::{Port, PortNo};
pub use stats::{PortStats, QueueStats, TableDesc, TableFeatureProp, TableFeatures};

/// An OpenFlow protocol version (the header's version byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// OpenFlow 1.0 (0x01).
    V1_0 = 1,
    /// OpenFlow 1.1 (0x02): negotiable, but messages are not decoded.
    V1_1 = 2,
    /// OpenFlow 1.2 (0x03): negotiable, but messages are not decoded.
    V1_2 = 3,
    /// OpenFlow 1.3 (0x04).
    V1_3 = 4,
    /// OpenFlow 1.4 (0x05).
    V1_4 = 5,
    /// OpenFlow 1.5 (0x06).
    V1_5 = 6,
}

impl Version {
    /// Every version, oldest first.
    pub const ALL: [Version; 6] = [
        Version::V1_0,
        Version::V1_1,
        Version::V1_2,
        Version::V1_3,
        Version::V1_4,
        Version::V1_5,
    ];

    /// The version for a header version byte.
    pub fn from_wire(v: u8) -> Option<Version> {
        Version::ALL.get(usize::from(v).wrapping_sub(1)).copied()
    }

    /// The header version byte.
    pub fn wire(self) -> u8 {
        self as u8
    }

    /// True for the versions whose message bodies this codec decodes
    /// (1.0, 1.3, 1.4, 1.5).
    pub fn is_supported(self) -> bool {
        !matches!(self, Version::V1_1 | Version::V1_2)
    }
}
