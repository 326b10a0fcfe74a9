//! An external load generator beside the in-process one: `wrk`, as a user
//! measuring the server beside another would drive it. It POSTs GraphQL
//! bodies over keep-alive connections, one Lua script per workload, and its
//! summary is read back; the server's and PostgreSQL's CPU are metered
//! around it as for the in-process load.

use std::time::Duration;

use crate::{
    ceiling::Ceilings,
    load::{CpuMeter, ms},
    server::Target,
};

/// What one `wrk` run reported, with the CPU metered around it.
#[derive(Debug, Default)]
pub(crate) struct WrkFigures {
    requests: u64,
    rps: f64,
    p50: Duration,
    p99: Duration,
    /// Answers that were not 2xx or 3xx, and socket errors.
    errors: u64,
    server_cpu: Duration,
    db_cpu: Duration,
}

/// Whether `wrk` is on the `PATH`.
pub(crate) fn available() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok()
}

/// Drives `target`'s `/graphql` with `wrk` at `concurrency` connections for
/// `duration`, POSTing `bodies` in turn with the `key`.
///
/// # Panics
/// If `wrk` cannot run or its summary cannot be read.
pub(crate) async fn wrk(
    target: &Target,
    key: &str,
    bodies: &[String],
    concurrency: usize,
    duration: Duration,
) -> WrkFigures {
    let script = lua(key, bodies);
    let file = std::env::temp_dir().join(format!("pwreset-wrk-{}.lua", std::process::id()));
    std::fs::write(&file, script).expect("the wrk script");
    let threads = pwreset::service::password::cores().min(concurrency).max(1);
    let meter = CpuMeter::start(target.pid);
    let output = tokio::process::Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{concurrency}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg("-s")
        .arg(&file)
        .arg(format!("{}/graphql", target.url))
        .output()
        .await
        .expect("wrk runs");
    let (server_cpu, db_cpu) = meter.stop();
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    WrkFigures {
        server_cpu,
        db_cpu,
        ..summary(&text).unwrap_or_else(|| panic!("a wrk summary: {text}"))
    }
}

/// The Lua script: every request a POST of the next body, with the key.
fn lua(key: &str, bodies: &[String]) -> String {
    let mut script = String::from("local bodies = {\n");
    for body in bodies {
        assert!(!body.contains("]==]"), "a body that ends the long string");
        script.push_str(&format!("  [==[{body}]==],\n"));
    }
    script.push_str(&format!(
        r#"}}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"#
    ));
    script
}

/// Reads `wrk --latency`'s summary: the 50 % and 99 % latencies, the
/// requests and their rate, and the errors.
fn summary(text: &str) -> Option<WrkFigures> {
    let mut figures = WrkFigures::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", latency] => figures.p50 = duration(latency)?,
            ["99%", latency] => figures.p99 = duration(latency)?,
            [n, "requests", "in", ..] => figures.requests = n.parse().ok()?,
            ["Requests/sec:", rate] => figures.rps = rate.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => figures.errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", ..] => {
                figures.errors += line
                    .split(',')
                    .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    (figures.requests > 0).then_some(figures)
}

/// `wrk`'s durations: `812.00us`, `1.23ms`, `1.01s`.
fn duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    Some(Duration::from_secs_f64(number.parse::<f64>().ok()? * scale))
}

/// A row of the results table, as the in-process rows are printed.
pub(crate) fn row(name: &str, f: &WrkFigures, ceilings: Option<&Ceilings>) {
    let n = f.requests.max(1) as f64;
    let per = |cpu: Duration| cpu.as_secs_f64() * 1e3 / n;
    let (ratio, replay) = ceilings.map_or(("-".to_owned(), "-".to_owned()), |c| {
        (
            format!("{:.0} % of {:.0}/s", 100.0 * f.rps / c.least, c.least),
            format!("{:.0} % of {:.0}/s", 100.0 * f.rps / c.replay, c.replay),
        )
    });
    println!(
        "| {name} | {:.0} | {} | {} | {} of {} | - | {:.3} | {:.3} | {ratio} | {replay} |",
        f.rps,
        ms(f.p50),
        ms(f.p99),
        f.errors,
        f.requests,
        per(f.server_cpu),
        per(f.db_cpu),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_summary_is_read() {
        let text = "Running 15s test @ http://127.0.0.1:1/graphql
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.10ms    4.20ms  61.64ms   73.09%
  Latency Distribution
     50%   12.53ms
     75%   15.36ms
     90%   18.32ms
     99%  812.00us
  36500 requests in 15.01s, 160.98MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2431.71
Transfer/sec:     10.72MB
";
        let f = summary(text).unwrap();
        assert_eq!(f.requests, 36_500);
        assert!((f.rps - 2431.71).abs() < 1e-9);
        assert_eq!(f.p50, Duration::from_secs_f64(12.53e-3));
        assert_eq!(f.p99, Duration::from_secs_f64(812e-6));
        assert_eq!(f.errors, 7);
        assert!(summary("wrk: connection refused").is_none());
    }
}
