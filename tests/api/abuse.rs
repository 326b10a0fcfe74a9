//! Abuse resistance: rate limits, no account enumeration, the password
//! policy, bounded hashing, and the audit trail.

use chrono::Duration;
use pwreset::{
    HttpSettings,
    domain::PasswordPolicy,
    service::{audit, password::Argon2Params, rate_limits::Limit, webhooks::WebhookSettings},
};
use serde_json::{Value, json};

use crate::{
    helpers::{Options, TestApp, codes, error_codes, start_time},
    receiver::Receiver,
};

const CREATE: &str =
    "mutation($email: String!) { createCustomerPasswordReset(input: { customerEmail: $email }) {
    customerPasswordReset { id } userErrors { field message code } } }";

/// Sends a create with `key`; returns (HTTP status, Retry-After, body).
async fn create(app: &TestApp, key: &str, email: &str) -> (u16, Option<String>, Value) {
    let response = app
        .post(
            Some(key),
            &json!({ "query": CREATE, "variables": { "email": email } }),
        )
        .await;
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.json().await.unwrap())
}

fn limits(options: &mut Options) -> &mut pwreset::service::rate_limits::RateLimits {
    &mut options.rate_limits
}

#[tokio::test]
async fn creates_per_email_are_limited_known_or_not_and_recover_after_the_window() {
    let app = TestApp::spawn().await; // 5 per email per hour
    app.create_customer("ada@example.com", None).await;
    for email in ["ada@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            assert_eq!(
                create(&app, &app.sales_channel, email).await.0,
                200,
                "{email}"
            );
        }
        let (status, retry_after, body) = create(&app, &app.sales_channel, email).await;
        assert_eq!(status, 429, "{email}");
        assert_eq!(error_codes(&body), ["TOO_MANY_REQUESTS"]);
        let seconds = body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap();
        assert_eq!(retry_after, Some(seconds.to_string()));
        assert!((1..=3600).contains(&seconds));
    }
    // Letter case does not make a new email.
    assert_eq!(
        create(&app, &app.integration, "ADA@example.com").await.0,
        429
    );

    app.run_jobs().await;
    let count = app
        .gql(
            Some(&app.integration),
            "{ customerPasswordResets { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        count["data"]["customerPasswordResets"]["totalCount"], 5,
        "at most five tokens were sent"
    );

    app.clock.advance(Duration::hours(1));
    assert_eq!(
        create(&app, &app.sales_channel, "ada@example.com").await.0,
        200
    );
}

#[tokio::test]
async fn creates_per_key_and_per_ip_and_completes_per_ip_and_key_are_limited() {
    let mut options = Options::default();
    limits(&mut options).create_per_key = Limit::per(3, 60);
    limits(&mut options).complete_per_ip = Limit::per(4, 60);
    let app = TestApp::spawn_with(options).await;
    for i in 0..3 {
        assert_eq!(
            create(&app, &app.sales_channel, &format!("k{i}@example.com"))
                .await
                .0,
            200
        );
    }
    assert_eq!(
        create(&app, &app.sales_channel, "k9@example.com").await.0,
        429
    );
    assert_eq!(
        create(&app, &app.integration, "k9@example.com").await.0,
        200,
        "another key has its own count"
    );
    app.clock.advance(Duration::seconds(60));
    let again = create(&app, &app.sales_channel, "k9@example.com").await;
    assert_eq!(again.0, 200, "the key's window passed");

    // Guessing tokens: the fifth attempt from one address is refused, even with a good token.
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    for _ in 0..4 {
        assert_eq!(
            codes(
                &app.complete(&app.sales_channel, "guess", "a brand new passphrase")
                    .await
            ),
            ["TOKEN_INVALID"]
        );
    }
    let refused = app
        .post(
            Some(&app.sales_channel),
            &json!({ "query": "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new passphrase\" }) { userErrors { code } } }",
                    "variables": { "t": token } }),
        )
        .await;
    assert_eq!(refused.status(), 429);
    app.clock.advance(Duration::seconds(60));
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "a brand new passphrase")
                .await
        ),
        Vec::<String>::new()
    );

    let mut options = Options::default();
    limits(&mut options).create_per_ip = Limit::per(2, 60);
    let by_ip = TestApp::spawn_with(options).await;
    assert_eq!(
        create(&by_ip, &by_ip.sales_channel, "a@example.com")
            .await
            .0,
        200
    );
    assert_eq!(
        create(&by_ip, &by_ip.integration, "b@example.com").await.0,
        200
    );
    assert_eq!(
        create(&by_ip, &by_ip.live_sales_channel, "c@example.com")
            .await
            .0,
        429,
        "one address, whatever the key"
    );
    by_ip.clock.advance(Duration::seconds(60));
    let again = create(&by_ip, &by_ip.live_sales_channel, "c@example.com").await;
    assert_eq!(again.0, 200, "the address's window passed");
}

