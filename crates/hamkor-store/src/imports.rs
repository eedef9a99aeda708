//! Imports: the file in chunks, the job's state and progress, what each batch wrote (so a
//! whole import can be undone), the rejected rows, and saved column mappings. The rules
//! (who may see which import, what a row becomes) are hamkor-app's.

use crate::StoreError;
use crate::db::{Arg, Exec, Row, Sql};
use hamkor_domain::{Id, Timestamp};
use serde_json::Value;

/// An import as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub id: Id,
    pub object: String,
    pub file_name: String,
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheets: Vec<String>,
    pub size: i64,
    pub settings: Value,
    /// `uploaded`, `checking`, `checked`, `running`, `done`, `cancelled`, `failed`,
    /// `undoing`, `undone`.
    pub status: String,
    pub total_rows: Option<i64>,
    /// Data rows handled so far (the next to handle, counting from 0).
    pub next_row: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub rejected: i64,
    pub report: Value,
    pub error: Option<String>,
    pub cancel: bool,
    pub owner_id: Id,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, object, file_name, format, encoding, delimiter, sheets, size, settings, status, total_rows, next_row, created, updated, skipped, rejected, report, error, cancel, owner_id, created_at, updated_at, started_at, finished_at";

fn from_row(r: &Row) -> Result<Import, StoreError> {
    Ok(Import {
        id: r.req_id("id")?,
        object: r.req_text("object")?,
        file_name: r.req_text("file_name")?,
        format: r.req_text("format")?,
        encoding: r.text("encoding")?,
        delimiter: r.text("delimiter")?,
        sheets: r
            .json("sheets")?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        size: r.req_int("size")?,
        settings: r.json("settings")?.unwrap_or(Value::Null),
        status: r.req_text("status")?,
        total_rows: r.int("total_rows")?,
        next_row: r.req_int("next_row")?,
        created: r.req_int("created")?,
        updated: r.req_int("updated")?,
        skipped: r.req_int("skipped")?,
        rejected: r.req_int("rejected")?,
        report: r.json("report")?.unwrap_or(Value::Null),
        error: r.text("error")?,
        cancel: r.req_int("cancel")? != 0,
        owner_id: r.req_id("owner_id")?,
        created_at: r.req_ts("created_at")?,
        updated_at: r.req_ts("updated_at")?,
        started_at: r.ts("started_at")?,
        finished_at: r.ts("finished_at")?,
    })
}

pub struct NewImport<'a> {
    pub id: Id,
    pub object: &'a str,
    pub file_name: &'a str,
    pub format: &'a str,
    pub encoding: Option<&'a str>,
    pub delimiter: Option<String>,
    pub sheets: &'a [String],
    pub size: i64,
    pub owner_id: Id,
}

pub async fn insert(ex: &mut impl Exec, n: &NewImport<'_>) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let q = Sql::new("INSERT INTO imports (id, object, file_name, format, encoding, delimiter, sheets, size, status, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'uploaded', $9, $10, $10)")
        .arg(n.id)
        .arg(n.object)
        .arg(n.file_name)
        .arg(n.format)
        .arg(Arg::Text(n.encoding.map(str::to_string)))
        .arg(Arg::Text(n.delimiter.clone()))
        .arg(Arg::Json(Some(serde_json::json!(n.sheets))))
        .arg(n.size)
        .arg(n.owner_id)
        .arg(now);
    ex.execute(&q).await?;
    Ok(())
}

pub async fn add_chunk(
    ex: &mut impl Exec,
    id: Id,
    seq: i64,
    data: Vec<u8>,
) -> Result<(), StoreError> {
    let q = Sql::new("INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)")
        .arg(id)
        .arg(seq)
        .arg(Arg::Bytes(Some(data)));
    ex.execute(&q).await?;
    Ok(())
}

/// One chunk of the file, `None` past its end.
pub async fn chunk(ex: &mut impl Exec, id: Id, seq: i64) -> Result<Option<Vec<u8>>, StoreError> {
    let q = Sql::new("SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2")
        .arg(id)
        .arg(seq);
    match ex.fetch_optional(&q).await? {
        Some(r) => Ok(r.bytes("data")?),
        None => Ok(None),
    }
}

pub async fn delete_chunks(ex: &mut impl Exec, id: Id) -> Result<(), StoreError> {
    ex.execute(&Sql::new("DELETE FROM import_chunks WHERE import_id = $1").arg(id))
        .await?;
    Ok(())
}

