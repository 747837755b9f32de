//! The database schemas we ship, as RFC 7047 JSON text compiled into the
//! binary.
//!
//! * [`VSWITCH_SCHEMA`]: the `Open_vSwitch` database (schema version
//!   8.3.1), the configuration database that `ovs-vsctl`, the Python `ovs`
//!   IDL and our own `vswitchd` use. It is written in our own layout but is
//!   semantically identical to Open vSwitch 3.1's `vswitch.ovsschema`: the
//!   same tables, columns, types, constraints, root tables, row limits and
//!   indexes. Its `cksum` is upstream's, so tools that compare schemas by
//!   checksum (`ovsdb-tool needs-conversion`, `ovsdb-client
//!   needs-conversion`, `ovsdb-client get-schema-cksum`) treat the two as
//!   the same schema.
//! * [`SERVER_SCHEMA`]: the `_Server` database (schema version 1.2.0) that
//!   every server serves alongside its own databases: one `Database` row per
//!   database, which clients monitor to learn a database's model, whether it
//!   is connected, and its schema.
//!
//! `ovsdb/tests/schema_compat.rs` checks both against the real thing
//! (Debian's schema file and a running Debian `ovsdb-server`); see
//! `docs/ovsdb-schemas.md`.

/// The `Open_vSwitch` database schema, version 8.3.1.
pub const VSWITCH_SCHEMA: &str = include_str!("../schemas/vswitch.ovsschema");

/// The `_Server` database schema, version 1.2.0.
pub const SERVER_SCHEMA: &str = include_str!("../schemas/_Server.ovsschema");

/// [`VSWITCH_SCHEMA`] parsed as JSON.
pub fn vswitch_json() -> serde_json::Value {
    serde_json::from_str(VSWITCH_SCHEMA).expect("the shipped Open_vSwitch schema is valid JSON")
}

/// [`SERVER_SCHEMA`] parsed as JSON.
pub fn server_json() -> serde_json::Value {
    serde_json::from_str(SERVER_SCHEMA).expect("the shipped _Server schema is valid JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_schemas_parse_and_name_themselves() {
        let v = vswitch_json();
        assert_eq!(v["name"], "Open_vSwitch");
        assert_eq!(v["version"], "8.3.1");
        let s = server_json();
        assert_eq!(s["name"], "_Server");
        assert_eq!(s["version"], "1.2.0");
    }
}
