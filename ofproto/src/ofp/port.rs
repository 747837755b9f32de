//! Port numbers and port descriptions.
//!
//! Contract: port numbers are version-independent 32-bit values (OpenFlow
//! 1.1+ numbering); OpenFlow 1.0's 16-bit numbers convert with
//! [`port_from_of10`] / [`port_to_of10`] (reserved ports 0xfff8.. map to
//! 0xfffffff8..). [`Port`] is the description (`ofp_phy_port` in 1.0,
//! `ofp_port` in 1.3, `ofp_port` with an Ethernet property in 1.4/1.5);
//! feature bits use the 1.3 layout and are converted for 1.0.

use super::Version;
use super::error::{EncodeError, ErrorKind};
use super::wire::{Put, Reader, get_str, put_str};

/// A port number (OpenFlow 1.1+ numbering).
pub type PortNo = u32;

/// Reserved port numbers.
pub mod ports {
    use super::PortNo;
    /// Largest number of a physical port.
    pub const MAX: PortNo = 0xffff_ff00;
    /// The input port.
    pub const IN_PORT: PortNo = 0xffff_fff8;
    /// Submit to the first flow table.
    pub const TABLE: PortNo = 0xffff_fff9;
    /// Normal L2 switching.
    pub const NORMAL: PortNo = 0xffff_fffa;
    /// All ports except input and those with flooding disabled.
    pub const FLOOD: PortNo = 0xffff_fffb;
    /// All ports except input.
    pub const ALL: PortNo = 0xffff_fffc;
    /// The controller.
    pub const CONTROLLER: PortNo = 0xffff_fffd;
    /// The local (bridge) port.
    pub const LOCAL: PortNo = 0xffff_fffe;
    /// Any/none (wildcard).
    pub const ANY: PortNo = 0xffff_ffff;
}

/// Converts an OpenFlow 1.0 port number.
pub fn port_from_of10(p: u16) -> PortNo {
    if p >= 0xff00 {
        u32::from(p) + 0xffff_0000
    } else {
        u32::from(p)
    }
}

/// Converts to an OpenFlow 1.0 port number, if representable.
pub fn port_to_of10(p: PortNo) -> Option<u16> {
    if p < 0xff00 {
        Some(p as u16)
    } else if p >= 0xffff_ff00 {
        Some((p - 0xffff_0000) as u16)
    } else {
        None
    }
}

pub(crate) fn of10_port(p: PortNo) -> Result<u16, EncodeError> {
    port_to_of10(p).ok_or(EncodeError::NotInVersion("32-bit port number"))
}

/// Port feature bits (OpenFlow 1.3 layout).
pub mod features {
    /// 10 Gb full duplex: the last speed bit both layouts share.
    pub const F_10GB_FD: u32 = 1 << 6;
    /// Copper medium (bit 7 in OpenFlow 1.0).
    pub const COPPER: u32 = 1 << 11;
    /// Fiber medium.
    pub const FIBER: u32 = 1 << 12;
    /// Auto-negotiation.
    pub const AUTONEG: u32 = 1 << 13;
    /// Pause.
    pub const PAUSE: u32 = 1 << 14;
    /// Asymmetric pause.
    pub const PAUSE_ASYM: u32 = 1 << 15;
}

fn features_from_of10(f: u32) -> u32 {
    (f & 0x7f) | ((f >> 7) & 0x1f) << 11
}

fn features_to_of10(f: u32) -> u32 {
    (f & 0x7f) | ((f >> 11) & 0x1f) << 7
}

/// A port description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Port {
    /// Port number.
    pub port_no: PortNo,
    /// MAC address.
    pub hw_addr: [u8; 6],
    /// Name (at most 15 bytes on the wire).
    pub name: String,
    /// `OFPPC_*` bits (same positions in all versions for the common ones).
    pub config: u32,
    /// `OFPPS_*` bits (as on the wire; 1.0 has STP bits, 1.3 BLOCKED/LIVE).
    pub state: u32,
    /// Current features (1.3 layout).
    pub curr: u32,
    /// Advertised features.
    pub advertised: u32,
    /// Supported features.
    pub supported: u32,
    /// Features advertised by the peer.
    pub peer: u32,
    /// Current speed in kb/s (1.3+; 0 from 1.0).
    pub curr_speed: u32,
    /// Maximum speed in kb/s (1.3+; 0 from 1.0).
    pub max_speed: u32,
}

