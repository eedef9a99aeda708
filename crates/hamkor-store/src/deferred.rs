//! Bulk loads with their indexes built once, at the end. Inserting a million rows into
//! tables that keep a dozen secondary indexes and a search index touches index pages all
//! over the file for every row; building each index afterwards, from the whole table in
//! one sorted pass, is several times faster (the data generator: 71 → 35 s for 620,000
//! records on SQLite).
//!
//! [`defer_indexes`] drops the secondary indexes of the given tables (unique ones stay:
//! they are rules, and `ON CONFLICT` clauses need them) and, on SQLite, the triggers that
//! feed each table's search index; the rows of tables whose primary key takes them in
//! random order wait in a plain table beside them ([`staged`]). What it dropped is written to `settings`
//! (`bulk_load_deferred`) in the same transaction. [`restore_deferred`] builds it all
//! again, one step a transaction, taking each step off the note as it commits, and
//! removes the note at the end. [`crate::Db::migrate`] calls it, so a load (or a restore)
//! that died half-way has its indexes back at the next start of any command.

use crate::db::{Db, Exec, Sql};
use crate::{Backend, StoreError};
use serde::{Deserialize, Serialize};

const KEY: &str = "bulk_load_deferred";

/// Tables whose primary key takes rows in random order (a number's endings, a duplicate
/// key, an interaction's contacts): during a bulk load their rows go to a plain table
/// beside them, `{table}_staged`, and are moved in key order at the end. Inserting
/// millions of random keys into a growing B-tree rewrites most of its pages with every
/// transaction; (table, staged table, primary key).
const STAGED: &[(&str, &str, &str)] = &[
    (
        "search_numbers",
        "search_numbers_staged",
        "object, key, record_id",
    ),
    ("dup_keys", "dup_keys_staged", "object, key, record_id"),
    (
        "interaction_contacts",
        "interaction_contacts_staged",
        "contact_id, interaction_id",
    ),
];

/// The table a bulk load writes `table`'s rows to: its staged table if it has one.
pub fn staged(table: &'static str) -> &'static str {
    STAGED
        .iter()
        .find(|(t, _, _)| *t == table)
        .map_or(table, |(_, s, _)| s)
}

/// What a bulk load set aside, as the database described it.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Deferred {
    /// `(name, CREATE INDEX …)`.
    indexes: Vec<(String, String)>,
    /// SQLite: `(search index table, trigger name, CREATE TRIGGER …)`.
    search: Vec<(String, String, String)>,
    /// Tables whose rows wait in their staged table ([`STAGED`]).
    #[serde(default)]
    staged: Vec<String>,
}

/// What a bulk load noted it set aside, if one did.
async fn noted(ex: &mut impl Exec) -> Result<Option<Deferred>, StoreError> {
    match crate::settings::get(ex, KEY).await? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Decode(format!("{KEY} in settings: {e}"))),
    }
}

