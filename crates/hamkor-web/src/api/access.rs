//! The team tree (`/api/v1/teams`) and records shared one by one
//! (`/api/v1/{plural}/{id}/shares` for accounts, contacts, deals, leads and documents).

use super::json_body;
use super::records::parse_id;
use crate::AppState;
use crate::auth::{ApiUser, Caller};
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use hamkor_app::AppError;
use hamkor_domain::objects::ObjectDef;
use hamkor_domain::{FieldError, Id, ValidationErrors};
use hamkor_store::access::{ShareAccess, shareable};
use hamkor_store::shares::{Share, ShareTarget};
use hamkor_store::users::Team;
use serde_json::{Value, json};

fn app_err(c: &Caller) -> impl Fn(AppError) -> ApiError + '_ {
    move |e| ApiError::from_app(e, &c.loc)
}

pub fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/api/v1/teams", get(teams).post(create_team))
        .route("/api/v1/teams/{id}", axum::routing::patch(patch_team));
    for def in hamkor_domain::objects::OBJECTS {
        if !shareable(def.object) {
            continue;
        }
        let base = format!("/api/v1/{}/{{id}}/shares", def.plural);
        r = r
            .route(
                &base,
                get(move |s: State<AppState>, u: ApiUser, p: Path<String>| {
                    list_shares(def, s, u, p)
                })
                .post(
                    move |s: State<AppState>,
                          u: ApiUser,
                          p: Path<String>,
                          h: HeaderMap,
                          b: Bytes| add_share(def, s, u, p, h, b),
                ),
            )
            .route(
                &format!("{base}/{{share}}"),
                delete(
                    move |s: State<AppState>, u: ApiUser, p: Path<(String, String)>| {
                        delete_share(def, s, u, p)
                    },
                ),
            );
    }
    r
}

pub fn team_json(t: &Team) -> Value {
    json!({"id": t.id.to_string(), "name": t.name, "parent_id": t.parent_id.map(|p| p.to_string())})
}

fn share_json(s: &Share) -> Value {
    json!({
        "id": s.id.to_string(),
        "user_id": s.user_id.map(|u| u.to_string()),
        "team_id": s.team_id.map(|t| t.to_string()),
        "name": s.name,
        "access": s.access,
        "created_by": s.created_by.to_string(),
        "created_at": s.created_at.to_rfc3339(),
    })
}

/// `GET /api/v1/teams`: every team with the team above it.
async fn teams(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let list = s.app.teams().await.map_err(app_err(&c))?;
    let items: Vec<Value> = list.iter().map(team_json).collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// An optional id field of a JSON body: absent or null is none; anything else must be an
/// id.
fn opt_id(body: &Value, key: &str, errors: &mut ValidationErrors) -> Option<Id> {
    match body.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match s.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new(key.to_string(), "error-id"));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(key.to_string(), "error-id"));
            None
        }
    }
}

/// `{"name", "parent_id"}` of a team; only these keys.
fn team_body(body: &Value) -> Result<(String, Option<Id>), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let Some(obj) = body.as_object() else {
        errors.push(FieldError::new("body", "error-not-object"));
        return Err(errors);
    };
    for k in obj.keys() {
        if k != "name" && k != "parent_id" {
            errors.push(FieldError::new(k.clone(), "error-unknown-field"));
        }
    }
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            errors.push(FieldError::new("name", "error-required"));
            String::new()
        }
    };
    let parent = opt_id(body, "parent_id", &mut errors);
    errors.into_result()?;
    Ok((name, parent))
}

/// `POST /api/v1/teams` `{"name", "parent_id"}` (administrators).
async fn create_team(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(AppError::Forbidden, &c.loc));
    }
    let body = json_body(&headers, &body, &c.loc)?;
    let (name, parent) = team_body(&body).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let t = s
        .app
        .create_team(&c.actor, &name, parent)
        .await
        .map_err(app_err(&c))?;
    Ok((StatusCode::CREATED, axum::Json(team_json(&t))).into_response())
}

