//! `ovsdb::client` against real servers: our `vswitchd --db-only` and
//! Debian's `ovsdb-server`, each in a private directory and always stopped.
//! Every scenario runs against both (`ours::*`, `real::*`). A missing
//! `ovsdb-server` is a failure that says what to install, never a skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ovsdb::client::{
    ClientError, ClientOptions, Condition, LockState, MonitorSpec, MonitorVersion, Mutation,
    Replica, Txn, blocking::Client, map_json, set_json,
};
use ovsdb::datum::{Datum, Uuid};
use serde_json::{Value, json};

const DB: &str = "Open_vSwitch";
const T: Option<Duration> = Some(Duration::from_secs(10));
const OVS_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

fn temp_dir(prefix: &str) -> tempfile::TempDir {
    // Short: unix socket paths are limited to 107 bytes.
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("create temp dir")
}

fn wait_for_file(p: &Path, what: &str) {
    let start = Instant::now();
    while !p.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what} did not create {}",
            p.display()
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// A server under test, stopped on drop.
enum Server {
    Ours {
        dir: tempfile::TempDir,
        child: Child,
        tcp: String,
    },
    Real {
        dir: tempfile::TempDir,
    },
}

/// Same trick as tests/src/lib.rs `our_bin`: target/<profile>/deps/<test>
/// -> target/<profile>/<name>.
fn our_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .join(name);
    assert!(
        bin.is_file(),
        "{} is not built: run `cargo build -p {name}` with the same target directory",
        bin.display()
    );
    bin
}

