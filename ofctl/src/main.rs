//! `ofctl`: the OpenFlow switch administration CLI, with the command lines
//! and output of `ovs-ofctl` 3.1, against our switch or a real
//! `ovs-vswitchd`.
//!
//! Contract: `ofctl [OPTIONS] COMMAND SWITCH [ARG...]`. Output goes to
//! stdout in `ovs-ofctl`'s text; errors go to stderr as `ofctl: ...`
//! quoting the bad token, with exit status 1. An ERROR reply from the
//! switch is printed (`OFPT_ERROR (xid=0x..): NAME`) and also makes the
//! status 1. What is implemented, and where the behaviour differs from
//! `ovs-ofctl`, is listed in docs/ofctl.md.

mod bundle;
mod conn;
mod flows;
mod groups;
mod json;
mod monitor;
mod names;
mod nx;
mod switch;

use anyhow::{Result, bail};
use ofproto::ofp::meter::MeterModCommand;
use ofproto::ofp::{Version, VersionSet};

const PROG: &str = "ofctl";

/// A sort key of `--sort`/`--rsort`: `None` is the priority.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// Field name, or `None` for priority.
    pub field: Option<String>,
    /// Ascending.
    pub asc: bool,
}

/// Global options.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Versions we may negotiate (`-O`).
    pub versions: VersionSet,
    /// `--strict`.
    pub strict: bool,
    /// `--names` (Some(true)) / `--no-names` (Some(false)); default: names
    /// only when stdout is a terminal.
    pub names: Option<bool>,
    /// `--sort` / `--rsort` keys, in order.
    pub sort: Vec<SortKey>,
    /// `--bundle`.
    pub bundle: bool,
    /// `--readd`.
    pub readd: bool,
    /// `--no-stats`.
    pub no_stats: bool,
    /// `--format json`.
    pub json: bool,
    /// `-t`/`--timeout`: give up after this many seconds.
    pub timeout: Option<u64>,
}

impl Opts {
    /// Whether to print port names.
    pub fn show_names(&self) -> bool {
        use std::io::IsTerminal;
        self.names
            .unwrap_or_else(|| std::io::stdout().is_terminal())
    }
}

fn usage() -> String {
    format!(
        "{PROG}: OpenFlow switch management utility (ovs-ofctl compatible)
usage: {PROG} [OPTIONS] COMMAND [ARG...]

For SWITCH, use a bridge name (socket <rundir>/BRIDGE.mgmt, rundir from
OVS_RUNDIR or /var/run/openvswitch), unix:PATH or tcp:IP[:PORT].

Switch commands:
  show SWITCH                 show OpenFlow information
  dump-desc SWITCH            print switch description
  dump-tables SWITCH          print table stats
  dump-ports-desc SWITCH [PORT]  print port descriptions
  dump-flows SWITCH [FLOW]    print matching FLOWs
  dump-aggregate SWITCH [FLOW]  print aggregate stats for FLOWs
  add-flow SWITCH FLOW        add flow described by FLOW
  add-flows SWITCH FILE       add flows from FILE (- for stdin)
  mod-flows SWITCH FLOW       modify actions of matching FLOWs
  del-flows SWITCH [FLOW]     delete matching FLOWs
  replace-flows SWITCH FILE   replace flows with those in FILE
  diff-flows SOURCE1 SOURCE2  compare flows from two sources
  packet-out SWITCH \"in_port=P packet=HEX actions=A\"  send a packet
  dump-ports SWITCH [PORT]    print port statistics
  parse-flows FILE            parse a flow file offline and print it
  monitor SWITCH [MISS-LEN]   print messages the switch sends
  snoop SWITCH                print the switch's controller traffic
  mod-port SWITCH PORT ACTION up, down, [no-]flood, [no-]forward, ...
  add-group SWITCH GROUP      add a group (also add-groups FILE)
  mod-group SWITCH GROUP      modify a group
  del-groups SWITCH [GROUP]   delete groups (all by default)
  dump-groups SWITCH [GROUP]  print group descriptions
  dump-group-stats SWITCH [GROUP]  print group statistics
  add-meter SWITCH METER      add a meter (mod-meter to modify)
  del-meters SWITCH [METER]   delete meters (all by default)
  dump-meters SWITCH [METER]  print meter configurations
  meter-stats SWITCH [METER]  print meter statistics
  dump-ports SWITCH [PORT]    print port statistics
  parse-flows FILE            parse a flow file offline and print it
  monitor SWITCH [MISS-LEN]   print messages the switch sends
  snoop SWITCH                print the switch's controller traffic
  mod-port SWITCH PORT ACTION up, down, [no-]flood, [no-]forward, ...
  add-group SWITCH GROUP      add a group (also add-groups FILE)
  mod-group SWITCH GROUP      modify a group
  del-groups SWITCH [GROUP]   delete groups (all by default)
  dump-groups SWITCH [GROUP]  print group descriptions
  dump-group-stats SWITCH [GROUP]  print group statistics
  add-meter SWITCH METER      add a meter (mod-meter to modify)
  del-meters SWITCH [METER]   delete meters (all by default)
  dump-meters SWITCH [METER]  print meter configurations
  meter-stats SWITCH [METER]  print meter statistics

Options:
  -O, --protocols=LIST        allowed OpenFlow versions (OpenFlow10,OpenFlow13,...)
  --strict                    use strict match for mod-flows/del-flows
  --names / --no-names        show port names / numbers (default: names on a tty)
  --sort[=FIELD], --rsort[=FIELD]  sort dump-flows output
  --no-stats                  omit statistics in dump-flows
  --bundle                    send flow changes as one atomic bundle (1.3+)
  --readd                     replace-flows: re-add flows that are unchanged
  --format=json               JSON output for the dump commands
  -t, --timeout=SECS          give up after SECS seconds
  -h, --help                  this help
"
    )
}

