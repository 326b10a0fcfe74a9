//! GraphiQL, with its scripts and styles compiled into the binary so it works
//! with no internet access (or loaded from `GRAPHIQL_ASSETS_URL` when set).
//! The headers editor opens with an `Authorization` template to paste a key
//! into. The page runs no inline script, and its `Content-Security-Policy`
//! lets it load code only from this server (and the assets URL), talk only
//! to this server, and never be framed. `GRAPHIQL=false` turns it off.

use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};

/// Path prefix of the embedded assets; the version keeps browser caches honest.
pub(super) const ASSETS_PATH: &str = "/graphiql/3.9.0";

const GRAPHIQL_JS: &[u8] = include_bytes!("../../assets/graphiql/graphiql.min.js");
const GRAPHIQL_CSS: &[u8] = include_bytes!("../../assets/graphiql/graphiql.min.css");
const REACT_JS: &[u8] = include_bytes!("../../assets/graphiql/react.production.min.js");
const REACT_DOM_JS: &[u8] = include_bytes!("../../assets/graphiql/react-dom.production.min.js");

/// What the page runs to start GraphiQL (served as a file: the page's policy
/// allows no inline script).
const INIT_JS: &str = r##"const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
const defaultHeaders = JSON.stringify({ Authorization: "Bearer paste-your-api-key-here" }, null, 2);
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultHeaders,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: "headers",
    defaultQuery: "# Paste an API key into the Headers tab below, then run:\n{\n  customerPasswordResets(first: 10) {\n    totalCount\n    nodes { id customerEmail status createdAt }\n  }\n}\n",
  }),
);
"##;

pub(super) fn routes() -> Router {
    Router::new().route(&format!("{ASSETS_PATH}/{{file}}"), get(asset))
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, content_type): (&[u8], _) = match file.as_str() {
        "graphiql.min.js" => (GRAPHIQL_JS, "text/javascript; charset=utf-8"),
        "graphiql.min.css" => (GRAPHIQL_CSS, "text/css; charset=utf-8"),
        "react.production.min.js" => (REACT_JS, "text/javascript; charset=utf-8"),
        "react-dom.production.min.js" => (REACT_DOM_JS, "text/javascript; charset=utf-8"),
        "init.js" => (INIT_JS.as_bytes(), "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The page's `Content-Security-Policy`: code and styles from this server
/// (and `assets`, when they come from elsewhere), requests to this server
/// only, no framing, no plugins, no form posts elsewhere. Inline styles are
/// allowed: GraphiQL's editors set them.
fn policy(assets: Option<&str>) -> String {
    let extra = assets.map(|a| format!(" {a}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'{extra}; style-src 'self' 'unsafe-inline'{extra}; \
         font-src 'self' data:{extra}; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// The GraphiQL page, loading its assets from `assets_url` or from this server.
pub(super) fn page(assets_url: Option<&str>) -> Response {
    let base = assets_url.unwrap_or(ASSETS_PATH);
    let html = Html(format!(
        r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>GraphiQL · customer password resets</title>
  <link rel="stylesheet" href="{base}/graphiql.min.css">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{base}/react.production.min.js"></script>
  <script src="{base}/react-dom.production.min.js"></script>
  <script src="{base}/graphiql.min.js"></script>
  <script src="{ASSETS_PATH}/init.js"></script>
</body>
</html>
"##
    ));
    let mut response = html.into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&policy(assets_url)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
