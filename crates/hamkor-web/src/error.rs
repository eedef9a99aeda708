//! RFC 9457 problem responses for the API; every refusal names its reason, and for
//! invalid input each field with a message in the caller's language.

use crate::i18n::Loc;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hamkor_app::AppError;
use hamkor_domain::ValidationErrors;
use serde_json::json;

/// An API error, rendered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    pub errors: Option<Vec<serde_json::Value>>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            title,
            detail: detail.into(),
            errors: None,
            retry_after: None,
        }
    }
    /// 503 with `Retry-After`: the server or its database is busy; nothing was done.
    pub fn busy(secs: u64) -> Self {
        ApiError {
            retry_after: Some(secs),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service unavailable",
                format!("The server is busy; nothing was changed. Try again in {secs} s."),
            )
        }
    }
    pub fn invalid(errors: &ValidationErrors, loc: &Loc) -> Self {
        let list: Vec<_> = errors
            .0
            .iter()
            .map(|e| json!({"field": e.field, "message": loc.field_error(e), "code": e.key.trim_start_matches("error-")}))
            .collect();
        let detail = loc.errors_by_field(errors);
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Invalid input",
            detail,
            errors: Some(list),
            retry_after: None,
        }
    }
    pub fn from_app(e: AppError, loc: &Loc) -> Self {
        match e {
            AppError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "Not found",
                "No such record, or you may not see it.",
            ),
            AppError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Your role does not allow this action.",
            ),
            AppError::Unauthorized => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Valid credentials are required.",
            ),
            AppError::Stale(v) => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "Precondition failed",
                format!(
                    "The record was changed by someone else; it is now at version {v}. Reload it and try again."
                ),
            ),
            AppError::Conflict(c) => ApiError::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!("Already exists ({c})."),
            ),
            AppError::Invalid(v) => ApiError::invalid(&v, loc),
            AppError::TooMany(secs) => ApiError {
                retry_after: Some(secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    format!("Too many requests from this address; try again in {secs} seconds."),
                )
            },
            AppError::Unavailable(secs) => ApiError::busy(secs),
            AppError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "Something went wrong on the server; it has been logged.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(errors) = self.errors {
            body["errors"] = serde_json::Value::Array(errors);
        }
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
