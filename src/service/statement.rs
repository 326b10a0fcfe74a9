//! Statements the database can keep planned: a row limit written into the
//! statement rather than bound. Both databases plan a statement again on
//! every run when its `LIMIT` is bound:
//! - SQLite (since 3.47) plans a bound `LIMIT` for its value, so it prepares
//!   the statement again every time it runs, which costs more than running
//!   it (seen in a profile: `sqlite3_step` -> `sqlite3Reprepare`).
//! - PostgreSQL's plan for any value of a bound `LIMIT` (its generic plan)
//!   is costed as if it returned a tenth of the table, so it never wins over
//!   a plan made for the value, and every run is planned afresh: on a page of
//!   50 resets with their customers, planning cost PostgreSQL as much CPU as
//!   running the statement (`pg_prepared_statements.custom_plans` grew with
//!   every run, `generic_plans` stayed 0).
//!
//! Written in, one prepared and planned statement serves every run with the
//! same limit; a limit comes from a page size, so there are few of them.

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QuerySelect, QueryTrait,
    Select, Statement, Value,
};

/// `query`, limited to `limit` rows, as a statement for `db`, the limit
/// written in.
pub fn built<E: EntityTrait>(db: &impl ConnectionTrait, query: Select<E>, limit: u64) -> Statement {
    let backend = db.get_database_backend();
    literal_limit(query.limit(limit).build(backend), limit, backend)
}

/// The first row `query` finds, as SeaORM's `one` reads it, with the
/// statement's `LIMIT 1` written in.
///
/// # Errors
/// [`DbErr`] if the query fails or a row does not decode.
pub async fn first<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: Select<E>,
) -> Result<Option<E::Model>, DbErr> {
    db.query_one_raw(built(db, query, 1))
        .await?
        .map(|row| E::Model::from_query_result(&row, ""))
        .transpose()
}

/// `statement` (built for `backend`) with its trailing `LIMIT` placeholder,
/// bound to `limit` as the last value, written as the number instead; any
/// other statement as it is.
fn literal_limit(mut statement: Statement, limit: u64, backend: DbBackend) -> Statement {
    let Some(values) = statement.values.as_mut() else {
        return statement;
    };
    let placeholder = match backend {
        DbBackend::Postgres => format!(" LIMIT ${}", values.0.len()),
        _ => " LIMIT ?".to_owned(),
    };
    let bound = matches!(values.0.last(), Some(Value::BigUnsigned(Some(n))) if *n == limit);
    if bound && statement.sql.ends_with(&placeholder) {
        values.0.pop();
        statement
            .sql
            .truncate(statement.sql.len() - placeholder.len());
        statement.sql.push_str(&format!(" LIMIT {limit}"));
    }
    statement
}

#[cfg(test)]
mod tests {
    use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

    use super::literal_limit;
    use crate::entity::customer;

    #[test]
    fn a_limited_statement_carries_its_limit_as_a_number() {
        for (backend, placeholder) in [
            (DbBackend::Sqlite, " LIMIT ?"),
            (DbBackend::Postgres, " LIMIT $3"),
        ] {
            let select = customer::Entity::find()
                .filter(customer::Column::Mode.eq("test"))
                .filter(customer::Column::EmailKey.eq("a@example.com"))
                .limit(51);
            let bound = select.build(backend);
            assert!(bound.sql.ends_with(placeholder), "{}", bound.sql);
            let values = bound.values.as_ref().map_or(0, |v| v.0.len());
            let written = literal_limit(bound.clone(), 51, backend);
            assert!(written.sql.ends_with(" LIMIT 51"), "{}", written.sql);
            assert_eq!(written.values.map_or(0, |v| v.0.len()), values - 1);
            // Anything else is left as it was.
            let other = literal_limit(bound.clone(), 26, backend);
            assert_eq!(other.sql, bound.sql);
            assert_eq!(other.values, bound.values);
            let offset = customer::Entity::find().limit(51).offset(50).build(backend);
            let kept = literal_limit(offset.clone(), 51, backend);
            assert_eq!(kept.sql, offset.sql);
        }
    }
}
