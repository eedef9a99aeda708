//! `hamkor backup` and `hamkor restore`: a consistent copy of the whole database in one
//! file that either engine can restore, so a SQLite database can move to PostgreSQL and
//! back.
//!
//! The backup reads every table in one read transaction (a WAL snapshot on SQLite,
//! `REPEATABLE READ READ ONLY` on PostgreSQL), so writers go on and the copy is of one
//! moment. Tables come from the schema itself; SQLite's full-text indexes are left out,
//! since the triggers that keep them rebuild them as the rows go back in. Rows stream from
//! the database to the file: no table is held in memory.
//!
//! A restore goes into an empty database only, in one transaction: it creates the schema
//! at the backup's version, inserts the rows, recomputes every table's checksum from the
//! database and compares it with the file's, and commits only if all agree. Then the
//! migrations newer than the backup run as on any start.

pub mod format;
pub mod value;

use crate::StoreError;
use crate::db::{Backend, Db, Pools, Tx};
use format::{FileColumn, Header, Item, Manifest, TableSummary};
use futures_util::TryStreamExt;
use sqlx::{AssertSqlSafe, Row as _, TypeInfo as _, ValueRef as _};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::OnceLock;
use value::{Checksum, Kind, Val};

/// Why a backup or a restore failed. Each message names the problem.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot use {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("this is not a Hamkor backup: {0}")]
    NotABackup(String),
    #[error(
        "the backup is of format version {0}, newer than this Hamkor reads ({v}): restore it with a newer Hamkor",
        v = format::FORMAT_VERSION
    )]
    NewerFormat(u64),
    #[error(
        "the backup is of schema version {backup}, newer than this Hamkor knows ({known}): restore it with Hamkor {made_by} or newer"
    )]
    NewerSchema {
        backup: i64,
        known: i64,
        made_by: String,
    },
    #[error("the backup is of schema version {0}, which this Hamkor does not know")]
    UnknownSchema(i64),
    #[error(
        "the target database is already at schema version {target}, newer than the backup's {backup}: restore into a new, empty database (restore creates the schema itself)"
    )]
    TargetNewer { target: i64, backup: i64 },
    #[error(
        "the target database is not empty (table {table} has rows): restore only into a new, empty database"
    )]
    NotEmpty { table: String },
    #[error("the backup file is truncated: {0}")]
    Truncated(String),
    #[error("the backup file is damaged: {0}")]
    Damaged(String),
    #[error("the backup does not fit this database's schema: {0}")]
    Schema(String),
    /// The database refused a row (a full disk, a broken constraint).
    #[error("{0}")]
    Insert(String),
    #[error("table {table}, column {column}: {problem}")]
    Value {
        table: String,
        column: String,
        problem: String,
    },
    #[error("{} of {} tables differ from the backup after restoring", .0.iter().filter(|t| !t.ok()).count(), .0.len())]
    Mismatch(Vec<TableCheck>),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(e.into())
    }
}

/// A column of a table as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// PostgreSQL's type name (`udt_name`), used to cast inserted values; empty on SQLite.
    pub pg_type: String,
    pub not_null: bool,
}

/// A table as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Foreign keys: (column, referenced table).
    pub refs: Vec<(String, String)>,
}

/// Tables the migrations themselves fill (a default pipeline, picklists, settings): a
/// database with rows only there is still empty. A test checks the list against a new
/// database of each engine.
pub const FILLED_BY_MIGRATIONS: &[&str] = &[
    "document_settings",
    "picklist_values",
    "pipelines",
    "settings",
    "stages",
];

/// One table's result of a restore.
#[derive(Debug, Clone)]
pub struct TableCheck {
    pub name: String,
    /// Rows in the backup.
    pub rows: u64,
    /// Rows in the database after restoring.
    pub restored: u64,
    pub checksum_ok: bool,
}

impl TableCheck {
    pub fn ok(&self) -> bool {
        self.checksum_ok && self.rows == self.restored
    }
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub manifest: Manifest,
    /// The file's size.
    pub bytes: u64,
    /// The size before compression.
    pub raw_bytes: u64,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub header: Header,
    pub tables: Vec<TableCheck>,
    /// The schema version after the newer migrations ran.
    pub schema_version: i64,
}

/// gzip level 3: most of level 6's size at about twice its speed.
const GZIP_LEVEL: u32 = 3;

/// The kinds of SQLite columns whose declared type does not say them (see the file).
fn sqlite_kinds() -> &'static HashMap<(String, String), Kind> {
    static KINDS: OnceLock<HashMap<(String, String), Kind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        include_str!("sqlite_types.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let (col, kind) = l.split_once(' ')?;
                let (table, column) = col.split_once('.')?;
                Some((
                    (table.to_string(), column.to_string()),
                    match kind.trim() {
                        "bool" => Kind::Bool,
                        other => Kind::parse(other)?,
                    },
                ))
            })
            .collect()
    })
}

