//! SCTP packets (RFC 9260, formerly RFC 4960): the 12-byte common header
//! and the chunks after it, plus a software CRC32c.
//!
//! Once `check_len` has succeeded the buffer holds the common header; the
//! chunks are not validated until iterated ([`SctpPacket::chunks`] yields an
//! error for a bad chunk and then stops).
//!
//! The checksum is CRC32c (Castagnoli) over the whole packet with the
//! checksum field taken as zero. RFC 4960 appendix B transmits the CRC least
//! significant byte first, so the field is little-endian on the wire, unlike
//! every other field. [`SctpPacket::checksum`] returns the CRC value itself.

use super::{Error, Field, Result, be, enum_with_unknown};
use core::iter::FusedIterator;

/// The reflected Castagnoli polynomial 0x1EDC6F41.
const CRC32C_POLY: u32 = 0x82f6_3b78;

/// `TABLES[k][b]`: the CRC register contribution of byte `b` followed by `k`
/// zero bytes (slicing-by-8).
static CRC32C_TABLES: [[u32; 256]; 8] = crc32c_tables();

const fn crc32c_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ CRC32C_POLY
            } else {
                c >> 1
            };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Runs the raw CRC register (no pre/post inversion) over `data`.
fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    let t = &CRC32C_TABLES;
    let mut blocks = data.chunks_exact(8);
    for b in &mut blocks {
        let lo = crc ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let hi = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in blocks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ u32::from(b)) & 0xff) as usize];
    }
    crc
}

/// CRC32c (Castagnoli, as used by SCTP and iSCSI) of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_append(0, data)
}

/// Continues a CRC32c: `crc32c_append(crc32c(a), b) == crc32c(a ++ b)`.
#[inline]
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    !crc32c_update(!crc, data)
}

enum_with_unknown! {
    /// SCTP chunk types.
    pub enum SctpChunkType(u8) {
        Data = 0,
        Init = 1,
        InitAck = 2,
        Sack = 3,
        Heartbeat = 4,
        HeartbeatAck = 5,
        Abort = 6,
        Shutdown = 7,
        ShutdownAck = 8,
        Error = 9,
        CookieEcho = 10,
        CookieAck = 11,
        /// Explicit congestion notification echo.
        Ecne = 12,
        /// Congestion window reduced.
        Cwr = 13,
        ShutdownComplete = 14,
        /// Authentication (RFC 4895).
        Auth = 15,
        /// Interleaved data (RFC 8260).
        IData = 64,
        /// Address configuration acknowledgment (RFC 5061).
        AsconfAck = 128,
        /// Stream reconfiguration (RFC 6525).
        ReConfig = 130,
        /// Padding (RFC 4820).
        Pad = 132,
        /// Forward cumulative TSN (RFC 3758).
        ForwardTsn = 192,
        /// Address configuration change (RFC 5061).
        Asconf = 193,
        /// Interleaved forward TSN (RFC 8260).
        IForwardTsn = 194,
    }
}

mod field {
    use super::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const VERIFICATION_TAG: Field = 4..8;
    pub const CHECKSUM: Field = 8..12;
    pub const CHUNKS: usize = 12;

    pub const CHUNK_TYPE: usize = 0;
    pub const CHUNK_FLAGS: usize = 1;
    pub const CHUNK_LENGTH: Field = 2..4;
    pub const CHUNK_VALUE: usize = 4;
}

/// Length of the SCTP common header.
pub const HEADER_LEN: usize = field::CHUNKS;
/// Length of a chunk header (type, flags, length).
pub const CHUNK_HEADER_LEN: usize = field::CHUNK_VALUE;

