//! Groups: the group table and `group_mod` semantics.
//!
//! Contract: [`GroupTable::group_mod`] validates the whole request before
//! changing anything: unknown type or command, an INDIRECT group without
//! exactly one bucket, a FAST_FAILOVER bucket with no watch, a bucket
//! chaining to a missing group or forming a loop are refused with the
//! OpenFlow error (`OFPGMFC_*`). Deleting a group another group chains to is
//! refused (`OFPGMFC_CHAINED_GROUP`); deleting a group flows use is allowed,
//! and the caller then removes those flows (`FlowTables::remove_group_users`).
//! Counters are atomics, credited by the fast path through `&Group`.

use crate::ofp::actions::Action;
use crate::ofp::error::ErrorKind;
use crate::ofp::port::{PortNo, ports};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest group id usable in a group_mod.
pub const GROUP_MAX: u32 = 0xffff_ff00;
/// "All groups" in a delete.
pub const GROUP_ALL: u32 = 0xffff_fffc;

/// Group types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    /// Every bucket.
    All,
    /// One bucket chosen by a hash of the flow, weighted.
    Select,
    /// The single bucket.
    Indirect,
    /// The first live bucket.
    FastFailover,
}

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Weight (SELECT only).
    pub weight: u16,
    /// Port whose liveness the bucket depends on (`ANY` = none).
    pub watch_port: PortNo,
    /// Group whose liveness the bucket depends on (`GROUP_ANY` = none).
    pub watch_group: u32,
    /// Actions.
    pub actions: Vec<Action>,
}

impl Bucket {
    /// A bucket with these actions, weight 1, no watch.
    pub fn new(actions: Vec<Action>) -> Bucket {
        Bucket {
            weight: 1,
            watch_port: ports::ANY,
            watch_group: crate::ofp::messages::GROUP_ANY,
            actions,
        }
    }
}

/// group_mod commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupModCommand {
    /// Add a group.
    Add,
    /// Replace a group's type and buckets.
    Modify,
    /// Delete a group (or all, with [`GROUP_ALL`]).
    Delete,
}

/// A group_mod request (version-independent; the wire codec does not model
/// GROUP_MOD yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMod {
    /// Command.
    pub command: GroupModCommand,
    /// Type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
}

/// Counters of a group and its buckets.
#[derive(Debug, Default)]
pub struct GroupCounters {
    /// Packets.
    pub packets: AtomicU64,
    /// Bytes.
    pub bytes: AtomicU64,
    /// Per bucket (packets, bytes).
    pub buckets: Vec<(AtomicU64, AtomicU64)>,
}

/// A group as stored.
#[derive(Debug)]
pub struct Group {
    /// Id.
    pub id: u32,
    /// Type.
    pub group_type: GroupType,
    /// Buckets.
    pub buckets: Vec<Bucket>,
    /// Creation time (ms).
    pub created_ms: u64,
    /// Counters.
    pub counters: GroupCounters,
}

