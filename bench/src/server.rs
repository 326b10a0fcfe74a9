//! The server under test: the real `pwreset` server in a child process on
//! 127.0.0.1, started and stopped by the benchmark.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use pwreset::service::webhooks::WebhookSettings;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The child process: the real server, on 127.0.0.1, printing its address.
pub(crate) async fn serve(url: String) {
    let started = Instant::now();
    let db = pwreset::connect(&url).await.expect("the database opens");
    pwreset::migrate(&db).await.expect("migrations run");
    let reader = pwreset::connect_reader(&url, &db)
        .await
        .expect("the database opens for reading");
    let state = bench::state(
        db,
        reader,
        WebhookSettings {
            allow_private_targets: true,
            poll_interval: Some(Duration::from_millis(200)),
            ..WebhookSettings::default()
        },
    );
    let http = bench::http_settings();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    println!(
        "{} {}",
        listener.local_addr().expect("an address"),
        started.elapsed().as_micros()
    );
    pwreset::serve(listener, state, http, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .expect("the server runs");
}

/// Where a load goes, and whose memory it samples.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) pid: Option<u32>,
}

/// A running server child process.
pub(crate) struct Server {
    child: tokio::process::Child,
    pub(crate) url: String,
}

impl Server {
    pub(crate) async fn start(database_url: &str) -> (Self, Duration) {
        let started = Instant::now();
        let mut child =
            tokio::process::Command::new(std::env::current_exe().expect("the bench binary"))
                .args(["--serve", database_url])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("the server starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines
            .next_line()
            .await
            .expect("the server prints its address")
            .expect("a line");
        let addr = line
            .split_whitespace()
            .next()
            .expect("an address")
            .to_owned();
        let url = format!("http://{addr}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client
                .get(format!("{url}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            assert!(Instant::now() < deadline, "the server never became ready");
            tokio::task::yield_now().await;
        }
        let ready = started.elapsed();
        (Self { child, url }, ready)
    }

    pub(crate) fn target(&self) -> Target {
        Target {
            url: self.url.clone(),
            pid: self.child.id(),
        }
    }

    pub(crate) fn rss_kib(&self) -> u64 {
        let Some(pid) = self.child.id() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Waits until the server's background jobs have turned every queued
/// storefront request into a reset (or into nothing) and sent every email, so
/// that the next workload meets a quiet server rather than workload 3's
/// backlog; says how long that took (on standard error, outside the table).
pub(crate) async fn settle(db: &sea_orm::DatabaseConnection) {
    use pwreset::entity::{reset_email, reset_request};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let started = Instant::now();
    loop {
        let queued = reset_request::Entity::find()
            .count(db)
            .await
            .expect("the queue is readable");
        let unsent = reset_email::Entity::find()
            .filter(reset_email::Column::Status.eq("pending"))
            .count(db)
            .await
            .expect("the email outbox is readable");
        if queued + unsent == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            eprintln!(
                "(the background jobs still had {queued} requests and {unsent} emails after 300 s)"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "(the background jobs settled in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
}
