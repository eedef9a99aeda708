//! `/api/v1/users`, `/api/v1/users/me`, `/api/v1/search` and `/api/v1/custom_fields`.

use super::json_body;
use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use hamkor_app::custom_fields::CustomFieldRequest;
use hamkor_app::users::UserRequest;
use hamkor_domain::{FieldError, ObjectType, ValidationErrors};
use hamkor_store::users::User;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/me", get(me).patch(patch_me))
        .route("/api/v1/users/{id}", get(read_user).patch(patch_user))
        .route("/api/v1/search", get(search))
        .route("/api/v1/recent", get(recent))
        .route("/api/v1/views", get(list_views).post(create_view))
        .route("/api/v1/views/{id}", axum::routing::delete(delete_view))
        .route(
            "/api/v1/picklists/{list}",
            get(picklist_values).post(add_picklist_value),
        )
        .route(
            "/api/v1/picklists/{list}/{value}",
            axum::routing::patch(patch_picklist_value),
        )
        .route(
            "/api/v1/custom_fields",
            get(list_custom_fields).post(create_custom_field),
        )
        .route("/api/v1/custom_fields/{id}", delete(delete_custom_field))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/roles", get(list_roles))
        .route("/api/v1/roles/{role}", axum::routing::patch(patch_role))
}

pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id.to_string(), "email": u.email, "name": u.name, "role": u.role.as_str(),
        "team_id": u.team_id.map(|t| t.to_string()), "language": u.language, "time_zone": u.time_zone,
        "disabled": u.disabled, "two_factor": u.two_factor, "login_network": u.login_network,
        "created_at": u.created_at.to_rfc3339(), "updated_at": u.updated_at.to_rfc3339(),
        "version": u.version,
    })
}

async fn me(ApiUser(c): ApiUser) -> Response {
    axum::Json(user_json(&c.user)).into_response()
}

async fn read_user(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::from_app(hamkor_app::AppError::NotFound, &c.loc);
    let id = id.parse().map_err(|_| not_found())?;
    let u = s
        .app
        .user_by_id(id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?
        .ok_or_else(not_found)?;
    Ok(axum::Json(user_json(&u)).into_response())
}

async fn list_users(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let users = s
        .app
        .users()
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(
        json!({"items": users.iter().map(user_json).collect::<Vec<_>>(), "next_cursor": null}),
    )
    .into_response())
}

/// Only the fields listed may be sent; anything else (a role, an id) is refused by name.
fn only_fields(body: &Value, allowed: &[&str]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    match body.as_object() {
        None => errors.push(FieldError::new("", "error-not-object")),
        Some(obj) => {
            for k in obj.keys() {
                if !allowed.contains(&k.as_str()) {
                    let key = if [
                        "id",
                        "role",
                        "email",
                        "team_id",
                        "disabled",
                        "created_at",
                        "updated_at",
                        "version",
                    ]
                    .contains(&k.as_str())
                    {
                        "error-read-only"
                    } else {
                        "error-unknown-field"
                    };
                    errors.push(FieldError::new(k.clone(), key));
                }
            }
        }
    }
    errors.into_result()
}

/// A required `true`/`false` field of a request body.
fn bool_field(body: &Value, k: &'static str, loc: &crate::i18n::Loc) -> Result<bool, ApiError> {
    body.get(k)
        .and_then(Value::as_bool)
        .ok_or_else(|| ApiError::invalid(&FieldError::new(k, "error-type-checkbox").into(), loc))
}

fn str_field(body: &Value, k: &str) -> Result<Option<String>, FieldError> {
    match body.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(FieldError::new(k, "error-type-text")),
    }
}

async fn create_user(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(hamkor_app::AppError::Forbidden, &c.loc));
    }
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(
        &body,
        &["email", "name", "role", "team", "language", "password"],
    )
    .map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let get = |k: &str| str_field(&body, k).map_err(|e| ApiError::invalid(&e.into(), &c.loc));
    let req = UserRequest {
        email: get("email")?.unwrap_or_default(),
        name: get("name")?.unwrap_or_default(),
        role: get("role")?.unwrap_or_default(),
        team: get("team")?,
        language: get("language")?,
        password: get("password")?,
    };
    let u = s
        .app
        .create_user(Some(&c.actor), req)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((
        StatusCode::CREATED,
        [("location", format!("/api/v1/users/{}", u.id))],
        axum::Json(user_json(&u)),
    )
        .into_response())
}

