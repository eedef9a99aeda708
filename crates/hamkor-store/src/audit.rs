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

/// Who caused an audit entry: the user (none for the system) and, for a request, where it
/// came from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Who<'a> {
    pub user_id: Option<Id>,
    pub origin: Option<&'a Origin>,
}

impl<'a> From<&'a crate::access::Actor> for Who<'a> {
    fn from(a: &'a crate::access::Actor) -> Self {
        Who {
            user_id: Some(a.user_id),
            origin: Some(&a.origin),
        }
    }
}

impl From<Option<Id>> for Who<'_> {
    fn from(user_id: Option<Id>) -> Self {
        Who {
            user_id,
            origin: None,
        }
    }
}

/// Records one change. `changes` maps each field to `[before, after]`. `who` is an
/// [`Actor`](crate::access::Actor) (its user and the request's address and user agent) or
/// just a user id.
pub async fn record<'a>(
    ex: &mut impl Exec,
    object: ObjectType,
    record_id: Id,
    action: &str,
    who: impl Into<Who<'a>>,
    changes: Map<String, Value>,
) -> Result<(), StoreError> {
    let who = who.into();
    let origin = who.origin.cloned().unwrap_or_default();
    insert(
        ex,
        object.as_str(),
        Some(record_id),
        action,
        who.user_id,
        &origin,
        changes,
    )
    .await
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

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client's address (the peer, or the one a trusted proxy reported).
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to 300 characters.
    pub user_agent: Option<String>,
}

/// Records a security event about a user account (`object` `user`): a login, a failed
/// login, a logout, a password change or reset, a 2FA change. `actor` is who did it (none
/// for a failed login), `subject` the account concerned (none for an e-mail that is no
/// account). Never pass secrets in `details`.
pub async fn security(
    ex: &mut impl Exec,
    action: &str,
    actor: Option<Id>,
    subject: Option<Id>,
    origin: &Origin,
    details: Map<String, Value>,
) -> Result<(), StoreError> {
    event(ex, "user", action, actor, subject, origin, details).await
}

/// Records an administrator's or a system event about something other than a record:
/// `object` `user` (account security), `role` (rights and field rules), `team` (the team
/// tree), `request` (a refused request). Never pass secrets in `details`.
pub async fn event(
    ex: &mut impl Exec,
    object: &'static str,
    action: &str,
    actor: Option<Id>,
    subject: Option<Id>,
    origin: &Origin,
    details: Map<String, Value>,
) -> Result<(), StoreError> {
    insert(ex, object, subject, action, actor, origin, details).await
}

async fn insert(
    ex: &mut impl Exec,
    object: &str,
    subject: Option<Id>,
    action: &str,
    actor: Option<Id>,
    origin: &Origin,
    details: Map<String, Value>,
) -> Result<(), StoreError> {
    let q = Sql::new(
        "INSERT INTO audit_log (id, object, record_id, action, user_id, at, changes, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .arg(Id::new())
    .arg(object.to_string())
    .arg(subject)
    .arg(action)
    .arg(actor)
    .arg(Timestamp::now())
    .arg(crate::Arg::Json(Some(Value::Object(details))))
    .arg(origin.ip.clone())
    .arg(
        origin
            .user_agent
            .as_ref()
            .map(|u| u.chars().take(300).collect::<String>()),
    );
    ex.execute(&q).await?;
    Ok(())
}

/// What an administrator looks for in the whole audit log. Every part is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Who acted.
    pub user_id: Option<Id>,
    pub action: Option<String>,
    /// The object type (`account`, `contact`, …, `user` for account security events).
    pub object: Option<String>,
    pub record_id: Option<Id>,
    /// From this moment on (inclusive).
    pub from: Option<Timestamp>,
    /// Before this moment.
    pub to: Option<Timestamp>,
    /// Entries older than this one (keyset pagination: its `at` and `id`).
    pub before: Option<(Timestamp, Id)>,
}

/// One entry of the whole audit log, as an administrator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub id: Id,
    pub at: Timestamp,
    pub user_id: Option<Id>,
    pub user_name: Option<String>,
    pub action: String,
    pub object: String,
    pub record_id: Option<Id>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub changes: Value,
}

/// The audit log, newest first, filtered; at most `limit` entries. For administrators
/// only: the caller checks that.
pub async fn search(
    ex: &mut impl Exec,
    f: &AuditFilter,
    limit: i64,
) -> Result<Vec<LogEntry>, StoreError> {
    let mut q = Sql::new(
        "SELECT a.id, a.at, a.user_id, u.name AS user_name, a.action, a.object, a.record_id, a.ip, \
         a.user_agent, a.changes FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE 1 = 1",
    );
    if let Some(u) = f.user_id {
        q.push(" AND a.user_id = ").bind(u);
    }
    if let Some(a) = &f.action {
        q.push(" AND a.action = ").bind(a.clone());
    }
    if let Some(o) = &f.object {
        q.push(" AND a.object = ").bind(o.clone());
    }
    if let Some(r) = f.record_id {
        q.push(" AND a.record_id = ").bind(r);
    }
    if let Some(t) = f.from {
        q.push(" AND a.at >= ").bind(t);
    }
    if let Some(t) = f.to {
        q.push(" AND a.at < ").bind(t);
    }
    if let Some((at, id)) = f.before {
        q.push(" AND (a.at < ")
            .bind(at)
            .push(" OR (a.at = ")
            .bind(at)
            .push(" AND a.id < ")
            .bind(id)
            .push("))");
    }
    q.push(" ORDER BY a.at DESC, a.id DESC LIMIT ").bind(limit);
    ex.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(LogEntry {
                id: r.req_id("id")?,
                at: r.req_ts("at")?,
                user_id: r.id("user_id")?,
                user_name: r.text("user_name")?,
                action: r.req_text("action")?,
                object: r.req_text("object")?,
                record_id: r.id("record_id")?,
                ip: r.text("ip")?,
                user_agent: r.text("user_agent")?,
                changes: r.json("changes")?.unwrap_or(Value::Null),
            })
        })
        .collect()
}
