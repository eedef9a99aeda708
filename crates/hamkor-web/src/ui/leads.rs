//! Lead pages beyond the generic record pages: converting a lead (with the duplicates
//! found shown first), the web forms an administrator puts on the company's site, and
//! the rules that give new leads an owner.

use super::records::app_error_page;
use super::{Frame, render};
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use hamkor_app::AppError;
use hamkor_app::leads::{Candidate, Conversion, FORM_FIELDS, RULE_FIELDS, Target};
use hamkor_domain::objects::{CURRENCIES, LEAD};
use hamkor_domain::{Id, ValidationErrors};
use hamkor_store::users::User;
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads/{id}/convert", get(convert_page).post(convert_post))
        .route("/settings/web-forms", get(forms_page).post(forms_post))
        .route("/settings/lead-rules", get(rules_page).post(rules_post))
}

pub struct Part {
    name: &'static str,
    plural: &'static str,
    legend: String,
    create_label: String,
    suggest_create: bool,
    /// (id, title, reasons)
    candidates: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "convert.html")]
struct ConvertPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    id: String,
    title: String,
    parts: Vec<Part>,
    pipelines: Vec<(String, String)>,
    currencies: &'static [&'static str],
    error: Option<String>,
}

fn reasons(loc: &Loc, c: &Candidate) -> String {
    c.reasons
        .iter()
        .map(|r| loc.t(&format!("dup-{r}")))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn convert_render(
    s: &AppState,
    c: &Caller,
    id: Id,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let lead = match s.app.get_record(&c.actor, &LEAD, id).await {
        Ok(l) => l,
        Err(e) => return app_error_page(c, e),
    };
    if !lead.allows(&c.actor, hamkor_domain::Action::Write) {
        return app_error_page(c, AppError::Forbidden);
    }
    let dups = match s.app.lead_duplicates(&c.actor, &lead).await {
        Ok(d) => d,
        Err(e) => return app_error_page(c, e),
    };
    let loc = &c.loc;
    let has = |k: &str| {
        lead.fields
            .get(k)
            .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()) || v.is_array())
    };
    let parts = vec![
        Part {
            name: "account",
            plural: "accounts",
            legend: loc.t("kind-account"),
            create_label: loc.t("convert-new-account"),
            suggest_create: has("company"),
            candidates: dups
                .accounts
                .iter()
                .map(|d| (d.id.to_string(), d.title.clone(), reasons(loc, d)))
                .collect(),
        },
        Part {
            name: "contact",
            plural: "contacts",
            legend: loc.t("kind-contact"),
            create_label: loc.t("convert-new-contact"),
            suggest_create: has("first_name") || has("last_name"),
            candidates: dups
                .contacts
                .iter()
                .map(|d| (d.id.to_string(), d.title.clone(), reasons(loc, d)))
                .collect(),
        },
    ];
    let pipelines = s
        .app
        .pipelines()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.active)
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    let frame = Frame::for_caller(c);
    let mut resp = render(&ConvertPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        id: id.to_string(),
        title: lead.title(),
        parts,
        pipelines,
        currencies: CURRENCIES,
        error,
    });
    *resp.status_mut() = status;
    resp
}

async fn convert_page(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(&c, AppError::NotFound);
    };
    convert_render(&s, &c, id, None, StatusCode::OK).await
}

fn target(v: &str) -> Target {
    match v {
        "create" => Target::Create,
        other => other.parse::<Id>().map_or(Target::Skip, Target::Existing),
    }
}

