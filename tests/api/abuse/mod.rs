//! Abuse resistance: rate limits, no account enumeration, the password
//! policy, bounded hashing, and the audit trail.

mod audit;
mod breached;
mod captcha;
mod passwords;
mod rate_limits;

use crate::helpers::Options;

fn limits(options: &mut Options) -> &mut pwreset::service::rate_limits::RateLimits {
    &mut options.rate_limits
}
