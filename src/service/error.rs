//! The service layer's one error type.

use crate::domain::{ParseError, ParseReason};

/// What a service call can fail with.
///
/// `Display` never includes database text, so even a stray conversion cannot
/// send SQL to a client; the cause stays available through `source()` for logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input was refused; nothing changed. Reported as `userErrors`.
    #[error("invalid input")]
    User(Vec<UserError>),
    /// A malformed query argument (page size, cursor); reported as a GraphQL error.
    #[error("{0}")]
    BadRequest(String),
    /// A rate limit or the hashing queue refused the request; nothing changed.
    #[error("{message}")]
    TooManyRequests {
        /// Seconds until a retry can succeed.
        retry_after: u64,
        /// What was exceeded.
        message: String,
    },
    /// The database failed.
    #[error("internal error")]
    Database(#[from] sea_orm::DbErr),
    /// Something else failed that the caller cannot fix.
    #[error("internal error")]
    Internal(String),
}

/// The result of a service call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable reasons for refusing input; the GraphQL layer shows them as `UserErrorCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not an email address.
    InvalidEmail,
    /// Another customer of the same mode has this email.
    EmailTaken,
    /// Password under the minimum length.
    PasswordTooShort,
    /// Password over the maximum length.
    PasswordTooLong,
    /// Password on the list of common passwords.
    PasswordTooCommon,
    /// Password containing the customer's email or its local part.
    PasswordContainsEmail,
    /// Metadata that is not a JSON object.
    MetadataNotObject,
    /// Metadata over the size limit.
    MetadataTooLarge,
    /// Reference over the length limit.
    ReferenceTooLong,
    /// No customer of this mode has this email.
    CustomerNotFound,
    /// No record of this mode has this id.
    NotFound,
    /// No reset of this mode has this token.
    TokenInvalid,
    /// The token's time ran out.
    TokenExpired,
    /// The token was already used to reset the password.
    TokenAlreadyUsed,
    /// The reset was superseded by a newer one or voided by another reset.
    TokenInvalidated,
    /// Not an http(s) URL with a host.
    InvalidCallbackUrl,
    /// The callback URL points at a private, loopback or link-local address.
    CallbackUrlNotAllowed,
    /// Not a webhook topic.
    InvalidTopic,
}

impl ErrorCode {
    /// The code as clients see it (`TOKEN_EXPIRED`), for logs and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidEmail => "INVALID_EMAIL",
            ErrorCode::EmailTaken => "EMAIL_TAKEN",
            ErrorCode::PasswordTooShort => "PASSWORD_TOO_SHORT",
            ErrorCode::PasswordTooLong => "PASSWORD_TOO_LONG",
            ErrorCode::PasswordTooCommon => "PASSWORD_TOO_COMMON",
            ErrorCode::PasswordContainsEmail => "PASSWORD_CONTAINS_EMAIL",
            ErrorCode::MetadataNotObject => "METADATA_NOT_OBJECT",
            ErrorCode::MetadataTooLarge => "METADATA_TOO_LARGE",
            ErrorCode::ReferenceTooLong => "REFERENCE_TOO_LONG",
            ErrorCode::CustomerNotFound => "CUSTOMER_NOT_FOUND",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::TokenInvalid => "TOKEN_INVALID",
            ErrorCode::TokenExpired => "TOKEN_EXPIRED",
            ErrorCode::TokenAlreadyUsed => "TOKEN_ALREADY_USED",
            ErrorCode::TokenInvalidated => "TOKEN_INVALIDATED",
            ErrorCode::InvalidCallbackUrl => "INVALID_CALLBACK_URL",
            ErrorCode::CallbackUrlNotAllowed => "CALLBACK_URL_NOT_ALLOWED",
            ErrorCode::InvalidTopic => "INVALID_TOPIC",
        }
    }
}

/// One refused input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// The path to the input field, such as `["input", "customerEmail"]`.
    pub field: Vec<String>,
    /// A message for humans.
    pub message: String,
    /// The stable reason.
    pub code: ErrorCode,
}

impl UserError {
    /// A refused field at `field` (a path such as `["input", "customerEmail"]`).
    pub fn new(field: &[&str], code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.iter().map(|s| (*s).to_owned()).collect(),
            message: message.into(),
            code,
        }
    }

    /// The user error for a value a domain constructor refused.
    pub fn from_parse(field: &[&str], err: ParseError) -> Self {
        let code = match err.reason {
            ParseReason::InvalidEmail => ErrorCode::InvalidEmail,
            ParseReason::PasswordTooShort => ErrorCode::PasswordTooShort,
            ParseReason::PasswordTooLong => ErrorCode::PasswordTooLong,
            ParseReason::PasswordTooCommon => ErrorCode::PasswordTooCommon,
            ParseReason::PasswordContainsEmail => ErrorCode::PasswordContainsEmail,
            ParseReason::MetadataNotObject => ErrorCode::MetadataNotObject,
            ParseReason::MetadataTooLarge => ErrorCode::MetadataTooLarge,
            ParseReason::ReferenceTooLong => ErrorCode::ReferenceTooLong,
            ParseReason::InvalidCallbackUrl => ErrorCode::InvalidCallbackUrl,
            ParseReason::InvalidTopic => ErrorCode::InvalidTopic,
        };
        Self::new(field, code, err.message)
    }
}

impl From<UserError> for Error {
    fn from(e: UserError) -> Self {
        Error::User(vec![e])
    }
}

/// Collects field errors while parsing an input, so a client sees them all at once.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<UserError>);

impl Errors {
    /// Records the error of a failed parse, if any, and passes the value on.
    pub(crate) fn check<T>(&mut self, field: &[&str], parsed: Result<T, ParseError>) -> Option<T> {
        parsed
            .map_err(|e| self.0.push(UserError::from_parse(field, e)))
            .ok()
    }

    /// Records an error found some other way.
    pub(crate) fn push(&mut self, error: UserError) {
        self.0.push(error);
    }

    /// `Err` with every recorded error, or `Ok` when there were none.
    pub(crate) fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::User(self.0))
        }
    }
}