/// A connection inside a transaction, of either engine.
enum Conn<'c> {
    Sqlite(&'c mut sqlx::SqliteConnection),
    Postgres(&'c mut sqlx::PgConnection),
}

impl Conn<'_> {
    fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    async fn schema_version(&mut self) -> Result<Option<i64>, BackupError> {
        let exists = match self {
            Conn::Sqlite(c) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(&mut **c)
            .await?
                > 0,
            Conn::Postgres(c) => sqlx::query_scalar::<_, bool>(
                "SELECT to_regclass('_sqlx_migrations') IS NOT NULL",
            )
            .fetch_one(&mut **c)
            .await?,
        };
        if !exists {
            return Ok(None);
        }
        let q = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        Ok(match self {
            Conn::Sqlite(c) => {
                sqlx::query_scalar::<_, Option<i64>>(q)
                    .fetch_one(&mut **c)
                    .await?
            }
            Conn::Postgres(c) => {
                sqlx::query_scalar::<_, Option<i64>>(q)
                    .fetch_one(&mut **c)
                    .await?
            }
        })
    }

    /// Every table with its columns, keys and references, parents before the tables that
    /// refer to them. Left out: the migrations' own table and SQLite's internal, virtual
    /// (full-text) and shadow tables.
    async fn describe(&mut self) -> Result<Vec<Table>, BackupError> {
        let mut tables = Vec::new();
        match self {
            Conn::Sqlite(c) => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
                     AND name NOT LIKE 'sqlite%' AND name <> '_sqlx_migrations' ORDER BY name",
                )
                .fetch_all(&mut **c)
                .await?;
                let kinds = sqlite_kinds();
                for name in names {
                    let cols = sqlx::query(
                        "SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info($1) ORDER BY cid",
                    )
                    .bind(&name)
                    .fetch_all(&mut **c)
                    .await?;
                    let mut columns = Vec::new();
                    let mut pk: Vec<(i64, String)> = Vec::new();
                    for r in cols {
                        let col: String = r.try_get("name")?;
                        let declared: String = r.try_get("type")?;
                        let key = (name.clone(), col.clone());
                        let kind = kinds
                            .get(&key)
                            .copied()
                            .unwrap_or_else(|| Kind::of_sqlite_declared(&declared));
                        let p: i64 = r.try_get("pk")?;
                        if p > 0 {
                            pk.push((p, col.clone()));
                        }
                        columns.push(Column {
                            name: col,
                            kind,
                            pg_type: String::new(),
                            // A key is never NULL, as on PostgreSQL (SQLite would allow it).
                            not_null: r.try_get::<i64, _>("nn")? != 0 || p > 0,
                        });
                    }
                    pk.sort();
                    let refs = sqlx::query(
                        "SELECT \"from\" AS col, \"table\" AS ref FROM pragma_foreign_key_list($1)",
                    )
                    .bind(&name)
                    .fetch_all(&mut **c)
                    .await?
                    .into_iter()
                    .map(|r| Ok((r.try_get("col")?, r.try_get("ref")?)))
                    .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
                    tables.push(Table {
                        name,
                        columns,
                        primary_key: pk.into_iter().map(|(_, c)| c).collect(),
                        refs,
                    });
                }
            }
            Conn::Postgres(c) => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     AND table_name <> '_sqlx_migrations' ORDER BY 1",
                )
                .fetch_all(&mut **c)
                .await?;
                let mut by_name: HashMap<String, Table> = names
                    .iter()
                    .map(|n| {
                        (
                            n.clone(),
                            Table {
                                name: n.clone(),
                                columns: Vec::new(),
                                primary_key: Vec::new(),
                                refs: Vec::new(),
                            },
                        )
                    })
                    .collect();
                let cols = sqlx::query(
                    "SELECT table_name::text AS t, column_name::text AS c, udt_name::text AS ty, \
                     is_nullable::text AS nullable FROM information_schema.columns \
                     WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
                )
                .fetch_all(&mut **c)
                .await?;
                for r in cols {
                    let t: String = r.try_get("t")?;
                    let Some(table) = by_name.get_mut(&t) else {
                        continue;
                    };
                    let col: String = r.try_get("c")?;
                    let ty: String = r.try_get("ty")?;
                    let kind = Kind::of_postgres(&ty).ok_or_else(|| BackupError::Value {
                        table: t.clone(),
                        column: col.clone(),
                        problem: format!("backups do not know the type {ty}"),
                    })?;
                    table.columns.push(Column {
                        name: col,
                        kind,
                        pg_type: ty,
                        not_null: r.try_get::<String, _>("nullable")? == "NO",
                    });
                }
                let pks = sqlx::query(
                    "SELECT c.relname::text AS t, a.attname::text AS c FROM pg_index i \
                     JOIN pg_class c ON c.oid = i.indrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true \
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
                     WHERE i.indisprimary AND n.nspname = current_schema() ORDER BY 1, k.ord",
                )
                .fetch_all(&mut **c)
                .await?;
                for r in pks {
                    let t: String = r.try_get("t")?;
                    if let Some(table) = by_name.get_mut(&t) {
                        table.primary_key.push(r.try_get("c")?);
                    }
                }
                let fks = sqlx::query(
                    "SELECT c.relname::text AS t, a.attname::text AS c, r.relname::text AS ref \
                     FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid \
                     JOIN pg_class r ON r.oid = f.confrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = ANY(f.conkey) \
                     WHERE f.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 2",
                )
                .fetch_all(&mut **c)
                .await?;
                for r in fks {
                    let t: String = r.try_get("t")?;
                    if let Some(table) = by_name.get_mut(&t) {
                        table.refs.push((r.try_get("c")?, r.try_get("ref")?));
                    }
                }
                for n in &names {
                    if let Some(t) = by_name.remove(n) {
                        tables.push(t);
                    }
                }
            }
        }
        Ok(dependency_order(tables))
    }

    /// Reads every row of `table` (the columns given), adds each to a checksum and, with
    /// a writer, to the file. Returns the row count and the checksum.
    async fn scan(
        &mut self,
        table: &str,
        columns: &[(String, Kind)],
        order_by: &[String],
        mut out: Option<&mut format::FileWriter>,
        mut keep: Option<&mut Vec<Vec<Val>>>,
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> Result<(u64, Checksum), BackupError> {
        let backend = self.backend();
        let kinds: Vec<Kind> = columns.iter().map(|(_, k)| *k).collect();
        let mut sql = String::from("SELECT ");
        for (i, (name, kind)) in columns.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&ident(name));
            if backend == Backend::Postgres {
                // One Rust type per kind: jsonb as its text, every integer as int8.
                match kind {
                    Kind::Text | Kind::Json => sql.push_str("::text"),
                    Kind::Int => sql.push_str("::int8"),
                    Kind::Float => sql.push_str("::float8"),
                    _ => {}
                }
            }
        }
        sql.push_str(" FROM ");
        sql.push_str(&ident(table));
        if !order_by.is_empty() {
            sql.push_str(" ORDER BY ");
            let keys: Vec<String> = order_by.iter().map(|c| ident(c)).collect();
            sql.push_str(&keys.join(", "));
        }
        let mut rows = 0u64;
        let mut sum = Checksum::default();
        let mut last = std::time::Instant::now();
        macro_rules! each_row {
            ($stream:expr, $decode:expr) => {{
                let mut stream = $stream;
                while let Some(r) = stream.try_next().await? {
                    let mut row = Vec::with_capacity(kinds.len());
                    for (i, k) in kinds.iter().enumerate() {
                        row.push($decode(&r, i, *k).map_err(|e: sqlx::Error| {
                            BackupError::Value {
                                table: table.to_string(),
                                column: columns[i].0.clone(),
                                problem: e.to_string(),
                            }
                        })?);
                    }
                    sum.add_row(&row, &kinds);
                    if let Some(w) = out.as_deref_mut() {
                        w.row(&row, &kinds).await?;
                    }
                    if let Some(k) = keep.as_deref_mut() {
                        k.push(row);
                    }
                    rows += 1;
                    if last.elapsed().as_secs() >= 5 {
                        progress(table, rows);
                        last = std::time::Instant::now();
                    }
                }
            }};
        }
        match self {
            Conn::Sqlite(c) => {
                each_row!(sqlx::query(AssertSqlSafe(sql)).fetch(&mut **c), sqlite_val)
            }
            Conn::Postgres(c) => each_row!(
                sqlx::query(AssertSqlSafe(sql)).fetch(&mut **c),
                postgres_val
            ),
        }
        Ok((rows, sum))
    }

    /// The first table outside [`FILLED_BY_MIGRATIONS`] that has a row.
    async fn first_nonempty(&mut self, tables: &[Table]) -> Result<Option<String>, BackupError> {
        for t in tables {
            if FILLED_BY_MIGRATIONS.contains(&t.name.as_str()) {
                continue;
            }
            let sql = format!("SELECT 1 FROM {} LIMIT 1", ident(&t.name));
            let found = match self {
                Conn::Sqlite(c) => sqlx::query(AssertSqlSafe(sql))
                    .fetch_optional(&mut **c)
                    .await?
                    .is_some(),
                Conn::Postgres(c) => sqlx::query(AssertSqlSafe(sql))
                    .fetch_optional(&mut **c)
                    .await?
                    .is_some(),
            };
            if found {
                return Ok(Some(t.name.clone()));
            }
        }
        Ok(None)
    }

    async fn execute(&mut self, sql: String) -> Result<(), BackupError> {
        match self {
            Conn::Sqlite(c) => {
                sqlx::query(AssertSqlSafe(sql)).execute(&mut **c).await?;
            }
            Conn::Postgres(c) => {
                sqlx::query(AssertSqlSafe(sql)).execute(&mut **c).await?;
            }
        }
        Ok(())
    }
}

