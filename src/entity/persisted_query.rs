//! The `persisted_queries` table.

use sea_orm::entity::prelude::*;

/// A query registered by its SHA-256 hash (Automatic Persisted Queries).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "persisted_queries")]
pub struct Model {
    /// Hex SHA-256 of `query`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub sha256: String,
    /// The GraphQL document.
    pub query: String,
    /// When it was first registered.
    pub created_at: DateTimeUtc,
    /// The document's size in bytes.
    pub bytes: i32,
    /// When it was last used (to the minute): the least recently used go first.
    pub last_used_at: Option<DateTimeUtc>,
}

/// `persisted_queries` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
