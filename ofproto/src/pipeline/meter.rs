//! Meters: the meter table, `meter_mod` semantics and the token buckets the
//! fast path runs packets through.
//!
//! Contract:
//! * [`MeterTable::meter_mod`] validates before changing anything: meter id
//!   0 or above [`METER_MAX`] is `OFPMMFC_INVALID_METER`, adding an existing
//!   meter `METER_EXISTS`, modifying a missing one `UNKNOWN_METER`, both or
//!   neither of KBPS/PKTPS `BAD_FLAGS`, no band or a zero rate `BAD_RATE`, a
//!   burst size without the BURST flag `BAD_BURST`.
//! * [`Meter::admit`] decides one packet without a lock: every band is a
//!   token bucket in two atomics (tokens, last refill time), refilled at
//!   the band's rate up to its burst (one second's worth without BURST).
//!   The packet exceeds a band when that band's bucket lacks the tokens; the
//!   applicable band is the exceeded band of highest rate, whose action
//!   (drop or DSCP remark) is returned. Concurrent callers may race on a
//!   refill by at most one interval's tokens, never more.
//! * Times are nanoseconds supplied by the caller.

use crate::ofp::error::ErrorKind;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest meter id.
pub const METER_MAX: u32 = 0xffff_0000;
/// "All meters" in a delete.
pub const METER_ALL: u32 = 0xffff_ffff;

/// Meter flags.
pub mod flags {
    /// Rates in kbit/s.
    pub const KBPS: u16 = 1;
    /// Rates in packets/s.
    pub const PKTPS: u16 = 2;
    /// Burst sizes are given.
    pub const BURST: u16 = 4;
    /// Collect statistics.
    pub const STATS: u16 = 8;
}

/// What a band does to a packet over its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandKind {
    /// Drop the packet.
    Drop,
    /// Raise the drop precedence of the DSCP by this many levels.
    DscpRemark {
        /// Levels.
        prec_level: u8,
    },
}

/// A band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// Action.
    pub kind: BandKind,
    /// Rate (kbit/s or packets/s).
    pub rate: u32,
    /// Burst (kbit or packets), with [`flags::BURST`].
    pub burst: u32,
}

/// meter_mod commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterModCommand {
    /// Add.
    Add,
    /// Replace bands and flags.
    Modify,
    /// Delete (or all, with [`METER_ALL`]).
    Delete,
}

/// A meter_mod request (the wire codec does not model METER_MOD yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterMod {
    /// Command.
    pub command: MeterModCommand,
    /// Flags.
    pub flags: u16,
    /// Id.
    pub meter_id: u32,
    /// Bands.
    pub bands: Vec<Band>,
}

/// The verdict on one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Under every band's rate.
    Pass,
    /// Drop.
    Drop,
    /// Pass with the DSCP drop precedence raised by this many levels.
    Remark(u8),
}

#[derive(Debug)]
struct BandState {
    band: Band,
    /// Tokens, in milli-units (bits x 1 for kbps; packets x 1000 for pktps).
    tokens: AtomicU64,
    last_ns: AtomicU64,
    capacity: u64,
    packets: AtomicU64,
    bytes: AtomicU64,
}

/// A meter.
#[derive(Debug)]
pub struct Meter {
    /// Id.
    pub id: u32,
    /// Flags.
    pub flags: u16,
    bands: Vec<BandState>,
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    created_ms: u64,
}

/// Meter statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterStats {
    /// Id.
    pub meter_id: u32,
    /// Flows using the meter.
    pub flow_count: u32,
    /// Packets in.
    pub packet_in_count: u64,
    /// Bytes in.
    pub byte_in_count: u64,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Per band (packets, bytes) over the band's rate.
    pub bands: Vec<(u64, u64)>,
}

