//! Groups in the `ovs-ofctl` syntax: parsing `add-group`/`mod-group`/
//! `del-groups` text into a [`GroupMod`], printing group descriptions and
//! group statistics as `ovs-ofctl dump-groups` / `dump-group-stats` do.
//!
//! Contract:
//! * Syntax: `group_id=ID,type=all|select|indirect|ff|fast_failover,
//!   bucket=[bucket_id:N,][weight:N,][watch_port:P,][watch_group:G,]
//!   [actions=]ACTIONS,bucket=...` (one `bucket=` per bucket; keys may also
//!   be written `key=value`). `del-groups` takes `group_id=ID|all` or
//!   nothing (all groups).
//! * A bucket without `bucket_id` gets its position (0, 1, ...).
//! * A bucket's weight defaults to 1 in `select` groups and 0 otherwise; a
//!   weight in a non-select group is an error, as in Open vSwitch.
//! * Errors are [`ParseError`]s quoting the bad token.
//! * Printing follows `ovs-ofctl` 3.1: bucket ids only for OpenFlow 1.5,
//!   weights only when not the default, actions in the reply's version.

use super::stats::{format_actions_in, format_duration, port_name};
use super::{ParseError, err, parse_actions, parse_num};
use crate::ofp::group::{
    Bucket, GROUP_ALL, GroupDesc, GroupMod, GroupModCommand, GroupStats, GroupType,
};
use crate::ofp::messages::GROUP_ANY;
use crate::ofp::port::ports;
use crate::ofp::{Instruction, Version};
use core::fmt::Write;

/// Splits `s` at every top-level `bucket=` (not inside parentheses).
fn split_buckets(s: &str) -> (String, Vec<String>) {
    let mut head = String::new();
    let mut buckets: Vec<String> = Vec::new();
    for tok in super::split_top(s) {
        if let Some(b) = tok.strip_prefix("bucket=") {
            buckets.push(b.to_string());
        } else if let Some(cur) = buckets.last_mut() {
            cur.push(',');
            cur.push_str(tok);
        } else {
            if !head.is_empty() {
                head.push(',');
            }
            head.push_str(tok);
        }
    }
    (head, buckets)
}

fn parse_port(v: &str) -> Result<u32, ParseError> {
    Ok(match v.to_ascii_uppercase().as_str() {
        "LOCAL" => ports::LOCAL,
        "IN_PORT" => ports::IN_PORT,
        "CONTROLLER" => ports::CONTROLLER,
        "ANY" | "NONE" => ports::ANY,
        _ => parse_num(v, 0xffff_ffff, "port")? as u32,
    })
}

fn parse_bucket(text: &str, group_type: GroupType) -> Result<Bucket, ParseError> {
    let mut b = Bucket::new(Vec::new());
    b.weight = u16::from(group_type == GroupType::Select);
    let toks = super::split_top(text);
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let (k, v) = match t.split_once([':', '=']) {
            Some((k, v)) => (k, v),
            None => (t, ""),
        };
        match k {
            "bucket_id" => b.bucket_id = parse_num(v, 0xffff_ff00, "bucket_id")? as u32,
            "weight" => {
                if group_type != GroupType::Select {
                    return err(format!(
                        "only select groups can have bucket weights ('{t}')"
                    ));
                }
                b.weight = parse_num(v, 0xffff, "weight")? as u16
            }
            "watch_port" => b.watch_port = parse_port(v)?,
            "watch_group" => b.watch_group = parse_num(v, 0xffff_ffff, "watch_group")? as u32,
            _ => break,
        }
        i += 1;
    }
    let mut rest = toks[i..].join(",");
    if let Some(r) = rest.strip_prefix("actions=") {
        rest = r.to_string();
    }
    let ins = parse_actions(&rest)?;
    for inst in ins {
        match inst {
            Instruction::ApplyActions(a) => b.actions.extend(a),
            other => {
                return err(format!(
                    "buckets take actions only, not {other:?} ('{text}')"
                ));
            }
        }
    }
    Ok(b)
}

