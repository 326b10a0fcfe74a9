//! Output and input types. Output types are built from entities field by field,
//! so a new column (a password digest) can never leak into the schema.

use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Interface, Json, MaybeUndefined, SimpleObject,
    dataloader::DataLoader,
};
use chrono::{DateTime, Utc};

use super::{
    access::{self, INTEGRATION},
    connection::{
        CustomerPasswordResetConnection, CustomerPasswordResetFilter, CustomerPasswordResetSort,
        ResetListArgs, page_complexity,
    },
    loaders::CustomerLoader,
};
use crate::{
    domain,
    entity::{customer, customer_password_reset},
    service::{self, pagination::PageArgs, password_resets::ResetStatus},
};

/// The environment a record belongs to. A key sees only records of its own mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Mode {
    /// Test data.
    Test,
    /// Live data.
    Live,
}

impl From<&str> for Mode {
    fn from(stored: &str) -> Self {
        if stored == domain::Mode::Live.as_str() {
            Mode::Live
        } else {
            Mode::Test
        }
    }
}

/// Where a password reset stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CustomerPasswordResetStatus {
    /// Not used, not replaced, not expired: the token works.
    Pending,
    /// The password was reset with this token.
    Completed,
    /// The token's time ran out before it was used.
    Expired,
    /// A newer reset for the same customer replaced it, or another reset of the
    /// customer completed; the token no longer works.
    Invalidated,
}

impl From<ResetStatus> for CustomerPasswordResetStatus {
    fn from(s: ResetStatus) -> Self {
        match s {
            ResetStatus::Pending => Self::Pending,
            ResetStatus::Completed => Self::Completed,
            ResetStatus::Expired => Self::Expired,
            ResetStatus::Invalidated => Self::Invalidated,
        }
    }
}

impl From<CustomerPasswordResetStatus> for ResetStatus {
    fn from(s: CustomerPasswordResetStatus) -> Self {
        match s {
            CustomerPasswordResetStatus::Pending => Self::Pending,
            CustomerPasswordResetStatus::Completed => Self::Completed,
            CustomerPasswordResetStatus::Expired => Self::Expired,
            CustomerPasswordResetStatus::Invalidated => Self::Invalidated,
        }
    }
}

/// Why a mutation refused its input. Stable: clients may switch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum UserErrorCode {
    /// The email address is not valid.
    InvalidEmail,
    /// Another customer of this mode already has this email (letter case ignored).
    EmailTaken,
    /// The password is shorter than the minimum (8 characters unless configured higher).
    PasswordTooShort,
    /// The password is longer than 256 characters.
    PasswordTooLong,
    /// The password is on a list of common passwords that attackers try first.
    PasswordTooCommon,
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
    /// No password reset has this token.
    TokenInvalid,
    /// The token has expired; request a new reset.
    TokenExpired,
    /// The token was already used to reset the password.
    TokenAlreadyUsed,
    /// A newer reset replaced this one, or another reset completed first.
    TokenInvalidated,
    /// `callbackUrl` must be an http or https URL with a host and no credentials.
    InvalidCallbackUrl,
    /// `callbackUrl` points at a private, loopback or link-local address, which
    /// this server refuses (see `WEBHOOK_ALLOW_PRIVATE_TARGETS`).
    CallbackUrlNotAllowed,
    /// `topic` is not one of the supported Commerce Layer topics.
    InvalidTopic,
}

impl From<service::ErrorCode> for UserErrorCode {
    fn from(c: service::ErrorCode) -> Self {
        use service::ErrorCode as C;
        match c {
            C::InvalidEmail => Self::InvalidEmail,
            C::EmailTaken => Self::EmailTaken,
            C::PasswordTooShort => Self::PasswordTooShort,
            C::PasswordTooLong => Self::PasswordTooLong,
            C::PasswordTooCommon => Self::PasswordTooCommon,
            C::PasswordContainsEmail => Self::PasswordContainsEmail,
            C::MetadataNotObject => Self::MetadataNotObject,
            C::MetadataTooLarge => Self::MetadataTooLarge,
            C::ReferenceTooLong => Self::ReferenceTooLong,
            C::CustomerNotFound => Self::CustomerNotFound,
            C::NotFound => Self::NotFound,
            C::TokenInvalid => Self::TokenInvalid,
            C::TokenExpired => Self::TokenExpired,
            C::TokenAlreadyUsed => Self::TokenAlreadyUsed,
            C::TokenInvalidated => Self::TokenInvalidated,
            C::InvalidCallbackUrl => Self::InvalidCallbackUrl,
            C::CallbackUrlNotAllowed => Self::CallbackUrlNotAllowed,
            C::InvalidTopic => Self::InvalidTopic,
        }
    }
}

