//! One-time codes: a reset delivered as a code (or a link and a code)
//! arrives in the email and in the create webhook, completes with the
//! customer's email, takes a capped number of wrong codes from any address,
//! answers every miss alike, and is kept so that the database alone cannot
//! give it back.

use std::sync::Arc;

use chrono::Duration;
use pwreset::{
    HttpSettings,
    domain::{Delivery, ResetCode},
    entity::customer_password_reset as reset,
    service::{
        codes::CodeSettings,
        rate_limits::Limit,
        sealing::{SealingKey, TokenSealer},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    email::{mail_through, request},
    helpers::{Options, TestApp, codes},
    receiver::Receiver,
    smtp_sink::SmtpSink,
};

const COMPLETE: &str = "mutation($input: CompleteCustomerPasswordResetInput!) {
    completeCustomerPasswordReset(input: $input) {
        customerPasswordReset { id status } userErrors { field code message } } }";

/// An integration's create with `delivery`: the reset's id, token and code.
async fn create(app: &TestApp, email: &str, delivery: &str) -> (String, String, String) {
    let body = app
        .gql(
            Some(&app.integration),
            "mutation($input: CreateCustomerPasswordResetInput!) {
                createCustomerPasswordReset(input: $input) {
                    customerPasswordReset { id resetPasswordToken resetPasswordCode delivery }
                    userErrors { code } } }",
            json!({ "input": { "customerEmail": email, "delivery": delivery } }),
        )
        .await;
    let reset = &body["data"]["createCustomerPasswordReset"]["customerPasswordReset"];
    assert_eq!(reset["delivery"], delivery, "{body}");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&reset["id"]),
        text(&reset["resetPasswordToken"]),
        text(&reset["resetPasswordCode"]),
    )
}

/// The raw answer to a complete with `email` and `code`, sent by the
/// storefront from `ip` (behind the trusted proxy).
async fn by_code_from(app: &TestApp, ip: &str, email: &str, code: &str, password: &str) -> String {
    let input = json!({ "customerEmail": email, "code": code, "customerPassword": password });
    app.client
        .post(app.url())
        .bearer_auth(&app.sales_channel)
        .header("x-forwarded-for", ip)
        .json(&json!({ "query": COMPLETE, "variables": { "input": input } }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The payload of a storefront's complete with `email` and `code`.
async fn by_code(app: &TestApp, email: &str, code: &str, password: &str) -> Value {
    let body = by_code_from(app, "198.51.100.1", email, code, password).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["completeCustomerPasswordReset"].clone()
}

/// Another code of the same length.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
        .collect()
}

fn behind_proxy() -> Options {
    Options {
        http: HttpSettings {
            trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
            ..HttpSettings::default()
        },
        ..Options::default()
    }
}

#[tokio::test]
async fn a_code_the_storefront_asks_for_arrives_by_email_and_completes_the_reset() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(Options {
        mail: Arc::new(mail_through(&sink)),
        // This mode sends codes unless a create says otherwise.
        codes: CodeSettings {
            test: Delivery::Code,
            ..CodeSettings::default()
        },
        ..behind_proxy()
    })
    .await;
    app.create_customer("ada@example.com", Some("the old password"))
        .await;
    app.create_customer("bea@example.com", None).await;
    let known = request(&app, json!({ "customerEmail": "ada@example.com" })).await;
    let unknown = request(&app, json!({ "customerEmail": "nobody@example.com" })).await;
    assert_eq!(known, unknown, "the storefront learns nothing");
    let both =
        json!({ "customerEmail": "bea@example.com", "delivery": "LINK_AND_CODE", "locale": "de" });
    request(&app, both).await;
    app.run_jobs().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);

    // A code alone: no link in either body.
    let ada = &messages[0];
    assert_eq!(ada.to, ["<ada@example.com>"]);
    let code = ada.code().expect("the email holds a code");
    assert_eq!(code.len(), 8);
    let (text, html) = (ada.body("text/plain"), ada.body("text/html"));
    assert!(
        text.contains("enter this code") && text.contains("15 minutes"),
        "{text}"
    );
    assert!(html.contains(&code));
    for body in [&text, &html] {
        assert!(
            !body.contains("reset-password") && !body.contains("token="),
            "{body}"
        );
    }
    // Typed with a space and in another letter case, from another device.
    let typed = format!("{} {}", &code[..4], &code[4..]);
    let done = by_code(&app, "ADA@example.com", &typed, "a brand new password").await;
    assert_eq!(done["userErrors"], json!([]));
    assert_eq!(done["customerPasswordReset"]["status"], "COMPLETED");
    let again = by_code(&app, "ada@example.com", &code, "another new password").await;
    assert_eq!(codes(&again), ["TOKEN_INVALID"], "a code works once");

    // A link and a code, in German: either completes.
    let bea = &messages[1];
    let text = bea.body("text/plain");
    assert!(text.contains("https://shop.example/reset-password?token="));
    assert!(text.contains("diesen Code"), "{text}");
    let code = bea.code().expect("the email holds a code");
    let done = by_code(&app, "bea@example.com", &code, "a brand new password").await;
    assert_eq!(done["userErrors"], json!([]));
    let token = bea.token();
    let late = app
        .complete(&app.sales_channel, &token, "yet another password")
        .await;
    assert_eq!(codes(&late), ["TOKEN_ALREADY_USED"], "one reset, one use");
}

