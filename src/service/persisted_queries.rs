//! Automatic Persisted Queries: clients send a SHA-256 hash instead of the
//! document; the document is registered once, in the database, so every server
//! process shares it.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

use super::Result;
use crate::{domain::digest, entity::persisted_query};

/// Whether `sha256` (lower-case hex) is the digest of `query`.
pub fn matches(sha256: &str, query: &str) -> bool {
    digest(query).eq_ignore_ascii_case(sha256)
}

/// The document registered under `sha256`, if any.
///
/// # Errors
/// [`super::Error::Database`] if the look-up fails.
pub async fn find(db: &DatabaseConnection, sha256: &str) -> Result<Option<String>> {
    Ok(
        persisted_query::Entity::find_by_id(sha256.to_ascii_lowercase())
            .one(db)
            .await?
            .map(|q| q.query),
    )
}

/// Registers `query` under its hash; registering it again does nothing.
///
/// # Errors
/// [`super::Error::Database`] if the insert fails.
pub async fn register(db: &DatabaseConnection, query: &str, now: DateTime<Utc>) -> Result<()> {
    let row = persisted_query::ActiveModel {
        sha256: sea_orm::Set(digest(query)),
        query: sea_orm::Set(query.to_owned()),
        created_at: sea_orm::Set(now),
    };
    persisted_query::Entity::insert(row)
        .on_conflict_do_nothing_on([persisted_query::Column::Sha256])
        .exec(db)
        .await?;
    Ok(())
}
