//! `TestApp`: the real server on a fresh database, with one helper per operation.

mod db;
mod docs;
mod gate;
mod operations;
mod postgres;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use chrono::{DateTime, TimeZone, Utc};
use pwreset::{
    AppState, HttpSettings,
    config::Config,
    domain::{Mode, Role},
    service::{ManualClock, api_keys, password::PasswordHasher},
    service::{
        jobs::Worker,
        mail::MailSettings,
        password::HashingSettings,
        rate_limits::{Limit, RateLimits},
        sealing::TokenSealer,
        webhooks::WebhookSettings,
    },
};
use sea_orm::DatabaseConnection;

pub use db::TestDb;
pub use docs::docs;
pub use gate::Gate;
use gate::SqlLog;
pub use operations::{codes, error_codes};
pub use postgres::PrivatePostgres;
use tokio::net::TcpListener;

/// `createWebhook`, with every payload field.
pub const CREATE_WEBHOOK: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
    webhook { id topic callbackUrl includeCustomer sharedSecret circuit mode } userErrors { field code message } } }";

/// `createCustomerPasswordReset` for `$email`, with every payload field.
pub const CREATE_RESET: &str =
    "mutation($email: String!) { createCustomerPasswordReset(input: { customerEmail: $email }) {
    customerPasswordReset { id resetPasswordToken status }
    userErrors { field message code } } }";

/// Where the clock of every test starts.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}

/// How a test server is set up; the defaults suit most tests.
#[derive(Clone)]
pub struct Options {
    pub http: HttpSettings,
    pub webhooks: WebhookSettings,
    pub rate_limits: RateLimits,
    /// Password policy and hashing: two hashes at once, a 30 s wait.
    pub hashing: HashingSettings,
    /// Seals tokens at rest: one key per test, kept across restarts.
    pub sealer: TokenSealer,
    /// The reset email: test mode writes links to the log, live mode sends
    /// none, by default.
    pub mail: Arc<MailSettings>,
    /// The bot challenge: none by default.
    pub captcha: pwreset::service::captcha::CaptchaSettings,
    /// Breached-password screening: off by default.
    pub breached: pwreset::service::breached::BreachedSettings,
    /// How resets reach customers: links by default.
    pub codes: pwreset::service::codes::CodeSettings,
    /// Certificates outgoing TLS trusts beside the public roots: none by default.
    pub extra_roots: Option<pwreset::service::outbound::ExtraRoots>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            // Tests run the jobs with `TestApp::run_jobs`, exactly when they choose.
            webhooks: WebhookSettings {
                allow_private_targets: true,
                poll_interval: None,
                ..WebhookSettings::default()
            },
            // Every test client is 127.0.0.1: the per-IP create limit would
            // trip in tests about other things.
            rate_limits: RateLimits {
                create_per_ip: Limit::per(100_000, 3_600),
                ..RateLimits::default()
            },
            hashing: HashingSettings {
                concurrency: Some(2),
                queue_timeout: std::time::Duration::from_secs(30),
                ..HashingSettings::default()
            },
            sealer: TokenSealer::ephemeral(),
            mail: Arc::new(MailSettings::development().unwrap()),
            captcha: Default::default(),
            breached: Default::default(),
            codes: Default::default(),
            extra_roots: None,
        }
    }
}

impl Options {
    /// The defaults, with `http` for the HTTP endpoint.
    pub fn with_http(http: HttpSettings) -> Self {
        Self {
            http,
            ..Self::default()
        }
    }
}

/// The real server on a fresh database, with keys of every role and mode.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The admin listener (`/metrics`).
    pub admin_addr: SocketAddr,
    pub db: DatabaseConnection,
    /// The server's password hasher (to fill its queue in tests).
    pub hasher: PasswordHasher,
    /// The server's state.
    pub state: AppState,
    /// What the server was started with.
    pub options: Options,
    pub clock: Arc<ManualClock>,
    /// SQL statements the server has run since the counter was last reset.
    pub statements: Arc<AtomicUsize>,
    /// Holds the server inside a chosen SQL statement, to catch a request in flight.
    pub gate: Arc<Gate>,
    /// The SQL text of every statement, while recording.
    sql_log: SqlLog,
    /// Test-mode integration key.
    pub integration: String,
    /// Test-mode sales-channel key.
    pub sales_channel: String,
    /// Live-mode integration key.
    pub live_integration: String,
    /// Live-mode sales-channel key.
    pub live_sales_channel: String,
    pub(crate) client: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    _test_db: TestDb,
}

impl TestApp {
    /// Starts the server on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    /// Starts the server with `options` on a fresh database.
    pub async fn spawn_with(options: Options) -> Self {
        let (test_db, db) = TestDb::new().await;
        let clock = Arc::new(ManualClock::new(start_time()));
        Self::start(test_db, db, options, clock).await
    }

    /// Another server process on this server's database, sharing its clock.
    pub async fn second_process(&self) -> TestApp {
        self.second_process_with(self.options.clone()).await
    }

    /// Another server process on this server's database, sharing its clock,
    /// started with `options` (another token key, say).
    pub async fn second_process_with(&self, options: Options) -> TestApp {
        let db = self._test_db.connect().await;
        let test_db = self._test_db.alias();
        Self::start(test_db, db, options, self.clock.clone()).await
    }

    /// Stops this server and starts a new one on the same database, with a new
    /// pool and the same clock: a process restart.
    pub async fn restart(self) -> Self {
        self.shut_down();
        self.stopped().await;
        let TestApp {
            clock,
            _test_db: test_db,
            db,
            options,
            ..
        } = self;
        db.close().await.unwrap();
        let db = test_db.connect().await;
        Self::start(test_db, db, options, clock).await
    }

