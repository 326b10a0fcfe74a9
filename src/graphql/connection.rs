//! Relay connections: keyset-paginated lists with `edges`, `nodes`,
//! `pageInfo` and a `totalCount` that is computed only when asked for.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    access,
    audit::PasswordResetAuditEvent,
    error::to_graphql,
    types::{Customer, CustomerPasswordReset, CustomerPasswordResetStatus},
    webhooks::{Webhook, WebhookDelivery},
};
use crate::{
    entity::{customer, customer_password_reset, reset_audit_event, webhook, webhook_delivery},
    service::{
        customers::{self, CustomerFilter as ServiceCustomerFilter, CustomerSort},
        pagination::{Counter, DEFAULT_PAGE_SIZE, Direction, Page, PageArgs, RowCursor},
        password_resets::{self, ResetFilter, ResetSort, TimeRange},
    },
};

/// The complexity of a connection field: its page size (`first` or `last`,
/// 25 when neither is given) times the complexity of what each row selects.
pub(crate) fn page_complexity(
    first: Option<i32>,
    last: Option<i32>,
    child_complexity: usize,
) -> usize {
    let rows = first
        .or(last)
        .map_or(DEFAULT_PAGE_SIZE as usize, |n| n.clamp(0, 100) as usize);
    rows.max(1)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

/// Where a page sits in its list (Relay).
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// Whether rows follow this page (ask with `after: endCursor`).
    pub has_next_page: bool,
    /// Whether rows precede this page (ask with `before: startCursor`).
    pub has_previous_page: bool,
    /// The cursor of the first row; null on an empty page.
    pub start_cursor: Option<String>,
    /// The cursor of the last row; null on an empty page.
    pub end_cursor: Option<String>,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum SortDirection {
    /// Smallest first; rows without a value come last.
    Asc,
    /// Largest first (newest first for times); rows without a value come first.
    #[default]
    Desc,
}

impl From<SortDirection> for Direction {
    fn from(d: SortDirection) -> Self {
        match d {
            SortDirection::Asc => Direction::Asc,
            SortDirection::Desc => Direction::Desc,
        }
    }
}

macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty, $entity:ty, $what:literal) => {
        #[doc = concat!("An edge in a list of ", $what, ": one row and its cursor.")]
        #[derive(Debug, Clone, SimpleObject)]
        #[graphql(complex)]
        pub struct $edge {
            #[graphql(skip)]
            cursor: RowCursor,
            /// The row.
            pub node: $node,
        }

        #[ComplexObject]
        impl $edge {
            /// Opaque cursor of this row, for `after` and `before`.
            async fn cursor(&self) -> String {
                self.cursor.encode()
            }
        }

        #[doc = concat!("A page of ", $what, " (a Relay connection).")]
        pub struct $connection {
            edges: Vec<$edge>,
            page_info: PageInfo,
            counter: Counter<$entity>,
        }

        impl $connection {
            pub(crate) fn new(
                page: Page<$entity>,
                mut build: impl FnMut(<$entity as sea_orm::EntityTrait>::Model) -> $node,
            ) -> Self {
                let page_info = PageInfo {
                    has_next_page: page.has_next_page,
                    has_previous_page: page.has_previous_page,
                    start_cursor: page.items.first().map(|(c, _)| c.encode()),
                    end_cursor: page.items.last().map(|(c, _)| c.encode()),
                };
                let edges = page
                    .items
                    .into_iter()
                    .map(|(cursor, row)| $edge {
                        cursor,
                        node: build(row),
                    })
                    .collect();
                Self {
                    edges,
                    page_info,
                    counter: page.counter,
                }
            }
        }

        #[doc = concat!("A page of ", $what, " (a Relay connection).")]
        #[Object]
        impl $connection {
            /// The rows of this page with their cursors.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The rows of this page, without cursors.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            /// Where this page sits in the list.
            async fn page_info(&self) -> &PageInfo {
                &self.page_info
            }

            /// How many rows the whole list has, across all pages. Costs one
            /// extra query, run only when this field is asked for.
            async fn total_count(&self) -> async_graphql::Result<u64> {
                self.counter.count().await.map_err(to_graphql)
            }
        }
    };
}

