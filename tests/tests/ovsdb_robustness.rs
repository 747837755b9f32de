//! Robustness of our OVSDB server (`vswitchd --db-only`):
//!
//! * crashes: a client commits transactions while the server is killed with
//!   SIGKILL at random moments; after every restart each acknowledged
//!   transaction is there, unacknowledged ones are all-or-nothing, the
//!   database is consistent and the server takes new transactions;
//! * damaged files: a torn or corrupt log tail is dropped with a warning,
//!   keeping every earlier record; a file in another format (a real
//!   `ovsdb-tool` database) is refused and left untouched;
//! * bad input: malformed or non-JSON-RPC input closes that session only;
//!   bad transactions get the same RFC 7047 error shapes as a real
//!   `ovsdb-server` and commit nothing; an oversized frame is cut off before
//!   it is all read; a client that vanishes mid-frame or never reads is
//!   dropped without leaking a descriptor, while a monitoring client keeps
//!   being served throughout.
//!
//! Every wait is bounded; every server is killed on drop. The crash test's
//! random schedule comes from a seeded xorshift; the seed is printed and can
//! be fixed with `ROBUSTNESS_SEED=<n>`.

use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tests::{TempDir, our_bin, require, run_ok, wait_for};

const DB: &str = "Open_vSwitch";
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// A small deterministic RNG (xorshift64).

struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform-ish in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn seed() -> u64 {
    match std::env::var("ROBUSTNESS_SEED") {
        Ok(s) => s.parse().expect("ROBUSTNESS_SEED must be a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

// ---------------------------------------------------------------------------
// Our server, killed (SIGKILL) on drop.

struct Ours {
    child: Child,
    dir: PathBuf,
    stderr: PathBuf,
}

fn spawn_ours(dir: &Path, args: &[&str], tag: &str) -> (Child, PathBuf) {
    let stderr = dir.join(format!("stderr.{tag}"));
    let f = std::fs::File::create(&stderr).expect("create stderr file");
    let child = Command::new(our_bin("vswitchd"))
        .arg("--db-only")
        .arg("--rundir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(f)
        .spawn()
        .expect("start vswitchd --db-only");
    (child, stderr)
}

fn read_text(p: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned()
}

impl Ours {
    /// Starts the server and waits until its socket accepts connections.
    fn start(dir: &Path, args: &[&str], tag: &str) -> Ours {
        let (child, stderr) = spawn_ours(dir, args, tag);
        let mut me = Ours {
            child,
            dir: dir.to_owned(),
            stderr,
        };
        let sock = me.socket();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = me.child.try_wait().expect("try_wait") {
                panic!(
                    "our server exited ({st}) while starting:\n{}",
                    me.stderr_text()
                );
            }
            if UnixStream::connect(&sock).is_ok() {
                return me;
            }
            assert!(
                Instant::now() < deadline,
                "our server did not accept on {} within 10 s:\n{}",
                sock.display(),
                me.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    fn stderr_text(&self) -> String {
        read_text(&self.stderr)
    }

    /// Number of open file descriptors of the server process.
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// SIGKILL; returns what the server wrote to stderr.
    fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr_text()
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// A tiny blocking JSON-RPC client: a reader thread parses what arrives into a
// channel (and answers `echo` requests); the caller sends and waits.

enum Incoming {
    Msg(Value),
    /// The connection ended: "eof" or the error.
    Closed(String),
}

struct Client {
    w: Arc<Mutex<UnixStream>>,
    rx: mpsc::Receiver<Incoming>,
    next_id: u64,
    /// Notifications received while waiting for a reply.
    stash: VecDeque<Value>,
    closed: Option<String>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Parses back-to-back JSON values; returns the complete ones and how many
/// bytes they took, or an error for bytes that can never become JSON.
fn parse_values(buf: &[u8]) -> Result<(Vec<Value>, usize), String> {
    let mut it = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
    let mut out = Vec::new();
    let mut consumed = 0;
    loop {
        match it.next() {
            Some(Ok(v)) => {
                consumed = it.byte_offset();
                out.push(v);
            }
            Some(Err(e)) if e.is_eof() => break,
            Some(Err(e)) => return Err(format!("bad JSON from server: {e}")),
            None => break,
        }
    }
    Ok((out, consumed))
}

fn reader_thread(mut s: UnixStream, w: Arc<Mutex<UnixStream>>, tx: mpsc::Sender<Incoming>) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) => {
                let _ = tx.send(Incoming::Closed("eof".into()));
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Incoming::Closed(e.to_string()));
                return;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        match parse_values(&buf) {
            Ok((values, consumed)) => {
                buf.drain(..consumed);
                for v in values {
                    if v["method"] == "echo" && !v["id"].is_null() {
                        let reply = json!({"result": v["params"], "error": null, "id": v["id"]});
                        let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
                        let _ = w.write_all(reply.to_string().as_bytes());
                    }
                    if tx.send(Incoming::Msg(v)).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(Incoming::Closed(e));
                return;
            }
        }
    }
}

impl Client {
    fn connect(path: &Path) -> std::io::Result<Client> {
        let s = UnixStream::connect(path)?;
        s.set_write_timeout(Some(REPLY_TIMEOUT))?;
        let w = Arc::new(Mutex::new(s.try_clone()?));
        let (tx, rx) = mpsc::channel();
        let w2 = w.clone();
        let reader = std::thread::spawn(move || reader_thread(s, w2, tx));
        Ok(Client {
            w,
            rx,
            next_id: 1,
            stash: VecDeque::new(),
            closed: None,
            reader: Some(reader),
        })
    }

    fn send(&self, v: &Value) -> std::io::Result<()> {
        let mut w = self.w.lock().unwrap_or_else(|p| p.into_inner());
        w.write_all(v.to_string().as_bytes())
    }

    /// Sends a request; returns its id.
    fn request(&mut self, method: &str, params: Value) -> std::io::Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"method": method, "params": params, "id": id}))?;
        Ok(id)
    }

    /// The next message, `Err` once the connection is closed or on timeout.
    fn recv(&mut self, timeout: Duration) -> Result<Value, String> {
        if let Some(c) = &self.closed {
            return Err(format!("closed: {c}"));
        }
        match self.rx.recv_timeout(timeout) {
            Ok(Incoming::Msg(v)) => Ok(v),
            Ok(Incoming::Closed(c)) => {
                self.closed = Some(c.clone());
                Err(format!("closed: {c}"))
            }
            Err(_) => Err(format!("nothing received within {timeout:?}")),
        }
    }

    /// Waits for the reply to `id`, stashing notifications.
    fn reply(&mut self, id: u64) -> Result<Value, String> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self.recv(left)?;
            if m.get("method").is_some() {
                if m["id"].is_null() {
                    self.stash.push_back(m);
                }
                continue;
            }
            if m["id"] == json!(id) {
                return Ok(m);
            }
        }
    }

    /// A request and its whole reply message; panics if either fails.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self
            .request(method, params.clone())
            .unwrap_or_else(|e| panic!("cannot send {method} {params}: {e}"));
        self.reply(id)
            .unwrap_or_else(|e| panic!("no reply to {method} {params}: {e}"))
    }

    /// `transact` on `Open_vSwitch`; returns the result array, which must
    /// hold no error.
    fn transact_ok(&mut self, ops: Value) -> Vec<Value> {
        let mut params = vec![json!(DB)];
        params.extend(ops.as_array().expect("ops array").iter().cloned());
        let r = self.call("transact", Value::Array(params));
        let result = r["result"].as_array().cloned().unwrap_or_else(|| {
            panic!("transact {ops} failed: {r}");
        });
        assert!(
            result.iter().all(|o| o.get("error").is_none()) && result.len() == ops_len(&ops),
            "transact {ops} failed: {r}"
        );
        result
    }

    /// The next notification (stashed first), waiting up to `timeout`.
    fn notification(&mut self, timeout: Duration) -> Result<Value, String> {
        if let Some(n) = self.stash.pop_front() {
            return Ok(n);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.recv(deadline.saturating_duration_since(Instant::now()))?;
            if m.get("method").is_some() && m["id"].is_null() {
                return Ok(m);
            }
        }
    }
}

fn ops_len(ops: &Value) -> usize {
    ops.as_array().map(Vec::len).unwrap_or(0)
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(w) = self.w.lock() {
            let _ = w.shutdown(std::net::Shutdown::Both);
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Operations and checks on the Open_vSwitch database.

fn uuid_of(v: &Value) -> String {
    v[1].as_str()
        .unwrap_or_else(|| panic!("not a uuid: {v}"))
        .to_owned()
}

/// The uuids of an OVSDB set-of-uuid datum (a single atom or `["set", ...]`).
fn uuid_set(v: &Value) -> Vec<String> {
    if v[0] == "set" {
        v[1].as_array()
            .expect("set elements")
            .iter()
            .map(uuid_of)
            .collect()
    } else {
        vec![uuid_of(v)]
    }
}

/// Ops inserting bridges `names` and linking them from the root row.
fn insert_bridges(names: &[String], tag: &str) -> Value {
    let mut ops: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({"op": "insert", "table": "Bridge", "uuid-name": format!("b{i}"),
                   "row": {"name": n, "external_ids": ["map", [["tag", tag]]]}})
        })
        .collect();
    let refs: Vec<Value> = (0..names.len())
        .map(|i| json!(["named-uuid", format!("b{i}")]))
        .collect();
    ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [],
                    "mutations": [["bridges", "insert", ["set", refs]]]}));
    Value::Array(ops)
}

