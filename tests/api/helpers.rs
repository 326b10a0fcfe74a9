//! `TestApp`: the real server on a fresh database, with one helper per operation.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use chrono::{DateTime, TimeZone, Utc};
use pwreset::{
    AppState, HttpSettings,
    domain::PasswordPolicy,
    domain::{Mode, Role},
    metrics::Metrics,
    service::{ManualClock, api_keys, password::PasswordHasher},
    service::{
        password::Argon2Params,
        rate_limits::{Limit, RateLimits},
        webhooks::{Dispatcher, WebhookSettings},
    },
};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Where the clock of every test starts.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
}

/// A database made for one test, removed when the test ends (even if it fails).
pub struct TestDb {
    pub url: String,
    sqlite_file: Option<PathBuf>,
    pg_schema: Option<(String, String)>,
    /// For an alias of a PostgreSQL test database: its URL and schema.
    connect_to: Option<(String, String)>,
}

impl TestDb {
    /// A fresh SQLite file, or a fresh schema in `TEST_DATABASE_URL`'s database.
    pub async fn new() -> (Self, DatabaseConnection) {
        let name = format!(
            "it_{}",
            pwreset::domain::PublicId::generate("t")
                .as_str()
                .to_lowercase()
        );
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(base) => {
                let admin = Database::connect(base.as_str())
                    .await
                    .expect("TEST_DATABASE_URL is reachable");
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA \"{name}\""))
                    .await
                    .unwrap();
                admin.close().await.ok();
                let mut options = ConnectOptions::new(base.clone());
                options
                    .set_schema_search_path(format!("\"{name}\""))
                    .sqlx_logging(false)
                    .max_connections(5);
                let db = Database::connect(options).await.unwrap();
                (
                    Self {
                        url: base.clone(),
                        sqlite_file: None,
                        pg_schema: Some((base, name)),
                        connect_to: None,
                    },
                    db,
                )
            }
            None => {
                let dir = std::env::temp_dir().join("pwreset-tests");
                std::fs::create_dir_all(&dir).unwrap();
                let file = dir.join(format!("{name}.db"));
                let url = format!("sqlite://{}?mode=rwc", file.display());
                let db = pwreset::connect(&url).await.unwrap();
                (
                    Self {
                        url,
                        sqlite_file: Some(file),
                        pg_schema: None,
                        connect_to: None,
                    },
                    db,
                )
            }
        }
    }

    /// A handle on the same database that leaves it in place when dropped
    /// (the first handle cleans up).
    pub fn alias(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            sqlite_file: None,
            pg_schema: None,
            connect_to: self.connect_target(),
        }
    }

    fn connect_target(&self) -> Option<(String, String)> {
        self.pg_schema.clone().or_else(|| self.connect_to.clone())
    }

    /// Another pool on this database.
    pub async fn connect(&self) -> DatabaseConnection {
        match &self.connect_target() {
            Some((base, name)) => {
                let mut options = ConnectOptions::new(base.clone());
                options
                    .set_schema_search_path(format!("\"{name}\""))
                    .sqlx_logging(false)
                    .max_connections(5);
                Database::connect(options).await.unwrap()
            }
            None => pwreset::connect(&self.url).await.unwrap(),
        }
    }

    /// A fresh SQLite file whatever `TEST_DATABASE_URL` says: for the
    /// command-line tests, which pass the URL to a child process.
    pub fn sqlite_file() -> Self {
        let name = format!(
            "it_{}",
            pwreset::domain::PublicId::generate("t")
                .as_str()
                .to_lowercase()
        );
        let dir = std::env::temp_dir().join("pwreset-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{name}.db"));
        Self {
            url: format!("sqlite://{}?mode=rwc", file.display()),
            sqlite_file: Some(file),
            pg_schema: None,
            connect_to: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        if let Some((base, schema)) = self.pg_schema.take() {
            // Drop runs outside any runtime we may block: use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(db) = Database::connect(base.as_str()).await {
                        let _ = db
                            .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                            .await;
                        let _ = db.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// How a test server is set up; the defaults suit most tests.
#[derive(Clone)]
pub struct Options {
    pub http: HttpSettings,
    pub webhooks: WebhookSettings,
    pub rate_limits: RateLimits,
    pub argon2: Argon2Params,
    pub hash_concurrency: usize,
    pub hash_wait: std::time::Duration,
    pub password_policy: PasswordPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            // Tests deliver with `TestApp::dispatch`, exactly when they choose.
            webhooks: WebhookSettings {
                allow_private_targets: true,
                poll_interval: None,
            },
            // Every test client is 127.0.0.1: the per-IP create limit would
            // trip in tests about other things.
            rate_limits: RateLimits {
                create_per_ip: Limit::per(100_000, 3_600),
                ..RateLimits::default()
            },
            argon2: Argon2Params::default(),
            hash_concurrency: 2,
            hash_wait: std::time::Duration::from_secs(30),
            password_policy: PasswordPolicy::default(),
        }
    }
}

