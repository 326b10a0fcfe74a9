//! Rate limits that hold across server processes: fixed-window counters in the
//! database, bumped with one atomic upsert per check. Subjects (emails, IPs,
//! key ids) are stored only as SHA-256 digests.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection,
    sea_query::{Alias, Expr, ExprTrait, OnConflict, Query},
};

use super::{Error, Result};
use crate::{domain::digest, entity::rate_limit_counter as counter};

/// At most `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Hits allowed in one window.
    pub max: u32,
    /// The window.
    pub window: Duration,
}

impl Limit {
    /// `max` per `window_secs` seconds.
    pub const fn per(max: u32, window_secs: u64) -> Self {
        Self {
            max,
            window: Duration::from_secs(window_secs),
        }
    }
}

impl std::str::FromStr for Limit {
    type Err = String;
    /// Reads `COUNT/SECONDS`, such as `5/3600`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a limit: write COUNT/SECONDS, such as 5/3600");
        let (max, secs) = s.split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
        if max == 0 || secs == 0 || secs > 30 * 86_400 {
            return Err(format!(
                "{s:?}: the count must be at least 1 and the window 1 s to 30 days"
            ));
        }
        Ok(Limit::per(max, secs))
    }
}

/// Every limit on creating and completing resets: each field is a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Rate limits")]
pub struct RateLimits {
    /// Reset creates per customer email (known or not) from one client
    /// subnet (an IPv4 /24, an IPv6 /48), as COUNT/SECONDS: a stranger's
    /// requests for an email never use up its owner's.
    #[arg(
        long = "rate-limit-create-per-email",
        env = "RATE_LIMIT_CREATE_PER_EMAIL",
        default_value = "5/3600",
        global = true
    )]
    pub create_per_email: Limit,
    /// Reset creates per customer email from all clients together, as
    /// COUNT/SECONDS: what bounds the emails one inbox receives.
    #[arg(
        long = "rate-limit-create-per-email-total",
        env = "RATE_LIMIT_CREATE_PER_EMAIL_TOTAL",
        default_value = "10/3600",
        global = true
    )]
    pub create_per_email_total: Limit,
    /// Reset creates per integration key, as COUNT/SECONDS. Sales-channel keys
    /// have no per-key limit: one public key is shared by every shopper, and a
    /// limit on it would be a store-wide off switch in any one client's hands.
    #[arg(
        long = "rate-limit-create-per-key",
        env = "RATE_LIMIT_CREATE_PER_KEY",
        default_value = "10000/3600",
        global = true
    )]
    pub create_per_key: Limit,
    /// Reset creates per client address prefix (see RATE_LIMIT_IPV6_PREFIX), as COUNT/SECONDS.
    #[arg(
        long = "rate-limit-create-per-ip",
        env = "RATE_LIMIT_CREATE_PER_IP",
        default_value = "50/3600",
        global = true
    )]
    pub create_per_ip: Limit,
    /// Reset completes per client address prefix (against token guessing), as COUNT/SECONDS.
    #[arg(
        long = "rate-limit-complete-per-ip",
        env = "RATE_LIMIT_COMPLETE_PER_IP",
        default_value = "30/900",
        global = true
    )]
    pub complete_per_ip: Limit,
    /// Reset completes per integration key, as COUNT/SECONDS (sales-channel keys have none).
    #[arg(
        long = "rate-limit-complete-per-key",
        env = "RATE_LIMIT_COMPLETE_PER_KEY",
        default_value = "10000/3600",
        global = true
    )]
    pub complete_per_key: Limit,
    /// The IPv6 prefix length per-address limits count by (one client usually holds a /64).
    #[arg(long = "rate-limit-ipv6-prefix", env = "RATE_LIMIT_IPV6_PREFIX", default_value_t = 64,
          value_parser = clap::value_parser!(u8).range(16..=128), global = true)]
    pub ipv6_prefix: u8,
    /// The IPv4 prefix length per-address limits count by.
    #[arg(long = "rate-limit-ipv4-prefix", env = "RATE_LIMIT_IPV4_PREFIX", default_value_t = 32,
          value_parser = clap::value_parser!(u8).range(8..=32), global = true)]
    pub ipv4_prefix: u8,
    /// The most storefront reset requests queued at once. When full, the newest
    /// request of the busiest address prefix makes room for a quieter one, and
    /// the busiest prefix's new requests are refused.
    #[arg(long = "storefront-queue-max", env = "STOREFRONT_QUEUE_MAX", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(10..=10_000_000), global = true)]
    pub storefront_queue_max: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

