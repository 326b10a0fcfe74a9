//! The command line and environment, parsed and validated once at start-up.
//! Every option can be given as a flag or as the environment variable it names.
//! The fields are here (the email's in `mail`); their parsers in `parse`, the
//! settings built from them in `settings`.

mod mail;
mod parse;
mod settings;

pub use mail::MailConfig;
pub use parse::OptionalAddr;
use parse::{one_of, parse_base_url, parse_key, parse_net, parse_optional_addr, parse_origin};

use std::net::SocketAddr;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::{
    domain::{Mode, Role},
    service::{rate_limits::Limit, sealing::SealingKey},
};

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
    /// How long a request waits for a database connection before it is
    /// answered 503 with Retry-After, in milliseconds: when the database is
    /// down, clients hear so at once.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u32).range(50..=60_000), global = true)]
    pub db_acquire_timeout_ms: u32,
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
    /// How long a reset token stays valid, in seconds (60 to 604800; 6 hours by default).
    #[arg(
        long,
        env = "RESET_TOKEN_TTL_SECONDS",
        default_value_t = 21_600,
        value_parser = clap::value_parser!(u32).range(60..=604_800),
        global = true
    )]
    pub reset_token_ttl_seconds: u32,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 65_536,
          value_parser = clap::value_parser!(u32).range(1024..=16_777_216), global = true)]
    pub body_limit_bytes: u32,
    /// Most operations in one batch request; 0 turns batching off.
    #[arg(long, env = "MAX_BATCH_SIZE", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(0..=1000), global = true)]
    pub max_batch_size: u16,
    /// Deepest selection nesting a query may have.
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(2..=1000), global = true)]
    pub max_query_depth: u16,
    /// Highest complexity a query may have (each field counts 1; a list field
    /// counts its page size, `first` or `last`, times its selection).
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 5_000,
          value_parser = clap::value_parser!(u32).range(10..=10_000_000), global = true)]
    pub max_query_complexity: u32,
    /// Most aliases a document may use.
    #[arg(long, env = "MAX_QUERY_ALIASES", default_value_t = 30,
          value_parser = clap::value_parser!(u16).range(0..=10_000), global = true)]
    pub max_query_aliases: u16,
    /// Whether the schema can be introspected (GraphiQL and codegen need it).
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = ArgAction::Set, global = true)]
    pub introspection: bool,
    /// Whether errors suggest field names ("did you mean …?").
    #[arg(long, env = "FIELD_SUGGESTIONS", default_value_t = true, action = ArgAction::Set, global = true)]
    pub field_suggestions: bool,
    /// Longest a GraphQL request may run, in milliseconds, before it is cut off with a 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=600_000), global = true)]
    pub request_timeout_ms: u32,
    /// How long a client may take to send a request's headers, in milliseconds;
    /// also how long a keep-alive connection may sit idle. Then it is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(100..=600_000), global = true)]
    pub header_read_timeout_ms: u32,
    /// How many connections may be open at once; more are answered 503 and closed.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1_024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_connections: u32,
    /// How long requests in flight may take to finish after SIGTERM, in milliseconds.
    #[arg(long, env = "SHUTDOWN_DRAIN_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u32).range(0..=3_600_000), global = true)]
    pub shutdown_drain_timeout_ms: u32,
    /// Browser origins allowed to call the API (CORS), comma-separated, such as
    /// `https://shop.example.com`; none by default.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin, global = true)]
    pub cors_allowed_origins: Vec<String>,
    /// Request headers browsers may send (CORS), comma-separated; by default
    /// authorization, content-type, accept, x-request-id,
    /// apollographql-client-name, apollographql-client-version, traceparent,
    /// tracestate, baggage and sentry-trace.
    #[arg(
        long,
        env = "CORS_ALLOWED_HEADERS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_allowed_headers: Vec<String>,
    /// How long browsers may cache a CORS preflight answer, in seconds.
    #[arg(long, env = "CORS_MAX_AGE_SECONDS", default_value_t = 3_600,
          value_parser = clap::value_parser!(u32).range(0..=86_400), global = true)]
    pub cors_max_age_seconds: u32,
    /// How many persisted queries are kept; the least recently used go first.
    #[arg(long, env = "PERSISTED_QUERIES_MAX", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000), global = true)]
    pub persisted_queries_max: u32,
    /// How many bytes of persisted queries are kept; the least recently used go first.
    #[arg(long, env = "PERSISTED_QUERIES_MAX_BYTES", default_value_t = 4_194_304,
          value_parser = clap::value_parser!(u64).range(0..=1_073_741_824), global = true)]
    pub persisted_queries_max_bytes: u64,
    /// Where GraphiQL loads its scripts and styles from; by default the server
    /// serves them itself, so GraphiQL works offline.
    #[arg(long, env = "GRAPHIQL_ASSETS_URL", value_parser = parse_base_url, global = true)]
    pub graphiql_assets_url: Option<String>,
    /// Operation names that label request metrics, comma-separated; any other
    /// name is counted as `other`, unless its document is a persisted query.
    #[arg(
        long,
        env = "METRICS_OPERATION_NAMES",
        value_delimiter = ',',
        global = true
    )]
    pub metrics_operation_names: Vec<String>,
    /// Whether GraphiQL is served (at `GET /graphql` from a browser).
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = ArgAction::Set, global = true)]
    pub graphiql: bool,
    /// The key that seals reset tokens at rest while they wait on a webhook
    /// delivery: base64 of 32 random bytes (`head -c 32 /dev/urandom | base64`).
    /// Required on PostgreSQL; on SQLite, when unset, a key file is created
    /// beside the database file (`FILE.key`, mode 0600).
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY", hide_env_values = true, value_parser = parse_key, global = true)]
    pub token_encryption_key: Option<SealingKey>,
    /// The previous key, still accepted to open tokens sealed before a rotation.
    #[arg(long, env = "TOKEN_ENCRYPTION_KEY_OLD", hide_env_values = true, value_parser = parse_key, global = true)]
    pub token_encryption_key_old: Option<SealingKey>,
    /// Let webhook callback URLs point at private, loopback and link-local
    /// addresses. For local development and tests only: it opens the server to SSRF.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_TARGETS", default_value_t = false, action = ArgAction::Set, global = true)]
    pub webhook_allow_private_targets: bool,
    /// A proxy every webhook call goes through (`http://proxy:3128`). Without it
    /// no proxy is used, whatever HTTP_PROXY or HTTPS_PROXY say: a proxy resolves
    /// the target itself, so it must then refuse private addresses itself.
    #[arg(long, env = "WEBHOOK_PROXY", value_parser = parse_base_url, global = true)]
    pub webhook_proxy: Option<String>,
    /// How often the background jobs look for work (queued storefront requests, due deliveries), in milliseconds.
    #[arg(long, env = "WEBHOOK_POLL_INTERVAL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(10..=3_600_000), global = true)]
    pub webhook_poll_interval_ms: u32,
    /// Fewest characters a new password may have (8 to 64). NIST SP 800-63B
    /// recommends 15 when the password is the only factor.
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(8..=64), global = true)]
    pub password_min_length: u16,
    /// Argon2id memory cost in KiB; at least the OWASP minimum, 19456.
    #[arg(long, env = "ARGON2_MEMORY_KIB", default_value_t = 19_456,
          value_parser = clap::value_parser!(u32).range(19_456..=4_194_304), global = true)]
    pub argon2_memory_kib: u32,
    /// Argon2id iterations; at least the OWASP minimum, 2.
    #[arg(long, env = "ARGON2_ITERATIONS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(2..=100), global = true)]
    pub argon2_iterations: u32,
    /// Argon2id parallelism (lanes).
    #[arg(long, env = "ARGON2_PARALLELISM", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub argon2_parallelism: u32,
    /// Password hashes run at once; the number of cores by default.
    #[arg(long, env = "HASH_CONCURRENCY", value_parser = clap::value_parser!(u16).range(1..=1024), global = true)]
    pub hash_concurrency: Option<u16>,
    /// How long a password hash may wait for a free slot before the request is
    /// refused with TOO_MANY_REQUESTS, in milliseconds.
    #[arg(long, env = "HASH_QUEUE_TIMEOUT_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u32).range(1..=60_000), global = true)]
    pub hash_queue_timeout_ms: u32,
    /// How many requests may wait for a hashing slot at once; more are refused
    /// at once with TOO_MANY_REQUESTS.
    #[arg(long, env = "HASH_QUEUE_MAX", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub hash_queue_max: u32,
    /// Reset creates per customer email (known or not), as COUNT/SECONDS.
    #[arg(
        long,
        env = "RATE_LIMIT_CREATE_PER_EMAIL",
        default_value = "5/3600",
        global = true
    )]
    pub rate_limit_create_per_email: Limit,
    /// Reset creates per integration key, as COUNT/SECONDS. Sales-channel keys
    /// have no per-key limit: one public key is shared by every shopper.
    #[arg(
        long,
        env = "RATE_LIMIT_CREATE_PER_KEY",
        default_value = "10000/3600",
        global = true
    )]
    pub rate_limit_create_per_key: Limit,
    /// Reset creates per client address prefix (see RATE_LIMIT_IPV6_PREFIX), as COUNT/SECONDS.
    #[arg(
        long,
        env = "RATE_LIMIT_CREATE_PER_IP",
        default_value = "50/3600",
        global = true
    )]
    pub rate_limit_create_per_ip: Limit,
    /// Reset completes per client address prefix (against token guessing), as COUNT/SECONDS.
    #[arg(
        long,
        env = "RATE_LIMIT_COMPLETE_PER_IP",
        default_value = "30/900",
        global = true
    )]
    pub rate_limit_complete_per_ip: Limit,
    /// Reset completes per integration key, as COUNT/SECONDS (sales-channel keys have none).
    #[arg(
        long,
        env = "RATE_LIMIT_COMPLETE_PER_KEY",
        default_value = "10000/3600",
        global = true
    )]
    pub rate_limit_complete_per_key: Limit,
    /// The IPv6 prefix length per-address limits count by (one client usually holds a /64).
    #[arg(long, env = "RATE_LIMIT_IPV6_PREFIX", default_value_t = 64,
          value_parser = clap::value_parser!(u8).range(16..=128), global = true)]
    pub rate_limit_ipv6_prefix: u8,
    /// The IPv4 prefix length per-address limits count by.
    #[arg(long, env = "RATE_LIMIT_IPV4_PREFIX", default_value_t = 32,
          value_parser = clap::value_parser!(u8).range(8..=32), global = true)]
    pub rate_limit_ipv4_prefix: u8,
    /// The most storefront reset requests queued at once. When full, the newest
    /// request of the busiest address prefix makes room for a quieter one, and
    /// the busiest prefix's new requests are refused.
    #[arg(long, env = "STOREFRONT_QUEUE_MAX", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(10..=10_000_000), global = true)]
    pub storefront_queue_max: u32,
    /// Proxies whose `X-Forwarded-For` is believed, comma-separated IPs or CIDRs
    /// (such as `10.0.0.0/8`); none by default, so the socket address is the client.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net, global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a verified API key is trusted without a new look-up, in
    /// milliseconds: a revoked key stops working within this time. 0 looks
    /// every request's key up.
    #[arg(long, env = "API_KEY_CACHE_TTL_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u32).range(0..=60_000), global = true)]
    pub api_key_cache_ttl_ms: u32,
    /// How many days audit entries are kept.
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u16).range(1..=3650), global = true)]
    pub audit_retention_days: u16,
    /// Start without touching the schema: no migrations run, and start-up
    /// fails if the schema is behind (run `pwreset migrate` first).
    #[arg(long, env = "NO_MIGRATE", default_value_t = false, action = ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", global = true)]
    pub no_migrate: bool,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// The reset email.
    #[command(flatten)]
    pub mail: MailConfig,
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
