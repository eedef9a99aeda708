//! Records shared one by one with a user or a team, to read or to edit (migration 0029).
//! Who may see a shared record is decided in [`crate::access::push_record_scope`]; this
//! module keeps the list.

use crate::StoreError;
use crate::access::ShareAccess;
use crate::db::{Exec, Sql};
use hamkor_domain::{Id, ObjectType, Timestamp};
use serde::Serialize;

/// Whom a record is shared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareTarget {
    User(Id),
    Team(Id),
}

/// One share of a record, with the name of whom it is shared with.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub id: Id,
    pub user_id: Option<Id>,
    pub team_id: Option<Id>,
    /// The user's or the team's name.
    pub name: String,
    pub access: &'static str,
    pub created_by: Id,
    pub created_at: Timestamp,
}

/// The shares of one record, users first, then teams, by name.
pub async fn list(
    ex: &mut impl Exec,
    object: ObjectType,
    record_id: Id,
) -> Result<Vec<Share>, StoreError> {
    let q = Sql::new(
        "SELECT s.id, s.user_id, s.team_id, s.access, s.created_by, s.created_at, \
         COALESCE(u.name, tm.name) AS name FROM record_shares s \
         LEFT JOIN users u ON u.id = s.user_id LEFT JOIN teams tm ON tm.id = s.team_id \
         WHERE s.object = $1 AND s.record_id = $2 \
         ORDER BY CASE WHEN s.user_id IS NULL THEN 1 ELSE 0 END, COALESCE(u.name, tm.name), s.id",
    )
    .arg(object.as_str())
    .arg(record_id);
    ex.fetch_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(Share {
                id: r.req_id("id")?,
                user_id: r.id("user_id")?,
                team_id: r.id("team_id")?,
                name: r.text("name")?.unwrap_or_default(),
                access: match ShareAccess::parse(&r.req_text("access")?) {
                    Some(ShareAccess::Edit) => "edit",
                    _ => "read",
                },
                created_by: r.req_id("created_by")?,
                created_at: r.req_ts("created_at")?,
            })
        })
        .collect()
}

/// Shares a record with a user or a team, or changes the access of the share they
/// already have. Returns the share's id.
pub async fn put(
    ex: &mut impl Exec,
    object: ObjectType,
    record_id: Id,
    target: ShareTarget,
    access: ShareAccess,
    by: Id,
) -> Result<Id, StoreError> {
    let (col, who): (&'static str, Id) = match target {
        ShareTarget::User(u) => ("user_id", u),
        ShareTarget::Team(t) => ("team_id", t),
    };
    let mut find = Sql::new("SELECT id FROM record_shares WHERE object = ");
    find.bind(object.as_str())
        .push(" AND record_id = ")
        .bind(record_id)
        .push(" AND ")
        .push_ident(col)
        .push(" = ")
        .bind(who);
    if let Some(r) = ex.fetch_optional(&find).await? {
        let id = r.req_id("id")?;
        ex.execute(
            &Sql::new("UPDATE record_shares SET access = $1 WHERE id = $2")
                .arg(access.as_str())
                .arg(id),
        )
        .await?;
        return Ok(id);
    }
    let id = Id::new();
    let mut q = Sql::new("INSERT INTO record_shares (id, object, record_id, ");
    q.push_ident(col)
        .push(", access, created_by, created_at) VALUES (")
        .bind(id)
        .push(", ")
        .bind(object.as_str())
        .push(", ")
        .bind(record_id)
        .push(", ")
        .bind(who)
        .push(", ")
        .bind(access.as_str())
        .push(", ")
        .bind(by)
        .push(", ")
        .bind(Timestamp::now())
        .push(")");
    ex.execute(&q).await?;
    Ok(id)
}

/// Ends one share of a record. `NotFound` if the record has no such share.
pub async fn remove(
    ex: &mut impl Exec,
    object: ObjectType,
    record_id: Id,
    share: Id,
) -> Result<(), StoreError> {
    let n = ex
        .execute(
            &Sql::new("DELETE FROM record_shares WHERE id = $1 AND object = $2 AND record_id = $3")
                .arg(share)
                .arg(object.as_str())
                .arg(record_id),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
