//! Network namespaces, veth pairs and a tiny forwarding hub over our
//! netdevs, for the port backend tests.
//!
//! Contract: every namespace and interface gets a name unique to this
//! process and call ([`crate::unique_name`]), and is deleted by `Drop` even
//! when the test fails. Traffic is only sent between namespaces the test
//! created. A missing tool (`ip`, `ping`, `iperf3`, `ethtool`) fails the test
//! with the package to install.
//!
//! [`Hub`] is a single thread that floods every frame received on one port
//! to all the others (so with two ports it is a wire). Ports can be added
//! and removed while it runs: the hub takes all queues of a port when it is
//! added and drops them when it is removed, between batches. It counts the
//! frames that arrived with checksum or segmentation offload state, so a
//! test can prove that the vnet-header path was exercised.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use datapath::netdev::{Batch, Netdev, RxQueue, TxQueue};

use crate::{require, run, unique_name};

/// Fails unless the networking tools the tests use are installed.
pub fn require_tools() {
    require("ip", "iproute2");
    require("ping", "iputils-ping");
    require("iperf3", "iperf3");
    require("ethtool", "ethtool");
}

/// Runs a command, panicking with its output when it fails.
pub fn sh(args: &[&str]) -> String {
    let out = run(Command::new(args[0]).args(&args[1..]));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace, deleted on drop (with every interface in it).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace named `<prefix><unique>`, loopback up.
    pub fn new(prefix: &str) -> Netns {
        let name = unique_name(prefix, 15);
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a command in the namespace; panics when it fails.
    pub fn exec(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Runs a command in the namespace, returning whether it succeeded and
    /// its combined output.
    pub fn try_exec(&self, args: &[&str]) -> (bool, String) {
        let out = run(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args));
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// Starts a command in the namespace in the background; killed on drop.
    pub fn spawn(&self, args: &[&str]) -> KillOnDrop {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {args:?}: {e}"));
        KillOnDrop(child)
    }

    /// Pings `addr` from the namespace; true when all `count` replies came.
    pub fn ping(&self, addr: &str, count: u32) -> bool {
        self.try_exec(&[
            "ping",
            "-c",
            &count.to_string(),
            "-i",
            "0.2",
            "-W",
            "2",
            addr,
        ])
        .0
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Runs `f` on a thread that has entered `ns`'s network namespace (sockets
/// it opens live there), and waits for it; a panic in `f` fails the test.
pub fn in_netns<F: FnOnce() + Send + 'static>(ns: &Netns, f: F) {
    let path = format!("/var/run/netns/{}", ns.name());
    let t = std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a live namespace fd; affects only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns({path}): {}", std::io::Error::last_os_error());
        f();
    });
    if let Err(e) = t.join() {
        std::panic::resume_unwind(e);
    }
}

/// A background process killed (and reaped) on drop.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host interface deleted on drop (for a veth, both ends go).
#[derive(Debug)]
pub struct Link {
    name: String,
}

impl Link {
    /// Takes ownership of an existing host interface.
    pub fn adopt(name: &str) -> Link {
        Link {
            name: name.to_owned(),
        }
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .output();
    }
}

/// A veth pair: one end (`host`) in this namespace, up, IPv6 off; the other
/// in `ns` named `inner`, with `addr` (CIDR) and up.
pub fn veth_into(ns: &Netns, inner: &str, addr: &str) -> Link {
    veth_into_mq(ns, inner, addr, 1)
}

/// As [`veth_into`], with `queues` receive and transmit queues on both ends.
pub fn veth_into_mq(ns: &Netns, inner: &str, addr: &str, queues: u32) -> Link {
    let host = unique_name("vh", 15);
    let q = queues.max(1).to_string();
    sh(&[
        "ip",
        "link",
        "add",
        &host,
        "numtxqueues",
        &q,
        "numrxqueues",
        &q,
        "type",
        "veth",
        "peer",
        "name",
        inner,
        "numtxqueues",
        &q,
        "numrxqueues",
        &q,
        "netns",
        ns.name(),
    ]);
    let link = Link::adopt(&host);
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{host}/disable_ipv6"), "1");
    sh(&["ip", "link", "set", &host, "up"]);
    ns.exec(&["ip", "addr", "add", addr, "dev", inner]);
    ns.exec(&["ip", "link", "set", inner, "up"]);
    link
}

/// Two hosts for a switch to join: namespaces `<prefix>a` and `<prefix>b`
/// with `eth0` at `<net>.1/24` and `<net>.2/24` (e.g. `net` = `10.77.0`),
/// and the host ends of their veths (to become switch ports). Checks the
/// tools first.
pub fn two_hosts(prefix: &str, net: &str) -> (Netns, Netns, Link, Link) {
    require_tools();
    let a = Netns::new(&format!("{prefix}a"));
    let b = Netns::new(&format!("{prefix}b"));
    let la = veth_into(&a, "eth0", &format!("{net}.1/24"));
    let lb = veth_into(&b, "eth0", &format!("{net}.2/24"));
    (a, b, la, lb)
}

/// Moves a host interface into `ns`, addresses it and brings it up.
pub fn move_into(ns: &Netns, dev: &str, addr: &str) {
    sh(&["ip", "link", "set", dev, "netns", ns.name()]);
    ns.exec(&["ip", "addr", "add", addr, "dev", dev]);
    ns.exec(&["ip", "link", "set", dev, "up"]);
}

/// Runs a 2-second iperf3 TCP transfer from `client` to `server_addr` in
/// `server`; returns the client's output. Panics when it fails.
pub fn iperf3(server: &Netns, client: &Netns, server_addr: &str) -> String {
    iperf3_with(server, client, server_addr, &[])
}

/// As [`iperf3`], with extra client arguments (`-P 4` for parallel flows).
pub fn iperf3_with(server: &Netns, client: &Netns, server_addr: &str, extra: &[&str]) -> String {
    let port = 5201 + (std::process::id() % 1000) as u16;
    let port = port.to_string();
    let _srv = server.spawn(&["iperf3", "-s", "-1", "-p", &port]);
    // Wait for the server to listen.
    let mut last = String::new();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let mut args = vec![
            "iperf3",
            "-c",
            server_addr,
            "-p",
            &port,
            "-t",
            "2",
            "--connect-timeout",
            "2000",
        ];
        args.extend_from_slice(extra);
        let (ok, out) = client.try_exec(&args);
        if ok {
            return out;
        }
        last = out;
        if !last.contains("Connection refused") {
            break;
        }
    }
    panic!("iperf3 to {server_addr} failed: {last}");
}

