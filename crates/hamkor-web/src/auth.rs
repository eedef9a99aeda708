//! Who is calling: an API token (`Authorization: Bearer`) or the web UI's session
//! cookie. Cookie requests that change state must carry the session's CSRF token and must
//! not come from another site; API tokens are not sent by browsers, so they need neither.

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::{Lang, Loc};
use crate::refusals::note_caller;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hamkor_store::Actor;
use hamkor_store::audit::Origin;
use hamkor_store::users::User;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

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

/// The client's address: the TCP peer's, unless the peer is a trusted proxy, in which
/// case `X-Forwarded-For` is read from the right, past the trusted proxies, and the first
/// address not trusted is the client's. A forged `X-Forwarded-For` from anyone else is
/// ignored.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted: &[IpNet]) -> Option<IpAddr> {
    let norm = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = norm(peer?);
    if !is_trusted(&client) {
        return Some(client);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>().map(norm) else {
            // A malformed entry: what lies left of it cannot be trusted.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// Where a request comes from, for the audit log and the login rules.
pub fn origin_of(parts: &Parts, state: &AppState) -> Origin {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    Origin {
        ip: client_ip(&parts.headers, peer, &state.config.trusted_proxies).map(|i| i.to_string()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(300).collect()),
    }
}

/// The request's [`Origin`], as an extractor.
pub struct ClientOrigin(pub Origin);

impl FromRequestParts<AppState> for ClientOrigin {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(ClientOrigin(origin_of(parts, state)))
    }
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
    /// Where the request came from.
    pub origin: Origin,
    /// A session user whose role requires 2FA and who has none: they may only set it up
    /// (or log out) until they do. (API tokens are separate credentials: never set.)
    pub must_enrol: bool,
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
    /// The database is busy: 503 with `Retry-After`.
    Busy(u64),
    /// Valid credentials used from a network the user's login rule does not allow (an
    /// office-only user outside the office ranges, or the reverse): 403.
    Network,
    Internal(String),
}

impl From<hamkor_app::AppError> for AuthFailure {
    fn from(e: hamkor_app::AppError) -> Self {
        match e {
            hamkor_app::AppError::Unavailable(secs) => AuthFailure::Busy(secs),
            other => AuthFailure::Internal(other.to_string()),
        }
    }
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
            .map_err(AuthFailure::from)?
            .ok_or(AuthFailure::Invalid)?;
        let origin = origin_of(parts, state);
        note_caller(parts, user.id);
        if !app
            .network_allows(&user, &origin)
            .await
            .map_err(AuthFailure::from)?
        {
            return Err(AuthFailure::Network);
        }
        let mut actor = app.actor(&user).await.map_err(AuthFailure::from)?;
        actor.origin = std::sync::Arc::new(origin.clone());
        let loc = Loc::new(request_lang(&parts.headers, Some(&user))).in_zone(&user.time_zone);
        return Ok(Caller {
            user,
            actor,
            csrf: None,
            session_token: None,
            loc,
            origin,
            must_enrol: false,
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
        .map_err(AuthFailure::from)?
        .ok_or(AuthFailure::Invalid)?;
    note_caller(parts, session.user.id);
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
    let origin = origin_of(parts, state);
    // The login rule holds for every request, not only the login: a session begun in the
    // office is not used from outside it.
    if !app
        .network_allows(&session.user, &origin)
        .await
        .map_err(AuthFailure::from)?
    {
        return Err(AuthFailure::Network);
    }
    let mut actor = app.actor(&session.user).await.map_err(AuthFailure::from)?;
    actor.origin = std::sync::Arc::new(origin.clone());
    let loc = Loc::new(request_lang(&parts.headers, Some(&session.user)))
        .in_zone(&session.user.time_zone);
    let must_enrol = !session.user.two_factor
        && app
            .two_factor_required(session.user.role)
            .await
            .map_err(AuthFailure::from)?;
    Ok(Caller {
        user: session.user,
        actor,
        csrf: Some(session.csrf_token),
        session_token: Some(token.to_string()),
        loc,
        origin,
        must_enrol,
    })
}

/// An API caller; refuses with a problem response.
pub struct ApiUser(pub Caller);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state, false).await {
            Ok(c) if c.must_enrol => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Two-factor authentication required",
                "Your role requires two-factor authentication: set it up in the web UI first.",
            )),
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
            Err(AuthFailure::Busy(secs)) => Err(ApiError::busy(secs)),
            Err(AuthFailure::Network) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Not from this network",
                "Your account may not be used from this network (the login rule set by an administrator).",
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
        if !caller.csrf_in(&fields) {
            return Err(csrf_refused());
        }
        Ok(UiForm { caller, fields })
    }
}

