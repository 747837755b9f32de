//! Fuzz flow-key extraction. Invariants checked, not just "no crash":
//! extraction is deterministic, keeps `in_port`, records offsets inside the
//! frame, only ever loses fields when the frame is cut shorter, and the key
//! survives the miniflow round trip and formatting.
#![no_main]

use datapath::flow::key::DL_TYPE_NONE;
use datapath::flow::{Miniflow, Offsets, extract, extract_with_offsets, format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (key, offs) = extract_with_offsets(data, 0x1234_5678);
    assert_eq!(key.in_port, 0x1234_5678);
    for off in [offs.l2_5, offs.l3, offs.l4] {
        assert!(off == Offsets::NONE || usize::from(off) <= data.len());
    }
    assert_eq!(extract(data, 0x1234_5678), key);
    assert_eq!(Miniflow::from_key(&key).to_key(), key);
    let _ = format::key(&key).to_string();

    // A shorter frame never yields a field the full frame does not have.
    // (One exception, on purpose: an 802.3 frame cut inside its LLC/SNAP
    // header gets `dl_type` 0x05ff, "no EtherType".)
    if !data.is_empty() {
        let cut = usize::from(data[0]) % data.len();
        let mut short = extract(&data[..cut], 0x1234_5678);
        if short.dl_type == DL_TYPE_NONE {
            short.dl_type = key.dl_type;
        }
        for (a, b) in short.as_bytes().iter().zip(key.as_bytes()) {
            assert!(*a == 0 || a == b);
        }
    }
});
