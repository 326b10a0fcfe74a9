//! Completing a reset with a one-time code and the customer's email.
//!
//! A code has few values, so each reset takes a bounded number of wrong
//! ones (`RESET_CODE_MAX_ATTEMPTS`, from any address): every attempt first
//! reserves one, in a transaction, with one statement that finds the
//! customer's open reset by the email and counts the attempt (voiding the
//! reset when it is the last allowed). A right code rolls the reservation
//! back and goes on to set the password; a wrong one keeps it. An unknown
//! email, a reset without a code, a used-up or expired code and a wrong code
//! run the same statements and answer the same `TOKEN_INVALID`, so a caller
//! learns nothing about the email from them.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use super::{
    ResetStatus, Resets,
    admission::{admit_complete, record_refusal},
    complete::finish,
    open, status_condition,
};
use crate::{
    domain::{
        AuditAction, AuditOutcome, Caller, Email, ErrorCode, Mode, Password, RawPassword, ResetCode,
    },
    entity::{customer, customer_password_reset as reset},
    service::{
        Error, Result, UserError,
        audit::{self, Entry},
        error::Errors,
        statement,
    },
};

/// The one answer to every code that does not complete a reset.
fn code_error() -> UserError {
    UserError::new(
        &["input", "code"],
        ErrorCode::TokenInvalid,
        "is not valid: check it, or request a new one",
    )
}

/// [`super::Resets::complete_with_code`].
pub(super) async fn complete(
    resets: Resets<'_>,
    caller: &Caller,
    customer_email: &str,
    code: ResetCode,
    password: RawPassword,
) -> Result<reset::Model> {
    let (db, clock) = (resets.db, resets.tokens.clock);
    let now = clock.now();
    admit_complete(db, caller, resets.limits, now).await?;
    let mut errors = Errors::default();
    let email = errors.check(&["input", "customerEmail"], Email::parse(customer_email));
    let password = errors.check(
        &["input", "customerPassword"],
        Password::parse(password, resets.hasher.policy(), email.as_ref()),
    );
    let Some(email) = email else {
        // No reset has a malformed email: nothing to count.
        let refused = errors.finish().and(Err(Error::Internal("no email".into())));
        return record_refusal(db, caller, AuditAction::Complete, None, refused, now).await;
    };
    let mode = caller.principal.mode;
    let max = resets.tokens.codes.max_attempts;
    let txn = db.begin().await?;
    let reserved = reserve(&txn, mode, &email, max, now).await?;
    let stored = reserved.as_ref().and_then(|r| r.code_digest.as_deref());
    let reset_id = reserved.as_ref().map_or("", |r| r.public_id.as_str());
    // Computed whatever was found, so a miss takes as long as a wrong code.
    let matches = resets
        .tokens
        .sealer
        .codes()
        .matches(stored, &code, reset_id);
    let works = reserved
        .as_ref()
        .is_some_and(|r| r.expires_at > now && r.code_expires_at.is_some_and(|until| until > now));
    let found = match reserved {
        Some(found) if matches && works && code.is_well_formed(resets.tokens.codes.digits) => found,
        _ => {
            // The attempt stays counted (and, the last allowed, voids the reset).
            let entry = Entry {
                action: AuditAction::Complete,
                outcome: AuditOutcome::Rejected,
                reason: Some(ErrorCode::TokenInvalid.as_str()),
                customer_id: None,
            };
            audit::record(&txn, caller, entry, now).await?;
            txn.commit().await?;
            errors.push(code_error());
            return Err(errors.finish().err().unwrap_or_else(|| code_error().into()));
        }
    };
    // A right code costs no attempt.
    txn.rollback().await?;
    let customer = statement::first(db, customer::Entity::find_by_id(found.customer_id))
        .await?
        .ok_or_else(|| Error::Internal("a reset's customer is missing".into()))?;
    let customer_id = customer.public_id.clone();
    let result = async {
        errors.finish()?;
        let password = password
            .ok_or_else(|| Error::Internal("parsed input missing after validation".into()))?;
        set_password(resets, caller, found, customer, password).await
    }
    .await;
    let customer_id = Some(customer_id.as_str());
    record_refusal(db, caller, AuditAction::Complete, customer_id, result, now).await
}

/// Screens and hashes `password`, then completes `found` if its code still
/// works.
async fn set_password(
    resets: Resets<'_>,
    caller: &Caller,
    found: reset::Model,
    customer: customer::Model,
    password: Password,
) -> Result<reset::Model> {
    // Before any Argon2 work; a breached password leaves the code usable.
    if let Some(breached) = resets.breached {
        let field = ["input", "customerPassword"];
        breached.check(&password, &field, resets.metrics).await?;
    }
    let digest = resets.hasher.hash(password).await?;
    let now = resets.tokens.clock.now();
    use reset::Column as C;
    let max = i32::from(resets.tokens.codes.max_attempts);
    let claimable = status_condition(ResetStatus::Pending, now)
        .add(C::CodeDigest.is_not_null())
        .add(C::CodeExpiresAt.gt(now))
        .add(C::CodeAttempts.lt(max));
    finish(resets, caller, found, customer, digest, claimable, now)
        .await?
        // Completed, superseded or voided while the password was hashed.
        .ok_or_else(|| code_error().into())
}

/// Counts an attempt on the open reset with a code of the customer of
/// `mode` whose email is `email`, if it has attempts left, and returns it
/// as it was found (the count and, when this was the last attempt allowed,
/// `invalidated_at` already updated). One statement whatever the email.
async fn reserve<C: ConnectionTrait>(
    txn: &C,
    mode: Mode,
    email: &Email,
    max: u8,
    now: DateTime<Utc>,
) -> Result<Option<reset::Model>> {
    use reset::Column as R;
    let customer = Query::select()
        .column(customer::Column::Id)
        .from(customer::Entity)
        .and_where(customer::Column::Mode.eq(mode))
        .and_where(customer::Column::EmailKey.eq(email.key()))
        .to_owned();
    let max = i32::from(max);
    let last = Expr::col(R::CodeAttempts).add(1).gte(max);
    let voided =
        Expr::case(last, Expr::value(now)).finally(Expr::value(Option::<DateTime<Utc>>::None));
    let rows = reset::Entity::update_many()
        .col_expr(R::CodeAttempts, Expr::col(R::CodeAttempts).add(1))
        .col_expr(R::InvalidatedAt, voided.into())
        .col_expr(R::UpdatedAt, Expr::value(now))
        .filter(
            Condition::all()
                .add(R::Mode.eq(mode))
                .add(R::CustomerId.in_subquery(customer))
                .add(R::CodeDigest.is_not_null())
                .add(R::CodeAttempts.lt(max)),
        )
        .filter(open())
        .exec_with_returning(txn)
        .await?;
    Ok(rows.into_iter().next())
}
