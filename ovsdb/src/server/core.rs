//! The server's protocol core: every JSON-RPC method, with no I/O.
//!
//! [`Core`] owns the databases (behind the [`Store`] trait), the lock table,
//! the monitors and the transactions blocked in `wait`. The network glue
//! feeds it one request at a time ([`Core::handle`]) and delivers what it
//! returns: a list of `(session, message)` pairs, in order. Ordering
//! guarantee: the `update*` notifications a transaction causes come before
//! that transaction's reply, for every session.
//!
//! Monitor updates: monitors of equal shape (database, method, and per
//! table columns, `select` and condition) get one table-updates object per
//! transaction, built and serialized once ([`Out::Update`] shares the
//! bytes). A session whose peer lags (see [`Backlog`]) gets no update per
//! transaction: its row changes are merged and sent as one update per
//! monitor when it catches up, or before any reply to it, whichever comes
//! first. In batching mode ([`Core::set_batching`], what the network glue
//! uses) every commit's changes are merged per session and every reply is
//! held behind them until [`Core::flush_all`]; the glue flushes at once
//! when it is not busy, and after the other ready sessions when it is, so
//! that under load one update carries many commits. Either way the
//! ordering guarantee above holds (for a lagging session: its merged
//! update still precedes any later reply to it).
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
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// One committed change to one row: `old` is `None` for an insert, `new`
/// is `None` for a delete (both `None` for a row of a table no monitor
/// watches, see [`Store::set_watched`]). Rows carry `_uuid`, `_version` and
/// every column some monitor of the table may look at (all of them by
/// default, see [`Watched`]); they are shared (`Arc`) because a lagging session keeps
/// them until its merged update is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// Table name.
    pub table: String,
    /// Row UUID (text form).
    pub uuid: String,
    /// The row before the transaction.
    pub old: Option<Arc<RowJson>>,
    /// The row after the transaction.
    pub new: Option<Arc<RowJson>>,
}

/// What the monitors of one database look at, per table: `None` for every
/// column (a monitor with a condition, which may test any column), else
/// the union of the monitored columns. Tables absent are watched by no one.
pub type Watched = HashMap<String, Option<HashSet<String>>>;

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
    /// Tells the store which tables and columns the monitors look at
    /// before a transaction, so it need not describe changes (or columns)
    /// nobody will see. The default ignores it (and reports every change
    /// in full).
    fn set_watched(&mut self, watched: &Watched) {
        let _ = watched;
    }
    /// Every row of `table`: (uuid text, row with every column).
    fn rows(&self, table: &str) -> Vec<(String, RowJson)>;
    /// Every row of `table` with only `columns` (and `_uuid`): what a
    /// monitor's initial contents need. The default builds whole rows.
    fn rows_with(&self, table: &str, columns: &[String]) -> Vec<(String, RowJson)> {
        let _ = columns;
        self.rows(table)
    }
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
    /// Each table's condition as requested (`where`), for `shape`.
    wheres: BTreeMap<String, Value>,
    /// Everything that decides this monitor's updates but its id (database,
    /// version, and per table the columns, `select` flags and condition):
    /// monitors with equal shapes get byte-identical table-updates.
    shape: Arc<str>,
}

impl Monitor {
    fn compute_shape(&mut self) {
        let tables: Vec<Value> = self
            .tables
            .iter()
            .map(|(name, tm)| {
                let cols: Vec<&str> = tm.columns.iter().map(|(c, _)| c.as_str()).collect();
                let sel = tm.select;
                json!([
                    name,
                    cols,
                    [sel.initial, sel.insert, sel.delete, sel.modify],
                    self.wheres.get(name)
                ])
            })
            .collect();
        let v = json!([self.db, format!("{:?}", self.version), tables]);
        self.shape = Arc::from(v.to_string());
    }

    fn watches(&self, db: &str, table: &str) -> bool {
        self.db == db && self.tables.contains_key(table)
    }
}

/// What a session's writer and the core share.
///
/// Merging contract: while `queued` is non-zero (the session has bytes its
/// peer has not taken yet), the core does not send it new table-updates but
/// merges the row changes into one pending update per monitor, and sets
/// `merged`. Whoever brings `queued` back to zero and then sees `merged`
/// calls [`Core::flush_session`]. The core sets `merged` *before* it reads
/// `queued`, and sends at once if it reads zero, so an update is never left
/// behind by a writer that drained its queue at the same moment. Pending
/// updates of a session are always sent before any reply to that session.
#[derive(Debug, Default)]
pub struct Backlog {
    /// Bytes delivered to the session and not yet written to its socket
    /// (maintained by the glue).
    pub queued: AtomicUsize,
    /// The core holds merged, unsent updates for the session.
    pub merged: AtomicBool,
}

/// The first old and the last new state of a row changed while its session
/// lagged (`None`: the row did not exist).
struct PendingRow {
    old: Option<Arc<RowJson>>,
    new: Option<Arc<RowJson>>,
}

#[derive(Default)]
struct Session {
    /// Monitors by their id's JSON text (ordered: updates go out in a
    /// stable order).
    monitors: BTreeMap<String, (Value, Monitor)>,
    /// Shared with the glue; `None` = never merge (no I/O, as in tests).
    backlog: Option<Arc<Backlog>>,
    /// Row changes not yet sent, by (database, table, row uuid).
    pending: BTreeMap<(String, String, String), PendingRow>,
    /// The commit (`Core::commits`) that first went into `pending`.
    pending_seq: u64,
    /// Messages held until the next `flush_all` (batching mode).
    held: Vec<Out>,
    /// Batching mode: the first commit of `Core::batch` this session has
    /// not been sent (its changes are not copied into `pending`).
    batch_from: Option<u64>,
}

/// Serialized table-updates by (monitor shape, first merged commit).
type UpdateCache = HashMap<(Arc<str>, u64), Option<Arc<Vec<u8>>>>;

/// The server's state and method dispatch. See the module documentation.
pub struct Core {
    dbs: BTreeMap<String, Box<dyn Store>>,
    locks: LockTable,
    sessions: BTreeMap<SessionId, Session>,
    pending: Vec<Pending>,
    /// Bumped whenever the set of monitored tables may have changed.
    watch_gen: u64,
    /// Per database, the `watch_gen` last told to its store.
    watch_told: HashMap<String, u64>,
    /// See [`Core::set_batching`].
    batching: bool,
    /// Commits that reached `notify_changes`.
    commits: u64,
    /// Sessions with merged updates since the last `flush_all`.
    dirty: std::collections::BTreeSet<SessionId>,
    /// Sessions with held messages.
    holding: std::collections::BTreeSet<SessionId>,
    flush_wanted: bool,
    /// Batching mode: the commits since the last `flush_all`, numbered from
    /// `batch_base`; sessions refer to them by `Session::batch_from`.
    batch: Vec<(String, Arc<Vec<RowChange>>)>,
    batch_base: u64,
    /// See [`Core::last_batch`].
    last_batch: usize,
    next_session: SessionId,
    /// This server's id, for `get_server_id`.
    server_id: String,
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
pub type Outbox = Vec<(SessionId, Out)>;

/// One message to deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// Any message.
    Msg(Message),
    /// A monitor notification whose table-updates were serialized once and
    /// are shared by every monitor of the same shape.
    Update {
        /// `update`, `update2` or `update3`.
        method: &'static str,
        /// The monitor's id.
        id: Value,
        /// The last transaction id (`update3` only).
        txn: Option<String>,
        /// The table-updates object, as JSON text.
        updates: Arc<Vec<u8>>,
    },
}

