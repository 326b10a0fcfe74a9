//! GraphQL over HTTP: media types, status codes, methods, body and batch caps,
//! persisted queries, and GraphiQL served offline.

mod bodies;
mod negotiation;
mod persisted;

use serde_json::Value;

use crate::helpers::TestApp;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";

const JSON: &str = "application/json; charset=utf-8";

struct Answer {
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

fn post(app: &TestApp, accept: Option<&str>, body: &str) -> reqwest::RequestBuilder {
    let mut request = reqwest::Client::new()
        .post(app.url())
        .bearer_auth(&app.integration)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request
}
