//! Port, queue and table multipart entries: PORT_STATS, QUEUE_STATS,
//! TABLE_FEATURES, TABLE_DESC and QUEUE_DESC, for OpenFlow 1.0 (stats
//! replies), 1.3 and 1.4/1.5 (length-prefixed entries with properties).
//!
//! Contract:
//! * One version-independent struct per entry. Counters a version lacks are
//!   0 when decoded (durations in 1.0). In 1.4+ the Ethernet counters of a
//!   port (`rx_frame_err`, `rx_over_err`, `rx_crc_err`, `collisions`) are
//!   the Ethernet property, which encoding always writes; other properties
//!   are kept as bytes.
//! * Table-feature properties are [`TableFeatureProp`]s: instruction and
//!   action type lists, next tables, OXM header lists (match, wildcards,
//!   set-field), each with its table-miss twin; a property that is not one
//!   of these, or that carries experimenter ids, is kept as bytes
//!   ([`TableFeatureProp::Other`]), so decoding is lossless. A property
//!   shorter than its header or past the end is `BadPropertyBadLen`.
//! * Table-desc properties are kept as bytes.
//! * An entry whose length field is below its fixed part or past the end is
//!   `BadRequestBadLen`; nothing panics.

use super::Version;
use super::error::{EncodeError, ErrorKind};
use super::port::{PortNo, of10_port, port_from_of10};
use super::wire::{Put, Reader, get_str, put_str};

/// One port's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortStats {
    /// Port.
    pub port_no: PortNo,
    /// Seconds alive (1.3+).
    pub duration_sec: u32,
    /// Nanoseconds beyond that (1.3+).
    pub duration_nsec: u32,
    /// Received packets.
    pub rx_packets: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Packets dropped on receive.
    pub rx_dropped: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Frame alignment errors.
    pub rx_frame_err: u64,
    /// Overruns.
    pub rx_over_err: u64,
    /// CRC errors.
    pub rx_crc_err: u64,
    /// Collisions.
    pub collisions: u64,
    /// 1.4+ properties other than Ethernet, as bytes.
    pub other_properties: Vec<u8>,
}

impl PortStats {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<PortStats, ErrorKind> {
        let mut s = PortStats::default();
        match version {
            Version::V1_0 | Version::V1_1 | Version::V1_2 | Version::V1_3 => {
                if version == Version::V1_0 {
                    s.port_no = port_from_of10(r.u16()?);
                    r.skip(6)?;
                } else {
                    s.port_no = r.u32()?;
                    r.skip(4)?;
                }
                s.rx_packets = r.u64()?;
                s.tx_packets = r.u64()?;
                s.rx_bytes = r.u64()?;
                s.tx_bytes = r.u64()?;
                s.rx_dropped = r.u64()?;
                s.tx_dropped = r.u64()?;
                s.rx_errors = r.u64()?;
                s.tx_errors = r.u64()?;
                s.rx_frame_err = r.u64()?;
                s.rx_over_err = r.u64()?;
                s.rx_crc_err = r.u64()?;
                s.collisions = r.u64()?;
                if version != Version::V1_0 {
                    s.duration_sec = r.u32()?;
                    s.duration_nsec = r.u32()?;
                }
            }
            Version::V1_4 | Version::V1_5 => {
                let len = usize::from(r.peek_u16(0)?);
                if len < 80 || len > r.remaining() {
                    return Err(ErrorKind::BadRequestBadLen);
                }
                let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
                e.skip(4)?;
                s.port_no = e.u32()?;
                s.duration_sec = e.u32()?;
                s.duration_nsec = e.u32()?;
                s.rx_packets = e.u64()?;
                s.tx_packets = e.u64()?;
                s.rx_bytes = e.u64()?;
                s.tx_bytes = e.u64()?;
                s.rx_dropped = e.u64()?;
                s.tx_dropped = e.u64()?;
                s.rx_errors = e.u64()?;
                s.tx_errors = e.u64()?;
                while !e.is_empty() {
                    let ty = e.peek_u16(0)?;
                    let plen = usize::from(e.peek_u16(2)?);
                    if plen < 4 || plen > e.remaining() {
                        return Err(ErrorKind::BadPropertyBadLen);
                    }
                    let mut p = e.sub(
                        plen.div_ceil(8).saturating_mul(8).min(e.remaining()),
                        e.err(),
                    )?;
                    if ty == 0 && plen == 40 {
                        p.skip(8)?;
                        s.rx_frame_err = p.u64()?;
                        s.rx_over_err = p.u64()?;
                        s.rx_crc_err = p.u64()?;
                        s.collisions = p.u64()?;
                    } else {
                        s.other_properties.extend_from_slice(p.rest());
                    }
                }
            }
        }
        Ok(s)
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let counters = |w: &mut Vec<u8>| {
            for c in [
                self.rx_packets,
                self.tx_packets,
                self.rx_bytes,
                self.tx_bytes,
                self.rx_dropped,
                self.tx_dropped,
                self.rx_errors,
                self.tx_errors,
            ] {
                w.put_u64(c);
            }
        };
        let eth = |w: &mut Vec<u8>| {
            for c in [
                self.rx_frame_err,
                self.rx_over_err,
                self.rx_crc_err,
                self.collisions,
            ] {
                w.put_u64(c);
            }
        };
        if version >= Version::V1_4 {
            let start = w.len();
            w.put_u16(0);
            w.put_u16(0);
            w.put_u32(self.port_no);
            w.put_u32(self.duration_sec);
            w.put_u32(self.duration_nsec);
            counters(w);
            w.put_u16(0);
            w.put_u16(40);
            w.put_u32(0);
            eth(w);
            w.extend_from_slice(&self.other_properties);
            let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
            w.patch_u16(start, len);
            return Ok(());
        }
        if !self.other_properties.is_empty() {
            return Err(EncodeError::NotInVersion(
                "port stats properties before OpenFlow 1.4",
            ));
        }
        if version == Version::V1_0 {
            w.put_u16(of10_port(self.port_no)?);
            w.put_zeros(6);
        } else {
            w.put_u32(self.port_no);
            w.put_u32(0);
        }
        counters(w);
        eth(w);
        if version != Version::V1_0 {
            w.put_u32(self.duration_sec);
            w.put_u32(self.duration_nsec);
        }
        Ok(())
    }
}

