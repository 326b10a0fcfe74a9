//! Customer password resets: create (a fresh single-use token), complete (the
//! token alone finds the reset), update, delete, read and list.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set, TransactionTrait, sea_query::Expr,
};

use super::{
    Error, ErrorCode, Result, UserError,
    audit::{self, Action, Caller, Entry, Outcome},
    customers,
    error::Errors,
    pagination::{self, Direction, Keyed, Page, PageArgs, SortKey},
    password::PasswordHasher,
    rate_limits::{self, Limit, RateLimits},
    webhooks,
};
use crate::{
    domain::{
        Email, Metadata, Mode, Password, PublicId, RESET_ID_PREFIX, Reference, ResetToken, Topic,
    },
    entity::{customer, customer_password_reset as reset, reset_request},
};

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

/// What a create did.
#[derive(Debug)]
pub enum Created {
    /// A reset was created; the token exists only here.
    Reset {
        /// The new reset.
        reset: Box<reset::Model>,
        /// Its token, to hand over once.
        token: ResetToken,
    },
    /// No customer of this mode has the email; nothing was written.
    NoSuchCustomer,
}

/// A reset input that passed validation.
#[derive(Debug, Clone)]
struct ValidReset {
    email: Email,
    reference: Option<String>,
    reference_origin: Option<String>,
    metadata: serde_json::Value,
}

fn validate(input: NewReset) -> Result<ValidReset> {
    let mut errors = Errors::default();
    let email = errors.check(
        &["input", "customerEmail"],
        Email::parse(&input.customer_email),
    );
    let reference = errors.check(&["input", "reference"], Reference::parse(input.reference));
    let reference_origin = errors.check(
        &["input", "referenceOrigin"],
        Reference::parse(input.reference_origin),
    );
    let metadata = errors.check(
        &["input", "metadata"],
        Metadata::parse(input.metadata.unwrap_or_else(|| serde_json::json!({}))),
    );
    errors.finish()?;
    match (email, reference, reference_origin, metadata) {
        (Some(email), Some(reference), Some(reference_origin), Some(metadata)) => Ok(ValidReset {
            email,
            reference: reference.into_inner(),
            reference_origin: reference_origin.into_inner(),
            metadata: metadata.into_json(),
        }),
        _ => Err(Error::Internal(
            "parsed input missing after validation".into(),
        )),
    }
}

/// Counts the attempt against each of `checks` (scope, subject, limit); the
/// first exceeded limit refuses it, recorded in the audit trail.
async fn within_limits(
    db: &DatabaseConnection,
    caller: &Caller,
    action: Action,
    checks: &[(&str, &str, Limit)],
    now: DateTime<Utc>,
) -> Result<()> {
    for (scope, subject, limit) in checks {
        if let Err(refused) = rate_limits::hit(db, scope, subject, *limit, now).await {
            if matches!(refused, Error::TooManyRequests { .. }) {
                let entry = Entry {
                    action,
                    outcome: Outcome::RateLimited,
                    reason: Some("TOO_MANY_REQUESTS"),
                    customer_id: None,
                };
                audit::record(db, caller, entry, now).await?;
            }
            return Err(refused);
        }
    }
    Ok(())
}

/// Records a refused attempt, with the first refusal's code as the reason.
async fn record_refusal<T>(
    db: &DatabaseConnection,
    caller: &Caller,
    action: Action,
    customer_id: Option<&str>,
    result: Result<T>,
    now: DateTime<Utc>,
) -> Result<T> {
    if let Err(Error::User(errors)) = &result {
        let reason = errors.first().map(|e| e.code.as_str());
        let entry = Entry {
            action,
            outcome: Outcome::Rejected,
            reason,
            customer_id,
        };
        audit::record(db, caller, entry, now).await?;
    }
    result
}

