//! Validation of a flow's instructions and actions against its match and
//! the switch's state, at flow_mod time (OpenFlow's "check" step).
//!
//! Contract: [`check_instructions`] returns the OpenFlow error a switch
//! must answer with, or `Ok`; it never panics. It walks the actions in
//! order (an action set in its execution order), tracking what the match (as changed by earlier push/pop actions)
//! guarantees about the packet, so a `set_field` whose prerequisite is not
//! guaranteed (`tp_dst` without `tcp`, `vlan_vid` without a VLAN tag) is
//! `OFPBAC_MATCH_INCONSISTENT`. Other errors: output to an invalid port
//! `OFPBAC_BAD_OUT_PORT` (port 0, `ANY`, numbers between `MAX` and the
//! reserved ports, and `TABLE` outside packet-out); a missing group
//! `OFPBAC_BAD_OUT_GROUP`; a missing meter `OFPMMFC_UNKNOWN_METER`;
//! `goto_table` not to a later table `OFPBIC_BAD_TABLE_ID`; bad push/pop
//! EtherTypes (`push_pbb` other than 0x88e7 included)
//! `OFPBAC_BAD_ARGUMENT`; fields the datapath cannot write
//! `OFPBAC_BAD_SET_TYPE` (of the OpenFlow 1.3 fields: `in_phy_port`,
//! `eth_type`, `ip_proto` and `ipv6_exthdr`, which the specification does
//! not make writable either); actions this switch does not implement
//! `OFPBAC_BAD_TYPE` / `OFPBAC_BAD_VENDOR_TYPE`: none of OpenFlow 1.3's
//! (every one of them, PBB push/pop and both TTL copies included, is
//! translated), only the Nicira `ct`, `nat`, `ct_clear`, `multipath`,
//! `bundle` and `controller2` (`clone` and `output_trunc` are translated),
//! and
//! experimenter actions not modelled by the codec except
//! `learn`, which is decoded and checked here);
//! experimenter instructions `OFPBIC_UNSUP_INST`; `conjunction` mixed with
//! other actions, or with a clause out of `1..=n` (`n` in 2..=64),
//! `OFPBAC_BAD_ARGUMENT`.

use crate::ofp::actions::{Action, FieldRef};
use crate::ofp::error::{ErrorKind, NX_VENDOR_ID};
use crate::ofp::instructions::Instruction;
use crate::ofp::matching::Match;
use crate::ofp::oxm::{Field, Prereq, Value};
use crate::ofp::port::{PortNo, ports};

/// What the checker needs to know about the switch.
pub struct CheckCtx<'a> {
    /// True when group `id` exists.
    pub group_exists: &'a dyn Fn(u32) -> bool,
    /// True when meter `id` exists.
    pub meter_exists: &'a dyn Fn(u32) -> bool,
    /// True when checking a packet-out's actions (TABLE allowed).
    pub packet_out: bool,
    /// False for action lists not tied to a match (group buckets): field
    /// prerequisites are then not checked.
    pub prereqs: bool,
}

/// The error for an action whose prerequisite the match does not
/// guarantee (none when prerequisites are not checked).
fn inconsistent(ctx: &CheckCtx<'_>) -> Result<(), ErrorKind> {
    if ctx.prereqs {
        Err(ErrorKind::BadActionMatchInconsistent)
    } else {
        Ok(())
    }
}

impl std::fmt::Debug for CheckCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckCtx")
            .field("packet_out", &self.packet_out)
            .finish_non_exhaustive()
    }
}

/// True when `f` can be written by set_field / load (the datapath has a
/// set action for it, or it is pipeline metadata).
pub fn is_settable(f: Field) -> bool {
    use Field as F;
    matches!(
        f,
        F::InPort
            | F::NxInPort
            | F::Metadata
            | F::Reg(_)
            | F::PktReg(_)
            | F::TunnelId
            | F::PktMark
            | F::EthSrc
            | F::EthDst
            | F::VlanVid
            | F::VlanPcp
            | F::VlanTci
            | F::IpDscp
            | F::IpEcn
            | F::NwTos
            | F::NwTtl
            | F::Ipv4Src
            | F::Ipv4Dst
            | F::Ipv6Src
            | F::Ipv6Dst
            | F::Ipv6Flabel
            | F::TcpSrc
            | F::TcpDst
            | F::UdpSrc
            | F::UdpDst
            | F::SctpSrc
            | F::SctpDst
            | F::ArpOp
            | F::ArpSpa
            | F::ArpTpa
            | F::ArpSha
            | F::ArpTha
            | F::Ipv6NdTarget
            | F::Ipv6NdSll
            | F::Ipv6NdTll
            | F::MplsLabel
            | F::MplsTc
            | F::MplsBos
            | F::Icmpv4Type
            | F::Icmpv4Code
            | F::Icmpv6Type
            | F::Icmpv6Code
            | F::PbbIsid
            | F::PbbUca
    )
}

