//! An OVSDB client: JSON-RPC sessions to `ovsdb-server` (or our own server),
//! transactions, monitors kept as a local replica, and locks.
//!
//! # Shape
//!
//! The core is async, on tokio. [`Client::connect`] opens `unix:PATH` or
//! `tcp:IP:PORT` and spawns two tasks that own the socket:
//!
//! * the **reader** decodes messages in arrival order and dispatches them:
//!   replies go to the request that is waiting for them (matched by `id`),
//!   `update`/`update2`/`update3` notifications are applied to the replica of
//!   the monitor they name, `locked`/`stolen` update the lock they name, and
//!   the server's `echo` requests are answered. Because one task does all of
//!   this in order, a reply is only delivered after every notification the
//!   server sent before it has been applied: after `transact` returns, the
//!   replica already shows the transaction's own changes (the server sends
//!   the update before the reply).
//! * the **writer** sends queued messages, so a large request never stops
//!   the reader from draining the socket.
//!
//! With an inactivity probe configured ([`ClientOptions::probe_interval`]),
//! a connection silent for that long gets an `echo` request; if it stays
//! silent for another interval the connection is failed.
//!
//! When the connection fails, every outstanding and future call returns
//! [`ClientError::Disconnected`] (or the error that ended it), and every
//! waiter ([`Monitor::wait_until`], [`Lock::wait_until`]) wakes up with it.
//! There is no automatic reconnection: callers that want one make a new
//! [`Client`]. Dropping the last clone of a [`Client`] closes the
//! connection (monitors and locks obtained from it then report it closed).
//!
//! [`blocking::Client`] wraps the async client for command-line tools: it
//! owns a one-worker tokio runtime, so the connection keeps answering the
//! server's probes while the caller is busy elsewhere.
//!
//! # Monitors and the replica
//!
//! [`Client::monitor`] asks for the tables and columns of a [`MonitorSpec`]
//! with `monitor_cond_since` (update3), falling back to `monitor_cond`
//! (update2) and then to RFC 7047 `monitor` (update) when the server answers
//! `"unknown method"`, as `ovs-vsctl` does; the client remembers the level
//! that worked. The [`Replica`] holds, per monitored table, every row by
//! uuid with a typed [`Datum`] for each monitored column (parsed with the
//! server's schema; columns the server omits hold their default). update2
//! and update3 `modify` diffs are applied as OVSDB defines them: the new
//! value for a column of at most one element, the symmetric difference for
//! a set, and for a map each pair inserts a new key, removes a key whose
//! value is equal, or replaces the value of a key whose value differs.
//!
//! # Transactions
//!
//! [`Txn`] builds the operations (`insert` with a `uuid-name`, `update`,
//! `mutate`, `delete`, `select`, `wait`, `comment`, `assert`);
//! [`Client::commit`] sends them and turns the first operation error into
//! [`ClientError::Transaction`]. [`Txn::wait_for_cur_cfg`] adds what
//! `ovs-vsctl` does without `--no-wait`: `next_cfg += 1`, `select next_cfg`,
//! and after the commit a wait until `Open_vSwitch.cur_cfg` reaches the
//! selected value (the client monitors `cur_cfg` on its own for this).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::datum::{Atom, Datum, OvsdbError, Uuid};
use crate::jsonrpc::{Decoder, Message, read_message, write_message};
use crate::schema::{DatabaseSchema, Max, TableSchema, Type};

/// Every way a client operation can fail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The remote string is not `unix:PATH` or `tcp:IP:PORT`.
    #[error("invalid remote \"{remote}\": {reason}")]
    InvalidRemote {
        /// The remote as given.
        remote: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting failed (refused, no such socket, ...).
    #[error("cannot connect to {remote}: {source}")]
    Connect {
        /// The remote as given.
        remote: String,
        /// The socket error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The connection is gone: closed by the server, a read or write error,
    /// an unanswered inactivity probe, or the client was dropped.
    #[error("connection to the database server failed: {0}")]
    Disconnected(String),
    /// The server sent something this client cannot make sense of.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered a request with a JSON-RPC error.
    #[error("{method} failed: {}", rpc_error_text(.error, .details))]
    Rpc {
        /// The request's method.
        method: String,
        /// The error kind: the string itself, or the `"error"` member of an
        /// RFC 7047 error object (e.g. `"unknown database"`).
        error: String,
        /// The `"details"` member, if any.
        details: Option<String>,
        /// The error exactly as the server sent it.
        raw: Box<Value>,
    },
    /// An operation of a transaction failed (or the commit itself, when
    /// `index` equals the number of operations).
    #[error("transaction error: {error}")]
    Transaction {
        /// Position in the operation array of the failed operation.
        index: usize,
        /// The RFC 7047 error object.
        error: Box<OvsdbError>,
    },
    /// The caller asked for something invalid (unknown table or column).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A deadline passed.
    #[error("timeout: {0}")]
    Timeout(String),
}

fn rpc_error_text(error: &str, details: &Option<String>) -> String {
    match details {
        Some(d) => format!("{error} ({d})"),
        None => error.to_owned(),
    }
}

impl ClientError {
    fn rpc(method: &str, raw: Value) -> ClientError {
        let (error, details) = match &raw {
            Value::String(s) => (s.clone(), None),
            Value::Object(o) => (
                o.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_owned(),
                o.get("details").and_then(Value::as_str).map(str::to_owned),
            ),
            other => (other.to_string(), None),
        };
        ClientError::Rpc {
            method: method.to_owned(),
            error,
            details,
            raw: Box::new(raw),
        }
    }

    /// True for the JSON-RPC error `"unknown method"`.
    pub fn is_unknown_method(&self) -> bool {
        matches!(self, ClientError::Rpc { error, .. } if error == "unknown method")
    }

    /// True for a [`ClientError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, ClientError::Timeout(_))
    }
}

/// Shorthand for results of this module.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `tcp:HOST:PORT` (an IPv6 address in brackets: `tcp:[::1]:6640`).
    Tcp(String),
}

impl std::str::FromStr for Remote {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Remote> {
        let bad = |reason: &str| ClientError::InvalidRemote {
            remote: s.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("empty socket path"));
            }
            Ok(Remote::Unix(PathBuf::from(path)))
        } else if let Some(addr) = s.strip_prefix("tcp:") {
            let Some((host, port)) = addr.rsplit_once(':') else {
                return Err(bad("expected tcp:IP:PORT"));
            };
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(bad("expected tcp:IP:PORT"));
            }
            Ok(Remote::Tcp(addr.to_owned()))
        } else if s.starts_with("punix:") || s.starts_with("ptcp:") || s.starts_with("pssl:") {
            Err(bad("passive remotes are for servers; use unix: or tcp:"))
        } else if s.starts_with("ssl:") {
            Err(bad("ssl is not supported"))
        } else {
            Err(bad("expected unix:PATH or tcp:IP:PORT"))
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// Send an `echo` after this much silence from the server, and fail the
    /// connection after as much again without any message. `None` disables
    /// probing.
    pub probe_interval: Option<Duration>,
    /// Largest message accepted from the server.
    pub max_message_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            probe_interval: Some(Duration::from_secs(5)),
            max_message_size: crate::jsonrpc::DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// Runs on the reader task with the reply to one request.
type ReplyFn = Box<dyn FnOnce(Result<Value>) + Send>;

#[derive(Default)]
struct Pending {
    calls: HashMap<u64, (String, ReplyFn)>,
    /// Set once, when the connection fails.
    closed: Option<ClientError>,
}

/// State shared by the handles and the I/O tasks.
struct Shared {
    out: mpsc::UnboundedSender<Message>,
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    monitors: Mutex<HashMap<String, Arc<ReplicaCell>>>,
    locks: Mutex<HashMap<String, watch::Sender<LockState>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data
    // (every critical section is a single update), so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn closed(&self) -> Option<ClientError> {
        lock(&self.pending).closed.clone()
    }

    fn send(&self, msg: Message) {
        // If the writer is gone, the connection has failed and that is
        // reported to every caller through `pending.closed`.
        let _ = self.out.send(msg);
    }

    /// Marks the connection failed (first error wins) and wakes everyone.
    fn fail(&self, err: ClientError) {
        let calls = {
            let mut p = lock(&self.pending);
            if p.closed.is_some() {
                return;
            }
            p.closed = Some(err.clone());
            std::mem::take(&mut p.calls)
        };
        for (_, (_, reply)) in calls {
            reply(Err(err.clone()));
        }
        for cell in lock(&self.monitors).values() {
            cell.notify();
        }
        for tx in lock(&self.locks).values() {
            tx.send_modify(|_| {});
        }
    }

    fn dispatch(&self, msg: Message) -> Result<()> {
        match msg {
            Message::Request { method, params, id } => {
                let reply = if method == "echo" {
                    Message::response(params, id)
                } else {
                    Message::error(json!("unknown method"), id)
                };
                self.send(reply);
            }
            Message::Notification { method, params } => self.notification(&method, &params)?,
            Message::Response { result, id } => self.reply(&id, Ok(result)),
            Message::Error { error, id } => self.reply(&id, Err(error)),
        }
        Ok(())
    }

    fn reply(&self, id: &Value, result: std::result::Result<Value, Value>) {
        let Some(n) = id.as_u64() else {
            // Replies to our inactivity probes (id "echo") and anything else
            // we did not send.
            return;
        };
        let Some((method, reply)) = lock(&self.pending).calls.remove(&n) else {
            return;
        };
        reply(result.map_err(|e| ClientError::rpc(&method, e)));
    }

    fn notification(&self, method: &str, params: &Value) -> Result<()> {
        let args = params.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let version = match method {
            "update" => MonitorVersion::Monitor,
            "update2" => MonitorVersion::MonitorCond,
            "update3" => MonitorVersion::MonitorCondSince,
            "locked" | "stolen" => {
                let state = if method == "locked" {
                    LockState::Held
                } else {
                    LockState::Stolen
                };
                if let Some(name) = args.first().and_then(Value::as_str)
                    && let Some(tx) = lock(&self.locks).get(name)
                {
                    tx.send_replace(state);
                }
                return Ok(());
            }
            // Unknown notifications are ignored, as ovsdb-idl does.
            _ => return Ok(()),
        };
        let Some(monid) = args.first() else {
            return Err(ClientError::Protocol(format!(
                "{method} without a monitor id"
            )));
        };
        let Some(cell) = lock(&self.monitors).get(&monid.to_string()).cloned() else {
            // A monitor we cancelled, or never had.
            return Ok(());
        };
        let (txn_id, updates) = match (version, args) {
            (MonitorVersion::MonitorCondSince, [_, txn, updates]) => (Some(txn), updates),
            (MonitorVersion::MonitorCondSince, _) => {
                return Err(ClientError::Protocol("update3 needs 3 parameters".into()));
            }
            (_, [_, updates]) => (None, updates),
            _ => {
                return Err(ClientError::Protocol(format!(
                    "{method} needs 2 parameters"
                )));
            }
        };
        {
            let mut replica = lock(&cell.replica);
            replica.apply_updates(version, updates)?;
            if let Some(t) = txn_id.and_then(Value::as_str).and_then(Uuid::parse_strict) {
                replica.last_txn_id = Some(t);
            }
        }
        cell.notify();
        Ok(())
    }
}

