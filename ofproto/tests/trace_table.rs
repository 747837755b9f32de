//! Data-driven trace tests: every `tests/data/trace/*.txt` file holds
//! scenarios (flows, groups, meters, port settings, a packet) and the
//! expected `Megaflow:` and `Datapath actions:` lines of `ofproto/trace`,
//! or the OpenFlow error a flow must be refused with.
//!
//! Format (one directive per line, `#` comments):
//!
//! ```text
//! ## scenario name
//! port: 1 tag=10                  # port settings (ports 1-4 and LOCAL exist)
//! mac: 10 00:00:00:00:00:02 2     # pre-learned MAC (vlan mac port)
//! group: group_id=1,type=all,bucket=output:2,bucket=output:3
//! meter: meter=1,pktps,band=type=drop,rate=10
//! flow: table=0,in_port=1,actions=output:2
//! reject: <flow> -> OFPBAC_BAD_OUT_PORT
//! table_miss: 0 controller          # drop | controller | continue
//! packet: in_port=1,tcp,nw_dst=10.0.0.1
//! megaflow: recirc_id=0,eth,...
//! actions: 2
//! trace: <a line the trace text must contain>
//! ```

mod common;

use common::*;
use std::path::PathBuf;

struct Scenario {
    name: String,
    file: String,
    lines: Vec<String>,
}

fn scenarios() -> Vec<Scenario> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/trace");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/trace")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut out: Vec<Scenario> = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let file = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix("## ") {
                out.push(Scenario {
                    name: name.to_string(),
                    file: file.clone(),
                    lines: Vec::new(),
                });
            } else if line.is_empty() || line.starts_with('#') {
                continue;
            } else if let Some(s) = out.last_mut() {
                s.lines.push(line.to_string());
            }
        }
    }
    out
}

fn run(s: &Scenario) -> Result<(), String> {
    let mut br = new_bridge();
    let mut trace = String::new();
    let mut checks = 0;
    for line in &s.lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("bad line '{line}'"))?;
        let v = v.trim();
        match k {
            "port" => configure_port(&mut br, v),
            "mac" => {
                let p: Vec<&str> = v.split_whitespace().collect();
                let out = ofproto::pipeline::xlate::XlateOutput {
                    learned: vec![(num(p[0]) as u16, mac(p[1]), num(p[2]) as u32)],
                    ..Default::default()
                };
                br.learn(&out, 0);
            }
            "table_miss" => {
                let (t, m) = v.split_once(' ').ok_or("table_miss: TABLE MODE")?;
                let miss = match m {
                    "drop" => ofproto::pipeline::table::TableMiss::Drop,
                    "controller" => ofproto::pipeline::table::TableMiss::Controller,
                    "continue" => ofproto::pipeline::table::TableMiss::Continue,
                    _ => return Err(format!("bad table_miss mode {m}")),
                };
                br.set_table_miss(num(t) as u8, miss);
            }
            "group" => {
                br.group_mod(&group_mod(v), 0)
                    .map_err(|e| format!("group '{v}' refused: {e}"))?;
            }
            "meter" => {
                br.meter_mod(&meter_mod(v), 0)
                    .map_err(|e| format!("meter '{v}' refused: {e}"))?;
            }
            "flow" => {
                br.flow_mod(&flow_mod(v), 0)
                    .map_err(|e| format!("flow '{v}' refused: {e}"))?;
            }
            "reject" => {
                let (f, e) = v.rsplit_once(" -> ").ok_or("reject: FLOW -> ERROR")?;
                checks += 1;
                match br.flow_mod(&flow_mod(f), 0) {
                    Ok(_) => return Err(format!("flow '{f}' accepted, expected {e}")),
                    Err(got) if got.to_string() == e => {}
                    Err(got) => return Err(format!("flow '{f}': got {got}, expected {e}")),
                }
            }
            "reject_group" => {
                let (g, e) = v
                    .rsplit_once(" -> ")
                    .ok_or("reject_group: GROUP -> ERROR")?;
                checks += 1;
                match br.group_mod(&group_mod(g), 0) {
                    Ok(_) => return Err(format!("group '{g}' accepted, expected {e}")),
                    Err(got) if got.to_string() == e => {}
                    Err(got) => return Err(format!("group '{g}': got {got}, expected {e}")),
                }
            }
            "packet" => trace = br.trace(&packet_key(v), 0),
            "megaflow" | "actions" => {
                checks += 1;
                let prefix = if k == "megaflow" {
                    "Megaflow: "
                } else {
                    "Datapath actions: "
                };
                let got = trace
                    .lines()
                    .find_map(|l| l.strip_prefix(prefix))
                    .ok_or_else(|| format!("no {prefix}line in:\n{trace}"))?;
                if got != v {
                    return Err(format!(
                        "{prefix}\n  expected: {v}\n  got:      {got}\ntrace:\n{trace}"
                    ));
                }
            }
            "trace" => {
                checks += 1;
                if !trace.contains(v) {
                    return Err(format!("trace lacks '{v}':\n{trace}"));
                }
            }
            _ => return Err(format!("unknown directive '{k}'")),
        }
    }
    if checks == 0 {
        return Err("scenario checks nothing".into());
    }
    Ok(())
}

#[test]
fn trace_scenarios() {
    let all = scenarios();
    let mut failures = Vec::new();
    for s in &all {
        if let Err(e) = run(s) {
            failures.push(format!("[{}] {}: {e}", s.file, s.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
    assert!(all.len() >= 60, "only {} scenarios", all.len());
}
