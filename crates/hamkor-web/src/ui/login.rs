//! The second step of a login (a code from an authenticator app or a recovery code), the
//! enrolment that a role requiring 2FA forces after the password, and "Forgot password?".
//! A half-done login lives in the short-lived `hamkor_login` cookie and grants nothing.

use super::{Frame, message, render, safe_next, session_cookie};
use crate::AppState;
use crate::auth::{ClientOrigin, cookie, request_lang};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use hamkor_app::AppError;
use hamkor_app::auth::{NewSession, PENDING_MINUTES};
use hamkor_store::users::User;

/// The cookie of a half-done login.
pub const PENDING_COOKIE: &str = "hamkor_login";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/code", get(code_page).post(code_submit))
        .route("/login/enrol", get(enrol_page).post(enrol_submit))
        .route("/forgot", get(forgot_page).post(forgot_submit))
        .route("/reset/{token}", get(reset_page).post(reset_submit))
}

/// The `Set-Cookie` value of a half-done login (empty `value`: remove it).
pub fn pending_cookie(state: &AppState, value: &str) -> String {
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let age = if value.is_empty() {
        0
    } else {
        PENDING_MINUTES * 60
    };
    format!(
        "{PENDING_COOKIE}={value}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={age}{secure}"
    )
}

/// Refuses a form posted from another site (login CSRF): by `Sec-Fetch-Site`, and by
/// `Origin` for browsers that do not send it.
pub fn cross_site_post(headers: &HeaderMap, state: &AppState) -> bool {
    let cross_site =
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
    let foreign_origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| {
            o != "null" && o.trim_end_matches('/') != super::origin_of(&state.config.base_url)
        });
    cross_site || foreign_origin
}

/// A form posted from this site: a post from another site is refused with 403 before
/// the handler runs (see [`cross_site_post`]). Every login-side form takes it.
pub struct SameSitePost;

impl FromRequestParts<AppState> for SameSitePost {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if cross_site_post(&parts.headers, state) {
            return Err((StatusCode::FORBIDDEN, "CSRF check failed").into_response());
        }
        Ok(SameSitePost)
    }
}

pub(super) fn field<'a>(form: &'a [(String, String)], k: &str) -> &'a str {
    form.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A redirect that logs in: the session cookie set, the pending one removed.
pub fn logged_in(state: &AppState, session: &NewSession, next: &str) -> Response {
    let mut resp = Redirect::to(&safe_next(Some(next))).into_response();
    with_cookies(state, &mut resp, Some(&session.token), Some(""));
    resp
}

/// Sets the session cookie and/or the pending-login cookie on a response.
pub fn with_cookies(
    state: &AppState,
    resp: &mut Response,
    session: Option<&str>,
    pending: Option<&str>,
) {
    if let Some(s) = session
        && let Ok(v) =
            HeaderValue::from_str(&session_cookie(state, s, hamkor_app::auth::SESSION_DAYS))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some(p) = pending
        && let Ok(v) = HeaderValue::from_str(&pending_cookie(state, p))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A login that must start again (the half-done one expired or never was).
fn start_again(state: &AppState) -> Response {
    let mut resp = Redirect::to("/login").into_response();
    with_cookies(state, &mut resp, None, Some(""));
    resp
}

/// The page a locked login gets: 429 with `Retry-After`.
pub fn too_many(loc: Loc, secs: u64, page: impl FnOnce(String) -> Response) -> Response {
    let minutes = secs.div_ceil(60).max(1);
    let mut resp = page(loc.t_args("login-locked", &[("minutes", minutes.to_string())]));
    *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    error: Option<String>,
    next: String,
}

fn code_view(loc: Loc, error: Option<String>, next: String) -> Response {
    render(&CodePage {
        loc,
        user: None,
        csrf: String::new(),
        langs: Lang::ALL,
        search_value: String::new(),
        error,
        next,
    })
}

async fn code_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    let live = match cookie(&headers, PENDING_COOKIE) {
        Some(t) => matches!(
            s.app
                .pending_user(t, hamkor_store::users::Stage::SecondFactor)
                .await,
            Ok(Some(_))
        ),
        None => false,
    };
    if !live {
        return start_again(&s);
    }
    code_view(loc, None, safe_next(Some(field(&q, "next"))))
}

