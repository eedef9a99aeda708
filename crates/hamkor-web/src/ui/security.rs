//! Security pages: one's own two-factor authentication (`/settings/two-factor`), the
//! administrator's login rules (`/settings/security`) and the audit log
//! (`/settings/audit`).

use super::login::{CodesPage, SetupPage, qr_svg};
use super::settings::{ProfileNotes, forbidden, profile_page};
use super::{Frame, render};
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::security::{LoginRules, Network, parse_networks};
use hamkor_domain::Role;
use hamkor_store::audit::AuditFilter;
use hamkor_store::users::User;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/two-factor", get(setup_page))
        .route("/settings/two-factor/confirm", post(confirm))
        .route("/settings/two-factor/disable", post(disable))
        .route("/settings/two-factor/recovery-codes", post(renew_codes))
        .route("/settings/security", get(security_page).post(save_security))
        .route("/settings/audit", get(audit_page))
}

async fn setup_view(s: &AppState, c: &Caller, error: Option<String>) -> Response {
    if c.user.two_factor {
        return Redirect::to("/settings/tokens#two-factor").into_response();
    }
    let required = s
        .app
        .two_factor_required(c.user.role)
        .await
        .unwrap_or(false);
    match s.app.start_two_factor(&c.user).await {
        Ok(e) => {
            let frame = Frame::for_caller(c);
            let page = SetupPage {
                loc: c.loc,
                user: frame.user,
                csrf: frame.csrf,
                langs: frame.langs,
                search_value: String::new(),
                required,
                qr: qr_svg(&e.url).unwrap_or_default(),
                secret: e.secret,
                action: "/settings/two-factor/confirm".into(),
                next: "/settings/tokens".into(),
                error: error.clone(),
            };
            let status = if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            (status, render(&page)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "2FA set-up failed");
            (StatusCode::INTERNAL_SERVER_ERROR, c.loc.t("error-text")).into_response()
        }
    }
}

async fn setup_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    setup_view(&s, &c, None).await
}

fn codes_page(c: &Caller, codes: Vec<String>) -> Response {
    let frame = Frame::for_caller(c);
    render(&CodesPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        codes,
        continue_to: "/settings/tokens#two-factor".into(),
    })
}

async fn confirm(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    match s
        .app
        .confirm_two_factor(&c.user, form.get("code"), &c.origin)
        .await
    {
        Ok(codes) => codes_page(c, codes),
        Err(AppError::Invalid(v)) => setup_view(&s, c, Some(c.loc.errors(&v))).await,
        Err(AppError::NotFound) => Redirect::to("/settings/two-factor").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "2FA confirmation failed");
            (StatusCode::INTERNAL_SERVER_ERROR, c.loc.t("error-text")).into_response()
        }
    }
}

async fn disable(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let notes = match s
        .app
        .disable_own_two_factor(&c.user, form.get("current_password"), &c.origin)
        .await
    {
        Ok(()) => return Redirect::to("/settings/tokens#two-factor").into_response(),
        Err(AppError::Invalid(v)) => ProfileNotes {
            two_factor_error: Some(c.loc.errors(&v)),
            ..Default::default()
        },
        Err(AppError::TooMany(secs)) => ProfileNotes {
            two_factor_error: Some(c.loc.t_args(
                "login-locked",
                &[("minutes", secs.div_ceil(60).to_string())],
            )),
            ..Default::default()
        },
        Err(_) => ProfileNotes {
            two_factor_error: Some(c.loc.t("error-text")),
            ..Default::default()
        },
    };
    profile_page(&s, c, None, None, None, None, notes).await
}

async fn renew_codes(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let notes = match s
        .app
        .renew_recovery_codes(&c.user, form.get("current_password"), &c.origin)
        .await
    {
        Ok(codes) => return codes_page(c, codes),
        Err(AppError::Invalid(v)) => ProfileNotes {
            two_factor_error: Some(c.loc.errors(&v)),
            ..Default::default()
        },
        Err(AppError::TooMany(secs)) => ProfileNotes {
            two_factor_error: Some(c.loc.t_args(
                "login-locked",
                &[("minutes", secs.div_ceil(60).to_string())],
            )),
            ..Default::default()
        },
        Err(_) => ProfileNotes {
            two_factor_error: Some(c.loc.t("error-text")),
            ..Default::default()
        },
    };
    profile_page(&s, c, None, None, None, None, notes).await
}

/// One role's row of the login rules.
pub struct RoleRule {
    role: String,
    label: String,
    two_factor: bool,
    network: String,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    roles: Vec<RoleRule>,
    networks: Vec<(String, String)>,
    office: String,
    error: Option<String>,
}

