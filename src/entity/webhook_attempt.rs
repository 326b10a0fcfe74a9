//! The `webhook_attempts` table.

use sea_orm::entity::prelude::*;

/// One HTTP call made for a delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The delivery (internal key).
    pub delivery_id: i64,
    /// When the call started.
    pub attempted_at: DateTimeUtc,
    /// The receiver's HTTP status; `None` when no response came.
    pub status_code: Option<i32>,
    /// How long the call took, in milliseconds.
    pub latency_ms: i32,
    /// What went wrong; `None` on success.
    pub error: Option<String>,
}

/// `webhook_attempts` relations are followed by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
