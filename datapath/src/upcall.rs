//! The upcall interface: how the fast path asks the OpenFlow side what to do
//! with a packet no cache knows, and the hooks for actions that need it
//! (userspace / packet-in, meters).
//!
//! `ofproto`'s translation implements [`UpcallHandler`]. The datapath calls
//! it from polling threads, concurrently, so it must be `Send + Sync`, must
//! not block for long (it reads its tables from a snapshot; it never waits
//! for the control plane), and must not panic on any key or packet.
//!
//! The result of a translation is a [`Translation`]: the datapath actions,
//! the megaflow mask (every bit any lookup or action *read*, as the
//! megaflow contract in `docs/architecture.md` requires) and the version of
//! the tables it was computed from. The datapath always adds `recirc_id` and
//! `in_port` to the mask (a megaflow never spans recirculation passes or
//! ingress ports).
//!
//! Revalidation calls [`UpcallHandler::translate`] again with the megaflow's
//! stored key and no packet; a handler that needs the packet for a decision
//! (none should: the key holds every matchable field) returns an error and
//! the flow is removed.

use crate::actions::Action;
use crate::flow::{FlowKey, FlowMask};
use core::fmt;

/// What a translation produced. The fast path owns one per thread and
/// clears it before each call, so translating allocates only when the
/// action list outgrows its capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// Datapath actions (empty = drop).
    pub actions: Vec<Action>,
    /// Megaflow mask: every bit the translation depended on.
    pub mask: FlowMask,
    /// Version of the tables the translation read.
    pub version: u64,
    /// False when the result must not be cached (e.g. it depends on
    /// something not in the key); the packet is executed and nothing is
    /// installed.
    pub cacheable: bool,
}

impl Default for Translation {
    fn default() -> Self {
        Translation {
            actions: Vec::with_capacity(16),
            mask: FlowMask::CATCHALL,
            version: 0,
            cacheable: true,
        }
    }
}

impl Translation {
    /// Back to "drop everything, depends on nothing, cacheable".
    pub fn clear(&mut self) {
        self.actions.clear();
        self.mask = FlowMask::CATCHALL;
        self.version = 0;
        self.cacheable = true;
    }
}

/// Why a translation failed. The packet is dropped and counted
/// ([`DropReason::UpcallError`](crate::stats::DropReason)); nothing is
/// installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpcallError {
    /// The handler is not ready (no tables yet, shutting down).
    Unavailable,
    /// The handler refused the key (malformed for its purposes).
    Invalid,
    /// Translation exceeded a resource limit (depth, action count).
    TooComplex,
}

impl fmt::Display for UpcallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpcallError::Unavailable => "upcall handler unavailable",
            UpcallError::Invalid => "upcall handler refused the flow",
            UpcallError::TooComplex => "translation too complex",
        })
    }
}

impl std::error::Error for UpcallError {}

/// The OpenFlow side, as the fast path sees it. See the module
/// documentation for the threading contract.
pub trait UpcallHandler: Send + Sync {
    /// Translates `key` (and the packet, when there is one) into actions and
    /// a megaflow mask, written into `out` (cleared by the caller).
    fn translate(
        &self,
        key: &FlowKey,
        packet: Option<&[u8]>,
        out: &mut Translation,
    ) -> Result<(), UpcallError>;

    /// A `userspace` action fired: `packet` is the frame as it is at that
    /// point of the action list. Returns false when the handler could not
    /// take it (its queue is full); the fast path counts that. Must copy what
    /// it keeps and not block.
    fn userspace(&self, key: &FlowKey, packet: &[u8], userdata: u64) -> bool {
        let _ = (key, packet, userdata);
        false
    }

    /// A `meter` action: returns false to drop a packet of `len` bytes at
    /// time `now_ns` (nanoseconds of a monotonic clock). The default passes
    /// everything. Called per packet: an implementation must be lock-free.
    fn meter(&self, meter_id: u32, len: usize, now_ns: u64) -> bool {
        let _ = (meter_id, len, now_ns);
        true
    }
}
