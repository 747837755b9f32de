//! Malformed group, meter, bundle, Nicira and structured-action input: each
//! case yields the exact `ErrorKind`, never a panic. Each starts from a
//! valid encoding (checked to decode) and breaks one thing.

use ofproto::ofp::{ErrorKind, Message};

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect()
}

/// A message with a correct header length.
fn msg(version: u8, ty: u8, body: &str) -> Vec<u8> {
    let body = hex(body);
    let mut m = vec![version, ty];
    m.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    m.extend_from_slice(&7u32.to_be_bytes());
    m.extend(body);
    m
}

fn ok(bytes: &[u8]) {
    if let Err(e) = Message::decode(bytes) {
        panic!("valid input rejected: {e:?}");
    }
}

fn err(bytes: &[u8]) -> ErrorKind {
    match Message::decode(bytes) {
        Ok(m) => panic!("decoded {m:?}"),
        Err(e) => e,
    }
}

// GROUP_MOD 1.3: add, all, group 1, one bucket with output:1.
const GROUP13: &str = "0000 00 00 00000001  0020 0000 ffffffff ffffffff 00000000  0000 0010 00000001 0000 000000000000";

#[test]
fn group_mod_valid_baseline() {
    ok(&msg(4, 15, GROUP13));
}

#[test]
fn group_mod_bad_command_and_type() {
    let b = GROUP13.replacen("0000 00 00", "0009 00 00", 1);
    assert_eq!(err(&msg(4, 15, &b)), ErrorKind::GroupModFailedBadCommand);
    // Insert-bucket exists only from 1.5.
    let b = GROUP13.replacen("0000 00 00", "0003 00 00", 1);
    assert_eq!(err(&msg(4, 15, &b)), ErrorKind::GroupModFailedBadCommand);
    let b = GROUP13.replacen("0000 00 00", "0000 07 00", 1);
    assert_eq!(err(&msg(4, 15, &b)), ErrorKind::GroupModFailedBadType);
}

#[test]
fn group_mod_bad_bucket_length() {
    for bad in ["0008", "0021", "0028", "0000"] {
        let b = GROUP13.replacen("0020 0000", &format!("{bad} 0000"), 1);
        assert_eq!(
            err(&msg(4, 15, &b)),
            ErrorKind::GroupModFailedBadBucket,
            "bucket len {bad}"
        );
    }
}

#[test]
fn group_mod_bad_action_in_bucket() {
    let b = GROUP13.replacen("0000 0010 00000001", "0000 0009 00000001", 1);
    assert_eq!(err(&msg(4, 15, &b)), ErrorKind::BadActionBadLen);
}

#[test]
fn group_mod_15_bucket_array_and_properties() {
    // 1.5: add, select, group 2, one bucket (weight property), output:1.
    let g = "0000 01 00 00000002 0020 0000 ffffffff  0020 0010 00000000 0000 0010 00000001 0000 000000000000 0000 0008 000a 0000";
    ok(&msg(6, 15, g));
    // bucket_array_len past the end.
    let b = g.replacen("00000002 0020", "00000002 0028", 1);
    assert_eq!(err(&msg(6, 15, &b)), ErrorKind::GroupModFailedBadBucket);
    // action_array_len past the bucket.
    let b = g.replacen("0020 0010 00000000", "0020 0030 00000000", 1);
    assert_eq!(err(&msg(6, 15, &b)), ErrorKind::GroupModFailedBadBucket);
    // weight property with a bad length.
    let b = g.replacen("0000 0008 000a 0000", "0000 0006 000a 0000", 1);
    assert_eq!(err(&msg(6, 15, &b)), ErrorKind::BadPropertyBadLen);
    let b = g.replacen("0000 0008 000a 0000", "0000 0010 000a 0000", 1);
    assert_eq!(err(&msg(6, 15, &b)), ErrorKind::BadPropertyBadLen);
}

// METER_MOD: add, kbps, meter 1, one drop band.
const METER: &str = "0000 0001 00000001  0001 0010 000003e8 00000000 00000000";

#[test]
fn meter_mod_bad_command_and_band() {
    ok(&msg(4, 29, METER));
    let b = METER.replacen("0000 0001", "0004 0001", 1);
    assert_eq!(err(&msg(4, 29, &b)), ErrorKind::MeterModFailedBadCommand);
    let b = METER.replacen("0001 0010", "0003 0010", 1);
    assert_eq!(err(&msg(4, 29, &b)), ErrorKind::MeterModFailedBadBand);
    let b = METER.replacen("0001 0010", "0001 0018", 1);
    assert_eq!(err(&msg(4, 29, &b)), ErrorKind::MeterModFailedBadBand);
    // A band cut short.
    let b = &METER[..METER.len() - 8];
    assert_eq!(err(&msg(4, 29, b)), ErrorKind::MeterModFailedBadBand);
    // Truncated fixed part.
    assert_eq!(err(&msg(4, 29, "0000 0001")), ErrorKind::BadRequestBadLen);
}

