//! Finished spans to an OTLP/HTTP collector: batched by a task of their own,
//! encoded as protobuf (`application/x-protobuf`) or JSON
//! (`application/json`) as `OTEL_EXPORTER_OTLP_PROTOCOL` says, posted to the
//! traces endpoint. A collector that is down costs dropped spans, counted and
//! logged, never a request's time.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Value as Json, json};
use tokio::sync::mpsc;

use super::context::{SpanContext, hex};

/// Spans sent in one request at most.
const BATCH: usize = 512;
/// How long a finished span waits for others before its batch is sent.
const DELAY: Duration = Duration::from_millis(1_000);

/// What kind of span this is, as OTLP numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Work inside this server.
    Internal = 1,
    /// A request this server answers.
    Server = 2,
    /// A call this server makes (SQL, SMTP, a webhook).
    Client = 3,
    /// Work a queue handed over (a background job).
    Consumer = 5,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A whole number.
    Int(i64),
    /// A flag.
    Bool(bool),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

/// A span that has ended, waiting to be exported.
#[derive(Debug, Clone)]
pub struct Finished {
    pub context: SpanContext,
    pub parent: Option<[u8; 8]>,
    pub name: String,
    pub kind: Kind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<(&'static str, Value)>,
    pub links: Vec<SpanContext>,
    /// `Some(message)` when the span failed.
    pub error: Option<String>,
}

/// The wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `http/protobuf` (the default).
    Protobuf,
    /// `http/json`.
    Json,
}

/// Where and how spans go.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub protocol: Protocol,
    pub headers: reqwest::header::HeaderMap,
    /// The resource's attributes: `service.name` and the others.
    pub resource: Vec<(String, Value)>,
}

/// What the exporter task is handed.
#[derive(Debug)]
pub enum Message {
    /// A finished span.
    Span(Finished),
    /// Send what is waiting, then stop (shutdown).
    Close,
}

/// Sends batches (when [`BATCH`] spans wait, or [`DELAY`] after the first
/// of them) until told to close or every sender is gone, then sends what is
/// left. Spans `dropped` for a full queue are reported with each batch.
pub async fn run(
    target: Target,
    client: reqwest::Client,
    mut messages: mpsc::Receiver<Message>,
    dropped: Arc<AtomicU64>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let mut open = match messages.recv().await {
            Some(Message::Span(span)) => {
                batch.push(span);
                true
            }
            Some(Message::Close) | None => false,
        };
        let deadline = tokio::time::Instant::now() + DELAY;
        while open && batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, messages.recv()).await {
                Ok(Some(Message::Span(span))) => batch.push(span),
                Ok(Some(Message::Close) | None) => open = false,
                Err(_) => break,
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            tracing::warn!(spans = lost, "the trace queue was full: spans were dropped");
        }
        if !batch.is_empty() {
            send(&target, &client, &batch).await;
            batch.clear();
        }
        if !open {
            return;
        }
    }
}

async fn send(target: &Target, client: &reqwest::Client, batch: &[Finished]) {
    let (body, content_type) = match target.protocol {
        Protocol::Protobuf => (protobuf(&target.resource, batch), "application/x-protobuf"),
        Protocol::Json => (
            json(&target.resource, batch).to_string().into_bytes(),
            "application/json",
        ),
    };
    let sent = client
        .post(&target.url)
        .headers(target.headers.clone())
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) if answer.status().is_success() => {}
        Ok(answer) => tracing::warn!(
            status = answer.status().as_u16(),
            spans = batch.len(),
            "the trace collector refused a batch of spans; they are dropped"
        ),
        Err(e) => tracing::warn!(
            error = %e.without_url(),
            spans = batch.len(),
            "the trace collector could not be reached; a batch of spans is dropped"
        ),
    }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The resource of this process: `service_name`, this version, and the
/// operator's `extra` attributes (`OTEL_RESOURCE_ATTRIBUTES`), which never
/// replace `service.name`.
pub fn resource(service_name: &str, extra: Vec<(String, String)>) -> Vec<(String, Value)> {
    let mut resource = vec![
        ("service.name".to_owned(), Value::from(service_name)),
        (
            "service.version".to_owned(),
            Value::from(crate::build_info::VERSION),
        ),
        ("telemetry.sdk.language".to_owned(), Value::from("rust")),
    ];
    for (key, value) in extra {
        if let Some(known) = resource.iter_mut().find(|(k, _)| *k == key) {
            if key != "service.name" {
                known.1 = Value::from(value);
            }
        } else {
            resource.push((key, Value::from(value)));
        }
    }
    resource
}

