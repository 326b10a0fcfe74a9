//! Who may do what: keys, roles, modes, and the sales channel's silence about accounts.

use pwreset::service::api_keys;
use serde_json::json;

use crate::helpers::{TestApp, codes, error_codes, start_time};

const CREATE_CUSTOMER: &str = r#"mutation { createCustomer(input: { email: "eve@example.com" }) { customer { id } userErrors { code } } }"#;

#[tokio::test]
async fn requests_without_a_valid_key_are_unauthenticated_and_change_nothing() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let body = json!({ "query": CREATE_CUSTOMER });
    let headers: [Option<&str>; 5] = [
        None,
        Some("Bearer pwr_test_int_unknown"),
        Some("Bearer "),
        Some("Basic dXNlcjpwYXNz"),
        Some(app.integration.as_str()), // the key without its scheme
    ];
    for header in headers {
        let mut request = client.post(app.url()).json(&body);
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let response: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(
            error_codes(&response),
            ["UNAUTHENTICATED"],
            "{header:?}: {response}"
        );
        assert_eq!(response["data"], json!(null));
    }
    assert_eq!(app.customer_count().await, 0);
}

#[tokio::test]
async fn a_revoked_key_stops_working_within_the_key_cache_ttl() {
    let app = TestApp::spawn().await;
    let (info, secret) = api_keys::create(
        &app.db,
        pwreset::domain::Role::Integration,
        pwreset::domain::Mode::Test,
        "temp",
        start_time(),
    )
    .await
    .unwrap();
    let before = app
        .gql(
            Some(secret.expose()),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert!(before.get("errors").is_none(), "{before}");

    // Revoked from another process (the `api-key revoke` command).
    api_keys::revoke(&app.db, &info.id, start_time())
        .await
        .unwrap()
        .unwrap();
    let count = || {
        app.gql(
            Some(secret.expose()),
            "{ customers { totalCount } }",
            json!({}),
        )
    };
    // A process that verified the key a moment ago trusts it for the TTL
    // (API_KEY_CACHE_TTL_MS, 5 s)...
    app.clock.advance(chrono::Duration::milliseconds(4_900));
    assert!(count().await.get("errors").is_none());
    // ...and not a moment longer.
    app.clock.advance(chrono::Duration::milliseconds(100));
    assert_eq!(error_codes(&count().await), ["UNAUTHENTICATED"]);
    // A process that had not verified it refuses it at once.
    let other = app.second_process().await;
    let refused = other
        .gql(
            Some(secret.expose()),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&refused), ["UNAUTHENTICATED"]);
}

#[tokio::test]
async fn sales_channel_keys_may_not_read_or_manage_resets_or_customers() {
    let app = TestApp::spawn().await;
    let customer = app.create_customer("ada@example.com", None).await;
    let (reset, _) = app.create_reset("ada@example.com").await;
    let forbidden = [
        "query($reset: ID!) { customerPasswordReset(id: $reset) { id } }",
        "{ customerPasswordResets { totalCount } }",
        "query($reset: ID!) { node(id: $reset) { id } }",
        "query($customer: ID!) { customer(id: $customer) { id } }",
        "{ customers { totalCount } }",
        CREATE_CUSTOMER,
        "mutation($reset: ID!) { updateCustomerPasswordReset(input: { id: $reset, reference: \"x\" }) { userErrors { code } } }",
        "mutation($reset: ID!) { deleteCustomerPasswordReset(input: { id: $reset }) { userErrors { code } } }",
    ];
    for query in forbidden {
        let body = app
            .gql(
                Some(&app.sales_channel),
                query,
                json!({ "reset": reset, "customer": customer }),
            )
            .await;
        assert_eq!(error_codes(&body), ["FORBIDDEN"], "{query}: {body}");
        assert_eq!(body["data"], json!(null), "{query}");
    }
    // Nothing was created, changed or deleted.
    assert_eq!(app.customer_count().await, 1);
    let reset = app.reset(&reset).await;
    assert_eq!(reset["reference"], json!(null));
    assert_eq!(reset["status"], "PENDING");
}

