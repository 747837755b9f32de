//! One OpenFlow connection to a switch: target resolution, version
//! negotiation, and blocking request/reply helpers.
//!
//! Contract:
//! * A target is `unix:PATH`, `tcp:IP:PORT`, a path to a socket, or a bridge
//!   name, which means `<rundir>/<bridge>.mgmt` with the run directory from
//!   `OVS_RUNDIR` (default `/var/run/openvswitch`), as `ovs-ofctl` does.
//! * [`Conn::open`] sends HELLO for the allowed versions (a bare 8-byte
//!   HELLO for OpenFlow 1.0 alone, a version bitmap otherwise), waits for the
//!   switch's HELLO and settles on the highest common version; no common
//!   version is an error naming both sides.
//! * Transaction ids come from one counter per process, starting at 1 and
//!   shared by every connection (HELLOs included), as in Open vSwitch, so a
//!   run prints the same `xid=` values as `ovs-ofctl`.
//! * ECHO_REQUESTs from the switch are answered while waiting for replies.
//!   An ERROR reply to a request is returned as [`Reply::Error`], never
//!   swallowed.

use anyhow::{Context, Result, bail};
use ofproto::ofp::hello::Hello;
use ofproto::ofp::{Decoder, ErrorMsg, Header, Message, MsgType, Version, VersionSet, negotiate};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};

static XID: AtomicU32 = AtomicU32::new(1);

/// The next transaction id of this process.
pub fn next_xid() -> u32 {
    XID.fetch_add(1, Ordering::Relaxed)
}

/// The run directory: `OVS_RUNDIR` or `/var/run/openvswitch`.
pub fn rundir() -> String {
    std::env::var("OVS_RUNDIR").unwrap_or_else(|_| "/var/run/openvswitch".to_string())
}

#[derive(Debug)]
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.write_all(buf),
            Stream::Tcp(s) => s.write_all(buf),
        }
    }
}

/// A reply: the raw message (header included), decoded header, and decoded
/// message when our codec understands it.
#[derive(Debug)]
pub struct Raw {
    /// Header.
    pub header: Header,
    /// The whole message.
    pub bytes: Vec<u8>,
}

impl Raw {
    /// Decodes with the codec.
    pub fn decode(&self) -> Result<Message> {
        Message::decode(&self.bytes)
            .map(|(_, m)| m)
            .map_err(|e| anyhow::anyhow!("cannot decode reply: {e} ({})", e.name()))
    }
}

/// What a request got back.
#[derive(Debug)]
pub enum Reply {
    /// The reply message(s) (several for a multipart reply).
    Ok(Vec<Raw>),
    /// The switch answered with an ERROR.
    Error(Raw, ErrorMsg),
}

/// An open, negotiated connection.
#[derive(Debug)]
pub struct Conn {
    stream: Stream,
    dec: Decoder,
    version: Version,
    name: String,
    buf: Vec<u8>,
    /// Errors that arrived for requests sent with [`Conn::send`].
    pending_errors: Vec<(Raw, ErrorMsg)>,
}

fn connect(target: &str) -> Result<(Stream, String)> {
    if let Some(path) = target.strip_prefix("unix:") {
        let s = UnixStream::connect(path)
            .with_context(|| format!("{target}: failed to connect to socket"))?;
        return Ok((Stream::Unix(s), target.to_string()));
    }
    if let Some(addr) = target.strip_prefix("tcp:") {
        let addr = if addr.matches(':').count() == 0 {
            format!("{addr}:6653")
        } else {
            addr.to_string()
        };
        let s = TcpStream::connect(&addr)
            .with_context(|| format!("{target}: failed to connect (tcp:{addr})"))?;
        let _ = s.set_nodelay(true);
        return Ok((Stream::Tcp(s), target.to_string()));
    }
    if target.contains(':') {
        bail!(
            "{target}: unknown connection method '{target}' (use unix:PATH, tcp:IP:PORT or a bridge name)"
        );
    }
    // A socket path, else <rundir>/<bridge>.mgmt.
    let candidates = [target.to_string(), format!("{}/{target}.mgmt", rundir())];
    for c in &candidates {
        if let Ok(s) = UnixStream::connect(c) {
            return Ok((Stream::Unix(s), format!("unix:{c}")));
        }
    }
    bail!("{target} is not a bridge or a socket")
}

