//! Saved list views. A view's parameters are the list's own query parameters, checked
//! against the list's whitelist when saved and again whenever the list runs.

use crate::StoreError;
use crate::db::{Exec, Sql};
use hamkor_domain::{Id, ObjectType, Timestamp};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SavedView {
    pub id: Id,
    pub user_id: Id,
    pub object: ObjectType,
    pub name: String,
    pub params: Vec<(String, String)>,
    pub shared: bool,
}

fn from_row(r: &crate::db::Row) -> Result<Option<SavedView>, StoreError> {
    let Some(object) = ObjectType::parse(&r.req_text("object")?) else {
        return Ok(None);
    };
    Ok(Some(SavedView {
        id: r.req_id("id")?,
        user_id: r.req_id("user_id")?,
        object,
        name: r.req_text("name")?,
        params: serde_json::from_str(&r.req_text("params")?).unwrap_or_default(),
        shared: r.bool("shared")?,
    }))
}

/// The views a user sees for an object: their own and everyone's shared ones, by name.
pub async fn list(
    ex: &mut impl Exec,
    user: Id,
    object: ObjectType,
) -> Result<Vec<SavedView>, StoreError> {
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT id, user_id, object, name, params, shared FROM saved_views \
                 WHERE object = $1 AND (user_id = $2 OR shared = $3) ORDER BY name, id",
            )
            .arg(object.as_str())
            .arg(user)
            .arg(true),
        )
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        out.extend(from_row(r)?);
    }
    Ok(out)
}

pub async fn get(ex: &mut impl Exec, id: Id) -> Result<Option<SavedView>, StoreError> {
    let row = ex
        .fetch_optional(
            &Sql::new(
                "SELECT id, user_id, object, name, params, shared FROM saved_views WHERE id = $1",
            )
            .arg(id),
        )
        .await?;
    match row {
        Some(r) => from_row(&r),
        None => Ok(None),
    }
}

pub async fn insert(ex: &mut impl Exec, v: &SavedView) -> Result<(), StoreError> {
    let params = serde_json::to_string(&v.params).map_err(|e| StoreError::Decode(e.to_string()))?;
    ex.execute(
        &Sql::new(
            "INSERT INTO saved_views (id, user_id, object, name, params, shared, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .arg(v.id)
        .arg(v.user_id)
        .arg(v.object.as_str())
        .arg(v.name.clone())
        .arg(params)
        .arg(v.shared)
        .arg(Timestamp::now()),
    )
    .await?;
    Ok(())
}

pub async fn delete(ex: &mut impl Exec, id: Id) -> Result<(), StoreError> {
    ex.execute(&Sql::new("DELETE FROM saved_views WHERE id = $1").arg(id))
        .await?;
    Ok(())
}