/// Stops the I/O tasks when the last [`Client`] clone goes away.
struct Closer {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Closer {
    fn drop(&mut self) {
        self.shared
            .fail(ClientError::Disconnected("client closed".into()));
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The async client. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    _closer: Arc<Closer>,
    remote: String,
    schemas: Arc<Mutex<HashMap<String, Arc<DatabaseSchema>>>>,
    /// Highest monitor method worth trying (see [`MonitorVersion`]).
    monitor_level: Arc<AtomicU8>,
    /// Monitors of `Open_vSwitch.cur_cfg` made for [`Txn::wait_for_cur_cfg`].
    cfg_monitors: Arc<tokio::sync::Mutex<HashMap<String, Monitor>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("remote", &self.remote)
            .field("closed", &self.shared.closed())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `remote` (`unix:PATH` or `tcp:IP:PORT`). Must be called
    /// within a tokio runtime.
    pub async fn connect(remote: &str, opts: &ClientOptions) -> Result<Client> {
        let parsed: Remote = remote.parse()?;
        let connect_err = |e: std::io::Error| ClientError::Connect {
            remote: remote.to_owned(),
            source: Arc::new(e),
        };
        let timeout = |_| ClientError::Timeout(format!("connecting to {remote}"));
        match parsed {
            Remote::Unix(path) => {
                let s = tokio::time::timeout(
                    opts.connect_timeout,
                    tokio::net::UnixStream::connect(path),
                )
                .await
                .map_err(timeout)?
                .map_err(connect_err)?;
                Ok(Client::from_stream(s, remote, opts))
            }
            Remote::Tcp(addr) => {
                let s = tokio::time::timeout(
                    opts.connect_timeout,
                    tokio::net::TcpStream::connect(addr),
                )
                .await
                .map_err(timeout)?
                .map_err(connect_err)?;
                let _ = s.set_nodelay(true);
                Ok(Client::from_stream(s, remote, opts))
            }
        }
    }

    /// Runs the protocol over an already connected stream (`name` is used
    /// in messages only). Must be called within a tokio runtime.
    pub fn from_stream<S>(stream: S, name: &str, opts: &ClientOptions) -> Client
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(stream);
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            out: tx,
            pending: Mutex::new(Pending::default()),
            next_id: AtomicU64::new(1),
            monitors: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
        });
        let decoder =
            Decoder::with_limits(opts.max_message_size, crate::jsonrpc::DEFAULT_MAX_DEPTH);
        let reader = tokio::spawn(reader_task(
            rd,
            decoder,
            shared.clone(),
            opts.probe_interval,
        ));
        let writer = tokio::spawn(writer_task(wr, rx, shared.clone()));
        Client {
            _closer: Arc::new(Closer {
                shared: shared.clone(),
                tasks: vec![reader, writer],
            }),
            shared,
            remote: name.to_owned(),
            schemas: Arc::default(),
            monitor_level: Arc::new(AtomicU8::new(MonitorVersion::MonitorCondSince as u8)),
            cfg_monitors: Arc::default(),
        }
    }

    /// The remote this client was connected to.
    pub fn remote(&self) -> &str {
        &self.remote
    }

    /// Why the connection is closed, if it is.
    pub fn closed(&self) -> Option<ClientError> {
        self.shared.closed()
    }

    /// Sends a request and waits for its reply. `hook` runs on the reader
    /// task with a successful result before any later message is handled.
    async fn call_with(
        &self,
        method: &str,
        params: Vec<Value>,
        hook: Option<Box<dyn FnOnce(Value) -> Result<Value> + Send>>,
    ) -> Result<Value> {
        let (tx, rx) = oneshot::channel();
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let reply: ReplyFn = Box::new(move |r| {
            let r = match (r, hook) {
                (Ok(v), Some(h)) => h(v),
                (r, _) => r,
            };
            let _ = tx.send(r);
        });
        {
            let mut p = lock(&self.shared.pending);
            if let Some(e) = &p.closed {
                return Err(e.clone());
            }
            p.calls.insert(id, (method.to_owned(), reply));
        }
        self.shared
            .send(Message::request(method, params, json!(id)));
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(self
                .shared
                .closed()
                .unwrap_or_else(|| ClientError::Disconnected("client closed".into()))),
        }
    }

    /// Sends any request and returns its result.
    pub async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value> {
        self.call_with(method, params, None).await
    }

    /// `echo`: a round trip to the server.
    pub async fn echo(&self) -> Result<()> {
        self.call("echo", vec![json!("ping")]).await.map(|_| ())
    }

    /// `list_dbs`.
    pub async fn list_dbs(&self) -> Result<Vec<String>> {
        let v = self.call("list_dbs", vec![]).await?;
        v.as_array()
            .and_then(|a| a.iter().map(|d| d.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| {
                ClientError::Protocol(format!("list_dbs reply is not a list of names: {v}"))
            })
    }

    /// `get_schema`, always asking the server.
    pub async fn get_schema(&self, db: &str) -> Result<DatabaseSchema> {
        let v = self.call("get_schema", vec![json!(db)]).await?;
        DatabaseSchema::from_json(&v)
            .map_err(|e| ClientError::Protocol(format!("schema of {db}: {e}")))
    }

    /// The schema of `db`, fetched once per client and then cached.
    pub async fn schema(&self, db: &str) -> Result<Arc<DatabaseSchema>> {
        if let Some(s) = lock(&self.schemas).get(db) {
            return Ok(s.clone());
        }
        let s = Arc::new(self.get_schema(db).await?);
        lock(&self.schemas).insert(db.to_owned(), s.clone());
        Ok(s)
    }

    /// `transact`: sends `ops` as they are and returns the result array.
    /// Operation errors are left in the array; see [`check_results`].
    pub async fn transact(&self, db: &str, ops: Vec<Value>) -> Result<Vec<Value>> {
        let mut params = vec![json!(db)];
        params.extend(ops);
        match self.call("transact", params).await? {
            Value::Array(a) => Ok(a),
            v => Err(ClientError::Protocol(format!(
                "transact reply is not an array: {v}"
            ))),
        }
    }

    /// Commits a transaction built with [`Txn`]: sends it, fails with
    /// [`ClientError::Transaction`] on the first operation error, and, if
    /// [`Txn::wait_for_cur_cfg`] was asked for, waits for the daemon.
    pub async fn commit(&self, txn: Txn) -> Result<TxnReply> {
        let Txn {
            db,
            mut ops,
            names,
            cfg_wait,
            ..
        } = txn;
        let cfg = match cfg_wait {
            Some(timeout) => {
                let monitor = self.cfg_monitor(&db).await?;
                ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [],
                                "mutations": [["next_cfg", "+=", 1]]}));
                ops.push(json!({"op": "select", "table": "Open_vSwitch", "where": [],
                                "columns": ["next_cfg"]}));
                Some((monitor, timeout, ops.len() - 1))
            }
            None => None,
        };
        let n_ops = ops.len();
        let results = self.transact(&db, ops).await?;
        check_results(&results, n_ops)?;
        let mut inserted = BTreeMap::new();
        for (index, name) in names {
            if let Some(u) = results
                .get(index)
                .and_then(|r| r.get("uuid"))
                .and_then(uuid_from_json)
            {
                inserted.insert(name, u);
            }
        }
        let mut next_cfg = None;
        if let Some((monitor, timeout, select)) = cfg {
            next_cfg = results
                .get(select)
                .and_then(|r| r.get("rows"))
                .and_then(|r| r.get(0))
                .and_then(|r| r.get("next_cfg"))
                .and_then(Value::as_i64);
            // No Open_vSwitch row: nothing will ever reconfigure, and
            // ovs-vsctl does not wait either.
            if let Some(want) = next_cfg {
                monitor
                    .wait_until(Some(timeout), |r| {
                        r.rows("Open_vSwitch")
                            .any(|row| row.integer("cur_cfg").is_some_and(|c| c >= want))
                    })
                    .await
                    .map_err(|e| match e {
                        ClientError::Timeout(_) => ClientError::Timeout(format!(
                            "cur_cfg did not reach next_cfg {want} within {timeout:?} \
                             (the transaction was committed)"
                        )),
                        e => e,
                    })?;
            }
        }
        let results = results.into_iter().take(n_ops).collect();
        Ok(TxnReply {
            results,
            inserted,
            next_cfg,
        })
    }

    /// A monitor of `Open_vSwitch.cur_cfg` in `db`, made once.
    async fn cfg_monitor(&self, db: &str) -> Result<Monitor> {
        let mut m = self.cfg_monitors.lock().await;
        if let Some(mon) = m.get(db) {
            return Ok(mon.clone());
        }
        let mon = self
            .monitor(db, MonitorSpec::new().table("Open_vSwitch", &["cur_cfg"]))
            .await?;
        m.insert(db.to_owned(), mon.clone());
        Ok(mon)
    }

    /// Starts monitoring `spec` in `db`; the returned [`Monitor`] holds the
    /// replica, filled with the initial contents before this returns.
    pub async fn monitor(&self, db: &str, spec: MonitorSpec) -> Result<Monitor> {
        let schema = self.schema(db).await?;
        let replica = Replica::new(schema.clone(), &spec)?;
        let (tx, _) = watch::channel(0u64);
        let cell = Arc::new(ReplicaCell {
            replica: Mutex::new(replica),
            changes: tx,
        });
        let mut level = self.monitor_level.load(Ordering::Relaxed);
        loop {
            let version = MonitorVersion::from_level(level);
            let n = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            let monid = json!(format!("m{n}"));
            let key = monid.to_string();
            let requests = spec.requests(&schema, version);
            let mut params = vec![json!(db), monid.clone(), requests];
            if version == MonitorVersion::MonitorCondSince {
                params.push(json!(Uuid::nil().to_string()));
            }
            lock(&cell.replica).version = version;
            lock(&self.shared.monitors).insert(key.clone(), cell.clone());
            let hook_cell = cell.clone();
            let hook = Box::new(move |v: Value| {
                hook_cell.apply_initial(version, &v)?;
                Ok(Value::Null)
            });
            match self.call_with(version.method(), params, Some(hook)).await {
                Ok(_) => {
                    return Ok(Monitor {
                        cell,
                        shared: self.shared.clone(),
                        id: monid,
                        db: db.to_owned(),
                    });
                }
                Err(e) => {
                    lock(&self.shared.monitors).remove(&key);
                    if e.is_unknown_method() && level > MonitorVersion::Monitor as u8 {
                        level -= 1;
                        self.monitor_level.fetch_min(level, Ordering::Relaxed);
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// `monitor_cancel`: stops updates to `monitor`'s replica (which keeps
    /// its last contents).
    pub async fn monitor_cancel(&self, monitor: &Monitor) -> Result<()> {
        let key = monitor.id.to_string();
        self.call("monitor_cancel", vec![monitor.id.clone()])
            .await?;
        lock(&self.shared.monitors).remove(&key);
        Ok(())
    }

    fn lock_entry(&self, name: &str) -> watch::Receiver<LockState> {
        let mut locks = lock(&self.shared.locks);
        let tx = locks
            .entry(name.to_owned())
            .or_insert_with(|| watch::channel(LockState::Unlocked).0);
        tx.send_replace(LockState::Waiting);
        tx.subscribe()
    }

    async fn lock_request(&self, method: &str, name: &str) -> Result<Lock> {
        let rx = self.lock_entry(name);
        let shared = self.shared.clone();
        let lock_name = name.to_owned();
        // The reply is handled on the reader task, so a `locked`
        // notification cannot be overtaken by it.
        let hook = Box::new(move |v: Value| {
            if v.get("locked").and_then(Value::as_bool) == Some(true)
                && let Some(tx) = lock(&shared.locks).get(&lock_name)
            {
                tx.send_replace(LockState::Held);
            }
            Ok(v)
        });
        match self.call_with(method, vec![json!(name)], Some(hook)).await {
            Ok(_) => Ok(Lock {
                name: name.to_owned(),
                rx,
                shared: self.shared.clone(),
            }),
            Err(e) => {
                if let Some(tx) = lock(&self.shared.locks).get(name) {
                    tx.send_replace(LockState::Unlocked);
                }
                Err(e)
            }
        }
    }

    /// `lock`: asks for the lock `name`. The returned [`Lock`] is
    /// [`LockState::Held`] at once if it was free, else
    /// [`LockState::Waiting`] until the server sends `locked`.
    pub async fn lock(&self, name: &str) -> Result<Lock> {
        self.lock_request("lock", name).await
    }

    /// `steal`: takes the lock `name` from its owner (who is told `stolen`).
    pub async fn steal(&self, name: &str) -> Result<Lock> {
        self.lock_request("steal", name).await
    }

    /// `unlock`: releases the lock `name` or stops waiting for it.
    pub async fn unlock(&self, name: &str) -> Result<()> {
        self.call("unlock", vec![json!(name)]).await?;
        if let Some(tx) = lock(&self.shared.locks).get(name) {
            tx.send_replace(LockState::Unlocked);
        }
        Ok(())
    }
}

async fn reader_task<R: AsyncRead + Unpin>(
    mut rd: R,
    mut decoder: Decoder,
    shared: Arc<Shared>,
    probe: Option<Duration>,
) {
    let mut probed = false;
    let err = loop {
        let msg = match probe {
            Some(p) => match tokio::time::timeout(p, read_message(&mut rd, &mut decoder)).await {
                Ok(r) => r,
                Err(_) if probed => {
                    break ClientError::Disconnected(format!(
                        "no reply to inactivity probe after {:?}",
                        p * 2
                    ));
                }
                Err(_) => {
                    probed = true;
                    shared.send(Message::request("echo", vec![], json!("echo")));
                    continue;
                }
            },
            None => read_message(&mut rd, &mut decoder).await,
        };
        probed = false;
        match msg {
            Ok(Some(m)) => {
                if let Err(e) = shared.dispatch(m) {
                    break e;
                }
            }
            Ok(None) => break ClientError::Disconnected("connection closed by the server".into()),
            Err(e) => break ClientError::Disconnected(e.to_string()),
        }
    };
    shared.fail(err);
}

async fn writer_task<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::UnboundedReceiver<Message>,
    shared: Arc<Shared>,
) {
    while let Some(msg) = rx.recv().await {
        if let Err(e) = write_message(&mut wr, &msg).await {
            shared.fail(ClientError::Disconnected(format!("write error: {e}")));
            return;
        }
    }
}

/// Finds the first error in a `transact` result array for `n_ops`
/// operations: an error object in place of an operation's result, or the
/// extra trailing error of a failed commit.
pub fn check_results(results: &[Value], n_ops: usize) -> Result<()> {
    for (index, r) in results.iter().enumerate() {
        if let Some(error) = ovsdb_error_from_json(r) {
            return Err(ClientError::Transaction {
                index,
                error: Box::new(error),
            });
        }
    }
    if results.len() < n_ops {
        return Err(ClientError::Protocol(format!(
            "transact returned {} results for {n_ops} operations",
            results.len()
        )));
    }
    Ok(())
}

/// Parses an RFC 7047 error object (`{"error": ..., "details": ...}`).
pub fn ovsdb_error_from_json(v: &Value) -> Option<OvsdbError> {
    let o = v.as_object()?;
    let error = o.get("error")?.as_str()?.to_owned();
    Some(OvsdbError {
        error,
        details: o.get("details").and_then(Value::as_str).map(str::to_owned),
        syntax: o.get("syntax").cloned(),
    })
}

fn uuid_from_json(v: &Value) -> Option<Uuid> {
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(tag), Value::String(s)]) if tag == "uuid" => Uuid::parse_strict(s),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Transactions.

/// A reference to a row inserted in the same transaction
/// (`["named-uuid", name]` in JSON). Serializes to that JSON, so it can be
/// used inside `json!`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedUuid(pub String);

impl NamedUuid {
    /// `["named-uuid", name]`.
    pub fn to_json(&self) -> Value {
        json!(["named-uuid", self.0])
    }
}

impl Serialize for NamedUuid {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ("named-uuid", &self.0).serialize(s)
    }
}

impl From<NamedUuid> for Value {
    fn from(n: NamedUuid) -> Value {
        n.to_json()
    }
}

/// `["set", [...]]` (a one-element set is also valid as the bare atom).
pub fn set_json(elems: impl IntoIterator<Item = Value>) -> Value {
    json!(["set", elems.into_iter().collect::<Vec<_>>()])
}

/// `["map", [[k, v], ...]]`.
pub fn map_json(pairs: impl IntoIterator<Item = (Value, Value)>) -> Value {
    json!([
        "map",
        pairs
            .into_iter()
            .map(|(k, v)| json!([k, v]))
            .collect::<Vec<_>>()
    ])
}

/// One clause of a `where`: `[column, function, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(pub Value);

impl Condition {
    /// `[column, function, value]`; `function` is one of `<`, `<=`, `==`,
    /// `!=`, `>=`, `>`, `includes`, `excludes`.
    pub fn new(column: &str, function: &str, value: impl Into<Value>) -> Condition {
        Condition(json!([column, function, value.into()]))
    }

    /// `[column, "==", value]`.
    pub fn eq(column: &str, value: impl Into<Value>) -> Condition {
        Condition::new(column, "==", value)
    }

    /// `["_uuid", "==", ["uuid", u]]`.
    pub fn uuid(u: Uuid) -> Condition {
        Condition::new("_uuid", "==", u.to_json())
    }
}

/// One mutation: `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation(pub Value);

impl Mutation {
    /// `[column, mutator, value]`; `mutator` is one of `+=`, `-=`, `*=`,
    /// `/=`, `%=`, `insert`, `delete`.
    pub fn new(column: &str, mutator: &str, value: impl Into<Value>) -> Mutation {
        Mutation(json!([column, mutator, value.into()]))
    }

    /// `[column, "insert", value]` (a set or map).
    pub fn insert(column: &str, value: impl Into<Value>) -> Mutation {
        Mutation::new(column, "insert", value)
    }

    /// `[column, "delete", value]` (a set, a map, or for a map a set of keys).
    pub fn delete(column: &str, value: impl Into<Value>) -> Mutation {
        Mutation::new(column, "delete", value)
    }

    /// `[column, "+=", n]`.
    pub fn add(column: &str, n: i64) -> Mutation {
        Mutation::new(column, "+=", n)
    }
}

fn conds_json(conds: &[Condition]) -> Value {
    Value::Array(conds.iter().map(|c| c.0.clone()).collect())
}

/// The `until` of a `wait` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    /// `"=="`: the selected columns equal the given rows.
    Equal,
    /// `"!="`: they differ.
    NotEqual,
}

