//! Leads beyond their records (`/api/v1/leads` is generic): duplicates and conversion,
//! assignment, the assignment rules, web forms, and the public form endpoint `/f/{token}`
//! that a company's site posts to.

use super::json_body;
use super::records::{parse_id, record_json};
use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::leads::{Conversion, HONEYPOT, Submitted, Target};
use hamkor_domain::objects::LEAD;
use hamkor_domain::{FieldError, ValidationErrors};
use hamkor_store::leads::WebForm;
use serde_json::{Value, json};
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/leads/import", post(import))
        .route("/api/v1/leads/{id}/duplicates", get(duplicates))
        .route("/api/v1/leads/{id}/convert", post(convert))
        .route("/api/v1/leads/{id}/assign", post(assign))
        .route("/api/v1/lead_rules", get(rules).put(set_rules))
        .route("/api/v1/web_forms", get(forms).post(create_form))
        .route(
            "/api/v1/web_forms/{id}",
            get(read_form).patch(update_form).delete(delete_form),
        )
        .route("/f/{token}", get(public_page).post(public_submit))
}

fn app_err(c: &crate::auth::Caller) -> impl Fn(AppError) -> ApiError + '_ {
    move |e| ApiError::from_app(e, &c.loc)
}

/// `GET /api/v1/leads/{id}/duplicates`: accounts and contacts the lead may already be,
/// with the reasons (`same-phone`, `same-email`, `same-name`, `similar-name`).
async fn duplicates(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let lead = s
        .app
        .get_record(&c.actor, &LEAD, id)
        .await
        .map_err(app_err(&c))?;
    let d = s
        .app
        .lead_duplicates(&c.actor, &lead)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!(d)).into_response())
}

fn target(body: &Value, key: &str) -> Result<Target, FieldError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Target::Skip),
        Some(Value::String(s)) if s == "create" => Ok(Target::Create),
        Some(Value::String(s)) if s == "skip" => Ok(Target::Skip),
        Some(Value::Object(o)) => match o.get("id").and_then(Value::as_str).map(str::parse) {
            Some(Ok(id)) if o.len() == 1 => Ok(Target::Existing(id)),
            _ => Err(FieldError::new(format!("{key}.id"), "error-unknown-record")),
        },
        Some(_) => Err(FieldError::new(key, "error-convert-target")),
    }
}

/// `POST /api/v1/leads/{id}/convert` `{"account": "create" | {"id": …} | "skip",
/// "contact": …, "deal": {"title": …, "pipeline_id": …, "amount": …} | null,
/// "allow_duplicates": false}`: in one transaction; a new account or contact that looks
/// like an existing one is refused (422 `lead-duplicate`, naming it) unless allowed.
async fn convert(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let invalid = |e: FieldError| ApiError::invalid(&ValidationErrors::from(e), &c.loc);
    super::fields_of(
        &body,
        "",
        &["account", "contact", "deal", "allow_duplicates"],
    )
    .map_err(invalid)?;
    let deal = match body.get("deal") {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o.clone()),
        Some(_) => return Err(invalid(FieldError::new("deal", "error-not-object"))),
    };
    let how = Conversion {
        account: target(&body, "account").map_err(invalid)?,
        contact: target(&body, "contact").map_err(invalid)?,
        deal,
        allow_duplicates: match body.get("allow_duplicates") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(invalid(FieldError::new(
                    "allow_duplicates",
                    "error-type-bool",
                )));
            }
        },
    };
    let done = s
        .app
        .convert_lead(&c.actor, id, &how)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!(done)).into_response())
}

/// `POST /api/v1/leads/import` with a CSV body (`text/csv`): every row a lead, all or
/// none; the answer says how many were made.
async fn import(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    let n = s
        .app
        .import_leads(&c.actor, &body)
        .await
        .map_err(app_err(&c))?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "created": n }))).into_response())
}

/// `POST /api/v1/leads/{id}/assign`: gives the lead the owner the rules choose now.
async fn assign(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let r = s.app.assign_lead(&c.actor, id).await.map_err(app_err(&c))?;
    Ok(axum::Json(record_json(&r)).into_response())
}

