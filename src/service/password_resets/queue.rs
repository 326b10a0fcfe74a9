//! Storefront requests: queued and answered at once, so that neither the
//! answer nor its timing tells a public caller whether an email has an
//! account; the background job then turns each into a reset (or nothing).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, Condition, DatabaseConnection, EntityTrait, Set, TransactionTrait,
};

use super::{
    NewReset,
    admission::{ValidReset, admit_create},
    create::create_in,
};
use crate::{
    domain::{Caller, Email, Mode},
    entity::reset_request,
    service::{
        Error, Result,
        audit::{self, Action, Entry, Outcome},
        customers, lease,
        rate_limits::RateLimits,
    },
};

/// Requests one round of the job takes.
const BATCH: u64 = 50;
/// How long a claimed request keeps other processes away.
const LEASE: Duration = Duration::seconds(60);

/// Queues a storefront's reset request. Known and unknown emails take
/// exactly the same path here — the same rate-limit bookkeeping, the same
/// statements, the same writes.
///
/// # Errors
/// [`Error::TooManyRequests`] past a rate limit; [`Error::User`] with
/// `INVALID_EMAIL`, `REFERENCE_TOO_LONG`, `METADATA_NOT_OBJECT` or
/// `METADATA_TOO_LARGE`; [`Error::Database`] otherwise.
pub(super) async fn request(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    input: NewReset,
    now: DateTime<Utc>,
) -> Result<()> {
    let mode = caller.principal.mode;
    let input = admit_create(db, caller, limits, input, now).await?;
    let txn = db.begin().await?;
    let entry = Entry {
        action: Action::Create,
        outcome: Outcome::Accepted,
        reason: None,
        customer_id: None,
    };
    let audit_entry = audit::record(&txn, caller, entry, now).await?;
    reset_request::ActiveModel {
        mode: Set(mode.as_str().to_owned()),
        email: Set(input.email.as_str().to_owned()),
        reference: Set(input.reference),
        reference_origin: Set(input.reference_origin),
        metadata: Set(input.metadata),
        audit_event_id: Set(audit_entry.id),
        locked_until: Set(None),
        locked_by: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

impl lease::Leased for reset_request::Entity {
    fn id_column() -> Self::Column {
        reset_request::Column::Id
    }
    fn locked_until_column() -> Self::Column {
        reset_request::Column::LockedUntil
    }
    fn locked_by_column() -> Self::Column {
        reset_request::Column::LockedBy
    }
}

/// Processes queued storefront requests, oldest first: for each, in one
/// transaction, creates the reset (when the email has a customer; with its
/// webhook event and a token valid for `ttl`), completes its audit entry and
/// removes the request. Requests are leased, so several processes share the
/// queue without processing one twice. Returns how many requests were
/// processed (not how many became resets: only the audit trail tells that).
///
/// # Errors
/// [`Error::Database`] if claiming or processing fails (the request stays queued).
pub async fn process_requests(
    db: &DatabaseConnection,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<usize> {
    let claimed = lease::claim::<reset_request::Entity>(
        db,
        Condition::all(),
        reset_request::Column::Id,
        BATCH,
        now,
        now + LEASE,
    )
    .await?;
    let processed = claimed.len();
    for request in claimed {
        let mode: Mode = request.mode.parse().map_err(Error::Internal)?;
        let email = Email::parse(&request.email).map_err(|e| Error::Internal(e.to_string()))?;
        let input = ValidReset {
            email,
            reference: request.reference,
            reference_origin: request.reference_origin,
            metadata: request.metadata,
        };
        let txn = db.begin().await?;
        match customers::find_by_email(&txn, mode, &input.email).await? {
            Some(customer) => {
                create_in(&txn, mode, &customer, &input, ttl, now).await?;
                let outcome = Outcome::Created;
                audit::resolve(
                    &txn,
                    request.audit_event_id,
                    outcome,
                    Some(&customer.public_id),
                )
                .await?;
            }
            None => audit::resolve(&txn, request.audit_event_id, Outcome::NoCustomer, None).await?,
        }
        reset_request::Entity::delete_by_id(request.id)
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    Ok(processed)
}
