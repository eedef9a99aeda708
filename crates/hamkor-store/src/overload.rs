//! Telling "the database is busy, try again" from a fault. A request that found the
//! database busy (no pool connection in time, SQLite's write lock held by another
//! connection beyond the busy timeout, PostgreSQL out of connections or breaking a
//! deadlock) is answered 503 with `Retry-After`, never 500 and never with the database's
//! own message. [`is_busy`] classifies an error; [`watch`] lets the web layer learn that a
//! request met one, whatever the code in between made of the error.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static SEEN: Cell<bool>;
}

/// SQLite's primary result codes SQLITE_BUSY and SQLITE_LOCKED (their extended codes
/// carry them in the low byte).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// PostgreSQL's SQLSTATEs that mean "not now": serialization failure, deadlock, a lock
/// not available, insufficient resources (class 53: too many connections, out of memory
/// or disk), the server shutting down or starting, and a broken connection (class 08).
fn postgres_busy(code: &str) -> bool {
    matches!(
        code,
        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
    ) || code.starts_with("53")
        || code.starts_with("08")
}

/// Whether the error means the database cannot serve the statement now but may soon.
pub fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                let code = db.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
                matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)
            } else if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_busy(pg.code())
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Notes, for the request being served, that the database was busy.
pub(crate) fn note_busy() {
    let _ = SEEN.try_with(|s| s.set(true));
}

/// Runs `f` and says whether the database was found busy while it ran (in this task:
/// work handed to other tasks is not seen).
pub async fn watch<F: Future>(f: F) -> (F::Output, bool) {
    SEEN.scope(Cell::new(false), async {
        let out = f.await;
        (out, SEEN.with(Cell::get))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_codes() {
        for busy in [
            "40001", "40P01", "55P03", "53300", "53100", "57P03", "08006",
        ] {
            assert!(postgres_busy(busy), "{busy}");
        }
        for fault in ["23505", "42P01", "22P02", "XX000"] {
            assert!(!postgres_busy(fault), "{fault}");
        }
    }

    #[tokio::test]
    async fn a_pool_timeout_is_busy_and_is_seen() {
        assert!(is_busy(&sqlx::Error::PoolTimedOut));
        assert!(!is_busy(&sqlx::Error::RowNotFound));
        let ((), seen) = watch(async {}).await;
        assert!(!seen);
        let (e, seen) = watch(async { crate::StoreError::from(sqlx::Error::PoolTimedOut) }).await;
        assert!(seen);
        assert!(matches!(e, crate::StoreError::Busy(_)));
        // Outside a watched request, noting is harmless.
        assert!(matches!(
            crate::StoreError::from(sqlx::Error::PoolTimedOut),
            crate::StoreError::Busy(_)
        ));
    }
}
