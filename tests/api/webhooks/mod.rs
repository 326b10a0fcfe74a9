//! Token delivery: signed webhooks from a transactional outbox.

mod delivery;
mod events;
mod readme_receiver;
mod targets;

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::TestApp;

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) async fn deliveries(app: &TestApp, webhook: &str) -> Value {
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