pub async fn get(ex: &mut impl Exec, id: Id) -> Result<Option<Import>, StoreError> {
    let mut q = Sql::new("SELECT ");
    q.push(COLUMNS).push(" FROM imports WHERE id = ").bind(id);
    ex.fetch_optional(&q)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The newest imports, of one user or (`None`) of everyone.
pub async fn list(
    ex: &mut impl Exec,
    owner: Option<Id>,
    limit: i64,
) -> Result<Vec<Import>, StoreError> {
    let mut q = Sql::new("SELECT ");
    q.push(COLUMNS).push(" FROM imports");
    if let Some(o) = owner {
        q.push(" WHERE owner_id = ").bind(o);
    }
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .bind(limit);
    ex.fetch_all(&q).await?.iter().map(from_row).collect()
}

/// Saves the choices and a new status, clearing the previous run's counts (a new check or
/// run starts from the first row).
pub async fn start(
    ex: &mut impl Exec,
    id: Id,
    settings: &Value,
    status: &str,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let q = Sql::new("UPDATE imports SET settings = $1, status = $2, next_row = 0, created = 0, updated = 0, skipped = 0, rejected = 0, report = $3, error = NULL, cancel = 0, lease_until = NULL, started_at = $4, finished_at = NULL, updated_at = $4 WHERE id = $5")
        .arg(Arg::Json(Some(settings.clone())))
        .arg(status)
        .arg(Arg::Json(Some(serde_json::json!({}))))
        .arg(now)
        .arg(id);
    ex.execute(&q).await?;
    ex.execute(&Sql::new("DELETE FROM import_rejects WHERE import_id = $1").arg(id))
        .await?;
    Ok(())
}

/// Sets a stopped job going again from where it stopped (its progress kept).
pub async fn resume(ex: &mut impl Exec, id: Id, status: &str) -> Result<(), StoreError> {
    let q = Sql::new("UPDATE imports SET status = $1, cancel = 0, error = NULL, lease_until = NULL, lease_owner = NULL, finished_at = NULL, updated_at = $2 WHERE id = $3")
        .arg(status)
        .arg(Timestamp::now())
        .arg(id);
    ex.execute(&q).await?;
    Ok(())
}

/// Takes the job for `owner` (one run of one server) until `until`, if nobody holds it.
pub async fn claim(
    ex: &mut impl Exec,
    id: Id,
    until: Timestamp,
    owner: &str,
) -> Result<bool, StoreError> {
    let now = Timestamp::now();
    let q = Sql::new("UPDATE imports SET lease_until = $1, lease_owner = $2 WHERE id = $3 AND status IN ('checking', 'running', 'undoing') AND (lease_until IS NULL OR lease_until < $4)")
        .arg(until)
        .arg(owner)
        .arg(id)
        .arg(now);
    Ok(ex.execute(&q).await? == 1)
}

/// Extends `owner`'s hold on the job; false when it has lost it.
pub async fn renew(
    ex: &mut impl Exec,
    id: Id,
    until: Timestamp,
    owner: &str,
) -> Result<bool, StoreError> {
    let q = Sql::new("UPDATE imports SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND status IN ('checking', 'running', 'undoing')")
        .arg(until)
        .arg(id)
        .arg(owner);
    Ok(ex.execute(&q).await? == 1)
}

/// Jobs that should be running and that no server holds.
pub async fn orphans(ex: &mut impl Exec) -> Result<Vec<Id>, StoreError> {
    let q = Sql::new("SELECT id FROM imports WHERE status IN ('checking', 'running', 'undoing') AND (lease_until IS NULL OR lease_until < $1) ORDER BY created_at")
        .arg(Timestamp::now());
    ex.fetch_all(&q)
        .await?
        .iter()
        .map(|r| r.req_id("id"))
        .collect()
}

/// Progress after a batch, in the batch's transaction, with the lease renewed.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub next_row: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub rejected: i64,
    pub report: Value,
}

/// Writes the progress if `owner` still holds the job (false otherwise: the caller rolls
/// its batch back, as another run has the job).
pub async fn progress(
    ex: &mut impl Exec,
    id: Id,
    p: &Progress,
    lease: Timestamp,
    owner: &str,
) -> Result<bool, StoreError> {
    let q = Sql::new("UPDATE imports SET next_row = $1, created = $2, updated = $3, skipped = $4, rejected = $5, report = $6, lease_until = $7, updated_at = $8 WHERE id = $9 AND lease_owner = $10")
        .arg(p.next_row)
        .arg(p.created)
        .arg(p.updated)
        .arg(p.skipped)
        .arg(p.rejected)
        .arg(Arg::Json(Some(p.report.clone())))
        .arg(lease)
        .arg(Timestamp::now())
        .arg(id)
        .arg(owner);
    Ok(ex.execute(&q).await? == 1)
}

/// Ends a job that `owner` holds: its status, the rows in the file, and an error if it
/// failed. `false` (nothing written) when another run holds the job now: a run that lost
/// its claim must not end, or fail, the job another server is running.
pub async fn finish(
    ex: &mut impl Exec,
    id: Id,
    status: &str,
    total_rows: Option<i64>,
    error: Option<&str>,
    owner: &str,
) -> Result<bool, StoreError> {
    let now = Timestamp::now();
    let q = Sql::new("UPDATE imports SET status = $1, total_rows = COALESCE($2, total_rows), error = $3, lease_until = NULL, lease_owner = NULL, finished_at = $4, updated_at = $4 WHERE id = $5 AND lease_owner = $6")
        .arg(status)
        .arg(Arg::Int(total_rows))
        .arg(Arg::Text(error.map(str::to_string)))
        .arg(now)
        .arg(id)
        .arg(owner);
    Ok(ex.execute(&q).await? == 1)
}

