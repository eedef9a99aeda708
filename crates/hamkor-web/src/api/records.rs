//! `/api/v1/accounts`, `/api/v1/contacts` and every object described by an `ObjectDef`:
//! list, create, read, patch (with `If-Match`), delete to the trash, restore, history.

use super::json_body;
use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hamkor_app::records::parse_if_match;
use hamkor_domain::Id;
use hamkor_domain::objects::ObjectDef;
use hamkor_store::records::Record;
use serde_json::{Map, Value, json};

/// A record as the API shows it.
pub fn record_json(r: &Record) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id.to_string()));
    for (k, v) in &r.fields {
        m.insert(k.clone(), v.clone());
    }
    if r.object == hamkor_domain::ObjectType::Contact {
        m.insert("accounts".into(), json!(r.accounts));
    }
    m.insert("custom".into(), Value::Object(r.custom.clone()));
    m.insert("owner_id".into(), json!(r.owner_id.to_string()));
    if let Some(alias) = ObjectDef::get(r.object).owner_alias {
        m.insert(alias.into(), json!(r.owner_id.to_string()));
    }
    m.insert("created_by".into(), json!(r.created_by.to_string()));
    m.insert("created_at".into(), json!(r.created_at.to_rfc3339()));
    m.insert("updated_at".into(), json!(r.updated_at.to_rfc3339()));
    m.insert("version".into(), json!(r.version));
    if let Some(d) = r.deleted_at {
        m.insert("deleted_at".into(), json!(d.to_rfc3339()));
    }
    Value::Object(m)
}

pub(crate) fn with_etag(status: StatusCode, r: &Record) -> Response {
    let mut resp = (status, axum::Json(record_json(r))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", r.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// A record just written, with the likely duplicates of an account or a contact in
/// `duplicates` (`[{id, title, score, reasons}]`).
async fn with_duplicates(
    s: &AppState,
    c: &crate::auth::Caller,
    status: StatusCode,
    r: &Record,
) -> Result<Response, ApiError> {
    if !hamkor_domain::dedup::applies(r.object) {
        return Ok(with_etag(status, r));
    }
    let dups = s
        .app
        .record_duplicates(&c.actor, r)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let mut body = record_json(r);
    body["duplicates"] = json!(dups);
    let mut resp = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", r.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

pub(crate) fn parse_id(raw: &str) -> Result<Id, ApiError> {
    // An id that cannot exist is simply not found: ids are opaque.
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "No such record, or you may not see it.",
        )
    })
}

pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        // `*` matches any current version (RFC 9110).
        Some(v) if v.as_bytes() == b"*" => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(parse_if_match)
            .map(Some)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "Precondition failed",
                    "If-Match must hold the record's version as its ETag shows it.",
                )
            }),
    }
}

pub fn routes(def: &'static ObjectDef) -> Router<AppState> {
    let base = format!("/api/v1/{}", def.plural);
    Router::new()
        .route(
            &base,
            get(
                move |s: State<AppState>, u: ApiUser, q: Query<Vec<(String, String)>>| {
                    list(def, s, u, q)
                },
            )
            .post(
                move |s: State<AppState>, u: ApiUser, h: HeaderMap, b: Bytes| {
                    create(def, s, u, h, b)
                },
            ),
        )
        .route(
            &format!("{base}/{{id}}"),
            get(move |s: State<AppState>, u: ApiUser, p: Path<String>| read(def, s, u, p))
                .patch(
                    move |s: State<AppState>,
                          u: ApiUser,
                          p: Path<String>,
                          h: HeaderMap,
                          b: Bytes| patch(def, s, u, p, h, b),
                )
                .delete(
                    move |s: State<AppState>, u: ApiUser, p: Path<String>, h: HeaderMap| {
                        delete(def, s, u, p, h)
                    },
                ),
        )
        .route(
            &format!("{base}/{{id}}/restore"),
            post(move |s: State<AppState>, u: ApiUser, p: Path<String>| restore(def, s, u, p)),
        )
        .route(
            &format!("{base}/{{id}}/history"),
            get(move |s: State<AppState>, u: ApiUser, p: Path<String>| history(def, s, u, p)),
        )
        .route(
            &format!("{base}/export"),
            get(
                move |s: State<AppState>, u: ApiUser, q: Query<Vec<(String, String)>>| {
                    export(def, s, u, q)
                },
            ),
        )
        .route(
            &format!("{base}/bulk"),
            post(
                move |s: State<AppState>, u: ApiUser, h: HeaderMap, b: Bytes| bulk(def, s, u, h, b),
            ),
        )
}

