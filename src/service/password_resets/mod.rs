//! Customer password resets, one job per file:
//! - here: starting a reset (who is told what about an email without an
//!   account), and the status model;
//! - `admission`: what every create and complete goes through first (rate
//!   limits, validation), with refusals audited;
//! - `create`: a fresh single-use token, at once;
//! - `queue`: storefront requests, queued so every email costs the same,
//!   and the job that turns them into resets;
//! - `complete`: the token alone finds the reset and sets the password;
//! - `by_code`: the email and a one-time code do, with attempts capped;
//! - `manage`: read one, change its merchant fields, delete it;
//! - `list`: filters and sorts;
//! - `document`: the reset as its webhook events carry it.

mod admission;
mod by_code;
mod complete;
mod create;
mod document;
mod list;
mod manage;
mod merchant;
mod queue;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection,
    sea_query::{Expr, ExprTrait},
};

pub use complete::reset_id_of_token;
pub use list::{
    ListedCustomer, ResetColumns, ResetFilter, ResetListing, ResetRow, ResetSort, SEARCHABLE,
    WithCustomers, list, search,
};
pub use manage::{delete, get, update};
pub use merchant::{Change, Merchant, MerchantInput, MerchantValue};
pub use queue::{Processed, process_requests};

use crate::{
    domain::{Caller, Delivery, Mode, RawPassword, ResetCode, ResetToken, Role},
    entity::customer_password_reset as reset,
    metrics::Metrics,
    service::{
        Clock, Result, mail::MailSettings, password::PasswordHasher, rate_limits::RateLimits,
        sealing::TokenSealer,
    },
};

/// How new reset tokens are made and sent: how long they work, what seals
/// them while they wait on a webhook delivery or an email, what dates them,
/// and which modes email them.
#[derive(Clone, Copy)]
pub struct TokenPolicy<'a> {
    /// How long a new token works.
    pub ttl: Duration,
    /// Seals the token on its deliveries.
    pub sealer: &'a TokenSealer,
    /// Read when the reset is written, under its customer's lock, so a reset
    /// is never dated before a password change that committed first.
    pub clock: &'a dyn Clock,
    /// Which modes email the token, and where links may point.
    pub mail: &'a MailSettings,
    /// How resets reach customers, and how codes work.
    pub codes: &'a crate::service::codes::CodeSettings,
}

impl std::fmt::Debug for TokenPolicy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPolicy")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A new reset, as a client sent it.
#[derive(Debug, Default)]
pub struct NewReset {
    /// The customer's email, in any letter case.
    pub customer_email: String,
    /// The back office's fields (integration keys only).
    pub merchant: MerchantInput,
    /// The page the email's link opens, if its origin is allowed.
    pub redirect_url: Option<String>,
    /// The language of the email (`en` when absent).
    pub locale: Option<String>,
    /// The bot challenge's token (sales-channel keys, when the server
    /// challenges them).
    pub captcha_token: Option<String>,
    /// A link, a code or both; the mode's `RESET_DELIVERY` when absent.
    pub delivery: Option<Delivery>,
}

/// What a caller is told after starting a reset.
#[derive(Debug)]
pub enum Started {
    /// A reset was created (integration keys); the token exists only here.
    Reset {
        /// The new reset.
        reset: Box<reset::Model>,
        /// Its token, to hand over once.
        token: ResetToken,
        /// Its one-time code, when it has one, to hand over once.
        code: Option<ResetCode>,
        /// Whether a channel carries it to the customer: an email, or a
        /// webhook subscribed to its creation.
        reachable: bool,
    },
    /// The request was queued (sales-channel keys), whatever the email: the
    /// caller learns nothing about whether it has an account.
    Queued,
}

/// What starting and completing resets take from the server: where they are
/// written, the limits they obey, how tokens are made, how passwords are
/// hashed, and what they count. [`crate::state::AppState::resets`] gives it.
#[derive(Clone, Copy)]
pub struct Resets<'a> {
    /// The database (writes, and the reads inside them).
    pub db: &'a DatabaseConnection,
    /// The limits on creates and completes.
    pub limits: &'a RateLimits,
    /// How new tokens are made and sent, and the clock.
    pub tokens: TokenPolicy<'a>,
    /// How new passwords are checked and hashed.
    pub hasher: &'a PasswordHasher,
    /// What creates and completes count.
    pub metrics: &'a Metrics,
    /// The bot challenge storefront creates must pass, when configured.
    pub captcha: Option<&'a crate::service::captcha::Captcha>,
    /// Breached-password screening of new passwords, when on.
    pub breached: Option<&'a crate::service::breached::BreachedPasswords>,
}

