//! Test helpers shared by the pipeline tests: `ovs-ofctl`-style text for
//! flows, groups and meters (with the few actions the text module does not
//! parse yet), packets, and a bridge with ports 1-4 and LOCAL.
#![allow(dead_code)]

use ofproto::bridge::Bridge;
use ofproto::ofp::actions::{Action, FieldRef};
use ofproto::ofp::error::NX_VENDOR_ID;
use ofproto::ofp::instructions::Instruction;
use ofproto::ofp::messages::{FlowMod, FlowModCommand, flow_mod_flags};
use ofproto::ofp::port::ports;
use ofproto::pipeline::group::{Bucket, GroupMod, GroupModCommand, GroupType};
use ofproto::pipeline::meter::{Band, BandKind, MeterMod, MeterModCommand, flags as mflags};
use ofproto::pipeline::normal::VlanMode;
use ofproto::pipeline::xlate::PortInfo;
use ofproto::text::{lookup_field, parse_actions, parse_flow};

pub fn num(s: &str) -> u64 {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad number {s}"))
    } else {
        s.parse().unwrap_or_else(|_| panic!("bad number {s}"))
    }
}

pub fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

pub fn field_ref(s: &str) -> FieldRef {
    // NAME[a..b] / NAME[] / NAME[n]
    let (name, range) = s.split_once('[').expect("field ref");
    let range = range.trim_end_matches(']');
    let f = lookup_field(name).unwrap_or_else(|| panic!("unknown field {name}"));
    let header = ofproto::ofp::oxm::nxm_header(
        f.info()
            .nxm
            .or(f.info().oxm.map(|o| o.0))
            .unwrap_or_else(|| panic!("{name} has no header")),
        false,
        f.info().width,
    );
    let width = u16::from(f.info().width) * 8;
    let (ofs, n_bits) = if range.is_empty() {
        (0, width)
    } else if let Some((a, b)) = range.split_once("..") {
        let (a, b) = (num(a) as u16, num(b) as u16);
        (a, b - a + 1)
    } else {
        (num(range) as u16, 1)
    };
    FieldRef {
        header,
        ofs,
        n_bits,
    }
}

/// Actions the text module does not parse yet.
pub fn fallback_action(tok: &str) -> Option<Action> {
    let (k, v) = match tok.split_once([':', '=']) {
        Some((k, v)) => (k, Some(v)),
        None => (tok, None),
    };
    Some(match (k, v) {
        ("push_mpls", Some(v)) => Action::PushMpls(num(v) as u16),
        ("pop_mpls", Some(v)) => Action::PopMpls(num(v) as u16),
        ("set_mpls_ttl", Some(v)) => Action::SetMplsTtl(num(v) as u8),
        ("dec_mpls_ttl", None) => Action::DecMplsTtl,
        ("mod_nw_ttl", Some(v)) => Action::SetNwTtl(num(v) as u8),
        ("copy_ttl_out", None) => Action::CopyTtlOut,
        ("copy_ttl_in", None) => Action::CopyTtlIn,
        ("push_pbb", Some(v)) => Action::PushPbb(num(v) as u16),
        ("pop_pbb", None) => Action::PopPbb,
        ("exit", None) => Action::Exit,
        ("pop_queue", None) => Action::PopQueue,
        ("set_tunnel", Some(v)) | ("set_tunnel64", Some(v)) => Action::SetTunnel(num(v)),
        ("enqueue", Some(v)) => {
            let (p, q) = v.split_once(':').expect("enqueue:port:queue");
            Action::Enqueue {
                port: num(p) as u32,
                queue: num(q) as u32,
            }
        }
        ("meter_action", Some(v)) => Action::Meter(num(v) as u32),
        ("output", Some(v)) if v.contains('[') => Action::OutputReg {
            src: field_ref(v),
            max_len: 0,
        },
        // Nicira ct (subtype 35), not implemented.
        _ if tok.starts_with("ct(") => Action::Experimenter {
            experimenter: NX_VENDOR_ID,
            data: vec![0, 35, 0, 0, 0, 0],
        },
        _ if tok.starts_with("conjunction(") => {
            let inner = &tok["conjunction(".len()..tok.len() - 1];
            let (id, kn) = inner.split_once(',').expect("conjunction(id,k/n)");
            let (k, n) = kn.split_once('/').expect("conjunction(id,k/n)");
            Action::Conjunction {
                id: num(id) as u32,
                clause: (num(k) as u8).wrapping_sub(1),
                n_clauses: num(n) as u8,
            }
        }
        _ if tok.starts_with("dec_ttl(") => Action::DecTtlIds(
            tok["dec_ttl(".len()..tok.len() - 1]
                .split(',')
                .map(|x| num(x) as u16)
                .collect(),
        ),
        _ if tok.starts_with("controller(") => {
            let mut max_len = u16::MAX;
            let mut controller_id = 0;
            let mut reason = 1;
            for kv in tok["controller(".len()..tok.len() - 1].split(',') {
                match kv.split_once('=') {
                    Some(("max_len", n)) => max_len = num(n) as u16,
                    Some(("id", n)) => controller_id = num(n) as u16,
                    Some(("reason", "no_match")) => reason = 0,
                    Some(("reason", "invalid_ttl")) => reason = 2,
                    _ => {}
                }
            }
            Action::NxController {
                max_len,
                controller_id,
                reason,
            }
        }
        _ => return None,
    })
}

