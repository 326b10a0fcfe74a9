//! The command line and environment, parsed and validated once at start-up.
//! Every option can be given as a flag or as the environment variable it names.

use std::net::SocketAddr;

use clap::{
    Args, Parser, Subcommand,
    builder::{PossibleValuesParser, TypedValueParser},
};

use crate::domain::{Mode, Role};

/// The default database: an SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://pwreset.db?mode=rwc";

/// `pwreset`: the password reset GraphQL server and its admin commands.
#[derive(Debug, Parser)]
#[command(name = "pwreset", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings shared by the server and the admin commands.
#[derive(Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Address to listen on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen_addr: SocketAddr,
    /// How long a reset token stays valid, in seconds (60 to 604800; 6 hours by default).
    #[arg(
        long,
        env = "RESET_TOKEN_TTL_SECONDS",
        default_value_t = 21_600,
        value_parser = clap::value_parser!(u32).range(60..=604_800),
        global = true
    )]
    pub reset_token_ttl_seconds: u32,
}

impl std::fmt::Debug for Config {
    // The database URL may hold a password: show only its scheme.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.database_url.split(':').next().unwrap_or_default();
        f.debug_struct("Config")
            .field("database_url", &format_args!("{scheme}://[redacted]"))
            .field("listen_addr", &self.listen_addr)
            .field("reset_token_ttl_seconds", &self.reset_token_ttl_seconds)
            .finish()
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server (the default).
    Serve,
    /// Print the GraphQL schema (SDL) to stdout; `schema.graphql` is this output.
    PrintSchema,
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

/// `api-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it on stdout (it cannot be shown again).
    Create {
        /// `integration` (back office, trusted) or `sales_channel` (public, in a storefront).
        #[arg(long, value_parser = PossibleValuesParser::new(["integration", "sales_channel"]).try_map(|s| s.parse::<Role>()))]
        role: Role,
        /// `test` or `live`: the only records the key will see.
        #[arg(long, value_parser = PossibleValuesParser::new(["test", "live"]).try_map(|s| s.parse::<Mode>()))]
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
