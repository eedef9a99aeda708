//! Saved list views and bulk actions on a selection of records.
//!
//! A bulk action runs record by record, each in its own transaction through the same
//! update and delete paths as a single edit: every record is checked against the user's
//! rights, and the answer says how many were done and which were refused and why.

use crate::{App, AppError, AppResult};
use hamkor_domain::objects::{FieldKind, ObjectDef};
use hamkor_domain::{Action, FieldError, Id, Role, Scope, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::list::ListQuery;
use hamkor_store::records;
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
    /// The first [`REFUSALS_LISTED`] refusals.
    pub refused: Vec<Refusal>,
    /// How many were refused in all.
    pub refused_count: usize,
}

/// A report lists at most this many refusals (a whole list may refuse thousands).
pub const REFUSALS_LISTED: usize = 1000;

/// The records a bulk action applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkTarget {
    /// These records (at most [`BULK_MAX`]).
    Ids(Vec<Id>),
    /// Every record the list with these parameters (filters and `q`) shows the user,
    /// however many.
    Matching(Vec<(String, String)>),
}

impl BulkTarget {
    /// Reads `ids` (a list of ids) or `matching` (an object of list parameters, each a
    /// string or a list of strings for a repeated parameter) from a request body.
    pub fn parse(body: &Value) -> Result<BulkTarget, ValidationErrors> {
        match (body.get("ids"), body.get("matching")) {
            (Some(_), Some(_)) => Err(FieldError::new("matching", "error-bulk-target").into()),
            (Some(ids), None) => {
                let Some(list) = ids.as_array() else {
                    return Err(FieldError::new("ids", "error-type-list").into());
                };
                list.iter()
                    .map(|v| v.as_str().and_then(|s| s.parse().ok()))
                    .collect::<Option<Vec<Id>>>()
                    .map(BulkTarget::Ids)
                    .ok_or_else(|| FieldError::new("ids", "error-id").into())
            }
            (None, Some(Value::Object(m))) => {
                let mut params = Vec::new();
                for (k, v) in m {
                    match v {
                        Value::String(s) => params.push((k.clone(), s.clone())),
                        Value::Array(items) if items.iter().all(Value::is_string) => params.extend(
                            items
                                .iter()
                                .filter_map(Value::as_str)
                                .map(|s| (k.clone(), s.to_string())),
                        ),
                        _ => {
                            return Err(FieldError::new(
                                format!("matching.{k}"),
                                "error-type-text",
                            )
                            .into());
                        }
                    }
                }
                Ok(BulkTarget::Matching(params))
            }
            (None, Some(_)) => Err(FieldError::new("matching", "error-not-object").into()),
            (None, None) => Err(FieldError::new("ids", "error-required").into()),
        }
    }
}

/// The list parameters that choose records (not how a page of them is shown).
fn matching_params(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "limit" | "count" | "sort" | "col"))
        .cloned()
        .collect()
}

/// Bulk actions over a whole list read it in pages of this many.
const BULK_PAGE: u32 = 500;

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
    /// Applies an action to the selected records or to every record matching a list's
    /// filters.
    pub async fn bulk_target(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        target: &BulkTarget,
        action: &BulkAction,
    ) -> AppResult<BulkReport> {
        if actor.scope(def.object, Action::BulkEdit) == Scope::None {
            return Err(AppError::Forbidden);
        }
        match target {
            BulkTarget::Ids(ids) => self.bulk(actor, def, ids, action).await,
            BulkTarget::Matching(params) => self.bulk_matching(actor, def, params, action).await,
        }
    }

    /// How many records the list with these parameters shows the actor (what a bulk
    /// action on "every record matching" would go through).
    pub async fn count_matching(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        params: &[(String, String)],
    ) -> AppResult<i64> {
        if actor.scope(def.object, Action::Read) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let customs = self.custom_fields(def.object).await?;
        let mut q = ListQuery::parse(def, &customs, &matching_params(params))?;
        crate::records::hidden_in_query(actor, def, &q)?;
        q.count = true;
        q.limit = 1;
        let mut db = self.db.clone();
        Ok(records::list(&mut db, actor, def, &q)
            .await?
            .total
            .unwrap_or(0))
    }

    /// Applies an action to every record the list with these parameters shows the actor,
    /// walking it by id in pages (so a record the action moves is met once), each record
    /// through the same path as one edit, with its own rights check and transaction.
    pub async fn bulk_matching(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        params: &[(String, String)],
        action: &BulkAction,
    ) -> AppResult<BulkReport> {
        if actor.scope(def.object, Action::Read) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let customs = self.custom_fields(def.object).await?;
        let mut q = ListQuery::parse(def, &customs, &matching_params(params))?;
        crate::records::hidden_in_query(actor, def, &q)?;
        q.order_by_id();
        q.limit = BULK_PAGE;
        let ctx = self.write_context(def).await?;
        let mut report = BulkReport::default();
        loop {
            let mut db = self.db.clone();
            let page = records::list(&mut db, actor, def, &q).await?;
            for r in &page.items {
                match self.bulk_one(actor, def, r.id, action, &ctx).await {
                    Ok(()) => report.done += 1,
                    Err(e) => {
                        report.refused_count += 1;
                        if report.refused.len() < REFUSALS_LISTED {
                            report.refused.push(refusal(r.id, e));
                        }
                    }
                }
            }
            match page.next_cursor {
                Some(c) if q.continue_after(&c) => {}
                _ => break,
            }
        }
        Ok(report)
    }

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
            report.refused_count = report.refused.len();
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
        // Bulk editing is a right of its own, over the records it reaches by their owner
        // (or shared with the actor to edit).
        let record = self.get_record(actor, def, id).await?;
        if !record.allows_by_owner(actor, Action::BulkEdit)
            && record.share != Some(hamkor_store::access::ShareAccess::Edit)
        {
            return Err(AppError::Forbidden);
        }
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
