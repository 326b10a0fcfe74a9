//! Keyset pagination shared by every list: Relay `first`/`after`/`last`/`before`
//! over a sort key with ties broken by the public id, so pages stay stable while
//! rows are added. Cursors are opaque (base64 JSON of the sort value and id) and
//! tied to the sort they came from.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, Select, Value};
use serde::{Deserialize, Serialize};

use super::{Error, Result};
use crate::{database::Reader, domain::Mode};

mod fetch;

pub use fetch::{fetch_page, fetch_page_as};

/// Page size when the client gives neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: u64 = 25;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The Relay arguments of a connection field, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Forward page size.
    pub first: Option<i32>,
    /// Forward cursor: rows after this one.
    pub after: Option<String>,
    /// Backward page size.
    pub last: Option<i32>,
    /// Backward cursor: rows before this one.
    pub before: Option<String>,
}

/// A time range: `from` inclusive, `until` exclusive; either may be open.
#[derive(Debug, Default, Clone, Copy)]
pub struct TimeRange {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// The condition that `column` falls in the range.
    pub fn condition(self, column: impl ColumnTrait) -> Condition {
        let mut cond = Condition::all();
        if let Some(from) = self.from {
            cond = cond.add(column.gte(from));
        }
        if let Some(until) = self.until {
            cond = cond.add(column.lt(until));
        }
        cond
    }
}

impl PageArgs {
    /// The arguments in the order a connection field declares them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first; rows with no value come last.
    Asc,
    /// Largest first; rows with no value come first.
    Desc,
}

/// A sort value inside a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SortValue {
    /// The row has no value for the sort column.
    Null,
    /// A timestamp column.
    Time(DateTime<Utc>),
    /// A text column.
    Text(String),
}

impl From<Option<DateTime<Utc>>> for SortValue {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        v.map_or(SortValue::Null, SortValue::Time)
    }
}

impl From<Option<String>> for SortValue {
    fn from(v: Option<String>) -> Self {
        v.map_or(SortValue::Null, SortValue::Text)
    }
}

impl SortValue {
    fn into_value(self) -> Option<Value> {
        match self {
            SortValue::Null => None,
            SortValue::Time(t) => Some(t.into()),
            SortValue::Text(s) => Some(s.into()),
        }
    }
}

/// A column a list can be sorted by, over rows read as `R` (the entity's
/// model unless the list reads fewer columns).
pub struct SortKey<E: EntityTrait, R = <E as EntityTrait>::Model> {
    /// The name cursors carry, so a cursor from another sort is refused.
    pub name: &'static str,
    /// The column.
    pub column: E::Column,
    /// Whether the column can be NULL.
    pub nullable: bool,
    /// Reads the row's value, for its cursor.
    pub value: fn(&R) -> SortValue,
}

/// An entity with a public id, the tie-breaker of every sort.
pub trait Keyed: EntityTrait {
    /// The public id column.
    fn public_id_column() -> Self::Column;
    /// The row's public id.
    fn public_id(model: &Self::Model) -> &str;
}

/// A row of a page read in another shape than its entity's model
/// ([`fetch_page_as`]).
pub trait Row {
    /// The row's public id.
    fn public_id(&self) -> &str;
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    /// Sort name.
    s: String,
    /// Sort value.
    v: SortValue,
    /// Public id.
    i: String,
}

/// A row's place in its list, encoded into an opaque cursor only when a
/// client asks for it: most lists ask for rows, not cursors.
#[derive(Debug, Clone)]
pub struct RowCursor {
    sort: &'static str,
    value: SortValue,
    id: String,
}

impl RowCursor {
    /// The opaque cursor (base64 JSON of the sort, its value and the id).
    pub fn encode(&self) -> String {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            s: &'a str,
            v: &'a SortValue,
            i: &'a str,
        }
        let cursor = Borrowed {
            s: self.sort,
            v: &self.value,
            i: &self.id,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }
}

fn decode_cursor(raw: &str, sort: &str) -> Result<Cursor> {
    let bad = || Error::BadRequest(format!("invalid cursor {raw:?}"));
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.s != sort {
        return Err(Error::BadRequest(format!(
            "cursor {raw:?} belongs to another sort order; request the first page again"
        )));
    }
    Ok(cursor)
}

/// A page of rows, each with its cursor, and a way to count the whole list.
/// A row is `E`'s model unless the page was read in another shape
/// ([`fetch_page_as`]).
pub struct Page<E: EntityTrait, T = <E as EntityTrait>::Model> {
    /// The rows in the requested order, each with its cursor.
    pub items: Vec<(RowCursor, T)>,
    /// Whether more rows follow the last one.
    pub has_next_page: bool,
    /// Whether more rows precede the first one.
    pub has_previous_page: bool,
    /// Counts the whole list, on demand.
    pub counter: Counter<E>,
}

impl<E: EntityTrait, T> Page<E, T> {
    /// The same page with each row turned into another by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<E, U> {
        let mut f = f;
        Page {
            items: self
                .items
                .into_iter()
                .map(|(cursor, row)| (cursor, f(row)))
                .collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            counter: self.counter,
        }
    }
}

/// The filtered list behind a page, to count only when a client asks.
pub struct Counter<E: EntityTrait> {
    select: Select<E>,
    db: Reader,
    /// Set when the list is every row of this mode: the count the
    /// database keeps answers.
    unfiltered: Option<Mode>,
}

impl<E: EntityTrait> Counter<E>
where
    E::Model: Sync,
{
    /// Counts every row matching the list's filter, ignoring paging: one query,
    /// run only when a client asks for `totalCount`; for a list of every row
    /// of a mode, a read of the count the database keeps.
    ///
    /// # Errors
    /// [`Error::Database`] if the count fails.
    pub async fn count(&self) -> Result<u64> {
        match self.unfiltered {
            Some(mode) => {
                super::search::kept_count(&self.db, E::default().table_name(), mode).await
            }
            None => Ok(self.select.clone().count(&self.db).await?),
        }
    }

    /// The same counter, told that its list is every row of `mode` (the
    /// caller's filter holds nothing but the mode).
    pub(crate) fn unfiltered(self, mode: Mode) -> Self {
        Self {
            unfiltered: Some(mode),
            ..self
        }
    }
}
