//! `ovsdb-bench`: a load generator for an OVSDB server (ours or the real
//! `ovsdb-server`) serving the `Open_vSwitch` database on a unix socket.
//!
//! ```text
//! ovsdb-bench tps   --db PATH [--clients N] [--monitors M] [--seconds S]
//! ovsdb-bench ports --db PATH --bridge BR --count N [--prefix P] [--start K] [--chunk C]
//! ```
//!
//! `tps`: creates one Bridge row per client (`obench-<pid>-<k>`, referenced
//! from `Open_vSwitch.bridges`; the database must already hold its
//! `Open_vSwitch` row, e.g. after `ovs-vsctl --no-wait init`), opens `M`
//! sessions that `monitor_cond` the Bridge table (name, external_ids) and
//! read every update, then lets each of the `N` clients update
//! `external_ids:seq` of its own row back to back (one single-op `transact`
//! at a time, each waiting for its reply) for `S` seconds. Prints one line:
//!
//! ```text
//! tps=<txn/s> txns=<n> clients=<N> monitors=<M> seconds=<s> notifications=<n> row_updates=<n>
//! ```
//!
//! and exits non-zero if any reply carried an error, or if a monitor did
//! not end up seeing every row's last committed value. The real server may
//! coalesce several changes of a row into one notification when a monitor
//! lags (it flushes a session's monitors only when its send backlog is
//! empty), so "monitors got the updates" is checked as "each monitor's view
//! of each row converged to the last committed value"; `notifications` and
//! `row_updates` (totals over all monitors) show how much was delivered.
//!
//! `ports`: adds `N` ports (`<P><K>`...), each with one Interface, to bridge
//! `BR` in transactions of `C` ports, the way `ovs-vsctl add-port` builds
//! them.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

/// One JSON-RPC connection with incremental framing of the byte stream
/// (JSON values back to back, no delimiter).
struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
    /// Start of the message being scanned.
    start: usize,
    /// Scan state for `buf[start..scan]`.
    scan: usize,
    depth: usize,
    in_string: bool,
    escape: bool,
    next_id: u64,
}

impl Conn {
    fn connect(path: &str) -> Res<Conn> {
        let stream =
            UnixStream::connect(path).map_err(|e| format!("cannot connect to {path}: {e}"))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(1 << 16),
            start: 0,
            scan: 0,
            depth: 0,
            in_string: false,
            escape: false,
            next_id: 0,
        })
    }

    fn send(&mut self, v: &Value) -> Res<()> {
        let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
        self.stream
            .write_all(&bytes)
            .map_err(|e| format!("send: {e}"))
    }

    /// The end of a complete message in the buffer, if any.
    fn frame(&mut self) -> Option<usize> {
        while self.scan < self.buf.len() {
            let b = self.buf[self.scan];
            self.scan += 1;
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(self.scan);
                    }
                }
                b' ' | b'\n' | b'\r' | b'\t' if self.depth == 0 => self.start = self.scan,
                _ => {}
            }
        }
        None
    }

    /// The next message; `Ok(None)` when a read timeout expired first.
    fn recv(&mut self) -> Res<Option<Value>> {
        loop {
            if let Some(end) = self.frame() {
                let v = serde_json::from_slice(&self.buf[self.start..end])
                    .map_err(|e| format!("bad JSON from server: {e}"))?;
                self.start = end;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                    self.scan = 0;
                }
                return Ok(Some(v));
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.scan -= self.start;
                self.start = 0;
            }
            let len = self.buf.len();
            self.buf.resize(len + (1 << 16), 0);
            match self.stream.read(&mut self.buf[len..]) {
                Ok(0) => return Err("server closed the connection".into()),
                Ok(n) => self.buf.truncate(len + n),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.buf.truncate(len);
                    return Ok(None);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => self.buf.truncate(len),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Answers `echo` requests; returns the message if it is anything else.
    fn filter_echo(&mut self, m: Value) -> Res<Option<Value>> {
        if m.get("method").and_then(Value::as_str) == Some("echo") && !m["id"].is_null() {
            self.send(&json!({"result": m["params"], "error": null, "id": m["id"]}))?;
            return Ok(None);
        }
        Ok(Some(m))
    }

    /// Sends a request and waits for its response; anything else that
    /// arrives meanwhile goes to `other`.
    fn call(
        &mut self,
        method: &str,
        params: Value,
        mut other: impl FnMut(Value) -> Res<()>,
    ) -> Res<Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"method": method, "params": params, "id": id}))?;
        loop {
            let Some(m) = self.recv()? else { continue };
            let Some(m) = self.filter_echo(m)? else {
                continue;
            };
            if m.get("id").and_then(Value::as_u64) == Some(id) && m.get("method").is_none() {
                if !m["error"].is_null() {
                    return Err(format!("{method} failed: {}", m["error"]));
                }
                return Ok(m["result"].clone());
            }
            other(m)?;
        }
    }

    fn transact(&mut self, ops: Vec<Value>) -> Res<Value> {
        let mut params = vec![json!("Open_vSwitch")];
        params.extend(ops);
        let r = self.call("transact", Value::Array(params), |_| Ok(()))?;
        check_ops(&r)?;
        Ok(r)
    }
}

