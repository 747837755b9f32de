//! A served database: the in-memory [`Database`] plus its durable [`Log`].
//!
//! File convention (records of [`crate::log`]): the first record is the
//! database schema, the second a snapshot of the data, and every later
//! record the changes of one committed transaction. Compaction rewrites the
//! file as schema + snapshot.
//!
//! Durability contract: a transaction's record is written, and fsynced when
//! syncing is on or the transaction asked for `commit` with `durable`, before
//! [`Store::transact`] returns, so before its reply can be sent. Opening
//! recovers every complete record; a torn or corrupt tail is dropped and
//! reported as a warning.
//!
//! The file always holds a state the database really had: if a record
//! cannot be written (disk full, I/O error), the transaction stays applied in
//! memory (its reply carries an extra `I/O error`), and instead of appending
//! later records after the gap — replaying them would produce rows that never
//! existed — the store rewrites the whole file as a snapshot of memory, now
//! and at every later commit until that succeeds.

use super::core::{RowChange, Store, TxnResult, Watched};
use super::monitor::RowJson;
use crate::datum::OvsdbError;
use crate::db::{Database, Row, TxnContext, TxnOutcome};
use crate::log::{Log, LogError, OpenMode};
use crate::schema::{DatabaseSchema, SchemaError, TableSchema, UUID_COLUMN, VERSION_COLUMN};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Why a database file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The log itself failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The schema record is not a valid schema.
    #[error("bad schema in database file: {0}")]
    Schema(#[from] SchemaError),
    /// A data record could not be applied.
    #[error("bad record {index} in database file: {error}")]
    Record {
        /// Position of the record in the file.
        index: usize,
        /// What was wrong with it.
        error: String,
    },
    /// The file holds no records at all.
    #[error("database file has no schema record")]
    Empty,
}

/// A database served from a file.
#[derive(Debug)]
pub struct DbStore {
    db: Database,
    log: Log,
    sync: bool,
    schema_json: Value,
    /// Memory holds committed changes that the file lacks.
    stale: bool,
    /// Tables some monitor watches (`None`: describe every change).
    /// Per watched table, the indexes of the columns to report (`None`:
    /// all); `None` before the first [`Store::set_watched`] (all tables).
    watched: Option<HashMap<String, Option<Vec<usize>>>>,
}

fn row_json(ts: &TableSchema, row: &Row) -> RowJson {
    let mut m = row.to_json_data(ts);
    m.insert("_uuid".into(), row.uuid().to_json());
    m.insert("_version".into(), row.version().to_json());
    m
}

impl DbStore {
    /// Opens the database at `path`, or creates it from `schema` (empty)
    /// when the file does not exist. Returns recovery warnings.
    pub fn open_or_create(
        path: &Path,
        schema: &Value,
        sync: bool,
    ) -> Result<(DbStore, Vec<String>), StoreError> {
        if !path.exists() {
            let parsed = Arc::new(DatabaseSchema::from_json(schema)?);
            let db = Database::new(parsed.clone());
            let log = Log::create(path, &[parsed.to_json(), db.to_snapshot_json()])?;
            return Ok((
                DbStore {
                    db,
                    log,
                    sync,
                    schema_json: parsed.to_json(),
                    stale: false,
                    watched: None,
                },
                Vec::new(),
            ));
        }
        let (log, records, recovery) = Log::open(path, OpenMode::ReadWrite)?;
        let mut warnings = Vec::new();
        if let Some(c) = &recovery.corruption {
            warnings.push(c.to_string());
        }
        let mut it = records.into_iter();
        let schema_rec = it.next().ok_or(StoreError::Empty)?;
        let parsed = Arc::new(DatabaseSchema::from_json(&schema_rec)?);
        let mut db = match it.next() {
            Some(snap) => Database::from_snapshot_json(parsed.clone(), &snap).map_err(|e| {
                StoreError::Record {
                    index: 1,
                    error: e.to_json().to_string(),
                }
            })?,
            None => Database::new(parsed.clone()),
        };
        for (i, rec) in it.enumerate() {
            db.apply_changes_json(&rec)
                .map_err(|e| StoreError::Record {
                    index: i + 2,
                    error: e.to_json().to_string(),
                })?;
        }
        Ok((
            DbStore {
                db,
                log,
                sync,
                schema_json: parsed.to_json(),
                stale: false,
                watched: None,
            },
            warnings,
        ))
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.db.schema().name
    }

    /// The schema as JSON.
    pub fn schema_value(&self) -> Value {
        self.schema_json.clone()
    }

