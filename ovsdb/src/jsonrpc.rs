//! JSON-RPC 1.0 as OVSDB speaks it (RFC 7047 section 4), plus a streaming,
//! bounded decoder for the undelimited byte stream that carries it.
//!
//! # Messages
//!
//! [`Message`] is one of the four JSON-RPC 1.0 shapes OVSDB uses:
//!
//! | variant          | `method` | `params` | `result` | `error`  | `id`     |
//! |------------------|----------|----------|----------|----------|----------|
//! | `Request`        | string   | array    | absent   | absent   | non-null |
//! | `Notification`   | string   | array    | absent   | absent   | `null`   |
//! | `Response`       | absent   | absent   | any      | `null`   | non-null |
//! | `Error`          | absent   | absent   | `null`   | non-null | any      |
//!
//! [`Message::from_value`] is strict about shape: a value that is not an
//! object, a member of the wrong JSON type, a missing required member or an
//! unexpected member is rejected with an [`RpcError`] naming the problem.
//! Two leniencies, both matching what deployed peers send: a request without
//! an `id` member is a notification, and a response may omit whichever of
//! `result`/`error` is null. An error response may carry a `null` id (JSON-RPC
//! 1.0 uses that when the request's id could not be determined); a successful
//! response may not. [`Message::to_value`] always writes every member the
//! table lists as present, so encoding then decoding is the identity.
//!
//! # Framing
//!
//! OVSDB puts JSON texts back to back on the stream with no delimiter
//! (whitespace between them is allowed and skipped). [`Decoder`] is fed byte
//! chunks of any size, split anywhere, and yields whole [`Value`]s:
//!
//! * Every top-level value must be an object or an array (the only JSON texts
//!   whose end is self-evident); anything else is a [`DecodeError::NotJson`].
//! * An incremental scanner tracks nesting depth, string and escape state to
//!   find where the current top-level value ends; only that exact byte range is
//!   handed to `serde_json`, which does the real validation (including UTF-8).
//!   The scan position survives between feeds, so each byte is scanned once.
//! * Consumed bytes are dropped from the front of the buffer (once they are
//!   at least half of it), so memory stays proportional to the unconsumed
//!   input; [`read_value`] feeds only when no complete value is buffered, so
//!   with it memory is bounded by about twice the largest message plus one
//!   read chunk.
//! * Limits: a value longer than [`Decoder::max_size`] bytes (default
//!   [`DEFAULT_MAX_MESSAGE_SIZE`], 32 MiB) or nested deeper than
//!   [`Decoder::max_depth`] (default [`DEFAULT_MAX_DEPTH`], 64; at most
//!   [`MAX_DEPTH_LIMIT`], `serde_json`'s own limit) is an error as soon as the
//!   scanner sees it, before the rest of the value is buffered.
//! * No byte sequence makes the decoder panic. Errors are sticky: once
//!   [`Decoder::next`] fails, it returns the same error forever. The caller is
//!   expected to close the session; the decoder does not resynchronize.
//!
//! # Async helpers
//!
//! [`read_value`]/[`read_message`] read from any [`AsyncRead`] through a
//! caller-owned [`Decoder`] and are cancel-safe (no bytes are lost if the
//! future is dropped in a `select!`); [`write_message`]/[`write_value`] write
//! one compact JSON text and flush.

use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Default cap on one top-level JSON value: 32 MiB. Large enough for a
/// transaction or monitor reply covering a big `Open_vSwitch` database, small
/// enough that a misbehaving peer cannot make us buffer without bound.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 32 * 1024 * 1024;

/// Default cap on nesting depth (arrays and objects). OVSDB messages nest
/// about ten levels deep at most (a `where` clause holding a map of sets).
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// The largest depth [`Decoder::with_limits`] accepts: `serde_json` refuses
/// deeper values on its own, so a larger cap could not be honoured.
pub const MAX_DEPTH_LIMIT: usize = 127;

/// How many bytes [`read_value`] asks the reader for at a time (at least).
const READ_CHUNK: usize = 64 * 1024;

