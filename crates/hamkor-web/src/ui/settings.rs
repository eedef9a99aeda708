//! Settings pages for administrators: custom fields (I2).

use super::{Frame, message, render};
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::custom_fields::CustomFieldRequest;
use hamkor_domain::ObjectType;
use hamkor_domain::custom::CustomKind;
use hamkor_domain::objects::ObjectDef;
use hamkor_store::users::User;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/fields", get(fields_page).post(add_field))
        .route("/settings/fields/{id}/delete", post(delete_field))
        .route("/settings/interests", post(add_interest))
        .route("/settings/interests/state", post(set_interest_state))
        .route("/settings/roles", get(roles_page).post(save_roles))
        .route("/settings/roles/fields", post(save_field_rule))
        .route("/settings/tokens", get(tokens_page).post(create_token))
        .route("/settings/users", get(users_page).post(add_user))
        .route("/settings/password", post(change_password))
        .route("/settings/users/{id}/{action}", post(set_user_state))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
}

pub struct FieldRow {
    id: String,
    key: String,
    label: String,
    kind: String,
    required: String,
    options: String,
}

pub struct FieldGroup {
    title: String,
    fields: Vec<FieldRow>,
}

#[derive(Template)]
#[template(path = "fields.html")]
struct FieldsPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    groups: Vec<FieldGroup>,
    /// The managed list of interests: (value, active).
    interests: Vec<(String, bool)>,
    objects: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    errors: Vec<String>,
    form_object: String,
    form_label: String,
    form_key: String,
    form_kind: String,
    form_options: String,
}

pub(crate) fn not_found(c: &Caller) -> Response {
    message(
        Frame::for_caller(c),
        StatusCode::NOT_FOUND,
        c.loc.t("not-found-title"),
        c.loc.t("not-found-text"),
    )
}

pub(crate) fn forbidden(c: &Caller) -> Response {
    message(
        Frame::for_caller(c),
        StatusCode::FORBIDDEN,
        c.loc.t("forbidden-title"),
        c.loc.t("forbidden-text"),
    )
}

async fn page(
    s: &AppState,
    c: &Caller,
    errors: Vec<String>,
    form: &[(String, String)],
) -> Response {
    let loc = c.loc;
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut groups = Vec::new();
    for object in ObjectType::ALL {
        let defs = s.app.custom_fields(object).await.unwrap_or_default();
        groups.push(FieldGroup {
            title: loc.t(&format!("kind-{}", object.as_str())),
            fields: defs
                .into_iter()
                .map(|d| FieldRow {
                    id: d.id.to_string(),
                    key: d.key,
                    label: d.label,
                    kind: loc.t(&format!("custom-kind-{}", d.kind.as_str())),
                    required: loc.t(if d.required { "yes" } else { "no" }),
                    options: d.options.join(", "),
                })
                .collect(),
        });
    }
    let frame = Frame::for_caller(c);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let html = render(&FieldsPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        groups,
        interests: s
            .app
            .picklist("interests")
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.value, v.active))
            .collect(),
        objects: ObjectType::ALL
            .iter()
            .map(|o| {
                (
                    o.as_str().to_string(),
                    loc.t(&format!("kind-{}", o.as_str())),
                )
            })
            .collect(),
        kinds: CustomKind::ALL
            .iter()
            .map(|k| {
                (
                    k.as_str().to_string(),
                    loc.t(&format!("custom-kind-{}", k.as_str())),
                )
            })
            .collect(),
        errors,
        form_object: get("object"),
        form_label: get("label"),
        form_key: get("key"),
        form_kind: get("kind"),
        form_options: get("options"),
    });
    (status, html).into_response()
}

async fn fields_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    if !c.actor.is_admin() {
        return forbidden(&c);
    }
    page(&s, &c, Vec::new(), &[]).await
}

