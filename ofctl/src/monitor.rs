//! `monitor` and `snoop`: print the messages a switch sends.
//!
//! Contract:
//! * `monitor SWITCH [MISS-LEN]` connects to the management socket; with
//!   MISS-LEN it first sets `miss_send_len` (GET_CONFIG, SET_CONFIG), which
//!   Open vSwitch requires before it sends asynchronous messages (PACKET_IN,
//!   FLOW_REMOVED, PORT_STATUS) to a tool's connection. Then every message
//!   received is printed until the switch closes the connection or the
//!   process is killed. ECHO requests are answered and not printed.
//! * `snoop SWITCH` connects to `<rundir>/<bridge>.snoop` (or the given
//!   socket) and prints every message exchanged between the switch and its
//!   controllers, in any OpenFlow version.
//! * Output: the header line as `ovs-ofctl` prints it
//!   (`OFPT_PACKET_IN (OF1.3) (xid=0x0): ...`). PACKET_IN shows
//!   `ovs-ofctl`'s first line (table, cookie, lengths, port, reason, buffer)
//!   and then the packet in the datapath flow syntax
//!   (`in_port(1),eth(...),eth_type(0x0800),ipv4(...)`) rather than
//!   `ovs-ofctl`'s flow syntax; PORT_STATUS the port as `show` prints it;
//!   FLOW_REMOVED the flow, reason and counters; other messages the header
//!   line only. Each message is flushed as it arrives.

use crate::Opts;
use crate::conn::{Conn, Raw, Reply, rundir};
use anyhow::{Result, bail};
use ofproto::ofp::{Field, Message, MsgType, SwitchConfig, Version, VersionSet};
use ofproto::text::stats::{format_duration, format_port, msg_header, port_name};
use std::fmt::Write as _;
use std::io::Write;

/// The `ovs-ofctl` name of a message type.
fn type_name(t: Option<MsgType>) -> String {
    let Some(t) = t else {
        return "OFPT_UNKNOWN".into();
    };
    let s = format!("{t:?}");
    // CamelCase -> OFPT_UPPER_SNAKE.
    let mut out = String::from("OFPT_");
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    match out.as_str() {
        "OFPT_MULTIPART_REQUEST" => "OFPST_REQUEST".into(),
        "OFPT_MULTIPART_REPLY" => "OFPST_REPLY".into(),
        "OFPT_EXPERIMENTER" => "OFPT_VENDOR".into(),
        _ => out,
    }
}

fn reason_name(r: u8) -> String {
    match r {
        0 => "no_match".into(),
        1 => "action".into(),
        2 => "invalid_ttl".into(),
        3 => "action_set".into(),
        4 => "group".into(),
        5 => "packet_out".into(),
        n => n.to_string(),
    }
}

/// The text of one received message (ends with a newline).
pub fn describe(raw: &Raw) -> String {
    let v = Version::from_wire(raw.header.version).unwrap_or(Version::V1_0);
    let t = MsgType::from_wire(v, raw.header.msg_type);
    let mut s = msg_header(&type_name(t), v, raw.header.xid);
    match Message::decode(&raw.bytes).map(|(_, m)| m) {
        Ok(Message::PacketIn(p)) => {
            if v >= Version::V1_3 {
                let _ = write!(s, " table_id={} cookie={:#x}", p.table_id, p.cookie);
            }
            let in_port = p.match_.exact(Field::InPort).unwrap_or(0) as u32;
            let _ = write!(
                s,
                " total_len={} in_port={} (via {}) data_len={}",
                p.total_len,
                port_name(in_port),
                reason_name(p.reason),
                p.data.len()
            );
            if p.buffer_id == u32::MAX {
                s.push_str(" (unbuffered)");
            } else {
                let _ = write!(s, " buffer={:#010x}", p.buffer_id);
            }
            s.push('\n');
            let key = datapath::flow::extract(&p.data, in_port);
            let _ = writeln!(s, "{}", datapath::flow::format::key(&key));
        }
        Ok(Message::PortStatus(ps)) => {
            let r = match ps.reason {
                0 => "ADD",
                1 => "DEL",
                2 => "MOD",
                _ => "???",
            };
            let _ = write!(s, " {r}:");
            format_port(&mut s, &ps.port, v);
        }
        Ok(Message::FlowRemoved(f)) => {
            let m = ofproto::text::format_match(&ofproto::text::stats::display_match(&f.match_));
            let reason = match f.reason {
                0 => "idle",
                1 => "hard",
                2 => "delete",
                3 => "group_delete",
                4 => "meter_delete",
                5 => "eviction",
                _ => "?",
            };
            let _ = write!(s, " priority={}", f.priority);
            if !m.is_empty() {
                let _ = write!(s, ",{m}");
            }
            let _ = write!(
                s,
                " reason={reason} table_id={} cookie:{:#x} duration",
                f.table_id, f.cookie
            );
            s.push(':');
            format_duration(&mut s, f.duration_sec, f.duration_nsec);
            let _ = writeln!(
                s,
                " idle{} hard{} pkts{} bytes{}",
                f.idle_timeout, f.hard_timeout, f.packet_count, f.byte_count
            );
        }
        _ => s.push('\n'),
    }
    s
}

fn print_forever(c: &mut Conn) -> Result<i32> {
    let mut out = std::io::stdout();
    loop {
        let raw = match c.recv_raw() {
            Ok(r) => r,
            Err(e) if e.to_string().contains("closed by peer") => return Ok(0),
            Err(e) => return Err(e),
        };
        if out.write_all(describe(&raw).as_bytes()).is_err() || out.flush().is_err() {
            return Ok(0);
        }
    }
}

/// `monitor SWITCH [MISS-LEN]`.
pub fn monitor(o: &Opts, target: &str, args: &[String]) -> Result<i32> {
    let mut c = Conn::open(target, o.versions)?;
    for a in args {
        let Ok(miss) = a.parse::<u16>() else {
            bail!(
                "'{a}': monitor takes a miss length (a number); other options are not implemented"
            );
        };
        let flags = match c.transact(&Message::GetConfigRequest)? {
            Reply::Ok(p) => match p.first().map(Raw::decode).transpose()? {
                Some(Message::GetConfigReply(cfg)) => cfg.flags,
                _ => 0,
            },
            Reply::Error(raw, e) => return Ok(crate::switch::report_error(&raw, &e)),
        };
        let set = Message::SetConfig(SwitchConfig {
            flags,
            miss_send_len: miss,
        });
        if let Some((raw, e)) = c.transact_noreply(&set)? {
            return Ok(crate::switch::report_error(&raw, &e));
        }
    }
    print_forever(&mut c)
}

/// `snoop SWITCH`.
pub fn snoop(o: &Opts, target: &str) -> Result<i32> {
    let t = if target.contains(':') || target.contains('/') {
        target.to_string()
    } else {
        format!("unix:{}/{target}.snoop", rundir())
    };
    // Any version: the snoop relays the controller's session as is.
    let _ = o;
    let mut c = Conn::open(&t, VersionSet::of(&Version::ALL))?;
    print_forever(&mut c)
}
