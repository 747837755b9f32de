//! The datapath: packets and the fast path.
//!
//! This crate knows nothing of OpenFlow. It provides the packet model that
//! both the fast path and `ofproto` share:
//!
//! * [`wire`]: zero-copy typed views over header bytes, each with a small
//!   validated `Repr` that parses and emits, plus checksum helpers.
//! * [`actions`]: the datapath actions translation produces and the fast
//!   path executes (the contract between `ofproto` and this crate).
//! * [`flow`]: the flow key ([`flow::FlowKey`]), its mask ([`flow::FlowMask`]),
//!   the sparse [`flow::Miniflow`] form with a fast hash, and
//!   [`flow::extract`], which fills a key from a frame and never fails.
//! * [`netdev`]: the port backends (the [`netdev::Netdev`] trait, packet
//!   buffers and batches with offload state, and the `dummy`, `system`,
//!   `tap`, `internal`, `afxdp` and `patch` backends).
//!
//! And the fast path built on it:
//!
//! * [`packet`]: the per-packet metadata kept beside a netdev batch.
//! * [`execute`]: runs an action list on a packet, keeping checksums valid.
//! * [`emc`] and [`megaflow`]: the exact-match cache and the megaflow cache
//!   (one subtable per mask), both per polling thread.
//! * [`upcall`]: the trait `ofproto`'s translation implements for misses,
//!   packet-ins and meters.
//! * [`port`]: the port table threads read (transmit queues shared per
//!   batch, counters), plus queue doubles for benchmarks.
//! * [`pmd`]: one polling thread's pipeline (batch, lookups, grouped
//!   execution, recirculation, revalidation, expiry).
//! * [`dpif`]: the threads, port and queue management, revalidation
//!   completions and the `dpctl`-style texts, for the control plane.
//! * [`snapshot`] and [`stats`]: how data and counters cross threads without
//!   locks on the fast path.
//!
//! Invariants: nothing in this crate panics on any byte sequence received from
//! a port; extraction, lookups and execution allocate nothing per packet, take
//! no lock per packet (a transmit queue's lock is taken once per batch) and
//! never log.

pub mod actions;
pub mod dpif;
pub mod emc;
pub mod execute;
pub mod flow;
pub mod megaflow;
pub mod netdev;
pub mod packet;
pub mod pmd;
pub mod port;
pub mod snapshot;
pub mod stats;
pub mod upcall;
pub mod wire;
