//! The server-rendered web UI: login and setup, list views, record pages and forms for
//! every object, the global search, and the language switch. Pages work without
//! JavaScript; `assets/app.js` only adds conveniences.

pub(crate) mod access;
mod dedup;
mod documents;
mod imports;
mod leads;
mod lists;
pub(crate) mod login;
pub(crate) mod planning;
mod quick;
pub(crate) mod records;
pub(crate) mod sales;
mod security;
pub(crate) use security::{audit_cursor as security_cursor, audit_filter as security_filter};
mod settings;

use crate::AppState;
use crate::auth::{ClientOrigin, SESSION_COOKIE, UiForm, request_lang};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_store::users::User;
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// Fields every page's frame needs.
pub struct Frame {
    pub loc: Loc,
    pub user: Option<User>,
    pub csrf: String,
    pub langs: [Lang; 3],
    pub search_value: String,
}

impl Frame {
    pub fn anonymous(loc: Loc) -> Self {
        Frame {
            loc,
            user: None,
            csrf: String::new(),
            langs: Lang::ALL,
            search_value: String::new(),
        }
    }
    pub fn for_caller(c: &crate::auth::Caller) -> Self {
        Frame {
            loc: c.loc,
            user: Some(c.user.clone()),
            csrf: c.csrf.clone().unwrap_or_default(),
            langs: Lang::ALL,
            search_value: String::new(),
        }
    }
}

/// Renders a template into a response (a template error is logged and is a 500).
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub loc: Loc,
    pub user: Option<User>,
    pub csrf: String,
    pub langs: [Lang; 3],
    pub search_value: String,
    pub title: String,
    pub text: String,
}

pub fn message(frame: Frame, status: StatusCode, title: String, text: String) -> Response {
    let page = MessagePage {
        loc: frame.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: frame.search_value,
        title,
        text,
    };
    (status, render(&page)).into_response()
}

pub fn not_found_page() -> Response {
    let loc = Loc::new(Lang::En);
    message(
        Frame::anonymous(loc),
        StatusCode::NOT_FOUND,
        loc.t("not-found-title"),
        loc.t("not-found-text"),
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/my-day") }))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_page).post(setup_submit))
        .route("/settings/language", post(set_language))
        .route("/assets/{*path}", get(asset))
        .merge(login::routes())
        .merge(records::routes())
        .merge(dedup::routes())
        .merge(quick::routes())
        .merge(lists::routes())
        .merge(settings::routes())
        .merge(access::routes())
        .merge(security::routes())
        .merge(planning::routes())
        .merge(sales::routes())
        .merge(leads::import_routes())
        .merge(leads::routes())
        .merge(documents::routes())
        .merge(documents::settings_routes())
        .merge(imports::routes())
}

/// Security headers on every response: no framing, no sniffing, a strict CSP (our JS
/// and CSS come from our own origin only).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
    {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(file) = Assets::get(&path) else {
        return not_found_page();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..8]));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mime = match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    error: Option<String>,
    notice: Option<String>,
    email: String,
    next: String,
}

/// A path on this site to go to after a login: anything else (another host, `//host`,
/// backslashes, or whitespace and control characters that browsers drop) becomes `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_whitespace() || c.is_control())
                && n.len() <= 2000
                && !n.starts_with("/login") =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

async fn login_page(headers: HeaderMap, Query(q): Query<Vec<(String, String)>>) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    let next = safe_next(q.iter().find(|(k, _)| k == "next").map(|(_, v)| v.as_str()));
    let notice = q
        .iter()
        .any(|(k, v)| k == "reset" && v == "1")
        .then(|| loc.t("reset-done"));
    render(&LoginPage {
        loc,
        user: None,
        csrf: String::new(),
        langs: Lang::ALL,
        search_value: String::new(),
        error: None,
        notice,
        email: String::new(),
        next,
    })
}

/// `scheme://host[:port]` of a base URL.
pub(crate) fn origin_of(base: &str) -> &str {
    match base.find("://") {
        Some(i) => match base[i + 3..].find('/') {
            Some(j) => &base[..i + 3 + j],
            None => base,
        },
        None => base,
    }
}

pub(crate) fn session_cookie(state: &AppState, value: &str, max_age_days: i64) -> String {
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age_days * 86400
    )
}

