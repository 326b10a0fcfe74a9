//! Writers at once: whatever the interleaving, a customer never has two live
//! tokens, and no token outlives a password change it came before.

use std::{sync::Arc, time::Duration};

use pwreset::service::rate_limits::Limit;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, codes};

fn unlimited() -> Options {
    let mut options = Options::default();
    let lots = Limit::per(1_000_000, 3_600);
    options.rate_limits.create_per_email = lots;
    options.rate_limits.create_per_email_total = lots;
    options.rate_limits.create_per_key = lots;
    options.rate_limits.complete_per_key = lots;
    options.rate_limits.complete_per_ip = lots;
    options
}

/// When each of the customer's pending resets was created.
async fn pending(app: &TestApp, email: &str) -> Vec<String> {
    let body = app
        .gql(
            Some(&app.integration),
            "query($e: String!) { customerPasswordResets(first: 100, filter: { customerEmail: $e, status: [PENDING] }) { nodes { createdAt } } }",
            json!({ "e": email }),
        )
        .await;
    body["data"]["customerPasswordResets"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["createdAt"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_for_one_customer_leave_exactly_one_pending_reset() {
    let app = Arc::new(TestApp::spawn_with(unlimited()).await);
    app.create_customer("ada@example.com", None).await;
    for round in 0..50 {
        let creates: Vec<_> = (0..8)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.try_create_reset(&app.integration, "ada@example.com")
                        .await
                })
            })
            .collect();
        for create in creates {
            let (status, _, body) = create.await.unwrap();
            assert_eq!(status, 200, "{body}");
            let payload = &body["data"]["createCustomerPasswordReset"];
            assert_eq!(payload["userErrors"], json!([]), "round {round}: {body}");
        }
        let live = pending(&app, "ada@example.com").await;
        assert_eq!(live.len(), 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_complete_and_a_create_at_once_never_leave_a_token_from_before_the_new_password() {
    let app = Arc::new(TestApp::spawn_with(unlimited()).await);
    app.create_customer("ada@example.com", None).await;
    // Time moves on while the writers race, so their order shows in the dates.
    let ticking = {
        let clock = app.clock.clone();
        tokio::spawn(async move {
            loop {
                clock.advance(chrono::Duration::milliseconds(1));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    for round in 0..20 {
        let (_, token) = app.create_reset("ada@example.com").await;
        let complete = {
            let app = app.clone();
            tokio::spawn(async move {
                app.complete(
                    &app.sales_channel,
                    &token,
                    &format!("passphrase number {round}"),
                )
                .await
            })
        };
        let create = {
            let app = app.clone();
            tokio::spawn(async move { app.create_reset("ada@example.com").await })
        };
        let completed: Value = complete.await.unwrap();
        create.await.unwrap();
        let codes = codes(&completed);
        assert!(
            codes.is_empty() || codes == ["TOKEN_INVALIDATED"],
            "{codes:?}"
        );
        let live = pending(&app, "ada@example.com").await;
        assert!(live.len() <= 1, "round {round}: {live:?}");
        // A live token dates from after the last password change.
        let changed = app
            .gql(
                Some(&app.integration),
                "{ customers { nodes { passwordChangedAt } } }",
                json!({}),
            )
            .await["data"]["customers"]["nodes"][0]["passwordChangedAt"]
            .as_str()
            .map(str::to_owned);
        if let (Some(changed), Some(created)) = (changed, live.first()) {
            let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
            assert!(
                parse(created) >= parse(&changed),
                "round {round}: {created} < {changed}"
            );
        }
    }
    ticking.abort();
}

#[tokio::test]
async fn a_storefront_request_made_before_a_password_change_becomes_no_reset() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (status, _, _) = app
        .try_create_reset(&app.sales_channel, "ada@example.com")
        .await;
    assert_eq!(status, 200);
    // Within the second, the back office resets the password itself.
    app.clock.advance(chrono::Duration::milliseconds(300));
    let (_, token) = app.create_reset("ada@example.com").await;
    let done = app
        .complete(&app.integration, &token, "the new passphrase")
        .await;
    assert_eq!(done["userErrors"], json!([]));
    app.run_jobs().await; // the queued request comes up only now
    let live = pending(&app, "ada@example.com").await;
    assert!(
        live.is_empty(),
        "no token mailed after the change: {live:?}"
    );
    let audit = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents(filter: { outcome: [SUPERSEDED] }) { nodes { reason } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        audit["data"]["passwordResetAuditEvents"]["nodes"],
        json!([{ "reason": "PASSWORD_CHANGED" }])
    );
}
