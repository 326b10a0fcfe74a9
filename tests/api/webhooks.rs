//! Token delivery: signed webhooks from a transactional outbox.

use std::collections::HashSet;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Duration;
use hmac::{Hmac, Mac};
use pwreset::{entity::webhook_delivery, service::webhooks::WebhookSettings};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    helpers::{Options, TestApp, codes, error_codes},
    receiver::Receiver,
};

const CREATE_WEBHOOK: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
    webhook { id topic callbackUrl includeCustomer sharedSecret circuit mode } userErrors { field code message } } }";

/// Subscribes `url` to `topic` with the test-mode integration key; returns (id, secret).
async fn subscribe(
    app: &TestApp,
    topic: &str,
    url: &str,
    include_customer: bool,
) -> (String, String) {
    let body = app
        .gql(
            Some(&app.integration),
            CREATE_WEBHOOK,
            json!({ "input": { "topic": topic, "callbackUrl": url, "includeCustomer": include_customer } }),
        )
        .await;
    let payload = &body["data"]["createWebhook"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let hook = &payload["webhook"];
    (
        hook["id"].as_str().unwrap().to_owned(),
        hook["sharedSecret"].as_str().unwrap().to_owned(),
    )
}

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    STANDARD.encode(mac.finalize().into_bytes())
}

async fn deliveries(app: &TestApp, webhook: &str) -> Value {
    let body = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { webhook(id: $id) { circuit consecutiveFailures deliveries { nodes {
                eventId topic status attemptCount deliveredAt lastError attempts { statusCode latencyMs error } } } } }",
            json!({ "id": webhook }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["webhook"].clone()
}

#[tokio::test]
async fn a_storefront_reset_reaches_the_mailer_signed_and_its_token_completes_the_reset() {
    let app = TestApp::spawn().await;
    let mailer = Receiver::start().await;
    let (webhook, secret) =
        subscribe(&app, "customer_password_resets.create", &mailer.url, true).await;
    assert!(secret.starts_with("whsec_"));
    let customer = app
        .create_customer("ada@example.com", Some("the old password"))
        .await;

    // The storefront's answer says nothing; the token goes to the mailer.
    let answer = app
        .create_reset_raw(&app.sales_channel, "ada@example.com")
        .await;
    assert_eq!(
        answer["data"]["createCustomerPasswordReset"]["customerPasswordReset"],
        json!(null)
    );
    assert_eq!(app.run_jobs().await, 1);

    let calls = mailer.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        call.header("x-commercelayer-signature"),
        hmac_base64(secret.as_bytes(), &call.body)
    );
    assert_eq!(
        call.header("x-commercelayer-topic"),
        "customer_password_resets.create"
    );
    let signed = format!(
        "{}.{}.",
        call.header("webhook-id"),
        call.header("webhook-timestamp")
    );
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let expected = hmac_base64(&key, &[signed.as_bytes(), &call.body].concat());
    assert_eq!(call.header("webhook-signature"), format!("v1,{expected}"));
    assert!(call.header("webhook-id").starts_with("evt_"));

    let doc = call.json();
    assert_eq!(doc["data"]["type"], "customer_password_resets");
    assert_eq!(doc["data"]["meta"]["mode"], "test");
    assert_eq!(
        doc["data"]["attributes"]["customer_email"],
        "ada@example.com"
    );
    assert_eq!(
        doc["data"]["relationships"]["customer"]["data"]["id"],
        customer
    );
    assert_eq!(doc["included"][0]["type"], "customers");
    assert_eq!(doc["included"][0]["attributes"]["email"], "ada@example.com");
    assert!(
        doc["included"][0]["attributes"]
            .get("password_digest")
            .is_none()
    );
    let token = doc["data"]["attributes"]["reset_password_token"]
        .as_str()
        .unwrap();

    let done = app
        .complete(&app.sales_channel, token, "a brand new passphrase")
        .await;
    assert_eq!(done["userErrors"], json!([]));
    assert_eq!(done["customerPasswordReset"]["status"], "COMPLETED");

    // Delivered, so the token is no longer kept anywhere.
    let rows = webhook_delivery::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token, None);
    let seen = deliveries(&app, &webhook).await;
    assert_eq!(seen["deliveries"]["nodes"][0]["status"], "DELIVERED");
    assert_eq!(
        seen["deliveries"]["nodes"][0]["attempts"][0]["statusCode"],
        200
    );
}