pub fn parse_action_list(s: &str) -> Vec<Action> {
    let mut out = Vec::new();
    for tok in split_top(s) {
        if let Some(a) = fallback_action(&tok) {
            out.push(a);
            continue;
        }
        match parse_actions(&tok) {
            Ok(ins) => {
                for i in ins {
                    match i {
                        Instruction::ApplyActions(a) => out.extend(a),
                        other => panic!("instruction {other:?} in an action list"),
                    }
                }
            }
            Err(e) => panic!("cannot parse action '{tok}': {e}"),
        }
    }
    out
}

pub fn parse_instructions(s: &str) -> Vec<Instruction> {
    let mut apply = Vec::new();
    let mut rest = Vec::new();
    for tok in split_top(s) {
        if let Some(inner) = tok
            .strip_prefix("write_actions(")
            .and_then(|t| t.strip_suffix(')'))
        {
            rest.push(Instruction::WriteActions(parse_action_list(inner)));
        } else if tok == "clear_actions"
            || tok.starts_with("meter:")
            || tok.starts_with("goto_table:")
            || tok.starts_with("write_metadata:")
        {
            rest.extend(parse_actions(&tok).unwrap_or_else(|e| panic!("{tok}: {e}")));
        } else {
            apply.extend(parse_action_list(&tok));
        }
    }
    let mut out = Vec::new();
    if let Some(m) = rest.iter().position(|i| matches!(i, Instruction::Meter(_))) {
        out.push(rest.remove(m));
    }
    if !apply.is_empty() {
        out.push(Instruction::ApplyActions(apply));
    }
    out.extend(rest);
    out
}

/// Parses `ovs-ofctl add-flow` text (plus `send_flow_rem`,
/// `check_overlap`) into an ADD flow_mod.
pub fn flow_mod(s: &str) -> FlowMod {
    let pos = s.find("actions=").expect("actions=");
    let mut head = s[..pos].to_string();
    let mut flags = 0;
    for (word, bit) in [
        ("send_flow_rem", flow_mod_flags::SEND_FLOW_REM),
        ("check_overlap", flow_mod_flags::CHECK_OVERLAP),
        ("reset_counts", flow_mod_flags::RESET_COUNTS),
    ] {
        if head.contains(word) {
            head = head.replace(word, "");
            flags |= bit;
        }
    }
    let f = parse_flow(&format!("{head}actions=drop"))
        .unwrap_or_else(|e| panic!("cannot parse flow '{s}': {e}"));
    let mut fm = FlowMod::new(FlowModCommand::Add);
    fm.table_id = f.table;
    fm.priority = f.priority;
    fm.cookie = f.cookie;
    fm.idle_timeout = f.idle_timeout;
    fm.hard_timeout = f.hard_timeout;
    fm.match_ = f.match_;
    fm.flags = flags;
    fm.instructions = parse_instructions(&s[pos + "actions=".len()..]);
    fm
}

pub fn group_mod(s: &str) -> GroupMod {
    let mut parts = s.split(",bucket=");
    let head = parts.next().unwrap_or_default();
    let mut gm = GroupMod {
        command: GroupModCommand::Add,
        group_type: GroupType::All,
        group_id: 0,
        buckets: Vec::new(),
    };
    for kv in head.split(',') {
        match kv.split_once('=') {
            Some(("group_id", v)) => gm.group_id = num(v) as u32,
            Some(("type", "all")) => gm.group_type = GroupType::All,
            Some(("type", "select")) => gm.group_type = GroupType::Select,
            Some(("type", "indirect")) => gm.group_type = GroupType::Indirect,
            Some(("type", "ff" | "fast_failover")) => gm.group_type = GroupType::FastFailover,
            _ => panic!("bad group field {kv}"),
        }
    }
    for b in parts {
        let mut bucket = Bucket::new(Vec::new());
        let mut acts = Vec::new();
        for tok in split_top(b) {
            if let Some(w) = tok.strip_prefix("weight:") {
                bucket.weight = num(w) as u16;
            } else if let Some(w) = tok.strip_prefix("watch_port:") {
                bucket.watch_port = num(w) as u32;
            } else if let Some(w) = tok.strip_prefix("watch_group:") {
                bucket.watch_group = num(w) as u32;
            } else {
                acts.push(tok);
            }
        }
        bucket.actions = parse_action_list(&acts.join(","));
        gm.buckets.push(bucket);
    }
    gm
}