/// The real server on a fresh database, with keys of every role and mode.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: DatabaseConnection,
    /// The server's password hasher (to fill its queue in tests).
    pub hasher: PasswordHasher,
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
    client: reqwest::Client,
    stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    server: tokio::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    _test_db: TestDb,
}

impl TestApp {
    /// Starts the server on a fresh database.
    pub async fn spawn() -> Self {
        let (test_db, db) = TestDb::new().await;
        Self::spawn_on(test_db, db).await
    }

    /// Starts the server on `db`, running the real migrations first.
    pub async fn spawn_on(test_db: TestDb, db: DatabaseConnection) -> Self {
        Self::spawn_with(test_db, db, HttpSettings::default()).await
    }

    /// Starts the server with `settings` on a fresh database.
    pub async fn spawn_with_settings(settings: HttpSettings) -> Self {
        let (test_db, db) = TestDb::new().await;
        Self::spawn_with(test_db, db, settings).await
    }

    /// Starts the server on `db` with `settings`, running the real migrations first.
    pub async fn spawn_with(
        test_db: TestDb,
        db: DatabaseConnection,
        settings: HttpSettings,
    ) -> Self {
        let options = Options {
            http: settings,
            ..Options::default()
        };
        Self::spawn_full(
            test_db,
            db,
            options,
            Arc::new(ManualClock::new(start_time())),
        )
        .await
    }

    /// Starts the server with webhook `settings` on a fresh database.
    pub async fn spawn_with_webhooks(webhooks: WebhookSettings) -> Self {
        Self::spawn_with_options(Options {
            webhooks,
            ..Options::default()
        })
        .await
    }

    /// Starts the server with `options` on a fresh database.
    pub async fn spawn_with_options(options: Options) -> Self {
        let (test_db, db) = TestDb::new().await;
        Self::spawn_full(
            test_db,
            db,
            options,
            Arc::new(ManualClock::new(start_time())),
        )
        .await
    }

    /// Another server process on this server's database, sharing its clock.
    pub async fn second_process(&self) -> TestApp {
        let db = self._test_db.connect().await;
        let test_db = self._test_db.alias();
        Self::spawn_full(test_db, db, self.options.clone(), self.clock.clone()).await
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
        Self::spawn_full(test_db, db, options, clock).await
    }

