//! Webhooks: subscriptions (integration keys manage them), the transactional
//! outbox that records each event in the same transaction as the change it
//! reports, and the dispatcher that delivers them, signed, at least once.

mod dispatch;
mod payload;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
    sea_query::{Expr, ExprTrait},
};

pub use dispatch::{
    Dispatcher, MAX_ATTEMPTS, backoff, commerce_layer_signature, standard_signature,
};
pub use payload::{customer_resource, reset_resource};

use super::{
    Error, ErrorCode, Result, UserError,
    error::Errors,
    pagination::{self, Direction, Keyed, Page, PageArgs, SortKey},
};
use crate::{
    domain::{
        CallbackUrl, DELIVERY_ID_PREFIX, EVENT_ID_PREFIX, Mode, PublicId, Topic, WEBHOOK_ID_PREFIX,
        is_public_ip, webhook_secret,
    },
    entity::{webhook, webhook_attempt, webhook_delivery as delivery, webhook_event as event},
};

/// Consecutive failed attempts that open a webhook's circuit.
pub const CIRCUIT_THRESHOLD: i32 = 30;

/// How webhooks behave on this server.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    /// Whether callback URLs may point at private, loopback or link-local
    /// addresses (local development and tests only).
    pub allow_private_targets: bool,
    /// How often the dispatcher looks for due deliveries; `None` runs no dispatcher.
    pub poll_interval: Option<std::time::Duration>,
}

/// Refuses a target whose host is, or resolves to, a non-public address.
/// A host that cannot be resolved now is accepted: every call checks again.
async fn check_target(url: &CallbackUrl, settings: &WebhookSettings) -> Result<(), UserError> {
    if settings.allow_private_targets {
        return Ok(());
    }
    let refused = || {
        UserError::new(
            &["input", "callbackUrl"],
            ErrorCode::CallbackUrlNotAllowed,
            "points at a private, loopback or link-local address",
        )
    };
    let url = url.url();
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
        return if is_public_ip(ip) {
            Ok(())
        } else {
            Err(refused())
        };
    }
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return Err(refused());
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            if addrs.iter().any(|a| !is_public_ip(a.ip())) {
                Err(refused())
            } else {
                Ok(())
            }
        }
        Err(_) => Ok(()),
    }
}

/// A new webhook, as a client sent it.
#[derive(Debug, Default)]
pub struct NewWebhook {
    /// A Commerce Layer topic name.
    pub topic: String,
    /// Where to POST events.
    pub callback_url: String,
    /// Whether payloads include the customer; `false` when absent.
    pub include_customer: Option<bool>,
}

