//! Reads outside transactions, and on PostgreSQL a pool of their own that
//! takes a connection back without a second round trip.
//!
//! sqlx's pool pings every connection as it takes it back (a `Sync` and a
//! wait for `ReadyForQuery`), so that a connection whose statement was cut
//! off half-way never serves again: every statement costs PostgreSQL a
//! second message and a second wake-up of its backend. [`PgReads`] keeps the
//! guarantee another way: a connection goes back only when its statement ran
//! to the end; one dropped mid-statement (a cancelled request) or one that
//! failed is closed. It only reads: writes and transactions keep SeaORM's
//! pool.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
    metric::Info,
    sqlx::{self, ConnectOptions, Connection, PgConnection, postgres::PgConnectOptions},
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Where reads outside transactions go: on PostgreSQL, [`PgReads`]; on
/// SQLite, a pool of read-only connections (see
/// [`super::connect_reader_with`]) or the writing pool itself.
#[derive(Clone)]
pub enum Reader {
    /// A SeaORM pool.
    Pool(DatabaseConnection),
    /// PostgreSQL connections for reads only.
    Postgres(PgReads),
}

impl Reader {
    /// Closes the connections: reads fail from now on, as they do on a
    /// closed [`DatabaseConnection`].
    ///
    /// # Errors
    /// A [`DbErr`] if a SQLite pool fails to close.
    pub async fn close(&self) -> Result<(), DbErr> {
        match self {
            Self::Pool(db) => db.clone().close().await,
            Self::Postgres(reads) => {
                reads.pool.slots.close();
                let idle = reads
                    .pool
                    .idle
                    .lock()
                    .map(|mut idle| std::mem::take(&mut *idle));
                for Idle { conn, .. } in idle.unwrap_or_default() {
                    reads.pool.open.fetch_sub(1, Ordering::AcqRel);
                    let _ = conn.close().await;
                }
                Ok(())
            }
        }
    }

    /// How many connections the pool holds, and how many of them are idle.
    pub fn connections(&self) -> (i64, i64) {
        match self {
            Self::Pool(db) => super::pool_connections(db),
            Self::Postgres(reads) => {
                let open = reads.pool.open.load(Ordering::Acquire);
                let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
                (count(open), count(reads.idle().min(open)))
            }
        }
    }

    /// Calls `callback` after each statement, as
    /// [`DatabaseConnection::set_metric_callback`] does.
    pub fn set_metric_callback<F>(&mut self, callback: F)
    where
        F: Fn(&Info<'_>) + Send + Sync + 'static,
    {
        match self {
            Self::Pool(db) => db.set_metric_callback(callback),
            Self::Postgres(reads) => reads.callback = Some(Arc::new(callback)),
        }
    }
}

impl From<DatabaseConnection> for Reader {
    fn from(db: DatabaseConnection) -> Self {
        Self::Pool(db)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Reader {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            Self::Pool(db) => db.get_database_backend(),
            Self::Postgres(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_raw(stmt).await,
            Self::Postgres(_) => Err(read_only()),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            Self::Pool(db) => db.execute_unprepared(sql).await,
            Self::Postgres(_) => Err(read_only()),
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_one_raw(stmt).await,
            Self::Postgres(reads) => Ok(reads.fetch_all(&stmt).await?.into_iter().next()),
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            Self::Pool(db) => db.query_all_raw(stmt).await,
            Self::Postgres(reads) => reads.fetch_all(&stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        match self {
            Self::Pool(db) => db.support_returning(),
            Self::Postgres(_) => true,
        }
    }
}

/// A write sent to [`PgReads`]: a bug in this server, never the caller's.
fn read_only() -> DbErr {
    DbErr::Custom("a write was sent to the pool for reads".to_owned())
}

/// How many connections [`PgReads`] opens at most (as many as the write
/// pool, sqlx's default).
pub const READ_CONNECTIONS: usize = 10;

/// A connection idle this long is tested before it serves again, as the
/// write pool's are.
const TEST_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// What is called after each statement.
type Callback = Arc<dyn Fn(&Info<'_>) + Send + Sync>;

/// A pool of PostgreSQL connections for statements that only read.
#[derive(Clone)]
pub struct PgReads {
    pool: Arc<Inner>,
    /// Called after each statement (see [`Reader::set_metric_callback`]).
    callback: Option<Callback>,
}

struct Inner {
    options: PgConnectOptions,
    /// Connections open, idle or leased.
    open: AtomicUsize,
    /// The writing pool beside it: its idle connections are tested once
    /// one of these turns out broken.
    writer: DatabaseConnection,
    idle: Mutex<Vec<Idle>>,
    slots: Semaphore,
    acquire_timeout: Duration,
}

struct Idle {
    conn: PgConnection,
    since: Instant,
}

/// A connection out of the pool. Dropped without [`Lease::give_back`], it
/// closes: its statement may have stopped half-way.
struct Lease<'a> {
    conn: Option<PgConnection>,
    /// Whether it served before: one broken since is replaced, and the
    /// statement run again.
    reused: bool,
    pool: &'a Inner,
    /// Its place in the pool, held while it is out.
    slot: Option<SemaphorePermit<'a>>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // Not given back: the connection closes with the lease.
        if self.conn.is_some() {
            self.pool.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until given back")
    }

    /// Its statement ran to the end: the connection serves again.
    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            match self.pool.idle.lock() {
                Ok(mut idle) => idle.push(Idle {
                    conn,
                    since: Instant::now(),
                }),
                Err(_) => {
                    self.pool.open.fetch_sub(1, Ordering::AcqRel);
                }
            }
        }
    }
}

impl PgReads {
    /// A pool on `db`'s connection settings (its URL, TLS, timeouts),
    /// opening at most [`READ_CONNECTIONS`] connections as reads need them;
    /// a read waits at most `acquire_timeout` for one.
    ///
    /// # Panics
    /// When `db` is not PostgreSQL.
    pub fn new(db: &DatabaseConnection, acquire_timeout: Duration) -> Self {
        let options = db.get_postgres_connection_pool().connect_options();
        Self {
            pool: Arc::new(Inner {
                options: options.as_ref().clone(),
                open: AtomicUsize::new(0),
                writer: db.clone(),
                idle: Mutex::new(Vec::with_capacity(READ_CONNECTIONS)),
                slots: Semaphore::new(READ_CONNECTIONS),
                acquire_timeout,
            }),
            callback: None,
        }
    }