/// A quoted SQL identifier. Names come from the database's own catalogue.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Tables in an order where each comes after the tables it refers to. A cycle (deals and
/// leads refer to each other) is broken at its table first by name whose references into
/// the cycle may be empty: those are set after all rows are in.
fn dependency_order(tables: Vec<Table>) -> Vec<Table> {
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut pending: Vec<Table> = tables;
    pending.sort_by(|a, b| a.name.cmp(&b.name));
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while !pending.is_empty() {
        // The tables not placed yet that `t` refers to.
        let waits_for = |t: &Table, placed: &BTreeSet<String>| -> Vec<(String, String)> {
            t.refs
                .iter()
                .filter(|(_, r)| r != &t.name && !placed.contains(r) && names.contains(r))
                .cloned()
                .collect()
        };
        let ready = pending
            .iter()
            .position(|t| waits_for(t, &placed).is_empty())
            .or_else(|| {
                // Stuck: every table left waits for another. Take one that is itself in
                // a cycle with each table it waits for, through nullable columns.
                pending.iter().position(|t| {
                    waits_for(t, &placed).iter().all(|(col, r)| {
                        let nullable = t.columns.iter().any(|c| &c.name == col && !c.not_null);
                        nullable && reaches(&pending, &placed, r, &t.name)
                    })
                })
            });
        let t = pending.remove(ready.unwrap_or(0));
        placed.insert(t.name.clone());
        out.push(t);
    }
    out
}