/// `GET /api/v1/lead_rules`.
async fn rules(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let items = s.app.lead_rules(&c.actor).await.map_err(app_err(&c))?;
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// `PUT /api/v1/lead_rules` `[{"name", "conditions": [{"field", "op", "value"}],
/// "user_id" | "team_id", "active"}]` (administrators): replaces them all.
async fn set_rules(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    let items = s
        .app
        .set_lead_rules(&c.actor, &body)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// The public address of a form.
pub fn form_url(s: &AppState, token: &str) -> String {
    format!("{}/f/{token}", s.config.base_url.trim_end_matches('/'))
}

#[derive(Template)]
#[template(path = "web_form.html")]
struct FormHtml<'a> {
    action: &'a str,
    fields: Vec<FormField>,
    honeypot: &'static str,
    honeypot_label: String,
    submit: String,
}

struct FormField {
    name: String,
    label: String,
    required: bool,
    long: bool,
    input: &'static str,
    max: usize,
}

/// The HTML of a form to paste into a site: plain fields, escaped labels, and the hidden
/// honeypot field.
pub fn snippet(form: &WebForm, action: &str) -> String {
    let loc = Loc::new(Lang::parse(&form.settings.language).unwrap_or(Lang::En));
    let fields = form
        .settings
        .fields
        .iter()
        .map(|f| FormField {
            name: f.clone(),
            label: loc.t(&format!("field-lead-{f}")),
            required: form.settings.required.contains(f),
            long: matches!(f.as_str(), "notes" | "interest"),
            input: match f.as_str() {
                "phones" => "tel",
                "emails" => "email",
                _ => "text",
            },
            max: match f.as_str() {
                "company" => 200,
                "interest" => 500,
                "notes" => 5000,
                "phones" | "emails" => 100,
                _ => 100,
            },
        })
        .collect();
    FormHtml {
        action,
        fields,
        honeypot: HONEYPOT,
        honeypot_label: loc.t("webform-honeypot"),
        submit: loc.t("webform-submit"),
    }
    .render()
    .unwrap_or_default()
}

fn form_json(s: &AppState, f: &WebForm) -> Value {
    let url = form_url(s, &f.token);
    let mut v = serde_json::to_value(&f.settings).unwrap_or_else(|_| json!({}));
    v["id"] = json!(f.id.to_string());
    v["created_at"] = json!(f.created_at.to_rfc3339());
    v["snippet"] = json!(snippet(f, &url));
    v["url"] = json!(url);
    v
}

/// `GET /api/v1/web_forms` (administrators).
async fn forms(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let list = s.app.web_forms(&c.actor).await.map_err(app_err(&c))?;
    let items: Vec<Value> = list.iter().map(|f| form_json(&s, f)).collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

const FORM_KEYS: &[&str] = &[
    "name",
    "fields",
    "required",
    "source",
    "campaign",
    "owner_id",
    "thank_you",
    "redirect_url",
    "language",
    "active",
];

/// `POST /api/v1/web_forms` `{"name", "fields": ["first_name", "phones", …],
/// "required": […], "source", "campaign", "owner_id", "thank_you", "redirect_url",
/// "language"}`: the answer carries the public `url` and the HTML `snippet`.
async fn create_form(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    super::fields_of(&body, "", FORM_KEYS)
        .map_err(|e| ApiError::invalid(&ValidationErrors::from(e), &c.loc))?;
    let f = s
        .app
        .create_web_form(&c.actor, &body)
        .await
        .map_err(app_err(&c))?;
    Ok((StatusCode::CREATED, axum::Json(form_json(&s, &f))).into_response())
}

async fn read_form(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let f = s.app.web_form(&c.actor, id).await.map_err(app_err(&c))?;
    Ok(axum::Json(form_json(&s, &f)).into_response())
}

async fn update_form(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    super::fields_of(&body, "", FORM_KEYS)
        .map_err(|e| ApiError::invalid(&ValidationErrors::from(e), &c.loc))?;
    let f = s
        .app
        .update_web_form(&c.actor, id, &body)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(form_json(&s, &f)).into_response())
}

async fn delete_form(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    s.app
        .delete_web_form(&c.actor, id)
        .await
        .map_err(app_err(&c))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Template)]
