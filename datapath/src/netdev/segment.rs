//! Software segmentation of GSO super-packets, for egress ports that cannot
//! take them (AF_XDP, or a kernel port whose MTU is smaller than the
//! packet and that has no vnet header).
//!
//! [`for_each_segment`] cuts a TCP (IPv4 or IPv6) or UDP (`UdpL4`)
//! super-packet into segments of at most `gso.size` payload bytes, building
//! each in a caller-provided scratch [`Packet`] and handing it to a callback
//! with every checksum complete: IPv4 total length, identification
//! (incremented per segment) and header checksum; IPv6 payload length; TCP
//! sequence number, flags (FIN and PSH only on the last segment, CWR only on
//! the first) and checksum; UDP length and checksum.
//!
//! Invariants: no allocation; never panics on any bytes or offsets;
//! malformed super-packets (unknown network header, IPv6 extension headers,
//! offsets outside the frame, zero segment size) are refused with an error
//! and nothing is emitted.

use super::{GsoKind, Packet};
use crate::wire::IpProtocol;
use crate::wire::checksum;

/// Why a super-packet could not be segmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentError {
    /// Not a GSO packet.
    NotGso,
    /// Headers could not be located or are inconsistent with the GSO type.
    Malformed,
    /// A segment does not fit the scratch buffer.
    TooBig,
}

/// Finds the network header: skips 802.1Q/802.1ad tags; returns (offset,
/// ethertype).
fn l3(frame: &[u8]) -> Option<(usize, u16)> {
    let mut off = 12;
    loop {
        let et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
        if et == 0x8100 || et == 0x88a8 {
            off += 4;
        } else {
            return Some((off + 2, et));
        }
    }
}

