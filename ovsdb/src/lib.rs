//! An RFC 7047 database: schema, data, transactions, monitors, locks, a
//! durable log, the JSON-RPC session layer and a client library.
//!
//! Contract: a library embedded by `vswitchd` and used by `vsctl`; it knows
//! nothing of OpenFlow or packets.
//!
//! * [`schema`]: database/table/column schemas parsed from RFC 7047 JSON.
//! * [`datum`]: atoms, sets and maps, in RFC 7047 JSON notation.
//! * [`condition`], [`mutation`]: `where` clauses and `mutate` operations.
//! * [`db`]: the in-memory database and the transaction engine.
//! * [`jsonrpc`]: JSON-RPC 1.0 messages and a streaming, size-capped decoder.
//! * [`log`]: the durable append-only log with per-record checksums.
//! * [`schemas`]: the schemas we ship (`Open_vSwitch`, `_Server`).
//! * [`server`]: the JSON-RPC server: sessions, monitors, locks.
//! * [`client`]: the client: requests, transactions, monitors into a local replica, locks.

pub mod client;
pub mod condition;
pub mod datum;
pub mod db;
pub mod jsonrpc;
pub mod log;
pub mod mutation;
pub mod schema;
pub mod schemas;
pub mod server;
