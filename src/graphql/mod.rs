//! The GraphQL schema: output types built from (never equal to) database rows,
//! thin resolvers that call one service function each, the customer
//! DataLoader, role checks, and the one mapping from service errors.

mod access;
mod audit;
mod connection;
mod error;
mod loaders;
mod mutation;
mod query;
mod types;
mod webhooks;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

pub use access::{Auth, ClientIp};
use audit::AuditQuery;
pub use loaders::CustomerLoader;
use mutation::CoreMutation;
use query::CoreQuery;
use webhooks::{WebhookMutation, WebhookQuery};

/// The root of every read. Every field needs an integration key.
#[derive(MergedObject, Default)]
pub struct Query(CoreQuery, WebhookQuery, AuditQuery);

/// The root of every write. Refused input comes back in `userErrors`.
#[derive(MergedObject, Default)]
pub struct Mutation(CoreMutation, WebhookMutation);

use crate::{http::HttpSettings, state::AppState};

/// The server's schema type.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with no state attached: for printing the SDL. Connects to nothing.
pub fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// The schema the server executes, with `state` available to every resolver
/// and the depth, complexity, introspection and suggestion settings applied.
pub fn build_schema(state: AppState, settings: &HttpSettings) -> AppSchema {
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
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}
