//! Switch-level commands: `show`, `dump-desc`, `dump-tables`,
//! `dump-ports-desc`, `packet-out`.
//!
//! Contract: each opens its own connection(s) in the order `ovs-ofctl`
//! does (so the printed `xid=` values match) and prints the replies in its
//! text. An ERROR reply is printed on stderr and gives exit status 1.

use crate::Opts;
use crate::conn::{Conn, Raw, Reply};
use anyhow::{Result, bail};
use ofproto::ofp::multipart::{ReplyBody, TableStats};
use ofproto::ofp::port::ports;
use ofproto::ofp::{
    Instruction, Message, MultipartRequest, PacketOut, PortNo, RequestBody, Version,
};
use ofproto::text::stats::{
    format_desc, format_features, format_port, format_switch_config, msg_header,
};
use std::fmt::Write;

/// `OFPT_ERROR (xid=0x8): NAME` for an error reply.
pub fn error_text(raw: &Raw, e: &ofproto::ofp::ErrorMsg) -> String {
    let v = Version::from_wire(raw.header.version).unwrap_or(Version::V1_0);
    let name = e.kind(v).map_or_else(
        || format!("***unknown error {:?}***", e.code),
        |k| k.name().to_string(),
    );
    format!("{} {name}", msg_header("OFPT_ERROR", v, raw.header.xid))
}

/// Prints an error reply on stderr and returns exit status 1.
pub fn report_error(raw: &Raw, e: &ofproto::ofp::ErrorMsg) -> i32 {
    eprintln!("{}", error_text(raw, e));
    1
}

fn mp(body: RequestBody) -> Message {
    Message::MultipartRequest(MultipartRequest { flags: 0, body })
}

/// The parts of a multipart reply, or the error.
pub enum Parts {
    /// Decoded parts with their raw messages.
    Ok(Vec<(Raw, ofproto::ofp::MultipartReply)>),
    /// An error reply (already printed).
    Failed,
}

/// Sends a multipart request and decodes every part.
pub fn dump(c: &mut Conn, body: RequestBody) -> Result<Parts> {
    match c.transact(&mp(body))? {
        Reply::Error(raw, e) => {
            report_error(&raw, &e);
            Ok(Parts::Failed)
        }
        Reply::Ok(parts) => {
            let mut out = Vec::new();
            for raw in parts {
                match raw.decode()? {
                    Message::MultipartReply(r) => out.push((raw, r)),
                    other => bail!("received bad reply: {:?}", other.msg_type()),
                }
            }
            Ok(Parts::Ok(out))
        }
    }
}

fn more(r: &ofproto::ofp::MultipartReply) -> &'static str {
    if r.flags & 1 != 0 {
        " flags=[more]"
    } else {
        ""
    }
}

fn print_port_parts(parts: &[(Raw, ofproto::ofp::MultipartReply)], v: Version) {
    let mut s = String::new();
    for (raw, r) in parts {
        s.push_str(&msg_header("OFPST_PORT_DESC reply", v, raw.header.xid));
        s.push_str(more(r));
        s.push('\n');
        if let ReplyBody::PortDesc(ps) = &r.body {
            let mut ps = ps.clone();
            ofproto::text::stats::sort_ports(&mut ps);
            for p in &ps {
                format_port(&mut s, p, v);
            }
        }
    }
    print!("{s}");
}

