//! The storefront queue under floods: bounded per mode, fair per network,
//! shedding the widest crowd, folding requests for one email.

use std::sync::Arc;

use pwreset::{HttpSettings, entity::reset_request, service::rate_limits::Limit};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::helpers::{CREATE_RESET, Options, TestApp};

/// A storefront create for `email` from `ip` (behind the trusted proxy); the HTTP status.
async fn create_from(app: &TestApp, ip: &str, email: &str) -> u16 {
    create_as(app, &app.sales_channel, ip, email).await
}

/// A create with `key` for `email` from `ip`; the HTTP status.
async fn create_as(app: &TestApp, key: &str, ip: &str, email: &str) -> u16 {
    let body = json!({ "query": CREATE_RESET, "variables": { "email": email } });
    app.client
        .post(app.url())
        .bearer_auth(key)
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Sends `requests` (ip, email) eight at a time; the statuses, in order.
async fn flood(app: &Arc<TestApp>, requests: Vec<(String, String)>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for chunk in requests.chunks(8) {
        let sent: Vec<_> = chunk
            .iter()
            .cloned()
            .map(|(ip, email)| {
                let app = app.clone();
                tokio::spawn(async move { create_from(&app, &ip, &email).await })
            })
            .collect();
        for request in sent {
            statuses.push(request.await.unwrap());
        }
    }
    statuses
}

fn behind_a_proxy() -> Options {
    let mut options = Options::with_http(HttpSettings {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..HttpSettings::default()
    });
    options.rate_limits.create_per_ip = Limit::per(20, 3_600);
    options
}

async fn queued(app: &TestApp) -> u64 {
    reset_request::Entity::find().count(&app.db).await.unwrap()
}

async fn resets_for(app: &TestApp, email: &str) -> u64 {
    let body = app
        .gql(
            Some(&app.integration),
            "query($e: String!) { customerPasswordResets(filter: { customerEmail: $e }) { totalCount } }",
            json!({ "e": email }),
        )
        .await;
    body["data"]["customerPasswordResets"]["totalCount"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_from_one_client_does_not_lock_other_shoppers_out() {
    let mut options = behind_a_proxy();
    // A per-key limit on the public key would be the store's off switch.
    options.rate_limits.create_per_key = Limit::per(100, 3_600);
    let app = Arc::new(TestApp::spawn_with(options).await);
    app.create_customer("shopper@example.com", None).await;
    // 300 creates for random emails, each from its own IPv6 address of one /64.
    let requests = (1..=300)
        .map(|n| (format!("2001:db8::{n:x}"), format!("random{n}@example.net")))
        .collect();
    let statuses = flood(&app, requests).await;
    let accepted = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(accepted, 20, "the flood's /64 counts as one client");
    assert!(statuses.iter().all(|s| [200, 429].contains(s)));

    let status = create_from(&app, "203.0.113.7", "shopper@example.com").await;
    assert_eq!(status, 200, "a shopper elsewhere is not rate-limited");
    app.run_jobs().await; // one poll of the background jobs
    assert_eq!(resets_for(&app, "shopper@example.com").await, 1);
    assert_eq!(queued(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_sheds_the_busiest_client_not_a_quiet_one() {
    let mut options = behind_a_proxy();
    options.rate_limits.create_per_ip = Limit::per(1_000, 3_600);
    options.rate_limits.storefront_queue_max = 40;
    let app = Arc::new(TestApp::spawn_with(options).await);
    app.create_customer("shopper@example.com", None).await;
    let busy = (1..=60)
        .map(|n| ("2001:db8:1::1".to_owned(), format!("busy{n}@example.net")))
        .collect();
    let statuses = flood(&app, busy).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 40);
    assert_eq!(queued(&app).await, 40, "the queue is bounded");

    // The queue is full, but the newcomer's client is quieter: the busiest
    // client's newest request makes room.
    let status = create_from(&app, "2001:db8:2::1", "shopper@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(queued(&app).await, 40);
    let shed = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents(filter: { outcome: [RATE_LIMITED] }) { nodes { reason clientIp } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        shed["data"]["passwordResetAuditEvents"]["nodes"],
        json!([{ "reason": "QUEUE_FULL", "clientIp": "2001:db8:1::1" }])
    );
    app.run_jobs().await;
    assert_eq!(resets_for(&app, "shopper@example.com").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_from_a_thousand_addresses_of_one_network_leaves_a_shopper_served() {
    let mut options = behind_a_proxy();
    options.rate_limits.storefront_queue_max = 100;
    let app = Arc::new(TestApp::spawn_with(options).await);
    app.create_customer("shopper@example.com", None).await;
    // One request each from 1,000 addresses of 198.18.0.0/16.
    let requests = (0..1_000)
        .map(|n| {
            let ip = format!("198.18.{}.{}", n / 250, n % 250 + 1);
            (ip, format!("spread{n}@example.net"))
        })
        .collect();
    let statuses = flood(&app, requests).await;
    assert!(statuses.iter().all(|s| [200, 429].contains(s)));
    // Full; concurrent requests may overshoot the bound by their number (8).
    let full = queued(&app).await;
    assert!((100..=108).contains(&full), "{full}");

    let status = create_from(&app, "203.0.113.7", "shopper@example.com").await;
    assert_eq!(
        status, 200,
        "a shopper from another network is served at once"
    );
    app.run_jobs().await;
    assert_eq!(resets_for(&app, "shopper@example.com").await, 1);
    let shopper_processed_first = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents(filter: { outcome: [CREATED] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        shopper_processed_first["data"]["passwordResetAuditEvents"]["totalCount"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_test_mode_flood_leaves_a_live_shopper_served() {
    let mut options = behind_a_proxy();
    options.rate_limits.storefront_queue_max = 20;
    let app = Arc::new(TestApp::spawn_with(options).await);
    let live = app.live_sales_channel.clone();
    // Twenty test-mode requests from twenty networks fill test mode's queue:
    // spread one per network, nothing can be shed for a twenty-first.
    let requests = (11..31)
        .map(|n| (format!("{n}.1.0.1"), format!("t{n}@example.net")))
        .collect();
    let statuses = flood(&app, requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        create_from(&app, "198.51.100.9", "more@example.net").await,
        429
    );
    // Live mode has its own queue and its own counters.
    assert_eq!(
        create_as(&app, &live, "198.51.100.9", "live@example.com").await,
        200
    );
    // Twenty more test creates from 11.1.0.1 use up its per-address limit
    // (20/h) in test mode; a live create from it still counts from zero.
    for n in 0..20 {
        create_from(&app, "11.1.0.1", &format!("again{n}@example.net")).await;
    }
    assert_eq!(
        create_as(&app, &live, "11.1.0.1", "live2@example.com").await,
        200
    );
}

#[tokio::test]
async fn a_second_request_for_a_queued_email_folds_into_the_first() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    for _ in 0..3 {
        let (status, _, _) = app
            .try_create_reset(&app.sales_channel, "Ada@Example.com")
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(queued(&app).await, 1);
    app.run_jobs().await;
    assert_eq!(
        resets_for(&app, "ada@example.com").await,
        1,
        "one token sent"
    );
    let outcomes = app
        .gql(
            Some(&app.integration),
            "{ passwordResetAuditEvents(filter: { action: CREATE }) { nodes { outcome } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        outcomes["data"]["passwordResetAuditEvents"]["nodes"],
        json!([{ "outcome": "CREATED" }, { "outcome": "CREATED" }, { "outcome": "CREATED" }]),
        "every folded request is resolved with the one it joined"
    );
}
