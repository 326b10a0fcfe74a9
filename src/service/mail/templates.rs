//! The reset email's templates: a subject, a plain-text body and an HTML
//! body per language, rendered with minijinja (HTML auto-escaped in
//! `body.html`, and an unknown variable is an error, not an empty string).
//! English and German are built in; `MAIL_TEMPLATES_DIR` overrides any of
//! them and adds languages (`DIR/<locale>/subject.txt`, `body.txt`,
//! `body.html`). Every template is loaded and rendered once at start-up, so
//! a broken one stops the server there, not at the first reset.

use std::{collections::BTreeSet, path::Path};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The three templates of a language.
const NAMES: [&str; 3] = ["subject.txt", "body.txt", "body.html"];

/// The language used when the one asked for has no templates.
pub const DEFAULT_LOCALE: &str = "en";

/// The built-in templates, `(locale, name, source)`: the reset email's, then
/// the "password changed" email's (`password_changed/NAME`).
const BUILT_IN: [(&str, &str, &str); 12] = [
    (
        "en",
        "subject.txt",
        include_str!("../../../assets/mail/en/subject.txt"),
    ),
    (
        "en",
        "body.txt",
        include_str!("../../../assets/mail/en/body.txt"),
    ),
    (
        "en",
        "body.html",
        include_str!("../../../assets/mail/en/body.html"),
    ),
    (
        "de",
        "subject.txt",
        include_str!("../../../assets/mail/de/subject.txt"),
    ),
    (
        "de",
        "body.txt",
        include_str!("../../../assets/mail/de/body.txt"),
    ),
    (
        "de",
        "body.html",
        include_str!("../../../assets/mail/de/body.html"),
    ),
    (
        "en",
        "password_changed/subject.txt",
        include_str!("../../../assets/mail/en/password_changed/subject.txt"),
    ),
    (
        "en",
        "password_changed/body.txt",
        include_str!("../../../assets/mail/en/password_changed/body.txt"),
    ),
    (
        "en",
        "password_changed/body.html",
        include_str!("../../../assets/mail/en/password_changed/body.html"),
    ),
    (
        "de",
        "password_changed/subject.txt",
        include_str!("../../../assets/mail/de/password_changed/subject.txt"),
    ),
    (
        "de",
        "password_changed/body.txt",
        include_str!("../../../assets/mail/de/password_changed/body.txt"),
    ),
    (
        "de",
        "password_changed/body.html",
        include_str!("../../../assets/mail/de/password_changed/body.html"),
    ),
];

/// The two emails: the reset link, and "your password was changed".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateSet {
    /// `DIR/<locale>/subject.txt` and the rest.
    Reset,
    /// `DIR/<locale>/password_changed/subject.txt` and the rest.
    PasswordChanged,
}

impl TemplateSet {
    /// The folder of the set's templates within a language's.
    fn folder(self) -> &'static str {
        match self {
            TemplateSet::Reset => "",
            TemplateSet::PasswordChanged => "password_changed/",
        }
    }
}

/// What the "password changed" email's templates can use. No token, no link
/// that resets anything.
#[derive(Debug, Clone, Serialize)]
pub struct ChangedContext {
    /// The customer's email address.
    pub email: String,
    /// When the password changed, as `2026-11-29 19:05 UTC`.
    pub changed_at: String,
    /// The network the change came from (`203.0.113.0/24`), when known.
    pub changed_from: Option<String>,
    /// The mode's `FORGOT_URL`, for "this wasn't me", when set.
    pub forgot_url: Option<String>,
    /// `SHOP_NAME`.
    pub shop_name: String,
    /// The language the email is written in.
    pub locale: String,
}

/// What a template can use.
#[derive(Debug, Clone, Serialize)]
pub struct MailContext {
    /// The link that completes the reset (the token in it, once); empty
    /// when the reset is delivered as a code alone.
    pub link: String,
    /// The one-time code, when the reset has one that still works.
    pub code: Option<String>,
    /// The customer's email address.
    pub email: String,
    /// When the link stops working, as `2026-11-29 19:05 UTC`.
    pub expires_at: String,
    /// How many hours the link works, rounded up.
    pub expires_in_hours: i64,
    /// When the code stops working, with a code.
    pub code_expires_at: Option<String>,
    /// How many minutes the code works, rounded up, with a code.
    pub code_expires_in_minutes: Option<i64>,
    /// `SHOP_NAME`.
    pub shop_name: String,
    /// The language the email is written in.
    pub locale: String,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// The loaded templates of every language.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    locales: BTreeSet<String>,
}