pub fn meter_mod(s: &str) -> MeterMod {
    let (head, bands) = s.split_once(",band=").unwrap_or((s, ""));
    let mut mm = MeterMod {
        command: MeterModCommand::Add,
        flags: 0,
        meter_id: 0,
        bands: Vec::new(),
    };
    for kv in head.split(',') {
        match kv.split_once('=') {
            Some(("meter", v)) => mm.meter_id = num(v) as u32,
            None if kv == "kbps" => mm.flags |= mflags::KBPS,
            None if kv == "pktps" => mm.flags |= mflags::PKTPS,
            None if kv == "burst" => mm.flags |= mflags::BURST,
            None if kv == "stats" => mm.flags |= mflags::STATS,
            _ => panic!("bad meter field {kv}"),
        }
    }
    for b in bands.split(",band=").filter(|b| !b.is_empty()) {
        let mut band = Band {
            kind: BandKind::Drop,
            rate: 0,
            burst: 0,
        };
        let mut prec = 0;
        for kv in b.split(',') {
            match kv.split_once('=') {
                Some(("type", "drop")) => band.kind = BandKind::Drop,
                Some(("type", "dscp_remark")) => prec = 1,
                Some(("rate", v)) => band.rate = num(v) as u32,
                Some(("burst_size", v)) => band.burst = num(v) as u32,
                Some(("prec_level", v)) => prec = num(v) as u8,
                _ => panic!("bad band field {kv}"),
            }
        }
        if prec != 0 {
            band.kind = BandKind::DscpRemark { prec_level: prec };
        }
        mm.bands.push(band);
    }
    mm
}

pub fn packet_key(s: &str) -> datapath::flow::FlowKey {
    let f = parse_flow(&format!("{s},actions=drop"))
        .unwrap_or_else(|e| panic!("cannot parse packet '{s}': {e}"));
    let (mut k, _) = f.match_.to_flow().expect("packet fields");
    // A received tag has a TPID.
    if k.vlans[0].present() && k.vlans[0].tpid == 0 {
        k.vlans[0].tpid = 0x8100;
    }
    k
}

pub fn mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, p) in s.split(':').enumerate() {
        m[i] = u8::from_str_radix(p, 16).expect("mac");
    }
    m
}

pub fn new_bridge() -> Bridge {
    let mut br = Bridge::new("br0");
    for p in 1..=4u32 {
        br.add_port(PortInfo::new(p, p, &format!("p{p}")));
    }
    br.add_port(PortInfo::new(ports::LOCAL, 100, "br0"));
    br
}

pub fn configure_port(br: &mut Bridge, s: &str) {
    let mut it = s.split_whitespace();
    let p = match it.next().expect("port number") {
        "LOCAL" => ports::LOCAL,
        n => num(n) as u32,
    };
    let port = br.port_mut(p).expect("port exists");
    for kv in it {
        match kv.split_once('=') {
            Some(("tag", v)) => {
                port.vlan.tag = Some(num(v) as u16);
                if port.vlan.mode == VlanMode::Trunk {
                    port.vlan.mode = VlanMode::Access;
                }
            }
            Some(("trunks", v)) => port.vlan.trunks = v.split(',').map(|x| num(x) as u16).collect(),
            Some(("vlan_mode", v)) => {
                port.vlan.mode = match v {
                    "access" => VlanMode::Access,
                    "trunk" => VlanMode::Trunk,
                    "native-tagged" => VlanMode::NativeTagged,
                    "native-untagged" => VlanMode::NativeUntagged,
                    _ => panic!("bad vlan_mode {v}"),
                }
            }
            None if kv == "down" => port.live = false,
            None if kv == "no_flood" => port.no_flood = true,
            None if kv == "no_fwd" => port.no_fwd = true,
            _ => panic!("bad port setting {kv}"),
        }
    }
}
