//! Files attached to records. Callers check the parent record's rights first (see
//! `hamkor_app::attachments`); this module only stores and reads.

use crate::StoreError;
use crate::db::{Arg, Exec, Sql};
use hamkor_domain::{Id, ObjectType, Timestamp};

/// An attachment without its content.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttachmentMeta {
    pub id: Id,
    pub object: ObjectType,
    pub record_id: Id,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: Id,
    pub created_at: Timestamp,
}

const META: &str =
    "id, object, record_id, name, content_type, size, sha256, uploaded_by, created_at";

fn meta(r: &crate::db::Row) -> Result<Option<AttachmentMeta>, StoreError> {
    let Some(object) = ObjectType::parse(&r.req_text("object")?) else {
        return Ok(None);
    };
    Ok(Some(AttachmentMeta {
        id: r.req_id("id")?,
        object,
        record_id: r.req_id("record_id")?,
        name: r.req_text("name")?,
        content_type: r.req_text("content_type")?,
        size: r.req_int("size")?,
        sha256: r.req_text("sha256")?,
        uploaded_by: r.req_id("uploaded_by")?,
        created_at: r.req_ts("created_at")?,
    }))
}

pub async fn insert(
    tx: &mut impl Exec,
    m: &AttachmentMeta,
    data: Vec<u8>,
) -> Result<(), StoreError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO attachments (id, object, record_id, name, content_type, size, sha256, data, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .arg(m.id)
        .arg(m.object.as_str())
        .arg(m.record_id)
        .arg(m.name.clone())
        .arg(m.content_type.clone())
        .arg(m.size)
        .arg(m.sha256.clone())
        .arg(Arg::Bytes(Some(data)))
        .arg(m.uploaded_by)
        .arg(m.created_at),
    )
    .await?;
    Ok(())
}

/// A record's attachments, newest first.
pub async fn for_record(
    ex: &mut impl Exec,
    object: ObjectType,
    record: Id,
) -> Result<Vec<AttachmentMeta>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(META);
    sql.push(" FROM attachments WHERE object = ")
        .bind(object.as_str())
        .push(" AND record_id = ")
        .bind(record)
        .push(" ORDER BY created_at DESC, id DESC LIMIT 500");
    let mut out = Vec::new();
    for r in ex.fetch_all(&sql).await? {
        out.extend(meta(&r)?);
    }
    Ok(out)
}

pub async fn get_meta(ex: &mut impl Exec, id: Id) -> Result<Option<AttachmentMeta>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(META)
        .push(" FROM attachments WHERE id = ")
        .bind(id);
    match ex.fetch_optional(&sql).await? {
        Some(r) => meta(&r),
        None => Ok(None),
    }
}

pub async fn get_data(ex: &mut impl Exec, id: Id) -> Result<Vec<u8>, StoreError> {
    ex.fetch_optional(&Sql::new("SELECT data FROM attachments WHERE id = $1").arg(id))
        .await?
        .and_then(|r| r.bytes("data").transpose())
        .transpose()?
        .ok_or(StoreError::NotFound)
}

pub async fn delete(tx: &mut impl Exec, id: Id) -> Result<(), StoreError> {
    tx.execute(&Sql::new("DELETE FROM attachments WHERE id = $1").arg(id))
        .await?;
    Ok(())
}