/// `show`.
pub fn show(o: &Opts, target: &str) -> Result<i32> {
    let mut c = Conn::open(target, o.versions)?;
    let v = c.version();
    let (raw, f) = match c.transact(&Message::FeaturesRequest)? {
        Reply::Error(raw, e) => return Ok(report_error(&raw, &e)),
        Reply::Ok(mut parts) => {
            let raw = parts.remove(0);
            match raw.decode()? {
                Message::FeaturesReply(f) => (raw, f),
                other => bail!("received bad reply: {:?}", other.msg_type()),
            }
        }
    };
    let mut s = msg_header("OFPT_FEATURES_REPLY", v, raw.header.xid);
    format_features(&mut s, &f, v);
    let mut ps = f.ports.clone();
    ofproto::text::stats::sort_ports(&mut ps);
    for p in &ps {
        format_port(&mut s, p, v);
    }
    print!("{s}");
    if v != Version::V1_0 {
        match dump(
            &mut c,
            RequestBody::PortDesc {
                port_no: ports::ANY,
            },
        )? {
            Parts::Ok(parts) => print_port_parts(&parts, v),
            Parts::Failed => return Ok(1),
        }
    }
    drop(c);
    // GET_CONFIG on a connection of its own, as ovs-ofctl does.
    let mut c = Conn::open(target, o.versions)?;
    match c.transact(&Message::GetConfigRequest)? {
        Reply::Error(raw, e) => Ok(report_error(&raw, &e)),
        Reply::Ok(mut parts) => {
            let raw = parts.remove(0);
            let Message::GetConfigReply(cfg) = raw.decode()? else {
                bail!("received bad reply to GET_CONFIG_REQUEST");
            };
            let mut s = msg_header("OFPT_GET_CONFIG_REPLY", v, raw.header.xid);
            format_switch_config(&mut s, &cfg);
            print!("{s}");
            Ok(0)
        }
    }
}

/// `dump-desc`.
pub fn dump_desc(o: &Opts, target: &str) -> Result<i32> {
    let mut c = Conn::open(target, o.versions)?;
    let v = c.version();
    let Parts::Ok(parts) = dump(&mut c, RequestBody::Desc)? else {
        return Ok(1);
    };
    if o.json {
        for (_, r) in &parts {
            if let ReplyBody::Desc(d) = &r.body {
                println!("{}", crate::json::desc_json(d));
            }
        }
        return Ok(0);
    }
    let mut s = String::new();
    for (raw, r) in &parts {
        s.push_str(&msg_header("OFPST_DESC reply", v, raw.header.xid));
        if let ReplyBody::Desc(d) = &r.body {
            format_desc(&mut s, d);
        }
    }
    print!("{s}");
    Ok(0)
}

/// Port argument: a number or a reserved name.
pub fn parse_port(s: &str) -> Result<PortNo> {
    let p = match s.to_ascii_uppercase().as_str() {
        "IN_PORT" => ports::IN_PORT,
        "TABLE" => ports::TABLE,
        "NORMAL" => ports::NORMAL,
        "FLOOD" => ports::FLOOD,
        "ALL" => ports::ALL,
        "CONTROLLER" => ports::CONTROLLER,
        "LOCAL" => ports::LOCAL,
        "ANY" | "NONE" => ports::ANY,
        _ => match s.parse::<u32>() {
            Ok(n) => n,
            Err(_) => bail!("unknown port `{s}' (use a port number or LOCAL, CONTROLLER, ...)"),
        },
    };
    Ok(p)
}

/// A port argument: number, reserved name, or the name of one of the
/// switch's ports (looked up only when needed).
pub fn resolve_port(o: &Opts, target: &str, s: &str) -> Result<PortNo> {
    if let Ok(p) = parse_port(s) {
        return Ok(p);
    }
    let map = crate::names::fetch_ports(o, target)?;
    map.iter()
        .find(|(_, n)| n.as_str() == s)
        .map(|(p, _)| *p)
        .ok_or_else(|| anyhow::anyhow!("{target}: unknown port `{s}'"))
}

/// `dump-ports-desc [PORT]`.
pub fn dump_ports_desc(o: &Opts, target: &str, port: Option<&str>) -> Result<i32> {
    let port_no = match port {
        Some(p) => resolve_port(o, target, p)?,
        None => ports::ANY,
    };
    let mut c = Conn::open(target, o.versions)?;
    let v = c.version();
    // As ovs-ofctl: the port only filters with OpenFlow 1.5+, whose
    // request carries it; older versions list every port.
    let Parts::Ok(parts) = dump(&mut c, RequestBody::PortDesc { port_no })? else {
        return Ok(1);
    };
    if o.json {
        let mut all: Vec<_> = parts
            .iter()
            .flat_map(|(_, r)| match &r.body {
                ReplyBody::PortDesc(p) => p.clone(),
                _ => Vec::new(),
            })
            .collect();
        ofproto::text::stats::sort_ports(&mut all);
        println!("{}", crate::json::port_desc_json(&all, v));
        return Ok(0);
    }
    print_port_parts(&parts, v);
    Ok(0)
}