/// Whether table `from` refers, directly or through other unplaced tables, to `to`.
fn reaches(pending: &[Table], placed: &BTreeSet<String>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(t) = pending.iter().find(|t| t.name == n) {
            for (_, r) in &t.refs {
                if !placed.contains(r) {
                    stack.push(r.clone());
                }
            }
        }
    }
    false
}

fn sqlite_val(r: &sqlx::sqlite::SqliteRow, i: usize, _kind: Kind) -> Result<Val, sqlx::Error> {
    let raw = r.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Val::Null);
    }
    // What the value is stored as, whatever the column's declared type.
    let class = raw.type_info().name().to_string();
    Ok(match class.as_str() {
        "INTEGER" => Val::Int(r.try_get(i)?),
        "REAL" => Val::Float(r.try_get(i)?),
        "TEXT" => Val::Text(r.try_get(i)?),
        _ => Val::Bytes(r.try_get(i)?),
    })
}

fn postgres_val(r: &sqlx::postgres::PgRow, i: usize, kind: Kind) -> Result<Val, sqlx::Error> {
    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Val) -> Val {
        v.map(f).unwrap_or(Val::Null)
    }
    Ok(match kind {
        Kind::Text | Kind::Json => opt(r.try_get::<Option<String>, _>(i)?, Val::Text),
        Kind::Int => opt(r.try_get::<Option<i64>, _>(i)?, Val::Int),
        Kind::Float => opt(r.try_get::<Option<f64>, _>(i)?, Val::Float),
        Kind::Bool => opt(r.try_get::<Option<bool>, _>(i)?, Val::Bool),
        Kind::Uuid => opt(r.try_get::<Option<uuid::Uuid>, _>(i)?, |u| {
            Val::Text(u.hyphenated().to_string())
        }),
        Kind::Timestamp => opt(
            r.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)?,
            |t| Val::Text(value::timestamp_text(t)),
        ),
        Kind::Date => opt(r.try_get::<Option<chrono::NaiveDate>, _>(i)?, |d| {
            Val::Text(d.format("%Y-%m-%d").to_string())
        }),
        Kind::Bytes => opt(r.try_get::<Option<Vec<u8>>, _>(i)?, Val::Bytes),
    })
}

impl Db {
    /// Describes every table, as a backup sees it (for tests and tools).
    pub async fn describe_tables(&self) -> Result<Vec<Table>, BackupError> {
        let mut tx = self.begin().await?;
        let tables = tx_conn(&mut tx).describe().await?;
        drop(tx);
        Ok(tables)
    }
}

/// One table's rows as a backup reads them, for comparing a database with itself at
/// another time (an upgrade keeps every record): the row count, the backup's checksum,
/// and the rows themselves in key order, each value in its canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableContents {
    pub name: String,
    pub rows: u64,
    pub checksum: String,
    /// Every row, the columns in the order asked for; `None` is NULL.
    pub values: Vec<Vec<Option<String>>>,
}

/// Reads the `tables` given (their names, the columns listed, ordered by their keys)
/// in one transaction: what a backup of them would hold. A table or column that no longer
/// exists is an error naming it.
pub async fn table_contents(db: &Db, tables: &[Table]) -> Result<Vec<TableContents>, BackupError> {
    let mut tx = db.begin().await?;
    let mut conn = tx_conn(&mut tx);
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        let columns: Vec<(String, Kind)> =
            t.columns.iter().map(|c| (c.name.clone(), c.kind)).collect();
        let order: Vec<String> = if t.primary_key.is_empty() {
            t.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            t.primary_key.clone()
        };
        let mut rows = Vec::new();
        let (n, sum) = conn
            .scan(
                &t.name,
                &columns,
                &order,
                None,
                Some(&mut rows),
                &mut |_, _| {},
            )
            .await?;
        let values = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&columns)
                    .map(|(v, (_, k))| v.canonical(*k))
                    .collect()
            })
            .collect();
        out.push(TableContents {
            name: t.name.clone(),
            rows: n,
            checksum: sum.hex(),
            values,
        });
    }
    drop(tx);
    Ok(out)
}

/// The first table, outside those the migrations fill, that has a row; `None` for an
/// empty database (a restore's target, or one a refused restore left).
pub async fn table_with_rows(db: &Db) -> Result<Option<String>, BackupError> {
    let mut tx = db.begin().await?;
    let mut conn = tx_conn(&mut tx);
    let tables = conn.describe().await?;
    conn.first_nonempty(&tables).await
}

