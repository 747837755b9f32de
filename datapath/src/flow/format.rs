//! The datapath text form of a flow key, optionally under a mask, as printed
//! by `dpctl/dump-flows`:
//!
//! ```text
//! in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),
//! ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,tos=0,ttl=64,frag=no),udp(src=1234,dst=53)
//! ```
//!
//! Without a mask, every field of the layers the key's protocols imply is
//! printed. With a mask, a field is printed only when some bit of it is
//! significant, as `value` when all of its bits are and `value/mask`
//! otherwise; a group (`eth(...)`, `ipv4(...)`) is printed when any of its
//! fields is.

use super::key::{FRAG_ANY, FRAG_LATER, FlowKey, FlowMask, VLAN_CFI};
use core::fmt::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Displays `key` (under `mask`, when given) in the datapath text form.
#[derive(Debug, Clone, Copy)]
pub struct DpFormat<'a> {
    key: &'a FlowKey,
    mask: Option<&'a FlowMask>,
}

/// The datapath text form of `key` with every implied field.
pub fn key(key: &FlowKey) -> DpFormat<'_> {
    DpFormat { key, mask: None }
}

/// The datapath text form of `key` under `mask`.
pub fn masked<'a>(key: &'a FlowKey, mask: &'a FlowMask) -> DpFormat<'a> {
    DpFormat {
        key,
        mask: Some(mask),
    }
}

trait Value: Copy + PartialEq {
    fn zero() -> Self;
    fn ones() -> Self;
    fn write(self, w: &mut dyn Write) -> fmt::Result;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn zero() -> Self { 0 }
            fn ones() -> Self { <$t>::MAX }
            fn write(self, w: &mut dyn Write) -> fmt::Result { write!(w, "{}", self) }
        }
    )*};
}
int_value!(u8, u16, u32, u64);

#[derive(Clone, Copy, PartialEq)]
struct Hex<T>(T);
macro_rules! hex_value {
    ($($t:ty),*) => {$(
        impl Value for Hex<$t> {
            fn zero() -> Self { Hex(0) }
            fn ones() -> Self { Hex(<$t>::MAX) }
            // Like C's "%#x": zero prints as "0".
            fn write(self, w: &mut dyn Write) -> fmt::Result {
                if self.0 == 0 { w.write_char('0') } else { write!(w, "{:#x}", self.0) }
            }
        }
    )*};
}
hex_value!(u8, u16, u32, u64, u128);

