//! Duplicates of accounts and contacts in the database: the blocking keys of every live
//! record (`dup_keys`, kept in step by `records` on each write), the candidates sharing a
//! key with a profile (read through the actor's scope, scored), and the state and result
//! of a full scan (`dup_scans`, `dup_groups`). The scoring itself is
//! `hamkor_domain::dedup`.

use crate::access::Actor;
use crate::db::{Arg, Exec, Sql};
use crate::records::push_read_scope;
use crate::{Backend, StoreError};
use hamkor_domain::dedup::{self, Key, KeyKind, Profile, Reason};
use hamkor_domain::objects::ObjectDef;
use hamkor_domain::{Id, ObjectType, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The columns a profile and a title are made of.
fn profile_columns(object: ObjectType) -> &'static str {
    match object {
        ObjectType::Account => "t.id, t.name, t.legal_name, t.tax_id, t.phones, t.emails",
        _ => "t.id, t.first_name, t.middle_name, t.last_name, t.phones, t.emails",
    }
}

/// The keys of a record's fields (as stored).
pub fn record_keys(def: &ObjectDef, fields: &Map<String, Value>) -> Vec<Key> {
    if !dedup::applies(def.object) {
        return Vec::new();
    }
    Profile::of(def.object, fields, "998").keys()
}

/// Inserts the keys of many records, several rows per statement.
pub(crate) async fn insert_keys(
    tx: &mut impl Exec,
    def: &ObjectDef,
    rows: &[(Id, &[Key])],
    table: &'static str,
) -> Result<(), StoreError> {
    let mut flat: Vec<(Id, &Key)> = rows
        .iter()
        .flat_map(|(id, keys)| keys.iter().map(move |k| (*id, k)))
        .collect();
    // In index order: neighbouring rows of a statement land on the same pages.
    flat.sort_by(|a, b| a.1.key.cmp(&b.1.key).then(a.0.cmp(&b.0)));
    let values: Vec<Vec<Arg>> = flat
        .into_iter()
        .map(|(id, k)| {
            vec![
                Arg::from(def.object.as_str()),
                Arg::from(k.kind.as_str()),
                Arg::from(k.key.clone()),
                Arg::from(id),
            ]
        })
        .collect();
    crate::bulk::insert_rows(
        tx,
        table,
        &["object", "kind", "key", "record_id"],
        &values,
        " ON CONFLICT DO NOTHING",
    )
    .await?;
    Ok(())
}

/// Writes a record's keys.
pub(crate) async fn write_keys(
    tx: &mut impl Exec,
    def: &ObjectDef,
    id: Id,
    fields: &Map<String, Value>,
    rows: crate::records::SideRows,
) -> Result<(), StoreError> {
    if !dedup::applies(def.object) {
        return Ok(());
    }
    if rows == crate::records::SideRows::Replace {
        delete_keys(tx, def, id).await?;
    }
    insert_keys(tx, def, &[(id, &record_keys(def, fields))], "dup_keys").await
}

/// Drops a record's keys (it went to the trash: no longer a candidate).
pub(crate) async fn delete_keys(
    tx: &mut impl Exec,
    def: &ObjectDef,
    id: Id,
) -> Result<(), StoreError> {
    if !dedup::applies(def.object) {
        return Ok(());
    }
    tx.execute(&Sql::new("DELETE FROM dup_keys WHERE record_id = $1").arg(id))
        .await?;
    Ok(())
}

/// A record that may be the same client, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub id: Id,
    pub title: String,
    pub score: u8,
    pub reasons: Vec<Reason>,
}

/// A record's id, title and profile, read for scoring.
#[derive(Debug, Clone)]
pub struct Profiled {
    pub id: Id,
    pub title: String,
    pub profile: Profile,
}