/// An object with a globally unique id, refetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "&ID",
    desc = "The object's opaque, globally unique id."
))]
pub enum Node {
    /// A customer.
    Customer(Customer),
    /// A customer password reset.
    CustomerPasswordReset(CustomerPasswordReset),
}

/// A shopper with an account (or a guest, with no password) in one mode.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct Customer {
    /// Opaque id (`cus_…`).
    pub id: ID,
    /// The email address, as given at creation.
    pub email: String,
    /// Whether the customer has a password; guests have none until a reset sets one.
    pub has_password: bool,
    /// When the password was last set (at creation, or by a reset); null for guests.
    pub password_changed_at: Option<DateTime<Utc>>,
    /// The merchant's own reference.
    pub reference: Option<String>,
    /// Free-form data the merchant attached: always a JSON object.
    pub metadata: Json<serde_json::Value>,
    /// When the customer was created.
    pub created_at: DateTime<Utc>,
    /// When the customer last changed (a password reset changes it).
    pub updated_at: DateTime<Utc>,
    /// The mode the customer belongs to.
    pub mode: Mode,
    #[graphql(skip)]
    pub(crate) key: i64,
    #[graphql(skip)]
    outdated_hash: Option<String>,
}

impl From<customer::Model> for Customer {
    fn from(m: customer::Model) -> Self {
        Self {
            id: ID(m.public_id),
            email: m.email,
            has_password: m.password_digest.is_some(),
            password_changed_at: m.password_changed_at,
            outdated_hash: m.password_digest,
            reference: m.reference,
            metadata: Json(m.metadata),
            created_at: m.created_at,
            updated_at: m.updated_at,
            mode: Mode::from(m.mode.as_str()),
            key: m.id,
        }
    }
}

#[ComplexObject]
impl Customer {
    /// Whether the stored password digest was made with weaker Argon2id
    /// parameters than the server now uses; it is upgraded the next time the
    /// password is set. False for guests.
    async fn password_hash_outdated(&self, ctx: &Context<'_>) -> bool {
        let hasher = &access::state(ctx).hasher;
        self.outdated_hash
            .as_deref()
            .is_some_and(|digest| hasher.is_outdated(digest))
    }

    /// The customer's password resets, newest first unless sorted otherwise.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn password_resets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first this many rows (0 to 100; default 25).")] first: Option<i32>,
        #[graphql(desc = "The last this many rows (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Which resets to list.")] filter: Option<CustomerPasswordResetFilter>,
        #[graphql(desc = "The order; newest first by default.")] sort: Option<
            CustomerPasswordResetSort,
        >,
    ) -> async_graphql::Result<CustomerPasswordResetConnection> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        ResetListArgs { page, filter, sort }
            .fetch(ctx, Some(self.key))
            .await
    }
}

