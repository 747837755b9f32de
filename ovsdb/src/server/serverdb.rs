//! The `_Server` database: one read-only `Database` row per database the
//! server serves, as a standalone Open vSwitch server describes itself
//! (`model` "standalone", `connected` and `leader` true, `schema` the
//! database's schema as JSON text). Clients such as `ovs-vsctl` and the
//! Python IDL monitor it before anything else.
//!
//! Only `select` (plus `comment`, and `wait` on unchanging rows) is allowed;
//! any write gets the `not allowed` error real servers give.

use super::core::{Store, TxnResult};
use super::monitor::RowJson;
use crate::schema::DatabaseSchema;
use serde_json::{Value, json};

/// The `_Server` database.
#[derive(Debug)]
pub struct ServerDb {
    schema: DatabaseSchema,
    rows: Vec<(String, RowJson)>,
}

impl ServerDb {
    /// Describes `dbs` (name, schema JSON) plus `_Server` itself.
    pub fn new(dbs: &[(String, Value)]) -> ServerDb {
        let schema_json = crate::schemas::server_json();
        let schema =
            DatabaseSchema::from_json(&schema_json).expect("shipped _Server schema parses");
        let mut all: Vec<(String, Value)> = dbs.to_vec();
        all.push(("_Server".to_owned(), schema_json));
        let rows = all
            .into_iter()
            .map(|(name, sj)| {
                let uuid = uuid::Uuid::new_v4().to_string();
                let row = json!({
                    "_uuid": ["uuid", uuid],
                    "name": name,
                    "model": "standalone",
                    "connected": true,
                    "leader": true,
                    "schema": sj.to_string(),
                    "cid": ["set", []],
                    "sid": ["set", []],
                    "index": ["set", []],
                });
                (uuid, row.as_object().expect("object").clone())
            })
            .collect();
        ServerDb { schema, rows }
    }
}

impl Store for ServerDb {
    fn schema(&self) -> &DatabaseSchema {
        &self.schema
    }

    fn transact(&mut self, ops: &[Value], _locks: &[String], _expired: bool) -> TxnResult {
        let mut results = Vec::new();
        for op in ops {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
            match kind {
                "comment" => results.push(json!({})),
                "select" => {
                    let ts = self.schema.table("Database").expect("Database table");
                    if op.get("table").and_then(Value::as_str) != Some("Database") {
                        results.push(json!({
                            "syntax": op.to_string(),
                            "details": format!(
                                "Parsing ovsdb operation {} of {} failed: No table named {}.",
                                results.len() + 1,
                                ops.len(),
                                op.get("table").and_then(Value::as_str).unwrap_or("")
                            ),
                            "error": "syntax error"
                        }));
                        break;
                    }
                    let filter =
                        match super::cond::compile(ts, op.get("where").unwrap_or(&json!([]))) {
                            Ok(f) => f,
                            Err(e) => {
                                results.push(json!({"details": e, "error": "syntax error"}));
                                break;
                            }
                        };
                    let cols: Option<Vec<String>> =
                        op.get("columns").and_then(Value::as_array).map(|c| {
                            c.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        });
                    let rows: Vec<Value> = self
                        .rows
                        .iter()
                        .filter(|(_, r)| filter(r))
                        .map(|(_, r)| match &cols {
                            None => Value::Object(r.clone()),
                            Some(cols) => Value::Object(
                                r.iter()
                                    .filter(|(k, _)| cols.contains(k))
                                    .map(|(k, v)| (k.clone(), v.clone()))
                                    .collect(),
                            ),
                        })
                        .collect();
                    results.push(json!({ "rows": rows }));
                }
                other => {
                    results.push(json!({
                        "details": format!(
                            "{other} operation not allowed on table in reserved database _Server"
                        ),
                        "error": "not allowed"
                    }));
                    break;
                }
            }
        }
        TxnResult::Done {
            reply: Value::Array(results),
            changes: Vec::new(),
        }
    }

    fn rows(&self, table: &str) -> Vec<(String, RowJson)> {
        if table == "Database" {
            self.rows.clone()
        } else {
            Vec::new()
        }
    }
}
