//! List, record page, create/edit form and delete for every object, plus the search page.

use super::{Frame, message, render};
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_domain::custom::{CustomFieldDef, CustomKind};
use hamkor_domain::objects::{FieldKind, ObjectDef};
use hamkor_domain::{Action, Id, ObjectType, Scope};
use hamkor_store::users::User;
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    let mut r = Router::new().route("/search", get(search_page));
    for def in hamkor_domain::objects::OBJECTS {
        let d: &'static ObjectDef = def;
        r = r
            .route(
                &format!("/{}", d.plural),
                get(
                    move |s: State<AppState>, u: UiUser, q: Query<Vec<(String, String)>>| {
                        list_page(d, s, u, q)
                    },
                ),
            )
            .route(
                &format!("/{}/new", d.plural),
                get(
                    move |s: State<AppState>, u: UiUser, q: Query<Vec<(String, String)>>| {
                        form_page(d, s, u, None, q.0)
                    },
                )
                .post(move |s: State<AppState>, f: UiForm| save(d, s, None, f)),
            )
            .route(
                &format!("/{}/{{id}}", d.plural),
                get(
                    move |s: State<AppState>,
                          u: UiUser,
                          p: Path<String>,
                          q: Query<Vec<(String, String)>>| {
                        record_page(d, s, u, p, q)
                    },
                ),
            )
            .route(
                &format!("/{}/{{id}}/edit", d.plural),
                get(
                    move |s: State<AppState>, u: UiUser, p: Path<String>| async move {
                        form_page(d, s, u, Some(p.0), Vec::new()).await
                    },
                )
                .post(move |s: State<AppState>, p: Path<String>, f: UiForm| {
                    save(d, s, Some(p.0), f)
                }),
            )
            .route(
                &format!("/{}/{{id}}/delete", d.plural),
                post(move |s: State<AppState>, p: Path<String>, f: UiForm| delete(d, s, p, f)),
            );
    }
    r
}

pub(crate) fn object_title(loc: &Loc, def: &ObjectDef) -> String {
    loc.t(&format!("nav-{}", def.plural))
}

pub(crate) fn field_label(loc: &Loc, def: &ObjectDef, name: &str) -> String {
    loc.t(&format!("field-{}-{}", def.object.as_str(), name))
}

/// What a page needs to show ids as names: the users, and the records linked from the
/// records shown (only those the viewer may see; others show as "…").
#[derive(Default)]
pub struct Names {
    pub users: Vec<User>,
    /// Names of teams, pipelines and stages (see `App::lookup_names`).
    pub lookups: Vec<(Id, String)>,
    records: std::collections::HashMap<String, String>,
}

impl Names {
    fn user(&self, id: &str) -> Option<String> {
        self.users
            .iter()
            .find(|u| u.id.to_string() == id)
            .map(|u| u.name.clone())
    }
    fn record(&self, id: &str) -> String {
        self.records
            .get(id)
            .cloned()
            .unwrap_or_else(|| "…".to_string())
    }
}

/// Looks up the users and the names of the records that `records` link to.
pub(crate) async fn names_for(
    s: &AppState,
    actor: &hamkor_store::Actor,
    def: &ObjectDef,
    records: &[&hamkor_store::records::Record],
) -> Names {
    let mut names = Names {
        users: s.app.users().await.unwrap_or_default(),
        ..Names::default()
    };
    for f in def.fields {
        if let FieldKind::Lookup(l) = f.kind {
            names
                .lookups
                .extend(s.app.lookup_names(l).await.unwrap_or_default());
        }
    }
    // Links to a record of any type (`related`): one lookup per type for the whole page.
    if def.fields.iter().any(|f| f.kind == FieldKind::Related) {
        let mut by_type: std::collections::HashMap<ObjectType, Vec<Id>> =
            std::collections::HashMap::new();
        for r in records {
            if let Some(Value::Object(o)) = r.fields.get("related")
                && let (Some(t), Some(id)) = (
                    o.get("type")
                        .and_then(Value::as_str)
                        .and_then(ObjectType::parse),
                    o.get("id")
                        .and_then(Value::as_str)
                        .and_then(|x| x.parse::<Id>().ok()),
                )
            {
                let ids = by_type.entry(t).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for (t, ids) in by_type {
            for (id, title) in s
                .app
                .record_titles(actor, ObjectDef::get(t), &ids)
                .await
                .unwrap_or_default()
            {
                names.records.insert(id.to_string(), title);
            }
        }
    }
    for f in def.fields {
        let (FieldKind::Ref(target) | FieldKind::Refs(target)) = f.kind else {
            continue;
        };
        let mut ids: Vec<Id> = Vec::new();
        for r in records {
            match r.fields.get(f.name) {
                Some(Value::String(x)) => ids.extend(x.parse::<Id>().ok()),
                Some(Value::Array(a)) => ids.extend(
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter_map(|x| x.parse::<Id>().ok()),
                ),
                _ => {}
            }
        }
        ids.sort();
        ids.dedup();
        ids.retain(|id| !names.records.contains_key(&id.to_string()));
        if ids.is_empty() {
            continue;
        }
        let found = s
            .app
            .record_titles(actor, ObjectDef::get(target), &ids)
            .await
            .unwrap_or_default();
        for (id, title) in found {
            names.records.insert(id.to_string(), title);
        }
    }
    names
}

/// Seconds as `m:ss` or `h:mm:ss`.
fn duration_text(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// A core or custom value as text for a page.
pub(crate) fn value_text(loc: &Loc, kind: Option<FieldKind>, v: &Value, names: &Names) -> String {
    match (kind, v) {
        (_, Value::Null) => String::new(),
        (Some(k), Value::Array(a)) if list_kind(k).is_some() => {
            list_text(k, a, |kind| loc.t(&format!("choice-{kind}")))
        }
        (Some(FieldKind::Choice(_)), Value::String(s)) => loc.t(&format!("choice-{s}")),
        (Some(FieldKind::Date), Value::String(s)) => {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| loc.date(d))
                .unwrap_or_else(|_| s.clone())
        }
        (Some(FieldKind::DateTime), Value::String(s)) => hamkor_domain::Timestamp::parse_rfc3339(s)
            .map(|t| loc.datetime(&t))
            .unwrap_or_else(|| s.clone()),
        (Some(FieldKind::Duration), Value::Number(n)) => duration_text(n.as_i64().unwrap_or(0)),
        (Some(FieldKind::Amount), Value::String(a)) => a
            .parse::<f64>()
            .map(|f| loc.number(f, 2))
            .unwrap_or_else(|_| a.clone()),
        (Some(FieldKind::Ref(_)), Value::String(s)) => names.record(s),
        (Some(FieldKind::Related), Value::Object(o)) => {
            let id = o.get("id").and_then(Value::as_str).unwrap_or("");
            let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
            format!("{}: {}", loc.t(&format!("object-{ty}")), names.record(id))
        }
        (Some(FieldKind::Lookup(_)), Value::String(s)) => names
            .lookups
            .iter()
            .find(|(id, _)| id.to_string() == *s)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| s.clone()),
        (Some(FieldKind::Checklist), Value::Array(items)) => {
            let done = items
                .iter()
                .filter(|i| i.get("done").and_then(Value::as_bool) == Some(true))
                .count();
            loc.t_args(
                "checklist-progress",
                &[
                    ("done", done.to_string()),
                    ("total", items.len().to_string()),
                ],
            )
        }
        (Some(FieldKind::Recurrence), Value::Object(o)) => {
            let every = o.get("every").and_then(Value::as_str).unwrap_or("");
            let n = o.get("interval").and_then(Value::as_i64).unwrap_or(1);
            let mut text = loc.t_args(&format!("repeat-{every}"), &[("n", n.to_string())]);
            if let Some(days) = o.get("weekdays").and_then(Value::as_array) {
                let names: Vec<String> = days
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|d| loc.t(&format!("weekday-short-{d}")))
                    .collect();
                text = format!("{text}: {}", names.join(", "));
            }
            if let Some(until) = o.get("until").and_then(Value::as_str) {
                text = format!("{text} · {} {until}", loc.t("repeat-until"));
            }
            text
        }
        (Some(FieldKind::Refs(_)), Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|x| names.record(x))
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::String(s)) => names.user(s).unwrap_or_else(|| s.clone()),
        (_, Value::Array(a)) => a
            .iter()
            .map(|x| match x.as_str() {
                Some(s) => names.user(s).unwrap_or_else(|| s.to_string()),
                None => x.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::Bool(b)) => loc.t(if *b { "yes" } else { "no" }),
        (_, Value::Number(n)) => n
            .as_f64()
            .map(|f| loc.number(f, if f.fract() == 0.0 { 0 } else { 2 }))
            .unwrap_or_default(),
        (_, Value::Object(o)) => match (
            o.get("amount").and_then(Value::as_str),
            o.get("currency").and_then(Value::as_str),
        ) {
            (Some(a), Some(c)) => format!(
                "{} {c}",
                a.parse::<f64>()
                    .map(|f| loc.number(f, 2))
                    .unwrap_or_else(|_| a.to_string())
            ),
            _ => v.to_string(),
        },
    }
}

