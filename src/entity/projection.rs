//! Read projections: what a read selects of a table, generated from one list.
//!
//! A projection is a struct of some of a table's columns (and, after them,
//! expressions), selected in one order and read back by position in the
//! same order, so no column name is built or looked up per row and no offset
//! is numbered by hand. [`table!`] declares a table's `Model` and its shown
//! projection from one list of columns, where `hidden` marks a column no read
//! selects (a digest); [`projection!`] declares a further, smaller projection.

use sea_orm::{DbErr, QueryResult, QuerySelect};

/// What a read selects of a table, and how it reads it back.
pub trait Projection: Sized {
    /// How many values it reads: its columns, then its expressions.
    const WIDTH: usize;

    /// `select` with this projection's values added, in order, after what it
    /// selects already.
    fn select<S: QuerySelect>(select: S) -> S;

    /// The projection from the values of `row` from position `at` on, in
    /// the order [`Projection::select`] added them.
    ///
    /// # Errors
    /// [`DbErr`] when a value is missing or of another type, or is an enum
    /// name the server does not know.
    fn at_position(row: &QueryResult, at: usize) -> Result<Self, DbErr>;

    /// Like [`Projection::at_position`], but `None` when the row has none
    /// there: the empty side of a left join, whose key (a projection's first
    /// value, an `i64`) is NULL.
    ///
    /// # Errors
    /// As [`Projection::at_position`].
    fn joined_at_position(row: &QueryResult, at: usize) -> Result<Option<Self>, DbErr> {
        if row.try_get_by_index::<Option<i64>>(at)?.is_none() {
            return Ok(None);
        }
        Self::at_position(row, at).map(Some)
    }
}

