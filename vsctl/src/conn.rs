//! The database access `vsctl` needs, behind one small interface
//! ([`DbAccess`]): fetch the schema, read every table, run a transaction,
//! and wait for `cur_cfg` to reach a value.
//!
//! Contract: [`ClientConn`] implements it on `ovsdb::client`'s blocking
//! client; the commands only see [`DbAccess`]. Errors are `ovs-vsctl`-style
//! message strings.

use std::time::Duration;

use ovsdb::client::{ClientError, ClientOptions, Monitor, MonitorSpec, blocking};
use ovsdb::datum::{Atom, Datum};
use ovsdb::schema::DatabaseSchema;
use serde_json::Value;

/// What the commands need from a database connection.
pub trait DbAccess {
    /// The schema of `db`, as JSON.
    fn get_schema(&mut self, db: &str) -> Result<DatabaseSchema, String>;
    /// Runs `ops` on `db`; returns the result array (or the RPC error).
    fn transact(&mut self, db: &str, ops: Vec<Value>) -> Result<Value, String>;
    /// Blocks until `Open_vSwitch`'s `cur_cfg` is at least `target`.
    fn wait_cur_cfg(&mut self, db: &str, target: i64) -> Result<(), String>;
    /// For `wait-until`: returns when the database may have changed since
    /// the previous call. The first call only starts watching and returns
    /// at once (the caller re-reads), so no change can slip between a read
    /// and the wait.
    fn wait_for_change(&mut self, db: &str) -> Result<(), String>;
}

/// A connection through `ovsdb::client` (its blocking wrapper).
#[derive(Debug)]
pub struct ClientConn {
    client: blocking::Client,
    remote: String,
    /// `wait-until`'s monitor of every table and the last change seen.
    watch: Option<(Monitor, u64)>,
}

/// `strerror`-like text of an I/O error.
pub fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

impl ClientConn {
    /// Connects to `unix:PATH` or `tcp:IP:PORT`; errors are worded like
    /// `ovs-vsctl`'s (`REMOTE: database connection failed (REASON)`).
    pub fn connect(remote: &str) -> Result<ClientConn, String> {
        let fail = |why: String| format!("{remote}: database connection failed ({why})");
        crate::vlog_dbg("reconnect", &format!("{remote}: connecting..."));
        match blocking::Client::connect(remote, &ClientOptions::default()) {
            Ok(client) => {
                crate::vlog_dbg("reconnect", &format!("{remote}: connected"));
                Ok(ClientConn {
                    client,
                    remote: remote.to_owned(),
                    watch: None,
                })
            }
            Err(ClientError::Connect { source, .. }) => Err(fail(io_text(&source))),
            Err(ClientError::InvalidRemote { .. }) => {
                Err(fail("Address family not supported by protocol".into()))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }
}

impl DbAccess for ClientConn {
    fn get_schema(&mut self, db: &str) -> Result<DatabaseSchema, String> {
        crate::vlog_dbg(
            "jsonrpc",
            &format!(
                "{}: send request, method=\"get_schema\", params=[\"{db}\"]",
                self.remote
            ),
        );
        let r = self.client.get_schema(db).map_err(|e| e.to_string());
        if let Ok(s) = &r {
            crate::vlog_dbg(
                "jsonrpc",
                &format!(
                    "{}: received reply, schema {} {}",
                    self.remote, s.name, s.version
                ),
            );
        }
        r
    }

    fn transact(&mut self, db: &str, ops: Vec<Value>) -> Result<Value, String> {
        crate::vlog_dbg(
            "jsonrpc",
            &format!(
                "{}: send request, method=\"transact\", params={}",
                self.remote,
                Value::Array([vec![Value::from(db)], ops.clone()].concat())
            ),
        );
        let r = self
            .client
            .transact(db, ops)
            .map(Value::Array)
            .map_err(|e| e.to_string());
        match &r {
            Ok(v) => crate::vlog_dbg(
                "jsonrpc",
                &format!("{}: received reply, result={v}", self.remote),
            ),
            Err(e) => crate::vlog_dbg("jsonrpc", &format!("{}: error: {e}", self.remote)),
        }
        r
    }

    fn wait_for_change(&mut self, db: &str) -> Result<(), String> {
        match &mut self.watch {
            None => {
                let schema = self.client.get_schema(db).map_err(|e| e.to_string())?;
                let mon = self
                    .client
                    .monitor(db, MonitorSpec::all_tables(&schema))
                    .map_err(|e| e.to_string())?;
                let seen = mon.read(|r| r.seqno());
                self.watch = Some((mon, seen));
            }
            Some((mon, seen)) => {
                let before = *seen;
                // Re-read at least every few seconds even if no update
                // arrives (a safety net, not the mechanism).
                match self
                    .client
                    .wait_until(mon, Some(Duration::from_secs(5)), |r| r.seqno() > before)
                {
                    Ok(()) => {}
                    Err(e) if e.is_timeout() => {}
                    Err(e) => return Err(e.to_string()),
                }
                *seen = mon.read(|r| r.seqno());
            }
        }
        Ok(())
    }

    fn wait_cur_cfg(&mut self, db: &str, target: i64) -> Result<(), String> {
        let spec = MonitorSpec::new().table("Open_vSwitch", &["cur_cfg"]);
        let mon = self.client.monitor(db, spec).map_err(|e| e.to_string())?;
        self.client
            .wait_until(&mon, None, |r| {
                r.rows("Open_vSwitch").any(|row| {
                    row.get("cur_cfg")
                        .and_then(Datum::as_scalar)
                        .and_then(Atom::as_integer)
                        .is_some_and(|c| c >= target)
                })
            })
            .map_err(|e| e.to_string())
    }
}
