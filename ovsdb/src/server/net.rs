//! Network glue: listeners on unix and TCP sockets, one task per session,
//! delivery of what [`Core`] returns.
//!
//! Contract:
//! * On a socket, a message is written directly (non-blocking) by whoever
//!   holds the core's lock when the session has nothing queued; what the
//!   socket does not take goes to the session's outgoing queue, drained by
//!   its own writer task, so a slow reader never blocks the server or other
//!   sessions. A session whose queue grows past
//!   [`ServerConfig::max_queued_bytes`] (a client that never reads) is
//!   disconnected.
//! * Messages are written or queued while the core's lock is held, so the
//!   order the core decides (notifications before the reply that caused
//!   them) is the order on every socket.
//! * A session's [`Backlog`] counts its queued, unwritten bytes; while it is
//!   non-zero the core merges new table-updates for that session instead of
//!   sending them. The writer, when it has written everything queued and the
//!   core has merged something meanwhile, asks the core to flush it.
//! * Input larger than [`ServerConfig::max_message`], malformed JSON, or a
//!   JSON value that is not a JSON-RPC message closes that session only.
//! * A session silent for [`ServerConfig::probe_interval`] gets an `echo`
//!   request; silent for another interval, it is closed. Any bytes received
//!   count as activity, so a large message arriving slowly is not cut off.
//! * A bug that panics while handling one session's message closes that
//!   session only, and its state (queue, monitors, locks) is released as
//!   on any other close; other sessions go on.

use super::core::{Backlog, Core, Outbox};
use super::locks::SessionId;
use crate::jsonrpc::{self, Decoder, Message};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{Notify, mpsc};

/// A reader that counts the bytes it delivers (inactivity probing).
struct Metered<R> {
    inner: R,
    bytes: u64,
}

impl<R: AsyncRead + Unpin> AsyncRead for Metered<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.bytes += (buf.filled().len() - before) as u64;
        r
    }
}

/// Server tunables.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest JSON-RPC message accepted (bytes).
    pub max_message: usize,
    /// Largest backlog of unsent bytes per session before it is dropped.
    pub max_queued_bytes: usize,
    /// Inactivity probe interval (`None` disables probing).
    pub probe_interval: Option<Duration>,
    /// Serve every session on a thread of the server's own (a
    /// single-threaded runtime), as `ovsdb-server` runs one event loop,
    /// instead of on the runtime that calls [`Server::new`]. On by default:
    /// a request then costs no hand-off between runtime workers, and
    /// updates are merged per scheduling round (see [`Server::with_core`]).
    pub own_thread: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_message: jsonrpc::DEFAULT_MAX_MESSAGE_SIZE,
            max_queued_bytes: 64 << 20,
            probe_interval: Some(Duration::from_secs(5)),
            own_thread: true,
        }
    }
}

/// A socket that can be read and written through a shared reference, so
/// the core's lock holder can write to it directly.
trait ReadyIo: Send + Sync + 'static {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>>;
    fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>>;
    fn try_write(&self, buf: &[u8]) -> std::io::Result<usize>;
}

macro_rules! ready_io {
    ($t:ty) => {
        impl ReadyIo for $t {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }
            fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                <$t>::try_read(self, buf)
            }
            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                <$t>::poll_write_ready(self, cx)
            }
            fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                <$t>::try_write(self, buf)
            }
        }
    };
}
ready_io!(tokio::net::UnixStream);
ready_io!(tokio::net::TcpStream);

/// Most scheduling rounds the flusher waits for commits to stop.
const FLUSH_ROUNDS: usize = 8;

/// Most bytes one read on a [`Shared`] socket asks for.
const SHARED_READ_MAX: usize = 16 << 10;

/// One of the handles on a shared socket, as an async reader or writer.
/// (Shutting it down does nothing: the socket closes when its last handle
/// is dropped.)
struct Shared<T>(Arc<T>);

