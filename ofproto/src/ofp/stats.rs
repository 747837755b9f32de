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
//! * Table-feature properties and table-desc properties are kept as bytes.
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
    /// Feature properties (instructions, next tables, actions, match, ...),
    /// as bytes.
    pub properties: Vec<u8>,
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
            properties: e.rest().to_vec(),
        })
    }

    pub(crate) fn encode(&self, w: &mut Vec<u8>) -> Result<(), EncodeError> {
        let len = 64 + self.properties.len();
        w.put_u16(u16::try_from(len).map_err(|_| EncodeError::TooLong)?);
        w.put_u8(self.table_id);
        w.put_zeros(5);
        put_str(w, &self.name, 32);
        w.put_u64(self.metadata_match);
        w.put_u64(self.metadata_write);
        w.put_u32(self.capabilities);
        w.put_u32(self.max_entries);
        w.extend_from_slice(&self.properties);
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
