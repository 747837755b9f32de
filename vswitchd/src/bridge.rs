//! Reconciliation: bring the database's bridges, ports and interfaces into
//! effect, and compute what to write back (`ofport`, `error`, link state,
//! statistics, `datapath_id`, and finally `cur_cfg = next_cfg`).
//!
//! Contract:
//! * [`Switch::reconcile`] takes a whole [`SwitchConfig`] and makes the
//!   running state match it: removals first (bridges, then interfaces that
//!   disappeared or whose type or options changed), then additions. An
//!   interface whose type and options did not change keeps its device (its
//!   traffic is not disturbed) and its `ofport`.
//! * OpenFlow port numbers: the bridge's own interface (named after the
//!   bridge, type `internal`) is LOCAL (65534). Others get `ofport_request`
//!   when it is valid (1..=65279) and free, else the number they had before
//!   (kept across restarts through the `ofport` column) when free, else the
//!   lowest free number from 1. A number is never shared on one bridge.
//! * An interface that cannot be opened gets `ofport` -1 and an `error`
//!   text; the rest of the switch keeps running. It is retried on every
//!   reconciliation.
//! * The write-back is computed as a [`Status`]; `run` writes only what
//!   changed since the last write, so a quiet switch writes nothing.

use crate::config::{BridgeConfig, PortConfig, SwitchConfig};
use crate::ofswitch::{OfBridge, ofp_port};
use datapath::netdev::{LinkState, Netdev, Stats};
use ovsdb::datum::Uuid;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// OpenFlow's LOCAL port number.
pub const OFPP_LOCAL: i64 = 65534;
/// Highest port number a controller or operator may request.
pub const OFPP_MAX: i64 = 65279;

/// Opens port devices by database type. The daemon's opener knows the real
/// backends; tests use in-memory ones.
pub trait Opener: Send + Sync {
    /// Opens `name` as an interface of database type `kind` (`""` is
    /// `system`). The error is the text for the `error` column.
    fn open(
        &self,
        name: &str,
        kind: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<Arc<dyn Netdev>, String>;

    /// The database types this opener supports (`iface_types`).
    fn types(&self) -> Vec<&'static str>;
}

/// The default opener: the backends `datapath::netdev` provides. Patch
/// ports (`options:peer`) are paired as both ends are opened.
#[derive(Debug, Default)]
pub struct SystemOpener {
    patches: datapath::netdev::patch::Registry,
}

impl Opener for SystemOpener {
    fn open(
        &self,
        name: &str,
        kind: &str,
        options: &BTreeMap<String, String>,
    ) -> Result<Arc<dyn Netdev>, String> {
        use datapath::netdev::Kind;
        if kind == "patch" {
            let Some(peer) = options.get("peer") else {
                return Err(format!(
                    "could not open network device {name} (patch port needs options:peer)"
                ));
            };
            return self
                .patches
                .open(name, peer)
                .map(|p| p as Arc<dyn Netdev>)
                .map_err(|e| format!("could not open network device {name} ({e})"));
        }
        let k = match Kind::from_db(kind) {
            Some(k) => k,
            None => {
                return Err(format!(
                    "could not open network device {name} (unknown interface type \"{kind}\")"
                ));
            }
        };
        datapath::netdev::open::open(
            k,
            name,
            options.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .map_err(|e| format!("could not open network device {name} ({e})"))
    }

    fn types(&self) -> Vec<&'static str> {
        vec!["afxdp", "dummy", "internal", "patch", "system", "tap"]
    }
}

#[derive(Debug)]
struct Iface {
    port: String,
    kind: String,
    options: BTreeMap<String, String>,
    ofport_request: Option<i64>,
    ofport: i64,
    netdev: Option<Arc<dyn Netdev>>,
    error: Option<String>,
}

#[derive(Debug, Default)]
struct Bridge {
    ifaces: BTreeMap<String, Iface>,
}

impl Bridge {
    fn used_ofports(&self) -> BTreeSet<i64> {
        self.ifaces
            .values()
            .filter(|i| i.ofport > 0)
            .map(|i| i.ofport)
            .collect()
    }
}

/// What the switch reports back for one interface.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IfaceStatus {
    /// `ofport` (-1 when the interface could not be opened).
    pub ofport: i64,
    /// `error`.
    pub error: Option<String>,
    /// `ifindex`.
    pub ifindex: Option<i64>,
    /// `mac_in_use`.
    pub mac_in_use: Option<String>,
    /// `link_state`.
    pub link_state: Option<&'static str>,
    /// `admin_state`.
    pub admin_state: Option<&'static str>,
    /// `mtu`.
    pub mtu: Option<i64>,
    /// `statistics`.
    pub statistics: BTreeMap<&'static str, i64>,
}

