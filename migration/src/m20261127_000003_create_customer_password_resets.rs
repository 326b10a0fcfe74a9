//! `customer_password_resets`: reset requests; the token is kept only as a digest.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Resets::Table)
                    .col(
                        ColumnDef::new(Resets::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Resets::PublicId)
                            .string_len(40)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Resets::Mode).string_len(10).not_null())
                    .col(ColumnDef::new(Resets::CustomerId).big_integer().not_null())
                    .col(
                        ColumnDef::new(Resets::CustomerEmail)
                            .string_len(254)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Resets::TokenDigest)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Resets::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Resets::ResetPasswordAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Resets::InvalidatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Resets::Reference).string_len(255).null())
                    .col(
                        ColumnDef::new(Resets::ReferenceOrigin)
                            .string_len(255)
                            .null(),
                    )
                    .col(ColumnDef::new(Resets::Metadata).json_binary().not_null())
                    .col(
                        ColumnDef::new(Resets::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Resets::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("customer_password_resets_customer_id_fkey")
                            .from(Resets::Table, Resets::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "customer_password_resets_token_digest",
                vec![Resets::TokenDigest],
                true,
            ),
            (
                "customer_password_resets_mode_created_at",
                vec![Resets::Mode, Resets::CreatedAt, Resets::PublicId],
                false,
            ),
            (
                "customer_password_resets_customer_id",
                vec![Resets::CustomerId, Resets::CreatedAt],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Resets::Table);
            for col in cols {
                index.col(col);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Resets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Resets {
    #[sea_orm(iden = "customer_password_resets")]
    Table,
    Id,
    PublicId,
    Mode,
    CustomerId,
    CustomerEmail,
    TokenDigest,
    ExpiresAt,
    ResetPasswordAt,
    InvalidatedAt,
    Reference,
    ReferenceOrigin,
    Metadata,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}
