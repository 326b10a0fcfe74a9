//! The ceilings of workloads 1 and 2, measured by the lightest client there
//! is, at the server's concurrency: `pgbench -M prepared` on PostgreSQL, a
//! loop of prepared statements on a raw sqlx pool on SQLite. Two statement
//! sets are measured:
//! - the **least SQL** that answers the workload: one statement per request
//!   (the page joined to its customers, or the reset by id), only the columns
//!   the query asks for;
//! - a **replay** of the server's own statements (the key look-up included),
//!   a diagnostic: the gap between the two is the cost of the SQL the server
//!   sends; the gap between the server and its replay, the cost of the rest.

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rand::seq::IndexedRandom;
use sea_orm::{Statement, sqlx};

/// Workload 1's least SQL: the first page (50 and one more, for
/// `hasNextPage`) of the test mode's resets, newest first, each with its
/// customer's email.
pub(crate) const LIST: &str = "SELECT r.public_id, r.customer_email, r.created_at, r.expires_at, \
r.reset_password_at, r.invalidated_at, c.email FROM customer_password_resets r \
JOIN customers c ON c.id = r.customer_id WHERE r.mode = 'test' \
ORDER BY r.created_at DESC, r.id DESC LIMIT 51";

/// Workload 2's least SQL, with the reset's public id as `$1`.
pub(crate) const BY_ID: &str = "SELECT public_id, customer_email, expires_at, \
reset_password_at, invalidated_at FROM customer_password_resets \
WHERE public_id = $1 AND mode = 'test'";

/// What a ceiling runs.
#[derive(Clone)]
pub(crate) enum Work {
    /// These statements, in order, per request (values inlined).
    Statements(Arc<Vec<String>>),
    /// [`BY_ID`] with a random one of these ids per request.
    ById(Arc<Vec<String>>),
    /// These statements, captured for the reset `sample`, run for a random
    /// one of `ids` per request: the same row every time would be a cache's
    /// best case.
    ReplayById {
        statements: Arc<Vec<String>>,
        sample: String,
        ids: Arc<Vec<String>>,
    },
}

impl Work {
    /// The server's own statements, values inlined.
    pub(crate) fn replay(statements: &[Statement]) -> Self {
        Work::Statements(Arc::new(
            statements.iter().map(ToString::to_string).collect(),
        ))
    }

    /// The server's own statements for the reset `sample`, replayed for a
    /// random one of `ids` per request.
    pub(crate) fn replay_by_id(statements: &[Statement], sample: &str, ids: Vec<String>) -> Self {
        Work::ReplayById {
            statements: Arc::new(statements.iter().map(ToString::to_string).collect()),
            sample: sample.to_owned(),
            ids: Arc::new(ids),
        }
    }

    /// One statement.
    pub(crate) fn one(sql: &str) -> Self {
        Work::Statements(Arc::new(vec![sql.to_owned()]))
    }
}

/// Requests per second `work` reaches at `concurrency` for `duration` on `url`.
pub(crate) async fn ceiling(url: &str, work: &Work, concurrency: usize, duration: Duration) -> f64 {
    if url.starts_with("postgres") {
        pgbench(url, work, concurrency, duration).await
    } else {
        sqlite_loop(url, work, concurrency, duration).await
    }
}

/// `pgbench -M prepared` running `work` as one transaction-less script.
async fn pgbench(url: &str, work: &Work, concurrency: usize, duration: Duration) -> f64 {
    let script = match work {
        Work::Statements(statements) => statements
            .iter()
            .map(|s| format!("{};\n", s.replace('\n', " ")))
            .collect::<String>(),
        // pgbench cannot draw from a list of strings: the reset is drawn by
        // its internal key, an index look-up of the same cost as the public
        // id's unique index.
        Work::ById(ids) => format!(
            "\\set n random(1, {})\n{};\n",
            ids.len(),
            BY_ID.replace("public_id = $1", "id = :n")
        ),
        // Likewise for the server's statements: the reset by internal key.
        Work::ReplayById {
            statements,
            sample,
            ids,
        } => {
            let by_key = format!("\"customer_password_resets\".\"public_id\" = '{sample}'");
            assert!(
                statements.iter().any(|s| s.contains(&by_key)),
                "the server's by-id statements select by {by_key}: {statements:?}"
            );
            let mut script = format!("\\set n random(1, {})\n", ids.len());
            for s in statements.iter() {
                let s = s
                    .replace('\n', " ")
                    .replace(&by_key, "\"customer_password_resets\".\"id\" = :n");
                script.push_str(&format!("{s};\n"));
            }
            script
        }
    };
    let file = std::env::temp_dir().join(format!("pwreset-pgbench-{}.sql", std::process::id()));
    std::fs::write(&file, script).expect("the pgbench script");
    let seconds = duration.as_secs().max(1).to_string();
    let threads = pwreset::service::password::cores().to_string();
    let (url, file2) = (url.to_owned(), file.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("pgbench")
            .args([
                "-n",
                "-M",
                "prepared",
                "-c",
                &concurrency.to_string(),
                "-j",
                &threads,
            ])
            .args(["-T", &seconds, "-f"])
            .arg(&file2)
            .arg(&url)
            .output()
    })
    .await
    .expect("pgbench ran")
    .expect("pgbench is installed (Debian package postgresql-client)");
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "pgbench printed no tps: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// A loop of prepared statements on a raw sqlx pool of read-only
/// connections, as many as the server's read pool (one per core, 2 to 8).
async fn sqlite_loop(url: &str, work: &Work, concurrency: usize, duration: Duration) -> f64 {
    let readers = pwreset::service::password::cores().clamp(2, 8) as u32;
    let options: sqlx::sqlite::SqliteConnectOptions = url
        .replace("mode=rwc", "mode=ro")
        .parse()
        .expect("an SQLite URL");
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(readers)
        .connect_with(options)
        .await
        .expect("the SQLite file opens");
    let started = Instant::now();
    let deadline = started + duration;
    let done = Arc::new(AtomicU64::new(0));
    let by_id: Arc<str> = BY_ID.replace("$1", "?").into();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (pool, work, done, by_id) = (pool.clone(), work.clone(), done.clone(), by_id.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match &work {
                    Work::Statements(statements) => {
                        for sql in statements.iter() {
                            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                                .fetch_all(&pool)
                                .await
                                .expect("a statement");
                        }
                    }
                    Work::ReplayById {
                        statements,
                        sample,
                        ids,
                    } => {
                        let id = ids.choose(&mut rand::rng()).cloned().unwrap_or_default();
                        for sql in statements.iter() {
                            let sql = sql.replace(sample.as_str(), &id);
                            sqlx::query(sqlx::AssertSqlSafe(sql))
                                .fetch_all(&pool)
                                .await
                                .expect("a statement");
                        }
                    }
                    Work::ById(ids) => {
                        let id = ids.choose(&mut rand::rng()).cloned().unwrap_or_default();
                        sqlx::query(sqlx::AssertSqlSafe(&*by_id))
                            .bind(id)
                            .fetch_all(&pool)
                            .await
                            .expect("a statement");
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("a loop task");
    }
    pool.close().await;
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}