async fn patch_me(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(&body, &["language", "time_zone"]).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let language =
        str_field(&body, "language").map_err(|e| ApiError::invalid(&e.into(), &c.loc))?;
    let tz = str_field(&body, "time_zone").map_err(|e| ApiError::invalid(&e.into(), &c.loc))?;
    s.app
        .set_preferences(c.user.id, language.as_deref(), tz.as_deref())
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let u = s
        .app
        .user_by_id(c.user.id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(u.map(|u| user_json(&u)).unwrap_or(Value::Null)).into_response())
}

async fn search(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = params
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
        .trim()
        .to_string();
    if q.is_empty() {
        return Ok(axum::Json(json!({"items": []})).into_response());
    }
    let results = s
        .app
        .search(&c.actor, &q, 10)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let items: Vec<Value> = results
        .iter()
        .map(|(o, r)| found_json(&c.loc, *o, r))
        .collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// A search result or recent item: what it is, where it lives, what to call it.
pub fn found_json(
    loc: &crate::i18n::Loc,
    o: ObjectType,
    r: &hamkor_store::records::Record,
) -> Value {
    let text = |k: &str| r.fields.get(k).and_then(Value::as_str).unwrap_or("");
    let subtitle = match o {
        ObjectType::Account => text("tax_id").to_string(),
        ObjectType::Contact => r
            .accounts
            .first()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        ObjectType::Interaction => {
            let at = hamkor_domain::Timestamp::parse_rfc3339(text("occurred_at"))
                .map(|t| loc.datetime(&t))
                .unwrap_or_default();
            format!("{} · {at}", loc.t(&format!("choice-{}", text("kind"))))
        }
        ObjectType::Task => {
            let due = hamkor_domain::Timestamp::parse_rfc3339(text("due_at"))
                .map(|t| format!(" · {}", loc.datetime(&t)))
                .unwrap_or_default();
            format!("{}{due}", loc.t(&format!("choice-{}", text("status"))))
        }
        ObjectType::Deal => {
            let amount = text("amount");
            let status = text("status");
            [
                if amount.is_empty() {
                    String::new()
                } else {
                    format!("{amount} {}", text("currency"))
                },
                if status.is_empty() {
                    String::new()
                } else {
                    loc.t(&format!("choice-{status}"))
                },
            ]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
        }
        ObjectType::Document => {
            let status = text("status");
            [
                format!("{} {}", text("total"), text("currency")),
                if status.is_empty() {
                    String::new()
                } else {
                    loc.t(&format!("choice-{status}"))
                },
            ]
            .into_iter()
            .filter(|x| !x.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
        }
        ObjectType::Lead => {
            let status = text("status");
            [
                text("source").to_string(),
                if status.is_empty() {
                    String::new()
                } else {
                    loc.t(&format!("choice-{status}"))
                },
            ]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
        }
        ObjectType::Product => {
            let price = text("price");
            if price.is_empty() {
                String::new()
            } else {
                format!("{price} {}", text("currency"))
            }
        }
        ObjectType::Event => hamkor_domain::Timestamp::parse_rfc3339(text("starts_at"))
            .map(|t| loc.datetime(&t))
            .unwrap_or_default(),
        ObjectType::Need => {
            let status = text("status");
            if status.is_empty() {
                String::new()
            } else {
                loc.t(&format!("choice-{status}"))
            }
        }
    };
    let mut title = r.title();
    if title.is_empty() {
        // An interaction without a subject is known by the start of its text.
        title = text("body").chars().take(60).collect();
    }
    let plural = hamkor_domain::objects::ObjectDef::get(o).plural;
    json!({"type": o.as_str(), "id": r.id.to_string(), "title": title, "subtitle": subtitle,
        "href": format!("/{plural}/{}", r.id)})
}

/// `GET /api/v1/recent`: the records the caller opened last, newest first.
async fn recent(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let items: Vec<Value> = s
        .app
        .recent(&c.actor)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?
        .iter()
        .map(|(o, r)| found_json(&c.loc, *o, r))
        .collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// Splits `a=1&b=2` into decoded pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |x: &str| {
                urlencoding::decode(&x.replace('+', " "))
                    .map(|c| c.into_owned())
                    .unwrap_or_default()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn view_json(v: &hamkor_store::views::SavedView) -> Value {
    let query = v
        .params
        .iter()
        .map(|(k, x)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(x)))
        .collect::<Vec<_>>()
        .join("&");
    let plural = hamkor_domain::objects::ObjectDef::get(v.object).plural;
    json!({"id": v.id.to_string(), "object": v.object.as_str(), "name": v.name, "params": query,
        "shared": v.shared, "owner_id": v.user_id.to_string(), "href": format!("/{plural}?{query}")})
}

async fn list_views(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let object = object_param(&params, &c.loc)?;
    let views = s
        .app
        .saved_views(&c.actor, hamkor_domain::objects::ObjectDef::get(object))
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(
        axum::Json(json!({"items": views.iter().map(view_json).collect::<Vec<_>>()}))
            .into_response(),
    )
}

async fn create_view(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(&body, &["object", "name", "params", "shared"])
        .map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let object = body
        .get("object")
        .and_then(Value::as_str)
        .and_then(ObjectType::parse)
        .ok_or_else(|| {
            ApiError::invalid(&FieldError::new("object", "error-choice").into(), &c.loc)
        })?;
    let name = str_field(&body, "name")
        .map_err(|e| ApiError::invalid(&e.into(), &c.loc))?
        .unwrap_or_default();
    let params = parse_query(body.get("params").and_then(Value::as_str).unwrap_or(""));
    let shared = body.get("shared").and_then(Value::as_bool).unwrap_or(false);
    let view = s
        .app
        .save_view(
            &c.actor,
            hamkor_domain::objects::ObjectDef::get(object),
            &name,
            &params,
            shared,
        )
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((StatusCode::CREATED, axum::Json(view_json(&view))).into_response())
}

async fn delete_view(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id
        .parse::<hamkor_domain::Id>()
        .map_err(|_| ApiError::from_app(hamkor_app::AppError::NotFound, &c.loc))?;
    s.app
        .delete_view(&c.actor, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn picklist_values(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(list): Path<String>,
) -> Result<Response, ApiError> {
    let values = s
        .app
        .picklist(&list)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({ "items": values })).into_response())
}

async fn add_picklist_value(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(list): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(&body, &["value"]).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let value = str_field(&body, "value")
        .map_err(|e| ApiError::invalid(&e.into(), &c.loc))?
        .unwrap_or_default();
    s.app
        .add_picklist_value(&c.actor, &list, &value)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    picklist_values(State(s), ApiUser(c), Path(list))
        .await
        .map(|r| (StatusCode::CREATED, r).into_response())
}

async fn patch_picklist_value(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path((list, value)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(&body, &["active"]).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let active = bool_field(&body, "active", &c.loc)?;
    s.app
        .set_picklist_value_active(&c.actor, &list, &value, active)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    picklist_values(State(s), ApiUser(c), Path(list)).await
}

fn object_param(
    params: &[(String, String)],
    loc: &crate::i18n::Loc,
) -> Result<ObjectType, ApiError> {
    params
        .iter()
        .find(|(k, _)| k == "object")
        .and_then(|(_, v)| ObjectType::parse(v))
        .ok_or_else(|| {
            ApiError::invalid(
                &FieldError::new("object", "error-choice")
                    .with("options", "account, contact, interaction, need")
                    .into(),
                loc,
            )
        })
}

async fn list_custom_fields(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let object = object_param(&params, &c.loc)?;
    let defs = s
        .app
        .custom_fields(object)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({"items": defs, "next_cursor": null})).into_response())
}

async fn create_custom_field(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(
        &body,
        &[
            "object",
            "key",
            "label",
            "kind",
            "required",
            "options",
            "link_object",
            "key_date",
        ],
    )
    .map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let object = body
        .get("object")
        .and_then(Value::as_str)
        .and_then(ObjectType::parse)
        .ok_or_else(|| {
            ApiError::invalid(
                &FieldError::new("object", "error-choice")
                    .with("options", "account, contact, interaction, need")
                    .into(),
                &c.loc,
            )
        })?;
    let get = |k: &str| str_field(&body, k).map_err(|e| ApiError::invalid(&e.into(), &c.loc));
    let req = CustomFieldRequest {
        key: get("key")?.unwrap_or_default(),
        label: get("label")?.unwrap_or_default(),
        kind: get("kind")?.unwrap_or_default(),
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        options: body
            .get("options")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        link_object: get("link_object")?,
        key_date: body
            .get("key_date")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    let def = s
        .app
        .create_custom_field(&c.actor, object, req)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((StatusCode::CREATED, axum::Json(json!(def))).into_response())
}

async fn delete_custom_field(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id
        .parse()
        .map_err(|_| ApiError::from_app(hamkor_app::AppError::NotFound, &c.loc))?;
    s.app
        .delete_custom_field(&c.actor, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_tokens(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let tokens = s
        .app
        .list_tokens(c.user.id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({"items": tokens, "next_cursor": null})).into_response())
}

async fn create_token(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(&body, &["name"]).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let name = str_field(&body, "name")
        .map_err(|e| ApiError::invalid(&e.into(), &c.loc))?
        .unwrap_or_default();
    let (token, secret) = s
        .app
        .issue_token(c.user.id, &name)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let body = json!({"id": token.id.to_string(), "name": token.name, "created_at": token.created_at.to_rfc3339(), "token": secret});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn revoke_token(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id
        .parse()
        .map_err(|_| ApiError::from_app(hamkor_app::AppError::NotFound, &c.loc))?;
    s.app
        .revoke_token(c.user.id, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_roles(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let roles = s
        .app
        .role_permissions(&c.actor)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({"items": roles, "next_cursor": null})).into_response())
}

/// `{"permissions": {"contact": {"read": "team"}}}` changes only what is sent.
async fn patch_role(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(role): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(hamkor_app::AppError::Forbidden, &c.loc));
    }
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(&body, &["permissions", "fields"]).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let mut changes = Vec::new();
    let bad = |f: &str| ApiError::invalid(&FieldError::new(f, "error-not-object").into(), &c.loc);
    let empty = serde_json::Map::new();
    let perms = match body.get("permissions") {
        None if body.get("fields").is_some() => &empty,
        other => other
            .and_then(Value::as_object)
            .ok_or_else(|| bad("permissions"))?,
    };
    let mut field_changes = Vec::new();
    if let Some(fields) = body.get("fields") {
        let fields = fields.as_object().ok_or_else(|| bad("fields"))?;
        for (object, list) in fields {
            let list = list
                .as_object()
                .ok_or_else(|| bad(&format!("fields.{object}")))?;
            for (field, mode) in list {
                field_changes.push((
                    object.clone(),
                    field.clone(),
                    mode.as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    for (object, actions) in perms {
        let actions = actions
            .as_object()
            .ok_or_else(|| bad(&format!("permissions.{object}")))?;
        for (action, scope) in actions {
            changes.push((
                object.clone(),
                action.clone(),
                scope.as_str().unwrap_or("").to_string(),
            ));
        }
    }
    if role.parse::<hamkor_domain::Role>().is_err() {
        return Err(ApiError::from_app(hamkor_app::AppError::NotFound, &c.loc));
    }
    if !changes.is_empty() || field_changes.is_empty() {
        s.app
            .set_role_permissions(&c.actor, &role, &changes)
            .await
            .map_err(|e| ApiError::from_app(e, &c.loc))?;
    }
    if !field_changes.is_empty() {
        s.app
            .set_field_rules(&c.actor, &role, &field_changes)
            .await
            .map_err(|e| ApiError::from_app(e, &c.loc))?;
    }
    let roles = s
        .app
        .role_permissions(&c.actor)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let this = roles.into_iter().find(|r| r.role.as_str() == role);
    Ok(axum::Json(json!(this)).into_response())
}

/// Administrators enable or disable a user: `{"disabled": true}`.
async fn patch_user(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(hamkor_app::AppError::Forbidden, &c.loc));
    }
    let not_found = || ApiError::from_app(hamkor_app::AppError::NotFound, &c.loc);
    let id = id.parse().map_err(|_| not_found())?;
    let body = json_body(&headers, &body, &c.loc)?;
    only_fields(&body, &["disabled", "role", "team_id"])
        .map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let disabled = match body.get("disabled") {
        None => None,
        Some(_) => Some(bool_field(&body, "disabled", &c.loc)?),
    };
    let mut errors = ValidationErrors::default();
    let role = str_field(&body, "role").unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let team = match body.get("team_id") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(t)) => match t.parse() {
            Ok(t) => Some(Some(t)),
            Err(_) => {
                errors.push(FieldError::new("team_id", "error-id"));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new("team_id", "error-id"));
            None
        }
    };
    if disabled == Some(true) && id == c.user.id {
        errors.push(FieldError::new("disabled", "error-disable-self"));
    }
    errors
        .into_result()
        .map_err(|e| ApiError::invalid(&e, &c.loc))?;
    s.app
        .user_by_id(id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?
        .ok_or_else(not_found)?;
    // The role and team first: a refused change leaves the account as it was.
    if role.is_some() || team.is_some() {
        s.app
            .set_user_access(&c.actor, id, role.as_deref(), team)
            .await
            .map_err(|e| ApiError::from_app(e, &c.loc))?;
    }
    if let Some(disabled) = disabled {
        s.app
            .set_user_disabled(Some(&c.actor), id, disabled)
            .await
            .map_err(|e| ApiError::from_app(e, &c.loc))?;
    }
    let u = s
        .app
        .user_by_id(id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?
        .ok_or_else(not_found)?;
    Ok(axum::Json(user_json(&u)).into_response())
}
