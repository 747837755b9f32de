//! `--format json` for the dump commands: one JSON document on stdout.
//!
//! Contract: `dump-flows` prints an array, one object per flow; each has `table`, `priority`, `cookie` (hex string),
//! `match` (the `ovs-ofctl` match text) and `actions` (the actions text);
//! with statistics also `duration` (seconds, float), `n_packets`,
//! `n_bytes`, and `idle_timeout`/`hard_timeout` when nonzero.
//! `dump-aggregate` prints one object (`packet_count`, `byte_count`,
//! `flow_count`); `dump-desc` one object; `dump-ports`, `dump-ports-desc`,
//! `dump-groups`, `dump-group-stats`, `dump-meters` and `meter-stats` an
//! array, one object per port/group/meter, with the fields of the text
//! output under their OpenFlow names (counters a switch does not keep are
//! `null`). This format is ours: `ovs-ofctl` 3.1 has no JSON output.

use crate::flows::Dumped;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The flows as a JSON array.
pub fn flows_json(flows: &[Dumped], stats: bool) -> String {
    let mut out = String::from("[");
    for (i, (fs, _)) in flows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"table\":{},\"priority\":{},\"cookie\":{},\"match\":{},\"actions\":{}",
            fs.table_id,
            fs.priority,
            esc(&format!("{:#x}", fs.cookie)),
            esc(&ofproto::text::format_match(&fs.match_)),
            esc(&ofproto::text::format_actions(&fs.instructions)),
        ));
        if fs.idle_timeout != 0 {
            out.push_str(&format!(",\"idle_timeout\":{}", fs.idle_timeout));
        }
        if fs.hard_timeout != 0 {
            out.push_str(&format!(",\"hard_timeout\":{}", fs.hard_timeout));
        }
        if stats {
            out.push_str(&format!(
                ",\"duration\":{}.{:09},\"n_packets\":{},\"n_bytes\":{}",
                fs.duration_sec, fs.duration_nsec, fs.packet_count, fs.byte_count
            ));
        }
        out.push('}');
    }
    out.push(']');
    out
}

use ofproto::ofp::group::{GroupDesc, GroupStats};
use ofproto::ofp::meter::{BandKind, MeterConfig, MeterStats};
use ofproto::ofp::multipart::DescStats;
use ofproto::ofp::{Instruction, Port, PortStats, Version};
use ofproto::text::stats::{format_actions_in, port_name};
use serde_json::{Value, json};

fn counter(v: u64) -> Value {
    if v == u64::MAX { Value::Null } else { json!(v) }
}

fn secs(s: u32, ns: u32) -> Value {
    json!(f64::from(s) + f64::from(ns) / 1e9)
}

/// `dump-desc`.
pub fn desc_json(d: &DescStats) -> String {
    json!({
        "mfr_desc": d.mfr_desc, "hw_desc": d.hw_desc, "sw_desc": d.sw_desc,
        "serial_num": d.serial_num, "dp_desc": d.dp_desc,
    })
    .to_string()
}

/// `dump-ports`.
pub fn port_stats_json(ps: &[PortStats], v: Version) -> String {
    let a: Vec<Value> = ps
        .iter()
        .map(|p| {
            let mut o = json!({
                "port": port_name(p.port_no),
                "rx_packets": counter(p.rx_packets), "tx_packets": counter(p.tx_packets),
                "rx_bytes": counter(p.rx_bytes), "tx_bytes": counter(p.tx_bytes),
                "rx_dropped": counter(p.rx_dropped), "tx_dropped": counter(p.tx_dropped),
                "rx_errors": counter(p.rx_errors), "tx_errors": counter(p.tx_errors),
                "rx_frame_err": counter(p.rx_frame_err), "rx_over_err": counter(p.rx_over_err),
                "rx_crc_err": counter(p.rx_crc_err), "collisions": counter(p.collisions),
            });
            if v >= Version::V1_3 && p.duration_sec != u32::MAX {
                o["duration"] = secs(p.duration_sec, p.duration_nsec);
            }
            o
        })
        .collect();
    Value::Array(a).to_string()
}

