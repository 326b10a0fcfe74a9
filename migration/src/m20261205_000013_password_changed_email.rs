//! The outbox of emails to customers carries a second kind besides the reset
//! link: "your password was changed", sent after a completed reset. It holds
//! no token; it records the network the change came from, when known.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            ColumnDef::new(ResetEmails::Kind)
                .string_len(24)
                .not_null()
                .default("reset")
                .to_owned(),
            ColumnDef::new(ResetEmails::ChangedFrom)
                .string_len(64)
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ResetEmails::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DELETE FROM reset_emails WHERE kind <> 'reset'")
            .await?;
        for column in [ResetEmails::Kind, ResetEmails::ChangedFrom] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ResetEmails::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ResetEmails {
    Table,
    Kind,
    ChangedFrom,
}
