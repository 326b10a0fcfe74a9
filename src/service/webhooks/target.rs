//! Which addresses a webhook may call (SSRF): one rule, applied when a
//! callback URL is saved and again at every call, so a DNS answer that
//! changes after the webhook was created cannot reach inside.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

use crate::domain::is_public_ip;

/// Whether a call may go to `ip`: a public address, or any address when
/// private targets are allowed.
pub(super) fn permitted(ip: IpAddr, allow_private: bool) -> bool {
    allow_private || is_public_ip(ip)
}

/// The address `url` names literally (`http://10.0.0.1/`, `http://[::1]/`),
/// if it names one rather than a host name.
fn literal_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Whether `url` may be saved as a callback: its literal address, or every
/// address its host resolves to now, must be [`permitted`]; `localhost`
/// names never are. A host that cannot be resolved now is accepted: every
/// call checks again.
pub(super) async fn may_save(url: &Url, allow_private: bool) -> bool {
    if allow_private {
        return true;
    }
    if let Some(ip) = literal_ip(url) {
        return permitted(ip, false);
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return false;
    }
    let port = url.port_or_known_default().unwrap_or(80);
    match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(mut addrs) => addrs.all(|a| permitted(a.ip(), false)),
        Err(_) => true,
    }
}

/// Whether `url` may be called as it stands: a literal address must be
/// [`permitted`] (the HTTP client does not resolve it); a host name is
/// checked by [`GuardedResolver`] when the client resolves it.
pub(super) fn may_call(url: &Url, allow_private: bool) -> bool {
    literal_ip(url).is_none_or(|ip| permitted(ip, allow_private))
}

/// The resolver's refusal: every address of the host is private.
#[derive(Debug)]
pub(super) struct OnlyPrivate;

impl std::fmt::Display for OnlyPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the callback host resolves only to private addresses")
    }
}

impl std::error::Error for OnlyPrivate {}

/// Whether `error` (or one of its causes) is the resolver's refusal.
pub(super) fn refused_by_resolver(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<OnlyPrivate>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Resolves callback hosts for the HTTP client, keeping only [`permitted`]
/// addresses.
pub(super) struct GuardedResolver {
    allow_private: bool,
}

impl GuardedResolver {
    /// A resolver for the webhook client.
    pub(super) fn new(allow_private: bool) -> Arc<Self> {
        Arc::new(Self { allow_private })
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let allowed: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| permitted(a.ip(), allow_private))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(OnlyPrivate) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