#[tokio::test]
async fn four_wrong_codes_then_the_right_one_complete_and_five_void_the_reset() {
    let app = TestApp::spawn_with(behind_proxy()).await;
    for email in ["ada@example.com", "bea@example.com"] {
        app.create_customer(email, None).await;
    }
    let (_, _, code) = create(&app, "ada@example.com", "CODE").await;
    assert_eq!(code.len(), 8);
    // Each wrong code from another address: the cap is the reset's.
    for n in 0..4 {
        let ip = format!("203.0.{n}.9");
        let body = by_code_from(
            &app,
            &ip,
            "ada@example.com",
            &wrong(&code),
            "a new password",
        )
        .await;
        let body: Value = serde_json::from_str(&body).unwrap();
        let payload = &body["data"]["completeCustomerPasswordReset"];
        assert_eq!(codes(payload), ["TOKEN_INVALID"]);
        assert_eq!(payload["userErrors"][0]["field"], json!(["input", "code"]));
    }
    // The right code with a refused password costs no attempt.
    let short = by_code(&app, "ada@example.com", &code, "short").await;
    assert_eq!(codes(&short), ["PASSWORD_TOO_SHORT"]);
    let done = by_code(&app, "ada@example.com", &code, "a brand new password").await;
    assert_eq!(
        done["userErrors"],
        json!([]),
        "the fifth try, right, completes"
    );
    assert!(app.password_digest("ada@example.com").await.is_some());

    let (id, token, code) = create(&app, "bea@example.com", "CODE").await;
    for n in 0..5 {
        let ip = format!("203.0.{n}.9");
        by_code_from(
            &app,
            &ip,
            "bea@example.com",
            &wrong(&code),
            "a new password",
        )
        .await;
    }
    let late = by_code(&app, "bea@example.com", &code, "a brand new password").await;
    assert_eq!(codes(&late), ["TOKEN_INVALID"], "five wrong codes void it");
    let voided = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customerPasswordReset(id: $id) { status codeAttempts } }",
            json!({ "id": id }),
        )
        .await;
    let voided = &voided["data"]["customerPasswordReset"];
    assert_eq!(voided["status"], "INVALIDATED");
    assert_eq!(voided["codeAttempts"], 5);
    let token_too = app
        .complete(&app.sales_channel, &token, "a brand new password")
        .await;
    assert_eq!(
        codes(&token_too),
        ["TOKEN_INVALIDATED"],
        "the whole reset is void"
    );
    assert!(app.password_digest("bea@example.com").await.is_none());
}

