//! Completing a reset: the token alone finds it; the new password is checked
//! and hashed; then one transaction claims the reset only if it is still
//! pending (so of two concurrent completes exactly one wins), sets the
//! password, voids the customer's other resets and records the events.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::Expr,
};

use super::{
    ResetStatus, Resets,
    admission::{admit_complete, record_refusal},
    close_open, document, status, status_condition,
};
use crate::service::statement;
use crate::{
    domain::{
        AuditAction, AuditOutcome, Caller, Email, ErrorCode, Mode, Password, RawPassword,
        ResetToken, Topic,
    },
    entity::{customer, customer_password_reset as reset},
    service::{
        Error, Result, UserError,
        audit::{self, Entry},
        customers,
        error::Errors,
        mail,
        password::PasswordHasher,
        webhooks,
    },
};

/// [`super::Resets::complete`].
pub(super) async fn complete(
    resets: Resets<'_>,
    caller: &Caller,
    token: ResetToken,
    password: RawPassword,
) -> Result<reset::Model> {
    let (db, hasher, clock) = (resets.db, resets.hasher, resets.tokens.clock);
    let now = clock.now();
    admit_complete(db, caller, resets.limits, now).await?;
    // The reset and its customer in one statement.
    let found = reset::Entity::find()
        .filter(reset::Column::Mode.eq(caller.principal.mode))
        .filter(reset::Column::TokenDigest.eq(token.digest()))
        .find_also_related(customer::Entity)
        .one(db)
        .await?;
    let customer_id = found
        .as_ref()
        .and_then(|(_, c)| c.as_ref())
        .map(|c| c.public_id.clone());
    let result = async {
        let (found, customer, password) = check(found, password, hasher, now)?;
        // Before any Argon2 work; a breached password leaves the token usable.
        if let Some(breached) = resets.breached {
            let field = ["input", "customerPassword"];
            breached.check(&password, &field, resets.metrics).await?;
        }
        let digest = hasher.hash(password).await?;
        let now = clock.now();
        let pending = status_condition(ResetStatus::Pending, now);
        match finish(resets, caller, found, customer, digest, pending, now).await? {
            Some(completed) => Ok(completed),
            // Someone else completed or superseded it while we hashed.
            None => {
                let mode = caller.principal.mode;
                let status = find_by_token(db, mode, &token)
                    .await?
                    .map_or(ResetStatus::Pending, |r| status(&r, now));
                Err(token_error(status).into())
            }
        }
    }
    .await;
    let customer_id = customer_id.as_deref();
    record_refusal(db, caller, AuditAction::Complete, customer_id, result, now).await
}

/// The reset, its customer and the new password, if the token is pending and
/// the password meets the policy; every refusal at once otherwise.
fn check(
    found: Option<(reset::Model, Option<customer::Model>)>,
    password: RawPassword,
    hasher: &PasswordHasher,
    now: DateTime<Utc>,
) -> Result<(reset::Model, customer::Model, Password)> {
    let (found, customer) = found.map_or((None, None), |(r, c)| (Some(r), c));
    let mut errors = Errors::default();
    match &found {
        None => errors.push(token_error(ResetStatus::Pending)),
        Some(r) if status(r, now) != ResetStatus::Pending => {
            errors.push(token_error(status(r, now)))
        }
        Some(_) => {}
    }
    let context = found
        .as_ref()
        .and_then(|r| Email::parse(&r.customer_email).ok());
    let password = errors.check(
        &["input", "customerPassword"],
        Password::parse(password, hasher.policy(), context.as_ref()),
    );
    errors.finish()?;
    let (Some(found), Some(password)) = (found, password) else {
        return Err(Error::Internal(
            "parsed input missing after validation".into(),
        ));
    };
    let customer =
        customer.ok_or_else(|| Error::Internal("a reset's customer is missing".into()))?;
    Ok((found, customer, password))
}