    /// Starts the server on `db`, running the real migrations first. The
    /// server runs no webhook dispatcher unless `webhooks` says so: tests
    /// deliver with [`TestApp::dispatch`], exactly when they choose.
    pub async fn spawn_full(
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
        // The server's read pool: on SQLite a second pool on the same file,
        // watched like the first.
        let mut reader = pwreset::connect_reader(&test_db.url, &db).await.unwrap();
        if reader.get_database_backend() == sea_orm::DbBackend::Sqlite {
            reader.set_metric_callback(move |info| observe(info));
        }
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
        let metrics = Arc::new(Metrics::new());
        let hasher = PasswordHasher::new(
            options.argon2,
            options.hash_concurrency,
            options.hash_wait,
            metrics.clone(),
        )
        .unwrap()
        .with_policy(options.password_policy);
        let state = AppState {
            db: db.clone(),
            reader,
            clock: clock.clone(),
            hasher: hasher.clone(),
            reset_token_ttl: chrono::Duration::hours(6),
            metrics,
            webhooks: options.webhooks.clone(),
            rate_limits: options.rate_limits,
            audit_retention: chrono::Duration::days(90),
        };
        let settings = options.http.clone();
        // Bound before the server task starts: no waiting for it to come up.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(pwreset::serve(listener, state, settings, async {
            let _ = stopped.await;
        }));
        statements.store(0, Ordering::SeqCst);
        Self {
            addr,
            db,
            hasher,
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
            stop: std::sync::Mutex::new(Some(stop)),
            server: tokio::sync::Mutex::new(Some(server)),
            _test_db: test_db,
        }
    }

    /// Starts a graceful shutdown (what SIGTERM does to the binary).
    pub fn shut_down(&self) {
        if let Some(stop) = self.stop.lock().unwrap().take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the server to finish after [`TestApp::shut_down`].
    pub async fn stopped(&self) {
        if let Some(server) = self.server.lock().await.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// The GraphQL endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// POSTs `body` as JSON with `key` as bearer; the raw response.
    pub async fn post(&self, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(self.url()).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }

    /// Runs a GraphQL operation; asserts HTTP 200 and returns the JSON body.
    pub async fn gql(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let response = self
            .post(key, &json!({ "query": query, "variables": variables }))
            .await;
        assert_eq!(
            response.status(),
            200,
            "GraphQL answered with HTTP {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Creates a test-mode customer (with `password` if given); returns its id.
    pub async fn create_customer(&self, email: &str, password: Option<&str>) -> String {
        let body = self
            .gql(
                Some(&self.integration),
                "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { code } } }",
                json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        assert_eq!(
            body["data"]["createCustomer"]["userErrors"],
            json!([]),
            "{body}"
        );
        body["data"]["createCustomer"]["customer"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Starts a reset with the test-mode integration key; returns `(id, token)`.
    pub async fn create_reset(&self, email: &str) -> (String, String) {
        self.create_reset_with(&self.integration, email).await
    }

    /// Starts a reset with an integration `key`; returns `(id, token)`.
    pub async fn create_reset_with(&self, key: &str, email: &str) -> (String, String) {
        let body = self.create_reset_raw(key, email).await;
        let payload = &body["data"]["createCustomerPasswordReset"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        let reset = &payload["customerPasswordReset"];
        (
            reset["id"].as_str().unwrap().to_owned(),
            reset["resetPasswordToken"].as_str().unwrap().to_owned(),
        )
    }

    /// `createCustomerPasswordReset` with `key`; the whole response body.
    pub async fn create_reset_raw(&self, key: &str, email: &str) -> Value {
        self.gql(
            Some(key),
            "mutation($email: String!) { createCustomerPasswordReset(input: { customerEmail: $email }) {
                customerPasswordReset { id resetPasswordToken status }
                userErrors { field message code } } }",
            json!({ "email": email }),
        )
        .await
    }

    /// `completeCustomerPasswordReset` with `key`; the payload.
    pub async fn complete(&self, key: &str, token: &str, password: &str) -> Value {
        let body = self
            .gql(
                Some(key),
                "mutation($input: CompleteCustomerPasswordResetInput!) { completeCustomerPasswordReset(input: $input) {
                    customerPasswordReset { id status resetPasswordAt }
                    userErrors { field message code } } }",
                json!({ "input": { "resetPasswordToken": token, "customerPassword": password } }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        body["data"]["completeCustomerPasswordReset"].clone()
    }

    /// The reset with `id` as the test-mode integration key sees it.
    pub async fn reset(&self, id: &str) -> Value {
        let body = self
            .gql(
                Some(&self.integration),
                "query($id: ID!) { customerPasswordReset(id: $id) {
                    id status resetPasswordToken resetPasswordAt expiresAt createdAt updatedAt reference metadata mode
                    customer { id email hasPassword } } }",
                json!({ "id": id }),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
        body["data"]["customerPasswordReset"].clone()
    }

    /// The stored password digest of the customer with `email` (test mode).
    pub async fn password_digest(&self, email: &str) -> Option<String> {
        use pwreset::entity::customer;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        customer::Entity::find()
            .filter(customer::Column::EmailKey.eq(email.to_lowercase()))
            .filter(customer::Column::Mode.eq("test"))
            .one(&self.db)
            .await
            .unwrap()
            .and_then(|c| c.password_digest)
    }

    /// The principal a key stands for.
    pub async fn principal(&self, key: &str) -> pwreset::domain::Principal {
        let secret = pwreset::domain::ApiKeySecret::from_client(key);
        api_keys::authenticate(&self.db, &self.db, &secret, start_time())
            .await
            .unwrap()
            .unwrap()
    }

    /// A webhook dispatcher over this server's database (the server itself runs
    /// none in tests, so deliveries happen exactly when a test says).
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher::new(
            self.db.clone(),
            self.clock.clone(),
            Arc::new(Metrics::new()),
            true,
        )
        .unwrap()
    }

    /// A second pool on this server's database, as another process would have.
    pub async fn _second_pool(&self) -> DatabaseConnection {
        self._test_db.connect().await
    }

    /// Delivers every due webhook delivery once; returns the attempts made.
    pub async fn dispatch(&self) -> usize {
        self.dispatcher().run_once().await.unwrap()
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

/// SQL statements recorded by [`TestApp::record_sql`].
type SqlLog = Arc<std::sync::Mutex<Option<Vec<String>>>>;

/// What an armed gate waits for, whom it tells, and what releases it.
type Armed = (
    String,
    std::sync::mpsc::Sender<()>,
    std::sync::mpsc::Receiver<()>,
);

/// Stops the server, once, right after it runs a statement containing a chosen
/// text, until the test lets it go: a request held in flight without sleeping.
#[derive(Default)]
pub struct Gate {
    armed: std::sync::Mutex<Option<Armed>>,
}

impl Gate {
    /// Arms the gate for the next statement containing `sql`. Returns a receiver
    /// that fires when a request is held, and a sender that releases it.
    pub fn arm(&self, sql: &str) -> (std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel();
        *self.armed.lock().unwrap() = Some((sql.to_owned(), held_tx, release_rx));
        (held_rx, release_tx)
    }

    fn pass(&self, sql: &str) {
        let taken = {
            let mut armed = self.armed.lock().unwrap();
            match armed.as_ref() {
                Some((pattern, _, _)) if sql.contains(pattern.as_str()) => armed.take(),
                _ => None,
            }
        };
        if let Some((_, held, release)) = taken {
            let _ = held.send(());
            let wait = || {
                let _ = release.recv_timeout(std::time::Duration::from_secs(30));
            };
            // Held on a runtime worker: hand the worker's other tasks to another
            // thread first, so the rest of the server keeps running meanwhile.
            match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
                Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
                _ => wait(),
            }
        }
    }
}

/// The `code`s of a payload's `userErrors`.
pub fn codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {payload}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The `extensions.code` of each GraphQL error in a response body.
pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}
