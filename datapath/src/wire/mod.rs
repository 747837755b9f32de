//! Zero-copy typed views over protocol headers, in the smoltcp style.
//!
//! Every header `X` has:
//!
//! * `XPacket<T: AsRef<[u8]>>` (or `Header<T>`): a view over a byte buffer.
//!   `new_unchecked` wraps without checking; `new_checked` wraps and calls
//!   `check_len`. Once `check_len` has succeeded no getter may panic. Getters
//!   live in an `impl<T: AsRef<[u8]>>` block and setters in a separate
//!   `impl<T: AsRef<[u8]> + AsMut<[u8]>>` block, so a read-only view can never
//!   mutate its buffer. Field offsets are declared once in a private
//!   `mod field`.
//! * `XRepr`: the small, validated value form. `parse(&view) -> Result<Repr>`,
//!   `buffer_len()` and `emit(&mut view)`. `emit` writes every byte of the
//!   header (tests emit into a buffer pre-filled with `0xa5` to prove it).
//!
//! Protocol numbers are enums that keep unknown values (`Unknown(n)`), so what
//! we do not interpret still round-trips byte for byte.
//!
//! Multi-byte fields are big-endian on the wire; accessors return host-order
//! integers.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod geneve;
pub mod gre;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6ext;
pub mod mpls;
pub mod pbb;
pub mod sctp;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};

use core::fmt;

/// Why a view or a `Repr` could not be built. Tiny and `Copy`: parsing errors
/// are per packet and must cost nothing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the header (or than a length field says).
    Truncated,
    /// A field holds a value the header does not allow (bad version, a length
    /// field smaller than the fixed header, a wrong magic number...).
    Malformed,
    /// A checksum did not verify.
    Checksum,
    /// A header or option this module does not implement.
    Unrecognized,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated header",
            Error::Malformed => "malformed header",
            Error::Checksum => "checksum mismatch",
            Error::Unrecognized => "unrecognized header",
        })
    }
}

impl std::error::Error for Error {}

/// Result of parsing a header.
pub type Result<T> = core::result::Result<T, Error>;

/// A byte range of a header field.
pub(crate) type Field = core::ops::Range<usize>;
/// A field that runs from an offset to the end of the buffer.
pub(crate) type Rest = core::ops::RangeFrom<usize>;

/// Big-endian reads and writes on slices whose length the caller has checked.
#[allow(dead_code)] // not every width is used by every header
pub(crate) mod be {
    #[inline(always)]
    pub fn u16(b: &[u8]) -> u16 {
        u16::from_be_bytes([b[0], b[1]])
    }
    #[inline(always)]
    pub fn u24(b: &[u8]) -> u32 {
        u32::from_be_bytes([0, b[0], b[1], b[2]])
    }
    #[inline(always)]
    pub fn u32(b: &[u8]) -> u32 {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    #[inline(always)]
    pub fn u64(b: &[u8]) -> u64 {
        u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
    #[inline(always)]
    pub fn put_u16(b: &mut [u8], v: u16) {
        b[..2].copy_from_slice(&v.to_be_bytes());
    }
    #[inline(always)]
    pub fn put_u24(b: &mut [u8], v: u32) {
        b[..3].copy_from_slice(&v.to_be_bytes()[1..]);
    }
    #[inline(always)]
    pub fn put_u32(b: &mut [u8], v: u32) {
        b[..4].copy_from_slice(&v.to_be_bytes());
    }
    #[inline(always)]
    pub fn put_u64(b: &mut [u8], v: u64) {
        b[..8].copy_from_slice(&v.to_be_bytes());
    }
}

/// Declares a protocol-number enum that keeps unknown values.
///
/// ```ignore
/// enum_with_unknown! {
///     /// doc
///     pub enum EtherType(u16) { Ipv4 = 0x0800, Arp = 0x0806 }
/// }
/// ```
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vattr])* $variant ),+,
            /// A value this crate does not interpret, kept as is.
            Unknown($ty),
        }

        impl ::core::convert::From<$ty> for $name {
            #[inline]
            fn from(value: $ty) -> Self {
                match value {
                    $( v if v == $value => $name::$variant ),+,
                    other => $name::Unknown(other),
                }
            }
        }

        impl ::core::convert::From<$name> for $ty {
            #[inline]
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value ),+,
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}
pub(crate) use enum_with_unknown;

enum_with_unknown! {
    /// IP protocol numbers (IPv4 `protocol`, IPv6 `next header`).
    pub enum IpProtocol(u8) {
        /// IPv6 hop-by-hop options.
        HopByHop = 0,
        Icmp = 1,
        Igmp = 2,
        /// IPv4 in IP.
        IpIp = 4,
        Tcp = 6,
        Udp = 17,
        /// IPv6 in IP.
        Ipv6 = 41,
        /// IPv6 routing header.
        Ipv6Route = 43,
        /// IPv6 fragment header.
        Ipv6Frag = 44,
        Gre = 47,
        /// IPsec encapsulating security payload.
        Esp = 50,
        /// IPsec authentication header.
        Ah = 51,
        Icmpv6 = 58,
        /// IPv6 "no next header".
        Ipv6NoNxt = 59,
        /// IPv6 destination options.
        Ipv6Opts = 60,
        Sctp = 132,
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    /// A buffer of `len` bytes, every one `0xa5`: what `emit` forgets to
    /// write shows up as `0xa5` in the comparison.
    pub fn poisoned(len: usize) -> Vec<u8> {
        vec![0xa5; len]
    }
}
