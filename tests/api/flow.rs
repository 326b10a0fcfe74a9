//! The whole reset flow, from request to new password.

use chrono::Duration;
use pwreset::{
    domain::digest, entity::customer_password_reset as reset, service::password::verify,
};
use sea_orm::EntityTrait;
use serde_json::json;

use crate::helpers::{TestApp, start_time};

#[tokio::test]
async fn a_customer_resets_a_forgotten_password_with_the_token() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", Some("the old password"))
        .await;

    let (id, token) = app.create_reset("Ada@Example.COM").await;
    let pending = app.reset(&id).await;
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["resetPasswordAt"], json!(null));
    assert_eq!(pending["customer"]["email"], "ada@example.com");

    app.clock.advance(Duration::minutes(10));
    let payload = app
        .complete(&app.sales_channel, &token, "a brand new passphrase")
        .await;
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["customerPasswordReset"]["status"], "COMPLETED");

    let done = app.reset(&id).await;
    assert_eq!(done["status"], "COMPLETED");
    let reset_at: chrono::DateTime<chrono::Utc> =
        done["resetPasswordAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(reset_at, start_time() + Duration::minutes(10));
    assert!(done["customer"]["hasPassword"].as_bool().unwrap());

    let digest = app.password_digest("ada@example.com").await.unwrap();
    assert!(verify("a brand new passphrase", &digest));
    assert!(!verify("the old password", &digest));
}

#[tokio::test]
async fn a_guest_gets_a_password_through_a_reset() {
    let app = TestApp::spawn().await;
    app.create_customer("guest@example.com", None).await;
    assert_eq!(app.password_digest("guest@example.com").await, None);
    let (id, token) = app.create_reset("guest@example.com").await;
    assert!(
        !app.reset(&id).await["customer"]["hasPassword"]
            .as_bool()
            .unwrap()
    );

    let payload = app
        .complete(&app.integration, &token, "correct horse battery")
        .await;
    assert_eq!(payload["userErrors"], json!([]));
    assert!(
        app.reset(&id).await["customer"]["hasPassword"]
            .as_bool()
            .unwrap()
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_at_the_owasp_minimum_or_above() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", Some("first password"))
        .await;
    let digest = app.password_digest("ada@example.com").await.unwrap();
    assert!(
        digest.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{digest}"
    );
    assert!(verify("first password", &digest));
}

#[tokio::test]
async fn the_token_is_shown_once_and_stored_only_as_a_digest() {
    let app = TestApp::spawn().await;
    let customer_id = app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;
    assert!(token.len() >= 43, "at least 256 bits of URL-safe base64");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );

    // Every way of reading the reset afterwards shows no token.
    assert_eq!(app.reset(&id).await["resetPasswordToken"], json!(null));
    let body = app
        .gql(
            Some(&app.integration),
            "query($id: ID!, $customer: ID!) {
                node(id: $id) { ... on CustomerPasswordReset { resetPasswordToken } }
                customerPasswordResets { nodes { resetPasswordToken } }
                customer(id: $customer) { passwordResets { nodes { resetPasswordToken } } } }",
            json!({ "id": id, "customer": customer_id }),
        )
        .await;
    assert_eq!(body["data"]["node"]["resetPasswordToken"], json!(null));
    assert_eq!(
        body["data"]["customerPasswordResets"]["nodes"][0]["resetPasswordToken"],
        json!(null)
    );
    assert_eq!(
        body["data"]["customer"]["passwordResets"]["nodes"][0]["resetPasswordToken"],
        json!(null)
    );

    // The database holds the SHA-256 digest, and the token nowhere.
    let rows = reset::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_digest, digest(&token));
    assert!(!format!("{:?}", rows[0]).contains(&token));
}

#[tokio::test]
async fn tokens_are_different_every_time() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let mut tokens = std::collections::HashSet::new();
    for _ in 0..5 {
        tokens.insert(app.create_reset("ada@example.com").await.1);
    }
    assert_eq!(tokens.len(), 5);
}