fn check_port(port: PortNo, ctx: &CheckCtx<'_>) -> Result<(), ErrorKind> {
    let ok = match port {
        0 | ports::ANY => false,
        ports::TABLE => ctx.packet_out,
        p if p <= ports::MAX => true,
        p => p >= ports::IN_PORT,
    };
    if ok {
        Ok(())
    } else {
        Err(ErrorKind::BadActionBadOutPort)
    }
}

fn vlan_facts(m: &mut Match, present: bool) {
    m.remove(Field::VlanVid);
    if present {
        m.set(
            Field::VlanTci,
            Value::from_u64(2, 0x1000),
            Some(Value::from_u64(2, 0x1000)),
        );
    } else {
        m.set(Field::VlanTci, Value::from_u64(2, 0), None);
    }
}

fn check_ref(r: &FieldRef, write: bool) -> Result<Field, ErrorKind> {
    let f = r.field().ok_or(ErrorKind::BadActionBadArgument)?;
    let w = super::fields::width_bits(f);
    if r.n_bits == 0 || u32::from(r.ofs) + u32::from(r.n_bits) > w {
        return Err(ErrorKind::BadActionBadArgument);
    }
    if write && !is_settable(f) {
        return Err(ErrorKind::BadActionBadSetType);
    }
    if super::fields::storage(f).is_none() {
        return Err(ErrorKind::BadActionBadArgument);
    }
    Ok(f)
}

/// Checks one action list; `facts` is what the packet is known to satisfy
/// and is updated by push/pop actions.
pub fn check_actions(
    actions: &[Action],
    facts: &mut Match,
    ctx: &CheckCtx<'_>,
) -> Result<(), ErrorKind> {
    use ErrorKind as E;
    for a in actions {
        match a {
            Action::Output { port, .. } => check_port(*port, ctx)?,
            Action::Enqueue { port, .. } => check_port(*port, ctx)?,
            Action::Clone(inner) => {
                // Runs on a copy: what it pushes or pops does not carry on.
                let mut f = facts.clone();
                check_actions(inner, &mut f, ctx)?;
            }
            Action::OutputTrunc { port, max_len } => {
                // A real port (or the input port): truncating a flood, a
                // table lookup or a packet-in is not defined.
                if !(*port == ports::IN_PORT || *port == ports::LOCAL || *port <= ports::MAX) {
                    return Err(E::BadActionBadOutPort);
                }
                check_port(*port, ctx)?;
                // At least an Ethernet header.
                if *max_len < 14 {
                    return Err(E::BadActionBadArgument);
                }
            }
            Action::Group(g) => {
                if !(ctx.group_exists)(*g) {
                    return Err(E::BadActionBadOutGroup);
                }
            }
            Action::Meter(m) => {
                if !(ctx.meter_exists)(*m) {
                    return Err(E::MeterModFailedUnknownMeter);
                }
            }
            Action::SetField(e) => {
                if !is_settable(e.field) {
                    return Err(E::BadActionBadSetType);
                }
                // set_field vlan_vid needs an existing tag (as Open vSwitch
                // requires), although the OXM field has no prerequisite.
                let vlan_ok = e.field != Field::VlanVid || facts.prereq_ok(Prereq::Vlan);
                if !facts.prereq_ok(e.field.info().prereq) || !vlan_ok {
                    inconsistent(ctx)?;
                }
                if e.field == Field::VlanVid
                    && e.value.to_u64() & 0x1000 == 0
                    && e.value.to_u64() > 0xfff
                {
                    return Err(E::BadActionBadSetArgument);
                }
            }
            Action::RegLoad { dst, value } => {
                let f = check_ref(dst, true)?;
                if dst.n_bits < 64 && *value >> dst.n_bits != 0 {
                    return Err(E::BadActionBadArgument);
                }
                if !facts.prereq_ok(f.info().prereq) {
                    inconsistent(ctx)?;
                }
            }
            Action::RegMove { src, dst } => {
                let fs = check_ref(src, false)?;
                let fd = check_ref(dst, true)?;
                if src.n_bits != dst.n_bits {
                    return Err(E::BadActionBadArgument);
                }
                if !facts.prereq_ok(fs.info().prereq) || !facts.prereq_ok(fd.info().prereq) {
                    inconsistent(ctx)?;
                }
            }
            Action::OutputReg { src, .. } => {
                check_ref(src, false)?;
            }
            Action::PushVlan(tpid) => {
                if *tpid != 0x8100 && *tpid != 0x88a8 {
                    return Err(E::BadActionBadArgument);
                }
                vlan_facts(facts, true);
            }
            Action::PopVlan => vlan_facts(facts, false),
            Action::SetVlanVid(v) => {
                if *v > 0xfff {
                    return Err(E::BadActionBadArgument);
                }
                vlan_facts(facts, true);
            }
            Action::SetVlanPcp(p) => {
                if *p > 7 {
                    return Err(E::BadActionBadArgument);
                }
                vlan_facts(facts, true);
            }
            Action::PushMpls(et) => {
                if *et != 0x8847 && *et != 0x8848 {
                    return Err(E::BadActionBadArgument);
                }
                facts.set_u64(Field::EthType, u64::from(*et));
            }
            Action::PopMpls(et) => {
                if !facts.prereq_ok(Prereq::Mpls) {
                    inconsistent(ctx)?;
                }
                facts.set_u64(Field::EthType, u64::from(*et));
                facts.remove(Field::IpProto);
            }
            Action::SetMplsTtl(_) | Action::DecMplsTtl | Action::CopyTtlOut | Action::CopyTtlIn => {
                if !facts.prereq_ok(Prereq::Mpls) {
                    inconsistent(ctx)?;
                }
            }
            Action::SetTpSrc(_) | Action::SetTpDst(_) => {
                if !(facts.prereq_ok(Prereq::Tcp)
                    || facts.prereq_ok(Prereq::Udp)
                    || facts.prereq_ok(Prereq::Sctp))
                {
                    inconsistent(ctx)?;
                }
            }
            Action::Conjunction {
                clause, n_clauses, ..
            } => {
                if !(2..=64).contains(n_clauses) || clause >= n_clauses {
                    return Err(E::BadActionBadArgument);
                }
            }
            Action::PushPbb(et) => {
                if *et != 0x88e7 {
                    return Err(E::BadActionBadArgument);
                }
                // The tags and the customer headers go inside the I-TAG.
                vlan_facts(facts, false);
                facts.remove(Field::IpProto);
                facts.set_u64(Field::EthType, u64::from(*et));
            }
            Action::PopPbb => {
                if !facts.prereq_ok(Prereq::Pbb) {
                    inconsistent(ctx)?;
                }
                // The customer frame's tags and EtherType are unknown.
                facts.remove(Field::VlanVid);
                facts.remove(Field::VlanTci);
                facts.remove(Field::EthType);
                facts.remove(Field::IpProto);
            }
            Action::Ct(_)
            | Action::Nat(_)
            | Action::CtClear
            | Action::Controller2(_)
            | Action::Multipath(_)
            | Action::Bundle(_) => {
                return Err(E::BadActionBadType);
            }
            Action::Learn(_) => match super::learn::Learn::from_action(a) {
                Some(l) => {
                    l?;
                }
                None => return Err(E::BadActionBadType),
            },
            Action::Experimenter { experimenter, data } => {
                if *experimenter == NX_VENDOR_ID
                    && let Some(l) = super::learn::Learn::decode(data)
                {
                    l?;
                    continue;
                }
                return Err(if *experimenter == NX_VENDOR_ID {
                    E::BadActionBadVendorType
                } else {
                    E::BadActionBadVendor
                });
            }
            Action::Resubmit { in_port, .. } => {
                if *in_port != ports::IN_PORT {
                    check_port(*in_port, ctx)?;
                }
            }
            Action::SetQueue(_)
            | Action::SetNwTtl(_)
            | Action::DecNwTtl
            | Action::SetTunnel(_)
            | Action::PopQueue
            | Action::Note(_)
            | Action::Exit
            | Action::DecTtlIds(_)
            | Action::NxController { .. } => {}
        }
    }
    Ok(())
}

