//! Persisted queries as an attacker would try them: nothing is stored for an
//! anonymous caller or for a document that does not parse and validate; the
//! store is bounded, least recently used first; GET query strings obey the
//! body's size limit.

use pwreset::{HttpSettings, entity::persisted_query, service::persisted_queries::StoreBounds};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use super::send;
use crate::helpers::{Options, TestApp};

fn sha256_hex(text: &str) -> String {
    pwreset::domain::digest(text)
}

/// POSTs `query` with its hash, as `key` (or anonymously); the HTTP status.
async fn register(app: &TestApp, key: Option<&str>, query: &str) -> u16 {
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } });
    let body = json!({ "query": query, "extensions": extensions });
    app.post(key, &body).await.status().as_u16()
}

/// Runs the document registered for `query`'s hash; the response body.
async fn by_hash(app: &TestApp, query: &str) -> Value {
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } });
    let response = app
        .post(Some(&app.integration), &json!({ "extensions": extensions }))
        .await;
    response.json().await.unwrap()
}

async fn stored(app: &TestApp) -> Vec<String> {
    persisted_query::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.query)
        .collect()
}

#[tokio::test]
async fn only_an_authenticated_caller_registers_and_only_a_valid_document() {
    let app = TestApp::spawn().await;
    let junk = format!("# {}", "x".repeat(2048));
    register(&app, None, &junk).await;
    register(&app, None, "{ customers { totalCount } }").await;
    register(&app, Some(&app.integration), "{ customers { totalCount ").await;
    register(&app, Some(&app.integration), "{ customerz { totalCount } }").await;
    register(
        &app,
        Some("pwr_test_int_unknown"),
        "{ customers { totalCount } }",
    )
    .await;
    assert_eq!(stored(&app).await, Vec::<String>::new(), "nothing stored");

    let good = "{ customers { totalCount } }";
    assert_eq!(register(&app, Some(&app.sales_channel), good).await, 200);
    assert_eq!(
        stored(&app).await,
        [good],
        "a valid document from a valid key"
    );
}

#[tokio::test]
async fn the_store_is_bounded_and_forgets_the_least_recently_used_first() {
    let app = TestApp::spawn_with(Options::with_http(HttpSettings {
        persisted_queries: StoreBounds {
            max_count: 3,
            max_bytes: 1_000,
        },
        ..HttpSettings::default()
    }))
    .await;
    let query = |n: usize| format!("query Q{n} {{ customers {{ totalCount }} }}");
    for n in 1..=3 {
        register(&app, Some(&app.integration), &query(n)).await;
        app.clock.advance(chrono::Duration::minutes(2));
    }
    // The oldest is used again, so the second becomes the least recent.
    assert_eq!(
        by_hash(&app, &query(1)).await["data"]["customers"]["totalCount"],
        0
    );
    app.clock.advance(chrono::Duration::minutes(2));
    register(&app, Some(&app.integration), &query(4)).await;
    let mut kept = stored(&app).await;
    kept.sort();
    assert_eq!(kept, [query(1), query(3), query(4)]);
    assert_eq!(
        by_hash(&app, &query(2)).await["errors"][0]["message"],
        "PersistedQueryNotFound"
    );

    // Bytes count too: one large document pushes the others out.
    app.clock.advance(chrono::Duration::minutes(2));
    let large = format!(
        "query Large {{ customers {{ totalCount }} }} # {}",
        "x".repeat(926)
    );
    assert!((963..1_000).contains(&large.len()), "{}", large.len());
    register(&app, Some(&app.integration), &large).await;
    assert_eq!(stored(&app).await, [large]);
    let count = persisted_query::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_get_query_string_obeys_the_body_limit() {
    let app = TestApp::spawn_with(Options::with_http(HttpSettings {
        body_limit: 1_024,
        ..HttpSettings::default()
    }))
    .await;
    let long = format!("{{ __typename }} # {}", "x".repeat(2_000));
    let answer = send(
        reqwest::Client::new()
            .get(app.url())
            .bearer_auth(&app.integration)
            .query(&[("query", long)]),
    )
    .await;
    assert_eq!(answer.status, 414);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "URI_TOO_LONG"
    );
    let short = send(
        reqwest::Client::new()
            .get(app.url())
            .bearer_auth(&app.integration)
            .query(&[("query", "{ __typename }")]),
    )
    .await;
    assert_eq!(short.status, 200);
}

