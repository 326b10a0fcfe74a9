//! Keyset pagination shared by every list: Relay `first`/`after`/`last`/`before`
//! over a sort key with ties broken by the public id, so pages stay stable while
//! rows are added. Cursors are opaque (base64 JSON of the sort value and id) and
//! tied to the sort they came from.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};

use super::{Error, Result};

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

/// A column a list can be sorted by.
pub struct SortKey<E: EntityTrait> {
    /// The name cursors carry, so a cursor from another sort is refused.
    pub name: &'static str,
    /// The column.
    pub column: E::Column,
    /// Whether the column can be NULL.
    pub nullable: bool,
    /// Reads the row's value, for its cursor.
    pub value: fn(&E::Model) -> SortValue,
}

/// An entity with a public id, the tie-breaker of every sort.
pub trait Keyed: EntityTrait {
    /// The public id column.
    fn public_id_column() -> Self::Column;
    /// The row's public id.
    fn public_id(model: &Self::Model) -> &str;
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
/// A row is `E`'s model unless the page was read with related rows
/// ([`fetch_page_with`]).
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
    db: DatabaseConnection,
}

impl<E: EntityTrait> Counter<E>
where
    E::Model: Sync,
{
    /// Counts every row matching the list's filter, ignoring paging: one query,
    /// run only when a client asks for `totalCount`.
    ///
    /// # Errors
    /// [`Error::Database`] if the count fails.
    pub async fn count(&self) -> Result<u64> {
        Ok(self.select.clone().count(&self.db).await?)
    }
}

struct Window {
    limit: u64,
    forward: bool,
    cursor: Option<Cursor>,
}

fn page_size(arg: &str, value: i32) -> Result<u64> {
    match u64::try_from(value) {
        Ok(n) if n <= MAX_PAGE_SIZE => Ok(n),
        _ => Err(Error::BadRequest(format!(
            "`{arg}` must be between 0 and {MAX_PAGE_SIZE}, got {value}"
        ))),
    }
}

fn window(args: PageArgs, sort: &str) -> Result<Window> {
    let cursor = |raw: Option<String>| raw.map(|c| decode_cursor(&c, sort)).transpose();
    match args {
        PageArgs {
            first: Some(_),
            last: Some(_),
            ..
        } => Err(Error::BadRequest(
            "pass either `first` or `last`, not both".into(),
        )),
        PageArgs {
            after: Some(_),
            before: Some(_),
            ..
        } => Err(Error::BadRequest(
            "pass either `after` or `before`, not both".into(),
        )),
        PageArgs {
            last: Some(last),
            before,
            after: None,
            ..
        } => Ok(Window {
            limit: page_size("last", last)?,
            forward: false,
            cursor: cursor(before)?,
        }),
        PageArgs {
            last: None,
            before: Some(before),
            first: None,
            ..
        } => Ok(Window {
            limit: DEFAULT_PAGE_SIZE,
            forward: false,
            cursor: cursor(Some(before))?,
        }),
        PageArgs {
            first,
            after,
            before: None,
            last: None,
        } => Ok(Window {
            limit: first.map_or(Ok(DEFAULT_PAGE_SIZE), |f| page_size("first", f))?,
            forward: true,
            cursor: cursor(after)?,
        }),
        _ => Err(Error::BadRequest(
            "`first` goes with `after`, `last` goes with `before`".into(),
        )),
    }
}

/// The rows strictly after `(value, id)` in the order `ascending` describes.
/// NULLs sort after every value ascending, before every value descending.
fn after_condition<E: Keyed>(
    key: &SortKey<E>,
    ascending: bool,
    value: SortValue,
    id: String,
) -> Condition {
    let col = key.column;
    let id_col = E::public_id_column();
    let id_after = if ascending {
        id_col.gt(id)
    } else {
        id_col.lt(id)
    };
    match (value.into_value(), ascending) {
        (Some(v), true) => {
            let mut c = Condition::any()
                .add(col.gt(v.clone()))
                .add(Condition::all().add(col.eq(v)).add(id_after));
            if key.nullable {
                c = c.add(col.is_null());
            }
            c
        }
        (Some(v), false) => Condition::any()
            .add(col.lt(v.clone()))
            .add(Condition::all().add(col.eq(v)).add(id_after)),
        (None, true) => Condition::all().add(col.is_null()).add(id_after),
        (None, false) => Condition::any()
            .add(Condition::all().add(col.is_null()).add(id_after))
            .add(col.is_not_null()),
    }
}