#[derive(Clone, Copy, PartialEq)]
struct Mac([u8; 6]);
impl Value for Mac {
    fn zero() -> Self {
        Mac([0; 6])
    }
    fn ones() -> Self {
        Mac([0xff; 6])
    }
    fn write(self, w: &mut dyn Write) -> fmt::Result {
        let b = self.0;
        write!(
            w,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

#[derive(Clone, Copy, PartialEq)]
struct V4(u32);
impl Value for V4 {
    fn zero() -> Self {
        V4(0)
    }
    fn ones() -> Self {
        V4(u32::MAX)
    }
    fn write(self, w: &mut dyn Write) -> fmt::Result {
        write!(w, "{}", Ipv4Addr::from(self.0))
    }
}

#[derive(Clone, Copy, PartialEq)]
struct V6([u8; 16]);
impl Value for V6 {
    fn zero() -> Self {
        V6([0; 16])
    }
    fn ones() -> Self {
        V6([0xff; 16])
    }
    fn write(self, w: &mut dyn Write) -> fmt::Result {
        write!(w, "{}", Ipv6Addr::from(self.0))
    }
}

/// Collects the fields of one group, then writes `name(f=v,...)`.
struct Group<'w, 'f> {
    out: &'w mut fmt::Formatter<'f>,
    masked: bool,
    first_group: &'w mut bool,
    name: &'static str,
    opened: bool,
}

impl Group<'_, '_> {
    /// Starts the next field: opens the group on first use, else a comma.
    fn sep(&mut self) -> fmt::Result {
        if self.opened {
            return self.out.write_char(',');
        }
        if !*self.first_group {
            self.out.write_char(',')?;
        }
        *self.first_group = false;
        self.opened = true;
        write!(self.out, "{}(", self.name)
    }

    fn field<V: Value>(&mut self, name: &str, v: V, m: V) -> fmt::Result {
        if self.masked && m == V::zero() {
            return Ok(());
        }
        self.sep()?;
        if !name.is_empty() {
            write!(self.out, "{name}=")?;
        }
        v.write(self.out)?;
        if self.masked && m != V::ones() {
            self.out.write_char('/')?;
            m.write(self.out)?;
        }
        Ok(())
    }

    /// A field printed as a word (`frag=no`) rather than a number.
    fn word(&mut self, name: &str, word: &str, significant: bool) -> fmt::Result {
        if self.masked && !significant {
            return Ok(());
        }
        self.sep()?;
        write!(self.out, "{name}={word}")
    }

    fn close(self) -> fmt::Result {
        if self.opened {
            self.out.write_char(')')?;
        }
        Ok(())
    }
}

impl fmt::Display for DpFormat<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.key;
        let exact = FlowMask::exact();
        let m = self.mask.unwrap_or(&exact);
        let masked = self.mask.is_some();
        let mut first = true;
        macro_rules! group {
            ($name:expr, |$g:ident| $body:block) => {{
                let mut $g = Group {
                    out: f,
                    masked,
                    first_group: &mut first,
                    name: $name,
                    opened: false,
                };
                $body
                $g.close()?;
            }};
        }
        // Metadata: printed when nonzero (unmasked) or significant (masked).
        let meta = |v: u64, mv: u64| if masked { mv != 0 } else { v != 0 };
        if meta(k.recirc_id.into(), m.recirc_id.into()) {
            group!("recirc_id", |g| {
                g.field("", Hex(k.recirc_id), Hex(m.recirc_id))?;
            });
        }
        if meta(k.dp_hash.into(), m.dp_hash.into()) {
            group!("dp_hash", |g| {
                g.field("", Hex(k.dp_hash), Hex(m.dp_hash))?;
            });
        }
        if meta(k.skb_priority.into(), m.skb_priority.into()) {
            group!("skb_priority", |g| {
                g.field("", Hex(k.skb_priority), Hex(m.skb_priority))?;
            });
        }
        if meta(k.pkt_mark.into(), m.pkt_mark.into()) {
            group!("skb_mark", |g| {
                g.field("", Hex(k.pkt_mark), Hex(m.pkt_mark))?;
            });
        }
        if meta(k.ct_state.into(), m.ct_state.into()) {
            group!("ct_state", |g| {
                g.field("", Hex(k.ct_state), Hex(m.ct_state))?;
            });
        }
        if meta(k.ct_zone.into(), m.ct_zone.into()) {
            group!("ct_zone", |g| {
                g.field("", Hex(k.ct_zone), Hex(m.ct_zone))?;
            });
        }
        if meta(k.ct_mark.into(), m.ct_mark.into()) {
            group!("ct_mark", |g| {
                g.field("", Hex(k.ct_mark), Hex(m.ct_mark))?;
            });
        }
        if (!masked && k.ct_label != [0; 16]) || (masked && m.ct_label != [0; 16]) {
            group!("ct_label", |g| {
                g.field(
                    "",
                    Hex(u128::from_be_bytes(k.ct_label)),
                    Hex(u128::from_be_bytes(m.ct_label)),
                )?;
            });
        }
        let tun_present = k.tun_id != 0
            || k.tun_src != 0
            || k.tun_dst != 0
            || k.tun_ipv6_src != [0; 16]
            || k.tun_ipv6_dst != [0; 16];
        if (!masked && tun_present)
            || (masked
                && (m.tun_id != 0
                    || m.tun_src != 0
                    || m.tun_dst != 0
                    || m.tun_ipv6_src != [0; 16]
                    || m.tun_ipv6_dst != [0; 16]
                    || m.tun_flags != 0))
        {
            group!("tunnel", |g| {
                g.field("tun_id", Hex(k.tun_id), Hex(m.tun_id))?;
                if k.tun_ipv6_src == [0; 16] && k.tun_ipv6_dst == [0; 16] {
                    g.field("src", V4(k.tun_src), V4(m.tun_src))?;
                    g.field("dst", V4(k.tun_dst), V4(m.tun_dst))?;
                } else {
                    g.field("ipv6_src", V6(k.tun_ipv6_src), V6(m.tun_ipv6_src))?;
                    g.field("ipv6_dst", V6(k.tun_ipv6_dst), V6(m.tun_ipv6_dst))?;
                }
                g.field("tos", k.tun_tos, m.tun_tos)?;
                g.field("ttl", k.tun_ttl, m.tun_ttl)?;
                g.field("tp_src", k.tun_tp_src, m.tun_tp_src)?;
                g.field("tp_dst", k.tun_tp_dst, m.tun_tp_dst)?;
                g.field("flags", Hex(k.tun_flags), Hex(m.tun_flags))?;
            });
        }
        if !masked || m.in_port != 0 {
            group!("in_port", |g| {
                g.field("", k.in_port, m.in_port)?;
            });
        }
        group!("eth", |g| {
            g.field("src", Mac(k.dl_src), Mac(m.dl_src))?;
            g.field("dst", Mac(k.dl_dst), Mac(m.dl_dst))?;
        });
        for (v, mv) in k.vlans.iter().zip(m.vlans.iter()) {
            let present = v.tci & VLAN_CFI != 0;
            if (!masked && !present) || (masked && mv.tci == 0 && mv.tpid == 0) {
                break;
            }
            group!("vlan", |g| {
                g.field("tpid", Hex(v.tpid), Hex(mv.tpid))?;
                g.field("vid", v.tci & 0x0fff, mv.tci & 0x0fff)?;
                g.field("pcp", v.tci >> 13, mv.tci >> 13)?;
                g.field("present", (v.tci >> 12) & 1, (mv.tci >> 12) & 1)?;
            });
        }
        if !masked || m.dl_type != 0 {
            group!("eth_type", |g| {
                g.field("", Hex(k.dl_type), Hex(m.dl_type))?;
            });
        }
        match k.dl_type {
            0x8847 | 0x8848 => group!("mpls", |g| {
                g.field("label", k.mpls_lse >> 12, m.mpls_lse >> 12)?;
                g.field("tc", (k.mpls_lse >> 9) & 7, (m.mpls_lse >> 9) & 7)?;
                g.field("ttl", k.mpls_lse & 0xff, m.mpls_lse & 0xff)?;
                g.field("bos", (k.mpls_lse >> 8) & 1, (m.mpls_lse >> 8) & 1)?;
            }),
            0x88e7 => group!("pbb", |g| {
                g.field("isid", k.pbb_isid, m.pbb_isid)?;
                g.field("uca", k.pbb_uca, m.pbb_uca)?;
            }),
            0x0806 | 0x8035 => group!("arp", |g| {
                g.field("sip", V4(k.nw_src), V4(m.nw_src))?;
                g.field("tip", V4(k.nw_dst), V4(m.nw_dst))?;
                g.field("op", k.arp_op, m.arp_op)?;
                g.field("sha", Mac(k.arp_sha), Mac(m.arp_sha))?;
                g.field("tha", Mac(k.arp_tha), Mac(m.arp_tha))?;
            }),
            0x0800 => group!("ipv4", |g| {
                g.field("src", V4(k.nw_src), V4(m.nw_src))?;
                g.field("dst", V4(k.nw_dst), V4(m.nw_dst))?;
                g.field("proto", k.nw_proto, m.nw_proto)?;
                g.field("tos", Hex(k.nw_tos), Hex(m.nw_tos))?;
                g.field("ttl", k.nw_ttl, m.nw_ttl)?;
                g.word("frag", frag_word(k.nw_frag), m.nw_frag != 0)?;
            }),
            0x86dd => group!("ipv6", |g| {
                g.field("src", V6(k.ipv6_src), V6(m.ipv6_src))?;
                g.field("dst", V6(k.ipv6_dst), V6(m.ipv6_dst))?;
                g.field("label", Hex(k.ipv6_label), Hex(m.ipv6_label))?;
                g.field("proto", k.nw_proto, m.nw_proto)?;
                g.field("tclass", Hex(k.nw_tos), Hex(m.nw_tos))?;
                g.field("hlimit", k.nw_ttl, m.nw_ttl)?;
                g.word("frag", frag_word(k.nw_frag), m.nw_frag != 0)?;
                g.field("exthdr", Hex(k.ipv6_exthdr), Hex(m.ipv6_exthdr))?;
            }),
            _ => {}
        }
        let is_ip = matches!(k.dl_type, 0x0800 | 0x86dd);
        if is_ip && k.nw_frag & FRAG_LATER == 0 {
            let v6 = k.dl_type == 0x86dd;
            match (k.nw_proto, v6) {
                (6, _) => {
                    group!("tcp", |g| {
                        g.field("src", k.tp_src, m.tp_src)?;
                        g.field("dst", k.tp_dst, m.tp_dst)?;
                    });
                    if !masked || m.tcp_flags != 0 {
                        group!("tcp_flags", |g| {
                            g.field("", Hex(k.tcp_flags), Hex(m.tcp_flags))?;
                        });
                    }
                }
                (17, _) => group!("udp", |g| {
                    g.field("src", k.tp_src, m.tp_src)?;
                    g.field("dst", k.tp_dst, m.tp_dst)?;
                }),
                (132, _) => group!("sctp", |g| {
                    g.field("src", k.tp_src, m.tp_src)?;
                    g.field("dst", k.tp_dst, m.tp_dst)?;
                }),
                (1, false) => group!("icmp", |g| {
                    g.field("type", k.tp_src as u8, m.tp_src as u8)?;
                    g.field("code", k.tp_dst as u8, m.tp_dst as u8)?;
                }),
                (58, true) => {
                    group!("icmpv6", |g| {
                        g.field("type", k.tp_src as u8, m.tp_src as u8)?;
                        g.field("code", k.tp_dst as u8, m.tp_dst as u8)?;
                    });
                    if matches!(k.tp_src, 135 | 136) && k.tp_dst == 0 {
                        group!("nd", |g| {
                            g.field("target", V6(k.nd_target), V6(m.nd_target))?;
                            g.field("sll", Mac(k.arp_sha), Mac(m.arp_sha))?;
                            g.field("tll", Mac(k.arp_tha), Mac(m.arp_tha))?;
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn frag_word(frag: u8) -> &'static str {
    if frag & FRAG_LATER != 0 {
        "later"
    } else if frag & FRAG_ANY != 0 {
        "first"
    } else {
        "no"
    }
}

impl fmt::Display for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&key(self), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_form_prints_only_significant_fields() {
        let mut k = FlowKey::ZERO;
        k.in_port = 2;
        k.dl_type = 0x0800;
        k.nw_src = 0x0a00_0000;
        k.nw_proto = 17;
        k.tp_dst = 53;
        let mut m = FlowMask::CATCHALL;
        m.dl_type = 0xffff;
        m.nw_src = 0xffff_ff00;
        m.nw_frag = 0xff;
        m.tp_dst = 0xffff;
        assert_eq!(
            masked(&k, &m).to_string(),
            "eth_type(0x800),ipv4(src=10.0.0.0/255.255.255.0,frag=no),udp(dst=53)"
        );
        m.in_port = u32::MAX;
        m.dl_src = [0xff; 6];
        assert_eq!(
            masked(&k, &m).to_string(),
            "in_port(2),eth(src=00:00:00:00:00:00),eth_type(0x800),\
             ipv4(src=10.0.0.0/255.255.255.0,frag=no),udp(dst=53)"
        );
    }
}
