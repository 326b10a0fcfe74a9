//! The GraphQL schema: output types built from (never equal to) database rows,
//! thin resolvers that call one service function each, the customer
//! DataLoader, role checks, and the one mapping from service errors.
//!
//! - `customers`, `resets`, `webhooks`, `audit`: each object type with
//!   its list, queries and mutations; `node`: Relay's `Node`.
//! - `connection`: the generic Relay kit every list uses.
//! - `error`: error codes and the one mapping from service errors.
//! - `access`: role checks; `loaders`: the DataLoader.
//!
//! The HTTP layer hands each request to [`prepare`], which attaches what
//! resolvers read (the caller, the loaders), and reads a refusal's retry time
//! back with [`retry_after`].

mod access;
mod audit;
mod connection;
mod customers;
mod error;
mod loaders;
mod node;
pub mod operation;
mod request;
mod resets;
mod variables;
mod webhooks;

use async_graphql::{EmptySubscription, MergedObject, NewType, Schema, SchemaBuilder};
use clap::ArgAction;

pub use error::{ErrorCode, database_unreachable, give_codes, retry_after, unavailable};
pub use request::prepare;

use crate::{
    domain::{RawPassword, ResetToken},
    flags,
    state::AppState,
};

/// The root of every read. Every field needs an integration key.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    resets::ResetQuery,
    customers::CustomerQuery,
    webhooks::WebhookQuery,
    audit::AuditQuery,
);

/// The root of every write. Refused input comes back in `userErrors`.
#[derive(MergedObject, Default)]
pub struct Mutation(
    customers::CustomerMutation,
    resets::ResetMutation,
    webhooks::WebhookMutation,
);

/// The server's schema type.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// What the schema enforces on every document.
#[derive(Debug, Clone, clap::Args)]
pub struct GraphqlSettings {
    /// Deepest selection nesting a query may have.
    #[arg(long = "max-query-depth", env = "MAX_QUERY_DEPTH", default_value = "16",
          value_parser = flags::count(2..=1000), global = true)]
    pub max_depth: usize,
    /// Highest complexity a query may have (each field counts 1; a list field
    /// counts its page size, `first` or `last`, times its selection).
    #[arg(long = "max-query-complexity", env = "MAX_QUERY_COMPLEXITY", default_value = "5000",
          value_parser = flags::count(10..=10_000_000), global = true)]
    pub max_complexity: usize,
    /// Whether the schema can be introspected (GraphiQL and codegen need it).
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = ArgAction::Set, global = true)]
    pub introspection: bool,
    /// Whether errors suggest field names ("did you mean …?").
    #[arg(long, env = "FIELD_SUGGESTIONS", default_value_t = true, action = ArgAction::Set, global = true)]
    pub field_suggestions: bool,
}

impl Default for GraphqlSettings {
    fn default() -> Self {
        flags::defaults()
    }
}

/// What `scalar DateTime` is, for clients and code generators.
const DATE_TIME: &str = "An instant, as an RFC 3339 date-time string. Output is always UTC\n\
with a `+00:00` offset and 0, 3, 6 or 9 fraction digits, such as\n\
`2026-11-29T13:05:02.123456+00:00`; input takes any offset\n\
(`2026-11-29T14:05:02+01:00`, `2026-11-29T13:05:02Z`) and means the same instant.\n\
Map it to `string` in TypeScript.";

/// What `scalar JSON` is.
const JSON: &str = "Any JSON value, written inline as a GraphQL value (an object literal\n\
or a variable), not as a string holding JSON. `metadata` fields hold an object of\n\
at most 16 KiB. Map it to `unknown` (or your own object type) in TypeScript.";

/// The schema with no state attached: for printing the SDL. Connects to nothing.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .override_output_type_description::<chrono::DateTime<chrono::Utc>>(DATE_TIME)
        .override_output_type_description::<async_graphql::Json<serde_json::Value>>(JSON)
}

/// The schema the server executes, with `state` available to every resolver
/// and `settings` applied.
pub fn build_schema(state: AppState, settings: &GraphqlSettings) -> AppSchema {
    let mut builder = schema_builder()
        .data(state)
        .limit_depth(settings.max_depth)
        .limit_complexity(settings.max_complexity);
    if !settings.introspection {
        builder = builder.disable_introspection();
    }
    if !settings.field_suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The schema in SDL: what `print-schema` prints and `schema.graphql` holds.
/// It carries `@specifiedBy` on the scalars that follow a specification.
pub fn sdl() -> String {
    sdl_of(&schema_builder().finish())
}

/// `schema` in SDL, as [`sdl`] prints it.
pub fn sdl_of(schema: &AppSchema) -> String {
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// Text a client sends that must never be logged: a password or a reset
/// token. In the schema it is a plain `String`; its `Debug` prints
/// `[redacted]`, and it becomes the domain's secret types at once.
#[derive(NewType, Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl From<Secret> for RawPassword {
    fn from(secret: Secret) -> Self {
        RawPassword::new(secret.0)
    }
}

impl From<Secret> for ResetToken {
    fn from(secret: Secret) -> Self {
        ResetToken::from_client(secret.0)
    }
}

impl From<Secret> for crate::domain::ResetCode {
    fn from(secret: Secret) -> Self {
        crate::domain::ResetCode::from_client(&secret.0)
    }
}
