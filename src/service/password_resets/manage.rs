//! Reading one reset, changing its merchant fields, deleting it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryTrait, Select, Set, TransactionTrait,
};

use super::{ResetColumns, WithCustomers, document, list, merchant::MerchantInput};
use crate::service::statement;
use crate::{
    domain::{ErrorCode, Mode, PublicId, RESET_ID_PREFIX, Topic},
    entity::{customer, customer_password_reset as reset},
    service::{Error, Result, UserError, error::Errors, webhooks},
};

/// The reset of `mode` with public id `id`, as reads show it (without its
/// token digest), read with `columns` (a brief read's other columns hold
/// placeholders); `None` for an unknown or malformed id, or one of another
/// mode.
///
/// # Errors
/// [`Error::Database`] if the query fails.
pub async fn get(
    db: &impl ConnectionTrait,
    mode: Mode,
    id: &str,
    columns: ResetColumns,
) -> Result<Option<reset::Shown>> {
    let Some(select) = by_public_id(mode, id) else {
        return Ok(None);
    };
    // The public id is unique: no `LIMIT`, which SQLite would have to
    // prepare the statement again for each time.
    let statement =
        list::columns(select, columns, WithCustomers::No).build(db.get_database_backend());
    Ok(db
        .query_one_raw(statement)
        .await?
        .map(|row| list::decode(&row, columns, WithCustomers::No, mode))
        .transpose()?
        .map(|(reset, _)| reset))
}

/// The whole row of the reset of `mode` with public id `id`, for a change.
async fn find(db: &impl ConnectionTrait, mode: Mode, id: &str) -> Result<Option<reset::Model>> {
    let Some(select) = by_public_id(mode, id) else {
        return Ok(None);
    };
    Ok(statement::first(db, select).await?)
}

/// The query for the reset of `mode` with public id `id`; `None` for a
/// malformed id, which no reset has.
fn by_public_id(mode: Mode, id: &str) -> Option<Select<reset::Entity>> {
    PublicId::parse(RESET_ID_PREFIX, id)?;
    Some(
        reset::Entity::find()
            .filter(reset::Column::Mode.eq(mode))
            .filter(reset::Column::PublicId.eq(id)),
    )
}

fn not_found() -> Error {
    UserError::new(
        &["input", "id"],
        ErrorCode::NotFound,
        "no customer password reset has this id",
    )
    .into()
}

/// Changes the merchant's fields of the reset with public id `id`: a field
/// set is replaced, a field cleared emptied, a field not given kept.
///
/// # Errors
/// [`Error::User`] with `NOT_FOUND`, `REFERENCE_TOO_LONG`,
/// `METADATA_NOT_OBJECT` or `METADATA_TOO_LARGE` (nothing changes);
/// [`Error::Database`] otherwise.
pub async fn update(
    db: &DatabaseConnection,
    mode: Mode,
    id: &str,
    changes: MerchantInput,
    now: DateTime<Utc>,
) -> Result<reset::Model> {
    let mut errors = Errors::default();
    let changes = changes.check(&mut errors);
    errors.finish()?;
    let model = find(db, mode, id).await?.ok_or_else(not_found)?;
    let mut active: reset::ActiveModel = model.into();
    changes.write(&mut active, false);
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

/// Deletes the reset with public id `id`; its token stops working. Returns its id.
///
/// # Errors
/// [`Error::User`] with `NOT_FOUND`; [`Error::Database`] otherwise.
pub async fn delete(
    db: &DatabaseConnection,
    mode: Mode,
    id: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let txn = db.begin().await?;
    let model = find(&txn, mode, id).await?.ok_or_else(not_found)?;
    let deleted = reset::Entity::delete_by_id(model.id).exec(&txn).await?;
    if deleted.rows_affected == 0 {
        return Err(not_found());
    }
    let hooks = webhooks::subscribers(&txn, mode, &[Topic::ResetDestroyed]).await?;
    if !hooks.is_empty()
        && let Some(customer) =
            statement::first(&txn, customer::Entity::find_by_id(model.customer_id)).await?
    {
        let document = document::reset(&model, &customer, now);
        webhooks::record_event(&txn, &hooks, Topic::ResetDestroyed, document, None, now).await?;
    }
    txn.commit().await?;
    Ok(model.public_id)
}
