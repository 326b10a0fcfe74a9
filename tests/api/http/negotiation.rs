//! Media types, status codes and methods.

use serde_json::{Value, json};

use super::{GRAPHQL_RESPONSE, JSON, post, send};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_response_type_follows_accept() {
    let app = TestApp::spawn().await;
    let query = r#"{"query":"{ __typename }"}"#;
    for (accept, expected) in [
        (None, JSON),
        (Some("*/*"), JSON),
        (Some("application/*"), JSON),
        (Some("application/graphql-response+json"), GRAPHQL_RESPONSE),
        (Some("application/json"), JSON),
        (
            Some("application/json, application/graphql-response+json"),
            GRAPHQL_RESPONSE,
        ),
        (
            Some("application/json;q=0.9, application/graphql-response+json;q=0.5"),
            JSON,
        ),
        (Some("text/html, application/json;q=0.8"), JSON),
    ] {
        let answer = send(post(&app, accept, query)).await;
        assert_eq!(answer.status, 200, "{accept:?}");
        assert_eq!(answer.content_type, expected, "{accept:?}");
        assert_eq!(answer.body["data"]["__typename"], "Query");
    }
    for accept in ["text/plain", "application/xml", "application/json;q=0"] {
        let answer = send(post(&app, Some(accept), query)).await;
        assert_eq!(answer.status, 406, "{accept}");
    }
}

#[tokio::test]
async fn request_errors_get_400_a_code_and_no_data_while_field_errors_keep_200() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            r#"{"query": "{ __typename "#,
            "BAD_REQUEST",
            "unparseable JSON",
        ),
        (
            r#"{"query": "{ customers { "}"#,
            "GRAPHQL_PARSE_FAILED",
            "document syntax error",
        ),
        (r#"{"operationName": "x"}"#, "BAD_REQUEST", "missing query"),
        (
            r#"{"query": "{ noSuchField }"}"#,
            "GRAPHQL_VALIDATION_FAILED",
            "validation error",
        ),
        (
            r#"{"query": "{ customers(first: \"ten\") { totalCount } }"}"#,
            "GRAPHQL_VALIDATION_FAILED",
            "a literal of the wrong type",
        ),
        (
            r#"{"query": "query($n: Int) { customers(first: $n) { totalCount } }", "variables": {"n": "ten"}}"#,
            "BAD_USER_INPUT",
            "variable coercion",
        ),
        (
            r#"{"query": "query($n: Int!) { customers(first: $n) { totalCount } }"}"#,
            "BAD_USER_INPUT",
            "missing variable",
        ),
    ];
    for (body, code, what) in cases {
        let answer = send(post(&app, Some(GRAPHQL_RESPONSE), body)).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        assert_eq!(answer.content_type, GRAPHQL_RESPONSE, "{what}");
        let codes = crate::helpers::error_codes(&answer.body);
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == code),
            "{what}: {}",
            answer.body
        );
        assert!(
            answer.body.get("data").is_none(),
            "{what}: no data on request errors"
        );
        assert!(
            !answer.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .is_empty(),
            "{what}"
        );
    }
    // A field error (a page too large) is not a request error.
    let answer = send(post(
        &app,
        None,
        r#"{"query": "{ customers(first: 1000) { totalCount } }"}"#,
    ))
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"], Value::Null);
    assert_eq!(answer.body["errors"][0]["path"], json!(["customers"]));

    // `application/json` clients get 200 for GraphQL-level request errors,
    // with the same codes and, as the GraphQL specification says, no `data`.
    for (body, code) in [
        (r#"{"query": "{ customers { "}"#, "GRAPHQL_PARSE_FAILED"),
        (
            r#"{"query": "{ noSuchField }"}"#,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            r#"{"query": "query($n: Int) { customers(first: $n) { totalCount } }", "variables": {"n": "ten"}}"#,
            "BAD_USER_INPUT",
        ),
    ] {
        let answer = send(post(&app, Some("application/json"), body)).await;
        assert_eq!(answer.status, 200, "{body}");
        let codes = crate::helpers::error_codes(&answer.body);
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == code),
            "{body}: {codes:?}"
        );
        assert!(answer.body.get("data").is_none(), "{body}: {}", answer.body);
    }
}

#[tokio::test]
async fn a_post_must_be_json() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let body = r#"{"query":"{ __typename }"}"#;
    let missing = send(client.post(app.url()).body(body)).await;
    assert_eq!(missing.status, 415);
    for content_type in [
        "text/plain",
        "application/graphql",
        "application/json; charset=latin1",
    ] {
        let answer = send(
            client
                .post(app.url())
                .header("content-type", content_type)
                .body(body),
        )
        .await;
        assert_eq!(answer.status, 415, "{content_type}");
        assert!(
            answer.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
    }
    let ok = send(
        client
            .post(app.url())
            .header("content-type", "application/json; charset=UTF-8")
            .body(body),
    )
    .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn queries_work_over_get_but_mutations_are_refused_unexecuted() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let get = |params: Vec<(&'static str, String)>| {
        client
            .get(app.url())
            .bearer_auth(&app.integration)
            .query(&params)
    };

    let answer = send(get(vec![
        (
            "query",
            "query Count($first: Int) { customers(first: $first) { totalCount } }".into(),
        ),
        ("operationName", "Count".into()),
        ("variables", r#"{"first": 5}"#.into()),
    ]))
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["data"]["customers"]["totalCount"], 0);

    let mutation =
        r#"mutation { createCustomer(input: { email: "get@example.com" }) { customer { id } } }"#;
    let answer = send(get(vec![("query", mutation.into())])).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "POST");
    let named = "query Q { __typename } mutation M { createCustomer(input: { email: \"get@example.com\" }) { customer { id } } }";
    let answer = send(get(vec![
        ("query", named.into()),
        ("operationName", "M".into()),
    ]))
    .await;
    assert_eq!(answer.status, 405);
    assert_eq!(app.customer_count().await, 0, "the mutation did not run");

    let answer = send(get(vec![
        ("query", "{ __typename }".into()),
        ("variables", "{not json".into()),
    ]))
    .await;
    assert_eq!(answer.status, 400);
}