struct Port {
    dev: Arc<dyn Netdev>,
    rx: Vec<Box<dyn RxQueue>>,
    tx: Box<dyn TxQueue>,
    out: Batch,
}

enum Cmd {
    Add(Arc<dyn Netdev>, mpsc::Sender<Result<(), String>>),
    Remove(String, mpsc::Sender<bool>),
}

/// A flooding hub thread over our netdevs. See the module documentation.
pub struct Hub {
    cmds: mpsc::Sender<Cmd>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Frames forwarded (received and sent to at least one port).
    pub forwarded: Arc<AtomicU64>,
    /// Received frames that carried checksum-offload state.
    pub csum_partial: Arc<AtomicU64>,
    /// Received frames that were GSO super-packets.
    pub gso: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
    per_queue: Arc<Mutex<Vec<(String, usize, u64)>>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::start()
    }
}

impl Hub {
    /// Starts the hub thread with no ports.
    pub fn start() -> Hub {
        let (tx, rx) = mpsc::channel::<Cmd>();
        let stop = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicU64::new(0));
        let csum_partial = Arc::new(AtomicU64::new(0));
        let gso = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let per_queue = Arc::new(Mutex::new(Vec::new()));
        let counts = Counts {
            forwarded: forwarded.clone(),
            csum: csum_partial.clone(),
            gso: gso.clone(),
            errors: errors.clone(),
            per_queue: per_queue.clone(),
        };
        let s = stop.clone();
        let thread = std::thread::spawn(move || hub_loop(rx, s, counts));
        Hub {
            cmds: tx,
            stop,
            thread: Some(thread),
            forwarded,
            csum_partial,
            gso,
            errors,
            per_queue,
        }
    }

    /// Frames received so far on queue `queue` of port `name`.
    pub fn rx_on_queue(&self, name: &str, queue: usize) -> u64 {
        self.per_queue
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, q, _)| n == name && *q == queue)
            .map(|e| e.2)
            .sum()
    }

    /// Adds a port (takes all its receive queues and transmit queue 0).
    pub fn add(&self, dev: Arc<dyn Netdev>) {
        let (tx, rx) = mpsc::channel();
        self.cmds.send(Cmd::Add(dev, tx)).expect("hub alive");
        rx.recv().expect("hub alive").expect("add port to hub");
    }

    /// Removes the port named `name` (its queues are dropped); true when it
    /// was there.
    pub fn remove(&self, name: &str) -> bool {
        let (tx, rx) = mpsc::channel();
        self.cmds
            .send(Cmd::Remove(name.to_owned(), tx))
            .expect("hub alive");
        rx.recv().expect("hub alive")
    }

    /// Queue errors seen so far (as text).
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Counts {
    forwarded: Arc<AtomicU64>,
    csum: Arc<AtomicU64>,
    gso: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
    per_queue: Arc<Mutex<Vec<(String, usize, u64)>>>,
}

