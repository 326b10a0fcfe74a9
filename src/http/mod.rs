//! The HTTP surface: `POST /graphql` executes GraphQL, `GET /graphql` serves
//! GraphiQL. The handler reads the API key, attaches it and a fresh DataLoader
//! to each request, and answers malformed bodies with a clear 400.

mod auth;

use async_graphql::{BatchRequest, BatchResponse, dataloader::DataLoader, http::GraphiQLSource};
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};

use crate::{
    graphql::{AppSchema, CustomerLoader},
    state::AppState,
};

/// What the GraphQL handler needs.
#[derive(Clone)]
struct HttpState {
    schema: AppSchema,
    app: AppState,
}

/// The server's routes.
pub fn router(schema: AppSchema, app: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .with_state(HttpState { schema, app })
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("Customer password resets")
            .finish(),
    )
}

fn request_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_REQUEST" } }] });
    (status, Json(body)).into_response()
}

async fn graphql(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the GraphQL request as JSON with `Content-Type: application/json`",
        );
    }
    // PostgreSQL cannot store NUL in text, and no field has a use for it: refuse
    // it here, once, rather than let it reach a query.
    if body.windows(6).any(|w| w == br"\u0000") {
        return request_error(
            StatusCode::BAD_REQUEST,
            "NUL characters (\\u0000) are not accepted in any field",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    let auth = match auth::authenticate(&state.app, &headers).await {
        Ok(auth) => auth,
        Err(status) => {
            return request_error(
                status,
                "the server cannot check API keys right now; try again",
            );
        }
    };
    let prepare = |request: async_graphql::Request| {
        let loader = DataLoader::new(CustomerLoader::new(state.app.db.clone()), tokio::spawn);
        request.data(auth.clone()).data(loader)
    };
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(prepare(request)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(prepare).collect())
        }
    };
    let response: BatchResponse = state.schema.execute_batch(batch).await;
    Json(response).into_response()
}
