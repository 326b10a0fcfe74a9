//! Reset tokens' settings: how long a token works, and the key that seals
//! tokens at rest while they wait on a webhook delivery or an email.

use std::time::Duration;

use clap::Args;

use crate::{
    flags,
    service::sealing::{self, SealingKey, TokenSealer},
};

/// Settings of reset tokens.
#[derive(Clone, Args)]
#[command(next_help_heading = "Reset tokens")]
pub struct TokenConfig {
    /// How long a reset token stays valid, in seconds (60 to 604800; 6 hours by default).
    #[arg(long = "reset-token-ttl-seconds", env = "RESET_TOKEN_TTL_SECONDS", default_value = "21600",
          value_parser = flags::seconds(60..=604_800), global = true)]
    pub reset_token_ttl: Duration,
    /// The key that seals reset tokens at rest while they wait on a webhook
    /// delivery or an email: base64 of 32 random bytes
    /// (`head -c 32 /dev/urandom | base64`). Required on PostgreSQL; on
    /// SQLite, when unset, a key file is created beside the database file
    /// (`FILE.key`, mode 0600).
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY", global = true)]
    pub token_encryption_key: Option<String>,
    /// A file holding `TOKEN_ENCRYPTION_KEY` (a mounted secret).
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY_FILE", global = true)]
    pub token_encryption_key_file: Option<std::path::PathBuf>,
    /// A second key this process opens tokens with, never seals with: the
    /// previous key after a rotation, or the next one before it.
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY_OLD", global = true)]
    pub token_encryption_key_old: Option<String>,
    /// A file holding `TOKEN_ENCRYPTION_KEY_OLD`.
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY_OLD_FILE", global = true)]
    pub token_encryption_key_old_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenConfig")
            .field("reset_token_ttl", &self.reset_token_ttl)
            .field("token_encryption_key", &self.token_encryption_key.is_some())
            .field(
                "token_encryption_key_old",
                &self.token_encryption_key_old.is_some(),
            )
            .finish()
    }
}

/// The key `raw` holds, as the setting `name` gave it.
///
/// # Errors
/// A message naming the setting, never holding the value.
fn parse_key(name: &str, raw: &str) -> Result<SealingKey, String> {
    SealingKey::from_base64(raw)
        .map_err(|why| format!("{name} {why} (make one with: head -c 32 /dev/urandom | base64)"))
}

impl TokenConfig {
    /// The keys set: the current one and the second one.
    ///
    /// # Errors
    /// A message naming a setting that holds no key.
    pub fn keys(&self) -> Result<(Option<SealingKey>, Option<SealingKey>), String> {
        let current = self
            .token_encryption_key
            .as_deref()
            .map(|raw| parse_key("TOKEN_ENCRYPTION_KEY", raw))
            .transpose()?;
        let old = self
            .token_encryption_key_old
            .as_deref()
            .map(|raw| parse_key("TOKEN_ENCRYPTION_KEY_OLD", raw))
            .transpose()?;
        Ok((current, old))
    }

    /// What seals reset tokens at rest for the database at `database_url`,
    /// and a line for the start-up log saying where its key came from.
    ///
    /// # Errors
    /// A message when no key is set on PostgreSQL, or the key file cannot be
    /// read or created.
    pub fn sealer(&self, database_url: &str) -> Result<(TokenSealer, String), String> {
        let (current, old) = self.keys()?;
        let old = old.as_ref();
        if let Some(key) = &current {
            let note = "reset tokens are sealed with TOKEN_ENCRYPTION_KEY".to_owned();
            return Ok((TokenSealer::new(key, old), note));
        }
        if !database_url.starts_with("sqlite:") {
            return Err(
                "TOKEN_ENCRYPTION_KEY must be set with this database: every process \
                 needs the same key to open the tokens it seals, and it must not live in the \
                 database. Make one with: head -c 32 /dev/urandom | base64"
                    .into(),
            );
        }
        let Some(path) = crate::database::sqlite_file(database_url) else {
            let note =
                "reset tokens are sealed with a key that lives as long as this in-memory database"
                    .to_owned();
            return Ok((TokenSealer::ephemeral(), note));
        };
        let key_path = std::path::PathBuf::from(format!("{}.key", path.display()));
        let (key, created) = sealing::key_file(&key_path)
            .map_err(|e| format!("cannot use the token key file {}: {e}", key_path.display()))?;
        let note = if created {
            format!(
                "created the token encryption key file {} (mode 0600): back it up apart from the database, or set TOKEN_ENCRYPTION_KEY",
                key_path.display()
            )
        } else {
            format!(
                "reset tokens are sealed with the key in {}",
                key_path.display()
            )
        };
        Ok((TokenSealer::new(&key, old), note))
    }
}
