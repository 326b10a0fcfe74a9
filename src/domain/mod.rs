//! Value types that parse rather than validate: once a value of one of these
//! types exists, it is known to be well formed. Secrets (passwords, reset
//! tokens, API keys) redact themselves in `Debug` so they cannot reach a log.

mod email;
mod id;
mod metadata;
mod password;
mod principal;
mod secret;
mod webhook;

pub use email::Email;
pub use id::{
    API_KEY_ID_PREFIX, CUSTOMER_ID_PREFIX, DELIVERY_ID_PREFIX, EVENT_ID_PREFIX, PublicId,
    RESET_ID_PREFIX, WEBHOOK_ID_PREFIX,
};
pub use metadata::{Metadata, Reference};
pub use password::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, Password, PasswordPolicy,
    normalize as normalize_password,
};
pub use principal::{Mode, Principal, Role};
pub use secret::{ApiKeySecret, ResetToken, digest, webhook_secret};
pub use webhook::{CallbackUrl, Topic, is_public_ip};

/// Why a raw value was refused by one of the parsing constructors.
///
/// The message is safe to show to a client: it never contains the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// A stable machine-readable reason, mapped to a GraphQL `UserErrorCode`.
    pub reason: ParseReason,
    /// A human-readable explanation.
    pub message: String,
}

/// The machine-readable reasons a value can be refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseReason {
    /// Not an email address.
    InvalidEmail,
    /// A password shorter than [`MIN_PASSWORD_CHARS`].
    PasswordTooShort,
    /// A password longer than [`MAX_PASSWORD_CHARS`].
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
    /// Not a usable webhook callback URL.
    InvalidCallbackUrl,
    /// Not a webhook topic.
    InvalidTopic,
}

impl ParseError {
    pub(crate) fn new(reason: ParseReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}
