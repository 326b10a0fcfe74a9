//! The generic Relay kit: keyset-paginated connections with `edges`, `nodes`,
//! `pageInfo` and a `totalCount` computed only when asked for; the sort
//! direction and time ranges every list shares. Each list lives next to its
//! node type and instantiates [`connection!`] there.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use crate::service::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, TimeRange};

/// The complexity of a connection field: its page size (`first` or `last`,
/// 25 when neither is given) times the complexity of what each row selects.
pub(crate) fn page_complexity(
    first: Option<i32>,
    last: Option<i32>,
    child_complexity: usize,
) -> usize {
    let rows = first.or(last).map_or(DEFAULT_PAGE_SIZE as usize, |n| {
        n.clamp(0, MAX_PAGE_SIZE as i32) as usize
    });
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
#[graphql(remote = "crate::service::pagination::Direction")]
pub enum SortDirection {
    /// Smallest first; rows without a value come last.
    Asc,
    /// Largest first (newest first for times); rows without a value come first.
    #[default]
    Desc,
}

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

/// Declares a Relay connection and its edge over the rows of `$entity`, shown as `$node`:
/// `connection!(Connection, Edge, Node, entity::Entity, "what the rows are")`.
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty, $entity:ty, $what:literal) => {
        #[doc = concat!("An edge in a list of ", $what, ": one row and its cursor.")]
        #[derive(Debug, Clone, async_graphql::SimpleObject)]
        #[graphql(complex)]
        pub struct $edge {
            #[graphql(skip)]
            cursor: $crate::service::pagination::RowCursor,
            /// The row.
            pub node: $node,
        }

        #[async_graphql::ComplexObject]
        impl $edge {
            /// Opaque cursor of this row, for `after` and `before`.
            async fn cursor(&self) -> String {
                self.cursor.encode()
            }
        }

        #[doc = concat!("A page of ", $what, " (a Relay connection).")]
        pub struct $connection {
            edges: Vec<$edge>,
            page_info: $crate::graphql::connection::PageInfo,
            counter: $crate::service::pagination::Counter<$entity>,
        }

        impl $connection {
            /// The connection of `page`, each row shown through `build`.
            #[allow(dead_code)] // not every connection has rows that cannot fail
            pub(crate) fn new<T>(
                page: $crate::service::pagination::Page<$entity, T>,
                mut build: impl FnMut(T) -> $node,
            ) -> Self {
                match Self::try_new(page, |row| Ok::<_, std::convert::Infallible>(build(row))) {
                    Ok(connection) => connection,
                    Err(never) => match never {},
                }
            }

            /// The connection of `page`, each row shown through `build`,
            /// or `build`'s first error.
            pub(crate) fn try_new<T, E>(
                page: $crate::service::pagination::Page<$entity, T>,
                build: impl FnMut(T) -> Result<$node, E>,
            ) -> Result<Self, E> {
                let page_info = $crate::graphql::connection::PageInfo {
                    has_next_page: page.has_next_page,
                    has_previous_page: page.has_previous_page,
                    start_cursor: page.items.first().map(|(c, _)| c.encode()),
                    end_cursor: page.items.last().map(|(c, _)| c.encode()),
                };
                let mut build = build;
                let edges = page
                    .items
                    .into_iter()
                    .map(|(cursor, row)| {
                        Ok($edge {
                            cursor,
                            node: build(row)?,
                        })
                    })
                    .collect::<Result<Vec<_>, E>>()?;
                Ok(Self {
                    edges,
                    page_info,
                    counter: page.counter,
                })
            }
        }

        #[doc = concat!("A page of ", $what, " (a Relay connection).")]
        #[async_graphql::Object]
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
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page_info
            }

            /// How many rows the whole list has, across all pages. Costs one
            /// extra query, run only when this field is asked for.
            async fn total_count(&self) -> async_graphql::Result<u64> {
                self.counter
                    .count()
                    .await
                    .map_err($crate::graphql::error::to_graphql)
            }
        }
    };
}

pub(crate) use connection;
