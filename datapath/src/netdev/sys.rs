//! Interface control through ioctls on the interface name: index, flags
//! (up, running, promiscuous), MTU and Ethernet address. For backends over
//! kernel devices (`system`, `tap`, `internal`, `afxdp`).
//!
//! Every call opens a short-lived `AF_INET` datagram socket: these are
//! control-plane operations, never on the packet path. Names longer than
//! `IFNAMSIZ - 1` bytes are rejected, not truncated.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{Error, LinkState, MacAddr};

fn ifreq(name: &str) -> Result<libc::ifreq, Error> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(Error::Config {
            name: name.to_owned(),
            reason: format!(
                "an interface name has 1 to {} bytes and no NUL",
                libc::IFNAMSIZ - 1
            ),
        });
    }
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut r: libc::ifreq = unsafe { core::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(r)
}

fn ctl_socket(name: &str) -> Result<OwnedFd, Error> {
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error::last_os(name, "socket"));
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ioctl(name: &str, op: &'static str, req: libc::Ioctl, r: &mut libc::ifreq) -> Result<(), Error> {
    let s = ctl_socket(name)?;
    // SAFETY: `r` is a valid, initialised ifreq that outlives the call; the
    // interface ioctls read and write only within it.
    let rc = unsafe { libc::ioctl(s.as_raw_fd(), req, r as *mut libc::ifreq) };
    if rc < 0 {
        return Err(Error::last_os(name, op));
    }
    Ok(())
}

/// The interface index of `name`.
pub fn ifindex(name: &str) -> Result<u32, Error> {
    let mut r = ifreq(name)?;
    ioctl(name, "SIOCGIFINDEX", libc::SIOCGIFINDEX, &mut r)?;
    // SAFETY: SIOCGIFINDEX filled the ifindex member of the union.
    Ok(unsafe { r.ifr_ifru.ifru_ifindex } as u32)
}

/// The interface flags (`IFF_*`).
pub fn flags(name: &str) -> Result<i32, Error> {
    let mut r = ifreq(name)?;
    ioctl(name, "SIOCGIFFLAGS", libc::SIOCGIFFLAGS, &mut r)?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    Ok(unsafe { r.ifr_ifru.ifru_flags } as i32 & 0xffff)
}

/// Sets and clears interface flags.
pub fn update_flags(name: &str, set: i32, clear: i32) -> Result<(), Error> {
    let old = flags(name)?;
    let new = (old | set) & !clear;
    if new == old {
        return Ok(());
    }
    let mut r = ifreq(name)?;
    r.ifr_ifru.ifru_flags = new as libc::c_short;
    ioctl(name, "SIOCSIFFLAGS", libc::SIOCSIFFLAGS, &mut r)
}

/// Brings the interface administratively up.
pub fn set_up(name: &str) -> Result<(), Error> {
    update_flags(name, libc::IFF_UP, 0)
}

/// Up when administratively up and running (carrier); down otherwise,
/// including when the interface cannot be queried (gone, or moved to
/// another network namespace).
pub fn link_state(name: &str) -> LinkState {
    match flags(name) {
        Ok(f) if f & libc::IFF_UP != 0 && f & libc::IFF_RUNNING != 0 => LinkState::Up,
        _ => LinkState::Down,
    }
}

/// The MTU.
pub fn mtu(name: &str) -> Result<u32, Error> {
    let mut r = ifreq(name)?;
    ioctl(name, "SIOCGIFMTU", libc::SIOCGIFMTU, &mut r)?;
    // SAFETY: SIOCGIFMTU filled the mtu member of the union.
    Ok(unsafe { r.ifr_ifru.ifru_mtu } as u32)
}

/// Sets the MTU.
pub fn set_mtu(name: &str, mtu: u32) -> Result<(), Error> {
    let mut r = ifreq(name)?;
    r.ifr_ifru.ifru_mtu = i32::try_from(mtu).map_err(|_| Error::Config {
        name: name.to_owned(),
        reason: format!("MTU {mtu} too large"),
    })?;
    ioctl(name, "SIOCSIFMTU", libc::SIOCSIFMTU, &mut r)
}

/// The Ethernet address.
pub fn mac(name: &str) -> Result<MacAddr, Error> {
    let mut r = ifreq(name)?;
    ioctl(name, "SIOCGIFHWADDR", libc::SIOCGIFHWADDR, &mut r)?;
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union.
    let sa = unsafe { r.ifr_ifru.ifru_hwaddr };
    let mut m = [0u8; 6];
    for (d, s) in m.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok(m)
}

/// Sets the Ethernet address.
pub fn set_mac(name: &str, mac: MacAddr) -> Result<(), Error> {
    let mut r = ifreq(name)?;
    // SAFETY: sockaddr is plain data; all-zero is valid.
    let mut sa: libc::sockaddr = unsafe { core::mem::zeroed() };
    sa.sa_family = libc::ARPHRD_ETHER;
    for (d, s) in sa.sa_data.iter_mut().zip(mac) {
        *d = s as libc::c_char;
    }
    r.ifr_ifru.ifru_hwaddr = sa;
    ioctl(name, "SIOCSIFHWADDR", libc::SIOCSIFHWADDR, &mut r)
}

/// The current errno.
#[inline]
pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
