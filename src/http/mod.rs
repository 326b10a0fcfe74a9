//! The HTTP surface:
//! - `POST`/`GET /graphql`: GraphQL over HTTP (the specification's current
//!   draft): media type negotiation, request errors as 4xx, mutations refused
//!   over GET, a body cap, batches, Automatic Persisted Queries, a timeout;
//! - `GET /graphql` from a browser, and `/graphiql/…`: GraphiQL, served offline;
//! - `GET /graphql/schema.graphql`: the schema's SDL (`sdl`);
//! - `/api/…`: Commerce Layer's JSON:API for the same resources (`jsonapi`);
//! - `/healthz`, `/readyz`: for operators and load balancers;
//! - on the admin listener only ([`admin_router`]): `/metrics`, with health
//!   and readiness again.
//!
//! Every response carries an `x-request-id` (the client's, when it sent a sane
//! one) and every request is logged in a span that carries it.

mod auth;
mod graphiql;
mod graphql;
mod jsonapi;
mod ops;
mod sdl;
mod server;

pub use server::{ConnectionLimits, serve};

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use rand::{RngExt, distr::Alphanumeric};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use clap::ArgAction;

use crate::{
    domain::ClientIp,
    flags,
    graphql::{AppSchema, GraphqlSettings},
    service::persisted_queries::StoreBounds,
    state::AppState,
    telemetry::{self, Tracer},
};

/// The request id header, read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request headers browsers may send by default: what GraphQL clients
/// (Apollo, urql, Relay) and tracing (W3C Trace Context, Sentry) add.
pub const DEFAULT_CORS_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
];

/// What the HTTP endpoint enforces: each field is a flag (see `pwreset --help`).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "HTTP endpoint")]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes; larger bodies get 413.
    #[arg(long = "body-limit-bytes", env = "BODY_LIMIT_BYTES", default_value = "65536",
          value_parser = flags::count(1024..=16_777_216), global = true)]
    pub body_limit: usize,
    /// Most operations in one batch request; 0 turns batching off.
    #[arg(long = "max-batch-size", env = "MAX_BATCH_SIZE", default_value = "10",
          value_parser = flags::count(0..=1000), global = true)]
    pub max_batch: usize,
    /// Most aliases a document may use.
    #[arg(long = "max-query-aliases", env = "MAX_QUERY_ALIASES", default_value = "30",
          value_parser = flags::count(0..=10_000), global = true)]
    pub max_aliases: usize,
    /// What the schema enforces (depth, complexity, introspection, suggestions).
    #[command(flatten)]
    pub graphql: GraphqlSettings,
    /// Longest a GraphQL request may run, in milliseconds, before it is cut off with a 503.
    #[arg(long = "request-timeout-ms", env = "REQUEST_TIMEOUT_MS", default_value = "10000",
          value_parser = flags::millis(1..=600_000), global = true)]
    pub request_timeout: Duration,
    /// Browser origins allowed to call the API (CORS), comma-separated, such as
    /// `https://shop.example.com`; none by default.
    #[arg(long = "cors-allowed-origins", env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',',
          value_parser = flags::origin, global = true)]
    pub cors_origins: Vec<String>,
    /// How long browsers may cache a CORS preflight answer, in seconds.
    #[arg(long = "cors-max-age-seconds", env = "CORS_MAX_AGE_SECONDS", default_value = "3600",
          value_parser = flags::seconds(0..=86_400), global = true)]
    pub cors_max_age: Duration,
    /// Request headers browsers may send (CORS), comma-separated; by default
    /// authorization, content-type, accept, x-request-id,
    /// apollographql-client-name, apollographql-client-version, traceparent,
    /// tracestate, baggage and sentry-trace.
    #[arg(long = "cors-allowed-headers", env = "CORS_ALLOWED_HEADERS", value_delimiter = ',',
          default_values = DEFAULT_CORS_HEADERS, hide_default_value = true, global = true)]
    pub cors_headers: Vec<String>,
    /// Where GraphiQL loads its scripts and styles from; by default the server
    /// serves them itself, so GraphiQL works offline.
    #[arg(long = "graphiql-assets-url", env = "GRAPHIQL_ASSETS_URL", value_parser = flags::base_url, global = true)]
    pub graphiql_assets_url: Option<String>,
    /// Whether GraphiQL is served (at `GET /graphql` from a browser).
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = ArgAction::Set, global = true)]
    pub graphiql: bool,
    /// Operation names that label request metrics, comma-separated; any other
    /// name is counted as `other`, unless its document is a persisted query.
    #[arg(
        long = "metrics-operation-names",
        env = "METRICS_OPERATION_NAMES",
        value_delimiter = ',',
        global = true
    )]
    pub metrics_operations: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed, comma-separated IPs or CIDRs
    /// (such as `10.0.0.0/8`); none by default, so the socket address is the client.
    #[arg(long = "trusted-proxies", env = "TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = flags::net, global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The server's public address, such as `https://api.shop.example`: the
    /// start of every absolute link the JSON:API facade (`/api`) writes,
    /// never taken from the `Host` header.
    #[arg(long = "public-base-url", env = "PUBLIC_BASE_URL", default_value = "http://localhost:8000",
          value_parser = flags::base_url, global = true)]
    pub public_base_url: String,
    /// How many persisted queries, and how many bytes of them, are kept.
    #[command(flatten)]
    pub persisted_queries: StoreBounds,
    /// Header-read timeout, connection cap, drain time.
    #[command(flatten)]
    pub connections: ConnectionLimits,
}