fn profiled(object: ObjectType, r: &crate::Row) -> Result<Profiled, StoreError> {
    let mut fields = Map::new();
    let names: &[&str] = match object {
        ObjectType::Account => &["name", "legal_name", "tax_id"],
        _ => &["first_name", "middle_name", "last_name"],
    };
    for n in names {
        if let Some(v) = r.text(n)? {
            fields.insert((*n).to_string(), Value::String(v));
        }
    }
    for n in ["phones", "emails"] {
        if let Some(v) = r.json(n)? {
            fields.insert(n.to_string(), v);
        }
    }
    let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("");
    let title = match object {
        ObjectType::Account => text("name").to_string(),
        _ => [text("last_name"), text("first_name"), text("middle_name")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    };
    Ok(Profiled {
        id: r.req_id("id")?,
        title,
        profile: Profile::of(object, &fields, "998"),
    })
}

/// The live records among `ids` with their profiles; only those the actor may read when
/// an actor is given (a scan reads them all).
pub async fn profiles(
    ex: &mut impl Exec,
    actor: Option<&Actor>,
    def: &'static ObjectDef,
    ids: &[Id],
) -> Result<Vec<Profiled>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    let per = match ex.backend() {
        Backend::Sqlite => 200,
        Backend::Postgres => 2000,
    };
    for chunk in ids.chunks(per) {
        let mut sql = Sql::new("SELECT ");
        sql.push(profile_columns(def.object))
            .push(" FROM ")
            .push_ident(def.plural)
            .push(" t WHERE t.deleted_at IS NULL AND t.id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(")");
        if let Some(a) = actor {
            push_read_scope(&mut sql, a, def);
        }
        for row in ex.fetch_all(&sql).await? {
            out.push(profiled(def.object, &row)?);
        }
    }
    Ok(out)
}

/// Ids of live records the actor may read that share one of `keys`, at most `limit`.
///
/// A record shares at most one row per key, so `limit` times the number of keys rows hold
/// `limit` distinct records, made distinct here. `SELECT DISTINCT … LIMIT` would let
/// PostgreSQL read the keys in record order to make them unique, filtering the whole table
/// (450 ms at a million contacts, 4.5 ms without it).
async fn sharing(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &'static ObjectDef,
    keys: &[&Key],
    exclude: &[Id],
    limit: i64,
) -> Result<Vec<Id>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT d.record_id FROM dup_keys d JOIN ");
    sql.push_ident(def.plural)
        .push(" t ON t.id = d.record_id WHERE d.object = ")
        .bind(def.object.as_str())
        .push(" AND d.key IN (");
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(k.key.clone());
    }
    sql.push(") AND t.deleted_at IS NULL");
    for id in exclude {
        sql.push(" AND t.id <> ").bind(*id);
    }
    push_read_scope(&mut sql, actor, def);
    sql.push(" LIMIT ").bind(limit * keys.len() as i64);
    let mut seen = std::collections::HashSet::new();
    let mut ids: Vec<Id> = Vec::new();
    for row in ex.fetch_all(&sql).await? {
        let id = row.req_id("record_id")?;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    ids.truncate(limit as usize);
    Ok(ids)
}

/// Records sharing a phone, an e-mail or a tax id that a check reads at most.
const STRONG_CAP: i64 = 100;
/// Records sharing only a name (or its sound) that a check reads at most: a common name
/// is shared by thousands, who all score alike, and the answer lists ten.
const NAME_CAP: i64 = 30;

/// Records the actor may read that may be the same client as `profile` (other than
/// `exclude`), best first, at most `limit`. Records sharing a phone, an e-mail or a tax id
/// are read first, then (up to a cap, as common names are shared by thousands) those
/// sharing a name or its sound; each is scored.
pub async fn candidates(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &'static ObjectDef,
    profile: &Profile,
    exclude: &[Id],
    limit: usize,
) -> Result<Vec<Candidate>, StoreError> {
    if !dedup::applies(def.object) || profile.is_empty() {
        return Ok(Vec::new());
    }
    let keys = profile.keys();
    let strong: Vec<&Key> = keys.iter().filter(|k| !k.kind.is_name()).collect();
    let weak: Vec<&Key> = keys.iter().filter(|k| k.kind.is_name()).collect();
    let mut ids = sharing(ex, actor, def, &strong, exclude, STRONG_CAP).await?;
    let mut skip: Vec<Id> = exclude.to_vec();
    skip.extend(ids.iter().copied());
    ids.extend(sharing(ex, actor, def, &weak, &skip, NAME_CAP).await?);
    let mut out: Vec<Candidate> = profiles(ex, Some(actor), def, &ids)
        .await?
        .into_iter()
        .filter_map(|p| {
            let m = dedup::score(def.object, profile, &p.profile)?;
            Some(Candidate {
                id: p.id,
                title: p.title,
                score: m.score,
                reasons: m.reasons,
            })
        })
        .collect();
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.id.cmp(&b.id)));
    out.truncate(limit);
    Ok(out)
}

