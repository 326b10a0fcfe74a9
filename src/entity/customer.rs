//! The `customers` table.

use sea_orm::entity::prelude::*;

use crate::domain::Mode;

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
    pub mode: Mode,
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

/// A customer as the reads show it: every column but the password digest,
/// which no read shows; instead of it, whether there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    /// Internal key; never shown.
    pub id: i64,
    /// Public id (`cus_…`).
    pub public_id: String,
    /// `test` or `live`.
    pub mode: Mode,
    /// The address as given.
    pub email: String,
    /// The address in lower case (what lists sort by).
    pub email_key: String,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// When the password was last set.
    pub password_changed_at: Option<DateTimeUtc>,
    /// A JSON object.
    pub metadata: Json,
    /// When the customer was created.
    pub created_at: DateTimeUtc,
    /// When the customer last changed.
    pub updated_at: DateTimeUtc,
    /// Whether the customer has a password (`password_digest IS NOT NULL`).
    pub has_password: bool,
}

impl Shown {
    /// The columns of a [`Shown`], in the order [`Shown::at_position`] reads
    /// them; [`Shown::has_password`] follows them.
    pub const COLUMNS: [Column; 10] = [
        Column::Id,
        Column::PublicId,
        Column::Mode,
        Column::Email,
        Column::EmailKey,
        Column::Reference,
        Column::PasswordChangedAt,
        Column::Metadata,
        Column::CreatedAt,
        Column::UpdatedAt,
    ];

    /// Whether the customer has a password, read without the digest.
    pub fn has_password() -> Expr {
        use sea_orm::sea_query::ExprTrait;
        Expr::col((Entity, Column::PasswordDigest)).is_not_null()
    }

    /// The customer from the columns of `row` from position `at` on, in the
    /// order of [`Shown::COLUMNS`] then [`Shown::has_password`]; `None` when
    /// the row has no customer there (the empty side of a left join).
    ///
    /// # Errors
    /// [`DbErr`] when a column is missing or of another type.
    pub fn at_position(row: &QueryResult, at: usize) -> Result<Option<Self>, DbErr> {
        let Some(id) = row.try_get_by_index::<Option<i64>>(at)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id,
            public_id: row.try_get_by_index(at + 1)?,
            mode: row.try_get_by_index(at + 2)?,
            email: row.try_get_by_index(at + 3)?,
            email_key: row.try_get_by_index(at + 4)?,
            reference: row.try_get_by_index(at + 5)?,
            password_changed_at: row.try_get_by_index(at + 6)?,
            metadata: row.try_get_by_index(at + 7)?,
            created_at: row.try_get_by_index(at + 8)?,
            updated_at: row.try_get_by_index(at + 9)?,
            has_password: row.try_get_by_index(at + 10)?,
        }))
    }
}

/// The least of a customer a read may ask for: its keys and its email.
#[derive(Clone, Debug, PartialEq)]
pub struct Brief {
    /// Internal key; never shown.
    pub id: i64,
    /// Public id (`cus_…`).
    pub public_id: String,
    /// The address as given.
    pub email: String,
}

impl Brief {
    /// The columns of a [`Brief`], in the order [`Brief::at_position`] reads them.
    pub const COLUMNS: [Column; 3] = [Column::Id, Column::PublicId, Column::Email];

    /// The customer from the columns of `row` from position `at` on, in the
    /// order of [`Brief::COLUMNS`]; `None` when the row has no customer
    /// there (the empty side of a left join).
    ///
    /// # Errors
    /// [`DbErr`] when a column is missing or of another type.
    pub fn at_position(row: &QueryResult, at: usize) -> Result<Option<Self>, DbErr> {
        let Some(id) = row.try_get_by_index::<Option<i64>>(at)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id,
            public_id: row.try_get_by_index(at + 1)?,
            email: row.try_get_by_index(at + 2)?,
        }))
    }
}
