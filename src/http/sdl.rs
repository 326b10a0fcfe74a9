//! `GET /graphql/schema.graphql`: the SDL of the schema this server runs, for
//! tools that fetch a schema by URL (code generators, IDE plugins). Public, as
//! the repository's `schema.graphql` is: it is the same text, and it is served
//! whether or not introspection is on. An `ETag` lets tools skip an unchanged
//! schema.

use std::sync::Arc;

use axum::{
    Router,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// Where the SDL is served.
pub(super) const SCHEMA_PATH: &str = "/graphql/schema.graphql";

/// The route serving `sdl`.
pub(super) fn routes(sdl: String) -> Router {
    let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(Sha256::digest(&sdl)));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"schema\""));
    let sdl: Arc<str> = sdl.into();
    Router::new().route(
        SCHEMA_PATH,
        get(move |headers: HeaderMap| async move { respond(&headers, &sdl, &etag) }),
    )
}

/// 304 when the client already has this version, else the SDL.
fn respond(headers: &HeaderMap, sdl: &Arc<str>, etag: &HeaderValue) -> Response {
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag.to_str().unwrap_or_default() || tag.trim() == "*");
    let common = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    (common, [content_type], sdl.to_string()).into_response()
}