connection!(
    CustomerPasswordResetConnection,
    CustomerPasswordResetEdge,
    CustomerPasswordReset,
    customer_password_reset::Entity,
    "customer password resets"
);
connection!(
    CustomerConnection,
    CustomerEdge,
    Customer,
    customer::Entity,
    "customers"
);
connection!(
    WebhookConnection,
    WebhookEdge,
    Webhook,
    webhook::Entity,
    "webhooks"
);
connection!(
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookDelivery,
    webhook_delivery::Entity,
    "webhook deliveries"
);
connection!(
    PasswordResetAuditEventConnection,
    PasswordResetAuditEventEdge,
    PasswordResetAuditEvent,
    reset_audit_event::Entity,
    "password reset audit events"
);

/// A time range: `from` inclusive, `until` exclusive; either may be omitted.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct DateTimeRange {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
}

impl From<DateTimeRange> for TimeRange {
    fn from(r: DateTimeRange) -> Self {
        TimeRange {
            from: r.from,
            until: r.until,
        }
    }
}

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
    /// Fetches the page; `customer_key` restricts it to one customer.
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
        let field = match sort.field {
            CustomerPasswordResetSortField::CreatedAt => ResetSort::CreatedAt,
            CustomerPasswordResetSortField::UpdatedAt => ResetSort::UpdatedAt,
            CustomerPasswordResetSortField::ResetPasswordAt => ResetSort::ResetPasswordAt,
            CustomerPasswordResetSortField::Reference => ResetSort::Reference,
        };
        let page = password_resets::list(
            &state.reader,
            principal.mode,
            filter,
            field,
            sort.direction.into(),
            self.page,
            now,
        )
        .await
        .map_err(to_graphql)?;
        // Every row's customer in one query, without the DataLoader's batching
        // window, when the selection asks for them.
        let look = ctx.look_ahead();
        let customers: HashMap<i64, Arc<Customer>> =
            if look.field("nodes").field("customer").exists()
                || look.field("edges").field("node").field("customer").exists()
            {
                let keys: Vec<i64> = page.items.iter().map(|(_, m)| m.customer_id).collect();
                customers::load_many(&state.reader, &keys)
                    .await
                    .map_err(to_graphql)?
                    .into_iter()
                    .map(|(key, c)| (key, Arc::new(Customer::from(c))))
                    .collect()
            } else {
                HashMap::new()
            };
        Ok(CustomerPasswordResetConnection::new(page, |m| {
            let customer = customers.get(&m.customer_id).cloned();
            let mut reset = CustomerPasswordReset::new(m, now);
            reset.preloaded_customer = customer;
            reset
        }))
    }
}

/// Which customers to list. Every criterion given must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CustomerFilter {
    /// Only customers with one of these ids.
    pub ids: Option<Vec<ID>>,
    /// Only the customer with this email (letter case ignored).
    pub email: Option<String>,
    /// Only customers with exactly this reference.
    pub reference: Option<String>,
}

/// What to sort customers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CustomerSortField {
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Email address, letter case ignored.
    Email,
}

/// How to sort customers. Ties are broken by id, so order is stable.
#[derive(Debug, Clone, Copy, InputObject)]
pub struct CustomerSortInput {
    /// The field to sort by.
    pub field: CustomerSortField,
    /// The direction.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// Fetches a page of customers.
pub(crate) async fn fetch_customers(
    ctx: &Context<'_>,
    page: PageArgs,
    filter: Option<CustomerFilter>,
    sort: Option<CustomerSortInput>,
) -> async_graphql::Result<CustomerConnection> {
    let principal = access::require(ctx, access::INTEGRATION)?;
    let state = access::state(ctx);
    let f = filter.unwrap_or_default();
    let filter = ServiceCustomerFilter {
        ids: f.ids.map(|ids| ids.into_iter().map(|id| id.0).collect()),
        email: f.email,
        reference: f.reference,
    };
    let sort = sort.unwrap_or(CustomerSortInput {
        field: CustomerSortField::CreatedAt,
        direction: SortDirection::Desc,
    });
    let field = match sort.field {
        CustomerSortField::CreatedAt => CustomerSort::CreatedAt,
        CustomerSortField::UpdatedAt => CustomerSort::UpdatedAt,
        CustomerSortField::Email => CustomerSort::Email,
    };
    let page = customers::list(
        &state.reader,
        principal.mode,
        filter,
        field,
        sort.direction.into(),
        page,
    )
    .await
    .map_err(to_graphql)?;
    Ok(CustomerConnection::new(page, Customer::from))
}