impl Default for HttpSettings {
    fn default() -> Self {
        flags::defaults()
    }
}

/// The server's routes and middleware.
pub fn router(schema: AppSchema, app: AppState, settings: HttpSettings) -> Router {
    let settings = Arc::new(settings);
    let app_tracer = app.tracer.clone();
    let sdl = crate::graphql::sdl_of(&schema);
    let endpoint = graphql::Endpoint::new(schema, app.clone(), settings.clone());
    let mut router = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .with_state(endpoint)
        .merge(if settings.graphiql {
            graphiql::routes()
        } else {
            Router::new()
        })
        .merge(sdl::routes(sdl))
        .merge(jsonapi::routes(
            app.clone(),
            &settings.public_base_url,
            settings.body_limit,
        ))
        .merge(ops::health_routes(app));
    if !settings.cors_origins.is_empty() {
        router = router.layer(cors(&settings));
    }
    let spans = RequestSpans {
        settings,
        tracer: app_tracer,
    };
    router.layer(middleware::from_fn_with_state(spans, request_span))
}

/// The admin listener's routes (`/metrics`, `/healthz`, `/readyz`): for
/// operators, never to be exposed with the public API.
pub fn admin_router(app: AppState) -> Router {
    ops::admin_routes(app)
}

/// The client's address: the socket's peer, or, when the peer is a trusted
/// proxy, `X-Forwarded-For` read from the right (the entries nearest us,
/// which our proxies wrote), stopping at the first that is not a trusted
/// proxy. An entry that cannot be read (`unknown`, garbage) is that client:
/// all such share [`UNREADABLE_CLIENT`], never skipped, so a client cannot
/// hide behind junk to have an entry of its choice taken.
fn client_ip(request: &Request, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<Option<IpAddr>> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("unreadable"))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(forwarded_address)
        .collect();
    for entry in forwarded.iter().rev() {
        match entry {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return Some(*ip),
            None => return Some(UNREADABLE_CLIENT),
        }
    }
    // Only trusted proxies: the one farthest from us.
    Some(forwarded.first().copied().flatten().unwrap_or(peer))
}

/// The one address every unreadable `X-Forwarded-For` entry counts as: `100::`,
/// in IPv6's discard-only prefix (RFC 6666), which no client has.
pub const UNREADABLE_CLIENT: IpAddr =
    IpAddr::V6(std::net::Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0));

