//! The admin commands: API keys and backups.

use std::path::Path;

use serde_json::json;

use super::{BoxError, Migrations, open};
use crate::{
    config::{ApiKeyCommand, Config, LogFormat},
    database,
    service::{Clock, SystemClock, api_keys},
};

/// `api-key create|list|revoke`. The schema must be current (`pwreset
/// migrate` first): an admin command never changes it. Under
/// `LOG_FORMAT=json` each result is one JSON object on stdout.
pub(super) async fn api_key(config: &Config, command: ApiKeyCommand) -> Result<(), BoxError> {
    let db = open(config, Migrations::Require).await?;
    let now = SystemClock.now();
    let json = config.log_format == LogFormat::Json;
    match command {
        ApiKeyCommand::Create { role, mode, name } => {
            let name = name.unwrap_or_else(|| format!("{mode} {role} key"));
            let (info, secret) = api_keys::create(&db, role, mode, &name, now).await?;
            if json {
                let created = json!({ "id": info.id, "role": role.as_str(), "mode": mode.as_str(),
                                      "name": name, "key": secret.expose() });
                println!("{created}");
            } else {
                eprintln!(
                    "created {} ({role}, {mode}); the key is shown only now:",
                    info.id
                );
                println!("{}", secret.expose());
            }
        }
        ApiKeyCommand::List => {
            let keys = api_keys::list(&db).await?;
            if !json {
                println!(
                    "{:<28} {:<14} {:<5} {:<26} {:<26} NAME",
                    "ID", "ROLE", "MODE", "CREATED", "REVOKED"
                );
            }
            for key in keys {
                let revoked = key.revoked_at.map(|t| t.to_rfc3339());
                if json {
                    let listed = json!({ "id": key.id, "role": key.role.as_str(), "mode": key.mode.as_str(),
                                         "created_at": key.created_at.to_rfc3339(), "revoked_at": revoked,
                                         "name": key.name });
                    println!("{listed}");
                } else {
                    println!(
                        "{:<28} {:<14} {:<5} {:<26} {:<26} {}",
                        key.id,
                        key.role,
                        key.mode,
                        key.created_at.to_rfc3339(),
                        revoked.as_deref().unwrap_or("-"),
                        key.name
                    );
                }
            }
        }
        ApiKeyCommand::Revoke { id } => match api_keys::revoke(&db, &id, now).await? {
            Some(key) if json => println!("{}", json!({ "revoked": key.id })),
            Some(key) => println!("revoked {}", key.id),
            None => return Err(format!("no API key has the id {id:?}").into()),
        },
    }
    Ok(())
}

/// `backup PATH`: a consistent copy of the SQLite database, taken while the
/// server runs. The token key file (or `TOKEN_ENCRYPTION_KEY`) is not in it:
/// keep it apart (docs/operations.md, Backups).
pub(super) async fn backup(config: &Config, path: &Path) -> Result<(), BoxError> {
    let db = open(config, Migrations::Leave).await?;
    database::backup(&db, path).await?;
    match config.log_format {
        LogFormat::Json => println!("{}", json!({ "backup": path.display().to_string() })),
        LogFormat::Human => println!(
            "wrote {}; restoring it needs the token key too (the key file beside the database, or TOKEN_ENCRYPTION_KEY)",
            path.display()
        ),
    }
    Ok(())
}

/// `pwreset healthcheck`: `Ok` when `url` (by default `/readyz` on
/// `LISTEN_ADDR`, on loopback for an unspecified address) answers 200
/// within 3 s.
pub(super) async fn healthcheck(config: &Config, url: Option<String>) -> Result<(), BoxError> {
    let url = url.unwrap_or_else(|| {
        let mut addr = config.listen_addr;
        if addr.ip().is_unspecified() {
            let loopback: std::net::IpAddr = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            addr.set_ip(loopback);
        }
        format!("http://{addr}/readyz")
    });
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .no_proxy()
        .build()?;
    let status = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: no answer ({e})"))?
        .status();
    if status != reqwest::StatusCode::OK {
        return Err(format!("{url} answered {status}").into());
    }
    println!("{url}: ready");
    Ok(())
}