/// Cuts `pkt` into segments (see the module documentation), calling `emit`
/// with each; returns how many were emitted. `emit` returning false stops
/// early (the count so far is returned).
pub fn for_each_segment(
    pkt: &Packet,
    scratch: &mut Packet,
    mut emit: impl FnMut(&[u8]) -> bool,
) -> Result<usize, SegmentError> {
    let gso = pkt.offload.gso.ok_or(SegmentError::NotGso)?;
    let f = pkt.data();
    let (l3off, et) = l3(f).ok_or(SegmentError::Malformed)?;
    let v4 = match (et, gso.kind) {
        (0x0800, GsoKind::TcpV4 | GsoKind::UdpL4) => true,
        (0x86dd, GsoKind::TcpV6 | GsoKind::UdpL4) => false,
        _ => return Err(SegmentError::Malformed),
    };
    let ip = f.get(l3off..).ok_or(SegmentError::Malformed)?;
    let (l4off, proto) = if v4 {
        let ihl = (*ip.first().ok_or(SegmentError::Malformed)? as usize & 0xf) * 4;
        if ihl < 20 || ip.len() < ihl {
            return Err(SegmentError::Malformed);
        }
        (l3off + ihl, ip[9])
    } else {
        if ip.len() < 40 {
            return Err(SegmentError::Malformed);
        }
        (l3off + 40, ip[6])
    };
    let tcp = matches!(gso.kind, GsoKind::TcpV4 | GsoKind::TcpV6);
    let want = if tcp { 6 } else { 17 };
    if proto != want {
        return Err(SegmentError::Malformed);
    }
    let l4len = if tcp {
        let doff = (*f.get(l4off + 12).ok_or(SegmentError::Malformed)? as usize >> 4) * 4;
        if doff < 20 {
            return Err(SegmentError::Malformed);
        }
        doff
    } else {
        8
    };
    let hdr = l4off + l4len;
    if hdr > f.len() || gso.size == 0 {
        return Err(SegmentError::Malformed);
    }
    let payload = &f[hdr..];
    let mss = gso.size as usize;
    let nseg = payload.len().div_ceil(mss).max(1);
    let (seq0, flags0) = if tcp {
        (
            u32::from_be_bytes([f[l4off + 4], f[l4off + 5], f[l4off + 6], f[l4off + 7]]),
            f[l4off + 13],
        )
    } else {
        (0, 0)
    };
    let id0 = if v4 {
        u16::from_be_bytes([f[l3off + 4], f[l3off + 5]])
    } else {
        0
    };
    let mut emitted = 0;
    for i in 0..nseg {
        let start = i * mss;
        let chunk = &payload[start.min(payload.len())..(start + mss).min(payload.len())];
        scratch.reset();
        let total = hdr + chunk.len();
        let s = scratch.extend(total).ok_or(SegmentError::TooBig)?;
        s[..hdr].copy_from_slice(&f[..hdr]);
        s[hdr..].copy_from_slice(chunk);
        let l4seg = l4len + chunk.len();
        let pseudo = if v4 {
            let iplen = (total - l3off) as u16;
            s[l3off + 2..l3off + 4].copy_from_slice(&iplen.to_be_bytes());
            let id = if tcp { id0.wrapping_add(i as u16) } else { id0 };
            s[l3off + 4..l3off + 6].copy_from_slice(&id.to_be_bytes());
            s[l3off + 10..l3off + 12].copy_from_slice(&[0, 0]);
            let c = checksum::compute(0, &s[l3off..l4off]);
            s[l3off + 10..l3off + 12].copy_from_slice(&c.to_be_bytes());
            let src: [u8; 4] = s[l3off + 12..l3off + 16].try_into().unwrap_or_default();
            let dst: [u8; 4] = s[l3off + 16..l3off + 20].try_into().unwrap_or_default();
            checksum::pseudo_header_v4(src, dst, IpProtocol::from(proto), l4seg as u32)
        } else {
            let plen = (total - l4off) as u16;
            s[l3off + 4..l3off + 6].copy_from_slice(&plen.to_be_bytes());
            let src: [u8; 16] = s[l3off + 8..l3off + 24].try_into().unwrap_or_default();
            let dst: [u8; 16] = s[l3off + 24..l3off + 40].try_into().unwrap_or_default();
            checksum::pseudo_header_v6(src, dst, IpProtocol::from(proto), l4seg as u32)
        };
        let csum_at = if tcp {
            let seq = seq0.wrapping_add(start as u32);
            s[l4off + 4..l4off + 8].copy_from_slice(&seq.to_be_bytes());
            let mut fl = flags0;
            if i + 1 < nseg {
                fl &= !(0x01 | 0x08); // FIN, PSH only on the last
            }
            if i > 0 {
                fl &= !0x80; // CWR only on the first
            }
            s[l4off + 13] = fl;
            l4off + 16
        } else {
            s[l4off + 4..l4off + 6].copy_from_slice(&(l4seg as u16).to_be_bytes());
            l4off + 6
        };
        s[csum_at..csum_at + 2].copy_from_slice(&[0, 0]);
        let mut c = checksum::compute(pseudo, &s[l4off..]);
        if !tcp && c == 0 {
            c = 0xffff;
        }
        s[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
        emitted += 1;
        if !emit(scratch.data()) {
            break;
        }
    }
    Ok(emitted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netdev::{CsumPartial, Gso, Offload};

    fn tcp4_super(payload: usize, flags: u8) -> Packet {
        tcp4_super_with(payload, flags, 1000)
    }

    pub(super) fn tcp4_super_with(payload: usize, flags: u8, mss: u16) -> Packet {
        let mut f = vec![0u8; 14 + 20 + 20 + payload];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        f[14] = 0x45;
        let tot = (20 + 20 + payload) as u16;
        f[16..18].copy_from_slice(&tot.to_be_bytes());
        f[18..20].copy_from_slice(&100u16.to_be_bytes());
        f[22] = 64;
        f[23] = 6;
        f[26..30].copy_from_slice(&[10, 0, 0, 1]);
        f[30..34].copy_from_slice(&[10, 0, 0, 2]);
        f[34..36].copy_from_slice(&1000u16.to_be_bytes());
        f[36..38].copy_from_slice(&80u16.to_be_bytes());
        f[38..42].copy_from_slice(&5000u32.to_be_bytes());
        f[46] = 5 << 4;
        f[47] = flags;
        for (i, b) in f[54..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut p = Packet::new(65536);
        assert!(p.set_data(&f));
        p.offload = Offload {
            csum: Some(CsumPartial {
                start: 34,
                offset: 16,
            }),
            csum_valid: false,
            gso: Some(Gso {
                kind: GsoKind::TcpV4,
                size: mss,
                ecn: false,
            }),
        };
        p
    }

    #[test]
    fn tcp4_segments_have_valid_headers() {
        let p = tcp4_super(2500, 0x18 | 0x01); // PSH|ACK|FIN
        let mut scratch = Packet::new(4096);
        let mut segs = Vec::new();
        let n = for_each_segment(&p, &mut scratch, |s| {
            segs.push(s.to_vec());
            true
        })
        .unwrap();
        assert_eq!(n, 3);
        let mut payload = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            let tot = u16::from_be_bytes([s[16], s[17]]) as usize;
            assert_eq!(tot + 14, s.len());
            assert!(checksum::verify(0, &s[14..34]), "ip checksum seg {i}");
            let pseudo = checksum::pseudo_header_v4(
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                IpProtocol::Tcp,
                (s.len() - 34) as u32,
            );
            assert!(checksum::verify(pseudo, &s[34..]), "tcp checksum seg {i}");
            let seq = u32::from_be_bytes([s[38], s[39], s[40], s[41]]);
            assert_eq!(seq, 5000 + 1000 * i as u32);
            let last = i == 2;
            assert_eq!(s[47] & 0x09 != 0, last);
            assert_eq!(u16::from_be_bytes([s[18], s[19]]), 100 + i as u16);
            payload.extend_from_slice(&s[54..]);
        }
        assert_eq!(payload, p.data()[54..]);
    }

    #[test]
    fn malformed_is_refused() {
        let mut p = tcp4_super(100, 0x10);
        p.data_mut()[23] = 17;
        let mut scratch = Packet::new(4096);
        assert_eq!(
            for_each_segment(&p, &mut scratch, |_| true),
            Err(SegmentError::Malformed)
        );
        p.offload.gso = None;
        assert_eq!(
            for_each_segment(&p, &mut scratch, |_| true),
            Err(SegmentError::NotGso)
        );
        let mut q = Packet::new(64);
        q.set_data(&[0; 13]);
        q.offload.gso = Some(Gso {
            kind: GsoKind::TcpV4,
            size: 1,
            ecn: false,
        });
        assert_eq!(
            for_each_segment(&q, &mut scratch, |_| true),
            Err(SegmentError::Malformed)
        );
        let big = tcp4_super(3000, 0x10);
        let mut tiny = Packet::new(100);
        assert_eq!(
            for_each_segment(&big, &mut tiny, |_| true),
            Err(SegmentError::TooBig)
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::netdev::{CsumPartial, Gso, Offload, vnet};
    use proptest::prelude::*;

    fn kind() -> impl Strategy<Value = GsoKind> {
        prop_oneof![
            Just(GsoKind::TcpV4),
            Just(GsoKind::TcpV6),
            Just(GsoKind::UdpL4)
        ]
    }

    proptest! {
        /// No bytes, offsets or sizes make segmentation, checksum completion
        /// or the vnet header code panic; segments never exceed the scratch.
        #[test]
        fn never_panics(
            frame in proptest::collection::vec(any::<u8>(), 0..400),
            ethertype in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x8100), any::<u16>()],
            k in kind(),
            size in any::<u16>(),
            start in any::<u16>(),
            offset in any::<u16>(),
            scratch_cap in 0usize..300,
            hdr in any::<[u8; vnet::LEN]>(),
        ) {
            let mut f = frame;
            if f.len() >= 14 {
                f[12..14].copy_from_slice(&ethertype.to_be_bytes());
            }
            let mut p = Packet::new(512);
            prop_assert!(p.set_data(&f));
            p.offload = Offload {
                csum: Some(CsumPartial { start, offset }),
                csum_valid: false,
                gso: Some(Gso { kind: k, size, ecn: false }),
            };
            let mut scratch = Packet::new(scratch_cap);
            let _ = for_each_segment(&p, &mut scratch, |s| s.len() <= scratch_cap);
            let _ = p.complete_csum();
            let _ = vnet::parse(&hdr);
            let _ = vnet::emit(&p.offload, p.data());
            p.offload.shift(-(start as isize) - 1);
            p.offload.shift(isize::MAX);
        }

        /// Segmenting a well-formed TCP/IPv4 super-packet and concatenating
        /// the payloads gives the original payload back.
        #[test]
        fn tcp4_payload_preserved(payload in 0usize..5000, mss in 1u16..2000) {
            let p = super::tests::tcp4_super_with(payload, 0x18, mss);
            let mut scratch = Packet::new(4096);
            let mut got = Vec::new();
            let n = for_each_segment(&p, &mut scratch, |s| {
                got.extend_from_slice(&s[54..]);
                true
            }).unwrap();
            prop_assert_eq!(n, payload.div_ceil(mss as usize).max(1));
            prop_assert_eq!(&got[..], &p.data()[54..]);
        }
    }
}
