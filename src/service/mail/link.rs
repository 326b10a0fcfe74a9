//! The link in the email: the mode's `RESET_URL` template with the token in
//! place of `{token}`, or a page the storefront chose (`redirectUrl`), if its
//! origin is allowed, with the token added as the `token` query parameter.
//! Either way the token appears in the link exactly once, URL-encoded. A
//! `RESET_URL` may also hold `{id}`, the reset's id, for clients (such as
//! Commerce Layer's SDK) that complete a reset by its id.

use url::{Url, form_urlencoded::byte_serialize};

use crate::domain::ErrorCode;
use crate::service::UserError;

/// The placeholder a `RESET_URL` holds once.
const PLACEHOLDER: &str = "{token}";
/// The placeholder a `RESET_URL` may hold once for the reset's id.
const ID_PLACEHOLDER: &str = "{id}";

/// A mode's link template, such as `https://shop.example/reset?token={token}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetUrl(String);

impl ResetUrl {
    /// `raw` if it is an http(s) URL holding `{token}` exactly once.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.matches(PLACEHOLDER).count() != 1 {
            return Err(format!("{raw:?} must hold {PLACEHOLDER} exactly once"));
        }
        if raw.matches(ID_PLACEHOLDER).count() > 1 {
            return Err(format!("{raw:?} may hold {ID_PLACEHOLDER} once at most"));
        }
        let url = Url::parse(&raw.replace(PLACEHOLDER, "t").replace(ID_PLACEHOLDER, "i"))
            .map_err(|_| format!("{raw:?} is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || has_user_information(raw) {
            return Err(format!(
                "{raw:?} must be an http(s) URL without credentials"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The link carrying `token`, and `id` (the reset's) where the
    /// template asks for it.
    pub fn link(&self, token: &str, id: &str) -> String {
        self.0
            .replace(ID_PLACEHOLDER, &encode(id))
            .replace(PLACEHOLDER, &encode(token))
    }
}

/// `redirect`, a page a storefront asked for, with `token` as its `token`
/// query parameter (any `token` it had is replaced).
pub fn redirect_link(redirect: &str, token: &str) -> String {
    match Url::parse(redirect) {
        // A page that reads its token from the fragment (`…/reset#`): the
        // browser never sends a fragment to a server, nor in `Referer`.
        Ok(mut url) if url.fragment().is_some() => {
            url.set_fragment(Some(&format!("token={}", encode(token))));
            url.to_string()
        }
        Ok(mut url) => {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "token")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair("token", token);
            url.to_string()
        }
        // Checked when it was accepted; never reached.
        Err(_) => format!("{redirect}?token={}", encode(token)),
    }
}

/// `raw` as a redirect page if it is an http(s) URL without credentials
/// whose origin (`scheme://host[:port]`) is one of `allowed`.
///
/// # Errors
/// `REDIRECT_URL_NOT_ALLOWED` at `["input", "redirectUrl"]`.
pub fn check_redirect(raw: &str, allowed: &[String]) -> Result<String, UserError> {
    let refuse = |why: &str| {
        UserError::new(
            &["input", "redirectUrl"],
            ErrorCode::RedirectUrlNotAllowed,
            why,
        )
    };
    let url = Url::parse(raw.trim()).map_err(|_| refuse("must be an absolute http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") || has_user_information(raw) {
        return Err(refuse("must be an http(s) URL without credentials"));
    }
    if raw.len() > 2048 {
        return Err(refuse("must be at most 2048 characters"));
    }
    let origin = url.origin().ascii_serialization();
    if !allowed.iter().any(|a| a.trim_end_matches('/') == origin) {
        return Err(refuse(
            "its origin is not one of this server's RESET_URL_ALLOWED_ORIGINS",
        ));
    }
    Ok(url.to_string())
}

fn encode(token: &str) -> String {
    byte_serialize(token.as_bytes()).collect()
}

/// Whether the URL `raw` has user information of any form (`user@`,
/// `:password@`, a bare `@`): the parsed URL drops an empty one, so the
/// authority is read as written.
fn has_user_information(raw: &str) -> bool {
    let Some((_, rest)) = raw.trim().split_once(':') else {
        return false;
    };
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    authority.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_in_once_and_encoded() {
        let template = ResetUrl::parse("https://shop.example/reset?token={token}").unwrap();
        assert_eq!(
            template.link("a+b/c", "cpr_1"),
            "https://shop.example/reset?token=a%2Bb%2Fc"
        );
        let with_id = ResetUrl::parse("https://shop.example/r/{id}#token={token}").unwrap();
        assert_eq!(
            with_id.link("t0k", "cpr_1"),
            "https://shop.example/r/cpr_1#token=t0k"
        );
        assert!(ResetUrl::parse("https://shop.example/{id}/{id}?t={token}").is_err());
        assert!(ResetUrl::parse("https://shop.example/reset").is_err());
        assert!(ResetUrl::parse("https://shop.example/{token}/{token}").is_err());
        assert!(ResetUrl::parse("ftp://shop.example/{token}").is_err());
        assert_eq!(
            redirect_link("https://shop.example/r?lang=de&token=old", "a+b"),
            "https://shop.example/r?lang=de&token=a%2Bb"
        );
    }

    #[test]
    fn only_allowed_origins_may_be_redirected_to() {
        let allowed = vec!["https://shop.example".to_owned()];
        assert!(check_redirect("https://shop.example/account/reset", &allowed).is_ok());
        // An `@` past the authority is no user information.
        assert!(check_redirect("https://shop.example/r?for=a@b.example", &allowed).is_ok());
        for refused in [
            "https://evil.example/reset",
            "https://shop.example.evil.example/reset",
            "http://shop.example/reset",
            "https://user@shop.example/reset",
            "https://:pw@shop.example/reset",
            "https://@shop.example/reset",
            "https://:@shop.example/reset",
            "https:@shop.example/reset",
            "https:\\\\:pw@shop.example/reset",
            "javascript:alert(1)",
            "/reset",
        ] {
            let error = check_redirect(refused, &allowed).unwrap_err();
            assert_eq!(error.code, ErrorCode::RedirectUrlNotAllowed, "{refused}");
        }
    }
}
