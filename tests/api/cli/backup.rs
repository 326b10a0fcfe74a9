//! `pwreset backup` while the server runs, and the restore the docs give:
//! the copy and the key file into a new place, a server started on it, and a
//! reset whose email was still pending at the backup completed from it.

use std::{os::unix::fs::PermissionsExt, time::Duration};

use serde_json::{Value, json};

use super::{integration_key, pwreset, start_server, startup::file_of};
use crate::{helpers::TestDb, smtp_sink::SmtpSink};

async fn gql(client: &reqwest::Client, url: &str, key: &str, query: &str) -> Value {
    let request = client
        .post(url)
        .bearer_auth(key)
        .json(&json!({ "query": query }));
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_and_its_pending_email_completes_a_reset() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let db = TestDb::sqlite_file();
    let key = integration_key(&db, "test");
    let mail = [
        ("TEST_SMTP_URL", smtp.as_str()),
        ("MAIL_FROM", "shop@example.com"),
    ];
    // The jobs run at start, then not for an hour: the email stays pending.
    let env = [mail[0], mail[1], ("WEBHOOK_POLL_INTERVAL_MS", "3600000")];
    let (mut serving, _stdout, url) = start_server(&db, &env).await;
    let client = reqwest::Client::new();
    let created = gql(
        &client,
        &url,
        &key,
        r#"mutation { createCustomer(input: { email: "kept@example.com" }) { userErrors { code } } }"#,
    )
    .await;
    assert_eq!(created["data"]["createCustomer"]["userErrors"], json!([]));
    let requested = gql(
        &client,
        &url,
        &key,
        r#"mutation { createCustomerPasswordReset(input: { customerEmail: "kept@example.com" }) { customerPasswordReset { email { status } } } }"#,
    )
    .await;
    let email = &requested["data"]["createCustomerPasswordReset"]["customerPasswordReset"]["email"];
    assert_eq!(email["status"], "PENDING", "{requested}");

    // Taken while the server runs.
    let folder = std::env::temp_dir().join("pwreset-tests").join(format!(
        "backup-{}",
        file_of(&db).rsplit('/').next().unwrap()
    ));
    std::fs::create_dir_all(&folder).unwrap();
    let copy = folder.join("pwreset.db");
    let backup = pwreset(&db, &["backup", copy.to_str().unwrap()]);
    assert!(backup.status.success(), "{backup:?}");
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the copy is as private as the database");
    // A second backup to the same path is refused, the first left whole.
    let again = pwreset(&db, &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success());
    serving.kill().unwrap();
    serving.wait().unwrap();
    assert!(sink.messages().is_empty(), "the email was still pending");

    // The restore: the copy and the key file into a new place; the original
    // is gone.
    let restored = TestDb::sqlite_file();
    let target = file_of(&restored);
    std::fs::copy(&copy, &target).unwrap();
    std::fs::copy(format!("{}.key", file_of(&db)), format!("{target}.key")).unwrap();
    drop(db);
    std::fs::remove_dir_all(&folder).unwrap();
    let env = [mail[0], mail[1], ("WEBHOOK_POLL_INTERVAL_MS", "100")];
    let (mut serving, _stdout, url) = start_server(&restored, &env).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sink.messages().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pending email never went"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let token = sink.messages()[0].token();
    let completed = gql(
        &client,
        &url,
        &key,
        &format!(
            r#"mutation {{ completeCustomerPasswordReset(input: {{ resetPasswordToken: "{token}", customerPassword: "restored-and-new-1" }}) {{ customerPasswordReset {{ status }} userErrors {{ code }} }} }}"#
        ),
    )
    .await;
    let payload = &completed["data"]["completeCustomerPasswordReset"];
    assert_eq!(payload["userErrors"], json!([]), "{completed}");
    assert_eq!(payload["customerPasswordReset"]["status"], "COMPLETED");
    serving.kill().unwrap();
    serving.wait().unwrap();
    let links = sink.messages();
    let links = links
        .iter()
        .filter(|m| !m.header("Subject").contains("changed"));
    assert_eq!(links.count(), 1, "the pending email went once");
}
