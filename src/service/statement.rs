//! Statements as SQLite can keep prepared: a row limit written into the
//! statement rather than bound. SQLite (since 3.47) plans a bound `LIMIT` for
//! its value, so it prepares a statement with one again every time it runs,
//! which costs more than running it (seen in a profile: `sqlite3_step` ->
//! `sqlite3Reprepare` on every read). Written in, one prepared statement
//! serves every run with the same limit. PostgreSQL keeps the bound form.

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QuerySelect, QueryTrait,
    Select, Statement, Value,
};

/// `query`, limited to `limit` rows, as a statement for `db`: on SQLite with
/// the limit written in.
pub fn built<E: EntityTrait>(db: &impl ConnectionTrait, query: Select<E>, limit: u64) -> Statement {
    let backend = db.get_database_backend();
    let statement = query.limit(limit).build(backend);
    if backend == DbBackend::Sqlite {
        literal_limit(statement, limit)
    } else {
        statement
    }
}

/// The first row `query` finds, as SeaORM's `one` reads it, with the
/// statement's `LIMIT 1` written in on SQLite.
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

/// `statement` with its trailing `LIMIT ?` bound to `limit` written as the
/// number instead; any other statement as it is.
fn literal_limit(mut statement: Statement, limit: u64) -> Statement {
    let bound = statement.values.as_mut().and_then(|v| v.0.pop());
    match (statement.sql.strip_suffix(" LIMIT ?"), bound) {
        (Some(sql), Some(Value::BigUnsigned(Some(n)))) if n == limit => {
            statement.sql = format!("{sql} LIMIT {n}");
            statement
        }
        (_, bound) => {
            if let (Some(values), Some(value)) = (statement.values.as_mut(), bound) {
                values.0.push(value);
            }
            statement
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, EntityTrait, QuerySelect, QueryTrait};

    use super::literal_limit;
    use crate::entity::customer;

    #[test]
    fn a_limited_statement_on_sqlite_carries_its_limit_as_a_number() {
        let select = customer::Entity::find().limit(51);
        let bound = select.build(DbBackend::Sqlite);
        assert!(bound.sql.ends_with(" LIMIT ?"), "{}", bound.sql);
        let values = bound.values.as_ref().map_or(0, |v| v.0.len());
        let written = literal_limit(bound.clone(), 51);
        assert!(written.sql.ends_with(" LIMIT 51"), "{}", written.sql);
        assert_eq!(written.values.map_or(0, |v| v.0.len()), values - 1);
        // Anything else is left as it was.
        let other = literal_limit(bound.clone(), 26);
        assert_eq!(other.sql, bound.sql);
        assert_eq!(other.values, bound.values);
    }
}
