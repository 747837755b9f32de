//! Sleeping when idle: a polling thread with nothing to receive waits in
//! `poll(2)` on its receive queues' file descriptors plus a wake-up eventfd
//! the control plane writes to, so a packet or a control message ends the
//! sleep at once and an idle thread costs no CPU.
//!
//! This is the one FFI corner of the thread code (eventfd, poll, read,
//! write); every call is on descriptors this module owns or that the netdev
//! layer keeps open while the thread holds the queue.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// An eventfd that wakes a sleeping polling thread.
#[derive(Debug)]
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    /// A new, unsignalled waker.
    pub fn new() -> io::Result<Waker> {
        // SAFETY: eventfd takes no pointers; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Waker { fd })
    }

    /// Signals the waker (ends a current or the next sleep).
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to a nonblocking eventfd we
        // own; a full counter (EAGAIN) already means "signalled".
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                core::mem::size_of::<u64>(),
            )
        };
    }

    /// Clears the signal.
    fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from a nonblocking eventfd we
        // own; EAGAIN (not signalled) is fine.
        let _ = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut v as *mut u64).cast(),
                core::mem::size_of::<u64>(),
            )
        };
    }
}

/// Waits until one of `fds` is readable, the waker is signalled, or
/// `timeout` passes. `set` is scratch storage reused between calls (no
/// allocation once it has grown).
pub fn wait(fds: &[RawFd], waker: &Waker, timeout: Duration, set: &mut Vec<libc::pollfd>) {
    set.clear();
    set.push(libc::pollfd {
        fd: waker.fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    set.extend(fds.iter().map(|&fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }));
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: `set` is a live, initialised array of `set.len()` pollfds for
    // the duration of the call; the descriptors are ours (the waker) or
    // held open by the receive queues this thread owns.
    let _ = unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, ms) };
    if set[0].revents != 0 {
        waker.drain();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn waker_ends_the_wait_and_timeout_bounds_it() {
        let w = Waker::new().unwrap();
        let mut set = Vec::new();
        let t = Instant::now();
        wait(&[], &w, Duration::from_millis(20), &mut set);
        assert!(t.elapsed() >= Duration::from_millis(15));
        w.wake();
        let t = Instant::now();
        wait(&[], &w, Duration::from_secs(5), &mut set);
        assert!(t.elapsed() < Duration::from_secs(1));
        // Drained: the next wait sleeps again.
        let t = Instant::now();
        wait(&[], &w, Duration::from_millis(20), &mut set);
        assert!(t.elapsed() >= Duration::from_millis(15));
    }
}
