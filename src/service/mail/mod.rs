//! The reset email, a delivery channel beside webhooks: the server mails the
//! customer the link that completes the reset, so a storefront works with no
//! code of the merchant's.
//! - here: the settings of each mode (which channel, which link);
//! - `link`: the link, from `RESET_URL` or an allowed `redirectUrl`;
//! - `templates`: subject and bodies per language (minijinja);
//! - `outbox`: the email written in the reset's transaction, token sealed;
//! - `sender`: the background job that sends due emails (SMTP, or the
//!   development mailer's log line), with retries;
//! - `smtp`: the SMTP server a URL names.

mod link;
mod outbox;
mod sender;
mod smtp;
mod templates;

use lettre::message::Mailbox;

pub use link::{ResetUrl, check_redirect};
pub use outbox::{EmailWish, expire_tokens, of_resets, record, record_password_changed};
pub use sender::Mailer;
pub use smtp::SmtpTarget;
pub use templates::{
    ChangedContext, DEFAULT_LOCALE, MailContext, Rendered, TemplateSet, Templates, is_locale,
};

use crate::domain::Mode;

/// The link test mode uses when `TEST_RESET_URL` is not set: a storefront
/// in development on its usual port.
pub const DEFAULT_TEST_RESET_URL: &str = "http://localhost:3000/reset-password?token={token}";

/// How one mode's reset emails leave.
#[derive(Debug, Clone)]
pub enum Channel {
    /// Through this SMTP server.
    Smtp(Box<SmtpTarget>),
    /// Written to the server's log, one line (test mode without `TEST_SMTP_URL`).
    DevelopmentLog,
    /// Not at all.
    Off,
}

impl Channel {
    /// What clients are told (`SMTP`, `DEVELOPMENT_LOG`, `OFF`).
    pub fn name(&self) -> &'static str {
        match self {
            Channel::Smtp(_) => "SMTP",
            Channel::DevelopmentLog => "DEVELOPMENT_LOG",
            Channel::Off => "OFF",
        }
    }
}

/// One mode's email settings.
#[derive(Debug, Clone)]
pub struct ModeMail {
    /// How its emails leave.
    pub channel: Channel,
    /// The link template; required when `channel` is not `Off`.
    pub reset_url: Option<ResetUrl>,
    /// The storefront's page for requesting a reset, for the "this wasn't
    /// me" line of the "password changed" email.
    pub forgot_url: Option<String>,
}

/// Everything about the reset email.
#[derive(Debug)]
pub struct MailSettings {
    /// Live mode's channel and link.
    pub live: ModeMail,
    /// Test mode's channel and link.
    pub test: ModeMail,
    /// The `From:` of every email.
    pub from: Mailbox,
    /// An optional `Reply-To:`.
    pub reply_to: Option<Mailbox>,
    /// The shop's name, for the templates.
    pub shop_name: String,
    /// Origins a create's `redirectUrl` may point at.
    pub allowed_origins: Vec<String>,
    /// The templates of every language.
    pub templates: Templates,
    /// Whether a completed reset is followed by a "password changed" email.
    pub password_changed: bool,
}

impl MailSettings {
    /// The defaults: test mode writes its links to the log, live mode sends
    /// nothing, built-in templates.
    ///
    /// # Errors
    /// Never in practice: the built-in templates are checked by tests.
    pub fn development() -> Result<Self, String> {
        Ok(Self {
            live: ModeMail {
                channel: Channel::Off,
                reset_url: None,
                forgot_url: None,
            },
            test: ModeMail {
                channel: Channel::DevelopmentLog,
                reset_url: Some(ResetUrl::parse(DEFAULT_TEST_RESET_URL)?),
                forgot_url: None,
            },
            from: "pwreset <no-reply@localhost>"
                .parse()
                .map_err(|e| format!("the default From: {e}"))?,
            reply_to: None,
            shop_name: "our shop".into(),
            allowed_origins: Vec::new(),
            templates: Templates::load(None)?,
            password_changed: true,
        })
    }

    /// `mode`'s settings.
    pub fn mode(&self, mode: Mode) -> &ModeMail {
        match mode {
            Mode::Live => &self.live,
            Mode::Test => &self.test,
        }
    }

    /// Whether resets of `mode` are emailed.
    pub fn sends(&self, mode: Mode) -> bool {
        let settings = self.mode(mode);
        !matches!(settings.channel, Channel::Off) && settings.reset_url.is_some()
    }
}
