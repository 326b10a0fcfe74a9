//! Lists the way Commerce Layer's REST API asks for them: criteria written
//! `ATTRIBUTE_PREDICATE` (Ransack's predicates: `eq`, `not_eq`, `in`,
//! `cont`, `start`, `gt`, `gteq`, `lt`, `lteq`, `null`, `not_null`), sorts by
//! attribute, and numbered pages with a total. Each resource names the
//! attributes it can be searched by; anything else is refused, naming it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, QueryTrait, Select,
    sea_query::{
        Asterisk, Expr, ExprTrait, Func, LikeExpr, Query, QueryStatementBuilder, SelectStatement,
    },
};

use super::{Error, Result};
use crate::{domain::Mode, entity::row_count};

/// How a criterion compares an attribute with its value.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Predicate {
    /// Equal.
    Eq,
    /// Not equal (or null).
    NotEq,
    /// One of a comma-separated list.
    In,
    /// Contains, letter case ignored.
    Cont,
    /// Starts with, letter case ignored.
    Start,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gteq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lteq,
    /// Has no value (the value given is `true`, or `false` for the opposite).
    Null,
    /// Has a value (the value given is `true`, or `false` for the opposite).
    NotNull,
}

/// One criterion: `attribute`, `predicate`, `value`, as a client wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// Where the client wrote it (such as `filter[q][customer_email_eq]`),
    /// for errors.
    pub parameter: String,
    /// The attribute's name, such as `customer_email`.
    pub attribute: String,
    /// The comparison.
    pub predicate: Predicate,
    /// The value, as text.
    pub value: String,
}

impl Criterion {
    /// Reads `ATTRIBUTE_PREDICATE` (the longest predicate that ends the
    /// name wins, so `reset_password_at_not_null` is `not_null`).
    pub fn parse(parameter: &str, name: &str, value: &str) -> Option<Self> {
        const SUFFIXES: [&str; 11] = [
            "not_null", "not_eq", "null", "gteq", "lteq", "cont", "start", "eq", "in", "gt", "lt",
        ];
        SUFFIXES.iter().find_map(|suffix| {
            let attribute = name.strip_suffix(suffix)?.strip_suffix('_')?;
            Some(Self {
                parameter: parameter.to_owned(),
                attribute: attribute.to_owned(),
                predicate: suffix.parse().ok()?,
                value: value.to_owned(),
            })
        })
    }
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Every criterion must hold.
    pub criteria: Vec<Criterion>,
    /// Attribute names, in order; `true` for descending (the parameter is `sort`).
    pub sort: Vec<(String, bool)>,
    /// The page, from 1.
    pub page: u64,
    /// Rows a page holds.
    pub size: u64,
    /// Whether to count the whole list (a list's `record_count`); a look-up
    /// of one resource skips the count.
    pub count: bool,
}

/// A page of a list, and how many rows the whole list has.
#[derive(Debug, Clone)]
pub struct Found<T> {
    /// The page's rows.
    pub rows: Vec<T>,
    /// Rows in the whole list (0 when it was not counted).
    pub total: u64,
}

impl Predicate {
    /// The name, as a filter writes it after the attribute.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether it compares with text only (`cont`, `start`).
    pub fn text_only(self) -> bool {
        matches!(self, Predicate::Cont | Predicate::Start)
    }
}

/// What kind of value an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text; `cont` and `start` ignore letter case.
    Text,
    /// A time (RFC 3339, or a date `YYYY-MM-DD` for its midnight UTC).
    Time,
}

/// An attribute a resource can be searched and sorted by.
#[derive(Debug, Clone, Copy)]
pub struct Attribute<C> {
    /// Its name in the API.
    pub name: &'static str,
    /// Its column.
    pub column: C,
    /// Its kind.
    pub kind: Kind,
}

fn bad(parameter: &str, message: String) -> Error {
    Error::BadParameter {
        parameter: parameter.to_owned(),
        message,
    }
}

