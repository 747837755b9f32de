//! Counters of the fast path: per polling thread, per port, per drop reason.
//!
//! Each polling thread counts in plain integers ([`PmdCounters`]) while it
//! works and publishes them once per poll iteration into atomics
//! ([`PmdStats`]) with relaxed stores: the thread is the only writer, so the
//! publication is a load and a store per counter, never a locked
//! read-modify-write, and the control plane reads them without any lock.
//! Nothing on the fast path logs; every packet that is not sent somewhere is
//! counted under a [`DropReason`].

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why the fast path dropped a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// The flow's actions are empty (an explicit drop).
    Actions,
    /// A meter refused the packet.
    Meter,
    /// The upcall handler returned an error.
    UpcallError,
    /// An output named a port the datapath does not have.
    NoPort,
    /// Too many recirculations.
    RecircDepth,
    /// The port's transmit path refused the packet.
    TxError,
    /// The upcall handler refused a userspace (packet-in) packet.
    UserspaceQueueFull,
    /// More recirculated packets than a batch holds in one pass.
    RecircQueueFull,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 8] = [
        DropReason::Actions,
        DropReason::Meter,
        DropReason::UpcallError,
        DropReason::NoPort,
        DropReason::RecircDepth,
        DropReason::TxError,
        DropReason::UserspaceQueueFull,
        DropReason::RecircQueueFull,
    ];
    /// Number of reasons.
    pub const COUNT: usize = Self::ALL.len();

    /// The counter's name, as `dpif/show` and coverage print it.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Actions => "datapath_drop_actions",
            DropReason::Meter => "datapath_drop_meter",
            DropReason::UpcallError => "datapath_drop_upcall_error",
            DropReason::NoPort => "datapath_drop_invalid_port",
            DropReason::RecircDepth => "datapath_drop_recirc_depth",
            DropReason::TxError => "datapath_drop_tx_error",
            DropReason::UserspaceQueueFull => "datapath_drop_userspace_queue",
            DropReason::RecircQueueFull => "datapath_drop_recirc_queue",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A polling thread's counters while it works (plain integers, one writer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PmdCounters {
    /// Packets received from ports (recirculations not included).
    pub packets: u64,
    /// Lookups that hit the exact-match cache.
    pub emc_hits: u64,
    /// Lookups that missed the EMC and hit the megaflow cache.
    pub megaflow_hits: u64,
    /// Lookups that missed both caches and went to the upcall handler.
    pub upcalls: u64,
    /// Upcalls that failed (the packet was dropped).
    pub lost_upcalls: u64,
    /// Upcalls whose megaflow was not installed because of the flow limit.
    pub flow_limit_hits: u64,
    /// Recirculated passes.
    pub recirculations: u64,
    /// Nanoseconds spent processing received batches.
    pub busy_ns: u64,
    /// Poll iterations.
    pub iterations: u64,
    /// Poll iterations that received nothing.
    pub idle_iterations: u64,
    /// Megaflows removed because they were idle too long.
    pub expired: u64,
    /// Megaflows removed or changed by revalidation.
    pub revalidated: u64,
    /// Drops, indexed by `DropReason as usize`.
    pub drops: [u64; DropReason::COUNT],
}

impl PmdCounters {
    /// Counts `n` drops for `reason`.
    #[inline]
    pub fn drop(&mut self, reason: DropReason, n: u64) {
        self.drops[reason as usize] += n;
    }

    /// Every lookup, whatever tier answered.
    pub fn lookups(&self) -> u64 {
        self.emc_hits + self.megaflow_hits + self.upcalls
    }

    /// Adds `other` into `self` (to total several threads).
    pub fn accumulate(&mut self, other: &PmdCounters) {
        self.packets += other.packets;
        self.emc_hits += other.emc_hits;
        self.megaflow_hits += other.megaflow_hits;
        self.upcalls += other.upcalls;
        self.lost_upcalls += other.lost_upcalls;
        self.flow_limit_hits += other.flow_limit_hits;
        self.recirculations += other.recirculations;
        self.busy_ns += other.busy_ns;
        self.iterations += other.iterations;
        self.idle_iterations += other.idle_iterations;
        self.expired += other.expired;
        self.revalidated += other.revalidated;
        for (a, b) in self.drops.iter_mut().zip(other.drops.iter()) {
            *a += b;
        }
    }
}

