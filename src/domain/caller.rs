//! Who is calling, as the HTTP layer found out and every layer below uses it.

use std::net::IpAddr;

use super::Principal;

/// What the request's `Authorization` header said.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No `Authorization` header.
    Anonymous,
    /// A header with an unknown, revoked or malformed key.
    Invalid,
    /// A valid key.
    Key(Principal),
}

/// The client's IP address, as the HTTP layer determined it (see
/// `TRUSTED_PROXIES`); `None` when the connection has no peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// Who made a rate-limited, audited attempt, and from where.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The API key.
    pub principal: Principal,
    /// The client's address.
    pub client_ip: Option<IpAddr>,
}
