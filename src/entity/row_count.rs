//! The `row_counts` table: the rows of each counted table and mode, kept by
//! the database's triggers on every insert and delete (see the migration
//! `m20261208_000016_row_counts`). A mode's count is the sum of its shards.

use sea_orm::entity::prelude::*;

/// One shard of one table's count of one mode's rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "row_counts")]
pub struct Model {
    /// The counted table's name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub table_name: String,
    /// The mode of the rows counted, by name (as [`crate::domain::Mode`]
    /// stores it).
    #[sea_orm(primary_key, auto_increment = false)]
    pub mode: String,
    /// Which part of the count (by row id) this row holds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub shard: i32,
    /// Rows counted in this shard.
    pub n: i64,
}

/// `row_counts` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
