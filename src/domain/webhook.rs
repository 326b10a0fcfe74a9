//! Webhook topics, delivery statuses and callback URLs. A topic is stored
//! by its Commerce Layer name, a status by its lower-case name.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::Url;

use super::{ErrorCode, ParseError};

named! {
    /// An event a webhook subscribes to. Calls carry the event under its
    /// Commerce Layer name, given with each value (the `X-CommerceLayer-Topic`
    /// header and the payload), whatever this enum calls it.
    #[derive(async_graphql::Enum)]
    #[graphql(name = "WebhookTopic")]
    pub enum Topic {
        /// `customer_password_resets.create`: a reset was requested. The payload
        /// carries the reset token (until it expires), for the mailer.
        #[strum(serialize = "customer_password_resets.create")]
        #[graphql(name = "CUSTOMER_PASSWORD_RESETS_CREATE")]
        ResetCreated,
        /// `customer_password_resets.reset_password`: a reset was completed.
        #[strum(serialize = "customer_password_resets.reset_password")]
        #[graphql(name = "CUSTOMER_PASSWORD_RESETS_RESET_PASSWORD")]
        ResetCompleted,
        /// `customer_password_resets.destroy`: a reset was deleted.
        #[strum(serialize = "customer_password_resets.destroy")]
        #[graphql(name = "CUSTOMER_PASSWORD_RESETS_DESTROY")]
        ResetDestroyed,
        /// `customers.create`: a customer was created.
        #[strum(serialize = "customers.create")]
        #[graphql(name = "CUSTOMERS_CREATE")]
        CustomerCreated,
        /// `customers.password_reset`: a customer's password was reset (by a
        /// completed reset): tell them, and end their sessions.
        #[strum(serialize = "customers.password_reset")]
        #[graphql(name = "CUSTOMERS_PASSWORD_RESET")]
        CustomerPasswordReset,
    }
}

impl Topic {
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

named! {
    /// Where one delivery of an event to one webhook, or one reset email,
    /// stands.
    #[strum(serialize_all = "snake_case")]
    pub enum DeliveryStatus {
        /// Waiting for its next attempt.
        Pending,
        /// The receiver answered 2xx (the mail server accepted the email).
        Delivered,
        /// Every attempt failed; no more will be made.
        Failed,
        /// The secret it carried expired before it could be delivered.
        Expired,
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

/// Whether `ip` is globally reachable unicast: the one rule that decides
/// which addresses webhooks may call (SSRF), when a callback is saved and
/// again at every call. Everything in IANA's IPv4 and IPv6 Special-Purpose
/// Address Registries that is not globally reachable is refused: private,
/// loopback, link-local, shared (CGNAT), benchmarking, documentation,
/// reserved, multicast and broadcast addresses, and the IPv6 ranges that
/// embed or translate an IPv4 address (NAT64, IPv4-mapped, IPv4-compatible,
/// Teredo) unless the embedded address is itself public (6to4, IPv4-mapped).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const NOT_GLOBAL: [([u8; 4], u32); 16] = [
        ([0, 0, 0, 0], 8),       // "this network"
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local (cloud metadata)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 31, 196, 0], 24), // AS112
        ([192, 52, 193, 0], 24), // AMT
        ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 3),     // multicast, reserved, broadcast (224/4, 240/4)
    ];
    !NOT_GLOBAL.iter().any(|(net, len)| in_v4(ip, *net, *len))
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // IPv4-mapped (::ffff:0:0/96): the IPv4 address decides.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // 6to4 (2002::/16) embeds an IPv4 address in bits 16..48: it decides.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let [_, hi, lo, ..] = ip.segments();
        let embedded = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return is_public_v4(embedded);
    }
    const NOT_GLOBAL: [([u16; 8], u32); 13] = [
        ([0, 0, 0, 0, 0, 0, 0, 0], 96), // unspecified, loopback, IPv4-compatible
        ([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), // NAT64
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), // local-use NAT64
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64), // discard-only
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo, benchmarking
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation
        ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), // segment routing SIDs
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), // unique local
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), // link-local
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), // site-local (deprecated)
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), // multicast
        ([0, 0, 0, 0, 0, 0xffff, 0, 0], 96), // IPv4-mapped (handled above)
    ];
    !NOT_GLOBAL.iter().any(|(net, len)| in_v6(ip, *net, *len))
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
    fn only_globally_reachable_unicast_addresses_are_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.1",
            "192.0.2.1",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::7f00:1",
            "::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::5db8:d822",
            "64:ff9b:1::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "2001:2::1",
            "100::1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "198.20.0.1",
            "100.128.0.1",
            "2606:2800:220:1:248:1893:25c8:1946",
            "2a00:1450:4001:82a::200e",
            "::ffff:93.184.216.34",
            "2002:5db8:d822::1",
        ] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip}");
        }
    }
}

named! {
    /// What an email to a customer is about.
    #[strum(serialize_all = "snake_case")]
    pub enum EmailKind {
        /// The reset link (and its token).
        Reset,
        /// "Your password was changed", after a completed reset; no token.
        PasswordChanged,
    }
}
