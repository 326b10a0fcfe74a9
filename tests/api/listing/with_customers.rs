//! Resets listed with their customers: one statement for the page and its
//! customers, read as each reset reads alone, no more of them read than the
//! query shows, and customers with their resets.

use chrono::Duration;
use serde_json::{Value, json};

use super::seed;
use crate::helpers::TestApp;

#[tokio::test]
async fn listing_fifty_resets_with_their_customers_takes_one_statement() {
    let app = TestApp::spawn().await;
    seed(&app, 50).await;
    // Two resets of one customer on the page share its row.
    app.create_reset("c1@example.com").await;
    // The customers asked for through nodes, edges, and a fragment.
    for (query, rows) in [
        (
            "{ customerPasswordResets(first: 50) { nodes { customerEmail customer { id email } } } }",
            "/data/customerPasswordResets/nodes",
        ),
        (
            "{ customerPasswordResets(first: 50) { edges { node { customerEmail customer { email } } } } }",
            "/data/customerPasswordResets/edges",
        ),
        (
            "{ customerPasswordResets(first: 50) { nodes { ...R } } } fragment R on CustomerPasswordReset { customerEmail customer { email } }",
            "/data/customerPasswordResets/nodes",
        ),
        // More of each customer than its email.
        (
            "{ customerPasswordResets(first: 50) { nodes { customerEmail customer { email hasPassword createdAt metadata } } } }",
            "/data/customerPasswordResets/nodes",
        ),
    ] {
        // Once to have the key verified and cached, then measured.
        app.gql(Some(&app.integration), query, json!({})).await;
        app.take_statements();
        let body = app.gql(Some(&app.integration), query, json!({})).await;
        let statements = app.take_statements();
        let rows = body.pointer(rows).and_then(Value::as_array).unwrap();
        assert_eq!(rows.len(), 50, "{body}");
        for row in rows {
            let reset = row.get("node").unwrap_or(row);
            assert_eq!(
                reset["customer"]["email"], reset["customerEmail"],
                "each reset with its own customer: {body}"
            );
        }
        // The page joined to its customers: one statement, not one per
        // row, nor one for the page and another for the customers.
        assert_eq!(statements, 1, "{statements} statements for 50 rows");
    }
}

#[tokio::test]
async fn customers_list_with_their_password_resets() {
    let app = TestApp::spawn().await;
    seed(&app, 3).await;
    app.create_reset("c1@example.com").await;
    let body = app
        .gql(
            Some(&app.integration),
            r#"{ customers(sort: { field: EMAIL, direction: ASC }) { totalCount nodes { email passwordResets { totalCount nodes { status } } } } }"#,
            json!({}),
        )
        .await;
    let nodes = &body["data"]["customers"]["nodes"];
    assert_eq!(body["data"]["customers"]["totalCount"], 3);
    assert_eq!(nodes[0]["email"], "c0@example.com");
    assert_eq!(nodes[1]["passwordResets"]["totalCount"], 2);
    assert_eq!(
        nodes[1]["passwordResets"]["nodes"],
        json!([{ "status": "PENDING" }, { "status": "INVALIDATED" }])
    );
    assert_eq!(nodes[2]["passwordResets"]["totalCount"], 1);
}

#[tokio::test]
async fn a_reset_listed_with_its_customer_reads_as_it_does_alone() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", Some("correct horse battery"))
        .await;
    app.create_customer("guest@example.com", None).await;
    let (described, _) = app.create_reset("ada@example.com").await;
    let update = "mutation($id: ID!) { updateCustomerPasswordReset(input: { id: $id, reference: \"r-1\", referenceOrigin: \"crm\", metadata: { a: [1, \"b\"] } }) { userErrors { code } } }";
    let body = app
        .gql(Some(&app.integration), update, json!({ "id": described }))
        .await;
    assert_eq!(
        body["data"]["updateCustomerPasswordReset"]["userErrors"],
        json!([])
    );
    app.clock.advance(Duration::seconds(1));
    let (_, token) = app.create_reset("guest@example.com").await;
    app.complete(&app.sales_channel, &token, "a long new passphrase")
        .await;
    app.clock.advance(Duration::seconds(1));
    app.create_reset("guest@example.com").await;

    let fields = "id customerEmail resetPasswordAt expiresAt status reference referenceOrigin metadata createdAt updatedAt mode customer { id email hasPassword passwordChangedAt reference metadata createdAt updatedAt mode passwordHashOutdated }";
    let listed = app
        .gql(
            Some(&app.integration),
            &format!("{{ customerPasswordResets {{ nodes {{ {fields} }} }} }}"),
            json!({}),
        )
        .await;
    let nodes = listed_resets(&listed, 3);
    for node in nodes {
        assert_reads_as_alone(&app, node, fields).await;
    }
    let statuses: Vec<&str> = nodes
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PENDING", "COMPLETED", "PENDING"]);
}

