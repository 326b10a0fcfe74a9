//! Resets and customers as JSON:API resource objects, as Commerce Layer
//! names their attributes, with absolute links from `PUBLIC_BASE_URL`.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::Value;

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

/// A reset, seen by a key of `role` at `now`: `token` only in a create's
/// answer, the merchant's fields only for integrations.
#[derive(Clone, Copy)]
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
    to_value(&ResetResource {
        base,
        view: *view,
        params,
    })
}

/// `customer` as a resource object.
pub(crate) fn customer(base: &str, row: &customer::Shown, params: &Params) -> Value {
    to_value(&CustomerResource { base, row, params })
}

/// `resource` as a JSON value (writing one cannot fail: every key is text).
fn to_value(resource: &impl Serialize) -> Value {
    serde_json::to_value(resource).unwrap_or_default()
}

/// A reset as a resource object, written straight to JSON. Keys come in
/// the order a JSON object value writes them (by name), so a document
/// reads the same whichever way it was built.
pub(crate) struct ResetResource<'a> {
    pub base: &'a str,
    pub view: ResetView<'a>,
    pub params: &'a Params,
}

impl Serialize for ResetResource<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (view, row) = (&self.view, self.view.row);
        let status = password_resets::status(row, view.now).as_str();
        let merchant = |attribute| (view.role == Role::Integration).then_some(attribute);
        let attributes = Attributes {
            kind: RESETS,
            params: self.params,
            members: [
                ("created_at", Some(Attribute::Time(Some(row.created_at)))),
                (
                    "customer_email",
                    Some(Attribute::Text(Some(&row.customer_email))),
                ),
                ("expires_at", Some(Attribute::Time(Some(row.expires_at)))),
                ("metadata", merchant(Attribute::Json(&row.metadata))),
                (
                    "reference",
                    merchant(Attribute::Text(row.reference.as_deref())),
                ),
                (
                    "reference_origin",
                    merchant(Attribute::Text(row.reference_origin.as_deref())),
                ),
                (
                    "reset_password_at",
                    Some(Attribute::Time(row.reset_password_at)),
                ),
                ("reset_password_code", Some(Attribute::Text(view.code))),
                ("reset_password_token", Some(Attribute::Text(view.token))),
                ("status", Some(Attribute::Text(Some(status)))),
                ("updated_at", Some(Attribute::Time(Some(row.updated_at)))),
            ],
        };
        let link = Url {
            base: self.base,
            kind: RESETS,
            id: &row.public_id,
            tail: "",
        };
        let customer = self
            .params
            .shows(RESETS, "customer")
            .then_some(Relationship {
                id: view.customer_id,
                related: Url {
                    tail: "/customer",
                    ..link
                },
            });
        Envelope {
            link,
            mode: row.mode.as_str(),
            attributes,
            customer,
        }
        .serialize(serializer)
    }
}

/// A customer as a resource object, written straight to JSON, keys by name.
pub(crate) struct CustomerResource<'a> {
    pub base: &'a str,
    pub row: &'a customer::Shown,
    pub params: &'a Params,
}

impl Serialize for CustomerResource<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let row = self.row;
        let attributes = Attributes {
            kind: CUSTOMERS,
            params: self.params,
            members: [
                ("created_at", Some(Attribute::Time(Some(row.created_at)))),
                ("email", Some(Attribute::Text(Some(&row.email)))),
                ("has_password", Some(Attribute::Bool(row.has_password))),
                ("metadata", Some(Attribute::Json(&row.metadata))),
                (
                    "password_changed_at",
                    Some(Attribute::Time(row.password_changed_at)),
                ),
                ("reference", Some(Attribute::Text(row.reference.as_deref()))),
                ("updated_at", Some(Attribute::Time(Some(row.updated_at)))),
            ],
        };
        let link = Url {
            base: self.base,
            kind: CUSTOMERS,
            id: &row.public_id,
            tail: "",
        };
        Envelope {
            link,
            mode: row.mode.as_str(),
            attributes,
            customer: None,
        }
        .serialize(serializer)
    }
}

/// What every resource object holds around its attributes: its id and type
/// (from `link`, its own URL), links, meta and, for a reset, the customer
/// relationship; keys by name.
struct Envelope<'a, A> {
    link: Url<'a>,
    mode: &'static str,
    attributes: A,
    customer: Option<Relationship<'a>>,
}

impl<A: Serialize> Serialize for Envelope<'_, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("attributes", &self.attributes)?;
        map.serialize_entry("id", self.link.id)?;
        map.serialize_entry("links", &Entry("self", &self.link))?;
        map.serialize_entry("meta", &Entry("mode", self.mode))?;
        if let Some(customer) = &self.customer {
            map.serialize_entry("relationships", &Entry("customer", customer))?;
        }
        map.serialize_entry("type", self.link.kind)?;
        map.end()
    }
}

/// One attribute's value.
enum Attribute<'a> {
    Text(Option<&'a str>),
    Time(Option<DateTime<Utc>>),
    Json(&'a Value),
    Bool(bool),
}

impl Serialize for Attribute<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Attribute::Text(text) => text.serialize(serializer),
            Attribute::Time(time) => time.serialize(serializer),
            Attribute::Json(value) => value.serialize(serializer),
            Attribute::Bool(flag) => flag.serialize(serializer),
        }
    }
}

/// The attributes of a resource of `kind` that `params` shows: `members`
/// by name, `None` for one the caller may not see.
struct Attributes<'a, const N: usize> {
    kind: &'static str,
    params: &'a Params,
    members: [(&'static str, Option<Attribute<'a>>); N],
}

