//! Changing and deleting resets.

use serde_json::json;

use crate::helpers::{TestApp, codes};

const UPDATE: &str = "mutation($input: UpdateCustomerPasswordResetInput!) { updateCustomerPasswordReset(input: $input) {
    customerPasswordReset { id reference referenceOrigin metadata updatedAt } userErrors { field code } } }";

#[tokio::test]
async fn an_integration_changes_the_reference_and_metadata() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (id, _) = app.create_reset("ada@example.com").await;
    app.clock.advance(chrono::Duration::minutes(3));

    let body = app
        .gql(
            Some(&app.integration),
            UPDATE,
            json!({ "input": { "id": id, "reference": "ticket-7", "referenceOrigin": "helpdesk", "metadata": { "a": 1 } } }),
        )
        .await;
    let payload = &body["data"]["updateCustomerPasswordReset"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(
        payload["customerPasswordReset"]["referenceOrigin"],
        "helpdesk"
    );
    let reset = app.reset(&id).await;
    assert_eq!(reset["reference"], "ticket-7");
    assert_eq!(reset["metadata"], json!({ "a": 1 }));
    assert_ne!(reset["updatedAt"], reset["createdAt"]);

    // Omitted fields are kept; an explicit null clears the reference.
    app.gql(
        Some(&app.integration),
        UPDATE,
        json!({ "input": { "id": id, "metadata": { "b": 2 } } }),
    )
    .await;
    assert_eq!(app.reset(&id).await["reference"], "ticket-7");
    app.gql(
        Some(&app.integration),
        UPDATE,
        json!({ "input": { "id": id, "reference": null } }),
    )
    .await;
    let reset = app.reset(&id).await;
    assert_eq!(reset["reference"], json!(null));
    assert_eq!(reset["metadata"], json!({ "b": 2 }));
}

#[tokio::test]
async fn updating_refuses_bad_input_and_unknown_ids() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (id, _) = app.create_reset("ada@example.com").await;
    for (input, code) in [
        (json!({ "id": "cpr_doesnotexistdoesnotexist" }), "NOT_FOUND"),
        (json!({ "id": "garbage" }), "NOT_FOUND"),
        (json!({ "id": id, "metadata": 5 }), "METADATA_NOT_OBJECT"),
        (
            json!({ "id": id, "reference": "r".repeat(256) }),
            "REFERENCE_TOO_LONG",
        ),
        (
            json!({ "id": id, "referenceOrigin": "r".repeat(256) }),
            "REFERENCE_TOO_LONG",
        ),
    ] {
        let body = app
            .gql(Some(&app.integration), UPDATE, json!({ "input": input }))
            .await;
        assert_eq!(
            codes(&body["data"]["updateCustomerPasswordReset"]),
            [code],
            "{input:.60}"
        );
    }
    assert_eq!(app.reset(&id).await["metadata"], json!({}));
}

#[tokio::test]
async fn a_deleted_reset_is_gone_and_its_token_stops_working() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;
    let delete = "mutation($id: ID!) { deleteCustomerPasswordReset(input: { id: $id }) { deletedCustomerPasswordResetId userErrors { code } } }";

    let body = app
        .gql(Some(&app.integration), delete, json!({ "id": id }))
        .await;
    assert_eq!(
        body["data"]["deleteCustomerPasswordReset"],
        json!({ "deletedCustomerPasswordResetId": id, "userErrors": [] })
    );
    assert_eq!(app.reset(&id).await, json!(null));
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "a new password")
                .await
        ),
        ["TOKEN_INVALID"]
    );

    let again = app
        .gql(Some(&app.integration), delete, json!({ "id": id }))
        .await;
    assert_eq!(
        codes(&again["data"]["deleteCustomerPasswordReset"]),
        ["NOT_FOUND"]
    );
}

/// Clients drop `undefined` variables (Apollo does): a field bound to a
/// variable that was not sent is not provided, so it keeps its value; an
/// explicit `null` still clears.
#[tokio::test]
async fn a_field_whose_variable_was_not_sent_keeps_its_value() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (id, _) = app.create_reset("ada@example.com").await;
    const BOUND: &str = "mutation($id: ID!, $ref: String, $origin: String, $md: JSON) {
        updateCustomerPasswordReset(input: { id: $id, reference: $ref, referenceOrigin: $origin, metadata: $md }) {
            customerPasswordReset { reference referenceOrigin metadata } userErrors { code } } }";
    let update = |variables| app.gql(Some(&app.integration), BOUND, variables);

    let all = json!({ "id": id, "ref": "ticket-7", "origin": "helpdesk", "md": { "a": 1 } });
    let body = update(all).await;
    assert_eq!(
        body["data"]["updateCustomerPasswordReset"]["userErrors"],
        json!([])
    );

    // Only metadata sent: reference and origin stay.
    let body = update(json!({ "id": id, "md": { "b": 2 } })).await;
    assert_eq!(
        body["data"]["updateCustomerPasswordReset"]["customerPasswordReset"],
        json!({ "reference": "ticket-7", "referenceOrigin": "helpdesk", "metadata": { "b": 2 } })
    );
    // Nothing but the id: nothing changes.
    update(json!({ "id": id })).await;
    let reset = app.reset(&id).await;
    assert_eq!(reset["reference"], "ticket-7");
    assert_eq!(reset["referenceOrigin"], "helpdesk");
    assert_eq!(reset["metadata"], json!({ "b": 2 }));

    // An explicit null clears the reference, and only it.
    update(json!({ "id": id, "ref": null })).await;
    let reset = app.reset(&id).await;
    assert_eq!(reset["reference"], json!(null));
    assert_eq!(reset["referenceOrigin"], "helpdesk");
    assert_eq!(reset["metadata"], json!({ "b": 2 }));
}

/// The same for webhooks, whose fields cannot be cleared: a variable that was
/// not sent leaves its field as it was.
#[tokio::test]
async fn a_webhook_field_whose_variable_was_not_sent_keeps_its_value() {
    let app = TestApp::spawn().await;
    let (webhook, _) = app
        .subscribe(
            "customer_password_resets.create",
            "https://hooks.example.com/a",
            true,
        )
        .await;
    const BOUND: &str = "mutation($id: ID!, $topic: WebhookTopic, $url: String, $customer: Boolean) {
        updateWebhook(input: { id: $id, topic: $topic, callbackUrl: $url, includeCustomer: $customer }) {
            webhook { topic callbackUrl includeCustomer } userErrors { code } } }";
    let body = app
        .gql(
            Some(&app.integration),
            BOUND,
            json!({ "id": webhook, "customer": false }),
        )
        .await;
    assert_eq!(
        body["data"]["updateWebhook"],
        json!({
            "webhook": {
                "topic": "CUSTOMER_PASSWORD_RESETS_CREATE",
                "callbackUrl": "https://hooks.example.com/a",
                "includeCustomer": false
            },
            "userErrors": []
        })
    );
}