pub struct Column {
    label: String,
    sort_href: Option<String>,
    arrow: &'static str,
}
pub struct Cell {
    label: String,
    text: String,
}
pub struct Row {
    id: Id,
    cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    title: String,
    plural: &'static str,
    can_create: bool,
    q: String,
    total: Option<String>,
    columns: Vec<Column>,
    rows: Vec<Row>,
    next_href: Option<String>,
    hidden_for_search: Vec<(String, String)>,
    hidden_for_filter: Vec<(String, String)>,
    hidden_for_columns: Vec<(String, String)>,
    filter_fields: Vec<(String, String)>,
    ops: Vec<(String, String)>,
    column_choices: Vec<(String, String, bool)>,
    active_filters: Vec<(String, String)>,
    /// Saved views: (name, href, shared, delete action if the user may delete it).
    views: Vec<(String, String, bool, Option<String>)>,
    /// The current list as a query string, for saving it as a view.
    current_query: String,
    can_share: bool,
    /// Bulk actions: the users an owner can be given to, and whether records have tags.
    bulk_users: Vec<(String, String)>,
    has_tags: bool,
    /// Fields "set a field" can change: one-value core fields, by label.
    bulk_fields: Vec<(String, String)>,
    return_to: String,
    /// The list's filters and search as a query string: "every record matching".
    match_params: String,
    /// Export links (href, label) carrying the filters, search, sort and shown columns.
    exports: Vec<(String, String)>,
}

pub(crate) fn app_error_page(c: &Caller, e: AppError) -> Response {
    let loc = c.loc;
    match e {
        AppError::NotFound => message(
            Frame::for_caller(c),
            StatusCode::NOT_FOUND,
            loc.t("not-found-title"),
            loc.t("not-found-text"),
        ),
        AppError::Forbidden => message(
            Frame::for_caller(c),
            StatusCode::FORBIDDEN,
            loc.t("forbidden-title"),
            loc.t("forbidden-text"),
        ),
        AppError::Invalid(v) => message(
            Frame::for_caller(c),
            StatusCode::UNPROCESSABLE_ENTITY,
            loc.t("form-has-errors"),
            loc.errors_by_field(&v),
        ),
        AppError::Unavailable(secs) => crate::overload::busy_page(Frame::for_caller(c), secs),
        other => {
            tracing::error!(error = %other, "page failed");
            message(
                Frame::for_caller(c),
                StatusCode::INTERNAL_SERVER_ERROR,
                loc.t("error-title"),
                loc.t("error-text"),
            )
        }
    }
}

/// A column or filter a list page can show: core fields, owner, timestamps, custom fields.
struct ListField {
    name: String,
    label: String,
    kind: Option<FieldKind>,
    custom: Option<CustomFieldDef>,
    sortable: bool,
}

fn list_fields(loc: &Loc, def: &ObjectDef, customs: &[CustomFieldDef]) -> Vec<ListField> {
    let mut out = Vec::new();
    if def.object == ObjectType::Contact {
        out.push(ListField {
            name: "name".into(),
            label: field_label(loc, def, "name"),
            kind: None,
            custom: None,
            sortable: true,
        });
    }
    for f in def.fields {
        let listy = matches!(
            f.kind,
            FieldKind::Phones | FieldKind::Emails | FieldKind::Tags | FieldKind::Ref(_)
        );
        out.push(ListField {
            name: f.name.into(),
            label: field_label(loc, def, f.name),
            kind: Some(f.kind),
            custom: None,
            sortable: !listy,
        });
    }
    out.push(ListField {
        name: "owner_id".into(),
        label: field_label(loc, def, "owner_id"),
        kind: None,
        custom: None,
        sortable: false,
    });
    for n in ["created_at", "updated_at"] {
        out.push(ListField {
            name: n.into(),
            label: loc.t(&format!("field-any-{n}")),
            kind: None,
            custom: None,
            sortable: true,
        });
    }
    for d in customs {
        let sortable = !matches!(d.kind, CustomKind::MultiPicklist | CustomKind::Checkbox);
        out.push(ListField {
            name: format!("custom.{}", d.key),
            label: d.label.clone(),
            kind: custom_kind_as_field(d.kind),
            custom: Some(d.clone()),
            sortable,
        });
    }
    out
}

/// `a=1&b=2`, each part URL-encoded.
fn query_string(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", urlencoding::encode(k), urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn href(plural: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        format!("/{plural}")
    } else {
        format!("/{plural}?{}", query_string(params))
    }
}

/// A list page counts its records up to this many.
const LIST_COUNT_CAP: i64 = 10_000;

const FILTER_OPS: [&str; 9] = ["eq", "ne", "like", "lt", "lte", "gt", "gte", "in", "null"];