/// A JSON-RPC 1.0 message in the shapes OVSDB uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A call that expects a reply carrying the same `id`.
    Request {
        /// The method name, e.g. `"transact"`.
        method: String,
        /// The positional parameters (always a JSON array).
        params: Value,
        /// The request id; never `null`.
        id: Value,
    },
    /// A call that expects no reply (`id` is `null` on the wire).
    Notification {
        /// The method name, e.g. `"update"`.
        method: String,
        /// The positional parameters (always a JSON array).
        params: Value,
    },
    /// A successful reply (`error` is `null` on the wire).
    Response {
        /// The method's result.
        result: Value,
        /// The id of the request being answered; never `null`.
        id: Value,
    },
    /// A failed reply (`result` is `null` on the wire).
    Error {
        /// The error, never `null`; OVSDB uses a string or an object.
        error: Value,
        /// The id of the request being answered (`null` if unknown).
        id: Value,
    },
}

/// Why a JSON value is not a well-formed JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The message is a JSON array, string, number, boolean or null.
    #[error("JSON-RPC message is not a JSON object")]
    NotAnObject,
    /// A member that this kind of message must have is absent.
    #[error("JSON-RPC message lacks required member \"{0}\"")]
    MissingMember(&'static str),
    /// A member has the wrong JSON type.
    #[error("JSON-RPC message member \"{member}\" must be {expected}")]
    WrongType {
        /// The member's name.
        member: &'static str,
        /// What it must be, e.g. "an array".
        expected: &'static str,
    },
    /// A member that does not belong in this kind of message is present.
    #[error("JSON-RPC message has unexpected member \"{0}\"")]
    UnexpectedMember(String),
    /// A reply has both a non-null `result` and a non-null `error`.
    #[error("JSON-RPC reply has both a non-null \"result\" and a non-null \"error\"")]
    ResultAndError,
    /// A successful reply has a `null` id.
    #[error("JSON-RPC reply has a null \"id\"")]
    NullId,
}

impl Message {
    /// A request.
    pub fn request(method: impl Into<String>, params: Vec<Value>, id: Value) -> Message {
        Message::Request {
            method: method.into(),
            params: Value::Array(params),
            id,
        }
    }

    /// A notification.
    pub fn notification(method: impl Into<String>, params: Vec<Value>) -> Message {
        Message::Notification {
            method: method.into(),
            params: Value::Array(params),
        }
    }

    /// A successful reply to the request with `id`.
    pub fn response(result: Value, id: Value) -> Message {
        Message::Response { result, id }
    }

    /// A failed reply to the request with `id`.
    pub fn error(error: Value, id: Value) -> Message {
        Message::Error { error, id }
    }

