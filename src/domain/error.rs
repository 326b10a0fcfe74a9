//! Why input is refused: the one list of stable codes, and the error every
//! parsing constructor returns.
//!
//! Parsing constructors carry a code in a [`ParseError`]; services add the
//! codes only they can decide (a taken email, an unknown id, a spent token);
//! GraphQL shows [`ErrorCode`] itself as `UserErrorCode`, its doc comments as
//! the schema's descriptions, and the docs list it from the same enum. A new
//! code is one new variant here, with its doc comment.

named! {
    /// Why a mutation refused its input. Stable: clients may switch on it.
    #[derive(async_graphql::Enum)]
    #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
    #[graphql(name = "UserErrorCode")]
    pub enum ErrorCode {
        /// The email address is not valid: not one a mail server would take (one `@`, a
        /// local part of dot-separated atoms, a domain with a dot, none of
        /// `()<>[]:;\,"`, so no quoted local parts or address literals).
        InvalidEmail,
        /// Another customer of this mode already has this email (letter case ignored).
        EmailTaken,
        /// The password is shorter than the minimum (`PASSWORD_MIN_LENGTH`, 8 characters
        /// unless configured higher).
        PasswordTooShort,
        /// The password is longer than 256 characters.
        PasswordTooLong,
        /// The password is on a list of common passwords that attackers try first.
        PasswordTooCommon,
        /// The password has appeared in a data breach (`BREACHED_PASSWORDS`),
        /// so attackers try it; the token stays usable.
        PasswordBreached,
        /// The password contains the customer's email address or its local part.
        PasswordContainsEmail,
        /// `metadata` must be a JSON object.
        MetadataNotObject,
        /// `metadata` is larger than 16 KiB of JSON.
        MetadataTooLarge,
        /// `reference` is longer than 255 characters.
        ReferenceTooLong,
        /// No customer of this mode has this email (integration keys only: sales
        /// channels are never told).
        CustomerNotFound,
        /// No record of this mode has this id.
        NotFound,
        /// No password reset has this token; or, for a one-time code, the code
        /// does not complete a reset (wrong, expired, used up, or no reset
        /// for the email: the answer is the same).
        TokenInvalid,
        /// The token has expired; request a new reset.
        TokenExpired,
        /// The token was already used to reset the password.
        TokenAlreadyUsed,
        /// A newer reset replaced this one, or another reset completed first.
        TokenInvalidated,
        /// A complete gave neither `resetPasswordToken` nor `customerEmail`
        /// with `code`, or gave both.
        TokenOrCodeRequired,
        /// `callbackUrl` must be an http or https URL with a host and no credentials.
        InvalidCallbackUrl,
        /// `callbackUrl` points at a private, loopback or link-local address, which
        /// this server refuses (see `WEBHOOK_ALLOW_PRIVATE_TARGETS`).
        CallbackUrlNotAllowed,
        /// `topic` is not one of the supported Commerce Layer topics. No longer
        /// sent: topics are the `WebhookTopic` enum, so an unknown one is refused
        /// before execution (`BAD_USER_INPUT`).
        #[graphql(
            deprecation = "topics are the WebhookTopic enum now; an unknown one is a BAD_USER_INPUT request error"
        )]
        InvalidTopic,
        /// The field may not be set with this key: sales-channel keys may not set a
        /// reset's `reference`, `referenceOrigin` or `metadata` (the back office's
        /// fields, which its mailer may trust).
        FieldNotAllowed,
        /// `redirectUrl` is not an http(s) URL, or its origin is not one of the
        /// server's `RESET_URL_ALLOWED_ORIGINS`.
        RedirectUrlNotAllowed,
        /// `locale` is not a language tag such as `en` or `de-CH`.
        InvalidLocale,
        /// The server challenges storefront creates (`CAPTCHA_PROVIDER`), and
        /// `captchaToken` is missing.
        CaptchaRequired,
        /// The bot challenge provider refused `captchaToken` (not solved,
        /// used already, expired, too low a score, another site).
        CaptchaFailed,
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