/// Sets aside the secondary indexes of `tables` (and, on SQLite, the triggers that feed
/// their search indexes), and opens the staged tables ([`staged`]), until
/// [`restore_deferred`]. Calling it again adds to what is set aside.
pub async fn defer_indexes(db: &Db, tables: &[&'static str]) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let mut deferred = noted(&mut tx).await?.unwrap_or_default();
    let b = tx.backend();
    for table in tables {
        let mut sql = match b {
            Backend::Sqlite => Sql::new(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                 AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name = ",
            ),
            Backend::Postgres => Sql::new(
                "SELECT indexname AS name, indexdef AS sql FROM pg_indexes \
                 WHERE schemaname = current_schema() AND indexdef NOT LIKE 'CREATE UNIQUE%' \
                 AND tablename = ",
            ),
        };
        sql.bind(*table).push(" ORDER BY name");
        for row in tx.fetch_all(&sql).await? {
            let (name, create) = (row.req_text("name")?, row.req_text("sql")?);
            tx.execute(&Sql::from_catalog(format!("DROP INDEX {}", quoted(&name))))
                .await?;
            deferred.indexes.push((name, create));
        }
        if b == Backend::Sqlite {
            let trigger = format!("{table}_search_insert");
            let row = tx
                .fetch_optional(
                    &Sql::new("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = $1")
                        .arg(trigger.clone()),
                )
                .await?;
            if let Some(row) = row {
                let create = row.req_text("sql")?;
                tx.execute(&Sql::from_catalog(format!(
                    "DROP TRIGGER {}",
                    quoted(&trigger)
                )))
                .await?;
                deferred
                    .search
                    .push((format!("{table}_search"), trigger, create));
            }
        }
    }
    // Every staged table at once: a load's batches write them all (`insert_batch_staged`).
    for (table, stage, _) in STAGED {
        if !deferred.staged.iter().any(|t| t == table) {
            tx.execute(&Sql::from_catalog(format!(
                "CREATE TABLE {stage} AS SELECT * FROM {table} WHERE 1 = 0"
            )))
            .await?;
            deferred.staged.push(table.to_string());
        }
    }
    let text =
        serde_json::to_string(&deferred).map_err(|e| StoreError::Decode(format!("{KEY}: {e}")))?;
    crate::settings::set(&mut tx, KEY, &text).await?;
    tx.commit().await
}

/// Builds what [`defer_indexes`] set aside: each staged table's rows moved in key order,
/// each search index from its whole table and then its trigger, then every index. Each
/// step is a transaction of its own that also takes the step off the note, so a step's
/// work is kept (and a staged table's space given back) as soon as it is done, the
/// write-ahead log holds one step's pages rather than every index's, and a process that
/// dies part-way leaves the rest for the next start. Returns whether there was anything
/// to build.
pub async fn restore_deferred(db: &Db) -> Result<bool, StoreError> {
    let mut built = false;
    loop {
        let mut tx = db.begin().await?;
        // Nothing noted: nothing to build (the transaction only read).
        let Some(mut deferred) = noted(&mut tx).await? else {
            return Ok(built);
        };
        let b = tx.backend();
        match b {
            // Sorting a big index wants more than the default few megabytes.
            Backend::Postgres => {
                tx.execute(&Sql::new("SET LOCAL maintenance_work_mem = '512MB'"))
                    .await?;
            }
            // Sorting for CREATE INDEX on helper threads, one a core (the connection's
            // setting: it goes back to none after the step).
            Backend::Sqlite => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
                tx.execute(&Sql::from_catalog(format!("PRAGMA threads = {cores}")))
                    .await?;
            }
        }
        if let Some(table) = deferred.staged.first().cloned() {
            let Some((table, stage, key)) = STAGED.iter().find(|(t, _, _)| *t == table) else {
                return Err(StoreError::Decode(format!(
                    "{KEY}: no staged table {table}"
                )));
            };
            // In key order the rows append to the B-tree instead of landing all over it.
            // (`WHERE true` keeps SQLite from reading ON CONFLICT as part of a join.)
            step(
                &mut tx,
                &format!("{table} moved in key order"),
                format!(
                    "INSERT INTO {table} SELECT * FROM {stage} WHERE true ORDER BY {key} ON CONFLICT DO NOTHING"
                ),
            )
            .await?;
            tx.execute(&Sql::from_catalog(format!("DROP TABLE {stage}")))
                .await?;
            deferred.staged.remove(0);
        } else if let Some((index, _, create)) = deferred.search.first().cloned() {
            // FTS5's own command: read every row of the content table into the index.
            step(
                &mut tx,
                &format!("search index {index} rebuilt"),
                format!("INSERT INTO {0} ({0}) VALUES ('rebuild')", quoted(&index)),
            )
            .await?;
            // The rebuild leaves the index in segments; a search asks each (see `fts`).
            step(
                &mut tx,
                &format!("search index {index} merged into one segment"),
                format!("INSERT INTO {0} ({0}) VALUES ('optimize')", quoted(&index)),
            )
            .await?;
            tx.execute(&Sql::from_catalog(create)).await?;
            deferred.search.remove(0);
        } else if let Some((name, create)) = deferred.indexes.first().cloned() {
            step(&mut tx, &format!("index {name} built"), create).await?;
            deferred.indexes.remove(0);
        } else {
            tx.execute(&Sql::new("DELETE FROM settings WHERE key = $1").arg(KEY))
                .await?;
            // Statistics for the new rows now: without them the planner takes a table of
            // a million rows for an empty one. PostgreSQL would wait for autovacuum;
            // SQLite for `PRAGMA optimize` at the next start ([`Db::migrate`]), which
            // then kept a server from answering for half a minute on a 10 GB database.
            // SQLite samples as `Db::migrate` does.
            if built {
                if b == Backend::Sqlite {
                    tx.execute(&Sql::new(crate::db::SQLITE_ANALYSIS_LIMIT))
                        .await?;
                }
                step(&mut tx, "statistics (ANALYZE)", "ANALYZE".into()).await?;
            }
            if b == Backend::Sqlite {
                tx.execute(&Sql::new("PRAGMA threads = 0")).await?;
            }
            tx.commit().await?;
            return Ok(built);
        }
        built = true;
        let text = serde_json::to_string(&deferred)
            .map_err(|e| StoreError::Decode(format!("{KEY}: {e}")))?;
        crate::settings::set(&mut tx, KEY, &text).await?;
        if b == Backend::Sqlite {
            tx.execute(&Sql::new("PRAGMA threads = 0")).await?;
        }
        tx.commit().await?;
    }
}

/// Runs one step of [`restore_deferred`], saying how long it took (`HAMKOR_LOG=info`).
async fn step(tx: &mut crate::db::Tx, what: &str, text: String) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    tx.execute(&Sql::from_catalog(text)).await?;
    tracing::info!(
        "bulk load: {what} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A name from the database's own catalogue, quoted as an identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
