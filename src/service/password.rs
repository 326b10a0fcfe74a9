//! Password hashing: Argon2id at or above the OWASP minimum, on dedicated
//! low-priority threads (never on an async worker), with a bound on how many
//! hashes run at once (each takes its memory cost and a core for tens of
//! milliseconds; unbounded, a burst would exhaust both and stall every other
//! request). A hash holds its slot until its thread has finished it, even if
//! the request that asked for it is gone, so the bound holds under
//! cancellation; a job whose request is gone before a thread takes it is
//! dropped unhashed. Excess requests wait in a bounded line for a bounded
//! time, then are refused with `TOO_MANY_REQUESTS`.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, PasswordVerifier, Version,
    password_hash::{Output, ParamsString, SaltString, rand_core::OsRng},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Error, Result};
use crate::{
    domain::{Password, PasswordPolicy, normalize_password},
    flags,
    metrics::Metrics,
};

/// OWASP's minimum Argon2id memory cost, in KiB (19 MiB).
pub const OWASP_MIN_MEMORY_KIB: u32 = 19_456;
/// OWASP's minimum Argon2id iterations.
pub const OWASP_MIN_ITERATIONS: u32 = 2;

/// Argon2id cost parameters; by default the OWASP minimum (m = 19 MiB, t = 2, p = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Argon2Params {
    /// Argon2id memory cost in KiB; at least the OWASP minimum, 19456.
    #[arg(long = "argon2-memory-kib", env = "ARGON2_MEMORY_KIB", default_value_t = OWASP_MIN_MEMORY_KIB,
          value_parser = clap::value_parser!(u32).range(19_456..=4_194_304), global = true)]
    pub memory_kib: u32,
    /// Argon2id iterations; at least the OWASP minimum, 2.
    #[arg(long = "argon2-iterations", env = "ARGON2_ITERATIONS", default_value_t = OWASP_MIN_ITERATIONS,
          value_parser = clap::value_parser!(u32).range(2..=100), global = true)]
    pub iterations: u32,
    /// Argon2id parallelism (lanes).
    #[arg(long = "argon2-parallelism", env = "ARGON2_PARALLELISM", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        flags::defaults()
    }
}

/// How passwords are judged and hashed: each field is a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Passwords and hashing")]
pub struct HashingSettings {
    /// Fewest characters a new password may have (8 to 64). NIST SP 800-63B
    /// recommends 15 when the password is the only factor.
    #[arg(long = "password-min-length", env = "PASSWORD_MIN_LENGTH", default_value = "8",
          value_parser = flags::count(8..=64), global = true)]
    pub password_min_length: usize,
    /// The Argon2id costs.
    #[command(flatten)]
    pub argon2: Argon2Params,
    /// Password hashes run at once; the number of cores by default.
    #[arg(long = "hash-concurrency", env = "HASH_CONCURRENCY",
          value_parser = flags::count(1..=1024), global = true)]
    pub concurrency: Option<usize>,
    /// How long a password hash may wait for a free slot before the request is
    /// refused with TOO_MANY_REQUESTS, in milliseconds.
    #[arg(long = "hash-queue-timeout-ms", env = "HASH_QUEUE_TIMEOUT_MS", default_value = "5000",
          value_parser = flags::millis(1..=60_000), global = true)]
    pub queue_timeout: Duration,
    /// How many requests may wait for a hashing slot at once; more are refused
    /// at once with TOO_MANY_REQUESTS.
    #[arg(long = "hash-queue-max", env = "HASH_QUEUE_MAX", default_value = "100",
          value_parser = flags::count(1..=100_000), global = true)]
    pub queue_max: usize,
}

impl Default for HashingSettings {
    fn default() -> Self {
        flags::defaults()
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
    config: Argon2Params,
    permits: Arc<Semaphore>,
    max_wait: Duration,
    /// Requests waiting for a slot, and how many may.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    metrics: Arc<Metrics>,
    policy: PasswordPolicy,
    /// The hashing threads: one per slot, at the lowest CPU priority, each
    /// reusing its own Argon2 working memory.
    pool: Arc<HashPool>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.config)
            .field("available_permits", &self.permits.available_permits())
            .field("max_wait", &self.max_wait)
            .field("max_waiting", &self.max_waiting)
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
    /// A hasher as `settings` say: their Argon2id costs (refused below the
    /// OWASP minimum), at most `concurrency` hashes at once (one per core by
    /// default), a hash refused when it cannot start within `queue_timeout`
    /// or when `queue_max` requests wait already, and their password policy.
    ///
    /// # Errors
    /// [`Error::Internal`] for parameters below the OWASP minimum or invalid ones.
    pub fn new(settings: &HashingSettings, metrics: Arc<Metrics>) -> Result<Self> {
        let concurrency = settings.concurrency.unwrap_or_else(cores).max(1);
        let params = settings.argon2;
        let pool = HashPool::start(concurrency, params.build()?, metrics.clone())?;
        Ok(Self {
            config: params,
            permits: Arc::new(Semaphore::new(concurrency)),
            max_wait: settings.queue_timeout,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: settings.queue_max,
            metrics,
            policy: PasswordPolicy {
                min_chars: settings.password_min_length,
            },
            pool: Arc::new(pool),
        })
    }

