//! The reset email: the server mails the link itself, through a real SMTP
//! conversation with the test's sink, from the reset's outbox row. What the
//! email says is here; how it is delivered (retries, workers, leases) in
//! `delivery`.

mod changed;
mod delivery;

use std::sync::Arc;

use pwreset::{
    domain::DeliveryStatus,
    entity::reset_email,
    service::mail::{Channel, MailSettings, ModeMail, ResetUrl, SmtpTarget, Templates},
};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    helpers::{Options, TestApp, codes},
    smtp_sink::SmtpSink,
};

/// A storefront's create, with the email's page and language.
const REQUEST: &str = "mutation($input: CreateCustomerPasswordResetInput!) {
    createCustomerPasswordReset(input: $input) { customerPasswordReset { id } userErrors { field code } } }";

/// Test mode mailing through `sink`, as an operator would set it up.
pub(crate) fn mail_through(sink: &SmtpSink) -> MailSettings {
    let mut mail = MailSettings::development().unwrap();
    mail.test = ModeMail {
        channel: Channel::Smtp(Box::new(
            SmtpTarget::parse(&sink.url(), None, None).unwrap(),
        )),
        reset_url: Some(
            ResetUrl::parse("https://shop.example/reset-password?token={token}").unwrap(),
        ),
        forgot_url: Some("https://shop.example/forgot-password".into()),
    };
    mail.from = "Example Shop <no-reply@shop.example>".parse().unwrap();
    mail.shop_name = "Example Shop".into();
    mail.allowed_origins = vec!["https://shop.example".into()];
    mail
}

pub(super) async fn app_with(mail: MailSettings) -> TestApp {
    TestApp::spawn_with(Options {
        mail: Arc::new(mail),
        ..Options::default()
    })
    .await
}

/// The storefront's answer to a create for `input`.
pub(super) async fn request(app: &TestApp, input: Value) -> Value {
    app.gql(Some(&app.sales_channel), REQUEST, json!({ "input": input }))
        .await
}

#[tokio::test]
async fn a_storefront_reset_mails_a_link_that_completes_it_and_an_unknown_email_gets_nothing() {
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    app.create_customer("ada@example.com", Some("the old password"))
        .await;

    let known = request(&app, json!({ "customerEmail": "ada@example.com" })).await;
    let unknown = request(&app, json!({ "customerEmail": "nobody@example.com" })).await;
    assert_eq!(known, unknown, "the storefront learns nothing");
    assert!(
        sink.messages().is_empty(),
        "mail is sent by the jobs, not the request"
    );
    app.run_jobs().await;

    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "one email, to the known address only");
    let mail = &messages[0];
    assert_eq!(mail.to, ["<ada@example.com>"]);
    assert_eq!(mail.from, "<no-reply@shop.example>");
    assert_eq!(mail.header("Subject"), "Reset your Example Shop password");
    assert!(
        mail.link()
            .starts_with("https://shop.example/reset-password?token=")
    );
    // In HTML the link is escaped (`/` as `&#x2f;`), as every attribute value is.
    let html = mail.body("text/html").replace("&#x2f;", "/");
    assert!(
        html.contains("href=\"https://shop.example/reset-password?token="),
        "{html}"
    );
    let token = mail.token();
    assert_eq!(
        mail.body("text/plain").matches(&token).count(),
        1,
        "the token is in the link once"
    );

    let done = app
        .complete(&app.sales_channel, &token, "a brand new passphrase")
        .await;
    assert_eq!(done["userErrors"], json!([]), "{done}");
    assert_eq!(done["customerPasswordReset"]["status"], "COMPLETED");
    app.run_jobs().await;
    let messages = sink.messages();
    assert_eq!(
        messages.len(),
        2,
        "the link once, then the password-changed email"
    );
    assert!(messages[1].header("Subject").contains("was changed"));
    // Sent, the token is forgotten.
    let rows = reset_email::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.status == DeliveryStatus::Delivered && r.token.is_none())
    );
}

#[tokio::test]
async fn a_redirect_url_is_used_only_when_its_origin_is_allowed() {
    let sink = SmtpSink::start().await;
    let app = app_with(mail_through(&sink)).await;
    app.create_customer("ada@example.com", None).await;

    let refused = request(
        &app,
        json!({ "customerEmail": "ada@example.com", "redirectUrl": "https://evil.example/steal" }),
    )
    .await;
    let payload = &refused["data"]["createCustomerPasswordReset"];
    assert_eq!(codes(payload), ["REDIRECT_URL_NOT_ALLOWED"]);
    assert_eq!(
        payload["userErrors"][0]["field"],
        json!(["input", "redirectUrl"])
    );
    // User information of any form, on the allowed origin itself.
    for url in [
        "https://:pw@shop.example/reset",
        "https://@shop.example/reset",
        "https://user@shop.example/reset",
    ] {
        let refused = request(
            &app,
            json!({ "customerEmail": "ada@example.com", "redirectUrl": url }),
        )
        .await;
        let payload = &refused["data"]["createCustomerPasswordReset"];
        assert_eq!(codes(payload), ["REDIRECT_URL_NOT_ALLOWED"], "{url}");
    }
    app.run_jobs().await;
    assert!(sink.messages().is_empty(), "a refused create sends nothing");

    let allowed = request(
        &app,
        json!({ "customerEmail": "ada@example.com", "redirectUrl": "https://shop.example/account/new-password?from=mail" }),
    )
    .await;
    assert_eq!(
        codes(&allowed["data"]["createCustomerPasswordReset"]),
        Vec::<String>::new()
    );
    app.run_jobs().await;
    let link = sink.messages()[0].link();
    let token = sink.messages()[0].token();
    assert_eq!(
        link,
        format!("https://shop.example/account/new-password?from=mail&token={token}")
    );
}

