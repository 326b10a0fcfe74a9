//! Malformed requests get clear errors: never a 500, never SQL, a stack trace or a secret.

use serde_json::json;

use crate::helpers::TestApp;

/// Words that would betray SQL, a panic or internals in a response.
const LEAKS: [&str; 9] = [
    "SELECT",
    "INSERT",
    "UPDATE ",
    "sqlx",
    "sqlite",
    "postgres",
    "panicked",
    "RUST_BACKTRACE",
    "DbErr",
];

fn assert_no_leak(text: &str) {
    for word in LEAKS {
        assert!(!text.contains(word), "response leaks {word:?}: {text}");
    }
}

#[tokio::test]
async fn malformed_http_requests_get_clear_4xx_answers() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let cases: [(&str, &str, u16); 5] = [
        ("application/json", "{ not json", 400),
        ("application/json", "", 400),
        ("application/json", "[1, 2]", 400),
        ("text/plain", r#"{"query":"{ __typename }"}"#, 415),
        ("application/x-www-form-urlencoded", "query=x", 415),
    ];
    for (content_type, body, status) in cases {
        let response = client
            .post(app.url())
            .header("content-type", content_type)
            .bearer_auth(&app.integration)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{content_type} {body}");
        let text = response.text().await.unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(!parsed["errors"][0]["message"].as_str().unwrap().is_empty());
        assert_no_leak(&text);
    }
}

#[tokio::test]
async fn hostile_graphql_input_never_causes_a_server_error_or_a_leak() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let nasty = [
        "'; DROP TABLE customers; --",
        "ада@пример.рф",
        "\u{202e}evil@example.com",
        "cpr_' OR '1'='1",
        "cus_%",
        "%",
        "a@b.c\n\r",
        "",
    ];
    let queries = [
        "query($s: String!) { customerPasswordReset(id: $s) { id } }",
        "query($s: String!) { node(id: $s) { id } }",
        "query($s: String!) { customer(id: $s) { id } }",
        "query($s: String!) { customerPasswordResets(filter: { customerEmail: $s, reference: $s, ids: [$s], customerId: $s }) { totalCount } }",
        "query($s: String!) { customerPasswordResets(after: $s) { totalCount } }",
        "query($s: String!) { customers(filter: { email: $s }) { totalCount } }",
        "mutation($s: String!) { createCustomerPasswordReset(input: { customerEmail: $s, reference: $s }) { userErrors { code } } }",
        "mutation($s: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $s, customerPassword: $s }) { userErrors { code } } }",
        "mutation($s: String!) { createCustomer(input: { email: $s, reference: $s }) { userErrors { code } } }",
        "mutation($s: ID!) { deleteCustomerPasswordReset(input: { id: $s }) { userErrors { code } } }",
    ];
    for query in queries {
        for s in nasty {
            let response = app
                .post(
                    Some(&app.integration),
                    &json!({ "query": query, "variables": { "s": s } }),
                )
                .await;
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, 200, "{query} with {s:?}: {text}");
            assert_no_leak(&text);
            assert!(
                !text.contains("INTERNAL_SERVER_ERROR"),
                "{query} with {s:?}: {text}"
            );
        }
    }
    // The table survived, and no address with hidden characters got in.
    let body = app
        .gql(
            Some(&app.integration),
            "{ customers(sort: { field: EMAIL, direction: ASC }) { nodes { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["customers"]["nodes"],
        json!([{ "email": "a@b.c" }, { "email": "ada@example.com" }, { "email": "ада@пример.рф" }])
    );
}

#[tokio::test]
async fn nul_characters_are_refused_before_they_reach_the_database() {
    let app = TestApp::spawn().await;
    for body in [
        json!({ "query": "query($s: String) { customers(filter: { email: $s }) { totalCount } }", "variables": { "s": "a\u{0000}b" } }),
        json!({ "query": "{ customerPasswordResets(filter: { reference: \"a\\u0000b\" }) { totalCount } }" }),
        json!({ "query": "mutation($m: JSON) { createCustomer(input: { email: \"a@b.co\", metadata: $m }) { userErrors { code } } }",
                "variables": { "m": { "k": "\u{0000}" } } }),
    ] {
        let response = app.post(Some(&app.integration), &body).await;
        assert_eq!(response.status(), 400, "{body}");
        let text = response.text().await.unwrap();
        assert!(text.contains("NUL"), "{text}");
    }
    let body = app
        .gql(
            Some(&app.integration),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["customers"]["totalCount"], 0);
}

#[tokio::test]
async fn document_and_variable_errors_are_reported_without_executing() {
    let app = TestApp::spawn().await;
    for (query, variables) in [
        ("{ customers { ", json!({})),
        ("{ noSuchField }", json!({})),
        (
            "query($n: Int) { customers(first: $n) { totalCount } }",
            json!({ "n": "ten" }),
        ),
        (
            "mutation { createCustomer(input: {}) { userErrors { code } } }",
            json!({}),
        ),
    ] {
        let response = app
            .post(
                Some(&app.integration),
                &json!({ "query": query, "variables": variables }),
            )
            .await;
        assert!(response.status().is_success() || response.status().is_client_error());
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["errors"][0]["message"].as_str().is_some(),
            "{query}: {body}"
        );
        assert_no_leak(&body.to_string());
    }
    let body = app
        .gql(
            Some(&app.integration),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["customers"]["totalCount"], 0);
}

/// A stored value the server does not know (a row written by hand, or by a
/// newer version) is an error, never read as some other value: the audit
/// trail once showed an unknown outcome as `REJECTED`, and a webhook listing
/// would show an unknown mode as test mode.
#[tokio::test]
async fn an_unknown_stored_value_is_an_error_not_a_default() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    app.create_reset("ada@example.com").await;
    let audit = "{ passwordResetAuditEvents { nodes { action outcome } } }";
    let before = app.gql(Some(&app.integration), audit, json!({})).await;
    assert_eq!(
        before["data"]["passwordResetAuditEvents"]["nodes"][0]["outcome"], "CREATED",
        "{before}"
    );
    app.db
        .execute_unprepared("UPDATE reset_audit_events SET outcome = 'escalated'")
        .await
        .unwrap();
    let after = app.gql(Some(&app.integration), audit, json!({})).await;
    assert_eq!(after["data"], serde_json::Value::Null, "{after}");
    assert_eq!(
        after["errors"][0]["extensions"]["code"],
        "INTERNAL_SERVER_ERROR"
    );
    assert_no_leak(&after.to_string());
    assert!(!after.to_string().contains("escalated"), "{after}");
}
