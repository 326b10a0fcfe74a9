//! Sealed tokens at rest, in the two tables that keep one until it is sent:
//! reset emails and webhook deliveries. Which rows this process can open
//! (the only ones its jobs claim: a process that lacks a row's key leaves
//! it for one that has it, never counting an attempt, failing or erasing
//! it), bringing values an older version stored up to date, and counting
//! what no key of this process opens, for the log and the metrics.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};

use super::{
    Result,
    sealing::{KeyId, TokenSealer},
};
use crate::{
    domain::DeliveryStatus,
    entity::{reset_email as email, webhook_delivery as delivery},
};

/// The rows whose `column` holds no sealed value, or one sealed with a key
/// `sealer` has (by the key id the value records).
pub(crate) fn openable<C: ColumnTrait>(sealer: &TokenSealer, column: C) -> Condition {
    sealer
        .key_ids()
        .fold(Condition::any().add(column.is_null()), |any, id| {
            any.add(column.like(format!("v2.{id}.%")))
        })
}

/// Seals again, as this version seals, every pending token an older version
/// left in clear or sealed without its key's id (`v1.`), in both tables;
/// returns how many. A `v1.` value none of `sealer`'s keys opens is left for
/// a process that has its key. Run at start-up, before anything is sent.
///
/// # Errors
/// [`super::Error::Database`] if a statement fails.
pub async fn reseal_outdated(db: &DatabaseConnection, sealer: &TokenSealer) -> Result<usize> {
    let outdated = |column: email::Column| {
        Condition::all()
            .add(column.is_not_null())
            .add(column.not_like("v2.%"))
    };
    let mut resealed = 0;
    let emails = email::Entity::find()
        .filter(outdated(email::Column::Token))
        .all(db)
        .await?;
    for row in emails {
        let Some(stored) = row.token.as_deref() else {
            continue;
        };
        if let Some(sealed) = sealer.reseal(stored, &row.public_id)? {
            email::Entity::update_many()
                .col_expr(email::Column::Token, Expr::value(sealed))
                .filter(email::Column::Id.eq(row.id))
                .exec(db)
                .await?;
            resealed += 1;
        }
    }
    let deliveries = delivery::Entity::find()
        .filter(delivery::Column::Token.is_not_null())
        .filter(delivery::Column::Token.not_like("v2.%"))
        .all(db)
        .await?;
    for row in deliveries {
        let Some(stored) = row.token.as_deref() else {
            continue;
        };
        if let Some(sealed) = sealer.reseal(stored, &row.public_id)? {
            delivery::Entity::update_many()
                .col_expr(delivery::Column::Token, Expr::value(sealed))
                .filter(delivery::Column::Id.eq(row.id))
                .exec(db)
                .await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// Pending items sealed with one key that this process does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unopenable {
    /// The key's id; `None` for values an older version sealed without it.
    pub key: Option<KeyId>,
    /// `email` or `webhook`.
    pub kind: &'static str,
    /// How many are waiting.
    pub count: u64,
}

/// The pending emails and webhook deliveries whose token none of `sealer`'s
/// keys opens, counted by the key that sealed them.
///
/// # Errors
/// [`super::Error::Database`] if a query fails.
pub async fn unopenable(db: &DatabaseConnection, sealer: &TokenSealer) -> Result<Vec<Unopenable>> {
    let mut found = count_by_key::<email::Entity, _>(
        db,
        email::Column::Token,
        Condition::all()
            .add(email::Column::Status.eq(DeliveryStatus::Pending))
            .add(openable(sealer, email::Column::Token).not()),
        "email",
    )
    .await?;
    found.extend(
        count_by_key::<delivery::Entity, _>(
            db,
            delivery::Column::Token,
            Condition::all()
                .add(delivery::Column::Status.eq(DeliveryStatus::Pending))
                .add(openable(sealer, delivery::Column::Token).not()),
            "webhook",
        )
        .await?,
    );
    Ok(found)
}

/// The rows of `E` matching `which`, counted by the first 12 characters of
/// their `token` (`v2.`, the key id and `.`, or `v1.` and the start of a value).
async fn count_by_key<E: EntityTrait, C: ColumnTrait>(
    db: &impl ConnectionTrait,
    token: C,
    which: Condition,
    kind: &'static str,
) -> Result<Vec<Unopenable>> {
    // The bounds are written into the statement, so that the GROUP BY
    // expression is the very SELECT one (bound values would differ).
    let head = Func::cust("substr")
        .arg(Expr::col(token))
        .arg(Expr::cust("1"))
        .arg(Expr::cust("12"));
    let head = Expr::expr(head);
    let rows: Vec<(String, i64)> = E::find()
        .select_only()
        .column_as(head.clone(), "head")
        .column_as(Expr::col(token).count(), "n")
        .filter(which)
        .group_by(head)
        .into_tuple()
        .all(db)
        .await?;
    let mut counted: Vec<Unopenable> = Vec::new();
    for (head, n) in rows {
        let key = TokenSealer::key_of(&head);
        let n = u64::try_from(n).unwrap_or(0);
        match counted.iter_mut().find(|u| u.key == key) {
            Some(same) => same.count += n,
            None => counted.push(Unopenable {
                key,
                kind,
                count: n,
            }),
        }
    }
    Ok(counted)
}