const OF10_MATCH_NAMES: [(u32, &str); 12] = [
    (0, "in_port"),
    (2, "eth_src"),
    (3, "eth_dst"),
    (4, "eth_type"),
    (1, "vlan_vid"),
    (20, "vlan_pcp"),
    (8, "ip_src"),
    (14, "ip_dst"),
    (5, "nw_proto"),
    (21, "nw_tos"),
    (6, "tcp_src"),
    (7, "tcp_dst"),
];

/// The `matching:` list of an OpenFlow 1.0 table from its wildcard bits,
/// with Open vSwitch's brace grouping of common prefixes.
fn of10_matching(wildcards: u32) -> String {
    let names: Vec<&str> = OF10_MATCH_NAMES
        .iter()
        .filter(|(bit, _)| {
            if *bit == 8 || *bit == 14 {
                (wildcards >> bit) & 0x3f != 0
            } else {
                wildcards & (1 << bit) != 0
            }
        })
        .map(|(_, n)| *n)
        .collect();
    // Group consecutive names sharing the prefix before '_'.
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let (pre, _) = names[i].split_once('_').unwrap_or((names[i], ""));
        let mut j = i + 1;
        while j < names.len() && names[j].split_once('_').map(|x| x.0) == Some(pre) {
            j += 1;
        }
        if j - i > 1 {
            let tails: Vec<&str> = names[i..j]
                .iter()
                .map(|n| n.split_once('_').map_or("", |x| x.1))
                .collect();
            out.push(format!("{pre}_{{{}}}", tails.join(",")));
        } else {
            out.push(names[i].to_string());
        }
        i = j;
    }
    out.join(" ")
}

/// One table, as Open vSwitch prints it: a named table identical to the
/// previous one is `table N ("name"): ditto` on one line.
fn table_block(s: &mut String, t: &TableStats, v: Version, features_same: bool, stats_same: bool) {
    let _ = write!(s, "\n  table {}", t.table_id);
    if v == Version::V1_0 && !t.name.is_empty() {
        let _ = write!(s, " (\"{}\")", t.name);
    }
    s.push(':');
    if features_same && stats_same {
        s.push_str(" ditto");
        return;
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "    active={}, lookup={}, matched={}",
        t.active_count, t.lookup_count, t.matched_count
    );
    if v == Version::V1_0 {
        if features_same {
            s.push_str("    (same features)\n");
        } else {
            let _ = writeln!(s, "    max_entries={}", t.max_entries);
            let _ = writeln!(
                s,
                "    matching:\n      exact match or wildcard: {}",
                of10_matching(t.wildcards)
            );
        }
    }
}

