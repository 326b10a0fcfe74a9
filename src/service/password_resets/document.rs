//! A reset as its webhook events carry it: a JSON:API document, like
//! Commerce Layer's, with the customer included (the webhook decides whether
//! to send it). Never the token: the outbox adds it to the create event's
//! deliveries only.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::status;
use crate::{
    entity::{customer, customer_password_reset as reset},
    service::customers,
};

/// The document of `model`, whose customer is `customer`, as it stands at `now`.
pub(super) fn reset(model: &reset::Model, customer: &customer::Model, now: DateTime<Utc>) -> Value {
    let resource = json!({
        "id": model.public_id,
        "type": "customer_password_resets",
        "attributes": {
            "customer_email": model.customer_email,
            "reset_password_at": model.reset_password_at,
            "expires_at": model.expires_at,
            "status": status(model, now).as_str(),
            "reference": model.reference,
            "reference_origin": model.reference_origin,
            "metadata": model.metadata,
            "created_at": model.created_at,
            "updated_at": model.updated_at,
        },
        "relationships": {
            "customer": { "data": { "type": "customers", "id": customer.public_id } }
        },
        "meta": { "mode": model.mode.as_str() },
    });
    json!({
        "data": resource,
        "included": [customers::resource(customer)],
    })
}
