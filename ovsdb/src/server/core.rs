//! The server's protocol core: every JSON-RPC method, with no I/O.
//!
//! [`Core`] owns the databases (behind the [`Store`] trait), the lock table,
//! the monitors and the transactions blocked in `wait`. The network glue
//! feeds it one request at a time ([`Core::handle`]) and delivers what it
//! returns: a list of `(session, message)` pairs, in order. Ordering
//! guarantee: the `update*` notifications a transaction causes come before
//! that transaction's reply, for every session.
//!
//! Error shapes follow the real `ovsdb-server`: a method error is
//! `{"error": "<kind>", "details": "...", "syntax": "<params>"}` (or the bare
//! string `"unknown method"` / `"unknown monitor"`); operation errors go in
//! the `transact` result array.

use super::locks::{LockError, LockTable, Notify, SessionId};
use super::monitor::{ColumnKind, RowJson, Select, TableMonitor, Version};
use crate::jsonrpc::Message;
use crate::schema::{AtomicType, DatabaseSchema, TableSchema};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// One committed change to one row: `old` is `None` for an insert, `new`
/// is `None` for a delete. Rows carry every column (not `_uuid`/`_version`).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// Table name.
    pub table: String,
    /// Row UUID (text form).
    pub uuid: String,
    /// The row before the transaction.
    pub old: Option<RowJson>,
    /// The row after the transaction.
    pub new: Option<RowJson>,
}

/// Result of running a transaction against a [`Store`].
#[derive(Debug, Clone, PartialEq)]
pub enum TxnResult {
    /// Finished (committed, or failed with errors in `reply`); `changes` is
    /// empty unless something was committed.
    Done {
        /// The `transact` result array.
        reply: Value,
        /// What changed.
        changes: Vec<RowChange>,
    },
    /// A `wait` operation's condition does not hold yet.
    Blocked,
}

/// What the server needs from a database: its schema, transactions, and a
/// way to read rows for monitors. Persistence is the store's business: when
/// `transact` returns, a committed transaction is durable as configured.
pub trait Store: Send {
    /// The schema.
    fn schema(&self) -> &DatabaseSchema;
    /// Runs a transaction (`ops` are the params after the database name).
    fn transact(&mut self, ops: &[Value], locks_held: &[String], wait_expired: bool) -> TxnResult;
    /// Every row of `table`: (uuid text, row with every column).
    fn rows(&self, table: &str) -> Vec<(String, RowJson)>;
    /// The database's schema as JSON, for `get_schema`.
    fn schema_json(&self) -> Value {
        self.schema().to_json()
    }
}

/// A `transact` blocked in `wait`.
#[derive(Debug)]
struct Pending {
    session: SessionId,
    id: Value,
    db: String,
    ops: Vec<Value>,
    deadline: Option<Instant>,
}

struct Monitor {
    db: String,
    version: Version,
    tables: BTreeMap<String, TableMonitor>,
}

#[derive(Default)]
struct Session {
    /// Monitors by their id's JSON text.
    monitors: HashMap<String, (Value, Monitor)>,
}

