//! What the server writes to its log: JSON lines with the request id and operation, never a secret.

use std::{
    io::{BufRead, BufReader, Read},
    process::Stdio,
};

use serde_json::json;

use super::spawn_server;
use crate::helpers::TestDb;

#[tokio::test]
async fn json_logs_carry_the_request_id_and_operation_but_no_secrets() {
    let db = TestDb::sqlite_file();
    let env = [
        ("METRICS_ADDR", ""),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
        // Test mode's emails to a port where nothing listens: the
        // development mailer (which logs test-mode links on purpose) is off.
        ("TEST_SMTP_URL", "smtp://127.0.0.1:9?tls=none"),
        ("MAIL_FROM", "shop@example.com"),
    ];
    let mut child = spawn_server(&db, &env, Stdio::piped());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Keep reading stdout's pipe open until the server is stopped.
    let (url, keys, _stdout) = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        let mut line = String::new();
        while all.matches("pwr_test_").count() < 2 && stdout.read_line(&mut line).unwrap() > 0 {
            all.push_str(&line);
            line.clear();
        }
        let url = all
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("GraphiQL: ")
            .to_owned();
        let keys: Vec<String> = all
            .split_whitespace()
            .filter(|w| w.starts_with("pwr_test_"))
            .map(str::to_owned)
            .collect();
        (url, keys, stdout)
    })
    .await
    .unwrap();
    let integration = keys
        .iter()
        .find(|k| k.starts_with("pwr_test_int_"))
        .unwrap()
        .clone();
    let client = reqwest::Client::new();
    let call = |query: String, request_id: &'static str| {
        client
            .post(&url)
            .bearer_auth(&integration)
            .header("x-request-id", request_id)
            .json(&json!({ "query": query }))
            .send()
    };
    call(r#"mutation NewCustomer { createCustomer(input: { email: "log@example.com", password: "hunter2-secret-pass" }) { customer { id } } }"#.into(), "req-create")
        .await
        .unwrap();
    let body: serde_json::Value = call(
        r#"mutation StartReset { createCustomerPasswordReset(input: { customerEmail: "log@example.com" }) { customerPasswordReset { resetPasswordToken } } }"#.into(),
        "req-reset",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token =
        body["data"]["createCustomerPasswordReset"]["customerPasswordReset"]["resetPasswordToken"]
            .as_str()
            .unwrap()
            .to_owned();
    call(
        format!(r#"mutation Finish {{ completeCustomerPasswordReset(input: {{ resetPasswordToken: "{token}", customerPassword: "another-secret-pass" }}) {{ userErrors {{ code }} }} }}"#),
        "req-complete",
    )
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();

    let finished: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "request finished")
        .collect();
    let reset = finished
        .iter()
        .find(|l| l["span"]["request_id"] == "req-reset")
        .expect("a line for the request");
    assert_eq!(reset["span"]["operation"], "StartReset");
    assert_eq!(reset["span"]["outcome"], "Ok");
    assert_eq!(reset["fields"]["status"], 200);
    assert!(
        finished
            .iter()
            .any(|l| l["span"]["request_id"] == "req-complete")
    );
    for secret in [
        integration.as_str(),
        token.as_str(),
        "hunter2-secret-pass",
        "another-secret-pass",
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn the_development_mailer_logs_test_mode_links_and_never_live_ones() {
    let db = TestDb::sqlite_file();
    let live = super::pwreset(
        &db,
        &[
            "api-key",
            "create",
            "--role",
            "integration",
            "--mode",
            "live",
        ],
    );
    let live = String::from_utf8(live.stdout).unwrap().trim().to_owned();
    let env = [
        ("METRICS_ADDR", ""),
        ("RUST_LOG", "info"),
        ("WEBHOOK_POLL_INTERVAL_MS", "100"),
    ];
    let mut child = spawn_server(&db, &env, Stdio::piped());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (url, banner, _stdout) = tokio::task::spawn_blocking(move || {
        let mut banner = String::new();
        while !banner.contains("Email (live)") {
            assert!(stdout.read_line(&mut banner).unwrap() > 0, "{banner}");
        }
        let url = banner
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("GraphiQL: ")
            .to_owned();
        (url, banner, stdout)
    })
    .await
    .unwrap();
    assert!(
        banner.contains("Email (test): written to this log"),
        "{banner}"
    );
    assert!(banner.contains("Email (live): off"), "{banner}");
    // The live key is the only key, so no test keys were seeded: make one.
    let test = super::pwreset(
        &db,
        &[
            "api-key",
            "create",
            "--role",
            "integration",
            "--mode",
            "test",
        ],
    );
    let test = String::from_utf8(test.stdout).unwrap().trim().to_owned();
    let client = reqwest::Client::new();
    for (key, email) in [(&live, "live@example.com"), (&test, "test@example.com")] {
        for query in [
            format!(
                r#"mutation {{ createCustomer(input: {{ email: "{email}" }}) {{ customer {{ id }} }} }}"#
            ),
            format!(
                r#"mutation {{ createCustomerPasswordReset(input: {{ customerEmail: "{email}" }}) {{ customerPasswordReset {{ id }} }} }}"#
            ),
        ] {
            let answer: serde_json::Value = client
                .post(&url)
                .bearer_auth(key)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(answer.get("errors").is_none(), "{answer}");
        }
    }
    // Read the log until the development mailer's line for the test-mode reset.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let logs = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::task::spawn_blocking(move || {
            let mut logs = String::new();
            while !logs.contains("DEVELOPMENT MAILER") {
                if stderr.read_line(&mut logs).unwrap() == 0 {
                    break;
                }
            }
            logs
        }),
    )
    .await
    .expect("the development mailer wrote its line")
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains("DEVELOPMENT MAILER"))
        .expect("a development mailer line");
    assert!(
        line.contains("test@example.com is http://localhost:3000/reset-password?token="),
        "{line}"
    );
    assert!(
        !logs.contains("live@example.com"),
        "live mode never logs a link: {logs}"
    );
    assert!(
        logs.contains("live-mode resets were created that reach no customer"),
        "{logs}"
    );
}
