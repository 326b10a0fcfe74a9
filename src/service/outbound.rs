//! Trust for this server's outgoing TLS connections: SMTP, webhooks, the
//! breached-password range API and the bot challenge trust the web's public
//! roots compiled into the binary (webpki-roots), plus the certificates of
//! `EXTRA_CA_FILE`, such as a company CA that signs internal mail relays or
//! a TLS-inspecting proxy's CA.

use std::{path::Path, sync::Arc};

/// The certificates of a PEM bundle, read once at start-up, to trust beside
/// the public roots.
#[derive(Clone)]
pub struct ExtraRoots {
    path: String,
    pem: Arc<[u8]>,
    http: Arc<[reqwest::Certificate]>,
}

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraRoots")
            .field("path", &self.path)
            .field("certificates", &self.http.len())
            .finish()
    }
}

impl ExtraRoots {
    /// Reads the PEM bundle at `path` (a value parser for `EXTRA_CA_FILE`).
    ///
    /// # Errors
    /// A message naming the file: unreadable, holding no certificate, or a
    /// certificate that does not parse.
    pub fn load(path: &str) -> Result<Self, String> {
        let pem = std::fs::read(Path::new(path)).map_err(|e| format!("{path}: {e}"))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{path}: not a PEM bundle of certificates ({e})"))?;
        if certificates.is_empty() {
            return Err(format!(
                "{path}: holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)"
            ));
        }
        // Parsed as the mail client will, so that a bad certificate stops the
        // start here rather than when the first email goes out.
        lettre::transport::smtp::client::Certificate::from_pem(&pem)
            .map_err(|e| format!("{path}: {e}"))?;
        Ok(Self {
            path: path.to_owned(),
            http: certificates.into(),
            pem: pem.into(),
        })
    }

    /// How many certificates the bundle holds.
    pub fn len(&self) -> usize {
        self.http.len()
    }

    /// Whether the bundle holds none (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.http.is_empty()
    }

    /// `builder`, trusting these certificates too.
    pub fn trust_in(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        for certificate in self.http.iter() {
            builder = builder.add_root_certificate(certificate.clone());
        }
        builder
    }

    /// The bundle, for the mail client's TLS parameters (which take it by
    /// value, and it cannot be cloned).
    ///
    /// # Errors
    /// Never in practice: [`ExtraRoots::load`] parsed the same bytes.
    pub fn for_mail(&self) -> Result<lettre::transport::smtp::client::Certificate, String> {
        lettre::transport::smtp::client::Certificate::from_pem(&self.pem)
            .map_err(|e| format!("{}: {e}", self.path))
    }
}

/// `builder`, trusting `extra` too when given.
pub fn trusting(
    builder: reqwest::ClientBuilder,
    extra: Option<&ExtraRoots>,
) -> reqwest::ClientBuilder {
    match extra {
        Some(roots) => roots.trust_in(builder),
        None => builder,
    }
}
