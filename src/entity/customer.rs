//! The `customers` table.

use sea_orm::{entity::prelude::*, sea_query::ExprTrait};

use crate::domain::Mode;

super::table! {
    /// One customer of one mode.
    #[sea_orm(table_name = "customers")]
    pub struct Model;

    /// A customer as the reads show it: every column but the password digest,
    /// which no read shows; instead of it, whether there is one.
    pub struct Shown {
        /// Internal key; never shown.
        #[sea_orm(primary_key)]
        id: i64 = Id,
        /// Public id (`cus_…`).
        #[sea_orm(unique)]
        public_id: String = PublicId,
        /// `test` or `live`.
        mode: Mode = Mode,
        /// The address as given.
        email: String = Email,
        /// The address in lower case; unique per mode (what lists sort by).
        email_key: String = EmailKey,
        /// The Argon2id PHC string; `None` for guests.
        hidden password_digest: Option<String> = PasswordDigest,
        /// The merchant's reference.
        reference: Option<String> = Reference,
        /// When the password was last set (creation with a password, or a reset).
        password_changed_at: Option<DateTimeUtc> = PasswordChangedAt,
        /// A JSON object.
        metadata: Json = Metadata,
        /// When the customer was created.
        created_at: DateTimeUtc = CreatedAt,
        /// When the customer last changed.
        updated_at: DateTimeUtc = UpdatedAt,
    }
    extra {
        /// Whether the customer has a password (`password_digest IS NOT NULL`).
        has_password: bool = Expr::col((Entity, Column::PasswordDigest)).is_not_null(),
    }
}

super::projection! {
    /// The least of a customer a read may ask for: its keys and its email.
    pub struct Brief {
        /// Internal key; never shown.
        id: i64 = Id,
        /// Public id (`cus_…`).
        public_id: String = PublicId,
        /// The address as given.
        email: String = Email,
    }
}

impl Brief {
    /// As a [`Shown`] of `mode` (the reader's: a read never crosses modes),
    /// the columns it did not read at placeholder values: for an answer
    /// that shows none of them.
    pub fn into_shown(self, mode: Mode) -> Shown {
        Shown {
            id: self.id,
            public_id: self.public_id,
            mode,
            email: self.email,
            email_key: String::new(),
            reference: None,
            password_changed_at: None,
            metadata: Json::Null,
            created_at: DateTimeUtc::UNIX_EPOCH,
            updated_at: DateTimeUtc::UNIX_EPOCH,
            has_password: false,
        }
    }
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
