//! Customers: created by integrations; their passwords change through resets.
//! Commerce Layer-style searches (numbered pages, its filters) are in `search`.

mod search;

pub use search::{SEARCHABLE, search};

use std::collections::HashMap;

use serde_json::{Value, json};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QuerySelect, QueryTrait, Select, Set, SqlErr, TransactionTrait,
};

use super::{
    Error, ErrorCode, Result, UserError,
    error::Errors,
    pagination::{self, Direction, Keyed, Page, PageArgs, Row, SortKey},
    password::PasswordHasher,
    webhooks,
};
use crate::service::statement;
use crate::{
    database::Reader,
    domain::{
        CUSTOMER_ID_PREFIX, Email, Metadata, Mode, Password, PublicId, RawPassword, Reference,
        Topic,
    },
    entity::{Projection, customer},
};

/// A new customer, as a client sent it.
#[derive(Debug, Default)]
pub struct NewCustomer {
    /// Required; unique per mode regardless of letter case.
    pub email: String,
    /// Optional: a customer without one is a guest.
    pub password: Option<RawPassword>,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// A JSON object; `{}` when absent.
    pub metadata: Option<serde_json::Value>,
}

/// Breached-password screening of a new customer's password, when on.
#[derive(Clone, Copy)]
pub struct Screening<'a> {
    /// The screening; `None` when `BREACHED_PASSWORDS` is off.
    pub breached: Option<&'a crate::service::breached::BreachedPasswords>,
    /// Where look-ups are counted.
    pub metrics: &'a crate::metrics::Metrics,
}

/// Creates a customer in `mode`.
///
/// # Errors
/// [`Error::User`] with `INVALID_EMAIL`, `EMAIL_TAKEN`, `PASSWORD_TOO_SHORT`,
/// `PASSWORD_TOO_LONG`, `PASSWORD_BREACHED` (with `screening`),
/// `REFERENCE_TOO_LONG`, `METADATA_NOT_OBJECT` or `METADATA_TOO_LARGE`
/// (nothing is written); [`Error::Database`] otherwise.
pub async fn create(
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    screening: Screening<'_>,
    mode: Mode,
    input: NewCustomer,
    now: DateTime<Utc>,
) -> Result<customer::Model> {
    let mut errors = Errors::default();
    let email = errors.check(&["input", "email"], Email::parse(&input.email));
    let password = input.password.and_then(|p| {
        errors.check(
            &["input", "password"],
            Password::parse(p, hasher.policy(), email.as_ref()),
        )
    });
    let reference = errors.check(&["input", "reference"], Reference::parse(input.reference));
    let metadata = errors.check(
        &["input", "metadata"],
        Metadata::parse(input.metadata.unwrap_or_else(|| serde_json::json!({}))),
    );
    errors.finish()?;
    let (Some(email), Some(reference), Some(metadata)) = (email, reference, metadata) else {
        return Err(Error::Internal(
            "parsed input missing after validation".into(),
        ));
    };
    let taken = || {
        UserError::new(
            &["input", "email"],
            ErrorCode::EmailTaken,
            "is already taken by another customer",
        )
    };
    if find_by_email(db, mode, &email).await?.is_some() {
        return Err(taken().into());
    }
    if let (Some(breached), Some(p)) = (screening.breached, &password) {
        breached
            .check(p, &["input", "password"], screening.metrics)
            .await?;
    }
    let password_digest = match password {
        Some(p) => Some(hasher.hash(p).await?),
        None => None,
    };
    let txn = db.begin().await?;
    let inserted = customer::ActiveModel {
        public_id: Set(PublicId::generate(CUSTOMER_ID_PREFIX).into_string()),
        mode: Set(mode),
        email_key: Set(email.key()),
        email: Set(email.as_str().to_owned()),
        password_changed_at: Set(password_digest.as_ref().map(|_| now)),
        password_digest: Set(password_digest),
        reference: Set(reference.into_inner()),
        metadata: Set(metadata.into_json()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match inserted {
        Ok(model) => {
            let hooks = webhooks::subscribers(&txn, mode, &[Topic::CustomerCreated]).await?;
            let document = document(&model);
            webhooks::record_event(&txn, &hooks, Topic::CustomerCreated, document, None, now)
                .await?;
            txn.commit().await?;
            Ok(model)
        }
        // Two creates raced past the check above: the index decides.
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(taken().into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Locks the customer `id` until the end of `txn`, so writes that change a
/// customer's resets or password take turns, and returns the customer as it
/// is now (`None` if deleted): `SELECT … FOR UPDATE` on PostgreSQL; on SQLite
/// one connection writes at a time already.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn lock<C: sea_orm::ConnectionTrait>(
    txn: &C,
    id: i64,
) -> Result<Option<customer::Model>> {
    use sea_orm::QuerySelect;
    let mut query = customer::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    Ok(statement::first(txn, query).await?)
}

/// The customer of `mode` with this email (any letter case), if any.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn find_by_email(
    db: &impl sea_orm::ConnectionTrait,
    mode: Mode,
    email: &Email,
) -> Result<Option<customer::Model>> {
    Ok(statement::first(
        db,
        customer::Entity::find()
            .filter(customer::Column::Mode.eq(mode))
            .filter(customer::Column::EmailKey.eq(email.key())),
    )
    .await?)
}

/// The customer of `mode` with public id `id`, as reads show it (without its
/// password digest); `None` for an unknown or malformed id, or one of another
/// mode.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn get(
    db: &impl ConnectionTrait,
    mode: Mode,
    id: &str,
) -> Result<Option<customer::Shown>> {
    if PublicId::parse(CUSTOMER_ID_PREFIX, id).is_none() {
        return Ok(None);
    }
    let select = customer::Entity::find()
        .filter(customer::Column::Mode.eq(mode))
        // The public id is unique: no `LIMIT`, which SQLite would have to
        // prepare the statement again for each time.
        .filter(customer::Column::PublicId.eq(id));
    let statement = shown(select).build(db.get_database_backend());
    Ok(db
        .query_one_raw(statement)
        .await?
        .map(|row| customer::Shown::at_position(&row, 0))
        .transpose()?)
}

/// `select` reading what a customer shows ([`customer::Shown`]): never the
/// password digest.
fn shown(select: Select<customer::Entity>) -> Select<customer::Entity> {
    customer::Shown::select(select.select_only())
}

/// Customers by internal key, as reads show them (without their password
/// digests), for the DataLoader: one query for many keys.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn load_many(
    db: &impl ConnectionTrait,
    keys: &[i64],
) -> Result<HashMap<i64, customer::Shown>> {
    let select = customer::Entity::find().filter(customer::Column::Id.is_in(keys.iter().copied()));
    let rows = db
        .query_all_raw(shown(select).build(db.get_database_backend()))
        .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let c = customer::Shown::at_position(&row, 0)?;
        found.insert(c.id, c);
    }
    Ok(found)
}

