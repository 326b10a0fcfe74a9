//! Turning a wire request into an executable one, before any execution:
//! the persisted-query look-up, parsing, and the checks that refuse a
//! document unexecuted (a mutation over GET, a secret written into a
//! persisted document, too many aliases).

use async_graphql::{Request, Variables};
use axum::http::StatusCode;
use serde_json::Value;

use super::{Endpoint, Prepared, document, persisted, refusal::Refusal, wire::WireRequest};
use crate::{
    domain::{Auth, ClientIp},
    graphql::{self, ErrorCode},
};

impl Endpoint {
    /// Turns a wire request into an executable one: persisted query look-up,
    /// parse, the mutation-over-GET and alias checks, variables, request data.
    pub(super) async fn prepare(
        &self,
        wire: WireRequest,
        via_get: bool,
        auth: &Auth,
        ip: ClientIp,
    ) -> Result<Prepared, Refusal> {
        let now = self.app.clock.now();
        let document =
            persisted::resolve_query(&self.app.db, wire.query, wire.extensions.as_ref(), now)
                .await?;
        let to_register = document.to_register.then(|| document.query.clone());
        let from_store = document.from_store;
        let mut request = Request::new(document.query);
        if let Some(name) = wire.operation_name {
            request = request.operation_name(name);
        }
        match wire.variables {
            None | Some(Value::Null) => {}
            Some(value @ Value::Object(_)) => {
                request = request.variables(Variables::from_json(value))
            }
            Some(_) => {
                return Err(Refusal::http(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    "`variables` must be a JSON object",
                ));
            }
        }
        let operation_name = request.operation_name.clone();
        let parsed = self.documents.parse(&mut request).map_err(|e| {
            let message = document::located(&e);
            Refusal::graphql(
                StatusCode::BAD_REQUEST,
                ErrorCode::GraphqlParseFailed,
                message,
            )
        })?;
        if via_get && graphql::operation::is_mutation(parsed, operation_name.as_deref()) {
            return Err(Refusal::http(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "mutations must be sent with POST",
            ));
        }
        if to_register.is_some()
            && let Some(secret) = document::secret_literal(parsed)
        {
            return Err(Refusal::graphql(
                StatusCode::BAD_REQUEST,
                ErrorCode::PersistedQueryInvalid,
                format!(
                    "this document writes `{secret}` as a literal, and a persisted document is stored as text: pass secrets as variables, or send the document without `persistedQuery`"
                ),
            ));
        }
        let aliases = document::count_aliases(parsed);
        let max_aliases = self.settings.max_aliases;
        if aliases > max_aliases {
            return Err(Refusal::graphql(
                StatusCode::BAD_REQUEST,
                ErrorCode::GraphqlValidationFailed,
                format!("the query uses {aliases} aliases; at most {max_aliases} are allowed"),
            ));
        }
        let request = graphql::prepare(request, &self.app, auth.clone(), ip);
        Ok(Prepared {
            request,
            to_register,
            from_store,
        })
    }
}
