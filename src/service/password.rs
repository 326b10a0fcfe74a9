//! Password hashing: Argon2id at or above the OWASP minimum, on the blocking
//! pool, with a bound on how many hashes run at once (each takes ~19 MiB and a
//! core for tens of milliseconds; unbounded, a burst would exhaust both).

use std::{sync::Arc, time::Instant};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use super::{Error, Result};
use crate::{domain::Password, metrics::Metrics};

/// OWASP's minimum Argon2id memory cost, in KiB (19 MiB).
pub const OWASP_MIN_MEMORY_KIB: u32 = 19_456;
/// OWASP's minimum Argon2id iterations.
pub const OWASP_MIN_ITERATIONS: u32 = 2;

/// Hashes passwords with fixed Argon2id parameters and a concurrency bound.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

impl PasswordHasher {
    /// A hasher at the OWASP minimum (m = 19 MiB, t = 2, p = 1) that runs at most
    /// one hash per core at a time and reports to `metrics`.
    pub fn owasp_minimum(metrics: Arc<Metrics>) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let params = Params::new(OWASP_MIN_MEMORY_KIB, OWASP_MIN_ITERATIONS, 1, None)
            .expect("the OWASP minimum is a valid Argon2 parameter set");
        Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            metrics,
        }
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`)
    /// with a fresh random salt, on the blocking pool.
    ///
    /// # Errors
    /// [`Error::Internal`] if the blocking task fails; the message never holds the password.
    pub async fn hash(&self, password: Password) -> Result<String> {
        let permit = {
            let _waiting = Waiting::new(&self.metrics);
            self.permits.acquire().await
        };
        let _permit = permit.map_err(|_| Error::Internal("password hasher closed".into()))?;
        let params = self.params.clone();
        let started = Instant::now();
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.expose(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| Error::Internal(format!("argon2: {e}")))
                .inspect(|_| metrics.hash_done(started.elapsed()))
        })
        .await
        .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))?
    }
}

/// Counts a hash in the queue gauge while it waits, even if the request is dropped.
struct Waiting<'a>(&'a Metrics);

impl<'a> Waiting<'a> {
    fn new(metrics: &'a Metrics) -> Self {
        metrics.hash_queued();
        Self(metrics)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.hash_dequeued();
    }
}

/// Whether `password` matches the PHC string `digest` (for checks and tooling;
/// the service itself never logs a customer in).
pub fn verify(password: &str, digest: &str) -> bool {
    PasswordHash::new(digest).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}
