//! Opening a netdev from what the database says of an interface: its
//! `type` ([`Kind`], parsed with [`Kind::from_db`]) and its `options`
//! (string keys and values).
//!
//! Options understood (an unknown key or a bad value is an error, so typos
//! do not go unnoticed):
//!
//! | kind | option | meaning (default) |
//! | --- | --- | --- |
//! | system, tap, internal, afxdp, dummy | `n_rxq` | receive queues (1) |
//! | tap, internal | `offloads` | `true` or `false`: accept checksum/TSO offload frames from the host (true) |
//! | afxdp | `xdp-mode` | `native`, `native-with-zerocopy`, `generic`, `best-effort` (best-effort) |
//! | afxdp | `umem-frames` | UMEM chunks per queue (4096) |
//! | afxdp | `frame-size` | UMEM chunk size, 2048 or 4096 (4096) |
//! | afxdp | `ring-size` | RX and TX ring entries (2048) |
//! | afxdp | `fill-ring-size` | fill and completion ring entries (2048) |
//! | system | `rx-mode` | `mmsg` (`recvmmsg`) or `ring` (TPACKET_V3, up to 1 ms latency at low rates) (mmsg) |
//! | system | `ring-block-size`, `ring-blocks` | TPACKET_V3 geometry (131072, 64) |
//! | any | `pcap` | a file: every frame received and sent is written to it ([`super::wrap::Pcap`]; for debugging: file I/O per batch) |
//!
//! Patch ports are made in pairs: open them with a
//! [`super::patch::Registry`] (`options:peer`), which pairs the two ends as
//! they are opened; [`open`] refuses them.

use std::sync::Arc;

use super::afxdp::{Afxdp, AfxdpConfig, XdpMode};
use super::dummy::Dummy;
use super::system::{RxMode, System, SystemConfig};
use super::tap::{Tap, TapConfig};
use super::wrap::Pcap;
use super::{Error, Kind, Netdev};

impl Kind {
    /// Parses the database's `Interface.type` (`""` is `system`).
    pub fn from_db(s: &str) -> Option<Kind> {
        Some(match s {
            "" | "system" => Kind::System,
            "afxdp" => Kind::Afxdp,
            "tap" => Kind::Tap,
            "internal" => Kind::Internal,
            "patch" => Kind::Patch,
            "dummy" => Kind::Dummy,
            _ => return None,
        })
    }
}

fn parse<T: std::str::FromStr>(name: &str, key: &str, v: &str) -> Result<T, Error> {
    v.parse().map_err(|_| Error::Config {
        name: name.to_owned(),
        reason: format!("option {key}={v:?} is not a valid number"),
    })
}

