//! Settings as flags. Each layer's settings struct is itself a group of
//! command-line flags (`clap::Args`), each flag with its environment
//! variable, its default and its `--help` text, so a new setting is one field
//! where it is used. This module holds what those groups share: the value
//! parsers clap cannot derive, and [`defaults`], which gives a group its
//! documented defaults without reading the environment (for `Default`).
//! It imports nothing else of the crate, so every layer may use it.

use std::{net::IpAddr, ops::RangeBounds, str::FromStr, time::Duration};

use clap::{
    Args, Command, FromArgMatches,
    builder::{PossibleValuesParser, TypedValueParser},
};

/// The defaults of the flag group `T`, as `--help` shows them: the
/// environment is not read.
///
/// # Panics
/// If a default of `T` does not parse: a bug that every test shows.
pub fn defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(Command::new("defaults")).mut_args(|arg| arg.env(None));
    let matches = command
        .try_get_matches_from(["defaults"])
        .expect("every default of a settings group parses");
    T::from_arg_matches(&matches).expect("every default of a settings group parses")
}

/// Milliseconds, within `range`, as a [`Duration`].
pub fn millis(range: impl RangeBounds<i64>) -> impl TypedValueParser<Value = Duration> {
    clap::value_parser!(u32)
        .range(range)
        .map(|ms| Duration::from_millis(u64::from(ms)))
}

/// Seconds, within `range`, as a [`Duration`].
pub fn seconds(range: impl RangeBounds<i64>) -> impl TypedValueParser<Value = Duration> {
    clap::value_parser!(u32)
        .range(range)
        .map(|s| Duration::from_secs(u64::from(s)))
}

/// A count or size, within `range`.
pub fn count(range: impl RangeBounds<i64>) -> impl TypedValueParser<Value = usize> {
    clap::value_parser!(u32)
        .range(range)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// One of `T`'s names (listed by `--help`), from the enum's own list of values.
pub fn one_of<T>() -> impl TypedValueParser<Value = T>
where
    T: strum::VariantArray + Into<&'static str> + FromStr<Err = strum::ParseError>,
    T: Copy + Send + Sync + 'static,
{
    let names = T::VARIANTS
        .iter()
        .map(|value| -> &'static str { (*value).into() });
    PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// An IP address or a CIDR range (`10.0.0.0/8`).
///
/// # Errors
/// A message naming the value.
pub fn net(raw: &str) -> Result<ipnet::IpNet, String> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{raw:?} is not an IP address or CIDR range"))
}

/// A browser origin: `scheme://host[:port]`, no path.
///
/// # Errors
/// A message naming the value.
pub fn origin(raw: &str) -> Result<String, String> {
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

/// An http(s) URL or a path starting with `/`, without its trailing slash.
///
/// # Errors
/// A message naming the value.
pub fn base_url(raw: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A group with one flag whose variable is set in this process.
    #[derive(Debug, Args)]
    struct Group {
        /// How long.
        #[arg(long, env = "PATH", default_value = "250", value_parser = millis(1..=1_000))]
        wait: Duration,
    }

    #[test]
    fn defaults_are_the_documented_ones_whatever_the_environment_says() {
        // PATH is set in every test process, and is not a number.
        assert!(std::env::var_os("PATH").is_some());
        let group: Group = defaults();
        assert_eq!(group.wait, Duration::from_millis(250));
    }
}