/// A transaction under construction; see [`Client::commit`].
#[derive(Debug, Clone)]
pub struct Txn {
    db: String,
    ops: Vec<Value>,
    /// (operation index, uuid-name) of inserts.
    names: Vec<(usize, String)>,
    next_name: u32,
    cfg_wait: Option<Duration>,
}

impl Txn {
    /// An empty transaction on `db`.
    pub fn new(db: &str) -> Txn {
        Txn {
            db: db.to_owned(),
            ops: Vec::new(),
            names: Vec::new(),
            next_name: 0,
            cfg_wait: None,
        }
    }

    /// The database.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// The operations so far, as JSON.
    pub fn ops(&self) -> &[Value] {
        &self.ops
    }

    /// True if no operation was added.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn push(&mut self, op: Value) -> usize {
        self.ops.push(op);
        self.ops.len() - 1
    }

    /// Appends any operation; returns its index.
    pub fn raw(&mut self, op: Value) -> usize {
        self.push(op)
    }

    /// `insert` with a generated `uuid-name` (`row<N>`); `row` is a JSON
    /// object from column to value. Returns the name, to refer to the row
    /// from other operations of this transaction.
    pub fn insert(&mut self, table: &str, row: Value) -> NamedUuid {
        self.next_name += 1;
        let name = format!("row{}", self.next_name);
        self.insert_named(table, &name, row)
    }

    /// `insert` with the given `uuid-name`.
    pub fn insert_named(&mut self, table: &str, name: &str, row: Value) -> NamedUuid {
        let i = self.push(json!({"op": "insert", "table": table, "row": row, "uuid-name": name}));
        self.names.push((i, name.to_owned()));
        NamedUuid(name.to_owned())
    }

    /// `update`: sets the columns of `row` in every row matching `conds`.
    pub fn update(&mut self, table: &str, conds: &[Condition], row: Value) -> usize {
        self.push(json!({"op": "update", "table": table, "where": conds_json(conds), "row": row}))
    }

    /// `mutate`.
    pub fn mutate(&mut self, table: &str, conds: &[Condition], mutations: &[Mutation]) -> usize {
        let m: Vec<Value> = mutations.iter().map(|m| m.0.clone()).collect();
        self.push(
            json!({"op": "mutate", "table": table, "where": conds_json(conds), "mutations": m}),
        )
    }

    /// `delete`.
    pub fn delete(&mut self, table: &str, conds: &[Condition]) -> usize {
        self.push(json!({"op": "delete", "table": table, "where": conds_json(conds)}))
    }

    /// `select`, of `columns` or (with `None`) of all columns.
    pub fn select(&mut self, table: &str, conds: &[Condition], columns: Option<&[&str]>) -> usize {
        let mut op = json!({"op": "select", "table": table, "where": conds_json(conds)});
        if let Some(c) = columns {
            op["columns"] = json!(c);
        }
        self.push(op)
    }

    /// `wait` until the `columns` of the rows matching `conds` are (or are
    /// not) exactly `rows`; `timeout_ms` 0 makes it fail at once, `None`
    /// waits forever.
    pub fn wait(
        &mut self,
        table: &str,
        conds: &[Condition],
        columns: &[&str],
        until: WaitUntil,
        rows: Vec<Value>,
        timeout_ms: Option<u64>,
    ) -> usize {
        let until = match until {
            WaitUntil::Equal => "==",
            WaitUntil::NotEqual => "!=",
        };
        let mut op = json!({"op": "wait", "table": table, "where": conds_json(conds),
                            "columns": columns, "until": until, "rows": rows});
        if let Some(t) = timeout_ms {
            op["timeout"] = json!(t);
        }
        self.push(op)
    }

    /// `comment` (recorded in the server's log).
    pub fn comment(&mut self, text: &str) -> usize {
        self.push(json!({"op": "comment", "comment": text}))
    }

    /// `assert`: the transaction fails unless this session holds `lock`.
    pub fn assert_lock(&mut self, lock: &str) -> usize {
        self.push(json!({"op": "assert", "lock": lock}))
    }

    /// After committing, bump `Open_vSwitch.next_cfg` and wait (up to
    /// `timeout`) until `cur_cfg` reaches it, as `ovs-vsctl` does without
    /// `--no-wait`. The two operations are appended at commit time.
    pub fn wait_for_cur_cfg(&mut self, timeout: Duration) -> &mut Txn {
        self.cfg_wait = Some(timeout);
        self
    }
}