async fn list_page(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let loc = c.loc;
    // "Add filter" arrives as field, operator and value: turn it into `field[op]=value`.
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let (Some(field), Some(op)) = (get("ffield"), get("fop")) {
        let mut rest: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "ffield" | "fop" | "fvalue" | "cursor"))
            .cloned()
            .collect();
        if FILTER_OPS.contains(&op.as_str()) && !field.is_empty() {
            rest.push((format!("{field}[{op}]"), get("fvalue").unwrap_or_default()));
        }
        return Redirect::to(&href(def.plural, &rest)).into_response();
    }
    let customs = s.app.custom_fields(def.object).await.unwrap_or_default();
    let fields: Vec<ListField> = list_fields(&loc, def, &customs)
        .into_iter()
        .filter(|f| !c.actor.hides(def.object, &f.name))
        .collect();
    let chosen: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "col")
        .map(|(_, v)| v.clone())
        .collect();
    let filters: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "q" | "sort" | "cursor" | "col" | "limit" | "count"
            )
        })
        .cloned()
        .collect();
    let mut query: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != "col").cloned().collect();
    query.push(("count".into(), "true".into()));
    // Counting millions exactly would cost more than the page: the count stops at
    // LIST_COUNT_CAP and shows as "10,000+".
    let page = match s
        .app
        .list_records_counting_to(&c.actor, def, &query, Some(LIST_COUNT_CAP))
        .await
    {
        Ok(p) => p,
        Err(e) => return app_error_page(&c, e),
    };
    let names = names_for(&s, &c.actor, def, &page.items.iter().collect::<Vec<_>>()).await;
    let users = &names.users;
    let sort = get("sort").unwrap_or_default();
    let q = get("q").unwrap_or_default();
    let mut columns: Vec<&ListField> = fields.iter().filter(|f| chosen.contains(&f.name)).collect();
    if columns.is_empty() {
        columns = fields
            .iter()
            .filter(|f| {
                let core = def.field(&f.name).is_some_and(|d| d.default_column)
                    && !(def.object == ObjectType::Contact
                        && (f.name == "first_name" || f.name == "last_name"));
                core || f.name == "name" || f.name == "owner_id"
            })
            .collect();
    }
    // Links keep the filters, search and chosen columns.
    let mut keep: Vec<(String, String)> = filters.clone();
    if !q.is_empty() {
        keep.push(("q".into(), q.clone()));
    }
    for col in &chosen {
        keep.push(("col".into(), col.clone()));
    }
    let header = columns
        .iter()
        .map(|f| {
            let key = if f.name == "name" && def.object == ObjectType::Contact {
                "last_name".to_string()
            } else {
                f.name.clone()
            };
            let (next_sort, arrow) = if sort == key {
                (format!("-{key}"), " ▲")
            } else if sort == format!("-{key}") {
                (key.clone(), " ▼")
            } else {
                (key.clone(), "")
            };
            let mut p = keep.clone();
            p.push(("sort".into(), next_sort));
            Column {
                label: f.label.clone(),
                sort_href: f.sortable.then(|| href(def.plural, &p)),
                arrow,
            }
        })
        .collect();
    let rows = page
        .items
        .iter()
        .map(|r| Row {
            id: r.id,
            cells: columns
                .iter()
                .map(|f| Cell {
                    label: f.label.clone(),
                    text: match f.name.as_str() {
                        "name" if def.object == ObjectType::Contact => r.title(),
                        "owner_id" => users
                            .iter()
                            .find(|u| u.id == r.owner_id)
                            .map(|u| u.name.clone())
                            .unwrap_or_default(),
                        "created_at" => loc.datetime(&r.created_at),
                        "updated_at" => loc.datetime(&r.updated_at),
                        name => match &f.custom {
                            Some(d) => value_text(
                                &loc,
                                f.kind,
                                r.custom.get(&d.key).unwrap_or(&Value::Null),
                                &names,
                            ),
                            None => value_text(
                                &loc,
                                f.kind,
                                r.fields.get(name).unwrap_or(&Value::Null),
                                &names,
                            ),
                        },
                    },
                })
                .collect(),
        })
        .collect();
    let next_href = page.next_cursor.map(|cur| {
        let mut p = keep.clone();
        if !sort.is_empty() {
            p.push(("sort".into(), sort.clone()));
        }
        p.push(("cursor".into(), cur));
        href(def.plural, &p)
    });
    let active_filters = filters
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let (name, op) = k
                .split_once('[')
                .map(|(n, o)| (n, o.trim_end_matches(']')))
                .unwrap_or((k.as_str(), "eq"));
            let label = fields
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.label.clone())
                .unwrap_or_else(|| name.to_string());
            let mut p: Vec<(String, String)> = filters
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, x)| x.clone())
                .collect();
            if !q.is_empty() {
                p.push(("q".into(), q.clone()));
            }
            if !sort.is_empty() {
                p.push(("sort".into(), sort.clone()));
            }
            (
                format!("{label} {} {v}", loc.t(&format!("op-{op}"))),
                href(def.plural, &p),
            )
        })
        .collect();
    let mut hidden_for_search: Vec<(String, String)> = filters.clone();
    hidden_for_search.extend(chosen.iter().map(|c| ("col".to_string(), c.clone())));
    if !sort.is_empty() {
        hidden_for_search.push(("sort".into(), sort.clone()));
    }
    let mut hidden_for_columns: Vec<(String, String)> = filters.clone();
    if !q.is_empty() {
        hidden_for_columns.push(("q".into(), q.clone()));
    }
    if !sort.is_empty() {
        hidden_for_columns.push(("sort".into(), sort.clone()));
    }
    let mut hidden_for_filter = hidden_for_columns.clone();
    hidden_for_filter.extend(chosen.iter().map(|c| ("col".to_string(), c.clone())));
    let frame = Frame::for_caller(&c);
    let current: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "count" | "limit"))
        .cloned()
        .collect();
    let current_query = query_string(&current);
    let mut matching: Vec<(String, String)> = filters.clone();
    if !q.is_empty() {
        matching.push(("q".into(), q.clone()));
    }
    let mut export_params = matching.clone();
    if !sort.is_empty() {
        export_params.push(("sort".into(), sort.clone()));
    }
    export_params.extend(columns.iter().map(|f| ("col".to_string(), f.name.clone())));
    let export_href = |extra: &[(&str, &str)]| {
        let mut p: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        p.extend(export_params.iter().cloned());
        format!("/{}/export?{}", def.plural, query_string(&p))
    };
    let mut exports = vec![
        (export_href(&[("format", "csv")]), loc.t("export-csv")),
        (
            export_href(&[("format", "csv"), ("delimiter", "semicolon")]),
            loc.t("export-csv-semicolon"),
        ),
        (export_href(&[("format", "xlsx")]), loc.t("export-xlsx")),
    ];
    if def.object == ObjectType::Contact {
        exports.push((export_href(&[("format", "vcf")]), loc.t("export-vcf")));
    }
    let views = s
        .app
        .saved_views(&c.actor, def)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let may_delete = hamkor_app::lists::may_delete_view(&c.actor, &v);
            (
                v.name.clone(),
                href(def.plural, &v.params),
                v.shared,
                may_delete.then(|| format!("/{}/views/{}/delete", def.plural, v.id)),
            )
        })
        .collect();
    render(&ListPage {
        views,
        return_to: href(def.plural, &current),
        match_params: query_string(&matching),
        exports,
        current_query,
        can_share: hamkor_app::lists::may_share_views(&c.actor),
        bulk_users: users
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| (u.id.to_string(), u.name.clone()))
            .collect(),
        has_tags: def.field("tags").is_some(),
        bulk_fields: def
            .fields
            .iter()
            .filter(|f| {
                matches!(
                    f.kind,
                    FieldKind::Text { .. }
                        | FieldKind::Choice(_)
                        | FieldKind::Date
                        | FieldKind::Url
                        | FieldKind::Amount
                ) && !f.required
            })
            .map(|f| (f.name.to_string(), field_label(&loc, def, f.name)))
            .collect(),
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        title: object_title(&loc, def),
        plural: def.plural,
        can_create: c.actor.scope(def.object, Action::Write) != Scope::None,
        total: page.total.map(|t| {
            if t >= LIST_COUNT_CAP {
                format!("{}+", loc.number(LIST_COUNT_CAP as f64, 0))
            } else {
                loc.number(t as f64, 0)
            }
        }),
        q,
        columns: header,
        rows,
        next_href,
        hidden_for_search,
        hidden_for_filter,
        hidden_for_columns,
        filter_fields: fields
            .iter()
            .filter(|f| {
                f.name != "name"
                    && !matches!(f.kind, Some(FieldKind::Phones | FieldKind::Emails))
                    && def.field(&f.name).is_none_or(|d| d.filterable)
            })
            .map(|f| (f.name.clone(), f.label.clone()))
            .collect(),
        ops: FILTER_OPS
            .iter()
            .map(|o| (o.to_string(), loc.t(&format!("op-{o}"))))
            .collect(),
        column_choices: fields
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    f.label.clone(),
                    columns.iter().any(|c| c.name == f.name),
                )
            })
            .collect(),
        active_filters,
    })
}

pub struct FieldView {
    label: String,
    text: String,
    href: Option<String>,
}
pub struct RelatedItem {
    href: String,
    text: String,
    note: String,
}
pub struct Related {
    title: String,
    items: Vec<RelatedItem>,
    /// A link to add one more (href, label).
    add: Option<(String, String)>,
}
pub struct HistoryView {
    at: String,
    who: String,
    action: String,
    changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    title: String,
    plural: &'static str,
    id: Id,
    version: i64,
    can_edit: bool,
    can_delete: bool,
    fields: Vec<FieldView>,
    related: Vec<Related>,
    timeline: Option<TimelineView>,
    files: Vec<FileView>,
    can_upload: bool,
    history: Vec<HistoryView>,
    work: Option<super::planning::WorkPanel>,
    deal: Option<super::sales::DealPanel>,
    /// A lead not yet converted, for one who may convert it.
    can_convert: bool,
    lines: Option<super::documents::LinesPanel>,
    doc: Option<super::documents::DocPanel>,
    balance: Option<super::documents::BalancePanel>,
    /// Accounts and contacts that may be the same client.
    dups: Vec<super::dedup::DupLink>,
    /// The merge just made into this record (`?merged=`), offered for undo.
    merged: Option<String>,
    /// Whom the record is shared with (shareable objects).
    shares: Option<super::access::SharesPanel>,
}

/// An attachment as a record page lists it.
pub struct FileView {
    href: String,
    delete_action: Option<String>,
    name: String,
    note: String,
}

fn custom_kind_as_field(k: CustomKind) -> Option<FieldKind> {
    match k {
        CustomKind::Date => Some(FieldKind::Date),
        _ => None,
    }
}

/// One interaction as a timeline shows it.
pub struct TimelineItem {
    href: String,
    kind: String,
    kind_label: String,
    when: String,
    who: String,
    subject: String,
    body: String,
    details: Vec<String>,
    /// Links to the account and contacts, where they are not the page's own record.
    links: Vec<(String, String)>,
}

/// The timeline section of an account or contact page: its filters, its items, the
/// link to older items, and what the quick "log a call" and "add a note" forms need.
pub struct TimelineView {
    /// `account_id` or `contact_id`: the field the quick forms fill with this record.
    subject_field: &'static str,
    return_to: String,
    items: Vec<TimelineItem>,
    older_href: Option<String>,
    kinds: Vec<(String, String)>,
    users: Vec<(String, String)>,
    kind: String,
    user: String,
    from: String,
    to: String,
    /// Accounts only: whether the branches' history is included.
    branches: Option<bool>,
    /// Contacts the quick forms can name (an account's contacts).
    contacts: Vec<(String, String)>,
    directions: Vec<(String, String)>,
    results: Vec<(String, String)>,
    can_log: bool,
    error: Option<String>,
}

