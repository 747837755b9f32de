//! An RFC 7047 database: schema, data, transactions, monitors, locks, a
//! durable log, the JSON-RPC session layer and a client library.
//!
//! Contract: a library embedded by `vswitchd` and used by `vsctl`; it knows
//! nothing of OpenFlow or packets.
//!
//! Status: arrives with issue #3.
