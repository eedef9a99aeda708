//! One query path for SQLite and PostgreSQL. Statements are written once, with `$1 … $n`
//! placeholders (both sqlx drivers accept them), and values are bound through [`Arg`], which
//! knows how each backend stores ids, timestamps and JSON. Rows are read through [`Row`].
//!
//! SQLite gets two pools: many read-only connections, and one writer whose transactions
//! start with `BEGIN IMMEDIATE`, so writers queue instead of failing with "database is
//! locked" when a read transaction tries to upgrade.

use crate::StoreError;
use chrono::NaiveDate;
use hamkor_domain::{Id, Timestamp};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Postgres, Row as _, Sqlite, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Which database engine is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A value bound to a statement parameter. `None` is SQL `NULL` of that type.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Id(Option<Id>),
    Ts(Option<Timestamp>),
    Date(Option<NaiveDate>),
    Json(Option<Value>),
    /// File contents (BLOB on SQLite, BYTEA on PostgreSQL).
    Bytes(Option<Vec<u8>>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<Id> for Arg {
    fn from(v: Id) -> Self {
        Arg::Id(Some(v))
    }
}
impl From<Option<Id>> for Arg {
    fn from(v: Option<Id>) -> Self {
        Arg::Id(v)
    }
}
impl From<Timestamp> for Arg {
    fn from(v: Timestamp) -> Self {
        Arg::Ts(Some(v))
    }
}
impl From<Option<Timestamp>> for Arg {
    fn from(v: Option<Timestamp>) -> Self {
        Arg::Ts(v)
    }
}

/// A statement and its values. Build dynamic statements with [`Sql::push`] (for text that
/// comes from the program, never from a request) and [`Sql::bind`] (for every value).
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Starts a statement from program text.
    pub fn new(text: &'static str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }
    /// A statement the database itself described: a `CREATE INDEX` or `CREATE TRIGGER`
    /// read from its catalogue (`sqlite_master`, `pg_indexes`), or a `DROP` of a name read
    /// from there (quoted). Never text from a request.
    pub(crate) fn from_catalog(text: String) -> Self {
        Sql {
            text,
            args: Vec::new(),
        }
    }
    /// Appends program text. Only identifiers from the object descriptions and literal SQL
    /// may go here; values always go through [`Sql::bind`].
    pub fn push(&mut self, text: &'static str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    /// Appends an identifier or fragment chosen from a whitelist of `'static` names.
    pub fn push_ident(&mut self, ident: &'static str) -> &mut Self {
        debug_assert!(
            ident
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        );
        self.text.push_str(ident);
        self
    }
    /// Appends a placeholder and binds `value` to it.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }
    /// Appends a number the program computed (an array index, a count), never a value
    /// from a request.
    pub fn push_number(&mut self, n: usize) -> &mut Self {
        self.text.push_str(&n.to_string());
        self
    }
    /// Binds a value to the next placeholder already written in the text.
    pub fn arg(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }
    pub fn text(&self) -> &str {
        &self.text
    }

    fn sqlite(&self) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Float(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Id(v) => q.bind(v.map(|v| v.to_string())),
                Arg::Ts(v) => q.bind(v.map(|v| v.to_storage())),
                Arg::Date(v) => q.bind(v.map(|d| d.format("%Y-%m-%d").to_string())),
                Arg::Json(v) => q.bind(v.as_ref().map(|v| v.to_string())),
                Arg::Bytes(v) => q.bind(v.clone()),
            };
        }
        q
    }

    fn postgres(&self) -> sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Int(v) => q.bind(*v),
                Arg::Float(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Id(v) => q.bind(v.map(|v| v.0)),
                Arg::Ts(v) => q.bind(v.map(|v| v.0)),
                Arg::Date(v) => q.bind(*v),
                Arg::Json(v) => q.bind(v.clone().map(sqlx::types::Json)),
                Arg::Bytes(v) => q.bind(v.clone()),
            };
        }
        q
    }
}

/// A result row from either backend, read by column name.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

fn decode_err(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Decode(format!("column {col}: {e}"))
}

impl Row {
    pub fn text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get::<Option<String>, _>(col),
            Row::Postgres(r) => r.try_get::<Option<String>, _>(col),
        }
        .map_err(|e| decode_err(col, e))
    }
    pub fn req_text(&self, col: &str) -> Result<String, StoreError> {
        self.text(col)?
            .ok_or_else(|| decode_err(col, "unexpected NULL"))
    }
    pub fn int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get::<Option<i64>, _>(col),
            Row::Postgres(r) => r.try_get::<Option<i64>, _>(col),
        }
        .map_err(|e| decode_err(col, e))
    }
    pub fn req_int(&self, col: &str) -> Result<i64, StoreError> {
        self.int(col)?
            .ok_or_else(|| decode_err(col, "unexpected NULL"))
    }
    pub fn float(&self, col: &str) -> Result<Option<f64>, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get::<Option<f64>, _>(col),
            Row::Postgres(r) => r.try_get::<Option<f64>, _>(col),
        }
        .map_err(|e| decode_err(col, e))
    }
    pub fn bool(&self, col: &str) -> Result<bool, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get::<Option<bool>, _>(col),
            Row::Postgres(r) => r.try_get::<Option<bool>, _>(col),
        }
        .map(|b| b.unwrap_or(false))
        .map_err(|e| decode_err(col, e))
    }
    pub fn opt_bool(&self, col: &str) -> Result<Option<bool>, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get::<Option<bool>, _>(col),
            Row::Postgres(r) => r.try_get::<Option<bool>, _>(col),
        }
        .map_err(|e| decode_err(col, e))
    }
    pub fn id(&self, col: &str) -> Result<Option<Id>, StoreError> {
        match self {
            Row::Sqlite(r) => match r
                .try_get::<Option<String>, _>(col)
                .map_err(|e| decode_err(col, e))?
            {
                None => Ok(None),
                Some(s) => s.parse::<Id>().map(Some).map_err(|e| decode_err(col, e)),
            },
            Row::Postgres(r) => r
                .try_get::<Option<uuid::Uuid>, _>(col)
                .map(|u| u.map(Id))
                .map_err(|e| decode_err(col, e)),
        }
    }
    pub fn req_id(&self, col: &str) -> Result<Id, StoreError> {
        self.id(col)?
            .ok_or_else(|| decode_err(col, "unexpected NULL"))
    }
    pub fn ts(&self, col: &str) -> Result<Option<Timestamp>, StoreError> {
        match self {
            Row::Sqlite(r) => match r
                .try_get::<Option<String>, _>(col)
                .map_err(|e| decode_err(col, e))?
            {
                None => Ok(None),
                Some(s) => Timestamp::parse_storage(&s)
                    .map(Some)
                    .ok_or_else(|| decode_err(col, "bad timestamp")),
            },
            Row::Postgres(r) => r
                .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(col)
                .map(|t| t.map(Timestamp::from_datetime))
                .map_err(|e| decode_err(col, e)),
        }
    }
    pub fn req_ts(&self, col: &str) -> Result<Timestamp, StoreError> {
        self.ts(col)?
            .ok_or_else(|| decode_err(col, "unexpected NULL"))
    }
    pub fn date(&self, col: &str) -> Result<Option<NaiveDate>, StoreError> {
        match self {
            Row::Sqlite(r) => match r
                .try_get::<Option<String>, _>(col)
                .map_err(|e| decode_err(col, e))?
            {
                None => Ok(None),
                Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|e| decode_err(col, e)),
            },
            Row::Postgres(r) => r
                .try_get::<Option<NaiveDate>, _>(col)
                .map_err(|e| decode_err(col, e)),
        }
    }
    pub fn bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get::<Option<Vec<u8>>, _>(col),
            Row::Postgres(r) => r.try_get::<Option<Vec<u8>>, _>(col),
        }
        .map_err(|e| decode_err(col, e))
    }
    pub fn json(&self, col: &str) -> Result<Option<Value>, StoreError> {
        match self {
            Row::Sqlite(r) => match r
                .try_get::<Option<String>, _>(col)
                .map_err(|e| decode_err(col, e))?
            {
                None => Ok(None),
                Some(s) => serde_json::from_str(&s)
                    .map(Some)
                    .map_err(|e| decode_err(col, e)),
            },
            Row::Postgres(r) => r
                .try_get::<Option<sqlx::types::Json<Value>>, _>(col)
                .map(|j| j.map(|j| j.0))
                .map_err(|e| decode_err(col, e)),
        }
    }
}

pub(crate) enum Pools {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// The connection that copies the WAL back into the database file
        /// ([`spawn_checkpointer`]), so the writer never does.
        checkpoint: SqlitePool,
        /// How long the WAL may grow before the checkpointer starts it again.
        wal: Arc<WalBound>,
    },
    Postgres(PgPool),
}

/// How long SQLite's WAL may grow, in pages.
///
/// A passive checkpoint copies the WAL into the database file, but the file itself only
/// starts again from its beginning when a write transaction begins after a complete copy
/// with no reader still reading from it. When writes never pause (a stream of API writes,
/// an import's batches), commits land during every copy, that moment does not come, and
/// the WAL grows by every page written: 1.6 GB for an import of 200,000 contacts into a
/// 624 MB database, a gigabyte in 12 s of contact creation at a million contacts, all of
/// it disk space and page cache taken from the database. Past the limit the checkpointer
/// starts it again, holding the writer for a moment ([`restart_wal`]).
pub(crate) struct WalBound {
    /// The limit while no bulk writer runs.
    pages: i64,
    /// The limit while one does: lower, since its own transactions hold the writer far
    /// longer than a restart does.
    bulk_pages: i64,
    /// Bulk writers running ([`Db::bulk_writes`]).
    bulk: AtomicUsize,
}

impl WalBound {
    fn limit(&self) -> i64 {
        if self.bulk.load(Ordering::Relaxed) > 0 {
            self.bulk_pages
        } else {
            self.pages
        }
    }
}

/// While it lives, the WAL is kept to its bulk limit ([`WalBound`]); see [`Db::bulk_writes`].
pub struct BulkWrites(Option<Arc<WalBound>>);

impl Drop for BulkWrites {
    fn drop(&mut self) {
        if let Some(wal) = &self.0 {
            wal.bulk.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// How long a WAL restart waits for readers still reading from the WAL before it gives
/// up until the next round: it holds the writer while it waits. The checkpointer's busy
/// timeout (a passive checkpoint never waits).
const WAL_RESTART_WAIT: Duration = Duration::from_millis(50);

/// How many rows of each index SQLite's `ANALYZE` samples (at every start and after a
/// bulk load): enough for the planner, and moments even on a database of gigabytes.
pub(crate) const SQLITE_ANALYSIS_LIMIT: &str = "PRAGMA analysis_limit = 1000";

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`] from a
/// connection of its own, for as long as the database is open. SQLite would otherwise do
/// it on the writer, inside whichever commit filled the WAL to 1,000 pages: that commit
/// then also wrote those pages into the database file and waited for two disk flushes,
/// and the requests queued behind it waited too (the slowest 1% of writes on a 10 GB
/// database). A passive checkpoint runs beside the writer and readers without stopping
/// them.
fn spawn_checkpointer(pools: std::sync::Weak<Pools>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(pools) = pools.upgrade() else {
                return;
            };
            let Pools::Sqlite {
                checkpoint,
                write,
                wal,
                ..
            } = &*pools
            else {
                return;
            };
            if checkpoint.is_closed() {
                return;
            }
            let pages = match passive_checkpoint(checkpoint).await {
                Ok(pages) => pages,
                Err(e) => {
                    if !checkpoint.is_closed() {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                    continue;
                }
            };
            if pages >= wal.limit() {
                let started = std::time::Instant::now();
                match restart_wal(write, checkpoint).await {
                    Ok(restarted) => tracing::debug!(
                        pages,
                        restarted,
                        elapsed = ?started.elapsed(),
                        "WAL restart"
                    ),
                    Err(e) if !write.is_closed() => {
                        tracing::warn!(error = %e, "WAL restart failed")
                    }
                    Err(_) => {}
                }
            }
        }
    });
}

