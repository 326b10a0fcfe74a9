//! Customer password resets, one job per file:
//! - here: the status model, and what a new reset is made of;
//! - [`admission`]: what every create and complete goes through first (rate
//!   limits, validation), with refusals audited;
//! - [`create`]: a fresh single-use token, and the disclosure policy (who is
//!   told that an email has no account);
//! - [`queue`]: storefront requests, queued so every email costs the same,
//!   and the job that turns them into resets;
//! - [`complete`]: the token alone finds the reset and sets the password;
//! - [`manage`]: read one, change its merchant fields, delete it;
//! - [`list`]: filters and sorts;
//! - [`document`]: the reset as its webhook events carry it.

mod admission;
mod complete;
mod create;
mod document;
mod list;
mod manage;
mod queue;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition};

pub use complete::complete;
pub use create::{NewReset, Started, start};
pub use list::{ResetFilter, ResetSort, list};
pub use manage::{ResetChanges, delete, get, update};
pub use queue::process_requests;

use crate::entity::customer_password_reset as reset;

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
