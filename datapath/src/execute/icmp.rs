//! Masked writes of the ICMPv4 and ICMPv6 type and code, for the executor.
//!
//! Type and code are the first 16-bit word of the ICMP message; both
//! checksums cover it (ICMPv6's also covers a pseudo-header, which these
//! writes do not change), so one incremental update (RFC 1624) keeps the
//! checksum valid. A checksum still pending in offload (partial) is left
//! to the egress, which sums the message as it is then.

use super::{Hdrs, IPPROTO_ICMPV6, L4Csum, NONE, field, fix_l4};
use crate::actions::IcmpTypeCode;

/// IP protocol number of ICMPv4.
pub const IPPROTO_ICMP: u8 = 1;

/// Writes type and code when the packet's headers are those of `v6`'s
/// ICMP. True when written.
pub fn set(d: &mut [u8], h: &Hdrs, t: &IcmpTypeCode, v6: bool, partial: bool) -> bool {
    let (dl, proto) = if v6 {
        (super::ETH_IPV6, IPPROTO_ICMPV6)
    } else {
        (super::ETH_IPV4, IPPROTO_ICMP)
    };
    if h.dl_type != dl || h.nw_proto != proto || h.offs.l4 == NONE {
        return false;
    }
    let l4 = h.offs.l4 as usize;
    if d.len() < l4 + 4 {
        return false;
    }
    let Some(b) = field::<2>(d, l4) else {
        return false;
    };
    let old = *b;
    b[0] = (old[0] & !t.ty_mask) | (t.ty & t.ty_mask);
    b[1] = (old[1] & !t.code_mask) | (t.code & t.code_mask);
    let new = *b;
    let csum = L4Csum {
        at: l4 + 2,
        udp: false,
        partial,
    };
    fix_l4(d, Some(csum), &old, &new, false);
    true
}
