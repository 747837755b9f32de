//! Helpers shared by the end-to-end tests: unique names, temporary run
//! directories, and real Open vSwitch processes (Debian's packages) started
//! in a private directory and always stopped, even when a test fails.
//!
//! Contract: every resource a helper creates has a name unique to this
//! process and this call (tests run in parallel), and is removed by `Drop`.
//! A missing prerequisite is a test failure whose message says what to
//! install; nothing is skipped silently.

pub mod netns;
pub mod real_ovs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A name no other test in any process on this machine uses:
/// `<prefix><pid><counter>`, kept within `max_len` characters (Linux
/// interface names are at most 15).
pub fn unique_name(prefix: &str, max_len: usize) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let full = format!("{prefix}{:x}{n:x}", std::process::id());
    if full.len() <= max_len {
        full
    } else {
        // Keep the distinguishing tail.
        let keep = max_len.saturating_sub(prefix.len());
        format!("{prefix}{}", &full[full.len() - keep..])
    }
}

/// Fails the test, naming the Debian package, when `cmd` is not on PATH.
pub fn require(cmd: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "'{cmd}' is not installed: install the Debian package '{package}' \
         (apt-get install -y {package}), or run ./scripts/test.sh, which does"
    );
}

pub mod daemon;

/// A temporary directory removed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `/tmp/<prefix>-<unique>`. Short, because unix socket paths
    /// are limited to 107 bytes.
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique_name(&format!("{prefix}-"), 40));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    /// Takes ownership of an existing directory (removed on drop).
    pub fn adopt(path: PathBuf) -> TempDir {
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Runs a command, returning its output; panics with the command line when
/// it cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `cond` holds, polling every 10 ms, up to `timeout`.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

fn kill_pidfile(pidfile: &Path) {
    if let Ok(pid) = std::fs::read_to_string(pidfile) {
        let pid = pid.trim();
        if !pid.is_empty() {
            let _ = Command::new("kill").args(["-9", pid]).output();
        }
    }
}

/// A real `ovsdb-server` (Debian's) serving a fresh `Open_vSwitch` database
/// on `unix:<dir>/db.sock`, stopped on drop.
#[derive(Debug)]
pub struct RealOvsdb {
    dir: TempDir,
}

/// Path of Debian's `Open_vSwitch` schema.
pub const OVS_SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

impl RealOvsdb {
    /// Creates the database and starts the server.
    pub fn start() -> RealOvsdb {
        require("ovsdb-server", "openvswitch-switch");
        require("ovsdb-tool", "openvswitch-common");
        assert!(
            Path::new(OVS_SCHEMA).exists(),
            "{OVS_SCHEMA} is missing: install openvswitch-common"
        );
        let dir = TempDir::new("ovsdb");
        let db = dir.join("conf.db");
        run_ok(
            Command::new("ovsdb-tool")
                .arg("create")
                .arg(&db)
                .arg(OVS_SCHEMA),
        );
        let me = RealOvsdb { dir };
        run_ok(
            Command::new("ovsdb-server")
                .arg(&db)
                .arg(format!("--remote=punix:{}", me.socket().display()))
                .arg(format!(
                    "--pidfile={}",
                    me.dir.join("ovsdb-server.pid").display()
                ))
                .arg(format!(
                    "--unixctl={}",
                    me.dir.join("ovsdb-server.ctl").display()
                ))
                .arg(format!(
                    "--log-file={}",
                    me.dir.join("ovsdb-server.log").display()
                ))
                .args(["--detach", "--no-chdir"]),
        );
        assert!(
            wait_for(Duration::from_secs(5), || me.socket().exists()),
            "ovsdb-server did not create its socket"
        );
        me
    }

    /// The server's socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    /// `unix:<socket>`, as `--db=` wants it.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for RealOvsdb {
    fn drop(&mut self) {
        kill_pidfile(&self.dir.join("ovsdb-server.pid"));
    }
}

/// Our OVSDB server (`vswitchd --db-only`) on a fresh database in a private
/// run directory (`<dir>/db.sock`), killed on drop.
#[derive(Debug)]
pub struct OurOvsdb {
    child: std::process::Child,
    dir: TempDir,
    tcp: Option<std::net::SocketAddr>,
}

impl OurOvsdb {
    /// Starts the server on its unix socket only.
    pub fn start() -> OurOvsdb {
        OurOvsdb::spawn(false)
    }

    /// Starts the server on its unix socket and on a TCP port of 127.0.0.1
    /// chosen by the system (see [`OurOvsdb::tcp_remote`]).
    pub fn start_with_tcp() -> OurOvsdb {
        OurOvsdb::spawn(true)
    }

    fn spawn(tcp: bool) -> OurOvsdb {
        use std::io::BufRead;
        let dir = TempDir::new("rvsdb");
        let mut cmd = Command::new(our_bin("vswitchd"));
        cmd.arg("--db-only").arg("--rundir").arg(dir.path());
        if tcp {
            cmd.args(["--remote", "ptcp:0:127.0.0.1"]);
            cmd.stderr(std::process::Stdio::piped());
        }
        let mut child = cmd.spawn().expect("start vswitchd --db-only");
        let mut addr = None;
        if let Some(err) = child.stderr.take() {
            // "vswitchd: OVSDB listening on tcp:127.0.0.1:PORT"; then keep
            // draining stderr so that the server never blocks on it.
            let mut lines = std::io::BufReader::new(err).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some(a) = line.split("listening on tcp:").nth(1) {
                    addr = a.trim().parse().ok();
                    break;
                }
            }
            std::thread::spawn(move || {
                for line in lines {
                    match line {
                        Ok(l) => eprintln!("{l}"),
                        Err(_) => break,
                    }
                }
            });
        }
        let me = OurOvsdb {
            child,
            dir,
            tcp: addr,
        };
        assert!(
            !tcp || me.tcp.is_some(),
            "our server did not report its TCP address"
        );
        assert!(
            wait_for(Duration::from_secs(10), || me.socket().exists()),
            "our server did not create {}",
            me.socket().display()
        );
        me
    }

    /// The server's unix socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    /// `unix:<socket>`, as `--db=` wants it.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    /// `tcp:127.0.0.1:PORT` (only after [`OurOvsdb::start_with_tcp`]).
    pub fn tcp_remote(&self) -> String {
        format!("tcp:{}", self.tcp.expect("started with TCP"))
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for OurOvsdb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Path of one of this workspace's binaries (built by `cargo build` or by
/// `cargo nextest run --workspace`, which builds every binary first).
pub fn our_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("test binary lives in target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} is not built: run `cargo build -p {name}` (or ./scripts/test.sh)",
        bin.display()
    );
    bin
}

/// Replaces every UUID in `text` with `<uuid>`.
pub fn mask_uuids(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let is_uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter().enumerate().all(|(k, c)| match k {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    while i < b.len() {
        if i + 36 <= b.len() && is_uuid(&b[i..i + 36]) {
            out.push_str("<uuid>");
            i += 36;
        } else {
            let ch = text[i..].chars().next().expect("char boundary");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuid_masking() {
        assert_eq!(
            mask_uuids(
                "a 35cb102c-e49e-4285-ab6d-5ea381763017, [b644cc8e-af44-41fb-9582-67529928292c] é"
            ),
            "a <uuid>, [<uuid>] é"
        );
    }

    use super::*;

    #[test]
    fn unique_names_are_unique_and_short() {
        let a = unique_name("veth", 15);
        let b = unique_name("veth", 15);
        assert_ne!(a, b);
        assert!(a.len() <= 15 && a.starts_with("veth"));
    }

    #[test]
    fn temp_dir_is_removed() {
        let p = {
            let d = TempDir::new("t");
            std::fs::write(d.join("x"), b"1").unwrap();
            d.path().to_path_buf()
        };
        assert!(!p.exists());
    }
}
