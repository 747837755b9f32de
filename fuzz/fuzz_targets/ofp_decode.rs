//! Fuzz the OpenFlow codec. Invariants checked, not just "no crash":
//! * the framing decoder, fed the input in two arbitrary pieces, yields only
//!   whole messages whose length field matches what it returned;
//! * a message that decodes and re-encodes is stable: decode -> encode ->
//!   decode -> encode gives the same bytes twice;
//! * a re-encoded message carries the version and xid it was decoded with;
//! * a decoded flow mod prints (match and actions text) without panicking;
//! * a decoded multipart reply re-encoded with `encode_split` gives messages
//!   that each decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofproto::ofp::{Decoder, Message, NxMessage, Version};
use ofproto::text::{format_actions_for, format_match};

fuzz_target!(|data: &[u8]| {
    // Framing over an arbitrary split.
    let split = data
        .first()
        .map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let mut dec = Decoder::new();
    dec.push(&data[..split]);
    let mut frames = Vec::new();
    let mut ok = true;
    loop {
        match dec.next_message() {
            Ok(Some(m)) => frames.push(m),
            Ok(None) => break,
            Err(_) => {
                ok = false;
                break;
            }
        }
    }
    if ok {
        dec.push(&data[split..]);
        while let Ok(Some(m)) = dec.next_message() {
            frames.push(m);
        }
    }
    for m in &frames {
        assert!(m.len() >= 8);
        assert_eq!(usize::from(u16::from_be_bytes([m[2], m[3]])), m.len());
    }
    // Each input is also tried as one message on its own.
    frames.push(data.to_vec());

    for m in &frames {
        let Ok((h, msg)) = Message::decode(m) else {
            continue;
        };
        let Some(v) = Version::from_wire(h.version) else {
            continue;
        };
        let Ok(b1) = msg.encode(v, h.xid) else {
            continue;
        };
        assert_eq!(b1[0], v.wire());
        assert_eq!(u32::from_be_bytes([b1[4], b1[5], b1[6], b1[7]]), h.xid);
        let fm = match &msg {
            Message::FlowMod(f) => Some(f),
            Message::Nx(NxMessage::FlowMod(n)) => Some(&n.flow_mod),
            _ => None,
        };
        if let Some(f) = fm {
            let _ = format_match(&f.match_);
            let _ = format_actions_for(&f.instructions, v);
        }
        if let Message::MultipartReply(r) = &msg
            && let Ok(parts) = r.encode_split(v, h.xid)
        {
            for p in parts {
                assert!(p.len() <= 65535);
                Message::decode(&p).expect("a split part decodes");
            }
        }
        let (_, msg2) = Message::decode(&b1).expect("our own encoding decodes");
        let b2 = msg2.encode(v, h.xid).expect("re-encodes");
        assert_eq!(b1, b2, "decode -> encode is not stable");
    }
});
