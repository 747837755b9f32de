//! Real OVSDB clients against our server, side by side with a real
//! `ovsdb-server` (Debian's Open vSwitch 3.1) on a fresh database:
//!
//! * `ovsdb-client` (`list-dbs`, `get-schema`, `list-tables`, `dump`,
//!   `transact`, `monitor`, `monitor-cond`, `monitor-cond-since`): same
//!   output, UUIDs masked;
//! * the Python `ovs` IDL (what ovsdbapp wraps), driven by
//!   `tests/py/ovs_idl_probe.py`: same transcript, and it must succeed.
//!
//! Where the real server's output order follows its hash tables or random
//! UUIDs (not the protocol), both outputs are put in a canonical order first.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tests::{OurOvsdb, RealOvsdb, TempDir, mask_uuids, require, run, run_ok};

fn client() -> Command {
    require("ovsdb-client", "openvswitch-common");
    let mut c = Command::new("ovsdb-client");
    c.arg("--timeout=20");
    c
}

fn ovsdb_client(remote: &str, args: &[&str]) -> String {
    let mut c = client();
    // ovsdb-client wants the command first, then the server.
    let (cmd, rest) = args.split_first().expect("a command");
    run_ok(c.arg(cmd).arg(remote).args(rest))
}

fn vsctl(remote: &str, args: &str) -> String {
    require("ovs-vsctl", "openvswitch-common");
    run_ok(
        Command::new("ovs-vsctl")
            .args(["--no-wait", "--timeout=10"])
            .arg(format!("--db={remote}"))
            .args(args.split_whitespace()),
    )
}

/// Both servers, initialised with `ovs-vsctl init`.
struct Pair {
    real: RealOvsdb,
    ours: OurOvsdb,
}

impl Pair {
    fn start() -> Pair {
        let pair = Pair {
            real: RealOvsdb::start(),
            ours: OurOvsdb::start(),
        };
        for r in pair.remotes() {
            vsctl(&r, "init");
        }
        pair
    }

    /// `[real, ours]`.
    fn remotes(&self) -> [String; 2] {
        [self.real.remote(), self.ours.remote()]
    }

    /// Runs `f` on each server; returns `[real, ours]`.
    fn both<T>(&self, mut f: impl FnMut(&str) -> T) -> [T; 2] {
        let [r, o] = self.remotes();
        [f(&r), f(&o)]
    }
}

fn assert_same(what: &str, [real, ours]: &[String; 2]) {
    assert!(
        real == ours,
        "{what} differs\n--- real ovsdb-server\n{real}\n+++ ours\n{ours}\n{}",
        first_difference(real, ours)
    );
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("first different line ({}):\n- {x}\n+ {y}", i + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    )
}

fn sorted_lines(s: &str) -> String {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort();
    v.join("\n")
}

#[test]
fn list_dbs_and_schemas() {
    let pair = Pair::start();
    assert_same("list-dbs", &pair.both(|r| ovsdb_client(r, &["list-dbs"])));
    for db in ["Open_vSwitch", "_Server"] {
        assert_same(
            &format!("get-schema {db}"),
            &pair.both(|r| canonical_json(&ovsdb_client(r, &["get-schema", db]))),
        );
        for cmd in ["get-schema-version", "get-schema-cksum"] {
            assert_same(cmd, &pair.both(|r| ovsdb_client(r, &[cmd, db])));
        }
        // Table and column order follows the real server's hash tables.
        for cmd in ["list-tables", "list-columns"] {
            assert_same(
                cmd,
                &pair.both(|r| sorted_lines(&ovsdb_client(r, &[cmd, db]))),
            );
        }
    }
    // And it is the schema Debian ships: same name, version and checksum.
    let shipped = std::fs::read_to_string(tests::OVS_SCHEMA).expect("read the shipped schema");
    let field = |text: &str, key: &str| {
        let p = run_ok(
            python()
                .arg("-c")
                .arg(format!(
                    "import json,sys; print(json.load(sys.stdin)[{key:?}])"
                ))
                .stdin_text(text),
        );
        p.trim().to_owned()
    };
    let ours = ovsdb_client(&pair.ours.remote(), &["get-schema", "Open_vSwitch"]);
    for key in ["name", "version", "cksum"] {
        assert_eq!(field(&ours, key), field(&shipped, key), "{key}");
    }
}

