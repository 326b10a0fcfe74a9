//! Why input is refused: the one list of stable codes, and the error every
//! parsing constructor returns.

/// A stable, machine-readable reason for refusing input. Parsing constructors
/// carry it in a [`ParseError`]; services add the codes only they can decide
/// (a taken email, an unknown id, a spent token). GraphQL shows each as the
/// `UserErrorCode` of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not an email address.
    InvalidEmail,
    /// Another customer of the same mode has this email.
    EmailTaken,
    /// A password shorter than the policy's minimum.
    PasswordTooShort,
    /// A password longer than [`super::MAX_PASSWORD_CHARS`].
    PasswordTooLong,
    /// A password on the list of common passwords.
    PasswordTooCommon,
    /// A password containing the customer's email or its local part.
    PasswordContainsEmail,
    /// Metadata that is not a JSON object.
    MetadataNotObject,
    /// Metadata whose JSON text is too large.
    MetadataTooLarge,
    /// A reference that is too long.
    ReferenceTooLong,
    /// No customer of this mode has this email (told only to integrations).
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
    /// Not a usable webhook callback URL.
    InvalidCallbackUrl,
    /// The callback URL points at an address that is not public.
    CallbackUrlNotAllowed,
    /// Not a webhook topic.
    InvalidTopic,
    /// A field the caller's role may not set (a sales channel setting the
    /// merchant's `reference` or `metadata`).
    FieldNotAllowed,
    /// A `redirectUrl` whose origin is not allowed, or that is not an http(s) URL.
    RedirectUrlNotAllowed,
    /// A `locale` that is not a language tag.
    InvalidLocale,
}

impl ErrorCode {
    /// The code as clients see it (`TOKEN_EXPIRED`), for logs, metrics and the audit trail.
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
            ErrorCode::FieldNotAllowed => "FIELD_NOT_ALLOWED",
            ErrorCode::RedirectUrlNotAllowed => "REDIRECT_URL_NOT_ALLOWED",
            ErrorCode::InvalidLocale => "INVALID_LOCALE",
        }
    }
}

/// Why a raw value was refused by one of the parsing constructors.
///
/// The message is safe to show to a client: it never contains the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The stable reason.
    pub code: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
