//! How events are delivered: retries under one id, restarts, several
//! processes, the circuit breaker, and the targets that are refused.

use std::collections::HashSet;

use chrono::Duration;
use pwreset::service::webhooks::WebhookSettings;
use serde_json::{Value, json};

use super::deliveries;
use crate::{
    helpers::{CREATE_WEBHOOK, Options, TestApp, codes, error_codes},
    receiver::Receiver,
};

#[tokio::test]
async fn a_receiver_that_fails_then_recovers_gets_the_event_under_one_id() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let (webhook, _) = app
        .subscribe("customers.create", &receiver.url, false)
        .await;
    receiver.answer_next(&[500, 503]);
    app.create_customer("ada@example.com", None).await;

    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(app.run_jobs().await, 0, "the retry waits for its backoff");
    app.clock.advance(Duration::seconds(7)); // 5 s, plus at most 20 % jitter
    assert_eq!(app.run_jobs().await, 1);
    app.clock.advance(Duration::seconds(13)); // 10 s, plus jitter
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(app.run_jobs().await, 0, "delivered: nothing left to do");

    let ids: HashSet<String> = receiver
        .calls()
        .iter()
        .map(|c| c.header("webhook-id"))
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same event id");
    let seen = deliveries(&app, &webhook).await;
    let delivery = &seen["deliveries"]["nodes"][0];
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(delivery["attemptCount"], 3);
    let statuses: Vec<&Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["statusCode"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(503), &json!(200)]);
    assert_eq!(
        delivery["attempts"][0]["error"],
        "the receiver answered HTTP 500"
    );
    assert_eq!(seen["consecutiveFailures"], 0);
}

#[tokio::test]
async fn a_server_restarted_mid_retry_still_delivers() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    app.subscribe("customers.create", &receiver.url, false)
        .await;
    receiver.answer_next(&[500]);
    app.create_customer("ada@example.com", None).await;
    assert_eq!(app.run_jobs().await, 1);

    let app = app.restart().await;
    app.clock.advance(Duration::seconds(7));
    assert_eq!(app.run_jobs().await, 1);
    let calls = receiver.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("webhook-id"), calls[1].header("webhook-id"));
    assert_eq!(
        calls[1].json()["data"]["attributes"]["email"],
        "ada@example.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_on_one_database_deliver_each_event_once() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    app.subscribe("customers.create", &receiver.url, false)
        .await;
    for i in 0..40 {
        app.create_customer(&format!("c{i}@example.com"), None)
            .await;
    }
    // A second process: its own pool on the same database.
    let other = app.other_process_worker().await;
    let mine = app.worker();
    let (a, b) = tokio::join!(mine.run_once(), other.run_once());
    assert_eq!(a.unwrap() + b.unwrap(), 40);

    let ids: Vec<String> = receiver
        .calls()
        .iter()
        .map(|c| c.header("webhook-id"))
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 40, "no event sent twice");
    assert_eq!(unique.len(), 40, "every event sent");
}

#[tokio::test]
async fn the_circuit_opens_after_30_failures_in_a_row_and_can_be_reset() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    receiver.answer_always(500);
    let (webhook, _) = app
        .subscribe("customers.create", &receiver.url, false)
        .await;
    for i in 0..30 {
        app.create_customer(&format!("c{i}@example.com"), None)
            .await;
    }
    assert_eq!(app.run_jobs().await, 30);
    let seen = deliveries(&app, &webhook).await;
    assert_eq!(seen["circuit"], "OPEN");
    assert_eq!(seen["consecutiveFailures"], 30);

    app.create_customer("late@example.com", None).await;
    app.clock.advance(Duration::minutes(5));
    assert_eq!(
        app.run_jobs().await,
        0,
        "nothing is sent while the circuit is open"
    );
    assert_eq!(receiver.calls().len(), 30);

    receiver.answer_always(200);
    let body = app
        .gql(
            Some(&app.integration),
            "mutation($id: ID!) { resetWebhookCircuit(input: { id: $id }) { webhook { circuit consecutiveFailures } userErrors { code } } }",
            json!({ "id": webhook }),
        )
        .await;
    assert_eq!(
        body["data"]["resetWebhookCircuit"]["webhook"],
        json!({ "circuit": "CLOSED", "consecutiveFailures": 0 })
    );
    assert_eq!(app.run_jobs().await, 31);
    assert_eq!(deliveries(&app, &webhook).await["circuit"], "CLOSED");
}

