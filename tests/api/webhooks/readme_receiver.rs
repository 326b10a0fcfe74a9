//! The receiver docs/webhooks.md shows, run as it is: it accepts what the server
//! sends, and refuses a replayed or tampered call.

use std::{process::Stdio, sync::Arc};

use chrono::Utc;
use pwreset::service::{
    ManualClock,
    webhooks::{commerce_layer_signature, standard_signature},
};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::deliveries;
use crate::helpers::{Options, TestApp, TestDb};

/// The Python code of the receiver docs/webhooks.md shows.
fn readme_receiver() -> String {
    let docs = crate::helpers::docs();
    let blocks = docs.blocks("python");
    assert_eq!(blocks.len(), 1, "the docs show one receiver");
    blocks[0].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_readme_receiver_verifies_both_signatures_and_refuses_replays() {
    // The receiver checks timestamps against its own clock: the server's must agree.
    let (test_db, db) = TestDb::new().await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::start(test_db, db, Options::default(), clock).await;
    let (webhook, secret) = app
        .subscribe(
            "customer_password_resets.create",
            "http://127.0.0.1:9/",
            false,
        )
        .await;
    let mut receiver = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(readme_receiver())
        .env("WEBHOOK_SECRET", &secret)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs the README's receiver");
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let port = first
        .strip_prefix("listening on ")
        .expect("the receiver starts");
    let url = format!("http://127.0.0.1:{port}/hooks");
    app.gql(
        Some(&app.integration),
        "mutation($id: ID!, $url: String!) { updateWebhook(input: { id: $id, callbackUrl: $url }) { userErrors { code } } }",
        json!({ "id": webhook, "url": url }),
    )
    .await;

    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    assert_eq!(app.run_jobs().await, 1);
    let mailed = lines.next_line().await.unwrap().unwrap();
    assert!(
        mailed.starts_with("to ada@example.com: ") && mailed.ends_with(&token),
        "{mailed}"
    );
    let seen = deliveries(&app, &webhook).await;
    assert_eq!(seen["deliveries"]["nodes"][0]["status"], "DELIVERED");

    // Calls the server did not make, or made long ago, are refused.
    let call = |body: &str, stamp: i64, signed_body: &str| {
        let stamp = stamp.to_string();
        reqwest::Client::new()
            .post(&url)
            .header(
                "x-commercelayer-signature",
                commerce_layer_signature(&secret, signed_body.as_bytes()),
            )
            .header("webhook-id", "evt_replayed")
            .header("webhook-timestamp", &stamp)
            .header(
                "webhook-signature",
                standard_signature(&secret, "evt_replayed", &stamp, signed_body.as_bytes()),
            )
            .body(body.to_owned())
            .send()
    };
    let body =
        json!({ "data": { "attributes": { "customer_email": "eve@example.com" } } }).to_string();
    let now = Utc::now().timestamp();
    let replayed = call(&body, now - 6 * 60, &body).await.unwrap();
    assert_eq!(replayed.status(), 401, "a timestamp six minutes old");
    let tampered = call(&body, now, "{}").await.unwrap();
    assert_eq!(tampered.status(), 401, "a body it was not signed over");
    let fresh = call(&body, now, &body).await.unwrap();
    assert_eq!(fresh.status(), 204);
}
