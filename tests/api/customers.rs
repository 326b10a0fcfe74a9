//! Creating customers: every refusal has its own code and writes nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, codes};

const CREATE: &str = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {
    customer { id email hasPassword reference metadata mode createdAt updatedAt }
    userErrors { field message code } } }";

async fn create(app: &TestApp, input: Value) -> Value {
    let body = app
        .gql(Some(&app.integration), CREATE, json!({ "input": input }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["createCustomer"].clone()
}

#[tokio::test]
async fn a_customer_is_created_with_its_fields() {
    let app = TestApp::spawn().await;
    let payload = create(
        &app,
        json!({ "email": " Ada@Example.com ", "password": "a good password", "reference": "crm-1", "metadata": { "tier": "gold" } }),
    )
    .await;
    let customer = &payload["customer"];
    assert_eq!(payload["userErrors"], json!([]));
    assert!(customer["id"].as_str().unwrap().starts_with("cus_"));
    assert_eq!(customer["email"], "Ada@Example.com");
    assert_eq!(customer["hasPassword"], true);
    assert_eq!(customer["reference"], "crm-1");
    assert_eq!(customer["metadata"], json!({ "tier": "gold" }));
    assert_eq!(customer["mode"], "TEST");

    let fetched = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customer(id: $id) { email } }",
            json!({ "id": customer["id"] }),
        )
        .await;
    assert_eq!(fetched["data"]["customer"]["email"], "Ada@Example.com");
}

#[tokio::test]
async fn emails_are_unique_per_mode_regardless_of_case() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let payload = create(&app, json!({ "email": "ADA@EXAMPLE.COM" })).await;
    assert_eq!(codes(&payload), ["EMAIL_TAKEN"]);
    assert_eq!(payload["userErrors"][0]["field"], json!(["input", "email"]));
    assert_eq!(app.customer_count().await, 1);
}

#[tokio::test]
async fn each_refused_field_has_its_own_code_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({ "email": "not an email" }), "INVALID_EMAIL"),
        (json!({ "email": "ada@" }), "INVALID_EMAIL"),
        (json!({ "email": "' OR 1=1 --" }), "INVALID_EMAIL"),
        (
            json!({ "email": "ada@example.com", "password": "short" }),
            "PASSWORD_TOO_SHORT",
        ),
        (
            json!({ "email": "ada@example.com", "password": "x".repeat(257) }),
            "PASSWORD_TOO_LONG",
        ),
        (
            json!({ "email": "ada@example.com", "metadata": [1, 2] }),
            "METADATA_NOT_OBJECT",
        ),
        (
            json!({ "email": "ada@example.com", "metadata": "text" }),
            "METADATA_NOT_OBJECT",
        ),
        (
            json!({ "email": "ada@example.com", "metadata": { "big": "x".repeat(17_000) } }),
            "METADATA_TOO_LARGE",
        ),
        (
            json!({ "email": "ada@example.com", "reference": "r".repeat(256) }),
            "REFERENCE_TOO_LONG",
        ),
    ];
    for (input, code) in cases {
        let payload = create(&app, input.clone()).await;
        assert_eq!(codes(&payload), [code], "{input:.80}");
        assert_eq!(payload["customer"], json!(null));
        assert!(
            !payload["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(app.customer_count().await, 0);

    // Several problems are reported together.
    let payload = create(
        &app,
        json!({ "email": "nope", "password": "short", "metadata": 3 }),
    )
    .await;
    assert_eq!(
        codes(&payload),
        ["INVALID_EMAIL", "PASSWORD_TOO_SHORT", "METADATA_NOT_OBJECT"]
    );
}

#[tokio::test]
async fn reset_requests_refuse_bad_input_with_codes() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let query = "mutation($input: CreateCustomerPasswordResetInput!) { createCustomerPasswordReset(input: $input) {
        customerPasswordReset { id } userErrors { field code } } }";
    // A sales channel may not set the back office's fields at all.
    for (key, merchant_field_code) in [
        (&app.integration, None),
        (&app.sales_channel, Some("FIELD_NOT_ALLOWED")),
    ] {
        for (input, code) in [
            (json!({ "customerEmail": "nope" }), "INVALID_EMAIL"),
            (
                json!({ "customerEmail": "ada@example.com", "metadata": [] }),
                merchant_field_code.unwrap_or("METADATA_NOT_OBJECT"),
            ),
            (
                json!({ "customerEmail": "ada@example.com", "reference": "r".repeat(300) }),
                merchant_field_code.unwrap_or("REFERENCE_TOO_LONG"),
            ),
        ] {
            let body = app.gql(Some(key), query, json!({ "input": input })).await;
            assert_eq!(
                codes(&body["data"]["createCustomerPasswordReset"]),
                [code],
                "{input:.60}"
            );
        }
    }
    let list = app
        .gql(
            Some(&app.integration),
            "{ customerPasswordResets { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["customerPasswordResets"]["totalCount"], 0);
}
