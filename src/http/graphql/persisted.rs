//! Automatic Persisted Queries (`extensions.persistedQuery`): a client sends
//! the SHA-256 of a document instead of the document, and the document once
//! with it to register it.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use super::refusal::Refusal;
use crate::{graphql::ErrorCode, service::persisted_queries};

/// The document to run: sent in full, or looked up by its persisted hash
/// (and registered when sent with it).
pub(super) async fn resolve_query(
    db: &DatabaseConnection,
    query: Option<String>,
    extensions: Option<&Map<String, Value>>,
    now: DateTime<Utc>,
) -> Result<String, Refusal> {
    let persisted = extensions.and_then(|e| e.get("persistedQuery"));
    let Some(persisted) = persisted else {
        return query.filter(|q| !q.trim().is_empty()).ok_or_else(|| {
            Refusal::http(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "the request has no `query`",
            )
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
            persisted_queries::register(db, &query, now)
                .await
                .map_err(unavailable)?;
            Ok(query)
        }
        None => persisted_queries::find(db, hash)
            .await
            .map_err(unavailable)?
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
