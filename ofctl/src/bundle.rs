//! `--bundle`: flow mods as one atomic, ordered bundle.
//!
//! Contract: OpenFlow 1.4+ uses BUNDLE_CONTROL / BUNDLE_ADD_MESSAGE;
//! OpenFlow 1.3 uses the ONF extension (experimenter `0x4f4e4600`, types
//! 2300/2301) as Open vSwitch does; OpenFlow 1.0 has no bundles and is an
//! error. The sequence is OPEN (atomic|ordered), every ADD (no barrier in
//! between), COMMIT. Any error reply (to an ADD or to the COMMIT) is printed
//! and the status is 1; the switch then applies none of the changes.

use crate::conn::{Conn, Reply, next_xid};
use crate::flows::ParsedMod;
use crate::switch::report_error;
use anyhow::{Result, bail};
use ofproto::ofp::{Experimenter, Message, MsgType, Version};

const ONF_EXPERIMENTER: u32 = 0x4f4e_4600;
const ONFT_BUNDLE_CONTROL: u32 = 2300;
const ONFT_BUNDLE_ADD_MESSAGE: u32 = 2301;
const OPEN_REQUEST: u16 = 0;
const COMMIT_REQUEST: u16 = 4;
const DISCARD_REQUEST: u16 = 6;
const FLAGS: u16 = 1 | 2; // ATOMIC | ORDERED

fn control(v: Version, bundle_id: u32, ty: u16) -> Message {
    let mut b = Vec::with_capacity(8);
    b.extend_from_slice(&bundle_id.to_be_bytes());
    b.extend_from_slice(&ty.to_be_bytes());
    b.extend_from_slice(&FLAGS.to_be_bytes());
    wrap(v, MsgType::BundleControl, ONFT_BUNDLE_CONTROL, b)
}

fn wrap(v: Version, t: MsgType, onf: u32, body: Vec<u8>) -> Message {
    if v == Version::V1_3 {
        Message::Experimenter(Experimenter {
            experimenter: ONF_EXPERIMENTER,
            exp_type: onf,
            data: body,
        })
    } else {
        Message::Other { msg_type: t, body }
    }
}

/// Sends `mods` as one bundle on `c`.
pub fn send_bundle(c: &mut Conn, mods: &[ParsedMod]) -> Result<i32> {
    let v = c.version();
    if v < Version::V1_3 {
        bail!(
            "--bundle needs OpenFlow 1.3 or later (negotiated {})",
            crate::conn::vname(v)
        );
    }
    let bundle_id = 0;
    match c.transact(&control(v, bundle_id, OPEN_REQUEST))? {
        Reply::Error(raw, e) => return Ok(report_error(&raw, &e)),
        Reply::Ok(_) => {}
    }
    let mut buf = Vec::with_capacity(mods.len() * 160);
    for m in mods {
        let mut fm = crate::flows::of11_table(m.fm.clone());
        crate::flows::actions_for_of11(&fm.match_, &mut fm.instructions)?;
        let xid = next_xid();
        let inner = Message::FlowMod(fm)
            .encode(v, xid)
            .map_err(|e| anyhow::anyhow!("cannot encode flow mod: {e}"))?;
        let mut body = Vec::with_capacity(inner.len() + 8);
        body.extend_from_slice(&bundle_id.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        body.extend_from_slice(&FLAGS.to_be_bytes());
        body.extend_from_slice(&inner);
        let add = wrap(v, MsgType::BundleAddMessage, ONFT_BUNDLE_ADD_MESSAGE, body);
        buf.extend_from_slice(
            &add.encode(v, xid)
                .map_err(|e| anyhow::anyhow!("cannot encode bundle message: {e}"))?,
        );
        if buf.len() > 1 << 20 {
            c.send_bytes(&buf)?;
            buf.clear();
        }
    }
    c.send_bytes(&buf)?;
    // A refused ADD does not invalidate the bundle on the switch, it just
    // leaves the message out: synchronise, and discard on any error.
    c.barrier()?;
    let errors = c.take_errors();
    if !errors.is_empty() {
        for (raw, e) in &errors {
            report_error(raw, e);
        }
        let _ = c.transact(&control(v, bundle_id, DISCARD_REQUEST))?;
        return Ok(1);
    }
    match c.transact(&control(v, bundle_id, COMMIT_REQUEST))? {
        Reply::Error(raw, e) => Ok(report_error(&raw, &e)),
        Reply::Ok(_) => Ok(0),
    }
}
