//! The transactional outbox: an event is recorded on the transaction of the
//! change it reports, with one delivery per subscribed webhook, so the two
//! commit or roll back together. A topic's secret (see
//! [`Topic::sealed_attribute`]) is kept on the deliveries, never in the
//! event, sealed (see [`crate::service::sealing`]) with the delivery's id as
//! associated data, until delivered or expired; it is never written in clear.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, sea_query::Expr,
};

use crate::{
    domain::{DELIVERY_ID_PREFIX, DeliveryStatus, EVENT_ID_PREFIX, Mode, PublicId, Topic},
    entity::{webhook, webhook_delivery as delivery, webhook_event as event},
    service::{Result, sealing::TokenSealer},
};

/// The secret an event's deliveries carry in the topic's sealed attribute,
/// when it stops being worth delivering, and what seals it at rest.
#[derive(Debug)]
pub struct SealedAttribute<'a> {
    /// The secret.
    pub value: &'a str,
    /// When it expires: the delivery gives up then and forgets it.
    pub expires_at: DateTime<Utc>,
    /// Seals it on each delivery row.
    pub sealer: &'a TokenSealer,
}

/// The webhooks of `mode` subscribed to any of `topics`, in one query, read
/// on `txn` (the transaction of the change the event reports).
///
/// # Errors
/// [`crate::service::Error::Database`] if the query fails.
pub async fn subscribers<C: ConnectionTrait>(
    txn: &C,
    mode: Mode,
    topics: &[Topic],
) -> Result<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::Mode.eq(mode))
        .filter(webhook::Column::Topic.is_in(topics.iter().copied()))
        .all(txn)
        .await?)
}

/// Records an event in the outbox with one delivery per webhook in `hooks`
/// (from [`subscribers`]), on `txn`. Writes nothing when `hooks` is empty.
///
/// # Errors
/// [`crate::service::Error::Database`] if a write fails (the caller's
/// transaction then rolls back).
pub async fn record_event<C: ConnectionTrait>(
    txn: &C,
    hooks: &[webhook::Model],
    topic: Topic,
    payload: serde_json::Value,
    sealed: Option<SealedAttribute<'_>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(first) = hooks.first() else {
        return Ok(());
    };
    let event = event::ActiveModel {
        public_id: Set(PublicId::generate(EVENT_ID_PREFIX).into_string()),
        mode: Set(first.mode),
        topic: Set(topic),
        payload: Set(payload),
        created_at: Set(now),
        traceparent: Set(crate::telemetry::current_traceparent()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let mut rows = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let public_id = PublicId::generate(DELIVERY_ID_PREFIX).into_string();
        let token = match &sealed {
            Some(s) => Some(s.sealer.seal(s.value, &public_id)?),
            None => None,
        };
        rows.push(delivery::ActiveModel {
            public_id: Set(public_id),
            event_id: Set(event.id),
            webhook_id: Set(hook.id),
            status: Set(DeliveryStatus::Pending),
            attempt_count: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            locked_by: Set(None),
            token: Set(token),
            token_expires_at: Set(sealed.as_ref().map(|s| s.expires_at)),
            delivered_at: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    delivery::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

/// Gives up the pending deliveries whose secret expired before `now`, and
/// forgets the secret. Returns how many.
///
/// # Errors
/// [`crate::service::Error::Database`] if the update fails.
pub async fn expire_secrets(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64> {
    Ok(delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(DeliveryStatus::Expired),
        )
        .col_expr(delivery::Column::Token, Expr::value(Option::<String>::None))
        .col_expr(delivery::Column::UpdatedAt, Expr::value(now))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::TokenExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
