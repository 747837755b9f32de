//! `actions=` syntax: actions and instructions.

use super::fields::{format_value, lookup_field, nxm_name, parse_value, port_from_text, port_name};
use super::{ParseError, err, parse_num, split_top};
use crate::ofp::actions::FieldRef;
use crate::ofp::oxm::nxm_header;
use crate::ofp::port::ports;
use crate::ofp::{Action, Field, Instruction, MatchEntry, Version};

fn field_ref(s: &str) -> Result<FieldRef, ParseError> {
    let bad = || err(format!("invalid field reference '{s}'"));
    let Some((name, rest)) = s.split_once('[') else {
        return bad();
    };
    let Some(range) = rest.strip_suffix(']') else {
        return bad();
    };
    let Some(f) = lookup_field(name) else {
        return err(format!("unknown field '{name}'"));
    };
    let bits = u32::from(f.info().width) * 8;
    let (a, b) = if range.is_empty() {
        (0, bits - 1)
    } else if let Some((a, b)) = range.split_once("..") {
        match (a.parse::<u32>(), b.parse::<u32>()) {
            (Ok(a), Ok(b)) if a <= b => (a, b),
            _ => return bad(),
        }
    } else {
        match range.parse::<u32>() {
            Ok(a) => (a, a),
            _ => return bad(),
        }
    };
    if b >= bits {
        return err(format!(
            "'{s}': ending bit {b} is not valid because field is only {bits} bits wide"
        ));
    }
    Ok(FieldRef {
        header: nxm_header(f.header_for(Version::V1_0), false, f.info().width),
        ofs: a as u16,
        n_bits: (b - a + 1) as u16,
    })
}

fn format_ref(r: &FieldRef) -> String {
    let Some(f) = r.field() else {
        return format!("{:#010x}[]", r.header);
    };
    let bits = u16::from(f.info().width) * 8;
    let range = if r.ofs == 0 && r.n_bits == bits {
        String::new()
    } else if r.n_bits == 1 {
        r.ofs.to_string()
    } else {
        format!("{}..{}", r.ofs, r.ofs + r.n_bits - 1)
    };
    format!("{}[{range}]", nxm_name(f))
}

fn note_bytes(s: &str) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::new();
    for p in s.split('.').filter(|p| !p.is_empty()) {
        if p.len() > 2 {
            return err(format!("invalid note '{s}'"));
        }
        out.push(u8::from_str_radix(p, 16).or_else(|_| err(format!("invalid note '{s}'")))?);
    }
    // On the wire the note follows a 10-byte header, padded to 8 (min 16).
    let total = (10 + out.len()).div_ceil(8).max(2) * 8;
    out.resize(total - 10, 0);
    Ok(out)
}

fn set_field(f: Field, v: &str) -> Result<Action, ParseError> {
    let (value, mask) = parse_value(f, v)?;
    let mask = mask.filter(|m| !m.is_ones());
    Ok(Action::SetField(MatchEntry {
        field: f,
        value: mask.map_or(value, |m| value.and(&m)),
        mask,
    }))
}

