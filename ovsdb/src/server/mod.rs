//! The OVSDB server: JSON-RPC sessions over unix and TCP sockets serving
//! one or more databases (and `_Server`), with transactions, monitors and
//! locks.
//!
//! * [`core`]: every method, no I/O (`Core::handle` -> messages to send).
//! * [`cond`]: conditions of conditional monitors.
//! * [`dbstore`]: a database served from its durable log file.
//! * [`locks`]: `lock` / `steal` / `unlock` bookkeeping.
//! * [`monitor`]: row changes to `update` / `update2` / `update3`.
//! * [`net`]: unix/TCP listeners and sessions on tokio.
//! * [`serverdb`]: the `_Server` database.

pub mod cond;
pub mod core;
pub mod dbstore;
pub mod locks;
pub mod monitor;
pub mod net;
pub mod serverdb;

pub use core::{Core, RowChange, Store, TxnResult};
pub use dbstore::{DbStore, StoreError};
pub use net::{Server, ServerConfig};
pub use serverdb::ServerDb;
