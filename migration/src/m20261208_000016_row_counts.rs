//! Row counts kept by the database: how many customers and resets each mode
//! has, so that an unfiltered list's total (JSON:API's `meta.record_count`)
//! is read from a few rows instead of counted over the whole table.
//!
//! Triggers keep the counts, so every insert and delete counts, cascades
//! and other versions' writes included. On PostgreSQL a mode's count is
//! split over 16 rows (by row id), so concurrent inserts rarely wait on the
//! same row, and each statement updates its rows in one order, so two
//! deletes cannot deadlock on them; SQLite writes one at a time, so one row
//! per mode. The counts start from the rows there are, in the transaction
//! that adds the triggers (on both databases), so no row is counted twice
//! or missed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables counted.
const TABLES: [&str; 2] = ["customers", "customer_password_resets"];

/// The modes a row can have.
const MODES: [&str; 2] = ["test", "live"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// On SQLite too: the triggers and the first counts land together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let create = Table::create()
            .table(RowCounts::Table)
            .col(
                ColumnDef::new(RowCounts::TableName)
                    .string_len(64)
                    .not_null(),
            )
            .col(ColumnDef::new(RowCounts::Mode).string_len(10).not_null())
            .col(ColumnDef::new(RowCounts::Shard).integer().not_null())
            .col(ColumnDef::new(RowCounts::N).big_integer().not_null())
            .primary_key(
                Index::create()
                    .col(RowCounts::TableName)
                    .col(RowCounts::Mode)
                    .col(RowCounts::Shard),
            )
            .to_owned();
        manager.create_table(create).await?;
        let db = manager.get_connection();
        let shards = match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(POSTGRES_FUNCTION).await?;
                for table in TABLES {
                    for (event, transition) in [("INSERT", "NEW"), ("DELETE", "OLD")] {
                        let name = format!("{table}_counted_{}", event.to_lowercase());
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {name} AFTER {event} ON {table} \
                             REFERENCING {transition} TABLE AS changed \
                             FOR EACH STATEMENT EXECUTE FUNCTION count_changed_rows()"
                        ))
                        .await?;
                    }
                }
                16
            }
            _ => {
                for table in TABLES {
                    for (event, row, sign) in [("INSERT", "NEW", "+"), ("DELETE", "OLD", "-")] {
                        let name = format!("{table}_counted_{}", event.to_lowercase());
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN \
                             UPDATE row_counts SET n = n {sign} 1 \
                             WHERE table_name = '{table}' AND mode = {row}.mode AND shard = 0; \
                             END"
                        ))
                        .await?;
                    }
                }
                1
            }
        };
        for table in TABLES {
            for mode in MODES {
                for shard in 0..shards {
                    db.execute_unprepared(&format!(
                        "INSERT INTO row_counts (table_name, mode, shard, n) \
                         SELECT '{table}', '{mode}', {shard}, COUNT(*) FROM {table} \
                         WHERE mode = '{mode}' AND id % {shards} = {shard}"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in TABLES {
            for event in ["insert", "delete"] {
                let name = format!("{table}_counted_{event}");
                let drop = match db.get_database_backend() {
                    DbBackend::Postgres => format!("DROP TRIGGER {name} ON {table}"),
                    _ => format!("DROP TRIGGER {name}"),
                };
                db.execute_unprepared(&drop).await?;
            }
        }
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION count_changed_rows()")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(RowCounts::Table).to_owned())
            .await
    }
}

/// Adds (on insert) or takes away (on delete) the statement's rows from
/// their table's counts, one count row at a time in key order.
const POSTGRES_FUNCTION: &str = "\
CREATE FUNCTION count_changed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_rows record;
    direction bigint := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    FOR changed_rows IN
        SELECT mode, (id % 16)::integer AS shard, COUNT(*) AS n FROM changed
        GROUP BY 1, 2 ORDER BY 1, 2
    LOOP
        UPDATE row_counts SET n = row_counts.n + direction * changed_rows.n
        WHERE table_name = TG_TABLE_NAME AND mode = changed_rows.mode
          AND shard = changed_rows.shard;
    END LOOP;
    RETURN NULL;
END
$$";

#[derive(DeriveIden)]
enum RowCounts {
    Table,
    TableName,
    Mode,
    Shard,
    N,
}