fn parse_action(tok: &str, out: &mut Vec<Action>) -> Result<(), ParseError> {
    let (k, v) = match tok.split_once([':', '=']) {
        Some((k, v)) => (k, Some(v)),
        None => (tok, None),
    };
    let need = || match v {
        Some(v) => Ok(v),
        None => err(format!("action '{k}' requires an argument")),
    };
    let port_out = |p| Action::Output {
        port: p,
        max_len: if p == ports::CONTROLLER { 0xffff } else { 0 },
    };
    let a = match k.to_ascii_lowercase().as_str() {
        "drop" => return Ok(()),
        "output" => port_out(port_from_text(need()?).or_else(|_| {
            err(format!(
                "output to unknown port '{}'",
                v.unwrap_or_default()
            ))
        })?),
        "controller" => Action::Output {
            port: ports::CONTROLLER,
            max_len: match v {
                Some(n) => parse_num(n, 0xffff, "controller max_len")? as u16,
                None => 0xffff,
            },
        },
        "normal" | "flood" | "all" | "local" | "in_port" | "table" if v.is_none() => {
            port_out(port_from_text(k)?)
        }
        "mod_vlan_vid" => Action::SetVlanVid(parse_num(need()?, 0xfff, "vlan id")? as u16),
        "mod_vlan_pcp" => Action::SetVlanPcp(parse_num(need()?, 7, "vlan pcp")? as u8),
        "strip_vlan" | "pop_vlan" => Action::PopVlan,
        "push_vlan" => Action::PushVlan(parse_num(need()?, 0xffff, "ethertype")? as u16),
        "dec_ttl" => Action::DecNwTtl,
        "mod_nw_src" => set_field(Field::Ipv4Src, need()?)?,
        "mod_nw_dst" => set_field(Field::Ipv4Dst, need()?)?,
        "mod_dl_src" => set_field(Field::EthSrc, need()?)?,
        "mod_dl_dst" => set_field(Field::EthDst, need()?)?,
        "mod_tp_src" => Action::SetTpSrc(parse_num(need()?, 0xffff, "port")? as u16),
        "mod_tp_dst" => Action::SetTpDst(parse_num(need()?, 0xffff, "port")? as u16),
        "group" => Action::Group(parse_num(need()?, 0xffff_ffff, "group")? as u32),
        "set_queue" => Action::SetQueue(parse_num(need()?, 0xffff_ffff, "queue")? as u32),
        "note" => Action::Note(note_bytes(need()?)?),
        "set_field" => {
            let v = need()?;
            let Some((val, name)) = v.split_once("->") else {
                return err(format!("invalid set_field '{v}'"));
            };
            let Some(f) = lookup_field(name) else {
                return err(format!("unknown field '{name}'"));
            };
            set_field(f, val)?
        }
        "load" => {
            let v = need()?;
            let Some((val, dst)) = v.split_once("->") else {
                return err(format!("invalid load '{v}'"));
            };
            let dst = field_ref(dst)?;
            let max = if dst.n_bits >= 64 {
                u128::from(u64::MAX)
            } else {
                (1u128 << dst.n_bits) - 1
            };
            let value = parse_num(val, max, &format!("{}-bit destination", dst.n_bits))? as u64;
            Action::RegLoad { dst, value }
        }
        "move" => {
            let v = need()?;
            let Some((src, dst)) = v.split_once("->") else {
                return err(format!("invalid move '{v}'"));
            };
            let (src, dst) = (field_ref(src)?, field_ref(dst)?);
            if src.n_bits != dst.n_bits {
                return err(format!(
                    "'{v}': source field is {} bits wide but destination is {} bits wide",
                    src.n_bits, dst.n_bits
                ));
            }
            Action::RegMove { src, dst }
        }
        "resubmit" => Action::Resubmit {
            in_port: port_from_text(need()?)?,
            table: None,
        },
        _ if k.starts_with("resubmit(") && tok.ends_with(')') => {
            let inner = &tok["resubmit(".len()..tok.len() - 1];
            let (p, t) = inner.split_once(',').unwrap_or((inner, ""));
            Action::Resubmit {
                in_port: if p.is_empty() {
                    ports::IN_PORT
                } else {
                    port_from_text(p)?
                },
                table: Some(if t.is_empty() {
                    255
                } else {
                    parse_num(t, 0xff, "table")? as u8
                }),
            }
        }
        _ => match port_from_text(tok) {
            Ok(p) if v.is_none() && tok.bytes().all(|b| b.is_ascii_digit()) => port_out(p),
            _ => return err(format!("unknown action '{tok}'")),
        },
    };
    out.push(a);
    Ok(())
}

/// Parses the text after `actions=` into instructions (apply-actions first,
/// then meter, clear-actions, write-actions, write-metadata, goto-table).
pub fn parse_actions(s: &str) -> Result<Vec<Instruction>, ParseError> {
    let mut apply = Vec::new();
    let mut meter = None;
    let mut clear = false;
    let mut write = None;
    let mut metadata = None;
    let mut goto = None;
    for tok in split_top(s) {
        if let Some(inner) = tok
            .strip_prefix("write_actions(")
            .and_then(|t| t.strip_suffix(')'))
        {
            let mut acts = Vec::new();
            for t in split_top(inner) {
                parse_action(t, &mut acts)?;
            }
            write = Some(acts);
        } else if tok == "clear_actions" {
            clear = true;
        } else if let Some(v) = tok.strip_prefix("meter:") {
            meter = Some(parse_num(v, 0xffff_ffff, "meter")? as u32);
        } else if let Some(v) = tok.strip_prefix("goto_table:") {
            goto = Some(parse_num(v, 0xff, "table")? as u8);
        } else if let Some(v) = tok.strip_prefix("write_metadata:") {
            let (a, m) = v.split_once('/').unwrap_or((v, "0xffffffffffffffff"));
            let max = u128::from(u64::MAX);
            metadata = Some((
                parse_num(a, max, "metadata")? as u64,
                parse_num(m, max, "metadata mask")? as u64,
            ));
        } else {
            parse_action(tok, &mut apply)?;
        }
    }
    let mut out = Vec::new();
    if let Some(m) = meter {
        out.push(Instruction::Meter(m));
    }
    if !apply.is_empty() {
        out.push(Instruction::ApplyActions(apply));
    }
    if clear {
        out.push(Instruction::ClearActions);
    }
    if let Some(w) = write {
        out.push(Instruction::WriteActions(w));
    }
    if let Some((metadata, mask)) = metadata {
        out.push(Instruction::WriteMetadata { metadata, mask });
    }
    if let Some(t) = goto {
        out.push(Instruction::GotoTable(t));
    }
    Ok(out)
}

