//! Requests refused before execution, and the one way an error body is written.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::negotiate::MediaType;
use crate::graphql::ErrorCode;

/// A GraphQL error body holding one error with `message` and `code`.
pub(super) fn error_body(code: ErrorCode, message: &str) -> String {
    json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] })
        .to_string()
}

/// Why a request cannot be executed.
#[derive(Debug)]
pub(super) struct Refusal {
    /// The status under `application/graphql-response+json`.
    status: StatusCode,
    code: ErrorCode,
    message: String,
    /// Whether `application/json` clients get 200 (a GraphQL-level error) rather than `status`.
    graphql_level: bool,
}

impl Refusal {
    /// A refusal of the HTTP request itself: `status` whatever the media type.
    pub(super) fn http(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            graphql_level: false,
        }
    }

    /// A refusal of a well-formed GraphQL request (a document that does not
    /// parse, a broken limit): `status` under
    /// `application/graphql-response+json`, 200 under `application/json`.
    pub(super) fn graphql(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            graphql_level: true,
            ..Self::http(status, code, message)
        }
    }

    /// The HTTP status of this refusal in `media`.
    pub(super) fn status(&self, media: MediaType) -> StatusCode {
        if media == MediaType::Json && self.graphql_level {
            StatusCode::OK
        } else {
            self.status
        }
    }

    /// Whether this refusal is of a mutation sent with GET.
    pub(super) fn is_method_not_allowed(&self) -> bool {
        self.status == StatusCode::METHOD_NOT_ALLOWED
    }

    /// The error body.
    pub(super) fn body(&self) -> String {
        error_body(self.code, &self.message)
    }

    /// This refusal as one operation's answer in `media`.
    pub(super) fn answer(&self, media: MediaType) -> super::Answer {
        super::Answer {
            operation: None,
            outcome: crate::metrics::Outcome::RequestError,
            status: self.status(media),
            body: self.body(),
            retry_after: None,
            known_operation: false,
        }
    }

    /// The whole response in `media` (405 comes with `Allow: POST`).
    pub(super) fn respond(self, media: MediaType) -> Response {
        let mut response = (self.status(media), self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, media.content_type());
        if self.is_method_not_allowed() {
            headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        tracing::Span::current().record("outcome", "request_error");
        response
    }
}