impl Group {
    /// Credits a hit of `bucket` (`None`: the group only).
    pub fn credit(&self, bucket: Option<usize>, packets: u64, bytes: u64) {
        self.counters.packets.fetch_add(packets, Ordering::Relaxed);
        self.counters.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some((p, b)) = bucket.and_then(|i| self.counters.buckets.get(i)) {
            p.fetch_add(packets, Ordering::Relaxed);
            b.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

/// Group statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStats {
    /// Id.
    pub group_id: u32,
    /// Flows referring to the group.
    pub ref_count: u32,
    /// Packets.
    pub packet_count: u64,
    /// Bytes.
    pub byte_count: u64,
    /// Per bucket (packets, bytes).
    pub buckets: Vec<(u64, u64)>,
    /// Seconds alive.
    pub duration_sec: u32,
}

/// The groups of a bridge.
#[derive(Debug, Default)]
pub struct GroupTable {
    groups: BTreeMap<u32, Arc<Group>>,
}

impl GroupTable {
    /// Group `id`.
    pub fn get(&self, id: u32) -> Option<&Arc<Group>> {
        self.groups.get(&id)
    }

    /// True when group `id` exists.
    pub fn contains(&self, id: u32) -> bool {
        self.groups.contains_key(&id)
    }

    /// Every group, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Group>> {
        self.groups.values()
    }

    /// Applies a group_mod; returns the ids of the groups deleted (whose
    /// flows the caller must remove).
    pub fn group_mod(
        &mut self,
        gm: &GroupMod,
        now_ms: u64,
        check_actions: &dyn Fn(&[Action]) -> Result<(), ErrorKind>,
    ) -> Result<Vec<u32>, ErrorKind> {
        match gm.command {
            GroupModCommand::Delete => {
                let ids: Vec<u32> = if gm.group_id == GROUP_ALL {
                    self.groups.keys().copied().collect()
                } else if self.groups.contains_key(&gm.group_id) {
                    vec![gm.group_id]
                } else {
                    // Deleting a missing group is not an error.
                    return Ok(Vec::new());
                };
                if gm.group_id != GROUP_ALL {
                    let chained = self.groups.values().any(|g| {
                        g.id != gm.group_id
                            && g.buckets.iter().any(|b| {
                                b.watch_group == gm.group_id
                                    || b.actions.contains(&Action::Group(gm.group_id))
                            })
                    });
                    if chained {
                        return Err(ErrorKind::GroupModFailedChainedGroup);
                    }
                }
                for id in &ids {
                    self.groups.remove(id);
                }
                Ok(ids)
            }
            GroupModCommand::Add | GroupModCommand::Modify => {
                if gm.group_id > GROUP_MAX {
                    return Err(ErrorKind::GroupModFailedInvalidGroup);
                }
                let exists = self.groups.contains_key(&gm.group_id);
                if gm.command == GroupModCommand::Add && exists {
                    return Err(ErrorKind::GroupModFailedGroupExists);
                }
                if gm.command == GroupModCommand::Modify && !exists {
                    return Err(ErrorKind::GroupModFailedUnknownGroup);
                }
                if gm.group_type == GroupType::Indirect && gm.buckets.len() != 1 {
                    return Err(ErrorKind::GroupModFailedBadBucket);
                }
                for b in &gm.buckets {
                    if gm.group_type == GroupType::FastFailover
                        && b.watch_port == ports::ANY
                        && b.watch_group == crate::ofp::messages::GROUP_ANY
                    {
                        return Err(ErrorKind::GroupModFailedBadWatch);
                    }
                    if b.watch_group != crate::ofp::messages::GROUP_ANY
                        && !self.groups.contains_key(&b.watch_group)
                    {
                        return Err(ErrorKind::GroupModFailedBadWatch);
                    }
                    for a in &b.actions {
                        if let Action::Group(g) = a {
                            if *g == gm.group_id || self.reaches(*g, gm.group_id) {
                                return Err(ErrorKind::GroupModFailedLoop);
                            }
                            if !self.groups.contains_key(g) {
                                return Err(ErrorKind::GroupModFailedChainingUnsupported);
                            }
                        }
                    }
                    check_actions(&b.actions)?;
                }
                let created_ms = self
                    .groups
                    .get(&gm.group_id)
                    .map_or(now_ms, |g| g.created_ms);
                let group = Group {
                    id: gm.group_id,
                    group_type: gm.group_type,
                    buckets: gm.buckets.clone(),
                    created_ms,
                    counters: GroupCounters {
                        buckets: gm.buckets.iter().map(|_| Default::default()).collect(),
                        ..Default::default()
                    },
                };
                self.groups.insert(gm.group_id, Arc::new(group));
                Ok(Vec::new())
            }
        }
    }

    /// True when group `from` chains (directly or not) to `to`.
    fn reaches(&self, from: u32, to: u32) -> bool {
        let mut stack = vec![from];
        let mut seen = Vec::new();
        while let Some(g) = stack.pop() {
            if g == to {
                return true;
            }
            if seen.contains(&g) {
                continue;
            }
            seen.push(g);
            if let Some(grp) = self.groups.get(&g) {
                for b in &grp.buckets {
                    for a in &b.actions {
                        if let Action::Group(n) = a {
                            stack.push(*n);
                        }
                    }
                }
            }
        }
        false
    }

    /// Statistics of every group (`ref_count` from `refs`).
    pub fn stats(&self, now_ms: u64, refs: &dyn Fn(u32) -> u32) -> Vec<GroupStats> {
        self.groups
            .values()
            .map(|g| GroupStats {
                group_id: g.id,
                ref_count: refs(g.id),
                packet_count: g.counters.packets.load(Ordering::Relaxed),
                byte_count: g.counters.bytes.load(Ordering::Relaxed),
                buckets: g
                    .counters
                    .buckets
                    .iter()
                    .map(|(p, b)| (p.load(Ordering::Relaxed), b.load(Ordering::Relaxed)))
                    .collect(),
                duration_sec: (now_ms.saturating_sub(g.created_ms) / 1000) as u32,
            })
            .collect()
    }
}
