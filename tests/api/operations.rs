//! Operating the server: health, readiness, metrics, request ids, CORS, and
//! graceful shutdown.

use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, codes};

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("http://{}{path}", app.addr))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn health_says_up_and_readiness_follows_the_database() {
    let app = TestApp::spawn().await;
    assert_eq!(get(&app, "/healthz").await.status(), 200);
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");

    // The database goes away: the process is still up, but not ready.
    app.db.clone().close().await.unwrap();
    assert_eq!(get(&app, "/healthz").await.status(), 200);
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status(), 503);
    let text = ready.text().await.unwrap();
    assert!(
        !text.contains("sqlx") && !text.contains("postgres://"),
        "{text}"
    );
}

fn sample(metrics: &str, name_and_labels: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name_and_labels) && l[name_and_labels.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_move_with_requests_and_outcomes() {
    let app = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        metrics_operations: vec!["ListResets".into()],
        ..Default::default()
    }))
    .await;
    let admin = reqwest::get(format!("http://{}/metrics", app.admin_addr))
        .await
        .unwrap();
    assert!(
        admin.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics-text")
    );
    let before = app.metrics().await;

    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, "nope", "a new password")
                .await
        ),
        ["TOKEN_INVALID"]
    );
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "a new password")
                .await
        ),
        Vec::<String>::new()
    );
    app.gql(
        Some(&app.integration),
        "query ListResets { customerPasswordResets { totalCount } }",
        json!({}),
    )
    .await;
    app.gql(
        None,
        "query ListResets { customerPasswordResets { totalCount } }",
        json!({}),
    )
    .await;

    // A name the server does not know is not a label: clients choose names.
    app.gql(
        Some(&app.integration),
        "query Junk7f3a { customerPasswordResets { totalCount } }",
        json!({}),
    )
    .await;

    let after = app.metrics().await;
    assert!(!after.contains("Junk7f3a"), "{after}");
    assert_eq!(
        sample(
            &after,
            r#"pwreset_graphql_requests_total{operation="other",outcome="Ok"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(&after, "pwreset_resets_created_total")
            - sample(&before, "pwreset_resets_created_total"),
        1.0
    );
    assert_eq!(sample(&after, "pwreset_resets_completed_total"), 1.0);
    assert_eq!(
        sample(
            &after,
            r#"pwreset_resets_rejected_total{reason="TOKEN_INVALID"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"pwreset_graphql_requests_total{operation="ListResets",outcome="Ok"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"pwreset_graphql_requests_total{operation="ListResets",outcome="FieldError"}"#
        ),
        1.0
    );
    assert!(
        sample(
            &after,
            r#"pwreset_graphql_request_duration_seconds_count{operation="ListResets"}"#
        ) >= 2.0
    );
    assert_eq!(
        sample(&after, "pwreset_password_hash_duration_seconds_count"),
        1.0
    );
    assert!(after.contains("pwreset_password_hash_queue_depth"));
    assert!(after.contains(r#"pwreset_db_pool_connections{state="idle"}"#));
    // The reads above went through the read pool, which keeps their
    // connection; none is out between requests.
    assert!(sample(&after, r#"pwreset_db_read_pool_connections{state="idle"}"#) >= 1.0);
    assert_eq!(
        sample(
            &after,
            r#"pwreset_db_read_pool_connections{state="in_use"}"#
        ),
        0.0
    );
    assert!(after.ends_with("# EOF\n"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let echoed = client
        .get(format!("http://{}/healthz", app.addr))
        .header("x-request-id", "trace-42.a")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-42.a");
    let generated = client
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap();
    let first = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(first.len() >= 16);
    let insane = client
        .post(app.url())
        .header("x-request-id", "x".repeat(500))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let replaced = insane.headers()["x-request-id"].to_str().unwrap();
    assert!(replaced.len() < 500 && replaced != first);
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins_without_credentials() {
    let app = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        cors_origins: vec!["https://shop.example.com".into()],
        ..Default::default()
    }))
    .await;
    let client = reqwest::Client::new();
    let preflight = |origin: &str| {
        client
            .request(reqwest::Method::OPTIONS, app.url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://shop.example.com").await.unwrap();
    assert!(allowed.status().is_success());
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://shop.example.com"
    );
    assert_eq!(headers["access-control-max-age"], "3600");
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert!(headers.get("access-control-allow-credentials").is_none());
    // A storefront completes over the JSON:API with a PATCH.
    let patch = client
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}/api/customer_password_resets/cpr_1", app.addr),
        )
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "PATCH")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(patch.status().is_success());
    let methods = patch.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("PATCH"), "{methods}");

    // The headers real clients and tracers send.
    for sent in [
        "apollographql-client-name",
        "apollographql-client-version",
        "traceparent",
        "baggage",
        "sentry-trace",
        "x-request-id",
    ] {
        let answer = client
            .request(reqwest::Method::OPTIONS, app.url())
            .header("origin", "https://shop.example.com")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                format!("content-type, {sent}"),
            )
            .send()
            .await
            .unwrap();
        let allowed = answer.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap();
        assert!(allowed.contains(sent), "{sent}: {allowed}");
    }

    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let actual = client
        .post(app.url())
        .header("origin", "https://shop.example.com")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        actual.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    // Scripts may read when to retry, and the request id to quote.
    let exposed = actual.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        exposed.contains("retry-after") && exposed.contains("x-request-id"),
        "{exposed}"
    );

    // No origins configured: no CORS headers at all.
    let closed = TestApp::spawn().await;
    let response = client
        .request(reqwest::Method::OPTIONS, closed.url())
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// Starts completing the reset of `token` and holds it inside its
/// transaction, right after it claims the reset. Returns the request in
/// flight and the sender that lets it go on.
async fn hold_complete_in_transaction(
    app: &std::sync::Arc<TestApp>,
    token: String,
) -> (tokio::task::JoinHandle<Value>, std::sync::mpsc::Sender<()>) {
    let (held, release) = app.gate.arm("SET \"reset_password_at\"");
    let in_flight = {
        let app = app.clone();
        tokio::spawn(async move {
            app.complete(&app.sales_channel, &token, "a brand new password")
                .await
        })
    };
    tokio::task::spawn_blocking(move || held.recv_timeout(std::time::Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the complete reached the database");
    (in_flight, release)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_waits_for_a_request_in_flight() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;

    let (in_flight, release) = hold_complete_in_transaction(&app, token).await;

    app.shut_down();
    // New connections are no longer served...
    let refused = reqwest::Client::new()
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a server shutting down takes no new connections"
    );
    // ...but the request in flight finishes, and only then does the server stop.
    release.send(()).unwrap();
    let payload = in_flight.await.unwrap();
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["customerPasswordReset"]["status"], "COMPLETED");
    app.stopped().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_answer_while_a_password_change_is_being_written() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;

    let (in_flight, release) = hold_complete_in_transaction(&app, token).await;

    // The back office still reads (on SQLite too, where one connection
    // writes), and sees the reset as it was: the change is not committed.
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        app.gql(
            Some(&app.integration),
            "{ customerPasswordResets { nodes { id status customer { email } } } }",
            json!({}),
        ),
    )
    .await
    .expect("a read answers while a write is held");
    let nodes = &read["data"]["customerPasswordResets"]["nodes"];
    assert_eq!(nodes[0]["id"], json!(id), "{read}");
    assert_eq!(nodes[0]["status"], "PENDING", "{read}");
    assert_eq!(nodes[0]["customer"]["email"], "ada@example.com");

    release.send(()).unwrap();
    let payload = in_flight.await.unwrap();
    assert_eq!(payload["customerPasswordReset"]["status"], "COMPLETED");
    assert_eq!(app.reset(&id).await["status"], "COMPLETED");
}
