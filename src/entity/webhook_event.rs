//! The `webhook_events` table: the transactional outbox.

use sea_orm::entity::prelude::*;

use crate::domain::{Mode, Topic};

/// Something that happened, written in the same transaction as the change.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`evt_…`): the stable id receivers deduplicate on.
    #[sea_orm(unique)]
    pub public_id: String,
    /// `test` or `live`.
    pub mode: Mode,
    /// Commerce Layer topic name.
    pub topic: Topic,
    /// The JSON:API document (`data`, `included`), never holding a token.
    pub payload: Json,
    /// When it happened.
    pub created_at: DateTimeUtc,
    /// The `traceparent` of the span of the request that asked for it, when
    /// traces are exported and that trace was sampled: the job's span links to it.
    pub traceparent: Option<String>,
}

/// `webhook_events` relations are followed by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