    /// The policy new passwords must meet.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// A hasher at the OWASP minimum (m = 19 MiB, t = 2, p = 1), one hash per
    /// core at a time, waiting at most 5 seconds for a core: the defaults.
    pub fn owasp_minimum(metrics: Arc<Metrics>) -> Self {
        Self::new(&HashingSettings::default(), metrics)
            .expect("the OWASP minimum is a valid Argon2 parameter set")
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=…,t=…,p=…$…`)
    /// with a fresh random salt, on one of the hashing threads. Dropping the
    /// future while it waits for a slot leaves the line at once; a job already
    /// handed to a thread keeps its slot until the thread is done with it.
    ///
    /// # Errors
    /// [`Error::TooManyRequests`] when the line of waiting requests is full,
    /// or no slot frees up in time (nothing was hashed); [`Error::Internal`]
    /// if a hashing thread fails. No message holds the password.
    pub async fn hash(&self, password: Password) -> Result<String> {
        // The wait for a slot and the hashing; no attribute but the outcome.
        let mut span = crate::telemetry::child("argon2id hash", crate::telemetry::Kind::Internal);
        let hashed = self.hash_untraced(password).await;
        if let Err(e) = &hashed {
            span.fail(match e {
                Error::TooManyRequests { .. } => "busy",
                _ => "failed",
            });
        }
        hashed
    }

    async fn hash_untraced(&self, password: Password) -> Result<String> {
        let busy = || Error::TooManyRequests {
            retry_after: 1,
            message: "the server is busy setting other passwords; try again in a second".into(),
        };
        let permit = {
            let _waiting =
                Waiting::enter(&self.waiting, self.max_waiting, &self.metrics).ok_or_else(busy)?;
            tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await
        };
        let permit = match permit {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(Error::Internal("password hasher closed".into())),
            Err(_) => return Err(busy()),
        };
        let started = std::time::Instant::now();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            password,
            reply,
            permit,
        };
        self.pool
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| Error::Internal("the hashing threads stopped".into()))?;
        let digest = answer
            .await
            .map_err(|_| Error::Internal("a hashing thread failed".into()))?;
        digest.inspect(|_| self.metrics.hash_done(started.elapsed()))
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

/// One password to hash, where the PHC string goes, and the slot it holds
/// until its thread is done with it.
struct Job {
    password: Password,
    reply: tokio::sync::oneshot::Sender<Result<String>>,
    permit: OwnedSemaphorePermit,
}

/// Dedicated hashing threads. They run at the lowest CPU priority (niceness
/// 19), so while hashes saturate the cores the async workers serving reads are
/// still scheduled first; and each keeps one Argon2 working buffer, so memory
/// stays at one buffer per thread however many hashes run.
struct HashPool {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl HashPool {
    fn start(threads: usize, params: Params, metrics: Arc<Metrics>) -> Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let (queue, params, metrics) = (queue.clone(), params.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    if let Err(e) = thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Min,
                    ) {
                        tracing::warn!(error = %e, "could not lower the hashing thread's priority");
                    }
                    // Allocated at the first hash, then kept: an idle server stays small.
                    let mut blocks: Vec<Block> = Vec::new();
                    loop {
                        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(Job {
                            password,
                            reply,
                            permit,
                        }) = job
                        else {
                            return;
                        };
                        // Nobody waits for it any more: not worth a core.
                        if reply.is_closed() {
                            continue;
                        }
                        if blocks.is_empty() {
                            blocks = vec![Block::default(); params.block_count()];
                        }
                        let digest = phc_hash(&params, password.expose(), &mut blocks);
                        metrics.hash_computed();
                        let _ = reply.send(digest);
                        drop(permit);
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self {
            jobs: Mutex::new(jobs),
        })
    }
}

/// Argon2id of `password` with a fresh random salt, in `blocks`, as a PHC string.
fn phc_hash(params: &Params, password: &[u8], blocks: &mut [Block]) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| Error::Internal(format!("argon2: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| fail(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt_bytes, &mut out, blocks)
        .map_err(|e| fail(&e))?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params.clone()).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(hash.to_string())
}

/// A place in the line of requests waiting for a slot, left when dropped
/// (even if the request is), and counted in the queue gauge meanwhile.
struct Waiting<'a> {
    line: &'a AtomicUsize,
    metrics: &'a Metrics,
}

impl<'a> Waiting<'a> {
    /// A place in `line`, if fewer than `max` wait in it.
    fn enter(line: &'a AtomicUsize, max: usize, metrics: &'a Metrics) -> Option<Self> {
        line.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()?;
        metrics.hash_queued();
        Some(Self { line, metrics })
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.line.fetch_sub(1, Ordering::AcqRel);
        self.metrics.hash_dequeued();
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