/// What a committed transaction returned.
#[derive(Debug, Clone, PartialEq)]
pub struct TxnReply {
    /// One result per operation added to the [`Txn`] (the operations added
    /// by [`Txn::wait_for_cur_cfg`] included).
    pub results: Vec<Value>,
    /// The uuid the server gave each inserted row, by `uuid-name`.
    pub inserted: BTreeMap<String, Uuid>,
    /// The `next_cfg` selected by [`Txn::wait_for_cur_cfg`], if asked and an
    /// `Open_vSwitch` row exists.
    pub next_cfg: Option<i64>,
}

impl TxnReply {
    /// The uuid of the row inserted as `name`.
    pub fn uuid(&self, name: &NamedUuid) -> Option<Uuid> {
        self.inserted.get(&name.0).copied()
    }

    /// The `rows` of a `select` result.
    pub fn rows(&self, index: usize) -> &[Value] {
        self.results
            .get(index)
            .and_then(|r| r.get("rows"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The `count` of an `update`, `mutate` or `delete` result.
    pub fn count(&self, index: usize) -> Option<u64> {
        self.results.get(index)?.get("count")?.as_u64()
    }
}

// ---------------------------------------------------------------------------
// Monitors.

/// The monitor method in use, which decides the update notification format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum MonitorVersion {
    /// RFC 7047 `monitor` and `update`.
    Monitor = 1,
    /// `monitor_cond` and `update2`.
    MonitorCond = 2,
    /// `monitor_cond_since` and `update3`.
    MonitorCondSince = 3,
}

impl MonitorVersion {
    fn from_level(l: u8) -> MonitorVersion {
        match l {
            0 | 1 => MonitorVersion::Monitor,
            2 => MonitorVersion::MonitorCond,
            _ => MonitorVersion::MonitorCondSince,
        }
    }

    /// The request's method name.
    pub fn method(self) -> &'static str {
        match self {
            MonitorVersion::Monitor => "monitor",
            MonitorVersion::MonitorCond => "monitor_cond",
            MonitorVersion::MonitorCondSince => "monitor_cond_since",
        }
    }
}

/// What to monitor: tables, each with a list of columns or all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorSpec {
    tables: BTreeMap<String, Option<Vec<String>>>,
}

