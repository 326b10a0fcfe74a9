//! GraphQL over HTTP, as the specification's current draft asks:
//!
//! - `POST` with `Content-Type: application/json` (415 otherwise), and `GET`
//!   with `query`, `operationName`, `variables`, `extensions` in the query
//!   string; a mutation over `GET` gets 405 with `Allow: POST`, unexecuted.
//! - The response type follows `Accept`: `application/graphql-response+json`
//!   by default, `application/json` for clients that ask only for it, 406 when
//!   neither is acceptable.
//! - With `application/graphql-response+json`, request errors get a 4xx and no
//!   `data`: 400 for unparseable JSON or documents, 422 for validation and
//!   variable errors; field errors keep 200. With `application/json`, any
//!   well-formed GraphQL request gets 200.
//! - Bodies are capped while they are read (413), batches by count.
//! - Automatic Persisted Queries (`extensions.persistedQuery`), stored in the database.
//! - Execution is cut off after the request timeout (503).

use std::{sync::Arc, time::Instant};

use async_graphql::{
    Request, Response as GqlResponse, ServerError, Variables,
    dataloader::DataLoader,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
};
use axum::{
    body::Body,
    extract::{Extension, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{HttpSettings, auth, graphiql};
use crate::{
    graphql::{AppSchema, Auth, ClientIp, CustomerLoader},
    metrics::Outcome,
    service::persisted_queries,
    state::AppState,
};

/// The `/graphql` route's state.
#[derive(Clone)]
pub(super) struct Endpoint {
    pub schema: AppSchema,
    pub app: AppState,
    pub settings: Arc<HttpSettings>,
}

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response type from `Accept` (q-values honoured; ties go to
/// `application/graphql-response+json`); `None` when neither is acceptable.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|a| !a.trim().is_empty())
    else {
        return Some(MediaType::GraphqlResponseJson);
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
            "application/graphql-response+json" | "application/*" | "*/*" => {
                MediaType::GraphqlResponseJson
            }
            "application/json" => MediaType::Json,
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

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// A request refused before execution, in the chosen media type.
fn refuse(media: MediaType, status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    tracing::Span::current().record("outcome", "request_error");
    response
}

/// One GraphQL request as sent on the wire (both POST bodies and GET query strings).
#[derive(Debug, Default, Deserialize)]
struct WireRequest {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<Value>,
    extensions: Option<Map<String, Value>>,
}

/// Why a wire request cannot be executed: the status (for
/// `application/graphql-response+json`), a code and a message.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Whether `application/json` clients get 200 (a GraphQL-level error) rather than `status`.
    graphql_level: bool,
}

impl Refusal {
    fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            graphql_level: false,
        }
    }
    fn graphql(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            graphql_level: true,
        }
    }
}

/// `GET /graphql`: GraphiQL for browsers, otherwise a query from the query string.
pub(super) async fn get(
    State(endpoint): State<Endpoint>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let wire: WireRequest = match query.as_deref().map(read_query_string).transpose() {
        Ok(wire) => wire.unwrap_or_default(),
        Err(message) => {
            let media = negotiate(&headers).unwrap_or(MediaType::Json);
            return refuse(media, StatusCode::BAD_REQUEST, "BAD_REQUEST", &message);
        }
    };
    if wire.query.is_none() && wire.extensions.is_none() && wants_html(&headers) {
        return graphiql::page(endpoint.settings.graphiql_assets_url.as_deref()).into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    endpoint
        .run(media, &headers, ip, vec![wire], false, true)
        .await
}

/// Reads a GET query string; `variables` and `extensions` are JSON texts.
fn read_query_string(raw: &str) -> Result<WireRequest, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| format!("the query string cannot be read: {e}"))?;
    let mut wire = WireRequest::default();
    for (key, value) in pairs {
        let json = |what: &str| {
            serde_json::from_str::<Value>(&value)
                .map_err(|e| format!("`{what}` is not valid JSON: {e}"))
        };
        match key.as_str() {
            "query" => wire.query = Some(value),
            "operationName" => wire.operation_name = Some(value).filter(|v| !v.is_empty()),
            "variables" => wire.variables = Some(json("variables")?),
            "extensions" => match json("extensions")? {
                Value::Object(map) => wire.extensions = Some(map),
                _ => return Err("`extensions` must be a JSON object".into()),
            },
            _ => {}
        }
    }
    Ok(wire)
}

