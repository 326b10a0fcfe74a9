//! One-time codes beside reset links: a reset records how it was delivered
//! (`link`, `code` or `link_and_code`), and, when it has a code, the code's
//! keyed digest (never the code), when it stops working and how many wrong
//! codes were tried. A storefront's queued request records the delivery it
//! asked for.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        let resets = [
            ColumnDef::new(Resets::Delivery)
                .string_len(16)
                .not_null()
                .default("link")
                .to_owned(),
            ColumnDef::new(Resets::CodeDigest)
                .string_len(128)
                .null()
                .to_owned(),
            ColumnDef::new(Resets::CodeExpiresAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Resets::CodeAttempts)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ];
        for column in resets {
            let alter = Table::alter()
                .table(Resets::Table)
                .add_column(column)
                .to_owned();
            manager.alter_table(alter).await?;
        }
        let delivery = ColumnDef::new(ResetRequests::Delivery)
            .string_len(16)
            .not_null()
            .default("link")
            .to_owned();
        let alter = Table::alter()
            .table(ResetRequests::Table)
            .add_column(delivery)
            .to_owned();
        manager.alter_table(alter).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let resets = [
            Resets::Delivery,
            Resets::CodeDigest,
            Resets::CodeExpiresAt,
            Resets::CodeAttempts,
        ];
        for column in resets {
            let alter = Table::alter()
                .table(Resets::Table)
                .drop_column(column)
                .to_owned();
            manager.alter_table(alter).await?;
        }
        let alter = Table::alter()
            .table(ResetRequests::Table)
            .drop_column(ResetRequests::Delivery)
            .to_owned();
        manager.alter_table(alter).await
    }
}

#[derive(DeriveIden)]
enum Resets {
    #[sea_orm(iden = "customer_password_resets")]
    Table,
    Delivery,
    CodeDigest,
    CodeExpiresAt,
    CodeAttempts,
}

#[derive(DeriveIden)]
enum ResetRequests {
    Table,
    Delivery,
}
