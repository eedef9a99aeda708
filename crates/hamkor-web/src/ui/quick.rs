//! `/quick`: the quick-entry page. A new client, its contact person and the call that
//! brought them in one form, saved together or not at all (see `hamkor_app::quick`).

use super::records::{app_error_page, field_label, list_kind, parse_list_text};
use super::{Frame, render};
use crate::AppState;
use crate::auth::{UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use hamkor_app::AppError;
use hamkor_domain::objects::{ACCOUNT, CONTACT, FieldKind, INTERACTION, ObjectDef};
use hamkor_domain::{FieldError, ValidationErrors};
use hamkor_store::users::User;
use serde_json::{Map, Value};

pub fn routes() -> Router<AppState> {
    Router::new().route("/quick", get(page).post(save))
}

pub struct QuickField {
    name: String,
    label: String,
    value: String,
    input_type: &'static str,
    required: bool,
    multiline: bool,
    options: Vec<(String, String)>,
    error: Option<String>,
    hint: String,
}

pub struct QuickGroup {
    title: String,
    fields: Vec<QuickField>,
}

#[derive(Template)]
#[template(path = "quick.html")]
struct QuickPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    errors: Vec<String>,
    groups: Vec<QuickGroup>,
}

/// The parts of the form: (part, object, fields shown).
const PARTS: [(&str, &ObjectDef, &[&str]); 3] = [
    ("account", &ACCOUNT, &["name", "kind", "tax_id", "phones"]),
    (
        "contact",
        &CONTACT,
        &["last_name", "first_name", "middle_name", "phones", "emails"],
    ),
    (
        "interaction",
        &INTERACTION,
        &["kind", "direction", "result", "duration", "subject", "body"],
    ),
];

fn groups(
    loc: &Loc,
    values: &dyn Fn(&str) -> String,
    errors: &ValidationErrors,
) -> Vec<QuickGroup> {
    let err = |name: &str| {
        errors
            .0
            .iter()
            .find(|e| e.field == name || e.field.starts_with(&format!("{name}[")))
            .map(|e| loc.field_error(e))
    };
    let mut out = Vec::new();
    for (part, def, names) in PARTS {
        let mut fields = Vec::new();
        for n in names {
            let Some(f) = def.field(n) else { continue };
            let name = format!("{part}.{n}");
            let (input_type, multiline, options, hint) = match f.kind {
                FieldKind::Choice(opts) => (
                    "text",
                    false,
                    opts.iter()
                        .map(|o| (o.to_string(), loc.t(&format!("choice-{o}"))))
                        .collect(),
                    String::new(),
                ),
                FieldKind::LongText => ("text", true, vec![], String::new()),
                FieldKind::Duration => ("text", false, vec![], loc.t("hint-duration")),
                k if list_kind(k).is_some() => ("text", false, vec![], loc.t("hint-kind-list")),
                _ => ("text", false, vec![], String::new()),
            };
            fields.push(QuickField {
                label: field_label(loc, def, n),
                value: values(&name),
                error: err(&name),
                name,
                input_type,
                // The interaction's kind always has a value (a call unless chosen).
                required: part == "interaction" && *n == "kind",
                multiline,
                options,
                hint,
            });
        }
        if part == "contact" {
            fields.push(QuickField {
                name: "position".into(),
                label: loc.t("field-contact-position"),
                value: values("position"),
                input_type: "text",
                required: false,
                multiline: false,
                options: vec![],
                error: err("position"),
                hint: String::new(),
            });
        }
        out.push(QuickGroup {
            title: loc.t(&format!("quick-{part}")),
            fields,
        });
    }
    out
}

fn page_response(
    c: &crate::auth::Caller,
    values: &dyn Fn(&str) -> String,
    errors: &ValidationErrors,
) -> Response {
    let loc = c.loc;
    let frame = Frame::for_caller(c);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = QuickPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        errors: errors
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, loc.field_error(e)))
            .collect(),
        groups: groups(&loc, values, errors),
    };
    (status, render(&page)).into_response()
}

async fn page(UiUser(c): UiUser) -> Response {
    let values = |name: &str| {
        match name {
            "account.kind" => "prospect",
            "interaction.kind" => "call",
            "interaction.direction" => "incoming",
            _ => "",
        }
        .to_string()
    };
    page_response(&c, &values, &ValidationErrors::default())
}

/// The form as the JSON body of `POST /api/v1/quick_entry`.
fn form_to_body(loc: &Loc, form: &UiForm) -> Value {
    let mut body = Map::new();
    for (part, def, names) in PARTS {
        let mut obj = Map::new();
        for n in names {
            let Some(f) = def.field(n) else { continue };
            let v = form.get(&format!("{part}.{n}")).trim().to_string();
            let value = match f.kind {
                k if list_kind(k).is_some() => parse_list_text(loc, k, &v),
                _ if v.is_empty() => Value::Null,
                _ => Value::String(v),
            };
            obj.insert(n.to_string(), value);
        }
        // Only the preset choices filled in (a kind, a direction): that part was left empty.
        let preset: &[&str] = match part {
            "account" => &["kind"],
            "interaction" => &["kind", "direction"],
            _ => &[],
        };
        let described = obj.iter().any(|(k, v)| {
            !preset.contains(&k.as_str()) && !v.is_null() && v != &Value::Array(vec![])
        });
        if !described {
            continue;
        }
        body.insert(part.to_string(), Value::Object(obj));
    }
    let position = form.get("position").trim().to_string();
    if !position.is_empty() {
        body.insert("position".into(), Value::String(position));
    }
    Value::Object(body)
}

async fn save(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let body = form_to_body(&c.loc, &form);
    match s.app.quick_entry(&c.actor, &body).await {
        Ok(done) => {
            let to = match (&done.contact, &done.account) {
                (Some(r), _) => format!("/contacts/{}#timeline", r.id),
                (None, Some(r)) => format!("/accounts/{}#timeline", r.id),
                (None, None) => "/".to_string(),
            };
            Redirect::to(&to).into_response()
        }
        Err(AppError::Invalid(errors)) => {
            let values = |name: &str| form.get(name).to_string();
            page_response(c, &values, &errors)
        }
        Err(AppError::Forbidden) => {
            let errors: ValidationErrors =
                FieldError::new("account.name", "error-quick-forbidden").into();
            let values = |name: &str| form.get(name).to_string();
            page_response(c, &values, &errors)
        }
        Err(e) => app_error_page(c, e),
    }
}
