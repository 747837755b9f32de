//! The daemon's control socket and the `appctl` client, wire-compatible with
//! Open vSwitch's `unixctl` so that the real `ovs-appctl` works against us.
//!
//! Protocol: JSON-RPC 1.0 over a unix stream socket. A request is
//! `{"id":ID,"method":COMMAND,"params":[ARG,...]}` with string arguments; a
//! success reply is `{"id":ID,"result":TEXT,"error":null}`, a failure
//! `{"id":ID,"error":TEXT}`. Several requests may be sent on one connection.
//!
//! Contract:
//! * Commands are registered by name with an argument count range and a
//!   usage string; `list-commands` lists them. An unknown command or a wrong
//!   argument count gets an error reply, never a closed connection.
//! * Input is hostile: a request larger than [`MAX_REQUEST`] bytes, or bytes
//!   that are not JSON, close that connection only; nothing panics.
//! * Handlers run on the control plane (never on packet threads) and must
//!   not block for long.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest request accepted on the control socket.
pub const MAX_REQUEST: usize = 1 << 20;

/// A command handler: arguments in, reply text or error text out.
pub type Handler = Arc<dyn Fn(&[String]) -> Result<String, String> + Send + Sync>;

struct Command {
    min_args: usize,
    max_args: usize,
    usage: &'static str,
    handler: Handler,
}

/// The registered commands. Cheap to clone; components register their
/// commands as they start.
#[derive(Clone, Default)]
pub struct Registry {
    commands: Arc<RwLock<BTreeMap<String, Command>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// Registers (or replaces) `name`.
    pub fn register(
        &self,
        name: &str,
        usage: &'static str,
        min_args: usize,
        max_args: usize,
        handler: impl Fn(&[String]) -> Result<String, String> + Send + Sync + 'static,
    ) {
        self.commands
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                name.to_owned(),
                Command {
                    min_args,
                    max_args,
                    usage,
                    handler: Arc::new(handler),
                },
            );
    }

    /// Runs one command as the control socket would.
    pub fn call(&self, name: &str, args: &[String]) -> Result<String, String> {
        if name == "list-commands" {
            return Ok(self.list());
        }
        let (handler, min, max) = {
            let cmds = self.commands.read().unwrap_or_else(PoisonError::into_inner);
            match cmds.get(name) {
                Some(c) => (c.handler.clone(), c.min_args, c.max_args),
                None => {
                    return Err(format!(
                        "\"{name}\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n"
                    ));
                }
            }
        };
        if args.len() < min {
            return Err(format!(
                "\"{name}\" command requires at least {min} arguments\n"
            ));
        }
        if args.len() > max {
            return Err(format!(
                "\"{name}\" command takes at most {max} arguments\n"
            ));
        }
        handler(args)
    }

    fn list(&self) -> String {
        let cmds = self.commands.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::from("The available commands are:\n");
        for (name, c) in cmds.iter() {
            out.push_str(&format!("  {:<23} {}\n", name, c.usage).replace(" \n", "\n"));
        }
        out
    }
}

/// Listens on `path` and serves requests until the task is dropped.
pub async fn serve(
    path: &Path,
    registry: Registry,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path)?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let reg = registry.clone();
            tokio::spawn(async move {
                if let Err(e) = session(stream, reg).await {
                    tracing::debug!("appctl session closed: {e}");
                }
            });
        }
    }))
}

async fn session(mut stream: tokio::net::UnixStream, reg: Registry) -> Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut consumed = 0;
        {
            let mut it = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
            loop {
                match it.next() {
                    Some(Ok(v)) => {
                        consumed = it.byte_offset();
                        let reply = handle(&reg, v);
                        stream.write_all(reply.to_string().as_bytes()).await?;
                    }
                    Some(Err(e)) if e.is_eof() => break,
                    Some(Err(e)) => bail!("bad JSON on control socket: {e}"),
                    None => break,
                }
            }
        }
        buf.drain(..consumed);
        if buf.len() > MAX_REQUEST {
            bail!("request larger than {MAX_REQUEST} bytes");
        }
    }
}

fn handle(reg: &Registry, req: Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return json!({"id": id, "error": "request has no method\n"});
    };
    let params = match req.get("params") {
        None => Vec::new(),
        Some(Value::Array(a)) => {
            let mut out = Vec::with_capacity(a.len());
            for p in a {
                match p {
                    Value::String(s) => out.push(s.clone()),
                    _ => return json!({"id": id, "error": "command arguments must be strings\n"}),
                }
            }
            out
        }
        Some(_) => return json!({"id": id, "error": "params must be an array\n"}),
    };
    match reg.call(method, &params) {
        Ok(text) => json!({"id": id, "result": text, "error": null}),
        Err(text) => json!({"id": id, "error": text}),
    }
}

