//! A request on its way into the schema: the data its resolvers read.

use async_graphql::{Request, dataloader::DataLoader};

use super::{
    loaders::{CustomerLoader, PasswordDigestLoader, ResetEmailLoader},
    variables,
};
use crate::{
    domain::{Auth, ClientIp},
    state::AppState,
};

/// `request` with what its resolvers read: the caller's `auth` and address,
/// and fresh customer, password-digest and reset-email DataLoaders over `state`'s read pool
/// (nothing is cached across requests); a variable the client declared but
/// did not send leaves its field unprovided ([`variables::omit_unsent`]).
pub fn prepare(mut request: Request, state: &AppState, auth: Auth, ip: ClientIp) -> Request {
    variables::omit_unsent(&mut request);
    let customers = DataLoader::new(CustomerLoader::new(state.reader.clone()), tokio::spawn);
    let emails = DataLoader::new(ResetEmailLoader::new(state.reader.clone()), tokio::spawn);
    let digests = DataLoader::new(
        PasswordDigestLoader::new(state.reader.clone()),
        tokio::spawn,
    );
    request
        .data(auth)
        .data(ip)
        .data(customers)
        .data(emails)
        .data(digests)
}