pub async fn set_status(ex: &mut impl Exec, id: Id, status: &str) -> Result<(), StoreError> {
    let q = Sql::new(
        "UPDATE imports SET status = $1, lease_until = NULL, updated_at = $2 WHERE id = $3",
    )
    .arg(status)
    .arg(Timestamp::now())
    .arg(id);
    ex.execute(&q).await?;
    Ok(())
}

pub async fn request_cancel(ex: &mut impl Exec, id: Id) -> Result<(), StoreError> {
    ex.execute(&Sql::new("UPDATE imports SET cancel = 1 WHERE id = $1").arg(id))
        .await?;
    Ok(())
}

pub async fn cancel_requested(ex: &mut impl Exec, id: Id) -> Result<bool, StoreError> {
    let q = Sql::new("SELECT cancel FROM imports WHERE id = $1").arg(id);
    Ok(match ex.fetch_optional(&q).await? {
        Some(r) => r.req_int("cancel")? != 0,
        None => true,
    })
}

/// What one batch wrote: the ids it created and, for each record it changed, the values
/// before (`[{"object", "id", "before": {...}}]`).
pub async fn add_batch(
    ex: &mut impl Exec,
    id: Id,
    first_row: i64,
    created: Value,
    updated: Value,
) -> Result<(), StoreError> {
    let q = Sql::new("INSERT INTO import_batches (import_id, first_row, created, updated) VALUES ($1, $2, $3, $4)")
        .arg(id)
        .arg(first_row)
        .arg(Arg::Json(Some(created)))
        .arg(Arg::Json(Some(updated)));
    ex.execute(&q).await?;
    Ok(())
}

/// The batches of an import from the last back, as `(first_row, created, updated)`.
pub async fn batches(ex: &mut impl Exec, id: Id) -> Result<Vec<(i64, Value, Value)>, StoreError> {
    let q = Sql::new("SELECT first_row, created, updated FROM import_batches WHERE import_id = $1 ORDER BY first_row DESC").arg(id);
    ex.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.req_int("first_row")?,
                r.json("created")?.unwrap_or(Value::Null),
                r.json("updated")?.unwrap_or(Value::Null),
            ))
        })
        .collect()
}

pub async fn delete_batch(ex: &mut impl Exec, id: Id, first_row: i64) -> Result<(), StoreError> {
    let q = Sql::new("DELETE FROM import_batches WHERE import_id = $1 AND first_row = $2")
        .arg(id)
        .arg(first_row);
    ex.execute(&q).await?;
    Ok(())
}

/// Rejected rows: the row's number in the file, its cells and why.
pub async fn add_rejects(
    ex: &mut impl Exec,
    id: Id,
    rows: &[(i64, Value, Value)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(200) {
        let mut q =
            Sql::new("INSERT INTO import_rejects (import_id, row_no, cells, errors) VALUES ");
        for (i, (row, cells, errors)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" })
                .bind(id)
                .push(", ")
                .bind(*row)
                .push(", ")
                .bind(Arg::Json(Some(cells.clone())))
                .push(", ")
                .bind(Arg::Json(Some(errors.clone())))
                .push(")");
        }
        ex.execute(&q).await?;
    }
    Ok(())
}

/// Rejected rows after `after`, in file order.
pub async fn rejects(
    ex: &mut impl Exec,
    id: Id,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Value, Value)>, StoreError> {
    let q = Sql::new("SELECT row_no, cells, errors FROM import_rejects WHERE import_id = $1 AND row_no > $2 ORDER BY row_no LIMIT $3")
        .arg(id)
        .arg(after)
        .arg(limit);
    ex.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.req_int("row_no")?,
                r.json("cells")?.unwrap_or(Value::Null),
                r.json("errors")?.unwrap_or(Value::Null),
            ))
        })
        .collect()
}

/// A saved mapping: for a header (as written in the file), the field it fills.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Mapping {
    pub id: Id,
    pub object: String,
    pub name: String,
    pub columns: Value,
    pub owner_id: Id,
}

pub async fn save_mapping(ex: &mut impl Exec, m: &Mapping) -> Result<(), StoreError> {
    let q = Sql::new("INSERT INTO import_mappings (id, object, name, columns, owner_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (object, name) DO UPDATE SET columns = excluded.columns, owner_id = excluded.owner_id")
        .arg(m.id)
        .arg(m.object.as_str())
        .arg(m.name.as_str())
        .arg(Arg::Json(Some(m.columns.clone())))
        .arg(m.owner_id)
        .arg(Timestamp::now());
    ex.execute(&q).await?;
    Ok(())
}

pub async fn mappings(ex: &mut impl Exec, object: &str) -> Result<Vec<Mapping>, StoreError> {
    let q = Sql::new("SELECT id, object, name, columns, owner_id FROM import_mappings WHERE object = $1 ORDER BY name").arg(object);
    ex.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(Mapping {
                id: r.req_id("id")?,
                object: r.req_text("object")?,
                name: r.req_text("name")?,
                columns: r.json("columns")?.unwrap_or(Value::Null),
                owner_id: r.req_id("owner_id")?,
            })
        })
        .collect()
}
