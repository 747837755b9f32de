//! The OVSDB server: JSON-RPC sessions over unix and TCP sockets serving
//! one or more databases (and `_Server`), with transactions, monitors and
//! locks.
//!
//! * [`locks`]: `lock` / `steal` / `unlock` bookkeeping.
//! * [`monitor`]: row changes to `update` / `update2` / `update3`.

pub mod locks;
pub mod monitor;
