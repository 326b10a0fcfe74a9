//! The password policy, Argon2id upgrades, and the bound on hashing.

use pwreset::service::password::{Argon2Params, HashingSettings};
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, codes, error_codes, start_time};

#[tokio::test]
async fn weak_passwords_are_refused_with_their_own_codes_and_the_token_stays_usable() {
    let app = TestApp::spawn().await;
    app.create_customer("grace.hopper@example.com", None).await;
    let (id, token) = app.create_reset("grace.hopper@example.com").await;
    for (password, code) in [
        ("password123", "PASSWORD_TOO_COMMON"),
        ("Iloveyou1", "PASSWORD_TOO_COMMON"),
        ("grace.hopper rocks", "PASSWORD_CONTAINS_EMAIL"),
        ("me@GRACE.HOPPER@example.com", "PASSWORD_CONTAINS_EMAIL"),
        ("short", "PASSWORD_TOO_SHORT"),
    ] {
        assert_eq!(
            codes(&app.complete(&app.sales_channel, &token, password).await),
            [code],
            "{password}"
        );
    }
    assert_eq!(app.reset(&id).await["status"], "PENDING");
    let created = app
        .gql(
            Some(&app.integration),
            r#"mutation { createCustomer(input: { email: "linus@example.com", password: "qwerty123" }) { userErrors { code } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        codes(&created["data"]["createCustomer"]),
        ["PASSWORD_TOO_COMMON"]
    );

    let done = app
        .complete(&app.sales_channel, &token, "compiler pioneer 1906")
        .await;
    assert_eq!(done["userErrors"], json!([]));
    let customer = app.reset(&id).await["customer"]["id"].clone();
    let body = app
        .gql(
            Some(&app.integration),
            "query($id: ID!) { customer(id: $id) { passwordChangedAt } }",
            json!({ "id": customer }),
        )
        .await;
    let changed: chrono::DateTime<chrono::Utc> = body["data"]["customer"]["passwordChangedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(changed, start_time());

    let strict = TestApp::spawn_with(Options {
        hashing: HashingSettings {
            password_min_length: 15,
            ..Options::default().hashing
        },
        ..Options::default()
    })
    .await;
    strict.create_customer("ada@example.com", None).await;
    let (_, token) = strict.create_reset("ada@example.com").await;
    assert_eq!(
        codes(
            &strict
                .complete(&strict.sales_channel, &token, "fourteen chars")
                .await
        ),
        ["PASSWORD_TOO_SHORT"]
    );
    assert_eq!(
        codes(
            &strict
                .complete(&strict.sales_channel, &token, "fifteen chars!!")
                .await
        ),
        Vec::<String>::new()
    );
}

async fn outdated(app: &TestApp, customer: &str) -> bool {
    let query = "query($id: ID!) { customer(id: $id) { passwordHashOutdated } }";
    let body = app
        .gql(Some(&app.integration), query, json!({ "id": customer }))
        .await;
    body["data"]["customer"]["passwordHashOutdated"]
        .as_bool()
        .unwrap()
}

#[tokio::test]
async fn a_digest_made_with_weaker_parameters_is_upgraded_when_the_password_is_next_set() {
    let app = TestApp::spawn().await; // the OWASP minimum
    let customer = app
        .create_customer("ada@example.com", Some("the first passphrase"))
        .await;
    let stronger = Options {
        hashing: HashingSettings {
            argon2: Argon2Params {
                memory_kib: 24_576,
                iterations: 3,
                parallelism: 1,
            },
            ..Options::default().hashing
        },
        ..Options::default()
    };
    // The same database, now served with stronger parameters.
    let app = {
        let mut app = app;
        app.options = stronger;
        app.restart().await
    };
    assert!(outdated(&app, &customer).await);
    let (_, token) = app.create_reset("ada@example.com").await;
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "the second passphrase")
                .await
        ),
        Vec::<String>::new()
    );
    assert!(!outdated(&app, &customer).await);
    let digest = app.password_digest("ada@example.com").await.unwrap();
    assert!(
        digest.starts_with("$argon2id$v=19$m=24576,t=3,p=1$"),
        "{digest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_refuses_completes_while_reads_still_answer() {
    let options = Options {
        hashing: HashingSettings {
            concurrency: Some(1),
            queue_timeout: std::time::Duration::from_millis(100),
            ..Options::default().hashing
        },
        ..Options::default()
    };
    let app = std::sync::Arc::new(TestApp::spawn_with(options).await);
    app.create_customer("ada@example.com", None).await;
    let (id, token) = app.create_reset("ada@example.com").await;

    let busy = app.hasher.occupy_all().await; // every hashing slot taken
    let burst: Vec<_> = (0..3)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                let body = json!({ "query": "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new passphrase\" }) { userErrors { code } } }",
                                   "variables": { "t": token } });
                let response = app.post(Some(&app.sales_channel), &body).await;
                (response.status().as_u16(), response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let read = app
        .gql(
            Some(&app.integration),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["customers"]["totalCount"], 1,
        "reads answer while hashing is saturated"
    );
    for answer in burst {
        let (status, body) = answer.await.unwrap();
        assert_eq!(status, 429, "{body}");
        assert_eq!(error_codes(&body), ["TOO_MANY_REQUESTS"]);
        assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1);
    }
    assert_eq!(
        app.reset(&id).await["status"],
        "PENDING",
        "refused completes change nothing"
    );
    drop(busy);
    assert_eq!(
        codes(
            &app.complete(&app.sales_channel, &token, "a brand new passphrase")
                .await
        ),
        Vec::<String>::new()
    );
}