/// Recomputes the keys of up to `batch` records after `after` (in id order). Returns the
/// last id seen, or `None` at the end. Used once for records written before the keys
/// existed (see `App::refresh_dup_keys`).
pub async fn backfill_batch(
    tx: &mut impl Exec,
    def: &'static ObjectDef,
    after: Option<Id>,
    batch: i64,
) -> Result<Option<Id>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(profile_columns(def.object))
        .push(", t.deleted_at FROM ")
        .push_ident(def.plural)
        .push(" t");
    if let Some(a) = after {
        sql.push(" WHERE t.id > ").bind(a);
    }
    sql.push(" ORDER BY t.id LIMIT ").bind(batch);
    let rows = tx.fetch_all(&sql).await?;
    let mut keys = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in &rows {
        let p = profiled(def.object, row)?;
        last = Some(p.id);
        if row.ts("deleted_at")?.is_none() {
            keys.push((p.id, p.profile.keys()));
        }
    }
    let keys: Vec<(Id, &[Key])> = keys.iter().map(|(id, k)| (*id, k.as_slice())).collect();
    insert_keys(tx, def, &keys, "dup_keys").await?;
    Ok(if rows.len() as i64 == batch {
        last
    } else {
        None
    })
}

/// Forgets every key of an object (before a backfill).
pub async fn clear_keys(tx: &mut impl Exec, object: ObjectType) -> Result<(), StoreError> {
    tx.execute(&Sql::new("DELETE FROM dup_keys WHERE object = $1").arg(object.as_str()))
        .await?;
    Ok(())
}

/// The blocks of a scan: for each key shared by 2 to `cap` live records, their ids. A
/// larger block (a name thousands share) says nothing and is left out; such records are
/// still compared through their other keys.
pub async fn blocks(
    ex: &mut impl Exec,
    object: ObjectType,
    cap: i64,
) -> Result<Vec<Vec<Id>>, StoreError> {
    // The shared keys first (one pass over the index, in key order), then their records:
    // CROSS JOIN keeps SQLite from scanning every key a second time to join them.
    let sql = Sql::new(
        "SELECT g.key, d.record_id FROM (SELECT key FROM dup_keys WHERE object = $1 \
         GROUP BY key HAVING COUNT(*) > 1 AND COUNT(*) <= $2) g \
         CROSS JOIN dup_keys d WHERE d.object = $1 AND d.key = g.key",
    )
    .arg(object.as_str())
    .arg(cap);
    let mut by_key: std::collections::HashMap<String, Vec<Id>> = std::collections::HashMap::new();
    for r in ex.fetch_all(&sql).await? {
        by_key
            .entry(r.req_text("key")?)
            .or_default()
            .push(r.req_id("record_id")?);
    }
    let mut out: Vec<Vec<Id>> = by_key.into_values().collect();
    out.sort();
    Ok(out)
}

/// How many live records of an object have keys.
pub async fn keyed_records(ex: &mut impl Exec, def: &ObjectDef) -> Result<i64, StoreError> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM ");
    sql.push_ident(def.plural)
        .push(" t WHERE t.deleted_at IS NULL");
    Ok(ex
        .fetch_optional(&sql)
        .await?
        .map(|r| r.req_int("n"))
        .transpose()?
        .unwrap_or(0))
}

/// Two records of a group and why they are thought one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    pub a: Id,
    pub b: Id,
    pub score: u8,
    pub reasons: Vec<Reason>,
}

/// Records a scan found to be one client (linked by pairs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: Id,
    pub score: u8,
    pub record_ids: Vec<Id>,
    pub pairs: Vec<Pair>,
}

/// Where the last scan of an object stands.
#[derive(Debug, Clone, Serialize)]
pub struct ScanState {
    /// `running`, `done`, `failed` or `interrupted` (the server stopped during it).
    pub status: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub started_by: Option<Id>,
    pub records: i64,
    pub pairs: i64,
    pub groups: i64,
    pub error: Option<String>,
}

/// The state of the last scan of an object.
pub async fn scan_state(
    ex: &mut impl Exec,
    object: ObjectType,
) -> Result<Option<ScanState>, StoreError> {
    let row = ex
        .fetch_optional(&Sql::new("SELECT * FROM dup_scans WHERE object = $1").arg(object.as_str()))
        .await?;
    row.map(|r| {
        Ok(ScanState {
            status: r.req_text("status")?,
            started_at: r.req_ts("started_at")?,
            finished_at: r.ts("finished_at")?,
            started_by: r.id("started_by")?,
            records: r.req_int("records")?,
            pairs: r.req_int("pairs")?,
            groups: r.req_int("groups_found")?,
            error: r.text("error")?,
        })
    })
    .transpose()
}