/// The server's state and method dispatch. See the module documentation.
pub struct Core {
    dbs: BTreeMap<String, Box<dyn Store>>,
    locks: LockTable,
    sessions: HashMap<SessionId, Session>,
    pending: Vec<Pending>,
    next_session: SessionId,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("dbs", &self.dbs.keys().collect::<Vec<_>>())
            .field("sessions", &self.sessions.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

/// Messages to deliver, in order.
pub type Outbox = Vec<(SessionId, Message)>;

const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";

fn method_error(kind: &str, details: String, params: &Value) -> Value {
    json!({"syntax": params.to_string(), "details": details, "error": kind})
}

impl Core {
    /// A server with no databases.
    pub fn new() -> Core {
        Core {
            dbs: BTreeMap::new(),
            locks: LockTable::new(),
            sessions: HashMap::new(),
            pending: Vec::new(),
            next_session: 1,
        }
    }

    /// Adds a database under its schema's name.
    pub fn add_db(&mut self, store: Box<dyn Store>) {
        self.dbs.insert(store.schema().name.clone(), store);
    }

    /// Names of the databases served.
    pub fn db_names(&self) -> Vec<String> {
        self.dbs.keys().cloned().collect()
    }

    /// Direct access to a database (for the embedding daemon).
    pub fn db_mut(&mut self, name: &str) -> Option<&mut (dyn Store + 'static)> {
        self.dbs.get_mut(name).map(|b| &mut **b)
    }

    /// Registers a new session.
    pub fn open_session(&mut self) -> SessionId {
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.insert(id, Session::default());
        id
    }

    /// A session went away: drop its monitors, pending transactions and
    /// locks (which may pass to waiters).
    pub fn close_session(&mut self, s: SessionId) -> Outbox {
        self.sessions.remove(&s);
        self.pending.retain(|p| p.session != s);
        self.locks
            .drop_session(s)
            .into_iter()
            .map(lock_notification)
            .collect()
    }

    /// The earliest deadline of a blocked transaction, for the glue's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().filter_map(|p| p.deadline).min()
    }

    /// Expires blocked transactions whose deadline has passed.
    pub fn expire(&mut self, now: Instant) -> Outbox {
        let mut out = Outbox::new();
        let due: Vec<Pending> = {
            let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
                .into_iter()
                .partition(|p| p.deadline.is_some_and(|d| d <= now));
            self.pending = keep;
            due
        };
        for p in due {
            self.run_transact(p.session, p.id, &p.db, p.ops, None, true, &mut out);
        }
        out
    }

    /// Handles one message from session `s`.
    pub fn handle(&mut self, s: SessionId, msg: Message, now: Instant) -> Outbox {
        let mut out = Outbox::new();
        let (method, params, id) = match msg {
            Message::Request { method, params, id } => (method, params, Some(id)),
            Message::Notification { method, params } => (method, params, None),
            // Replies to our echo requests, or stray replies: nothing to do.
            Message::Response { .. } | Message::Error { .. } => return out,
        };
        let empty = Vec::new();
        let args = params.as_array().unwrap_or(&empty);
        let reply = |out: &mut Outbox, r: Result<Value, Value>| {
            if let Some(id) = id.clone() {
                out.push((
                    s,
                    match r {
                        Ok(result) => Message::response(result, id),
                        Err(error) => Message::error(error, id),
                    },
                ));
            }
        };
        match method.as_str() {
            "echo" => reply(&mut out, Ok(params.clone())),
            "list_dbs" => reply(&mut out, Ok(json!(self.db_names()))),
            "get_schema" => {
                let r = self
                    .db_arg(args, &params, "get_schema")
                    .map(|db| db.schema_json());
                reply(&mut out, r)
            }
            "set_db_change_aware" => reply(&mut out, Ok(json!({}))),
            "transact" => match self.db_arg(args, &params, "transact") {
                Err(e) => reply(&mut out, Err(e)),
                Ok(_) => {
                    let db = args[0].as_str().unwrap_or_default().to_owned();
                    let ops = args[1..].to_vec();
                    match id {
                        Some(id) => self.run_transact(s, id, &db, ops, Some(now), false, &mut out),
                        None => {
                            // A transact notification still runs.
                            let mut ignore = Outbox::new();
                            self.run_transact(s, Value::Null, &db, ops, None, true, &mut ignore);
                            out.extend(ignore.into_iter().filter(|(to, _)| *to != s));
                        }
                    }
                }
            },
            "cancel" => {
                let target = args.first().cloned().unwrap_or(Value::Null);
                if let Some(pos) = self
                    .pending
                    .iter()
                    .position(|p| p.session == s && p.id == target)
                {
                    let p = self.pending.remove(pos);
                    out.push((s, Message::error(json!("canceled"), p.id)));
                }
            }
            "monitor" | "monitor_cond" | "monitor_cond_since" => {
                let version = match method.as_str() {
                    "monitor" => Version::V1,
                    "monitor_cond" => Version::V2,
                    _ => Version::V3,
                };
                let r = self.monitor(s, args, &params, version);
                reply(&mut out, r)
            }
            "monitor_cancel" => {
                let key = args.first().map(|v| v.to_string()).unwrap_or_default();
                let removed = self
                    .sessions
                    .get_mut(&s)
                    .and_then(|sess| sess.monitors.remove(&key))
                    .is_some();
                reply(
                    &mut out,
                    if removed {
                        Ok(json!({}))
                    } else {
                        Err(json!("unknown monitor"))
                    },
                )
            }
            "lock" | "steal" | "unlock" => {
                let r = self.lock_method(s, &method, args, &params, &mut out);
                reply(&mut out, r)
            }
            _ => reply(&mut out, Err(json!("unknown method"))),
        }
        out
    }

    fn db_arg(&self, args: &[Value], params: &Value, what: &str) -> Result<&dyn Store, Value> {
        let name = args.first().and_then(Value::as_str).ok_or_else(|| {
            method_error(
                "syntax error",
                format!("{what} request lacks a database name"),
                params,
            )
        })?;
        self.dbs.get(name).map(|b| &**b).ok_or_else(|| {
            method_error(
                "unknown database",
                format!("{what} request specifies unknown database {name}"),
                params,
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn run_transact(
        &mut self,
        s: SessionId,
        id: Value,
        db: &str,
        ops: Vec<Value>,
        blocked_since: Option<Instant>,
        wait_expired: bool,
        out: &mut Outbox,
    ) {
        let held = self.locks.owned_by(s);
        let Some(store) = self.dbs.get_mut(db) else {
            return;
        };
        match store.transact(&ops, &held, wait_expired) {
            TxnResult::Blocked => {
                let timeout = max_wait_timeout(&ops);
                let deadline = match (timeout, blocked_since) {
                    (Some(ms), Some(t0)) => Some(t0 + std::time::Duration::from_millis(ms)),
                    (Some(_), None) => Some(Instant::now()),
                    (None, _) => None,
                };
                self.pending.push(Pending {
                    session: s,
                    id,
                    db: db.to_owned(),
                    ops,
                    deadline,
                });
            }
            TxnResult::Done { reply, changes } => {
                if !changes.is_empty() {
                    self.notify_changes(db, &changes, out);
                }
                if !id.is_null() {
                    out.push((s, Message::response(reply, id)));
                }
                if !changes.is_empty() {
                    self.retry_pending(out);
                }
            }
        }
    }

    /// Re-runs blocked transactions after a commit.
    fn retry_pending(&mut self, out: &mut Outbox) {
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            let before = self.pending.len();
            self.run_transact(p.session, p.id, &p.db, p.ops, None, false, out);
            // Still blocked: keep the original deadline.
            if self.pending.len() > before
                && let Some(last) = self.pending.last_mut()
            {
                last.deadline = p.deadline;
            }
        }
    }

    fn notify_changes(&self, db: &str, changes: &[RowChange], out: &mut Outbox) {
        let mut sessions: Vec<&SessionId> = self.sessions.keys().collect();
        sessions.sort();
        for sid in sessions {
            let sess = &self.sessions[sid];
            let mut mons: Vec<&(Value, Monitor)> = sess.monitors.values().collect();
            mons.sort_by_key(|(id, _)| id.to_string());
            for (mid, mon) in mons {
                if mon.db != db {
                    continue;
                }
                let mut updates = serde_json::Map::new();
                for ch in changes {
                    let Some(tm) = mon.tables.get(&ch.table) else {
                        continue;
                    };
                    if let Some(u) =
                        tm.row_update(ch.old.as_ref(), ch.new.as_ref(), mon.version, false)
                    {
                        updates
                            .entry(ch.table.clone())
                            .or_insert_with(|| Value::Object(Default::default()))
                            .as_object_mut()
                            .expect("object")
                            .insert(ch.uuid.clone(), u);
                    }
                }
                if updates.is_empty() {
                    continue;
                }
                let msg = match mon.version {
                    Version::V1 => {
                        Message::notification("update", vec![mid.clone(), Value::Object(updates)])
                    }
                    Version::V2 => {
                        Message::notification("update2", vec![mid.clone(), Value::Object(updates)])
                    }
                    Version::V3 => Message::notification(
                        "update3",
                        vec![mid.clone(), json!(ZERO_UUID), Value::Object(updates)],
                    ),
                };
                out.push((*sid, msg));
            }
        }
    }

    fn monitor(
        &mut self,
        s: SessionId,
        args: &[Value],
        params: &Value,
        version: Version,
    ) -> Result<Value, Value> {
        let what = match version {
            Version::V1 => "monitor",
            Version::V2 => "monitor_cond",
            Version::V3 => "monitor_cond_since",
        };
        let min_args = if version == Version::V3 { 4 } else { 3 };
        if args.len() < min_args {
            return Err(method_error(
                "syntax error",
                format!(
                    "{what} request has {} parameters, expected {min_args}",
                    args.len()
                ),
                params,
            ));
        }
        let store = self.db_arg(args, params, what)?;
        let db = args[0].as_str().unwrap_or_default().to_owned();
        let mid = args[1].clone();
        let Some(reqs) = args[2].as_object() else {
            return Err(method_error(
                "syntax error",
                "monitor requests must be an object".into(),
                &args[2],
            ));
        };
        let schema = store.schema();
        let mut tables = BTreeMap::new();
        for (tname, req) in reqs {
            let Some(ts) = schema.table(tname) else {
                return Err(method_error(
                    "syntax error",
                    format!("no table named {tname}"),
                    &json!(tname),
                ));
            };
            // A table's request is an object or an array of them; we merge
            // an array into one (union of columns, or of select flags).
            let list: Vec<&Value> = match req {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut columns: Vec<(String, ColumnKind)> = Vec::new();
            let mut select = Select {
                initial: false,
                insert: false,
                delete: false,
                modify: false,
            };
            let mut filter = None;
            for r in list {
                let Some(r) = r.as_object() else {
                    return Err(method_error(
                        "syntax error",
                        "monitor request must be an object".into(),
                        r,
                    ));
                };
                let cols: Vec<String> = match r.get("columns") {
                    None => ts
                        .columns
                        .iter()
                        .map(|c| c.name.clone())
                        .filter(|n| !n.starts_with('_'))
                        .collect(),
                    Some(Value::Array(cs)) => {
                        let mut v = Vec::new();
                        for c in cs {
                            let Some(name) = c.as_str().filter(|n| ts.column(n).is_some()) else {
                                return Err(method_error(
                                    "syntax error",
                                    format!(
                                        "{} is not a valid column name",
                                        c.as_str().unwrap_or(&c.to_string())
                                    ),
                                    &Value::Array(cs.clone()),
                                ));
                            };
                            v.push(name.to_owned());
                        }
                        v
                    }
                    Some(other) => {
                        return Err(method_error(
                            "syntax error",
                            "columns must be an array".into(),
                            other,
                        ));
                    }
                };
                for c in cols {
                    if !columns.iter().any(|(n, _)| *n == c) {
                        let kind = column_kind(ts, &c);
                        columns.push((c, kind));
                    }
                }
                let sel = match r.get("select") {
                    None => Select::default(),
                    Some(Value::Object(o)) => {
                        let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(true);
                        Select {
                            initial: flag("initial"),
                            insert: flag("insert"),
                            delete: flag("delete"),
                            modify: flag("modify"),
                        }
                    }
                    Some(other) => {
                        return Err(method_error(
                            "syntax error",
                            "select must be an object".into(),
                            other,
                        ));
                    }
                };
                select.initial |= sel.initial;
                select.insert |= sel.insert;
                select.delete |= sel.delete;
                select.modify |= sel.modify;
                if version != Version::V1
                    && let Some(w) = r.get("where")
                {
                    filter = Some(
                        super::cond::compile(ts, w)
                            .map_err(|e| method_error("syntax error", e, w))?,
                    );
                }
            }
            tables.insert(
                tname.clone(),
                TableMonitor {
                    columns,
                    select,
                    filter,
                },
            );
        }
        let key = mid.to_string();
        let sess = self.sessions.entry(s).or_default();
        if sess.monitors.contains_key(&key) {
            return Err(method_error(
                "duplicate monitor ID",
                format!("monitor {key} already exists"),
                &mid,
            ));
        }
        // Initial contents.
        let mut initial = serde_json::Map::new();
        let store = &self.dbs[&db];
        for (tname, tm) in &tables {
            if !tm.select.initial {
                continue;
            }
            let mut rows = serde_json::Map::new();
            for (uuid, row) in store.rows(tname) {
                if let Some(u) = tm.row_update(None, Some(&row), version, true) {
                    rows.insert(uuid, u);
                }
            }
            if !rows.is_empty() {
                initial.insert(tname.clone(), Value::Object(rows));
            }
        }
        let sess = self.sessions.entry(s).or_default();
        sess.monitors.insert(
            key,
            (
                mid,
                Monitor {
                    db,
                    version,
                    tables,
                },
            ),
        );
        Ok(match version {
            Version::V3 => json!([false, ZERO_UUID, Value::Object(initial)]),
            _ => Value::Object(initial),
        })
    }

    fn lock_method(
        &mut self,
        s: SessionId,
        method: &str,
        args: &[Value],
        params: &Value,
        out: &mut Outbox,
    ) -> Result<Value, Value> {
        let Some(name) = args.first().and_then(Value::as_str) else {
            return Err(method_error(
                "syntax error",
                format!("{method} requires a lock name"),
                params,
            ));
        };
        match method {
            "lock" => match self.locks.lock(s, name) {
                Ok(got) => Ok(json!({"locked": got})),
                Err(_) => Err(method_error(
                    "syntax error",
                    "must issue \"unlock\" before new \"lock\"".into(),
                    params,
                )),
            },
            "steal" => match self.locks.steal(s, name) {
                Ok(n) => {
                    out.extend(n.map(lock_notification));
                    Ok(json!({"locked": true}))
                }
                Err(_) => Err(method_error(
                    "syntax error",
                    "must issue \"unlock\" before new \"steal\"".into(),
                    params,
                )),
            },
            _ => match self.locks.unlock(s, name) {
                Ok(n) => {
                    out.extend(n.map(lock_notification));
                    Ok(json!({}))
                }
                Err(LockError::NotHeld) | Err(LockError::Duplicate) => Err(method_error(
                    "syntax error",
                    "unlock: \"unlock\" without \"lock\" or \"steal\"".into(),
                    params,
                )),
            },
        }
    }
}

impl Default for Core {
    fn default() -> Self {
        Core::new()
    }
}

fn lock_notification(n: Notify) -> (SessionId, Message) {
    match n {
        Notify::Locked { session, name } => {
            (session, Message::notification("locked", vec![json!(name)]))
        }
        Notify::Stolen { session, name } => {
            (session, Message::notification("stolen", vec![json!(name)]))
        }
    }
}

/// The largest `timeout` of the `wait` operations (None = wait forever).
fn max_wait_timeout(ops: &[Value]) -> Option<u64> {
    let mut max = Some(0u64);
    for op in ops {
        if op.get("op").and_then(Value::as_str) == Some("wait") {
            match op.get("timeout") {
                None => return None,
                Some(t) => {
                    let t = t.as_u64().unwrap_or(0);
                    max = max.map(|m| m.max(t));
                }
            }
        }
    }
    max
}

/// How a column is diffed and what its default is.
pub fn column_kind(ts: &TableSchema, column: &str) -> ColumnKind {
    let Some(c) = ts.column(column) else {
        return ColumnKind::Set;
    };
    let t = &c.type_;
    if t.is_map() {
        ColumnKind::Map
    } else if t.is_scalar() {
        let default = match t.key.atomic {
            AtomicType::Integer => json!(0),
            AtomicType::Real => json!(0.0),
            AtomicType::Boolean => json!(false),
            AtomicType::String => json!(""),
            AtomicType::Uuid => json!(["uuid", ZERO_UUID]),
        };
        ColumnKind::Scalar { default }
    } else {
        ColumnKind::Set
    }
}