/// One queue's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Port.
    pub port_no: PortNo,
    /// Queue.
    pub queue_id: u32,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Packets dropped.
    pub tx_errors: u64,
    /// Seconds alive (1.3+).
    pub duration_sec: u32,
    /// Nanoseconds beyond that (1.3+).
    pub duration_nsec: u32,
    /// 1.4+ properties, as bytes.
    pub properties: Vec<u8>,
}

impl QueueStats {
    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<QueueStats, ErrorKind> {
        let mut s = QueueStats::default();
        let mut e = if version >= Version::V1_4 {
            let len = usize::from(r.peek_u16(0)?);
            if len < 48 || len > r.remaining() {
                return Err(ErrorKind::BadRequestBadLen);
            }
            let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
            e.skip(8)?;
            e
        } else {
            let n = if version == Version::V1_0 { 32 } else { 40 };
            r.sub(n, ErrorKind::BadRequestBadLen)?
        };
        if version == Version::V1_0 {
            s.port_no = port_from_of10(e.u16()?);
            e.skip(2)?;
        } else {
            s.port_no = e.u32()?;
        }
        s.queue_id = e.u32()?;
        s.tx_bytes = e.u64()?;
        s.tx_packets = e.u64()?;
        s.tx_errors = e.u64()?;
        if version != Version::V1_0 {
            s.duration_sec = e.u32()?;
            s.duration_nsec = e.u32()?;
        }
        s.properties = e.rest().to_vec();
        Ok(s)
    }

    pub(crate) fn encode(&self, version: Version, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = w.len();
        if version >= Version::V1_4 {
            w.put_u16(0);
            w.put_zeros(6);
        } else if !self.properties.is_empty() {
            return Err(EncodeError::NotInVersion(
                "queue stats properties before OpenFlow 1.4",
            ));
        }
        if version == Version::V1_0 {
            w.put_u16(of10_port(self.port_no)?);
            w.put_u16(0);
        } else {
            w.put_u32(self.port_no);
        }
        w.put_u32(self.queue_id);
        w.put_u64(self.tx_bytes);
        w.put_u64(self.tx_packets);
        w.put_u64(self.tx_errors);
        if version != Version::V1_0 {
            w.put_u32(self.duration_sec);
            w.put_u32(self.duration_nsec);
        }
        if version >= Version::V1_4 {
            w.extend_from_slice(&self.properties);
            let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
            w.patch_u16(start, len);
        }
        Ok(())
    }
}

