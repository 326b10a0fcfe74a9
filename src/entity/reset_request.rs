//! The `reset_requests` table.

use sea_orm::entity::prelude::*;

use crate::domain::{Delivery, Mode};

/// A storefront's reset request, answered at once and processed by the
/// background jobs, so the answer is the same work whether or not the email
/// has an account. One per email and mode: a second request folds into it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reset_requests")]
pub struct Model {
    /// Internal key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `test` or `live`.
    pub mode: Mode,
    /// The email as given (already validated).
    pub email: String,
    /// The email folded to lower case: one queued request per email and mode.
    pub email_key: String,
    /// The client's address prefix (an IPv6 /64, an IPv4 /32 by default).
    pub client_prefix: String,
    /// The request's place among its mode's queued requests from its
    /// network (`client_network`) when it was queued (1 for the first):
    /// requests are processed by place, then age, so one busy network cannot
    /// keep others waiting.
    pub position: i32,
    /// The client's wide network: an IPv4 /16, an IPv6 /32.
    pub client_network: String,
    /// The client's subnet: an IPv4 /24, an IPv6 /48.
    pub client_subnet: String,
    /// Unused since storefronts may not set it (always `None`).
    pub reference: Option<String>,
    /// Unused since storefronts may not set it (always `None`).
    pub reference_origin: Option<String>,
    /// Unused since storefronts may not set it (always `{}`).
    pub metadata: Json,
    /// The page the storefront asked the email's link to open (already
    /// checked against the allowed origins).
    pub redirect_url: Option<String>,
    /// The language the storefront asked the email in.
    pub locale: Option<String>,
    /// The audit event recording the request (internal key).
    pub audit_event_id: i64,
    /// A processor's lease.
    pub locked_until: Option<DateTimeUtc>,
    /// Which processor holds the lease.
    pub locked_by: Option<String>,
    /// When it was requested.
    pub created_at: DateTimeUtc,
    /// How the storefront asked the reset to reach the customer.
    pub delivery: Delivery,
    /// The `traceparent` of the span of the request that asked for it, when
    /// traces are exported and that trace was sampled: the job's span links to it.
    pub traceparent: Option<String>,
}

/// `reset_requests` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
