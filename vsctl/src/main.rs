//! `vsctl`: the administration CLI with the syntax and output of
//! `ovs-vsctl`, against our OVSDB server or a real `ovsdb-server`.
//!
//! Contract: one invocation runs a chain of commands separated by `--` in
//! one transaction: either every change commits or none does. Exit status
//! 0 on success, 1 on an error (message `vsctl: ...` on stderr), 2 for
//! `br-exists` on a missing bridge; with `--timeout` expiring the process
//! dies of SIGALRM as `ovs-vsctl` does. See docs/vsctl.md.

mod cmds;
mod conn;
mod ctx;
mod table;
mod value;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ovsdb::datum::Uuid;
use ovsdb::schema::DatabaseSchema;
use serde_json::Value;

use crate::cmds::Command;
use crate::conn::{ClientConn, DbAccess};
use crate::ctx::Ctx;
use crate::table::{CellFormat, Format, Style};

const PROG: &str = "vsctl";

/// Global options.
#[derive(Debug)]
struct Opts {
    db: Option<String>,
    no_wait: bool,
    timeout: u64,
    dry_run: bool,
    oneline: bool,
    style: Style,
    format_set: bool,
    /// `--retry`: keep trying to connect (until `--timeout`, if any).
    retry: bool,
}

fn die(msg: &str) -> ! {
    eprintln!("{PROG}: {msg}");
    std::process::exit(1);
}

/// UTC `YYYY-MM-DDTHH:MM:SSZ`, as vlog prints it.
fn vlog_time() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Civil from days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `-v`/`--verbose`: trace the session on stderr as `DBG` lines.
pub static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sequence number of the next debug line.
static DBG_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// Prints a vlog-style debug line on stderr when `-v` is on.
pub fn vlog_dbg(module: &str, msg: &str) {
    if VERBOSE.load(std::sync::atomic::Ordering::Relaxed) {
        let seq = DBG_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        eprintln!("{}|{seq:05}|{module}|DBG|{msg}", vlog_time());
    }
}

/// Prints a vlog-style warning line on stderr.
fn vlog_warn(seq: &mut u32, module: &str, msg: &str) {
    eprintln!("{}|{:05}|{module}|WARN|{msg}", vlog_time(), *seq);
    *seq += 1;
}

/// Arms the `--timeout` alarm: when it expires, the process dies of
/// SIGALRM after the same warning `ovs-vsctl` prints.
fn arm_timeout(secs: u64) {
    if secs == 0 {
        return;
    }
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!(
            "{}|00002|fatal_signal|WARN|terminating with signal 14 (Alarm clock)",
            vlog_time()
        );
        // SAFETY: restoring the default disposition and raising a signal
        // have no memory-safety preconditions.
        unsafe {
            libc::signal(libc::SIGALRM, libc::SIG_DFL);
            libc::raise(libc::SIGALRM);
        }
        std::process::exit(142);
    });
}

fn rundir() -> String {
    std::env::var("OVS_RUNDIR").unwrap_or_else(|_| "/var/run/openvswitch".into())
}