impl MonitorSpec {
    /// Monitors nothing yet.
    pub fn new() -> MonitorSpec {
        MonitorSpec::default()
    }

    /// Monitors `columns` of `table` (added to any already listed).
    pub fn table(mut self, table: &str, columns: &[&str]) -> MonitorSpec {
        let entry = self
            .tables
            .entry(table.to_owned())
            .or_insert_with(|| Some(Vec::new()));
        if let Some(cols) = entry {
            for c in columns {
                if !cols.iter().any(|x| x == c) {
                    cols.push((*c).to_owned());
                }
            }
        }
        self
    }

    /// Monitors every column of `table`.
    pub fn all_columns(mut self, table: &str) -> MonitorSpec {
        self.tables.insert(table.to_owned(), None);
        self
    }

    /// Monitors every column of every table of `schema`.
    pub fn all_tables(schema: &DatabaseSchema) -> MonitorSpec {
        let mut s = MonitorSpec::new();
        for t in schema.tables.keys() {
            s = s.all_columns(t);
        }
        s
    }

    fn columns(&self, table: &TableSchema, name: &str) -> Vec<String> {
        match self.tables.get(name) {
            Some(Some(cols)) => cols.clone(),
            _ => table
                .columns
                .iter()
                .filter(|c| !c.name.starts_with('_'))
                .map(|c| c.name.clone())
                .collect(),
        }
    }

    fn requests(&self, schema: &DatabaseSchema, version: MonitorVersion) -> Value {
        let mut m = serde_json::Map::new();
        for name in self.tables.keys() {
            let Some(t) = schema.table(name) else {
                continue;
            };
            let req = json!({"columns": self.columns(t, name)});
            m.insert(
                name.clone(),
                if version == MonitorVersion::Monitor {
                    req
                } else {
                    json!([req])
                },
            );
        }
        Value::Object(m)
    }
}

/// One row of the replica: the monitored columns, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    uuid: Uuid,
    columns: BTreeMap<String, Datum>,
}

impl Row {
    /// The row's uuid.
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// A monitored column's value.
    pub fn get(&self, column: &str) -> Option<&Datum> {
        self.columns.get(column)
    }

    /// Every monitored column.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &Datum)> {
        self.columns.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The value of an integer column holding exactly one element.
    pub fn integer(&self, column: &str) -> Option<i64> {
        self.get(column)?.as_scalar()?.as_integer()
    }

    /// The value of a string column holding exactly one element.
    pub fn string(&self, column: &str) -> Option<&str> {
        self.get(column)?.as_scalar()?.as_str()
    }

    /// The value of a boolean column holding exactly one element.
    pub fn boolean(&self, column: &str) -> Option<bool> {
        match self.get(column)?.as_scalar()? {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The uuids (keys and values) of a column.
    pub fn uuids(&self, column: &str) -> Vec<Uuid> {
        self.get(column)
            .map_or_else(Vec::new, |d| d.uuids().collect())
    }

    /// The value for string key `key` in a map column.
    pub fn map_get(&self, column: &str, key: &str) -> Option<&Atom> {
        match self.get(column)? {
            Datum::Map(m) => m.get(&Atom::String(key.to_owned())),
            Datum::Set(_) => None,
        }
    }
}

/// The rows of one monitored table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReplica {
    /// The monitored columns.
    pub columns: Vec<String>,
    /// The rows, by uuid.
    pub rows: BTreeMap<Uuid, Row>,
}

/// The local copy of the monitored part of a database.
#[derive(Debug, Clone)]
pub struct Replica {
    schema: Arc<DatabaseSchema>,
    tables: BTreeMap<String, TableReplica>,
    last_txn_id: Option<Uuid>,
    version: MonitorVersion,
    /// Bumped by every applied initial reply or update.
    seqno: u64,
}

impl Replica {
    /// An empty replica of the tables and columns of `spec`.
    pub fn new(schema: Arc<DatabaseSchema>, spec: &MonitorSpec) -> Result<Replica> {
        let mut tables = BTreeMap::new();
        for name in spec.tables.keys() {
            let t = schema.table(name).ok_or_else(|| {
                ClientError::InvalidRequest(format!("no table {name} in database {}", schema.name))
            })?;
            let columns = spec.columns(t, name);
            for c in &columns {
                if t.column(c).is_none() {
                    return Err(ClientError::InvalidRequest(format!(
                        "table {name} has no column {c}"
                    )));
                }
            }
            tables.insert(
                name.clone(),
                TableReplica {
                    columns,
                    rows: BTreeMap::new(),
                },
            );
        }
        Ok(Replica {
            schema,
            tables,
            last_txn_id: None,
            version: MonitorVersion::MonitorCondSince,
            seqno: 0,
        })
    }

    /// The database schema.
    pub fn schema(&self) -> &DatabaseSchema {
        &self.schema
    }

    /// A monitored table.
    pub fn table(&self, name: &str) -> Option<&TableReplica> {
        self.tables.get(name)
    }

    /// The rows of a table (none if it is not monitored).
    pub fn rows(&self, table: &str) -> impl Iterator<Item = &Row> {
        self.tables
            .get(table)
            .into_iter()
            .flat_map(|t| t.rows.values())
    }

    /// One row.
    pub fn row(&self, table: &str, uuid: Uuid) -> Option<&Row> {
        self.tables.get(table)?.rows.get(&uuid)
    }

    /// The last transaction id reported by `monitor_cond_since`/update3.
    pub fn last_txn_id(&self) -> Option<Uuid> {
        self.last_txn_id
    }

    /// The monitor method the replica is fed by.
    pub fn version(&self) -> MonitorVersion {
        self.version
    }

    /// How many times the replica changed (initial contents included).
    pub fn seqno(&self) -> u64 {
        self.seqno
    }

    /// Applies a monitor reply's initial contents.
    fn apply_initial(&mut self, version: MonitorVersion, reply: &Value) -> Result<()> {
        let updates = if version == MonitorVersion::MonitorCondSince {
            let Some([found, txn, updates]) = reply.as_array().map(Vec::as_slice) else {
                return Err(ClientError::Protocol(format!(
                    "monitor_cond_since reply is not [found, txn-id, updates]: {reply}"
                )));
            };
            if found != &Value::Bool(true) {
                for t in self.tables.values_mut() {
                    t.rows.clear();
                }
            }
            self.last_txn_id = txn.as_str().and_then(Uuid::parse_strict);
            updates
        } else {
            reply
        };
        self.apply_updates(version, updates)
    }

