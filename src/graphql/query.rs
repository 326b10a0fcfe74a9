//! Queries: reading resets and customers (integration keys only).

use async_graphql::{Context, ID, Object};

use super::{
    access::{self, INTEGRATION},
    connection::page_complexity,
    connection::{
        self, CustomerConnection, CustomerFilter, CustomerPasswordResetConnection,
        CustomerPasswordResetFilter, CustomerPasswordResetSort, CustomerSortInput, ResetListArgs,
    },
    error::to_graphql,
    types::{Customer, CustomerPasswordReset, Node},
};
use crate::{
    domain::{CUSTOMER_ID_PREFIX, RESET_ID_PREFIX},
    service::{customers, pagination::PageArgs, password_resets},
};

/// Reads of resets and customers.
#[derive(Default)]
pub struct CoreQuery;

/// The root of every read. Every field needs an integration key.
#[Object]
impl CoreQuery {
    /// Refetches any object by its id; null for an id that does not exist,
    /// is malformed, or belongs to the other mode. Integration keys only.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The object's id.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        access::require(ctx, INTEGRATION)?;
        if id.starts_with(&format!("{RESET_ID_PREFIX}_")) {
            return Ok(self
                .customer_password_reset(ctx, id)
                .await?
                .map(Node::CustomerPasswordReset));
        }
        if id.starts_with(&format!("{CUSTOMER_ID_PREFIX}_")) {
            return Ok(self.customer(ctx, id).await?.map(Node::Customer));
        }
        Ok(None)
    }

    /// One password reset by id; null for an id that does not exist, is
    /// malformed, or belongs to the other mode. Integration keys only.
    async fn customer_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The reset's id (`cpr_…`).")] id: ID,
    ) -> async_graphql::Result<Option<CustomerPasswordReset>> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        Ok(password_resets::get(&state.reader, principal.mode, &id)
            .await
            .map_err(to_graphql)?
            .map(|m| CustomerPasswordReset::new(m, now)))
    }

    /// Password resets of the key's mode, newest first unless `sort` says
    /// otherwise. Pages hold 25 rows by default and at most 100. Integration keys only.
    #[allow(clippy::too_many_arguments)]
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
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        ResetListArgs { page, filter, sort }.fetch(ctx, None).await
    }

    /// One customer by id; null for an id that does not exist, is malformed,
    /// or belongs to the other mode. Integration keys only.
    async fn customer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The customer's id (`cus_…`).")] id: ID,
    ) -> async_graphql::Result<Option<Customer>> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        Ok(customers::get(&state.reader, principal.mode, &id)
            .await
            .map_err(to_graphql)?
            .map(Customer::from))
    }

    /// Customers of the key's mode, newest first unless `sort` says otherwise.
    /// Pages hold 25 rows by default and at most 100. Integration keys only.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first this many rows (0 to 100; default 25).")] first: Option<i32>,
        #[graphql(desc = "The last this many rows (0 to 100).")] last: Option<i32>,
        #[graphql(desc = "Which customers to list.")] filter: Option<CustomerFilter>,
        #[graphql(desc = "The order; newest first by default.")] sort: Option<CustomerSortInput>,
    ) -> async_graphql::Result<CustomerConnection> {
        connection::fetch_customers(
            ctx,
            PageArgs {
                first,
                after,
                last,
                before,
            },
            filter,
            sort,
        )
        .await
    }
}
