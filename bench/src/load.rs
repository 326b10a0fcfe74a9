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

/// One request of a load run: a GraphQL operation (a JSON body POSTed to
/// `/graphql`), or a JSON:API `GET` of a path under the server.
#[derive(Debug, Clone)]
pub(crate) enum Call {
    /// `POST /graphql` with this body.
    Graphql(Value),
    /// `GET` this path (`/api/…`), as JSON:API.
    Get(String),
}

impl From<Value> for Call {
    fn from(body: Value) -> Self {
        Call::Graphql(body)
    }
}

/// Latency figures of one load run.
#[derive(Default)]
pub(crate) struct Figures {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
    pub(crate) rss_peak_kib: u64,
    /// CPU time the server process used during the run.
    pub(crate) server_cpu: Duration,
    /// CPU time every PostgreSQL process used during the run (none on SQLite,
    /// which runs inside the server).
    pub(crate) db_cpu: Duration,
}

/// CPU time (user + system) of process `pid`, from `/proc/PID/stat`, in
/// clock ticks of 1/100 s (Linux's `USER_HZ`).
fn cpu_ticks(pid: u32) -> u64 {
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after `)`.
    stat_fields(pid, &[11, 12])
}

/// The sum of the numeric fields at `at` (counted from 0 after the command
/// name) of `/proc/PID/stat`; 0 for a process that is gone.
fn stat_fields(pid: u32, at: &[usize]) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    at.iter()
        .map(|&i| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// The ids of the processes named `postgres`.
fn postgres_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .collect()
}

/// Waits (at most 2 s) until at most `count` PostgreSQL processes run: the
/// backends of a client that has just disconnected are gone, and reaped
/// with their time counted.
pub(crate) async fn postgres_processes_settle(count: usize) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while postgres_pids().len() > count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many PostgreSQL processes run now.
pub(crate) fn postgres_processes() -> usize {
    postgres_pids().len()
}

/// CPU ticks of every process named `postgres` (the server and its
/// backends), with what the backends that exited meanwhile used: PostgreSQL
/// starts a backend per connection, and a client that connects for a run
/// (pgbench) leaves none behind, its backends' time added to the
/// postmaster's reaped children's (`cutime` and `cstime`).
fn postgres_ticks() -> u64 {
    postgres_pids()
        .into_iter()
        .map(|pid| cpu_ticks(pid) + reaped_children_ticks(pid))
        .sum()
}

/// CPU ticks of the children `pid` has waited for (`cutime` + `cstime`).
fn reaped_children_ticks(pid: u32) -> u64 {
    stat_fields(pid, &[13, 14])
}

/// CPU ticks as time.
fn ticks(n: u64) -> Duration {
    Duration::from_millis(n * 10)
}

/// CPU used while `work` runs: `(server process, PostgreSQL)`.
pub(crate) struct CpuMeter {
    pid: Option<u32>,
    server: u64,
    db: u64,
}

impl CpuMeter {
    /// Starts measuring the server `pid` and PostgreSQL.
    pub(crate) fn start(pid: Option<u32>) -> Self {
        Self {
            pid,
            server: pid.map_or(0, cpu_ticks),
            db: postgres_ticks(),
        }
    }

    /// What was used since [`CpuMeter::start`].
    pub(crate) fn stop(&self) -> (Duration, Duration) {
        let server = self.pid.map_or(0, cpu_ticks).saturating_sub(self.server);
        (
            ticks(server),
            ticks(postgres_ticks().saturating_sub(self.db)),
        )
    }
}

impl Figures {
    /// Milliseconds of CPU per request: `(server, database)`.
    pub(crate) fn cpu_per_request(&self) -> (f64, f64) {
        let n = self.latencies.len().max(1) as f64;
        (
            self.server_cpu.as_secs_f64() * 1e3 / n,
            self.db_cpu.as_secs_f64() * 1e3 / n,
        )
    }

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
pub(crate) async fn load<F, C>(
    target: Target,
    key: &str,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
    make: F,
) -> Figures
where
    F: Fn() -> Option<C> + Send + Sync + 'static,
    C: Into<Call>,
{
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("a client");
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let meter = CpuMeter::start(target.pid);
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
        let (client, make, errors, base, key) = (
            client.clone(),
            make.clone(),
            errors.clone(),
            target.url.clone(),
            key.to_owned(),
        );
        let url = format!("{base}/graphql");
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
                let Some(call) = make() else { break };
                let request = match call.into() {
                    Call::Graphql(body) => client.post(&url).json(&body),
                    Call::Get(path) => client
                        .get(format!("{base}{path}"))
                        .header("accept", "application/vnd.api+json"),
                };
                let sent = Instant::now();
                let (ok, detail) = match request.bearer_auth(&key).send().await {
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
    (figures.server_cpu, figures.db_cpu) = meter.stop();
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

/// A row for workloads 1 and 2: the ratio to the least SQL, and to the
/// server's own SQL replayed.
/// On PostgreSQL, the replay's cell also says what a replayed request cost
/// PostgreSQL, and the server's request against it.
pub(crate) fn row_against(name: &str, f: &Figures, ceilings: crate::ceiling::Ceilings) {
    let mut replay = format!(
        "{:.0} % of {:.0}/s",
        100.0 * f.rps() / ceilings.replay,
        ceilings.replay
    );
    if ceilings.replay_db_ms > 0.0 {
        let (_, db_cpu) = f.cpu_per_request();
        replay += &format!(
            " (PostgreSQL {:.3} ms/req; the server's {:.2}×)",
            ceilings.replay_db_ms,
            db_cpu / ceilings.replay_db_ms
        );
    }
    print_row(name, f, Some(ceilings.least), &replay);
}

/// A row with the ratio to `ceiling`, if there is one.
pub(crate) fn row(name: &str, f: &Figures, ceiling: Option<f64>) {
    print_row(name, f, ceiling, "-");
}

fn print_row(name: &str, f: &Figures, ceiling: Option<f64>, replay: &str) {
    let ratio = ceiling.map_or("-".to_owned(), |c| {
        format!("{:.0} % of {:.0}/s", 100.0 * f.rps() / c, c)
    });
    let (server_cpu, db_cpu) = f.cpu_per_request();
    println!(
        "| {name} | {:.0} | {} | {} | {} of {} | {:.1} | {server_cpu:.3} | {db_cpu:.3} | {ratio} | {replay} |",
        f.rps(),
        ms(f.percentile(0.50)),
        ms(f.percentile(0.99)),
        f.errors,
        f.latencies.len(),
        f.rss_peak_kib as f64 / 1024.0
    );
}