    /// The message's id (`None` for a notification).
    pub fn id(&self) -> Option<&Value> {
        match self {
            Message::Request { id, .. }
            | Message::Response { id, .. }
            | Message::Error { id, .. } => Some(id),
            Message::Notification { .. } => None,
        }
    }

    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request { method, .. } | Message::Notification { method, .. } => Some(method),
            Message::Response { .. } | Message::Error { .. } => None,
        }
    }

    /// Interprets a JSON value as a message; see the module docs for the rules.
    pub fn from_value(value: Value) -> Result<Message, RpcError> {
        let Value::Object(mut obj) = value else {
            return Err(RpcError::NotAnObject);
        };
        if let Some(method) = obj.remove("method") {
            let Value::String(method) = method else {
                return Err(RpcError::WrongType {
                    member: "method",
                    expected: "a string",
                });
            };
            let params = obj
                .remove("params")
                .ok_or(RpcError::MissingMember("params"))?;
            if !params.is_array() {
                return Err(RpcError::WrongType {
                    member: "params",
                    expected: "an array",
                });
            }
            let id = obj.remove("id").unwrap_or(Value::Null);
            reject_leftovers(obj)?;
            Ok(if id.is_null() {
                Message::Notification { method, params }
            } else {
                Message::Request { method, params, id }
            })
        } else {
            if obj.contains_key("params") {
                return Err(RpcError::MissingMember("method"));
            }
            let id = obj.remove("id").ok_or(RpcError::MissingMember("id"))?;
            let result = obj.remove("result");
            let error = obj.remove("error");
            reject_leftovers(obj)?;
            match (result, error) {
                (None, None) => Err(RpcError::MissingMember("result")),
                (Some(result), None | Some(Value::Null)) => {
                    if id.is_null() {
                        Err(RpcError::NullId)
                    } else {
                        Ok(Message::Response { result, id })
                    }
                }
                (None | Some(Value::Null), Some(error)) => Ok(Message::Error { error, id }),
                (Some(_), Some(_)) => Err(RpcError::ResultAndError),
            }
        }
    }

    /// The message as a JSON value (see [`Message::into_value`]).
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// The message as a JSON object with every member JSON-RPC 1.0 defines for
    /// its kind (`null` where unused).
    pub fn into_value(self) -> Value {
        let mut obj = Map::new();
        match self {
            Message::Request { method, params, id } => {
                obj.insert("method".into(), Value::String(method));
                obj.insert("params".into(), params);
                obj.insert("id".into(), id);
            }
            Message::Notification { method, params } => {
                obj.insert("method".into(), Value::String(method));
                obj.insert("params".into(), params);
                obj.insert("id".into(), Value::Null);
            }
            Message::Response { result, id } => {
                obj.insert("result".into(), result);
                obj.insert("error".into(), Value::Null);
                obj.insert("id".into(), id);
            }
            Message::Error { error, id } => {
                obj.insert("result".into(), Value::Null);
                obj.insert("error".into(), error);
                obj.insert("id".into(), id);
            }
        }
        Value::Object(obj)
    }

    /// The message as compact JSON text (no trailing newline).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Written member by member, in the order of `into_value`, so that
        // the (possibly large) params are not cloned first.
        let mut out = Vec::with_capacity(128);
        type Member<'a> = (&'a str, &'a Value);
        let (a, b, c): (Member<'_>, Member<'_>, Member<'_>);
        let method;
        match self {
            Message::Request {
                method: m,
                params,
                id,
            } => {
                method = Value::String(m.clone());
                (a, b, c) = (("method", &method), ("params", params), ("id", id));
            }
            Message::Notification { method: m, params } => {
                method = Value::String(m.clone());
                (a, b, c) = (
                    ("method", &method),
                    ("params", params),
                    ("id", &Value::Null),
                );
            }
            Message::Response { result, id } => {
                (a, b, c) = (("result", result), ("error", &Value::Null), ("id", id));
            }
            Message::Error { error, id } => {
                (a, b, c) = (("result", &Value::Null), ("error", error), ("id", id));
            }
        }
        for (i, (k, v)) in [a, b, c].into_iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"{\"" } else { b",\"" });
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\":");
            write_json(&mut out, v);
        }
        out.push(b'}');
        out
    }
}

/// Appends `v` as compact JSON text. (Writing a `Value` into a `Vec`
/// cannot fail: its keys are strings and its numbers finite.)
pub fn write_json(out: &mut Vec<u8>, v: &Value) {
    let _ = serde_json::to_writer(&mut *out, v);
}

fn reject_leftovers(obj: Map<String, Value>) -> Result<(), RpcError> {
    match obj.into_iter().next() {
        Some((name, _)) => Err(RpcError::UnexpectedMember(name)),
        None => Ok(()),
    }
}

/// Why the byte stream is not a sequence of acceptable JSON texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A top-level value exceeds the size limit.
    #[error("JSON message exceeds the {limit}-byte size limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A value nests arrays/objects deeper than the limit.
    #[error("JSON message nests deeper than {limit} levels")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// Something other than whitespace, `{` or `[` where a message must begin.
    #[error("expected a JSON object or array at stream offset {offset}, found byte 0x{byte:02x}")]
    NotJson {
        /// The offending byte.
        byte: u8,
        /// Its offset from the start of the stream.
        offset: u64,
    },
    /// The bytes of a top-level value are not valid JSON (or not UTF-8).
    #[error("invalid JSON message at stream offset {offset}: {reason}")]
    Syntax {
        /// Offset of the value's first byte from the start of the stream.
        offset: u64,
        /// `serde_json`'s description.
        reason: String,
    },
}

