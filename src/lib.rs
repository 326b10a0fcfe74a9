//! A GraphQL server for Commerce Layer-style customer password resets.
//!
//! Storefronts start and complete resets with a public sales-channel key;
//! back-office integrations manage resets and customers. Tokens are random,
//! single-use, expiring and stored only as digests (the copy a webhook delivery
//! needs is sealed under a key outside the database); passwords are Argon2id.
//!
//! # Layout
//! Imports point down only: [`http`] → [`graphql`] → [`service`] → {[`entity`], [`domain`]}.
//! - [`config`]: the command line and environment, parsed once; each layer's
//!   settings type is a group of its flags ([`flags`] holds what they share),
//!   and `AppState::from_config` / `AppState::builder` build the state from them.
//! - [`domain`]: value types that parse, not validate (emails, passwords, tokens, ids, roles,
//!   modes, the caller, error codes).
//! - [`service`]: the logic, one transaction per multi-step write; time is injected; the
//!   background jobs ([`service::jobs`]) that process queued requests and deliver webhooks.
//! - [`entity`]: SeaORM rows, one file per table (never the public schema).
//! - [`graphql`]: schema types, thin resolvers, the DataLoader, the one error mapping.
//! - [`http`]: the axum router, GraphQL over HTTP, and the API-key extractor.
//! - [`state`]: what every request shares; [`metrics`]: the Prometheus registry;
//!   [`database`]: pools, their options, and migrations.
//! - `migration/` (its own crate): the schema's frozen history.

#![forbid(unsafe_code)]

pub mod config;
pub mod database;
pub mod domain;
pub mod entity;
pub mod flags;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod service;
pub mod state;

use std::future::Future;

use tokio::net::TcpListener;

pub use database::{connect, connect_reader, migrate, pending_migrations};
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
