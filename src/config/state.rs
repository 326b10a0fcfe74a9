//! The server's state, built in one place from the settings: by the binary,
//! the tests and the benchmark alike.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use super::Config;
use crate::{
    database::Reader,
    metrics::Metrics,
    service::{
        Clock, SystemClock, api_keys::KeyCache, mail::MailSettings, password::PasswordHasher,
        sealing::TokenSealer,
    },
    state::AppState,
    telemetry::Tracer,
};

/// Builds an [`AppState`] from a [`Config`], with the parts a caller may
/// choose itself: the clock, the sealer, the mail settings, the metrics.
pub struct StateBuilder {
    config: Config,
    clock: Arc<dyn Clock>,
    sealer: Option<TokenSealer>,
    mail: Option<Arc<MailSettings>>,
    metrics: Option<Arc<Metrics>>,
    tracer: Option<Arc<Tracer>>,
}

impl AppState {
    /// The state `config` describes, over `db` (writes) and `reader` (reads):
    /// the system clock, the sealer and mail settings `config` names.
    ///
    /// # Errors
    /// A message naming the setting that is wrong (see [`StateBuilder::build`]).
    pub fn from_config(
        config: &Config,
        db: DatabaseConnection,
        reader: Reader,
    ) -> Result<Self, String> {
        Self::builder(config.clone()).build(db, reader)
    }

    /// A builder from `config` (tests and benchmarks start from
    /// [`Config::defaults`] and change what they test).
    pub fn builder(config: Config) -> StateBuilder {
        StateBuilder {
            config,
            clock: Arc::new(SystemClock),
            sealer: None,
            mail: None,
            metrics: None,
            tracer: None,
        }
    }
}

impl StateBuilder {
    /// The trace exporter the background jobs open their spans with (the
    /// HTTP layer gets it too); none by default.
    pub fn tracer(self, tracer: Option<Arc<Tracer>>) -> Self {
        Self { tracer, ..self }
    }

    /// The source of `now` (an injected clock, in tests).
    pub fn clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// The sealer, instead of the one the token settings name.
    pub fn sealer(self, sealer: TokenSealer) -> Self {
        Self {
            sealer: Some(sealer),
            ..self
        }
    }

    /// The mail settings, instead of the ones the mail settings name.
    pub fn mail(self, mail: impl Into<Arc<MailSettings>>) -> Self {
        Self {
            mail: Some(mail.into()),
            ..self
        }
    }

    /// The metrics registry, instead of a new one.
    pub fn metrics(self, metrics: Arc<Metrics>) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    /// The state, over `db` (writes) and `reader` (reads).
    ///
    /// # Errors
    /// A message when the Argon2id costs are invalid, and, for what was not
    /// chosen, when the sealing key or the mail settings cannot be used.
    pub fn build(self, db: DatabaseConnection, reader: Reader) -> Result<AppState, String> {
        let config = self.config;
        let metrics = self.metrics.unwrap_or_else(|| Arc::new(Metrics::new()));
        let sealer = match self.sealer {
            Some(sealer) => sealer,
            None => config.tokens.sealer(&config.database_url)?.0,
        };
        let mail = match self.mail {
            Some(mail) => mail,
            None => Arc::new(config.mail.settings(config.extra_ca.as_ref())?),
        };
        let hasher =
            PasswordHasher::new(&config.hashing, metrics.clone()).map_err(|e| match e {
                crate::service::Error::Internal(message) => message,
                other => other.to_string(),
            })?;
        let ttl =
            |d: std::time::Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Ok(AppState {
            db,
            reader,
            clock: self.clock,
            hasher,
            reset_token_ttl: ttl(config.tokens.reset_token_ttl),
            sealer,
            codes: config.codes,
            metrics,
            webhooks: config.webhooks,
            rate_limits: config.rate_limits,
            keys: Arc::new(KeyCache::new(ttl(config.api_key_cache_ttl))),
            audit_retention: chrono::Duration::days(i64::from(config.audit_retention_days)),
            mail,
            lifecycle: Default::default(),
            health: Default::default(),
            captcha: config
                .captcha
                .captcha(config.extra_ca.as_ref())?
                .map(Arc::new),
            breached: config
                .breached
                .screening(config.extra_ca.as_ref())?
                .map(Arc::new),
            extra_roots: config.extra_ca,
            tracer: self.tracer,
        })
    }
}
