//! At most one open reset (neither completed nor closed) per customer, held
//! by a partial unique index, so two writers at once cannot both leave a
//! live token. Resets left open by an older version beside a newer one are
//! closed first, at their expiry (they stay expired, or stop working).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE customer_password_resets SET invalidated_at = expires_at \
             WHERE reset_password_at IS NULL AND invalidated_at IS NULL AND id NOT IN \
             (SELECT MAX(id) FROM customer_password_resets \
              WHERE reset_password_at IS NULL AND invalidated_at IS NULL GROUP BY customer_id)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX customer_password_resets_one_open \
             ON customer_password_resets (customer_id) \
             WHERE reset_password_at IS NULL AND invalidated_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX customer_password_resets_one_open")
            .await?;
        Ok(())
    }
}