impl Meter {
    fn new(mm: &MeterMod, now_ms: u64, now_ns: u64) -> Meter {
        let bands = mm
            .bands
            .iter()
            .map(|b| {
                let size = if mm.flags & flags::BURST != 0 && b.burst != 0 {
                    b.burst
                } else {
                    b.rate
                };
                let capacity = u64::from(size) * 1000;
                BandState {
                    band: *b,
                    tokens: AtomicU64::new(capacity),
                    last_ns: AtomicU64::new(now_ns),
                    capacity,
                    packets: AtomicU64::new(0),
                    bytes: AtomicU64::new(0),
                }
            })
            .collect();
        Meter {
            id: mm.meter_id,
            flags: mm.flags,
            bands,
            packets_in: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            created_ms: now_ms,
        }
    }

    /// The bands.
    pub fn bands(&self) -> impl Iterator<Item = &Band> {
        self.bands.iter().map(|b| &b.band)
    }

    /// Runs one packet of `bytes` bytes through the meter at `now_ns`.
    pub fn admit(&self, now_ns: u64, bytes: u32) -> Verdict {
        self.packets_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(u64::from(bytes), Ordering::Relaxed);
        let cost = if self.flags & flags::PKTPS != 0 {
            1000
        } else {
            u64::from(bytes) * 8
        };
        let mut applied: Option<&BandState> = None;
        for b in &self.bands {
            // Refill: whoever advances `last_ns` adds the tokens of the
            // interval it claimed.
            let last = b.last_ns.load(Ordering::Relaxed);
            if now_ns > last
                && b.last_ns
                    .compare_exchange(last, now_ns, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                let add = (now_ns - last).saturating_mul(u64::from(b.band.rate)) / 1_000_000;
                let _ = b
                    .tokens
                    .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |t| {
                        Some(t.saturating_add(add).min(b.capacity))
                    });
            }
            let took = b
                .tokens
                .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |t| t.checked_sub(cost))
                .is_ok();
            if !took && applied.is_none_or(|a| b.band.rate > a.band.rate) {
                applied = Some(b);
            }
        }
        match applied {
            None => Verdict::Pass,
            Some(b) => {
                b.packets.fetch_add(1, Ordering::Relaxed);
                b.bytes.fetch_add(u64::from(bytes), Ordering::Relaxed);
                match b.band.kind {
                    BandKind::Drop => Verdict::Drop,
                    BandKind::DscpRemark { prec_level } => Verdict::Remark(prec_level),
                }
            }
        }
    }
}

/// The meters of a bridge.
#[derive(Debug, Default)]
pub struct MeterTable {
    meters: BTreeMap<u32, Arc<Meter>>,
}