impl<const N: usize> Serialize for Attributes<'_, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in &self.members {
            if let Some(value) = value
                && self.params.shows(self.kind, name)
            {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// `{base}/api/{kind}/{id}{tail}`, written without an intermediate string.
#[derive(Clone, Copy)]
struct Url<'a> {
    base: &'a str,
    kind: &'static str,
    id: &'a str,
    tail: &'static str,
}

impl std::fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/api/{}/{}{}",
            self.base, self.kind, self.id, self.tail
        )
    }
}

impl Serialize for Url<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An object of one member.
struct Entry<'a, V: ?Sized>(&'static str, &'a V);

impl<V: Serialize + ?Sized> Serialize for Entry<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

/// A reset's `customer` relationship: the linkage when the customer was
/// read, and the related link.
struct Relationship<'a> {
    id: Option<&'a str>,
    related: Url<'a>,
}

impl Serialize for Relationship<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(id) = self.id {
            map.serialize_entry("data", &Linkage(id))?;
        }
        map.serialize_entry("links", &Entry("related", &self.related))?;
        map.end()
    }
}

/// A customer's resource identifier: `{"id": …, "type": "customers"}`.
struct Linkage<'a>(&'a str);

impl Serialize for Linkage<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("id", self.0)?;
        map.serialize_entry("type", CUSTOMERS)?;
        map.end()
    }
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
    if only_brief(params, RESETS, &BRIEF_RESET_MEMBERS) {
        ResetColumns::Brief
    } else {
        ResetColumns::Shown
    }
}

/// The members of a customer that [`customer::Brief`]'s columns answer.
const BRIEF_CUSTOMER_MEMBERS: [&str; 1] = ["email"];

/// How an included customer is read with `params`: brief when
/// `fields[customers]` names only members a brief read answers.
pub(crate) fn customer_columns(params: &Params) -> WithCustomers {
    if only_brief(params, CUSTOMERS, &BRIEF_CUSTOMER_MEMBERS) {
        WithCustomers::Brief
    } else {
        WithCustomers::Shown
    }
}

/// Whether `fields[kind]` is given and names only members of `brief`.
fn only_brief(params: &Params, kind: &str, brief: &[&str]) -> bool {
    params
        .fields
        .get(kind)
        .is_some_and(|members| members.iter().all(|m| brief.contains(&m.as_str())))
}

/// The public id of a listed reset's customer.
pub(crate) fn customer_id(listed: &Option<ListedCustomer>) -> Option<&str> {
    match listed {
        Some(ListedCustomer::Brief(c)) => Some(&c.public_id),
        Some(ListedCustomer::Shown(c)) => Some(&c.public_id),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Delivery, Mode};
    use serde_json::json;

    fn params(query: &str) -> Params {
        Params::parse(Some(query), false).unwrap()
    }

    /// Written straight or through a JSON value, a resource reads the same,
    /// byte for byte: every key in the order a value writes them.
    #[test]
    fn resources_write_as_their_json_values_do() {
        let at = DateTime::parse_from_rfc3339("2026-12-06T10:00:00.123456Z")
            .unwrap()
            .to_utc();
        let row = reset::Shown {
            id: 7,
            public_id: "cpr_1".into(),
            mode: Mode::Live,
            customer_id: 3,
            customer_email: "Ada \"A\" <ada@example.com>".into(),
            expires_at: at,
            reset_password_at: None,
            invalidated_at: None,
            reference: Some("r-1".into()),
            reference_origin: None,
            metadata: json!({ "z": 1, "a": [true, null] }),
            created_at: at,
            updated_at: at,
            delivery: Delivery::Link,
            code_expires_at: None,
            code_attempts: 0,
        };
        let person = customer::Shown {
            id: 3,
            public_id: "cus_1".into(),
            mode: Mode::Live,
            email: "ada@example.com".into(),
            email_key: "ada@example.com".into(),
            reference: None,
            password_changed_at: Some(at),
            metadata: json!({}),
            created_at: at,
            updated_at: at,
            has_password: true,
        };
        for (query, role, customer_id, token) in [
            ("", Role::Integration, Some("cus_1"), Some("tok")),
            ("", Role::SalesChannel, None, None),
            (
                "fields[customer_password_resets]=status,metadata,customer&fields[customers]=email",
                Role::Integration,
                Some("cus_1"),
                None,
            ),
            (
                "fields[customer_password_resets]=status",
                Role::Integration,
                None,
                None,
            ),
        ] {
            let params = params(query);
            let view = ResetView {
                row: &row,
                customer_id,
                token,
                code: None,
                role,
                now: at,
            };
            let resource = ResetResource {
                base: "https://api.example",
                view,
                params: &params,
            };
            let written = serde_json::to_string(&resource).unwrap();
            assert_eq!(written, to_value(&resource).to_string(), "{query}");
            let customer = CustomerResource {
                base: "https://api.example",
                row: &person,
                params: &params,
            };
            let written = serde_json::to_string(&customer).unwrap();
            assert_eq!(written, to_value(&customer).to_string(), "{query}");
        }
        let whole = reset(
            "https://api.example",
            &ResetView {
                row: &row,
                customer_id: Some("cus_1"),
                token: None,
                code: None,
                role: Role::Integration,
                now: at,
            },
            &params(""),
        );
        assert_eq!(
            whole["links"]["self"],
            "https://api.example/api/customer_password_resets/cpr_1"
        );
        assert_eq!(
            whole["relationships"]["customer"],
            json!({
                "data": { "type": "customers", "id": "cus_1" },
                "links": { "related": "https://api.example/api/customer_password_resets/cpr_1/customer" },
            })
        );
        assert_eq!(
            whole["attributes"]["created_at"],
            "2026-12-06T10:00:00.123456Z"
        );
        assert_eq!(whole["attributes"].as_object().unwrap().len(), 11);
    }
}
