//! Saved list views and bulk actions on a selection of records.
//!
//! A bulk action runs record by record, each in its own transaction through the same
//! update and delete paths as a single edit: every record is checked against the user's
//! rights, and the answer says how many were done and which were refused and why.

use crate::{App, AppError, AppResult};
use hamkor_domain::objects::{FieldKind, ObjectDef};
use hamkor_domain::{FieldError, Id, Role, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::list::ListQuery;
use hamkor_store::views::{self, SavedView};
use serde_json::{Value, json};

/// At most this many records in one bulk action.
pub const BULK_MAX: usize = 500;

/// List parameters that make up a view (a cursor or a page size is not part of it).
const VIEW_PARAMS_SKIP: &[&str] = &["cursor", "count", "limit"];

/// What to do to each selected record.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    SetOwner(Id),
    AddTag(String),
    RemoveTag(String),
    /// A core field (or `custom.<key>`) and its new value, as the API would take it.
    SetField(String, Value),
    Delete,
}

/// Why one record was not changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Refusal {
    pub id: String,
    /// `not_found`, `forbidden`, `invalid` or `conflict`.
    pub reason: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct BulkReport {
    pub done: usize,
    pub refused: Vec<Refusal>,
}

impl BulkAction {
    /// Reads `{"action": …}` with its argument (`owner_id`, `tag`, `field` and `value`).
    pub fn parse(def: &ObjectDef, body: &Value) -> Result<BulkAction, ValidationErrors> {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
        let action = match text("action") {
            Some("set_owner") => match text("owner_id").and_then(|s| s.parse().ok()) {
                Some(id) => BulkAction::SetOwner(id),
                None => return Err(FieldError::new("owner_id", "error-id").into()),
            },
            Some(a @ ("add_tag" | "remove_tag")) => {
                if def.field("tags").is_none() {
                    return Err(FieldError::new("action", "error-bulk-action").into());
                }
                let tag = text("tag").unwrap_or("").to_string();
                if tag.is_empty() || tag.chars().count() > 50 || tag.chars().any(char::is_control) {
                    return Err(FieldError::new("tag", "error-required").into());
                }
                if a == "add_tag" {
                    BulkAction::AddTag(tag)
                } else {
                    BulkAction::RemoveTag(tag)
                }
            }
            Some("set_field") => {
                let field = text("field").unwrap_or("").to_string();
                let settable = field.starts_with("custom.")
                    || def.field(&field).is_some_and(|f| {
                        !matches!(
                            f.kind,
                            FieldKind::Phones | FieldKind::Emails | FieldKind::Addresses
                        )
                    });
                if !settable {
                    return Err(FieldError::new("field", "error-unknown-field").into());
                }
                BulkAction::SetField(field, body.get("value").cloned().unwrap_or(Value::Null))
            }
            Some("delete") => BulkAction::Delete,
            _ => {
                return Err(FieldError::new("action", "error-choice")
                    .with(
                        "options",
                        "set_owner, add_tag, remove_tag, set_field, delete",
                    )
                    .into());
            }
        };
        Ok(action)
    }
}

