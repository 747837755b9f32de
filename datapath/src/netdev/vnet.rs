//! The virtio-net header (`struct virtio_net_hdr`, 10 bytes) that AF_PACKET
//! (`PACKET_VNET_HDR`) and tap (`IFF_VNET_HDR`) put in front of each frame,
//! converted to and from [`Offload`].
//!
//! Layout: `flags: u8, gso_type: u8, hdr_len: u16, gso_size: u16,
//! csum_start: u16, csum_offset: u16`, 16-bit fields in the host's byte
//! order (the kernel's "legacy" virtio endianness, little-endian on every
//! host we run on; tap is not switched to big-endian mode).
//!
//! Parsing never panics; an unknown GSO type is reported as `None` so the
//! receiver drops the frame (counted) rather than forward a super-packet it
//! cannot describe.

use super::{CsumPartial, Gso, GsoKind, Offload};

/// Size of the header.
pub const LEN: usize = 10;

const F_NEEDS_CSUM: u8 = 1;
const F_DATA_VALID: u8 = 2;
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
#[cfg(test)]
const GSO_UDP: u8 = 3;
const GSO_TCPV6: u8 = 4;
const GSO_UDP_L4: u8 = 5;
const GSO_ECN: u8 = 0x80;

/// Parses a header. `None` for a GSO type we do not support.
pub fn parse(h: &[u8; LEN]) -> Option<Offload> {
    let u16_at = |i: usize| u16::from_ne_bytes([h[i], h[i + 1]]);
    let flags = h[0];
    let gso_size = u16_at(4);
    let csum = if flags & F_NEEDS_CSUM != 0 {
        Some(CsumPartial {
            start: u16_at(6),
            offset: u16_at(8),
        })
    } else {
        None
    };
    let kind = match h[1] & !GSO_ECN {
        GSO_NONE => None,
        GSO_TCPV4 => Some(GsoKind::TcpV4),
        GSO_TCPV6 => Some(GsoKind::TcpV6),
        GSO_UDP_L4 => Some(GsoKind::UdpL4),
        // UFO (GSO_UDP) and anything newer: not supported.
        _ => return None,
    };
    Some(Offload {
        csum,
        csum_valid: flags & F_DATA_VALID != 0,
        gso: kind.map(|kind| Gso {
            kind,
            size: gso_size,
            ecn: h[1] & GSO_ECN != 0,
        }),
    })
}

/// Builds the header for a frame `data` with `offload` state.
pub fn emit(offload: &Offload, data: &[u8]) -> [u8; LEN] {
    let mut h = [0u8; LEN];
    let mut hdr_len = 0u16;
    if let Some(c) = offload.csum {
        h[0] |= F_NEEDS_CSUM;
        h[6..8].copy_from_slice(&c.start.to_ne_bytes());
        h[8..10].copy_from_slice(&c.offset.to_ne_bytes());
        hdr_len = c.start.saturating_add(c.offset).saturating_add(2);
    } else if offload.csum_valid {
        h[0] |= F_DATA_VALID;
    }
    if let Some(g) = offload.gso {
        h[1] = match g.kind {
            GsoKind::TcpV4 => GSO_TCPV4,
            GsoKind::TcpV6 => GSO_TCPV6,
            GsoKind::UdpL4 => GSO_UDP_L4,
        } | if g.ecn { GSO_ECN } else { 0 };
        h[4..6].copy_from_slice(&g.size.to_ne_bytes());
        // The headers' length: up to the end of the TCP header (data offset
        // field) or of the UDP header.
        if let Some(c) = offload.csum {
            let l4 = c.start as usize;
            let l4_len = match g.kind {
                GsoKind::TcpV4 | GsoKind::TcpV6 => data
                    .get(l4 + 12)
                    .map(|b| ((b >> 4) as u16) * 4)
                    .unwrap_or(20),
                GsoKind::UdpL4 => 8,
            };
            hdr_len = c.start.saturating_add(l4_len);
        }
    }
    h[2..4].copy_from_slice(&hdr_len.min(data.len() as u16).to_ne_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_unknown() {
        let o = Offload {
            csum: Some(CsumPartial {
                start: 34,
                offset: 16,
            }),
            csum_valid: false,
            gso: Some(Gso {
                kind: GsoKind::TcpV4,
                size: 1448,
                ecn: true,
            }),
        };
        let mut data = vec![0u8; 100];
        data[34 + 12] = 8 << 4;
        let h = emit(&o, &data);
        assert_eq!(parse(&h), Some(o));
        assert_eq!(u16::from_ne_bytes([h[2], h[3]]), 34 + 32);
        let mut bad = h;
        bad[1] = GSO_UDP;
        assert_eq!(parse(&bad), None);
        bad[1] = 0x42;
        assert_eq!(parse(&bad), None);
        assert_eq!(parse(&[0; LEN]), Some(Offload::default()));
    }
}
