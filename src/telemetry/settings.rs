//! The trace exporter's settings: the OpenTelemetry specification's own
//! environment variables, so that an operator's usual configuration works.

use clap::Args;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{
    context::Sampler,
    export::{Protocol, Target},
};

/// Settings of OpenTelemetry trace export (OTLP over HTTP). With neither
/// endpoint set, no trace is made and nothing is exported.
#[derive(Clone, Args)]
#[command(next_help_heading = "Traces (OpenTelemetry)")]
pub struct TraceSettings {
    /// The collector's OTLP/HTTP base URL, such as `http://collector:4318`;
    /// traces go to `/v1/traces` under it. Unset (with no traces endpoint):
    /// no traces.
    #[arg(
        long = "otel-exporter-otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        global = true
    )]
    pub endpoint: Option<String>,
    /// The full URL traces are posted to, instead of the one the endpoint
    /// gives.
    #[arg(
        long = "otel-exporter-otlp-traces-endpoint",
        env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        global = true
    )]
    pub traces_endpoint: Option<String>,
    /// `http/protobuf` or `http/json` (gRPC is not offered).
    #[arg(
        long = "otel-exporter-otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        default_value = "http/protobuf",
        global = true
    )]
    pub protocol: String,
    /// Headers sent with every export, `key=value` pairs separated by
    /// commas, values percent-encoded (a vendor's API key, say). Secret.
    #[arg(
        long = "otel-exporter-otlp-headers",
        env = "OTEL_EXPORTER_OTLP_HEADERS",
        global = true
    )]
    pub headers: Option<String>,
    /// The `service.name` of every span.
    #[arg(
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        default_value = "pwreset",
        global = true
    )]
    pub service_name: String,
    /// Which traces are recorded: `parentbased_always_on` (the caller's
    /// `traceparent` decides, else every trace), `always_on`, `always_off`,
    /// `traceidratio`, `parentbased_always_off`, `parentbased_traceidratio`.
    #[arg(
        long = "otel-traces-sampler",
        env = "OTEL_TRACES_SAMPLER",
        default_value = "parentbased_always_on",
        global = true
    )]
    pub sampler: String,
    /// The ratio of the `*traceidratio` samplers, from 0.0 to 1.0 (1.0 when unset).
    #[arg(
        long = "otel-traces-sampler-arg",
        env = "OTEL_TRACES_SAMPLER_ARG",
        global = true
    )]
    pub sampler_arg: Option<String>,
    /// `otlp` (export to the endpoint) or `none` (no traces even with an
    /// endpoint set).
    #[arg(
        long = "otel-traces-exporter",
        env = "OTEL_TRACES_EXPORTER",
        default_value = "otlp",
        global = true
    )]
    pub exporter: String,
    /// `true` turns traces off, whatever else is set.
    #[arg(
        long = "otel-sdk-disabled",
        env = "OTEL_SDK_DISABLED",
        default_value = "false",
        global = true
    )]
    pub sdk_disabled: String,
    /// More attributes of this service's resource, `key=value` pairs
    /// separated by commas, values percent-encoded
    /// (`deployment.environment.name=production`); `service.name` is set by
    /// `OTEL_SERVICE_NAME` only.
    #[arg(
        long = "otel-resource-attributes",
        env = "OTEL_RESOURCE_ATTRIBUTES",
        global = true
    )]
    pub resource_attributes: Option<String>,
}

impl std::fmt::Debug for TraceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceSettings")
            .field("endpoint", &self.endpoint)
            .field("traces_endpoint", &self.traces_endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &self.headers.as_ref().map(|_| "[redacted]"))
            .field("service_name", &self.service_name)
            .field("sampler", &self.sampler)
            .finish_non_exhaustive()
    }
}

impl Default for TraceSettings {
    fn default() -> Self {
        crate::flags::defaults()
    }
}

impl TraceSettings {
    /// Where spans go and which are kept; `None` when no endpoint is set.
    ///
    /// # Errors
    /// A message naming the variable: a URL that is not http(s), an unknown
    /// protocol or sampler, a header that cannot be sent.
    pub fn target(&self) -> Result<Option<(Target, Sampler)>, String> {
        let url = match (&self.traces_endpoint, &self.endpoint) {
            (Some(url), _) => checked_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url)?,
            (None, Some(base)) => {
                let base = checked_url("OTEL_EXPORTER_OTLP_ENDPOINT", base)?;
                format!("{}/v1/traces", base.trim_end_matches('/'))
            }
            (None, None) => return Ok(None),
        };
        match self.sdk_disabled.trim().to_ascii_lowercase().as_str() {
            "true" => return Ok(None),
            "false" | "" => {}
            other => return Err(format!("OTEL_SDK_DISABLED {other:?} is not true or false")),
        }
        match self.exporter.trim() {
            "otlp" | "" => {}
            "none" => return Ok(None),
            other => {
                return Err(format!(
                    "OTEL_TRACES_EXPORTER {other:?} is not otlp or none"
                ));
            }
        }
        let protocol = match self.protocol.trim() {
            "http/protobuf" => Protocol::Protobuf,
            "http/json" => Protocol::Json,
            "grpc" => return Err("OTEL_EXPORTER_OTLP_PROTOCOL grpc is not offered: use http/protobuf (port 4318 on a collector)".into()),
            other => return Err(format!("OTEL_EXPORTER_OTLP_PROTOCOL {other:?} is not http/protobuf or http/json")),
        };
        let sampler = Sampler::parse(&self.sampler, self.sampler_arg.as_deref())?;
        let headers = self
            .headers
            .as_deref()
            .map(parse_headers)
            .transpose()?
            .unwrap_or_default();
        Ok(Some((
            Target {
                url,
                protocol,
                headers,
                resource: super::export::resource(&self.service_name, self.resource()?),
            },
            sampler,
        )))
    }
}