/// An incremental decoder of back-to-back JSON texts; see the module docs.
#[derive(Debug)]
pub struct Decoder {
    /// Received bytes; `buf[..start]` has been consumed.
    buf: Vec<u8>,
    /// First unconsumed byte in `buf`.
    start: usize,
    /// Next byte in `buf` to scan (`start <= pos <= buf.len()`).
    pos: usize,
    /// Whether `buf[start..pos]` is the beginning of a value (else it is empty
    /// and the scanner is between values).
    in_value: bool,
    /// Open arrays/objects in the current value.
    depth: usize,
    /// Inside a string literal.
    in_string: bool,
    /// Just after a backslash inside a string literal.
    escape: bool,
    /// Bytes dropped from the front of `buf` so far (for error offsets).
    dropped: u64,
    max_size: usize,
    max_depth: usize,
    /// Sticky error.
    error: Option<DecodeError>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with the default limits.
    pub fn new() -> Decoder {
        Decoder::with_limits(DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_DEPTH)
    }

    /// A decoder that rejects values longer than `max_size` bytes or nested
    /// deeper than `max_depth` (clamped to 1..=[`MAX_DEPTH_LIMIT`]).
    pub fn with_limits(max_size: usize, max_depth: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            start: 0,
            pos: 0,
            in_value: false,
            depth: 0,
            in_string: false,
            escape: false,
            dropped: 0,
            max_size: max_size.max(1),
            max_depth: max_depth.clamp(1, MAX_DEPTH_LIMIT),
            error: None,
        }
    }

    /// The size limit in bytes.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The nesting limit.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Appends received bytes. Never fails; problems surface from [`next`].
    ///
    /// [`next`]: Decoder::next
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.discard_consumed();
        self.buf.extend_from_slice(bytes);
    }

    /// Whether bytes of an incomplete value are buffered (so end of stream
    /// now would cut a message short).
    pub fn has_partial(&self) -> bool {
        self.in_value
    }

    /// Number of buffered, not yet consumed bytes.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete top-level value, `Ok(None)` if more bytes are needed.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Value>, DecodeError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        match self.scan() {
            Ok(Some(end)) => {
                let begin = self.start;
                self.start = end;
                match serde_json::from_slice(&self.buf[begin..end]) {
                    Ok(value) => Ok(Some(value)),
                    Err(e) => Err(self.fail(DecodeError::Syntax {
                        offset: self.dropped + begin as u64,
                        reason: e.to_string(),
                    })),
                }
            }
            Ok(None) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, err: DecodeError) -> DecodeError {
        self.error = Some(err.clone());
        // Release the memory; the decoder is dead.
        self.buf = Vec::new();
        self.start = 0;
        self.pos = 0;
        err
    }

    /// Drops consumed bytes from the front of the buffer once they are at
    /// least half of it, so the copying is amortized O(1) per byte whatever
    /// the pattern of `feed`/`next` calls, and the buffer is never more than
    /// twice the unconsumed data (plus one chunk).
    fn discard_consumed(&mut self) {
        if self.start > 0 && self.start >= self.buf.len() - self.start {
            self.buf.drain(..self.start);
            self.dropped += self.start as u64;
            self.pos -= self.start;
            self.start = 0;
        }
    }

    /// Makes room for at least `READ_CHUNK` more bytes and returns the buffer
    /// for the reader to append to.
    fn read_buffer(&mut self) -> &mut Vec<u8> {
        self.discard_consumed();
        self.buf.reserve(READ_CHUNK);
        &mut self.buf
    }

    /// Scans from `pos`; returns the end (exclusive) of the current top-level
    /// value once its closing bracket is seen.
    fn scan(&mut self) -> Result<Option<usize>, DecodeError> {
        while self.pos < self.buf.len() {
            let b = self.buf[self.pos];
            if !self.in_value {
                match b {
                    b' ' | b'\t' | b'\n' | b'\r' => {
                        self.pos += 1;
                        self.start = self.pos;
                        continue;
                    }
                    b'{' | b'[' => {
                        self.in_value = true;
                        self.depth = 0;
                        self.in_string = false;
                        self.escape = false;
                    }
                    _ => {
                        return Err(DecodeError::NotJson {
                            byte: b,
                            offset: self.dropped + self.pos as u64,
                        });
                    }
                }
            }
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => {
                        self.depth += 1;
                        if self.depth > self.max_depth {
                            return Err(DecodeError::TooDeep {
                                limit: self.max_depth,
                            });
                        }
                    }
                    b'}' | b']' => {
                        // depth >= 1 here: the value began with an opener.
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            self.pos += 1;
                            self.in_value = false;
                            if self.pos - self.start > self.max_size {
                                return Err(DecodeError::TooLarge {
                                    limit: self.max_size,
                                });
                            }
                            return Ok(Some(self.pos));
                        }
                    }
                    _ => {}
                }
            }
            self.pos += 1;
            if self.pos - self.start > self.max_size {
                return Err(DecodeError::TooLarge {
                    limit: self.max_size,
                });
            }
        }
        Ok(None)
    }
}

