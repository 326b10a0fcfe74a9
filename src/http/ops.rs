//! Operator endpoints: liveness and readiness on both listeners; metrics on
//! the admin listener only.

use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde_json::json;

use crate::state::AppState;

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `/healthz` and `/readyz`.
pub(super) fn health_routes(app: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(app)
}

/// The admin listener's routes: health, readiness and `/metrics`.
pub(super) fn admin_routes(app: AppState) -> Router {
    health_routes(app.clone()).merge(
        Router::new()
            .route("/metrics", get(metrics))
            .with_state(app),
    )
}

/// 200 while the process serves requests.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// 200 when the database answers, 503 when it does not or the server is
/// shutting down (so a load balancer stops sending it requests).
async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    if app.lifecycle.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "shutting down" })),
        );
    }
    // The cause goes to the log (once per outage), not to this public route.
    let unavailable = || {
        let body = json!({ "status": "unavailable", "database": "unreachable" });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    };
    // Known down: answered at once, from the probe's state.
    if app.health.is_down() {
        return unavailable();
    }
    match tokio::time::timeout(READY_TIMEOUT, app.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        outcome => {
            let reason = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            tracing::warn!(%reason, "not ready: the database does not answer");
            app.health.mark_down(&app.db);
            unavailable()
        }
    }
}

/// Prometheus metrics in the OpenMetrics text format.
async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(&app.db, &app.reader),
    )
}