/// Feeding text to a command's stdin, for [`run_ok`].
trait StdinText {
    fn stdin_text(&mut self, text: &str) -> &mut Self;
}

impl StdinText for Command {
    fn stdin_text(&mut self, text: &str) -> &mut Self {
        let path = std::env::temp_dir().join(tests::unique_name("stdin-", 40));
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .expect("write stdin file");
        let file = std::fs::File::open(&path).expect("open stdin file");
        let _ = std::fs::remove_file(&path);
        self.stdin(file)
    }
}

/// A stream of JSON values in canonical form (Python's `json`): keys sorted,
/// the `data` rows of `ovsdb-client --format=json` tables sorted, UUIDs
/// masked; one value per line.
fn canonical_json(text: &str) -> String {
    const SCRIPT: &str = r#"
import json, sys
text = sys.stdin.read()
dec = json.JSONDecoder()
i = 0
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    v, i = dec.raw_decode(text, i)
    if isinstance(v, dict) and isinstance(v.get("data"), list):
        v["data"].sort(key=lambda r: json.dumps(r, sort_keys=True))
    print(json.dumps(v, sort_keys=True))
"#;
    run_ok(python().arg("-c").arg(SCRIPT).stdin_text(&mask_uuids(text)))
}

/// `ovsdb-client dump` in text form: rows of a table are listed in an order
/// that follows their UUIDs, so data lines are sorted within each table.
fn canonical_dump(text: &str) -> String {
    let masked = mask_uuids(text);
    let mut out = String::new();
    for block in masked.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        // Caption, headings, dashes, then one line per row.
        let (head, rows) = lines.split_at(lines.len().min(3));
        let mut rows = rows.to_vec();
        rows.sort();
        for l in head.iter().chain(rows.iter()) {
            out.push_str(l);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

const SETUP: &[&str] = &[
    "add-br br0 -- set Bridge br0 other_config:hwaddr=00:11:22:33:44:55",
    "add-port br0 p1 -- set Port p1 tag=5 trunks=1,2,3",
    "add-port br0 p2 -- set Interface p2 type=internal external_ids:k=v",
    "add-br br1 -- set-controller br1 tcp:127.0.0.1:6653",
    "set Open_vSwitch . external_ids:system-id=test other_config:x=1",
];

#[test]
fn dump_matches_real_server() {
    let pair = Pair::start();
    for cmd in SETUP {
        pair.both(|r| vsctl(r, cmd));
    }
    for db in ["Open_vSwitch", "_Server"] {
        assert_same(
            &format!("dump {db}"),
            &pair.both(|r| canonical_dump(&ovsdb_client(r, &["dump", db]))),
        );
        assert_same(
            &format!("dump --format=json {db}"),
            &pair.both(|r| canonical_json(&ovsdb_client(r, &["dump", "--format=json", db]))),
        );
    }
    // One table, some columns.
    assert_same(
        "dump Bridge name ports",
        &pair.both(|r| {
            canonical_dump(&ovsdb_client(
                r,
                &["dump", "Open_vSwitch", "Bridge", "name", "ports"],
            ))
        }),
    );
}

/// Transactions as `ovsdb-client transact` takes them; each runs on both
/// servers in turn. Errors included. Selects return rows in an order that
/// follows their UUIDs, so each one here matches at most one row.
const TRANSACTIONS: &[&str] = &[
    r#"["Open_vSwitch",{"op":"select","table":"Bridge","where":[],"columns":["name","other_config"]}]"#,
    r#"["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":"br9","stp_enable":true},"uuid-name":"b"},{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["bridges","insert",["set",[["named-uuid","b"]]]]]},{"op":"comment","comment":"add br9"}]"#,
    r#"["Open_vSwitch",{"op":"update","table":"Bridge","where":[["name","==","br9"]],"row":{"external_ids":["map",[["a","b"]]]}},{"op":"mutate","table":"Bridge","where":[["name","==","br9"]],"mutations":[["flood_vlans","insert",["set",[1,2]]]]},{"op":"select","table":"Bridge","where":[["name","==","br9"]],"columns":["external_ids","flood_vlans","stp_enable"]}]"#,
    r#"["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"name":"br9"}}]"#,
    r#"["Open_vSwitch",{"op":"insert","table":"Bridge","row":{"nosuch":"x"}}]"#,
    r#"["Open_vSwitch",{"op":"update","table":"Bridge","where":[["name","==","br9"]],"row":{"flood_vlans":5000}}]"#,
    r#"["Open_vSwitch",{"op":"wait","table":"Bridge","timeout":0,"where":[["name","==","br9"]],"columns":["name"],"until":"!=","rows":[{"name":"br9"}]}]"#,
    r#"["Open_vSwitch",{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]},{"op":"select","table":"Open_vSwitch","where":[],"columns":["next_cfg"]}]"#,
    r#"["Open_vSwitch",{"op":"assert","lock":"nobody"}]"#,
    r#"["Open_vSwitch",{"op":"select","table":"Bridge","where":[["name","==","br0"]],"columns":["name","flood_vlans"]},{"op":"abort"}]"#,
    r#"["Open_vSwitch",{"op":"bogus"}]"#,
    r#"["Nope",{"op":"abort"}]"#,
    r#"["_Server",{"op":"select","table":"Database","where":[["name","==","Open_vSwitch"]],"columns":["name","model","connected","leader","cid","sid","index"]}]"#,
    r#"["_Server",{"op":"insert","table":"Database","row":{"name":"x","model":"standalone"}},{"op":"comment","comment":"x"}]"#,
    r#"["_Server",{"op":"select","table":"Database","where":[["name","==","_Server"]],"columns":["name"]},{"op":"update","table":"Database","where":[],"row":{"leader":false}},{"op":"abort"}]"#,
    r#"["_Server",{"op":"wait","table":"Database","timeout":0,"where":[],"columns":["name"],"until":"==","rows":[]}]"#,
    r#"["_Server",{"op":"select","table":"Database","where":[["name","==",1]]}]"#,
    // Deleting a row that is still referenced.
    r#"["Open_vSwitch",{"op":"delete","table":"Bridge","where":[["name","==","br0"]]}]"#,
];

/// Transactions whose error kinds must agree but whose error details still
/// differ (see the note in each).
const TRANSACTIONS_SAME_ERROR_KIND: &[&str] = &[
    // Deleting the Port row of a bridge that is still referenced: the two
    // servers agree on the error; which referrer the message names may
    // differ (the real server walks rows in hash order).
    r#"["Open_vSwitch",{"op":"delete","table":"Port","where":[["name","==","br0"]]}]"#,
];

/// Replaces the text of every `"details":"..."` member with `<details>`.
fn mask_details(s: &str) -> String {
    let key = "\"details\":\"";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        out.push_str("<details>");
        rest = &rest[i + key.len()..];
        // Skip to the closing quote (escaped quotes do not end it).
        let mut end = rest.len();
        let mut esc = false;
        for (k, c) in rest.char_indices() {
            match c {
                '\\' if !esc => esc = true,
                '"' if !esc => {
                    end = k;
                    break;
                }
                _ => esc = false,
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn transact_matches_real_server() {
    let pair = Pair::start();
    pair.both(|r| vsctl(r, "add-br br0"));
    let mut mismatches = Vec::new();
    let all = TRANSACTIONS
        .iter()
        .map(|t| (t, false))
        .chain(TRANSACTIONS_SAME_ERROR_KIND.iter().map(|t| (t, true)));
    for (t, kinds_only) in all {
        let [real, ours] = pair.both(|r| {
            let out = run(client().arg("transact").arg(r).arg(t));
            format!(
                "{}{}exit={}",
                mask_uuids(&String::from_utf8_lossy(&out.stdout)),
                mask_uuids(&String::from_utf8_lossy(&out.stderr)),
                out.status.code().unwrap_or(-1)
            )
        });
        let (real, ours) = if kinds_only {
            assert!(real.contains("\"error\""), "{t} did not fail: {real}");
            (mask_details(&real), mask_details(&ours))
        } else {
            (real, ours)
        };
        if real != ours {
            mismatches.push(format!("{t}\n--- real\n{real}\n+++ ours\n{ours}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} transactions differ:\n{}",
        mismatches.len(),
        TRANSACTIONS.len() + TRANSACTIONS_SAME_ERROR_KIND.len(),
        mismatches.join("\n\n")
    );
}

/// A detached `ovsdb-client monitor...` writing to a file; `--detach`
/// returns once the monitor's initial reply has arrived, so changes made
/// afterwards are seen. Killed on drop.
struct Monitor {
    pidfile: PathBuf,
    out: PathBuf,
}

impl Monitor {
    fn start(dir: &Path, name: &str, args: &[&str]) -> Monitor {
        let pidfile = dir.join(format!("{name}.pid"));
        let out = dir.join(format!("{name}.out"));
        let file = std::fs::File::create(&out).expect("create monitor output");
        require("ovsdb-client", "openvswitch-common");
        // No --timeout: it would end the monitor too.
        let status = Command::new("ovsdb-client")
            .arg("--detach")
            .arg("--no-chdir")
            .arg(format!("--pidfile={}", pidfile.display()))
            // Its control socket goes there.
            .env("OVS_RUNDIR", dir)
            .args(args)
            .stdout(file)
            .stderr(Stdio::null())
            .status()
            .expect("run ovsdb-client");
        assert!(status.success(), "ovsdb-client {args:?} failed: {status}");
        Monitor { pidfile, out }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pidfile) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).output();
        }
    }
}

/// What each monitor watches (after `ovsdb-client --detach ... <command>
/// <server>`).
const MONITORS: &[(&str, &[&str])] = &[
    (
        "bridge-csv",
        &[
            "--format=csv",
            "monitor",
            "Open_vSwitch",
            "Bridge",
            "name,ports,other_config,stp_enable,fail_mode",
        ],
    ),
    (
        "bridge-json",
        &[
            "--format=json",
            "monitor",
            "Open_vSwitch",
            "Bridge",
            "name,other_config",
        ],
    ),
    (
        "bridge-v1-text",
        &[
            "monitor",
            "Open_vSwitch",
            "Bridge",
            "name,ports,other_config",
        ],
    ),
    (
        "cond",
        &[
            "monitor-cond",
            "Open_vSwitch",
            r#"[["name","==","brA"]]"#,
            "Bridge",
            "name,stp_enable",
        ],
    ),
    (
        "cond-since",
        &[
            "monitor-cond-since",
            "Open_vSwitch",
            "[]",
            "Port",
            "name,tag,trunks",
        ],
    ),
    (
        "iface-no-initial",
        &[
            "--format=json",
            "monitor",
            "Open_vSwitch",
            "Interface",
            "name,type,!initial,!modify",
        ],
    ),
    (
        "server",
        &[
            "monitor",
            "_Server",
            "Database",
            "name,model,connected,leader",
        ],
    ),
    (
        "root",
        &[
            "monitor",
            "Open_vSwitch",
            "Open_vSwitch",
            "bridges,external_ids",
        ],
    ),
];

const CHANGES: &[&str] = &[
    "add-br brA",
    "set Bridge brA other_config:k=v stp_enable=true",
    "add-port brA p1 -- set Port p1 tag=3 trunks=1,2",
    "set Port p1 trunks=2,3",
    "set Port p1 tag=4",
    "clear Port p1 tag",
    "set-fail-mode brA secure",
    "set-fail-mode brA standalone",
    "del-fail-mode brA",
    "set Bridge brA other_config:k=w other_config:z=1",
    "add-br brB -- set Open_vSwitch . external_ids:x=y",
    "del-port p1",
    "del-br brA",
];

fn run_monitors(remote: &str) -> Vec<(String, String)> {
    let dir = TempDir::new("mon");
    let mons: Vec<(&str, Monitor)> = MONITORS
        .iter()
        .map(|(name, args)| {
            // The server goes after the command name.
            let pos = args
                .iter()
                .position(|a| a.starts_with("monitor"))
                .expect("a monitor command");
            let mut full: Vec<&str> = args[..=pos].to_vec();
            full.push(remote);
            full.extend_from_slice(&args[pos + 1..]);
            (*name, Monitor::start(dir.path(), name, &full))
        })
        .collect();
    for c in CHANGES {
        vsctl(remote, c);
        // One update per transaction: give the monitors time to print.
        std::thread::sleep(Duration::from_millis(100));
    }
    // Wait until the outputs stop growing (updates are sent before the
    // reply that caused them, but the monitors still have to print them).
    let total = || mons.iter().map(|(_, m)| m.output().len()).sum::<usize>();
    let mut last = total();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = total();
        if now == last {
            break;
        }
        last = now;
    }
    mons.iter()
        .map(|(name, m)| {
            let out = mask_uuids(&m.output());
            // The initial rows of `_Server` come in UUID-hash order.
            let out = if *name == "server" {
                sorted_lines(&out)
            } else {
                out
            };
            (name.to_string(), out)
        })
        .collect()
}

#[test]
fn monitors_match_real_server() {
    let pair = Pair::start();
    let [real, ours] = pair.both(run_monitors);
    let mut mismatches = Vec::new();
    for ((name, r), (_, o)) in real.iter().zip(&ours) {
        assert!(!r.trim().is_empty(), "monitor {name} printed nothing");
        if r != o {
            mismatches.push(format!(
                "monitor {name}\n--- real\n{r}\n+++ ours\n{o}\n{}",
                first_difference(r, o)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} monitors differ:\n{}",
        mismatches.len(),
        MONITORS.len(),
        mismatches.join("\n")
    );
    // The monitors did see every kind of change.
    let all: String = real.iter().map(|(_, o)| o.as_str()).collect();
    for kind in ["initial", "insert", "old", "new", "delete"] {
        assert!(all.contains(kind), "no {kind} in\n{all}");
    }
}

fn python() -> Command {
    let py = Path::new("/usr/bin/python3");
    assert!(
        py.is_file(),
        "/usr/bin/python3 is missing: install the Debian package 'python3'"
    );
    let check = run(Command::new(py).args(["-c", "import ovs.db.idl"]));
    assert!(
        check.status.success(),
        "the Python ovs library is missing: install the Debian package \
         'python3-openvswitch' (apt-get install -y python3-openvswitch), or run ./scripts/test.sh"
    );
    Command::new(py)
}

fn probe_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("py/ovs_idl_probe.py")
}

/// Runs the IDL probe; returns its transcript (UUIDs masked).
fn idl_probe(remote: &str, idle_secs: u32) -> String {
    let mut cmd = python();
    cmd.arg(probe_script()).arg(remote);
    if idle_secs > 0 {
        cmd.arg(idle_secs.to_string());
    }
    let out = run(cmd.env("PYTHONUNBUFFERED", "1"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.ends_with("OK\n"),
        "the Python IDL probe failed against {remote} ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    mask_uuids(&stdout)
}

#[test]
fn python_idl_behaves_the_same() {
    let pair = Pair::start();
    let transcripts = pair.both(|r| idl_probe(r, 0));
    assert_same("the Python IDL transcript", &transcripts);
    // What the probe checked is really in the transcript.
    for needle in [
        "insert br-py: success",
        "condition name==br-c1: ['br-c1']",
        "duplicate br-py: error (constraint violation",
    ] {
        assert!(transcripts[0].contains(needle), "{}", transcripts[0]);
    }
}

/// Over TCP, idle past the server's echo probe interval: the session must
/// survive (the IDL answers our `echo`, we answer its).
#[test]
fn python_idl_over_tcp_survives_idle_probes() {
    let ours = OurOvsdb::start_with_tcp();
    let remote = ours.tcp_remote();
    vsctl(&remote, "init");
    let t = idl_probe(&remote, 7);
    assert!(t.contains("after idle: success"), "{t}");
}

#[test]
fn details_masking() {
    assert_eq!(
        mask_details(r#"[{"count":1},{"details":"a \"q\" b","error":"x"}]"#),
        r#"[{"count":1},{"details":"<details>","error":"x"}]"#
    );
}