impl Resets<'_> {
    /// Starts a password reset for `input`'s customer in the caller's mode.
    ///
    /// The caller's role decides what it may learn. An integration key gets
    /// the reset at once, with its token, and `CUSTOMER_NOT_FOUND` for an
    /// unknown email. A sales-channel key (public) gets [`Started::Queued`]
    /// for every valid email: the request is queued and answered at once,
    /// the same work whatever the email. Counted in the metrics by outcome
    /// (never whether a storefront's email had an account).
    ///
    /// # Errors
    /// [`crate::service::Error::TooManyRequests`] past a rate limit;
    /// [`crate::service::Error::User`] with `INVALID_EMAIL`, `REFERENCE_TOO_LONG`,
    /// `METADATA_NOT_OBJECT`, `METADATA_TOO_LARGE`, `REDIRECT_URL_NOT_ALLOWED`,
    /// `INVALID_LOCALE`, (sales-channel keys, which may not set `reference`,
    /// `referenceOrigin` or `metadata`) `FIELD_NOT_ALLOWED`, or (integration
    /// keys only) `CUSTOMER_NOT_FOUND`; [`crate::service::Error::Database`] otherwise.
    pub async fn start(self, caller: &Caller, input: NewReset) -> Result<Started> {
        let now = self.tokens.clock.now();
        let started = match caller.principal.role {
            Role::Integration => create::create(self, caller, input, now).await,
            Role::SalesChannel => self.request(caller, input, now).await,
        };
        match &started {
            Ok(Started::Reset { reachable, .. }) => {
                self.metrics.reset_created();
                if !reachable && caller.principal.mode == Mode::Live {
                    self.metrics.resets_undeliverable(1);
                }
            }
            Ok(Started::Queued) => self.metrics.storefront_request(),
            Err(e) => self.count_rejections(e),
        }
        started
    }

    /// A storefront's create: the bot challenge first, when there is one
    /// (its answer is the same for every email), then the queue.
    async fn request(
        self,
        caller: &Caller,
        input: NewReset,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Started> {
        if let Some(captcha) = self.captcha {
            let token = input.captcha_token.as_deref();
            captcha.check(token, caller.client_ip).await?;
        }
        queue::request(self, caller, input, now).await?;
        Ok(Started::Queued)
    }

    /// Completes the reset whose token is `token` by setting the customer's
    /// password to `password`.
    ///
    /// The new password is hashed first (Argon2id, on a hashing thread), outside
    /// any transaction; the time is read again after the hash, so a
    /// token that expired while its request waited for a hashing slot is judged
    /// expired when the reset is claimed. A refused password changes nothing: the
    /// token stays usable. Refusals are audited.
    ///
    /// # Errors
    /// [`crate::service::Error::TooManyRequests`] past a rate limit or when the hashing queue is
    /// full; [`crate::service::Error::User`] with `TOKEN_INVALID`, `TOKEN_EXPIRED`,
    /// `TOKEN_ALREADY_USED`, `TOKEN_INVALIDATED`, `PASSWORD_TOO_SHORT`,
    /// `PASSWORD_TOO_LONG`, `PASSWORD_TOO_COMMON` or `PASSWORD_CONTAINS_EMAIL`;
    /// [`crate::service::Error::Database`] or [`crate::service::Error::Internal`] otherwise.
    pub async fn complete(
        self,
        caller: &Caller,
        token: ResetToken,
        password: RawPassword,
    ) -> Result<reset::Model> {
        let completed = complete::complete(self, caller, token, password).await;
        match &completed {
            Ok(_) => self.metrics.reset_completed(),
            Err(e) => self.count_rejections(e),
        }
        completed
    }

    /// Completes the open reset of the customer whose email is
    /// `customer_email` with its one-time `code`, setting the password to
    /// `password`. Each reset takes `RESET_CODE_MAX_ATTEMPTS` wrong codes;
    /// the last voids it. A right code with a refused password costs no
    /// attempt, and the code stays usable.
    ///
    /// # Errors
    /// As [`Resets::complete`], but every code that does not complete a
    /// reset (an unknown email, no code, a used-up, expired or wrong code)
    /// is `TOKEN_INVALID` on `["input", "code"]`; `INVALID_EMAIL` for a
    /// malformed email.
    pub async fn complete_with_code(
        self,
        caller: &Caller,
        customer_email: &str,
        code: ResetCode,
        password: RawPassword,
    ) -> Result<reset::Model> {
        let completed = by_code::complete(self, caller, customer_email, code, password).await;
        match &completed {
            Ok(_) => self.metrics.reset_completed(),
            Err(e) => self.count_rejections(e),
        }
        completed
    }

    /// Counts each refused input of `error` by its code.
    fn count_rejections(self, error: &crate::service::Error) {
        if let crate::service::Error::User(errors) = error {
            for e in errors {
                self.metrics.reset_rejected(e.code.as_str());
            }
        }
    }
}

