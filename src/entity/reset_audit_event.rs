//! The `reset_audit_events` table.

use sea_orm::entity::prelude::*;

use crate::domain::{AuditAction, AuditOutcome, Mode};

/// One attempt to create or complete a reset. Never holds a token or password.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reset_audit_events")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`aud_…`).
    #[sea_orm(unique)]
    pub public_id: String,
    /// `test` or `live`.
    pub mode: Mode,
    /// `create` or `complete`.
    pub action: AuditAction,
    /// `accepted`, `created`, `no_customer`, `completed`, `rejected` or `rate_limited`.
    pub outcome: AuditOutcome,
    /// Why it was refused (a user error code), if it was.
    pub reason: Option<String>,
    /// The API key's public id.
    pub key_id: String,
    /// The client's IP address.
    pub client_ip: Option<String>,
    /// The customer's public id, when known.
    pub customer_id: Option<String>,
    /// For a storefront request: the digest of its mode and email, shared by
    /// the requests folded into one queued request, so all of them are
    /// resolved when it is processed.
    pub request_key: Option<String>,
    /// When it happened.
    pub created_at: DateTimeUtc,
}

/// `reset_audit_events` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
