//! Duplicates of accounts and contacts: the check while typing
//! (`GET /api/v1/{accounts,contacts}/duplicates`), the full scan and its groups
//! (`/api/v1/duplicates`), merging (`POST /api/v1/{accounts,contacts}/merge`) and its undo
//! (`POST /api/v1/merges/{id}/undo`).

use super::json_body;
use super::records::{parse_id, record_json};
use crate::AppState;
use crate::auth::{ApiUser, Caller};
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::dedup::dedup_def;
use hamkor_domain::objects::{ACCOUNT, CONTACT, ObjectDef};
use hamkor_domain::{FieldError, Id, ValidationErrors};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/api/v1/duplicates", get(groups))
        .route("/api/v1/duplicates/scan", post(scan))
        .route("/api/v1/merges/{id}/undo", post(undo));
    for def in [&ACCOUNT, &CONTACT] {
        let def: &'static ObjectDef = def;
        r = r
            .route(
                &format!("/api/v1/{}/duplicates", def.plural),
                get(
                    move |s: State<AppState>, u: ApiUser, q: Query<Vec<(String, String)>>| {
                        check(def, s, u, q)
                    },
                ),
            )
            .route(
                &format!("/api/v1/{}/merge", def.plural),
                post(
                    move |s: State<AppState>, u: ApiUser, h: HeaderMap, b: Bytes| {
                        merge(def, s, u, h, b)
                    },
                ),
            );
    }
    r
}

fn app_err(c: &Caller) -> impl Fn(AppError) -> ApiError + '_ {
    move |e| match e {
        AppError::Conflict(what) if what == "dup_scans" => {
            ApiError::new(StatusCode::CONFLICT, "Conflict", c.loc.t("dedup-scan-busy"))
        }
        AppError::Conflict(what) if what.starts_with("merge_") => ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            c.loc.t(if what == "merge_undone" {
                "dedup-undo-done"
            } else {
                "dedup-undo-restored"
            }),
        ),
        e => ApiError::from_app(e, &c.loc),
    }
}

fn invalid(c: &Caller) -> impl Fn(FieldError) -> ApiError + '_ {
    move |e| ApiError::invalid(&ValidationErrors::from(e), &c.loc)
}

/// `GET /api/v1/{accounts,contacts}/duplicates?name=…&phone=…&email=…[&id=…]`: the
/// records the caller may see that may be the one being typed,
/// `{"items": [{id, title, score, reasons}]}`, best first.
async fn check(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let items = s
        .app
        .check_duplicates(&c.actor, def, &params)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// The object of `?object=accounts|contacts`.
fn object_param(c: &Caller, params: &[(String, String)]) -> Result<&'static ObjectDef, ApiError> {
    let raw = params
        .iter()
        .find(|(k, _)| k == "object")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    dedup_def(raw).ok_or_else(|| {
        invalid(c)(FieldError::new("object", "error-choice").with("options", "accounts, contacts"))
    })
}

/// `POST /api/v1/duplicates/scan?object=contacts`: starts a full scan in the background
/// (administrators); 202 with the scan's state, 409 while one runs.
async fn scan(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let def = object_param(&c, &params)?;
    let state = s.app.start_scan(&c.actor, def).await.map_err(app_err(&c))?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "scan": state }))).into_response())
}

/// `GET /api/v1/duplicates?object=contacts[&limit=50&offset=0]`: the last scan's state and
/// its groups (records the caller may see), best first.
async fn groups(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let def = object_param(&c, &params)?;
    let mut limit = 50i64;
    let mut offset = 0i64;
    for (k, v) in &params {
        match k.as_str() {
            "object" => {}
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=500).contains(&n) => limit = n,
                _ => {
                    return Err(invalid(&c)(
                        FieldError::new("limit", "error-limit").with("max", 500),
                    ));
                }
            },
            "offset" => match v.parse::<i64>() {
                Ok(n) if n >= 0 => offset = n,
                _ => return Err(invalid(&c)(FieldError::new("offset", "error-type-number"))),
            },
            other => {
                return Err(invalid(&c)(FieldError::new(
                    other.to_string(),
                    "error-unknown-field",
                )));
            }
        }
    }
    let (state, items) = s
        .app
        .duplicate_groups(&c.actor, def, limit, offset)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!({ "scan": state, "items": items })).into_response())
}

fn id_field(v: Option<&Value>, field: String) -> Result<Id, FieldError> {
    v.and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| FieldError::new(field, "error-id"))
}

/// `POST /api/v1/{accounts,contacts}/merge` `{"survivor_id": …, "merged_ids": […],
/// "fields": {"first_name": "<id of the record whose value wins>", "phones": "all", …}}`
/// (`"all"`: a list from every record): 200
/// `{"merge_id", "moved", "record"}`.
async fn merge(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    let o = super::fields_of(&body, "", &["survivor_id", "merged_ids", "fields"])
        .map_err(invalid(&c))?;
    let survivor = id_field(o.get("survivor_id"), "survivor_id".into()).map_err(invalid(&c))?;
    let Some(list) = o.get("merged_ids").and_then(Value::as_array) else {
        return Err(invalid(&c)(FieldError::new("merged_ids", "error-required")));
    };
    let mut merged = Vec::new();
    for (i, v) in list.iter().enumerate() {
        merged.push(id_field(Some(v), format!("merged_ids[{i}]")).map_err(invalid(&c))?);
    }
    let fields = match o.get("fields") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(f)) => f.clone(),
        Some(_) => return Err(invalid(&c)(FieldError::new("fields", "error-not-object"))),
    };
    let done = s
        .app
        .merge_records(&c.actor, def, survivor, &merged, &fields)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!({
        "merge_id": done.merge_id.to_string(),
        "moved": done.moved,
        "record": record_json(&done.survivor),
    }))
    .into_response())
}

/// `POST /api/v1/merges/{id}/undo`: the merged records back, what moved moved back, the
/// survivor's values back; 200 with the survivor.
async fn undo(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let r = s.app.undo_merge(&c.actor, id).await.map_err(app_err(&c))?;
    Ok(axum::Json(json!({ "record": record_json(&r) })).into_response())
}