/// Length of a port description in `version` (1.4+: with the Ethernet
/// property only).
pub fn port_len(version: Version) -> usize {
    match version {
        Version::V1_0 => 48,
        Version::V1_4 | Version::V1_5 => 72,
        _ => 64,
    }
}

impl Port {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Port, ErrorKind> {
        let mut p = Port::default();
        match version {
            Version::V1_0 => {
                p.port_no = port_from_of10(r.u16()?);
                p.hw_addr = r.array()?;
                p.name = get_str(r, 16)?;
                p.config = r.u32()?;
                p.state = r.u32()?;
                p.curr = features_from_of10(r.u32()?);
                p.advertised = features_from_of10(r.u32()?);
                p.supported = features_from_of10(r.u32()?);
                p.peer = features_from_of10(r.u32()?);
            }
            Version::V1_4 | Version::V1_5 => {
                p.port_no = r.u32()?;
                let len = usize::from(r.u16()?);
                if len < 40 || len - 6 > r.remaining() {
                    return Err(r.err());
                }
                let mut b = r.sub(len - 6, r.err())?;
                b.skip(2)?;
                p.hw_addr = b.array()?;
                b.skip(2)?;
                p.name = get_str(&mut b, 16)?;
                p.config = b.u32()?;
                p.state = b.u32()?;
                while b.remaining() >= 4 {
                    let ty = b.peek_u16(0)?;
                    let plen = usize::from(b.peek_u16(2)?);
                    if plen < 4 || plen > b.remaining() {
                        return Err(b.err());
                    }
                    let mut prop = b.sub(plen, b.err())?;
                    let padded = super::wire::round8(plen).min(plen + b.remaining());
                    b.skip(padded - plen)?;
                    if ty == 0 {
                        prop.skip(8)?;
                        p.curr = prop.u32()?;
                        p.advertised = prop.u32()?;
                        p.supported = prop.u32()?;
                        p.peer = prop.u32()?;
                        p.curr_speed = prop.u32()?;
                        p.max_speed = prop.u32()?;
                    }
                }
            }
            _ => {
                p.port_no = r.u32()?;
                r.skip(4)?;
                p.hw_addr = r.array()?;
                r.skip(2)?;
                p.name = get_str(r, 16)?;
                p.config = r.u32()?;
                p.state = r.u32()?;
                p.curr = r.u32()?;
                p.advertised = r.u32()?;
                p.supported = r.u32()?;
                p.peer = r.u32()?;
                p.curr_speed = r.u32()?;
                p.max_speed = r.u32()?;
            }
        }
        Ok(p)
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        match version {
            Version::V1_0 => {
                w.put_u16(super::port::of10_port(self.port_no)?);
                w.extend_from_slice(&self.hw_addr);
                put_str(w, &self.name, 16);
                w.put_u32(self.config);
                w.put_u32(self.state);
                for f in [self.curr, self.advertised, self.supported, self.peer] {
                    w.put_u32(features_to_of10(f));
                }
            }
            Version::V1_4 | Version::V1_5 => {
                w.put_u32(self.port_no);
                w.put_u16(72);
                w.put_zeros(2);
                w.extend_from_slice(&self.hw_addr);
                w.put_zeros(2);
                put_str(w, &self.name, 16);
                w.put_u32(self.config);
                w.put_u32(self.state);
                w.put_u16(0);
                w.put_u16(32);
                w.put_zeros(4);
                for f in [
                    self.curr,
                    self.advertised,
                    self.supported,
                    self.peer,
                    self.curr_speed,
                    self.max_speed,
                ] {
                    w.put_u32(f);
                }
            }
            _ => {
                w.put_u32(self.port_no);
                w.put_zeros(4);
                w.extend_from_slice(&self.hw_addr);
                w.put_zeros(2);
                put_str(w, &self.name, 16);
                for f in [
                    self.config,
                    self.state,
                    self.curr,
                    self.advertised,
                    self.supported,
                    self.peer,
                    self.curr_speed,
                    self.max_speed,
                ] {
                    w.put_u32(f);
                }
            }
        }
        Ok(())
    }
}
