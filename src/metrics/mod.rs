//! Prometheus metrics (OpenMetrics text at `GET /metrics` on the admin
//! listener, never the public one): requests by operation and outcome,
//! latency, resets, storefront requests, password hashing, webhook calls and
//! the database pool.
//!
//! Nothing here may tell whether a storefront request's email has an
//! account: storefront requests are counted as requests, and the job that
//! turns them into resets counts what it processed, not what came of it.

use std::{
    sync::{Mutex, atomic::AtomicI64},
    time::{Duration, Instant},
};

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use sea_orm::DatabaseConnection;

use crate::database::Reader;

mod operations;

use operations::OperationNames;

/// How a GraphQL HTTP request ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Outcome {
    /// Executed without errors.
    Ok,
    /// Executed, with field errors in the response.
    FieldError,
    /// Refused before execution (parse, validation, limits, media types).
    RequestError,
    /// Cut off by the request timeout.
    Timeout,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SealedLabels {
    key_id: String,
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
    rustc: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// Every metric of the server. Cheap to share: clone the `Arc` it lives in.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    resets_created: Counter,
    storefront_requests: Counter,
    storefront_requests_processed: Counter,
    resets_completed: Counter,
    resets_rejected: Family<ReasonLabels, Counter>,
    hash_duration: Histogram,
    hashes_computed: Counter,
    /// Breached-password look-ups, by outcome.
    breached_lookups: Family<OutcomeLabels, Counter>,
    hash_queue: Gauge<i64, AtomicI64>,
    pool: Family<PoolLabels, Gauge<i64, AtomicI64>>,
    read_pool: Family<PoolLabels, Gauge<i64, AtomicI64>>,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    reset_emails: Family<OutcomeLabels, Counter>,
    resets_undeliverable: Counter,
    sealed_unopenable: Family<SealedLabels, Gauge<i64, AtomicI64>>,
    /// When the log last warned of undeliverable resets.
    warned_undeliverable: Mutex<Option<Instant>>,
    /// Which operation names take a label.
    operations: OperationNames,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pwreset");
        let build_info = Family::<BuildLabels, Gauge<i64, AtomicI64>>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: crate::build_info::VERSION,
                commit: crate::build_info::COMMIT,
                rustc: crate::build_info::RUSTC,
            })
            .set(1);
        registry.register(
            "build_info",
            "Always 1: the version, commit and compiler of this binary",
            build_info,
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation name and outcome",
            requests.clone(),
        );
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "graphql_request_duration_seconds",
            "GraphQL request latency by operation name",
            latency.clone(),
        );
        let resets_created = Counter::default();
        registry.register(
            "resets_created",
            "Password resets created by integration keys",
            resets_created.clone(),
        );
        let storefront_requests = Counter::default();
        registry.register(
            "storefront_requests",
            "Storefront (sales-channel) reset requests accepted and queued",
            storefront_requests.clone(),
        );
        let storefront_requests_processed = Counter::default();
        registry.register(
            "storefront_requests_processed",
            "Queued storefront requests processed, whatever came of them",
            storefront_requests_processed.clone(),
        );
        let resets_completed = Counter::default();
        registry.register(
            "resets_completed",
            "Password resets completed",
            resets_completed.clone(),
        );
        let resets_rejected = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "resets_rejected",
            "Password reset creates and completes refused, by reason (user error code)",
            resets_rejected.clone(),
        );
        let hash_duration = Histogram::new(exponential_buckets(0.001, 2.0, 12));
        registry.register(
            "password_hash_duration_seconds",
            "Time to hash one password with Argon2id",
            hash_duration.clone(),
        );
        let hashes_computed = Counter::default();
        registry.register(
            "password_hashes",
            "Argon2id hashes computed by the hashing threads",
            hashes_computed.clone(),
        );
        let breached_lookups = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "breached_password_lookups",
            "Breached-password look-ups, by outcome: clean, breached, unavailable",
            breached_lookups.clone(),
        );
        let hash_queue = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "password_hash_queue_depth",
            "Password hashes waiting for a free core",
            hash_queue.clone(),
        );
        let pool = Family::<PoolLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            pool.clone(),
        );
        let read_pool = Family::<PoolLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "db_read_pool_connections",
            "Connections of the pool for reads outside transactions, by state",
            read_pool.clone(),
        );
        let webhook_attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook calls by outcome: delivered, retrying, failed (gave up)",
            webhook_attempts.clone(),
        );
        let reset_emails = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reset_emails",
            "Reset email attempts by outcome: sent, logged (development mailer), retrying, failed (gave up)",
            reset_emails.clone(),
        );
        let resets_undeliverable = Counter::default();
        registry.register(
            "resets_undeliverable",
            "Live-mode resets created with no way to reach the customer: no email channel and no webhook on customer_password_resets.create",
            resets_undeliverable.clone(),
        );
        let sealed_unopenable = Family::<SealedLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "sealed_tokens_unopenable",
            "Pending emails and webhook deliveries whose token is sealed with a key this process does not have, by key id (`unknown` for an older version's values) and kind; as of the last check",
            sealed_unopenable.clone(),
        );
        Self {
            registry,
            sealed_unopenable,
            webhook_attempts,
            reset_emails,
            resets_undeliverable,
            warned_undeliverable: Mutex::new(None),
            requests,
            latency,
            resets_created,
            storefront_requests,
            storefront_requests_processed,
            resets_completed,
            resets_rejected,
            hash_duration,
            hashes_computed,
            breached_lookups,
            hash_queue,
            pool,
            read_pool,
            operations: OperationNames::default(),
        }
    }

    /// Operation names that always have a label of their own
    /// (`METRICS_OPERATION_NAMES`), outside the budget other names share.
    pub fn reserve_operations(&self, names: &[String]) {
        self.operations.reserve(names);
    }

    /// Records one GraphQL request.
    pub fn record_request(&self, operation: Option<&str>, outcome: Outcome, elapsed: Duration) {
        let operation = self.operations.label(operation);
        self.latency
            .get_or_create(&OperationLabels {
                operation: operation.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels { operation, outcome })
            .inc();
    }

    /// Records a reset created by an integration key.
    pub fn reset_created(&self) {
        self.resets_created.inc();
    }

    /// Records a storefront request accepted and queued.
    pub fn storefront_request(&self) {
        self.storefront_requests.inc();
    }

    /// Records `n` queued storefront requests processed.
    pub fn storefront_requests_processed(&self, n: usize) {
        self.storefront_requests_processed.inc_by(n as u64);
    }

    /// Records a reset completed.
    pub fn reset_completed(&self) {
        self.resets_completed.inc();
    }

    /// Records a refused create or complete, by user error code.
    pub fn reset_rejected(&self, reason: &str) {
        self.resets_rejected
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Records one breached-password look-up's outcome (`clean`, `breached`,
    /// `unavailable`).
    pub fn breached_lookup(&self, outcome: &'static str) {
        self.breached_lookups
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Records one Argon2id computation by a hashing thread.
    pub fn hash_computed(&self) {
        self.hashes_computed.inc();
    }

    /// Records one password hash, as long as its request waited for it.
    pub fn hash_done(&self, elapsed: Duration) {
        self.hash_duration.observe(elapsed.as_secs_f64());
    }

    /// A hash starts waiting for a core.
    pub fn hash_queued(&self) {
        self.hash_queue.inc();
    }

    /// A hash stops waiting.
    pub fn hash_dequeued(&self) {
        self.hash_queue.dec();
    }

    /// Records one webhook call by outcome.
    pub fn webhook_attempt(&self, outcome: &'static str) {
        self.webhook_attempts
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Records one reset email attempt by outcome.
    pub fn reset_email(&self, outcome: &'static str) {
        self.reset_emails
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts `n` live-mode resets that no channel can deliver, and warns in
    /// the log, at most once every ten minutes.
    pub fn resets_undeliverable(&self, n: u64) {
        if n == 0 {
            return;
        }
        self.resets_undeliverable.inc_by(n);
        let mut warned = self
            .warned_undeliverable
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(600)) {
            *warned = Some(Instant::now());
            tracing::warn!(
                "live-mode resets were created that reach no customer: set SMTP_URL and RESET_URL, or subscribe a webhook to customer_password_resets.create (resets_undeliverable_total counts them)"
            );
        }
    }

    /// Replaces the counts of pending items this process cannot open: each
    /// `(key id, kind, count)`; a key no longer listed is gone from the metric.
    pub fn set_sealed_unopenable(&self, counts: &[(String, &'static str, u64)]) {
        self.sealed_unopenable.clear();
        for (key_id, kind, count) in counts {
            let labels = SealedLabels {
                key_id: key_id.clone(),
                kind,
            };
            self.sealed_unopenable
                .get_or_create(&labels)
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
    }

    /// The metrics in OpenMetrics text, with the pool gauges read now from
    /// `db` and from `reader`.
    pub fn render(&self, db: &DatabaseConnection, reader: &Reader) -> String {
        for (gauges, (size, idle)) in [
            (&self.pool, crate::database::pool_connections(db)),
            (&self.read_pool, reader.connections()),
        ] {
            gauges
                .get_or_create(&PoolLabels { state: "idle" })
                .set(idle);
            gauges
                .get_or_create(&PoolLabels { state: "in_use" })
                .set(size - idle);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