#[test]
fn truncated_control_bodies() {
    // PORT_MOD, TABLE_MOD, ROLE_REQUEST, SET_ASYNC (1.3), BUNDLE_CONTROL.
    for (v, t, body) in [
        (4u8, 16u8, "00000001 00000000 aa55aa55000f 0000 00000001"),
        (1, 15, "0001 aa55aa55000f 00000001"),
        (4, 17, "01 000000"),
        (4, 24, "00000002 00000000 00000000"),
        (4, 28, "00000001 00000002"),
        (5, 33, "00000001 0000"),
        (5, 34, "00000001 0000"),
    ] {
        assert_eq!(
            err(&msg(v, t, body)),
            ErrorKind::BadRequestBadLen,
            "type {t} v{v}"
        );
    }
}

#[test]
fn bundle_add_inner_message() {
    let inner = "0502 0008 00000009"; // ECHO_REQUEST
    ok(&msg(5, 34, &format!("00000001 0000 0003 {inner}")));
    // Inner length past the end.
    assert_eq!(
        err(&msg(5, 34, "00000001 0000 0003 0502 0010 00000009")),
        ErrorKind::BundleFailedMsgBadLen
    );
    // Inner length below a header.
    assert_eq!(
        err(&msg(5, 34, "00000001 0000 0003 0502 0004 00000009")),
        ErrorKind::BundleFailedMsgBadLen
    );
    // No inner header at all.
    assert_eq!(
        err(&msg(5, 34, "00000001 0000 0003 0502")),
        ErrorKind::BundleFailedMsgBadLen
    );
    // Inner version differs.
    assert_eq!(
        err(&msg(5, 34, "00000001 0000 0003 0402 0008 00000009")),
        ErrorKind::BadRequestBadVersion
    );
    // No nesting of bundle messages.
    assert_eq!(
        err(&msg(
            5,
            34,
            "00000001 0000 0003 0521 0010 00000009 00000001 0000 0000"
        )),
        ErrorKind::BundleFailedMsgUnsup
    );
}

// NXT_FLOW_MOD: add, match reg0=5, output:1.
const NX_FLOW_MOD: &str = "00002320 0000000d 0000000000000000 0000 0000 0000 8000 ffffffff ffff 0000 0008 000000000000 00010004 00000005 0000 0008 0001 0000";

#[test]
fn nx_flow_mod_bad_match() {
    ok(&msg(1, 4, NX_FLOW_MOD));
    // match_len past the end.
    let b = NX_FLOW_MOD.replacen("0000 0008 000000000000", "0000 0040 000000000000", 1);
    assert_eq!(err(&msg(1, 4, &b)), ErrorKind::BadMatchBadLen);
    // Unknown NXM field.
    let b = NX_FLOW_MOD.replacen("00010004 00000005", "0001fe04 00000005", 1);
    assert_eq!(err(&msg(1, 4, &b)), ErrorKind::BadMatchBadField);
    // Bad command.
    let b = NX_FLOW_MOD.replacen("0000000000000000 0000", "0000000000000000 0009", 1);
    assert_eq!(err(&msg(1, 4, &b)), ErrorKind::FlowModFailedBadCommand);
}

/// An OpenFlow 1.0 FLOW_MOD (match all) with `actions`.
fn flow_mod10(actions: &str) -> Vec<u8> {
    msg(
        1,
        14,
        &format!(
            "003820ff 0000 000000000000 000000000000 0000 00 00 0000 00 00 0000 00000000 00000000 0000 0000 \
             0000000000000000 0000 0000 0000 8000 ffffffff ffff 0000 {actions}"
        ),
    )
}

const CT: &str = "ffff 0018 00002320 0023 0001 00000000 0005 ff 000000 0000";

#[test]
fn ct_nat_learn_malformed() {
    ok(&flow_mod10(CT));
    // ct nested in ct.
    let nested = format!("ffff 0030 00002320 0023 0001 00000000 0005 ff 000000 0000 {CT}");
    assert_eq!(err(&flow_mod10(&nested)), ErrorKind::BadActionBadArgument);
    // ct shorter than its fixed part.
    assert_eq!(
        err(&flow_mod10("ffff 0010 00002320 0023 0001 00000000")),
        ErrorKind::BadActionBadLen
    );
    // nat: IPv4 min with a length that does not match.
    let nat = "ffff 0018 00002320 0024 0000 0001 0001 0a000001 00000000";
    ok(&flow_mod10(nat));
    assert_eq!(
        err(&flow_mod10(
            "ffff 0010 00002320 0024 0000 0001 0001 00000000"
        )),
        ErrorKind::BadActionBadLen
    );
    // nat: both IPv4 and IPv6 ranges, and unknown range bits.
    assert_eq!(
        err(&flow_mod10(
            "ffff 0028 00002320 0024 0000 0001 0005 0a000001 20010db8000000000000000000000001 00000000"
        )),
        ErrorKind::BadActionBadArgument
    );
    assert_eq!(
        err(&flow_mod10(
            "ffff 0010 00002320 0024 0000 0001 0040 00000000"
        )),
        ErrorKind::BadActionBadArgument
    );
    // learn: a spec with the reserved destination type, a spec cut short,
    // and non-zero bytes after the specs.
    let learn = |specs: &str| {
        let len = 32 + hex(specs).len();
        format!(
            "ffff {len:04x} 00002320 0010 0000 0000 8000 0000000000000000 0000 01 00 0000 0000 {specs}"
        )
    };
    ok(&flow_mod10(&learn("0010 00000002 0000 00000002 0000 0000")));
    assert_eq!(
        err(&flow_mod10(&learn("1810 00000002 0000 00000002 0000 0000"))),
        ErrorKind::BadActionBadArgument
    );
    assert_eq!(
        err(&flow_mod10(&learn("0010 00000002 0000"))),
        ErrorKind::BadActionBadLen
    );
    assert_eq!(
        err(&flow_mod10(&learn(
            "1010 00000002 0000 0000 0000 0000 0001"
        ))),
        ErrorKind::BadActionBadArgument
    );
}