fn tx_conn(tx: &mut Tx) -> Conn<'_> {
    match tx {
        Tx::Sqlite(t) => Conn::Sqlite(t),
        Tx::Postgres(t) => Conn::Postgres(t),
    }
}

/// Writes a backup of the whole database to `path` (`-`: standard output), from one
/// snapshot, while others go on reading and writing. `progress` hears of long tables.
pub async fn backup(
    db: &Db,
    path: &Path,
    progress: &mut (dyn FnMut(&str, u64) + Send),
) -> Result<BackupReport, BackupError> {
    // One transaction, one snapshot: everything below sees the database of one moment.
    enum Snapshot {
        Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
        Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    }
    let mut snap = match &*db.pools {
        Pools::Sqlite { read, .. } => Snapshot::Sqlite(read.begin().await?),
        Pools::Postgres(pool) => Snapshot::Postgres(
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?,
        ),
    };
    let mut conn = match &mut snap {
        Snapshot::Sqlite(t) => Conn::Sqlite(t),
        Snapshot::Postgres(t) => Conn::Postgres(t),
    };
    // SQLite fixes the snapshot at the first read, and this is it.
    let schema_version = conn
        .schema_version()
        .await?
        .ok_or_else(|| BackupError::Schema("the database has no schema yet".into()))?;
    let tables = conn.describe().await?;
    let engine = match conn.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let header = Header {
        format: format::FORMAT.into(),
        format_version: format::FORMAT_VERSION,
        hamkor_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        engine: engine.into(),
        created_at: value::timestamp_text(chrono::Utc::now()),
        tables: tables.iter().map(|t| t.name.clone()).collect(),
    };
    let mut out = format::FileWriter::create(path, GZIP_LEVEL)?;
    out.header(&header).await?;
    let mut summaries = Vec::new();
    for t in &tables {
        let columns: Vec<(String, Kind)> =
            t.columns.iter().map(|c| (c.name.clone(), c.kind)).collect();
        out.start_table(&t.name, &columns).await?;
        // In key order, so the same data gives the same file.
        let (rows, sum) = conn
            .scan(
                &t.name,
                &columns,
                &t.primary_key,
                Some(&mut out),
                None,
                progress,
            )
            .await?;
        let s = TableSummary {
            name: t.name.clone(),
            rows,
            checksum: sum.hex(),
        };
        out.end_table(&s).await?;
        summaries.push(s);
    }
    // Read only: ending it changes nothing, and lets the WAL be checkpointed again.
    match snap {
        Snapshot::Sqlite(t) => t.rollback().await?,
        Snapshot::Postgres(t) => t.rollback().await?,
    }
    let manifest = Manifest {
        format: header.format,
        format_version: header.format_version,
        hamkor_version: header.hamkor_version,
        schema_version,
        engine: header.engine,
        created_at: header.created_at,
        rows: summaries.iter().map(|s| s.rows).sum(),
        tables: summaries,
    };
    let raw_bytes = out.raw_bytes;
    let bytes = out.finish(manifest.clone()).await?;
    Ok(BackupReport {
        manifest,
        bytes,
        raw_bytes: raw_bytes.max(1),
    })
}

/// Reads a backup file through and checks every table's rows against its checksum,
/// without a database.
pub async fn check_file(path: &Path) -> Result<Manifest, BackupError> {
    let mut rx = format::read(path)?;
    while let Some(item) = rx.recv().await {
        if let Item::Manifest(m) = item? {
            return Ok(m);
        }
    }
    Err(BackupError::Truncated(
        "it ends without the manifest".into(),
    ))
}

/// A column of the table being restored, matched to the target.
struct Target {
    /// Index of the column in the target table's description.
    column: Column,
    /// Inserted as NULL and set once every table is in: it refers to a table restored
    /// later (or to its own table).
    deferred: bool,
}

/// A value to set once all tables are in.
struct Deferred {
    table: String,
    column: Column,
    key: Vec<(Column, Val)>,
    value: Val,
}

