//! The import wizard's pages: upload (`/imports`), then one page per import
//! (`/imports/{id}`) that shows what its state calls for — the column mapping with the
//! check's report, the progress of a running job (refreshing itself, no JavaScript
//! needed), or the result with the rejected rows to download and undo.

use super::records::app_error_page;
use super::{Frame, render};
use crate::AppState;
use crate::api::imports::{MAX_UPLOAD, describe, next_piece};
use crate::auth::{Caller, UiForm, UiMultipart, UiUser, csrf_refused};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::imports::{Choice, OBJECTS, Settings, apply_mapping};
use hamkor_app::{AppError, AppResult};
use hamkor_domain::objects::ObjectDef;
use hamkor_domain::{Action, Id, Scope};
use hamkor_store::imports::Import;
use hamkor_store::users::User;
use serde_json::Value;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/imports",
            get(list_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/imports/{id}", get(import_page))
        .route("/imports/{id}/start", post(start))
        .route("/imports/{id}/cancel", post(cancel))
        .route("/imports/{id}/undo", post(undo))
        .route("/imports/{id}/rejected.csv", get(rejected))
}

/// The objects this user may import into, as (plural, label).
fn objects(c: &Caller) -> Vec<(&'static str, String)> {
    OBJECTS
        .iter()
        .filter(|o| c.actor.scope(**o, Action::Write) != Scope::None)
        .map(|o| {
            let d = ObjectDef::get(*o);
            (d.plural, c.loc.t(&format!("nav-{}", d.plural)))
        })
        .collect()
}

/// An import's row in the list: id, file, object, status, rows, created, when.
struct Line {
    id: String,
    file: String,
    object: String,
    status: String,
    rows: i64,
    created: i64,
    at: String,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ListPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    objects: Vec<(&'static str, String)>,
    chosen: &'static str,
    lines: Vec<Line>,
    error: Option<String>,
}

fn list_render(c: &Caller, imports: &[Import], chosen: &str, error: Option<String>) -> Response {
    let frame = Frame::for_caller(c);
    let lines = imports
        .iter()
        .map(|i| Line {
            id: i.id.to_string(),
            file: i.file_name.clone(),
            object: c.loc.t(&format!("nav-{}", i.object)),
            status: c.loc.t(&format!("import-status-{}", i.status)),
            rows: i.next_row,
            created: i.created,
            at: c.loc.datetime(&i.created_at),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut resp = render(&ListPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        objects: objects(c),
        chosen: OBJECTS
            .iter()
            .map(|o| ObjectDef::get(*o).plural)
            .find(|p| *p == chosen)
            .unwrap_or("contacts"),
        lines,
        error,
    });
    *resp.status_mut() = status;
    resp
}

async fn list_page(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if objects(&c).is_empty() {
        return app_error_page(&c, AppError::Forbidden);
    }
    match s.app.imports(&c.actor).await {
        Ok(list) => list_render(
            &c,
            &list,
            q.get("object").map(String::as_str).unwrap_or("contacts"),
            None,
        ),
        Err(e) => app_error_page(&c, e),
    }
}

/// The upload form: the file is read as it arrives, not held in memory. The fields before
/// it (`_csrf`, `object`) are read first, and the CSRF check passed before the file is.
async fn upload(State(s): State<AppState>, mut up: UiMultipart) -> Response {
    let mut fields: Vec<(String, String)> = Vec::new();
    let file = loop {
        let field = match up.multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break None,
            Err(e) => return e.into_response(),
        };
        if field.name() == Some("file") {
            break Some(field);
        }
        let name = field.name().unwrap_or("").to_string();
        match field.text().await {
            Ok(text) => fields.push((name, text)),
            Err(e) => return e.into_response(),
        }
    };
    let c = &up.caller;
    if !c.csrf_in(&fields) {
        return csrf_refused();
    }
    let object = fields
        .iter()
        .find(|(k, _)| k == "object")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let again = |error: String| async {
        let list = s.app.imports(&c.actor).await.unwrap_or_default();
        list_render(c, &list, &object, Some(error))
    };
    // A form sent without a file chosen has a file part with no name.
    let Some((file_name, field)) = file.and_then(|f| {
        let name = f.file_name().unwrap_or("").to_string();
        (!name.is_empty()).then_some((name, f))
    }) else {
        return again(c.loc.t("file-missing")).await;
    };
    match s
        .app
        .upload_import(&c.actor, &object, &file_name, FieldChunks(field))
        .await
    {
        Ok(i) => Redirect::to(&format!("/imports/{}", i.id)).into_response(),
        Err(AppError::Invalid(v)) => again(c.loc.errors(&v)).await,
        Err(e) => app_error_page(c, e),
    }
}

/// A form's file as it arrives, in pieces.
struct FieldChunks<'a>(axum::extract::multipart::Field<'a>);

impl hamkor_app::imports::AsyncChunks for FieldChunks<'_> {
    async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        next_piece(async { self.0.chunk().await.transpose() }).await
    }
}