fn refusal(id: Id, e: AppError) -> Refusal {
    let (reason, detail) = match e {
        AppError::NotFound => ("not_found", String::new()),
        AppError::Forbidden => ("forbidden", String::new()),
        AppError::Invalid(v) => (
            "invalid",
            v.0.iter()
                .map(|e| format!("{}: {}", e.field, e.key))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        AppError::Stale(_) | AppError::Conflict(_) => ("conflict", String::new()),
        other => ("error", other.to_string()),
    };
    Refusal {
        id: id.to_string(),
        reason,
        detail,
    }
}

/// Heads and administrators may share a view with everyone.
pub fn may_share_views(actor: &Actor) -> bool {
    matches!(actor.role, Role::Administrator | Role::Head)
}

/// A view is deleted by its owner, or, if shared, by an administrator.
pub fn may_delete_view(actor: &Actor, view: &SavedView) -> bool {
    view.user_id == actor.user_id || (view.shared && actor.is_admin())
}

impl App {
    /// Applies an action to each record, reporting what was done and what was refused.
    pub async fn bulk(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        ids: &[Id],
        action: &BulkAction,
    ) -> AppResult<BulkReport> {
        if ids.is_empty() {
            return Err(FieldError::new("ids", "error-required").into());
        }
        if ids.len() > BULK_MAX {
            return Err(FieldError::new("ids", "error-too-many")
                .with("max", BULK_MAX)
                .into());
        }
        let ctx = self.write_context(def).await?;
        let mut report = BulkReport::default();
        let mut seen: Vec<Id> = Vec::new();
        for id in ids {
            if seen.contains(id) {
                continue;
            }
            seen.push(*id);
            match self.bulk_one(actor, def, *id, action, &ctx).await {
                Ok(()) => report.done += 1,
                Err(e) => report.refused.push(refusal(*id, e)),
            }
        }
        Ok(report)
    }

    async fn bulk_one(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
        action: &BulkAction,
        ctx: &crate::records::WriteContext,
    ) -> AppResult<()> {
        let body = match action {
            BulkAction::Delete => return self.delete_record(actor, def, id, None).await,
            BulkAction::SetOwner(owner) => json!({"owner_id": owner.to_string()}),
            BulkAction::SetField(field, value) => match field.strip_prefix("custom.") {
                Some(key) => json!({"custom": {key: value}}),
                None => json!({ field: value }),
            },
            BulkAction::AddTag(tag) | BulkAction::RemoveTag(tag) => {
                let current = self.get_record(actor, def, id).await?;
                let mut tags: Vec<String> = current
                    .fields
                    .get("tags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                let has = tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase());
                match action {
                    BulkAction::AddTag(_) if has => return Ok(()),
                    BulkAction::AddTag(_) => tags.push(tag.clone()),
                    _ if !has => return Ok(()),
                    _ => tags.retain(|t| t.to_lowercase() != tag.to_lowercase()),
                }
                // The version read above: a colleague's edit in between is not overwritten.
                return self
                    .update_record(
                        actor,
                        def,
                        id,
                        &json!({"tags": tags}),
                        Some(current.version),
                    )
                    .await
                    .map(|_| ());
            }
        };
        self.update_record_in(actor, def, id, &body, None, ctx)
            .await
            .map(|_| ())
    }

    /// The views of an object a user sees: their own and the shared ones.
    pub async fn saved_views(&self, actor: &Actor, def: &ObjectDef) -> AppResult<Vec<SavedView>> {
        let mut db = self.db.clone();
        Ok(views::list(&mut db, actor.user_id, def.object).await?)
    }

    /// Saves the current list query as a view. Heads and administrators may share it.
    pub async fn save_view(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        name: &str,
        params: &[(String, String)],
        shared: bool,
    ) -> AppResult<SavedView> {
        let name = name.trim();
        let mut errors = ValidationErrors::default();
        if name.is_empty() {
            errors.push(FieldError::new("name", "error-required"));
        } else if name.chars().count() > 100 {
            errors.push(FieldError::new("name", "error-too-long").with("max", 100));
        }
        if shared && !may_share_views(actor) {
            errors.push(FieldError::new("shared", "error-share-forbidden"));
        }
        let params: Vec<(String, String)> = params
            .iter()
            .filter(|(k, v)| !VIEW_PARAMS_SKIP.contains(&k.as_str()) && !v.is_empty())
            .cloned()
            .collect();
        if params.len() > 60 {
            errors.push(FieldError::new("params", "error-too-many").with("max", 60));
        }
        // The view must make a valid list (columns are the page's own and not checked here).
        let customs = self.custom_fields(def.object).await?;
        let list_params: Vec<(String, String)> =
            params.iter().filter(|(k, _)| k != "col").cloned().collect();
        if let Err(e) = ListQuery::parse(def, &customs, &list_params) {
            errors.0.extend(e.0);
        }
        errors.into_result()?;
        let view = SavedView {
            id: Id::new(),
            user_id: actor.user_id,
            object: def.object,
            name: name.to_string(),
            params,
            shared,
        };
        let mut tx = self.db.begin().await?;
        views::insert(&mut tx, &view).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a view: its owner may, and an administrator. A view the user cannot see is
    /// not found.
    pub async fn delete_view(&self, actor: &Actor, id: Id) -> AppResult<()> {
        let mut tx = self.db.begin().await?;
        let view = views::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        if !may_delete_view(actor, &view) {
            // Someone else's private view does not exist for this user.
            return Err(if view.shared {
                AppError::Forbidden
            } else {
                AppError::NotFound
            });
        }
        views::delete(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
