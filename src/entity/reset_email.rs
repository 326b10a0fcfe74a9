//! The `reset_emails` table.

use sea_orm::entity::prelude::*;

use crate::domain::{DeliveryStatus, EmailKind, Mode};

/// A reset's email to its customer, sent by the background jobs, retried
/// until sent, given up, or its token expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reset_emails")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`eml_…`); also the message's `Message-ID`.
    #[sea_orm(unique)]
    pub public_id: String,
    /// `test` or `live`: which mode's mail settings send it.
    pub mode: Mode,
    /// The reset (internal key).
    pub reset_id: i64,
    /// The customer's email address.
    pub recipient: String,
    /// The language asked for (`en` when none was).
    pub locale: String,
    /// The page the storefront asked the link to open, already checked
    /// against the allowed origins; `None` uses the mode's `RESET_URL`.
    pub redirect_url: Option<String>,
    /// `pending`, `sent`, `failed` (gave up) or `expired` (its token expired first).
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempt_count: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// A sender's lease on the email.
    pub locked_until: Option<DateTimeUtc>,
    /// Which sender holds the lease.
    pub locked_by: Option<String>,
    /// The reset token, sealed; cleared once sent, given up or expired.
    pub token: Option<String>,
    /// When the token stops working.
    pub token_expires_at: DateTimeUtc,
    /// When the mail server accepted it.
    pub sent_at: Option<DateTimeUtc>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was written (with its reset).
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
    /// The reset link, or "your password was changed" (no token).
    pub kind: EmailKind,
    /// The network a password change came from (an IPv4 /24, an IPv6 /48),
    /// when known; only on `password_changed` emails.
    pub changed_from: Option<String>,
    /// The `traceparent` of the span of the request that asked for it, when
    /// traces are exported and that trace was sampled: the job's span links to it.
    pub traceparent: Option<String>,
}

/// `reset_emails` relations are followed by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