/// Why [`read_value`] or [`read_message`] failed. Every variant ends the
/// session.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The underlying stream failed.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// The stream is not acceptable JSON.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A JSON value is not a JSON-RPC message.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The peer closed the stream in the middle of a message.
    #[error("connection closed in the middle of a JSON message ({buffered} bytes buffered)")]
    UnexpectedEof {
        /// How many bytes of the incomplete message had arrived.
        buffered: usize,
    },
}

/// Reads the next JSON value, reading from `reader` as needed. `Ok(None)` is
/// a clean end of stream (between messages). Cancel-safe.
pub async fn read_value<R>(
    reader: &mut R,
    decoder: &mut Decoder,
) -> Result<Option<Value>, ReadError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    loop {
        if let Some(value) = decoder.next()? {
            return Ok(Some(value));
        }
        let n = reader.read_buf(decoder.read_buffer()).await?;
        if n == 0 {
            return if decoder.has_partial() {
                Err(ReadError::UnexpectedEof {
                    buffered: decoder.buffered(),
                })
            } else {
                Ok(None)
            };
        }
    }
}

/// Reads the next JSON-RPC message; `Ok(None)` is a clean end of stream.
/// Cancel-safe.
pub async fn read_message<R>(
    reader: &mut R,
    decoder: &mut Decoder,
) -> Result<Option<Message>, ReadError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    match read_value(reader, decoder).await? {
        Some(value) => Ok(Some(Message::from_value(value)?)),
        None => Ok(None),
    }
}

/// Writes `value` as one compact JSON text and flushes.
pub async fn write_value<W>(writer: &mut W, value: &Value) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    writer.write_all(value.to_string().as_bytes()).await?;
    writer.flush().await
}

