//! Value types that parse rather than validate: once a value of one of these
//! types exists, it is known to be well formed. Secrets (passwords, reset
//! tokens, API keys) redact themselves in `Debug` so they cannot reach a log.

/// Declares a domain enum that is stored and shown by name: its names (set
/// with `strum` attributes), the list of its values (`VARIANTS`) and its
/// parsing are derived, and `as_str` gives the name. Never written by hand.
macro_rules! named {
    ($(#[$meta:meta])* pub enum $name:ident { $($variants:tt)* }) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            strum::EnumString,
            strum::IntoStaticStr,
            strum::Display,
            strum::VariantArray,
        )]
        $(#[$meta])*
        pub enum $name { $($variants)* }

        impl $name {
            /// The name, as stored and as typed on the command line.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

mod audit;
mod caller;
mod code;
mod email;
mod error;
pub mod hex;
mod id;
mod metadata;
mod password;
mod principal;
mod secret;
mod webhook;

pub use audit::{AuditAction, AuditOutcome};
pub use caller::{Auth, Caller, ClientIp};
pub use code::{Delivery, MAX_CODE_DIGITS, MIN_CODE_DIGITS, ResetCode};
pub use email::Email;
pub use error::{ErrorCode, ParseError};
pub use id::{
    API_KEY_ID_PREFIX, AUDIT_EVENT_ID_PREFIX, CUSTOMER_ID_PREFIX, DELIVERY_ID_PREFIX,
    EVENT_ID_PREFIX, PublicId, RESET_ID_PREFIX, WEBHOOK_ID_PREFIX,
};
pub use metadata::{MAX_METADATA_BYTES, MAX_REFERENCE_CHARS, Metadata, Reference};
pub use password::{
    MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, Password, PasswordPolicy, RawPassword,
    normalize as normalize_password,
};
pub use principal::{Mode, Principal, Role};
pub use secret::{ApiKeySecret, ResetToken, digest, webhook_secret};
pub use webhook::{CallbackUrl, DeliveryStatus, EmailKind, Topic, is_public_ip};