#[tokio::test]
async fn completes_per_key_are_limited_and_recover() {
    let mut options = Options::default();
    limits(&mut options).complete_per_key = Limit::per(2, 60);
    let app = TestApp::spawn_with(options).await;
    let complete = |key: String| {
        let body = json!({ "query": "mutation { completeCustomerPasswordReset(input: { resetPasswordToken: \"guess\", customerPassword: \"a brand new passphrase\" }) { userErrors { code } } }" });
        let app = &app;
        async move { app.post(Some(&key), &body).await.status().as_u16() }
    };
    assert_eq!(complete(app.sales_channel.clone()).await, 200);
    assert_eq!(complete(app.sales_channel.clone()).await, 200);
    assert_eq!(complete(app.sales_channel.clone()).await, 429);
    assert_eq!(
        complete(app.integration.clone()).await,
        200,
        "another key has its own count"
    );
    app.clock.advance(Duration::seconds(60));
    assert_eq!(complete(app.sales_channel.clone()).await, 200);
}

#[tokio::test]
async fn two_server_processes_enforce_one_limit() {
    let mut options = Options::default();
    limits(&mut options).create_per_email = Limit::per(3, 3600);
    let first = TestApp::spawn_with(options).await;
    let second = first.second_process().await;
    assert_eq!(
        create(&first, &first.sales_channel, "ada@example.com")
            .await
            .0,
        200
    );
    assert_eq!(
        create(&second, &second.sales_channel, "ada@example.com")
            .await
            .0,
        200
    );
    assert_eq!(
        create(&first, &first.sales_channel, "ada@example.com")
            .await
            .0,
        200
    );
    assert_eq!(
        create(&second, &second.sales_channel, "ada@example.com")
            .await
            .0,
        429
    );
}

async fn audit_ips(app: &TestApp) -> Vec<Value> {
    let body = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents { nodes { clientIp } } }",
            json!({}),
        )
        .await;
    body["data"]["passwordResetAuditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["clientIp"].clone())
        .collect()
}

#[tokio::test]
async fn x_forwarded_for_counts_only_behind_a_trusted_proxy() {
    let send = |app: &TestApp| {
        reqwest::Client::new()
            .post(app.url())
            .bearer_auth(&app.sales_channel)
            .header("x-forwarded-for", "203.0.113.9, 127.0.0.1")
            .json(&json!({ "query": CREATE, "variables": { "email": "ada@example.com" } }))
            .send()
    };
    let direct = TestApp::spawn().await;
    send(&direct).await.unwrap();
    assert_eq!(
        audit_ips(&direct).await,
        [json!("127.0.0.1")],
        "the header is ignored by default"
    );

    let options = Options {
        http: HttpSettings {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        },
        ..Options::default()
    };
    let proxied = TestApp::spawn_with(options).await;
    send(&proxied).await.unwrap();
    assert_eq!(audit_ips(&proxied).await, [json!("203.0.113.9")]);
}

/// Replaces the literal values in SQL text so statements can be compared by shape.
fn shape(sql: &str) -> String {
    sql.split('\'').step_by(2).collect::<Vec<_>>().join("?")
}

#[tokio::test]
async fn a_storefront_create_does_the_same_work_for_known_and_unknown_emails() {
    let app = TestApp::spawn().await;
    let mailer = Receiver::start().await;
    app.gql(
        Some(&app.integration),
        "mutation($url: String!) { createWebhook(input: { topic: \"customer_password_resets.create\", callbackUrl: $url }) { userErrors { code } } }",
        json!({ "url": mailer.url }),
    )
    .await;
    app.create_customer("ada@example.com", None).await;
    // Warm the key up: its last-used time is refreshed once a minute, whatever the email.
    create(&app, &app.sales_channel, "warm-up@example.com").await;

    let ((status_known, _, known), known_sql) = app
        .record_sql(create(&app, &app.sales_channel, "ada@example.com"))
        .await;
    let ((status_unknown, _, unknown), unknown_sql) = app
        .record_sql(create(&app, &app.sales_channel, "nobody@example.com"))
        .await;
    assert_eq!(
        (status_known, &known),
        (status_unknown, &unknown),
        "same status, same payload"
    );
    let known_sql: Vec<String> = known_sql.iter().map(|s| shape(s)).collect();
    let unknown_sql: Vec<String> = unknown_sql.iter().map(|s| shape(s)).collect();
    assert!(known_sql.len() >= 5, "{known_sql:#?}");
    assert_eq!(
        known_sql, unknown_sql,
        "the same statements, in the same order, on both paths"
    );

    // The known customer's token still reaches the mailer.
    app.run_jobs().await;
    assert_eq!(mailer.calls().len(), 1);
    assert_eq!(
        mailer.calls()[0].json()["data"]["attributes"]["customer_email"],
        "ada@example.com"
    );
}

