//! API keys: created and revoked from the command line, looked up by digest on
//! every request.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{Error, Result};
use crate::service::statement;
use crate::{
    domain::{API_KEY_ID_PREFIX, ApiKeySecret, Mode, Principal, PublicId, Role},
    entity::api_key,
};

/// How stale `last_used_at` may get before a request refreshes it: one write a
/// minute per key instead of one per request.
const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

/// A key as listed: everything but the key itself, which exists only at creation.
#[derive(Debug, Clone)]
pub struct ApiKeyInfo {
    /// Public id (`key_…`).
    pub id: String,
    /// Human label.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Which records it sees.
    pub mode: Mode,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

fn info(model: api_key::Model) -> Result<ApiKeyInfo> {
    Ok(ApiKeyInfo {
        role: model.role,
        mode: model.mode,
        id: model.public_id,
        name: model.name,
        created_at: model.created_at,
        last_used_at: model.last_used_at,
        revoked_at: model.revoked_at,
    })
}

/// Creates a key and returns it with the secret, which is not stored and
/// cannot be shown again.
///
/// # Errors
/// [`Error::Database`] if the insert fails.
pub async fn create(
    db: &DatabaseConnection,
    role: Role,
    mode: Mode,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(ApiKeyInfo, ApiKeySecret)> {
    let secret = ApiKeySecret::generate(role, mode);
    let model = api_key::ActiveModel {
        public_id: Set(PublicId::generate(API_KEY_ID_PREFIX).into_string()),
        name: Set(name.to_owned()),
        role: Set(role),
        mode: Set(mode),
        key_digest: Set(secret.digest()),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((info(model)?, secret))
}

/// Every key, oldest first.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<ApiKeyInfo>> {
    api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(info)
        .collect()
}

/// Revokes the key with public id `id`. Revoking twice keeps the first time.
///
/// Returns `None` when no key has this id.
///
/// # Errors
/// [`Error::Database`] if the update fails.
pub async fn revoke(
    db: &DatabaseConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<ApiKeyInfo>> {
    let Some(model) = statement::first(
        db,
        api_key::Entity::find().filter(api_key::Column::PublicId.eq(id)),
    )
    .await?
    else {
        return Ok(None);
    };
    if model.revoked_at.is_some() {
        return info(model).map(Some);
    }
    let mut active: api_key::ActiveModel = model.into();
    active.revoked_at = Set(Some(now));
    info(active.update(db).await?).map(Some)
}

/// The principal a key stands for, or `None` for an unknown or revoked key:
/// looked up on `reader`; its last use, at most once a minute, written on `db`.
///
/// # Errors
/// [`Error::Database`] if the look-up fails.
pub async fn authenticate(
    reader: &impl ConnectionTrait,
    db: &DatabaseConnection,
    secret: &ApiKeySecret,
    now: DateTime<Utc>,
) -> Result<Option<Principal>> {
    let Some(model) = statement::first(
        reader,
        api_key::Entity::find().filter(api_key::Column::KeyDigest.eq(secret.digest())),
    )
    .await?
    else {
        return Ok(None);
    };
    if model.revoked_at.is_some() {
        return Ok(None);
    }
    if model
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_GRANULARITY)
    {
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_key::Column::Id.eq(model.id))
            .exec(db)
            .await?;
    }
    Ok(Some(Principal {
        key_id: PublicId::parse(API_KEY_ID_PREFIX, &model.public_id)
            .ok_or_else(|| Error::Internal("malformed api key id".into()))?,
        role: model.role,
        mode: model.mode,
    }))
}

/// The most keys a [`KeyCache`] holds; past it, it starts over.
const CACHE_MAX: usize = 10_000;

/// Keys verified recently, so a request does not look its key up again:
/// for `ttl` after a key was verified, its principal comes from memory. A
/// revoked key therefore works at most `ttl` longer in a process that
/// verified it just before (the revocation is visible at once to every
/// process that had not). Unknown and revoked keys are never kept: every
/// request with one is looked up. Shared by every request of the process.
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    entries: std::sync::RwLock<std::collections::HashMap<String, (Principal, DateTime<Utc>)>>,
}

impl KeyCache {
    /// A cache keeping verified keys for `ttl`; zero keeps none.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Default::default(),
        }
    }

    /// The principal `secret` stands for, from memory when it was verified
    /// less than the TTL ago, else as [`authenticate`] finds it.
    ///
    /// # Errors
    /// [`Error::Database`] if the look-up fails.
    pub async fn authenticate(
        &self,
        reader: &impl ConnectionTrait,
        db: &DatabaseConnection,
        secret: &ApiKeySecret,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>> {
        if self.ttl <= Duration::zero() {
            return authenticate(reader, db, secret, now).await;
        }
        let digest = secret.digest();
        {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some((principal, verified)) = entries.get(&digest)
                && now - *verified < self.ttl
                && now >= *verified
            {
                return Ok(Some(principal.clone()));
            }
        }
        let found = authenticate(reader, db, secret, now).await?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        match &found {
            Some(principal) => {
                if entries.len() >= CACHE_MAX {
                    entries.clear();
                }
                entries.insert(digest, (principal.clone(), now));
            }
            None => {
                entries.remove(&digest);
            }
        }
        Ok(found)
    }
}

/// On a database with no keys at all, creates a test-mode integration key and
/// a test-mode sales-channel key so a newcomer can start at once.
///
/// Returns the two new keys, or an empty list when keys already existed.
///
/// # Errors
/// [`Error::Database`] if a query fails.
pub async fn seed_if_empty(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<Vec<(ApiKeyInfo, ApiKeySecret)>> {
    if api_key::Entity::find().count(db).await? > 0 {
        return Ok(Vec::new());
    }
    Ok(vec![
        create(
            db,
            Role::Integration,
            Mode::Test,
            "Default test integration key",
            now,
        )
        .await?,
        create(
            db,
            Role::SalesChannel,
            Mode::Test,
            "Default test sales channel key",
            now,
        )
        .await?,
    ])
}
