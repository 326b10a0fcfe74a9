//! Which media type a response is written in, from the request's `Accept`.

use axum::http::{HeaderMap, HeaderValue, header};

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MediaType {
    /// `application/graphql-response+json`: request errors get a 4xx.
    GraphqlResponseJson,
    /// `application/json`: every well-formed GraphQL request gets 200.
    Json,
}

impl MediaType {
    /// The `Content-Type` of a response in this media type.
    pub(super) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response type from `Accept` (q-values honoured; ties go to
/// `application/graphql-response+json`); `None` when neither is acceptable.
/// As the GraphQL-over-HTTP specification asks, a missing or empty header,
/// and a wildcard (`*/*`, `application/*`), get `application/json`: a client
/// that names `application/graphql-response+json` knows what it asks for.
pub(super) fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|a| !a.trim().is_empty())
    else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let media = match range.as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        let better = match best {
            None => true,
            Some((best_q, best_media)) => {
                q > best_q
                    || (q == best_q
                        && media == MediaType::GraphqlResponseJson
                        && best_media == MediaType::Json)
            }
        };
        if q > 0.0 && better {
            best = Some((q, media));
        }
    }
    best.map(|(_, media)| media)
}

/// Whether the client is a browser asking for a page.
pub(super) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}
