//! Custom field definitions (I2). Only administrators change them (checked by the caller
//! in the app layer, which holds the actor); everyone reads them to validate and render.

use crate::StoreError;
use crate::db::{Arg, Exec, Sql};
use hamkor_domain::custom::{CustomFieldDef, CustomKind};
use hamkor_domain::{Id, ObjectType, Timestamp};
use serde_json::Value;

fn from_row(r: &crate::Row) -> Result<CustomFieldDef, StoreError> {
    let object = r.req_text("object")?;
    let kind = r.req_text("kind")?;
    Ok(CustomFieldDef {
        id: r.req_id("id")?,
        object: ObjectType::parse(&object)
            .ok_or_else(|| StoreError::Decode(format!("object {object}")))?,
        key: r.req_text("key")?,
        label: r.req_text("label")?,
        kind: CustomKind::parse(&kind).ok_or_else(|| StoreError::Decode(format!("kind {kind}")))?,
        required: r.bool("required")?,
        options: r
            .json("options")?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        link_object: r.text("link_object")?.and_then(|s| ObjectType::parse(&s)),
        position: r.int("position")?.unwrap_or(0),
        key_date: r.bool("key_date")?,
    })
}

/// The custom fields of an object type, in display order.
pub async fn list(
    ex: &mut impl Exec,
    object: ObjectType,
) -> Result<Vec<CustomFieldDef>, StoreError> {
    let q = Sql::new("SELECT * FROM custom_fields WHERE object = $1 ORDER BY position, created_at")
        .arg(object.as_str());
    ex.fetch_all(&q).await?.iter().map(from_row).collect()
}

pub async fn insert(ex: &mut impl Exec, def: &CustomFieldDef) -> Result<(), StoreError> {
    let q = Sql::new(
        "INSERT INTO custom_fields (id, object, key, label, kind, required, options, link_object, position, created_at, key_date) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .arg(def.id)
    .arg(def.object.as_str())
    .arg(def.key.clone())
    .arg(def.label.clone())
    .arg(def.kind.as_str())
    .arg(def.required)
    .arg(Arg::Json(Some(Value::from(def.options.clone()))))
    .arg(def.link_object.map(|o| o.as_str().to_string()))
    .arg(def.position)
    .arg(Timestamp::now())
    .arg(def.key_date);
    ex.execute(&q).await?;
    Ok(())
}

/// Deletes a definition and, in the same transaction, its values from every record of
/// the object (bumping their version), so a later field with the same key starts empty.
pub async fn delete(ex: &mut impl Exec, id: Id) -> Result<bool, StoreError> {
    let Some(row) = ex
        .fetch_optional(&Sql::new("SELECT object, key FROM custom_fields WHERE id = $1").arg(id))
        .await?
    else {
        return Ok(false);
    };
    let object = row.req_text("object")?;
    let key = row.req_text("key")?;
    let Some(def) = ObjectType::parse(&object).map(hamkor_domain::objects::ObjectDef::get) else {
        return Err(StoreError::Decode(format!("object {object}")));
    };
    ex.execute(&Sql::new("DELETE FROM custom_fields WHERE id = $1").arg(id))
        .await?;
    let b = ex.backend();
    let mut sql = Sql::new("UPDATE ");
    sql.push_ident(def.plural)
        .push(" SET version = version + 1, updated_at = ")
        .bind(Timestamp::now());
    crate::dialect::push_custom_remove(&mut sql, b, &key);
    ex.execute(&sql).await?;
    Ok(true)
}