fn not_acceptable() -> Response {
    let message = "ask for application/graphql-response+json or application/json in Accept";
    refuse(
        MediaType::Json,
        StatusCode::NOT_ACCEPTABLE,
        "NOT_ACCEPTABLE",
        message,
    )
}

/// `POST /graphql`: a JSON request, or a JSON array of them (a batch).
pub(super) async fn post(
    State(endpoint): State<Endpoint>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or("").trim();
    let charset_ok = params
        .filter_map(|p| p.trim().strip_prefix("charset="))
        .all(|c| c.trim_matches('"').eq_ignore_ascii_case("utf-8"));
    if !essence.eq_ignore_ascii_case("application/json") || !charset_ok {
        return refuse(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as JSON with `Content-Type: application/json`",
        );
    }
    let limit = endpoint.settings.body_limit;
    let too_large = || {
        refuse(
            media,
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    // Counted while reading, so a chunked body without Content-Length is capped too.
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(_) => {
            return refuse(
                media,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the body could not be read",
            );
        }
    };
    // PostgreSQL cannot store NUL in text, and no field has a use for it.
    if bytes.windows(6).any(|w| w == br"\u0000") {
        return refuse(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "NUL characters (\\u0000) are not accepted in any field",
        );
    }
    let bad_json = |e: serde_json::Error| {
        refuse(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            &format!("the body is not a GraphQL request: {e}"),
        )
    };
    let (requests, batch) = match serde_json::from_slice::<Value>(&bytes) {
        Err(e) => return bad_json(e),
        Ok(Value::Array(items)) => {
            let max = endpoint.settings.max_batch;
            if max == 0 {
                return refuse(
                    media,
                    StatusCode::BAD_REQUEST,
                    "BATCHING_DISABLED",
                    "batch requests are turned off on this server",
                );
            }
            if items.is_empty() || items.len() > max {
                return refuse(
                    media,
                    StatusCode::BAD_REQUEST,
                    "BATCH_TOO_LARGE",
                    &format!(
                        "a batch must hold 1 to {max} operations, not {}",
                        items.len()
                    ),
                );
            }
            match items
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<Vec<WireRequest>, _>>()
            {
                Ok(requests) => (requests, true),
                Err(e) => return bad_json(e),
            }
        }
        Ok(value @ Value::Object(_)) => match serde_json::from_value::<WireRequest>(value) {
            Ok(request) => (vec![request], false),
            Err(e) => return bad_json(e),
        },
        Ok(_) => {
            return refuse(
                media,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the body must be a JSON object, or an array of them for a batch",
            );
        }
    };
    endpoint
        .run(media, &headers, ip, requests, batch, false)
        .await
}

impl Endpoint {
    /// Authenticates, prepares and executes `requests`, answering in `media`.
    async fn run(
        &self,
        media: MediaType,
        headers: &HeaderMap,
        ip: ClientIp,
        requests: Vec<WireRequest>,
        batch: bool,
        via_get: bool,
    ) -> Response {
        let auth = match auth::authenticate(&self.app, headers).await {
            Ok(auth) => auth,
            Err(status) => {
                return refuse(
                    media,
                    status,
                    "SERVICE_UNAVAILABLE",
                    "the server cannot check API keys right now; try again",
                );
            }
        };
        let mut bodies = Vec::with_capacity(requests.len());
        let mut status = StatusCode::OK;
        let mut retry_after = None;
        for wire in requests {
            let started = Instant::now();
            let (operation, outcome, code, body, retry) = match self
                .prepare(wire, via_get, &auth, ip)
                .await
            {
                Err(refusal) => {
                    let code = if media == MediaType::Json && refusal.graphql_level {
                        StatusCode::OK
                    } else {
                        refusal.status
                    };
                    let body = json!({ "errors": [{ "message": refusal.message, "extensions": { "code": refusal.code } }] }).to_string();
                    if !batch && refusal.status == StatusCode::METHOD_NOT_ALLOWED {
                        let mut response = refuse(
                            media,
                            StatusCode::METHOD_NOT_ALLOWED,
                            refusal.code,
                            &refusal.message,
                        );
                        response
                            .headers_mut()
                            .insert(header::ALLOW, HeaderValue::from_static("POST"));
                        return response;
                    }
                    (None, Outcome::RequestError, code, body, None)
                }
                Ok(mut request) => {
                    let operation = request
                        .operation_name
                        .clone()
                        .or_else(|| single_operation_name(&mut request));
                    match tokio::time::timeout(
                        self.settings.request_timeout,
                        self.schema.execute(request),
                    )
                    .await
                    {
                        Ok(response) => {
                            let retry = too_many_requests(&response);
                            let (outcome, code, body) = encode(media, response);
                            (operation, outcome, code, body, retry)
                        }
                        Err(_) => {
                            let message = format!(
                                "the request took longer than {} ms and was stopped; nothing it did was kept unless it finished",
                                self.settings.request_timeout.as_millis()
                            );
                            let body = json!({ "errors": [{ "message": message, "extensions": { "code": "TIMEOUT" } }] });
                            (
                                operation,
                                Outcome::Timeout,
                                StatusCode::SERVICE_UNAVAILABLE,
                                body.to_string(),
                                None,
                            )
                        }
                    }
                }
            };
            self.app
                .metrics
                .record_request(operation.as_deref(), outcome, started.elapsed());
            let span = tracing::Span::current();
            span.record("operation", operation.as_deref().unwrap_or("anonymous"));
            span.record("outcome", format!("{outcome:?}"));
            status = code;
            retry_after = retry;
            bodies.push(body);
        }
        // Each body is serialised once, straight from the executor's response.
        let body = if batch {
            format!("[{}]", bodies.join(","))
        } else {
            bodies.pop().unwrap_or_default()
        };
        let status = if batch { StatusCode::OK } else { status };
        // A rate limit is not a GraphQL matter: say it in HTTP too, with when to retry.
        let retry_after = if batch { None } else { retry_after };
        let status = if retry_after.is_some() {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            status
        };
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
        if let Some(seconds) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }

    /// Turns a wire request into an executable one: persisted query look-up,
    /// parse, the mutation-over-GET and alias checks, variables, request data.
    async fn prepare(
        &self,
        wire: WireRequest,
        via_get: bool,
        auth: &Auth,
        ip: ClientIp,
    ) -> Result<Request, Refusal> {
        let query = self
            .resolve_query(wire.query, wire.extensions.as_ref())
            .await?;
        let mut request = Request::new(query);
        if let Some(name) = wire.operation_name {
            request = request.operation_name(name);
        }
        match wire.variables {
            None | Some(Value::Null) => {}
            Some(value @ Value::Object(_)) => {
                request = request.variables(Variables::from_json(value))
            }
            Some(_) => {
                return Err(Refusal::http(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "`variables` must be a JSON object",
                ));
            }
        }
        let operation_name = request.operation_name.clone();
        let document = request.parsed_query().map_err(|e| {
            Refusal::graphql(StatusCode::BAD_REQUEST, "GRAPHQL_PARSE_FAILED", located(&e))
        })?;
        if via_get && is_mutation(document, operation_name.as_deref()) {
            return Err(Refusal::http(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "mutations must be sent with POST",
            ));
        }
        let aliases = count_aliases(document);
        if aliases > self.settings.max_aliases {
            return Err(Refusal::graphql(
                StatusCode::UNPROCESSABLE_ENTITY,
                "GRAPHQL_VALIDATION_FAILED",
                format!(
                    "the query uses {aliases} aliases; at most {} are allowed",
                    self.settings.max_aliases
                ),
            ));
        }
        let loader = DataLoader::new(CustomerLoader::new(self.app.reader.clone()), tokio::spawn);
        Ok(request.data(auth.clone()).data(ip).data(loader))
    }

    /// The document to run: sent in full, or looked up by its persisted hash.
    async fn resolve_query(
        &self,
        query: Option<String>,
        extensions: Option<&Map<String, Value>>,
    ) -> Result<String, Refusal> {
        let persisted = extensions.and_then(|e| e.get("persistedQuery"));
        let Some(persisted) = persisted else {
            return query.filter(|q| !q.trim().is_empty()).ok_or_else(|| {
                Refusal::http(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "the request has no `query`",
                )
            });
        };
        let bad = |m: &str| Refusal::http(StatusCode::BAD_REQUEST, "PERSISTED_QUERY_INVALID", m);
        if persisted.get("version").and_then(Value::as_i64) != Some(1) {
            return Err(bad("only version 1 of `persistedQuery` is supported"));
        }
        let hash = persisted
            .get("sha256Hash")
            .and_then(Value::as_str)
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| bad("`persistedQuery.sha256Hash` must be 64 hexadecimal characters"))?;
        let internal = |e| {
            tracing::error!(error = %e, "persisted query storage failed");
            Refusal::http(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
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
                persisted_queries::register(&self.app.db, &query, self.app.clock.now())
                    .await
                    .map_err(internal)?;
                Ok(query)
            }
            None => persisted_queries::find(&self.app.db, hash)
                .await
                .map_err(internal)?
                .ok_or_else(|| {
                    // Apollo clients recognise this message and resend with the query.
                    Refusal::graphql(
                        StatusCode::OK,
                        "PERSISTED_QUERY_NOT_FOUND",
                        "PersistedQueryNotFound",
                    )
                }),
        }
    }
}

