//! Sending due reset emails. Emails are leased, so several processes never
//! send one at the same time; each is rendered in its language and sent
//! through its mode's SMTP server, or written to the log by the development
//! mailer. A failed attempt is retried with the webhook backoff (5 s doubling
//! to 2 h, with jitter) until the email is sent, is refused for good (a 5xx
//! answer, or 12 attempts), or its token expires. An email whose reset no
//! longer works (completed, superseded) is not sent.
//!
//! Delivery is at most once per lease. A process that dies after the server
//! accepted a message and before recording it leaves the email to be sent
//! again when its lease (one minute) runs out; the message keeps its
//! `Message-ID` (the email's id), so mail systems can recognise it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::{
    AsyncTransport, Message,
    message::{Mailbox, MultiPart},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, Set};

use super::{
    ChangedContext, Channel, MailContext, MailSettings, Rendered, TemplateSet, expire_tokens,
    link::redirect_link,
};
use crate::service::statement;
use crate::{
    domain::{DeliveryStatus, EmailKind},
    entity::{customer_password_reset as reset, reset_email as email},
    metrics::Metrics,
    service::{
        Clock, Error, Result, lease, sealed, sealing::TokenSealer, secrets::ResetSecrets,
        webhooks::backoff,
    },
    telemetry::{self, Kind, Tracer},
};

/// Attempts before an email is given up.
const MAX_ATTEMPTS: i32 = 12;
/// Emails claimed at once.
const BATCH: u64 = 5;
/// Batches one run sends at most before it lets the other jobs run.
const BATCHES_PER_RUN: usize = 20;
/// How long a claim keeps other processes away: one SMTP conversation (at
/// most 10 s) and a margin. A batch that takes longer renews it every
/// [`RENEW_EVERY`]; a crashed process's emails come free this long after its
/// last renewal.
const LEASE: chrono::Duration = chrono::Duration::seconds(15);
/// How often a batch in progress renews its lease.
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl lease::Leased for email::Entity {
    fn id_column() -> Self::Column {
        email::Column::Id
    }
    fn locked_until_column() -> Self::Column {
        email::Column::LockedUntil
    }
    fn locked_by_column() -> Self::Column {
        email::Column::LockedBy
    }
}

/// How one attempt went.
enum Attempt {
    /// The SMTP server accepted the message.
    Sent,
    /// The development mailer wrote the link to the log.
    Logged,
    /// The reset no longer works: nothing to send.
    Moot,
    /// It failed; `permanent` failures are not retried.
    Failed { permanent: bool, error: String },
}

