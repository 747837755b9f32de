//! Meters in the `ovs-ofctl` syntax: parsing `add-meter`/`mod-meter`/
//! `del-meters` text into a [`MeterMod`], printing meter configurations and
//! statistics as `ovs-ofctl dump-meters` / `meter-stats` do.
//!
//! Contract:
//! * Syntax: `meter=ID|all,[kbps|pktps],[burst],[stats],band=type=drop|
//!   dscp_remark,rate=N[,burst_size=N][,prec_level=N][,band=...]`.
//!   `del-meters`, `dump-meters` and `meter-stats` take `meter=ID|all` or
//!   nothing (all meters).
//! * Errors are [`ParseError`]s quoting the bad token.

use super::stats::format_duration;
use super::{ParseError, err, parse_num};
use crate::ofp::meter::{
    Band, BandKind, METER_ALL, METER_CONTROLLER, METER_MAX, METER_SLOWPATH, MeterConfig, MeterMod,
    MeterModCommand, MeterStats, meter_flags,
};
use core::fmt::Write;

fn parse_id(v: &str) -> Result<u32, ParseError> {
    Ok(match v {
        "all" => METER_ALL,
        "slowpath" => METER_SLOWPATH,
        "controller" => METER_CONTROLLER,
        _ => parse_num(v, u128::from(METER_MAX), "meter")? as u32,
    })
}

/// Parses just `meter=ID` (or nothing: all meters), for the dump and
/// delete commands.
pub fn parse_meter_id(s: &str) -> Result<u32, ParseError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(METER_ALL);
    }
    match s.split_once('=') {
        Some(("meter", v)) => parse_id(v),
        _ => err(format!("unknown keyword '{s}' (expected meter=ID)")),
    }
}

