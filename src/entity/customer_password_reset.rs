//! The `customer_password_resets` table.

use sea_orm::entity::prelude::*;

use crate::domain::Mode;

/// One reset request. The token is stored only as `token_digest`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_password_resets")]
pub struct Model {
    /// Internal key; never shown.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Public id (`cpr_…`).
    #[sea_orm(unique)]
    pub public_id: String,
    /// `test` or `live`.
    pub mode: Mode,
    /// The customer (internal key).
    pub customer_id: i64,
    /// The email the reset was requested for.
    pub customer_email: String,
    /// Hex SHA-256 of the token.
    #[sea_orm(unique)]
    pub token_digest: String,
    /// When the token stops working.
    pub expires_at: DateTimeUtc,
    /// When the password was reset with this token; `None` while unused.
    pub reset_password_at: Option<DateTimeUtc>,
    /// When the reset was superseded by a newer one or voided by another reset.
    pub invalidated_at: Option<DateTimeUtc>,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// Where the reference comes from (Commerce Layer's `reference_origin`).
    pub reference_origin: Option<String>,
    /// A JSON object.
    pub metadata: Json,
    /// When the reset was created.
    pub created_at: DateTimeUtc,
    /// When the reset last changed.
    pub updated_at: DateTimeUtc,
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

/// A reset as the reads show it: every column but `token_digest`, which no
/// read needs (only completing a reset looks a token up, by its digest), so
/// it is never selected for one.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    /// Internal key; never shown.
    pub id: i64,
    /// Public id (`cpr_…`).
    pub public_id: String,
    /// `test` or `live`.
    pub mode: Mode,
    /// The customer (internal key).
    pub customer_id: i64,
    /// The email the reset was requested for.
    pub customer_email: String,
    /// When the token stops working.
    pub expires_at: DateTimeUtc,
    /// When the password was reset with this token; `None` while unused.
    pub reset_password_at: Option<DateTimeUtc>,
    /// When the reset was superseded by a newer one or voided by another reset.
    pub invalidated_at: Option<DateTimeUtc>,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// Where the reference comes from.
    pub reference_origin: Option<String>,
    /// A JSON object.
    pub metadata: Json,
    /// When the reset was created.
    pub created_at: DateTimeUtc,
    /// When the reset last changed.
    pub updated_at: DateTimeUtc,
}

impl Shown {
    /// The columns of a [`Shown`], in the order [`Shown::at_position`] reads them.
    pub const COLUMNS: [Column; 13] = [
        Column::Id,
        Column::PublicId,
        Column::Mode,
        Column::CustomerId,
        Column::CustomerEmail,
        Column::ExpiresAt,
        Column::ResetPasswordAt,
        Column::InvalidatedAt,
        Column::Reference,
        Column::ReferenceOrigin,
        Column::Metadata,
        Column::CreatedAt,
        Column::UpdatedAt,
    ];

    /// The reset from the columns of `row` from position `at` on, in the
    /// order of [`Shown::COLUMNS`]: read by position, with no column name
    /// built or looked up.
    ///
    /// # Errors
    /// [`DbErr`] when a column is missing or of another type.
    pub fn at_position(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Ok(Self {
            id: row.try_get_by_index(at)?,
            public_id: row.try_get_by_index(at + 1)?,
            mode: row.try_get_by_index(at + 2)?,
            customer_id: row.try_get_by_index(at + 3)?,
            customer_email: row.try_get_by_index(at + 4)?,
            expires_at: row.try_get_by_index(at + 5)?,
            reset_password_at: row.try_get_by_index(at + 6)?,
            invalidated_at: row.try_get_by_index(at + 7)?,
            reference: row.try_get_by_index(at + 8)?,
            reference_origin: row.try_get_by_index(at + 9)?,
            metadata: row.try_get_by_index(at + 10)?,
            created_at: row.try_get_by_index(at + 11)?,
            updated_at: row.try_get_by_index(at + 12)?,
        })
    }
}

impl From<Model> for Shown {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            public_id: m.public_id,
            mode: m.mode,
            customer_id: m.customer_id,
            customer_email: m.customer_email,
            expires_at: m.expires_at,
            reset_password_at: m.reset_password_at,
            invalidated_at: m.invalidated_at,
            reference: m.reference,
            reference_origin: m.reference_origin,
            metadata: m.metadata,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}