/// Restores a backup file into the empty database `db`: see the module's description.
/// On any error the database keeps no row of the backup.
pub async fn restore(
    db: &Db,
    path: &Path,
    progress: &mut (dyn FnMut(&str, u64) + Send),
) -> Result<RestoreReport, BackupError> {
    let mut rx = format::read(path)?;
    let header = match rx.recv().await {
        Some(Ok(Item::Header(h))) => h,
        Some(Err(e)) => return Err(e),
        _ => return Err(BackupError::NotABackup("it has no header".into())),
    };
    let known = db.known_schema_versions();
    let newest = known.iter().copied().max().unwrap_or(0);
    if header.schema_version > newest {
        return Err(BackupError::NewerSchema {
            backup: header.schema_version,
            known: newest,
            made_by: header.hamkor_version.clone(),
        });
    }
    if !known.contains(&header.schema_version) {
        return Err(BackupError::UnknownSchema(header.schema_version));
    }
    // The whole file is read through and checked before the target is touched, so a
    // damaged file is named as such (a flipped bit can turn a column's name into
    // another before the compression's own check at the end of the stream notices).
    check_file(path).await?;
    // Before creating anything: is the target new and empty?
    {
        let mut tx = db.begin().await?;
        let mut conn = tx_conn(&mut tx);
        if let Some(v) = conn.schema_version().await?
            && v > header.schema_version
        {
            return Err(BackupError::TargetNewer {
                target: v,
                backup: header.schema_version,
            });
        }
        let tables = conn.describe().await?;
        if let Some(table) = conn.first_nonempty(&tables).await? {
            return Err(BackupError::NotEmpty { table });
        }
    }
    db.migrate_to(header.schema_version).await?;
    let from_postgres = header.engine == "postgres";
    let mut tx = db.begin().await?;
    let mut conn = tx_conn(&mut tx);
    let backend = conn.backend();
    if backend == Backend::Postgres {
        // Text moments without an offset are UTC, as SQLite wrote them.
        conn.execute("SET LOCAL TIME ZONE 'UTC'".into()).await?;
    } else {
        // The whole restore is one transaction, and SQLite writes the pages its cache
        // cannot hold to the WAL again and again until the commit: with the usual 8 MB
        // a 200 MB database filled more than 1 GB of WAL. A cache as large as the
        // database (up to 2 GiB, taken only as pages are touched) writes each page once.
        conn.execute("PRAGMA cache_size = -2097152".into()).await?;
    }
    let tables = conn.describe().await?;
    if let Some(table) = conn.first_nonempty(&tables).await? {
        return Err(BackupError::NotEmpty { table });
    }
    // What the migrations filled comes from the backup instead.
    for t in tables.iter().rev() {
        conn.execute(format!("DELETE FROM {}", ident(&t.name)))
            .await?;
    }
    let by_name: HashMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), t)).collect();
    for name in &header.tables {
        if !by_name.contains_key(name.as_str()) {
            return Err(BackupError::Schema(format!(
                "this database has no table {name}"
            )));
        }
    }
    let position: HashMap<&str, usize> = header
        .tables
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut deferred: Vec<Deferred> = Vec::new();
    let mut restored: Vec<(TableSummary, Vec<(String, Kind)>)> = Vec::new();
    let mut current: Option<(&Table, Vec<FileColumn>, Vec<Target>, u64)> = None;
    let mut last = std::time::Instant::now();
    loop {
        let item = match rx.recv().await {
            Some(item) => item?,
            None => {
                return Err(BackupError::Truncated(
                    "it ends without the manifest".into(),
                ));
            }
        };
        match item {
            Item::Header(_) => return Err(BackupError::Damaged("a second header".into())),
            Item::Start { table, columns } => {
                let t = by_name[table.as_str()];
                let mut targets = Vec::new();
                for fc in &columns {
                    let column = t
                        .columns
                        .iter()
                        .find(|c| c.name == fc.name)
                        .ok_or_else(|| {
                            BackupError::Schema(format!(
                                "table {table} has no column {} here",
                                fc.name
                            ))
                        })?
                        .clone();
                    let here = position[t.name.as_str()];
                    let deferred = t.refs.iter().any(|(col, r)| {
                        col == &fc.name && position.get(r.as_str()).is_none_or(|p| *p >= here)
                    });
                    if deferred && (column.not_null || t.primary_key.is_empty()) {
                        return Err(BackupError::Schema(format!(
                            "table {table}: column {} refers to a table restored later, and cannot wait",
                            fc.name
                        )));
                    }
                    targets.push(Target { column, deferred });
                }
                current = Some((t, columns, targets, 0));
            }
            Item::Rows(rows) => {
                let Some((t, _, targets, count)) = current.as_mut() else {
                    return Err(BackupError::Damaged("rows outside a table".into()));
                };
                let mut rows = rows;
                for row in rows.iter_mut() {
                    for (i, tc) in targets.iter().enumerate() {
                        if tc.deferred && row[i] != Val::Null {
                            let key = t
                                .primary_key
                                .iter()
                                .map(|k| {
                                    let j = targets.iter().position(|x| &x.column.name == k);
                                    match j {
                                        Some(j) => Ok((targets[j].column.clone(), row[j].clone())),
                                        None => Err(BackupError::Schema(format!(
                                            "table {}: the backup lacks key column {k}",
                                            t.name
                                        ))),
                                    }
                                })
                                .collect::<Result<Vec<_>, _>>()?;
                            deferred.push(Deferred {
                                table: t.name.clone(),
                                column: tc.column.clone(),
                                key,
                                value: std::mem::replace(&mut row[i], Val::Null),
                            });
                        }
                    }
                }
                insert(&mut conn, t, targets, &rows, from_postgres).await?;
                *count += rows.len() as u64;
                if last.elapsed().as_secs() >= 5 {
                    progress(&t.name, *count);
                    last = std::time::Instant::now();
                }
            }
            Item::End(summary) => {
                let Some((_, columns, _, _)) = current.take() else {
                    return Err(BackupError::Damaged("a table end outside a table".into()));
                };
                restored.push((
                    summary,
                    columns.into_iter().map(|c| (c.name, c.kind)).collect(),
                ));
            }
            Item::Manifest(_) => break,
        }
    }
    for d in &deferred {
        set_deferred(&mut conn, d).await?;
    }
    // Read everything back from the database and compare.
    let mut checks = Vec::new();
    for (summary, columns) in &restored {
        let (rows, sum) = conn
            .scan(&summary.name, columns, &[], None, None, progress)
            .await?;
        checks.push(TableCheck {
            name: summary.name.clone(),
            rows: summary.rows,
            restored: rows,
            checksum_ok: sum.hex() == summary.checksum,
        });
    }
    if checks.iter().any(|c| !c.ok()) {
        return Err(BackupError::Mismatch(checks));
    }
    tx.commit().await?;
    if backend == Backend::Sqlite {
        let mut tx = db.begin().await?;
        tx_conn(&mut tx)
            .execute("PRAGMA cache_size = -8000".into())
            .await?;
        tx.commit().await?;
    }
    db.migrate().await?;
    if backend == Backend::Postgres {
        // Fresh statistics for the planner, rather than waiting for autovacuum.
        let mut tx = db.begin().await?;
        tx_conn(&mut tx).execute("ANALYZE".into()).await?;
        tx.commit().await?;
    }
    let schema_version = {
        let mut tx = db.begin().await?;
        tx_conn(&mut tx).schema_version().await?.unwrap_or(0)
    };
    Ok(RestoreReport {
        header,
        tables: checks,
        schema_version,
    })
}

