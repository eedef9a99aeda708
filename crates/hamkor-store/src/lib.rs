//! The Hamkor database. One query code path for SQLite and PostgreSQL ([`db`]); the few
//! places where their SQL differs live in [`dialect`]. Every read and write of a record
//! passes an [`access::Actor`], and the repositories turn the actor's scope into part of
//! the statement, so a caller cannot forget an access check.

pub mod access;
pub mod attachments;
pub mod audit;
pub mod backup;
pub mod bulk;
pub mod currencies;
pub mod custom_fields;
pub mod db;
pub mod dedup;
pub mod deferred;
pub mod dialect;
pub mod documents;
pub mod fts;
pub mod imports;
pub mod leads;
pub mod list;
pub mod logins;
pub mod merge;
pub mod overload;
pub mod picklists;
pub mod planning;
pub mod recent;
pub mod records;
pub mod reminders;
pub mod sales;
pub mod settings;
pub mod shares;
pub mod timeline;
pub mod users;
pub mod views;

#[cfg(test)]
mod test_support;

pub use access::Actor;
pub use db::{Arg, Backend, BulkWrites, Db, DbOptions, Exec, Row, Sql, Synchronous, Tx};

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record, or the actor may not see it: the two are never told apart.
    #[error("not found")]
    NotFound,
    /// The actor sees the record but their role forbids this action on it.
    #[error("forbidden")]
    Forbidden,
    /// The record changed since the version the caller had (optimistic locking).
    #[error("the record was changed by someone else (now version {current})")]
    Stale { current: i64 },
    /// A uniqueness rule was broken; the name of the constraint or column.
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("invalid input")]
    Invalid(hamkor_domain::ValidationErrors),
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored data could not be read: {0}")]
    Decode(String),
    #[error("database: {0}")]
    Db(sqlx::Error),
    /// The database cannot take the statement now, though it may in a moment: no pool
    /// connection came free in time, SQLite's lock stayed taken beyond the busy timeout,
    /// PostgreSQL refused for lack of resources or chose this transaction to break a
    /// deadlock, or the connection to the server broke. Nothing of the transaction was
    /// kept. Answered 503 with `Retry-After`, never with the database's own words.
    #[error("the database is busy: {0}")]
    Busy(sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Conflict(db.constraint().unwrap_or("unique").to_string());
        }
        if overload::is_busy(&e) {
            overload::note_busy();
            return StoreError::Busy(e);
        }
        StoreError::Db(e)
    }
}

impl From<hamkor_domain::ValidationErrors> for StoreError {
    fn from(e: hamkor_domain::ValidationErrors) -> Self {
        StoreError::Invalid(e)
    }
}

impl From<hamkor_domain::FieldError> for StoreError {
    fn from(e: hamkor_domain::FieldError) -> Self {
        StoreError::Invalid(e.into())
    }
}
