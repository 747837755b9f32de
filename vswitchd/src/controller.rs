//! Controller connections from `Bridge.controller`: active `tcp:IP[:PORT]`
//! targets (reconnecting with backoff) and passive `ptcp:PORT[:IP]` ones,
//! each session an OpenFlow controller connection of its bridge.
//!
//! Contract:
//! * An active target is retried forever: 1 s after a failure, doubling to
//!   at most 8 s; a session that ends is retried after 1 s. Sessions probe
//!   an idle peer every 5 s and drop it after another 5 s of silence.
//! * A passive target listens until its target is removed (all addresses
//!   unless an IP is given, as Open vSwitch does).
//! * [`ControllerTask::connected`] says whether a session is up, for
//!   `Controller.is_connected`. Dropping the task closes its listener and
//!   stops reconnecting (sessions already running end with their peer).

use crate::ofconn::{self, SessionOptions};
use crate::ofswitch::OfBridge;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Default OpenFlow controller port.
pub const DEFAULT_PORT: u16 = 6653;
/// Inactivity probe of controller sessions.
pub const PROBE: Duration = Duration::from_secs(5);

/// A parsed controller target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Connect to this address.
    Active(SocketAddr),
    /// Listen on this address.
    Passive(SocketAddr),
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

/// Parses `tcp:IP[:PORT]` or `ptcp:[PORT][:IP]`; the error quotes the
/// target.
pub fn parse_target(t: &str) -> Result<Target, String> {
    let bad =
        || format!("unsupported controller target \"{t}\" (use tcp:IP[:PORT] or ptcp:[PORT][:IP])");
    if let Some(rest) = t.strip_prefix("tcp:") {
        // IPv6 in brackets, or IPv4, then an optional port.
        let (ip, port) = match rest.rfind(':') {
            Some(i)
                if !rest[..i].is_empty() && (rest.starts_with('[') == rest[..i].ends_with(']')) =>
            {
                (&rest[..i], Some(&rest[i + 1..]))
            }
            _ => (rest, None),
        };
        let ip = parse_ip(ip).ok_or_else(bad)?;
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => DEFAULT_PORT,
        };
        Ok(Target::Active(SocketAddr::new(ip, port)))
    } else if let Some(rest) = t.strip_prefix("ptcp:") {
        let (port, ip) = match rest.split_once(':') {
            Some((p, ip)) => (p, parse_ip(ip).ok_or_else(bad)?),
            None => (rest, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        };
        let port = if port.is_empty() {
            DEFAULT_PORT
        } else {
            port.parse().map_err(|_| bad())?
        };
        Ok(Target::Passive(SocketAddr::new(ip, port)))
    } else {
        Err(bad())
    }
}

/// A running controller target.
#[derive(Debug)]
pub struct ControllerTask {
    sessions: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControllerTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ControllerTask {
    /// Starts serving `target` for `of` (needs a tokio runtime).
    pub fn start(target: &str, of: Arc<OfBridge>) -> Result<ControllerTask, String> {
        let t = parse_target(target)?;
        let sessions = Arc::new(AtomicUsize::new(0));
        let s = sessions.clone();
        let task = match t {
            Target::Active(addr) => tokio::spawn(active(addr, of, s)),
            Target::Passive(addr) => {
                let std = std::net::TcpListener::bind(addr)
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
                std.set_nonblocking(true).map_err(|e| e.to_string())?;
                let l = tokio::net::TcpListener::from_std(std).map_err(|e| e.to_string())?;
                tokio::spawn(passive(l, of, s))
            }
        };
        Ok(ControllerTask { sessions, task })
    }

    /// True while a session is up.
    pub fn connected(&self) -> bool {
        self.sessions.load(Ordering::Relaxed) > 0
    }
}

fn options(of: &OfBridge) -> SessionOptions {
    SessionOptions {
        versions: of.versions(),
        probe: Some(PROBE),
        is_controller: true,
    }
}

async fn session(stream: tokio::net::TcpStream, of: Arc<OfBridge>, sessions: Arc<AtomicUsize>) {
    let _ = stream.set_nodelay(true);
    sessions.fetch_add(1, Ordering::Relaxed);
    let opts = options(&of);
    let handler: Arc<dyn ofconn::Handler> = of;
    ofconn::run(stream, handler, opts).await;
    sessions.fetch_sub(1, Ordering::Relaxed);
}

async fn active(addr: SocketAddr, of: Arc<OfBridge>, sessions: Arc<AtomicUsize>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
        {
            Ok(Ok(stream)) => {
                tracing::info!("{}: connected to controller tcp:{addr}", of.name());
                session(stream, of.clone(), sessions.clone()).await;
                tracing::info!("{}: controller tcp:{addr} disconnected", of.name());
                backoff = Duration::from_secs(1);
            }
            Ok(Err(e)) => {
                tracing::debug!("{}: controller tcp:{addr}: {e}", of.name());
                backoff = (backoff * 2).min(Duration::from_secs(8));
            }
            Err(_) => backoff = (backoff * 2).min(Duration::from_secs(8)),
        }
        tokio::time::sleep(backoff.min(Duration::from_secs(8))).await;
    }
}

async fn passive(l: tokio::net::TcpListener, of: Arc<OfBridge>, sessions: Arc<AtomicUsize>) {
    loop {
        match l.accept().await {
            Ok((stream, peer)) => {
                tracing::info!("{}: controller connection from {peer}", of.name());
                tokio::spawn(session(stream, of.clone(), sessions.clone()));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("tcp:127.0.0.1:6633").unwrap(),
            Target::Active("127.0.0.1:6633".parse().unwrap())
        );
        assert_eq!(
            parse_target("tcp:10.0.0.1").unwrap(),
            Target::Active("10.0.0.1:6653".parse().unwrap())
        );
        assert_eq!(
            parse_target("tcp:[::1]:7000").unwrap(),
            Target::Active("[::1]:7000".parse().unwrap())
        );
        assert_eq!(
            parse_target("ptcp:6634").unwrap(),
            Target::Passive("0.0.0.0:6634".parse().unwrap())
        );
        assert_eq!(
            parse_target("ptcp:6634:127.0.0.1").unwrap(),
            Target::Passive("127.0.0.1:6634".parse().unwrap())
        );
        let e = parse_target("ssl:1.2.3.4:6653").unwrap_err();
        assert!(e.contains("\"ssl:1.2.3.4:6653\""), "{e}");
        assert!(parse_target("tcp:nohost").is_err());
    }
}
