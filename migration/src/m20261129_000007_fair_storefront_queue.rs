//! A bounded, fair storefront queue: each queued request knows its email
//! (folded per mode: one queued request per email), the client's address
//! prefix and its place among that prefix's queued requests; audit entries
//! know which queued request they became part of.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            ColumnDef::new(ResetRequests::EmailKey)
                .string_len(254)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(ResetRequests::ClientPrefix)
                .string_len(64)
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(ResetRequests::Position)
                .integer()
                .not_null()
                .default(1)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ResetRequests::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ResetAuditEvents::Table)
                    .add_column(
                        ColumnDef::new(ResetAuditEvents::RequestKey)
                            .string_len(64)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // Requests queued before the upgrade: fold duplicates, oldest kept.
        db.execute_unprepared("UPDATE reset_requests SET email_key = lower(email)")
            .await?;
        db.execute_unprepared(
            "DELETE FROM reset_requests WHERE id NOT IN \
             (SELECT MIN(id) FROM reset_requests GROUP BY mode, email_key)",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("reset_requests_mode_email_key")
                    .table(ResetRequests::Table)
                    .col(ResetRequests::Mode)
                    .col(ResetRequests::EmailKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reset_requests_prefix")
                    .table(ResetRequests::Table)
                    .col(ResetRequests::ClientPrefix)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reset_requests_position")
                    .table(ResetRequests::Table)
                    .col(ResetRequests::Position)
                    .col(ResetRequests::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reset_audit_events_request_key")
                    .table(ResetAuditEvents::Table)
                    .col(ResetAuditEvents::RequestKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in [
            "reset_requests_mode_email_key",
            "reset_requests_prefix",
            "reset_requests_position",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(ResetRequests::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("reset_audit_events_request_key")
                    .table(ResetAuditEvents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            ResetRequests::EmailKey,
            ResetRequests::ClientPrefix,
            ResetRequests::Position,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ResetRequests::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ResetAuditEvents::Table)
                    .drop_column(ResetAuditEvents::RequestKey)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ResetRequests {
    Table,
    Mode,
    EmailKey,
    ClientPrefix,
    Position,
    Id,
}

#[derive(DeriveIden)]
enum ResetAuditEvents {
    Table,
    RequestKey,
}