/// Parses meter text for `command`.
pub fn parse_meter(s: &str, command: MeterModCommand) -> Result<MeterMod, ParseError> {
    let (head, bands_text) = match s.find("band=") {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let mut mm = MeterMod {
        command,
        flags: 0,
        meter_id: 0,
        bands: Vec::new(),
    };
    let mut have_id = false;
    for tok in head.split([',', ' ']).filter(|t| !t.is_empty()) {
        match tok.split_once('=') {
            Some(("meter", v)) => {
                mm.meter_id = parse_id(v)?;
                have_id = true;
            }
            None if command != MeterModCommand::Delete => match tok {
                "kbps" => mm.flags |= meter_flags::KBPS,
                "pktps" => mm.flags |= meter_flags::PKTPS,
                "burst" => mm.flags |= meter_flags::BURST,
                "stats" => mm.flags |= meter_flags::STATS,
                _ => return err(format!("unknown meter flag '{tok}'")),
            },
            _ => return err(format!("unknown keyword '{tok}' in meter '{s}'")),
        }
    }
    if !have_id {
        if command == MeterModCommand::Delete {
            mm.meter_id = METER_ALL;
        } else {
            return err(format!("must specify 'meter' ('{s}')"));
        }
    }
    if command == MeterModCommand::Delete {
        if !bands_text.is_empty() {
            return err(format!(
                "bands are not allowed when deleting meters ('{s}')"
            ));
        }
        return Ok(mm);
    }
    if mm.flags & (meter_flags::KBPS | meter_flags::PKTPS) == 0 {
        mm.flags |= meter_flags::KBPS;
    }
    for b in bands_text.split("band=").filter(|b| !b.trim().is_empty()) {
        let mut band = Band {
            kind: BandKind::Drop,
            rate: 0,
            burst_size: 0,
        };
        let mut typed = false;
        let mut prec = None;
        for tok in b.split([',', ' ']).filter(|t| !t.is_empty()) {
            let Some((k, v)) = tok.split_once('=') else {
                return err(format!("band field '{tok}' requires a value"));
            };
            match k {
                "type" => {
                    typed = true;
                    band.kind = match v {
                        "drop" => BandKind::Drop,
                        "dscp_remark" => BandKind::DscpRemark { prec_level: 0 },
                        _ => return err(format!("unknown band type '{v}'")),
                    }
                }
                "rate" => band.rate = parse_num(v, 0xffff_ffff, "rate")? as u32,
                "burst_size" => band.burst_size = parse_num(v, 0xffff_ffff, "burst_size")? as u32,
                "prec_level" => prec = Some(parse_num(v, 0xff, "prec_level")? as u8),
                _ => return err(format!("unknown band field '{k}'")),
            }
        }
        if !typed {
            return err(format!(
                "must specify band type ('band={}')",
                b.trim_end_matches(',')
            ));
        }
        if let (BandKind::DscpRemark { prec_level }, Some(p)) = (&mut band.kind, prec) {
            *prec_level = p;
        }
        mm.bands.push(band);
    }
    Ok(mm)
}

fn meter_id(out: &mut String, id: u32, sep: char) {
    match id {
        METER_SLOWPATH => out.push_str(&format!("meter{sep}slowpath")),
        METER_CONTROLLER => out.push_str(&format!("meter{sep}controller")),
        METER_ALL => out.push_str(&format!("meter{sep}all")),
        n => {
            let _ = write!(out, "meter{sep}{n}");
        }
    }
}

/// One meter configuration (ends with a newline).
pub fn format_meter_config(out: &mut String, m: &MeterConfig) {
    meter_id(out, m.meter_id, '=');
    out.push(' ');
    for (bit, name) in [
        (meter_flags::KBPS, "kbps "),
        (meter_flags::PKTPS, "pktps "),
        (meter_flags::BURST, "burst "),
        (meter_flags::STATS, "stats "),
    ] {
        if m.flags & bit != 0 {
            out.push_str(name);
        }
    }
    let rest = m.flags & !0xf;
    if rest != 0 {
        let _ = write!(out, "flags:{rest:#x} ");
    }
    out.push_str("bands=");
    for b in &m.bands {
        out.push_str("\ntype=");
        match b.kind {
            BandKind::Drop => out.push_str("drop"),
            BandKind::DscpRemark { .. } => out.push_str("dscp_remark"),
            BandKind::Experimenter { .. } => out.push_str("65535"),
        }
        let _ = write!(out, " rate={}", b.rate);
        if m.flags & meter_flags::BURST != 0 {
            let _ = write!(out, " burst_size={}", b.burst_size);
        }
        if let BandKind::DscpRemark { prec_level } = b.kind {
            let _ = write!(out, " prec_level={prec_level}");
        }
    }
    out.push('\n');
}

/// One meter's statistics (ends with a newline).
pub fn format_meter_stats(out: &mut String, m: &MeterStats) {
    meter_id(out, m.meter_id, ':');
    let _ = write!(
        out,
        " flow_count:{} packet_in_count:{} byte_in_count:{} duration:",
        m.flow_count, m.packet_in_count, m.byte_in_count
    );
    format_duration(out, m.duration_sec, m.duration_nsec);
    out.push_str(" bands:\n");
    for (i, (p, b)) in m.bands.iter().enumerate() {
        let _ = writeln!(out, "{i}: packet_count:{p} byte_count:{b}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let m = parse_meter(
            "meter=1,kbps,burst,band=type=drop,rate=1000,burst_size=100",
            MeterModCommand::Add,
        )
        .unwrap();
        let c = MeterConfig {
            flags: m.flags,
            meter_id: m.meter_id,
            bands: m.bands.clone(),
        };
        let mut s = String::new();
        format_meter_config(&mut s, &c);
        assert_eq!(
            s,
            "meter=1 kbps burst bands=\ntype=drop rate=1000 burst_size=100\n"
        );
    }

    #[test]
    fn errors_quote_the_token() {
        let e = parse_meter("meter=1,kbps,band=type=zap,rate=1", MeterModCommand::Add).unwrap_err();
        assert!(e.0.contains("zap"), "{e}");
        let e =
            parse_meter("meter=1,fast,band=type=drop,rate=1", MeterModCommand::Add).unwrap_err();
        assert!(e.0.contains("fast"), "{e}");
        assert_eq!(parse_meter_id("").unwrap(), METER_ALL);
        assert_eq!(parse_meter_id("meter=7").unwrap(), 7);
    }
}