async fn code_submit(
    State(s): State<AppState>,
    _: SameSitePost,
    headers: HeaderMap,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    let next = safe_next(Some(field(&form, "next")));
    let Some(pending) = cookie(&headers, PENDING_COOKIE) else {
        return start_again(&s);
    };
    match s
        .app
        .login_second_factor(pending, field(&form, "code"), &origin)
        .await
    {
        Ok(session) => logged_in(&s, &session, &next),
        Err(AppError::TooMany(secs)) => too_many(loc, secs, |m| code_view(loc, Some(m), next)),
        Err(AppError::Invalid(v)) => {
            let mut resp = code_view(loc, Some(loc.errors(&v)), next);
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            resp
        }
        Err(AppError::Unauthorized) => start_again(&s),
        Err(e) => {
            tracing::error!(error = %e, "second login step failed");
            (StatusCode::INTERNAL_SERVER_ERROR, loc.t("error-text")).into_response()
        }
    }
}

/// A QR code as inline SVG, drawn from the code's modules only: no text of the encoded
/// data reaches the markup.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let w = code.width();
    let quiet = 4;
    let mut path = String::new();
    for (i, c) in code.to_colors().into_iter().enumerate() {
        if c == qrcode::Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % w + quiet, i / w + quiet));
        }
    }
    let size = w + 2 * quiet;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"220\" height=\"220\" role=\"img\" class=\"qr\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[derive(Template)]
#[template(path = "two_factor_setup.html")]
pub struct SetupPage {
    pub loc: Loc,
    pub user: Option<User>,
    pub csrf: String,
    pub langs: [Lang; 3],
    pub search_value: String,
    /// Why the user is here when they did not ask (their role requires 2FA).
    pub required: bool,
    pub qr: String,
    pub secret: String,
    pub action: String,
    pub next: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct CodesPage {
    pub loc: Loc,
    pub user: Option<User>,
    pub csrf: String,
    pub langs: [Lang; 3],
    pub search_value: String,
    pub codes: Vec<String>,
    pub continue_to: String,
}

async fn enrol_view(
    s: &AppState,
    loc: Loc,
    pending: &str,
    next: String,
    error: Option<String>,
) -> Response {
    match s.app.login_enrolment(pending).await {
        Ok((_, e)) => {
            let status = if error.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            };
            let page = SetupPage {
                loc,
                user: None,
                csrf: String::new(),
                langs: Lang::ALL,
                search_value: String::new(),
                required: true,
                qr: qr_svg(&e.url).unwrap_or_default(),
                secret: e.secret,
                action: "/login/enrol".into(),
                next,
                error,
            };
            (status, render(&page)).into_response()
        }
        Err(AppError::Unauthorized) => start_again(s),
        Err(e) => {
            tracing::error!(error = %e, "2FA enrolment failed");
            (StatusCode::INTERNAL_SERVER_ERROR, loc.t("error-text")).into_response()
        }
    }
}

async fn enrol_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    let Some(pending) = cookie(&headers, PENDING_COOKIE) else {
        return start_again(&s);
    };
    enrol_view(&s, loc, pending, safe_next(Some(field(&q, "next"))), None).await
}

