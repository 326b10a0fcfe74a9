//! The `customer_password_resets` table.

use sea_orm::entity::prelude::*;

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
    pub mode: String,
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

impl Model {
    /// The model from the columns of `row` from position `at` on, in the
    /// order of [`Column`] (the order `Entity::find()` selects them in): read
    /// by position, with no column name built or looked up.
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
            token_digest: row.try_get_by_index(at + 5)?,
            expires_at: row.try_get_by_index(at + 6)?,
            reset_password_at: row.try_get_by_index(at + 7)?,
            invalidated_at: row.try_get_by_index(at + 8)?,
            reference: row.try_get_by_index(at + 9)?,
            reference_origin: row.try_get_by_index(at + 10)?,
            metadata: row.try_get_by_index(at + 11)?,
            created_at: row.try_get_by_index(at + 12)?,
            updated_at: row.try_get_by_index(at + 13)?,
        })
    }
}
