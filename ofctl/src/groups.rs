//! Group, meter and port commands: `add-group(s)`, `mod-group`,
//! `del-groups`, `dump-groups`, `dump-group-stats`, `add-meter`,
//! `mod-meter`, `del-meters`, `dump-meters`, `meter-stats`, `dump-ports`,
//! `mod-port`.
//!
//! Contract: group and meter text is parsed by `ofproto::text::{group,
//! meter}` and printed as `ovs-ofctl` 3.1 prints it. Groups and meters need
//! OpenFlow 1.1+ / 1.3+ here (`-O OpenFlow13`): the Nicira group extension
//! `ovs-ofctl` uses with OpenFlow 1.0 is not implemented, and OpenFlow 1.0
//! has no meters, so those are errors naming the option to use. Like
//! `dump-ports-desc`, the group argument of `dump-groups` filters only where
//! the request carries it (1.5).

use crate::Opts;
use crate::conn::Conn;
use crate::flows::send_windowed;
use crate::switch::{Parts, dump, report_error};
use anyhow::{Context, Result, bail};
use ofproto::ofp::group::{GROUP_ALL, GroupModCommand};
use ofproto::ofp::meter::MeterModCommand;
use ofproto::ofp::multipart::ReplyBody;
use ofproto::ofp::{Message, RequestBody, Version};
use ofproto::text::group::{format_group_desc, format_group_stats, parse_group};
use ofproto::text::meter::{format_meter_config, format_meter_stats, parse_meter, parse_meter_id};
use ofproto::text::stats::{format_port_stats, msg_header};

fn need(c: &Conn, min: Version, what: &str) -> Result<()> {
    if c.version() < min {
        bail!(
            "{what} need OpenFlow {} or later; negotiated {} (use -O OpenFlow13)",
            if min == Version::V1_3 { "1.3" } else { "1.1" },
            crate::conn::vname(c.version())
        );
    }
    Ok(())
}

fn read(path: &str) -> Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("{path}: open failed"))
    }
}

/// Which group command a line of a group file or an argument means.
#[derive(Debug, Clone, Copy)]
pub enum GroupCmd {
    /// add-group(s)
    Add,
    /// mod-group
    Modify,
    /// del-groups
    Delete,
}

fn group_command(c: GroupCmd) -> GroupModCommand {
    match c {
        GroupCmd::Add => GroupModCommand::Add,
        GroupCmd::Modify => GroupModCommand::Modify,
        GroupCmd::Delete => GroupModCommand::Delete,
    }
}

/// `add-group`, `mod-group`, `del-groups` (text or `-` for stdin) and
/// `add-groups FILE`.
pub fn group_mod(
    o: &Opts,
    target: &str,
    text: Option<&str>,
    cmd: GroupCmd,
    file: bool,
) -> Result<i32> {
    if o.bundle {
        bail!("--bundle is only implemented for flow commands");
    }
    let Some((pm, tm)) = crate::names::fetch_for_parse(o, target, true)? else {
        return Ok(1);
    };
    let mut mods = Vec::new();
    let lines: Vec<(String, String)> = match (text, file) {
        (Some(t), true) | (Some(t @ "-"), false) => read(t)?
            .lines()
            .enumerate()
            .map(|(i, l)| (format!("{t}:{}", i + 1), l.to_string()))
            .collect(),
        (Some(t), false) => vec![(String::new(), t.to_string())],
        (None, _) => vec![(String::new(), String::new())],
    };
    for (where_, line) in lines {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() && (file || text == Some("-")) {
            continue;
        }
        let mut command = group_command(cmd);
        let mut body = l;
        if let Some((w, rest)) = l.split_once(char::is_whitespace) {
            let c = match w {
                "add" => Some(GroupModCommand::Add),
                "modify" => Some(GroupModCommand::Modify),
                "delete" => Some(GroupModCommand::Delete),
                _ => None,
            };
            if let Some(c) = c {
                command = c;
                body = rest.trim();
            }
        }
        let body = crate::names::accept_names(body, &pm, &tm)?;
        let g = parse_group(&body, command).map_err(|e| {
            if where_.is_empty() {
                anyhow::anyhow!("{e}")
            } else {
                anyhow::anyhow!("{where_}: {e}")
            }
        })?;
        mods.push(Message::GroupMod(g));
    }
    let mut c = Conn::open(target, o.versions)?;
    need(&c, Version::V1_1, "groups")?;
    send_windowed(&mut c, &[], &mods)
}

