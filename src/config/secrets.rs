//! Secrets given as files, where each setting came from, and secrets kept
//! out of every message.
//!
//! Each secret has a `*_FILE` form (`DATABASE_URL_FILE`,
//! `TOKEN_ENCRYPTION_KEY_FILE`, …) naming a file that holds it, as
//! orchestrators mount secrets; trailing newlines are dropped, and setting
//! both forms is an error. A [`Redactor`] knows every secret value of the
//! configuration and blanks it out of any message before it is printed.

use std::{collections::BTreeMap, path::Path};

use clap::{ArgMatches, parser::ValueSource};

use super::Config;

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Its default.
    Default,
    /// A command-line flag.
    Flag,
    /// Its environment variable.
    Environment,
    /// The file its `*_FILE` setting names.
    File,
    /// Not set, and no default.
    Unset,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::File => "file",
            Source::Unset => "unset",
        })
    }
}

/// Where each setting came from, by argument id (the field's name).
#[derive(Debug, Clone, Default)]
pub struct Sources(BTreeMap<String, Source>);

impl Sources {
    /// Where the setting with argument id `id` came from.
    pub fn of(&self, id: &str) -> Source {
        self.0.get(id).copied().unwrap_or(Source::Unset)
    }

    /// Whether the setting `id` was given (not its default, not unset).
    fn given(&self, id: &str) -> bool {
        !matches!(self.of(id), Source::Default | Source::Unset)
    }
}

/// The secrets with a file form: the setting's id and name, its file
/// setting's id and name.
const FILE_FORMS: &[(&str, &str, &str, &str)] = &[
    (
        "database_url",
        "DATABASE_URL",
        "database_url_file",
        "DATABASE_URL_FILE",
    ),
    (
        "token_encryption_key",
        "TOKEN_ENCRYPTION_KEY",
        "token_encryption_key_file",
        "TOKEN_ENCRYPTION_KEY_FILE",
    ),
    (
        "token_encryption_key_old",
        "TOKEN_ENCRYPTION_KEY_OLD",
        "token_encryption_key_old_file",
        "TOKEN_ENCRYPTION_KEY_OLD_FILE",
    ),
    (
        "captcha_secret",
        "CAPTCHA_SECRET",
        "captcha_secret_file",
        "CAPTCHA_SECRET_FILE",
    ),
];

/// The text of the secret file at `path`, without its trailing newlines.
///
/// # Errors
/// A message naming `setting` and the file (never its content).
pub(super) fn read_secret(setting: &str, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|text| text.trim_end_matches(['\n', '\r']).to_owned())
        .map_err(|e| format!("{setting} {}: {e}", path.display()))
}

impl Config {
    /// Records where every setting came from in `matches` (the command
    /// line this configuration was parsed from), then reads each secret given
    /// as a file into its setting.
    ///
    /// # Errors
    /// One message per problem: a secret set in both forms, a file that
    /// cannot be read.
    pub fn resolve_files(&mut self, matches: &ArgMatches) -> Result<Sources, Vec<String>> {
        let mut sources = Sources::default();
        for id in matches.ids() {
            let source = match matches.value_source(id.as_str()) {
                Some(ValueSource::DefaultValue) => Source::Default,
                Some(ValueSource::EnvVariable) => Source::Environment,
                Some(ValueSource::CommandLine) => Source::Flag,
                _ => Source::Unset,
            };
            sources.0.insert(id.to_string(), source);
        }
        let mut problems = Vec::new();
        for (id, name, file_id, file_name) in FILE_FORMS {
            let Some(path) = self.file_of(file_id) else {
                continue;
            };
            if sources.given(id) {
                problems.push(format!(
                    "{name} and {file_name} are both set: set one of them"
                ));
                continue;
            }
            match read_secret(file_name, &path) {
                Ok(secret) => {
                    self.set_secret(id, secret);
                    sources.0.insert((*id).to_owned(), Source::File);
                }
                Err(e) => problems.push(e),
            }
        }
        // A password file without its server would be ignored: refused,
        // whatever the command.
        let mail = &self.mail;
        for (file, url, file_name, url_name) in [
            (
                &mail.smtp_password_file,
                &mail.smtp_url,
                "SMTP_PASSWORD_FILE",
                "SMTP_URL",
            ),
            (
                &mail.test_smtp_password_file,
                &mail.test_smtp_url,
                "TEST_SMTP_PASSWORD_FILE",
                "TEST_SMTP_URL",
            ),
        ] {
            if file.is_some() && url.is_none() {
                problems.push(format!(
                    "{file_name} is set but {url_name} is not: set the server too"
                ));
            }
        }
        if problems.is_empty() {
            Ok(sources)
        } else {
            Err(problems)
        }
    }

