//! The `reset_requests` table.

use sea_orm::entity::prelude::*;

/// A storefront's reset request, answered at once and processed by the
/// dispatcher, so the answer is the same work whether or not the email has an account.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reset_requests")]
pub struct Model {
    /// Internal key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `test` or `live`.
    pub mode: String,
    /// The email as given (already validated).
    pub email: String,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// Where the reference comes from.
    pub reference_origin: Option<String>,
    /// A JSON object.
    pub metadata: Json,
    /// The audit event recording the request (internal key).
    pub audit_event_id: i64,
    /// A processor's lease.
    pub locked_until: Option<DateTimeUtc>,
    /// Which processor holds the lease.
    pub locked_by: Option<String>,
    /// When it was requested.
    pub created_at: DateTimeUtc,
}

/// `reset_requests` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
