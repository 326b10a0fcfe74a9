//! Database connections: the pool options every connection uses, the pool
//! for reads beside the one that writes, SQLite files readable by their owner
//! only, and migrations (under a lock on PostgreSQL).

mod reads;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

pub use reads::{PgReads, READ_CONNECTIONS, Reader};

/// How long a request waits for a pooled connection by default before it
/// gives up with 503: a database that is down is said so at once, not after
/// the request's whole time.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The pool options every connection of this server uses: no statement
/// logging, a connection tested only after 30 s idle, and `acquire_timeout`
/// to get one.
pub fn connect_options(url: &str, acquire_timeout: Duration) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        // A ping before every statement doubled the round trips of a busy
        // server; only a connection idle long enough to have been dropped is
        // tested.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .acquire_timeout(acquire_timeout);
    options
}

/// Connects to `url` (`sqlite://…` or `postgres://…`), waiting at most
/// [`DEFAULT_ACQUIRE_TIMEOUT`] for a pooled connection.
///
/// # Errors
/// A [`DbErr`] if the database cannot be reached or opened.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// Connects to `url`, waiting at most `acquire_timeout` for a pooled
/// connection. A SQLite file is created readable by its owner only (it holds
/// password digests, webhook secrets and emails), a warning is logged when an
/// existing one is readable by others, and it is put in WAL mode so reads do
/// not wait for writes.
///
/// # Errors
/// A [`DbErr`] if the database cannot be reached or opened.
pub async fn connect_with(
    url: &str,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_file(url) {
        private_file(&path)?;
    }
    let db = Database::connect(connect_options(url, acquire_timeout)).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL").await?;
    }
    Ok(db)
}

/// The file of a SQLite URL, unless the database lives in memory.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:") && !url.contains("mode=memory"))
        .then(|| PathBuf::from(path))
}

/// Creates `path` readable and writable by its owner only (SQLite gives its
/// `-wal` and `-shm` files the same mode); warns when an existing file is
/// readable by others.
fn private_file(path: &Path) -> Result<(), DbErr> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => {
                tracing::warn!(
                    file = %path.display(),
                    mode = format!("{:o}", metadata.permissions().mode() & 0o777),
                    "the database file is readable by other users; it holds password digests, webhook secrets and emails: chmod 600 it"
                );
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let created = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path);
                match created {
                    Ok(_) => {}
                    // Another process starting at the same moment made it
                    // first, with the same mode.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        return Err(DbErr::Custom(format!(
                            "cannot create {}: {e}",
                            path.display()
                        )));
                    }
                }
            }
            Err(_) => {}
        }
    }
    Ok(())
}

