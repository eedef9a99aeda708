//! The audit trail (I3): every create, change, delete and restore of a record, with who,
//! when, and each field's value before and after. Written in the same transaction as the
//! change it describes, so the two cannot disagree.

use crate::StoreError;
use crate::db::{Exec, Sql};
use hamkor_domain::{Id, ObjectType, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value};

/// One entry of a record's history.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: Id,
    pub action: String,
    pub user_id: Option<Id>,
    pub user_name: Option<String>,
    pub at: Timestamp,
    /// `{field: [before, after]}`.
    pub changes: Value,
}

/// Records one change. `changes` maps each field to `[before, after]`.
pub async fn record(
    ex: &mut impl Exec,
    object: ObjectType,
    record_id: Id,
    action: &str,
    user_id: Option<Id>,
    changes: Map<String, Value>,
) -> Result<(), StoreError> {
    let q = Sql::new("INSERT INTO audit_log (id, object, record_id, action, user_id, at, changes) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .arg(Id::new())
        .arg(object.as_str())
        .arg(record_id)
        .arg(action)
        .arg(user_id)
        .arg(Timestamp::now())
        .arg(crate::Arg::Json(Some(Value::Object(changes))));
    ex.execute(&q).await?;
    Ok(())
}

/// A record's history, newest first. The caller must already have checked that the
/// actor may read the record (the records module does this in `history`).
pub(crate) async fn for_record(
    ex: &mut impl Exec,
    object: ObjectType,
    record_id: Id,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let q = Sql::new(
        "SELECT a.id, a.action, a.user_id, u.name AS user_name, a.at, a.changes FROM audit_log a \
         LEFT JOIN users u ON u.id = a.user_id WHERE a.object = $1 AND a.record_id = $2 ORDER BY a.at DESC, a.id DESC LIMIT $3",
    )
    .arg(object.as_str())
    .arg(record_id)
    .arg(limit);
    ex.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.req_id("id")?,
                action: r.req_text("action")?,
                user_id: r.id("user_id")?,
                user_name: r.text("user_name")?,
                at: r.req_ts("at")?,
                changes: r.json("changes")?.unwrap_or(Value::Null),
            })
        })
        .collect()
}
