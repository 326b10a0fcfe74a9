//! Value parsers for the settings that clap cannot check on its own.

use std::{net::SocketAddr, str::FromStr};

use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::service::sealing::SealingKey;

/// A parser that takes one of `T`'s names (listed by `--help`), from the
/// enum's own list of values.
pub(super) fn one_of<T>() -> impl TypedValueParser<Value = T>
where
    T: strum::VariantArray + Into<&'static str> + FromStr<Err = strum::ParseError>,
    T: Copy + Send + Sync + 'static,
{
    let names = T::VARIANTS
        .iter()
        .map(|value| -> &'static str { (*value).into() });
    PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// A socket address, or none (the setting was empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

pub(super) fn parse_optional_addr(raw: &str) -> Result<OptionalAddr, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(OptionalAddr(None));
    }
    raw.parse()
        .map(|addr| OptionalAddr(Some(addr)))
        .map_err(|_| {
            format!("{raw:?} is not an address such as 127.0.0.1:9464 (or empty, for none)")
        })
}

pub(super) fn parse_net(raw: &str) -> Result<ipnet::IpNet, String> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{raw:?} is not an IP address or CIDR range"))
}

pub(super) fn parse_origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim();
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("{origin:?} is not an origin: it must start with https:// or http://")
        })?;
    let valid_host = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !valid_host {
        return Err(format!(
            "{origin:?} is not an origin: scheme://host[:port], with no path or trailing slash"
        ));
    }
    Ok(origin.to_owned())
}

pub(super) fn parse_key(raw: &str) -> Result<SealingKey, String> {
    SealingKey::from_base64(raw)
        .map_err(|why| format!("the key {why} (make one with: head -c 32 /dev/urandom | base64)"))
}

pub(super) fn parse_base_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
        return Err(format!(
            "{raw:?} must be an http(s) URL or a path starting with /"
        ));
    }
    if url.contains(['"', '<', '>', '\'', ' ']) {
        return Err(format!("{raw:?} is not a valid URL"));
    }
    Ok(url.to_owned())
}