/// The control socket path of the daemon named `target`, as `ovs-appctl`
/// resolves it: a path (anything with a `/`) is used as is; otherwise the
/// pid in `<rundir>/TARGET.pid` gives `<rundir>/TARGET.<pid>.ctl`.
pub fn resolve_target(target: &str, rundir: &Path) -> Result<PathBuf> {
    if target.contains('/') {
        return Ok(PathBuf::from(target));
    }
    let pidfile = rundir.join(format!("{target}.pid"));
    let text = std::fs::read_to_string(&pidfile)
        .with_context(|| format!("cannot read pidfile \"{}\"", pidfile.display()))?;
    let pid: u32 = text
        .trim()
        .parse()
        .with_context(|| format!("pidfile \"{}\" does not hold a pid", pidfile.display()))?;
    Ok(rundir.join(format!("{target}.{pid}.ctl")))
}

/// Sends one command and returns the reply: `Ok(result)` or
/// `Err(error text)` for a command the daemon rejected. Connection problems
/// are the outer error.
pub fn call(
    socket: &Path,
    method: &str,
    args: &[String],
    timeout: Duration,
) -> Result<Result<String, String>> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)
        .with_context(|| format!("cannot connect to \"{}\"", socket.display()))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let req = json!({"id": 0, "method": method, "params": args});
    s.write_all(req.to_string().as_bytes())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = s
            .read(&mut chunk)
            .with_context(|| format!("no reply from \"{}\"", socket.display()))?;
        if n == 0 {
            bail!(
                "\"{}\" closed the connection without replying",
                socket.display()
            );
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 64 << 20 {
            bail!("reply from \"{}\" is too large", socket.display());
        }
        match serde_json::from_slice::<Value>(&buf) {
            Ok(v) => {
                return Ok(match v.get("error") {
                    Some(Value::Null) | None => Ok(v
                        .get("result")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()),
                    Some(e) => Err(e
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| e.to_string())),
                });
            }
            Err(e) if e.is_eof() => continue,
            Err(e) => bail!("bad reply from \"{}\": {e}", socket.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Registry {
        let r = Registry::default();
        r.register("echo", "[ARG...]", 0, 3, |a| Ok(a.join(" ")));
        r.register("fail", "", 0, 0, |_| Err("it failed\n".into()));
        r
    }

    #[test]
    fn dispatch_and_errors() {
        let r = reg();
        assert_eq!(r.call("echo", &["a".into(), "b".into()]).unwrap(), "a b");
        assert_eq!(
            r.call("nosuch", &[]).unwrap_err(),
            "\"nosuch\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n"
        );
        assert!(
            r.call("echo", &vec!["x".into(); 4])
                .unwrap_err()
                .contains("at most 3")
        );
        assert_eq!(r.call("fail", &[]).unwrap_err(), "it failed\n");
        let list = r.call("list-commands", &[]).unwrap();
        assert!(
            list.contains("  echo") && list.contains("[ARG...]"),
            "{list}"
        );
    }

    #[test]
    fn malformed_requests_get_errors() {
        let r = reg();
        let v = handle(&r, json!({"id": 7, "params": []}));
        assert_eq!(v["id"], 7);
        assert!(v["error"].is_string());
        let v = handle(&r, json!({"id": 1, "method": "echo", "params": [1]}));
        assert!(v["error"].as_str().unwrap().contains("strings"));
        let v = handle(&r, json!({"id": 1, "method": "echo", "params": ["z"]}));
        assert_eq!(v["result"], "z");
        assert_eq!(v["error"], Value::Null);
    }

    #[test]
    fn socket_round_trip_and_garbage() {
        let dir = std::env::temp_dir().join(format!("rvs-appctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.ctl");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let task = rt.block_on(serve(&path, reg())).unwrap();
        let p2 = path.clone();
        let out = std::thread::spawn(move || {
            // Garbage closes only that connection.
            let mut g = std::os::unix::net::UnixStream::connect(&p2).unwrap();
            g.write_all(b"}{not json").unwrap();
            let r1 = call(&p2, "echo", &["hi".into()], Duration::from_secs(5)).unwrap();
            let r2 = call(&p2, "fail", &[], Duration::from_secs(5)).unwrap();
            (r1, r2)
        });
        let (r1, r2) = rt.block_on(async {
            loop {
                if out.is_finished() {
                    break out.join().unwrap();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        assert_eq!(r1, Ok("hi".to_owned()));
        assert_eq!(r2, Err("it failed\n".to_owned()));
        task.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
