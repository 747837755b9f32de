//! OpenFlow errors: a version-independent [`ErrorKind`], its wire code per
//! version, and the ERROR message.
//!
//! Contract: every (type, code) pair is declared once, in [`ERROR_TABLE`],
//! with one column per wire numbering (OpenFlow 1.0, 1.1-1.3, 1.4, 1.5). The
//! table was produced by asking the real `ovs-ofctl print-error NAME` for each
//! name, so the numbering (including Open vSwitch's Nicira extension codes
//! for OpenFlow 1.0 and the ONF experimenter codes) is what peers expect.
//!
//! Decoders in this crate return `Err(ErrorKind)` naming the error a switch
//! should send back; [`ErrorMsg::from_kind`] turns that into a reply. A kind
//! with no code in a version is sent as `OFPBRC_EPERM`-style fallback
//! ([`ErrorKind::code`] documents which).
//!
//! Wire forms:
//! * standard: `type:u16 code:u16 data`;
//! * Nicira (1.0): `type=0xb0c2 code=0 vendor:u32 type:u16 code:u16 data`;
//! * experimenter (1.2+): `type=0xffff exp_code:u16 experimenter:u32 data`.

use super::Version;
use super::wire::{Put, Reader};

/// Wire code of an error in one version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A standard `(type, code)`.
    Std(u16, u16),
    /// An extension error: `(experimenter/vendor, type, code)`. In OpenFlow
    /// 1.2+ the experimenter form has a single code (carried as `type`, with
    /// `code` 0).
    Exp(u32, u16, u16),
}
use ErrorCode as W;