/// The pages a user who must set up 2FA may still reach.
fn enrolment_path(path: &str) -> bool {
    path.starts_with("/settings/two-factor") || path == "/logout" || path == "/settings/language"
}

async fn ui_caller(
    parts: &mut Parts,
    state: &AppState,
    form_csrf: bool,
) -> Result<Caller, Response> {
    match authenticate(parts, state, form_csrf).await {
        Ok(c) if c.must_enrol && !enrolment_path(parts.uri.path()) => {
            Err(Redirect::to("/settings/two-factor").into_response())
        }
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
        Err(AuthFailure::Csrf) => Err(csrf_refused()),
        Err(AuthFailure::Network) => {
            let loc = crate::i18n::Loc::new(request_lang(&parts.headers, None));
            Err(crate::ui::message(
                crate::ui::Frame::anonymous(loc),
                StatusCode::FORBIDDEN,
                loc.t("forbidden-title"),
                loc.t("session-network-refused"),
            ))
        }
        Err(AuthFailure::Busy(secs)) => Err(crate::overload::busy_page(
            crate::ui::Frame::anonymous(crate::i18n::Loc::new(request_lang(&parts.headers, None))),
            secs,
        )),
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
        let UiMultipart {
            caller,
            mut multipart,
        } = UiMultipart::from_request(req, state).await?;
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
        if !caller.csrf_in(&fields) {
            return Err(csrf_refused());
        }
        Ok(UiUpload {
            caller,
            file,
            fields,
        })
    }
}

/// A web UI upload read as it arrives (`multipart/form-data`): the caller, with the
/// form still to read; the handler checks `_csrf` ([`Caller::csrf_in`]) before
/// it takes a byte of the file. For files too large to hold in memory.
pub struct UiMultipart {
    pub caller: Caller,
    pub multipart: axum::extract::Multipart,
}

impl axum::extract::FromRequest<AppState> for UiMultipart {
    type Rejection = Response;
    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let caller = ui_caller(&mut parts, state, true).await?;
        let req = axum::extract::Request::from_parts(parts, body);
        let multipart = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(UiMultipart { caller, multipart })
    }
}

/// The answer to a form whose CSRF token does not match its session.
pub fn csrf_refused() -> Response {
    (StatusCode::FORBIDDEN, "CSRF check failed").into_response()
}

impl Caller {
    /// Whether the `_csrf` field among a form's `fields` matches the session (else the
    /// form is answered [`csrf_refused`]).
    pub fn csrf_in(&self, fields: &[(String, String)]) -> bool {
        let sent = fields
            .iter()
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        self.csrf_ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_ip(&xff("10.9.9.9"), ip("203.0.113.5"), &proxies),
            ip("203.0.113.5")
        );
        // A trusted proxy's: the right-most address that is not a trusted proxy.
        assert_eq!(
            client_ip(
                &xff("1.2.3.4, 198.51.100.7, 10.0.0.2"),
                ip("10.0.0.1"),
                &proxies
            ),
            ip("198.51.100.7")
        );
        // Only proxies: the left-most.
        assert_eq!(
            client_ip(&xff("10.0.0.3"), ip("10.0.0.1"), &proxies),
            ip("10.0.0.3")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(&HeaderMap::new(), ip("10.0.0.1"), &proxies),
            ip("10.0.0.1")
        );
        // Garbage stops the walk at the last good hop.
        assert_eq!(
            client_ip(
                &xff("1.2.3.4, nonsense, 10.0.0.2"),
                ip("10.0.0.1"),
                &proxies
            ),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_ip(&xff("1.2.3.4"), ip("::ffff:203.0.113.5"), &proxies),
            ip("203.0.113.5")
        );
    }
}
