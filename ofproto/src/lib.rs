//! OpenFlow: wire codec, `ovs-ofctl` flow syntax, the multi-table classifier,
//! groups, meters, NORMAL, and translation of the pipeline into datapath
//! actions plus a megaflow mask.
//!
//! Contract: this crate does no I/O. It is driven through functions by
//! `vswitchd` (connections, upcalls) and `ofctl` (codec and flow syntax), and
//! it depends on `datapath` only for the packet model (`FlowKey`, `FlowMask`).
//!
//! * [`classifier`]: tuple-space search over `FlowKey`s with un-wildcarding.
//! * [`ofp`]: the OpenFlow wire codec (1.0, 1.3, 1.4, 1.5).
//! * [`text`]: the `ovs-ofctl` flow syntax (match and actions).
//! * [`pipeline`]: flow tables, groups, meters, NORMAL, translation and
//!   trace.
//! * [`controller`]: controller roles and asynchronous-message configuration.
//! * [`bridge`]: one switch's state and the operations `vswitchd` drives.

pub mod bridge;
pub mod classifier;
pub mod controller;
pub mod convert;
pub mod ofp;
pub mod pipeline;
pub mod text;
