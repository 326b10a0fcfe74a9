//! GraphQL over HTTP, as the specification's current draft asks:
//!
//! - `POST` with `Content-Type: application/json` (415 otherwise), and `GET`
//!   with `query`, `operationName`, `variables`, `extensions` in the query
//!   string; a mutation over `GET` gets 405 with `Allow: POST`, unexecuted.
//! - The response type follows `Accept` (`negotiate`):
//!   `application/graphql-response+json` when asked for, `application/json`
//!   otherwise (a missing `Accept` and wildcards included), 406 when neither
//!   is acceptable.
//! - With `application/graphql-response+json`, request errors get 400 and no
//!   `data` (unparseable JSON or documents, validation and variable errors);
//!   field errors keep 200. With `application/json`, any well-formed GraphQL
//!   request gets 200. Every error carries an `extensions.code`.
//! - Bodies are capped while they are read (413), GET query strings at the
//!   same size (414), batches by count (`wire`).
//! - Automatic Persisted Queries, stored in the database (`persisted`).
//! - A query sent again is not parsed again (`parsed`).
//! - Execution is cut off after the request timeout (503).

mod answer;
mod document;
mod negotiate;
mod parsed;
mod persisted;
mod prepare;
mod refusal;
mod wire;

use std::{sync::Arc, time::Instant};

