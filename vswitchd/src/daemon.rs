//! The daemon's life cycle: detaching, the pidfile, the control socket and
//! its built-in commands, and shutdown.
//!
//! Contract:
//! * `--detach` returns in the parent only once the daemon serves (exit 0)
//!   or has failed to start (exit 1, with the daemon's error on stderr).
//!   The detached daemon runs in its own session with no console.
//! * The full daemon always writes a pidfile (default
//!   `<rundir>/ovs-vswitchd.pid`) and serves its control socket on
//!   `<rundir>/ovs-vswitchd.<pid>.ctl`, the names `ovs-appctl` looks for, so
//!   the real `ovs-appctl` works without `-t`.
//! * SIGTERM, SIGINT and `exit` remove the sockets and the pidfile.

use crate::{appctl, db, vlog};
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Environment variable marking the re-executed, detached child.
const CHILD_ENV: &str = "RVS_VSWITCHD_DETACHED";

/// Which side of `--detach` we are on.
#[derive(Debug)]
pub enum Role {
    /// The launching process: exit with this code.
    Parent(i32),
    /// The daemon: report readiness through this.
    Child(Ready),
}

/// The detached daemon's channel to its launcher (its standard output,
/// a pipe the launcher reads one line from).
#[derive(Debug)]
pub struct Ready(());

impl Ready {
    /// The daemon serves: the launcher exits 0.
    pub fn ok(self) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"ready\n");
        let _ = out.flush();
    }

    /// The daemon could not start: the launcher prints `msg` and exits 1.
    pub fn fail(self, msg: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "error: {}", msg.replace('\n', " "));
        let _ = out.flush();
    }
}

/// Re-executes this program in the background (same arguments) and waits
/// until it reports readiness; in the re-executed child, starts a new
/// session and returns [`Role::Child`].
pub fn detach() -> Result<Role> {
    if std::env::var_os(CHILD_ENV).is_some() {
        // Leave the launcher's session and controlling terminal. Failure
        // (already a session leader) is harmless.
        let _ = rustix::process::setsid();
        return Ok(Role::Child(Ready(())));
    }
    let exe = std::env::current_exe().context("cannot find our own executable")?;
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the daemon process")?;
    let stdout = child.stdout.take().context("no pipe to the daemon")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let line = line.trim_end();
    if line == "ready" {
        return Ok(Role::Parent(0));
    }
    if let Some(msg) = line.strip_prefix("error: ") {
        eprintln!("vswitchd: {msg}");
    } else {
        let status = child.wait()?;
        eprintln!("vswitchd: the daemon exited ({status}) before it was ready");
    }
    Ok(Role::Parent(1))
}

