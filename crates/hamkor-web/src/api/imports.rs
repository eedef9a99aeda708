//! The import wizard over the API: upload a file, preview it with suggested columns,
//! check it (a dry run), run it, follow its progress, cancel, download the rejected rows,
//! undo it; and saved column mappings.

use super::json_body;
use super::records::parse_id;
use crate::AppState;
use crate::auth::{ApiUser, Caller};
use crate::error::ApiError;
use crate::i18n::Loc;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use hamkor_app::imports::{AsyncChunks, Settings};
use hamkor_app::{AppError, AppResult};
use hamkor_domain::FieldError;
use hamkor_store::imports::Import;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The largest upload (the importer's own limit refuses larger files with a clear error).
pub const MAX_UPLOAD: usize = 512 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/imports",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/api/v1/imports/{id}", get(read))
        .route("/api/v1/imports/{id}/preview", get(preview))
        .route("/api/v1/imports/{id}/check", post(check))
        .route("/api/v1/imports/{id}/run", post(run))
        .route("/api/v1/imports/{id}/cancel", post(cancel))
        .route("/api/v1/imports/{id}/undo", post(undo))
        .route("/api/v1/imports/{id}/rejected.csv", get(rejected))
        .route("/api/v1/import_mappings", get(mappings).post(save_mapping))
}

fn app_err(c: &Caller) -> impl Fn(AppError) -> ApiError + '_ {
    move |e| ApiError::from_app(e, &c.loc)
}

/// An import as the API shows it.
pub fn import_json(i: &Import) -> Value {
    let rate = i.report.get("rate").cloned().unwrap_or(json!(0));
    json!({
        "id": i.id,
        "object": i.object,
        "file_name": i.file_name,
        "format": i.format,
        "encoding": i.encoding,
        "delimiter": i.delimiter,
        "sheets": i.sheets,
        "size": i.size,
        "status": i.status,
        "settings": i.settings,
        "total_rows": i.total_rows,
        "rows_done": i.next_row,
        "created": i.created,
        "updated": i.updated,
        "skipped": i.skipped,
        "rejected": i.rejected,
        "rate": rate,
        "counts": i.report.get("counts").cloned().unwrap_or(json!({})),
        "examples": i.report.get("examples").cloned().unwrap_or(json!({})),
        "error": i.error,
        "owner_id": i.owner_id,
        "created_at": i.created_at.to_rfc3339(),
        "started_at": i.started_at.map(|t| t.to_rfc3339()),
        "finished_at": i.finished_at.map(|t| t.to_rfc3339()),
    })
}

/// A request body as it streams in.
pub struct BodyChunks(pub axum::body::BodyDataStream);

impl AsyncChunks for BodyChunks {
    async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        next_piece(self.0.next()).await
    }
}

/// The next piece of an upload (`None` at its end), given up with 422 naming the file
/// when the connection breaks or [`crate::UPLOAD_STALL`] passes without a byte.
pub async fn next_piece<E: std::fmt::Display>(
    piece: impl Future<Output = Option<Result<axum::body::Bytes, E>>>,
) -> AppResult<Option<Vec<u8>>> {
    let broke = |reason: String| {
        AppError::Invalid(
            FieldError::new("file", "error-import-upload")
                .with("reason", reason)
                .into(),
        )
    };
    match tokio::time::timeout(crate::UPLOAD_STALL, piece).await {
        Err(_) => Err(broke(format!(
            "no data for {} s",
            crate::UPLOAD_STALL.as_secs()
        ))),
        Ok(None) => Ok(None),
        Ok(Some(Ok(b))) => Ok(Some(b.to_vec())),
        Ok(Some(Err(e))) => Err(broke(e.to_string())),
    }
}

/// `POST /api/v1/imports?object=contacts&file_name=clients.csv` with the file as the
/// body: 201 and the import, its format, encoding, delimiter and sheets found.
async fn upload(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    let object = q.get("object").map(String::as_str).unwrap_or("");
    let name = q.get("file_name").map(String::as_str).unwrap_or("");
    let import = s
        .app
        .upload_import(&c.actor, object, name, BodyChunks(body.into_data_stream()))
        .await
        .map_err(app_err(&c))?;
    let location = format!("/api/v1/imports/{}", import.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(import_json(&import)),
    )
        .into_response())
}

