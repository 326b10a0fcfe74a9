//! Relay's `Node`: any object refetched by its id.

use async_graphql::{Context, ID, Interface, Object};

use super::{
    access::{self, INTEGRATION},
    audit::PasswordResetAuditEvent,
    customers::Customer,
    error::to_graphql,
    resets::CustomerPasswordReset,
    webhooks::Webhook,
};
use crate::{
    domain::{AUDIT_EVENT_ID_PREFIX, CUSTOMER_ID_PREFIX, RESET_ID_PREFIX, WEBHOOK_ID_PREFIX},
    service::{audit, webhooks},
};

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
    /// A webhook.
    Webhook(Webhook),
    /// An entry of the password reset audit log.
    PasswordResetAuditEvent(PasswordResetAuditEvent),
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
        let principal = access::require(ctx, INTEGRATION)?;
        let reader = &access::state(ctx).reader;
        let of = |prefix: &str| id.starts_with(&format!("{prefix}_"));
        if of(WEBHOOK_ID_PREFIX) {
            let found = webhooks::get(reader, principal.mode, &id).await;
            return Ok(found.map_err(to_graphql)?.map(|m| Node::Webhook(m.into())));
        }
        if of(AUDIT_EVENT_ID_PREFIX) {
            let found = audit::get(reader, principal.mode, &id).await;
            return Ok(found
                .map_err(to_graphql)?
                .map(|m| Node::PasswordResetAuditEvent(m.into())));
        }
        if of(RESET_ID_PREFIX) {
            return Ok(CustomerPasswordReset::by_id(ctx, &id)
                .await?
                .map(Node::CustomerPasswordReset));
        }
        if of(CUSTOMER_ID_PREFIX) {
            return Ok(Customer::by_id(ctx, &id).await?.map(Node::Customer));
        }
        Ok(None)
    }
}
