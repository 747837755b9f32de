//! The `_Server` database: one read-only `Database` row per database the
//! server serves, as a standalone Open vSwitch server describes itself
//! (`model` "standalone", `connected` and `leader` true, `schema` the
//! database's schema as JSON text with its object keys sorted, as
//! `ovsdb-server` writes it). Clients such as `ovs-vsctl` and the Python
//! IDL monitor it before anything else.
//!
//! Transactions run on the transaction engine ([`Database`]), so reads
//! (`select`, `wait`, `assert`, `comment`, `abort`, conditions, `_version`)
//! behave as on any database; the first write operation (`insert`,
//! `update`, `mutate`, `delete`) that parses gets the `not allowed` error
//! real servers give, and nothing is ever committed.

use super::core::{Store, TxnResult};
use super::monitor::RowJson;
use crate::db::{Database, TxnContext, TxnOutcome};
use crate::schema::DatabaseSchema;
use serde_json::{Value, json};
use std::sync::Arc;

/// The `_Server` database.
#[derive(Debug)]
pub struct ServerDb {
    db: Database,
}

/// `v` as JSON text with every object's keys sorted (Open vSwitch's
/// `json_to_string(..., JSSF_SORT)`), whatever order `v` keeps them in.
pub fn sorted_json_text(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

const WRITE_OPS: [&str; 4] = ["insert", "update", "mutate", "delete"];

impl ServerDb {
    /// Describes `dbs` (name, schema JSON) plus `_Server` itself.
    pub fn new(dbs: &[(String, Value)]) -> ServerDb {
        let schema_json = crate::schemas::server_json();
        let schema =
            DatabaseSchema::from_json(&schema_json).expect("shipped _Server schema parses");
        let mut db = Database::new(Arc::new(schema));
        let mut all: Vec<(String, Value)> = dbs.to_vec();
        all.push(("_Server".to_owned(), schema_json));
        let ops: Vec<Value> = all
            .into_iter()
            .map(|(name, sj)| {
                json!({"op": "insert", "table": "Database", "row": {
                    "name": name,
                    "model": "standalone",
                    "connected": true,
                    "leader": true,
                    "schema": sorted_json_text(&sj),
                }})
            })
            .collect();
        match db.transact(&ops, &TxnContext::default()) {
            TxnOutcome::Committed { .. } => {}
            other => panic!("cannot fill _Server: {other:?}"),
        }
        ServerDb { db }
    }
}

impl Store for ServerDb {
    fn schema(&self) -> &DatabaseSchema {
        self.db.schema()
    }

    fn transact(&mut self, ops: &[Value], locks: &[String], expired: bool) -> TxnResult {
        let ctx = TxnContext {
            locks_held: locks.iter().cloned().collect(),
            wait_expired: expired,
        };
        let write = ops.iter().position(|op| {
            op.get("op")
                .and_then(Value::as_str)
                .is_some_and(|k| WRITE_OPS.contains(&k))
        });
        // Run everything up to and including the first write on a scratch
        // copy: errors before it, or in parsing it, are reported as usual.
        let upto = write.map_or(ops.len(), |w| w + 1);
        let mut scratch = self.db.clone();
        let reply = match scratch.transact(&ops[..upto], &ctx) {
            TxnOutcome::Blocked { .. } => return TxnResult::Blocked,
            TxnOutcome::Failed { reply } => reply,
            TxnOutcome::Committed { reply, .. } => match write {
                None => reply,
                Some(w) => {
                    let mut results = reply.as_array().cloned().unwrap_or_default();
                    results.truncate(w);
                    let kind = ops[w].get("op").and_then(Value::as_str).unwrap_or_default();
                    results.push(json!({
                        "details": format!(
                            "{kind} operation not allowed on table in reserved database _Server"
                        ),
                        "error": "not allowed"
                    }));
                    Value::Array(results)
                }
            },
        };
        // Operations never executed get `null`, as RFC 7047 says.
        let mut results = reply.as_array().cloned().unwrap_or_default();
        if results.len() < ops.len() && results.last().is_some_and(|r| r.get("error").is_some()) {
            results.resize(ops.len(), Value::Null);
        }
        TxnResult::Done {
            reply: Value::Array(results),
            changes: Vec::new(),
        }
    }

    fn rows(&self, table: &str) -> Vec<(String, RowJson)> {
        match self.db.table(table) {
            Some(t) => t
                .rows()
                .map(|r| {
                    let mut m = r.to_json_data(t.schema());
                    m.insert("_uuid".into(), r.uuid().to_json());
                    m.insert("_version".into(), r.version().to_json());
                    (r.uuid().to_string(), m)
                })
                .collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ServerDb {
        ServerDb::new(&[(
            "T".to_owned(),
            json!({"name": "T", "version": "1.0.0", "tables": {"B": {"columns": {"x": {"type": "integer"}}}}}),
        )])
    }

    fn reply(db: &mut ServerDb, ops: Value) -> Value {
        match db.transact(ops.as_array().unwrap(), &[], false) {
            TxnResult::Done { reply, changes } => {
                assert!(changes.is_empty());
                reply
            }
            TxnResult::Blocked => panic!("blocked"),
        }
    }

    #[test]
    fn schema_text_has_sorted_keys() {
        assert_eq!(
            sorted_json_text(
                &json!({"name": "T", "version": "1", "cksum": "c", "tables": {"b": {"y": 1, "x": [{"z": 1, "a": 2}]}}})
            ),
            r#"{"cksum":"c","name":"T","tables":{"b":{"x":[{"a":2,"z":1}],"y":1}},"version":"1"}"#
        );
        let db = server();
        let rows = db.rows("Database");
        let t = rows.iter().find(|(_, r)| r["name"] == "T").unwrap();
        assert_eq!(
            t.1["schema"],
            json!(
                r#"{"name":"T","tables":{"B":{"columns":{"x":{"type":"integer"}}}},"version":"1.0.0"}"#
            )
        );
        assert!(t.1.contains_key("_version") && t.1.contains_key("_uuid"));
    }

    #[test]
    fn reads_work_writes_are_not_allowed() {
        let mut db = server();
        let r = reply(
            &mut db,
            json!([{"op": "select", "table": "Database", "where": [["name", "==", "T"]],
                    "columns": ["name", "model", "_version"]}]),
        );
        assert_eq!(r[0]["rows"][0]["model"], json!("standalone"));
        assert_eq!(r[0]["rows"][0]["_version"][0], json!("uuid"));
        // Results before the write, the error, then null.
        let r = reply(
            &mut db,
            json!([{"op": "comment", "comment": "x"},
                   {"op": "update", "table": "Database", "where": [], "row": {"leader": false}},
                   {"op": "abort"}]),
        );
        assert_eq!(
            r,
            json!([{}, {"details": "update operation not allowed on table in reserved database _Server",
                        "error": "not allowed"}, null])
        );
        // A write that does not even parse gets its parse error.
        let r = reply(
            &mut db,
            json!([{"op": "insert", "table": "Database", "row": {"name": "x", "model": "bogus"}}]),
        );
        assert_eq!(r[0]["error"], json!("constraint violation"));
        // Nothing was written.
        assert_eq!(db.rows("Database").len(), 2);
        let r = reply(&mut db, json!([{"op": "assert", "lock": "l"}]));
        assert_eq!(r[0]["error"], json!("not owner"));
        let r = reply(
            &mut db,
            json!([{"op": "select", "table": "Database", "where": [["name", "==", 1]]}]),
        );
        assert_eq!(r[0]["details"], json!("expected string"));
    }
}