async fn add_interest(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    match s
        .app
        .add_picklist_value(&c.actor, "interests", form.get("value"))
        .await
    {
        Ok(()) => Redirect::to("/settings/fields#interests").into_response(),
        Err(AppError::Forbidden) => forbidden(c),
        Err(AppError::Invalid(v)) => {
            let errors = v.0.iter().map(|e| c.loc.field_error(e)).collect();
            page(&s, c, errors, &[]).await
        }
        Err(_) => not_found(c),
    }
}

async fn set_interest_state(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let active = form.get("active") == "true";
    match s
        .app
        .set_picklist_value_active(&c.actor, "interests", form.get("value"), active)
        .await
    {
        Ok(()) => Redirect::to("/settings/fields#interests").into_response(),
        Err(AppError::Forbidden) => forbidden(c),
        Err(_) => not_found(c),
    }
}

async fn add_field(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let get = |k: &str| form.get(k).to_string();
    if !c.actor.is_admin() {
        return forbidden(c);
    }
    let Some(object) = ObjectType::parse(&get("object")) else {
        return page(&s, c, vec![c.loc.t("error-choice")], &form.fields).await;
    };
    let req = CustomFieldRequest {
        key: get("key"),
        label: get("label"),
        kind: get("kind"),
        required: get("required") == "true",
        options: get("options").lines().map(str::to_string).collect(),
        link_object: Some(get("link_object")).filter(|o| !o.is_empty()),
        key_date: get("key_date") == "true",
    };
    match s.app.create_custom_field(&c.actor, object, req).await {
        Ok(_) => Redirect::to("/settings/fields").into_response(),
        Err(AppError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|e| {
                        format!(
                            "{}: {}",
                            c.loc.t(&format!("field-{}", e.field.replace('_', "-"))),
                            c.loc.field_error(e)
                        )
                    })
                    .collect();
            page(&s, c, errors, &form.fields).await
        }
        Err(AppError::Forbidden) => forbidden(c),
        Err(e) => {
            tracing::error!(error = %e, "adding a field failed");
            message(
                Frame::for_caller(c),
                StatusCode::INTERNAL_SERVER_ERROR,
                c.loc.t("error-title"),
                c.loc.t("error-text"),
            )
        }
    }
}

async fn delete_field(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm {
        caller: c,
        fields: _,
    }: UiForm,
) -> Response {
    let Ok(id) = id.parse() else {
        return not_found(&c);
    };
    match s.app.delete_custom_field(&c.actor, id).await {
        Ok(()) => Redirect::to("/settings/fields").into_response(),
        Err(AppError::Forbidden) => forbidden(&c),
        Err(_) => message(
            Frame::for_caller(&c),
            StatusCode::NOT_FOUND,
            c.loc.t("not-found-title"),
            c.loc.t("not-found-text"),
        ),
    }
}

pub struct RoleCell {
    name: String,
    label: String,
    current: String,
    current_label: String,
}

pub struct RoleRow {
    label: String,
    fixed: bool,
    cells: Vec<RoleCell>,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    headers: Vec<String>,
    rows: Vec<RoleRow>,
    scopes: Vec<(String, String)>,
    /// Field rules as they are: (role label, field label, mode label, form value
    /// `role|object|field`).
    field_rules: Vec<(String, String, String, String)>,
    /// Choices of the field rule form: roles (not the administrator), fields as
    /// `object|field`.
    rule_roles: Vec<(String, String)>,
    rule_fields: Vec<(String, String)>,
    error: Option<String>,
}