/// What the switch reports back for one bridge.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BridgeStatus {
    /// `datapath_id`: 16 hex digits.
    pub datapath_id: String,
}

/// Everything to write back after a reconciliation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    /// By Interface row uuid.
    pub ifaces: BTreeMap<Uuid, IfaceStatus>,
    /// By Bridge row uuid.
    pub bridges: BTreeMap<Uuid, BridgeStatus>,
    /// `Controller.is_connected` by Controller row uuid.
    pub controllers: BTreeMap<Uuid, bool>,
}

/// A bridge's OpenFlow side and its management socket listener.
#[derive(Debug)]
struct OfHandle {
    of: Arc<OfBridge>,
    mgmt: Option<(std::path::PathBuf, tokio::task::JoinHandle<()>)>,
}

impl Drop for OfHandle {
    fn drop(&mut self) {
        // Release the bridge's devices now: sessions may keep the OfBridge
        // alive a little longer.
        self.of.shutdown();
        if let Some((path, task)) = self.mgmt.take() {
            task.abort();
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Listens on `<rundir>/<bridge>.mgmt` for `ofctl`/`ovs-ofctl`.
fn listen_mgmt(
    path: &std::path::Path,
    of: Arc<OfBridge>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let _ = std::fs::remove_file(path);
    let std_listener = std::os::unix::net::UnixListener::bind(path)?;
    std_listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(std_listener)?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let handler: Arc<dyn crate::ofconn::Handler> = of.clone();
            tokio::spawn(crate::ofconn::run(
                stream,
                handler,
                crate::ofconn::SessionOptions {
                    versions: of.versions(),
                    probe: None,
                    is_controller: false,
                },
            ));
        }
    }))
}

/// The NORMAL-action VLAN settings of a port, as Open vSwitch reads the
/// Port columns: no `vlan_mode` means access when `tag` is set, else trunk.
fn port_vlan(p: &PortConfig) -> ofproto::pipeline::normal::PortVlan {
    use ofproto::pipeline::normal::{PortVlan, VlanMode};
    let tag = p
        .tag
        .and_then(|t| u16::try_from(t).ok())
        .filter(|t| *t < 4096);
    let trunks = p
        .trunks
        .iter()
        .filter_map(|t| u16::try_from(*t).ok())
        .filter(|t| *t < 4096)
        .collect();
    let mode = match p.vlan_mode.as_deref() {
        Some("access") => VlanMode::Access,
        Some("native-tagged") => VlanMode::NativeTagged,
        Some("native-untagged") => VlanMode::NativeUntagged,
        Some(_) => VlanMode::Trunk,
        None if tag.is_some() => VlanMode::Access,
        None => VlanMode::Trunk,
    };
    PortVlan { mode, tag, trunks }
}

/// The running switch's ports, as reconciled from the database.
pub struct Switch {
    bridges: BTreeMap<String, Bridge>,
    opener: Box<dyn Opener>,
    rundir: Option<std::path::PathBuf>,
    of: BTreeMap<String, OfHandle>,
    /// Interfaces attached to the datapath, by name.
    attached: BTreeMap<String, Attached>,
    /// Where flow-restore files go.
    flow_dir: Option<std::path::PathBuf>,
    /// Controller targets, by (bridge, target).
    controllers: BTreeMap<(String, String), crate::controller::ControllerTask>,
    dp: Option<Arc<crate::dp::Dp>>,
}

/// An interface attached to the datapath.
#[derive(Debug)]
struct Attached {
    dp_port: u32,
    bridge: String,
    ofp_port: u32,
    netdev: Arc<dyn Netdev>,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("bridges", &self.bridges)
            .finish_non_exhaustive()
    }
}

fn mac_text(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The datapath ID of a bridge: `other_config:datapath-id` (16 hex digits)
/// if valid; else from `other_config:hwaddr`; else from the bridge's own
/// interface's MAC; else a locally administered MAC derived from the row
/// uuid (stable across restarts).
fn datapath_id(cfg: &BridgeConfig, local_mac: Option<[u8; 6]>) -> String {
    if let Some(d) = cfg.other_config.get("datapath-id")
        && d.len() == 16
        && d.bytes().all(|c| c.is_ascii_hexdigit())
        && d != "0000000000000000"
    {
        return d.to_ascii_lowercase();
    }
    let mac = cfg
        .other_config
        .get("hwaddr")
        .and_then(|h| parse_mac(h))
        .or(local_mac)
        .unwrap_or_else(|| {
            let b = cfg.uuid.0.as_bytes();
            [(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]]
        });
    let v = mac.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    format!("{v:016x}")
}

fn stats_map(s: &Stats) -> BTreeMap<&'static str, i64> {
    let c = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    BTreeMap::from([
        ("rx_packets", c(s.rx_packets)),
        ("rx_bytes", c(s.rx_bytes)),
        ("rx_dropped", c(s.rx_dropped)),
        ("rx_errors", c(s.rx_errors)),
        ("tx_packets", c(s.tx_packets)),
        ("tx_bytes", c(s.tx_bytes)),
        ("tx_dropped", c(s.tx_dropped)),
        ("tx_errors", c(s.tx_errors)),
    ])
}