    /// The in-memory database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Writes one committed transaction's `record`. Errors mean the
    /// transaction is not (yet) durable.
    fn persist(&mut self, record: &Value, durable: bool) -> Result<(), LogError> {
        if self.stale {
            return self.rewrite();
        }
        let written = self
            .log
            .append(record)
            .and_then(|()| self.log.commit(self.sync || durable));
        if let Err(e) = written {
            self.stale = true;
            // The failure may have been transient: try to catch up at once.
            return if self.rewrite().is_ok() {
                Ok(())
            } else {
                Err(e)
            };
        }
        if self.log.should_compact() {
            // The transaction is durable already; a failed compaction only
            // leaves the old file (still valid) in place.
            if let Err(e) = self.rewrite() {
                eprintln!("ovsdb: cannot compact {}: {e}", self.log.path().display());
            }
        }
        Ok(())
    }

    /// Replaces the file with a snapshot of memory. (A failure leaves
    /// either the old file, still usable, or a poisoned log whose next append
    /// fails and makes the store stale.)
    fn rewrite(&mut self) -> Result<(), LogError> {
        let snapshot = [self.schema_json.clone(), self.db.to_snapshot_json()];
        self.log.compact(&snapshot)?;
        self.stale = false;
        Ok(())
    }
}

impl Store for DbStore {
    fn set_watched(&mut self, watched: &Watched) {
        let schema = self.db.schema();
        let tables = watched
            .iter()
            .filter_map(|(name, cols)| {
                let ts = schema.table(name)?;
                let idx = cols.as_ref().map(|cols| {
                    let mut idx: Vec<usize> =
                        cols.iter().filter_map(|c| ts.column_index(c)).collect();
                    idx.sort_unstable();
                    idx.dedup();
                    idx.retain(|&i| i != UUID_COLUMN && i != VERSION_COLUMN);
                    idx
                });
                Some((name.clone(), idx))
            })
            .collect();
        self.watched = Some(tables);
    }

    fn schema(&self) -> &DatabaseSchema {
        self.db.schema()
    }

    fn transact(&mut self, ops: &[Value], locks_held: &[String], wait_expired: bool) -> TxnResult {
        let ctx = TxnContext {
            locks_held: locks_held.iter().cloned().collect(),
            wait_expired,
        };
        match self.db.transact(ops, &ctx) {
            TxnOutcome::Blocked { .. } => TxnResult::Blocked,
            TxnOutcome::Failed { reply } => TxnResult::Done {
                reply,
                changes: Vec::new(),
            },
            TxnOutcome::Committed {
                mut reply,
                changes,
                durable,
            } => {
                if changes.is_empty() {
                    return TxnResult::Done {
                        reply,
                        changes: Vec::new(),
                    };
                }
                if let Err(e) = self.persist(&changes.to_json(), durable) {
                    // The change is in memory but not on disk: say so in the
                    // reply, as an extra error after the operation results.
                    eprintln!("ovsdb: cannot write {}: {e}", self.log.path().display());
                    if let Value::Array(a) = &mut reply {
                        a.push(
                            OvsdbError {
                                error: "I/O error".into(),
                                details: Some(e.to_string()),
                                syntax: None,
                            }
                            .to_json(),
                        );
                    }
                }
                let out = changes
                    .iter()
                    .map(|(ts, uuid, rc)| {
                        // Rows of tables no monitor watches are not built:
                        // the change is still reported (the commit matters
                        // to blocked `wait`s), without its contents; of
                        // the others, only the columns some monitor looks
                        // at.
                        let seen = match &self.watched {
                            None => Some(None),
                            Some(w) => w.get(&ts.name).map(Option::as_deref),
                        };
                        let build = |r: &Row, cols: Option<&[usize]>| match cols {
                            None => row_json(ts, r),
                            Some(idx) => {
                                let mut m = r.to_json(ts, idx);
                                m.insert("_uuid".into(), r.uuid().to_json());
                                m.insert("_version".into(), r.version().to_json());
                                m
                            }
                        };
                        RowChange {
                            table: ts.name.clone(),
                            uuid: uuid.to_string(),
                            old: seen.and_then(|c| rc.old.as_ref().map(|r| Arc::new(build(r, c)))),
                            new: seen.and_then(|c| rc.new.as_ref().map(|r| Arc::new(build(r, c)))),
                        }
                    })
                    .collect();
                TxnResult::Done {
                    reply,
                    changes: out,
                }
            }
        }
    }

    fn rows(&self, table: &str) -> Vec<(String, RowJson)> {
        match self.db.table(table) {
            Some(t) => t
                .rows()
                .map(|r| (r.uuid().to_string(), row_json(t.schema(), r)))
                .collect(),
            None => Vec::new(),
        }
    }