fn delete_bridge(uuid: &str) -> Value {
    json!([
        {"op": "mutate", "table": "Open_vSwitch", "where": [],
         "mutations": [["bridges", "delete", ["set", [["uuid", uuid]]]]]},
        {"op": "delete", "table": "Bridge", "where": [["_uuid", "==", ["uuid", uuid]]]}
    ])
}

/// Reads the database and checks its invariants: exactly one root row,
/// `Open_vSwitch.bridges` and the `Bridge` table name the same rows (strong
/// references resolve, unreferenced bridges were collected), bridge names
/// are unique. Returns name -> uuid.
fn read_bridges(c: &mut Client) -> BTreeMap<String, String> {
    let r = c.transact_ok(json!([
        {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["_uuid", "bridges"]},
        {"op": "select", "table": "Bridge", "where": [], "columns": ["_uuid", "name"]}
    ]));
    let roots = r[0]["rows"].as_array().expect("rows");
    assert_eq!(roots.len(), 1, "one Open_vSwitch row expected: {}", r[0]);
    let mut referenced = uuid_set(&roots[0]["bridges"]);
    referenced.sort();
    let rows = r[1]["rows"].as_array().expect("rows");
    let mut by_name = BTreeMap::new();
    let mut uuids = Vec::new();
    for row in rows {
        let name = row["name"].as_str().expect("name").to_owned();
        let u = uuid_of(&row["_uuid"]);
        uuids.push(u.clone());
        assert!(
            by_name.insert(name.clone(), u).is_none(),
            "duplicate bridge name {name}"
        );
    }
    uuids.sort();
    assert_eq!(
        referenced, uuids,
        "Open_vSwitch.bridges and the Bridge table disagree"
    );
    by_name
}

/// Sets up the root row of a fresh database.
fn init_root(c: &mut Client) {
    c.transact_ok(json!([{"op": "insert", "table": "Open_vSwitch", "row": {}}]));
}

// ---------------------------------------------------------------------------
// Crash test.

/// What the test knows about a bridge name.
#[derive(Debug, Clone, PartialEq)]
enum Known {
    /// Acknowledged insert (uuid), no delete sent since.
    Present(String),
    /// Acknowledged delete.
    Absent,
    /// Sent in transaction `txn`, not acknowledged: the transaction may or
    /// may not have committed, but all of it or none.
    InFlight { txn: u64 },
}

struct Model {
    names: BTreeMap<String, Known>,
    next_name: u64,
    next_txn: u64,
}

/// Checks the database against the model after a restart and resolves the
/// in-flight entries.
fn check_model(c: &mut Client, m: &mut Model, ctx: &str) {
    let db = read_bridges(c);
    for name in db.keys() {
        assert!(
            m.names.contains_key(name),
            "{ctx}: bridge {name} was never inserted"
        );
    }
    // All-or-nothing per unacknowledged transaction.
    let mut txns: BTreeMap<u64, Vec<bool>> = BTreeMap::new();
    for (name, k) in &mut m.names {
        match k.clone() {
            Known::Present(u) => assert_eq!(
                db.get(name),
                Some(&u),
                "{ctx}: acknowledged bridge {name} is missing or changed"
            ),
            Known::Absent => assert!(
                !db.contains_key(name),
                "{ctx}: acknowledged delete of {name} was lost"
            ),
            Known::InFlight { txn } => {
                txns.entry(txn).or_default().push(db.contains_key(name));
                *k = match db.get(name) {
                    Some(u) => Known::Present(u.clone()),
                    None => Known::Absent,
                };
            }
        }
    }
    for (txn, seen) in txns {
        assert!(
            seen.iter().all(|&s| s == seen[0]),
            "{ctx}: transaction {txn} was partly committed: {seen:?}"
        );
    }
}