impl Switch {
    /// An empty switch opening devices with `opener`.
    pub fn new(opener: Box<dyn Opener>) -> Switch {
        Switch {
            bridges: BTreeMap::new(),
            opener,
            rundir: None,
            of: BTreeMap::new(),
            attached: BTreeMap::new(),
            controllers: BTreeMap::new(),
            flow_dir: None,
            dp: None,
        }
    }

    /// Forward packets: attach every open port to `dp`.
    pub fn with_datapath(mut self, dp: Arc<crate::dp::Dp>) -> Switch {
        self.dp = Some(dp);
        self
    }

    /// Detaches from the datapath every interface that is no longer open
    /// as it was attached.
    fn detach_stale(&mut self) {
        let Some(dp) = self.dp.clone() else {
            return;
        };
        let bridges = &self.bridges;
        let stale: Vec<String> = self
            .attached
            .iter()
            .filter(|(iname, a)| {
                let cur = bridges
                    .get(&a.bridge)
                    .and_then(|b| b.ifaces.get(*iname))
                    .and_then(|i| i.netdev.as_ref().map(|nd| (nd, i.ofport)));
                match cur {
                    Some((nd, ofport)) => {
                        !Arc::ptr_eq(nd, &a.netdev) || ofp_port(ofport) != Some(a.ofp_port)
                    }
                    None => true,
                }
            })
            .map(|(n, _)| n.clone())
            .collect();
        for n in stale {
            if let Some(a) = self.attached.remove(&n) {
                dp.remove_port(a.dp_port);
            }
        }
    }

    /// Chooses the datapath port of an open interface (keeping the one it
    /// has when nothing changed); true when it must be added to the
    /// datapath.
    fn plan_attach(
        &mut self,
        bname: &str,
        iname: &str,
        nd: &Arc<dyn Netdev>,
        port_no: u32,
    ) -> (u32, bool) {
        if let Some(a) = self.attached.get(iname) {
            if a.bridge == bname && a.ofp_port == port_no && Arc::ptr_eq(&a.netdev, nd) {
                return (a.dp_port, false);
            }
            if let (Some(dp), Some(a)) = (&self.dp, self.attached.remove(iname)) {
                dp.remove_port(a.dp_port);
            }
        }
        let used: BTreeSet<u32> = self.attached.values().map(|a| a.dp_port).collect();
        let dp_port = (1..).find(|n| !used.contains(n)).unwrap_or(1);
        self.attached.insert(
            iname.to_owned(),
            Attached {
                dp_port,
                bridge: bname.to_owned(),
                ofp_port: port_no,
                netdev: nd.clone(),
            },
        );
        (dp_port, true)
    }

    /// Serve each bridge's management socket `<rundir>/<bridge>.mgmt`
    /// (needs a tokio runtime).
    pub fn with_mgmt_sockets(mut self, rundir: std::path::PathBuf) -> Switch {
        self.rundir = Some(rundir);
        self
    }

    /// Keep flows across restarts for bridges with
    /// `other_config:flow-restore=true`, in `<dir>/<bridge>.flows`.
    pub fn with_flow_dir(mut self, dir: std::path::PathBuf) -> Switch {
        self.flow_dir = Some(dir);
        self
    }

    fn restore_path(&self, name: &str, bcfg: &BridgeConfig) -> Option<std::path::PathBuf> {
        let on = bcfg
            .other_config
            .get("flow-restore")
            .is_some_and(|v| v == "true");
        on.then(|| {
            self.flow_dir
                .as_ref()
                .map(|d| d.join(format!("{name}.flows")))
        })
        .flatten()
    }

