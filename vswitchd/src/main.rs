//! `vswitchd`: the switch daemon.
//!
//! The daemon (embedded configuration store, bridges, datapath threads,
//! OpenFlow endpoints) is built up issue by issue. What runs today is the
//! packet model every later piece stands on:
//!
//! * `vswitchd extract [--in-port N] [HEX...]`: parse frames given as hex
//!   (arguments, or one per line on standard input) and print the flow key the
//!   datapath extracts, in the datapath text form.
//! * `vswitchd --db-only [--rundir DIR] [--dbdir DIR] [--remote ptcp:PORT[:IP]]`:
//!   the embedded OVSDB server on its own (see `db`).
//! * `vswitchd --version`, `vswitchd --help`.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use datapath::flow::{extract, format};
use std::io::BufRead;
use std::path::PathBuf;

mod db;

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
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("vswitchd: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Some(Cmd::Extract { in_port, frames }) => return extract_cmd(in_port, frames),
        None => {}
    }
    if !cli.db_only {
        bail!(
            "bridges are not implemented yet: run `vswitchd --db-only` for the database \
             server, or `vswitchd extract` (see --help)"
        );
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
        remotes: cli.remotes,
        pidfile: cli.pidfile,
        sync: !cli.no_db_sync,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(db::serve(opts))
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
