//! The one background runner: on every poll it turns queued storefront
//! requests into resets, gives up deliveries whose secret expired, delivers
//! due webhook deliveries and sends due reset emails; every ten minutes it
//! prunes the audit trail and stale rate-limit counters. All of it works on leases or
//! idempotent deletes, so any number of processes can run it on one database.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

use super::{
    Clock, Result, audit,
    mail::{MailSettings, Mailer},
    password_resets::{self, TokenPolicy},
    rate_limits,
    sealed::{self, Unopenable},
    sealing::TokenSealer,
    webhooks::{self, Deliverer},
};
use crate::metrics::Metrics;

/// How often pruning runs.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How often the jobs look for sealed tokens this process cannot open, and
/// say so in the log (by the injected clock).
const SEALED_CHECK_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// What the jobs need to know of the server's settings.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// How long a reset made from a queued request stays valid.
    pub reset_ttl: chrono::Duration,
    /// How long audit entries are kept.
    pub audit_retention: chrono::Duration,
    /// Whether webhooks may call private addresses.
    pub allow_private_targets: bool,
    /// The proxy webhook calls go through, if any.
    pub proxy: Option<String>,
    /// Certificates webhook calls trust beside the public roots.
    pub extra_roots: Option<super::outbound::ExtraRoots>,
    /// Opens the jobs' spans, when traces are exported.
    pub tracer: Option<Arc<crate::telemetry::Tracer>>,
    /// Seals reset tokens at rest, and opens them to deliver them.
    pub sealer: TokenSealer,
    /// The reset email's settings.
    pub mail: Arc<MailSettings>,
    /// How resets made from queued requests reach customers.
    pub codes: super::codes::CodeSettings,
}