fn group_id_arg(arg: Option<&str>) -> Result<u32> {
    match arg.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(GROUP_ALL),
        Some(s) => Ok(parse_group(s, GroupModCommand::Delete)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .group_id),
    }
}

/// `dump-groups [GROUP]`.
pub fn dump_groups(o: &Opts, target: &str, arg: Option<&str>) -> Result<i32> {
    let group_id = group_id_arg(arg)?;
    let mut c = Conn::open(target, o.versions)?;
    need(&c, Version::V1_1, "groups")?;
    let v = c.version();
    let Parts::Ok(parts) = dump(&mut c, RequestBody::GroupDesc { group_id })? else {
        return Ok(1);
    };
    if o.json {
        let all: Vec<_> = parts
            .iter()
            .flat_map(|(_, r)| match &r.body {
                ReplyBody::GroupDesc(g) => g.clone(),
                _ => Vec::new(),
            })
            .collect();
        println!("{}", crate::json::groups_json(&all, v));
        return Ok(0);
    }
    let mut s = String::new();
    for (raw, r) in &parts {
        s.push_str(&msg_header("OFPST_GROUP_DESC reply", v, raw.header.xid));
        if r.flags & 1 != 0 {
            s.push_str(" flags=[more]");
        }
        if let ReplyBody::GroupDesc(gs) = &r.body {
            for g in gs {
                s.push_str("\n ");
                format_group_desc(&mut s, g, v);
            }
        }
        s.push('\n');
    }
    print!("{s}");
    Ok(0)
}

/// `dump-group-stats [GROUP]`.
pub fn dump_group_stats(o: &Opts, target: &str, arg: Option<&str>) -> Result<i32> {
    // ovs-ofctl parses the argument with name maps fetched first.
    if crate::names::fetch_for_parse(o, target, true)?.is_none() {
        return Ok(1);
    }
    let group_id = group_id_arg(arg)?;
    let mut c = Conn::open(target, o.versions)?;
    need(&c, Version::V1_1, "groups")?;
    let v = c.version();
    let Parts::Ok(parts) = dump(&mut c, RequestBody::Group { group_id })? else {
        return Ok(1);
    };
    if o.json {
        let all: Vec<_> = parts
            .iter()
            .flat_map(|(_, r)| match &r.body {
                ReplyBody::Group(g) => g.clone(),
                _ => Vec::new(),
            })
            .collect();
        println!("{}", crate::json::group_stats_json(&all));
        return Ok(0);
    }
    let mut s = String::new();
    for (raw, r) in &parts {
        s.push_str(&msg_header("OFPST_GROUP reply", v, raw.header.xid));
        if let ReplyBody::Group(gs) = &r.body {
            for g in gs {
                s.push_str("\n ");
                format_group_stats(&mut s, g);
            }
        }
        s.push('\n');
    }
    print!("{s}");
    Ok(0)
}

/// `add-meter`, `mod-meter`, `del-meters`.
pub fn meter_mod(
    o: &Opts,
    target: &str,
    text: Option<&str>,
    command: MeterModCommand,
) -> Result<i32> {
    if o.bundle {
        bail!("--bundle is only implemented for flow commands");
    }
    let m = parse_meter(text.unwrap_or(""), command).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut c = Conn::open(target, o.versions)?;
    need(&c, Version::V1_3, "meters")?;
    send_windowed(&mut c, &[], &[Message::MeterMod(m)])
}

