//! Shared set-up of the datapath benchmarks (`dp_cache`, `dp_min`).

#![allow(dead_code)]

use datapath::actions::Action;
use datapath::flow::{FlowKey, FlowMask, extract};
use datapath::megaflow::MegaflowCache;
use datapath::packet::BATCH_SIZE;
use datapath::pmd::{Clock, Pmd, PmdConfig, Rxq};
use datapath::port::mem::{Count, Replay};
use datapath::port::{PortEntry, PortTable, TxQueues};
use datapath::snapshot::Snapshot;
use datapath::stats::PortStats;
use datapath::upcall::{Translation, UpcallError, UpcallHandler};
use std::sync::Arc;
use std::time::Instant;

/// An Ethernet/IPv4/UDP frame to `dst` from source port `sport`.
pub fn udp(dst: [u8; 4], sport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 18];
    f[0..6].copy_from_slice(&[0, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&dst);
    let u = &mut f[34..42];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&53u16.to_be_bytes());
    u[4..6].copy_from_slice(&26u16.to_be_bytes());
    f
}

/// `n` subtables, each with 64 flows; subtable `i` matches
/// `nw_dst=10.i.j.1` exactly plus a distinct mask on `tp_src`.
pub fn megaflow_setup(n: usize) -> (MegaflowCache, Vec<FlowKey>) {
    let mut flows = MegaflowCache::default();
    for i in 0..n {
        let mut mask = FlowMask::CATCHALL;
        mask.dl_type = 0xffff;
        mask.in_port = u32::MAX;
        mask.recirc_id = u32::MAX;
        mask.nw_dst = u32::MAX;
        mask.tp_src = (i as u16 + 1) << 4;
        for j in 0..64u8 {
            let k = extract(&udp([10, i as u8, j, 1], 0), 1);
            flows.insert(&k, &mask, &[Action::Output(2)], 1, 0).unwrap();
        }
    }
    // A batch spread evenly over the subtables (and over flows in each).
    let keys = (0..BATCH_SIZE)
        .map(|p| {
            let i = (p * n) / BATCH_SIZE;
            extract(&udp([10, i as u8, (p * 7 % 64) as u8, 1], 0), 1)
        })
        .collect();
    (flows, keys)
}

/// Output to port 2, mask: dl_type, nw_dst (and what the datapath adds).
#[derive(Debug)]
pub struct Trivial;

impl UpcallHandler for Trivial {
    fn translate(
        &self,
        _key: &FlowKey,
        _packet: Option<&[u8]>,
        out: &mut Translation,
    ) -> Result<(), UpcallError> {
        out.mask.dl_type = 0xffff;
        out.mask.nw_dst = u32::MAX;
        out.actions.push(Action::Output(2));
        out.version = 1;
        Ok(())
    }
}

pub fn pmd_with(cfg: PmdConfig) -> (Pmd, Count) {
    let sink = Count::default();
    let table = PortTable::default()
        .with(PortEntry {
            port: 2,
            name: "out".into(),
            kind: "count".into(),
            tx: Arc::new(TxQueues::new(vec![Box::new(sink.clone())])),
            stats: Arc::new(PortStats::default()),
            netdev: None,
        })
        .unwrap();
    let snap = Arc::new(Snapshot::new(table));
    let pmd = Pmd::new(0, cfg, Arc::new(Trivial), snap, Clock::Real(Instant::now()));
    (pmd, sink)
}

/// A thread polling a replay queue of 32 flows that differ in the source
/// port (in the EMC key, not in the megaflow mask), warmed up.
pub fn pipeline_pmd(emc_insert_inv_prob: u32) -> (Pmd, Count) {
    let (mut pmd, sink) = pmd_with(PmdConfig {
        emc_insert_inv_prob,
        ..PmdConfig::default()
    });
    let frames = (0..BATCH_SIZE as u16)
        .map(|i| udp([10, 0, 0, 2], 1000 + i))
        .collect();
    pmd.add_rxq(Rxq::new(
        1,
        0,
        Box::new(Replay::new(frames)),
        Arc::new(PortStats::default()),
    ));
    for _ in 0..10 {
        pmd.poll_once();
    }
    (pmd, sink)
}

/// Keys of 32 packets of 32 flows and a cache holding a megaflow for them,
/// with every key in the EMC.
pub fn emc_setup() -> (datapath::emc::Emc, MegaflowCache, Vec<FlowKey>) {
    use datapath::emc::{Emc, emc_hash};
    let keys: Vec<FlowKey> = (0..BATCH_SIZE as u16)
        .map(|i| extract(&udp([10, 0, 0, 2], 1000 + i), 1))
        .collect();
    let mut flows = MegaflowCache::default();
    let mut mask = FlowMask::CATCHALL;
    mask.dl_type = 0xffff;
    mask.in_port = u32::MAX;
    let r = flows
        .insert(&keys[0], &mask, &[Action::Output(2)], 1, 0)
        .unwrap();
    let mut emc = Emc::new(8192, 1);
    for k in &keys {
        emc.insert(k, emc_hash(k), r, |_| true);
    }
    (emc, flows, keys)
}