async fn security_view(
    s: &AppState,
    c: &Caller,
    error: Option<String>,
    office_typed: Option<String>,
) -> Response {
    if !c.actor.is_admin() {
        return forbidden(c);
    }
    let loc = c.loc;
    let rules = s
        .app
        .login_rules()
        .await
        .map(|r| (*r).clone())
        .unwrap_or_default();
    let frame = Frame::for_caller(c);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SecurityPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        roles: Role::ALL
            .iter()
            .map(|r| RoleRule {
                role: r.as_str().to_string(),
                label: loc.t(&format!("role-{}", r.as_str())),
                two_factor: rules.two_factor_roles.contains(r),
                network: rules
                    .role_networks
                    .get(r)
                    .copied()
                    .unwrap_or(Network::Any)
                    .as_str()
                    .to_string(),
            })
            .collect(),
        networks: Network::ALL
            .iter()
            .map(|n| {
                (
                    n.as_str().to_string(),
                    loc.t(&format!("network-{}", n.as_str())),
                )
            })
            .collect(),
        office: office_typed.unwrap_or_else(|| {
            rules
                .office_networks
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        }),
        error,
    };
    (status, render(&page)).into_response()
}

async fn security_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    security_view(&s, &c, None, None).await
}

async fn save_security(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    if !c.actor.is_admin() {
        return forbidden(c);
    }
    let office = form.get("office_networks").to_string();
    let office_networks = match parse_networks(&office) {
        Ok(n) => n,
        Err(bad) => {
            let msg = c.loc.t_args("error-network", &[("value", bad)]);
            return security_view(&s, c, Some(msg), Some(office)).await;
        }
    };
    let rules = LoginRules {
        two_factor_roles: Role::ALL
            .into_iter()
            .filter(|r| form.get(&format!("two_factor_{}", r.as_str())) == "on")
            .collect(),
        office_networks,
        role_networks: Role::ALL
            .into_iter()
            .filter_map(|r| {
                Network::parse(form.get(&format!("network_{}", r.as_str()))).map(|n| (r, n))
            })
            .collect(),
    };
    match s.app.set_login_rules(&c.actor, rules, &c.origin).await {
        Ok(()) => Redirect::to("/settings/security").into_response(),
        Err(AppError::Forbidden) => forbidden(c),
        Err(_) => security_view(&s, c, Some(c.loc.t("error-text")), Some(office)).await,
    }
}

/// One line of the audit page.
pub struct AuditRow {
    at: String,
    who: String,
    action: String,
    object: String,
    record: String,
    ip: String,
    user_agent: String,
    details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    users: Vec<(String, String)>,
    objects: Vec<String>,
    actions: Vec<&'static str>,
    who: String,
    action: String,
    object: String,
    from: String,
    to: String,
    rows: Vec<AuditRow>,
    older: Option<String>,
    error: Option<String>,
}

/// Actions the filter offers (any other is accepted typed in the address).
pub const KNOWN_ACTIONS: &[&str] = &[
    "create",
    "update",
    "delete",
    "restore",
    "export",
    "login",
    "login_failed",
    "login_locked",
    "login_refused_network",
    "second_factor_failed",
    "logout",
    "password_change",
    "password_confirm_failed",
    "password_reset_request",
    "password_reset",
    "password_set",
    "password_setup",
    "two_factor_enable",
    "two_factor_disable",
    "two_factor_reset",
    "recovery_codes_renew",
    "login_rules_change",
    "login_network_change",
    "user_disable",
    "user_enable",
    "user_access_change",
    "access_denied",
    "permissions_changed",
    "field_rules_changed",
    "team_created",
    "team_changed",
    "share",
    "unshare",
    "attach",
    "detach",
    "convert",
    "import",
    "merge",
    "merge_undo",
];

