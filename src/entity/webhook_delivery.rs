//! The `webhook_deliveries` table.

use sea_orm::entity::prelude::*;

use crate::domain::DeliveryStatus;

/// One event to one webhook, retried until it succeeds or gives up.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`whd_…`).
    #[sea_orm(unique)]
    pub public_id: String,
    /// The event (internal key).
    pub event_id: i64,
    /// The webhook (internal key).
    pub webhook_id: i64,
    /// `pending`, `delivered`, `failed` (gave up) or `expired` (its token expired first).
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempt_count: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// A dispatcher's lease on the delivery.
    pub locked_until: Option<DateTimeUtc>,
    /// Which dispatcher holds the lease.
    pub locked_by: Option<String>,
    /// The reset token to send (create events only), cleared once delivered or expired.
    pub token: Option<String>,
    /// When `token` stops working.
    pub token_expires_at: Option<DateTimeUtc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTimeUtc>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was created (with its event).
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// `webhook_deliveries` relations are followed by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
