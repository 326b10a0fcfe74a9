//! Which callback URLs a webhook may reach (SSRF): one rule, applied when
//! the webhook is saved and again at every call.

use pwreset::service::webhooks::WebhookSettings;
use serde_json::json;

use super::deliveries;
use crate::{
    helpers::{CREATE_WEBHOOK, Options, TestApp, codes},
    receiver::Receiver,
};

/// Callback URLs whose address is not globally reachable.
const NOT_PUBLIC: [&str; 22] = [
    "http://127.0.0.1:9/hook",
    "http://[::1]/hook",
    "http://10.0.0.8/hook",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://198.18.0.1/",
    "http://192.0.0.1/",
    "http://192.0.2.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::a9fe:a9fe]/",
    "http://[::7f00:1]:6379/",
    "http://[::ffff:127.0.0.1]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[fec0::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
];

fn strict() -> Options {
    Options {
        webhooks: WebhookSettings {
            allow_private_targets: false,
            poll_interval: None,
            proxy: None,
        },
        ..Options::default()
    }
}

async fn create_webhook(app: &TestApp, key: &str, url: &str) -> serde_json::Value {
    let input = json!({ "input": { "topic": "CUSTOMERS_CREATE", "callbackUrl": url } });
    app.gql(Some(key), CREATE_WEBHOOK, input).await["data"]["createWebhook"].clone()
}

#[tokio::test]
async fn no_address_that_is_not_public_can_be_saved() {
    let app = TestApp::spawn_with(strict()).await;
    for url in NOT_PUBLIC.iter().chain(&["http://localhost:8080/hook"]) {
        let payload = create_webhook(&app, &app.integration, url).await;
        assert_eq!(codes(&payload), ["CALLBACK_URL_NOT_ALLOWED"], "{url}");
    }
    let payload = create_webhook(&app, &app.integration, "http://93.184.216.34/hook").await;
    assert_eq!(payload["userErrors"], json!([]), "a public address is fine");
}

#[tokio::test]
async fn no_address_that_is_not_public_is_called() {
    // Saved while private targets were allowed...
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let mut hooks = Vec::new();
    for url in NOT_PUBLIC.iter().copied().chain([by_name.as_str()]) {
        let payload = create_webhook(&app, &app.integration, url).await;
        assert_eq!(payload["userErrors"], json!([]), "{url}");
        hooks.push(payload["webhook"]["id"].as_str().unwrap().to_owned());
    }
    app.create_customer("ada@example.com", None).await;
    // ...then called by jobs that do not allow them: literal addresses are
    // refused before any connection, names by the resolver.
    let attempts = app.worker_with(false).run_once().await.unwrap();
    assert_eq!(attempts, hooks.len());
    assert!(receiver.calls().is_empty());
    for hook in &hooks {
        let seen = deliveries(&app, hook).await;
        let error = seen["deliveries"]["nodes"][0]["lastError"]
            .as_str()
            .unwrap();
        assert!(error.contains("private"), "{hook}: {error}");
    }
}

#[tokio::test]
async fn live_mode_callbacks_must_be_https() {
    let app = TestApp::spawn_with(strict()).await;
    let payload = create_webhook(&app, &app.live_integration, "http://93.184.216.34/hook").await;
    assert_eq!(codes(&payload), ["CALLBACK_URL_NOT_ALLOWED"]);
    let message = payload["userErrors"][0]["message"].as_str().unwrap();
    assert!(message.contains("https"), "{message}");
    let payload = create_webhook(&app, &app.live_integration, "https://93.184.216.34/hook").await;
    assert_eq!(payload["userErrors"], json!([]));
    // Test mode may use plain http.
    let payload = create_webhook(&app, &app.integration, "http://93.184.216.34/hook").await;
    assert_eq!(payload["userErrors"], json!([]));
}
