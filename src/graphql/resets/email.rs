//! What integrations see of delivery: each reset's email, and which channels
//! carry a new reset of the key's mode to its customer.

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Utc};

use crate::entity::reset_email;

/// Where a reset email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::DeliveryStatus")]
pub enum ResetEmailStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The mail server accepted it (or, in test mode without an SMTP server,
    /// the development mailer wrote it to the server's log).
    Delivered,
    /// Given up: the mail server refused it for good, or 12 attempts failed.
    Failed,
    /// Not sent: its token expired, or the reset was completed or replaced,
    /// before it could leave.
    Expired,
}

/// A reset's email to its customer.
#[derive(Debug, Clone, SimpleObject)]
pub struct ResetEmail {
    /// Where it stands.
    pub status: ResetEmailStatus,
    /// The address it goes to.
    pub recipient: String,
    /// The language asked for (the email falls back to its language, then
    /// English, when there are no templates for it).
    pub locale: String,
    /// The page its link opens, when the create chose one (`redirectUrl`).
    pub redirect_url: Option<String>,
    /// Attempts made so far.
    pub attempt_count: i32,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When it left.
    pub sent_at: Option<DateTime<Utc>>,
    /// The last attempt's error, such as the mail server's answer.
    pub last_error: Option<String>,
}

impl From<reset_email::Model> for ResetEmail {
    fn from(m: reset_email::Model) -> Self {
        Self {
            status: m.status.into(),
            recipient: m.recipient,
            locale: m.locale,
            redirect_url: m.redirect_url,
            attempt_count: m.attempt_count,
            next_attempt_at: m.next_attempt_at,
            sent_at: m.sent_at,
            last_error: m.last_error,
        }
    }
}

/// How a mode's reset emails leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum EmailChannel {
    /// Through the mode's SMTP server (`SMTP_URL`, `TEST_SMTP_URL`).
    Smtp,
    /// Written to the server's log (test mode without `TEST_SMTP_URL`).
    DevelopmentLog,
    /// Not at all (live mode without `SMTP_URL`).
    Off,
}

/// The channels that carry a new reset of the key's mode to its customer.
#[derive(Debug, Clone, SimpleObject)]
pub struct DeliveryChannels {
    /// How reset emails leave.
    pub email: EmailChannel,
    /// Webhooks subscribed to `CUSTOMER_PASSWORD_RESETS_CREATE`, which carry
    /// the token to the merchant's own mailer.
    pub webhooks: i32,
    /// Whether a new reset reaches its customer at all: an email leaves, or
    /// a webhook carries it. When false, live resets are counted in the
    /// `resets_undeliverable_total` metric and warned about in the log.
    pub reachable: bool,
}
