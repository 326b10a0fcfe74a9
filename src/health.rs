//! Whether the database answers, known at once. A request that finds the
//! database unreachable marks it down; from then on requests and `/readyz`
//! answer 503 without waiting on the pool, while one background probe tries
//! a connection of its own every [`PROBE_INTERVAL`] and marks the database up
//! as soon as one succeeds.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::DatabaseConnection;

/// How often the probe tries the database while it is down.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// How long one probe waits for a connection.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Whether the database is known to be down, and why; shared by every clone.
#[derive(Debug, Clone, Default)]
pub struct DatabaseHealth(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    down: AtomicBool,
    /// Why, as the probe last found it (no URL, no password).
    cause: Mutex<Option<String>>,
}

impl DatabaseHealth {
    /// Whether the database is known to be down: answer 503 at once.
    pub fn is_down(&self) -> bool {
        self.0.down.load(Ordering::Acquire)
    }

    /// Why the database is down, once the probe has found out.
    pub fn cause(&self) -> Option<String> {
        if !self.is_down() {
            return None;
        }
        self.0.cause.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// `db` did not answer. The first call of an outage starts the probe
    /// (a task on the current runtime) and logs the cause once; later calls
    /// change nothing.
    pub fn mark_down(&self, db: &DatabaseConnection) {
        if self.0.down.swap(true, Ordering::AcqRel) {
            return;
        }
        let (health, db) = (self.clone(), db.clone());
        tokio::spawn(async move { health.probe_until_up(&db).await });
    }

    /// Tries `db` until it answers, then marks it up.
    async fn probe_until_up(&self, db: &DatabaseConnection) {
        let mut logged = None;
        loop {
            let Some(cause) = crate::database::probe(db, PROBE_TIMEOUT).await else {
                break;
            };
            if logged.as_ref() != Some(&cause) {
                tracing::error!(%cause, "the database cannot be reached; answering 503 until it is back");
                logged = Some(cause.clone());
            }
            if let Ok(mut slot) = self.0.cause.lock() {
                *slot = Some(cause);
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        // Connections pooled before the outage are most likely broken: the
        // first requests after it should not each find one.
        crate::database::drop_broken_idle(db).await;
        if let Ok(mut slot) = self.0.cause.lock() {
            *slot = None;
        }
        self.0.down.store(false, Ordering::Release);
        tracing::info!("the database answers again");
    }
}