    fn ensure_of(&mut self, name: &str, bcfg: &BridgeConfig) -> Arc<OfBridge> {
        if let Some(h) = self.of.get(name) {
            return h.of.clone();
        }
        let of = OfBridge::new(name);
        let restore = self.restore_path(name, bcfg);
        match restore
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            Some(text) => {
                let n = of.restore_flows(&text);
                tracing::info!("{name}: restored {n} flows");
            }
            // Open vSwitch adds it only to a bridge without controllers
            // that is not in secure mode.
            None if bcfg.controllers.is_empty() && bcfg.fail_mode.as_deref() != Some("secure") => {
                of.add_default_normal_flow()
            }
            None => {}
        }
        of.set_flow_restore(restore);
        if let Some(dp) = &self.dp {
            of.attach(dp.clone());
        }
        let mgmt = self.rundir.as_ref().and_then(|dir| {
            let path = dir.join(format!("{name}.mgmt"));
            match listen_mgmt(&path, of.clone()) {
                Ok(task) => Some((path, task)),
                Err(e) => {
                    tracing::error!("{name}: cannot listen on {}: {e}", path.display());
                    None
                }
            }
        });
        self.of.insert(
            name.to_owned(),
            OfHandle {
                of: of.clone(),
                mgmt,
            },
        );
        of
    }

    /// Pushes the bridge's open ports into its OpenFlow side.
    fn sync_of_ports(&mut self, bname: &str, bcfg: &BridgeConfig, dpid: &str) {
        use ofproto::ofp::port::Port;
        use ofproto::pipeline::xlate::PortInfo;
        let of = self.ensure_of(bname, bcfg);
        of.set_flow_restore(self.restore_path(bname, bcfg));
        of.set_datapath_id(u64::from_str_radix(dpid, 16).unwrap_or(0));
        of.set_versions(crate::ofconn::versions_from_protocols(&bcfg.protocols));
        let Some(br) = self.bridges.get(bname) else {
            return;
        };
        let mut open: Vec<(String, Arc<dyn Netdev>, u32, &PortConfig)> = Vec::new();
        for pcfg in bcfg.ports.values() {
            for iname in pcfg.interfaces.keys() {
                let Some(iface) = br.ifaces.get(iname) else {
                    continue;
                };
                if let (Some(nd), Some(port_no)) = (&iface.netdev, ofp_port(iface.ofport)) {
                    open.push((iname.clone(), nd.clone(), port_no, pcfg));
                }
            }
        }
        let mut present = BTreeSet::new();
        let mut to_add = Vec::new();
        let mut changed = false;
        for (iname, nd, port_no, pcfg) in open {
            let (dp_port, new) = self.plan_attach(bname, &iname, &nd, port_no);
            if new {
                to_add.push((iname.clone(), dp_port, nd.clone(), port_no));
            }
            let up = nd.link_state() == LinkState::Up;
            let desc = Port {
                port_no,
                hw_addr: nd.mac().unwrap_or([0; 6]),
                name: iname.clone(),
                config: 0,
                // OFPPS_LINK_DOWN (1); 1.3's LIVE (4) when up.
                state: if up { 4 } else { 1 },
                curr: 0,
                advertised: 0,
                supported: 0,
                peer: 0,
                curr_speed: 0,
                max_speed: 0,
            };
            let mut info = PortInfo::new(port_no, dp_port, &iname);
            info.live = up;
            info.vlan = port_vlan(pcfg);
            changed |= of.set_port(desc, info, Some(nd));
            present.insert(port_no);
        }
        for p in of.port_numbers() {
            if !present.contains(&p) {
                of.remove_port(p);
                changed = true;
            }
        }
        // The pipeline knows the ports before packets can arrive on them;
        // and a port change revalidates what was cached.
        let Some(dp) = self.dp.clone() else {
            return;
        };
        for (iname, dp_port, nd, port_no) in &to_add {
            if let Err(e) = dp.add_port(*dp_port, nd, &of, *port_no) {
                tracing::warn!("{iname}: cannot attach to the datapath: {e}");
            }
        }
        if changed && to_add.is_empty() {
            dp.changed_and_wait();
        }
    }

    /// The OpenFlow side of every bridge, by name.
    pub fn of_bridges(&self) -> BTreeMap<String, Arc<OfBridge>> {
        self.of
            .iter()
            .map(|(n, h)| (n.clone(), h.of.clone()))
            .collect()
    }

    /// The database types of interface this switch can open.
    pub fn iface_types(&self) -> Vec<&'static str> {
        self.opener.types()
    }

    /// The device of interface `iface` on `bridge`, if open.
    #[cfg(test)]
    pub fn netdev(&self, bridge: &str, iface: &str) -> Option<Arc<dyn Netdev>> {
        self.bridges.get(bridge)?.ifaces.get(iface)?.netdev.clone()
    }

    /// Makes the running state match `cfg` and returns the status to write.
    pub fn reconcile(&mut self, cfg: &SwitchConfig) -> Status {
        // Removals first: whole bridges, then interfaces that went away or
        // changed type or options.
        self.bridges
            .retain(|name, _| cfg.bridges.contains_key(name));
        self.of.retain(|name, _| cfg.bridges.contains_key(name));
        self.controllers.retain(|(b, t), _| {
            cfg.bridges
                .get(b)
                .is_some_and(|bc| bc.controllers.iter().any(|c| c.target == *t))
        });

        for (bname, bcfg) in &cfg.bridges {
            let Some(br) = self.bridges.get_mut(bname) else {
                continue;
            };
            br.ifaces.retain(|iname, iface| {
                bcfg.ports.iter().any(|(pname, p)| {
                    p.interfaces.get(iname).is_some_and(|ic| {
                        *pname == iface.port && ic.kind == iface.kind && ic.options == iface.options
                    })
                })
            });
        }
        self.detach_stale();
        // Additions, renumbering and retries.
        let mut status = Status::default();
        for (bname, bcfg) in &cfg.bridges {
            let br = self.bridges.entry(bname.clone()).or_default();
            for (pname, pcfg) in &bcfg.ports {
                for (iname, icfg) in &pcfg.interfaces {
                    // Open (or retry) the device.
                    let entry = br.ifaces.entry(iname.clone()).or_insert_with(|| Iface {
                        port: pname.clone(),
                        kind: icfg.kind.clone(),
                        options: icfg.options.clone(),
                        ofport_request: None,
                        ofport: 0,
                        netdev: None,
                        error: None,
                    });
                    if entry.netdev.is_none() {
                        match self.opener.open(iname, &icfg.kind, &icfg.options) {
                            Ok(nd) => {
                                entry.netdev = Some(nd);
                                entry.error = None;
                            }
                            Err(e) => {
                                entry.error = Some(e);
                                entry.ofport = -1;
                            }
                        }
                    }
                    if let Some(nd) = &entry.netdev
                        && let Some(want) = icfg.mtu_request
                        && let Ok(want) = u32::try_from(want)
                        && nd.mtu().ok() != Some(want)
                        && let Err(e) = nd.set_mtu(want)
                    {
                        tracing::warn!("{iname}: cannot set MTU {want}: {e}");
                    }
                }
            }
            // Port numbers, once every device of the bridge is known, so
            // that a request can take a number only an interface without
            // a request had.
            let mut assigned: BTreeSet<i64> = BTreeSet::new();
            let mut pending: Vec<String> = Vec::new();
            for (pname, pcfg) in &bcfg.ports {
                for (iname, icfg) in &pcfg.interfaces {
                    let Some(iface) = br.ifaces.get_mut(iname) else {
                        continue;
                    };
                    iface.port = pname.clone();
                    if iface.netdev.is_none() {
                        iface.ofport = -1;
                        continue;
                    }
                    if iname == bname {
                        iface.ofport = OFPP_LOCAL;
                        assigned.insert(OFPP_LOCAL);
                        continue;
                    }
                    let req = icfg.ofport_request.filter(|r| (1..=OFPP_MAX).contains(r));
                    if let Some(r) = req
                        && assigned.insert(r)
                    {
                        iface.ofport = r;
                        iface.ofport_request = Some(r);
                    } else {
                        pending.push(iname.clone());
                    }
                }
            }
            // Keep the current (or previously written) number when free.
            let mut still: Vec<String> = Vec::new();
            for iname in pending {
                let prev_db = bcfg
                    .ports
                    .values()
                    .find_map(|p| p.interfaces.get(&iname))
                    .and_then(|i| i.ofport);
                let Some(iface) = br.ifaces.get_mut(&iname) else {
                    continue;
                };
                let keep = [Some(iface.ofport), prev_db]
                    .into_iter()
                    .flatten()
                    .find(|n| (1..=OFPP_MAX).contains(n) && !assigned.contains(n));
                match keep {
                    Some(n) => {
                        assigned.insert(n);
                        iface.ofport = n;
                    }
                    None => still.push(iname),
                }
            }
            let mut next = 1;
            for iname in still {
                while assigned.contains(&next) {
                    next += 1;
                }
                if let Some(iface) = br.ifaces.get_mut(&iname) {
                    if next > OFPP_MAX {
                        iface.ofport = -1;
                        iface.error = Some(format!("{iname}: no free OpenFlow port number"));
                        continue;
                    }
                    iface.ofport = next;
                    assigned.insert(next);
                }
            }
            debug_assert_eq!(
                br.used_ofports().len(),
                br.ifaces.values().filter(|i| i.ofport > 0).count(),
                "an OpenFlow port number is shared"
            );
            // Status.
            let mut local_mac = None;
            for pcfg in bcfg.ports.values() {
                for (iname, icfg) in &pcfg.interfaces {
                    let Some(iface) = br.ifaces.get(iname) else {
                        continue;
                    };
                    let mut st = IfaceStatus {
                        ofport: iface.ofport,
                        error: iface.error.clone(),
                        ..IfaceStatus::default()
                    };
                    if let Some(nd) = &iface.netdev {
                        let mac = nd.mac().ok();
                        if iname == bname {
                            local_mac = mac;
                        }
                        st.mac_in_use = mac.map(mac_text);
                        st.ifindex = Some(nd.ifindex().map_or(0, i64::from));
                        let up = nd.link_state() == LinkState::Up;
                        st.link_state = Some(if up { "up" } else { "down" });
                        st.admin_state = Some("up");
                        st.mtu = nd.mtu().ok().map(i64::from);
                        st.statistics = stats_map(&nd.stats());
                    }
                    status.ifaces.insert(icfg.uuid, st);
                }
            }
            let dpid = datapath_id(bcfg, local_mac);
            status.bridges.insert(
                bcfg.uuid,
                BridgeStatus {
                    datapath_id: dpid.clone(),
                },
            );
            self.sync_of_ports(bname, bcfg, &dpid);
            self.sync_controllers(bname, bcfg, &mut status);
        }
        status
    }

    /// Starts and stops the bridge's controller targets; reports which are
    /// connected.
    fn sync_controllers(&mut self, bname: &str, bcfg: &BridgeConfig, status: &mut Status) {
        let of = self.ensure_of(bname, bcfg);
        of.set_fail_mode(
            bcfg.fail_mode.as_deref() != Some("secure"),
            !bcfg.controllers.is_empty(),
        );
        for c in &bcfg.controllers {
            let key = (bname.to_owned(), c.target.clone());
            if !self.controllers.contains_key(&key) && tokio::runtime::Handle::try_current().is_ok()
            {
                match crate::controller::ControllerTask::start(&c.target, of.clone()) {
                    Ok(t) => {
                        self.controllers.insert(key.clone(), t);
                    }
                    Err(e) => tracing::warn!("{bname}: {e}"),
                }
            }
            let up = self.controllers.get(&key).is_some_and(|t| t.connected());
            status.controllers.insert(c.uuid, up);
        }
    }
}

