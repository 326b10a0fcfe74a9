//! The `webhooks` table.

use sea_orm::entity::prelude::*;

use crate::domain::{Mode, Topic};

/// A subscription: calls to `callback_url` for every event of `topic` in `mode`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`wh_…`).
    #[sea_orm(unique)]
    pub public_id: String,
    /// `test` or `live`.
    pub mode: Mode,
    /// Commerce Layer topic name, such as `customer_password_resets.create`.
    pub topic: Topic,
    /// Where events are POSTed.
    pub callback_url: String,
    /// Whether payloads include the customer.
    pub include_customer: bool,
    /// The HMAC key calls are signed with.
    pub shared_secret: String,
    /// Failed attempts in a row; 30 opens the circuit.
    pub consecutive_failures: i32,
    /// When the circuit opened; while open nothing is sent.
    pub circuit_opened_at: Option<DateTimeUtc>,
    /// When the webhook was created.
    pub created_at: DateTimeUtc,
    /// When the webhook last changed.
    pub updated_at: DateTimeUtc,
}

/// `webhooks` relations are followed by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