/// `GET /api/v1/{plural}/export?format=csv|xlsx|vcf&columns=…&<list parameters>`: the
/// whole list as a file, streamed.
async fn export(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    crate::export::download(&s.app, &c.actor, c.loc, def, &params, "api")
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))
}

/// `POST /api/v1/{plural}/bulk`: one action on the records given by `ids`, or on every
/// record matching the list parameters in `matching`, each checked on its own.
async fn bulk(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    use hamkor_app::lists::{BulkAction, BulkTarget};
    let body = json_body(&headers, &body, &c.loc)?;
    let action = BulkAction::parse(def, &body).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    let target = BulkTarget::parse(&body).map_err(|e| ApiError::invalid(&e, &c.loc))?;
    // A whole list can take longer than one request may: the work runs on its own task,
    // so a request that times out or goes away does not stop it half-way.
    let (app, actor) = (s.app.clone(), c.actor.clone());
    let report = tokio::spawn(async move { app.bulk_target(&actor, def, &target, &action).await })
        .await
        .map_err(|e| ApiError::from_app(hamkor_app::AppError::Internal(e.to_string()), &c.loc))?
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!(report)).into_response())
}

/// `GET /api/v1/accounts/{id}/timeline` and `/api/v1/contacts/{id}/timeline`, and
/// `POST /api/v1/quick_entry`.
pub fn timeline_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/quick_entry", post(quick_entry))
        .route(
            "/api/v1/accounts/{id}/timeline",
            get(
                |s: State<AppState>,
                 u: ApiUser,
                 p: Path<String>,
                 q: Query<Vec<(String, String)>>| { timeline(s, u, p, q, true) },
            ),
        )
        .route(
            "/api/v1/contacts/{id}/timeline",
            get(
                |s: State<AppState>,
                 u: ApiUser,
                 p: Path<String>,
                 q: Query<Vec<(String, String)>>| { timeline(s, u, p, q, false) },
            ),
        )
}

async fn quick_entry(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    let done = s
        .app
        .quick_entry(&c.actor, &body)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let show = |r: &Option<Record>| r.as_ref().map(record_json).unwrap_or(Value::Null);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "account": show(&done.account),
            "contact": show(&done.contact),
            "interaction": show(&done.interaction),
        })),
    )
        .into_response())
}

async fn timeline(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    account: bool,
) -> Result<Response, ApiError> {
    use hamkor_store::timeline::Subject;
    let id = parse_id(&id)?;
    let subject = if account {
        let branches = params
            .iter()
            .any(|(k, v)| k == "branches" && matches!(v.as_str(), "true" | "1"));
        Subject::Account { id, branches }
    } else {
        if params.iter().any(|(k, _)| k == "branches") {
            return Err(ApiError::invalid(
                &hamkor_domain::FieldError::new("branches", "error-unknown-field").into(),
                &c.loc,
            ));
        }
        Subject::Contact(id)
    };
    let page = s
        .app
        .timeline(&c.actor, subject, &params)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(page_json(&page)).into_response())
}

/// A page of records: `{items, next_cursor}` and `total` when counted.
fn page_json(page: &hamkor_store::records::Page) -> Value {
    let mut body = json!({
        "items": page.items.iter().map(record_json).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    });
    if let Some(t) = page.total {
        body["total"] = json!(t);
    }
    body
}

async fn list(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let page = s
        .app
        .list_records(&c.actor, def, &params)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(page_json(&page)).into_response())
}

async fn create(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    let r = s
        .app
        .create_record(&c.actor, def, &body)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let mut resp = with_duplicates(&s, &c, StatusCode::CREATED, &r).await?;
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/{}/{}", def.plural, r.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

async fn read(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let r = s
        .app
        .get_record(&c.actor, def, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(with_etag(StatusCode::OK, &r))
}

async fn patch(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let r = s
        .app
        .update_record(&c.actor, def, id, &body, version)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    with_duplicates(&s, &c, StatusCode::OK, &r).await
}

async fn delete(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let version = if_match(&headers)?;
    s.app
        .delete_record(&c.actor, def, id, version)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn restore(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let r = s
        .app
        .restore_record(&c.actor, def, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(with_etag(StatusCode::OK, &r))
}

async fn history(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let entries = s
        .app
        .record_history(&c.actor, def, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({ "items": entries, "next_cursor": null })).into_response())
}