/// Version-independent OpenFlow errors (Open vSwitch spelling in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `OFPHFC_INCOMPATIBLE`
    #[error("OFPHFC_INCOMPATIBLE")]
    HelloFailedIncompatible,
    /// `OFPHFC_EPERM`
    #[error("OFPHFC_EPERM")]
    HelloFailedEperm,
    /// `OFPBRC_BAD_VERSION`
    #[error("OFPBRC_BAD_VERSION")]
    BadRequestBadVersion,
    /// `OFPBRC_BAD_TYPE`
    #[error("OFPBRC_BAD_TYPE")]
    BadRequestBadType,
    /// `OFPBRC_BAD_STAT`
    #[error("OFPBRC_BAD_STAT")]
    BadRequestBadStat,
    /// `OFPBRC_BAD_VENDOR`
    #[error("OFPBRC_BAD_VENDOR")]
    BadRequestBadVendor,
    /// `OFPBRC_BAD_SUBTYPE`
    #[error("OFPBRC_BAD_SUBTYPE")]
    BadRequestBadSubtype,
    /// `OFPBRC_EPERM`
    #[error("OFPBRC_EPERM")]
    BadRequestEperm,
    /// `OFPBRC_BAD_LEN`
    #[error("OFPBRC_BAD_LEN")]
    BadRequestBadLen,
    /// `OFPBRC_BUFFER_EMPTY`
    #[error("OFPBRC_BUFFER_EMPTY")]
    BadRequestBufferEmpty,
    /// `OFPBRC_BUFFER_UNKNOWN`
    #[error("OFPBRC_BUFFER_UNKNOWN")]
    BadRequestBufferUnknown,
    /// `OFPBRC_BAD_TABLE_ID`
    #[error("OFPBRC_BAD_TABLE_ID")]
    BadRequestBadTableId,
    /// `OFPBRC_IS_SECONDARY`
    #[error("OFPBRC_IS_SECONDARY")]
    BadRequestIsSecondary,
    /// `OFPBRC_BAD_PORT`
    #[error("OFPBRC_BAD_PORT")]
    BadRequestBadPort,
    /// `OFPBRC_BAD_PACKET`
    #[error("OFPBRC_BAD_PACKET")]
    BadRequestBadPacket,
    /// `OFPBRC_MULTIPART_BUFFER_OVERFLOW`
    #[error("OFPBRC_MULTIPART_BUFFER_OVERFLOW")]
    BadRequestMultipartBufferOverflow,
    /// `OFPBAC_BAD_TYPE`
    #[error("OFPBAC_BAD_TYPE")]
    BadActionBadType,
    /// `OFPBAC_BAD_LEN`
    #[error("OFPBAC_BAD_LEN")]
    BadActionBadLen,
    /// `OFPBAC_BAD_VENDOR`
    #[error("OFPBAC_BAD_VENDOR")]
    BadActionBadVendor,
    /// `OFPBAC_BAD_VENDOR_TYPE`
    #[error("OFPBAC_BAD_VENDOR_TYPE")]
    BadActionBadVendorType,
    /// `OFPBAC_BAD_OUT_PORT`
    #[error("OFPBAC_BAD_OUT_PORT")]
    BadActionBadOutPort,
    /// `OFPBAC_BAD_ARGUMENT`
    #[error("OFPBAC_BAD_ARGUMENT")]
    BadActionBadArgument,
    /// `OFPBAC_EPERM`
    #[error("OFPBAC_EPERM")]
    BadActionEperm,
    /// `OFPBAC_TOO_MANY`
    #[error("OFPBAC_TOO_MANY")]
    BadActionTooMany,
    /// `OFPBAC_BAD_QUEUE`
    #[error("OFPBAC_BAD_QUEUE")]
    BadActionBadQueue,
    /// `OFPBAC_BAD_OUT_GROUP`
    #[error("OFPBAC_BAD_OUT_GROUP")]
    BadActionBadOutGroup,
    /// `OFPBAC_MATCH_INCONSISTENT`
    #[error("OFPBAC_MATCH_INCONSISTENT")]
    BadActionMatchInconsistent,
    /// `OFPBAC_UNSUPPORTED_ORDER`
    #[error("OFPBAC_UNSUPPORTED_ORDER")]
    BadActionUnsupportedOrder,
    /// `OFPBAC_BAD_TAG`
    #[error("OFPBAC_BAD_TAG")]
    BadActionBadTag,
    /// `OFPBAC_BAD_SET_TYPE`
    #[error("OFPBAC_BAD_SET_TYPE")]
    BadActionBadSetType,
    /// `OFPBAC_BAD_SET_LEN`
    #[error("OFPBAC_BAD_SET_LEN")]
    BadActionBadSetLen,
    /// `OFPBAC_BAD_SET_ARGUMENT`
    #[error("OFPBAC_BAD_SET_ARGUMENT")]
    BadActionBadSetArgument,
    /// `OFPBAC_BAD_SET_MASK`
    #[error("OFPBAC_BAD_SET_MASK")]
    BadActionBadSetMask,
    /// `OFPBIC_UNKNOWN_INST`
    #[error("OFPBIC_UNKNOWN_INST")]
    BadInstructionUnknownInst,
    /// `OFPBIC_UNSUP_INST`
    #[error("OFPBIC_UNSUP_INST")]
    BadInstructionUnsupInst,
    /// `OFPBIC_BAD_TABLE_ID`
    #[error("OFPBIC_BAD_TABLE_ID")]
    BadInstructionBadTableId,
    /// `OFPBIC_UNSUP_METADATA`
    #[error("OFPBIC_UNSUP_METADATA")]
    BadInstructionUnsupMetadata,
    /// `OFPBIC_UNSUP_METADATA_MASK`
    #[error("OFPBIC_UNSUP_METADATA_MASK")]
    BadInstructionUnsupMetadataMask,
    /// `OFPBIC_BAD_EXPERIMENTER`
    #[error("OFPBIC_BAD_EXPERIMENTER")]
    BadInstructionBadExperimenter,
    /// `OFPBIC_BAD_EXP_TYPE`
    #[error("OFPBIC_BAD_EXP_TYPE")]
    BadInstructionBadExpType,
    /// `OFPBIC_BAD_LEN`
    #[error("OFPBIC_BAD_LEN")]
    BadInstructionBadLen,
    /// `OFPBIC_EPERM`
    #[error("OFPBIC_EPERM")]
    BadInstructionEperm,
    /// `OFPBIC_DUP_INST`
    #[error("OFPBIC_DUP_INST")]
    BadInstructionDupInst,
    /// `OFPBMC_BAD_TYPE`
    #[error("OFPBMC_BAD_TYPE")]
    BadMatchBadType,
    /// `OFPBMC_BAD_LEN`
    #[error("OFPBMC_BAD_LEN")]
    BadMatchBadLen,
    /// `OFPBMC_BAD_TAG`
    #[error("OFPBMC_BAD_TAG")]
    BadMatchBadTag,
    /// `OFPBMC_BAD_DL_ADDR_MASK`
    #[error("OFPBMC_BAD_DL_ADDR_MASK")]
    BadMatchBadDlAddrMask,
    /// `OFPBMC_BAD_NW_ADDR_MASK`
    #[error("OFPBMC_BAD_NW_ADDR_MASK")]
    BadMatchBadNwAddrMask,
    /// `OFPBMC_BAD_WILDCARDS`
    #[error("OFPBMC_BAD_WILDCARDS")]
    BadMatchBadWildcards,
    /// `OFPBMC_BAD_FIELD`
    #[error("OFPBMC_BAD_FIELD")]
    BadMatchBadField,
    /// `OFPBMC_BAD_VALUE`
    #[error("OFPBMC_BAD_VALUE")]
    BadMatchBadValue,
    /// `OFPBMC_BAD_MASK`
    #[error("OFPBMC_BAD_MASK")]
    BadMatchBadMask,
    /// `OFPBMC_BAD_PREREQ`
    #[error("OFPBMC_BAD_PREREQ")]
    BadMatchBadPrereq,
    /// `OFPBMC_DUP_FIELD`
    #[error("OFPBMC_DUP_FIELD")]
    BadMatchDupField,
    /// `OFPBMC_EPERM`
    #[error("OFPBMC_EPERM")]
    BadMatchEperm,
    /// `OFPFMFC_UNKNOWN`
    #[error("OFPFMFC_UNKNOWN")]
    FlowModFailedUnknown,
    /// `OFPFMFC_TABLE_FULL`
    #[error("OFPFMFC_TABLE_FULL")]
    FlowModFailedTableFull,
    /// `OFPFMFC_BAD_TABLE_ID`
    #[error("OFPFMFC_BAD_TABLE_ID")]
    FlowModFailedBadTableId,
    /// `OFPFMFC_OVERLAP`
    #[error("OFPFMFC_OVERLAP")]
    FlowModFailedOverlap,
    /// `OFPFMFC_EPERM`
    #[error("OFPFMFC_EPERM")]
    FlowModFailedEperm,
    /// `OFPFMFC_BAD_TIMEOUT`
    #[error("OFPFMFC_BAD_TIMEOUT")]
    FlowModFailedBadTimeout,
    /// `OFPFMFC_BAD_COMMAND`
    #[error("OFPFMFC_BAD_COMMAND")]
    FlowModFailedBadCommand,
    /// `OFPFMFC_BAD_FLAGS`
    #[error("OFPFMFC_BAD_FLAGS")]
    FlowModFailedBadFlags,
    /// `OFPGMFC_GROUP_EXISTS`
    #[error("OFPGMFC_GROUP_EXISTS")]
    GroupModFailedGroupExists,
    /// `OFPGMFC_INVALID_GROUP`
    #[error("OFPGMFC_INVALID_GROUP")]
    GroupModFailedInvalidGroup,
    /// `OFPGMFC_OUT_OF_GROUPS`
    #[error("OFPGMFC_OUT_OF_GROUPS")]
    GroupModFailedOutOfGroups,
    /// `OFPGMFC_OUT_OF_BUCKETS`
    #[error("OFPGMFC_OUT_OF_BUCKETS")]
    GroupModFailedOutOfBuckets,
    /// `OFPGMFC_CHAINING_UNSUPPORTED`
    #[error("OFPGMFC_CHAINING_UNSUPPORTED")]
    GroupModFailedChainingUnsupported,
    /// `OFPGMFC_WATCH_UNSUPPORTED`
    #[error("OFPGMFC_WATCH_UNSUPPORTED")]
    GroupModFailedWatchUnsupported,
    /// `OFPGMFC_LOOP`
    #[error("OFPGMFC_LOOP")]
    GroupModFailedLoop,
    /// `OFPGMFC_UNKNOWN_GROUP`
    #[error("OFPGMFC_UNKNOWN_GROUP")]
    GroupModFailedUnknownGroup,
    /// `OFPGMFC_CHAINED_GROUP`
    #[error("OFPGMFC_CHAINED_GROUP")]
    GroupModFailedChainedGroup,
    /// `OFPGMFC_BAD_TYPE`
    #[error("OFPGMFC_BAD_TYPE")]
    GroupModFailedBadType,
    /// `OFPGMFC_BAD_COMMAND`
    #[error("OFPGMFC_BAD_COMMAND")]
    GroupModFailedBadCommand,
    /// `OFPGMFC_BAD_BUCKET`
    #[error("OFPGMFC_BAD_BUCKET")]
    GroupModFailedBadBucket,
    /// `OFPGMFC_BAD_WATCH`
    #[error("OFPGMFC_BAD_WATCH")]
    GroupModFailedBadWatch,
    /// `OFPGMFC_EPERM`
    #[error("OFPGMFC_EPERM")]
    GroupModFailedEperm,
    /// `OFPPMFC_BAD_PORT`
    #[error("OFPPMFC_BAD_PORT")]
    PortModFailedBadPort,
    /// `OFPPMFC_BAD_HW_ADDR`
    #[error("OFPPMFC_BAD_HW_ADDR")]
    PortModFailedBadHwAddr,
    /// `OFPPMFC_BAD_CONFIG`
    #[error("OFPPMFC_BAD_CONFIG")]
    PortModFailedBadConfig,
    /// `OFPPMFC_BAD_ADVERTISE`
    #[error("OFPPMFC_BAD_ADVERTISE")]
    PortModFailedBadAdvertise,
    /// `OFPPMFC_EPERM`
    #[error("OFPPMFC_EPERM")]
    PortModFailedEperm,
    /// `OFPTMFC_BAD_TABLE`
    #[error("OFPTMFC_BAD_TABLE")]
    TableModFailedBadTable,
    /// `OFPTMFC_BAD_CONFIG`
    #[error("OFPTMFC_BAD_CONFIG")]
    TableModFailedBadConfig,
    /// `OFPTMFC_EPERM`
    #[error("OFPTMFC_EPERM")]
    TableModFailedEperm,
    /// `OFPQOFC_BAD_PORT`
    #[error("OFPQOFC_BAD_PORT")]
    QueueOpFailedBadPort,
    /// `OFPQOFC_BAD_QUEUE`
    #[error("OFPQOFC_BAD_QUEUE")]
    QueueOpFailedBadQueue,
    /// `OFPQOFC_EPERM`
    #[error("OFPQOFC_EPERM")]
    QueueOpFailedEperm,
    /// `OFPSCFC_BAD_FLAGS`
    #[error("OFPSCFC_BAD_FLAGS")]
    SwitchConfigFailedBadFlags,
    /// `OFPSCFC_BAD_LEN`
    #[error("OFPSCFC_BAD_LEN")]
    SwitchConfigFailedBadLen,
    /// `OFPSCFC_EPERM`
    #[error("OFPSCFC_EPERM")]
    SwitchConfigFailedEperm,
    /// `OFPRRFC_STALE`
    #[error("OFPRRFC_STALE")]
    RoleRequestFailedStale,
    /// `OFPRRFC_UNSUP`
    #[error("OFPRRFC_UNSUP")]
    RoleRequestFailedUnsup,
    /// `OFPRRFC_BAD_ROLE`
    #[error("OFPRRFC_BAD_ROLE")]
    RoleRequestFailedBadRole,
    /// `OFPMMFC_UNKNOWN`
    #[error("OFPMMFC_UNKNOWN")]
    MeterModFailedUnknown,
    /// `OFPMMFC_METER_EXISTS`
    #[error("OFPMMFC_METER_EXISTS")]
    MeterModFailedMeterExists,
    /// `OFPMMFC_INVALID_METER`
    #[error("OFPMMFC_INVALID_METER")]
    MeterModFailedInvalidMeter,
    /// `OFPMMFC_UNKNOWN_METER`
    #[error("OFPMMFC_UNKNOWN_METER")]
    MeterModFailedUnknownMeter,
    /// `OFPMMFC_BAD_COMMAND`
    #[error("OFPMMFC_BAD_COMMAND")]
    MeterModFailedBadCommand,
    /// `OFPMMFC_BAD_FLAGS`
    #[error("OFPMMFC_BAD_FLAGS")]
    MeterModFailedBadFlags,
    /// `OFPMMFC_BAD_RATE`
    #[error("OFPMMFC_BAD_RATE")]
    MeterModFailedBadRate,
    /// `OFPMMFC_BAD_BURST`
    #[error("OFPMMFC_BAD_BURST")]
    MeterModFailedBadBurst,
    /// `OFPMMFC_BAD_BAND`
    #[error("OFPMMFC_BAD_BAND")]
    MeterModFailedBadBand,
    /// `OFPMMFC_BAD_BAND_VALUE`
    #[error("OFPMMFC_BAD_BAND_VALUE")]
    MeterModFailedBadBandValue,
    /// `OFPMMFC_OUT_OF_METERS`
    #[error("OFPMMFC_OUT_OF_METERS")]
    MeterModFailedOutOfMeters,
    /// `OFPMMFC_OUT_OF_BANDS`
    #[error("OFPMMFC_OUT_OF_BANDS")]
    MeterModFailedOutOfBands,
    /// `OFPTFFC_BAD_TABLE`
    #[error("OFPTFFC_BAD_TABLE")]
    TableFeaturesFailedBadTable,
    /// `OFPTFFC_BAD_METADATA`
    #[error("OFPTFFC_BAD_METADATA")]
    TableFeaturesFailedBadMetadata,
    /// `OFPTFFC_EPERM`
    #[error("OFPTFFC_EPERM")]
    TableFeaturesFailedEperm,
    /// `OFPBPC_BAD_TYPE`
    #[error("OFPBPC_BAD_TYPE")]
    BadPropertyBadType,
    /// `OFPBPC_BAD_LEN`
    #[error("OFPBPC_BAD_LEN")]
    BadPropertyBadLen,
    /// `OFPBPC_BAD_VALUE`
    #[error("OFPBPC_BAD_VALUE")]
    BadPropertyBadValue,
    /// `OFPBPC_TOO_MANY`
    #[error("OFPBPC_TOO_MANY")]
    BadPropertyTooMany,
    /// `OFPBPC_DUP_TYPE`
    #[error("OFPBPC_DUP_TYPE")]
    BadPropertyDupType,
    /// `OFPBPC_BAD_EXPERIMENTER`
    #[error("OFPBPC_BAD_EXPERIMENTER")]
    BadPropertyBadExperimenter,
    /// `OFPBPC_BAD_EXP_TYPE`
    #[error("OFPBPC_BAD_EXP_TYPE")]
    BadPropertyBadExpType,
    /// `OFPBPC_BAD_EXP_VALUE`
    #[error("OFPBPC_BAD_EXP_VALUE")]
    BadPropertyBadExpValue,
    /// `OFPBPC_EPERM`
    #[error("OFPBPC_EPERM")]
    BadPropertyEperm,
    /// `OFPACFC_INVALID`
    #[error("OFPACFC_INVALID")]
    AsyncConfigFailedInvalid,
    /// `OFPACFC_UNSUPPORTED`
    #[error("OFPACFC_UNSUPPORTED")]
    AsyncConfigFailedUnsupported,
    /// `OFPACFC_EPERM`
    #[error("OFPACFC_EPERM")]
    AsyncConfigFailedEperm,
    /// `OFPBFC_UNKNOWN`
    #[error("OFPBFC_UNKNOWN")]
    BundleFailedUnknown,
    /// `OFPBFC_EPERM`
    #[error("OFPBFC_EPERM")]
    BundleFailedEperm,
    /// `OFPBFC_BAD_ID`
    #[error("OFPBFC_BAD_ID")]
    BundleFailedBadId,
    /// `OFPBFC_BUNDLE_EXIST`
    #[error("OFPBFC_BUNDLE_EXIST")]
    BundleFailedBundleExist,
    /// `OFPBFC_BUNDLE_CLOSED`
    #[error("OFPBFC_BUNDLE_CLOSED")]
    BundleFailedBundleClosed,
    /// `OFPBFC_OUT_OF_BUNDLES`
    #[error("OFPBFC_OUT_OF_BUNDLES")]
    BundleFailedOutOfBundles,
    /// `OFPBFC_BAD_TYPE`
    #[error("OFPBFC_BAD_TYPE")]
    BundleFailedBadType,
    /// `OFPBFC_BAD_FLAGS`
    #[error("OFPBFC_BAD_FLAGS")]
    BundleFailedBadFlags,
    /// `OFPBFC_MSG_BAD_LEN`
    #[error("OFPBFC_MSG_BAD_LEN")]
    BundleFailedMsgBadLen,
    /// `OFPBFC_MSG_BAD_XID`
    #[error("OFPBFC_MSG_BAD_XID")]
    BundleFailedMsgBadXid,
    /// `OFPBFC_MSG_UNSUP`
    #[error("OFPBFC_MSG_UNSUP")]
    BundleFailedMsgUnsup,
    /// `OFPBFC_MSG_CONFLICT`
    #[error("OFPBFC_MSG_CONFLICT")]
    BundleFailedMsgConflict,
    /// `OFPBFC_MSG_TOO_MANY`
    #[error("OFPBFC_MSG_TOO_MANY")]
    BundleFailedMsgTooMany,
    /// `OFPBFC_MSG_FAILED`
    #[error("OFPBFC_MSG_FAILED")]
    BundleFailedMsgFailed,
    /// `OFPBFC_TIMEOUT`
    #[error("OFPBFC_TIMEOUT")]
    BundleFailedTimeout,
    /// `OFPBFC_BUNDLE_IN_PROGRESS`
    #[error("OFPBFC_BUNDLE_IN_PROGRESS")]
    BundleFailedBundleInProgress,
}