#[tokio::test]
async fn every_miss_answers_alike_runs_the_same_statements_and_counts_per_address() {
    let app = TestApp::spawn_with(Options {
        rate_limits: pwreset::service::rate_limits::RateLimits {
            complete_per_ip: Limit::per(4, 3_600),
            create_per_ip: Limit::per(100, 3_600),
            ..Default::default()
        },
        ..behind_proxy()
    })
    .await;
    app.create_customer("ada@example.com", None).await;
    app.create_customer("carl@example.com", None).await;
    let (_, _, code) = create(&app, "ada@example.com", "CODE").await;
    let (_, _, carls) = create(&app, "carl@example.com", "LINK").await;
    assert_eq!(carls, "", "a link alone has no code");
    let ip = "192.0.2.1";
    let guess = wrong(&code);
    // The key is looked up once, then cached: warm it from another address.
    by_code_from(
        &app,
        "192.0.2.200",
        "nobody@example.com",
        &guess,
        "a new password",
    )
    .await;
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com", "carl@example.com"] {
        app.take_statements();
        let body = by_code_from(&app, ip, email, &guess, "a new password").await;
        answers.push((body, app.take_statements()));
    }
    assert_eq!(
        answers[0], answers[1],
        "an unknown email answers like a wrong code"
    );
    assert_eq!(answers[0], answers[2], "so does a reset without a code");
    assert!(answers[0].0.contains("TOKEN_INVALID"));
    by_code_from(&app, ip, "nobody@example.com", &guess, "a new password").await;
    let limited = app
        .client
        .post(app.url())
        .bearer_auth(&app.sales_channel)
        .header("x-forwarded-for", ip)
        .json(&json!({ "query": COMPLETE, "variables": { "input": {
            "customerEmail": "ada@example.com", "code": code, "customerPassword": "a new password" } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        limited.status(),
        429,
        "codes count toward the per-address limit"
    );
}

#[tokio::test]
async fn a_copy_of_the_database_cannot_give_a_code_back() {
    let key = SealingKey::generate();
    let app = TestApp::spawn_with(Options {
        sealer: TokenSealer::new(&key, None),
        codes: CodeSettings {
            digits: 6,
            ..CodeSettings::default()
        },
        ..Options::default()
    })
    .await;
    app.create_customer("ada@example.com", None).await;
    let (id, _, code) = create(&app, "ada@example.com", "CODE").await;
    let row = reset::Entity::find()
        .filter(reset::Column::PublicId.eq(id.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let stored = row.code_digest.clone().unwrap();
    let (_, hex) = stored.split_once('.').unwrap();
    let stored: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    // Every unkeyed digest of every code, alone or before or after what the
    // row holds.
    let row_texts = [
        id.as_str(),
        row.customer_email.as_str(),
        row.token_digest.as_str(),
    ];
    let mut prefixes = vec![Sha256::new()];
    for text in row_texts {
        prefixes.push(Sha256::new().chain_update(text));
        prefixes.push(Sha256::new().chain_update(text).chain_update("\0"));
    }
    let mut candidate = *b"000000";
    for n in 0..1_000_000u32 {
        let mut rest = n;
        for place in candidate.iter_mut().rev() {
            *place = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let before = prefixes
            .iter()
            .map(|prefix| prefix.clone().chain_update(candidate).finalize());
        let after = row_texts.iter().map(|text| {
            Sha256::new()
                .chain_update(candidate)
                .chain_update(text)
                .finalize()
        });
        assert!(
            before.chain(after).all(|f| f.as_slice() != stored),
            "the code was found from the database alone"
        );
    }
    // With the token key, which lives outside the database, it is found.
    let keys = TokenSealer::new(&key, None);
    let digest = row.code_digest.as_deref();
    let first = code.parse::<u32>().unwrap() / 1_000 * 1_000;
    let found: Vec<u32> = (first..first + 1_000)
        .filter(|n| {
            let candidate = ResetCode::from_client(&format!("{n:06}"));
            keys.codes().matches(digest, &candidate, &id)
        })
        .collect();
    assert_eq!(found, [code.parse::<u32>().unwrap()]);
}

#[tokio::test]
async fn the_create_webhook_carries_the_code_and_a_code_ends_sooner_than_a_link() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    app.subscribe("customer_password_resets.create", &receiver.url, false)
        .await;
    app.create_customer("ada@example.com", None).await;
    let (id, token, code) = create(&app, "ada@example.com", "LINK_AND_CODE").await;
    assert_eq!(app.run_jobs().await, 1);
    let sent = receiver.calls()[0].json();
    let attributes = &sent["data"]["attributes"];
    assert_eq!(attributes["reset_password_token"], token);
    assert_eq!(attributes["reset_password_code"], code);
    let stored = app.dump_database().await;
    assert!(
        !stored.contains(&token) && !stored.contains(&code),
        "sealed at rest"
    );

    let shown = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customerPasswordReset(id: $id) { expiresAt codeExpiresAt resetPasswordCode } }",
            json!({ "id": id }),
        )
        .await;
    let shown = &shown["data"]["customerPasswordReset"];
    assert_eq!(shown["resetPasswordCode"], Value::Null, "shown once");
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        at(&shown["expiresAt"]) - at(&shown["codeExpiresAt"]),
        Duration::minutes(345)
    );

    // Past the code's 15 minutes, the code fails and the link still works.
    app.clock.advance(Duration::minutes(16));
    let late = by_code(&app, "ada@example.com", &code, "a brand new password").await;
    assert_eq!(codes(&late), ["TOKEN_INVALID"]);
    let done = app
        .complete(&app.sales_channel, &token, "a brand new password")
        .await;
    assert_eq!(done["userErrors"], json!([]));

    // A code alone: the reset ends with its code.
    let (id, _, _) = create(&app, "ada@example.com", "CODE").await;
    let shown = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customerPasswordReset(id: $id) { expiresAt codeExpiresAt } }",
            json!({ "id": id }),
        )
        .await;
    let shown = &shown["data"]["customerPasswordReset"];
    assert_eq!(shown["expiresAt"], shown["codeExpiresAt"]);
}

