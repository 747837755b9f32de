//! Conversions between the wire codec's group and meter messages
//! (`ofp::group`, `ofp::meter`) and the pipeline's own requests and
//! statistics (`pipeline::group`, `pipeline::meter`).
//!
//! Contract: a request the pipeline cannot express is refused with the
//! OpenFlow error a controller expects (1.5 bucket insertion/removal:
//! `GROUP_MOD_FAILED/BAD_COMMAND`; experimenter meter bands:
//! `METER_MOD_FAILED/BAD_BAND`); nothing panics.

use crate::bridge::Bridge;
use crate::ofp::error::ErrorKind;
use crate::ofp::group as wg;
use crate::ofp::meter as wm;
use crate::pipeline::group as pg;
use crate::pipeline::meter as pm;

/// The pipeline's group_mod for a decoded GROUP_MOD.
pub fn group_mod(gm: &wg::GroupMod) -> Result<pg::GroupMod, ErrorKind> {
    let command = match gm.command {
        wg::GroupModCommand::Add => pg::GroupModCommand::Add,
        wg::GroupModCommand::Modify => pg::GroupModCommand::Modify,
        wg::GroupModCommand::Delete => pg::GroupModCommand::Delete,
        wg::GroupModCommand::InsertBucket | wg::GroupModCommand::RemoveBucket => {
            return Err(ErrorKind::GroupModFailedBadCommand);
        }
    };
    Ok(pg::GroupMod {
        command,
        group_type: group_type(gm.group_type),
        group_id: gm.group_id,
        buckets: gm
            .buckets
            .iter()
            .map(|b| pg::Bucket {
                weight: b.weight,
                watch_port: b.watch_port,
                watch_group: b.watch_group,
                actions: b.actions.clone(),
            })
            .collect(),
    })
}

fn group_type(t: wg::GroupType) -> pg::GroupType {
    match t {
        wg::GroupType::All => pg::GroupType::All,
        wg::GroupType::Select => pg::GroupType::Select,
        wg::GroupType::Indirect => pg::GroupType::Indirect,
        wg::GroupType::FastFailover => pg::GroupType::FastFailover,
    }
}

fn wire_group_type(t: pg::GroupType) -> wg::GroupType {
    match t {
        pg::GroupType::All => wg::GroupType::All,
        pg::GroupType::Select => wg::GroupType::Select,
        pg::GroupType::Indirect => wg::GroupType::Indirect,
        pg::GroupType::FastFailover => wg::GroupType::FastFailover,
    }
}