/// A column on the mapping form: header, sample values, chosen field.
struct Column {
    index: usize,
    header: String,
    samples: String,
    /// The fields to choose from: key, label, chosen.
    options: Vec<(String, String, bool)>,
}

/// A class of rows in the check's report: name, count, examples in words.
struct Class {
    name: String,
    count: i64,
    examples: Vec<String>,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    id: String,
    file: String,
    object: String,
    format: String,
    status: String,
    status_key: String,
    busy: bool,
    rows_done: i64,
    total_rows: Option<i64>,
    rate: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    rejected: i64,
    error: Option<String>,
    /// The mapping form (while the import may still be checked or run).
    editable: bool,
    /// Sheet names and whether it is the one shown.
    sheets: Vec<(String, bool)>,
    sheet: String,
    mappings: Vec<String>,
    columns: Vec<Column>,
    /// Choices: value, label, chosen.
    on_duplicate: Vec<(&'static str, String, bool)>,
    on_update: Vec<(&'static str, String, bool)>,
    skip_bad_rows: bool,
    day_first: bool,
    classes: Vec<Class>,
    can_undo: bool,
}

fn target_label(loc: &Loc, object: &ObjectDef, t: &hamkor_app::imports::Target) -> String {
    if let Some(l) = &t.label {
        return l.clone();
    }
    match t.key.as_str() {
        "id" | "owner" | "account" | "position" => loc.t(&format!("import-target-{}", t.key)),
        k => loc.t(&format!("field-{}-{k}", object.object.as_str())),
    }
}

/// An example of the report in words.
fn example(loc: &Loc, class: &str, e: &Value) -> String {
    let row = e.get("row").and_then(Value::as_i64).unwrap_or(0);
    let at = loc.t_args("import-row", &[("row", row.to_string())]);
    match class {
        "error" => {
            let why: Vec<String> = e
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|x| describe(loc, x))
                .collect();
            format!("{at}: {}", why.join("; "))
        }
        "duplicate" => {
            let reason = e.get("reason").and_then(Value::as_str).unwrap_or("");
            let of = match (
                e.get("id").and_then(Value::as_str),
                e.get("of_row").and_then(Value::as_i64),
            ) {
                (_, Some(r)) => loc.t_args("import-like-row", &[("row", r.to_string())]),
                (Some(id), None) => loc.t_args("import-like-record", &[("id", id.to_string())]),
                _ => String::new(),
            };
            format!("{at}: {of} ({})", loc.t(&format!("import-reason-{reason}")))
        }
        "update" => {
            let fields: Vec<String> = e
                .get("changes")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            format!("{at}: {}", fields.join(", "))
        }
        _ => at,
    }
}

async fn import_page(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(&c, AppError::NotFound);
    };
    let i = match s.app.import(&c.actor, id).await {
        Ok(i) => i,
        Err(e) => return app_error_page(&c, e),
    };
    let Some(def) = hamkor_app::imports::importable(&i.object) else {
        return app_error_page(&c, AppError::NotFound);
    };
    let saved: Settings = serde_json::from_value(i.settings.clone()).unwrap_or_default();
    let editable = matches!(
        i.status.as_str(),
        "uploaded" | "checked" | "cancelled" | "failed"
    );
    let sheet = q.get("sheet").cloned().or(saved.sheet.clone());
    let mut columns = Vec::new();
    let mut mappings = Vec::new();
    if editable {
        let p = match s.app.import_preview(&c.actor, id, sheet.clone()).await {
            Ok(p) => p,
            Err(e) => return app_error_page(&c, e),
        };
        let chosen: Vec<Option<String>> = match q.get("mapping") {
            Some(name) => p
                .mappings
                .iter()
                .find(|m| &m.name == name)
                .map(|m| apply_mapping(&p.headers, &m.columns))
                .unwrap_or(p.suggested.clone()),
            None if !saved.columns.is_empty() && sheet == saved.sheet => saved.columns.clone(),
            None => p.suggested.clone(),
        };
        let targets: Vec<(String, String)> = p
            .targets
            .iter()
            .map(|t| (t.key.clone(), target_label(&c.loc, def, t)))
            .collect();
        columns = p
            .headers
            .iter()
            .enumerate()
            .map(|(n, h)| Column {
                index: n,
                header: h.clone(),
                samples: p
                    .rows
                    .iter()
                    .take(3)
                    .filter_map(|r| r.get(n))
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" · "),
                options: {
                    let pick = chosen.get(n).cloned().flatten().unwrap_or_default();
                    targets
                        .iter()
                        .map(|(k, l)| (k.clone(), l.clone(), *k == pick))
                        .collect()
                },
            })
            .collect();
        mappings = p.mappings.iter().map(|m| m.name.clone()).collect();
    }
    let counts = i.report.get("counts").cloned().unwrap_or_default();
    let classes = ["new", "update", "duplicate", "error"]
        .iter()
        .filter_map(|k| {
            let count = counts.get(*k).and_then(Value::as_i64)?;
            Some(Class {
                name: c.loc.t(&format!("import-class-{k}")),
                count,
                examples: i
                    .report
                    .get("examples")
                    .and_then(|e| e.get(*k))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .take(10)
                    .map(|e| example(&c.loc, k, e))
                    .collect(),
            })
        })
        .collect();
    let options = |values: &[(&'static str, Choice)], chosen: Choice, prefix: &str| {
        values
            .iter()
            .map(|(v, ch)| (*v, c.loc.t(&format!("{prefix}{v}")), *ch == chosen))
            .collect::<Vec<_>>()
    };
    let sheet = sheet.unwrap_or_default();
    let frame = Frame::for_caller(&c);
    render(&ImportPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        id: i.id.to_string(),
        file: i.file_name.clone(),
        object: c.loc.t(&format!("nav-{}", i.object)),
        format: i.format.to_uppercase(),
        status: i.status.clone(),
        status_key: c.loc.t(&format!("import-status-{}", i.status)),
        busy: matches!(i.status.as_str(), "checking" | "running" | "undoing"),
        rows_done: i.next_row,
        total_rows: i.total_rows,
        rate: i.report.get("rate").and_then(Value::as_f64).unwrap_or(0.0) as i64,
        created: i.created,
        updated: i.updated,
        skipped: i.skipped,
        rejected: i.rejected,
        error: i.error.as_deref().map(|k| c.loc.t(k)),
        editable,
        sheets: i
            .sheets
            .iter()
            .map(|x| {
                (
                    x.clone(),
                    *x == sheet || (sheet.is_empty() && Some(x) == i.sheets.first()),
                )
            })
            .collect(),
        sheet: sheet.clone(),
        mappings,
        columns,
        on_duplicate: options(
            &[
                ("skip", Choice::Skip),
                ("update", Choice::Update),
                ("create", Choice::Create),
            ],
            saved.on_duplicate,
            "import-dup-",
        ),
        on_update: options(
            &[("update", Choice::Update), ("skip", Choice::Skip)],
            saved.on_update,
            "import-upd-",
        ),
        skip_bad_rows: saved.skip_bad_rows,
        day_first: saved.day_first,
        classes,
        can_undo: matches!(i.status.as_str(), "done" | "cancelled" | "failed")
            && (i.created > 0 || i.updated > 0),
    })
}

