//! The one mapping from service errors to GraphQL: user errors become payload
//! `userErrors`; bad arguments become `BAD_USER_INPUT`; anything internal is
//! logged with its cause and reaches the client as a generic message, so no
//! SQL or stack trace is ever sent.

use std::sync::Arc;

use std::collections::HashSet;

use async_graphql::{
    ErrorExtensions, Pos, Response, ServerError, SimpleObject,
    parser::{
        parse_query,
        types::{ExecutableDocument, Selection, SelectionSet},
    },
};
use async_graphql_value::Value;

use crate::{domain::ErrorCode as UserErrorCode, service};

/// A refused input field, returned in a mutation payload's `userErrors`.
#[derive(Debug, Clone, SimpleObject)]
pub struct UserError {
    /// The path to the input field at fault, such as `["input", "customerEmail"]`;
    /// null when the error is not about one field.
    pub field: Option<Vec<String>>,
    /// What is wrong, for humans.
    pub message: String,
    /// What is wrong, for code: stable across releases.
    pub code: UserErrorCode,
}

impl From<service::UserError> for UserError {
    fn from(e: service::UserError) -> Self {
        Self {
            field: (!e.field.is_empty()).then_some(e.field),
            message: e.message,
            code: e.code,
        }
    }
}

/// The `extensions.code` of a GraphQL error: what a client switches on. Every
/// error this server sends, from the HTTP layer or from a resolver, carries
/// one; [`strum::VariantArray`] lists them all.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray, strum::Display,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// No API key, or an unknown or revoked one.
    Unauthenticated,
    /// The key's role may not use the field.
    Forbidden,
    /// An argument was refused (page size, cursor, input values).
    BadUserInput,
    /// A rate limit or the hashing queue refused the request; see `retryAfter`.
    TooManyRequests,
    /// Something failed that the client cannot fix; the server log has details.
    InternalServerError,
    /// The request ran past the request timeout.
    Timeout,
    /// The HTTP request could not be read as a GraphQL request.
    BadRequest,
    /// The body is larger than the body limit.
    PayloadTooLarge,
    /// A GET query string is larger than the body limit.
    UriTooLong,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// `Accept` admits neither GraphQL response type.
    NotAcceptable,
    /// A mutation was sent with GET.
    MethodNotAllowed,
    /// Batches are turned off on this server.
    BatchingDisabled,
    /// A batch holds no operation or more than the limit.
    BatchTooLarge,
    /// The document does not parse.
    GraphqlParseFailed,
    /// The document breaks a limit of this server.
    GraphqlValidationFailed,
    /// `extensions.persistedQuery` is malformed or does not match `query`,
    /// or the document writes a secret input as a literal (it would be
    /// stored as text).
    PersistedQueryInvalid,
    /// The hash names no registered document: resend with `query`.
    PersistedQueryNotFound,
    /// The database cannot be reached right now.
    ServiceUnavailable,
}

impl ErrorCode {
    /// The code as sent (`TOO_MANY_REQUESTS`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A GraphQL error with `message` and `code`.
pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

/// How long a refused client should wait, carried (typed) as the source of a
/// `TOO_MANY_REQUESTS` error so the HTTP layer can answer 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RetryAfter(u64);

/// Marks a `SERVICE_UNAVAILABLE` error (the database, or another service a
/// request needs, cannot be reached) so the HTTP layer can answer 503 with
/// `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unavailable {
    /// Whether it is the database (the server then answers 503 at once
    /// until it is back).
    database: bool,
}

/// Whether an error of `response` says a service it needs cannot be reached.
pub fn unavailable(response: &async_graphql::Response) -> bool {
    response
        .errors
        .iter()
        .any(|e| e.source::<Unavailable>().is_some())
}

/// Whether an error of `response` says the database cannot be reached.
pub fn database_unreachable(response: &async_graphql::Response) -> bool {
    response
        .errors
        .iter()
        .any(|e| e.source::<Unavailable>().is_some_and(|u| u.database))
}

/// The longest wait any `TOO_MANY_REQUESTS` error of `response` asks for, in
/// seconds; `None` when no error is one.
pub fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    response
        .errors
        .iter()
        .filter_map(|e| e.source::<RetryAfter>())
        .map(|r| r.0)
        .max()
}