impl RateLimits {
    /// The address prefix `ip` counts under (`2001:db8::/64`, `203.0.113.7/32`);
    /// empty when the address is unknown.
    pub fn prefix(&self, ip: Option<std::net::IpAddr>) -> String {
        let Some(ip) = ip.map(normalize_ip) else {
            return String::new();
        };
        let len = match ip {
            std::net::IpAddr::V4(_) => Ord::min(self.ipv4_prefix, 32),
            std::net::IpAddr::V6(_) => Ord::min(self.ipv6_prefix, 128),
        };
        ipnet::IpNet::new(ip, len)
            .map(|net| net.trunc().to_string())
            .unwrap_or_else(|_| ip.to_string())
    }
}

/// A client's address at the three widths the storefront queue groups by.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Networks {
    /// The wide network: an IPv4 /16, an IPv6 /32.
    pub network: String,
    /// The subnet: an IPv4 /24, an IPv6 /48.
    pub subnet: String,
    /// The address prefix the rate limits count ([`RateLimits::prefix`]).
    pub prefix: String,
}

impl RateLimits {
    /// `ip`'s [`Networks`]; each no narrower than the prefix (all empty
    /// without an address).
    pub fn networks(&self, ip: Option<std::net::IpAddr>) -> Networks {
        let Some(ip) = ip.map(normalize_ip) else {
            return Networks::default();
        };
        let (exact, wide, mid) = match ip {
            std::net::IpAddr::V4(_) => (Ord::min(self.ipv4_prefix, 32), 16, 24),
            std::net::IpAddr::V6(_) => (Ord::min(self.ipv6_prefix, 128), 32, 48),
        };
        let net = |len: u8| {
            ipnet::IpNet::new(ip, Ord::min(len, exact))
                .map(|net| net.trunc().to_string())
                .unwrap_or_else(|_| ip.to_string())
        };
        Networks {
            network: net(wide),
            subnet: net(mid),
            prefix: self.prefix(Some(ip)),
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:203.0.113.7`) is the IPv4 address.
fn normalize_ip(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}

fn window_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    let window_us = Ord::max(i64::try_from(window.as_micros()).unwrap_or(i64::MAX), 1);
    let now_us = now.timestamp_micros();
    Utc.timestamp_micros(now_us - now_us.rem_euclid(window_us))
        .single()
        .unwrap_or(now)
}

/// What a hit against a limit came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Within the limit: counted.
    Allowed,
    /// Over the limit: refused for `retry_after` seconds. `first` is true for
    /// the first refusal of the subject in its window; later ones write
    /// nothing at all, so a flood of refused requests costs no writes.
    Refused {
        /// Seconds until the window ends.
        retry_after: u64,
        /// Whether this is the subject's first refusal in the window.
        first: bool,
    },
}

impl Hit {
    /// `Ok` when allowed; [`Error::TooManyRequests`] when refused.
    ///
    /// # Errors
    /// [`Error::TooManyRequests`] with the seconds to wait.
    pub fn into_result(self) -> Result<()> {
        match self {
            Hit::Allowed => Ok(()),
            Hit::Refused { retry_after, .. } => Err(Error::TooManyRequests {
                retry_after,
                message: format!("too many requests; try again in {retry_after} s"),
            }),
        }
    }
}

/// The stored key of `subject`'s counter in `scope`.
fn counter_key(scope: &str, subject: &str) -> String {
    digest(&format!("{scope}\u{1f}{subject}"))
}

/// Seconds from `now` to the end of the window of `limit` that holds `now`.
fn retry_after(limit: Limit, now: DateTime<Utc>) -> u64 {
    let end = window_start(now, limit.window)
        + chrono::Duration::from_std(limit.window).unwrap_or_default();
    Ord::max(u64::try_from((end - now).num_seconds()).unwrap_or(0), 1)
}

/// Whether any of `checks` (scope, subject, limit) is already over its
/// limit in the current window, read in one statement that writes nothing:
/// the seconds to wait when one is, `None` otherwise. A request refused here
/// costs one read.
///
/// # Errors
/// [`Error::Database`] if the counters cannot be read.
pub async fn already_over(
    db: &DatabaseConnection,
    checks: &[(&str, &str, Limit)],
    now: DateTime<Utc>,
) -> Result<Option<u64>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let keys: Vec<String> = checks
        .iter()
        .map(|(scope, subject, _)| counter_key(scope, subject))
        .collect();
    let counters = counter::Entity::find()
        .filter(counter::Column::Key.is_in(keys.clone()))
        .all(db)
        .await?;
    Ok(checks
        .iter()
        .zip(&keys)
        .filter(|((_, _, limit), key)| {
            counters.iter().any(|c| {
                &c.key == *key
                    && c.window_start == window_start(now, limit.window)
                    && u32::try_from(c.hits).unwrap_or(u32::MAX) > limit.max
            })
        })
        .map(|((_, _, limit), _)| retry_after(*limit, now))
        .max())
}

/// Counts one hit of `subject` against `limit` in `scope`, with one atomic
/// upsert. Once the subject is over the limit, the upsert's condition stops
/// it from changing the row: later refusals in the window read, never write.
///
/// # Errors
/// [`Error::Database`] if the counter cannot be read or written.
pub async fn hit(
    db: &DatabaseConnection,
    scope: &str,
    subject: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<Hit> {
    let start = window_start(now, limit.window);
    let key = counter_key(scope, subject);
    let excluded = Alias::new("excluded");
    let stored = |column| Expr::col((counter::Entity, column));
    let incoming = |column| Expr::col((excluded.clone(), column));
    let same_window =
        stored(counter::Column::WindowStart).eq(incoming(counter::Column::WindowStart));
    let statement = Query::insert()
        .into_table(counter::Entity)
        .columns([
            counter::Column::Key,
            counter::Column::WindowStart,
            counter::Column::Hits,
        ])
        .values_panic([key.into(), start.into(), 1.into()])
        .on_conflict(
            OnConflict::column(counter::Column::Key)
                .values([
                    (
                        counter::Column::WindowStart,
                        incoming(counter::Column::WindowStart),
                    ),
                    (
                        counter::Column::Hits,
                        Expr::case(same_window.clone(), stored(counter::Column::Hits).add(1))
                            .finally(1)
                            .into(),
                    ),
                ])
                // Counting stops at the first hit over the limit.
                .action_and_where(
                    same_window
                        .not()
                        .or(stored(counter::Column::Hits).lte(i64::from(limit.max))),
                )
                .to_owned(),
        )
        .returning_col(counter::Column::Hits)
        .to_owned();
    let retry_after = retry_after(limit, now);
    let Some(row) = db.query_one(&statement).await? else {
        return Ok(Hit::Refused {
            retry_after,
            first: false,
        });
    };
    let hits: i32 = row.try_get("", "hits")?;
    if u32::try_from(hits).unwrap_or(u32::MAX) > limit.max {
        return Ok(Hit::Refused {
            retry_after,
            first: true,
        });
    }
    Ok(Hit::Allowed)
}

/// Deletes counters whose window ended more than a day before `now`.
///
/// # Errors
/// [`Error::Database`] if the delete fails.
pub async fn prune(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let cutoff = now - chrono::Duration::days(31);
    Ok(counter::Entity::delete_many()
        .filter(counter::Column::WindowStart.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_count_per_seconds() {
        assert_eq!("5/3600".parse::<Limit>(), Ok(Limit::per(5, 3600)));
        for bad in ["5", "0/10", "5/0", "x/10", "5/99999999"] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_count_by_prefix() {
        let limits = RateLimits::default();
        let ip = |s: &str| Some(s.parse().unwrap());
        assert_eq!(limits.prefix(ip("2001:db8::1")), "2001:db8::/64");
        assert_eq!(
            limits.prefix(ip("2001:db8::1")),
            limits.prefix(ip("2001:db8::ffff:1"))
        );
        assert_ne!(
            limits.prefix(ip("2001:db8::1")),
            limits.prefix(ip("2001:db8:0:1::1"))
        );
        assert_eq!(limits.prefix(ip("203.0.113.7")), "203.0.113.7/32");
        assert_eq!(limits.prefix(ip("::ffff:203.0.113.7")), "203.0.113.7/32");
        assert_eq!(limits.prefix(None), "");
    }

    #[test]
    fn windows_are_aligned() {
        let t = Utc.with_ymd_and_hms(2026, 11, 27, 9, 41, 7).unwrap();
        assert_eq!(
            window_start(t, Duration::from_secs(3600)),
            Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
        );
    }
}
