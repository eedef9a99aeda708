//! Saving list views and acting on a selection of records from a list page.

use super::records::{app_error_page, href as list_href};
use super::{Frame, render};
use crate::AppState;
use crate::auth::{UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::lists::{BulkAction, BulkTarget};
use hamkor_domain::Id;
use hamkor_domain::objects::{OBJECTS, ObjectDef};
use hamkor_store::users::User;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for def in OBJECTS {
        let d: &'static ObjectDef = def;
        r = r
            .route(
                &format!("/{}/views", d.plural),
                post(move |s: State<AppState>, f: UiForm| save_view(d, s, f)),
            )
            .route(
                &format!("/{}/views/{{id}}/delete", d.plural),
                post(move |s: State<AppState>, p: Path<String>, f: UiForm| delete_view(d, s, p, f)),
            )
            .route(
                &format!("/{}/bulk", d.plural),
                post(move |s: State<AppState>, f: UiForm| bulk(d, s, f)),
            )
            .route(
                &format!("/{}/export", d.plural),
                get(
                    move |s: State<AppState>,
                          u: UiUser,
                          h: axum::http::HeaderMap,
                          q: Query<Vec<(String, String)>>| {
                        export(d, s, u, h, q)
                    },
                ),
            );
    }
    r
}

async fn save_view(def: &'static ObjectDef, State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let params = crate::api::users::parse_query(form.get("params"));
    match s
        .app
        .save_view(
            &c.actor,
            def,
            form.get("name"),
            &params,
            form.get("shared") == "true",
        )
        .await
    {
        Ok(v) => Redirect::to(&list_href(def.plural, &v.params)).into_response(),
        Err(AppError::Invalid(e)) => super::message(
            Frame::for_caller(c),
            StatusCode::UNPROCESSABLE_ENTITY,
            c.loc.t("form-has-errors"),
            c.loc.errors_by_field(&e),
        ),
        Err(e) => app_error_page(c, e),
    }
}

async fn delete_view(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    Path(id): Path<String>,
    form: UiForm,
) -> Response {
    let c = &form.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    match s.app.delete_view(&c.actor, id).await {
        Ok(()) => Redirect::to(&format!("/{}", def.plural)).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

/// `GET /{plural}/export?format=…&<the list's parameters>`: the list page's export
/// buttons, the same exporter as the API's. A link followed from another site is
/// refused: an export is logged in the user's name, so only Hamkor's own pages start one.
async fn export(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    UiUser(c): UiUser,
    headers: axum::http::HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return app_error_page(&c, AppError::Forbidden);
    }
    match crate::export::download(&s.app, &c.actor, c.loc, def, &params, "ui").await {
        Ok(r) => r,
        Err(e) => app_error_page(&c, e),
    }
}

pub struct RefusedView {
    href: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "bulk.html")]
struct BulkPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    done: usize,
    refused: Vec<RefusedView>,
    refused_count: usize,
    back: String,
}

#[derive(Template)]
#[template(path = "bulk_confirm.html")]
struct BulkConfirmPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    plural: &'static str,
    action_label: String,
    count: String,
    /// The form's fields, sent again with `confirm=yes`.
    hidden: Vec<(String, String)>,
    back: String,
}

async fn bulk(def: &'static ObjectDef, State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let loc = c.loc;
    let action = form.get("action");
    let mut body = json!({"action": action});
    match action {
        "set_owner" => body["owner_id"] = json!(form.get("owner_id")),
        "add_tag" | "remove_tag" => body["tag"] = json!(form.get("tag")),
        "set_field" => {
            body["field"] = json!(form.get("field"));
            // An empty value clears the field.
            let v = form.get("value").trim();
            body["value"] = if v.is_empty() { json!(null) } else { json!(v) };
        }
        _ => {}
    }
    let back = super::safe_next(Some(form.get("return_to")));
    let target = if form.get("target") == "all" {
        BulkTarget::Matching(crate::api::users::parse_query(form.get("params")))
    } else {
        BulkTarget::Ids(
            form.fields
                .iter()
                .filter(|(k, _)| k == "ids")
                .filter_map(|(_, v)| v.parse().ok())
                .collect(),
        )
    };
    let action = match BulkAction::parse(def, &body) {
        Ok(a) => a,
        Err(e) => {
            return super::message(
                Frame::for_caller(c),
                StatusCode::UNPROCESSABLE_ENTITY,
                loc.t("form-has-errors"),
                loc.errors_by_field(&e),
            );
        }
    };
    // A whole list is acted on only once the user has seen how many records it holds.
    if let BulkTarget::Matching(params) = &target
        && form.get("confirm") != "yes"
    {
        let count = match s.app.count_matching(&c.actor, def, params).await {
            Ok(n) => n,
            Err(e) => return app_error_page(c, e),
        };
        if count == 0 {
            return super::message(
                Frame::for_caller(c),
                StatusCode::OK,
                loc.t("bulk-result"),
                loc.t("bulk-none-matching"),
            );
        }
        let hidden = form
            .fields
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "action"
                        | "owner_id"
                        | "tag"
                        | "field"
                        | "value"
                        | "target"
                        | "params"
                        | "return_to"
                )
            })
            .cloned()
            .chain([("confirm".to_string(), "yes".to_string())])
            .collect();
        let frame = Frame::for_caller(c);
        return render(&BulkConfirmPage {
            loc,
            user: frame.user,
            csrf: frame.csrf,
            langs: frame.langs,
            search_value: String::new(),
            plural: def.plural,
            action_label: loc.t(&format!("bulk-{}", form.get("action"))),
            count: loc.number(count as f64, 0),
            hidden,
            back,
        });
    }
    let result = match &target {
        // A whole list may take longer than a request may wait: it runs on its own task,
        // which finishes even if the request times out.
        BulkTarget::Matching(_) => {
            let (app, actor) = (s.app.clone(), c.actor.clone());
            tokio::spawn(async move { app.bulk_target(&actor, def, &target, &action).await })
                .await
                .unwrap_or_else(|e| Err(AppError::Internal(e.to_string())))
        }
        BulkTarget::Ids(_) => s.app.bulk_target(&c.actor, def, &target, &action).await,
    };
    let report = match result {
        Ok(r) => r,
        Err(AppError::Invalid(e)) => {
            return super::message(
                Frame::for_caller(c),
                StatusCode::UNPROCESSABLE_ENTITY,
                loc.t("form-has-errors"),
                loc.errors_by_field(&e),
            );
        }
        Err(e) => return app_error_page(c, e),
    };
    let frame = Frame::for_caller(c);
    let refused = report
        .refused
        .iter()
        .map(|r| RefusedView {
            href: format!("/{}/{}", def.plural, r.id),
            reason: match r.reason {
                "invalid" => format!("{}: {}", loc.t("bulk-refused-invalid"), r.detail),
                other => loc.t(&format!("bulk-refused-{other}")),
            },
        })
        .collect();
    render(&BulkPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        done: report.done,
        refused,
        refused_count: report.refused_count,
        back,
    })
}