/// Checks a flow's instructions in table `table_id` against its match.
pub fn check_instructions(
    instructions: &[Instruction],
    m: &Match,
    table_id: u8,
    ctx: &CheckCtx<'_>,
) -> Result<(), ErrorKind> {
    // `conjunction` actions stand alone: one apply-actions of nothing else.
    let has_conj = instructions.iter().any(|i| match i {
        Instruction::ApplyActions(a) | Instruction::WriteActions(a) => {
            a.iter().any(|x| matches!(x, Action::Conjunction { .. }))
        }
        _ => false,
    });
    if has_conj && !super::table::is_conjunctive(instructions) {
        return Err(ErrorKind::BadActionBadArgument);
    }
    let mut facts = m.clone();
    for i in instructions {
        match i {
            Instruction::GotoTable(t) => {
                if *t <= table_id || usize::from(*t) >= super::table::N_TABLES {
                    return Err(ErrorKind::BadInstructionBadTableId);
                }
            }
            Instruction::Meter(id) => {
                if !(ctx.meter_exists)(*id) {
                    return Err(ErrorKind::MeterModFailedUnknownMeter);
                }
            }
            Instruction::ApplyActions(a) => check_actions(a, &mut facts, ctx)?,
            Instruction::WriteActions(a) => {
                // The action set runs after the apply-actions, in its own
                // order (push_pbb before set_field pbb_isid, copy_ttl_in
                // before pop_mpls); check it in that order against what
                // apply-actions leave.
                let mut sorted: Vec<&Action> = a.iter().collect();
                sorted.sort_by_key(|x| super::xlate::set_rank(x));
                let sorted: Vec<Action> = sorted.into_iter().cloned().collect();
                let mut f = facts.clone();
                check_actions(&sorted, &mut f, ctx)?;
            }
            Instruction::WriteMetadata { .. } | Instruction::ClearActions => {}
            Instruction::Experimenter { .. } => return Err(ErrorKind::BadInstructionUnsupInst),
        }
    }
    Ok(())
}