/// Bind parameters per statement stay under both engines' limits (SQLite's is 32,766).
const MAX_PARAMS: usize = 30_000;

async fn insert(
    conn: &mut Conn<'_>,
    t: &Table,
    targets: &[Target],
    rows: &[Vec<Val>],
    from_postgres: bool,
) -> Result<(), BackupError> {
    if rows.is_empty() {
        return Ok(());
    }
    let per_statement = (MAX_PARAMS / targets.len().max(1)).max(1);
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!("INSERT INTO {} (", ident(&t.name));
        let names: Vec<String> = targets.iter().map(|c| ident(&c.column.name)).collect();
        sql.push_str(&names.join(", "));
        sql.push_str(") VALUES ");
        let mut n = 0;
        for (r, _) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for (i, c) in targets.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                push_param(&mut sql, n, &c.column, conn.backend());
            }
            sql.push(')');
        }
        match conn {
            Conn::Sqlite(c) => {
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for row in chunk {
                    for (v, tc) in row.iter().zip(targets) {
                        q = bind_sqlite(q, v, &tc.column, from_postgres);
                    }
                }
                q.execute(&mut **c)
                    .await
                    .map_err(|e| insert_error(&t.name, e))?;
            }
            Conn::Postgres(c) => {
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for row in chunk {
                    for (v, tc) in row.iter().zip(targets) {
                        q = bind_postgres(q, v, &tc.column).map_err(|problem| {
                            BackupError::Value {
                                table: t.name.clone(),
                                column: tc.column.name.clone(),
                                problem,
                            }
                        })?;
                    }
                }
                q.execute(&mut **c)
                    .await
                    .map_err(|e| insert_error(&t.name, e))?;
            }
        }
    }
    Ok(())
}

fn insert_error(table: &str, e: sqlx::Error) -> BackupError {
    BackupError::Insert(format!("inserting into {table} failed: {e}"))
}

/// `$n`, cast on PostgreSQL to the column's type.
fn push_param(sql: &mut String, n: usize, c: &Column, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        Backend::Postgres => {
            sql.push_str("CAST($");
            sql.push_str(&n.to_string());
            sql.push_str(" AS ");
            sql.push_str(&ident(&c.pg_type));
            sql.push(')');
        }
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// SQLite takes each value as it is; JSON from PostgreSQL (`jsonb` spacing) is written
/// compact, as Hamkor writes it.
fn bind_sqlite<'q>(
    q: SqliteQuery<'q>,
    v: &Val,
    c: &Column,
    from_postgres: bool,
) -> SqliteQuery<'q> {
    match v {
        Val::Null => q.bind(None::<String>),
        Val::Int(i) => q.bind(*i),
        Val::Float(f) => q.bind(*f),
        Val::Bool(b) => q.bind(*b),
        Val::Text(s) if from_postgres && c.kind == Kind::Json => {
            match serde_json::from_str::<serde_json::Value>(s) {
                Ok(j) => q.bind(j.to_string()),
                Err(_) => q.bind(s.clone()),
            }
        }
        Val::Text(s) => q.bind(s.clone()),
        Val::Bytes(b) => q.bind(b.clone()),
    }
}

