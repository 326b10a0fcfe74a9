//! OpenTelemetry traces, exported over OTLP/HTTP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set, and not
//! made at all otherwise: without a [`Tracer`], [`child`] and the SQL hook
//! find no current span and return at once.
//!
//! A request's span continues the caller's `traceparent`; the spans of the
//! work inside it (the GraphQL or JSON:API operation, each SQL statement,
//! password hashing) are its children through a task-local current span.
//! Work finished later by the background jobs (the storefront queue, the
//! email, the webhook call) starts a trace of its own, linked to the request
//! whose `traceparent` was stored with the work.
//!
//! No attribute holds a secret, an email address or a token: spans carry
//! routes, operation names, statement text (values are bound, never in the
//! text), outcomes and counts.

mod context;
mod export;
mod settings;

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

pub use context::{Root, Sampler, SpanContext};
pub use export::{Kind, Value};
pub use settings::TraceSettings;
use tokio::sync::mpsc;

use crate::service::outbound::{self, ExtraRoots};

/// Spans waiting for the exporter at most; more are dropped (and counted).
const QUEUE: usize = 4_096;

tokio::task_local! {
    static CURRENT: Current;
}

/// The span the running task works in.
#[derive(Clone)]
struct Current {
    tracer: Arc<Tracer>,
    context: SpanContext,
}

/// Makes spans and hands finished ones to the exporter task.
pub struct Tracer {
    sampler: Sampler,
    spans: mpsc::Sender<export::Message>,
    dropped: Arc<AtomicU64>,
    exporter: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("sampler", &self.sampler)
            .finish_non_exhaustive()
    }
}

impl Tracer {
    /// A tracer exporting as `settings` say, its exporter task started on
    /// the current runtime; `None` when no endpoint is set. `extra` is
    /// trusted for an https collector.
    ///
    /// # Errors
    /// A message naming the setting that is wrong.
    pub fn start(
        settings: &TraceSettings,
        extra: Option<&ExtraRoots>,
    ) -> Result<Option<Arc<Self>>, String> {
        let Some((target, sampler)) = settings.target()? else {
            return Ok(None);
        };
        let client = outbound::trusting(
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .no_proxy()
                .user_agent(concat!("pwreset/", env!("CARGO_PKG_VERSION"))),
            extra,
        )
        .build()
        .map_err(|e| format!("the trace exporter's HTTP client: {e}"))?;
        let (spans, receiver) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let exporter = tokio::spawn(export::run(target, client, receiver, dropped.clone()));
        Ok(Some(Arc::new(Self {
            sampler,
            spans,
            dropped,
            exporter: std::sync::Mutex::new(Some(exporter)),
        })))
    }