/// A view over an SCTP packet.
#[derive(Debug, Clone)]
pub struct SctpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SctpPacket<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> SctpPacket<T> {
        SctpPacket { buffer }
    }

    /// Wraps `buffer` and calls [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<SctpPacket<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Fails with [`Error::Truncated`] when the buffer is shorter than the
    /// common header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    /// The destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be::u16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// The verification tag.
    #[inline]
    pub fn verification_tag(&self) -> u32 {
        be::u32(&self.buffer.as_ref()[field::VERIFICATION_TAG])
    }

    /// The CRC32c the checksum field holds (read little-endian).
    #[inline]
    pub fn checksum(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The chunk bytes (everything after the common header).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::CHUNKS..]
    }

    /// An iterator over the chunks.
    #[inline]
    pub fn chunks(&self) -> SctpChunkIter<'_> {
        SctpChunkIter::new(self.payload())
    }

    /// The CRC32c of the packet with the checksum field taken as zero.
    pub fn compute_checksum(&self) -> u32 {
        let data = self.buffer.as_ref();
        let crc = crc32c_update(!0, &data[..field::CHECKSUM.start]);
        let crc = crc32c_update(crc, &[0; 4]);
        !crc32c_update(crc, &data[field::CHECKSUM.end..])
    }

    /// True when the checksum field matches the packet.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        self.compute_checksum() == self.checksum()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SctpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::SRC_PORT], value)
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, value: u16) {
        be::put_u16(&mut self.buffer.as_mut()[field::DST_PORT], value)
    }

    /// Sets the verification tag.
    #[inline]
    pub fn set_verification_tag(&mut self, value: u32) {
        be::put_u32(&mut self.buffer.as_mut()[field::VERIFICATION_TAG], value)
    }

    /// Stores a CRC32c value in the checksum field (little-endian).
    #[inline]
    pub fn set_checksum(&mut self, value: u32) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_le_bytes())
    }

    /// The chunk bytes, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::CHUNKS..]
    }

    /// Computes and stores the checksum over the whole buffer.
    #[inline]
    pub fn fill_checksum(&mut self) {
        let c = self.compute_checksum();
        self.set_checksum(c)
    }
}

/// One chunk, as [`SctpChunkIter`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SctpChunk<'a> {
    pub chunk_type: SctpChunkType,
    pub flags: u8,
    /// The value bytes: the chunk's length field minus 4, padding excluded.
    pub value: &'a [u8],
}

impl SctpChunk<'_> {
    /// The chunk's length field (header plus value, padding excluded).
    #[inline]
    pub fn length(&self) -> usize {
        CHUNK_HEADER_LEN + self.value.len()
    }

    /// Bytes the chunk occupies in the packet, padding included.
    #[inline]
    pub fn padded_len(&self) -> usize {
        self.length().next_multiple_of(4)
    }
}

/// Iterates over the chunks of an SCTP packet.
///
/// Each chunk starts at a multiple of four bytes. A chunk whose length field
/// is below 4 yields [`Error::Malformed`], one that runs past the buffer (or
/// trailing bytes too short for a chunk header) yields [`Error::Truncated`];
/// after an error the iterator ends. Padding missing after the last chunk is
/// tolerated.
#[derive(Debug, Clone)]
pub struct SctpChunkIter<'a> {
    rest: &'a [u8],
}

impl<'a> SctpChunkIter<'a> {
    /// Iterates over the chunks in `data` (the bytes after the common
    /// header).
    pub const fn new(data: &'a [u8]) -> SctpChunkIter<'a> {
        SctpChunkIter { rest: data }
    }

    fn fail(&mut self, e: Error) -> Option<Result<SctpChunk<'a>>> {
        self.rest = &[];
        Some(Err(e))
    }
}

impl<'a> Iterator for SctpChunkIter<'a> {
    type Item = Result<SctpChunk<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.rest;
        if data.is_empty() {
            return None;
        }
        if data.len() < CHUNK_HEADER_LEN {
            return self.fail(Error::Truncated);
        }
        let len = usize::from(be::u16(&data[field::CHUNK_LENGTH]));
        if len < CHUNK_HEADER_LEN {
            return self.fail(Error::Malformed);
        }
        if len > data.len() {
            return self.fail(Error::Truncated);
        }
        let chunk = SctpChunk {
            chunk_type: SctpChunkType::from(data[field::CHUNK_TYPE]),
            flags: data[field::CHUNK_FLAGS],
            value: &data[field::CHUNK_VALUE..len],
        };
        self.rest = &data[len.next_multiple_of(4).min(data.len())..];
        Some(Ok(chunk))
    }
}

impl FusedIterator for SctpChunkIter<'_> {}

/// The value form of the SCTP common header. Chunks are not part of the
/// value: `payload_len` only sizes the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SctpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub verification_tag: u32,
    pub payload_len: usize,
}