/// Commits transactions (up to 4 in flight) until the connection dies;
/// updates the model as requests are sent and acknowledged.
fn crash_writer(sock: PathBuf, mut m: Model, seed: u64) -> (Model, Result<u64, String>) {
    let mut rng = XorShift::new(seed);
    let mut c = match Client::connect(&sock) {
        Ok(c) => c,
        Err(_) => return (m, Ok(0)), // already killed
    };
    // id -> (txn, names, is_delete)
    let mut outstanding: BTreeMap<u64, (u64, Vec<String>, bool)> = BTreeMap::new();
    let mut acked = 0u64;
    loop {
        while outstanding.len() < 4 {
            let present: Vec<(String, String)> = m
                .names
                .iter()
                .filter_map(|(n, k)| match k {
                    Known::Present(u) => Some((n.clone(), u.clone())),
                    _ => None,
                })
                .collect();
            let txn = m.next_txn;
            m.next_txn += 1;
            // Keep the database small (every transaction rewrites the
            // root row's set of bridges) but never empty.
            let p_delete = match present.len() {
                0..=5 => 0,
                6..=30 => 2,
                _ => 5,
            };
            let (ops, names, is_delete) = if rng.range(0, 6) < p_delete {
                let (n, u) = &present[rng.range(0, present.len() as u64) as usize];
                (delete_bridge(u), vec![n.clone()], true)
            } else {
                let k = rng.range(1, 4);
                let names: Vec<String> = (0..k)
                    .map(|_| {
                        m.next_name += 1;
                        format!("cb{}", m.next_name)
                    })
                    .collect();
                (insert_bridges(&names, &format!("t{txn}")), names, false)
            };
            for n in &names {
                m.names.insert(n.clone(), Known::InFlight { txn });
            }
            let mut params = vec![json!(DB)];
            params.extend(ops.as_array().expect("ops").iter().cloned());
            match c.request("transact", Value::Array(params)) {
                Ok(id) => {
                    outstanding.insert(id, (txn, names, is_delete));
                }
                Err(_) => return (m, Ok(acked)),
            }
        }
        let msg = match c.recv(REPLY_TIMEOUT) {
            Ok(v) => v,
            Err(e) if e.starts_with("closed") => return (m, Ok(acked)),
            Err(e) => return (m, Err(e)),
        };
        let Some(id) = msg["id"].as_u64() else {
            continue;
        };
        let Some((_, names, is_delete)) = outstanding.remove(&id) else {
            continue;
        };
        let Some(result) = msg["result"].as_array() else {
            return (m, Err(format!("transact failed: {msg}")));
        };
        if result.iter().any(|r| r.get("error").is_some()) {
            return (m, Err(format!("transact failed: {msg}")));
        }
        acked += 1;
        if is_delete {
            if result.get(1).map(|r| r["count"] != 1).unwrap_or(true) {
                return (m, Err(format!("delete did not delete one row: {msg}")));
            }
            m.names.insert(names[0].clone(), Known::Absent);
        } else {
            for (i, n) in names.iter().enumerate() {
                m.names
                    .insert(n.clone(), Known::Present(uuid_of(&result[i]["uuid"])));
            }
        }
    }
}

