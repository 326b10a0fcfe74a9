//! `pwreset config check`: the configuration as the server would read it,
//! checked as the server would check it, printed with every secret redacted
//! and where each setting came from, without starting anything (and without
//! creating a key file or a database).

use std::sync::Arc;

use clap::ArgMatches;

use super::{Config, Sources, secrets::redact_url};
use crate::{
    database,
    metrics::Metrics,
    service::{
        mail::Channel,
        password::PasswordHasher,
        sealing::{SealingKey, TokenSealer},
    },
};

/// The settings whose value is secret: shown redacted, never as given.
const SECRET: &[&str] = &[
    "database_url",
    "token_encryption_key",
    "token_encryption_key_old",
    "captcha_secret",
    "headers",
];
/// The settings that are URLs which may hold a password.
const URLS: &[&str] = &["smtp_url", "test_smtp_url"];

/// Prints the effective settings of `config` (read from `matches` and
/// `command`, with `sources`), then checks them; `environment` holds the
/// problems the environment's check found. With `connect`, also opens the
/// database and each SMTP server. Returns every problem.
pub async fn check(
    config: &Config,
    sources: &Sources,
    matches: &ArgMatches,
    command: &clap::Command,
    environment: Vec<String>,
    connect: bool,
) -> Vec<String> {
    println!("Settings (secrets redacted), each with where it came from:");
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
            continue;
        };
        let id = arg.get_id().as_str();
        let shown = shown_value(config, matches, id);
        println!("  {env:<32} {shown:<44} {}", sources.of(id));
    }
    let mut problems = environment;
    let mut notes = Vec::new();
    match config.tokens.keys() {
        Ok((current, old)) => {
            let file = database::sqlite_file(&config.database_url)
                .map(|path| std::path::PathBuf::from(format!("{}.key", path.display())));
            let current = match (current, &file) {
                (Some(key), _) => Some(key),
                (None, Some(path)) if path.exists() => match std::fs::read_to_string(path)
                    .map_err(|e| e.to_string())
                    .and_then(|text| {
                        SealingKey::from_base64(&text).map_err(|why| format!("the key {why}"))
                    }) {
                    Ok(key) => Some(key),
                    Err(e) => {
                        problems.push(format!("the token key file {}: {e}", path.display()));
                        None
                    }
                },
                (None, Some(path)) => {
                    notes.push(format!(
                        "no TOKEN_ENCRYPTION_KEY: the server will create the key file {} at its first start",
                        path.display()
                    ));
                    None
                }
                (None, None) if config.database_url.starts_with("sqlite:") => None,
                (None, None) => {
                    problems.push("TOKEN_ENCRYPTION_KEY must be set with this database".into());
                    None
                }
            };
            if let Some(current) = current {
                let sealer = TokenSealer::new(&current, old.as_ref());
                let ids: Vec<String> = sealer.key_ids().map(ToString::to_string).collect();
                notes.push(format!(
                    "token keys: seals with {}{}",
                    ids[0],
                    ids.get(1)
                        .map(|id| format!(", also opens {id}"))
                        .unwrap_or_default()
                ));
            }
        }
        Err(e) => problems.push(e),
    }
    let mail = match config.mail.settings(config.extra_ca.as_ref()) {
        Ok(mail) => Some(mail),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    if let Err(e) = config.captcha.captcha(config.extra_ca.as_ref()) {
        problems.push(e);
    }
    if let Err(e) = config.breached.screening(config.extra_ca.as_ref()) {
        problems.push(e);
    }
    if let Err(e) = config.traces.target() {
        problems.push(e);
    }
    if let Err(e) = PasswordHasher::new(&config.hashing, Arc::new(Metrics::new())) {
        problems.push(e.to_string());
    }
    if let Some(dir) = database::sqlite_file(&config.database_url)
        .and_then(|path| path.parent().map(std::path::Path::to_path_buf))
        .filter(|dir| !dir.as_os_str().is_empty() && !dir.is_dir())
    {
        problems.push(format!(
            "DATABASE_URL: the folder {} does not exist",
            dir.display()
        ));
    }
    if connect {
        connect_all(config, mail.as_ref(), &mut problems, &mut notes).await;
    }
    for note in &notes {
        println!("note: {note}");
    }
    let redactor = config.redactor();
    let problems: Vec<String> = problems.iter().map(|p| redactor.redact(p)).collect();
    if problems.is_empty() {
        println!("ok: the configuration holds no problem");
    } else {
        for problem in &problems {
            println!("problem: {problem}");
        }
    }
    problems
}

/// Opens the database (no migration) and each SMTP server.
async fn connect_all(
    config: &Config,
    mail: Option<&crate::service::mail::MailSettings>,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if let Some(path) = database::sqlite_file(&config.database_url)
        && !path.exists()
    {
        notes.push(format!(
            "no database file {} yet: the server creates it at its first start",
            path.display()
        ));
        return connect_smtp(mail, problems, notes).await;
    }
    match database::open(&config.database_url, config.db_acquire_timeout).await {
        Ok(db) => match database::pending_migrations(&db).await {
            Ok(pending) if pending.is_empty() => notes.push("the database answers; its schema is current".into()),
            Ok(pending) if config.no_migrate => problems.push(format!(
                "the database schema is {} migrations behind and NO_MIGRATE is set: run `pwreset migrate`",
                pending.len()
            )),
            Ok(pending) => notes.push(format!(
                "the database answers; the server will apply {} migrations at start",
                pending.len()
            )),
            Err(e) => problems.push(format!("the database's schema version: {e}")),
        },
        Err(e) => problems.push(format!("the database: {e}")),
    }
    connect_smtp(mail, problems, notes).await;
}

/// Connects to each mode's SMTP server.
async fn connect_smtp(
    mail: Option<&crate::service::mail::MailSettings>,
    problems: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let Some(mail) = mail else { return };
    for (name, mode) in [
        ("SMTP_URL", crate::domain::Mode::Live),
        ("TEST_SMTP_URL", crate::domain::Mode::Test),
    ] {
        if let Channel::Smtp(target) = &mail.mode(mode).channel {
            match target.test_connection().await {
                Ok(()) => notes.push(format!("{name}: {} answers", target.shown())),
                Err(e) => problems.push(format!("{name} {}: {e}", target.shown())),
            }
        }
    }
}

/// The value of the setting `id` as `config check` shows it.
fn shown_value(config: &Config, matches: &ArgMatches, id: &str) -> String {
    if SECRET.contains(&id) {
        return match id {
            "database_url" => redact_url(&config.database_url),
            "token_encryption_key" => set_or_not(config.tokens.token_encryption_key.is_some()),
            "captcha_secret" => set_or_not(config.captcha.secret.is_some()),
            "headers" => set_or_not(config.traces.headers.is_some()),
            _ => set_or_not(config.tokens.token_encryption_key_old.is_some()),
        };
    }
    let raw: Vec<String> = matches
        .get_raw(id)
        .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let joined = raw.join(",");
    if URLS.contains(&id) {
        return redact_url(&joined);
    }
    if raw.is_empty() { "-".into() } else { joined }
}

fn set_or_not(set: bool) -> String {
    if set { "[set]".into() } else { "-".into() }
}