/// The pipeline's meter_mod for a decoded METER_MOD.
pub fn meter_mod(mm: &wm::MeterMod) -> Result<pm::MeterMod, ErrorKind> {
    let command = match mm.command {
        wm::MeterModCommand::Add => pm::MeterModCommand::Add,
        wm::MeterModCommand::Modify => pm::MeterModCommand::Modify,
        wm::MeterModCommand::Delete => pm::MeterModCommand::Delete,
    };
    let bands = mm
        .bands
        .iter()
        .map(|b| {
            let kind = match b.kind {
                wm::BandKind::Drop => pm::BandKind::Drop,
                wm::BandKind::DscpRemark { prec_level } => pm::BandKind::DscpRemark { prec_level },
                wm::BandKind::Experimenter { .. } => return Err(ErrorKind::MeterModFailedBadBand),
            };
            Ok(pm::Band {
                kind,
                rate: b.rate,
                burst: b.burst_size,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pm::MeterMod {
        command,
        flags: mm.flags,
        meter_id: mm.meter_id,
        bands,
    })
}

/// GROUP_DESC reply entries for `group_id` (`GROUP_ALL`: every group).
pub fn group_descs(b: &Bridge, group_id: u32) -> Vec<wg::GroupDesc> {
    b.groups()
        .iter()
        .filter(|g| group_id == pg::GROUP_ALL || g.id == group_id)
        .map(|g| wg::GroupDesc {
            group_type: wire_group_type(g.group_type),
            group_id: g.id,
            buckets: g
                .buckets
                .iter()
                .enumerate()
                .map(|(i, bk)| wg::Bucket {
                    bucket_id: i as u32,
                    weight: bk.weight,
                    watch_port: bk.watch_port,
                    watch_group: bk.watch_group,
                    actions: bk.actions.clone(),
                    other_properties: Vec::new(),
                })
                .collect(),
            properties: Vec::new(),
        })
        .collect()
}

/// GROUP stats reply entries for `group_id` (`GROUP_ALL`: every group).
pub fn group_stats(b: &Bridge, group_id: u32, now_ms: u64) -> Vec<wg::GroupStats> {
    b.group_stats(now_ms)
        .into_iter()
        .filter(|s| group_id == pg::GROUP_ALL || s.group_id == group_id)
        .map(|s| wg::GroupStats {
            group_id: s.group_id,
            ref_count: s.ref_count,
            packet_count: s.packet_count,
            byte_count: s.byte_count,
            duration_sec: s.duration_sec,
            duration_nsec: 0,
            buckets: s.buckets,
        })
        .collect()
}

/// METER_CONFIG reply entries for `meter_id` (`METER_ALL`: every meter).
pub fn meter_configs(b: &Bridge, meter_id: u32) -> Vec<wm::MeterConfig> {
    b.meters()
        .iter()
        .filter(|m| meter_id == pm::METER_ALL || m.id == meter_id)
        .map(|m| wm::MeterConfig {
            flags: m.flags,
            meter_id: m.id,
            bands: m
                .bands()
                .map(|band| wm::Band {
                    kind: match band.kind {
                        pm::BandKind::Drop => wm::BandKind::Drop,
                        pm::BandKind::DscpRemark { prec_level } => {
                            wm::BandKind::DscpRemark { prec_level }
                        }
                    },
                    rate: band.rate,
                    burst_size: band.burst,
                })
                .collect(),
        })
        .collect()
}

/// METER stats reply entries for `meter_id` (`METER_ALL`: every meter).
pub fn meter_stats(b: &Bridge, meter_id: u32, now_ms: u64) -> Vec<wm::MeterStats> {
    b.meter_stats(now_ms)
        .into_iter()
        .filter(|s| meter_id == pm::METER_ALL || s.meter_id == meter_id)
        .map(|s| wm::MeterStats {
            meter_id: s.meter_id,
            flow_count: s.flow_count,
            packet_in_count: s.packet_in_count,
            byte_in_count: s.byte_in_count,
            duration_sec: s.duration_sec,
            duration_nsec: 0,
            bands: s.bands,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals() {
        let gm = wg::GroupMod {
            command: wg::GroupModCommand::InsertBucket,
            group_type: wg::GroupType::All,
            group_id: 1,
            command_bucket_id: 0,
            buckets: vec![],
            properties: vec![],
        };
        assert_eq!(group_mod(&gm), Err(ErrorKind::GroupModFailedBadCommand));
        let mm = wm::MeterMod {
            command: wm::MeterModCommand::Add,
            flags: 0,
            meter_id: 1,
            bands: vec![wm::Band {
                kind: wm::BandKind::Experimenter { experimenter: 7 },
                rate: 1,
                burst_size: 0,
            }],
        };
        assert_eq!(meter_mod(&mm), Err(ErrorKind::MeterModFailedBadBand));
    }

    #[test]
    fn a_group_round_trips_through_the_bridge() {
        let mut br = Bridge::new("br");
        let gm = wg::GroupMod {
            command: wg::GroupModCommand::Add,
            group_type: wg::GroupType::Select,
            group_id: 5,
            command_bucket_id: 0,
            buckets: vec![wg::Bucket {
                bucket_id: 0,
                weight: 3,
                watch_port: crate::ofp::port::ports::ANY,
                watch_group: crate::ofp::messages::GROUP_ANY,
                actions: vec![],
                other_properties: vec![],
            }],
            properties: vec![],
        };
        br.group_mod(&group_mod(&gm).unwrap(), 0).unwrap();
        let d = group_descs(&br, pg::GROUP_ALL);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].group_id, 5);
        assert_eq!(d[0].group_type, wg::GroupType::Select);
        assert_eq!(d[0].buckets[0].weight, 3);
        assert_eq!(group_stats(&br, 5, 10).len(), 1);
        assert!(group_stats(&br, 6, 10).is_empty());
    }
}