/// Runs the full daemon until a signal or `exit`.
pub async fn run(
    opts: db::Options,
    unixctl: Option<PathBuf>,
    vlog: vlog::Vlog,
    ready: Option<Ready>,
) -> Result<()> {
    let signals = match crate::signal_waiter() {
        Ok(s) => s,
        Err(e) => {
            if let Some(r) = ready {
                r.fail(&format!("{e:#}"));
            }
            return Err(e);
        }
    };
    match start(&opts, unixctl, vlog).await {
        Ok(d) => {
            if let Some(r) = ready {
                r.ok();
            }
            tracing::info!(
                "vswitchd {} started, pid {}",
                env!("CARGO_PKG_VERSION"),
                std::process::id()
            );
            tokio::select! {
                () = signals => {}
                _ = d.exit.notified() => {
                    // Let the `exit` reply reach the client before the
                    // control socket goes away.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            tracing::info!("vswitchd exiting");
            d.cleanup();
            Ok(())
        }
        Err(e) => {
            if let Some(r) = ready {
                r.fail(&format!("{e:#}"));
            }
            Err(e)
        }
    }
}

struct Daemon {
    db: db::Running,
    ctl: PathBuf,
    pidfile: PathBuf,
    _pidfile_lock: std::fs::File,
    exit: Arc<tokio::sync::Notify>,
    dp: Arc<crate::dp::Dp>,
}

/// Writes our pid to `path` and holds a POSIX write lock on it for as long
/// as the returned file lives: `ovs-appctl` (and a second daemon) treat a
/// pidfile as live only while it is locked by the pid it contains.
pub fn write_pidfile(path: &std::path::Path) -> Result<std::fs::File> {
    use rustix::fs::{FlockOperation, fcntl_lock};
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .open(path)
        .with_context(|| format!("cannot open pidfile {}", path.display()))?;
    fcntl_lock(&f, FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        anyhow::anyhow!(
            "pidfile {} is locked by another running daemon ({e})",
            path.display()
        )
    })?;
    f.set_len(0)?;
    writeln!(f, "{}", std::process::id())
        .with_context(|| format!("cannot write pidfile {}", path.display()))?;
    Ok(f)
}

impl Daemon {
    fn cleanup(&self) {
        self.dp.shutdown();
        self.db.cleanup();
        let _ = std::fs::remove_file(&self.ctl);
        let _ = std::fs::remove_file(&self.pidfile);
    }
}

async fn start(opts: &db::Options, unixctl: Option<PathBuf>, vlog: vlog::Vlog) -> Result<Daemon> {
    let db = db::start(opts).await?;
    let pid = std::process::id();
    let pidfile = match opts.pidfile.as_deref() {
        None | Some("") => opts.rundir.join("ovs-vswitchd.pid"),
        Some(p) => PathBuf::from(p),
    };
    let ctl = unixctl.unwrap_or_else(|| opts.rundir.join(format!("ovs-vswitchd.{pid}.ctl")));
    let exit = Arc::new(tokio::sync::Notify::new());
    let reg = appctl::Registry::default();
    register_builtins(&reg, &vlog, &exit);
    appctl::serve(&ctl, reg.clone())
        .await
        .with_context(|| format!("cannot listen on {}", ctl.display()))?;
    let pidfile_lock = write_pidfile(&pidfile)?;
    let sock = opts.rundir.join("db.sock");
    let dp = crate::dp::Dp::new(datapath::dpif::DatapathConfig::default());
    let dp2 = dp.clone();
    let flow_dir = opts.dbdir.clone();
    let reg2 = reg.clone();
    tokio::spawn(async move {
        let r = crate::bridge::run(
            sock,
            flow_dir,
            Box::new(crate::bridge::SystemOpener::default()),
            std::time::Duration::from_secs(5),
            dp2,
            reg2,
        )
        .await;
        if let Err(e) = r {
            tracing::error!("bridge reconciliation stopped: {e:#}");
        }
    });
    Ok(Daemon {
        db,
        ctl,
        pidfile,
        _pidfile_lock: pidfile_lock,
        exit,
        dp,
    })
}

fn register_builtins(reg: &appctl::Registry, vlog: &vlog::Vlog, exit: &Arc<tokio::sync::Notify>) {
    reg.register("version", "", 0, 0, |_| {
        Ok(format!("vswitchd (rvs) {}\n", env!("CARGO_PKG_VERSION")))
    });
    let v = vlog.clone();
    reg.register("vlog/list", "", 0, 0, move |_| Ok(v.list()));
    let v = vlog.clone();
    reg.register(
        "vlog/set",
        "{spec | PATTERN:destination:pattern}",
        0,
        usize::MAX,
        move |args| {
            if args.is_empty() {
                v.set("")?;
            }
            for a in args {
                v.set(a).map_err(|e| format!("{e}\n"))?;
            }
            Ok(String::new())
        },
    );
    let v = vlog.clone();
    reg.register("vlog/reopen", "", 0, 0, move |_| {
        v.reopen()
            .map(|()| String::new())
            .map_err(|e| format!("{e}\n"))
    });
    let e = exit.clone();
    reg.register("exit", "[--cleanup]", 0, 1, move |args| {
        if let Some(a) = args.first()
            && a != "--cleanup"
        {
            return Err(format!("unknown option \"{a}\"\n"));
        }
        // notify_one stores a permit, so the exit happens even though the
        // reply is written after this returns.
        e.notify_one();
        Ok(String::new())
    });
}
