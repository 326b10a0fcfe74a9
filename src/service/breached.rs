//! Screening new passwords against breached ones (NIST SP 800-63B), before
//! any Argon2 work: a k-anonymity range API such as Have I Been Pwned's (only
//! the first 5 hex digits of the password's SHA-1 leave the server, with
//! padding asked for), or an offline file in the format Have I Been Pwned
//! publishes (`SHA1:COUNT` lines sorted by hash), searched in place.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sha1::{Digest, Sha1};

use crate::{
    domain::{ErrorCode, Password},
    metrics::Metrics,
    service::{
        Error, Result, UserError,
        outbound::{self, ExtraRoots},
    },
};

/// Where breached passwords are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// No screening (the common-password list still applies).
    Off,
    /// A k-anonymity range API (`BREACHED_PASSWORDS_URL`).
    RangeApi,
    /// An offline file of `SHA1:COUNT` lines sorted by hash (`BREACHED_PASSWORDS_FILE`).
    File,
}

/// What an unanswered range API means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Failure {
    /// The password passes; the outage is logged and counted.
    Open,
    /// The complete is refused with a retryable error; the token stays usable.
    Closed,
}

/// The screening's settings.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Breached passwords")]
pub struct BreachedSettings {
    /// Screen new passwords against breached ones: `off`, `range-api` or `file`.
    #[arg(
        id = "breached_passwords",
        long = "breached-passwords",
        env = "BREACHED_PASSWORDS",
        value_enum,
        default_value = "off",
        global = true
    )]
    pub source: Source,
    /// The range API's base URL; the first 5 hex digits of the SHA-1 are appended.
    #[arg(
        id = "breached_passwords_url",
        long = "breached-passwords-url",
        env = "BREACHED_PASSWORDS_URL",
        default_value = "https://api.pwnedpasswords.com/range/",
        global = true
    )]
    pub url: url::Url,
    /// The offline list: `SHA1:COUNT` lines sorted by hash.
    #[arg(
        id = "breached_passwords_file",
        long = "breached-passwords-file",
        env = "BREACHED_PASSWORDS_FILE",
        global = true
    )]
    pub file: Option<PathBuf>,
    /// What an unanswered range API means: `open` or `closed`.
    #[arg(
        id = "breached_passwords_fail",
        long = "breached-passwords-fail",
        env = "BREACHED_PASSWORDS_FAIL",
        value_enum,
        default_value = "open",
        global = true
    )]
    pub fail: Failure,
    /// How many breaches make a password refused.
    #[arg(id = "breached_passwords_min_count", long = "breached-passwords-min-count",
          env = "BREACHED_PASSWORDS_MIN_COUNT", default_value = "1",
          value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub min_count: u64,
    /// How long a range API call may take, in milliseconds.
    #[arg(id = "breached_passwords_timeout", long = "breached-passwords-timeout-ms",
          env = "BREACHED_PASSWORDS_TIMEOUT_MS", default_value = "1000",
          value_parser = crate::flags::millis(50..=30_000), global = true)]
    pub timeout: Duration,
}

impl Default for BreachedSettings {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

/// How many prefixes the range API's cache keeps, and for how long.
const CACHE_PREFIXES: usize = 1_024;
const CACHE_FOR: Duration = Duration::from_secs(600);

/// A prefix's suffixes and counts, as the range API answered.
type Range = Arc<HashMap<String, u64>>;

/// A configured screening.
#[derive(Debug)]
pub struct BreachedPasswords {
    lookup: Lookup,
    min_count: u64,
    fail: Failure,
}

#[derive(Debug)]
enum Lookup {
    RangeApi {
        base: String,
        client: reqwest::Client,
        cache: Mutex<HashMap<String, (Instant, Range)>>,
    },
    File(PathBuf),
}

impl BreachedSettings {
    /// The screening these settings describe; `None` when off.
    ///
    /// # Errors
    /// A message naming the setting: `file` without a readable file.
    pub fn screening(
        &self,
        extra: Option<&ExtraRoots>,
    ) -> Result<Option<BreachedPasswords>, String> {
        let lookup = match self.source {
            Source::Off => return Ok(None),
            Source::File => {
                let path = self
                    .file
                    .clone()
                    .ok_or("BREACHED_PASSWORDS=file needs BREACHED_PASSWORDS_FILE")?;
                std::fs::File::open(&path)
                    .map_err(|e| format!("BREACHED_PASSWORDS_FILE {}: {e}", path.display()))?;
                Lookup::File(path)
            }
            Source::RangeApi => {
                let builder = reqwest::Client::builder()
                    .timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION")));
                let client = outbound::trusting(builder, extra)
                    .build()
                    .map_err(|e| format!("the breached-password HTTP client: {e}"))?;
                let mut base = self.url.to_string();
                if !base.ends_with('/') {
                    base.push('/');
                }
                Lookup::RangeApi {
                    base,
                    client,
                    cache: Mutex::default(),
                }
            }
        };
        Ok(Some(BreachedPasswords {
            lookup,
            min_count: self.min_count,
            fail: self.fail,
        }))
    }
}

impl BreachedPasswords {
    /// Refuses `password` (the input at `field`) when it appears in at
    /// least `min_count` breaches.
    ///
    /// # Errors
    /// [`Error::User`] with `PASSWORD_BREACHED`; [`Error::Unavailable`] when the
    /// range API does not answer and screening fails closed, or the file
    /// cannot be read.
    pub async fn check(
        &self,
        password: &Password,
        field: &[&str],
        metrics: &Metrics,
    ) -> Result<()> {
        let hash = crate::domain::hex::encode_upper(&Sha1::digest(password.expose()));
        let found = match &self.lookup {
            Lookup::RangeApi {
                base,
                client,
                cache,
            } => {
                let (prefix, suffix) = hash.split_at(5);
                match range(base, client, cache, prefix).await {
                    Ok(range) => Ok(range.get(suffix).copied().unwrap_or(0)),
                    Err(e) => Err(e),
                }
            }
            Lookup::File(path) => {
                let path = path.clone();
                let target = hash.clone();
                tokio::task::spawn_blocking(move || find_in_file(&path, &target))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|found| found.map_err(|e| e.to_string()))
                    .map(|count| count.unwrap_or(0))
            }
        };
        match found {
            Ok(count) if count >= self.min_count => {
                metrics.breached_lookup("breached");
                Err(Error::User(vec![UserError::new(
                    field,
                    ErrorCode::PasswordBreached,
                    "this password has appeared in a data breach, so attackers try it; choose another",
                )]))
            }
            Ok(_) => {
                metrics.breached_lookup("clean");
                Ok(())
            }
            Err(e) => {
                metrics.breached_lookup("unavailable");
                tracing::warn!(error = %e, fail = ?self.fail, "the breached-password look-up failed");
                match (&self.lookup, self.fail) {
                    (Lookup::RangeApi { .. }, Failure::Open) => Ok(()),
                    _ => Err(Error::Unavailable(
                        "the new password cannot be checked right now; try again in a moment"
                            .into(),
                    )),
                }
            }
        }
    }
}

