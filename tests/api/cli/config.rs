//! What an operator's mistakes meet: a misspelt setting stops the start,
//! secrets come from files, `config check` says what is wrong before a start,
//! and no secret is printed on the way.

use std::process::{Command, Output};

use super::{migrate, pwreset};
use crate::helpers::TestDb;

/// A key in the form the server takes (base64 of 32 bytes).
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// `pwreset ARGS` in an empty working folder, with `env` only (besides
/// `PATH`): nothing of the test's own environment leaks in. Returns the
/// output and the folder, so a test can see what was created there.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Output, Folder) {
    let dir = Folder::new();
    let output = Command::new(env!("CARGO_BIN_EXE_pwreset"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .output()
        .unwrap();
    (output, dir)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// An empty folder of the test's own, removed at the end.
struct Folder(std::path::PathBuf);

impl Folder {
    fn new() -> Self {
        let id = pwreset::domain::PublicId::generate("d");
        let path = std::env::temp_dir()
            .join("pwreset-tests")
            .join(id.as_str().to_lowercase());
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The line of `said` that starts with the setting `name`.
fn row(said: &str, name: &str) -> String {
    said.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name}: {said}"))
        .to_owned()
}

#[test]
fn a_misspelt_setting_stops_the_start_naming_the_one_it_meant() {
    for (var, value, meant) in [
        (
            "DATABSE_URL",
            "postgres://app:pw@db.internal/shop",
            "DATABASE_URL",
        ),
        ("SMTP_ULR", "smtp://mailer@smtp.example:587", "SMTP_URL"),
        (
            "RATE_LIMIT_CREATE_PER_EMIAL",
            "5/3600",
            "RATE_LIMIT_CREATE_PER_EMAIL",
        ),
    ] {
        let (output, dir) = run(&[], &[(var, value)]);
        assert_eq!(output.status.code(), Some(2), "{var}");
        let said = text(&output);
        assert!(
            said.contains(&format!("unknown setting {var}; did you mean {meant}?")),
            "{said}"
        );
        assert!(!said.contains(":pw@"), "{said}");
        // It stopped before anything: no database of its own was made.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{var}");
    }
    // One of a family of ours that we do not know, and a file form a setting
    // does not have.
    for (var, said) in [
        ("SMTP_HOST", "unknown setting SMTP_HOST"),
        ("LISTEN_ADDR_FILE", "LISTEN_ADDR has no file form"),
    ] {
        let (output, _dir) = run(&[], &[(var, "x")]);
        assert_eq!(output.status.code(), Some(2), "{var}");
        assert!(text(&output).contains(said), "{}", text(&output));
    }
    // Other programs' variables are not ours to refuse, and zero configuration
    // still starts (checked here without serving).
    let (output, _dir) = run(&["config", "check"], &[("DATABASE_PASSWORD", "x")]);
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn secrets_come_from_files_and_setting_both_forms_is_refused() {
    let db = TestDb::sqlite_file();
    let dir = Folder::new();
    let write = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    // Trailing newlines, as `echo` and most editors leave them.
    let url_file = write("database-url", &format!("{}\n", db.url));
    let key_file = write("key", &format!("{KEY}\n\n"));
    let (output, _dir) = run(
        &["migrate"],
        &[
            ("DATABASE_URL_FILE", &url_file),
            ("TOKEN_ENCRYPTION_KEY_FILE", &key_file),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    // The file named the database: `migrate` brought it up to date.
    assert!(
        pwreset(&db, &["--no-migrate", "api-key", "list"])
            .status
            .success()
    );

    let password_file = write("smtp-password", "hunter2\n");
    for (env, said) in [
        (
            vec![
                ("DATABASE_URL_FILE", url_file.as_str()),
                ("DATABASE_URL", db.url.as_str()),
            ],
            "DATABASE_URL and DATABASE_URL_FILE are both set",
        ),
        (
            vec![
                ("TOKEN_ENCRYPTION_KEY_FILE", key_file.as_str()),
                ("TOKEN_ENCRYPTION_KEY", KEY),
            ],
            "TOKEN_ENCRYPTION_KEY and TOKEN_ENCRYPTION_KEY_FILE are both set",
        ),
        (
            vec![("SMTP_PASSWORD_FILE", password_file.as_str())],
            "SMTP_PASSWORD_FILE is set but SMTP_URL is not",
        ),
        (
            vec![("TEST_SMTP_PASSWORD_FILE", password_file.as_str())],
            "TEST_SMTP_PASSWORD_FILE is set but TEST_SMTP_URL is not",
        ),
    ] {
        let (output, _dir) = run(&["migrate"], &env);
        assert_eq!(output.status.code(), Some(2), "{env:?}");
        let text = text(&output);
        assert!(text.contains(said), "{text}");
        assert!(!text.contains(KEY) && !text.contains("hunter2"), "{text}");
    }
}

#[test]
fn config_check_prints_where_each_setting_came_from_and_names_each_problem() {
    let db = TestDb::sqlite_file();
    let dir = Folder::new();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let key_file = key_file.display().to_string();
    let (good, _dir) = run(
        &["config", "check", "--connect", "--max-query-depth", "12"],
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("TOKEN_ENCRYPTION_KEY_FILE", &key_file),
        ],
    );
    let said = text(&good);
    assert!(good.status.success(), "{said}");
    assert!(
        row(&said, "DATABASE_URL").ends_with("environment"),
        "{said}"
    );
    assert!(
        row(&said, "TOKEN_ENCRYPTION_KEY").ends_with("file"),
        "{said}"
    );
    assert!(
        row(&said, "MAX_QUERY_DEPTH").contains("12")
            && row(&said, "MAX_QUERY_DEPTH").ends_with("flag")
    );
    assert!(row(&said, "LISTEN_ADDR").ends_with("default"), "{said}");
    assert!(!said.contains(KEY), "the key itself is never shown: {said}");

    // Every problem at once, secrets redacted; with --connect, the cause.
    let (bad, _dir) = run(
        &["config", "check", "--connect"],
        &[
            ("DATABASE_URL", "postgres://app:s3cretpw@127.0.0.1:1/shop"),
            ("TOKEN_ENCRYPTION_KEY", "not-base64-key-material"),
            ("SMTP_URL", "smtp://mailer:smtppw@127.0.0.1:1?tls=none"),
            ("MAIL_FORM", "shop@example.com"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=otelsecret"),
        ],
    );
    let said = text(&bad);
    assert_eq!(bad.status.code(), Some(2), "{said}");
    for problem in [
        "unknown setting MAIL_FORM; did you mean MAIL_FROM?",
        "TOKEN_ENCRYPTION_KEY is not base64",
        "RESET_URL is not",
        "the database: connection refused",
        "OTEL_EXPORTER_OTLP_PROTOCOL grpc is not offered",
    ] {
        assert!(said.contains(problem), "{problem}: {said}");
    }
    assert!(row(&said, "DATABASE_URL").contains("postgres://app:***@127.0.0.1:1/shop"));
    assert!(
        row(&said, "OTEL_EXPORTER_OTLP_HEADERS").contains("set"),
        "{said}"
    );
    for secret in [
        "s3cretpw",
        "smtppw",
        "not-base64-key-material",
        "otelsecret",
    ] {
        assert!(!said.contains(secret), "{secret} printed: {said}");
    }
}

#[test]
fn no_secret_in_help_or_in_the_error_for_a_bad_database_url() {
    let secrets = [
        ("DATABASE_URL", "postgres://app:helppw1@db.internal/shop"),
        ("SMTP_URL", "smtp://mailer:helppw2@smtp.example:587"),
        ("TOKEN_ENCRYPTION_KEY", KEY),
    ];
    let (help, _dir) = run(&["--help"], &secrets);
    let help = text(&help);
    assert!(help.contains("[env: DATABASE_URL]"), "{help}");
    for (_, value) in secrets {
        assert!(!help.contains(value) && !help.contains("helppw"), "{help}");
    }
    for url in [
        "postgres://app:badpw9@[not-a-host/shop",
        "postgres//app:badpw9@db/shop",
        "postgres://app:badpw9@127.0.0.1:1/shop",
    ] {
        let (output, _dir) = run(
            &["migrate"],
            &[("DATABASE_URL", url), ("TOKEN_ENCRYPTION_KEY", KEY)],
        );
        let said = text(&output);
        assert!(!output.status.success(), "{url}");
        assert!(said.contains("DATABASE_URL"), "{said}");
        assert!(!said.contains("badpw9"), "{said}");
    }
    let (refused, _dir) = run(
        &["migrate"],
        &[
            ("DATABASE_URL", "postgres://app:badpw9@127.0.0.1:1/shop"),
            ("TOKEN_ENCRYPTION_KEY", KEY),
        ],
    );
    assert!(
        text(&refused).contains("connection refused"),
        "{}",
        text(&refused)
    );
    // Checked before the server touches the database: `serve` stops at once.
    let (bad_key, _dir) = run(&["serve"], &[("TOKEN_ENCRYPTION_KEY", "c2VjcmV0LWtleQ==")]);
    assert!(!bad_key.status.success());
    assert!(
        !text(&bad_key).contains("c2VjcmV0LWtleQ"),
        "{}",
        text(&bad_key)
    );
}

#[test]
fn no_migrate_is_taken_as_a_flag_anywhere_and_as_a_variable() {
    let db = TestDb::sqlite_file();
    let url = db.url.as_str();
    // Accepted (no usage error, exit 2): refused only because the schema is behind.
    for (args, env) in [
        (&["--no-migrate", "serve"][..], vec![("DATABASE_URL", url)]),
        (&["serve", "--no-migrate"][..], vec![("DATABASE_URL", url)]),
        (
            &["--no-migrate", "api-key", "list"][..],
            vec![("DATABASE_URL", url)],
        ),
        (&[][..], vec![("DATABASE_URL", url), ("NO_MIGRATE", "1")]),
        (&[][..], vec![("DATABASE_URL", url), ("NO_MIGRATE", "true")]),
    ] {
        let (output, _dir) = run(args, &env);
        assert_eq!(output.status.code(), Some(1), "{args:?} {env:?}");
        assert!(
            text(&output).contains("run `pwreset migrate` first"),
            "{}",
            text(&output)
        );
    }
    migrate(&db);
    let (listed, _dir) = run(
        &["--no-migrate", "api-key", "list"],
        &[("DATABASE_URL", url)],
    );
    assert!(listed.status.success(), "{}", text(&listed));
}
