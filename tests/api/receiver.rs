//! A webhook receiver on 127.0.0.1 inside the test: it records every call
//! (headers and raw body) and answers with the statuses it is told to; over
//! plain HTTP, or HTTPS as `localhost` ([`Receiver::start_tls`]).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};

/// One call the receiver got.
#[derive(Debug, Clone)]
pub struct Call {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Call {
    /// A header's value.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    calls: Mutex<Vec<Call>>,
    /// Statuses to answer with, in order; 200 once they run out, or `then`.
    script: Mutex<VecDeque<u16>>,
    then: Mutex<u16>,
}

/// The receiver.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inner.calls.lock().unwrap().push(Call { headers, body });
    let status = inner
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(*inner.then.lock().unwrap());
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    /// Starts a receiver that answers 200.
    pub async fn start() -> Self {
        let (inner, app) = Self::router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    /// Starts a receiver that answers 200 over HTTPS only, as `localhost`,
    /// through `acceptor`.
    pub async fn start_tls(acceptor: tokio_rustls::TlsAcceptor) -> Self {
        let (inner, app) = Self::router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}/hook",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        tower::ServiceExt::oneshot(app.clone(), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, inner }
    }

    fn router() -> (Arc<Inner>, Router) {
        let inner = Arc::new(Inner {
            then: Mutex::new(200),
            ..Default::default()
        });
        let app = Router::new()
            .route("/hook", post(receive))
            // Where an OpenTelemetry collector takes traces.
            .route("/v1/traces", post(receive))
            .with_state(inner.clone());
        (inner, app)
    }

    /// Answers the next calls with `statuses`, in order.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.inner.script.lock().unwrap().extend(statuses);
    }

    /// Answers every call with `status` from now on.
    pub fn answer_always(&self, status: u16) {
        *self.inner.then.lock().unwrap() = status;
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.calls.lock().unwrap().clone()
    }
}