impl<T: ReadyIo> AsyncRead for Shared<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            std::task::ready!(self.0.poll_read_ready(cx))?;
            // Only a bounded part of the spare room is zeroed per read (the
            // whole of it can be far larger than what arrives).
            let room = buf.remaining().min(SHARED_READ_MAX);
            match self.0.try_read(buf.initialize_unfilled_to(room)) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<T: ReadyIo> AsyncWrite for Shared<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            std::task::ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct Outq {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    /// Writes without the writer task while nothing is queued.
    direct: Option<Arc<dyn ReadyIo>>,
    backlog: Arc<Backlog>,
    kill: Arc<Notify>,
}

struct Inner {
    core: Core,
    queues: HashMap<SessionId, Outq>,
}

/// A running server's shared state; cheap to clone.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Mutex<Inner>>,
    config: Arc<ServerConfig>,
    /// Callers of `with_core` waiting for the lock.
    waiters: Arc<AtomicUsize>,
    /// Wakes the task that runs `Core::flush_all` (started with the first
    /// session).
    flush: Arc<Notify>,
    flusher_started: Arc<std::sync::atomic::AtomicBool>,
    /// Where the server's tasks run.
    rt: tokio::runtime::Handle,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .finish()
    }
}

impl Server {
    /// Wraps a configured core. Without [`ServerConfig::own_thread`] it
    /// must be called within a tokio runtime, which then runs the server's
    /// tasks.
    ///
    /// # Panics
    /// If the server's own thread or runtime cannot be created, or (without
    /// `own_thread`) outside a runtime.
    pub fn new(mut core: Core, config: ServerConfig) -> Server {
        core.set_batching(true);
        let rt = if config.own_thread {
            own_runtime()
        } else {
            tokio::runtime::Handle::current()
        };
        Server {
            rt,
            inner: Arc::new(Mutex::new(Inner {
                core,
                queues: HashMap::new(),
            })),
            config: Arc::new(config),
            waiters: Arc::new(AtomicUsize::new(0)),
            flush: Arc::new(Notify::new()),
            flusher_started: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    /// Runs `f` on the core and delivers what it returns.
    ///
    /// Batching (see [`Core::set_batching`]): the core's merged updates and
    /// held replies are flushed by the last of a burst of callers: one that
    /// finds others waiting for the lock leaves the flush to them (a waiter
    /// is counted before it blocks, so it runs after this one and checks
    /// again). When the last flush held replies of several sessions (many
    /// clients commit at once), the flush goes to the flusher task, which
    /// runs after the sessions that are ready, so one update carries all
    /// their commits; with one client at a time, nothing waits.
    ///
    /// On the server's own thread nobody ever waits for the lock: there
    /// the flush always goes to the flusher task, which runs once the
    /// sessions that were ready have had their turn (as `ovsdb-server`
    /// sends updates once per pass of its event loop).
    pub fn with_core<R>(&self, f: impl FnOnce(&mut Core) -> (R, Outbox)) -> R {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        let (r, out) = f(&mut inner.core);
        deliver(&mut inner, out, self.config.max_queued_bytes);
        if inner.core.flush_wanted() && self.waiters.load(Ordering::SeqCst) == 0 {
            if (self.config.own_thread || inner.core.last_batch() > 0)
                && self.flusher_started.load(Ordering::SeqCst)
            {
                self.flush.notify_one();
            } else {
                let out = inner.core.flush_all();
                deliver(&mut inner, out, self.config.max_queued_bytes);
            }
        }
        r
    }

    /// Reads the core under its lock, delivering nothing.
    fn with_core_raw<R>(&self, f: impl FnOnce(&Core) -> R) -> R {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&inner.core)
    }

    /// Starts (once) the task that flushes batched updates, after letting
    /// the sessions that are ready run.
    fn start_flusher(&self) {
        if self.flusher_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        self.rt.spawn(async move {
            loop {
                me.flush.notified().await;
                // Wait until a scheduling round passes without a commit
                // (the committers are all waiting for their held replies),
                // within a bound so that steady commits cannot starve it.
                let mut seen = Some(me.with_core_raw(|c| c.commits()));
                for _ in 0..FLUSH_ROUNDS {
                    tokio::task::yield_now().await;
                    let now = me.with_core_raw(|c| c.commits());
                    if seen == Some(now) {
                        break;
                    }
                    seen = Some(now);
                }
                me.with_core(|c| {
                    (
                        (),
                        if c.flush_wanted() {
                            c.flush_all()
                        } else {
                            Vec::new()
                        },
                    )
                });
            }
        });
    }

    /// Serves a unix socket at `path` (an old socket file is replaced).
    pub async fn listen_unix(&self, path: &Path) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let _ = std::fs::remove_file(path);
        let listener = {
            let _rt = self.rt.enter();
            tokio::net::UnixListener::bind(path)?
        };
        let me = self.clone();
        let path: PathBuf = path.to_owned();
        Ok(self.rt.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let me2 = me.clone();
                        me.rt.spawn(async move { me2.session_socket(stream).await });
                    }
                    Err(e) => {
                        eprintln!("ovsdb: accept on {}: {e}", path.display());
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }))
    }

    /// Serves TCP on `addr`; returns the bound address (port 0 picks one).
    pub async fn listen_tcp(
        &self,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let listener = {
            let _rt = self.rt.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let local = listener.local_addr()?;
        let me = self.clone();
        Ok((
            local,
            self.rt.spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            let _ = stream.set_nodelay(true);
                            let me2 = me.clone();
                            me.rt.spawn(async move { me2.session_socket(stream).await });
                        }
                        Err(e) => {
                            eprintln!("ovsdb: accept on {local}: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }),
        ))
    }

    /// Expires blocked `wait` transactions; runs until the server is dropped.
    pub fn spawn_timers(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        self.rt.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                me.with_core(|c| ((), c.expire(Instant::now())));
            }
        })
    }

    /// A session on a socket: messages are written directly by whoever
    /// holds the core's lock when nothing is queued (no hop to the writer
    /// task, which only takes what the socket would not accept at once).
    async fn session_socket<T: ReadyIo>(self, stream: T) {
        let stream = Arc::new(stream);
        let direct: Arc<dyn ReadyIo> = stream.clone();
        self.session_io(Shared(stream.clone()), Shared(stream), Some(direct))
            .await
    }

    /// A session on any stream (every message goes through the writer).
    #[cfg(test)]
    async fn session<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (rd, wr) = tokio::io::split(stream);
        self.session_io(rd, wr, None).await
    }

    async fn session_io<R, W>(self, rd: R, mut wr: W, direct: Option<Arc<dyn ReadyIo>>)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        self.start_flusher();
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let backlog = Arc::new(Backlog::default());
        let kill = Arc::new(Notify::new());
        let sid = {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let sid = inner.core.open_session_with(Some(backlog.clone()));
            inner.queues.insert(
                sid,
                Outq {
                    tx,
                    direct,
                    backlog: backlog.clone(),
                    kill: kill.clone(),
                },
            );
            sid
        };
        let me = self.clone();
        let writer = self.rt.spawn(async move {
            // Coalesce whatever is queued (up to WRITE_BATCH bytes) into one
            // write: under load one syscall carries many messages.
            const WRITE_BATCH: usize = 1 << 20;
            while let Some(mut buf) = rx.recv().await {
                while buf.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(more) => buf.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                let n = buf.len();
                if wr.write_all(&buf).await.is_err() || wr.flush().await.is_err() {
                    break;
                }
                let left = backlog.queued.fetch_sub(n, Ordering::SeqCst) - n;
                // Caught up: send what the core merged meanwhile (see
                // `Backlog`).
                if left == 0 && backlog.merged.load(Ordering::SeqCst) {
                    me.with_core(|c| ((), c.flush_session(sid)));
                }
            }
            let _ = wr.shutdown().await;
        });

        // The reading loop runs as a task of its own so that a panic in it
        // (a bug) is caught here and the session is still cleaned up.
        let reader = self.rt.spawn(self.clone().read_loop(rd, sid, kill));
        if let Err(e) = reader.await
            && e.is_panic()
        {
            eprintln!("ovsdb: session {sid} closed after an internal error (panic)");
        }
        {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.queues.remove(&sid);
            let out = inner.core.close_session(sid);
            deliver(&mut inner, out, self.config.max_queued_bytes);
        }
        // The queue's sender is gone: the writer drains what is left and
        // ends; one that cannot (a peer that never reads) is aborted.
        let abort = writer.abort_handle();
        if tokio::time::timeout(Duration::from_secs(2), writer)
            .await
            .is_err()
        {
            abort.abort();
        }
    }

    /// Reads and handles messages until the peer closes, errs, is silent for
    /// two probe intervals, or `kill` fires.
    async fn read_loop<R>(self, rd: R, sid: SessionId, kill: Arc<Notify>)
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let mut rd = Metered {
            inner: rd,
            bytes: 0,
        };
        let mut decoder = Decoder::with_limits(self.config.max_message, jsonrpc::DEFAULT_MAX_DEPTH);
        let mut probed = false;
        loop {
            let seen = rd.bytes;
            let read = jsonrpc::read_message(&mut rd, &mut decoder);
            let probe = self
                .config
                .probe_interval
                .unwrap_or(Duration::from_secs(86400 * 365));
            let msg = tokio::select! {
                _ = kill.notified() => break,
                r = tokio::time::timeout(probe, read) => match r {
                    Ok(r) => r,
                    Err(_) if self.config.probe_interval.is_none() => continue,
                    Err(_) if rd.bytes != seen => {
                        // Part of a message arrived: not silent.
                        probed = false;
                        continue;
                    }
                    Err(_) => {
                        if probed {
                            break; // silent for two intervals
                        }
                        probed = true;
                        let echo = Message::request("echo", vec![], json!("echo"));
                        self.with_core(|_| ((), vec![(sid, echo.into())]));
                        continue;
                    }
                },
            };
            probed = false;
            match msg {
                Ok(Some(m)) => {
                    let now = Instant::now();
                    self.with_core(|c| ((), c.handle(sid, m, now)));
                }
                Ok(None) => break,
                Err(e) => {
                    // Tell the peer why, when the error is about content,
                    // then close.
                    if !matches!(e, jsonrpc::ReadError::Io(_)) {
                        let m = Message::error(
                            json!({"error": "syntax error", "details": e.to_string()}),
                            json!(null),
                        );
                        self.with_core(|_| ((), vec![(sid, m.into())]));
                    }
                    break;
                }
            }
        }
    }
}