#[test]
fn acknowledged_transactions_survive_sigkill() {
    let seed = seed();
    eprintln!("ROBUSTNESS_SEED={seed}");
    let mut rng = XorShift::new(seed);
    let dir = TempDir::new("rvcrash");
    let started = Instant::now();
    let mut model = Model {
        names: BTreeMap::new(),
        next_name: 0,
        next_txn: 0,
    };
    {
        let s = Ours::start(dir.path(), &[], "init");
        let mut c = Client::connect(&s.socket()).expect("connect");
        init_root(&mut c);
    }
    let rounds = 40;
    let mut total_acked = 0;
    let (mut last_len, mut compactions) = (0, 0);
    for round in 0..rounds {
        let ctx = format!("seed {seed}, round {round}");
        // Alternate fsync on and off: a process crash must lose nothing
        // acknowledged either way (the kernel keeps what was written).
        let args: &[&str] = if round % 2 == 0 {
            &[]
        } else {
            &["--no-db-sync"]
        };
        // Sometimes kill the server while it is still starting (recovering).
        if rng.range(0, 5) == 0 {
            let (mut child, _) = spawn_ours(dir.path(), args, &format!("early{round}"));
            std::thread::sleep(Duration::from_millis(rng.range(0, 30)));
            let _ = child.kill();
            let _ = child.wait();
        }
        let s = Ours::start(dir.path(), args, &format!("r{round}"));
        {
            let mut c = Client::connect(&s.socket()).expect("connect");
            check_model(&mut c, &mut model, &ctx);
        }
        let sock = s.socket();
        let wseed = rng.next();
        let writer = std::thread::spawn(move || crash_writer(sock, model, wseed));
        std::thread::sleep(Duration::from_millis(rng.range(10, 300)));
        let stderr = s.kill();
        let (m, r) = writer.join().expect("writer thread");
        model = m;
        let len = std::fs::metadata(dir.join("conf.rvsdb"))
            .map(|m| m.len())
            .unwrap_or(0);
        if len < last_len {
            compactions += 1;
        }
        last_len = len;
        total_acked += r.unwrap_or_else(|e| panic!("{ctx}: {e}\nserver stderr:\n{stderr}"));
        assert!(
            !stderr.contains("panicked"),
            "{ctx}: server panicked:\n{stderr}"
        );
    }
    // Final restart: consistent, complete, and it takes new transactions.
    let s = Ours::start(dir.path(), &[], "final");
    let mut c = Client::connect(&s.socket()).expect("connect");
    check_model(&mut c, &mut model, &format!("seed {seed}, final"));
    c.transact_ok(insert_bridges(&["after-crashes".into()], "final"));
    let db = read_bridges(&mut c);
    assert!(db.contains_key("after-crashes"));
    assert!(
        total_acked >= rounds as u64,
        "too few transactions were acknowledged ({total_acked}) for the test to mean anything"
    );
    // An independent reader agrees: the real ovsdb-client can dump it all.
    require("ovsdb-client", "openvswitch-common");
    let dump = run_ok(
        Command::new("ovsdb-client")
            .arg("--timeout=10")
            .arg("dump")
            .arg(format!("unix:{}", s.socket().display()))
            .arg(DB)
            .arg("Bridge"),
    );
    for name in db.keys() {
        assert!(
            dump.contains(name.as_str()),
            "{name} missing from dump:\n{dump}"
        );
    }
    eprintln!(
        "{total_acked} transactions acknowledged over {rounds} crashes, {} bridges, \
         {compactions} compactions seen, {:?}",
        db.len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Damaged and foreign files.

/// Starts a server on a fresh directory, commits the root row and one
/// transaction per bridge in `names`, then kills it.
fn db_with_bridges(dir: &Path, names: &[&str]) {
    let s = Ours::start(dir, &[], "setup");
    let mut c = Client::connect(&s.socket()).expect("connect");
    init_root(&mut c);
    for n in names {
        c.transact_ok(insert_bridges(&[n.to_string()], "x"));
    }
    drop(c);
    s.kill();
}

/// Offset of the last record's header in our log file.
fn last_record(bytes: &[u8]) -> usize {
    let magic = b"OVSDBLOG1 ";
    (0..bytes.len() - magic.len())
        .rev()
        .find(|&i| &bytes[i..i + magic.len()] == magic)
        .expect("a record header")
}

fn damaged_tail_is_dropped(damage: impl FnOnce(&mut Vec<u8>), what: &str) {
    let dir = TempDir::new("rvtail");
    db_with_bridges(dir.path(), &["t1", "t2", "t3", "t4", "t5"]);
    let file = dir.join("conf.rvsdb");
    let mut bytes = std::fs::read(&file).expect("read db");
    damage(&mut bytes);
    std::fs::write(&file, &bytes).expect("write db");

    let s = Ours::start(dir.path(), &[], "damaged");
    let mut c = Client::connect(&s.socket()).expect("connect");
    let names: Vec<String> = read_bridges(&mut c).into_keys().collect();
    assert_eq!(names, ["t1", "t2", "t3", "t4"], "{what}");
    let err = s.stderr_text();
    assert!(
        err.contains("WARN") && err.contains("conf.rvsdb") && err.contains("discarded"),
        "{what}: no recovery warning on stderr:\n{err}"
    );
    c.transact_ok(insert_bridges(&["t6".into()], "x"));
    drop(c);
    s.kill();

    // The repaired file is clean: no warning, and the new commit is there.
    let s = Ours::start(dir.path(), &[], "again");
    let mut c = Client::connect(&s.socket()).expect("connect");
    let names: Vec<String> = read_bridges(&mut c).into_keys().collect();
    assert_eq!(names, ["t1", "t2", "t3", "t4", "t6"], "{what}");
    assert!(
        !s.stderr_text().contains("WARN"),
        "{what}: warning after repair:\n{}",
        s.stderr_text()
    );
}

#[test]
fn truncated_log_tail_is_dropped_with_a_warning() {
    damaged_tail_is_dropped(
        |b| {
            let last = last_record(b);
            b.truncate(last + (b.len() - last) / 2);
        },
        "truncated mid-record",
    );
}

#[test]
fn corrupt_log_tail_is_dropped_with_a_warning() {
    damaged_tail_is_dropped(
        |b| {
            let last = last_record(b);
            let body = last + b[last..].iter().position(|&c| c == b'\n').expect("header") + 1;
            let i = body + (b.len() - body) / 2;
            b[i] ^= 0x01;
        },
        "byte flipped in the last record",
    );
}

#[test]
fn foreign_database_file_is_refused_and_left_alone() {
    require("ovsdb-tool", "openvswitch-common");
    let dir = TempDir::new("rvforeign");
    let file = dir.join("conf.rvsdb");
    run_ok(
        Command::new("ovsdb-tool")
            .arg("create")
            .arg(&file)
            .arg(tests::OVS_SCHEMA),
    );
    let before = std::fs::read(&file).expect("read");
    let mtime = std::fs::metadata(&file).and_then(|m| m.modified()).ok();
    let (mut child, stderr) = spawn_ours(dir.path(), &[], "foreign");
    let mut status = None;
    wait_for(Duration::from_secs(10), || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("our server kept running on a foreign database file");
    };
    let err = read_text(&stderr);
    assert!(!status.success(), "exit status {status}; stderr:\n{err}");
    assert!(
        err.contains("not a log file of this format") && err.contains("conf.rvsdb"),
        "unclear error:\n{err}"
    );
    assert_eq!(std::fs::read(&file).expect("read"), before, "file modified");
    assert_eq!(
        std::fs::metadata(&file).and_then(|m| m.modified()).ok(),
        mtime
    );
    assert!(!dir.join("db.sock").exists(), "socket created anyway");
}

// ---------------------------------------------------------------------------
// Bad input.

/// Sends `bytes` on a fresh connection and reads until the server closes it
/// (or `wait` passes); returns the messages received and whether it closed.
fn send_raw(sock: &Path, bytes: &[u8], wait: Duration) -> (Vec<Value>, bool) {
    let mut s = UnixStream::connect(sock).expect("connect");
    s.write_all(bytes).expect("write");
    s.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = loop {
        match s.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    let (values, _) = parse_values(&buf).unwrap_or_default();
    (values, closed)
}

/// Input that is not a JSON-RPC message stream: the session is closed.
const CLOSING: &[(&str, &[u8])] = &[
    ("malformed JSON", br#"{"method":"echo",,}"#),
    ("a JSON string", br#""hello""#),
    ("a JSON array", b"[1,2]"),
    ("an object that is not JSON-RPC", br#"{"foo":1}"#),
    (
        "params not an array",
        br#"{"method":"transact","params":"x","id":1}"#,
    ),
    ("method not a string", br#"{"method":5,"params":[],"id":1}"#),
];

/// Input our server refuses by closing the session where the real server
/// answers: invalid UTF-8 (which it echoes back, producing invalid JSON) and
/// nesting beyond our depth cap (64; OVSDB messages nest about 10 deep).
fn closing_ours_only() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!(
        r#"{{"method":"echo","params":[{}{}],"id":1}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    vec![
        (
            "invalid UTF-8",
            b"{\"method\":\"echo\",\"params\":[\"\xff\xfe\"],\"id\":1}".to_vec(),
        ),
        ("nesting too deep", deep.into_bytes()),
    ]
}

/// Ops inserting bridge `name` (a valid first half of a transaction).
fn partial(name: &str) -> Vec<Value> {
    insert_bridges(&[name.to_owned()], "partial")
        .as_array()
        .expect("ops")
        .clone()
}

/// Bad requests that get a reply: (name, method, params).
fn replied_cases() -> Vec<(&'static str, &'static str, Value)> {
    let with = |name: &str, bad: Value| {
        let mut p = vec![json!(DB)];
        p.extend(partial(name));
        p.push(bad);
        Value::Array(p)
    };
    let dangling = "0b0b0b0b-0000-4000-8000-000000000000";
    vec![
        ("op not an object", "transact", with("p1", json!(5))),
        (
            "table not a string",
            "transact",
            with("p2", json!({"op": "insert", "table": 5, "row": {}})),
        ),
        (
            "row not an object",
            "transact",
            with("p3", json!({"op": "insert", "table": "Bridge", "row": [1]})),
        ),
        (
            "unknown table",
            "transact",
            with("p4", json!({"op": "insert", "table": "Nope", "row": {}})),
        ),
        (
            "unknown column",
            "transact",
            with(
                "p5",
                json!({"op": "insert", "table": "Bridge", "row": {"nope": 1}}),
            ),
        ),
        (
            "unknown op",
            "transact",
            with("p6", json!({"op": "frob", "table": "Bridge"})),
        ),
        (
            "wrong datum type",
            "transact",
            with(
                "p7",
                json!({"op": "insert", "table": "Bridge", "row": {"name": 5}}),
            ),
        ),
        (
            "missing table",
            "transact",
            with("p8", json!({"op": "select", "where": []})),
        ),
        (
            "enum constraint violation",
            "transact",
            json!([DB,
                {"op": "insert", "table": "Bridge", "uuid-name": "b",
                 "row": {"name": "p9", "protocols": "OpenFlow99"}},
                {"op": "mutate", "table": "Open_vSwitch", "where": [],
                 "mutations": [["bridges", "insert", ["named-uuid", "b"]]]}]),
        ),
        (
            "unique index violation",
            "transact",
            json!([DB,
                {"op": "insert", "table": "Bridge", "uuid-name": "a", "row": {"name": "p10"}},
                {"op": "insert", "table": "Bridge", "uuid-name": "b", "row": {"name": "p10"}},
                {"op": "mutate", "table": "Open_vSwitch", "where": [],
                 "mutations": [["bridges", "insert", ["set", [["named-uuid", "a"], ["named-uuid", "b"]]]]]}]),
        ),
        (
            "referential integrity violation",
            "transact",
            json!([DB,
                {"op": "insert", "table": "Bridge", "uuid-name": "b",
                 "row": {"name": "p11", "ports": ["uuid", dangling]}},
                {"op": "mutate", "table": "Open_vSwitch", "where": [],
                 "mutations": [["bridges", "insert", ["named-uuid", "b"]]]}]),
        ),
        ("no database name", "transact", json!([])),
        ("unknown database", "transact", json!(["Nope"])),
        ("unknown method", "frobnicate", json!([])),
    ]
}

/// The RFC 7047 shape of a reply: the error kind of a failed request, or per
/// operation "ok" / the error kind / null.
fn shape(reply: &Value) -> Value {
    if !reply["error"].is_null() {
        let e = &reply["error"];
        return json!({"error": e.get("error").unwrap_or(e)});
    }
    match reply["result"].as_array() {
        Some(ops) => ops
            .iter()
            .map(|o| {
                if o.is_null() {
                    Value::Null
                } else if let Some(e) = o.get("error") {
                    e.clone()
                } else {
                    json!("ok")
                }
            })
            .collect(),
        None => json!({"odd reply": reply}),
    }
}

/// Shapes of `replied_cases` against the server at `sock`.
fn replied_shapes(sock: &Path) -> Vec<Value> {
    let mut c = Client::connect(sock).expect("connect");
    replied_cases()
        .into_iter()
        .map(|(name, method, params)| {
            let r = c.call(method, params);
            assert!(r["id"].as_u64().is_some(), "{name}: {r}");
            shape(&r)
        })
        .collect()
}

/// The well-behaved monitoring client still gets updates and answers.
fn still_served(m: &mut Client, tag: &str) {
    let name = format!("good-{tag}");
    let id = m
        .request(
            "transact",
            Value::Array(
                std::iter::once(json!(DB))
                    .chain(
                        insert_bridges(std::slice::from_ref(&name), "good")
                            .as_array()
                            .expect("ops")
                            .iter()
                            .cloned(),
                    )
                    .collect(),
            ),
        )
        .expect("send");
    let r = m.reply(id).unwrap_or_else(|e| panic!("after {tag}: {e}"));
    assert!(r["error"].is_null(), "after {tag}: {r}");
    let n = m
        .notification(REPLY_TIMEOUT)
        .unwrap_or_else(|e| panic!("after {tag}: no update: {e}"));
    assert_eq!(n["method"], "update", "after {tag}: {n}");
    assert!(n.to_string().contains(&name), "after {tag}: {n}");
    assert!(!n.to_string().contains("partial"), "after {tag}: {n}");
}

#[test]
fn bad_input_gets_rfc7047_errors_and_harms_no_one_else() {
    // Shapes from the real server first.
    let real = tests::RealOvsdb::start();
    {
        let mut c = Client::connect(&real.socket()).expect("connect real");
        init_root(&mut c);
    }
    let expected = replied_shapes(&real.socket());
    for (what, bytes) in CLOSING {
        let (_, closed) = send_raw(&real.socket(), bytes, Duration::from_secs(5));
        assert!(
            closed,
            "real ovsdb-server did not close on {what}: the case is wrong"
        );
    }

    let dir = TempDir::new("rvbad");
    let s = Ours::start(dir.path(), &[], "bad");
    let mut m = Client::connect(&s.socket()).expect("connect");
    init_root(&mut m);
    let r = m.call(
        "monitor",
        json!([DB, "mon", {"Bridge": {"columns": ["name"]}}]),
    );
    assert!(r["error"].is_null(), "{r}");
    still_served(&mut m, "start");
    let fds = s.open_fds();

    // Sessions that must be closed.
    let closing = CLOSING
        .iter()
        .map(|(w, b)| (*w, b.to_vec()))
        .chain(closing_ours_only());
    for (what, bytes) in closing {
        let (msgs, closed) = send_raw(&s.socket(), &bytes, Duration::from_secs(5));
        assert!(closed, "{what}: session not closed");
        for msg in &msgs {
            assert!(
                msg["result"].is_null() && !msg["error"].is_null() && msg["id"].is_null(),
                "{what}: unexpected message before close: {msg}"
            );
        }
        still_served(&mut m, what);
    }

    // Bad requests: replies shaped like the real server's, nothing committed.
    let got = replied_shapes(&s.socket());
    let cases = replied_cases();
    let mut diffs = Vec::new();
    for (i, (e, g)) in expected.iter().zip(&got).enumerate() {
        if e != g {
            diffs.push(format!("{}: real {e}, ours {g}", cases[i].0));
        }
    }
    assert!(
        diffs.is_empty(),
        "reply shapes differ:\n{}",
        diffs.join("\n")
    );
    still_served(&mut m, "bad requests");
    let names = read_bridges(&mut m);
    assert!(
        names.keys().all(|n| n.starts_with("good-")),
        "a failed transaction left rows behind: {names:?}"
    );

    // A client that vanishes mid-frame, many times over.
    for i in 0..20 {
        let mut c = UnixStream::connect(s.socket()).expect("connect");
        let frame = json!({"method": "transact", "params": [DB, partial(&format!("vanish{i}"))[0]], "id": 1}).to_string();
        c.write_all(&frame.as_bytes()[..frame.len() / 2])
            .expect("write");
    }
    still_served(&mut m, "vanishing clients");
    assert!(
        read_bridges(&mut m).keys().all(|n| n.starts_with("good-")),
        "a torn frame committed something"
    );

    // An oversized frame: a 40 MiB string that never ends. The server must
    // close the session once its 32 MiB cap is passed, not read it all.
    let mut c = UnixStream::connect(s.socket()).expect("connect");
    c.set_write_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let total = 40usize << 20;
    let mut sent = 0usize;
    let head = br#"{"method":"echo","params":[""#;
    c.write_all(head).expect("write");
    sent += head.len();
    let chunk = vec![b'x'; 1 << 16];
    let err = loop {
        if sent >= total {
            break None;
        }
        match c.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Some(e),
        }
    };
    let err =
        err.unwrap_or_else(|| panic!("the server read all {sent} bytes of an oversized frame"));
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        "oversized frame: expected the server to close the session, got {err} after {sent} bytes"
    );
    assert!(sent < total, "{sent}");
    drop(c);
    still_served(&mut m, "oversized frame");

    // Every abusive session is gone: no descriptor leaked.
    assert!(
        wait_for(Duration::from_secs(10), || s.open_fds() <= fds),
        "descriptors leaked: {} open, {fds} before",
        s.open_fds()
    );
    assert!(!s.stderr_text().contains("panicked"), "{}", s.stderr_text());
}

#[test]
fn a_client_that_never_reads_is_dropped_and_others_are_served() {
    let dir = TempDir::new("rvslow");
    let s = Ours::start(dir.path(), &["--no-db-sync"], "slow");
    let mut m = Client::connect(&s.socket()).expect("connect");
    init_root(&mut m);
    m.transact_ok(insert_bridges(&["big".into()], "x"));
    let r = m.call(
        "monitor",
        json!([DB, "mon", {"Bridge": {"columns": ["name"]}}]),
    );
    assert!(r["error"].is_null(), "{r}");
    let mut writer = Client::connect(&s.socket()).expect("connect");

    // The slow client monitors the big column and never reads.
    let mut slow = UnixStream::connect(s.socket()).expect("connect");
    slow.write_all(
        json!({"method": "monitor", "params": [DB, "slow", {"Bridge": {"columns": ["external_ids"]}}], "id": 1})
            .to_string()
            .as_bytes(),
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(100));
    let fds = s.open_fds();

    // ~2 MiB per transaction, ~4 MiB per update (old and new): 24 of them
    // overflow the 64 MiB queue cap.
    let started = Instant::now();
    let mut dropped = false;
    for i in 0..24 {
        let blob = format!("{i:04}{}", "y".repeat(2 << 20));
        writer.transact_ok(json!([{"op": "update", "table": "Bridge",
            "where": [["name", "==", "big"]],
            "row": {"external_ids": ["map", [["blob", blob]]]}}]));
        // Keep the slow session active so that only the queue cap, not the
        // inactivity probe, can end it.
        let _ = slow.write_all(br#"{"method":"echo","params":[],"id":"s"}"#);
        if s.open_fds() < fds {
            dropped = true;
            break;
        }
    }
    still_served(&mut m, "slow reader");
    dropped = dropped || wait_for(Duration::from_secs(10), || s.open_fds() < fds);
    assert!(
        dropped,
        "the client that never reads was not disconnected ({:?})",
        started.elapsed()
    );
    // What it can still read is what the kernel buffered, then end of file.
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match slow.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("slow client: {e} after {got} bytes"),
        }
    }
    assert!(got < 32 << 20, "the slow client got {got} bytes");
    still_served(&mut m, "after the drop");
    assert!(!s.stderr_text().contains("panicked"), "{}", s.stderr_text());
}
