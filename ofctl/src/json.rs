//! `--format json` for `dump-flows`: one JSON array, one object per flow.
//!
//! Contract: each object has `table`, `priority`, `cookie` (hex string),
//! `match` (the `ovs-ofctl` match text) and `actions` (the actions text);
//! with statistics also `duration` (seconds, float), `n_packets`,
//! `n_bytes`, and `idle_timeout`/`hard_timeout` when nonzero. This format is
//! ours: `ovs-ofctl` 3.1 has no JSON output for flows.

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
