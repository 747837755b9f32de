//! `vswitchd`: the switch daemon.
//!
//! The daemon (embedded configuration store, bridges, datapath threads,
//! OpenFlow endpoints) is built up issue by issue. What runs today:
//!
//! * `vswitchd [--rundir DIR] [--dbdir DIR] [--detach] [--pidfile[=FILE]]
//!   [--log-file[=FILE]] [-v SPEC]...`: the daemon: the embedded OVSDB server
//!   on `<rundir>/db.sock` and the control socket
//!   `<rundir>/ovs-vswitchd.<pid>.ctl` (see `appctl`, `vlog`). Bridges are
//!   not reconciled yet.
//! * `vswitchd appctl [-t TARGET] COMMAND [ARG...]`: talk to a running
//!   daemon's control socket, as `ovs-appctl` does.
//! * `vswitchd extract [--in-port N] [HEX...]`: parse frames given as hex
//!   (arguments, or one per line on standard input) and print the flow key the
//!   datapath extracts, in the datapath text form.
//! * `vswitchd --db-only [--rundir DIR] [--dbdir DIR] [--remote ptcp:PORT[:IP]]`:
//!   the embedded OVSDB server on its own (see `db`).
//! * `vswitchd --version`, `vswitchd --help`.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use datapath::flow::{extract, format};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

mod appctl;
mod bridge;
mod commands;
mod config;
mod controller;
mod daemon;
mod db;
mod dp;
mod mem;
mod ofconn;
mod ofswitch;
mod vlog;

/// Default run directory: the same as Open vSwitch's, so that its tools
/// (`ovs-vsctl`, `ovs-ofctl`) find us without options.
const DEFAULT_RUNDIR: &str = "/var/run/openvswitch";
/// Default database directory.
const DEFAULT_DBDIR: &str = "/etc/openvswitch";

#[derive(Debug, Parser)]
#[command(name = "vswitchd", version, about = "A userspace OpenFlow switch")]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,

    /// Run only the embedded OVSDB server (no bridges).
    #[arg(long)]
    db_only: bool,

    /// Run directory: db.sock, the pidfile, and the database file unless
    /// --dbdir says otherwise.
    #[arg(long, env = "OVS_RUNDIR", value_name = "DIR")]
    rundir: Option<PathBuf>,

    /// Directory of the database file (default: the run directory when
    /// --rundir or OVS_RUNDIR is given, /etc/openvswitch otherwise).
    #[arg(long, env = "OVS_DBDIR", value_name = "DIR")]
    dbdir: Option<PathBuf>,

    /// Extra OVSDB listener: ptcp:PORT[:IP] (IP defaults to 127.0.0.1) or
    /// punix:PATH. May be repeated.
    #[arg(long = "remote", value_name = "REMOTE")]
    remotes: Vec<String>,

    /// Write the process id to FILE (default <rundir>/vswitchd.pid).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    pidfile: Option<String>,

    /// Do not fsync the database file on commit (faster, less durable).
    #[arg(long)]
    no_db_sync: bool,

    /// Run in the background once ready (the parent exits 0 when the
    /// daemon serves, non-zero with its error otherwise).
    #[arg(long)]
    detach: bool,

    /// Log to FILE (default <logdir>/vswitchd.log; logdir from OVS_LOGDIR,
    /// else /var/log/openvswitch).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    log_file: Option<String>,

    /// Log levels, as `vlog/set` takes them (e.g. `-v ofproto:console:dbg`).
    /// May be repeated.
    #[arg(short = 'v', long = "verbose", value_name = "SPEC", num_args = 0..=1,
          default_missing_value = "dbg")]
    verbose: Vec<String>,

    /// Control socket path (default <rundir>/ovs-vswitchd.<pid>.ctl).
    #[arg(long, value_name = "PATH")]
    unixctl: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Print the datapath flow key of Ethernet frames given in hex (from the
    /// arguments, or one per line on standard input).
    Extract {
        /// Ingress port number to put in the key.
        #[arg(long, default_value_t = 0)]
        in_port: u32,
        /// Frames in hex (spaces and colons allowed).
        frames: Vec<String>,
    },
    /// Send a command to a running daemon's control socket (as
    /// `ovs-appctl` does) and print the reply.
    Appctl {
        /// Daemon name (its pidfile `<rundir>/TARGET.pid` gives the socket)
        /// or a control socket path.
        #[arg(short = 't', long, default_value = "ovs-vswitchd")]
        target: String,
        /// Seconds to wait for the reply.
        #[arg(short = 'T', long, default_value_t = 30)]
        timeout: u64,
        /// The command and its arguments (`list-commands` lists them).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("vswitchd: {e:#}");
            std::process::exit(1);
        }
    }
}

