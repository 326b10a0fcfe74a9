//! OpenTelemetry traces from the binary, exported over OTLP/HTTP to a local
//! collector: one storefront reset, from the caller's request to the email
//! and the webhook call, then its completion.

use serde_json::{Value, json};

use super::{read_banner, start_server, terminate};
use crate::{helpers::TestDb, receiver::Receiver, smtp_sink::SmtpSink};

/// The caller's trace and span, as its own `traceparent` names them.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const EMAIL: &str = "traced.shopper@example.com";
const PASSWORD: &str = "a traced new passphrase";

/// Every span the collector received, from every batch (OTLP/JSON).
fn spans(collector: &Receiver) -> Vec<Value> {
    let mut spans = Vec::new();
    for call in collector.calls() {
        assert_eq!(call.header("content-type"), "application/json");
        let body = call.json();
        for resource in body["resourceSpans"].as_array().unwrap() {
            let attributes = &resource["resource"]["attributes"];
            assert_eq!(attribute(attributes, "service.name"), json!("shop-resets"));
            for scope in resource["scopeSpans"].as_array().unwrap() {
                spans.extend(scope["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    spans
}

/// The value of the attribute `key` in an OTLP attribute list: a string, or
/// an integer (OTLP/JSON writes 64-bit integers as strings).
fn attribute(list: &Value, key: &str) -> Value {
    let found = list.as_array().unwrap().iter().find(|a| a["key"] == key);
    let Some(value) = found.map(|a| &a["value"]) else {
        return Value::Null;
    };
    match (
        &value["stringValue"],
        &value["intValue"],
        &value["boolValue"],
    ) {
        (Value::String(s), _, _) => json!(s),
        (_, Value::String(n), _) => json!(n.parse::<i64>().unwrap()),
        (_, _, b) => b.clone(),
    }
}

/// The one span named `name`.
fn named<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = spans.iter().filter(|s| s["name"] == name).collect();
    let names: Vec<&Value> = spans.iter().map(|s| &s["name"]).collect();
    assert_eq!(found.len(), 1, "one {name:?} span among {names:?}");
    found[0]
}

/// The spans whose parent is `parent`.
fn children<'a>(spans: &'a [Value], parent: &Value) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["parentSpanId"] == parent["spanId"] && s["traceId"] == parent["traceId"])
        .collect()
}

/// Whether `span` links to `to`.
fn links_to(span: &Value, to: &Value) -> bool {
    span["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["traceId"] == to["traceId"] && l["spanId"] == to["spanId"])
}

/// Waits (polling, a few seconds at most) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test]
async fn one_reset_is_traced_from_the_callers_request_to_the_email_and_the_webhook() {
    let db = TestDb::sqlite_file();
    let collector = Receiver::start().await;
    let sink = SmtpSink::start().await;
    let hooks = Receiver::start().await;
    let smtp = sink.url();
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.url.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_SERVICE_NAME", "shop-resets"),
        ("TEST_SMTP_URL", smtp.as_str()),
        ("MAIL_FROM", "Shop <no-reply@shop.test>"),
        (
            "TEST_RESET_URL",
            "http://shop.test/reset?id={id}&token={token}",
        ),
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("WEBHOOK_POLL_INTERVAL_MS", "20"),
    ];
    let (child, stdout, url) = start_server(&db, &env).await;
    let (_stdout, keys) = read_banner(stdout).await;
    let client = reqwest::Client::new();
    let graphql = async |key: &str, operation: &str, query: &str| -> Value {
        let body = json!({ "query": query, "operationName": operation });
        let request = client.post(&url).bearer_auth(key).json(&body);
        let request = request.header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"));
        request.send().await.unwrap().json().await.unwrap()
    };
    let setup = format!(
        r#"mutation Setup {{
            createCustomer(input: {{ email: "{EMAIL}" }}) {{ userErrors {{ code }} }}
            createWebhook(input: {{ topic: CUSTOMER_PASSWORD_RESETS_CREATE, callbackUrl: "{}" }}) {{ userErrors {{ code }} }}
        }}"#,
        hooks.url
    );
    let done = graphql(&keys.integration, "Setup", &setup).await;
    assert_eq!(
        done["data"]["createWebhook"]["userErrors"],
        json!([]),
        "{done}"
    );
    let request = format!(
        r#"mutation RequestReset {{ createCustomerPasswordReset(input: {{ customerEmail: "{EMAIL}" }}) {{ userErrors {{ code }} }} }}"#
    );
    let asked = graphql(&keys.sales_channel, "RequestReset", &request).await;
    assert_eq!(
        asked["data"]["createCustomerPasswordReset"]["userErrors"],
        json!([]),
        "{asked}"
    );
    until("the email and the webhook call", || {
        sink.messages().len() == 1 && hooks.calls().len() == 1
    })
    .await;

    // The customer completes the reset over the JSON:API.
    let link = url::Url::parse(&sink.messages()[0].link()).unwrap();
    let param = |name: &str| {
        link.query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .into_owned()
    };
    let (id, token) = (param("id"), param("token"));
    let base = url.trim_end_matches("/graphql");
    let document = json!({ "data": { "type": "customer_password_resets", "id": id,
        "attributes": { "customer_password": PASSWORD, "_reset_password_token": token } } });
    let completed = client
        .patch(format!("{base}/api/customer_password_resets/{id}"))
        .bearer_auth(&keys.sales_channel)
        .header("content-type", "application/vnd.api+json")
        .header("accept", "application/vnd.api+json")
        .body(document.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        completed.status(),
        200,
        "{}",
        completed.text().await.unwrap()
    );
    until("the password-changed email", || sink.messages().len() == 2).await;
    // SIGTERM sends what is waiting before the process exits.
    terminate(child).await;
    let spans = spans(&collector);

    // The storefront's request continues the caller's trace...
    let server = spans
        .iter()
        .find(|s| {
            s["name"] == "POST /graphql"
                && children(&spans, s)
                    .iter()
                    .any(|c| c["name"] == "mutation RequestReset")
        })
        .expect("the request's span");
    assert_eq!(server["traceId"], CALLER_TRACE);
    assert_eq!(server["parentSpanId"], CALLER_SPAN);
    assert_eq!(server["kind"], 2, "SERVER");
    assert_eq!(
        attribute(&server["attributes"], "http.route"),
        json!("/graphql")
    );
    assert_eq!(
        attribute(&server["attributes"], "http.response.status_code"),
        json!(200)
    );
    // ...with its operation inside, and the operation's statements inside that.
    let operation = named(&spans, "mutation RequestReset");
    assert_eq!(
        attribute(&operation["attributes"], "graphql.operation.type"),
        json!("mutation")
    );
    let statements = children(&spans, operation);
    assert!(
        statements.iter().any(|s| s["name"] == "INSERT"
            && attribute(&s["attributes"], "db.query.text")
                .as_str()
                .unwrap()
                .contains("reset_requests")
            && attribute(&s["attributes"], "db.system.name") == json!("sqlite")),
        "the queued request's INSERT: {statements:?}"
    );

    // The job that processed the queued request starts a trace of its own,
    // linked to the operation that queued it; the email and the webhook
    // call link to that job.
    let job = named(&spans, "process storefront request");
    assert_ne!(job["traceId"], CALLER_TRACE);
    assert!(links_to(job, operation), "{job}");
    assert!(!children(&spans, job).is_empty(), "its statements");
    let email = |kind: &str| {
        let found = spans.iter().find(|s| {
            s["name"] == "send email"
                && attribute(&s["attributes"], "pwreset.email.kind") == json!(kind)
        });
        found.unwrap_or_else(|| panic!("a {kind} email's span"))
    };
    let email = email("reset");
    assert!(links_to(email, job), "{email}");
    assert_eq!(
        attribute(&email["attributes"], "pwreset.email.channel"),
        json!("smtp")
    );
    assert_eq!(
        attribute(&email["attributes"], "pwreset.email.outcome"),
        json!("sent")
    );
    let webhook = named(&spans, "deliver webhook");
    assert!(links_to(webhook, job), "{webhook}");
    assert_eq!(
        attribute(&webhook["attributes"], "http.response.status_code"),
        json!(200)
    );
    assert_eq!(
        attribute(&webhook["attributes"], "pwreset.webhook.topic"),
        json!("customer_password_resets.create")
    );

    // The completion: its JSON:API operation, and the password's hashing in it.
    let update = named(&spans, "customer_password_resets.update");
    let patch = spans
        .iter()
        .find(|s| s["spanId"] == update["parentSpanId"])
        .expect("the PATCH request's span");
    assert_eq!(patch["name"], "PATCH /api/customer_password_resets/{id}");
    let hashing: Vec<_> = children(&spans, update)
        .into_iter()
        .filter(|s| s["name"] == "argon2id hash")
        .collect();
    assert_eq!(hashing.len(), 1, "{:?}", children(&spans, update));
    let changed = spans.iter().find(|s| {
        s["name"] == "send email"
            && attribute(&s["attributes"], "pwreset.email.kind") == json!("password_changed")
    });
    assert!(links_to(
        changed.expect("the password-changed email's span"),
        update
    ));

    // No email address, token, password or key anywhere in what was exported.
    for call in collector.calls() {
        let body = String::from_utf8(call.body.to_vec()).unwrap();
        for secret in [
            EMAIL,
            &token,
            PASSWORD,
            &keys.integration,
            &keys.sales_channel,
        ] {
            assert!(!body.contains(secret), "an export holds {secret}");
        }
    }
}

#[tokio::test]
async fn traces_go_to_the_endpoints_v1_traces_as_protobuf_by_default() {
    let collector = Receiver::start().await;
    let endpoint = collector.url.trim_end_matches("/hook").to_owned();
    let db = TestDb::sqlite_file();
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
    let (child, _stdout, url) = start_server(&db, &env).await;
    let healthz = url.replace("/graphql", "/healthz");
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let client = reqwest::Client::new();
    let answer = client
        .get(&healthz)
        .header("traceparent", &traceparent)
        .send()
        .await;
    assert_eq!(answer.unwrap().status(), 200);
    terminate(child).await;
    let calls = collector.calls();
    assert!(
        !calls.is_empty(),
        "spans were posted to {endpoint}/v1/traces"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.header("content-type") == "application/x-protobuf")
    );
    // The request's span: its name and the caller's trace id, as bytes.
    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&CALLER_TRACE[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let holds = |needle: &[u8]| {
        calls
            .iter()
            .any(|c| c.body.windows(needle.len()).any(|w| w == needle))
    };
    assert!(holds(b"GET /healthz"));
    assert!(holds(&trace_id));
    assert!(holds(b"pwreset"), "the default service name");
}
