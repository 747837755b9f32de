//! Flow commands: `add-flow(s)`, `mod-flows`, `del-flows`, `dump-flows`,
//! `dump-aggregate`, `replace-flows`, `diff-flows`.
//!
//! Contract:
//! * Flow text is `ovs-ofctl`'s (parsed by `ofproto::text`). A flow file
//!   has one flow per line; blank lines and `#` comments are skipped; a
//!   line may start with `add`, `modify`, `modify_strict`, `delete` or
//!   `delete_strict` (default `add`). A parse error names the file and line
//!   and quotes the bad token; nothing is sent when any line is bad.
//! * OpenFlow 1.0: a FLOW_MOD whose match `ofp_match` cannot express is sent
//!   as Nicira `NXT_FLOW_MOD` after `NXT_SET_FLOW_FORMAT(nxm)`; a table id
//!   needs `NXT_FLOW_MOD_TABLE_ID`. Dumps use `NXST_FLOW` and fall back to
//!   the standard request if the switch refuses the Nicira flow format, as
//!   `ovs-ofctl` does.
//! * Flow mods are pipelined: a window of [`WINDOW`] messages, then a
//!   BARRIER; the first ERROR reply stops the run after that window (so up
//!   to `WINDOW - 1` later flow mods may already be applied, unlike
//!   `ovs-ofctl`, which waits for a barrier after every flow mod). With
//!   `--bundle` everything is one atomic bundle instead.
//! * `dump-flows` prints the reply header lines unless `--sort`, `--rsort`,
//!   `--names` or `--no-stats` are given, exactly as `ovs-ofctl`.

use crate::conn::{Conn, Raw, Reply};
use crate::switch::report_error;
use crate::{Opts, names, nx};
use anyhow::{Context, Result, bail};
use ofproto::ofp::multipart::{FlowStats, FlowStatsRequest, ReplyBody};
use ofproto::ofp::{
    Action, Field, FlowMod, FlowModCommand, Instruction, Match, MatchEntry, Message,
    MultipartRequest, PortNo, RequestBody, Value, Version,
};
use ofproto::text::stats::{FlowAges, format_aggregate, format_flow_stats, msg_header};
use ofproto::text::{Flow, parse_flow_ext};
use std::collections::BTreeMap;
use std::io::Read;

/// Flow mods sent before each barrier.
pub const WINDOW: usize = 512;

/// The command of a single-flow invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// add-flow
    Add,
    /// mod-flows
    Modify,
    /// del-flows
    Delete,
}

/// One parsed flow mod with what the text said explicitly.
#[derive(Debug, Clone)]
pub struct ParsedMod {
    /// The flow mod.
    pub fm: FlowMod,
    /// True when `table=` was given.
    pub explicit_table: bool,
}

const FLAG_WORDS: [(&str, u16); 5] = [
    ("send_flow_rem", 1),
    ("check_overlap", 2),
    ("reset_counts", 4),
    ("no_packet_counts", 8),
    ("no_byte_counts", 16),
];

/// Parses one flow-mod text (`add-flow` syntax plus `out_port=`,
/// `out_group=`, `importance=` and the flag words).
pub fn parse_flow_mod(text: &str, command: FlowModCommand) -> Result<ParsedMod> {
    let s = text.trim();
    let is_del = matches!(
        command,
        FlowModCommand::Delete | FlowModCommand::DeleteStrict
    );
    if is_del && find_actions(s).is_some() {
        bail!("actions are not allowed when deleting flows ('{s}')");
    }
    let mut fm = FlowMod::new(command);
    let head = &s[..find_actions(s).unwrap_or(s.len())];
    let explicit_table = head
        .split(|c: char| c == ',' || c.is_whitespace())
        .any(|t| t.starts_with("table="));
    let mut bad: Option<anyhow::Error> = None;
    let f = parse_flow_ext(s, !is_del, |k, v| {
        let r: Result<bool> = (|| {
            Ok(match (k, v) {
                ("out_port", Some(v)) => {
                    fm.out_port = crate::switch::parse_port(v)?;
                    true
                }
                ("out_group", Some(v)) => {
                    fm.out_group = match v {
                        "any" | "ANY" => 0xffff_ffff,
                        _ => v
                            .parse()
                            .map_err(|_| anyhow::anyhow!("invalid out_group '{v}'"))?,
                    };
                    true
                }
                ("importance", Some(v)) => {
                    fm.importance = v
                        .parse()
                        .map_err(|_| anyhow::anyhow!("invalid importance '{v}'"))?;
                    true
                }
                (w, None) => match FLAG_WORDS.iter().find(|f| f.0 == w) {
                    Some(f) => {
                        fm.flags |= f.1;
                        true
                    }
                    None => false,
                },
                _ => false,
            })
        })();
        r.map_err(|e| {
            let msg = ofproto::text::ParseError(e.to_string());
            bad = Some(e);
            msg
        })
    });
    let f: Flow = match (f, bad) {
        (Ok(f), _) => f,
        (Err(_), Some(e)) => return Err(e),
        (Err(e), None) => {
            if e.0.contains("'actions=' missing") {
                bail!("must specify an action ('actions=' missing in '{s}')");
            }
            bail!("{e}")
        }
    };
    if command == FlowModCommand::Add && f.cookie_mask != 0 {
        bail!("cannot set cookie mask when adding a flow ('{s}')");
    }
    fm.table_id = if explicit_table || command == FlowModCommand::Add {
        f.table
    } else {
        0xff
    };
    fm.priority = f.priority;
    fm.cookie = f.cookie;
    fm.cookie_mask = f.cookie_mask;
    fm.idle_timeout = f.idle_timeout;
    fm.hard_timeout = f.hard_timeout;
    fm.match_ = f.match_;
    fm.instructions = f.instructions;
    Ok(ParsedMod { fm, explicit_table })
}

