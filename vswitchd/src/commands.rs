//! The switch's control-socket commands (`ovs-appctl` and `vswitchd
//! appctl`): `ofproto/trace`, `fdb/show`, `fdb/flush`, `dpif/show`,
//! `dpctl/dump-flows`, `dpif-netdev/pmd-stats-show`, `coverage/show`, with
//! Open vSwitch's names and argument forms.
//!
//! Contract: every command answers from a consistent snapshot and never
//! blocks the polling threads (datapath dumps ask the threads between
//! batches); a bad argument is an error reply quoting it.

use crate::appctl::Registry;
use crate::dp::Dp;
use crate::ofswitch::OfBridge;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

type Bridges = Arc<Mutex<BTreeMap<String, Arc<OfBridge>>>>;

fn bridge(bridges: &Bridges, name: &str) -> Result<Arc<OfBridge>, String> {
    bridges
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .cloned()
        .ok_or_else(|| format!("no such bridge \"{name}\"\n"))
}

/// Registers the switch's commands.
pub fn register(reg: &Registry, dp: &Arc<Dp>, bridges: &Bridges) {
    let b = bridges.clone();
    reg.register("ofproto/trace", "BRIDGE FLOW [PACKET]", 2, 3, move |args| {
        let br = bridge(&b, &args[0])?;
        let key =
            ofproto::pipeline::trace::parse_trace_args(&args[1], args.get(2).map(String::as_str))
                .map_err(|e| format!("{e}\n"))?;
        Ok(br.trace(&key))
    });
    let b = bridges.clone();
    reg.register("fdb/show", "BRIDGE", 1, 1, move |args| {
        Ok(bridge(&b, &args[0])?.fdb_show())
    });
    let b = bridges.clone();
    reg.register("fdb/flush", "[BRIDGE]", 0, 1, move |args| {
        let list: Vec<Arc<OfBridge>> = match args.first() {
            Some(n) => vec![bridge(&b, n)?],
            None => b
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .cloned()
                .collect(),
        };
        for br in list {
            br.fdb_flush();
        }
        Ok("table successfully flushed\n".into())
    });
    let d = dp.clone();
    reg.register("dpctl/dump-flows", "[DP]", 0, 2, move |_| {
        Ok(d.dump_flows_text())
    });
    let d = dp.clone();
    reg.register("dpif/show", "", 0, 0, move |_| Ok(d.show_text()));
    let d = dp.clone();
    reg.register("coverage/show", "", 0, 0, move |_| Ok(d.coverage_text()));
    let d = dp.clone();
    reg.register("dpif-netdev/pmd-stats-show", "", 0, 0, move |_| {
        Ok(d.pmd_stats_text())
    });
}
