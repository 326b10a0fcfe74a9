//! Changing the token key: a process that lacks the key a pending email or
//! webhook delivery was sealed with leaves it for one that has it, and the
//! documented rotation (the new key as a second key everywhere, then the
//! switch, then the old key dropped) delivers everything exactly once.

use std::sync::Arc;

use pwreset::{
    domain::DeliveryStatus,
    entity::{reset_email, webhook_delivery},
    service::sealing::{SealingKey, TokenSealer},
};
use sea_orm::EntityTrait;

use crate::{
    email::mail_through,
    helpers::{Options, TestApp},
    receiver::Receiver,
    smtp_sink::SmtpSink,
};

/// Every email and delivery row: (status, attempts, whether it still holds its token).
async fn rows(app: &TestApp) -> Vec<(DeliveryStatus, i32, bool)> {
    let emails = reset_email::Entity::find().all(&app.db).await.unwrap();
    let deliveries = webhook_delivery::Entity::find().all(&app.db).await.unwrap();
    emails
        .into_iter()
        .map(|e| (e.status, e.attempt_count, e.token.is_some()))
        .chain(
            deliveries
                .into_iter()
                .map(|d| (d.status, d.attempt_count, d.token.is_some())),
        )
        .collect()
}

/// `app`'s options with a sealer of `current` (opening `second` too).
fn with_keys(app: &TestApp, current: &SealingKey, second: Option<&SealingKey>) -> Options {
    Options {
        sealer: TokenSealer::new(current, second),
        ..app.options.clone()
    }
}

#[tokio::test]
async fn a_key_rotation_across_two_processes_loses_no_email_and_no_webhook() {
    let (k1, k2) = (SealingKey::generate(), SealingKey::generate());
    let sink = SmtpSink::start().await;
    let receiver = Receiver::start().await;
    let a = TestApp::spawn_with(Options {
        sealer: TokenSealer::new(&k1, None),
        mail: Arc::new(mail_through(&sink)),
        ..Options::default()
    })
    .await;
    a.subscribe("customer_password_resets.create", &receiver.url, false)
        .await;
    for n in 0..3 {
        let email = format!("shopper{n}@example.com");
        a.create_customer(&email, None).await;
        a.create_reset(&email).await;
    }

    // The mistake: a replica that has only the new key. It leaves every item
    // alone (no attempt, no failure, the token kept), and says so.
    let b = a.second_process_with(with_keys(&a, &k2, None)).await;
    assert_eq!(b.run_jobs().await, 0);
    assert!(sink.messages().is_empty() && receiver.calls().is_empty());
    let untouched = vec![(DeliveryStatus::Pending, 0, true); 6];
    assert_eq!(rows(&a).await, untouched);
    let metrics = b.metrics().await;
    for kind in ["email", "webhook"] {
        let line = format!(
            "pwreset_sealed_tokens_unopenable{{key_id=\"{}\",kind=\"{kind}\"}} 3",
            k1.id()
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }

    // The rotation. 1: the new key as a second key everywhere; 2: the switch,
    // new items sealed with the new key while the old one still opens the rest.
    drop(b);
    let mut a = a;
    a.options = with_keys(&a, &k2, Some(&k1));
    let a = a.restart().await;
    let b = a.second_process_with(with_keys(&a, &k2, Some(&k1))).await;
    for n in 3..5 {
        let email = format!("shopper{n}@example.com");
        b.create_customer(&email, None).await;
        b.create_reset(&email).await;
    }
    let attempts = b.run_jobs().await + a.run_jobs().await + b.run_jobs().await;
    assert_eq!(attempts, 5, "each webhook delivery attempted once");
    assert_eq!(sink.messages().len(), 5, "each email sent once");
    assert_eq!(receiver.calls().len(), 5);
    let delivered = vec![(DeliveryStatus::Delivered, 1, false); 10];
    assert_eq!(rows(&a).await, delivered, "none failed");

    // 3: the old key dropped; nothing it sealed is left.
    let c = a.second_process_with(with_keys(&a, &k2, None)).await;
    let left = c.worker().check_sealed(tracing::Level::WARN).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}