    /// Applies `<table-updates>` (v1) or `<table-updates2>` (v2, v3).
    pub fn apply_updates(&mut self, version: MonitorVersion, updates: &Value) -> Result<()> {
        let bad = |what: String| ClientError::Protocol(format!("bad {}: {what}", version.method()));
        let Some(tables) = updates.as_object() else {
            return Err(bad(format!("table updates are not an object: {updates}")));
        };
        for (tname, rows) in tables {
            let Some(table) = self.tables.get_mut(tname) else {
                continue;
            };
            let Some(ts) = self.schema.tables.get(tname) else {
                continue;
            };
            let Some(rows) = rows.as_object() else {
                return Err(bad(format!("rows of {tname} are not an object")));
            };
            for (uuid_s, update) in rows {
                let uuid = Uuid::parse_strict(uuid_s)
                    .ok_or_else(|| bad(format!("{uuid_s:?} is not a uuid")))?;
                let update = update
                    .as_object()
                    .ok_or_else(|| bad(format!("update of {tname} {uuid_s} is not an object")))?;
                apply_row_update(table, ts, version, uuid, update)
                    .map_err(|e| bad(format!("{tname} row {uuid_s}: {e}")))?;
            }
        }
        self.seqno += 1;
        Ok(())
    }
}

fn new_row(table: &TableReplica, ts: &TableSchema, uuid: Uuid) -> Row {
    let columns = table
        .columns
        .iter()
        .filter_map(|c| Some((c.clone(), Datum::default_for(&ts.column(c)?.type_))))
        .collect();
    Row { uuid, columns }
}

/// Overlays full column values from `values` onto `row`.
fn set_columns(
    row: &mut Row,
    table: &TableReplica,
    ts: &TableSchema,
    values: &Value,
) -> std::result::Result<(), String> {
    let Some(values) = values.as_object() else {
        return Err(format!("row is not an object: {values}"));
    };
    for (c, v) in values {
        if !table.columns.iter().any(|x| x == c) {
            continue;
        }
        let Some(col) = ts.column(c) else { continue };
        let d = Datum::from_json(v, &col.type_, None).map_err(|e| format!("column {c}: {e}"))?;
        row.columns.insert(c.clone(), d);
    }
    Ok(())
}

fn apply_row_update(
    table: &mut TableReplica,
    ts: &TableSchema,
    version: MonitorVersion,
    uuid: Uuid,
    update: &serde_json::Map<String, Value>,
) -> std::result::Result<(), String> {
    if version == MonitorVersion::Monitor {
        match update.get("new") {
            None | Some(Value::Null) => {
                table.rows.remove(&uuid);
            }
            Some(new) => {
                let mut row = match table.rows.remove(&uuid) {
                    Some(r) => r,
                    None => new_row(table, ts, uuid),
                };
                set_columns(&mut row, table, ts, new)?;
                table.rows.insert(uuid, row);
            }
        }
        return Ok(());
    }
    let Some((kind, body)) = update.iter().next().filter(|_| update.len() == 1) else {
        return Err("a row update2 must have exactly one member".into());
    };
    match kind.as_str() {
        "initial" | "insert" => {
            let mut row = new_row(table, ts, uuid);
            set_columns(&mut row, table, ts, body)?;
            table.rows.insert(uuid, row);
        }
        "delete" => {
            table.rows.remove(&uuid);
        }
        "modify" => {
            let Some(diff) = body.as_object() else {
                return Err("modify is not an object".into());
            };
            let Some(mut row) = table.rows.remove(&uuid) else {
                return Err("modify of a row not in the replica".into());
            };
            let mut result = Ok(());
            for (c, d) in diff {
                let (Some(col), Some(old)) = (ts.column(c), row.columns.get(c)) else {
                    continue;
                };
                match apply_diff(old, d, &col.type_) {
                    Ok(new) => {
                        row.columns.insert(c.clone(), new);
                    }
                    Err(e) => {
                        result = Err(format!("column {c}: {e}"));
                        break;
                    }
                }
            }
            table.rows.insert(uuid, row);
            result?;
        }
        other => return Err(format!("unknown row update kind {other:?}")),
    }
    Ok(())
}

/// Applies an update2 `modify` diff for one column of type `ty` to `old`.
///
/// * map: each pair adds a missing key, removes a key whose value is
///   equal, or replaces the value of a key whose value differs;
/// * set of more than one element: symmetric difference;
/// * at most one element (scalar or optional): the diff is the new value.
///   A one-element diff equal to the old value means "removed", as a
///   symmetric difference would say (the new value would never be sent
///   unchanged), so both encodings servers use are understood.
pub fn apply_diff(old: &Datum, diff: &Value, ty: &Type) -> std::result::Result<Datum, OvsdbError> {
    let d = Datum::from_json(diff, &ty.relaxed(true), None)?;
    Ok(match (old, d) {
        (Datum::Map(o), Datum::Map(d)) => {
            let mut m = o.clone();
            for (k, v) in d {
                match m.get(&k) {
                    Some(ov) if *ov == v => {
                        m.remove(&k);
                    }
                    _ => {
                        m.insert(k, v);
                    }
                }
            }
            Datum::Map(m)
        }
        (Datum::Set(o), Datum::Set(d)) => {
            let sym = || Datum::Set(o.symmetric_difference(&d).cloned().collect());
            if ty.max != Max::Limited(1) || d.len() > 1 || (d.len() == 1 && d == *o) {
                sym()
            } else {
                Datum::Set(d)
            }
        }
        _ => {
            return Err(OvsdbError::syntax(
                diff,
                "diff does not match the column type",
            ));
        }
    })
}

struct ReplicaCell {
    replica: Mutex<Replica>,
    /// Bumped after every change (and when the connection fails).
    changes: watch::Sender<u64>,
}

impl ReplicaCell {
    fn notify(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    fn apply_initial(&self, version: MonitorVersion, reply: &Value) -> Result<()> {
        lock(&self.replica).apply_initial(version, reply)?;
        self.notify();
        Ok(())
    }
}

/// A monitor's handle: read the replica, wait for it to change.
#[derive(Clone)]
pub struct Monitor {
    cell: Arc<ReplicaCell>,
    shared: Arc<Shared>,
    id: Value,
    db: String,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("db", &self.db)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// The database.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// The monitor method the server accepted.
    pub fn version(&self) -> MonitorVersion {
        lock(&self.cell.replica).version
    }

    /// Runs `f` on the replica (do not block inside: updates wait for it).
    pub fn read<R>(&self, f: impl FnOnce(&Replica) -> R) -> R {
        f(&lock(&self.cell.replica))
    }

    /// A copy of the replica.
    pub fn snapshot(&self) -> Replica {
        self.read(Replica::clone)
    }

    /// Waits until `pred` holds on the replica (checked now and after every
    /// change), up to `timeout` (`None`: forever). Fails if the connection
    /// fails first.
    pub async fn wait_until(
        &self,
        timeout: Option<Duration>,
        mut pred: impl FnMut(&Replica) -> bool,
    ) -> Result<()> {
        let mut rx = self.cell.changes.subscribe();
        let wait = async {
            loop {
                rx.borrow_and_update();
                if pred(&lock(&self.cell.replica)) {
                    return Ok(());
                }
                if let Some(e) = self.shared.closed() {
                    return Err(e);
                }
                if rx.changed().await.is_err() {
                    return Err(ClientError::Disconnected("client closed".into()));
                }
            }
        };
        with_timeout(timeout, "waiting for the replica", wait).await
    }
}

async fn with_timeout<T>(
    timeout: Option<Duration>,
    what: &str,
    f: impl Future<Output = Result<T>>,
) -> Result<T> {
    match timeout {
        Some(t) => tokio::time::timeout(t, f)
            .await
            .map_err(|_| ClientError::Timeout(format!("{what} for {t:?}")))?,
        None => f.await,
    }
}

// ---------------------------------------------------------------------------
// Locks.

/// Where a lock stands, as far as this client knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Not requested (or released with `unlock`).
    Unlocked,
    /// Requested; another client holds it.
    Waiting,
    /// This client holds it.
    Held,
    /// Another client stole it (`stolen`); a later `locked` makes it
    /// [`LockState::Held`] again if the server requeued us.
    Stolen,
}

/// A lock's handle.
#[derive(Clone)]
pub struct Lock {
    name: String,
    rx: watch::Receiver<LockState>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl Lock {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current state.
    pub fn state(&self) -> LockState {
        *self.rx.borrow()
    }

    /// Waits until the state satisfies `pred`, up to `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Option<Duration>,
        mut pred: impl FnMut(LockState) -> bool,
    ) -> Result<LockState> {
        let mut rx = self.rx.clone();
        let wait = async {
            loop {
                let s = *rx.borrow_and_update();
                if pred(s) {
                    return Ok(s);
                }
                if let Some(e) = self.shared.closed() {
                    return Err(e);
                }
                if rx.changed().await.is_err() {
                    return Err(ClientError::Disconnected("client closed".into()));
                }
            }
        };
        with_timeout(timeout, &format!("waiting for lock {}", self.name), wait).await
    }

    /// Waits until this client holds the lock.
    pub async fn wait_locked(&self, timeout: Option<Duration>) -> Result<()> {
        self.wait_until(timeout, |s| s == LockState::Held)
            .await
            .map(|_| ())
    }

    /// Waits until the lock is stolen from this client.
    pub async fn wait_stolen(&self, timeout: Option<Duration>) -> Result<()> {
        self.wait_until(timeout, |s| s == LockState::Stolen)
            .await
            .map(|_| ())
    }
}

// ---------------------------------------------------------------------------
// Blocking wrapper.

/// A blocking client for command-line tools.
pub mod blocking {
    use super::*;

    /// The blocking client: the async [`super::Client`] driven by a private
    /// one-worker tokio runtime. Must not be used (or dropped) from within
    /// an async context.
    #[derive(Debug)]
    pub struct Client {
        inner: super::Client,
        rt: tokio::runtime::Runtime,
    }

    impl Client {
        /// Connects to `remote` (`unix:PATH` or `tcp:IP:PORT`).
        pub fn connect(remote: &str, opts: &ClientOptions) -> Result<Client> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ovsdb-client")
                .enable_all()
                .build()
                .map_err(|e| ClientError::Connect {
                    remote: remote.to_owned(),
                    source: Arc::new(e),
                })?;
            let inner = rt.block_on(super::Client::connect(remote, opts))?;
            Ok(Client { inner, rt })
        }

        /// The async client (to use from the runtime's tasks).
        pub fn inner(&self) -> &super::Client {
            &self.inner
        }

        /// Runs any future on this client's runtime.
        pub fn block_on<F: Future>(&self, f: F) -> F::Output {
            self.rt.block_on(f)
        }

        /// See [`super::Client::call`].
        pub fn call(&self, method: &str, params: Vec<Value>) -> Result<Value> {
            self.block_on(self.inner.call(method, params))
        }

        /// See [`super::Client::echo`].
        pub fn echo(&self) -> Result<()> {
            self.block_on(self.inner.echo())
        }

        /// See [`super::Client::list_dbs`].
        pub fn list_dbs(&self) -> Result<Vec<String>> {
            self.block_on(self.inner.list_dbs())
        }

        /// See [`super::Client::get_schema`].
        pub fn get_schema(&self, db: &str) -> Result<DatabaseSchema> {
            self.block_on(self.inner.get_schema(db))
        }

        /// See [`super::Client::schema`].
        pub fn schema(&self, db: &str) -> Result<Arc<DatabaseSchema>> {
            self.block_on(self.inner.schema(db))
        }

