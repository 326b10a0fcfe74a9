//! A bounded store of persisted queries: each knows its size and when it was
//! last used, so the least recently used are evicted first.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            ColumnDef::new(PersistedQueries::Bytes)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(PersistedQueries::LastUsedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PersistedQueries::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE persisted_queries SET bytes = length(query), last_used_at = created_at",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("persisted_queries_last_used_at")
                    .table(PersistedQueries::Table)
                    .col(PersistedQueries::LastUsedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("persisted_queries_last_used_at")
                    .table(PersistedQueries::Table)
                    .to_owned(),
            )
            .await?;
        for column in [PersistedQueries::Bytes, PersistedQueries::LastUsedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PersistedQueries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum PersistedQueries {
    Table,
    Bytes,
    LastUsedAt,
}