/// The longest `retryAfter` of the response's `TOO_MANY_REQUESTS` errors, if any.
fn too_many_requests(response: &GqlResponse) -> Option<u64> {
    let number = |v: &async_graphql::Value| match v {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    };
    response
        .errors
        .iter()
        .filter_map(|e| e.extensions.as_ref())
        .filter(|x| {
            matches!(x.get("code"), Some(async_graphql::Value::String(c)) if c == "TOO_MANY_REQUESTS")
        })
        .filter_map(|x| x.get("retryAfter").and_then(number))
        .max()
}

fn located(error: &ServerError) -> String {
    match error.locations.first() {
        Some(pos) => format!(
            "{} (line {}, column {})",
            error.message, pos.line, pos.column
        ),
        None => error.message.clone(),
    }
}

fn single_operation_name(request: &mut Request) -> Option<String> {
    match &request.parsed_query().ok()?.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(ops) if ops.len() == 1 => {
            ops.keys().next().map(|n| n.to_string())
        }
        DocumentOperations::Multiple(_) => None,
    }
}

/// Whether the operation that would run is a mutation. Unknown or ambiguous
/// operations are left to execution, which refuses them.
fn is_mutation(document: &ExecutableDocument, name: Option<&str>) -> bool {
    let ty = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        // Several operations and no name: if any is a mutation, refuse over GET.
        (DocumentOperations::Multiple(ops), None) => ops
            .values()
            .any(|op| op.node.ty == OperationType::Mutation)
            .then_some(OperationType::Mutation),
    };
    ty == Some(OperationType::Mutation)
}

fn count_aliases(document: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + walk(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|f| walk(&f.node.selection_set.node))
        .sum();
    operations + fragments
}

/// The HTTP status, outcome and body of an executed request.
fn encode(media: MediaType, response: GqlResponse) -> (Outcome, StatusCode, String) {
    // A request error (validation, variables, limits) stops execution before any
    // field runs: no data, and errors with no path.
    let request_error = !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty());
    let serialised = if request_error && media == MediaType::GraphqlResponseJson {
        serde_json::to_string(&json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(&response)
    };
    let body = serialised
        .unwrap_or_else(|_| json!({ "errors": [{ "message": "internal error" }] }).to_string());
    if request_error {
        let status = if media == MediaType::GraphqlResponseJson {
            StatusCode::UNPROCESSABLE_ENTITY
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
