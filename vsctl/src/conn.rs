//! The database access `vsctl` needs, behind one small interface
//! ([`DbAccess`]): fetch the schema, read every table, run a transaction,
//! and wait for `cur_cfg` to reach a value.
//!
//! Contract: [`JsonRpcConn`] is a thin temporary shim over
//! `ovsdb::jsonrpc` (blocking sockets, one request at a time); it is to be
//! replaced by `ovsdb::client` once that lands, without touching the
//! commands, which only see [`DbAccess`]. Errors are `ovs-vsctl`-style
//! message strings.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ovsdb::jsonrpc::{Decoder, Message};
use serde_json::{Value, json};

/// What the commands need from a database connection.
pub trait DbAccess {
    /// The schema of `db`, as JSON.
    fn get_schema(&mut self, db: &str) -> Result<Value, String>;
    /// Runs `ops` on `db`; returns the result array (or the RPC error).
    fn transact(&mut self, db: &str, ops: Vec<Value>) -> Result<Value, String>;
    /// Blocks until `Open_vSwitch`'s `cur_cfg` is at least `target`.
    fn wait_cur_cfg(&mut self, db: &str, target: i64) -> Result<(), String>;
}

/// A stream to the server.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// Blocking JSON-RPC connection.
pub struct JsonRpcConn {
    stream: Box<dyn Stream>,
    decoder: Decoder,
    next_id: u64,
    /// Notifications received while waiting for a reply.
    pending: Vec<Message>,
}

impl std::fmt::Debug for JsonRpcConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonRpcConn").finish_non_exhaustive()
    }
}

/// `strerror`-like text of an I/O error.
pub fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

impl JsonRpcConn {
    /// Connects to `unix:PATH` or `tcp:IP:PORT`.
    pub fn connect(remote: &str) -> Result<JsonRpcConn, String> {
        let fail = |why: String| format!("{remote}: database connection failed ({why})");
        let stream: Box<dyn Stream> = if let Some(path) = remote.strip_prefix("unix:") {
            Box::new(UnixStream::connect(path).map_err(|e| fail(io_text(&e)))?)
        } else if let Some(addr) = remote.strip_prefix("tcp:") {
            let addr = if let Some(rest) = addr.strip_prefix('[') {
                // [v6]:port
                rest.replacen("]", "", 1)
                    .rsplit_once(':')
                    .map(|(h, p)| format!("[{h}]:{p}"))
                    .unwrap_or_default()
            } else {
                addr.to_owned()
            };
            let s = std::net::TcpStream::connect(&addr).map_err(|e| fail(io_text(&e)))?;
            let _ = s.set_nodelay(true);
            Box::new(s)
        } else {
            return Err(fail("Address family not supported by protocol".into()));
        };
        Ok(JsonRpcConn {
            stream,
            decoder: Decoder::new(),
            next_id: 1,
            pending: Vec::new(),
        })
    }

    fn send(&mut self, msg: &Message) -> Result<(), String> {
        self.stream
            .write_all(&msg.to_bytes())
            .and_then(|_| self.stream.flush())
            .map_err(|e| format!("database connection failed ({})", io_text(&e)))
    }

    /// Reads one message, answering `echo` requests.
    fn recv(&mut self) -> Result<Message, String> {
        loop {
            match self.decoder.next() {
                Ok(Some(v)) => {
                    let msg = Message::from_value(v).map_err(|e| e.to_string())?;
                    if msg.method() == Some("echo")
                        && let Message::Request { params, id, .. } = &msg
                    {
                        let reply = Message::response(params.clone(), id.clone());
                        self.send(&reply)?;
                        continue;
                    }
                    return Ok(msg);
                }
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
            let mut buf = [0u8; 65536];
            let n = self
                .stream
                .read(&mut buf)
                .map_err(|e| format!("database connection failed ({})", io_text(&e)))?;
            if n == 0 {
                return Err("database connection failed (End of file)".into());
            }
            self.decoder.feed(&buf[..n]);
        }
    }

    /// Sends a request and waits for its reply.
    fn request(&mut self, method: &str, params: Vec<Value>) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&Message::request(method, params, json!(id)))?;
        loop {
            let msg = self.recv()?;
            match msg {
                Message::Response { result, id: rid } if rid == json!(id) => return Ok(result),
                Message::Error { error, id: rid } if rid == json!(id) => {
                    return Err(format!("{method} failed: {error}"));
                }
                other => self.pending.push(other),
            }
        }
    }
}

fn cur_cfg_in(update: &Value) -> Option<i64> {
    let rows = update.get("Open_vSwitch")?.as_object()?;
    rows.values().find_map(|r| {
        r.get("new")
            .or_else(|| r.get("initial"))
            .or_else(|| r.get("modify"))
            .or(Some(r))
            .and_then(|n| n.get("cur_cfg"))
            .and_then(Value::as_i64)
    })
}

impl DbAccess for JsonRpcConn {
    fn get_schema(&mut self, db: &str) -> Result<Value, String> {
        self.request("get_schema", vec![json!(db)])
    }

    fn transact(&mut self, db: &str, ops: Vec<Value>) -> Result<Value, String> {
        let mut params = vec![json!(db)];
        params.extend(ops);
        self.request("transact", params)
    }

    fn wait_cur_cfg(&mut self, db: &str, target: i64) -> Result<(), String> {
        let initial = self.request(
            "monitor",
            vec![
                json!(db),
                json!("vsctl-cfg"),
                json!({"Open_vSwitch": {"columns": ["cur_cfg"]}}),
            ],
        )?;
        if cur_cfg_in(&initial).is_some_and(|c| c >= target) {
            return Ok(());
        }
        loop {
            let msg = if self.pending.is_empty() {
                self.recv()?
            } else {
                self.pending.remove(0)
            };
            if let Message::Notification { method, params } = &msg
                && method == "update"
                && let Some(u) = params.get(1)
                && cur_cfg_in(u).is_some_and(|c| c >= target)
            {
                return Ok(());
            }
        }
    }
}

/// Sleeps a little between polls (for `wait-until`).
pub fn poll_pause() {
    std::thread::sleep(Duration::from_millis(20));
}
