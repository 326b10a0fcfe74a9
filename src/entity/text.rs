//! The domain's enums as columns: each is stored as its name (`test`,
//! `customer_password_resets.create`), the name its `strum` derive gives it,
//! so no entity spells a value out. A stored name that is not one of the
//! enum's is an error naming the enum, the column and the value: never a
//! silent default.

use crate::domain::{
    AuditAction, AuditOutcome, Delivery, DeliveryStatus, EmailKind, Mode, Role, Topic,
};

/// Makes each enum a column type stored as text: written through
/// `Into<&'static str>`, read back through `FromStr`.
macro_rules! stored_as_text {
    ($($enum:ty),* $(,)?) => {$(
        impl From<$enum> for sea_orm::Value {
            fn from(value: $enum) -> Self {
                <&'static str>::from(value).into()
            }
        }

        impl sea_orm::TryGetable for $enum {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let stored = String::try_get_by(res, idx)?;
                stored.parse().map_err(|_| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                        "unknown {} {stored:?} stored in column {idx:?}",
                        stringify!($enum),
                    )))
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $enum {
            fn try_from(
                value: sea_orm::Value,
            ) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                <String as sea_orm::sea_query::ValueType>::try_from(value)?
                    .parse()
                    .map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($enum).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::Text
            }
        }

        impl sea_orm::sea_query::Nullable for $enum {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$enum> for $enum {
            fn into_active_value(self) -> sea_orm::ActiveValue<$enum> {
                sea_orm::ActiveValue::Set(self)
            }
        }
    )*};
}

stored_as_text!(
    Mode,
    Role,
    Topic,
    DeliveryStatus,
    AuditAction,
    AuditOutcome,
    EmailKind,
    Delivery,
);

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TryGetable};

    use super::*;

    /// A row with one text column `mode` holding `stored`.
    async fn row(stored: &str) -> sea_orm::QueryResult {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let select =
            Statement::from_sql_and_values(DbBackend::Sqlite, "SELECT ? AS mode", [stored.into()]);
        db.query_one_raw(select).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_stored_name_reads_back_as_its_value() {
        assert_eq!(
            Mode::try_get_by(&row("live").await, "mode").unwrap(),
            Mode::Live
        );
        assert_eq!(
            sea_orm::Value::from(Topic::ResetCreated),
            "customer_password_resets.create".into()
        );
    }

    #[tokio::test]
    async fn an_unknown_stored_name_is_an_error_naming_the_value_and_column() {
        let Err(sea_orm::TryGetError::DbErr(err)) = Mode::try_get_by(&row("staging").await, "mode")
        else {
            panic!("an unknown mode was read as a mode");
        };
        let message = err.to_string();
        assert!(
            message.contains("\"staging\"") && message.contains("mode"),
            "{message}"
        );
    }
}
