//! The schema: the committed SDL, documentation, and GraphQL null propagation.

use pwreset::domain::Topic;
use serde_json::json;

use crate::helpers::{TestApp, docs, error_codes};

#[test]
fn the_committed_schema_graphql_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("print-schema")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed, pwreset::graphql::sdl());
    assert!(
        committed == printed,
        "schema.graphql is out of date: regenerate it with `cargo run -- print-schema > schema.graphql` and commit it"
    );
}

#[tokio::test]
async fn every_type_field_argument_and_enum_value_is_documented() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            "{ __schema { types { name description
                fields { name description args { name description } }
                inputFields { name description }
                enumValues { name description } } } }",
            json!({}),
        )
        .await;
    let mut missing = Vec::new();
    let documented = |v: &serde_json::Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    for ty in body["data"]["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        let builtin =
            name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name);
        if builtin {
            continue;
        }
        if !documented(ty) {
            missing.push(name.to_owned());
        }
        for list in ["fields", "inputFields", "enumValues"] {
            for member in ty[list].as_array().into_iter().flatten() {
                if !documented(member) {
                    missing.push(format!("{name}.{}", member["name"]));
                }
                for arg in member["args"].as_array().into_iter().flatten() {
                    if !documented(arg) {
                        missing.push(format!("{name}.{}({})", member["name"], arg["name"]));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// async-graphql 7.1.0 to 7.2.1 drop a failing non-null field from its object
/// instead of nulling the parent, against the GraphQL spec. This fails if an
/// upgrade brings that back.
#[tokio::test]
async fn a_failing_non_null_field_nulls_its_nullable_parent() {
    let app = TestApp::spawn().await;
    let customer = app.create_customer("ada@example.com", None).await;
    // `passwordResets` is non-null and fails (page too large), so `customer`,
    // the nearest nullable parent, must become null; its sibling stays.
    let body = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customer(id: $id) { email passwordResets(first: 1000) { totalCount } } customers { totalCount } }",
            json!({ "id": customer }),
        )
        .await;
    assert_eq!(body["data"]["customer"], json!(null), "{body}");
    assert_eq!(body["data"]["customers"]["totalCount"], 1);
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    assert_eq!(
        body["errors"][0]["path"],
        json!(["customer", "passwordResets"])
    );
}

/// What a code generator reads: each custom scalar says what it holds, and
/// `DateTime` points at its specification.
#[tokio::test]
async fn custom_scalars_are_described_for_code_generators() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            r#"{ dateTime: __type(name: "DateTime") { description specifiedByURL }
                 json: __type(name: "JSON") { description specifiedByURL } }"#,
            json!({}),
        )
        .await;
    let date_time = &body["data"]["dateTime"];
    assert_eq!(
        date_time["specifiedByURL"],
        "https://datatracker.ietf.org/doc/html/rfc3339"
    );
    let description = date_time["description"].as_str().unwrap();
    assert!(description.contains("RFC 3339"), "{description}");
    assert!(!description.contains("Implement"), "{description}");
    let json_description = body["data"]["json"]["description"].as_str().unwrap();
    assert!(
        json_description.contains("not as a string"),
        "{json_description}"
    );
    let sdl = pwreset::graphql::sdl();
    assert!(
        sdl.contains(
            r#"scalar DateTime @specifiedBy(url: "https://datatracker.ietf.org/doc/html/rfc3339")"#
        ),
        "the printed schema carries @specifiedBy"
    );
    // And a DateTime the server sends is what the description promises.
    app.create_customer("ada@example.com", None).await;
    let listed = app
        .gql(
            Some(&app.integration),
            "{ customers { nodes { createdAt } } }",
            json!({}),
        )
        .await;
    let created = listed["data"]["customers"]["nodes"][0]["createdAt"]
        .as_str()
        .unwrap();
    assert!(created.ends_with("+00:00"), "{created}");
    chrono::DateTime::parse_from_rfc3339(created).unwrap();
}

/// Introspection lists every webhook topic, each with its Commerce Layer name.
#[tokio::test]
async fn webhook_topics_are_an_enum_naming_each_wire_topic() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            r#"{ __type(name: "WebhookTopic") { kind enumValues { name description } } }"#,
            json!({}),
        )
        .await;
    let topic = &body["data"]["__type"];
    assert_eq!(topic["kind"], "ENUM");
    let values: Vec<(String, String)> = topic["enumValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let wire = <Topic as strum::VariantArray>::VARIANTS;
    assert_eq!(values.len(), wire.len(), "{values:?}");
    for name in wire.iter().map(|topic| topic.as_str()) {
        let value = name.to_uppercase().replace('.', "_");
        let (_, description) = values
            .iter()
            .find(|(v, _)| *v == value)
            .unwrap_or_else(|| panic!("{value} is missing"));
        assert!(
            description.starts_with(&format!("`{name}`")),
            "{description}"
        );
    }
}

