//! Trace links: the work a request leaves to the background jobs (a queued
//! storefront request, an email, a webhook event) keeps the `traceparent`
//! of the request's span, so the job's span can link back to it. Empty when
//! traces are not exported, or the request's trace was not sampled.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A `traceparent` is 55 characters (version 00).
const TRACEPARENT: u32 = 55;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            let alter = Table::alter()
                .table(table)
                .add_column(
                    ColumnDef::new(Traced::Traceparent)
                        .string_len(TRACEPARENT)
                        .null(),
                )
                .to_owned();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            let alter = Table::alter()
                .table(table)
                .drop_column(Traced::Traceparent)
                .to_owned();
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}

/// The tables whose rows a background job finishes.
fn tables() -> [Traced; 3] {
    [
        Traced::ResetRequests,
        Traced::ResetEmails,
        Traced::WebhookEvents,
    ]
}

#[derive(DeriveIden)]
enum Traced {
    ResetRequests,
    ResetEmails,
    WebhookEvents,
    Traceparent,
}