#[tokio::test]
async fn a_complete_gives_a_token_or_an_email_and_a_code() {
    let app = TestApp::spawn().await;
    app.create_customer("ada@example.com", None).await;
    let (_, token, code) = create(&app, "ada@example.com", "LINK_AND_CODE").await;
    for input in [
        json!({ "resetPasswordToken": token, "customerEmail": "ada@example.com", "code": code, "customerPassword": "a brand new password" }),
        json!({ "customerPassword": "a brand new password" }),
        json!({ "code": code, "customerPassword": "a brand new password" }),
    ] {
        let body = app
            .gql(
                Some(&app.sales_channel),
                COMPLETE,
                json!({ "input": input }),
            )
            .await;
        let payload = &body["data"]["completeCustomerPasswordReset"];
        assert_eq!(codes(payload), ["TOKEN_OR_CODE_REQUIRED"], "{input}");
    }
    assert!(app.password_digest("ada@example.com").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_never_pass_the_cap() {
    let app = Arc::new(TestApp::spawn_with(behind_proxy()).await);
    app.create_customer("ada@example.com", None).await;
    let (id, _, code) = create(&app, "ada@example.com", "CODE").await;
    let guess = wrong(&code);
    let guesses: Vec<_> = (0..20)
        .map(|n| {
            let (app, guess) = (app.clone(), guess.clone());
            tokio::spawn(async move {
                let ip = format!("203.0.113.{n}");
                by_code_from(&app, &ip, "ada@example.com", &guess, "a new password").await
            })
        })
        .collect();
    for guess in guesses {
        assert!(guess.await.unwrap().contains("TOKEN_INVALID"));
    }
    let shown = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customerPasswordReset(id: $id) { status codeAttempts } }",
            json!({ "id": id }),
        )
        .await;
    let shown = &shown["data"]["customerPasswordReset"];
    assert_eq!(
        shown["codeAttempts"], 5,
        "twenty guesses at once, five counted"
    );
    assert_eq!(shown["status"], "INVALIDATED");
}