/// Error codes per version: `(kind, name, [1.0, 1.1-1.3, 1.4, 1.5])`.
pub const ERROR_TABLE: &[(ErrorKind, &str, [Option<ErrorCode>; 4])] = &[
    (
        ErrorKind::HelloFailedIncompatible,
        "OFPHFC_INCOMPATIBLE",
        [
            Some(W::Std(0, 0)),
            Some(W::Std(0, 0)),
            Some(W::Std(0, 0)),
            Some(W::Std(0, 0)),
        ],
    ),
    (
        ErrorKind::HelloFailedEperm,
        "OFPHFC_EPERM",
        [
            Some(W::Std(0, 1)),
            Some(W::Std(0, 1)),
            Some(W::Std(0, 1)),
            Some(W::Std(0, 1)),
        ],
    ),
    (
        ErrorKind::BadRequestBadVersion,
        "OFPBRC_BAD_VERSION",
        [
            Some(W::Std(1, 0)),
            Some(W::Std(1, 0)),
            Some(W::Std(1, 0)),
            Some(W::Std(1, 0)),
        ],
    ),
    (
        ErrorKind::BadRequestBadType,
        "OFPBRC_BAD_TYPE",
        [
            Some(W::Std(1, 1)),
            Some(W::Std(1, 1)),
            Some(W::Std(1, 1)),
            Some(W::Std(1, 1)),
        ],
    ),
    (
        ErrorKind::BadRequestBadStat,
        "OFPBRC_BAD_STAT",
        [
            Some(W::Std(1, 2)),
            Some(W::Std(1, 2)),
            Some(W::Std(1, 2)),
            Some(W::Std(1, 2)),
        ],
    ),
    (
        ErrorKind::BadRequestBadVendor,
        "OFPBRC_BAD_VENDOR",
        [
            Some(W::Std(1, 3)),
            Some(W::Std(1, 3)),
            Some(W::Std(1, 3)),
            Some(W::Std(1, 3)),
        ],
    ),
    (
        ErrorKind::BadRequestBadSubtype,
        "OFPBRC_BAD_SUBTYPE",
        [
            Some(W::Std(1, 4)),
            Some(W::Std(1, 4)),
            Some(W::Std(1, 4)),
            Some(W::Std(1, 4)),
        ],
    ),
    (
        ErrorKind::BadRequestEperm,
        "OFPBRC_EPERM",
        [
            Some(W::Std(1, 5)),
            Some(W::Std(1, 5)),
            Some(W::Std(1, 5)),
            Some(W::Std(1, 5)),
        ],
    ),
    (
        ErrorKind::BadRequestBadLen,
        "OFPBRC_BAD_LEN",
        [
            Some(W::Std(1, 6)),
            Some(W::Std(1, 6)),
            Some(W::Std(1, 6)),
            Some(W::Std(1, 6)),
        ],
    ),
    (
        ErrorKind::BadRequestBufferEmpty,
        "OFPBRC_BUFFER_EMPTY",
        [
            Some(W::Std(1, 7)),
            Some(W::Std(1, 7)),
            Some(W::Std(1, 7)),
            Some(W::Std(1, 7)),
        ],
    ),
    (
        ErrorKind::BadRequestBufferUnknown,
        "OFPBRC_BUFFER_UNKNOWN",
        [
            Some(W::Std(1, 8)),
            Some(W::Std(1, 8)),
            Some(W::Std(1, 8)),
            Some(W::Std(1, 8)),
        ],
    ),
    (
        ErrorKind::BadRequestBadTableId,
        "OFPBRC_BAD_TABLE_ID",
        [
            Some(W::Exp(0x2320, 1, 512)),
            Some(W::Std(1, 9)),
            Some(W::Std(1, 9)),
            Some(W::Std(1, 9)),
        ],
    ),
    (
        ErrorKind::BadRequestIsSecondary,
        "OFPBRC_IS_SECONDARY",
        [
            Some(W::Std(1, 5)),
            Some(W::Std(1, 10)),
            Some(W::Std(1, 10)),
            Some(W::Std(1, 10)),
        ],
    ),
    (
        ErrorKind::BadRequestBadPort,
        "OFPBRC_BAD_PORT",
        [
            Some(W::Exp(0x2320, 1, 514)),
            Some(W::Std(1, 11)),
            Some(W::Std(1, 11)),
            Some(W::Std(1, 11)),
        ],
    ),
    (
        ErrorKind::BadRequestBadPacket,
        "OFPBRC_BAD_PACKET",
        [
            None,
            Some(W::Std(1, 12)),
            Some(W::Std(1, 12)),
            Some(W::Std(1, 12)),
        ],
    ),
    (
        ErrorKind::BadRequestMultipartBufferOverflow,
        "OFPBRC_MULTIPART_BUFFER_OVERFLOW",
        [
            None,
            Some(W::Std(1, 13)),
            Some(W::Std(1, 13)),
            Some(W::Std(1, 13)),
        ],
    ),
    (
        ErrorKind::BadActionBadType,
        "OFPBAC_BAD_TYPE",
        [
            Some(W::Std(2, 0)),
            Some(W::Std(2, 0)),
            Some(W::Std(2, 0)),
            Some(W::Std(2, 0)),
        ],
    ),
    (
        ErrorKind::BadActionBadLen,
        "OFPBAC_BAD_LEN",
        [
            Some(W::Std(2, 1)),
            Some(W::Std(2, 1)),
            Some(W::Std(2, 1)),
            Some(W::Std(2, 1)),
        ],
    ),
    (
        ErrorKind::BadActionBadVendor,
        "OFPBAC_BAD_VENDOR",
        [
            Some(W::Std(2, 2)),
            Some(W::Std(2, 2)),
            Some(W::Std(2, 2)),
            Some(W::Std(2, 2)),
        ],
    ),
    (
        ErrorKind::BadActionBadVendorType,
        "OFPBAC_BAD_VENDOR_TYPE",
        [
            Some(W::Std(2, 3)),
            Some(W::Std(2, 3)),
            Some(W::Std(2, 3)),
            Some(W::Std(2, 3)),
        ],
    ),
    (
        ErrorKind::BadActionBadOutPort,
        "OFPBAC_BAD_OUT_PORT",
        [
            Some(W::Std(2, 4)),
            Some(W::Std(2, 4)),
            Some(W::Std(2, 4)),
            Some(W::Std(2, 4)),
        ],
    ),
    (
        ErrorKind::BadActionBadArgument,
        "OFPBAC_BAD_ARGUMENT",
        [
            Some(W::Std(2, 5)),
            Some(W::Std(2, 5)),
            Some(W::Std(2, 5)),
            Some(W::Std(2, 5)),
        ],
    ),
    (
        ErrorKind::BadActionEperm,
        "OFPBAC_EPERM",
        [
            Some(W::Std(2, 6)),
            Some(W::Std(2, 6)),
            Some(W::Std(2, 6)),
            Some(W::Std(2, 6)),
        ],
    ),
    (
        ErrorKind::BadActionTooMany,
        "OFPBAC_TOO_MANY",
        [
            Some(W::Std(2, 7)),
            Some(W::Std(2, 7)),
            Some(W::Std(2, 7)),
            Some(W::Std(2, 7)),
        ],
    ),
    (
        ErrorKind::BadActionBadQueue,
        "OFPBAC_BAD_QUEUE",
        [
            Some(W::Std(2, 8)),
            Some(W::Std(2, 8)),
            Some(W::Std(2, 8)),
            Some(W::Std(2, 8)),
        ],
    ),
    (
        ErrorKind::BadActionBadOutGroup,
        "OFPBAC_BAD_OUT_GROUP",
        [
            Some(W::Exp(0x2320, 2, 9)),
            Some(W::Std(2, 9)),
            Some(W::Std(2, 9)),
            Some(W::Std(2, 9)),
        ],
    ),
    (
        ErrorKind::BadActionMatchInconsistent,
        "OFPBAC_MATCH_INCONSISTENT",
        [
            Some(W::Exp(0x2320, 1, 522)),
            Some(W::Std(2, 10)),
            Some(W::Std(2, 10)),
            Some(W::Std(2, 10)),
        ],
    ),
    (
        ErrorKind::BadActionUnsupportedOrder,
        "OFPBAC_UNSUPPORTED_ORDER",
        [
            None,
            Some(W::Std(2, 11)),
            Some(W::Std(2, 11)),
            Some(W::Std(2, 11)),
        ],
    ),
    (
        ErrorKind::BadActionBadTag,
        "OFPBAC_BAD_TAG",
        [
            None,
            Some(W::Std(2, 12)),
            Some(W::Std(2, 12)),
            Some(W::Std(2, 12)),
        ],
    ),
    (
        ErrorKind::BadActionBadSetType,
        "OFPBAC_BAD_SET_TYPE",
        [
            Some(W::Exp(0x2320, 1, 523)),
            Some(W::Std(2, 13)),
            Some(W::Std(2, 13)),
            Some(W::Std(2, 13)),
        ],
    ),
    (
        ErrorKind::BadActionBadSetLen,
        "OFPBAC_BAD_SET_LEN",
        [
            Some(W::Exp(0x2320, 1, 524)),
            Some(W::Std(2, 14)),
            Some(W::Std(2, 14)),
            Some(W::Std(2, 14)),
        ],
    ),
    (
        ErrorKind::BadActionBadSetArgument,
        "OFPBAC_BAD_SET_ARGUMENT",
        [
            Some(W::Exp(0x2320, 1, 525)),
            Some(W::Std(2, 15)),
            Some(W::Std(2, 15)),
            Some(W::Std(2, 15)),
        ],
    ),
    (
        ErrorKind::BadActionBadSetMask,
        "OFPBAC_BAD_SET_MASK",
        [
            None,
            Some(W::Exp(0x4f4e4600, 4250, 0)),
            Some(W::Exp(0x4f4e4600, 4250, 0)),
            Some(W::Std(2, 16)),
        ],
    ),
    (
        ErrorKind::BadInstructionUnknownInst,
        "OFPBIC_UNKNOWN_INST",
        [
            None,
            Some(W::Std(3, 0)),
            Some(W::Std(3, 0)),
            Some(W::Std(3, 0)),
        ],
    ),
    (
        ErrorKind::BadInstructionUnsupInst,
        "OFPBIC_UNSUP_INST",
        [
            Some(W::Exp(0x2320, 2, 257)),
            Some(W::Std(3, 1)),
            Some(W::Std(3, 1)),
            Some(W::Std(3, 1)),
        ],
    ),
    (
        ErrorKind::BadInstructionBadTableId,
        "OFPBIC_BAD_TABLE_ID",
        [
            None,
            Some(W::Std(3, 2)),
            Some(W::Std(3, 2)),
            Some(W::Std(3, 2)),
        ],
    ),
    (
        ErrorKind::BadInstructionUnsupMetadata,
        "OFPBIC_UNSUP_METADATA",
        [
            None,
            Some(W::Std(3, 3)),
            Some(W::Std(3, 3)),
            Some(W::Std(3, 3)),
        ],
    ),
    (
        ErrorKind::BadInstructionUnsupMetadataMask,
        "OFPBIC_UNSUP_METADATA_MASK",
        [
            None,
            Some(W::Std(3, 4)),
            Some(W::Std(3, 4)),
            Some(W::Std(3, 4)),
        ],
    ),
    (
        ErrorKind::BadInstructionBadExperimenter,
        "OFPBIC_BAD_EXPERIMENTER",
        [
            None,
            Some(W::Std(3, 5)),
            Some(W::Std(3, 5)),
            Some(W::Std(3, 5)),
        ],
    ),
    (
        ErrorKind::BadInstructionBadExpType,
        "OFPBIC_BAD_EXP_TYPE",
        [
            None,
            Some(W::Std(3, 6)),
            Some(W::Std(3, 6)),
            Some(W::Std(3, 6)),
        ],
    ),
    (
        ErrorKind::BadInstructionBadLen,
        "OFPBIC_BAD_LEN",
        [
            None,
            Some(W::Std(3, 7)),
            Some(W::Std(3, 7)),
            Some(W::Std(3, 7)),
        ],
    ),
    (
        ErrorKind::BadInstructionEperm,
        "OFPBIC_EPERM",
        [
            None,
            Some(W::Std(3, 8)),
            Some(W::Std(3, 8)),
            Some(W::Std(3, 8)),
        ],
    ),
    (
        ErrorKind::BadInstructionDupInst,
        "OFPBIC_DUP_INST",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2600, 0)),
            Some(W::Std(3, 9)),
            Some(W::Std(3, 9)),
        ],
    ),
    (
        ErrorKind::BadMatchBadType,
        "OFPBMC_BAD_TYPE",
        [
            None,
            Some(W::Std(4, 0)),
            Some(W::Std(4, 0)),
            Some(W::Std(4, 0)),
        ],
    ),
    (
        ErrorKind::BadMatchBadLen,
        "OFPBMC_BAD_LEN",
        [
            None,
            Some(W::Std(4, 1)),
            Some(W::Std(4, 1)),
            Some(W::Std(4, 1)),
        ],
    ),
    (
        ErrorKind::BadMatchBadTag,
        "OFPBMC_BAD_TAG",
        [
            None,
            Some(W::Std(4, 2)),
            Some(W::Std(4, 2)),
            Some(W::Std(4, 2)),
        ],
    ),
    (
        ErrorKind::BadMatchBadDlAddrMask,
        "OFPBMC_BAD_DL_ADDR_MASK",
        [
            None,
            Some(W::Std(4, 3)),
            Some(W::Std(4, 3)),
            Some(W::Std(4, 3)),
        ],
    ),
    (
        ErrorKind::BadMatchBadNwAddrMask,
        "OFPBMC_BAD_NW_ADDR_MASK",
        [
            None,
            Some(W::Std(4, 4)),
            Some(W::Std(4, 4)),
            Some(W::Std(4, 4)),
        ],
    ),
    (
        ErrorKind::BadMatchBadWildcards,
        "OFPBMC_BAD_WILDCARDS",
        [
            Some(W::Exp(0x2320, 1, 262)),
            Some(W::Std(4, 5)),
            Some(W::Std(4, 5)),
            Some(W::Std(4, 5)),
        ],
    ),
    (
        ErrorKind::BadMatchBadField,
        "OFPBMC_BAD_FIELD",
        [
            Some(W::Exp(0x2320, 0, 263)),
            Some(W::Std(4, 6)),
            Some(W::Std(4, 6)),
            Some(W::Std(4, 6)),
        ],
    ),
    (
        ErrorKind::BadMatchBadValue,
        "OFPBMC_BAD_VALUE",
        [
            Some(W::Exp(0x2320, 1, 258)),
            Some(W::Std(4, 7)),
            Some(W::Std(4, 7)),
            Some(W::Std(4, 7)),
        ],
    ),
    (
        ErrorKind::BadMatchBadMask,
        "OFPBMC_BAD_MASK",
        [
            Some(W::Exp(0x2320, 1, 259)),
            Some(W::Std(4, 8)),
            Some(W::Std(4, 8)),
            Some(W::Std(4, 8)),
        ],
    ),
    (
        ErrorKind::BadMatchBadPrereq,
        "OFPBMC_BAD_PREREQ",
        [
            Some(W::Exp(0x2320, 1, 260)),
            Some(W::Std(4, 9)),
            Some(W::Std(4, 9)),
            Some(W::Std(4, 9)),
        ],
    ),
    (
        ErrorKind::BadMatchDupField,
        "OFPBMC_DUP_FIELD",
        [
            Some(W::Exp(0x2320, 1, 261)),
            Some(W::Std(4, 10)),
            Some(W::Std(4, 10)),
            Some(W::Std(4, 10)),
        ],
    ),
    (
        ErrorKind::BadMatchEperm,
        "OFPBMC_EPERM",
        [
            None,
            Some(W::Std(4, 11)),
            Some(W::Std(4, 11)),
            Some(W::Std(4, 11)),
        ],
    ),
    (
        ErrorKind::FlowModFailedUnknown,
        "OFPFMFC_UNKNOWN",
        [
            None,
            Some(W::Std(5, 0)),
            Some(W::Std(5, 0)),
            Some(W::Std(5, 0)),
        ],
    ),
    (
        ErrorKind::FlowModFailedTableFull,
        "OFPFMFC_TABLE_FULL",
        [
            Some(W::Std(3, 0)),
            Some(W::Std(5, 1)),
            Some(W::Std(5, 1)),
            Some(W::Std(5, 1)),
        ],
    ),
    (
        ErrorKind::FlowModFailedBadTableId,
        "OFPFMFC_BAD_TABLE_ID",
        [
            None,
            Some(W::Std(5, 2)),
            Some(W::Std(5, 2)),
            Some(W::Std(5, 2)),
        ],
    ),
    (
        ErrorKind::FlowModFailedOverlap,
        "OFPFMFC_OVERLAP",
        [
            Some(W::Std(3, 1)),
            Some(W::Std(5, 3)),
            Some(W::Std(5, 3)),
            Some(W::Std(5, 3)),
        ],
    ),
    (
        ErrorKind::FlowModFailedEperm,
        "OFPFMFC_EPERM",
        [
            Some(W::Std(3, 2)),
            Some(W::Std(5, 4)),
            Some(W::Std(5, 4)),
            Some(W::Std(5, 4)),
        ],
    ),
    (
        ErrorKind::FlowModFailedBadTimeout,
        "OFPFMFC_BAD_TIMEOUT",
        [
            None,
            Some(W::Std(5, 5)),
            Some(W::Std(5, 5)),
            Some(W::Std(5, 5)),
        ],
    ),
    (
        ErrorKind::FlowModFailedBadCommand,
        "OFPFMFC_BAD_COMMAND",
        [
            Some(W::Std(3, 4)),
            Some(W::Std(5, 6)),
            Some(W::Std(5, 6)),
            Some(W::Std(5, 6)),
        ],
    ),
    (
        ErrorKind::FlowModFailedBadFlags,
        "OFPFMFC_BAD_FLAGS",
        [
            Some(W::Exp(0x2320, 3, 258)),
            Some(W::Std(5, 7)),
            Some(W::Std(5, 7)),
            Some(W::Std(5, 7)),
        ],
    ),
    (
        ErrorKind::GroupModFailedGroupExists,
        "OFPGMFC_GROUP_EXISTS",
        [
            Some(W::Exp(0x2320, 6, 0)),
            Some(W::Std(6, 0)),
            Some(W::Std(6, 0)),
            Some(W::Std(6, 0)),
        ],
    ),
    (
        ErrorKind::GroupModFailedInvalidGroup,
        "OFPGMFC_INVALID_GROUP",
        [
            Some(W::Exp(0x2320, 6, 1)),
            Some(W::Std(6, 1)),
            Some(W::Std(6, 1)),
            Some(W::Std(6, 1)),
        ],
    ),
    (
        ErrorKind::GroupModFailedOutOfGroups,
        "OFPGMFC_OUT_OF_GROUPS",
        [
            Some(W::Exp(0x2320, 6, 3)),
            Some(W::Std(6, 3)),
            Some(W::Std(6, 3)),
            Some(W::Std(6, 3)),
        ],
    ),
    (
        ErrorKind::GroupModFailedOutOfBuckets,
        "OFPGMFC_OUT_OF_BUCKETS",
        [
            Some(W::Exp(0x2320, 6, 4)),
            Some(W::Std(6, 4)),
            Some(W::Std(6, 4)),
            Some(W::Std(6, 4)),
        ],
    ),
    (
        ErrorKind::GroupModFailedChainingUnsupported,
        "OFPGMFC_CHAINING_UNSUPPORTED",
        [
            Some(W::Exp(0x2320, 6, 5)),
            Some(W::Std(6, 5)),
            Some(W::Std(6, 5)),
            Some(W::Std(6, 5)),
        ],
    ),
    (
        ErrorKind::GroupModFailedWatchUnsupported,
        "OFPGMFC_WATCH_UNSUPPORTED",
        [
            Some(W::Exp(0x2320, 6, 6)),
            Some(W::Std(6, 6)),
            Some(W::Std(6, 6)),
            Some(W::Std(6, 6)),
        ],
    ),
    (
        ErrorKind::GroupModFailedLoop,
        "OFPGMFC_LOOP",
        [
            Some(W::Exp(0x2320, 6, 7)),
            Some(W::Std(6, 7)),
            Some(W::Std(6, 7)),
            Some(W::Std(6, 7)),
        ],
    ),
    (
        ErrorKind::GroupModFailedUnknownGroup,
        "OFPGMFC_UNKNOWN_GROUP",
        [
            Some(W::Exp(0x2320, 6, 8)),
            Some(W::Std(6, 8)),
            Some(W::Std(6, 8)),
            Some(W::Std(6, 8)),
        ],
    ),
    (
        ErrorKind::GroupModFailedChainedGroup,
        "OFPGMFC_CHAINED_GROUP",
        [
            Some(W::Exp(0x2320, 6, 9)),
            Some(W::Std(6, 9)),
            Some(W::Std(6, 9)),
            Some(W::Std(6, 9)),
        ],
    ),
    (
        ErrorKind::GroupModFailedBadType,
        "OFPGMFC_BAD_TYPE",
        [
            Some(W::Exp(0x2320, 6, 10)),
            Some(W::Std(6, 10)),
            Some(W::Std(6, 10)),
            Some(W::Std(6, 10)),
        ],
    ),
    (
        ErrorKind::GroupModFailedBadCommand,
        "OFPGMFC_BAD_COMMAND",
        [
            Some(W::Exp(0x2320, 6, 11)),
            Some(W::Std(6, 11)),
            Some(W::Std(6, 11)),
            Some(W::Std(6, 11)),
        ],
    ),
    (
        ErrorKind::GroupModFailedBadBucket,
        "OFPGMFC_BAD_BUCKET",
        [
            Some(W::Exp(0x2320, 6, 12)),
            Some(W::Std(6, 12)),
            Some(W::Std(6, 12)),
            Some(W::Std(6, 12)),
        ],
    ),
    (
        ErrorKind::GroupModFailedBadWatch,
        "OFPGMFC_BAD_WATCH",
        [
            Some(W::Exp(0x2320, 6, 13)),
            Some(W::Std(6, 13)),
            Some(W::Std(6, 13)),
            Some(W::Std(6, 13)),
        ],
    ),
    (
        ErrorKind::GroupModFailedEperm,
        "OFPGMFC_EPERM",
        [
            Some(W::Exp(0x2320, 6, 14)),
            Some(W::Std(6, 14)),
            Some(W::Std(6, 14)),
            Some(W::Std(6, 14)),
        ],
    ),
    (
        ErrorKind::PortModFailedBadPort,
        "OFPPMFC_BAD_PORT",
        [
            Some(W::Std(4, 0)),
            Some(W::Std(7, 0)),
            Some(W::Std(7, 0)),
            Some(W::Std(7, 0)),
        ],
    ),
    (
        ErrorKind::PortModFailedBadHwAddr,
        "OFPPMFC_BAD_HW_ADDR",
        [
            Some(W::Std(4, 1)),
            Some(W::Std(7, 1)),
            Some(W::Std(7, 1)),
            Some(W::Std(7, 1)),
        ],
    ),
    (
        ErrorKind::PortModFailedBadConfig,
        "OFPPMFC_BAD_CONFIG",
        [
            None,
            Some(W::Std(7, 2)),
            Some(W::Std(7, 2)),
            Some(W::Std(7, 2)),
        ],
    ),
    (
        ErrorKind::PortModFailedBadAdvertise,
        "OFPPMFC_BAD_ADVERTISE",
        [
            None,
            Some(W::Std(7, 3)),
            Some(W::Std(7, 3)),
            Some(W::Std(7, 3)),
        ],
    ),
    (
        ErrorKind::PortModFailedEperm,
        "OFPPMFC_EPERM",
        [
            None,
            Some(W::Std(7, 4)),
            Some(W::Std(7, 4)),
            Some(W::Std(7, 4)),
        ],
    ),
    (
        ErrorKind::TableModFailedBadTable,
        "OFPTMFC_BAD_TABLE",
        [
            None,
            Some(W::Std(8, 0)),
            Some(W::Std(8, 0)),
            Some(W::Std(8, 0)),
        ],
    ),
    (
        ErrorKind::TableModFailedBadConfig,
        "OFPTMFC_BAD_CONFIG",
        [
            None,
            Some(W::Std(8, 1)),
            Some(W::Std(8, 1)),
            Some(W::Std(8, 1)),
        ],
    ),
    (
        ErrorKind::TableModFailedEperm,
        "OFPTMFC_EPERM",
        [
            None,
            Some(W::Std(8, 2)),
            Some(W::Std(8, 2)),
            Some(W::Std(8, 2)),
        ],
    ),
    (
        ErrorKind::QueueOpFailedBadPort,
        "OFPQOFC_BAD_PORT",
        [
            Some(W::Std(5, 0)),
            Some(W::Std(9, 0)),
            Some(W::Std(9, 0)),
            Some(W::Std(9, 0)),
        ],
    ),
    (
        ErrorKind::QueueOpFailedBadQueue,
        "OFPQOFC_BAD_QUEUE",
        [
            Some(W::Std(5, 1)),
            Some(W::Std(9, 1)),
            Some(W::Std(9, 1)),
            Some(W::Std(9, 1)),
        ],
    ),
    (
        ErrorKind::QueueOpFailedEperm,
        "OFPQOFC_EPERM",
        [
            Some(W::Std(5, 2)),
            Some(W::Std(9, 2)),
            Some(W::Std(9, 2)),
            Some(W::Std(9, 2)),
        ],
    ),
    (
        ErrorKind::SwitchConfigFailedBadFlags,
        "OFPSCFC_BAD_FLAGS",
        [
            None,
            Some(W::Std(10, 0)),
            Some(W::Std(10, 0)),
            Some(W::Std(10, 0)),
        ],
    ),
    (
        ErrorKind::SwitchConfigFailedBadLen,
        "OFPSCFC_BAD_LEN",
        [
            None,
            Some(W::Std(10, 1)),
            Some(W::Std(10, 1)),
            Some(W::Std(10, 1)),
        ],
    ),
    (
        ErrorKind::SwitchConfigFailedEperm,
        "OFPSCFC_EPERM",
        [
            None,
            Some(W::Std(10, 2)),
            Some(W::Std(10, 2)),
            Some(W::Std(10, 2)),
        ],
    ),
    (
        ErrorKind::RoleRequestFailedStale,
        "OFPRRFC_STALE",
        [
            None,
            Some(W::Std(11, 0)),
            Some(W::Std(11, 0)),
            Some(W::Std(11, 0)),
        ],
    ),
    (
        ErrorKind::RoleRequestFailedUnsup,
        "OFPRRFC_UNSUP",
        [
            None,
            Some(W::Std(11, 1)),
            Some(W::Std(11, 1)),
            Some(W::Std(11, 1)),
        ],
    ),
    (
        ErrorKind::RoleRequestFailedBadRole,
        "OFPRRFC_BAD_ROLE",
        [
            Some(W::Exp(0x2320, 1, 513)),
            Some(W::Std(11, 2)),
            Some(W::Std(11, 2)),
            Some(W::Std(11, 2)),
        ],
    ),
    (
        ErrorKind::MeterModFailedUnknown,
        "OFPMMFC_UNKNOWN",
        [
            None,
            Some(W::Std(12, 0)),
            Some(W::Std(12, 0)),
            Some(W::Std(12, 0)),
        ],
    ),
    (
        ErrorKind::MeterModFailedMeterExists,
        "OFPMMFC_METER_EXISTS",
        [
            None,
            Some(W::Std(12, 1)),
            Some(W::Std(12, 1)),
            Some(W::Std(12, 1)),
        ],
    ),
    (
        ErrorKind::MeterModFailedInvalidMeter,
        "OFPMMFC_INVALID_METER",
        [
            None,
            Some(W::Std(12, 2)),
            Some(W::Std(12, 2)),
            Some(W::Std(12, 2)),
        ],
    ),
    (
        ErrorKind::MeterModFailedUnknownMeter,
        "OFPMMFC_UNKNOWN_METER",
        [
            None,
            Some(W::Std(12, 3)),
            Some(W::Std(12, 3)),
            Some(W::Std(12, 3)),
        ],
    ),
    (
        ErrorKind::MeterModFailedBadCommand,
        "OFPMMFC_BAD_COMMAND",
        [
            None,
            Some(W::Std(12, 4)),
            Some(W::Std(12, 4)),
            Some(W::Std(12, 4)),
        ],
    ),
    (
        ErrorKind::MeterModFailedBadFlags,
        "OFPMMFC_BAD_FLAGS",
        [
            None,
            Some(W::Std(12, 5)),
            Some(W::Std(12, 5)),
            Some(W::Std(12, 5)),
        ],
    ),
    (
        ErrorKind::MeterModFailedBadRate,
        "OFPMMFC_BAD_RATE",
        [
            None,
            Some(W::Std(12, 6)),
            Some(W::Std(12, 6)),
            Some(W::Std(12, 6)),
        ],
    ),
    (
        ErrorKind::MeterModFailedBadBurst,
        "OFPMMFC_BAD_BURST",
        [
            None,
            Some(W::Std(12, 7)),
            Some(W::Std(12, 7)),
            Some(W::Std(12, 7)),
        ],
    ),
    (
        ErrorKind::MeterModFailedBadBand,
        "OFPMMFC_BAD_BAND",
        [
            None,
            Some(W::Std(12, 8)),
            Some(W::Std(12, 8)),
            Some(W::Std(12, 8)),
        ],
    ),
    (
        ErrorKind::MeterModFailedBadBandValue,
        "OFPMMFC_BAD_BAND_VALUE",
        [
            None,
            Some(W::Std(12, 9)),
            Some(W::Std(12, 9)),
            Some(W::Std(12, 9)),
        ],
    ),
    (
        ErrorKind::MeterModFailedOutOfMeters,
        "OFPMMFC_OUT_OF_METERS",
        [
            None,
            Some(W::Std(12, 10)),
            Some(W::Std(12, 10)),
            Some(W::Std(12, 10)),
        ],
    ),
    (
        ErrorKind::MeterModFailedOutOfBands,
        "OFPMMFC_OUT_OF_BANDS",
        [
            None,
            Some(W::Std(12, 11)),
            Some(W::Std(12, 11)),
            Some(W::Std(12, 11)),
        ],
    ),
    (
        ErrorKind::TableFeaturesFailedBadTable,
        "OFPTFFC_BAD_TABLE",
        [
            None,
            Some(W::Std(13, 0)),
            Some(W::Std(13, 0)),
            Some(W::Std(13, 0)),
        ],
    ),
    (
        ErrorKind::TableFeaturesFailedBadMetadata,
        "OFPTFFC_BAD_METADATA",
        [
            None,
            Some(W::Std(13, 1)),
            Some(W::Std(13, 1)),
            Some(W::Std(13, 1)),
        ],
    ),
    (
        ErrorKind::TableFeaturesFailedEperm,
        "OFPTFFC_EPERM",
        [
            None,
            Some(W::Std(13, 5)),
            Some(W::Std(13, 5)),
            Some(W::Std(13, 5)),
        ],
    ),
    (
        ErrorKind::BadPropertyBadType,
        "OFPBPC_BAD_TYPE",
        [
            Some(W::Exp(0x00002320, 13, 2)),
            Some(W::Std(13, 2)),
            Some(W::Std(14, 0)),
            Some(W::Std(14, 0)),
        ],
    ),
    (
        ErrorKind::BadPropertyBadLen,
        "OFPBPC_BAD_LEN",
        [
            Some(W::Exp(0x00002320, 13, 3)),
            Some(W::Std(13, 3)),
            Some(W::Std(14, 1)),
            Some(W::Std(14, 1)),
        ],
    ),
    (
        ErrorKind::BadPropertyBadValue,
        "OFPBPC_BAD_VALUE",
        [
            Some(W::Exp(0x00002320, 13, 4)),
            Some(W::Std(13, 4)),
            Some(W::Std(14, 2)),
            Some(W::Std(14, 2)),
        ],
    ),
    (
        ErrorKind::BadPropertyTooMany,
        "OFPBPC_TOO_MANY",
        [
            Some(W::Exp(0x00002320, 14, 3)),
            Some(W::Exp(0x4f4e4600, 4443, 0)),
            Some(W::Std(14, 3)),
            Some(W::Std(14, 3)),
        ],
    ),
    (
        ErrorKind::BadPropertyDupType,
        "OFPBPC_DUP_TYPE",
        [
            Some(W::Exp(0x00002320, 14, 4)),
            Some(W::Exp(0x4f4e4600, 4444, 0)),
            Some(W::Std(14, 4)),
            Some(W::Std(14, 4)),
        ],
    ),
    (
        ErrorKind::BadPropertyBadExperimenter,
        "OFPBPC_BAD_EXPERIMENTER",
        [
            Some(W::Exp(0x00002320, 14, 5)),
            Some(W::Exp(0x4f4e4600, 4445, 0)),
            Some(W::Std(14, 5)),
            Some(W::Std(14, 5)),
        ],
    ),
    (
        ErrorKind::BadPropertyBadExpType,
        "OFPBPC_BAD_EXP_TYPE",
        [
            Some(W::Exp(0x00002320, 14, 6)),
            Some(W::Exp(0x4f4e4600, 4446, 0)),
            Some(W::Std(14, 6)),
            Some(W::Std(14, 6)),
        ],
    ),
    (
        ErrorKind::BadPropertyBadExpValue,
        "OFPBPC_BAD_EXP_VALUE",
        [
            Some(W::Exp(0x00002320, 14, 7)),
            Some(W::Exp(0x4f4e4600, 4447, 0)),
            Some(W::Std(14, 7)),
            Some(W::Std(14, 7)),
        ],
    ),
    (
        ErrorKind::BadPropertyEperm,
        "OFPBPC_EPERM",
        [
            Some(W::Exp(0x00002320, 14, 8)),
            Some(W::Exp(0x4f4e4600, 4448, 0)),
            Some(W::Std(14, 8)),
            Some(W::Std(14, 8)),
        ],
    ),
    (
        ErrorKind::AsyncConfigFailedInvalid,
        "OFPACFC_INVALID",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2370, 0)),
            Some(W::Std(15, 0)),
            Some(W::Std(15, 0)),
        ],
    ),
    (
        ErrorKind::AsyncConfigFailedUnsupported,
        "OFPACFC_UNSUPPORTED",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2371, 0)),
            Some(W::Std(15, 1)),
            Some(W::Std(15, 1)),
        ],
    ),
    (
        ErrorKind::AsyncConfigFailedEperm,
        "OFPACFC_EPERM",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2372, 0)),
            Some(W::Std(15, 2)),
            Some(W::Std(15, 2)),
        ],
    ),
    (
        ErrorKind::BundleFailedUnknown,
        "OFPBFC_UNKNOWN",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2300, 0)),
            Some(W::Std(17, 0)),
            Some(W::Std(17, 0)),
        ],
    ),
    (
        ErrorKind::BundleFailedEperm,
        "OFPBFC_EPERM",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2301, 0)),
            Some(W::Std(17, 1)),
            Some(W::Std(17, 1)),
        ],
    ),
    (
        ErrorKind::BundleFailedBadId,
        "OFPBFC_BAD_ID",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2302, 0)),
            Some(W::Std(17, 2)),
            Some(W::Std(17, 2)),
        ],
    ),
    (
        ErrorKind::BundleFailedBundleExist,
        "OFPBFC_BUNDLE_EXIST",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2303, 0)),
            Some(W::Std(17, 3)),
            Some(W::Std(17, 3)),
        ],
    ),
    (
        ErrorKind::BundleFailedBundleClosed,
        "OFPBFC_BUNDLE_CLOSED",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2304, 0)),
            Some(W::Std(17, 4)),
            Some(W::Std(17, 4)),
        ],
    ),
    (
        ErrorKind::BundleFailedOutOfBundles,
        "OFPBFC_OUT_OF_BUNDLES",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2305, 0)),
            Some(W::Std(17, 5)),
            Some(W::Std(17, 5)),
        ],
    ),
    (
        ErrorKind::BundleFailedBadType,
        "OFPBFC_BAD_TYPE",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2306, 0)),
            Some(W::Std(17, 6)),
            Some(W::Std(17, 6)),
        ],
    ),
    (
        ErrorKind::BundleFailedBadFlags,
        "OFPBFC_BAD_FLAGS",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2307, 0)),
            Some(W::Std(17, 7)),
            Some(W::Std(17, 7)),
        ],
    ),
    (
        ErrorKind::BundleFailedMsgBadLen,
        "OFPBFC_MSG_BAD_LEN",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2308, 0)),
            Some(W::Std(17, 8)),
            Some(W::Std(17, 8)),
        ],
    ),
    (
        ErrorKind::BundleFailedMsgBadXid,
        "OFPBFC_MSG_BAD_XID",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2309, 0)),
            Some(W::Std(17, 9)),
            Some(W::Std(17, 9)),
        ],
    ),
    (
        ErrorKind::BundleFailedMsgUnsup,
        "OFPBFC_MSG_UNSUP",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2310, 0)),
            Some(W::Std(17, 10)),
            Some(W::Std(17, 10)),
        ],
    ),
    (
        ErrorKind::BundleFailedMsgConflict,
        "OFPBFC_MSG_CONFLICT",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2311, 0)),
            Some(W::Std(17, 11)),
            Some(W::Std(17, 11)),
        ],
    ),
    (
        ErrorKind::BundleFailedMsgTooMany,
        "OFPBFC_MSG_TOO_MANY",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2312, 0)),
            Some(W::Std(17, 12)),
            Some(W::Std(17, 12)),
        ],
    ),
    (
        ErrorKind::BundleFailedMsgFailed,
        "OFPBFC_MSG_FAILED",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2313, 0)),
            Some(W::Std(17, 13)),
            Some(W::Std(17, 13)),
        ],
    ),
    (
        ErrorKind::BundleFailedTimeout,
        "OFPBFC_TIMEOUT",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2314, 0)),
            Some(W::Std(17, 14)),
            Some(W::Std(17, 14)),
        ],
    ),
    (
        ErrorKind::BundleFailedBundleInProgress,
        "OFPBFC_BUNDLE_IN_PROGRESS",
        [
            None,
            Some(W::Exp(0x4f4e4600, 2315, 0)),
            Some(W::Std(17, 15)),
            Some(W::Std(17, 15)),
        ],
    ),
];

