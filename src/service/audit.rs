//! The audit trail: every attempt to create or complete a reset, with its
//! outcome, key, client IP and customer (when known). Never a token or password.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set,
};

use super::{
    Result,
    pagination::{self, Direction, Keyed, Page, PageArgs, SortKey, TimeRange},
};
use crate::service::statement;
use crate::{
    database::Reader,
    domain::{AUDIT_EVENT_ID_PREFIX, AuditAction, AuditOutcome, Caller, Mode, PublicId},
    entity::reset_audit_event as audit,
};

/// One entry to record.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// What was attempted.
    pub action: AuditAction,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why it was refused (a user error code).
    pub reason: Option<&'a str>,
    /// The customer's public id, when known.
    pub customer_id: Option<&'a str>,
}

/// Records `entry` for `caller` on `db` (or inside a transaction).
///
/// # Errors
/// [`super::Error::Database`] if the insert fails.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    entry: Entry<'_>,
    now: DateTime<Utc>,
) -> Result<audit::Model> {
    insert(db, caller, entry, None, now).await
}

/// Records a storefront request accepted into the queue under `request_key`
/// (shared by every request folded into one queued request), to be resolved
/// by [`resolve`] when it is processed.
///
/// # Errors
/// [`super::Error::Database`] if the insert fails.
pub async fn record_queued<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    request_key: &str,
    now: DateTime<Utc>,
) -> Result<audit::Model> {
    let entry = Entry {
        action: AuditAction::Create,
        outcome: AuditOutcome::Accepted,
        reason: None,
        customer_id: None,
    };
    insert(db, caller, entry, Some(request_key), now).await
}

async fn insert<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    entry: Entry<'_>,
    request_key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<audit::Model> {
    Ok(audit::ActiveModel {
        public_id: Set(PublicId::generate(AUDIT_EVENT_ID_PREFIX).into_string()),
        mode: Set(caller.principal.mode),
        action: Set(entry.action),
        outcome: Set(entry.outcome),
        reason: Set(entry.reason.map(str::to_owned)),
        key_id: Set(caller.principal.key_id.as_str().to_owned()),
        client_ip: Set(caller.client_ip.map(|ip| ip.to_string())),
        customer_id: Set(entry.customer_id.map(str::to_owned)),
        request_key: Set(request_key.map(str::to_owned)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Sets the outcome, reason and customer of the still-accepted entries of a
/// queued storefront request: the one with id `id` and every request folded
/// into it (`request_key`), once it is processed or dropped.
///
/// # Errors
/// [`super::Error::Database`] if the update fails.
pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    id: i64,
    request_key: &str,
    outcome: AuditOutcome,
    reason: Option<&str>,
    customer_id: Option<&str>,
) -> Result<()> {
    use sea_orm::sea_query::Expr;
    let queued = Condition::any()
        .add(audit::Column::Id.eq(id))
        .add(audit::Column::RequestKey.eq(request_key));
    audit::Entity::update_many()
        .col_expr(audit::Column::Outcome, Expr::value(outcome))
        .col_expr(
            audit::Column::Reason,
            Expr::value(reason.map(str::to_owned)),
        )
        .col_expr(
            audit::Column::CustomerId,
            Expr::value(customer_id.map(str::to_owned)),
        )
        .filter(queued)
        .filter(audit::Column::Outcome.eq(AuditOutcome::Accepted))
        .exec(db)
        .await?;
    Ok(())
}

/// Which entries to list; every criterion given must hold.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Only this action (`create` or `complete`).
    pub action: Option<AuditAction>,
    /// Only these outcomes.
    pub outcomes: Option<Vec<AuditOutcome>>,
    /// Only this customer (public id).
    pub customer_id: Option<String>,
    /// Only this API key (public id).
    pub key_id: Option<String>,
    /// Only this client IP.
    pub client_ip: Option<String>,
    /// Only within this time range.
    pub created_at: Option<TimeRange>,
}

impl Keyed for audit::Entity {
    fn public_id_column() -> Self::Column {
        audit::Column::PublicId
    }
    fn public_id(model: &Self::Model) -> &str {
        &model.public_id
    }
}

/// The audit entry of `mode` with public id `id`, if any.
///
/// # Errors
/// [`super::Error::Database`] if the read fails.
pub async fn get(db: &impl ConnectionTrait, mode: Mode, id: &str) -> Result<Option<audit::Model>> {
    if PublicId::parse(AUDIT_EVENT_ID_PREFIX, id).is_none() {
        return Ok(None);
    }
    Ok(statement::first(
        db,
        audit::Entity::find()
            .filter(audit::Column::Mode.eq(mode))
            .filter(audit::Column::PublicId.eq(id)),
    )
    .await?)
}

/// A page of the audit entries of `mode`, newest first.
///
/// # Errors
/// [`super::Error::BadRequest`] for bad paging arguments; [`super::Error::Database`] otherwise.
pub async fn list(
    db: &Reader,
    mode: Mode,
    filter: AuditFilter,
    page: PageArgs,
) -> Result<Page<audit::Entity>> {
    use audit::Column as C;
    let mut cond = Condition::all().add(C::Mode.eq(mode));
    if let Some(action) = filter.action {
        cond = cond.add(C::Action.eq(action));
    }
    if let Some(outcomes) = filter.outcomes.filter(|o| !o.is_empty()) {
        cond = cond.add(C::Outcome.is_in(outcomes));
    }
    if let Some(customer) = filter.customer_id {
        cond = cond.add(C::CustomerId.eq(customer));
    }
    if let Some(key) = filter.key_id {
        cond = cond.add(C::KeyId.eq(key));
    }
    if let Some(ip) = filter.client_ip {
        cond = cond.add(C::ClientIp.eq(ip));
    }
    if let Some(range) = filter.created_at {
        cond = cond.add(range.condition(C::CreatedAt));
    }
    let key = SortKey::<audit::Entity> {
        name: "created_at",
        column: C::CreatedAt,
        nullable: false,
        value: |m| Some(m.created_at).into(),
    };
    pagination::fetch_page(
        db,
        audit::Entity::find().filter(cond),
        &key,
        Direction::Desc,
        page,
    )
    .await
}

/// Deletes entries older than `retention` before `now`; returns how many.
///
/// # Errors
/// [`super::Error::Database`] if the delete fails.
pub async fn prune(
    db: &DatabaseConnection,
    retention: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(audit::Entity::delete_many()
        .filter(audit::Column::CreatedAt.lt(now - retention))
        .exec(db)
        .await?
        .rows_affected)
}