fn find_actions(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("actions=") {
        let at = from + i;
        if s[..at]
            .chars()
            .last()
            .is_none_or(|c| c == ',' || c.is_whitespace())
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn command_of(cmd: Cmd, strict: bool) -> FlowModCommand {
    match (cmd, strict) {
        (Cmd::Add, _) => FlowModCommand::Add,
        (Cmd::Modify, false) => FlowModCommand::Modify,
        (Cmd::Modify, true) => FlowModCommand::ModifyStrict,
        (Cmd::Delete, false) => FlowModCommand::Delete,
        (Cmd::Delete, true) => FlowModCommand::DeleteStrict,
    }
}

/// Reads a file (or stdin for `-`).
fn read_source(path: &str) -> Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("{path}: open failed"))
    }
}

/// Parses a flow file; `default` is the command of lines without one.
pub fn parse_flow_file(path: &str, text: &str, default: FlowModCommand) -> Result<Vec<ParsedMod>> {
    let parts = for_each_mod(path, text, default, Vec::new, |out, pm| {
        out.push(pm);
        Ok(())
    })?;
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for p in parts {
        out.extend(p);
    }
    Ok(out)
}

/// Parses every flow of a flow file and hands each, in line order within
/// its chunk, to `step` with the chunk's state (`init()`). Large files are
/// cut into one chunk of whole lines per core, parsed in parallel; the
/// states come back in file order. The error is the first in the file
/// (a parse error names the file and line), as when parsing in order.
fn for_each_mod<R: Send>(
    path: &str,
    text: &str,
    default: FlowModCommand,
    init: impl Fn() -> R + Sync,
    step: impl Fn(&mut R, ParsedMod) -> Result<()> + Sync,
) -> Result<Vec<R>> {
    const PARALLEL_MIN: usize = 1 << 20;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let run = |chunk: &str, first_line: usize| -> Result<R> {
        let mut r = init();
        parse_lines(path, chunk, first_line, default, |pm| step(&mut r, pm))?;
        Ok(r)
    };
    if text.len() < PARALLEL_MIN || threads < 2 {
        return Ok(vec![run(text, 0)?]);
    }
    let mut chunks = Vec::with_capacity(threads);
    let (mut start, mut first_line) = (0, 0);
    for k in 1..=threads {
        let end = if k == threads {
            text.len()
        } else {
            let want = (text.len() * k / threads).max(start);
            text[want..].find('\n').map_or(text.len(), |i| want + i + 1)
        };
        if end > start {
            let chunk = &text[start..end];
            chunks.push((chunk, first_line));
            first_line += memchr_count(chunk.as_bytes());
            start = end;
        }
    }
    let run = &run;
    let results: Vec<Result<R>> = std::thread::scope(|sc| {
        // The first chunk is parsed on this thread.
        let hs: Vec<_> = chunks[1..]
            .iter()
            .map(|&(c, l)| sc.spawn(move || run(c, l)))
            .collect();
        let first = run(chunks[0].0, 0);
        std::iter::once(first)
            .chain(hs.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("parser thread panicked")))
            }))
            .collect()
    });
    results.into_iter().collect()
}