/// Parses group text for `command` (`del-groups` text may be empty).
pub fn parse_group(s: &str, command: GroupModCommand) -> Result<GroupMod, ParseError> {
    let (head, buckets) = split_buckets(s.trim());
    let mut group_id = None;
    let mut group_type = None;
    for tok in super::split_top(&head) {
        let (k, v) = match tok.split_once('=') {
            Some((k, v)) => (k, v),
            None => (tok, ""),
        };
        match k {
            "group_id" => {
                group_id = Some(match v {
                    "all" if command == GroupModCommand::Delete => GROUP_ALL,
                    _ => parse_num(v, 0xffff_ff00, "group_id")? as u32,
                })
            }
            "type" => {
                group_type = Some(match v {
                    "all" => GroupType::All,
                    "select" => GroupType::Select,
                    "indirect" => GroupType::Indirect,
                    "ff" | "fast_failover" => GroupType::FastFailover,
                    _ => return err(format!("invalid group type '{v}'")),
                })
            }
            _ => return err(format!("unknown keyword '{k}' in group '{s}'")),
        }
    }
    let is_del = command == GroupModCommand::Delete;
    let group_id = match (group_id, is_del) {
        (Some(g), _) => g,
        (None, true) => GROUP_ALL,
        (None, false) => return err(format!("must specify a group_id ('{s}')")),
    };
    let group_type = match (group_type, is_del) {
        (Some(t), _) => t,
        (None, true) => GroupType::All,
        (None, false) => return err(format!("must specify a type ('{s}')")),
    };
    if is_del && !buckets.is_empty() {
        return err(format!(
            "buckets are not allowed when deleting groups ('{s}')"
        ));
    }
    let mut g = GroupMod::new(command, group_type, group_id);
    for (i, b) in buckets.iter().enumerate() {
        let mut bucket = parse_bucket(b, group_type)?;
        if !b.contains("bucket_id") {
            // Buckets without an id are numbered by position (1.5 wants
            // distinct ids; earlier versions do not send them).
            bucket.bucket_id = i as u32;
        }
        g.buckets.push(bucket);
    }
    Ok(g)
}

fn type_name(t: GroupType) -> &'static str {
    match t {
        GroupType::All => "all",
        GroupType::Select => "select",
        GroupType::Indirect => "indirect",
        GroupType::FastFailover => "ff",
    }
}

/// One group description (`group_id=1,type=all,bucket=actions=...`).
pub fn format_group_desc(out: &mut String, g: &GroupDesc, version: Version) {
    let _ = write!(
        out,
        "group_id={},type={}",
        g.group_id,
        type_name(g.group_type)
    );
    if g.buckets.is_empty() {
        return;
    }
    out.push(',');
    for b in &g.buckets {
        out.push_str("bucket=");
        if version == Version::V1_0 || version >= Version::V1_5 {
            let _ = write!(out, "bucket_id:{},", b.bucket_id);
        }
        let default_weight = u16::from(g.group_type == GroupType::Select);
        if b.weight != default_weight {
            let _ = write!(out, "weight:{},", b.weight);
        }
        if b.watch_port != ports::ANY {
            let _ = write!(out, "watch_port:{},", port_name(b.watch_port));
        }
        if b.watch_group != GROUP_ANY {
            let _ = write!(out, "watch_group:{},", b.watch_group);
        }
        out.push_str("actions=");
        out.push_str(&format_actions_in(
            &[Instruction::ApplyActions(b.actions.clone())],
            version,
        ));
        out.push(',');
    }
    if out.ends_with(',') {
        out.pop();
    }
}

/// One group's statistics, as `dump-group-stats` prints it.
pub fn format_group_stats(out: &mut String, g: &GroupStats) {
    let _ = write!(out, "group_id={},", g.group_id);
    if g.duration_sec != u32::MAX {
        out.push_str("duration=");
        format_duration(out, g.duration_sec, g.duration_nsec);
        out.push(',');
    }
    let _ = write!(
        out,
        "ref_count={},packet_count={},byte_count={}",
        g.ref_count, g.packet_count, g.byte_count
    );
    for (i, (p, b)) in g.buckets.iter().enumerate() {
        if *p != u64::MAX {
            let _ = write!(out, ",bucket{i}:packet_count={p},byte_count={b}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let g = parse_group(
            "group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=bucket_id:5,weight:20,output:2",
            GroupModCommand::Add,
        )
        .unwrap();
        assert_eq!(g.group_id, 2);
        assert_eq!(g.buckets.len(), 2);
        assert_eq!(g.buckets[1].bucket_id, 5);
        let d = GroupDesc {
            group_type: g.group_type,
            group_id: g.group_id,
            buckets: g.buckets.clone(),
            properties: Vec::new(),
        };
        let mut s = String::new();
        format_group_desc(&mut s, &d, Version::V1_3);
        assert_eq!(
            s,
            "group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=output:2"
        );
    }

    #[test]
    fn errors_quote_the_token() {
        let e = parse_group(
            "group_id=1,type=all,bucket=weight:3,output:1",
            GroupModCommand::Add,
        )
        .unwrap_err();
        assert!(e.0.contains("weight:3"), "{e}");
        let e = parse_group("group_id=1,type=bogus", GroupModCommand::Add).unwrap_err();
        assert!(e.0.contains("bogus"), "{e}");
        let e = parse_group("type=all", GroupModCommand::Add).unwrap_err();
        assert!(e.0.contains("group_id"), "{e}");
        assert_eq!(
            parse_group("", GroupModCommand::Delete).unwrap().group_id,
            GROUP_ALL
        );
    }
}