/// The password digests of customers by internal key (`None` for a guest),
/// for the one field that needs them: one query for many keys.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn password_digests(
    db: &impl ConnectionTrait,
    keys: &[i64],
) -> Result<HashMap<i64, Option<String>>> {
    Ok(customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::PasswordDigest)
        .filter(customer::Column::Id.is_in(keys.iter().copied()))
        .into_tuple::<(i64, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Which customers a list shows.
#[derive(Debug, Default, Clone)]
pub struct CustomerFilter {
    /// Only these public ids.
    pub ids: Option<Vec<String>>,
    /// Only this email (any letter case).
    pub email: Option<String>,
    /// Only this reference.
    pub reference: Option<String>,
}

/// What a customer list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSort {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Email, in lower case.
    Email,
}

impl Keyed for customer::Entity {
    fn public_id_column() -> Self::Column {
        customer::Column::PublicId
    }
    fn public_id(model: &Self::Model) -> &str {
        &model.public_id
    }
}

fn sort_key(sort: CustomerSort) -> SortKey<customer::Entity, customer::Shown> {
    match sort {
        CustomerSort::CreatedAt => SortKey {
            name: "created_at",
            column: customer::Column::CreatedAt,
            nullable: false,
            value: |m| Some(m.created_at).into(),
        },
        CustomerSort::UpdatedAt => SortKey {
            name: "updated_at",
            column: customer::Column::UpdatedAt,
            nullable: false,
            value: |m| Some(m.updated_at).into(),
        },
        CustomerSort::Email => SortKey {
            name: "email",
            column: customer::Column::EmailKey,
            nullable: false,
            value: |m| Some(m.email_key.clone()).into(),
        },
    }
}

impl Row for customer::Shown {
    fn public_id(&self) -> &str {
        &self.public_id
    }
}

/// A page of the customers of `mode` matching `filter`, as reads show them
/// (without their password digests).
///
/// # Errors
/// [`Error::BadRequest`] for bad paging arguments; [`Error::Database`] otherwise.
pub async fn list(
    db: &Reader,
    mode: Mode,
    filter: CustomerFilter,
    sort: CustomerSort,
    direction: Direction,
    page: PageArgs,
) -> Result<Page<customer::Entity, customer::Shown>> {
    let CustomerFilter {
        ids,
        email,
        reference,
    } = filter;
    let unfiltered = ids.is_none() && email.is_none() && reference.is_none();
    let mut cond = Condition::all().add(customer::Column::Mode.eq(mode));
    if let Some(ids) = ids {
        cond = cond.add(customer::Column::PublicId.is_in(ids));
    }
    if let Some(email) = email {
        cond = cond.add(customer::Column::EmailKey.eq(email.trim().to_lowercase()));
    }
    if let Some(reference) = reference {
        cond = cond.add(customer::Column::Reference.eq(reference));
    }
    let select = customer::Entity::find().filter(cond);
    let decode = |row: &sea_orm::QueryResult| customer::Shown::at_position(row, 0);
    let key = sort_key(sort);
    let mut page =
        pagination::fetch_page_as(db, select, &key, direction, page, shown, decode).await?;
    if unfiltered {
        page.counter = page.counter.unfiltered(mode);
    }
    Ok(page)
}

/// A customer as a JSON:API resource object, as webhook events carry it
/// (never the password digest).
pub fn resource(model: &customer::Model) -> Value {
    json!({
        "id": model.public_id,
        "type": "customers",
        "attributes": {
            "email": model.email,
            "has_password": model.password_digest.is_some(),
            "password_changed_at": model.password_changed_at,
            "reference": model.reference,
            "metadata": model.metadata,
            "created_at": model.created_at,
            "updated_at": model.updated_at,
        },
        "meta": { "mode": model.mode.as_str() },
    })
}

/// A customer's webhook document: the customer as its only resource.
pub fn document(model: &customer::Model) -> Value {
    json!({ "data": resource(model) })
}