    /// Sends what is waiting and stops the exporter, within `timeout`
    /// (at shutdown; spans ended later are dropped).
    pub async fn shut_down(&self, timeout: Duration) {
        let handle = self.exporter.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = self.spans.send(export::Message::Close).await;
            if tokio::time::timeout(timeout, handle).await.is_err() {
                tracing::warn!(
                    "the trace exporter did not finish in time; its last spans are lost"
                );
            }
        }
    }

    /// The span of a request this server answers, continuing the caller's
    /// trace when `parent` (its `traceparent`) is given.
    pub fn server(self: &Arc<Self>, name: String, parent: Option<SpanContext>) -> Span {
        let trace_id = parent
            .as_ref()
            .map_or_else(context::new_trace_id, |p| p.trace_id);
        let sampled = self.sampler.sampled(&trace_id, parent.as_ref());
        let context = SpanContext {
            trace_id,
            span_id: context::new_span_id(),
            sampled,
            state: parent.as_ref().and_then(|p| p.state.clone()),
        };
        self.open(
            name,
            Kind::Server,
            context,
            parent.map(|p| p.span_id),
            Vec::new(),
        )
    }

    /// The span of work a background job does on behalf of an earlier
    /// request: a trace of its own, linked to that request's span when its
    /// `traceparent` was kept.
    pub fn job(self: &Arc<Self>, name: String, kind: Kind, requested_by: Option<&str>) -> Span {
        let link = requested_by.and_then(|t| SpanContext::from_headers(t, None));
        let trace_id = context::new_trace_id();
        let sampled =
            self.sampler.sampled(&trace_id, None) || link.as_ref().is_some_and(|l| l.sampled);
        let context = SpanContext {
            trace_id,
            span_id: context::new_span_id(),
            sampled,
            state: None,
        };
        self.open(name, kind, context, None, link.into_iter().collect())
    }

    fn open(
        self: &Arc<Self>,
        name: String,
        kind: Kind,
        context: SpanContext,
        parent: Option<[u8; 8]>,
        links: Vec<SpanContext>,
    ) -> Span {
        Span(Some(Box::new(Open {
            tracer: self.clone(),
            span: export::Finished {
                context,
                parent,
                name,
                kind,
                start: SystemTime::now(),
                end: SystemTime::UNIX_EPOCH,
                attributes: Vec::new(),
                links,
                error: None,
            },
        })))
    }

    fn finish(&self, span: export::Finished) {
        if self.spans.try_send(export::Message::Span(span)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A span while it is open; it ends when dropped. A span of no tracer (or
/// of a trace not sampled) records nothing.
#[derive(Default)]
pub struct Span(Option<Box<Open>>);

struct Open {
    tracer: Arc<Tracer>,
    span: export::Finished,
}

impl Span {
    /// A span that records nothing.
    pub fn none() -> Self {
        Self(None)
    }

    /// Whether this span will be exported.
    pub fn is_recording(&self) -> bool {
        self.0.as_ref().is_some_and(|o| o.span.context.sampled)
    }

    /// Sets an attribute.
    pub fn set(&mut self, key: &'static str, value: impl Into<Value>) {
        if let Some(open) = self.0.as_mut().filter(|o| o.span.context.sampled) {
            open.span.attributes.push((key, value.into()));
        }
    }

    /// Renames the span (once what it does is known).
    pub fn rename(&mut self, name: impl Into<String>) {
        if let Some(open) = self.0.as_mut() {
            open.span.name = name.into();
        }
    }

    /// Marks the span failed, with a message that holds no secret.
    pub fn fail(&mut self, message: impl Into<String>) {
        if let Some(open) = self.0.as_mut() {
            open.span.error = Some(message.into());
        }
    }

    /// This span's `traceparent`, when it is recorded: kept with work that
    /// a background job finishes later, to link that work to this span.
    pub fn traceparent(&self) -> Option<String> {
        self.0
            .as_ref()
            .filter(|o| o.span.context.sampled)
            .map(|o| o.span.context.traceparent())
    }

    /// Runs `work` with this span as the current one: the spans it opens are
    /// this one's children.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        match &self.0 {
            Some(open) => {
                let current = Current {
                    tracer: open.tracer.clone(),
                    context: open.span.context.clone(),
                };
                CURRENT.scope(current, work).await
            }
            None => work.await,
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some(open) = self.0.take()
            && open.span.context.sampled
        {
            let Open { tracer, mut span } = *open;
            span.end = SystemTime::now();
            tracer.finish(span);
        }
    }
}

/// The span of a background job's work (see [`Tracer::job`]); one that
/// records nothing when there is no tracer.
pub fn job(
    tracer: Option<&Arc<Tracer>>,
    name: &str,
    kind: Kind,
    requested_by: Option<&str>,
) -> Span {
    tracer.map_or_else(Span::none, |t| t.job(name.to_owned(), kind, requested_by))
}

/// A child of the current span (none when there is no current span).
pub fn child(name: impl Into<String>, kind: Kind) -> Span {
    CURRENT
        .try_with(|current| {
            current.tracer.open(
                name.into(),
                kind,
                current.context.child(),
                Some(current.context.span_id),
                Vec::new(),
            )
        })
        .unwrap_or_default()
}

/// The current span's `traceparent`, when it is recorded.
pub fn current_traceparent() -> Option<String> {
    CURRENT
        .try_with(|c| c.context.sampled.then(|| c.context.traceparent()))
        .ok()
        .flatten()
}

/// Records a statement that has run, `elapsed` long, as a child of the
/// current span: the SQL hook of [`crate::database`]. `sql` is the text
/// with placeholders: values are bound apart and never recorded.
pub fn statement(system: &'static str, sql: &str, elapsed: Duration, failed: bool) {
    let _ = CURRENT.try_with(|current| {
        if !current.context.sampled {
            return;
        }
        let end = SystemTime::now();
        let operation = sql
            .split_whitespace()
            .next()
            .unwrap_or("SQL")
            .to_ascii_uppercase();
        current.tracer.finish(export::Finished {
            context: current.context.child(),
            parent: Some(current.context.span_id),
            name: operation.clone(),
            kind: Kind::Client,
            start: end.checked_sub(elapsed).unwrap_or(end),
            end,
            attributes: vec![
                ("db.system.name", Value::from(system)),
                ("db.operation.name", Value::from(operation)),
                ("db.query.text", Value::from(sql)),
            ],
            links: Vec::new(),
            error: failed.then(|| "the statement failed".to_owned()),
        });
    });
}