/// A request to reset a customer's password (Commerce Layer's
/// `customer_password_reset`). Its token is shown once, to integrations, in the
/// create payload; afterwards only its digest exists.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct CustomerPasswordReset {
    /// Opaque id (`cpr_…`).
    pub id: ID,
    /// The email the reset was requested for.
    pub customer_email: String,
    /// The secret token that completes the reset. Non-null only in the payload
    /// of `createCustomerPasswordReset` called with an integration key, once:
    /// the server keeps only a digest and can never show it again.
    pub reset_password_token: Option<String>,
    /// When the password was reset with this token; null until then.
    pub reset_password_at: Option<DateTime<Utc>>,
    /// When the token stops working (6 hours after creation by default).
    pub expires_at: DateTime<Utc>,
    /// Where the reset stands now.
    pub status: CustomerPasswordResetStatus,
    /// The merchant's own reference.
    pub reference: Option<String>,
    /// Where `reference` comes from (an order system, a CRM…).
    pub reference_origin: Option<String>,
    /// Free-form data the merchant attached: always a JSON object.
    pub metadata: Json<serde_json::Value>,
    /// When the reset was requested.
    pub created_at: DateTime<Utc>,
    /// When the reset last changed.
    pub updated_at: DateTime<Utc>,
    /// The mode the reset belongs to.
    pub mode: Mode,
    #[graphql(skip)]
    pub(crate) customer_key: i64,
    /// The customer, when the list that produced this reset loaded it already.
    #[graphql(skip)]
    pub(crate) preloaded_customer: Option<Arc<Customer>>,
}

impl CustomerPasswordReset {
    /// The reset as seen at `now`, without its token.
    pub(crate) fn new(m: customer_password_reset::Model, now: DateTime<Utc>) -> Self {
        let status = service::password_resets::status(&m, now).into();
        Self {
            id: ID(m.public_id),
            customer_email: m.customer_email,
            reset_password_token: None,
            reset_password_at: m.reset_password_at,
            expires_at: m.expires_at,
            status,
            reference: m.reference,
            reference_origin: m.reference_origin,
            metadata: Json(m.metadata),
            created_at: m.created_at,
            updated_at: m.updated_at,
            mode: Mode::from(m.mode.as_str()),
            customer_key: m.customer_id,
            preloaded_customer: None,
        }
    }
}

#[ComplexObject]
impl CustomerPasswordReset {
    /// The customer whose password this reset changes (integration keys only).
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Arc<Customer>>> {
        access::require(ctx, INTEGRATION)?;
        if let Some(customer) = &self.preloaded_customer {
            return Ok(Some(customer.clone()));
        }
        let loader = ctx.data_unchecked::<DataLoader<CustomerLoader>>();
        Ok(loader
            .load_one(self.customer_key)
            .await?
            .map(|m| Arc::new(Customer::from(m))))
    }
}

/// A new customer.
#[derive(Debug, InputObject)]
pub struct CreateCustomerInput {
    /// The email address; unique per mode regardless of letter case.
    pub email: String,
    /// The password, 8 to 256 characters. Omit it for a guest.
    #[graphql(secret)]
    pub password: Option<String>,
    /// The merchant's own reference, at most 255 characters.
    pub reference: Option<String>,
    /// Free-form data: a JSON object of at most 16 KiB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// A request to reset a customer's password.
#[derive(Debug, InputObject)]
pub struct CreateCustomerPasswordResetInput {
    /// The customer's email address, in any letter case.
    pub customer_email: String,
    /// The merchant's own reference, at most 255 characters.
    pub reference: Option<String>,
    /// Where the reference comes from, at most 255 characters.
    pub reference_origin: Option<String>,
    /// Free-form data: a JSON object of at most 16 KiB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// The token a customer received and the password they chose
/// (Commerce Layer's write-only `_reset_password_token` and `customer_password`).
#[derive(Debug, InputObject)]
pub struct CompleteCustomerPasswordResetInput {
    /// The token from the reset link. It alone identifies the reset.
    #[graphql(secret)]
    pub reset_password_token: String,
    /// The new password, 8 to 256 characters.
    #[graphql(secret)]
    pub customer_password: String,
}

/// Changes to a reset's merchant fields.
#[derive(Debug, InputObject)]
pub struct UpdateCustomerPasswordResetInput {
    /// The reset's id.
    pub id: ID,
    /// A new reference; null clears it, omitted keeps it.
    pub reference: MaybeUndefined<String>,
    /// A new reference origin; null clears it, omitted keeps it.
    pub reference_origin: MaybeUndefined<String>,
    /// New metadata, replacing the old object; omitted keeps it.
    pub metadata: Option<Json<serde_json::Value>>,
}
