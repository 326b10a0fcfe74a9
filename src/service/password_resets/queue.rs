//! Storefront requests: queued and answered at once, so that neither the
//! answer nor its timing tells a public caller whether an email has an
//! account; the background job then turns each into a reset (or nothing).
//!
//! Each mode has its own queue, bounded and fair: nothing test mode does
//! changes what a live caller gets. One request per email and mode is
//! queued: a second folds into the first. Each request keeps its place among
//! its network's queued requests (an IPv4 /16, an IPv6 /32), and requests
//! are processed by that place first (every network's first request, then
//! every network's second…), so a busy network cannot keep a quiet one
//! waiting. When the queue is full, room is made from the largest group at
//! the widest level that has one larger than the newcomer's would be:
//! network, then subnet (/24, /48), then address prefix; the newest request
//! of that group goes. A newcomer from the largest group itself is refused.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};

use super::{
    NewReset, Resets, Started, TokenPolicy,
    admission::{ValidReset, admit_create},
    create::create_in,
    merchant::Merchant,
};
use crate::service::statement;
use crate::{
    domain::{AuditOutcome, Caller, Email, Mode, digest},
    entity::reset_request,
    service::{Error, Result, audit, customers, lease, mail::EmailWish, rate_limits::Networks},
    telemetry::{self, Kind, Tracer},
};

/// Requests one claim of the job takes.
const BATCH: u64 = 50;
/// Claims one run of the job makes at most before it lets the other jobs run.
const BATCHES_PER_RUN: usize = 20;
/// How long a claimed request keeps other processes away: a batch takes well
/// under a second.
const LEASE: Duration = Duration::seconds(15);

/// The key that folds requests for one email in one mode, and links their
/// audit entries.
fn request_key(mode: Mode, email: &Email) -> String {
    digest(&format!("{mode}:{}", email.key()))
}

