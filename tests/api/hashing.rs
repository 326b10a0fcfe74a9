//! The bound on password hashing holds under cancellation: a request that
//! gave up does not leave work behind, the line of waiting requests is
//! bounded, and a token's expiry is judged when its reset is claimed.

use std::{sync::Arc, time::Duration};

use pwreset::{
    HttpSettings,
    domain::{Password, PasswordPolicy},
    service::password::{Argon2Params, HashingSettings},
};
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, codes, error_codes};

const COMPLETE: &str = "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new passphrase\" }) {
    customerPasswordReset { status } userErrors { code } } }";

/// A complete with `token`: the HTTP status and the body.
async fn complete(app: &TestApp, token: &str) -> (u16, Value) {
    let body = json!({ "query": COMPLETE, "variables": { "t": token } });
    let response = app.post(Some(&app.sales_channel), &body).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

/// One sample of the server's metrics.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits (bounded) until `n` requests wait for a hashing slot.
async fn until_waiting(app: &TestApp, n: f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metric(app, "pwreset_password_hash_queue_depth").await != n {
        assert!(tokio::time::Instant::now() < deadline, "never {n} waiting");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn app_with_a_pending_reset(options: Options) -> (Arc<TestApp>, String) {
    let app = Arc::new(TestApp::spawn_with(options).await);
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    (app, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_that_expires_while_its_request_waits_for_hashing_is_expired() {
    let options = Options {
        hashing: HashingSettings {
            concurrency: Some(1),
            ..Options::default().hashing
        },
        ..Options::default()
    };
    let (app, token) = app_with_a_pending_reset(options).await;
    let busy = app.hasher.occupy_all().await;
    let waiting = {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move { complete(&app, &token).await })
    };
    until_waiting(&app, 1.0).await;
    app.clock.advance(chrono::Duration::hours(7)); // past the 6-hour token life
    drop(busy);
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        codes(&body["data"]["completeCustomerPasswordReset"]),
        ["TOKEN_EXPIRED"]
    );
    assert_eq!(app.password_digest("ada@example.com").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_that_give_up_leave_no_hashing_behind() {
    // A hash that takes far longer than a request may run.
    let options = Options {
        http: HttpSettings {
            request_timeout: Duration::from_millis(100),
            ..HttpSettings::default()
        },
        hashing: HashingSettings {
            argon2: Argon2Params {
                iterations: 40,
                ..Argon2Params::default()
            },
            concurrency: Some(1),
            ..Options::default().hashing
        },
        ..Options::default()
    };
    let (app, token) = app_with_a_pending_reset(options).await;
    // The first request's hash starts, and outlives the request...
    assert_eq!(complete(&app, &token).await.0, 503);
    // ...while three more wait for its slot and give up too.
    let gave_up: Vec<_> = (0..3)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { complete(&app, &token).await.0 })
        })
        .collect();
    for request in gave_up {
        assert_eq!(request.await.unwrap(), 503);
    }
    // The slot frees once the first hash is done; one more hash, in line
    // behind anything left over, tells what was left over.
    drop(app.hasher.occupy_all().await);
    let password = Password::parse(
        "another passphrase".into(),
        &PasswordPolicy::default(),
        None,
    )
    .unwrap();
    app.hasher.hash(password).await.unwrap();
    let hashed = metric(&app, "pwreset_password_hashes_total").await;
    assert!(
        (1.0..=2.0).contains(&hashed),
        "{hashed} hashes for one request that held the slot and one more"
    );
    assert_eq!(app.password_digest("ada@example.com").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_line_of_requests_waiting_to_hash_is_bounded() {
    let options = Options {
        hashing: HashingSettings {
            concurrency: Some(1),
            queue_max: 1,
            ..Options::default().hashing
        },
        ..Options::default()
    };
    let (app, token) = app_with_a_pending_reset(options).await;
    let busy = app.hasher.occupy_all().await;
    let first = {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move { complete(&app, &token).await })
    };
    until_waiting(&app, 1.0).await;
    // The line is full: refused at once, not after waiting its turn. (The
    // guard only keeps a regression from hanging the suite.)
    let second = tokio::time::timeout(Duration::from_secs(10), complete(&app, &token))
        .await
        .expect("refused at once");
    assert_eq!(second.0, 429);
    assert_eq!(error_codes(&second.1), ["TOO_MANY_REQUESTS"]);
    drop(busy);
    let (status, body) = first.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["completeCustomerPasswordReset"]["customerPasswordReset"]["status"],
        "COMPLETED"
    );
}
