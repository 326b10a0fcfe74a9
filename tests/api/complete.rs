//! Completing a reset: expiry, single use, supersession, races, refused passwords.

use chrono::Duration;
use pwreset::service::password::verify;
use serde_json::json;

use crate::helpers::{TestApp, codes};

#[tokio::test]
async fn a_token_expires_six_hours_after_it_was_created() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", Some("the old password"))
        .await;
    let (id, token) = app.create_reset("ada@example.com").await;
    let reset = app.reset(&id).await;
    let created: chrono::DateTime<chrono::Utc> =
        reset["createdAt"].as_str().unwrap().parse().unwrap();
    let expires: chrono::DateTime<chrono::Utc> =
        reset["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires - created, Duration::hours(6));

    app.clock.advance(Duration::hours(6) - Duration::seconds(1));
    assert_eq!(app.reset(&id).await["status"], "PENDING");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.reset(&id).await["status"], "EXPIRED");

    let payload = app
        .complete(&app.sales_channel, &token, "a new password")
        .await;
    assert_eq!(codes(&payload), ["TOKEN_EXPIRED"]);
    assert_eq!(
        payload["userErrors"][0]["field"],
        json!(["input", "resetPasswordToken"])
    );
    assert!(verify(
        "the old password",
        &app.password_digest("ada@example.com").await.unwrap()
    ));
}

#[tokio::test]
async fn a_token_works_only_once() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "first new password")
                .await
        ),
        Vec::<String>::new()
    );
    let again = app
        .complete(&app.sales_channel, &token, "second new password")
        .await;
    assert_eq!(codes(&again), ["TOKEN_ALREADY_USED"]);
    assert_eq!(again["customerPasswordReset"], json!(null));
    assert!(verify(
        "first new password",
        &app.password_digest("ada@example.com").await.unwrap()
    ));
}

#[tokio::test]
async fn an_unknown_token_is_refused() {
    let app = TestApp::spawn().await;
    for token in ["", "not-a-token", &"x".repeat(10_000)] {
        let payload = app
            .complete(&app.sales_channel, token, "a fine password")
            .await;
        assert_eq!(codes(&payload), ["TOKEN_INVALID"], "{token:.20}");
    }
}

#[tokio::test]
async fn a_new_reset_invalidates_the_customers_older_pending_ones() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (old_id, old_token) = app.create_reset("ada@example.com").await;
    app.clock.advance(Duration::minutes(1));
    let (new_id, new_token) = app.create_reset("ada@example.com").await;

    assert_eq!(app.reset(&old_id).await["status"], "INVALIDATED");
    assert_eq!(app.reset(&new_id).await["status"], "PENDING");
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &old_token, "a new password")
                .await
        ),
        ["TOKEN_INVALIDATED"]
    );
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &new_token, "a new password")
                .await
        ),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn superseding_leaves_other_customers_resets_alone() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    app.create_customer("grace@example.com", None).await;
    let (ada, _) = app.create_reset("ada@example.com").await;
    app.create_reset("grace@example.com").await;
    assert_eq!(app.reset(&ada).await["status"], "PENDING");
}

#[tokio::test]
async fn a_refused_password_changes_nothing_and_the_token_stays_usable() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", Some("the old password"))
        .await;
    let (id, token) = app.create_reset("ada@example.com").await;

    let short = app.complete(&app.sales_channel, &token, "seven77").await;
    assert_eq!(codes(&short), ["PASSWORD_TOO_SHORT"]);
    assert_eq!(
        short["userErrors"][0]["field"],
        json!(["input", "customerPassword"])
    );
    // Seven characters but fourteen bytes: still too short, characters are counted.
    assert_eq!(
        codes(&app.complete(&app.sales_channel, &token, "ééééééé").await),
        ["PASSWORD_TOO_SHORT"]
    );
    assert_eq!(
        codes(&app.complete(&app.sales_channel, &token, "").await),
        ["PASSWORD_TOO_SHORT"]
    );
    let long = "a".repeat(257);
    assert_eq!(
        codes(&app.complete(&app.sales_channel, &token, &long).await),
        ["PASSWORD_TOO_LONG"]
    );

    assert_eq!(app.reset(&id).await["status"], "PENDING");
    assert!(verify(
        "the old password",
        &app.password_digest("ada@example.com").await.unwrap()
    ));

    // 256 characters of two bytes each are within the limit: 512 bytes, not truncated.
    let accented = "é".repeat(256);
    assert_eq!(
        codes(&app.complete(&app.sales_channel, &token, &accented).await),
        Vec::<String>::new()
    );
    assert!(verify(
        &accented,
        &app.password_digest("ada@example.com").await.unwrap()
    ));
    assert!(!verify(
        &"é".repeat(255),
        &app.password_digest("ada@example.com").await.unwrap()
    ));
}

#[tokio::test]
async fn a_bad_token_and_a_bad_password_are_both_reported() {
    let app = TestApp::spawn().await;
    let payload = app.complete(&app.sales_channel, "nope", "short").await;
    assert_eq!(codes(&payload), ["TOKEN_INVALID", "PASSWORD_TOO_SHORT"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_completes_with_one_token_exactly_one_succeeds() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;

    let attempts: Vec<_> = (0..4)
        .map(|i| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let password = format!("racing password {i}");
                let payload = app.complete(&app.sales_channel, &token, &password).await;
                (password, codes(&payload))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (password, codes) = attempt.await.unwrap();
        if codes.is_empty() {
            winners.push(password);
        } else {
            assert_eq!(codes, ["TOKEN_ALREADY_USED"]);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one complete must win");
    assert!(verify(
        &winners[0],
        &app.password_digest("ada@example.com").await.unwrap()
    ));
    assert_eq!(app.reset(&id).await["status"], "COMPLETED");
}
