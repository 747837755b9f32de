//! The switch configuration as the database describes it: a typed, owned
//! snapshot of the `Open_vSwitch`, `Bridge`, `Port`, `Interface` and
//! `Controller` rows that the reconciler (`bridge`) brings into effect.
//!
//! Contract: [`SwitchConfig::from_replica`] is a pure function of the
//! replica. Rows that are not reachable from the root `Open_vSwitch` row
//! (bridges not in `bridges`, ports not in a bridge's `ports`...) are
//! ignored, as `ovs-vswitchd` ignores them; a port or interface named twice
//! is taken once (the first in uuid order), and duplicates are reported in
//! [`SwitchConfig::warnings`]. Nothing here fails: bad values (an unknown
//! `vlan_mode`, a malformed `mac`) are carried as they are and judged by the
//! reconciler, which reports them in the `error` column.

use ovsdb::client::{Replica, Row};
use ovsdb::datum::Atom;
use ovsdb::datum::Uuid;
use std::collections::BTreeMap;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwitchConfig {
    /// The root row, if the database has one.
    pub root: Option<Uuid>,
    /// `Open_vSwitch.next_cfg`.
    pub next_cfg: i64,
    /// `Open_vSwitch.cur_cfg` as last written.
    pub cur_cfg: i64,
    /// Bridges by name.
    pub bridges: BTreeMap<String, BridgeConfig>,
    /// Problems found while reading (duplicate names).
    pub warnings: Vec<String>,
}

/// One bridge.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeConfig {
    /// Row uuid.
    pub uuid: Uuid,
    /// `datapath_type` (`""` means the default).
    pub datapath_type: String,
    /// `fail_mode`: `secure`, `standalone`, or `None` (standalone).
    pub fail_mode: Option<String>,
    /// `protocols` (empty: the default set).
    pub protocols: Vec<String>,
    /// `other_config`.
    pub other_config: BTreeMap<String, String>,
    /// Controllers, in uuid order.
    pub controllers: Vec<ControllerConfig>,
    /// Ports by name.
    pub ports: BTreeMap<String, PortConfig>,
}

/// One controller target.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerConfig {
    /// Row uuid.
    pub uuid: Uuid,
    /// `target`, e.g. `tcp:127.0.0.1:6653`.
    pub target: String,
}

/// One port.
#[derive(Debug, Clone, PartialEq)]
pub struct PortConfig {
    /// Row uuid.
    pub uuid: Uuid,
    /// `tag`.
    pub tag: Option<i64>,
    /// `trunks`.
    pub trunks: Vec<i64>,
    /// `vlan_mode`.
    pub vlan_mode: Option<String>,
    /// Interfaces by name.
    pub interfaces: BTreeMap<String, InterfaceConfig>,
}

/// One interface.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceConfig {
    /// Row uuid.
    pub uuid: Uuid,
    /// `type` (`""` means `system`).
    pub kind: String,
    /// `options`.
    pub options: BTreeMap<String, String>,
    /// `ofport_request`.
    pub ofport_request: Option<i64>,
    /// `ofport` as last written (kept across restarts when still free).
    pub ofport: Option<i64>,
    /// `mtu_request`.
    pub mtu_request: Option<i64>,
    /// `mac` (requested MAC of an internal port).
    pub mac: Option<String>,
}

fn string_map(row: &Row, column: &str) -> BTreeMap<String, String> {
    let Some(d) = row.get(column) else {
        return BTreeMap::new();
    };
    d.keys()
        .zip(d.values())
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect()
}

fn strings(row: &Row, column: &str) -> Vec<String> {
    row.get(column).map_or_else(Vec::new, |d| {
        d.keys()
            .filter_map(Atom::as_str)
            .map(str::to_owned)
            .collect()
    })
}

fn integers(row: &Row, column: &str) -> Vec<i64> {
    row.get(column).map_or_else(Vec::new, |d| {
        d.keys().filter_map(Atom::as_integer).collect()
    })
}

fn opt_string(row: &Row, column: &str) -> Option<String> {
    row.string(column).map(str::to_owned)
}