impl TraceSettings {
    fn resource(&self) -> Result<Vec<(String, String)>, String> {
        let Some(raw) = self.resource_attributes.as_deref() else {
            return Ok(Vec::new());
        };
        let pairs = pairs(raw, "OTEL_RESOURCE_ATTRIBUTES")?;
        Ok(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }
}

/// `key=value,key2=value2` from `name`, values percent-decoded. Messages
/// never hold a value.
fn pairs<'a>(raw: &'a str, name: &str) -> Result<Vec<(&'a str, String)>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("{name} must be key=value pairs separated by commas"))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("{name}: a pair has no key"));
            }
            let value = percent_encoding::percent_decode_str(value.trim())
                .decode_utf8()
                .map_err(|_| format!("{name}: the value of {key:?} is not UTF-8"))?;
            Ok((key, value.into_owned()))
        })
        .collect()
}

fn checked_url(name: &str, raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw.trim()).map_err(|_| format!("{name} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{name} must be an http(s) URL"));
    }
    Ok(raw.trim().to_owned())
}

/// The headers of `OTEL_EXPORTER_OTLP_HEADERS`. Messages never hold a value.
fn parse_headers(raw: &str) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (key, value) in pairs(raw, "OTEL_EXPORTER_OTLP_HEADERS")? {
        let name = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| format!("OTEL_EXPORTER_OTLP_HEADERS: {key:?} is not a header name"))?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            format!("OTEL_EXPORTER_OTLP_HEADERS: the value of {name} cannot be sent")
        })?;
        value.set_sensitive(true);
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Value;

    fn settings(endpoint: Option<&str>, traces: Option<&str>) -> TraceSettings {
        TraceSettings {
            endpoint: endpoint.map(str::to_owned),
            traces_endpoint: traces.map(str::to_owned),
            ..TraceSettings::default()
        }
    }

    #[test]
    fn the_traces_url_follows_the_specification() {
        assert!(
            settings(None, None).target().unwrap().is_none(),
            "off when unset"
        );
        let (target, sampler) = settings(Some("http://collector:4318/"), None)
            .target()
            .unwrap()
            .unwrap();
        assert_eq!(target.url, "http://collector:4318/v1/traces");
        assert_eq!(target.protocol, Protocol::Protobuf);
        assert_eq!(
            sampler,
            Sampler::ParentBased(super::super::context::Root::AlwaysOn)
        );
        let (target, _) = settings(Some("http://a:4318"), Some("https://b/custom"))
            .target()
            .unwrap()
            .unwrap();
        assert_eq!(
            target.url, "https://b/custom",
            "the traces endpoint is taken as is"
        );
        assert!(settings(Some("collector:4318"), None).target().is_err());
    }

    #[test]
    fn traces_can_be_turned_off_the_standard_ways() {
        let on = settings(Some("http://collector:4318"), None);
        let none = TraceSettings {
            exporter: "none".into(),
            ..on.clone()
        };
        assert!(none.target().unwrap().is_none());
        let disabled = TraceSettings {
            sdk_disabled: "TRUE".into(),
            ..on.clone()
        };
        assert!(disabled.target().unwrap().is_none());
        let wrong = TraceSettings {
            exporter: "zipkin".into(),
            ..on
        };
        assert!(wrong.target().unwrap_err().contains("OTEL_TRACES_EXPORTER"));
    }

    #[test]
    fn resource_attributes_are_added_but_never_rename_the_service() {
        let with = TraceSettings {
            resource_attributes: Some(
                "deployment.environment.name=prod%20eu, service.name=other".into(),
            ),
            service_name: "shop-resets".into(),
            ..settings(Some("http://collector:4318"), None)
        };
        let (target, _) = with.target().unwrap().unwrap();
        let value = |key: &str| {
            target
                .resource
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value("service.name"), Some(Value::from("shop-resets")));
        assert_eq!(
            value("deployment.environment.name"),
            Some(Value::from("prod eu"))
        );
    }

    #[test]
    fn headers_are_decoded_and_never_echoed() {
        let headers = parse_headers("api-key=s3cr%20et, x-team = shop ").unwrap();
        assert_eq!(headers["api-key"], "s3cr et");
        assert_eq!(headers["x-team"], "shop");
        let error = parse_headers("api-key s3cret").unwrap_err();
        assert!(!error.contains("s3cret"), "{error}");
        let error = parse_headers("bad key=s3cret").unwrap_err();
        assert!(!error.contains("s3cret"), "{error}");
    }
}