impl SctpRepr {
    /// Parses a view; neither the checksum nor the chunks are checked.
    pub fn parse<T: AsRef<[u8]>>(packet: &SctpPacket<T>) -> Result<SctpRepr> {
        packet.check_len()?;
        Ok(SctpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            verification_tag: packet.verification_tag(),
            payload_len: packet.payload().len(),
        })
    }

    /// Length of the common header.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus chunks length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the common header (checksum zero) into `packet`, whose buffer
    /// must be at least 12 bytes long. Write the chunks, then call
    /// [`SctpPacket::fill_checksum`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut SctpPacket<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_verification_tag(self.verification_tag);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::test_util::poisoned;
    use proptest::prelude::*;

    /// A Diameter association's INIT, port 4068 -> 3868: initiate tag
    /// 0xbb7b0f9c, a_rwnd 64000, 10 streams each way, initial TSN 0xbb7b0f9c.
    /// The CRC32c bytes `9f 78 a7 04` come from the capture.
    static INIT: [u8; 32] = [
        0x0f, 0xe4, 0x0f, 0x1c, // ports
        0x00, 0x00, 0x00, 0x00, // verification tag (0 in an INIT)
        0x9f, 0x78, 0xa7, 0x04, // CRC32c, little-endian
        0x01, 0x00, 0x00, 0x14, // INIT, flags 0, length 20
        0xbb, 0x7b, 0x0f, 0x9c, // initiate tag
        0x00, 0x00, 0xfa, 0x00, // a_rwnd
        0x00, 0x0a, 0x00, 0x0a, // outbound, inbound streams
        0xbb, 0x7b, 0x0f, 0x9c, // initial TSN
    ];

    fn init_repr() -> SctpRepr {
        SctpRepr {
            src_port: 4068,
            dst_port: 3868,
            verification_tag: 0,
            payload_len: 20,
        }
    }

    /// Bit-at-a-time reference CRC32c.
    fn crc32c_bitwise(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ CRC32C_POLY
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn crc32c_rfc3720_vectors() {
        // RFC 3720 appendix B.4; the RFC lists the CRC bytes in transmission
        // order, i.e. the value's least significant byte first.
        assert_eq!(crc32c(&[0; 32]).to_le_bytes(), [0xaa, 0x36, 0x91, 0x8a]);
        assert_eq!(crc32c(&[0xff; 32]).to_le_bytes(), [0x43, 0xab, 0xa8, 0x62]);
        let inc: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&inc).to_le_bytes(), [0x4e, 0x79, 0xdd, 0x46]);
        let dec: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&dec).to_le_bytes(), [0x5c, 0xdb, 0x3f, 0x11]);
        // The usual "check" value.
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn parse_init() {
        let p = SctpPacket::new_checked(&INIT[..]).unwrap();
        assert_eq!(p.src_port(), 4068);
        assert_eq!(p.dst_port(), 3868);
        assert_eq!(p.verification_tag(), 0);
        assert_eq!(p.checksum(), 0x04a7_789f);
        assert!(p.verify_checksum());
        let chunks: Vec<_> = p.chunks().collect();
        assert_eq!(chunks.len(), 1);
        let c = chunks[0].unwrap();
        assert_eq!(c.chunk_type, SctpChunkType::Init);
        assert_eq!(c.flags, 0);
        assert_eq!(c.length(), 20);
        assert_eq!(&c.value[..4], &[0xbb, 0x7b, 0x0f, 0x9c]);
        assert_eq!(SctpRepr::parse(&p).unwrap(), init_repr());
    }

    #[test]
    fn emit_init_writes_every_byte() {
        let r = init_repr();
        let mut buf = poisoned(r.buffer_len());
        let mut p = SctpPacket::new_unchecked(&mut buf[..]);
        r.emit(&mut p);
        assert_eq!(p.checksum(), 0);
        p.payload_mut().copy_from_slice(&INIT[12..]);
        p.fill_checksum();
        assert_eq!(&buf[..], &INIT[..]);
    }

    #[test]
    fn bad_checksum() {
        let mut bytes = INIT;
        bytes[20] ^= 0x01;
        assert!(
            !SctpPacket::new_checked(&bytes[..])
                .unwrap()
                .verify_checksum()
        );
        let mut bytes = INIT;
        bytes[8..12].reverse(); // big-endian storage is wrong
        assert!(
            !SctpPacket::new_checked(&bytes[..])
                .unwrap()
                .verify_checksum()
        );
    }

    #[test]
    fn truncated_header() {
        assert_eq!(
            SctpPacket::new_checked(&INIT[..11]).unwrap_err(),
            Error::Truncated
        );
    }

    #[test]
    fn chunk_length_below_header() {
        let mut bytes = INIT;
        bytes[14..16].copy_from_slice(&[0, 3]);
        let p = SctpPacket::new_checked(&bytes[..]).unwrap();
        let v: Vec<_> = p.chunks().collect();
        assert_eq!(v, [Err(Error::Malformed)]);
        bytes[14..16].copy_from_slice(&[0, 0]);
        let p = SctpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.chunks().collect::<Vec<_>>(), [Err(Error::Malformed)]);
    }

    #[test]
    fn chunk_past_buffer() {
        let p = SctpPacket::new_checked(&INIT[..31]).unwrap();
        assert_eq!(p.chunks().collect::<Vec<_>>(), [Err(Error::Truncated)]);
    }

    #[test]
    fn trailing_bytes_too_short_for_a_chunk() {
        let mut bytes = INIT.to_vec();
        bytes.extend_from_slice(&[0x0b, 0x00]);
        let p = SctpPacket::new_checked(&bytes[..]).unwrap();
        let v: Vec<_> = p.chunks().collect();
        assert_eq!(v.len(), 2);
        assert!(v[0].is_ok());
        assert_eq!(v[1], Err(Error::Truncated));
    }

    #[test]
    fn chunks_are_padded() {
        // COOKIE ECHO with a 5-byte cookie (length 9, padded to 12), then a
        // DATA chunk of 4 + 12 bytes, then an unpadded 5-byte chunk at the end.
        let mut bytes = vec![0; 12];
        bytes.extend_from_slice(&[10, 0, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0]);
        bytes.extend_from_slice(&[0, 3, 0, 16]);
        bytes.extend_from_slice(&[0xaa; 12]);
        bytes.extend_from_slice(&[200, 0, 0, 5, 7]);
        let p = SctpPacket::new_checked(&bytes[..]).unwrap();
        let v: Vec<_> = p.chunks().map(|c| c.unwrap()).collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].chunk_type, SctpChunkType::CookieEcho);
        assert_eq!(v[0].value, &[1, 2, 3, 4, 5]);
        assert_eq!(v[0].padded_len(), 12);
        assert_eq!(v[1].chunk_type, SctpChunkType::Data);
        assert_eq!(v[1].flags, 3);
        assert_eq!(v[1].value.len(), 12);
        assert_eq!(v[2].chunk_type, SctpChunkType::Unknown(200));
        assert_eq!(v[2].value, &[7]);
    }

    proptest! {
        #[test]
        fn slicing_matches_bitwise(
            data in proptest::collection::vec(any::<u8>(), 0..100),
            split in 0usize..100,
        ) {
            let crc = crc32c(&data);
            prop_assert_eq!(crc, crc32c_bitwise(&data));
            let (a, b) = data.split_at(split.min(data.len()));
            prop_assert_eq!(crc32c_append(crc32c(a), b), crc);
        }

        #[test]
        fn repr_round_trips(src_port: u16, dst_port: u16, tag: u32, payload_len in 0usize..64) {
            let r = SctpRepr { src_port, dst_port, verification_tag: tag, payload_len };
            let mut buf = poisoned(r.buffer_len());
            let mut p = SctpPacket::new_unchecked(&mut buf[..]);
            r.emit(&mut p);
            p.fill_checksum();
            let p = SctpPacket::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(SctpRepr::parse(&p).unwrap(), r);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            match SctpPacket::new_checked(&bytes[..]) {
                Ok(p) => {
                    let _ = (p.src_port(), p.dst_port(), p.verification_tag(), p.checksum());
                    let _ = p.verify_checksum();
                    prop_assert!(SctpRepr::parse(&p).is_ok());
                    let mut seen = 0;
                    for c in p.chunks() {
                        if let Ok(c) = c {
                            seen += c.padded_len();
                        }
                        prop_assert!(seen <= bytes.len() + 3);
                    }
                    prop_assert!(p.chunks().count() <= bytes.len() / 4 + 1);
                }
                Err(_) => {
                    prop_assert!(SctpRepr::parse(&SctpPacket::new_unchecked(&bytes[..])).is_err())
                }
            }
        }

        #[test]
        fn chunk_iter_on_small_lengths(
            lens in proptest::collection::vec(0u16..24, 0..8),
        ) {
            // Chunks with plausible (often invalid) length fields.
            let mut data = Vec::new();
            for l in &lens {
                data.extend_from_slice(&[0, 0]);
                data.extend_from_slice(&l.to_be_bytes());
                data.resize(data.len() + usize::from(*l).saturating_sub(4), 0);
            }
            let n = SctpChunkIter::new(&data).count();
            prop_assert!(n <= data.len() / 4 + 1);
        }
    }
}
