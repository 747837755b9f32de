//! Controller-connection state that decides who gets asynchronous
//! messages: roles with generation ids (OpenFlow 1.2+ ROLE_REQUEST) and
//! the SET_ASYNC configuration.
//!
//! Contract:
//! * [`Roles::request`] implements the spec's role change: a request for
//!   MASTER or SLAVE carries a generation id; one older than the newest
//!   seen (compared as a wrapping signed difference) is refused with
//!   `OFPRRFC_STALE`; a new MASTER turns the previous master into a SLAVE
//!   (the ids of the demoted connections are returned so the caller can
//!   send them ROLE_STATUS); NOCHANGE only queries.
//! * [`AsyncConfig`] holds, per role class (master/equal vs slave), the
//!   bit masks of packet-in reasons, port-status reasons and flow-removed
//!   reasons a connection wants; the defaults are the spec's (a slave gets
//!   port status only).
//! * A slave may not change the switch: [`Roles::may_modify`].

use crate::ofp::error::ErrorKind;
use std::collections::BTreeMap;

/// A controller role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// Full access, receives everything (the default).
    #[default]
    Equal,
    /// Full access; at most one connection is master.
    Master,
    /// Read-only; receives port status only by default.
    Slave,
}

/// A ROLE_REQUEST's role field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleRequest {
    /// Query only.
    NoChange,
    /// Set a role.
    Set(Role),
}

/// Roles of a bridge's controller connections, by connection id.
#[derive(Debug, Default)]
pub struct Roles {
    roles: BTreeMap<u64, Role>,
    generation: Option<u64>,
}

impl Roles {
    /// The role of connection `conn` (Equal when never set).
    pub fn role(&self, conn: u64) -> Role {
        self.roles.get(&conn).copied().unwrap_or_default()
    }

    /// Forgets a closed connection.
    pub fn remove(&mut self, conn: u64) {
        self.roles.remove(&conn);
    }

    /// True when `conn` may send state-changing messages.
    pub fn may_modify(&self, conn: u64) -> bool {
        self.role(conn) != Role::Slave
    }

    /// Handles a ROLE_REQUEST from `conn`; returns the connection's role,
    /// the current generation id, and the connections demoted from master.
    pub fn request(
        &mut self,
        conn: u64,
        req: RoleRequest,
        generation_id: u64,
    ) -> Result<(Role, Option<u64>, Vec<u64>), ErrorKind> {
        let mut demoted = Vec::new();
        if let RoleRequest::Set(role) = req {
            if role != Role::Equal {
                if let Some(g) = self.generation
                    && (generation_id.wrapping_sub(g) as i64) < 0
                {
                    return Err(ErrorKind::RoleRequestFailedStale);
                }
                self.generation = Some(generation_id);
            }
            if role == Role::Master {
                for (&c, r) in self.roles.iter_mut() {
                    if c != conn && *r == Role::Master {
                        *r = Role::Slave;
                        demoted.push(c);
                    }
                }
            }
            self.roles.insert(conn, role);
        }
        Ok((self.role(conn), self.generation, demoted))
    }
}

/// Asynchronous message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncKind {
    /// PACKET_IN with this reason.
    PacketIn(u8),
    /// PORT_STATUS with this reason.
    PortStatus(u8),
    /// FLOW_REMOVED with this reason.
    FlowRemoved(u8),
}

/// SET_ASYNC masks: index 0 for master/equal, 1 for slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncConfig {
    /// Packet-in reason bits.
    pub packet_in: [u32; 2],
    /// Port-status reason bits.
    pub port_status: [u32; 2],
    /// Flow-removed reason bits.
    pub flow_removed: [u32; 2],
}

impl Default for AsyncConfig {
    /// The OpenFlow 1.3 defaults: master/equal get packet-ins for no-match
    /// and action, every port status and flow removal; slaves get port
    /// status only.
    fn default() -> Self {
        AsyncConfig {
            packet_in: [0b011, 0],
            port_status: [0b111, 0b111],
            flow_removed: [0b1111, 0],
        }
    }
}

impl AsyncConfig {
    /// True when a connection in `role` wants a message of `kind`.
    pub fn wants(&self, role: Role, kind: AsyncKind) -> bool {
        let i = usize::from(role == Role::Slave);
        let (mask, reason) = match kind {
            AsyncKind::PacketIn(r) => (self.packet_in[i], r),
            AsyncKind::PortStatus(r) => (self.port_status[i], r),
            AsyncKind::FlowRemoved(r) => (self.flow_removed[i], r),
        };
        reason < 32 && mask & (1 << reason) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_election_and_stale_generation() {
        let mut r = Roles::default();
        assert_eq!(r.role(1), Role::Equal);
        let (role, gen_id, demoted) = r.request(1, RoleRequest::Set(Role::Master), 10).unwrap();
        assert_eq!((role, gen_id, demoted), (Role::Master, Some(10), vec![]));
        let (_, _, demoted) = r.request(2, RoleRequest::Set(Role::Master), 11).unwrap();
        assert_eq!(demoted, vec![1]);
        assert_eq!(r.role(1), Role::Slave);
        assert!(!r.may_modify(1));
        assert_eq!(
            r.request(1, RoleRequest::Set(Role::Master), 9),
            Err(ErrorKind::RoleRequestFailedStale)
        );
        // Wrapping comparison: u64::MAX is older than 11... and 0 newer than MAX.
        assert!(r.request(1, RoleRequest::Set(Role::Slave), 12).is_ok());
        assert_eq!(
            r.request(1, RoleRequest::NoChange, 0).unwrap().0,
            Role::Slave
        );
        // Equal needs no generation id.
        assert!(r.request(3, RoleRequest::Set(Role::Equal), 0).is_ok());
    }

    #[test]
    fn async_defaults_and_masks() {
        let mut a = AsyncConfig::default();
        assert!(a.wants(Role::Master, AsyncKind::PacketIn(0)));
        assert!(!a.wants(Role::Master, AsyncKind::PacketIn(2)));
        assert!(!a.wants(Role::Slave, AsyncKind::PacketIn(1)));
        assert!(a.wants(Role::Slave, AsyncKind::PortStatus(2)));
        assert!(!a.wants(Role::Slave, AsyncKind::FlowRemoved(0)));
        a.packet_in[0] |= 1 << 2;
        assert!(a.wants(Role::Equal, AsyncKind::PacketIn(2)));
        assert!(!a.wants(Role::Equal, AsyncKind::PacketIn(40)));
    }
}
