//! Port and table names: fetching the switch's maps and accepting names in
//! flow text.
//!
//! Contract (as `ovs-ofctl` 3.1):
//! * Unless `--no-names`, a command that parses flow text first fetches the
//!   table names (`OFPST_TABLE` in 1.0, `OFPMP_TABLE_FEATURES` otherwise) and
//!   the port names (`FEATURES_REQUEST` in 1.0, `OFPMP_PORT_DESC`
//!   otherwise), each on a connection of its own, so names may be used in
//!   the text and the printed xids are the same as `ovs-ofctl`'s. An error
//!   reply to the table request is fatal; a port request error is not.
//! * Names are accepted in `in_port=`, `out_port=`, `output:` and `table=`;
//!   a name may be quoted (`"my port"`). Numbers and reserved names
//!   (`LOCAL`, `CONTROLLER`, ...) pass through unchanged.

use crate::Opts;
use crate::conn::{Conn, Reply};
use crate::switch::{Parts, dump, report_error};
use anyhow::Result;
use ofproto::ofp::multipart::ReplyBody;
use ofproto::ofp::port::ports;
use ofproto::ofp::{Message, PortNo, RequestBody, Version};
use std::collections::BTreeMap;

/// Port number -> name.
pub type PortMap = BTreeMap<PortNo, String>;
/// Table id -> name (only named tables).
pub type TableMap = BTreeMap<u8, String>;

/// Fetches the port names (features in 1.0, port descriptions otherwise).
pub fn fetch_ports(o: &Opts, target: &str) -> Result<PortMap> {
    Ok(fetch_port_list(o, target)?
        .into_iter()
        .filter(|p| p.port_no < ports::MAX)
        .map(|p| (p.port_no, p.name))
        .collect())
}

/// Fetches the switch's port descriptions.
pub fn fetch_port_list(o: &Opts, target: &str) -> Result<Vec<ofproto::ofp::Port>> {
    let mut c = Conn::open(target, o.versions)?;
    let list = if c.version() == Version::V1_0 {
        match c.transact(&Message::FeaturesRequest)? {
            Reply::Ok(p) => match p.first().map(crate::conn::Raw::decode).transpose()? {
                Some(Message::FeaturesReply(f)) => f.ports,
                _ => Vec::new(),
            },
            Reply::Error(..) => Vec::new(),
        }
    } else {
        match dump(
            &mut c,
            RequestBody::PortDesc {
                port_no: ports::ANY,
            },
        )? {
            Parts::Ok(parts) => parts
                .into_iter()
                .flat_map(|(_, r)| match r.body {
                    ReplyBody::PortDesc(p) => p,
                    _ => Vec::new(),
                })
                .collect(),
            Parts::Failed => Vec::new(),
        }
    };
    Ok(list)
}

/// Fetches the table names. `Ok(None)` when the switch refused (already
/// printed): the caller must fail, as `ovs-ofctl` does.
pub fn fetch_tables(o: &Opts, target: &str) -> Result<Option<TableMap>> {
    let mut c = Conn::open(target, o.versions)?;
    let mut map = TableMap::new();
    if c.version() == Version::V1_0 {
        match dump(&mut c, RequestBody::Table)? {
            Parts::Ok(parts) => {
                for (_, r) in parts {
                    if let ReplyBody::Table(ts) = r.body {
                        for t in ts {
                            if !t.name.is_empty() && t.name != "classifier" {
                                map.insert(t.table_id, t.name);
                            }
                        }
                    }
                }
            }
            Parts::Failed => return Ok(None),
        }
        return Ok(Some(map));
    }
    // OFPMP_TABLE_FEATURES (12) with an empty body: read the names from the
    // raw entries (length, table_id, pad[5], name[32], ...).
    let req = Message::MultipartRequest(ofproto::ofp::MultipartRequest {
        flags: 0,
        body: RequestBody::Other {
            ty: 12,
            body: Vec::new(),
        },
    });
    match c.transact(&req)? {
        Reply::Error(raw, e) => {
            report_error(&raw, &e);
            return Ok(None);
        }
        Reply::Ok(parts) => {
            for raw in parts {
                let mut b = raw.bytes.get(16..).unwrap_or_default();
                while b.len() >= 40 {
                    let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
                    if len < 40 || len > b.len() {
                        break;
                    }
                    let name: String = b[8..40]
                        .iter()
                        .take_while(|c| **c != 0)
                        .map(|c| char::from(*c))
                        .collect();
                    if !name.is_empty() && !is_default_table_name(&name, b[2]) {
                        map.insert(b[2], name);
                    }
                    b = &b[len..];
                }
            }
        }
    }
    Ok(Some(map))
}

/// Open vSwitch names unnamed tables `table0`, `table1`, ...; those are not
/// names a user gave.
fn is_default_table_name(name: &str, id: u8) -> bool {
    name == format!("table{id}")
}

