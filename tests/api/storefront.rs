//! The public path as an attacker holding the storefront key sees it: what
//! it can learn, what it can write, whom it can lock out.

use serde_json::json;

use crate::helpers::{TestApp, codes, error_codes};

#[tokio::test]
async fn a_storefront_cannot_set_the_fields_a_mailer_reads() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let planted = "mutation { createCustomerPasswordReset(input: { customerEmail: \"ada@example.com\",
        reference: \"crm-1\", referenceOrigin: \"crm\", metadata: { returnUrl: \"https://evil.example\" } }) {
        customerPasswordReset { id } userErrors { field code } } }";
    let body = app.gql(Some(&app.sales_channel), planted, json!({})).await;
    let payload = &body["data"]["createCustomerPasswordReset"];
    assert_eq!(
        codes(payload),
        [
            "FIELD_NOT_ALLOWED",
            "FIELD_NOT_ALLOWED",
            "FIELD_NOT_ALLOWED"
        ]
    );
    assert_eq!(
        payload["userErrors"][2]["field"],
        json!(["input", "metadata"])
    );
    app.run_jobs().await;
    let resets = app
        .gql(
            Some(&app.integration),
            "{ customerPasswordResets { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        resets["data"]["customerPasswordResets"]["totalCount"], 0,
        "nothing was queued"
    );
    // The back office still sets them.
    let body = app.gql(Some(&app.integration), planted, json!({})).await;
    assert_eq!(
        body["data"]["createCustomerPasswordReset"]["userErrors"],
        json!([])
    );
}

#[tokio::test]
async fn a_storefront_never_reads_the_back_offices_fields() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;
    app.gql(
        Some(&app.integration),
        "mutation($id: ID!) { updateCustomerPasswordReset(input: { id: $id, reference: \"crm-4711\", metadata: { fraudScore: 0.93 } }) { userErrors { code } } }",
        json!({ "id": id }),
    )
    .await;
    let complete = "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new passphrase\" }) {
        customerPasswordReset { id status reference referenceOrigin metadata } userErrors { code } } }";
    let body = app
        .gql(Some(&app.sales_channel), complete, json!({ "t": token }))
        .await;
    let text = body.to_string();
    assert!(
        !text.contains("crm-4711") && !text.contains("fraudScore"),
        "{text}"
    );
    let refused = error_codes(&body);
    assert!(
        !refused.is_empty() && refused.iter().all(|c| c == "FORBIDDEN"),
        "{body}"
    );
    // The password was set all the same, and the integration still reads them.
    let reset = app.reset(&id).await;
    assert_eq!(reset["status"], "COMPLETED");
    assert_eq!(reset["reference"], "crm-4711");
}
