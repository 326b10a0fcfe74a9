//! Sealed tokens name the key that sealed them (`v2.KEYID.…`, 108
//! characters, 9 more than before): a webhook delivery's token column widens
//! from 100 to 200 characters, as a reset email's already is. (SQLite does
//! not enforce a string's length: there, nothing changes.)

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Sqlite {
            return Ok(());
        }
        {
            let table = Alias::new("webhook_deliveries");
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .modify_column(ColumnDef::new(Alias::new("token")).string_len(200).null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DbBackend::Sqlite {
            return Ok(());
        }
        {
            let table = Alias::new("webhook_deliveries");
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .modify_column(ColumnDef::new(Alias::new("token")).string_len(100).null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
