//! What webhooks carry: signed events from a transactional outbox, the token
//! only on the create event, and only until it expires.

use std::collections::HashSet;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Duration;
use pwreset::entity::webhook_delivery;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::json;

use super::{deliveries, hmac_base64};
use crate::{
    helpers::{TestApp, error_codes},
    receiver::Receiver,
};

#[tokio::test]
async fn a_storefront_reset_reaches_the_mailer_signed_and_its_token_completes_the_reset() {
    let app = TestApp::spawn().await;
    let mailer = Receiver::start().await;
    let (webhook, secret) = app
        .subscribe("customer_password_resets.create", &mailer.url, true)
        .await;
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
        app.subscribe(topic, &receiver.url, false).await;
    }
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;
    app.complete(&app.integration, &token, "a brand new passphrase")
        .await;
    app.gql(
        Some(&app.integration),
        "mutation($id: ID!) { deleteCustomerPasswordReset(input: { id: $id }) { userErrors { code } } }",
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
async fn webhooks_are_for_integration_keys_and_stay_in_their_mode() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (webhook, _) = app.subscribe("customers.create", &receiver.url, true).await;
    let forbidden = app
        .gql(
            Some(&app.sales_channel),
            "mutation { createWebhook(input: { topic: CUSTOMERS_CREATE, callbackUrl: \"http://127.0.0.1:1/\" }) { userErrors { code } } }",
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
            "mutation($id: ID!) { updateWebhook(input: { id: $id, includeCustomer: false, topic: CUSTOMER_PASSWORD_RESETS_CREATE }) { webhook { topic includeCustomer } userErrors { code } } }",
            json!({ "id": webhook }),
        )
        .await;
    assert_eq!(
        update["data"]["updateWebhook"]["webhook"],
        json!({ "topic": "CUSTOMER_PASSWORD_RESETS_CREATE", "includeCustomer": false })
    );
    let delete = app
        .gql(Some(&app.integration), "mutation($id: ID!) { deleteWebhook(input: { id: $id }) { deletedWebhookId userErrors { code } } }", json!({ "id": webhook }))
        .await;
    assert_eq!(delete["data"]["deleteWebhook"]["deletedWebhookId"], webhook);
}

#[tokio::test]
async fn an_event_exists_exactly_when_its_change_does() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    app.subscribe("customer_password_resets.create", &receiver.url, false)
        .await;
    app.subscribe("customers.create", &receiver.url, false)
        .await;
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
    assert_eq!(
        app.count_resets().await,
        0,
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
    let (webhook, _) = app
        .subscribe("customer_password_resets.create", &receiver.url, false)
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
async fn a_token_waiting_on_a_receiver_that_is_down_is_nowhere_in_the_database() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_always(503); // the receiver is down
    app.subscribe("customer_password_resets.create", &receiver.url, false)
        .await;
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(receiver.calls().len(), 1, "tried, and failed");
    let dump = app.dump_database().await;
    assert!(
        dump.contains("ada@example.com"),
        "the dump reads every table"
    );
    assert!(
        !dump.contains(&token),
        "no column of any table holds the token"
    );

    // Once the receiver is up, the retry still carries it.
    receiver.answer_always(204);
    app.clock.advance(Duration::hours(1));
    assert_eq!(app.run_jobs().await, 1);
    let calls = receiver.calls();
    let delivered = calls.last().unwrap().json();
    assert_eq!(
        delivered["data"]["attributes"]["reset_password_token"],
        token
    );
}

#[tokio::test]
async fn tokens_an_earlier_version_stored_in_clear_are_sealed() {
    use pwreset::service::sealed::reseal_outdated;
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    app.subscribe("customer_password_resets.create", &receiver.url, false)
        .await;
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    // As an older version left it: the token in clear on the delivery.
    let row = webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut legacy: webhook_delivery::ActiveModel = row.into();
    legacy.token = Set(Some(token.clone()));
    legacy.update(&app.db).await.unwrap();
    assert!(app.dump_database().await.contains(&token));

    assert_eq!(
        reseal_outdated(&app.db, &app.state.sealer).await.unwrap(),
        1
    );
    assert!(!app.dump_database().await.contains(&token));
    app.run_jobs().await;
    assert_eq!(
        receiver.calls()[0].json()["data"]["attributes"]["reset_password_token"],
        token
    );
}