async fn login_submit(
    State(s): State<AppState>,
    // Logging in from another site is refused (no login CSRF).
    _: login::SameSitePost,
    headers: HeaderMap,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    use hamkor_app::AppError;
    use hamkor_app::auth::LoginOutcome;
    let get = |k: &str| login::field(&form, k);
    let loc = Loc::new(request_lang(&headers, None));
    let next = safe_next(Some(get("next")));
    let page = |error: String, status: StatusCode| {
        let page = LoginPage {
            loc,
            user: None,
            csrf: String::new(),
            langs: Lang::ALL,
            search_value: String::new(),
            error: Some(error),
            notice: None,
            email: get("email").chars().take(254).collect(),
            next: next.clone(),
        };
        (status, render(&page)).into_response()
    };
    match s.app.login(get("email"), get("password"), &origin).await {
        Ok(LoginOutcome::Done(session)) => login::logged_in(&s, &session, &next),
        Ok(LoginOutcome::SecondFactor(p)) => {
            let mut resp =
                Redirect::to(&format!("/login/code?next={}", urlencoding::encode(&next)))
                    .into_response();
            login::with_cookies(&s, &mut resp, None, Some(&p.token));
            resp
        }
        Ok(LoginOutcome::Enrol(p)) => {
            let mut resp =
                Redirect::to(&format!("/login/enrol?next={}", urlencoding::encode(&next)))
                    .into_response();
            login::with_cookies(&s, &mut resp, None, Some(&p.token));
            resp
        }
        Err(AppError::TooMany(secs)) => {
            login::too_many(loc, secs, |m| page(m, StatusCode::TOO_MANY_REQUESTS))
        }
        Err(AppError::Forbidden) => page(loc.t("login-network-refused"), StatusCode::FORBIDDEN),
        Err(AppError::Unauthorized) => page(loc.t("login-failed"), StatusCode::UNAUTHORIZED),
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            page(loc.t("error-text"), StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

async fn logout(
    State(s): State<AppState>,
    UiForm {
        caller: c,
        fields: _,
    }: UiForm,
) -> Response {
    if let Some(t) = &c.session_token {
        let _ = s.app.logout(t, &c.origin).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&s, "", 0)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn set_language(State(s): State<AppState>, headers: HeaderMap, form: UiForm) -> Response {
    let c = &form.caller;
    if let Some(lang) = Lang::parse(form.get("language")) {
        let _ = s
            .app
            .set_preferences(c.user.id, Some(lang.code()), None)
            .await;
    }
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix(&s.config.base_url))
        .map(|p| safe_next(Some(p)))
        .unwrap_or_else(|| "/".into());
    Redirect::to(&back).into_response()
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    name: String,
    email: String,
    error: Option<String>,
}

async fn setup_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    match s.app.setup_user(&token).await {
        Ok(Some(u)) => render(&SetupPage {
            loc,
            user: None,
            csrf: String::new(),
            langs: Lang::ALL,
            search_value: String::new(),
            name: u.name,
            email: u.email,
            error: None,
        }),
        _ => message(
            Frame::anonymous(loc),
            StatusCode::NOT_FOUND,
            loc.t("setup-title"),
            loc.t("setup-invalid"),
        ),
    }
}

async fn setup_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    let password = form
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let Ok(Some(user)) = s.app.setup_user(&token).await else {
        return message(
            Frame::anonymous(loc),
            StatusCode::NOT_FOUND,
            loc.t("setup-title"),
            loc.t("setup-invalid"),
        );
    };
    match s.app.complete_setup(&token, password, &origin).await {
        Ok(_) => Redirect::to("/login").into_response(),
        Err(hamkor_app::AppError::Invalid(v)) => {
            let error = v.0.first().map(|e| loc.field_error(e));
            let page = SetupPage {
                loc,
                user: None,
                csrf: String::new(),
                langs: Lang::ALL,
                search_value: String::new(),
                name: user.name,
                email: user.email,
                error,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
        Err(_) => message(
            Frame::anonymous(loc),
            StatusCode::NOT_FOUND,
            loc.t("setup-title"),
            loc.t("setup-invalid"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{origin_of, safe_next};

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/contacts?q=a")), "/contacts?q=a");
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/x",
            "https://evil.example",
            "/\\evil",
            "/login?next=/x",
            " /x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }

    #[test]
    fn origins_are_scheme_and_host() {
        assert_eq!(
            origin_of("https://crm.firma.uz/app"),
            "https://crm.firma.uz"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
