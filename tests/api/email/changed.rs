//! "Your password was changed": after every completed reset, through the
//! same outbox and SMTP sink, in the language the reset was asked in, with
//! the time and network of the change and no token or reset link.

use pwreset::{HttpSettings, service::Clock};
use serde_json::json;

use super::{app_with, mail_through, request};
use crate::{
    helpers::{Options, TestApp},
    smtp_sink::SmtpSink,
};

#[tokio::test]
async fn a_completed_reset_is_followed_by_a_password_changed_email_in_its_language() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Options {
        http: HttpSettings {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..HttpSettings::default()
        },
        mail: std::sync::Arc::new(mail_through(&sink)),
        ..Options::default()
    })
    .await;
    for (email, locale) in [("ada@example.com", "en"), ("bea@example.com", "de-CH")] {
        app.create_customer(email, None).await;
        request(&app, json!({ "customerEmail": email, "locale": locale })).await;
    }
    app.run_jobs().await;
    let resets = sink.messages();
    assert_eq!(resets.len(), 2);
    for (n, reset) in resets.iter().enumerate() {
        let token = reset.token();
        let completed: serde_json::Value = app
            .client
            .post(app.url())
            .bearer_auth(&app.sales_channel)
            .header("x-forwarded-for", format!("198.51.100.{}", n + 7))
            .json(&json!({
                "query": "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new password\" }) { userErrors { code } } }",
                "variables": { "t": token },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            completed["data"]["completeCustomerPasswordReset"]["userErrors"],
            json!([])
        );
    }
    app.run_jobs().await;
    let all = sink.messages();
    assert_eq!(all.len(), 4, "one more email per completed reset");
    for (changed, reset, subject) in [
        (
            &all[2],
            &resets[0],
            "Your Example Shop password was changed",
        ),
        (
            &all[3],
            &resets[1],
            "Ihr Passwort bei Example Shop wurde geändert",
        ),
    ] {
        assert_eq!(changed.header("To"), reset.header("To"));
        assert_eq!(changed.header("Subject"), subject);
        let text = changed.body("text/plain");
        let html = changed.body("text/html");
        assert!(text.contains("198.51.100.0/24"), "the network: {text}");
        assert!(
            text.contains("https://shop.example/forgot-password"),
            "{text}"
        );
        assert!(text.contains(&format!("{} UTC", app.clock.now().format("%Y-%m-%d %H:%M"))));
        let token = reset.token();
        for body in [&text, &html] {
            assert!(!body.contains(&token), "no token");
            assert!(!body.contains("reset-password"), "no reset link");
        }
    }
}

#[tokio::test]
async fn password_changed_email_false_sends_none() {
    let sink = SmtpSink::start().await;
    let mut mail = mail_through(&sink);
    mail.password_changed = false;
    let app = app_with(mail).await;
    app.create_customer("ada@example.com", None).await;
    request(&app, json!({ "customerEmail": "ada@example.com" })).await;
    app.run_jobs().await;
    let token = sink.messages()[0].token();
    let done = app
        .complete(&app.sales_channel, &token, "a brand new password")
        .await;
    assert_eq!(done["userErrors"], json!([]));
    app.run_jobs().await;
    assert_eq!(sink.messages().len(), 1, "the reset email only");
}