fn opt<T: Into<serde_json::Value>>(v: Option<T>) -> serde_json::Value {
    match v {
        Some(x) => x.into(),
        None => serde_json::json!(["set", []]),
    }
}

fn iface_row(st: &IfaceStatus) -> serde_json::Value {
    let stats: Vec<serde_json::Value> = st
        .statistics
        .iter()
        .map(|(k, v)| serde_json::json!([k, v]))
        .collect();
    serde_json::json!({
        "ofport": st.ofport,
        "error": opt(st.error.clone()),
        "ifindex": opt(st.ifindex),
        "mac_in_use": opt(st.mac_in_use.clone()),
        "link_state": opt(st.link_state),
        "admin_state": opt(st.admin_state),
        "mtu": opt(st.mtu),
        "statistics": ["map", stats],
    })
}

/// Builds the write-back transaction: what changed since `last`, and
/// `cur_cfg = next_cfg` when it lags. Returns `None` when nothing changed.
pub fn writeback(
    cfg: &SwitchConfig,
    status: &Status,
    last: &Status,
    iface_types: Option<&[&'static str]>,
) -> Option<ovsdb::client::Txn> {
    use ovsdb::client::{Condition, Txn};
    let root = cfg.root?;
    let mut txn = Txn::new("Open_vSwitch");
    for (u, st) in &status.ifaces {
        if last.ifaces.get(u) != Some(st) {
            txn.update("Interface", &[Condition::uuid(*u)], iface_row(st));
        }
    }
    for (u, st) in &status.bridges {
        if last.bridges.get(u) != Some(st) {
            txn.update(
                "Bridge",
                &[Condition::uuid(*u)],
                serde_json::json!({
                    "datapath_id": st.datapath_id,
                    "datapath_version": "<built-in>",
                }),
            );
        }
    }
    for (u, up) in &status.controllers {
        if last.controllers.get(u) != Some(up) {
            txn.update(
                "Controller",
                &[Condition::uuid(*u)],
                serde_json::json!({ "is_connected": up }),
            );
        }
    }
    let mut root_row = serde_json::Map::new();
    if cfg.cur_cfg != cfg.next_cfg {
        root_row.insert("cur_cfg".into(), cfg.next_cfg.into());
    }
    if let Some(types) = iface_types {
        let types: Vec<serde_json::Value> = types.iter().map(|t| (*t).into()).collect();
        root_row.insert(
            "datapath_types".into(),
            serde_json::json!(["set", ["netdev"]]),
        );
        root_row.insert("iface_types".into(), serde_json::json!(["set", types]));
    }
    if !root_row.is_empty() {
        txn.update(
            "Open_vSwitch",
            &[Condition::uuid(root)],
            serde_json::Value::Object(root_row),
        );
    }
    (!txn.is_empty()).then_some(txn)
}

/// Keeps the switch reconciled with the database served on `socket`
/// until the connection fails: on every change, and every
/// `stats_interval` for statistics and link state.
pub async fn run(
    socket: std::path::PathBuf,
    flow_dir: std::path::PathBuf,
    opener: Box<dyn Opener>,
    stats_interval: std::time::Duration,
    dp: Arc<crate::dp::Dp>,
    registry: crate::appctl::Registry,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use ovsdb::client::{Client, ClientOptions};
    let remote = format!("unix:{}", socket.display());
    let client = Client::connect(&remote, &ClientOptions::default())
        .await
        .with_context(|| format!("cannot connect to the database at {remote}"))?;
    let mon = client
        .monitor("Open_vSwitch", crate::config::monitor_spec())
        .await
        .context("cannot monitor the database")?;
    let mut switch = Switch::new(opener)
        .with_mgmt_sockets(
            socket
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
        )
        .with_datapath(dp.clone())
        .with_flow_dir(flow_dir);
    let bridges: Arc<std::sync::Mutex<BTreeMap<String, Arc<OfBridge>>>> = Arc::default();
    crate::commands::register(&registry, &dp, &bridges);
    {
        let dp = dp.clone();
        let bridges = bridges.clone();
        tokio::spawn(async move {
            let mut tick: u32 = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                tick = tick.wrapping_add(1);
                let expire = tick.is_multiple_of(25);
                let d = dp.clone();
                let list: Vec<Arc<OfBridge>> = bridges
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .values()
                    .cloned()
                    .collect();
                let _ = tokio::task::spawn_blocking(move || {
                    // Credit rules before timeouts look at them.
                    if expire {
                        d.sweep_stats();
                    }
                    let mut changed = false;
                    for b in list {
                        b.sync_tables();
                        changed |= b.check_fail_open();
                        if expire {
                            changed |= b.expire();
                        }
                        b.save_flows_if_dirty();
                    }
                    if changed {
                        d.changed_and_wait();
                    }
                    d.housekeeping();
                    crate::mem::trim_if_requested(
                        u64::try_from(crate::ofswitch::EPOCH.elapsed().as_millis())
                            .unwrap_or(u64::MAX),
                    );
                })
                .await;
            }
        });
    }
    let mut last = Status::default();
    let mut seen = u64::MAX;
    let mut types_written = false;
    loop {
        let seq = seen;
        tokio::select! {
            r = mon.wait_until(None, |r| r.seqno() != seq) => r?,
            _ = tokio::time::sleep(stats_interval) => {}
        }
        let (cfg, seqno) = mon.read(|r| (SwitchConfig::from_replica(r), r.seqno()));
        seen = seqno;
        for w in &cfg.warnings {
            tracing::warn!("{w}");
        }
        let status = tokio::task::block_in_place(|| switch.reconcile(&cfg));
        *bridges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = switch.of_bridges();
        let types = switch.iface_types();
        let types = (!types_written && cfg.root.is_some()).then_some(&types[..]);
        if let Some(txn) = writeback(&cfg, &status, &last, types) {
            match client.commit(txn).await {
                Ok(_) => {
                    last = status;
                    types_written = true;
                }
                Err(e) => tracing::warn!("cannot write the switch status: {e}"),
            }
        } else {
            last = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InterfaceConfig, PortConfig};
    use std::sync::Mutex;

    /// Opens dummies, except names in `missing`; counts opens.
    #[derive(Default)]
    struct TestOpener {
        missing: Mutex<BTreeSet<String>>,
        opens: Mutex<Vec<String>>,
    }

    impl Opener for Arc<TestOpener> {
        fn open(
            &self,
            name: &str,
            _kind: &str,
            _o: &BTreeMap<String, String>,
        ) -> Result<Arc<dyn Netdev>, String> {
            self.opens.lock().unwrap().push(name.to_owned());
            if self.missing.lock().unwrap().contains(name) {
                return Err(format!(
                    "could not open network device {name} (No such device)"
                ));
            }
            Ok(datapath::netdev::dummy::Dummy::new(name, 1).unwrap())
        }
        fn types(&self) -> Vec<&'static str> {
            vec!["dummy"]
        }
    }

    fn uuid(n: u128) -> Uuid {
        Uuid(::uuid::Uuid::from_u128(n))
    }

    fn iface(n: u128, req: Option<i64>) -> InterfaceConfig {
        InterfaceConfig {
            uuid: uuid(n),
            kind: "dummy".into(),
            options: BTreeMap::new(),
            ofport_request: req,
            ofport: None,
            mtu_request: None,
            mac: None,
        }
    }

    fn port(n: u128, name: &str, i: InterfaceConfig) -> (String, PortConfig) {
        (
            name.to_owned(),
            PortConfig {
                uuid: uuid(n),
                tag: None,
                trunks: vec![],
                vlan_mode: None,
                interfaces: BTreeMap::from([(name.to_owned(), i)]),
            },
        )
    }

    fn bridge(ports: Vec<(String, PortConfig)>) -> SwitchConfig {
        let mut cfg = SwitchConfig::default();
        let mut all = ports;
        all.push(port(1, "br0", {
            let mut i = iface(2, None);
            i.kind = "internal".into();
            i
        }));
        cfg.bridges.insert(
            "br0".into(),
            BridgeConfig {
                uuid: uuid(100),
                datapath_type: String::new(),
                fail_mode: None,
                protocols: vec![],
                other_config: BTreeMap::new(),
                controllers: vec![],
                ports: all.into_iter().collect(),
            },
        );
        cfg
    }

    #[test]
    fn ofports_requests_and_errors() {
        let op = Arc::new(TestOpener::default());
        op.missing.lock().unwrap().insert("gone".into());
        let mut sw = Switch::new(Box::new(op.clone()));
        let cfg = bridge(vec![
            port(10, "p1", iface(11, None)),
            port(12, "p2", iface(13, Some(5))),
            port(14, "gone", iface(15, None)),
        ]);
        let st = sw.reconcile(&cfg);
        assert_eq!(st.ifaces[&uuid(2)].ofport, OFPP_LOCAL);
        assert_eq!(st.ifaces[&uuid(11)].ofport, 1);
        assert_eq!(st.ifaces[&uuid(13)].ofport, 5);
        let g = &st.ifaces[&uuid(15)];
        assert_eq!(g.ofport, -1);
        assert_eq!(
            g.error.as_deref(),
            Some("could not open network device gone (No such device)")
        );
        assert_eq!(g.link_state, None);
        assert_eq!(st.ifaces[&uuid(11)].link_state, Some("up"));
        assert_eq!(st.ifaces[&uuid(11)].statistics["rx_packets"], 0);
        assert_eq!(st.bridges[&uuid(100)].datapath_id.len(), 16);

        // Unchanged interfaces keep their device (no reopen) and numbers;
        // the missing one is retried and now opens.
        op.opens.lock().unwrap().clear();
        op.missing.lock().unwrap().clear();
        let st2 = sw.reconcile(&cfg);
        assert_eq!(*op.opens.lock().unwrap(), vec!["gone".to_owned()]);
        assert_eq!(st2.ifaces[&uuid(11)].ofport, 1);
        assert_eq!(st2.ifaces[&uuid(15)].ofport, 2);
        assert_eq!(st2.ifaces[&uuid(15)].error, None);

        // A request for a number in use by an interface without a request
        // wins; the other is renumbered.
        let cfg3 = bridge(vec![
            port(10, "p1", iface(11, None)),
            port(12, "p2", iface(13, Some(5))),
            port(14, "gone", iface(15, Some(1))),
        ]);
        let st3 = sw.reconcile(&cfg3);
        assert_eq!(st3.ifaces[&uuid(15)].ofport, 1);
        assert_eq!(st3.ifaces[&uuid(11)].ofport, 2);
        assert_eq!(st3.ifaces[&uuid(13)].ofport, 5);

        // Removing a port drops only it; removing the bridge drops all.
        let cfg4 = bridge(vec![port(10, "p1", iface(11, None))]);
        let st4 = sw.reconcile(&cfg4);
        assert_eq!(st4.ifaces.len(), 2);
        assert!(sw.netdev("br0", "p2").is_none());
        assert!(sw.netdev("br0", "p1").is_some());
        sw.reconcile(&SwitchConfig::default());
        assert!(sw.netdev("br0", "p1").is_none());
    }

    #[test]
    fn type_change_reopens() {
        let op = Arc::new(TestOpener::default());
        let mut sw = Switch::new(Box::new(op.clone()));
        sw.reconcile(&bridge(vec![port(10, "p1", iface(11, None))]));
        let mut i = iface(11, None);
        i.options.insert("k".into(), "v".into());
        op.opens.lock().unwrap().clear();
        sw.reconcile(&bridge(vec![port(10, "p1", i)]));
        assert_eq!(*op.opens.lock().unwrap(), vec!["p1".to_owned()]);
    }

    #[test]
    fn datapath_ids() {
        let mut b = bridge(vec![]).bridges.remove("br0").unwrap();
        b.other_config
            .insert("datapath-id".into(), "00000000000000AB".into());
        assert_eq!(datapath_id(&b, None), "00000000000000ab");
        b.other_config.clear();
        b.other_config
            .insert("hwaddr".into(), "02:00:00:00:00:01".into());
        assert_eq!(datapath_id(&b, Some([0xaa; 6])), "0000020000000001");
        b.other_config.clear();
        assert_eq!(datapath_id(&b, Some([0xaa; 6])), "0000aaaaaaaaaaaa");
        let derived = datapath_id(&b, None);
        assert_eq!(derived, datapath_id(&b, None), "stable");
        assert!(derived.starts_with("0000"));
    }
}