#[test]
fn bad_properties() {
    // 1.4 PORT_MOD with a property shorter than its header.
    let pm = "00000002 00000000 aa55aa55000e 0000 00000001 00000001";
    ok(&msg(5, 16, &format!("{pm} 0000 0008 00000000")));
    assert_eq!(
        err(&msg(5, 16, &format!("{pm} 0000 0002 00000000"))),
        ErrorKind::BadPropertyBadLen
    );
    // 1.4 SET_ASYNC with a property of length 12.
    assert_eq!(
        err(&msg(5, 28, "0000 000c 00000001 00000000")),
        ErrorKind::BadPropertyBadLen
    );
    // Their wire codes are 1.4's OFPET_BAD_PROPERTY / OFPET_BUNDLE_FAILED.
    use ofproto::ofp::{ErrorCode, Version};
    assert_eq!(
        ErrorKind::BadPropertyBadLen.code(Version::V1_4),
        ErrorCode::Std(14, 1)
    );
    assert_eq!(
        ErrorKind::BundleFailedMsgBadLen.code(Version::V1_5),
        ErrorCode::Std(17, 8)
    );
}

#[test]
fn multipart_entries_bad_length() {
    // 1.3 GROUP_DESC reply entry whose length is past the end.
    let r = "0007 0000 00000000  0018 00 00 00000001";
    assert_eq!(err(&msg(4, 19, r)), ErrorKind::BadRequestBadLen);
    // 1.4 PORT_STATS reply entry shorter than its fixed part.
    let r = "0004 0000 00000000  0010 0000 00000001 00000000 00000000";
    assert_eq!(err(&msg(5, 19, r)), ErrorKind::BadRequestBadLen);
    // 1.3 METER_CONFIG reply entry of length 4.
    let r = "000a 0000 00000000  0004 0001 00000001";
    assert_eq!(err(&msg(4, 19, r)), ErrorKind::BadRequestBadLen);
    // 1.3 GROUP reply entry with a bucket-stats tail that is not 16n.
    let r = format!("0006 0000 00000000  0030 0000 00000001 {}", "00".repeat(40));
    assert_eq!(err(&msg(4, 19, &r)), ErrorKind::BadRequestBadLen);
}

#[test]
fn nesting_is_bounded() {
    // clone(clone(...(output:1))) nested n deep.
    let nest = |n: usize| {
        let mut a = "0000 0008 0001 0000".to_string();
        for _ in 0..n {
            let len = 16 + hex(&a).len();
            a = format!("ffff {len:04x} 00002320 002a 000000000000 {a}");
        }
        a
    };
    ok(&flow_mod10(&nest(8)));
    assert_eq!(err(&flow_mod10(&nest(9))), ErrorKind::BadActionBadArgument);
    // ct inside clone is fine; ct inside ct is not (checked above).
    ok(&flow_mod10(&format!(
        "ffff 0028 00002320 002a 000000000000 {CT}"
    )));
}

#[test]
fn decoded_field_refs_of_any_width_print() {
    // Found by the ofp_decode fuzz target: a reg_move with n_bits 0 (and
    // offsets near the top) made printing subtract with overflow.
    let m = msg(
        4,
        14,
        "0000000000000000 0000000000000000 00 00 0000 0000 8000 ffffffff ffffffff ffffffff 0000 0000 \
         0001 0004 00000000 \
         0004 0020 00000000 ffff 0018 00002320 0006 0000 0000 0000 00010004 00010204",
    );
    let (_, Message::FlowMod(f)) = Message::decode(&m).expect("decodes") else {
        panic!("not a flow mod");
    };
    let text = ofproto::text::format_actions_for(&f.instructions, ofproto::ofp::Version::V1_3);
    assert!(text.starts_with("move:"), "{text}");
    let _ = format!("{f:?}");
}

#[test]
fn requestforward_carries_group_or_meter_mods_only() {
    ok(&msg(5, 32, "050f0010 00000009 0002 00 00 00000001"));
    // An ECHO_REQUEST inside.
    assert_eq!(
        err(&msg(5, 32, "05020008 00000009")),
        ErrorKind::BadRequestBadType
    );
    // Inner length disagreeing with the bytes.
    assert_eq!(
        err(&msg(5, 32, "050f0018 00000009 0002 00 00 00000001")),
        ErrorKind::BadRequestBadLen
    );
}