/// Writes `message` as one compact JSON text and flushes.
pub async fn write_message<W>(writer: &mut W, message: &Message) -> std::io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    writer.write_all(&message.to_bytes()).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn decode_all(dec: &mut Decoder) -> Result<Vec<Value>, DecodeError> {
        let mut out = Vec::new();
        while let Some(v) = dec.next()? {
            out.push(v);
        }
        Ok(out)
    }

    fn sample_stream() -> (Vec<u8>, Vec<Value>) {
        let values = vec![
            json!({"method": "echo", "params": ["a\"}{][", "\\", "é ☃ 🦀"], "id": 1}),
            json!([1, 2.5, -3e10, true, false, null, {"": {}}, []]),
            json!({"result": {"k\\\"": "}\u{0}\n"}, "error": null, "id": "x"}),
            json!({}),
            json!([]),
        ];
        let mut bytes = Vec::new();
        for (i, v) in values.iter().enumerate() {
            bytes.extend_from_slice(v.to_string().as_bytes());
            bytes.extend_from_slice(match i % 3 {
                0 => b"".as_slice(),
                1 => b"\n".as_slice(),
                _ => b" \r\n\t ".as_slice(),
            });
        }
        (bytes, values)
    }

    #[test]
    fn to_bytes_is_the_compact_text_of_the_value() {
        for m in [
            Message::request(
                "transact",
                vec![json!("db"), json!({"a": [1, 2.5]})],
                json!(3),
            ),
            Message::notification("update2", vec![json!(["x"]), json!({"T": {}})]),
            Message::response(json!({"k": "v\"q"}), json!("id")),
            Message::error(json!("unknown method"), json!(null)),
        ] {
            assert_eq!(m.to_bytes(), m.to_value().to_string().into_bytes());
        }
    }

    #[test]
    fn split_at_every_boundary() {
        let (bytes, values) = sample_stream();
        for cut in 0..=bytes.len() {
            let mut dec = Decoder::new();
            let mut got = Vec::new();
            dec.feed(&bytes[..cut]);
            got.extend(decode_all(&mut dec).unwrap());
            dec.feed(&bytes[cut..]);
            got.extend(decode_all(&mut dec).unwrap());
            assert_eq!(got, values, "cut at {cut}");
            assert!(!dec.has_partial());
        }
    }

    #[test]
    fn byte_at_a_time() {
        let (bytes, values) = sample_stream();
        let mut dec = Decoder::new();
        let mut got = Vec::new();
        for b in &bytes {
            dec.feed(std::slice::from_ref(b));
            got.extend(decode_all(&mut dec).unwrap());
        }
        assert_eq!(got, values);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn many_messages_in_one_chunk() {
        let mut bytes = Vec::new();
        for i in 0..1000 {
            bytes.extend_from_slice(
                Message::request("echo", vec![json!(i)], json!(i))
                    .to_bytes()
                    .as_slice(),
            );
        }
        let mut dec = Decoder::new();
        dec.feed(&bytes);
        let got = decode_all(&mut dec).unwrap();
        assert_eq!(got.len(), 1000);
        for (i, v) in got.into_iter().enumerate() {
            assert_eq!(
                Message::from_value(v).unwrap(),
                Message::request("echo", vec![json!(i)], json!(i))
            );
        }
    }

    #[test]
    fn large_message_in_small_chunks_is_linear() {
        // 8 MiB in 1 KiB chunks: quadratic rescanning or copying would take
        // minutes; this takes well under a second.
        let big = json!({"s": "x\\\"{[".repeat(2 << 20), "a": [1, {"b": []}]});
        let bytes = big.to_string().into_bytes();
        let mut dec = Decoder::new();
        let start = std::time::Instant::now();
        let mut got = None;
        for chunk in bytes.chunks(1024) {
            dec.feed(chunk);
            if let Some(v) = dec.next().unwrap() {
                got = Some(v);
            }
        }
        assert_eq!(got, Some(big));
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn oversize_is_rejected_before_buffering_everything() {
        let mut dec = Decoder::with_limits(100, 64);
        dec.feed(b"[\"");
        dec.feed(&[b'a'; 99]);
        assert_eq!(dec.next(), Err(DecodeError::TooLarge { limit: 100 }));
        // Sticky, and further input is ignored.
        dec.feed(b"\"]");
        assert_eq!(dec.next(), Err(DecodeError::TooLarge { limit: 100 }));
        assert_eq!(dec.buffered(), 0);

        // Exactly at the limit is fine.
        let mut dec = Decoder::with_limits(10, 64);
        dec.feed(b"[\"abcdef\"][\"abcdefg\"]");
        assert_eq!(dec.next(), Ok(Some(json!(["abcdef"]))));
        assert_eq!(dec.next(), Err(DecodeError::TooLarge { limit: 10 }));
    }

    #[test]
    fn too_deep() {
        let mut dec = Decoder::with_limits(1 << 20, 5);
        dec.feed(b"[[[[[]]]]]");
        assert_eq!(dec.next(), Ok(Some(json!([[[[[]]]]]))));
        dec.feed(b"[[{\"a\":[[[");
        assert_eq!(dec.next(), Err(DecodeError::TooDeep { limit: 5 }));

        // The default (and the clamp) stay within serde_json's own limit.
        let mut dec = Decoder::with_limits(1 << 20, 10_000);
        assert_eq!(dec.max_depth(), MAX_DEPTH_LIMIT);
        let deep = "[".repeat(MAX_DEPTH_LIMIT) + &"]".repeat(MAX_DEPTH_LIMIT);
        dec.feed(deep.as_bytes());
        assert!(dec.next().unwrap().is_some());
        let deeper = "[".repeat(MAX_DEPTH_LIMIT + 1);
        dec.feed(deeper.as_bytes());
        assert_eq!(
            dec.next(),
            Err(DecodeError::TooDeep {
                limit: MAX_DEPTH_LIMIT
            })
        );
    }

    #[test]
    fn garbage() {
        for bad in [
            &b"hello"[..],
            b"1",
            b"\"str\"",
            b"null",
            b"}",
            b"]",
            b"\x00",
        ] {
            let mut dec = Decoder::new();
            dec.feed(bad);
            assert!(
                matches!(dec.next(), Err(DecodeError::NotJson { offset: 0, .. })),
                "{bad:?}"
            );
        }
        let mut dec = Decoder::new();
        dec.feed(b"{}  x");
        assert_eq!(dec.next(), Ok(Some(json!({}))));
        assert_eq!(
            dec.next(),
            Err(DecodeError::NotJson {
                byte: b'x',
                offset: 4
            })
        );

        for bad in [
            &b"[}"[..],
            b"{]",
            b"[1,]",
            b"{\"a\" 1}",
            b"[tru]",
            b"{1:2}",
            b"[\"\\q\"]",
        ] {
            let mut dec = Decoder::new();
            dec.feed(bad);
            assert!(
                matches!(dec.next(), Err(DecodeError::Syntax { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8() {
        let mut dec = Decoder::new();
        dec.feed(b"[\"ok\"] [\"\xff\xfe\"]");
        assert_eq!(dec.next(), Ok(Some(json!(["ok"]))));
        let err = dec.next().unwrap_err();
        assert!(
            matches!(err, DecodeError::Syntax { offset: 7, .. }),
            "{err}"
        );
        // Truncated multi-byte sequence.
        let mut dec = Decoder::new();
        dec.feed("[\"é\"]".as_bytes().split_at(3).0);
        dec.feed(b"\"]");
        assert!(matches!(dec.next(), Err(DecodeError::Syntax { .. })));
    }

    #[test]
    fn message_shapes() {
        let cases = [
            json!({"method": "echo", "params": [], "id": 0}),
            json!({"method": "update", "params": [null, {}], "id": null}),
            json!({"result": [], "error": null, "id": "a"}),
            json!({"result": null, "error": null, "id": 1}),
            json!({"result": null, "error": {"error": "x"}, "id": null}),
        ];
        for v in cases {
            let m = Message::from_value(v.clone()).unwrap();
            assert_eq!(m.to_value(), v);
            let mut dec = Decoder::new();
            dec.feed(&m.to_bytes());
            assert_eq!(
                Message::from_value(dec.next().unwrap().unwrap()).unwrap(),
                m
            );
        }
        // Leniencies.
        assert_eq!(
            Message::from_value(json!({"method": "m", "params": []})).unwrap(),
            Message::notification("m", vec![])
        );
        assert_eq!(
            Message::from_value(json!({"result": 5, "id": 1})).unwrap(),
            Message::response(json!(5), json!(1))
        );
        assert_eq!(
            Message::from_value(json!({"error": "e", "id": 1})).unwrap(),
            Message::error(json!("e"), json!(1))
        );
        // Strictness.
        let bad = [
            (json!([]), RpcError::NotAnObject),
            (json!("x"), RpcError::NotAnObject),
            (
                json!({"method": 1, "params": [], "id": 1}),
                RpcError::WrongType {
                    member: "method",
                    expected: "a string",
                },
            ),
            (
                json!({"method": "m", "id": 1}),
                RpcError::MissingMember("params"),
            ),
            (
                json!({"method": "m", "params": {}, "id": 1}),
                RpcError::WrongType {
                    member: "params",
                    expected: "an array",
                },
            ),
            (
                json!({"method": "m", "params": [], "id": 1, "x": 2}),
                RpcError::UnexpectedMember("x".into()),
            ),
            (
                json!({"params": [], "id": 1}),
                RpcError::MissingMember("method"),
            ),
            (json!({"result": 1}), RpcError::MissingMember("id")),
            (json!({"id": 1}), RpcError::MissingMember("result")),
            (
                json!({"result": 1, "error": 2, "id": 1}),
                RpcError::ResultAndError,
            ),
            (
                json!({"result": 1, "error": null, "id": null}),
                RpcError::NullId,
            ),
            (
                json!({"result": 1, "error": null, "id": 1, "z": 0}),
                RpcError::UnexpectedMember("z".into()),
            ),
        ];
        for (v, e) in bad {
            assert_eq!(Message::from_value(v.clone()), Err(e), "{v}");
        }
        assert_eq!(
            Message::request("m", vec![], json!(3)).id(),
            Some(&json!(3))
        );
        assert_eq!(Message::notification("m", vec![]).method(), Some("m"));
    }

    #[tokio::test]
    async fn async_round_trip() {
        let (mut a, mut b) = tokio::io::duplex(7);
        let msgs = vec![
            Message::request(
                "transact",
                vec![json!("Open_vSwitch"), json!({"op": "select"})],
                json!(1),
            ),
            Message::notification(
                "update",
                vec![json!(null), json!({"t": {"u": {"new": {}}}})],
            ),
            Message::response(json!([{"rows": []}]), json!(1)),
            Message::error(json!({"error": "unknown method"}), json!(null)),
        ];
        let sent = msgs.clone();
        let writer = tokio::spawn(async move {
            for m in &sent {
                write_message(&mut a, m).await.unwrap();
            }
        });
        let mut dec = Decoder::new();
        let mut got = Vec::new();
        while let Some(m) = read_message(&mut b, &mut dec).await.unwrap() {
            got.push(m);
        }
        writer.await.unwrap();
        assert_eq!(got, msgs);
    }

    #[tokio::test]
    async fn async_eof_mid_message() {
        let mut input: &[u8] = b"{\"result\":1,\"error\":null,\"id\":1} {\"res";
        let mut dec = Decoder::new();
        assert!(read_message(&mut input, &mut dec).await.unwrap().is_some());
        let err = read_message(&mut input, &mut dec).await.unwrap_err();
        assert!(
            matches!(err, ReadError::UnexpectedEof { buffered: 5 }),
            "{err}"
        );

        let mut input: &[u8] = b"[1]";
        let mut dec = Decoder::new();
        assert!(matches!(
            read_message(&mut input, &mut dec).await,
            Err(ReadError::Rpc(RpcError::NotAnObject))
        ));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
            "[\"\\\\{}\\[\\] a-z]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8)) {
            let mut dec = Decoder::with_limits(64, 4);
            for c in &chunks {
                dec.feed(c);
                while let Ok(Some(_)) = dec.next() {}
            }
        }

        #[test]
        fn never_panics_jsonish(s in "[\\[\\]{}\":,\\\\a1 \\n]{0,64}") {
            let mut dec = Decoder::with_limits(32, 3);
            dec.feed(s.as_bytes());
            while let Ok(Some(_)) = dec.next() {}
        }

        #[test]
        fn round_trip_chunked(values in prop::collection::vec(arb_value(), 1..5), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6), ws in 0usize..3) {
            let values: Vec<Value> = values.into_iter().map(|v| json!([v])).collect();
            let mut bytes = Vec::new();
            for v in &values {
                bytes.extend_from_slice(v.to_string().as_bytes());
                bytes.extend(std::iter::repeat_n(b'\n', ws));
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            cuts.push(0);
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut dec = Decoder::new();
            let mut got = Vec::new();
            for w in cuts.windows(2) {
                dec.feed(&bytes[w[0]..w[1]]);
                got.extend(decode_all(&mut dec).unwrap());
            }
            prop_assert_eq!(got, values);
            prop_assert!(!dec.has_partial());
        }
    }
}