fn usage() -> String {
    format!(
        "{PROG}: ovs-vswitchd management utility
usage: {PROG} [OPTIONS] COMMAND [ARG...]

Open vSwitch commands:
  init                        initialize database, if not yet initialized
  show                        print overview of database contents
  emer-reset                  reset configuration to clean state

Bridge commands:
  add-br BRIDGE               create a new bridge named BRIDGE
  add-br BRIDGE PARENT VLAN   create new fake BRIDGE in PARENT on VLAN
  del-br BRIDGE               delete BRIDGE and all of its ports
  list-br                     print the names of all the bridges
  br-exists BRIDGE            exit 2 if BRIDGE does not exist
  br-to-vlan BRIDGE           print the VLAN which BRIDGE is on
  br-to-parent BRIDGE         print the parent of BRIDGE
  br-set-external-id BRIDGE KEY VALUE  set KEY on BRIDGE to VALUE
  br-set-external-id BRIDGE KEY  unset KEY on BRIDGE
  br-get-external-id BRIDGE KEY  print value of KEY on BRIDGE
  br-get-external-id BRIDGE  list key-value pairs on BRIDGE

Port commands (a bond is considered to be a single port):
  list-ports BRIDGE           print the names of all the ports on BRIDGE
  add-port BRIDGE PORT        add network device PORT to BRIDGE
  add-bond BRIDGE PORT IFACE...  add bonded port PORT in BRIDGE from IFACES
  del-port [BRIDGE] PORT      delete PORT (which may be bonded) from BRIDGE
  port-to-br PORT             print name of bridge that contains PORT

Interface commands (a bond consists of multiple interfaces):
  list-ifaces BRIDGE          print the names of all interfaces on BRIDGE
  iface-to-br IFACE           print name of bridge that contains IFACE

Controller commands:
  get-controller BRIDGE      print the controllers for BRIDGE
  del-controller BRIDGE      delete the controllers for BRIDGE
  set-controller BRIDGE TARGET...  set the controllers for BRIDGE
  get-fail-mode BRIDGE       print the fail-mode for BRIDGE
  del-fail-mode BRIDGE       delete the fail-mode for BRIDGE
  set-fail-mode BRIDGE MODE  set the fail-mode for BRIDGE to MODE

Manager commands:
  get-manager                print the managers
  del-manager                delete the managers
  set-manager TARGET...      set the list of managers to TARGET...

Database commands:
  list TBL [REC]              list RECord (or all records) in TBL
  find TBL CONDITION...       list records satisfying CONDITION in TBL
  get TBL REC COL[:KEY]       print values of COLumns in RECord in TBL
  set TBL REC COL[:KEY]=VALUE set COLumn values in RECord in TBL
  add TBL REC COL [KEY=]VALUE add (KEY=)VALUE to COLumn in RECord in TBL
  remove TBL REC COL [KEY=]VALUE  remove (KEY=)VALUE from COLumn
  clear TBL REC COL           clear values from COLumn in RECord in TBL
  create TBL COL[:KEY]=VALUE  create and initialize new record
  destroy TBL REC             delete RECord from TBL
  wait-until TBL REC [COL[:KEY]=VALUE]  wait until condition is true
Potentially unsafe database commands require --force option.

Options:
  --db=DATABASE               connect to DATABASE
                              (default: unix:{}/db.sock)
  --no-wait                   do not wait for ovs-vswitchd to reconfigure
  -t, --timeout=SECS          wait at most SECS seconds for ovs-vswitchd
  --retry                     keep trying to connect until the server answers
  --dry-run                   do not commit changes to database
  --oneline                   print exactly one line of output per command

Output formatting options:
  -f, --format=FORMAT         set output formatting to FORMAT
                              (\"table\", \"list\", \"csv\", \"json\" or \"bare\")
  -d, --data=FORMAT           set table cell output formatting to
                              FORMAT (\"string\", \"bare\", or \"json\")
  --no-headings               omit table heading row
  --pretty                    pretty-print JSON in output
  --bare                      equivalent to \"--format=list --data=bare --no-headings\"

Command options (before a command's name, after \"--\"):
  --may-exist                 add-br/add-port/add-bond: no error if it exists
  --if-exists                 del-br/del-port/get/set/destroy/...: no error if missing
  --with-iface                del-port: PORT may name an interface
  --fake-iface                add-bond: create a fake bond interface
  --real, --fake              list-br: only real or only fake bridges
  --columns=COL,...           list/find: columns to print
  --id=@NAME                  create/get: name the row for later commands
  --all                       destroy: every record of the table

Other options:
  -v, --verbose               trace the session (requests, replies) on stderr
  -h, --help                  display this help message
",
        rundir()
    )
}

/// Command options (valid before any command).
const CMD_OPTS: &[&str] = &[
    "--may-exist",
    "--if-exists",
    "--with-iface",
    "--fake-iface",
    "--real",
    "--fake",
    "--all",
    "--columns",
    "--id",
];

fn parse_args(args: &[String]) -> (Opts, Vec<Command>) {
    let mut o = Opts {
        db: None,
        no_wait: false,
        timeout: 0,
        retry: false,
        dry_run: false,
        oneline: false,
        style: Style {
            format: Format::List,
            cell: CellFormat::String,
            headings: true,
            pretty: false,
        },
        format_set: false,
    };
    let mut i = 0;
    let mut first_opts: BTreeMap<String, Option<String>> = BTreeMap::new();
    // Global options (and options of the first command).
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let (name, val) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let take = |i: &mut usize| -> String {
            if let Some(v) = &val {
                return v.clone();
            }
            *i += 1;
            match args.get(*i) {
                Some(v) => v.clone(),
                None => die(&format!("option '{name}' requires an argument")),
            }
        };
        match name.as_str() {
            "--db" => o.db = Some(take(&mut i)),
            "--no-wait" => o.no_wait = true,
            "--timeout" | "-t" => {
                let v = take(&mut i);
                o.timeout = v
                    .parse()
                    .unwrap_or_else(|_| die(&format!("value {v} on -t or --timeout is invalid")));
            }
            "--dry-run" => o.dry_run = true,
            "--oneline" => o.oneline = true,
            "--format" | "-f" => {
                let v = take(&mut i);
                o.format_set = true;
                o.style.format = match v.as_str() {
                    "table" => Format::Table,
                    "list" => Format::List,
                    "csv" => Format::Csv,
                    "json" => Format::Json,
                    "bare" => {
                        o.style.cell = CellFormat::Bare;
                        o.style.headings = false;
                        Format::List
                    }
                    _ => die(&format!("unknown output format \"{v}\"")),
                };
            }
            "--data" | "-d" => {
                let v = take(&mut i);
                o.style.cell = match v.as_str() {
                    "string" => CellFormat::String,
                    "bare" => CellFormat::Bare,
                    "json" => CellFormat::Json,
                    _ => die(&format!("unknown data format \"{v}\"")),
                };
            }
            "--no-headings" => o.style.headings = false,
            "--pretty" => o.style.pretty = true,
            "--bare" => {
                o.style.format = Format::List;
                o.style.cell = CellFormat::Bare;
                o.style.headings = false;
            }
            "--retry" => o.retry = true,
            "--no-syslog" => {}
            "-h" | "--help" => {
                print!("{}", usage());
                std::process::exit(0);
            }
            "-V" | "--version" => {
                println!(
                    "{PROG} (Open vSwitch work-alike) {}",
                    env!("CARGO_PKG_VERSION")
                );
                std::process::exit(0);
            }
            n if n == "-v" || n.starts_with("-v") || n.starts_with("--verbose") => {
                // Any verbosity request turns on the debug trace on stderr.
                let off = n.ends_with("=off") || n.ends_with(":off");
                VERBOSE.store(!off, std::sync::atomic::Ordering::Relaxed);
            }
            "--log-file" => {}
            n if CMD_OPTS.contains(&n) => {
                first_opts.insert(n.to_owned(), val.clone());
            }
            n if n.starts_with("--") => die(&format!("unrecognized option '{n}'")),
            _ => die(&format!("invalid option -- '{}'", &a[1..])),
        }
        i += 1;
    }
    if i >= args.len() {
        die("missing command name (use --help for help)");
    }
    // Commands separated by "--".
    let mut cmds = Vec::new();
    let mut opts = first_opts;
    while i < args.len() {
        let mut j = i;
        while j < args.len() && args[j].starts_with("--") && args[j] != "--" {
            let (n, v) = match args[j].split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (args[j].clone(), None),
            };
            opts.insert(n, v);
            j += 1;
        }
        let mut k = j;
        while k < args.len() && args[k] != "--" {
            k += 1;
        }
        if j == k {
            die("missing command name (use --help for help)");
        }
        let name = args[j].clone();
        let Some(spec) = cmds::spec(&name) else {
            die(&format!("unknown command '{name}'; use --help for help"));
        };
        for n in opts.keys() {
            if !spec.opts.contains(&n.as_str()) {
                die(&format!("'{name}' command has no '{n}' option"));
            }
        }
        let cargs: Vec<String> = args[j + 1..k].to_vec();
        if cargs.len() < spec.min {
            die(&format!(
                "'{name}' command requires at least {} arguments",
                spec.min
            ));
        }
        if cargs.len() > spec.max {
            die(&format!(
                "'{name}' command takes at most {} arguments",
                spec.max
            ));
        }
        cmds.push(Command {
            name,
            args: cargs,
            opts: std::mem::take(&mut opts),
            ..Default::default()
        });
        i = k + 1;
    }
    (o, cmds)
}

/// Interprets a transaction reply: Ok(Some(results)) on success, Ok(None)
/// if a `wait` failed (run again), Err on any other error.
fn check_reply(reply: &Value, n_ops: usize) -> Result<Option<Vec<Value>>, String> {
    let Some(results) = reply.as_array() else {
        return Err(format!("transaction error: {reply}"));
    };
    for r in results.iter() {
        if let Some(e) = r.get("error") {
            if e == "timed out" {
                return Ok(None);
            }
            let mut m = serde_json::Map::new();
            if let Some(d) = r.get("details") {
                m.insert("details".into(), d.clone());
            }
            m.insert("error".into(), e.clone());
            return Err(format!("transaction error: {}", Value::Object(m)));
        }
    }
    if results.len() < n_ops {
        return Err("transaction error: incomplete reply".into());
    }
    Ok(Some(results.clone()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (opts, mut cmds) = parse_args(&args);
    vlog_dbg("vsctl", &format!("Called as {PROG} {}", args.join(" ")));
    arm_timeout(opts.timeout);
    let mut style = opts.style;
    if style.format == Format::Json && !opts.format_set {
        style.format = Format::Json;
    }
    let remote = opts
        .db
        .clone()
        .unwrap_or_else(|| format!("unix:{}/db.sock", rundir()));
    let mut conn = loop {
        match ClientConn::connect(&remote) {
            Ok(c) => break c,
            // --retry: the server may not be up yet; --timeout (the alarm)
            // bounds the wait.
            Err(e) if opts.retry => {
                vlog_dbg("reconnect", &e);
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => die(&e),
        }
    };
    let db: &mut dyn DbAccess = &mut conn;
    let schema = db.get_schema("Open_vSwitch").unwrap_or_else(|e| die(&e));
    let comment = format!("{PROG}: {PROG} {}", args.join(" "));
    let mut seq = 2u32;

    loop {
        let mut ctx = Ctx::load(db, &schema).unwrap_or_else(|e| die(&e));
        let root = match ctx.rows("Open_vSwitch").first() {
            Some(r) => *r,
            None => ctx.insert("Open_vSwitch", None),
        };
        let mut try_again = false;
        for c in cmds.iter_mut() {
            c.out.clear();
            c.table = None;
            c.try_again = false;
            let spec = cmds::spec(&c.name).expect("parsed command");
            let r = (spec.run)(&mut ctx, c);
            for (module, w) in std::mem::take(&mut ctx.warnings) {
                vlog_warn(&mut seq, module, &w);
            }
            if let Err(f) = r {
                if !f.msg.is_empty() {
                    eprintln!("{PROG}: {}", f.msg);
                }
                std::process::exit(f.code);
            }
            try_again |= c.try_again;
        }
        let missing = ctx
            .syms
            .referenced
            .iter()
            .find(|n| !ctx.syms.map.get(*n).is_some_and(|s| s.1))
            .cloned();
        if let Some(n) = missing {
            die(&format!(
                "row id \"{n}\" is referenced but never created (e.g. with \"-- --id={n} create ...\")"
            ));
        }
        if try_again {
            db.wait_for_change("Open_vSwitch")
                .unwrap_or_else(|e| die(&e));
            continue;
        }
        // Rows created with --id that nothing refers to.
        let created: Vec<(String, Uuid)> = ctx
            .syms
            .map
            .iter()
            .filter(|(_, (u, created))| *created && ctx.is_inserted(*u))
            .map(|(n, (u, _))| (n.clone(), *u))
            .collect();
        for (name, u) in created {
            let t = ctx
                .tables
                .iter()
                .find(|(_, rows)| rows.contains_key(&u))
                .map(|(t, _)| t.clone());
            if let Some(t) = t
                && !ctx.table_schema(&t).is_root
                && !ctx.is_referenced(u)
            {
                vlog_warn(
                    &mut seq,
                    "vsctl",
                    &format!(
                        "row id \"{name}\" was created but no reference to it was inserted, so it will not actually appear in the database"
                    ),
                );
            }
        }
        let mut replace: Vec<(String, String)> = Vec::new();
        let mut next_cfg = None;
        let changed = ctx.has_changes();
        if changed && !opts.dry_run {
            let bump = if opts.no_wait { None } else { Some(root) };
            let (ops, inserts) = ctx.ops(bump, &comment);
            let n = ops.len();
            let reply = db.transact(&schema.name, ops).unwrap_or_else(|e| die(&e));
            let results = match check_reply(&reply, n) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    vlog_warn(&mut seq, "ovsdb_idl", &e);
                    die(&e)
                }
            };
            for (idx, prov) in inserts {
                if let Some(real) = results[idx]["uuid"].get(1).and_then(Value::as_str) {
                    replace.push((prov.to_string(), real.to_owned()));
                }
            }
            if bump.is_some() {
                next_cfg = results[n - 2]["rows"][0]["next_cfg"].as_i64();
            }
        }
        // Output, held back until any wait completes (as ovs-vsctl's
        // buffered stdout is).
        let mut out = String::new();
        for c in &cmds {
            let mut text = match &c.table {
                Some(t) => t.render(&style),
                None => c.out.clone(),
            };
            for (a, b) in &replace {
                text = text.replace(a.as_str(), b.as_str());
            }
            if opts.oneline && c.table.is_none() {
                let t = text.strip_suffix('\n').unwrap_or(&text);
                out.push_str(&t.replace('\\', "\\\\").replace('\n', "\\n"));
                out.push('\n');
            } else {
                out.push_str(&text);
            }
        }
        if let Some(target) = next_cfg {
            db.wait_cur_cfg(&schema.name, target)
                .unwrap_or_else(|e| die(&e));
            report_iface_errors(db, &schema, &ctx, &replace);
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
        std::process::exit(0);
    }
}

/// After the daemon caught up: interfaces this transaction created that
/// got no OpenFlow port (ofport -1), with their error.
fn report_iface_errors(
    db: &mut dyn DbAccess,
    schema: &DatabaseSchema,
    before: &Ctx,
    replace: &[(String, String)],
) {
    let new_ifaces: Vec<String> = replace
        .iter()
        .filter_map(|(prov, _)| {
            let u = Uuid::parse_strict(prov)?;
            before.row("Interface", u)?;
            Some(before.get_str("Interface", u, "name"))
        })
        .collect();
    if new_ifaces.is_empty() {
        return;
    }
    let Ok(now) = Ctx::load(db, schema) else {
        return;
    };
    let mut any = false;
    for r in now.rows("Interface") {
        let name = now.get_str("Interface", r, "name");
        if !new_ifaces.contains(&name) {
            continue;
        }
        let ofport = now.get_int("Interface", r, "ofport");
        if ofport.is_none() || ofport == Some(-1) {
            let err = now.get_str("Interface", r, "error");
            if err.is_empty() {
                eprintln!(
                    "{PROG}: Error detected while setting up '{name}'.  See ovs-vswitchd log for details."
                );
            } else {
                eprintln!(
                    "{PROG}: Error detected while setting up '{name}': {err}.  See ovs-vswitchd log for details."
                );
            }
            any = true;
        }
    }
    if any {
        let logdir = std::env::var("OVS_LOGDIR").unwrap_or_else(|_| "/var/log/openvswitch".into());
        eprintln!("{PROG}: The default log directory is \"{logdir}\".");
    }
}