async fn timeline_view(
    s: &AppState,
    c: &crate::auth::Caller,
    def: &ObjectDef,
    id: Id,
    params: &[(String, String)],
    contacts: Vec<(String, String)>,
) -> Option<TimelineView> {
    use hamkor_domain::objects::{CALL_RESULTS, DIRECTIONS, INTERACTION, INTERACTION_KINDS};
    use hamkor_store::timeline::Subject;
    let loc = c.loc;
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let branches = get("tl_branches") == "1";
    let (subject, subject_field) = match def.object {
        ObjectType::Account => (Subject::Account { id, branches }, "account_id"),
        ObjectType::Contact => (Subject::Contact(id), "contact_id"),
        _ => return None,
    };
    // The page's own filter names (tl_…) become the timeline's parameters.
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in params {
        if let Some(name) = k.strip_prefix("tl_")
            && ["kind", "user", "from", "to", "cursor"].contains(&name)
            && !v.trim().is_empty()
        {
            query.push((name.to_string(), v.trim().to_string()));
        }
    }
    query.push(("limit".into(), "25".into()));
    let (page, error) = match s.app.timeline(&c.actor, subject, &query).await {
        Ok(p) => (p, None),
        Err(AppError::Invalid(e)) => (
            hamkor_store::records::Page {
                items: Vec::new(),
                next_cursor: None,
                total: None,
            },
            Some(loc.errors_by_field(&e)),
        ),
        Err(_) => return None,
    };
    let names = names_for(
        s,
        &c.actor,
        &INTERACTION,
        &page.items.iter().collect::<Vec<_>>(),
    )
    .await;
    let own = id.to_string();
    let field = |r: &hamkor_store::records::Record, k: &str| {
        r.fields.get(k).cloned().unwrap_or(Value::Null)
    };
    let items = page
        .items
        .iter()
        .map(|r| {
            let kind = field(r, "kind").as_str().unwrap_or("").to_string();
            let mut details = Vec::new();
            for k in ["direction", "result", "duration", "outcome"] {
                let v = field(r, k);
                if !v.is_null() {
                    let kind = INTERACTION.field(k).map(|f| f.kind);
                    details.push(format!(
                        "{}: {}",
                        field_label(&loc, &INTERACTION, k),
                        value_text(&loc, kind, &v, &names)
                    ));
                }
            }
            let mut links = Vec::new();
            if let Some(a) = field(r, "account_id").as_str().filter(|a| *a != own) {
                links.push((format!("/accounts/{a}"), names.record(a)));
            }
            let mut contacts: Vec<String> = Vec::new();
            if let Some(x) = field(r, "contact_id").as_str() {
                contacts.push(x.to_string());
            }
            for x in field(r, "contact_ids").as_array().into_iter().flatten() {
                if let Some(x) = x.as_str() {
                    contacts.push(x.to_string());
                }
            }
            for x in contacts.iter().filter(|x| **x != own) {
                links.push((format!("/contacts/{x}"), names.record(x)));
            }
            let mut who = names.user(&r.owner_id.to_string()).unwrap_or_default();
            let others = value_text(&loc, Some(FieldKind::Users), &field(r, "user_ids"), &names);
            if !others.is_empty() {
                who = format!("{who}, {others}");
            }
            TimelineItem {
                href: format!("/interactions/{}", r.id),
                kind_label: loc.t(&format!("choice-{kind}")),
                kind,
                when: value_text(
                    &loc,
                    Some(FieldKind::DateTime),
                    &field(r, "occurred_at"),
                    &names,
                ),
                who,
                subject: field(r, "subject").as_str().unwrap_or("").to_string(),
                body: field(r, "body")
                    .as_str()
                    .map(|b| {
                        let short: String = b.chars().take(400).collect();
                        if short.len() < b.len() {
                            format!("{short}…")
                        } else {
                            short
                        }
                    })
                    .unwrap_or_default(),
                details,
                links,
            }
        })
        .collect();
    let base = format!("/{}/{id}", def.plural);
    let older_href = page.next_cursor.map(|cur| {
        let mut p: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k.starts_with("tl_") && k != "tl_cursor")
            .cloned()
            .collect();
        p.push(("tl_cursor".into(), cur));
        format!("{}#timeline", href(&base[1..], &p))
    });
    let opts = |list: &[&str]| -> Vec<(String, String)> {
        list.iter()
            .map(|o| (o.to_string(), loc.t(&format!("choice-{o}"))))
            .collect()
    };
    Some(TimelineView {
        subject_field,
        return_to: format!("{base}#timeline"),
        items,
        older_href,
        kinds: opts(INTERACTION_KINDS),
        users: names
            .users
            .iter()
            .map(|u| (u.id.to_string(), u.name.clone()))
            .collect(),
        kind: get("tl_kind"),
        user: get("tl_user"),
        from: get("tl_from"),
        to: get("tl_to"),
        branches: (def.object == ObjectType::Account).then_some(branches),
        contacts,
        directions: opts(DIRECTIONS),
        results: opts(CALL_RESULTS),
        can_log: c
            .actor
            .scope(ObjectType::Interaction, hamkor_domain::Action::Write)
            != hamkor_domain::Scope::None,
        error,
    })
}

async fn record_page(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(&c, AppError::NotFound);
    };
    render_record_page(&s, &c, def, id, &params, None, None).await
}

