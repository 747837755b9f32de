//! Shared helpers for the benchmarks (frames to measure on).