/// `dump-meters [meter=ID]` (`stats` false) and `meter-stats [meter=ID]`.
pub fn dump_meters(o: &Opts, target: &str, arg: Option<&str>, stats: bool) -> Result<i32> {
    let meter_id = parse_meter_id(arg.unwrap_or("")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut c = Conn::open(target, o.versions)?;
    need(&c, Version::V1_3, "meters")?;
    let v = c.version();
    let body = if stats {
        RequestBody::Meter { meter_id }
    } else {
        RequestBody::MeterConfig { meter_id }
    };
    let Parts::Ok(parts) = dump(&mut c, body)? else {
        return Ok(1);
    };
    if o.json {
        let mut cfg = Vec::new();
        let mut st = Vec::new();
        for (_, r) in &parts {
            match &r.body {
                ReplyBody::MeterConfig(m) => cfg.extend(m.iter().cloned()),
                ReplyBody::Meter(m) => st.extend(m.iter().cloned()),
                _ => {}
            }
        }
        if stats {
            println!("{}", crate::json::meter_stats_json(&st));
        } else {
            println!("{}", crate::json::meters_json(&cfg));
        }
        return Ok(0);
    }
    let mut s = String::new();
    for (raw, r) in &parts {
        let name = if stats {
            "OFPST_METER reply"
        } else {
            "OFPST_METER_CONFIG reply"
        };
        s.push_str(&msg_header(name, v, raw.header.xid));
        s.push('\n');
        let mut first = true;
        match &r.body {
            ReplyBody::MeterConfig(ms) => {
                for m in ms {
                    if !first {
                        s.push('\n');
                    }
                    first = false;
                    format_meter_config(&mut s, m);
                }
            }
            ReplyBody::Meter(ms) => {
                for m in ms {
                    if !first {
                        s.push('\n');
                    }
                    first = false;
                    format_meter_stats(&mut s, m);
                }
            }
            _ => {}
        }
    }
    print!("{s}");
    Ok(0)
}

/// `dump-ports [PORT]`.
pub fn dump_ports(o: &Opts, target: &str, port: Option<&str>) -> Result<i32> {
    let port_no = match port {
        Some(p) => crate::switch::resolve_port(o, target, p)?,
        None => ofproto::ofp::port::ports::ANY,
    };
    let mut c = Conn::open(target, o.versions)?;
    let v = c.version();
    let Parts::Ok(parts) = dump(&mut c, RequestBody::PortStats { port_no })? else {
        return Ok(1);
    };
    if o.json {
        let all: Vec<_> = parts
            .iter()
            .flat_map(|(_, r)| match &r.body {
                ReplyBody::PortStats(p) => p.clone(),
                _ => Vec::new(),
            })
            .collect();
        println!("{}", crate::json::port_stats_json(&all, v));
        return Ok(0);
    }
    let mut s = String::new();
    for (raw, r) in &parts {
        if let ReplyBody::PortStats(ps) = &r.body {
            s.push_str(&msg_header("OFPST_PORT reply", v, raw.header.xid));
            s.push_str(&format!(" {} ports\n", ps.len()));
            for p in ps {
                format_port_stats(&mut s, p, v);
            }
        }
    }
    print!("{s}");
    Ok(0)
}

/// `mod-port PORT ACTION`: `up`, `down`, and `[no-]stp`, `[no-]receive`,
/// `[no-]receive-stp`, `[no-]forward`, `[no-]flood`, `[no-]packet-in`.
pub fn mod_port(o: &Opts, target: &str, port: &str, action: &str) -> Result<i32> {
    const BITS: [(&str, u32); 7] = [
        ("port-down", 1),
        ("stp", 2),
        ("receive", 4),
        ("receive-stp", 8),
        ("flood", 0x10),
        ("forward", 0x20),
        ("packet-in", 0x40),
    ];
    let (bit, set) = match action {
        "up" => (1, false),
        "down" => (1, true),
        a => {
            let (neg, name) = match a.strip_prefix("no-") {
                Some(n) => (true, n),
                None => (false, a),
            };
            let Some((_, bit)) = BITS.iter().find(|(n, _)| *n == name && *n != "port-down") else {
                bail!("unknown mod-port command '{action}'");
            };
            // The config bits are "NO_*": "no-flood" sets NO_FLOOD.
            (*bit, neg)
        }
    };
    let port_no = crate::switch::resolve_port(o, target, port)?;
    let list = crate::names::fetch_port_list(o, target)?;
    let Some(p) = list.iter().find(|p| p.port_no == port_no) else {
        bail!("{target}: couldn't find port `{port}'");
    };
    let pm = ofproto::ofp::PortMod {
        port_no,
        hw_addr: p.hw_addr,
        config: if set { bit } else { 0 },
        mask: bit,
        advertise: 0,
        other_properties: Vec::new(),
    };
    let mut c = Conn::open(target, o.versions)?;
    match c.transact_noreply(&Message::PortMod(pm))? {
        Some((raw, e)) => Ok(report_error(&raw, &e)),
        None => Ok(0),
    }
}
