//! Customers in GraphQL: the type, its list, and `createCustomer`
//! (integration keys only).

use std::borrow::Cow;

use async_graphql::{
    Context, Enum, ID, InputObject, Json, Object, SimpleObject, dataloader::DataLoader,
};
use chrono::{DateTime, Utc};

use super::{
    Secret,
    access::{self, INTEGRATION},
    connection::{SortDirection, connection, page_complexity},
    error::{UserError, payload, to_graphql},
    loaders::{CustomerLoader, PasswordDigestLoader},
    resets::{
        CustomerPasswordResetConnection, CustomerPasswordResetFilter, CustomerPasswordResetSort,
        ResetListArgs,
    },
};
use crate::{
    domain::{Mode, RawPassword},
    entity::customer,
    service::{
        customers::{self, CustomerFilter as Filter, CustomerSort as SortKey, NewCustomer},
        pagination::PageArgs,
    },
};

/// A shopper with an account (or a guest, with no password) in one mode.
#[derive(Debug, Clone)]
pub struct Customer {
    id: ID,
    email: String,
    mode: Mode,
    pub(crate) key: i64,
    /// The rest of what the type shows, when it was read with the customer;
    /// otherwise it is loaded when a field asks for it.
    detail: Option<Detail>,
    /// The password digest, when the whole row was read (a write's
    /// payload); otherwise it is loaded when `passwordHashOutdated`, and
    /// only it, asks for it.
    digest: Option<Option<String>>,
}

