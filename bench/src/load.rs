//! The load generator: concurrent HTTP clients for a fixed time (or at a
//! fixed rate), and the figures of a run.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::server::Target;

/// Latency figures of one load run.
#[derive(Default)]
pub(crate) struct Figures {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
    pub(crate) rss_peak_kib: u64,
}

impl Figures {
    pub(crate) fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
    pub(crate) fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }
}

/// Sends `make()` requests from `concurrency` clients for `duration`, or at
/// `rate` per second in total when given. A response that is not 200 or has
/// GraphQL errors counts as an error.
pub(crate) async fn load<F>(
    target: Target,
    key: &str,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
    make: F,
) -> Figures
where
    F: Fn() -> Option<Value> + Send + Sync + 'static,
{
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("a client");
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let rss = {
        let pid = target.pid;
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                if let Some(pid) = pid {
                    let kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
                        .ok()
                        .and_then(|s| {
                            s.lines()
                                .find(|l| l.starts_with("VmRSS:"))
                                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                        })
                        .unwrap_or(0);
                    peak = peak.max(kib);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        })
    };
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, make, errors, url, key) = (
            client.clone(),
            make.clone(),
            errors.clone(),
            format!("{}/graphql", target.url),
            key.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let interval = rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r));
            let mut next = Instant::now()
                + interval.map_or(Duration::ZERO, |i| {
                    i.mul_f64(worker as f64 / concurrency as f64)
                });
            while Instant::now() < deadline {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                let Some(body) = make() else { break };
                let sent = Instant::now();
                let (ok, detail) =
                    match client.post(&url).bearer_auth(&key).json(&body).send().await {
                        Ok(response) => {
                            let status = response.status();
                            let body = response.json::<Value>().await.unwrap_or(Value::Null);
                            (
                                status.is_success() && succeeded(&body),
                                format!("HTTP {status}: {body}"),
                            )
                        }
                        Err(e) => (false, e.to_string()),
                    };
                latencies.push(sent.elapsed());
                if !ok && errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "first error: {}",
                        detail.chars().take(300).collect::<String>()
                    );
                }
            }
            latencies
        }));
    }
    let mut figures = Figures::default();
    for task in tasks {
        figures.latencies.extend(task.await.expect("a load task"));
    }
    figures.elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    figures.rss_peak_kib = rss.await.unwrap_or(0);
    figures.errors = errors.load(Ordering::Relaxed);
    figures
}

/// Whether a GraphQL response succeeded: no `errors`, and no `userErrors` in
/// a mutation payload.
pub(crate) fn succeeded(body: &Value) -> bool {
    let refused = body["data"].as_object().is_some_and(|fields| {
        fields
            .values()
            .any(|f| f["userErrors"].as_array().is_some_and(|e| !e.is_empty()))
    });
    body.get("errors").is_none() && !refused
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

pub(crate) fn row(name: &str, f: &Figures, ceiling: Option<f64>) {
    let ratio = ceiling.map_or("-".to_owned(), |c| {
        format!("{:.0} % of {:.0}/s", 100.0 * f.rps() / c, c)
    });
    println!(
        "| {name} | {:.0} | {} | {} | {} of {} | {:.1} | {ratio} |",
        f.rps(),
        ms(f.percentile(0.50)),
        ms(f.percentile(0.99)),
        f.errors,
        f.latencies.len(),
        f.rss_peak_kib as f64 / 1024.0
    );
}
