//! The email is written on the transaction of the reset it carries, so the
//! two commit or roll back together; its token is sealed with the email's
//! id as associated data (see [`crate::service::sealing`]) and kept only
//! until the email is sent, given up, or the token expires.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, sea_query::Expr,
};

use super::{DEFAULT_LOCALE, MailSettings};
use crate::{
    domain::{DeliveryStatus, EmailKind, Mode, PublicId},
    entity::{customer_password_reset as reset, reset_email as email},
    service::{Result, sealing::TokenSealer, secrets::ResetSecrets},
};

/// Prefix of reset email ids (`eml_…`).
const EMAIL_ID_PREFIX: &str = "eml";

/// What a create asked of its email: the page the link opens (already
/// checked) and the language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailWish {
    /// An allowed page, instead of the mode's `RESET_URL`.
    pub redirect_url: Option<String>,
    /// A language tag; English when absent.
    pub locale: Option<String>,
}

/// Writes the email of `reset` to its customer on `txn`, carrying `secrets`
/// (the token for a link, the code), when `mode` sends emails; returns
/// whether it did.
///
/// # Errors
/// [`crate::service::Error::Database`] if the write fails;
/// [`crate::service::Error::Internal`] if the token cannot be sealed.
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    settings: &MailSettings,
    mode: Mode,
    reset: &reset::Model,
    wish: &EmailWish,
    secrets: &ResetSecrets,
    sealer: &TokenSealer,
) -> Result<bool> {
    if !settings.sends(mode) {
        return Ok(false);
    }
    let public_id = PublicId::generate(EMAIL_ID_PREFIX).into_string();
    let sealed = sealer.seal(&secrets.to_text(), &public_id)?;
    let now = reset.created_at;
    email::ActiveModel {
        public_id: Set(public_id),
        mode: Set(mode),
        reset_id: Set(reset.id),
        recipient: Set(reset.customer_email.clone()),
        locale: Set(wish.locale.clone().unwrap_or_else(|| DEFAULT_LOCALE.into())),
        redirect_url: Set(wish.redirect_url.clone()),
        status: Set(DeliveryStatus::Pending),
        attempt_count: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        locked_by: Set(None),
        token: Set(Some(sealed)),
        token_expires_at: Set(reset.expires_at),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        kind: Set(EmailKind::Reset),
        changed_from: Set(None),
        traceparent: Set(crate::telemetry::current_traceparent()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(true)
}

/// How long a "password changed" email is tried before it is given up.
const CHANGED_EMAIL_TRIED_FOR: chrono::Duration = chrono::Duration::days(2);

/// Writes the "your password was changed" email of the completed `reset`
/// on `txn`, when `mode` sends emails and `PASSWORD_CHANGED_EMAIL` is on: in
/// the language its reset email was asked in, with the network it came from
/// (`changed_from`), and no token. Returns whether it did.
///
/// # Errors
/// [`crate::service::Error::Database`] if a read or the write fails.
pub async fn record_password_changed<C: ConnectionTrait>(
    txn: &C,
    settings: &MailSettings,
    mode: Mode,
    reset: &reset::Model,
    changed_from: Option<String>,
    now: DateTime<Utc>,
) -> Result<bool> {
    if !settings.password_changed || !settings.sends(mode) {
        return Ok(false);
    }
    let asked = email::Entity::find()
        .filter(email::Column::ResetId.eq(reset.id))
        .filter(email::Column::Kind.eq(EmailKind::Reset))
        .one(txn)
        .await?;
    let locale = asked.map_or_else(|| DEFAULT_LOCALE.to_owned(), |e| e.locale);
    email::ActiveModel {
        public_id: Set(PublicId::generate(EMAIL_ID_PREFIX).into_string()),
        mode: Set(mode),
        reset_id: Set(reset.id),
        recipient: Set(reset.customer_email.clone()),
        locale: Set(locale),
        redirect_url: Set(None),
        status: Set(DeliveryStatus::Pending),
        attempt_count: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        locked_by: Set(None),
        token: Set(None),
        token_expires_at: Set(now + CHANGED_EMAIL_TRIED_FOR),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        kind: Set(EmailKind::PasswordChanged),
        changed_from: Set(changed_from),
        traceparent: Set(crate::telemetry::current_traceparent()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(true)
}

/// The emails of the resets with internal keys `resets`, by reset.
///
/// # Errors
/// [`crate::service::Error::Database`] if the read fails.
pub async fn of_resets(
    db: &impl ConnectionTrait,
    resets: &[i64],
) -> Result<std::collections::HashMap<i64, email::Model>> {
    Ok(email::Entity::find()
        .filter(email::Column::ResetId.is_in(resets.iter().copied()))
        .filter(email::Column::Kind.eq(EmailKind::Reset))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.reset_id, e))
        .collect())
}

/// Gives up the pending emails whose token expired before `now`, and forgets
/// the token. Returns how many.
///
/// # Errors
/// [`crate::service::Error::Database`] if the update fails.
pub async fn expire_tokens(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64> {
    Ok(email::Entity::update_many()
        .col_expr(email::Column::Status, Expr::value(DeliveryStatus::Expired))
        .col_expr(email::Column::Token, Expr::value(Option::<String>::None))
        .col_expr(email::Column::UpdatedAt, Expr::value(now))
        .filter(email::Column::Status.eq(DeliveryStatus::Pending))
        .filter(email::Column::TokenExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
