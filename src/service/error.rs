//! The service layer's one error type.

pub use crate::domain::ErrorCode;
use crate::domain::ParseError;

/// What a service call can fail with.
///
/// `Display` never includes database text, so even a stray conversion cannot
/// send SQL to a client; the cause stays available through `source()` for logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input was refused; nothing changed. Reported as `userErrors`.
    #[error("invalid input")]
    User(Vec<UserError>),
    /// A malformed query argument (page size, cursor); reported as a GraphQL error.
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter the caller named (`parameter`) cannot be used.
    #[error("{message}")]
    BadParameter {
        /// The parameter as the client wrote it, such as `filter[q][x_eq]`.
        parameter: String,
        /// What is wrong with it.
        message: String,
    },
    /// A rate limit or the hashing queue refused the request; nothing changed.
    #[error("{message}")]
    TooManyRequests {
        /// Seconds until a retry can succeed.
        retry_after: u64,
        /// What was exceeded.
        message: String,
    },
    /// A service the request needs (not the database) cannot be reached;
    /// nothing changed, and a retry may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed.
    #[error("internal error")]
    Database(#[from] sea_orm::DbErr),
    /// Something else failed that the caller cannot fix.
    #[error("internal error")]
    Internal(String),
}

/// The result of a service call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether `err` says the database is out of reach rather than a fault: no
/// connection to be had, or the one in use broke mid-query. A client should
/// retry these; every other database error is a bug to log.
pub fn database_unreachable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let cause = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(_) => return true,
        DbErr::Query(RuntimeErr::SqlxError(cause)) | DbErr::Exec(RuntimeErr::SqlxError(cause)) => {
            cause
        }
        _ => return false,
    };
    match cause.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's connection exceptions (class 08) and its shutting down
        // or starting up (57P01 to 57P03).
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// One refused input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// The path to the input field, such as `["input", "customerEmail"]`.
    pub field: Vec<String>,
    /// A message for humans.
    pub message: String,
    /// The stable reason.
    pub code: ErrorCode,
}

impl UserError {
    /// A refused field at `field` (a path such as `["input", "customerEmail"]`).
    pub fn new(field: &[&str], code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.iter().map(|s| (*s).to_owned()).collect(),
            message: message.into(),
            code,
        }
    }

    /// The user error for a value a domain constructor refused.
    pub fn from_parse(field: &[&str], err: ParseError) -> Self {
        Self::new(field, err.code, err.message)
    }
}

impl From<UserError> for Error {
    fn from(e: UserError) -> Self {
        Error::User(vec![e])
    }
}

/// Collects field errors while parsing an input, so a client sees them all at once.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<UserError>);

impl Errors {
    /// Records the error of a failed parse, if any, and passes the value on.
    pub(crate) fn check<T>(&mut self, field: &[&str], parsed: Result<T, ParseError>) -> Option<T> {
        parsed
            .map_err(|e| self.0.push(UserError::from_parse(field, e)))
            .ok()
    }

    /// Records an error found some other way.
    pub(crate) fn push(&mut self, error: UserError) {
        self.0.push(error);
    }

    /// `Err` with every recorded error, or `Ok` when there were none.
    pub(crate) fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::User(self.0))
        }
    }
}