/// One table's features (TABLE_FEATURES request or reply entry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableFeatures {
    /// Table.
    pub table_id: u8,
    /// Name (31 bytes max).
    pub name: String,
    /// Metadata bits the table can match.
    pub metadata_match: u64,
    /// Metadata bits the table can write.
    pub metadata_write: u64,
    /// 1.3: `config`; 1.4+: `capabilities`.
    pub capabilities: u32,
    /// Maximum flows.
    pub max_entries: u32,
    /// Feature properties (instructions, next tables, actions, match, ...).
    pub properties: Vec<TableFeatureProp>,
}

/// One table-feature property. `miss`: the property describes the
/// table-miss flow (the odd property type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableFeatureProp {
    /// Supported instruction types (`OFPIT_*`).
    Instructions {
        /// Table-miss twin.
        miss: bool,
        /// Instruction types.
        types: Vec<u16>,
    },
    /// Tables a goto-table may go to.
    NextTables {
        /// Table-miss twin.
        miss: bool,
        /// Table ids.
        tables: Vec<u8>,
    },
    /// Action types for write-actions (`apply: false`) or apply-actions.
    Actions {
        /// Apply-actions (else write-actions).
        apply: bool,
        /// Table-miss twin.
        miss: bool,
        /// Action types (`OFPAT_*`).
        types: Vec<u16>,
    },
    /// Matchable fields: OXM headers as 32-bit words (an experimenter-class
    /// header is followed by its experimenter id).
    Match(Vec<u32>),
    /// Fields that may be wildcarded.
    Wildcards(Vec<u32>),
    /// Fields set-field may write, in write-actions or apply-actions.
    Setfield {
        /// Apply-actions (else write-actions).
        apply: bool,
        /// Table-miss twin.
        miss: bool,
        /// OXM headers.
        fields: Vec<u32>,
    },
    /// Anything else: the property type and its value bytes.
    Other {
        /// Property type.
        ty: u16,
        /// Value (after the 4-byte header, before padding).
        body: Vec<u8>,
    },
}

impl TableFeatureProp {
    fn decode(ty: u16, body: &[u8]) -> TableFeatureProp {
        let other = || TableFeatureProp::Other {
            ty,
            body: body.to_vec(),
        };
        let miss = ty & 1 == 1;
        // Lists of 4-byte ids: `type:16 len:16` (instructions, actions) or
        // OXM headers; experimenter ids (longer) are left as bytes.
        let ids16 = || -> Option<Vec<u16>> {
            if !body.len().is_multiple_of(4) {
                return None;
            }
            body.chunks(4)
                .map(|c| {
                    let t = u16::from_be_bytes([c[0], c[1]]);
                    let l = u16::from_be_bytes([c[2], c[3]]);
                    (l == 4 && t != 0xffff).then_some(t)
                })
                .collect()
        };
        // OXM ids as the wire's 32-bit words: an experimenter-class header
        // is followed by its experimenter id.
        let oxm = || -> Option<Vec<u32>> {
            if !body.len().is_multiple_of(4) {
                return None;
            }
            let words: Vec<u32> = body
                .chunks(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let mut i = 0;
            while i < words.len() {
                i += if words[i] >> 16 == 0xffff { 2 } else { 1 };
            }
            (i == words.len()).then_some(words)
        };
        let r = match ty {
            0 | 1 => ids16().map(|types| TableFeatureProp::Instructions { miss, types }),
            2 | 3 => Some(TableFeatureProp::NextTables {
                miss,
                tables: body.to_vec(),
            }),
            4..=7 => ids16().map(|types| TableFeatureProp::Actions {
                apply: ty >= 6,
                miss,
                types,
            }),
            8 => oxm().map(TableFeatureProp::Match),
            10 => oxm().map(TableFeatureProp::Wildcards),
            12..=15 => oxm().map(|fields| TableFeatureProp::Setfield {
                apply: ty >= 14,
                miss,
                fields,
            }),
            _ => None,
        };
        r.unwrap_or_else(other)
    }

    fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = w.len();
        let ty = match self {
            TableFeatureProp::Instructions { miss, .. } => u16::from(*miss),
            TableFeatureProp::NextTables { miss, .. } => 2 + u16::from(*miss),
            TableFeatureProp::Actions { apply, miss, .. } => {
                4 + 2 * u16::from(*apply) + u16::from(*miss)
            }
            TableFeatureProp::Match(_) => 8,
            TableFeatureProp::Wildcards(_) => 10,
            TableFeatureProp::Setfield { apply, miss, .. } => {
                12 + 2 * u16::from(*apply) + u16::from(*miss)
            }
            TableFeatureProp::Other { ty, .. } => *ty,
        };
        w.put_u16(ty);
        w.put_u16(0);
        match self {
            TableFeatureProp::Instructions { types, .. }
            | TableFeatureProp::Actions { types, .. } => {
                for t in types {
                    w.put_u16(*t);
                    w.put_u16(4);
                }
            }
            TableFeatureProp::NextTables { tables, .. } => w.extend_from_slice(tables),
            TableFeatureProp::Match(v)
            | TableFeatureProp::Wildcards(v)
            | TableFeatureProp::Setfield { fields: v, .. } => v.iter().for_each(|h| w.put_u32(*h)),
            TableFeatureProp::Other { body, .. } => w.extend_from_slice(body),
        }
        let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
        w.patch_u16(start + 2, len);
        w.pad8_from(start);
        Ok(())
    }
}

