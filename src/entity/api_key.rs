//! The `api_keys` table.

use sea_orm::entity::prelude::*;

use crate::domain::{Mode, Role};

/// One API key; the key itself is stored only as `key_digest`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`key_…`).
    #[sea_orm(unique)]
    pub public_id: String,
    /// A human label.
    pub name: String,
    /// `integration` or `sales_channel`.
    pub role: Role,
    /// `test` or `live`.
    pub mode: Mode,
    /// Hex SHA-256 of the key.
    #[sea_orm(unique)]
    pub key_digest: String,
    /// When the key was created.
    pub created_at: DateTimeUtc,
    /// When the key last authenticated a request (updated at most once a minute).
    pub last_used_at: Option<DateTimeUtc>,
    /// When the key was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTimeUtc>,
}

/// `api_keys` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
