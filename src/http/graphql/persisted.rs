//! Automatic Persisted Queries (`extensions.persistedQuery`): a client sends
//! the SHA-256 of a document instead of the document, and the document once
//! with it to register it. A document is registered only after it ran (so it
//! parsed and validated) for an authenticated caller: an anonymous request
//! writes nothing.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use super::refusal::Refusal;
use crate::{
    domain::Auth,
    graphql::ErrorCode,
    service::persisted_queries::{self, StoreBounds},
};

/// The document a request runs.
pub(super) struct Document {
    /// The GraphQL text.
    pub query: String,
    /// Whether it came with its hash, to be registered once it has run.
    pub to_register: bool,
    /// Whether it was found in the store by its hash.
    pub from_store: bool,
}

/// The document to run: sent in full, or looked up by its persisted hash.
pub(super) async fn resolve_query(
    db: &DatabaseConnection,
    query: Option<String>,
    extensions: Option<&Map<String, Value>>,
    now: DateTime<Utc>,
) -> Result<Document, Refusal> {
    let persisted = extensions.and_then(|e| e.get("persistedQuery"));
    let Some(persisted) = persisted else {
        let query = query.filter(|q| !q.trim().is_empty()).ok_or_else(|| {
            Refusal::http(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "the request has no `query`",
            )
        })?;
        return Ok(Document {
            query,
            to_register: false,
            from_store: false,
        });
    };
    let bad = |m: &str| Refusal::http(StatusCode::BAD_REQUEST, ErrorCode::PersistedQueryInvalid, m);
    if persisted.get("version").and_then(Value::as_i64) != Some(1) {
        return Err(bad("only version 1 of `persistedQuery` is supported"));
    }
    let hash = persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| bad("`persistedQuery.sha256Hash` must be 64 hexadecimal characters"))?;
    let unavailable = |e| {
        tracing::error!(error = %e, "persisted query storage failed");
        Refusal::http(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            "persisted queries are unavailable right now",
        )
    };
    match query.filter(|q| !q.is_empty()) {
        Some(query) => {
            if !persisted_queries::matches(hash, &query) {
                return Err(bad(
                    "`persistedQuery.sha256Hash` is not the SHA-256 of `query`",
                ));
            }
            Ok(Document {
                query,
                to_register: true,
                from_store: false,
            })
        }
        None => persisted_queries::find(db, hash, now)
            .await
            .map_err(unavailable)?
            .map(|query| Document {
                query,
                to_register: false,
                from_store: true,
            })
            .ok_or_else(|| {
                // Apollo clients recognise this message and resend with the query.
                Refusal::graphql(
                    StatusCode::OK,
                    ErrorCode::PersistedQueryNotFound,
                    "PersistedQueryNotFound",
                )
            }),
    }
}

/// Registers `query` now that it ran without a request error, if `auth` is a
/// valid key; a failure is logged, not the caller's concern.
pub(super) async fn register_after_run(
    db: &DatabaseConnection,
    auth: &Auth,
    query: &str,
    bounds: StoreBounds,
    now: DateTime<Utc>,
) {
    if !matches!(auth, Auth::Key(_)) {
        return;
    }
    if let Err(e) = persisted_queries::register(db, query, bounds, now).await {
        tracing::error!(error = %e, "registering a persisted query failed");
    }
}
