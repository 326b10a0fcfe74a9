//! Commerce Layer's REST API for the same resources: JSON:API 1.1 at
//! `/api`, a thin layer over the service layer that GraphQL uses too (the
//! same keys, roles, modes, limits, queue, audit trail, webhooks and
//! emails; the same rows):
//! - here: the routes, media types, errors, and reading a request;
//! - `query`: paging, sorting, Commerce Layer's filters, includes and
//!   sparse fieldsets;
//! - `resources`: resets and customers as resource objects;
//! - `input`: reading a request document's attributes;
//! - `resets`, `customers`: the handlers;
//! - `openapi`: the OpenAPI 3.1 document, from the same lists.

mod customers;
mod input;
mod openapi;
mod query;
mod resets;
mod resources;

use std::sync::Arc;

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use super::auth;
use crate::{
    domain::{Auth, Caller, ClientIp, Principal, Role},
    service,
    state::AppState,
};

/// JSON:API's media type.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct Api {
    state: AppState,
    /// `PUBLIC_BASE_URL`, without a trailing slash: the start of every link.
    base: Arc<str>,
    body_limit: usize,
}

/// The facade's routes, under `/api`.
pub(crate) fn routes(state: AppState, base: &str, body_limit: usize) -> Router {
    let api = Api {
        state,
        base: base.trim_end_matches('/').into(),
        body_limit,
    };
    Router::new()
        .route(
            "/api/customer_password_resets",
            get(resets::list).post(resets::create),
        )
        .route(
            "/api/customer_password_resets/{id}",
            get(resets::retrieve)
                .patch(resets::update)
                .delete(resets::delete),
        )
        .route(
            "/api/customer_password_resets/{id}/customer",
            get(resets::customer),
        )
        .route("/api/customers", get(customers::list))
        .route("/api/customers/{id}", get(customers::retrieve))
        .route("/api/openapi.json", get(openapi::serve))
        .route_layer(axum::middleware::from_fn(operation_span))
        .route("/api/{*rest}", axum::routing::any(not_found))
        .with_state(api)
}

/// With traces exported, a span for the operation a matched route stands
/// for, named as Commerce Layer's SDK names it
/// (`customer_password_resets.create`).
async fn operation_span(request: Request, next: axum::middleware::Next) -> Response {
    let mut span = crate::telemetry::child("jsonapi", crate::telemetry::Kind::Internal);
    if span.is_recording() {
        let route = super::route_of(request.uri().path()).unwrap_or_default();
        let (resource, action) = operation_of(request.method().as_str(), route);
        span.rename(format!("{resource}.{action}"));
        span.set("pwreset.jsonapi.resource", resource);
        span.set("pwreset.jsonapi.operation", action);
    }
    let response = span.run(next.run(request)).await;
    if response.status().is_server_error() {
        span.fail(response.status().to_string());
    }
    response
}

/// The resource and operation of a route and method.
fn operation_of(method: &str, route: &str) -> (&'static str, &'static str) {
    let resource = if route.starts_with("/api/customers") {
        "customers"
    } else if route.starts_with("/api/openapi") {
        "openapi"
    } else {
        "customer_password_resets"
    };
    let one = route.ends_with("{id}");
    let action = match method {
        _ if route.ends_with("/customer") => "customer",
        _ if resource == "openapi" => "retrieve",
        "POST" => "create",
        "PATCH" => "update",
        "DELETE" => "delete",
        _ if one => "retrieve",
        _ => "list",
    };
    (resource, action)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "no such resource or route",
    )
}

/// One JSON:API error object, and the status it is answered with (boxed:
/// it travels in every handler's `Err`).
#[derive(Debug)]
pub(crate) struct ApiError(Box<Problem>);

