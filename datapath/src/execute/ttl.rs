//! OpenFlow 1.3's copy_ttl_in and copy_ttl_out between the top MPLS label
//! stack entry and what follows it, for the executor.
//!
//! "Inwards" is from the outermost header to the next one: the top label
//! stack entry's TTL goes into the second entry, or (bottom of stack) into
//! the IPv4 TTL or IPv6 hop limit. "Outwards" is the reverse. The IPv4
//! header checksum is updated incrementally; no other checksum covers a
//! TTL. A frame that is not MPLS, is truncated, or whose payload under the
//! bottom of the stack is neither IPv4 nor IPv6 is left alone.

use super::{ETH_MPLS, ETH_MPLS_MC, ethertype_offset, field, rd16};
use crate::packet::Packet;
use crate::wire::checksum;

/// Where the inner TTL lives.
enum Inner {
    /// Byte offset of the next label stack entry's TTL.
    Mpls(usize),
    /// IPv4 header offset.
    Ipv4(usize),
    /// Byte offset of the IPv6 hop limit.
    Ipv6(usize),
}

/// Offset of the top label stack entry and where the inner TTL is.
fn locate(d: &[u8]) -> Option<(usize, Inner)> {
    let et = ethertype_offset(d)?;
    if !matches!(rd16(d, et)?, ETH_MPLS | ETH_MPLS_MC) {
        return None;
    }
    let top = et + 2;
    let lse = d.get(top..top + 4)?;
    let next = top + 4;
    let inner = if lse[2] & 1 == 0 {
        d.get(next + 3)?;
        Inner::Mpls(next + 3)
    } else {
        match d.get(next)? >> 4 {
            4 if d.len() >= next + 20 => Inner::Ipv4(next),
            6 if d.len() >= next + 40 => Inner::Ipv6(next + 7),
            _ => return None,
        }
    };
    Some((top, inner))
}

fn write_inner(d: &mut [u8], inner: &Inner, ttl: u8) {
    match *inner {
        Inner::Mpls(o) | Inner::Ipv6(o) => {
            if let Some(b) = d.get_mut(o) {
                *b = ttl;
            }
        }
        Inner::Ipv4(l3) => {
            let Some(w) = field::<2>(d, l3 + 8) else {
                return;
            };
            let old = *w;
            w[0] = ttl;
            let new = *w;
            if let Some(c) = field::<2>(d, l3 + 10) {
                let hc = checksum::update_bytes(u16::from_be_bytes(*c), &old, &new);
                *c = hc.to_be_bytes();
            }
        }
    }
}

fn read_inner(d: &[u8], inner: &Inner) -> Option<u8> {
    match *inner {
        Inner::Mpls(o) | Inner::Ipv6(o) => d.get(o).copied(),
        Inner::Ipv4(l3) => d.get(l3 + 8).copied(),
    }
}

/// Copies the top entry's TTL inwards. True when written.
pub fn copy_in(pkt: &mut Packet) -> bool {
    let d = pkt.data_mut();
    let Some((top, inner)) = locate(d) else {
        return false;
    };
    let ttl = d[top + 3];
    write_inner(d, &inner, ttl);
    true
}

/// Copies the inner TTL outwards into the top entry. True when written.
pub fn copy_out(pkt: &mut Packet) -> bool {
    let d = pkt.data_mut();
    let Some((top, inner)) = locate(d) else {
        return false;
    };
    let Some(ttl) = read_inner(d, &inner) else {
        return false;
    };
    d[top + 3] = ttl;
    true
}
