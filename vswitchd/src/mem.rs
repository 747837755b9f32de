//! Giving freed memory back to the system.
//!
//! Deleting 100,000 flows frees tens of MiB in small blocks; glibc's
//! allocator keeps them in its per-thread arenas (and only returns the top
//! of each heap), so the daemon's RSS would stay at its high-water mark and
//! grow when a later load happens on another thread's arena. After a large
//! release the control plane asks for [`trim_soon`]; the housekeeping task
//! calls [`trim_if_requested`], which runs `malloc_trim(0)` (returns the
//! free pages of every arena) at most once a second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Releases of at least this many flows ask for a trim.
pub const TRIM_AFTER_FLOWS: usize = 1000;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static LAST_MS: AtomicU64 = AtomicU64::new(0);

static CHANGED_FLOWS: AtomicU64 = AtomicU64::new(0);

/// Counts flows added or changed; every [`TRIM_AFTER_FLOWS`] of them ask
/// for a trim. A load of many flow_mods leaves their receive buffers and
/// decoded messages free in the arenas, which would otherwise stay in RSS
/// until the next large delete.
pub fn note_flows_changed(n: usize) {
    let before = CHANGED_FLOWS.fetch_add(n as u64, Ordering::Relaxed);
    if crosses_batch(before, n as u64) {
        trim_soon();
    }
}

/// True when counting `n` more from `before` completes a batch of
/// [`TRIM_AFTER_FLOWS`].
fn crosses_batch(before: u64, n: u64) -> bool {
    let batch = TRIM_AFTER_FLOWS as u64;
    before.wrapping_add(n) / batch != before / batch
}

/// Asks for a trim at the next housekeeping.
pub fn trim_soon() {
    REQUESTED.store(true, Ordering::Release);
}

/// Trims if asked and the last trim is at least a second old (`now_ms` on
/// any monotonic clock); true when it trimmed.
pub fn trim_if_requested(now_ms: u64) -> bool {
    if now_ms.saturating_sub(LAST_MS.load(Ordering::Relaxed)) < 1000
        || !REQUESTED.swap(false, Ordering::AcqRel)
    {
        return false;
    }
    LAST_MS.store(now_ms, Ordering::Relaxed);
    trim();
    true
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim takes no pointers and may be called from
    // any thread at any time (it locks each arena while it works).
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_changed_flows_ask_for_a_trim() {
        // (The counter itself is a static other tests share; its rule:)
        let b = TRIM_AFTER_FLOWS as u64;
        let asks = (0..3 * b).filter(|&i| crosses_batch(i, 1)).count();
        assert_eq!(asks, 3, "one request per batch of changed flows");
        assert!(!crosses_batch(0, b - 1));
        assert!(crosses_batch(b - 1, 1));
        assert!(crosses_batch(5, 2 * b), "a large step asks too");
    }

    #[test]
    fn trims_once_when_asked_and_rate_limited() {
        assert!(!trim_if_requested(10_000), "not asked");
        trim_soon();
        assert!(trim_if_requested(20_000));
        assert!(!trim_if_requested(20_001), "nothing asked since");
        trim_soon();
        assert!(!trim_if_requested(20_500), "within a second");
        assert!(trim_if_requested(21_000), "the request waited");
    }
}
