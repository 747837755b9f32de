//! Meters: METER_MOD and the meter multipart bodies (METER stats,
//! METER_CONFIG, METER_FEATURES), OpenFlow 1.3 to 1.5 (same layout in all
//! three).
//!
//! Contract:
//! * A [`Band`] is `drop`, `dscp_remark` or an experimenter band; each is
//!   16 bytes on the wire. A band with another length, or a length past the
//!   end, is `MeterModFailedBadBand`; an unknown band type is also
//!   `MeterModFailedBadBand`; an unknown command `MeterModFailedBadCommand`.
//!   A truncated fixed part is `BadRequestBadLen`. Nothing panics.
//! * Meters do not exist in OpenFlow 1.0: encoding there is `NotInVersion`.

use super::Version;
use super::error::{EncodeError, ErrorKind};
use super::wire::{Put, Reader};

/// Meter id of the last meter.
pub const METER_MAX: u32 = 0xffff_0000;
/// The slow-path meter (Open vSwitch).
pub const METER_SLOWPATH: u32 = 0xffff_fffd;
/// The controller meter.
pub const METER_CONTROLLER: u32 = 0xffff_fffe;
/// All meters (delete, stats requests).
pub const METER_ALL: u32 = 0xffff_ffff;

/// Meter flag bits (`OFPMF_*`).
pub mod meter_flags {
    /// Rate in kb/s.
    pub const KBPS: u16 = 1 << 0;
    /// Rate in packets/s.
    pub const PKTPS: u16 = 1 << 1;
    /// Use the burst size.
    pub const BURST: u16 = 1 << 2;
    /// Collect statistics.
    pub const STATS: u16 = 1 << 3;
}

/// METER_MOD command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeterModCommand {
    /// Add a meter.
    Add,
    /// Modify a meter.
    Modify,
    /// Delete a meter (or all, with [`METER_ALL`]).
    Delete,
}

/// What a band does when the rate is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BandKind {
    /// Drop the packet.
    Drop,
    /// Increase the drop precedence of the DSCP by `prec_level`.
    DscpRemark {
        /// Levels to add.
        prec_level: u8,
    },
    /// An experimenter band.
    Experimenter {
        /// Experimenter id.
        experimenter: u32,
    },
}

/// A meter band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Band {
    /// Action.
    pub kind: BandKind,
    /// Rate (units from the meter's flags).
    pub rate: u32,
    /// Burst size (with the BURST flag).
    pub burst_size: u32,
}

impl Band {
    fn decode(r: &mut Reader<'_>) -> Result<Band, ErrorKind> {
        let bad = ErrorKind::MeterModFailedBadBand;
        let ty = r.peek_u16(0).map_err(|_| bad)?;
        let len = usize::from(r.peek_u16(2).map_err(|_| bad)?);
        if len != 16 || len > r.remaining() {
            return Err(bad);
        }
        let mut b = r.sub(16, bad)?;
        b.skip(4)?;
        let rate = b.u32()?;
        let burst_size = b.u32()?;
        let kind = match ty {
            1 => BandKind::Drop,
            2 => BandKind::DscpRemark {
                prec_level: b.u8()?,
            },
            0xffff => BandKind::Experimenter {
                experimenter: b.u32()?,
            },
            _ => return Err(bad),
        };
        Ok(Band {
            kind,
            rate,
            burst_size,
        })
    }

    fn encode(&self, w: &mut Vec<u8>) {
        let ty = match self.kind {
            BandKind::Drop => 1,
            BandKind::DscpRemark { .. } => 2,
            BandKind::Experimenter { .. } => 0xffff,
        };
        w.put_u16(ty);
        w.put_u16(16);
        w.put_u32(self.rate);
        w.put_u32(self.burst_size);
        match self.kind {
            BandKind::Drop => w.put_u32(0),
            BandKind::DscpRemark { prec_level } => {
                w.put_u8(prec_level);
                w.put_zeros(3);
            }
            BandKind::Experimenter { experimenter } => w.put_u32(experimenter),
        }
    }
}

fn decode_bands(r: &mut Reader<'_>) -> Result<Vec<Band>, ErrorKind> {
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(Band::decode(r)?);
    }
    Ok(v)
}

/// METER_MOD body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterMod {
    /// Command.
    pub command: MeterModCommand,
    /// [`meter_flags`].
    pub flags: u16,
    /// Meter id.
    pub meter_id: u32,
    /// Bands.
    pub bands: Vec<Band>,
}