/// Fetches both maps in the order `ovs-ofctl` does for flow-mod commands
/// (tables, then ports) or dumps (ports, then tables). `None` when the table
/// request failed.
pub fn fetch_for_parse(
    o: &Opts,
    target: &str,
    tables_first: bool,
) -> Result<Option<(PortMap, TableMap)>> {
    if o.names == Some(false) {
        return Ok(Some((PortMap::new(), TableMap::new())));
    }
    if tables_first {
        let Some(t) = fetch_tables(o, target)? else {
            return Ok(None);
        };
        let p = fetch_ports(o, target)?;
        Ok(Some((p, t)))
    } else {
        let p = fetch_ports(o, target)?;
        let Some(t) = fetch_tables(o, target)? else {
            return Ok(None);
        };
        Ok(Some((p, t)))
    }
}

fn unquote(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else {
        s.to_string()
    }
}

fn is_plain_port(s: &str) -> bool {
    s.parse::<u32>().is_ok()
        || s.starts_with("0x")
        || matches!(
            s.to_ascii_uppercase().as_str(),
            "IN_PORT"
                | "TABLE"
                | "NORMAL"
                | "FLOOD"
                | "ALL"
                | "CONTROLLER"
                | "LOCAL"
                | "ANY"
                | "NONE"
        )
}

/// Rewrites port and table names in flow text to numbers. An unknown name
/// is left alone (the flow parser then reports it, quoted).
pub fn accept_names<'a>(
    text: &'a str,
    ports: &PortMap,
    tables: &TableMap,
) -> Result<std::borrow::Cow<'a, str>> {
    if ports.is_empty() && tables.is_empty() {
        return Ok(text.into());
    }
    let by_port: BTreeMap<&str, PortNo> = ports.iter().map(|(n, s)| (s.as_str(), *n)).collect();
    let by_table: BTreeMap<&str, u8> = tables.iter().map(|(n, s)| (s.as_str(), *n)).collect();
    let mut out = String::with_capacity(text.len());
    // Line by line: a search for a key that a line lacks then stops at the
    // line's end instead of scanning the rest of a 100,000-line file.
    for line in text.split_inclusive('\n') {
        accept_names_line(line, &by_port, &by_table, &mut out)
            .map_err(|e| anyhow::anyhow!("{e} in '{}'", line.trim_end()))?;
    }
    Ok(out.into())
}

fn accept_names_line(
    line: &str,
    by_port: &BTreeMap<&str, PortNo>,
    by_table: &BTreeMap<&str, u8>,
    out: &mut String,
) -> std::result::Result<(), &'static str> {
    let mut rest = line;
    let keys = ["in_port=", "out_port=", "output:", "table="];
    loop {
        let next = keys
            .iter()
            .filter_map(|k| rest.find(k).map(|i| (i, *k)))
            .filter(|(i, _)| {
                *i == 0 || matches!(rest.as_bytes()[i - 1], b',' | b' ' | b'\t' | b'=')
            })
            .min();
        let Some((i, k)) = next else {
            out.push_str(rest);
            return Ok(());
        };
        out.push_str(&rest[..i + k.len()]);
        rest = &rest[i + k.len()..];
        let end = if let Some(q) = rest.strip_prefix('"') {
            match q.find('"') {
                Some(j) => j + 2,
                None => return Err("unterminated quoted name"),
            }
        } else {
            rest.find([',', ' ', '\t', ')', '\n', '\r'])
                .unwrap_or(rest.len())
        };
        let tok = &rest[..end];
        let name = unquote(tok);
        let repl = if k == "table=" {
            by_table.get(name.as_str()).map(|n| n.to_string())
        } else if is_plain_port(tok) {
            None
        } else {
            by_port.get(name.as_str()).map(|n| n.to_string())
        };
        out.push_str(repl.as_deref().unwrap_or(tok));
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_numbers() {
        let ports: PortMap = [(1, "p1".to_string()), (2, "my port".to_string())].into();
        let tables: TableMap = [(3, "acl".to_string())].into();
        assert_eq!(
            accept_names(
                "in_port=p1,table=acl,actions=output:\"my port\",output:3",
                &ports,
                &tables
            )
            .unwrap(),
            "in_port=1,table=3,actions=output:2,output:3"
        );
        assert_eq!(
            accept_names("in_port=LOCAL,actions=output:nope", &ports, &tables).unwrap(),
            "in_port=LOCAL,actions=output:nope"
        );
        assert_eq!(
            accept_names(
                "in_port=p1,actions=drop\ntable=acl,actions=output:p1\n",
                &ports,
                &tables
            )
            .unwrap(),
            "in_port=1,actions=drop\ntable=3,actions=output:1\n"
        );
        let e = accept_names("in_port=p1\nin_port=\"p1,actions=drop\n", &ports, &tables)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unterminated") && e.contains("'in_port=\"p1,actions=drop'"),
            "{e}"
        );
    }
}