async fn roles_view(s: &AppState, c: &Caller, error: Option<String>) -> Response {
    let loc = c.loc;
    let roles = match s.app.role_permissions(&c.actor).await {
        Ok(r) => r,
        Err(_) => return forbidden(c),
    };
    // Custom fields by object type, with their labels: rules cover them too.
    let mut customs: Vec<(ObjectType, String, String)> = Vec::new();
    for o in ObjectType::ALL {
        match s.app.custom_fields(o).await {
            Ok(defs) => customs.extend(defs.into_iter().map(|d| (o, d.key, d.label))),
            Err(e) => return super::records::app_error_page(c, e),
        }
    }
    let label = |o: &str, f: &str| match f.strip_prefix("custom.") {
        Some(k) => customs
            .iter()
            .find(|(co, ck, _)| co.as_str() == o && ck == k)
            .map(|(_, _, l)| l.clone())
            .unwrap_or_else(|| k.to_string()),
        None => super::records::field_label(
            &loc,
            ObjectDef::get(ObjectType::parse(o).unwrap_or(ObjectType::Account)),
            f,
        ),
    };
    let combos: Vec<(&str, &str)> = ObjectType::ALL
        .iter()
        .flat_map(|o| {
            hamkor_domain::Action::ALL
                .iter()
                .map(move |a| (o.as_str(), a.as_str()))
        })
        .collect();
    let headers = combos
        .iter()
        .map(|(o, a)| {
            format!(
                "{} · {}",
                loc.t(&format!("kind-{o}")),
                loc.t(&format!("action-{a}"))
            )
        })
        .collect();
    let rows = roles
        .iter()
        .map(|r| RoleRow {
            label: loc.t(&format!("role-{}", r.role.as_str())),
            fixed: r.role.is_admin(),
            cells: combos
                .iter()
                .map(|(o, a)| {
                    let scope = r
                        .permissions
                        .get(o)
                        .and_then(|m| m.get(a))
                        .map(|s| s.as_str())
                        .unwrap_or("none");
                    RoleCell {
                        name: format!("{}.{o}.{a}", r.role.as_str()),
                        label: format!(
                            "{} · {}",
                            loc.t(&format!("kind-{o}")),
                            loc.t(&format!("action-{a}"))
                        ),
                        current: scope.to_string(),
                        current_label: loc.t(&format!("scope-{scope}")),
                    }
                })
                .collect(),
        })
        .collect();
    let frame = Frame::for_caller(c);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = RolesPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        headers,
        rows,
        scopes: ["none", "own", "team", "all"]
            .iter()
            .map(|s| (s.to_string(), loc.t(&format!("scope-{s}"))))
            .collect(),
        field_rules: roles
            .iter()
            .flat_map(|r| {
                r.fields.iter().flat_map(move |(o, m)| {
                    m.iter().map(move |(f, mode)| {
                        (
                            loc.t(&format!("role-{}", r.role.as_str())),
                            format!("{} · {}", loc.t(&format!("kind-{o}")), label(o, f)),
                            loc.t(&format!("field-mode-{mode}")),
                            format!("{}|{o}|{f}", r.role.as_str()),
                        )
                    })
                })
            })
            .collect(),
        rule_roles: hamkor_domain::Role::ALL
            .iter()
            .filter(|r| !r.is_admin())
            .map(|r| {
                (
                    r.as_str().to_string(),
                    loc.t(&format!("role-{}", r.as_str())),
                )
            })
            .collect(),
        rule_fields: hamkor_domain::objects::OBJECTS
            .iter()
            .flat_map(|d| {
                d.fields.iter().map(move |f| {
                    (
                        format!("{}|{}", d.object.as_str(), f.name),
                        format!(
                            "{} · {}",
                            loc.t(&format!("kind-{}", d.object.as_str())),
                            super::records::field_label(&loc, d, f.name)
                        ),
                    )
                })
            })
            .chain(customs.iter().map(|(o, k, l)| {
                (
                    format!("{}|custom.{k}", o.as_str()),
                    format!("{} · {l}", loc.t(&format!("kind-{}", o.as_str()))),
                )
            }))
            .collect(),
        error,
    };
    (status, render(&page)).into_response()
}