        /// See [`super::Client::transact`].
        pub fn transact(&self, db: &str, ops: Vec<Value>) -> Result<Vec<Value>> {
            self.block_on(self.inner.transact(db, ops))
        }

        /// See [`super::Client::commit`].
        pub fn commit(&self, txn: Txn) -> Result<TxnReply> {
            self.block_on(self.inner.commit(txn))
        }

        /// See [`super::Client::monitor`].
        pub fn monitor(&self, db: &str, spec: MonitorSpec) -> Result<Monitor> {
            self.block_on(self.inner.monitor(db, spec))
        }

        /// See [`super::Client::monitor_cancel`].
        pub fn monitor_cancel(&self, monitor: &Monitor) -> Result<()> {
            self.block_on(self.inner.monitor_cancel(monitor))
        }

        /// See [`Monitor::wait_until`].
        pub fn wait_until(
            &self,
            monitor: &Monitor,
            timeout: Option<Duration>,
            pred: impl FnMut(&Replica) -> bool,
        ) -> Result<()> {
            self.block_on(monitor.wait_until(timeout, pred))
        }

        /// See [`super::Client::lock`].
        pub fn lock(&self, name: &str) -> Result<Lock> {
            self.block_on(self.inner.lock(name))
        }

        /// See [`super::Client::steal`].
        pub fn steal(&self, name: &str) -> Result<Lock> {
            self.block_on(self.inner.steal(name))
        }

        /// See [`super::Client::unlock`].
        pub fn unlock(&self, name: &str) -> Result<()> {
            self.block_on(self.inner.unlock(name))
        }

        /// See [`Lock::wait_until`].
        pub fn wait_lock(
            &self,
            lock: &Lock,
            timeout: Option<Duration>,
            pred: impl FnMut(LockState) -> bool,
        ) -> Result<LockState> {
            self.block_on(lock.wait_until(timeout, pred))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::AtomicType;
    use crate::schema::BaseType;
    use std::collections::BTreeSet;
    use tokio::io::DuplexStream;

    fn schema() -> Arc<DatabaseSchema> {
        Arc::new(
            DatabaseSchema::from_json(&json!({
                "name": "T", "version": "1.0.0",
                "tables": {"R": {"columns": {
                    "i": {"type": "integer"},
                    "o": {"type": {"key": "string", "min": 0, "max": 1}},
                    "s": {"type": {"key": "integer", "min": 0, "max": "unlimited"}},
                    "m": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}
                }}}
            }))
            .unwrap(),
        )
    }

    fn ints(v: &[i64]) -> Datum {
        Datum::Set(v.iter().map(|i| Atom::Integer(*i)).collect())
    }

    fn strmap(v: &[(&str, &str)]) -> Datum {
        Datum::Map(
            v.iter()
                .map(|(k, v)| (Atom::String((*k).into()), Atom::String((*v).into())))
                .collect(),
        )
    }

