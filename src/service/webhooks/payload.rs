//! Webhook payloads: the resource as a JSON:API document, like Commerce Layer's.

use serde_json::{Value, json};

use crate::{
    entity::{customer, customer_password_reset as reset},
    service::password_resets::{ResetStatus, status},
};

/// A reset as a JSON:API resource object (without any token).
pub fn reset_resource(
    model: &reset::Model,
    customer_public_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let status = match status(model, now) {
        ResetStatus::Pending => "pending",
        ResetStatus::Completed => "completed",
        ResetStatus::Expired => "expired",
        ResetStatus::Invalidated => "invalidated",
    };
    json!({
        "id": model.public_id,
        "type": "customer_password_resets",
        "attributes": {
            "customer_email": model.customer_email,
            "reset_password_at": model.reset_password_at,
            "expires_at": model.expires_at,
            "status": status,
            "reference": model.reference,
            "reference_origin": model.reference_origin,
            "metadata": model.metadata,
            "created_at": model.created_at,
            "updated_at": model.updated_at,
        },
        "relationships": {
            "customer": { "data": { "type": "customers", "id": customer_public_id } }
        },
        "meta": { "mode": model.mode },
    })
}

/// A customer as a JSON:API resource object (never the password digest).
pub fn customer_resource(model: &customer::Model) -> Value {
    json!({
        "id": model.public_id,
        "type": "customers",
        "attributes": {
            "email": model.email,
            "has_password": model.password_digest.is_some(),
            "password_changed_at": model.password_changed_at,
            "reference": model.reference,
            "metadata": model.metadata,
            "created_at": model.created_at,
            "updated_at": model.updated_at,
        },
        "meta": { "mode": model.mode },
    })
}
