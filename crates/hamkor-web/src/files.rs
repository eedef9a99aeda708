//! Attachments over HTTP: `POST/GET /api/v1/{plural}/{id}/attachments`,
//! `GET/DELETE /api/v1/attachments/{id}`, and the web UI's upload form, download link
//! and remove button. Downloads are always sent as attachments with the content type
//! read from the content at upload, `nosniff` and a sandboxing CSP, so nothing uploaded
//! runs in the browser.

use crate::AppState;
use crate::auth::{ApiUser, UiForm, UiUpload, UiUser};
use crate::error::ApiError;
use crate::ui::records::app_error_page;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_domain::objects::{OBJECTS, ObjectDef};
use hamkor_domain::{FieldError, Id};
use hamkor_store::attachments::AttachmentMeta;
use serde_json::{Value, json};

pub fn routes(max_upload: usize) -> Router<AppState> {
    let limit = DefaultBodyLimit::max(max_upload + 1024 * 1024);
    let mut r = Router::new()
        .route(
            "/api/v1/attachments/{id}",
            get(api_download).delete(api_delete),
        )
        .route("/attachments/{id}", get(ui_download))
        .route("/attachments/{id}/delete", post(ui_delete));
    for def in OBJECTS {
        let d: &'static ObjectDef = def;
        r = r
            .route(
                &format!("/api/v1/{}/{{id}}/attachments", d.plural),
                get(move |s: State<AppState>, u: ApiUser, p: Path<String>| api_list(d, s, u, p))
                    .post(
                        move |s: State<AppState>,
                              u: ApiUser,
                              p: Path<String>,
                              h: axum::http::HeaderMap,
                              m: Result<Multipart, MultipartRejection>| {
                            api_upload(d, s, u, p, h, m)
                        },
                    )
                    .layer(limit),
            )
            .route(
                &format!("/{}/{{id}}/attachments", d.plural),
                post(move |s: State<AppState>, p: Path<String>, u: UiUpload| ui_upload(d, s, p, u))
                    .layer(limit),
            );
    }
    r
}

pub fn meta_json(m: &AttachmentMeta) -> Value {
    json!({"id": m.id.to_string(), "object": m.object.as_str(), "record_id": m.record_id.to_string(),
        "name": m.name, "content_type": m.content_type, "size": m.size, "sha256": m.sha256,
        "uploaded_by": m.uploaded_by.to_string(), "created_at": m.created_at.to_rfc3339(),
        "href": format!("/api/v1/attachments/{}", m.id)})
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "Not found",
        "No such record, or you may not see it.",
    )
}

fn file_response(meta: AttachmentMeta, data: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, data).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // RFC 6266: an ASCII fallback and the UTF-8 name.
    let ascii: String = meta
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        urlencoding::encode(&meta.name)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    resp
}

async fn api_list(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: Id = id.parse().map_err(|_| not_found())?;
    let list = s
        .app
        .attachments(&c.actor, def, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(
        axum::Json(json!({"items": list.iter().map(meta_json).collect::<Vec<_>>()}))
            .into_response(),
    )
}

async fn api_upload(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let id: Id = id.parse().map_err(|_| not_found())?;
    // The framework refuses a body that is no form in plain text; the API answers every
    // refusal as a problem.
    let mut multipart = multipart.map_err(|e| {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        if form {
            ApiError::new(e.status(), "Bad upload", e.body_text())
        } else {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "Send the file as the field file of a multipart/form-data body.",
            )
        }
    })?;
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(ApiError::new(e.status(), "Bad upload", e.body_text())),
        };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::new(e.status(), "Bad upload", e.body_text()))?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((name, bytes)) = file else {
        return Err(ApiError::invalid(
            &FieldError::new("file", "error-required").into(),
            &c.loc,
        ));
    };
    let meta = s
        .app
        .attach(&c.actor, def, id, &name, bytes, s.config.max_upload_bytes)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((StatusCode::CREATED, axum::Json(meta_json(&meta))).into_response())
}

async fn api_download(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: Id = id.parse().map_err(|_| not_found())?;
    let (meta, data) = s
        .app
        .download(&c.actor, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(file_response(meta, data))
}

async fn api_delete(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: Id = id.parse().map_err(|_| not_found())?;
    s.app
        .delete_attachment(&c.actor, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn ui_upload(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    Path(id): Path<String>,
    upload: UiUpload,
) -> Response {
    let c = &upload.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let back = format!("/{}/{id}#files", def.plural);
    let Some((name, bytes)) = upload.file else {
        return Redirect::to(&back).into_response();
    };
    match s
        .app
        .attach(&c.actor, def, id, &name, bytes, s.config.max_upload_bytes)
        .await
    {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(AppError::Invalid(e)) => crate::ui::message(
            crate::ui::Frame::for_caller(c),
            StatusCode::UNPROCESSABLE_ENTITY,
            c.loc.t("file-refused"),
            c.loc.errors_by_field(&e),
        ),
        Err(e) => app_error_page(c, e),
    }
}

async fn ui_download(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(&c, AppError::NotFound);
    };
    match s.app.download(&c.actor, id).await {
        Ok((meta, data)) => file_response(meta, data),
        Err(e) => app_error_page(&c, e),
    }
}

async fn ui_delete(State(s): State<AppState>, Path(id): Path<String>, form: UiForm) -> Response {
    let c = &form.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let back = crate::ui::safe_next(Some(form.get("return_to")));
    match s.app.delete_attachment(&c.actor, id).await {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => app_error_page(c, e),
    }
}
