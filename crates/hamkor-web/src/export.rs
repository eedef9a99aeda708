//! Streams an export (see `hamkor_app::export`) as a download: the same for the API
//! (`GET /api/v1/{plural}/export`) and the list pages (`GET /{plural}/export`).
//!
//! Everything that can be refused (no right to read the object, a bad filter or column)
//! is refused before the answer starts. The rows then stream as they are read; an error
//! after that point breaks the transfer off, so a client never mistakes a partial file
//! for a whole one.

use crate::i18n::Loc;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hamkor_app::export::{ExportFormat, ExportRequest, ExportText};
use hamkor_app::{App, AppError};
use hamkor_domain::objects::ObjectDef;
use hamkor_store::Actor;

impl ExportText for Loc {
    fn t(&self, key: &str) -> String {
        Loc::t(self, key)
    }
    fn t_args(&self, key: &str, args: &[(&'static str, String)]) -> String {
        Loc::t_args(self, key, args)
    }
    fn tz(&self) -> chrono_tz::Tz {
        self.tz
    }
}

/// Checks the export and starts streaming it.
pub(crate) async fn download(
    app: &App,
    actor: &Actor,
    loc: Loc,
    def: &'static ObjectDef,
    params: &[(String, String)],
    via: &'static str,
) -> Result<Response, AppError> {
    let req = ExportRequest::parse(params, Some(ExportFormat::Csv))?;
    let mut plan = app.prepare_export(actor, def, &req).await?;
    plan.via = via;
    let name = plan.file_name(loc.tz);
    let content_type = plan.format.content_type();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let (app, actor) = (app.clone(), actor.clone());
    tokio::spawn(async move {
        match app.export(&actor, &plan, &loc, &tx).await {
            Ok(done) => tracing::info!(export = %done.id, rows = done.rows, "export finished"),
            Err(e) => {
                tracing::warn!(export = %plan.id, error = %e, "export stopped");
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk.map(Bytes::from), rx))
    });
    let mut resp = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The name is ours: the object's plural, a time and the extension (ASCII only).
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
