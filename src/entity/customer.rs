//! The `customers` table.

use sea_orm::entity::prelude::*;

/// One customer of one mode.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`cus_…`).
    #[sea_orm(unique)]
    pub public_id: String,
    /// `test` or `live`.
    pub mode: String,
    /// The address as given.
    pub email: String,
    /// The address in lower case; unique per mode.
    pub email_key: String,
    /// The Argon2id PHC string; `None` for guests.
    pub password_digest: Option<String>,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// When the password was last set (creation with a password, or a reset).
    pub password_changed_at: Option<DateTimeUtc>,
    /// A JSON object.
    pub metadata: Json,
    /// When the customer was created.
    pub created_at: DateTimeUtc,
    /// When the customer last changed.
    pub updated_at: DateTimeUtc,
}

/// A customer has many password resets.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The customer's resets.
    #[sea_orm(has_many = "super::customer_password_reset::Entity")]
    PasswordResets,
}

impl Related<super::customer_password_reset::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PasswordResets.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
