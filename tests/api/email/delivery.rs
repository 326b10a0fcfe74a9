//! Delivering the reset email: retries while the mail server is down, each
//! email sent once by several workers, leases a crashed process gives back,
//! emails for dead resets never sent, what integrations see, and jobs that
//! fail beside it.

use pwreset::entity::reset_email;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::{app_with, mail_through, request};
use crate::smtp_sink::SmtpSink;

#[tokio::test]
async fn a_mail_server_that_is_down_gets_the_email_once_it_is_back() {
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    app.create_customer("ada@example.com", None).await;
    sink.set_down(true);
    request(&app, json!({ "customerEmail": "ada@example.com" })).await;
    app.run_jobs().await;
    assert!(sink.messages().is_empty());
    let row = &reset_email::Entity::find().all(&app.db).await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempt_count), ("pending", 1));
    assert!(
        row.last_error.as_deref().unwrap().contains("SMTP"),
        "{row:?}"
    );
    assert!(row.token.is_some(), "kept, sealed, for the next attempt");

    sink.set_down(false);
    app.run_jobs().await;
    assert!(sink.messages().is_empty(), "not before its retry is due");
    app.clock.advance(chrono::Duration::seconds(10));
    app.run_jobs().await;
    app.clock.advance(chrono::Duration::minutes(10));
    app.run_jobs().await;
    assert_eq!(sink.messages().len(), 1, "delivered once, later");
    let token = sink.messages()[0].token();
    let done = app
        .complete(&app.sales_channel, &token, "a brand new passphrase")
        .await;
    assert_eq!(done["userErrors"], json!([]));
}

#[tokio::test]
async fn two_workers_on_one_database_send_each_email_once() {
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    for i in 0..12 {
        let email = format!("shopper{i}@example.com");
        app.create_customer(&email, None).await;
        app.create_reset(&email).await;
    }
    let (one, two) = (app.worker(), app.other_process_worker().await);
    let (a, b) = tokio::join!(one.run_once(), two.run_once());
    a.unwrap();
    b.unwrap();
    app.run_jobs().await;
    let mut recipients: Vec<String> = sink.messages().iter().map(|m| m.to[0].clone()).collect();
    assert_eq!(recipients.len(), 12, "{recipients:?}");
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 12, "nobody got two");
}

