//! Webhook topics, delivery statuses and callback URLs.

use std::{fmt, net::IpAddr, str::FromStr};

use reqwest::Url;

use super::{ErrorCode, ParseError};

/// An event a webhook can subscribe to, named as Commerce Layer names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A password reset was requested; the payload carries the token.
    ResetCreated,
    /// A password reset was completed.
    ResetCompleted,
    /// A password reset was deleted.
    ResetDestroyed,
    /// A customer was created.
    CustomerCreated,
    /// A customer's password was reset: tell them, and end their sessions.
    CustomerPasswordReset,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 5] = [
        Topic::ResetCreated,
        Topic::ResetCompleted,
        Topic::ResetDestroyed,
        Topic::CustomerCreated,
        Topic::CustomerPasswordReset,
    ];

    /// Commerce Layer's name for the topic.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::ResetCreated => "customer_password_resets.create",
            Topic::ResetCompleted => "customer_password_resets.reset_password",
            Topic::ResetDestroyed => "customer_password_resets.destroy",
            Topic::CustomerCreated => "customers.create",
            Topic::CustomerPasswordReset => "customers.password_reset",
        }
    }

    /// The attribute of `data.attributes` that carries this topic's secret,
    /// if it has one: the reset token of `customer_password_resets.create`.
    /// The secret is never part of the stored event; each delivery adds it
    /// when it sends.
    pub fn sealed_attribute(self) -> Option<&'static str> {
        match self {
            Topic::ResetCreated => Some("reset_password_token"),
            _ => None,
        }
    }
}

impl FromStr for Topic {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Topic::ALL.iter().map(|t| t.as_str()).collect();
                ParseError::new(
                    ErrorCode::InvalidTopic,
                    format!("must be one of {}", names.join(", ")),
                )
            })
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one delivery of an event to one webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; no more will be made.
    Failed,
    /// The secret it carried expired before it could be delivered.
    Expired,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::Expired,
    ];

    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Expired => "expired",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryStatus::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown delivery status {s:?}"))
    }
}

/// An `http` or `https` URL with a host, at most 2048 characters, no credentials.
/// Whether its host may be private is decided separately, when it is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(Url);

impl CallbackUrl {
    /// Parses a callback URL.
    ///
    /// # Errors
    /// [`ErrorCode::InvalidCallbackUrl`] for anything else.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let invalid = |why: &str| ParseError::new(ErrorCode::InvalidCallbackUrl, why.to_owned());
        if raw.len() > 2048 {
            return Err(invalid("must be at most 2048 characters"));
        }
        let url = Url::parse(raw.trim()).map_err(|_| invalid("is not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain credentials"));
        }
        Ok(Self(url))
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Whether `ip` is an ordinary public unicast address: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, broadcast or reserved.
/// Webhooks refuse other targets unless told otherwise (SSRF).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_ip(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_use_commerce_layer_names() {
        assert_eq!(
            "customer_password_resets.create".parse::<Topic>(),
            Ok(Topic::ResetCreated)
        );
        assert!("orders.create".parse::<Topic>().is_err());
    }

    #[test]
    fn callback_urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(CallbackUrl::parse("https://mailer.example.com/hooks/reset?x=1").is_ok());
        for bad in [
            "ftp://example.com",
            "example.com",
            "https://",
            "https://user:pw@example.com",
            "file:///etc/passwd",
        ] {
            assert!(CallbackUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
    }
}