/// Runs the background jobs. Clone it freely.
#[derive(Clone)]
pub struct Worker {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    settings: JobSettings,
    deliverer: Deliverer,
    mailer: Mailer,
    /// When sealed tokens were last checked.
    sealed_checked: Arc<std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker over `db`.
    ///
    /// # Errors
    /// [`super::Error::Internal`] if the webhook HTTP client cannot be built.
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: JobSettings,
    ) -> Result<Self> {
        let deliverer = Deliverer::new(
            db.clone(),
            clock.clone(),
            metrics.clone(),
            settings.allow_private_targets,
            settings.proxy.as_deref(),
            settings.extra_roots.as_ref(),
            settings.sealer.clone(),
        )?
        .traced(settings.tracer.clone());
        let mailer = Mailer::new(
            db.clone(),
            clock.clone(),
            metrics.clone(),
            settings.mail.clone(),
            settings.sealer.clone(),
        )
        .traced(settings.tracer.clone());
        Ok(Self {
            db,
            clock,
            metrics,
            settings,
            deliverer,
            mailer,
            sealed_checked: Arc::default(),
        })
    }

    /// Runs [`Worker::run_once`] every `interval`, and [`Worker::prune`] every
    /// ten minutes, until `stop` says so. Failures are logged, and the next
    /// round tries again.
    pub async fn run(self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                if let Err(e) = self.prune().await {
                    tracing::error!(error = %e, "pruning the audit trail failed");
                }
                last_prune = Some(std::time::Instant::now());
            }
            // Each failed job was logged as it failed.
            let _ = self.run_once().await;
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One round: creates the resets of queued storefront requests, gives up
    /// deliveries whose secret expired, delivers every due webhook delivery
    /// once, then sends every due reset email once; returns how many webhook
    /// delivery attempts were made (emails are counted by the
    /// `reset_emails` metric). A job that fails is logged and the round goes
    /// on with the next one: one broken job never holds up the others.
    ///
    /// # Errors
    /// The first job's error, after every job had its turn
    /// ([`super::Error::Database`] when a job cannot claim or record its work).
    pub async fn run_once(&self) -> Result<usize> {
        let now = self.clock.now();
        let tokens = TokenPolicy {
            ttl: self.settings.reset_ttl,
            sealer: &self.settings.sealer,
            clock: self.clock.as_ref(),
            mail: &self.settings.mail,
            codes: &self.settings.codes,
        };
        let mut round = Round::default();
        if let Some(processed) = round.ran(
            "processing queued storefront requests",
            password_resets::process_requests(&self.db, tokens, self.settings.tracer.as_ref(), now)
                .await,
        ) {
            // How many were processed, never how many became resets: that
            // would tell which emails have accounts. (The admin listener's
            // count of unreachable live resets is for operators, never public.)
            self.metrics
                .storefront_requests_processed(processed.requests);
            self.metrics.resets_undeliverable(processed.unreachable);
        }
        round.ran(
            "expiring webhook secrets",
            webhooks::expire_secrets(&self.db, now).await,
        );
        let attempts = round
            .ran("delivering webhooks", self.deliverer.deliver_due().await)
            .unwrap_or(0);
        round.ran("sending reset emails", self.mailer.send_due().await);
        let due = {
            let mut checked = self
                .sealed_checked
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let due = checked.is_none_or(|at| now - at >= SEALED_CHECK_EVERY);
            if due {
                *checked = Some(now);
            }
            due
        };
        if due {
            round.ran(
                "checking sealed tokens",
                self.check_sealed(tracing::Level::ERROR).await,
            );
        }
        round.finish().map(|()| attempts)
    }

    /// Counts the pending emails and webhook deliveries whose token none of
    /// this process's keys opens (they wait for a process that has the key),
    /// sets the `sealed_tokens_unopenable` metric, and writes one line per
    /// key at `level`; returns the counts.
    ///
    /// # Errors
    /// [`super::Error::Database`] if the count fails.
    pub async fn check_sealed(&self, level: tracing::Level) -> Result<Vec<Unopenable>> {
        let found = sealed::unopenable(&self.db, &self.settings.sealer).await?;
        let named = |u: &Unopenable| {
            u.key
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), ToString::to_string)
        };
        let counts: Vec<_> = found.iter().map(|u| (named(u), u.kind, u.count)).collect();
        self.metrics.set_sealed_unopenable(&counts);
        let mut keys: Vec<String> = counts.iter().map(|(key, _, _)| key.clone()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let of = |kind| {
                counts
                    .iter()
                    .filter(|(k, want, _)| *k == key && *want == kind)
                    .map(|(_, _, n)| n)
                    .sum::<u64>()
            };
            let (emails, webhooks) = (of("email"), of("webhook"));
            let why = if key == "unknown" {
                "an older version sealed them with a key none of this process's keys opens"
                    .to_owned()
            } else {
                format!(
                    "they are sealed with the key whose id is {key}, which this process does not have"
                )
            };
            let message = format!(
                "{emails} pending reset emails and {webhooks} webhook deliveries wait for a process that can open their token: {why}. \
                 Nothing is failed or erased meanwhile; give this process the key as TOKEN_ENCRYPTION_KEY_OLD \
                 (see docs/operations.md, rotating the token key), or they expire with their token"
            );
            if level == tracing::Level::ERROR {
                tracing::error!(key_id = %key, emails, webhooks, "{message}");
            } else {
                tracing::warn!(key_id = %key, emails, webhooks, "{message}");
            }
        }
        Ok(found)
    }

    /// Deletes audit entries past their retention and stale rate-limit counters.
    ///
    /// # Errors
    /// [`super::Error::Database`] if a delete fails.
    pub async fn prune(&self) -> Result<()> {
        let now = self.clock.now();
        audit::prune(&self.db, self.settings.audit_retention, now).await?;
        rate_limits::prune(&self.db, now).await?;
        Ok(())
    }
}

/// The jobs of one round: each failure logged as it happens, the first kept.
#[derive(Default)]
struct Round {
    first_error: Option<super::Error>,
}

impl Round {
    /// `result`'s value, or `None` after logging its error as `job`'s.
    fn ran<T>(&mut self, job: &'static str, result: Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                let cause = std::error::Error::source(&e).map(ToString::to_string);
                tracing::error!(error = %e, ?cause, job, "a background job failed");
                self.first_error.get_or_insert(e);
                None
            }
        }
    }

    /// Ok, or the first error of the round.
    fn finish(self) -> Result<()> {
        self.first_error.map_or(Ok(()), Err)
    }
}
