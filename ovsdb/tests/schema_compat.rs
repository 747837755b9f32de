//! Our shipped schemas against the real Open vSwitch ones.
//!
//! * `Open_vSwitch`: ours must be semantically identical to Debian's
//!   `/usr/share/openvswitch/vswitch.ovsschema`, table by table and column
//!   by column, after both are normalized (RFC 7047 allows several spellings
//!   of one type; see [`canon_type`]).
//! * `_Server`: ours must equal what a real `ovsdb-server` returns for
//!   `get_schema _Server`.
//!
//! Missing Open vSwitch tools or files fail the tests with an install hint;
//! nothing is skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ovsdb::schemas::{SERVER_SCHEMA, VSWITCH_SCHEMA, server_json, vswitch_json};
use serde_json::{Value, json};

const DEBIAN_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// Tables we promise to ship, at least (we ship all of upstream's).
const REQUIRED_TABLES: &[&str] = &[
    "Open_vSwitch",
    "Bridge",
    "Port",
    "Interface",
    "Controller",
    "Manager",
    "Mirror",
    "Flow_Table",
    "QoS",
    "Queue",
    "SSL",
    "NetFlow",
    "sFlow",
    "IPFIX",
    "Flow_Sample_Collector_Set",
    "AutoAttach",
    "Datapath",
    "CT_Zone",
    "CT_Timeout_Policy",
];

// ---------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------

/// A base type in canonical form: an object with `type` first, then every
/// constraint present, `enum` as a sorted `["set", [...]]`, and `refType`
/// made explicit (`"strong"`) whenever `refTable` is present. Unknown keys
/// are kept, so they show up as differences.
fn canon_base(b: &Value) -> Value {
    let mut out = serde_json::Map::new();
    match b {
        Value::String(s) => {
            out.insert("type".into(), json!(s));
        }
        Value::Object(m) => {
            out.insert("type".into(), m.get("type").cloned().unwrap_or(Value::Null));
            let mut rest: BTreeMap<&str, Value> = BTreeMap::new();
            for (k, v) in m {
                match k.as_str() {
                    "type" => {}
                    "enum" => {
                        rest.insert("enum", canon_enum(v));
                    }
                    other => {
                        rest.insert(other, v.clone());
                    }
                }
            }
            if rest.contains_key("refTable") && !rest.contains_key("refType") {
                rest.insert("refType", json!("strong"));
            }
            for (k, v) in rest {
                out.insert(k.into(), v);
            }
        }
        other => {
            out.insert("type".into(), other.clone());
        }
    }
    Value::Object(out)
}

/// An enum is a set of atoms: one atom alone, or `["set", [...]]`, in any
/// order. Canonical: `["set", sorted]`.
fn canon_enum(v: &Value) -> Value {
    let atoms: Vec<Value> = match v {
        Value::Array(a) if a.len() == 2 && a[0] == "set" && a[1].is_array() => {
            a[1].as_array().unwrap().clone()
        }
        atom => vec![atom.clone()],
    };
    let mut sorted: Vec<(String, Value)> = atoms.into_iter().map(|a| (a.to_string(), a)).collect();
    sorted.sort_by(|x, y| x.0.cmp(&y.0));
    sorted.dedup_by(|x, y| x.0 == y.0);
    json!([
        "set",
        sorted.into_iter().map(|(_, a)| a).collect::<Vec<_>>()
    ])
}