/// A record's page with an error shown in its lines section or its document section
/// (after a refused change there), answered 422.
pub(crate) async fn record_page_with(
    s: &AppState,
    c: &Caller,
    def: &'static ObjectDef,
    id: Id,
    lines_error: Option<String>,
    doc_error: Option<String>,
) -> Response {
    let mut resp = render_record_page(s, c, def, id, &[], lines_error, doc_error).await;
    if resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

async fn render_record_page(
    s: &AppState,
    c: &Caller,
    def: &'static ObjectDef,
    id: Id,
    params: &[(String, String)],
    lines_error: Option<String>,
    doc_error: Option<String>,
) -> Response {
    let (s, c) = (s.clone(), c.clone());
    let params = params.to_vec();
    let loc = c.loc;
    let r = match s.app.get_record(&c.actor, def, id).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&c, e),
    };
    s.app.note_visit(&c.actor, def.object, id).await;
    let names = names_for(&s, &c.actor, def, &[&r]).await;
    let users = &names.users;
    let customs = s.app.custom_fields(def.object).await.unwrap_or_default();
    let mut fields = Vec::new();
    for f in def.fields {
        if c.actor.hides(def.object, f.name) {
            continue;
        }
        let v = r.fields.get(f.name).unwrap_or(&Value::Null);
        let href = match (f.kind, v) {
            (FieldKind::Ref(o), Value::String(id)) => {
                Some(format!("/{}/{id}", ObjectDef::get(o).plural))
            }
            (FieldKind::Url, Value::String(u)) => Some(u.clone()),
            (FieldKind::Related, Value::Object(o)) => match (
                o.get("type")
                    .and_then(Value::as_str)
                    .and_then(ObjectType::parse),
                o.get("id").and_then(Value::as_str),
            ) {
                (Some(t), Some(id)) => Some(format!("/{}/{id}", ObjectDef::get(t).plural)),
                _ => None,
            },
            _ => None,
        };
        fields.push(FieldView {
            label: field_label(&loc, def, f.name),
            text: value_text(&loc, Some(f.kind), v, &names),
            href,
        });
    }
    for cdef in &customs {
        if c.actor.hides(def.object, &format!("custom.{}", cdef.key)) {
            continue;
        }
        let v = r.custom.get(&cdef.key).unwrap_or(&Value::Null);
        fields.push(FieldView {
            label: cdef.label.clone(),
            text: value_text(&loc, custom_kind_as_field(cdef.kind), v, &names),
            href: None,
        });
    }
    fields.push(FieldView {
        label: field_label(&loc, def, "owner_id"),
        text: users
            .iter()
            .find(|u| u.id == r.owner_id)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        href: None,
    });
    if def.object == ObjectType::Task {
        fields.push(FieldView {
            label: loc.t("field-task-author"),
            text: users
                .iter()
                .find(|u| u.id == r.created_by)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            href: None,
        });
    }
    let mut related = Vec::new();
    // The quick forms of an account page can name one of its contacts: (id, name).
    let mut quick_contacts: Vec<(String, String)> = Vec::new();
    match def.object {
        ObjectType::Contact => related.push(Related {
            add: None,
            title: loc.t("nav-accounts"),
            items: r
                .accounts
                .iter()
                .map(|a| RelatedItem {
                    href: format!("/accounts/{}", a.account_id),
                    text: a.name.clone(),
                    note: a.position.clone().unwrap_or_default(),
                })
                .collect(),
        }),
        ObjectType::Account => {
            let contacts = s
                .app
                .account_contacts(&c.actor, id)
                .await
                .unwrap_or_default();
            quick_contacts = contacts
                .iter()
                .map(|x| (x.contact_id.to_string(), x.name.clone()))
                .collect();
            related.push(Related {
                add: None,
                title: loc.t("nav-contacts"),
                items: contacts
                    .into_iter()
                    .map(|x| RelatedItem {
                        href: format!("/contacts/{}", x.contact_id),
                        text: x.name,
                        note: x.position.unwrap_or_default(),
                    })
                    .collect(),
            });
            let branches = s
                .app
                .account_branches(&c.actor, id)
                .await
                .unwrap_or_default();
            related.push(Related {
                add: None,
                title: loc.t("branches"),
                items: branches
                    .into_iter()
                    .map(|(bid, name)| RelatedItem {
                        href: format!("/accounts/{bid}"),
                        text: name,
                        note: String::new(),
                    })
                    .collect(),
            });
        }
        _ => {}
    }
    // A deal's way through its pipeline.
    if def.object == ObjectType::Deal {
        let visits = s.app.deal_stages(&c.actor, id).await.unwrap_or_default();
        // The board of the deal's own pipeline (the board alone shows the first).
        let board = format!(
            "/deals/board?pipeline={}#deal-{id}",
            r.fields
                .get("pipeline_id")
                .and_then(Value::as_str)
                .unwrap_or("")
        );
        related.push(Related {
            add: None,
            title: loc.t("deal-stage-history"),
            items: visits
                .iter()
                .map(|v| RelatedItem {
                    href: board.clone(),
                    text: v.stage.clone(),
                    note: [
                        Some(loc.datetime(&v.entered_at)),
                        v.entered_by
                            .and_then(|u| users.iter().find(|x| x.id == u))
                            .map(|u| u.name.clone()),
                        v.left_at.map(|t| format!("→ {}", loc.datetime(&t))),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
                })
                .collect(),
        });
    }
    // Tasks and meetings about the record.
    if hamkor_domain::objects::RELATED_TYPES.contains(&def.object) {
        use hamkor_domain::objects::{EVENT, TASK};
        let return_to = urlencoding::encode(&format!("/{}/{id}", def.plural)).into_owned();
        for (plan_def, title, add) in [
            (&TASK, "nav-tasks", "new-task"),
            (&EVENT, "meetings", "new-event"),
        ] {
            let items = s
                .app
                .about(&c.actor, plan_def, id, 20)
                .await
                .unwrap_or_default();
            let can_add = c.actor.scope(plan_def.object, Action::Write) != Scope::None;
            related.push(Related {
                title: loc.t(title),
                add: can_add.then(|| {
                    (
                        format!(
                            "/{}/new?related={}:{id}&return_to={return_to}",
                            plan_def.plural,
                            def.object.as_str()
                        ),
                        loc.t(add),
                    )
                }),
                items: items
                    .iter()
                    .map(|t| {
                        let get = |k: &str| t.fields.get(k).and_then(Value::as_str).unwrap_or("");
                        let when = hamkor_domain::Timestamp::parse_rfc3339(get(
                            if plan_def.object == ObjectType::Task {
                                "due_at"
                            } else {
                                "starts_at"
                            },
                        ))
                        .map(|t| loc.datetime(&t))
                        .unwrap_or_default();
                        RelatedItem {
                            href: format!("/{}/{}", plan_def.plural, t.id),
                            text: t.title(),
                            note: [loc.t(&format!("choice-{}", get("status"))), when]
                                .into_iter()
                                .filter(|x| !x.is_empty())
                                .collect::<Vec<_>>()
                                .join(" · "),
                        }
                    })
                    .collect(),
            });
        }
    }
    // A client's needs, open ones first.
    if let Some(link) = match def.object {
        ObjectType::Account => Some("account_id"),
        ObjectType::Contact => Some("contact_id"),
        _ => None,
    } {
        use hamkor_domain::objects::NEED;
        let params = vec![
            (link.to_string(), id.to_string()),
            ("sort".to_string(), "status,needed_by".to_string()),
            ("limit".to_string(), "50".to_string()),
        ];
        let needs = s
            .app
            .list_records(&c.actor, &NEED, &params)
            .await
            .map(|p| p.items)
            .unwrap_or_default();
        let can_add = c.actor.scope(ObjectType::Need, Action::Write) != Scope::None;
        related.push(Related {
            title: loc.t("nav-needs"),
            add: can_add.then(|| {
                (
                    format!(
                        "/needs/new?{link}={id}&return_to={}",
                        urlencoding::encode(&format!("/{}/{id}", def.plural))
                    ),
                    loc.t("add-need"),
                )
            }),
            items: needs
                .iter()
                .map(|n| {
                    let get = |k: &str| n.fields.get(k).cloned().unwrap_or(Value::Null);
                    let mut note = Vec::new();
                    for k in ["status", "budget", "needed_by"] {
                        let mut text =
                            value_text(&loc, NEED.field(k).map(|f| f.kind), &get(k), &names);
                        if k == "budget" && !text.is_empty() {
                            text = format!("{text} {}", get("currency").as_str().unwrap_or(""));
                        }
                        if !text.is_empty() {
                            note.push(text);
                        }
                    }
                    RelatedItem {
                        href: format!("/needs/{}", n.id),
                        text: n.title(),
                        note: note.join(" · "),
                    }
                })
                .collect(),
        });
    }
    let timeline = timeline_view(&s, &c, def, id, &params, quick_contacts).await;
    let can_upload = r.allows(&c.actor, Action::Write);
    let files = s
        .app
        .attachments(&c.actor, def, id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let size = if m.size >= 1024 * 1024 {
                format!("{} MB", loc.number(m.size as f64 / 1048576.0, 1))
            } else {
                format!("{} KB", loc.number((m.size as f64 / 1024.0).max(0.1), 1))
            };
            let who = names.user(&m.uploaded_by.to_string()).unwrap_or_default();
            FileView {
                href: format!("/attachments/{}", m.id),
                delete_action: (m.uploaded_by == c.user.id || can_upload)
                    .then(|| format!("/attachments/{}/delete", m.id)),
                name: m.name,
                note: format!("{size} · {who} · {}", loc.datetime(&m.created_at)),
            }
        })
        .collect();
    let history = s
        .app
        .record_history(&c.actor, def, id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|h| HistoryView {
            at: loc.datetime(&h.at),
            who: h.user_name.unwrap_or_default(),
            action: loc.t(&format!("audit-{}", h.action)),
            changes: h
                .changes
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            if k == "shared_with" {
                                let side = |x: Option<&Value>| {
                                    x.filter(|x| !x.is_null())
                                        .map(|x| {
                                            format!(
                                                "{} ({})",
                                                x.get("name").and_then(Value::as_str).unwrap_or(""),
                                                loc.t(&format!(
                                                    "share-access-{}",
                                                    x.get("access")
                                                        .and_then(Value::as_str)
                                                        .unwrap_or("read")
                                                ))
                                            )
                                        })
                                        .unwrap_or_else(|| "—".into())
                                };
                                return format!(
                                    "{}: {} → {}",
                                    loc.t("share-title"),
                                    side(v.get(0)),
                                    side(v.get(1))
                                );
                            }
                            let label = match k.strip_prefix("custom.") {
                                Some(ck) => customs
                                    .iter()
                                    .find(|d| d.key == ck)
                                    .map(|d| d.label.clone())
                                    .unwrap_or_else(|| k.clone()),
                                None => field_label(&loc, def, k),
                            };
                            let kind = def.field(k).map(|f| f.kind);
                            let show = |x: &Value| {
                                if k == "accounts" {
                                    links_text(x, &r.accounts)
                                } else {
                                    value_text(&loc, kind, x, &names)
                                }
                            };
                            let before = show(v.get(0).unwrap_or(&Value::Null));
                            let after = show(v.get(1).unwrap_or(&Value::Null));
                            format!("{label}: {before} → {after}")
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let frame = Frame::for_caller(&c);
    let work = super::planning::work_panel(&s, &c, &r).await;
    let deal = super::sales::deal_panel(&s, &c, &r).await;
    let lines = super::documents::lines_panel(&s, &c, &r, lines_error).await;
    let doc = super::documents::doc_panel(&s, &c, &r, doc_error).await;
    let balance = super::documents::balance_panel(&s, &c, &r).await;
    let dups = super::dedup::dup_links(&s, &c, &r).await;
    let shares = super::access::shares_panel(&s, &c, &r).await;
    let merged = params
        .iter()
        .find(|(k, _)| k == "merged")
        .and_then(|(_, v)| v.parse::<Id>().ok())
        .map(|m| m.to_string());
    render(&RecordPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        title: r.title(),
        plural: def.plural,
        id,
        version: r.version,
        can_edit: r.allows(&c.actor, Action::Write),
        can_delete: r.allows(&c.actor, Action::Delete),
        fields,
        related,
        timeline,
        files,
        can_upload,
        history,
        work,
        deal,
        lines,
        doc,
        balance,
        dups,
        merged,
        shares,
        can_convert: def.object == ObjectType::Lead
            && r.allows(&c.actor, Action::Write)
            && r.fields.get("status").and_then(serde_json::Value::as_str) != Some("converted"),
    })
}

