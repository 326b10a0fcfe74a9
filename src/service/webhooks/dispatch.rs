//! The dispatcher: claims due deliveries with a lease (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so several processes share the work without
//! sending one delivery twice at once), POSTs them signed, records every
//! attempt, and retries with exponential backoff and jitter.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    sea_query::{Expr, LockBehavior, LockType},
};
use serde_json::Value;
use sha2::Sha256;

use super::{record_failure, record_success};
use crate::{
    domain::{PublicId, is_public_ip},
    entity::{webhook, webhook_attempt, webhook_delivery as delivery, webhook_event as event},
    metrics::Metrics,
    service::{Clock, Error, Result},
};

/// A delivery waiting for its next attempt.
pub(super) const PENDING: &str = "pending";
const DELIVERED: &str = "delivered";
const FAILED: &str = "failed";
const EXPIRED: &str = "expired";

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 12;
/// How long a receiver has to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a claim keeps other dispatchers away: well over one call.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// Deliveries claimed per round.
const BATCH: u64 = 20;

/// The wait before attempt `attempt + 1` after `attempt` failures: 5 s doubling
/// to at most 2 h, plus up to 20 % random jitter so receivers that come back
/// are not hit by every retry at once. Twelve attempts span about 11 hours.
pub fn backoff(attempt: i32) -> chrono::Duration {
    let base = 5i64
        .saturating_mul(1i64 << attempt.clamp(1, 20).saturating_sub(1))
        .min(7_200);
    let jitter = rand::rng().random_range(0..=base / 5);
    chrono::Duration::seconds(base + jitter)
}

