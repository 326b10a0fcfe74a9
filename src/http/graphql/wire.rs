//! GraphQL requests as they arrive: a GET query string, or a POST body
//! holding one request or a batch of them. Bodies are capped while they are
//! read.

use axum::{
    body::Body,
    http::{HeaderMap, StatusCode, header},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::refusal::Refusal;
use crate::graphql::ErrorCode;

/// One GraphQL request as sent on the wire (both POST bodies and GET query strings).
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireRequest {
    pub query: Option<String>,
    #[serde(rename = "operationName")]
    pub operation_name: Option<String>,
    pub variables: Option<Value>,
    pub extensions: Option<Map<String, Value>>,
}

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal::http(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
}

/// Reads a GET query string; `variables` and `extensions` are JSON texts.
pub(super) fn read_query_string(raw: &str) -> Result<WireRequest, Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| bad_request(format!("the query string cannot be read: {e}")))?;
    let mut wire = WireRequest::default();
    for (key, value) in pairs {
        let json = |what: &str| {
            serde_json::from_str::<Value>(&value)
                .map_err(|e| bad_request(format!("`{what}` is not valid JSON: {e}")))
        };
        match key.as_str() {
            "query" => wire.query = Some(value),
            "operationName" => wire.operation_name = Some(value).filter(|v| !v.is_empty()),
            "variables" => wire.variables = Some(json("variables")?),
            "extensions" => match json("extensions")? {
                Value::Object(map) => wire.extensions = Some(map),
                _ => return Err(bad_request("`extensions` must be a JSON object")),
            },
            _ => {}
        }
    }
    Ok(wire)
}

/// A POST body's requests, and whether they came as a batch (a JSON array).
/// The body must be `application/json` (UTF-8), at most `limit` bytes, and a
/// batch at most `max_batch` requests (0: batches are refused).
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    max_batch: usize,
) -> Result<(Vec<WireRequest>, bool), Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or("").trim();
    let charset_ok = params
        .filter_map(|p| p.trim().strip_prefix("charset="))
        .all(|c| c.trim_matches('"').eq_ignore_ascii_case("utf-8"));
    if !essence.eq_ignore_ascii_case("application/json") || !charset_ok {
        return Err(Refusal::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send the request as JSON with `Content-Type: application/json`",
        ));
    }
    let too_large = || {
        Refusal::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // Counted while reading, so a chunked body without Content-Length is capped too.
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Err(_) => return Err(bad_request("the body could not be read")),
    };
    // PostgreSQL cannot store NUL in text, and no field has a use for it.
    if bytes.windows(6).any(|w| w == br"\u0000") {
        return Err(bad_request(
            "NUL characters (\\u0000) are not accepted in any field",
        ));
    }
    let bad_json =
        |e: serde_json::Error| bad_request(format!("the body is not a GraphQL request: {e}"));
    match serde_json::from_slice::<Value>(&bytes).map_err(bad_json)? {
        Value::Array(items) => {
            if max_batch == 0 {
                return Err(Refusal::http(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BatchingDisabled,
                    "batch requests are turned off on this server",
                ));
            }
            if items.is_empty() || items.len() > max_batch {
                return Err(Refusal::http(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BatchTooLarge,
                    format!(
                        "a batch must hold 1 to {max_batch} operations, not {}",
                        items.len()
                    ),
                ));
            }
            let requests = items
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<Vec<WireRequest>, _>>()
                .map_err(bad_json)?;
            Ok((requests, true))
        }
        value @ Value::Object(_) => Ok((
            vec![serde_json::from_value(value).map_err(bad_json)?],
            false,
        )),
        _ => Err(bad_request(
            "the body must be a JSON object, or an array of them for a batch",
        )),
    }
}
