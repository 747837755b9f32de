//! OpenFlow sessions: the byte stream side of every OpenFlow connection
//! (the per-bridge management socket `<rundir>/<bridge>.mgmt` that `ofctl`
//! and `ovs-ofctl` use, and controller connections).
//!
//! Contract:
//! * On connect both sides send HELLO; the version is the highest both
//!   allow (bitmaps honoured). No common version: an `OFPET_HELLO_FAILED`
//!   error naming both sides' versions, then the connection closes.
//! * Framing: whole messages only; a header length below 8 loses framing
//!   and closes the connection (after an error). A message that does not
//!   decode gets the matching OpenFlow error (type/code for the negotiated
//!   version, with up to 64 bytes of the request) and the session goes on.
//! * `ECHO_REQUEST` is answered here; everything else goes to the
//!   [`Handler`], whose replies are written in order before the next
//!   request is read. Asynchronous messages (packet-in, flow-removed,
//!   port-status) arrive on the session's queue and are written between
//!   requests; a full queue drops them (counted), it never blocks the
//!   switch.
//! * With an inactivity probe, a silent peer gets an ECHO_REQUEST after the
//!   interval and is disconnected after another one.
//! * Nothing a peer sends can panic the daemon or make it allocate more
//!   than one maximal message (64 KiB) at a time per connection.

use ofproto::ofp::{
    Decoder, ErrorKind, ErrorMsg, Header, Hello, Message, MultipartReply, Version, VersionSet,
    negotiate,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Depth of a session's asynchronous message queue.
pub const ASYNC_QUEUE: usize = 1024;

/// The versions this switch speaks (1.1 and 1.2 are not decoded).
pub fn supported_versions() -> VersionSet {
    VersionSet::of(&[Version::V1_0, Version::V1_3, Version::V1_4, Version::V1_5])
}

/// The versions allowed by a `Bridge.protocols` value (empty: every
/// supported version). Unknown names are ignored.
pub fn versions_from_protocols(protocols: &[String]) -> VersionSet {
    if protocols.is_empty() {
        return supported_versions();
    }
    let vs: Vec<Version> = protocols
        .iter()
        .filter_map(|p| match p.as_str() {
            "OpenFlow10" => Some(Version::V1_0),
            "OpenFlow11" => Some(Version::V1_1),
            "OpenFlow12" => Some(Version::V1_2),
            "OpenFlow13" => Some(Version::V1_3),
            "OpenFlow14" => Some(Version::V1_4),
            "OpenFlow15" => Some(Version::V1_5),
            _ => None,
        })
        .collect();
    VersionSet::of(&vs).and(supported_versions())
}

/// What a handler knows about the connection a message came from.
#[derive(Debug)]
pub struct ConnCtx {
    /// Unique id of the connection.
    pub id: u64,
    /// Negotiated version.
    pub version: Version,
    /// A controller connection (gets asynchronous messages), not a
    /// management one.
    pub is_controller: bool,
}

/// One message to send back.
#[derive(Debug)]
pub enum Reply {
    /// A message with its xid.
    Msg(Message, u32),
    /// A multipart reply, split at the 64 KiB message limit.
    Multipart(MultipartReply, u32),
    /// Encoded messages produced one batch at a time while they are
    /// written (a long multipart reply).
    Stream(Encoded),
}

/// Encoded messages made on demand (see [`Reply::Stream`]).
pub struct Encoded(pub Box<dyn Iterator<Item = Vec<u8>> + Send>);

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encoded(..)")
    }
}

/// The error reply for `raw` (a request with header `h`).
pub fn error_reply(kind: ErrorKind, version: Version, h: &Header, raw: &[u8]) -> Reply {
    Reply::Msg(
        Message::Error(ErrorMsg::from_kind(kind, version, raw)),
        h.xid,
    )
}

/// The switch side of a session.
pub trait Handler: Send + Sync + 'static {
    /// Handles one decoded request (`raw` is its bytes, for error data);
    /// returns the messages to send back.
    fn handle(&self, ctx: &mut ConnCtx, header: &Header, raw: &[u8], msg: Message) -> Vec<Reply>;

    /// A new connection has been negotiated; asynchronous messages for it
    /// go to `tx`.
    fn connected(&self, _ctx: &ConnCtx, _tx: mpsc::Sender<Message>) {}

    /// The session has handled everything it was sent so far (a good
    /// moment to finish deferred work).
    fn idle(&self) {}

    /// The connection is gone.
    fn disconnected(&self, _ctx: &ConnCtx) {}
}

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Session options.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    /// Versions we allow.
    pub versions: VersionSet,
    /// Inactivity probe interval (`None`: no probe).
    pub probe: Option<Duration>,
    /// A controller connection?
    pub is_controller: bool,
}