/// One field rule from the roles page: `role`, `field` as `object|field` (or `rule` as
/// `role|object|field` to show it again), `mode`.
async fn save_field_rule(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let (role, object, field) = match form.get("rule").split('|').collect::<Vec<_>>()[..] {
        [r, o, f] => (r.to_string(), o.to_string(), f.to_string()),
        _ => match form.get("field").split_once('|') {
            Some((o, f)) => (form.get("role").to_string(), o.to_string(), f.to_string()),
            None => (form.get("role").to_string(), String::new(), String::new()),
        },
    };
    let mode = form.get("mode").to_string();
    match s
        .app
        .set_field_rules(&c.actor, &role, &[(object, field, mode)])
        .await
    {
        Ok(()) => Redirect::to("/settings/roles#field-rules").into_response(),
        Err(AppError::Forbidden) => forbidden(c),
        Err(e) => super::records::app_error_page(c, e),
    }
}

async fn roles_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    roles_view(&s, &c, None).await
}

async fn save_roles(
    State(s): State<AppState>,
    UiForm {
        caller: c,
        fields: form,
    }: UiForm,
) -> Response {
    if !c.actor.is_admin() {
        return forbidden(&c);
    }
    // Fields are named role.object.action; all are saved together or none.
    let changes: Vec<(String, String, String, String)> = form
        .iter()
        .filter_map(|(k, v)| match k.split('.').collect::<Vec<_>>()[..] {
            [role, object, action] => Some((
                role.to_string(),
                object.to_string(),
                action.to_string(),
                v.clone(),
            )),
            _ => None,
        })
        .collect();
    if let Err(e) = s.app.set_roles_permissions(&c.actor, &changes).await {
        let msg = match e {
            AppError::Invalid(v) => c.loc.errors(&v),
            _ => c.loc.t("error-text"),
        };
        return roles_view(&s, &c, Some(msg)).await;
    }
    Redirect::to("/settings/roles").into_response()
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    tokens: Vec<(String, String, String, bool)>,
    new_secret: Option<String>,
    error: Option<String>,
    password_message: Option<String>,
    password_error: Option<String>,
    two_factor: bool,
    two_factor_required: bool,
    codes_left: i64,
    two_factor_message: Option<String>,
    two_factor_error: Option<String>,
}

async fn tokens_view(
    s: &AppState,
    c: &Caller,
    new_secret: Option<String>,
    error: Option<String>,
) -> Response {
    profile_view(s, c, new_secret, error, None, None).await
}

/// Messages of the profile page's sections: (password, 2FA), each (notice, error).
#[derive(Default)]
pub(crate) struct ProfileNotes {
    pub two_factor_message: Option<String>,
    pub two_factor_error: Option<String>,
}

/// The user's own page: API tokens, the password and two-factor authentication.
async fn profile_view(
    s: &AppState,
    c: &Caller,
    new_secret: Option<String>,
    error: Option<String>,
    password_message: Option<String>,
    password_error: Option<String>,
) -> Response {
    profile_page(
        s,
        c,
        new_secret,
        error,
        password_message,
        password_error,
        ProfileNotes::default(),
    )
    .await
}

pub(crate) async fn profile_page(
    s: &AppState,
    c: &Caller,
    new_secret: Option<String>,
    error: Option<String>,
    password_message: Option<String>,
    password_error: Option<String>,
    notes: ProfileNotes,
) -> Response {
    let loc = c.loc;
    let two_factor_required = s
        .app
        .two_factor_required(c.user.role)
        .await
        .unwrap_or(false);
    let codes_left = if c.user.two_factor {
        s.app.recovery_codes_left(c.user.id).await.unwrap_or(0)
    } else {
        0
    };
    let tokens = s.app.list_tokens(c.user.id).await.unwrap_or_default();
    let frame = Frame::for_caller(c);
    let status = if error.is_some() || password_error.is_some() || notes.two_factor_error.is_some()
    {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = TokensPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        tokens: tokens
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    loc.datetime(&t.created_at),
                    t.id.to_string(),
                    t.revoked_at.is_some(),
                )
            })
            .collect(),
        new_secret,
        error,
        password_message,
        password_error,
        two_factor: c.user.two_factor,
        two_factor_required,
        codes_left,
        two_factor_message: notes.two_factor_message,
        two_factor_error: notes.two_factor_error,
    };
    (status, render(&page)).into_response()
}