/// The refusal of a complete that gives neither a token nor an email and a
/// code, or both.
pub fn token_or_code_required() -> crate::service::Error {
    crate::service::UserError::new(
        &["input"],
        crate::domain::ErrorCode::TokenOrCodeRequired,
        "give resetPasswordToken, or customerEmail and code, not both",
    )
    .into()
}

/// Where a reset stands at a given time. Webhook payloads name it in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ResetStatus {
    /// Unused, not superseded, not expired: the token works.
    Pending,
    /// The password was reset with it.
    Completed,
    /// Its time ran out before it was used.
    Expired,
    /// A newer reset superseded it, or another reset of the customer completed.
    Invalidated,
}

impl ResetStatus {
    /// The status as webhook payloads name it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The status of `reset` at `now`.
///
/// A reset is *open* until it is completed or closed (`invalidated_at`); a
/// customer has at most one open reset (a unique index holds it). Closing
/// one that had already expired leaves it `Expired`: only a reset closed
/// while its token still worked is `Invalidated`.
pub fn status(reset: impl Into<Times>, now: DateTime<Utc>) -> ResetStatus {
    let Times {
        expires_at,
        reset_password_at,
        invalidated_at,
    } = reset.into();
    match (reset_password_at, invalidated_at) {
        (Some(_), _) => ResetStatus::Completed,
        (None, Some(closed)) if closed < expires_at => ResetStatus::Invalidated,
        (None, Some(_)) => ResetStatus::Expired,
        (None, None) if expires_at <= now => ResetStatus::Expired,
        (None, None) => ResetStatus::Pending,
    }
}

/// The times of a reset that say where it stands, from a whole row or a
/// shown one.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    expires_at: DateTime<Utc>,
    reset_password_at: Option<DateTime<Utc>>,
    invalidated_at: Option<DateTime<Utc>>,
}

impl From<&reset::Model> for Times {
    fn from(m: &reset::Model) -> Self {
        Self {
            expires_at: m.expires_at,
            reset_password_at: m.reset_password_at,
            invalidated_at: m.invalidated_at,
        }
    }
}

impl From<&reset::Shown> for Times {
    fn from(m: &reset::Shown) -> Self {
        Self {
            expires_at: m.expires_at,
            reset_password_at: m.reset_password_at,
            invalidated_at: m.invalidated_at,
        }
    }
}

/// The condition that selects resets in `status` at `now`; the SQL twin of [`status`].
fn status_condition(status: ResetStatus, now: DateTime<Utc>) -> Condition {
    use reset::Column as C;
    let closed_in_time = Expr::col(C::InvalidatedAt).lt(Expr::col(C::ExpiresAt));
    let closed_late = Expr::col(C::InvalidatedAt).gte(Expr::col(C::ExpiresAt));
    match status {
        ResetStatus::Completed => Condition::all().add(C::ResetPasswordAt.is_not_null()),
        ResetStatus::Invalidated => Condition::all()
            .add(C::ResetPasswordAt.is_null())
            .add(C::InvalidatedAt.is_not_null())
            .add(closed_in_time),
        ResetStatus::Expired => Condition::all().add(C::ResetPasswordAt.is_null()).add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(C::InvalidatedAt.is_null())
                        .add(C::ExpiresAt.lte(now)),
                )
                .add(
                    Condition::all()
                        .add(C::InvalidatedAt.is_not_null())
                        .add(closed_late),
                ),
        ),
        ResetStatus::Pending => open().add(C::ExpiresAt.gt(now)),
    }
}

/// Resets neither completed nor closed: at most one per customer.
fn open() -> Condition {
    use reset::Column as C;
    Condition::all()
        .add(C::ResetPasswordAt.is_null())
        .add(C::InvalidatedAt.is_null())
}

/// Closes every open reset of `customer` but `except`, at `now` (a pending
/// one becomes `Invalidated`, one already expired stays `Expired`), on `txn`.
async fn close_open<C: sea_orm::ConnectionTrait>(
    txn: &C,
    customer: i64,
    except: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    use sea_orm::{EntityTrait, QueryFilter};
    let mut closing = reset::Entity::update_many()
        .col_expr(reset::Column::InvalidatedAt, Expr::value(now))
        .col_expr(reset::Column::UpdatedAt, Expr::value(now))
        .filter(reset::Column::CustomerId.eq(customer))
        .filter(open());
    if let Some(id) = except {
        closing = closing.filter(reset::Column::Id.ne(id));
    }
    closing.exec(txn).await?;
    Ok(())
}
