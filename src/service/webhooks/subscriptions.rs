//! Subscriptions: integration keys subscribe a callback URL to a topic, and
//! read back every delivery and attempt.

use crate::database::Reader;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use super::{WebhookSettings, target};
use crate::service::statement;
use crate::{
    domain::{CallbackUrl, ErrorCode, Mode, PublicId, Topic, WEBHOOK_ID_PREFIX, webhook_secret},
    entity::{webhook, webhook_attempt, webhook_delivery as delivery, webhook_event as event},
    service::{
        Error, Result, UserError,
        error::Errors,
        pagination::{self, Direction, Keyed, Page, PageArgs, SortKey},
    },
};

/// Why `url` may not be a callback of `mode` on this server, if it may not:
/// live-mode callbacks must be `https` (unless private targets are allowed,
/// for local development), and no callback may reach a non-public address.
async fn refusal(url: &CallbackUrl, mode: Mode, settings: &WebhookSettings) -> Option<UserError> {
    let refused = |message: &str| {
        UserError::new(
            &["input", "callbackUrl"],
            ErrorCode::CallbackUrlNotAllowed,
            message,
        )
    };
    if mode == Mode::Live && url.url().scheme() != "https" && !settings.allow_private_targets {
        return Some(refused("must be an https URL in live mode"));
    }
    if !target::may_save(url.url(), settings.allow_private_targets).await {
        return Some(refused(
            "points at an address that is not public (private, loopback, link-local, reserved…)",
        ));
    }
    None
}

/// A new webhook, as a client sent it.
#[derive(Debug)]
pub struct NewWebhook {
    /// What it subscribes to.
    pub topic: Topic,
    /// Where to POST events.
    pub callback_url: String,
    /// Whether payloads include the customer; `false` when absent.
    pub include_customer: Option<bool>,
}

/// Creates a webhook in `mode` with a fresh shared secret.
///
/// # Errors
/// [`Error::User`] with `INVALID_CALLBACK_URL` or `CALLBACK_URL_NOT_ALLOWED`;
/// [`Error::Database`] otherwise.
pub async fn create(
    db: &DatabaseConnection,
    settings: &WebhookSettings,
    mode: Mode,
    input: NewWebhook,
    now: DateTime<Utc>,
) -> Result<webhook::Model> {
    let mut errors = Errors::default();
    let url = errors.check(
        &["input", "callbackUrl"],
        CallbackUrl::parse(&input.callback_url),
    );
    if let Some(url) = &url
        && let Some(refused) = refusal(url, mode, settings).await
    {
        errors.push(refused);
    }
    errors.finish()?;
    let Some(url) = url else {
        return Err(Error::Internal(
            "parsed input missing after validation".into(),
        ));
    };
    Ok(webhook::ActiveModel {
        public_id: Set(PublicId::generate(WEBHOOK_ID_PREFIX).into_string()),
        mode: Set(mode),
        topic: Set(input.topic),
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
    pub topic: Option<Topic>,
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
pub async fn get(
    db: &impl ConnectionTrait,
    mode: Mode,
    id: &str,
) -> Result<Option<webhook::Model>> {
    if PublicId::parse(WEBHOOK_ID_PREFIX, id).is_none() {
        return Ok(None);
    }
    Ok(statement::first(
        db,
        webhook::Entity::find()
            .filter(webhook::Column::Mode.eq(mode))
            .filter(webhook::Column::PublicId.eq(id)),
    )
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
    let url = changes
        .callback_url
        .and_then(|u| errors.check(&["input", "callbackUrl"], CallbackUrl::parse(&u)));
    if let Some(url) = &url
        && let Some(refused) = refusal(url, mode, settings).await
    {
        errors.push(refused);
    }
    errors.finish()?;
    let model = get(db, mode, id).await?.ok_or_else(not_found)?;
    let mut active: webhook::ActiveModel = model.into();
    if let Some(topic) = changes.topic {
        active.topic = Set(topic);
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
pub async fn list(db: &Reader, mode: Mode, page: PageArgs) -> Result<Page<webhook::Entity>> {
    let select = webhook::Entity::find().filter(webhook::Column::Mode.eq(mode));
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
    db: &Reader,
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
    db: &impl ConnectionTrait,
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
pub async fn events(db: &impl ConnectionTrait, event_keys: &[i64]) -> Result<Vec<event::Model>> {
    Ok(event::Entity::find()
        .filter(event::Column::Id.is_in(event_keys.iter().copied()))
        .all(db)
        .await?)
}