#[tokio::test]
async fn only_the_create_event_carries_the_token() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    for topic in [
        "customer_password_resets.reset_password",
        "customer_password_resets.destroy",
        "customers.create",
    ] {
        subscribe(&app, topic, &receiver.url, false).await;
    }
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;
    app.complete(&app.integration, &token, "a brand new passphrase")
        .await;
    app.gql(
        Some(&app.integration),
        "mutation($id: ID!) { deleteCustomerPasswordReset(id: $id) { userErrors { code } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(app.run_jobs().await, 3);

    let calls = receiver.calls();
    let topics: HashSet<String> = calls
        .iter()
        .map(|c| c.header("x-commercelayer-topic"))
        .collect();
    assert_eq!(
        topics,
        HashSet::from(
            [
                "customers.create",
                "customer_password_resets.reset_password",
                "customer_password_resets.destroy"
            ]
            .map(String::from)
        )
    );
    for call in &calls {
        assert!(
            !String::from_utf8_lossy(&call.body).contains(&token),
            "{}",
            call.header("x-commercelayer-topic")
        );
        assert!(
            call.json().get("included").is_none(),
            "includeCustomer is off"
        );
    }
    let completed = calls
        .iter()
        .find(|c| {
            c.header("x-commercelayer-topic")
                .ends_with("reset_password")
        })
        .unwrap();
    assert_eq!(
        completed.json()["data"]["attributes"]["status"],
        "completed"
    );
    assert!(completed.json()["data"]["attributes"]["reset_password_at"].is_string());
}

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_the_event_under_one_id() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (webhook, _) = subscribe(&app, "customers.create", &receiver.url, false).await;
    receiver.answer_next(&[500, 503]);
    app.create_customer("ada@example.com", None).await;

    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(app.run_jobs().await, 0, "the retry waits for its backoff");
    app.clock.advance(Duration::seconds(7)); // 5 s, plus at most 20 % jitter
    assert_eq!(app.run_jobs().await, 1);
    app.clock.advance(Duration::seconds(13)); // 10 s, plus jitter
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(app.run_jobs().await, 0, "delivered: nothing left to do");

    let ids: HashSet<String> = receiver
        .calls()
        .iter()
        .map(|c| c.header("webhook-id"))
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same event id");
    let seen = deliveries(&app, &webhook).await;
    let delivery = &seen["deliveries"]["nodes"][0];
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(delivery["attemptCount"], 3);
    let statuses: Vec<&Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["statusCode"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(503), &json!(200)]);
    assert_eq!(
        delivery["attempts"][0]["error"],
        "the receiver answered HTTP 500"
    );
    assert_eq!(seen["consecutiveFailures"], 0);
}

#[tokio::test]
async fn a_server_restarted_mid_retry_still_delivers() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    subscribe(&app, "customers.create", &receiver.url, false).await;
    receiver.answer_next(&[500]);
    app.create_customer("ada@example.com", None).await;
    assert_eq!(app.run_jobs().await, 1);

    let app = app.restart().await;
    app.clock.advance(Duration::seconds(7));
    assert_eq!(app.run_jobs().await, 1);
    let calls = receiver.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("webhook-id"), calls[1].header("webhook-id"));
    assert_eq!(
        calls[1].json()["data"]["attributes"]["email"],
        "ada@example.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_on_one_database_deliver_each_event_once() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    subscribe(&app, "customers.create", &receiver.url, false).await;
    for i in 0..40 {
        app.create_customer(&format!("c{i}@example.com"), None)
            .await;
    }
    // A second process: its own pool on the same database.
    let other = app.other_process_worker().await;
    let mine = app.worker();
    let (a, b) = tokio::join!(mine.run_once(), other.run_once());
    assert_eq!(a.unwrap() + b.unwrap(), 40);

    let ids: Vec<String> = receiver
        .calls()
        .iter()
        .map(|c| c.header("webhook-id"))
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 40, "no event sent twice");
    assert_eq!(unique.len(), 40, "every event sent");
}