async fn convert_post(State(s): State<AppState>, Path(id): Path<String>, f: UiForm) -> Response {
    let c = &f.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let deal = (f.get("deal") == "yes").then(|| {
        let mut m = Map::new();
        for (form_key, field) in [
            ("deal_title", "title"),
            ("pipeline_id", "pipeline_id"),
            ("amount", "amount"),
            ("currency", "currency"),
            ("expected_close", "expected_close"),
        ] {
            let v = f.get(form_key).trim();
            if !v.is_empty() {
                m.insert(field.into(), json!(v));
            }
        }
        m
    });
    let how = Conversion {
        account: target(f.get("account")),
        contact: target(f.get("contact")),
        deal,
        allow_duplicates: f.get("allow_duplicates") == "yes",
    };
    match s.app.convert_lead(&c.actor, id, &how).await {
        Ok(done) => {
            let to = match (done.deal_id, done.contact_id, done.account_id) {
                (Some(d), _, _) => format!("/deals/{d}"),
                (None, Some(ct), _) => format!("/contacts/{ct}"),
                (None, None, Some(a)) => format!("/accounts/{a}"),
                _ => format!("/leads/{id}"),
            };
            Redirect::to(&to).into_response()
        }
        Err(AppError::Invalid(v)) => {
            convert_render(
                &s,
                c,
                id,
                Some(c.loc.errors(&v)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => app_error_page(c, e),
    }
}

pub struct FormView {
    id: String,
    name: String,
    fields: String,
    owner: String,
    campaign: String,
    url: String,
    snippet: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "web_forms.html")]
struct FormsPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    forms: Vec<FormView>,
    /// (field, label, asked by default)
    field_choices: Vec<(&'static str, String, bool)>,
    owners: Vec<(String, String)>,
    message: Option<String>,
    error: Option<String>,
}

async fn forms_render(
    s: &AppState,
    c: &Caller,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let list = match s.app.web_forms(&c.actor).await {
        Ok(l) => l,
        Err(e) => return app_error_page(c, e),
    };
    let users = s.app.users().await.unwrap_or_default();
    let loc = &c.loc;
    let forms = list
        .iter()
        .map(|f| {
            let url = crate::api::leads::form_url(s, &f.token);
            FormView {
                id: f.id.to_string(),
                name: f.settings.name.clone(),
                fields: f
                    .settings
                    .fields
                    .iter()
                    .map(|x| {
                        let label = loc.t(&format!("field-lead-{x}"));
                        if f.settings.required.contains(x) {
                            format!("{label} *")
                        } else {
                            label
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                owner: users
                    .iter()
                    .find(|u| u.id == f.settings.owner_id)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                campaign: f.settings.campaign.clone().unwrap_or_default(),
                snippet: crate::api::leads::snippet(f, &url),
                url,
                active: f.settings.active,
            }
        })
        .collect();
    let frame = Frame::for_caller(c);
    let mut resp = render(&FormsPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        forms,
        field_choices: FORM_FIELDS
            .iter()
            .map(|f| {
                (
                    *f,
                    loc.t(&format!("field-lead-{f}")),
                    matches!(*f, "first_name" | "phones" | "emails"),
                )
            })
            .collect(),
        owners: users
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| (u.id.to_string(), u.name.clone()))
            .collect(),
        message,
        error,
    });
    *resp.status_mut() = status;
    resp
}

async fn forms_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    forms_render(&s, &c, None, None, StatusCode::OK).await
}

fn all(f: &UiForm, name: &str) -> Vec<String> {
    f.fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

async fn forms_post(State(s): State<AppState>, f: UiForm) -> Response {
    let c = &f.caller;
    let id = f.get("id").parse::<Id>();
    let done = match f.get("action") {
        "create" => {
            let text = |k: &str| match f.get(k).trim() {
                "" => Value::Null,
                v => json!(v),
            };
            let body = json!({
                "name": f.get("name"), "fields": all(&f, "fields"), "required": all(&f, "required"),
                "campaign": text("campaign"), "owner_id": text("owner_id"), "language": f.get("language"),
                "thank_you": text("thank_you"), "redirect_url": text("redirect_url"),
            });
            s.app
                .create_web_form(&c.actor, &body)
                .await
                .map(|_| c.loc.t("web-form-created"))
        }
        "toggle" => match id {
            Ok(id) => match s.app.web_form(&c.actor, id).await {
                Ok(form) => s
                    .app
                    .update_web_form(&c.actor, id, &json!({"active": !form.settings.active}))
                    .await
                    .map(|_| c.loc.t("web-form-saved")),
                Err(e) => Err(e),
            },
            Err(_) => Err(AppError::NotFound),
        },
        "delete" => match id {
            Ok(id) => s
                .app
                .delete_web_form(&c.actor, id)
                .await
                .map(|_| c.loc.t("web-form-deleted")),
            Err(_) => Err(AppError::NotFound),
        },
        _ => Err(AppError::NotFound),
    };
    match done {
        Ok(msg) => forms_render(&s, c, Some(msg), None, StatusCode::OK).await,
        Err(AppError::Invalid(v)) => {
            forms_render(
                &s,
                c,
                None,
                Some(c.loc.errors(&v)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => app_error_page(c, e),
    }
}

pub struct RuleView {
    name: String,
    when: String,
    to: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "lead_rules.html")]
struct RulesPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    rules: Vec<RuleView>,
    rule_fields: Vec<(&'static str, String)>,
    /// (`user:ID` or `team:ID`, label)
    targets: Vec<(String, String)>,
    error: Option<String>,
}

async fn rules_render(
    s: &AppState,
    c: &Caller,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    if !c.actor.is_admin() {
        return app_error_page(c, AppError::Forbidden);
    }
    let rules = match s.app.lead_rules(&c.actor).await {
        Ok(r) => r,
        Err(e) => return app_error_page(c, e),
    };
    let users = s.app.users().await.unwrap_or_default();
    let teams = s.app.teams().await.unwrap_or_default();
    let loc = &c.loc;
    let views = rules
        .iter()
        .map(|r| RuleView {
            name: r.name.clone(),
            when: if r.conditions.is_empty() {
                loc.t("lead-rule-always")
            } else {
                r.conditions
                    .iter()
                    .map(|cd| {
                        format!(
                            "{} {} «{}»",
                            loc.t(&format!("field-lead-{}", cd.field)),
                            loc.t(&format!("lead-rule-{}", cd.op)),
                            cd.value
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            to: match (r.user_id, r.team_id) {
                (Some(u), _) => users
                    .iter()
                    .find(|x| x.id == u)
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
                (None, Some(t)) => loc.t_args(
                    "lead-rule-team-turn",
                    &[(
                        "team",
                        teams
                            .iter()
                            .find(|x| x.id == t)
                            .map(|x| x.name.clone())
                            .unwrap_or_default(),
                    )],
                ),
                _ => String::new(),
            },
            active: r.active,
        })
        .collect();
    let mut targets: Vec<(String, String)> = teams
        .iter()
        .map(|t| {
            (
                format!("team:{}", t.id),
                loc.t_args("lead-rule-team-turn", &[("team", t.name.clone())]),
            )
        })
        .collect();
    targets.extend(
        users
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| (format!("user:{}", u.id), u.name.clone())),
    );
    let frame = Frame::for_caller(c);
    let mut resp = render(&RulesPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        rules: views,
        rule_fields: RULE_FIELDS
            .iter()
            .map(|f| (*f, loc.t(&format!("field-lead-{f}"))))
            .collect(),
        targets,
        error,
    });
    *resp.status_mut() = status;
    resp
}

async fn rules_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    rules_render(&s, &c, None, StatusCode::OK).await
}

async fn rules_post(State(s): State<AppState>, f: UiForm) -> Response {
    let c = &f.caller;
    let current = match s.app.lead_rules(&c.actor).await {
        Ok(r) => r,
        Err(e) => return app_error_page(c, e),
    };
    let mut list: Vec<Value> = current
        .iter()
        .map(|r| {
            json!({"name": r.name, "conditions": r.conditions, "active": r.active,
                   "user_id": r.user_id.map(|x| x.to_string()), "team_id": r.team_id.map(|x| x.to_string())})
        })
        .collect();
    match f.get("action") {
        "add" => {
            let conditions = match f.get("field") {
                "" => json!([]),
                field => {
                    json!([{"field": field, "op": f.get("op"), "value": f.get("value").trim()}])
                }
            };
            let (user, team) = match f.get("target").split_once(':') {
                Some(("user", id)) => (json!(id), Value::Null),
                Some(("team", id)) => (Value::Null, json!(id)),
                _ => (Value::Null, Value::Null),
            };
            list.push(json!({"name": f.get("name"), "conditions": conditions, "user_id": user, "team_id": team}));
        }
        "delete" => match f.get("index").parse::<usize>() {
            Ok(i) if i < list.len() => {
                list.remove(i);
            }
            _ => return app_error_page(c, AppError::NotFound),
        },
        _ => return app_error_page(c, AppError::NotFound),
    }
    match s.app.set_lead_rules(&c.actor, &Value::Array(list)).await {
        Ok(_) => Redirect::to("/settings/lead-rules").into_response(),
        Err(AppError::Invalid(v)) => {
            let v = ValidationErrors(
                v.0.into_iter()
                    .map(|mut e| {
                        // `[3].name` → `name`: the form shows one rule.
                        if let Some((_, rest)) = e.field.split_once("].") {
                            e.field = rest.to_string();
                        }
                        e
                    })
                    .collect(),
            );
            rules_render(
                &s,
                c,
                Some(c.loc.errors(&v)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => app_error_page(c, e),
    }
}

#[derive(Template)]
#[template(path = "lead_import.html")]
struct ImportPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    message: Option<String>,
    error: Option<String>,
}

fn import_render(c: &Caller, message: Option<String>, error: Option<String>) -> Response {
    let frame = Frame::for_caller(c);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut resp = render(&ImportPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        message,
        error,
    });
    *resp.status_mut() = status;
    resp
}

async fn import_page(UiUser(c): UiUser) -> Response {
    if c.actor.scope(
        hamkor_domain::ObjectType::Lead,
        hamkor_domain::Action::Write,
    ) == hamkor_domain::Scope::None
    {
        return app_error_page(&c, AppError::Forbidden);
    }
    import_render(&c, None, None)
}

async fn import_post(State(s): State<AppState>, up: crate::auth::UiUpload) -> Response {
    let c = &up.caller;
    let Some((_, bytes)) = &up.file else {
        return import_render(c, None, Some(c.loc.t("file-missing")));
    };
    match s.app.import_leads(&c.actor, bytes).await {
        Ok(n) => import_render(
            c,
            Some(c.loc.t_args("lead-imported", &[("count", n.to_string())])),
            None,
        ),
        Err(AppError::Invalid(v)) => import_render(c, None, Some(c.loc.errors(&v))),
        Err(e) => app_error_page(c, e),
    }
}

pub fn import_routes() -> Router<AppState> {
    Router::new().route("/leads/import", get(import_page).post(import_post))
}
