//! The storefront queue knows each request's wider networks as well as its
//! address prefix: an IPv4 /16 and /24, an IPv6 /32 and /48. A full queue
//! makes room from the largest group at the widest level, so a flood from
//! many addresses of one network cannot hold every place; each mode has its
//! own queue, so the indexes lead with the mode.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The new indexes: name and columns after the mode.
const INDEXES: [(&str, ResetRequests); 3] = [
    ("reset_requests_mode_network", ResetRequests::ClientNetwork),
    ("reset_requests_mode_subnet", ResetRequests::ClientSubnet),
    ("reset_requests_mode_prefix", ResetRequests::ClientPrefix),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [ResetRequests::ClientNetwork, ResetRequests::ClientSubnet] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ResetRequests::Table)
                        .add_column(ColumnDef::new(column).string_len(64).not_null().default(""))
                        .to_owned(),
                )
                .await?;
        }
        // Requests queued before the upgrade count as networks of their own.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE reset_requests SET client_network = client_prefix, client_subnet = client_prefix",
            )
            .await?;
        for (name, column) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ResetRequests::Table)
                        .col(ResetRequests::Mode)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(ResetRequests::Table)
                        .to_owned(),
                )
                .await?;
        }
        for column in [ResetRequests::ClientNetwork, ResetRequests::ClientSubnet] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ResetRequests::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ResetRequests {
    Table,
    Mode,
    ClientPrefix,
    ClientNetwork,
    ClientSubnet,
}
