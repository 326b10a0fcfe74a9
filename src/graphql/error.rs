//! The one mapping from service errors to GraphQL: user errors become payload
//! `userErrors`; bad arguments become `BAD_USER_INPUT`; anything internal is
//! logged with its cause and reaches the client as a generic message, so no
//! SQL or stack trace is ever sent.

use async_graphql::{ErrorExtensions, SimpleObject};

use super::types::UserErrorCode;
use crate::service;

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
            code: e.code.into(),
        }
    }
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
            async_graphql::Error::new(message).extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
        }
        service::Error::BadRequest(message) => {
            async_graphql::Error::new(message).extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
        }
        service::Error::TooManyRequests {
            retry_after,
            message,
        } => async_graphql::Error::new(message).extend_with(|_, e| {
            e.set("code", "TOO_MANY_REQUESTS");
            e.set("retryAfter", retry_after);
        }),
        service::Error::Database(cause) => internal(&cause),
        service::Error::Internal(cause) => internal(&cause),
    }
}

fn internal(cause: &dyn std::fmt::Display) -> async_graphql::Error {
    tracing::error!(error = %cause, "request failed");
    async_graphql::Error::new("internal error; the server log has details")
        .extend_with(|_, e| e.set("code", "INTERNAL_SERVER_ERROR"))
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
