//! The `ofproto/trace` text, laid out as Open vSwitch lays it out:
//!
//! ```text
//! Flow: <the packet's fields, ovs-ofctl syntax>
//!
//! bridge("br0")
//! -------------
//!  0. <match>, priority <p>[, cookie <c>]
//!     <action>
//!     ...
//!
//! Final flow: unchanged | <fields after the pipeline>
//! Megaflow: recirc_id=0,eth,<the megaflow match, ovs-ofctl syntax>
//! Datapath actions: <datapath action syntax, "drop" when empty>
//! ```
//!
//! Nested resubmits and group buckets are indented four columns per level;
//! comments on an action's outcome start with `-> `.

use super::xlate::XlateOutput;
use crate::ofp::matching::Match;
use crate::ofp::oxm::{Field, Value};
use crate::text::format_match;
use datapath::actions::ActionList;
use datapath::flow::key::{FRAG_LATER, Vlan};
use datapath::flow::{FlowKey, FlowMask};

/// The fields worth printing for a packet: every header field its
/// protocols imply, plus nonzero metadata.
fn packet_mask(k: &FlowKey) -> FlowMask {
    let mut m = FlowMask::CATCHALL;
    m.in_port = !0;
    if k.tun_id != 0 {
        m.tun_id = !0;
    }
    if k.metadata != 0 {
        m.metadata = !0;
    }
    for i in 0..16 {
        if k.regs[i] != 0 {
            m.regs[i] = !0;
        }
    }
    if k.pkt_mark != 0 {
        m.pkt_mark = !0;
    }
    m.dl_src = [0xff; 6];
    m.dl_dst = [0xff; 6];
    m.dl_type = !0;
    m.vlans[0] = Vlan { tpid: 0, tci: !0 };
    match k.dl_type {
        0x0800 | 0x86dd => {
            if k.dl_type == 0x0800 {
                m.nw_src = !0;
                m.nw_dst = !0;
            } else {
                m.ipv6_src = [0xff; 16];
                m.ipv6_dst = [0xff; 16];
                m.ipv6_label = 0xfffff;
            }
            m.nw_proto = !0;
            m.nw_tos = !0;
            m.nw_ttl = !0;
            m.nw_frag = !0;
            if k.nw_frag & FRAG_LATER == 0 && matches!(k.nw_proto, 1 | 6 | 17 | 58 | 132) {
                m.tp_src = !0;
                m.tp_dst = !0;
                if k.nw_proto == 6 {
                    m.tcp_flags = !0;
                }
                if k.nw_proto == 58 && matches!(k.tp_src, 135 | 136) {
                    m.nd_target = [0xff; 16];
                    m.arp_sha = [0xff; 6];
                    m.arp_tha = [0xff; 6];
                }
            }
        }
        0x0806 | 0x8035 => {
            m.nw_src = !0;
            m.nw_dst = !0;
            m.arp_op = !0;
            m.arp_sha = [0xff; 6];
            m.arp_tha = [0xff; 6];
        }
        0x8847 | 0x8848 => m.mpls_lse = !0,
        _ => {}
    }
    m
}