/// PostgreSQL gets each value as the Rust type of its column's kind.
fn bind_postgres<'q>(q: PgQuery<'q>, v: &Val, c: &Column) -> Result<PgQuery<'q>, String> {
    let bad = |what: &str| format!("{what} is not a {} value", c.kind.name());
    Ok(match (c.kind, v) {
        (Kind::Bytes, Val::Null) => q.bind(None::<Vec<u8>>),
        (Kind::Int, Val::Null) => q.bind(None::<i64>),
        (Kind::Float, Val::Null) => q.bind(None::<f64>),
        (Kind::Bool, Val::Null) => q.bind(None::<bool>),
        (Kind::Uuid, Val::Null) => q.bind(None::<uuid::Uuid>),
        (Kind::Timestamp, Val::Null) => q.bind(None::<chrono::DateTime<chrono::Utc>>),
        (Kind::Date, Val::Null) => q.bind(None::<chrono::NaiveDate>),
        (_, Val::Null) => q.bind(None::<String>),
        (Kind::Int, Val::Int(i)) => q.bind(*i),
        (Kind::Int, Val::Bool(b)) => q.bind(*b as i64),
        (Kind::Int, Val::Text(s)) => q.bind(s.trim().parse::<i64>().map_err(|_| bad(s))?),
        (Kind::Float, Val::Float(f)) => q.bind(*f),
        (Kind::Float, Val::Int(i)) => q.bind(*i as f64),
        (Kind::Float, Val::Text(s)) => q.bind(s.trim().parse::<f64>().map_err(|_| bad(s))?),
        (Kind::Bool, Val::Bool(b)) => q.bind(*b),
        (Kind::Bool, Val::Int(i)) => q.bind(*i != 0),
        (Kind::Bool, Val::Text(s)) => q.bind(match s.as_str() {
            "1" | "true" | "t" => true,
            "0" | "false" | "f" => false,
            _ => return Err(bad(s)),
        }),
        (Kind::Uuid, Val::Text(s)) => q.bind(uuid::Uuid::parse_str(s).map_err(|_| bad(s))?),
        (Kind::Timestamp, Val::Text(s)) => q.bind(value::parse_timestamp(s).ok_or_else(|| bad(s))?),
        (Kind::Date, Val::Text(s)) => {
            q.bind(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad(s))?)
        }
        (Kind::Bytes, Val::Bytes(b)) => q.bind(b.clone()),
        (Kind::Text | Kind::Json, Val::Text(s)) => q.bind(s.clone()),
        (Kind::Text, Val::Int(i)) => q.bind(i.to_string()),
        (Kind::Text, Val::Float(f)) => q.bind(f.to_string()),
        (_, other) => return Err(bad(&format!("{other:?}"))),
    })
}

async fn set_deferred(conn: &mut Conn<'_>, d: &Deferred) -> Result<(), BackupError> {
    let backend = conn.backend();
    let mut sql = format!(
        "UPDATE {} SET {} = ",
        ident(&d.table),
        ident(&d.column.name)
    );
    push_param(&mut sql, 1, &d.column, backend);
    for (i, (c, _)) in d.key.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(&ident(&c.name));
        sql.push_str(" = ");
        push_param(&mut sql, i + 2, c, backend);
    }
    let err = |column: &Column, problem: String| BackupError::Value {
        table: d.table.clone(),
        column: column.name.clone(),
        problem,
    };
    match conn {
        Conn::Sqlite(c) => {
            let mut q = bind_sqlite(sqlx::query(AssertSqlSafe(sql)), &d.value, &d.column, false);
            for (col, v) in &d.key {
                q = bind_sqlite(q, v, col, false);
            }
            q.execute(&mut **c)
                .await
                .map_err(|e| insert_error(&d.table, e))?;
        }
        Conn::Postgres(c) => {
            let mut q = bind_postgres(sqlx::query(AssertSqlSafe(sql)), &d.value, &d.column)
                .map_err(|p| err(&d.column, p))?;
            for (col, v) in &d.key {
                q = bind_postgres(q, v, col).map_err(|p| err(col, p))?;
            }
            q.execute(&mut **c)
                .await
                .map_err(|e| insert_error(&d.table, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, refs: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: refs
                .iter()
                .map(|r| Column {
                    name: format!("{r}_id"),
                    kind: Kind::Uuid,
                    pg_type: String::new(),
                    not_null: *r == "deals" && name == "deal_lines",
                })
                .collect(),
            primary_key: vec!["id".into()],
            refs: refs
                .iter()
                .map(|r| (format!("{r}_id"), r.to_string()))
                .collect(),
        }
    }

    #[test]
    fn parents_come_before_the_tables_that_refer_to_them() {
        let order: Vec<String> = dependency_order(vec![
            table("deal_lines", &["deals"]),
            table("deals", &["users", "leads", "stages"]),
            table("leads", &["deals", "users"]),
            table("stages", &["pipelines"]),
            table("accounts", &["accounts", "users"]),
            table("pipelines", &[]),
            table("users", &["teams"]),
            table("teams", &[]),
        ])
        .into_iter()
        .map(|t| t.name)
        .collect();
        let at = |n: &str| order.iter().position(|x| x == n).unwrap();
        assert!(at("teams") < at("users"));
        assert!(at("users") < at("accounts"));
        assert!(at("pipelines") < at("stages"));
        assert!(at("stages") < at("deals"));
        assert!(at("users") < at("leads"));
        // The cycle is broken inside it, not at a table that only waits for it.
        assert!(at("deals") < at("deal_lines"));
        assert_eq!(order.len(), 8);
    }

    #[test]
    fn the_sqlite_type_list_reads_whole() {
        let kinds = sqlite_kinds();
        assert!(kinds.len() > 300, "{}", kinds.len());
        assert_eq!(
            kinds.get(&("attachments".to_string(), "id".to_string())),
            Some(&Kind::Uuid)
        );
        assert_eq!(
            kinds.get(&("users".to_string(), "disabled".to_string())),
            Some(&Kind::Bool)
        );
    }
}
