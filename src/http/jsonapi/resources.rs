//! Resets and customers as JSON:API resource objects, as Commerce Layer
//! names their attributes, with absolute links from `PUBLIC_BASE_URL`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::query::Params;
use crate::{
    domain::Role,
    entity::{customer, customer_password_reset as reset},
    service::password_resets::{self, ListedCustomer, ResetColumns, WithCustomers},
};

/// A reset's type.
pub(crate) const RESETS: &str = "customer_password_resets";
/// A customer's type.
pub(crate) const CUSTOMERS: &str = "customers";

/// The JSON type of an attribute, as the OpenAPI document describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A string.
    Text,
    /// An RFC 3339 time.
    Time,
    /// A JSON object.
    Object,
    /// `true` or `false`.
    Bool,
}

/// An attribute of a resource: its name, shape, whether it may be null,
/// and whether only integration keys see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub name: &'static str,
    pub shape: Shape,
    pub nullable: bool,
    pub integration_only: bool,
}

const fn member(name: &'static str, shape: Shape, nullable: bool) -> Member {
    Member {
        name,
        shape,
        nullable,
        integration_only: false,
    }
}

const fn merchant(name: &'static str, shape: Shape) -> Member {
    Member {
        name,
        shape,
        nullable: true,
        integration_only: true,
    }
}

/// A reset's attributes, in the order they are written.
pub(crate) const RESET_ATTRIBUTES: &[Member] = &[
    member("customer_email", Shape::Text, false),
    member("reset_password_token", Shape::Text, true),
    member("reset_password_code", Shape::Text, true),
    member("reset_password_at", Shape::Time, true),
    member("expires_at", Shape::Time, false),
    member("status", Shape::Text, false),
    member("created_at", Shape::Time, false),
    member("updated_at", Shape::Time, false),
    merchant("reference", Shape::Text),
    merchant("reference_origin", Shape::Text),
    merchant("metadata", Shape::Object),
];

/// A customer's attributes, in the order they are written.
pub(crate) const CUSTOMER_ATTRIBUTES: &[Member] = &[
    member("email", Shape::Text, false),
    member("has_password", Shape::Bool, false),
    member("password_changed_at", Shape::Time, true),
    member("reference", Shape::Text, true),
    member("metadata", Shape::Object, false),
    member("created_at", Shape::Time, false),
    member("updated_at", Shape::Time, false),
];

/// The attributes of each type, and its relationships: what `fields[TYPE]`
/// may name.
pub(crate) const TYPES: &[(&str, &[Member], &[&str])] = &[
    (RESETS, RESET_ATTRIBUTES, &["customer"]),
    (CUSTOMERS, CUSTOMER_ATTRIBUTES, &[]),
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
    /// The customer's public id, when it was read (a create's or an
    /// update's answer, or `include=customer`): the relationship's linkage.
    pub customer_id: Option<&'a str>,
    pub token: Option<&'a str>,
    /// The one-time code, only in a create's answer.
    pub code: Option<&'a str>,
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
        ("reset_password_code", json!(view.code)),
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

/// The members of a reset that [`reset::Brief`]'s columns answer: all but
/// the merchant's fields.
const BRIEF_RESET_MEMBERS: [&str; 9] = [
    "customer_email",
    "reset_password_token",
    "reset_password_code",
    "reset_password_at",
    "expires_at",
    "status",
    "created_at",
    "updated_at",
    "customer",
];

/// The columns a reset's resource object needs with `params`: the brief
/// ones when `fields[customer_password_resets]` names only members they
/// answer.
pub(crate) fn reset_columns(params: &Params) -> ResetColumns {
    match params.fields.get(RESETS) {
        Some(members)
            if members
                .iter()
                .all(|m| BRIEF_RESET_MEMBERS.contains(&m.as_str())) =>
        {
            ResetColumns::Brief
        }
        _ => ResetColumns::Shown,
    }
}

/// The members of a customer that [`customer::Brief`]'s columns answer.
const BRIEF_CUSTOMER_MEMBERS: [&str; 1] = ["email"];

/// How an included customer is read with `params`: brief when
/// `fields[customers]` names only members a brief read answers.
pub(crate) fn customer_columns(params: &Params) -> WithCustomers {
    match params.fields.get(CUSTOMERS) {
        Some(members)
            if members
                .iter()
                .all(|m| BRIEF_CUSTOMER_MEMBERS.contains(&m.as_str())) =>
        {
            WithCustomers::Brief
        }
        _ => WithCustomers::Shown,
    }
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
