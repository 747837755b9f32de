//! The NORMAL action's state: per-port VLAN configuration and the MAC
//! learning table.
//!
//! Contract:
//! * [`PortVlan`] says which VLAN a packet received on a port belongs to
//!   ([`PortVlan::input_vlan`]; `None` = drop) and how a packet of a VLAN
//!   leaves a port ([`PortVlan::output_tag`]: not at all, untagged, or
//!   tagged), for the Open vSwitch modes access, trunk, native-tagged and
//!   native-untagged. VLAN 0 stands for "untagged" on trunks.
//! * [`MacTable`] maps (VLAN, MAC) to a port with aging: an entry older
//!   than the aging time is ignored by lookups and dropped by
//!   [`MacTable::expire`]; when full, learning evicts the oldest entry.
//!   Times are milliseconds supplied by the caller.

use crate::ofp::port::PortNo;
use std::collections::HashMap;

/// VLAN mode of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VlanMode {
    /// One VLAN, untagged.
    Access,
    /// Tagged VLANs (the trunks; all when empty).
    #[default]
    Trunk,
    /// Trunk whose native VLAN (`tag`) is received untagged and sent tagged.
    NativeTagged,
    /// Trunk whose native VLAN (`tag`) is received and sent untagged.
    NativeUntagged,
}

/// The VLAN configuration of a port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortVlan {
    /// Mode.
    pub mode: VlanMode,
    /// Access or native VLAN.
    pub tag: Option<u16>,
    /// Trunked VLANs (empty = all).
    pub trunks: Vec<u16>,
}

impl PortVlan {
    /// An access port of VLAN `tag`.
    pub fn access(tag: u16) -> PortVlan {
        PortVlan {
            mode: VlanMode::Access,
            tag: Some(tag),
            trunks: Vec::new(),
        }
    }

    /// A trunk of `trunks` (all VLANs when empty).
    pub fn trunk(trunks: &[u16]) -> PortVlan {
        PortVlan {
            mode: VlanMode::Trunk,
            tag: None,
            trunks: trunks.to_vec(),
        }
    }

    fn trunks_vlan(&self, vlan: u16) -> bool {
        self.trunks.is_empty() || self.trunks.contains(&vlan)
    }

    /// The VLAN of a packet received with tag `vid` (`None` untagged or
    /// priority-tagged); `None` when the port must drop it.
    pub fn input_vlan(&self, vid: Option<u16>) -> Option<u16> {
        let vid = vid.filter(|&v| v != 0);
        match self.mode {
            VlanMode::Access => match vid {
                None => Some(self.tag.unwrap_or(0)),
                Some(_) => None,
            },
            VlanMode::Trunk => {
                let v = vid.unwrap_or(0);
                self.trunks_vlan(v).then_some(v)
            }
            VlanMode::NativeTagged | VlanMode::NativeUntagged => match vid {
                None => Some(self.tag.unwrap_or(0)),
                Some(v) => (Some(v) == self.tag || self.trunks_vlan(v)).then_some(v),
            },
        }
    }

    /// How a packet of `vlan` leaves this port: `None` not at all,
    /// `Some(None)` untagged, `Some(Some(vid))` tagged.
    pub fn output_tag(&self, vlan: u16) -> Option<Option<u16>> {
        match self.mode {
            VlanMode::Access => (Some(vlan) == self.tag.or(Some(0))).then_some(None),
            VlanMode::Trunk => self
                .trunks_vlan(vlan)
                .then_some((vlan != 0).then_some(vlan)),
            VlanMode::NativeTagged => (Some(vlan) == self.tag || self.trunks_vlan(vlan))
                .then_some((vlan != 0).then_some(vlan)),
            VlanMode::NativeUntagged => {
                if Some(vlan) == self.tag {
                    Some(None)
                } else {
                    self.trunks_vlan(vlan)
                        .then_some((vlan != 0).then_some(vlan))
                }
            }
        }
    }
}

/// A learned MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacEntry {
    /// Port.
    pub port: PortNo,
    /// Time learned or last refreshed (ms).
    pub learned_ms: u64,
}

/// Default aging time (ms).
pub const DEFAULT_AGING_MS: u64 = 300_000;
/// Default table size.
pub const DEFAULT_MAX_MACS: usize = 8192;

/// The MAC learning table.
#[derive(Debug, Clone)]
pub struct MacTable {
    entries: HashMap<(u16, [u8; 6]), MacEntry>,
    /// Aging time (ms).
    pub aging_ms: u64,
    /// Maximum entries.
    pub max_entries: usize,
}

impl Default for MacTable {
    fn default() -> Self {
        MacTable {
            entries: HashMap::new(),
            aging_ms: DEFAULT_AGING_MS,
            max_entries: DEFAULT_MAX_MACS,
        }
    }
}