/// Open vSwitch names the fragment states (`nw_frag=no|first|later`).
fn frag_names(s: &str) -> String {
    s.split(',')
        .map(|t| match t {
            "ip_frag=0x0" | "ip_frag=0" => "nw_frag=no",
            "ip_frag=0x1" | "ip_frag=1" => "nw_frag=first",
            "ip_frag=0x3" | "ip_frag=3" => "nw_frag=later",
            "ip_frag=0x0/0x1" => "nw_frag=no",
            "ip_frag=0x1/0x1" => "nw_frag=yes",
            "ip_frag=0x0/0x2" => "nw_frag=not_later",
            "ip_frag=0x2/0x2" => "nw_frag=later",
            t => t,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The match for `k` under `m`, with the VLAN as one `vlan_tci` field (as
/// Open vSwitch prints flows) rather than VID and PCP.
fn to_match(k: &FlowKey, m: &FlowMask) -> Match {
    let mut out = Match::from_flow(k, m);
    let tm = m.vlans[0].tci;
    if tm != 0 {
        out.remove(Field::VlanVid);
        out.remove(Field::VlanPcp);
        let mask = (tm != 0xffff).then(|| Value::from_u64(2, tm.into()));
        out.set(
            Field::VlanTci,
            Value::from_u64(2, (k.vlans[0].tci & tm).into()),
            mask,
        );
    }
    // The TOS byte as `nw_tos` (DSCP bits) and `nw_ecn`, as Open vSwitch
    // prints packets.
    if m.nw_tos == 0xff && out.get(Field::IpDscp).is_some() {
        out.remove(Field::IpDscp);
        out.remove(Field::IpEcn);
        out.set(
            Field::NwTos,
            Value::from_u64(1, (k.nw_tos & 0xfc).into()),
            None,
        );
        out.set(
            Field::IpEcn,
            Value::from_u64(1, (k.nw_tos & 3).into()),
            None,
        );
    }
    out
}

/// A packet's fields in `ovs-ofctl` syntax.
pub fn flow_text(k: &FlowKey) -> String {
    frag_names(&format_match(&to_match(k, &packet_mask(k))))
        .split(',')
        .map(|t| {
            if t == "tcp_flags=0x000" {
                "tcp_flags=0"
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A megaflow (key under mask) in `ovs-ofctl` syntax, as the trace's
/// `Megaflow:` line prints it.
pub fn megaflow_text(k: &FlowKey, mask: &FlowMask) -> String {
    let mut m = *mask;
    m.recirc_id = 0;
    let body = frag_names(&format_match(&to_match(k, &m)));
    if body.is_empty() {
        format!("recirc_id={},eth", k.recirc_id)
    } else {
        format!("recirc_id={},eth,{body}", k.recirc_id)
    }
}

/// The whole trace text for `key` translated into `out` on bridge `bridge`.
pub fn trace_text(bridge: &str, key: &FlowKey, out: &XlateOutput) -> String {
    let mut s = format!("Flow: {}\n\n", flow_text(key));
    let title = format!("bridge(\"{bridge}\")");
    s.push_str(&title);
    s.push('\n');
    s.push_str(&"-".repeat(title.len()));
    s.push('\n');
    for l in &out.trace {
        s.push_str(l);
        s.push('\n');
    }
    if let Some(e) = out.error {
        s.push_str(&format!("\nTranslation failed ({e:?}), packet dropped.\n"));
    }
    s.push('\n');
    if out.final_flow == *key {
        s.push_str("Final flow: unchanged\n");
    } else {
        s.push_str(&format!("Final flow: {}\n", flow_text(&out.final_flow)));
    }
    s.push_str(&format!("Megaflow: {}\n", megaflow_text(key, &out.mask)));
    s.push_str(&format!("Datapath actions: {}\n", ActionList(&out.actions)));
    s
}

/// Parses the arguments of `ofproto/trace BRIDGE FLOW [PACKET]` after the
/// bridge name: `flow` in `ovs-ofctl` match syntax (`in_port=1,tcp,...`;
/// unspecified fields are zero), and optionally `packet`, a frame in hex,
/// whose extracted fields replace the flow's packet fields (the flow then
/// supplies `in_port` and metadata). Errors are messages for the appctl
/// reply.
pub fn parse_trace_args(flow: &str, packet: Option<&str>) -> Result<FlowKey, String> {
    let flow = flow.trim();
    let text = if flow.is_empty() {
        "actions=drop".to_string()
    } else {
        format!("{flow},actions=drop")
    };
    let f = crate::text::parse_flow(&text).map_err(|e| e.to_string())?;
    let (mut key, _) = f.match_.to_flow().map_err(|e| e.to_string())?;
    for v in key.vlans.iter_mut() {
        if v.present() && v.tpid == 0 {
            v.tpid = 0x8100;
        }
    }
    if let Some(hex) = packet {
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        if !hex.len().is_multiple_of(2) {
            return Err("packet: odd number of hex digits".into());
        }
        let frame = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| "packet: invalid hex".to_string())?;
        let mut k = datapath::flow::extract(&frame, key.in_port);
        k.tun_id = key.tun_id;
        k.metadata = key.metadata;
        k.regs = key.regs;
        k.pkt_mark = key.pkt_mark;
        key = k;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_args() {
        let k = parse_trace_args("in_port=3,dl_vlan=5,tcp,tp_dst=80", None).unwrap();
        assert_eq!(
            (k.in_port, k.vlans[0].tpid, k.nw_proto, k.tp_dst),
            (3, 0x8100, 6, 80)
        );
        let frame = "000000000002 000000000001 0800 4500001400000000 40010000 0a000001 0a000002";
        let k = parse_trace_args("in_port=2,reg0=7", Some(frame)).unwrap();
        assert_eq!(
            (k.in_port, k.regs[0], k.dl_type, k.nw_dst),
            (2, 7, 0x0800, 0x0a00_0002)
        );
        assert!(parse_trace_args("in_port=1", Some("abc")).is_err());
        assert!(parse_trace_args("bogus_field=1", None).is_err());
        assert_eq!(parse_trace_args("", None).unwrap(), FlowKey::ZERO);
    }
}
