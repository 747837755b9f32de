//! The OpenFlow pipeline of a bridge: flow tables, groups, meters, the
//! NORMAL action's state, and translation of the pipeline into datapath
//! actions with a megaflow mask.
//!
//! * [`table`]: 255 flow tables and `flow_mod` semantics (atomic through
//!   classifier versions; bundles as ordered all-or-nothing batches).
//! * [`check`]: flow_mod-time validation with the OpenFlow error codes.
//! * [`group`], [`meter`]: group and meter tables.
//! * [`normal`]: port VLAN modes and the MAC learning table.
//! * [`learn`]: the Nicira `learn` action.
//! * [`fields`]: reading and writing OpenFlow fields on a `FlowKey`.
//! * [`xlate`]: the translation itself.
//! * [`trace`]: the `ofproto/trace` text.
//!
//! Nothing here does I/O or reads a clock: callers pass times in.

pub mod check;
pub mod fields;
pub mod group;
pub mod learn;
pub mod meter;
pub mod normal;
pub mod table;
pub mod trace;
pub mod xlate;

/// Why a flow was removed (`OFPRR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FlowRemovedReason {
    /// Idle timeout.
    IdleTimeout = 0,
    /// Hard timeout.
    HardTimeout = 1,
    /// Deleted by a flow_mod.
    Delete = 2,
    /// Its group was deleted.
    GroupDelete = 3,
    /// Its meter was deleted (1.4+).
    MeterDelete = 4,
}

/// Splits a duration in milliseconds into (seconds, nanoseconds).
pub fn millis_to_duration(ms: u64) -> (u32, u32) {
    ((ms / 1000) as u32, ((ms % 1000) * 1_000_000) as u32)
}