/// A service error as a GraphQL error.
pub(crate) fn to_graphql(err: service::Error) -> async_graphql::Error {
    match err {
        service::Error::User(errors) => {
            let message = errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            error(ErrorCode::BadUserInput, message)
        }
        service::Error::BadRequest(message) | service::Error::BadParameter { message, .. } => {
            error(ErrorCode::BadUserInput, message)
        }
        service::Error::TooManyRequests {
            retry_after,
            message,
        } => {
            let mut refused = error(ErrorCode::TooManyRequests, message)
                .extend_with(|_, e| e.set("retryAfter", retry_after));
            refused.source = Some(Arc::new(RetryAfter(retry_after)));
            refused
        }
        service::Error::Database(cause) if service::database_unreachable(&cause) => {
            tracing::error!(error = %cause, "the database cannot be reached");
            let mut refused = error(
                ErrorCode::ServiceUnavailable,
                "the database cannot be reached right now; try again in a moment",
            );
            refused.source = Some(Arc::new(Unavailable { database: true }));
            refused
        }
        service::Error::Unavailable(message) => {
            let mut refused = error(ErrorCode::ServiceUnavailable, message);
            refused.source = Some(Arc::new(Unavailable { database: false }));
            refused
        }
        service::Error::Database(cause) => internal(&cause),
        service::Error::Internal(cause) => internal(&cause),
    }
}

fn internal(cause: &dyn std::fmt::Display) -> async_graphql::Error {
    tracing::error!(error = %cause, "request failed");
    error(
        ErrorCode::InternalServerError,
        "internal error; the server log has details",
    )
}

/// Splits a mutation's outcome into the payload's object and `userErrors`.
pub(crate) fn payload<T>(
    result: service::Result<T>,
) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match result {
        Ok(value) => Ok((Some(value), Vec::new())),
        Err(service::Error::User(errors)) => {
            Ok((None, errors.into_iter().map(Into::into).collect()))
        }
        Err(other) => Err(to_graphql(other)),
    }
}

/// Gives every request error of `response` (one that stopped the request
/// before any field ran) an `extensions.code`: `BAD_USER_INPUT` when it is
/// about a variable's value, `GRAPHQL_VALIDATION_FAILED` otherwise. `query`
/// is the document the response answers.
pub fn give_codes(response: &mut Response, query: &str) {
    let untagged = |e: &ServerError| {
        e.path.is_empty()
            && e.extensions
                .as_ref()
                .is_none_or(|x| x.get("code").is_none())
    };
    if !response.errors.iter().any(untagged) {
        return;
    }
    let about_variables = parse_query(query)
        .map(|document| variable_positions(&document))
        .unwrap_or_default();
    for error in response.errors.iter_mut().filter(|e| untagged(e)) {
        let on_variable = error.locations.iter().any(|p| about_variables.contains(p))
            || error.message.starts_with("Variable ");
        let code = if on_variable {
            ErrorCode::BadUserInput
        } else {
            ErrorCode::GraphqlValidationFailed
        };
        let tagged = async_graphql::Error::new(error.message.clone())
            .extend_with(|_, e| e.set("code", code.as_str()));
        error.extensions = tagged.extensions;
    }
}

/// Where a request error about a variable's value is reported: the variable
/// definitions, and every argument (and its field) whose value uses a variable.
fn variable_positions(document: &ExecutableDocument) -> HashSet<Pos> {
    fn uses_variable(value: &Value) -> bool {
        match value {
            Value::Variable(_) => true,
            Value::List(items) => items.iter().any(uses_variable),
            Value::Object(fields) => fields.values().any(uses_variable),
            _ => false,
        }
    }
    fn walk(set: &SelectionSet, found: &mut HashSet<Pos>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    for (name, value) in &field.node.arguments {
                        if uses_variable(&value.node) {
                            found.extend([name.pos, value.pos, field.pos, field.node.name.pos]);
                        }
                    }
                    walk(&field.node.selection_set.node, found);
                }
                Selection::InlineFragment(fragment) => {
                    walk(&fragment.node.selection_set.node, found)
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut found = HashSet::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            found.extend([definition.pos, definition.node.name.pos]);
        }
        walk(&operation.node.selection_set.node, &mut found);
    }
    for fragment in document.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut found);
    }
    found
}
