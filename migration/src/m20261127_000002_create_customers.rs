//! `customers`: one row per customer and mode; email unique per mode, case-insensitively.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(
                        ColumnDef::new(Customers::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Customers::PublicId)
                            .string_len(40)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Customers::Mode).string_len(10).not_null())
                    .col(ColumnDef::new(Customers::Email).string_len(254).not_null())
                    // The email folded to lower case: what uniqueness and look-ups use.
                    .col(
                        ColumnDef::new(Customers::EmailKey)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Customers::PasswordDigest).text().null())
                    .col(ColumnDef::new(Customers::Reference).string_len(255).null())
                    .col(ColumnDef::new(Customers::Metadata).json_binary().not_null())
                    .col(
                        ColumnDef::new(Customers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Customers::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("customers_mode_email_key")
                    .table(Customers::Table)
                    .col(Customers::Mode)
                    .col(Customers::EmailKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("customers_mode_created_at")
                    .table(Customers::Table)
                    .col(Customers::Mode)
                    .col(Customers::CreatedAt)
                    .col(Customers::PublicId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Customers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    PublicId,
    Mode,
    Email,
    EmailKey,
    PasswordDigest,
    Reference,
    Metadata,
    CreatedAt,
    UpdatedAt,
}
