//! What the storefront path reveals (nothing), what the audit trail keeps,
//! and who is told after a reset.

use chrono::Duration;
use pwreset::service::{audit, webhooks::WebhookSettings};
use serde_json::{Value, json};

use crate::{
    helpers::{Options, TestApp, error_codes, start_time},
    receiver::Receiver,
};

/// Replaces the literal values in SQL text so statements can be compared by shape.
fn shape(sql: &str) -> String {
    sql.split('\'').step_by(2).collect::<Vec<_>>().join("?")
}

#[tokio::test]
async fn a_storefront_create_does_the_same_work_for_known_and_unknown_emails() {
    let app = TestApp::spawn().await;
    let mailer = Receiver::start().await;
    app.subscribe("customer_password_resets.create", &mailer.url, false)
        .await;
    app.create_customer("ada@example.com", None).await;
    // Warm the key up: its last-used time is refreshed once a minute, whatever the email.
    app.try_create_reset(&app.sales_channel, "warm-up@example.com")
        .await;

    let ((status_known, _, known), known_sql) = app
        .record_sql(app.try_create_reset(&app.sales_channel, "ada@example.com"))
        .await;
    let ((status_unknown, _, unknown), unknown_sql) = app
        .record_sql(app.try_create_reset(&app.sales_channel, "nobody@example.com"))
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
async fn every_create_and_complete_attempt_is_audited_without_secrets() {
    let app = TestApp::spawn_with(Options {
        webhooks: WebhookSettings {
            allow_private_targets: true,
            proxy: None,
            poll_interval: None,
        },
        ..Options::default()
    })
    .await;
    let customer = app.create_customer("ada@example.com", None).await;
    let tick = || app.clock.advance(Duration::seconds(1));
    app.try_create_reset(&app.sales_channel, "ada@example.com")
        .await;
    tick();
    app.try_create_reset(&app.sales_channel, "nobody@example.com")
        .await;
    tick();
    app.try_create_reset(&app.sales_channel, "not an email")
        .await;
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
    // The queued storefront requests are processed only now: the first was
    // made before the password changed, so it becomes no reset.
    app.run_jobs().await;

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
            (
                "CREATE".into(),
                "SUPERSEDED".into(),
                json!("PASSWORD_CHANGED")
            ),
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
    app.subscribe("customers.password_reset", &receiver.url, false)
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
