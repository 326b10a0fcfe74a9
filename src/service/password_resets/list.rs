//! Lists of resets: filters, sorts and keyset pages.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryResult, QuerySelect,
    QueryTrait,
};

use super::{ResetStatus, status_condition};
use crate::{
    domain::Mode,
    entity::{customer, customer_password_reset as reset},
    service::{
        Result,
        pagination::{self, Direction, Keyed, Page, PageArgs, SortKey, TimeRange},
    },
};

/// Which resets a list shows. All given criteria must hold.
#[derive(Debug, Default, Clone)]
pub struct ResetFilter {
    /// Only these public ids.
    pub ids: Option<Vec<String>>,
    /// Only this customer's (public id).
    pub customer_id: Option<String>,
    /// Only this customer's (internal key, for `Customer.passwordResets`).
    pub customer_key: Option<i64>,
    /// Only those requested for this email (any letter case).
    pub customer_email: Option<String>,
    /// Only those in one of these statuses.
    pub status: Option<Vec<ResetStatus>>,
    /// Only this reference.
    pub reference: Option<String>,
    /// Created within.
    pub created_at: Option<TimeRange>,
    /// Last changed within.
    pub updated_at: Option<TimeRange>,
    /// Completed within.
    pub reset_password_at: Option<TimeRange>,
}

/// What a reset list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetSort {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Completion time; pending resets have none.
    ResetPasswordAt,
    /// The merchant's reference; resets without one have none.
    Reference,
}

impl Keyed for reset::Entity {
    fn public_id_column() -> Self::Column {
        reset::Column::PublicId
    }
    fn public_id(model: &Self::Model) -> &str {
        &model.public_id
    }
}

fn sort_key(sort: ResetSort) -> SortKey<reset::Entity> {
    match sort {
        ResetSort::CreatedAt => SortKey {
            name: "created_at",
            column: reset::Column::CreatedAt,
            nullable: false,
            value: |m| Some(m.created_at).into(),
        },
        ResetSort::UpdatedAt => SortKey {
            name: "updated_at",
            column: reset::Column::UpdatedAt,
            nullable: false,
            value: |m| Some(m.updated_at).into(),
        },
        ResetSort::ResetPasswordAt => SortKey {
            name: "reset_password_at",
            column: reset::Column::ResetPasswordAt,
            nullable: true,
            value: |m| m.reset_password_at.into(),
        },
        ResetSort::Reference => SortKey {
            name: "reference",
            column: reset::Column::Reference,
            nullable: true,
            value: |m| m.reference.clone().into(),
        },
    }
}

/// The ids of the customers of `mode` matching `condition`, as a subquery.
fn customers_where(mode: Mode, condition: Condition) -> sea_orm::sea_query::SelectStatement {
    customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::Mode.eq(mode.as_str()))
        .filter(condition)
        .into_query()
}

/// A reset of a page, with its customer when the page was asked for them.
pub type ResetRow = (reset::Model, Option<customer::Model>);

/// A reset and its customer from a row of the two tables joined, read by
/// position: the reset's columns, then the customer's.
fn reset_row(row: &QueryResult) -> Result<ResetRow, sea_orm::DbErr> {
    use sea_orm::Iterable;
    let reset = reset::Model::at_position(row, 0)?;
    let customer = customer::Model::at_position(row, reset::Column::iter().count())?;
    Ok((reset, customer))
}

/// A page of the resets of `mode` matching `filter`, with statuses judged at
/// `now`; with `with_customers`, each row's customer is read in the same
/// statement.
///
/// # Errors
/// [`crate::service::Error::BadRequest`] for bad paging arguments;
/// [`crate::service::Error::Database`] otherwise.
#[allow(clippy::too_many_arguments)]
pub async fn list(
    db: &DatabaseConnection,
    mode: Mode,
    filter: ResetFilter,
    sort: ResetSort,
    direction: Direction,
    page: PageArgs,
    now: DateTime<Utc>,
    with_customers: bool,
) -> Result<Page<reset::Entity, ResetRow>> {
    use reset::Column as C;
    let mut cond = Condition::all().add(C::Mode.eq(mode.as_str()));
    if let Some(ids) = filter.ids {
        cond = cond.add(C::PublicId.is_in(ids));
    }
    if let Some(customer_id) = filter.customer_id {
        let by_id = Condition::all().add(customer::Column::PublicId.eq(customer_id));
        cond = cond.add(C::CustomerId.in_subquery(customers_where(mode, by_id)));
    }
    if let Some(key) = filter.customer_key {
        cond = cond.add(C::CustomerId.eq(key));
    }
    if let Some(email) = filter.customer_email {
        let key = email.trim().to_lowercase();
        let by_email = Condition::all().add(customer::Column::EmailKey.eq(key));
        cond = cond.add(C::CustomerId.in_subquery(customers_where(mode, by_email)));
    }
    // An empty status list is no criterion, like an absent one.
    if let Some(statuses) = filter.status.filter(|s| !s.is_empty()) {
        cond = cond.add(
            statuses
                .into_iter()
                .fold(Condition::any(), |any, s| any.add(status_condition(s, now))),
        );
    }
    if let Some(reference) = filter.reference {
        cond = cond.add(C::Reference.eq(reference));
    }
    for (column, range) in [
        (C::CreatedAt, filter.created_at),
        (C::UpdatedAt, filter.updated_at),
        (C::ResetPasswordAt, filter.reset_password_at),
    ] {
        if let Some(range) = range {
            cond = cond.add(range.condition(column));
        }
    }
    let select = reset::Entity::find().filter(cond);
    let key = sort_key(sort);
    if with_customers {
        pagination::fetch_page_with(db, select, &key, direction, page, reset_row).await
    } else {
        let page = pagination::fetch_page(db, select, &key, direction, page).await?;
        Ok(page.map(|row| (row, None)))
    }
}