fn memchr_count(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// Parses the lines of `text`, numbering them from `first_line + 1`, and
/// hands each flow mod to `f`.
fn parse_lines(
    path: &str,
    text: &str,
    first_line: usize,
    default: FlowModCommand,
    mut f: impl FnMut(ParsedMod) -> Result<()>,
) -> Result<()> {
    for (n, line) in text.lines().enumerate() {
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        let mut l = line.trim();
        if l.is_empty() {
            continue;
        }
        let mut cmd = default;
        if let Some((w, rest)) = l.split_once(|c: char| c.is_whitespace()) {
            let c = match w {
                "add" => Some(FlowModCommand::Add),
                "modify" => Some(FlowModCommand::Modify),
                "modify_strict" => Some(FlowModCommand::ModifyStrict),
                "delete" => Some(FlowModCommand::Delete),
                "delete_strict" => Some(FlowModCommand::DeleteStrict),
                _ => None,
            };
            if let Some(c) = c {
                cmd = c;
                l = rest.trim();
            }
        }
        parse_flow_mod(l, cmd)
            .and_then(&mut f)
            .with_context(|| format!("{path}:{}", first_line + n + 1))?;
    }
    Ok(())
}

/// What the encoding of a sequence of flow mods depends on, learned from
/// the whole sequence before anything is sent.
#[derive(Debug, Default)]
struct Plan {
    /// Some flow names a table explicitly (OpenFlow 1.0 then needs
    /// `NXT_FLOW_MOD_TABLE_ID`).
    need_tid: bool,
    /// Some flow needs the Nicira flow format in OpenFlow 1.0.
    nxm10: bool,
    /// The first flow that cannot be expressed in OpenFlow 1.1+.
    of11_error: Option<String>,
}

impl Plan {
    fn add(&mut self, pm: ParsedMod, scratch: &mut Vec<u8>) {
        let mut fm = pm.fm;
        if pm.explicit_table && fm.table_id != 0xff {
            self.need_tid = true;
        }
        if !self.nxm10 {
            scratch.clear();
            self.nxm10 = fm.cookie_mask != 0 || fm.match_.encode_of10(scratch).is_err();
        }
        if self.of11_error.is_none()
            && let Err(e) = actions_for_of11(&fm.match_, &mut fm.instructions)
        {
            self.of11_error = Some(e.to_string());
        }
    }

    fn merge(&mut self, o: Plan) {
        self.need_tid |= o.need_tid;
        self.nxm10 |= o.nxm10;
        if self.of11_error.is_none() {
            self.of11_error = o.of11_error;
        }
    }

    fn of(mods: &[ParsedMod]) -> Plan {
        let mut p = Plan::default();
        let mut scratch = Vec::new();
        for m in mods {
            p.add(m.clone(), &mut scratch);
        }
        p
    }

    /// The set-up messages for `v`, or the reason the flows cannot be sent.
    fn setup(&self, v: Version) -> Result<Vec<Message>> {
        let mut setup = Vec::new();
        if v == Version::V1_0 {
            if self.need_tid {
                setup.push(nx::flow_mod_table_id(true));
            }
            if self.nxm10 {
                setup.push(nx::set_flow_format_nxm());
            }
        } else if let Some(e) = &self.of11_error {
            bail!("{e}");
        }
        Ok(setup)
    }

    /// Appends `pm` encoded for `v` (with xid 0) to `buf`; `scratch` is a
    /// reused buffer.
    fn encode(
        &self,
        v: Version,
        pm: ParsedMod,
        scratch: &mut Vec<u8>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let msg = if v == Version::V1_0 {
            let mut fm = pm.fm;
            if fm.table_id == 0xff || !self.need_tid {
                fm.table_id = 0;
            }
            if self.nxm10 {
                nx::flow_mod(&fm)?
            } else {
                Message::FlowMod(fm)
            }
        } else {
            let mut fm = of11_table(pm.fm);
            actions_for_of11(&fm.match_, &mut fm.instructions)?;
            Message::FlowMod(fm)
        };
        msg.encode_to(v, 0, scratch).map_err(|e| {
            anyhow::anyhow!("cannot encode flow mod for {}: {e}", crate::conn::vname(v))
        })?;
        buf.extend_from_slice(scratch);
        Ok(())
    }
}

/// Rewrites the OpenFlow 1.0-only actions of a flow for OpenFlow 1.1+, as
/// `ovs-ofctl` encodes them there: `mod_tp_src/dst` become `set_field` on
/// the flow's L4 protocol (`tcp_src`, `udp_dst`, ...; an error without a
/// TCP, UDP or SCTP match), and `mod_vlan_vid`/`mod_vlan_pcp` become
/// `set_field` on `vlan_vid`/`vlan_pcp`, preceded by `push_vlan:0x8100`
/// unless the flow matches a VLAN header.
pub fn actions_for_of11(m: &Match, ins: &mut [Instruction]) -> Result<()> {
    let proto = m.exact(Field::IpProto);
    let has_vlan = m
        .get(Field::VlanTci)
        .map(|e| e.value.to_u64() & e.mask_or_ones().to_u64() & 0x1000 != 0)
        .unwrap_or(false)
        || m.get(Field::VlanVid)
            .map(|e| e.value.to_u64() & 0x1000 != 0)
            .unwrap_or(false);
    let set = |f: Field, v: u64| {
        Action::SetField(MatchEntry {
            field: f,
            value: Value::from_u64(f.info().width, v),
            mask: None,
        })
    };
    for i in ins.iter_mut() {
        let acts = match i {
            Instruction::ApplyActions(a) | Instruction::WriteActions(a) => a,
            _ => continue,
        };
        if !acts.iter().any(|a| {
            matches!(
                a,
                Action::SetTpSrc(_)
                    | Action::SetTpDst(_)
                    | Action::SetVlanVid(_)
                    | Action::SetVlanPcp(_)
            )
        }) {
            continue;
        }
        let mut out = Vec::with_capacity(acts.len() + 1);
        let mut pushed = has_vlan;
        for a in acts.drain(..) {
            match a {
                Action::SetTpSrc(p) | Action::SetTpDst(p) => {
                    let src = matches!(a, Action::SetTpSrc(_));
                    let f = match (proto, src) {
                        (Some(6), true) => Field::TcpSrc,
                        (Some(6), false) => Field::TcpDst,
                        (Some(17), true) => Field::UdpSrc,
                        (Some(17), false) => Field::UdpDst,
                        (Some(132), true) => Field::SctpSrc,
                        (Some(132), false) => Field::SctpDst,
                        _ => bail!(
                            "mod_tp_{}:{p} needs a tcp, udp or sctp match with OpenFlow 1.1 or later",
                            if src { "src" } else { "dst" }
                        ),
                    };
                    out.push(set(f, u64::from(p)));
                }
                Action::SetVlanVid(v) => {
                    if !pushed {
                        out.push(Action::PushVlan(0x8100));
                        pushed = true;
                    }
                    out.push(set(Field::VlanVid, 0x1000 | u64::from(v & 0xfff)));
                }
                Action::SetVlanPcp(p) => {
                    if !pushed {
                        out.push(Action::PushVlan(0x8100));
                        pushed = true;
                    }
                    out.push(set(Field::VlanPcp, u64::from(p & 7)));
                }
                Action::PopVlan => {
                    pushed = false;
                    out.push(a);
                }
                Action::PushVlan(_) => {
                    pushed = true;
                    out.push(a);
                }
                other => out.push(other),
            }
        }
        *acts = out;
    }
    Ok(())
}

/// OpenFlow 1.1+ allow "all tables" (255) only for deletes: other commands
/// without `table=` go to table 0, as `ovs-ofctl` sends them.
pub fn of11_table(mut fm: FlowMod) -> FlowMod {
    if fm.table_id == 0xff
        && !matches!(
            fm.command,
            FlowModCommand::Delete | FlowModCommand::DeleteStrict
        )
    {
        fm.table_id = 0;
    }
    fm
}

/// Sends `msgs` in windows with a barrier after each; returns the exit
/// status (1 after printing the first error).
pub fn send_windowed(c: &mut Conn, setup: &[Message], msgs: &[Message]) -> Result<i32> {
    // Encode everything first: an encoding error sends nothing.
    let v = c.version();
    let mut buf = Vec::with_capacity(msgs.len() * 128);
    let mut scratch = Vec::with_capacity(256);
    for m in msgs {
        m.encode_to(v, 0, &mut scratch).map_err(|e| {
            anyhow::anyhow!("cannot encode flow mod for {}: {e}", crate::conn::vname(v))
        })?;
        buf.extend_from_slice(&scratch);
    }
    send_encoded(c, setup, &mut buf)
}

/// Sends the set-up messages (each with a barrier), then the encoded
/// messages of `buf` (back to back, xids not yet set) in windows of
/// [`WINDOW`] with a barrier after each; returns the exit status (1 after
/// printing the first error).
fn send_encoded(c: &mut Conn, setup: &[Message], buf: &mut [u8]) -> Result<i32> {
    for m in setup {
        match c.transact_noreply(m)? {
            Some((raw, e)) => return Ok(report_error(&raw, &e)),
            None => continue,
        }
    }
    let mut start = 0;
    while start < buf.len() {
        // Give the window's messages their xids, in order.
        let mut end = start;
        for _ in 0..WINDOW {
            if end + 8 > buf.len() {
                break;
            }
            let len = usize::from(u16::from_be_bytes([buf[end + 2], buf[end + 3]]));
            buf[end + 4..end + 8].copy_from_slice(&crate::conn::next_xid().to_be_bytes());
            end += len.max(8);
        }
        let end = end.min(buf.len());
        c.send_bytes(&buf[start..end])?;
        start = end;
        c.barrier()?;
        if let Some((raw, e)) = c.take_errors().into_iter().next() {
            return Ok(report_error(&raw, &e));
        }
    }
    Ok(0)
}

/// Sends flow mods as configured (`--bundle` or windows).
pub fn send_mods(o: &Opts, target: &str, mods: Vec<ParsedMod>) -> Result<i32> {
    let mut c = Conn::open(target, o.versions)?;
    if o.bundle {
        return crate::bundle::send_bundle(&mut c, &mods);
    }
    let plan = Plan::of(&mods);
    let v = c.version();
    let setup = plan.setup(v)?;
    let mut buf = Vec::with_capacity(mods.len() * 128);
    let mut scratch = Vec::with_capacity(256);
    for m in mods {
        plan.encode(v, m, &mut scratch, &mut buf)?;
    }
    send_encoded(&mut c, &setup, &mut buf)
}

/// `add-flow`, `mod-flows`, `del-flows` with one flow (or `-` for a file on
/// stdin).
pub fn flow_mod_cmd(o: &Opts, target: &str, text: &str, cmd: Cmd) -> Result<i32> {
    let command = command_of(cmd, o.strict);
    let Some((pm, tm)) = names::fetch_for_parse(o, target, true)? else {
        return Ok(1);
    };
    if text == "-" {
        let src = read_source("-")?;
        let t = names::accept_names(&src, &pm, &tm)?;
        return send_file(o, target, "-", &t, command);
    }
    let mods = vec![parse_flow_mod(
        &names::accept_names(text, &pm, &tm)?,
        command,
    )?];
    send_mods(o, target, mods)
}

/// `add-flows FILE`.
pub fn flow_mod_file(o: &Opts, target: &str, path: &str) -> Result<i32> {
    let Some((pm, tm)) = names::fetch_for_parse(o, target, true)? else {
        return Ok(1);
    };
    let src = read_source(path)?;
    let t = names::accept_names(&src, &pm, &tm)?;
    send_file(o, target, path, &t, FlowModCommand::Add)
}

/// Sends the flow mods of a flow file. The whole file is parsed before
/// connecting (a bad line sends nothing), keeping only what the encoding
/// depends on ([`Plan`]); once the version is known the flows are parsed
/// again straight into one buffer of encoded messages, so the parsed flows
/// never all live at once. With `--bundle` they are kept and bundled.
fn send_file(
    o: &Opts,
    target: &str,
    path: &str,
    text: &str,
    default: FlowModCommand,
) -> Result<i32> {
    if o.bundle {
        let mods = parse_flow_file(path, text, default)?;
        return send_mods(o, target, mods);
    }
    let plans = for_each_mod(
        path,
        text,
        default,
        || (Plan::default(), Vec::new()),
        |(p, scratch), pm| {
            p.add(pm, scratch);
            Ok(())
        },
    )?;
    let mut plan = Plan::default();
    for (p, _) in plans {
        plan.merge(p);
    }
    let mut c = Conn::open(target, o.versions)?;
    let v = c.version();
    let setup = plan.setup(v)?;
    let plan = &plan;
    let parts = for_each_mod(
        path,
        text,
        default,
        || (Vec::with_capacity(1 << 16), Vec::with_capacity(256)),
        |(buf, scratch), pm| plan.encode(v, pm, scratch, buf),
    )?;
    let mut buf = Vec::with_capacity(parts.iter().map(|p| p.0.len()).sum());
    for (b, _) in parts {
        buf.extend_from_slice(&b);
    }
    send_encoded(&mut c, &setup, &mut buf)
}

/// `parse-flows FILE` (offline): parses a flow file and prints each flow
/// mod as `COMMAND FLOW` in the `--no-stats` text, one per line. Each chunk
/// of the file is printed into one buffer as it is parsed.
pub fn parse_flows(path: &str) -> Result<i32> {
    let t = read_source(path)?;
    let parts = for_each_mod(
        path,
        &t,
        FlowModCommand::Add,
        || String::with_capacity(1 << 16),
        |out, m| {
            let cmd = match m.fm.command {
                FlowModCommand::Add => "add",
                FlowModCommand::Modify => "modify",
                FlowModCommand::ModifyStrict => "modify_strict",
                FlowModCommand::Delete => "delete",
                FlowModCommand::DeleteStrict => "delete_strict",
            };
            out.push_str(cmd);
            out.push(' ');
            format_flow_stats(
                out,
                &stats_of_mod(m.fm),
                FlowAges::default(),
                false,
                Version::V1_0,
            );
            out.push('\n');
            Ok(())
        },
    )?;
    use std::io::Write;
    let mut w = std::io::stdout().lock();
    for out in parts {
        match w.write_all(out.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            r => r?,
        }
    }
    match w.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        r => r.map(|_| 0).map_err(Into::into),
    }
}

