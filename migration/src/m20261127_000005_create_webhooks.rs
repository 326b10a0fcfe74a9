//! Webhooks: subscriptions, the transactional outbox of events, one delivery per
//! event and subscription, and every attempt at it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn id<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(id(Webhooks::Id))
                    .col(
                        ColumnDef::new(Webhooks::PublicId)
                            .string_len(40)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Webhooks::Mode).string_len(10).not_null())
                    .col(ColumnDef::new(Webhooks::Topic).string_len(100).not_null())
                    .col(
                        ColumnDef::new(Webhooks::CallbackUrl)
                            .string_len(2048)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Webhooks::IncludeCustomer)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Webhooks::SharedSecret)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Webhooks::ConsecutiveFailures)
                            .integer()
                            .not_null(),
                    )
                    .col(time_null(Webhooks::CircuitOpenedAt))
                    .col(time(Webhooks::CreatedAt))
                    .col(time(Webhooks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhooks_mode_topic")
                    .table(Webhooks::Table)
                    .col(Webhooks::Mode)
                    .col(Webhooks::Topic)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .col(id(WebhookEvents::Id))
                    .col(
                        ColumnDef::new(WebhookEvents::PublicId)
                            .string_len(40)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookEvents::Mode)
                            .string_len(10)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEvents::Topic)
                            .string_len(100)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookEvents::Payload)
                            .json_binary()
                            .not_null(),
                    )
                    .col(time(WebhookEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(id(WebhookDeliveries::Id))
                    .col(
                        ColumnDef::new(WebhookDeliveries::PublicId)
                            .string_len(40)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::EventId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::WebhookId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::Status)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::AttemptCount)
                            .integer()
                            .not_null(),
                    )
                    .col(time(WebhookDeliveries::NextAttemptAt))
                    .col(time_null(WebhookDeliveries::LockedUntil))
                    .col(
                        ColumnDef::new(WebhookDeliveries::LockedBy)
                            .string_len(40)
                            .null(),
                    )
                    // The reset token, for `customer_password_resets.create` only:
                    // cleared once delivered, or when the token expires.
                    .col(
                        ColumnDef::new(WebhookDeliveries::Token)
                            .string_len(100)
                            .null(),
                    )
                    .col(time_null(WebhookDeliveries::TokenExpiresAt))
                    .col(time_null(WebhookDeliveries::DeliveredAt))
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastError)
                            .string_len(500)
                            .null(),
                    )
                    .col(time(WebhookDeliveries::CreatedAt))
                    .col(time(WebhookDeliveries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("webhook_deliveries_event_id_fkey")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                            .to(WebhookEvents::Table, WebhookEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("webhook_deliveries_webhook_id_fkey")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_webhook_id")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(id(WebhookAttempts::Id))
                    .col(
                        ColumnDef::new(WebhookAttempts::DeliveryId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(time(WebhookAttempts::AttemptedAt))
                    .col(ColumnDef::new(WebhookAttempts::StatusCode).integer().null())
                    .col(
                        ColumnDef::new(WebhookAttempts::LatencyMs)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WebhookAttempts::Error)
                            .string_len(500)
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("webhook_attempts_delivery_id_fkey")
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_attempts_delivery_id")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            Webhooks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    PublicId,
    Mode,
    Topic,
    CallbackUrl,
    IncludeCustomer,
    SharedSecret,
    ConsecutiveFailures,
    CircuitOpenedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    PublicId,
    Mode,
    Topic,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    PublicId,
    EventId,
    WebhookId,
    Status,
    AttemptCount,
    NextAttemptAt,
    LockedUntil,
    LockedBy,
    Token,
    TokenExpiresAt,
    DeliveredAt,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    AttemptedAt,
    StatusCode,
    LatencyMs,
    Error,
}
