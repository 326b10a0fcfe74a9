//! Databases made for one test: a fresh SQLite file, or a fresh schema in
//! `TEST_DATABASE_URL`'s PostgreSQL database; removed when the test ends.

use std::path::PathBuf;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// A database made for one test, removed when the test ends (even if it fails).
pub struct TestDb {
    pub url: String,
    sqlite_file: Option<PathBuf>,
    /// The PostgreSQL URL and schema this handle drops when it is dropped.
    pg_schema: Option<(String, String)>,
    /// For an alias of a PostgreSQL test database: its URL and schema.
    connect_to: Option<(String, String)>,
}

/// A name no other test uses.
fn unique_name() -> String {
    let id = pwreset::domain::PublicId::generate("t");
    format!("it_{}", id.as_str().to_lowercase())
}

/// `base` with `schema` as every connection's search path, set when it
/// opens (in the URL, so that the server's own read pool, which opens its
/// connections from the same settings, reads the same schema).
fn on_schema(base: &str, schema: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D%22{schema}%22")
}

/// A pool on `schema` of the PostgreSQL database at `base`.
async fn pg_pool(base: &str, schema: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(on_schema(base, schema));
    options.sqlx_logging(false).max_connections(5);
    Database::connect(options).await.unwrap()
}

impl TestDb {
    /// A fresh SQLite file, or a fresh schema in `TEST_DATABASE_URL`'s database.
    pub async fn new() -> (Self, DatabaseConnection) {
        let Some(base) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            let test_db = Self::sqlite_file();
            let db = pwreset::connect(&test_db.url).await.unwrap();
            return (test_db, db);
        };
        let name = unique_name();
        let admin = Database::connect(base.as_str())
            .await
            .expect("TEST_DATABASE_URL is reachable");
        admin
            .execute_unprepared(&format!("CREATE SCHEMA \"{name}\""))
            .await
            .unwrap();
        admin.close().await.ok();
        let db = pg_pool(&base, &name).await;
        let test_db = Self {
            url: base.clone(),
            sqlite_file: None,
            pg_schema: Some((base, name)),
            connect_to: None,
        };
        (test_db, db)
    }

    /// A fresh SQLite file whatever `TEST_DATABASE_URL` says (the command-line
    /// tests pass its URL to a child process).
    pub fn sqlite_file() -> Self {
        let dir = std::env::temp_dir().join("pwreset-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{}.db", unique_name()));
        Self {
            url: format!("sqlite://{}?mode=rwc", file.display()),
            sqlite_file: Some(file),
            pg_schema: None,
            connect_to: None,
        }
    }

    /// A handle on the database at `url`, made and removed by someone else
    /// (a private cluster the test owns).
    pub fn external(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            sqlite_file: None,
            pg_schema: None,
            connect_to: None,
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

    /// A pool on this PostgreSQL database through `addr` (a proxy in front of
    /// it), waiting at most `acquire_timeout` for a connection; `None` on SQLite.
    pub async fn connect_through(
        &self,
        addr: std::net::SocketAddr,
        acquire_timeout: std::time::Duration,
    ) -> Option<DatabaseConnection> {
        let (base, schema) = self.connect_target()?;
        let url = on_schema(&base, &schema).replace("127.0.0.1:5432", &addr.to_string());
        let mut options = pwreset::database::connect_options(&url, acquire_timeout);
        options.max_connections(5);
        Some(Database::connect(options).await.unwrap())
    }

    /// Another pool on this database, as another process would have.
    pub async fn connect(&self) -> DatabaseConnection {
        match &self.connect_target() {
            Some((base, schema)) => pg_pool(base, schema).await,
            None => pwreset::connect(&self.url).await.unwrap(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm", ".key", ".lock"] {
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
