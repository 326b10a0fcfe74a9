//! Delivering the outbox: due deliveries are leased (so several processes
//! share the work without sending one delivery twice at once), POSTed signed,
//! every attempt recorded, and failures retried with exponential backoff and
//! jitter until they succeed, give up, or their secret expires.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rand::RngExt;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::Value;

use super::{CIRCUIT_THRESHOLD, commerce_layer_signature, standard_signature, target};
use crate::service::{
    outbound::{self, ExtraRoots},
    statement,
};
use crate::{
    domain::DeliveryStatus,
    entity::{webhook, webhook_attempt, webhook_delivery as delivery, webhook_event as event},
    metrics::Metrics,
    service::{Clock, Error, Result, lease, sealed, sealing::TokenSealer, secrets::ResetSecrets},
    telemetry::{self, Kind, Tracer},
};

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 12;
/// How long a receiver has to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a claim keeps other processes away: one call and a margin. A
/// batch that takes longer renews it every [`RENEW_EVERY`]; a crashed
/// process's deliveries come free this long after its last renewal.
const LEASE: chrono::Duration = chrono::Duration::seconds(10);
/// How often a batch in progress renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// Deliveries claimed per round.
const BATCH: u64 = 20;

/// The wait before attempt `attempt + 1` after `attempt` failures: 5 s doubling
/// to at most 2 h, plus up to 20 % random jitter so receivers that come back
/// are not hit by every retry at once. Twelve attempts span about 11 hours.
pub fn backoff(attempt: i32) -> chrono::Duration {
    let base = 5i64
        .saturating_mul(1i64 << attempt.clamp(1, 20).saturating_sub(1))
        .clamp(0, 7_200);
    let jitter = rand::rng().random_range(0..=base / 5);
    chrono::Duration::seconds(base + jitter)
}

impl lease::Leased for delivery::Entity {
    fn id_column() -> Self::Column {
        delivery::Column::Id
    }
    fn locked_until_column() -> Self::Column {
        delivery::Column::LockedUntil
    }
    fn locked_by_column() -> Self::Column {
        delivery::Column::LockedBy
    }
}

/// Delivers due webhook deliveries. Clone it freely; every clone shares one HTTP client.
#[derive(Clone)]
pub struct Deliverer {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    client: reqwest::Client,
    allow_private: bool,
    sealer: TokenSealer,
    tracer: Option<Arc<Tracer>>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("allow_private", &self.allow_private)
            .finish_non_exhaustive()
    }
}