/// Resolves callback hosts, dropping private, loopback and link-local
/// addresses unless allowed: checked at every call, so a DNS answer that
/// changes after the webhook was created cannot reach inside (SSRF).
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow_private || is_public_ip(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err("the callback host resolves only to private addresses".into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Delivers webhook events. Clone it freely; every clone shares one HTTP client.
#[derive(Clone)]
pub struct Dispatcher {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    client: reqwest::Client,
    allow_private: bool,
    name: String,
    reset_ttl: chrono::Duration,
    audit_retention: chrono::Duration,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher over `db`. `allow_private` lets it call private addresses.
    ///
    /// # Errors
    /// [`Error::Internal`] if the HTTP client cannot be built.
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        allow_private: bool,
    ) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!("pwreset-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("webhook client: {e}")))?;
        Ok(Self {
            db,
            clock,
            metrics,
            client,
            allow_private,
            name: PublicId::generate("dsp").into_string(),
            reset_ttl: chrono::Duration::hours(6),
            audit_retention: chrono::Duration::days(90),
        })
    }

    /// The same dispatcher, giving resets from queued storefront requests `ttl`.
    pub fn with_reset_ttl(self, ttl: chrono::Duration) -> Self {
        Self {
            reset_ttl: ttl,
            ..self
        }
    }

    /// The same dispatcher, keeping audit entries for `retention`.
    pub fn with_audit_retention(self, retention: chrono::Duration) -> Self {
        Self {
            audit_retention: retention,
            ..self
        }
    }

    /// Deletes audit entries past their retention and stale rate-limit counters.
    ///
    /// # Errors
    /// [`Error::Database`] if a delete fails.
    pub async fn prune(&self) -> Result<()> {
        let now = self.clock.now();
        crate::service::audit::prune(&self.db, self.audit_retention, now).await?;
        crate::service::rate_limits::prune(&self.db, now).await?;
        Ok(())
    }

    /// Runs [`Dispatcher::run_once`] every `interval`, and [`Dispatcher::prune`]
    /// every ten minutes, until `stop` says so.
    pub async fn run(self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            if last_prune.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
                if let Err(e) = self.prune().await {
                    tracing::error!(error = %e, "pruning the audit trail failed");
                }
                last_prune = Some(std::time::Instant::now());
            }
            if let Err(e) = self.run_once().await {
                tracing::error!(error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "webhook dispatch failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Creates the resets of queued storefront requests, then delivers every
    /// due delivery once (a batch per round until none are due); returns how
    /// many delivery attempts were made.
    ///
    /// # Errors
    /// [`Error::Database`] if claiming or recording fails.
    pub async fn run_once(&self) -> Result<usize> {
        let created = crate::service::password_resets::process_requests(
            &self.db,
            self.reset_ttl,
            self.clock.now(),
        )
        .await?;
        for _ in 0..created {
            self.metrics.reset_created();
        }
        let mut attempts = 0;
        loop {
            let claimed = self.claim().await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            attempts += claimed.len();
            let mut calls = tokio::task::JoinSet::new();
            for delivery in claimed {
                let this = self.clone();
                calls.spawn(async move { this.deliver(delivery).await });
            }
            while let Some(done) = calls.join_next().await {
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "recording a webhook attempt failed"),
                    Err(e) => tracing::error!(error = %e, "a webhook call panicked"),
                }
            }
        }
    }

    /// Takes a lease on up to [`BATCH`] due deliveries whose webhook's circuit is
    /// closed, after retiring those whose token expired.
    async fn claim(&self) -> Result<Vec<delivery::Model>> {
        let now = self.clock.now();
        delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(EXPIRED))
            .col_expr(delivery::Column::Token, Expr::value(Option::<String>::None))
            .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
            .filter(delivery::Column::Status.eq(PENDING))
            .filter(delivery::Column::TokenExpiresAt.lte(now))
            .exec(&self.db)
            .await?;

        let lease_free = Condition::any()
            .add(delivery::Column::LockedUntil.is_null())
            .add(delivery::Column::LockedUntil.lte(now));
        let open_circuits = webhook::Entity::find()
            .select_only()
            .column(webhook::Column::Id)
            .filter(webhook::Column::CircuitOpenedAt.is_not_null())
            .into_query();
        let mut due = delivery::Entity::find()
            .select_only()
            .column(delivery::Column::Id)
            .filter(delivery::Column::Status.eq(PENDING))
            .filter(delivery::Column::NextAttemptAt.lte(now))
            .filter(lease_free.clone())
            .filter(delivery::Column::WebhookId.not_in_subquery(open_circuits))
            .order_by_asc(delivery::Column::NextAttemptAt)
            .limit(BATCH)
            .into_query();
        if self.db.get_database_backend() == DbBackend::Postgres {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let lease = PublicId::generate("lease").into_string();
        delivery::Entity::update_many()
            .col_expr(delivery::Column::LockedUntil, Expr::value(now + LEASE))
            .col_expr(delivery::Column::LockedBy, Expr::value(lease.clone()))
            .filter(delivery::Column::Id.in_subquery(due))
            .filter(delivery::Column::Status.eq(PENDING))
            .filter(lease_free)
            .exec(&self.db)
            .await?;
        Ok(delivery::Entity::find()
            .filter(delivery::Column::LockedBy.eq(lease))
            .filter(delivery::Column::Status.eq(PENDING))
            .all(&self.db)
            .await?)
    }

    /// Makes one attempt at `delivery` and records it.
    async fn deliver(&self, delivery: delivery::Model) -> Result<()> {
        let (Some(hook), Some(event)) = (
            webhook::Entity::find_by_id(delivery.webhook_id)
                .one(&self.db)
                .await?,
            event::Entity::find_by_id(delivery.event_id)
                .one(&self.db)
                .await?,
        ) else {
            return Ok(()); // deleted meanwhile; the cascade removes the delivery
        };
        let body = body(&event, &hook, delivery.token.as_deref());
        let attempted_at = self.clock.now();
        let started = std::time::Instant::now();
        let outcome = self.call(&hook, &event, &body, attempted_at).await;
        let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (status_code, error) = match &outcome {
            Ok(status) if (200..300).contains(status) => (Some(i32::from(*status)), None),
            Ok(status) => (
                Some(i32::from(*status)),
                Some(format!("the receiver answered HTTP {status}")),
            ),
            Err(e) => (None, Some(e.clone())),
        };
        webhook_attempt::ActiveModel {
            delivery_id: Set(delivery.id),
            attempted_at: Set(attempted_at),
            status_code: Set(status_code),
            latency_ms: Set(latency_ms),
            error: Set(error.clone()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;

        let now = self.clock.now();
        let attempts = delivery.attempt_count + 1;
        let mut active: delivery::ActiveModel = delivery.into();
        active.attempt_count = Set(attempts);
        active.locked_until = Set(None);
        active.locked_by = Set(None);
        active.updated_at = Set(now);
        let outcome = match error {
            None => {
                active.status = Set(DELIVERED.to_owned());
                active.delivered_at = Set(Some(now));
                active.token = Set(None);
                active.last_error = Set(None);
                record_success(&self.db, hook.id).await?;
                "delivered"
            }
            Some(error) => {
                active.last_error = Set(Some(error.chars().take(500).collect()));
                record_failure(&self.db, hook.id, now).await?;
                if attempts >= MAX_ATTEMPTS {
                    active.status = Set(FAILED.to_owned());
                    active.token = Set(None);
                    "failed"
                } else {
                    active.next_attempt_at = Set(now + backoff(attempts));
                    "retrying"
                }
            }
        };
        active.update(&self.db).await?;
        self.metrics.webhook_attempt(outcome);
        Ok(())
    }

    /// POSTs `body` to the webhook, signed; the receiver's status, or why no
    /// answer came.
    async fn call(
        &self,
        hook: &webhook::Model,
        event: &event::Model,
        body: &[u8],
        at: DateTime<Utc>,
    ) -> Result<u16, String> {
        let url: reqwest::Url = hook
            .callback_url
            .parse()
            .map_err(|_| "the callback URL is invalid".to_owned())?;
        if !self.allow_private
            && let Some(ip) = url
                .host_str()
                .and_then(|h| h.trim_start_matches('[').trim_end_matches(']').parse().ok())
            && !is_public_ip(ip)
        {
            return Err("the callback address is private; refused".into());
        }
        let timestamp = at.timestamp().to_string();
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("x-commercelayer-topic", &event.topic)
            .header(
                "x-commercelayer-signature",
                commerce_layer_signature(&hook.shared_secret, body),
            )
            .header("webhook-id", &event.public_id)
            .header("webhook-timestamp", &timestamp)
            .header(
                "webhook-signature",
                standard_signature(&hook.shared_secret, &event.public_id, &timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", CALL_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "could not connect to the receiver".into()
    } else {
        "the call failed".into()
    }
}

/// The body sent to one webhook: the event's document, the customer only when
/// the webhook asks for it, and the token only on the create event's deliveries.
fn body(event: &event::Model, hook: &webhook::Model, token: Option<&str>) -> Vec<u8> {
    let mut document = event.payload.clone();
    if let Value::Object(doc) = &mut document {
        if !hook.include_customer {
            doc.remove("included");
        }
        if let (Some(token), Some(Value::Object(attributes))) = (
            token,
            doc.get_mut("data").and_then(|d| d.get_mut("attributes")),
        ) {
            attributes.insert(
                "reset_password_token".into(),
                Value::String(token.to_owned()),
            );
        }
    }
    serde_json::to_vec(&document).unwrap_or_default()
}

/// Commerce Layer's `X-CommerceLayer-Signature`: base64(HMAC-SHA256(body, shared secret)).
pub fn commerce_layer_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Standard Webhooks' `webhook-signature`: `v1,` and base64(HMAC-SHA256 of
/// `id.timestamp.body` keyed with the base64-decoded part of `whsec_…`).
pub fn standard_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}