/// The range of `prefix`, from the cache or the API.
async fn range(
    base: &str,
    client: &reqwest::Client,
    cache: &Mutex<HashMap<String, (Instant, Range)>>,
    prefix: &str,
) -> std::result::Result<Range, String> {
    let cached = cache
        .lock()
        .ok()
        .and_then(|c| c.get(prefix).cloned())
        .filter(|(at, _)| at.elapsed() < CACHE_FOR);
    if let Some((_, range)) = cached {
        return Ok(range);
    }
    let response = client
        .get(format!("{base}{prefix}"))
        .header("Add-Padding", "true")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("the range API answered {}", response.status()));
    }
    let text = response
        .text()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let range: Range = Arc::new(
        text.lines()
            .filter_map(|line| {
                let (suffix, count) = line.trim().split_once(':')?;
                let count: u64 = count.trim().parse().ok()?;
                // Padding lines have a count of 0.
                (count > 0).then(|| (suffix.to_ascii_uppercase(), count))
            })
            .collect(),
    );
    if let Ok(mut cache) = cache.lock() {
        if cache.len() >= CACHE_PREFIXES
            && let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            cache.remove(&oldest);
        }
        cache.insert(prefix.to_owned(), (Instant::now(), range.clone()));
    }
    Ok(range)
}

/// The count of `hash` (40 upper-case hex digits) in the file at `path`, a
/// binary search over its bytes: the file is never read whole.
///
/// # Errors
/// An I/O error reading the file.
pub fn find_in_file(path: &Path, hash: &str) -> std::io::Result<Option<u64>> {
    let mut file = BufReader::with_capacity(512, std::fs::File::open(path)?);
    let (mut lo, mut hi) = (0u64, file.get_ref().metadata()?.len());
    let mut line = Vec::with_capacity(64);
    // Invariant: a line holding `hash` starts in [lo, hi).
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // The first line that starts at or after `mid`.
        let start = if mid == 0 {
            file.seek(SeekFrom::Start(0))?;
            0
        } else {
            file.seek(SeekFrom::Start(mid - 1))?;
            line.clear();
            mid - 1 + file.read_until(b'\n', &mut line)? as u64
        };
        if start >= hi {
            hi = mid;
            continue;
        }
        line.clear();
        let read = file.by_ref().take(256).read_until(b'\n', &mut line)? as u64;
        if read == 0 {
            hi = mid;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let (key, count) = text
            .trim_end()
            .split_once(':')
            .unwrap_or((text.trim_end(), ""));
        match key.to_ascii_uppercase().as_str().cmp(hash) {
            std::cmp::Ordering::Equal => return Ok(count.trim().parse().ok()),
            std::cmp::Ordering::Less => lo = start + read,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_search_finds_every_line_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("pwreset-breached-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("list.txt");
        // Sorted hashes with counts of varying width, CRLF on some lines.
        let lines: Vec<(String, u64)> = (0..2_000u64)
            .map(|n| (format!("{:040X}", n * 7_919 + 3), n * n % 100_003 + 1))
            .collect();
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, (h, c))| format!("{h}:{c}{}", if i % 3 == 0 { "\r\n" } else { "\n" }))
            .collect();
        std::fs::write(&path, text).unwrap();
        for (hash, count) in &lines {
            assert_eq!(find_in_file(&path, hash).unwrap(), Some(*count), "{hash}");
        }
        for absent in [0u64, 4, 7_919 * 2_000 + 10, 7_919 * 5 + 4] {
            assert_eq!(
                find_in_file(&path, &format!("{absent:040X}")).unwrap(),
                None
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