#[derive(Debug)]
struct Problem {
    status: StatusCode,
    code: String,
    detail: String,
    pointer: Option<String>,
    parameter: Option<String>,
    retry_after: Option<u64>,
    /// Further errors of the same answer (every refused attribute at once).
    more: Vec<ApiError>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            pointer: None,
            parameter: None,
            retry_after: None,
            more: Vec::new(),
        }))
    }

    /// Points at the member of the request document at fault.
    pub(crate) fn at(mut self, pointer: impl Into<String>) -> Self {
        self.0.pointer = Some(pointer.into());
        self
    }

    /// Names the query parameter at fault.
    pub(crate) fn parameter(mut self, name: impl Into<String>) -> Self {
        self.0.parameter = Some(name.into());
        self
    }

    /// Asks the client to wait `seconds` before it tries again.
    fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// A `400` naming the query parameter at fault.
    pub(crate) fn bad_parameter(name: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", detail).parameter(name)
    }

    /// A `400` pointing at the request document's member at fault.
    pub(crate) fn bad_member(pointer: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", detail).at(pointer)
    }

    fn object(&self) -> Value {
        let problem = &self.0;
        let mut error = json!({
            "title": problem.status.canonical_reason().unwrap_or("Error"),
            "detail": problem.detail,
            "code": problem.code,
            "status": problem.status.as_str(),
            "meta": { "code": problem.code },
        });
        if let Some(pointer) = &problem.pointer {
            error["source"] = json!({ "pointer": pointer });
        } else if let Some(parameter) = &problem.parameter {
            error["source"] = json!({ "parameter": parameter });
        }
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let errors: Vec<Value> = std::iter::once(self.object())
            .chain(self.0.more.iter().map(ApiError::object))
            .collect();
        let mut response = document(self.0.status, &json!({ "errors": errors }));
        if let Some(seconds) = self.0.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The attribute a service error's GraphQL input path names, as Commerce
/// Layer spells it.
fn attribute_of(path: &[String]) -> String {
    let last = path.last().map(String::as_str).unwrap_or_default();
    match last {
        "resetPasswordToken" => "_reset_password_token".to_owned(),
        other => other.chars().fold(String::new(), |mut out, c| {
            if c.is_ascii_uppercase() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            out
        }),
    }
}

impl From<service::Error> for ApiError {
    fn from(error: service::Error) -> Self {
        use service::Error as E;
        match error {
            E::User(errors) => {
                let mut all = errors.into_iter().map(|e| {
                    let status = if e.code == crate::domain::ErrorCode::NotFound {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    };
                    let pointer = format!("/data/attributes/{}", attribute_of(&e.field));
                    ApiError::new(status, e.code.as_str(), e.message).at(pointer)
                });
                let mut first = all.next().unwrap_or_else(|| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "INVALID", "refused")
                });
                first.0.more = all.collect();
                first
            }
            E::BadRequest(message) => {
                ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
            }
            E::BadParameter { parameter, message } => ApiError::bad_parameter(&parameter, message),
            E::TooManyRequests {
                retry_after,
                message,
            } => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", message)
                .retry_after(retry_after),
            E::Unavailable(message) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                message,
            ),
            E::Database(cause) => {
                tracing::error!(error = %cause, "a JSON:API request failed in the database");
                let status = if service::database_unreachable(&cause) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                ApiError::new(status, "INTERNAL", "the request could not be completed")
            }
            E::Internal(cause) => {
                tracing::error!(error = %cause, "a JSON:API request failed");
                let status = StatusCode::INTERNAL_SERVER_ERROR;
                ApiError::new(status, "INTERNAL", "the request could not be completed")
            }
        }
    }
}

/// A JSON:API document answered with `status`.
pub(crate) fn document(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, Body::from(bytes)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    response
}

/// Whether `value` is JSON:API's media type with no parameters but `ext`
/// and `profile`.
fn plain_media_type(value: &str) -> bool {
    let mut parts = value.split(';').map(str::trim);
    parts
        .next()
        .is_some_and(|t| t.eq_ignore_ascii_case(MEDIA_TYPE))
        && parts.all(|p| {
            let name = p.split('=').next().unwrap_or_default().trim();
            name.eq_ignore_ascii_case("ext") || name.eq_ignore_ascii_case("profile")
        })
}

/// `406` when `Accept` names JSON:API's media type only with parameters
/// other than `ext` and `profile` (JSON:API 1.1).
fn check_accept(headers: &HeaderMap) -> Result<(), ApiError> {
    let ranges: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let jsonapi: Vec<&&str> = ranges
        .iter()
        .filter(|r| {
            r.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(MEDIA_TYPE))
        })
        .collect();
    if !jsonapi.is_empty() && !jsonapi.iter().any(|r| plain_media_type(r)) {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            format!("Accept names {MEDIA_TYPE} only with parameters other than ext and profile"),
        ));
    }
    Ok(())
}

/// The caller of a request: its key (`401` without a valid one), its
/// address, and `406` for an `Accept` it cannot be answered in.
pub(crate) struct Called(pub(crate) Caller);

impl FromRequestParts<Api> for Called {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, ApiError> {
        check_accept(&parts.headers)?;
        let principal = match auth::authenticate(&api.state, &parts.headers).await {
            Ok(Auth::Key(principal)) => principal,
            Ok(Auth::Anonymous | Auth::Invalid) => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "send a valid API key as Authorization: Bearer <key>",
                ));
            }
            Err(status) => {
                return Err(ApiError::new(
                    status,
                    "SERVICE_UNAVAILABLE",
                    "try again shortly",
                ));
            }
        };
        let client_ip = parts.extensions.get::<ClientIp>().and_then(|ip| ip.0);
        Ok(Self(Caller {
            principal,
            client_ip,
        }))
    }
}

impl Called {
    /// The caller's key, if it is an integration key; `403` otherwise.
    pub(crate) fn integration(&self) -> Result<&Principal, ApiError> {
        match self.0.principal.role {
            Role::Integration => Ok(&self.0.principal),
            Role::SalesChannel => Err(forbidden()),
        }
    }
}

/// The `403` of a sales-channel key asking for what integrations only may.
pub(crate) fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "this needs an integration key",
    )
}

/// A request document's `data`: `415` for another media type, `400` for a
/// body that is not a JSON:API document, `409` for another resource type.
pub(crate) struct Data(pub(crate) serde_json::Map<String, Value>);

impl FromRequest<Api> for Data {
    type Rejection = ApiError;

    async fn from_request(request: Request, api: &Api) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !plain_media_type(content_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                format!("send {MEDIA_TYPE}, with no parameters but ext and profile"),
            ));
        }
        let body = axum::body::to_bytes(request.into_body(), api.body_limit)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("the body is larger than {} bytes", api.body_limit),
                )
            })?;
        data_of(&body).map(Data)
    }
}

/// The `data` object of `body`.
fn data_of(body: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_member("", "the body is not JSON"))?;
    let Some(Value::Object(data)) = parsed.get("data").cloned() else {
        return Err(ApiError::bad_member(
            "/data",
            "the document needs a data object",
        ));
    };
    Ok(data)
}