/// Creates a webhook in `mode` with a fresh shared secret.
///
/// # Errors
/// [`Error::User`] with `INVALID_TOPIC`, `INVALID_CALLBACK_URL` or
/// `CALLBACK_URL_NOT_ALLOWED`; [`Error::Database`] otherwise.
pub async fn create(
    db: &DatabaseConnection,
    settings: &WebhookSettings,
    mode: Mode,
    input: NewWebhook,
    now: DateTime<Utc>,
) -> Result<webhook::Model> {
    let mut errors = Errors::default();
    let topic = errors.check(&["input", "topic"], input.topic.parse::<Topic>());
    let url = errors.check(
        &["input", "callbackUrl"],
        CallbackUrl::parse(&input.callback_url),
    );
    if let Some(url) = &url
        && let Err(e) = check_target(url, settings).await
    {
        errors.push(e);
    }
    errors.finish()?;
    let (Some(topic), Some(url)) = (topic, url) else {
        return Err(Error::Internal(
            "parsed input missing after validation".into(),
        ));
    };
    Ok(webhook::ActiveModel {
        public_id: Set(PublicId::generate(WEBHOOK_ID_PREFIX).into_string()),
        mode: Set(mode.as_str().to_owned()),
        topic: Set(topic.as_str().to_owned()),
        callback_url: Set(url.as_str().to_owned()),
        include_customer: Set(input.include_customer.unwrap_or(false)),
        shared_secret: Set(webhook_secret()),
        consecutive_failures: Set(0),
        circuit_opened_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Changes to a webhook; `None` keeps a field.
#[derive(Debug, Default)]
pub struct WebhookChanges {
    /// A new topic.
    pub topic: Option<String>,
    /// A new callback URL.
    pub callback_url: Option<String>,
    /// Whether payloads include the customer.
    pub include_customer: Option<bool>,
}

fn not_found() -> Error {
    UserError::new(
        &["input", "id"],
        ErrorCode::NotFound,
        "no webhook has this id",
    )
    .into()
}

/// The webhook of `mode` with public id `id`, if any.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn get(db: &DatabaseConnection, mode: Mode, id: &str) -> Result<Option<webhook::Model>> {
    if PublicId::parse(WEBHOOK_ID_PREFIX, id).is_none() {
        return Ok(None);
    }
    Ok(webhook::Entity::find()
        .filter(webhook::Column::Mode.eq(mode.as_str()))
        .filter(webhook::Column::PublicId.eq(id))
        .one(db)
        .await?)
}

/// Changes a webhook.
///
/// # Errors
/// [`Error::User`] with `NOT_FOUND`, `INVALID_TOPIC`, `INVALID_CALLBACK_URL` or
/// `CALLBACK_URL_NOT_ALLOWED`; [`Error::Database`] otherwise.
pub async fn update(
    db: &DatabaseConnection,
    settings: &WebhookSettings,
    mode: Mode,
    id: &str,
    changes: WebhookChanges,
    now: DateTime<Utc>,
) -> Result<webhook::Model> {
    let mut errors = Errors::default();
    let topic = changes
        .topic
        .and_then(|t| errors.check(&["input", "topic"], t.parse::<Topic>()));
    let url = changes
        .callback_url
        .and_then(|u| errors.check(&["input", "callbackUrl"], CallbackUrl::parse(&u)));
    if let Some(url) = &url
        && let Err(e) = check_target(url, settings).await
    {
        errors.push(e);
    }
    errors.finish()?;
    let model = get(db, mode, id).await?.ok_or_else(not_found)?;
    let mut active: webhook::ActiveModel = model.into();
    if let Some(topic) = topic {
        active.topic = Set(topic.as_str().to_owned());
    }
    if let Some(url) = url {
        active.callback_url = Set(url.as_str().to_owned());
    }
    if let Some(include) = changes.include_customer {
        active.include_customer = Set(include);
    }
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// Deletes a webhook and its pending deliveries.
///
/// # Errors
/// [`Error::User`] with `NOT_FOUND`; [`Error::Database`] otherwise.
pub async fn delete(db: &DatabaseConnection, mode: Mode, id: &str) -> Result<String> {
    let model = get(db, mode, id).await?.ok_or_else(not_found)?;
    webhook::Entity::delete_by_id(model.id).exec(db).await?;
    Ok(model.public_id)
}

/// Closes a webhook's circuit: deliveries resume at once.
///
/// # Errors
/// [`Error::User`] with `NOT_FOUND`; [`Error::Database`] otherwise.
pub async fn reset_circuit(
    db: &DatabaseConnection,
    mode: Mode,
    id: &str,
    now: DateTime<Utc>,
) -> Result<webhook::Model> {
    let model = get(db, mode, id).await?.ok_or_else(not_found)?;
    let mut active: webhook::ActiveModel = model.into();
    active.consecutive_failures = Set(0);
    active.circuit_opened_at = Set(None);
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

impl Keyed for webhook::Entity {
    fn public_id_column() -> Self::Column {
        webhook::Column::PublicId
    }
    fn public_id(model: &Self::Model) -> &str {
        &model.public_id
    }
}

impl Keyed for delivery::Entity {
    fn public_id_column() -> Self::Column {
        delivery::Column::PublicId
    }
    fn public_id(model: &Self::Model) -> &str {
        &model.public_id
    }
}

/// A page of the webhooks of `mode`, newest first.
///
/// # Errors
/// [`Error::BadRequest`] for bad paging arguments; [`Error::Database`] otherwise.
pub async fn list(
    db: &DatabaseConnection,
    mode: Mode,
    page: PageArgs,
) -> Result<Page<webhook::Entity>> {
    let select = webhook::Entity::find().filter(webhook::Column::Mode.eq(mode.as_str()));
    let key = SortKey::<webhook::Entity> {
        name: "created_at",
        column: webhook::Column::CreatedAt,
        nullable: false,
        value: |m| Some(m.created_at).into(),
    };
    pagination::fetch_page(db, select, &key, Direction::Desc, page).await
}

/// A page of a webhook's deliveries (by internal key), newest first.
///
/// # Errors
/// [`Error::BadRequest`] for bad paging arguments; [`Error::Database`] otherwise.
pub async fn deliveries(
    db: &DatabaseConnection,
    webhook_key: i64,
    page: PageArgs,
) -> Result<Page<delivery::Entity>> {
    let select = delivery::Entity::find().filter(delivery::Column::WebhookId.eq(webhook_key));
    let key = SortKey::<delivery::Entity> {
        name: "created_at",
        column: delivery::Column::CreatedAt,
        nullable: false,
        value: |m| Some(m.created_at).into(),
    };
    pagination::fetch_page(db, select, &key, Direction::Desc, page).await
}

/// The attempts of several deliveries (by internal key), oldest first: one query.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn attempts(
    db: &DatabaseConnection,
    delivery_keys: &[i64],
) -> Result<Vec<webhook_attempt::Model>> {
    Ok(webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(delivery_keys.iter().copied()))
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?)
}

/// The events behind several deliveries (by internal key): one query.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn events(db: &DatabaseConnection, event_keys: &[i64]) -> Result<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::Id.is_in(event_keys.iter().copied()))
        .all(db)
        .await?)
}

