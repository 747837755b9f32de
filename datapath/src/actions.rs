//! Datapath actions: what the fast path does to a packet once a cache entry
//! (or an upcall) has decided its fate.
//!
//! This is the contract between `ofproto`'s translation (which produces a
//! list of [`Action`]s plus a megaflow mask for a flow key) and the fast path
//! (which executes them on packets). It is deliberately small and knows
//! nothing of OpenFlow: ports are datapath port numbers ([`DpPort`]), field
//! writes are masked writes of header fields, and "send to the controller" is
//! an opaque [`Action::Userspace`] whose `userdata` only the upcall handler
//! interprets.
//!
//! Invariants:
//! * An empty action list means drop.
//! * Actions run in order on the packet as modified by the previous ones;
//!   `Output` sends a copy of the packet as it is at that point.
//! * A [`SetMasked`] write changes only the bits set in its mask, and the
//!   executor keeps IPv4, TCP, UDP, ICMPv4, ICMPv6 and SCTP checksums valid.
//! * Beyond Open vSwitch's datapath, for OpenFlow 1.3: `push_pbb(...)`,
//!   `pop_pbb`, `copy_ttl_in`, `copy_ttl_out`, `set(pbb(...))`,
//!   `set(icmp(...))` and `set(icmpv6(...))` (the last two are Open
//!   vSwitch's syntax for the ICMP writes its own userspace datapath does).
//!
//! The [`Display`](core::fmt::Display) form follows Open vSwitch's datapath
//! action syntax (`set(ipv4(src=10.0.0.1))`, `push_vlan(vid=10,pcp=0)`,
//! `pop_vlan`, `3`, `drop`) so traces and `dpctl/dump-flows` read the same.

use core::fmt::{self, Display, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A datapath port number.
pub type DpPort = u32;

/// One datapath action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send the packet, as it is now, out of a port.
    Output(DpPort),
    /// Push a VLAN tag (`tci` carries PCP and VID; the CFI bit is ignored).
    PushVlan {
        /// 0x8100 or 0x88a8.
        tpid: u16,
        /// PCP (3 bits) and VID (12 bits).
        tci: u16,
    },
    /// Remove the outermost VLAN tag.
    PopVlan,
    /// Push an MPLS label stack entry and set the EtherType.
    PushMpls {
        /// 0x8847 or 0x8848.
        ethertype: u16,
        /// label(20) tc(3) bos(1) ttl(8).
        lse: u32,
    },
    /// Pop the top MPLS label stack entry; `ethertype` is the new EtherType.
    PopMpls {
        /// EtherType of what follows the popped entry.
        ethertype: u16,
    },
    /// Push an 802.1ah PBB service instance header (EtherType 0x88e7 and
    /// I-TAG) after the Ethernet addresses: the frame's addresses stay as
    /// the new backbone addresses and are copied into the customer
    /// addresses after the I-TAG; existing VLAN tags end up inside.
    PushPbb {
        /// The I-TAG TCI: PCP(3) DEI(1) UCA(1) reserved(3) I-SID(24).
        itag: u32,
    },
    /// Remove the outermost PBB header: the backbone addresses, any
    /// backbone VLAN tag and the I-TAG; the customer addresses become the
    /// frame's addresses.
    PopPbb,
    /// Copy the top MPLS entry's TTL inwards: into the next entry, or into
    /// the IPv4 TTL / IPv6 hop limit below the bottom of the stack.
    CopyTtlIn,
    /// Copy the TTL outwards into the top MPLS entry: from the next entry,
    /// or from the IPv4 TTL / IPv6 hop limit below the bottom of the stack.
    CopyTtlOut,
    /// Masked write of header fields.
    Set(SetMasked),
    /// Run the packet through a meter; it may be dropped.
    Meter(u32),
    /// Look the packet up again with `recirc_id` set to this value.
    Recirc(u32),
    /// Compute the datapath hash (`dp_hash`) of the 5-tuple with this basis.
    Hash {
        /// Hash basis.
        basis: u32,
    },
    /// Truncate the packet to at most this many bytes for the next output.
    Trunc(u32),
    /// Hand the packet to the upcall handler (e.g. a packet-in). The
    /// datapath does not interpret `userdata`.
    Userspace {
        /// Opaque value for the upcall handler.
        userdata: u64,
    },
}

