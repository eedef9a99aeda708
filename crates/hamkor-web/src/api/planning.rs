//! Tasks and the calendar beyond plain records: `POST /api/v1/tasks/{id}/status`,
//! comments, task views and "my day", workload, calendars with busy time, `.ics` import,
//! the private feed (`/ical/{token}.ics`) and notifications.

use super::json_body;
use super::records::{if_match, parse_id, record_json, with_etag};
use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hamkor_app::tasks::{Calendar, day_bounds, local_date};
use hamkor_domain::objects::{EVENT, ObjectDef, TASK};
use hamkor_domain::{FieldError, Id, Timestamp, ValidationErrors};
use hamkor_store::planning::{CalendarEntry, TaskView};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    let comments = |def: &'static ObjectDef| {
        get(move |s: State<AppState>, u: ApiUser, p: Path<String>| list_comments(def, s, u, p))
            .post(
                move |s: State<AppState>, u: ApiUser, p: Path<String>, h: HeaderMap, b: Bytes| {
                    add_comment(def, s, u, p, h, b)
                },
            )
    };
    Router::new()
        .route("/api/v1/tasks/{id}/status", post(set_status))
        .route("/api/v1/tasks/{id}/comments", comments(&TASK))
        .route("/api/v1/events/{id}/comments", comments(&EVENT))
        .route("/api/v1/task_views/{view}", get(task_view))
        .route("/api/v1/my_day", get(my_day))
        .route("/api/v1/workload", get(workload))
        .route("/api/v1/calendar", get(calendar))
        .route(
            "/api/v1/calendar/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(
                hamkor_domain::ical::MAX_ICS_BYTES + 1024 * 1024,
            )),
        )
        .route(
            "/api/v1/calendar/feed",
            get(feed_info).post(new_feed).delete(revoke_feed),
        )
        .route("/ical/{token}", get(feed))
        .route("/api/v1/notifications", get(notifications))
        .route("/api/v1/notifications/read", post(read_all))
        .route("/api/v1/notifications/{id}/read", post(read_one))
}

fn invalid(e: FieldError, loc: &crate::i18n::Loc) -> ApiError {
    ApiError::invalid(&ValidationErrors::from(e), loc)
}

/// `POST /api/v1/tasks/{id}/status` `{"status": "done", "comment": "…"}`.
async fn set_status(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    let body = json_body(&headers, &body, &c.loc)?;
    super::fields_of(&body, "", &["status", "comment"]).map_err(|e| invalid(e, &c.loc))?;
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(FieldError::new("status", "error-required"), &c.loc))?;
    let comment = match body.get("comment") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(invalid(
                FieldError::new("comment", "error-type-text"),
                &c.loc,
            ));
        }
    };
    let r = s
        .app
        .set_task_status(&c.actor, id, status, comment, version)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(with_etag(StatusCode::OK, &r))
}

async fn list_comments(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let items = s
        .app
        .comments(&c.actor, def, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({ "items": items })).into_response())
}

async fn add_comment(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    super::fields_of(&body, "", &["body"]).map_err(|e| invalid(e, &c.loc))?;
    let text = body.get("body").and_then(Value::as_str).unwrap_or("");
    let cid = s
        .app
        .add_comment(&c.actor, def, id, text)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "id": cid.to_string() })),
    )
        .into_response())
}

pub(crate) fn limit_param(q: &[(String, String)], default: i64) -> Result<i64, FieldError> {
    match q.iter().find(|(k, _)| k == "limit") {
        None => Ok(default),
        Some((_, v)) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| FieldError::new("limit", "error-limit").with("max", 200)),
    }
}

/// `GET /api/v1/task_views/{view}`: `overdue`, `today`, `upcoming`, `someday`,
/// `assigned_by_me`, `waiting`, `team`.
async fn task_view(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(view): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let Some(view) = TaskView::parse(&view) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "Task views: overdue, today, upcoming, someday, assigned_by_me, waiting, team.",
        ));
    };
    let limit = limit_param(&q, 50).map_err(|e| invalid(e, &c.loc))?;
    let (items, count) = s
        .app
        .task_view(&c.actor, c.loc.tz, view, limit)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({
        "view": view.as_str(),
        "items": items.iter().map(record_json).collect::<Vec<_>>(),
        "count": count,
        "count_capped": count >= hamkor_store::planning::VIEW_COUNT_CAP,
    }))
    .into_response())
}

fn entry_json(e: &CalendarEntry) -> Value {
    json!({
        "user_id": e.user_id.to_string(),
        "event_id": e.event_id.to_string(),
        "starts_at": e.starts_at.to_rfc3339(),
        "ends_at": e.ends_at.to_rfc3339(),
        "busy_only": e.event.is_none(),
        "event": e.event.as_deref(),
    })
}

/// `GET /api/v1/my_day`.
async fn my_day(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let day = s
        .app
        .my_day(&c.actor, c.loc.tz)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let mut out = serde_json::Map::new();
    for (view, items, count) in &day.views {
        out.insert(
            view.as_str().into(),
            json!({"items": items.iter().map(record_json).collect::<Vec<_>>(), "count": count}),
        );
    }
    out.insert(
        "meetings".into(),
        json!(day.meetings.iter().map(entry_json).collect::<Vec<_>>()),
    );
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// `GET /api/v1/workload?team=`.
async fn workload(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let team = match q.iter().find(|(k, _)| k == "team") {
        Some((_, v)) if !v.is_empty() => Some(
            v.parse::<Id>()
                .map_err(|_| invalid(FieldError::new("team", "error-id"), &c.loc))?,
        ),
        _ => None,
    };
    let rows = s
        .app
        .workload(&c.actor, c.loc.tz, team)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({ "items": rows })).into_response())
}

