//! The command line and environment, parsed and validated once at start-up.
//! Every option can be given as a flag or as the environment variable it names.
//! The process's own settings are here; each layer's are its settings type,
//! flattened in as a group (see [`crate::flags`]); the email's and the
//! tokens' are in `mail` and `tokens`, which check and build them; `state`
//! builds the server's state from all of it.

mod check;
mod environment;
mod mail;
mod parse;
mod secrets;
mod state;
mod tokens;

pub use check::check;
pub use environment::unknown_settings;
pub use mail::MailConfig;
pub use parse::OptionalAddr;
use parse::parse_optional_addr;
pub use secrets::{Redactor, Source, Sources};
pub use state::StateBuilder;
pub use tokens::TokenConfig;

use std::{net::SocketAddr, time::Duration};

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::{
    domain::{Mode, Role},
    flags::{self, one_of},
    http::HttpSettings,
    service::{
        outbound::ExtraRoots, password::HashingSettings, rate_limits::RateLimits,
        webhooks::WebhookSettings,
    },
};

/// The default database: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://pwreset.db?mode=rwc";

/// `pwreset`: the password reset GraphQL server and its admin commands.
#[derive(Debug, Parser)]
#[command(name = "pwreset", version = crate::build_info::LONG_VERSION, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by the server and the admin commands: the process's own
/// here, each layer's in its group (each group is that layer's settings type).
#[derive(Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// A file holding the database URL (a mounted secret), instead of `DATABASE_URL`.
    #[arg(long, env = "DATABASE_URL_FILE", global = true)]
    pub database_url_file: Option<std::path::PathBuf>,
    /// Address to listen on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen_addr: SocketAddr,
    /// How long a request waits for a database connection before it is
    /// answered 503 with Retry-After, in milliseconds: when the database is
    /// down, clients hear so at once.
    #[arg(long = "db-acquire-timeout-ms", env = "DB_ACQUIRE_TIMEOUT_MS", default_value = "2000",
          value_parser = flags::millis(50..=60_000), global = true)]
    pub db_acquire_timeout: Duration,
    /// Address of the admin listener: `/metrics` (and `/healthz`, `/readyz`),
    /// for operators only, never exposed with the API; empty turns it off.
    #[arg(
        long,
        env = "METRICS_ADDR",
        default_value = "127.0.0.1:9464",
        value_parser = parse_optional_addr,
        global = true
    )]
    pub metrics_addr: OptionalAddr,
    /// How long a verified API key is trusted without a new look-up, in
    /// milliseconds: a revoked key stops working within this time. 0 looks
    /// every request's key up.
    #[arg(long = "api-key-cache-ttl-ms", env = "API_KEY_CACHE_TTL_MS", default_value = "5000",
          value_parser = flags::millis(0..=60_000), global = true)]
    pub api_key_cache_ttl: Duration,
    /// How many days audit entries are kept.
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u16).range(1..=3650), global = true)]
    pub audit_retention_days: u16,
    /// Start without touching the schema: no migrations run, and start-up
    /// fails if the schema is behind (run `pwreset migrate` first).
    /// As a variable: `true`, `1`, `yes` or `on`.
    #[arg(long, env = "NO_MIGRATE", action = ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new(), global = true)]
    pub no_migrate: bool,
    /// A PEM bundle of certificates to trust, beside the public roots, for
    /// outgoing TLS: SMTP, webhooks, the breached-password range API, the
    /// bot challenge (a company CA). Read once at start-up.
    #[arg(long = "extra-ca-file", env = "EXTRA_CA_FILE", value_parser = ExtraRoots::load, global = true)]
    pub extra_ca: Option<ExtraRoots>,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// The HTTP endpoint: bodies, batches, query limits, CORS, GraphiQL, proxies, connections.
    #[command(flatten)]
    pub http: HttpSettings,
    /// Password policy and hashing.
    #[command(flatten)]
    pub hashing: HashingSettings,
    /// Rate limits and the storefront queue.
    #[command(flatten)]
    pub rate_limits: RateLimits,
    /// Webhooks and the background jobs.
    #[command(flatten)]
    pub webhooks: WebhookSettings,
    /// Reset tokens: their lifetime and the key that seals them at rest.
    #[command(flatten)]
    pub tokens: TokenConfig,
    /// How resets reach customers, and one-time codes.
    #[command(flatten)]
    pub codes: crate::service::codes::CodeSettings,
    /// The reset email.
    #[command(flatten)]
    pub mail: MailConfig,
    /// Screening new passwords against breached ones.
    #[command(flatten)]
    pub breached: crate::service::breached::BreachedSettings,
    /// The optional bot challenge on storefront creates.
    #[command(flatten)]
    pub captcha: crate::service::captcha::CaptchaSettings,
    /// OpenTelemetry trace export.
    #[command(flatten)]
    pub traces: crate::telemetry::TraceSettings,
}

impl Config {
    /// Every setting at its default, whatever the environment says (for
    /// tests and benchmarks; the server reads [`Cli`]).
    pub fn defaults() -> Self {
        flags::defaults()
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
            .field("http", &self.http)
            .field("tokens", &self.tokens)
            .field("log_format", &self.log_format)
            .finish_non_exhaustive()
    }
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server (the default).
    Serve,
    /// Print the GraphQL schema (SDL) to stdout; `schema.graphql` is this output.
    PrintSchema,
    /// Bring the database schema up to date, then exit (replicas can then
    /// start with `--no-migrate`).
    Migrate,
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent copy of the SQLite database to PATH while the
    /// server runs (SQLite's `VACUUM INTO`); PostgreSQL has `pg_dump`.
    Backup {
        /// Where to write the copy; it must not exist yet.
        path: std::path::PathBuf,
    },
    /// Exit 0 when the server's `/readyz` answers 200 within 3 s, 1
    /// otherwise (a container's `HEALTHCHECK`). Asks `LISTEN_ADDR` (on
    /// loopback when it is 0.0.0.0 or ::) unless given a URL.
    Healthcheck {
        /// The URL to ask instead, such as `http://127.0.0.1:8000/readyz`.
        #[arg(long)]
        url: Option<String>,
    },
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Read the same flags and environment as the server, check everything
    /// the server would (URLs, keys, templates, ranges, files), print the
    /// effective settings, secrets redacted, with where each came from, and
    /// exit non-zero naming each problem.
    Check {
        /// Also open the database and connect to each SMTP server.
        #[arg(long)]
        connect: bool,
    },
}

/// `api-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it on stdout (it cannot be shown again).
    Create {
        /// `integration` (back office, trusted) or `sales_channel` (public, in a storefront).
        #[arg(long, value_parser = one_of::<Role>())]
        role: Role,
        /// `test` or `live`: the only records the key will see.
        #[arg(long, value_parser = one_of::<Mode>())]
        mode: Mode,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by its id (`key_…`); it stops working at once.
    Revoke {
        /// The key's id, as `api-key list` shows it.
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Scripts and deployments name settings by flag or by variable: the two
    /// stay one name, whichever group declares the setting.
    #[test]
    fn every_flag_is_named_after_its_environment_variable() {
        let command = Cli::command();
        let mut named = 0;
        for arg in command.get_arguments() {
            let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else {
                continue;
            };
            let env = env.to_str().unwrap();
            assert_eq!(long, env.to_lowercase().replace('_', "-"), "{env}");
            named += 1;
        }
        assert!(named >= 50, "only {named} settings have a variable");
    }
}