/// Copies the WAL into the database file beside the writer and readers; returns the
/// WAL's length in pages.
async fn passive_checkpoint(checkpoint: &SqlitePool) -> Result<i64, sqlx::Error> {
    let (_, pages, _) = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(checkpoint)
        .await?;
    Ok(pages)
}

/// Copies the rest of the WAL into the database file while holding the writer idle, so
/// no commit comes in meanwhile, and waits up to [`WAL_RESTART_WAIT`] for readers still
/// reading from the WAL: then the next write transaction starts it again from its
/// beginning. Returns whether it got that far (readers may hold it up until the next
/// round).
///
/// First, beside the writer: the disk flush of the pages copied so far (a passive
/// checkpoint that commits overtake never makes it), then a second pass for what was
/// written during the first. What is left to copy and flush while the writer is held is
/// then little: 16–60 ms of it at a million contacts instead of 300–400 ms.
async fn restart_wal(write: &SqlitePool, checkpoint: &SqlitePool) -> Result<bool, sqlx::Error> {
    sqlx::query("SELECT hamkor_sync_database()")
        .execute(checkpoint)
        .await?;
    passive_checkpoint(checkpoint).await?;
    let _writer = write.acquire().await?;
    let (busy, _, _) = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(RESTART)")
        .fetch_one(checkpoint)
        .await?;
    Ok(busy == 0)
}