async fn list(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let items = s.app.imports(&c.actor).await.map_err(app_err(&c))?;
    Ok(axum::Json(
        json!({"items": items.iter().map(import_json).collect::<Vec<_>>(), "next_cursor": null}),
    )
    .into_response())
}

async fn read(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let i = s.app.import(&c.actor, id).await.map_err(app_err(&c))?;
    Ok(axum::Json(import_json(&i)).into_response())
}

/// `GET /api/v1/imports/{id}/preview?sheet=`: the header, the first rows, a suggested
/// field for each column, the fields a column can fill, and the saved mappings.
async fn preview(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let p = s
        .app
        .import_preview(&c.actor, id, q.get("sheet").cloned())
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!(p)).into_response())
}

fn settings(headers: &HeaderMap, body: &Bytes, loc: &Loc) -> Result<Settings, ApiError> {
    let v = json_body(headers, body, loc)?;
    serde_json::from_value(v).map_err(|e| {
        ApiError::from_app(
            AppError::Invalid(
                FieldError::new("", "error-import-settings")
                    .with("reason", e.to_string())
                    .into(),
            ),
            loc,
        )
    })
}

async fn start(
    s: AppState,
    c: Caller,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    dry_run: bool,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    // Seeing the import comes before judging the body.
    s.app.import(&c.actor, id).await.map_err(app_err(&c))?;
    let settings = settings(&headers, &body, &c.loc)?;
    let i = s
        .app
        .start_import(&c.actor, id, settings, dry_run)
        .await
        .map_err(app_err(&c))?;
    Ok((StatusCode::ACCEPTED, axum::Json(import_json(&i))).into_response())
}

/// `POST /api/v1/imports/{id}/check` with the choices: a dry run in the background.
async fn check(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    start(s, c, id, headers, body, true).await
}

/// `POST /api/v1/imports/{id}/run` with the choices: the import, in the background.
async fn run(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    start(s, c, id, headers, body, false).await
}

async fn cancel(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let i = s
        .app
        .cancel_import(&c.actor, id)
        .await
        .map_err(app_err(&c))?;
    Ok((StatusCode::ACCEPTED, axum::Json(import_json(&i))).into_response())
}

async fn undo(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let i = s.app.undo_import(&c.actor, id).await.map_err(app_err(&c))?;
    Ok((StatusCode::ACCEPTED, axum::Json(import_json(&i))).into_response())
}

/// An error of a rejected row in the user's words: `Column "Phone": not a phone number`.
pub fn describe(loc: &Loc, e: &Value) -> String {
    let key = e
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or("error-import-internal");
    let args: Vec<(String, String)> = e
        .get("args")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let message = loc.t_args_owned(key, &args);
    match e.get("column").and_then(Value::as_str) {
        Some(col) => format!("{col}: {message}"),
        None => match e
            .get("field")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty())
        {
            Some(f) => format!("{f}: {message}"),
            None => message,
        },
    }
}

/// `GET /api/v1/imports/{id}/rejected.csv`: the rows left out, as they were, with their
/// row number and reasons, to fix and import again.
async fn rejected(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let loc = c.loc;
    let bytes = s
        .app
        .import_rejects_csv(&c.actor, id, |e| describe(&loc, e))
        .await
        .map_err(app_err(&c))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"rejected.csv\"".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn mappings(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let object = q.get("object").cloned().unwrap_or_default();
    let items = s
        .app
        .import_mappings(&c.actor, &object)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!({"items": items, "next_cursor": null})).into_response())
}

/// `POST /api/v1/import_mappings` `{"object", "name", "headers": [...], "columns": [...]}`.
async fn save_mapping(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let v = json_body(&headers, &body, &c.loc)?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let heads: Vec<String> = v
        .get("headers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    let cols: Vec<Option<String>> = v
        .get("columns")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    s.app
        .save_import_mapping(&c.actor, &text("object"), &text("name"), &heads, &cols)
        .await
        .map_err(app_err(&c))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
