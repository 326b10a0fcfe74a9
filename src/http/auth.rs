//! `Authorization: Bearer <key>` to an [`Auth`].

use axum::http::{HeaderMap, StatusCode, header};

use crate::{
    domain::{ApiKeySecret, Auth},
    state::AppState,
};

/// Reads the request's API key. A missing header is [`Auth::Anonymous`]; a
/// malformed header or an unknown or revoked key is [`Auth::Invalid`].
///
/// # Errors
/// `503` when the database cannot be asked (logged; the key is never logged).
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Auth, StatusCode> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Auth::Anonymous);
    };
    let Some(key) = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|key| !key.is_empty())
    else {
        return Ok(Auth::Invalid);
    };
    match state
        .keys
        .authenticate(
            &state.reader,
            &state.db,
            &ApiKeySecret::from_client(key),
            state.clock.now(),
        )
        .await
    {
        Ok(Some(principal)) => Ok(Auth::Key(principal)),
        Ok(None) => Ok(Auth::Invalid),
        Err(e) => {
            tracing::error!(error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "api key look-up failed");
            if let crate::service::Error::Database(cause) = &e
                && crate::service::database_unreachable(cause)
            {
                state.health.mark_down(&state.db);
            }
            Err(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}