/// The nodes of the reset list `listed` answered, `count` of them.
fn listed_resets(listed: &Value, count: usize) -> &Vec<Value> {
    let nodes = listed["data"]["customerPasswordResets"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(nodes.len(), count, "{listed}");
    nodes
}

/// `node`, a listed reset answering `selection`, is what the reset read
/// alone with the same selection answers, and both are what a read of every
/// column (the selection and `metadata`) answers.
async fn assert_reads_as_alone(app: &TestApp, node: &Value, selection: &str) {
    let by_id = |selection: String| async move {
        let body = app
            .gql(
                Some(&app.integration),
                &format!("query($id: ID!) {{ customerPasswordReset(id: $id) {{ {selection} }} }}"),
                json!({ "id": node["id"] }),
            )
            .await;
        body["data"]["customerPasswordReset"].clone()
    };
    let alone = by_id(selection.to_owned()).await;
    let mut whole = by_id(format!("{selection} metadata")).await;
    if node.get("metadata").is_none() {
        whole.as_object_mut().unwrap().remove("metadata");
    }
    assert_eq!(node, &whole, "{selection}: listed");
    assert_eq!(alone, whole, "{selection}: alone");
}

/// Customers with a password and without, one with a reference and
/// metadata, each with a reset.
async fn customers_with_resets(app: &TestApp) {
    app.create_customer("ada@example.com", Some("correct horse battery"))
        .await;
    let create = "mutation { createCustomer(input: { email: \"ref@example.com\", reference: \"crm-7\", metadata: { tier: \"gold\" } }) { userErrors { code } } }";
    let body = app.gql(Some(&app.integration), create, json!({})).await;
    assert_eq!(
        body["data"]["createCustomer"]["userErrors"],
        json!([]),
        "{body}"
    );
    app.create_customer("guest@example.com", None).await;
    for email in ["ada@example.com", "ref@example.com", "guest@example.com"] {
        app.create_reset(email).await;
        app.clock.advance(Duration::seconds(1));
    }
}

/// The names of the fields of `type_name` that hold a value (scalars and
/// enums, through lists and non-nulls), as the schema lists them.
async fn leaf_fields(app: &TestApp, type_name: &str) -> Vec<String> {
    let query = "query($t: String!) { __type(name: $t) { fields { name type { kind ofType { kind ofType { kind ofType { kind } } } } } } }";
    let body = app
        .gql(Some(&app.integration), query, json!({ "t": type_name }))
        .await;
    let fields = body["data"]["__type"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    let innermost = |mut t: &Value| {
        while !t["ofType"].is_null() {
            t = &t["ofType"];
        }
        t["kind"].as_str().unwrap_or_default().to_owned()
    };
    fields
        .iter()
        .filter(|f| ["SCALAR", "ENUM"].contains(&innermost(&f["type"]).as_str()))
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_field_of_a_listed_resets_customer_reads_as_the_customer_does_alone() {
    let app = TestApp::spawn().await;
    customers_with_resets(&app).await;
    let fields = leaf_fields(&app, "Customer").await;
    assert!(fields.len() >= 10, "{fields:?}");
    for field in fields {
        // The field alone, and beside a field a brief read cannot answer.
        for selection in [format!("id {field}"), format!("id {field} updatedAt")] {
            let listed = app
                .gql(
                    Some(&app.integration),
                    &format!(
                        "{{ customerPasswordResets {{ nodes {{ customer {{ {selection} }} }} }} }}"
                    ),
                    json!({}),
                )
                .await;
            for node in listed_resets(&listed, 3) {
                let customer = &node["customer"];
                let alone = app
                    .gql(
                        Some(&app.integration),
                        &format!("query($id: ID!) {{ customer(id: $id) {{ {selection} }} }}"),
                        json!({ "id": customer["id"] }),
                    )
                    .await;
                assert_eq!(customer, &alone["data"]["customer"], "{selection}: {alone}");
            }
        }
    }
}

#[tokio::test]
async fn reading_resets_and_customers_never_selects_a_token_or_password_digest() {
    let app = TestApp::spawn().await;
    customers_with_resets(&app).await;
    let (id, _) = app.create_reset("ada@example.com").await;
    let customer_id = app
        .create_customer("new@example.com", Some("a fine passphrase"))
        .await;
    let reset = "id customerEmail resetPasswordToken resetPasswordAt expiresAt status reference referenceOrigin metadata createdAt updatedAt mode";
    // Every customer field but `passwordHashOutdated`, which has to read the digest.
    let customer =
        "id email hasPassword passwordChangedAt reference metadata createdAt updatedAt mode";
    let queries = [
        format!("{{ customerPasswordResets {{ nodes {{ {reset} }} }} }}"),
        "{ customerPasswordResets { nodes { customer { email } } } }".to_owned(),
        format!(
            "{{ customerPasswordResets {{ edges {{ node {{ {reset} customer {{ {customer} }} }} }} }} }}"
        ),
        format!("{{ customerPasswordReset(id: \"{id}\") {{ {reset} }} }}"),
        // A reset read alone loads its customer through the request's loader.
        format!(
            "{{ customerPasswordReset(id: \"{id}\") {{ {reset} customer {{ {customer} }} }} }}"
        ),
        format!("{{ node(id: \"{id}\") {{ ... on CustomerPasswordReset {{ {reset} }} }} }}"),
        format!("{{ customers(sort: {{ field: EMAIL }}) {{ nodes {{ {customer} }} }} }}"),
        format!("{{ customer(id: \"{customer_id}\") {{ {customer} }} }}"),
    ];
    for query in queries {
        let (body, statements) = app
            .record_sql(app.gql(Some(&app.integration), &query, json!({})))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        assert!(!statements.is_empty(), "{query}");
        for statement in statements {
            // Whether a customer has a password is read without its digest.
            let rest = statement.replace("\"password_digest\" IS NOT NULL", "");
            assert!(
                !rest.contains("token_digest") && !rest.contains("password_digest"),
                "{query} read a digest: {statement}"
            );
        }
    }
}

/// Every field of a listed reset reads as the reset does alone, asked
/// beside only its id (the list then reads no more columns than the brief
/// ones, unless the field needs more) and beside one the brief columns do
/// not answer; and a list that asks only what they answer does not read
/// the others.
#[tokio::test]
async fn every_field_of_a_listed_reset_reads_as_the_reset_does_alone() {
    let app = TestApp::spawn().await;
    customers_with_resets(&app).await;
    // A newer reset of ada's (so the older one reads as invalidated), with
    // a code, a reference and metadata: none of them at a placeholder's value.
    let create = "mutation { createCustomerPasswordReset(input: { customerEmail: \"ada@example.com\", delivery: LINK_AND_CODE }) { customerPasswordReset { id } userErrors { code } } }";
    let body = app.gql(Some(&app.integration), create, json!({})).await;
    let id = body["data"]["createCustomerPasswordReset"]["customerPasswordReset"]["id"].clone();
    assert!(id.is_string(), "{body}");
    let update = "mutation($id: ID!) { updateCustomerPasswordReset(input: { id: $id, reference: \"r-1\", referenceOrigin: \"crm\", metadata: { a: [1, \"b\"] } }) { userErrors { code } } }";
    let body = app
        .gql(Some(&app.integration), update, json!({ "id": id }))
        .await;
    assert_eq!(
        body["data"]["updateCustomerPasswordReset"]["userErrors"],
        json!([]),
        "{body}"
    );

    let reads_of_resets = |statements: Vec<String>| -> Vec<String> {
        statements
            .into_iter()
            .filter(|s| s.contains("FROM \"customer_password_resets\""))
            .collect()
    };
    let fields = leaf_fields(&app, "CustomerPasswordReset").await;
    assert!(fields.len() >= 14, "{fields:?}");
    for field in fields {
        for selection in [format!("id {field}"), format!("id {field} metadata")] {
            let query = format!("{{ customerPasswordResets {{ nodes {{ {selection} }} }} }}");
            let (listed, statements) = app
                .record_sql(app.gql(Some(&app.integration), &query, json!({})))
                .await;
            for node in listed_resets(&listed, 4) {
                assert_reads_as_alone(&app, node, &selection).await;
            }
            assert_eq!(reads_of_resets(statements).len(), 1, "{query}");
        }
    }
    let brief = "{ customerPasswordResets { nodes { id customerEmail status createdAt customer { email } } } }";
    let (listed, statements) = app
        .record_sql(app.gql(Some(&app.integration), brief, json!({})))
        .await;
    assert!(listed["errors"].is_null(), "{listed}");
    let read = reads_of_resets(statements);
    assert_eq!(read.len(), 1, "{read:?}");
    for column in [
        "metadata",
        "reference",
        "reference_origin",
        "delivery",
        "code_attempts",
    ] {
        assert!(
            !read[0].contains(&format!("\"{column}\"")),
            "{column}: {}",
            read[0]
        );
    }
    let by_id = "query($id: ID!) { customerPasswordReset(id: $id) { id customerEmail status createdAt customer { email } } }";
    let (alone, statements) = app
        .record_sql(app.gql(Some(&app.integration), by_id, json!({ "id": id })))
        .await;
    assert!(alone["errors"].is_null(), "{alone}");
    let read = reads_of_resets(statements);
    assert_eq!(read.len(), 1, "{read:?}");
    assert!(!read[0].contains("\"metadata\""), "{}", read[0]);
    let full = "{ customerPasswordResets { nodes { id metadata } } }";
    let (_, statements) = app
        .record_sql(app.gql(Some(&app.integration), full, json!({})))
        .await;
    assert!(reads_of_resets(statements)[0].contains("\"metadata\""));
}
