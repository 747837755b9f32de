//! A real `ovs-vswitchd` (Debian's Open vSwitch) with its own
//! `ovsdb-server`, in a private run directory, with one bridge on the
//! userspace datapath.
//!
//! Contract:
//! * Every instance has its own directory (`OVS_RUNDIR`, database, logs,
//!   pidfiles, `<dir>/<bridge>.mgmt`) and its own bridge name, so tests run
//!   in parallel.
//! * `ovs-vswitchd` runs with `--enable-dummy=override`: the bridge uses the
//!   userspace datapath (`datapath_type=netdev`, dpif-netdev) but every
//!   network device is a dummy device inside the process. No kernel module,
//!   no tap device and no name shared between instances (with real taps,
//!   two instances collide on the `ovs-netdev` device).
//! * Dummy ports ([`RealOvsVswitchd::add_port`]) can receive injected
//!   packets (`netdev-dummy/receive`) and write what they transmit to a pcap
//!   file.
//! * Both daemons are killed on drop, also when the test fails.

use crate::{TempDir, require, run, run_ok, unique_name, wait_for};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The running pair and its bridge.
#[derive(Debug)]
pub struct RealOvsVswitchd {
    dir: TempDir,
    bridge: String,
}

fn kill_pidfile(pidfile: &Path) {
    if let Ok(pid) = std::fs::read_to_string(pidfile) {
        let pid = pid.trim();
        if !pid.is_empty() {
            let _ = Command::new("kill").args(["-9", pid]).output();
        }
    }
}

impl RealOvsVswitchd {
    /// Starts `ovsdb-server` and `ovs-vswitchd` in a fresh directory and
    /// creates a bridge on the userspace datapath.
    pub fn start() -> RealOvsVswitchd {
        require("ovsdb-server", "openvswitch-switch");
        require("ovs-vswitchd", "openvswitch-switch");
        require("ovs-vsctl", "openvswitch-switch");
        require("ovsdb-tool", "openvswitch-common");
        require("ovs-appctl", "openvswitch-common");
        let dir = TempDir::new("rovs");
        let bridge = unique_name("br", 15);
        let me = RealOvsVswitchd { dir, bridge };
        let d = me.dir.path().to_path_buf();
        let db = d.join("conf.db");
        run_ok(
            Command::new("ovsdb-tool")
                .arg("create")
                .arg(&db)
                .arg(crate::OVS_SCHEMA),
        );
        run_ok(
            Command::new("ovsdb-server")
                .arg(&db)
                .arg(format!("--remote=punix:{}", d.join("db.sock").display()))
                .arg(format!(
                    "--pidfile={}",
                    d.join("ovsdb-server.pid").display()
                ))
                .arg(format!(
                    "--unixctl={}",
                    d.join("ovsdb-server.ctl").display()
                ))
                .arg(format!(
                    "--log-file={}",
                    d.join("ovsdb-server.log").display()
                ))
                .args(["--detach", "--no-chdir"]),
        );
        me.vsctl(&["--no-wait", "init"]);
        run_ok(
            Command::new("ovs-vswitchd")
                .env("OVS_RUNDIR", &d)
                .env("OVS_DBDIR", &d)
                .env("OVS_LOGDIR", &d)
                .arg("--enable-dummy=override")
                .arg(format!("unix:{}", d.join("db.sock").display()))
                .arg(format!(
                    "--pidfile={}",
                    d.join("ovs-vswitchd.pid").display()
                ))
                .arg(format!(
                    "--unixctl={}",
                    d.join("ovs-vswitchd.ctl").display()
                ))
                .arg(format!(
                    "--log-file={}",
                    d.join("ovs-vswitchd.log").display()
                ))
                .args(["--detach", "--no-chdir"]),
        );
        let br = me.bridge.clone();
        me.vsctl(&[
            "add-br",
            &br,
            "--",
            "set",
            "bridge",
            &br,
            "datapath_type=netdev",
        ]);
        assert!(
            wait_for(Duration::from_secs(10), || me.mgmt().exists()),
            "ovs-vswitchd did not create {}; log:\n{}",
            me.mgmt().display(),
            std::fs::read_to_string(d.join("ovs-vswitchd.log")).unwrap_or_default()
        );
        me
    }

    /// Runs `ovs-vsctl` against this instance's database.
    pub fn vsctl(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("ovs-vsctl")
                .arg(format!("--db=unix:{}", self.dir.join("db.sock").display()))
                .arg("--timeout=20")
                .args(args),
        )
    }

    /// Runs `ovs-appctl` against this `ovs-vswitchd`.
    pub fn appctl(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("ovs-appctl")
                .arg("-t")
                .arg(self.dir.join("ovs-vswitchd.ctl"))
                .args(args),
        )
    }

    /// Adds a dummy port with OpenFlow number `ofport` that writes what it
    /// transmits to `<dir>/<name>-tx.pcap` (see [`Self::tx_pcap`]).
    pub fn add_port(&self, name: &str, ofport: u32) {
        let pcap = self.tx_pcap(name);
        self.vsctl(&[
            "add-port",
            &self.bridge,
            name,
            "--",
            "set",
            "interface",
            name,
            "type=dummy",
            &format!("ofport_request={ofport}"),
            &format!("options:tx_pcap={}", pcap.display()),
        ]);
    }

    /// The pcap file a dummy port added by [`Self::add_port`] writes.
    pub fn tx_pcap(&self, name: &str) -> PathBuf {
        self.dir.join(&format!("{name}-tx.pcap"))
    }

    /// The bridge name.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// The run directory (`OVS_RUNDIR` for tools).
    pub fn rundir(&self) -> &Path {
        self.dir.path()
    }

    /// `<rundir>/<bridge>.mgmt`.
    pub fn mgmt(&self) -> PathBuf {
        self.dir.join(&format!("{}.mgmt", self.bridge))
    }

    /// A command for a tool (`ovs-ofctl`, our `ofctl`) with `OVS_RUNDIR`
    /// pointing at this instance.
    pub fn tool(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("OVS_RUNDIR", self.dir.path());
        c
    }

    /// Runs the real `ovs-ofctl` with `args` (the bridge is not added);
    /// returns stdout, panicking with stderr on failure.
    pub fn ovs_ofctl(&self, args: &[&str]) -> String {
        run_ok(self.tool("ovs-ofctl").args(args))
    }

    /// The daemon log (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ovs-vswitchd.log")).unwrap_or_default()
    }
}

impl Drop for RealOvsVswitchd {
    fn drop(&mut self) {
        let d = self.dir.path();
        let _ = run(Command::new("ovs-appctl")
            .arg("-t")
            .arg(d.join("ovs-vswitchd.ctl"))
            .arg("exit"));
        kill_pidfile(&d.join("ovs-vswitchd.pid"));
        kill_pidfile(&d.join("ovsdb-server.pid"));
    }
}