#[tokio::test]
async fn the_circuit_opens_after_30_failures_in_a_row_and_can_be_reset() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_always(500);
    let (webhook, _) = subscribe(&app, "customers.create", &receiver.url, false).await;
    for i in 0..30 {
        app.create_customer(&format!("c{i}@example.com"), None)
            .await;
    }
    assert_eq!(app.run_jobs().await, 30);
    let seen = deliveries(&app, &webhook).await;
    assert_eq!(seen["circuit"], "OPEN");
    assert_eq!(seen["consecutiveFailures"], 30);

    app.create_customer("late@example.com", None).await;
    app.clock.advance(Duration::minutes(5));
    assert_eq!(
        app.run_jobs().await,
        0,
        "nothing is sent while the circuit is open"
    );
    assert_eq!(receiver.calls().len(), 30);

    receiver.answer_always(200);
    let body = app
        .gql(
            Some(&app.integration),
            "mutation($id: ID!) { resetWebhookCircuit(id: $id) { webhook { circuit consecutiveFailures } userErrors { code } } }",
            json!({ "id": webhook }),
        )
        .await;
    assert_eq!(
        body["data"]["resetWebhookCircuit"]["webhook"],
        json!({ "circuit": "CLOSED", "consecutiveFailures": 0 })
    );
    assert_eq!(app.run_jobs().await, 31);
    assert_eq!(deliveries(&app, &webhook).await["circuit"], "CLOSED");
}

#[tokio::test]
async fn callback_urls_pointing_inside_the_network_are_refused_by_default() {
    let app = TestApp::spawn_with(Options {
        webhooks: WebhookSettings {
            allow_private_targets: false,
            poll_interval: None,
        },
        ..Options::default()
    })
    .await;
    for (topic, url, code) in [
        (
            "customers.create",
            "http://127.0.0.1:9/hook",
            "CALLBACK_URL_NOT_ALLOWED",
        ),
        (
            "customers.create",
            "http://169.254.169.254/latest/meta-data",
            "CALLBACK_URL_NOT_ALLOWED",
        ),
        (
            "customers.create",
            "http://10.0.0.8/hook",
            "CALLBACK_URL_NOT_ALLOWED",
        ),
        (
            "customers.create",
            "http://[::1]/hook",
            "CALLBACK_URL_NOT_ALLOWED",
        ),
        (
            "customers.create",
            "http://localhost:8080/hook",
            "CALLBACK_URL_NOT_ALLOWED",
        ),
        (
            "customers.create",
            "ftp://example.com/hook",
            "INVALID_CALLBACK_URL",
        ),
        ("customers.create", "not a url", "INVALID_CALLBACK_URL"),
        (
            "orders.create",
            "https://93.184.216.34/hook",
            "INVALID_TOPIC",
        ),
    ] {
        let body = app
            .gql(
                Some(&app.integration),
                CREATE_WEBHOOK,
                json!({ "input": { "topic": topic, "callbackUrl": url } }),
            )
            .await;
        assert_eq!(codes(&body["data"]["createWebhook"]), [code], "{url}");
    }
    // A public address is fine (nothing is called until an event happens).
    let body = app
        .gql(
            Some(&app.integration),
            CREATE_WEBHOOK,
            json!({ "input": { "topic": "customers.create", "callbackUrl": "https://93.184.216.34/hook" } }),
        )
        .await;
    assert_eq!(body["data"]["createWebhook"]["userErrors"], json!([]));
}