/// How SQLite makes a commit durable (`PRAGMA synchronous`); PostgreSQL has its own
/// settings (`synchronous_commit`, `fsync`) on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// A committed transaction survives the application crashing; a power loss or an
    /// operating-system crash may roll back the last ones (never corrupting the file).
    /// Syncs the WAL at checkpoints only, so commits are cheap.
    #[default]
    Normal,
    /// A committed transaction also survives a power loss: the WAL is synced at every
    /// commit, which costs a disk flush per write transaction.
    Full,
}

impl std::str::FromStr for Synchronous {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "normal" => Ok(Synchronous::Normal),
            "full" => Ok(Synchronous::Full),
            other => Err(StoreError::Config(format!(
                "sqlite_synchronous must be normal or full, not {other:?}"
            ))),
        }
    }
}

/// How the pools are opened. The defaults are the server's; tests shorten the waits.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    /// SQLite's `synchronous` pragma.
    pub synchronous: Synchronous,
    /// How long a SQLite statement waits for a lock another connection holds before it
    /// fails (SQLITE_BUSY, answered 503).
    pub busy_timeout: Duration,
    /// How long a statement waits for a free connection of its pool before it fails
    /// (answered 503). Shorter than the 30-second request limit, so a request that waits
    /// for the database in a queue gets 503, not a timeout.
    pub acquire_timeout: Duration,
    /// PostgreSQL: connections in the pool.
    pub pg_max_connections: u32,
    /// SQLite: how long the WAL may grow, in pages, while no bulk writer runs
    /// ([`WalBound`]).
    pub wal_limit_pages: i64,
    /// SQLite: the same while one does ([`Db::bulk_writes`]).
    pub bulk_wal_limit_pages: i64,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
            pg_max_connections: 16,
            // 1 GiB and 256 MiB of 4 KiB pages.
            wal_limit_pages: 262_144,
            bulk_wal_limit_pages: 65_536,
        }
    }
}