/// The reset token a `customer_password_resets.create` event carries, and when it expires.
#[derive(Debug)]
pub struct EventToken<'a> {
    /// The token.
    pub token: &'a crate::domain::ResetToken,
    /// When it stops working; the delivery gives up then and forgets it.
    pub expires_at: DateTime<Utc>,
}

/// The webhooks of `mode` subscribed to `topic`, read on `txn` (the
/// transaction of the change the event reports).
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn subscribers<C: ConnectionTrait>(
    txn: &C,
    mode: Mode,
    topic: Topic,
) -> Result<Vec<webhook::Model>> {
    subscribers_of(txn, mode, &[topic]).await
}

/// The webhooks of `mode` subscribed to any of `topics`, in one query.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn subscribers_of<C: ConnectionTrait>(
    txn: &C,
    mode: Mode,
    topics: &[Topic],
) -> Result<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::Mode.eq(mode.as_str()))
        .filter(webhook::Column::Topic.is_in(topics.iter().map(|t| t.as_str())))
        .all(txn)
        .await?)
}

/// Records an event in the outbox with one delivery per webhook in `hooks`
/// (from [`subscribers`]), on `txn`: inside the transaction of the change it
/// reports, so the two commit or roll back together. Writes nothing when
/// `hooks` is empty. The token, if any, is kept on the deliveries (never in the
/// event) until delivered or expired.
///
/// # Errors
/// [`Error::Database`] if a write fails (the caller's transaction then rolls back).
pub async fn record_event<C: ConnectionTrait>(
    txn: &C,
    hooks: &[webhook::Model],
    topic: Topic,
    payload: serde_json::Value,
    token: Option<EventToken<'_>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(first) = hooks.first() else {
        return Ok(());
    };
    let event = event::ActiveModel {
        public_id: Set(PublicId::generate(EVENT_ID_PREFIX).into_string()),
        mode: Set(first.mode.clone()),
        topic: Set(topic.as_str().to_owned()),
        payload: Set(payload),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let rows = hooks.iter().map(|hook| delivery::ActiveModel {
        public_id: Set(PublicId::generate(DELIVERY_ID_PREFIX).into_string()),
        event_id: Set(event.id),
        webhook_id: Set(hook.id),
        status: Set(dispatch::PENDING.to_owned()),
        attempt_count: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        locked_by: Set(None),
        token: Set(token.as_ref().map(|t| t.token.expose().to_owned())),
        token_expires_at: Set(token.as_ref().map(|t| t.expires_at)),
        delivered_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    delivery::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

/// Marks `webhook_id`'s failure streak: one more failure, opening the circuit at
/// [`CIRCUIT_THRESHOLD`].
async fn record_failure(
    db: &DatabaseConnection,
    webhook_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    webhook::Entity::update_many()
        .col_expr(
            webhook::Column::ConsecutiveFailures,
            Expr::col(webhook::Column::ConsecutiveFailures).add(1),
        )
        .filter(webhook::Column::Id.eq(webhook_id))
        .exec(db)
        .await?;
    webhook::Entity::update_many()
        .col_expr(webhook::Column::CircuitOpenedAt, Expr::value(now))
        .filter(webhook::Column::Id.eq(webhook_id))
        .filter(webhook::Column::CircuitOpenedAt.is_null())
        .filter(webhook::Column::ConsecutiveFailures.gte(CIRCUIT_THRESHOLD))
        .exec(db)
        .await?;
    Ok(())
}

async fn record_success(db: &DatabaseConnection, webhook_id: i64) -> Result<()> {
    webhook::Entity::update_many()
        .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(0))
        .filter(webhook::Column::Id.eq(webhook_id))
        .filter(webhook::Column::ConsecutiveFailures.ne(0))
        .exec(db)
        .await?;
    Ok(())
}
