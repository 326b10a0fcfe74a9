//! An optional bot challenge on storefront creates: Cloudflare Turnstile,
//! hCaptcha or Google reCAPTCHA. The storefront passes the widget's token as
//! `captchaToken`; the server posts `secret`, `response` and `remoteip` to
//! the provider's siteverify endpoint and reads `success` (and `score` and
//! `hostname`, where configured). A provider that cannot be reached fails
//! closed. Integration keys are never challenged.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

use crate::{
    domain::ErrorCode,
    service::{
        Error, Result, UserError,
        outbound::{self, ExtraRoots},
    },
};

/// The bot challenge providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    /// Cloudflare Turnstile.
    Turnstile,
    /// hCaptcha.
    Hcaptcha,
    /// Google reCAPTCHA (v2, or v3 with `CAPTCHA_MIN_SCORE`).
    Recaptcha,
}

impl Provider {
    /// The provider's own siteverify endpoint.
    fn verify_url(self) -> &'static str {
        match self {
            Provider::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            Provider::Hcaptcha => "https://api.hcaptcha.com/siteverify",
            Provider::Recaptcha => "https://www.google.com/recaptcha/api/siteverify",
        }
    }
}

/// The bot challenge's settings; without `CAPTCHA_PROVIDER` there is none.
#[derive(Debug, Clone, PartialEq, clap::Args)]
#[command(next_help_heading = "Bot challenge")]
pub struct CaptchaSettings {
    /// Challenge storefront creates with this provider: `turnstile`,
    /// `hcaptcha` or `recaptcha`. Unset, there is no challenge.
    #[arg(
        id = "captcha_provider",
        long = "captcha-provider",
        env = "CAPTCHA_PROVIDER",
        value_enum,
        global = true
    )]
    pub provider: Option<Provider>,
    /// The provider's secret key (required with a provider).
    #[arg(
        id = "captcha_secret",
        long = "captcha-secret",
        env = "CAPTCHA_SECRET",
        global = true
    )]
    pub secret: Option<String>,
    /// A file holding the secret key, instead of `CAPTCHA_SECRET`.
    #[arg(
        id = "captcha_secret_file",
        long = "captcha-secret-file",
        env = "CAPTCHA_SECRET_FILE",
        global = true
    )]
    pub secret_file: Option<PathBuf>,
    /// The siteverify endpoint; the provider's own by default.
    #[arg(
        id = "captcha_verify_url",
        long = "captcha-verify-url",
        env = "CAPTCHA_VERIFY_URL",
        global = true
    )]
    pub verify_url: Option<url::Url>,
    /// reCAPTCHA v3: the lowest `score` (0.0 to 1.0) that passes.
    #[arg(
        id = "captcha_min_score",
        long = "captcha-min-score",
        env = "CAPTCHA_MIN_SCORE",
        global = true
    )]
    pub min_score: Option<f64>,
    /// Hostnames a passed challenge must have been solved on
    /// (comma-separated); any when unset.
    #[arg(
        id = "captcha_hostnames",
        long = "captcha-hostnames",
        env = "CAPTCHA_HOSTNAMES",
        value_delimiter = ',',
        global = true
    )]
    pub hostnames: Vec<String>,
    /// How long the server waits for the provider, in milliseconds.
    #[arg(id = "captcha_timeout", long = "captcha-timeout-ms", env = "CAPTCHA_TIMEOUT_MS", default_value = "3000",
          value_parser = crate::flags::millis(100..=60_000), global = true)]
    pub timeout: Duration,
}

impl Default for CaptchaSettings {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

/// A configured bot challenge.
#[derive(Debug, Clone)]
pub struct Captcha {
    secret: String,
    verify_url: String,
    min_score: Option<f64>,
    hostnames: Vec<String>,
    client: reqwest::Client,
}

/// The provider's answer, as far as it is read.
#[derive(Debug, Deserialize)]
struct Answer {
    success: bool,
    score: Option<f64>,
    hostname: Option<String>,
}

impl CaptchaSettings {
    /// The challenge these settings describe; `None` without a provider.
    ///
    /// # Errors
    /// A message naming the setting: a provider without a secret, a secret
    /// or other setting without a provider, a score outside 0.0 to 1.0.
    pub fn captcha(&self, extra: Option<&ExtraRoots>) -> Result<Option<Captcha>, String> {
        let Some(provider) = self.provider else {
            if self.secret.is_some() || self.verify_url.is_some() || self.min_score.is_some() {
                return Err("CAPTCHA_SECRET, CAPTCHA_VERIFY_URL and CAPTCHA_MIN_SCORE need CAPTCHA_PROVIDER".into());
            }
            return Ok(None);
        };
        let secret =
            self.secret.clone().filter(|s| !s.is_empty()).ok_or(
                "CAPTCHA_PROVIDER is set but CAPTCHA_SECRET (or CAPTCHA_SECRET_FILE) is not",
            )?;
        if let Some(score) = self.min_score
            && !(0.0..=1.0).contains(&score)
        {
            return Err("CAPTCHA_MIN_SCORE must be between 0.0 and 1.0".into());
        }
        let builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")));
        let client = outbound::trusting(builder, extra)
            .build()
            .map_err(|e| format!("the bot challenge's HTTP client: {e}"))?;
        let verify_url = self
            .verify_url
            .as_ref()
            .map_or_else(|| provider.verify_url().to_owned(), ToString::to_string);
        Ok(Some(Captcha {
            secret,
            verify_url,
            min_score: self.min_score,
            hostnames: self.hostnames.clone(),
            client,
        }))
    }
}

impl Captcha {
    /// Checks a storefront's `token`, solved by the client at `remote_ip`.
    ///
    /// # Errors
    /// [`Error::User`] with `CAPTCHA_REQUIRED` (no token) or `CAPTCHA_FAILED`
    /// (refused, a low score, another hostname); [`Error::Unavailable`] when
    /// the provider does not answer in time or answers nonsense.
    pub async fn check(&self, token: Option<&str>, remote_ip: Option<IpAddr>) -> Result<()> {
        let refuse = |code, message: &str| {
            Err(Error::User(vec![UserError::new(
                &["input", "captchaToken"],
                code,
                message,
            )]))
        };
        let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
            return refuse(ErrorCode::CaptchaRequired, "solve the bot challenge first");
        };
        if token.len() > 4096 {
            return refuse(ErrorCode::CaptchaFailed, "the bot challenge was not passed");
        }
        let remote_ip = remote_ip.map(|ip| ip.to_string());
        let mut form = vec![("secret", self.secret.as_str()), ("response", token)];
        if let Some(ip) = &remote_ip {
            form.push(("remoteip", ip));
        }
        let unavailable = |e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "the bot challenge provider did not answer");
            Error::Unavailable("the bot challenge cannot be checked right now; try again".into())
        };
        let response = self
            .client
            .post(&self.verify_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(&e.without_url()))?;
        if !response.status().is_success() {
            return Err(unavailable(&response.status()));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|e| unavailable(&e.without_url()))?;
        let score_ok = match (self.min_score, answer.score) {
            (Some(min), Some(score)) => score >= min,
            (Some(_), None) => false,
            (None, _) => true,
        };
        let host_ok = self.hostnames.is_empty()
            || answer
                .hostname
                .as_ref()
                .is_some_and(|h| self.hostnames.iter().any(|allowed| allowed == h));
        if answer.success && score_ok && host_ok {
            Ok(())
        } else {
            refuse(ErrorCode::CaptchaFailed, "the bot challenge was not passed")
        }
    }
}
