//! The `rate_limit_counters` table.

use sea_orm::entity::prelude::*;

/// Hits in the current fixed window of one limit and subject.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_limit_counters")]
pub struct Model {
    /// Hex SHA-256 of the limit's scope and subject.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Start of the window the hits belong to.
    pub window_start: DateTimeUtc,
    /// Hits in that window.
    pub hits: i32,
}

/// `rate_limit_counters` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
