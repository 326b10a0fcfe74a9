//! The back office's fields of a reset (`reference`, `referenceOrigin`,
//! `metadata`): set on a create and changed later by integration keys only
//! (a merchant's mailer may trust them), each checked and written in one
//! place. [`merchant_fields!`] declares them from one list, so a new one is
//! one line here (beside its column and its GraphQL fields).

use sea_orm::Set;

use crate::{
    domain::{Metadata, ParseError, Reference},
    entity::customer_password_reset as reset,
    service::error::Errors,
};

/// What a client asks of one field: nothing, to clear it, or a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Change<T> {
    /// Not given: a create leaves the field empty, an update keeps it.
    #[default]
    Keep,
    /// `null`: a create leaves the field empty, an update clears it.
    Clear,
    /// A value.
    Set(T),
}

/// What one of the merchant's fields holds: what a client sends, how it is
/// checked, and what its column stores.
pub trait MerchantValue: Sized {
    /// What a client sends.
    type Raw;
    /// What the column stores.
    type Column: Into<sea_orm::Value>;
    /// Checks what a client sent.
    ///
    /// # Errors
    /// The field's own refusal, such as `REFERENCE_TOO_LONG`.
    fn parse(raw: Self::Raw) -> Result<Self, ParseError>;
    /// The value as its column stores it.
    fn column(self) -> Self::Column;
    /// What the column stores for an empty field.
    fn empty() -> Self::Column;
}

impl MerchantValue for Reference {
    type Raw = String;
    type Column = Option<String>;
    fn parse(raw: String) -> Result<Self, ParseError> {
        Reference::parse(Some(raw))
    }
    fn column(self) -> Option<String> {
        self.into_inner()
    }
    fn empty() -> Option<String> {
        None
    }
}

impl MerchantValue for Metadata {
    type Raw = serde_json::Value;
    type Column = serde_json::Value;
    fn parse(raw: serde_json::Value) -> Result<Self, ParseError> {
        Metadata::parse(raw)
    }
    fn column(self) -> serde_json::Value {
        self.into_json()
    }
    fn empty() -> serde_json::Value {
        serde_json::json!({})
    }
}

/// Declares the merchant's fields, each `field: Type = "inputName"`: what a
/// client sends of them ([`MerchantInput`]), the same checked ([`Merchant`]),
/// which were given, the checks, and how they are written to a reset.
macro_rules! merchant_fields {
    ($( $(#[doc = $doc:literal])* $field:ident: $ty:ty = $input:literal, )*) => {
        /// The merchant's fields as a client sent them.
        #[derive(Debug, Clone, Default)]
        pub struct MerchantInput {
            $( $(#[doc = $doc])* pub $field: Change<<$ty as MerchantValue>::Raw>, )*
        }

        /// The merchant's fields, checked.
        #[derive(Debug, Clone, Default)]
        pub struct Merchant {
            $( $(#[doc = $doc])* pub $field: Change<$ty>, )*
        }

        impl MerchantInput {
            /// The input names of the fields given a value.
            pub fn given(&self) -> Vec<&'static str> {
                let mut given = Vec::new();
                $( if matches!(self.$field, Change::Set(_)) { given.push($input); } )*
                given
            }

            /// The fields checked; each refusal is added to `errors` under
            /// `["input", name]`, and its field left as it was.
            pub(crate) fn check(self, errors: &mut Errors) -> Merchant {
                Merchant {
                    $( $field: match self.$field {
                        Change::Keep => Change::Keep,
                        Change::Clear => Change::Clear,
                        Change::Set(raw) => errors
                            .check(&["input", $input], <$ty as MerchantValue>::parse(raw))
                            .map_or(Change::Keep, Change::Set),
                    }, )*
                }
            }
        }

        impl Merchant {
            /// Writes the fields into `row`: a new reset's fields that were
            /// not set are empty; a change keeps what it does not name.
            pub fn write(self, row: &mut reset::ActiveModel, new: bool) {
                $( match self.$field {
                    Change::Set(value) => row.$field = Set(value.column()),
                    Change::Clear => row.$field = Set(<$ty as MerchantValue>::empty()),
                    Change::Keep if new => row.$field = Set(<$ty as MerchantValue>::empty()),
                    Change::Keep => {}
                } )*
            }
        }
    };
}

merchant_fields! {
    /// The merchant's reference, at most 255 characters.
    reference: Reference = "reference",
    /// Where the reference comes from (Commerce Layer's `reference_origin`).
    reference_origin: Reference = "referenceOrigin",
    /// A JSON object of at most 16 KiB.
    metadata: Metadata = "metadata",
}