/// A column type in canonical form: `{"key", "value" (null if none), "min",
/// "max"}`. `"integer"`, `{"key": "integer"}` and `{"key": {"type":
/// "integer"}, "min": 1, "max": 1}` all become the same value.
fn canon_type(t: &Value) -> Value {
    match t {
        Value::String(_) => json!({"key": canon_base(t), "value": null, "min": 1, "max": 1}),
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            out.insert(
                "key".into(),
                m.get("key").map(canon_base).unwrap_or(Value::Null),
            );
            out.insert(
                "value".into(),
                m.get("value").map(canon_base).unwrap_or(Value::Null),
            );
            out.insert("min".into(), m.get("min").cloned().unwrap_or(json!(1)));
            out.insert("max".into(), m.get("max").cloned().unwrap_or(json!(1)));
            for (k, v) in m {
                if !matches!(k.as_str(), "key" | "value" | "min" | "max") {
                    out.insert(k.clone(), v.clone());
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[derive(Debug, PartialEq)]
struct Column {
    /// Canonical type, see [`canon_type`].
    ty: Value,
    ephemeral: bool,
    mutable: bool,
    /// Any key we do not know, verbatim.
    other: BTreeMap<String, Value>,
}

#[derive(Debug, PartialEq)]
struct Table {
    columns: BTreeMap<String, Column>,
    is_root: bool,
    max_rows: Option<Value>,
    indexes: BTreeSet<BTreeSet<String>>,
    other: BTreeMap<String, Value>,
}

#[derive(Debug, PartialEq)]
struct Schema {
    name: Value,
    version: Value,
    cksum: Option<Value>,
    tables: BTreeMap<String, Table>,
    other: BTreeMap<String, Value>,
}

fn normalize(schema: &Value) -> Schema {
    let obj = schema.as_object().expect("a schema is a JSON object");
    let mut tables = BTreeMap::new();
    let empty = serde_json::Map::new();
    let json_tables = obj
        .get("tables")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (tname, t) in json_tables {
        let t = t.as_object().expect("a table is a JSON object");
        let mut columns = BTreeMap::new();
        for (cname, c) in t
            .get("columns")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
        {
            let c = c.as_object().expect("a column is a JSON object");
            let other = c
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "type" | "ephemeral" | "mutable"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            columns.insert(
                cname.clone(),
                Column {
                    ty: canon_type(c.get("type").unwrap_or(&Value::Null)),
                    ephemeral: c.get("ephemeral").and_then(Value::as_bool).unwrap_or(false),
                    mutable: c.get("mutable").and_then(Value::as_bool).unwrap_or(true),
                    other,
                },
            );
        }
        let indexes = t
            .get("indexes")
            .and_then(Value::as_array)
            .map(|ixs| {
                ixs.iter()
                    .map(|ix| {
                        ix.as_array()
                            .expect("an index is an array of column names")
                            .iter()
                            .map(|c| c.as_str().expect("column name").to_owned())
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let other = t
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "columns" | "isRoot" | "maxRows" | "indexes"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tables.insert(
            tname.clone(),
            Table {
                columns,
                is_root: t.get("isRoot").and_then(Value::as_bool).unwrap_or(false),
                max_rows: t.get("maxRows").cloned(),
                indexes,
                other,
            },
        );
    }
    // RFC 7047 / ovsdb-server: a schema in which no table is a root table
    // predates "isRoot", and then every table is a root table.
    if !tables.values().any(|t| t.is_root) {
        for t in tables.values_mut() {
            t.is_root = true;
        }
    }
    let other = obj
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "name" | "version" | "cksum" | "tables"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Schema {
        name: obj.get("name").cloned().unwrap_or(Value::Null),
        version: obj.get("version").cloned().unwrap_or(Value::Null),
        cksum: obj.get("cksum").cloned(),
        tables,
        other,
    }
}

/// Records a difference when `o` and `t` differ.
fn field(d: &mut Vec<String>, what: String, o: &dyn std::fmt::Debug, t: &dyn std::fmt::Debug) {
    let (o, t) = (format!("{o:?}"), format!("{t:?}"));
    if o != t {
        d.push(format!("{what}: ours {o}, theirs {t}"));
    }
}

/// Every difference between `ours` and `theirs`, one line each.
fn differences(ours: &Schema, theirs: &Schema) -> Vec<String> {
    let mut d = Vec::new();
    field(&mut d, "schema name".into(), &ours.name, &theirs.name);
    field(
        &mut d,
        "schema version".into(),
        &ours.version,
        &theirs.version,
    );
    field(&mut d, "schema cksum".into(), &ours.cksum, &theirs.cksum);
    field(
        &mut d,
        "schema extra keys".into(),
        &ours.other,
        &theirs.other,
    );
    for (tname, tt) in &theirs.tables {
        let Some(ot) = ours.tables.get(tname) else {
            d.push(format!("table {tname}: missing from ours"));
            continue;
        };
        field(&mut d, format!("{tname}: isRoot"), &ot.is_root, &tt.is_root);
        field(
            &mut d,
            format!("{tname}: maxRows"),
            &ot.max_rows,
            &tt.max_rows,
        );
        field(
            &mut d,
            format!("{tname}: indexes"),
            &ot.indexes,
            &tt.indexes,
        );
        field(&mut d, format!("{tname}: extra keys"), &ot.other, &tt.other);
        for (cname, tc) in &tt.columns {
            let Some(oc) = ot.columns.get(cname) else {
                d.push(format!("{tname}.{cname}: missing from ours"));
                continue;
            };
            let before = d.len();
            for part in ["key", "value", "min", "max"] {
                let show = |ty: &Value| ty.get(part).map_or("absent".into(), Value::to_string);
                let (o, t) = (show(&oc.ty), show(&tc.ty));
                if o != t {
                    d.push(format!(
                        "{tname}.{cname}: type {part}: ours {o}, theirs {t}"
                    ));
                }
            }
            if d.len() == before && oc.ty != tc.ty {
                // Some other key inside the type object.
                d.push(format!(
                    "{tname}.{cname}: type: ours {}, theirs {}",
                    oc.ty, tc.ty
                ));
            }
            field(
                &mut d,
                format!("{tname}.{cname}: ephemeral"),
                &oc.ephemeral,
                &tc.ephemeral,
            );
            field(
                &mut d,
                format!("{tname}.{cname}: mutable"),
                &oc.mutable,
                &tc.mutable,
            );
            field(
                &mut d,
                format!("{tname}.{cname}: extra keys"),
                &oc.other,
                &tc.other,
            );
        }
        for cname in ot.columns.keys() {
            if !tt.columns.contains_key(cname) {
                d.push(format!("{tname}.{cname}: only in ours"));
            }
        }
    }
    for tname in ours.tables.keys() {
        if !theirs.tables.contains_key(tname) {
            d.push(format!("table {tname}: only in ours"));
        }
    }
    d
}

fn assert_same(ours: &Value, theirs: &Value, what: &str) {
    let diffs = differences(&normalize(ours), &normalize(theirs));
    assert!(
        diffs.is_empty(),
        "{what}: {} difference(s):\n  {}",
        diffs.len(),
        diffs.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Real Open vSwitch processes
// ---------------------------------------------------------------------------

const INSTALL_HINT: &str =
    "install Debian's openvswitch-common (apt-get install -y openvswitch-common)";

fn load_debian_schema() -> Value {
    let text = std::fs::read_to_string(DEBIAN_SCHEMA).unwrap_or_else(|e| {
        panic!(
            "cannot read {DEBIAN_SCHEMA} ({e}): {INSTALL_HINT}; on Debian 12 the file itself \
             is shipped by openvswitch-switch (apt-get install -y openvswitch-switch)"
        )
    });
    serde_json::from_str(&text).expect("Debian's schema is valid JSON")
}

fn require(cmd: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(cmd).is_file();
    assert!(found, "'{cmd}' is not installed: {INSTALL_HINT}");
}

/// Finds `cmd` on PATH or in /usr/sbin (not always on a user's PATH).
fn tool(cmd: &str) -> PathBuf {
    require(cmd);
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(cmd))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| Path::new("/usr/sbin").join(cmd))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A real `ovsdb-server` on a private temporary directory; killed (by its
/// pidfile) and the directory removed when dropped, even if the test panics.
struct RealServer {
    dir: tempfile::TempDir,
}

impl RealServer {
    /// Serves a database created from `schema_file`.
    fn start(schema_file: &Path) -> RealServer {
        let (server, tool_bin) = (tool("ovsdb-server"), tool("ovsdb-tool"));
        // Short, unique, under /tmp: unix socket paths are limited to 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("ovsdbsc-")
            .tempdir_in("/tmp")
            .expect("create temp dir");
        let me = RealServer { dir };
        let db = me.path("conf.db");
        run_ok(
            Command::new(tool_bin)
                .arg("create")
                .arg(&db)
                .arg(schema_file),
        );
        run_ok(
            Command::new(server)
                .arg(&db)
                .arg(format!("--remote=punix:{}", me.path("db.sock").display()))
                .arg(format!("--pidfile={}", me.path("pid").display()))
                .arg(format!("--unixctl={}", me.path("ctl").display()))
                .arg(format!("--log-file={}", me.path("log").display()))
                .args(["--detach", "--no-chdir"]),
        );
        let start = Instant::now();
        while !me.path("db.sock").exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ovsdb-server did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        me
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `ovsdb-client get-schema <db>`, parsed.
    fn get_schema(&self, db: &str) -> Value {
        let out = run_ok(
            Command::new(tool("ovsdb-client"))
                .arg("get-schema")
                .arg(format!("unix:{}", self.path("db.sock").display()))
                .arg(db),
        );
        serde_json::from_str(&out).expect("ovsdb-client get-schema prints JSON")
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.path("pid")) {
            let pid = pid.trim();
            if !pid.is_empty() {
                let _ = Command::new("kill").args(["-9", pid]).output();
            }
        }
    }
}

fn our_schema_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn vswitch_schema_matches_debian() {
    let theirs = load_debian_schema();
    let ours = vswitch_json();
    let tables = ours["tables"].as_object().expect("tables");
    let missing: Vec<_> = REQUIRED_TABLES
        .iter()
        .filter(|t| !tables.contains_key(**t))
        .collect();
    assert!(
        missing.is_empty(),
        "tables we must ship are missing: {missing:?}"
    );
    // The cksum is upstream's on purpose (docs/ovsdb-schemas.md), so it is
    // compared like everything else.
    assert_same(
        &ours,
        &theirs,
        "ovsdb/schemas/vswitch.ovsschema vs Debian's",
    );
}

#[test]
fn vswitch_schema_is_not_a_verbatim_copy() {
    let theirs = std::fs::read_to_string(DEBIAN_SCHEMA)
        .unwrap_or_else(|e| panic!("cannot read {DEBIAN_SCHEMA} ({e}): {INSTALL_HINT}"));
    assert_ne!(VSWITCH_SCHEMA, theirs);
}

#[test]
fn real_server_reads_our_schemas_as_its_own() {
    // A real ovsdb-server serving a database created from *our* file: it
    // must accept the file, serve the same Open_vSwitch schema as Debian's
    // file describes, and its own _Server schema must equal ours.
    let server = RealServer::start(&our_schema_file("vswitch.ovsschema"));
    let served_server = server.get_schema("_Server");
    assert_same(
        &server_json(),
        &served_server,
        "our _Server vs ovsdb-server's",
    );
    let served_vswitch = server.get_schema("Open_vSwitch");
    assert_same(
        &vswitch_json(),
        &served_vswitch,
        "our Open_vSwitch vs as served from our file",
    );
    drop(server);
    assert_same(
        &served_vswitch,
        &load_debian_schema(),
        "served from our file vs Debian's",
    );
}

#[test]
fn server_schema_text_is_valid() {
    let s = server_json();
    assert_eq!(SERVER_SCHEMA.trim_start().chars().next(), Some('{'));
    let db = &s["tables"]["Database"]["columns"];
    for col in [
        "name",
        "model",
        "connected",
        "leader",
        "schema",
        "cid",
        "sid",
        "index",
    ] {
        assert!(db.get(col).is_some(), "_Server.Database lacks column {col}");
    }
}

#[test]
fn equivalent_type_spellings_normalize_equal() {
    let forms = [
        json!("integer"),
        json!({"key": "integer"}),
        json!({"key": {"type": "integer"}}),
        json!({"key": {"type": "integer"}, "min": 1, "max": 1}),
    ];
    for f in &forms {
        assert_eq!(canon_type(f), canon_type(&forms[0]), "{f}");
    }
    assert_eq!(
        canon_type(&json!({"key": {"type": "string", "enum": "a"}})),
        canon_type(&json!({"key": {"type": "string", "enum": ["set", ["a"]]}}))
    );
    assert_eq!(
        canon_type(&json!({"key": {"type": "string", "enum": ["set", ["b", "a"]]}})),
        canon_type(&json!({"key": {"type": "string", "enum": ["set", ["a", "b"]]}}))
    );
    assert_eq!(
        canon_type(&json!({"key": {"type": "uuid", "refTable": "T"}})),
        canon_type(&json!({"key": {"type": "uuid", "refTable": "T", "refType": "strong"}}))
    );
    assert_ne!(
        canon_type(&json!({"key": {"type": "uuid", "refTable": "T"}})),
        canon_type(&json!({"key": {"type": "uuid", "refTable": "T", "refType": "weak"}}))
    );
    assert_ne!(
        canon_type(&json!("integer")),
        canon_type(&json!({"key": "integer", "min": 0}))
    );
}

#[test]
fn comparison_reports_every_difference() {
    // Break our schema in several independent ways; each must be reported.
    let good = vswitch_json();
    let mut bad = good.clone();
    let t = &mut bad["tables"];
    t["Bridge"]["columns"]["name"]["type"] = json!({"key": "string", "min": 0});
    t["Bridge"]["indexes"] = json!([]);
    t["Port"]["columns"]
        .as_object_mut()
        .unwrap()
        .remove("tag")
        .unwrap();
    t["Open_vSwitch"]["maxRows"] = json!(2);
    t["QoS"]["isRoot"] = json!(false);
    t["Interface"]["columns"]["ofport"]["ephemeral"] = json!(true);
    t.as_object_mut().unwrap().remove("CT_Zone").unwrap();
    bad["version"] = json!("8.3.0");
    let diffs = differences(&normalize(&bad), &normalize(&good));
    for needle in [
        "schema version",
        "Bridge.name: type min",
        "Bridge: indexes",
        "Port.tag: missing from ours",
        "Open_vSwitch: maxRows",
        "QoS: isRoot",
        "Interface.ofport: ephemeral",
        "table CT_Zone: missing from ours",
    ] {
        assert!(
            diffs.iter().any(|d| d.contains(needle)),
            "{needle:?} not reported in {diffs:#?}"
        );
    }
    assert!(differences(&normalize(&good), &normalize(&good)).is_empty());
}