fn parse_args(args: &[String]) -> Result<(Opts, Vec<String>)> {
    let mut o = Opts {
        versions: VersionSet::of(&[Version::V1_0]),
        strict: false,
        names: None,
        sort: Vec::new(),
        bundle: false,
        readd: false,
        no_stats: false,
        json: false,
        timeout: None,
    };
    let mut rest = Vec::new();
    let mut i = 0;
    let mut only_args = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if only_args || !a.starts_with('-') || a == "-" {
            rest.push(a.clone());
            continue;
        }
        if a == "--" {
            only_args = true;
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |what: &str| -> Result<String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            match args.get(i) {
                Some(v) => {
                    i += 1;
                    Ok(v.clone())
                }
                None => bail!("option '{what}' requires an argument"),
            }
        };
        match name.as_str() {
            "-O" | "--protocols" => o.versions = conn::parse_protocols(&value(&name)?)?,
            s if s.starts_with("-O") => o.versions = conn::parse_protocols(&s[2..])?,
            "--strict" => o.strict = true,
            "--names" => o.names = Some(true),
            "--no-names" => o.names = Some(false),
            "--sort" | "--rsort" => o.sort.push(SortKey {
                field: inline.clone(),
                asc: name == "--sort",
            }),
            "--bundle" => o.bundle = true,
            "--readd" => o.readd = true,
            "--no-stats" => o.no_stats = true,
            "--format" | "-f" => {
                let v = value(&name)?;
                match v.as_str() {
                    "json" => o.json = true,
                    "text" => o.json = false,
                    _ => bail!("'{v}': unknown output format (use text or json)"),
                }
            }
            "-t" | "--timeout" => {
                let v = value(&name)?;
                o.timeout =
                    Some(v.parse().map_err(|_| {
                        anyhow::anyhow!("'{v}': --timeout needs a number of seconds")
                    })?);
            }
            "-h" | "--help" => {
                print!("{}", usage());
                std::process::exit(0);
            }
            "-V" | "--version" => {
                println!("{PROG} (rvs) {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            _ => bail!("unrecognized option '{a}' (use --help for help)"),
        }
    }
    Ok((o, rest))
}

fn need_args(cmd: &str, args: &[String], min: usize, max: usize) -> Result<()> {
    if args.len() < min {
        bail!("'{cmd}' command requires at least {min} arguments");
    }
    if args.len() > max {
        bail!("'{cmd}' command takes at most {max} arguments");
    }
    Ok(())
}

fn run(args: &[String]) -> Result<i32> {
    let (mut o, rest) = parse_args(args)?;
    if let Some(secs) = o.timeout.filter(|s| *s > 0) {
        // Like ovs-ofctl's alarm: the whole run, connection included.
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(secs));
            eprintln!("{PROG}: timeout after {secs} seconds");
            std::process::exit(1);
        });
    }
    if o.bundle {
        // Bundles need OpenFlow 1.4 (or the 1.3 extension): allow 1.4
        // without an explicit -O, as ovs-ofctl does.
        o.versions = VersionSet(o.versions.0 | VersionSet::of(&[Version::V1_4]).0);
    }
    let Some((cmd, a)) = rest.split_first() else {
        bail!("missing command name; use --help for help");
    };
    let cmd = cmd.as_str();
    let table: &[(&str, usize, usize)] = &[
        ("show", 1, 1),
        ("dump-desc", 1, 1),
        ("dump-tables", 1, 1),
        ("dump-ports-desc", 1, 2),
        ("dump-flows", 1, 2),
        ("dump-aggregate", 1, 2),
        ("add-flow", 2, 2),
        ("add-flows", 2, 2),
        ("mod-flows", 2, 2),
        ("del-flows", 1, 2),
        ("replace-flows", 2, 2),
        ("diff-flows", 2, 2),
        ("packet-out", 2, 5),
        ("dump-ports", 1, 2),
        ("parse-flows", 1, 1),
        ("monitor", 1, 3),
        ("snoop", 1, 1),
        ("mod-port", 3, 3),
        ("add-group", 2, 2),
        ("add-groups", 2, 2),
        ("mod-group", 2, 2),
        ("del-groups", 1, 2),
        ("dump-groups", 1, 2),
        ("dump-group-stats", 1, 2),
        ("add-meter", 2, 2),
        ("mod-meter", 2, 2),
        ("del-meters", 1, 2),
        ("dump-meters", 1, 2),
        ("meter-stats", 1, 2),
    ];
    let Some((_, min, max)) = table.iter().find(|(n, _, _)| *n == cmd) else {
        bail!("unknown command '{cmd}'; use --help for help");
    };
    need_args(cmd, a, *min, *max)?;
    let arg1 = a.get(1).map(String::as_str);
    match cmd {
        "show" => switch::show(&o, &a[0]),
        "dump-desc" => switch::dump_desc(&o, &a[0]),
        "dump-tables" => switch::dump_tables(&o, &a[0]),
        "dump-ports-desc" => switch::dump_ports_desc(&o, &a[0], a.get(1).map(String::as_str)),
        "dump-flows" => flows::dump_flows(&o, &a[0], a.get(1).map(String::as_str), false),
        "dump-aggregate" => flows::dump_flows(&o, &a[0], a.get(1).map(String::as_str), true),
        "add-flow" => flows::flow_mod_cmd(&o, &a[0], &a[1], flows::Cmd::Add),
        "add-flows" => flows::flow_mod_file(&o, &a[0], &a[1]),
        "mod-flows" => flows::flow_mod_cmd(&o, &a[0], &a[1], flows::Cmd::Modify),
        "del-flows" => flows::flow_mod_cmd(
            &o,
            &a[0],
            a.get(1).map_or("", String::as_str),
            flows::Cmd::Delete,
        ),
        "replace-flows" => flows::replace_flows(&o, &a[0], &a[1]),
        "diff-flows" => flows::diff_flows(&o, &a[0], &a[1]),
        "packet-out" => switch::packet_out(&o, &a[0], &a[1..]),
        "dump-ports" => groups::dump_ports(&o, &a[0], arg1),
        "parse-flows" => flows::parse_flows(&a[0]),
        "monitor" => monitor::monitor(&o, &a[0], &a[1..]),
        "snoop" => monitor::snoop(&o, &a[0]),
        "mod-port" => groups::mod_port(&o, &a[0], &a[1], &a[2]),
        "add-group" => groups::group_mod(&o, &a[0], arg1, groups::GroupCmd::Add, false),
        "add-groups" => groups::group_mod(&o, &a[0], arg1, groups::GroupCmd::Add, true),
        "mod-group" => groups::group_mod(&o, &a[0], arg1, groups::GroupCmd::Modify, false),
        "del-groups" => groups::group_mod(&o, &a[0], arg1, groups::GroupCmd::Delete, false),
        "dump-groups" => groups::dump_groups(&o, &a[0], arg1),
        "dump-group-stats" => groups::dump_group_stats(&o, &a[0], arg1),
        "add-meter" => groups::meter_mod(&o, &a[0], arg1, MeterModCommand::Add),
        "mod-meter" => groups::meter_mod(&o, &a[0], arg1, MeterModCommand::Modify),
        "del-meters" => groups::meter_mod(&o, &a[0], arg1, MeterModCommand::Delete),
        "dump-meters" => groups::dump_meters(&o, &a[0], arg1, false),
        "meter-stats" => groups::dump_meters(&o, &a[0], arg1, true),
        _ => unreachable!("command table and dispatch agree"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => {
            use std::io::Write;
            let _ = std::io::stdout().flush();
            std::process::exit(code)
        }
        Err(e) => {
            eprintln!("{PROG}: {e:#}");
            std::process::exit(1);
        }
    }
}