impl MacTable {
    /// Learns that `mac` in `vlan` is on `port`; true when this changed the
    /// table (new entry or move).
    pub fn learn(&mut self, vlan: u16, mac: [u8; 6], port: PortNo, now_ms: u64) -> bool {
        if mac[0] & 1 != 0 {
            return false;
        }
        if let Some(e) = self.entries.get_mut(&(vlan, mac)) {
            let moved = e.port != port;
            *e = MacEntry {
                port,
                learned_ms: now_ms,
            };
            return moved;
        }
        if self.entries.len() >= self.max_entries
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.learned_ms)
                .map(|(k, _)| *k)
        {
            self.entries.remove(&oldest);
        }
        self.entries.insert(
            (vlan, mac),
            MacEntry {
                port,
                learned_ms: now_ms,
            },
        );
        true
    }

    /// The port of `mac` in `vlan`, unless unknown or aged out.
    pub fn lookup(&self, vlan: u16, mac: [u8; 6], now_ms: u64) -> Option<PortNo> {
        self.entries
            .get(&(vlan, mac))
            .filter(|e| now_ms.saturating_sub(e.learned_ms) < self.aging_ms)
            .map(|e| e.port)
    }

    /// Drops aged-out entries.
    pub fn expire(&mut self, now_ms: u64) {
        let aging = self.aging_ms;
        self.entries
            .retain(|_, e| now_ms.saturating_sub(e.learned_ms) < aging);
    }

    /// Forgets everything.
    pub fn flush(&mut self) {
        self.entries.clear();
    }

    /// Forgets the entries of `port` (port removed or reconfigured).
    pub fn flush_port(&mut self, port: PortNo) {
        self.entries.retain(|_, e| e.port != port);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `fdb/show` text: a header line, then one line per entry sorted
    /// by port, VLAN and MAC, with the age in seconds.
    pub fn show(&self, now_ms: u64, port_name: &dyn Fn(PortNo) -> String) -> String {
        let mut rows: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, e)| now_ms.saturating_sub(e.learned_ms) < self.aging_ms)
            .collect();
        rows.sort_by_key(|((vlan, mac), e)| (e.port, *vlan, *mac));
        let mut out = String::from(" port  VLAN  MAC                Age\n");
        for ((vlan, mac), e) in rows {
            out.push_str(&format!(
                "{:>5}  {:>4}  {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}  {:>3}\n",
                port_name(e.port),
                vlan,
                mac[0],
                mac[1],
                mac[2],
                mac[3],
                mac[4],
                mac[5],
                now_ms.saturating_sub(e.learned_ms) / 1000
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_and_trunk() {
        let a = PortVlan::access(10);
        assert_eq!(a.input_vlan(None), Some(10));
        assert_eq!(a.input_vlan(Some(0)), Some(10));
        assert_eq!(a.input_vlan(Some(20)), None);
        assert_eq!(a.output_tag(10), Some(None));
        assert_eq!(a.output_tag(20), None);
        let t = PortVlan::trunk(&[10, 20]);
        assert_eq!(t.input_vlan(Some(20)), Some(20));
        assert_eq!(t.input_vlan(Some(30)), None);
        assert_eq!(t.input_vlan(None), None);
        assert_eq!(t.output_tag(10), Some(Some(10)));
        let all = PortVlan::default();
        assert_eq!(all.input_vlan(None), Some(0));
        assert_eq!(all.output_tag(0), Some(None));
    }

    #[test]
    fn native_modes() {
        let nt = PortVlan {
            mode: VlanMode::NativeTagged,
            tag: Some(5),
            trunks: vec![7],
        };
        assert_eq!(nt.input_vlan(None), Some(5));
        assert_eq!(nt.output_tag(5), Some(Some(5)));
        let nu = PortVlan {
            mode: VlanMode::NativeUntagged,
            ..nt
        };
        assert_eq!(nu.output_tag(5), Some(None));
        assert_eq!(nu.output_tag(7), Some(Some(7)));
        assert_eq!(nu.output_tag(8), None);
    }

    #[test]
    fn learning_and_aging() {
        let mut t = MacTable::default();
        let m = [0, 0, 0, 0, 0, 1];
        assert!(t.learn(10, m, 1, 0));
        assert!(!t.learn(10, m, 1, 1000));
        assert_eq!(t.lookup(10, m, 2000), Some(1));
        assert_eq!(t.lookup(20, m, 2000), None);
        assert!(t.learn(10, m, 2, 3000));
        assert_eq!(t.lookup(10, m, 3000), Some(2));
        assert_eq!(t.lookup(10, m, 3000 + DEFAULT_AGING_MS), None);
        assert_eq!(
            t.show(5000, &|p| p.to_string()),
            " port  VLAN  MAC                Age\n    2    10  00:00:00:00:00:01    2\n"
        );
        t.expire(3000 + DEFAULT_AGING_MS);
        assert!(t.is_empty());
        assert!(
            !t.learn(10, [1, 0, 0, 0, 0, 1], 1, 0),
            "multicast not learned"
        );
    }
}
