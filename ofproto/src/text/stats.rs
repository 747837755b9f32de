//! Printing of switch replies in the text `ovs-ofctl` 3.1 prints: flow
//! statistics, aggregate statistics, port descriptions, switch features,
//! switch configuration and description strings.
//!
//! Contract: every function appends exactly what `ovs-ofctl` prints for the
//! same reply (line breaks included), except that port and table numbers
//! are never replaced by names (there is no name map here). Message header
//! lines (`OFPST_FLOW reply (OF1.3) (xid=0x2):`) come from [`msg_header`].

use super::{DEFAULT_PRIORITY, format_actions, format_match};
use crate::ofp::multipart::{AggregateStats, DescStats, FlowStats};
use crate::ofp::port::ports;
use crate::ofp::{
    Action, FeaturesReply, Field, Instruction, Match, Port, PortNo, SwitchConfig, Version,
};
use core::fmt::Write;

/// The first line's prefix of a printed message: `NAME (OF1.3) (xid=0x2):`
/// (no version tag for OpenFlow 1.0).
pub fn msg_header(name: &str, version: Version, xid: u32) -> String {
    let v = match version {
        Version::V1_0 => "",
        Version::V1_1 => " (OF1.1)",
        Version::V1_2 => " (OF1.2)",
        Version::V1_3 => " (OF1.3)",
        Version::V1_4 => " (OF1.4)",
        Version::V1_5 => " (OF1.5)",
    };
    format!("{name}{v} (xid={xid:#x}):")
}

/// A duration as `ovs-ofctl` prints it: seconds, then `.mmm` when the
/// fraction is a whole number of milliseconds, else as many nanosecond
/// digits as needed; then `s`.
pub fn format_duration(out: &mut String, sec: u32, nsec: u32) {
    let _ = write!(out, "{sec}");
    if nsec > 0 {
        let ms = nsec / 1_000_000;
        if ms * 1_000_000 == nsec {
            let _ = write!(out, ".{ms:03}");
        } else {
            let s = format!("{nsec:09}");
            out.push('.');
            out.push_str(s.trim_end_matches('0'));
        }
    }
    out.push('s');
}

fn stat(out: &mut String, name: &str, v: u64) {
    if v == u64::MAX {
        let _ = write!(out, "{name}=?, ");
    } else {
        let _ = write!(out, "{name}={v}, ");
    }
}

/// The Nicira-only ages of a flow (seconds; `None` when not reported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowAges {
    /// Seconds since the flow last matched a packet.
    pub idle_age: Option<u32>,
    /// Seconds since the flow was last modified.
    pub hard_age: Option<u32>,
}

/// Appends one flow as `ovs-ofctl dump-flows` prints it (without the
/// leading space and the newline). With `show_stats` false it is the
/// `--no-stats` form.
pub fn format_flow_stats(
    out: &mut String,
    fs: &FlowStats,
    ages: FlowAges,
    show_stats: bool,
    version: Version,
) {
    if show_stats || fs.cookie != 0 {
        let _ = write!(out, "cookie={:#x}, ", fs.cookie);
    }
    if show_stats {
        out.push_str("duration=");
        format_duration(out, fs.duration_sec, fs.duration_nsec);
        out.push_str(", ");
    }
    if show_stats || fs.table_id != 0 {
        let _ = write!(out, "table={}, ", fs.table_id);
    }
    if show_stats {
        stat(out, "n_packets", fs.packet_count);
        stat(out, "n_bytes", fs.byte_count);
    }
    if fs.idle_timeout != 0 {
        let _ = write!(out, "idle_timeout={}, ", fs.idle_timeout);
    }
    if fs.hard_timeout != 0 {
        let _ = write!(out, "hard_timeout={}, ", fs.hard_timeout);
    }
    format_flow_mod_flags(out, fs.flags);
    if show_stats {
        if let Some(a) = ages.idle_age {
            let _ = write!(out, "idle_age={a}, ");
        }
        if let Some(a) = ages.hard_age.filter(|a| *a != fs.duration_sec) {
            let _ = write!(out, "hard_age={a}, ");
        }
    }
    let len = out.len();
    if fs.priority != DEFAULT_PRIORITY {
        let _ = write!(out, "priority={}", fs.priority);
    }
    let needs = [
        Field::PacketType,
        Field::IpDscp,
        Field::VlanVid,
        Field::VlanPcp,
    ]
    .iter()
    .any(|f| fs.match_.get(*f).is_some());
    let m = if needs {
        format_match(&display_match(&fs.match_))
    } else {
        format_match(&fs.match_)
    };
    if !m.is_empty() {
        if out.len() != len {
            out.push(',');
        }
        out.push_str(&m);
    }
    if out.len() != len {
        out.push(' ');
    }
    out.push_str("actions=");
    out.push_str(&format_actions_in(&fs.instructions, version));
}

