//! Breached-password screening, against a range API inside the test that
//! speaks Have I Been Pwned's protocol, and against an offline file.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    routing::get,
};
use pwreset::service::breached::{BreachedSettings, Failure, Source};
use serde_json::json;
use sha1::{Digest, Sha1};

use crate::helpers::{Options, TestApp, codes};

const BREACHED: &str = "correct horse battery staple";
/// A password whose suffix the API lists only as padding (count 0).
const PADDED: &str = "a padded but clean password";
const CLEAN: &str = "an unbreached long password";

fn sha1_hex(password: &str) -> String {
    Sha1::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// What the range API was asked: each prefix and its `Add-Padding` header.
type Asked = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A range API: every prefix answers with padding; `BREACHED`'s suffix is
/// listed 42 times, `PADDED`'s with a count of 0.
async fn range_api() -> (String, Asked, tokio::task::JoinHandle<()>) {
    async fn range(
        State(asked): State<Asked>,
        Path(prefix): Path<String>,
        headers: HeaderMap,
    ) -> String {
        let padding = headers
            .get("add-padding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        asked.lock().unwrap().push((prefix.clone(), padding));
        let mut lines = vec!["0018A45C4D1DEF81644B54AB7F969B88D65:0".to_owned()];
        for (password, count) in [(BREACHED, 42), (PADDED, 0)] {
            let hash = sha1_hex(password);
            if hash.starts_with(&prefix) {
                lines.push(format!("{}:{count}", &hash[5..]));
            }
        }
        lines.push("FFFFF45C4D1DEF81644B54AB7F969B88D65:0".to_owned());
        lines.join("\r\n")
    }
    let asked = Asked::default();
    let router = Router::new()
        .route("/range/{prefix}", get(range))
        .with_state(asked.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/range/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, asked, server)
}

fn screening(source: Source, url: &str, fail: Failure) -> Options {
    Options {
        breached: BreachedSettings {
            source,
            url: url.parse().unwrap(),
            fail,
            ..BreachedSettings::default()
        },
        ..Options::default()
    }
}

/// A pending reset for a new customer: its id and token.
async fn reset(app: &TestApp, email: &str) -> (String, String) {
    app.create_customer(email, None).await;
    app.create_reset(email).await
}

async fn status(app: &TestApp, id: &str) -> String {
    let body = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customerPasswordReset(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    body["data"]["customerPasswordReset"]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_breached_password_is_refused_by_its_prefix_and_the_token_stays_usable() {
    let (url, asked, _server) = range_api().await;
    let app = TestApp::spawn_with(screening(Source::RangeApi, &url, Failure::Open)).await;
    let (id, token) = reset(&app, "ada@example.com").await;
    let refused = app.complete(&app.sales_channel, &token, BREACHED).await;
    assert_eq!(codes(&refused), ["PASSWORD_BREACHED"]);
    let message = refused["userErrors"][0]["message"].as_str().unwrap();
    assert!(message.contains("breach"), "{message}");
    assert_eq!(status(&app, &id).await, "PENDING", "the token stays usable");
    {
        let asked = asked.lock().unwrap();
        assert_eq!(
            asked[0].0,
            sha1_hex(BREACHED)[..5],
            "only the first 5 hex digits leave"
        );
        assert_eq!(asked[0].1.as_deref(), Some("true"), "padding asked for");
    }
    // A padding line (count 0) is no breach.
    let done = app.complete(&app.sales_channel, &token, PADDED).await;
    assert_eq!(codes(&done), Vec::<String>::new());
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"pwreset_breached_password_lookups_total{outcome="breached"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_unreachable_range_api_fails_open_or_closed_as_configured() {
    let (url, _, server) = range_api().await;
    server.abort();
    let _ = server.await;
    let open = TestApp::spawn_with(screening(Source::RangeApi, &url, Failure::Open)).await;
    let (_, token) = reset(&open, "ada@example.com").await;
    let done = open.complete(&open.sales_channel, &token, BREACHED).await;
    assert_eq!(
        codes(&done),
        Vec::<String>::new(),
        "fail open lets it through"
    );
    let metrics = open.metrics().await;
    assert!(
        metrics.contains(r#"pwreset_breached_password_lookups_total{outcome="unavailable"} 1"#),
        "{metrics}"
    );

    let closed = TestApp::spawn_with(screening(Source::RangeApi, &url, Failure::Closed)).await;
    let (id, token) = reset(&closed, "bob@example.com").await;
    let response = closed
        .post(
            Some(&closed.sales_channel),
            &json!({
                "query": "mutation($t: String!, $p: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: $p }) { userErrors { code } } }",
                "variables": { "t": token, "p": CLEAN },
            }),
        )
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        status(&closed, &id).await,
        "PENDING",
        "the token stays usable"
    );
}

#[tokio::test]
async fn the_offline_file_is_searched_in_place() {
    let dir = std::env::temp_dir().join(format!("pwreset-hibp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pwned-passwords-sha1-ordered-by-hash.txt");
    let mut lines: Vec<String> = (0..5_000u64)
        .map(|n| {
            format!(
                "{:040X}:{}",
                n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                n % 977 + 1
            )
        })
        .collect();
    lines.push(format!("{}:3", sha1_hex(BREACHED)));
    lines.sort();
    std::fs::write(&file, lines.join("\r\n") + "\r\n").unwrap();
    let mut options = screening(Source::File, "http://127.0.0.1:9/", Failure::Open);
    options.breached.file = Some(file);
    let app = TestApp::spawn_with(options).await;
    let (_, token) = reset(&app, "ada@example.com").await;
    let refused = app.complete(&app.sales_channel, &token, BREACHED).await;
    assert_eq!(codes(&refused), ["PASSWORD_BREACHED"]);
    let done = app.complete(&app.sales_channel, &token, CLEAN).await;
    assert_eq!(codes(&done), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_new_customers_breached_password_is_refused_too() {
    let (url, _, _server) = range_api().await;
    let app = TestApp::spawn_with(screening(Source::RangeApi, &url, Failure::Open)).await;
    let created = app
        .gql(
            Some(&app.integration),
            "mutation($p: String!) { createCustomer(input: { email: \"new@example.com\", password: $p }) { customer { id } userErrors { field code } } }",
            json!({ "p": BREACHED }),
        )
        .await;
    let payload = &created["data"]["createCustomer"];
    assert_eq!(
        payload["userErrors"],
        json!([{ "field": ["input", "password"], "code": "PASSWORD_BREACHED" }])
    );
    assert!(payload["customer"].is_null(), "nothing was written");
}