    /// Opens a first connection, so that the first reads do not wait for
    /// one.
    ///
    /// # Errors
    /// A [`DbErr`] if the database cannot be reached.
    pub async fn warm(&self) -> Result<(), DbErr> {
        self.lease().await?.give_back();
        Ok(())
    }

    /// How many connections are open and idle.
    pub fn idle(&self) -> usize {
        self.pool.idle.lock().map_or(0, |idle| idle.len())
    }

    /// A connection: an idle one (tested first when idle for long), or a new
    /// one while fewer than [`READ_CONNECTIONS`] are open.
    async fn lease(&self) -> Result<Lease<'_>, DbErr> {
        let pool = &*self.pool;
        let started = Instant::now();
        let timed_out = || DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
        let slot = tokio::time::timeout(pool.acquire_timeout, pool.slots.acquire())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        let mut slot = Some(slot);
        loop {
            let next = pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            let Some(Idle { conn, since }) = next else {
                break;
            };
            // Leased before it is tested, so that a test cut off closes it
            // like any other.
            let mut lease = Lease {
                conn: Some(conn),
                reused: true,
                pool,
                slot: slot.take(),
            };
            if since.elapsed() < TEST_IF_IDLE_FOR || lease.conn().ping().await.is_ok() {
                return Ok(lease);
            }
            slot = lease.slot.take();
            // The broken connection closes with the lease.
        }
        let left = pool.acquire_timeout.saturating_sub(started.elapsed());
        let conn = tokio::time::timeout(left, pool.options.connect())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?;
        pool.open.fetch_add(1, Ordering::AcqRel);
        Ok(Lease {
            conn: Some(conn),
            reused: false,
            pool,
            slot,
        })
    }

    /// Runs `stmt` and reads all its rows. When a connection that had served
    /// before turns out broken (PostgreSQL restarted, the network dropped
    /// it), the idle ones are let go and the statement runs again on a
    /// new connection: it only reads.
    async fn fetch_all(&self, stmt: &Statement) -> Result<Vec<QueryResult>, DbErr> {
        loop {
            let mut lease = self.lease().await?;
            let started = Instant::now();
            let values = SqlxValues(stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new())));
            let result = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), values)
                .fetch_all(lease.conn())
                .await;
            if let Some(callback) = &self.callback {
                callback(&Info {
                    elapsed: started.elapsed(),
                    statement: stmt,
                    failed: result.is_err(),
                });
            }
            match result {
                Ok(rows) => {
                    lease.give_back();
                    return Ok(rows.into_iter().map(QueryResult::from).collect());
                }
                Err(e) if lease.reused && broken(&e) => {
                    if let Ok(mut idle) = self.pool.idle.lock() {
                        self.pool.open.fetch_sub(idle.len(), Ordering::AcqRel);
                        idle.clear();
                    }
                    let writer = self.pool.writer.clone();
                    tokio::spawn(async move { super::drop_broken_idle(&writer).await });
                }
                Err(e) => return Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))),
            }
        }
    }
}

/// Whether `e` says the connection itself is gone: an I/O or TLS failure,
/// or PostgreSQL ending the session (class 08, or 57P01 to 57P03 as it
/// shuts down).
fn broken(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}
