//! Settings pages for administrators: custom fields (I2).

use super::{Frame, message, render};
use crate::AppState;
use crate::auth::{Caller, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::custom_fields::CustomFieldRequest;
use hamkor_domain::ObjectType;
use hamkor_domain::custom::CustomKind;
use hamkor_store::users::User;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/fields", get(fields_page).post(add_field))
        .route("/settings/fields/{id}/delete", post(delete_field))
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
    objects: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    errors: Vec<String>,
    form_object: String,
    form_label: String,
    form_key: String,
    form_kind: String,
    form_options: String,
}

fn forbidden(c: &Caller) -> Response {
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

async fn add_field(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !c.csrf_ok(&get("_csrf")) {
        return (StatusCode::FORBIDDEN, "CSRF check failed").into_response();
    }
    if !c.actor.is_admin() {
        return forbidden(&c);
    }
    let Some(object) = ObjectType::parse(&get("object")) else {
        return page(&s, &c, vec![c.loc.t("error-choice")], &form).await;
    };
    let req = CustomFieldRequest {
        key: get("key"),
        label: get("label"),
        kind: get("kind"),
        required: get("required") == "true",
        options: get("options").lines().map(str::to_string).collect(),
        link_object: Some(get("link_object")).filter(|o| !o.is_empty()),
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
            page(&s, &c, errors, &form).await
        }
        Err(AppError::Forbidden) => forbidden(&c),
        Err(e) => {
            tracing::error!(error = %e, "adding a field failed");
            message(
                Frame::for_caller(&c),
                StatusCode::INTERNAL_SERVER_ERROR,
                c.loc.t("error-title"),
                c.loc.t("error-text"),
            )
        }
    }
}

async fn delete_field(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let sent = form
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !c.csrf_ok(sent) {
        return (StatusCode::FORBIDDEN, "CSRF check failed").into_response();
    }
    let Ok(id) = id.parse() else {
        return forbidden(&c);
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
