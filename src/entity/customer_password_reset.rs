//! The `customer_password_resets` table.

use sea_orm::entity::prelude::*;

use crate::domain::{Delivery, Mode};

super::table! {
    /// One reset request. The token is stored only as `token_digest`, the
    /// code only as `code_digest`.
    #[sea_orm(table_name = "customer_password_resets")]
    pub struct Model;

    /// A reset as the reads show it: every column but `token_digest` and
    /// `code_digest`, which no read needs (only completing a reset looks them
    /// up), so they are never selected for one.
    pub struct Shown {
        /// Internal key; never shown.
        #[sea_orm(primary_key)]
        id: i64 = Id,
        /// Public id (`cpr_…`).
        #[sea_orm(unique)]
        public_id: String = PublicId,
        /// `test` or `live`.
        mode: Mode = Mode,
        /// The customer (internal key).
        customer_id: i64 = CustomerId,
        /// The email the reset was requested for.
        customer_email: String = CustomerEmail,
        /// Hex SHA-256 of the token.
        #[sea_orm(unique)]
        hidden token_digest: String = TokenDigest,
        /// When the token stops working.
        expires_at: DateTimeUtc = ExpiresAt,
        /// When the password was reset with this token; `None` while unused.
        reset_password_at: Option<DateTimeUtc> = ResetPasswordAt,
        /// When the reset was superseded by a newer one or voided by another reset.
        invalidated_at: Option<DateTimeUtc> = InvalidatedAt,
        /// The merchant's reference.
        reference: Option<String> = Reference,
        /// Where the reference comes from (Commerce Layer's `reference_origin`).
        reference_origin: Option<String> = ReferenceOrigin,
        /// A JSON object.
        metadata: Json = Metadata,
        /// When the reset was created.
        created_at: DateTimeUtc = CreatedAt,
        /// When the reset last changed.
        updated_at: DateTimeUtc = UpdatedAt,
        /// How the reset reaches its customer: a link, a code, or both.
        delivery: Delivery = Delivery,
        /// The code's keyed digest (see `service::codes`), never the code;
        /// `None` for a reset without a code.
        hidden code_digest: Option<String> = CodeDigest,
        /// When the code stops working; `None` without a code.
        code_expires_at: Option<DateTimeUtc> = CodeExpiresAt,
        /// Wrong codes tried so far; the last one allowed voids the reset.
        code_attempts: i32 = CodeAttempts,
    }
}

super::projection! {
    /// What most reads of resets ask for: ids, the email, the times and so
    /// the status. What it leaves out (the reference and its origin, the
    /// metadata, the delivery and its code) is read only when asked.
    pub struct Brief {
        /// Internal key; never shown.
        id: i64 = Id,
        /// Public id (`cpr_…`).
        public_id: String = PublicId,
        /// The customer (internal key).
        customer_id: i64 = CustomerId,
        /// The email the reset was requested for.
        customer_email: String = CustomerEmail,
        /// When the token stops working.
        expires_at: DateTimeUtc = ExpiresAt,
        /// When the password was reset with this token.
        reset_password_at: Option<DateTimeUtc> = ResetPasswordAt,
        /// When the reset was superseded or voided.
        invalidated_at: Option<DateTimeUtc> = InvalidatedAt,
        /// When the reset was created.
        created_at: DateTimeUtc = CreatedAt,
        /// When the reset last changed.
        updated_at: DateTimeUtc = UpdatedAt,
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
            customer_id: self.customer_id,
            customer_email: self.customer_email,
            expires_at: self.expires_at,
            reset_password_at: self.reset_password_at,
            invalidated_at: self.invalidated_at,
            reference: None,
            reference_origin: None,
            metadata: Json::Null,
            created_at: self.created_at,
            updated_at: self.updated_at,
            delivery: Delivery::Link,
            code_expires_at: None,
            code_attempts: 0,
        }
    }
}

/// A reset belongs to a customer.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The customer whose password the reset changes.
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "Column::CustomerId",
        to = "super::customer::Column::Id",
        on_delete = "Cascade"
    )]
    Customer,
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