macro_rules! atomic_mirror {
    ($($f:ident),*) => {
        /// The published form of [`PmdCounters`], read by the control plane
        /// without locks.
        #[derive(Debug, Default)]
        pub struct PmdStats {
            $($f: AtomicU64,)*
            drops: [AtomicU64; DropReason::COUNT],
        }

        impl PmdStats {
            /// Publishes `c` (called by the owning thread only).
            #[inline]
            pub fn publish(&self, c: &PmdCounters) {
                $(self.$f.store(c.$f, Relaxed);)*
                for (a, &v) in self.drops.iter().zip(c.drops.iter()) {
                    a.store(v, Relaxed);
                }
            }

            /// A copy of the last published counters.
            pub fn read(&self) -> PmdCounters {
                let mut c = PmdCounters { $($f: self.$f.load(Relaxed),)* ..Default::default() };
                for (v, a) in c.drops.iter_mut().zip(self.drops.iter()) {
                    *v = a.load(Relaxed);
                }
                c
            }
        }
    };
}

atomic_mirror!(
    packets,
    emc_hits,
    megaflow_hits,
    upcalls,
    lost_upcalls,
    flow_limit_hits,
    recirculations,
    busy_ns,
    iterations,
    idle_iterations,
    expired,
    revalidated
);

/// Counters of one port, kept by the datapath (not by the backend).
/// Written by polling threads with relaxed atomic adds once per batch per
/// port; read without locks.
#[derive(Debug, Default)]
pub struct PortStats {
    /// Packets received.
    pub rx_packets: AtomicU64,
    /// Bytes received.
    pub rx_bytes: AtomicU64,
    /// Packets handed to the port for transmission.
    pub tx_packets: AtomicU64,
    /// Bytes handed to the port for transmission.
    pub tx_bytes: AtomicU64,
    /// Packets the port refused to send.
    pub tx_dropped: AtomicU64,
}

impl PortStats {
    /// Adds received packets.
    #[inline]
    pub fn add_rx(&self, packets: u64, bytes: u64) {
        if packets != 0 {
            self.rx_packets.fetch_add(packets, Relaxed);
            self.rx_bytes.fetch_add(bytes, Relaxed);
        }
    }

    /// Adds transmitted packets.
    #[inline]
    pub fn add_tx(&self, packets: u64, bytes: u64, dropped: u64) {
        self.tx_packets.fetch_add(packets, Relaxed);
        self.tx_bytes.fetch_add(bytes, Relaxed);
        if dropped != 0 {
            self.tx_dropped.fetch_add(dropped, Relaxed);
        }
    }

    /// (rx_packets, rx_bytes, tx_packets, tx_bytes, tx_dropped).
    pub fn read(&self) -> (u64, u64, u64, u64, u64) {
        (
            self.rx_packets.load(Relaxed),
            self.rx_bytes.load(Relaxed),
            self.tx_packets.load(Relaxed),
            self.tx_bytes.load(Relaxed),
            self.tx_dropped.load(Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_and_read_round_trip() {
        let mut c = PmdCounters {
            emc_hits: 5,
            upcalls: 2,
            megaflow_hits: 1,
            ..Default::default()
        };
        c.drop(DropReason::Meter, 3);
        let s = PmdStats::default();
        s.publish(&c);
        assert_eq!(s.read(), c);
        assert_eq!(c.lookups(), 8);
        let mut t = PmdCounters::default();
        t.accumulate(&c);
        t.accumulate(&c);
        assert_eq!(t.drops[DropReason::Meter as usize], 6);
        assert_eq!(
            DropReason::ALL[DropReason::NoPort as usize],
            DropReason::NoPort
        );
    }
}
