//! RFC 7047 section 4.1.8-4.1.10 locks: `lock`, `steal`, `unlock`.
//!
//! Pure bookkeeping, no I/O: the session layer turns the [`Notify`] values
//! returned here into `locked` / `stolen` notifications.
//!
//! Invariants:
//! * a lock has at most one owner; waiters queue in request order;
//! * a session appears at most once per lock (owner or waiter);
//! * when an owner unlocks or disconnects, the first waiter becomes owner
//!   and is told so with a `locked` notification;
//! * `steal` makes the stealer owner at once; the previous owner is told
//!   with `stolen` and is *not* queued again (it must ask again).

use std::collections::{BTreeMap, VecDeque};

/// Identifies a client session.
pub type SessionId = u64;

/// A notification the session layer must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    /// `{"method":"locked","params":[name]}` to `session`.
    Locked { session: SessionId, name: String },
    /// `{"method":"stolen","params":[name]}` to `session`.
    Stolen { session: SessionId, name: String },
}

#[derive(Debug, Default)]
struct Lock {
    owner: Option<SessionId>,
    waiters: VecDeque<SessionId>,
}

/// Errors a lock request can get.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// The session already owns or waits for this lock (RFC 7047: "duplicate lock").
    #[error("duplicate lock")]
    Duplicate,
    /// The session neither owns nor waits for this lock.
    #[error("not owner")]
    NotHeld,
}

/// All locks of a server.
#[derive(Debug, Default)]
pub struct LockTable {
    locks: BTreeMap<String, Lock>,
}

impl LockTable {
    /// Creates an empty table.
    pub fn new() -> LockTable {
        LockTable::default()
    }

    fn involved(lock: &Lock, s: SessionId) -> bool {
        lock.owner == Some(s) || lock.waiters.contains(&s)
    }

    /// `lock`: returns whether the session got the lock now (`{"locked":
    /// bool}`); otherwise it waits and will be notified.
    pub fn lock(&mut self, s: SessionId, name: &str) -> Result<bool, LockError> {
        let lock = self.locks.entry(name.to_owned()).or_default();
        if Self::involved(lock, s) {
            return Err(LockError::Duplicate);
        }
        if lock.owner.is_none() {
            lock.owner = Some(s);
            Ok(true)
        } else {
            lock.waiters.push_back(s);
            Ok(false)
        }
    }

    /// `steal`: the session owns the lock from now on. Returns the
    /// notification for the previous owner, if any.
    pub fn steal(&mut self, s: SessionId, name: &str) -> Result<Option<Notify>, LockError> {
        let lock = self.locks.entry(name.to_owned()).or_default();
        if lock.owner == Some(s) {
            return Err(LockError::Duplicate);
        }
        lock.waiters.retain(|&w| w != s);
        let prev = lock.owner.replace(s);
        Ok(prev.map(|session| Notify::Stolen {
            session,
            name: name.to_owned(),
        }))
    }

    /// `unlock`: releases or stops waiting. Returns the notification for the
    /// new owner, if the lock passed to a waiter.
    pub fn unlock(&mut self, s: SessionId, name: &str) -> Result<Option<Notify>, LockError> {
        let Some(lock) = self.locks.get_mut(name) else {
            return Err(LockError::NotHeld);
        };
        if !Self::involved(lock, s) {
            return Err(LockError::NotHeld);
        }
        let notify = if lock.owner == Some(s) {
            lock.owner = lock.waiters.pop_front();
            lock.owner.map(|session| Notify::Locked {
                session,
                name: name.to_owned(),
            })
        } else {
            lock.waiters.retain(|&w| w != s);
            None
        };
        if lock.owner.is_none() && lock.waiters.is_empty() {
            self.locks.remove(name);
        }
        Ok(notify)
    }

    /// A session went away: release everything it owned or waited for.
    pub fn drop_session(&mut self, s: SessionId) -> Vec<Notify> {
        let names: Vec<String> = self
            .locks
            .iter()
            .filter(|(_, l)| Self::involved(l, s))
            .map(|(n, _)| n.clone())
            .collect();
        names
            .into_iter()
            .filter_map(|n| self.unlock(s, &n).ok().flatten())
            .collect()
    }

    /// True when `s` owns `name` (what a transaction's `assert` checks).
    pub fn owns(&self, s: SessionId, name: &str) -> bool {
        self.locks.get(name).is_some_and(|l| l.owner == Some(s))
    }

    /// Names of the locks `s` owns.
    pub fn owned_by(&self, s: SessionId) -> Vec<String> {
        self.locks
            .iter()
            .filter(|(_, l)| l.owner == Some(s))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_wait_unlock_passes_to_first_waiter() {
        let mut t = LockTable::new();
        assert_eq!(t.lock(1, "ovs_vswitchd"), Ok(true));
        assert_eq!(t.lock(2, "ovs_vswitchd"), Ok(false));
        assert_eq!(t.lock(3, "ovs_vswitchd"), Ok(false));
        assert_eq!(t.lock(2, "ovs_vswitchd"), Err(LockError::Duplicate));
        assert!(t.owns(1, "ovs_vswitchd") && !t.owns(2, "ovs_vswitchd"));
        assert_eq!(
            t.unlock(1, "ovs_vswitchd"),
            Ok(Some(Notify::Locked {
                session: 2,
                name: "ovs_vswitchd".into()
            }))
        );
        assert!(t.owns(2, "ovs_vswitchd"));
        assert_eq!(t.unlock(1, "ovs_vswitchd"), Err(LockError::NotHeld));
    }

    #[test]
    fn steal_notifies_previous_owner_and_does_not_requeue_it() {
        let mut t = LockTable::new();
        t.lock(1, "l").unwrap();
        assert_eq!(
            t.steal(2, "l"),
            Ok(Some(Notify::Stolen {
                session: 1,
                name: "l".into()
            }))
        );
        assert!(t.owns(2, "l"));
        assert_eq!(t.unlock(2, "l"), Ok(None));
        assert!(!t.owns(1, "l"));
        assert_eq!(t.steal(3, "free"), Ok(None));
    }

    #[test]
    fn disconnect_releases_everything() {
        let mut t = LockTable::new();
        t.lock(1, "a").unwrap();
        t.lock(1, "b").unwrap();
        t.lock(2, "a").unwrap();
        t.lock(3, "b").unwrap();
        t.lock(1, "c").unwrap();
        t.lock(2, "c").unwrap();
        let mut n = t.drop_session(1);
        n.sort_by_key(|x| format!("{x:?}"));
        assert_eq!(n.len(), 3);
        assert!(t.owns(2, "a") && t.owns(3, "b") && t.owns(2, "c"));
        assert_eq!(t.owned_by(2), vec!["a".to_string(), "c".to_string()]);
        // A waiter that disconnects just leaves the queue.
        t.lock(4, "a").unwrap();
        assert!(t.drop_session(4).is_empty());
        assert_eq!(t.unlock(2, "a"), Ok(None));
    }
}
