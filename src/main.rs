//! `pwreset`: parse the command line, connect, migrate, then serve or run an admin command.

use std::{io::Write, process::ExitCode, sync::Arc};

use clap::Parser;
use pwreset::{
    AppState,
    config::{ApiKeyCommand, Cli, Command, Config, LogFormat},
    domain::{ApiKeySecret, Mode},
    graphql,
    service::{
        Clock, SystemClock, api_keys,
        mail::{Channel, MailSettings},
        sealed,
    },
};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

type BoxError = Box<dyn std::error::Error>;

/// mimalloc instead of the system allocator: under concurrent load glibc's
/// malloc spent a fifth of the server's time in allocation and contended
/// arena locks (see README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.config.log_format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::PrintSchema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::ApiKey(command) => api_key(&cli.config, command).await,
        Command::Migrate => {
            let config = Config {
                no_migrate: false,
                ..cli.config.clone()
            };
            open(&config).await?;
            println!("the database schema is current");
            Ok(())
        }
        Command::Serve => serve(&cli.config).await,
    }
}

async fn open(config: &Config) -> Result<sea_orm::DatabaseConnection, BoxError> {
    let db = pwreset::database::connect_with(&config.database_url, config.db_acquire_timeout)
        .await
        .map_err(|e| format!("cannot open the database at DATABASE_URL: {e}"))?;
    if config.no_migrate {
        let pending = pwreset::pending_migrations(&db)
            .await
            .map_err(|e| format!("cannot read the schema's version: {e}"))?;
        if !pending.is_empty() {
            return Err(format!(
                "the database schema is behind this server ({} migrations pending: {}); \
                 run `pwreset migrate`, or start without --no-migrate",
                pending.len(),
                pending.join(", ")
            )
            .into());
        }
    } else {
        pwreset::migrate(&db)
            .await
            .map_err(|e| format!("migrations failed: {e}"))?;
    }
    Ok(db)
}

async fn api_key(config: &Config, command: ApiKeyCommand) -> Result<(), BoxError> {
    let db = open(config).await?;
    let now = SystemClock.now();
    match command {
        ApiKeyCommand::Create { role, mode, name } => {
            let name = name.unwrap_or_else(|| format!("{mode} {role} key"));
            let (info, secret) = api_keys::create(&db, role, mode, &name, now).await?;
            eprintln!(
                "created {} ({role}, {mode}); the key is shown only now:",
                info.id
            );
            println!("{}", secret.expose());
        }
        ApiKeyCommand::List => {
            println!(
                "{:<28} {:<14} {:<5} {:<26} {:<26} NAME",
                "ID", "ROLE", "MODE", "CREATED", "REVOKED"
            );
            for key in api_keys::list(&db).await? {
                let revoked = key
                    .revoked_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<28} {:<14} {:<5} {:<26} {:<26} {}",
                    key.id,
                    key.role,
                    key.mode,
                    key.created_at.to_rfc3339(),
                    revoked,
                    key.name
                );
            }
        }
        ApiKeyCommand::Revoke { id } => match api_keys::revoke(&db, &id, now).await? {
            Some(key) => println!("revoked {}", key.id),
            None => return Err(format!("no API key has the id {id:?}").into()),
        },
    }
    Ok(())
}

async fn serve(config: &Config) -> Result<(), BoxError> {
    // Before touching the database: PostgreSQL without a key is refused, and
    // so are mail settings that cannot work.
    let (sealer, sealing_note) = config.tokens.sealer(&config.database_url)?;
    let mail = config.mail.settings()?;
    let db = open(config).await?;
    let resealed = sealed::reseal_outdated(&db, &sealer).await?;
    let key_ids: Vec<String> = sealer.key_ids().map(ToString::to_string).collect();
    tracing::info!(tokens_sealed_now = resealed, key_ids = ?key_ids, "{sealing_note}");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let seeded = api_keys::seed_if_empty(&db, clock.now()).await?;
    let reader = pwreset::database::connect_reader_with(
        &config.database_url,
        &db,
        config.db_acquire_timeout,
    )
    .await
    .map_err(|e| format!("cannot open the database at DATABASE_URL for reading: {e}"))?;
    let state = AppState::builder(config.clone())
        .clock(clock)
        .sealer(sealer)
        .mail(mail)
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
    print_banner(addr, admin_addr, &state.mail, &seeded);
    tracing::info!(%addr, "listening");
    // The admin listener outlives the drain: readiness says 503 while the
    // requests in flight finish.
    let (drained, admin_stop) = tokio::sync::oneshot::channel::<()>();
    if let Some(admin) = admin {
        let limits = config.http.connections;
        let server = pwreset::serve_admin(admin, state.clone(), limits, async {
            let _ = admin_stop.await;
        });
        tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "the admin listener failed");
            }
        });
    }
    let served = pwreset::serve(listener, state, config.http.clone(), stop).await;
    let _ = drained.send(());
    served?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

/// Prints the GraphiQL URL and any keys just created, as one write. A closed
/// stdout (a supervisor that stopped reading) must not stop the server, so a
/// failed write is ignored.
fn print_banner(
    addr: std::net::SocketAddr,
    admin: Option<std::net::SocketAddr>,
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
        let line = match &mail.mode(mode).channel {
            Channel::Smtp(target) => format!("sent through {}", target.shown()),
            Channel::DevelopmentLog => {
                "written to this log (development mailer; set TEST_SMTP_URL to send)".into()
            }
            Channel::Off => "off: no SMTP_URL, so a live reset reaches the customer only through a webhook on customer_password_resets.create".into(),
        };
        banner.push_str(&format!("Email ({name}): {line}\n"));
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
