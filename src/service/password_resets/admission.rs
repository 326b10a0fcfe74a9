//! What every create and complete goes through before any work: the rate
//! limits of the caller, then (for creates) validation and the email limit.
//! Every refusal is recorded in the audit trail.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::{
    NewReset,
    merchant::{Merchant, MerchantInput},
};
use crate::{
    domain::{AuditAction, AuditOutcome, Caller, Email, ErrorCode, Role},
    service::{
        Error, Result, UserError,
        audit::{self, Entry},
        error::Errors,
        mail::{self, EmailWish, MailSettings},
        rate_limits::{self, Hit, Limit, RateLimits},
    },
};

/// A reset input that passed validation.
#[derive(Debug, Clone)]
pub(super) struct ValidReset {
    pub email: Email,
    /// The back office's fields.
    pub merchant: Merchant,
    /// The page and language of the email.
    pub wish: EmailWish,
    /// How the reset reaches the customer; the mode's default when `None`.
    pub delivery: Option<crate::domain::Delivery>,
}

fn validate(input: NewReset, role: Role, mail: &MailSettings) -> Result<ValidReset> {
    let mut errors = Errors::default();
    let mut merchant = input.merchant;
    if role == Role::SalesChannel {
        // The back office's fields: its mailer may build links from them.
        for field in merchant.given() {
            errors.push(UserError::new(
                &["input", field],
                ErrorCode::FieldNotAllowed,
                "may be set only with an integration key",
            ));
        }
        merchant = MerchantInput::default();
    }
    let email = errors.check(
        &["input", "customerEmail"],
        Email::parse(&input.customer_email),
    );
    let merchant = merchant.check(&mut errors);
    let redirect_url = input.redirect_url.as_deref().and_then(|raw| {
        mail::check_redirect(raw, &mail.allowed_origins)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let locale = input.locale.filter(|l| {
        let valid = mail::is_locale(l);
        if !valid {
            errors.push(UserError::new(
                &["input", "locale"],
                ErrorCode::InvalidLocale,
                "must be a language tag such as en or de-CH",
            ));
        }
        valid
    });
    errors.finish()?;
    let email =
        email.ok_or_else(|| Error::Internal("parsed input missing after validation".into()))?;
    Ok(ValidReset {
        email,
        merchant,
        wish: EmailWish {
            redirect_url,
            locale,
        },
        delivery: input.delivery,
    })
}

/// Counts the attempt against each of `checks` (scope, subject, limit); the
/// first exceeded limit refuses it. The first refusal of a subject in its
/// window is recorded in the audit trail; later ones write nothing, so a
/// flood of refused requests costs no writes.
async fn within_limits(
    db: &DatabaseConnection,
    caller: &Caller,
    action: AuditAction,
    checks: &[(&str, &str, Limit)],
    now: DateTime<Utc>,
) -> Result<()> {
    for (scope, subject, limit) in checks {
        let hit = rate_limits::hit(db, scope, subject, *limit, now).await?;
        if let Hit::Refused { first: true, .. } = hit {
            let entry = Entry {
                action,
                outcome: AuditOutcome::RateLimited,
                reason: Some("TOO_MANY_REQUESTS"),
                customer_id: None,
            };
            audit::record(db, caller, entry, now).await?;
        }
        hit.into_result()?;
    }
    Ok(())
}

/// Records a refused attempt, with the first refusal's code as the reason,
/// and passes `result` on.
pub(super) async fn record_refusal<T>(
    db: &DatabaseConnection,
    caller: &Caller,
    action: AuditAction,
    customer_id: Option<&str>,
    result: Result<T>,
    now: DateTime<Utc>,
) -> Result<T> {
    if let Err(Error::User(errors)) = &result {
        let reason = errors.first().map(|e| e.code.as_str());
        let entry = Entry {
            action,
            outcome: AuditOutcome::Rejected,
            reason,
            customer_id,
        };
        audit::record(db, caller, entry, now).await?;
    }
    result
}

/// The caller's address prefix (in its mode: test traffic never counts
/// against live callers) and key, as rate-limit subjects.
fn subjects(caller: &Caller, limits: &RateLimits) -> (String, String) {
    let prefix = limits.prefix(caller.client_ip);
    let prefix = format!("{}:{prefix}", caller.principal.mode);
    (prefix, caller.principal.key_id.as_str().to_owned())
}

/// What every create goes through first, the same for every email: the
/// address and key limits, validation, then the email limit. A request that
/// any of them already refused in this window is refused after one read,
/// before anything is counted or written.
///
/// # Errors
/// [`Error::TooManyRequests`] past a limit; [`Error::User`] for refused input.
pub(super) async fn admit_create(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    mail: &MailSettings,
    input: NewReset,
    now: DateTime<Utc>,
) -> Result<ValidReset> {
    let (ip, key) = subjects(caller, limits);
    let email_key = Email::parse(&input.customer_email)
        .map(|email| format!("{}:{}", caller.principal.mode, email.key()))
        .unwrap_or_default();
    // Counted per client subnet as well as overall: a stranger's requests use
    // up the overall count, never the owner's own subnet's.
    let subnet = limits.networks(caller.client_ip).subnet;
    let email_from_subnet = format!("{email_key}@{subnet}");
    let mut by_client = vec![("create:ip", ip.as_str(), limits.create_per_ip)];
    // A sales-channel key is public: a limit on it would let one client turn
    // every shopper away.
    if caller.principal.role == Role::Integration {
        by_client.push(("create:key", key.as_str(), limits.create_per_key));
    }
    let by_email = [
        (
            "create:email",
            email_from_subnet.as_str(),
            limits.create_per_email,
        ),
        (
            "create:email-total",
            email_key.as_str(),
            limits.create_per_email_total,
        ),
    ];
    let all: Vec<_> = by_client.iter().chain(&by_email).copied().collect();
    refuse_if_already_over(db, &all, now).await?;
    within_limits(db, caller, AuditAction::Create, &by_client, now).await?;
    let valid = validate(input, caller.principal.role, mail);
    let input = record_refusal(db, caller, AuditAction::Create, None, valid, now).await?;
    within_limits(db, caller, AuditAction::Create, &by_email, now).await?;
    Ok(input)
}

/// What every complete goes through first: the address and key limits.
///
/// # Errors
/// [`Error::TooManyRequests`] past a limit.
pub(super) async fn admit_complete(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    now: DateTime<Utc>,
) -> Result<()> {
    let (ip, key) = subjects(caller, limits);
    let mut checks = vec![("complete:ip", ip.as_str(), limits.complete_per_ip)];
    // As for creates: no count of its own for a public key.
    if caller.principal.role == Role::Integration {
        checks.push(("complete:key", key.as_str(), limits.complete_per_key));
    }
    refuse_if_already_over(db, &checks, now).await?;
    within_limits(db, caller, AuditAction::Complete, &checks, now).await
}

/// Refuses, after one read and without writing, a request whose subject a
/// limit already refused in this window.
async fn refuse_if_already_over(
    db: &DatabaseConnection,
    checks: &[(&str, &str, Limit)],
    now: DateTime<Utc>,
) -> Result<()> {
    match rate_limits::already_over(db, checks, now).await? {
        Some(retry_after) => Hit::Refused {
            retry_after,
            first: false,
        }
        .into_result(),
        None => Ok(()),
    }
}