/// A masked write to the fields of one header. Fields whose mask is zero are
/// left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetMasked {
    /// Ethernet addresses.
    Eth {
        /// Source value.
        src: [u8; 6],
        /// Source mask.
        src_mask: [u8; 6],
        /// Destination value.
        dst: [u8; 6],
        /// Destination mask.
        dst_mask: [u8; 6],
    },
    /// IPv4 addresses, TOS byte and TTL.
    Ipv4 {
        /// Source (host order numeric value).
        src: u32,
        /// Source mask.
        src_mask: u32,
        /// Destination.
        dst: u32,
        /// Destination mask.
        dst_mask: u32,
        /// TOS byte (DSCP and ECN).
        tos: u8,
        /// TOS mask.
        tos_mask: u8,
        /// TTL.
        ttl: u8,
        /// TTL mask.
        ttl_mask: u8,
    },
    /// IPv6 addresses, flow label, traffic class and hop limit.
    Ipv6 {
        /// Source.
        src: [u8; 16],
        /// Source mask.
        src_mask: [u8; 16],
        /// Destination.
        dst: [u8; 16],
        /// Destination mask.
        dst_mask: [u8; 16],
        /// Flow label (20 bits).
        label: u32,
        /// Flow label mask.
        label_mask: u32,
        /// Traffic class.
        tclass: u8,
        /// Traffic class mask.
        tclass_mask: u8,
        /// Hop limit.
        hlimit: u8,
        /// Hop limit mask.
        hlimit_mask: u8,
    },
    /// TCP ports.
    Tcp(L4Ports),
    /// UDP ports.
    Udp(L4Ports),
    /// SCTP ports (the executor recomputes the CRC32c).
    Sctp(L4Ports),
    /// ARP fields.
    Arp {
        /// Sender protocol address.
        sip: u32,
        /// Mask.
        sip_mask: u32,
        /// Target protocol address.
        tip: u32,
        /// Mask.
        tip_mask: u32,
        /// Sender hardware address.
        sha: [u8; 6],
        /// Mask.
        sha_mask: [u8; 6],
        /// Target hardware address.
        tha: [u8; 6],
        /// Mask.
        tha_mask: [u8; 6],
        /// Opcode.
        op: u16,
        /// Mask.
        op_mask: u16,
    },
    /// IPv6 neighbour discovery target and link-layer address options.
    Nd {
        /// Target address.
        target: [u8; 16],
        /// Mask.
        target_mask: [u8; 16],
        /// Source link-layer address option.
        sll: [u8; 6],
        /// Mask.
        sll_mask: [u8; 6],
        /// Target link-layer address option.
        tll: [u8; 6],
        /// Mask.
        tll_mask: [u8; 6],
    },
    /// The top MPLS label stack entry.
    Mpls {
        /// label(20) tc(3) bos(1) ttl(8).
        lse: u32,
        /// Mask.
        lse_mask: u32,
    },
    /// Packet metadata: queue priority.
    SkbPriority(u32),
    /// Packet metadata: mark.
    PktMark {
        /// Value.
        mark: u32,
        /// Mask.
        mask: u32,
    },
    /// Tunnel ID for a following output to a tunnel port.
    TunnelId(u64),
    /// ICMPv4 type and code (the executor keeps the ICMP checksum valid).
    Icmp(IcmpTypeCode),
    /// ICMPv6 type and code (the executor keeps the ICMPv6 checksum valid).
    Icmpv6(IcmpTypeCode),
    /// The outermost PBB I-TAG TCI: PCP(3) DEI(1) UCA(1) reserved(3)
    /// I-SID(24).
    Pbb {
        /// Value.
        itag: u32,
        /// Mask.
        mask: u32,
    },
}

/// Type and code of a masked ICMP write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IcmpTypeCode {
    /// Type.
    pub ty: u8,
    /// Type mask.
    pub ty_mask: u8,
    /// Code.
    pub code: u8,
    /// Code mask.
    pub code_mask: u8,
}

/// Bits of the I-SID in an I-TAG TCI.
pub const ITAG_ISID: u32 = 0x00ff_ffff;
/// The UCA (use customer addresses) bit of an I-TAG TCI.
pub const ITAG_UCA: u32 = 1 << 27;
/// The PCP bits of an I-TAG TCI.
pub const ITAG_PCP: u32 = 7 << 29;

