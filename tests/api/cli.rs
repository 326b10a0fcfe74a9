//! The binary: first start for a newcomer, and the `api-key` commands.

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

/// Starts `pwreset serve` on a free port, with `env` besides; returns the
/// child, its stdout after the first line, and the GraphQL URL.
async fn start_server(
    db: &TestDb,
    env: &[(&str, &str)],
) -> (Child, BufReader<std::process::ChildStdout>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .env("DATABASE_URL", &db.url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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

#[tokio::test]
async fn a_fresh_server_prints_its_url_and_two_test_keys_that_work() {
    let db = TestDb::sqlite_file();
    let (mut child, mut stdout, url) = start_server(&db, &[]).await;
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/graphql"),
        "{url}"
    );
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
    assert_eq!(keys.len(), 2);
    // Metrics on the admin listener the banner names, not on the public one.
    let metrics = metrics.expect("the banner names the metrics address");
    assert_eq!(reqwest::get(&metrics).await.unwrap().status(), 200);
    let public_metrics = url.replace("/graphql", "/metrics");
    assert_eq!(reqwest::get(&public_metrics).await.unwrap().status(), 404);
    let integration = keys
        .iter()
        .find(|k| k.starts_with("pwr_test_int_"))
        .unwrap();
    let sales_channel = keys.iter().find(|k| k.starts_with("pwr_test_sc_")).unwrap();

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
    let body = app
        .gql(Some(&key), "{ customers { totalCount } }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[test]
fn api_key_commands_refuse_bad_arguments_with_a_message() {
    let db = TestDb::sqlite_file();
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
        ("TOKEN_ENCRYPTION_KEY", "not-a-key", "token-encryption-key"),
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
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for var in help
        .split("[env: ")
        .skip(1)
        .filter_map(|s| s.split(['=', ']']).next())
    {
        assert!(
            readme.contains(&format!("`{var}`")),
            "README.md documents {var}"
        );
    }
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_operation_but_no_secrets() {
    let db = TestDb::sqlite_file();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .env("DATABASE_URL", &db.url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS_ADDR", "")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
async fn a_proxy_in_the_environment_is_not_used_for_webhooks() {
    let db = TestDb::sqlite_file();
    let output = pwreset(
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
    let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    // A "proxy" that only counts who connects to it.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = proxy.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    let receiver = crate::receiver::Receiver::start().await;
    let mut env = vec![
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
        ("WEBHOOK_POLL_INTERVAL_MS", "20"),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        env.push((var, proxy_url.as_str()));
    }
    let (mut child, _stdout, url) = start_server(&db, &env).await;
    let call = async |query: &str, variables: serde_json::Value| {
        let request = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(&url);
        let body = json!({ "query": query, "variables": variables });
        let response = request.bearer_auth(&key).json(&body).send().await.unwrap();
        response.json::<serde_json::Value>().await.unwrap()
    };
    let created = call(
        "mutation($url: String!) { createWebhook(input: { topic: CUSTOMERS_CREATE, callbackUrl: $url }) { userErrors { code } } }",
        json!({ "url": receiver.url }),
    )
    .await;
    assert_eq!(created["data"]["createWebhook"]["userErrors"], json!([]));
    call(
        r#"mutation { createCustomer(input: { email: "ada@example.com" }) { customer { id } } }"#,
        json!({}),
    )
    .await;
    // Wait (bounded) for the server's own background jobs to deliver.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while receiver.calls().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never delivered");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the proxy was never asked"
    );
}

#[tokio::test]
async fn without_a_key_sqlite_gets_a_private_key_file_and_postgresql_is_refused() {
    let db = TestDb::sqlite_file();
    let (mut child, _stdout, _url) = start_server(&db, &[]).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let path = db
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap();
    let key_file = format!("{path}.key");
    let metadata = std::fs::metadata(&key_file).expect("a key file beside the database");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(pwreset::service::sealing::SealingKey::from_base64(&key).is_ok());

    // PostgreSQL: refused before connecting, with how to make a key.
    let output = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")
        .env_remove("TOKEN_ENCRYPTION_KEY")
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("METRICS_ADDR", "")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("TOKEN_ENCRYPTION_KEY") && stderr.contains("/dev/urandom"),
        "{stderr}"
    );
}

#[test]
fn migrate_brings_the_schema_up_to_date_and_no_migrate_refuses_a_schema_behind() {
    let db = TestDb::sqlite_file();
    let serve_without_migrating = || {
        Command::new(env!("CARGO_BIN_EXE_pwreset"))
            .env("DATABASE_URL", &db.url)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("METRICS_ADDR", "")
            .arg("--no-migrate")
            .output()
            .unwrap()
    };
    let behind = serve_without_migrating();
    assert!(!behind.status.success());
    let stderr = String::from_utf8(behind.stderr).unwrap();
    assert!(
        stderr.contains("schema is behind") && stderr.contains("pwreset migrate"),
        "{stderr}"
    );
    let migrated = pwreset(&db, &["migrate"]);
    assert!(migrated.status.success());
    assert!(
        String::from_utf8(migrated.stdout)
            .unwrap()
            .contains("current")
    );
    // Again: nothing to do.
    assert!(pwreset(&db, &["migrate"]).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_starting_together_on_a_fresh_database_all_become_ready() {
    // A fresh PostgreSQL schema when the suite runs on PostgreSQL, else a fresh SQLite file.
    let sqlite = TestDb::sqlite_file();
    let (url, pg_schema) = match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(base) => {
            let schema = format!("it_replicas_{}", std::process::id());
            let admin = pwreset::connect(&base).await.unwrap();
            use sea_orm::ConnectionTrait;
            admin
                .execute_unprepared(&format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\""
                ))
                .await
                .unwrap();
            let separator = if base.contains('?') { '&' } else { '?' };
            (
                format!("{base}{separator}options=-c%20search_path%3D{schema}"),
                Some((admin, schema)),
            )
        }
        None => (sqlite.url.clone(), None),
    };
    let key = pwreset::service::sealing::SealingKey::generate().to_base64();
    let replicas: Vec<_> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_pwreset"))
                .env("DATABASE_URL", &url)
                .env("LISTEN_ADDR", "127.0.0.1:0")
                .env("METRICS_ADDR", "")
                .env("TOKEN_ENCRYPTION_KEY", &key)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut urls = Vec::new();
    let mut children = Vec::new();
    for mut child in replicas {
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            (line, stdout)
        })
        .await
        .unwrap();
        let (line, stdout) = line;
        let graphql = line.trim().strip_prefix("GraphiQL: ").map(str::to_owned);
        if graphql.is_none() {
            let mut stderr = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
            panic!("a replica did not start: {line:?} {stderr}");
        }
        urls.push(graphql.unwrap());
        children.push((child, stdout));
    }
    for url in &urls {
        let ready = reqwest::get(url.replace("/graphql", "/readyz"))
            .await
            .unwrap();
        assert_eq!(ready.status(), 200, "{url}");
    }
    for (mut child, _) in children {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    if let Some((admin, schema)) = pg_schema {
        use sea_orm::ConnectionTrait;
        let _ = admin
            .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await;
    }
}

#[tokio::test]
async fn the_sqlite_files_are_private_and_an_exposed_one_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &str| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let db = TestDb::sqlite_file();
    let (mut child, _stdout, _url) = start_server(&db, &[]).await;
    let path = db
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
        assert_eq!(mode(&file), 0o600, "{file}");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // A file others can read is used, with a warning that says what to do.
    let exposed = TestDb::sqlite_file();
    let path = exposed
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = pwreset(&exposed, &["api-key", "list"]);
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("readable by other users") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}