async fn write_msg<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Message,
    version: Version,
    xid: u32,
) -> std::io::Result<()> {
    match msg.encode(version, xid) {
        Ok(bytes) => w.write_all(&bytes).await,
        Err(e) => {
            tracing::warn!("cannot encode {:?} for {version:?}: {e:?}", msg.msg_type());
            Ok(())
        }
    }
}

/// Runs one session until the peer closes or misbehaves beyond repair.
pub async fn run<S>(stream: S, handler: Arc<dyn Handler>, opts: SessionOptions)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (top, hello) = Hello::for_versions(opts.versions);
    if write_msg(&mut wr, &Message::Hello(hello), top, 0)
        .await
        .is_err()
    {
        return;
    }
    let mut dec = Decoder::new();
    let mut buf = vec![0u8; 16 * 1024];
    // Wait for the peer's HELLO.
    let version = loop {
        match dec.next_message() {
            Ok(Some(raw)) => {
                let peer_version = raw[0];
                let peer_hello = match Message::decode(&raw) {
                    Ok((_, Message::Hello(h))) => h,
                    Ok(_) | Err(_) => {
                        // RFC-like behaviour of OVS: the first message must
                        // be HELLO.
                        let msg = Message::Error(ErrorMsg::from_kind(
                            ErrorKind::HelloFailedIncompatible,
                            top,
                            b"expected HELLO",
                        ));
                        let _ = write_msg(&mut wr, &msg, top, 0).await;
                        return;
                    }
                };
                match negotiate(opts.versions, peer_version, &peer_hello) {
                    Ok(v) => break v,
                    Err(kind) => {
                        let text = format!(
                            "We support versions {:#x}, you support {:#x}, no common versions.",
                            opts.versions.0,
                            peer_hello.bitmap().map_or(1u32 << peer_version, |b| b.0)
                        );
                        let msg = Message::Error(ErrorMsg::from_kind(kind, top, text.as_bytes()));
                        let _ = write_msg(&mut wr, &msg, top, 0).await;
                        return;
                    }
                }
            }
            Ok(None) => match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => dec.push(&buf[..n]),
            },
            Err(_) => return,
        }
    };
    let mut ctx = ConnCtx {
        id: NEXT_CONN.fetch_add(1, Ordering::Relaxed),
        version,
        is_controller: opts.is_controller,
    };
    let (tx, mut rx) = mpsc::channel::<Message>(ASYNC_QUEUE);
    handler.connected(&ctx, tx);
    let probe = opts.probe.unwrap_or(Duration::from_secs(365 * 24 * 3600));
    let mut probing = false;
    let mut echo_xid = 0x8000_0000u32;
    'session: loop {
        // Drain every whole message already buffered.
        loop {
            match dec.next_message() {
                Ok(Some(raw)) => {
                    probing = false;
                    let replies = match Message::decode(&raw) {
                        Ok((h, Message::EchoRequest(data))) => {
                            vec![Reply::Msg(Message::EchoReply(data), h.xid)]
                        }
                        Ok((_, Message::EchoReply(_) | Message::Hello(_))) => Vec::new(),
                        Ok((h, msg)) => handler.handle(&mut ctx, &h, &raw, msg),
                        Err(kind) => {
                            let xid = u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]);
                            vec![Reply::Msg(
                                Message::Error(ErrorMsg::from_kind(kind, version, &raw)),
                                xid,
                            )]
                        }
                    };
                    for r in replies {
                        let ok = match r {
                            Reply::Msg(m, xid) => {
                                write_msg(&mut wr, &m, version, xid).await.is_ok()
                            }
                            Reply::Stream(parts) => {
                                let mut ok = true;
                                for p in parts.0 {
                                    if wr.write_all(&p).await.is_err() {
                                        ok = false;
                                        break;
                                    }
                                }
                                ok
                            }
                            Reply::Multipart(m, xid) => match m.encode_split(version, xid) {
                                Ok(parts) => {
                                    let mut ok = true;
                                    for p in parts {
                                        if wr.write_all(&p).await.is_err() {
                                            ok = false;
                                            break;
                                        }
                                    }
                                    ok
                                }
                                Err(e) => {
                                    tracing::warn!("cannot encode a multipart reply: {e:?}");
                                    let m = Message::Error(ErrorMsg::from_kind(
                                        ErrorKind::BadRequestBadLen,
                                        version,
                                        &raw,
                                    ));
                                    write_msg(&mut wr, &m, version, xid).await.is_ok()
                                }
                            },
                        };
                        if !ok {
                            break 'session;
                        }
                    }
                }
                Ok(None) => {
                    handler.idle();
                    break;
                }
                Err(kind) => {
                    let m = Message::Error(ErrorMsg::from_kind(kind, version, &[]));
                    let _ = write_msg(&mut wr, &m, version, 0).await;
                    break 'session;
                }
            }
        }
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => break 'session,
                Ok(n) => dec.push(&buf[..n]),
            },
            Some(m) = rx.recv() => {
                if write_msg(&mut wr, &m, version, 0).await.is_err() {
                    break 'session;
                }
            }
            _ = tokio::time::sleep(probe) => {
                if probing {
                    tracing::info!("OpenFlow connection {}: no response to inactivity probe, disconnecting", ctx.id);
                    break 'session;
                }
                probing = true;
                echo_xid = echo_xid.wrapping_add(1);
                if write_msg(&mut wr, &Message::EchoRequest(Vec::new()), version, echo_xid).await.is_err() {
                    break 'session;
                }
            }
        }
        if dec.buffered() > 1 << 20 {
            break 'session;
        }
    }
    handler.disconnected(&ctx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ofproto::ofp::messages::FeaturesReply;

    /// Answers FEATURES_REQUEST, errors on anything else.
    struct Echoing;
    impl Handler for Echoing {
        fn handle(&self, ctx: &mut ConnCtx, h: &Header, raw: &[u8], msg: Message) -> Vec<Reply> {
            match msg {
                Message::FeaturesRequest => vec![Reply::Msg(
                    Message::FeaturesReply(FeaturesReply {
                        datapath_id: 42,
                        n_tables: 254,
                        ..FeaturesReply::default()
                    }),
                    h.xid,
                )],
                _ => vec![error_reply(
                    ErrorKind::BadRequestBadType,
                    ctx.version,
                    h,
                    raw,
                )],
            }
        }
    }

    async fn read_msg(s: &mut tokio::net::UnixStream, dec: &mut Decoder) -> Message {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(raw) = dec.next_message().unwrap() {
                return Message::decode(&raw).unwrap().1;
            }
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed");
            dec.push(&buf[..n]);
        }
    }

    fn opts(versions: VersionSet) -> SessionOptions {
        SessionOptions {
            versions,
            probe: None,
            is_controller: false,
        }
    }

    #[tokio::test]
    async fn negotiates_answers_and_survives_garbage() {
        let (a, mut b) = tokio::net::UnixStream::pair().unwrap();
        let task = tokio::spawn(run(a, Arc::new(Echoing), opts(supported_versions())));
        let mut dec = Decoder::new();
        assert!(matches!(
            read_msg(&mut b, &mut dec).await,
            Message::Hello(_)
        ));
        // Peer speaks 1.3 only.
        let (_, hello) = Hello::for_versions(VersionSet::of(&[Version::V1_3]));
        b.write_all(&Message::Hello(hello).encode(Version::V1_3, 1).unwrap())
            .await
            .unwrap();
        b.write_all(
            &Message::EchoRequest(b"hi".to_vec())
                .encode(Version::V1_3, 7)
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(
            read_msg(&mut b, &mut dec).await,
            Message::EchoReply(b"hi".to_vec())
        );
        // An unknown message type: the right error, the session goes on.
        b.write_all(&[4, 200, 0, 8, 0, 0, 0, 9]).await.unwrap();
        match read_msg(&mut b, &mut dec).await {
            Message::Error(e) => {
                assert_eq!(e.kind(Version::V1_3), Some(ErrorKind::BadRequestBadType));
            }
            m => panic!("{m:?}"),
        }
        b.write_all(&Message::FeaturesRequest.encode(Version::V1_3, 10).unwrap())
            .await
            .unwrap();
        match read_msg(&mut b, &mut dec).await {
            Message::FeaturesReply(f) => assert_eq!(f.datapath_id, 42),
            m => panic!("{m:?}"),
        }
        // A length below 8 loses framing: error, then close.
        b.write_all(&[4, 2, 0, 3, 0, 0, 0, 1]).await.unwrap();
        assert!(matches!(
            read_msg(&mut b, &mut dec).await,
            Message::Error(_)
        ));
        task.await.unwrap();
    }

    #[tokio::test]
    async fn no_common_version_fails_hello() {
        let (a, mut b) = tokio::net::UnixStream::pair().unwrap();
        let task = tokio::spawn(run(
            a,
            Arc::new(Echoing),
            opts(VersionSet::of(&[Version::V1_3])),
        ));
        let mut dec = Decoder::new();
        read_msg(&mut b, &mut dec).await;
        let (_, hello) = Hello::for_versions(VersionSet::of(&[Version::V1_0]));
        b.write_all(&Message::Hello(hello).encode(Version::V1_0, 1).unwrap())
            .await
            .unwrap();
        match read_msg(&mut b, &mut dec).await {
            Message::Error(e) => assert_eq!(
                e.kind(Version::V1_3),
                Some(ErrorKind::HelloFailedIncompatible)
            ),
            m => panic!("{m:?}"),
        }
        task.await.unwrap();
    }

    #[test]
    fn protocols_column() {
        assert_eq!(versions_from_protocols(&[]), supported_versions());
        let v = versions_from_protocols(&["OpenFlow13".into(), "OpenFlow11".into()]);
        assert_eq!(v, VersionSet::of(&[Version::V1_3]));
    }
}