/// A dumped flow with its Nicira ages.
pub type Dumped = (FlowStats, FlowAges);

/// The raw reply messages of a flow dump and how to decode them.
enum DumpReply {
    Nx(Vec<Raw>),
    Std(Vec<Raw>),
}

fn stats_request(match_text: Option<&str>, aggregate: bool) -> Result<FlowStatsRequest> {
    let mut q = FlowStatsRequest {
        table_id: 0xff,
        ..FlowStatsRequest::default()
    };
    if let Some(t) = match_text.filter(|t| !t.trim().is_empty()) {
        let pm = parse_flow_mod(t, FlowModCommand::Delete).map_err(|e| {
            anyhow::anyhow!("{}", e.to_string().replace("when deleting flows", "here"))
        })?;
        let _ = aggregate;
        q.table_id = if pm.explicit_table {
            pm.fm.table_id
        } else {
            0xff
        };
        q.out_port = pm.fm.out_port;
        q.out_group = pm.fm.out_group;
        q.cookie = pm.fm.cookie;
        q.cookie_mask = pm.fm.cookie_mask;
        q.match_ = pm.fm.match_;
    }
    Ok(q)
}

/// Runs a flow (or aggregate) dump. `Err` for transport problems;
/// `Ok(None)` when the switch answered with an error (already printed).
fn run_dump(c: &mut Conn, q: &FlowStatsRequest, aggregate: bool) -> Result<Option<DumpReply>> {
    let v = c.version();
    if v == Version::V1_0 {
        // NXM flow format first, as ovs-ofctl does; fall back when refused.
        if c.transact_noreply(&nx::set_flow_format_nxm())?.is_none() {
            match c.transact(&nx::flow_stats_request(q, aggregate)?)? {
                Reply::Ok(parts) => return Ok(Some(DumpReply::Nx(parts))),
                Reply::Error(raw, e) => {
                    report_error(&raw, &e);
                    return Ok(None);
                }
            }
        }
    }
    let body = if aggregate {
        RequestBody::Aggregate(q.clone())
    } else {
        RequestBody::Flow(q.clone())
    };
    match c.transact(&Message::MultipartRequest(MultipartRequest {
        flags: 0,
        body,
    }))? {
        Reply::Ok(parts) => Ok(Some(DumpReply::Std(parts))),
        Reply::Error(raw, e) => {
            report_error(&raw, &e);
            Ok(None)
        }
    }
}

