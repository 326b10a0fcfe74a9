//! Automatic Persisted Queries: clients send a SHA-256 hash instead of the
//! document; the document is registered once, in the database, so every server
//! process shares it. Only documents that parsed and validated, sent by an
//! authenticated caller, are registered (the HTTP layer decides that), and the
//! store is bounded in count and bytes: the least recently used go first.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::Result;
use crate::service::statement;
use crate::{domain::digest, entity::persisted_query};

/// How stale `last_used_at` may get before a hit refreshes it: one write a
/// minute per document instead of one per request.
const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

/// How large the store may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct StoreBounds {
    /// How many persisted queries are kept; the least recently used go first.
    #[arg(long = "persisted-queries-max", env = "PERSISTED_QUERIES_MAX", default_value = "1000",
          value_parser = clap::value_parser!(u64).range(0..=1_000_000), global = true)]
    pub max_count: u64,
    /// How many bytes of persisted queries are kept; the least recently used go first.
    #[arg(long = "persisted-queries-max-bytes", env = "PERSISTED_QUERIES_MAX_BYTES", default_value = "4194304",
          value_parser = clap::value_parser!(u64).range(0..=1_073_741_824), global = true)]
    pub max_bytes: u64,
}

impl Default for StoreBounds {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

/// Whether `sha256` (lower-case hex) is the digest of `query`.
pub fn matches(sha256: &str, query: &str) -> bool {
    digest(query).eq_ignore_ascii_case(sha256)
}

/// The document registered under `sha256`, if any; a hit marks it used (at
/// most once a minute).
///
/// # Errors
/// [`super::Error::Database`] if the look-up fails.
pub async fn find(
    db: &DatabaseConnection,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let key = sha256.to_ascii_lowercase();
    let Some(found) =
        statement::first(db, persisted_query::Entity::find_by_id(key.clone())).await?
    else {
        return Ok(None);
    };
    if found
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_GRANULARITY)
    {
        persisted_query::Entity::update_many()
            .col_expr(persisted_query::Column::LastUsedAt, Expr::value(now))
            .filter(persisted_query::Column::Sha256.eq(key))
            .exec(db)
            .await?;
    }
    Ok(Some(found.query))
}

/// Registers `query` under its hash (registering it again does nothing), then
/// evicts the least recently used documents until the store is within `bounds`.
///
/// # Errors
/// [`super::Error::Database`] if a statement fails.
pub async fn register(
    db: &DatabaseConnection,
    query: &str,
    bounds: StoreBounds,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = persisted_query::ActiveModel {
        sha256: sea_orm::Set(digest(query)),
        query: sea_orm::Set(query.to_owned()),
        created_at: sea_orm::Set(now),
        bytes: sea_orm::Set(i32::try_from(query.len()).unwrap_or(i32::MAX)),
        last_used_at: sea_orm::Set(Some(now)),
    };
    persisted_query::Entity::insert(row)
        .on_conflict_do_nothing_on([persisted_query::Column::Sha256])
        .exec(db)
        .await?;
    evict(db, bounds).await
}

/// Deletes the least recently used documents until at most `bounds` remain.
async fn evict(db: &DatabaseConnection, bounds: StoreBounds) -> Result<()> {
    // Newest first: keep documents while they fit, delete the rest.
    let sizes: Vec<(String, i32)> = persisted_query::Entity::find()
        .select_only()
        .column(persisted_query::Column::Sha256)
        .column(persisted_query::Column::Bytes)
        .order_by_desc(persisted_query::Column::LastUsedAt)
        .order_by_desc(persisted_query::Column::CreatedAt)
        .into_tuple()
        .all(db)
        .await?;
    let (mut count, mut bytes) = (0u64, 0u64);
    let evicted: Vec<String> = sizes
        .into_iter()
        .filter(|(_, size)| {
            count += 1;
            bytes += u64::try_from(*size).unwrap_or(0);
            count > bounds.max_count || bytes > bounds.max_bytes
        })
        .map(|(sha256, _)| sha256)
        .collect();
    if !evicted.is_empty() {
        persisted_query::Entity::delete_many()
            .filter(persisted_query::Column::Sha256.is_in(evicted))
            .exec(db)
            .await?;
    }
    Ok(())
}
