//! Lists of resets: the filter and sort inputs, the connection, and the one
//! fetch shared by `customerPasswordResets` and `Customer.passwordResets`.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, Enum, ID, InputObject};

use super::{CustomerPasswordReset, CustomerPasswordResetStatus};
use crate::{
    entity::customer_password_reset,
    graphql::{
        access,
        connection::{DateTimeRange, SortDirection, connection},
        customers::Customer,
        error::to_graphql,
    },
    service::{
        pagination::PageArgs,
        password_resets::{
            self, ListedCustomer, ResetColumns, ResetFilter, ResetListing, ResetSort, WithCustomers,
        },
    },
};

connection!(
    CustomerPasswordResetConnection,
    CustomerPasswordResetEdge,
    CustomerPasswordReset,
    customer_password_reset::Entity,
    "customer password resets"
);

/// Which password resets to list. Every criterion given must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CustomerPasswordResetFilter {
    /// Only resets with one of these ids.
    pub ids: Option<Vec<ID>>,
    /// Only the resets of this customer.
    pub customer_id: Option<ID>,
    /// Only the resets of the customer with this email (letter case ignored).
    pub customer_email: Option<String>,
    /// Only resets in one of these statuses (an empty list means any status).
    pub status: Option<Vec<CustomerPasswordResetStatus>>,
    /// Only resets with exactly this reference.
    pub reference: Option<String>,
    /// Only resets created in this range.
    pub created_at: Option<DateTimeRange>,
    /// Only resets last changed in this range.
    pub updated_at: Option<DateTimeRange>,
    /// Only resets completed in this range.
    pub reset_password_at: Option<DateTimeRange>,
}

/// What to sort password resets by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::service::password_resets::ResetSort")]
pub enum CustomerPasswordResetSortField {
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Completion time; resets not completed have none.
    ResetPasswordAt,
    /// The merchant's reference; resets without one have none.
    Reference,
}

/// How to sort password resets. Ties are broken by id, so order is stable.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct CustomerPasswordResetSort {
    /// The field to sort by.
    pub field: CustomerPasswordResetSortField,
    /// The direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// The arguments of a password reset list, gathered.
pub(crate) struct ResetListArgs {
    pub page: PageArgs,
    pub filter: Option<CustomerPasswordResetFilter>,
    pub sort: Option<CustomerPasswordResetSort>,
}

impl ResetListArgs {
    /// Fetches the page; `customer_key` restricts it to one customer. When
    /// the selection asks for each row's customer, they are read with the
    /// page, in the same statement, without the DataLoader's batching window,
    /// and no more of them than the selection shows.
    pub(crate) async fn fetch(
        self,
        ctx: &Context<'_>,
        customer_key: Option<i64>,
    ) -> async_graphql::Result<CustomerPasswordResetConnection> {
        let principal = access::require(ctx, access::INTEGRATION)?;
        let state = access::state(ctx);
        let now = state.clock.now();
        let f = self.filter.unwrap_or_default();
        let filter = ResetFilter {
            ids: f.ids.map(|ids| ids.into_iter().map(|id| id.0).collect()),
            customer_id: f.customer_id.map(|id| id.0),
            customer_key,
            customer_email: f.customer_email,
            status: f.status.map(|s| s.into_iter().map(Into::into).collect()),
            reference: f.reference,
            created_at: f.created_at.map(Into::into),
            updated_at: f.updated_at.map(Into::into),
            reset_password_at: f.reset_password_at.map(Into::into),
        };
        let sort = self.sort.unwrap_or(CustomerPasswordResetSort {
            field: CustomerPasswordResetSortField::CreatedAt,
            direction: SortDirection::Desc,
        });
        let with_customers = customers_asked(ctx);
        let listing = ResetListing {
            filter,
            sort: ResetSort::from(sort.field),
            direction: sort.direction.into(),
            page: self.page,
            columns: resets_asked(ctx),
            with_customers,
        };
        let page = password_resets::list(&state.reader, principal.mode, listing, now)
            .await
            .map_err(to_graphql)?;
        // One customer object per customer, however many of its resets the
        // page holds.
        let mut customers: HashMap<i64, Arc<Customer>> = HashMap::new();
        Ok(CustomerPasswordResetConnection::new(page, |(m, c)| {
            let customer = c.map(|c| {
                let (key, customer) = match c {
                    ListedCustomer::Brief(c) => (c.id, Customer::brief(c, principal.mode)),
                    ListedCustomer::Shown(c) => (c.id, Customer::from(c)),
                };
                customers
                    .entry(key)
                    .or_insert_with(|| Arc::new(customer))
                    .clone()
            });
            let mut reset = CustomerPasswordReset::new(m, now);
            reset.preloaded_customer = customer;
            reset
        }))
    }
}

/// The rows the list field of `ctx` selects (through `nodes` or
/// `edges.node`, fragments included).
fn rows_asked<'a>(ctx: &'a Context<'_>) -> Vec<async_graphql::SelectionField<'a>> {
    let mut rows = Vec::new();
    for field in ctx.field().selection_set() {
        match field.name() {
            "nodes" => rows.push(field),
            "edges" => rows.extend(field.selection_set().filter(|f| f.name() == "node")),
            _ => {}
        }
    }
    rows
}

/// The fields of a reset that [`reset::Brief`]'s columns answer (`mode` is
/// the reader's; a listed reset has no token or code to show; `customer`
/// and `email` read from the keys).
///
/// [`reset::Brief`]: customer_password_reset::Brief
const BRIEF_RESET_FIELDS: [&str; 13] = [
    "__typename",
    "id",
    "customerEmail",
    "resetPasswordToken",
    "resetPasswordCode",
    "resetPasswordAt",
    "expiresAt",
    "status",
    "createdAt",
    "updatedAt",
    "mode",
    "customer",
    "email",
];

/// How much of each reset the list field of `ctx` selects: the brief
/// columns when every field asked is one they answer.
fn resets_asked(ctx: &Context<'_>) -> ResetColumns {
    columns_for(rows_asked(ctx))
}

/// The columns that answer every field the selections `resets` ask of a
/// reset: the brief ones when they do. As with customers, directives are
/// not weighed: never less than the response shows.
pub(super) fn columns_for<'a>(
    resets: impl IntoIterator<Item = async_graphql::SelectionField<'a>>,
) -> ResetColumns {
    let brief = resets.into_iter().all(|reset| {
        reset
            .selection_set()
            .all(|f| BRIEF_RESET_FIELDS.contains(&f.name()))
    });
    if brief {
        ResetColumns::Brief
    } else {
        ResetColumns::Shown
    }
}

/// How much of each row's customer the list field of `ctx` selects (through
/// `nodes` or `edges.node`, fragments included): none, only what a brief
/// read holds, or more. Directives are not weighed, so a field that
/// `@skip` leaves out still counts: never less than the response shows.
fn customers_asked(ctx: &Context<'_>) -> WithCustomers {
    /// The customer fields a brief read answers (`mode` is the reset's).
    const BRIEF: [&str; 5] = ["__typename", "id", "email", "mode", "passwordResets"];
    let mut asked = WithCustomers::No;
    for row in rows_asked(ctx) {
        for customer in row.selection_set().filter(|f| f.name() == "customer") {
            if customer.selection_set().any(|f| !BRIEF.contains(&f.name())) {
                return WithCustomers::Shown;
            }
            asked = WithCustomers::Brief;
        }
    }
    asked
}