/// Fails if a `transact` result holds an error.
fn check_ops(r: &Value) -> Res<()> {
    let arr = r
        .as_array()
        .ok_or_else(|| format!("bad transact reply {r}"))?;
    for o in arr {
        if o.get("error").is_some() {
            return Err(format!("transaction failed: {r}"));
        }
    }
    Ok(())
}

struct Args(Vec<String>);

impl Args {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(String::as_str)
    }
    fn num(&self, name: &str, default: u64) -> Res<u64> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("bad {name} '{v}'")),
        }
    }
    fn need(&self, name: &str) -> Res<&str> {
        self.get(name).ok_or_else(|| format!("{name} is required"))
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let r = match argv.first().map(String::as_str) {
        Some("tps") => tps(&Args(argv)),
        Some("ports") => ports(&Args(argv)),
        _ => Err("usage: ovsdb-bench tps|ports --db PATH ... (see the source header)".into()),
    };
    if let Err(e) = r {
        eprintln!("ovsdb-bench: {e}");
        std::process::exit(1);
    }
}

fn ports(a: &Args) -> Res<()> {
    let db = a.need("--db")?;
    let bridge = a.need("--bridge")?;
    let prefix = a.get("--prefix").unwrap_or("q");
    let count = a.num("--count", 1000)?;
    let start = a.num("--start", 0)?;
    let chunk = a.num("--chunk", 1000)?.max(1);
    let mut c = Conn::connect(db)?;
    let mut k = start;
    while k < start + count {
        let end = (k + chunk).min(start + count);
        let mut ops = Vec::new();
        let mut refs = Vec::new();
        for i in k..end {
            let name = format!("{prefix}{i}");
            ops.push(
                json!({"op": "insert", "table": "Interface", "uuid-name": format!("i{i}"),
                            "row": {"name": name}}),
            );
            ops.push(
                json!({"op": "insert", "table": "Port", "uuid-name": format!("p{i}"),
                            "row": {"name": name, "interfaces": ["named-uuid", format!("i{i}")]}}),
            );
            refs.push(json!(["named-uuid", format!("p{i}")]));
        }
        ops.push(
            json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]],
                        "mutations": [["ports", "insert", ["set", refs]]]}),
        );
        let r = c.transact(ops)?;
        let n = r.as_array().map_or(0, Vec::len);
        if r[n - 1]["count"] != json!(1) {
            return Err(format!("no bridge named {bridge}"));
        }
        k = end;
    }
    Ok(())
}

/// What a monitor knows: row uuid -> last `seq` seen.
type View = HashMap<String, u64>;

fn seq_of(cols: &Value) -> Option<u64> {
    let pairs = cols.get("external_ids")?.get(1)?.as_array()?;
    pairs.iter().find_map(|p| {
        (p.get(0)?.as_str()? == "seq")
            .then(|| p.get(1)?.as_str()?.parse().ok())
            .flatten()
    })
}

/// Applies an `update2` table-updates object to `view`; returns the number
/// of row updates it held.
fn apply_update2(view: &mut View, updates: &Value) -> u64 {
    let mut n = 0;
    let Some(rows) = updates.get("Bridge").and_then(Value::as_object) else {
        return 0;
    };
    for (uuid, u) in rows {
        n += 1;
        let cols = u
            .get("modify")
            .or_else(|| u.get("insert"))
            .or_else(|| u.get("initial"));
        if let Some(s) = cols.and_then(seq_of) {
            view.insert(uuid.clone(), s);
        }
    }
    n
}

struct MonitorStats {
    notifications: u64,
    row_updates: u64,
}

