//! What the server writes to its log: JSON lines with the request id and operation, never a secret.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, ChildStderr, Stdio},
};

use serde_json::json;

use super::spawn_server;
use crate::helpers::TestDb;

#[tokio::test]
async fn json_logs_carry_the_request_id_and_operation_but_no_secrets() {
    let db = TestDb::sqlite_file();
    // Under LOG_FORMAT=json no key is seeded (keys never go where logs go):
    // the operator makes one.
    let integration = super::integration_key(&db, "test");
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
    let (url, mut logs, stderr) = until_serving(&mut child);
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
    let stdout = stop(child, stderr, &mut logs);
    assert_eq!(
        stdout, "",
        "under LOG_FORMAT=json nothing but logs, on stderr"
    );
    for line in logs.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }

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

/// Reads `child`'s JSON log lines up to the one that names the GraphiQL URL;
/// returns the URL, the lines so far and the rest of stderr.
fn until_serving(child: &mut Child) -> (String, String, BufReader<ChildStderr>) {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut logs = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no start: {logs}");
        logs.push_str(&line);
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(url) = parsed["fields"]["graphiql"].as_str() {
            return (url.to_owned(), logs, stderr);
        }
    }
}

/// Stops `child`, adds the rest of its stderr to `logs`; returns its stdout.
fn stop(mut child: Child, mut stderr: BufReader<ChildStderr>, logs: &mut String) -> String {
    child.kill().unwrap();
    child.wait().unwrap();
    stderr.read_to_string(logs).unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    stdout
}

#[tokio::test]
async fn under_json_logs_a_first_start_makes_no_key_and_says_how_to_make_one() {
    let db = TestDb::sqlite_file();
    let env = [
        ("METRICS_ADDR", ""),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
    ];
    let mut child = spawn_server(&db, &env, Stdio::piped());
    let (_url, mut logs, mut stderr) = until_serving(&mut child);
    while !logs.contains("no API keys") {
        assert!(stderr.read_line(&mut logs).unwrap() > 0, "{logs}");
    }
    let stdout = stop(child, stderr, &mut logs);
    assert_eq!(stdout, "");
    assert!(!logs.contains("pwr_"), "{logs}");
    assert!(logs.contains("pwreset api-key create"), "{logs}");
    let list = super::pwreset(&db, &["api-key", "list"]);
    let list = String::from_utf8(list.stdout).unwrap();
    assert_eq!(list.lines().count(), 1, "a header and no key: {list}");
}

#[tokio::test]
async fn the_development_mailer_logs_test_mode_links_and_never_live_ones() {
    let db = TestDb::sqlite_file();
    super::migrate(&db);
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

/// A first `migrate` into a pipe: one INFO line for the migrations, no
/// per-migration lines at the default level, and no colour codes.
#[test]
fn migrations_are_one_line_and_a_pipe_gets_no_colour() {
    let db = TestDb::sqlite_file();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("migrate")
        .env("DATABASE_URL", &db.url)
        .env_remove("RUST_LOG")
        .env_remove("LOG_FORMAT")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr:?}"
    );
    let applied: Vec<&str> = stderr.lines().filter(|l| l.contains("migration")).collect();
    assert_eq!(applied.len(), 1, "{stderr}");
    assert!(
        applied[0].contains("INFO") && applied[0].contains("applied "),
        "{stderr}"
    );
}