    fn rows_with(&self, table: &str, columns: &[String]) -> Vec<(String, RowJson)> {
        let Some(t) = self.db.table(table) else {
            return Vec::new();
        };
        let ts = t.schema();
        let idx: Vec<usize> = columns.iter().filter_map(|c| ts.column_index(c)).collect();
        t.rows()
            .map(|r| {
                let mut m = r.to_json(ts, &idx);
                m.insert("_uuid".into(), r.uuid().to_json());
                (r.uuid().to_string(), m)
            })
            .collect()
    }

    fn schema_json(&self) -> Value {
        self.schema_json.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiny_schema() -> Value {
        json!({"name": "T", "version": "1.0.0", "tables": {
            "R": {"columns": {"n": {"type": "integer"}, "s": {"type": "string"}}, "isRoot": true}
        }})
    }

    fn insert(n: i64) -> Value {
        json!({"op": "insert", "table": "R", "row": {"n": n, "s": format!("row{n}")}})
    }

    #[test]
    fn committed_transactions_survive_reopen_and_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let (mut s, w) = DbStore::open_or_create(&path, &tiny_schema(), true).unwrap();
            assert!(w.is_empty());
            for n in 0..5 {
                let r = s.transact(&[insert(n)], &[], false);
                let TxnResult::Done { changes, .. } = r else {
                    panic!("blocked")
                };
                assert_eq!(changes.len(), 1);
                assert_eq!(changes[0].new.as_ref().unwrap()["n"], json!(n));
            }
        }
        let (s, w) = DbStore::open_or_create(&path, &tiny_schema(), true).unwrap();
        assert!(w.is_empty());
        assert_eq!(s.rows("R").len(), 5);
        // Projected rows hold just the asked columns (and _uuid).
        let projected = s.rows_with("R", &["n".to_string()]);
        assert_eq!(projected.len(), 5);
        assert!(
            projected
                .iter()
                .all(|(_, r)| r.len() == 2 && r.contains_key("n"))
        );
        drop(s);
        // Tear the last record in half.
        let len = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 10).unwrap();
        drop(f);
        let (s, w) = DbStore::open_or_create(&path, &tiny_schema(), true).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(s.rows("R").len(), 4);
    }

    #[test]
    fn a_failed_write_never_leaves_a_gap_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (mut s, _) = DbStore::open_or_create(&path, &tiny_schema(), true).unwrap();
        let done = |r: TxnResult| match r {
            TxnResult::Done { reply, .. } => reply,
            TxnResult::Blocked => panic!("blocked"),
        };
        done(s.transact(&[insert(1)], &[], false));
        // The insert of row 2 cannot be written, nor can anything else while
        // the disk keeps failing.
        s.log.fail_writes(true);
        let reply = done(s.transact(&[insert(2)], &[], false));
        assert_eq!(reply[1]["error"], "I/O error", "{reply}");
        assert!(s.stale);
        // A modification of row 2 must not be appended after the gap: a
        // replay would create a row 2 holding only `s`.
        let upd = json!({"op": "update", "table": "R", "where": [["n", "==", 2]], "row": {"s": "changed"}});
        let reply = done(s.transact(std::slice::from_ref(&upd), &[], false));
        assert_eq!(reply[1]["error"], "I/O error", "{reply}");
        assert!(s.stale);
        s.log.fail_writes(false);
        // Once the disk works again, the next commit brings the file in line.
        let reply = done(s.transact(&[insert(3)], &[], false));
        assert!(
            reply
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r.get("error").is_none()),
            "{reply}"
        );
        assert!(!s.stale);
        drop(s);
        let (s, w) = DbStore::open_or_create(&path, &tiny_schema(), true).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let mut rows: Vec<(i64, String)> = s
            .rows("R")
            .into_iter()
            .map(|(_, r)| {
                (
                    r["n"].as_i64().unwrap(),
                    r["s"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            [
                (1, "row1".into()),
                (2, "changed".into()),
                (3, "row3".into())
            ]
        );
    }

    #[test]
    fn unwatched_tables_report_changes_without_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) =
            DbStore::open_or_create(&dir.path().join("db"), &tiny_schema(), false).unwrap();
        s.set_watched(&Default::default());
        let TxnResult::Done { changes, .. } = s.transact(&[insert(1)], &[], false) else {
            panic!("blocked")
        };
        assert_eq!(changes.len(), 1, "the commit is still reported");
        assert!(changes[0].old.is_none() && changes[0].new.is_none());
        s.set_watched(&[("R".to_string(), None)].into_iter().collect());
        let TxnResult::Done { changes, .. } = s.transact(&[insert(2)], &[], false) else {
            panic!("blocked")
        };
        assert_eq!(changes[0].new.as_ref().unwrap()["n"], json!(2));
    }

    #[test]
    fn watched_columns_only_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) =
            DbStore::open_or_create(&dir.path().join("db"), &tiny_schema(), false).unwrap();
        let cols = ["n".to_string(), "_uuid".to_string(), "nope".to_string()];
        s.set_watched(
            &[("R".to_string(), Some(cols.into_iter().collect()))]
                .into_iter()
                .collect(),
        );
        let TxnResult::Done { changes, .. } = s.transact(&[insert(1)], &[], false) else {
            panic!("blocked")
        };
        let row = changes[0].new.as_ref().unwrap();
        let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["_uuid", "_version", "n"]);
        assert_eq!(row["n"], json!(1));
        // Every column again for a table watched in full.
        s.set_watched(&[("R".to_string(), None)].into_iter().collect());
        let TxnResult::Done { changes, .. } = s.transact(&[insert(2)], &[], false) else {
            panic!("blocked")
        };
        let full = changes[0].new.as_ref().unwrap();
        assert_eq!(
            full.len(),
            s.database().schema().table("R").unwrap().columns.len()
        );
    }

    /// Through the core: a monitor sees the columns it asked for, its
    /// condition can test a column it does not monitor (so that column is
    /// built too), and a condition set later by `monitor_cond_change` can
    /// as well.
    #[test]
    fn monitors_get_their_columns_and_conditions_see_the_others() {
        use crate::jsonrpc::Message;
        use crate::server::Core;
        use std::time::Instant;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) =
            DbStore::open_or_create(&dir.path().join("db"), &tiny_schema(), false).unwrap();
        let mut c = Core::new();
        c.add_db(Box::new(store));
        let s = c.open_session();
        let call = |c: &mut Core, method: &str, params: Value| {
            let Value::Array(p) = params else {
                panic!("params")
            };
            let out = c.handle(s, Message::request(method, p, json!(1)), Instant::now());
            out.iter().map(|(_, m)| m.message()).collect::<Vec<_>>()
        };
        let updates = |msgs: &[Message]| -> Vec<Value> {
            msgs.iter()
                .filter_map(|m| match m {
                    Message::Notification { method, params, .. } if method == "update2" => {
                        Some(params[1]["R"].clone())
                    }
                    _ => None,
                })
                .collect()
        };
        call(
            &mut c,
            "monitor_cond",
            json!(["T", "plain", {"R": [{"columns": ["s"]}]}]),
        );
        call(
            &mut c,
            "monitor_cond",
            json!(["T", "cond", {"R": [{"columns": ["s"], "where": [["n", "==", 2]]}]}]),
        );
        let got = call(&mut c, "transact", json!(["T", insert(1), insert(2)]));
        let ups = updates(&got);
        assert_eq!(ups.len(), 2, "{got:#?}");
        // Monitors are served in the order of their ids.
        let cond: Vec<&Value> = ups[0].as_object().unwrap().values().collect();
        let plain: Vec<&Value> = ups[1].as_object().unwrap().values().collect();
        assert_eq!(plain.len(), 2);
        for u in &plain {
            let row = u["insert"].as_object().unwrap();
            assert_eq!(row.keys().collect::<Vec<_>>(), ["s"], "{u}");
        }
        assert_eq!(cond, [&json!({"insert": {"s": "row2"}})]);
        // A condition added later to the plain monitor: n is needed now.
        call(
            &mut c,
            "monitor_cond_change",
            json!(["plain", "plain2", {"R": [{"where": [["n", "==", 3]]}]}]),
        );
        let got = call(&mut c, "transact", json!(["T", insert(3), insert(4)]));
        for u in updates(&got) {
            assert_eq!(u.as_object().unwrap().len(), 1, "{u}");
            let only = u.as_object().unwrap().values().next().unwrap();
            assert_eq!(only, &json!({"insert": {"s": "row3"}}));
        }
    }

    #[test]
    fn failed_transactions_change_nothing_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (mut s, _) = DbStore::open_or_create(&path, &tiny_schema(), false).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let bad = json!({"op": "insert", "table": "R", "row": {"n": "not a number"}});
        let TxnResult::Done { reply, changes } = s.transact(&[insert(1), bad], &[], false) else {
            panic!("blocked")
        };
        assert!(changes.is_empty());
        assert_eq!(reply[1]["error"], "syntax error", "{reply}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
        assert!(s.rows("R").is_empty());
    }
}