/// Reads `from`/`to` (dates in the user's zone, `to` included, or RFC 3339 moments).
pub(crate) fn period(
    q: &[(String, String)],
    tz: chrono_tz::Tz,
) -> Result<(Timestamp, Timestamp), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut get = |name: &'static str, end: bool| -> Option<Timestamp> {
        let raw = q.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())?;
        if let Some(t) = Timestamp::parse_rfc3339(raw) {
            return Some(t);
        }
        match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) => Some(if end {
                day_bounds(tz, d).1
            } else {
                day_bounds(tz, d).0
            }),
            Err(_) => {
                errors.push(FieldError::new(name, "error-type-date"));
                None
            }
        }
    };
    let from = get("from", false);
    let to = get("to", true);
    errors.into_result()?;
    let today = local_date(tz, Timestamp::now());
    let from = from.unwrap_or_else(|| day_bounds(tz, today).0);
    let to = to.unwrap_or_else(|| day_bounds(tz, today + chrono::Duration::days(6)).1);
    Ok((from, to))
}

pub(crate) fn calendar_json(cal: &Calendar) -> Value {
    json!({
        "from": cal.from.to_rfc3339(),
        "to": cal.to.to_rfc3339(),
        "entries": cal.entries.iter().map(entry_json).collect::<Vec<_>>(),
        "conflicts": cal.conflicts.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
        "tasks": cal.tasks.iter().map(record_json).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/calendar?from=&to=&users=a,b&team=&tasks=true`.
async fn calendar(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (from, to) = period(&q, c.loc.tz).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let mut users: Vec<Id> = Vec::new();
    for (k, v) in &q {
        match k.as_str() {
            "users" => {
                for raw in v.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                    users.push(
                        raw.parse()
                            .map_err(|_| invalid(FieldError::new("users", "error-id"), &c.loc))?,
                    );
                }
            }
            "team" if !v.is_empty() => {
                let team: Id = v
                    .parse()
                    .map_err(|_| invalid(FieldError::new("team", "error-id"), &c.loc))?;
                let members = s
                    .app
                    .team_members(team)
                    .await
                    .map_err(|e| ApiError::from_app(e, &c.loc))?;
                users.extend(members.into_iter().map(|u| u.id));
            }
            _ => {}
        }
    }
    let with_tasks = q.iter().any(|(k, v)| k == "tasks" && v == "true");
    let cal = s
        .app
        .calendar(&c.actor, &users, from, to, with_tasks)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(calendar_json(&cal)).into_response())
}

/// `POST /api/v1/calendar/import` with the `.ics` file as the body (`text/calendar`).
async fn import(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    let n = s
        .app
        .import_ics(&c.actor, c.loc.tz, &body)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "imported": n }))).into_response())
}

fn feed_url(s: &AppState, token: &str) -> String {
    format!(
        "{}/ical/{token}.ics",
        s.config.base_url.trim_end_matches('/')
    )
}

/// `GET /api/v1/calendar/feed`: whether the caller has a feed address, and since when.
async fn feed_info(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let at = s
        .app
        .feed_created(c.user.id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(
        axum::Json(json!({"active": at.is_some(), "created_at": at.map(|t| t.to_rfc3339())}))
            .into_response(),
    )
}

/// `POST /api/v1/calendar/feed`: a new private feed address (the old one stops working).
async fn new_feed(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let token = s
        .app
        .new_feed_token(c.user.id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "url": feed_url(&s, &token) })),
    )
        .into_response())
}

/// `DELETE /api/v1/calendar/feed`.
async fn revoke_feed(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    s.app
        .revoke_feed_token(c.user.id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /ical/{token}.ics`: the feed itself. The token is the only credential, so an
/// unknown one is a plain 404.
async fn feed(State(s): State<AppState>, Path(file): Path<String>) -> Response {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    match s.app.calendar_feed(token, &s.config.base_url).await {
        Ok(text) => {
            let mut resp = text.into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            );
            h.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("inline; filename=\"hamkor.ics\""),
            );
            resp
        }
        Err(hamkor_app::AppError::NotFound) => (StatusCode::NOT_FOUND, "not found").into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "calendar feed failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response()
        }
    }
}

/// `GET /api/v1/notifications?unread=true`.
async fn notifications(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let unread = q.iter().any(|(k, v)| k == "unread" && v == "true");
    let items = s
        .app
        .notifications(c.user.id, unread)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let items: Vec<Value> = items
        .iter()
        .map(|n| {
            let href = match (
                n.object
                    .as_deref()
                    .and_then(hamkor_domain::ObjectType::parse),
                n.record_id,
            ) {
                (Some(o), Some(id)) => Some(format!("/{}/{id}", ObjectDef::get(o).plural)),
                _ => None,
            };
            json!({
                "id": n.id.to_string(), "kind": n.kind, "title": n.title,
                "text": c.loc.t(&format!("reminder-{}", n.kind)),
                "at": n.at.map(|t| t.to_rfc3339()),
                "at_local": n.at.map(|t| c.loc.datetime(&t)),
                "href": href, "created_at": n.created_at.to_rfc3339(),
                "read": n.read_at.is_some(),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

async fn read_one(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let n = s
        .app
        .mark_notifications_read(c.user.id, Some(id))
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    if n == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "No such unread notification of yours.",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn read_all(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    s.app
        .mark_notifications_read(c.user.id, None)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