/// The reads beside `writer` (from [`connect`] on the same `url`), waiting
/// at most [`DEFAULT_ACQUIRE_TIMEOUT`] for a connection; see [`open_reader`].
///
/// # Errors
/// A [`DbErr`] if the database cannot be opened.
pub async fn connect_reader(url: &str, writer: &DatabaseConnection) -> Result<Reader, DbErr> {
    open_reader(url, writer, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// The reads beside `writer` (from [`connect`] on the same `url`), waiting
/// at most `acquire_timeout` for a connection: on PostgreSQL a pool of its
/// own ([`PgReads`], at most [`READ_CONNECTIONS`] connections beside
/// `writer`'s, the first opened now), on SQLite [`connect_reader_with`]'s.
///
/// # Errors
/// A [`DbErr`] if a SQLite file cannot be opened.
pub async fn open_reader(
    url: &str,
    writer: &DatabaseConnection,
    acquire_timeout: Duration,
) -> Result<Reader, DbErr> {
    if writer.get_database_backend() == DbBackend::Postgres {
        let reads = PgReads::new(writer, acquire_timeout);
        reads.warm().await?;
        return Ok(Reader::Postgres(reads));
    }
    Ok(Reader::Pool(
        connect_reader_with(url, writer, acquire_timeout).await?,
    ))
}

/// The pool for reads beside `writer` (from [`connect`] on the same `url`):
/// on a SQLite file, one read-only connection per core (at least 2, at most
/// 8), so that reads never queue
/// behind a commit on the one writing connection (WAL lets them run side by
/// side); on PostgreSQL or an in-memory SQLite database, `writer` itself.
/// Call it after [`migrate`]: a read-only connection cannot create the file.
///
/// # Errors
/// A [`DbErr`] if the database cannot be opened.
pub async fn connect_reader_with(
    url: &str,
    writer: &DatabaseConnection,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection, DbErr> {
    if writer.get_database_backend() != DbBackend::Sqlite
        || url.contains(":memory:")
        || url.contains("mode=memory")
    {
        return Ok(writer.clone());
    }
    // More connections than cores would not read faster, but each would keep
    // its own page cache.
    let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let mut options = connect_options(url, acquire_timeout);
    options
        .max_connections(readers as u32)
        .map_sqlx_sqlite_opts(|o| o.read_only(true).create_if_missing(false));
    Database::connect(options).await
}

/// How many connections `db`'s pool holds, and how many of them are idle.
pub fn pool_connections(db: &DatabaseConnection) -> (i64, i64) {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (i64::from(pool.size()), count(pool.num_idle()))
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (i64::from(pool.size()), count(pool.num_idle()))
        }
        _ => (0, 0),
    }
}

/// The PostgreSQL advisory lock that one migrating process holds at a time.
const MIGRATION_LOCK: i64 = 0x7077_7265_7365_7401; // "pwreset" + 1

/// Records every statement run on `backend` as a span of the current trace
/// (see [`crate::telemetry::statement`]): its text with placeholders, never
/// its values. Set, as a metric callback, only when traces are exported.
pub fn statement_spans(
    backend: DbBackend,
) -> impl Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static {
    let system = match backend {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    move |info| {
        crate::telemetry::statement(system, &info.statement.sql, info.elapsed, info.failed);
    }
}

/// Tests every idle connection of `db`'s pool (PostgreSQL only) and closes
/// the broken ones: after an outage, or once a connection turned out broken,
/// the others pooled with it most likely are too, and a pooled connection is
/// tested before use only after 30 s idle.
pub async fn drop_broken_idle(db: &DatabaseConnection) {
    use sea_orm::sqlx::Connection;
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool();
    // Held until all are tested, so that none is taken twice.
    let mut tested = Vec::new();
    while let Some(mut conn) = pool.try_acquire() {
        if conn.ping().await.is_err() {
            conn.close_on_drop();
        }
        tested.push(conn);
    }
}

/// Brings the database schema up to date. Processes starting together take
/// turns: on PostgreSQL the migrations run under an advisory lock, on a
/// SQLite file under an exclusive lock on `FILE.lock` beside it; the first
/// migrates, the others then find nothing to do.
///
/// # Errors
/// A [`DbErr`] if a migration fails.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => migrate_locked_postgres(db).await,
        DbBackend::Sqlite => {
            let file = db
                .get_sqlite_connection_pool()
                .connect_options()
                .get_filename()
                .to_path_buf();
            let in_memory =
                file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
            if in_memory {
                return Migrator::up(db, None).await;
            }
            let _lock = lock_file(&file).await?;
            Migrator::up(db, None).await
        }
        _ => Migrator::up(db, None).await,
    }
}

