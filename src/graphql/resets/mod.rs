//! Customer password resets in GraphQL: the type and its reads here; lists
//! in [`list`]; the mutations in [`mutation`].

mod email;
mod list;
mod mutation;

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Json, Object};
use chrono::{DateTime, Utc};

use email::{DeliveryChannels, EmailChannel, ResetEmail};
pub(crate) use list::ResetListArgs;
pub use list::{
    CustomerPasswordResetConnection, CustomerPasswordResetFilter, CustomerPasswordResetSort,
};
pub use mutation::ResetMutation;

use super::{
    access::{self, INTEGRATION},
    connection::page_complexity,
    customers::Customer,
    error::to_graphql,
    loaders::{CustomerLoader, ResetEmailLoader},
};
use crate::{
    domain::{Mode, Topic},
    entity::customer_password_reset,
    service::{mail::Channel, pagination::PageArgs, password_resets, webhooks},
};

/// Where a password reset stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::service::password_resets::ResetStatus")]
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

/// A request to reset a customer's password (Commerce Layer's
/// `customer_password_reset`). Its token is shown once, to integrations, in the
/// create payload; afterwards only its digest exists.
#[derive(Debug, Clone)]
pub struct CustomerPasswordReset {
    id: ID,
    /// The row as reads show it; every field below reads from it.
    row: customer_password_reset::Shown,
    status: CustomerPasswordResetStatus,
    /// The token, in the create payload only.
    pub(crate) reset_password_token: Option<String>,
    /// The one-time code, in the create payload only.
    pub(crate) reset_password_code: Option<String>,
    /// The customer, when the list that produced this reset loaded it already.
    pub(crate) preloaded_customer: Option<Arc<Customer>>,
}

impl CustomerPasswordReset {
    /// The reset as seen at `now`, without its token.
    pub(crate) fn new(row: customer_password_reset::Shown, now: DateTime<Utc>) -> Self {
        Self {
            id: ID(row.public_id.clone()),
            status: password_resets::status(&row, now).into(),
            row,
            reset_password_token: None,
            reset_password_code: None,
            preloaded_customer: None,
        }
    }

    /// The reset with `id` in the caller's mode, if any, read with the
    /// columns the field of `ctx` asks for.
    pub(crate) async fn by_id(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<Self>> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        let columns = list::columns_for([ctx.field()]);
        Ok(
            password_resets::get(&state.reader, principal.mode, id, columns)
                .await
                .map_err(to_graphql)?
                .map(|m| CustomerPasswordReset::new(m, now)),
        )
    }
}

/// A request to reset a customer's password (Commerce Layer's
/// `customer_password_reset`). Its token is shown once, to integrations, in the
/// create payload; afterwards only its digest exists.
#[Object]
impl CustomerPasswordReset {
    /// Opaque id (`cpr_…`).
    pub(crate) async fn id(&self) -> &ID {
        &self.id
    }

    /// The email the reset was requested for.
    async fn customer_email(&self) -> &str {
        &self.row.customer_email
    }

    /// The secret token that completes the reset. Non-null only in the payload
    /// of `createCustomerPasswordReset` called with an integration key, once:
    /// the server keeps only a digest and can never show it again.
    async fn reset_password_token(&self) -> Option<&str> {
        self.reset_password_token.as_deref()
    }

    /// The one-time code that completes the reset with the customer's email,
    /// when it was created with one (`delivery` `CODE` or `LINK_AND_CODE`).
    /// Non-null only in the payload of `createCustomerPasswordReset` called
    /// with an integration key, once: the server keeps only a keyed digest.
    async fn reset_password_code(&self) -> Option<&str> {
        self.reset_password_code.as_deref()
    }

    /// How the reset reaches the customer: a link, a one-time code, or both.
    async fn delivery(&self) -> crate::domain::Delivery {
        self.row.delivery
    }

    /// When the one-time code stops working (15 minutes after creation by
    /// default); null for a reset without a code.
    async fn code_expires_at(&self) -> Option<DateTime<Utc>> {
        self.row.code_expires_at
    }

