//! Our daemon (`vswitchd`, full mode) started with `--detach` in a private
//! run directory, and the real Open vSwitch tools pointed at it.
//!
//! Contract: every daemon has its own run directory (unique name) and is
//! killed on drop if the test left it running; its log goes to
//! `<rundir>/vswitchd.log` (`OVS_LOGDIR` is the run directory).

use crate::{TempDir, our_bin, run, run_ok, wait_for};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// A detached `vswitchd`.
#[derive(Debug)]
pub struct OurDaemon {
    dir: TempDir,
}

impl OurDaemon {
    /// Starts the daemon with `--detach`, `extra` options and `--log-file`
    /// (unless `extra` names one).
    pub fn start(extra: &[&str]) -> OurDaemon {
        OurDaemon::start_in(TempDir::new("rvsd"), extra)
    }

    /// Starts the daemon in an existing run directory (a restart).
    pub fn start_in(dir: TempDir, extra: &[&str]) -> OurDaemon {
        let mut cmd = Command::new(our_bin("vswitchd"));
        cmd.arg("--rundir")
            .arg(dir.path())
            .arg("--detach")
            .env("OVS_LOGDIR", dir.path())
            .args(extra);
        if !extra.iter().any(|a| a.starts_with("--log-file")) {
            cmd.arg("--log-file");
        }
        let out = run(&mut cmd);
        assert!(
            out.status.success(),
            "vswitchd --detach failed: {}\nprocesses holding files in {}: {}",
            String::from_utf8_lossy(&out.stderr),
            dir.path().display(),
            holders(dir.path())
        );
        OurDaemon { dir }
    }

    /// The run directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's pid, from its pidfile.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("ovs-vswitchd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `--db=unix:<rundir>/db.sock`.
    pub fn db_arg(&self) -> String {
        format!("--db=unix:{}", self.dir.join("db.sock").display())
    }

    /// Real `ovs-appctl` with `OVS_RUNDIR` set to our run directory.
    pub fn ovs_appctl(&self, args: &[&str]) -> Output {
        run(Command::new("ovs-appctl")
            .env("OVS_RUNDIR", self.path())
            .args(args))
    }

    /// Our `vswitchd appctl`.
    pub fn our_appctl(&self, args: &[&str]) -> Output {
        run(Command::new(our_bin("vswitchd"))
            .arg("--rundir")
            .arg(self.path())
            .arg("appctl")
            .args(args))
    }

    /// Real `ovs-vsctl` (with a 10 s `--timeout`) that must succeed.
    pub fn ovs_vsctl(&self, args: &[&str]) -> String {
        run_ok(
            Command::new("ovs-vsctl")
                .arg(self.db_arg())
                .arg("--timeout=10")
                .args(args),
        )
    }

    /// Real `ovs-ofctl` on our run directory; must succeed; its stdout.
    pub fn ovs_ofctl(&self, args: &[&str]) -> String {
        let out = run(Command::new("ovs-ofctl")
            .env("OVS_RUNDIR", self.path())
            .args(args));
        assert!(
            out.status.success(),
            "ovs-ofctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `init`, then bridge `br` with `settings` (`column=value` of the
    /// Bridge row, e.g. `fail_mode=secure`) and one port per
    /// `(interface, ofport_request)`; returns once the daemon applied it
    /// (no `--no-wait`).
    pub fn add_bridge(&self, br: &str, settings: &[&str], ports: &[(&str, u32)]) {
        self.ovs_vsctl(&["init"]);
        let mut args: Vec<String> = vec!["add-br".into(), br.into()];
        if !settings.is_empty() {
            args.extend(["--", "set", "Bridge", br].map(String::from));
            args.extend(settings.iter().map(|s| s.to_string()));
        }
        for (iface, ofport) in ports {
            args.extend(["--", "add-port", br, iface].map(String::from));
            args.extend(["--", "set", "Interface", iface].map(String::from));
            args.push(format!("ofport_request={ofport}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ovs_vsctl(&args);
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("vswitchd.log")).unwrap_or_default()
    }

    /// Stops the daemon with `exit` and waits for the process to end;
    /// returns the run directory for a restart.
    pub fn stop(self) -> TempDir {
        let pid = self.pid();
        let out = self.ovs_appctl(&["exit"]);
        assert!(
            out.status.success(),
            "exit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(pid) = pid {
            assert!(
                wait_for(Duration::from_secs(10), || !alive(pid)),
                "daemon {pid} still running after exit"
            );
        }
        // The directory outlives this handle (no kill on drop: it is gone).
        let me = std::mem::ManuallyDrop::new(self);
        TempDir::adopt(me.dir.path().to_path_buf())
    }

    /// Kills the daemon with SIGKILL (a crash); returns the run directory.
    pub fn kill(self) -> TempDir {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).output();
            assert!(wait_for(Duration::from_secs(10), || !alive(pid)));
        }
        let me = std::mem::ManuallyDrop::new(self);
        TempDir::adopt(me.dir.path().to_path_buf())
    }
}

impl Drop for OurDaemon {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).output();
        }
    }
}

/// True while process `pid` exists and is not a zombie.
/// Processes with a file under `dir` open (for failure messages), as
/// `pid (command) path` entries.
pub fn holders(dir: &Path) -> String {
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return "(no /proc)".into();
    };
    for p in procs.flatten() {
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && target.starts_with(dir)
            {
                let cmd = std::fs::read_to_string(p.path().join("cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " ");
                found.push(format!(
                    "{} ({}) {}",
                    p.file_name().to_string_lossy(),
                    cmd.trim(),
                    target.display()
                ));
            }
        }
    }
    if found.is_empty() {
        "none".into()
    } else {
        found.join("; ")
    }
}

/// True while process `pid` runs or still tears down: a zombie whose other
/// threads have not all exited yet still holds its files, locks and tap
/// devices (the leader turns `Z` first), so it counts as alive until it is
/// the only task left. An unreaped zombie with no other task is dead.
pub fn alive(pid: u32) -> bool {
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return false;
    }
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_default()
        .contains(") Z ");
    if !zombie {
        return true;
    }
    std::fs::read_dir(format!("/proc/{pid}/task")).is_ok_and(|tasks| tasks.count() > 1)
}