impl Templates {
    /// The built-in templates, overridden and extended by `dir` when given.
    ///
    /// # Errors
    /// A message naming the file when a template cannot be read, does not
    /// parse, or does not render with sample values; or when a language in
    /// `dir` lacks one of the three templates and has no built-in one.
    pub fn load(dir: Option<&Path>) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut locales = BTreeSet::new();
        for (locale, name, source) in BUILT_IN {
            env.add_template_owned(format!("{locale}/{name}"), source.to_owned())
                .map_err(|e| format!("built-in template {locale}/{name}: {e}"))?;
            locales.insert(locale.to_owned());
        }
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("MAIL_TEMPLATES_DIR {}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                let Some(locale) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                if !entry.path().is_dir() || !is_locale(&locale) {
                    continue;
                }
                for set in [TemplateSet::Reset, TemplateSet::PasswordChanged] {
                    for name in NAMES {
                        let name = format!("{}{name}", set.folder());
                        let path = entry.path().join(&name);
                        if !path.exists() {
                            continue;
                        }
                        let source = std::fs::read_to_string(&path)
                            .map_err(|e| format!("{}: {e}", path.display()))?;
                        env.add_template_owned(format!("{locale}/{name}"), source)
                            .map_err(|e| format!("{}: {e}", path.display()))?;
                    }
                }
                locales.insert(locale);
            }
        }
        let templates = Self { env, locales };
        for locale in &templates.locales {
            for context in [
                MailContext::sample(locale),
                MailContext::sample_with_code(locale, true),
                MailContext::sample_with_code(locale, false),
            ] {
                templates
                    .render(locale, &context)
                    .map_err(|e| format!("the {locale} templates: {e}"))?;
            }
            for (changed_from, forgot_url) in [
                (None, None),
                (Some("203.0.113.0/24"), Some("https://shop.example/forgot")),
            ] {
                let context = ChangedContext {
                    changed_from: changed_from.map(str::to_owned),
                    forgot_url: forgot_url.map(str::to_owned),
                    ..ChangedContext::sample(locale)
                };
                templates
                    .render_set(locale, TemplateSet::PasswordChanged, &context)
                    .map_err(|e| format!("the {locale} password_changed templates: {e}"))?;
            }
        }
        Ok(templates)
    }

    /// The language an email asked for in `requested` is written in: the
    /// exact locale, else its language (`de` for `de-CH`), else English.
    pub fn resolve(&self, requested: &str) -> String {
        let language = requested.split(['-', '_']).next().unwrap_or_default();
        [requested, language]
            .into_iter()
            .find(|l| self.locales.contains(*l))
            .unwrap_or(DEFAULT_LOCALE)
            .to_owned()
    }

    /// The languages there are templates for.
    pub fn locales(&self) -> impl Iterator<Item = &str> {
        self.locales.iter().map(String::as_str)
    }

    /// The email in `locale` (one [`Templates::resolve`] gave) for `context`.
    ///
    /// # Errors
    /// minijinja's message when a template fails to render.
    pub fn render(&self, locale: &str, context: &MailContext) -> Result<Rendered, String> {
        self.render_set(locale, TemplateSet::Reset, context)
    }

    /// The email of `set` in `locale` for `context` (a [`MailContext`] or a
    /// [`ChangedContext`]).
    ///
    /// # Errors
    /// minijinja's message when a template fails to render.
    pub fn render_set(
        &self,
        locale: &str,
        set: TemplateSet,
        context: &impl Serialize,
    ) -> Result<Rendered, String> {
        let render = |name: &str| -> Result<String, String> {
            let name = format!("{}{name}", set.folder());
            // A language in the override directory may bring only some of the
            // three; English fills in the rest.
            let template = self
                .env
                .get_template(&format!("{locale}/{name}"))
                .or_else(|_| self.env.get_template(&format!("{DEFAULT_LOCALE}/{name}")))
                .map_err(|e| e.to_string())?;
            template
                .render(minijinja::value::Serde(context))
                .map_err(|e| format!("{name}: {e}"))
        };
        Ok(Rendered {
            subject: render("subject.txt")?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            text: render("body.txt")?,
            html: render("body.html")?,
        })
    }
}

impl ChangedContext {
    /// Values to try every template with at start-up.
    fn sample(locale: &str) -> Self {
        Self {
            email: "ada@example.com".into(),
            changed_at: "2026-11-29 19:05 UTC".into(),
            changed_from: None,
            forgot_url: None,
            shop_name: "Example Shop".into(),
            locale: locale.into(),
        }
    }
}

impl MailContext {
    /// Values to try every template with at start-up.
    fn sample(locale: &str) -> Self {
        Self {
            link: "https://shop.example/reset-password?token=sample".into(),
            code: None,
            email: "ada@example.com".into(),
            expires_at: "2026-11-29 19:05 UTC".into(),
            expires_in_hours: 6,
            code_expires_at: None,
            code_expires_in_minutes: None,
            shop_name: "Example Shop".into(),
            locale: locale.into(),
        }
    }

    /// The sample with a code beside the link (`with_link`) or alone.
    fn sample_with_code(locale: &str, with_link: bool) -> Self {
        let sample = Self::sample(locale);
        Self {
            link: if with_link {
                sample.link
            } else {
                String::new()
            },
            code: Some("12345678".into()),
            code_expires_at: Some("2026-11-29 13:20 UTC".into()),
            code_expires_in_minutes: Some(15),
            ..sample
        }
    }
}

/// Whether `raw` looks like a language tag (`en`, `de-CH`, `pt_BR`): letters
/// first, then letters, digits, `-` or `_`, at most 35 characters.
pub fn is_locale(raw: &str) -> bool {
    let mut parts = raw.split(['-', '_']);
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && raw.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let templates = Templates::load(None).unwrap();
        let context = MailContext {
            email: "<b>ada</b>@example.com".into(),
            ..MailContext::sample("en")
        };
        let mail = templates.render("en", &context).unwrap();
        assert!(
            mail.html
                .contains("&lt;b&gt;ada&lt;&#x2f;b&gt;@example.com"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<b>ada"));
        assert!(mail.text.contains("<b>ada</b>@example.com"));
        assert_eq!(mail.subject, "Reset your Example Shop password");
    }

    #[test]
    fn a_locale_falls_back_to_its_language_then_english() {
        let templates = Templates::load(None).unwrap();
        assert_eq!(templates.resolve("de-CH"), "de");
        assert_eq!(templates.resolve("de"), "de");
        assert_eq!(templates.resolve("fr"), "en");
        assert!(is_locale("pt_BR") && is_locale("de-CH") && is_locale("en"));
        assert!(!is_locale("") && !is_locale("e") && !is_locale("../etc") && !is_locale("en-"));
    }
}