fn more_flag(raw: &Raw) -> &'static str {
    let b = &raw.bytes;
    if b.len() >= 12 && u16::from_be_bytes([b[10], b[11]]) & 1 != 0 {
        " flags=[more]"
    } else {
        ""
    }
}

fn decode_parts(reply: &DumpReply) -> Result<Vec<(u32, &'static str, Vec<Dumped>)>> {
    let mut out = Vec::new();
    match reply {
        DumpReply::Nx(parts) => {
            for raw in parts {
                out.push((
                    raw.header.xid,
                    more_flag(raw),
                    nx::decode_flow_stats_reply(&raw.bytes)?,
                ));
            }
        }
        DumpReply::Std(parts) => {
            for raw in parts {
                let Message::MultipartReply(r) = raw.decode()? else {
                    bail!("received bad reply to a flow statistics request");
                };
                let ReplyBody::Flow(v) = r.body else {
                    bail!("received bad reply to a flow statistics request");
                };
                out.push((
                    raw.header.xid,
                    more_flag(raw),
                    v.into_iter().map(|f| (f, FlowAges::default())).collect(),
                ));
            }
        }
    }
    Ok(out)
}

/// Dumps every flow matching `match_text` from `target` (a helper for
/// replace-flows and diff-flows too).
pub fn fetch_flows(
    o: &Opts,
    target: &str,
    match_text: Option<&str>,
) -> Result<Option<(Version, Vec<Dumped>)>> {
    let q = stats_request(match_text, false)?;
    let mut c = Conn::open(target, o.versions)?;
    let Some(reply) = run_dump(&mut c, &q, false)? else {
        return Ok(None);
    };
    Ok(Some((
        c.version(),
        decode_parts(&reply)?
            .into_iter()
            .flat_map(|p| p.2)
            .collect(),
    )))
}

