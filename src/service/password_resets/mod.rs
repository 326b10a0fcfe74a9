//! Customer password resets, one job per file:
//! - here: starting a reset (who is told what about an email without an
//!   account), and the status model;
//! - `admission`: what every create and complete goes through first (rate
//!   limits, validation), with refusals audited;
//! - `create`: a fresh single-use token, at once;
//! - `queue`: storefront requests, queued so every email costs the same,
//!   and the job that turns them into resets;
//! - `complete`: the token alone finds the reset and sets the password;
//! - `manage`: read one, change its merchant fields, delete it;
//! - `list`: filters and sorts;
//! - `document`: the reset as its webhook events carry it.

mod admission;
mod complete;
mod create;
mod document;
mod list;
mod manage;
mod queue;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection};

pub use complete::complete;
pub use list::{ResetFilter, ResetSort, list};
pub use manage::{ResetChanges, delete, get, update};
pub use queue::process_requests;

use crate::{
    domain::{Caller, ResetToken, Role},
    entity::customer_password_reset as reset,
    service::{Result, rate_limits::RateLimits, sealing::TokenSealer},
};

/// How new reset tokens are made: how long they work, and what seals them
/// while they wait on a webhook delivery.
#[derive(Debug, Clone, Copy)]
pub struct TokenPolicy<'a> {
    /// How long a new token works.
    pub ttl: Duration,
    /// Seals the token on its deliveries.
    pub sealer: &'a TokenSealer,
}

/// A new reset, as a client sent it.
#[derive(Debug, Default)]
pub struct NewReset {
    /// The customer's email, in any letter case.
    pub customer_email: String,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// Where the reference comes from.
    pub reference_origin: Option<String>,
    /// A JSON object; `{}` when absent.
    pub metadata: Option<serde_json::Value>,
}

/// What a caller is told after starting a reset.
#[derive(Debug)]
pub enum Started {
    /// A reset was created (integration keys); the token exists only here.
    Reset {
        /// The new reset.
        reset: Box<reset::Model>,
        /// Its token, to hand over once.
        token: ResetToken,
    },
    /// The request was queued (sales-channel keys), whatever the email: the
    /// caller learns nothing about whether it has an account.
    Queued,
}

/// Starts a password reset for `input`'s customer in the caller's mode.
///
/// The caller's role decides what it may learn. An integration key gets the
/// reset at once, with its token, and `CUSTOMER_NOT_FOUND` for an unknown
/// email. A sales-channel key (public) gets [`Started::Queued`] for every
/// valid email: the request is queued and answered at once, the same work
/// whatever the email.
///
/// # Errors
/// [`crate::service::Error::TooManyRequests`] past a rate limit;
/// [`crate::service::Error::User`] with `INVALID_EMAIL`, `REFERENCE_TOO_LONG`,
/// `METADATA_NOT_OBJECT`, `METADATA_TOO_LARGE`, (sales-channel keys, which may
/// not set `reference`, `referenceOrigin` or `metadata`) `FIELD_NOT_ALLOWED`,
/// or (integration keys only) `CUSTOMER_NOT_FOUND`; [`crate::service::Error::Database`] otherwise.
pub async fn start(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    input: NewReset,
    tokens: TokenPolicy<'_>,
    now: DateTime<Utc>,
) -> Result<Started> {
    match caller.principal.role {
        Role::Integration => create::create(db, caller, limits, input, tokens, now).await,
        Role::SalesChannel => {
            queue::request(db, caller, limits, input, now).await?;
            Ok(Started::Queued)
        }
    }
}

/// Where a reset stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetStatus {
    /// Unused, not superseded, not expired: the token works.
    Pending,
    /// The password was reset with it.
    Completed,
    /// Its time ran out before it was used.
    Expired,
    /// A newer reset superseded it, or another reset of the customer completed.
    Invalidated,
}

impl ResetStatus {
    /// The status as webhook payloads name it.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetStatus::Pending => "pending",
            ResetStatus::Completed => "completed",
            ResetStatus::Expired => "expired",
            ResetStatus::Invalidated => "invalidated",
        }
    }
}

/// The status of `model` at `now`.
pub fn status(model: &reset::Model, now: DateTime<Utc>) -> ResetStatus {
    if model.reset_password_at.is_some() {
        ResetStatus::Completed
    } else if model.invalidated_at.is_some() {
        ResetStatus::Invalidated
    } else if model.expires_at <= now {
        ResetStatus::Expired
    } else {
        ResetStatus::Pending
    }
}

/// The condition that selects resets in `status` at `now`; the SQL twin of [`status`].
fn status_condition(status: ResetStatus, now: DateTime<Utc>) -> Condition {
    use reset::Column as C;
    match status {
        ResetStatus::Completed => Condition::all().add(C::ResetPasswordAt.is_not_null()),
        ResetStatus::Invalidated => Condition::all()
            .add(C::ResetPasswordAt.is_null())
            .add(C::InvalidatedAt.is_not_null()),
        ResetStatus::Expired => Condition::all()
            .add(C::ResetPasswordAt.is_null())
            .add(C::InvalidatedAt.is_null())
            .add(C::ExpiresAt.lte(now)),
        ResetStatus::Pending => Condition::all()
            .add(C::ResetPasswordAt.is_null())
            .add(C::InvalidatedAt.is_null())
            .add(C::ExpiresAt.gt(now)),
    }
}