/// Source and destination ports of a masked L4 write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct L4Ports {
    /// Source port.
    pub src: u16,
    /// Source mask.
    pub src_mask: u16,
    /// Destination port.
    pub dst: u16,
    /// Destination mask.
    pub dst_mask: u16,
}

/// Displays an action list in Open vSwitch's datapath syntax (`drop` when
/// empty, comma-separated otherwise).
#[derive(Debug, Clone, Copy)]
pub struct ActionList<'a>(pub &'a [Action]);

impl Display for ActionList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("drop");
        }
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Output(p) => write!(f, "{p}"),
            Action::PushVlan { tpid, tci } => {
                if *tpid != 0x8100 {
                    write!(f, "push_vlan(tpid={tpid:#06x},")?;
                } else {
                    f.write_str("push_vlan(")?;
                }
                write!(f, "vid={},pcp={})", tci & 0x0fff, tci >> 13)
            }
            Action::PopVlan => f.write_str("pop_vlan"),
            Action::PushMpls { ethertype, lse } => write!(
                f,
                "push_mpls(label={},tc={},ttl={},bos={},eth_type={:#x})",
                lse >> 12,
                (lse >> 9) & 7,
                lse & 0xff,
                (lse >> 8) & 1,
                ethertype
            ),
            Action::PopMpls { ethertype } => write!(f, "pop_mpls(eth_type={ethertype:#x})"),
            Action::PushPbb { itag } => write!(
                f,
                "push_pbb(isid={:#x},uca={},pcp={})",
                itag & ITAG_ISID,
                (itag >> 27) & 1,
                itag >> 29
            ),
            Action::PopPbb => f.write_str("pop_pbb"),
            Action::CopyTtlIn => f.write_str("copy_ttl_in"),
            Action::CopyTtlOut => f.write_str("copy_ttl_out"),
            Action::Set(s) => write!(f, "set({s})"),
            Action::Meter(m) => write!(f, "meter({m})"),
            Action::Recirc(r) => write!(f, "recirc({r:#x})"),
            Action::Hash { basis } => write!(f, "hash(l4({basis}))"),
            Action::Trunc(n) => write!(f, "trunc({n})"),
            Action::Userspace { userdata } => write!(f, "userspace(userdata={userdata:#018x})"),
        }
    }
}

/// Writes `name=value` or `name=value/mask` for each field whose mask is not
/// zero, separated by commas.
struct Fields<'f, 'a> {
    f: &'f mut fmt::Formatter<'a>,
    first: bool,
}

impl Fields<'_, '_> {
    fn field<T: PartialEq + Copy>(
        &mut self,
        name: &str,
        value: T,
        mask: T,
        zero: T,
        ones: T,
        show: impl Fn(T, &mut dyn Write) -> fmt::Result,
    ) -> fmt::Result {
        if mask == zero {
            return Ok(());
        }
        if !self.first {
            self.f.write_char(',')?;
        }
        self.first = false;
        write!(self.f, "{name}=")?;
        show(value, self.f)?;
        if mask != ones {
            self.f.write_char('/')?;
            show(mask, self.f)?;
        }
        Ok(())
    }
}

fn mac(v: [u8; 6], w: &mut dyn Write) -> fmt::Result {
    write!(
        w,
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        v[0], v[1], v[2], v[3], v[4], v[5]
    )
}
fn ip4(v: u32, w: &mut dyn Write) -> fmt::Result {
    write!(w, "{}", Ipv4Addr::from(v))
}
fn ip6(v: [u8; 16], w: &mut dyn Write) -> fmt::Result {
    write!(w, "{}", Ipv6Addr::from(v))
}
fn dec<T: Display>(v: T, w: &mut dyn Write) -> fmt::Result {
    write!(w, "{v}")
}
fn hex32(v: u32, w: &mut dyn Write) -> fmt::Result {
    write!(w, "{v:#x}")
}