/// Reads the audit filter from query parameters (`user_id`, `action`, `object`,
/// `record_id`, `from`, `to` as dates or RFC 3339 times, `before` as a cursor); the
/// error names the parameter.
pub fn audit_filter(
    q: &[(String, String)],
    loc: &Loc,
) -> Result<AuditFilter, hamkor_domain::FieldError> {
    use hamkor_domain::{FieldError, Timestamp};
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let id = |k: &'static str| -> Result<Option<hamkor_domain::Id>, FieldError> {
        get(k)
            .map(|v| v.parse().map_err(|_| FieldError::new(k, "error-id")))
            .transpose()
    };
    let time = |k: &'static str, end_of_day: bool| -> Result<Option<Timestamp>, FieldError> {
        let Some(v) = get(k) else { return Ok(None) };
        if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            let d = if end_of_day {
                d.succ_opt().unwrap_or(d)
            } else {
                d
            };
            let local = d
                .and_hms_opt(0, 0, 0)
                .and_then(|n| n.and_local_timezone(loc.tz).earliest())
                .ok_or_else(|| FieldError::new(k, "error-type-date"))?;
            return Ok(Some(Timestamp::from_datetime(
                local.with_timezone(&chrono::Utc),
            )));
        }
        chrono::DateTime::parse_from_rfc3339(v)
            .map(|t| Some(Timestamp::from_datetime(t.with_timezone(&chrono::Utc))))
            .map_err(|_| FieldError::new(k, "error-type-date"))
    };
    let before = match get("before") {
        Some(c) => {
            let (at, id) = c
                .split_once('_')
                .ok_or_else(|| FieldError::new("before", "error-cursor"))?;
            let at = chrono::DateTime::parse_from_rfc3339(at)
                .map_err(|_| FieldError::new("before", "error-cursor"))?;
            let id = id
                .parse()
                .map_err(|_| FieldError::new("before", "error-cursor"))?;
            Some((Timestamp::from_datetime(at.with_timezone(&chrono::Utc)), id))
        }
        None => None,
    };
    let text = |k: &'static str| -> Result<Option<String>, FieldError> {
        match get(k) {
            Some(v) if v.len() > 60 => Err(FieldError::new(k, "error-too-long").with("max", 60)),
            v => Ok(v.map(str::to_string)),
        }
    };
    Ok(AuditFilter {
        user_id: id("user_id")?,
        action: text("action")?,
        object: text("object")?,
        record_id: id("record_id")?,
        from: time("from", false)?,
        to: time("to", true)?,
        before,
    })
}

/// The cursor of the page after the one ending with `e`.
pub fn audit_cursor(e: &hamkor_store::audit::LogEntry) -> String {
    format!(
        "{}_{}",
        e.at.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.id
    )
}

async fn audit_page(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if !c.actor.is_admin() {
        return forbidden(&c);
    }
    let loc = c.loc;
    const PAGE: i64 = 100;
    let (entries, error) = match audit_filter(&q, &loc) {
        Ok(f) => match s.app.audit_log(&c.actor, &f, PAGE).await {
            Ok(e) => (e, None),
            Err(AppError::Invalid(v)) => (Vec::new(), Some(loc.errors(&v))),
            Err(AppError::Forbidden) => return forbidden(&c),
            Err(_) => (Vec::new(), Some(loc.t("error-text"))),
        },
        Err(e) => (Vec::new(), Some(loc.field_error(&e))),
    };
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let older = (entries.len() as i64 == PAGE).then(|| {
        let mut params: Vec<(String, String)> =
            q.iter().filter(|(k, _)| k != "before").cloned().collect();
        if let Some(last) = entries.last() {
            params.push(("before".into(), audit_cursor(last)));
        }
        serde_urlencoded::to_string(&params).unwrap_or_default()
    });
    let users = s.app.users().await.unwrap_or_default();
    let frame = Frame::for_caller(&c);
    let page = AuditPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        users: users
            .iter()
            .map(|u| (u.id.to_string(), format!("{} <{}>", u.name, u.email)))
            .collect(),
        objects: ["user", "role", "team", "request"]
            .into_iter()
            .map(String::from)
            .chain(
                hamkor_domain::ObjectType::ALL
                    .iter()
                    .map(|o| o.as_str().to_string()),
            )
            .collect(),
        actions: KNOWN_ACTIONS.to_vec(),
        who: get("user_id"),
        action: get("action"),
        object: get("object"),
        from: get("from"),
        to: get("to"),
        rows: entries
            .iter()
            .map(|e| AuditRow {
                at: loc.datetime(&e.at),
                who: e.user_name.clone().unwrap_or_default(),
                action: e.action.clone(),
                object: e.object.clone(),
                record: e.record_id.map(|r| r.to_string()).unwrap_or_default(),
                ip: e.ip.clone().unwrap_or_default(),
                user_agent: e.user_agent.clone().unwrap_or_default(),
                details: if e.changes.as_object().is_some_and(|o| o.is_empty()) {
                    String::new()
                } else {
                    e.changes.to_string().chars().take(300).collect()
                },
            })
            .collect(),
        older,
        error,
    };
    render(&page)
}