impl MeterTable {
    /// Every meter, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Meter>> {
        self.meters.values()
    }

    /// Meter `id`.
    pub fn get(&self, id: u32) -> Option<&Arc<Meter>> {
        self.meters.get(&id)
    }

    /// True when meter `id` exists.
    pub fn contains(&self, id: u32) -> bool {
        self.meters.contains_key(&id)
    }

    /// Applies a meter_mod; returns the ids deleted (whose flows the caller
    /// removes).
    pub fn meter_mod(&mut self, mm: &MeterMod, now_ms: u64) -> Result<Vec<u32>, ErrorKind> {
        if mm.command == MeterModCommand::Delete {
            if mm.meter_id == METER_ALL {
                let ids = self.meters.keys().copied().collect();
                self.meters.clear();
                return Ok(ids);
            }
            return Ok(self
                .meters
                .remove(&mm.meter_id)
                .map(|m| m.id)
                .into_iter()
                .collect());
        }
        if mm.meter_id == 0 || mm.meter_id > METER_MAX {
            return Err(ErrorKind::MeterModFailedInvalidMeter);
        }
        let exists = self.meters.contains_key(&mm.meter_id);
        if mm.command == MeterModCommand::Add && exists {
            return Err(ErrorKind::MeterModFailedMeterExists);
        }
        if mm.command == MeterModCommand::Modify && !exists {
            return Err(ErrorKind::MeterModFailedUnknownMeter);
        }
        let unit = mm.flags & (flags::KBPS | flags::PKTPS);
        if unit != flags::KBPS && unit != flags::PKTPS {
            return Err(ErrorKind::MeterModFailedBadFlags);
        }
        if mm.bands.is_empty() || mm.bands.iter().any(|b| b.rate == 0) {
            return Err(ErrorKind::MeterModFailedBadRate);
        }
        if mm.flags & flags::BURST == 0 && mm.bands.iter().any(|b| b.burst != 0) {
            return Err(ErrorKind::MeterModFailedBadBurst);
        }
        self.meters.insert(
            mm.meter_id,
            Arc::new(Meter::new(mm, now_ms, now_ms.saturating_mul(1_000_000))),
        );
        Ok(Vec::new())
    }

    /// Statistics of every meter (`flow_count` from `refs`).
    pub fn stats(&self, now_ms: u64, refs: &dyn Fn(u32) -> u32) -> Vec<MeterStats> {
        self.meters
            .values()
            .map(|m| MeterStats {
                meter_id: m.id,
                flow_count: refs(m.id),
                packet_in_count: m.packets_in.load(Ordering::Relaxed),
                byte_in_count: m.bytes_in.load(Ordering::Relaxed),
                duration_sec: (now_ms.saturating_sub(m.created_ms) / 1000) as u32,
                bands: m
                    .bands
                    .iter()
                    .map(|b| {
                        (
                            b.packets.load(Ordering::Relaxed),
                            b.bytes.load(Ordering::Relaxed),
                        )
                    })
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(flags: u16, kind: BandKind, rate: u32, burst: u32) -> MeterTable {
        let mut t = MeterTable::default();
        t.meter_mod(
            &MeterMod {
                command: MeterModCommand::Add,
                flags,
                meter_id: 1,
                bands: vec![Band { kind, rate, burst }],
            },
            0,
        )
        .unwrap();
        t
    }

    #[test]
    fn pktps_bucket_drops_over_burst_then_refills() {
        let t = meter(flags::PKTPS | flags::BURST, BandKind::Drop, 10, 5);
        let m = t.get(1).unwrap();
        let passed = (0..8).filter(|_| m.admit(0, 100) == Verdict::Pass).count();
        assert_eq!(passed, 5);
        // 100 ms at 10 packets/s: one more packet.
        assert_eq!(m.admit(100_000_000, 100), Verdict::Pass);
        assert_eq!(m.admit(100_000_000, 100), Verdict::Drop);
        let s = t.stats(0, &|_| 0);
        assert_eq!(s[0].packet_in_count, 10);
        assert_eq!(s[0].bands[0].0, 4);
    }

    #[test]
    fn kbps_remark_band() {
        // 8 kbit/s, burst 8 kbit = 1000 bytes.
        let t = meter(
            flags::KBPS | flags::BURST,
            BandKind::DscpRemark { prec_level: 1 },
            8,
            8,
        );
        let m = t.get(1).unwrap();
        assert_eq!(m.admit(0, 1000), Verdict::Pass);
        assert_eq!(m.admit(0, 1000), Verdict::Remark(1));
    }

    #[test]
    fn meter_mod_errors() {
        let mut t = MeterTable::default();
        let mut mm = MeterMod {
            command: MeterModCommand::Add,
            flags: flags::KBPS,
            meter_id: 0,
            bands: vec![Band {
                kind: BandKind::Drop,
                rate: 10,
                burst: 0,
            }],
        };
        assert_eq!(
            t.meter_mod(&mm, 0),
            Err(ErrorKind::MeterModFailedInvalidMeter)
        );
        mm.meter_id = 1;
        mm.flags = flags::KBPS | flags::PKTPS;
        assert_eq!(t.meter_mod(&mm, 0), Err(ErrorKind::MeterModFailedBadFlags));
        mm.flags = flags::KBPS;
        mm.bands[0].burst = 5;
        assert_eq!(t.meter_mod(&mm, 0), Err(ErrorKind::MeterModFailedBadBurst));
        mm.bands[0].burst = 0;
        t.meter_mod(&mm, 0).unwrap();
        assert_eq!(
            t.meter_mod(&mm, 0),
            Err(ErrorKind::MeterModFailedMeterExists)
        );
        mm.command = MeterModCommand::Modify;
        mm.meter_id = 2;
        assert_eq!(
            t.meter_mod(&mm, 0),
            Err(ErrorKind::MeterModFailedUnknownMeter)
        );
    }
}