impl Deliverer {
    /// A deliverer over `db`. `allow_private` lets it call private addresses;
    /// `proxy`, when given, is the one proxy calls go through (the
    /// environment's `HTTP(S)_PROXY` is never used); TLS trusts `extra` too;
    /// `sealer` opens the sealed tokens.
    ///
    /// # Errors
    /// [`Error::Internal`] if the HTTP client cannot be built or the proxy
    /// URL is not one.
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        allow_private: bool,
        proxy: Option<&str>,
        extra: Option<&ExtraRoots>,
        sealer: TokenSealer,
    ) -> Result<Self> {
        let builder = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(target::GuardedResolver::new(allow_private))
            .user_agent(concat!("pwreset-webhooks/", env!("CARGO_PKG_VERSION")));
        let builder = outbound::trusting(builder, extra);
        let builder = match proxy {
            Some(url) => builder.proxy(
                reqwest::Proxy::all(url)
                    .map_err(|e| Error::Internal(format!("WEBHOOK_PROXY: {e}")))?,
            ),
            None => builder.no_proxy(),
        };
        let client = builder
            .build()
            .map_err(|e| Error::Internal(format!("webhook client: {e}")))?;
        Ok(Self {
            db,
            clock,
            metrics,
            client,
            allow_private,
            sealer,
            tracer: None,
        })
    }

    /// The same deliverer, opening a span for each attempt with `tracer`.
    #[must_use]
    pub fn traced(self, tracer: Option<Arc<Tracer>>) -> Self {
        Self { tracer, ..self }
    }

    /// Makes one attempt at every due delivery, a batch at a time until none
    /// is due; returns how many attempts were made.
    ///
    /// # Errors
    /// [`Error::Database`] if claiming fails.
    pub async fn deliver_due(&self) -> Result<usize> {
        let mut attempts = 0;
        loop {
            let claimed = self.claim().await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            attempts += claimed.len();
            let lease = claimed[0].locked_by.clone().unwrap_or_default();
            let mut calls = tokio::task::JoinSet::new();
            for delivery in claimed {
                let this = self.clone();
                calls.spawn(async move { this.deliver(delivery).await });
            }
            let all_done = async {
                while let Some(done) = calls.join_next().await {
                    match done {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "recording a webhook attempt failed")
                        }
                        Err(e) => tracing::error!(error = %e, "a webhook call panicked"),
                    }
                }
            };
            let clock = self.clock.as_ref();
            lease::holding::<delivery::Entity, _>(
                &self.db,
                &lease,
                clock,
                LEASE,
                RENEW_EVERY,
                all_done,
            )
            .await;
        }
    }

    /// Leases up to [`BATCH`] pending deliveries that are due and whose
    /// webhook's circuit is closed.
    async fn claim(&self) -> Result<Vec<delivery::Model>> {
        let now = self.clock.now();
        let open_circuits = webhook::Entity::find()
            .select_only()
            .column(webhook::Column::Id)
            .filter(webhook::Column::CircuitOpenedAt.is_not_null())
            .into_query();
        let due = Condition::all()
            .add(delivery::Column::Status.eq(DeliveryStatus::Pending))
            .add(delivery::Column::NextAttemptAt.lte(now))
            .add(delivery::Column::WebhookId.not_in_subquery(open_circuits))
            // A token sealed with a key this process lacks is left for a
            // process that has it: never attempted, failed or erased here.
            .add(sealed::openable(&self.sealer, delivery::Column::Token));
        let order = [delivery::Column::NextAttemptAt];
        lease::claim::<delivery::Entity>(&self.db, due, &order, BATCH, now, now + LEASE).await
    }

    /// Makes one attempt at `delivery` and records it.
    async fn deliver(&self, delivery: delivery::Model) -> Result<()> {
        let (Some(hook), Some(event)) = (
            statement::first(&self.db, webhook::Entity::find_by_id(delivery.webhook_id)).await?,
            statement::first(&self.db, event::Entity::find_by_id(delivery.event_id)).await?,
        ) else {
            return Ok(()); // deleted meanwhile; the cascade removes the delivery
        };
        // The topic and the answer's status: never the receiver's URL (it
        // may carry a secret) nor the body.
        let mut span = telemetry::job(
            self.tracer.as_ref(),
            "deliver webhook",
            Kind::Client,
            event.traceparent.as_deref(),
        );
        span.set("pwreset.mode", event.mode.as_str());
        span.set("pwreset.webhook.topic", event.topic.as_str());
        span.set(
            "pwreset.webhook.attempt",
            i64::from(delivery.attempt_count) + 1,
        );
        let attempted_at = self.clock.now();
        let started = std::time::Instant::now();
        let outcome = match self.body(&event, &hook, &delivery) {
            Ok(body) => {
                span.run(self.call(&hook, &event, &body, attempted_at))
                    .await
            }
            Err(Error::Internal(why)) => Err(why),
            Err(e) => Err(e.to_string()),
        };
        match &outcome {
            Ok(status) => {
                span.set("http.response.status_code", i64::from(*status));
                if !(200..300).contains(status) {
                    span.fail(format!("the receiver answered HTTP {status}"));
                }
            }
            Err(_) => span.fail("the call failed"),
        }
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
        span.run(self.record_outcome(delivery, hook.id, error))
            .await
    }

    /// Moves `delivery` on after an attempt that failed with `error` (or
    /// succeeded, with none), and the webhook's failure streak with it.
    async fn record_outcome(
        &self,
        delivery: delivery::Model,
        webhook_id: i64,
        error: Option<String>,
    ) -> Result<()> {
        let now = self.clock.now();
        let attempts = delivery.attempt_count + 1;
        let mut active: delivery::ActiveModel = delivery.into();
        active.attempt_count = Set(attempts);
        active.locked_until = Set(None);
        active.locked_by = Set(None);
        active.updated_at = Set(now);
        let outcome = match error {
            None => {
                active.status = Set(DeliveryStatus::Delivered);
                active.delivered_at = Set(Some(now));
                active.token = Set(None);
                active.last_error = Set(None);
                self.record_success(webhook_id).await?;
                "delivered"
            }
            Some(error) => {
                active.last_error = Set(Some(error.chars().take(500).collect()));
                self.record_failure(webhook_id, now).await?;
                if attempts >= MAX_ATTEMPTS {
                    active.status = Set(DeliveryStatus::Failed);
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
        if !target::may_call(&url, self.allow_private) {
            return Err("the callback address is private; refused".into());
        }
        let timestamp = at.timestamp().to_string();
        let secret = &hook.shared_secret;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("x-commercelayer-topic", event.topic.as_str())
            .header(
                "x-commercelayer-signature",
                commerce_layer_signature(secret, body),
            )
            .header("webhook-id", &event.public_id)
            .header("webhook-timestamp", &timestamp)
            .header(
                "webhook-signature",
                standard_signature(secret, &event.public_id, &timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(response.status().as_u16())
    }

    /// One more failure of `webhook_id`, opening its circuit at [`CIRCUIT_THRESHOLD`].
    async fn record_failure(&self, webhook_id: i64, now: DateTime<Utc>) -> Result<()> {
        webhook::Entity::update_many()
            .col_expr(
                webhook::Column::ConsecutiveFailures,
                Expr::col(webhook::Column::ConsecutiveFailures).add(1),
            )
            .filter(webhook::Column::Id.eq(webhook_id))
            .exec(&self.db)
            .await?;
        webhook::Entity::update_many()
            .col_expr(webhook::Column::CircuitOpenedAt, Expr::value(now))
            .filter(webhook::Column::Id.eq(webhook_id))
            .filter(webhook::Column::CircuitOpenedAt.is_null())
            .filter(webhook::Column::ConsecutiveFailures.gte(CIRCUIT_THRESHOLD))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Ends `webhook_id`'s failure streak.
    async fn record_success(&self, webhook_id: i64) -> Result<()> {
        webhook::Entity::update_many()
            .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(0))
            .filter(webhook::Column::Id.eq(webhook_id))
            .filter(webhook::Column::ConsecutiveFailures.ne(0))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// rustls's reason when it refused the receiver's certificate, such as
/// `invalid peer certificate: UnknownIssuer`.
fn certificate_refused(error: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        let text = e.to_string();
        if text.starts_with("invalid peer certificate") {
            return Some(text);
        }
        cause = e.source();
    }
    None
}

fn describe(error: &reqwest::Error) -> String {
    if target::refused_by_resolver(error) {
        "the callback host resolves only to private addresses; refused".into()
    } else if error.is_timeout() {
        format!("no answer within {} s", CALL_TIMEOUT.as_secs())
    } else if let Some(certificate) = certificate_refused(error) {
        format!(
            "the receiver's TLS certificate is not trusted ({certificate}); a private CA can be added with EXTRA_CA_FILE"
        )
    } else if error.is_connect() {
        "could not connect to the receiver".into()
    } else {
        "the call failed".into()
    }
}

impl Deliverer {
    /// The body sent to one webhook: the event's document, the customer only
    /// when the webhook asks for it, and the delivery's secret, opened, in the
    /// topic's sealed attribute.
    fn body(
        &self,
        event: &event::Model,
        hook: &webhook::Model,
        delivery: &delivery::Model,
    ) -> Result<Vec<u8>> {
        let secret = delivery
            .token
            .as_deref()
            .map(|sealed| self.sealer.open(sealed, &delivery.public_id))
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(body(event, hook, secret.as_deref()))
    }
}

/// The attribute that carries a reset's one-time code, beside its token.
const CODE_ATTRIBUTE: &str = "reset_password_code";

/// The document sent to one webhook, with `secret` in the topic's sealed
/// attribute (and a one-time code in [`CODE_ATTRIBUTE`]).
fn body(event: &event::Model, hook: &webhook::Model, secret: Option<&str>) -> Vec<u8> {
    let mut document = event.payload.clone();
    let sealed = event.topic.sealed_attribute();
    if let Value::Object(doc) = &mut document {
        if !hook.include_customer {
            doc.remove("included");
        }
        if let (Some(name), Some(secret), Some(Value::Object(attributes))) = (
            sealed,
            secret,
            doc.get_mut("data").and_then(|d| d.get_mut("attributes")),
        ) {
            let secrets = ResetSecrets::from_text(secret.to_owned());
            if let Some(token) = secrets.token {
                attributes.insert(name.into(), Value::String(token));
            }
            if let Some(code) = secrets.code {
                attributes.insert(CODE_ATTRIBUTE.into(), Value::String(code));
            }
        }
    }
    serde_json::to_vec(&document).unwrap_or_default()
}
