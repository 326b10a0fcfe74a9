//! Lists at `/api`: numbered pages with totals and links, sorts, every
//! filter predicate, includes and sparse fieldsets, and a `400` naming
//! anything unknown.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{BASE, app, call, error};
use crate::helpers::TestApp;

/// The ids of a list's `data`.
fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &TestApp, query: &str) -> (StatusCode, Value) {
    let path = format!("/api/customer_password_resets?{query}");
    let (status, _, body) = call(app, Method::GET, &path, Some(&app.integration), None).await;
    (status, body)
}

/// Twelve resets of twelve customers, a minute apart, the oldest first;
/// every third has a reference, the fourth is completed.
async fn twelve(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..12 {
        let email = format!("user{n:02}@example.com");
        app.create_customer(&email, None).await;
        let (id, token) = app.create_reset(&email).await;
        if n % 3 == 0 {
            app.gql(
                Some(&app.integration),
                "mutation($id: ID!, $r: String) { updateCustomerPasswordReset(input: { id: $id, reference: $r }) { userErrors { code } } }",
                serde_json::json!({ "id": id, "r": format!("Ref-{n}") }),
            )
            .await;
        }
        if n == 4 {
            app.complete(&app.integration, &token, "a brand new password")
                .await;
        }
        ids.push(id);
        app.clock.advance(Duration::minutes(1));
    }
    ids
}

#[tokio::test]
async fn pages_are_numbered_counted_and_linked() {
    let app = app().await;
    let all = twelve(&app).await;
    let (status, first) = list(&app, "sort=created_at").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&first), all[..10], "ten a page by default");
    assert_eq!(first["meta"]["record_count"], 12);
    assert_eq!(first["meta"]["page_count"], 2);
    let links = &first["links"];
    assert_eq!(
        links["first"],
        format!("{BASE}/api/customer_password_resets?sort=created_at&page%5Bnumber%5D=1")
    );
    assert_eq!(
        links["last"],
        format!("{BASE}/api/customer_password_resets?sort=created_at&page%5Bnumber%5D=2")
    );
    assert!(links.get("prev").is_none());
    let next = links["next"].as_str().unwrap();
    let (_, second) = list(&app, next.split_once('?').unwrap().1).await;
    assert_eq!(ids(&second), all[10..]);
    assert!(second["links"].get("next").is_none() && second["links"]["prev"].is_string());

    let (_, small) = list(&app, "sort=-created_at&page[size]=5&page[number]=2").await;
    let newest_first: Vec<String> = all.iter().rev().cloned().collect();
    assert_eq!(ids(&small), newest_first[5..10]);
    assert_eq!(small["meta"]["page_count"], 3);
    for bad in [
        "page[size]=26",
        "page[size]=0",
        "page[number]=0",
        "page[size]=many",
    ] {
        let (status, body) = list(&app, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(error(&body).1.starts_with("page["), "{body}");
    }
}