impl Conn {
    /// Connects to `target` and negotiates one of `allowed`.
    pub fn open(target: &str, allowed: VersionSet) -> Result<Conn> {
        let (stream, name) = connect(target)?;
        let mut c = Conn {
            stream,
            dec: Decoder::new(),
            version: Version::V1_0,
            name,
            buf: vec![0; 1 << 16],
            pending_errors: Vec::new(),
        };
        let (top, hello) = Hello::for_versions(allowed);
        let bytes = Message::Hello(hello).encode(top, next_xid())?;
        c.write(&bytes)?;
        let raw = c.recv_raw()?;
        if raw.header.msg_type != 0 {
            bail!(
                "{}: expected HELLO, received message type {}",
                c.name,
                raw.header.msg_type
            );
        }
        let peer = match Message::decode(&raw.bytes) {
            Ok((_, Message::Hello(h))) => h,
            _ => Hello::default(),
        };
        c.version = negotiate(allowed, raw.header.version, &peer).map_err(|_| {
            anyhow::anyhow!(
                "{}: version negotiation failed (we support {}, peer supports {})",
                c.name,
                version_list(allowed),
                version_list(
                    peer.bitmap()
                        .unwrap_or_else(|| VersionSet::up_to(raw.header.version))
                )
            )
        })?;
        Ok(c)
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.version
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .write_all(bytes)
            .with_context(|| format!("{}: send failed", self.name))
    }

    /// Sends raw bytes (a whole encoded message or several).
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.write(bytes)
    }

    /// Encodes and sends `msg` with a fresh xid, returning the xid.
    pub fn send(&mut self, msg: &Message) -> Result<u32> {
        let xid = next_xid();
        let bytes = msg.encode(self.version, xid).with_context(|| {
            format!(
                "cannot encode {:?} for {}",
                msg.msg_type(),
                vname(self.version)
            )
        })?;
        self.write(&bytes)?;
        Ok(xid)
    }

    /// Receives the next message, answering echo requests.
    pub fn recv_raw(&mut self) -> Result<Raw> {
        loop {
            match self.dec.next_message() {
                Ok(Some(bytes)) => {
                    let header = Header::parse(&bytes)
                        .map_err(|e| anyhow::anyhow!("{}: bad header ({e})", self.name))?;
                    if header.msg_type == 2 {
                        // ECHO_REQUEST has type 2 in every version.
                        let mut reply = bytes.clone();
                        reply[1] = 3;
                        self.write(&reply)?;
                        continue;
                    }
                    return Ok(Raw { header, bytes });
                }
                Ok(None) => {}
                Err(e) => bail!("{}: framing error ({e})", self.name),
            }
            let n = self
                .stream
                .read(&mut self.buf)
                .with_context(|| format!("{}: receive failed", self.name))?;
            if n == 0 {
                bail!("{}: connection closed by peer", self.name);
            }
            let (buf, dec) = (&self.buf, &mut self.dec);
            dec.push(&buf[..n]);
        }
    }

    fn as_error(&self, raw: &Raw) -> Option<ErrorMsg> {
        if raw.header.msg_type != 1 {
            return None;
        }
        match Message::decode(&raw.bytes) {
            Ok((_, Message::Error(e))) => Some(e),
            _ => None,
        }
    }

    /// Waits for the message(s) answering `xid`: a single reply, or every
    /// part of a multipart reply. Messages for other xids are kept if they
    /// are errors (see [`Conn::take_errors`]) and otherwise dropped.
    pub fn wait_reply(&mut self, xid: u32, multipart: bool) -> Result<Reply> {
        let mut parts = Vec::new();
        loop {
            let raw = self.recv_raw()?;
            if let Some(e) = self.as_error(&raw) {
                if raw.header.xid == xid {
                    return Ok(Reply::Error(raw, e));
                }
                self.pending_errors.push((raw, e));
                continue;
            }
            if raw.header.xid != xid {
                continue;
            }
            let more = multipart && is_multipart_reply(self.version, &raw) && mp_more(&raw);
            parts.push(raw);
            if !more {
                return Ok(Reply::Ok(parts));
            }
        }
    }

    /// Sends `msg` and waits for its reply.
    pub fn transact(&mut self, msg: &Message) -> Result<Reply> {
        let multipart = matches!(msg, Message::MultipartRequest(_));
        let xid = self.send(msg)?;
        self.wait_reply(xid, multipart)
    }

    /// Sends a BARRIER_REQUEST and waits for its reply; errors to earlier
    /// requests that arrive meanwhile are collected (see
    /// [`Conn::take_errors`]).
    pub fn barrier(&mut self) -> Result<()> {
        let xid = self.send(&Message::BarrierRequest)?;
        match self.wait_reply(xid, false)? {
            Reply::Ok(_) => Ok(()),
            Reply::Error(_, e) => bail!("{}: barrier failed: {:?}", self.name, e.code),
        }
    }

    /// Sends `msg` followed by a BARRIER_REQUEST; returns the error the
    /// switch sent for `msg`, if any.
    pub fn transact_noreply(&mut self, msg: &Message) -> Result<Option<(Raw, ErrorMsg)>> {
        let xid = self.send(msg)?;
        self.barrier()?;
        let errs = self.take_errors();
        let mut found = None;
        for (raw, e) in errs {
            if raw.header.xid == xid && found.is_none() {
                found = Some((raw, e));
            } else {
                self.pending_errors.push((raw, e));
            }
        }
        Ok(found)
    }

    /// Errors received for requests that were not waited on individually.
    pub fn take_errors(&mut self) -> Vec<(Raw, ErrorMsg)> {
        std::mem::take(&mut self.pending_errors)
    }
}