    #[test]
    fn diff_semantics() {
        let set = Type {
            key: BaseType::new(AtomicType::Integer),
            value: None,
            min: 0,
            max: Max::Unlimited,
        };
        assert_eq!(
            apply_diff(&ints(&[1, 2]), &json!(["set", [2, 3]]), &set).unwrap(),
            ints(&[1, 3])
        );
        assert_eq!(apply_diff(&ints(&[1]), &json!(1), &set).unwrap(), ints(&[]));
        let map = Type {
            key: BaseType::new(AtomicType::String),
            value: Some(BaseType::new(AtomicType::String)),
            min: 0,
            max: Max::Unlimited,
        };
        let old = strmap(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let d = json!(["map", [["a", "1"], ["b", "9"], ["d", "4"]]]);
        assert_eq!(
            apply_diff(&old, &d, &map).unwrap(),
            strmap(&[("b", "9"), ("c", "3"), ("d", "4")])
        );
        let scalar = Type::scalar(BaseType::new(AtomicType::Integer));
        assert_eq!(
            apply_diff(&ints(&[5]), &json!(6), &scalar).unwrap(),
            ints(&[6])
        );
        let opt = Type {
            max: Max::Limited(1),
            ..set
        };
        // ovsdb-server sends the new value; a symmetric difference also works.
        assert_eq!(
            apply_diff(&ints(&[5]), &json!(6), &opt).unwrap(),
            ints(&[6])
        );
        assert_eq!(
            apply_diff(&ints(&[5]), &json!(["set", []]), &opt).unwrap(),
            ints(&[])
        );
        assert_eq!(apply_diff(&ints(&[]), &json!(7), &opt).unwrap(), ints(&[7]));
        assert_eq!(
            apply_diff(&ints(&[5]), &json!(["set", [5, 6]]), &opt).unwrap(),
            ints(&[6])
        );
        assert_eq!(apply_diff(&ints(&[5]), &json!(5), &opt).unwrap(), ints(&[]));
        assert!(apply_diff(&ints(&[5]), &json!("x"), &opt).is_err());
    }

    const U1: &str = "11111111-1111-1111-1111-111111111111";

    fn replica() -> Replica {
        Replica::new(schema(), &MonitorSpec::new().all_columns("R")).unwrap()
    }

    #[test]
    fn update2_insert_fills_defaults_then_modify_and_delete() {
        let mut r = replica();
        let u = Uuid::parse_strict(U1).unwrap();
        r.apply_updates(
            MonitorVersion::MonitorCond,
            &json!({"R": {U1: {"initial": {"s": ["set", [1, 2]], "m": ["map", [["a", "x"]]]}}}}),
        )
        .unwrap();
        let row = r.row("R", u).unwrap();
        assert_eq!(row.integer("i"), Some(0));
        assert_eq!(row.get("o"), Some(&Datum::Set(BTreeSet::new())));
        assert_eq!(row.get("s"), Some(&ints(&[1, 2])));
        r.apply_updates(
            MonitorVersion::MonitorCond,
            &json!({"R": {U1: {"modify": {"i": 4, "o": "z", "s": 1, "m": ["map", [["a", "y"], ["b", "c"]]]}}}}),
        )
        .unwrap();
        let row = r.row("R", u).unwrap();
        assert_eq!(row.integer("i"), Some(4));
        assert_eq!(row.string("o"), Some("z"));
        assert_eq!(row.get("s"), Some(&ints(&[2])));
        assert_eq!(row.get("m"), Some(&strmap(&[("a", "y"), ("b", "c")])));
        assert_eq!(row.map_get("m", "b"), Some(&Atom::String("c".into())));
        r.apply_updates(
            MonitorVersion::MonitorCond,
            &json!({"R": {U1: {"delete": null}}}),
        )
        .unwrap();
        assert_eq!(r.rows("R").count(), 0);
        // Malformed updates are protocol errors.
        assert!(
            r.apply_updates(
                MonitorVersion::MonitorCond,
                &json!({"R": {U1: {"modify": {}}}})
            )
            .is_err()
        );
        assert!(
            r.apply_updates(
                MonitorVersion::MonitorCond,
                &json!({"R": {"x": {"insert": {}}}})
            )
            .is_err()
        );
        assert!(
            r.apply_updates(
                MonitorVersion::MonitorCond,
                &json!({"R": {U1: {"insert": {"i": "no"}}}})
            )
            .is_err()
        );
    }

    #[test]
    fn update_v1_new_old() {
        let mut r = replica();
        let u = Uuid::parse_strict(U1).unwrap();
        r.apply_updates(MonitorVersion::Monitor, &json!({"R": {U1: {"new": {"i": 1, "o": ["set", []], "s": ["set", []], "m": ["map", []]}}}}))
            .unwrap();
        assert_eq!(r.row("R", u).unwrap().integer("i"), Some(1));
        r.apply_updates(MonitorVersion::Monitor, &json!({"R": {U1: {"old": {"i": 1}, "new": {"i": 2, "o": ["set", []], "s": 3, "m": ["map", []]}}}}))
            .unwrap();
        assert_eq!(r.row("R", u).unwrap().integer("i"), Some(2));
        assert_eq!(r.row("R", u).unwrap().get("s"), Some(&ints(&[3])));
        r.apply_updates(
            MonitorVersion::Monitor,
            &json!({"R": {U1: {"old": {"i": 2}}}}),
        )
        .unwrap();
        assert!(r.row("R", u).is_none());
    }

    #[test]
    fn remotes() {
        assert_eq!(
            "unix:/a/b".parse::<Remote>().unwrap(),
            Remote::Unix("/a/b".into())
        );
        assert_eq!(
            "tcp:127.0.0.1:6640".parse::<Remote>().unwrap(),
            Remote::Tcp("127.0.0.1:6640".into())
        );
        assert_eq!(
            "tcp:[::1]:6640".parse::<Remote>().unwrap(),
            Remote::Tcp("[::1]:6640".into())
        );
        for bad in [
            "punix:/x",
            "ptcp:6640",
            "tcp:1.2.3.4",
            "tcp:1.2.3.4:x",
            "ssl:1.2.3.4:1",
            "/x",
            "unix:",
        ] {
            assert!(
                matches!(
                    bad.parse::<Remote>(),
                    Err(ClientError::InvalidRemote { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn transaction_errors() {
        assert!(check_results(&[json!({}), json!({"count": 1})], 2).is_ok());
        let r = [
            json!({}),
            json!({"error": "constraint violation", "details": "bad"}),
            Value::Null,
        ];
        match check_results(&r, 3) {
            Err(ClientError::Transaction { index: 1, error }) => {
                assert_eq!(error.error, "constraint violation");
                assert_eq!(error.details.as_deref(), Some("bad"));
            }
            other => panic!("{other:?}"),
        }
        // Commit failure: one more result than operations.
        let r = [
            json!({}),
            json!({"error": "referential integrity violation"}),
        ];
        assert!(matches!(
            check_results(&r, 1),
            Err(ClientError::Transaction { index: 1, .. })
        ));
        assert!(matches!(
            check_results(&[], 1),
            Err(ClientError::Protocol(_))
        ));
    }

    #[test]
    fn txn_builder_json() {
        let mut t = Txn::new("Open_vSwitch");
        let iface = t.insert("Interface", json!({"name": "br0", "type": "internal"}));
        let port = t.insert_named("Port", "p", json!({"name": "br0", "interfaces": iface}));
        let u = Uuid::parse_strict(U1).unwrap();
        t.mutate(
            "Bridge",
            &[Condition::uuid(u)],
            &[Mutation::insert("ports", set_json([port.to_json()]))],
        );
        t.update(
            "Open_vSwitch",
            &[],
            json!({"other_config": map_json([(json!("a"), json!("b"))])}),
        );
        t.delete("Port", &[Condition::eq("name", "x")]);
        t.wait(
            "Open_vSwitch",
            &[],
            &["bridges"],
            WaitUntil::Equal,
            vec![json!({"bridges": ["set", []]})],
            Some(0),
        );
        t.select("Bridge", &[], Some(&["name"]));
        t.comment("ovs-vsctl add-br br0");
        t.assert_lock("ovs_vswitchd");
        assert_eq!(
            Value::Array(t.ops().to_vec()),
            json!([
                {"op": "insert", "table": "Interface", "row": {"name": "br0", "type": "internal"}, "uuid-name": "row1"},
                {"op": "insert", "table": "Port", "row": {"name": "br0", "interfaces": ["named-uuid", "row1"]}, "uuid-name": "p"},
                {"op": "mutate", "table": "Bridge", "where": [["_uuid", "==", ["uuid", U1]]],
                 "mutations": [["ports", "insert", ["set", [["named-uuid", "p"]]]]]},
                {"op": "update", "table": "Open_vSwitch", "where": [], "row": {"other_config": ["map", [["a", "b"]]]}},
                {"op": "delete", "table": "Port", "where": [["name", "==", "x"]]},
                {"op": "wait", "table": "Open_vSwitch", "where": [], "columns": ["bridges"], "until": "==",
                 "rows": [{"bridges": ["set", []]}], "timeout": 0},
                {"op": "select", "table": "Bridge", "where": [], "columns": ["name"]},
                {"op": "comment", "comment": "ovs-vsctl add-br br0"},
                {"op": "assert", "lock": "ovs_vswitchd"},
            ])
        );
    }

    /// A scripted server on the other end of an in-memory pipe.
    struct Fake {
        io: DuplexStream,
        dec: Decoder,
    }

    impl Fake {
        fn pair(opts: &ClientOptions) -> (Client, Fake) {
            let (a, b) = tokio::io::duplex(1 << 16);
            (
                Client::from_stream(a, "fake", opts),
                Fake {
                    io: b,
                    dec: Decoder::new(),
                },
            )
        }

        async fn recv(&mut self) -> Message {
            read_message(&mut self.io, &mut self.dec)
                .await
                .unwrap()
                .unwrap()
        }

        async fn send(&mut self, m: Message) {
            write_message(&mut self.io, &m).await.unwrap();
        }

        /// Receives a request for `method`, returns (params, id).
        async fn expect(&mut self, method: &str) -> (Value, Value) {
            match self.recv().await {
                Message::Request {
                    method: m,
                    params,
                    id,
                } if m == method => (params, id),
                other => panic!("expected {method}, got {other:?}"),
            }
        }
    }

    fn no_probe() -> ClientOptions {
        ClientOptions {
            probe_interval: None,
            ..ClientOptions::default()
        }
    }

    #[tokio::test]
    async fn monitor_falls_back_to_plain_monitor() {
        let (client, mut srv) = Fake::pair(&no_probe());
        let server = tokio::spawn(async move {
            let (_, id) = srv.expect("get_schema").await;
            srv.send(Message::response(schema().to_json(), id)).await;
            for m in ["monitor_cond_since", "monitor_cond"] {
                let (_, id) = srv.expect(m).await;
                srv.send(Message::error(json!("unknown method"), id)).await;
            }
            let (params, id) = srv.expect("monitor").await;
            assert_eq!(params[2], json!({"R": {"columns": ["i"]}}));
            let monid = params[1].clone();
            srv.send(Message::response(json!({"R": {U1: {"new": {"i": 1}}}}), id))
                .await;
            srv.send(Message::notification(
                "update",
                vec![monid, json!({"R": {U1: {"new": {"i": 2}}}})],
            ))
            .await;
            // A second monitor goes straight to "monitor".
            let (_, id) = srv.expect("monitor").await;
            srv.send(Message::response(json!({}), id)).await;
            srv
        });
        let m = client
            .monitor("T", MonitorSpec::new().table("R", &["i"]))
            .await
            .unwrap();
        assert_eq!(m.version(), MonitorVersion::Monitor);
        m.wait_until(Some(Duration::from_secs(5)), |r| {
            r.rows("R").any(|row| row.integer("i") == Some(2))
        })
        .await
        .unwrap();
        client
            .monitor("T", MonitorSpec::new().table("R", &["i"]))
            .await
            .unwrap();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn answers_echo_and_matches_replies_out_of_order() {
        let (client, mut srv) = Fake::pair(&no_probe());
        let c2 = client.clone();
        let a = tokio::spawn(async move { c2.call("a", vec![]).await });
        let c3 = client.clone();
        let (_, id_a) = srv.expect("a").await;
        let b = tokio::spawn(async move { c3.call("b", vec![]).await });
        let (_, id_b) = srv.expect("b").await;
        srv.send(Message::request("echo", vec![json!("x")], json!("echo")))
            .await;
        assert_eq!(
            srv.recv().await,
            Message::response(json!(["x"]), json!("echo"))
        );
        srv.send(Message::error(json!({"error": "e", "details": "d"}), id_b))
            .await;
        srv.send(Message::response(json!("ra"), id_a)).await;
        assert_eq!(a.await.unwrap().unwrap(), json!("ra"));
        match b.await.unwrap() {
            Err(ClientError::Rpc {
                method,
                error,
                details,
                ..
            }) => {
                assert_eq!(
                    (method.as_str(), error.as_str(), details.as_deref()),
                    ("b", "e", Some("d"))
                );
            }
            other => panic!("{other:?}"),
        }
        // The server closes: pending and later calls fail.
        let c4 = client.clone();
        let pending = tokio::spawn(async move { c4.call("c", vec![]).await });
        srv.expect("c").await;
        drop(srv);
        assert!(matches!(
            pending.await.unwrap(),
            Err(ClientError::Disconnected(_))
        ));
        assert!(matches!(
            client.list_dbs().await,
            Err(ClientError::Disconnected(_))
        ));
    }

    #[tokio::test]
    async fn probe_then_fail_on_silence() {
        let opts = ClientOptions {
            probe_interval: Some(Duration::from_millis(100)),
            ..ClientOptions::default()
        };
        let (client, mut srv) = Fake::pair(&opts);
        // Silence: the client probes...
        let (params, id) = srv.expect("echo").await;
        assert_eq!((params, id.clone()), (json!([]), json!("echo")));
        // ... an answer keeps the connection up ...
        srv.send(Message::response(json!([]), id)).await;
        let (_, id) = srv.expect("echo").await;
        assert!(client.closed().is_none());
        drop(id);
        // ... and no answer fails it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            matches!(client.closed(), Some(ClientError::Disconnected(m)) if m.contains("probe"))
        );
    }

    #[tokio::test]
    async fn lock_notifications() {
        let (client, mut srv) = Fake::pair(&no_probe());
        let c = client.clone();
        let t = tokio::spawn(async move { c.lock("L").await });
        let (params, id) = srv.expect("lock").await;
        assert_eq!(params, json!(["L"]));
        srv.send(Message::response(json!({"locked": false}), id))
            .await;
        let l = t.await.unwrap().unwrap();
        assert_eq!(l.state(), LockState::Waiting);
        srv.send(Message::notification("locked", vec![json!("L")]))
            .await;
        l.wait_locked(Some(Duration::from_secs(5))).await.unwrap();
        srv.send(Message::notification("stolen", vec![json!("L")]))
            .await;
        l.wait_stolen(Some(Duration::from_secs(5))).await.unwrap();
        drop(srv);
        assert!(l.wait_locked(Some(Duration::from_secs(5))).await.is_err());
    }
}