/// Sends due reset emails. Clone it freely.
#[derive(Clone)]
pub struct Mailer {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    settings: Arc<MailSettings>,
    sealer: TokenSealer,
    tracer: Option<Arc<Tracer>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer over `db`, with `settings`; `sealer` opens the tokens.
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: Arc<MailSettings>,
        sealer: TokenSealer,
    ) -> Self {
        Self {
            db,
            clock,
            metrics,
            settings,
            sealer,
            tracer: None,
        }
    }

    /// The same mailer, opening a span for each attempt with `tracer`.
    #[must_use]
    pub fn traced(self, tracer: Option<Arc<Tracer>>) -> Self {
        Self { tracer, ..self }
    }

    /// Gives up emails whose token expired, then makes one attempt at every
    /// due email, a batch at a time; returns how many attempts were made.
    ///
    /// # Errors
    /// [`Error::Database`] if claiming or recording fails.
    pub async fn send_due(&self) -> Result<usize> {
        expire_tokens(&self.db, self.clock.now()).await?;
        let mut attempts = 0;
        for _ in 0..BATCHES_PER_RUN {
            let now = self.clock.now();
            let due = Condition::all()
                .add(email::Column::Status.eq(DeliveryStatus::Pending))
                .add(email::Column::NextAttemptAt.lte(now))
                // A token sealed with a key this process lacks is left for a
                // process that has it: never attempted, failed or erased here.
                .add(sealed::openable(&self.sealer, email::Column::Token));
            let order = [email::Column::NextAttemptAt, email::Column::Id];
            let claimed =
                lease::claim::<email::Entity>(&self.db, due, &order, BATCH, now, now + LEASE)
                    .await?;
            if claimed.is_empty() {
                break;
            }
            attempts += claimed.len();
            let lease = claimed[0].locked_by.clone().unwrap_or_default();
            let batch = async {
                for row in claimed {
                    let mut span = self.span(&row);
                    let attempt = span.run(self.attempt(&row)).await;
                    match &attempt {
                        Attempt::Sent | Attempt::Logged => {
                            span.set("pwreset.email.outcome", "sent")
                        }
                        Attempt::Moot => span.set("pwreset.email.outcome", "moot"),
                        Attempt::Failed { permanent, .. } => {
                            span.set("pwreset.email.permanent", *permanent);
                            span.fail("the email could not be sent");
                        }
                    }
                    span.run(self.record(row, attempt)).await?;
                }
                Ok::<_, Error>(())
            };
            let clock = self.clock.as_ref();
            lease::holding::<email::Entity, _>(&self.db, &lease, clock, LEASE, RENEW_EVERY, batch)
                .await?;
        }
        Ok(attempts)
    }

    /// The span of one attempt at `row`: its kind and channel, never its
    /// recipient or token; linked to the request that wrote the email.
    fn span(&self, row: &email::Model) -> telemetry::Span {
        let mut span = telemetry::job(
            self.tracer.as_ref(),
            "send email",
            Kind::Client,
            row.traceparent.as_deref(),
        );
        if span.is_recording() {
            let channel = match &self.settings.mode(row.mode).channel {
                Channel::Smtp(_) => "smtp",
                Channel::DevelopmentLog => "development_log",
                Channel::Off => "off",
            };
            span.set("pwreset.mode", row.mode.as_str());
            span.set("pwreset.email.kind", row.kind.as_str());
            span.set("pwreset.email.channel", channel);
            span.set("pwreset.email.attempt", i64::from(row.attempt_count) + 1);
        }
        span
    }

    /// Renders and sends `row`.
    async fn attempt(&self, row: &email::Model) -> Attempt {
        let failed = |permanent: bool, error: String| Attempt::Failed { permanent, error };
        if row.kind == EmailKind::PasswordChanged {
            return match self.changed_message(row) {
                Ok(message) => self.send(row, message).await,
                Err(e) => failed(true, e),
            };
        }
        let reset = match statement::first(&self.db, reset::Entity::find_by_id(row.reset_id)).await
        {
            Ok(Some(reset)) => reset,
            Ok(None) => return Attempt::Moot, // deleted; the cascade removes the email
            Err(e) => return failed(false, format!("reading the reset failed: {e}")),
        };
        let now = self.clock.now();
        // Pending, as `password_resets::status` says: neither used nor closed
        // nor expired (that module writes emails, so it is not imported here).
        let works = reset.reset_password_at.is_none()
            && reset.invalidated_at.is_none()
            && reset.expires_at > now;
        if !works {
            return Attempt::Moot;
        }
        let message = match self.message(row, &reset, now) {
            Ok(message) => message,
            Err(e) => return failed(true, e),
        };
        self.send(row, message).await
    }

    /// Hands `message` to `row`'s mode's channel.
    async fn send(&self, row: &email::Model, message: Built) -> Attempt {
        let failed = |permanent: bool, error: String| Attempt::Failed { permanent, error };
        match &self.settings.mode(row.mode).channel {
            Channel::Smtp(target) => match target.transport.send(message.message).await {
                Ok(_) => Attempt::Sent,
                Err(e) => failed(e.is_permanent(), format!("SMTP: {e}")),
            },
            Channel::DevelopmentLog if row.kind == EmailKind::PasswordChanged => {
                tracing::info!(
                    target: "pwreset::development_mailer",
                    "DEVELOPMENT MAILER (test mode has no TEST_SMTP_URL, so nothing is sent): {} was told the password changed",
                    row.recipient,
                );
                Attempt::Logged
            }
            Channel::DevelopmentLog => {
                let code = message.code.as_deref();
                tracing::info!(
                    target: "pwreset::development_mailer",
                    "DEVELOPMENT MAILER (test mode has no TEST_SMTP_URL, so nothing is sent): the reset link for {} is {}{}",
                    row.recipient,
                    if message.link.is_empty() { "(none)" } else { &message.link },
                    code.map(|c| format!(", its code is {c}")).unwrap_or_default(),
                );
                Attempt::Logged
            }
            Channel::Off => failed(true, "email is turned off for this mode".into()),
        }
    }

    /// The "password changed" message `row` stands for: no token, no link
    /// but the storefront's request page.
    fn changed_message(&self, row: &email::Model) -> std::result::Result<Built, String> {
        let settings = &self.settings;
        let locale = settings.templates.resolve(&row.locale);
        let context = ChangedContext {
            email: row.recipient.clone(),
            changed_at: row.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            changed_from: row.changed_from.clone(),
            forgot_url: settings.mode(row.mode).forgot_url.clone(),
            shop_name: settings.shop_name.clone(),
            locale: locale.clone(),
        };
        let set = TemplateSet::PasswordChanged;
        let rendered = settings.templates.render_set(&locale, set, &context)?;
        let message = self.envelope(row, rendered)?;
        Ok(Built {
            message,
            link: String::new(),
            code: None,
        })
    }

    /// The message `row` stands for, with its link and code.
    fn message(
        &self,
        row: &email::Model,
        reset: &reset::Model,
        now: DateTime<Utc>,
    ) -> std::result::Result<Built, String> {
        let settings = &self.settings;
        let sealed = row.token.as_deref().ok_or("the token is gone")?;
        let opened = self
            .sealer
            .open(sealed, &row.public_id)
            .map_err(|e| e.to_string())?;
        let secrets = ResetSecrets::from_text(opened);
        let link = match (
            &secrets.token,
            &row.redirect_url,
            &settings.mode(row.mode).reset_url,
        ) {
            (None, _, _) => String::new(),
            (Some(token), Some(page), _) => redirect_link(page, token),
            (Some(token), None, Some(template)) => template.link(token, &reset.public_id),
            (Some(_), None, None) => return Err("this mode has no RESET_URL".into()),
        };
        let locale = settings.templates.resolve(&row.locale);
        let until = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
        let left = |at: DateTime<Utc>| (at - now).num_seconds().max(0);
        // A code that has run out is left out; the link may still work.
        let code_until = reset.code_expires_at.filter(|at| *at > now);
        let code = secrets.code.filter(|_| code_until.is_some());
        let context = MailContext {
            link: link.clone(),
            code: code.clone(),
            email: row.recipient.clone(),
            expires_at: until(reset.expires_at),
            expires_in_hours: (left(reset.expires_at) + 3_599) / 3_600,
            code_expires_at: code_until.map(until),
            code_expires_in_minutes: code_until.map(|at| (left(at) + 59) / 60),
            shop_name: settings.shop_name.clone(),
            locale: locale.clone(),
        };
        if link.is_empty() && code.is_none() {
            return Err("the email has neither a link nor a working code".into());
        }
        let rendered = settings.templates.render(&locale, &context)?;
        let message = self.envelope(row, rendered)?;
        Ok(Built {
            message,
            link,
            code,
        })
    }

    /// `rendered` as a message to `row`'s recipient, with its id.
    fn envelope(
        &self,
        row: &email::Model,
        rendered: Rendered,
    ) -> std::result::Result<Message, String> {
        let settings = &self.settings;
        let to: Mailbox = row
            .recipient
            .parse()
            .map_err(|e| format!("the recipient address: {e}"))?;
        let domain = settings.from.email.domain().to_owned();
        let mut builder = Message::builder()
            .from(settings.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(format!("<{}@{domain}>", row.public_id)));
        if let Some(reply_to) = &settings.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| format!("building the message: {e}"))
    }

    /// Moves `row` on after `attempt`.
    async fn record(&self, row: email::Model, attempt: Attempt) -> Result<()> {
        let now = self.clock.now();
        let attempts = row.attempt_count + 1;
        let mut active: email::ActiveModel = row.into();
        active.locked_until = Set(None);
        active.locked_by = Set(None);
        active.updated_at = Set(now);
        let outcome = match attempt {
            Attempt::Sent | Attempt::Logged => {
                active.attempt_count = Set(attempts);
                active.status = Set(DeliveryStatus::Delivered);
                active.sent_at = Set(Some(now));
                active.token = Set(None);
                active.last_error = Set(None);
                if matches!(attempt, Attempt::Sent) {
                    "sent"
                } else {
                    "logged"
                }
            }
            Attempt::Moot => {
                active.status = Set(DeliveryStatus::Expired);
                active.token = Set(None);
                "moot"
            }
            Attempt::Failed { permanent, error } => {
                active.attempt_count = Set(attempts);
                active.last_error = Set(Some(error.chars().take(500).collect()));
                if permanent || attempts >= MAX_ATTEMPTS {
                    active.status = Set(DeliveryStatus::Failed);
                    active.token = Set(None);
                    "failed"
                } else {
                    active.next_attempt_at = Set(now + backoff(attempts));
                    "retrying"
                }
            }
        };
        active.update(&self.db).await.map_err(Error::from)?;
        self.metrics.reset_email(outcome);
        Ok(())
    }
}

/// A message ready to send, and the link and code in it.
struct Built {
    message: Message,
    link: String,
    code: Option<String>,
}
