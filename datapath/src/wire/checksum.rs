//! Internet checksum (RFC 1071) helpers, pseudo-headers, and incremental
//! update (RFC 1624) for header rewrites.
//!
//! Conventions: [`data`] and [`combine`] return the *folded one's-complement
//! sum* (not inverted). A header's checksum field holds `!sum`; a received
//! header verifies when the sum over it (checksum field included) is
//! `0xffff`. The incremental helpers take and return the checksum *field*
//! value, as it sits in the header.

use super::IpProtocol;

/// Folds a wide one's-complement accumulator into 16 bits.
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Adds `data` to a running accumulator, as big-endian 16-bit words (an odd
/// trailing byte is padded with zero). Returns the unfolded accumulator.
#[inline]
pub fn accumulate(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64;
    }
    let rest = chunks.remainder();
    let mut i = 0;
    while i + 1 < rest.len() {
        acc += ((rest[i] as u64) << 8) | rest[i + 1] as u64;
        i += 2;
    }
    if i < rest.len() {
        acc += (rest[i] as u64) << 8;
    }
    acc
}

/// The folded one's-complement sum of `data`.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    fold(accumulate(0, data))
}

/// Combines folded sums.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| s as u64).sum())
}

/// Sum of the IPv4 pseudo-header used by TCP, UDP and (not) ICMP.
#[inline]
pub fn pseudo_header_v4(src: [u8; 4], dst: [u8; 4], proto: IpProtocol, length: u32) -> u16 {
    let mut acc = accumulate(0, &src);
    acc = accumulate(acc, &dst);
    acc += u8::from(proto) as u64;
    acc += length as u64;
    fold(acc)
}

/// Sum of the IPv6 pseudo-header used by TCP, UDP and ICMPv6.
#[inline]
pub fn pseudo_header_v6(src: [u8; 16], dst: [u8; 16], next_header: IpProtocol, length: u32) -> u16 {
    let mut acc = accumulate(0, &src);
    acc = accumulate(acc, &dst);
    acc += u8::from(next_header) as u64;
    acc += length as u64;
    fold(acc)
}

/// The checksum field value for `data` whose field (inside `data`) was zero,
/// plus an optional pseudo-header sum.
#[inline]
pub fn compute(pseudo: u16, data_: &[u8]) -> u16 {
    !combine(&[pseudo, data(data_)])
}

/// True when `data` (with its checksum field in place) plus `pseudo` verifies.
#[inline]
pub fn verify(pseudo: u16, data_: &[u8]) -> bool {
    combine(&[pseudo, data(data_)]) == 0xffff
}

/// RFC 1624 incremental update: the new checksum field after one 16-bit word
/// of the covered data changed from `old` to `new`.
#[inline]
pub fn update_u16(field: u16, old: u16, new: u16) -> u16 {
    // HC' = ~(~HC + ~m + m')
    !fold(u64::from(!field) + u64::from(!old) + u64::from(new))
}

/// Incremental update for a 32-bit word (an IPv4 address, for instance).
#[inline]
pub fn update_u32(field: u16, old: u32, new: u32) -> u16 {
    let f = update_u16(field, (old >> 16) as u16, (new >> 16) as u16);
    update_u16(f, old as u16, new as u16)
}

/// Incremental update for an arbitrary, even-length, 16-bit aligned run of
/// bytes (an IPv6 address, a MAC address in an ICMPv6 option...). `old` and
/// `new` must have the same length; an odd length is treated as padded with a
/// zero byte, as in the full computation.
#[inline]
pub fn update_bytes(field: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(old.len(), new.len());
    let old_sum = data(old);
    let new_sum = data(new);
    !fold(u64::from(!field) + u64::from(!old_sum) + u64::from(new_sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 1071 section 3 example.
    #[test]
    fn rfc1071_example() {
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), data(&[0x12, 0x34, 0x56, 0x00]));
    }

    #[test]
    fn known_ipv4_header_checksum() {
        // A well-known IPv4 header whose checksum is 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let c = compute(0, &h);
        assert_eq!(c, 0xb861);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(verify(0, &h));
        h[15] ^= 1;
        assert!(!verify(0, &h));
    }

    #[test]
    fn incremental_matches_full_recompute() {
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let c = compute(0, &h);
        // Rewrite the source address 192.168.0.1 -> 10.1.2.3.
        let old = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
        let new = u32::from_be_bytes([10, 1, 2, 3]);
        let inc = update_u32(c, old, new);
        h[12..16].copy_from_slice(&new.to_be_bytes());
        assert_eq!(inc, compute(0, &h));
        // TTL decrement (16-bit word 0x4011 -> 0x3f11).
        let inc2 = update_u16(inc, 0x4011, 0x3f11);
        h[8] = 0x3f;
        assert_eq!(inc2, compute(0, &h));
        // Byte-run form agrees.
        let mut h2 = h;
        h2[12..16].copy_from_slice(&[172, 16, 9, 9]);
        assert_eq!(update_bytes(inc2, &h[12..16], &h2[12..16]), compute(0, &h2));
    }

    #[test]
    fn pseudo_headers() {
        let v4 = pseudo_header_v4([10, 0, 0, 1], [10, 0, 0, 2], IpProtocol::Udp, 8);
        // 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x0008
        assert_eq!(v4, 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x0008);
        let mut a = [0u8; 16];
        a[15] = 1;
        let v6 = pseudo_header_v6(a, a, IpProtocol::Icmpv6, 0x1_0000);
        assert_eq!(v6, fold(2 + 58 + 0x1_0000));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any rewrite of any aligned 16-bit word, 32-bit word or byte
            /// run, applied incrementally, equals a full recomputation.
            #[test]
            fn incremental_equals_recompute(
                mut data in proptest::collection::vec(any::<u8>(), 4..80),
                at in any::<proptest::sample::Index>(),
                new in any::<[u8; 4]>(),
            ) {
                if data.len() % 2 == 1 { data.push(0); }
                let csum = compute(0, &data);
                let pos = at.index(data.len() / 2 - 1) * 2;
                let old16 = u16::from_be_bytes([data[pos], data[pos + 1]]);
                let new16 = u16::from_be_bytes([new[0], new[1]]);
                let mut d16 = data.clone();
                d16[pos..pos + 2].copy_from_slice(&new[..2]);
                let inc = update_u16(csum, old16, new16);
                // One's complement has two zeros; both verify.
                prop_assert_eq!(combine(&[super::super::data(&d16), inc]), 0xffff);
                if pos + 4 <= data.len() {
                    let old32 = u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]);
                    let mut d32 = data.clone();
                    d32[pos..pos + 4].copy_from_slice(&new);
                    let inc32 = update_u32(csum, old32, u32::from_be_bytes(new));
                    let incb = update_bytes(csum, &data[pos..pos + 4], &new);
                    prop_assert_eq!(inc32, incb);
                    prop_assert_eq!(combine(&[super::super::data(&d32), inc32]), 0xffff);
                }
            }
        }
    }
}