fn require(cmd: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "'{cmd}' is not installed: install the Debian package '{package}' \
         (apt-get install -y {package}; see docs/interop.md), or run ./scripts/test.sh"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

impl Server {
    fn ours() -> Server {
        let dir = temp_dir("ovc");
        let port = free_port();
        let child = Command::new(our_bin("vswitchd"))
            .arg("--db-only")
            .arg("--rundir")
            .arg(dir.path())
            .arg("--no-db-sync")
            .arg(format!("--remote=ptcp:{port}:127.0.0.1"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start vswitchd --db-only");
        let s = Server::Ours {
            dir,
            child,
            tcp: format!("tcp:127.0.0.1:{port}"),
        };
        wait_for_file(&s.socket(), "vswitchd --db-only");
        s
    }

    fn real() -> Server {
        require("ovsdb-server", "openvswitch-switch");
        require("ovsdb-tool", "openvswitch-common");
        assert!(
            Path::new(OVS_SCHEMA).exists(),
            "{OVS_SCHEMA} is missing: install openvswitch-common"
        );
        let dir = temp_dir("ovr");
        let d = dir.path();
        let db = d.join("conf.db");
        let st = Command::new("ovsdb-tool")
            .arg("create")
            .arg(&db)
            .arg(OVS_SCHEMA)
            .status()
            .expect("run ovsdb-tool");
        assert!(st.success(), "ovsdb-tool create failed");
        let st = Command::new("ovsdb-server")
            .arg(&db)
            .arg(format!("--remote=punix:{}", d.join("db.sock").display()))
            .arg(format!("--pidfile={}", d.join("pid").display()))
            .arg(format!("--unixctl={}", d.join("ctl").display()))
            .arg(format!("--log-file={}", d.join("log").display()))
            .args(["--detach", "--no-chdir"])
            .output()
            .expect("run ovsdb-server");
        assert!(
            st.status.success(),
            "ovsdb-server failed to start: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let s = Server::Real { dir };
        wait_for_file(&s.socket(), "ovsdb-server");
        s
    }

    fn dir(&self) -> &Path {
        match self {
            Server::Ours { dir, .. } | Server::Real { dir } => dir.path(),
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir().join("db.sock")
    }

    fn remote(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    fn connect(&self) -> Client {
        Client::connect(&self.remote(), &ClientOptions::default()).expect("connect")
    }

    fn kill(&mut self) {
        match self {
            Server::Ours { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Server::Real { dir } => {
                if let Ok(pid) = std::fs::read_to_string(dir.path().join("pid")) {
                    let _ = Command::new("kill").args(["-9", pid.trim()]).status();
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Makes sure the `Open_vSwitch` row exists (as `ovs-vsctl init` does);
/// returns its uuid.
fn init(c: &Client) -> Uuid {
    let mut t = Txn::new(DB);
    let sel = t.select(DB, &[], Some(&["_uuid"]));
    let r = c.commit(t).expect("select Open_vSwitch");
    if let Some(u) = r.rows(sel).first() {
        return uuid(&u["_uuid"]);
    }
    let mut t = Txn::new(DB);
    let row = t.insert(DB, json!({}));
    c.commit(t)
        .expect("insert Open_vSwitch")
        .uuid(&row)
        .unwrap()
}

fn uuid(v: &Value) -> Uuid {
    Uuid::parse_strict(v[1].as_str().expect("uuid json")).expect("uuid")
}

// ---------------------------------------------------------------------------
// Scenarios.

fn list_dbs_and_schema(s: &Server) {
    let c = s.connect();
    let dbs = c.list_dbs().unwrap();
    assert!(dbs.iter().any(|d| d == DB), "{dbs:?}");
    let schema = c.get_schema(DB).unwrap();
    assert_eq!(schema.name, DB);
    let bridge = schema.table("Bridge").expect("Bridge table");
    assert!(bridge.column("ports").is_some());
    assert!(
        schema
            .table("Open_vSwitch")
            .unwrap()
            .column("cur_cfg")
            .is_some()
    );
    c.echo().unwrap();
    // The same through the async core, as the daemon uses it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = ovsdb::client::Client::connect(&s.remote(), &ClientOptions::default())
            .await
            .unwrap();
        let schema = c.schema(DB).await.unwrap();
        let m = c
            .monitor(DB, MonitorSpec::all_tables(&schema))
            .await
            .unwrap();
        assert_eq!(m.version(), MonitorVersion::MonitorCondSince);
        assert_eq!(
            m.read(|r| r.table("Bridge").unwrap().columns.len()),
            bridge.columns.len() - 2
        );
    });
}

/// Every row of `table` as the server has it now (via `select` on `c`),
/// typed with the schema, for the monitored `columns`.
fn server_rows(
    c: &Client,
    table: &str,
    columns: &[&str],
) -> BTreeMap<Uuid, BTreeMap<String, Datum>> {
    let schema = c.schema(DB).unwrap();
    let ts = schema.table(table).unwrap();
    let mut t = Txn::new(DB);
    let mut cols = columns.to_vec();
    cols.push("_uuid");
    let sel = t.select(table, &[], Some(&cols));
    let r = c.commit(t).unwrap();
    r.rows(sel)
        .iter()
        .map(|row| {
            let u = uuid(&row["_uuid"]);
            let data = columns
                .iter()
                .map(|col| {
                    let ty = &ts.column(col).unwrap().type_;
                    (
                        col.to_string(),
                        Datum::from_json(&row[*col], ty, None).unwrap(),
                    )
                })
                .collect();
            (u, data)
        })
        .collect()
}

fn replica_rows(r: &Replica, table: &str) -> BTreeMap<Uuid, BTreeMap<String, Datum>> {
    r.rows(table)
        .map(|row| {
            (
                row.uuid(),
                row.columns()
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect(),
            )
        })
        .collect()
}

const BRIDGE_COLS: &[&str] = &["name", "ports", "other_config", "fail_mode", "external_ids"];
const PORT_COLS: &[&str] = &["name", "tag", "trunks", "interfaces", "bond_updelay"];

/// Waits until `watcher`'s replica equals what `c` selects from the server.
fn assert_converges(watcher: &Client, m: &ovsdb::client::Monitor, c: &Client, step: &str) {
    let want_b = server_rows(c, "Bridge", BRIDGE_COLS);
    let want_p = server_rows(c, "Port", PORT_COLS);
    let ok = watcher.wait_until(m, T, |r| {
        replica_rows(r, "Bridge") == want_b && replica_rows(r, "Port") == want_p
    });
    if ok.is_err() {
        let r = m.snapshot();
        panic!(
            "{step}: replica did not converge\nreplica bridges {:?}\nserver  bridges {want_b:?}\n\
             replica ports {:?}\nserver  ports {want_p:?}",
            replica_rows(&r, "Bridge"),
            replica_rows(&r, "Port")
        );
    }
}

fn replica_follows_changes(s: &Server) {
    let watcher = s.connect();
    let writer = s.connect();
    let ovs = init(&writer);
    let spec = MonitorSpec::new()
        .table("Bridge", BRIDGE_COLS)
        .table("Port", PORT_COLS)
        .table(DB, &["bridges"]);
    let m = watcher.monitor(DB, spec.clone()).unwrap();
    // The writer monitors too: its own changes are in its replica as soon as
    // commit returns (the server sends the update before the reply).
    let own = writer.monitor(DB, spec).unwrap();

    let mut t = Txn::new(DB);
    let iface = t.insert("Interface", json!({"name": "p1"}));
    let port = t.insert(
        "Port",
        json!({"name": "p1", "interfaces": iface, "tag": 5, "trunks": ["set", [1, 2, 3]]}),
    );
    let br = t.insert(
        "Bridge",
        json!({"name": "br0", "ports": port,
               "other_config": ["map", [["a", "1"], ["b", "2"]]],
               "external_ids": ["map", [["k", "v"]]]}),
    );
    t.mutate(
        DB,
        &[Condition::uuid(ovs)],
        &[Mutation::insert("bridges", set_json([br.to_json()]))],
    );
    t.comment("client test: add br0");
    let r = writer.commit(t).unwrap();
    let br_uuid = r.uuid(&br).unwrap();
    let port_uuid = r.uuid(&port).unwrap();
    assert!(
        own.read(|r| r.row("Bridge", br_uuid).is_some()),
        "own change not in the replica when commit returned"
    );
    assert_converges(&watcher, &m, &writer, "insert");
    m.read(|r| {
        let b = r.row("Bridge", br_uuid).unwrap();
        assert_eq!(b.string("name"), Some("br0"));
        assert_eq!(b.uuids("ports"), vec![port_uuid]);
        assert_eq!(
            b.map_get("other_config", "b").and_then(|a| a.as_str()),
            Some("2")
        );
        assert_eq!(r.row("Port", port_uuid).unwrap().integer("tag"), Some(5));
    });

    // Set diffs: remove and add elements; map diffs: replace, add, keep.
    let mut t = Txn::new(DB);
    t.mutate(
        "Port",
        &[Condition::uuid(port_uuid)],
        &[
            Mutation::delete("trunks", set_json([json!(2)])),
            Mutation::insert("trunks", set_json([json!(4), json!(7)])),
        ],
    );
    t.update(
        "Bridge",
        &[Condition::uuid(br_uuid)],
        json!({"other_config": map_json([(json!("a"), json!("1")), (json!("b"), json!("3")), (json!("c"), json!("4"))]),
               "fail_mode": "secure"}),
    );
    writer.commit(t).unwrap();
    assert_converges(&watcher, &m, &writer, "set/map diffs");

    // Map removals, optional columns changed and emptied, a scalar changed.
    let mut t = Txn::new(DB);
    t.update(
        "Bridge",
        &[Condition::uuid(br_uuid)],
        json!({"other_config": map_json([(json!("c"), json!("4"))]), "fail_mode": "standalone",
               "external_ids": ["map", []]}),
    );
    t.update(
        "Port",
        &[Condition::uuid(port_uuid)],
        json!({"tag": ["set", []], "trunks": ["set", []], "bond_updelay": 42}),
    );
    writer.commit(t).unwrap();
    assert_converges(&watcher, &m, &writer, "removals");
    m.read(|r| {
        let p = r.row("Port", port_uuid).unwrap();
        assert!(p.get("tag").unwrap().is_empty());
        assert_eq!(p.integer("bond_updelay"), Some(42));
    });

    // Delete the bridge: the orphaned port is garbage-collected, and both
    // deletions reach the replica.
    let mut t = Txn::new(DB);
    t.mutate(
        DB,
        &[Condition::uuid(ovs)],
        &[Mutation::delete("bridges", set_json([br_uuid.to_json()]))],
    );
    writer.commit(t).unwrap();
    assert_converges(&watcher, &m, &writer, "delete");
    m.read(|r| assert_eq!(r.rows("Port").count(), 0));
    // After monitor_cancel the replica stays as it was.
    watcher.monitor_cancel(&m).unwrap();
    let seq = m.read(Replica::seqno);
    let mut t = Txn::new(DB);
    let br1 = t.insert("Bridge", json!({"name": "br1"}));
    t.mutate(
        DB,
        &[Condition::uuid(ovs)],
        &[Mutation::insert("bridges", set_json([br1.to_json()]))],
    );
    writer.commit(t).unwrap();
    // The writer's replica got it; the cancelled one did not.
    assert_eq!(own.read(|r| r.rows("Bridge").count()), 1);
    watcher.echo().unwrap();
    assert_eq!(m.read(Replica::seqno), seq);
}

/// A stand-in for the switch daemon: copies next_cfg to cur_cfg.
struct FakeDaemon {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FakeDaemon {
    fn start(s: &Server) -> FakeDaemon {
        let c = s.connect();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = thread::spawn(move || {
            let m = c
                .monitor(DB, MonitorSpec::new().table(DB, &["next_cfg", "cur_cfg"]))
                .unwrap();
            let behind = |r: &Replica| {
                r.rows(DB)
                    .find(|row| row.integer("next_cfg") > row.integer("cur_cfg"))
                    .map(|row| (row.uuid(), row.integer("next_cfg").unwrap()))
            };
            while !stop2.load(Ordering::Relaxed) {
                let _ = c.wait_until(&m, Some(Duration::from_millis(50)), |r| behind(r).is_some());
                if let Some((u, next)) = m.read(behind) {
                    let mut t = Txn::new(DB);
                    t.update(DB, &[Condition::uuid(u)], json!({"cur_cfg": next}));
                    c.commit(t).unwrap();
                }
            }
        });
        FakeDaemon {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn cur_cfg_wait(s: &Server) {
    let c = s.connect();
    init(&c);
    let daemon = FakeDaemon::start(s);
    for i in 0..3 {
        let mut t = Txn::new(DB);
        t.insert("Bridge", json!({"name": format!("brw{i}")}));
        t.wait_for_cur_cfg(Duration::from_secs(10));
        let start = Instant::now();
        let r = c.commit(t).unwrap();
        let next = r.next_cfg.expect("next_cfg selected");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(r.results.len(), 3, "insert + mutate + select");
        let mut t = Txn::new(DB);
        let sel = t.select(DB, &[], Some(&["cur_cfg", "next_cfg"]));
        let now = c.commit(t).unwrap();
        assert!(now.rows(sel)[0]["cur_cfg"].as_i64().unwrap() >= next);
    }
    drop(daemon);
    // Nobody copies next_cfg any more: the wait times out, and the
    // transaction itself was committed.
    let mut t = Txn::new(DB);
    t.insert("Bridge", json!({"name": "brtimeout"}));
    t.wait_for_cur_cfg(Duration::from_millis(300));
    let start = Instant::now();
    let e = c.commit(t).unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(e.to_string().contains("committed"), "{e}");
    let mut t = Txn::new(DB);
    let sel = t.select(DB, &[], Some(&["cur_cfg", "next_cfg"]));
    let r = c.commit(t).unwrap();
    let row = &r.rows(sel)[0];
    assert!(row["next_cfg"].as_i64() > row["cur_cfg"].as_i64(), "{row}");
}

fn locks(s: &Server) {
    let a = s.connect();
    let b = s.connect();
    init(&a);
    let la = a.lock("L").unwrap();
    assert_eq!(la.state(), LockState::Held);
    let lb = b.lock("L").unwrap();
    assert_eq!(lb.state(), LockState::Waiting);
    // A second lock request of the same session is refused.
    assert!(matches!(a.lock("L"), Err(ClientError::Rpc { .. })));
    let mut t = Txn::new(DB);
    t.assert_lock("L");
    t.comment("holding L");
    a.commit(t).unwrap();
    // Releasing passes the lock to the waiter, who is told `locked`.
    a.unlock("L").unwrap();
    assert_eq!(la.state(), LockState::Unlocked);
    b.wait_lock(&lb, T, |s| s == LockState::Held).unwrap();
    // Stealing: the owner is told `stolen`, and its lock assertions fail.
    let la = a.steal("L").unwrap();
    assert_eq!(la.state(), LockState::Held);
    b.wait_lock(&lb, T, |s| s == LockState::Stolen).unwrap();
    let mut t = Txn::new(DB);
    t.assert_lock("L");
    match b.commit(t) {
        Err(ClientError::Transaction { index: 0, error }) => assert_eq!(error.error, "not owner"),
        other => panic!("{other:?}"),
    }
}

fn errors(s: &Server) {
    let c = s.connect();
    let ovs = init(&c);
    match c.get_schema("Nope") {
        Err(ClientError::Rpc { method, error, .. }) => {
            assert_eq!(
                (method.as_str(), error.as_str()),
                ("get_schema", "unknown database")
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(
        c.call("no_such_method", vec![])
            .unwrap_err()
            .is_unknown_method()
    );
    assert!(matches!(
        c.monitor(DB, MonitorSpec::new().table("Nope", &[])),
        Err(ClientError::InvalidRequest(_))
    ));
    // An operation error: tag is 0..4095.
    let mut t = Txn::new(DB);
    t.comment("first");
    t.insert("Port", json!({"name": "x", "tag": 5000}));
    match c.commit(t) {
        Err(ClientError::Transaction { index: 1, error }) => {
            assert_eq!(error.error, "constraint violation", "{error}")
        }
        other => panic!("{other:?}"),
    }
    // A commit-time error: a dangling strong reference.
    let mut t = Txn::new(DB);
    t.update(
        DB,
        &[Condition::uuid(ovs)],
        json!({"bridges": Uuid::random().to_json()}),
    );
    match c.commit(t) {
        Err(ClientError::Transaction { index: 1, error }) => {
            assert_eq!(error.error, "referential integrity violation", "{error}")
        }
        other => panic!("{other:?}"),
    }
    // Raw transact leaves the errors in the array.
    let r = c
        .transact(
            DB,
            vec![json!({"op": "select", "table": "Nope", "where": []})],
        )
        .map(|v| v.iter().any(|x| x.get("error").is_some()));
    assert!(
        matches!(r, Ok(true) | Err(ClientError::Rpc { .. })),
        "{r:?}"
    );
    // Connection errors.
    let missing = format!("unix:{}", s.dir().join("missing.sock").display());
    assert!(matches!(
        Client::connect(&missing, &ClientOptions::default()),
        Err(ClientError::Connect { .. })
    ));
    assert!(matches!(
        Client::connect("punix:/x", &ClientOptions::default()),
        Err(ClientError::InvalidRemote { .. })
    ));
}

fn server_dies(s: &mut Server) {
    let c = s.connect();
    let m = c
        .monitor(DB, MonitorSpec::new().table(DB, &["cur_cfg"]))
        .unwrap();
    let waiter = {
        let m = m.clone();
        thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(m.wait_until(T, |_| false))
        })
    };
    thread::sleep(Duration::from_millis(100));
    s.kill();
    let r = waiter.join().unwrap();
    assert!(matches!(r, Err(ClientError::Disconnected(_))), "{r:?}");
    assert!(matches!(c.list_dbs(), Err(ClientError::Disconnected(_))));
}

macro_rules! against {
    ($server:ident: $($name:ident),*) => {
        mod $server {
            $(
                #[test]
                fn $name() {
                    #[allow(unused_mut)]
                    let mut s = super::Server::$server();
                    super::$name(&mut s);
                }
            )*
        }
    };
}

against!(ours: list_dbs_and_schema, replica_follows_changes, cur_cfg_wait, locks, errors, server_dies);
against!(real: list_dbs_and_schema, replica_follows_changes, cur_cfg_wait, locks, errors, server_dies);

#[test]
fn tcp_remote_ours() {
    let s = Server::ours();
    let Server::Ours { tcp, .. } = &s else {
        unreachable!()
    };
    // The TCP listener comes up just after the unix socket.
    let start = Instant::now();
    let c = loop {
        match Client::connect(tcp, &ClientOptions::default()) {
            Ok(c) => break c,
            Err(e) if start.elapsed() > Duration::from_secs(5) => panic!("{e}"),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(c.list_dbs().unwrap().iter().any(|d| d == DB));
}
