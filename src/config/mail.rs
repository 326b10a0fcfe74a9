//! The reset email's settings: where mail goes in each mode, the link it
//! carries, and how it reads.

use std::path::PathBuf;

use clap::Args;

use crate::flags;
use crate::service::mail::{
    Channel, DEFAULT_TEST_RESET_URL, MailSettings, ModeMail, ResetUrl, SmtpTarget, Templates,
};
use crate::service::outbound::ExtraRoots;

/// Settings of the reset email.
#[derive(Clone, Args)]
#[command(next_help_heading = "Email")]
pub struct MailConfig {
    /// Live mode's SMTP server: `smtp://user:pass@host:587` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS) or `smtp://host:1025?tls=none`;
    /// none by default (live mode sends no email). Needs `RESET_URL` and
    /// `MAIL_FROM`.
    #[arg(long, env = "SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// A file holding the password for `SMTP_URL` (instead of one in the URL).
    #[arg(long, env = "SMTP_PASSWORD_FILE", global = true)]
    pub smtp_password_file: Option<PathBuf>,
    /// A file holding the password for `TEST_SMTP_URL` (instead of one in the URL).
    #[arg(long, env = "TEST_SMTP_PASSWORD_FILE", global = true)]
    pub test_smtp_password_file: Option<PathBuf>,
    /// Test mode's SMTP server, in the same forms. Unset, test mode's emails
    /// go to the server's log (the development mailer); test mode never uses
    /// `SMTP_URL` unless this names the same server.
    #[arg(long, env = "TEST_SMTP_URL", global = true)]
    pub test_smtp_url: Option<String>,
    /// The sender, such as `Example Shop <no-reply@shop.example>`; required
    /// with an SMTP server.
    #[arg(long, env = "MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// An optional `Reply-To:` address.
    #[arg(long, env = "MAIL_REPLY_TO", global = true)]
    pub mail_reply_to: Option<String>,
    /// Live mode's link, holding `{token}` once, such as
    /// `https://shop.example/reset-password?token={token}`.
    #[arg(long, env = "RESET_URL", global = true)]
    pub reset_url: Option<String>,
    /// Test mode's link.
    #[arg(long, env = "TEST_RESET_URL", default_value = DEFAULT_TEST_RESET_URL, global = true)]
    pub test_reset_url: String,
    /// Origins a create's `redirectUrl` may point at, comma-separated, such as
    /// `https://shop.example`; none by default (every `redirectUrl` is refused).
    #[arg(long, env = "RESET_URL_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = flags::origin, global = true)]
    pub reset_url_allowed_origins: Vec<String>,
    /// A directory of templates overriding or adding languages:
    /// `DIR/<locale>/subject.txt`, `body.txt`, `body.html`, and the "password
    /// changed" email's in `DIR/<locale>/password_changed/`.
    #[arg(long, env = "MAIL_TEMPLATES_DIR", global = true)]
    pub mail_templates_dir: Option<PathBuf>,
    /// The shop's name, as the emails say it.
    #[arg(long, env = "SHOP_NAME", default_value = "our shop", global = true)]
    pub shop_name: String,
    /// Email the customer "your password was changed" after every completed
    /// reset, wherever the mode sends email.
    #[arg(long, env = "PASSWORD_CHANGED_EMAIL", default_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set,
          global = true)]
    pub password_changed_email: bool,
    /// Live mode's page for requesting a reset, for the "this wasn't me"
    /// line of the "password changed" email.
    #[arg(long, env = "FORGOT_URL", value_parser = page_url, global = true)]
    pub forgot_url: Option<String>,
    /// Test mode's page for requesting a reset.
    #[arg(long, env = "TEST_FORGOT_URL", value_parser = page_url, global = true)]
    pub test_forgot_url: Option<String>,
}

impl std::fmt::Debug for MailConfig {
    // The SMTP URLs may hold passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[redacted]"))
            .field(
                "test_smtp_url",
                &self.test_smtp_url.as_ref().map(|_| "[redacted]"),
            )
            .field("reset_url", &self.reset_url)
            .field("test_reset_url", &self.test_reset_url)
            .finish_non_exhaustive()
    }
}