/// The Nicira vendor id (also the OpenFlow 1.0 vendor error form).
pub const NX_VENDOR_ID: u32 = 0x0000_2320;
/// The ONF experimenter id.
pub const ONF_EXPERIMENTER_ID: u32 = 0x4f4e_4600;
/// OpenFlow 1.0 error type of the Nicira vendor-error form.
const NXET_VENDOR: u16 = 0xb0c2;
/// OpenFlow 1.2+ experimenter error type.
const OFPET_EXPERIMENTER: u16 = 0xffff;

fn column(version: Version) -> usize {
    match version {
        Version::V1_0 => 0,
        Version::V1_1 | Version::V1_2 | Version::V1_3 => 1,
        Version::V1_4 => 2,
        Version::V1_5 => 3,
    }
}

impl ErrorKind {
    /// The Open vSwitch name, e.g. `OFPBMC_BAD_PREREQ`.
    pub fn name(self) -> &'static str {
        ERROR_TABLE
            .iter()
            .find(|e| e.0 == self)
            .map_or("UNKNOWN", |e| e.1)
    }

    /// The wire code of this error in `version`, if that version has one.
    pub fn code_in(self, version: Version) -> Option<ErrorCode> {
        ERROR_TABLE
            .iter()
            .find(|e| e.0 == self)
            .and_then(|e| e.2[column(version)])
    }

    /// The wire code to send in `version`: [`Self::code_in`], or, for a kind
    /// that version cannot express, `OFPBRC_EPERM` (1, 5).
    pub fn code(self, version: Version) -> ErrorCode {
        self.code_in(version).unwrap_or(ErrorCode::Std(1, 5))
    }

    /// The kind a wire code denotes in `version`, if known.
    pub fn from_code(version: Version, code: ErrorCode) -> Option<ErrorKind> {
        let c = column(version);
        ERROR_TABLE
            .iter()
            .find(|e| e.2[c] == Some(code))
            .map(|e| e.0)
    }
}