fn run_monitor(
    db: &str,
    idx: usize,
    ready: &Barrier,
    passed: &mut bool,
    target: &Mutex<Option<View>>,
) -> Res<MonitorStats> {
    let mut c = Conn::connect(db)?;
    let initial = c.call(
        "monitor_cond",
        json!(["Open_vSwitch", format!("m{idx}"),
               {"Bridge": [{"columns": ["name", "external_ids"]}]}]),
        |_| Ok(()),
    )?;
    let mut view = View::new();
    apply_update2(&mut view, &initial);
    c.stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| e.to_string())?;
    ready.wait();
    *passed = true;
    let mut st = MonitorStats {
        notifications: 0,
        row_updates: 0,
    };
    let mut deadline = None;
    loop {
        if let Some(m) = c.recv()?
            && let Some(m) = c.filter_echo(m)?
        {
            if m.get("method").and_then(Value::as_str) == Some("update2") {
                st.notifications += 1;
                st.row_updates += apply_update2(&mut view, &m["params"][1]);
            }
            continue; // drain what is buffered before checking
        }
        let t = target.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = &*t {
            if t.iter().all(|(u, s)| view.get(u) == Some(s)) {
                return Ok(st);
            }
            let d = *deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(30));
            if Instant::now() > d {
                let missing: Vec<_> = t
                    .iter()
                    .filter(|(u, s)| view.get(*u) != Some(s))
                    .map(|(u, s)| format!("{u}: want seq {s}, saw {:?}", view.get(u)))
                    .collect();
                return Err(format!("monitor {idx} missed updates: {missing:?}"));
            }
        }
    }
}

fn tps(a: &Args) -> Res<()> {
    let db = a.need("--db")?.to_owned();
    let clients = a.num("--clients", 1)?.max(1) as usize;
    let monitors = a.num("--monitors", 0)? as usize;
    let seconds = a.num("--seconds", 5)?;

    // One Bridge row per client, referenced from the root row.
    let mut setup = Conn::connect(&db)?;
    let tag = std::process::id();
    let mut ops = Vec::new();
    let mut refs = Vec::new();
    for k in 0..clients {
        ops.push(
            json!({"op": "insert", "table": "Bridge", "uuid-name": format!("b{k}"),
                        "row": {"name": format!("obench-{tag}-{k}"),
                                "external_ids": ["map", [["seq", "0"]]]}}),
        );
        refs.push(json!(["named-uuid", format!("b{k}")]));
    }
    ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [],
                    "mutations": [["bridges", "insert", ["set", refs]]]}));
    let r = setup.transact(ops)?;
    if r[clients]["count"] != json!(1) {
        return Err("the database has no Open_vSwitch row (run ovs-vsctl init)".into());
    }
    let rows: Vec<String> = (0..clients)
        .map(|k| {
            r[k]["uuid"][1]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("bad insert reply {r}"))
        })
        .collect::<Res<_>>()?;

    let ready = Arc::new(Barrier::new(clients + monitors + 1));
    let target: Arc<Mutex<Option<View>>> = Arc::new(Mutex::new(None));
    let mut mons = Vec::new();
    for m in 0..monitors {
        let (db, ready, target) = (db.clone(), ready.clone(), target.clone());
        mons.push(std::thread::spawn(move || {
            let mut passed = false;
            let r = run_monitor(&db, m, &ready, &mut passed, &target);
            if !passed {
                // Do not leave the others waiting at the barrier.
                ready.wait();
            }
            r
        }));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for uuid in rows.iter().cloned() {
        let (db, ready, stop, total) = (db.clone(), ready.clone(), stop.clone(), total.clone());
        workers.push(std::thread::spawn(move || -> Res<(String, u64)> {
            let mut c = Conn::connect(&db);
            ready.wait();
            let c = c.as_mut().map_err(|e| e.clone())?;
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let next = seq + 1;
                let r = c.transact(vec![json!({
                    "op": "update", "table": "Bridge",
                    "where": [["_uuid", "==", ["uuid", uuid]]],
                    "row": {"external_ids": ["map", [["seq", next.to_string()]]]}})])?;
                if r[0]["count"] != json!(1) {
                    return Err(format!("update matched {} rows", r[0]["count"]));
                }
                seq = next;
                total.fetch_add(1, Ordering::Relaxed);
            }
            Ok((uuid, seq))
        }));
    }
    ready.wait();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut want = View::new();
    let mut errors = Vec::new();
    for w in workers {
        match w.join().map_err(|_| "client thread panicked".to_owned()) {
            Ok(Ok((u, s))) => {
                want.insert(u, s);
            }
            Ok(Err(e)) | Err(e) => errors.push(e),
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let txns = total.load(Ordering::Relaxed);
    if !errors.is_empty() {
        // Monitors cannot converge on a partial target: fail fast.
        return Err(errors.join("; "));
    }
    *target.lock().unwrap_or_else(|p| p.into_inner()) = Some(want);
    let (mut notifications, mut row_updates) = (0, 0);
    for m in mons {
        match m.join().map_err(|_| "monitor thread panicked".to_owned()) {
            Ok(Ok(st)) => {
                notifications += st.notifications;
                row_updates += st.row_updates;
            }
            Ok(Err(e)) | Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    println!(
        "tps={:.0} txns={txns} clients={clients} monitors={monitors} seconds={elapsed:.2} \
         notifications={notifications} row_updates={row_updates}",
        txns as f64 / elapsed
    );
    Ok(())
}
