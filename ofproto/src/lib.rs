//! OpenFlow: wire codec, `ovs-ofctl` flow syntax, the multi-table classifier,
//! groups, meters, NORMAL, and translation of the pipeline into datapath
//! actions plus a megaflow mask.
//!
//! Contract: this crate does no I/O. It is driven through functions by
//! `vswitchd` (connections, upcalls) and `ofctl` (codec and flow syntax), and
//! it depends on `datapath` only for the packet model (`FlowKey`, `FlowMask`).
//!
//! Status: the packet model it builds on is in `datapath`; the OpenFlow pieces
//! arrive with issues #5 (codec, flow syntax) and #6 (tables, xlate).