impl From<Message> for Out {
    fn from(m: Message) -> Out {
        Out::Msg(m)
    }
}

impl Out {
    /// The message as compact JSON text, the same bytes as
    /// [`Message::to_bytes`] of [`Out::message`].
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Out::Msg(m) => m.to_bytes(),
            Out::Update {
                method,
                id,
                txn,
                updates,
            } => {
                let mut b = Vec::with_capacity(updates.len() + 64);
                b.extend_from_slice(b"{\"method\":\"");
                b.extend_from_slice(method.as_bytes());
                b.extend_from_slice(b"\",\"params\":[");
                crate::jsonrpc::write_json(&mut b, id);
                b.push(b',');
                if let Some(t) = txn {
                    crate::jsonrpc::write_json(&mut b, &Value::String(t.clone()));
                    b.push(b',');
                }
                b.extend_from_slice(updates);
                b.extend_from_slice(b"],\"id\":null}");
                b
            }
        }
    }

    /// The message (decoding shared table-updates; for tests and tools).
    pub fn message(&self) -> Message {
        match self {
            Out::Msg(m) => m.clone(),
            Out::Update {
                method,
                id,
                txn,
                updates,
            } => {
                let mut params = vec![id.clone()];
                if let Some(t) = txn {
                    params.push(json!(t));
                }
                params.push(serde_json::from_slice(updates).unwrap_or(Value::Null));
                Message::notification(*method, params)
            }
        }
    }
}

