//! Rate limits: per email, key and address, shared by every process, trusted
//! proxies, and recovery once a window ends.

use chrono::Duration;
use pwreset::{HttpSettings, service::rate_limits::Limit};
use serde_json::{Value, json};

use super::limits;
use crate::helpers::{CREATE_RESET, Options, TestApp, codes, error_codes};

#[tokio::test]
async fn creates_per_email_are_limited_known_or_not_and_recover_after_the_window() {
    let app = TestApp::spawn().await; // 5 per email per hour
    app.create_customer("ada@example.com", None).await;
    for email in ["ada@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            assert_eq!(
                app.try_create_reset(&app.sales_channel, email).await.0,
                200,
                "{email}"
            );
        }
        let (status, retry_after, body) = app.try_create_reset(&app.sales_channel, email).await;
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
        app.try_create_reset(&app.integration, "ADA@example.com")
            .await
            .0,
        429
    );

    app.run_jobs().await;
    assert_eq!(
        app.count_resets().await,
        1,
        "five requests queued for one email fold into one reset: one token sent"
    );

    app.clock.advance(Duration::hours(1));
    assert_eq!(
        app.try_create_reset(&app.sales_channel, "ada@example.com")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn creates_per_integration_key_and_per_address_and_completes_per_address_are_limited() {
    let mut options = Options::default();
    limits(&mut options).create_per_key = Limit::per(3, 60);
    limits(&mut options).complete_per_ip = Limit::per(4, 60);
    let app = TestApp::spawn_with(options).await;
    for key in [&app.integration, &app.sales_channel] {
        for i in 0..3 {
            let email = format!("k{i}@example.com");
            let (status, _, _) = app.try_create_reset(key, &email).await;
            assert_eq!(status, 200);
        }
    }
    assert_eq!(
        app.try_create_reset(&app.integration, "k9@example.com")
            .await
            .0,
        429
    );
    assert_eq!(
        app.try_create_reset(&app.live_integration, "k9@example.com")
            .await
            .0,
        200,
        "another key has its own count"
    );
    assert_eq!(
        app.try_create_reset(&app.sales_channel, "k9@example.com")
            .await
            .0,
        200,
        "a public key has no count of its own: it would lock every shopper out"
    );
    app.clock.advance(Duration::seconds(60));
    let again = app
        .try_create_reset(&app.integration, "k9@example.com")
        .await;
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
        by_ip
            .try_create_reset(&by_ip.sales_channel, "a@example.com")
            .await
            .0,
        200
    );
    assert_eq!(
        by_ip
            .try_create_reset(&by_ip.integration, "b@example.com")
            .await
            .0,
        200
    );
    assert_eq!(
        by_ip
            .try_create_reset(&by_ip.sales_channel, "c@example.com")
            .await
            .0,
        429,
        "one address, whatever the key"
    );
    assert_eq!(
        by_ip
            .try_create_reset(&by_ip.live_sales_channel, "c@example.com")
            .await
            .0,
        200,
        "live mode counts apart: test traffic never limits a live caller"
    );
    by_ip.clock.advance(Duration::seconds(60));
    let again = by_ip
        .try_create_reset(&by_ip.sales_channel, "c@example.com")
        .await;
    assert_eq!(again.0, 200, "the address's window passed");
}

#[tokio::test]
async fn completes_per_integration_key_are_limited_and_recover() {
    let mut options = Options::default();
    limits(&mut options).complete_per_key = Limit::per(2, 60);
    let app = TestApp::spawn_with(options).await;
    let complete = |key: String| {
        let body = json!({ "query": "mutation { completeCustomerPasswordReset(input: { resetPasswordToken: \"guess\", customerPassword: \"a brand new passphrase\" }) { userErrors { code } } }" });
        let app = &app;
        async move { app.post(Some(&key), &body).await.status().as_u16() }
    };
    assert_eq!(complete(app.integration.clone()).await, 200);
    assert_eq!(complete(app.integration.clone()).await, 200);
    assert_eq!(complete(app.integration.clone()).await, 429);
    assert_eq!(
        complete(app.live_integration.clone()).await,
        200,
        "another key has its own count"
    );
    assert_eq!(
        complete(app.sales_channel.clone()).await,
        200,
        "a public key has no count of its own"
    );
    app.clock.advance(Duration::seconds(60));
    assert_eq!(complete(app.integration.clone()).await, 200);
}