/// OTLP/JSON: `ExportTraceServiceRequest` with hex ids and 64-bit numbers
/// as decimal strings.
pub fn json(resource: &[(String, Value)], batch: &[Finished]) -> Json {
    fn attributes<K: AsRef<str>>(list: &[(K, Value)]) -> Json {
        Json::Array(
            list.iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::Str(s) => json!({ "stringValue": s }),
                        Value::Int(n) => json!({ "intValue": n.to_string() }),
                        Value::Bool(b) => json!({ "boolValue": b }),
                    };
                    json!({ "key": key.as_ref(), "value": value })
                })
                .collect(),
        )
    }
    let spans: Vec<Json> = batch
        .iter()
        .map(|span| {
            let mut out = json!({
                "traceId": hex(&span.context.trace_id),
                "spanId": hex(&span.context.span_id),
                "name": span.name,
                "kind": span.kind as i32,
                "startTimeUnixNano": nanos(span.start).to_string(),
                "endTimeUnixNano": nanos(span.end).to_string(),
                "attributes": attributes(&span.attributes),
                "links": span.links.iter().map(|l| json!({
                    "traceId": hex(&l.trace_id),
                    "spanId": hex(&l.span_id),
                })).collect::<Vec<_>>(),
                "status": match &span.error {
                    Some(message) => json!({ "code": 2, "message": message }),
                    None => json!({}),
                },
            });
            if let Some(parent) = span.parent {
                out["parentSpanId"] = hex(&parent).into();
            }
            if let Some(state) = &span.context.state {
                out["traceState"] = state.to_string().into();
            }
            out
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": attributes(resource) },
            "scopeSpans": [{
                "scope": { "name": "pwreset", "version": crate::build_info::VERSION },
                "spans": spans,
            }],
        }],
    })
}

/// OTLP/protobuf: `ExportTraceServiceRequest`, encoded by hand (field
/// numbers from opentelemetry-proto's `trace/v1/trace.proto`,
/// `common/v1/common.proto` and `resource/v1/resource.proto`).
pub fn protobuf(attributes: &[(String, Value)], batch: &[Finished]) -> Vec<u8> {
    let mut resource = Vec::new();
    for (key, value) in attributes {
        message(&mut resource, 1, &key_value(key, value));
    }
    let mut scope = Vec::new();
    string(&mut scope, 1, "pwreset");
    string(&mut scope, 2, crate::build_info::VERSION);
    let mut scope_spans = Vec::new();
    message(&mut scope_spans, 1, &scope);
    for span in batch {
        message(&mut scope_spans, 2, &encode_span(span));
    }
    let mut resource_spans = Vec::new();
    message(&mut resource_spans, 1, &resource);
    message(&mut resource_spans, 2, &scope_spans);
    let mut request = Vec::new();
    message(&mut request, 1, &resource_spans);
    request
}

fn encode_span(span: &Finished) -> Vec<u8> {
    let mut out = Vec::new();
    bytes(&mut out, 1, &span.context.trace_id);
    bytes(&mut out, 2, &span.context.span_id);
    if let Some(state) = &span.context.state {
        string(&mut out, 3, state);
    }
    if let Some(parent) = span.parent {
        bytes(&mut out, 4, &parent);
    }
    string(&mut out, 5, &span.name);
    varint_field(&mut out, 6, span.kind as u64);
    fixed64(&mut out, 7, nanos(span.start));
    fixed64(&mut out, 8, nanos(span.end));
    for (key, value) in &span.attributes {
        message(&mut out, 9, &key_value(key, value));
    }
    for link in &span.links {
        let mut encoded = Vec::new();
        bytes(&mut encoded, 1, &link.trace_id);
        bytes(&mut encoded, 2, &link.span_id);
        message(&mut out, 13, &encoded);
    }
    let mut status = Vec::new();
    if let Some(message_text) = &span.error {
        string(&mut status, 2, message_text);
        varint_field(&mut status, 3, 2);
    }
    message(&mut out, 15, &status);
    out
}

fn key_value(key: &str, value: &Value) -> Vec<u8> {
    let mut any = Vec::new();
    match value {
        Value::Str(s) => string(&mut any, 1, s),
        Value::Bool(b) => varint_field(&mut any, 2, u64::from(*b)),
        // int64 on the wire: two's complement as a 64-bit varint.
        Value::Int(n) => varint_field(&mut any, 3, *n as u64),
    }
    let mut out = Vec::new();
    string(&mut out, 1, key);
    message(&mut out, 2, &any);
    out
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn varint_field(out: &mut Vec<u8>, field: u32, n: u64) {
    tag(out, field, 0);
    varint(out, n);
}

fn fixed64(out: &mut Vec<u8>, field: u32, n: u64) {
    tag(out, field, 1);
    out.extend_from_slice(&n.to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    tag(out, field, 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn string(out: &mut Vec<u8>, field: u32, text: &str) {
    bytes(out, field, text.as_bytes());
}

fn message(out: &mut Vec<u8>, field: u32, encoded: &[u8]) {
    bytes(out, field, encoded);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_fields_are_encoded_as_the_wire_format_says() {
        let mut out = Vec::new();
        varint_field(&mut out, 6, 300);
        assert_eq!(out, [0x30, 0xac, 0x02]);
        out.clear();
        string(&mut out, 5, "GET");
        assert_eq!(out, [0x2a, 3, b'G', b'E', b'T']);
        out.clear();
        fixed64(&mut out, 7, 1);
        assert_eq!(out, [0x39, 1, 0, 0, 0, 0, 0, 0, 0]);
        out.clear();
        varint_field(&mut out, 3, -1i64 as u64);
        assert_eq!(out.len(), 11, "a negative int64 takes ten bytes");
    }
}
