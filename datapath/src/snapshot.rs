//! Atomically replaced snapshots for data that polling threads read and the
//! control plane changes (the port table, configuration).
//!
//! A [`Snapshot<T>`] holds the current `Arc<T>` and a generation number. A
//! reader keeps its own [`Cached<T>`] and calls [`Cached::refresh`] once per
//! poll iteration: that is one atomic load (acquire) of the generation, and
//! only when it changed, a brief lock to clone the new `Arc`. So a polling
//! thread takes no lock per packet and at most one short lock per change;
//! the writer replaces the value under the same lock and bumps the
//! generation, and never waits for readers (old values are freed when the
//! last reader drops its `Arc`). This is the RCU pattern with `Arc` as the
//! grace period.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The shared cell. See the module documentation.
#[derive(Debug)]
pub struct Snapshot<T> {
    generation: AtomicU64,
    current: Mutex<Arc<T>>,
}

impl<T> Snapshot<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Snapshot<T> {
        Snapshot {
            generation: AtomicU64::new(1),
            current: Mutex::new(Arc::new(value)),
        }
    }

    /// The current value.
    pub fn load(&self) -> Arc<T> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the value; readers see it at their next refresh.
    pub fn store(&self, value: Arc<T>) {
        let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *cur = value;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Replaces the value with `f(current)`, atomically with respect to
    /// other writers.
    pub fn update(&self, f: impl FnOnce(&T) -> T) {
        let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        *cur = Arc::new(f(&cur));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// A reader's cached copy.
    pub fn cached(&self) -> Cached<T> {
        let generation = self.generation.load(Ordering::Acquire);
        Cached {
            generation,
            value: self.load(),
        }
    }
}

/// A reader's copy of a [`Snapshot`].
#[derive(Debug)]
pub struct Cached<T> {
    generation: u64,
    value: Arc<T>,
}

impl<T> Cached<T> {
    /// Picks up a newer value if there is one; true when it changed.
    #[inline]
    pub fn refresh(&mut self, snap: &Snapshot<T>) -> bool {
        let g = snap.generation.load(Ordering::Acquire);
        if g == self.generation {
            return false;
        }
        self.value = snap.load();
        self.generation = g;
        true
    }

    /// The value.
    #[inline]
    pub fn get(&self) -> &Arc<T> {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_updates_at_refresh() {
        let s = Snapshot::new(1u32);
        let mut c = s.cached();
        assert!(!c.refresh(&s));
        s.store(Arc::new(2));
        assert_eq!(**c.get(), 1, "unchanged until refresh");
        assert!(c.refresh(&s));
        assert_eq!(**c.get(), 2);
        s.update(|v| v + 1);
        assert!(c.refresh(&s));
        assert_eq!(**c.get(), 3);
    }
}
