//! Webhooks in GraphQL: integration keys subscribe a callback URL to a topic,
//! and see every delivery and attempt. The types are here; the queries and
//! mutations in [`operations`].

mod operations;

use std::collections::HashMap;

use async_graphql::{ComplexObject, Context, Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};

pub use operations::{WebhookMutation, WebhookQuery};

use super::{
    access::{self, INTEGRATION},
    connection::{connection, page_complexity},
    error::to_graphql,
};
use crate::{
    domain::{Mode, Topic},
    entity::{webhook, webhook_attempt, webhook_delivery},
    service::{Error, pagination::PageArgs, webhooks},
};

/// Whether a webhook's calls are being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum WebhookCircuit {
    /// Calls are made.
    Closed,
    /// 30 calls in a row failed: nothing is sent until `resetWebhookCircuit`.
    Open,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::domain::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; no more will be made.
    Failed,
    /// The reset token it carried expired before it could be delivered.
    Expired,
}

/// A subscription: the server POSTs every event of `topic` to `callbackUrl`,
/// signed with the shared secret.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Webhook {
    /// Opaque id (`wh_…`).
    pub id: ID,
    /// Where events are POSTed.
    pub callback_url: String,
    /// Whether payloads include the customer (JSON:API `included`).
    pub include_customer: bool,
    /// The key calls are signed with (`X-CommerceLayer-Signature` and
    /// `webhook-signature`). Non-null only in the `createWebhook` payload.
    pub shared_secret: Option<String>,
    /// Whether calls are being made.
    pub circuit: WebhookCircuit,
    /// Failed calls in a row; the circuit opens at 30.
    pub consecutive_failures: i32,
    /// When the circuit opened; null while closed.
    pub circuit_opened_at: Option<DateTime<Utc>>,
    /// When the webhook was created.
    pub created_at: DateTime<Utc>,
    /// When the webhook last changed.
    pub updated_at: DateTime<Utc>,
    /// The mode whose events it receives.
    pub mode: Mode,
    /// The events it receives.
    pub topic: Topic,
    #[graphql(skip)]
    pub(crate) key: i64,
}

impl From<webhook::Model> for Webhook {
    fn from(m: webhook::Model) -> Self {
        Self {
            id: ID(m.public_id),
            topic: m.topic,
            callback_url: m.callback_url,
            include_customer: m.include_customer,
            shared_secret: None,
            circuit: if m.circuit_opened_at.is_some() {
                WebhookCircuit::Open
            } else {
                WebhookCircuit::Closed
            },
            consecutive_failures: m.consecutive_failures,
            circuit_opened_at: m.circuit_opened_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            mode: m.mode,
            key: m.id,
        }
    }
}

#[ComplexObject]
impl Webhook {
    /// The webhook's deliveries, newest first, each with its attempts.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first this many rows (0 to 100; default 25).")] first: Option<i32>,
        #[graphql(desc = "The last this many rows (0 to 100).")] last: Option<i32>,
    ) -> async_graphql::Result<WebhookDeliveryConnection> {
        access::require(ctx, INTEGRATION)?;
        let db = &access::state(ctx).reader;
        let page = webhooks::deliveries(db, self.key, PageArgs::new(first, after, last, before))
            .await
            .map_err(to_graphql)?;
        let keys: Vec<i64> = page.items.iter().map(|(_, d)| d.id).collect();
        let event_keys: Vec<i64> = page.items.iter().map(|(_, d)| d.event_id).collect();
        let mut attempts: HashMap<i64, Vec<WebhookAttempt>> = HashMap::new();
        for attempt in webhooks::attempts(db, &keys).await.map_err(to_graphql)? {
            attempts
                .entry(attempt.delivery_id)
                .or_default()
                .push(attempt.into());
        }
        let mut events: HashMap<i64, (String, Topic)> = HashMap::new();
        for e in webhooks::events(db, &event_keys)
            .await
            .map_err(to_graphql)?
        {
            events.insert(e.id, (e.public_id, e.topic));
        }
        WebhookDeliveryConnection::try_new(page, |d| {
            // A delivery references its event (a foreign key).
            let missing = || Error::Internal(format!("delivery {} without its event", d.id));
            let (event_id, topic) = events.get(&d.event_id).cloned().ok_or_else(missing)?;
            let tried = attempts.remove(&d.id).unwrap_or_default();
            Ok(WebhookDelivery::new(d, event_id, topic, tried))
        })
        .map_err(to_graphql)
    }
}

/// One event sent (or being sent) to one webhook.
#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookDelivery {
    /// Opaque id (`whd_…`).
    pub id: ID,
    /// The event's id (`evt_…`), also sent as the `webhook-id` header: the
    /// same on every attempt, so receivers can drop duplicates.
    pub event_id: ID,
    /// The event's topic.
    pub topic: Topic,
    /// Where the delivery stands.
    pub status: WebhookDeliveryStatus,
    /// Attempts made so far.
    pub attempt_count: i32,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    pub attempts: Vec<WebhookAttempt>,
}

impl WebhookDelivery {
    fn new(
        d: webhook_delivery::Model,
        event_id: String,
        topic: Topic,
        attempts: Vec<WebhookAttempt>,
    ) -> Self {
        let status = d.status.into();
        Self {
            id: ID(d.public_id),
            event_id: ID(event_id),
            topic,
            status,
            attempt_count: d.attempt_count,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
            last_error: d.last_error,
            created_at: d.created_at,
            attempts,
        }
    }
}

/// One call made for a delivery.
#[derive(Debug, Clone, SimpleObject)]
pub struct WebhookAttempt {
    /// When the call started.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; null when no answer came.
    pub status_code: Option<i32>,
    /// How long the call took, in milliseconds.
    pub latency_ms: i32,
    /// What went wrong; null on success.
    pub error: Option<String>,
}

impl From<webhook_attempt::Model> for WebhookAttempt {
    fn from(a: webhook_attempt::Model) -> Self {
        Self {
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
        }
    }
}

connection!(
    WebhookConnection,
    WebhookEdge,
    Webhook,
    webhook::Entity,
    "webhooks"
);
connection!(
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookDelivery,
    webhook_delivery::Entity,
    "webhook deliveries"
);