impl Display for SetMasked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            SetMasked::Eth { .. } => "eth",
            SetMasked::Ipv4 { .. } => "ipv4",
            SetMasked::Ipv6 { .. } => "ipv6",
            SetMasked::Tcp(_) => "tcp",
            SetMasked::Udp(_) => "udp",
            SetMasked::Sctp(_) => "sctp",
            SetMasked::Arp { .. } => "arp",
            SetMasked::Nd { .. } => "nd",
            SetMasked::Mpls { .. } => "mpls",
            SetMasked::SkbPriority(_) => "skb_priority",
            SetMasked::PktMark { .. } => "skb_mark",
            SetMasked::TunnelId(_) => "tunnel",
            SetMasked::Icmp(_) => "icmp",
            SetMasked::Icmpv6(_) => "icmpv6",
            SetMasked::Pbb { .. } => "pbb",
        };
        write!(f, "{name}(")?;
        let mut w = Fields { f, first: true };
        match *self {
            SetMasked::Eth {
                src,
                src_mask,
                dst,
                dst_mask,
            } => {
                w.field("src", src, src_mask, [0; 6], [0xff; 6], mac)?;
                w.field("dst", dst, dst_mask, [0; 6], [0xff; 6], mac)?;
            }
            SetMasked::Ipv4 {
                src,
                src_mask,
                dst,
                dst_mask,
                tos,
                tos_mask,
                ttl,
                ttl_mask,
            } => {
                w.field("src", src, src_mask, 0, u32::MAX, ip4)?;
                w.field("dst", dst, dst_mask, 0, u32::MAX, ip4)?;
                w.field("tos", tos, tos_mask, 0, u8::MAX, |v, w| write!(w, "{v:#x}"))?;
                w.field("ttl", ttl, ttl_mask, 0, u8::MAX, dec)?;
            }
            SetMasked::Ipv6 {
                src,
                src_mask,
                dst,
                dst_mask,
                label,
                label_mask,
                tclass,
                tclass_mask,
                hlimit,
                hlimit_mask,
            } => {
                w.field("src", src, src_mask, [0; 16], [0xff; 16], ip6)?;
                w.field("dst", dst, dst_mask, [0; 16], [0xff; 16], ip6)?;
                w.field("label", label, label_mask, 0, 0xfffff, hex32)?;
                w.field("tclass", tclass, tclass_mask, 0, u8::MAX, |v, w| {
                    write!(w, "{v:#x}")
                })?;
                w.field("hlimit", hlimit, hlimit_mask, 0, u8::MAX, dec)?;
            }
            SetMasked::Tcp(p) | SetMasked::Udp(p) | SetMasked::Sctp(p) => {
                w.field("src", p.src, p.src_mask, 0, u16::MAX, dec)?;
                w.field("dst", p.dst, p.dst_mask, 0, u16::MAX, dec)?;
            }
            SetMasked::Arp {
                sip,
                sip_mask,
                tip,
                tip_mask,
                sha,
                sha_mask,
                tha,
                tha_mask,
                op,
                op_mask,
            } => {
                w.field("sip", sip, sip_mask, 0, u32::MAX, ip4)?;
                w.field("tip", tip, tip_mask, 0, u32::MAX, ip4)?;
                w.field("op", op, op_mask, 0, u16::MAX, dec)?;
                w.field("sha", sha, sha_mask, [0; 6], [0xff; 6], mac)?;
                w.field("tha", tha, tha_mask, [0; 6], [0xff; 6], mac)?;
            }
            SetMasked::Nd {
                target,
                target_mask,
                sll,
                sll_mask,
                tll,
                tll_mask,
            } => {
                w.field("target", target, target_mask, [0; 16], [0xff; 16], ip6)?;
                w.field("sll", sll, sll_mask, [0; 6], [0xff; 6], mac)?;
                w.field("tll", tll, tll_mask, [0; 6], [0xff; 6], mac)?;
            }
            SetMasked::Mpls { lse, lse_mask } => {
                w.field("label", lse >> 12, lse_mask >> 12, 0, 0xfffff, dec)?;
                w.field("tc", (lse >> 9) & 7, (lse_mask >> 9) & 7, 0, 7, dec)?;
                w.field("ttl", lse & 0xff, lse_mask & 0xff, 0, 0xff, dec)?;
                w.field("bos", (lse >> 8) & 1, (lse_mask >> 8) & 1, 0, 1, dec)?;
            }
            SetMasked::SkbPriority(p) => write!(w.f, "{p:#x}")?,
            SetMasked::PktMark { mark, mask } => {
                write!(w.f, "{mark:#x}")?;
                if mask != u32::MAX {
                    write!(w.f, "/{mask:#x}")?;
                }
            }
            SetMasked::TunnelId(id) => write!(w.f, "tun_id={id:#x}")?,
            SetMasked::Icmp(t) | SetMasked::Icmpv6(t) => {
                w.field("type", t.ty, t.ty_mask, 0, u8::MAX, dec)?;
                w.field("code", t.code, t.code_mask, 0, u8::MAX, dec)?;
            }
            SetMasked::Pbb { itag, mask } => {
                w.field(
                    "isid",
                    itag & ITAG_ISID,
                    mask & ITAG_ISID,
                    0,
                    ITAG_ISID,
                    hex32,
                )?;
                w.field("uca", (itag >> 27) & 1, (mask >> 27) & 1, 0, 1, dec)?;
                w.field("pcp", itag >> 29, mask >> 29, 0, 7, dec)?;
            }
        }
        f.write_char(')')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(actions: &[Action]) -> String {
        ActionList(actions).to_string()
    }

    #[test]
    fn empty_list_is_drop() {
        assert_eq!(text(&[]), "drop");
    }

    #[test]
    fn ovs_syntax() {
        let acts = [
            Action::PushVlan {
                tpid: 0x8100,
                tci: 10,
            },
            Action::Output(2),
            Action::PopVlan,
            Action::Set(SetMasked::Ipv4 {
                src: 0x0a00_0001,
                src_mask: u32::MAX,
                dst: 0xc0a8_0000,
                dst_mask: 0xffff_ff00,
                tos: 0,
                tos_mask: 0,
                ttl: 63,
                ttl_mask: 0xff,
            }),
            Action::Set(SetMasked::Tcp(L4Ports {
                src: 0,
                src_mask: 0,
                dst: 80,
                dst_mask: 0xffff,
            })),
            Action::PushMpls {
                ethertype: 0x8847,
                lse: (100 << 12) | (1 << 8) | 64,
            },
            Action::Output(3),
        ];
        assert_eq!(
            text(&acts),
            "push_vlan(vid=10,pcp=0),2,pop_vlan,\
             set(ipv4(src=10.0.0.1,dst=192.168.0.0/255.255.255.0,ttl=63)),\
             set(tcp(dst=80)),push_mpls(label=100,tc=0,ttl=64,bos=1,eth_type=0x8847),3"
        );
    }

    #[test]
    fn eth_and_qinq() {
        let acts = [
            Action::Set(SetMasked::Eth {
                src: [0, 0, 0, 0, 0, 1],
                src_mask: [0xff; 6],
                dst: [0; 6],
                dst_mask: [0; 6],
            }),
            Action::PushVlan {
                tpid: 0x88a8,
                tci: (3 << 13) | 20,
            },
        ];
        assert_eq!(
            text(&acts),
            "set(eth(src=00:00:00:00:00:01)),push_vlan(tpid=0x88a8,vid=20,pcp=3)"
        );
    }

    #[test]
    fn pbb_icmp_and_ttl_copies() {
        let acts = [
            Action::PushPbb {
                itag: (3 << 29) | ITAG_UCA | 0x10,
            },
            Action::Set(SetMasked::Pbb {
                itag: 0xabc,
                mask: ITAG_ISID,
            }),
            Action::Set(SetMasked::Pbb {
                itag: ITAG_UCA,
                mask: ITAG_UCA | ITAG_PCP,
            }),
            Action::PopPbb,
            Action::CopyTtlIn,
            Action::CopyTtlOut,
            Action::Set(SetMasked::Icmp(IcmpTypeCode {
                ty: 0,
                ty_mask: 0xff,
                code: 3,
                code_mask: 0xff,
            })),
            Action::Set(SetMasked::Icmpv6(IcmpTypeCode {
                ty: 0,
                ty_mask: 0,
                code: 4,
                code_mask: 0x0f,
            })),
        ];
        assert_eq!(
            text(&acts),
            "push_pbb(isid=0x10,uca=1,pcp=3),set(pbb(isid=0xabc)),set(pbb(uca=1,pcp=0)),\
             pop_pbb,copy_ttl_in,copy_ttl_out,set(icmp(type=0,code=3)),set(icmpv6(code=4/15))"
        );
    }
}