/// Relay refetches any object with an id through `node(id:)`; the other
/// mode's key gets null.
#[tokio::test]
async fn webhooks_and_audit_events_are_nodes() {
    let app = TestApp::spawn().await;
    let (webhook, _) = app
        .subscribe("customers.create", "https://hooks.example.com/a", false)
        .await;
    app.create_customer("ada@example.com", None).await;
    app.create_reset("ada@example.com").await;
    let audit = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents(first: 1) { nodes { id action } } }",
            json!({}),
        )
        .await;
    let event = audit["data"]["passwordResetAuditEvents"]["nodes"][0].clone();
    let event_id = event["id"].as_str().unwrap().to_owned();

    const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id
        ... on Webhook { topic callbackUrl }
        ... on PasswordResetAuditEvent { action } } }";
    async fn node(app: &TestApp, key: &str, id: &str) -> serde_json::Value {
        app.gql(Some(key), NODE, json!({ "id": id })).await["data"]["node"].clone()
    }
    assert_eq!(
        node(&app, &app.integration, &webhook).await,
        json!({ "__typename": "Webhook", "id": webhook, "topic": "CUSTOMERS_CREATE",
                "callbackUrl": "https://hooks.example.com/a" })
    );
    assert_eq!(
        node(&app, &app.integration, &event_id).await,
        json!({ "__typename": "PasswordResetAuditEvent", "id": event_id, "action": event["action"] })
    );
    for id in [webhook, event_id] {
        assert_eq!(node(&app, &app.live_integration, &id).await, json!(null));
    }
}

/// Tools that fetch a schema by URL get the committed SDL, with no key and
/// with introspection off, and a 304 for a version they already have.
#[tokio::test]
async fn the_schema_is_served_as_sdl_even_with_introspection_off() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let app = TestApp::spawn_with(crate::helpers::Options::with_http(pwreset::HttpSettings {
        graphql: pwreset::graphql::GraphqlSettings {
            introspection: false,
            ..Default::default()
        },
        ..Default::default()
    }))
    .await;
    let url = format!("http://{}/graphql/schema.graphql", app.addr);
    let client = reqwest::Client::new();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let etag = response.headers()["etag"].clone();
    assert_eq!(response.text().await.unwrap(), committed);

    let again = client
        .get(&url)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag);
    let stale = client
        .get(&url)
        .header("if-none-match", "\"an-older-schema\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}

/// A client can switch on every code it can receive: the docs' Errors section
/// names each `extensions.code`, and its table of `UserErrorCode`s is the
/// enum's own values and descriptions (`UPDATE_DOCS=1` rewrites it).
#[tokio::test]
async fn the_docs_list_every_error_code() {
    let docs = docs();
    let section = docs.section("docs/api.md", "## Errors");
    let missing: Vec<&str> = <pwreset::graphql::ErrorCode as strum::VariantArray>::VARIANTS
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !section.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "the docs' Errors section misses {missing:?}"
    );

    let app = TestApp::spawn().await;
    let body = app
        .gql(
            None,
            r#"{ __type(name: "UserErrorCode") { enumValues(includeDeprecated: true) { name description deprecationReason } } }"#,
            json!({}),
        )
        .await;
    let mut table = String::from("| `code` | meaning |\n|---|---|\n");
    for value in body["data"]["__type"]["enumValues"].as_array().unwrap() {
        let one_line = |text: &serde_json::Value| {
            text.as_str()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut meaning = one_line(&value["description"]).replace('|', "\\|");
        if !value["deprecationReason"].is_null() {
            meaning = format!(
                "Deprecated: {}. {meaning}",
                one_line(&value["deprecationReason"])
            );
        }
        table.push_str(&format!(
            "| `{}` | {meaning} |\n",
            value["name"].as_str().unwrap()
        ));
    }
    let written = docs.generated("docs/api.md", "user-error-codes", &table);
    assert_eq!(
        written, table,
        "docs/api.md's UserErrorCode table is out of date: UPDATE_DOCS=1 cargo test the_docs_list"
    );
}
