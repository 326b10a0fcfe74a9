//! Reading one page: the window the Relay arguments describe, the keyset
//! condition past a cursor, and the statement, plain or joined to a related
//! table.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, FromQueryResult, Order, QueryFilter, QueryOrder,
    QueryResult, Select, Statement,
};

use super::{
    Counter, Cursor, DEFAULT_PAGE_SIZE, Direction, Error, Keyed, MAX_PAGE_SIZE, Page, PageArgs,
    Result, Row, RowCursor, SortKey, SortValue, decode_cursor,
};
use crate::{database::Reader, service::statement};

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
fn after_condition<E: Keyed, R>(
    key: &SortKey<E, R>,
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
    db: &Reader,
    select: Select<E>,
    key: &SortKey<E>,
    direction: Direction,
    args: PageArgs,
) -> Result<Page<E>> {
    let plan = PagePlan::new(db, select, key, direction, args)?;
    let rows = db
        .query_all_raw(plan.statement(db, plan.query.clone()))
        .await?
        .iter()
        .map(|row| E::Model::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(plan.finish(rows, key.value, E::public_id))
}

/// Like [`fetch_page`], with the rows in another shape: `shape` chooses the
/// columns of the filtered and ordered statement (and may join
/// related tables), and `decode` reads a row of its result by position,
/// which costs less than by name.
///
/// # Errors
/// As [`fetch_page`].
pub async fn fetch_page_as<E: Keyed, T: Row>(
    db: &Reader,
    select: Select<E>,
    key: &SortKey<E, T>,
    direction: Direction,
    args: PageArgs,
    shape: impl FnOnce(Select<E>) -> Select<E>,
    decode: impl Fn(&QueryResult) -> Result<T, sea_orm::DbErr>,
) -> Result<Page<E, T>> {
    let plan = PagePlan::new(db, select, key, direction, args)?;
    let rows = db
        .query_all_raw(plan.statement(db, shape(plan.query.clone())))
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(plan.finish(rows, key.value, T::public_id))
}

/// One page's statement, and what turns its rows into a [`Page`].
struct PagePlan<E: Keyed> {
    /// The filtered and ordered statement; [`PagePlan::statement`] limits
    /// it to one row more than the page, to tell whether more follow.
    query: Select<E>,
    sort: &'static str,
    window: Window,
    had_cursor: bool,
    counter: Counter<E>,
}

impl<E: Keyed> PagePlan<E> {
    fn new<R>(
        db: &Reader,
        select: Select<E>,
        key: &SortKey<E, R>,
        direction: Direction,
        args: PageArgs,
    ) -> Result<Self> {
        let mut window = window(args, key.name)?;
        let counter = Counter {
            select: select.clone(),
            db: db.clone(),
            unfiltered: None,
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
            .order_by(E::public_id_column(), order);
        Ok(Self {
            query,
            sort: key.name,
            window,
            had_cursor,
            counter,
        })
    }

    /// `query` (the plan's, perhaps shaped) as a statement for `db`, limited
    /// to one row more than the page, the limit written in
    /// ([`statement::built`]).
    fn statement(&self, db: &Reader, query: Select<E>) -> Statement {
        statement::built(db, query, self.window.limit + 1)
    }

    /// The page of `rows` (as the statement returned them), each row's
    /// sort value read by `value` and its public id by `public_id`.
    fn finish<T>(
        self,
        mut rows: Vec<T>,
        value: fn(&T) -> SortValue,
        public_id: fn(&T) -> &str,
    ) -> Page<E, T> {
        let Self {
            sort,
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
                    sort,
                    value: value(&row),
                    id: public_id(&row).to_owned(),
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
