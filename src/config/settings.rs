//! The settings each layer takes, built from the parsed [`Config`].

use std::time::Duration;

use super::Config;
use crate::{
    domain::PasswordPolicy,
    graphql::GraphqlSettings,
    http::{ConnectionLimits, HttpSettings},
    service::{
        password::{self, Argon2Params, PasswordHasher},
        persisted_queries::StoreBounds,
        rate_limits::RateLimits,
        sealing::{self, TokenSealer},
        webhooks::WebhookSettings,
    },
};

impl Config {
    /// How long a request waits for a database connection.
    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.db_acquire_timeout_ms))
    }

    /// What seals reset tokens at rest, and a line for the start-up log
    /// saying where its key came from.
    ///
    /// # Errors
    /// A message when no key is set on PostgreSQL, or the key file cannot be
    /// read or created.
    pub fn token_sealer(&self) -> Result<(TokenSealer, String), String> {
        let old = self.token_encryption_key_old.as_ref();
        if let Some(key) = &self.token_encryption_key {
            let note = "reset tokens are sealed with TOKEN_ENCRYPTION_KEY".to_owned();
            return Ok((TokenSealer::new(key, old), note));
        }
        let url = &self.database_url;
        if !url.starts_with("sqlite:") {
            return Err(
                "TOKEN_ENCRYPTION_KEY must be set with this database: every process \
                 needs the same key to open the tokens it seals, and it must not live in the \
                 database. Make one with: head -c 32 /dev/urandom | base64"
                    .into(),
            );
        }
        let Some(path) = crate::database::sqlite_file(url) else {
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

    /// The rate limits.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            create_per_email: self.rate_limit_create_per_email,
            create_per_key: self.rate_limit_create_per_key,
            create_per_ip: self.rate_limit_create_per_ip,
            complete_per_ip: self.rate_limit_complete_per_ip,
            complete_per_key: self.rate_limit_complete_per_key,
            ipv6_prefix: self.rate_limit_ipv6_prefix,
            ipv4_prefix: self.rate_limit_ipv4_prefix,
            storefront_queue_max: self.storefront_queue_max,
        }
    }

    /// The password hasher these settings describe.
    ///
    /// # Errors
    /// A message when the Argon2id parameters are invalid.
    pub fn password_hasher(
        &self,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Result<PasswordHasher, String> {
        let params = Argon2Params {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
        };
        let concurrency = self
            .hash_concurrency
            .map_or_else(password::cores, usize::from);
        let max_wait = Duration::from_millis(u64::from(self.hash_queue_timeout_ms));
        PasswordHasher::new(params, concurrency, max_wait, metrics)
            .map(|h| {
                h.with_max_waiting(self.hash_queue_max as usize)
                    .with_policy(PasswordPolicy {
                        min_chars: usize::from(self.password_min_length),
                    })
            })
            .map_err(|e| match e {
                crate::service::Error::Internal(message) => message,
                other => other.to_string(),
            })
    }

    /// The webhook settings.
    pub fn webhook_settings(&self) -> WebhookSettings {
        WebhookSettings {
            allow_private_targets: self.webhook_allow_private_targets,
            proxy: self.webhook_proxy.clone(),
            poll_interval: Some(Duration::from_millis(u64::from(
                self.webhook_poll_interval_ms,
            ))),
        }
    }

    /// The HTTP endpoint's settings.
    pub fn http_settings(&self) -> HttpSettings {
        HttpSettings {
            body_limit: self.body_limit_bytes as usize,
            max_batch: usize::from(self.max_batch_size),
            max_aliases: usize::from(self.max_query_aliases),
            graphql: GraphqlSettings {
                max_depth: usize::from(self.max_query_depth),
                max_complexity: self.max_query_complexity as usize,
                introspection: self.introspection,
                field_suggestions: self.field_suggestions,
            },
            request_timeout: Duration::from_millis(u64::from(self.request_timeout_ms)),
            cors_origins: self.cors_allowed_origins.clone(),
            cors_max_age: Duration::from_secs(u64::from(self.cors_max_age_seconds)),
            cors_headers: if self.cors_allowed_headers.is_empty() {
                crate::http::DEFAULT_CORS_HEADERS
                    .iter()
                    .map(|h| (*h).to_owned())
                    .collect()
            } else {
                self.cors_allowed_headers.clone()
            },
            graphiql_assets_url: self.graphiql_assets_url.clone(),
            graphiql: self.graphiql,
            metrics_operations: self.metrics_operation_names.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_millis(u64::from(self.header_read_timeout_ms)),
                max_connections: self.max_connections as usize,
                drain_timeout: Duration::from_millis(u64::from(self.shutdown_drain_timeout_ms)),
            },
            persisted_queries: StoreBounds {
                max_count: u64::from(self.persisted_queries_max),
                max_bytes: self.persisted_queries_max_bytes,
            },
        }
    }
}

impl std::fmt::Debug for Config {
    // The database URL may hold a password: show only its scheme.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.database_url.split(':').next().unwrap_or_default();
        f.debug_struct("Config")
            .field("database_url", &format_args!("{scheme}://[redacted]"))
            .field("listen_addr", &self.listen_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("reset_token_ttl_seconds", &self.reset_token_ttl_seconds)
            .field("http", &self.http_settings())
            .field("log_format", &self.log_format)
            .finish()
    }
}