/// What a customer shows beyond its id, email and mode.
#[derive(Debug, Clone)]
struct Detail {
    has_password: bool,
    password_changed_at: Option<DateTime<Utc>>,
    reference: Option<String>,
    metadata: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<customer::Model> for Detail {
    fn from(m: customer::Model) -> Self {
        Self {
            has_password: m.password_digest.is_some(),
            password_changed_at: m.password_changed_at,
            reference: m.reference,
            metadata: m.metadata,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl From<customer::Model> for Customer {
    fn from(mut m: customer::Model) -> Self {
        let id = ID(std::mem::take(&mut m.public_id));
        let email = std::mem::take(&mut m.email);
        let mode = m.mode;
        let (key, digest) = (m.id, m.password_digest.clone());
        Self {
            id,
            email,
            mode,
            key,
            detail: Some(Detail::from(m)),
            digest: Some(digest),
        }
    }
}

impl From<customer::Shown> for Detail {
    fn from(m: customer::Shown) -> Self {
        Self {
            has_password: m.has_password,
            password_changed_at: m.password_changed_at,
            reference: m.reference,
            metadata: m.metadata,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl From<customer::Shown> for Customer {
    fn from(mut m: customer::Shown) -> Self {
        Self {
            id: ID(std::mem::take(&mut m.public_id)),
            email: std::mem::take(&mut m.email),
            mode: m.mode,
            key: m.id,
            detail: Some(Detail::from(m)),
            digest: None,
        }
    }
}

impl Customer {
    /// The customer of `mode` read as its keys and email only.
    pub(crate) fn brief(m: customer::Brief, mode: Mode) -> Self {
        Self {
            id: ID(m.public_id),
            email: m.email,
            mode,
            key: m.id,
            detail: None,
            digest: None,
        }
    }

    /// The customer with `id` in the caller's mode, if any.
    pub(crate) async fn by_id(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<Self>> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        Ok(customers::get(&state.reader, principal.mode, id)
            .await
            .map_err(to_graphql)?
            .map(Customer::from))
    }

    /// What the customer shows beyond its id, email and mode: as read with
    /// it, or loaded now through the request's loader (one statement for all
    /// the customers a response asks this of).
    async fn detail(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, Detail>> {
        if let Some(detail) = &self.detail {
            return Ok(Cow::Borrowed(detail));
        }
        let loader = ctx.data_unchecked::<DataLoader<CustomerLoader>>();
        let shown = loader
            .load_one(self.key)
            .await?
            .ok_or("the customer was deleted meanwhile")?;
        Ok(Cow::Owned(Detail::from(shown)))
    }
}

/// A shopper with an account (or a guest, with no password) in one mode.
#[Object]
impl Customer {
    /// Opaque id (`cus_…`).
    pub async fn id(&self) -> &ID {
        &self.id
    }

    /// The email address, as given at creation.
    async fn email(&self) -> &str {
        &self.email
    }

    /// Whether the customer has a password; guests have none until a reset sets one.
    async fn has_password(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.detail(ctx).await?.has_password)
    }

    /// When the password was last set (at creation, or by a reset); null for guests.
    async fn password_changed_at(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<Utc>>> {
        Ok(self.detail(ctx).await?.password_changed_at)
    }

    /// The merchant's own reference.
    async fn reference(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.detail(ctx).await?.reference.clone())
    }

    /// Free-form data the merchant attached: always a JSON object.
    async fn metadata(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<serde_json::Value>> {
        Ok(Json(self.detail(ctx).await?.metadata.clone()))
    }

    /// When the customer was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.detail(ctx).await?.created_at)
    }

    /// When the customer last changed (a password reset changes it).
    async fn updated_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.detail(ctx).await?.updated_at)
    }

    /// The mode the customer belongs to.
    async fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether the stored password digest was made with weaker Argon2id
    /// parameters than the server now uses; it is upgraded the next time the
    /// password is set. False for guests.
    async fn password_hash_outdated(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let digest = match &self.digest {
            Some(digest) => Cow::Borrowed(digest),
            None => {
                let loader = ctx.data_unchecked::<DataLoader<PasswordDigestLoader>>();
                Cow::Owned(loader.load_one(self.key).await?.flatten())
            }
        };
        let hasher = &access::state(ctx).hasher;
        Ok(digest
            .as_deref()
            .is_some_and(|digest| hasher.is_outdated(digest)))
    }

    /// The customer's password resets, newest first unless sorted otherwise.
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
        let page = PageArgs::new(first, after, last, before);
        ResetListArgs { page, filter, sort }
            .fetch(ctx, Some(self.key))
            .await
    }
}

connection!(
    CustomerConnection,
    CustomerEdge,
    Customer,
    customer::Entity,
    "customers"
);

/// Which customers to list. Every criterion given must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CustomerFilter {
    /// Only customers with one of these ids.
    pub ids: Option<Vec<ID>>,
    /// Only the customer with this email (letter case ignored).
    pub email: Option<String>,
    /// Only customers with exactly this reference.
    pub reference: Option<String>,
}

/// What to sort customers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::service::customers::CustomerSort")]
pub enum CustomerSortField {
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Email address, letter case ignored.
    Email,
}

/// How to sort customers. Ties are broken by id, so order is stable.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct CustomerSort {
    /// The field to sort by.
    pub field: CustomerSortField,
    /// The direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// A new customer.
#[derive(Debug, InputObject)]
pub struct CreateCustomerInput {
    /// The email address; unique per mode regardless of letter case.
    pub email: String,
    /// The password, 8 to 256 characters. Omit it for a guest.
    #[graphql(secret)]
    pub password: Option<Secret>,
    /// The merchant's own reference, at most 255 characters.
    pub reference: Option<String>,
    /// Free-form data: a JSON object of at most 16 KiB.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// The result of `createCustomer`.
#[derive(SimpleObject)]
pub struct CreateCustomerPayload {
    /// The new customer; null when the input was refused.
    pub customer: Option<Customer>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Reads of customers (integration keys only).
#[derive(Default)]
pub struct CustomerQuery;

/// Reads of customers (integration keys only).
#[Object]
impl CustomerQuery {
    /// One customer by id; null for an id that does not exist, is malformed,
    /// or belongs to the other mode. Integration keys only.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer's id (`cus_…`).")] id: ID,
    ) -> async_graphql::Result<Option<Customer>> {
        Customer::by_id(ctx, &id).await
    }

    /// Customers of the key's mode, newest first unless `sort` says otherwise.
    /// Pages hold 25 rows by default and at most 100. Integration keys only.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first this many rows (0 to 100; default 25).")] first: Option<i32>,
        #[graphql(desc = "The last this many rows (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Which customers to list.")] filter: Option<CustomerFilter>,
        #[graphql(desc = "The order; newest first by default.")] sort: Option<CustomerSort>,
    ) -> async_graphql::Result<CustomerConnection> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let f = filter.unwrap_or_default();
        let filter = Filter {
            ids: f.ids.map(|ids| ids.into_iter().map(|id| id.0).collect()),
            email: f.email,
            reference: f.reference,
        };
        let sort = sort.unwrap_or(CustomerSort {
            field: CustomerSortField::CreatedAt,
            direction: SortDirection::Desc,
        });
        let page = PageArgs::new(first, after, last, before);
        let field = SortKey::from(sort.field);
        let mode = principal.mode;
        let direction = sort.direction.into();
        let page = customers::list(&state.reader, mode, filter, field, direction, page)
            .await
            .map_err(to_graphql)?;
        Ok(CustomerConnection::new(page, Customer::from))
    }
}

/// Writes of customers (integration keys only).
#[derive(Default)]
pub struct CustomerMutation;

/// Writes of customers (integration keys only).
#[Object]
impl CustomerMutation {
    /// Creates a customer, with a password or as a guest. Integration keys only.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new customer.")] input: CreateCustomerInput,
    ) -> async_graphql::Result<CreateCustomerPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let new = NewCustomer {
            email: input.email,
            password: input.password.map(RawPassword::from),
            reference: input.reference,
            metadata: input.metadata.map(|m| m.0),
        };
        let now = state.clock.now();
        let screening = customers::Screening {
            breached: state.breached.as_deref(),
            metrics: &state.metrics,
        };
        let result = customers::create(
            &state.db,
            &state.hasher,
            screening,
            principal.mode,
            new,
            now,
        )
        .await;
        let (customer, user_errors) = payload(result)?;
        Ok(CreateCustomerPayload {
            customer: customer.map(Customer::from),
            user_errors,
        })
    }
}