/// Opens interface `name` of `kind` with `options` (see the module
/// documentation).
pub fn open<'a>(
    kind: Kind,
    name: &str,
    options: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Arc<dyn Netdev>, Error> {
    let mut n_rxq = 1usize;
    let mut pcap: Option<std::path::PathBuf> = None;
    let mut sys_cfg = SystemConfig::default();
    let mut xdp = AfxdpConfig::default();
    let mut tap = TapConfig::default();
    for (k, v) in options {
        match (kind, k) {
            (Kind::Patch, _) => break,
            (_, "pcap") => pcap = Some(v.into()),
            (_, "n_rxq") => {
                n_rxq = parse(name, k, v)?;
                if n_rxq == 0 || n_rxq > 256 {
                    return Err(Error::Config {
                        name: name.to_owned(),
                        reason: format!("n_rxq={n_rxq} (1 to 256)"),
                    });
                }
            }
            (Kind::Afxdp, "xdp-mode") => {
                xdp.mode = match v {
                    "native" | "native-with-zerocopy" => XdpMode::Native,
                    "generic" => XdpMode::Generic,
                    "best-effort" => XdpMode::BestEffort,
                    _ => {
                        return Err(Error::Config {
                            name: name.to_owned(),
                            reason: format!("xdp-mode={v:?} (native, generic or best-effort)"),
                        });
                    }
                }
            }
            (Kind::Tap | Kind::Internal, "offloads") => {
                tap.offloads = match v {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(Error::Config {
                            name: name.to_owned(),
                            reason: format!("offloads={v:?} (true or false)"),
                        });
                    }
                }
            }
            (Kind::Afxdp, "umem-frames") => xdp.frames = parse(name, k, v)?,
            (Kind::Afxdp, "frame-size") => xdp.frame_size = parse(name, k, v)?,
            (Kind::Afxdp, "ring-size") => xdp.ring = parse(name, k, v)?,
            (Kind::Afxdp, "fill-ring-size") => xdp.fill_ring = parse(name, k, v)?,
            (Kind::System, "rx-mode") => {
                sys_cfg.rx_mode = match v {
                    "ring" => RxMode::Ring,
                    "mmsg" => RxMode::Mmsg,
                    _ => {
                        return Err(Error::Config {
                            name: name.to_owned(),
                            reason: format!("rx-mode={v:?} (ring or mmsg)"),
                        });
                    }
                }
            }
            (Kind::System, "ring-block-size") => sys_cfg.block_size = parse(name, k, v)?,
            (Kind::System, "ring-blocks") => sys_cfg.block_nr = parse(name, k, v)?,
            _ => {
                return Err(Error::Config {
                    name: name.to_owned(),
                    reason: format!("unknown option {k:?} for a {kind} port"),
                });
            }
        }
    }
    let dev: Arc<dyn Netdev> = match kind {
        Kind::System => {
            sys_cfg.n_rxq = n_rxq;
            System::open_with(name, &sys_cfg)?
        }
        Kind::Tap => {
            tap.n_queues = n_rxq;
            Tap::open_with(name, &tap)?
        }
        Kind::Internal => {
            tap.n_queues = n_rxq;
            Tap::internal_with(name, &tap)?
        }
        Kind::Afxdp => {
            xdp.n_rxq = n_rxq;
            Afxdp::open(name, &xdp)?
        }
        Kind::Dummy => Dummy::new(name, n_rxq)?,
        Kind::Patch => {
            return Err(Error::Unsupported {
                name: name.to_owned(),
                what: "opening one end alone (open patch ports with patch::Registry)",
            });
        }
    };
    Ok(match pcap {
        Some(path) => Pcap::new(dev, &path)?,
        None => dev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_options() {
        for k in ["", "system", "afxdp", "tap", "internal", "patch", "dummy"] {
            let kind = Kind::from_db(k).unwrap();
            if !k.is_empty() {
                assert_eq!(kind.as_str(), k);
            }
        }
        assert!(Kind::from_db("vxlan").is_none());
        let d = open(Kind::Dummy, "d", [("n_rxq", "3")]).unwrap();
        assert_eq!(d.n_rxq(), 3);
        assert!(matches!(
            open(Kind::Dummy, "d", [("n_rxq", "x")]),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            open(Kind::Dummy, "d", [("xdp-mode", "native")]),
            Err(Error::Config { .. })
        ));
        let path = std::env::temp_dir().join(format!("rvs-open-{}.pcap", std::process::id()));
        let p = open(Kind::Dummy, "d", [("pcap", path.to_str().unwrap())]).unwrap();
        assert!(p.as_dummy().is_some_and(|d| d.inject(0, &[3; 60])));
        let mut rx = p.take_rxq(0).unwrap();
        let mut b = crate::netdev::Batch::new(2048);
        assert_eq!(rx.recv(&mut b).unwrap(), 1);
        drop((rx, p));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 24 + 16 + 60);
        let _ = std::fs::remove_file(&path);
        assert!(matches!(
            open(Kind::Patch, "p", []),
            Err(Error::Unsupported { .. })
        ));
        assert!(open(Kind::Afxdp, "nonexistent0", [("xdp-mode", "sideways")]).is_err());
    }
}