#[tokio::test]
async fn weak_passwords_are_refused_with_their_own_codes_and_the_token_stays_usable() {
    let app = TestApp::spawn().await;
    app.create_customer("grace.hopper@example.com", None).await;
    let (id, token) = app.create_reset("grace.hopper@example.com").await;
    for (password, code) in [
        ("password123", "PASSWORD_TOO_COMMON"),
        ("Iloveyou1", "PASSWORD_TOO_COMMON"),
        ("grace.hopper rocks", "PASSWORD_CONTAINS_EMAIL"),
        ("me@GRACE.HOPPER@example.com", "PASSWORD_CONTAINS_EMAIL"),
        ("short", "PASSWORD_TOO_SHORT"),
    ] {
        assert_eq!(
            codes(&app.complete(&app.sales_channel, &token, password).await),
            [code],
            "{password}"
        );
    }
    assert_eq!(app.reset(&id).await["status"], "PENDING");
    let created = app
        .gql(
            Some(&app.integration),
            r#"mutation { createCustomer(input: { email: "linus@example.com", password: "qwerty123" }) { userErrors { code } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        codes(&created["data"]["createCustomer"]),
        ["PASSWORD_TOO_COMMON"]
    );

    let done = app
        .complete(&app.sales_channel, &token, "compiler pioneer 1906")
        .await;
    assert_eq!(done["userErrors"], json!([]));
    let customer = app.reset(&id).await["customer"]["id"].clone();
    let body = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customer(id: $id) { passwordChangedAt } }",
            json!({ "id": customer }),
        )
        .await;
    let changed: chrono::DateTime<chrono::Utc> = body["data"]["customer"]["passwordChangedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(changed, start_time());

    let strict = TestApp::spawn_with(Options {
        password_policy: PasswordPolicy { min_chars: 15 },
        ..Options::default()
    })
    .await;
    strict.create_customer("ada@example.com", None).await;
    let (_, token) = strict.create_reset("ada@example.com").await;
    assert_eq!(
        codes(
            &strict
                .complete(&strict.sales_channel, &token, "fourteen chars")
                .await
        ),
        ["PASSWORD_TOO_SHORT"]
    );
    assert_eq!(
        codes(
            &strict
                .complete(&strict.sales_channel, &token, "fifteen chars!!")
                .await
        ),
        Vec::<String>::new()
    );
}

async fn outdated(app: &TestApp, customer: &str) -> bool {
    let query = "query($id: ID!) { customer(id: $id) { passwordHashOutdated } }";
    let body = app
        .gql(Some(&app.integration), query, json!({ "id": customer }))
        .await;
    body["data"]["customer"]["passwordHashOutdated"]
        .as_bool()
        .unwrap()
}

