//! Relay's `Node`: any object refetched by its id.

use async_graphql::{Context, ID, Interface, Object};

use super::{
    access::{self, INTEGRATION},
    customers::Customer,
    resets::CustomerPasswordReset,
};
use crate::domain::{CUSTOMER_ID_PREFIX, RESET_ID_PREFIX};

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

/// `node(id:)`.
#[derive(Default)]
pub struct NodeQuery;

/// `node(id:)`.
#[Object]
impl NodeQuery {
    /// Refetches any object by its id; null for an id that does not exist,
    /// is malformed, or belongs to the other mode. Integration keys only.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The object's id.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        access::require(ctx, INTEGRATION)?;
        if id.starts_with(&format!("{RESET_ID_PREFIX}_")) {
            return Ok(CustomerPasswordReset::by_id(ctx, &id)
                .await?
                .map(Node::CustomerPasswordReset));
        }
        if id.starts_with(&format!("{CUSTOMER_ID_PREFIX}_")) {
            return Ok(Customer::by_id(ctx, &id).await?.map(Node::Customer));
        }
        Ok(None)
    }
}