#[tokio::test]
async fn a_crashed_processs_emails_are_taken_over_within_seconds() {
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    app.create_customer("ada@example.com", None).await;
    app.create_reset("ada@example.com").await;
    sink.set_mute(true);
    let worker = app.worker();
    let crashing = tokio::spawn(async move { worker.run_once().await });
    sink.a_connection_hangs().await; // the email is being sent...
    crashing.abort(); // ...when its process dies.
    let _ = crashing.await;

    sink.set_mute(false);
    let other = app.other_process_worker().await;
    other.run_once().await.unwrap();
    assert!(
        sink.messages().is_empty(),
        "the dead process's lease still holds"
    );
    // Seconds later, not a minute, its lease has run out.
    app.clock.advance(chrono::Duration::seconds(16));
    other.run_once().await.unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn an_email_for_a_reset_that_no_longer_works_is_not_sent() {
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    app.create_customer("ada@example.com", None).await;
    let (_, first) = app.create_reset("ada@example.com").await;
    app.complete(&app.integration, &first, "a brand new passphrase")
        .await;
    app.run_jobs().await;
    let sent = sink.messages();
    assert_eq!(
        sent.len(),
        1,
        "the link would be dead: only the password-changed email"
    );
    assert!(sent[0].header("Subject").contains("was changed"));
    let row = &reset_email::Entity::find()
        .filter(reset_email::Column::Kind.eq(pwreset::domain::EmailKind::Reset))
        .all(&app.db)
        .await
        .unwrap()[0];
    assert_eq!(
        (row.status.as_str(), row.token.as_deref()),
        ("expired", None)
    );
}

#[tokio::test]
async fn integrations_see_each_email_and_which_channels_reach_customers() {
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    app.create_customer("ada@example.com", None).await;
    sink.set_down(true);
    let (id, token) = app.create_reset("ada@example.com").await;
    app.run_jobs().await;
    // The email waits with its token sealed: no column holds it in clear.
    let dump = app.dump_database().await;
    assert!(dump.contains("ada@example.com") && !dump.contains(&token));
    const EMAIL: &str = "query($id: ID!) { customerPasswordReset(id: $id) {
        email { status recipient locale attemptCount sentAt lastError } } }";
    let body = app
        .gql(Some(&app.integration), EMAIL, json!({ "id": id }))
        .await;
    let email = &body["data"]["customerPasswordReset"]["email"];
    assert_eq!(email["status"], "PENDING", "{body}");
    assert_eq!(email["recipient"], "ada@example.com");
    assert_eq!(email["attemptCount"], 1);
    assert!(
        email["lastError"].as_str().unwrap().contains("421"),
        "{email}"
    );
    sink.set_down(false);
    app.clock.advance(chrono::Duration::minutes(1));
    app.run_jobs().await;
    let body = app
        .gql(Some(&app.integration), EMAIL, json!({ "id": id }))
        .await;
    let email = &body["data"]["customerPasswordReset"]["email"];
    assert_eq!(email["status"], "DELIVERED", "{body}");
    assert_eq!(email["lastError"], json!(null));
    assert!(email["sentAt"].is_string());

    const CHANNELS: &str = "{ deliveryChannels { email webhooks reachable } }";
    let test = app.gql(Some(&app.integration), CHANNELS, json!({})).await;
    assert_eq!(
        test["data"]["deliveryChannels"],
        json!({ "email": "SMTP", "webhooks": 0, "reachable": true })
    );
    // Live mode has no SMTP server here: nothing reaches a live customer...
    let live = app
        .gql(Some(&app.live_integration), CHANNELS, json!({}))
        .await;
    assert_eq!(
        live["data"]["deliveryChannels"],
        json!({ "email": "OFF", "webhooks": 0, "reachable": false })
    );
    app.gql(
        Some(&app.live_integration),
        r#"mutation { createCustomer(input: { email: "live@example.com" }) { customer { id } } }"#,
        json!({}),
    )
    .await;
    app.create_reset_with(&app.live_integration, "live@example.com")
        .await;
    assert!(
        app.metrics()
            .await
            .contains("pwreset_resets_undeliverable_total 1"),
        "counted for operators"
    );
    // ...until a webhook carries its resets.
    let subscribed = app
        .gql(
            Some(&app.live_integration),
            "mutation { createWebhook(input: { topic: CUSTOMER_PASSWORD_RESETS_CREATE, callbackUrl: \"https://93.184.216.34/hook\" }) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(subscribed["data"]["createWebhook"]["userErrors"], json!([]));
    let live = app
        .gql(Some(&app.live_integration), CHANNELS, json!({}))
        .await;
    assert_eq!(
        live["data"]["deliveryChannels"],
        json!({ "email": "OFF", "webhooks": 1, "reachable": true })
    );
    // Storefronts are told nothing of it.
    let storefront = app.gql(Some(&app.sales_channel), CHANNELS, json!({})).await;
    assert_eq!(crate::helpers::error_codes(&storefront), ["FORBIDDEN"]);
}

/// A background job that fails (here the webhook jobs, their table gone)
/// is reported, and the round goes on: the emails still leave.
#[tokio::test]
async fn a_failing_job_does_not_hold_up_the_emails() {
    use sea_orm::ConnectionTrait;
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    app.create_customer("ada@example.com", None).await;
    app.create_reset("ada@example.com").await;
    app.db
        .execute_unprepared("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away")
        .await
        .unwrap();
    let round = app.worker().run_once().await;
    assert!(round.is_err(), "the failure is reported");
    assert_eq!(sink.messages().len(), 1, "the email left all the same");
    app.db
        .execute_unprepared("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries")
        .await
        .unwrap();
}