/// The transaction of a complete: locks the customer, claims `found` if it
/// still meets `claimable` (pending, and for a code, the code still
/// working), stores `digest` on `customer`, closes the customer's other open
/// resets, records the events and the audit entry. `None` when the claim
/// was lost: another complete or a newer reset came first.
pub(super) async fn finish(
    resets: Resets<'_>,
    caller: &Caller,
    found: reset::Model,
    customer: customer::Model,
    digest: String,
    claimable: Condition,
    now: DateTime<Utc>,
) -> Result<Option<reset::Model>> {
    let db = resets.db;
    let mode = caller.principal.mode;
    let txn = db.begin().await?;
    // Writes that change a customer's resets take turns, per customer.
    customers::lock(&txn, found.customer_id).await?;
    let claimed = reset::Entity::update_many()
        .col_expr(reset::Column::ResetPasswordAt, Expr::value(now))
        .col_expr(reset::Column::UpdatedAt, Expr::value(now))
        .filter(reset::Column::Id.eq(found.id))
        .filter(claimable)
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(None);
    }
    customer::Entity::update_many()
        .col_expr(
            customer::Column::PasswordDigest,
            Expr::value(digest.clone()),
        )
        .col_expr(customer::Column::PasswordChangedAt, Expr::value(now))
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
        .filter(customer::Column::Id.eq(found.customer_id))
        .exec(&txn)
        .await?;
    close_open(&txn, found.customer_id, Some(found.id), now).await?;
    let completed = reset::Model {
        reset_password_at: Some(now),
        updated_at: now,
        ..found
    };
    // The customer as this transaction leaves it.
    let customer = customer::Model {
        password_digest: Some(digest),
        password_changed_at: Some(now),
        updated_at: now,
        ..customer
    };
    record_events(&txn, mode, &completed, &customer, now).await?;
    // The customer hears of it, with the network it came from.
    let subnet = resets.limits.networks(caller.client_ip).subnet;
    let changed_from = (!subnet.is_empty()).then_some(subnet);
    let mail = resets.tokens.mail;
    mail::record_password_changed(&txn, mail, mode, &completed, changed_from, now).await?;
    let entry = Entry {
        action: AuditAction::Complete,
        outcome: AuditOutcome::Completed,
        reason: None,
        customer_id: Some(&customer.public_id),
    };
    audit::record(&txn, caller, entry, now).await?;
    txn.commit().await?;
    Ok(Some(completed))
}

/// The events of a completed reset, on `txn`: the reset's, and the
/// customer's, so the merchant can tell the customer and end their sessions.
/// One query finds the subscribers of both.
async fn record_events<C: ConnectionTrait>(
    txn: &C,
    mode: Mode,
    completed: &reset::Model,
    customer: &customer::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let topics = [Topic::ResetCompleted, Topic::CustomerPasswordReset];
    let (reset_hooks, customer_hooks): (Vec<_>, Vec<_>) = webhooks::subscribers(txn, mode, &topics)
        .await?
        .into_iter()
        .partition(|hook| hook.topic == Topic::ResetCompleted);
    if !reset_hooks.is_empty() {
        let reset_doc = document::reset(completed, customer, now);
        let topic = Topic::ResetCompleted;
        webhooks::record_event(txn, &reset_hooks, topic, reset_doc, None, now).await?;
    }
    if !customer_hooks.is_empty() {
        let customer_doc = customers::document(customer);
        let topic = Topic::CustomerPasswordReset;
        webhooks::record_event(txn, &customer_hooks, topic, customer_doc, None, now).await?;
    }
    Ok(())
}

/// The refusal of a token whose reset is in `status` (`Pending` when no reset
/// has the token).
fn token_error(status: ResetStatus) -> UserError {
    let field = &["input", "resetPasswordToken"];
    match status {
        ResetStatus::Expired => UserError::new(
            field,
            ErrorCode::TokenExpired,
            "has expired; request a new password reset",
        ),
        ResetStatus::Completed => {
            UserError::new(field, ErrorCode::TokenAlreadyUsed, "has already been used")
        }
        ResetStatus::Invalidated => UserError::new(
            field,
            ErrorCode::TokenInvalidated,
            "is no longer valid: a newer password reset replaced it",
        ),
        ResetStatus::Pending => UserError::new(field, ErrorCode::TokenInvalid, "is not valid"),
    }
}

async fn find_by_token(
    db: &impl ConnectionTrait,
    mode: Mode,
    token: &ResetToken,
) -> Result<Option<reset::Model>> {
    Ok(statement::first(
        db,
        reset::Entity::find()
            .filter(reset::Column::Mode.eq(mode))
            .filter(reset::Column::TokenDigest.eq(token.digest())),
    )
    .await?)
}

/// The public id of the reset of `mode` whose token is `token`, if any.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn reset_id_of_token(
    db: &impl ConnectionTrait,
    mode: Mode,
    token: &ResetToken,
) -> Result<Option<String>> {
    Ok(find_by_token(db, mode, token).await?.map(|r| r.public_id))
}
