//! Who may call what: every resolver states the roles it admits.

use async_graphql::Context;

use super::error::{ErrorCode, error};
use crate::{
    domain::{Auth, Caller, ClientIp, Principal, Role},
    state::AppState,
};

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
        Some(Auth::Key(principal)) => Err(error(
            ErrorCode::Forbidden,
            format!("a {} key may not use this field", principal.role),
        )),
        Some(Auth::Invalid) => Err(error(
            ErrorCode::Unauthenticated,
            "the API key is unknown or revoked",
        )),
        Some(Auth::Anonymous) | None => Err(error(
            ErrorCode::Unauthenticated,
            "an API key is required: send `Authorization: Bearer <key>`",
        )),
    }
}

/// A field guard: only integration keys may read the field.
///
/// # Errors
/// As [`require`] with [`INTEGRATION`].
pub(crate) fn integration_only(ctx: &Context<'_>) -> async_graphql::Result<()> {
    require(ctx, INTEGRATION).map(drop)
}

/// The caller of a rate-limited, audited operation.
pub(crate) fn caller(ctx: &Context<'_>, principal: &Principal) -> Caller {
    Caller {
        principal: principal.clone(),
        client_ip: ctx.data_opt::<ClientIp>().and_then(|ip| ip.0),
    }
}

/// The shared state.
pub(crate) fn state<'a>(ctx: &'a Context<'_>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}