/// A future that completes on SIGTERM or SIGINT. The handlers are
/// installed when this is called (before the daemon's sockets appear, so a
/// signal sent as soon as they exist is never missed).
pub(crate) fn signal_waiter() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

fn run(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Some(Cmd::Extract { in_port, frames }) => return extract_cmd(in_port, frames).map(|()| 0),
        Some(Cmd::Appctl {
            ref target,
            timeout,
            ref command,
        }) => return appctl_cmd(&cli, target, timeout, command),
        None => {}
    }
    let rundir = cli
        .rundir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUNDIR));
    let dbdir = cli.dbdir.clone().unwrap_or_else(|| {
        if cli.rundir.is_some() {
            rundir.clone()
        } else {
            PathBuf::from(DEFAULT_DBDIR)
        }
    });
    let opts = db::Options {
        rundir,
        dbdir,
        remotes: cli.remotes.clone(),
        pidfile: cli.pidfile.clone(),
        sync: !cli.no_db_sync,
    };
    std::fs::create_dir_all(&opts.rundir)
        .with_context(|| format!("cannot create run directory {}", opts.rundir.display()))?;
    let ready = if cli.detach {
        match daemon::detach()? {
            daemon::Role::Parent(code) => return Ok(code),
            daemon::Role::Child(ready) => Some(ready),
        }
    } else {
        None
    };
    let log_file = cli.log_file.as_ref().map(|f| {
        if f.is_empty() {
            let dir = std::env::var_os("OVS_LOGDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/log/openvswitch"));
            dir.join("vswitchd.log")
        } else {
            PathBuf::from(f)
        }
    });
    let vlog = vlog::Vlog::init(vlog::Config {
        console: !cli.detach,
        file: log_file,
        specs: cli.verbose.clone(),
    });
    let vlog = match vlog {
        Ok(v) => v,
        Err(e) => {
            if let Some(r) = ready {
                r.fail(&format!("{e:#}"));
            }
            return Err(e);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = if cli.db_only {
        rt.block_on(async {
            if let Some(r) = ready {
                r.ok();
            }
            db::serve(opts).await
        })
    } else {
        rt.block_on(daemon::run(opts, cli.unixctl.clone(), vlog, ready))
    };
    result.map(|()| 0)
}

fn appctl_cmd(cli: &Cli, target: &str, timeout: u64, command: &[String]) -> Result<i32> {
    let rundir = cli
        .rundir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUNDIR));
    let socket = appctl::resolve_target(target, &rundir)?;
    let (method, args) = command.split_first().context("no command given")?;
    match appctl::call(&socket, method, args, Duration::from_secs(timeout))? {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(0)
        }
        Err(text) => {
            eprint!("{text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
            eprintln!(
                "vswitchd appctl: {}: server returned an error",
                socket.display()
            );
            Ok(2)
        }
    }
}

fn extract_cmd(in_port: u32, mut frames: Vec<String>) -> Result<()> {
    if frames.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if !line.trim().is_empty() {
                frames.push(line);
            }
        }
    }
    for f in &frames {
        let bytes = parse_hex(f)?;
        println!("{}", format::key(&extract(&bytes, in_port)));
    }
    Ok(())
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        bail!("odd number of hex digits in '{s}'");
    }
    digits
        .chunks(2)
        .map(|p| {
            let t = std::str::from_utf8(p).unwrap_or("??");
            u8::from_str_radix(t, 16).with_context(|| format!("bad hex byte '{t}' in '{s}'"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing() {
        assert_eq!(parse_hex("00 11:22ff").unwrap(), vec![0, 0x11, 0x22, 0xff]);
        let e = parse_hex("0g").unwrap_err().to_string();
        assert!(e.contains("'0g'"), "{e}");
        assert!(parse_hex("abc").is_err());
    }
}
