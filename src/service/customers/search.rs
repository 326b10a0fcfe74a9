//! Customers as Commerce Layer's REST API lists them: its filters and sorts,
//! numbered pages with a total.

use sea_orm::ConnectionTrait;

use super::shown;
use crate::{
    domain::Mode,
    entity::{Projection, customer},
    service::Result,
};

/// What a customer can be searched and sorted by.
pub const SEARCHABLE: [crate::service::search::Attribute<customer::Column>; 6] = {
    use crate::service::search::{Attribute, Kind};
    use customer::Column as C;
    [
        Attribute {
            name: "id",
            column: C::PublicId,
            kind: Kind::Text,
        },
        Attribute {
            name: "email",
            column: C::Email,
            kind: Kind::Text,
        },
        Attribute {
            name: "reference",
            column: C::Reference,
            kind: Kind::Text,
        },
        Attribute {
            name: "created_at",
            column: C::CreatedAt,
            kind: Kind::Time,
        },
        Attribute {
            name: "updated_at",
            column: C::UpdatedAt,
            kind: Kind::Time,
        },
        Attribute {
            name: "password_changed_at",
            column: C::PasswordChangedAt,
            kind: Kind::Time,
        },
    ]
};

/// A numbered page of the customers of `mode` that `query` asks for
/// (Commerce Layer's filters and sorts), without password digests, and the
/// whole list's size.
///
/// # Errors
/// [`Error::BadRequest`] naming an attribute that cannot be filtered or
/// sorted on, or a bad value; [`Error::Database`] otherwise.
pub async fn search(
    db: &impl ConnectionTrait,
    mode: Mode,
    query: &crate::service::search::Search,
) -> Result<crate::service::search::Found<customer::Shown>> {
    let decode = |row: &sea_orm::QueryResult| customer::Shown::at_position(row, 0);
    let (by_mode, key) = (customer::Column::Mode, customer::Column::PublicId);
    crate::service::search::run(db, mode, by_mode, &SEARCHABLE, key, query, shown, decode).await
}
