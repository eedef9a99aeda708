//! Who is calling: an API token (`Authorization: Bearer`) or the web UI's session
//! cookie. Cookie requests that change state must carry the session's CSRF token and must
//! not come from another site; API tokens are not sent by browsers, so they need neither.

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::{Lang, Loc};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hamkor_store::Actor;
use hamkor_store::users::User;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hamkor_session";
/// The header our JavaScript sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Reads one cookie from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The language for this request: the user's setting, a `lang` cookie, or the browser's.
pub fn request_lang(headers: &HeaderMap, user: Option<&User>) -> Lang {
    user.and_then(|u| u.language.as_deref())
        .and_then(Lang::parse)
        .or_else(|| cookie(headers, "hamkor_lang").and_then(Lang::parse))
        .unwrap_or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Lang::from_accept_language)
                .unwrap_or(Lang::En)
        })
}

/// An authenticated caller.
#[derive(Clone)]
pub struct Caller {
    pub user: User,
    pub actor: Actor,
    /// The session's CSRF token when the caller came with the session cookie.
    pub csrf: Option<String>,
    /// The session cookie value, for logout.
    pub session_token: Option<String>,
    pub loc: Loc,
}

impl Caller {
    /// Checks a CSRF token sent in a form field against the session's.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        match &self.csrf {
            Some(expected) => constant_time_eq(expected.as_bytes(), sent.as_bytes()),
            None => true,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

enum AuthFailure {
    /// No credentials at all.
    Missing,
    /// Credentials given but not valid.
    Invalid,
    /// A cookie request changing state without a valid CSRF token, or from another site.
    Csrf,
    Internal(String),
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `form_csrf_allowed`: the UI checks the CSRF token in the form body itself.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    form_csrf_allowed: bool,
) -> Result<Caller, AuthFailure> {
    let app = &state.app;
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() < 200)
            .ok_or(AuthFailure::Invalid)?;
        let user = app
            .token_user(token)
            .await
            .map_err(|e| AuthFailure::Internal(e.to_string()))?
            .ok_or(AuthFailure::Invalid)?;
        let actor = app
            .actor(&user)
            .await
            .map_err(|e| AuthFailure::Internal(e.to_string()))?;
        let loc = Loc::new(request_lang(&parts.headers, Some(&user))).in_zone(&user.time_zone);
        return Ok(Caller {
            user,
            actor,
            csrf: None,
            session_token: None,
            loc,
        });
    }
    let Some(token) =
        cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty() && t.len() < 200)
    else {
        return Err(AuthFailure::Missing);
    };
    let session = app
        .session(token)
        .await
        .map_err(|e| AuthFailure::Internal(e.to_string()))?
        .ok_or(AuthFailure::Invalid)?;
    if !is_safe(&parts.method) {
        let cross_site = parts
            .headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "cross-site");
        if cross_site {
            return Err(AuthFailure::Csrf);
        }
        let header_ok = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| constant_time_eq(v.as_bytes(), session.csrf_token.as_bytes()));
        if !header_ok && !form_csrf_allowed {
            return Err(AuthFailure::Csrf);
        }
    }
    let actor = app
        .actor(&session.user)
        .await
        .map_err(|e| AuthFailure::Internal(e.to_string()))?;
    let loc = Loc::new(request_lang(&parts.headers, Some(&session.user)))
        .in_zone(&session.user.time_zone);
    Ok(Caller {
        user: session.user,
        actor,
        csrf: Some(session.csrf_token),
        session_token: Some(token.to_string()),
        loc,
    })
}

/// An API caller; refuses with a problem response.
pub struct ApiUser(pub Caller);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state, false).await {
            Ok(c) => Ok(ApiUser(c)),
            Err(AuthFailure::Missing | AuthFailure::Invalid) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Send a valid API token as 'Authorization: Bearer <token>' or log in.",
            )),
            Err(AuthFailure::Csrf) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "CSRF check failed",
                "Requests made with the session cookie must send the X-CSRF-Token header and come from this site.",
            )),
            Err(AuthFailure::Internal(e)) => {
                tracing::error!(error = %e, "authentication failed");
                Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "Authentication could not be checked.",
                ))
            }
        }
    }
}

/// A web UI caller; without a session, sent to the login page. It refuses requests that
/// change state unless they carry the CSRF header: form posts use [`UiForm`], which checks
/// the form's `_csrf` field, so a handler cannot forget the check.
pub struct UiUser(pub Caller);

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        ui_caller(parts, state, false).await.map(UiUser)
    }
}

/// A web UI form post: the caller, and the form's fields after its `_csrf` field was
/// checked against the session (403 otherwise).
pub struct UiForm {
    pub caller: Caller,
    pub fields: Vec<(String, String)>,
}

impl UiForm {
    /// A field's value ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

impl axum::extract::FromRequest<AppState> for UiForm {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let caller = ui_caller(&mut parts, state, true).await?;
        let req = axum::extract::Request::from_parts(parts, body);
        let axum::extract::Form(fields) =
            axum::extract::Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
        let sent = fields
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !caller.csrf_ok(sent) {
            return Err((StatusCode::FORBIDDEN, "CSRF check failed").into_response());
        }
        Ok(UiForm { caller, fields })
    }
}

async fn ui_caller(
    parts: &mut Parts,
    state: &AppState,
    form_csrf: bool,
) -> Result<Caller, Response> {
    match authenticate(parts, state, form_csrf).await {
        Ok(c) if c.csrf.is_some() => Ok(c),
        Ok(_) | Err(AuthFailure::Missing | AuthFailure::Invalid) => {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let target =
                if is_safe(&parts.method) && next.starts_with('/') && !next.starts_with("//") {
                    format!("/login?next={}", urlencoding::encode(next))
                } else {
                    "/login".to_string()
                };
            Err(Redirect::to(&target).into_response())
        }
        Err(AuthFailure::Csrf) => Err((StatusCode::FORBIDDEN, "CSRF check failed").into_response()),
        Err(AuthFailure::Internal(e)) => {
            tracing::error!(error = %e, "authentication failed");
            Err((StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response())
        }
    }
}

/// A web UI file upload (`multipart/form-data`): the caller, the `_csrf` field checked
/// against the session (403 otherwise), and the file sent as `file`, if any.
pub struct UiUpload {
    pub caller: Caller,
    pub file: Option<(String, Vec<u8>)>,
    pub fields: Vec<(String, String)>,
}

impl axum::extract::FromRequest<AppState> for UiUpload {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let caller = ui_caller(&mut parts, state, true).await?;
        let req = axum::extract::Request::from_parts(parts, body);
        let mut multipart = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut file = None;
        let mut fields = Vec::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(IntoResponse::into_response)?
        {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                let file_name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(IntoResponse::into_response)?;
                if !file_name.is_empty() || !bytes.is_empty() {
                    file = Some((file_name, bytes.to_vec()));
                }
            } else {
                let text = field.text().await.map_err(IntoResponse::into_response)?;
                fields.push((name, text));
            }
        }
        let sent = fields
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !caller.csrf_ok(sent) {
            return Err((StatusCode::FORBIDDEN, "CSRF check failed").into_response());
        }
        Ok(UiUpload {
            caller,
            file,
            fields,
        })
    }
}