/// The match as Open vSwitch displays it: `packet_type=0` (Ethernet, the
/// default) is not shown and an OXM `ip_dscp` shows as `nw_tos` (DSCP << 2).
pub fn display_match(m: &Match) -> Match {
    let mut mm = m.clone();
    if mm.exact(Field::PacketType) == Some(0) {
        mm.remove(Field::PacketType);
    }
    // OXM VLAN fields show as Open vSwitch's 802.1Q TCI (`dl_vlan=5`, ...).
    let vid = mm
        .get(Field::VlanVid)
        .map(|e| (e.value.to_u64(), e.mask_or_ones().to_u64()));
    let pcp = mm.exact(Field::VlanPcp);
    if vid.is_some() || pcp.is_some() {
        let (mut v, mut mk) = vid.map_or((0, 0), |(v, m)| (v & 0x1fff, m & 0x1fff));
        if let Some(p) = pcp {
            v |= (p << 13) | 0x1000;
            mk |= 0xf000;
        }
        mm.remove(Field::VlanVid);
        mm.remove(Field::VlanPcp);
        mm.set_masked_u64(Field::VlanTci, v, mk);
    }
    if let Some(d) = mm.exact(Field::IpDscp) {
        mm.remove(Field::IpDscp);
        mm.set_u64(Field::NwTos, (d << 2) & 0xfc);
    }
    mm
}

/// The name Open vSwitch prints for a field in `set_field` (its meta-flow
/// name, which differs from the OXM-style name for some fields).
pub fn ovs_field_name(f: Field) -> &'static str {
    match f.name() {
        "ip_ecn" => "nw_ecn",
        "ip_proto" => "nw_proto",
        "ipv4_src" => "ip_src",
        "ipv4_dst" => "ip_dst",
        "icmpv4_type" => "icmp_type",
        "icmpv4_code" => "icmp_code",
        "ipv6_flabel" => "ipv6_label",
        "ipv6_nd_target" => "nd_target",
        "ipv6_nd_sll" => "nd_sll",
        "ipv6_nd_tll" => "nd_tll",
        "tunnel_id" => "tun_id",
        "ip_frag" => "nw_frag",
        "nxm_in_port" => "in_port",
        n => n,
    }
}

/// Actions as `ovs-ofctl` prints them for a reply in `version`: OpenFlow
/// 1.0 has the `mod_*` / `strip_vlan` actions; from 1.1 on, the same effects
/// are `set_field:V->FIELD` / `pop_vlan` on the wire and print that way.
pub fn format_actions_in(ins: &[Instruction], version: Version) -> String {
    if version == Version::V1_0 {
        return format_actions(ins);
    }
    let one = |a: &Action| -> String {
        match a {
            Action::SetField(e) if e.mask.is_none() => {
                // Open vSwitch formats the VLAN fields in decimal.
                let v = match e.field {
                    Field::VlanVid | Field::VlanPcp => e.value.to_u64().to_string(),
                    f => super::fields::format_value(f, &e.value, None),
                };
                format!("set_field:{v}->{}", ovs_field_name(e.field))
            }
            Action::PopVlan => "pop_vlan".into(),
            other => format_actions(&[Instruction::ApplyActions(vec![other.clone()])]),
        }
    };
    let list = |acts: &[Action]| acts.iter().map(one).collect::<Vec<_>>().join(",");
    let mut parts = Vec::new();
    for i in ins {
        match i {
            Instruction::ApplyActions(a) if a.is_empty() => {}
            Instruction::ApplyActions(a) => parts.push(list(a)),
            Instruction::WriteActions(a) => parts.push(format!("write_actions({})", list(a))),
            other => parts.push(format_actions(std::slice::from_ref(other))),
        }
    }
    if parts.is_empty() {
        "drop".into()
    } else {
        parts.join(",")
    }
}

