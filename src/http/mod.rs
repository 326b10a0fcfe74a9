//! The HTTP surface:
//! - `POST`/`GET /graphql`: GraphQL over HTTP (the specification's current
//!   draft): media type negotiation, request errors as 4xx, mutations refused
//!   over GET, a body cap, batches, Automatic Persisted Queries, a timeout;
//! - `GET /graphql` from a browser, and `/graphiql/…`: GraphiQL, served offline;
//! - `GET /graphql/schema.graphql`: the schema's SDL (`sdl`);
//! - `/healthz`, `/readyz`: for operators and load balancers;
//! - on the admin listener only ([`admin_router`]): `/metrics`, with health
//!   and readiness again.
//!
//! Every response carries an `x-request-id` (the client's, when it sent a sane
//! one) and every request is logged in a span that carries it.

mod auth;
mod graphiql;
mod graphql;
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
use rand::{Rng, distr::Alphanumeric};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::{
    domain::ClientIp,
    graphql::{AppSchema, GraphqlSettings},
    service::persisted_queries::StoreBounds,
    state::AppState,
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

/// What the HTTP endpoint enforces; see `pwreset --help` for each setting.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest request body, in bytes (413 beyond).
    pub body_limit: usize,
    /// Most operations in a batch; 0 turns batches off.
    pub max_batch: usize,
    /// Most aliases in a document.
    pub max_aliases: usize,
    /// What the schema enforces (depth, complexity, introspection, suggestions).
    pub graphql: GraphqlSettings,
    /// Longest a request may execute.
    pub request_timeout: Duration,
    /// Origins allowed by CORS; none by default.
    pub cors_origins: Vec<String>,
    /// How long browsers may cache a preflight.
    pub cors_max_age: Duration,
    /// Request headers browsers may send (CORS); [`DEFAULT_CORS_HEADERS`] by default.
    pub cors_headers: Vec<String>,
    /// Where GraphiQL's assets come from; `None`: served by this server.
    pub graphiql_assets_url: Option<String>,
    /// Whether GraphiQL is served at all.
    pub graphiql: bool,
    /// Operation names that label request metrics; any other name counts as
    /// `other` (unless its document was persisted).
    pub metrics_operations: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How many persisted queries, and how many bytes of them, are kept.
    pub persisted_queries: StoreBounds,
    /// Header-read timeout, connection cap, drain time.
    pub connections: ConnectionLimits,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            max_batch: 10,
            max_aliases: 30,
            graphql: GraphqlSettings::default(),
            request_timeout: Duration::from_secs(10),
            cors_origins: Vec::new(),
            cors_max_age: Duration::from_secs(3_600),
            cors_headers: DEFAULT_CORS_HEADERS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            graphiql_assets_url: None,
            graphiql: true,
            metrics_operations: Vec::new(),
            trusted_proxies: Vec::new(),
            persisted_queries: StoreBounds::default(),
            connections: ConnectionLimits::default(),
        }
    }
}

/// The server's routes and middleware.
pub fn router(schema: AppSchema, app: AppState, settings: HttpSettings) -> Router {
    let settings = Arc::new(settings);
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
        .merge(ops::health_routes(app));
    if !settings.cors_origins.is_empty() {
        router = router.layer(cors(&settings));
    }
    router.layer(middleware::from_fn_with_state(settings, request_span))
}

/// The admin listener's routes (`/metrics`, `/healthz`, `/readyz`): for
/// operators, never to be exposed with the public API.
pub fn admin_router(app: AppState) -> Router {
    ops::admin_routes(app)
}

/// The client's address: the socket's peer, or, when the peer is a trusted
/// proxy, the nearest address in `X-Forwarded-For` that is not one.
fn client_ip(request: &Request, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .or(Some(peer))
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
        .allow_methods([Method::GET, Method::POST])
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

/// One span per request, carrying its id; the id is echoed in the response.
/// Also works out the client's address for rate limits and the audit trail.
async fn request_span(
    State(settings): State<Arc<HttpSettings>>,
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
    async move {
        let mut response = next.run(request).await;
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