#[template(path = "web_form_page.html")]
struct FormPage {
    lang: &'static str,
    title: String,
    css: &'static str,
    message: Option<String>,
    error: bool,
    show_form: bool,
    form_html: String,
}

fn page(status: StatusCode, p: FormPage) -> Response {
    match p.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The answer for an address that is no form (or a closed one), in the visitor's language.
fn not_found(headers: &HeaderMap) -> Response {
    let loc = Loc::new(crate::auth::request_lang(headers, None));
    (StatusCode::NOT_FOUND, loc.t("webform-not-found")).into_response()
}

/// `GET /f/{token}`: the form as a page of its own, for a link instead of a snippet.
async fn public_page(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(form) = s.app.public_web_form(&token).await else {
        return not_found(&headers);
    };
    let loc = Loc::new(Lang::parse(&form.settings.language).unwrap_or(Lang::En));
    page(
        StatusCode::OK,
        FormPage {
            lang: loc.lang.code(),
            title: form.settings.name.clone(),
            css: "/assets/webform.css",
            message: None,
            error: false,
            show_form: true,
            form_html: snippet(&form, &form_url(&s, &token)),
        },
    )
}

/// `POST /f/{token}`: a submission, as a form post (answered with a page, or a redirect
/// to the form's `redirect_url`) or as JSON (answered with JSON). No session and no
/// CSRF token: the form is public by design; the rate limit and the honeypot keep robots
/// out, and every value is checked as any lead's.
async fn public_submit(
    State(s): State<AppState>,
    Path(token): Path<String>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = s.app.public_web_form(&token).await else {
        return not_found(&headers);
    };
    let loc = Loc::new(Lang::parse(&form.settings.language).unwrap_or(Lang::En));
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let values: Vec<(String, String)> = if is_json {
        match serde_json::from_slice::<serde_json::Map<String, Value>>(&body) {
            Ok(m) => m
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect(),
            Err(_) => {
                return ApiError::invalid(
                    &FieldError::new("", "error-malformed-json").into(),
                    &loc,
                )
                .into_response();
            }
        }
    } else {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
            Ok(v) => v,
            Err(_) => {
                return (StatusCode::BAD_REQUEST, loc.t("webform-bad-data")).into_response();
            }
        }
    };
    // The peer's own address: a forwarded-for header is not trusted here.
    let ip = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let outcome = s.app.submit_web_form(&token, &ip, &values).await;
    if is_json {
        return match outcome {
            Ok(_) => (StatusCode::CREATED, axum::Json(json!({"ok": true}))).into_response(),
            Err(e) => ApiError::from_app(e, &loc).into_response(),
        };
    }
    let action = form_url(&s, &token);
    match outcome {
        Ok(Submitted::Lead(_) | Submitted::Ignored) => {
            if let Some(url) = &form.settings.redirect_url {
                return Redirect::to(url).into_response();
            }
            page(
                StatusCode::OK,
                FormPage {
                    lang: loc.lang.code(),
                    title: form.settings.name.clone(),
                    css: "/assets/webform.css",
                    message: Some(
                        form.settings
                            .thank_you
                            .clone()
                            .unwrap_or_else(|| loc.t("webform-thanks")),
                    ),
                    error: false,
                    show_form: false,
                    form_html: String::new(),
                },
            )
        }
        Err(e) => {
            let (status, message, retry) = match e {
                AppError::TooMany(secs) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    loc.t("webform-too-many"),
                    Some(secs),
                ),
                AppError::Invalid(v) => (StatusCode::UNPROCESSABLE_ENTITY, loc.errors(&v), None),
                AppError::NotFound => return not_found(&headers),
                other => {
                    tracing::error!(error = %other, "web form submission failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        loc.t("webform-failed"),
                        None,
                    )
                }
            };
            let mut resp = page(
                status,
                FormPage {
                    lang: loc.lang.code(),
                    title: form.settings.name.clone(),
                    css: "/assets/webform.css",
                    message: Some(message),
                    error: true,
                    show_form: true,
                    form_html: snippet(&form, &action),
                },
            );
            if let Some(secs) = retry {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }
    }
}
