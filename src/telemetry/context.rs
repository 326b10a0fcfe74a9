//! W3C Trace Context: the `traceparent` and `tracestate` headers a caller
//! sends (and this server stores beside work it finishes later), and the
//! sampling decision a new span takes.

use std::sync::Arc;

use rand::RngExt;

/// The identity of a span, as it travels in `traceparent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanContext {
    /// 16 bytes, not all zero.
    pub trace_id: [u8; 16],
    /// 8 bytes, not all zero.
    pub span_id: [u8; 8],
    /// Whether the trace is recorded (the `sampled` flag).
    pub sampled: bool,
    /// The caller's `tracestate`, passed on unread.
    pub state: Option<Arc<str>>,
}

impl SpanContext {
    /// The caller's span, from its `traceparent` (and `tracestate`); `None`
    /// for a header that does not follow the W3C format (a new trace starts).
    pub fn from_headers(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let header = traceparent.trim();
        let version = u8::from_str_radix(header.get(0..2)?, 16).ok()?;
        // Version 00 is exactly 55 characters; a later version may append
        // fields after a dash. Version ff is invalid.
        if version == 0xff
            || header.len() < 55
            || (version == 0 && header.len() != 55)
            || (header.len() > 55 && header.as_bytes()[55] != b'-')
        {
            return None;
        }
        let bytes = header.as_bytes();
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let trace_id = hex_array::<16>(&header[3..35])?;
        let span_id = hex_array::<8>(&header[36..52])?;
        let flags = hex_array::<1>(&header[53..55])?[0];
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        let state = tracestate
            .map(str::trim)
            .filter(|s| {
                !s.is_empty() && s.len() <= 512 && s.bytes().all(|b| (0x20..0x7f).contains(&b))
            })
            .map(Arc::from);
        Some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            state,
        })
    }

    /// The `traceparent` header of this span (version 00).
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            u8::from(self.sampled)
        )
    }

    /// A child of this span in the same trace: a new span id, the same flags.
    pub(super) fn child(&self) -> Self {
        Self {
            span_id: new_span_id(),
            ..self.clone()
        }
    }
}

/// Which new traces are recorded (`OTEL_TRACES_SAMPLER`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// Every trace.
    AlwaysOn,
    /// None.
    AlwaysOff,
    /// This share of traces, decided by the trace id (0.0 to 1.0).
    Ratio(f64),
    /// As the caller's span says when there is one, else the inner rule.
    ParentBased(Root),
}

/// The rule a parent-based sampler applies to new traces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Root {
    /// Every new trace.
    AlwaysOn,
    /// No new trace.
    AlwaysOff,
    /// This share of new traces.
    Ratio(f64),
}

impl Sampler {
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` as the
    /// OpenTelemetry specification names them.
    ///
    /// # Errors
    /// A message for an unknown name or a ratio outside 0.0 to 1.0.
    pub fn parse(name: &str, arg: Option<&str>) -> Result<Self, String> {
        let ratio = || -> Result<f64, String> {
            let Some(arg) = arg else { return Ok(1.0) };
            arg.trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    format!("OTEL_TRACES_SAMPLER_ARG {arg:?} must be a ratio from 0.0 to 1.0")
                })
        };
        Ok(match name.trim() {
            "always_on" => Self::AlwaysOn,
            "always_off" => Self::AlwaysOff,
            "traceidratio" => Self::Ratio(ratio()?),
            "parentbased_always_on" => Self::ParentBased(Root::AlwaysOn),
            "parentbased_always_off" => Self::ParentBased(Root::AlwaysOff),
            "parentbased_traceidratio" => Self::ParentBased(Root::Ratio(ratio()?)),
            other => {
                return Err(format!(
                    "OTEL_TRACES_SAMPLER {other:?} is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                ));
            }
        })
    }

    /// Whether a new span of trace `trace_id`, under `parent` (the caller's,
    /// or none for a new trace), is recorded.
    pub fn sampled(&self, trace_id: &[u8; 16], parent: Option<&SpanContext>) -> bool {
        let by_ratio = |ratio: f64| {
            let low = u64::from_be_bytes(trace_id[8..].try_into().unwrap_or_default());
            ratio >= 1.0 || (low as f64) < ratio * u64::MAX as f64
        };
        match (self, parent) {
            (Self::AlwaysOn, _) => true,
            (Self::AlwaysOff, _) => false,
            (Self::Ratio(r), _) => by_ratio(*r),
            (Self::ParentBased(_), Some(parent)) => parent.sampled,
            (Self::ParentBased(Root::AlwaysOn), None) => true,
            (Self::ParentBased(Root::AlwaysOff), None) => false,
            (Self::ParentBased(Root::Ratio(r)), None) => by_ratio(*r),
        }
    }
}

/// A random trace id (never all zero).
pub(super) fn new_trace_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    while id == [0; 16] {
        rand::rng().fill(&mut id[..]);
    }
    id
}

/// A random span id (never all zero).
pub(super) fn new_span_id() -> [u8; 8] {
    let mut id = [0u8; 8];
    while id == [0; 8] {
        rand::rng().fill(&mut id[..]);
    }
    id
}

pub(super) use crate::domain::hex::encode as hex;

/// `N` bytes from exactly `2 × N` lower-case hex digits (W3C Trace Context
/// refuses upper case).
fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    crate::domain::hex::decode(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_w3c_traceparent_is_read_and_written_back_unchanged() {
        let context = SpanContext::from_headers(VALID, Some("vendor=abc")).unwrap();
        assert!(context.sampled);
        assert_eq!(context.traceparent(), VALID);
        assert_eq!(context.state.as_deref(), Some("vendor=abc"));
        let unsampled = SpanContext::from_headers(&VALID.replace("-01", "-00"), None).unwrap();
        assert!(!unsampled.sampled);
        // A later version may carry more after a dash.
        assert!(
            SpanContext::from_headers(&format!("{}-more", VALID.replacen("00", "01", 1)), None)
                .is_some()
        );
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01",
        ] {
            assert_eq!(SpanContext::from_headers(bad, None), None, "{bad}");
        }
    }

    #[test]
    fn samplers_follow_the_specification() {
        let parent = SpanContext::from_headers(VALID, None).unwrap();
        let unsampled = SpanContext {
            sampled: false,
            ..parent.clone()
        };
        let id = [0xff; 16];
        let default = Sampler::parse("parentbased_always_on", None).unwrap();
        assert!(default.sampled(&id, None));
        assert!(default.sampled(&id, Some(&parent)));
        assert!(
            !default.sampled(&id, Some(&unsampled)),
            "the caller decides"
        );
        let never = Sampler::parse("always_off", None).unwrap();
        assert!(!never.sampled(&id, Some(&parent)));
        let half = Sampler::parse("traceidratio", Some("0.5")).unwrap();
        let mut low = [0u8; 16];
        low[8] = 0x10;
        assert!(half.sampled(&low, None));
        assert!(!half.sampled(&id, None));
        assert!(Sampler::parse("traceidratio", Some("2")).is_err());
        assert!(Sampler::parse("jaeger_remote", None).is_err());
    }
}
