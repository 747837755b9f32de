//! Flow keys (placeholder while the wire views are written).