#[tokio::test]
async fn a_digest_made_with_weaker_parameters_is_upgraded_when_the_password_is_next_set() {
    let app = TestApp::spawn().await; // the OWASP minimum
    let customer = app
        .create_customer("ada@example.com", Some("the first passphrase"))
        .await;
    let stronger = Options {
        argon2: Argon2Params {
            memory_kib: 24_576,
            iterations: 3,
            parallelism: 1,
        },
        ..Options::default()
    };
    // The same database, now served with stronger parameters.
    let app = {
        let mut app = app;
        app.options = stronger;
        app.restart().await
    };
    assert!(outdated(&app, &customer).await);
    let (_, token) = app.create_reset("ada@example.com").await;
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "the second passphrase")
                .await
        ),
        Vec::<String>::new()
    );
    assert!(!outdated(&app, &customer).await);
    let digest = app.password_digest("ada@example.com").await.unwrap();
    assert!(
        digest.starts_with("$argon2id$v=19$m=24576,t=3,p=1$"),
        "{digest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_refuses_completes_while_reads_still_answer() {
    let options = Options {
        hash_concurrency: 1,
        hash_wait: std::time::Duration::from_millis(100),
        ..Options::default()
    };
    let app = std::sync::Arc::new(TestApp::spawn_with(options).await);
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;

    let busy = app.hasher.occupy_all().await; // every hashing slot taken
    let burst: Vec<_> = (0..3)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                let body = json!({ "query": "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new passphrase\" }) { userErrors { code } } }",
                                   "variables": { "t": token } });
                let response = app.post(Some(&app.sales_channel), &body).await;
                (response.status().as_u16(), response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let read = app
        .gql(
            Some(&app.integration),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["customers"]["totalCount"], 1,
        "reads answer while hashing is saturated"
    );
    for answer in burst {
        let (status, body) = answer.await.unwrap();
        assert_eq!(status, 429, "{body}");
        assert_eq!(error_codes(&body), ["TOO_MANY_REQUESTS"]);
        assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1);
    }
    assert_eq!(
        app.reset(&id).await["status"],
        "PENDING",
        "refused completes change nothing"
    );
    drop(busy);
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "a brand new passphrase")
                .await
        ),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn every_create_and_complete_attempt_is_audited_without_secrets() {
    let app = TestApp::spawn_with(Options {
        webhooks: WebhookSettings {
            allow_private_targets: true,
            poll_interval: None,
        },
        ..Options::default()
    })
    .await;
    let customer = app.create_customer("ada@example.com", None).await;
    let tick = || app.clock.advance(Duration::seconds(1));
    create(&app, &app.sales_channel, "ada@example.com").await;
    tick();
    create(&app, &app.sales_channel, "nobody@example.com").await;
    tick();
    create(&app, &app.sales_channel, "not an email").await;
    tick();
    let (_, token) = app.create_reset("ada@example.com").await;
    tick();
    app.complete(&app.sales_channel, "wrong-token", "a brand new passphrase")
        .await;
    tick();
    app.complete(&app.sales_channel, &token, "password1").await;
    tick();
    app.complete(&app.sales_channel, &token, "a brand new passphrase")
        .await;
    app.run_jobs().await; // processes the queued storefront requests

    let body = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents(first: 50) { totalCount nodes { action outcome reason keyId clientIp customerId } } }",
            json!({}),
        )
        .await;
    let nodes = body["data"]["passwordResetAuditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let summary: Vec<(String, String, Value)> = nodes
        .iter()
        .rev()
        .map(|n| {
            (
                n["action"].as_str().unwrap().into(),
                n["outcome"].as_str().unwrap().into(),
                n["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("CREATE".into(), "CREATED".into(), Value::Null),
            ("CREATE".into(), "NO_CUSTOMER".into(), Value::Null),
            ("CREATE".into(), "REJECTED".into(), json!("INVALID_EMAIL")),
            ("CREATE".into(), "CREATED".into(), Value::Null),
            ("COMPLETE".into(), "REJECTED".into(), json!("TOKEN_INVALID")),
            (
                "COMPLETE".into(),
                "REJECTED".into(),
                json!("PASSWORD_TOO_COMMON")
            ),
            ("COMPLETE".into(), "COMPLETED".into(), Value::Null),
        ]
    );
    assert!(
        nodes
            .iter()
            .all(|n| n["clientIp"] == "127.0.0.1"
                && n["keyId"].as_str().unwrap().starts_with("key_"))
    );
    assert_eq!(nodes[0]["customerId"], customer);
    assert!(!body.to_string().contains(&token));
    assert!(!body.to_string().contains("brand new"));

    let filtered = app
        .gql(
            Some(&app.integration),
            "query($c: ID!) { passwordResetAuditEvents(filter: { action: COMPLETE, outcome: [REJECTED], customerId: $c }) { totalCount } }",
            json!({ "c": customer }),
        )
        .await;
    assert_eq!(
        filtered["data"]["passwordResetAuditEvents"]["totalCount"], 1,
        "the wrong token has no customer"
    );
    let forbidden = app
        .gql(
            Some(&app.sales_channel),
            "{ passwordResetAuditEvents { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&forbidden), ["FORBIDDEN"]);

    // Old entries are pruned after the retention.
    assert_eq!(
        audit::prune(
            &app.db,
            Duration::days(90),
            start_time() + Duration::days(89)
        )
        .await
        .unwrap(),
        0
    );
    assert_eq!(
        audit::prune(
            &app.db,
            Duration::days(90),
            start_time() + Duration::days(91)
        )
        .await
        .unwrap(),
        7
    );
    let left = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(left["data"]["passwordResetAuditEvents"]["totalCount"], 0);
}

#[tokio::test]
async fn a_reset_tells_the_merchant_through_customers_password_reset() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    app.gql(
        Some(&app.integration),
        "mutation($url: String!) { createWebhook(input: { topic: \"customers.password_reset\", callbackUrl: $url }) { userErrors { code } } }",
        json!({ "url": receiver.url }),
    )
    .await;
    app.create_customer("ada@example.com", Some("the first passphrase"))
        .await;
    let (_, token) = app.create_reset("ada@example.com").await;
    app.complete(&app.sales_channel, &token, "the second passphrase")
        .await;
    assert_eq!(app.run_jobs().await, 1);
    let doc = receiver.calls()[0].json();
    assert_eq!(doc["data"]["type"], "customers");
    assert_eq!(
        doc["data"]["attributes"]["password_changed_at"],
        json!(start_time())
    );
}