/// The time `raw` names.
fn time(parameter: &str, attribute: &str, raw: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| {
            bad(parameter, format!(
                "filter on {attribute}: {raw:?} is not a time (write RFC 3339, such as 2026-12-01T10:00:00Z)"
            ))
        })
}

/// `value` read as true or false, for `null` and `not_null`.
fn flag(parameter: &str, attribute: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" | "" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(
            parameter,
            format!("filter on {attribute}: {value:?} is not true or false"),
        )),
    }
}

/// `text` as a LIKE pattern that matches it literally.
fn literal(text: &str) -> String {
    text.to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The condition `criterion` stands for, on the attributes `known`.
///
/// # Errors
/// [`Error::BadRequest`] naming an unknown attribute or a value of the
/// wrong kind.
pub fn condition<C: ColumnTrait>(
    known: &[Attribute<C>],
    criterion: &Criterion,
) -> Result<Condition> {
    let Criterion {
        parameter,
        attribute,
        predicate,
        value,
    } = criterion;
    let found = known
        .iter()
        .find(|a| a.name == attribute)
        .ok_or_else(|| bad(parameter, format!("{attribute} cannot be filtered on")))?;
    // No text a database stores holds a NUL (PostgreSQL refuses one).
    if value.contains('\0') {
        return Err(bad(
            parameter,
            format!("filter on {attribute}: the value holds a NUL"),
        ));
    }
    let column = found.column;
    let one = |raw: &str| -> Result<sea_orm::Value> {
        Ok(match found.kind {
            Kind::Text => raw.to_owned().into(),
            Kind::Time => time(parameter, attribute, raw)?.into(),
        })
    };
    let lowered = || Expr::expr(Func::lower(Expr::col(column.as_column_ref())));
    let cond = Condition::all();
    Ok(match predicate {
        Predicate::Eq => cond.add(column.eq(one(value)?)),
        Predicate::NotEq => cond.add(
            Condition::any()
                .add(column.ne(one(value)?))
                .add(column.is_null()),
        ),
        Predicate::In => {
            let values = value
                .split(',')
                .map(|v| one(v.trim()))
                .collect::<Result<Vec<_>>>()?;
            cond.add(column.is_in(values))
        }
        Predicate::Cont | Predicate::Start if found.kind != Kind::Text => {
            return Err(bad(
                parameter,
                format!(
                    "filter on {attribute}: {} takes text",
                    <&str>::from(*predicate)
                ),
            ));
        }
        Predicate::Cont => {
            let pattern = LikeExpr::new(format!("%{}%", literal(value))).escape('\\');
            cond.add(lowered().like(pattern))
        }
        Predicate::Start => {
            let pattern = LikeExpr::new(format!("{}%", literal(value))).escape('\\');
            cond.add(lowered().like(pattern))
        }
        Predicate::Gt => cond.add(column.gt(one(value)?)),
        Predicate::Gteq => cond.add(column.gte(one(value)?)),
        Predicate::Lt => cond.add(column.lt(one(value)?)),
        Predicate::Lteq => cond.add(column.lte(one(value)?)),
        Predicate::Null | Predicate::NotNull => {
            let null = flag(parameter, attribute, value)? == (*predicate == Predicate::Null);
            cond.add(if null {
                column.is_null()
            } else {
                column.is_not_null()
            })
        }
    })
}

/// The rows of `E` in `mode` (its column `by_mode`) that `search`'s
/// criteria find, sorted and paged, read with `columns` and `decode`, and
/// how many there are in all (when `search.count`; 0 otherwise). Ties are
/// broken by `tiebreak` (the public id), so pages never overlap.
///
/// Without criteria the total is the count the database keeps of the
/// mode's rows (the table `row_counts`), read from a few rows; with them,
/// the matching rows are counted.
///
/// # Errors
/// [`Error::BadRequest`] for an unknown attribute or bad value;
/// [`Error::Database`] otherwise.
#[allow(clippy::too_many_arguments)]
pub async fn run<E, T>(
    db: &impl ConnectionTrait,
    mode: Mode,
    by_mode: E::Column,
    known: &[Attribute<E::Column>],
    tiebreak: E::Column,
    search: &Search,
    columns: impl Fn(Select<E>) -> Select<E>,
    decode: impl Fn(&QueryResult) -> std::result::Result<T, sea_orm::DbErr>,
) -> Result<Found<T>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let mut select = E::find().filter(by_mode.eq(mode));
    for criterion in &search.criteria {
        select = select.filter(condition(known, criterion)?);
    }
    // Without criteria the kept count rides along with the page (one more
    // column); with them, `COUNT(*)` over the filtered rows alone: no
    // subquery of every column, and no column read from each row.
    let table = E::default().table_name();
    let kept = search.count && search.criteria.is_empty();
    let total = if search.count && !kept {
        let counted: Vec<i64> = select
            .clone()
            .select_only()
            .column_as(Expr::col(Asterisk).count(), "n")
            .into_tuple()
            .all(db)
            .await?;
        counted
            .first()
            .copied()
            .unwrap_or(0)
            .try_into()
            .unwrap_or(0)
    } else {
        0
    };
    // Ties go the way of the last key, so an index on (…, key, id) serves
    // the order without a sort.
    let mut tie_order = Order::Asc;
    for (name, descending) in &search.sort {
        let found = known
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| bad("sort", format!("{name} cannot be sorted by")))?;
        let order = if *descending { Order::Desc } else { Order::Asc };
        tie_order = order.clone();
        select = select.order_by(found.column, order);
    }
    let select = select.order_by(tiebreak, tie_order);
    let offset = search.page.saturating_sub(1).saturating_mul(search.size);
    // The first page, the one read most, has its limit written in so that
    // the database keeps it planned (see `statement::built`); with a bound
    // offset, later pages are planned on each run.
    let columns = |select| {
        let select = columns(select);
        if kept {
            select.expr_as(kept_count_column(table, mode), KEPT_COUNT)
        } else {
            select
        }
    };
    let statement = if offset == 0 {
        super::statement::built(db, columns(select), search.size)
    } else {
        columns(select.offset(offset).limit(search.size)).build(db.get_database_backend())
    };
    let found = db.query_all_raw(statement).await?;
    let total = match found.first() {
        Some(first) if kept => first
            .try_get::<i64>("", KEPT_COUNT)?
            .try_into()
            .unwrap_or(0),
        // An empty page (past the end, or an empty list) carries no count.
        None if kept => kept_count(db, table, mode).await?,
        _ => total,
    };
    let rows = found
        .iter()
        .map(decode)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Found { rows, total })
}