    fn file_of(&self, file_id: &str) -> Option<std::path::PathBuf> {
        match file_id {
            "database_url_file" => self.database_url_file.clone(),
            "token_encryption_key_file" => self.tokens.token_encryption_key_file.clone(),
            "token_encryption_key_old_file" => self.tokens.token_encryption_key_old_file.clone(),
            "captcha_secret_file" => self.captcha.secret_file.clone(),
            _ => None,
        }
    }

    fn set_secret(&mut self, id: &str, secret: String) {
        match id {
            "database_url" => self.database_url = secret,
            "token_encryption_key" => self.tokens.token_encryption_key = Some(secret),
            "token_encryption_key_old" => self.tokens.token_encryption_key_old = Some(secret),
            "captcha_secret" => self.captcha.secret = Some(secret),
            _ => {}
        }
    }

    /// What blanks this configuration's secrets out of a message.
    pub fn redactor(&self) -> Redactor {
        let mut secrets = Vec::new();
        let mut url = |raw: &str| {
            if let Some(password) = url_password(raw) {
                secrets.push((raw.to_owned(), redact_url(raw)));
                secrets.push((password, "[redacted]".to_owned()));
            }
        };
        url(&self.database_url);
        for smtp in [&self.mail.smtp_url, &self.mail.test_smtp_url]
            .into_iter()
            .flatten()
        {
            url(smtp);
        }
        for key in [
            &self.tokens.token_encryption_key,
            &self.tokens.token_encryption_key_old,
            &self.captcha.secret,
        ]
        .into_iter()
        .flatten()
        {
            secrets.push((key.trim().to_owned(), "[redacted]".to_owned()));
        }
        // The collector's headers: each value, decoded and as given.
        for (_, value) in self
            .traces
            .headers
            .iter()
            .flat_map(|raw| raw.split(','))
            .filter_map(|pair| pair.split_once('='))
        {
            let decoded = percent_encoding::percent_decode_str(value.trim()).decode_utf8_lossy();
            secrets.push((decoded.into_owned(), "[redacted]".to_owned()));
            secrets.push((value.trim().to_owned(), "[redacted]".to_owned()));
        }
        secrets.retain(|(raw, _)| raw.len() >= 4);
        // The longest first, so a URL is replaced before the password in it.
        secrets.sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
        Redactor(secrets)
    }
}

/// Blanks the secrets of a configuration out of messages.
#[derive(Debug, Clone, Default)]
pub struct Redactor(Vec<(String, String)>);

impl Redactor {
    /// `message` with every secret replaced (a URL by the URL without its
    /// password, anything else by `[redacted]`).
    pub fn redact(&self, message: &str) -> String {
        self.0
            .iter()
            .fold(message.to_owned(), |text, (raw, shown)| {
                text.replace(raw, shown)
            })
    }
}

/// The password in `url`'s user information (`scheme://user:password@host`),
/// found by hand so that a URL too malformed to parse still has it found.
fn url_password(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// Whether `url` holds a password in its user information.
pub(super) fn url_has_password(url: &str) -> bool {
    url_password(url).is_some()
}

/// `url` with the password in its user information shown as `***`.
pub fn redact_url(url: &str) -> String {
    match url_password(url) {
        Some(password) => url.replacen(&format!(":{password}@"), ":***@", 1),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_found_and_hidden_even_in_a_url_that_does_not_parse() {
        let bad = "postgres://u:secretpw@host:notaport/db";
        assert_eq!(url_password(bad).as_deref(), Some("secretpw"));
        assert_eq!(redact_url(bad), "postgres://u:***@host:notaport/db");
        assert_eq!(redact_url("postgres://u@host/db"), "postgres://u@host/db");
        assert_eq!(url_password("sqlite://pwreset.db?mode=rwc"), None);
        let redactor = Redactor(vec![
            (bad.to_owned(), redact_url(bad)),
            ("secretpw".to_owned(), "[redacted]".to_owned()),
        ]);
        let message = format!("The connection string '{bad}' cannot be parsed (secretpw)");
        let shown = redactor.redact(&message);
        assert!(!shown.contains("secretpw"), "{shown}");
        assert!(shown.contains("postgres://u:***@host"), "{shown}");
    }
}