async fn tokens_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    tokens_view(&s, &c, None, None).await
}

async fn create_token(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let get = |k: &str| form.get(k).to_string();
    match s.app.create_token(c.user.id, &get("name")).await {
        Ok(secret) => tokens_view(&s, c, Some(secret), None).await,
        Err(AppError::Invalid(v)) => {
            let msg = c.loc.errors(&v);
            tokens_view(&s, c, None, Some(msg)).await
        }
        Err(_) => tokens_view(&s, c, None, Some(c.loc.t("error-text"))).await,
    }
}

async fn revoke_token(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm {
        caller: c,
        fields: _,
    }: UiForm,
) -> Response {
    let Ok(id) = id.parse() else {
        return not_found(&c);
    };
    match s.app.revoke_token(c.user.id, id).await {
        Ok(()) => Redirect::to("/settings/tokens").into_response(),
        Err(_) => message(
            Frame::for_caller(&c),
            StatusCode::NOT_FOUND,
            c.loc.t("not-found-title"),
            c.loc.t("not-found-text"),
        ),
    }
}

pub struct UserRow {
    id: String,
    name: String,
    email: String,
    role_key: String,
    team: String,
    team_id: String,
    disabled: bool,
    is_me: bool,
    two_factor: bool,
    login_network: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    users: Vec<UserRow>,
    roles: Vec<(String, String)>,
    teams: Vec<String>,
    /// Teams as (id, name), for moving a user.
    team_choices: Vec<(String, String)>,
    errors: Vec<String>,
    setup_link: Option<String>,
    networks: Vec<(String, String)>,
}

async fn users_view(
    s: &AppState,
    c: &Caller,
    errors: Vec<String>,
    setup_link: Option<String>,
) -> Response {
    if !c.actor.is_admin() {
        return forbidden(c);
    }
    let loc = c.loc;
    let teams = s.app.teams().await.unwrap_or_default();
    let users = s.app.users().await.unwrap_or_default();
    let frame = Frame::for_caller(c);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = UsersPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        users: users
            .iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                name: u.name.clone(),
                email: u.email.clone(),
                role_key: u.role.as_str().to_string(),
                team_id: u.team_id.map(|t| t.to_string()).unwrap_or_default(),
                team: u
                    .team_id
                    .and_then(|t| teams.iter().find(|x| x.id == t))
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                disabled: u.disabled,
                is_me: u.id == c.user.id,
                two_factor: u.two_factor,
                login_network: u.login_network.clone(),
            })
            .collect(),
        roles: hamkor_domain::Role::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str().to_string(),
                    loc.t(&format!("role-{}", r.as_str())),
                )
            })
            .collect(),
        teams: teams.iter().map(|t| t.name.clone()).collect(),
        team_choices: teams
            .iter()
            .map(|t| (t.id.to_string(), t.name.clone()))
            .collect(),
        errors,
        setup_link,
        networks: ["role", "any", "office", "internet"]
            .iter()
            .map(|n| (n.to_string(), loc.t(&format!("network-{n}"))))
            .collect(),
    };
    (status, render(&page)).into_response()
}

async fn users_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    users_view(&s, &c, Vec::new(), None).await
}

