//! Lists of resets: filters, sorts and keyset pages.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryResult,
    QuerySelect, QueryTrait, RelationTrait, Select,
};

use super::{ResetStatus, status_condition};
use crate::{
    database::Reader,
    domain::Mode,
    entity::{Projection, customer, customer_password_reset as reset},
    service::{
        Result,
        pagination::{self, Direction, Keyed, Page, PageArgs, Row, SortKey, TimeRange},
        search,
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

impl ResetFilter {
    /// Whether it sets no criterion (an empty `status` list is one: it is
    /// counted as asked, never from the kept count).
    fn is_empty(&self) -> bool {
        let Self {
            ids,
            customer_id,
            customer_key,
            customer_email,
            status,
            reference,
            created_at,
            updated_at,
            reset_password_at,
        } = self;
        ids.is_none()
            && customer_id.is_none()
            && customer_key.is_none()
            && customer_email.is_none()
            && status.is_none()
            && reference.is_none()
            && created_at.is_none()
            && updated_at.is_none()
            && reset_password_at.is_none()
    }
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

fn sort_key(sort: ResetSort) -> SortKey<reset::Entity, ResetRow> {
    match sort {
        ResetSort::CreatedAt => SortKey {
            name: "created_at",
            column: reset::Column::CreatedAt,
            nullable: false,
            value: |(r, _)| Some(r.created_at).into(),
        },
        ResetSort::UpdatedAt => SortKey {
            name: "updated_at",
            column: reset::Column::UpdatedAt,
            nullable: false,
            value: |(r, _)| Some(r.updated_at).into(),
        },
        ResetSort::ResetPasswordAt => SortKey {
            name: "reset_password_at",
            column: reset::Column::ResetPasswordAt,
            nullable: true,
            value: |(r, _)| r.reset_password_at.into(),
        },
        ResetSort::Reference => SortKey {
            name: "reference",
            column: reset::Column::Reference,
            nullable: true,
            value: |(r, _)| r.reference.clone().into(),
        },
    }
}

/// The ids of the customers of `mode` matching `condition`, as a subquery.
fn customers_where(mode: Mode, condition: Condition) -> sea_orm::sea_query::SelectStatement {
    customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::Mode.eq(mode))
        .filter(condition)
        .into_query()
}

/// How much of each reset's customer a list reads with the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithCustomers {
    /// None: the customers are not asked for.
    No,
    /// Their keys and emails ([`customer::Brief`]).
    Brief,
    /// All a read shows of them ([`customer::Shown`]).
    Shown,
}

/// How much of each reset a list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetColumns {
    /// [`reset::Brief`]'s columns: the others are not asked for, and the
    /// rows carry placeholders for them ([`reset::Brief::into_shown`]).
    Brief,
    /// All a read shows ([`reset::Shown`]).
    Shown,
}

/// A reset's customer, read with the page.
#[derive(Debug, Clone)]
pub enum ListedCustomer {
    /// Its keys and email.
    Brief(customer::Brief),
    /// All a read shows of it.
    Shown(customer::Shown),
}

/// A reset of a page, with its customer when the page was asked for them.
pub type ResetRow = (reset::Shown, Option<ListedCustomer>);

impl Row for ResetRow {
    fn public_id(&self) -> &str {
        &self.0.public_id
    }
}

/// The page's statement reads the resets' columns as `resets` asks, then,
/// joined, their customers' as `with` asks.
pub(super) fn columns(
    select: Select<reset::Entity>,
    resets: ResetColumns,
    with: WithCustomers,
) -> Select<reset::Entity> {
    let select = match resets {
        ResetColumns::Brief => reset::Brief::select(select.select_only()),
        ResetColumns::Shown => reset::Shown::select(select.select_only()),
    };
    let joined = |select: Select<reset::Entity>| {
        select.join(JoinType::LeftJoin, reset::Relation::Customer.def())
    };
    match with {
        WithCustomers::No => select,
        WithCustomers::Brief => customer::Brief::select(joined(select)),
        WithCustomers::Shown => customer::Shown::select(joined(select)),
    }
}