/// Flow-mod flags as words followed by a space each (`send_flow_rem
/// check_overlap `).
pub fn format_flow_mod_flags(out: &mut String, flags: u16) {
    const NAMES: [(u16, &str); 5] = [
        (1 << 0, "send_flow_rem"),
        (1 << 1, "check_overlap"),
        (1 << 2, "reset_counts"),
        (1 << 3, "no_packet_counts"),
        (1 << 4, "no_byte_counts"),
    ];
    for (bit, name) in NAMES {
        if flags & bit != 0 {
            out.push_str(name);
            out.push(' ');
        }
    }
}

/// ` packet_count=N byte_count=N flow_count=N` (after the header line's
/// colon, on the same line).
pub fn format_aggregate(out: &mut String, a: &AggregateStats) {
    let _ = writeln!(
        out,
        " packet_count={} byte_count={} flow_count={}",
        a.packet_count, a.byte_count, a.flow_count
    );
}

/// The description reply body (starts with a newline after the header).
pub fn format_desc(out: &mut String, d: &DescStats) {
    let _ = write!(
        out,
        "\nManufacturer: {}\nHardware: {}\nSoftware: {}\nSerial Num: {}\nDP Description: {}\n",
        d.mfr_desc, d.hw_desc, d.sw_desc, d.serial_num, d.dp_desc
    );
}

/// A port number: the reserved names (`LOCAL`, `CONTROLLER`, ...) or the
/// number.
pub fn port_name(p: PortNo) -> String {
    match p {
        ports::IN_PORT => "IN_PORT".into(),
        ports::TABLE => "TABLE".into(),
        ports::NORMAL => "NORMAL".into(),
        ports::FLOOD => "FLOOD".into(),
        ports::ALL => "ALL".into(),
        ports::CONTROLLER => "CONTROLLER".into(),
        ports::LOCAL => "LOCAL".into(),
        ports::ANY => "ANY".into(),
        n => n.to_string(),
    }
}

fn bit_names(out: &mut String, bits: u32, name: impl Fn(u32) -> Option<&'static str>) {
    if bits == 0 {
        out.push('0');
        return;
    }
    let mut rest = bits;
    let mut n = 0;
    for i in 0..32 {
        let bit = 1u32 << i;
        if bits & bit != 0
            && let Some(s) = name(bit)
        {
            if n > 0 {
                out.push(' ');
            }
            n += 1;
            out.push_str(s);
            rest &= !bit;
        }
    }
    if rest != 0 {
        if n > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{rest:#x}");
    }
}

fn feature_name(bit: u32) -> Option<&'static str> {
    Some(match bit.trailing_zeros() {
        0 => "10MB-HD",
        1 => "10MB-FD",
        2 => "100MB-HD",
        3 => "100MB-FD",
        4 => "1GB-HD",
        5 => "1GB-FD",
        6 => "10GB-FD",
        7 => "40GB-FD",
        8 => "100GB-FD",
        9 => "1TB-FD",
        10 => "OTHER",
        11 => "COPPER",
        12 => "FIBER",
        13 => "AUTO_NEG",
        14 => "AUTO_PAUSE",
        15 => "AUTO_PAUSE_ASYM",
        _ => return None,
    })
}

/// The speed in kb/s implied by the fastest speed bit of `features` (how
/// OpenFlow 1.0 ports get a speed).
pub fn features_speed_kbps(features: u32) -> u32 {
    const SPEEDS: [(u32, u32); 10] = [
        (9, 1_000_000_000),
        (8, 100_000_000),
        (7, 40_000_000),
        (6, 10_000_000),
        (5, 1_000_000),
        (4, 1_000_000),
        (3, 100_000),
        (2, 100_000),
        (1, 10_000),
        (0, 10_000),
    ];
    SPEEDS
        .iter()
        .find(|(b, _)| features & (1 << b) != 0)
        .map_or(0, |(_, s)| *s)
}