/// Starts the thread that runs a server's tasks ([`ServerConfig::own_thread`])
/// and returns its runtime. The thread lives as long as the process.
fn own_runtime() -> tokio::runtime::Handle {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot start the OVSDB server's runtime");
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("ovsdb-server".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .expect("cannot start the OVSDB server's thread");
    handle
}

fn deliver(inner: &mut Inner, out: Outbox, max_queued: usize) {
    for (sid, msg) in out {
        let Some(q) = inner.queues.get(&sid) else {
            continue;
        };
        let mut bytes = msg.to_bytes();
        if q.backlog.queued.load(Ordering::SeqCst) == 0
            && let Some(d) = &q.direct
        {
            // Nothing queued: this message is next on the wire. Whatever
            // the socket does not take now goes to the writer task.
            let mut off = 0;
            while off < bytes.len() {
                match d.try_write(&bytes[off..]) {
                    Ok(0) => break,
                    Ok(n) => off += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            if off == bytes.len() {
                continue;
            }
            bytes.drain(..off);
        }
        let total = q.backlog.queued.fetch_add(bytes.len(), Ordering::SeqCst) + bytes.len();
        if total > max_queued {
            // A client that does not read: drop it.
            q.kill.notify_one();
            inner.queues.remove(&sid);
            continue;
        }
        let _ = q.tx.send(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatabaseSchema;
    use crate::server::core::{Store, TxnResult};
    use crate::server::monitor::RowJson;
    use serde_json::Value;
    use tokio::io::{AsyncReadExt, DuplexStream};

    /// A database whose transactions hit a bug.
    struct Panicky(DatabaseSchema);

    impl Store for Panicky {
        fn schema(&self) -> &DatabaseSchema {
            &self.0
        }
        fn transact(&mut self, _: &[Value], _: &[String], _: bool) -> TxnResult {
            panic!("injected bug");
        }
        fn rows(&self, _: &str) -> Vec<(String, RowJson)> {
            Vec::new()
        }
    }

    fn server(probe: Option<Duration>) -> Server {
        let schema = json!({"name": "P", "version": "1.0.0", "tables": {
            "T": {"columns": {"n": {"type": "integer"}}}}});
        let mut core = Core::new();
        core.add_db(Box::new(Panicky(
            DatabaseSchema::from_json(&schema).expect("schema"),
        )));
        Server::new(
            core,
            ServerConfig {
                probe_interval: probe,
                ..ServerConfig::default()
            },
        )
    }

    fn connect(s: &Server) -> DuplexStream {
        let (client, end) = tokio::io::duplex(1 << 16);
        tokio::spawn(s.clone().session(end));
        client
    }

    fn sessions(s: &Server) -> usize {
        s.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queues
            .len()
    }

    async fn read_msg(c: &mut DuplexStream, d: &mut Decoder) -> Option<Message> {
        tokio::time::timeout(Duration::from_secs(5), jsonrpc::read_message(c, d))
            .await
            .expect("no reply within 5 s")
            .expect("read")
    }

    async fn echo(c: &mut DuplexStream, d: &mut Decoder, id: u64) {
        let req = Message::request("echo", vec![json!(id)], json!(id));
        jsonrpc::write_message(c, &req).await.expect("write");
        let m = read_msg(c, d).await.expect("reply");
        assert_eq!(m, Message::response(json!([id]), json!(id)));
    }

    #[tokio::test]
    async fn a_panic_closes_only_that_session_and_releases_it() {
        let s = server(None);
        let mut good = connect(&s);
        let mut dg = Decoder::new();
        echo(&mut good, &mut dg, 1).await;
        let mut bad = connect(&s);
        let mut db = Decoder::new();
        echo(&mut bad, &mut db, 2).await;
        assert_eq!(sessions(&s), 2);
        let txn = Message::request("transact", vec![json!("P")], json!(3));
        jsonrpc::write_message(&mut bad, &txn).await.expect("write");
        // The bad session ends (end of stream, no reply) ...
        assert_eq!(read_msg(&mut bad, &mut db).await, None);
        // ... and is forgotten; the other one is still served.
        assert!(
            tokio::time::timeout(Duration::from_secs(5), async {
                while sessions(&s) != 1 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
            .is_ok()
        );
        echo(&mut good, &mut dg, 4).await;
    }

    #[tokio::test]
    async fn a_slowly_arriving_message_is_not_mistaken_for_silence() {
        let s = server(Some(Duration::from_millis(100)));
        let mut c = connect(&s);
        let req = Message::request("echo", vec![json!("slow")], json!(1)).to_bytes();
        // 20 bytes at 40 ms: about 8 probe intervals for one message.
        for b in req.iter().take(20) {
            c.write_all(std::slice::from_ref(b)).await.expect("write");
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        c.write_all(&req[20..]).await.expect("write");
        let mut d = Decoder::new();
        let m = read_msg(&mut c, &mut d).await.expect("reply, not a close");
        assert_eq!(m, Message::response(json!(["slow"]), json!(1)));
    }

    #[tokio::test]
    async fn a_silent_session_is_probed_then_closed() {
        let s = server(Some(Duration::from_millis(50)));
        let mut c = connect(&s);
        let mut d = Decoder::new();
        let m = read_msg(&mut c, &mut d).await.expect("probe");
        assert_eq!(m.method(), Some("echo"));
        assert_eq!(read_msg(&mut c, &mut d).await, None);
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest).await;
        assert!(rest.is_empty());
    }
}