async fn enrol_submit(
    State(s): State<AppState>,
    _: SameSitePost,
    headers: HeaderMap,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    let next = safe_next(Some(field(&form, "next")));
    let Some(pending) = cookie(&headers, PENDING_COOKIE) else {
        return start_again(&s);
    };
    match s
        .app
        .login_enrol(pending, field(&form, "code"), &origin)
        .await
    {
        Ok((session, codes)) => {
            let loc = Loc::new(request_lang(&headers, Some(&session.user)));
            let page = CodesPage {
                loc,
                user: None,
                csrf: String::new(),
                langs: Lang::ALL,
                search_value: String::new(),
                codes,
                continue_to: next,
            };
            let mut resp = render(&page);
            with_cookies(&s, &mut resp, Some(&session.token), Some(""));
            resp
        }
        Err(AppError::TooMany(secs)) => too_many(loc, secs, |m| {
            message(
                Frame::anonymous(loc),
                StatusCode::OK,
                loc.t("login-title"),
                m,
            )
        }),
        Err(AppError::Invalid(v)) => {
            // The page shows a new secret: the code was for the old one.
            enrol_view(&s, loc, pending, next, Some(loc.errors(&v))).await
        }
        Err(AppError::Unauthorized | AppError::NotFound) => start_again(&s),
        Err(e) => {
            tracing::error!(error = %e, "2FA enrolment failed");
            (StatusCode::INTERNAL_SERVER_ERROR, loc.t("error-text")).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    sent: bool,
}

async fn forgot_page(headers: HeaderMap) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    render(&ForgotPage {
        loc,
        user: None,
        csrf: String::new(),
        langs: Lang::ALL,
        search_value: String::new(),
        sent: false,
    })
}

/// The reset e-mail, in the user's language.
fn reset_mail(user: &User, link: &str, fallback: Lang) -> hamkor_app::mail::Mail {
    let lang = user
        .language
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(fallback);
    let loc = Loc::new(lang);
    let minutes = hamkor_app::auth::RESET_MINUTES.to_string();
    hamkor_app::mail::Mail {
        to: user.email.clone(),
        to_name: Some(user.name.clone()),
        subject: loc.t("reset-mail-subject"),
        text: loc.t_args(
            "reset-mail-body",
            &[("link", link.to_string()), ("minutes", minutes)],
        ),
        html: None,
        attachments: Vec::new(),
    }
}

/// Answers the same whether or not the e-mail is an account's: the mail (if any) goes
/// out in the background, so the answer takes as long either way.
async fn forgot_submit(
    State(s): State<AppState>,
    _: SameSitePost,
    headers: HeaderMap,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let lang = request_lang(&headers, None);
    let loc = Loc::new(lang);
    match s
        .app
        .request_password_reset(field(&form, "email"), &origin)
        .await
    {
        Ok(Some((user, link))) => match s.app.mailer.clone() {
            Some(mailer) => {
                let mail = reset_mail(&user, &link, lang);
                tokio::spawn(async move {
                    if let Err(e) = mailer.send(&mail).await {
                        tracing::warn!(user = %user.id, error = %e, "password reset e-mail failed");
                    }
                });
            }
            None => {
                tracing::warn!(user = %user.id, "password reset asked, but no SMTP server is configured")
            }
        },
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "password reset request failed"),
    }
    render(&ForgotPage {
        loc,
        user: None,
        csrf: String::new(),
        langs: Lang::ALL,
        search_value: String::new(),
        sent: true,
    })
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    email: String,
    error: Option<String>,
}

fn reset_invalid(loc: Loc) -> Response {
    message(
        Frame::anonymous(loc),
        StatusCode::NOT_FOUND,
        loc.t("reset-title"),
        loc.t("reset-invalid"),
    )
}

async fn reset_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    match s.app.reset_user(&token).await {
        Ok(Some(u)) => render(&ResetPage {
            loc,
            user: None,
            csrf: String::new(),
            langs: Lang::ALL,
            search_value: String::new(),
            email: u.email,
            error: None,
        }),
        _ => reset_invalid(loc),
    }
}

async fn reset_submit(
    State(s): State<AppState>,
    _: SameSitePost,
    headers: HeaderMap,
    Path(token): Path<String>,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let loc = Loc::new(request_lang(&headers, None));
    match s
        .app
        .reset_password(&token, field(&form, "password"), &origin)
        .await
    {
        Ok(_) => Redirect::to("/login?reset=1").into_response(),
        Err(AppError::Invalid(v)) => match s.app.reset_user(&token).await {
            Ok(Some(u)) => {
                let page = ResetPage {
                    loc,
                    user: None,
                    csrf: String::new(),
                    langs: Lang::ALL,
                    search_value: String::new(),
                    email: u.email,
                    error: Some(loc.errors(&v)),
                };
                (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
            }
            _ => reset_invalid(loc),
        },
        Err(_) => reset_invalid(loc),
    }
}

#[cfg(test)]
mod tests {
    use super::qr_svg;

    #[test]
    fn the_qr_code_carries_no_text_of_its_data() {
        let svg = qr_svg("otpauth://totp/Hamkor:<script>alert(1)</script>?secret=ABC").unwrap();
        assert!(svg.starts_with("<svg "));
        assert!(!svg.contains("script") && !svg.contains("otpauth"));
        assert_eq!(
            svg.matches('<').count(),
            4,
            "svg, rect, path and the closing tag only"
        );
    }
}
