//! A GraphQL server for Commerce Layer-style customer password resets.
//!
//! Storefronts start and complete resets with a public sales-channel key;
//! back-office integrations manage resets and customers. Tokens are random,
//! single-use, expiring and stored only as digests (the copy a webhook delivery
//! needs is sealed under a key outside the database); passwords are Argon2id.
//!
//! # Layout
//! (ARCHITECTURE.md walks the layers and the path of one reset through them.)
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
//!   [`database`]: pools, their options, and migrations; [`build_info`]: the
//!   version, commit and compiler.
//! - `migration/` (its own crate): the schema's frozen history.

#![forbid(unsafe_code)]

pub mod build_info;
pub mod cli;
pub mod config;
pub mod database;
pub mod domain;
pub mod entity;
pub mod flags;
pub mod graphql;
pub mod health;
pub mod http;
pub mod metrics;
pub mod service;
pub mod state;
pub mod telemetry;

use std::future::Future;

use tokio::net::TcpListener;

pub use database::{Reader, connect, connect_reader, migrate, pending_migrations};
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
/// finish. Runs the background jobs alongside when
/// `state.webhooks.poll_interval` is set; at shutdown they are told to stop,
/// and it returns once they have finished the round in progress (within the
/// same drain time: what a round leaves unfinished, its leases give back).
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
    let jobs = match state.webhooks.poll_interval {
        Some(interval) => {
            let worker = state.worker().map_err(std::io::Error::other)?;
            Some(tokio::spawn(worker.run(interval, stopped)))
        }
        None => None,
    };
    let limits = settings.connections;
    let lifecycle = state.lifecycle.clone();
    let shutdown = async move {
        shutdown.await;
        lifecycle.start_draining();
    };
    let result = http::serve(listener, app(state, settings), limits, shutdown).await;
    let _ = stop.send(true);
    if let Some(jobs) = jobs {
        match tokio::time::timeout(limits.drain_timeout, jobs).await {
            Ok(_) => tracing::info!("background jobs stopped"),
            Err(_) => tracing::warn!(
                timeout_ms = limits.drain_timeout.as_millis() as u64,
                "background jobs still running when the drain time ran out"
            ),
        }
    }
    result
}

/// Serves the admin endpoints (`/metrics`, `/healthz`, `/readyz`) on an
/// already-bound `listener` until `shutdown` completes, through the same
/// server loop as the API (header timeout, connection cap, bounded drain).
/// Bind it where only operators reach (`METRICS_ADDR`, `127.0.0.1:9464` by
/// default).
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve_admin(
    listener: TcpListener,
    state: AppState,
    limits: http::ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    http::serve(listener, http::admin_router(state), limits, shutdown).await
}