#[tokio::test]
async fn two_server_processes_enforce_one_limit() {
    let mut options = Options::default();
    limits(&mut options).create_per_email = Limit::per(3, 3600);
    let first = TestApp::spawn_with(options).await;
    let second = first.second_process().await;
    let processes = [(&first, 200), (&second, 200), (&first, 200), (&second, 429)];
    for (n, (app, expected)) in processes.into_iter().enumerate() {
        let (status, _, _) = app
            .try_create_reset(&app.sales_channel, "ada@example.com")
            .await;
        assert_eq!(status, expected, "request {n}");
    }
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
            .json(&json!({ "query": CREATE_RESET, "variables": { "email": "ada@example.com" } }))
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

/// Behind a trusted proxy that appends `ip:port`, `[v6]:port` or `unknown`,
/// the entry the proxy wrote is the client: never an earlier one the client
/// wrote itself.
#[tokio::test]
async fn x_forwarded_for_is_read_from_the_right_and_unreadable_entries_are_one_client() {
    let mut options = Options {
        http: HttpSettings {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        },
        ..Options::default()
    };
    limits(&mut options).create_per_ip = Limit::per(3, 3600);
    let app = TestApp::spawn_with(options).await;
    let send = |forwarded: String, email: &'static str| {
        app.client
            .post(app.url())
            .bearer_auth(&app.sales_channel)
            .header("x-forwarded-for", forwarded)
            .json(&json!({ "query": CREATE_RESET, "variables": { "email": email } }))
            .send()
    };
    for (forwarded, client) in [
        ("6.6.6.6, 7.7.7.7:8080", "7.7.7.7"),
        ("6.6.6.6, [2001:db8::7]:443", "2001:db8::7"),
        ("6.6.6.6, [2001:db8::8]", "2001:db8::8"),
        ("6.6.6.6, unknown", "100::"),
        ("6.6.6.6, 198.51.100.4, 127.0.0.2", "198.51.100.4"),
    ] {
        let before = audit_ips(&app).await.len();
        send(forwarded.into(), "xff@example.com").await.unwrap();
        let ips = audit_ips(&app).await;
        assert_eq!(ips.len(), before + 1);
        assert!(ips.contains(&json!(client)), "{forwarded}: {ips:?}");
        assert!(!ips.contains(&json!("6.6.6.6")), "{forwarded}: {ips:?}");
    }
    // Junk after a varying address of the client's choosing is one client,
    // whose limit holds: 3 per hour, and "unknown" above was the first.
    let mut statuses = Vec::new();
    for n in 0..4 {
        let response = send(format!("1.1.2.{n}, junk"), "junk@example.com").await;
        statuses.push(response.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
}

/// Ten storefront requests for one email from one network, the jobs running
/// after each, then one from its owner elsewhere: the stranger's requests
/// send at most the per-subnet limit's emails, and the owner is served with
/// a link that works. An unknown email gets the very same answers.
#[tokio::test]
async fn a_stranger_can_neither_flood_an_inbox_nor_lock_its_owner_out() {
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let options = Options {
        http: HttpSettings {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..Default::default()
        },
        mail: std::sync::Arc::new(crate::email::mail_through(&sink)),
        ..Options::default()
    };
    let app = TestApp::spawn_with(options).await; // 5 per email and subnet, 10 in all, per hour
    app.create_customer("victim@example.com", None).await;
    let send = |ip: String, email: &'static str| {
        app.client
            .post(app.url())
            .bearer_auth(&app.sales_channel)
            .header("x-forwarded-for", ip)
            .json(&json!({ "query": CREATE_RESET, "variables": { "email": email } }))
            .send()
    };
    let mut answers = Vec::new();
    for email in ["victim@example.com", "nobody@example.com"] {
        let mut statuses = Vec::new();
        for n in 1..=10 {
            let response = send(format!("198.51.100.{n}"), email).await.unwrap();
            statuses.push(response.status().as_u16());
            app.run_jobs().await;
        }
        answers.push(statuses);
    }
    assert_eq!(
        answers[0],
        [200, 200, 200, 200, 200, 429, 429, 429, 429, 429]
    );
    assert_eq!(answers[0], answers[1], "known and unknown alike");
    let flooded = sink.messages().len();
    assert_eq!(
        flooded, 5,
        "the stranger's network sent the per-subnet limit's emails"
    );

    let owner = send("203.0.113.50".into(), "victim@example.com")
        .await
        .unwrap();
    assert_eq!(owner.status(), 200, "the owner, elsewhere, is served");
    app.run_jobs().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), flooded + 1);
    let token = messages.last().unwrap().token();
    let done = app
        .complete(&app.sales_channel, &token, "the owner's own pass")
        .await;
    assert_eq!(done["userErrors"], json!([]), "the newest link works");
}