/// `dump-flows` and `dump-aggregate`.
pub fn dump_flows(
    o: &Opts,
    target: &str,
    match_text: Option<&str>,
    aggregate: bool,
) -> Result<i32> {
    let accepted;
    let match_text = match match_text.filter(|t| !t.trim().is_empty()) {
        Some(t) => {
            let Some((pm, tm)) = names::fetch_for_parse(o, target, false)? else {
                return Ok(1);
            };
            accepted = names::accept_names(t, &pm, &tm)?;
            Some(&*accepted)
        }
        None => None,
    };
    let q = stats_request(match_text, aggregate)?;
    let mut c = Conn::open(target, o.versions)?;
    let v = c.version();
    let Some(reply) = run_dump(&mut c, &q, aggregate)? else {
        return Ok(1);
    };
    if aggregate {
        let (raw, a, name) = match &reply {
            DumpReply::Nx(p) => {
                let raw = p.first().context("empty reply")?;
                (
                    raw,
                    nx::decode_aggregate_reply(&raw.bytes)?,
                    "NXST_AGGREGATE reply",
                )
            }
            DumpReply::Std(p) => {
                let raw = p.first().context("empty reply")?;
                let Message::MultipartReply(r) = raw.decode()? else {
                    bail!("received bad reply to an aggregate request");
                };
                let ReplyBody::Aggregate(a) = r.body else {
                    bail!("received bad reply to an aggregate request");
                };
                (raw, a, "OFPST_AGGREGATE reply")
            }
        };
        if o.json {
            println!(
                "{{\"packet_count\":{},\"byte_count\":{},\"flow_count\":{}}}",
                a.packet_count, a.byte_count, a.flow_count
            );
            return Ok(0);
        }
        let mut s = msg_header(name, v, raw.header.xid);
        format_aggregate(&mut s, &a);
        print!("{s}");
        return Ok(0);
    }
    let name = match reply {
        DumpReply::Nx(_) => "NXST_FLOW reply",
        DumpReply::Std(_) => "OFPST_FLOW reply",
    };
    let parts = decode_parts(&reply)?;
    let show_stats = !o.no_stats;
    let names = if o.show_names() {
        Some(names::fetch_ports(o, target)?)
    } else {
        None
    };
    let mut s = String::with_capacity(parts.iter().map(|p| p.2.len()).sum::<usize>() * 128);
    if o.json {
        let all: Vec<Dumped> = parts.into_iter().flat_map(|p| p.2).collect();
        let all = sorted(o, all)?;
        s.push_str(&crate::json::flows_json(&all, show_stats));
        println!("{s}");
        return Ok(0);
    }
    if o.sort.is_empty() && names.is_none() && show_stats {
        for (xid, more, flows) in &parts {
            s.push_str(&msg_header(name, v, *xid));
            s.push_str(more);
            for (fs, ages) in flows {
                s.push_str("\n ");
                format_flow_stats(&mut s, fs, *ages, true, v);
            }
            s.push('\n');
        }
    } else {
        let all: Vec<Dumped> = parts.into_iter().flat_map(|p| p.2).collect();
        let all = sorted(o, all)?;
        for (fs, _) in &all {
            s.push(' ');
            let mut line = String::new();
            // This path prints no ages, as ovs-ofctl's (it decodes the
            // reply without the Nicira age extension).
            format_flow_stats(&mut line, fs, FlowAges::default(), show_stats, v);
            if let Some(map) = &names {
                line = substitute_port_names(&line, map);
            }
            s.push_str(&line);
            s.push('\n');
        }
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    Ok(0)
}

fn quote_name(n: &str) -> String {
    let plain = !n.is_empty()
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !n.chars().all(|c| c.is_ascii_digit());
    if plain {
        n.to_string()
    } else {
        format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Replaces port numbers by names in `in_port=N` (match) and `output:N`
/// (actions), the two places `ovs-ofctl --names` rewrites most.
pub fn substitute_port_names(line: &str, map: &BTreeMap<PortNo, String>) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut rest = line;
    let keys = ["in_port=", "output:"];
    loop {
        let next = keys
            .iter()
            .filter_map(|k| rest.find(k).map(|i| (i, *k)))
            .filter(|(i, _)| *i == 0 || matches!(rest.as_bytes()[i - 1], b',' | b' ' | b'='))
            .min();
        let Some((i, k)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + k.len()]);
        rest = &rest[i + k.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let num = &rest[..end];
        match num.parse::<u32>().ok().and_then(|n| map.get(&n)) {
            Some(name) => out.push_str(&quote_name(name)),
            None => out.push_str(num),
        }
        rest = &rest[end..];
    }
}

/// Sorts per `--sort`/`--rsort`; flows lacking a sort field go last.
fn sorted(o: &Opts, mut all: Vec<Dumped>) -> Result<Vec<Dumped>> {
    if o.sort.is_empty() {
        return Ok(all);
    }
    let mut keys = Vec::new();
    for k in &o.sort {
        let f = match k.field.as_deref() {
            None | Some("priority") => None,
            Some(name) => Some(
                ofproto::text::lookup_field(name)
                    .ok_or_else(|| anyhow::anyhow!("{name}: unknown field name"))?,
            ),
        };
        keys.push((f, k.asc));
    }
    // A final pass by descending priority, as ovs-ofctl always adds.
    keys.push((None, false));
    all.sort_by(|a, b| {
        for (f, asc) in &keys {
            let ord = match f {
                None => a.0.priority.cmp(&b.0.priority),
                Some(f) => {
                    let va = a.0.match_.get(*f);
                    let vb = b.0.match_.get(*f);
                    match (va, vb) {
                        (Some(_), None) => return std::cmp::Ordering::Less,
                        (None, Some(_)) => return std::cmp::Ordering::Greater,
                        (None, None) => std::cmp::Ordering::Equal,
                        (Some(x), Some(y)) => {
                            let xv = x.value.and(&x.mask_or_ones());
                            let yv = y.value.and(&y.mask_or_ones());
                            xv.as_bytes().cmp(yv.as_bytes())
                        }
                    }
                }
            };
            let ord = if *asc { ord } else { ord.reverse() };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(all)
}

/// The identity of a flow in a table: table, priority and match (as
/// canonical text, so that the order of fields does not matter).
fn flow_key(table: u8, priority: u16, m: &Match) -> (u8, u16, String) {
    (
        table,
        priority,
        ofproto::text::format_match(&ofproto::text::stats::display_match(m)),
    )
}

/// What `diff-flows` compares besides the key: cookie, timeouts, actions.
#[derive(Debug, Clone)]
struct FlowVal {
    text: String,
    cookie: u64,
    idle: u16,
    hard: u16,
    actions: String,
}

/// Equal when cookie, timeouts and actions are (the printed text, which
/// depends on the OpenFlow version, is not compared).
impl PartialEq for FlowVal {
    fn eq(&self, o: &FlowVal) -> bool {
        (self.cookie, self.idle, self.hard, &self.actions) == (o.cookie, o.idle, o.hard, &o.actions)
    }
}

/// The line `diff-flows` prints for a flow, in `ovs-ofctl`'s layout:
/// `[table=N ]MATCH[ cookie=..][ idle_timeout=..][ hard_timeout=..] actions=..`.
fn val_of(fs: &FlowStats, v: Version) -> FlowVal {
    let bare = FlowStats {
        cookie: 0,
        table_id: 0,
        idle_timeout: 0,
        hard_timeout: 0,
        flags: 0,
        instructions: Vec::new(),
        ..fs.clone()
    };
    let mut m = String::new();
    format_flow_stats(&mut m, &bare, FlowAges::default(), false, v);
    let m = m.trim_end_matches("actions=drop").trim_end();
    let mut text = String::new();
    if fs.table_id != 0 {
        text.push_str(&format!("table={} ", fs.table_id));
    }
    text.push_str(m);
    if fs.cookie != 0 {
        text.push_str(&format!(" cookie={:#x}", fs.cookie));
    }
    if fs.idle_timeout != 0 {
        text.push_str(&format!(" idle_timeout={}", fs.idle_timeout));
    }
    if fs.hard_timeout != 0 {
        text.push_str(&format!(" hard_timeout={}", fs.hard_timeout));
    }
    text.push_str(" actions=");
    text.push_str(&ofproto::text::stats::format_actions_in(
        &fs.instructions,
        v,
    ));
    FlowVal {
        text,
        cookie: fs.cookie,
        idle: fs.idle_timeout,
        hard: fs.hard_timeout,
        actions: ofproto::text::format_actions(&fs.instructions),
    }
}

fn stats_of_mod(fm: FlowMod) -> FlowStats {
    FlowStats {
        table_id: if fm.table_id == 0xff { 0 } else { fm.table_id },
        duration_sec: 0,
        duration_nsec: 0,
        priority: fm.priority,
        idle_timeout: fm.idle_timeout,
        hard_timeout: fm.hard_timeout,
        flags: 0,
        cookie: fm.cookie,
        packet_count: 0,
        byte_count: 0,
        match_: fm.match_,
        instructions: fm.instructions,
    }
}

type FlowSet = BTreeMap<(u8, u16, String), (FlowVal, FlowStats)>;

fn flows_from_file(path: &str) -> Result<FlowSet> {
    let t = read_source(path)?;
    let mut set = FlowSet::new();
    for pm in parse_flow_file(path, &t, FlowModCommand::Add)? {
        if pm.fm.command != FlowModCommand::Add {
            bail!("{path}: only flow additions may appear in a flow file here");
        }
        let fs = stats_of_mod(pm.fm);
        set.insert(
            flow_key(fs.table_id, fs.priority, &fs.match_),
            (val_of(&fs, Version::V1_0), fs),
        );
    }
    Ok(set)
}

fn flows_from_switch(o: &Opts, target: &str) -> Result<Option<FlowSet>> {
    let Some((v, flows)) = fetch_flows(o, target, None)? else {
        return Ok(None);
    };
    let mut set = FlowSet::new();
    for (fs, _) in flows {
        set.insert(
            flow_key(fs.table_id, fs.priority, &fs.match_),
            (val_of(&fs, v), fs),
        );
    }
    Ok(Some(set))
}

fn is_file_source(s: &str) -> bool {
    s.starts_with('/')
        || s.starts_with('.')
        || (!s.contains(':') && std::path::Path::new(s).is_file())
}

/// `replace-flows SWITCH FILE`: deletes (strictly) the switch's flows that
/// are not in FILE, adds those of FILE that are new or differ (all of them
/// with `--readd`).
pub fn replace_flows(o: &Opts, target: &str, path: &str) -> Result<i32> {
    let want = flows_from_file(path)?;
    let Some(have) = flows_from_switch(o, target)? else {
        return Ok(1);
    };
    let mut mods = Vec::new();
    for (k, (_, fs)) in &have {
        if !want.contains_key(k) {
            let mut fm = FlowMod::new(FlowModCommand::DeleteStrict);
            fm.table_id = fs.table_id;
            fm.priority = fs.priority;
            fm.match_ = fs.match_.clone();
            mods.push(ParsedMod {
                fm,
                explicit_table: true,
            });
        }
    }
    for (k, (val, fs)) in &want {
        let same = have.get(k).is_some_and(|(hv, _)| hv == val);
        if !same || o.readd {
            let mut fm = FlowMod::new(FlowModCommand::Add);
            fm.table_id = fs.table_id;
            fm.priority = fs.priority;
            fm.cookie = fs.cookie;
            fm.idle_timeout = fs.idle_timeout;
            fm.hard_timeout = fs.hard_timeout;
            fm.match_ = fs.match_.clone();
            fm.instructions = fs.instructions.clone();
            mods.push(ParsedMod {
                fm,
                explicit_table: true,
            });
        }
    }
    if mods.is_empty() {
        return Ok(0);
    }
    send_mods(o, target, mods)
}

/// `diff-flows SOURCE1 SOURCE2`: prints `-FLOW` for flows only in (or
/// different in) SOURCE1 and `+FLOW` for SOURCE2; exit status 2 when they
/// differ, as `ovs-ofctl`.
pub fn diff_flows(o: &Opts, a: &str, b: &str) -> Result<i32> {
    let load = |s: &str| -> Result<Option<FlowSet>> {
        if is_file_source(s) {
            flows_from_file(s).map(Some)
        } else {
            flows_from_switch(o, s)
        }
    };
    let (Some(fa), Some(fb)) = (load(a)?, load(b)?) else {
        return Ok(1);
    };
    let mut keys: Vec<&(u8, u16, String)> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut differ = false;
    let mut s = String::new();
    for k in keys {
        match (fa.get(k), fb.get(k)) {
            (Some((va, _)), Some((vb, _))) if va == vb => {}
            (va, vb) => {
                differ = true;
                if let Some((v, _)) = va {
                    s.push('-');
                    s.push_str(&v.text);
                    s.push('\n');
                }
                if let Some((v, _)) = vb {
                    s.push('+');
                    s.push_str(&v.text);
                    s.push('\n');
                }
            }
        }
    }
    print!("{s}");
    Ok(if differ { 2 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(n: usize, bad_at: Option<usize>) -> String {
        let mut s = String::new();
        for i in 1..=n {
            if Some(i) == bad_at {
                s.push_str("priority=1,tcp,tp_dst=99999,actions=drop\n");
            } else {
                s.push_str(&format!(
                    "priority={},ip,nw_src=10.0.{}.{},actions=output:{}\n",
                    i % 60000,
                    (i >> 8) & 255,
                    i & 255,
                    i % 7 + 1
                ));
            }
        }
        s
    }

    #[test]
    fn parallel_parse_keeps_order() {
        let text = big(40_000, None);
        assert!(text.len() > 1 << 20, "exercise the parallel path");
        let mods = parse_flow_file("f", &text, FlowModCommand::Add).unwrap();
        assert_eq!(mods.len(), 40_000);
        for (i, m) in mods.iter().enumerate() {
            assert_eq!(usize::from(m.fm.priority), (i + 1) % 60000);
        }
    }

    #[test]
    fn parallel_parse_reports_the_first_bad_line() {
        let text = big(40_000, Some(37_001));
        let e = parse_flow_file("f.txt", &text, FlowModCommand::Add).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.starts_with("f.txt:37001: ") && msg.contains("99999"),
            "{msg}"
        );
    }

    #[test]
    fn of10_actions_for_of13() {
        let mut m = parse_flow_mod(
            "udp,actions=mod_tp_dst:53,mod_vlan_vid:5",
            FlowModCommand::Add,
        )
        .unwrap()
        .fm;
        actions_for_of11(&m.match_, &mut m.instructions).unwrap();
        assert_eq!(
            ofproto::text::stats::format_actions_in(&m.instructions, Version::V1_3),
            "set_field:53->udp_dst,push_vlan:0x8100,set_field:4101->vlan_vid"
        );
        let mut m = parse_flow_mod("ip,actions=mod_tp_dst:53", FlowModCommand::Add)
            .unwrap()
            .fm;
        let e = actions_for_of11(&m.match_, &mut m.instructions).unwrap_err();
        assert!(e.to_string().contains("mod_tp_dst:53"), "{e}");
    }

    #[test]
    fn flow_mod_keys() {
        let m = parse_flow_mod(
            "table=3,priority=7,out_port=2,send_flow_rem,tcp,actions=drop",
            FlowModCommand::Modify,
        )
        .unwrap();
        assert!(m.explicit_table);
        assert_eq!(
            (m.fm.table_id, m.fm.priority, m.fm.out_port, m.fm.flags),
            (3, 7, 2, 1)
        );
        let d = parse_flow_mod("tcp", FlowModCommand::Delete).unwrap();
        assert_eq!(d.fm.table_id, 0xff);
        let e = parse_flow_mod("tcp,actions=drop", FlowModCommand::Delete).unwrap_err();
        assert!(e.to_string().contains("not allowed"));
        let e = parse_flow_mod("tcp", FlowModCommand::Add).unwrap_err();
        assert!(e.to_string().contains("actions="), "{e}");
    }
}