fn format_action(a: &Action) -> String {
    match a {
        Action::Output { port, max_len } => match *port {
            ports::CONTROLLER => format!("CONTROLLER:{max_len}"),
            p if p >= ports::MAX => port_name(p),
            p => format!("output:{p}"),
        },
        Action::SetField(e) => {
            let v = format_value(e.field, &e.value, e.mask.as_ref());
            match (e.field, e.mask) {
                (Field::EthSrc, None) => format!("mod_dl_src:{v}"),
                (Field::EthDst, None) => format!("mod_dl_dst:{v}"),
                (Field::Ipv4Src, None) => format!("mod_nw_src:{v}"),
                (Field::Ipv4Dst, None) => format!("mod_nw_dst:{v}"),
                (f, _) => format!("set_field:{v}->{}", f.name()),
            }
        }
        Action::RegLoad { dst, value } => format!("load:{value:#x}->{}", format_ref(dst)),
        Action::RegMove { src, dst } => format!("move:{}->{}", format_ref(src), format_ref(dst)),
        Action::Resubmit { in_port, table } => match table {
            None => format!("resubmit:{}", port_name(*in_port)),
            Some(t) => {
                let p = if *in_port == ports::IN_PORT {
                    String::new()
                } else {
                    port_name(*in_port)
                };
                let t = if *t == 255 {
                    String::new()
                } else {
                    t.to_string()
                };
                format!("resubmit({p},{t})")
            }
        },
        Action::DecNwTtl => "dec_ttl".into(),
        Action::SetVlanVid(v) => format!("mod_vlan_vid:{v}"),
        Action::SetVlanPcp(v) => format!("mod_vlan_pcp:{v}"),
        Action::PopVlan => "strip_vlan".into(),
        Action::PushVlan(t) => format!("push_vlan:{t:#06x}"),
        Action::SetTpSrc(p) => format!("mod_tp_src:{p}"),
        Action::SetTpDst(p) => format!("mod_tp_dst:{p}"),
        Action::Group(g) => format!("group:{g}"),
        Action::SetQueue(q) => format!("set_queue:{q}"),
        Action::Meter(m) => format!("meter:{m}"),
        Action::Note(b) => {
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("note:{}", hex.join("."))
        }
        other => format!("{other:?}"),
    }
}

fn join(acts: &[Action]) -> String {
    acts.iter().map(format_action).collect::<Vec<_>>().join(",")
}

/// Formats instructions as the text after `actions=` (`drop` when empty).
pub fn format_actions(ins: &[Instruction]) -> String {
    let mut parts = Vec::new();
    for i in ins {
        match i {
            Instruction::Meter(m) => parts.push(format!("meter:{m}")),
            Instruction::ApplyActions(a) if !a.is_empty() => parts.push(join(a)),
            Instruction::ApplyActions(_) => {}
            Instruction::ClearActions => parts.push("clear_actions".into()),
            Instruction::WriteActions(a) => parts.push(format!("write_actions({})", join(a))),
            Instruction::WriteMetadata { metadata, mask } => parts.push(if *mask == u64::MAX {
                format!("write_metadata:{metadata:#x}")
            } else {
                format!("write_metadata:{metadata:#x}/{mask:#x}")
            }),
            Instruction::GotoTable(t) => parts.push(format!("goto_table:{t}")),
            other => parts.push(format!("{other:?}")),
        }
    }
    if parts.is_empty() {
        "drop".into()
    } else {
        parts.join(",")
    }
}
