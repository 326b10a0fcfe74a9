//! Where reset emails go: an SMTP server named by a URL.
//! - `smtp://user:pass@host:587`: STARTTLS, required (the default port 587);
//! - `smtps://user:pass@host:465`: TLS from the first byte (default port 465);
//! - `smtp://host:1025?tls=none`: no TLS, for a local sink such as Mailpit.
//!
//! The password may instead come from a file (`SMTP_PASSWORD_FILE`), so it
//! need not sit in the environment. TLS is rustls with the webpki roots, plus
//! `EXTRA_CA_FILE`'s certificates (see [`crate::service::outbound`]).

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, Tokio1Executor,
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use url::Url;

use crate::service::outbound::ExtraRoots;

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// An SMTP server to send through.
#[derive(Clone)]
pub struct SmtpTarget {
    /// The URL without its password, for logs and the start-up banner.
    shown: String,
    /// The configured transport (it opens a connection per message).
    pub(super) transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("url", &self.shown)
            .finish()
    }
}

impl SmtpTarget {
    /// The server `raw` names; `password`, when given, replaces the URL's;
    /// TLS trusts `extra` too.
    ///
    /// # Errors
    /// A message (never holding the password) when the URL is not one of the
    /// three forms.
    pub fn parse(
        raw: &str,
        password: Option<&str>,
        extra: Option<&ExtraRoots>,
    ) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|_| "is not a URL".to_owned())?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("names no host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let tls_param = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let tls = |host: &str| {
            let mut parameters = TlsParameters::builder(host.to_owned());
            if let Some(extra) = extra {
                parameters = parameters.add_root_certificate(extra.for_mail()?);
            }
            parameters
                .build()
                .map_err(|e| format!("TLS for {host}: {e}"))
        };
        let (port, tls) = match (url.scheme(), tls_param.as_deref()) {
            ("smtp", None | Some("required")) => (587, Tls::Required(tls(&host)?)),
            ("smtp", Some("none")) => (25, Tls::None),
            ("smtps", None) => (465, Tls::Wrapper(tls(&host)?)),
            (scheme, tls) => {
                return Err(format!(
                    "must be smtp://… (STARTTLS), smtps://… (TLS) or smtp://…?tls=none, not {scheme}:// with tls={}",
                    tls.unwrap_or("(none)")
                ));
            }
        };
        let port = url.port().unwrap_or(port);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        let user = decode(url.username());
        let password = password
            .map(|p| p.trim_end_matches(['\n', '\r']).to_owned())
            .or_else(|| url.password().map(decode));
        if let Some(password) = password {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let mut shown = url.clone();
        let _ = shown.set_password(None);
        Ok(Self {
            shown: shown.to_string(),
            transport: builder.build(),
        })
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Connects to the server (TLS and login included) and says goodbye.
    ///
    /// # Errors
    /// The mail server's or the connection's error, as text.
    pub async fn test_connection(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the server did not accept the connection".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A percent-encoded URL part, decoded.
fn decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse_and_the_password_is_never_shown() {
        let starttls = SmtpTarget::parse("smtp://mailer:s3cret@mail.example", None, None).unwrap();
        assert_eq!(starttls.shown(), "smtp://mailer@mail.example");
        assert!(!format!("{starttls:?}").contains("s3cret"));
        assert!(SmtpTarget::parse("smtps://mailer:s3cret@mail.example:465", None, None).is_ok());
        assert!(SmtpTarget::parse("smtp://127.0.0.1:1025?tls=none", None, None).is_ok());
        for bad in [
            "http://mail.example",
            "smtp://mail.example?tls=maybe",
            "smtp://",
            "mail.example",
        ] {
            let error = SmtpTarget::parse(bad, None, None).unwrap_err();
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