    /// Starts the server on `db` with `options` and `clock`, running the real
    /// migrations first. The server runs no background jobs unless
    /// `options.webhooks` says so: tests run them with [`TestApp::run_jobs`],
    /// exactly when they choose.
    pub async fn start(
        test_db: TestDb,
        mut db: DatabaseConnection,
        options: Options,
        clock: Arc<ManualClock>,
    ) -> Self {
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let gate = Arc::new(Gate::default());
        let held = gate.clone();
        let sql_log: SqlLog = Arc::default();
        let log = sql_log.clone();
        let observe = Arc::new(move |info: &sea_orm::metric::Info<'_>| {
            counter.fetch_add(1, Ordering::SeqCst);
            if let Some(log) = log.lock().unwrap().as_mut() {
                log.push(info.statement.sql.clone());
            }
            held.pass(&info.statement.sql);
        });
        let observer = observe.clone();
        db.set_metric_callback(move |info| observer(info));
        pwreset::migrate(&db).await.expect("migrations run");
        // The server's reads: on SQLite a second pool on the same file, on
        // PostgreSQL connections of their own; watched like the first.
        let mut reader = pwreset::connect_reader(&test_db.url, &db).await.unwrap();
        reader.set_metric_callback(move |info| observe(info));
        let key = |role, mode| {
            let db = db.clone();
            async move {
                api_keys::create(&db, role, mode, "test", start_time())
                    .await
                    .unwrap()
                    .1
                    .expose()
                    .to_owned()
            }
        };
        let integration = key(Role::Integration, Mode::Test).await;
        let sales_channel = key(Role::SalesChannel, Mode::Test).await;
        let live_integration = key(Role::Integration, Mode::Live).await;
        let live_sales_channel = key(Role::SalesChannel, Mode::Live).await;
        let config = Config {
            http: options.http.clone(),
            hashing: options.hashing,
            rate_limits: options.rate_limits,
            webhooks: options.webhooks.clone(),
            captcha: options.captcha.clone(),
            breached: options.breached.clone(),
            codes: options.codes,
            extra_ca: options.extra_roots.clone(),
            ..Config::defaults()
        };
        let state = AppState::builder(config)
            .clock(clock.clone())
            .sealer(options.sealer.clone())
            .mail(options.mail.clone())
            .build(db.clone(), reader)
            .unwrap();
        let hasher = state.hasher.clone();
        let settings = options.http.clone();
        let served = state.clone();
        // Bound before the server task starts: no waiting for it to come up.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_addr = admin.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        // The admin listener outlives the drain, as in the binary: readiness
        // says 503 while requests in flight finish.
        let (drained, admin_stop) = tokio::sync::oneshot::channel::<()>();
        let limits = options.http.connections;
        tokio::spawn(pwreset::serve_admin(admin, state.clone(), limits, async {
            let _ = admin_stop.await;
        }));
        let server = tokio::spawn(async move {
            let result = pwreset::serve(listener, served, settings, until_stopped()).await;
            let _ = drained.send(());
            result
        });
        statements.store(0, Ordering::SeqCst);
        Self {
            addr,
            admin_addr,
            db,
            hasher,
            state,
            options,
            clock,
            statements,
            sql_log,
            gate,
            integration,
            sales_channel,
            live_integration,
            live_sales_channel,
            client: reqwest::Client::new(),
            stop,
            server: tokio::sync::Mutex::new(Some(server)),
            _test_db: test_db,
        }
    }

    /// Starts a graceful shutdown (what SIGTERM does to the binary).
    pub fn shut_down(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits for the server to finish after [`TestApp::shut_down`].
    pub async fn stopped(&self) {
        if let Some(server) = self.server.lock().await.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// The server's background jobs, over its database (the server itself
    /// runs none in tests, so jobs run exactly when a test says).
    pub fn worker(&self) -> Worker {
        self.worker_with(true)
    }

    /// The background jobs, calling private webhook targets only if `allow_private`.
    pub fn worker_with(&self, allow_private: bool) -> Worker {
        let webhooks = WebhookSettings {
            allow_private_targets: allow_private,
            ..self.options.webhooks.clone()
        };
        let state = AppState {
            webhooks,
            ..self.state.clone()
        };
        state.worker().unwrap()
    }

    /// The background jobs of another process: a pool of their own on this
    /// server's database.
    pub async fn other_process_worker(&self) -> Worker {
        let db = self._test_db.connect().await;
        let state = AppState {
            db: db.clone(),
            reader: db.into(),
            ..self.state.clone()
        };
        state.worker().unwrap()
    }

    /// Runs the background jobs once: queued storefront requests become
    /// resets, due webhook deliveries are attempted. Returns the attempts made.
    pub async fn run_jobs(&self) -> usize {
        self.worker().run_once().await.unwrap()
    }

    /// Runs `work` and returns its result with the SQL text (parameters
    /// apart) of every statement the server ran meanwhile.
    pub async fn record_sql<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> (T, Vec<String>) {
        *self.sql_log.lock().unwrap() = Some(Vec::new());
        let result = work.await;
        let log = self.sql_log.lock().unwrap().take().unwrap_or_default();
        (result, log)
    }

    /// SQL statements run since the last call (and resets the count).
    pub fn take_statements(&self) -> usize {
        self.statements.swap(0, Ordering::SeqCst)
    }
}
