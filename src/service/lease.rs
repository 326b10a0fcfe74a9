//! Leases: how background workers in several processes share a queue table
//! without taking one row twice. A worker marks up to a batch of free, due
//! rows with a lease name of its own and a time the lease runs out; a lease
//! that ran out (its process died) frees its rows again. On PostgreSQL the
//! rows are picked `FOR UPDATE SKIP LOCKED`, so workers do not wait on each
//! other; SQLite runs one write at a time anyway.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
    sea_query::{Expr, LockBehavior, LockType},
};

use super::{Clock, Result};
use crate::domain::PublicId;

/// A table whose rows workers lease: it has an id, a `locked_until` time and
/// a `locked_by` lease name.
pub(crate) trait Leased: EntityTrait {
    /// The primary key column.
    fn id_column() -> Self::Column;
    /// When the current lease runs out (`NULL` when never leased).
    fn locked_until_column() -> Self::Column;
    /// The name of the lease that holds the row.
    fn locked_by_column() -> Self::Column;
}

/// Runs `work` on the rows the lease named `lease` holds, extending the
/// lease to `length` past `clock`'s time every `every` until `work` ends: so
/// a lease can be as short as one attempt and a margin, however long a batch
/// takes, and a crashed worker's rows come free that soon after its last
/// renewal. A failed renewal is logged; the work goes on.
pub(crate) async fn holding<E: Leased, T>(
    db: &DatabaseConnection,
    lease: &str,
    clock: &dyn Clock,
    length: chrono::Duration,
    every: std::time::Duration,
    work: impl Future<Output = T>,
) -> T {
    let renewing = async {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = renew::<E>(db, lease, clock.now() + length).await {
                tracing::warn!(error = %e, table = E::default().table_name(), "renewing a lease failed");
            }
        }
    };
    tokio::select! {
        done = work => done,
        () = renewing => unreachable!("renewing never ends"),
    }
}

/// Extends the lease named `lease` to `until`, on the rows it still holds.
async fn renew<E: Leased>(
    db: &DatabaseConnection,
    lease: &str,
    until: DateTime<Utc>,
) -> Result<()> {
    E::update_many()
        .col_expr(E::locked_until_column(), Expr::value(until))
        .filter(E::locked_by_column().eq(lease))
        .exec(db)
        .await?;
    Ok(())
}

/// Leases up to `batch` rows matching `due` that no live lease holds at
/// `now`, first by the columns of `order` (ascending), until `until`;
/// returns them in that order.
///
/// # Errors
/// [`super::Error::Database`] if a statement fails.
pub(crate) async fn claim<E: Leased>(
    db: &DatabaseConnection,
    due: Condition,
    order: &[E::Column],
    batch: u64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<E::Model>> {
    let free = Condition::any()
        .add(E::locked_until_column().is_null())
        .add(E::locked_until_column().lte(now));
    let picked = E::find()
        .select_only()
        .column(E::id_column())
        .filter(due.clone())
        .filter(free.clone());
    let mut picked = order
        .iter()
        .fold(picked, |query, column| query.order_by_asc(*column))
        .limit(batch)
        .into_query();
    if db.get_database_backend() == DbBackend::Postgres {
        picked.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let lease = PublicId::generate("lease").into_string();
    // The conditions again outside the subquery: on PostgreSQL a row another
    // worker leased meanwhile is re-checked here and skipped.
    E::update_many()
        .col_expr(E::locked_until_column(), Expr::value(until))
        .col_expr(E::locked_by_column(), Expr::value(lease.clone()))
        .filter(E::id_column().in_subquery(picked))
        .filter(due)
        .filter(free)
        .exec(db)
        .await?;
    let claimed = E::find().filter(E::locked_by_column().eq(lease));
    Ok(order
        .iter()
        .fold(claimed, |query, column| query.order_by_asc(*column))
        .all(db)
        .await?)
}