fn no_meters(version: Version) -> Result<(), EncodeError> {
    if version == Version::V1_0 {
        Err(EncodeError::NotInVersion("meters in OpenFlow 1.0"))
    } else {
        Ok(())
    }
}

impl MeterMod {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<MeterMod, ErrorKind> {
        let command = match r.u16()? {
            0 => MeterModCommand::Add,
            1 => MeterModCommand::Modify,
            2 => MeterModCommand::Delete,
            _ => return Err(ErrorKind::MeterModFailedBadCommand),
        };
        let flags = r.u16()?;
        let meter_id = r.u32()?;
        Ok(MeterMod {
            command,
            flags,
            meter_id,
            bands: decode_bands(r)?,
        })
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        no_meters(version)?;
        w.put_u16(self.command as u16);
        w.put_u16(self.flags);
        w.put_u32(self.meter_id);
        self.bands.iter().for_each(|b| b.encode(w));
        Ok(())
    }
}

/// One meter's configuration (METER_CONFIG reply entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConfig {
    /// [`meter_flags`].
    pub flags: u16,
    /// Meter id.
    pub meter_id: u32,
    /// Bands.
    pub bands: Vec<Band>,
}

impl MeterConfig {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<MeterConfig, ErrorKind> {
        let len = usize::from(r.peek_u16(0)?);
        if len < 8 || len > r.remaining() {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
        e.skip(2)?;
        Ok(MeterConfig {
            flags: e.u16()?,
            meter_id: e.u32()?,
            bands: decode_bands(&mut e)?,
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = 8 + 16 * self.bands.len();
        w.put_u16(u16::try_from(len).map_err(|_| EncodeError::TooLong)?);
        w.put_u16(self.flags);
        w.put_u32(self.meter_id);
        self.bands.iter().for_each(|b| b.encode(w));
        Ok(())
    }
}

/// One meter's statistics (METER reply entry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeterStats {
    /// Meter id.
    pub meter_id: u32,
    /// Flows using the meter.
    pub flow_count: u32,
    /// Packets in.
    pub packet_in_count: u64,
    /// Bytes in.
    pub byte_in_count: u64,
    /// Seconds alive.
    pub duration_sec: u32,
    /// Nanoseconds beyond that.
    pub duration_nsec: u32,
    /// Per band `(packets, bytes)`.
    pub bands: Vec<(u64, u64)>,
}

impl MeterStats {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<MeterStats, ErrorKind> {
        let len = usize::from(r.peek_u16(4)?);
        if len < 40 || len > r.remaining() || !(len - 40).is_multiple_of(16) {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
        let meter_id = e.u32()?;
        e.skip(8)?;
        let mut s = MeterStats {
            meter_id,
            flow_count: e.u32()?,
            packet_in_count: e.u64()?,
            byte_in_count: e.u64()?,
            duration_sec: e.u32()?,
            duration_nsec: e.u32()?,
            bands: Vec::new(),
        };
        while !e.is_empty() {
            s.bands.push((e.u64()?, e.u64()?));
        }
        Ok(s)
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = 40 + 16 * self.bands.len();
        w.put_u32(self.meter_id);
        w.put_u16(u16::try_from(len).map_err(|_| EncodeError::TooLong)?);
        w.put_zeros(6);
        w.put_u32(self.flow_count);
        w.put_u64(self.packet_in_count);
        w.put_u64(self.byte_in_count);
        w.put_u32(self.duration_sec);
        w.put_u32(self.duration_nsec);
        for (p, b) in &self.bands {
            w.put_u64(*p);
            w.put_u64(*b);
        }
        Ok(())
    }
}

/// METER_FEATURES reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterFeatures {
    /// Maximum number of meters.
    pub max_meter: u32,
    /// Bitmap of band types (bit = `1 << OFPMBT_*`).
    pub band_types: u32,
    /// [`meter_flags`] supported.
    pub capabilities: u32,
    /// Maximum bands per meter.
    pub max_bands: u8,
    /// Maximum colour value.
    pub max_color: u8,
}

impl MeterFeatures {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<MeterFeatures, ErrorKind> {
        let f = MeterFeatures {
            max_meter: r.u32()?,
            band_types: r.u32()?,
            capabilities: r.u32()?,
            max_bands: r.u8()?,
            max_color: r.u8()?,
        };
        r.skip(2)?;
        Ok(f)
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) {
        w.put_u32(self.max_meter);
        w.put_u32(self.band_types);
        w.put_u32(self.capabilities);
        w.put_u8(self.max_bands);
        w.put_u8(self.max_color);
        w.put_u16(0);
    }
}