/// An `X-Forwarded-For` entry as proxies write it: `IP`, `IPv4:port`,
/// `[IPv6]:port` or `[IPv6]`; `None` for anything else.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        })
}

fn cors(settings: &HttpSettings) -> CorsLayer {
    let origins: Vec<HeaderValue> = settings
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let headers: Vec<HeaderName> = settings
        .cors_headers
        .iter()
        .filter_map(|h| HeaderName::from_bytes(h.trim().as_bytes()).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        // PATCH and DELETE for the JSON:API facade: a storefront completes a
        // reset with an update.
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers(headers)
        // Scripts may read when to retry and which request to quote.
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
        .max_age(settings.cors_max_age)
}

fn request_id(request: &Request) -> String {
    let sane = |id: &&str| {
        (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    };
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(sane)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            rand::rng()
                .sample_iter(&Alphanumeric)
                .take(20)
                .map(char::from)
                .collect()
        })
}

/// What the request middleware needs.
#[derive(Clone)]
struct RequestSpans {
    settings: Arc<HttpSettings>,
    tracer: Option<Arc<Tracer>>,
}

/// One span per request, carrying its id; the id is echoed in the response.
/// With traces exported, also the request's trace span, continuing the
/// caller's `traceparent`. Also works out the client's address for rate
/// limits and the audit trail.
async fn request_span(
    State(RequestSpans { settings, tracer }): State<RequestSpans>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = request_id(&request);
    let ip = client_ip(&request, &settings.trusted_proxies);
    request.extensions_mut().insert(ClientIp(ip));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        operation = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let mut trace = match &tracer {
        Some(tracer) => server_span(tracer, &request, &id),
        None => telemetry::Span::none(),
    };
    async move {
        let mut response = trace.run(next.run(request)).await;
        let status = response.status();
        trace.set("http.response.status_code", i64::from(status.as_u16()));
        if status.is_server_error() {
            trace.fail(status.to_string());
        }
        drop(trace);
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "request finished"
        );
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        response
    }
    .instrument(span)
    .await
}

/// The trace span of a request: `METHOD route`, under the caller's
/// `traceparent` when it sent a valid one. Never the query string (a filter
/// may hold an email address) nor a header's value but the request id.
fn server_span(tracer: &Arc<Tracer>, request: &Request, request_id: &str) -> telemetry::Span {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let parent = header("traceparent")
        .and_then(|t| telemetry::SpanContext::from_headers(t, header("tracestate")));
    // A method of the caller's own making is `_OTHER`, as the conventions say.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" | "TRACE"
        | "CONNECT") => m,
        _ => "_OTHER",
    };
    let route = route_of(request.uri().path());
    let mut span = tracer.server(
        match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        },
        parent,
    );
    span.set("http.request.method", method);
    if let Some(route) = route {
        span.set("http.route", route);
    }
    span.set("pwreset.request_id", request_id);
    span
}

/// The route template of `path`: ids in JSON:API paths become `{id}`;
/// `None` for a path the server has no route for.
fn route_of(path: &str) -> Option<&'static str> {
    const STATIC: &[&str] = &[
        "/graphql",
        "/graphql/schema.graphql",
        "/graphiql",
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        "/api/customer_password_resets",
        "/api/customers",
    ];
    if let Some(known) = STATIC.iter().find(|r| **r == path) {
        return Some(known);
    }
    let rest = path.strip_prefix("/api/")?;
    let mut parts = rest.split('/');
    let (kind, _id, relation) = (parts.next()?, parts.next()?, parts.next());
    if parts.next().is_some() {
        return None;
    }
    Some(match (kind, relation) {
        ("customer_password_resets", None) => "/api/customer_password_resets/{id}",
        ("customer_password_resets", Some("customer")) => {
            "/api/customer_password_resets/{id}/customer"
        }
        ("customers", None) => "/api/customers/{id}",
        _ => return None,
    })
}
