//! The webhook queries and mutations (integration keys only).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::{Webhook, WebhookConnection};
use crate::domain::Topic;
use crate::{
    graphql::{
        access::{self, INTEGRATION},
        connection::page_complexity,
        error::{UserError, payload, to_graphql},
    },
    service::{
        pagination::PageArgs,
        webhooks::{self, NewWebhook, WebhookChanges},
    },
};

/// A new webhook.
#[derive(Debug, InputObject)]
pub struct CreateWebhookInput {
    /// What it subscribes to.
    pub topic: Topic,
    /// The http(s) URL to POST events to. Private, loopback and link-local
    /// addresses are refused unless the server allows them.
    pub callback_url: String,
    /// Whether payloads include the customer; false by default.
    pub include_customer: Option<bool>,
}

/// Changes to a webhook; a field omitted or null is kept (none can be cleared).
#[derive(Debug, InputObject)]
pub struct UpdateWebhookInput {
    /// The webhook's id.
    pub id: ID,
    /// A new topic.
    pub topic: Option<Topic>,
    /// A new callback URL.
    pub callback_url: Option<String>,
    /// Whether payloads include the customer.
    pub include_customer: Option<bool>,
}

/// The result of `createWebhook`.
#[derive(SimpleObject)]
pub struct CreateWebhookPayload {
    /// The new webhook, with its `sharedSecret` (shown only here).
    pub webhook: Option<Webhook>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `updateWebhook`.
#[derive(SimpleObject)]
pub struct UpdateWebhookPayload {
    /// The updated webhook; null when the input was refused.
    pub webhook: Option<Webhook>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The webhook to delete.
#[derive(Debug, InputObject)]
pub struct DeleteWebhookInput {
    /// The webhook's id.
    pub id: ID,
}

/// The webhook whose circuit to close.
#[derive(Debug, InputObject)]
pub struct ResetWebhookCircuitInput {
    /// The webhook's id.
    pub id: ID,
}

/// The result of `resetWebhookCircuit`.
#[derive(SimpleObject)]
pub struct ResetWebhookCircuitPayload {
    /// The webhook, its circuit closed; null when the input was refused.
    pub webhook: Option<Webhook>,
    /// Why the input was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// The result of `deleteWebhook`.
#[derive(SimpleObject)]
pub struct DeleteWebhookPayload {
    /// The id of the deleted webhook; null when nothing was deleted.
    pub deleted_webhook_id: Option<ID>,
    /// Why nothing was deleted; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Webhook queries (integration keys only).
#[derive(Default)]
pub struct WebhookQuery;

/// Webhook queries (integration keys only).
#[Object]
impl WebhookQuery {
    /// The webhooks of the key's mode, newest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Rows before this cursor.")] before: Option<String>,
        #[graphql(desc = "The first this many rows (0 to 100; default 25).")] first: Option<i32>,
        #[graphql(desc = "The last this many rows (0 to 100).")] last: Option<i32>,
    ) -> async_graphql::Result<WebhookConnection> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let page = webhooks::list(
            &state.reader,
            principal.mode,
            PageArgs::new(first, after, last, before),
        )
        .await
        .map_err(to_graphql)?;
        Ok(WebhookConnection::new(page, Webhook::from))
    }

    /// One webhook by id; null for an unknown id or one of the other mode.
    async fn webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook's id (`wh_…`).")] id: ID,
    ) -> async_graphql::Result<Option<Webhook>> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        Ok(webhooks::get(&state.reader, principal.mode, &id)
            .await
            .map_err(to_graphql)?
            .map(Webhook::from))
    }
}

/// Webhook mutations (integration keys only).
#[derive(Default)]
pub struct WebhookMutation;

/// Webhook mutations (integration keys only).
#[Object]
impl WebhookMutation {
    /// Subscribes `callbackUrl` to `topic` in the key's mode. The payload is
    /// the only place the shared secret is ever shown.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subscription.")] input: CreateWebhookInput,
    ) -> async_graphql::Result<CreateWebhookPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let new = NewWebhook {
            topic: input.topic,
            callback_url: input.callback_url,
            include_customer: input.include_customer,
        };
        let result = webhooks::create(
            &state.db,
            &state.webhooks,
            principal.mode,
            new,
            state.clock.now(),
        )
        .await;
        let (model, user_errors) = payload(result)?;
        let webhook = model.map(|m| {
            let secret = m.shared_secret.clone();
            Webhook {
                shared_secret: Some(secret),
                ..Webhook::from(m)
            }
        });
        Ok(CreateWebhookPayload {
            webhook,
            user_errors,
        })
    }

    /// Changes a webhook's topic, callback URL or `includeCustomer`.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook and its changes.")] input: UpdateWebhookInput,
    ) -> async_graphql::Result<UpdateWebhookPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let changes = WebhookChanges {
            topic: input.topic,
            callback_url: input.callback_url,
            include_customer: input.include_customer,
        };
        let result = webhooks::update(
            &state.db,
            &state.webhooks,
            principal.mode,
            &input.id,
            changes,
            state.clock.now(),
        )
        .await;
        let (model, user_errors) = payload(result)?;
        Ok(UpdateWebhookPayload {
            webhook: model.map(Webhook::from),
            user_errors,
        })
    }

    /// Deletes a webhook; its pending deliveries are dropped.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook.")] input: DeleteWebhookInput,
    ) -> async_graphql::Result<DeleteWebhookPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let (deleted, user_errors) =
            payload(webhooks::delete(&state.db, principal.mode, &input.id).await)?;
        Ok(DeleteWebhookPayload {
            deleted_webhook_id: deleted.map(ID),
            user_errors,
        })
    }

    /// Closes an open circuit: deliveries resume at the next dispatch.
    async fn reset_webhook_circuit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The webhook.")] input: ResetWebhookCircuitInput,
    ) -> async_graphql::Result<ResetWebhookCircuitPayload> {
        let principal = access::require(ctx, INTEGRATION)?;
        let state = access::state(ctx);
        let result =
            webhooks::reset_circuit(&state.db, principal.mode, &input.id, state.clock.now()).await;
        let (model, user_errors) = payload(result)?;
        Ok(ResetWebhookCircuitPayload {
            webhook: model.map(Webhook::from),
            user_errors,
        })
    }
}
