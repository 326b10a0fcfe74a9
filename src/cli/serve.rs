//! `serve`: open and migrate the database, build the state, bind both
//! listeners, create the first keys when there are none, say where
//! everything is, and serve until SIGTERM or Ctrl-C.

use std::{io::Write, net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;

use super::{BoxError, Migrations, open};
use crate::{
    AppState,
    config::{Config, LogFormat},
    domain::{ApiKeySecret, Mode},
    service::{
        Clock, SystemClock, api_keys,
        mail::{Channel, MailSettings},
        sealed,
    },
};

/// Runs the server as `config` says.
pub(super) async fn serve(config: &Config) -> Result<(), BoxError> {
    // Before touching the database: PostgreSQL without a key is refused, and
    // so are mail settings that cannot work.
    let (sealer, sealing_note) = config.tokens.sealer(&config.database_url)?;
    let mail = config.mail.settings(config.extra_ca.as_ref())?;
    let migrations = if config.no_migrate {
        Migrations::Require
    } else {
        Migrations::Run
    };
    let db = open(config, migrations).await?;
    let resealed = sealed::reseal_outdated(&db, &sealer).await?;
    let key_ids: Vec<String> = sealer.key_ids().map(ToString::to_string).collect();
    tracing::info!(tokens_sealed_now = resealed, key_ids = ?key_ids, "{sealing_note}");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let reader = crate::database::open_reader(&config.database_url, &db, config.db_acquire_timeout)
        .await
        .map_err(|e| format!("cannot open the database at DATABASE_URL for reading: {e}"))?;
    let tracer = crate::telemetry::Tracer::start(&config.traces, config.extra_ca.as_ref())?;
    let (mut db, mut reader) = (db, reader);
    if tracer.is_some() {
        use sea_orm::ConnectionTrait;
        db.set_metric_callback(crate::database::statement_spans(db.get_database_backend()));
        reader.set_metric_callback(crate::database::statement_spans(
            reader.get_database_backend(),
        ));
    }
    let state = AppState::builder(config.clone())
        .clock(clock.clone())
        .sealer(sealer)
        .mail(mail)
        .tracer(tracer.clone())
        .build(db, reader)?;
    // Items sealed with a key this process lacks: said at once, then every
    // minute by the jobs.
    state.worker()?.check_sealed(tracing::Level::WARN).await?;
    let stop = shutdown_signal();
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .map_err(|e| format!("cannot listen on LISTEN_ADDR {}: {e}", config.listen_addr))?;
    let admin = match config.metrics_addr.0 {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on METRICS_ADDR {addr}: {e}"))?,
        ),
        None => None,
    };
    let addr = listener.local_addr()?;
    let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;
    // Keys are made only now, with both listeners bound: a start that fails
    // earlier makes none it could not show. Under LOG_FORMAT=json none is
    // made, so that no key is ever written where logs go.
    match config.log_format {
        LogFormat::Human => {
            let seeded = api_keys::seed_if_empty(&state.db, clock.now()).await?;
            print_banner(addr, admin_addr, &state.mail, &seeded);
        }
        LogFormat::Json => log_banner(addr, admin_addr, &state).await?,
    }
    tracing::info!(%addr, "listening");
    // The admin listener outlives the drain: readiness says 503 while the
    // requests in flight finish.
    let (drained, admin_stop) = tokio::sync::oneshot::channel::<()>();
    if let Some(admin) = admin {
        let limits = config.http.connections;
        let server = crate::serve_admin(admin, state.clone(), limits, async {
            let _ = admin_stop.await;
        });
        tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "the admin listener failed");
            }
        });
    }
    let served = crate::serve(listener, state, config.http.clone(), stop).await;
    let _ = drained.send(());
    if let Some(tracer) = tracer {
        tracer.shut_down(std::time::Duration::from_secs(5)).await;
    }
    served?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

/// What carries a mode's emails, as the banner says it.
fn email_line(mail: &MailSettings, mode: Mode) -> String {
    match &mail.mode(mode).channel {
        Channel::Smtp(target) => format!("sent through {}", target.shown()),
        Channel::DevelopmentLog => {
            "written to this log (development mailer; set TEST_SMTP_URL to send)".into()
        }
        Channel::Off => "off: no SMTP_URL, so a live reset reaches the customer only through a webhook on customer_password_resets.create".into(),
    }
}

/// Prints the GraphiQL URL and any keys just created, as one write. A closed
/// stdout (a supervisor that stopped reading) must not stop the server, so a
/// failed write is ignored.
fn print_banner(
    addr: SocketAddr,
    admin: Option<SocketAddr>,
    mail: &MailSettings,
    seeded: &[(api_keys::ApiKeyInfo, ApiKeySecret)],
) {
    let mut banner = format!("GraphiQL: http://{addr}/graphql\n");
    match admin {
        Some(admin) => banner.push_str(&format!(
            "Metrics:  http://{admin}/metrics (admin listener)\n"
        )),
        None => banner.push_str("Metrics:  off (METRICS_ADDR is empty)\n"),
    }
    for (mode, name) in [(Mode::Test, "test"), (Mode::Live, "live")] {
        banner.push_str(&format!("Email ({name}): {}\n", email_line(mail, mode)));
    }
    if !seeded.is_empty() {
        banner.push_str("\nThe database had no API keys, so two test-mode keys were created.\n");
        banner.push_str("They are shown only now; send one as `Authorization: Bearer <key>`.\n");
        for (info, secret) in seeded {
            banner.push_str(&format!(
                "  {:<14} {}  ({})\n",
                info.role.as_str(),
                secret.expose(),
                info.id
            ));
        }
        banner.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
}

/// The banner as JSON log lines, never with a key: when the database has
/// none, says how to make one.
async fn log_banner(
    addr: SocketAddr,
    admin: Option<SocketAddr>,
    state: &AppState,
) -> Result<(), BoxError> {
    let graphiql = format!("http://{addr}/graphql");
    let metrics = admin.map(|a| format!("http://{a}/metrics"));
    tracing::info!(%graphiql, metrics = metrics.as_deref().unwrap_or("off"), "serving");
    for (mode, name) in [(Mode::Test, "test"), (Mode::Live, "live")] {
        tracing::info!(mode = name, email = %email_line(&state.mail, mode), "email");
    }
    if api_keys::list(&state.db).await?.is_empty() {
        tracing::warn!(
            "the database has no API keys: create them with `pwreset api-key create --role integration --mode test` (and --role sales_channel), which prints each once"
        );
    }
    Ok(())
}

/// A future that completes on SIGTERM or Ctrl-C. On Unix the handlers are
/// installed now, before the banner says the server is up: a signal sent as
/// soon as a supervisor sees the banner starts a graceful stop, never the
/// default kill.
#[cfg(unix)]
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let received = |installed: std::io::Result<tokio::signal::unix::Signal>| async move {
            match installed {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! { () = received(terminate) => {}, () = received(interrupt) => {} }
    }
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