fn decode_table_feature_props(r: &mut Reader<'_>) -> Result<Vec<TableFeatureProp>, ErrorKind> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let ty = r.peek_u16(0)?;
        let len = usize::from(r.peek_u16(2)?);
        if len < 4 || len > r.remaining() {
            return Err(ErrorKind::BadPropertyBadLen);
        }
        let p = r.bytes(len)?;
        let pad = (len.div_ceil(8) * 8 - len).min(r.remaining());
        r.skip(pad)?;
        out.push(TableFeatureProp::decode(ty, &p[4..]));
    }
    Ok(out)
}

impl TableFeatures {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<TableFeatures, ErrorKind> {
        let len = usize::from(r.peek_u16(0)?);
        if len < 64 || len > r.remaining() {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
        e.skip(2)?;
        let table_id = e.u8()?;
        e.skip(5)?;
        Ok(TableFeatures {
            table_id,
            name: get_str(&mut e, 32)?,
            metadata_match: e.u64()?,
            metadata_write: e.u64()?,
            capabilities: e.u32()?,
            max_entries: e.u32()?,
            properties: decode_table_feature_props(&mut e)?,
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = w.len();
        w.put_u16(0);
        w.put_u8(self.table_id);
        w.put_zeros(5);
        put_str(w, &self.name, 32);
        w.put_u64(self.metadata_match);
        w.put_u64(self.metadata_write);
        w.put_u32(self.capabilities);
        w.put_u32(self.max_entries);
        for p in &self.properties {
            p.encode(w)?;
        }
        let len = u16::try_from(w.len() - start).map_err(|_| EncodeError::TooLong)?;
        w.patch_u16(start, len);
        Ok(())
    }
}

/// One table's description (1.4+ TABLE_DESC reply entry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableDesc {
    /// Table.
    pub table_id: u8,
    /// `OFPTC_*` bits.
    pub config: u32,
    /// Properties (eviction, vacancy), as bytes.
    pub properties: Vec<u8>,
}

impl TableDesc {
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<TableDesc, ErrorKind> {
        let len = usize::from(r.peek_u16(0)?);
        if len < 8 || len > r.remaining() {
            return Err(ErrorKind::BadRequestBadLen);
        }
        let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
        e.skip(2)?;
        let table_id = e.u8()?;
        e.skip(1)?;
        Ok(TableDesc {
            table_id,
            config: e.u32()?,
            properties: e.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = 8 + self.properties.len();
        w.put_u16(u16::try_from(len).map_err(|_| EncodeError::TooLong)?);
        w.put_u8(self.table_id);
        w.put_u8(0);
        w.put_u32(self.config);
        w.extend_from_slice(&self.properties);
        Ok(())
    }
}

/// Decodes a 1.4+ QUEUE_DESC reply entry.
pub(crate) fn decode_queue_desc(r: &mut Reader<'_>) -> Result<super::QueueConfig, ErrorKind> {
    let len = usize::from(r.peek_u16(8)?);
    if len < 16 || len > r.remaining() {
        return Err(ErrorKind::BadRequestBadLen);
    }
    let mut e = r.sub(len, ErrorKind::BadRequestBadLen)?;
    let port_no = e.u32()?;
    let queue_id = e.u32()?;
    e.skip(8)?;
    Ok(super::QueueConfig {
        queue_id,
        port_no,
        properties: e.rest().to_vec(),
    })
}

/// Encodes a 1.4+ QUEUE_DESC reply entry.
pub(crate) fn encode_queue_desc(
    q: &super::QueueConfig,
    w: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    w.put_u32(q.port_no);
    w.put_u32(q.queue_id);
    let len = 16 + q.properties.len();
    w.put_u16(u16::try_from(len).map_err(|_| EncodeError::TooLong)?);
    w.put_zeros(6);
    w.extend_from_slice(&q.properties);
    Ok(())
}
