//! The public path as an attacker holding the storefront key sees it: what
//! it can learn, what it can write, whom it can lock out.

mod queue;

use std::{collections::BTreeMap, sync::Arc};

use sea_orm::{EntityTrait, PaginatorTrait};
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
    assert_eq!(app.count_resets().await, 0, "nothing was queued");
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

/// Every sample of a metrics text, by name and labels.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// What changed between two readings. Left out: how long requests took (the
/// two paths run the same statements, asserted elsewhere, but no two
/// requests take the same microseconds) and the pools' momentary state.
fn changes(before: &str, after: &str) -> BTreeMap<String, f64> {
    let (before, after) = (samples(before), samples(after));
    after
        .iter()
        .filter(|(key, _)| {
            !key.contains("_seconds_sum")
                && !key.contains("_seconds_bucket")
                && !key.starts_with("pwreset_db_pool_connections")
                && !key.starts_with("pwreset_db_read_pool_connections")
        })
        .map(|(key, value)| (key.clone(), value - before.get(key).unwrap_or(&0.0)))
        .filter(|(_, change)| *change != 0.0)
        .collect()
}

#[tokio::test]
async fn no_metric_tells_whether_an_email_has_an_account() {
    let app = TestApp::spawn().await;
    let public = reqwest::get(format!("http://{}/metrics", app.addr))
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "no metrics on the public listener");
    app.create_customer("ada@example.com", None).await;
    // Warm the key up: its last-used time is refreshed once a minute, whatever the email.
    app.try_create_reset(&app.sales_channel, "warm-up@example.com")
        .await;
    app.run_jobs().await;

    let before = app.metrics().await;
    let (status, _, _) = app
        .try_create_reset(&app.sales_channel, "ada@example.com")
        .await;
    assert_eq!(status, 200);
    app.run_jobs().await; // the known email becomes a reset here
    let known = app.metrics().await;
    let (status, _, _) = app
        .try_create_reset(&app.sales_channel, "nobody@example.com")
        .await;
    assert_eq!(status, 200);
    app.run_jobs().await;
    let unknown = app.metrics().await;

    let (mut known, unknown) = (changes(&before, &known), changes(&known, &unknown));
    // The email that reached the customer is counted, for operators (the
    // admin listener is never public); nothing else differs.
    assert_eq!(
        known.remove("pwreset_reset_emails_total{outcome=\"logged\"}"),
        Some(1.0)
    );
    assert_eq!(known, unknown);
    assert_eq!(known["pwreset_storefront_requests_total"], 1.0);
    assert_eq!(known["pwreset_storefront_requests_processed_total"], 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_refused_requests_writes_next_to_nothing() {
    use pwreset::entity::{rate_limit_counter, reset_audit_event};
    let app = Arc::new(TestApp::spawn().await);
    let rows = async || {
        let audit = reset_audit_event::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        let counters = rate_limit_counter::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        audit + counters
    };
    // Up to the per-email limit (5 an hour)...
    for _ in 0..5 {
        let (status, _, _) = app
            .try_create_reset(&app.sales_channel, "ada@example.com")
            .await;
        assert_eq!(status, 200);
    }
    let before = rows().await;
    // ...then a thousand refusals, eight at a time.
    for _ in 0..125 {
        let burst: Vec<_> = (0..8)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.try_create_reset(&app.sales_channel, "ada@example.com")
                        .await
                        .0
                })
            })
            .collect();
        for request in burst {
            assert_eq!(request.await.unwrap(), 429);
        }
    }
    let added = rows().await - before;
    assert!(added <= 2, "1,000 refusals added {added} rows");
    // And the counters stopped moving at the first refusal, not a write per
    // request (the first burst of eight may race past the read that refuses).
    let hits: Vec<i32> = rate_limit_counter::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.hits)
        .collect();
    assert!(hits.iter().all(|h| *h <= 5 + 8), "{hits:?}");
}