/// Account links as stored in the history, shown with the names the viewer may see.
fn links_text(v: &Value, known: &[hamkor_store::records::LinkedAccount]) -> String {
    v.as_array()
        .map(|links| {
            links
                .iter()
                .map(|l| {
                    let id = l.get("account_id").and_then(Value::as_str).unwrap_or("");
                    let name = known
                        .iter()
                        .find(|a| a.account_id.to_string() == id)
                        .map(|a| a.name.as_str())
                        .unwrap_or("…");
                    match l
                        .get("position")
                        .and_then(Value::as_str)
                        .filter(|p| !p.is_empty())
                    {
                        Some(p) => format!("{name} ({p})"),
                        None => name.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

impl InputView {
    /// For a multiple choice: is this option among the value's comma-separated items?
    pub fn is_selected(&self, option: &str) -> bool {
        self.value.split(',').any(|v| v.trim() == option)
    }
}

pub struct InputView {
    name: String,
    label: String,
    value: String,
    input_type: &'static str,
    required: bool,
    multiline: bool,
    /// A list of several choices (the value holds them comma-separated).
    multiple: bool,
    options: Vec<(String, String)>,
    error: Option<String>,
    hint: String,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    title: String,
    version: i64,
    cancel: String,
    errors: Vec<String>,
    fields: Vec<InputView>,
    hidden: Vec<(String, String)>,
    /// For accounts and contacts: the duplicate check the form's script calls while
    /// typing, and the record being edited (left out of the answer).
    dup_url: String,
    dup_id: String,
}

/// For lists of `{value, kind}` items: the key of the value, the kinds and the default
/// kind (which is not written out).
pub(crate) fn list_kind(
    kind: FieldKind,
) -> Option<(&'static str, &'static [&'static str], &'static str)> {
    use hamkor_domain::objects::{ADDRESS_KINDS, EMAIL_KINDS, MESSENGER_KINDS, PHONE_KINDS};
    match kind {
        FieldKind::Phones => Some(("number", PHONE_KINDS, "mobile")),
        FieldKind::Emails => Some(("address", EMAIL_KINDS, "work")),
        FieldKind::Addresses => Some(("address", ADDRESS_KINDS, "actual")),
        FieldKind::Messengers => Some(("handle", MESSENGER_KINDS, "telegram")),
        _ => None,
    }
}

/// The separator between items of a list as text: addresses hold commas, so they go one
/// per line.
fn list_separator(kind: FieldKind) -> &'static str {
    if kind == FieldKind::Addresses {
        "\n"
    } else {
        ", "
    }
}

/// `number (Work), number` — each item with its kind unless it is the default kind.
fn list_text(kind: FieldKind, items: &[Value], label: impl Fn(&str) -> String) -> String {
    let Some((main, _, default)) = list_kind(kind) else {
        return String::new();
    };
    items
        .iter()
        .filter_map(|p| {
            let v = p.get(main).and_then(Value::as_str)?;
            Some(match p.get("kind").and_then(Value::as_str) {
                Some(k) if k != default => format!("{v} ({})", label(k)),
                _ => v.to_string(),
            })
        })
        .collect::<Vec<_>>()
        .join(list_separator(kind))
}

/// Reads `value (kind)` items back, the kind as its code or its label in any language
/// the user might type it in. An unknown kind is passed on for the validator to name.
pub(crate) fn parse_list_text(loc: &Loc, kind: FieldKind, text: &str) -> Value {
    let Some((main, kinds, _)) = list_kind(kind) else {
        return Value::Null;
    };
    let seps: &[char] = if kind == FieldKind::Addresses {
        &['\n', ';']
    } else {
        &[',', ';', '\n']
    };
    let items: Vec<Value> = text
        .split(seps)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|item| {
            if let Some(open) = item.rfind('(')
                && item.ends_with(')')
            {
                let word = item[open + 1..item.len() - 1].trim();
                let code = kinds
                    .iter()
                    .find(|k| {
                        k.eq_ignore_ascii_case(word)
                            || loc.t(&format!("choice-{k}")).to_lowercase() == word.to_lowercase()
                    })
                    .map(|k| k.to_string())
                    .unwrap_or_else(|| word.to_string());
                json!({main: item[..open].trim(), "kind": code})
            } else {
                json!({ main: item })
            }
        })
        .collect();
    Value::Array(items)
}

/// The text a form shows for a stored value (lists as comma-separated text).
fn form_value(kind: FieldKind, v: &Value) -> String {
    match (kind, v) {
        (k, Value::Array(a)) if list_kind(k).is_some() => list_text(k, a, str::to_string),
        (FieldKind::Users | FieldKind::Refs(_) | FieldKind::Picklist(_), Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        (FieldKind::Duration, Value::Number(n)) => duration_text(n.as_i64().unwrap_or(0)),
        (FieldKind::Bool, Value::Bool(b)) => b.to_string(),
        (FieldKind::Checklist, Value::Array(a)) => a
            .iter()
            .map(|i| {
                let text = i.get("text").and_then(Value::as_str).unwrap_or("");
                if i.get("done").and_then(Value::as_bool) == Some(true) {
                    format!("[x] {text}")
                } else {
                    text.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        (FieldKind::Recurrence, Value::Object(o)) => o
            .get("every")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        (FieldKind::Related, Value::Object(o)) => format!(
            "{}:{}",
            o.get("type").and_then(Value::as_str).unwrap_or(""),
            o.get("id").and_then(Value::as_str).unwrap_or("")
        ),
        (FieldKind::Tags, Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn custom_form_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(o) => format!(
            "{} {}",
            o.get("amount").and_then(Value::as_str).unwrap_or(""),
            o.get("currency").and_then(Value::as_str).unwrap_or("")
        ),
        Value::Null => String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn build_inputs(
    actor: &hamkor_store::Actor,
    loc: &Loc,
    def: &ObjectDef,
    customs: &[CustomFieldDef],
    values: &dyn Fn(&str) -> String,
    errors: &hamkor_domain::ValidationErrors,
    users: &[User],
    interests: &[String],
) -> Vec<InputView> {
    let err_for = |name: &str| {
        errors
            .0
            .iter()
            .find(|e| {
                e.field == name
                    || e.field.starts_with(&format!("{name}["))
                    || e.field.starts_with(&format!("{name}."))
            })
            .map(|e| loc.field_error(e))
    };
    let mut out = Vec::new();
    for f in def.fields.iter().filter(|f| form_field(actor, def, f)) {
        let (input_type, multiline, options, hint) = match f.kind {
            FieldKind::LongText => ("text", true, vec![], String::new()),
            FieldKind::Date => ("date", false, vec![], String::new()),
            FieldKind::Url => ("text", false, vec![], String::new()),
            FieldKind::Choice(opts) => (
                "text",
                false,
                opts.iter()
                    .map(|o| (o.to_string(), loc.t(&format!("choice-{o}"))))
                    .collect(),
                String::new(),
            ),
            FieldKind::Addresses => ("text", true, vec![], loc.t("hint-address-list")),
            FieldKind::Phones | FieldKind::Emails | FieldKind::Messengers => {
                ("text", false, vec![], loc.t("hint-kind-list"))
            }
            FieldKind::Tags => ("text", false, vec![], loc.t("hint-comma-list")),
            FieldKind::DateTime => ("datetime-local", false, vec![], String::new()),
            FieldKind::Duration => ("text", false, vec![], loc.t("hint-duration")),
            FieldKind::Bool => (
                "text",
                false,
                vec![("true".into(), loc.t("yes")), ("false".into(), loc.t("no"))],
                String::new(),
            ),
            FieldKind::Checklist => ("text", true, vec![], loc.t("hint-checklist")),
            FieldKind::Recurrence => (
                "text",
                false,
                ["day", "week", "month", "year"]
                    .into_iter()
                    .map(|e| {
                        (
                            e.to_string(),
                            loc.t_args(&format!("repeat-{e}"), &[("n", "1".into())]),
                        )
                    })
                    .collect(),
                loc.t("hint-recurrence"),
            ),
            // Filled in by the form page (the linked record's name, the teams).
            FieldKind::Related | FieldKind::Lookup(_) => ("text", false, vec![], String::new()),
            FieldKind::Users => (
                "text",
                false,
                users
                    .iter()
                    .filter(|u| !u.disabled)
                    .map(|u| (u.id.to_string(), u.name.clone()))
                    .collect(),
                String::new(),
            ),
            FieldKind::Refs(_) | FieldKind::Ref(_) => {
                ("text", false, vec![], loc.t("hint-record-ids"))
            }
            FieldKind::Picklist(_) => {
                // The active values, and any retired one the record still holds.
                let mut opts: Vec<(String, String)> =
                    interests.iter().map(|v| (v.clone(), v.clone())).collect();
                for held in values(f.name)
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                {
                    if !opts.iter().any(|(v, _)| v == held) {
                        opts.push((held.to_string(), held.to_string()));
                    }
                }
                ("text", false, opts, String::new())
            }
            _ => ("text", false, vec![], String::new()),
        };
        out.push(InputView {
            name: f.name.to_string(),
            label: field_label(loc, def, f.name),
            value: values(f.name),
            input_type,
            required: f.required,
            multiline,
            multiple: matches!(f.kind, FieldKind::Users | FieldKind::Picklist(_)),
            options,
            error: err_for(f.name),
            hint,
        });
    }
    if def.object == ObjectType::Contact {
        out.push(InputView {
            name: "account_id".into(),
            label: loc.t("field-contact-account"),
            value: values("account_id"),
            input_type: "text",
            required: false,
            multiline: false,
            multiple: false,
            options: vec![],
            error: err_for("accounts"),
            hint: loc.t("hint-account-id"),
        });
        out.push(InputView {
            name: "position".into(),
            label: loc.t("field-contact-position"),
            value: values("position"),
            input_type: "text",
            required: false,
            multiline: false,
            multiple: false,
            options: vec![],
            error: None,
            hint: String::new(),
        });
    }
    for d in customs {
        let name = format!("custom.{}", d.key);
        if actor.field_mode(def.object, &name).is_some() {
            // Not the role's to set: not in its form.
            continue;
        }
        let (input_type, options) = match d.kind {
            CustomKind::Date => ("date", vec![]),
            CustomKind::Number => ("text", vec![]),
            CustomKind::Checkbox => (
                "text",
                vec![
                    ("true".to_string(), loc.t("yes")),
                    ("false".to_string(), loc.t("no")),
                ],
            ),
            CustomKind::Picklist => (
                "text",
                d.options.iter().map(|o| (o.clone(), o.clone())).collect(),
            ),
            CustomKind::User => (
                "text",
                users
                    .iter()
                    .map(|u| (u.id.to_string(), u.name.clone()))
                    .collect(),
            ),
            _ => ("text", vec![]),
        };
        out.push(InputView {
            value: values(&name),
            error: err_for(&name),
            name,
            label: d.label.clone(),
            input_type,
            required: d.required,
            multiline: d.kind == CustomKind::LongText,
            multiple: false,
            options,
            hint: match d.kind {
                CustomKind::MultiPicklist => d.options.join(", "),
                CustomKind::Money => loc.t("hint-money"),
                _ => String::new(),
            },
        });
    }
    let owner = InputView {
        name: "owner_id".into(),
        label: field_label(loc, def, "owner_id"),
        value: values("owner_id"),
        input_type: "text",
        required: true,
        multiline: false,
        multiple: false,
        options: users
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| (u.id.to_string(), u.name.clone()))
            .collect(),
        error: err_for("owner_id"),
        hint: String::new(),
    };
    // A task's assignee is what it is about, next to its title; an owner comes last.
    if def.owner_alias.is_some() {
        out.insert(1.min(out.len()), owner);
    } else {
        out.push(owner);
    }
    out
}

async fn active_interests(s: &AppState) -> Vec<String> {
    s.app
        .picklist("interests")
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.active)
        .map(|v| v.value)
        .collect()
}

async fn form_page(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    UiUser(c): UiUser,
    id: Option<String>,
    prefill: Vec<(String, String)>,
) -> Response {
    let loc = c.loc;
    let customs = s.app.custom_fields(def.object).await.unwrap_or_default();
    let users = s.app.users().await.unwrap_or_default();
    let (record, cancel) = match &id {
        Some(raw) => {
            let Ok(id) = raw.parse::<Id>() else {
                return app_error_page(&c, AppError::NotFound);
            };
            match s.app.get_record(&c.actor, def, id).await {
                Ok(r) => (Some(r), format!("/{}/{id}", def.plural)),
                Err(e) => return app_error_page(&c, e),
            }
        }
        None => (None, format!("/{}", def.plural)),
    };
    let me = c.user.id.to_string();
    // A new record may start from values in the link (`/interactions/new?account_id=…`).
    let given = |name: &str| {
        prefill
            .iter()
            .find(|(k, _)| k == name && def.field(name).is_some())
            .map(|(_, v)| v.clone())
    };
    let values = |name: &str| -> String {
        let Some(r) = &record else {
            return if name == "owner_id" {
                me.clone()
            } else {
                given(name).unwrap_or_default()
            };
        };
        match name {
            "owner_id" => r.owner_id.to_string(),
            "account_id" => r
                .accounts
                .first()
                .map(|a| a.account_id.to_string())
                .unwrap_or_default(),
            "position" => r
                .accounts
                .first()
                .and_then(|a| a.position.clone())
                .unwrap_or_default(),
            n if n.starts_with("custom.") => {
                custom_form_value(r.custom.get(&n[7..]).unwrap_or(&Value::Null))
            }
            n => def
                .field(n)
                .map(|f| match (f.kind, r.fields.get(n)) {
                    (FieldKind::DateTime, Some(Value::String(t))) => {
                        hamkor_domain::Timestamp::parse_rfc3339(t)
                            .map(|t| loc.local_input(&t))
                            .unwrap_or_default()
                    }
                    (kind, v) => form_value(kind, v.unwrap_or(&Value::Null)),
                })
                .unwrap_or_default(),
        }
    };
    let interests = active_interests(&s).await;
    let fields = build_inputs(
        &c.actor,
        &loc,
        def,
        &customs,
        &values,
        &Default::default(),
        &users,
        &interests,
    );
    let mut fields = fields;
    for input in fields.iter_mut() {
        match def.field(&input.name).map(|f| f.kind) {
            Some(FieldKind::Lookup(l)) => {
                input.options = s
                    .app
                    .lookup_names(l)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(id, name)| (id.to_string(), name))
                    .collect();
            }
            Some(FieldKind::Related) if !input.value.is_empty() => {
                let title = match input
                    .value
                    .split_once(':')
                    .and_then(|(t, id)| Some((ObjectType::parse(t)?, id.parse::<Id>().ok()?)))
                {
                    Some((t, rid)) => s
                        .app
                        .record_titles(&c.actor, ObjectDef::get(t), &[rid])
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .next()
                        .map(|(_, n)| format!("{}: {n}", loc.t(&format!("object-{}", t.as_str()))))
                        .unwrap_or_else(|| "…".into()),
                    None => input.value.clone(),
                };
                input.options = vec![(input.value.clone(), title)];
            }
            _ => {}
        }
    }
    let mut hidden = vec![
        ("orig_account_id".to_string(), values("account_id")),
        ("orig_position".to_string(), values("position")),
    ];
    if def.field("recurrence").is_some() {
        hidden.push(("orig_recurrence".into(), values("recurrence")));
    }
    if let Some((_, to)) = prefill.iter().find(|(k, _)| k == "return_to") {
        hidden.push(("return_to".into(), crate::ui::safe_next(Some(to))));
    }
    let frame = Frame::for_caller(&c);
    let title = match &record {
        Some(r) => format!("{}: {}", loc.t("edit"), r.title()),
        None => format!("{} · {}", loc.t("new-record"), object_title(&loc, def)),
    };
    let dup_url = dup_check_url(def);
    let dup_id = record
        .as_ref()
        .map(|r| r.id.to_string())
        .unwrap_or_default();
    render(&FormPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        title,
        dup_url,
        dup_id,
        version: record.map(|r| r.version).unwrap_or(0),
        cancel,
        errors: vec![],
        fields,
        hidden,
    })
}

/// The duplicate check of an object's form, if it has one.
fn dup_check_url(def: &ObjectDef) -> String {
    if hamkor_domain::dedup::applies(def.object) {
        format!("/api/v1/{}/duplicates", def.plural)
    } else {
        String::new()
    }
}

/// Is the field edited in the record form? Not what the system sets, nor a task's
/// status (moved with its own buttons, by the rules of who may move it).
/// Is this field an input of the form (for this actor: not one their role may not set)?
fn form_field(
    actor: &hamkor_store::Actor,
    def: &ObjectDef,
    f: &hamkor_domain::objects::FieldDef,
) -> bool {
    !(f.read_only
        || (def.object == ObjectType::Task && f.name == "status")
        || actor.field_mode(def.object, f.name).is_some())
}

/// Turns a submitted form into the JSON body the API would take.
fn form_to_body(
    actor: &hamkor_store::Actor,
    loc: &Loc,
    def: &ObjectDef,
    customs: &[CustomFieldDef],
    form: &[(String, String)],
    current_links: Option<&[hamkor_store::records::LinkedAccount]>,
) -> Value {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let split = |s: &str| -> Vec<String> {
        s.split([',', ';', '\n'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut body = Map::new();
    for f in def.fields.iter().filter(|f| form_field(actor, def, f)) {
        if matches!(
            f.kind,
            FieldKind::Users | FieldKind::Refs(_) | FieldKind::Picklist(_)
        ) {
            // A multiple select or checkboxes send the name once per choice.
            let all: Vec<String> = form
                .iter()
                .filter(|(n, _)| n == f.name)
                .flat_map(|(_, v)| split(v))
                .collect();
            if form
                .iter()
                .any(|(n, _)| n == f.name || n == &format!("{}__present", f.name))
            {
                body.insert(f.name.into(), json!(all));
            }
            continue;
        }
        let Some(v) = get(f.name) else { continue };
        // A repeat rule is sent only when its unit changed: its other settings (days,
        // interval, end) are kept as the API set them.
        if f.kind == FieldKind::Recurrence && get("orig_recurrence").is_some_and(|o| o == v) {
            continue;
        }
        let value = match f.kind {
            FieldKind::DateTime if !v.is_empty() => Value::String(loc.from_local_input(&v)),
            FieldKind::Checklist => Value::Array(
                v.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(
                        |l| match l.strip_prefix("[x]").or_else(|| l.strip_prefix("[X]")) {
                            Some(rest) => json!({"text": rest.trim(), "done": true}),
                            None => {
                                json!({"text": l.trim_start_matches("[ ]").trim(), "done": false})
                            }
                        },
                    )
                    .collect(),
            ),
            FieldKind::Recurrence if !v.is_empty() => json!({ "every": v }),
            k if list_kind(k).is_some() => parse_list_text(loc, k, &v),
            FieldKind::Tags => json!(split(&v)),
            _ if v.is_empty() => Value::Null,
            _ => Value::String(v),
        };
        body.insert(f.name.into(), value);
    }
    let mut custom = Map::new();
    for d in customs {
        if actor
            .field_mode(def.object, &format!("custom.{}", d.key))
            .is_some()
        {
            continue;
        }
        let Some(v) = get(&format!("custom.{}", d.key)) else {
            continue;
        };
        let value = if v.is_empty() {
            Value::Null
        } else {
            match d.kind {
                CustomKind::MultiPicklist => json!(split(&v)),
                CustomKind::Money => {
                    let mut parts = v.split_whitespace();
                    json!({"amount": parts.next().unwrap_or(""), "currency": parts.next().unwrap_or("UZS")})
                }
                _ => Value::String(v),
            }
        };
        custom.insert(d.key.clone(), value);
    }
    if !custom.is_empty() {
        body.insert("custom".into(), Value::Object(custom));
    }
    if let Some(owner) = get("owner_id").filter(|o| !o.is_empty()) {
        body.insert("owner_id".into(), Value::String(owner));
    }
    if def.object == ObjectType::Contact {
        // The form edits one link (the first); the others are kept as they are.
        let acc = get("account_id").unwrap_or_default();
        let pos = get("position").unwrap_or_default();
        let orig = get("orig_account_id").unwrap_or_default();
        let orig_pos = get("orig_position").unwrap_or_default();
        match current_links {
            None if !acc.is_empty() => {
                body.insert(
                    "accounts".into(),
                    json!([{"account_id": acc, "position": pos}]),
                );
            }
            None => {}
            Some(_) if acc == orig && pos == orig_pos => {}
            Some(links) => {
                let mut list: Vec<Value> = links
                    .iter()
                    .filter(|l| l.account_id.to_string() != orig && l.account_id.to_string() != acc)
                    .map(
                        |l| json!({"account_id": l.account_id.to_string(), "position": l.position}),
                    )
                    .collect();
                if !acc.is_empty() {
                    list.insert(0, json!({"account_id": acc, "position": pos}));
                }
                body.insert("accounts".into(), Value::Array(list));
            }
        }
    }
    Value::Object(body)
}

async fn save(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    id: Option<String>,
    form: UiForm,
) -> Response {
    let c = &form.caller;
    let loc = c.loc;
    let get = |k: &str| form.get(k);
    let customs = s.app.custom_fields(def.object).await.unwrap_or_default();
    // Editing a contact needs its current links, to change only the one in the form.
    let current = match (&id, def.object) {
        (Some(raw), ObjectType::Contact) => match raw.parse::<Id>() {
            Ok(rid) => s.app.get_record(&c.actor, def, rid).await.ok(),
            Err(_) => None,
        },
        _ => None,
    };
    let links = current
        .as_ref()
        .map(|r| r.accounts.as_slice())
        .or(id.as_ref().map(|_| &[][..]));
    let body = form_to_body(&c.actor, &loc, def, &customs, &form.fields, links);
    let result = match &id {
        Some(raw) => {
            let Ok(rid) = raw.parse::<Id>() else {
                return app_error_page(c, AppError::NotFound);
            };
            s.app
                .update_record(&c.actor, def, rid, &body, get("version").parse().ok())
                .await
        }
        None => s.app.create_record(&c.actor, def, &body).await,
    };
    match result {
        Ok(r) => {
            let to = match form.get("return_to") {
                "" => format!("/{}/{}", def.plural, r.id),
                to => crate::ui::safe_next(Some(to)),
            };
            Redirect::to(&to).into_response()
        }
        Err(AppError::Invalid(errors)) => {
            let users = s.app.users().await.unwrap_or_default();
            let values = |name: &str| get(name).to_string();
            let interests = active_interests(&s).await;
            let fields = build_inputs(
                &c.actor, &loc, def, &customs, &values, &errors, &users, &interests,
            );
            let frame = Frame::for_caller(c);
            let page = FormPage {
                loc,
                user: frame.user,
                csrf: frame.csrf,
                langs: frame.langs,
                search_value: String::new(),
                title: object_title(&loc, def),
                dup_url: dup_check_url(def),
                dup_id: id.clone().unwrap_or_default(),
                version: get("version").parse().unwrap_or(0),
                cancel: format!("/{}", def.plural),
                errors: errors
                    .0
                    .iter()
                    .map(|e| format!("{}: {}", e.field, loc.field_error(e)))
                    .collect(),
                fields,
                hidden: ["orig_account_id", "orig_position", "return_to"]
                    .iter()
                    .filter(|k| !get(k).is_empty() || **k != "return_to")
                    .map(|k| (k.to_string(), get(k).to_string()))
                    .collect(),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
        Err(AppError::Stale(_)) => message(
            Frame::for_caller(c),
            StatusCode::PRECONDITION_FAILED,
            loc.t("stale-title"),
            loc.t("stale-text"),
        ),
        Err(e) => app_error_page(c, e),
    }
}

async fn delete(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    Path(id): Path<String>,
    form: UiForm,
) -> Response {
    let c = &form.caller;
    let get = |k: &str| form.get(k).to_string();
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    match s
        .app
        .delete_record(&c.actor, def, id, get("version").parse().ok())
        .await
    {
        Ok(()) => Redirect::to(&format!("/{}", def.plural)).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

pub struct SearchResult {
    kind: String,
    href: String,
    title: String,
    subtitle: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    /// Showing the recent items (the box was empty).
    recent: bool,
    results: Vec<SearchResult>,
}

async fn search_page(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let loc = c.loc;
    let q = params
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    // An empty box shows what the user opened last.
    let results = if q.is_empty() {
        s.app.recent(&c.actor).await.unwrap_or_default()
    } else {
        s.app.search(&c.actor, &q, 20).await.unwrap_or_default()
    };
    let frame = Frame::for_caller(&c);
    render(&SearchPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        recent: q.is_empty(),
        search_value: q.chars().take(200).collect(),
        results: results
            .into_iter()
            .map(|(o, r)| {
                let v = crate::api::users::found_json(&loc, o, &r);
                let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
                SearchResult {
                    kind: loc.t(&format!("kind-{}", o.as_str())),
                    href: text("href"),
                    title: text("title"),
                    subtitle: text("subtitle"),
                }
            })
            .collect(),
    })
}