/// One port description, as in `show` and `dump-ports-desc` (several
/// lines, each ending with a newline). `version` decides the meaning of the
/// state bits and where the speed comes from.
pub fn format_port(out: &mut String, p: &Port, version: Version) {
    let name: String = p
        .name
        .chars()
        .take_while(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    let h = p.hw_addr;
    let _ = writeln!(
        out,
        " {}({name}): addr:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        port_name(p.port_no),
        h[0],
        h[1],
        h[2],
        h[3],
        h[4],
        h[5]
    );
    out.push_str("     config:     ");
    bit_names(out, p.config, |b| {
        Some(match b {
            1 => "PORT_DOWN",
            2 => "NO_STP",
            4 => "NO_RECV",
            8 => "NO_RECV_STP",
            0x10 => "NO_FLOOD",
            0x20 => "NO_FWD",
            0x40 => "NO_PACKET_IN",
            _ => return None,
        })
    });
    out.push('\n');
    out.push_str("     state:      ");
    let mut state = p.state;
    if version == Version::V1_0 {
        // 1.0: bit 0 LINK_DOWN, bits 8-9 the STP state (LISTEN = 0 is not
        // printed).
        let stp = state & 0x300;
        state &= !0x300;
        let stp_name = match stp {
            0x100 => Some("STP_LEARN"),
            0x200 => Some("STP_FORWARD"),
            0x300 => Some("STP_BLOCK"),
            _ => None,
        };
        if let Some(s) = stp_name {
            out.push_str(s);
            if state != 0 {
                out.push(' ');
                bit_names(out, state, |b| (b == 1).then_some("LINK_DOWN"));
            }
        } else {
            bit_names(out, state, |b| (b == 1).then_some("LINK_DOWN"));
        }
    } else {
        bit_names(out, state, |b| {
            Some(match b {
                1 => "LINK_DOWN",
                2 => "BLOCKED",
                4 => "LIVE",
                _ => return None,
            })
        });
    }
    out.push('\n');
    for (label, f) in [
        ("current:    ", p.curr),
        ("advertised: ", p.advertised),
        ("supported:  ", p.supported),
        ("peer:       ", p.peer),
    ] {
        if f != 0 {
            out.push_str("     ");
            out.push_str(label);
            bit_names(out, f, feature_name);
            out.push('\n');
        }
    }
    let (now, max) = if version == Version::V1_0 {
        (
            features_speed_kbps(p.curr),
            features_speed_kbps(p.supported),
        )
    } else {
        (p.curr_speed, p.max_speed)
    };
    let _ = writeln!(
        out,
        "     speed: {} Mbps now, {} Mbps max",
        now / 1000,
        max / 1000
    );
}

/// One port's counters as `dump-ports` prints them (three lines with the
/// duration from OpenFlow 1.3 on). Unknown counters (all ones) print `?`.
pub fn format_port_stats(out: &mut String, p: &crate::ofp::PortStats, version: Version) {
    let c = |out: &mut String, name: &str, v: u64, last: bool| {
        out.push_str(name);
        if v == u64::MAX {
            out.push('?');
        } else {
            let _ = write!(out, "{v}");
        }
        out.push_str(if last { "\n" } else { ", " });
    };
    out.push_str("  port ");
    if p.port_no < 10 {
        out.push(' ');
    }
    out.push_str(&port_name(p.port_no));
    out.push_str(": rx ");
    c(out, "pkts=", p.rx_packets, false);
    c(out, "bytes=", p.rx_bytes, false);
    c(out, "drop=", p.rx_dropped, false);
    c(out, "errs=", p.rx_errors, false);
    c(out, "frame=", p.rx_frame_err, false);
    c(out, "over=", p.rx_over_err, false);
    c(out, "crc=", p.rx_crc_err, true);
    out.push_str("           tx ");
    c(out, "pkts=", p.tx_packets, false);
    c(out, "bytes=", p.tx_bytes, false);
    c(out, "drop=", p.tx_dropped, false);
    c(out, "errs=", p.tx_errors, false);
    c(out, "coll=", p.collisions, true);
    if version >= Version::V1_3 && p.duration_sec != u32::MAX {
        out.push_str("           duration=");
        format_duration(out, p.duration_sec, p.duration_nsec);
        out.push('\n');
    }
}

/// Ports sorted by number as `ovs-ofctl` prints them (`LOCAL` last).
pub fn sort_ports(ports: &mut [Port]) {
    ports.sort_by_key(|p| p.port_no);
}

/// The FEATURES_REPLY body after the header (` dpid:...` onwards), without
/// the ports.
pub fn format_features(out: &mut String, f: &FeaturesReply, version: Version) {
    let _ = writeln!(out, " dpid:{:016x}", f.datapath_id);
    let _ = write!(out, "n_tables:{}, n_buffers:{}", f.n_tables, f.n_buffers);
    if f.auxiliary_id != 0 {
        let _ = write!(out, ", auxiliary_id:{}", f.auxiliary_id);
    }
    out.push('\n');
    out.push_str("capabilities: ");
    let v10 = version == Version::V1_0;
    bit_names(out, f.capabilities, |b| {
        Some(match (b, v10) {
            (1, _) => "FLOW_STATS",
            (2, _) => "TABLE_STATS",
            (4, _) => "PORT_STATS",
            (8, true) => "STP",
            (8, false) => "GROUP_STATS",
            (0x20, _) => "IP_REASM",
            (0x40, _) => "QUEUE_STATS",
            (0x80, true) => "ARP_MATCH_IP",
            (0x100, false) => "PORT_BLOCKED",
            _ => return None,
        })
    });
    out.push('\n');
    if v10 {
        // OpenFlow 1.0 action bits, printed in Open vSwitch's action order.
        const ACTS: [(u32, &str); 12] = [
            (0, "output"),
            (11, "enqueue"),
            (1, "set_vlan_vid"),
            (2, "set_vlan_pcp"),
            (3, "strip_vlan"),
            (4, "mod_dl_src"),
            (5, "mod_dl_dst"),
            (6, "mod_nw_src"),
            (7, "mod_nw_dst"),
            (8, "mod_nw_tos"),
            (9, "mod_tp_src"),
            (10, "mod_tp_dst"),
        ];
        let names: Vec<&str> = ACTS
            .iter()
            .filter(|(b, _)| f.actions & (1 << b) != 0)
            .map(|(_, n)| *n)
            .collect();
        let _ = writeln!(out, "actions: {}", names.join(" "));
    }
}

/// The GET_CONFIG_REPLY body (` frags=normal miss_send_len=0`).
pub fn format_switch_config(out: &mut String, c: &SwitchConfig) {
    let frags = match c.flags & 3 {
        0 => "normal",
        1 => "drop",
        2 => "reassemble",
        _ => "nx-match",
    };
    let _ = write!(out, " frags={frags}");
    if c.flags & 4 != 0 {
        out.push_str(" invalid_ttl_to_controller");
    }
    let _ = writeln!(out, " miss_send_len={}", c.miss_send_len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let f = |s, n| {
            let mut o = String::new();
            format_duration(&mut o, s, n);
            o
        };
        assert_eq!(f(3, 0), "3s");
        assert_eq!(f(0, 27_000_000), "0.027s");
        assert_eq!(f(1, 123_400_000), "1.1234s");
        assert_eq!(f(1, 5), "1.000000005s");
    }

    #[test]
    fn flow_line_like_ovs_ofctl() {
        let fs = FlowStats {
            table_id: 0,
            duration_sec: 0,
            duration_nsec: 352_000_000,
            priority: 0,
            idle_timeout: 0,
            hard_timeout: 0,
            flags: 0,
            cookie: 0,
            packet_count: 0,
            byte_count: 0,
            match_: Match::new(),
            instructions: vec![crate::ofp::Instruction::ApplyActions(vec![
                crate::ofp::Action::Output {
                    port: ports::NORMAL,
                    max_len: 0,
                },
            ])],
        };
        let mut s = String::new();
        format_flow_stats(
            &mut s,
            &fs,
            FlowAges {
                idle_age: Some(0),
                hard_age: Some(0),
            },
            true,
            Version::V1_0,
        );
        assert_eq!(
            s,
            "cookie=0x0, duration=0.352s, table=0, n_packets=0, n_bytes=0, idle_age=0, priority=0 actions=NORMAL"
        );
        let mut s = String::new();
        format_flow_stats(&mut s, &fs, FlowAges::default(), false, Version::V1_3);
        assert_eq!(s, "priority=0 actions=NORMAL");
    }

    #[test]
    fn port_lines() {
        let p = Port {
            port_no: ports::LOCAL,
            hw_addr: [0xd6, 0xf3, 0x21, 0x4f, 0xb7, 0x45],
            name: "brp0".into(),
            config: 1,
            state: 1,
            curr: (1 << 6) | (1 << 11),
            ..Port::default()
        };
        let mut s = String::new();
        format_port(&mut s, &p, Version::V1_0);
        assert_eq!(
            s,
            " LOCAL(brp0): addr:d6:f3:21:4f:b7:45\n     config:     PORT_DOWN\n     state:      LINK_DOWN\n     current:    10GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max\n"
        );
    }
}
