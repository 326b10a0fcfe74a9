//! The binary: first start for a newcomer, the `api-key` commands and bad
//! configuration; its logs in `logs`, start-up on a database in `startup`.

mod backup;
mod config;
mod logs;
mod startup;
mod traces;

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
};

use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb, error_codes, start_time};

fn pwreset(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env_remove("LISTEN_ADDR")
        .output()
        .unwrap()
}

/// Brings `db`'s schema up to date with `pwreset migrate`, as an operator
/// does before the first `api-key` command.
fn migrate(db: &TestDb) {
    let output = pwreset(db, &["migrate"]);
    assert!(output.status.success(), "{output:?}");
}

/// A new integration key of `mode` (`test`, `live`), made with `api-key create`
/// on a database brought up to date first.
fn integration_key(db: &TestDb, mode: &str) -> String {
    migrate(db);
    let args = ["api-key", "create", "--role", "integration", "--mode", mode];
    let output = pwreset(db, &args);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Spawns `pwreset serve` on `db` and a free port, with `env` besides (its
/// entries win over the defaults here), stdout piped and stderr to `stderr`.
fn spawn_server(db: &TestDb, env: &[(&str, &str)], stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .env("DATABASE_URL", &db.url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Starts `pwreset serve` on a free port, with `env` besides; returns the
/// child, its stdout after the first line, and the GraphQL URL.
async fn start_server(
    db: &TestDb,
    env: &[(&str, &str)],
) -> (Child, BufReader<std::process::ChildStdout>, String) {
    let mut child = spawn_server(db, env, Stdio::null());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (stdout, url) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("GraphiQL: ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        (stdout, url)
    })
    .await
    .unwrap();
    (child, stdout, url)
}

/// What a first start prints after its URL.
struct Banner {
    integration: String,
    sales_channel: String,
    metrics: Option<String>,
}

/// Reads the two test keys (and the metrics address) a first start prints.
async fn read_banner(
    mut stdout: BufReader<std::process::ChildStdout>,
) -> (BufReader<std::process::ChildStdout>, Banner) {
    let (stdout, keys, metrics) = tokio::task::spawn_blocking(move || {
        let mut keys = Vec::new();
        let mut metrics = None;
        let mut line = String::new();
        while keys.len() < 2 && stdout.read_line(&mut line).unwrap() > 0 {
            if let Some(rest) = line.strip_prefix("Metrics:") {
                metrics = rest.split_whitespace().next().map(str::to_owned);
            }
            if let Some(key) = line.split_whitespace().find(|w| w.starts_with("pwr_test_")) {
                keys.push(key.to_owned());
            }
            line.clear();
        }
        (stdout, keys, metrics)
    })
    .await
    .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let key = |prefix: &str| keys.iter().find(|k| k.starts_with(prefix)).unwrap().clone();
    let banner = Banner {
        integration: key("pwr_test_int_"),
        sales_channel: key("pwr_test_sc_"),
        metrics,
    };
    (stdout, banner)
}

/// Stops `child` with SIGTERM, as an orchestrator does, and waits for a
/// clean exit.
async fn terminate(mut child: Child) {
    let pid = child.id().to_string();
    let status = tokio::task::spawn_blocking(move || {
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_fresh_server_prints_its_url_and_two_test_keys_that_work() {
    let db = TestDb::sqlite_file();
    let (mut child, stdout, url) = start_server(&db, &[]).await;
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/graphql"),
        "{url}"
    );
    let (stdout, banner) = read_banner(stdout).await;
    // Metrics on the admin listener the banner names, not on the public one.
    let metrics = banner
        .metrics
        .expect("the banner names the metrics address");
    assert_eq!(reqwest::get(&metrics).await.unwrap().status(), 200);
    let public_metrics = url.replace("/graphql", "/metrics");
    assert_eq!(reqwest::get(&public_metrics).await.unwrap().status(), 404);
    let (integration, sales_channel) = (banner.integration.as_str(), banner.sales_channel.as_str());

    let client = reqwest::Client::new();
    let call = async |key: &str, query: &str| -> serde_json::Value {
        let request = client.post(&url).bearer_auth(key);
        let response = request.json(&json!({ "query": query })).send().await;
        response.unwrap().json().await.unwrap()
    };
    let created = call(
        integration,
        r#"mutation { createCustomer(input: { email: "new@example.com" }) { customer { mode } } }"#,
    )
    .await;
    assert_eq!(
        created["data"]["createCustomer"]["customer"]["mode"],
        "TEST"
    );
    let requested = call(
        sales_channel,
        r#"mutation { createCustomerPasswordReset(input: { customerEmail: "new@example.com" }) { userErrors { code } } }"#,
    )
    .await;
    assert_eq!(
        requested["data"]["createCustomerPasswordReset"]["userErrors"],
        json!([])
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdout);

    // A second start on the same database creates and prints no keys.
    let (mut child, mut stdout, url) = start_server(&db, &[]).await;
    let answered = reqwest::Client::new()
        .post(&url)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(!rest.contains("pwr_"), "{rest}");
    let list = String::from_utf8(pwreset(&db, &["api-key", "list"]).stdout).unwrap();
    assert_eq!(list.lines().count(), 3, "a header and two keys: {list}");
}

#[tokio::test]
async fn api_key_commands_create_list_and_revoke_keys() {
    let db = TestDb::sqlite_file();
    migrate(&db);
    let created = pwreset(
        &db,
        &[
            "api-key",
            "create",
            "--role",
            "integration",
            "--mode",
            "live",
            "--name",
            "Back office",
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let key = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("pwr_live_int_"), "{key}");

    let list = String::from_utf8(pwreset(&db, &["api-key", "list"]).stdout).unwrap();
    let row = list.lines().find(|l| l.contains("Back office")).unwrap();
    assert!(row.contains("integration") && row.contains("live"), "{row}");
    assert!(!list.contains(&key), "the key itself is never listed");
    let id = row.split_whitespace().next().unwrap().to_owned();
    assert!(id.starts_with("key_"));

    let url = db.url.clone();
    let clock = std::sync::Arc::new(pwreset::service::ManualClock::new(start_time()));
    let connection = pwreset::connect(&url).await.unwrap();
    let app = TestApp::start(db, connection, Options::default(), clock).await;
    let query =
        r#"mutation { createCustomer(input: { email: "ada@example.com" }) { customer { mode } } }"#;
    let body = app.gql(Some(&key), query, json!({})).await;
    assert_eq!(body["data"]["createCustomer"]["customer"]["mode"], "LIVE");

    let revoked = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .args(["api-key", "revoke", &id])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(revoked.status.success());
    // Refused once the server's trust in its last check runs out
    // (API_KEY_CACHE_TTL_MS).
    app.clock.advance(chrono::Duration::seconds(5));
    let body = app
        .gql(Some(&key), "{ customers { totalCount } }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[test]
fn api_key_commands_refuse_bad_arguments_with_a_message() {
    let db = TestDb::sqlite_file();
    // On a schema behind the server, they refuse and change nothing: no
    // migration as a side effect.
    let refused = pwreset(&db, &["api-key", "list"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("run `pwreset migrate` first"), "{stderr}");
    let still_behind = pwreset(&db, &["--no-migrate", "api-key", "list"]);
    assert!(
        !still_behind.status.success(),
        "the refusal migrated nothing"
    );
    migrate(&db);
    for args in [
        &["api-key", "create", "--role", "admin", "--mode", "test"][..],
        &[
            "api-key",
            "create",
            "--role",
            "integration",
            "--mode",
            "prod",
        ][..],
        &["api-key", "revoke", "key_doesnotexist"][..],
    ] {
        let output = pwreset(&db, args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!stderr.trim().is_empty(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn bad_configuration_is_refused_at_start_with_a_message_naming_it() {
    let db = TestDb::sqlite_file();
    for (var, value, mentions) in [
        ("MAX_QUERY_DEPTH", "0", "max-query-depth"),
        ("BODY_LIMIT_BYTES", "lots", "body-limit-bytes"),
        ("CORS_ALLOWED_ORIGINS", "shop.example.com", "https://"),
        ("LISTEN_ADDR", "nowhere", "listen-addr"),
        ("INTROSPECTION", "maybe", "introspection"),
        ("TOKEN_ENCRYPTION_KEY", "not-a-key", "TOKEN_ENCRYPTION_KEY"),
        ("SMTP_URL", "http://mail.example", "SMTP_URL"),
        (
            "SMTP_URL",
            "smtp://127.0.0.1:1025?tls=none",
            "RESET_URL is not",
        ),
        (
            "TEST_SMTP_URL",
            "smtp://127.0.0.1:1025?tls=none",
            "MAIL_FROM is required",
        ),
        ("RESET_URL", "https://shop.example/reset", "{token}"),
        (
            "MAIL_TEMPLATES_DIR",
            "/nonexistent/templates",
            "MAIL_TEMPLATES_DIR",
        ),
        ("RESET_URL_ALLOWED_ORIGINS", "shop.example", "https://"),
        ("RESET_DELIVERY", "sms", "reset-delivery"),
        ("RESET_CODE_LENGTH", "12", "reset-code-length"),
        ("RESET_CODE_MAX_ATTEMPTS", "0", "reset-code-max-attempts"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_pwreset"))
            .env("DATABASE_URL", &db.url)
            .env(var, value)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{var}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(mentions), "{var}={value}: {stderr}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let docs = crate::helpers::docs();
    let configuration = docs.file("docs/configuration.md");
    for var in help
        .split("[env: ")
        .skip(1)
        .filter_map(|s| s.split(['=', ']']).next())
    {
        assert!(
            configuration.contains(&format!("`{var}`")),
            "docs/configuration.md documents {var}"
        );
    }
}
