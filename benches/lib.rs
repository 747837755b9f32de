//! Benchmarks for the switch.
//!
//! * `micro/`: criterion micro-benchmarks (`cargo bench -p benches`).
//! * `harness/`: side-by-side forwarding and control-plane runs against a
//!   real Open vSwitch (added with the datapath and daemon issues).
//!
//! This library holds the frames the micro-benchmarks measure on, so every
//! bench uses the same realistic inputs.

/// Ethernet / IPv4 / UDP, 64 bytes on the wire without FCS (60 here).
pub fn eth_ipv4_udp() -> Vec<u8> {
    let mut f = hex("667788990aab 001122334455 0800
         4500 002e 0001 0000 40 11 0000 0a000001 0a000002
         04d2 0035 001a 0000");
    f.resize(60, 0);
    f
}

/// Ethernet / 802.1Q / IPv4 / TCP (ACK).
pub fn eth_vlan_ipv4_tcp() -> Vec<u8> {
    let mut f = hex("667788990aab 001122334455 8100 000a 0800
         4500 0028 0001 4000 40 06 0000 0a000001 0a000002
         c350 0050 00000001 00000001 50 10 2000 0000 0000");
    f.resize(64, 0);
    f
}

/// Ethernet / IPv6 / TCP (SYN).
pub fn eth_ipv6_tcp() -> Vec<u8> {
    hex("667788990aab 001122334455 86dd
         6000 0000 0014 06 40
         20010db8000000000000000000000001
         20010db8000000000000000000000002
         c350 0050 00000001 00000000 50 02 2000 0000 0000")
}

/// Ethernet / ARP request.
pub fn eth_arp() -> Vec<u8> {
    let mut f = hex("ffffffffffff 001122334455 0806
         0001 0800 06 04 0001 001122334455 0a000001 000000000000 0a000002");
    f.resize(60, 0);
    f
}

/// Decodes whitespace-separated hex.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