/// `dump-ports-desc`.
pub fn port_desc_json(ps: &[Port], v: Version) -> String {
    let a: Vec<Value> = ps
        .iter()
        .map(|p| {
            let h = p.hw_addr;
            let (now, max) = if v == Version::V1_0 {
                (
                    ofproto::text::stats::features_speed_kbps(p.curr),
                    ofproto::text::stats::features_speed_kbps(p.supported),
                )
            } else {
                (p.curr_speed, p.max_speed)
            };
            json!({
                "port": port_name(p.port_no), "name": p.name,
                "hw_addr": format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", h[0], h[1], h[2], h[3], h[4], h[5]),
                "config": p.config, "state": p.state,
                "curr": p.curr, "advertised": p.advertised, "supported": p.supported, "peer": p.peer,
                "curr_speed_kbps": now, "max_speed_kbps": max,
            })
        })
        .collect();
    Value::Array(a).to_string()
}

/// `dump-groups`.
pub fn groups_json(gs: &[GroupDesc], v: Version) -> String {
    let a: Vec<Value> = gs
        .iter()
        .map(|g| {
            let buckets: Vec<Value> = g
                .buckets
                .iter()
                .map(|b| {
                    json!({
                        "bucket_id": b.bucket_id, "weight": b.weight,
                        "watch_port": port_name(b.watch_port), "watch_group": b.watch_group,
                        "actions": format_actions_in(&[Instruction::ApplyActions(b.actions.clone())], v),
                    })
                })
                .collect();
            json!({
                "group_id": g.group_id,
                "type": format!("{:?}", g.group_type).to_ascii_lowercase(),
                "buckets": buckets,
            })
        })
        .collect();
    Value::Array(a).to_string()
}

/// `dump-group-stats`.
pub fn group_stats_json(gs: &[GroupStats]) -> String {
    let a: Vec<Value> = gs
        .iter()
        .map(|g| {
            let b: Vec<Value> = g
                .buckets
                .iter()
                .map(|(p, b)| json!({"packet_count": counter(*p), "byte_count": counter(*b)}))
                .collect();
            json!({
                "group_id": g.group_id, "ref_count": g.ref_count,
                "packet_count": counter(g.packet_count), "byte_count": counter(g.byte_count),
                "duration": secs(g.duration_sec, g.duration_nsec), "buckets": b,
            })
        })
        .collect();
    Value::Array(a).to_string()
}

/// `dump-meters`.
pub fn meters_json(ms: &[MeterConfig]) -> String {
    use ofproto::ofp::meter::meter_flags as f;
    let a: Vec<Value> = ms
        .iter()
        .map(|m| {
            let flags: Vec<&str> = [
                (f::KBPS, "kbps"),
                (f::PKTPS, "pktps"),
                (f::BURST, "burst"),
                (f::STATS, "stats"),
            ]
            .iter()
            .filter(|(b, _)| m.flags & b != 0)
            .map(|(_, n)| *n)
            .collect();
            let bands: Vec<Value> = m
                .bands
                .iter()
                .map(|b| {
                    let (ty, prec) = match b.kind {
                        BandKind::Drop => ("drop", None),
                        BandKind::DscpRemark { prec_level } => ("dscp_remark", Some(prec_level)),
                        BandKind::Experimenter { .. } => ("experimenter", None),
                    };
                    let mut o = json!({"type": ty, "rate": b.rate, "burst_size": b.burst_size});
                    if let Some(p) = prec {
                        o["prec_level"] = json!(p);
                    }
                    o
                })
                .collect();
            json!({"meter_id": m.meter_id, "flags": flags, "bands": bands})
        })
        .collect();
    Value::Array(a).to_string()
}

/// `meter-stats`.
pub fn meter_stats_json(ms: &[MeterStats]) -> String {
    let a: Vec<Value> = ms
        .iter()
        .map(|m| {
            let b: Vec<Value> = m
                .bands
                .iter()
                .map(|(p, b)| json!({"packet_count": counter(*p), "byte_count": counter(*b)}))
                .collect();
            json!({
                "meter_id": m.meter_id, "flow_count": m.flow_count,
                "packet_in_count": counter(m.packet_in_count), "byte_in_count": counter(m.byte_in_count),
                "duration": secs(m.duration_sec, m.duration_nsec), "bands": b,
            })
        })
        .collect();
    Value::Array(a).to_string()
}