/// An ERROR message: the wire code (kept as received, so unknown codes
/// round-trip) and the data (usually the start of the offending request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMsg {
    /// The code as on the wire for the message's version.
    pub code: ErrorCode,
    /// Up to 64 bytes of the offending message (or text for some types).
    pub data: Vec<u8>,
}

impl ErrorMsg {
    /// An error reply for `kind` in `version`, quoting at most the first 64
    /// bytes of `request` (as the specification asks).
    pub fn from_kind(kind: ErrorKind, version: Version, request: &[u8]) -> ErrorMsg {
        ErrorMsg {
            code: kind.code(version),
            data: request[..request.len().min(64)].to_vec(),
        }
    }

    /// The version-independent kind, if the code is known in `version`.
    pub fn kind(&self, version: Version) -> Option<ErrorKind> {
        ErrorKind::from_code(version, self.code)
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<ErrorMsg, ErrorKind> {
        let ty = r.u16()?;
        let code = r.u16()?;
        let code = if version == Version::V1_0 && ty == NXET_VENDOR && code == 0 {
            let vendor = r.u32()?;
            W::Exp(vendor, r.u16()?, r.u16()?)
        } else if version >= Version::V1_2 && ty == OFPET_EXPERIMENTER {
            W::Exp(r.u32()?, code, 0)
        } else {
            W::Std(ty, code)
        };
        Ok(ErrorMsg {
            code,
            data: r.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) {
        match self.code {
            W::Std(t, c) => {
                w.put_u16(t);
                w.put_u16(c);
            }
            W::Exp(e, t, c) if version == Version::V1_0 => {
                w.put_u16(NXET_VENDOR);
                w.put_u16(0);
                w.put_u32(e);
                w.put_u16(t);
                w.put_u16(c);
            }
            W::Exp(e, t, _) => {
                w.put_u16(OFPET_EXPERIMENTER);
                w.put_u16(t);
                w.put_u32(e);
            }
        }
        w.extend_from_slice(&self.data);
    }
}

/// Why a value cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed the 65535-byte limit of the header length.
    #[error("message longer than 65535 bytes")]
    TooLong,
    /// The value has no representation in the requested version.
    #[error("{0} cannot be expressed in this OpenFlow version")]
    NotInVersion(&'static str),
}