async fn start(State(s): State<AppState>, Path(id): Path<String>, form: UiForm) -> Response {
    let c = &form.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let i = match s.app.import(&c.actor, id).await {
        Ok(i) => i,
        Err(e) => return app_error_page(c, e),
    };
    let width = form
        .fields
        .iter()
        .filter(|(k, _)| k.starts_with("column_"))
        .count();
    let columns: Vec<Option<String>> = (0..width)
        .map(|n| Some(form.get(&format!("column_{n}")).to_string()).filter(|v| !v.is_empty()))
        .collect();
    let choice = |v: &str, default: Choice| match v {
        "skip" => Choice::Skip,
        "update" => Choice::Update,
        "create" => Choice::Create,
        _ => default,
    };
    let sheet = Some(form.get("sheet").to_string()).filter(|v| !v.is_empty());
    let settings = Settings {
        sheet,
        columns: columns.clone(),
        on_duplicate: choice(form.get("on_duplicate"), Choice::Skip),
        on_update: choice(form.get("on_update"), Choice::Update),
        skip_bad_rows: form.get("skip_bad_rows") == "on",
        day_first: form.get("day_first") != "month",
    };
    let name = form.get("mapping_name").trim().to_string();
    if !name.is_empty() {
        let preview = s
            .app
            .import_preview(&c.actor, id, settings.sheet.clone())
            .await;
        if let Ok(p) = preview
            && let Err(e) = s
                .app
                .save_import_mapping(&c.actor, &i.object, &name, &p.headers, &columns)
                .await
        {
            return app_error_page(c, e);
        }
    }
    let dry_run = form.get("action") != "run";
    match s.app.start_import(&c.actor, id, settings, dry_run).await {
        Ok(_) => Redirect::to(&format!("/imports/{id}")).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

async fn cancel(State(s): State<AppState>, Path(id): Path<String>, form: UiForm) -> Response {
    let c = &form.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    match s.app.cancel_import(&c.actor, id).await {
        Ok(_) => Redirect::to(&format!("/imports/{id}")).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

async fn undo(State(s): State<AppState>, Path(id): Path<String>, form: UiForm) -> Response {
    let c = &form.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    match s.app.undo_import(&c.actor, id).await {
        Ok(_) => Redirect::to(&format!("/imports/{id}")).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

async fn rejected(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(&c, AppError::NotFound);
    };
    let loc = c.loc;
    match s
        .app
        .import_rejects_csv(&c.actor, id, |e| describe(&loc, e))
        .await
    {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"rejected.csv\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => app_error_page(&c, e),
    }
}
