//! Password hashing: Argon2id at or above the OWASP minimum, on the blocking
//! pool, with a bound on how many hashes run at once (each takes its memory
//! cost and a core for tens of milliseconds; unbounded, a burst would exhaust
//! both and stall every other request). Excess requests wait a bounded time,
//! then are refused with `TOO_MANY_REQUESTS`.

use std::{sync::Arc, time::Duration};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use super::{Error, Result};
use crate::{
    domain::{Password, PasswordPolicy, normalize_password},
    metrics::Metrics,
};

/// OWASP's minimum Argon2id memory cost, in KiB (19 MiB).
pub const OWASP_MIN_MEMORY_KIB: u32 = 19_456;
/// OWASP's minimum Argon2id iterations.
pub const OWASP_MIN_ITERATIONS: u32 = 2;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// The OWASP minimum: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        Self {
            memory_kib: OWASP_MIN_MEMORY_KIB,
            iterations: OWASP_MIN_ITERATIONS,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    fn build(self) -> Result<Params> {
        if self.memory_kib < OWASP_MIN_MEMORY_KIB
            || self.iterations < OWASP_MIN_ITERATIONS
            || self.parallelism < 1
        {
            return Err(Error::Internal(format!(
                "Argon2id parameters {self:?} are below the OWASP minimum (m = {OWASP_MIN_MEMORY_KIB} KiB, t = {OWASP_MIN_ITERATIONS}, p = 1)"
            )));
        }
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| Error::Internal(format!("invalid Argon2id parameters: {e}")))
    }
}

/// Hashes passwords with fixed Argon2id parameters and a concurrency bound.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    config: Argon2Params,
    permits: Arc<Semaphore>,
    max_wait: Duration,
    metrics: Arc<Metrics>,
    policy: PasswordPolicy,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.config)
            .field("available_permits", &self.permits.available_permits())
            .field("max_wait", &self.max_wait)
            .finish()
    }
}

/// Cores on this machine: how many hashes may run at once by default.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl PasswordHasher {
    /// A hasher with `params` (refused below the OWASP minimum), running at most
    /// `concurrency` hashes at once; a hash that cannot start within `max_wait`
    /// is refused.
    ///
    /// # Errors
    /// [`Error::Internal`] for parameters below the OWASP minimum or invalid ones.
    pub fn new(
        params: Argon2Params,
        concurrency: usize,
        max_wait: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        Ok(Self {
            params: params.build()?,
            config: params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            max_wait,
            metrics,
            policy: PasswordPolicy::default(),
        })
    }

    /// The same hasher, enforcing `policy` on new passwords.
    pub fn with_policy(self, policy: PasswordPolicy) -> Self {
        Self { policy, ..self }
    }

    /// The policy new passwords must meet.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// A hasher at the OWASP minimum (m = 19 MiB, t = 2, p = 1), one hash per
    /// core at a time, waiting at most 5 seconds for a core.
    pub fn owasp_minimum(metrics: Arc<Metrics>) -> Self {
        Self::new(
            Argon2Params::default(),
            cores(),
            Duration::from_secs(5),
            metrics,
        )
        .expect("the OWASP minimum is a valid Argon2 parameter set")
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=…,t=…,p=…$…`)
    /// with a fresh random salt, on the blocking pool.
    ///
    /// # Errors
    /// [`Error::TooManyRequests`] when no core frees up in time (nothing was
    /// hashed); [`Error::Internal`] if the blocking task fails. No message holds the password.
    pub async fn hash(&self, password: Password) -> Result<String> {
        let permit = {
            let _waiting = Waiting::new(&self.metrics);
            tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await
        };
        let permit = match permit {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(Error::Internal("password hasher closed".into())),
            Err(_) => {
                return Err(Error::TooManyRequests {
                    retry_after: 1,
                    message: "the server is busy setting other passwords; try again in a second"
                        .into(),
                });
            }
        };
        let params = self.params.clone();
        let started = std::time::Instant::now();
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
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

    /// Whether `digest` was made with weaker parameters than this hasher's (or
    /// another algorithm): it is upgraded the next time the password is set.
    pub fn is_outdated(&self, digest: &str) -> bool {
        let Ok(hash) = PasswordHash::new(digest) else {
            return true;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return true;
        };
        hash.algorithm.as_str() != "argon2id"
            || params.m_cost() < self.config.memory_kib
            || params.t_cost() < self.config.iterations
            || params.p_cost() < self.config.parallelism
    }

    /// Takes every hashing slot until the guard drops: for tests and benchmarks
    /// that need the queue full.
    pub async fn occupy_all(&self) -> tokio::sync::OwnedSemaphorePermit {
        let all = u32::try_from(self.permits.available_permits()).unwrap_or(u32::MAX);
        self.permits
            .clone()
            .acquire_many_owned(all)
            .await
            .expect("the semaphore is never closed")
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

/// Whether `password` matches the PHC string `digest`, after the same NFKC
/// normalisation new passwords get (for checks and tooling; the service itself
/// never logs a customer in).
pub fn verify(password: &str, digest: &str) -> bool {
    PasswordHash::new(digest).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(normalize_password(password).as_bytes(), &hash)
            .is_ok()
    })
}