/// Makes a SQLite connection plan each statement once, when it is prepared, whatever
/// values it is bound to later (SQLite's query planner stability guarantee).
///
/// Without it, the bundled SQLite (built with `SQLITE_ENABLE_STAT4`) marks a statement
/// whose plan might depend on a bound value (a `LIKE` pattern, or a value compared with
/// an indexed column that `ANALYZE` sampled) and parses and plans it again at its first
/// step after every bind: each execution of a cached statement was prepared anew. At a
/// million contacts that was a sixth of a search's CPU; the bound values buy no better
/// plans here, since the search chooses between its index and a scan itself
/// (`records::search_plan`). Reached through the raw handle: sqlx has no option for it.
fn stable_plans(
    conn: &mut sqlx::SqliteConnection,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let mut handle = conn.lock_handle().await?;
        let db = handle.as_raw_handle().as_ptr();
        let mut now: std::ffi::c_int = -1;
        // SAFETY: `db` is a live connection that the locked handle keeps to this thread
        // until the call returns, and SQLITE_DBCONFIG_ENABLE_QPSG takes exactly an int (1:
        // on) and a pointer to an int that receives the setting now in force.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_db_config(
                db,
                libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as std::ffi::c_int,
                &mut now as *mut std::ffi::c_int,
            )
        };
        if rc != libsqlite3_sys::SQLITE_OK || now != 1 {
            return Err(sqlx::Error::Configuration(
                format!("SQLite refused the query planner stability guarantee (code {rc})").into(),
            ));
        }
        Ok(())
    })
}

/// The checkpointer's connection: planned once like the others, and with
/// `hamkor_sync_database()` ([`sync_database`]).
fn checkpointer_connection(
    conn: &mut sqlx::SqliteConnection,
) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        stable_plans(conn).await?;
        let mut handle = conn.lock_handle().await?;
        let db = handle.as_raw_handle().as_ptr();
        // SAFETY: `db` is a live connection that the locked handle keeps to this thread
        // until the call returns; the name is a C string, the function takes no
        // arguments and no application data, and `sync_database` has the signature
        // SQLite calls.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_create_function_v2(
                db,
                c"hamkor_sync_database".as_ptr(),
                0,
                libsqlite3_sys::SQLITE_UTF8 | libsqlite3_sys::SQLITE_DIRECTONLY,
                std::ptr::null_mut(),
                Some(sync_database),
                None,
                None,
                None,
            )
        };
        if rc != libsqlite3_sys::SQLITE_OK {
            return Err(sqlx::Error::Configuration(
                format!("SQLite refused hamkor_sync_database (code {rc})").into(),
            ));
        }
        Ok(())
    })
}

/// `hamkor_sync_database()`: flushes the database file to the disk through SQLite's own
/// handle of it (its VFS's `xSync`), as a checkpoint does at its end. Opening the file
/// a second time is not an option: closing any descriptor of a file drops every POSIX
/// lock the process holds on it, SQLite's included. Returns 0, or fails with the code.
unsafe extern "C" fn sync_database(
    ctx: *mut libsqlite3_sys::sqlite3_context,
    _argc: std::ffi::c_int,
    _argv: *mut *mut libsqlite3_sys::sqlite3_value,
) {
    use libsqlite3_sys as ffi;
    // SAFETY: SQLite calls this with a live context of the connection running the
    // statement; SQLITE_FCNTL_FILE_POINTER writes that connection's `sqlite3_file` for
    // "main" (which lives as long as the connection) into the pointer it is given, and
    // its methods' `xSync` takes that file and sync flags.
    unsafe {
        let db = ffi::sqlite3_context_db_handle(ctx);
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        let mut rc = ffi::sqlite3_file_control(
            db,
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&mut file as *mut *mut ffi::sqlite3_file).cast(),
        );
        if rc == ffi::SQLITE_OK {
            rc = match file
                .as_ref()
                .and_then(|f| f.pMethods.as_ref())
                .and_then(|m| m.xSync)
            {
                Some(sync) => sync(file, ffi::SQLITE_SYNC_NORMAL),
                None => ffi::SQLITE_MISUSE,
            };
        }
        if rc == ffi::SQLITE_OK {
            ffi::sqlite3_result_int(ctx, 0);
        } else {
            ffi::sqlite3_result_error_code(ctx, rc);
        }
    }
}

/// The database. Cheap to clone; all clones share the pools.
#[derive(Clone)]
pub struct Db {
    pub(crate) pools: Arc<Pools>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Runs statements, outside or inside a transaction.
pub trait Exec: Send {
    fn fetch_all(&mut self, q: &Sql) -> impl Future<Output = Result<Vec<Row>, StoreError>> + Send;
    fn fetch_optional(
        &mut self,
        q: &Sql,
    ) -> impl Future<Output = Result<Option<Row>, StoreError>> + Send;
    /// Runs a statement and returns the number of rows it changed.
    fn execute(&mut self, q: &Sql) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn backend(&self) -> Backend;
}

impl Db {
    /// Opens `sqlite://path` (created if missing) or `postgres://…`, SQLite with
    /// [`Synchronous::Normal`].
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        Self::connect_with(url, Synchronous::Normal).await
    }

    /// Opens the database; `synchronous` applies to SQLite only.
    pub async fn connect_with(url: &str, synchronous: Synchronous) -> Result<Db, StoreError> {
        Self::open(
            url,
            DbOptions {
                synchronous,
                ..DbOptions::default()
            },
        )
        .await
    }