#[tokio::test]
async fn every_predicate_filters_as_commerce_layer_writes_it() {
    let app = app().await;
    let all = twelve(&app).await;
    let started = crate::helpers::start_time();
    let at = |minutes: i64| {
        (started + Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let referenced = vec![
        all[0].clone(),
        all[3].clone(),
        all[6].clone(),
        all[9].clone(),
    ];
    let unreferenced: Vec<String> = all
        .iter()
        .filter(|id| !referenced.contains(id))
        .cloned()
        .collect();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "customer_email_eq=user03@example.com".into(),
            vec![all[3].clone()],
        ),
        (format!("id_eq={}", all[2]), vec![all[2].clone()]),
        (
            format!("id_in={},{}", all[1], all[7]),
            vec![all[1].clone(), all[7].clone()],
        ),
        ("customer_email_cont=ER1".into(), all[10..].to_vec()),
        ("customer_email_start=user0".into(), all[..10].to_vec()),
        ("reference_eq=Ref-6".into(), vec![all[6].clone()]),
        (
            "reference_not_eq=Ref-6".into(),
            all.iter().filter(|id| **id != all[6]).cloned().collect(),
        ),
        ("reference_null=true".into(), unreferenced.clone()),
        ("reference_not_null=true".into(), referenced.clone()),
        ("reference_not_null=false".into(), unreferenced),
        (format!("created_at_gt={}", at(9)), all[10..].to_vec()),
        (format!("created_at_gteq={}", at(9)), all[9..].to_vec()),
        (format!("created_at_lt={}", at(2)), all[..2].to_vec()),
        (format!("created_at_lteq={}", at(2)), all[..3].to_vec()),
        (
            "reset_password_at_not_null=true".into(),
            vec![all[4].clone()],
        ),
        (format!("updated_at_gteq={}", at(0)), all.clone()),
    ];
    for (filter, expected) in cases {
        let (name, value) = filter.split_once('=').unwrap();
        let query = format!(
            "sort=created_at&page[size]=25&filter[q][{name}]={}",
            urlencode(value)
        );
        let (status, body) = list(&app, &query).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {body}");
        assert_eq!(ids(&body), expected, "{filter}");
    }
    for (bad, named) in [
        (
            "filter[q][password_digest_eq]=x",
            "filter[q][password_digest_eq]",
        ),
        (
            "filter[q][customer_email_like]=x",
            "filter[q][customer_email_like]",
        ),
        ("filter[q][created_at_gt]=yesterday", ""),
        ("sort=password_digest", ""),
        ("include=webhooks", "include"),
        (
            "fields[customer_password_resets]=token_digest",
            "fields[customer_password_resets]",
        ),
        ("colour=red", "colour"),
    ] {
        let (status, body) = list(&app, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        if !named.is_empty() {
            assert_eq!(error(&body).1, named, "{bad}");
        }
        assert!(!body.to_string().contains("SELECT"), "no SQL in {body}");
    }
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn include_and_sparse_fieldsets_shape_the_answer() {
    let app = app().await;
    let all = twelve(&app).await;
    let (_, body) = list(
        &app,
        "include=customer&fields[customer_password_resets]=customer_email,customer&fields[customers]=email&page[size]=3&sort=created_at",
    )
    .await;
    assert_eq!(ids(&body), all[..3]);
    let first = &body["data"][0];
    let attributes: Vec<&String> = first["attributes"].as_object().unwrap().keys().collect();
    assert_eq!(attributes, ["customer_email"]);
    let customer = first["relationships"]["customer"]["data"]["id"]
        .as_str()
        .unwrap();
    let included = body["included"].as_array().unwrap();
    assert_eq!(included.len(), 3);
    assert_eq!(included[0]["id"], customer);
    let customer_attributes: Vec<&String> = included[0]["attributes"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(customer_attributes, ["email"]);
    let (_, bare) = list(&app, "fields[customer_password_resets]=status&page[size]=1").await;
    assert!(bare["data"][0].get("relationships").is_none());
    assert!(bare.get("included").is_none());

    let (status, _, customers) = call(
        &app,
        Method::GET,
        "/api/customers?filter[q][email_start]=user1&sort=-email",
        Some(&app.integration),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let emails: Vec<&str> = customers["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["attributes"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["user11@example.com", "user10@example.com"]);
    assert_eq!(customers["meta"]["record_count"], 2);
}

/// A list's `meta.record_count` with `key`, unfiltered (the count the
/// database keeps) and with a filter every row passes (counted row by row).
async fn record_counts(app: &TestApp, key: &str, resource: &str) -> (Value, Value) {
    let mut counts = Vec::new();
    for query in ["", "filter[q][created_at_gteq]=2000-01-01"] {
        let path = format!("/api/{resource}?{query}");
        let (status, _, body) = call(app, Method::GET, &path, Some(key), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        counts.push(body["meta"]["record_count"].clone());
    }
    (counts[0].clone(), counts[1].clone())
}

/// Both counts of resets and of customers, with `key`, checked equal.
async fn both_counts(app: &TestApp, key: &str) -> (Value, Value) {
    let (resets, counted_resets) = record_counts(app, key, "customer_password_resets").await;
    assert_eq!(resets, counted_resets, "resets: kept against counted");
    let (customers, counted) = record_counts(app, key, "customers").await;
    assert_eq!(customers, counted, "customers: kept against counted");
    (resets, customers)
}

#[tokio::test]
async fn unfiltered_totals_follow_every_insert_and_delete_in_their_mode() {
    let app = app().await;
    let all = twelve(&app).await;
    assert_eq!(
        both_counts(&app, &app.integration).await,
        (12.into(), 12.into())
    );
    assert_eq!(
        both_counts(&app, &app.live_integration).await,
        (0.into(), 0.into())
    );
    // The page and its total in one statement; past the last page, the
    // total still.
    let ((status, page), statements) = app.record_sql(list(&app, "page[size]=5")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["meta"]["record_count"], 12);
    assert_eq!(statements.len(), 1, "{statements:?}");
    let (_, past) = list(&app, "page[size]=5&page[number]=4").await;
    assert_eq!(past["data"], serde_json::json!([]));
    assert_eq!(past["meta"]["record_count"], 12);

    // Deleted through GraphQL and through the JSON:API.
    let deleted = app
        .gql(
            Some(&app.integration),
            "mutation($id: ID!) { deleteCustomerPasswordReset(input: { id: $id }) { deletedCustomerPasswordResetId } }",
            serde_json::json!({ "id": all[0] }),
        )
        .await;
    assert_eq!(
        deleted["data"]["deleteCustomerPasswordReset"]["deletedCustomerPasswordResetId"], all[0],
        "{deleted}"
    );
    let path = format!("/api/customer_password_resets/{}", all[1]);
    let (status, _, _) = call(&app, Method::DELETE, &path, Some(&app.integration), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        both_counts(&app, &app.integration).await,
        (10.into(), 12.into())
    );

    // The other mode's rows count in their own mode only.
    let created = app
        .gql(
            Some(&app.live_integration),
            "mutation { createCustomer(input: { email: \"live@example.com\" }) { userErrors { code } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        created["data"]["createCustomer"]["userErrors"],
        serde_json::json!([])
    );
    app.create_reset_with(&app.live_integration, "live@example.com")
        .await;
    assert_eq!(
        both_counts(&app, &app.live_integration).await,
        (1.into(), 1.into())
    );
    assert_eq!(
        both_counts(&app, &app.integration).await,
        (10.into(), 12.into())
    );

    // Rows written while the counts did not exist (an older version) are
    // counted when the migration adds them.
    <migration::Migrator as migration::MigratorTrait>::down(&app.db, Some(1))
        .await
        .unwrap();
    app.create_customer("late@example.com", None).await;
    app.create_reset("late@example.com").await;
    <migration::Migrator as migration::MigratorTrait>::up(&app.db, None)
        .await
        .unwrap();
    assert_eq!(
        both_counts(&app, &app.integration).await,
        (11.into(), 13.into())
    );
    assert_eq!(
        both_counts(&app, &app.live_integration).await,
        (1.into(), 1.into())
    );
}

#[tokio::test]
async fn every_member_asked_alone_reads_as_in_the_whole_resource() {
    let app = app().await;
    let all = twelve(&app).await;
    // One reset with every merchant field set.
    let metadata = serde_json::json!({ "crm": { "ticket": 7 } });
    let path = format!("/api/customer_password_resets/{}", all[3]);
    let body = serde_json::json!({ "data": { "type": "customer_password_resets", "id": all[3],
        "attributes": { "reference_origin": "crm", "metadata": metadata } } });
    let (status, _, _) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&app.integration),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (_, whole) = list(&app, "sort=created_at&include=customer").await;
    let members = [
        "customer_email",
        "reset_password_at",
        "expires_at",
        "status",
        "created_at",
        "updated_at",
        "reference",
        "reference_origin",
        "metadata",
    ];
    for member in members {
        let query =
            format!("sort=created_at&include=customer&fields[customer_password_resets]={member}");
        let (status, alone) = list(&app, &query).await;
        assert_eq!(status, StatusCode::OK, "{alone}");
        assert_eq!(ids(&alone), ids(&whole));
        for (one, full) in alone["data"]
            .as_array()
            .unwrap()
            .iter()
            .zip(whole["data"].as_array().unwrap())
        {
            assert_eq!(
                one["attributes"][member], full["attributes"][member],
                "{member}"
            );
            assert_eq!(one["meta"], full["meta"]);
        }
        let (_, _, by_id) = call(
            &app,
            Method::GET,
            &format!(
                "/api/customer_password_resets/{}?fields[customer_password_resets]={member}",
                all[3]
            ),
            Some(&app.integration),
            None,
        )
        .await;
        assert_eq!(
            by_id["data"]["attributes"][member], whole["data"][3]["attributes"][member],
            "{member}"
        );
    }
    assert_eq!(whole["data"][3]["attributes"]["metadata"], metadata);
    assert_eq!(whole["data"][3]["attributes"]["reference"], "Ref-3");
    for member in [
        "email",
        "has_password",
        "password_changed_at",
        "reference",
        "metadata",
        "created_at",
        "updated_at",
    ] {
        let query = format!("sort=created_at&include=customer&fields[customers]={member}");
        let (status, alone) = list(&app, &query).await;
        assert_eq!(status, StatusCode::OK, "{alone}");
        let (included, whole) = (alone["included"].as_array().unwrap(), &whole["included"]);
        assert_eq!(included.len(), 10, "a page's customers");
        for (one, full) in included.iter().zip(whole.as_array().unwrap()) {
            assert_eq!(one["id"], full["id"]);
            assert_eq!(
                one["attributes"][member], full["attributes"][member],
                "{member}"
            );
            assert_eq!(one["meta"], full["meta"]);
        }
    }
    let with_customer =
        "sort=created_at&include=customer&fields[customer_password_resets]=customer";
    let (_, linked) = list(&app, with_customer).await;
    assert_eq!(
        linked["data"][0]["relationships"]["customer"],
        whole["data"][0]["relationships"]["customer"]
    );
    assert_eq!(linked["included"], whole["included"]);
}
