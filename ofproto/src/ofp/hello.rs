//! HELLO and version negotiation.
//!
//! Contract: [`Hello`] keeps every element it receives (unknown elements
//! round-trip). [`negotiate`] implements the OpenFlow 1.3.1+ rules: when the
//! peer sent a version bitmap, the result is the highest version in both
//! bitmaps; when it did not, the peer is taken to support every version up
//! to its header version (as Open vSwitch does). No common version is
//! `HelloFailedIncompatible`.

use super::Version;
use super::error::ErrorKind;
use super::wire::{Put, Reader};

/// A set of versions as a bitmap (bit `n` = wire version `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VersionSet(pub u32);

impl VersionSet {
    /// The empty set.
    pub const EMPTY: VersionSet = VersionSet(0);

    /// The set of the given versions.
    pub fn of(versions: &[Version]) -> VersionSet {
        VersionSet(versions.iter().fold(0, |a, v| a | 1 << v.wire()))
    }

    /// Every version up to and including `v` (1.0 at the least).
    pub fn up_to(v: u8) -> VersionSet {
        let v = u32::from(v).min(31);
        VersionSet(((1u64 << (v + 1)) - 2) as u32)
    }

    /// True when `v` is in the set.
    pub fn contains(self, v: Version) -> bool {
        self.0 & (1 << v.wire()) != 0
    }

    /// The highest known version in the set.
    pub fn highest(self) -> Option<Version> {
        Version::ALL
            .iter()
            .rev()
            .copied()
            .find(|v| self.contains(*v))
    }

    /// Intersection.
    pub fn and(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 & other.0)
    }
}

/// HELLO element type of the version bitmap.
pub const HELLO_ELEM_VERSIONBITMAP: u16 = 1;

/// One HELLO element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloElement {
    /// The versions the sender supports, 32 versions per word.
    VersionBitmap(Vec<u32>),
    /// An element we do not interpret: type and body (without padding).
    Unknown {
        /// Element type.
        ty: u16,
        /// Element body.
        data: Vec<u8>,
    },
}

/// A HELLO message body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hello {
    /// The elements, in order.
    pub elements: Vec<HelloElement>,
}

impl Hello {
    /// The HELLO announcing `versions`, and the header version to send it
    /// with (the highest). A bitmap is included unless the set is every
    /// version from 1.0 up to the highest (as Open vSwitch does).
    pub fn for_versions(versions: VersionSet) -> (Version, Hello) {
        let top = versions.highest().unwrap_or(Version::V1_0);
        let elements = if versions == VersionSet::up_to(top.wire()) {
            Vec::new()
        } else {
            vec![HelloElement::VersionBitmap(vec![versions.0])]
        };
        (top, Hello { elements })
    }

    /// The peer's version bitmap, if it sent one.
    pub fn bitmap(&self) -> Option<VersionSet> {
        self.elements.iter().find_map(|e| match e {
            HelloElement::VersionBitmap(words) => {
                Some(VersionSet(words.first().copied().unwrap_or(0)))
            }
            HelloElement::Unknown { .. } => None,
        })
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Hello, ErrorKind> {
        let mut elements = Vec::new();
        while r.remaining() >= 4 {
            let ty = r.peek_u16(0)?;
            let len = usize::from(r.peek_u16(2)?);
            if len < 4 || len > r.remaining() {
                return Err(ErrorKind::BadRequestBadLen);
            }
            let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
            e.skip(4)?;
            let padded = super::wire::round8(len).min(len + r.remaining());
            r.skip(padded - len)?;
            if ty == HELLO_ELEM_VERSIONBITMAP {
                if e.remaining() % 4 != 0 {
                    return Err(ErrorKind::BadRequestBadLen);
                }
                let mut words = Vec::new();
                while !e.is_empty() {
                    words.push(e.u32()?);
                }
                elements.push(HelloElement::VersionBitmap(words));
            } else {
                elements.push(HelloElement::Unknown {
                    ty,
                    data: e.rest().to_vec(),
                });
            }
        }
        Ok(Hello { elements })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) {
        for e in &self.elements {
            let start = w.len();
            match e {
                HelloElement::VersionBitmap(words) => {
                    w.put_u16(HELLO_ELEM_VERSIONBITMAP);
                    w.put_u16((4 + 4 * words.len()) as u16);
                    words.iter().for_each(|x| w.put_u32(*x));
                }
                HelloElement::Unknown { ty, data } => {
                    w.put_u16(*ty);
                    w.put_u16((4 + data.len()) as u16);
                    w.extend_from_slice(data);
                }
            }
            w.pad8_from(start);
        }
    }
}

/// Picks the version to speak: the highest version in both `ours` and the
/// peer's set (its bitmap, or every version up to `peer_version` when it sent
/// none).
pub fn negotiate(ours: VersionSet, peer_version: u8, peer: &Hello) -> Result<Version, ErrorKind> {
    let theirs = peer
        .bitmap()
        .unwrap_or_else(|| VersionSet::up_to(peer_version));
    ours.and(theirs)
        .highest()
        .ok_or(ErrorKind::HelloFailedIncompatible)
}
