//! What the work could cost at best, measured in the same run: the least SQL
//! and the server's own statements by the lightest client (see `least`), and
//! the time of one Argon2id hash.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use pwreset::{
    metrics::Metrics,
    service::{
        password::{HashingSettings, PasswordHasher, cores},
        webhooks::WebhookSettings,
    },
};
use sea_orm::Statement;
use serde_json::Value;

use crate::{
    least::{Work, ceiling},
    load::{Figures, load},
    server::Target,
};

/// The statements the server runs for `query`, captured in-process on a
/// second connection to the same database.
pub(crate) async fn statements_of(url: &str, key: &str, query: &str) -> Vec<Statement> {
    let mut db = pwreset::connect(url).await.expect("the database opens");
    let captured: Arc<Mutex<Vec<Statement>>> = Arc::default();
    let sink = captured.clone();
    db.set_metric_callback(move |info| sink.lock().expect("lock").push(info.statement.clone()));
    let principal = bench::principal(&db, key).await;
    let state = bench::state(db.clone(), db.clone().into(), WebhookSettings::default());
    let schema = pwreset::graphql::build_schema(state.clone(), &bench::http_settings().graphql);
    captured.lock().expect("lock").clear();
    // The key look-up is not among them: the server keeps verified keys for
    // API_KEY_CACHE_TTL_MS, so a request makes none.
    let response = schema
        .execute(bench::request(query, principal, &state))
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    captured.lock().expect("lock").drain(..).collect()
}

/// The two ceilings of a workload (requests per second).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ceilings {
    /// The least SQL that answers the workload.
    pub(crate) least: f64,
    /// The server's own statements.
    pub(crate) replay: f64,
    /// PostgreSQL's CPU per request of the replay, in milliseconds (0 on
    /// SQLite): what the server's own statements cost it when nothing else
    /// is sent.
    pub(crate) replay_db_ms: f64,
}

/// How a workload is run against its ceilings.
#[derive(Clone, Copy)]
pub(crate) struct Run<'a> {
    /// The server under load.
    pub(crate) target: &'a Target,
    /// The API key of the load.
    pub(crate) key: &'a str,
    /// Requests in flight at once, for the load and for the ceilings.
    pub(crate) concurrency: usize,
    /// How long each of the three runs in all.
    pub(crate) duration: Duration,
    /// Slices each run is cut into, alternating.
    pub(crate) rounds: u32,
    /// The database the ceilings query.
    pub(crate) url: &'a str,
}

/// The server's load and both ceilings, in alternating slices (`rounds` of
/// each, `duration` in all for each), so that all three meet the same
/// machine: on a shared machine, speed drifts between one ten-second window
/// and the next.
pub(crate) async fn against_ceiling<F>(
    run: &Run<'_>,
    (least, replay): (Work, Work),
    make: F,
) -> (Figures, Ceilings)
where
    F: Fn() -> Option<Value> + Clone + Send + Sync + 'static,
{
    let Run {
        target,
        key,
        concurrency,
        duration,
        rounds,
        url,
    } = *run;
    let slice = duration / rounds;
    let mut figures = Figures::default();
    let mut ceilings = Ceilings::default();
    let (mut replay_db, mut replayed) = (Duration::ZERO, 0.0);
    for _ in 0..rounds {
        let f = load(target.clone(), key, concurrency, slice, None, make.clone()).await;
        figures.latencies.extend(f.latencies);
        figures.errors += f.errors;
        figures.elapsed += f.elapsed;
        figures.rss_peak_kib = figures.rss_peak_kib.max(f.rss_peak_kib);
        figures.server_cpu += f.server_cpu;
        figures.db_cpu += f.db_cpu;
        let share = f64::from(rounds);
        ceilings.least += ceiling(url, &least, concurrency, slice).await / share;
        let processes = crate::load::postgres_processes();
        let meter = crate::load::CpuMeter::start(None);
        let rate = ceiling(url, &replay, concurrency, slice).await;
        crate::load::postgres_processes_settle(processes).await;
        replay_db += meter.stop().1;
        replayed += rate * slice.as_secs_f64();
        ceilings.replay += rate / share;
    }
    if replayed > 0.0 {
        ceilings.replay_db_ms = replay_db.as_secs_f64() * 1e3 / replayed;
    }
    (figures, ceilings)
}

/// The time of one Argon2id hash with the default parameters: the mean of
/// ten, one after another, on one hashing thread.
pub(crate) async fn one_hash() -> Duration {
    let settings = HashingSettings {
        concurrency: Some(1),
        queue_timeout: Duration::from_secs(60),
        ..HashingSettings::default()
    };
    let hasher = PasswordHasher::new(&settings, Arc::new(Metrics::new())).expect("a hasher");
    let started = Instant::now();
    for _ in 0..10 {
        let password = pwreset::domain::Password::parse(
            "a timing passphrase".into(),
            &Default::default(),
            None,
        )
        .expect("valid");
        hasher.hash(password).await.expect("hashed");
    }
    started.elapsed() / 10
}

/// How many hashes per second the cores manage when they all hash at once,
/// with no server: the gap to the one-hash ceiling is the hardware's (shared
/// caches and memory bandwidth, or vCPUs that share a physical core), not the
/// server's.
pub(crate) async fn parallel_hashes() -> f64 {
    let settings = HashingSettings {
        queue_timeout: Duration::from_secs(60),
        ..HashingSettings::default()
    };
    let hasher = PasswordHasher::new(&settings, Arc::new(Metrics::new())).expect("a hasher");
    let started = Instant::now();
    let hashes = cores() * 10;
    let tasks: Vec<_> = (0..hashes)
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                let password = pwreset::domain::Password::parse(
                    "a timing passphrase".into(),
                    &Default::default(),
                    None,
                )
                .expect("valid");
                hasher.hash(password).await.expect("hashed");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a hash");
    }
    hashes as f64 / started.elapsed().as_secs_f64()
}
