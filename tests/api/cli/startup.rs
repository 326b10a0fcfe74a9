//! Starting on a database: the token key, migrations and replicas, private
//! SQLite files, and an environment's proxy left unused.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::json;

use super::{integration_key, pwreset, start_server};
use crate::helpers::TestDb;

#[tokio::test]
async fn a_proxy_in_the_environment_is_not_used_for_webhooks() {
    let db = TestDb::sqlite_file();
    let key = integration_key(&db, "test");
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
    let path = file_of(&db);
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
    let path = file_of(&db);
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
        assert_eq!(mode(&file), 0o600, "{file}");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // A file others can read is used, with a warning that says what to do.
    let exposed = TestDb::sqlite_file();
    let path = file_of(&exposed);
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = pwreset(&exposed, &["migrate"]);
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("readable by other users") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

/// The file of an SQLite test database.
pub(super) fn file_of(db: &TestDb) -> String {
    let url = db.url.trim_start_matches("sqlite://");
    url.split('?').next().unwrap_or(url).to_owned()
}

/// SIGTERM stops the server cleanly: the background jobs are told to stop
/// and waited for, then the server says it has stopped, and exits 0.
#[tokio::test]
async fn sigterm_stops_the_background_jobs_then_the_server() {
    let db = TestDb::sqlite_file();
    let env = [("WEBHOOK_POLL_INTERVAL_MS", "10"), ("RUST_LOG", "info")];
    let mut child = super::spawn_server(&db, &env, Stdio::piped());
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = child.stderr.take().unwrap();
    let pid = child.id().to_string();
    let (status, log) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("GraphiQL: "), "{line}");
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let mut log = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut log).unwrap();
        (child.wait().unwrap(), log)
    })
    .await
    .unwrap();
    assert!(status.success(), "{status:?}: {log}");
    let jobs = log.find("background jobs stopped").expect(&log);
    let server = log
        .find("stopped: in-flight requests finished")
        .expect(&log);
    assert!(jobs < server, "{log}");
}

#[tokio::test]
async fn healthcheck_exits_0_only_while_the_server_is_ready() {
    let app = crate::helpers::TestApp::spawn().await;
    let check = |url: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_pwreset"))
            .args(["healthcheck", "--url", &url])
            .env("DATABASE_URL", "sqlite::memory:")
            .output()
            .await
            .unwrap()
    };
    let ready = check(format!("http://{}/readyz", app.addr)).await;
    assert!(ready.status.success(), "{ready:?}");
    app.state.lifecycle.start_draining();
    let draining = check(format!("http://{}/readyz", app.addr)).await;
    assert_eq!(draining.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&draining.stderr).contains("503"),
        "{draining:?}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nobody = check(format!("http://{closed}/readyz")).await;
    assert_eq!(nobody.status.code(), Some(1), "nothing listens there");
}

#[tokio::test]
async fn version_and_build_info_name_the_commit_and_the_compiler() {
    let git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let commit = std::env::var("PWRESET_COMMIT")
        .ok()
        .or(git)
        .unwrap_or_else(|| "unknown".into());
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .unwrap();
    let rustc = String::from_utf8_lossy(&rustc.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let version = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!(
            "pwreset {} (commit {commit}, rustc {rustc})",
            env!("CARGO_PKG_VERSION")
        )
    );
    let app = crate::helpers::TestApp::spawn().await;
    let metrics = reqwest::get(format!("http://{}/metrics", app.admin_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "pwreset_build_info{{version=\"{}\",commit=\"{commit}\",rustc=\"{rustc}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
}