#[tokio::test]
async fn a_persisted_querys_name_labels_metrics_and_an_unknown_name_does_not() {
    let app = TestApp::spawn().await;
    let query = "query CountCustomers { customers { totalCount } }";
    register(&app, Some(&app.integration), query).await; // sent in full: not yet known
    by_hash(&app, query).await; // from the store: known
    let metrics = app.metrics().await;
    let label = |name: &str| {
        format!("pwreset_graphql_requests_total{{operation=\"{name}\",outcome=\"Ok\"}} 1")
    };
    assert!(metrics.contains(&label("CountCustomers")), "{metrics}");
    assert!(metrics.contains(&label("other")), "{metrics}");
}

/// Runs the document registered for `query`'s hash as `key`.
async fn by_hash_as(app: &TestApp, key: &str, query: &str) {
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } });
    let response = app
        .post(Some(key), &json!({ "extensions": extensions }))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn names_the_operator_lists_keep_their_label_and_storefront_names_take_none() {
    let app = TestApp::spawn_with(Options::with_http(HttpSettings {
        metrics_operations: vec!["ListResets".into()],
        ..HttpSettings::default()
    }))
    .await;
    // The public key persists and runs named queries: none takes a label.
    for n in 0..5 {
        let query = format!("query ShopperQ{n} {{ __typename }}");
        register(&app, Some(&app.sales_channel), &query).await;
        by_hash_as(&app, &app.sales_channel, &query).await;
    }
    // Integration names use up the label budget...
    for n in 0..110 {
        let query = format!("query Back{n} {{ __typename }}");
        register(&app, Some(&app.integration), &query).await;
        by_hash_as(&app, &app.integration, &query).await;
    }
    // ...and the name the operator listed still has its own.
    let listed = "query ListResets { customerPasswordResets { totalCount } }";
    app.gql(Some(&app.integration), listed, json!({})).await;
    let metrics = app.metrics().await;
    assert!(!metrics.contains("ShopperQ"), "{metrics}");
    assert!(
        metrics
            .contains(r#"pwreset_graphql_requests_total{operation="ListResets",outcome="Ok"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"operation="Back0""#),
        "integration names are labelled"
    );
}

#[tokio::test]
async fn a_document_writing_a_secret_as_a_literal_is_refused_as_a_persisted_query() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    let password = "literal-pass-7Kq";
    let written = |fragment: bool| {
        let input = format!(
            r#"completeCustomerPasswordReset(input: {{ resetPasswordToken: "{token}", customerPassword: "{password}" }}) {{ userErrors {{ code }} }}"#
        );
        if fragment {
            format!("mutation {{ ...F }} fragment F on Mutation {{ {input} }}")
        } else {
            format!("mutation {{ {input} }}")
        }
    };
    for query in [written(false), written(true)] {
        let extensions =
            json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(&query) } });
        let response = app
            .post(
                Some(&app.sales_channel),
                &json!({ "query": query, "extensions": extensions }),
            )
            .await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "PERSISTED_QUERY_INVALID"
        );
        assert!(
            body.get("data").is_none_or(Value::is_null),
            "not executed: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("resetPasswordToken") && message.contains("variables"),
            "{message}"
        );
    }
    // A one-time code is a secret too.
    let query = r#"mutation($p: String!) { completeCustomerPasswordReset(input: { customerEmail: "ada@example.com", code: "90817263", customerPassword: $p }) { userErrors { code } } }"#;
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } });
    let body: Value = app
        .post(
            Some(&app.sales_channel),
            &json!({ "query": query, "variables": { "p": password }, "extensions": extensions }),
        )
        .await
        .json()
        .await
        .unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("code"), "{body}");
    let dump = app.dump_database().await;
    assert!(
        !dump.contains(&token) && !dump.contains(password) && !dump.contains("90817263"),
        "a secret was stored"
    );
    assert_eq!(stored(&app).await, Vec::<String>::new());
    // Nothing ran: the token still completes the reset, and a persisted
    // document that takes its secrets as variables is stored as usual.
    let with_variables = "mutation($input: CompleteCustomerPasswordResetInput!) { completeCustomerPasswordReset(input: $input) { userErrors { code } } }";
    let extensions =
        json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(with_variables) } });
    let variables =
        json!({ "input": { "resetPasswordToken": token, "customerPassword": password } });
    let body: Value = app
        .post(
            Some(&app.sales_channel),
            &json!({ "query": with_variables, "variables": variables, "extensions": extensions }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["completeCustomerPasswordReset"]["userErrors"],
        json!([]),
        "{body}"
    );
    assert_eq!(stored(&app).await, [with_variables]);
    let dump = app.dump_database().await;
    assert!(!dump.contains(&token) && !dump.contains(password));
}