/// `dump-tables`.
pub fn dump_tables(o: &Opts, target: &str) -> Result<i32> {
    let mut c = Conn::open(target, o.versions)?;
    let v = c.version();
    let Parts::Ok(parts) = dump(&mut c, RequestBody::Table)? else {
        return Ok(1);
    };
    let mut s = String::new();
    let mut prev: Option<TableStats> = None;
    let mut ditto: Option<(u8, u8)> = None;
    let flush = |s: &mut String, d: &mut Option<(u8, u8)>| {
        if let Some((a, b)) = d.take() {
            if a == b {
                let _ = writeln!(s, "\n  table {a}: ditto");
            } else {
                let _ = writeln!(s, "\n  tables {a}...{b}: ditto");
            }
        }
    };
    for (raw, r) in &parts {
        s.push_str(&msg_header("OFPST_TABLE reply", v, raw.header.xid));
        s.push_str(more(r));
        if let ReplyBody::Table(ts) = &r.body {
            for t in ts {
                let same_features = prev.as_ref().is_some_and(|p| {
                    v != Version::V1_0
                        || (p.wildcards == t.wildcards && p.max_entries == t.max_entries)
                });
                let same_stats = prev.as_ref().is_some_and(|p| {
                    p.active_count == t.active_count
                        && p.lookup_count == t.lookup_count
                        && p.matched_count == t.matched_count
                });
                let named = v == Version::V1_0 && !t.name.is_empty();
                if same_stats && same_features && !named {
                    ditto = Some(ditto.map_or((t.table_id, t.table_id), |(a, _)| (a, t.table_id)));
                } else {
                    flush(&mut s, &mut ditto);
                    table_block(&mut s, t, v, same_features, same_stats);
                }
                prev = Some(t.clone());
            }
        }
    }
    flush(&mut s, &mut ditto);
    if !s.ends_with('\n') {
        s.push('\n');
    }
    print!("{s}");
    Ok(0)
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        bail!("packet: trailing garbage in hex data '{s}'");
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| anyhow::anyhow!("packet: invalid hex digits '{}'", &digits[i..i + 2]))
        })
        .collect()
}

/// `packet-out SWITCH "in_port=P packet=HEX actions=A"` (also the old form
/// `packet-out SWITCH IN_PORT ACTIONS PACKET...`).
pub fn packet_out(o: &Opts, target: &str, args: &[String]) -> Result<i32> {
    let (in_port, actions_text, packets): (PortNo, String, Vec<Vec<u8>>) = if args.len() == 1 {
        let s = args[0].as_str();
        let (head, acts) = match s.find("actions=") {
            Some(i) => (&s[..i], s[i + "actions=".len()..].to_string()),
            None => bail!("must specify an action ('actions=' missing in '{s}')"),
        };
        let mut in_port = ports::CONTROLLER;
        let mut packet = None;
        for tok in head
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            match tok.split_once('=') {
                Some(("in_port", v)) => in_port = parse_port(v)?,
                Some(("packet", v)) => packet = Some(parse_hex(v)?),
                Some((k, "")) | Some((k, _)) if k != "in_port" && k != "packet" => {
                    bail!("unknown keyword {k}")
                }
                _ => bail!("field {tok} missing value"),
            }
        }
        let Some(p) = packet else {
            bail!("must specify packet ('packet=' missing in '{s}')");
        };
        (in_port, acts, vec![p])
    } else {
        if args.len() < 3 {
            bail!(
                "'packet-out' needs \"in_port=P packet=HEX actions=A\" or IN_PORT ACTIONS PACKET..."
            );
        }
        let mut pk = Vec::new();
        for p in &args[2..] {
            pk.push(parse_hex(p)?);
        }
        (parse_port(&args[0])?, args[1].clone(), pk)
    };
    if !matches!(
        in_port,
        0..0xff00 | ports::LOCAL | ports::ANY | ports::CONTROLLER
    ) {
        bail!("{in_port} is not a valid OpenFlow port for PACKET_OUT");
    }
    let ins = ofproto::text::parse_actions(&actions_text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut actions = Vec::new();
    for i in ins {
        match i {
            Instruction::ApplyActions(a) => actions.extend(a),
            other => bail!("packet-out takes actions only, not {other:?}"),
        }
    }
    let mut c = Conn::open(target, o.versions)?;
    for data in packets {
        let po = PacketOut {
            buffer_id: ofproto::ofp::messages::NO_BUFFER,
            in_port,
            metadata: ofproto::ofp::Match::new(),
            actions: actions.clone(),
            data,
        };
        c.send(&Message::PacketOut(po))?;
    }
    c.barrier()?;
    if let Some((raw, e)) = c.take_errors().into_iter().next() {
        return Ok(report_error(&raw, &e));
    }
    Ok(0)
}
