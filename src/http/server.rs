//! The server loop: HTTP/1 connections that cannot be held open by a slow
//! client, a cap on how many are open at once, and a shutdown that stops
//! taking connections, says so on `/readyz`, and drains for a bounded time.
//!
//! - The request head must arrive within the header-read timeout, counted
//!   from when the server starts waiting for it, so an idle keep-alive
//!   connection is closed after the same time.
//! - Past `max_connections`, a new connection is answered `503` with
//!   `Retry-After: 1` and closed.
//! - The request body is read within the request deadline (see `graphql`).

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::{Request, body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{io::AsyncWriteExt, net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

use crate::flags;

/// How connections are kept in check.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers, in milliseconds;
    /// also how long a keep-alive connection may sit idle. Then it is closed.
    #[arg(long = "header-read-timeout-ms", env = "HEADER_READ_TIMEOUT_MS", default_value = "10000",
          value_parser = flags::millis(100..=600_000), global = true)]
    pub header_read_timeout: Duration,
    /// How many connections may be open at once; more are answered 503 and closed.
    #[arg(long = "max-connections", env = "MAX_CONNECTIONS", default_value = "1024",
          value_parser = flags::count(1..=1_000_000), global = true)]
    pub max_connections: usize,
    /// How long requests in flight may take to finish after SIGTERM, in milliseconds.
    #[arg(long = "shutdown-drain-timeout-ms", env = "SHUTDOWN_DRAIN_TIMEOUT_MS", default_value = "30000",
          value_parser = flags::millis(0..=3_600_000), global = true)]
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        flags::defaults()
    }
}

/// What a connection over the cap is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 96\r\n\r\n\
{\"errors\":[{\"message\":\"too many open connections\",\"extensions\":{\"code\":\"SERVICE_UNAVAILABLE\"}}]}";

/// Serves `router` on `listener` within `limits` until `shutdown` completes;
/// then takes no new connections and waits for those open to finish their
/// requests, at most `limits.drain_timeout`.
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A connection that failed before it was accepted, or too
                // many open files for a moment: keep serving the others.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response)
            }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!(
                timeout_ms = limits.drain_timeout.as_millis() as u64,
                "requests still in flight when the drain time ran out"
            );
        }
    }
    Ok(())
}

/// Tells a connection over the cap to come back, and closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await
    })
    .await;
}
