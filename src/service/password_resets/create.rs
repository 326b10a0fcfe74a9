//! Creating a reset: a fresh single-use token that supersedes the customer's
//! older pending resets, with its webhook event and its email, in one
//! transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, TransactionTrait};

use super::{
    NewReset, Resets, Started, TokenPolicy,
    admission::{ValidReset, admit_create},
    close_open, document,
};
use crate::{
    domain::{
        AuditAction, AuditOutcome, Caller, ErrorCode, Mode, PublicId, RESET_ID_PREFIX, ResetCode,
        ResetToken, Topic,
    },
    entity::{customer, customer_password_reset as reset},
    service::{
        Result, UserError,
        audit::{self, Entry},
        customers, mail,
        secrets::ResetSecrets,
        webhooks::{self, SealedAttribute},
    },
};

/// Creates a reset at once: in one transaction, a fresh token valid for
/// `ttl` (stored only as a digest), every older pending reset of the customer
/// invalidated, the webhook event and the audit entry written.
pub(super) async fn create(
    resets: Resets<'_>,
    caller: &Caller,
    input: NewReset,
    now: DateTime<Utc>,
) -> Result<Started> {
    let (db, tokens) = (resets.db, resets.tokens);
    let mode = caller.principal.mode;
    let input = admit_create(db, caller, resets.limits, tokens.mail, input, now).await?;
    let txn = db.begin().await?;
    let customer = customers::find_by_email(&txn, mode, &input.email).await?;
    let (outcome, customer_id) = match &customer {
        Some(customer) => (AuditOutcome::Created, Some(customer.public_id.as_str())),
        None => (AuditOutcome::NoCustomer, None),
    };
    let created = match &customer {
        Some(customer) => Some(create_in(&txn, mode, customer, &input, tokens).await?),
        None => None,
    };
    let entry = Entry {
        action: AuditAction::Create,
        outcome,
        reason: None,
        customer_id,
    };
    audit::record(&txn, caller, entry, now).await?;
    txn.commit().await?;
    created.ok_or_else(|| {
        UserError::new(
            &["input", "customerEmail"],
            ErrorCode::CustomerNotFound,
            "no customer has this email",
        )
        .into()
    })
}

/// Creates the reset for `input`'s `customer` on `txn`, after locking the
/// customer (so two writers of one customer's resets take turns), closing
/// the customer's older open resets, and recording the webhook event and
/// the email.
pub(super) async fn create_in<C: ConnectionTrait>(
    txn: &C,
    mode: Mode,
    customer: &customer::Model,
    input: &ValidReset,
    tokens: TokenPolicy<'_>,
) -> Result<Started> {
    let token = ResetToken::generate();
    let delivery = input
        .delivery
        .unwrap_or_else(|| tokens.codes.delivery(mode));
    let code = delivery
        .has_code()
        .then(|| ResetCode::generate(tokens.codes.digits));
    // Writes that change a customer's resets take turns, per customer; the
    // reset is dated once its turn comes.
    customers::lock(txn, customer.id).await?;
    let now = tokens.clock.now();
    close_open(txn, customer.id, None, now).await?;
    let public_id = PublicId::generate(RESET_ID_PREFIX).into_string();
    // A code works for its own, shorter time; a reset sent as a code alone
    // ends with it.
    let code_expires_at = now + tokens.codes.ttl().min(tokens.ttl);
    let expires_at = if delivery.has_link() {
        now + tokens.ttl
    } else {
        code_expires_at
    };
    let code_digest = code
        .as_ref()
        .map(|code| tokens.sealer.codes().digest(code, &public_id));
    let mut model = reset::ActiveModel {
        public_id: Set(public_id),
        mode: Set(mode),
        customer_id: Set(customer.id),
        customer_email: Set(customer.email.clone()),
        token_digest: Set(token.digest()),
        expires_at: Set(expires_at),
        delivery: Set(delivery),
        code_expires_at: Set(code.as_ref().map(|_| code_expires_at)),
        code_digest: Set(code_digest),
        code_attempts: Set(0),
        reset_password_at: Set(None),
        invalidated_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    input.merchant.clone().write(&mut model, true);
    let model = model.insert(txn).await?;
    let hooks = webhooks::subscribers(txn, mode, &[Topic::ResetCreated]).await?;
    let code_text = code.as_ref().map(|c| c.expose().to_owned());
    // The merchant gets the token and the code; the customer what the
    // delivery says.
    let for_merchant = ResetSecrets {
        token: Some(token.expose().to_owned()),
        code: code_text.clone(),
    };
    let for_customer = ResetSecrets {
        token: delivery.has_link().then(|| token.expose().to_owned()),
        code: code_text,
    };
    let for_merchant = for_merchant.to_text();
    let sealed = SealedAttribute {
        value: &for_merchant,
        expires_at: model.expires_at,
        sealer: tokens.sealer,
    };
    webhooks::record_event(
        txn,
        &hooks,
        Topic::ResetCreated,
        document::reset(&model, customer, now),
        Some(sealed),
        now,
    )
    .await?;
    let emailed = mail::record(
        txn,
        tokens.mail,
        mode,
        &model,
        &input.wish,
        &for_customer,
        tokens.sealer,
    )
    .await?;
    Ok(Started::Reset {
        reset: Box::new(model),
        token,
        code,
        reachable: emailed || !hooks.is_empty(),
    })
}
