//! What every request shares: the database, the clock, the hasher, settings.

use std::sync::Arc;

use chrono::Duration;
use sea_orm::DatabaseConnection;

use crate::{
    database::Reader,
    metrics::Metrics,
    service::{
        self, Clock,
        api_keys::KeyCache,
        jobs::{JobSettings, Worker},
        mail::MailSettings,
        password::PasswordHasher,
        password_resets::{Resets, TokenPolicy},
        rate_limits::RateLimits,
        sealing::TokenSealer,
        webhooks::WebhookSettings,
    },
};

/// Where the process is in its life: serving, or draining before it stops.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle(Arc<std::sync::atomic::AtomicBool>);

impl Lifecycle {
    /// Shutdown began: readiness fails from now on.
    pub fn start_draining(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether shutdown began.
    pub fn is_draining(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The server's shared state. The server keeps nothing else: several processes
/// on one database behave as one. Built from the settings in one place,
/// [`AppState::from_config`] or [`AppState::builder`] (in `config`, which
/// knows every setting).
#[derive(Clone)]
pub struct AppState {
    /// The database pool: every write, and every read inside a transaction.
    pub db: DatabaseConnection,
    /// Reads outside transactions (queries, key look-ups). On SQLite,
    /// several read-only connections that read while `db`'s one connection
    /// writes; on PostgreSQL, connections of their own that go back to
    /// their pool without sqlx's release ping ([`crate::database::PgReads`]).
    pub reader: Reader,
    /// The source of `now` for every service call.
    pub clock: Arc<dyn Clock>,
    /// Argon2id hashing, bounded.
    pub hasher: PasswordHasher,
    /// How long a new reset token stays valid.
    pub reset_token_ttl: Duration,
    /// Seals reset tokens at rest while they wait on a webhook delivery.
    pub sealer: TokenSealer,
    /// How resets reach customers, and one-time codes.
    pub codes: service::codes::CodeSettings,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Webhook targets and dispatching.
    pub webhooks: WebhookSettings,
    /// Limits on creating and completing resets.
    pub rate_limits: RateLimits,
    /// Keys verified recently (see [`KeyCache`]).
    pub keys: Arc<KeyCache>,
    /// How long audit entries are kept.
    pub audit_retention: Duration,
    /// The reset email's settings.
    pub mail: Arc<MailSettings>,
    /// Serving, or draining before a stop.
    pub lifecycle: Lifecycle,
    /// Whether the database is known to be down (answer 503 at once).
    pub health: crate::health::DatabaseHealth,
    /// Breached-password screening, when on.
    pub breached: Option<Arc<service::breached::BreachedPasswords>>,
    /// The bot challenge on storefront creates, when one is configured.
    pub captcha: Option<Arc<service::captcha::Captcha>>,
    /// Certificates outgoing TLS trusts beside the public roots (`EXTRA_CA_FILE`).
    pub extra_roots: Option<service::outbound::ExtraRoots>,
    /// The trace exporter, when `OTEL_EXPORTER_OTLP_*` names a collector.
    pub tracer: Option<Arc<crate::telemetry::Tracer>>,
}

impl AppState {
    /// How this server makes reset tokens.
    pub fn tokens(&self) -> TokenPolicy<'_> {
        TokenPolicy {
            ttl: self.reset_token_ttl,
            sealer: &self.sealer,
            clock: self.clock.as_ref(),
            mail: &self.mail,
            codes: &self.codes,
        }
    }

    /// How this server starts and completes resets.
    pub fn resets(&self) -> Resets<'_> {
        Resets {
            db: &self.db,
            limits: &self.rate_limits,
            tokens: self.tokens(),
            hasher: &self.hasher,
            metrics: &self.metrics,
            captcha: self.captcha.as_deref(),
            breached: self.breached.as_deref(),
        }
    }

    /// The background jobs over this state's database, with its settings.
    ///
    /// # Errors
    /// [`service::Error::Internal`] if the webhook HTTP client cannot be built.
    pub fn worker(&self) -> service::Result<Worker> {
        let settings = JobSettings {
            reset_ttl: self.reset_token_ttl,
            audit_retention: self.audit_retention,
            allow_private_targets: self.webhooks.allow_private_targets,
            proxy: self.webhooks.proxy.clone(),
            extra_roots: self.extra_roots.clone(),
            tracer: self.tracer.clone(),
            sealer: self.sealer.clone(),
            mail: self.mail.clone(),
            codes: self.codes,
        };
        Worker::new(
            self.db.clone(),
            self.clock.clone(),
            self.metrics.clone(),
            settings,
        )
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("hasher", &self.hasher)
            .field("reset_token_ttl", &self.reset_token_ttl)
            .finish_non_exhaustive()
    }
}
