//! Value parsers for the process's own settings that clap cannot check on
//! its own (the ones every layer shares are in [`crate::flags`]).

use std::net::SocketAddr;

/// A socket address, or none (the setting was empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

pub(super) fn parse_optional_addr(raw: &str) -> Result<OptionalAddr, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(OptionalAddr(None));
    }
    raw.parse()
        .map(|addr| OptionalAddr(Some(addr)))
        .map_err(|_| {
            format!("{raw:?} is not an address such as 127.0.0.1:9464 (or empty, for none)")
        })
}