impl MailConfig {
    /// The settings, checked; SMTP over TLS trusts `extra` too.
    ///
    /// # Errors
    /// A message naming the setting that is wrong or missing.
    pub fn settings(&self, extra: Option<&ExtraRoots>) -> Result<MailSettings, String> {
        let live_smtp = smtp_target(
            ("SMTP_URL", self.smtp_url.as_deref()),
            ("SMTP_PASSWORD_FILE", self.smtp_password_file.as_deref()),
            extra,
        )?;
        let test_smtp = smtp_target(
            ("TEST_SMTP_URL", self.test_smtp_url.as_deref()),
            (
                "TEST_SMTP_PASSWORD_FILE",
                self.test_smtp_password_file.as_deref(),
            ),
            extra,
        )?;
        let reset_url = self
            .reset_url
            .as_deref()
            .map(ResetUrl::parse)
            .transpose()
            .map_err(|e| format!("RESET_URL {e}"))?;
        if live_smtp.is_some() && reset_url.is_none() {
            return Err(
                "SMTP_URL is set but RESET_URL is not: live emails would carry no link (set RESET_URL, such as https://shop.example/reset-password?token={token})".into(),
            );
        }
        let test_reset_url =
            ResetUrl::parse(&self.test_reset_url).map_err(|e| format!("TEST_RESET_URL {e}"))?;
        let mut settings = MailSettings::development()?;
        if live_smtp.is_some() || test_smtp.is_some() {
            let from = self
                .mail_from
                .as_deref()
                .ok_or("MAIL_FROM is required with an SMTP server, such as `Example Shop <no-reply@shop.example>`")?;
            settings.from = from
                .parse()
                .map_err(|e| format!("MAIL_FROM {from:?} is not an address: {e}"))?;
        } else if let Some(from) = &self.mail_from {
            settings.from = from
                .parse()
                .map_err(|e| format!("MAIL_FROM {from:?} is not an address: {e}"))?;
        }
        settings.reply_to = self
            .mail_reply_to
            .as_deref()
            .map(|r| {
                r.parse()
                    .map_err(|e| format!("MAIL_REPLY_TO {r:?} is not an address: {e}"))
            })
            .transpose()?;
        settings.live = ModeMail {
            channel: live_smtp.map_or(Channel::Off, |t| Channel::Smtp(Box::new(t))),
            reset_url,
            forgot_url: self.forgot_url.clone(),
        };
        settings.test = ModeMail {
            channel: test_smtp.map_or(Channel::DevelopmentLog, |t| Channel::Smtp(Box::new(t))),
            reset_url: Some(test_reset_url),
            forgot_url: self.test_forgot_url.clone(),
        };
        settings.allowed_origins = self.reset_url_allowed_origins.clone();
        settings.shop_name = self.shop_name.clone();
        settings.password_changed = self.password_changed_email;
        settings.templates = Templates::load(self.mail_templates_dir.as_deref())?;
        Ok(settings)
    }
}

/// The SMTP server the setting `url` names, with the password from the file
/// `password_file` names when it is set.
///
/// # Errors
/// A message naming the setting: a bad URL, a password file without a URL, a
/// password both in the URL and in a file, a file that cannot be read.
fn smtp_target(
    (url_name, url): (&str, Option<&str>),
    (file_name, file): (&str, Option<&std::path::Path>),
    extra: Option<&ExtraRoots>,
) -> Result<Option<SmtpTarget>, String> {
    let password = file
        .map(|path| super::secrets::read_secret(file_name, path))
        .transpose()?;
    let Some(url) = url else {
        return match password {
            Some(_) => Err(format!(
                "{file_name} is set but {url_name} is not: set the server too"
            )),
            None => Ok(None),
        };
    };
    if password.is_some() && super::secrets::url_has_password(url) {
        return Err(format!(
            "{url_name} holds a password and {file_name} is set too: set one of them"
        ));
    }
    SmtpTarget::parse(url, password.as_deref(), extra)
        .map(Some)
        .map_err(|e| format!("{url_name} {e}"))
}

/// A page of the storefront: an absolute http(s) URL without credentials.
fn page_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw.trim()).map_err(|_| format!("{raw:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(format!(
            "{raw:?} must be an http(s) URL without credentials"
        ));
    }
    Ok(url.to_string())
}
