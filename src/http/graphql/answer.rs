//! How a request is answered: each operation's outcome, status and body, and
//! the HTTP response of them all (one answer, or a batch).

use async_graphql::Response as GqlResponse;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{negotiate::MediaType, refusal::error_body};
use crate::{graphql::ErrorCode, metrics::Outcome};

/// How one operation of a request ended.
pub(super) struct Answer {
    /// The operation's name, for logs and metrics.
    pub operation: Option<String>,
    /// How it ended, for metrics.
    pub outcome: Outcome,
    /// Its HTTP status, when it is answered alone.
    pub status: StatusCode,
    /// Its JSON body.
    pub body: String,
    /// Seconds to wait, when a rate limit refused it.
    pub retry_after: Option<u64>,
    /// Whether the operation's name may label metrics (configured or persisted).
    pub known_operation: bool,
}

impl Answer {
    /// The answer of a request that could not run: the database is down.
    pub fn unavailable(self) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..self
        }
    }
}

/// The response to a request's answers: a batch is a JSON array with 200; a
/// single answer keeps its status, turned 429 with `Retry-After` when a rate
/// limit refused it (a rate limit is not a GraphQL matter: it is said in HTTP
/// too), and given `Retry-After: 1` with a 503.
pub(super) fn respond(media: MediaType, mut answers: Vec<Answer>, batch: bool) -> Response {
    // Each body is serialised once, straight from the executor's response.
    let (status, body, retry_after) = if batch {
        let bodies: Vec<String> = answers.into_iter().map(|a| a.body).collect();
        (StatusCode::OK, format!("[{}]", bodies.join(",")), None)
    } else {
        match answers.pop() {
            Some(a) if a.retry_after.is_some() => {
                (StatusCode::TOO_MANY_REQUESTS, a.body, a.retry_after)
            }
            Some(a) => (a.status, a.body, None),
            None => (StatusCode::OK, String::new(), None),
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    if let Some(seconds) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        headers.insert(header::RETRY_AFTER, seconds);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// The outcome, HTTP status and body of an executed request.
pub(super) fn encode(media: MediaType, response: GqlResponse) -> (Outcome, StatusCode, String) {
    // A request error (validation, variables, limits) stops execution before any
    // field runs: no data, and errors with no path.
    let request_error = !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty());
    let serialised = if request_error {
        serde_json::to_string(&serde_json::json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(&response)
    };
    let body =
        serialised.unwrap_or_else(|_| error_body(ErrorCode::InternalServerError, "internal error"));
    if request_error {
        let status = if media == MediaType::GraphqlResponseJson {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        return (Outcome::RequestError, status, body);
    }
    let outcome = if response.errors.is_empty() {
        Outcome::Ok
    } else {
        Outcome::FieldError
    };
    (outcome, StatusCode::OK, body)
}
