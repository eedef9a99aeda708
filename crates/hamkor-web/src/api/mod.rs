//! The REST API under `/api/v1` (conventions in the repository's docs/api.md).

pub mod access;
pub mod currencies;
pub mod dedup;
pub mod documents;
pub mod imports;
pub mod leads;
pub mod openapi;
pub mod planning;
pub mod records;
pub mod sales;
pub mod security;
pub mod users;

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::Loc;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for def in hamkor_domain::objects::OBJECTS {
        r = r.merge(records::routes(def));
    }
    r.merge(records::timeline_routes())
        .merge(users::routes())
        .merge(security::routes())
        .merge(planning::routes())
        .merge(sales::routes())
        .merge(leads::routes())
        .merge(documents::routes())
        .merge(sales::script_routes())
        .merge(sales::line_routes())
        .merge(sales::price_list_routes())
        .merge(sales::funnel_routes())
        .merge(currencies::routes())
        .merge(imports::routes())
        .merge(dedup::routes())
        .merge(access::routes())
        .merge(openapi::routes())
        .fallback_service(axum::routing::any(not_found))
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("No API route {}.", uri.path()),
        )
        .into_response()
    } else {
        crate::ui::not_found_page().into_response()
    }
}

/// The object `value` as a map, if it has no keys but `allowed`: anything else is refused
/// naming the first unknown key (under `at`, the object's own name: `lines[2]`; empty for
/// a request body).
pub fn fields_of<'a>(
    value: &'a Value,
    at: &str,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, hamkor_domain::FieldError> {
    use hamkor_domain::FieldError;
    let Some(o) = value.as_object() else {
        return Err(FieldError::new(at, "error-not-object"));
    };
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        let name = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        return Err(FieldError::new(name, "error-unknown-field"));
    }
    Ok(o)
}

/// Parses a JSON request body, refusing other content types and malformed JSON with a
/// problem that says what is wrong.
pub fn json_body(headers: &HeaderMap, body: &Bytes, loc: &Loc) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") && !ct.starts_with("application/merge-patch+json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "Send the body as application/json.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Malformed JSON",
            format!("{} ({e})", loc.t("error-malformed-json")),
        )
    })
}