/// Marks a scan started, unless one is already running (then `false`). A scan running
/// for more than an hour is taken to have died with its server.
pub async fn scan_begin(
    tx: &mut impl Exec,
    object: ObjectType,
    user: Id,
) -> Result<bool, StoreError> {
    if let Some(s) = scan_state(tx, object).await?
        && s.status == "running"
        && s.started_at.0 > chrono::Utc::now() - chrono::Duration::hours(1)
    {
        return Ok(false);
    }
    tx.execute(&Sql::new("DELETE FROM dup_scans WHERE object = $1").arg(object.as_str()))
        .await?;
    tx.execute(
        &Sql::new(
            "INSERT INTO dup_scans (object, status, started_at, started_by) VALUES ($1, 'running', $2, $3)",
        )
        .arg(object.as_str())
        .arg(Timestamp::now())
        .arg(user),
    )
    .await?;
    Ok(true)
}

/// Scans left `running` by a server that stopped are marked `interrupted`.
pub async fn scans_interrupted(ex: &mut impl Exec) -> Result<(), StoreError> {
    ex.execute(&Sql::new(
        "UPDATE dup_scans SET status = 'interrupted' WHERE status = 'running'",
    ))
    .await?;
    Ok(())
}

/// Stores a finished scan's groups in place of the last ones.
pub async fn scan_done(
    tx: &mut impl Exec,
    object: ObjectType,
    records: i64,
    pairs: i64,
    groups: &[Group],
) -> Result<(), StoreError> {
    tx.execute(&Sql::new("DELETE FROM dup_groups WHERE object = $1").arg(object.as_str()))
        .await?;
    let per = match tx.backend() {
        Backend::Sqlite => 50,
        Backend::Postgres => 500,
    };
    for chunk in groups.chunks(per) {
        let mut sql =
            Sql::new("INSERT INTO dup_groups (id, object, score, record_ids, pairs) VALUES ");
        for (i, g) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(g.id)
                .push(", ")
                .bind(object.as_str())
                .push(", ")
                .bind(i64::from(g.score))
                .push(", ")
                .bind(Arg::Json(Some(
                    serde_json::to_value(&g.record_ids).unwrap_or_default(),
                )))
                .push(", ")
                .bind(Arg::Json(Some(
                    serde_json::to_value(&g.pairs).unwrap_or_default(),
                )))
                .push(")");
        }
        tx.execute(&sql).await?;
    }
    tx.execute(
        &Sql::new(
            "UPDATE dup_scans SET status = 'done', finished_at = $2, records = $3, pairs = $4, groups_found = $5 WHERE object = $1",
        )
        .arg(object.as_str())
        .arg(Timestamp::now())
        .arg(records)
        .arg(pairs)
        .arg(groups.len() as i64),
    )
    .await?;
    Ok(())
}

/// Records that a scan failed.
pub async fn scan_failed(
    ex: &mut impl Exec,
    object: ObjectType,
    error: &str,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new(
            "UPDATE dup_scans SET status = 'failed', finished_at = $2, error = $3 WHERE object = $1",
        )
        .arg(object.as_str())
        .arg(Timestamp::now())
        .arg(error.to_string()),
    )
    .await?;
    Ok(())
}

/// The groups of the last scan, best first (ids as stored; the caller limits them to
/// what the actor may read).
pub async fn groups(
    ex: &mut impl Exec,
    object: ObjectType,
    limit: i64,
    offset: i64,
) -> Result<Vec<Group>, StoreError> {
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT id, score, record_ids, pairs FROM dup_groups WHERE object = $1 \
                 ORDER BY score DESC, id LIMIT $2 OFFSET $3",
            )
            .arg(object.as_str())
            .arg(limit)
            .arg(offset),
        )
        .await?;
    rows.iter()
        .map(|r| {
            let decode = |e: serde_json::Error| StoreError::Decode(e.to_string());
            Ok(Group {
                id: r.req_id("id")?,
                score: r.req_int("score")?.clamp(0, 100) as u8,
                record_ids: serde_json::from_value(r.json("record_ids")?.unwrap_or_default())
                    .map_err(decode)?,
                pairs: serde_json::from_value(r.json("pairs")?.unwrap_or_default())
                    .map_err(decode)?,
            })
        })
        .collect()
}

/// The kinds of keys, for what a key says.
pub fn key_kind(key: &str) -> Option<KeyKind> {
    KeyKind::of_key(key)
}