fn hub_loop(cmds: mpsc::Receiver<Cmd>, stop: Arc<AtomicBool>, counts: Counts) {
    let Counts {
        forwarded,
        csum,
        gso,
        errors,
        per_queue,
    } = counts;
    let mut ports: Vec<Port> = Vec::new();
    let mut inb = Batch::default();
    let mut fds: Vec<libc::pollfd> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        while let Ok(cmd) = cmds.try_recv() {
            match cmd {
                Cmd::Add(dev, ack) => {
                    let r = (|| {
                        let rx = (0..dev.n_rxq())
                            .map(|i| dev.take_rxq(i))
                            .collect::<Result<Vec<_>, _>>()?;
                        let tx = dev.take_txq(0)?;
                        Ok::<_, datapath::netdev::Error>(Port {
                            dev,
                            rx,
                            tx,
                            out: Batch::default(),
                        })
                    })();
                    match r {
                        Ok(p) => {
                            ports.push(p);
                            let _ = ack.send(Ok(()));
                        }
                        Err(e) => {
                            let _ = ack.send(Err(e.to_string()));
                        }
                    }
                }
                Cmd::Remove(name, ack) => {
                    let before = ports.len();
                    ports.retain(|p| p.dev.name() != name);
                    let _ = ack.send(ports.len() != before);
                }
            }
        }
        let mut moved = 0usize;
        for i in 0..ports.len() {
            for q in 0..ports[i].rx.len() {
                inb.clear();
                match ports[i].rx[q].recv(&mut inb) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(e) => {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("{} rx: {e}", ports[i].dev.name()));
                        continue;
                    }
                }
                moved += inb.len();
                {
                    let mut pq = per_queue.lock().unwrap();
                    let name = ports[i].dev.name();
                    match pq.iter_mut().find(|(n, qq, _)| n == name && *qq == q) {
                        Some(e) => e.2 += inb.len() as u64,
                        None => pq.push((name.to_owned(), q, inb.len() as u64)),
                    }
                }
                for p in inb.packets() {
                    if p.offload.csum.is_some() {
                        csum.fetch_add(1, Ordering::Relaxed);
                    }
                    if p.offload.gso.is_some() {
                        gso.fetch_add(1, Ordering::Relaxed);
                    }
                }
                forwarded.fetch_add(inb.len() as u64, Ordering::Relaxed);
                for (j, out) in ports.iter_mut().enumerate() {
                    if j == i {
                        continue;
                    }
                    out.out.clear();
                    for p in inb.packets() {
                        out.out.push_copy(p.data(), p.offload);
                    }
                    if let Err(e) = out.tx.send(&mut out.out) {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("{} tx: {e}", out.dev.name()));
                    }
                }
            }
        }
        if moved == 0 {
            fds.clear();
            for p in &ports {
                for q in &p.rx {
                    if let Some(fd) = q.fd() {
                        fds.push(libc::pollfd {
                            fd,
                            events: libc::POLLIN,
                            revents: 0,
                        });
                    }
                }
            }
            // SAFETY: `fds` is a live array of pollfd of the given length.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 5) };
        }
    }
}