    /// Opens the database with `options`.
    pub async fn open(url: &str, options: DbOptions) -> Result<Db, StoreError> {
        let DbOptions {
            synchronous,
            busy_timeout,
            acquire_timeout,
            pg_max_connections,
            wal_limit_pages,
            bulk_wal_limit_pages,
        } = options;
        let pools = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // No JIT: a list's first page over a large table is estimated dear (the planner
            // cannot know the LIMIT stops it after 51 rows), and compiling it took 15 ms to
            // 70 ms of a query that runs in 3 ms.
            let connect = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(pg_max_connections.max(1))
                .acquire_timeout(acquire_timeout)
                .connect_with(connect)
                .await?;
            Pools::Postgres(pool)
        } else if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let base = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // NORMAL in WAL mode: a committed transaction survives an application crash;
                // only a power loss may roll back the last few. FULL survives that too, at
                // a disk flush per commit. See docs/operations.md.
                .synchronous(match synchronous {
                    Synchronous::Normal => SqliteSynchronous::Normal,
                    Synchronous::Full => SqliteSynchronous::Full,
                })
                .foreign_keys(true)
                .busy_timeout(busy_timeout)
                .pragma("temp_store", "memory")
                // 8 MiB of page cache per connection keeps the server small; the OS caches the rest.
                .pragma("cache_size", "-8000")
                .statement_cache_capacity(256);
            // The one writer maintains every index of every insert (a bulk import's above
            // all): 32 MiB keeps the index pages it is filling in memory.
            // No ping before each acquire (sqlx's default): an SQLite connection is a handle
            // in this process that cannot go stale, and the ping is a round trip to its
            // worker thread for every statement a request runs.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .after_connect(|conn, _| stable_plans(conn))
                .acquire_timeout(acquire_timeout)
                .connect_with(
                    base.clone()
                        .pragma("cache_size", "-32000")
                        // The checkpointer copies the WAL back, not the writer.
                        .pragma("wal_autocheckpoint", "0"),
                )
                .await?;
            let checkpoint = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(1)
                .after_connect(|conn, _| checkpointer_connection(conn))
                .min_connections(0)
                .acquire_timeout(acquire_timeout)
                .connect_with(base.clone().busy_timeout(WAL_RESTART_WAIT))
                .await?;
            let readers = std::thread::available_parallelism()
                .map(|n| n.get() * 2)
                .unwrap_or(4)
                .max(4) as u32;
            let read = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(readers)
                .after_connect(|conn, _| stable_plans(conn))
                .min_connections(1)
                .acquire_timeout(acquire_timeout)
                .connect_with(base.read_only(true))
                .await?;
            Pools::Sqlite {
                read,
                write,
                checkpoint,
                wal: Arc::new(WalBound {
                    pages: wal_limit_pages,
                    bulk_pages: bulk_wal_limit_pages,
                    bulk: AtomicUsize::new(0),
                }),
            }
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL {url:?}: use sqlite://path/to/file.db or postgres://user:password@host/db"
            )));
        };
        let pools = Arc::new(pools);
        if matches!(&*pools, Pools::Sqlite { .. }) {
            spawn_checkpointer(Arc::downgrade(&pools));
        }
        Ok(Db { pools })
    }

    /// Brings the schema up to date. Safe to run on every start and from several servers.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &*self.pools {
            Pools::Sqlite { write, .. } => {
                SQLITE_MIGRATIONS.run(write).await?;
                // Keep the planner's statistics current: without them SQLite guesses, and
                // guesses wrong on big tables (a list of one owner's contacts sorted by
                // name read 100,000 rows instead of 50). The limit keeps this to moments
                // even on a database of gigabytes.
                // A bulk load that died half-way left indexes to build (crate::deferred).
                crate::deferred::restore_deferred(self).await?;
                sqlx::query(SQLITE_ANALYSIS_LIMIT).execute(write).await?;
                sqlx::query("PRAGMA optimize = 0x10002")
                    .execute(write)
                    .await?;
            }
            Pools::Postgres(pool) => {
                POSTGRES_MIGRATIONS.run(pool).await?;
                crate::deferred::restore_deferred(self).await?;
            }
        }
        Ok(())
    }

    /// Brings the schema up to `version` and no further (a restore creates the schema
    /// its backup was taken at, then runs the newer migrations over the restored rows).
    pub async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        match &*self.pools {
            Pools::Sqlite { write, .. } => SQLITE_MIGRATIONS.run_to(version, write).await?,
            Pools::Postgres(pool) => POSTGRES_MIGRATIONS.run_to(version, pool).await?,
        }
        Ok(())
    }

    /// The schema versions (migration numbers) this program knows, oldest first.
    pub fn known_schema_versions(&self) -> Vec<i64> {
        let m = match &*self.pools {
            Pools::Sqlite { .. } => &SQLITE_MIGRATIONS,
            Pools::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        m.iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .collect()
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &*self.pools {
            Pools::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Marks a bulk writer (an import) running until the returned value is dropped: the
    /// SQLite WAL is then kept to its lower bulk limit ([`WalBound`]). Nothing on
    /// PostgreSQL.
    pub fn bulk_writes(&self) -> BulkWrites {
        match &*self.pools {
            Pools::Sqlite { wal, .. } => {
                wal.bulk.fetch_add(1, Ordering::Relaxed);
                BulkWrites(Some(wal.clone()))
            }
            Pools::Postgres(_) => BulkWrites(None),
        }
    }

    /// `true` when the database answers a query.
    pub async fn ping(&self) -> bool {
        let mut db = self.clone();
        db.fetch_optional(&Sql::new("SELECT 1 AS one"))
            .await
            .is_ok()
    }

    /// Closes the pools, waiting for connections in use (graceful shutdown).
    pub async fn close(&self) {
        match &*self.pools {
            Pools::Sqlite {
                read,
                write,
                checkpoint,
                ..
            } => {
                checkpoint.close().await;
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Connections open and idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        match &*self.pools {
            Pools::Sqlite { read, write, .. } => (
                read.size() + write.size(),
                read.num_idle() + write.num_idle(),
            ),
            Pools::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }
}

impl Exec for Db {
    async fn fetch_all(&mut self, q: &Sql) -> Result<Vec<Row>, StoreError> {
        Ok(match &*self.pools {
            Pools::Sqlite { read, .. } => q
                .sqlite()
                .fetch_all(read)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Pools::Postgres(pool) => q
                .postgres()
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }
    async fn fetch_optional(&mut self, q: &Sql) -> Result<Option<Row>, StoreError> {
        Ok(match &*self.pools {
            Pools::Sqlite { read, .. } => q.sqlite().fetch_optional(read).await?.map(Row::Sqlite),
            Pools::Postgres(pool) => q.postgres().fetch_optional(pool).await?.map(Row::Postgres),
        })
    }
    async fn execute(&mut self, q: &Sql) -> Result<u64, StoreError> {
        Ok(match &*self.pools {
            Pools::Sqlite { write, .. } => q.sqlite().execute(write).await?.rows_affected(),
            Pools::Postgres(pool) => q.postgres().execute(pool).await?.rows_affected(),
        })
    }
    fn backend(&self) -> Backend {
        match &*self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Runs `write` so that it either all happens or leaves the transaction as it was,
    /// which can go on: a row of an import refused part-way (a code in use, say) is
    /// undone alone. PostgreSQL would otherwise refuse every later statement of the
    /// transaction, and SQLite would keep what the row wrote before the error.
    pub async fn atomically<T, E, F>(&mut self, write: F) -> Result<Result<T, E>, StoreError>
    where
        F: AsyncFnOnce(&mut Tx) -> Result<T, E>,
    {
        self.execute(&Sql::new("SAVEPOINT hamkor_part")).await?;
        let result = write(self).await;
        if result.is_err() {
            self.execute(&Sql::new("ROLLBACK TO SAVEPOINT hamkor_part"))
                .await?;
        }
        self.execute(&Sql::new("RELEASE SAVEPOINT hamkor_part"))
            .await?;
        Ok(result)
    }
}

impl Exec for Tx {
    async fn fetch_all(&mut self, q: &Sql) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Tx::Sqlite(t) => q
                .sqlite()
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Tx::Postgres(t) => q
                .postgres()
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }
    async fn fetch_optional(&mut self, q: &Sql) -> Result<Option<Row>, StoreError> {
        Ok(match self {
            Tx::Sqlite(t) => q.sqlite().fetch_optional(&mut **t).await?.map(Row::Sqlite),
            Tx::Postgres(t) => q
                .postgres()
                .fetch_optional(&mut **t)
                .await?
                .map(Row::Postgres),
        })
    }
    async fn execute(&mut self, q: &Sql) -> Result<u64, StoreError> {
        Ok(match self {
            Tx::Sqlite(t) => q.sqlite().execute(&mut **t).await?.rows_affected(),
            Tx::Postgres(t) => q.postgres().execute(&mut **t).await?.rows_affected(),
        })
    }
    fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Sql {
    /// Appends another fragment, renumbering its placeholders after this one's.
    pub fn append(&mut self, other: Sql) -> &mut Self {
        let offset = self.args.len();
        let mut text = String::with_capacity(other.text.len());
        let mut chars = other.text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                let mut n = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    n.push(d);
                    chars.next();
                }
                let n: usize = n.parse().unwrap_or(0);
                text.push('$');
                text.push_str(&(n + offset).to_string());
            } else {
                text.push(c);
            }
        }
        self.text.push_str(&text);
        self.args.extend(other.args);
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::TempSqlite;
    use std::collections::BTreeMap;

    #[tokio::test]
    async fn the_synchronous_setting_reaches_every_sqlite_connection() {
        use super::{Db, Pools, Synchronous};
        for (setting, pragma) in [(Synchronous::Normal, 1i64), (Synchronous::Full, 2)] {
            let file = TempSqlite::new("sync");
            let db = Db::connect_with(&file.url(), setting).await.unwrap();
            let Pools::Sqlite { read, write, .. } = &*db.pools else {
                unreachable!()
            };
            for pool in [read, write] {
                let v: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(pool)
                    .await
                    .unwrap();
                assert_eq!(v, pragma, "{setting:?}");
            }
            db.close().await;
        }
        assert_eq!("FULL".parse::<Synchronous>().unwrap(), Synchronous::Full);
        assert!("off".parse::<Synchronous>().is_err());
    }

    /// The writer never checkpoints (a commit that did waited for the copy and two disk
    /// flushes, and so did the writes queued behind it); the checkpointer copies the WAL
    /// into the database file within moments.
    #[tokio::test]
    async fn the_wal_is_checkpointed_beside_the_writer() {
        use super::{Db, Exec, Pools, Sql};
        let file = TempSqlite::new("ckpt");
        let db = Db::connect(&file.url()).await.unwrap();
        let Pools::Sqlite { write, .. } = &*db.pools else {
            unreachable!()
        };
        let auto: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(write)
            .await
            .unwrap();
        assert_eq!(auto, 0);
        let mut ex = db.clone();
        ex.execute(&Sql::new("CREATE TABLE t (v TEXT)"))
            .await
            .unwrap();
        let size = || std::fs::metadata(&file.0).map(|m| m.len()).unwrap_or(0);
        let before = size();
        // About 2 MB of rows: in the WAL first, then in the database file.
        ex.execute(&Sql::new(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO t SELECT printf('%.1000c', 'x') FROM n",
        ))
        .await
        .unwrap();
        let mut copied = false;
        for _ in 0..100 {
            if size() > before + 1_000_000 {
                copied = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(copied, "the database file is still {} bytes", size());
        db.close().await;
    }

    /// A stream of write transactions leaves SQLite no moment to start its WAL again:
    /// each checkpoint copies it, but commits keep landing while it does, and the file
    /// grows by every page written. While a bulk writer runs, the checkpointer starts it
    /// again once it passes the bulk limit (the other limit is out of reach here).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_started_again_past_its_limit() {
        use super::{Db, DbOptions, Exec, Sql};
        let file = TempSqlite::new("walbound");
        let db = Db::open(
            &file.url(),
            DbOptions {
                wal_limit_pages: i64::MAX,
                bulk_wal_limit_pages: 256,
                ..DbOptions::default()
            },
        )
        .await
        .unwrap();
        let mut ex = db.clone();
        ex.execute(&Sql::new("CREATE TABLE t (v BLOB)"))
            .await
            .unwrap();
        let wal = format!("{}-wal", file.0.display());
        let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        let bulk = db.bulk_writes();
        // 64 MB in transactions of about 200 KB, at most 20 MB a second.
        let (mut written, mut largest) = (0u64, 0u64);
        while written < 64_000_000 {
            ex.execute(&Sql::new("INSERT INTO t VALUES (randomblob(200000))"))
                .await
                .unwrap();
            ex.execute(&Sql::new(
                "DELETE FROM t WHERE rowid < (SELECT max(rowid) FROM t)",
            ))
            .await
            .unwrap();
            written += 200_000;
            largest = largest.max(wal_size());
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        drop(bulk);
        assert!(
            largest < written / 2,
            "the WAL grew to {largest} bytes for {written} bytes written"
        );
        db.close().await;
    }

    /// The checkpointer flushes the database file through SQLite's own handle of it
    /// before a WAL restart; the function it calls is on its connection alone.
    #[tokio::test]
    async fn the_checkpointer_flushes_the_database_file() {
        use super::{Db, Pools};
        let file = TempSqlite::new("flush");
        let db = Db::connect(&file.url()).await.unwrap();
        let Pools::Sqlite {
            checkpoint, read, ..
        } = &*db.pools
        else {
            unreachable!()
        };
        let done: i64 = sqlx::query_scalar("SELECT hamkor_sync_database()")
            .fetch_one(checkpoint)
            .await
            .unwrap();
        assert_eq!(done, 0);
        let elsewhere = sqlx::query("SELECT hamkor_sync_database()")
            .execute(read)
            .await
            .unwrap_err();
        assert!(
            elsewhere.to_string().contains("no such function"),
            "{elsewhere}"
        );
        db.close().await;
    }

    /// A SQLite database's pools, by the name of their part.
    fn sqlite_pools(db: &super::Db) -> [(&'static str, &sqlx::SqlitePool); 3] {
        let super::Pools::Sqlite {
            read,
            write,
            checkpoint,
            ..
        } = &*db.pools
        else {
            unreachable!("a SQLite database")
        };
        [
            ("reader", read),
            ("writer", write),
            ("checkpointer", checkpoint),
        ]
    }

    /// Runs `sql` (one text parameter) once per value through one prepared statement of
    /// the connection, as the statement cache does, and returns how many times SQLite
    /// prepared it again.
    async fn times_prepared_again(
        conn: &mut sqlx::SqliteConnection,
        sql: &str,
        values: &[&str],
    ) -> i32 {
        use libsqlite3_sys as ffi;
        use std::ffi::CString;
        let mut handle = conn.lock_handle().await.unwrap();
        let db = handle.as_raw_handle().as_ptr();
        let sql = CString::new(sql).unwrap();
        let values: Vec<CString> = values.iter().map(|v| CString::new(*v).unwrap()).collect();
        let mut stmt = std::ptr::null_mut();
        // SAFETY: the locked handle keeps the connection to this thread; the statement is
        // prepared, bound with SQLite's own copies of the values, stepped and finalized
        // here, and never escapes.
        unsafe {
            let rc = ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, std::ptr::null_mut());
            assert_eq!(rc, ffi::SQLITE_OK);
            for v in &values {
                ffi::sqlite3_reset(stmt);
                let rc = ffi::sqlite3_bind_text(stmt, 1, v.as_ptr(), -1, ffi::SQLITE_TRANSIENT());
                assert_eq!(rc, ffi::SQLITE_OK);
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {}
            }
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            n
        }
    }

    /// Every SQLite connection (readers, writer, checkpointer) plans a statement once: a
    /// cached statement run again with new values is not parsed and planned again. Both
    /// kinds of statement SQLite would otherwise prepare anew at each run are tried: a
    /// bound `LIKE` pattern (every search and text filter) and a value compared with an
    /// indexed column that `ANALYZE` sampled.
    #[tokio::test]
    async fn sqlite_statements_are_planned_once() {
        use super::{Db, Exec, Sql};
        let file = TempSqlite::new("plan");
        let db = Db::connect(&file.url()).await.unwrap();
        let mut ex = db.clone();
        for sql in [
            "CREATE TABLE t (k TEXT, v TEXT)",
            "CREATE INDEX t_k ON t (k)",
            // Skewed keys, so that the samples say something.
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO t SELECT CASE WHEN i % 10 = 0 THEN 'k' || i ELSE 'common' END, 'v' || i FROM n",
            "ANALYZE",
        ] {
            ex.execute(&Sql::new(sql)).await.unwrap();
        }
        for (name, pool) in sqlite_pools(&db) {
            let mut conn = pool.acquire().await.unwrap();
            for (sql, values) in [
                (
                    "SELECT count(*) FROM t WHERE v LIKE ?1",
                    ["%1%", "%2%", "v3%"],
                ),
                (
                    "SELECT count(*) FROM t WHERE k = ?1",
                    ["common", "k10", "k20"],
                ),
            ] {
                let again = times_prepared_again(&mut conn, sql, &values).await;
                assert_eq!(again, 0, "the {name} prepared {sql:?} again {again} times");
            }
        }
        db.close().await;
    }

    /// The bundled SQLite is built without the process-wide locks readers queued on
    /// (`.cargo/config.toml`): no shared page cache group (`SQLITE_ENABLE_MEMORY_MANAGEMENT`)
    /// and no memory statistics, whose mutex every allocation took.
    #[tokio::test]
    async fn sqlite_is_built_without_process_wide_locks() {
        use libsqlite3_sys as ffi;
        let file = TempSqlite::new("locks");
        let db = super::Db::connect(&file.url()).await.unwrap();
        // SAFETY: both calls only read SQLite's static compile options and counters.
        let (shared_cache, used) = unsafe {
            let shared = ffi::sqlite3_compileoption_used(c"ENABLE_MEMORY_MANAGEMENT".as_ptr());
            let (mut now, mut high) = (0i64, 0i64);
            ffi::sqlite3_status64(ffi::SQLITE_STATUS_MEMORY_USED, &mut now, &mut high, 0);
            (shared, now)
        };
        assert_eq!(
            shared_cache, 0,
            "SQLite shares one page cache group between connections"
        );
        assert_eq!(
            used, 0,
            "SQLite counts its memory, under a lock, at every allocation"
        );
        db.close().await;
    }

    /// SQLite connections are handed out without sqlx's ping, a round trip to the
    /// connection's worker thread before every statement of every request.
    #[tokio::test]
    async fn sqlite_connections_are_handed_out_without_a_ping() {
        use super::Db;
        let file = TempSqlite::new("ping");
        let db = Db::connect(&file.url()).await.unwrap();
        for (name, pool) in sqlite_pools(&db) {
            assert!(
                !pool.options().get_test_before_acquire(),
                "the {name} pool pings each connection it hands out"
            );
        }
        db.close().await;
    }

    /// PostgreSQL sessions run without JIT (when `HAMKOR_TEST_DATABASE_URL` names a
    /// server): compiling a list's first page cost more than running it.
    #[tokio::test]
    async fn postgres_sessions_run_without_jit() {
        use super::{Db, Exec, Sql};
        let Ok(url) = std::env::var("HAMKOR_TEST_DATABASE_URL") else {
            eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL");
            return;
        };
        let db = Db::connect(&url).await.unwrap();
        let mut ex = db.clone();
        let row = ex
            .fetch_optional(&Sql::new("SELECT current_setting('jit') AS jit"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.req_text("jit").unwrap(), "off");
        db.close().await;
    }

    /// Tables and their columns as a migration file declares them.
    fn schema(sql: &str) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in sql.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                current = Some(rest.trim_end_matches(" (").trim().to_string());
                out.insert(current.clone().unwrap_or_default(), Vec::new());
            } else if line.starts_with(")") {
                current = None;
            } else if let Some(rest) = line.strip_prefix("DROP TABLE ") {
                out.remove(rest.trim_end_matches(';').trim());
            } else if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
                let words: Vec<&str> = rest.trim_end_matches(';').split_whitespace().collect();
                match words.as_slice() {
                    [from, "RENAME", "TO", to] => {
                        if let Some(cols) = out.remove(*from) {
                            out.insert(to.to_string(), cols);
                        }
                    }
                    [table, "ADD", "COLUMN", column, ..] => {
                        if let Some(cols) = out.get_mut(*table) {
                            cols.push(column.to_string());
                        }
                    }
                    _ => {}
                }
            } else if let Some(t) = &current {
                let first = line.split_whitespace().next().unwrap_or("");
                let is_column = !first.is_empty()
                    && !["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT", "--"]
                        .contains(&first);
                if let (true, Some(cols)) = (is_column, out.get_mut(t)) {
                    cols.push(first.to_string());
                }
            }
        }
        out
    }

    #[test]
    fn both_migration_sets_define_the_same_tables_and_columns() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut names: Vec<_> = std::fs::read_dir(format!("{dir}/sqlite"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        let mut pg_names: Vec<_> = std::fs::read_dir(format!("{dir}/postgres"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        pg_names.sort();
        assert_eq!(names, pg_names, "each migration exists for both backends");
        let (mut lite, mut pg) = (String::new(), String::new());
        for n in &names {
            lite +=
                &std::fs::read_to_string(format!("{dir}/sqlite/{}", n.to_string_lossy())).unwrap();
            pg += &std::fs::read_to_string(format!("{dir}/postgres/{}", n.to_string_lossy()))
                .unwrap();
        }
        let (a, b) = (schema(&lite), schema(&pg));
        assert!(a.len() >= 10, "parsed the tables: {a:?}");
        assert_eq!(a, b);
    }
}
