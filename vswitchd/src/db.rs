//! The embedded OVSDB server as `vswitchd` runs it.
//!
//! Files (defaults documented in `docs/vswitchd.md`):
//! * `<rundir>/db.sock`: the unix socket every client uses;
//! * `<rundir>/vswitchd.pid` with `--pidfile`;
//! * `<dbdir>/conf.rvsdb`: the database (our own log format, see
//!   `docs/ovsdb-log.md`), created with the shipped `Open_vSwitch` schema when
//!   missing.
//!
//! SIGTERM and SIGINT remove the socket and the pidfile before exiting.

use anyhow::{Context, Result, bail};
use ovsdb::server::{Core, DbStore, Server, ServerConfig, ServerDb};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Database file name inside the database directory.
pub const DB_FILE: &str = "conf.rvsdb";

/// What `--db-only` was asked to do.
#[derive(Debug)]
pub struct Options {
    pub rundir: PathBuf,
    pub dbdir: PathBuf,
    pub remotes: Vec<String>,
    pub pidfile: Option<String>,
    pub sync: bool,
}

/// A parsed `--remote`.
#[derive(Debug, PartialEq)]
enum Remote {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

fn parse_remote(s: &str) -> Result<Remote> {
    if let Some(rest) = s.strip_prefix("ptcp:") {
        let (port, ip) = match rest.split_once(':') {
            Some((p, ip)) => (p, ip.trim_matches(|c| c == '[' || c == ']')),
            None => (rest, ""),
        };
        let port: u16 = port
            .parse()
            .with_context(|| format!("bad port '{port}' in remote '{s}'"))?;
        let ip: IpAddr = if ip.is_empty() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            ip.parse()
                .with_context(|| format!("bad address '{ip}' in remote '{s}'"))?
        };
        Ok(Remote::Tcp(SocketAddr::new(ip, port)))
    } else if let Some(path) = s.strip_prefix("punix:") {
        Ok(Remote::Unix(PathBuf::from(path)))
    } else {
        bail!("unsupported remote '{s}' (use ptcp:PORT[:IP] or punix:PATH)")
    }
}

/// The embedded server, listening.
#[derive(Debug)]
pub struct Running {
    /// The server, kept for the daemon's lifetime.
    pub _server: Server,
    /// Unix socket paths to remove on exit.
    pub sockets: Vec<PathBuf>,
}

impl Running {
    /// Removes the sockets this server created.
    pub fn cleanup(&self) {
        for p in &self.sockets {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Opens (or creates) the database and starts every listener.
pub async fn start(opts: &Options) -> Result<Running> {
    let remotes: Vec<Remote> = opts
        .remotes
        .iter()
        .map(|r| parse_remote(r))
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(&opts.rundir)
        .with_context(|| format!("cannot create run directory {}", opts.rundir.display()))?;
    std::fs::create_dir_all(&opts.dbdir)
        .with_context(|| format!("cannot create database directory {}", opts.dbdir.display()))?;
    let path = opts.dbdir.join(DB_FILE);
    let schema = ovsdb::schemas::vswitch_json();
    let (store, warnings) = open_waiting_for_lock(&path, &schema, opts.sync)
        .with_context(|| format!("cannot open database {}", path.display()))?;
    for w in warnings {
        tracing::warn!("{}: {w}", path.display());
    }
    let served = vec![(store.name().to_owned(), store.schema_value())];
    let mut core = Core::new();
    core.add_db(Box::new(store));
    core.add_db(Box::new(ServerDb::new(&served)));
    let server = Server::new(core, ServerConfig::default());

    let sock = opts.rundir.join("db.sock");
    let mut sockets = vec![sock.clone()];
    server
        .listen_unix(&sock)
        .await
        .with_context(|| format!("cannot listen on {}", sock.display()))?;
    for r in remotes {
        match r {
            Remote::Tcp(addr) => {
                let (bound, _) = server
                    .listen_tcp(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                tracing::info!("OVSDB listening on tcp:{bound}");
            }
            Remote::Unix(p) => {
                server
                    .listen_unix(&p)
                    .await
                    .with_context(|| format!("cannot listen on {}", p.display()))?;
                sockets.push(p);
            }
        }
    }
    server.spawn_timers();
    tracing::info!("OVSDB listening on unix:{}", sock.display());
    Ok(Running {
        _server: server,
        sockets,
    })
}

/// `--db-only`: runs the server until SIGTERM or SIGINT.
pub async fn serve(opts: Options) -> Result<()> {
    let signals = crate::signal_waiter()?;
    let running = start(&opts).await?;
    let pidfile = opts.pidfile.as_ref().map(|p| {
        if p.is_empty() {
            opts.rundir.join("vswitchd.pid")
        } else {
            PathBuf::from(p)
        }
    });
    let _lock = match &pidfile {
        Some(p) => Some(crate::daemon::write_pidfile(p)?),
        None => None,
    };
    signals.await;
    running.cleanup();
    if let Some(p) = pidfile {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

/// How long a start waits for a database lock held by another process
/// before giving up: a daemon that was just stopped or killed releases it
/// when its last thread is gone, which can be a little after its pid looks
/// dead (a zombie leader while other threads still tear down devices).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// [`DbStore::open_or_create`], retrying while the file is locked by
/// another writer for up to [`LOCK_WAIT`]; a server that is really running
/// on the file keeps its lock and the start fails with the lock error.
fn open_waiting_for_lock(
    path: &std::path::Path,
    schema: &serde_json::Value,
    sync: bool,
) -> Result<(DbStore, Vec<String>), ovsdb::server::StoreError> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let mut logged = false;
    loop {
        match DbStore::open_or_create(path, schema, sync) {
            Err(ovsdb::server::StoreError::Log(ovsdb::log::LogError::Locked { .. }))
                if std::time::Instant::now() < deadline =>
            {
                if !logged {
                    tracing::info!(
                        "{} is locked by another writer; waiting up to {:?} for it to exit",
                        path.display(),
                        LOCK_WAIT
                    );
                    logged = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes() {
        assert_eq!(
            parse_remote("ptcp:6640").unwrap(),
            Remote::Tcp("127.0.0.1:6640".parse().unwrap())
        );
        assert_eq!(
            parse_remote("ptcp:6640:0.0.0.0").unwrap(),
            Remote::Tcp("0.0.0.0:6640".parse().unwrap())
        );
        assert_eq!(
            parse_remote("ptcp:6640:[::1]").unwrap(),
            Remote::Tcp("[::1]:6640".parse().unwrap())
        );
        assert_eq!(parse_remote("punix:/x").unwrap(), Remote::Unix("/x".into()));
        assert!(
            parse_remote("tcp:1.2.3.4:5")
                .unwrap_err()
                .to_string()
                .contains("'tcp:1.2.3.4:5'")
        );
        assert!(
            parse_remote("ptcp:http")
                .unwrap_err()
                .to_string()
                .contains("'http'")
        );
    }
}
