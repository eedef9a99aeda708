//! `POST /api/v1/login` (a session for scripts and single-page clients, rate-limited like
//! the login form), `GET /api/v1/audit` (the whole audit log, administrators only) and
//! `DELETE /api/v1/users/{id}/two_factor` (an administrator resets a user's 2FA).

use super::json_body;
use crate::AppState;
use crate::auth::{ApiUser, ClientOrigin, request_lang};
use crate::error::ApiError;
use crate::i18n::Loc;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use hamkor_app::AppError;
use hamkor_domain::FieldError;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/users/{id}/two_factor", delete(reset_two_factor))
}

/// `{"email", "password", "code"?}` → 200 `{"user", "csrf_token"}` and the session cookie.
/// The code is needed when the user has 2FA. Wrong credentials are 401 whichever was
/// wrong; a locked account or address is 429 with `Retry-After`.
async fn login(
    State(s): State<AppState>,
    headers: HeaderMap,
    ClientOrigin(origin): ClientOrigin,
    body: Bytes,
) -> Result<Response, ApiError> {
    let loc = Loc::new(request_lang(&headers, None));
    if crate::ui::login::cross_site_post(&headers, &s) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CSRF check failed",
            "Logging in from another site is refused.",
        ));
    }
    let body = json_body(&headers, &body, &loc)?;
    super::fields_of(&body, "", &["email", "password", "code"])
        .map_err(|e| ApiError::invalid(&e.into(), &loc))?;
    let text = |k: &'static str| -> Result<Option<&str>, ApiError> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(v)) => Ok(Some(v.as_str())),
            Some(_) => Err(ApiError::invalid(
                &FieldError::new(k, "error-type-text").into(),
                &loc,
            )),
        }
    };
    let (email, password, code) = (text("email")?, text("password")?, text("code")?);
    let (Some(email), Some(password)) = (email, password) else {
        let mut e = hamkor_domain::ValidationErrors::default();
        for k in ["email", "password"] {
            if text(k)?.is_none() {
                e.push(FieldError::new(k, "error-required"));
            }
        }
        return Err(ApiError::invalid(&e, &loc));
    };
    let unauthorized =
        |detail: &str| ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail.to_string());
    match s.app.login_at_once(email, password, code, &origin).await {
        Ok(session) => {
            let mut resp = (
                StatusCode::OK,
                axum::Json(json!({
                    "user": super::users::user_json(&session.user),
                    "csrf_token": session.csrf_token,
                })),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&crate::ui::session_cookie(
                &s,
                &session.token,
                hamkor_app::auth::SESSION_DAYS,
            )) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(AppError::Unauthorized) => Err(unauthorized("Wrong e-mail or password.")),
        Err(AppError::Invalid(v)) if v.0.iter().any(|e| e.field == "code") => {
            let mut e = ApiError::invalid(&v, &loc);
            e.status = StatusCode::UNAUTHORIZED;
            e.title = "Unauthorized";
            Err(e)
        }
        Err(AppError::Forbidden) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This account may not log in from here, or must first set up two-factor authentication in the web UI.",
        )),
        Err(e) => Err(ApiError::from_app(e, &loc)),
    }
}

/// The audit log, newest first: `?user_id=&action=&object=&record_id=&from=&to=&limit=&cursor=`.
async fn audit(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(AppError::Forbidden, &c.loc));
    }
    if let Some((k, _)) = q.iter().find(|(k, _)| {
        ![
            "user_id",
            "action",
            "object",
            "record_id",
            "from",
            "to",
            "limit",
            "cursor",
        ]
        .contains(&k.as_str())
    }) {
        return Err(ApiError::invalid(
            &FieldError::new(k.clone(), "error-unknown-field").into(),
            &c.loc,
        ));
    }
    let mut q = q;
    for (k, _) in q.iter_mut() {
        if k == "cursor" {
            *k = "before".into();
        }
    }
    let limit = match q.iter().find(|(k, _)| k == "limit") {
        Some((_, v)) => match v.parse::<i64>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    &FieldError::new("limit", "error-limit")
                        .with("max", 500)
                        .into(),
                    &c.loc,
                ));
            }
        },
        None => 50,
    };
    let filter = crate::ui::security_filter(&q, &c.loc).map_err(|e| {
        let e = if e.field == "before" {
            FieldError::new("cursor", e.key)
        } else {
            e
        };
        ApiError::invalid(&e.into(), &c.loc)
    })?;
    let entries = s
        .app
        .audit_log(&c.actor, &filter, limit)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(crate::ui::security_cursor))
        .flatten();
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id.to_string(),
                "at": e.at.to_rfc3339(),
                "user_id": e.user_id.map(|u| u.to_string()),
                "user_name": e.user_name,
                "action": e.action,
                "object": e.object,
                "record_id": e.record_id.map(|r| r.to_string()),
                "ip": e.ip,
                "user_agent": e.user_agent,
                "changes": e.changes,
            })
        })
        .collect();
    Ok(axum::Json(json!({"items": items, "next_cursor": next})).into_response())
}

async fn reset_two_factor(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(AppError::Forbidden, &c.loc));
    }
    let id = id
        .parse()
        .map_err(|_| ApiError::from_app(AppError::NotFound, &c.loc))?;
    s.app
        .reset_two_factor(Some(&c.actor), id, &c.origin)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
