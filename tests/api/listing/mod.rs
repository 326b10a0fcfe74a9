//! Lists: keyset pages in both directions, limits, filters, sorts, totalCount;
//! resets listed with their customers in `with_customers`.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes, start_time};

mod with_customers;

const LIST: &str = "query($first: Int, $after: String, $last: Int, $before: String,
        $filter: CustomerPasswordResetFilter, $sort: CustomerPasswordResetSort) {
    customerPasswordResets(first: $first, after: $after, last: $last, before: $before, filter: $filter, sort: $sort) {
        edges { cursor node { id customerEmail status reference } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

/// Creates `n` customers `c0@…` to `c{n-1}@…`, one reset each, a second apart; returns reset ids oldest first.
pub(super) async fn seed(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let email = format!("c{i}@example.com");
        app.create_customer(&email, None).await;
        ids.push(app.create_reset(&email).await.0);
        app.clock.advance(Duration::seconds(1));
    }
    ids
}

async fn list(app: &TestApp, variables: Value) -> Value {
    let body = app.gql(Some(&app.integration), LIST, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["customerPasswordResets"].clone()
}

/// The answer to `LIST` with `variables`, which must be refused as bad input.
async fn refused(app: &TestApp, variables: &Value) -> Value {
    let body = app
        .gql(Some(&app.integration), LIST, variables.clone())
        .await;
    assert_eq!(
        error_codes(&body),
        ["BAD_USER_INPUT"],
        "{variables}: {body}"
    );
    body
}

fn ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_edge_cursor_continues_the_list_right_after_its_row() {
    let app = TestApp::spawn().await;
    let mut all = seed(&app, 5).await;
    all.reverse(); // newest first
    let page = list(&app, json!({ "first": 4 })).await;
    let edges = page["edges"].as_array().unwrap();
    assert_eq!(edges[3]["cursor"], page["pageInfo"]["endCursor"]);
    assert_eq!(edges[0]["cursor"], page["pageInfo"]["startCursor"]);
    // After the second row: the third and fourth.
    let next = list(&app, json!({ "first": 2, "after": edges[1]["cursor"] })).await;
    assert_eq!(ids(&next), all[2..4]);
    // Before the third row: the first two.
    let previous = list(&app, json!({ "last": 5, "before": edges[2]["cursor"] })).await;
    assert_eq!(ids(&previous), all[0..2]);
}

#[tokio::test]
async fn pages_walk_the_list_newest_first_forward_and_backward() {
    let app = TestApp::spawn().await;
    let mut all = seed(&app, 7).await;
    all.reverse(); // newest first

    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = list(&app, json!({ "first": 3, "after": after })).await;
        seen.extend(ids(&page));
        assert_eq!(page["pageInfo"]["hasPreviousPage"], json!(!after.is_null()));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, all);

    let last = list(&app, json!({ "last": 3 })).await;
    assert_eq!(ids(&last), all[4..]);
    assert_eq!(last["pageInfo"]["hasPreviousPage"], true);
    let before = list(
        &app,
        json!({ "last": 3, "before": last["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(ids(&before), all[1..4]);
    let first = list(
        &app,
        json!({ "last": 3, "before": before["pageInfo"]["startCursor"] }),
    )
    .await;
    assert_eq!(ids(&first), all[..1]);
    assert_eq!(first["pageInfo"]["hasPreviousPage"], false);
}

#[tokio::test]
async fn pages_stay_stable_when_rows_share_a_timestamp_and_new_rows_arrive() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let email = format!("same{i}@example.com");
        app.create_customer(&email, None).await;
        app.create_reset(&email).await; // all at the same instant
    }
    let first = list(&app, json!({ "first": 2 })).await;
    // A newer reset arrives between page requests.
    app.clock.advance(Duration::seconds(5));
    app.create_customer("late@example.com", None).await;
    app.create_reset("late@example.com").await;

    let mut seen = ids(&first);
    let mut after = first["pageInfo"]["endCursor"].clone();
    loop {
        let page = list(&app, json!({ "first": 2, "after": after })).await;
        seen.extend(ids(&page));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 5, "every row once, no row twice: {seen:?}");
    assert_eq!(unique.len(), 5);
    // Ties are ordered by id, newest-first meaning descending ids.
    let mut expected = seen.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn page_size_defaults_to_25_and_may_not_exceed_100() {
    let app = TestApp::spawn().await;
    seed(&app, 26).await;
    let page = list(&app, json!({})).await;
    assert_eq!(ids(&page).len(), 25);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(ids(&list(&app, json!({ "first": 100 })).await).len(), 26);
    assert_eq!(ids(&list(&app, json!({ "first": 0 })).await).len(), 0);

    for variables in [
        json!({ "first": 101 }),
        json!({ "last": 1000 }),
        json!({ "first": -1 }),
        json!({ "first": 1, "last": 1 }),
    ] {
        let body = refused(&app, &variables).await;
        assert_eq!(body["data"], json!(null));
    }
    let body = app
        .gql(Some(&app.integration), LIST, json!({ "first": 101 }))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("between 0 and 100"),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_or_foreign_cursors_are_refused_clearly() {
    let app = TestApp::spawn().await;
    seed(&app, 2).await;
    let page = list(&app, json!({ "first": 1 })).await;
    let cursor = page["pageInfo"]["endCursor"].clone();
    let other_sort = json!({ "first": 1, "after": cursor, "sort": { "field": "REFERENCE", "direction": "ASC" } });
    for variables in [
        json!({ "after": "garbage" }),
        json!({ "before": "e30" }),
        other_sort,
    ] {
        let body = refused(&app, &variables).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("cursor")
        );
    }
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let app = TestApp::spawn().await;
    let ids_by_age = seed(&app, 4).await; // c0..c3, one second apart from start_time()
    let set_reference = |id: String, reference: &'static str| {
        let app = &app;
        async move {
            app.gql(
                Some(&app.integration),
                "mutation($id: ID!, $r: String) { updateCustomerPasswordReset(input: { id: $id, reference: $r }) { userErrors { code } } }",
                json!({ "id": id, "r": reference }),
            )
            .await;
        }
    };
    set_reference(ids_by_age[1].clone(), "order-1").await;
    // c2 gets a second reset (superseding its first) and completes it.
    let (_, token) = app.create_reset("c2@example.com").await;
    app.complete(&app.integration, &token, "a new password")
        .await;
    let c3_customer = {
        let body = app
            .gql(
                Some(&app.integration),
                r#"{ customers(filter: { email: "C3@example.com" }) { nodes { id } } }"#,
                json!({}),
            )
            .await;
        body["data"]["customers"]["nodes"][0]["id"].clone()
    };

    let count = |filter: Value| {
        let app = &app;
        async move {
            let body = app
                .gql(
                    Some(&app.integration),
                    "query($f: CustomerPasswordResetFilter) { customerPasswordResets(filter: $f) { totalCount nodes { id } } }",
                    json!({ "f": filter }),
                )
                .await;
            assert!(body.get("errors").is_none(), "{body}");
            body["data"]["customerPasswordResets"]["totalCount"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(count(json!(null)).await, 5);
    assert_eq!(
        count(json!({ "ids": [ids_by_age[0], ids_by_age[3]] })).await,
        2
    );
    assert_eq!(count(json!({ "customerEmail": "C2@Example.com" })).await, 2);
    assert_eq!(count(json!({ "customerId": c3_customer })).await, 1);
    assert_eq!(count(json!({ "reference": "order-1" })).await, 1);
    assert_eq!(count(json!({ "status": ["COMPLETED"] })).await, 1);
    assert_eq!(count(json!({ "status": ["INVALIDATED"] })).await, 1);
    assert_eq!(count(json!({ "status": ["PENDING"] })).await, 3);
    assert_eq!(
        count(json!({ "status": ["PENDING", "COMPLETED"] })).await,
        4
    );
    let from = start_time() + Duration::seconds(1);
    let until = start_time() + Duration::seconds(3);
    assert_eq!(
        count(json!({ "createdAt": { "from": from, "until": until } })).await,
        2
    );
    assert_eq!(
        count(json!({ "resetPasswordAt": { "from": start_time() } })).await,
        1
    );
    assert_eq!(
        count(json!({ "status": ["PENDING"], "customerEmail": "c1@example.com" })).await,
        1
    );

    app.clock.advance(Duration::hours(7));
    assert_eq!(count(json!({ "status": ["EXPIRED"] })).await, 3);
    assert_eq!(count(json!({ "status": ["PENDING"] })).await, 0);
}

#[tokio::test]
async fn sorting_by_a_field_with_gaps_is_stable_and_puts_gaps_last_ascending() {
    let app = TestApp::spawn().await;
    let ids_by_age = seed(&app, 5).await;
    for (i, reference) in [(0, "b"), (1, "a"), (3, "c")] {
        app.gql(
            Some(&app.integration),
            "mutation($id: ID!, $r: String) { updateCustomerPasswordReset(input: { id: $id, reference: $r }) { userErrors { code } } }",
            json!({ "id": ids_by_age[i], "r": reference }),
        )
        .await;
    }
    let walk = |direction: &'static str| {
        let app = &app;
        async move {
            let sort = json!({ "field": "REFERENCE", "direction": direction });
            let mut refs = Vec::new();
            let mut after = Value::Null;
            loop {
                let page = list(app, json!({ "first": 2, "after": after, "sort": sort })).await;
                refs.extend(
                    page["edges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["node"]["reference"].clone()),
                );
                if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                    break;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
            refs
        }
    };
    assert_eq!(
        walk("ASC").await,
        [json!("a"), json!("b"), json!("c"), json!(null), json!(null)]
    );
    assert_eq!(
        walk("DESC").await,
        [json!(null), json!(null), json!("c"), json!("b"), json!("a")]
    );
}

#[tokio::test]
async fn total_count_costs_a_query_only_when_asked_for() {
    let app = TestApp::spawn().await;
    seed(&app, 3).await;
    app.take_statements();
    app.gql(
        Some(&app.integration),
        "{ customerPasswordResets { nodes { id } } }",
        json!({}),
    )
    .await;
    let without = app.take_statements();
    let body = app
        .gql(
            Some(&app.integration),
            "{ customerPasswordResets { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    let with = app.take_statements();
    assert_eq!(body["data"]["customerPasswordResets"]["totalCount"], 3);
    assert_eq!(
        with,
        without + 1,
        "one COUNT query, and only when asked for"
    );
}

#[tokio::test]
async fn unfiltered_total_counts_come_from_the_kept_counts_and_agree_with_counting() {
    let app = TestApp::spawn().await;
    let ids = seed(&app, 5).await;
    let delete = "mutation($id: ID!) { deleteCustomerPasswordReset(input: { id: $id }) { deletedCustomerPasswordResetId } }";
    app.gql(Some(&app.integration), delete, json!({ "id": ids[0] }))
        .await;
    let unfiltered = "{ customerPasswordResets { totalCount } customers { totalCount } }";
    let (body, statements) = app
        .record_sql(app.gql(Some(&app.integration), unfiltered, json!({})))
        .await;
    assert_eq!(
        body["data"]["customerPasswordResets"]["totalCount"], 4,
        "{body}"
    );
    assert_eq!(body["data"]["customers"]["totalCount"], 5, "{body}");
    let counts: Vec<&String> = statements.iter().filter(|s| s.contains("COUNT")).collect();
    assert!(counts.is_empty(), "no row counted: {counts:?}");
    assert_eq!(
        statements
            .iter()
            .filter(|s| s.contains("row_counts"))
            .count(),
        2,
        "{statements:?}"
    );
    // A filter every row passes is counted row by row, to the same totals.
    let counted = "query($from: DateTime!) {
        customerPasswordResets(filter: { createdAt: { from: $from } }) { totalCount } }";
    let from = (start_time() - Duration::days(1)).to_rfc3339();
    let (body, statements) = app
        .record_sql(app.gql(Some(&app.integration), counted, json!({ "from": from })))
        .await;
    assert_eq!(
        body["data"]["customerPasswordResets"]["totalCount"], 4,
        "{body}"
    );
    assert!(
        statements.iter().any(|s| s.contains("COUNT")),
        "{statements:?}"
    );
    // The other mode counts its own.
    let (live, _) = app
        .record_sql(app.gql(Some(&app.live_integration), unfiltered, json!({})))
        .await;
    assert_eq!(
        live["data"]["customerPasswordResets"]["totalCount"], 0,
        "{live}"
    );
}