#[tokio::test]
async fn a_sales_channel_create_answers_the_same_for_known_and_unknown_emails() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let query = "mutation($email: String!) { createCustomerPasswordReset(input: { customerEmail: $email }) {
        customerPasswordReset { id resetPasswordToken } userErrors { field message code } } }";
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let response = app
            .post(
                Some(&app.sales_channel),
                &json!({ "query": query, "variables": { "email": email } }),
            )
            .await;
        let status = response.status();
        let headers: Vec<_> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != "date" && *name != "x-request-id")
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        let body = response.text().await.unwrap();
        answers.push((status, headers, body));
    }
    assert_eq!(
        answers[0], answers[1],
        "known and unknown emails must be indistinguishable"
    );
    let body: serde_json::Value = serde_json::from_str(&answers[0].2).unwrap();
    assert_eq!(
        body["data"]["createCustomerPasswordReset"],
        json!({ "customerPasswordReset": null, "userErrors": [] })
    );

    // Yet the known customer really gets a reset, once the queue is processed.
    app.run_jobs().await;
    let list = app
        .gql(
            Some(&app.integration),
            "{ customerPasswordResets { nodes { customerEmail status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["data"]["customerPasswordResets"]["nodes"],
        json!([{ "customerEmail": "ada@example.com", "status": "PENDING" }])
    );
}

#[tokio::test]
async fn an_integration_create_for_an_unknown_email_says_customer_not_found() {
    let app = TestApp::spawn().await;
    let body = app
        .create_reset_raw(&app.integration, "nobody@example.com")
        .await;
    let payload = &body["data"]["createCustomerPasswordReset"];
    assert_eq!(codes(payload), ["CUSTOMER_NOT_FOUND"]);
    assert_eq!(
        payload["userErrors"][0]["field"],
        json!(["input", "customerEmail"])
    );
    assert_eq!(payload["customerPasswordReset"], json!(null));
}

#[tokio::test]
async fn modes_never_mix() {
    let app = TestApp::spawn().await;
    let customer = app.create_customer("ada@example.com", None).await;
    let (reset, token) = app.create_reset("ada@example.com").await;
    let live = app.live_integration.as_str();

    let read = app
        .gql(
            Some(live),
            "query($reset: ID!, $customer: ID!) {
                customerPasswordReset(id: $reset) { id }
                node(id: $reset) { id }
                customer(id: $customer) { id }
                customerPasswordResets { totalCount nodes { id } }
                customers { totalCount } }",
            json!({ "reset": reset, "customer": customer }),
        )
        .await;
    assert_eq!(
        read["data"],
        json!({
            "customerPasswordReset": null, "node": null, "customer": null,
            "customerPasswordResets": { "totalCount": 0, "nodes": [] },
            "customers": { "totalCount": 0 }
        })
    );

    // A live key cannot start, complete, change or delete a test-mode reset.
    assert_eq!(
        codes(
            &app.create_reset_raw(live, "ada@example.com").await["data"]["createCustomerPasswordReset"]
        ),
        ["CUSTOMER_NOT_FOUND"]
    );
    assert_eq!(
        codes(
            &app.complete(&app.live_sales_channel, &token, "a new password")
                .await
        ),
        ["TOKEN_INVALID"]
    );
    let update = app
        .gql(
            Some(live),
            "mutation($id: ID!) { updateCustomerPasswordReset(input: { id: $id, reference: \"x\" }) { userErrors { code } } }",
            json!({ "id": reset }),
        )
        .await;
    assert_eq!(
        codes(&update["data"]["updateCustomerPasswordReset"]),
        ["NOT_FOUND"]
    );
    let delete = app
        .gql(
            Some(live),
            "mutation($id: ID!) { deleteCustomerPasswordReset(input: { id: $id }) { userErrors { code } } }",
            json!({ "id": reset }),
        )
        .await;
    assert_eq!(
        codes(&delete["data"]["deleteCustomerPasswordReset"]),
        ["NOT_FOUND"]
    );
    assert_eq!(app.reset(&reset).await["status"], "PENDING");

    // The same email may belong to a customer in each mode; each sees its own.
    let live_customer = app
        .gql(
            Some(live),
            r#"mutation { createCustomer(input: { email: "ADA@example.com" }) { customer { id mode } userErrors { code } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        live_customer["data"]["createCustomer"]["customer"]["mode"],
        "LIVE"
    );
    let (live_reset, _) = app.create_reset_with(live, "ada@example.com").await;
    assert_eq!(
        app.reset(&reset).await["status"],
        "PENDING",
        "a live reset does not supersede a test one"
    );
    assert_eq!(app.reset(&live_reset).await, json!(null));
}
