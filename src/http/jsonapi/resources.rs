//! Resets and customers as JSON:API resource objects, as Commerce Layer
//! names their attributes, with absolute links from `PUBLIC_BASE_URL`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::query::Params;
use crate::{
    domain::Role,
    entity::{customer, customer_password_reset as reset},
    service::password_resets::{self, ListedCustomer},
};

/// A reset's type.
pub(crate) const RESETS: &str = "customer_password_resets";
/// A customer's type.
pub(crate) const CUSTOMERS: &str = "customers";

/// A reset's attributes and relationships, for `fields[customer_password_resets]`.
pub(crate) const RESET_FIELDS: &[&str] = &[
    "customer_email",
    "reset_password_token",
    "reset_password_at",
    "expires_at",
    "status",
    "created_at",
    "updated_at",
    "reference",
    "reference_origin",
    "metadata",
    "customer",
];

/// A customer's attributes, for `fields[customers]`.
pub(crate) const CUSTOMER_FIELDS: &[&str] = &[
    "email",
    "has_password",
    "password_changed_at",
    "reference",
    "metadata",
    "created_at",
    "updated_at",
];

/// The attributes of `all` that `params` shows for `kind`.
fn sparse(all: Vec<(&str, Value)>, params: &Params, kind: &str) -> Map<String, Value> {
    all.into_iter()
        .filter(|(name, _)| params.shows(kind, name))
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// A reset, seen by a key of `role` at `now`: `token` only in a create's
/// answer, the merchant's fields only for integrations.
pub(crate) struct ResetView<'a> {
    pub row: &'a reset::Shown,
    /// The customer's public id.
    pub customer_id: Option<&'a str>,
    pub token: Option<&'a str>,
    pub role: Role,
    pub now: DateTime<Utc>,
}

/// `reset` as a resource object.
pub(crate) fn reset(base: &str, view: &ResetView<'_>, params: &Params) -> Value {
    let row = view.row;
    let status = password_resets::status(row, view.now).as_str();
    let mut all = vec![
        ("customer_email", json!(row.customer_email)),
        ("reset_password_token", json!(view.token)),
        ("reset_password_at", json!(row.reset_password_at)),
        ("expires_at", json!(row.expires_at)),
        ("status", json!(status)),
        ("created_at", json!(row.created_at)),
        ("updated_at", json!(row.updated_at)),
    ];
    if view.role == Role::Integration {
        all.push(("reference", json!(row.reference)));
        all.push(("reference_origin", json!(row.reference_origin)));
        all.push(("metadata", json!(row.metadata)));
    }
    let link = format!("{base}/api/{RESETS}/{}", row.public_id);
    let mut resource = json!({
        "id": row.public_id,
        "type": RESETS,
        "links": { "self": link },
        "attributes": sparse(all, params, RESETS),
        "meta": { "mode": row.mode.as_str() },
    });
    if params.shows(RESETS, "customer") {
        let mut customer = json!({ "links": { "related": format!("{link}/customer") } });
        if let Some(id) = view.customer_id {
            customer["data"] = json!({ "type": CUSTOMERS, "id": id });
        }
        resource["relationships"] = json!({ "customer": customer });
    }
    resource
}

/// `customer` as a resource object.
pub(crate) fn customer(base: &str, row: &customer::Shown, params: &Params) -> Value {
    let all = vec![
        ("email", json!(row.email)),
        ("has_password", json!(row.has_password)),
        ("password_changed_at", json!(row.password_changed_at)),
        ("reference", json!(row.reference)),
        ("metadata", json!(row.metadata)),
        ("created_at", json!(row.created_at)),
        ("updated_at", json!(row.updated_at)),
    ];
    json!({
        "id": row.public_id,
        "type": CUSTOMERS,
        "links": { "self": format!("{base}/api/{CUSTOMERS}/{}", row.public_id) },
        "attributes": sparse(all, params, CUSTOMERS),
        "meta": { "mode": row.mode.as_str() },
    })
}

/// The public id of a listed reset's customer.
pub(crate) fn customer_id(listed: &Option<ListedCustomer>) -> Option<&str> {
    match listed {
        Some(ListedCustomer::Brief(c)) => Some(&c.public_id),
        Some(ListedCustomer::Shown(c)) => Some(&c.public_id),
        None => None,
    }
}