async fn add_user(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let get = |k: &str| form.get(k).to_string();
    if !c.actor.is_admin() {
        return forbidden(c);
    }
    let req = hamkor_app::users::UserRequest {
        email: get("email"),
        name: get("name"),
        role: get("role"),
        team: Some(get("team")).filter(|t| !t.trim().is_empty()),
        language: Some(get("language")).filter(|l| !l.is_empty()),
        password: None,
    };
    match s.app.create_user(Some(&c.actor), req).await {
        Ok(u) => match s.app.issue_setup_token(u.id).await {
            Ok(token) => {
                users_view(
                    &s,
                    c,
                    Vec::new(),
                    Some(format!("{}/setup/{token}", s.config.base_url)),
                )
                .await
            }
            Err(_) => users_view(&s, c, vec![c.loc.t("error-text")], None).await,
        },
        Err(AppError::Invalid(v)) => {
            let errors = v.0.iter().map(|e| c.loc.field_error(e)).collect();
            users_view(&s, c, errors, None).await
        }
        Err(AppError::Forbidden) => forbidden(c),
        Err(_) => users_view(&s, c, vec![c.loc.t("error-text")], None).await,
    }
}

async fn set_user_state(
    State(s): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    UiForm { caller: c, fields }: UiForm,
) -> Response {
    let Ok(user_id) = id.parse() else {
        return not_found(&c);
    };
    let done = match action.as_str() {
        "reset-2fa" => Some(
            s.app
                .reset_two_factor(Some(&c.actor), user_id, &c.origin)
                .await,
        ),
        "access" => {
            let team = form_field(&fields, "team_id");
            let team = if team.is_empty() {
                Some(None)
            } else {
                match team.parse() {
                    Ok(t) => Some(Some(t)),
                    Err(_) => return not_found(&c),
                }
            };
            Some(
                s.app
                    .set_user_access(&c.actor, user_id, Some(form_field(&fields, "role")), team)
                    .await
                    .map(|_| ()),
            )
        }
        "network" => Some(
            s.app
                .set_user_login_network(
                    &c.actor,
                    user_id,
                    form_field(&fields, "login_network"),
                    &c.origin,
                )
                .await,
        ),
        _ => None,
    };
    if let Some(done) = done {
        return match done {
            Ok(()) => Redirect::to("/settings/users").into_response(),
            Err(AppError::Forbidden) => forbidden(&c),
            Err(AppError::Invalid(v)) => {
                users_view(
                    &s,
                    &c,
                    v.0.iter().map(|e| c.loc.field_error(e)).collect(),
                    None,
                )
                .await
            }
            Err(_) => not_found(&c),
        };
    }
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => {
            return message(
                Frame::for_caller(&c),
                StatusCode::NOT_FOUND,
                c.loc.t("not-found-title"),
                c.loc.t("not-found-text"),
            );
        }
    };
    let Ok(id) = id.parse() else {
        return not_found(&c);
    };
    match s.app.set_user_disabled(Some(&c.actor), id, disabled).await {
        Ok(()) => Redirect::to("/settings/users").into_response(),
        Err(AppError::Forbidden) => forbidden(&c),
        Err(AppError::Invalid(v)) => {
            users_view(
                &s,
                &c,
                v.0.iter().map(|e| c.loc.field_error(e)).collect(),
                None,
            )
            .await
        }
        Err(_) => message(
            Frame::for_caller(&c),
            StatusCode::NOT_FOUND,
            c.loc.t("not-found-title"),
            c.loc.t("not-found-text"),
        ),
    }
}

async fn change_password(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let get = |k: &str| form.get(k).to_string();
    match s
        .app
        .change_own_password(
            c.user.id,
            &get("current_password"),
            &get("new_password"),
            c.session_token.as_deref(),
            &c.origin,
        )
        .await
    {
        Ok(()) => profile_view(&s, c, None, None, Some(c.loc.t("password-changed")), None).await,
        Err(AppError::TooMany(secs)) => {
            let msg = c.loc.t_args(
                "login-locked",
                &[("minutes", secs.div_ceil(60).to_string())],
            );
            profile_view(&s, c, None, None, None, Some(msg)).await
        }
        Err(AppError::Invalid(v)) => {
            let msg = c.loc.errors(&v);
            profile_view(&s, c, None, None, None, Some(msg)).await
        }
        Err(_) => profile_view(&s, c, None, None, None, Some(c.loc.t("error-text"))).await,
    }
}

fn form_field<'a>(fields: &'a [(String, String)], k: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}
