//! Who may call what: every resolver states the roles it admits.

use async_graphql::{Context, ErrorExtensions};

use crate::{
    domain::{Principal, Role},
    state::AppState,
};

/// The outcome of reading the request's `Authorization` header.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No `Authorization` header.
    Anonymous,
    /// A header with an unknown, revoked or malformed key.
    Invalid,
    /// A valid key.
    Key(Principal),
}

/// Only back-office integrations.
pub(crate) const INTEGRATION: &[Role] = &[Role::Integration];
/// Integrations and storefront sales channels.
pub(crate) const ANY_ROLE: &[Role] = &[Role::Integration, Role::SalesChannel];

/// The caller, if its key has one of `roles`.
///
/// # Errors
/// `UNAUTHENTICATED` with no key or an invalid one; `FORBIDDEN` for a role not in `roles`.
pub(crate) fn require<'a>(
    ctx: &'a Context<'_>,
    roles: &[Role],
) -> async_graphql::Result<&'a Principal> {
    match ctx.data_opt::<Auth>() {
        Some(Auth::Key(principal)) if roles.contains(&principal.role) => Ok(principal),
        Some(Auth::Key(principal)) => Err(async_graphql::Error::new(format!(
            "a {} key may not use this field",
            principal.role
        ))
        .extend_with(|_, e| e.set("code", "FORBIDDEN"))),
        Some(Auth::Invalid) => Err(
            async_graphql::Error::new("the API key is unknown or revoked")
                .extend_with(|_, e| e.set("code", "UNAUTHENTICATED")),
        ),
        Some(Auth::Anonymous) | None => Err(async_graphql::Error::new(
            "an API key is required: send `Authorization: Bearer <key>`",
        )
        .extend_with(|_, e| e.set("code", "UNAUTHENTICATED"))),
    }
}

/// The client's IP address, as the HTTP layer determined it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

/// The caller of a rate-limited, audited operation.
pub(crate) fn caller(ctx: &Context<'_>, principal: &Principal) -> crate::service::audit::Caller {
    crate::service::audit::Caller {
        principal: principal.clone(),
        client_ip: ctx.data_opt::<ClientIp>().and_then(|ip| ip.0),
    }
}

/// The shared state.
pub(crate) fn state<'a>(ctx: &'a Context<'_>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}