use async_graphql::Request;
use axum::{
    body::Body,
    extract::{Extension, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};

use self::{
    answer::{Answer, encode, respond},
    negotiate::{MediaType, negotiate, wants_html},
    parsed::ParsedDocuments,
    refusal::{Refusal, error_body},
    wire::WireRequest,
};
use super::{HttpSettings, auth, graphiql};
use crate::{
    domain::{Auth, ClientIp, Role},
    graphql::{self, AppSchema, ErrorCode},
    metrics::Outcome,
    state::AppState,
    telemetry,
};

/// The `/graphql` route's state.
#[derive(Clone)]
pub(super) struct Endpoint {
    pub schema: AppSchema,
    pub app: AppState,
    pub settings: Arc<HttpSettings>,
    /// Documents parsed before, by query text.
    documents: ParsedDocuments,
}

impl Endpoint {
    /// The endpoint of `schema`, with nothing parsed yet.
    pub fn new(schema: AppSchema, app: AppState, settings: Arc<HttpSettings>) -> Self {
        app.metrics.reserve_operations(&settings.metrics_operations);
        Self {
            schema,
            app,
            settings,
            documents: ParsedDocuments::default(),
        }
    }
}

/// A request ready to execute.
struct Prepared {
    request: Request,
    /// The document to register once it has run (sent with its hash).
    to_register: Option<String>,
    /// Whether the document came from the persisted store.
    from_store: bool,
}

fn not_acceptable() -> Response {
    Refusal::http(
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::NotAcceptable,
        "ask for application/graphql-response+json or application/json in Accept",
    )
    .respond(MediaType::Json)
}

/// `GET /graphql`: GraphiQL for browsers, otherwise a query from the query string.
pub(super) async fn get(
    State(endpoint): State<Endpoint>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let limit = endpoint.settings.body_limit;
    if query.as_ref().is_some_and(|q| q.len() > limit) {
        let media = negotiate(&headers).unwrap_or(MediaType::Json);
        let message = format!("the query string is larger than {limit} bytes");
        return Refusal::http(StatusCode::URI_TOO_LONG, ErrorCode::UriTooLong, message)
            .respond(media);
    }
    let wire = match query.as_deref().map(wire::read_query_string).transpose() {
        Ok(wire) => wire.unwrap_or_default(),
        Err(refusal) => return refusal.respond(negotiate(&headers).unwrap_or(MediaType::Json)),
    };
    let settings = &endpoint.settings;
    if settings.graphiql
        && wire.query.is_none()
        && wire.extensions.is_none()
        && wants_html(&headers)
    {
        return graphiql::page(settings.graphiql_assets_url.as_deref());
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let deadline = Instant::now() + endpoint.settings.request_timeout;
    endpoint
        .run(
            &headers,
            Call {
                media,
                ip,
                requests: vec![wire],
                batch: false,
                via_get: true,
                deadline,
            },
        )
        .await
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
    let settings = &endpoint.settings;
    // The body is read within the request's deadline, like its execution: a
    // client that trickles it in cannot hold a worker longer.
    let deadline = Instant::now() + settings.request_timeout;
    let read = wire::read_body(&headers, body, settings.body_limit, settings.max_batch);
    match tokio::time::timeout_at(deadline.into(), read).await {
        Ok(Ok((requests, batch))) => {
            endpoint
                .run(
                    &headers,
                    Call {
                        media,
                        ip,
                        requests,
                        batch,
                        via_get: false,
                        deadline,
                    },
                )
                .await
        }
        Ok(Err(refusal)) => refusal.respond(media),
        Err(_) => Refusal::http(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Timeout,
            format!(
                "the request body did not arrive within {} ms",
                settings.request_timeout.as_millis()
            ),
        )
        .respond(media),
    }
}

/// A GraphQL request as it came in, ready to run.
struct Call {
    /// The response type the client accepts.
    media: MediaType,
    /// The client's address.
    ip: ClientIp,
    /// The operations: one, or a batch's.
    requests: Vec<WireRequest>,
    /// Whether they came as a batch (a JSON array).
    batch: bool,
    /// Whether they came with `GET` (no mutation then).
    via_get: bool,
    /// When execution stops.
    deadline: Instant,
}

impl Endpoint {
    /// Authenticates, prepares and executes `call`'s requests, answering in
    /// its media type; execution stops at its deadline.
    async fn run(&self, headers: &HeaderMap, call: Call) -> Response {
        let Call {
            media,
            ip,
            requests,
            batch,
            via_get,
            deadline,
        } = call;
        // `respond` adds `Retry-After: 1` to every 503.
        if self.app.health.is_down() {
            let message = "the database cannot be reached right now; try again in a moment";
            let status = StatusCode::SERVICE_UNAVAILABLE;
            let refusal = Refusal::http(status, ErrorCode::ServiceUnavailable, message);
            return respond(media, vec![refusal.answer(media)], false);
        }
        let auth = match auth::authenticate(&self.app, headers).await {
            Ok(auth) => auth,
            Err(status) => {
                let message = "the server cannot check API keys right now; try again";
                let refusal = Refusal::http(status, ErrorCode::ServiceUnavailable, message);
                return respond(media, vec![refusal.answer(media)], false);
            }
        };
        let mut answers = Vec::with_capacity(requests.len());
        for wire in requests {
            let started = Instant::now();
            let answer = match self.prepare(wire, via_get, &auth, ip).await {
                Err(refusal) if !batch && refusal.is_method_not_allowed() => {
                    return refusal.respond(media);
                }
                Err(refusal) => refusal.answer(media),
                Ok(Prepared {
                    mut request,
                    to_register,
                    from_store,
                }) => {
                    let operation = request.operation_name.clone().or_else(|| {
                        let document = request.parsed_query().ok()?;
                        let (name, _) = graphql::operation::selected(document, None)?;
                        name.map(ToString::to_string)
                    });
                    // A name becomes a metrics label only when the server
                    // knows it: clients choose names, and labels cost memory.
                    // Names a storefront key persisted are the public's
                    // choice: they never take a label.
                    let integration = matches!(&auth, Auth::Key(p) if p.role == Role::Integration);
                    let known = (from_store && integration)
                        || operation
                            .as_ref()
                            .is_some_and(|name| self.settings.metrics_operations.contains(name));
                    let mut span = operation_span(&mut request, operation.as_deref());
                    let answer = span
                        .run(self.execute(media, request, operation, deadline))
                        .await;
                    if answer.outcome == Outcome::Timeout {
                        span.fail("the request timed out");
                    }
                    // Registered only once it parsed and validated.
                    if let Some(query) = to_register
                        && matches!(answer.outcome, Outcome::Ok | Outcome::FieldError)
                    {
                        let (db, bounds) = (&self.app.db, self.settings.persisted_queries);
                        let now = self.app.clock.now();
                        persisted::register_after_run(db, &auth, &query, bounds, now).await;
                    }
                    Answer {
                        known_operation: known,
                        ..answer
                    }
                }
            };
            let operation = answer.operation.as_deref();
            let label = if answer.known_operation {
                operation
            } else {
                operation.map(|_| "other")
            };
            self.app
                .metrics
                .record_request(label, answer.outcome, started.elapsed());
            let span = tracing::Span::current();
            span.record("operation", operation.unwrap_or("anonymous"));
            span.record("outcome", format!("{:?}", answer.outcome));
            answers.push(answer);
        }
        respond(media, answers, batch)
    }

    /// Executes `request`, stopping it at `deadline`.
    async fn execute(
        &self,
        media: MediaType,
        request: Request,
        operation: Option<String>,
        deadline: Instant,
    ) -> Answer {
        let timeout = self.settings.request_timeout;
        let query = request.query.clone();
        match tokio::time::timeout_at(deadline.into(), self.schema.execute(request)).await {
            Ok(mut response) => {
                graphql::give_codes(&mut response, &query);
                let retry_after = graphql::retry_after(&response);
                let down = graphql::unavailable(&response);
                let database_down = graphql::database_unreachable(&response);
                let (outcome, status, body) = encode(media, response);
                let answer = Answer {
                    operation,
                    outcome,
                    status,
                    body,
                    retry_after,
                    known_operation: false,
                };
                if down {
                    if database_down {
                        self.app.health.mark_down(&self.app.db);
                    }
                    answer.unavailable()
                } else {
                    answer
                }
            }
            Err(_) => {
                let message = format!(
                    "the request took longer than {} ms and was stopped; nothing it did was kept unless it finished",
                    timeout.as_millis()
                );
                Answer {
                    operation,
                    outcome: Outcome::Timeout,
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    body: error_body(ErrorCode::Timeout, &message),
                    retry_after: None,
                    known_operation: false,
                }
            }
        }
    }
}

/// The trace span of one GraphQL operation, named as OpenTelemetry's
/// conventions say (`mutation CreateCustomerPasswordReset`; `query` alone
/// for an anonymous one).
fn operation_span(request: &mut Request, operation: Option<&str>) -> telemetry::Span {
    let mut span = telemetry::child("graphql", telemetry::Kind::Internal);
    if !span.is_recording() {
        return span; // no parsing ahead of time when nothing is traced
    }
    let kind = request
        .parsed_query()
        .ok()
        .and_then(|document| graphql::operation::selected(document, operation))
        .map(|(_, op)| op.node.ty.to_string());
    let kind = kind.as_deref().unwrap_or("query");
    span.rename(match operation {
        Some(name) => format!("{kind} {name}"),
        None => kind.to_owned(),
    });
    span.set("graphql.operation.type", kind);
    if let Some(name) = operation {
        span.set("graphql.operation.name", name);
    }
    span
}
