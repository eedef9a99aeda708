//! The records a user opened last. Reading them back goes through the records' read
//! scope (see `records::titles`), so a record the user may no longer see drops out.

use crate::StoreError;
use crate::db::{Exec, Sql};
use hamkor_domain::{Id, ObjectType, Timestamp};

/// How many recent items are kept per user.
pub const KEEP: i64 = 20;

/// Notes that `user` opened the record now, and forgets their oldest beyond [`KEEP`].
pub async fn touch(
    tx: &mut impl Exec,
    user: Id,
    object: ObjectType,
    record: Id,
) -> Result<(), StoreError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO recent_items (user_id, object, record_id, viewed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, object, record_id) DO UPDATE SET viewed_at = excluded.viewed_at",
        )
        .arg(user)
        .arg(object.as_str())
        .arg(record)
        .arg(Timestamp::now()),
    )
    .await?;
    tx.execute(
        &Sql::new(
            "DELETE FROM recent_items WHERE user_id = $1 AND viewed_at < (SELECT MIN(viewed_at) FROM \
             (SELECT viewed_at FROM recent_items WHERE user_id = $2 ORDER BY viewed_at DESC LIMIT $3) x)",
        )
        .arg(user)
        .arg(user)
        .arg(KEEP),
    )
    .await?;
    Ok(())
}

/// The user's recent records, newest first.
pub async fn list(ex: &mut impl Exec, user: Id) -> Result<Vec<(ObjectType, Id)>, StoreError> {
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT object, record_id FROM recent_items WHERE user_id = $1 \
                 ORDER BY viewed_at DESC LIMIT $2",
            )
            .arg(user)
            .arg(KEEP),
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        if let Some(o) = ObjectType::parse(&r.req_text("object")?) {
            out.push((o, r.req_id("record_id")?));
        }
    }
    Ok(out)
}