/// Queues a storefront's reset request. Known and unknown emails take
/// exactly the same path here — the same rate-limit bookkeeping, the same
/// statements, the same writes.
///
/// # Errors
/// [`Error::TooManyRequests`] past a rate limit, or when the queue is full
/// and the caller's prefix is the busiest; [`Error::User`] with
/// `INVALID_EMAIL` or `FIELD_NOT_ALLOWED`; [`Error::Database`] otherwise.
pub(super) async fn request(
    resets: Resets<'_>,
    caller: &Caller,
    input: NewReset,
    now: DateTime<Utc>,
) -> Result<()> {
    let (db, limits) = (resets.db, resets.limits);
    let mode = caller.principal.mode;
    let input = admit_create(db, caller, limits, resets.tokens.mail, input, now).await?;
    let networks = limits.networks(caller.client_ip);
    let key = request_key(mode, &input.email);
    let txn = db.begin().await?;
    let in_mode = reset_request::Column::Mode.eq(mode);
    let from_network = reset_request::Entity::find()
        .filter(in_mode.clone())
        .filter(reset_request::Column::ClientNetwork.eq(networks.network.as_str()))
        .count(&txn)
        .await?;
    let position = i32::try_from(from_network + 1).unwrap_or(i32::MAX);
    let queued = reset_request::Entity::find()
        .filter(in_mode)
        .count(&txn)
        .await?;
    if queued >= u64::from(limits.storefront_queue_max) {
        make_room(&txn, mode, &networks).await?;
    }
    let audit_entry = audit::record_queued(&txn, caller, &key, now).await?;
    let row = reset_request::ActiveModel {
        mode: Set(mode),
        email: Set(input.email.as_str().to_owned()),
        email_key: Set(input.email.key()),
        client_prefix: Set(networks.prefix),
        client_network: Set(networks.network),
        client_subnet: Set(networks.subnet),
        position: Set(position),
        reference: Set(None),
        reference_origin: Set(None),
        metadata: Set(serde_json::json!({})),
        redirect_url: Set(input.wish.redirect_url.clone()),
        locale: Set(input.wish.locale.clone()),
        audit_event_id: Set(audit_entry.id),
        locked_until: Set(None),
        locked_by: Set(None),
        created_at: Set(now),
        delivery: Set(input.delivery.unwrap_or(resets.tokens.codes.delivery(mode))),
        traceparent: Set(crate::telemetry::current_traceparent()),
        ..Default::default()
    };
    // A request for an email already queued folds into it.
    let fold = [reset_request::Column::Mode, reset_request::Column::EmailKey];
    reset_request::Entity::insert(row)
        .on_conflict_do_nothing_on(fold)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// In `mode`'s full queue, makes room for a newcomer from `networks`: at
/// each level, widest first (network, subnet, prefix), finds the group with
/// the most waiting requests; the first that holds more than the newcomer's
/// group would with it loses its newest request. Refuses the newcomer when
/// no level has such a group (its own group is the largest everywhere, or
/// the queue is spread one request per network).
async fn make_room(txn: &DatabaseTransaction, mode: Mode, networks: &Networks) -> Result<()> {
    // A victim another request removed first is no room: look again.
    for _ in 0..3 {
        match drop_one(txn, mode, networks).await? {
            Dropped::Yes => return Ok(()),
            Dropped::Taken => continue,
            Dropped::Nothing => break,
        }
    }
    Err(Error::TooManyRequests {
        retry_after: 1,
        message: "too many reset requests are waiting; try again in a second".into(),
    })
}

/// What one try of [`make_room`] did.
enum Dropped {
    /// A request was dropped.
    Yes,
    /// The request to drop was gone already (removed concurrently).
    Taken,
    /// No group is larger than the newcomer's.
    Nothing,
}

async fn drop_one(txn: &DatabaseTransaction, mode: Mode, networks: &Networks) -> Result<Dropped> {
    use reset_request::Column;
    let waiting = || {
        reset_request::Entity::find()
            .filter(Column::Mode.eq(mode))
            .filter(Column::LockedBy.is_null())
    };
    let levels = [
        (Column::ClientNetwork, &networks.network),
        (Column::ClientSubnet, &networks.subnet),
        (Column::ClientPrefix, &networks.prefix),
    ];
    for (column, own) in levels {
        let largest: Option<(String, i64)> = waiting()
            .select_only()
            .column(column)
            .column_as(Expr::col(Column::Id).count(), "n")
            .group_by(column)
            .order_by_desc(Expr::col(Column::Id).count())
            .limit(1)
            .into_tuple()
            .one(txn)
            .await?;
        let Some((group, size)) = largest else {
            break;
        };
        let with_newcomer = waiting().filter(column.eq(own.as_str())).count(txn).await? + 1;
        if u64::try_from(size).unwrap_or(0) <= with_newcomer {
            continue;
        }
        let newest = waiting()
            .filter(column.eq(group.as_str()))
            .order_by_desc(Column::Id);
        let Some(victim) = statement::first(txn, newest).await? else {
            return Ok(Dropped::Taken);
        };
        let deleted = reset_request::Entity::delete_by_id(victim.id)
            .exec(txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Ok(Dropped::Taken);
        }
        let email = Email::parse(&victim.email).map_err(|e| Error::Internal(e.to_string()))?;
        let key = request_key(mode, &email);
        let reason = Some("QUEUE_FULL");
        let (id, outcome) = (victim.audit_event_id, AuditOutcome::RateLimited);
        audit::resolve(txn, id, &key, outcome, reason, None).await?;
        return Ok(Dropped::Yes);
    }
    Ok(Dropped::Nothing)
}

impl lease::Leased for reset_request::Entity {
    fn id_column() -> Self::Column {
        reset_request::Column::Id
    }
    fn locked_until_column() -> Self::Column {
        reset_request::Column::LockedUntil
    }
    fn locked_by_column() -> Self::Column {
        reset_request::Column::LockedBy
    }
}

/// What one run of the queue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processed {
    /// Requests processed (not how many became resets: only the audit trail
    /// tells that).
    pub requests: usize,
    /// Live-mode resets made that no channel carries to the customer.
    pub unreachable: u64,
}