#[tokio::test]
async fn callback_urls_and_topics_must_be_well_formed() {
    let app = TestApp::spawn().await;
    for url in ["ftp://example.com/hook", "not a url"] {
        let body = app
            .gql(
                Some(&app.integration),
                CREATE_WEBHOOK,
                json!({ "input": { "topic": "CUSTOMERS_CREATE", "callbackUrl": url } }),
            )
            .await;
        assert_eq!(
            codes(&body["data"]["createWebhook"]),
            ["INVALID_CALLBACK_URL"],
            "{url}"
        );
    }
    // Topics are an enum: an unknown one, or a Commerce Layer name given as a
    // string, is refused before anything runs.
    for topic in ["ORDERS_CREATE", "customers.create"] {
        let body = app
            .gql(
                Some(&app.integration),
                CREATE_WEBHOOK,
                json!({ "input": { "topic": topic, "callbackUrl": "https://93.184.216.34/hook" } }),
            )
            .await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{topic}: {body}");
        assert!(body.get("data").is_none(), "{body}");
    }
    let listed = app
        .gql(
            Some(&app.integration),
            "{ webhooks { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["webhooks"]["totalCount"], 0);
}

#[tokio::test]
async fn the_dispatcher_refuses_private_targets_when_not_allowed() {
    let app = TestApp::spawn().await; // allows private targets when subscribing...
    let receiver = Receiver::start().await;
    let (webhook, _) = app
        .subscribe("customers.create", &receiver.url, false)
        .await;
    app.create_customer("ada@example.com", None).await;
    // ...but this dispatcher does not.
    let strict = app.worker_with(false);
    assert_eq!(strict.run_once().await.unwrap(), 1);
    assert!(receiver.calls().is_empty());
    let seen = deliveries(&app, &webhook).await;
    assert!(
        seen["deliveries"]["nodes"][0]["lastError"]
            .as_str()
            .unwrap()
            .contains("private")
    );
}

#[tokio::test]
async fn the_server_delivers_on_its_own_when_its_dispatcher_runs() {
    let app = TestApp::spawn_with(Options {
        webhooks: WebhookSettings {
            allow_private_targets: true,
            proxy: None,
            poll_interval: Some(std::time::Duration::from_millis(10)),
        },
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start().await;
    app.subscribe("customers.create", &receiver.url, false)
        .await;
    app.create_customer("ada@example.com", None).await;
    // Wait (bounded) for the background dispatcher; no fixed sleep.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while receiver.calls().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dispatcher never delivered"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        receiver.calls()[0].json()["data"]["attributes"]["email"],
        "ada@example.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_processs_deliveries_are_taken_over_within_seconds() {
    let app = TestApp::spawn().await;
    // A receiver that takes the call and never answers.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_url = format!("http://{}/hook", hang.local_addr().unwrap());
    let (webhook, _) = app.subscribe("customers.create", &hang_url, false).await;
    app.create_customer("ada@example.com", None).await;
    let worker = app.worker();
    let crashing = tokio::spawn(async move { worker.run_once().await });
    let _in_flight = hang.accept().await.unwrap(); // the call is under way...
    crashing.abort(); // ...when its process dies.
    let _ = crashing.await;

    // The receiver is fixed; another process finds the delivery leased.
    let receiver = Receiver::start().await;
    let moved = app
        .gql(
            Some(&app.integration),
            "mutation($id: ID!, $url: String!) { updateWebhook(input: { id: $id, callbackUrl: $url }) { userErrors { code } } }",
            json!({ "id": webhook, "url": receiver.url }),
        )
        .await;
    assert_eq!(moved["data"]["updateWebhook"]["userErrors"], json!([]));
    let other = app.other_process_worker().await;
    assert_eq!(other.run_once().await.unwrap(), 0, "the lease still holds");
    // Seconds later, not a minute, the dead process's lease has run out.
    app.clock.advance(Duration::seconds(11));
    assert_eq!(other.run_once().await.unwrap(), 1);
    assert_eq!(receiver.calls().len(), 1);
}