fn ip_subject(caller: &Caller) -> String {
    caller
        .client_ip
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

/// Creates the reset for `input`'s customer on `txn`, invalidating the
/// customer's older pending resets and recording the webhook event.
async fn create_in<C: sea_orm::ConnectionTrait>(
    txn: &C,
    mode: Mode,
    customer: &customer::Model,
    input: &ValidReset,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Created> {
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
    let hooks = webhooks::subscribers(txn, mode, Topic::ResetCreated).await?;
    let token_for_mailer = webhooks::EventToken {
        token: &token,
        expires_at: model.expires_at,
    };
    webhooks::record_event(
        txn,
        &hooks,
        Topic::ResetCreated,
        document(&model, customer, now),
        Some(token_for_mailer),
        now,
    )
    .await?;
    Ok(Created::Reset {
        reset: Box::new(model),
        token,
    })
}

/// What every create goes through first, the same for every email: the
/// address and key limits, validation, then the email limit. Refusals are audited.
async fn admit_create(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    input: NewReset,
    now: DateTime<Utc>,
) -> Result<ValidReset> {
    let ip = ip_subject(caller);
    let key = caller.principal.key_id.as_str().to_owned();
    let by_client = [
        ("create:ip", ip.as_str(), limits.create_per_ip),
        ("create:key", key.as_str(), limits.create_per_key),
    ];
    within_limits(db, caller, Action::Create, &by_client, now).await?;
    let input = record_refusal(db, caller, Action::Create, None, validate(input), now).await?;
    let email_key = format!("{}:{}", caller.principal.mode, input.email.key());
    within_limits(
        db,
        caller,
        Action::Create,
        &[("create:email", &email_key, limits.create_per_email)],
        now,
    )
    .await?;
    Ok(input)
}

/// Starts a reset at once (integration keys): for the customer with
/// `customer_email` in the caller's mode, a fresh token valid for `ttl`, stored
/// only as a digest. In the same transaction every older pending reset of the
/// customer is invalidated, the webhook event and the audit entry are written.
///
/// # Errors
/// [`Error::TooManyRequests`] past a rate limit; [`Error::User`] with
/// `INVALID_EMAIL`, `REFERENCE_TOO_LONG`, `METADATA_NOT_OBJECT` or
/// `METADATA_TOO_LARGE` (nothing is written but the audit entry);
/// [`Error::Database`] otherwise. An unknown email is not an error here
/// ([`Created::NoSuchCustomer`]): callers decide what to reveal.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    limits: &RateLimits,
    input: NewReset,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Created> {
    let mode = caller.principal.mode;
    let input = admit_create(db, caller, limits, input, now).await?;
    let txn = db.begin().await?;
    let Some(customer) = customers::find_by_email(&txn, mode, &input.email).await? else {
        let entry = Entry {
            action: Action::Create,
            outcome: Outcome::NoCustomer,
            reason: None,
            customer_id: None,
        };
        audit::record(&txn, caller, entry, now).await?;
        txn.commit().await?;
        return Ok(Created::NoSuchCustomer);
    };
    let created = create_in(&txn, mode, &customer, &input, ttl, now).await?;
    let entry = Entry {
        action: Action::Create,
        outcome: Outcome::Created,
        reason: None,
        customer_id: Some(&customer.public_id),
    };
    audit::record(&txn, caller, entry, now).await?;
    txn.commit().await?;
    Ok(created)
}

/// Queues a storefront's reset request (sales-channel keys) and answers at
/// once. Known and unknown emails take exactly the same path here — the same
/// rate-limit bookkeeping, the same statements, the same writes — so neither
/// the answer nor its timing reveals whether the email has an account. The
/// dispatcher then creates the reset, if there is a customer, and its webhook
/// delivers the token ([`process_requests`]).
///
/// # Errors
/// [`Error::TooManyRequests`] past a rate limit; [`Error::User`] with
/// `INVALID_EMAIL`, `REFERENCE_TOO_LONG`, `METADATA_NOT_OBJECT` or
/// `METADATA_TOO_LARGE`; [`Error::Database`] otherwise.
pub async fn request(
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

/// Processes queued storefront requests: for each, in one transaction, creates
/// the reset (when the email has a customer; with its webhook event), completes
/// its audit entry and removes the request. Requests are leased, so several
/// processes share the queue without processing one twice. Returns how many
/// resets were created.
///
/// # Errors
/// [`Error::Database`] if claiming or processing fails (the request stays queued).
pub async fn process_requests(
    db: &DatabaseConnection,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<usize> {
    use sea_orm::sea_query::{LockBehavior, LockType};
    let lease = PublicId::generate("lease").into_string();
    let free = Condition::any()
        .add(reset_request::Column::LockedUntil.is_null())
        .add(reset_request::Column::LockedUntil.lte(now));
    let mut due = reset_request::Entity::find()
        .select_only()
        .column(reset_request::Column::Id)
        .filter(free.clone())
        .order_by_asc(reset_request::Column::Id)
        .limit(50)
        .into_query();
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    reset_request::Entity::update_many()
        .col_expr(
            reset_request::Column::LockedUntil,
            Expr::value(now + Duration::seconds(60)),
        )
        .col_expr(reset_request::Column::LockedBy, Expr::value(lease.clone()))
        .filter(reset_request::Column::Id.in_subquery(due))
        .filter(free)
        .exec(db)
        .await?;
    let claimed = reset_request::Entity::find()
        .filter(reset_request::Column::LockedBy.eq(lease))
        .order_by_asc(reset_request::Column::Id)
        .all(db)
        .await?;
    let mut created = 0;
    for request in claimed {
        let mode: Mode = request.mode.parse().map_err(Error::Internal)?;
        let email = Email::parse(&request.email).map_err(|e| Error::Internal(e.to_string()))?;
        let input = ValidReset {
            email,
            reference: request.reference.clone(),
            reference_origin: request.reference_origin.clone(),
            metadata: request.metadata.clone(),
        };
        let txn = db.begin().await?;
        match customers::find_by_email(&txn, mode, &input.email).await? {
            Some(customer) => {
                create_in(&txn, mode, &customer, &input, ttl, now).await?;
                created += 1;
                audit::resolve(
                    &txn,
                    request.audit_event_id,
                    Outcome::Created,
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
    Ok(created)
}

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
    db: &impl sea_orm::ConnectionTrait,
    mode: Mode,
    token: &ResetToken,
) -> Result<Option<reset::Model>> {
    Ok(reset::Entity::find()
        .filter(reset::Column::Mode.eq(mode.as_str()))
        .filter(reset::Column::TokenDigest.eq(token.digest()))
        .one(db)
        .await?)
}

/// Completes the reset whose token is `token` by setting the customer's
/// password to `password`.
///
/// The new password is hashed first (Argon2id, on a hashing thread); then one
/// transaction claims the reset only if it is still pending (so of two
/// concurrent completes exactly one wins), stores the digest on the customer,
/// and invalidates every other pending reset of the customer. A refused
/// password changes nothing: the token stays usable.
///
/// # Errors
/// [`Error::User`] with `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_ALREADY_USED`,
/// `TOKEN_INVALIDATED`, `PASSWORD_TOO_SHORT` or `PASSWORD_TOO_LONG`;
/// [`Error::Database`] or [`Error::Internal`] otherwise.
pub async fn complete(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    caller: &Caller,
    limits: &RateLimits,
    token: ResetToken,
    password: String,
    now: DateTime<Utc>,
) -> Result<reset::Model> {
    let ip = ip_subject(caller);
    let key = caller.principal.key_id.as_str().to_owned();
    within_limits(
        db,
        caller,
        Action::Complete,
        &[
            ("complete:ip", &ip, limits.complete_per_ip),
            ("complete:key", &key, limits.complete_per_key),
        ],
        now,
    )
    .await?;
    // The reset and its customer in one statement.
    let found = reset::Entity::find()
        .filter(reset::Column::Mode.eq(caller.principal.mode.as_str()))
        .filter(reset::Column::TokenDigest.eq(token.digest()))
        .find_also_related(customer::Entity)
        .one(db)
        .await?;
    let customer_id = found
        .as_ref()
        .and_then(|(_, c)| c.as_ref())
        .map(|c| c.public_id.clone());
    let result = complete_found(db, hasher, caller, token, found, password, now).await;
    record_refusal(
        db,
        caller,
        Action::Complete,
        customer_id.as_deref(),
        result,
        now,
    )
    .await
}

async fn complete_found(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    caller: &Caller,
    token: ResetToken,
    found: Option<(reset::Model, Option<customer::Model>)>,
    password: String,
    now: DateTime<Utc>,
) -> Result<reset::Model> {
    let mode = caller.principal.mode;
    let (found, customer) = found.map_or((None, None), |(r, c)| (Some(r), c));
    let mut errors = Errors::default();
    match &found {
        None => errors.push(UserError::new(
            &["input", "resetPasswordToken"],
            ErrorCode::TokenInvalid,
            "is not valid",
        )),
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
    let digest = hasher.hash(password).await?;

    let txn = db.begin().await?;
    let claimed = reset::Entity::update_many()
        .col_expr(reset::Column::ResetPasswordAt, Expr::value(now))
        .col_expr(reset::Column::UpdatedAt, Expr::value(now))
        .filter(reset::Column::Id.eq(found.id))
        .filter(status_condition(ResetStatus::Pending, now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        // Someone else completed or superseded it while we hashed.
        let current = find_by_token(db, mode, &token).await?;
        let err = match current {
            Some(r) => token_error(status(&r, now)),
            None => token_error(ResetStatus::Pending),
        };
        return Err(err.into());
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
    reset::Entity::update_many()
        .col_expr(reset::Column::InvalidatedAt, Expr::value(now))
        .col_expr(reset::Column::UpdatedAt, Expr::value(now))
        .filter(reset::Column::CustomerId.eq(found.customer_id))
        .filter(reset::Column::Id.ne(found.id))
        .filter(status_condition(ResetStatus::Pending, now))
        .exec(&txn)
        .await?;
    let completed = reset::Model {
        reset_password_at: Some(now),
        updated_at: now,
        ..found
    };
    let (completed_hooks, password_hooks): (Vec<_>, Vec<_>) = webhooks::subscribers_of(
        &txn,
        mode,
        &[Topic::ResetCompleted, Topic::CustomerPasswordReset],
    )
    .await?
    .into_iter()
    .partition(|hook| hook.topic == Topic::ResetCompleted.as_str());
    if !completed_hooks.is_empty() || !password_hooks.is_empty() {
        // The customer as this transaction leaves it.
        let customer = customer::Model {
            password_digest: Some(digest),
            password_changed_at: Some(now),
            updated_at: now,
            ..customer.clone()
        };
        let reset_doc = document(&completed, &customer, now);
        webhooks::record_event(
            &txn,
            &completed_hooks,
            Topic::ResetCompleted,
            reset_doc,
            None,
            now,
        )
        .await?;
        // So the merchant can tell the customer and end their sessions.
        let customer_doc = serde_json::json!({ "data": webhooks::customer_resource(&customer) });
        webhooks::record_event(
            &txn,
            &password_hooks,
            Topic::CustomerPasswordReset,
            customer_doc,
            None,
            now,
        )
        .await?;
    }
    let entry = Entry {
        action: Action::Complete,
        outcome: Outcome::Completed,
        reason: None,
        customer_id: Some(&customer.public_id),
    };
    audit::record(&txn, caller, entry, now).await?;
    txn.commit().await?;
    Ok(completed)
}

/// The reset of `mode` with public id `id`; `None` for an unknown or malformed
/// id, or one of another mode.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn get(
    db: &impl sea_orm::ConnectionTrait,
    mode: Mode,
    id: &str,
) -> Result<Option<reset::Model>> {
    if PublicId::parse(RESET_ID_PREFIX, id).is_none() {
        return Ok(None);
    }
    Ok(reset::Entity::find()
        .filter(reset::Column::Mode.eq(mode.as_str()))
        .filter(reset::Column::PublicId.eq(id))
        .one(db)
        .await?)
}

fn not_found() -> Error {
    UserError::new(
        &["input", "id"],
        ErrorCode::NotFound,
        "no customer password reset has this id",
    )
    .into()
}

/// A change to a reset's merchant fields.
#[derive(Debug, Default)]
pub struct ResetChanges {
    /// `None`: keep; `Some(None)`: clear; `Some(Some(r))`: set.
    pub reference: Option<Option<String>>,
    /// `None`: keep; `Some(None)`: clear; `Some(Some(r))`: set.
    pub reference_origin: Option<Option<String>>,
    /// `None`: keep; `Some(v)`: replace with the object `v`.
    pub metadata: Option<serde_json::Value>,
}

/// Changes the reference or metadata of the reset with public id `id`.
///
/// # Errors
/// [`Error::User`] with `NOT_FOUND`, `REFERENCE_TOO_LONG`,
/// `METADATA_NOT_OBJECT` or `METADATA_TOO_LARGE` (nothing changes);
/// [`Error::Database`] otherwise.
pub async fn update(
    db: &DatabaseConnection,
    mode: Mode,
    id: &str,
    changes: ResetChanges,
    now: DateTime<Utc>,
) -> Result<reset::Model> {
    let mut errors = Errors::default();
    let reference = changes
        .reference
        .and_then(|r| errors.check(&["input", "reference"], Reference::parse(r)));
    let reference_origin = changes
        .reference_origin
        .and_then(|r| errors.check(&["input", "referenceOrigin"], Reference::parse(r)));
    let metadata = changes
        .metadata
        .and_then(|m| errors.check(&["input", "metadata"], Metadata::parse(m)));
    errors.finish()?;
    let model = get(db, mode, id).await?.ok_or_else(not_found)?;
    let mut active: reset::ActiveModel = model.into();
    if let Some(reference) = reference {
        active.reference = Set(reference.into_inner());
    }
    if let Some(origin) = reference_origin {
        active.reference_origin = Set(origin.into_inner());
    }
    if let Some(metadata) = metadata {
        active.metadata = Set(metadata.into_json());
    }
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// Deletes the reset with public id `id`; its token stops working.
///
/// # Errors
/// [`Error::User`] with `NOT_FOUND`; [`Error::Database`] otherwise.
pub async fn delete(
    db: &DatabaseConnection,
    mode: Mode,
    id: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let txn = db.begin().await?;
    let model = get(&txn, mode, id).await?.ok_or_else(not_found)?;
    let deleted = reset::Entity::delete_by_id(model.id).exec(&txn).await?;
    if deleted.rows_affected == 0 {
        return Err(not_found());
    }
    let hooks = webhooks::subscribers(&txn, mode, Topic::ResetDestroyed).await?;
    if !hooks.is_empty()
        && let Some(customer) = customer::Entity::find_by_id(model.customer_id)
            .one(&txn)
            .await?
    {
        webhooks::record_event(
            &txn,
            &hooks,
            Topic::ResetDestroyed,
            document(&model, &customer, now),
            None,
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(model.public_id)
}

/// The webhook document of a reset: the reset, with its customer included.
fn document(
    model: &reset::Model,
    customer: &customer::Model,
    now: DateTime<Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "data": webhooks::reset_resource(model, &customer.public_id, now),
        "included": [webhooks::customer_resource(customer)],
    })
}

/// A time range: `from` inclusive, `until` exclusive; either may be open.
#[derive(Debug, Default, Clone, Copy)]
pub struct TimeRange {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
}

/// Which resets a list shows. All given criteria must hold.
#[derive(Debug, Default, Clone)]
pub struct ResetFilter {
    /// Only these public ids.
    pub ids: Option<Vec<String>>,
    /// Only this customer's (public id).
    pub customer_id: Option<String>,
    /// Only this customer's (internal key, for `Customer.passwordResets`).
    pub customer_key: Option<i64>,
    /// Only those requested for this email (any letter case).
    pub customer_email: Option<String>,
    /// Only those in one of these statuses.
    pub status: Option<Vec<ResetStatus>>,
    /// Only this reference.
    pub reference: Option<String>,
    /// Created within.
    pub created_at: Option<TimeRange>,
    /// Last changed within.
    pub updated_at: Option<TimeRange>,
    /// Completed within.
    pub reset_password_at: Option<TimeRange>,
}

/// What a reset list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetSort {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Completion time; pending resets have none.
    ResetPasswordAt,
    /// The merchant's reference; resets without one have none.
    Reference,
}

impl Keyed for reset::Entity {
    fn public_id_column() -> Self::Column {
        reset::Column::PublicId
    }
    fn public_id(model: &Self::Model) -> &str {
        &model.public_id
    }
}

fn sort_key(sort: ResetSort) -> SortKey<reset::Entity> {
    match sort {
        ResetSort::CreatedAt => SortKey {
            name: "created_at",
            column: reset::Column::CreatedAt,
            nullable: false,
            value: |m| Some(m.created_at).into(),
        },
        ResetSort::UpdatedAt => SortKey {
            name: "updated_at",
            column: reset::Column::UpdatedAt,
            nullable: false,
            value: |m| Some(m.updated_at).into(),
        },
        ResetSort::ResetPasswordAt => SortKey {
            name: "reset_password_at",
            column: reset::Column::ResetPasswordAt,
            nullable: true,
            value: |m| m.reset_password_at.into(),
        },
        ResetSort::Reference => SortKey {
            name: "reference",
            column: reset::Column::Reference,
            nullable: true,
            value: |m| m.reference.clone().into(),
        },
    }
}

fn range_condition(column: reset::Column, range: TimeRange) -> Condition {
    let mut cond = Condition::all();
    if let Some(from) = range.from {
        cond = cond.add(column.gte(from));
    }
    if let Some(until) = range.until {
        cond = cond.add(column.lt(until));
    }
    cond
}

/// A page of the resets of `mode` matching `filter`, with statuses judged at `now`.
///
/// # Errors
/// [`Error::BadRequest`] for bad paging arguments; [`Error::Database`] otherwise.
pub async fn list(
    db: &DatabaseConnection,
    mode: Mode,
    filter: ResetFilter,
    sort: ResetSort,
    direction: Direction,
    page: PageArgs,
    now: DateTime<Utc>,
) -> Result<Page<reset::Entity>> {
    use reset::Column as C;
    let mut cond = Condition::all().add(C::Mode.eq(mode.as_str()));
    if let Some(ids) = filter.ids {
        cond = cond.add(C::PublicId.is_in(ids));
    }
    if let Some(customer_id) = filter.customer_id {
        let customer = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::Mode.eq(mode.as_str()))
            .filter(customer::Column::PublicId.eq(customer_id))
            .into_query();
        cond = cond.add(C::CustomerId.in_subquery(customer));
    }
    if let Some(key) = filter.customer_key {
        cond = cond.add(C::CustomerId.eq(key));
    }
    if let Some(email) = filter.customer_email {
        let customers = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::Mode.eq(mode.as_str()))
            .filter(customer::Column::EmailKey.eq(email.trim().to_lowercase()))
            .into_query();
        cond = cond.add(C::CustomerId.in_subquery(customers));
    }
    // An empty status list is no criterion, like an absent one.
    if let Some(statuses) = filter.status.filter(|s| !s.is_empty()) {
        cond = cond.add(
            statuses
                .into_iter()
                .fold(Condition::any(), |any, s| any.add(status_condition(s, now))),
        );
    }
    if let Some(reference) = filter.reference {
        cond = cond.add(C::Reference.eq(reference));
    }
    for (column, range) in [
        (C::CreatedAt, filter.created_at),
        (C::UpdatedAt, filter.updated_at),
        (C::ResetPasswordAt, filter.reset_password_at),
    ] {
        if let Some(range) = range {
            cond = cond.add(range_condition(column, range));
        }
    }
    let select = reset::Entity::find().filter(cond);
    pagination::fetch_page(db, select, &sort_key(sort), direction, page).await
}
