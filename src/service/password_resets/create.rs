//! Starting a reset: a fresh single-use token that supersedes the customer's
//! older pending resets, and the one place that decides what a caller is told
//! about an email without an account.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, TransactionTrait, sea_query::Expr,
};

use super::{
    ResetStatus,
    admission::{ValidReset, admit_create},
    document, queue, status_condition,
};
use crate::{
    domain::{Caller, ErrorCode, Mode, PublicId, RESET_ID_PREFIX, ResetToken, Role, Topic},
    entity::{customer, customer_password_reset as reset},
    service::{
        Result, UserError,
        audit::{self, Action, Entry, Outcome},
        customers,
        rate_limits::RateLimits,
        webhooks::{self, SealedAttribute},
    },
};

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
/// whatever the email ([`queue::request`]).
///
/// # Errors
/// [`crate::service::Error::TooManyRequests`] past a rate limit;
/// [`crate::service::Error::User`] with `INVALID_EMAIL`, `REFERENCE_TOO_LONG`,
/// `METADATA_NOT_OBJECT`, `METADATA_TOO_LARGE` or (integration keys only)
/// `CUSTOMER_NOT_FOUND`; [`crate::service::Error::Database`] otherwise.
pub async fn start(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    input: NewReset,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Started> {
    match caller.principal.role {
        Role::Integration => create(db, caller, limits, input, ttl, now).await,
        Role::SalesChannel => {
            queue::request(db, caller, limits, input, now).await?;
            Ok(Started::Queued)
        }
    }
}

/// Creates a reset at once: in one transaction, a fresh token valid for
/// `ttl` (stored only as a digest), every older pending reset of the customer
/// invalidated, the webhook event and the audit entry written.
async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    input: NewReset,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Started> {
    let mode = caller.principal.mode;
    let input = admit_create(db, caller, limits, input, now).await?;
    let txn = db.begin().await?;
    let customer = customers::find_by_email(&txn, mode, &input.email).await?;
    let (outcome, customer_id) = match &customer {
        Some(customer) => (Outcome::Created, Some(customer.public_id.as_str())),
        None => (Outcome::NoCustomer, None),
    };
    let created = match &customer {
        Some(customer) => Some(create_in(&txn, mode, customer, &input, ttl, now).await?),
        None => None,
    };
    let entry = Entry {
        action: Action::Create,
        outcome,
        reason: None,
        customer_id,
    };
    audit::record(&txn, caller, entry, now).await?;
    txn.commit().await?;
    created.ok_or_else(|| {
        UserError::new(
            &["input", "customerEmail"],
            ErrorCode::CustomerNotFound,
            "no customer has this email",
        )
        .into()
    })
}

/// Creates the reset for `input`'s `customer` on `txn`, invalidating the
/// customer's older pending resets and recording the webhook event.
pub(super) async fn create_in<C: ConnectionTrait>(
    txn: &C,
    mode: Mode,
    customer: &customer::Model,
    input: &ValidReset,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Started> {
    let token = ResetToken::generate();
    reset::Entity::update_many()
        .col_expr(reset::Column::InvalidatedAt, Expr::value(now))
        .col_expr(reset::Column::UpdatedAt, Expr::value(now))
        .filter(reset::Column::CustomerId.eq(customer.id))
        .filter(status_condition(ResetStatus::Pending, now))
        .exec(txn)
        .await?;
    let model = reset::ActiveModel {
        public_id: Set(PublicId::generate(RESET_ID_PREFIX).into_string()),
        mode: Set(mode.as_str().to_owned()),
        customer_id: Set(customer.id),
        customer_email: Set(customer.email.clone()),
        token_digest: Set(token.digest()),
        expires_at: Set(now + ttl),
        reset_password_at: Set(None),
        invalidated_at: Set(None),
        reference: Set(input.reference.clone()),
        reference_origin: Set(input.reference_origin.clone()),
        metadata: Set(input.metadata.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let hooks = webhooks::subscribers(txn, mode, &[Topic::ResetCreated]).await?;
    let sealed = SealedAttribute {
        value: token.expose(),
        expires_at: model.expires_at,
    };
    webhooks::record_event(
        txn,
        &hooks,
        Topic::ResetCreated,
        document::reset(&model, customer, now),
        Some(sealed),
        now,
    )
    .await?;
    Ok(Started::Reset {
        reset: Box::new(model),
        token,
    })
}