/// An exclusive lock on `FILE.lock` beside the SQLite file `file`, held until
/// dropped: one process migrates at a time.
async fn lock_file(file: &Path) -> Result<std::fs::File, DbErr> {
    let path = PathBuf::from(format!("{}.lock", file.display()));
    let failed = |e: std::io::Error| DbErr::Custom(format!("cannot lock {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let lock = options.open(&path).map_err(failed)?;
    tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await
        .map_err(|e| DbErr::Custom(format!("the migration lock failed: {e}")))?
        .map_err(failed)
}

/// Migrates a PostgreSQL database under a session advisory lock.
async fn migrate_locked_postgres(db: &DatabaseConnection) -> Result<(), DbErr> {
    // A session lock, held on one connection of its own while the pool migrates.
    let mut holder = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(|e| DbErr::Custom(format!("no connection for the migration lock: {e}")))?;
    let lock = |sql| sea_orm::sqlx::query(sql).bind(MIGRATION_LOCK);
    lock("SELECT pg_advisory_lock($1)")
        .execute(&mut *holder)
        .await
        .map_err(|e| DbErr::Custom(format!("cannot take the migration lock: {e}")))?;
    let migrated = Migrator::up(db, None).await;
    let unlocked = lock("SELECT pg_advisory_unlock($1)")
        .execute(&mut *holder)
        .await;
    migrated?;
    unlocked.map_err(|e| DbErr::Custom(format!("cannot release the migration lock: {e}")))?;
    Ok(())
}

/// The names of the migrations not yet applied to `db` (none when its schema
/// is current), read without changing anything.
///
/// # Errors
/// A [`DbErr`] if the database cannot be read.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    Ok(Migrator::get_pending_migrations_read_only(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}

/// Why the database at `url` cannot be reached, in words an operator acts
/// on: `connection refused`, `authentication failed`, `the database does not
/// exist`, a TLS failure, no answer within `timeout`. A pool only says that
/// it timed out; this opens one connection of its own to find the cause.
/// `None` when the connection succeeds.
pub async fn diagnose(url: &str, timeout: Duration) -> Option<String> {
    use sea_orm::sqlx::{self, Connection};
    let attempt = async {
        if url.starts_with("postgres") {
            sqlx::PgConnection::connect(url).await.map(drop)
        } else {
            sqlx::SqliteConnection::connect(url).await.map(drop)
        }
    };
    answer(timeout, attempt).await
}

/// Why `db` cannot be reached, as [`diagnose`] says it, from one connection
/// opened beside its pool with the pool's own settings (so the answer does not
/// wait on the pool). `None` when the connection succeeds.
pub async fn probe(db: &DatabaseConnection, timeout: Duration) -> Option<String> {
    use sea_orm::sqlx::ConnectOptions;
    let attempt = async {
        match db.get_database_backend() {
            DbBackend::Postgres => {
                let options = db.get_postgres_connection_pool().connect_options();
                options.connect().await.map(drop)
            }
            _ => {
                let options = db.get_sqlite_connection_pool().connect_options();
                options.connect().await.map(drop)
            }
        }
    };
    answer(timeout, attempt).await
}

/// What one connection attempt said, within `timeout`.
async fn answer(
    timeout: Duration,
    attempt: impl Future<Output = Result<(), sea_orm::sqlx::Error>>,
) -> Option<String> {
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(cause(&e)),
        Err(_) => Some(format!("no answer within {} ms", timeout.as_millis())),
    }
}

/// `e` as `diagnose` says it.
fn cause(e: &sea_orm::sqlx::Error) -> String {
    use sea_orm::sqlx::Error;
    match e {
        Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the database running, on this host and port?)".into()
        }
        Error::Io(io) => format!("cannot connect: {io}"),
        Error::Tls(tls) => format!("TLS failed: {tls}"),
        Error::Database(db) => match db.code().as_deref() {
            Some("28P01" | "28000") => "authentication failed (check the user and password)".into(),
            Some("3D000") => "the database does not exist".into(),
            Some("57P03") => "the database is starting up".into(),
            _ => format!("the database refused: {}", db.message()),
        },
        Error::Configuration(_) => "DATABASE_URL is not a database URL".into(),
        other => other.to_string(),
    }
}

/// Opens the database at `url` as [`connect_with`] does; when it cannot
/// be reached, the error names the cause ([`diagnose`]), not only "pool
/// timed out", and never holds the URL.
///
/// # Errors
/// A message naming the cause.
pub async fn open(url: &str, acquire_timeout: Duration) -> Result<DatabaseConnection, String> {
    match connect_with(url, acquire_timeout).await {
        Ok(db) => Ok(db),
        Err(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) => {
            let why = diagnose(url, acquire_timeout).await;
            Err(why.unwrap_or_else(|| "the database did not answer in time".into()))
        }
        Err(DbErr::Custom(message)) => Err(message),
        Err(e) if e.to_string().contains(url) => Err(
            "DATABASE_URL is not a database URL this server can use: sqlite://FILE?mode=rwc or postgres://USER:PASSWORD@HOST/DB".into(),
        ),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes a consistent copy of the SQLite database `db` to `path` (which must
/// not exist yet) while others keep reading and writing it: SQLite's
/// `VACUUM INTO`, which copies one snapshot of the whole database.
///
/// # Errors
/// A message when `db` is not SQLite (PostgreSQL has `pg_dump`), when
/// `path` exists, or when SQLite cannot write it.
pub async fn backup(db: &DatabaseConnection, path: &Path) -> Result<(), String> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Err(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (see docs/operations.md)"
                .into(),
        );
    }
    if path.exists() {
        return Err(format!(
            "{} exists already: choose a new file",
            path.display()
        ));
    }
    let target = path
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
    db.execute_unprepared(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
        .await
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("making {} private: {e}", path.display()))?;
    }
    Ok(())
}