/// `PATCH /api/v1/teams/{id}` `{"name", "parent_id"}` (administrators): renames the team
/// and puts it under another (`null`: at the top).
async fn patch_team(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(AppError::Forbidden, &c.loc));
    }
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let teams = s.app.teams().await.map_err(app_err(&c))?;
    let Some(current) = teams.iter().find(|t| t.id == id) else {
        return Err(ApiError::from_app(AppError::NotFound, &c.loc));
    };
    // Keys left out keep their value.
    let mut merged =
        json!({"name": current.name, "parent_id": current.parent_id.map(|p| p.to_string())});
    if let (Some(m), Some(b)) = (merged.as_object_mut(), body.as_object()) {
        for (k, v) in b {
            m.insert(k.clone(), v.clone());
        }
    } else {
        merged = body;
    }
    let (name, parent) = team_body(&merged).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let t = s
        .app
        .update_team(&c.actor, id, &name, parent)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(team_json(&t)).into_response())
}

/// `GET /api/v1/{plural}/{id}/shares`: whom the record is shared with, and whether the
/// caller may change that.
async fn list_shares(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (list, may) = s
        .app
        .record_shares(&c.actor, def, id)
        .await
        .map_err(app_err(&c))?;
    let items: Vec<Value> = list.iter().map(share_json).collect();
    Ok(axum::Json(json!({ "items": items, "may_share": may })).into_response())
}

/// `POST /api/v1/{plural}/{id}/shares` `{"user_id" | "team_id", "access": "read" |
/// "edit"}`: shares the record (or changes the access of an existing share).
async fn add_share(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let mut errors = ValidationErrors::default();
    if let Some(obj) = body.as_object() {
        for k in obj.keys() {
            if !["user_id", "team_id", "access"].contains(&k.as_str()) {
                errors.push(FieldError::new(k.clone(), "error-unknown-field"));
            }
        }
    } else {
        errors.push(FieldError::new("body", "error-not-object"));
    }
    let user = opt_id(&body, "user_id", &mut errors);
    let team = opt_id(&body, "team_id", &mut errors);
    let target = match (user, team) {
        (Some(u), None) => Some(ShareTarget::User(u)),
        (None, Some(t)) => Some(ShareTarget::Team(t)),
        _ => {
            errors.push(FieldError::new("user_id", "error-share-target"));
            None
        }
    };
    let access = match body.get("access").and_then(Value::as_str) {
        None => Some(ShareAccess::Read),
        Some(a) => match ShareAccess::parse(a) {
            Some(a) => Some(a),
            None => {
                errors
                    .push(FieldError::new("access", "error-choice").with("options", "read, edit"));
                None
            }
        },
    };
    if body.get("access").is_some_and(|a| !a.is_string()) {
        errors.push(FieldError::new("access", "error-choice").with("options", "read, edit"));
    }
    errors
        .into_result()
        .map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let (Some(target), Some(access)) = (target, access) else {
        return Err(ApiError::from_app(
            AppError::Internal("share".into()),
            &c.loc,
        ));
    };
    let share = s
        .app
        .share_record(&c.actor, def, id, target, access)
        .await
        .map_err(app_err(&c))?;
    let (list, _) = s
        .app
        .record_shares(&c.actor, def, id)
        .await
        .map_err(app_err(&c))?;
    let one = list
        .iter()
        .find(|x| x.id == share)
        .map(share_json)
        .unwrap_or(Value::Null);
    Ok((StatusCode::CREATED, axum::Json(one)).into_response())
}

/// `DELETE /api/v1/{plural}/{id}/shares/{share}`: ends a share.
async fn delete_share(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path((id, share)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let share = parse_id(&share)?;
    s.app
        .unshare_record(&c.actor, def, id, share)
        .await
        .map_err(app_err(&c))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
