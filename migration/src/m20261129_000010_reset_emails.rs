//! The reset email: one row per reset to mail, written in the reset's
//! transaction (an outbox, like webhook deliveries), with its sealed token
//! until sent or expired; and the page and language a storefront asked for,
//! kept with its queued request.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn time<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn time_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn text<T: IntoIden>(col: T, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).not_null().to_owned()
}

fn text_null<T: IntoIden>(col: T, len: u32) -> ColumnDef {
    ColumnDef::new(col).string_len(len).null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ResetEmails::Table)
                    .col(
                        ColumnDef::new(ResetEmails::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(ResetEmails::PublicId, 40).unique_key().to_owned())
                    .col(text(ResetEmails::Mode, 10))
                    .col(
                        ColumnDef::new(ResetEmails::ResetId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(text(ResetEmails::Recipient, 254))
                    .col(text(ResetEmails::Locale, 35))
                    .col(text_null(ResetEmails::RedirectUrl, 2048))
                    .col(text(ResetEmails::Status, 20))
                    .col(
                        ColumnDef::new(ResetEmails::AttemptCount)
                            .integer()
                            .not_null(),
                    )
                    .col(time(ResetEmails::NextAttemptAt))
                    .col(time_null(ResetEmails::LockedUntil))
                    .col(text_null(ResetEmails::LockedBy, 40))
                    // The sealed reset token: cleared once sent, given up, or expired.
                    .col(text_null(ResetEmails::Token, 200))
                    .col(time(ResetEmails::TokenExpiresAt))
                    .col(time_null(ResetEmails::SentAt))
                    .col(text_null(ResetEmails::LastError, 500))
                    .col(time(ResetEmails::CreatedAt))
                    .col(time(ResetEmails::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("reset_emails_reset_id_fkey")
                            .from(ResetEmails::Table, ResetEmails::ResetId)
                            .to(CustomerPasswordResets::Table, CustomerPasswordResets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reset_emails_due")
                    .table(ResetEmails::Table)
                    .col(ResetEmails::Status)
                    .col(ResetEmails::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reset_emails_reset_id")
                    .table(ResetEmails::Table)
                    .col(ResetEmails::ResetId)
                    .to_owned(),
            )
            .await?;
        // SQLite takes one column per ALTER TABLE.
        for column in [
            text_null(ResetRequests::RedirectUrl, 2048),
            text_null(ResetRequests::Locale, 35),
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
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ResetRequests::RedirectUrl, ResetRequests::Locale] {
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
            .drop_table(Table::drop().table(ResetEmails::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ResetEmails {
    Table,
    Id,
    PublicId,
    Mode,
    ResetId,
    Recipient,
    Locale,
    RedirectUrl,
    Status,
    AttemptCount,
    NextAttemptAt,
    LockedUntil,
    LockedBy,
    Token,
    TokenExpiresAt,
    SentAt,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CustomerPasswordResets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ResetRequests {
    Table,
    RedirectUrl,
    Locale,
}
