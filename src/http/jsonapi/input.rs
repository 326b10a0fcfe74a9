//! Reading a reset's request document: its type, its attributes, each
//! attribute's JSON type, and which attributes may be written.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::{ApiError, resources::RESETS};
use crate::service::password_resets::{Change, MerchantInput};

/// Attributes a client may not write, with why.
const READ_ONLY: &[&str] = &[
    "reset_password_token",
    "reset_password_at",
    "expires_at",
    "status",
    "created_at",
    "updated_at",
];

pub(super) fn pointer(name: &str) -> String {
    format!("/data/attributes/{name}")
}

/// `409` unless `data.type` is a reset's; the attributes object.
pub(super) fn attributes(data: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    match data.get("type").and_then(Value::as_str) {
        Some(RESETS) => {}
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                format!("this endpoint takes {RESETS}, not {other}"),
            )
            .at("/data/type"));
        }
        None => {
            return Err(ApiError::bad_member(
                "/data/type",
                "the resource needs a type",
            ));
        }
    }
    match data.get("attributes") {
        Some(Value::Object(attributes)) => Ok(attributes.clone()),
        None => Ok(Map::new()),
        Some(_) => Err(ApiError::bad_member(
            "/data/attributes",
            "must be an object",
        )),
    }
}

/// The text of attribute `name`, `None` when absent; `400` for another JSON type.
pub(super) fn text(
    attributes: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ApiError> {
    match attributes.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_member(
            &pointer(name),
            format!("{name} must be a string"),
        )),
    }
}

/// A merchant field: absent keeps, `null` clears, a value sets.
fn change<T>(
    attributes: &Map<String, Value>,
    name: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<Change<T>, ApiError> {
    match attributes.get(name) {
        None => Ok(Change::Keep),
        Some(Value::Null) => Ok(Change::Clear),
        Some(value) => read(value).map(Change::Set).ok_or_else(|| {
            ApiError::bad_member(&pointer(name), format!("{name} has the wrong type"))
        }),
    }
}

pub(super) fn merchant(attributes: &Map<String, Value>) -> Result<MerchantInput, ApiError> {
    let string = |v: &Value| v.as_str().map(str::to_owned);
    Ok(MerchantInput {
        reference: change(attributes, "reference", string)?,
        reference_origin: change(attributes, "reference_origin", string)?,
        metadata: change(attributes, "metadata", |v| Some(v.clone()))?,
    })
}

/// `400` for the first attribute not in `writable`.
pub(super) fn only(attributes: &Map<String, Value>, writable: &[&str]) -> Result<(), ApiError> {
    match attributes.keys().find(|k| !writable.contains(&k.as_str())) {
        None => Ok(()),
        Some(name) if READ_ONLY.contains(&name.as_str()) => Err(ApiError::bad_member(
            &pointer(name),
            format!("{name} is read-only"),
        )),
        Some(name) => Err(ApiError::bad_member(
            &pointer(name),
            format!("{name} is not an attribute that can be written here"),
        )),
    }
}