impl SwitchConfig {
    /// Reads the configuration from a replica of the `Open_vSwitch`
    /// database (monitoring at least the columns read here).
    pub fn from_replica(r: &Replica) -> SwitchConfig {
        let mut cfg = SwitchConfig::default();
        let Some(root) = r.rows("Open_vSwitch").min_by_key(|row| row.uuid()) else {
            return cfg;
        };
        cfg.root = Some(root.uuid());
        cfg.next_cfg = root.integer("next_cfg").unwrap_or(0);
        cfg.cur_cfg = root.integer("cur_cfg").unwrap_or(0);
        let mut bridge_uuids = root.uuids("bridges");
        bridge_uuids.sort();
        for bu in bridge_uuids {
            let Some(b) = r.row("Bridge", bu) else {
                continue;
            };
            let name = b.string("name").unwrap_or_default().to_owned();
            if cfg.bridges.contains_key(&name) {
                cfg.warnings.push(format!("bridge {name} is named twice"));
                continue;
            }
            let mut controllers: Vec<ControllerConfig> = b
                .uuids("controller")
                .into_iter()
                .filter_map(|cu| r.row("Controller", cu))
                .map(|c| ControllerConfig {
                    uuid: c.uuid(),
                    target: c.string("target").unwrap_or_default().to_owned(),
                })
                .collect();
            controllers.sort_by_key(|c| c.uuid);
            let mut ports = BTreeMap::new();
            let mut port_uuids = b.uuids("ports");
            port_uuids.sort();
            for pu in port_uuids {
                let Some(p) = r.row("Port", pu) else {
                    continue;
                };
                let pname = p.string("name").unwrap_or_default().to_owned();
                if ports.contains_key(&pname) {
                    cfg.warnings
                        .push(format!("bridge {name}: port {pname} is named twice"));
                    continue;
                }
                let mut interfaces = BTreeMap::new();
                let mut iface_uuids = p.uuids("interfaces");
                iface_uuids.sort();
                for iu in iface_uuids {
                    let Some(i) = r.row("Interface", iu) else {
                        continue;
                    };
                    let iname = i.string("name").unwrap_or_default().to_owned();
                    if interfaces.contains_key(&iname) {
                        cfg.warnings
                            .push(format!("bridge {name}: interface {iname} is named twice"));
                        continue;
                    }
                    interfaces.insert(
                        iname,
                        InterfaceConfig {
                            uuid: i.uuid(),
                            kind: i.string("type").unwrap_or_default().to_owned(),
                            options: string_map(i, "options"),
                            ofport_request: i.integer("ofport_request"),
                            ofport: i.integer("ofport"),
                            mtu_request: i.integer("mtu_request"),
                            mac: opt_string(i, "mac"),
                        },
                    );
                }
                ports.insert(
                    pname,
                    PortConfig {
                        uuid: p.uuid(),
                        tag: p.integer("tag"),
                        trunks: integers(p, "trunks"),
                        vlan_mode: opt_string(p, "vlan_mode"),
                        interfaces,
                    },
                );
            }
            cfg.bridges.insert(
                name,
                BridgeConfig {
                    uuid: b.uuid(),
                    datapath_type: b.string("datapath_type").unwrap_or_default().to_owned(),
                    fail_mode: opt_string(b, "fail_mode"),
                    protocols: strings(b, "protocols"),
                    other_config: string_map(b, "other_config"),
                    controllers,
                    ports,
                },
            );
        }
        // An interface name is global to the switch: the first bridge (by
        // name) keeps it.
        let mut seen = std::collections::BTreeSet::new();
        for (bname, b) in cfg.bridges.iter_mut() {
            for (pname, p) in b.ports.iter_mut() {
                p.interfaces.retain(|iname, _| {
                    let fresh = seen.insert(iname.clone());
                    if !fresh {
                        cfg.warnings.push(format!(
                            "bridge {bname}: port {pname}: interface {iname} is already on another port"
                        ));
                    }
                    fresh
                });
            }
        }
        cfg
    }
}

/// The tables and columns the daemon monitors.
pub fn monitor_spec() -> ovsdb::client::MonitorSpec {
    ovsdb::client::MonitorSpec::new()
        .table(
            "Open_vSwitch",
            &[
                "bridges",
                "next_cfg",
                "cur_cfg",
                "datapath_types",
                "iface_types",
            ],
        )
        .table(
            "Bridge",
            &[
                "name",
                "ports",
                "controller",
                "datapath_type",
                "fail_mode",
                "protocols",
                "other_config",
                "datapath_id",
            ],
        )
        .table(
            "Port",
            &["name", "interfaces", "tag", "trunks", "vlan_mode"],
        )
        .table(
            "Interface",
            &[
                "name",
                "type",
                "options",
                "ofport_request",
                "ofport",
                "mtu_request",
                "mac",
            ],
        )
        .table("Controller", &["target"])
}