/// Links with the token in the fragment (`#token=…`), which browsers send
/// neither to a server nor in `Referer`: from `RESET_URL`, and from a
/// storefront's `redirectUrl` that ends in `#`. Each completes its reset.
#[tokio::test]
async fn links_with_the_token_in_the_fragment_work_end_to_end() {
    let sink = SmtpSink::start().await;
    let mut mail = mail_through(&sink);
    mail.test.reset_url =
        Some(ResetUrl::parse("https://shop.example/reset-password#token={token}").unwrap());
    let app = app_with(mail).await;
    for email in ["ada@example.com", "bea@example.com"] {
        app.create_customer(email, None).await;
    }
    request(&app, json!({ "customerEmail": "ada@example.com" })).await;
    let redirect = "https://shop.example/account/new-password?from=mail#";
    let asked = request(
        &app,
        json!({ "customerEmail": "bea@example.com", "redirectUrl": redirect }),
    )
    .await;
    assert_eq!(
        codes(&asked["data"]["createCustomerPasswordReset"]),
        Vec::<String>::new()
    );
    app.run_jobs().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    for (message, page) in messages.iter().zip([
        "https://shop.example/reset-password#token=",
        "https://shop.example/account/new-password?from=mail#token=",
    ]) {
        let link = message.link();
        assert!(link.starts_with(page), "{link}");
        let token = message.token();
        assert!(
            !link.contains(&format!("?token={token}")),
            "not in the query: {link}"
        );
        let done = app
            .complete(&app.sales_channel, &token, "a brand new password")
            .await;
        assert_eq!(done["userErrors"], json!([]));
    }
}

#[tokio::test]
async fn the_email_speaks_the_language_asked_for_and_templates_can_be_overridden() {
    let dir = std::env::temp_dir().join(format!("pwreset-templates-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("en")).unwrap();
    std::fs::write(dir.join("en/subject.txt"), "Your {{ shop_name }} link").unwrap();
    let sink = SmtpSink::start().await;
    let mut mail = mail_through(&sink);
    mail.templates = Templates::load(Some(&dir)).unwrap();
    let app = app_with(mail).await;
    app.create_customer("ada@example.com", None).await;
    app.create_customer("bea@example.com", None).await;

    request(
        &app,
        json!({ "customerEmail": "ada@example.com", "locale": "de-CH" }),
    )
    .await;
    request(&app, json!({ "customerEmail": "bea@example.com" })).await;
    let bad = request(
        &app,
        json!({ "customerEmail": "bea@example.com", "locale": "../../etc" }),
    )
    .await;
    assert_eq!(
        codes(&bad["data"]["createCustomerPasswordReset"]),
        ["INVALID_LOCALE"]
    );
    app.run_jobs().await;

    let messages = sink.messages();
    let to = |who: &str| messages.iter().find(|m| m.to[0].contains(who)).unwrap();
    assert_eq!(
        to("ada").header("Subject"),
        "Ihr Passwort bei Example Shop zurücksetzen"
    );
    assert!(
        to("ada")
            .body("text/plain")
            .contains("Um ein neues Passwort zu wählen")
    );
    assert_eq!(
        to("bea").header("Subject"),
        "Your Example Shop link",
        "the override"
    );
    assert!(
        to("bea")
            .body("text/plain")
            .contains("To choose a new password"),
        "built-in body kept"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn html_escapes_what_the_customer_typed() {
    let sink = SmtpSink::start().await;
    let mut mail = mail_through(&sink);
    mail.shop_name = "Bits <&> Bytes".into();
    let app = app_with(mail).await;
    let address = "o'hara&co@example.com";
    app.create_customer(address, None).await;
    request(&app, json!({ "customerEmail": address })).await;
    app.run_jobs().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let html = messages[0].body("text/html");
    assert!(html.contains("o&#x27;hara&amp;co@example.com"), "{html}");
    assert!(html.contains("Bits &lt;&amp;&gt; Bytes"), "{html}");
    assert!(!html.contains(address) && !html.contains("<&>"), "{html}");
    assert!(
        messages[0].body("text/plain").contains(address),
        "plain text stays plain"
    );

    // An address no mail server would take is refused when it is given, so
    // nothing is queued for it.
    let odd = "\"<b>ada</b>\"@example.com";
    let refused = request(&app, json!({ "customerEmail": odd })).await;
    assert_eq!(
        refused["data"]["createCustomerPasswordReset"]["userErrors"][0]["code"], "INVALID_EMAIL",
        "{refused}"
    );
    // A mailbox the mail server refuses for good fails at once, with the
    // reason, and is not tried again.
    app.create_customer("gone@example.com", None).await;
    request(&app, json!({ "customerEmail": "gone@example.com" })).await;
    app.run_jobs().await;
    app.clock.advance(chrono::Duration::minutes(30));
    app.run_jobs().await;
    assert_eq!(sink.messages().len(), 1);
    let rows = reset_email::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 2, "nothing queued for the refused address");
    let failed = rows
        .iter()
        .find(|r| r.recipient == "gone@example.com")
        .unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.attempt_count),
        ("failed", 1)
    );
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("no such mailbox"),
        "{failed:?}"
    );
}
