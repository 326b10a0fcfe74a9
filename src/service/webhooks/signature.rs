//! How receivers know a call came from this server: HMAC-SHA256 signatures
//! over the raw body, in Commerce Layer's header and in Standard Webhooks'.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// Commerce Layer's `X-CommerceLayer-Signature`: base64(HMAC-SHA256(body, shared secret)).
pub fn commerce_layer_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = mac(secret.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Standard Webhooks' `webhook-signature`: `v1,` and base64(HMAC-SHA256 of
/// `id.timestamp.body` keyed with the base64-decoded part of `whsec_…`).
pub fn standard_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = mac(&key);
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}