#[tokio::test]
async fn the_dispatcher_refuses_private_targets_when_not_allowed() {
    let app = TestApp::spawn().await; // allows private targets when subscribing...
    let receiver = Receiver::start().await;
    let (webhook, _) = subscribe(&app, "customers.create", &receiver.url, false).await;
    app.create_customer("ada@example.com", None).await;
    // ...but this dispatcher does not.
    let strict = app.worker_with(false);
    assert_eq!(strict.run_once().await.unwrap(), 1);
    assert!(receiver.calls().is_empty());
    let seen = deliveries(&app, &webhook).await;
    assert!(
        seen["deliveries"]["nodes"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("private")
    );
}

#[tokio::test]
async fn webhooks_are_for_integration_keys_and_stay_in_their_mode() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (webhook, _) = subscribe(&app, "customers.create", &receiver.url, true).await;
    let forbidden = app
        .gql(
            Some(&app.sales_channel),
            "mutation { createWebhook(input: { topic: \"customers.create\", callbackUrl: \"http://127.0.0.1:1/\" }) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&forbidden), ["FORBIDDEN"]);
    let listed = app
        .gql(
            Some(&app.integration),
            "{ webhooks { nodes { id sharedSecret includeCustomer } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["data"]["webhooks"]["nodes"],
        json!([{ "id": webhook, "sharedSecret": null, "includeCustomer": true }])
    );
    let live = app
        .gql(
            Some(&app.live_integration),
            "{ webhooks { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(live["data"]["webhooks"]["totalCount"], 0);

    // A live-mode customer does not reach a test-mode webhook.
    app.gql(
        Some(&app.live_integration),
        r#"mutation { createCustomer(input: { email: "live@example.com" }) { customer { id } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(app.run_jobs().await, 0);

    let update = app
        .gql(
            Some(&app.integration),
            "mutation($id: ID!) { updateWebhook(input: { id: $id, includeCustomer: false, topic: \"customer_password_resets.create\" }) { webhook { topic includeCustomer } userErrors { code } } }",
            json!({ "id": webhook }),
        )
        .await;
    assert_eq!(
        update["data"]["updateWebhook"]["webhook"],
        json!({ "topic": "customer_password_resets.create", "includeCustomer": false })
    );
    let delete = app
        .gql(Some(&app.integration), "mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId userErrors { code } } }", json!({ "id": webhook }))
        .await;
    assert_eq!(delete["data"]["deleteWebhook"]["deletedWebhookId"], webhook);
}

#[tokio::test]
async fn an_event_exists_exactly_when_its_change_does() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    subscribe(
        &app,
        "customer_password_resets.create",
        &receiver.url,
        false,
    )
    .await;
    subscribe(&app, "customers.create", &receiver.url, false).await;
    app.create_customer("ada@example.com", None).await;

    // Refused changes write no event.
    app.gql(Some(&app.integration), r#"mutation { createCustomer(input: { email: "ADA@example.com" }) { userErrors { code } } }"#, json!({})).await;
    app.create_reset_raw(&app.integration, "nobody@example.com")
        .await;
    app.create_reset_raw(&app.sales_channel, "nobody@example.com")
        .await;

    // When the outbox cannot be written, the change is not kept either.
    app.db
        .execute_unprepared("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away")
        .await
        .unwrap();
    let failed = app
        .create_reset_raw(&app.integration, "ada@example.com")
        .await;
    assert_eq!(error_codes(&failed), ["INTERNAL_SERVER_ERROR"]);
    app.db
        .execute_unprepared("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries")
        .await
        .unwrap();
    let list = app
        .gql(
            Some(&app.integration),
            "{ customerPasswordResets { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["data"]["customerPasswordResets"]["totalCount"], 0,
        "the reset rolled back with its event"
    );

    assert_eq!(app.run_jobs().await, 1, "only the first customer's event");
    assert_eq!(
        receiver.calls()[0].header("x-commercelayer-topic"),
        "customers.create"
    );
}

#[tokio::test]
async fn an_undelivered_token_is_forgotten_when_it_expires() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (webhook, _) = subscribe(
        &app,
        "customer_password_resets.create",
        &receiver.url,
        false,
    )
    .await;
    receiver.answer_always(500);
    app.create_customer("ada@example.com", None).await;
    app.create_reset("ada@example.com").await;
    assert_eq!(app.run_jobs().await, 1);
    let rows = webhook_delivery::Entity::find().all(&app.db).await.unwrap();
    assert!(
        rows[0].token.is_some(),
        "kept while it may still be delivered"
    );

    app.clock.advance(Duration::hours(6));
    assert_eq!(app.run_jobs().await, 0, "an expired token is not sent");
    let rows = webhook_delivery::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows[0].token, None);
    assert_eq!(
        deliveries(&app, &webhook).await["deliveries"]["nodes"][0]["status"],
        "EXPIRED"
    );
}

#[tokio::test]
async fn the_server_delivers_on_its_own_when_its_dispatcher_runs() {
    let app = TestApp::spawn_with(Options {
        webhooks: WebhookSettings {
            allow_private_targets: true,
            poll_interval: Some(std::time::Duration::from_millis(10)),
        },
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start().await;
    subscribe(&app, "customers.create", &receiver.url, false).await;
    app.create_customer("ada@example.com", None).await;
    // Wait (bounded) for the background dispatcher; no fixed sleep.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while receiver.calls().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dispatcher never delivered"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        receiver.calls()[0].json()["data"]["attributes"]["email"],
        "ada@example.com"
    );
}
