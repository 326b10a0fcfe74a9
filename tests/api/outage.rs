//! When the database goes away: requests are answered 503 with
//! `Retry-After` at once, not after a long wait, and service resumes as soon
//! as it is back.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use tokio::{net::TcpListener, task::JoinSet};

use crate::helpers::{Options, PrivatePostgres, TestApp, TestDb, error_codes, start_time};

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    piped: Arc<tokio::sync::Mutex<JoinSet<()>>>,
}

impl Proxy {
    async fn start(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let piped: Arc<tokio::sync::Mutex<JoinSet<()>>> = Arc::default();
        let (up_now, pipes) = (up.clone(), piped.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                // Checked under the lock `cut` takes: no pipe opens after it.
                let mut pipes = pipes.lock().await;
                if !up_now.load(Ordering::SeqCst) {
                    drop(client); // the database is "down": the door closes at once
                    continue;
                }
                pipes.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { addr, up, piped }
    }

    /// The database goes away: every connection drops, new ones are refused.
    /// Returns once every pipe is gone, not merely told to go: an aborted
    /// task may still be carrying a query on another worker thread.
    async fn cut(&self) {
        let mut pipes = self.piped.lock().await;
        self.up.store(false, Ordering::SeqCst);
        pipes.abort_all();
        while pipes.join_next().await.is_some() {}
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn count(app: &TestApp) -> reqwest::Response {
    let body = json!({ "query": "{ customers { totalCount } }" });
    let request = app
        .client
        .post(app.url())
        .bearer_auth(&app.integration)
        .json(&body);
    // A guard, not a measure: the old server hung here for the pool's whole wait.
    tokio::time::timeout(Duration::from_secs(10), request.send())
        .await
        .expect("answered, not hung")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_fail_fast_while_the_database_is_away_and_recover_when_it_is_back() {
    let (test_db, db) = TestDb::new().await;
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let through = test_db
        .connect_through(proxy.addr, Duration::from_millis(500))
        .await;
    let pg = through.is_some();
    let clock = Arc::new(pwreset::service::ManualClock::new(start_time()));
    let app = TestApp::start(test_db, through.unwrap_or(db), Options::default(), clock).await;
    assert_eq!(count(&app).await.status(), 200);

    if pg {
        proxy.cut().await;
    } else {
        // SQLite cannot be stopped from outside: close the server's pools.
        app.db.clone().close().await.unwrap();
        app.state.reader.close().await.unwrap();
    }
    let down = count(&app).await;
    let (status, retry) = (down.status(), down.headers().get("retry-after").cloned());
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.unwrap(), "1");
    assert_eq!(error_codes(&body), ["SERVICE_UNAVAILABLE"]);
    let text = body.to_string();
    assert!(!text.contains("sqlx") && !text.contains("5432"), "{text}");

    if pg {
        proxy.restore();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while count(&app).await.status() != 200 {
            assert!(tokio::time::Instant::now() < deadline, "never recovered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `/readyz` on the public listener, guarded like `count`.
async fn ready(app: &TestApp) -> reqwest::StatusCode {
    let request = app.client.get(format!("http://{}/readyz", app.addr)).send();
    tokio::time::timeout(Duration::from_secs(10), request)
        .await
        .expect("answered, not hung")
        .unwrap()
        .status()
}

/// A PostgreSQL of the test's own is stopped: once the server has seen it
/// gone, requests and `/readyz` answer 503 without waiting on the pool (its
/// wait is `DB_ACQUIRE_TIMEOUT_MS`, 2 s), the log names the cause, and once
/// PostgreSQL is back the probe finds it within its interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_postgresql_is_answered_503_at_once_and_served_soon_after_its_return() {
    let Some(cluster) = PrivatePostgres::start().await else {
        return;
    };
    let url = cluster.url();
    let pool_wait = Duration::from_secs(2);
    let db = sea_orm::Database::connect(pwreset::database::connect_options(&url, pool_wait))
        .await
        .unwrap();
    let clock = Arc::new(pwreset::service::ManualClock::new(start_time()));
    let app = TestApp::start(TestDb::external(&url), db, Options::default(), clock).await;
    assert_eq!(count(&app).await.status(), 200);
    assert_eq!(ready(&app).await, 200);

    cluster.stop().await;
    // The first request finds out (within the pool's wait, at most).
    assert_eq!(count(&app).await.status(), 503);
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let down = count(&app).await;
        let readiness = ready(&app).await;
        slowest = slowest.max(started.elapsed() / 2);
        assert_eq!(down.status(), 503);
        assert_eq!(down.headers()["retry-after"], "1");
        let body: serde_json::Value = down.json().await.unwrap();
        assert_eq!(error_codes(&body), ["SERVICE_UNAVAILABLE"]);
        assert_eq!(readiness, 503);
    }
    eprintln!("slowest 503 while PostgreSQL was stopped: {slowest:?}");
    // A guard with a wide margin, not a benchmark: an answer that waited on
    // the pool would take its whole wait.
    assert!(slowest < pool_wait / 4, "{slowest:?}");
    let cause = app.state.health.cause().expect("the probe found the cause");
    assert!(cause.contains("connection refused"), "{cause}");

    cluster.start_again().await;
    let back = std::time::Instant::now();
    while count(&app).await.status() != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "not served within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "served again {:?} after PostgreSQL accepted connections",
        back.elapsed()
    );
    assert_eq!(ready(&app).await, 200);
}

/// PostgreSQL drops every connection between two requests (a restart, a
/// failover, a proxy that recycled them): the next read is answered, not
/// failed with 503, because the server's reads find their connection broken,
/// let the idle ones go and run again on a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_on_connections_broken_since_their_last_use_are_answered() {
    let (test_db, _direct) = TestDb::new().await;
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let Some(through) = test_db
        .connect_through(proxy.addr, Duration::from_millis(500))
        .await
    else {
        return; // SQLite has no connection to break
    };
    let clock = Arc::new(pwreset::service::ManualClock::new(start_time()));
    let app = TestApp::start(test_db, through, Options::default(), clock).await;
    // Several reads at once, so that the read pool holds several connections.
    let (first, second, third) = tokio::join!(count(&app), count(&app), count(&app));
    for answer in [first, second, third] {
        assert_eq!(answer.status(), 200);
    }
    let idle = match &app.state.reader {
        pwreset::Reader::Postgres(reads) => reads.idle(),
        pwreset::Reader::Pool(_) => panic!("PostgreSQL reads go through their own pool"),
    };
    assert!(idle >= 1, "{idle}");

    proxy.cut().await;
    proxy.restore();
    for _ in 0..3 {
        let answer = count(&app).await;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            body["data"]["customers"]["totalCount"].is_number(),
            "{body}"
        );
    }
    assert!(!app.state.health.is_down());
}

/// Reads cut off while PostgreSQL runs them (a client that hangs up, a
/// request's deadline) leave the read pool whole: their connections, in an
/// unknown state, are closed rather than handed to the next read, and their
/// places are free again, so the next reads get their own rows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_cut_off_mid_statement_leave_the_read_pool_whole() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let (test_db, db) = TestDb::new().await;
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let reader = pwreset::connect_reader(&test_db.url, &db).await.unwrap();
    let marker = format!("cut_off_{}", std::process::id());
    let sleeper = format!("SELECT pg_sleep(3) AS {marker}");
    let mut running = JoinSet::new();
    for _ in 0..pwreset::database::READ_CONNECTIONS {
        let (reader, sql) = (reader.clone(), sleeper.clone());
        running.spawn(async move {
            let _ = reader
                .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await;
        });
    }
    // Every place in the pool is taken by a statement PostgreSQL is running.
    let watching = format!(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%AS {marker}'"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                watching.clone(),
            ))
            .await
            .unwrap()
            .unwrap();
        let active: i64 = row.try_get("", "n").unwrap();
        if active as usize == pwreset::database::READ_CONNECTIONS {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{active} running");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.abort_all();
    while running.join_next().await.is_some() {}

    // Twice as many reads as the pool has places, each with its own answer,
    // none waiting for a place (a place kept by a cut-off read would make
    // the last ones wait the pool's 2 s and fail).
    for n in 0..2 * pwreset::database::READ_CONNECTIONS as i64 {
        let rows = tokio::time::timeout(
            Duration::from_secs(1),
            reader.query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT $1::int8 AS n",
                [n.into()],
            )),
        )
        .await
        .expect("a place in the pool")
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].try_get::<i64>("", "n").unwrap(), n);
    }
    match &reader {
        pwreset::Reader::Postgres(reads) => assert_eq!(reads.idle(), 1),
        pwreset::Reader::Pool(_) => panic!("PostgreSQL reads go through their own pool"),
    }
    // What `/metrics` reports: the cut-off connections are counted closed.
    assert_eq!(reader.connections(), (1, 1));
}
