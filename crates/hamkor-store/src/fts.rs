//! Upkeep of SQLite's search indexes (FTS5). An index keeps its entries in segments: each
//! write transaction adds a small one, and FTS5 merges them four at a time as they pile
//! up. A search asks every segment of an index for each of its terms, so their number is
//! what a search costs: at a million contacts the contacts' index had 18 segments, and
//! merged into one the search box answered 78 % more e-mail searches a second (see
//! `docs/benchmarks.md`). [`tidy`] merges what piled up since, a little at a time, from
//! the scheduler; a bulk load merges each index it rebuilds into one (`deferred`).
//! PostgreSQL's GIN indexes need none of this.

use crate::db::{Db, Exec, Sql};
use crate::{Backend, StoreError};
use hamkor_domain::objects::OBJECTS;

/// Pages of merging one transaction does: a few milliseconds of the writer, so the writes
/// waiting behind it hardly notice.
const PAGES_PER_STEP: i64 = 100;

/// Steps one tidy takes at most per index; what is left waits for the next one.
const STEPS_PER_INDEX: usize = 100;

/// The search indexes, one per kind of record.
fn indexes() -> impl Iterator<Item = &'static str> {
    OBJECTS.iter().map(|d| crate::records::search_index(d))
}

/// Merges segments of the search indexes that share a level (FTS5's `merge` with
/// `usermerge` 2, set by migration 0030), in short transactions. Returns the transactions
/// that merged something.
pub async fn tidy(db: &Db) -> Result<u64, StoreError> {
    if db.backend() != Backend::Sqlite {
        return Ok(0);
    }
    let mut merged = 0;
    for index in indexes() {
        for _ in 0..STEPS_PER_INDEX {
            let mut tx = db.begin().await?;
            let before = total_changes(&mut tx).await?;
            let mut merge = Sql::new("INSERT INTO ");
            merge
                .push_ident(index)
                .push(" (")
                .push_ident(index)
                .push(", rank) VALUES ('merge', ")
                .bind(PAGES_PER_STEP)
                .push(")");
            tx.execute(&merge).await?;
            let after = total_changes(&mut tx).await?;
            tx.commit().await?;
            // FTS5's documented test: fewer than two changes, there was nothing to merge.
            if after - before < 2 {
                break;
            }
            merged += 1;
        }
    }
    Ok(merged)
}

async fn total_changes(tx: &mut impl Exec) -> Result<i64, StoreError> {
    let row = tx
        .fetch_optional(&Sql::new("SELECT total_changes() AS n"))
        .await?
        .ok_or_else(|| StoreError::Decode("total_changes".into()))?;
    row.req_int("n")
}

/// How many segments an index has (SQLite).
pub async fn segments(db: &Db, index: &str) -> Result<i64, StoreError> {
    if !indexes().any(|i| i == index) {
        return Err(StoreError::Decode(format!("no search index {index:?}")));
    }
    let mut ex = db.clone();
    let row = ex
        .fetch_optional(&Sql::from_catalog(format!(
            "SELECT count(DISTINCT segid) AS n FROM {index}_idx"
        )))
        .await?
        .ok_or_else(|| StoreError::Decode("a segment count".into()))?;
    row.req_int("n")
}