fn is_multipart_reply(v: Version, raw: &Raw) -> bool {
    MsgType::from_wire(v, raw.header.msg_type) == Some(MsgType::MultipartReply)
}

fn mp_more(raw: &Raw) -> bool {
    raw.bytes.len() >= 12 && u16::from_be_bytes([raw.bytes[10], raw.bytes[11]]) & 1 != 0
}

/// `OpenFlow13`-style name of a version.
pub fn vname(v: Version) -> &'static str {
    match v {
        Version::V1_0 => "OpenFlow10",
        Version::V1_1 => "OpenFlow11",
        Version::V1_2 => "OpenFlow12",
        Version::V1_3 => "OpenFlow13",
        Version::V1_4 => "OpenFlow14",
        Version::V1_5 => "OpenFlow15",
    }
}

fn version_list(s: VersionSet) -> String {
    let v: Vec<&str> = Version::ALL
        .iter()
        .filter(|v| s.contains(**v))
        .map(|v| vname(*v))
        .collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// Parses a `-O` list (`OpenFlow10,OpenFlow13`; also `OpenFlow1.3`-free
/// spellings are rejected with the bad token quoted).
pub fn parse_protocols(s: &str) -> Result<VersionSet> {
    let mut set = VersionSet::EMPTY;
    for tok in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let v = match tok {
            "OpenFlow10" => Version::V1_0,
            "OpenFlow11" => Version::V1_1,
            "OpenFlow12" => Version::V1_2,
            "OpenFlow13" => Version::V1_3,
            "OpenFlow14" => Version::V1_4,
            "OpenFlow15" => Version::V1_5,
            _ => bail!("{tok}: unknown OpenFlow version (use OpenFlow10 ... OpenFlow15)"),
        };
        if !v.is_supported() {
            bail!(
                "{tok}: this ofctl does not speak {tok} (use OpenFlow10, OpenFlow13, OpenFlow14 or OpenFlow15)"
            );
        }
        set = VersionSet(set.0 | 1 << v.wire());
    }
    if set == VersionSet::EMPTY {
        bail!("'{s}': no OpenFlow versions given");
    }
    Ok(set)
}
