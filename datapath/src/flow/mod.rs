//! The flow model shared by the fast path and the OpenFlow side.
//!
//! * [`FlowKey`]: every matchable field, fixed layout, u64-aligned
//!   (see [`key`] for the layout and field representation).
//! * [`FlowMask`]: which bits of a key matter; same layout.
//! * [`Miniflow`]: the sparse form (bitmap + nonzero words) with a fast hash.
//! * [`extract`]: fill a key from a frame; never fails, allocates nothing.
//! * [`format`]: the datapath text form of keys and masked keys
//!   (`eth(src=..,dst=..),eth_type(0x0800),ipv4(...)`).

pub mod extract;
pub mod format;
pub mod hash;
pub mod key;
pub mod miniflow;

pub use extract::{Offsets, extract, extract_into, extract_with_offsets};
pub use key::{FLOW_U64S, FlowKey, FlowMask, Vlan};
pub use miniflow::Miniflow;