/// A row of the page's statement, read by position as [`columns`] laid it
/// out; a brief read's resets are of `mode`.
pub(super) fn decode(
    row: &QueryResult,
    resets: ResetColumns,
    with: WithCustomers,
    mode: Mode,
) -> Result<ResetRow, sea_orm::DbErr> {
    let (reset, at) = match resets {
        ResetColumns::Brief => (
            reset::Brief::at_position(row, 0)?.into_shown(mode),
            reset::Brief::WIDTH,
        ),
        ResetColumns::Shown => (reset::Shown::at_position(row, 0)?, reset::Shown::WIDTH),
    };
    let customer = match with {
        WithCustomers::No => None,
        WithCustomers::Brief => {
            customer::Brief::joined_at_position(row, at)?.map(ListedCustomer::Brief)
        }
        WithCustomers::Shown => {
            customer::Shown::joined_at_position(row, at)?.map(ListedCustomer::Shown)
        }
    };
    Ok((reset, customer))
}

/// What a list of resets asks for.
#[derive(Debug, Clone)]
pub struct ResetListing {
    /// Which resets.
    pub filter: ResetFilter,
    /// In what order.
    pub sort: ResetSort,
    /// Which way.
    pub direction: Direction,
    /// Which page.
    pub page: PageArgs,
    /// How much of each reset to read.
    pub columns: ResetColumns,
    /// How much of each reset's customer to read with it.
    pub with_customers: WithCustomers,
}

/// A page of the resets of `mode` that `listing` asks for, with statuses
/// judged at `now`, and each row's customer as it asks, read in the same
/// statement. No token digest is read.
///
/// # Errors
/// [`crate::service::Error::BadRequest`] for bad paging arguments;
/// [`crate::service::Error::Database`] otherwise.
pub async fn list(
    db: &Reader,
    mode: Mode,
    listing: ResetListing,
    now: DateTime<Utc>,
) -> Result<Page<reset::Entity, ResetRow>> {
    use reset::Column as C;
    let ResetListing {
        filter,
        sort,
        direction,
        page,
        columns: resets,
        with_customers,
    } = listing;
    let unfiltered = filter.is_empty();
    let mut cond = Condition::all().add(C::Mode.eq(mode));
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
    let mut page = pagination::fetch_page_as(
        db,
        select,
        &sort_key(sort),
        direction,
        page,
        |select| columns(select, resets, with_customers),
        |row| decode(row, resets, with_customers, mode),
    )
    .await?;
    if unfiltered {
        page.counter = page.counter.unfiltered(mode);
    }
    Ok(page)
}

/// What a reset can be searched and sorted by, as Commerce Layer names it.
pub const SEARCHABLE: [search::Attribute<reset::Column>; 8] = {
    use reset::Column as C;
    use search::{Attribute, Kind};
    [
        Attribute {
            name: "id",
            column: C::PublicId,
            kind: Kind::Text,
        },
        Attribute {
            name: "customer_email",
            column: C::CustomerEmail,
            kind: Kind::Text,
        },
        Attribute {
            name: "reference",
            column: C::Reference,
            kind: Kind::Text,
        },
        Attribute {
            name: "reference_origin",
            column: C::ReferenceOrigin,
            kind: Kind::Text,
        },
        Attribute {
            name: "created_at",
            column: C::CreatedAt,
            kind: Kind::Time,
        },
        Attribute {
            name: "updated_at",
            column: C::UpdatedAt,
            kind: Kind::Time,
        },
        Attribute {
            name: "reset_password_at",
            column: C::ResetPasswordAt,
            kind: Kind::Time,
        },
        Attribute {
            name: "expires_at",
            column: C::ExpiresAt,
            kind: Kind::Time,
        },
    ]
};

/// A numbered page of the resets of `mode` that `query` asks for (Commerce
/// Layer's filters and sorts), read with the columns `resets`, each with
/// its customer as `with` asks, and the whole list's size. No token digest
/// is read.
///
/// # Errors
/// [`crate::service::Error::BadRequest`] naming an attribute that cannot be
/// filtered or sorted on, or a value of the wrong kind;
/// [`crate::service::Error::Database`] otherwise.
pub async fn search(
    db: &impl ConnectionTrait,
    mode: Mode,
    query: &search::Search,
    resets: ResetColumns,
    with: WithCustomers,
) -> Result<search::Found<ResetRow>> {
    search::run(
        db,
        mode,
        reset::Column::Mode,
        &SEARCHABLE,
        reset::Column::PublicId,
        query,
        |select| columns(select, resets, with),
        |row| decode(row, resets, with, mode),
    )
    .await
}
