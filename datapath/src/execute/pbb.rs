//! 802.1ah provider backbone bridging (PBB): pushing, popping and
//! rewriting the I-TAG, for the executor.
//!
//! Frame layout with a PBB header (OpenFlow 1.3's push_pbb inserts it right
//! after the Ethernet addresses):
//!
//! ```text
//! B-DA(6) B-SA(6) [B-TAG(4)] 0x88e7(2) I-TAG TCI(4) C-DA(6) C-SA(6) [tags] EtherType ...
//! ```
//!
//! Push keeps the frame's addresses as the backbone addresses and copies
//! them into the customer addresses (the OpenFlow 1.3 table of fields
//! copied on push: C-DA from ETH_DST, C-SA from ETH_SRC); the frame's VLAN
//! tags and EtherType follow the customer addresses unchanged. Pop removes
//! everything in front of the customer addresses. Nothing here allocates
//! or panics; a frame too short or not PBB is left alone (`false`).

use super::{ethertype_offset, field, rd16};
use crate::packet::{Packet, insert_gap, remove_range};

/// The PBB (I-TAG) EtherType.
pub const ETH_PBB: u16 = 0x88e7;
/// Bytes a push inserts: EtherType, I-TAG TCI, customer addresses.
pub const PUSH_LEN: usize = 2 + 4 + 12;

/// Pushes a PBB header with I-TAG TCI `itag`. True when pushed.
pub fn push(pkt: &mut Packet, itag: u32) -> bool {
    if pkt.len() < 14 || !insert_gap(pkt, 12, PUSH_LEN) {
        return false;
    }
    let d = pkt.data_mut();
    // insert_gap moved the addresses to the front; copy them behind the
    // I-TAG as the customer addresses.
    d.copy_within(0..12, 18);
    d[12..14].copy_from_slice(&ETH_PBB.to_be_bytes());
    d[14..18].copy_from_slice(&itag.to_be_bytes());
    true
}

/// Pops the outermost PBB header; returns the number of bytes removed.
pub fn pop(pkt: &mut Packet) -> Option<usize> {
    let d = pkt.data();
    // Only backbone tags (802.1ad/802.1Q) may sit before the I-TAG.
    let et = ethertype_offset(d)?;
    if rd16(d, et)? != ETH_PBB || d.len() < et + 2 + 4 + 12 + 2 {
        return None;
    }
    let n = et + 2 + 4;
    remove_range(pkt, 0, n).then_some(n)
}

/// Masked write of the outermost I-TAG TCI of a PBB frame.
pub fn set(pkt: &mut Packet, itag: u32, mask: u32) -> bool {
    let d = pkt.data_mut();
    let Some(et) = ethertype_offset(d) else {
        return false;
    };
    if rd16(d, et) != Some(ETH_PBB) {
        return false;
    }
    let Some(b) = field::<4>(d, et + 2) else {
        return false;
    };
    let old = u32::from_be_bytes(*b);
    *b = ((old & !mask) | (itag & mask)).to_be_bytes();
    true
}