/// Declares a projection: the struct, and its [`Projection`] impl selecting
/// each field's column (`name: Type = Column,`) and then each extra value
/// (`name: Type = expression,`). Used inside an entity's module, whose
/// `Entity` and `Column` it names.
macro_rules! projection {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $column:ident, )*
        }
        $( extra { $( $(#[doc = $edoc:literal])* $extra:ident : $ety:ty = $expr:expr, )* } )?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
            $($( $(#[doc = $edoc])* pub $extra: $ety, )*)?
        }

        impl $crate::entity::Projection for $name {
            const WIDTH: usize =
                [$(stringify!($field),)* $($(stringify!($extra),)*)?].len();

            fn select<S: sea_orm::QuerySelect>(select: S) -> S {
                select
                    $( .column(Column::$column) )*
                    $($( .expr($expr) )*)?
            }

            // The last value read leaves `next` one past the projection.
            #[allow(unused_assignments)]
            fn at_position(
                row: &sea_orm::QueryResult,
                at: usize,
            ) -> Result<Self, sea_orm::DbErr> {
                let mut next = at;
                Ok(Self {
                    $( $field: {
                        let value = row.try_get_by_index(next)?;
                        next += 1;
                        value
                    }, )*
                    $($( $extra: {
                        let value = row.try_get_by_index(next)?;
                        next += 1;
                        value
                    }, )*)?
                })
            }
        }
    };
}

/// Declares a table's SeaORM `Model` and the projection its reads show, from
/// one list of columns (`name: Type = Column,`, with the column's doc comment
/// and `#[sea_orm(…)]` attribute). A column marked `hidden` is in the model
/// only: no read selects it. Without an `extra` block the projection also
/// converts from a whole `Model`.
macro_rules! table {
    (
        $(#[$model_meta:meta])*
        pub struct Model;
        $(#[$shown_meta:meta])*
        pub struct $shown:ident { $($columns:tt)* }
    ) => {
        $crate::entity::projection::table!(@munch
            [$(#[$model_meta])*] [$(#[$shown_meta])*] $shown [] [] [] [$($columns)*]
        );
        impl From<Model> for $shown {
            fn from(model: Model) -> Self {
                $crate::entity::projection::table!(@convert model [] [$($columns)*])
            }
        }
    };
    (
        $(#[$model_meta:meta])*
        pub struct Model;
        $(#[$shown_meta:meta])*
        pub struct $shown:ident { $($columns:tt)* }
        extra { $($extra:tt)* }
    ) => {
        $crate::entity::projection::table!(@munch
            [$(#[$model_meta])*] [$(#[$shown_meta])*] $shown [$($extra)*] [] [] [$($columns)*]
        );
    };

    // One column at a time: every column goes into the model, the ones not
    // `hidden` into the projection too.
    (@munch $model_meta:tt $shown_meta:tt $shown:ident $extra:tt [$($model:tt)*] [$($seen:tt)*] [
        $(#[doc = $doc:literal])* $(#[sea_orm $attr:tt])?
        hidden $field:ident : $ty:ty = $column:ident, $($rest:tt)*
    ]) => {
        $crate::entity::projection::table!(@munch $model_meta $shown_meta $shown $extra
            [$($model)* $(#[doc = $doc])* $(#[sea_orm $attr])? pub $field: $ty,]
            [$($seen)*]
            [$($rest)*]
        );
    };
    (@munch $model_meta:tt $shown_meta:tt $shown:ident $extra:tt [$($model:tt)*] [$($seen:tt)*] [
        $(#[doc = $doc:literal])* $(#[sea_orm $attr:tt])?
        $field:ident : $ty:ty = $column:ident, $($rest:tt)*
    ]) => {
        $crate::entity::projection::table!(@munch $model_meta $shown_meta $shown $extra
            [$($model)* $(#[doc = $doc])* $(#[sea_orm $attr])? pub $field: $ty,]
            [$($seen)* $(#[doc = $doc])* $field: $ty = $column,]
            [$($rest)*]
        );
    };
    (@munch [$($model_meta:tt)*] [$($shown_meta:tt)*] $shown:ident [$($extra:tt)*]
        [$($model:tt)*] [$($seen:tt)*] []
    ) => {
        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        $($model_meta)*
        pub struct Model { $($model)* }

        $crate::entity::projection::projection! {
            $($shown_meta)*
            pub struct $shown { $($seen)* }
            extra { $($extra)* }
        }
    };

    // `Shown { field: model.field, … }` for the columns not `hidden`.
    (@convert $model:ident [$($done:tt)*] [
        $(#[$attr:meta])* hidden $field:ident : $ty:ty = $column:ident, $($rest:tt)*
    ]) => {
        $crate::entity::projection::table!(@convert $model [$($done)*] [$($rest)*])
    };
    (@convert $model:ident [$($done:tt)*] [
        $(#[$attr:meta])* $field:ident : $ty:ty = $column:ident, $($rest:tt)*
    ]) => {
        $crate::entity::projection::table!(@convert $model [$($done)* $field: $model.$field,] [$($rest)*])
    };
    (@convert $model:ident [$($done:tt)*] []) => {
        Self { $($done)* }
    };
}

pub(crate) use {projection, table};

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, EntityTrait, Iterable, QuerySelect, QueryTrait};

    use super::Projection;
    use crate::entity::{customer, customer_password_reset as reset};

    /// The SQL of `P` selected alone from `E`.
    fn sql<E: EntityTrait, P: Projection>() -> String {
        P::select(E::find().select_only())
            .build(DbBackend::Postgres)
            .to_string()
    }

    #[test]
    fn a_shown_projection_selects_every_column_but_the_hidden_ones() {
        assert_eq!(reset::Shown::WIDTH, reset::Column::iter().count() - 2);
        let resets = sql::<reset::Entity, reset::Shown>();
        assert!(resets.contains("\"reference_origin\"") && resets.contains("\"code_attempts\""));
        assert!(!resets.contains("token_digest") && !resets.contains("code_digest"));
        // The digest is hidden; whether there is one is read instead.
        assert_eq!(customer::Shown::WIDTH, customer::Column::iter().count());
        let customers = sql::<customer::Entity, customer::Shown>();
        assert!(customers.ends_with("\"password_digest\" IS NOT NULL FROM \"customers\""));
        assert_eq!(customer::Brief::WIDTH, 3);
    }
}