/// The name of the kept count's column in a page's statement.
const KEPT_COUNT: &str = "kept_record_count";

/// The kept count of `table`'s rows in `mode`: the sum of the mode's
/// shards in `row_counts`, which the database's triggers keep.
fn kept_count_query(table: &str, mode: Mode) -> SelectStatement {
    let sum = Func::coalesce([Expr::col(row_count::Column::N).sum(), Expr::val(0i64)]);
    Query::select()
        .expr_as(Func::cast_as(sum, "BIGINT"), KEPT_COUNT)
        .from(row_count::Entity)
        .and_where(row_count::Column::TableName.eq(table))
        .and_where(row_count::Column::Mode.eq(mode))
        .to_owned()
}

/// [`kept_count_query`] as a column: a subquery that the database runs
/// once per statement.
fn kept_count_column(table: &str, mode: Mode) -> Expr {
    let query = kept_count_query(table, mode);
    Expr::SubQuery(None, Box::new(query.into_sub_query_statement()))
}

/// How many rows of `table` `mode` has, as [`kept_count_query`] reads it.
pub(crate) async fn kept_count(db: &impl ConnectionTrait, table: &str, mode: Mode) -> Result<u64> {
    let statement = db
        .get_database_backend()
        .build(&kept_count_query(table, mode));
    let total = match db.query_one_raw(statement).await? {
        Some(row) => row.try_get::<i64>("", KEPT_COUNT)?,
        None => 0,
    };
    Ok(total.try_into().unwrap_or(0))
}