/// Fetches one page of `select` (already filtered) sorted by `key` in
/// `direction`, with ties broken by public id.
///
/// # Errors
/// [`Error::BadRequest`] for a page size over [`MAX_PAGE_SIZE`] or negative, a
/// malformed cursor, a cursor from another sort, or conflicting arguments;
/// [`Error::Database`] if the query fails.
pub async fn fetch_page<E: Keyed>(
    db: &DatabaseConnection,
    select: Select<E>,
    key: &SortKey<E>,
    direction: Direction,
    args: PageArgs,
) -> Result<Page<E>> {
    let plan = PagePlan::new(db, select, key, direction, args)?;
    let rows = plan.query.clone().all(db).await?;
    Ok(plan.finish(rows, |row| row))
}

/// A row of `E` with its row of `R`, if any.
pub type Joined<E, R> = (<E as EntityTrait>::Model, Option<<R as EntityTrait>::Model>);

/// Like [`fetch_page`], with each row's `R` row read in the same statement
/// (a left join along the entities' relation); `decode` reads a row of it by
/// position (`E`'s columns, then `R`'s), which costs less than by name.
///
/// # Errors
/// As [`fetch_page`].
pub async fn fetch_page_with<E, R>(
    db: &DatabaseConnection,
    select: Select<E>,
    key: &SortKey<E>,
    direction: Direction,
    args: PageArgs,
    decode: fn(&QueryResult) -> Result<Joined<E, R>, sea_orm::DbErr>,
) -> Result<Page<E, Joined<E, R>>>
where
    E: Keyed + sea_orm::Related<R>,
    R: EntityTrait,
{
    let plan = PagePlan::new(db, select, key, direction, args)?;
    let statement = plan
        .query
        .clone()
        .find_also_related(R::default())
        .build(db.get_database_backend());
    let rows = db
        .query_all_raw(statement)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(plan.finish(rows, |(row, _)| row))
}

/// One page's statement, and what turns its rows into a [`Page`].
struct PagePlan<'k, E: Keyed> {
    /// The filtered, ordered and limited statement (one row more than the
    /// page, to tell whether more follow).
    query: Select<E>,
    key: &'k SortKey<E>,
    window: Window,
    had_cursor: bool,
    counter: Counter<E>,
}

impl<'k, E: Keyed> PagePlan<'k, E> {
    fn new(
        db: &DatabaseConnection,
        select: Select<E>,
        key: &'k SortKey<E>,
        direction: Direction,
        args: PageArgs,
    ) -> Result<Self> {
        let mut window = window(args, key.name)?;
        let counter = Counter {
            select: select.clone(),
            db: db.clone(),
        };
        // Backward pages are read in the reverse order, then flipped.
        let ascending = (direction == Direction::Asc) == window.forward;
        let order = if ascending { Order::Asc } else { Order::Desc };
        let mut query = select;
        let had_cursor = window.cursor.is_some();
        if let Some(cursor) = window.cursor.take() {
            query = query.filter(after_condition(key, ascending, cursor.v, cursor.i));
        }
        if key.nullable {
            // `IS NULL` sorts false (0) before true (1) on both databases.
            query = query.order_by(key.column.is_null(), order.clone());
        }
        let query = query
            .order_by(key.column, order.clone())
            .order_by(E::public_id_column(), order)
            .limit(window.limit + 1);
        Ok(Self {
            query,
            key,
            window,
            had_cursor,
            counter,
        })
    }

    /// The page of `rows` (as the statement returned them), each row's
    /// entity model found by `model`.
    fn finish<T>(self, mut rows: Vec<T>, model: impl Fn(&T) -> &E::Model) -> Page<E, T> {
        let Self {
            key,
            window,
            had_cursor,
            counter,
            ..
        } = self;
        let has_more = rows.len() as u64 > window.limit;
        rows.truncate(window.limit as usize);
        if !window.forward {
            rows.reverse();
        }
        let items = rows
            .into_iter()
            .map(|row| {
                let cursor = RowCursor {
                    sort: key.name,
                    value: (key.value)(model(&row)),
                    id: E::public_id(model(&row)).to_owned(),
                };
                (cursor, row)
            })
            .collect();
        // A page that starts from a cursor has the cursor's row on its other side.
        let (has_next_page, has_previous_page) = if window.forward {
            (has_more, had_cursor)
        } else {
            (had_cursor, has_more)
        };
        Page {
            items,
            has_next_page,
            has_previous_page,
            counter,
        }
    }
}
