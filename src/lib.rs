//! A GraphQL server for Commerce Layer-style customer password resets.
//!
//! Storefronts start and complete resets with a public sales-channel key;
//! back-office integrations manage resets and customers. Tokens are random,
//! single-use, expiring and stored only as digests (the copy a webhook delivery
//! needs is sealed under a key outside the database); passwords are Argon2id.
//!
//! # Layout
//! Imports point down only: [`http`] → [`graphql`] → [`service`] → {[`entity`], [`domain`]}.
//! - [`config`]: the command line and environment, parsed once.
//! - [`domain`]: value types that parse, not validate (emails, passwords, tokens, ids, roles,
//!   modes, the caller, error codes).
//! - [`service`]: the logic, one transaction per multi-step write; time is injected; the
//!   background jobs ([`service::jobs`]) that process queued requests and deliver webhooks.
//! - [`entity`]: SeaORM rows, one file per table (never the public schema).
//! - [`graphql`]: schema types, thin resolvers, the DataLoader, the one error mapping.
//! - [`http`]: the axum router, GraphQL over HTTP, and the API-key extractor.
//! - [`state`]: what every request shares; [`metrics`]: the Prometheus registry.
//! - `migration/` (its own crate): the schema's frozen history.

#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod entity;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod service;
pub mod state;

use std::future::Future;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use tokio::net::TcpListener;

pub use http::HttpSettings;
pub use state::AppState;

/// The axum application for `state`, enforcing `settings`.
pub fn app(state: AppState, settings: HttpSettings) -> axum::Router {
    let schema = graphql::build_schema(state.clone(), &settings.graphql);
    http::router(schema, state, settings)
}

/// Serves the application on an already-bound `listener` until `shutdown`
/// completes; then `/readyz` answers 503 at once, no new connection is
/// taken, and requests in flight get `settings.connections.drain_timeout` to
/// finish before it returns. Runs the background jobs alongside when
/// `state.webhooks.poll_interval` is set.
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    settings: HttpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(interval) = state.webhooks.poll_interval {
        let worker = state.worker().map_err(std::io::Error::other)?;
        tokio::spawn(worker.run(interval, stopped));
    }
    let limits = settings.connections;
    let lifecycle = state.lifecycle.clone();
    let shutdown = async move {
        shutdown.await;
        lifecycle.start_draining();
    };
    let result = http::serve(listener, app(state, settings), limits, shutdown).await;
    let _ = stop.send(true);
    result
}

/// Serves the admin endpoints (`/metrics`, `/healthz`, `/readyz`) on an
/// already-bound `listener` until `shutdown` completes. Bind it where only
/// operators reach (`METRICS_ADDR`, `127.0.0.1:9464` by default).
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve_admin(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, http::admin_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Connects to `url` (`sqlite://…` or `postgres://…`). SQLite files are put in
/// WAL mode so reads do not wait for writes.
///
/// # Errors
/// A [`DbErr`] if the database cannot be reached or opened.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    // A ping before every statement doubled the round trips of a busy server;
    // only a connection idle long enough to have been dropped is tested.
    options.test_before_acquire_if_idle_for(std::time::Duration::from_secs(30));
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    Ok(db)
}

/// The pool for reads beside `writer` (from [`connect`] on the same `url`):
/// on a SQLite file, one read-only connection per core (at least 2, at most
/// 8), so that reads never queue
/// behind a commit on the one writing connection (WAL lets them run side by
/// side); on PostgreSQL or an in-memory SQLite database, `writer` itself.
/// Call it after [`migrate`]: a read-only connection cannot create the file.
///
/// # Errors
/// A [`DbErr`] if the database cannot be opened.
pub async fn connect_reader(
    url: &str,
    writer: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if writer.get_database_backend() != DbBackend::Sqlite
        || url.contains(":memory:")
        || url.contains("mode=memory")
    {
        return Ok(writer.clone());
    }
    // More connections than cores would not read faster, but each would keep
    // its own page cache.
    let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .max_connections(readers as u32)
        .test_before_acquire_if_idle_for(std::time::Duration::from_secs(30))
        .map_sqlx_sqlite_opts(|o| o.read_only(true).create_if_missing(false));
    Database::connect(options).await
}

/// The PostgreSQL advisory lock that one migrating process holds at a time.
const MIGRATION_LOCK: i64 = 0x7077_7265_7365_7401; // "pwreset" + 1

/// Brings the database schema up to date. On PostgreSQL the migrations run
/// under an advisory lock, so replicas starting together take turns: the
/// first migrates, the others then find nothing to do. (On SQLite the
/// database file's own lock does the same.)
///
/// # Errors
/// A [`DbErr`] if a migration fails.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    // A session lock, held on one connection of its own while the pool migrates.
    let mut holder = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(|e| DbErr::Custom(format!("no connection for the migration lock: {e}")))?;
    let lock = |sql| sea_orm::sqlx::query(sql).bind(MIGRATION_LOCK);
    lock("SELECT pg_advisory_lock($1)")
        .execute(&mut *holder)
        .await
        .map_err(|e| DbErr::Custom(format!("cannot take the migration lock: {e}")))?;
    let migrated = Migrator::up(db, None).await;
    let unlocked = lock("SELECT pg_advisory_unlock($1)")
        .execute(&mut *holder)
        .await;
    migrated?;
    unlocked.map_err(|e| DbErr::Custom(format!("cannot release the migration lock: {e}")))?;
    Ok(())
}

/// The names of the migrations not yet applied to `db` (none when its schema
/// is current), read without changing anything.
///
/// # Errors
/// A [`DbErr`] if the database cannot be read.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    Ok(Migrator::get_pending_migrations_read_only(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}