    /// How many wrong codes were tried; the reset is voided at
    /// `RESET_CODE_MAX_ATTEMPTS` (integration keys only).
    #[graphql(guard = "access::integration_only")]
    async fn code_attempts(&self) -> i32 {
        self.row.code_attempts
    }

    /// When the password was reset with this token; null until then.
    async fn reset_password_at(&self) -> Option<DateTime<Utc>> {
        self.row.reset_password_at
    }

    /// When the token stops working (6 hours after creation by default).
    async fn expires_at(&self) -> DateTime<Utc> {
        self.row.expires_at
    }

    /// Where the reset stands now.
    async fn status(&self) -> CustomerPasswordResetStatus {
        self.status
    }

    /// The merchant's own reference (integration keys only).
    #[graphql(guard = "access::integration_only")]
    async fn reference(&self) -> Option<&str> {
        self.row.reference.as_deref()
    }

    /// Where `reference` comes from (an order system, a CRM…; integration keys only).
    #[graphql(guard = "access::integration_only")]
    async fn reference_origin(&self) -> Option<&str> {
        self.row.reference_origin.as_deref()
    }

    /// Free-form data the merchant attached: always a JSON object (integration keys only).
    #[graphql(guard = "access::integration_only")]
    async fn metadata(&self) -> Json<&serde_json::Value> {
        Json(&self.row.metadata)
    }

    /// When the reset was requested.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// When the reset last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }

    /// The mode the reset belongs to.
    async fn mode(&self) -> Mode {
        self.row.mode
    }

    /// The customer whose password this reset changes (integration keys only).
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Arc<Customer>>> {
        access::require(ctx, INTEGRATION)?;
        if let Some(customer) = &self.preloaded_customer {
            return Ok(Some(customer.clone()));
        }
        let loader = ctx.data_unchecked::<async_graphql::dataloader::DataLoader<CustomerLoader>>();
        Ok(loader
            .load_one(self.row.customer_id)
            .await?
            .map(|m| Arc::new(Customer::from(m))))
    }

    /// The reset's email to its customer; null when none was written (the
    /// mode sends no email). Integration keys only.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ResetEmail>> {
        access::require(ctx, INTEGRATION)?;
        let loader =
            ctx.data_unchecked::<async_graphql::dataloader::DataLoader<ResetEmailLoader>>();
        Ok(loader.load_one(self.row.id).await?.map(ResetEmail::from))
    }
}

/// Reads of resets (integration keys only).
#[derive(Default)]
pub struct ResetQuery;

/// Reads of resets (integration keys only).
#[Object]
impl ResetQuery {
    /// One password reset by id; null for an id that does not exist, is
    /// malformed, or belongs to the other mode. Integration keys only.
    async fn customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reset's id (`cpr_…`).")] id: ID,
    ) -> async_graphql::Result<Option<CustomerPasswordReset>> {
        CustomerPasswordReset::by_id(ctx, &id).await
    }

    /// Password resets of the key's mode, newest first unless `sort` says
    /// otherwise. Pages hold 25 rows by default and at most 100. Integration keys only.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn customer_password_resets(
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
        let page = PageArgs::new(first, after, last, before);
        ResetListArgs { page, filter, sort }.fetch(ctx, None).await
    }

    /// What carries a new reset of the key's mode to its customer: the
    /// email channel and the webhooks on `CUSTOMER_PASSWORD_RESETS_CREATE`.
    /// Integration keys only.
    async fn delivery_channels(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<DeliveryChannels> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let hooks = webhooks::subscribers(&state.reader, principal.mode, &[Topic::ResetCreated])
            .await
            .map_err(to_graphql)?;
        let email = match (
            &state.mail.mode(principal.mode).channel,
            state.mail.sends(principal.mode),
        ) {
            (_, false) | (Channel::Off, _) => EmailChannel::Off,
            (Channel::Smtp(_), true) => EmailChannel::Smtp,
            (Channel::DevelopmentLog, true) => EmailChannel::DevelopmentLog,
        };
        Ok(DeliveryChannels {
            email,
            webhooks: i32::try_from(hooks.len()).unwrap_or(i32::MAX),
            reachable: email != EmailChannel::Off || !hooks.is_empty(),
        })
    }
}