/// Flushes without concurrent committers before [`Core::last_batch`]
/// falls back to zero.
const BUSY_FLUSHES: usize = 16;

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
            sessions: BTreeMap::new(),
            pending: Vec::new(),
            watch_gen: 1,
            watch_told: HashMap::new(),
            batching: false,
            commits: 0,
            dirty: Default::default(),
            holding: Default::default(),
            flush_wanted: false,
            batch: Vec::new(),
            batch_base: 0,
            last_batch: 0,
            next_session: 1,
            server_id: uuid::Uuid::new_v4().to_string(),
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

    /// Registers a new session (whose updates are never merged).
    pub fn open_session(&mut self) -> SessionId {
        self.open_session_with(None)
    }

    /// Registers a new session whose send backlog the glue reports through
    /// `backlog` (see [`Backlog`] for the merging contract).
    pub fn open_session_with(&mut self, backlog: Option<Arc<Backlog>>) -> SessionId {
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            id,
            Session {
                backlog,
                ..Session::default()
            },
        );
        id
    }

    /// Sends the updates merged for session `s` while it lagged, if any.
    pub fn flush_session(&mut self, s: SessionId) -> Outbox {
        let mut out = Outbox::new();
        self.flush_before(s, &mut out);
        out
    }

    /// Sends session `s`'s merged updates, so that what follows in `out`
    /// for `s` comes after them.
    fn flush_before(&mut self, s: SessionId, out: &mut Outbox) {
        self.flush_with(s, out, &mut HashMap::new());
    }

    /// [`Core::flush_before`], sharing serialized updates through `cache`:
    /// monitors of one shape whose sessions merged the same commits (the
    /// same first pending commit) get the same bytes.
    fn flush_with(&mut self, s: SessionId, out: &mut Outbox, cache: &mut UpdateCache) {
        let Some(sess) = self.sessions.get_mut(&s) else {
            return;
        };
        if let Some(b) = &sess.backlog {
            b.merged.store(false, Ordering::SeqCst);
        }
        materialize(sess, &self.batch, self.batch_base);
        if sess.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut sess.pending);
        for (mid, mon) in sess.monitors.values() {
            let body = cache
                .entry((mon.shape.clone(), sess.pending_seq))
                .or_insert_with(|| pending_updates(mon, &pending));
            if let Some(body) = body {
                out.push((s, update_out(mon.version, mid, body)));
            }
        }
    }

    /// Sends `msg` to `s` after everything `s` is owed: its merged updates,
    /// and (when batching) anything held for it. While batching, a message
    /// is held as long as any session has unsent merged updates, so that no
    /// reply overtakes the updates of the commits before it.
    fn send(&mut self, s: SessionId, msg: Out, out: &mut Outbox) {
        let hold = self.batching
            && (!self.dirty.is_empty()
                || self.sessions.get(&s).is_some_and(|x| !x.held.is_empty()));
        match self.sessions.get_mut(&s) {
            Some(sess) if hold => {
                sess.held.push(msg);
                self.holding.insert(s);
                self.flush_wanted = true;
            }
            _ => {
                self.flush_before(s, out);
                out.push((s, msg));
            }
        }
    }

    /// Batching mode (the network glue's): updates of every commit are
    /// merged into each monitoring session's pending update, and replies
    /// wait with them, until [`Core::flush_all`], which the glue calls soon
    /// after [`Core::flush_wanted`] turned true (after letting other ready
    /// sessions run, so that one update carries many commits). Off by
    /// default: every update and reply is returned at once.
    pub fn set_batching(&mut self, on: bool) {
        self.batching = on;
    }

    /// Whether [`Core::flush_all`] has work (batching mode).
    pub fn flush_wanted(&self) -> bool {
        self.flush_wanted
    }

    /// How many commits reached the monitors so far.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// Non-zero while clients commit concurrently: set when a
    /// [`Core::flush_all`] sends replies held for several sessions, and
    /// counting down with each flush that does not.
    pub fn last_batch(&self) -> usize {
        self.last_batch
    }

    /// Sends every merged update (except to sessions whose peer lags: their
    /// writer flushes them, see [`Backlog`]), then every held message, each
    /// after its session's updates.
    pub fn flush_all(&mut self) -> Outbox {
        self.flush_wanted = false;
        // Several sessions in one batch: concurrent committers; the hint
        // stays up for a while, so that one small batch does not end it.
        self.last_batch = if self.holding.len() >= 2 {
            BUSY_FLUSHES
        } else {
            self.last_batch.saturating_sub(1)
        };
        let mut out = Outbox::new();
        let mut cache = UpdateCache::new();
        for sid in std::mem::take(&mut self.dirty) {
            let lagging = self.sessions.get(&sid).is_some_and(|sess| {
                sess.backlog
                    .as_ref()
                    .is_some_and(|b| b.queued.load(Ordering::SeqCst) > 0)
            });
            let Some(sess) = self.sessions.get_mut(&sid) else {
                continue;
            };
            if lagging {
                // Its writer flushes it; keep its rows beyond this batch.
                materialize(sess, &self.batch, self.batch_base);
                continue;
            }
            match sess.batch_from.take() {
                Some(from) if sess.pending.is_empty() => {
                    let commits = batch_slice(&self.batch, self.batch_base, from);
                    for (mid, mon) in sess.monitors.values() {
                        let body = cache
                            .entry((mon.shape.clone(), from))
                            .or_insert_with(|| pending_updates(mon, &fold(mon, commits)));
                        if let Some(body) = body {
                            out.push((sid, update_out(mon.version, mid, body)));
                        }
                    }
                    if let Some(b) = &sess.backlog {
                        b.merged.store(false, Ordering::SeqCst);
                    }
                }
                from => {
                    sess.batch_from = from;
                    self.flush_with(sid, &mut out, &mut cache);
                }
            }
        }
        for sid in std::mem::take(&mut self.holding) {
            self.flush_with(sid, &mut out, &mut cache);
            if let Some(sess) = self.sessions.get_mut(&sid) {
                out.extend(sess.held.drain(..).map(|m| (sid, m)));
            }
        }
        // Every session's unsent commits are sent or in its `pending` now.
        self.batch.clear();
        out
    }

    /// A session went away: drop its monitors, pending transactions and
    /// locks (which may pass to waiters).
    pub fn close_session(&mut self, s: SessionId) -> Outbox {
        self.watch_gen += 1;
        self.sessions.remove(&s);
        self.dirty.remove(&s);
        self.holding.remove(&s);
        self.pending.retain(|p| p.session != s);
        let mut out = Outbox::new();
        for (to, m) in self
            .locks
            .drop_session(s)
            .into_iter()
            .map(lock_notification)
        {
            self.send(to, m.into(), &mut out);
        }
        out
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
        let (method, mut params, id) = match msg {
            Message::Request { method, params, id } => (method, params, Some(id)),
            Message::Notification { method, params } => (method, params, None),
            // Replies to our echo requests, or stray replies: nothing to do.
            Message::Response { .. } | Message::Error { .. } => return out,
        };
        let empty = Vec::new();
        let args = params.as_array().unwrap_or(&empty);
        // The reply, sent last (after any update it must follow).
        let mut answer: Option<Result<Value, Value>> = None;
        // A `transact` on this database runs after the match, with its
        // operations moved out of `params` rather than copied.
        let mut transact_db: Option<String> = None;
        match method.as_str() {
            "echo" => answer = Some(Ok(params.clone())),
            "list_dbs" => answer = Some(Ok(json!(self.db_names()))),
            "get_schema" => {
                let r = self
                    .db_arg(args, &params, "get_schema")
                    .map(|db| db.schema_json());
                answer = Some(r)
            }
            "set_db_change_aware" => {
                answer = Some(match args.as_slice() {
                    [Value::Bool(_)] => Ok(json!({})),
                    _ => Err(method_error(
                        "syntax error",
                        "set_db_change_aware: true or false parameter expected".into(),
                        &params,
                    )),
                })
            }
            "get_server_id" => answer = Some(Ok(json!(self.server_id))),
            "transact" => match self.db_arg(args, &params, "transact") {
                Err(e) => answer = Some(Err(e)),
                Ok(_) => transact_db = Some(args[0].as_str().unwrap_or_default().to_owned()),
            },
            "cancel" => {
                let target = args.first().cloned().unwrap_or(Value::Null);
                if let Some(pos) = self
                    .pending
                    .iter()
                    .position(|p| p.session == s && p.id == target)
                {
                    let p = self.pending.remove(pos);
                    self.send(s, Message::error(json!("canceled"), p.id).into(), &mut out);
                }
            }
            "monitor" | "monitor_cond" | "monitor_cond_since" => {
                let version = match method.as_str() {
                    "monitor" => Version::V1,
                    "monitor_cond" => Version::V2,
                    _ => Version::V3,
                };
                let r = self.monitor(s, args, &params, version, &mut out);
                answer = Some(r)
            }
            "monitor_cond_change" => {
                let r = self.monitor_cond_change(s, args, &params, &mut out);
                answer = Some(r)
            }
            "monitor_cancel" => {
                let key = args.first().map(|v| v.to_string()).unwrap_or_default();
                // What the monitor was owed goes out before it is gone.
                self.flush_before(s, &mut out);
                self.watch_gen += 1;
                let removed = self
                    .sessions
                    .get_mut(&s)
                    .and_then(|sess| sess.monitors.remove(&key))
                    .is_some();
                answer = Some(if removed {
                    Ok(json!({}))
                } else {
                    Err(json!("unknown monitor"))
                })
            }
            "lock" | "steal" | "unlock" => {
                let r = self.lock_method(s, &method, args, &params, &mut out);
                answer = Some(r)
            }
            _ => answer = Some(Err(json!("unknown method"))),
        }
        if let Some(db) = transact_db {
            let ops: Vec<Value> = match &mut params {
                Value::Array(a) => a.drain(1..).collect(),
                _ => Vec::new(),
            };
            match id.clone() {
                Some(id) => self.run_transact(s, id, &db, ops, Some(now), false, &mut out),
                None => {
                    // A transact notification still runs.
                    let mut ignore = Outbox::new();
                    self.run_transact(s, Value::Null, &db, ops, None, true, &mut ignore);
                    out.extend(ignore.into_iter().filter(|(to, _)| *to != s));
                }
            }
        }
        if let (Some(r), Some(id)) = (answer, id) {
            let m = match r {
                Ok(result) => Message::response(result, id),
                Err(error) => Message::error(error, id),
            };
            self.send(s, m.into(), &mut out);
        }
        out
    }

    fn db_arg(&self, args: &[Value], params: &Value, what: &str) -> Result<&dyn Store, Value> {
        let name = args.first().and_then(Value::as_str).ok_or_else(|| {
            method_error(
                "syntax error",
                format!("{what} request params must begin with <db-name>"),
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
        if self.watch_told.get(db) != Some(&self.watch_gen) {
            let mut watched = Watched::new();
            let monitors = self
                .sessions
                .values()
                .flat_map(|sess| sess.monitors.values())
                .filter(|(_, m)| m.db == db);
            for (_, m) in monitors {
                for (table, tm) in &m.tables {
                    let cols = watched
                        .entry(table.clone())
                        .or_insert_with(|| Some(HashSet::new()));
                    match cols {
                        Some(_) if tm.filter.is_some() => *cols = None,
                        Some(set) => set.extend(tm.columns.iter().map(|(c, _)| c.clone())),
                        None => {}
                    }
                }
            }
            if let Some(store) = self.dbs.get_mut(db) {
                store.set_watched(&watched);
                self.watch_told.insert(db.to_owned(), self.watch_gen);
            }
        }
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
                    self.send(s, Message::response(reply, id).into(), out);
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

    /// Sends (or, for a lagging session, merges) the updates of one
    /// committed transaction. Monitors of equal shape share one serialized
    /// table-updates object.
    fn notify_changes(&mut self, db: &str, changes: &[RowChange], out: &mut Outbox) {
        let mut shared: HashMap<Arc<str>, Option<Arc<Vec<u8>>>> = HashMap::new();
        self.commits += 1;
        if self.batching {
            if self.batch.is_empty() {
                self.batch_base = self.commits;
            }
            self.batch.push((db.to_owned(), Arc::new(changes.to_vec())));
        }
        let sids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for sid in sids {
            let Some(sess) = self.sessions.get_mut(&sid) else {
                continue;
            };
            if !sess.monitors.values().any(|(_, m)| m.db == db) {
                continue;
            }
            let backlog = sess.backlog.clone();
            let lagging = backlog
                .as_ref()
                .is_some_and(|b| b.queued.load(Ordering::SeqCst) > 0);
            if self.batching && !lagging && sess.pending.is_empty() {
                // The commit is in `batch`; the session only notes where
                // its unsent commits begin (see `flush_all`).
                if sess.batch_from.is_none() {
                    let watched = changes.iter().any(|ch| {
                        sess.monitors
                            .values()
                            .any(|(_, m)| m.watches(db, &ch.table))
                    });
                    if !watched {
                        continue;
                    }
                    sess.batch_from = Some(self.commits);
                }
                self.dirty.insert(sid);
                self.flush_wanted = true;
                continue;
            }
            if self.batching || lagging || !sess.pending.is_empty() {
                if sess.batch_from.is_some() {
                    // Includes this commit (already in `batch`).
                    materialize(sess, &self.batch, self.batch_base);
                } else {
                    if sess.pending.is_empty() {
                        sess.pending_seq = self.commits;
                    }
                    merge_changes(sess, db, changes);
                }
                if sess.pending.is_empty() {
                    continue;
                }
                if self.batching {
                    if let Some(b) = &backlog {
                        b.merged.store(true, Ordering::SeqCst);
                    }
                    self.dirty.insert(sid);
                    self.flush_wanted = true;
                    continue;
                }
                if let Some(b) = &backlog {
                    // See `Backlog`: flag first, then look at the queue.
                    b.merged.store(true, Ordering::SeqCst);
                    if b.queued.load(Ordering::SeqCst) > 0 {
                        continue;
                    }
                }
                self.flush_before(sid, out);
                continue;
            }
            for (mid, mon) in sess.monitors.values() {
                if mon.db != db {
                    continue;
                }
                let body = shared
                    .entry(mon.shape.clone())
                    .or_insert_with(|| monitor_updates(mon, changes));
                if let Some(body) = body {
                    out.push((sid, update_out(mon.version, mid, body)));
                }
            }
        }
        // Keep the batch only while some session still refers to it.
        if self.batching
            && !self.batch.is_empty()
            && !self.sessions.values().any(|x| x.batch_from.is_some())
        {
            self.batch.clear();
        }
    }

    fn monitor(
        &mut self,
        s: SessionId,
        args: &[Value],
        params: &Value,
        version: Version,
        out: &mut Outbox,
    ) -> Result<Value, Value> {
        let what = match version {
            Version::V1 => "monitor",
            Version::V2 => "monitor_cond",
            Version::V3 => "monitor_cond_since",
        };
        let store = self.db_arg(args, params, what)?;
        let n_args = if version == Version::V3 { 4 } else { 3 };
        if args.len() != n_args {
            return Err(method_error(
                "syntax error",
                "invalid parameters".into(),
                params,
            ));
        }
        if version == Version::V3
            && !args[3]
                .as_str()
                .is_some_and(|t| uuid::Uuid::parse_str(t).is_ok() && t.len() == 36)
        {
            return Err(method_error(
                "syntax error",
                "last-txn-id must be UUID format.".into(),
                &args[3],
            ));
        }
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
        let mut wheres = BTreeMap::new();
        for (tname, req) in reqs {
            let Some(ts) = schema.table(tname) else {
                return Err(json!({
                    "details": format!("no table named {tname}"),
                    "error": "syntax error"
                }));
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
            for req_json in list {
                let Some(r) = req_json.as_object() else {
                    return Err(method_error(
                        "syntax error",
                        format!("Parsing table {tname} failed: Type mismatch for member 'where'."),
                        req_json,
                    ));
                };
                let mismatch = |member: &str| {
                    method_error(
                        "syntax error",
                        format!(
                            "Parsing table {tname} failed: Type mismatch for member '{member}'."
                        ),
                        req_json,
                    )
                };
                let cols: Vec<String> = match r.get("columns") {
                    // Every column but `_uuid` (`_version` included).
                    None => ts
                        .columns
                        .iter()
                        .map(|c| c.name.clone())
                        .filter(|n| n != "_uuid")
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
                    Some(_) => return Err(mismatch("columns")),
                };
                for c in cols {
                    if columns.iter().any(|(n, _)| *n == c) {
                        return Err(method_error(
                            "syntax error",
                            format!("column {c} mentioned more than once"),
                            r.get("columns").unwrap_or(&Value::Null),
                        ));
                    }
                    let kind = column_kind(ts, &c);
                    columns.push((c, kind));
                }
                let sel = match r.get("select") {
                    None => Select::default(),
                    Some(Value::Object(o)) => {
                        let flag = |k: &str| match o.get(k) {
                            None => Ok(true),
                            Some(Value::Bool(b)) => Ok(*b),
                            Some(_) => Err(method_error(
                                "syntax error",
                                format!(
                                    "Parsing table {tname} select failed: Type mismatch for member '{k}'."
                                ),
                                &Value::Object(o.clone()),
                            )),
                        };
                        Select {
                            initial: flag("initial")?,
                            insert: flag("insert")?,
                            delete: flag("delete")?,
                            modify: flag("modify")?,
                        }
                    }
                    Some(_) => return Err(mismatch("select")),
                };
                select.initial |= sel.initial;
                select.insert |= sel.insert;
                select.delete |= sel.delete;
                select.modify |= sel.modify;
                if version != Version::V1
                    && let Some(w) = r.get("where")
                {
                    if !w.is_array() {
                        return Err(mismatch("where"));
                    }
                    filter = Some(super::cond::compile(ts, w)?);
                    wheres.insert(tname.clone(), w.clone());
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
                "syntax error",
                "duplicate monitor ID".into(),
                &mid,
            ));
        }
        // Updates owed to the session's other monitors go out first: they
        // must not reach this one, whose initial contents already show them.
        self.flush_before(s, out);
        self.watch_gen += 1;
        // Initial contents.
        let mut initial = serde_json::Map::new();
        let store = &self.dbs[&db];
        for (tname, tm) in &tables {
            if !tm.select.initial {
                continue;
            }
            let mut rows = serde_json::Map::new();
            // Without a condition only the monitored columns are needed;
            // building whole rows dominated `ovs-vsctl` start-up on large
            // databases.
            let fetched = if tm.filter.is_some() {
                store.rows(tname)
            } else {
                let cols: Vec<String> = tm.columns.iter().map(|(c, _)| c.clone()).collect();
                store.rows_with(tname, &cols)
            };
            for (uuid, row) in fetched {
                if let Some(u) = tm.initial_update(row, version) {
                    rows.insert(uuid, u);
                }
            }
            if !rows.is_empty() {
                initial.insert(tname.clone(), Value::Object(rows));
            }
        }
        let mut mon = Monitor {
            db,
            version,
            tables,
            wheres,
            shape: Arc::from(""),
        };
        mon.compute_shape();
        let sess = self.sessions.entry(s).or_default();
        sess.monitors.insert(key, (mid, mon));
        Ok(match version {
            Version::V3 => json!([false, ZERO_UUID, Value::Object(initial)]),
            _ => Value::Object(initial),
        })
    }

    /// `monitor_cond_change [old-id, new-id, {table: [{"where": cond}]}]`:
    /// replaces the conditions of some tables of a `monitor_cond` or
    /// `monitor_cond_since` monitor, renames it to `new-id`, and sends (before
    /// the reply) an update that inserts the rows that now match and deletes
    /// those that no longer do. As in Open vSwitch, `columns` may not change,
    /// and on a plain `monitor` the request is accepted and has no effect.
    fn monitor_cond_change(
        &mut self,
        s: SessionId,
        args: &[Value],
        params: &Value,
        out: &mut Outbox,
    ) -> Result<Value, Value> {
        let [old_id, new_id, reqs] = args else {
            return Err(method_error(
                "syntax error",
                "invalid parameters".into(),
                params,
            ));
        };
        let (old_key, new_key) = (old_id.to_string(), new_id.to_string());
        // Updates merged under the old conditions go out first.
        self.flush_before(s, out);
        let sess = self.sessions.entry(s).or_default();
        let Some((_, mon)) = sess.monitors.get(&old_key) else {
            return Err(method_error(
                "syntax error",
                "unknown monitor session".into(),
                old_id,
            ));
        };
        if new_key != old_key && sess.monitors.contains_key(&new_key) {
            return Err(method_error(
                "syntax error",
                "duplicate monitor ID".into(),
                new_id,
            ));
        }
        let Some(reqs) = reqs.as_object() else {
            return Err(method_error(
                "syntax error",
                "invalid parameters".into(),
                params,
            ));
        };
        let Some(store) = self.dbs.get(&mon.db) else {
            return Err(json!("unknown monitor"));
        };
        let schema = store.schema();
        // Parse everything before changing anything.
        let mut filters = Vec::new();
        for (tname, req) in reqs {
            let Some(ts) = schema.table(tname) else {
                return Err(json!({
                    "details": format!("no table named {tname}"),
                    "error": "syntax error"
                }));
            };
            if !mon.tables.contains_key(tname) {
                return Err(json!({
                    "details": format!("no table named {tname} in monitor session"),
                    "error": "syntax error"
                }));
            }
            let Some(list) = req.as_array() else {
                return Err(json!({
                    "details": format!("table {tname} no monitor-cond-change JSON array"),
                    "error": "syntax error"
                }));
            };
            let mut filter = None;
            let mut cond = Value::Null;
            for r in list {
                if r.get("columns").is_some() {
                    return Err(method_error(
                        "syntax error",
                        "changing columns is unsupported".into(),
                        r,
                    ));
                }
                let w = r.get("where").cloned().unwrap_or_else(|| json!([]));
                filter = Some(super::cond::compile(ts, &w)?);
                cond = w;
            }
            if let Some(f) = filter {
                filters.push((tname.clone(), f, cond));
            }
        }
        let (_, mut mon) = sess.monitors.remove(&old_key).expect("monitor exists");
        let mut updates = serde_json::Map::new();
        for (tname, filter, cond) in filters {
            let tm = mon.tables.get_mut(&tname).expect("table checked above");
            let old_filter = tm.filter.replace(filter);
            if mon.version == Version::V1 {
                // RFC 7047 monitors have no conditions.
                tm.filter = old_filter;
                continue;
            }
            mon.wheres.insert(tname.clone(), cond);
            let mut rows = serde_json::Map::new();
            for (uuid, row) in store.rows(&tname) {
                let was = old_filter.as_ref().is_none_or(|f| f(&row));
                if let Some(u) = tm.cond_change_update(&row, was, mon.version) {
                    rows.insert(uuid, u);
                }
            }
            if !rows.is_empty() {
                updates.insert(tname, Value::Object(rows));
            }
        }
        mon.compute_shape();
        // A condition now: the store must report every column.
        self.watch_gen += 1;
        if !updates.is_empty() {
            out.push((
                s,
                update_message(mon.version, new_id, Value::Object(updates)).into(),
            ));
        }
        self.sessions
            .entry(s)
            .or_default()
            .monitors
            .insert(new_key, (new_id.clone(), mon));
        Ok(json!({}))
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
                format!("{method} request params must be <id>"),
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
                    if let Some((to, m)) = n.map(lock_notification) {
                        self.send(to, m.into(), out);
                    }
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
                    if let Some((to, m)) = n.map(lock_notification) {
                        self.send(to, m.into(), out);
                    }
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

fn method_name(v: Version) -> &'static str {
    match v {
        Version::V1 => "update",
        Version::V2 => "update2",
        Version::V3 => "update3",
    }
}

/// The notification carrying `updates` for monitor `mid`.
fn update_message(version: Version, mid: &Value, updates: Value) -> Message {
    let params = match version {
        Version::V3 => vec![mid.clone(), json!(ZERO_UUID), updates],
        _ => vec![mid.clone(), updates],
    };
    Message::notification(method_name(version), params)
}

/// The table-updates of one transaction for one monitor, serialized, or
/// `None` when there is nothing to send.
fn monitor_updates(mon: &Monitor, changes: &[RowChange]) -> Option<Arc<Vec<u8>>> {
    let mut updates = serde_json::Map::new();
    for ch in changes {
        let Some(tm) = mon.tables.get(&ch.table) else {
            continue;
        };
        if let Some(u) = tm.row_update(ch.old.as_deref(), ch.new.as_deref(), mon.version, false) {
            updates
                .entry(ch.table.clone())
                .or_insert_with(|| Value::Object(Default::default()))
                .as_object_mut()
                .expect("object")
                .insert(ch.uuid.clone(), u);
        }
    }
    if updates.is_empty() {
        return None;
    }
    let mut b = Vec::with_capacity(256);
    crate::jsonrpc::write_json(&mut b, &Value::Object(updates));
    Some(Arc::new(b))
}

/// A notification carrying the shared table-updates `body`.
fn update_out(version: Version, mid: &Value, body: &Arc<Vec<u8>>) -> Out {
    Out::Update {
        method: method_name(version),
        id: mid.clone(),
        txn: (version == Version::V3).then(|| ZERO_UUID.to_owned()),
        updates: body.clone(),
    }
}

/// The table-updates of a session's merged rows for one monitor,
/// serialized, or `None` when there is nothing to send.
fn pending_updates(
    mon: &Monitor,
    pending: &BTreeMap<(String, String, String), PendingRow>,
) -> Option<Arc<Vec<u8>>> {
    let mut updates = serde_json::Map::new();
    for ((db, table, uuid), row) in pending {
        if !mon.watches(db, table) {
            continue;
        }
        let tm = &mon.tables[table];
        if let Some(u) = tm.row_update(row.old.as_deref(), row.new.as_deref(), mon.version, false) {
            updates
                .entry(table.clone())
                .or_insert_with(|| Value::Object(Default::default()))
                .as_object_mut()
                .expect("object")
                .insert(uuid.clone(), u);
        }
    }
    if updates.is_empty() {
        return None;
    }
    let mut b = Vec::with_capacity(256);
    crate::jsonrpc::write_json(&mut b, &Value::Object(updates));
    Some(Arc::new(b))
}

/// The commits of `batch` (numbered from `base`) from number `from` on.
fn batch_slice(
    batch: &[(String, Arc<Vec<RowChange>>)],
    base: u64,
    from: u64,
) -> &[(String, Arc<Vec<RowChange>>)] {
    let start = usize::try_from(from.saturating_sub(base)).unwrap_or(usize::MAX);
    batch.get(start..).unwrap_or(&[])
}

/// Moves the commits a session has not been sent from `batch` into its
/// `pending` rows.
fn materialize(sess: &mut Session, batch: &[(String, Arc<Vec<RowChange>>)], base: u64) {
    let Some(from) = sess.batch_from.take() else {
        return;
    };
    if sess.pending.is_empty() {
        sess.pending_seq = from;
    }
    for (db, changes) in batch_slice(batch, base, from) {
        merge_changes(sess, db, changes);
    }
}

/// The net effect of `commits` on the rows `mon` watches, as pending rows.
fn fold(
    mon: &Monitor,
    commits: &[(String, Arc<Vec<RowChange>>)],
) -> BTreeMap<(String, String, String), PendingRow> {
    let mut rows: BTreeMap<(String, String, String), PendingRow> = BTreeMap::new();
    for (db, changes) in commits {
        for ch in changes.iter() {
            if !mon.watches(db, &ch.table) {
                continue;
            }
            let key = (db.clone(), ch.table.clone(), ch.uuid.clone());
            match rows.get_mut(&key) {
                Some(row) => row.new = ch.new.clone(),
                None => {
                    rows.insert(
                        key,
                        PendingRow {
                            old: ch.old.clone(),
                            new: ch.new.clone(),
                        },
                    );
                }
            }
        }
    }
    rows
}

/// Folds one transaction's changes into a lagging session's pending rows:
/// a row keeps the state it had before its first unsent change and takes
/// the state after the last one, so the update computed at flush time is
/// the net effect (insert + modify = insert of the final row, insert +
/// delete = nothing, modify + delete = delete, modifies = one diff).
fn merge_changes(sess: &mut Session, db: &str, changes: &[RowChange]) {
    for ch in changes {
        if !sess
            .monitors
            .values()
            .any(|(_, m)| m.watches(db, &ch.table))
        {
            continue;
        }
        let key = (db.to_owned(), ch.table.clone(), ch.uuid.clone());
        match sess.pending.get_mut(&key) {
            Some(row) => row.new = ch.new.clone(),
            None => {
                sess.pending.insert(
                    key,
                    PendingRow {
                        old: ch.old.clone(),
                        new: ch.new.clone(),
                    },
                );
            }
        }
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
    } else if t.is_optional_scalar() {
        // At most one element: a diff carries the new value, as for
        // scalars (an empty set when the value was removed).
        ColumnKind::Scalar {
            default: json!(["set", []]),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Database, TxnContext, TxnOutcome};

    /// An in-memory database for the tests.
    struct MemStore(Database);

    impl Store for MemStore {
        fn schema(&self) -> &DatabaseSchema {
            self.0.schema()
        }

        fn transact(&mut self, ops: &[Value], locks: &[String], expired: bool) -> TxnResult {
            let ctx = TxnContext {
                locks_held: locks.iter().cloned().collect(),
                wait_expired: expired,
            };
            match self.0.transact(ops, &ctx) {
                TxnOutcome::Blocked { .. } => TxnResult::Blocked,
                TxnOutcome::Failed { reply } => TxnResult::Done {
                    reply,
                    changes: Vec::new(),
                },
                TxnOutcome::Committed { reply, changes, .. } => TxnResult::Done {
                    reply,
                    changes: changes
                        .iter()
                        .map(|(ts, uuid, rc)| RowChange {
                            table: ts.name.clone(),
                            uuid: uuid.to_string(),
                            old: rc.old.as_ref().map(|r| Arc::new(r.to_json_all(ts))),
                            new: rc.new.as_ref().map(|r| Arc::new(r.to_json_all(ts))),
                        })
                        .collect(),
                },
            }
        }

        fn rows(&self, table: &str) -> Vec<(String, RowJson)> {
            let t = self.0.table(table).expect("table");
            t.rows()
                .map(|r| (r.uuid().to_string(), r.to_json_all(t.schema())))
                .collect()
        }
    }

    fn core() -> (Core, SessionId) {
        let schema = DatabaseSchema::from_json(&json!({
            "name": "T", "version": "1.0.0",
            "tables": {"B": {"columns": {
                "name": {"type": "string"},
                "n": {"type": "integer"}
            }, "isRoot": true}}
        }))
        .unwrap();
        let mut c = Core::new();
        c.add_db(Box::new(MemStore(Database::new(Arc::new(schema)))));
        let s = c.open_session();
        (c, s)
    }

    fn call(c: &mut Core, s: SessionId, method: &str, params: Value) -> Outbox {
        let Value::Array(p) = params else {
            panic!("params")
        };
        c.handle(s, Message::request(method, p, json!(7)), Instant::now())
    }

    fn result(out: &Outbox) -> Result<Value, Value> {
        match &out.last().expect("a reply").1.message() {
            Message::Response { result, .. } => Ok(result.clone()),
            Message::Error { error, .. } => Err(error.clone()),
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn insert(c: &mut Core, s: SessionId, name: &str, n: i64) {
        let out = call(
            c,
            s,
            "transact",
            json!(["T", {"op": "insert", "table": "B", "row": {"name": name, "n": n}}]),
        );
        assert!(result(&out).is_ok());
    }

    fn names(update: &Value, kind: &str) -> Vec<String> {
        let mut v: Vec<String> = update["B"]
            .as_object()
            .map(|rows| {
                rows.values()
                    .filter_map(|r| r.get(kind))
                    .map(|r| r["name"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn monitor_cond_change_updates_before_the_reply_and_renames() {
        let (mut c, s) = core();
        insert(&mut c, s, "a", 1);
        insert(&mut c, s, "b", 2);
        let out = call(
            &mut c,
            s,
            "monitor_cond",
            json!(["T", "m1", {"B": [{"columns": ["name"], "where": [["n", "==", 1]]}]}]),
        );
        assert_eq!(names(&result(&out).unwrap(), "initial"), ["a"]);
        let out = call(
            &mut c,
            s,
            "monitor_cond_change",
            json!(["m1", "m2", {"B": [{"where": [["n", "==", 2]]}]}]),
        );
        assert_eq!(out.len(), 2, "{out:?}");
        let Message::Notification { method, params } = &out[0].1.message() else {
            panic!("{out:?}")
        };
        assert_eq!(method, "update2");
        assert_eq!(params[0], json!("m2"));
        assert_eq!(names(&params[1], "insert"), ["b"]);
        assert_eq!(params[1]["B"].as_object().unwrap().len(), 2);
        assert_eq!(result(&out), Ok(json!({})));
        // The old id is gone, the new one gets later updates.
        let out = call(&mut c, s, "monitor_cond_change", json!(["m1", "m1", {}]));
        assert_eq!(
            result(&out).unwrap_err()["details"],
            json!("unknown monitor session")
        );
        let out = call(
            &mut c,
            s,
            "transact",
            json!(["T", {"op": "insert", "table": "B", "row": {"name": "c", "n": 2}}]),
        );
        let Message::Notification { params, .. } = &out[0].1.message() else {
            panic!("{out:?}")
        };
        assert_eq!(params[0], json!("m2"));
        // Empty condition: everything; v3 sends update3.
        let out = call(
            &mut c,
            s,
            "monitor_cond_since",
            json!(["T", "m3", {"B": [{"columns": ["name"], "where": [false]}]}, ZERO_UUID]),
        );
        assert_eq!(result(&out), Ok(json!([false, ZERO_UUID, {}])));
        let out = call(
            &mut c,
            s,
            "monitor_cond_change",
            json!(["m3", "m3", {"B": [{"where": []}]}]),
        );
        let Message::Notification { method, params } = &out[0].1.message() else {
            panic!("{out:?}")
        };
        assert_eq!(method, "update3");
        assert_eq!(names(&params[2], "insert"), ["a", "b", "c"]);
    }

    #[test]
    fn monitor_cond_change_errors() {
        let (mut c, s) = core();
        call(
            &mut c,
            s,
            "monitor_cond",
            json!(["T", "m", {"B": [{"columns": ["name"]}]}]),
        );
        let err =
            |c: &mut Core, p: Value| result(&call(c, s, "monitor_cond_change", p)).unwrap_err();
        assert_eq!(
            err(&mut c, json!(["m"])),
            json!({"error": "syntax error", "details": "invalid parameters", "syntax": "[\"m\"]"})
        );
        assert_eq!(
            err(
                &mut c,
                json!(["m", "m", {"B": [{"columns": ["name"], "where": []}]}])
            )["details"],
            json!("changing columns is unsupported")
        );
        assert_eq!(
            err(&mut c, json!(["m", "m", {"X": [{"where": []}]}])),
            json!({"error": "syntax error", "details": "no table named X"})
        );
        assert_eq!(
            err(&mut c, json!(["m", "m", {"B": {"where": []}}]))["details"],
            json!("table B no monitor-cond-change JSON array")
        );
        assert_eq!(
            err(
                &mut c,
                json!(["m", "m", {"B": [{"where": [["nope", "==", 1]]}]}])
            )["error"],
            json!("unknown column")
        );
    }

    fn txn(c: &mut Core, s: SessionId, op: Value) -> Outbox {
        let out = call(c, s, "transact", json!(["T", op]));
        assert!(result(&out).is_ok(), "{out:?}");
        out
    }

    /// The notifications in `out` for session `s`, decoded.
    fn notes(out: &Outbox, s: SessionId) -> Vec<Message> {
        out.iter()
            .filter(|(to, _)| *to == s)
            .map(|(_, m)| m.message())
            .filter(|m| matches!(m, Message::Notification { .. }))
            .collect()
    }

    /// A second session whose peer is not reading (queued bytes), with a
    /// monitor of `method` on B.
    fn lagging_monitor(c: &mut Core, method: &str) -> (SessionId, Arc<Backlog>) {
        let b = Arc::new(Backlog::default());
        let m = c.open_session_with(Some(b.clone()));
        let mut p = vec![
            json!("T"),
            json!("mon"),
            json!({"B": {"columns": ["name", "n"]}}),
        ];
        if method == "monitor_cond_since" {
            p.push(json!(ZERO_UUID));
        }
        let out = call(c, m, method, Value::Array(p));
        assert!(result(&out).is_ok(), "{out:?}");
        b.queued.store(100, Ordering::SeqCst);
        (m, b)
    }

    #[test]
    fn a_lagging_session_gets_one_merged_update_with_the_final_state() {
        let (mut c, s) = core();
        insert(&mut c, s, "a", 1);
        insert(&mut c, s, "gone", 5);
        let (m, backlog) = lagging_monitor(&mut c, "monitor_cond");
        // Modify a twice, insert b then modify it, insert and delete c,
        // delete gone: nothing is sent to the lagging session meanwhile.
        let mut sent = Vec::new();
        for op in [
            json!({"op": "update", "table": "B", "where": [["name", "==", "a"]], "row": {"n": 2}}),
            json!({"op": "update", "table": "B", "where": [["name", "==", "a"]], "row": {"n": 3}}),
            json!({"op": "insert", "table": "B", "row": {"name": "b", "n": 1}}),
            json!({"op": "update", "table": "B", "where": [["name", "==", "b"]], "row": {"n": 7}}),
            json!({"op": "insert", "table": "B", "row": {"name": "c", "n": 1}}),
            json!({"op": "delete", "table": "B", "where": [["name", "==", "c"]]}),
            json!({"op": "delete", "table": "B", "where": [["name", "==", "gone"]]}),
        ] {
            sent.extend(notes(&txn(&mut c, s, op), m));
        }
        assert!(sent.is_empty(), "{sent:?}");
        assert!(backlog.merged.load(Ordering::SeqCst));
        // The peer caught up: one update2 with the net effect.
        backlog.queued.store(0, Ordering::SeqCst);
        let out = c.flush_session(m);
        let n = notes(&out, m);
        assert_eq!(n.len(), 1, "{out:?}");
        let Message::Notification { method, params } = &n[0] else {
            unreachable!()
        };
        assert_eq!(method, "update2");
        assert_eq!(params[0], json!("mon"));
        let rows = params[1]["B"].as_object().expect("B");
        assert_eq!(rows.len(), 3, "{rows:?}"); // a, b, gone; c never showed
        let by_kind =
            |k: &str| -> Vec<Value> { rows.values().filter_map(|r| r.get(k)).cloned().collect() };
        assert_eq!(by_kind("modify"), [json!({"n": 3})]);
        assert_eq!(by_kind("insert"), [json!({"name": "b", "n": 7})]);
        assert_eq!(by_kind("delete"), [Value::Null]);
        assert!(!backlog.merged.load(Ordering::SeqCst));
        assert!(c.flush_session(m).is_empty());
    }

    #[test]
    fn merged_updates_fold_for_update_and_update3_monitors() {
        let (mut c, s) = core();
        insert(&mut c, s, "a", 1);
        let (m1, b1) = lagging_monitor(&mut c, "monitor");
        let (m3, b3) = lagging_monitor(&mut c, "monitor_cond_since");
        for n in [2, 3] {
            txn(
                &mut c,
                s,
                json!({"op": "update", "table": "B", "where": [["name", "==", "a"]], "row": {"n": n}}),
            );
        }
        b1.queued.store(0, Ordering::SeqCst);
        b3.queued.store(0, Ordering::SeqCst);
        let Message::Notification { method, params } = &notes(&c.flush_session(m1), m1)[0] else {
            unreachable!()
        };
        assert_eq!(method, "update");
        let row = params[1]["B"].as_object().unwrap().values().next().unwrap();
        // v1: old has the changed column as it was before the first change.
        assert_eq!(row["old"], json!({"n": 1}));
        assert_eq!(row["new"]["n"], json!(3));
        let Message::Notification { method, params } = &notes(&c.flush_session(m3), m3)[0] else {
            unreachable!()
        };
        assert_eq!(method, "update3");
        assert_eq!(params[1], json!(ZERO_UUID), "the last transaction's id");
        let row = params[2]["B"].as_object().unwrap().values().next().unwrap();
        assert_eq!(row, &json!({"modify": {"n": 3}}));
    }

    #[test]
    fn a_lagging_session_gets_its_merged_update_before_its_own_reply() {
        let (mut c, _) = core();
        let (m, backlog) = lagging_monitor(&mut c, "monitor_cond");
        // Its own transaction: the merged update comes first, then the reply.
        let out = txn(
            &mut c,
            m,
            json!({"op": "insert", "table": "B", "row": {"name": "x", "n": 1}}),
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(out[0].1.message(), Message::Notification { .. }));
        assert!(matches!(out[1].1.message(), Message::Response { .. }));
        assert!(!backlog.merged.load(Ordering::SeqCst));
        // Any other reply (here an echo) also waits for what was merged.
        let (mut c, s) = core();
        let (m, _) = lagging_monitor(&mut c, "monitor_cond");
        insert(&mut c, s, "y", 1);
        let out = call(&mut c, m, "echo", json!([]));
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(notes(&out[..1].to_vec(), m).len(), 1);
        assert_eq!(result(&out), Ok(json!([])));
    }

    #[test]
    fn a_session_that_caught_up_before_the_flag_gets_its_update_at_once() {
        let (mut c, s) = core();
        let (m, backlog) = lagging_monitor(&mut c, "monitor_cond");
        insert(&mut c, s, "a", 1);
        // The writer drained its queue but has not looked at `merged` yet:
        // the next commit sends everything at once.
        backlog.queued.store(0, Ordering::SeqCst);
        let out = txn(
            &mut c,
            s,
            json!({"op": "insert", "table": "B", "row": {"name": "b", "n": 2}}),
        );
        let n = notes(&out, m);
        assert_eq!(n.len(), 1, "{out:?}");
        let Message::Notification { params, .. } = &n[0] else {
            unreachable!()
        };
        assert_eq!(names(&params[1], "insert"), ["a", "b"]);
    }

    #[test]
    fn batching_merges_commits_and_holds_replies_until_the_flush() {
        let (mut c, s) = core();
        c.set_batching(true);
        let mut mons = Vec::new();
        for id in ["m1", "m2"] {
            let t = c.open_session();
            call(
                &mut c,
                t,
                "monitor_cond",
                json!(["T", id, {"B": [{"columns": ["name", "n"]}]}]),
            );
            mons.push(t);
        }
        let other = c.open_session();
        // Two commits from two sessions: nothing leaves yet.
        let op = |name: &str| json!(["T", {"op": "insert", "table": "B", "row": {"name": name, "n": 1}}]);
        assert!(call(&mut c, s, "transact", op("a")).is_empty());
        assert!(call(&mut c, other, "transact", op("b")).is_empty());
        // A reply that follows them waits too, even on a quiet session.
        assert!(call(&mut c, other, "echo", json!([])).is_empty());
        assert!(c.flush_wanted());
        let out = c.flush_all();
        assert!(!c.flush_wanted());
        // One update per monitor with both rows (one shared body), then the
        // replies in order.
        let kinds: Vec<(SessionId, Option<String>)> = out
            .iter()
            .map(|(to, o)| (*to, o.message().method().map(str::to_owned)))
            .collect();
        assert_eq!(
            kinds,
            [
                (mons[0], Some("update2".into())),
                (mons[1], Some("update2".into())),
                (s, None),
                (other, None),
                (other, None),
            ]
        );
        let Message::Notification { params, .. } = out[0].1.message() else {
            unreachable!()
        };
        assert_eq!(names(&params[1], "insert"), ["a", "b"]);
        let (Out::Update { updates: a, .. }, Out::Update { updates: b, .. }) =
            (&out[0].1, &out[1].1)
        else {
            panic!("{out:?}")
        };
        assert!(Arc::ptr_eq(a, b));
        // Nothing merged: replies go at once.
        assert_eq!(call(&mut c, s, "echo", json!([])).len(), 1);
    }

    #[test]
    fn batching_keeps_a_lagging_sessions_rows_beyond_the_batch() {
        let (mut c, s) = core();
        c.set_batching(true);
        let quick = c.open_session();
        call(
            &mut c,
            quick,
            "monitor_cond",
            json!(["T", "q", {"B": [{"columns": ["name", "n"]}]}]),
        );
        let (slow, backlog) = lagging_monitor(&mut c, "monitor_cond");
        let op = |name: &str| json!(["T", {"op": "insert", "table": "B", "row": {"name": name, "n": 1}}]);
        assert!(call(&mut c, s, "transact", op("a")).is_empty());
        let out = c.flush_all();
        assert_eq!(notes(&out, quick).len(), 1);
        assert!(notes(&out, slow).is_empty(), "{out:?}");
        assert!(call(&mut c, s, "transact", op("b")).is_empty());
        c.flush_all();
        // Caught up: one update with both rows.
        backlog.queued.store(0, Ordering::SeqCst);
        let n = notes(&c.flush_session(slow), slow);
        assert_eq!(n.len(), 1);
        let Message::Notification { params, .. } = &n[0] else {
            unreachable!()
        };
        assert_eq!(names(&params[1], "insert"), ["a", "b"]);
    }

    #[test]
    fn identical_monitors_share_one_serialized_update() {
        let (mut c, s) = core();
        let mut sessions = Vec::new();
        for id in ["m1", "m2"] {
            let t = c.open_session();
            call(
                &mut c,
                t,
                "monitor_cond",
                json!(["T", id, {"B": [{"columns": ["n"]}]}]),
            );
            sessions.push(t);
        }
        let out = txn(
            &mut c,
            s,
            json!({"op": "insert", "table": "B", "row": {"name": "a", "n": 4}}),
        );
        let bodies: Vec<&Arc<Vec<u8>>> = out
            .iter()
            .filter_map(|(_, o)| match o {
                Out::Update { updates, .. } => Some(updates),
                Out::Msg(_) => None,
            })
            .collect();
        assert_eq!(bodies.len(), 2);
        assert!(Arc::ptr_eq(bodies[0], bodies[1]));
        // Each carries its own monitor id, and the bytes equal the
        // message's own serialization.
        for ((to, o), id) in out.iter().take(2).zip(["m1", "m2"]) {
            let msg = o.message();
            assert_eq!(o.to_bytes(), msg.to_bytes());
            let Message::Notification { params, .. } = msg else {
                unreachable!()
            };
            assert_eq!(params[0], json!(id));
            assert!(sessions.contains(to));
        }
    }

    #[test]
    fn small_methods_answer_as_ovsdb_server() {
        let (mut c, s) = core();
        let id = result(&call(&mut c, s, "get_server_id", json!([]))).unwrap();
        assert_eq!(id.as_str().map(str::len), Some(36));
        assert_eq!(
            result(&call(&mut c, s, "set_db_change_aware", json!([true]))),
            Ok(json!({}))
        );
        assert_eq!(
            result(&call(&mut c, s, "set_db_change_aware", json!([]))).unwrap_err()["details"],
            json!("set_db_change_aware: true or false parameter expected")
        );
        assert_eq!(
            result(&call(&mut c, s, "transact", json!([]))).unwrap_err()["details"],
            json!("transact request params must begin with <db-name>")
        );
        assert_eq!(
            result(&call(&mut c, s, "lock", json!([]))).unwrap_err()["details"],
            json!("lock request params must be <id>")
        );
    }

    #[test]
    fn monitor_request_errors() {
        let (mut c, s) = core();
        let mon = |c: &mut Core, m: &str, p: Value| result(&call(c, s, m, p));
        assert!(mon(&mut c, "monitor", json!(["T", "a", {"B": {}}])).is_ok());
        assert_eq!(
            mon(&mut c, "monitor", json!(["T", "a", {"B": {}}])).unwrap_err(),
            json!({"error": "syntax error", "details": "duplicate monitor ID", "syntax": "\"a\""})
        );
        assert_eq!(
            mon(
                &mut c,
                "monitor",
                json!(["T", "b", {"B": [{"columns": ["name"]}, {"columns": ["name"]}]}])
            )
            .unwrap_err()["details"],
            json!("column name mentioned more than once")
        );
        assert_eq!(
            mon(
                &mut c,
                "monitor",
                json!(["T", "c", {"B": {"columns": "name"}}])
            )
            .unwrap_err()["details"],
            json!("Parsing table B failed: Type mismatch for member 'columns'.")
        );
        assert_eq!(
            mon(
                &mut c,
                "monitor",
                json!(["T", "d", {"B": {"select": {"initial": 1}}}])
            )
            .unwrap_err()["details"],
            json!("Parsing table B select failed: Type mismatch for member 'initial'.")
        );
        assert_eq!(
            mon(&mut c, "monitor", json!(["T", "e", {"X": {}}])).unwrap_err(),
            json!({"error": "syntax error", "details": "no table named X"})
        );
        assert_eq!(
            mon(
                &mut c,
                "monitor_cond_since",
                json!(["T", "f", {"B": {}}, "zz"])
            )
            .unwrap_err()["details"],
            json!("last-txn-id must be UUID format.")
        );
        assert_eq!(
            mon(&mut c, "monitor_cond_since", json!(["T", "g", {"B": {}}])).unwrap_err()["details"],
            json!("invalid parameters")
        );
        // Without "columns", every column but _uuid, _version included.
        insert(&mut c, s, "a", 1);
        let r = mon(&mut c, "monitor", json!(["T", "h", {"B": {}}])).unwrap();
        let row = r["B"].as_object().unwrap().values().next().unwrap()["new"].clone();
        let mut keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["_version", "n", "name"]);
    }
}
