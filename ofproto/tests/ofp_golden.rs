//! Golden tables: every message in `tests/data/ofp/*.txt` (hex produced by
//! the real `ovs-ofctl`) must decode, re-encode to the same bytes, and show
//! the expected substrings in its `Debug` form.

use ofproto::ofp::{Message, Version};
use std::path::PathBuf;

struct Case {
    file: String,
    name: String,
    bytes: Vec<u8>,
    expect: Vec<String>,
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/ofp")
}

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

fn load(file: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(data_dir().join(file)).unwrap();
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            cases.push(Case {
                file: file.into(),
                name: name.trim().into(),
                bytes: Vec::new(),
                expect: Vec::new(),
            });
        } else if let Some(e) = line.strip_prefix("?= ") {
            cases.last_mut().unwrap().expect.push(e.into());
        } else if line.starts_with('#') || line.trim().is_empty() {
            continue;
        } else {
            cases.last_mut().unwrap().bytes.extend(hex(line));
        }
    }
    assert!(!cases.is_empty(), "{file} has no cases");
    cases
}

fn check(c: &Case) -> Result<(), String> {
    let (h, m) = Message::decode(&c.bytes).map_err(|e| format!("decode: {e:?}"))?;
    let v = Version::from_wire(h.version).ok_or("version")?;
    let out = m.encode(v, h.xid).map_err(|e| format!("encode: {e:?}"))?;
    if out != c.bytes {
        return Err(format!(
            "re-encoding differs\n  want {}\n  got  {}\n  {m:?}",
            hexs(&c.bytes),
            hexs(&out)
        ));
    }
    let dbg = format!("{m:?}");
    for e in &c.expect {
        if !dbg.contains(e.as_str()) {
            return Err(format!("Debug lacks {e:?}: {dbg}"));
        }
    }
    Ok(())
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run(file: &str) {
    let cases = load(file);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            check(c)
                .err()
                .map(|e| format!("{}: {}: {e}", c.file, c.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_messages() {
    run("messages.txt");
}

#[test]
fn golden_match_fields() {
    run("match.txt");
}

#[test]
fn golden_actions_and_instructions() {
    run("actions.txt");
}

#[test]
fn golden_switch_replies() {
    run("replies.txt");
}

#[test]
fn golden_groups_meters_and_control_messages() {
    run("mods.txt");
}

#[test]
fn golden_group_meter_and_statistics_replies() {
    run("replies_mods.txt");
}

#[test]
fn golden_nicira_messages() {
    run("nx.txt");
}

#[test]
fn golden_more_actions() {
    run("actions2.txt");
}

#[test]
fn golden_more_match_fields() {
    run("match2.txt");
}

#[test]
fn golden_table_features_from_a_real_switch() {
    run("table_features.txt");
}