/// Processes queued storefront requests, by place within their prefix, then
/// age: for each, in one transaction, creates the reset (when the email has a
/// customer; with its webhook event and a token made by `tokens`), resolves
/// the audit entries of every request folded into it, and removes it.
/// Requests are leased, so several processes share the queue without
/// processing one twice. Takes batches until the queue is empty (or a bound
/// is reached).
///
/// # Errors
/// [`Error::Database`] if claiming or processing fails (the request stays queued).
pub async fn process_requests(
    db: &DatabaseConnection,
    tokens: TokenPolicy<'_>,
    tracer: Option<&Arc<Tracer>>,
    now: DateTime<Utc>,
) -> Result<Processed> {
    let order = [reset_request::Column::Position, reset_request::Column::Id];
    let mut processed = Processed::default();
    for _ in 0..BATCHES_PER_RUN {
        let claimed = lease::claim::<reset_request::Entity>(
            db,
            Condition::all(),
            &order,
            BATCH,
            now,
            now + LEASE,
        )
        .await?;
        if claimed.is_empty() {
            break;
        }
        processed.requests += claimed.len();
        for request in claimed {
            let requested_by = request.traceparent.clone();
            let mut span = telemetry::job(
                tracer,
                "process storefront request",
                Kind::Consumer,
                requested_by.as_deref(),
            );
            span.set("pwreset.mode", request.mode.as_str());
            if !span.run(process(db, request, tokens)).await? {
                processed.unreachable += 1;
            }
        }
    }
    Ok(processed)
}

/// Turns one queued request into a reset (or nothing), in one transaction;
/// false when it made a live-mode reset no channel carries.
async fn process(
    db: &DatabaseConnection,
    request: reset_request::Model,
    tokens: TokenPolicy<'_>,
) -> Result<bool> {
    let mode = request.mode;
    let email = Email::parse(&request.email).map_err(|e| Error::Internal(e.to_string()))?;
    let key = request_key(mode, &email);
    let input = ValidReset {
        email,
        merchant: Merchant::default(),
        wish: EmailWish {
            redirect_url: request.redirect_url.clone(),
            locale: request.locale.clone(),
        },
        delivery: Some(request.delivery),
    };
    let txn = db.begin().await?;
    let mut reachable = true;
    let id = request.audit_event_id;
    let customer = match customers::find_by_email(&txn, mode, &input.email).await? {
        // Read again under the customer's lock: a password changed a moment ago counts.
        Some(found) => customers::lock(&txn, found.id).await?.or(Some(found)),
        None => None,
    };
    match customer {
        // The password changed after the request was made: a reset now would
        // mail a token right after the customer chose a new password.
        Some(customer)
            if customer
                .password_changed_at
                .is_some_and(|changed| changed > request.created_at) =>
        {
            let customer_id = Some(customer.public_id.as_str());
            let (outcome, reason) = (AuditOutcome::Superseded, Some("PASSWORD_CHANGED"));
            audit::resolve(&txn, id, &key, outcome, reason, customer_id).await?;
        }
        Some(customer) => {
            if let Started::Reset {
                reachable: false, ..
            } = create_in(&txn, mode, &customer, &input, tokens).await?
            {
                reachable = mode != Mode::Live;
            }
            let customer_id = Some(customer.public_id.as_str());
            audit::resolve(&txn, id, &key, AuditOutcome::Created, None, customer_id).await?;
        }
        None => audit::resolve(&txn, id, &key, AuditOutcome::NoCustomer, None, None).await?,
    }
    reset_request::Entity::delete_by_id(request.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(reachable)
}
