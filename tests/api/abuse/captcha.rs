//! The optional bot challenge, against a siteverify server inside the test
//! that speaks the providers' protocol: a form POST of `secret`, `response`
//! and `remoteip`, answered with JSON `success` (and `score`, `hostname`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{Json, Router, body::Bytes, extract::State, routing::post};
use pwreset::{
    HttpSettings,
    service::{
        captcha::{CaptchaSettings, Provider},
        rate_limits::Limit,
    },
};
use serde_json::{Value, json};

use super::limits;
use crate::helpers::{Options, TestApp, codes};

type Posted = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A siteverify endpoint: `pass` passes (solved on `shop.example`), `high`
/// and `low` pass with a score of 0.9 and 0.2, anything else fails.
async fn siteverify() -> (String, Posted) {
    async fn verify(State(posted): State<Posted>, body: Bytes) -> Json<Value> {
        let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap();
        let answer = match form.get("response").map(String::as_str) {
            Some("pass") => json!({ "success": true, "hostname": "shop.example" }),
            Some("high") => json!({ "success": true, "score": 0.9, "hostname": "shop.example" }),
            Some("low") => json!({ "success": true, "score": 0.2, "hostname": "shop.example" }),
            _ => json!({ "success": false, "error-codes": ["invalid-input-response"] }),
        };
        posted.lock().unwrap().push(form);
        Json(answer)
    }
    let posted = Posted::default();
    let router = Router::new()
        .route("/siteverify", post(verify))
        .with_state(posted.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/siteverify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, posted)
}

fn challenged(provider: Provider, verify_url: &str) -> Options {
    let mut options = Options::with_http(HttpSettings {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..HttpSettings::default()
    });
    options.captcha = CaptchaSettings {
        provider: Some(provider),
        secret: Some("0x-the-site-secret".into()),
        verify_url: Some(verify_url.parse().unwrap()),
        ..CaptchaSettings::default()
    };
    options
}

const CREATE: &str = "mutation($input: CreateCustomerPasswordResetInput!) {
    createCustomerPasswordReset(input: $input) { userErrors { field code } } }";

/// A storefront create for `email` from 198.51.100.7 with `token`: status
/// and body.
async fn create(app: &TestApp, key: &str, email: &str, token: Option<&str>) -> (u16, Value) {
    let input = json!({ "customerEmail": email, "captchaToken": token });
    let response = app
        .client
        .post(app.url())
        .bearer_auth(key)
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({ "query": CREATE, "variables": { "input": input } }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn user_codes(body: &Value) -> Vec<String> {
    codes(&body["data"]["createCustomerPasswordReset"])
}

#[tokio::test]
async fn a_challenged_storefront_create_needs_a_token_the_provider_accepts() {
    let (url, posted) = siteverify().await;
    let app = TestApp::spawn_with(challenged(Provider::Turnstile, &url)).await;
    app.create_customer("ada@example.com", None).await;
    let sc = app.sales_channel.clone();
    for email in ["ada@example.com", "nobody@example.com"] {
        let (status, missing) = create(&app, &sc, email, None).await;
        assert_eq!(
            (status, user_codes(&missing)),
            (200, vec!["CAPTCHA_REQUIRED".to_owned()])
        );
        assert_eq!(
            missing["data"]["createCustomerPasswordReset"]["userErrors"][0]["field"],
            json!(["input", "captchaToken"])
        );
        let (_, refused) = create(&app, &sc, email, Some("forged")).await;
        assert_eq!(user_codes(&refused), ["CAPTCHA_FAILED"], "{email}");
        let (_, passed) = create(&app, &sc, email, Some("pass")).await;
        assert_eq!(user_codes(&passed), Vec::<String>::new(), "{email}");
    }
    app.run_jobs().await;
    assert_eq!(app.count_resets().await, 1, "only the passed create ran");
    // What the provider was sent: the secret, the token, the client's
    // address as resolved through TRUSTED_PROXIES. Nothing for a missing token.
    let posted = posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 4);
    assert_eq!(posted[1]["secret"], "0x-the-site-secret");
    assert_eq!(posted[1]["response"], "pass");
    assert_eq!(posted[1]["remoteip"], "198.51.100.7");

    // Integration keys are never challenged.
    let integration = app.integration.clone();
    let (_, trusted) = create(&app, &integration, "ada@example.com", None).await;
    assert_eq!(user_codes(&trusted), Vec::<String>::new());
}

#[tokio::test]
async fn an_unreachable_provider_fails_closed_and_retryable() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/siteverify", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::spawn_with(challenged(Provider::Hcaptcha, &url)).await;
    let response = app
        .client
        .post(app.url())
        .bearer_auth(&app.sales_channel)
        .json(&json!({ "query": CREATE, "variables": { "input": { "customerEmail": "a@example.com", "captchaToken": "pass" } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    // The database is fine: nothing else is refused.
    let count = app
        .gql(
            Some(&app.integration),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count["data"]["customers"]["totalCount"], 0, "{count}");
}

#[tokio::test]
async fn a_low_recaptcha_score_fails_and_rate_limits_still_apply_after_a_pass() {
    let (url, _) = siteverify().await;
    let mut options = challenged(Provider::Recaptcha, &url);
    options.captcha.min_score = Some(0.5);
    options.captcha.hostnames = vec!["shop.example".into()];
    limits(&mut options).create_per_ip = Limit::per(2, 3_600);
    let app = TestApp::spawn_with(options).await;
    let sc = app.sales_channel.clone();
    let (_, low) = create(&app, &sc, "a@example.com", Some("low")).await;
    assert_eq!(user_codes(&low), ["CAPTCHA_FAILED"]);
    // A v2 answer without a score does not pass a v3 minimum.
    let (_, no_score) = create(&app, &sc, "a@example.com", Some("pass")).await;
    assert_eq!(user_codes(&no_score), ["CAPTCHA_FAILED"]);
    let statuses: Vec<u16> = [
        create(&app, &sc, "a@example.com", Some("high")).await.0,
        create(&app, &sc, "b@example.com", Some("high")).await.0,
        create(&app, &sc, "c@example.com", Some("high")).await.0,
    ]
    .into();
    assert_eq!(
        statuses,
        [200, 200, 429],
        "2 an hour from one address, challenge or not"
    );
}
